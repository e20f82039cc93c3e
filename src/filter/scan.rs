//! Every comparison on one property, answered in one pass over the rows.
//!
//! A tenant's scopes compare the same few dozen properties thousands of times.
//! Instead of an index per property (a million strings sorted, then searched
//! once per comparison), the comparisons of a property are gathered into one
//! [`Matcher`] and the property's values are read once, in parallel chunks:
//! - `-eq`: one case-insensitive hash probe per value, verified;
//! - prefix patterns (`abc*`): one walk of a trie of the literals from the
//!   value's start; suffix patterns (`*abc`): from its end, in a reversed trie;
//! - a pattern with a literal start or end (`a*b`, `ab*c*`): the same tries
//!   find the values that begin (or end) with that literal, which are verified;
//! - `*a*`, a single ASCII letter or sign anywhere (a broad pattern): the
//!   bytes the value holds, marked in a 128-bit set, say it at once;
//! - any other pattern (`*abc*`, `*a*b*`): one Aho-Corasick pass over one
//!   literal piece of each pattern (the least shared among the patterns, then the
//!   longest) finds the candidates, which are verified;
//! - ordering comparisons: each value is placed among the sorted literals by
//!   binary search, once for all of them ([`super::order`]);
//! - `$null`: rows with no value.
//!
//! What a value hits (its tests and ordering slots) is remembered per chunk,
//! so a column of a few hundred distinct values costs one hash probe per row;
//! a chunk gives the memo up once most values miss it (a column of distinct
//! values). Chunks are roaring containers: a test's rows in a chunk become one
//! container, set as a bitset when they are many.
//!
//! A comparison costs its share of that pass plus its matches, however many
//! distinct values the property has and however many scopes repeat it.
//! `MemberOfGroup` and `AdministrativeUnits` run the same matcher over the
//! groups' and units' names and take the members of those that match. The
//! results are the rows that satisfy each test before negation;
//! [`super::leaf::Test::holds`] is the reference they must equal.
//!
//! Text is compared in folded form: ASCII letters case-insensitively, other
//! text after `to_lowercase` (literals are lower-cased when planned, values
//! here), so no value is copied unless it has non-ASCII characters.

use std::ops::Range;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::{contiguous, noncontiguous};
use aho_corasick::{dfa, Anchored, MatchKind};
use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};
use rustc_hash::FxHashMap;

use super::leaf::{Pattern, Test};
use super::order::Orderings;
use super::value::OrderingTest;
use crate::snapshot::{eq_ignore_ascii_case_words, lower_into};

/// Rows per parallel chunk: one roaring container's worth, and chunks start
/// at multiples of it, so a chunk's rows of a test make at most one container.
const CHUNK: usize = 1 << 16;

/// Above this many rows in one chunk, a test's rows go into the container as
/// a bitset (roaring's own threshold between array and bitmap containers).
const DENSE: usize = 4096;

/// The memo of a chunk is given up once it has missed this many times and
/// more often than it has hit: the property has (nearly) as many distinct
/// values as rows, and hashing each value once more would only cost.
const MEMO_TRIAL: u32 = 512;

/// The comparisons of one property, arranged for one pass over its values.
pub struct Matcher<'t> {
    tests: Vec<&'t Test>,
    /// Literal hash → (test, literal) for `-eq` (and EmailAddresses' `smtp:` form).
    equals: FxHashMap<u64, Vec<(u32, &'t str)>>,
    /// The shortest and longest of those literals' lengths: a value of
    /// another length (an X500 proxy, say) is not hashed at all.
    equal_lengths: (usize, usize),
    /// Prefix patterns (`abc*`) and suffix patterns (`*abc`).
    prefixes: Affixes,
    suffixes: Affixes,
    /// The other patterns: an automaton over one piece of each (see
    /// [`anchor_piece`]), and the tests of each piece.
    pieces: Option<Pieces>,
    /// Per piece, its tests: `true` when the pattern is `*piece*`, which a
    /// value containing the piece matches without verification.
    piece_tests: Vec<Vec<(u32, bool)>>,
    /// When every pattern the automaton finds starts with a literal (every
    /// `smtp:*…` pattern of EmailAddresses), those literals: a value that
    /// starts with none of them is not searched, and one that does is
    /// searched after the shortest it starts with. The same for the literals
    /// they end with (`*ko.*@contoso.com`: the domain is not searched).
    piece_heads: Option<Affixes>,
    piece_tails: Option<Affixes>,
    /// Each `-like` test's pattern, cut at its stars (`None` for other tests).
    globs: Vec<Option<Glob<'t>>>,
    /// Patterns of one ASCII byte anywhere (`*a*`), with their tests.
    byte_infixes: Vec<(u8, u32)>,
    /// Patterns without a literal piece (`*`): any value matches.
    any_value: Vec<u32>,
    ordering: Orderings,
    blank: Vec<u32>,
}

/// What one chunk of rows found, per target: the tests, then the ordering
/// slots (numbered after the tests), each with the rows it holds for.
struct Hits<'v> {
    rows: Vec<Vec<u32>>,
    memo: Memo<'v>,
    /// The targets of the current value when the memo is off.
    scratch: Vec<u32>,
    buffers: Buffers,
}

/// Buffers one value's work reuses from the last value's.
#[derive(Default)]
struct Buffers {
    /// Where the value's pieces end (see [`Pieces::each_match`]).
    ends: Vec<StateID>,
    /// The value lower-cased, when it is not ASCII.
    lowered: String,
}

/// The targets each distinct value of a chunk hits, computed once per value:
/// a column of a few hundred distinct values (Department, CountryOrRegion)
/// costs a hash probe per row instead of every test's work.
struct Memo<'v> {
    on: bool,
    /// Value as written → its targets' place in `targets`.
    seen: FxHashMap<&'v str, (u32, u32)>,
    targets: Vec<u32>,
    lookups: u32,
    misses: u32,
}

impl Memo<'_> {
    fn new() -> Self {
        Memo {
            on: true,
            seen: FxHashMap::default(),
            targets: Vec::new(),
            lookups: 0,
            misses: 0,
        }
    }
}

impl<'t> Matcher<'t> {
    pub fn new(tests: &[&'t Test]) -> Matcher<'t> {
        let ordering: Vec<(u32, &OrderingTest)> = tests
            .iter()
            .enumerate()
            .filter_map(|(i, test)| match test {
                Test::Order(o) => Some((i as u32, o)),
                _ => None,
            })
            .collect();
        let mut m = Matcher {
            tests: tests.to_vec(),
            equals: FxHashMap::default(),
            equal_lengths: (usize::MAX, 0),
            prefixes: Affixes::new(false),
            suffixes: Affixes::new(true),
            pieces: None,
            piece_tests: Vec::new(),
            piece_heads: None,
            piece_tails: None,
            globs: tests
                .iter()
                .map(|test| match test {
                    Test::Like { pattern, .. } => Some(Glob::new(pattern.text.as_bytes())),
                    _ => None,
                })
                .collect(),
            byte_infixes: Vec::new(),
            any_value: Vec::new(),
            ordering: Orderings::new(&ordering),
            blank: Vec::new(),
        };
        let mut pieces: Vec<&str> = Vec::new();
        let mut piece_ids: FxHashMap<&str, usize> = FxHashMap::default();
        let shared = piece_sharing(tests);
        let (mut prefixes, mut suffixes) = (Vec::new(), Vec::new());
        // The literal start and end of each pattern the automaton finds.
        let (mut heads, mut tails) = (Vec::new(), Vec::new());
        for (i, test) in tests.iter().enumerate() {
            let i = i as u32;
            match test {
                Test::Blank { .. } => m.blank.push(i),
                Test::Equals { value, smtp, .. } => {
                    for literal in std::iter::once(value).chain(smtp) {
                        m.equals
                            .entry(hash_folded(literal.as_bytes()))
                            .or_default()
                            .push((i, literal.as_str()));
                        let (shortest, longest) = m.equal_lengths;
                        m.equal_lengths = (shortest.min(literal.len()), longest.max(literal.len()));
                    }
                }
                Test::Like { pattern, .. } if pattern.prefix => {
                    prefixes.push((i, &pattern.text[..pattern.text.len() - 1], true))
                }
                Test::Like { pattern, .. } if pattern.suffix => {
                    suffixes.push((i, &pattern.text[1..], true))
                }
                Test::Like { pattern, .. } if byte_infix(pattern).is_some() => {
                    let byte = byte_infix(pattern).expect("checked");
                    m.byte_infixes.push((byte, i));
                }
                Test::Like { pattern, .. } if end_piece(pattern, &shared).is_some() => {
                    match end_piece(pattern, &shared).expect("checked") {
                        End::Start(literal) => prefixes.push((i, literal, false)),
                        End::End(literal) => suffixes.push((i, literal, false)),
                    }
                }
                Test::Like { pattern, .. } => match anchor_piece(pattern, &shared) {
                    None => m.any_value.push(i),
                    Some(piece) => {
                        let id = *piece_ids.entry(piece).or_insert_with(|| {
                            pieces.push(piece);
                            m.piece_tests.push(Vec::new());
                            pieces.len() - 1
                        });
                        let whole = pattern.pieces.len() == 1
                            && pattern.text.len() == piece.len() + 2
                            && pattern.text.starts_with('*')
                            && pattern.text.ends_with('*');
                        m.piece_tests[id].push((i, whole));
                        let text = pattern.text.as_str();
                        let star = (text.find('*'), text.rfind('*'));
                        let (Some(first), Some(last)) = star else {
                            unreachable!("a pattern with an inner piece has stars")
                        };
                        heads.push((i, &text[..first], true));
                        tails.push((i, &text[last + 1..], true));
                    }
                },
                // Answered together by `ordering`.
                Test::Order(_) => {}
            }
        }
        m.prefixes = Affixes::build(false, &prefixes);
        m.suffixes = Affixes::build(true, &suffixes);
        if !pieces.is_empty() {
            m.pieces = Some(Pieces::build(&pieces));
            let gate = |backwards: bool, literals: &[(u32, &str, bool)]| {
                let all = literals.iter().all(|(_, literal, _)| !literal.is_empty());
                all.then(|| Affixes::build(backwards, literals))
            };
            m.piece_heads = gate(false, &heads);
            m.piece_tails = gate(true, &tails);
        }
        m
    }

    /// Records in `hits` that `row`, holding `values`, satisfies each target
    /// its values hit (tests before negation, and ordering slots).
    fn row<'v>(&self, row: u32, values: &[&'v str], hits: &mut Hits<'v>) {
        let rows = &mut hits.rows[..];
        let mut hit = |t: u32| {
            let list = &mut rows[t as usize];
            if list.last() != Some(&row) {
                list.push(row);
            }
        };
        if values.is_empty() {
            self.blank.iter().for_each(|&t| hit(t));
            return;
        }
        let memo = &mut hits.memo;
        for &value in values {
            if !memo.on {
                hits.scratch.clear();
                self.targets(value, &mut hits.scratch, &mut hits.buffers);
                hits.scratch.iter().for_each(|&t| hit(t));
                continue;
            }
            memo.lookups += 1;
            let (start, end) = match memo.seen.get(value) {
                Some(&range) => range,
                None => {
                    let start = memo.targets.len() as u32;
                    self.targets(value, &mut memo.targets, &mut hits.buffers);
                    let range = (start, memo.targets.len() as u32);
                    memo.seen.insert(value, range);
                    memo.misses += 1;
                    if memo.misses >= MEMO_TRIAL && memo.misses * 2 > memo.lookups {
                        memo.on = false;
                        memo.seen = FxHashMap::default();
                    }
                    range
                }
            };
            memo.targets[start as usize..end as usize]
                .iter()
                .for_each(|&t| hit(t));
            if !memo.on {
                memo.targets = Vec::new();
            }
        }
    }

    /// Appends to `out` the targets one value hits: the tests it satisfies
    /// (before negation, `$null` tests excepted) and its ordering slots,
    /// numbered after the tests.
    fn targets(&self, value: &str, out: &mut Vec<u32>, buffers: &mut Buffers) {
        let first = out.len();
        let Buffers { ends, lowered } = buffers;
        let text = if value.is_ascii() {
            value
        } else {
            lower_into(value, lowered);
            lowered.as_str()
        };
        let bytes = text.as_bytes();
        let (shortest, longest) = self.equal_lengths;
        if (shortest..=longest).contains(&bytes.len()) {
            for &(t, literal) in self.equals.get(&hash_folded(bytes)).into_iter().flatten() {
                if literal.eq_ignore_ascii_case(text) {
                    out.push(t);
                }
            }
        }
        // A pattern the trie or the automaton only gates is verified, once.
        let verify = |t: u32, out: &mut Vec<u32>| {
            if out[first..].contains(&t) {
                return;
            }
            if let Some(glob) = &self.globs[t as usize] {
                if glob.matches(bytes) {
                    out.push(t);
                }
            }
        };
        let mut affix = |t: u32, whole: bool| match whole {
            true => out.push(t),
            false => verify(t, out),
        };
        if !self.prefixes.is_empty() {
            self.prefixes.each_match(bytes, &mut affix);
        }
        if !self.suffixes.is_empty() {
            self.suffixes.each_match(bytes, &mut affix);
        }
        if let Some(pieces) = &self.pieces {
            // Every pattern found here needs its literal start and end (when
            // all have one), so a piece of it lies between them.
            let outer = |trie: &Option<Affixes>| match trie {
                Some(trie) => trie.shortest(bytes),
                None => Some(0),
            };
            let window = match (outer(&self.piece_heads), outer(&self.piece_tails)) {
                (Some(head), Some(tail)) if head + tail <= bytes.len() => {
                    &bytes[head..bytes.len() - tail]
                }
                _ => &[],
            };
            pieces.each_match(window, ends, |piece| {
                for &(t, whole) in &self.piece_tests[piece] {
                    match whole {
                        true if !out[first..].contains(&t) => out.push(t),
                        true => {}
                        false => verify(t, out),
                    }
                }
            });
        }
        if !self.byte_infixes.is_empty() {
            let held = ascii_bytes_held(bytes);
            for &(byte, t) in &self.byte_infixes {
                if held & (1 << byte) != 0 {
                    out.push(t);
                }
            }
        }
        out.extend_from_slice(&self.any_value);
        if !self.ordering.is_empty() {
            let base = self.tests.len();
            self.ordering
                .each_slot(value, bytes, |slot| out.push((base + slot) as u32));
        }
    }

    /// The rows among `rows` that satisfy each test (before negation).
    /// `values_of(range, f)` calls `f(row, values)` for every row of a range, in
    /// order, with the row's values (trimmed, non-empty).
    pub fn scan<'v, F>(&self, rows: Range<usize>, values_of: F) -> Vec<RoaringBitmap>
    where
        F: Fn(Range<usize>, &mut dyn FnMut(usize, &[&'v str])) + Sync,
    {
        let [found] = scan_together([self], rows, |range, f| {
            values_of(range, &mut |row, values| f(row, [values]))
        });
        found
    }

    /// The targets' rows found in the chunks, in one bitmap per test (the
    /// ordering slots answered).
    fn gather(&self, parts: impl Iterator<Item = Vec<RoaringBitmap>>) -> Vec<RoaringBitmap> {
        let mut found = vec![RoaringBitmap::new(); self.target_count()];
        for part in parts {
            for (all, rows) in found.iter_mut().zip(part) {
                if !rows.is_empty() {
                    *all |= rows;
                }
            }
        }
        if !self.ordering.is_empty() {
            let slots = found.split_off(self.tests.len());
            for (t, rows) in self.ordering.answer(&slots) {
                found[t as usize] = rows;
            }
        }
        found
    }

    /// The tests and the ordering slots.
    fn target_count(&self) -> usize {
        self.tests.len() + self.ordering.slot_count()
    }
}

/// [`Matcher::scan`] for several properties read from the same rows in one
/// pass: `values_of(range, f)` calls `f(row, values)` with the row's values of
/// each property, in the matchers' order. The primary address and the
/// EmailAddresses of a mailbox both come from its EmailAddresses cell, which
/// is then split once.
pub fn scan_together<'v, const N: usize, F>(
    matchers: [&Matcher<'_>; N],
    rows: Range<usize>,
    values_of: F,
) -> [Vec<RoaringBitmap>; N]
where
    F: Fn(Range<usize>, &mut dyn FnMut(usize, [&[&'v str]; N])) + Sync,
{
    let mut chunks: Vec<Range<usize>> = Vec::new();
    let mut start = rows.start;
    while start < rows.end {
        let end = ((start / CHUNK + 1) * CHUNK).min(rows.end);
        chunks.push(start..end);
        start = end;
    }
    let parts: Vec<[Vec<RoaringBitmap>; N]> = chunks
        .into_par_iter()
        .map(|chunk| {
            let mut hits: [Hits<'v>; N] = std::array::from_fn(|m| Hits {
                rows: vec![Vec::new(); matchers[m].target_count()],
                memo: Memo::new(),
                scratch: Vec::new(),
                buffers: Buffers::default(),
            });
            values_of(chunk, &mut |row, values| {
                for ((matcher, values), hits) in matchers.iter().zip(values).zip(&mut hits) {
                    matcher.row(row as u32, values, hits);
                }
            });
            hits.map(|hits| hits.rows.iter().map(|rows| container(rows)).collect())
        })
        .collect();
    let mut parts: Vec<std::array::IntoIter<Vec<RoaringBitmap>, N>> =
        parts.into_iter().map(IntoIterator::into_iter).collect();
    std::array::from_fn(|m| {
        let of_matcher = parts
            .iter_mut()
            .map(|part| part.next().expect("one per matcher"));
        matchers[m].gather(of_matcher)
    })
}

/// Ascending rows of one container (one chunk) as a bitmap: many rows are set
/// in a bitset and handed over whole, few are inserted one by one.
fn container(rows: &[u32]) -> RoaringBitmap {
    let (Some(&first), true) = (rows.first(), rows.len() > DENSE) else {
        return RoaringBitmap::from_sorted_iter(rows.iter().copied())
            .expect("a chunk's rows are ascending");
    };
    let mut bits = vec![0u8; CHUNK / 8];
    for &row in rows {
        let i = row as usize % CHUNK;
        bits[i / 8] |= 1 << (i % 8);
    }
    RoaringBitmap::from_lsb0_bytes(first / CHUNK as u32 * CHUNK as u32, &bits)
}

/// The rows that satisfy each test when a row's values are the names of the
/// containers (groups, units) it is a direct member of: `containers` gives
/// each container's name (`None`: it has none, so it is no value) and members.
pub fn scan_containers(
    tests: &[&Test],
    containers: &[(Option<&str>, &RoaringBitmap)],
    rows: &RoaringBitmap,
) -> Vec<RoaringBitmap> {
    let named: Vec<(&str, &RoaringBitmap)> = containers
        .iter()
        .filter_map(|&(name, members)| Some((name?, members)))
        .collect();
    // Which containers each test accepts, by the same matcher as for rows: a
    // container's one value is its name.
    let accepted = Matcher::new(tests).scan(0..named.len(), |range, f| {
        for i in range {
            f(i, &[named[i].0]);
        }
    });
    tests
        .par_iter()
        .zip(accepted)
        .map(|(test, accepted)| {
            let rows_with =
                |which: &mut dyn Iterator<Item = usize>| which.map(|i| named[i].1).union() & rows;
            match test {
                // A row is blank when no named container holds it.
                Test::Blank { .. } => rows - rows_with(&mut (0..named.len())),
                _ => rows_with(&mut accepted.iter().map(|i| i as usize)),
            }
        })
        .collect()
}

/// The literal prefixes (or suffixes, read backwards) of patterns, in a trie
/// over their ASCII-folded bytes: a value's bytes are walked from its start
/// (or end) once, and every node on the way holds the tests whose literal
/// ends there. The walk stops at the first byte no literal continues with, so
/// a value costs about the length of the longest literal it shares a start
/// with, however many literals there are. Chains of nodes without tests are
/// one edge whose label is compared as a slice (literals often share a long
/// domain: `*123@fabrikam.com`).
struct Affixes {
    /// Node 0 is the root (the empty literal).
    nodes: Vec<TrieNode>,
    /// The edges' labels, end to end, in text order (not walk order).
    labels: Vec<u8>,
    backwards: bool,
}

#[derive(Default)]
struct TrieNode {
    /// Per edge, sorted: the label's byte next to this node (its first, or
    /// for a backwards trie its last); and the edges in the same order.
    keys: Vec<u8>,
    edges: Vec<Edge>,
    /// The tests whose literal ends here: `true` when the literal is the
    /// whole pattern (`abc*`), `false` when the pattern goes on and a value
    /// found here is only a candidate to verify (`abc*def`).
    tests: Vec<(u32, bool)>,
}

#[derive(Clone, Copy)]
struct Edge {
    /// The label's place in `labels`.
    start: u32,
    len: u32,
    child: u32,
}

impl Affixes {
    fn new(backwards: bool) -> Affixes {
        Affixes {
            nodes: vec![TrieNode::default()],
            labels: Vec::new(),
            backwards,
        }
    }

    fn is_empty(&self) -> bool {
        self.nodes.len() == 1 && self.nodes[0].tests.is_empty()
    }

    /// Builds the trie of `literals` (test, literal, whether it is the whole
    /// pattern) one byte per edge, then joins the chains.
    fn build(backwards: bool, literals: &[(u32, &str, bool)]) -> Affixes {
        // One node per distinct folded prefix (in walk order): its byte edges.
        let mut edges: Vec<Vec<(u8, usize)>> = vec![Vec::new()];
        let mut tests: Vec<Vec<(u32, bool)>> = vec![Vec::new()];
        for &(test, literal, whole) in literals {
            let mut node = 0;
            let bytes = literal.as_bytes();
            let walk: Box<dyn Iterator<Item = &u8>> = match backwards {
                false => Box::new(bytes.iter()),
                true => Box::new(bytes.iter().rev()),
            };
            for &b in walk {
                let b = b.to_ascii_lowercase();
                node = match edges[node].binary_search_by_key(&b, |e| e.0) {
                    Ok(i) => edges[node][i].1,
                    Err(i) => {
                        edges.push(Vec::new());
                        tests.push(Vec::new());
                        let child = edges.len() - 1;
                        edges[node].insert(i, (b, child));
                        child
                    }
                };
            }
            tests[node].push((test, whole));
        }
        let mut trie = Affixes::new(backwards);
        trie.nodes[0].tests = std::mem::take(&mut tests[0]);
        // (node in the byte trie, node here), from the root down.
        let mut todo = vec![(0usize, 0usize)];
        while let Some((from, to)) = todo.pop() {
            for &(b, mut child) in &edges[from] {
                let mut label = vec![b];
                while tests[child].is_empty() && edges[child].len() == 1 {
                    let (next_byte, next) = edges[child][0];
                    label.push(next_byte);
                    child = next;
                }
                if backwards {
                    label.reverse();
                }
                let edge = Edge {
                    start: trie.labels.len() as u32,
                    len: label.len() as u32,
                    child: trie.nodes.len() as u32,
                };
                trie.labels.extend_from_slice(&label);
                trie.nodes.push(TrieNode {
                    keys: Vec::new(),
                    edges: Vec::new(),
                    tests: std::mem::take(&mut tests[child]),
                });
                trie.nodes[to].keys.push(b);
                trie.nodes[to].edges.push(edge);
                todo.push((child, edge.child as usize));
            }
        }
        trie
    }

    /// Calls `hit` for each test whose literal `value` starts (or ends) with,
    /// ignoring ASCII case, and whether that literal is its whole pattern.
    fn each_match(&self, value: &[u8], mut hit: impl FnMut(u32, bool)) {
        self.descend(value, |tests, _| {
            tests.iter().for_each(|&(t, whole)| hit(t, whole));
            true
        });
    }

    /// The length of the shortest literal `value` starts (or ends) with.
    fn shortest(&self, value: &[u8]) -> Option<usize> {
        let mut shortest = None;
        self.descend(value, |tests, walked| {
            if !tests.is_empty() {
                shortest = Some(walked);
            }
            tests.is_empty()
        });
        shortest
    }

    /// Walks `value` down the trie, calling `at` with the tests of each node
    /// on the way and the bytes walked to it, until the value leaves the trie
    /// or `at` returns `false`.
    fn descend(&self, value: &[u8], mut at: impl FnMut(&[(u32, bool)], usize) -> bool) {
        let mut node = &self.nodes[0];
        // Bytes of the value walked so far.
        let mut walked = 0;
        loop {
            if !at(&node.tests, walked) {
                return;
            }
            let left = value.len() - walked;
            if left == 0 || node.edges.is_empty() {
                return;
            }
            let next = match self.backwards {
                false => value[walked],
                true => value[left - 1],
            };
            let next = next.to_ascii_lowercase();
            // Most nodes have a few edges: a scan beats a binary search.
            let found = match node.keys.len() {
                0..=16 => node.keys.iter().position(|&k| k == next),
                _ => node.keys.binary_search(&next).ok(),
            };
            let Some(i) = found else {
                return;
            };
            let edge = node.edges[i];
            let len = edge.len as usize;
            if len > left {
                return;
            }
            // The byte next to the node matched already.
            if len > 1 {
                let label = &self.labels[edge.start as usize..][..len];
                let part = match self.backwards {
                    false => &value[walked..walked + len],
                    true => &value[left - len..left],
                };
                if !eq_ignore_ascii_case_words(part, label) {
                    return;
                }
            }
            walked += len;
            node = &self.nodes[edge.child as usize];
        }
    }
}

/// The anchor pieces of a property's patterns in one Aho-Corasick automaton
/// (ASCII case-insensitive), stepped by hand a byte at a time: values are
/// short, and most hold several pieces, so the library's overlapping search,
/// which returns to its caller once per match and restarts from a saved
/// state, cost more than the walk itself. A table-driven DFA when the pieces
/// are few enough for its table, the contiguous NFA otherwise.
enum Pieces {
    Dfa(dfa::DFA, StateID),
    Nfa(contiguous::NFA, StateID),
}

/// Above this many bytes of pieces, the DFA's table (a row of state ids per
/// state and byte class) would outgrow the caches it is fast in.
const DFA_PIECE_BYTES: usize = 20_000;

impl Pieces {
    fn build(pieces: &[&str]) -> Pieces {
        const BUILT: &str = "short literals always build an automaton";
        // Configured once; the faster forms are made from it.
        let trie = noncontiguous::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(pieces)
            .expect(BUILT);
        let bytes: usize = pieces.iter().map(|p| p.len()).sum();
        if bytes <= DFA_PIECE_BYTES {
            let dfa = dfa::Builder::new()
                .build_from_noncontiguous(&trie)
                .expect(BUILT);
            let start = dfa.start_state(Anchored::No).expect(BUILT);
            Pieces::Dfa(dfa, start)
        } else {
            let nfa = contiguous::Builder::new()
                .build_from_noncontiguous(&trie)
                .expect(BUILT);
            let start = nfa.start_state(Anchored::No).expect(BUILT);
            Pieces::Nfa(nfa, start)
        }
    }

    /// Calls `found` with the index of each piece `value` holds, overlapping
    /// ones included (a piece held in several places may come more than once).
    fn each_match(&self, value: &[u8], ends: &mut Vec<StateID>, mut found: impl FnMut(usize)) {
        ends.clear();
        match self {
            Pieces::Dfa(dfa, start) => {
                walk(dfa, *start, value, ends);
                each_piece(dfa, ends, &mut found);
            }
            Pieces::Nfa(nfa, start) => {
                walk(nfa, *start, value, ends);
                each_piece(nfa, ends, &mut found);
            }
        }
    }
}

/// Appends to `ends` the state after each byte of `value` that ends a piece.
/// Kept apart from what is done with the pieces, so the state stays in a
/// register: the walk is a chain of dependent table loads, and little else.
#[inline(never)]
fn walk<A: Automaton>(automaton: &A, start: StateID, value: &[u8], ends: &mut Vec<StateID>) {
    let mut state = start;
    for &b in value {
        state = automaton.next_state(Anchored::No, state, b);
        if automaton.is_match(state) {
            ends.push(state);
        }
    }
}

/// The pieces of each distinct state in `ends` (a piece the value holds many
/// times, `e`, is handed over once per state it ends in, not per place).
fn each_piece<A: Automaton>(automaton: &A, ends: &mut Vec<StateID>, found: &mut impl FnMut(usize)) {
    if ends.len() > 1 {
        ends.sort_unstable();
        ends.dedup();
    }
    for &state in ends.iter() {
        for i in 0..automaton.match_len(state) {
            found(automaton.match_pattern(state, i).as_usize());
        }
    }
}

/// In how many of the `-like` tests of one property each literal piece occurs
/// (case-folded, once per test).
fn piece_sharing(tests: &[&Test]) -> FxHashMap<String, usize> {
    let mut shared: FxHashMap<String, usize> = FxHashMap::default();
    for test in tests {
        if let Test::Like { pattern, .. } = test {
            let mut seen: Vec<String> = pattern.pieces.iter().map(|p| p.to_lowercase()).collect();
            seen.sort_unstable();
            seen.dedup();
            for piece in seen {
                *shared.entry(piece).or_default() += 1;
            }
        }
    }
    shared
}

/// The literal a pattern anchored at its start or end begins or ends with.
enum End<'p> {
    Start(&'p str),
    End(&'p str),
}

/// How a literal piece ranks as the way to find a pattern's candidates:
/// the fewer `-like` tests of the property share it, the fewer tests each
/// value holding it is verified against; then the longer, the fewer values
/// hold it. Lower is better.
fn piece_rank(piece: &str, shared: &FxHashMap<String, usize>) -> (usize, std::cmp::Reverse<usize>) {
    let n = shared.get(&piece.to_lowercase()).copied().unwrap_or(0);
    (n, std::cmp::Reverse(piece.len()))
}

/// For a pattern with a literal start or end (`abc*def`, `abc*x*`,
/// `*x*def`), that literal when it ranks no worse than every other piece
/// ([`piece_rank`]): its candidates are then found by a trie walk, cheaper
/// than the automaton's pass. `None` when both ends are stars, or when an
/// inner piece is the better way (`smtp:*123*@fabrikam.com`, whose ends
/// every pattern of the property shares, is found by `123`).
fn end_piece<'p>(pattern: &'p Pattern, shared: &FxHashMap<String, usize>) -> Option<End<'p>> {
    let text = pattern.text.as_str();
    let start = &text[..text.find('*').unwrap_or(text.len())];
    let end = &text[text.rfind('*').map_or(0, |star| star + 1)..];
    let ends = [(start, End::Start(start)), (end, End::End(end))];
    let (literal, best) = ends
        .into_iter()
        .filter(|(literal, _)| !literal.is_empty())
        .min_by_key(|(literal, _)| piece_rank(literal, shared))?;
    let inner = anchor_piece(pattern, shared).map(|p| piece_rank(p, shared));
    (inner.is_none_or(|inner| piece_rank(literal, shared) <= inner)).then_some(best)
}

/// The byte of a pattern that is one ASCII byte anywhere (`*a*`; patterns
/// are lower-cased when planned).
fn byte_infix(pattern: &Pattern) -> Option<u8> {
    match pattern.text.as_bytes() {
        [b'*', byte, b'*'] if byte.is_ascii() && *byte != b'*' => Some(*byte),
        _ => None,
    }
}

/// The ASCII bytes of `value`, folded, as a set: bit `b` for byte `b`.
fn ascii_bytes_held(value: &[u8]) -> u128 {
    value
        .iter()
        .filter(|b| b.is_ascii())
        .fold(0, |held, b| held | 1 << b.to_ascii_lowercase())
}

/// The literal piece whose occurrences in a value make it a candidate for
/// `pattern`: the best ranked ([`piece_rank`]). The automaton only has to be
/// selective. A piece many patterns share (a domain, `smtp:`) is a piece many
/// values share, so the least shared piece wins, then the longest:
/// `smtp:*123*@fabrikam.com` is found by `123`, not by the domain every
/// fabrikam address holds.
fn anchor_piece<'p>(pattern: &'p Pattern, shared: &FxHashMap<String, usize>) -> Option<&'p str> {
    pattern
        .pieces
        .iter()
        .min_by_key(|p| piece_rank(p, shared))
        .map(String::as_str)
}

/// A hash of text that is equal for two texts equal ignoring ASCII case:
/// every byte has its 0x20 bit set (which is what ASCII lower-casing changes,
/// so case variants agree; other bytes may collide, and a probe is verified),
/// then the text is mixed eight bytes at a time. Values run to a few hundred
/// bytes (X500 proxies), so a byte at a time would cost more than the probe.
fn hash_folded(bytes: &[u8]) -> u64 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes")) | FOLD;
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ (u64::from_le_bytes(last) | FOLD)).wrapping_mul(K);
    }
    let z = h ^ (h >> 31);
    let z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 29)
}

/// A lower-cased `*` pattern cut at its stars once, for the many values it is
/// verified against: the literal it starts with, the pieces between stars,
/// and the literal it ends with (`None` without a star: the whole value).
struct Glob<'p> {
    head: &'p [u8],
    middle: Vec<&'p [u8]>,
    tail: Option<&'p [u8]>,
}

impl<'p> Glob<'p> {
    fn new(pattern: &'p [u8]) -> Glob<'p> {
        let mut parts = pattern.split(|&b| b == b'*');
        let head = parts.next().unwrap_or_default();
        let mut middle: Vec<&[u8]> = parts.collect();
        let tail = middle.pop();
        middle.retain(|p| !p.is_empty());
        Glob { head, middle, tail }
    }

    /// Whether a value (lower-cased, or ASCII in any case) matches the whole
    /// pattern. Each middle piece is found leftmost between the head and the
    /// tail, which is enough for `*` patterns.
    fn matches(&self, value: &[u8]) -> bool {
        let head = self.head;
        let Some(tail) = self.tail else {
            return value.eq_ignore_ascii_case(head);
        };
        if value.len() < head.len() + tail.len()
            || !value[..head.len()].eq_ignore_ascii_case(head)
            || !value[value.len() - tail.len()..].eq_ignore_ascii_case(tail)
        {
            return false;
        }
        let mut rest = &value[head.len()..value.len() - tail.len()];
        for part in &self.middle {
            match find_folded(rest, part) {
                Some(i) => rest = &rest[i + part.len()..],
                None => return false,
            }
        }
        true
    }
}

fn find_folded(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    let first = needle[0].to_ascii_lowercase();
    haystack
        .windows(needle.len())
        .position(|w| w[0].to_ascii_lowercase() == first && w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::ast::Op;
    use crate::filter::leaf::Pattern;
    use crate::filter::value::wildcard_match;

    fn equals(value: &str, negate: bool) -> Test {
        Test::Equals {
            value: value.into(),
            smtp: None,
            negate,
        }
    }

    fn like(pattern: &str) -> Test {
        Test::Like {
            pattern: Pattern::new(pattern),
            negate: false,
        }
    }

    fn likes(patterns: &[&str]) -> Vec<Test> {
        patterns
            .iter()
            .map(|p| Test::Like {
                pattern: Pattern::new(p),
                negate: false,
            })
            .collect()
    }

    #[test]
    fn the_anchor_is_the_least_shared_piece_then_the_longest() {
        let patterns = [
            "smtp:*123*@fabrikam.com",
            "smtp:*456*@fabrikam.com",
            "*ab*abcd*",
        ];
        let tests = likes(&patterns);
        let refs: Vec<&Test> = tests.iter().collect();
        let shared = piece_sharing(&refs);
        let anchor = |i: usize| match &tests[i] {
            Test::Like { pattern, .. } => anchor_piece(pattern, &shared),
            _ => unreachable!(),
        };
        assert_eq!(anchor(0), Some("123"));
        assert_eq!(anchor(1), Some("456"));
        assert_eq!(anchor(2), Some("abcd"));
    }

    #[test]
    fn a_literal_end_gates_only_when_no_inner_piece_is_rarer() {
        let patterns = [
            "smtp:*123*@fabrikam.com",
            "smtp:*456*@fabrikam.com",
            "u0086*@contoso.com",
            "u0087*@contoso.com",
            "ivan*eriksen",
            "*ab*cd*",
        ];
        let tests = likes(&patterns);
        let refs: Vec<&Test> = tests.iter().collect();
        let shared = piece_sharing(&refs);
        let end = |i: usize| match &tests[i] {
            Test::Like { pattern, .. } => match end_piece(pattern, &shared) {
                None => None,
                Some(End::Start(s)) => Some(("start", s)),
                Some(End::End(e)) => Some(("end", e)),
            },
            _ => unreachable!(),
        };
        // Both ends are shared by every address pattern: the automaton's `123`.
        assert_eq!(end(0), None);
        assert_eq!(end(2), Some(("start", "u0086")));
        // Equally rare ends: the longer.
        assert_eq!(end(4), Some(("end", "eriksen")));
        assert_eq!(end(5), None);
    }

    /// Enough rows to cross chunk boundaries, to fill a container densely, and
    /// to make the memo give up on a column of distinct values half-way through
    /// a chunk, while repeated values keep hitting it; every test must still
    /// equal the reference row by row.
    #[test]
    fn chunks_dense_rows_and_the_memo_agree_with_the_reference() {
        let rows: Vec<Vec<String>> = (0..150_000u32)
            .map(|r| match r % 7 {
                0 => Vec::new(),
                1 | 2 => vec!["Sales".to_string()],
                3 => vec![format!("U{r:07}@Contoso.com"), "SALES".to_string()],
                4 if r > 70_000 => vec![format!("{}", r % 1000)],
                _ => vec![format!("u{r:07}"), format!("Müller{}", r % 3)],
            })
            .collect();
        let tests: Vec<Test> = vec![
            Test::Blank { negate: false },
            equals("sales", false),
            equals("müller1", true),
            like("u00*"),
            like("*@contoso.com"),
            like("*12*"),
            like("u*1*3"),
            Test::Order(OrderingTest::new(Op::Lt, "500")),
            Test::Order(OrderingTest::new(Op::Ge, "u0100000")),
        ];
        let refs: Vec<&Test> = tests.iter().collect();
        // Rows from 1,000 on: the first chunk starts off a container boundary.
        let found = Matcher::new(&refs).scan(1_000..rows.len(), |range, f| {
            for r in range {
                let values: Vec<&str> = rows[r].iter().map(String::as_str).collect();
                f(r, &values);
            }
        });
        for (test, bitmap) in tests.iter().zip(found) {
            let expected: Vec<u32> = (1_000..rows.len() as u32)
                .filter(|&r| {
                    let values = rows[r as usize].iter().map(String::as_str);
                    test.holds(values) != test.negated()
                })
                .collect();
            assert!(
                bitmap.iter().eq(expected.iter().copied()),
                "{test:?}: {} rows, expected {}",
                bitmap.len(),
                expected.len()
            );
        }
    }

    #[test]
    fn folded_wildcard_agrees_with_the_reference() {
        let values = ["", "a", "Abc", "ABCABC", "xyzabc", "Müller", "mü", "a*b"];
        let patterns = ["*", "a*", "*c", "a*c", "*b*", "ab*ab", "m*r", "mü*", "*ü*"];
        for p in patterns {
            for v in values {
                assert_eq!(
                    Glob::new(p.as_bytes()).matches(v.to_lowercase().as_bytes()),
                    wildcard_match(p, &v.to_lowercase()),
                    "{p} ~ {v}"
                );
                if v.is_ascii() {
                    // ASCII values are matched as written, in any case.
                    assert_eq!(
                        Glob::new(p.as_bytes()).matches(v.as_bytes()),
                        wildcard_match(p, &v.to_lowercase()),
                        "{p} ~ {v} as written"
                    );
                }
            }
        }
    }

    #[test]
    fn one_pass_answers_every_shape_like_the_reference() {
        let rows: Vec<Vec<&str>> = vec![
            vec!["Sales"],
            vec!["sales-emea", "Finance"],
            vec![],
            vec!["Presales"],
            vec!["MÜLLER", "12"],
            vec!["9", "2020-01-01"],
            vec!["Sales-EMEA"],
            vec!["s", "ss"],
        ];
        let tests: Vec<Test> = [
            Test::Blank { negate: false },
            equals("sales", false),
            equals("müller", true),
            Test::Like {
                pattern: Pattern::new("sales*"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("s*"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("*sales"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("*a*e*"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("*"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("mü*"),
                negate: false,
            },
            // Gated by their literal start or end in the tries, then verified.
            Test::Like {
                pattern: Pattern::new("s*s"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("sales*e*a"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("*e*s"),
                negate: true,
            },
            Test::Like {
                pattern: Pattern::new("m*er"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("sa*"),
                negate: false,
            },
            Test::Like {
                pattern: Pattern::new("presales"),
                negate: false,
            },
            Test::Order(OrderingTest::new(Op::Lt, "10")),
            Test::Order(OrderingTest::new(Op::Ge, "2019-12-31")),
            Test::Order(OrderingTest::new(Op::Gt, "r")),
        ]
        .into();
        agrees_with_the_reference(&tests, &rows);
    }

    /// Scans `rows` for `tests` in one pass and checks each test's rows
    /// against [`Test::holds`], row by row.
    fn agrees_with_the_reference(tests: &[Test], rows: &[Vec<&str>]) {
        let refs: Vec<&Test> = tests.iter().collect();
        let found = Matcher::new(&refs).scan(0..rows.len(), |range, f| {
            for r in range {
                f(r, &rows[r]);
            }
        });
        for (test, bitmap) in tests.iter().zip(found) {
            let expected: Vec<u32> = (0..rows.len() as u32)
                .filter(|&r| test.holds(rows[r as usize].iter().copied()) != test.negated())
                .collect();
            assert_eq!(bitmap.iter().collect::<Vec<_>>(), expected, "{test:?}");
        }
    }

    /// Broad patterns of one byte (`*a*`) beside longer ones, over values in
    /// any case, non-ASCII ones whose lower case holds ASCII letters (the
    /// Kelvin sign, `İ`), and ones without letters.
    #[test]
    fn one_byte_anywhere_agrees_with_the_reference() {
        let rows: Vec<Vec<&str>> = vec![
            vec!["Siobhán Schröder 000000"],
            vec!["LUKAS"],
            vec!["\u{212A}elvin"],
            vec!["İpek"],
            vec!["12@x.com", "-"],
            vec![],
            vec!["Ærø", "zz"],
        ];
        let like = |p: &str, negate: bool| Test::Like {
            pattern: Pattern::new(p),
            negate,
        };
        let tests: Vec<Test> = vec![
            like("*a*", false),
            like("*k*", false),
            like("*i*", true),
            like("*.*", false),
            like("*@*", false),
            like("*-*", false),
            like("*z*", false),
            like("*ø*", false),
            like("*ar*", false),
            like("*A*", false),
        ];
        agrees_with_the_reference(&tests, &rows);
        let refs: Vec<&Test> = tests.iter().collect();
        let matcher = Matcher::new(&refs);
        assert_eq!(
            matcher.byte_infixes.len(),
            8,
            "one-byte patterns take the byte set"
        );
    }

    /// Random values and patterns over a small alphabet, so pieces, literal
    /// starts and ends overlap and repeat: in sets where every pattern the
    /// automaton finds has a literal start and end (the search window is
    /// cut to what lies between), where only some have, and with enough long
    /// pieces for the automaton to be the NFA instead of the DFA.
    #[test]
    fn searched_windows_and_both_automata_agree_with_the_reference() {
        let mut rng = crate::generate::Rng::new(5);
        // A word of `min..min + spread` letters.
        let word = |rng: &mut crate::generate::Rng, min: u64, spread: u64| -> String {
            let len = min + rng.below(spread);
            (0..len)
                .map(|_| ["a", "B", "@", ".", "ü"][rng.below(5) as usize])
                .collect()
        };
        let values: Vec<String> = (0..3_000).map(|_| word(&mut rng, 0, 12)).collect();
        // (pattern count, whether a pattern may lack a literal start, end;
        // length of the inner pieces)
        let sets = [
            (40, false, false, 1..3),
            (40, true, false, 1..3),
            (40, false, true, 1..4),
        ];
        let mut long = Vec::new();
        for (count, bare_head, bare_tail, piece) in
            sets.into_iter().chain([(1_200, true, true, 18..22)])
        {
            let patterns: Vec<String> = (0..count)
                .map(|_| {
                    let mut p = String::new();
                    if !bare_head || rng.below(2) == 0 {
                        p += &word(&mut rng, 1, 2);
                    }
                    for _ in 0..1 + rng.below(2) {
                        p += "*";
                        p += &word(&mut rng, piece.start, piece.end - piece.start);
                    }
                    p += "*";
                    if !bare_tail || rng.below(2) == 0 {
                        p += &word(&mut rng, 1, 2);
                    }
                    p
                })
                .collect();
            // Literals are lower-cased when planned; values keep their case.
            let tests: Vec<Test> = patterns.iter().map(|p| like(&p.to_lowercase())).collect();
            let refs: Vec<&Test> = tests.iter().collect();
            let matcher = Matcher::new(&refs);
            let gated = matcher.piece_heads.is_some() || matcher.piece_tails.is_some();
            assert_eq!(gated, !(bare_head && bare_tail), "{patterns:?}");
            if count > 1_000 {
                long.push(matches!(matcher.pieces, Some(Pieces::Nfa(..))));
            }
            let found = matcher.scan(0..values.len(), |range, f| {
                for r in range {
                    f(r, &[values[r].as_str()]);
                }
            });
            for (test, bitmap) in tests.iter().zip(found) {
                let expected: Vec<u32> = (0..values.len() as u32)
                    .filter(|&r| test.holds([values[r as usize].as_str()]))
                    .collect();
                assert_eq!(bitmap.iter().collect::<Vec<_>>(), expected, "{test:?}");
            }
        }
        assert_eq!(long, [true], "the long pieces are found by the NFA");
    }

    #[test]
    fn containers_answer_by_their_names() {
        let a: RoaringBitmap = [0, 1].into_iter().collect();
        let b: RoaringBitmap = [1, 2].into_iter().collect();
        let c: RoaringBitmap = [3].into_iter().collect();
        let containers = [(Some("CN=A,DC=x"), &a), (Some("CN=B,DC=x"), &b), (None, &c)];
        let tests = [
            equals("cn=b,dc=x", false),
            Test::Like {
                pattern: Pattern::new("cn=*"),
                negate: false,
            },
            Test::Blank { negate: false },
        ];
        let refs: Vec<&Test> = tests.iter().collect();
        let all: RoaringBitmap = (0..5).collect();
        let found = scan_containers(&refs, &containers, &all);
        let rows = |b: &RoaringBitmap| b.iter().collect::<Vec<_>>();
        assert_eq!(rows(&found[0]), [1, 2]);
        assert_eq!(rows(&found[1]), [0, 1, 2]);
        assert_eq!(rows(&found[2]), [3, 4]);
    }
}
