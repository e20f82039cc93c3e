//! Inverted indexes over mailbox properties, in compressed-sparse-row form.
//!
//! Each property gets its distinct lower-cased values, sorted, with the rows that
//! hold each value (`value → rows`), and for every row the value ids it holds
//! (`row → values`). The first turns a set of values into a bitmap; the second
//! tests single rows cheaply, which `-and` uses once its candidate set is small.
//! Building borrows the table's strings and lower-cases only distinct values, so
//! a million rows cost a hash lookup each, not an allocation each.

use std::borrow::Cow;
use std::sync::OnceLock;

use rayon::prelude::*;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use super::ast::Op;
use super::value::{lower, OrderingTest};

/// Value id marker for "no such value".
const NONE: u32 = u32::MAX;

/// The index of one property over all mailboxes.
#[derive(Debug, Default)]
pub struct ValueIndex<'s> {
    /// Distinct lower-cased values, sorted; borrowed from the table when the
    /// text is lower-case already.
    values: Vec<Cow<'s, str>>,
    /// Rows of value `i`: `rows[offsets[i]..offsets[i + 1]]`, ascending.
    offsets: Vec<u32>,
    rows: Vec<u32>,
    /// Value ids of row `r`: `row_ids[row_offsets[r]..row_offsets[r + 1]]`.
    row_offsets: Vec<u32>,
    row_ids: Vec<u32>,
    blank: OnceLock<RoaringBitmap>,
    numbers: OnceLock<Vec<Option<f64>>>,
    dates: OnceLock<Vec<Option<i64>>>,
}

impl<'s> ValueIndex<'s> {
    /// Builds an index of `n` rows; `values_of(row, out)` pushes the row's values
    /// (already trimmed and non-empty) onto `out`.
    pub fn build(n: usize, mut values_of: impl FnMut(usize, &mut Vec<&'s str>)) -> ValueIndex<'s> {
        // Pass 1: distinct raw values (borrowed) and each row's raw ids. A sample
        // of rows says whether the column is mostly distinct, to size the map once.
        let mut sample = Vec::new();
        let sampled: std::collections::HashSet<&str> = (0..n.min(2048))
            .flat_map(|row| {
                sample.clear();
                values_of(row, &mut sample);
                sample.clone()
            })
            .collect();
        // A mostly distinct column (dates, addresses) skips the map: every value
        // gets its own raw id, and the sort of pass 2 merges repeats as it merges
        // case variants.
        let mostly_distinct = sampled.len() * 2 > n.min(2048);
        let mut raw_ids: FxHashMap<&'s str, u32> = FxHashMap::default();
        let mut raw_values: Vec<&'s str> = Vec::new();
        let mut row_offsets = Vec::with_capacity(n + 1);
        let mut row_ids = Vec::with_capacity(n);
        let mut scratch = Vec::new();
        row_offsets.push(0u32);
        for row in 0..n {
            scratch.clear();
            values_of(row, &mut scratch);
            for &v in &scratch {
                let id = if mostly_distinct {
                    raw_values.push(v);
                    (raw_values.len() - 1) as u32
                } else {
                    *raw_ids.entry(v).or_insert_with(|| {
                        raw_values.push(v);
                        (raw_values.len() - 1) as u32
                    })
                };
                row_ids.push(id);
            }
            row_offsets.push(row_ids.len() as u32);
        }

        // Pass 2: lower-case the distinct values, merge case variants, sort.
        let lowered: Vec<Cow<'s, str>> = raw_values.par_iter().map(|&v| lower(v)).collect();
        let mut order: Vec<u32> = (0..lowered.len() as u32).collect();
        order.par_sort_unstable_by(|&a, &b| lowered[a as usize].cmp(&lowered[b as usize]));
        let mut raw_to_final = vec![0u32; lowered.len()];
        let mut values: Vec<Cow<'s, str>> = Vec::with_capacity(lowered.len());
        for &raw in &order {
            let text = &lowered[raw as usize];
            if values.last().is_none_or(|last| **last != **text) {
                values.push(text.clone());
            }
            raw_to_final[raw as usize] = (values.len() - 1) as u32;
        }
        drop(lowered);
        for id in &mut row_ids {
            *id = raw_to_final[*id as usize];
        }
        // A row holding two case variants of one value holds it once.
        dedup_row_ids(&row_offsets, &mut row_ids);
        let row_offsets = compact_offsets(row_offsets, &row_ids);
        let row_ids: Vec<u32> = row_ids.into_iter().filter(|&id| id != NONE).collect();

        // Pass 3: value → rows by counting sort; rows come out ascending.
        let mut offsets = vec![0u32; values.len() + 1];
        for &id in &row_ids {
            offsets[id as usize + 1] += 1;
        }
        for i in 0..values.len() {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut rows = vec![0u32; row_ids.len()];
        for row in 0..n {
            for &id in &row_ids[row_offsets[row] as usize..row_offsets[row + 1] as usize] {
                rows[next[id as usize] as usize] = row as u32;
                next[id as usize] += 1;
            }
        }
        ValueIndex {
            values,
            offsets,
            rows,
            row_offsets,
            row_ids,
            ..ValueIndex::default()
        }
    }

    /// Number of rows indexed.
    pub fn row_count(&self) -> usize {
        self.row_offsets.len() - 1
    }

    /// The id of a lower-cased value.
    pub fn id_of(&self, lower: &str) -> Option<u32> {
        self.values
            .binary_search_by(|v| (**v).cmp(lower))
            .ok()
            .map(|i| i as u32)
    }

    /// The ids of values starting with a lower-cased prefix, as a range.
    pub fn prefix_range(&self, prefix: &str) -> (u32, u32) {
        let from = self.values.partition_point(|v| &**v < prefix);
        let to = from + self.values[from..].partition_point(|v| v.starts_with(prefix));
        (from as u32, to as u32)
    }

    pub fn value(&self, id: u32) -> &str {
        &self.values[id as usize]
    }

    /// How many rows hold value `id`.
    pub fn postings_len(&self, id: u32) -> u64 {
        u64::from(self.offsets[id as usize + 1] - self.offsets[id as usize])
    }

    /// The value ids a row holds.
    pub fn ids_of_row(&self, row: u32) -> &[u32] {
        &self.row_ids
            [self.row_offsets[row as usize] as usize..self.row_offsets[row as usize + 1] as usize]
    }

    /// Rows with no value.
    pub fn blank(&self) -> &RoaringBitmap {
        self.blank.get_or_init(|| {
            RoaringBitmap::from_sorted_iter(
                (0..self.row_count() as u32).filter(|&r| self.ids_of_row(r).is_empty()),
            )
            .expect("ascending")
        })
    }

    /// Rows holding any of the given values.
    pub fn rows_of(&self, ids: &IdSet) -> RoaringBitmap {
        let slice = |id: u32| {
            &self.rows[self.offsets[id as usize] as usize..self.offsets[id as usize + 1] as usize]
        };
        match ids {
            IdSet::Few(v) if v.is_empty() => RoaringBitmap::new(),
            IdSet::Few(v) if v.len() == 1 => {
                RoaringBitmap::from_sorted_iter(slice(v[0]).iter().copied()).expect("ascending")
            }
            _ => {
                let total: u64 = self.ids(ids).map(|id| self.postings_len(id)).sum();
                let n = self.row_count();
                if total as usize > n / 32 {
                    // Dense: mark rows in a bitset, then build the bitmap from its bytes.
                    let mut bits = vec![0u8; n.div_ceil(8)];
                    for id in self.ids(ids) {
                        for &r in slice(id) {
                            bits[r as usize / 8] |= 1 << (r % 8);
                        }
                    }
                    RoaringBitmap::from_lsb0_bytes(0, &bits)
                } else {
                    let mut rows: Vec<u32> = Vec::with_capacity(total as usize);
                    for id in self.ids(ids) {
                        rows.extend_from_slice(slice(id));
                    }
                    rows.sort_unstable();
                    rows.dedup();
                    RoaringBitmap::from_sorted_iter(rows).expect("ascending")
                }
            }
        }
    }

    /// The value ids satisfying an ordering comparison with `literal`
    /// (lower-cased): numeric when both sides are numbers, by date when both are
    /// dates, else by text. Tested per id on demand, never materialised.
    pub fn ordering_ids(&self, op: Op, literal: &str) -> IdSet {
        let test = OrderingTest::new(op, literal);
        if test.is_typed() {
            self.prepare_typed_keys();
        }
        IdSet::Ordering(Box::new(test))
    }

    /// Whether value `id` satisfies an ordering test.
    fn ordering_holds_for(&self, test: &OrderingTest, id: u32) -> bool {
        let i = id as usize;
        test.holds(&self.values[i], self.numbers()[i], self.dates()[i])
    }

    /// The value ids whose text satisfies `pred`.
    pub fn matching_ids(&self, pred: impl Fn(&str) -> bool) -> IdSet {
        let mut bits = vec![0u64; self.values.len().div_ceil(64)];
        for (id, value) in self.values.iter().enumerate() {
            if pred(value) {
                bits[id / 64] |= 1 << (id % 64);
            }
        }
        IdSet::Bits(bits)
    }

    /// Parses every value as a number and as a date now rather than on first use.
    pub fn prepare_typed_keys(&self) {
        rayon::join(|| self.numbers(), || self.dates());
    }

    fn numbers(&self) -> &[Option<f64>] {
        self.numbers.get_or_init(|| {
            self.values
                .par_iter()
                .map(|v| super::value::parse_number(v))
                .collect()
        })
    }

    fn dates(&self) -> &[Option<i64>] {
        self.dates.get_or_init(|| {
            self.values
                .par_iter()
                .map(|v| super::value::parse_date(v))
                .collect()
        })
    }
}

/// Removes repeated ids within each row (marking them `NONE`).
fn dedup_row_ids(row_offsets: &[u32], row_ids: &mut [u32]) {
    for w in row_offsets.windows(2) {
        let ids = &mut row_ids[w[0] as usize..w[1] as usize];
        if ids.len() > 1 {
            ids.sort_unstable();
            for i in 1..ids.len() {
                if ids[i] == ids[i - 1] {
                    ids[i - 1] = NONE;
                }
            }
        }
    }
}

/// Recomputes row offsets after `NONE` entries are dropped.
fn compact_offsets(mut row_offsets: Vec<u32>, row_ids: &[u32]) -> Vec<u32> {
    if !row_ids.contains(&NONE) {
        return row_offsets;
    }
    let mut kept = 0u32;
    let mut start = 0usize;
    for offset in row_offsets.iter_mut().skip(1) {
        let end = *offset as usize;
        kept += row_ids[start..end].iter().filter(|&&id| id != NONE).count() as u32;
        start = end;
        *offset = kept;
    }
    row_offsets
}

/// The keys of a single-valued property row by row, for ordering comparisons:
/// no dictionary and no sort, which for a column of a million distinct dates is
/// most of what an inverted index would cost.
#[derive(Debug)]
pub struct RowKeys<'s> {
    text: Vec<Option<&'s str>>,
    numbers: Vec<Option<f64>>,
    dates: Vec<Option<i64>>,
}

impl<'s> RowKeys<'s> {
    /// `value_of(row)` is the row's trimmed, non-blank value.
    pub fn build(n: usize, value_of: impl Fn(usize) -> Option<&'s str> + Sync) -> RowKeys<'s> {
        let text: Vec<Option<&'s str>> = (0..n).into_par_iter().map(&value_of).collect();
        let (numbers, dates) = rayon::join(
            || {
                text.par_iter()
                    .map(|t| t.and_then(super::value::parse_number))
                    .collect()
            },
            || {
                text.par_iter()
                    .map(|t| t.and_then(super::value::parse_date))
                    .collect()
            },
        );
        RowKeys {
            text,
            numbers,
            dates,
        }
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Whether a row's value satisfies the test; a blank never does.
    pub fn holds(&self, test: &OrderingTest, row: u32) -> bool {
        let r = row as usize;
        self.text[r].is_some_and(|text| test.holds(text, self.numbers[r], self.dates[r]))
    }

    /// Every row satisfying the test.
    pub fn rows(&self, test: &OrderingTest) -> RoaringBitmap {
        RoaringBitmap::from_sorted_iter((0..self.len() as u32).filter(|&r| self.holds(test, r)))
            .expect("ascending")
    }
}

/// A set of value ids of one index.
#[derive(Debug, Clone, PartialEq)]
pub enum IdSet {
    /// A few ids, sorted.
    Few(Vec<u32>),
    /// A contiguous range `from..to` (a `-like 'prefix*'`).
    Range(u32, u32),
    /// A bitset over all ids.
    Bits(Vec<u64>),
    /// The ids satisfying an ordering comparison.
    Ordering(Box<OrderingTest>),
}

impl ValueIndex<'_> {
    /// Whether the set holds value `id`.
    pub fn contains(&self, ids: &IdSet, id: u32) -> bool {
        match ids {
            IdSet::Few(v) => v.contains(&id),
            IdSet::Range(a, b) => (*a..*b).contains(&id),
            IdSet::Bits(bits) => bits[id as usize / 64] & (1 << (id % 64)) != 0,
            IdSet::Ordering(test) => self.ordering_holds_for(test, id),
        }
    }

    /// The ids in the set, ascending.
    pub fn ids<'a>(&'a self, ids: &'a IdSet) -> Box<dyn Iterator<Item = u32> + 'a> {
        let n = self.values.len() as u32;
        match ids {
            IdSet::Few(v) => Box::new(v.iter().copied()),
            IdSet::Range(a, b) => Box::new(*a..*b),
            _ => Box::new((0..n).filter(move |&id| self.contains(ids, id))),
        }
    }

    /// Rows holding the set's values, estimated where counting would cost a scan.
    pub fn estimate_rows(&self, ids: &IdSet) -> u64 {
        match ids {
            IdSet::Ordering(_) => self.row_count() as u64 / 3,
            _ => self
                .ids(ids)
                .map(|id| self.postings_len(id))
                .sum::<u64>()
                .min(self.row_count() as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(rows: &[&[&'static str]]) -> ValueIndex<'static> {
        ValueIndex::build(rows.len(), |r, out| out.extend_from_slice(rows[r]))
    }

    #[test]
    fn values_are_lower_cased_merged_and_sorted() {
        let i = index(&[&["Sales"], &["sales", "SALES"], &[], &["HR"]]);
        assert_eq!(
            i.values.iter().map(|v| &**v).collect::<Vec<_>>(),
            ["hr", "sales"]
        );
        assert_eq!(i.ids_of_row(1), [1]);
        assert!(i.ids_of_row(2).is_empty());
        assert_eq!(
            i.rows_of(&IdSet::Few(vec![1])).iter().collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(i.blank().iter().collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn mostly_distinct_columns_merge_repeats_and_case_variants_without_a_map() {
        let data: Vec<String> = (0..5000)
            .map(|r| match r % 1000 {
                0 => "Same".to_string(),
                500 => "SAME".to_string(),
                _ => format!("v{r}"),
            })
            .collect();
        let i = ValueIndex::build(data.len(), |r, out| out.push(data[r].as_str()));
        let same = i.id_of("same").unwrap();
        let rows: Vec<u32> = i.rows_of(&IdSet::Few(vec![same])).iter().collect();
        assert_eq!(
            rows,
            [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500]
        );
        assert_eq!(i.ids_of_row(1500), [same]);
        assert_eq!(i.values.len(), 4991);
    }

    #[test]
    fn row_keys_agree_with_the_inverted_index_on_ordering() {
        let data = [
            "10",
            "9",
            "100",
            "abc",
            "",
            "1/15/2018 10:30:00 AM",
            "2019-05-01",
            "12/31/2020",
            "Zeta",
            "-3.5",
        ];
        let index = ValueIndex::build(data.len(), |r, out| {
            if !data[r].is_empty() {
                out.push(data[r]);
            }
        });
        let keys = RowKeys::build(data.len(), |r| (!data[r].is_empty()).then_some(data[r]));
        for op in [Op::Lt, Op::Le, Op::Gt, Op::Ge] {
            for literal in ["10", "-4", "2019-01-01", "1/1/2021", "abd", "zeta"] {
                let by_index = index.rows_of(&index.ordering_ids(op, literal));
                let by_rows = keys.rows(&OrderingTest::new(op, literal));
                assert_eq!(by_rows, by_index, "{op:?} {literal}");
            }
        }
    }

    #[test]
    fn rows_of_many_values_sparse_and_dense_agree() {
        let data: Vec<Vec<&'static str>> = (0..1000)
            .map(|r| vec![["a", "b", "c", "d"][r % 4]])
            .collect();
        let rows: Vec<&[&str]> = data.iter().map(|v| v.as_slice()).collect();
        let i = index(&rows);
        let dense = i.rows_of(&IdSet::Range(0, 3));
        assert_eq!(dense.len(), 750);
        let sparse = i.rows_of(&IdSet::Few(vec![0, 3]));
        assert_eq!(sparse.len(), 500);
        assert!(sparse.iter().all(|r| r % 4 == 0 || r % 4 == 3));
    }

    #[test]
    fn prefix_range_covers_exactly_the_prefixed_values() {
        let i = index(&[&["ab"], &["abc"], &["abd"], &["b"], &["a"]]);
        let (from, to) = i.prefix_range("ab");
        assert_eq!(
            (from..to).map(|id| i.value(id)).collect::<Vec<_>>(),
            ["ab", "abc", "abd"]
        );
        assert_eq!(i.prefix_range("zz"), (5, 5));
    }
}
