//! From syntax tree to mailbox bitmap.
//!
//! Compilation resolves each property against the mailboxes table (the plan),
//! then evaluates every plan of an analysis together: the distinct comparisons
//! of all filters are gathered, each property's comparisons are answered in one
//! pass over its values ([`super::scan`]), and each plan is then bitmap algebra
//! over its comparisons' rows. The comparisons of mailbox properties read the
//! mailboxes table only ([`MailboxRows`]), so an analysis answers them while
//! the directory resolves memberships ([`FilterContext::plan_all`],
//! [`Planned::answer_properties`], [`FilterContext::finish`]); the membership
//! comparisons wait for it. A negated comparison (`-ne`, `-notlike`, `-not`)
//! stays a complement until the end, so a filter of many `-ne` never builds a
//! million-row bitmap per comparison.
//!
//! The file is long because its lower half is the table tests that pin the
//! comparison semantics of DESIGN §3.4 down, kept beside the evaluation they test.

use std::borrow::Cow;

use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};
use rustc_hash::FxHashMap;

use super::ast::{Comparison, Expr, Op, Span, Value};
use super::error::{FilterError, FilterErrorKind};
use super::leaf::Test;
use super::parser::parse;
use super::plan::{Leaf, Note, Plan, Property, MULTI_VALUED};
use super::scan::{scan_containers, scan_together, Matcher};
use super::suggest::close_names;
use super::trace::{LeafTrace, Trace};
use crate::directory::{Directory, Recipient};
use crate::findings::kind;
use crate::snapshot::Table;
use crate::snapshot::{smtp_proxy, split_multi, trim};

/// A compiled filter: the mailboxes it selects and the notes about it.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub plan: Plan,
    pub bitmap: RoaringBitmap,
    pub notes: Vec<Note>,
}

/// Everything filters are compiled against.
pub struct FilterContext<'a> {
    mailboxes: &'a Table,
    dir: &'a Directory,
}

/// What the comparisons of mailbox properties read: the mailboxes table, the
/// rows to read (all, or the one a directory is focused on; the others count
/// as blank), and the PrimarySmtpAddress column. It needs no memberships, so
/// these comparisons can be answered while the directory resolves them.
#[derive(Clone)]
pub struct MailboxRows<'a> {
    table: &'a Table,
    rows: std::ops::Range<usize>,
    address_column: usize,
}

/// Filters parsed and planned, their distinct comparisons numbered, and the
/// comparisons answered so far: the first step of [`FilterContext::compile_all`].
pub struct Planned {
    planned: Vec<Result<(Plan, Vec<Note>), FilterError>>,
    nodes: Vec<Option<Node>>,
    tests: Vec<(Property, Test)>,
    /// Per comparison, the rows it holds for (before negation), once answered.
    found: Vec<Option<RoaringBitmap>>,
}

/// A plan whose comparisons are numbered: leaf `i` is the `i`-th distinct one.
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(usize),
}

/// The distinct comparisons of a batch of plans, each with its test.
#[derive(Default)]
struct Comparisons<'p> {
    ids: FxHashMap<(Property, Op, Option<&'p str>), usize>,
    tests: Vec<(Property, Test)>,
}

impl<'p> Comparisons<'p> {
    /// Numbers the leaves of a plan, adding the comparisons not seen yet.
    fn number(&mut self, plan: &'p Plan) -> Node {
        match plan {
            Plan::And(items) => Node::And(items.iter().map(|p| self.number(p)).collect()),
            Plan::Or(items) => Node::Or(items.iter().map(|p| self.number(p)).collect()),
            Plan::Not(inner) => Node::Not(Box::new(self.number(inner))),
            Plan::Leaf(leaf) => {
                let key = (leaf.property, leaf.op, leaf.value.as_deref());
                let next = self.tests.len();
                let id = *self.ids.entry(key).or_insert(next);
                if id == next {
                    self.tests.push((leaf.property, Test::new(leaf)));
                }
                Node::Leaf(id)
            }
        }
    }
}

/// A set of mailboxes, or the complement of one.
struct Signed<'b> {
    set: Cow<'b, RoaringBitmap>,
    complement: bool,
}

impl<'b> Signed<'b> {
    fn flip(self) -> Signed<'b> {
        Signed {
            set: self.set,
            complement: !self.complement,
        }
    }
}

/// The comparisons a batch's nodes number, the rows each holds for (before
/// negation), and how many mailboxes there are.
struct Answered<'b> {
    tests: &'b [(Property, Test)],
    found: &'b [RoaringBitmap],
    universe: u64,
}

impl Node {
    /// The node's mailboxes, from the rows each comparison holds for and
    /// whether it is negated. With `within`, the answer need only be right on
    /// those mailboxes (it may hold others or lack others outside them): the
    /// parts of an `-and` after its most selective one are worked out within
    /// what it selected, so a scope such as `Department -eq 'Legal' -and
    /// (Name -like '*a*' -or -not (...))` never builds the union of its broad
    /// comparisons over the whole tenant.
    fn eval<'b>(&self, answered: &Answered<'b>, within: Option<&RoaringBitmap>) -> Signed<'b> {
        match self {
            Node::Leaf(i) => {
                let rows = &answered.found[*i];
                let set = match within {
                    // Only the few rows that matter, when they are few.
                    Some(w) if w.len().saturating_mul(4) < rows.len() => Cow::Owned(rows & w),
                    _ => Cow::Borrowed(rows),
                };
                Signed {
                    set,
                    complement: answered.tests[*i].1.negated(),
                }
            }
            Node::Not(inner) => inner.eval(answered, within).flip(),
            Node::And(items) => Node::and(items, answered, within, false),
            // De Morgan: a -or b = -not (-not a -and -not b).
            Node::Or(items) => Node::and(items, answered, within, true).flip(),
        }
    }

    /// The intersection of `items` (of their complements with `flip`), right
    /// within `within`: the items in the order of their estimated size, each
    /// after the first set worked out within the sets so far.
    fn and<'b>(
        items: &[Node],
        answered: &Answered<'b>,
        within: Option<&RoaringBitmap>,
        flip: bool,
    ) -> Signed<'b> {
        let mut order: Vec<(u64, &Node)> = items
            .iter()
            .map(|n| {
                let size = n.estimate(answered);
                let size = if flip {
                    answered.universe.saturating_sub(size)
                } else {
                    size
                };
                (size, n)
            })
            .collect();
        order.sort_by_key(|&(size, _)| size);
        // The intersection of the positive parts so far, less the
        // complements' sets: what the rest must be right on. Complements
        // met before any positive part wait for one.
        let mut acc: Option<Cow<'b, RoaringBitmap>> = None;
        let mut waiting: Vec<Signed<'b>> = Vec::new();
        for (_, node) in order {
            let mut part = node.eval(answered, acc.as_deref().or(within));
            if flip {
                part = part.flip();
            }
            let mut set = match (acc.take(), part.complement) {
                (None, true) => {
                    waiting.push(part);
                    continue;
                }
                (None, false) => part.set,
                (Some(mut set), true) => {
                    *set.to_mut() -= part.set.as_ref();
                    set
                }
                (Some(mut set), false) => {
                    *set.to_mut() &= part.set.as_ref();
                    set
                }
            };
            for c in waiting.drain(..) {
                *set.to_mut() -= c.set.as_ref();
            }
            let empty = set.is_empty();
            acc = Some(set);
            if empty {
                break;
            }
        }
        match acc {
            Some(set) => Signed {
                set,
                complement: false,
            },
            // Only complements: the complement of their sets' union.
            None => Signed {
                set: Cow::Owned(waiting.iter().map(|c| c.set.as_ref()).union()),
                complement: true,
            },
        }
    }

    /// About how many mailboxes the node selects, to order an `-and`: exact
    /// for a comparison, an upper bound for the smallest part of an `-and`
    /// and for the sum of an `-or`'s parts.
    fn estimate(&self, answered: &Answered<'_>) -> u64 {
        let universe = answered.universe;
        match self {
            Node::Leaf(i) if answered.tests[*i].1.negated() => {
                universe.saturating_sub(answered.found[*i].len())
            }
            Node::Leaf(i) => answered.found[*i].len(),
            Node::Not(inner) => universe.saturating_sub(inner.estimate(answered)),
            Node::And(items) => items
                .iter()
                .map(|n| n.estimate(answered))
                .min()
                .unwrap_or(universe),
            Node::Or(items) => items
                .iter()
                .map(|n| n.estimate(answered))
                .sum::<u64>()
                .min(universe),
        }
    }
}

impl<'a> MailboxRows<'a> {
    /// The rows of `mailboxes` (the table `dir` was built from) that `dir`
    /// asks about.
    pub fn new(mailboxes: &'a Table, dir: &Directory) -> MailboxRows<'a> {
        let rows = match dir.focus() {
            Some(f) => f as usize..f as usize + 1,
            None => 0..dir.count as usize,
        };
        MailboxRows {
            table: mailboxes,
            rows,
            address_column: dir.address_column(),
        }
    }

    /// The rows each test of each group (mailbox properties) holds for
    /// (before negation): the primary address and EmailAddresses, which come
    /// in that order, in one pass; any other group alone.
    fn answer_job(&self, groups: &[(Property, Vec<&Test>)]) -> Vec<Vec<RoaringBitmap>> {
        match groups {
            [(Property::PrimarySmtpAddress, primary), (Property::Column { .. }, proxies)] => {
                self.answer_addresses(primary, proxies).into()
            }
            _ => groups
                .iter()
                .map(|(property, tests)| self.answer(*property, tests))
                .collect(),
        }
    }

    /// The rows each test of PrimarySmtpAddress (`primary`) and of
    /// EmailAddresses (`proxies`, none when only the primary address is
    /// compared) holds for, in one pass that splits each EmailAddresses cell
    /// once for both. PrimarySmtpAddress compares a mailbox's primary address
    /// and its other `smtp:` proxies.
    fn answer_addresses(&self, primary: &[&Test], proxies: &[&Test]) -> [Vec<RoaringBitmap>; 2] {
        let column = self.table.column(&["EmailAddresses"]);
        let addresses = self.table.col(self.address_column);
        let matchers = [&Matcher::new(primary), &Matcher::new(proxies)];
        // Without tests of their own, the proxies are read for the primary
        // address's sake only, and not handed on.
        let hand_on = !proxies.is_empty();
        scan_together(matchers, self.rows.clone(), |range, f| {
            let (mut primaries, mut all) = (Vec::new(), Vec::new());
            let cells: Box<dyn Iterator<Item = Option<&str>>> = match &column {
                Some(c) => Box::new(c.values(range.clone())),
                None => Box::new(std::iter::repeat(None)),
            };
            // read_mailboxes checked that every row has an address.
            let firsts = addresses
                .values(range.clone())
                .map(Option::unwrap_or_default);
            for ((row, cell), first) in range.zip(cells).zip(firsts) {
                primaries.clear();
                all.clear();
                primaries.push(first);
                for proxy in cell.map(trim).into_iter().flat_map(split_multi) {
                    if hand_on {
                        all.push(proxy);
                    }
                    // Most mailboxes list their primary address again as a
                    // proxy: the same value twice answers nothing new.
                    match smtp_proxy(proxy) {
                        Some(address) if address != first => primaries.push(address),
                        _ => {}
                    }
                }
                f(row, [&primaries, &all]);
            }
        })
    }

    /// The rows each test of one mailbox property holds for (before negation).
    fn answer(&self, property: Property, tests: &[&Test]) -> Vec<RoaringBitmap> {
        let rows = self.rows.clone();
        match property {
            Property::Column { index, multi, .. } => {
                let column = &self.table.columns[index];
                Matcher::new(tests).scan(rows, |range, f| {
                    let mut values = Vec::new();
                    for (row, cell) in range.clone().zip(column.values(range)) {
                        values.clear();
                        let cell = cell.map(trim).unwrap_or_default();
                        if multi {
                            values.extend(split_multi(cell));
                        } else if !cell.is_empty() {
                            values.push(cell);
                        }
                        f(row, &values);
                    }
                })
            }
            Property::PrimarySmtpAddress => {
                let [primary, _] = self.answer_addresses(tests, &[]);
                primary
            }
            Property::MemberOfGroup | Property::AdministrativeUnits => {
                unreachable!("membership comparisons are answered by the filter context")
            }
        }
    }
}

impl Planned {
    /// Answers the comparisons of mailbox properties, a property per pass
    /// (see [`super::scan`]), the properties in parallel; the membership
    /// comparisons are left to [`FilterContext::finish`].
    pub fn answer_properties(&mut self, rows: &MailboxRows<'_>) {
        let tests = &self.tests;
        let answers = answer_grouped(
            tests,
            |i| is_mailbox_property(tests[i].0),
            |groups| rows.answer_job(groups),
        );
        for (found, answer) in self.found.iter_mut().zip(answers) {
            if answer.is_some() {
                *found = answer;
            }
        }
    }
}

/// Whether `property` is read from the mailboxes table (not from memberships).
fn is_mailbox_property(property: Property) -> bool {
    matches!(
        property,
        Property::Column { .. } | Property::PrimarySmtpAddress
    )
}

/// The rows each of the `tests` whose number `which` takes holds for (before
/// negation), `None` for the others: the tests are grouped by property and
/// each group answered in one pass, the groups in parallel. The primary
/// address's group and EmailAddresses' go to `answer` together (both read the
/// EmailAddresses cells); `answer` gives a list of bitmaps per group it got.
fn answer_grouped(
    tests: &[(Property, Test)],
    which: impl Fn(usize) -> bool,
    answer: impl Fn(&[(Property, Vec<&Test>)]) -> Vec<Vec<RoaringBitmap>> + Sync,
) -> Vec<Option<RoaringBitmap>> {
    let mut by_property: FxHashMap<Property, Vec<usize>> = FxHashMap::default();
    for (i, (property, _)) in tests.iter().enumerate() {
        if which(i) {
            by_property.entry(*property).or_default().push(i);
        }
    }
    let mut jobs: Vec<Vec<(Property, Vec<usize>)>> = Vec::new();
    let mut addresses: Vec<(Property, Vec<usize>)> = Vec::new();
    for (property, ids) in by_property {
        match property {
            Property::PrimarySmtpAddress
            | Property::Column {
                email_addresses: true,
                ..
            } => addresses.push((property, ids)),
            _ => jobs.push(vec![(property, ids)]),
        }
    }
    // The primary address first, as `MailboxRows::answer_job` takes them.
    addresses.sort_by_key(|(property, _)| *property != Property::PrimarySmtpAddress);
    if !addresses.is_empty() {
        jobs.push(addresses);
    }
    // Per group of every job: its tests' numbers and their bitmaps.
    let answered: Vec<Vec<(Vec<usize>, Vec<RoaringBitmap>)>> = jobs
        .into_par_iter()
        .map(|job| {
            let groups: Vec<(Property, Vec<&Test>)> = job
                .iter()
                .map(|(property, ids)| (*property, ids.iter().map(|&i| &tests[i].1).collect()))
                .collect();
            let answers = answer(&groups);
            job.into_iter().map(|(_, ids)| ids).zip(answers).collect()
        })
        .collect();
    let mut found = vec![None; tests.len()];
    for (ids, bitmaps) in answered.into_iter().flatten() {
        for (i, bitmap) in ids.into_iter().zip(bitmaps) {
            found[i] = Some(bitmap);
        }
    }
    found
}

impl<'a> FilterContext<'a> {
    pub fn new(mailboxes: &'a Table, dir: &'a Directory) -> FilterContext<'a> {
        FilterContext { mailboxes, dir }
    }

    /// Parses, resolves and evaluates a filter.
    pub fn compile(&self, text: &str) -> Result<Compiled, FilterError> {
        self.compile_all(&[text])
            .pop()
            .expect("one filter, one result")
    }

    /// Parses a filter and resolves its properties; lint warnings become notes.
    fn parse_and_plan(&self, text: &str) -> Result<(Plan, Vec<Note>), FilterError> {
        let parsed = parse(text)?;
        let mut notes: Vec<Note> = parsed
            .lints
            .into_iter()
            .map(|l| Note {
                kind: kind::FILTER_LINT,
                message: l.message,
                span: l.span,
            })
            .collect();
        let plan = self.plan(&parsed.expr, &mut notes)?;
        Ok((plan, notes))
    }

    /// Compiles many filters: all are parsed and planned first, then every
    /// distinct comparison among them is answered once, a property at a time,
    /// and only then is each filter evaluated, by bitmap algebra.
    pub fn compile_all(&self, filters: &[&str]) -> Vec<Result<Compiled, FilterError>> {
        self.finish(self.plan_all(filters))
    }

    /// Parses and plans `filters`, and numbers their distinct comparisons.
    pub fn plan_all(&self, filters: &[&str]) -> Planned {
        let planned: Vec<Result<(Plan, Vec<Note>), FilterError>> = filters
            .par_iter()
            .map(|text| self.parse_and_plan(text))
            .collect();
        let mut comparisons = Comparisons::default();
        let nodes: Vec<Option<Node>> = planned
            .iter()
            .map(|p| p.as_ref().ok().map(|(plan, _)| comparisons.number(plan)))
            .collect();
        let tests = comparisons.tests;
        Planned {
            found: vec![None; tests.len()],
            planned,
            nodes,
            tests,
        }
    }

    /// Compiles what [`FilterContext::plan_all`] planned: the comparisons not
    /// answered yet (the membership ones, and the others unless
    /// [`Planned::answer_properties`] answered them) are answered, then each
    /// filter evaluated.
    pub fn finish(&self, planned: Planned) -> Vec<Result<Compiled, FilterError>> {
        let Planned {
            planned,
            nodes,
            tests,
            found,
        } = planned;
        let rows = MailboxRows::new(self.mailboxes, self.dir);
        let rest = answer_grouped(
            &tests,
            |i| found[i].is_none(),
            |groups| match groups {
                [(property @ (Property::MemberOfGroup | Property::AdministrativeUnits), tests)] => {
                    vec![self.answer_memberships(*property, tests, &rows.rows)]
                }
                _ => rows.answer_job(groups),
            },
        );
        let found: Vec<RoaringBitmap> = found
            .into_iter()
            .zip(rest)
            .map(|(answered, now)| answered.or(now).unwrap_or_default())
            .collect();
        let answered = Answered {
            tests: &tests,
            found: &found,
            universe: u64::from(self.dir.count),
        };
        planned
            .into_par_iter()
            .zip(nodes)
            .map(|(p, node)| {
                let (plan, notes) = p?;
                let node = node.expect("a plan was numbered");
                Ok(Compiled {
                    bitmap: self.resolve(node.eval(&answered, None)),
                    plan,
                    notes,
                })
            })
            .collect()
    }

    /// A set or complement as the mailboxes it stands for.
    fn resolve(&self, signed: Signed<'_>) -> RoaringBitmap {
        if signed.complement {
            &self.dir.all - signed.set.as_ref()
        } else {
            signed.set.into_owned()
        }
    }

    /// The rows each `MemberOfGroup` or `AdministrativeUnits` test holds for
    /// (before negation): the members of the groups or units whose names
    /// match, among `rows` ([`MailboxRows`]: one row when the directory is
    /// focused, the bitmaps then exact for that mailbox only).
    fn answer_memberships(
        &self,
        property: Property,
        tests: &[&Test],
        rows: &std::ops::Range<usize>,
    ) -> Vec<RoaringBitmap> {
        let containers: Vec<(Option<&str>, &RoaringBitmap)> = match property {
            Property::MemberOfGroup => {
                let groups = self.dir.groups.iter();
                groups
                    .map(|g| (Some(g.dn.as_str()), &g.direct_mailboxes))
                    .collect()
            }
            Property::AdministrativeUnits => {
                let units = self.dir.admin_units.iter();
                units.map(|u| (u.dn.as_deref(), &u.members)).collect()
            }
            Property::Column { .. } | Property::PrimarySmtpAddress => {
                unreachable!("mailbox properties are answered by MailboxRows")
            }
        };
        let mut in_rows = RoaringBitmap::new();
        in_rows.insert_range(rows.start as u32..rows.end as u32);
        scan_containers(tests, &containers, &in_rows)
    }

    /// Resolves every property of an expression and checks operator/value pairs.
    pub fn plan(&self, expr: &Expr, notes: &mut Vec<Note>) -> Result<Plan, FilterError> {
        Ok(match expr {
            Expr::And(items) => Plan::And(
                items
                    .iter()
                    .map(|e| self.plan(e, notes))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(items) => Plan::Or(
                items
                    .iter()
                    .map(|e| self.plan(e, notes))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => Plan::Not(Box::new(self.plan(inner, notes)?)),
            Expr::Compare(c) => Plan::Leaf(self.plan_leaf(c, notes)?),
        })
    }

    fn plan_leaf(&self, c: &Comparison, notes: &mut Vec<Note>) -> Result<Leaf, FilterError> {
        let property = self.resolve_property(&c.property, &c.property_span)?;
        if c.value == Value::Null && !matches!(c.op, Op::Eq | Op::Ne) {
            return Err(FilterError::new(
                FilterErrorKind::NullComparison,
                format!("{} cannot compare with $null", c.op.as_str()),
                c.op_span.start..c.value_span.end,
            )
            .with_hint("use -eq $null for a blank property and -ne $null for a filled one"));
        }
        let value = c.value.text().map(|t| t.to_lowercase());
        if let (Some(v), Op::Like | Op::NotLike) = (&value, c.op) {
            if v.contains('*') && !v.ends_with('*') || v.matches('*').count() > 1 {
                notes.push(Note {
                    kind: kind::FILTER_LINT,
                    message: format!("wildcard inside '{}': Exchange accepts * only at the end of a value in most places; exomatrix matches it anywhere", c.value.text().unwrap_or_default()),
                    span: c.value_span.clone(),
                });
            }
        }
        if property == Property::MemberOfGroup {
            if let Some(v) = &value {
                if !v.contains('=') {
                    let original = c.value.text().unwrap_or_default();
                    let suggestion = match self.dir.resolve(&original) {
                        crate::directory::Resolution::Found(Recipient::Group(g)) => {
                            let g = &self.dir.groups[g as usize];
                            format!("; did you mean the DN of group '{}': '{}'?", g.label, g.dn)
                        }
                        _ => String::new(),
                    };
                    notes.push(Note {
                        kind: kind::MEMBER_OF_GROUP_NOT_DN,
                        message: format!("MemberOfGroup compares group distinguished names; '{original}' is not one, so it matches no group{suggestion}"),
                        span: c.value_span.clone(),
                    });
                }
            }
        }
        Ok(Leaf {
            property,
            name: c.property.clone(),
            op: c.op,
            value,
            span: c.property_span.start..c.value_span.end,
        })
    }

    fn resolve_property(&self, name: &str, span: &Span) -> Result<Property, FilterError> {
        if name.eq_ignore_ascii_case("MemberOfGroup") {
            return Ok(Property::MemberOfGroup);
        }
        if name.eq_ignore_ascii_case("PrimarySmtpAddress") {
            return Ok(Property::PrimarySmtpAddress);
        }
        if name.eq_ignore_ascii_case("AdministrativeUnits") && self.dir.has_au_members {
            return Ok(Property::AdministrativeUnits);
        }
        if let Some(index) = self.mailboxes.column_index(&[name]) {
            return Ok(Property::Column {
                index,
                multi: MULTI_VALUED.iter().any(|m| m.eq_ignore_ascii_case(name)),
                email_addresses: name.eq_ignore_ascii_case("EmailAddresses"),
            });
        }
        let mut known: Vec<&str> = self.mailboxes.names.iter().map(String::as_str).collect();
        known.extend(["MemberOfGroup", "PrimarySmtpAddress", "AdministrativeUnits"]);
        let close = close_names(name, &known);
        let hint = if close.is_empty() {
            format!(
                "export the property as a column of {}, or check the spelling",
                self.mailboxes.file
            )
        } else {
            format!("did you mean {}?", close.join(" or "))
        };
        Err(FilterError::new(
            FilterErrorKind::UnknownProperty {
                name: name.to_string(),
                close: close.clone(),
            },
            format!(
                "unknown property '{name}': the mailboxes table ({}) has no such column",
                self.mailboxes.file
            ),
            span.clone(),
        )
        .with_hint(hint))
    }

    /// Evaluates a plan for one mailbox, row by row: the reference the bitmap
    /// evaluation must agree with.
    pub fn eval_row(&self, plan: &Plan, row: u32) -> bool {
        match plan {
            Plan::And(items) => items.iter().all(|p| self.eval_row(p, row)),
            Plan::Or(items) => items.iter().any(|p| self.eval_row(p, row)),
            Plan::Not(inner) => !self.eval_row(inner, row),
            Plan::Leaf(leaf) => {
                let values = self.row_values(leaf.property, row);
                Test::new(leaf).holds(values.iter().map(String::as_str))
            }
        }
    }

    /// Evaluates a plan for one mailbox and records every node's result, with
    /// the mailbox's values of each compared property: why a filter matched or not.
    pub fn trace(&self, plan: &Plan, row: u32) -> Trace {
        match plan {
            Plan::And(items) => {
                let items: Vec<Trace> = items.iter().map(|p| self.trace(p, row)).collect();
                let holds = items.iter().all(Trace::holds);
                Trace::And(items, holds)
            }
            Plan::Or(items) => {
                let items: Vec<Trace> = items.iter().map(|p| self.trace(p, row)).collect();
                let holds = items.iter().any(Trace::holds);
                Trace::Or(items, holds)
            }
            Plan::Not(inner) => {
                let inner = self.trace(inner, row);
                let holds = !inner.holds();
                Trace::Not(Box::new(inner), holds)
            }
            Plan::Leaf(leaf) => Trace::Leaf(LeafTrace {
                span: leaf.span.clone(),
                property: leaf.name.clone(),
                values: self.row_values(leaf.property, row),
                holds: self.eval_row(plan, row),
            }),
        }
    }

    /// The values a property holds for one mailbox, as written in the snapshot.
    pub fn row_values(&self, property: Property, row: u32) -> Vec<String> {
        let r = row as usize;
        match property {
            Property::Column { index, multi, .. } => {
                let cell = self.mailboxes.columns[index].value(r).map(str::trim);
                match cell {
                    Some(c) if multi => split_multi(c).map(str::to_string).collect(),
                    Some(c) if !c.is_empty() => vec![c.to_string()],
                    _ => Vec::new(),
                }
            }
            Property::PrimarySmtpAddress => {
                let proxies = self.mailboxes.column(&["EmailAddresses"]);
                std::iter::once(self.dir.mailbox_address(r as u32))
                    .chain(
                        proxies
                            .and_then(|c| c.get(r))
                            .into_iter()
                            .flat_map(split_multi)
                            .filter_map(smtp_proxy),
                    )
                    .fold(Vec::new(), |mut out: Vec<String>, v| {
                        if !out.iter().any(|o| o.eq_ignore_ascii_case(v)) {
                            out.push(v.to_string());
                        }
                        out
                    })
            }
            Property::MemberOfGroup => self
                .dir
                .groups
                .iter()
                .filter(|g| g.direct_mailboxes.contains(row))
                .map(|g| g.dn.clone())
                .collect(),
            Property::AdministrativeUnits => self
                .dir
                .admin_units
                .iter()
                .filter(|u| u.members.contains(row))
                .filter_map(|u| u.dn.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Directory;
    use crate::findings::Findings;
    use crate::snapshot::csv::parse_csv;
    use crate::snapshot::tables::*;
    use crate::snapshot::Snapshot;

    const MAILBOXES: &str = "\
ExternalDirectoryObjectId,PrimarySmtpAddress,Alias,Department,CustomAttribute1,EmailAddresses,ExtensionCustomAttribute1,Office,WhenCreated,Title
00000000-0000-4000-8000-000000000000,ann@contoso.com,ann,Sales,012332,SMTP:ann@contoso.com;smtp:ann.lee@contoso.com;X500:/o=x/cn=ann,red; blue ;,10,2019-05-01,Manager
00000000-0000-4000-8000-000000000001,bob@contoso.com,bob,sales,,SMTP:bob@contoso.com,green,9,1/15/2018 10:30:00 AM,True
00000000-0000-4000-8000-000000000002,cyd@contoso.com,cyd,Engineering,0123,SMTP:cyd@contoso.com;smtp:helpdesk@contoso.com,,100,12/31/2020,
00000000-0000-4000-8000-000000000003,dee@contoso.com,o'neil,,012332,,,abc,,Director
";
    const GROUPS: &str = "DistinguishedName,Name,PrimarySmtpAddress\n\"CN=Fin,DC=x\",Fin,fin@contoso.com\n\"CN=Sub,DC=x\",Sub,sub@contoso.com\n";
    const MEMBERS: &str = "Group,Member\nfin@contoso.com,ann@contoso.com\nfin@contoso.com,sub@contoso.com\nsub@contoso.com,bob@contoso.com\n";
    const AUS: &str = "Id,DisplayName,DistinguishedName\n11111111-0000-4000-8000-000000000000,Oslo,\"CN=Oslo,CN=AU\"\n";
    const AU_MEMBERS: &str = "AdministrativeUnit,Member\nOslo,dee@contoso.com\n";

    fn snapshot() -> Snapshot {
        let t = |text: &str, spec: TableSpec| {
            parse_csv(text.as_bytes(), &format!("{}.csv", spec.name), spec).unwrap()
        };
        Snapshot {
            dir: "test".into(),
            mailboxes: t(MAILBOXES, MAILBOXES_SPEC),
            groups: t(GROUPS, GROUPS_SPEC),
            group_members: t(MEMBERS, GROUP_MEMBERS),
            administrative_units: t(AUS, ADMINISTRATIVE_UNITS),
            administrative_unit_members: t(AU_MEMBERS, ADMINISTRATIVE_UNIT_MEMBERS),
            service_principals: Table::empty(SERVICE_PRINCIPALS),
            app_role_assignments: Table::empty(APP_ROLE_ASSIGNMENTS),
            application_access_policies: Table::empty(APPLICATION_ACCESS_POLICIES),
            management_scopes: Table::empty(MANAGEMENT_SCOPES),
            management_role_assignments: Table::empty(MANAGEMENT_ROLE_ASSIGNMENTS),
            files: Vec::new(),
            tenant: None,
        }
    }
    use crate::snapshot::tables::{GROUPS as GROUPS_SPEC, MAILBOXES as MAILBOXES_SPEC};

    fn with_context<R>(f: impl FnOnce(&FilterContext<'_>) -> R) -> R {
        let s = snapshot();
        let dir = Directory::build(&s, &mut Findings::default()).unwrap();
        let ctx = FilterContext::new(&s.mailboxes, &dir);
        f(&ctx)
    }

    /// The rows a filter selects; the bitmap must agree with row-by-row evaluation.
    fn matches(ctx: &FilterContext<'_>, filter: &str) -> Vec<u32> {
        let c = ctx
            .compile(filter)
            .unwrap_or_else(|e| panic!("{filter}: {}", e.render(filter)));
        let naive: Vec<u32> = (0..4).filter(|&r| ctx.eval_row(&c.plan, r)).collect();
        let rows: Vec<u32> = c.bitmap.iter().collect();
        assert_eq!(
            rows, naive,
            "bitmap and row-by-row evaluation disagree on {filter}"
        );
        rows
    }

    #[test]
    fn comparison_semantics_table() {
        with_context(|ctx| {
            for (filter, expected) in [
                // -eq is case-insensitive text comparison, also for numbers
                ("Department -eq 'SALES'", vec![0, 1]),
                ("department -EQ \"sales\"", vec![0, 1]),
                ("CustomAttribute1 -eq 012332", vec![0, 3]),
                ("CustomAttribute1 -eq '12332'", vec![]),
                // -ne includes blanks; -eq $null / -ne $null test blankness
                ("Department -ne 'sales'", vec![2, 3]),
                ("Department -eq $null", vec![3]),
                ("Department -ne $null", vec![0, 1, 2]),
                ("Title -eq $true", vec![1]),
                // -like: * anywhere, whole-value match; -notlike is its negation, true on blank
                ("Department -like 'sal*'", vec![0, 1]),
                ("Department -like '*ing'", vec![2]),
                ("Department -like 'e*g*ng'", vec![2]),
                ("Department -like 'sal'", vec![]),
                ("Department -notlike 'sal*'", vec![2, 3]),
                ("Alias -eq 'o''neil'", vec![3]),
                // ordering: numeric when both are numbers, dates when both are dates, else text
                ("Office -lt 10", vec![1]),
                ("Office -ge '10'", vec![0, 2, 3]), // 'abc' is not a number: text order
                ("Office -gt 'abb'", vec![3]),
                ("WhenCreated -lt '2019-01-01'", vec![1]),
                ("WhenCreated -ge '1/1/2019'", vec![0, 2]),
                ("WhenCreated -le '2018-01-15T10:30:00Z'", vec![1]),
                ("Office -lt 1000 -and Office -gt 0", vec![0, 1, 2]),
                // ordering on blank is false
                ("Department -lt 'zzz'", vec![0, 1, 2]),
                // boolean structure and precedence
                ("-not Department -eq 'sales'", vec![2, 3]),
                ("Department -eq 'sales' -and -not Alias -eq 'bob'", vec![0]),
                (
                    "(Alias -eq 'ann' -or Alias -eq 'bob') -and CustomAttribute1 -ne $null",
                    vec![0],
                ),
                (
                    "Alias -eq 'cyd' -or Alias -eq 'ann' -and Department -eq 'engineering'",
                    vec![2],
                ),
                ("-not -not Alias -eq 'ann'", vec![0]),
            ] {
                assert_eq!(matches(ctx, filter), expected, "{filter}");
            }
        });
    }

    #[test]
    fn multi_valued_semantics_table() {
        with_context(|ctx| {
            for (filter, expected) in [
                // values are trimmed and empties dropped; -eq is "contains"
                ("ExtensionCustomAttribute1 -eq 'blue'", vec![0]),
                ("ExtensionCustomAttribute1 -ne 'blue'", vec![1, 2, 3]),
                ("ExtensionCustomAttribute1 -like 'gr*'", vec![1]),
                ("ExtensionCustomAttribute1 -notlike 'r*'", vec![1, 2, 3]),
                ("ExtensionCustomAttribute1 -eq $null", vec![2, 3]),
                ("ExtensionCustomAttribute1 -gt 'q'", vec![0]),
                // EmailAddresses: no prefix means smtp:, a prefix compares the whole value
                ("EmailAddresses -eq 'ann.lee@contoso.com'", vec![0]),
                ("EmailAddresses -eq 'smtp:bob@contoso.com'", vec![1]),
                ("EmailAddresses -eq 'x500:/o=x/cn=ann'", vec![0]),
                ("EmailAddresses -like 'smtp:help*'", vec![2]),
                ("EmailAddresses -like 'help*'", vec![]),
                // PrimarySmtpAddress also matches smtp: proxies
                ("PrimarySmtpAddress -eq 'helpdesk@contoso.com'", vec![2]),
                ("PrimarySmtpAddress -like 'ann*'", vec![0]),
                (
                    "PrimarySmtpAddress -ne 'helpdesk@contoso.com'",
                    vec![0, 1, 3],
                ),
                // MemberOfGroup: direct membership by DN only
                ("MemberOfGroup -eq 'cn=fin,dc=x'", vec![0]),
                ("MemberOfGroup -eq 'CN=Sub,DC=x'", vec![1]),
                ("MemberOfGroup -ne 'CN=Fin,DC=x'", vec![1, 2, 3]),
                ("MemberOfGroup -like 'CN=*'", vec![0, 1]),
                ("MemberOfGroup -eq $null", vec![2, 3]),
                ("MemberOfGroup -eq 'Fin'", vec![]),
                // AdministrativeUnits: from administrative_unit_members, by AU DN
                ("AdministrativeUnits -eq 'CN=Oslo,CN=AU'", vec![3]),
            ] {
                assert_eq!(matches(ctx, filter), expected, "{filter}");
            }
        });
    }

    #[test]
    fn member_of_group_with_a_name_suggests_the_dn() {
        with_context(|ctx| {
            let c = ctx.compile("MemberOfGroup -eq 'Fin'").unwrap();
            assert_eq!(c.notes.len(), 1);
            assert_eq!(c.notes[0].kind, kind::MEMBER_OF_GROUP_NOT_DN);
            assert!(
                c.notes[0]
                    .message
                    .ends_with("did you mean the DN of group 'Fin': 'CN=Fin,DC=x'?"),
                "{}",
                c.notes[0].message
            );
            assert_eq!(c.notes[0].span, 18..23);
        });
    }

    #[test]
    fn wildcard_not_at_the_end_is_linted_but_honoured() {
        with_context(|ctx| {
            let c = ctx.compile("Department -like '*ing'").unwrap();
            assert_eq!(
                c.notes.iter().map(|n| n.kind).collect::<Vec<_>>(),
                [kind::FILTER_LINT]
            );
            assert!(ctx
                .compile("Department -like 'eng*'")
                .unwrap()
                .notes
                .is_empty());
        });
    }

    #[test]
    fn errors_table() {
        use FilterErrorKind::*;
        let unknown = |name: &str, close: &[&str]| UnknownProperty {
            name: name.to_string(),
            close: close.iter().map(|c| c.to_string()).collect(),
        };
        with_context(|ctx| {
            for (filter, kind, message, span, hint) in [
                ("Departmnt -eq 'x'", unknown("Departmnt", &["Department"]), "unknown property 'Departmnt': the mailboxes table (mailboxes.csv) has no such column", 0..9, Some("did you mean Department?")),
                ("Colour -eq 'x'", unknown("Colour", &[]), "unknown property 'Colour': the mailboxes table (mailboxes.csv) has no such column", 0..6, Some("export the property as a column of mailboxes.csv, or check the spelling")),
                ("Department -like $null", NullComparison, "-like cannot compare with $null", 11..22, Some("use -eq $null for a blank property and -ne $null for a filled one")),
                ("Office -gt $null", NullComparison, "-gt cannot compare with $null", 7..16, Some("use -eq $null for a blank property and -ne $null for a filled one")),
                ("", Empty, "the filter is empty", 0..0, Some("write at least one comparison, e.g. Department -eq 'Sales'")),
            ] {
                let e = ctx.compile(filter).unwrap_err();
                assert_eq!((&e.kind, e.message.as_str(), e.span.clone(), e.hint.as_deref()), (&kind, message, span, hint), "{filter}");
            }
            for (filter, kind) in [
                ("Alias -contains 'a'", UnknownToken),
                ("Alias -eq 'a", UnterminatedValue),
                ("Alias -eq 'a' Office", Unexpected),
                ("Alias -eq", Incomplete),
                ("(Alias -eq 'a'", Incomplete),
                ("Alias -eq a", Unexpected),
            ] {
                assert_eq!(ctx.compile(filter).unwrap_err().kind, kind, "{filter}");
            }
            let deep = format!("{}Alias -eq 'a'{}", "(".repeat(100), ")".repeat(100));
            assert_eq!(ctx.compile(&deep).unwrap_err().kind, TooDeep);
        });
    }

    #[test]
    fn unknown_property_renders_with_caret_and_close_names() {
        with_context(|ctx| {
            let filter = "Alias -eq 'a' -and Deparment -eq 'Sales'";
            let e = ctx.compile(filter).unwrap_err();
            assert_eq!(
                e.render(filter),
                "  Alias -eq 'a' -and Deparment -eq 'Sales'\n                     ^^^^^^^^^\n  unknown property 'Deparment': the mailboxes table (mailboxes.csv) has no such column\n  hint: did you mean Department?"
            );
        });
    }

    #[test]
    fn a_batch_answers_each_filter_as_alone_and_keeps_errors_apart() {
        with_context(|ctx| {
            // Shared comparisons, negations in every position, and a bad filter
            // in the middle that must not disturb the others.
            let filters = [
                "Department -eq 'sales'",
                "Department -ne 'sales' -and Office -ne $null",
                "Nope -eq 1",
                "-not (Department -eq 'sales' -or Alias -like '*e*')",
                "Department -ne 'sales' -or Alias -eq 'ann'",
                "Department -eq 'sales'",
            ];
            let batch = ctx.compile_all(&filters);
            assert_eq!(batch.len(), filters.len());
            for (filter, result) in filters.iter().zip(batch) {
                match (result, ctx.compile(filter)) {
                    (Ok(b), Ok(one)) => {
                        assert_eq!(b.bitmap, one.bitmap, "{filter}");
                        let naive: Vec<u32> =
                            (0..4).filter(|&r| ctx.eval_row(&b.plan, r)).collect();
                        assert_eq!(b.bitmap.iter().collect::<Vec<_>>(), naive, "{filter}");
                    }
                    (Err(b), Err(one)) => assert_eq!(b.kind, one.kind, "{filter}"),
                    (b, one) => panic!("{filter}: batch {:?}, alone {:?}", b.is_ok(), one.is_ok()),
                }
            }
            assert_eq!(
                matches(ctx, "Department -ne 'sales' -or Alias -eq 'ann'"),
                [0, 2, 3]
            );
        });
    }

    /// The primary address and EmailAddresses, read from the same cells in one
    /// pass when a batch compares both, answer as each compared alone.
    #[test]
    fn addresses_compared_together_answer_as_alone() {
        with_context(|ctx| {
            let filters = [
                "PrimarySmtpAddress -like '*lee@*'",
                "EmailAddresses -like 'smtp:*'",
                "PrimarySmtpAddress -eq 'helpdesk@contoso.com'",
                "EmailAddresses -eq 'x500:/o=x/cn=ann'",
                "PrimarySmtpAddress -ne $null -and EmailAddresses -eq $null",
                "PrimarySmtpAddress -lt 'c' -and -not (EmailAddresses -like '*bob*')",
            ];
            let batch = ctx.compile_all(&filters);
            let alone: Vec<Vec<u32>> = filters.iter().map(|f| matches(ctx, f)).collect();
            let together: Vec<Vec<u32>> = batch
                .into_iter()
                .map(|c| c.unwrap().bitmap.iter().collect())
                .collect();
            assert_eq!(together, alone);
            assert_eq!(alone[0], [0], "an smtp: proxy is a primary address");
            assert_eq!(alone[1], [0, 1, 2]);
            assert_eq!(alone[2], [2]);
            assert_eq!(alone[3], [0]);
            assert_eq!(alone[4], [3]);
            assert_eq!(alone[5], [0]);
        });
    }

    /// Nested filters whose `-and`s mix a narrow comparison with broad ones and
    /// negations, in batches: the parts worked out within the narrow part's
    /// mailboxes must give each filter the rows that row-by-row evaluation gives.
    #[test]
    fn nested_filters_worked_out_within_their_narrow_parts_match_rows() {
        let mut csv =
            String::from("ExternalDirectoryObjectId,PrimarySmtpAddress,Alias,Department,Office\n");
        for r in 0..600u32 {
            let department = ["Sales", "Legal", "IT"][(r % 3) as usize];
            csv += &format!(
                "00000000-0000-4000-8000-{r:012},u{r}@contoso.com,a{r},{department},{}\n",
                r % 50
            );
        }
        let mut s = snapshot();
        s.mailboxes = parse_csv(csv.as_bytes(), "mailboxes.csv", MAILBOXES_SPEC).unwrap();
        let dir = Directory::build(&s, &mut Findings::default()).unwrap();
        let ctx = FilterContext::new(&s.mailboxes, &dir);
        const LEAVES: [&str; 10] = [
            "Office -eq '7'",
            "Alias -eq 'a12'",
            "Alias -like 'a1*'",
            "Alias -like '*3*'",
            "Department -eq 'Sales'",
            "Department -ne 'IT'",
            "Office -lt 25",
            "Office -notlike '*1*'",
            "PrimarySmtpAddress -like '*@contoso.com'",
            "Office -eq $null",
        ];
        fn filter(rng: &mut crate::generate::Rng, depth: u32) -> String {
            if depth == 0 || rng.below(3) == 0 {
                return LEAVES[rng.below(LEAVES.len() as u64) as usize].to_string();
            }
            let parts: Vec<String> = (0..2 + rng.below(3))
                .map(|_| filter(rng, depth - 1))
                .collect();
            let joined = parts.join(if rng.below(2) == 0 { " -and " } else { " -or " });
            match rng.below(4) {
                0 => format!("-not ({joined})"),
                _ => format!("({joined})"),
            }
        }
        let mut rng = crate::generate::Rng::new(11);
        for _ in 0..20 {
            let texts: Vec<String> = (0..50).map(|_| filter(&mut rng, 4)).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            for (text, compiled) in refs.iter().zip(ctx.compile_all(&refs)) {
                let c = compiled.unwrap_or_else(|e| panic!("{text}: {}", e.render(text)));
                let naive: Vec<u32> = (0..600).filter(|&r| ctx.eval_row(&c.plan, r)).collect();
                assert_eq!(c.bitmap.iter().collect::<Vec<_>>(), naive, "{text}");
            }
        }
    }

    #[test]
    fn random_filters_never_panic_and_bitmaps_match_rows() {
        const PIECES: [&str; 40] = [
            "Department",
            "Office",
            "WhenCreated",
            "EmailAddresses",
            "MemberOfGroup",
            "PrimarySmtpAddress",
            "AdministrativeUnits",
            "ExtensionCustomAttribute1",
            "Nope",
            " -eq ",
            " -ne ",
            " -like ",
            " -notlike ",
            " -lt ",
            " -ge ",
            " -and ",
            " -or ",
            " -not ",
            "(",
            ")",
            "'sales'",
            "'s*'",
            "'*a*b'",
            "''",
            "'it''s'",
            "\"x\"",
            "10",
            "-3.5",
            "$null",
            "$true",
            "'2019-01-01'",
            "'1/1/2018'",
            "'CN=Fin,DC=x'",
            "'é'",
            "é",
            " ",
            "'",
            "\"",
            "-",
            "$x",
        ];
        with_context(|ctx| {
            let mut rng = crate::generate::Rng::new(7);
            for _ in 0..20_000 {
                let len = 1 + rng.below(9) as usize;
                let text: String = (0..len)
                    .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
                    .collect();
                match ctx.compile(&text) {
                    Ok(c) => {
                        let naive: Vec<u32> =
                            (0..4).filter(|&r| ctx.eval_row(&c.plan, r)).collect();
                        assert_eq!(c.bitmap.iter().collect::<Vec<_>>(), naive, "{text}");
                    }
                    Err(e) => {
                        let _ = e.render(&text);
                    }
                }
            }
        });
    }
}
