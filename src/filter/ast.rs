//! The syntax tree of a recipient filter, with byte spans into the filter text.

use std::ops::Range;

/// Byte range into the filter text.
pub type Span = Range<usize>;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Like,
    NotLike,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "-eq",
            Op::Ne => "-ne",
            Op::Like => "-like",
            Op::NotLike => "-notlike",
            Op::Lt => "-lt",
            Op::Gt => "-gt",
            Op::Le => "-le",
            Op::Ge => "-ge",
        }
    }

    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Gt | Op::Le | Op::Ge)
    }
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A quoted string, escapes resolved.
    Text(String),
    /// A number as written (`[+-]digits[.digits]`).
    Number(String),
    /// `$true` or `$false`.
    Bool(bool),
    /// `$null`.
    Null,
}

impl Value {
    /// The text the value compares as; `None` for `$null`.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Text(t) | Value::Number(t) => Some(t.clone()),
            Value::Bool(true) => Some("True".to_string()),
            Value::Bool(false) => Some("False".to_string()),
            Value::Null => None,
        }
    }
}

/// `Property op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub property: String,
    pub property_span: Span,
    pub op: Op,
    pub op_span: Span,
    pub value: Value,
    pub value_span: Span,
}

/// A filter expression. `And` and `Or` are n-ary.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare(Comparison),
}
