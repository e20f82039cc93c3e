//! The text identities a directory is asked about in one batch (the member
//! and group names of a tenant's memberships, its policy scopes), looked up
//! among the keys of all three text tiers in one pass.
//!
//! Building a tier to look a million identities up would index seven million
//! keys. Here the identities go into one table, numbered once; the keys of
//! each tier in turn are visited and probed against it, and each identity
//! keeps the objects of the lowest tier that matched it (see
//! [`resolve`](super::resolve) for the tiers). A tier is not visited once
//! every identity has matched in a lower one ([`Answers::settled`]).
//!
//! The table is probed at random millions of times and is larger than the
//! caches, so, as the GUID tier's table, it is open addressing at a load of at
//! most two thirds, and an [`AskedScan`] asks the memory for the slots of a
//! batch of keys before it reads any of them. Most keys visited are no
//! identity's: before each tier, the keys of the identities still open go into
//! a [`KeyFilter`], a fiftieth of the table's size and read a few keys after
//! it was asked for, and a key it rules out never touches the table.
//!
//! The table is two halves, by the top bit of a key's hash, so that a batch of
//! identities is numbered by two cores at once, each adding the keys of its
//! half in the batch's order ([`Asked::add_all`]); the numbers are those that
//! adding the identities one by one gives.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::guids::{prefetch, BATCH};
use super::resolve::{text_key, text_key_into, Entry, Folded, KeySink, Resolution, Tier};
use crate::snapshot::{smtp_proxy, trim};

/// The tiers whose keys an identity is compared with, as bits.
const DISTINGUISHED_NAME: u8 = 1 << Tier::DistinguishedName as u8;
const ADDRESS: u8 = 1 << Tier::Address as u8;
const NAME: u8 = 1 << Tier::Name as u8;

/// No key in a slot; no link after a link.
const NONE: u32 = u32::MAX;

/// While a batch is numbered: a blank text (it has no key).
const BLANK: u32 = u32::MAX - 1;

/// Distinct identities, numbered, and the keys they are looked up by.
///
/// Identities the tiers cannot tell apart (the same text but for case and
/// surrounding blanks) are one identity. An identity is looked up by one key
/// in all three tiers, except one that starts with `smtp:`: the address tier
/// compares what follows the prefix. A key therefore leads to one or more
/// links, each naming an identity and the tiers in which the key is its key:
/// the first in the key's slot, any others (rare) chained in its half's
/// `links`.
pub(super) struct Asked<'a> {
    /// The keys whose hash has its top bit clear, and those with it set.
    halves: [Keys; 2],
    /// Each identity's text, as it first came.
    texts: Vec<&'a str>,
    /// Each identity's keys' quick hashes ([`Folded::quick_hash`]): its own
    /// key's, then its address tier key's (the same key but for `smtp:` texts).
    quick: Vec<[u64; 2]>,
    /// The identity that blank texts get (nothing matches it), once one came.
    blank: Option<u32>,
    /// A buffer to fold the next identity's non-ASCII text into.
    spare: String,
}

/// One half of an [`Asked`] table's keys. A slot holds all a lookup needs
/// but the key's text, which it locates in `arena`, so a batch of lookups can
/// fetch the texts of its matching hashes together before it compares any.
struct Keys {
    slots: Vec<Slot>,
    /// The folded text of every key, end to end.
    arena: Vec<u8>,
    links: Vec<Link>,
    keys: usize,
}

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    /// Where the key's folded text is in the arena; `NONE`: an empty slot.
    start: u32,
    len: u32,
    /// The key's first link.
    first: Link,
}

#[derive(Clone, Copy)]
struct Link {
    identity: u32,
    tiers: u8,
    /// The next link in `links`, or `NONE`.
    next: u32,
}

const EMPTY: Slot = Slot {
    hash: 0,
    start: NONE,
    len: 0,
    first: Link {
        identity: NONE,
        tiers: 0,
        next: NONE,
    },
};

/// What a half of an [`Asked`] table worked out for a new identity of a
/// batch: its quick hashes, and the hash of its address tier key when that
/// is not its own key.
struct Fresh {
    quick: [u64; 2],
    address: Option<u64>,
}

/// The half of an [`Asked`] table a key of this hash is in: by its top bit,
/// as the slots are found by its low bits.
fn half_of(hash: u64) -> usize {
    (hash >> 63) as usize
}

impl<'a> Asked<'a> {
    /// An empty table with room for about `n` identities.
    pub fn with_capacity(n: usize) -> Asked<'a> {
        Asked {
            // Each half's slots written on a core of its own.
            halves: rayon::join(|| Keys::with_capacity(n / 2), || Keys::with_capacity(n / 2))
                .into(),
            texts: Vec::with_capacity(n),
            quick: Vec::with_capacity(n),
            blank: None,
            spare: String::new(),
        }
    }

    /// How many distinct identities were added.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// The text of identity `identity`, as it first came.
    pub fn text(&self, identity: u32) -> &'a str {
        self.texts[identity as usize]
    }

    /// Adds `ids`; gives each one's number (equal for identities the tiers
    /// cannot tell apart), as adding them one by one with [`Asked::add`]
    /// does. The keys are hashed in parallel; then each half of the table
    /// takes, on its own core, the ids whose key falls in it, in order, and
    /// gives each new one its place in `ids` as a provisional number; the
    /// identities are numbered in order from those, and last the address
    /// keys of the new `smtp:` identities are linked, again by both halves.
    pub fn add_all(&mut self, ids: &[&'a str]) -> Vec<u32> {
        let hashes: Vec<u64> = ids
            .par_iter()
            .map_init(String::new, |spare, id| hash_of(id, spare))
            .collect();
        let base = self.texts.len() as u32;
        assert!(
            (base as usize + ids.len()) < BLANK as usize,
            "fewer than four billion identities"
        );
        // What each id's own key found: an identity numbered before this
        // batch, the provisional number of the id that brought it, or BLANK.
        let found: Vec<AtomicU32> = (0..ids.len()).map(|_| AtomicU32::new(NONE)).collect();
        // The texts' length: each half keeps about half of them.
        let text_bytes = ids.par_iter().map(|id| id.len()).sum();
        let [low, high] = &mut self.halves;
        let fresh = rayon::join(
            || low.number(0, ids, &hashes, base, text_bytes, &found),
            || high.number(1, ids, &hashes, base, text_bytes, &found),
        );
        // Each half's new identities, in order.
        let mut fresh = [fresh.0.into_iter(), fresh.1.into_iter()];
        let mut numbers: Vec<u32> = Vec::with_capacity(ids.len());
        // The new `smtp:` identities, whose address keys are linked last.
        let mut addresses: Vec<(u32, &'a str, u64)> = Vec::new();
        for (i, found) in found.into_iter().enumerate() {
            let number = match found.into_inner() {
                BLANK => match self.blank {
                    Some(blank) => blank,
                    None => {
                        let blank = self.new_identity(ids[i], [0; 2]);
                        *self.blank.insert(blank)
                    }
                },
                known if known < base => known,
                provisional if provisional == base + i as u32 => {
                    let new = fresh[half_of(hashes[i])]
                        .next()
                        .expect("one per new identity");
                    let identity = self.new_identity(ids[i], new.quick);
                    if let Some(hash) = new.address {
                        addresses.push((identity, ids[i], hash));
                    }
                    identity
                }
                provisional => numbers[(provisional - base) as usize],
            };
            numbers.push(number);
        }
        let [low, high] = &mut self.halves;
        let (numbered, addresses) = (&numbers, &addresses);
        rayon::join(
            || {
                low.renumber(base, numbered);
                low.link_addresses(0, addresses);
            },
            || {
                high.renumber(base, numbered);
                high.link_addresses(1, addresses);
            },
        );
        numbers
    }

    /// Adds one identity; gives its number.
    pub fn add(&mut self, id: &'a str) -> u32 {
        let mut spare = std::mem::take(&mut self.spare);
        let full = text_key_into(Tier::Name, id, &mut spare);
        let hash = full.as_ref().map_or(0, Folded::hash);
        let identity = self.add_folded(id, hash, full.as_ref());
        self.spare = match full {
            Some(Folded::Owned(folded)) => folded,
            _ => spare,
        };
        identity
    }

    /// Adds `id`, of folded text `full` (`None`: blank) whose hash is `hash`.
    fn add_folded(&mut self, id: &'a str, hash: u64, full: Option<&Folded<'_>>) -> u32 {
        let Some(full) = full else {
            if let Some(blank) = self.blank {
                return blank;
            }
            let blank = self.new_identity(id, [0; 2]);
            self.blank = Some(blank);
            return blank;
        };
        let keys = &mut self.halves[half_of(hash)];
        keys.reserve(1);
        let i = keys.find(hash, full);
        // The identity this text already is, if it came before.
        if let Some(identity) = keys.identity_at(i) {
            return identity;
        }
        // The address tier's key differs only for an `smtp:` text.
        let address = address_key(id);
        let quick = full.quick_hash();
        let identity = self.new_identity(
            id,
            [quick, address.as_ref().map_or(quick, Folded::quick_hash)],
        );
        let own = own_tiers(address.as_ref());
        self.halves[half_of(hash)].link(i, hash, full, identity, own);
        if let Some(address) = address {
            let hash = address.hash();
            let keys = &mut self.halves[half_of(hash)];
            keys.reserve(1);
            let i = keys.find(hash, &address);
            keys.link(i, hash, &address, identity, ADDRESS);
        }
        identity
    }

    fn new_identity(&mut self, text: &'a str, quick: [u64; 2]) -> u32 {
        self.texts.push(text);
        self.quick.push(quick);
        self.texts.len() as u32 - 1
    }

    /// The half of the table a key of this hash is in.
    fn keys(&self, hash: u64) -> &Keys {
        &self.halves[half_of(hash)]
    }

    fn prefetch(&self, hash: u64) {
        self.keys(hash).prefetch(hash);
    }

    /// The keys by which `tier` can still answer an identity (their quick
    /// hashes): the keys in `tier` of the identities `open` accepts.
    pub fn filter(&self, tier: Tier, open: impl Fn(u32) -> bool) -> KeyFilter {
        let which = usize::from(tier == Tier::Address);
        let mut filter = KeyFilter::with_room(self.quick.len());
        for (identity, quick) in self.quick.iter().enumerate() {
            let identity = identity as u32;
            if open(identity) && self.blank != Some(identity) {
                filter.insert(quick[which]);
            }
        }
        filter
    }
}

impl Keys {
    /// An empty half with room for about `n` keys.
    fn with_capacity(n: usize) -> Keys {
        Keys {
            slots: vec![EMPTY; slots_for(n)],
            arena: Vec::new(),
            links: Vec::new(),
            keys: 0,
        }
    }

    /// Numbers the `ids` whose own key falls in this half (`which`), in
    /// order, into `found` (see [`Asked::add_all`]): an identity found by the
    /// key's distinguished name link, or else a new one whose provisional
    /// number is `base` plus the id's place, linked by its own key; BLANK for
    /// a blank text (whose hash is 0, in the low half). `text_bytes`, the
    /// length of all the texts, sizes the arena.
    fn number(
        &mut self,
        which: usize,
        ids: &[&str],
        hashes: &[u64],
        base: u32,
        text_bytes: usize,
        found: &[AtomicU32],
    ) -> Vec<Fresh> {
        let mut fresh = Vec::new();
        let mine = |hash: u64| half_of(hash) == which;
        self.reserve(hashes.iter().filter(|&&hash| mine(hash)).count());
        self.arena.reserve(text_bytes / 2 + text_bytes / 16);
        let mut spare = String::new();
        for (i, &hash) in hashes.iter().enumerate() {
            // The slot of a key of this half a batch or so ahead is fetched
            // meanwhile (every other id is the other half's).
            if let Some(&ahead) = hashes.get(i + 2 * BATCH) {
                if mine(ahead) {
                    self.prefetch(ahead);
                }
            }
            if !mine(hash) {
                continue;
            }
            let id = ids[i];
            let key = text_key_into(Tier::Name, id, &mut spare);
            let number = match &key {
                None => BLANK,
                Some(full) => {
                    let slot = self.find(hash, full);
                    match self.identity_at(slot) {
                        Some(identity) => identity,
                        None => {
                            let provisional = base + i as u32;
                            let address = address_key(id);
                            let own = own_tiers(address.as_ref());
                            self.link(slot, hash, full, provisional, own);
                            let quick = full.quick_hash();
                            fresh.push(Fresh {
                                quick: [quick, address.as_ref().map_or(quick, Folded::quick_hash)],
                                address: address.as_ref().map(Folded::hash),
                            });
                            provisional
                        }
                    }
                }
            };
            if let Some(Folded::Owned(folded)) = key {
                spare = folded;
            }
            found[i].store(number, Ordering::Relaxed);
        }
        fresh
    }

    /// Gives the links of a batch their identities' numbers: a link naming
    /// `base` or above names the id that brought it, whose number `numbers`
    /// holds.
    fn renumber(&mut self, base: u32, numbers: &[u32]) {
        let renumber = |link: &mut Link| {
            if link.identity >= base {
                link.identity = numbers[(link.identity - base) as usize];
            }
        };
        self.slots.par_chunks_mut(1 << 14).for_each(|slots| {
            let used = slots.iter_mut().filter(|slot| slot.start != NONE);
            used.for_each(|slot| renumber(&mut slot.first));
        });
        self.links.iter_mut().for_each(renumber);
    }

    /// Links each identity of `addresses` (identity, text, hash of its
    /// address tier key) whose address key falls in this half (`which`) to it.
    fn link_addresses(&mut self, which: usize, addresses: &[(u32, &str, u64)]) {
        let mine: Vec<&(u32, &str, u64)> = addresses
            .iter()
            .filter(|&&(_, _, hash)| half_of(hash) == which)
            .collect();
        self.reserve(mine.len());
        for (k, &&(identity, text, hash)) in mine.iter().enumerate() {
            if let Some(&&(_, _, ahead)) = mine.get(k + BATCH) {
                self.prefetch(ahead);
            }
            let address = address_key(text).expect("an smtp: text");
            let i = self.find(hash, &address);
            self.link(i, hash, &address, identity, ADDRESS);
        }
    }

    /// The identity whose own key is in slot `i` (its distinguished name
    /// link), if any.
    fn identity_at(&self, i: usize) -> Option<u32> {
        if self.slots[i].start == NONE {
            return None;
        }
        let mut link = self.slots[i].first;
        loop {
            if link.tiers & DISTINGUISHED_NAME != 0 {
                return Some(link.identity);
            }
            link = *self.links.get(link.next as usize)?;
        }
    }

    /// Links `identity` to the key in slot `i` (`key`, of `hash`), filling the
    /// slot when it is empty.
    fn link(&mut self, i: usize, hash: u64, key: &Folded<'_>, identity: u32, tiers: u8) {
        let slot = &mut self.slots[i];
        if slot.start == NONE {
            let start = self.arena.len() as u32;
            key.push_to(&mut self.arena);
            *slot = Slot {
                hash,
                start,
                len: key.len() as u32,
                first: Link {
                    identity,
                    tiers,
                    next: NONE,
                },
            };
            self.keys += 1;
        } else {
            self.links.push(slot.first);
            slot.first = Link {
                identity,
                tiers,
                next: self.links.len() as u32 - 1,
            };
        }
    }

    /// Makes room for `n` more keys, and two besides (an identity has one
    /// key, or two).
    fn reserve(&mut self, n: usize) {
        let want = slots_for(self.keys + n + 2);
        if want > self.slots.len() {
            let old = std::mem::replace(&mut self.slots, vec![EMPTY; want]);
            let mask = want - 1;
            for slot in old.into_iter().filter(|s| s.start != NONE) {
                let mut i = slot.hash as usize & mask;
                while self.slots[i].start != NONE {
                    i = (i + 1) & mask;
                }
                self.slots[i] = slot;
            }
        }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    fn find(&self, hash: u64, key: &Folded<'_>) -> usize {
        let mut i = self.home(hash);
        loop {
            let slot = &self.slots[i];
            if slot.start == NONE || (slot.hash == hash && key.equals(self.text_of(slot))) {
                return i;
            }
            i = (i + 1) & (self.slots.len() - 1);
        }
    }

    /// The first slot, from the home slot of `hash` on, that holds a key of
    /// that hash (`None`: an empty slot came first, so no key has it): where
    /// the key asked is, unless 64-bit hashes collide.
    fn candidate(&self, hash: u64) -> Option<usize> {
        let mut i = self.home(hash);
        loop {
            let slot = &self.slots[i];
            if slot.start == NONE {
                return None;
            }
            if slot.hash == hash {
                return Some(i);
            }
            i = (i + 1) & (self.slots.len() - 1);
        }
    }

    fn home(&self, hash: u64) -> usize {
        hash as usize & (self.slots.len() - 1)
    }

    fn text_of(&self, slot: &Slot) -> &[u8] {
        &self.arena[slot.start as usize..][..slot.len as usize]
    }

    fn prefetch(&self, hash: u64) {
        prefetch(&self.slots[self.home(hash)]);
    }

    /// Calls `f` with each identity whose key in `tier` is the key of slot `i`.
    fn each_linked(&self, i: usize, tier: Tier, mut f: impl FnMut(u32)) {
        let mut link = self.slots[i].first;
        loop {
            if link.tiers & (1 << tier as u8) != 0 {
                f(link.identity);
            }
            let Some(next) = self.links.get(link.next as usize) else {
                return;
            };
            link = *next;
        }
    }
}

/// The hash of an identity's whole text as a key ([`Folded::hash`]; 0 for a
/// blank one), folded into `spare` when it has non-ASCII letters.
fn hash_of(id: &str, spare: &mut String) -> u64 {
    match text_key_into(Tier::Name, id, spare) {
        None => 0,
        Some(key) => {
            let hash = key.hash();
            if let Folded::Owned(folded) = key {
                *spare = folded;
            }
            hash
        }
    }
}

/// The address tier's key of an `smtp:` text (what follows the prefix);
/// `None` for any other text, whose own key is its address tier key too.
fn address_key(id: &str) -> Option<Folded<'_>> {
    smtp_proxy(trim(id)).and_then(|_| text_key(Tier::Address, id))
}

/// The tiers in which an identity's own key is its key: all three, but for
/// an `smtp:` text, whose address tier key (`address`, from [`address_key`])
/// is another.
fn own_tiers(address: Option<&Folded<'_>>) -> u8 {
    match address {
        Some(_) => DISTINGUISHED_NAME | NAME,
        None => DISTINGUISHED_NAME | ADDRESS | NAME,
    }
}

/// Keeps the buffer of a non-ASCII key done with, for the next one to fold into.
fn recycle(spares: &mut Vec<String>, key: Folded<'_>) {
    if let Folded::Owned(folded) = key {
        spares.push(folded);
    }
}

/// Slots for `n` keys at a load of at most two thirds.
fn slots_for(n: usize) -> usize {
    (n.max(8) * 3 / 2 + 1).next_power_of_two()
}

/// A Bloom filter over the quick hashes ([`Folded::quick_hash`]) of some keys
/// of an [`Asked`] table: ten to twenty bits a key (two megabytes for a
/// million keys, where the table takes a hundred), one 64-bit word read per
/// lookup. A key inserted is always let through; of the others about two in a
/// hundred are.
pub(super) struct KeyFilter {
    words: Vec<u64>,
}

impl KeyFilter {
    /// Room for `n` keys.
    fn with_room(n: usize) -> KeyFilter {
        KeyFilter {
            words: vec![0; (n * 10 / 64).max(1).next_power_of_two()],
        }
    }

    /// The word of a hash (from its top half: the table's slots use the low
    /// bits) and the three bits it sets there (from its low bits).
    fn place(&self, hash: u64) -> (usize, u64) {
        let word = (hash >> 32) as usize & (self.words.len() - 1);
        let bit = |shift: u32| 1u64 << ((hash >> shift) & 63);
        (word, bit(0) | bit(6) | bit(12))
    }

    fn insert(&mut self, hash: u64) {
        let (word, bits) = self.place(hash);
        self.words[word] |= bits;
    }

    /// Asks the memory for the word a lookup of `hash` reads.
    fn prefetch(&self, hash: u64) {
        prefetch(&self.words[self.place(hash).0]);
    }

    /// Whether a key of this hash may have been inserted.
    pub fn may_contain(&self, hash: u64) -> bool {
        let (word, bits) = self.place(hash);
        self.words[word] & bits == bits
    }
}

/// Visits keys of the text tiers for an [`Asked`] table, in two steps a few
/// keys apart, so that the memory is asked for what a key needs before the
/// key needs it: each key's word of the filter is fetched when it comes and
/// read [`FILTER_AHEAD`] keys later (the filter, two megabytes for a million
/// identities, is larger than a core's cache); a key the filter lets through
/// has its slot fetched and is looked up with its batch. A hit is the
/// identity, the tier and the object. Call [`AskedScan::finish`] after the
/// last key.
pub(super) struct AskedScan<'s, 'a, 'k, T> {
    asked: &'s Asked<'a>,
    filter: &'s KeyFilter,
    /// Keys whose filter word is on its way, with their quick hashes.
    waiting: VecDeque<(Folded<'k>, u64, Tier, T)>,
    batch: Vec<(Folded<'k>, u64, Tier, T)>,
    hits: Vec<(u32, Tier, T)>,
    /// Buffers of non-ASCII keys done with, for the next ones to fold into.
    spares: Vec<String>,
}

/// Keys between asking for a key's filter word and reading it.
const FILTER_AHEAD: usize = 8;

impl<'s, 'a, 'k, T: Copy> AskedScan<'s, 'a, 'k, T> {
    /// A scan for the keys `filter` lets through (see [`Asked::filter`]).
    pub fn new(asked: &'s Asked<'a>, filter: &'s KeyFilter) -> Self {
        AskedScan {
            asked,
            filter,
            waiting: VecDeque::with_capacity(FILTER_AHEAD + 1),
            batch: Vec::with_capacity(BATCH),
            hits: Vec::new(),
            spares: Vec::new(),
        }
    }

    /// The second step for a key whose filter word was fetched: unless the
    /// filter rules it out, its slot is fetched and it joins the batch.
    fn sift(&mut self, (key, quick, tier, object): (Folded<'k>, u64, Tier, T)) {
        if !self.filter.may_contain(quick) {
            recycle(&mut self.spares, key);
            return;
        }
        let hash = key.hash();
        self.asked.prefetch(hash);
        self.batch.push((key, hash, tier, object));
        if self.batch.len() == BATCH {
            self.flush();
        }
    }

    /// Looks the batch up: first the slot of each key's hash (fetched when
    /// the key came), fetching the text of the key found there, then the
    /// texts are compared. A hash matched by another key, rare, is looked
    /// for further in the table.
    fn flush(&mut self) {
        let asked = self.asked;
        let found: [Option<usize>; BATCH] = std::array::from_fn(|b| {
            let (_, hash, _, _) = self.batch.get(b)?;
            let keys = asked.keys(*hash);
            let i = keys.candidate(*hash)?;
            prefetch(&keys.arena[keys.slots[i].start as usize]);
            Some(i)
        });
        for ((key, hash, tier, object), found) in self.batch.drain(..).zip(found) {
            let keys = asked.keys(hash);
            let found = found.and_then(|i| {
                if key.equals(keys.text_of(&keys.slots[i])) {
                    return Some(i);
                }
                let i = keys.find(hash, &key);
                (keys.slots[i].start != NONE).then_some(i)
            });
            if let Some(i) = found {
                let hits = &mut self.hits;
                keys.each_linked(i, tier, |identity| hits.push((identity, tier, object)));
            }
            recycle(&mut self.spares, key);
        }
    }

    /// The hits, in the order the keys were visited.
    pub fn finish(mut self) -> Vec<(u32, Tier, T)> {
        while let Some(waiting) = self.waiting.pop_front() {
            self.sift(waiting);
        }
        self.flush();
        self.hits
    }
}

impl<'k, T: Copy> KeySink<'k, T> for AskedScan<'_, '_, 'k, T> {
    fn add(&mut self, tier: Tier, key: &'k str, object: T) {
        if tier == Tier::Guid {
            return;
        }
        let mut spare = self.spares.pop().unwrap_or_default();
        let key = text_key_into(tier, key, &mut spare);
        if spare.capacity() > 0 {
            // Not taken: the key is blank or ASCII.
            self.spares.push(spare);
        }
        let Some(key) = key else {
            return;
        };
        let quick = key.quick_hash();
        self.filter.prefetch(quick);
        self.waiting.push_back((key, quick, tier, object));
        if self.waiting.len() > FILTER_AHEAD {
            let ready = self.waiting.pop_front().expect("more than one waits");
            self.sift(ready);
        }
    }

    fn add_guid(&mut self, _: u128, _: T) {}
}

/// What the text tiers say of each identity of an [`Asked`] table, gathered
/// from the hits of scans: the objects of the lowest tier that matched. Two
/// objects in that tier make the identity ambiguous, naming the first two in
/// the order the hits came, which may not be a serial visit's: scan those
/// identities again in order when the message matters.
pub(super) struct Answers<T> {
    best: Vec<Option<(Tier, Entry<T>)>>,
    /// How many identities no key matched yet (the blank one aside).
    open: usize,
}

impl<T: Copy + PartialEq> Answers<T> {
    pub fn new(asked: &Asked<'_>) -> Answers<T> {
        Answers {
            best: (0..asked.len()).map(|_| None).collect(),
            open: asked.len() - usize::from(asked.blank.is_some()),
        }
    }

    /// Takes the hits of one scan (identity, tier, object).
    pub fn absorb(&mut self, hits: Vec<(u32, Tier, T)>) {
        for (identity, tier, object) in hits {
            let found = &mut self.best[identity as usize];
            match found {
                Some((t, entry)) if *t == tier => entry.push(object),
                Some((t, _)) if (*t as u8) < tier as u8 => {}
                Some(_) => *found = Some((tier, Entry::One(object))),
                None => {
                    *found = Some((tier, Entry::One(object)));
                    self.open -= 1;
                }
            }
        }
    }

    /// Whether no key has matched `identity` yet: a further tier can still
    /// answer it.
    pub fn is_open(&self, identity: u32) -> bool {
        self.best[identity as usize].is_none()
    }

    /// Whether every identity that can match has matched: the tiers after
    /// those scanned can change no answer.
    pub fn settled(&self) -> bool {
        self.open == 0
    }

    /// Per identity, what the tiers say (`None`: no key matched).
    pub fn finish(self) -> Vec<Option<Resolution<T>>> {
        self.best
            .into_iter()
            .map(|b| b.map(|(tier, entry)| entry.resolution(tier)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::resolve::tests::text_keys;
    use crate::directory::resolve::Resolver;

    /// Keys of all three text tiers with shared, folded, prefixed and
    /// non-ASCII texts, and names that look like another object's address or
    /// DN, so that identities match in one tier, several, or none.
    fn keys() -> Vec<(Tier, String, u32)> {
        let mut keys = text_keys(3_000);
        keys.extend((0..3_000u32).flat_map(|i| {
            [
                (Tier::Name, format!("user{i}@contoso.com"), i + 1),
                (Tier::Name, format!("cn=u{i}"), i),
            ]
        }));
        keys
    }

    #[test]
    fn filtered_scans_tier_by_tier_answer_as_the_built_tiers() {
        let keys = keys();
        let mut built = Resolver::default();
        for (tier, key, object) in &keys {
            built.add(*tier, key, *object);
        }
        // Found in one tier or in several (the lowest wins), ambiguous, folded,
        // trimmed, prefixed, repeated in another case, missing and blank.
        let ids = [
            "cn=U7,ou=contoso",
            " USER12@contoso.COM ",
            "user12@contoso.com",
            "smtp:user13@contoso.com",
            "SMTP:alias3@contoso.com",
            "alias3@contoso.com",
            "ÅNGSTRÖM5",
            "ångström5",
            "cn=u9",
            "nobody@contoso.com",
            "smtp:",
            "  ",
            "",
            "CN=u7,OU=Contoso",
        ];
        let mut asked = Asked::with_capacity(2);
        // Some at once, the rest one by one (the table grows on the way).
        let mut numbers = asked.add_all(&ids[..5]);
        numbers.extend(ids[5..].iter().map(|id| asked.add(id)));
        assert_eq!(numbers[0], numbers[13], "the same identity but for case");
        assert_eq!(numbers[1], numbers[2], "the same identity but for blanks");
        assert_eq!(numbers[11], numbers[12], "blanks");
        assert_ne!(
            numbers[3], numbers[2],
            "a prefixed address is its own identity"
        );
        // Tier by tier, each filtered to the identities still open, in parts
        // as the directory scans its keys in chunks.
        let mut answers = Answers::new(&asked);
        for tier in [Tier::DistinguishedName, Tier::Address, Tier::Name] {
            let filter = asked.filter(tier, |identity| answers.is_open(identity));
            let of_tier: Vec<_> = keys.iter().filter(|(t, ..)| *t == tier).collect();
            let parts: Vec<_> = of_tier
                .chunks(1_000)
                .map(|part| {
                    let mut scan = AskedScan::new(&asked, &filter);
                    for (tier, key, object) in part {
                        scan.add(*tier, key, *object);
                    }
                    scan.finish()
                })
                .collect();
            parts.into_iter().for_each(|hits| answers.absorb(hits));
        }
        let answers = answers.finish();
        for (id, number) in ids.iter().zip(numbers) {
            let expected = [Tier::DistinguishedName, Tier::Address, Tier::Name]
                .into_iter()
                .find_map(|tier| built.resolve_tier(tier, id));
            assert_eq!(answers[number as usize], expected, "{id:?}");
        }
        assert!(matches!(
            answers[numbers_of(&asked, "alias3@contoso.com")],
            Some(Resolution::Ambiguous {
                tier: Tier::Address,
                ..
            })
        ));
    }

    /// A batch added at once numbers its identities as adding them one by one
    /// does, links the same keys, and a later batch finds the identities of
    /// the first.
    #[test]
    fn a_batch_is_numbered_and_linked_as_one_by_one() {
        let forms = |i: u32| {
            [
                format!("CN=u{i},OU=Contoso"),
                format!(" User{}@Contoso.com", i % 700),
                format!("smtp:alias{}@contoso.com", i % 400),
                format!("alias{}@CONTOSO.com", i % 450),
                format!("Ångström{}", i % 300),
                ["", " ", "smtp:"][i as usize % 3].to_string(),
            ]
        };
        let texts: Vec<String> = (0..2_000).flat_map(forms).collect();
        let ids: Vec<&str> = texts.iter().map(String::as_str).collect();
        // The second batch repeats some of the first, and brings new ones.
        let (first, second) = ids.split_at(ids.len() * 4 / 5);
        let mut batched = Asked::with_capacity(16);
        let mut numbers = batched.add_all(first);
        numbers.extend(batched.add_all(second));
        // Both halves took keys, so both numbered some of each batch.
        assert!(batched.halves.iter().all(|half| half.keys > 1_000));
        let mut serial = Asked::with_capacity(16);
        let one_by_one: Vec<u32> = ids.iter().map(|id| serial.add(id)).collect();
        assert_eq!(numbers, one_by_one);
        assert_eq!(batched.texts, serial.texts);
        assert_eq!(batched.quick, serial.quick);
        assert_eq!(batched.blank, serial.blank);
        // The same identities are linked to each key, in each tier.
        let keys = text_keys(2_500);
        for tier in [Tier::DistinguishedName, Tier::Address, Tier::Name] {
            let hits = |asked: &Asked<'_>| {
                let filter = asked.filter(tier, |_| true);
                let mut scan = AskedScan::new(asked, &filter);
                for (t, key, object) in keys.iter().filter(|k| k.0 == tier) {
                    scan.add(*t, key, *object);
                }
                let mut hits = scan.finish();
                hits.sort_unstable_by_key(|&(identity, _, object)| (object, identity));
                hits
            };
            let found = hits(&batched);
            assert!(!found.is_empty());
            assert_eq!(found, hits(&serial), "{tier:?}");
        }
    }

    /// The filter lets every key inserted through, and few others.
    #[test]
    fn the_key_filter_has_no_false_negatives_and_few_false_positives() {
        let hash = |i: u64| fmix(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut filter = KeyFilter::with_room(100_000);
        (0..100_000).for_each(|i| filter.insert(hash(i)));
        assert!((0..100_000).all(|i| filter.may_contain(hash(i))));
        let passed = (100_000..1_100_000)
            .filter(|&i| filter.may_contain(hash(i)))
            .count();
        assert!(passed < 50_000, "{passed} of a million others let through");
    }

    /// A stand-in for the key hash: any well-mixed 64 bits.
    fn fmix(mut h: u64) -> u64 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }

    fn numbers_of(asked: &Asked<'_>, text: &str) -> usize {
        (0..asked.len() as u32)
            .find(|&i| asked.text(i) == text)
            .expect("asked") as usize
    }
}
