//! Identity resolution the way Exchange cmdlets accept identities.
//!
//! Tiers, tried in order, case-insensitively: (1) GUID (ExternalDirectoryObjectId or
//! Guid, braces allowed), (2) distinguished name, (3) SMTP address (primary or an
//! `smtp:` proxy), (4) Alias or Name. The first tier with a match decides; two
//! different objects in that tier make the identity ambiguous.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::snapshot::{parse_guid, parse_guid_u128, smtp_proxy};

/// The identity tiers, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Guid = 0,
    DistinguishedName = 1,
    Address = 2,
    Name = 3,
}

impl Tier {
    /// The tiers in the order they are tried.
    pub const ALL: [Tier; 4] = [
        Tier::Guid,
        Tier::DistinguishedName,
        Tier::Address,
        Tier::Name,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Tier::Guid => "GUID",
            Tier::DistinguishedName => "distinguished name",
            Tier::Address => "SMTP address",
            Tier::Name => "alias or name",
        }
    }
}

/// The outcome of resolving one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<T> {
    Found(T),
    NotFound,
    Ambiguous { tier: Tier, first: T, second: T },
}

/// The objects one key names: almost always one.
#[derive(Debug, Clone)]
enum Entry<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Copy + PartialEq> Entry<T> {
    fn push(&mut self, object: T) {
        match self {
            Entry::One(first) if *first != object => *self = Entry::Many(vec![*first, object]),
            Entry::Many(all) if !all.contains(&object) => all.push(object),
            _ => {}
        }
    }

    fn merge(&mut self, other: Entry<T>) {
        match other {
            Entry::One(o) => self.push(o),
            Entry::Many(all) => all.into_iter().for_each(|o| self.push(o)),
        }
    }
}

/// Receives the identity keys of objects, tier by tier: a [`Resolver`] indexes
/// them, a [`Scan`] looks for one identity among them.
pub trait KeySink<T> {
    fn add(&mut self, tier: Tier, key: &str, object: T);
    fn add_guid(&mut self, guid: u128, object: T);
}

impl<T: Copy + PartialEq> KeySink<T> for Resolver<T> {
    fn add(&mut self, tier: Tier, key: &str, object: T) {
        Resolver::add(self, tier, key, object)
    }

    fn add_guid(&mut self, guid: u128, object: T) {
        Resolver::add_guid(self, guid, object)
    }
}

/// One identity looked up in one tier by visiting every key once, without
/// building the tier: for a single question about a large tenant.
pub struct Scan<T> {
    tier: Tier,
    guid: Option<u128>,
    text: Option<String>,
    found: Option<Entry<T>>,
}

impl<T: Copy + PartialEq> Scan<T> {
    pub fn new(tier: Tier, identity: &str) -> Scan<T> {
        Scan {
            tier,
            guid: (tier == Tier::Guid)
                .then(|| parse_guid_u128(identity))
                .flatten(),
            text: (tier != Tier::Guid)
                .then(|| normalize(tier, identity).map(Cow::into_owned))
                .flatten(),
            found: None,
        }
    }

    /// Whether the identity cannot be a key of this tier (e.g. not a GUID).
    pub fn is_hopeless(&self) -> bool {
        self.guid.is_none() && self.text.is_none()
    }

    /// What the tier says about the identity, as [`Resolver::resolve_tier`] would.
    pub fn result(self) -> Option<Resolution<T>> {
        Some(match self.found? {
            Entry::One(one) => Resolution::Found(one),
            Entry::Many(all) => Resolution::Ambiguous {
                tier: self.tier,
                first: all[0],
                second: all[1],
            },
        })
    }

    /// The distinct objects found, in the order they were first seen.
    pub fn objects(&self) -> Vec<T> {
        match &self.found {
            None => Vec::new(),
            Some(Entry::One(one)) => vec![*one],
            Some(Entry::Many(all)) => all.clone(),
        }
    }

    fn hit(&mut self, object: T) {
        match &mut self.found {
            Some(e) => e.push(object),
            None => self.found = Some(Entry::One(object)),
        }
    }
}

impl<T: Copy + PartialEq> KeySink<T> for Scan<T> {
    fn add(&mut self, tier: Tier, key: &str, object: T) {
        if tier == Tier::Guid {
            if let Some(g) = parse_guid_u128(key) {
                self.add_guid(g, object);
            }
        } else if let Some(target) = &self.text {
            // Most keys differ in length, which needs no lower-casing to see.
            let trimmed = key.trim();
            let bare = match tier {
                Tier::Address => smtp_proxy(trimmed).unwrap_or(trimmed),
                _ => trimmed,
            };
            if bare.is_ascii() && bare.len() != target.len() {
                return;
            }
            if normalize(tier, key).is_some_and(|k| k == target.as_str()) {
                self.hit(object);
            }
        }
    }

    fn add_guid(&mut self, guid: u128, object: T) {
        if self.guid == Some(guid) {
            self.hit(object);
        }
    }
}

/// Maps identity keys to objects, per tier. GUIDs are kept as numbers and other
/// keys lower-cased, so lookups need no normalisation beyond that.
#[derive(Debug, Clone)]
pub struct Resolver<T> {
    guids: FxHashMap<u128, Entry<T>>,
    /// Distinguished name, address and name tiers.
    text: [FxHashMap<Box<str>, Entry<T>>; 3],
}

impl<T> Default for Resolver<T> {
    fn default() -> Self {
        Resolver {
            guids: FxHashMap::default(),
            text: Default::default(),
        }
    }
}

impl<T: Copy + PartialEq> Resolver<T> {
    /// Makes room for `n` more keys in `tier`, so a large tier is not rehashed as it grows.
    pub fn reserve(&mut self, tier: Tier, n: usize) {
        match tier {
            Tier::Guid => self.guids.reserve(n),
            _ => self.text[tier as usize - 1].reserve(n),
        }
    }

    /// Whether some key of the distinguished name, address or name tier passes `f`.
    pub fn any_text_key(&self, f: impl Fn(&str) -> bool) -> bool {
        self.text.iter().any(|tier| tier.keys().any(|k| f(k)))
    }

    /// Registers `key` for `object` in `tier`; blank keys and malformed GUIDs are skipped.
    pub fn add(&mut self, tier: Tier, key: &str, object: T) {
        match tier {
            Tier::Guid => {
                if let Some(g) = parse_guid_u128(key) {
                    self.add_guid(g, object);
                }
            }
            _ => {
                if let Some(key) = normalize(tier, key) {
                    match self.text[tier as usize - 1].entry(key.into_owned().into_boxed_str()) {
                        std::collections::hash_map::Entry::Occupied(mut e) => {
                            e.get_mut().push(object)
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(Entry::One(object));
                        }
                    }
                }
            }
        }
    }

    /// Registers a GUID already parsed.
    pub fn add_guid(&mut self, guid: u128, object: T) {
        match self.guids.entry(guid) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(object),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Entry::One(object));
            }
        }
    }

    /// Adds every key of `other` (built in parallel for other tiers) to this resolver.
    pub fn merge(&mut self, other: Resolver<T>) {
        merge_map(&mut self.guids, other.guids);
        for (mine, theirs) in self.text.iter_mut().zip(other.text) {
            merge_map(mine, theirs);
        }
    }

    /// Resolves an identity through the tiers.
    pub fn resolve(&self, identity: &str) -> Resolution<T> {
        Tier::ALL
            .into_iter()
            .find_map(|tier| self.resolve_tier(tier, identity))
            .unwrap_or(Resolution::NotFound)
    }

    /// Looks an identity up in one tier only: `None` when that tier has no match.
    pub fn resolve_tier(&self, tier: Tier, identity: &str) -> Option<Resolution<T>> {
        let entry = match tier {
            Tier::Guid => parse_guid_u128(identity).and_then(|g| self.guids.get(&g)),
            _ => {
                normalize(tier, identity).and_then(|k| self.text[tier as usize - 1].get(k.as_ref()))
            }
        }?;
        Some(match entry {
            Entry::One(one) => Resolution::Found(*one),
            Entry::Many(all) => Resolution::Ambiguous {
                tier,
                first: all[0],
                second: all[1],
            },
        })
    }
}

fn merge_map<K: std::hash::Hash + Eq, T: Copy + PartialEq>(
    mine: &mut FxHashMap<K, Entry<T>>,
    theirs: FxHashMap<K, Entry<T>>,
) {
    if mine.is_empty() {
        *mine = theirs;
        return;
    }
    for (k, v) in theirs {
        match mine.entry(k) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(v),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
}

fn normalize(tier: Tier, key: &str) -> Option<Cow<'_, str>> {
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    match tier {
        Tier::Guid => parse_guid(key).map(Cow::Owned),
        Tier::Address => Some(lower(smtp_proxy(key).unwrap_or(key))),
        Tier::DistinguishedName | Tier::Name => Some(lower(key)),
    }
}

/// Lower-cased text, borrowed when it is lower-case ASCII already (most
/// addresses and GUIDs in exports), so a lookup allocates nothing.
fn lower(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_tier_wins() {
        let mut r = Resolver::default();
        r.add(Tier::Name, "alice", 1u32);
        r.add(Tier::Address, "alice", 2u32);
        assert_eq!(r.resolve("ALICE"), Resolution::Found(2));
    }

    #[test]
    fn two_objects_in_the_deciding_tier_are_ambiguous() {
        let mut r = Resolver::default();
        r.add(Tier::Name, "sales", 1u32);
        r.add(Tier::Name, "Sales", 2u32);
        r.add(Tier::Name, "sales", 1u32);
        assert_eq!(
            r.resolve("sales"),
            Resolution::Ambiguous {
                tier: Tier::Name,
                first: 1,
                second: 2
            }
        );
    }

    #[test]
    fn smtp_prefix_and_case_are_ignored() {
        let mut r = Resolver::default();
        r.add(Tier::Address, "smtp:Bob@Contoso.com", 7u32);
        assert_eq!(r.resolve("bob@contoso.COM"), Resolution::Found(7));
        assert_eq!(r.resolve("SMTP:bob@contoso.com"), Resolution::Found(7));
        assert_eq!(r.resolve("carol@contoso.com"), Resolution::NotFound);
    }
}
