//! Cells of the export dialect: how one CSV or Parquet cell is read as a GUID,
//! a boolean, a multi-valued list or an SMTP proxy. Every table reader uses these,
//! so a cell means the same thing in every table.

use super::tables::Col;
use crate::error::{Error, Result};

/// Parses a GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, braces allowed) to a number.
///
/// Millions of cells are parsed per snapshot (mailbox ids, members), so the
/// digits go through a table, 16 into each half, and one check at the end
/// says whether any was not a hex digit.
pub fn parse_guid_u128(text: &str) -> Option<u128> {
    let t = match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    };
    let t = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(t);
    let b: &[u8; 36] = t.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut invalid = 0u8;
    let mut half = |digits: &mut dyn Iterator<Item = &u8>| {
        digits.fold(0u64, |acc, &c| {
            let d = HEX_DIGIT[c as usize];
            invalid |= d;
            acc << 4 | u64::from(d & 0x0f)
        })
    };
    let high = half(&mut b[0..8].iter().chain(&b[9..13]).chain(&b[14..18]));
    let low = half(&mut b[19..23].iter().chain(&b[24..36]));
    (invalid & NOT_HEX == 0).then_some(u128::from(high) << 64 | u128::from(low))
}

/// Marks a byte that is not a hex digit in [`HEX_DIGIT`].
const NOT_HEX: u8 = 0x80;

/// Each byte's value as a hex digit, or [`NOT_HEX`].
static HEX_DIGIT: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Formats a GUID number in the canonical lower-case form.
pub fn format_guid(g: u128) -> String {
    guid_text(g, &mut [0; 36]).to_string()
}

/// The canonical lower-case form of a GUID number, written into `buf`.
pub fn guid_text(g: u128, buf: &mut [u8; 36]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digit = 0;
    for (i, b) in buf.iter_mut().enumerate() {
        *b = if matches!(i, 8 | 13 | 18 | 23) {
            b'-'
        } else {
            digit += 1;
            HEX[(g >> (128 - 4 * digit)) as usize & 15]
        };
    }
    std::str::from_utf8(buf).expect("ASCII")
}

/// Parses a GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, braces allowed) to lower case.
pub fn parse_guid(text: &str) -> Option<String> {
    parse_guid_u128(text).map(format_guid)
}

/// A GUID cell every row must fill, as a number; blank or malformed is an error.
pub fn required_guid(col: Col<'_>, row: usize) -> Result<u128> {
    let raw = col.get(row).ok_or_else(|| {
        Error::data(
            col.location(row),
            format!("{} is blank; every row needs it", col.name()),
        )
    })?;
    parse_guid_u128(raw).ok_or_else(|| {
        Error::data(
            col.location(row),
            format!("'{raw}' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        )
    })
}

/// Reads a GUID cell, failing with the location when it is malformed.
pub fn guid_cell(col: Col<'_>, row: usize) -> Result<Option<String>> {
    match col.get(row) {
        None => Ok(None),
        Some(raw) => parse_guid(raw).map(Some).ok_or_else(|| {
            Error::data(
                col.location(row),
                format!("'{raw}' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
            )
        }),
    }
}

/// Parses a PowerShell-style boolean: True/False, 1/0, Yes/No, $true/$false.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "$true" => Some(true),
        "false" | "0" | "no" | "$false" => Some(false),
        _ => None,
    }
}

/// Reads a boolean cell; blank gives `blank`.
pub fn bool_cell(table: &super::Table, names: &[&str], row: usize, blank: bool) -> Result<bool> {
    let Some(col) = table.column(names) else {
        return Ok(blank);
    };
    match col.get(row) {
        None => Ok(blank),
        Some(v) => parse_bool(v).ok_or_else(|| {
            Error::data(
                col.location(row),
                format!("'{v}' is not a boolean; write True or False"),
            )
        }),
    }
}

/// The address of an `smtp:` proxy (prefix in any case), without the prefix.
pub fn smtp_proxy(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    if bytes.len() <= 5 || bytes[4] != b':' {
        return None;
    }
    // Setting the 0x20 bit maps exactly `S`/`s`, `M`/`m`, `T`/`t` and `P`/`p`
    // onto the lower-case letters of `smtp`; no other byte lands there.
    let head = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    // The five bytes are ASCII, so the address starts at a character boundary.
    (head | 0x2020_2020 == u32::from_le_bytes(*b"smtp")).then(|| &value[5..])
}

/// `value.to_lowercase()`, written into `out` (cleared first) instead of a new
/// string: a name column can be a third non-ASCII, and most values are only
/// looked at, not kept. A capital sigma, whose lower case depends on its place
/// in a word, is left to `to_lowercase`.
pub fn lower_into(value: &str, out: &mut String) {
    out.clear();
    if value.contains('Σ') {
        out.push_str(&value.to_lowercase());
        return;
    }
    for c in value.chars() {
        match c.is_ascii() {
            true => out.push(c.to_ascii_lowercase()),
            false => out.extend(c.to_lowercase()),
        }
    }
}

/// `a.eq_ignore_ascii_case(b)`, eight bytes at a time: the standard library's
/// compares byte by byte, and patterns' literals often share a long domain
/// (`@northwind.example`) that every value is compared with.
pub fn eq_ignore_ascii_case_words(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.eq_ignore_ascii_case(b);
    }
    let word = |s: &[u8], at: usize| {
        let bytes: [u8; 8] = s[at..at + 8].try_into().expect("eight bytes");
        ascii_lower_word(u64::from_le_bytes(bytes))
    };
    // Whole words, then the last eight bytes (overlapping the words before).
    (0..n / 8).all(|i| word(a, 8 * i) == word(b, 8 * i)) && word(a, n - 8) == word(b, n - 8)
}

/// The ASCII capitals among eight bytes in lower case; other bytes (UTF-8
/// lead and continuation bytes among them) unchanged.
pub fn ascii_lower_word(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let each = |b: u8| u64::from_ne_bytes([b; 8]);
    // Of the low seven bits: the high bit of a byte is set when they are at
    // least 'A', and when they are past 'Z' (no carry leaves a byte). A byte
    // with its own high bit set is no capital.
    let ge_a = (w & LOW7).wrapping_add(each(0x80 - b'A'));
    let gt_z = (w & LOW7).wrapping_add(each(0x7f - b'Z'));
    let upper = ge_a & !gt_z & !w & HIGH;
    w | (upper >> 2)
}

/// Splits a `;`-joined multi-valued cell into trimmed, non-empty values.
pub fn split_multi(cell: &str) -> impl Iterator<Item = &str> {
    let marks = semicolons(cell.as_bytes(), 0);
    let values = MultiValues {
        cell,
        from: 0,
        block: 0,
        marks,
    };
    values.map(trim).filter(|v| !v.is_empty())
}

/// The `;`-separated parts of a cell, found 64 bytes at a time: an
/// EmailAddresses cell holds a handful of proxies of ~50 bytes, and a search
/// call per proxy cost more than marking every `;` of a block at once.
struct MultiValues<'a> {
    cell: &'a str,
    /// Where the next part starts; past the end once the last was given.
    from: usize,
    /// The block of the cell `marks` covers: bytes `block..block + 64`.
    block: usize,
    /// The block's `;` not yet given, one bit per byte.
    marks: u64,
}

impl<'a> Iterator for MultiValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let len = self.cell.len();
        loop {
            if self.marks != 0 {
                let end = self.block + self.marks.trailing_zeros() as usize;
                self.marks &= self.marks - 1;
                // `;` is ASCII: both ends of the part are character boundaries.
                let part = &self.cell[self.from..end];
                self.from = end + 1;
                return Some(part);
            }
            if self.block + 64 >= len {
                // No block left: the part after the last `;`, once.
                let part = self.cell.get(self.from..)?;
                self.from = len + 1;
                return Some(part);
            }
            self.block += 64;
            self.marks = semicolons(self.cell.as_bytes(), self.block);
        }
    }
}

/// Bit `i` set when `bytes[at + i]` is `;`, for the up to 64 bytes from `at`.
fn semicolons(bytes: &[u8], at: usize) -> u64 {
    let rest = &bytes[at.min(bytes.len())..];
    let rest = &rest[..rest.len().min(64)];
    let mut marks = 0u64;
    let mut blocks = rest.chunks_exact(16);
    for (i, block) in blocks.by_ref().enumerate() {
        let block = block.try_into().expect("16 bytes");
        marks |= u64::from(byte_marks_16(block, [b';'])[0]) << (16 * i);
    }
    let done = rest.len() / 16 * 16;
    let tail = blocks.remainder().iter().enumerate();
    tail.fold(marks, |bits, (i, &b)| {
        bits | (u64::from(b == b';') << (done + i))
    })
}

/// For each of `bytes`, the places in `block` that hold it, one bit per
/// byte (bit `i` for `block[i]`): SSE2 on x86_64, part of its baseline, one
/// load for all of them; a byte at a time on other targets.
#[inline(always)]
pub(crate) fn byte_marks_16<const N: usize>(block: &[u8; 16], bytes: [u8; N]) -> [u16; N] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is always present on x86_64; the load reads the 16
        // bytes of `block`, unaligned loads allowed.
        unsafe {
            let loaded = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            bytes.map(|b| _mm_movemask_epi8(_mm_cmpeq_epi8(loaded, _mm_set1_epi8(b as i8))) as u16)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    bytes.map(|byte| {
        let places = block.iter().enumerate();
        places.fold(0, |bits, (i, &b)| bits | (u16::from(b == byte) << i))
    })
}

/// `str::trim`, answered from the two end bytes when they are visible ASCII
/// (almost every value): `trim` decodes characters from both ends.
pub fn trim(value: &str) -> &str {
    match value.as_bytes() {
        [first, .., last] | [first @ last]
            if (b'!'..=b'~').contains(first) && (b'!'..=b'~').contains(last) =>
        {
            value
        }
        _ => value.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_comparisons_ignore_ascii_case_as_the_byte_one_does() {
        let mut rng = crate::generate::Rng::new(5);
        // Letters on both sides of the alphabet's ends, and UTF-8 bytes whose
        // low seven bits are capitals (0xC1 is 'A' with the high bit set).
        let alphabet = b"@AZaz[`{~09.\xC1\xDA\xE1\xFA\x80\xFF";
        for _ in 0..20_000 {
            let n = rng.below(24) as usize;
            let a: Vec<u8> = (0..n)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            let mut b = a.clone();
            for _ in 0..rng.below(3) {
                if n > 0 {
                    let i = rng.below(n as u64) as usize;
                    b[i] = alphabet[rng.below(alphabet.len() as u64) as usize];
                }
            }
            assert_eq!(
                eq_ignore_ascii_case_words(&a, &b),
                a.eq_ignore_ascii_case(&b),
                "{a:?} {b:?}"
            );
        }
        for byte in 0..=255u8 {
            let word = u64::from_le_bytes([byte; 8]);
            assert_eq!(
                ascii_lower_word(word),
                u64::from_le_bytes([byte.to_ascii_lowercase(); 8])
            );
        }
    }

    #[test]
    fn lowering_into_a_buffer_is_to_lowercase() {
        let mut buffer = String::from("left over");
        for value in [
            "Ødegård",
            "JÜRGEN Ça",
            "İstanbul",
            "ΣΟΦΙΑ ΟΔΥΣΣΕΑΣ",
            "Straße",
            "ǅemal",
        ] {
            lower_into(value, &mut buffer);
            assert_eq!(buffer, value.to_lowercase(), "{value}");
        }
    }

    #[test]
    fn guid_text_is_the_canonical_lower_case_form() {
        for g in [0u128, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let h = format!("{g:032x}");
            let expected = format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            );
            assert_eq!(guid_text(g, &mut [0; 36]), expected);
            assert_eq!(parse_guid_u128(&expected), Some(g));
        }
    }

    #[test]
    fn guid_parsing_table() {
        for (text, expected) in [
            (
                "810C84A8-4A9E-49E6-BF7D-12D183F40D01",
                Some("810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
            ),
            (
                "{810c84a8-4a9e-49e6-bf7d-12d183f40d01}",
                Some("810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
            ),
            ("810c84a84a9e49e6bf7d12d183f40d01", None),
            ("810c84a8-4a9e-49e6-bf7d-12d183f40d0g", None),
            ("", None),
        ] {
            assert_eq!(parse_guid(text).as_deref(), expected, "{text}");
        }
    }

    /// The parser as first written, one digit at a time.
    fn parse_guid_reference(text: &str) -> Option<u128> {
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(t);
        let bytes = t.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        let mut value = 0u128;
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return None;
                }
                continue;
            }
            value = value << 4 | u128::from((b as char).to_digit(16)?);
        }
        Some(value)
    }

    #[test]
    fn the_table_parser_agrees_with_the_reference_on_every_byte_everywhere() {
        let good = "0123abcd-EF45-6789-aBcD-ef0123456789";
        let mut cases: Vec<String> = vec![
            good.into(),
            format!("{{{good}}}"),
            format!("  {good}\t"),
            format!("{{{good}"),
            good[..35].into(),
            format!("{good}0"),
            String::new(),
            " ".into(),
        ];
        // Every position replaced by every byte that keeps the text UTF-8.
        for i in 0..good.len() {
            for c in (0u8..128).map(char::from).chain(['é', '€']) {
                let mut t = good.to_string();
                t.replace_range(i..i + 1, c.encode_utf8(&mut [0; 4]));
                cases.push(t);
            }
        }
        for text in &cases {
            assert_eq!(
                parse_guid_u128(text),
                parse_guid_reference(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn smtp_proxy_table() {
        for (value, expected) in [
            ("smtp:a@b.com", Some("a@b.com")),
            ("SMTP:a@b.com", Some("a@b.com")),
            ("x500:/o=x", None),
            ("smtp:", None),
            ("sm€p:a@b.com", None), // multi-byte character inside the prefix must not panic
            ("ü", None),
            ("sMtP:é", Some("é")),
            ("smtp;a@b.com", None),
            ("smtp:a", Some("a")),
        ] {
            assert_eq!(smtp_proxy(value), expected, "{value}");
        }
        // Against the prefix compared as text: any byte in any of its places.
        fn reference(v: &str) -> Option<&str> {
            v.get(..5)
                .filter(|p| p.eq_ignore_ascii_case("smtp:"))
                .map(|_| &v[5..])
                .filter(|a| !a.is_empty())
        }
        for place in 0..5 {
            for byte in 0..128u8 {
                let mut value = *b"smtp:x";
                value[place] = byte;
                let value = std::str::from_utf8(&value).expect("ASCII");
                assert_eq!(smtp_proxy(value), reference(value), "{value:?}");
            }
        }
    }

    #[test]
    fn split_multi_trims_and_drops_empty_values() {
        assert_eq!(split_multi(" a ; ;b;").collect::<Vec<_>>(), ["a", "b"]);
        for cell in [
            "",
            ";",
            ";;",
            " ",
            "a",
            "a;",
            ";a",
            "é; ü ;\u{a0}x\u{a0};",
            "\ta\r\n;b c",
            "SMTP:a@x.com;smtp:b@x.com;X500:/o=x/cn=é",
            "0123456789abcde;",
            "0123456789abcdef;",
            ";0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef;0123456789abcde;",
            "ü23456789abcdef;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;x",
        ] {
            let reference: Vec<&str> = cell
                .split(';')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
            assert_eq!(split_multi(cell).collect::<Vec<_>>(), reference, "{cell:?}");
        }
        // A `;` in every place of cells that end at and around the blocks' edges.
        for len in 0..150 {
            for at in 0..len {
                let mut cell = vec![b'a'; len];
                cell[at] = b';';
                let cell = std::str::from_utf8(&cell).expect("ASCII");
                let reference: Vec<&str> = cell.split(';').filter(|v| !v.is_empty()).collect();
                assert_eq!(split_multi(cell).collect::<Vec<_>>(), reference, "{cell:?}");
            }
        }
    }
}
