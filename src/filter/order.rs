//! The ordering comparisons (`-lt -gt -le -ge`) of one property, answered
//! together in the property's one pass over its values.
//!
//! Testing every value against every literal costs rows × tests. Instead, the
//! sorted distinct literals of a comparison domain cut it into slots: with
//! literals `l0 < l1 < … < lk-1`, slot `2i + 1` holds the values equal to `li`
//! and slot `2i` those between `li-1` and `li`. Each value is placed in its
//! slot by binary search, so a value costs O(log literals) however many tests
//! the property has, and a test is the union of the slots below or above its
//! literal's slot, built as running unions (one pass over the slots for all
//! tests, plus a copy of the result per test).
//!
//! The domain a value is compared in depends on the test (DESIGN §3.4): a
//! number literal compares number values numerically and every other value as
//! text; a date literal likewise with dates; any other literal compares every
//! value as text. (No text is both a number and a date.) So a property has up
//! to five families of slots: numbers, dates, and the text of the non-numbers,
//! of the non-dates and of all values. [`OrderingTest::holds_text`] is the
//! reference each family must agree with.

use std::cmp::Ordering;

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::ast::Op;
use super::value::{parse_date, parse_number, OrderingTest};

/// The families, as indices into `Orderings::offsets` and `families()`.
const NUMBERS: usize = 0;
const NON_NUMBERS: usize = 1;
const DATES: usize = 2;
const NON_DATES: usize = 3;
const TEXTS: usize = 4;

/// The ordering tests of one property, arranged by family.
pub struct Orderings {
    numbers: Family<f64>,
    dates: Family<i64>,
    /// The text families, indexed by `NON_NUMBERS`, `NON_DATES` and `TEXTS`
    /// (the other two entries stay empty).
    texts: [Family<String>; 5],
    /// Where each family's slots start in the property's one numbering of
    /// slots (family `f` has `offsets[f]..offsets[f + 1]`).
    offsets: [usize; 6],
}

impl Orderings {
    /// `tests`: each ordering test with its number among the property's tests.
    pub fn new(tests: &[(u32, &OrderingTest)]) -> Orderings {
        let mut numbers = Vec::new();
        let mut dates = Vec::new();
        let mut texts: [Vec<(u32, Op, String)>; 5] = Default::default();
        for &(t, test) in tests {
            let text = (t, test.op(), test.literal().to_string());
            if let Some(n) = test.number() {
                numbers.push((t, test.op(), n));
                texts[NON_NUMBERS].push(text);
            } else if let Some(d) = test.date() {
                dates.push((t, test.op(), d));
                texts[NON_DATES].push(text);
            } else {
                texts[TEXTS].push(text);
            }
        }
        let mut orderings = Orderings {
            numbers: Family::new(numbers, |a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal)),
            dates: Family::new(dates, |a, b| a.cmp(b)),
            texts: texts.map(|items| Family::new(items, |a, b| a.cmp(b))),
            offsets: [0; 6],
        };
        let counts = orderings.families().map(|family| family.slot_count());
        for (f, count) in counts.into_iter().enumerate() {
            orderings.offsets[f + 1] = orderings.offsets[f] + count;
        }
        orderings
    }

    /// The families in the order of their indices.
    fn families(&self) -> [&dyn Answer; 5] {
        [
            &self.numbers,
            &self.texts[NON_NUMBERS],
            &self.dates,
            &self.texts[NON_DATES],
            &self.texts[TEXTS],
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty() && self.dates.is_empty() && self.texts[TEXTS].is_empty()
    }

    /// How many slots the families have together.
    pub fn slot_count(&self) -> usize {
        self.offsets[5]
    }

    /// Calls `put` with the slot of each family that compares `value` (a
    /// number below [`Orderings::slot_count`]). `value` is as written
    /// (trimmed), `folded` the same text lower-cased or, when it is ASCII, as
    /// written (compared ignoring ASCII case).
    pub fn each_slot(&self, value: &str, folded: &[u8], mut put: impl FnMut(usize)) {
        let mut put = |family: usize, slot: usize| put(self.offsets[family] + slot);
        let text_slot = |family: usize| self.texts[family].slot(|b| cmp_folded(b, folded));
        if !self.numbers.is_empty() {
            match parse_number(value) {
                Some(n) => put(
                    NUMBERS,
                    self.numbers
                        .slot(|b| b.partial_cmp(&n).unwrap_or(Ordering::Equal)),
                ),
                None => put(NON_NUMBERS, text_slot(NON_NUMBERS)),
            }
        }
        if !self.dates.is_empty() {
            match parse_date(value) {
                Some(d) => put(DATES, self.dates.slot(|b| b.cmp(&d))),
                None => put(NON_DATES, text_slot(NON_DATES)),
            }
        }
        if !self.texts[TEXTS].is_empty() {
            put(TEXTS, text_slot(TEXTS));
        }
    }

    /// The rows each test holds for, from the rows of every slot (numbered
    /// as [`Orderings::each_slot`] numbers them), as (test, rows).
    pub fn answer(&self, slots: &[RoaringBitmap]) -> Vec<(u32, RoaringBitmap)> {
        let families = self.families();
        let mut by_test: Vec<(u32, RoaringBitmap)> = families
            .par_iter()
            .enumerate()
            .flat_map_iter(|(f, family)| {
                family.answer(&slots[self.offsets[f]..self.offsets[f + 1]])
            })
            .collect();
        // A number or date test has a part in two families: join them.
        by_test.sort_by_key(|(t, _)| *t);
        let mut joined: Vec<(u32, RoaringBitmap)> = Vec::with_capacity(by_test.len());
        for (t, rows) in by_test {
            match joined.last_mut() {
                Some((last, acc)) if *last == t => *acc |= rows,
                _ => joined.push((t, rows)),
            }
        }
        joined
    }
}

/// The sorted distinct literals of one comparison domain, and the tests that
/// compare against them.
struct Family<K> {
    bounds: Vec<K>,
    /// Per test: its number, its operator and its literal's slot.
    asks: Vec<(u32, Op, usize)>,
}

impl<K: Clone> Family<K> {
    fn new(items: Vec<(u32, Op, K)>, cmp: impl Fn(&K, &K) -> Ordering) -> Family<K> {
        let mut bounds: Vec<K> = items.iter().map(|(_, _, k)| k.clone()).collect();
        bounds.sort_by(&cmp);
        bounds.dedup_by(|a, b| cmp(a, b) == Ordering::Equal);
        let asks = items
            .into_iter()
            .map(|(t, op, k)| {
                let i = bounds
                    .binary_search_by(|b| cmp(b, &k))
                    .expect("every literal is a bound");
                (t, op, 2 * i + 1)
            })
            .collect();
        Family { bounds, asks }
    }

    fn is_empty(&self) -> bool {
        self.asks.is_empty()
    }

    fn slots(&self) -> usize {
        if self.is_empty() {
            0
        } else {
            2 * self.bounds.len() + 1
        }
    }

    /// The slot of a value, given how each bound orders against it.
    fn slot(&self, bound_vs_value: impl Fn(&K) -> Ordering) -> usize {
        let i = self
            .bounds
            .partition_point(|b| bound_vs_value(b) == Ordering::Less);
        match self.bounds.get(i) {
            Some(b) if bound_vs_value(b) == Ordering::Equal => 2 * i + 1,
            _ => 2 * i,
        }
    }
}

/// A family's answers from its slots' rows, whatever its key type.
trait Answer: Sync {
    fn slot_count(&self) -> usize;
    fn answer(&self, slots: &[RoaringBitmap]) -> Vec<(u32, RoaringBitmap)>;
}

impl<K: Clone + Sync> Answer for Family<K> {
    fn slot_count(&self) -> usize {
        self.slots()
    }

    /// Per test, the union of the slots its operator selects: running unions
    /// from the bottom (for `-lt`, `-le`) and from the top (`-gt`, `-ge`),
    /// copied at each slot some test cuts at.
    fn answer(&self, slots: &[RoaringBitmap]) -> Vec<(u32, RoaringBitmap)> {
        // Below `cut` (prefix) or from `cut` on (suffix).
        let cut = |op: Op, slot: usize| match op {
            Op::Lt => (true, slot),
            Op::Le => (true, slot + 1),
            Op::Gt => (false, slot + 1),
            _ => (false, slot),
        };
        let running = |prefix: bool| {
            let mut cuts: Vec<usize> = self
                .asks
                .iter()
                .map(|&(_, op, slot)| cut(op, slot))
                .filter(|&(p, _)| p == prefix)
                .map(|(_, c)| c)
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut acc = RoaringBitmap::new();
            let mut at: Vec<(usize, RoaringBitmap)> = Vec::with_capacity(cuts.len());
            if prefix {
                let mut next = 0;
                for c in cuts {
                    slots[next..c].iter().for_each(|s| acc |= s);
                    next = c;
                    at.push((c, acc.clone()));
                }
            } else {
                let mut next = slots.len();
                for c in cuts.into_iter().rev() {
                    slots[c..next].iter().for_each(|s| acc |= s);
                    next = c;
                    at.push((c, acc.clone()));
                }
            }
            at
        };
        let (below, above) = (running(true), running(false));
        self.asks
            .iter()
            .map(|&(t, op, slot)| {
                let (prefix, c) = cut(op, slot);
                let table = if prefix { &below } else { &above };
                let rows = table
                    .iter()
                    .find(|(at, _)| *at == c)
                    .map(|(_, rows)| rows.clone())
                    .expect("every cut was computed");
                (t, rows)
            })
            .collect()
    }
}

/// How a lower-cased literal orders against a value given as lower-cased text
/// or ASCII in any case, as the lower-cased value's bytes would.
fn cmp_folded(literal: &str, folded: &[u8]) -> Ordering {
    let value = folded.iter().map(u8::to_ascii_lowercase);
    literal.bytes().cmp(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every family against the row-by-row reference, on values of every
    /// domain and literals at, between and beyond them.
    #[test]
    fn slots_answer_every_operator_like_the_reference() {
        let values = [
            "5",
            "10",
            "-0",
            "0",
            "2.5",
            "abc",
            "ABD",
            "Zeta",
            "2020-01-01",
            "1/2/2020",
            "2020-01-01T10:00:00Z",
            "müller",
            "Müller",
            "10.0",
            "",
        ];
        let literals = [
            "0",
            "5",
            "10",
            "7",
            "2020-01-01",
            "1/2/2020",
            "abc",
            "m",
            "müller",
            "zz",
            "",
        ];
        let mut tests = Vec::new();
        for literal in literals {
            for op in [Op::Lt, Op::Le, Op::Gt, Op::Ge] {
                tests.push(OrderingTest::new(op, literal));
            }
        }
        let numbered: Vec<(u32, &OrderingTest)> = tests
            .iter()
            .enumerate()
            .map(|(i, t)| (i as u32, t))
            .collect();
        let orderings = Orderings::new(&numbered);
        let mut slots = vec![RoaringBitmap::new(); orderings.slot_count()];
        for (row, v) in values.iter().enumerate() {
            let folded = if v.is_ascii() {
                v.to_string()
            } else {
                v.to_lowercase()
            };
            orderings.each_slot(v, folded.as_bytes(), |s| {
                slots[s].insert(row as u32);
            });
        }
        let answers = orderings.answer(&slots);
        assert_eq!(answers.len(), tests.len());
        for (t, rows) in answers {
            let test = &tests[t as usize];
            let expected: Vec<u32> = (0..values.len() as u32)
                .filter(|&r| test.holds_text(values[r as usize]))
                .collect();
            assert_eq!(rows.iter().collect::<Vec<_>>(), expected, "{test:?}");
        }
    }

    #[test]
    fn a_value_falls_in_the_slot_of_its_interval() {
        let family = Family::new(
            vec![(0, Op::Lt, 10), (1, Op::Ge, 20), (2, Op::Le, 10)],
            |a: &i64, b: &i64| a.cmp(b),
        );
        assert_eq!(family.bounds, [10, 20]);
        let slot = |v: i64| family.slot(|b| b.cmp(&v));
        assert_eq!(
            [slot(5), slot(10), slot(15), slot(20), slot(25)],
            [0, 1, 2, 3, 4]
        );
    }
}
