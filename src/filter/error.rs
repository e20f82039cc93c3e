//! Filter errors and warnings with spans, rendered with a caret line under the filter.

use std::fmt;

use super::ast::Span;

/// What kind of mistake makes a filter unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterErrorKind {
    /// A character, operator, variable or number the language does not have.
    UnknownToken,
    /// A quoted value without its closing quote.
    UnterminatedValue,
    /// A token where the grammar wants another: a property, an operator, a
    /// value, a closing parenthesis, or an unquoted word as a value.
    Unexpected,
    /// The filter ends inside a comparison, or a '(' is never closed.
    Incomplete,
    /// The filter holds no comparison at all.
    Empty,
    /// Parentheses and `-not` nest deeper than [`super::MAX_NESTING`].
    TooDeep,
    /// The mailboxes table has no such property; `close` lists near names.
    UnknownProperty { name: String, close: Vec<String> },
    /// An operator other than `-eq` / `-ne` compares with `$null`.
    NullComparison,
}

/// Why a filter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub kind: FilterErrorKind,
    pub message: String,
    pub span: Span,
    pub hint: Option<String>,
}

impl FilterError {
    pub fn new(kind: FilterErrorKind, message: impl Into<String>, span: Span) -> FilterError {
        FilterError {
            kind,
            message: message.into(),
            span,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> FilterError {
        self.hint = Some(hint.into());
        self
    }

    /// The filter, a caret line under the span, the message and the hint.
    pub fn render(&self, filter: &str) -> String {
        render(filter, &self.span, &self.message, self.hint.as_deref())
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.span.start)
    }
}

impl std::error::Error for FilterError {}

/// Renders `filter` with `^` under `span` (at least one caret), then the message and hint.
pub fn render(filter: &str, span: &Span, message: &str, hint: Option<&str>) -> String {
    let start = span.start.min(filter.len());
    let end = span.end.clamp(start, filter.len());
    let pad = filter[..start].chars().count();
    let width = filter[start..end].chars().count().max(1);
    let mut out = format!(
        "  {filter}\n  {}{}\n  {message}",
        " ".repeat(pad),
        "^".repeat(width)
    );
    if let Some(hint) = hint {
        out.push_str("\n  hint: ");
        out.push_str(hint);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_span() {
        let e = FilterError::new(
            FilterErrorKind::UnknownToken,
            "unknown operator '-contains'",
            11..20,
        )
        .with_hint("use -like");
        assert_eq!(
            e.render("Department -contains 'x'"),
            "  Department -contains 'x'\n             ^^^^^^^^^\n  unknown operator '-contains'\n  hint: use -like"
        );
    }

    #[test]
    fn span_at_end_gets_one_caret() {
        assert_eq!(
            render("A -eq", &(5..5), "value expected", None),
            "  A -eq\n       ^\n  value expected"
        );
    }
}
