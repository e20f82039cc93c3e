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
    let t = crate::snapshot::trim(text);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    // Whole numbers of up to 15 digits (postal codes, counters), a value per
    // row in an ordering pass, are read digit by digit: exact in an f64, so
    // the same number the float parser gives.
    if (1..=15).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_digit()) {
        let n = body.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')) as f64;
        return Some(if t.starts_with('-') { -n } else { n });
    }
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
    common_date(text.as_bytes()).or_else(|| parse_date_general(text))
}

/// The shapes exports write (`2020-01-31`, `2020-01-31T10:00:00Z`,
/// `1/31/2020 3:06:29 AM`) read byte by byte, a date per column value and
/// so worth the speed. `None` means "not one of them": [`parse_date_general`]
/// then decides, so this only ever agrees with it.
fn common_date(b: &[u8]) -> Option<i64> {
    let digit = |i: usize| -> Option<i64> {
        let d = *b.get(i)?;
        d.is_ascii_digit().then(|| i64::from(d - b'0'))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let four = |i: usize| Some(two(i)? * 100 + two(i + 2)?);
    // One or two digits at `i`: the number and the position after it.
    let one_or_two = |i: usize| -> Option<(i64, usize)> {
        let first = digit(i)?;
        match digit(i + 1) {
            Some(second) => Some((first * 10 + second, i + 2)),
            None => Some((first, i + 1)),
        }
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (y, mo, d, h, mi, s) = if b.len() >= 10 && at(4, b'-') && at(7, b'-') {
        let date = (four(0)?, two(5)?, two(8)?);
        match b.len() {
            10 => (date.0, date.1, date.2, 0, 0, 0),
            19 | 20 if at(10, b'T') && at(13, b':') && at(16, b':') => {
                if b.len() == 20 && !at(19, b'Z') {
                    return None;
                }
                (date.0, date.1, date.2, two(11)?, two(14)?, two(17)?)
            }
            _ => return None,
        }
    } else {
        let (mo, i) = one_or_two(0)?;
        if !at(i, b'/') {
            return None;
        }
        let (d, i) = one_or_two(i + 1)?;
        if !at(i, b'/') {
            return None;
        }
        let y = four(i + 1)?;
        let i = i + 5;
        if i == b.len() {
            (y, mo, d, 0, 0, 0)
        } else {
            if !at(i, b' ') {
                return None;
            }
            let (h, i) = one_or_two(i + 1)?;
            if !at(i, b':') || !at(i + 3, b':') || !at(i + 6, b' ') || b.len() != i + 9 {
                return None;
            }
            let (mi, s) = (two(i + 1)?, two(i + 4)?);
            let pm = match (b[i + 7].to_ascii_uppercase(), b[i + 8].to_ascii_uppercase()) {
                (b'A', b'M') => false,
                (b'P', b'M') => true,
                _ => return None,
            };
            if !(1..=12).contains(&h) {
                return None;
            }
            (y, mo, d, h % 12 + if pm { 12 } else { 0 }, mi, s)
        }
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some((((((y * 12 + mo) * 31 + d) * 24 + h) * 60) + mi) * 60 + s)
}

/// [`parse_date`] for every accepted shape.
fn parse_date_general(text: &str) -> Option<i64> {
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

    /// The byte-wise reader of the common shapes agrees with the general
    /// parser wherever it answers, and answers for the shapes exports write.
    #[test]
    fn common_dates_read_as_the_general_parser_reads_them() {
        let mut answered = 0;
        for date in [
            "2020-01-31",
            "2020-13-01",
            "2020-02-30",
            "0000-00-00",
            "2020-1-31",
            "20201-01-31",
            "1/31/2020",
            "12/1/2020",
            "01/09/2019",
            "13/1/2020",
            "1/32/2020",
            "1/1/20",
            "1//2020",
            "1/1/2020/",
            "a/1/2020",
            "/1/2020",
        ] {
            for time in [
                "",
                "T10:00:00",
                "T10:00:00Z",
                "t10:00:00",
                "T24:00:00",
                "T10:60:00Z",
                "T10:00:00Q",
                " 3:06:29 AM",
                " 12:00:00 AM",
                " 12:59:59 pm",
                " 0:00:00 AM",
                " 13:00:00 PM",
                " 11:05:09 XM",
                " 1:5:09 AM",
                " 1:05:09",
                " 1:05:09 AM ",
                "  1:05:09 AM",
            ] {
                let text = format!("{date}{time}");
                if let Some(v) = common_date(text.as_bytes()) {
                    answered += 1;
                    assert_eq!(Some(v), parse_date_general(&text), "{text}");
                }
                assert_eq!(parse_date(&text), parse_date_general(&text), "{text}");
            }
        }
        assert!(
            answered >= 15,
            "the common shapes are read byte by byte: {answered}"
        );
        for common in [
            "2020-01-31",
            "2020-01-31T10:00:00Z",
            "7/15/2021 3:06:29 AM",
            "12/31/2017 1:00:00 PM",
        ] {
            assert!(common_date(common.as_bytes()).is_some(), "{common}");
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
        // The whole-number path gives what the float parser gives, sign of zero included.
        for text in [
            "0",
            "-0",
            "+0",
            "7",
            " 42 ",
            "-12345",
            "999999999999999",
            "1000000000000000",
            "-9007199254740993",
            "00000000000000012",
            "3.0",
            "49298",
        ] {
            let parsed: f64 = text.trim().parse().unwrap();
            let ours = parse_number(text).unwrap();
            assert_eq!(ours.to_bits(), parsed.to_bits(), "{text}");
        }
        for bad in ["1e5", "3.", ".5", "", "1,000", "nan"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }
}
