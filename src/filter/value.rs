//! Values as filters compare them: whole-value wildcard matching, the number and
//! date forms ordering comparisons recognise, and the ordering test itself.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::Op;

/// Whole-value match where `*` stands for any run of characters (both sides lower-cased).
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no '*' at all: exact match
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `[+-]digits[.digits]`
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    t.parse().ok()
}

/// ISO `yyyy-mm-dd[THH:MM:SS[Z]]` or US `M/d/yyyy[ h:mm:ss AM|PM]`, as a sortable number.
pub fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())?
    };
    let (y, mo, d, rest) = if let Some((date, time)) = t
        .split_once(['T', 't'])
        .or(Some((t, "")))
        .filter(|(d, _)| d.contains('-'))
    {
        let mut p = date.split('-');
        let (y, m, d) = (p.next()?, p.next()?, p.next()?);
        if p.next().is_some() || y.len() != 4 {
            return None;
        }
        (num(y)?, num(m)?, num(d)?, time.trim_end_matches(['Z', 'z']))
    } else {
        let (date, time) = t.split_once(' ').unwrap_or((t, ""));
        let mut p = date.split('/');
        let (m, d, y) = (p.next()?, p.next()?, p.next()?);
        if p.next().is_some() || y.len() != 4 {
            return None;
        }
        (num(y)?, num(m)?, num(d)?, time.trim())
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut h, mi, s) = if rest.is_empty() {
        (0, 0, 0)
    } else {
        let (clock, meridiem) = match rest.rsplit_once(' ') {
            Some((c, m)) => (c.trim(), Some(m)),
            None => (rest, None),
        };
        let mut p = clock.split(':');
        let h = num(p.next()?)?;
        let mi = num(p.next()?)?;
        let s = p.next().map_or(Some(0), num)?;
        if p.next().is_some() {
            return None;
        }
        let h = match meridiem {
            None => h,
            Some(_) if !(1..=12).contains(&h) => return None,
            Some(m) if m.eq_ignore_ascii_case("AM") => h % 12,
            Some(m) if m.eq_ignore_ascii_case("PM") => h % 12 + 12,
            Some(_) => return None,
        };
        (h, mi, s)
    };
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    h += ((y * 12 + mo) * 31 + d) * 24;
    Some((h * 60 + mi) * 60 + s)
}

/// Whether an ordering `op` holds for the comparison result `ord`.
pub fn ordering_holds(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Lt => ord == Ordering::Less,
        Op::Gt => ord == Ordering::Greater,
        Op::Le => ord != Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        _ => false,
    }
}

/// An ordering comparison: numeric when both sides are numbers, by date when
/// both are dates, else by lower-cased text.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderingTest {
    op: Op,
    literal: String,
    number: Option<f64>,
    date: Option<i64>,
}

impl OrderingTest {
    /// `literal` is lower-cased already.
    pub fn new(op: Op, literal: &str) -> OrderingTest {
        OrderingTest {
            op,
            literal: literal.to_string(),
            number: parse_number(literal),
            date: parse_date(literal),
        }
    }

    pub fn op(&self) -> Op {
        self.op
    }

    /// The literal, lower-cased.
    pub fn literal(&self) -> &str {
        &self.literal
    }

    /// The literal as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        self.number
    }

    /// The literal as a date (see [`parse_date`]), when it is one.
    pub fn date(&self) -> Option<i64> {
        self.date
    }

    /// Whether a value (as written) satisfies the test.
    pub fn holds_text(&self, text: &str) -> bool {
        let number = self.number.and_then(|_| parse_number(text));
        let date = self.date.and_then(|_| parse_date(text));
        self.holds(text, number, date)
    }

    /// Whether a value, given its parsed number and date, satisfies the test.
    pub(crate) fn holds(&self, text: &str, number: Option<f64>, date: Option<i64>) -> bool {
        let ord = match (number, self.number, date, self.date) {
            (Some(a), Some(b), _, _) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            (_, _, Some(a), Some(b)) => a.cmp(&b),
            _ => lower(text).as_ref().cmp(self.literal.as_str()),
        };
        ordering_holds(self.op, ord)
    }
}

/// A value lower-cased, borrowed when it already is.
pub(crate) fn lower(v: &str) -> Cow<'_, str> {
    if v.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        let lowered = v.to_lowercase();
        if lowered != v {
            return Cow::Owned(lowered);
        }
    }
    Cow::Borrowed(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_match_table() {
        for (pattern, value, expected) in [
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("a*", "a", true),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "acb", false),
            ("*", "", true),
            ("ab*ab", "ab", false),
        ] {
            assert_eq!(
                wildcard_match(pattern, value),
                expected,
                "{pattern} ~ {value}"
            );
        }
    }

    #[test]
    fn date_and_number_parsing_table() {
        assert!(parse_date("2020-02-03") < parse_date("2020-02-03T00:00:01Z"));
        assert_eq!(parse_date("2/3/2020"), parse_date("2020-02-03"));
        assert_eq!(
            parse_date("2/3/2020 1:05:00 PM"),
            parse_date("2020-02-03T13:05:00")
        );
        assert_eq!(parse_date("2/3/2020 12:00:00 AM"), parse_date("2020-02-03"));
        for bad in [
            "2020-13-01",
            "13/1/2020",
            "2020-1",
            "abc",
            "1/2/20",
            "2020-01-01T25:00:00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_number("+3.5"), Some(3.5));
        assert_eq!(parse_number("-007"), Some(-7.0));
        for bad in ["1e5", "3.", ".5", "", "1,000", "nan"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }
}
