//! The plan of a filter: each comparison with its property resolved against the
//! snapshot and its value lower-cased, ready to evaluate; and the notes
//! (lints, suspicious values) planning found.

use super::ast::{Op, Span};

/// Properties holding several values; every other property holds one.
pub const MULTI_VALUED: [&str; 7] = [
    "EmailAddresses",
    "AdministrativeUnits",
    "ExtensionCustomAttribute1",
    "ExtensionCustomAttribute2",
    "ExtensionCustomAttribute3",
    "ExtensionCustomAttribute4",
    "ExtensionCustomAttribute5",
];

/// A property a filter can test, resolved against the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Property {
    /// A mailboxes column by index; `multi` splits on `;`.
    Column {
        index: usize,
        multi: bool,
        email_addresses: bool,
    },
    /// PrimarySmtpAddress, which also matches `smtp:` proxies.
    PrimarySmtpAddress,
    /// Direct group membership by group DN, from group_members.
    MemberOfGroup,
    /// Administrative unit membership by AU DN, from administrative_unit_members.
    AdministrativeUnits,
}

/// A resolved filter, ready for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    And(Vec<Plan>),
    Or(Vec<Plan>),
    Not(Box<Plan>),
    Leaf(Leaf),
}

impl Plan {
    /// Calls `f` on every leaf.
    pub fn visit_leaves(&self, f: &mut impl FnMut(&Leaf)) {
        match self {
            Plan::And(items) | Plan::Or(items) => items.iter().for_each(|p| p.visit_leaves(f)),
            Plan::Not(inner) => inner.visit_leaves(f),
            Plan::Leaf(leaf) => f(leaf),
        }
    }
}

/// One comparison with its property resolved and its value lower-cased.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub property: Property,
    pub name: String,
    pub op: Op,
    /// Lower-cased text of the value; `None` is `$null`.
    pub value: Option<String>,
    pub span: Span,
}

/// Something worth reporting about a valid filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// A finding kind from [`crate::findings::kind`].
    pub kind: &'static str,
    pub message: String,
    pub span: Span,
}
