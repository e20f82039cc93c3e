//! Identity resolution the way Exchange cmdlets accept identities.
//!
//! Tiers, tried in order, case-insensitively: (1) GUID (ExternalDirectoryObjectId or
//! Guid, braces allowed), (2) distinguished name, (3) SMTP address (primary or an
//! `smtp:` proxy), (4) Alias or Name. The first tier with a match decides; two
//! different objects in that tier make the identity ambiguous.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::guids::{self, GuidTable};
use crate::snapshot::{ascii_lower_word, lower_into, parse_guid_u128, smtp_proxy, trim};

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
pub(super) enum Entry<T> {
    One(T),
    /// Boxed, so that an entry takes two words and a GUID tier bucket 32 bytes
    /// rather than 48 (the tiers are millions of entries, probed at random).
    Many(Box<[T]>),
}

impl<T: Copy + PartialEq> Entry<T> {
    pub(super) fn push(&mut self, object: T) {
        match self {
            Entry::One(first) if *first != object => {
                *self = Entry::Many(Box::new([*first, object]))
            }
            Entry::Many(all) if !all.contains(&object) => {
                *all = all.iter().copied().chain([object]).collect();
            }
            _ => {}
        }
    }
}

/// Receives the identity keys of objects, tier by tier: a [`Resolver`] indexes
/// them, a [`Scan`] looks for one identity among them.
/// Keys live for `'k` (the tables they come from), so a sink may hold some
/// back, as an [`AskedScan`](super::asked::AskedScan) does to probe in batches.
pub trait KeySink<'k, T> {
    fn add(&mut self, tier: Tier, key: &'k str, object: T);
    fn add_guid(&mut self, guid: u128, object: T);
}

impl<T: Copy + PartialEq> KeySink<'_, T> for Resolver<T> {
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
    /// The identity as a text tier stores it (folded).
    text: Option<Vec<u8>>,
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
                .then(|| {
                    text_key(tier, identity).map(|k| {
                        let mut folded = Vec::new();
                        k.push_to(&mut folded);
                        folded
                    })
                })
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
        Some(self.found?.resolution(self.tier))
    }

    /// The distinct objects found, in the order they were first seen.
    pub fn objects(&self) -> Vec<T> {
        match &self.found {
            None => Vec::new(),
            Some(Entry::One(one)) => vec![*one],
            Some(Entry::Many(all)) => all.to_vec(),
        }
    }

    fn hit(&mut self, object: T) {
        match &mut self.found {
            Some(e) => e.push(object),
            None => self.found = Some(Entry::One(object)),
        }
    }
}

impl<T: Copy + PartialEq> KeySink<'_, T> for Scan<T> {
    fn add(&mut self, tier: Tier, key: &str, object: T) {
        if tier == Tier::Guid {
            if let Some(g) = parse_guid_u128(key) {
                self.add_guid(g, object);
            }
        } else if let Some(target) = &self.text {
            // Most keys differ in length, which an ASCII key shows unfolded.
            if let Some(key) = text_key(tier, key) {
                if key.len() == target.len() && key.equals(target) {
                    self.hit(object);
                }
            }
        }
    }

    fn add_guid(&mut self, guid: u128, object: T) {
        if self.guid == Some(guid) {
            self.hit(object);
        }
    }
}

/// Many identities looked up in one text tier by visiting every key once, in
/// order, without building the tier: the identities go into a map (in
/// parallel shards by key hash when there are many), and each visited key is
/// hashed and probed against it. The directory rescans with it the identities
/// its batch found ambiguous, for a message naming the first two objects in
/// the order a built tier would (see [`super::asked`]).
pub struct BatchScan<T> {
    queries: Vec<TextShard<u32>>,
    found: Vec<Option<Entry<T>>>,
}

impl<T: Copy + PartialEq> BatchScan<T> {
    /// `tier` is a text tier; identities that cannot be one of its keys find nothing.
    pub fn new(tier: Tier, identities: &[&str]) -> BatchScan<T> {
        debug_assert_ne!(tier, Tier::Guid, "GUIDs are looked up in the built tier");
        // One shard per thread, each visiting every identity (hashing is cheap
        // next to inserting); few identities take one shard.
        let shards = if identities.len() < 65_536 {
            1
        } else {
            rayon::current_num_threads()
        };
        let mut queries: Vec<TextShard<u32>> = (0..shards).map(|_| TextShard::default()).collect();
        queries.par_iter_mut().enumerate().for_each(|(shard, map)| {
            map.keys.reserve(identities.len() / shards + 1);
            for (i, id) in identities.iter().enumerate() {
                if let Some(k) = text_key(tier, id) {
                    let hash = k.hash();
                    if shard_of(hash, shards) == shard {
                        map.insert(hash, &k, i as u32);
                    }
                }
            }
        });
        BatchScan {
            queries,
            found: identities.iter().map(|_| None).collect(),
        }
    }

    /// Per identity, in order: what the tier says, as [`Resolver::resolve_tier`] would.
    pub fn results(self, tier: Tier) -> Vec<Option<Resolution<T>>> {
        self.found
            .into_iter()
            .map(|f| Some(f?.resolution(tier)))
            .collect()
    }
}

fn hit<T: Copy + PartialEq>(found: &mut Option<Entry<T>>, object: T) {
    match found {
        Some(e) => e.push(object),
        None => *found = Some(Entry::One(object)),
    }
}

impl<T: Copy + PartialEq> KeySink<'_, T> for BatchScan<T> {
    fn add(&mut self, tier: Tier, key: &str, object: T) {
        let Some(key) = text_key(tier, key) else {
            return;
        };
        let shard = shard_of(key.hash(), self.queries.len());
        match self.queries[shard].get(key.hash(), &key) {
            None => {}
            Some(Entry::One(q)) => hit(&mut self.found[*q as usize], object),
            Some(Entry::Many(qs)) => qs
                .iter()
                .for_each(|q| hit(&mut self.found[*q as usize], object)),
        }
    }

    fn add_guid(&mut self, _: u128, _: T) {}
}

/// Maps identity keys to objects, per tier. GUIDs are kept as numbers; other keys
/// are stored lower-cased in one byte arena per shard and found by a hash of their
/// case-folded bytes, so neither indexing nor a lookup allocates a string per key
/// (only keys with non-ASCII letters are folded through `to_lowercase`).
#[derive(Debug, Clone)]
pub struct Resolver<T> {
    guids: Vec<GuidTable<T>>,
    /// Distinguished name, address and name tiers.
    text: [Vec<TextShard<T>>; 3],
}

impl<T> Default for Resolver<T> {
    fn default() -> Self {
        Resolver::with_shards(1)
    }
}

impl<T> Resolver<T> {
    /// An empty resolver whose tiers are split into `shards` maps by key hash.
    fn with_shards(shards: usize) -> Resolver<T> {
        Resolver {
            guids: (0..shards).map(|_| GuidTable::default()).collect(),
            text: std::array::from_fn(|_| (0..shards).map(|_| TextShard::default()).collect()),
        }
    }
}

/// One shard of a text tier: the folded keys, end to end, and per key hash the
/// keys with that hash (one, unless 64-bit hashes collide).
#[derive(Debug, Clone)]
struct TextShard<T> {
    arena: Vec<u8>,
    keys: FxHashMap<u64, Keyed<T>>,
}

impl<T> Default for TextShard<T> {
    fn default() -> Self {
        TextShard {
            arena: Vec::new(),
            keys: FxHashMap::default(),
        }
    }
}

/// A key (its bytes in the shard's arena) and its objects; `next` chains the
/// rare other key of the same hash.
#[derive(Debug, Clone)]
struct Keyed<T> {
    start: u32,
    len: u32,
    entry: Entry<T>,
    next: Option<Box<Keyed<T>>>,
}

impl<T: Copy + PartialEq> TextShard<T> {
    fn insert(&mut self, hash: u64, key: &Folded<'_>, object: T) {
        let arena = &mut self.arena;
        let push_key = |arena: &mut Vec<u8>| {
            let start = arena.len() as u32;
            key.push_to(arena);
            (start, key.len() as u32)
        };
        match self.keys.entry(hash) {
            std::collections::hash_map::Entry::Vacant(e) => {
                let (start, len) = push_key(arena);
                e.insert(Keyed {
                    start,
                    len,
                    entry: Entry::One(object),
                    next: None,
                });
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let mut slot = e.get_mut();
                loop {
                    if key.equals(&arena[slot.start as usize..][..slot.len as usize]) {
                        slot.entry.push(object);
                        return;
                    }
                    if slot.next.is_none() {
                        let (start, len) = push_key(arena);
                        slot.next = Some(Box::new(Keyed {
                            start,
                            len,
                            entry: Entry::One(object),
                            next: None,
                        }));
                        return;
                    }
                    slot = slot.next.as_deref_mut().expect("checked");
                }
            }
        }
    }

    fn get(&self, hash: u64, key: &Folded<'_>) -> Option<&Entry<T>> {
        let mut slot = self.keys.get(&hash)?;
        loop {
            if key.equals(&self.arena[slot.start as usize..][..slot.len as usize]) {
                return Some(&slot.entry);
            }
            slot = slot.next.as_deref()?;
        }
    }
}

impl<T: Copy + PartialEq> Resolver<T> {
    /// Makes room for `n` more keys in `tier`, so a large tier is not rehashed as it grows.
    pub fn reserve(&mut self, tier: Tier, n: usize) {
        let per_shard = n.div_ceil(self.guids.len());
        match tier {
            Tier::Guid => self.guids.iter_mut().for_each(|m| m.reserve(per_shard)),
            _ => self.text[tier as usize - 1]
                .iter_mut()
                .for_each(|s| s.keys.reserve(per_shard)),
        }
    }

    /// Whether some key of the distinguished name, address or name tier passes `f`.
    pub fn any_text_key(&self, f: impl Fn(&str) -> bool) -> bool {
        self.text.iter().flatten().any(|shard| {
            let mut slots: Vec<&Keyed<T>> = shard.keys.values().collect();
            while let Some(slot) = slots.pop() {
                let bytes = &shard.arena[slot.start as usize..][..slot.len as usize];
                if std::str::from_utf8(bytes).is_ok_and(&f) {
                    return true;
                }
                slots.extend(slot.next.as_deref());
            }
            false
        })
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
                if let Some(key) = text_key(tier, key) {
                    let hash = key.hash();
                    let shards = &mut self.text[tier as usize - 1];
                    let i = shard_of(hash, shards.len());
                    shards[i].insert(hash, &key, object);
                }
            }
        }
    }

    /// Registers a GUID already parsed.
    pub fn add_guid(&mut self, guid: u128, object: T) {
        let shard = shard_of(guid_hash(guid), self.guids.len());
        self.guids[shard].insert(guid, object);
    }

    /// Builds one tier over `shards` shards (one per task, so give a few per
    /// thread), with room for about `keys` keys: each shard's task visits every key with `visit` and keeps those
    /// hashed to it. Keys are hashed `shards` times over, but nothing is staged,
    /// and each shard sees its keys in the visit order, as a serial build would.
    pub fn build<'k>(
        tier: Tier,
        shards: usize,
        keys: usize,
        visit: impl Fn(&mut dyn KeySink<'k, T>) + Sync,
    ) -> Resolver<T>
    where
        T: Send + Sync,
    {
        let mut r = Resolver::with_shards(shards.max(1));
        r.reserve(tier, keys);
        let shards = r.guids.len();
        match tier {
            Tier::Guid => r.guids.par_iter_mut().enumerate().for_each(|(i, map)| {
                visit(&mut ShardSink {
                    tier,
                    shard: i,
                    shards,
                    guids: Some(map),
                    text: None,
                })
            }),
            _ => r.text[tier as usize - 1]
                .par_iter_mut()
                .enumerate()
                .for_each(|(i, text)| {
                    visit(&mut ShardSink {
                        tier,
                        shard: i,
                        shards,
                        guids: None,
                        text: Some(text),
                    })
                }),
        }
        r
    }

    /// Builds the GUID tier from `keys` (GUID, object), in the order given,
    /// over `shards` shards in parallel: each shard takes the keys of its
    /// hashes and inserts them with the slots of a batch ahead fetched.
    pub fn from_guids(shards: usize, keys: &[(u128, T)]) -> Resolver<T>
    where
        T: Send + Sync,
    {
        let mut r = Resolver::with_shards(shards.max(1));
        let shards = r.guids.len();
        r.guids
            .par_iter_mut()
            .enumerate()
            .for_each(|(shard, table)| {
                let mine: Vec<(u128, T)> = keys
                    .iter()
                    .filter(|(g, _)| shard_of(guid_hash(*g), shards) == shard)
                    .copied()
                    .collect();
                table.reserve(mine.len());
                for (i, &(guid, object)) in mine.iter().enumerate() {
                    if let Some(&(ahead, _)) = mine.get(i + guids::BATCH) {
                        table.prefetch(ahead);
                    }
                    table.insert(guid, object);
                }
            });
        r
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
        match tier {
            Tier::Guid => parse_guid_u128(identity).and_then(|g| self.guid_table(g).get(g)),
            _ => text_key(tier, identity).and_then(|k| {
                let hash = k.hash();
                let shards = &self.text[tier as usize - 1];
                let entry = shards[shard_of(hash, shards.len())].get(hash, &k)?;
                Some(entry.resolution(tier))
            }),
        }
    }

    /// The GUID tier's answers for many identities (`None`: not a GUID, or not
    /// in the tier), looked up in batches whose slots are fetched together:
    /// several times faster than one [`Resolver::resolve_tier`] after another.
    pub fn resolve_guids<'i>(
        &self,
        identities: impl Iterator<Item = Option<&'i str>>,
    ) -> Vec<Option<Resolution<T>>> {
        let keys: Vec<Option<u128>> = identities.map(|id| id.and_then(parse_guid_u128)).collect();
        let mut out = Vec::with_capacity(keys.len());
        for batch in keys.chunks(guids::BATCH) {
            for &g in batch.iter().flatten() {
                self.guid_table(g).prefetch(g);
            }
            out.extend(
                batch
                    .iter()
                    .map(|g| g.and_then(|g| self.guid_table(g).get(g))),
            );
        }
        out
    }

    fn guid_table(&self, guid: u128) -> &GuidTable<T> {
        &self.guids[shard_of(guid_hash(guid), self.guids.len())]
    }
}

impl<T: Copy> Entry<T> {
    /// One object found, or the first two of several, in the order visited.
    pub(super) fn resolution(&self, tier: Tier) -> Resolution<T> {
        match self {
            Entry::One(one) => Resolution::Found(*one),
            Entry::Many(all) => Resolution::Ambiguous {
                tier,
                first: all[0],
                second: all[1],
            },
        }
    }
}

/// Adds the keys of one shard of one tier to it, and passes over the others.
struct ShardSink<'r, T> {
    tier: Tier,
    shard: usize,
    shards: usize,
    guids: Option<&'r mut GuidTable<T>>,
    text: Option<&'r mut TextShard<T>>,
}

impl<T: Copy + PartialEq> KeySink<'_, T> for ShardSink<'_, T> {
    fn add(&mut self, tier: Tier, key: &str, object: T) {
        debug_assert_eq!(tier, self.tier);
        if tier == Tier::Guid {
            if let Some(g) = parse_guid_u128(key) {
                self.add_guid(g, object);
            }
        } else if let (Some(text), Some(key)) = (self.text.as_deref_mut(), text_key(tier, key)) {
            let hash = key.hash();
            if shard_of(hash, self.shards) == self.shard {
                text.insert(hash, &key, object);
            }
        }
    }

    fn add_guid(&mut self, guid: u128, object: T) {
        if let Some(map) = self.guids.as_deref_mut() {
            if shard_of(guid_hash(guid), self.shards) == self.shard {
                map.insert(guid, object);
            }
        }
    }
}

/// A text key as the tier compares it: trimmed, `smtp:` stripped from addresses,
/// case-folded. ASCII keys (nearly all) are folded as they are hashed, compared
/// and stored, without a copy; others through `to_lowercase`.
pub(super) enum Folded<'a> {
    /// ASCII, in any case.
    Ascii(&'a [u8]),
    /// Folded already (keys with non-ASCII letters).
    Owned(String),
}

impl Folded<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            Folded::Ascii(b) => b.len(),
            Folded::Owned(s) => s.len(),
        }
    }

    pub(super) fn push_to(&self, arena: &mut Vec<u8>) {
        match self {
            Folded::Ascii(b) => {
                // Copied, then folded in place: both run a word at a time.
                let start = arena.len();
                arena.extend_from_slice(b);
                arena[start..].make_ascii_lowercase();
            }
            Folded::Owned(s) => arena.extend_from_slice(s.as_bytes()),
        }
    }

    /// Whether `stored` (folded bytes) is this key.
    pub(super) fn equals(&self, stored: &[u8]) -> bool {
        match self {
            Folded::Ascii(b) => b.eq_ignore_ascii_case(stored),
            Folded::Owned(s) => s.as_bytes() == stored,
        }
    }

    /// A 64-bit hash of the folded bytes, eight at a time.
    pub(super) fn hash(&self) -> u64 {
        let (bytes, ascii) = self.bytes();
        let mut h = bytes.len() as u64;
        let mut words = bytes.chunks_exact(8);
        for w in words.by_ref() {
            let w = u64::from_le_bytes(w.try_into().expect("eight bytes"));
            h = mix(h, if ascii { ascii_lower_word(w) } else { w });
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            let w = u64::from_le_bytes(last);
            h = mix(h, if ascii { ascii_lower_word(w) } else { w });
        }
        fmix64(h)
    }

    /// The bytes, and whether they are ASCII (to be folded) or folded already.
    fn bytes(&self) -> (&[u8], bool) {
        match self {
            Folded::Ascii(b) => (b, true),
            Folded::Owned(s) => (s.as_bytes(), false),
        }
    }

    /// A hash of the length and the first and last sixteen folded bytes, in
    /// constant time: equal keys have equal quick hashes, and keys that differ
    /// only in their middle share one (a filter lets them through, the full
    /// [`Folded::hash`] tells them apart).
    pub(super) fn quick_hash(&self) -> u64 {
        let (bytes, ascii) = self.bytes();
        let n = bytes.len();
        let mut ends = [0u8; 32];
        if n >= 16 {
            ends[..16].copy_from_slice(&bytes[..16]);
            ends[16..].copy_from_slice(&bytes[n - 16..]);
        } else {
            ends[..n].copy_from_slice(bytes);
        }
        let h = ends.chunks_exact(8).fold(n as u64, |h, w| {
            let w = u64::from_le_bytes(w.try_into().expect("eight bytes"));
            mix(h, if ascii { ascii_lower_word(w) } else { w })
        });
        fmix64(h)
    }
}

/// One step of the key hashes: eight more bytes into `h`.
fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

/// MurmurHash3's finaliser: every bit of the hash depends on every bit of `h`.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn guid_hash(guid: u128) -> u64 {
    fmix64((guid as u64) ^ ((guid >> 64) as u64).rotate_left(17))
}

/// The shard of a key among `shards`: from the hash's top half, as the maps
/// inside a shard hash its low bits.
fn shard_of(hash: u64, shards: usize) -> usize {
    (hash >> 32) as usize % shards
}

/// The key `key` is in a text tier, or `None` when it is blank.
pub(super) fn text_key(tier: Tier, key: &str) -> Option<Folded<'_>> {
    text_key_into(tier, key, &mut String::new())
}

/// [`text_key`], a key with non-ASCII letters folded into the buffer taken
/// from `spare` (that of a key which was not kept: a scan that rules most keys
/// out allocates for none of them).
pub(super) fn text_key_into<'k>(
    tier: Tier,
    key: &'k str,
    spare: &mut String,
) -> Option<Folded<'k>> {
    let key = trim(key);
    if key.is_empty() {
        return None;
    }
    let key = match tier {
        Tier::Address => smtp_proxy(key).unwrap_or(key),
        _ => key,
    };
    Some(if key.is_ascii() {
        Folded::Ascii(key.as_bytes())
    } else {
        let mut folded = std::mem::take(spare);
        lower_into(key, &mut folded);
        Folded::Owned(folded)
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::snapshot::format_guid;

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

    #[test]
    fn non_ascii_keys_fold_through_to_lowercase() {
        let mut r = Resolver::default();
        r.add(Tier::Name, "ÅSA Öberg", 3u32);
        r.add(Tier::Address, "smtp:JÜRGEN@Contoso.com", 4u32);
        assert_eq!(r.resolve("åsa öberg"), Resolution::Found(3));
        assert_eq!(r.resolve("jürgen@contoso.com"), Resolution::Found(4));
        assert_eq!(r.resolve("asa oberg"), Resolution::NotFound);
    }

    #[test]
    fn ascii_folding_of_whole_words_matches_byte_by_byte() {
        for text in [
            "",
            "A",
            "AZaz@[`",
            "MiXeD.Case-Address_0123@Contoso.COM",
            "@@@@@@@@ZZZZ",
            "Sixteen-Bytes-AZ",
            "Seventeen-Bytes-Z",
        ] {
            let folded = Folded::Ascii(text.as_bytes());
            let lower = Folded::Owned(text.to_ascii_lowercase());
            assert_eq!(folded.hash(), lower.hash(), "{text}");
            assert_eq!(folded.quick_hash(), lower.quick_hash(), "{text}");
            assert!(folded.equals(text.to_ascii_lowercase().as_bytes()));
        }
    }

    /// The quick hash reads the length and both ends: keys that differ there
    /// differ in it (a filter of it rules them out), keys that differ only in
    /// the middle share it.
    #[test]
    fn the_quick_hash_reads_the_length_and_both_ends() {
        let quick = |text: &str| Folded::Ascii(text.as_bytes()).quick_hash();
        let base = "CN=u0000001,OU=contoso.onmicrosoft.com,DC=com";
        assert_ne!(
            quick(base),
            quick("CN=u0000002,OU=contoso.onmicrosoft.com,DC=com")
        );
        assert_ne!(
            quick(base),
            quick("CN=u0000001,OU=contoso.onmicrosoft.com,DC=org")
        );
        assert_ne!(
            quick(base),
            quick("CN=u0000001,OU=contoso.onmicrosoft.com,DC=comm")
        );
        assert_eq!(
            quick(base),
            quick("CN=u0000001,OU=cxntoso.onmicrosoft.com,DC=com")
        );
        assert_ne!(quick("ab"), quick("ab\0"));
    }

    #[test]
    fn keys_of_one_hash_are_told_apart_by_their_bytes() {
        let mut shard = TextShard::default();
        let (a, b) = (Folded::Ascii(b"alpha"), Folded::Ascii(b"beta"));
        // Force a collision: both keys under one hash.
        shard.insert(7, &a, 1u32);
        shard.insert(7, &b, 2u32);
        shard.insert(7, &Folded::Ascii(b"ALPHA"), 3u32);
        assert!(matches!(shard.get(7, &a), Some(Entry::Many(v)) if **v == [1, 3]));
        assert!(matches!(shard.get(7, &b), Some(Entry::One(2))));
        assert!(shard.get(7, &Folded::Ascii(b"gamma")).is_none());
    }

    /// The GUID tier built by shards resolves every GUID, ambiguous ones
    /// naming their objects in the order given, as adding the keys one by one
    /// does.
    #[test]
    fn guids_built_by_shards_resolve_like_serial_adds() {
        let keys: Vec<(u128, u32)> = (0..5_000u32)
            .map(|i| ((u128::from(i % 4_000) << 64) | 0xabc, i))
            .collect();
        let mut serial = Resolver::default();
        keys.iter()
            .for_each(|&(guid, object)| serial.add_guid(guid, object));
        for shards in [1, 3, 8] {
            let built = Resolver::from_guids(shards, &keys);
            for guid in keys.iter().map(|k| k.0).chain([7]) {
                let text = format_guid(guid);
                let found = built.resolve_tier(Tier::Guid, &text);
                assert_eq!(found, serial.resolve_tier(Tier::Guid, &text), "{text}");
            }
        }
        assert!(matches!(
            serial.resolve_tier(Tier::Guid, &format_guid(0xabc)),
            Some(Resolution::Ambiguous {
                first: 0,
                second: 4_000,
                ..
            })
        ));
    }

    #[test]
    fn a_sharded_build_resolves_like_serial_adds() {
        let keys: Vec<(Tier, String, u32)> = (0..2_000u32)
            .flat_map(|i| {
                [
                    (Tier::Address, format!("User{i}@Contoso.com"), i),
                    (Tier::Name, format!("name{}", i % 700), i),
                    (
                        Tier::Guid,
                        format!("{{00000000-0000-0000-0000-{i:012}}}"),
                        i,
                    ),
                ]
            })
            .collect();
        let mut serial = Resolver::default();
        for (tier, key, object) in &keys {
            serial.add(*tier, key, *object);
        }
        for tier in Tier::ALL {
            let built = Resolver::build(tier, 5, 100, |sink| {
                for (t, key, object) in keys.iter().filter(|k| k.0 == tier) {
                    sink.add(*t, key, *object);
                }
            });
            for (t, key, _) in keys.iter().filter(|k| k.0 == tier) {
                let upper = key.to_uppercase();
                assert_eq!(
                    built.resolve_tier(*t, &upper),
                    serial.resolve_tier(*t, &upper)
                );
            }
            if tier == Tier::Guid {
                // The batched lookup across the five shards, blanks and
                // non-GUIDs among the keys, answers as one lookup at a time.
                let asked: Vec<Option<&str>> = keys
                    .iter()
                    .map(|(_, key, _)| Some(key.as_str()))
                    .chain([None, Some("not a guid")])
                    .collect();
                let batched = built.resolve_guids(asked.iter().copied());
                for (id, answer) in asked.iter().zip(batched) {
                    let one = id.and_then(|id| built.resolve_tier(Tier::Guid, id));
                    assert_eq!(answer, one, "{id:?}");
                }
            }
        }
    }

    /// Keys of `n` objects in the three text tiers: distinct DNs and
    /// addresses, and `smtp:` aliases and non-ASCII names that several share.
    pub(in crate::directory) fn text_keys(n: u32) -> Vec<(Tier, String, u32)> {
        (0..n)
            .flat_map(|i| {
                [
                    (Tier::DistinguishedName, format!("CN=u{i},OU=Contoso"), i),
                    (Tier::Address, format!("User{i}@Contoso.com"), i),
                    (
                        Tier::Address,
                        format!("smtp:alias{}@contoso.com", i % 400),
                        i,
                    ),
                    (Tier::Name, format!("Ångström{}", i % 300), i),
                ]
            })
            .collect()
    }

    #[test]
    fn a_batch_scan_answers_as_the_built_tier() {
        let keys = text_keys(1_500);
        for tier in [Tier::DistinguishedName, Tier::Address, Tier::Name] {
            let mut built = Resolver::default();
            for (_, key, object) in keys.iter().filter(|k| k.0 == tier) {
                built.add(tier, key, *object);
            }
            // Found, ambiguous, folded, repeated, missing, blank and foreign.
            let asked = [
                "cn=U7,ou=contoso",
                "USER12@contoso.COM",
                "alias3@contoso.com",
                "ÅNGSTRÖM5",
                "ångström5",
                "nobody@contoso.com",
                "",
                "CN=u7,OU=Contoso",
            ];
            let mut scan = BatchScan::new(tier, &asked);
            for (_, key, object) in keys.iter().filter(|k| k.0 == tier) {
                scan.add(tier, key, *object);
            }
            let expected: Vec<_> = asked
                .iter()
                .map(|id| built.resolve_tier(tier, id))
                .collect();
            assert_eq!(scan.results(tier), expected, "{tier:?}");
            let ambiguous = expected
                .iter()
                .any(|r| matches!(r, Some(Resolution::Ambiguous { .. })));
            assert_eq!(ambiguous, tier != Tier::DistinguishedName, "{tier:?}");
        }
    }

    #[test]
    fn an_entry_takes_two_words() {
        // The GUID tier's buckets are (u128, Entry): 32 bytes, not 48.
        assert_eq!(
            std::mem::size_of::<Entry<crate::directory::Recipient>>(),
            16
        );
    }
}
