//! The GUID tier's table: millions of 128-bit keys probed at random.
//!
//! Every probe of a table this size misses the caches (and the TLB: the process
//! runs on small pages), so the cost of a lookup is the memory's latency. The
//! table is laid out for that: open addressing with linear probing at a load
//! of at most one half, each slot holding its key and its object (24 bytes for
//! a [`Recipient`](super::Recipient)), so a lookup touches one slot, seldom
//! two; and [`GuidTable::get_many`] asks the memory for the slots of a whole
//! batch of keys before it reads any of them, so the misses overlap instead of
//! following one another. A key held by several objects (an ambiguous GUID) is
//! rare: its slot keeps the first, and the others wait in a side map.

use rustc_hash::FxHashMap;

use super::resolve::{Resolution, Tier};

/// GUID keys and the objects that hold them.
#[derive(Debug, Clone)]
pub struct GuidTable<T> {
    slots: Vec<Slot<T>>,
    len: usize,
    /// Every object of a key held by more than one, in the order added.
    many: FxHashMap<u128, Vec<T>>,
}

#[derive(Debug, Clone, Copy)]
struct Slot<T> {
    /// The key as two words (a `u128` would align the slot to 32 bytes).
    key: [u64; 2],
    object: Option<T>,
}

impl<T> Default for GuidTable<T> {
    fn default() -> Self {
        GuidTable {
            slots: Vec::new(),
            len: 0,
            many: FxHashMap::default(),
        }
    }
}

/// Keys looked up between two reads of the slots: enough misses in flight to
/// fill the memory's queues, few enough that the slots stay in the cache.
pub(super) const BATCH: usize = 16;

fn split(key: u128) -> [u64; 2] {
    [key as u64, (key >> 64) as u64]
}

impl<T: Copy + PartialEq> GuidTable<T> {
    /// Makes room for `n` keys in all, so the table does not grow as it fills.
    pub fn reserve(&mut self, n: usize) {
        let want = (n.max(8) * 2).next_power_of_two();
        if want > self.slots.len() {
            self.resize(want);
        }
    }

    fn resize(&mut self, size: usize) {
        let old = std::mem::replace(
            &mut self.slots,
            vec![
                Slot {
                    key: [0, 0],
                    object: None
                };
                size
            ],
        );
        for slot in old {
            if let Some(object) = slot.object {
                let i = self.find(slot.key, hash_of(slot.key));
                self.slots[i] = Slot {
                    key: slot.key,
                    object: Some(object),
                };
            }
        }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    fn find(&self, key: [u64; 2], hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.object.is_none() || slot.key == key {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// Registers `object` for `key`; the same object again changes nothing.
    pub fn insert(&mut self, key: u128, object: T) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.resize((self.slots.len() * 2).max(16));
        }
        let words = split(key);
        let i = self.find(words, hash_of(words));
        let slot = &mut self.slots[i];
        match slot.object {
            None => {
                *slot = Slot {
                    key: words,
                    object: Some(object),
                };
                self.len += 1;
            }
            Some(first) if first != object => {
                let all = self.many.entry(key).or_insert_with(|| vec![first]);
                if !all.contains(&object) {
                    all.push(object);
                }
            }
            Some(_) => {}
        }
    }

    /// What the GUID tier says of `key`, if it holds it.
    pub fn get(&self, key: u128) -> Option<Resolution<T>> {
        if self.slots.is_empty() {
            return None;
        }
        let words = split(key);
        self.answer(key, self.find(words, hash_of(words)))
    }

    /// Asks the memory for the slot where `key` would be, ahead of a
    /// [`GuidTable::get`] for it: issued for a batch of keys before any of
    /// them is read, the misses overlap instead of following one another.
    pub fn prefetch(&self, key: u128) {
        if !self.slots.is_empty() {
            let mask = self.slots.len() - 1;
            prefetch(&self.slots[hash_of(split(key)) as usize & mask]);
        }
    }

    fn answer(&self, key: u128, i: usize) -> Option<Resolution<T>> {
        let first = self.slots[i].object?;
        if !self.many.is_empty() {
            if let Some(all) = self.many.get(&key) {
                return Some(Resolution::Ambiguous {
                    tier: Tier::Guid,
                    first: all[0],
                    second: all[1],
                });
            }
        }
        Some(Resolution::Found(first))
    }
}

/// A hash of a GUID's two words (GUIDs are random in most bits, but not all:
/// version and variant nibbles are fixed, and some exports number them).
fn hash_of(key: [u64; 2]) -> u64 {
    let h = key[0] ^ key[1].rotate_left(32).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    let h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Asks the memory for the line holding `slot`; a hint, never a fault.
#[inline(always)]
pub(super) fn prefetch<T>(slot: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, and a prefetch reads nothing
    // the program sees (the address is a live reference besides).
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((slot as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = slot;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_through_growth_and_collisions() {
        let mut t: GuidTable<u32> = GuidTable::default();
        // Keys that differ only in their high word (the first is zero), and two more.
        let keys: Vec<u128> = (0..5_000u128)
            .map(|i| i << 64)
            .chain([1, u128::MAX])
            .collect();
        for (i, &k) in keys.iter().enumerate() {
            t.insert(k, i as u32);
        }
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k), Some(Resolution::Found(i as u32)), "{k:x}");
        }
        assert_eq!(t.get(7 << 100), None);
    }

    #[test]
    fn a_key_of_two_objects_is_ambiguous_in_the_order_added() {
        let mut t: GuidTable<u32> = GuidTable::default();
        t.insert(42, 7);
        t.insert(42, 7);
        assert_eq!(t.get(42), Some(Resolution::Found(7)));
        t.insert(42, 3);
        t.insert(42, 9);
        let ambiguous = Some(Resolution::Ambiguous {
            tier: Tier::Guid,
            first: 7,
            second: 3,
        });
        assert_eq!(t.get(42), ambiguous);
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let t: GuidTable<u32> = GuidTable::default();
        assert_eq!(t.get(1), None);
        t.prefetch(1);
    }
}
