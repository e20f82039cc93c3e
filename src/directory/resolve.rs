//! Identity resolution the way Exchange cmdlets accept identities.
//!
//! Tiers, tried in order, case-insensitively: (1) GUID (ExternalDirectoryObjectId or
//! Guid, braces allowed), (2) distinguished name, (3) SMTP address (primary or an
//! `smtp:` proxy), (4) Alias or Name. The first tier with a match decides; two
//! different objects in that tier make the identity ambiguous.

use std::collections::HashMap;

/// The identity tiers, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Guid = 0,
    DistinguishedName = 1,
    Address = 2,
    Name = 3,
}

impl Tier {
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

/// Maps identity keys to objects, per tier.
#[derive(Debug, Clone)]
pub struct Resolver<T> {
    tiers: [HashMap<String, Vec<T>>; 4],
}

impl<T> Default for Resolver<T> {
    fn default() -> Self {
        Resolver {
            tiers: Default::default(),
        }
    }
}

impl<T: Copy + PartialEq> Resolver<T> {
    /// Registers `key` for `object` in `tier`; blank keys are skipped.
    pub fn add(&mut self, tier: Tier, key: &str, object: T) {
        let Some(key) = normalize(tier, key) else {
            return;
        };
        let entry = self.tiers[tier as usize].entry(key).or_default();
        if !entry.contains(&object) {
            entry.push(object);
        }
    }

    /// Resolves an identity through the tiers.
    pub fn resolve(&self, identity: &str) -> Resolution<T> {
        for tier in [
            Tier::Guid,
            Tier::DistinguishedName,
            Tier::Address,
            Tier::Name,
        ] {
            let Some(key) = normalize(tier, identity) else {
                continue;
            };
            match self.tiers[tier as usize].get(&key).map(Vec::as_slice) {
                Some([one]) => return Resolution::Found(*one),
                Some([first, second, ..]) => {
                    return Resolution::Ambiguous {
                        tier,
                        first: *first,
                        second: *second,
                    }
                }
                _ => {}
            }
        }
        Resolution::NotFound
    }

    /// The objects registered under `key` in one tier.
    pub fn lookup(&self, tier: Tier, key: &str) -> &[T] {
        normalize(tier, key)
            .and_then(|k| self.tiers[tier as usize].get(&k))
            .map_or(&[], Vec::as_slice)
    }
}

fn normalize(tier: Tier, key: &str) -> Option<String> {
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    match tier {
        Tier::Guid => parse_guid(key),
        Tier::Address => {
            let lower = key.to_lowercase();
            Some(match lower.strip_prefix("smtp:") {
                Some(rest) => rest.to_string(),
                None => lower,
            })
        }
        Tier::DistinguishedName | Tier::Name => Some(key.to_lowercase()),
    }
}

/// Parses a GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, braces allowed) to lower case.
pub fn parse_guid(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(t);
    let bytes = t.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        };
        if !ok {
            return None;
        }
    }
    Some(t.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_parsing_table() {
        for (text, expected) in [
            (
                "810C84A8-4A9E-49E6-BF7D-12D183F40D01",
                Some("810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
            ),
            (
                "{810c84a8-4a9e-49e6-bf7d-12d183f40d01}",
                Some("810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
            ),
            ("810c84a84a9e49e6bf7d12d183f40d01", None),
            ("810c84a8-4a9e-49e6-bf7d-12d183f40d0g", None),
            ("", None),
        ] {
            assert_eq!(parse_guid(text).as_deref(), expected, "{text}");
        }
    }

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
