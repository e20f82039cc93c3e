//! Recursive-descent parser: one `parse_<rule>` per production of the grammar in
//! [`crate::filter`]. `-not` binds tighter than `-and`, which binds tighter than `-or`.

use super::ast::{Comparison, Expr, Span, Value};
use super::error::{FilterError, FilterErrorKind};
use super::lexer::{tokenize, Token};

/// How deep parentheses and `-not` may nest before the filter is refused.
pub const MAX_NESTING: usize = 64;

/// A warning about a filter that is valid but may not mean what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    pub message: String,
    pub span: Span,
}

/// A parsed filter and its lint warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub expr: Expr,
    pub lints: Vec<Lint>,
}

/// Parses filter text into an expression.
pub fn parse(text: &str) -> Result<Parsed, FilterError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(
            FilterError::new(FilterErrorKind::Empty, "the filter is empty", 0..text.len())
                .with_hint("write at least one comparison, e.g. Department -eq 'Sales'"),
        );
    }
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
        lints: Vec::new(),
    };
    let (expr, _) = p.parse_or()?;
    if let Some((token, span)) = p.tokens.get(p.pos) {
        let hint = match token {
            Token::RParen => "this ')' has no matching '('",
            _ => "join comparisons with -and or -or",
        };
        return Err(FilterError::new(
            FilterErrorKind::Unexpected,
            format!("unexpected {}", token.describe()),
            span.clone(),
        )
        .with_hint(hint));
    }
    Ok(Parsed {
        expr,
        lints: p.lints,
    })
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(Token, Span)>,
    pos: usize,
    depth: usize,
    lints: Vec<Lint>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn end_span(&self) -> Span {
        self.text.len()..self.text.len()
    }

    fn span(&self) -> Span {
        self.tokens
            .get(self.pos)
            .map_or_else(|| self.end_span(), |(_, s)| s.clone())
    }

    fn next(&mut self) -> Option<(Token, Span)> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// `or := and ( "-or" and )*`; returns the expression and its span.
    fn parse_or(&mut self) -> Result<(Expr, Span), FilterError> {
        let (first, first_span, first_bare_and) = self.parse_and()?;
        let mut items = vec![first];
        let mut span = first_span;
        let mut bare_and = first_bare_and;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            let (next, next_span, next_bare) = self.parse_and()?;
            bare_and |= next_bare;
            span.end = next_span.end;
            items.push(next);
        }
        if items.len() == 1 {
            return Ok((items.pop().expect("one"), span));
        }
        if bare_and {
            self.lints.push(Lint {
                message: "-and and -or are mixed without parentheses; exomatrix reads -and as binding tighter, but Exchange does not document precedence: add parentheses".to_string(),
                span: span.clone(),
            });
        }
        Ok((Expr::Or(items), span))
    }

    /// `and := unary ( "-and" unary )*`; the flag says it joined several terms.
    fn parse_and(&mut self) -> Result<(Expr, Span, bool), FilterError> {
        let (first, mut span) = self.parse_unary()?;
        let mut items = vec![first];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            let (next, next_span) = self.parse_unary()?;
            span.end = next_span.end;
            items.push(next);
        }
        if items.len() == 1 {
            Ok((items.pop().expect("one"), span, false))
        } else {
            Ok((Expr::And(items), span, true))
        }
    }

    /// `unary := "-not" unary | "(" expr ")" | compare`
    fn parse_unary(&mut self) -> Result<(Expr, Span), FilterError> {
        let start = self.span();
        match self.peek() {
            Some(Token::Not) => {
                self.enter(&start)?;
                self.pos += 1;
                let (inner, span) = self.parse_unary()?;
                self.depth -= 1;
                Ok((Expr::Not(Box::new(inner)), start.start..span.end))
            }
            Some(Token::LParen) => {
                self.enter(&start)?;
                self.pos += 1;
                let (inner, _) = self.parse_or()?;
                self.depth -= 1;
                match self.next() {
                    Some((Token::RParen, end)) => Ok((inner, start.start..end.end)),
                    Some((token, span)) => Err(FilterError::new(
                        FilterErrorKind::Unexpected,
                        format!("expected ')' but found {}", token.describe()),
                        span,
                    )
                    .with_hint("close the '(' before this point, or join with -and / -or")),
                    None => Err(FilterError::new(
                        FilterErrorKind::Incomplete,
                        "missing ')'",
                        start.clone(),
                    )
                    .with_hint("this '(' is never closed")),
                }
            }
            _ => self.parse_compare(),
        }
    }

    fn enter(&mut self, span: &Span) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(FilterError::new(
                FilterErrorKind::TooDeep,
                format!("parentheses and -not nest deeper than {MAX_NESTING} levels"),
                span.clone(),
            )
            .with_hint("simplify the filter; no real recipient filter needs this depth"));
        }
        Ok(())
    }

    /// `compare := Property op value`
    fn parse_compare(&mut self) -> Result<(Expr, Span), FilterError> {
        let (property, property_span) = match self.next() {
            Some((Token::Ident(name), span)) => (name, span),
            Some((token, span)) => {
                return Err(FilterError::new(
                    FilterErrorKind::Unexpected,
                    format!("expected a property name but found {}", token.describe()),
                    span,
                )
                .with_hint("a comparison is Property -op 'value'"))
            }
            None => {
                return Err(FilterError::new(
                    FilterErrorKind::Incomplete,
                    "expected a comparison but the filter ends",
                    self.end_span(),
                )
                .with_hint("remove the trailing operator or add a comparison"))
            }
        };
        let (op, op_span) = match self.next() {
            Some((Token::Op(op), span)) => (op, span),
            Some((token, span)) => {
                return Err(FilterError::new(
                    FilterErrorKind::Unexpected,
                    format!(
                        "expected an operator after {property} but found {}",
                        token.describe()
                    ),
                    span,
                )
                .with_hint("operators are -eq, -ne, -like, -notlike, -lt, -gt, -le, -ge"))
            }
            None => {
                return Err(FilterError::new(
                    FilterErrorKind::Incomplete,
                    format!("expected an operator after {property}"),
                    self.end_span(),
                )
                .with_hint("operators are -eq, -ne, -like, -notlike, -lt, -gt, -le, -ge"))
            }
        };
        let (value, value_span) = match self.next() {
            Some((Token::Str(s), span)) => (Value::Text(s), span),
            Some((Token::Number(n), span)) => (Value::Number(n), span),
            Some((Token::True, span)) => (Value::Bool(true), span),
            Some((Token::False, span)) => (Value::Bool(false), span),
            Some((Token::Null, span)) => (Value::Null, span),
            Some((Token::Ident(word), span)) => {
                return Err(FilterError::new(
                    FilterErrorKind::Unexpected,
                    format!("value '{word}' is not quoted"),
                    span,
                )
                .with_hint(format!("write '{word}' in single quotes")))
            }
            Some((token, span)) => {
                return Err(FilterError::new(
                    FilterErrorKind::Unexpected,
                    format!(
                        "expected a value after {} but found {}",
                        op.as_str(),
                        token.describe()
                    ),
                    span,
                )
                .with_hint("a value is 'quoted text', a number, $true, $false or $null"))
            }
            None => {
                return Err(FilterError::new(
                    FilterErrorKind::Incomplete,
                    format!("expected a value after {}", op.as_str()),
                    self.end_span(),
                )
                .with_hint("a value is 'quoted text', a number, $true, $false or $null"))
            }
        };
        let span = property_span.start..value_span.end;
        Ok((
            Expr::Compare(Comparison {
                property,
                property_span,
                op,
                op_span,
                value,
                value_span,
            }),
            span,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::ast::Op;

    fn cmp(p: &str, op: Op, v: &str) -> Expr {
        Expr::Compare(Comparison {
            property: p.into(),
            property_span: 0..0,
            op,
            op_span: 0..0,
            value: Value::Text(v.into()),
            value_span: 0..0,
        })
    }

    fn strip(e: Expr) -> Expr {
        match e {
            Expr::And(v) => Expr::And(v.into_iter().map(strip).collect()),
            Expr::Or(v) => Expr::Or(v.into_iter().map(strip).collect()),
            Expr::Not(b) => Expr::Not(Box::new(strip(*b))),
            Expr::Compare(c) => Expr::Compare(Comparison {
                property_span: 0..0,
                op_span: 0..0,
                value_span: 0..0,
                ..c
            }),
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_the_mix_is_linted() {
        let p = parse("A -eq '1' -or B -eq '2' -and C -eq '3'").unwrap();
        assert_eq!(
            strip(p.expr),
            Expr::Or(vec![
                cmp("A", Op::Eq, "1"),
                Expr::And(vec![cmp("B", Op::Eq, "2"), cmp("C", Op::Eq, "3")])
            ])
        );
        assert_eq!(p.lints.len(), 1);
    }

    #[test]
    fn parentheses_group_and_silence_the_lint() {
        let p = parse("(A -eq '1' -or B -eq '2') -and -not C -eq '3'").unwrap();
        assert_eq!(
            strip(p.expr),
            Expr::And(vec![
                Expr::Or(vec![cmp("A", Op::Eq, "1"), cmp("B", Op::Eq, "2")]),
                Expr::Not(Box::new(cmp("C", Op::Eq, "3"))),
            ])
        );
        assert!(p.lints.is_empty());
        assert!(parse("A -eq '1' -or (B -eq '2' -and C -eq '3')")
            .unwrap()
            .lints
            .is_empty());
    }

    #[test]
    fn error_positions_table() {
        for (text, message, span) in [
            ("", "the filter is empty", 0..0),
            ("   ", "the filter is empty", 0..3),
            ("A -eq", "expected a value after -eq", 5..5),
            (
                "A 'x'",
                "expected an operator after A but found a quoted value",
                2..5,
            ),
            ("(A -eq 'x'", "missing ')'", 0..1),
            ("A -eq 'x')", "unexpected ')'", 9..10),
            ("A -eq x", "value 'x' is not quoted", 6..7),
            (
                "A -eq 'x' -and",
                "expected a comparison but the filter ends",
                14..14,
            ),
            (
                "A -eq 'x' B -eq 'y'",
                "unexpected property name 'B'",
                10..11,
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(
                (e.message.as_str(), e.span.clone()),
                (message, span),
                "{text}"
            );
        }
    }

    #[test]
    fn nesting_is_capped_with_its_own_error() {
        let deep = format!(
            "{}A -eq 'x'{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert!(parse(&deep)
            .unwrap_err()
            .message
            .contains("nest deeper than 64"));
        let nots = format!("{}A -eq 'x'", "-not ".repeat(10_000));
        assert!(parse(&nots).unwrap_err().message.contains("nest deeper"));
        let ok = format!(
            "{}A -eq 'x'{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert!(parse(&ok).is_ok());
    }
}
