//! Property tests: the fast paths (inverted indexes, row keys, bitmap algebra,
//! per-app evaluation) against deliberately naive reference evaluations written
//! here from DESIGN §3, on random mailbox tables and random small tenants.
//!
//! The references share only the value parsers (`parse_number`, `parse_date`),
//! which have their own table tests; everything else (multi-valued semantics,
//! blanks, proxies, negation, nesting, the §3.2 rule, the §3.5 formula) is
//! re-derived row by row or cell by cell.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use common::{ms, Scope, Tenant};
use exomatrix::analysis::{Analysis, AnalysisOptions};
use exomatrix::directory::Directory;
use exomatrix::explain::Explainer;
use exomatrix::filter::ast::Op;
use exomatrix::filter::value::{parse_date, parse_number, wildcard_match};
use exomatrix::filter::FilterContext;
use exomatrix::matrix::Via;
use exomatrix::policy::aap::allow_bitmap;
use exomatrix::policy::{permissions, Nesting, PolicyOptions};
use exomatrix::snapshot::Snapshot;
use exomatrix::Findings;
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------------------
// Filters: compiled bitmap == naive row-by-row evaluation of the same AST.

/// Cell values: blanks, case variants, padding, numbers, dates, odd characters.
const CELLS: &[&str] = &[
    "",
    "Sales",
    "sales",
    " Sales ",
    "IT",
    "R&D",
    "10",
    "9",
    "-3.5",
    "+2",
    "2019-01-01",
    "2019-01-01T10:00:00Z",
    "1/2/2018",
    "12/31/2017 1:00:00 PM",
    "o'neil",
    "é",
    "É",
    "s",
    "Presales",
    "MÜLLER",
];

const PROXIES: &[&str] = &[
    "smtp:a@x.com",
    "SMTP:B@X.COM",
    "smtp:shared@x.com",
    "X500:/o=Contoso/cn=a",
    "sip:a@x.com",
    "smtp:",
];

/// Filter literals: the cells, patterns, addresses and group DNs.
const LITERALS: &[&str] = &[
    "sales",
    "SALES",
    "it",
    "r&d",
    "10",
    "9.5",
    "2019-01-01",
    "1/1/2019",
    "s*",
    "*a*",
    "*",
    "*les",
    "s*s",
    "*a*e*",
    "pre*",
    "é*",
    "*ü*",
    "müller",
    "*x.com",
    "",
    "o'neil",
    "é",
    "a@x.com",
    "smtp:a@x.com",
    "b@x.com",
    "shared@x.com",
    "m1@x.com",
    "x500:*",
    "cn=g0,dc=x",
    "CN=G1,DC=x",
    "G2",
];

const NUMBERS: &[&str] = &["10", "-3.5", "2", "0"];

const PROPERTIES: &[&str] = &[
    "Department",
    "CustomAttribute1",
    "ExtensionCustomAttribute1",
    "EmailAddresses",
    "PrimarySmtpAddress",
    "MemberOfGroup",
];

const GROUPS: usize = 3;

#[derive(Debug, Clone)]
struct Row {
    department: &'static str,
    custom1: &'static str,
    extension1: Vec<&'static str>,
    proxies: Vec<&'static str>,
    groups: Vec<bool>,
}

#[derive(Debug, Clone)]
enum Literal {
    Text(&'static str),
    Number(&'static str),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare(&'static str, Op, Literal),
}

const OPS: [Op; 8] = [
    Op::Eq,
    Op::Ne,
    Op::Like,
    Op::NotLike,
    Op::Lt,
    Op::Gt,
    Op::Le,
    Op::Ge,
];

fn row() -> impl Strategy<Value = Row> {
    (
        select(CELLS),
        select(CELLS),
        prop::collection::vec(select(CELLS), 0..4),
        prop::collection::vec(select(PROXIES), 0..3),
        prop::collection::vec(any::<bool>(), GROUPS),
    )
        .prop_map(|(department, custom1, extension1, proxies, groups)| Row {
            department,
            custom1,
            extension1,
            proxies,
            groups,
        })
}

fn compare() -> impl Strategy<Value = Filter> {
    let literal = prop_oneof![
        6 => select(LITERALS).prop_map(Literal::Text),
        1 => select(NUMBERS).prop_map(Literal::Number),
        1 => any::<bool>().prop_map(Literal::Bool),
        1 => Just(Literal::Null),
    ];
    (select(PROPERTIES), select(&OPS[..]), literal).prop_map(|(p, op, value)| {
        // `$null` only compares with -eq and -ne; anything else is a compile error.
        let op = match (&value, op) {
            (Literal::Null, Op::Eq | Op::Ne)
            | (Literal::Text(_) | Literal::Number(_) | Literal::Bool(_), _) => op,
            (Literal::Null, _) => Op::Eq,
        };
        Filter::Compare(p, op, value)
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    compare().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn render(f: &Filter) -> String {
    let join = |items: &[Filter], op: &str| {
        items
            .iter()
            .map(|i| format!("({})", render(i)))
            .collect::<Vec<_>>()
            .join(op)
    };
    match f {
        Filter::And(items) => join(items, " -and "),
        Filter::Or(items) => join(items, " -or "),
        Filter::Not(inner) => format!("-not ({})", render(inner)),
        Filter::Compare(p, op, value) => {
            let v = match value {
                Literal::Text(t) => format!("'{}'", t.replace('\'', "''")),
                Literal::Number(n) => n.to_string(),
                Literal::Bool(true) => "$true".into(),
                Literal::Bool(false) => "$false".into(),
                Literal::Null => "$null".into(),
            };
            format!("{p} {} {v}", op.as_str())
        }
    }
}

fn group_dn(g: usize) -> String {
    format!("CN=G{g},DC=x")
}

fn address(i: usize) -> String {
    format!("m{i}@x.com")
}

/// The values a property holds on a row, trimmed, blanks dropped.
fn values(rows: &[Row], i: usize, property: &str) -> Vec<String> {
    let r = &rows[i];
    let trimmed = |v: &[&str]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    match property {
        "Department" => trimmed(&[r.department]),
        "CustomAttribute1" => trimmed(&[r.custom1]),
        "ExtensionCustomAttribute1" => trimmed(&r.extension1),
        "EmailAddresses" => trimmed(&r.proxies),
        "PrimarySmtpAddress" => {
            let mut v = vec![address(i)];
            for p in &r.proxies {
                if p.len() > 5 && p[..5].eq_ignore_ascii_case("smtp:") {
                    v.push(p[5..].to_string());
                }
            }
            v
        }
        "MemberOfGroup" => (0..GROUPS).filter(|&g| r.groups[g]).map(group_dn).collect(),
        other => unreachable!("{other}"),
    }
}

fn ordered(op: Op, value: &str, literal: &str) -> bool {
    use std::cmp::Ordering;
    let ord = match (
        parse_number(value),
        parse_number(literal),
        parse_date(value),
        parse_date(literal),
    ) {
        (Some(a), Some(b), _, _) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (_, _, Some(a), Some(b)) => a.cmp(&b),
        _ => value.cmp(literal),
    };
    match op {
        Op::Lt => ord.is_lt(),
        Op::Le => ord.is_le(),
        Op::Gt => ord.is_gt(),
        Op::Ge => ord.is_ge(),
        _ => unreachable!(),
    }
}

/// DESIGN §3.4, one row at a time.
fn naive(f: &Filter, rows: &[Row], i: usize) -> bool {
    match f {
        Filter::And(items) => items.iter().all(|x| naive(x, rows, i)),
        Filter::Or(items) => items.iter().any(|x| naive(x, rows, i)),
        Filter::Not(inner) => !naive(inner, rows, i),
        Filter::Compare(property, op, literal) => {
            let vals: Vec<String> = values(rows, i, property)
                .iter()
                .map(|v| v.to_lowercase())
                .collect();
            let text = match literal {
                Literal::Text(t) | Literal::Number(t) => t.to_lowercase(),
                Literal::Bool(b) => if *b { "true" } else { "false" }.to_string(),
                Literal::Null => {
                    return (*op == Op::Eq) == vals.is_empty();
                }
            };
            let equal = |v: &String| {
                *v == text
                    || (*property == "EmailAddresses"
                        && !text.contains(':')
                        && *v == format!("smtp:{text}"))
            };
            match op {
                Op::Eq => vals.iter().any(equal),
                Op::Ne => !vals.iter().any(equal),
                Op::Like => vals.iter().any(|v| wildcard_match(&text, v)),
                Op::NotLike => !vals.iter().any(|v| wildcard_match(&text, v)),
                _ => vals.iter().any(|v| ordered(*op, v, &text)),
            }
        }
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write_mailboxes(dir: &Path, rows: &[Row]) {
    let mut m = String::from("ExternalDirectoryObjectId,PrimarySmtpAddress,Department,CustomAttribute1,ExtensionCustomAttribute1,EmailAddresses\n");
    let mut members = String::from("Group,Member\n");
    for (i, r) in rows.iter().enumerate() {
        writeln!(
            m,
            "{},{},{},{},{},{}",
            common::guid(1, i as u32),
            address(i),
            quote(r.department),
            quote(r.custom1),
            quote(&r.extension1.join(" ;")),
            quote(&r.proxies.join(";"))
        )
        .unwrap();
        for g in (0..GROUPS).filter(|&g| r.groups[g]) {
            writeln!(members, "{},{}", quote(&group_dn(g)), address(i)).unwrap();
        }
    }
    // A nested group: G0 in G1. MemberOfGroup is direct, so G0's members are not G1's.
    writeln!(members, "{},{}", quote(&group_dn(1)), quote(&group_dn(0))).unwrap();
    let mut groups = String::from("DistinguishedName,Name\n");
    for g in 0..GROUPS {
        writeln!(groups, "{},G{g}", quote(&group_dn(g))).unwrap();
    }
    std::fs::write(dir.join("mailboxes.csv"), m).unwrap();
    std::fs::write(dir.join("groups.csv"), groups).unwrap();
    std::fs::write(dir.join("group_members.csv"), members).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn compiled_filter_bitmap_equals_naive_row_evaluation(
        rows in prop::collection::vec(row(), 1..24),
        filters in prop::collection::vec(filter(), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        write_mailboxes(dir.path(), &rows);
        let snapshot = Snapshot::load(dir.path()).unwrap();
        let directory = Directory::build(&snapshot, &mut Findings::default()).unwrap();
        let ctx = FilterContext::new(&snapshot.mailboxes, &directory);
        let texts: Vec<String> = filters.iter().map(render).collect();
        // One at a time and all together (shared indexes built up front) must agree.
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let together = ctx.compile_all(&refs);
        for ((f, text), batch) in filters.iter().zip(&texts).zip(together) {
            let compiled = ctx.compile(text).map_err(|e| TestCaseError::fail(e.render(text)))?;
            let expected: Vec<u32> = (0..rows.len())
                .filter(|&i| naive(f, &rows, i))
                .map(|i| i as u32)
                .collect();
            let got: Vec<u32> = compiled.bitmap.iter().collect();
            prop_assert_eq!(&got, &expected, "filter {}", text);
            let batch = batch.map_err(|e| TestCaseError::fail(e.render(text)))?;
            prop_assert_eq!(batch.bitmap, compiled.bitmap, "compile_all on {}", text);
        }
    }
}

// ---------------------------------------------------------------------------
// Small random tenants: the AAP allow bitmap and the whole matrix.

const APPS: usize = 3;
const TENANT_GROUPS: usize = 4;
const ATTRIBUTES: &[&str] = &["", "x", "y", "X"];

#[derive(Debug, Clone)]
enum Target {
    Mailbox(usize),
    Group(usize),
}

#[derive(Debug, Clone)]
struct Policy {
    /// `None` is AppId `*`.
    app: Option<usize>,
    restrict: bool,
    scope: Target,
    valid: bool,
}

#[derive(Debug, Clone, Copy)]
enum RbacScope {
    Org,
    /// `CustomAttribute1 -eq 'value'` (or `-ne` when negated).
    Filter(usize, bool),
    Au(usize),
    Group(usize),
}

#[derive(Debug, Clone)]
struct Assignment {
    app: usize,
    role: usize,
    scope: RbacScope,
    enabled: bool,
}

#[derive(Debug, Clone)]
struct Spec {
    mailboxes: usize,
    attribute: Vec<usize>,
    /// Direct members of each group: mailboxes and other groups (cycles allowed).
    group_mailboxes: Vec<Vec<usize>>,
    group_groups: Vec<Vec<usize>>,
    au_members: Vec<Vec<usize>>,
    entra: Vec<(usize, usize)>,
    policies: Vec<Policy>,
    assignments: Vec<Assignment>,
    nesting: Nesting,
}

/// Entra grants the random tenants use (A-constrainable and not).
const ENTRA: &[&str] = &[
    "Mail.Read",
    "Mail.Send",
    "Calendars.Read",
    "Calendars.ReadBasic.All",
    "Mail.ReadBasic.All",
    "MailboxItem.Read.All",
];

/// RBAC roles with their permissions, written out from DESIGN §3.1.
const ROLES: &[(&str, &[&str])] = &[
    ("Application Mail.Read", &["Mail.Read"]),
    ("Application Calendars.Read", &["Calendars.Read"]),
    (
        "Application Mail Full Access",
        &["Mail.ReadWrite", "Mail.Send"],
    ),
    (
        "Application Exchange Full Access",
        &[
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.ReadWrite",
            "Calendars.ReadWrite",
            "Contacts.ReadWrite",
        ],
    ),
    ("Application MailboxItem.Read", &["MailboxItem.Read.All"]),
];

/// Whether a permission is AAP-constrainable (the `A` column of §3.1).
fn constrainable(permission: &str) -> bool {
    matches!(
        permission,
        "Mail.Read"
            | "Mail.ReadBasic"
            | "Mail.ReadWrite"
            | "Mail.Send"
            | "Mail.ReadBasic.All"
            | "MailboxSettings.Read"
            | "MailboxSettings.ReadWrite"
            | "Calendars.Read"
            | "Calendars.ReadWrite"
            | "Contacts.Read"
            | "Contacts.ReadWrite"
            | "EWS.AccessAsApp"
    )
}

fn spec() -> impl Strategy<Value = Spec> {
    (1usize..14).prop_flat_map(|n| {
        let target = prop_oneof![
            (0..n).prop_map(Target::Mailbox),
            (0..TENANT_GROUPS).prop_map(Target::Group),
        ];
        let policy = (
            prop::option::weighted(0.8, 0..APPS),
            any::<bool>(),
            target,
            prop::bool::weighted(0.85),
        )
            .prop_map(|(app, restrict, scope, valid)| Policy {
                app,
                restrict,
                scope,
                valid,
            });
        let scope = prop_oneof![
            Just(RbacScope::Org),
            (0..ATTRIBUTES.len(), any::<bool>()).prop_map(|(v, ne)| RbacScope::Filter(v, ne)),
            (0..2usize).prop_map(RbacScope::Au),
            (0..TENANT_GROUPS).prop_map(RbacScope::Group),
        ];
        let assignment = (0..APPS, 0..ROLES.len(), scope, prop::bool::weighted(0.85)).prop_map(
            |(app, role, scope, enabled)| Assignment {
                app,
                role,
                scope,
                enabled,
            },
        );
        (
            prop::collection::vec(0..ATTRIBUTES.len(), n),
            prop::collection::vec(prop::collection::vec(0..n, 0..4), TENANT_GROUPS),
            prop::collection::vec(prop::collection::vec(0..TENANT_GROUPS, 0..2), TENANT_GROUPS),
            prop::collection::vec(prop::collection::vec(0..n, 0..4), 2),
            prop::collection::vec((0..APPS, 0..ENTRA.len()), 0..6),
            prop::collection::vec(policy, 0..5),
            prop::collection::vec(assignment, 0..6),
            any::<bool>(),
        )
            .prop_map(
                move |(
                    attribute,
                    group_mailboxes,
                    group_groups,
                    au_members,
                    entra,
                    policies,
                    assignments,
                    direct,
                )| Spec {
                    mailboxes: n,
                    attribute,
                    group_mailboxes,
                    group_groups,
                    au_members,
                    entra,
                    policies,
                    assignments,
                    nesting: if direct {
                        Nesting::Direct
                    } else {
                        Nesting::Transitive
                    },
                },
            )
    })
}

fn app_name(a: usize) -> String {
    format!("App{a}")
}

fn group_name(g: usize) -> String {
    format!("G{g}")
}

impl Spec {
    fn tenant(&self) -> Tenant {
        let attribute: Vec<&str> = self.attribute.iter().map(|&v| ATTRIBUTES[v]).collect();
        let mut t = Tenant::new(self.mailboxes as u32)
            .column("CustomAttribute1", &attribute)
            .with_nesting(self.nesting);
        for g in 0..TENANT_GROUPS {
            let members: Vec<String> = self.group_mailboxes[g]
                .iter()
                .map(|m| format!("m{m}"))
                .chain(self.group_groups[g].iter().map(|&h| group_name(h)))
                .collect();
            let members: Vec<&str> = members.iter().map(String::as_str).collect();
            t = t.group(&group_name(g), &members);
        }
        for (u, members) in self.au_members.iter().enumerate() {
            let members: Vec<String> = members.iter().map(|m| format!("m{m}")).collect();
            let members: Vec<&str> = members.iter().map(String::as_str).collect();
            t = t.au(&format!("AU{u}"), &members);
        }
        for a in 0..APPS {
            t = t.app(&app_name(a));
        }
        for &(a, p) in &self.entra {
            t = t.entra(&app_name(a), ENTRA[p]);
        }
        for p in &self.policies {
            let app = p.app.map_or("*".to_string(), app_name);
            let scope = match p.scope {
                Target::Mailbox(m) => format!("m{m}"),
                Target::Group(g) => group_name(g),
            };
            let right = if p.restrict {
                "RestrictAccess"
            } else {
                "DenyAccess"
            };
            t = t.policy_row(&app, right, &scope, if p.valid { "True" } else { "False" });
        }
        for (v, value) in ATTRIBUTES.iter().enumerate() {
            for (ne, op) in [(false, "-eq"), (true, "-ne")] {
                t = t.scope(
                    &scope_name(v, ne),
                    &format!("CustomAttribute1 {op} '{value}'"),
                );
            }
        }
        for (i, a) in self.assignments.iter().enumerate() {
            let au;
            let group;
            let custom;
            let scope = match a.scope {
                RbacScope::Org => Scope::Org,
                RbacScope::Filter(v, ne) => {
                    custom = scope_name(v, ne);
                    Scope::Custom(&custom)
                }
                RbacScope::Au(u) => {
                    au = format!("AU{u}");
                    Scope::Au(&au)
                }
                RbacScope::Group(g) => {
                    group = group_name(g);
                    Scope::Group(&group)
                }
            };
            let who = t.object_id(&app_name(a.app));
            t = t.assign_raw(
                &format!("assignment{i}"),
                ROLES[a.role].0,
                &who,
                scope,
                if a.enabled { "True" } else { "False" },
            );
        }
        t
    }

    /// Mailboxes in a group, nested groups expanded when `nested` (cycles end the walk).
    fn group_members(&self, g: usize, nested: bool) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut stack = vec![g];
        while let Some(h) = stack.pop() {
            if !seen.insert(h) {
                continue;
            }
            out.extend(self.group_mailboxes[h].iter().copied());
            if nested {
                stack.extend(self.group_groups[h].iter().copied());
            }
        }
        out
    }

    /// `in(p, M)` of §3.2.
    fn in_policy(&self, p: &Policy, m: usize) -> bool {
        p.valid
            && match p.scope {
                Target::Mailbox(x) => x == m,
                Target::Group(g) => self
                    .group_members(g, self.nesting == Nesting::Transitive)
                    .contains(&m),
            }
    }

    /// The §3.2 decision for one app and one mailbox, as written there.
    fn aap_allows(&self, app: usize, m: usize) -> bool {
        let applies = |p: &&Policy| p.app.is_none_or(|a| a == app);
        let policies: Vec<&Policy> = self.policies.iter().filter(applies).collect();
        if policies.iter().any(|p| !p.restrict && self.in_policy(p, m)) {
            false
        } else if policies.iter().any(|p| p.restrict && self.in_policy(p, m)) {
            true
        } else {
            !policies.iter().any(|p| p.restrict)
        }
    }

    fn in_rbac_scope(&self, scope: RbacScope, m: usize) -> bool {
        match scope {
            RbacScope::Org => true,
            RbacScope::Filter(v, ne) => {
                let cell = ATTRIBUTES[self.attribute[m]];
                let literal = ATTRIBUTES[v];
                let equal = !cell.is_empty() && cell.eq_ignore_ascii_case(literal);
                equal != ne
            }
            RbacScope::Au(u) => self.au_members[u].contains(&m),
            RbacScope::Group(g) => self.group_members(g, false).contains(&m),
        }
    }

    /// The via bits (1 entra, 2 rbac) of one cell, from §3.5 as written.
    fn cell(&self, app: usize, permission: &str, m: usize) -> u8 {
        let entra = self
            .entra
            .iter()
            .any(|&(a, p)| a == app && ENTRA[p] == permission)
            && (!constrainable(permission) || self.aap_allows(app, m));
        let rbac = self.assignments.iter().any(|a| {
            a.app == app
                && a.enabled
                && ROLES[a.role].1.contains(&permission)
                && self.in_rbac_scope(a.scope, m)
        });
        u8::from(entra) | (u8::from(rbac) << 1)
    }
}

fn scope_name(v: usize, ne: bool) -> String {
    format!("attr{v}{}", if ne { "-not" } else { "" })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn aap_allow_bitmap_equals_the_per_mailbox_rule(spec in spec()) {
        let outcome = spec.tenant().analyze();
        let analysis = &outcome.analysis;
        for a in 0..APPS {
            let app = analysis
                .model
                .apps
                .apps
                .iter()
                .position(|x| x.display_name.as_deref() == Some(app_name(a).as_str()))
                .expect("app") as u32;
            let (_, allow) = allow_bitmap(
                &analysis.model.policies_of(app),
                &analysis.directory.all,
                spec.nesting,
            );
            let expected: Vec<u32> = (0..spec.mailboxes)
                .filter(|&m| spec.aap_allows(a, m))
                .map(|m| m as u32)
                .collect();
            prop_assert_eq!(allow.iter().collect::<Vec<_>>(), expected, "App{}", a);
        }
    }

    #[test]
    fn whole_matrix_equals_naive_per_cell_evaluation(spec in spec()) {
        let outcome = spec.tenant().analyze();
        for a in 0..APPS {
            for p in permissions::CATALOGUE {
                let expected: Vec<(String, u8)> = (0..spec.mailboxes)
                    .map(|m| (format!("m{m}"), spec.cell(a, p.name, m)))
                    .filter(|&(_, via)| via != 0)
                    .collect();
                prop_assert_eq!(
                    outcome.cells(&app_name(a), p.name),
                    expected,
                    "App{} {}",
                    a,
                    p.name
                );
            }
        }
        let total: usize = (0..APPS)
            .flat_map(|a| permissions::CATALOGUE.iter().map(move |p| (a, p.name)))
            .map(|(a, p)| (0..spec.mailboxes).filter(|&m| spec.cell(a, p, m) != 0).count())
            .sum();
        prop_assert_eq!(outcome.analysis.matrix.cells(), total as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `explain` loads only the app's own scopes and evaluates only that app:
    /// its verdict must still be the matrix's, for every app, permission and mailbox.
    #[test]
    fn explain_verdicts_equal_the_matrix(spec in spec()) {
        let dir = tempfile::tempdir().unwrap();
        let tenant = spec.tenant();
        tenant.write(dir.path());
        let options = AnalysisOptions {
            policy: PolicyOptions { aap_nesting: spec.nesting },
        };
        let analysis = Analysis::run(dir.path(), options).unwrap();
        for a in 0..APPS {
            let any = Explainer::load(dir.path(), &app_name(a), None, options.policy).unwrap();
            for m in 0..spec.mailboxes as u32 {
                let address = format!("m{m}@contoso.com");
                let focused =
                    Explainer::load(dir.path(), &app_name(a), Some(&address), options.policy)
                        .unwrap();
                for p in 0..permissions::CATALOGUE.len() as u8 {
                    let via = analysis.matrix.grant(any.app, p).map_or(Via::NONE, |g| {
                        Via::new(g.cells.entra.contains(m), g.cells.rbac.contains(m))
                    });
                    prop_assert_eq!(any.explain(p, m).via, via, "App{} {} m{}", a, p, m);
                    prop_assert_eq!(focused.explain(p, m).via, via, "focused: App{} {} m{}", a, p, m);
                }
            }
        }
    }
}

/// The generators reach the interesting corners (a guard against a property that
/// passes because its inputs are trivial).
#[test]
fn random_tenants_exercise_every_rule() {
    let spec = Spec {
        mailboxes: 4,
        attribute: vec![1, 2, 0, 3],
        group_mailboxes: vec![vec![0], vec![1], vec![], vec![3]],
        group_groups: vec![vec![1], vec![0], vec![], vec![]],
        au_members: vec![vec![2], vec![]],
        entra: vec![(0, 0), (1, 2), (2, 3)],
        policies: vec![
            Policy {
                app: Some(0),
                restrict: true,
                scope: Target::Group(0),
                valid: true,
            },
            Policy {
                app: None,
                restrict: false,
                scope: Target::Mailbox(1),
                valid: true,
            },
        ],
        assignments: vec![Assignment {
            app: 2,
            role: 1,
            scope: RbacScope::Filter(1, false),
            enabled: true,
        }],
        nesting: Nesting::Transitive,
    };
    let o = spec.tenant().analyze();
    // G0 ∋ m0 and (nested, cyclic) G1 ∋ m1, but the `*` deny removes m1.
    assert_eq!(o.reach("App0", "Mail.Read"), ms(&[0]));
    // Deny-only (the `*` policy) means all but m1.
    assert_eq!(o.reach("App1", "Calendars.Read"), ms(&[0, 2, 3]));
    // Calendars.ReadBasic.All is not constrainable; the RBAC scope adds nothing new.
    assert_eq!(
        o.reach("App2", "Calendars.ReadBasic.All"),
        ms(&[0, 1, 2, 3])
    );
    // `CustomAttribute1 -eq 'x'` matches 'x' and 'X'.
    assert_eq!(
        o.cells("App2", "Calendars.Read"),
        vec![("m0".into(), 2), ("m3".into(), 2)]
    );
    for (a, p) in [
        (0, "Mail.Read"),
        (1, "Calendars.Read"),
        (2, "Calendars.Read"),
    ] {
        let expected: Vec<(String, u8)> = (0..4)
            .map(|m| (format!("m{m}"), spec.cell(a, p, m)))
            .filter(|&(_, v)| v != 0)
            .collect();
        assert_eq!(o.cells(&app_name(a), p), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    /// DESIGN §7 on random tenants: the planned after-state, written as a
    /// snapshot and analyzed independently, gives every planned app exactly its
    /// before-state cells; no interim state loses a cell; no other app changes.
    #[test]
    fn migration_plan_keeps_every_cell_of_every_app(spec in spec()) {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        std::fs::create_dir(&snap).unwrap();
        spec.tenant().write(&snap);
        let options = AnalysisOptions {
            policy: PolicyOptions { aap_nesting: spec.nesting },
        };
        let before = Analysis::run(&snap, options).unwrap();
        let plan = exomatrix::plan::plan(
            &before,
            &exomatrix::plan::PlanOptions { apps: Vec::new(), nesting: spec.nesting },
        )
        .unwrap();
        let after_dir = dir.path().join("after");
        exomatrix::plan::after::write(&before.snapshot, &before.model, &plan, &after_dir).unwrap();
        let proof = exomatrix::plan::proof::prove(&before, &plan, &after_dir).unwrap();
        prop_assert!(proof.others_changed.is_empty(), "{:?}", proof.others_changed);

        // The after-state analyzed on its own, compared app by app by AppId.
        let after = Analysis::run(&after_dir, options).unwrap();
        let cells = |a: &Analysis, app_id: &str| -> Vec<(u8, Vec<u32>)> {
            let Some(i) = a.model.apps.by_app_id(app_id) else { return Vec::new() };
            a.matrix
                .grants
                .iter()
                .filter(|g| g.cells.app == i && !g.cells.is_empty())
                .map(|g| (g.cells.permission, g.cells.cells().iter().collect()))
                .collect()
        };
        for (p, a) in plan.apps.iter().zip(&proof.apps) {
            let app_id = &before.model.apps.apps[p.app as usize].app_id;
            prop_assert_eq!(a.status, exomatrix::plan::proof::Status::Equivalent, "{} {:?}", app_id, a.reasons);
            prop_assert_eq!(a.assigned.lost() + a.consent_removed.lost(), 0);
            prop_assert_eq!(cells(&after, app_id), cells(&before, app_id), "{}", app_id);
            // What moved to RBAC is exactly what the policies allowed.
            for r in &p.roles {
                let g = after.matrix.grant(after.model.apps.by_app_id(app_id).unwrap(), r.permission);
                let before_entra = before.matrix.grant(p.app, r.permission).map(|g| g.cells.entra.clone()).unwrap_or_default();
                let after_rbac = g.map(|g| g.cells.rbac.clone()).unwrap_or_default();
                prop_assert!(before_entra.is_subset(&after_rbac), "{} {}", app_id, r.role);
            }
        }
        // Every app whose policies narrow an Entra grant was planned.
        for (i, app) in before.model.apps.apps.iter().enumerate() {
            let narrowed = !before.model.app_policies[i].is_empty()
                && before.model.entra[i].iter().any(|g| permissions::info(g.permission).aap);
            prop_assert_eq!(narrowed, plan.apps.iter().any(|p| p.app == i as u32), "{}", app.app_id);
        }
    }
}
