//! Filter errors and warnings with spans, rendered with a caret line under the filter.

use std::fmt;

use super::ast::Span;

/// Why a filter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
    pub span: Span,
    pub hint: Option<String>,
}

impl FilterError {
    pub fn new(message: impl Into<String>, span: Span) -> FilterError {
        FilterError {
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
        let e = FilterError::new("unknown operator '-contains'", 11..20).with_hint("use -like");
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
