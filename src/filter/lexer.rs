//! Tokens of the OPATH filter language, each with its byte span.

use super::ast::{Op, Span};
use super::error::{FilterError, FilterErrorKind};

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Op(Op),
    /// A property name.
    Ident(String),
    /// A quoted string, escapes resolved.
    Str(String),
    Number(String),
    True,
    False,
    Null,
}

impl Token {
    pub fn describe(&self) -> String {
        match self {
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::And => "-and".into(),
            Token::Or => "-or".into(),
            Token::Not => "-not".into(),
            Token::Op(op) => op.as_str().into(),
            Token::Ident(name) => format!("property name '{name}'"),
            Token::Str(_) => "a quoted value".into(),
            Token::Number(n) => format!("number {n}"),
            Token::True => "$true".into(),
            Token::False => "$false".into(),
            Token::Null => "$null".into(),
        }
    }
}

const OPERATORS: &str = "-eq, -ne, -like, -notlike, -lt, -gt, -le, -ge, -and, -or, -not";

/// Splits a filter into tokens.
pub fn tokenize(text: &str) -> Result<Vec<(Token, Span)>, FilterError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let token = match c {
            b'(' => {
                i += 1;
                Token::LParen
            }
            b')' => {
                i += 1;
                Token::RParen
            }
            b'\'' | b'"' => {
                let (value, end) = quoted(text, i)?;
                i = end;
                Token::Str(value)
            }
            b'-' if bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let word = text[start + 1..i].to_ascii_lowercase();
                match word.as_str() {
                    "eq" => Token::Op(Op::Eq),
                    "ne" => Token::Op(Op::Ne),
                    "like" => Token::Op(Op::Like),
                    "notlike" => Token::Op(Op::NotLike),
                    "lt" => Token::Op(Op::Lt),
                    "gt" => Token::Op(Op::Gt),
                    "le" => Token::Op(Op::Le),
                    "ge" => Token::Op(Op::Ge),
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    _ => {
                        let hint = match word.as_str() {
                            "contains" | "match" | "ilike" | "clike" => "to test part of a value use -like with * wildcards, e.g. -like '*text*'".to_string(),
                            "ceq" | "ieq" => "comparisons are always case-insensitive; use -eq".to_string(),
                            _ => format!("operators are {OPERATORS}"),
                        };
                        return Err(FilterError::new(
                            FilterErrorKind::UnknownToken,
                            format!("unknown operator '{}'", &text[start..i]),
                            start..i,
                        )
                        .with_hint(hint));
                    }
                }
            }
            b'$' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                match text[start + 1..i].to_ascii_lowercase().as_str() {
                    "true" => Token::True,
                    "false" => Token::False,
                    "null" => Token::Null,
                    _ => {
                        return Err(FilterError::new(
                            FilterErrorKind::UnknownToken,
                            format!("unknown variable '{}'", &text[start..i]),
                            start..i,
                        )
                        .with_hint("only $true, $false and $null are allowed; quote other values"))
                    }
                }
            }
            b'+' | b'-' | b'0'..=b'9' => {
                if c == b'+' || c == b'-' {
                    i += 1;
                }
                let digits = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if i == digits {
                    return Err(FilterError::new(
                        FilterErrorKind::UnknownToken,
                        format!("unexpected character '{}'", c as char),
                        start..start + 1,
                    )
                    .with_hint(
                        "a number is [+-]digits[.digits]; an operator starts with - and a letter",
                    ));
                }
                if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b')' {
                    let mut end = i;
                    while end < bytes.len()
                        && !bytes[end].is_ascii_whitespace()
                        && bytes[end] != b')'
                    {
                        end += 1;
                    }
                    return Err(FilterError::new(
                        FilterErrorKind::UnknownToken,
                        format!("'{}' is not a number", &text[start..end]),
                        start..end,
                    )
                    .with_hint(format!("quote text values: '{}'", &text[start..end])));
                }
                Token::Number(text[start..i].to_string())
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Token::Ident(text[start..i].to_string())
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                let end = i + ch.len_utf8();
                return Err(FilterError::new(
                    FilterErrorKind::UnknownToken,
                    format!("unexpected character '{ch}'"),
                    i..end,
                )
                .with_hint(
                    "a filter is Property -op 'value', joined with -and, -or, -not and parentheses",
                ));
            }
        };
        tokens.push((token, start..i));
    }
    Ok(tokens)
}

/// Reads a quoted string starting at `start`; a doubled quote stands for one quote.
fn quoted(text: &str, start: usize) -> Result<(String, usize), FilterError> {
    let bytes = text.as_bytes();
    let quote = bytes[start];
    let mut value = String::new();
    let mut i = start + 1;
    let mut run = i;
    loop {
        match bytes.get(i) {
            None => {
                return Err(FilterError::new(
                    FilterErrorKind::UnterminatedValue,
                    "unterminated quoted value",
                    start..text.len(),
                )
                .with_hint(format!(
                    "close the value with {q}; to put a {q} inside it, double it ({q}{q})",
                    q = quote as char
                )))
            }
            Some(&b) if b == quote => {
                value.push_str(&text[run..i]);
                if bytes.get(i + 1) == Some(&quote) {
                    value.push(quote as char);
                    i += 2;
                    run = i;
                } else {
                    return Ok((value, i + 1));
                }
            }
            Some(_) => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn token_table() {
        use Token::*;
        for (text, expected) in [
            (
                "A -eq 'x'",
                vec![Ident("A".into()), Op(super::Op::Eq), Str("x".into())],
            ),
            (
                "a -EQ \"x\"",
                vec![Ident("a".into()), Op(super::Op::Eq), Str("x".into())],
            ),
            ("'it''s'", vec![Str("it's".into())]),
            ("\"say \"\"hi\"\"\"", vec![Str("say \"hi\"".into())]),
            (
                "-5 +3.25 42",
                vec![
                    Number("-5".into()),
                    Number("+3.25".into()),
                    Number("42".into()),
                ],
            ),
            ("$TRUE $false $Null", vec![True, False, Null]),
            (
                "-not (a -or b) -and c",
                vec![
                    Not,
                    LParen,
                    Ident("a".into()),
                    Or,
                    Ident("b".into()),
                    RParen,
                    And,
                    Ident("c".into()),
                ],
            ),
            (
                "X -notlike 'a*'",
                vec![Ident("X".into()), Op(super::Op::NotLike), Str("a*".into())],
            ),
        ] {
            assert_eq!(kinds(text), expected, "{text}");
        }
    }

    #[test]
    fn unterminated_quote_spans_to_the_end() {
        let e = tokenize("City -eq 'Oslo").unwrap_err();
        assert_eq!(e.span, 9..14);
        assert_eq!(e.message, "unterminated quoted value");
    }

    #[test]
    fn unknown_operator_has_hint() {
        let e = tokenize("City -contains 'O'").unwrap_err();
        assert_eq!(e.span, 5..14);
        assert!(e.hint.unwrap().contains("-like"));
    }

    #[test]
    fn unquoted_word_value_is_rejected() {
        let e = tokenize("Office -eq 12b").unwrap_err();
        assert_eq!(e.message, "'12b' is not a number");
    }
}
