//! CSV tables in the dialect PowerShell's `Export-Csv` writes.
//!
//! Windows PowerShell 5.1 starts the file with `#TYPE <type name>` and quotes every
//! field; PowerShell 7 omits the type line; both may write a UTF-8 byte order mark.
//! A cell holding a .NET type name (`System.Object[]`) means the exporter did not
//! join a multi-valued property, so the data is lost: that is an error, not a value.

use std::path::Path;

use arrow_array::builder::StringBuilder;

use super::tables::{SourceFormat, Table, TableSpec};
use crate::error::{Error, Location, Result};

/// Reads one CSV table file.
pub fn read_csv(path: &Path, spec: TableSpec) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file = display_name(path);
    parse_csv(&bytes, &file, spec)
}

/// How a file is named in messages: the path as the user's snapshot argument makes it.
pub(crate) fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// Parses CSV bytes; `file` is the name used in messages.
pub fn parse_csv(bytes: &[u8], file: &str, spec: TableSpec) -> Result<Table> {
    let mut body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut first_line = 1u64;
    if body.starts_with(b"#TYPE") || body.starts_with(b"#type") {
        let end = body
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| i + 1);
        body = &body[end..];
        first_line = 2;
    }

    let mut lines_at = LineCounter::new(body, first_line);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();

    let read = |reader: &mut csv::Reader<&[u8]>, record: &mut csv::ByteRecord| {
        reader.read_byte_record(record).map_err(|e| {
            let line = e
                .position()
                .map_or(first_line, |p| p.line() + first_line - 1);
            Error::data(
                Location::at(file, line, None),
                format!("not valid CSV: {e}"),
            )
        })
    };

    if !read(&mut reader, &mut record)? {
        return Err(Error::data(
            Location::file(file),
            "the file is empty: expected a header line with the column names",
        ));
    }
    let header_line = lines_at.line(&record);
    let mut names = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|e| {
            Error::data(
                Location::at(file, header_line, Some(&format!("#{}", i + 1))),
                format!(
                    "header is not UTF-8 (invalid byte at offset {}); re-export with -Encoding utf8",
                    e.valid_up_to()
                ),
            )
        })?;
        names.push(name.trim().to_string());
    }
    if names.iter().all(String::is_empty) {
        return Err(Error::data(
            Location::at(file, header_line, None),
            "the header line is blank: expected the column names",
        ));
    }

    let mut builders: Vec<StringBuilder> = names.iter().map(|_| StringBuilder::new()).collect();
    let mut lines = Vec::new();
    while read(&mut reader, &mut record)? {
        let line = lines_at.line(&record);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line
        }
        if record.len() != names.len() {
            let hint = if record.len() < names.len() {
                "the file may be truncated, or a line break inside a value was not quoted"
            } else {
                "a value probably holds an unquoted comma; quote every field (Export-Csv does)"
            };
            return Err(Error::data(
                Location::at(file, line, None),
                format!(
                    "expected {} fields as in the header, found {}: {hint}",
                    names.len(),
                    record.len()
                ),
            ));
        }
        for (i, field) in record.iter().enumerate() {
            let column = &names[i];
            let text = std::str::from_utf8(field).map_err(|e| {
                Error::data(
                    Location::at(file, line, Some(column)),
                    format!(
                        "value is not UTF-8 (invalid byte 0x{:02X} after {} valid bytes); re-export with -Encoding utf8",
                        field[e.valid_up_to()],
                        e.valid_up_to()
                    ),
                )
            })?;
            if is_type_name(text) {
                return Err(Error::data(
                    Location::at(file, line, Some(column)),
                    format!(
                        "the cell holds the .NET type name '{}' instead of values: the export lost this multi-valued property; join its values with ';' (e.g. @{{n='{column}';e={{$_.{column} -join ';'}}}})",
                        text.trim()
                    ),
                ));
            }
            if text.is_empty() {
                builders[i].append_null();
            } else {
                builders[i].append_value(text);
            }
        }
        lines.push(line);
    }

    Ok(Table {
        spec,
        file: file.to_string(),
        format: SourceFormat::Csv,
        names,
        columns: builders.iter_mut().map(StringBuilder::finish).collect(),
        lines,
    })
}

/// Line numbers of records, from their start offsets.
///
/// The csv crate's own line count drifts on CRLF line ends after a quoted field
/// (exactly what Windows PowerShell writes), and its record offset may point at
/// the `\n` of the previous line end, so both are recomputed here.
struct LineCounter<'a> {
    body: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(body: &'a [u8], first_line: u64) -> LineCounter<'a> {
        LineCounter {
            body,
            pos: 0,
            line: first_line,
        }
    }

    /// The 1-based line a record starts on; records must be asked for in order.
    fn line(&mut self, record: &csv::ByteRecord) -> u64 {
        let mut start = record
            .position()
            .map_or(self.pos, |p| p.byte() as usize)
            .min(self.body.len());
        while start < self.body.len() && matches!(self.body[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.pos {
            self.line += self.body[self.pos..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.pos = start;
        }
        self.line
    }
}

/// True when a cell holds a .NET collection type name rather than data.
pub fn is_type_name(text: &str) -> bool {
    let t = text.trim();
    if t.contains(' ') || t.contains(';') {
        return false;
    }
    t.starts_with("System.Object[")
        || t.starts_with("System.Collections.")
        || t.starts_with("System.String[")
        || t.starts_with("Deserialized.")
        || (t.starts_with("Microsoft.Exchange.")
            && (t.contains("Collection") || t.ends_with("[]") || t.contains("MultiValued")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::tables::MAILBOXES;

    fn parse(text: &[u8]) -> Result<Table> {
        parse_csv(text, "mailboxes.csv", MAILBOXES)
    }

    #[test]
    fn windows_powershell_type_line_and_bom_are_skipped() {
        let t = parse(b"\xEF\xBB\xBF#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n\"ExternalDirectoryObjectId\",\"PrimarySmtpAddress\"\r\n\"a\",\"a@x.com\"\r\n").unwrap();
        assert_eq!(t.names, ["ExternalDirectoryObjectId", "PrimarySmtpAddress"]);
        assert_eq!(t.lines, [3]);
        assert_eq!(
            t.column(&["primarysmtpaddress"]).unwrap().get(0),
            Some("a@x.com")
        );
    }

    #[test]
    fn crlf_line_ends_after_quoted_fields_keep_line_numbers() {
        let t = parse(b"\"A\",\"B\"\r\n\"1\",\"2\"\r\n\r\n\"3\",\"4\"\r\n").unwrap();
        assert_eq!(t.lines, [2, 4]);
        let err = parse(b"\"A\",\"B\"\r\n\"1\",\"2\"\r\n\"3\"\r\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("mailboxes.csv, line 3: expected 2 fields"),
            "{err}"
        );
    }

    #[test]
    fn empty_field_is_null_and_quoted_commas_survive() {
        let t = parse(b"A,B\n\"x, y\",\n").unwrap();
        assert_eq!(t.column(&["a"]).unwrap().get(0), Some("x, y"));
        assert_eq!(t.column(&["b"]).unwrap().get(0), None);
    }

    #[test]
    fn type_name_cell_is_rejected_with_file_line_column_and_advice() {
        let err = parse(b"ExternalDirectoryObjectId,EmailAddresses\n1,System.Object[]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "mailboxes.csv, line 2, column EmailAddresses: the cell holds the .NET type name 'System.Object[]' instead of values: the export lost this multi-valued property; join its values with ';' (e.g. @{n='EmailAddresses';e={$_.EmailAddresses -join ';'}})"
        );
    }

    #[test]
    fn type_names_are_recognised() {
        for (text, expected) in [
            ("System.Object[]", true),
            ("System.Collections.ArrayList", true),
            ("Microsoft.Exchange.Data.ProxyAddressCollection", true),
            (
                "Deserialized.Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]",
                true,
            ),
            ("System administrators", false),
            ("smtp:a@b.com;SMTP:c@d.com", false),
            ("Microsoft.Exchange.Team", false),
        ] {
            assert_eq!(is_type_name(text), expected, "{text}");
        }
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let err = parse(b"A,B\n1,2\n3\n").unwrap_err().to_string();
        assert_eq!(err, "mailboxes.csv, line 3: expected 2 fields as in the header, found 1: the file may be truncated, or a line break inside a value was not quoted");
    }

    #[test]
    fn non_utf8_names_line_and_column() {
        let err = parse(b"A,B\n1,caf\xE9\n").unwrap_err().to_string();
        assert_eq!(err, "mailboxes.csv, line 2, column B: value is not UTF-8 (invalid byte 0xE9 after 3 valid bytes); re-export with -Encoding utf8");
    }

    #[test]
    fn empty_file_is_an_error() {
        let err = parse(b"").unwrap_err().to_string();
        assert_eq!(
            err,
            "mailboxes.csv: the file is empty: expected a header line with the column names"
        );
    }

    #[test]
    fn quoted_line_breaks_keep_line_numbers_of_record_start() {
        let t = parse(b"A,B\n\"multi\nline\",2\n3,4\n").unwrap();
        assert_eq!(t.lines, [2, 4]);
    }
}
