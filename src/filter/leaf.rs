//! One comparison of a filter as a test of a row's values (DESIGN §3.4): what
//! `-eq`, `-like`, `$null` and the ordering operators mean for a property that
//! holds none, one or several values. The batch evaluation in `scan.rs` must
//! agree with [`Test::holds`] on every row; explain and the tests use it as the
//! row-by-row reference.

use super::ast::Op;
use super::plan::{Leaf, Property};
use super::value::{wildcard_match, OrderingTest};

/// A comparison ready to test values. Values are compared case-insensitively;
/// literals are lower-cased already.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `-eq $null` (blank), or with `negate` `-ne $null` (filled).
    Blank { negate: bool },
    /// `-eq` (some value equals), or with `negate` `-ne` (none does).
    Equals {
        value: String,
        /// EmailAddresses compared without a prefix also matches `smtp:value`.
        smtp: Option<String>,
        negate: bool,
    },
    /// `-like` (some value matches the pattern), or with `negate` `-notlike`.
    Like { pattern: Pattern, negate: bool },
    /// `-lt -gt -le -ge`: some value satisfies it.
    Order(OrderingTest),
}

/// A `*` wildcard pattern, lower-cased, with its literal pieces.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub text: String,
    /// The text between the stars, in order; empty pieces dropped.
    pub pieces: Vec<String>,
    /// The pattern has one star, at its end: a prefix test.
    pub prefix: bool,
    /// `*abc`: one star, at the start.
    pub suffix: bool,
}

impl Pattern {
    pub fn new(text: &str) -> Pattern {
        let stars = text.matches('*').count();
        Pattern {
            text: text.to_string(),
            pieces: text
                .split('*')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            prefix: stars == 1 && text.ends_with('*'),
            suffix: stars == 1 && text.len() > 1 && text.starts_with('*'),
        }
    }

    /// Whether a value (in any case) matches the whole pattern.
    pub fn matches(&self, value: &str) -> bool {
        with_lower(value, |v| wildcard_match(&self.text, v))
    }
}

impl Test {
    pub fn new(leaf: &Leaf) -> Test {
        let email = matches!(
            leaf.property,
            Property::Column {
                email_addresses: true,
                ..
            }
        );
        let negate = matches!(leaf.op, Op::Ne | Op::NotLike);
        match (leaf.op, leaf.value.as_deref()) {
            (Op::Eq | Op::Ne, None) => Test::Blank { negate },
            (Op::Eq | Op::Ne, Some(v)) => Test::Equals {
                value: v.to_string(),
                smtp: (email && !v.contains(':')).then(|| format!("smtp:{v}")),
                negate,
            },
            (Op::Like | Op::NotLike, Some(p)) if !p.contains('*') => Test::Equals {
                value: p.to_string(),
                smtp: None,
                negate,
            },
            (Op::Like | Op::NotLike, Some(p)) => Test::Like {
                pattern: Pattern::new(p),
                negate,
            },
            (op, Some(v)) => Test::Order(OrderingTest::new(op, v)),
            // Planning refuses $null with the other operators.
            (_, None) => Test::Blank { negate: false },
        }
    }

    /// Whether the test holds for a row holding `values` (trimmed, non-empty).
    pub fn holds<'v>(&self, values: impl IntoIterator<Item = &'v str>) -> bool {
        let mut values = values.into_iter();
        match self {
            Test::Blank { negate } => values.next().is_none() != *negate,
            Test::Equals {
                value,
                smtp,
                negate,
            } => {
                values
                    .any(|v| eq_lower(value, v) || smtp.as_deref().is_some_and(|s| eq_lower(s, v)))
                    != *negate
            }
            Test::Like { pattern, negate } => values.any(|v| pattern.matches(v)) != *negate,
            Test::Order(test) => values.any(|v| test.holds_text(v)),
        }
    }

    /// Whether the rows the batch evaluation finds are the complement of the
    /// matching rows (`-ne`, `-notlike`, `-ne $null`).
    pub fn negated(&self) -> bool {
        match self {
            Test::Blank { negate } | Test::Equals { negate, .. } | Test::Like { negate, .. } => {
                *negate
            }
            Test::Order(_) => false,
        }
    }
}

/// Calls `f` with `value` lower-cased, allocating only when it has upper-case
/// letters or non-ASCII characters.
pub fn with_lower<R>(value: &str, f: impl FnOnce(&str) -> R) -> R {
    if value
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        f(&value.to_lowercase())
    } else {
        f(value)
    }
}

/// Whether `value` (any case) equals `lower` (lower-cased already).
pub fn eq_lower(lower: &str, value: &str) -> bool {
    if value.is_ascii() {
        lower.len() == value.len()
            && lower
                .bytes()
                .zip(value.bytes())
                .all(|(a, b)| a == b.to_ascii_lowercase())
    } else {
        value.to_lowercase() == lower
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_equality_table() {
        for (lower, value, equal) in [
            ("sales", "SALES", true),
            ("sales", "Sales ", false),
            ("müller", "MÜLLER", true),
            ("müller", "muller", false),
            ("a@b.com", "A@B.COM", true),
        ] {
            assert_eq!(eq_lower(lower, value), equal, "{lower} {value}");
        }
    }

    #[test]
    fn patterns_know_their_pieces() {
        let p = Pattern::new("ab*cd*");
        assert_eq!(p.pieces, ["ab", "cd"]);
        assert!(!p.prefix);
        assert!(Pattern::new("ab*").prefix);
        assert!(Pattern::new("*ab").suffix && !Pattern::new("*").suffix);
        assert!(!Pattern::new("*ab*").suffix && !Pattern::new("a*b").suffix);
        assert!(Pattern::new("*").pieces.is_empty());
        assert!(p.matches("ABxCDy"));
    }
}
