//! Quoting for the two languages a migration plan writes: OPATH filter values
//! (inside a management scope's recipient filter) and PowerShell string
//! literals (around every value the script passes to a cmdlet).
//!
//! Both use single quotes, so a value goes through both levels: a group DN
//! `CN=O'Brien\, Pat` becomes the OPATH value `'CN=O''Brien\, Pat'`, and that
//! filter becomes the PowerShell literal `'... -eq ''CN=O''''Brien\, Pat'''`.
//! Inside a single-quoted PowerShell string `$`, a backtick and `"` are plain
//! characters; only a single quote is special, and PowerShell counts the
//! typographic quotes U+2018–U+201B as single quotes too, so each of them is
//! doubled as well.

/// An OPATH value: single-quoted, a quote doubled (DESIGN §3.4's grammar).
pub fn opath_value(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Characters PowerShell reads as a single quote in a single-quoted string.
fn is_powershell_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// A PowerShell single-quoted string literal holding exactly `text`.
pub fn powershell_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if is_powershell_quote(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Text safe for a PowerShell `#` comment: one line, no block-comment end.
pub fn powershell_comment(text: &str) -> String {
    text.replace(['\r', '\n'], " ").replace("#>", "# >")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Reads a PowerShell single-quoted literal back, as PowerShell's tokenizer
    /// does: a doubled quote character is one character of the value.
    pub(crate) fn unquote_powershell(literal: &str) -> String {
        let inner: Vec<char> = literal.chars().collect();
        assert!(
            is_powershell_quote(inner[0]) && is_powershell_quote(*inner.last().unwrap()),
            "{literal}"
        );
        let inner = &inner[1..inner.len() - 1];
        let mut out = String::new();
        let mut i = 0;
        while i < inner.len() {
            let c = inner[i];
            if is_powershell_quote(c) {
                assert!(
                    i + 1 < inner.len() && is_powershell_quote(inner[i + 1]),
                    "a lone quote ends the literal early: {literal}"
                );
                i += 1;
            }
            out.push(c);
            i += 1;
        }
        out
    }

    #[test]
    fn hostile_characters_survive_both_levels() {
        // value, OPATH form
        let table = [
            ("plain", "'plain'"),
            ("O'Brien", "'O''Brien'"),
            ("CN=Smith\\, John,OU=x", "'CN=Smith\\, John,OU=x'"),
            ("cost $5", "'cost $5'"),
            ("back`tick", "'back`tick'"),
            ("say \"hi\"", "'say \"hi\"'"),
            ("it\u{2019}s", "'it\u{2019}s'"),
            ("''", "''''''"),
        ];
        for (value, opath) in table {
            assert_eq!(opath_value(value), opath, "{value}");
            let filter = format!("MemberOfGroup -eq {opath}");
            let literal = powershell_string(&filter);
            assert_eq!(unquote_powershell(&literal), filter, "{value}");
            // Nothing in the literal can start an expansion or end it early.
            assert!(literal.starts_with('\'') && literal.ends_with('\''));
        }
    }

    #[test]
    fn typographic_quotes_are_doubled_for_powershell() {
        assert_eq!(powershell_string("a\u{2018}b"), "'a\u{2018}\u{2018}b'");
        assert_eq!(powershell_string("a'b"), "'a''b'");
        assert_eq!(powershell_string("$x `n \"y\""), "'$x `n \"y\"'");
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(powershell_comment("a\r\nb #> c"), "a  b # > c");
    }
}
