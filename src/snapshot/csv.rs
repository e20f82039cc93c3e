//! CSV tables in the dialect PowerShell's `Export-Csv` writes.
//!
//! Windows PowerShell 5.1 starts the file with `#TYPE <type name>` and quotes every
//! field; PowerShell 7 omits the type line; both may write a UTF-8 byte order mark.
//! A cell holding a .NET type name (`System.Object[]`) means the exporter did not
//! join a multi-valued property, so the data is lost: that is an error, not a value.
//!
//! Large files are parsed in parallel: cut at line ends outside quotes into chunks
//! of whole records. A chunk of plain records (the common case) keeps its values
//! where they are in the file's bytes, as 8-byte views; only a quoted value with
//! doubled quotes is copied, unescaped. Any other chunk, and every error, goes to
//! the csv crate, whose values are copied into Arrow arrays. Line numbers are
//! counted from the bytes, never taken from the csv crate, which drifts on CRLF.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use rayon::prelude::*;

use super::cells::byte_marks_16;
use super::tables::{
    check_unique_names, Cell, Chunk, Column, Source, SourceFormat, Table, TableSpec, ViewChunk,
};
use crate::error::{Error, Location, Result};

/// How a file is named in messages: the path as the user's snapshot argument makes it.
pub(crate) fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// Tables of at most this many columns keep their values as views of the file.
const VIEW_COLUMNS: usize = 4;

/// Bytes per chunk when a file is parsed in parallel.
const CHUNK_BYTES: usize = 4 << 20;

/// Parses CSV bytes; `file` is the name used in messages.
///
/// Large files are cut at record boundaries into chunks parsed in parallel. A cut
/// is a line end outside quotes, found from the parity of the quotes before it.
/// Should a chunk fail, the whole file is parsed again in one piece, so errors
/// and their line numbers never depend on where the cuts fell.
pub fn parse_csv(bytes: &[u8], file: &str, spec: TableSpec) -> Result<Table> {
    parse_csv_source(Arc::new(bytes.to_vec()), file, spec)
}

/// As [`parse_csv`], over bytes the table keeps (a map of the file): its values
/// are views of them.
pub fn parse_csv_source(source: Source, file: &str, spec: TableSpec) -> Result<Table> {
    parse_in_chunks(source, file, spec, CHUNK_BYTES)
}

/// [`parse_csv_source`], the records cut into chunks of about `chunk_bytes`.
fn parse_in_chunks(
    source: Source,
    file: &str,
    spec: TableSpec,
    chunk_bytes: usize,
) -> Result<Table> {
    let bytes: &[u8] = (*source).as_ref();
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
    let (names, header_end, header_line) = parse_header(body, file, first_line)?;
    let data = &body[header_end..];
    let data_offset = bytes.len() - data.len();
    let data_line = header_line + body[..header_end].iter().filter(|&&b| b == b'\n').count() as u64;

    let chunks = cut_records(data, chunk_bytes);
    // A narrow table (a membership table) is read a row at a time and keeps its
    // views; a wide one is scanned a column at a time, so its short values are
    // copied into a contiguous array per column (see `COPY_MEAN_BYTES`).
    let keep_views = names.len() <= VIEW_COLUMNS;
    // First the view reader, with line numbers counted from the chunk's start;
    // a chunk it leaves has its line feeds counted, so that every chunk's first
    // line is known without reading the file once more.
    let views = |range: &std::ops::Range<usize>| {
        let chunk = &data[range.clone()];
        match parse_chunk_views(&source, data_offset + range.start, chunk, 0, names.len()) {
            Some((out, feeds)) if keep_views => (Some(out), feeds),
            Some((mut out, feeds)) => {
                for column in &mut out.columns {
                    if let Chunk::Views(v) = column {
                        if let Some(array) = v.to_arrow_if_short() {
                            *column = Chunk::Arrow(array);
                        }
                    }
                }
                (Some(out), feeds)
            }
            None => (None, memchr::memchr_iter(b'\n', chunk).count() as u64),
        }
    };
    let read: Vec<(Option<ChunkOut>, u64)> = match chunks.len() {
        1 => vec![views(&chunks[0])],
        _ => chunks.par_iter().map(views).collect(),
    };
    let mut line = data_line;
    let starts: Vec<u64> = read
        .iter()
        .map(|(_, feeds)| {
            let start = line;
            line += feeds;
            start
        })
        .collect();
    // Then the chunks the view reader left, read by the csv crate.
    let finish = |(out, range, start): (Option<ChunkOut>, &std::ops::Range<usize>, u64)| match out {
        Some(mut out) => {
            out.lines.iter_mut().for_each(|l| *l += start);
            Ok(out)
        }
        None => parse_chunk(&data[range.clone()], start, &names, file),
    };
    let left: Vec<_> = read
        .into_iter()
        .zip(&chunks)
        .zip(starts)
        .map(|(((out, _), range), start)| (out, range, start))
        .collect();
    let parsed: Vec<Result<ChunkOut>> = match chunks.len() {
        1 => left.into_iter().map(finish).collect(),
        _ => left.into_par_iter().map(finish).collect(),
    };
    let outs = match parsed.into_iter().collect::<Result<Vec<ChunkOut>>>() {
        Ok(outs) => outs,
        Err(e) if chunks.len() == 1 => return Err(e),
        Err(_) => vec![parse_chunk(data, data_line, &names, file)?],
    };

    let mut lines = Vec::with_capacity(outs.iter().map(|o| o.lines.len()).sum());
    let mut chunks: Vec<Vec<Chunk>> = names
        .iter()
        .map(|_| Vec::with_capacity(outs.len()))
        .collect();
    for out in outs {
        lines.extend_from_slice(&out.lines);
        for (c, array) in out.columns.into_iter().enumerate() {
            chunks[c].push(array);
        }
    }
    let columns = chunks.into_iter().map(Column::from_parts).collect();
    Ok(Table {
        spec,
        file: file.to_string(),
        format: SourceFormat::Csv,
        names,
        columns,
        lines,
    })
}

/// Reads the header record: column names, where the data starts, and its line.
fn parse_header(body: &[u8], file: &str, first_line: u64) -> Result<(Vec<String>, usize, u64)> {
    let end = record_end(body, 0, false).unwrap_or(body.len());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&body[..end]);
    let mut record = csv::ByteRecord::new();
    let found = reader.read_byte_record(&mut record).map_err(|e| {
        Error::data(
            Location::at(file, first_line, None),
            format!("not valid CSV: {e}"),
        )
    })?;
    if !found {
        let message = if first_line > 1 {
            "the file holds PowerShell's #TYPE line but no header: Export-Csv was given no objects, so the table has no columns; export it again with its header (scripts/Export-ExomatrixSnapshot.ps1 writes the header of an empty table)"
        } else {
            "the file is empty: expected a header line with the column names"
        };
        return Err(Error::data(Location::file(file), message));
    }
    let header_line = LineCounter::new(body, first_line).line(&record);
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
    check_unique_names(&names, file, Some(header_line))?;
    Ok((names, end, header_line))
}

/// The index just past the first line end at or after `from` that lies outside
/// quotes, given whether `from` is inside quotes.
fn record_end(data: &[u8], from: usize, mut quoted: bool) -> Option<usize> {
    for (i, &b) in data[from..].iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(from + i + 1),
            _ => {}
        }
    }
    None
}

/// Cuts `data` into chunks of whole records of about `chunk_bytes` each.
fn cut_records(data: &[u8], chunk_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let n = data.len().div_ceil(chunk_bytes.max(1)).max(1);
    let nominal: Vec<usize> = (0..n).map(|k| k * data.len() / n).collect();
    // Quotes in each nominal segment, counted in parallel: their running parity
    // says whether a segment starts inside a quoted value.
    let quotes: Vec<u64> = (0..n)
        .into_par_iter()
        .map(|k| {
            let end = nominal.get(k + 1).copied().unwrap_or(data.len());
            memchr::memchr_iter(b'"', &data[nominal[k]..end]).count() as u64
        })
        .collect();
    let mut ranges = Vec::with_capacity(n);
    let (mut before, mut start) = (0u64, 0usize);
    for k in 1..n {
        before += quotes[k - 1];
        match record_end(data, nominal[k], before % 2 == 1) {
            Some(cut) if cut > start => {
                ranges.push(start..cut);
                start = cut;
            }
            Some(_) => {}
            None => break,
        }
    }
    ranges.push(start..data.len());
    ranges
}

/// The columns and line numbers of one chunk of records.
struct ChunkOut {
    columns: Vec<Chunk>,
    lines: Vec<u64>,
}

/// Parses the records of one chunk (at `base` in `source`) into views of the
/// source, or gives `None` when the chunk holds anything but plain records:
/// invalid UTF-8, a quote inside an unquoted value, text after a closing quote,
/// a record of another field count, a .NET type name. [`parse_chunk`] then reads
/// it and says what is wrong, or accepts the lenient form as the csv crate does.
/// With the records comes the number of line feeds in the chunk.
///
/// The chunk is read 64 bytes at a time: one pass marks its quotes, commas and
/// line ends as bits of a word, the quotes' running parity says which bytes are
/// inside quotes, and the delimiters outside are the field ends, visited bit by
/// bit. A field costs a few instructions however long it is, and the quotes
/// before each field end (a field is plain when it has none, or only the two
/// around it) and the line ends before each record come from counting bits.
fn parse_chunk_views(
    source: &Source,
    base: usize,
    chunk: &[u8],
    first_line: u64,
    columns: usize,
) -> Option<(ChunkOut, u64)> {
    if chunk.len() >= Cell::MAX_BYTES {
        return None;
    }
    simdutf8::basic::from_utf8(chunk).ok()?;
    let rows = chunk.len() / (columns * 8 + 2) + 16;
    let mut cells: Vec<Vec<Cell>> = (0..columns).map(|_| Vec::with_capacity(rows)).collect();
    let mut owned = vec![String::new(); columns];
    let mut lines = Vec::with_capacity(rows);
    // The field being read: where it starts, the quotes before that, its
    // number in the record; whether the record's fields so far are empty, and
    // the line the record starts on.
    let (mut pos, mut quotes_at_pos, mut field) = (0usize, 0u64, 0usize);
    let (mut blank, mut line) = (true, first_line);
    // Quotes and line feeds before the current block; all ones when the block
    // starts inside quotes.
    let (mut quotes_before, mut feeds_before, mut inside) = (0u64, 0u64, 0u64);
    // The last block, padded with zeros (which mark nothing).
    let mut last = [0u8; 64];
    for at in (0..chunk.len()).step_by(64) {
        let block: &[u8; 64] = match chunk.get(at..at + 64) {
            Some(block) => block.try_into().expect("64 bytes"),
            None => {
                last[..chunk.len() - at].copy_from_slice(&chunk[at..]);
                &last
            }
        };
        let marks = Marks::of(block);
        let quoted = prefix_xor(marks.quotes) ^ inside;
        inside = ((quoted as i64) >> 63) as u64;
        let mut ends = (marks.commas | marks.feeds | marks.returns) & !quoted;
        while ends != 0 {
            let bit = ends.trailing_zeros();
            ends &= ends - 1;
            let end = at + bit as usize;
            if end < pos {
                continue; // the line feed of a CRLF, read with its return
            }
            let below = (1u64 << bit) - 1;
            let quotes_at_end = quotes_before + u64::from((marks.quotes & below).count_ones());
            let quotes = quotes_at_end - quotes_at_pos;
            let cell = field_cell(chunk, pos..end, quotes, owned.get_mut(field)?)?;
            blank &= cell.parts().1 == 0;
            cells[field].push(cell);
            field += 1;
            (pos, quotes_at_pos) = (end + 1, quotes_at_end);
            if chunk[end] == b',' {
                continue;
            }
            // A line end: a CR, LF or CRLF ends the record.
            let mut feeds = feeds_before + u64::from((marks.feeds & below).count_ones());
            if chunk[end] == b'\n' {
                feeds += 1;
            } else if chunk.get(end + 1) == Some(&b'\n') {
                (pos, feeds) = (end + 2, feeds + 1);
            }
            end_record(
                &mut cells, &mut lines, &mut field, &mut blank, line, columns,
            )?;
            line = first_line + feeds;
        }
        quotes_before += u64::from(marks.quotes.count_ones());
        feeds_before += u64::from(marks.feeds.count_ones());
    }
    // The last record, when no line end follows it.
    if pos < chunk.len() || field > 0 {
        let quotes = quotes_before - quotes_at_pos;
        let cell = field_cell(chunk, pos..chunk.len(), quotes, owned.get_mut(field)?)?;
        blank &= cell.parts().1 == 0;
        cells[field].push(cell);
        field += 1;
        end_record(
            &mut cells, &mut lines, &mut field, &mut blank, line, columns,
        )?;
    }
    let columns = cells
        .into_iter()
        .zip(owned)
        .map(|(cells, owned)| Chunk::Views(ViewChunk::new(source.clone(), base, cells, owned)))
        .collect();
    Some((ChunkOut { columns, lines }, feeds_before))
}

/// Closes a record of `field` fields that starts on `line`: a line of one
/// empty field is skipped like a blank line; another field count than
/// `columns` is left to the csv crate (`None`).
fn end_record(
    cells: &mut [Vec<Cell>],
    lines: &mut Vec<u64>,
    field: &mut usize,
    blank: &mut bool,
    line: u64,
    columns: usize,
) -> Option<()> {
    let fields = std::mem::take(field);
    if fields == 1 && std::mem::replace(blank, true) {
        cells[0].pop();
        return Some(());
    }
    *blank = true;
    if fields != columns {
        return None;
    }
    lines.push(line);
    Some(())
}

/// The cell of the field at `range`, which holds `quotes` quotes: plain (no
/// quote), quoted (the two around it), or quoted with doubled quotes inside,
/// unescaped into `owned`. Anything else, and a .NET type name, is `None`.
fn field_cell(
    chunk: &[u8],
    range: std::ops::Range<usize>,
    quotes: u64,
    owned: &mut String,
) -> Option<Cell> {
    let (start, end) = (range.start, range.end);
    let cell = match quotes {
        0 => Cell::view(start, end - start),
        _ if chunk[start] != b'"' => return None,
        2 if end - start >= 2 && chunk[end - 1] == b'"' => Cell::view(start + 1, end - start - 2),
        2 => return None,
        _ => match next_field(chunk, start, owned)? {
            (cell, after) if after == end => cell,
            _ => return None,
        },
    };
    // A .NET type name is 13 bytes at least, and rare: only then is the text
    // looked at.
    let (_, len, _) = cell.parts();
    if len >= 13 && is_type_name(cell_text(chunk, owned, cell)) {
        return None;
    }
    Some(cell)
}

/// The bytes of a block that shape records, one bit per byte (bit `i` for
/// byte `i`).
#[derive(Debug, PartialEq)]
struct Marks {
    quotes: u64,
    commas: u64,
    feeds: u64,
    returns: u64,
}

impl Marks {
    /// 16 bytes compared at a time ([`byte_marks_16`]).
    fn of(block: &[u8; 64]) -> Marks {
        let mut marks = [0u64; 4];
        for (i, part) in block.chunks_exact(16).enumerate() {
            let part = part.try_into().expect("16 bytes");
            let found = byte_marks_16(part, [b'"', b',', b'\n', b'\r']);
            for (mark, bits) in marks.iter_mut().zip(found) {
                *mark |= u64::from(bits) << (16 * i);
            }
        }
        let [quotes, commas, feeds, returns] = marks;
        Marks {
            quotes,
            commas,
            feeds,
            returns,
        }
    }

    /// The marks computed a byte at a time: the reference the block version
    /// is tested against.
    #[cfg(test)]
    fn byte_by_byte(block: &[u8; 64]) -> Marks {
        let mark = |byte: u8| {
            block
                .iter()
                .enumerate()
                .fold(0u64, |bits, (i, &b)| bits | (u64::from(b == byte) << i))
        };
        Marks {
            quotes: mark(b'"'),
            commas: mark(b','),
            feeds: mark(b'\n'),
            returns: mark(b'\r'),
        }
    }
}

/// Bit `i` of the result is the parity of bits `0..=i` of `bits`: for quote
/// marks, whether byte `i` is inside quotes (an opening quote counts as
/// inside, a closing one as outside).
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

/// The field starting at `pos`: its cell and the index just past it. A quoted
/// value with doubled quotes is unescaped into `owned`.
fn next_field(chunk: &[u8], pos: usize, owned: &mut String) -> Option<(Cell, usize)> {
    if chunk.get(pos) != Some(&b'"') {
        let end =
            memchr::memchr3(b',', b'\r', b'\n', &chunk[pos..]).map_or(chunk.len(), |k| pos + k);
        if memchr::memchr(b'"', &chunk[pos..end]).is_some() {
            return None;
        }
        return Some((Cell::view(pos, end - pos), end));
    }
    let start = pos + 1;
    let (mut from, mut escaped) = (start, None);
    loop {
        let quote = from + memchr::memchr(b'"', &chunk[from..])?;
        // Slices between quotes are whole characters: the chunk is UTF-8.
        let piece = || std::str::from_utf8(&chunk[from..quote]).ok();
        if chunk.get(quote + 1) == Some(&b'"') {
            escaped.get_or_insert(owned.len());
            owned.push_str(piece()?);
            owned.push('"');
            from = quote + 2;
            continue;
        }
        let cell = match escaped {
            None => Cell::view(start, quote - start),
            Some(at) => {
                owned.push_str(piece()?);
                Cell::owned(at, owned.len() - at)
            }
        };
        return Some((cell, quote + 1));
    }
}

/// The text of a cell [`next_field`] made.
fn cell_text<'a>(chunk: &'a [u8], owned: &'a str, cell: Cell) -> &'a str {
    let (start, len, is_owned) = cell.parts();
    if is_owned {
        &owned[start..start + len]
    } else {
        // SAFETY: `parse_chunk_views` checked the whole chunk to be UTF-8 before
        // making any cell, and a view starts and ends next to ASCII delimiters
        // (quote, comma, line end), so it is whole characters. Checking again
        // cost a twentieth of the load on the quote-all varied tenant.
        unsafe { std::str::from_utf8_unchecked(&chunk[start..start + len]) }
    }
}

/// Parses the records of one chunk; `first_line` is the line it starts on.
fn parse_chunk(chunk: &[u8], first_line: u64, names: &[String], file: &str) -> Result<ChunkOut> {
    let mut lines_at = LineCounter::new(chunk, first_line);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(chunk);
    let mut record = csv::ByteRecord::new();
    let bytes_per_row = 1 + chunk.len() / 256;
    let mut builders: Vec<StringBuilder> = names
        .iter()
        .map(|_| {
            StringBuilder::with_capacity(1024, chunk.len() / names.len().max(1) + bytes_per_row)
        })
        .collect();
    let mut lines = Vec::new();
    loop {
        let found = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e
                .position()
                .map_or(first_line, |p| p.line() + first_line - 1);
            Error::data(
                Location::at(file, line, None),
                format!("not valid CSV: {e}"),
            )
        })?;
        if !found {
            break;
        }
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
    Ok(ChunkOut {
        columns: builders
            .iter_mut()
            .map(|b| Chunk::Arrow(b.finish()))
            .collect(),
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
    if text.len() < 13 || !matches!(text.as_bytes()[0], b'S' | b'D' | b'M' | b' ') {
        return false;
    }
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

    /// Cuts `data` into chunks of whole records of about `chunk_bytes` each; each
    /// comes with the line number it starts on.
    fn split_records(
        data: &[u8],
        first_line: u64,
        chunk_bytes: usize,
    ) -> Vec<(std::ops::Range<usize>, u64)> {
        let ranges = cut_records(data, chunk_bytes);
        let ends: Vec<u64> = ranges
            .par_iter()
            .map(|r| memchr::memchr_iter(b'\n', &data[r.clone()]).count() as u64)
            .collect();
        let mut line = first_line;
        ranges
            .into_iter()
            .zip(ends)
            .map(|(r, ends)| {
                let chunk = (r, line);
                line += ends;
                chunk
            })
            .collect()
    }

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
    fn chunks_read_apart_give_the_lines_and_values_of_one_piece() {
        // Plain records, which the view reader takes, between lenient ones
        // (a quote inside an unquoted value), which it leaves to the csv crate:
        // each chunk's first line comes from the line feeds of those before.
        let mut text = String::from("#TYPE x\r\n\"Id\",\"Note\"\r\n");
        for i in 0..400 {
            match i % 50 {
                7 => text.push_str(&format!("\"{i}\",\"two\r\nlines\"\r\n\r\n")),
                30..=34 => text.push_str(&format!("{i},say a\"b\r\n")),
                _ => text.push_str(&format!("\"{i}\",\"note {i}\"\r\n")),
            }
        }
        let source = |t: &str| -> Source { Arc::new(t.as_bytes().to_vec()) };
        let whole = parse_in_chunks(source(&text), "x.csv", MAILBOXES, usize::MAX).unwrap();
        assert_eq!(whole.len(), 400);
        let values = |t: &Table| -> Vec<Option<String>> {
            let note = t.column(&["Note"]).unwrap();
            (0..t.len())
                .map(|r| note.get(r).map(str::to_string))
                .collect()
        };
        for chunk_bytes in [64, 100, 333, 1000] {
            let t = parse_in_chunks(source(&text), "x.csv", MAILBOXES, chunk_bytes).unwrap();
            assert_eq!(t.lines, whole.lines, "{chunk_bytes}");
            assert_eq!(values(&t), values(&whole), "{chunk_bytes}");
        }
        assert_eq!(whole.lines[..3], [3, 4, 5]);
        assert_eq!(
            whole.lines[8], 13,
            "a record after two lines and a blank one"
        );
    }

    #[test]
    fn a_wide_table_copies_its_short_columns_and_keeps_views_of_its_long_ones() {
        // Six columns (a wide table): two of short values, one of values longer
        // than a cache line (some quoted with doubled quotes, so unescaped
        // into the chunk's own string, some blank), one that is short in some
        // chunks and long in others; every value reads back the same however
        // the file is cut and whichever form a chunk keeps.
        let mut text = String::from("\"Id\",\"Short\",\"Long\",\"Mixed\",\"E\",\"F\"\r\n");
        let mut expected: Vec<[Option<String>; 4]> = Vec::new();
        for i in 0..300 {
            let long = match i % 7 {
                0 => None,
                3 => Some(format!("say \"{i}\" {}", "y".repeat(90))),
                _ => Some(format!(
                    "smtp:user{i}@contoso.com;{}",
                    "x".repeat(80 + i % 13)
                )),
            };
            let mixed = match i / 100 {
                1 => format!("m{i}-{}", "z".repeat(100)),
                _ => format!("m{i}"),
            };
            let quoted = |v: &Option<String>| v.as_deref().unwrap_or("").replace('"', "\"\"");
            text.push_str(&format!(
                "\"{i}\",\"s{}\",\"{}\",\"{mixed}\",\"\",\"e\"\r\n",
                i % 10,
                quoted(&long)
            ));
            expected.push([
                Some(i.to_string()),
                Some(format!("s{}", i % 10)),
                long,
                Some(mixed),
            ]);
        }
        let source: Source = Arc::new(text.into_bytes());
        for chunk_bytes in [usize::MAX, 5000, 2048] {
            let t = parse_in_chunks(source.clone(), "x.csv", MAILBOXES, chunk_bytes).unwrap();
            assert_eq!(t.len(), 300);
            for (c, name) in ["Id", "Short", "Long", "Mixed"].into_iter().enumerate() {
                let column = t.column(&[name]).unwrap();
                let read: Vec<Option<String>> = column
                    .values(0..t.len())
                    .map(|v| v.map(str::to_string))
                    .collect();
                let want: Vec<Option<String>> = expected.iter().map(|r| r[c].clone()).collect();
                assert_eq!(read, want, "{name}, chunks of {chunk_bytes} bytes");
            }
            let copied = |name: &str| t.columns[t.column_index(&[name]).unwrap()].copied();
            assert!(copied("Short").iter().all(|&c| c), "{chunk_bytes}");
            assert!(copied("Long").iter().all(|&c| !c), "{chunk_bytes}");
            let mixed = copied("Mixed");
            if chunk_bytes == 2048 {
                assert!(mixed.contains(&true) && mixed.contains(&false), "{mixed:?}");
            }
        }
    }

    #[test]
    fn chunks_cut_only_at_line_ends_outside_quotes() {
        let data = b"\"a\",\"x\ny\"\n\"b\",\"2\"\r\n\"c\",\"p\nq\nr\"\n\"d\",\"4\"\n";
        let text = std::str::from_utf8(data).unwrap();
        for chunk_bytes in 1..data.len() + 2 {
            let chunks = split_records(data, 2, chunk_bytes);
            let pieces: Vec<&str> = chunks.iter().map(|(r, _)| &text[r.clone()]).collect();
            assert_eq!(
                pieces.concat(),
                text,
                "chunks cover the data ({chunk_bytes})"
            );
            for (range, line) in &chunks {
                let starts_record = range.start == 0 || data[range.start - 1] == b'\n';
                assert!(
                    starts_record,
                    "cut inside a line at {} ({chunk_bytes})",
                    range.start
                );
                assert_eq!(*line, 2 + text[..range.start].matches('\n').count() as u64);
                assert!(
                    !pieces.iter().any(|p| p.starts_with("y\"")
                        || p.starts_with("q")
                        || p.starts_with("r\"")),
                    "cut inside quotes"
                );
            }
        }
    }

    #[test]
    fn parallel_chunks_give_the_same_table_and_lines_as_one_piece() {
        let mut text = String::from("\"Id\",\"Note\"\r\n");
        for i in 0..40_000 {
            if i % 1000 == 7 {
                text.push_str(&format!("\"{i}\",\"two\r\nlines, \"\"quoted\"\"\"\r\n"));
            } else {
                text.push_str(&format!("\"{i}\",\"note {i}\"\r\n"));
            }
        }
        let t = parse(text.as_bytes()).unwrap(); // below CHUNK_BYTES: one piece, the reference
        assert_eq!(t.len(), 40_000);
        let body = &text.as_bytes()[text.find('\n').unwrap() + 1..];
        let chunks = split_records(body, 2, 64 * 1024);
        assert!(chunks.len() > 4);
        let outs: Vec<ChunkOut> = chunks
            .iter()
            .map(|(r, line)| {
                parse_chunk(
                    &body[r.clone()],
                    *line,
                    &["Id".to_string(), "Note".to_string()],
                    "x.csv",
                )
                .unwrap()
            })
            .collect();
        let lines: Vec<u64> = outs.iter().flat_map(|o| o.lines.clone()).collect();
        let first_difference = lines.iter().zip(&t.lines).position(|(a, b)| a != b);
        assert_eq!((lines.len(), first_difference), (t.lines.len(), None));
        let notes: Vec<String> = outs
            .iter()
            .flat_map(|o| {
                (0..o.lines.len())
                    .map(|i| o.columns[1].value(i).unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(notes[7], "two\r\nlines, \"quoted\"");
        assert_eq!(
            t.lines[8],
            2 + 8 + 1,
            "a quoted line break moves later rows down a line"
        );
    }

    /// The line and cells of every row a chunk parsed.
    fn rows_of(out: &ChunkOut) -> Vec<(u64, Vec<Option<String>>)> {
        (0..out.lines.len())
            .map(|i| {
                (
                    out.lines[i],
                    out.columns
                        .iter()
                        .map(|c| c.value(i).map(str::to_string))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn mutated_files_never_panic_and_cuts_never_change_a_successful_parse() {
        let base = b"\"A\",\"B\",\"C\"\r\n\"1\",\"two\r\nlines\",\"x\"\r\n\"3\",\"say \"\"hi\"\"\",\"\"\r\n4,5,6\n\"7\",\"8\",\"9\"\n";
        let names: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        let mut rng = crate::generate::Rng::new(11);
        let (mut compared, mut agreed) = (0, 0);
        for _ in 0..5_000 {
            let mut bytes = base.to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len() as u64 + 1) as usize;
                match rng.below(6) {
                    0 => bytes.insert(at, b'"'),
                    1 => bytes.insert(at, b'\n'),
                    2 => bytes.insert(at, b','),
                    3 => bytes.insert(at, b'\r'),
                    4 => bytes.insert(at, 0xE9),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            let _ = parse(&bytes); // must not panic, whatever it returns
            let Ok((_, header_end, _)) = parse_header(&bytes, "x.csv", 1) else {
                continue;
            };
            let body = &bytes[header_end..];
            let whole = parse_chunk(body, 2, &names, "x.csv");
            let pieces: Result<Vec<ChunkOut>> = split_records(body, 2, 7)
                .iter()
                .map(|(r, line)| parse_chunk(&body[r.clone()], *line, &names, "x.csv"))
                .collect();
            if let (Ok(whole), Ok(pieces)) = (whole, pieces) {
                compared += 1;
                let joined: Vec<_> = pieces.iter().flat_map(rows_of).collect();
                if joined == rows_of(&whole) {
                    agreed += 1;
                }
            }
        }
        assert!(compared > 500, "too few comparable cases: {compared}");
        assert_eq!(
            agreed,
            compared,
            "a cut changed a successful parse in {} of {compared} cases",
            compared - agreed
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

    /// Per row its values, then its line number.
    type Rows = Vec<Vec<Option<String>>>;

    /// Values and line numbers of a chunk as the view reader gives them (`None`
    /// when it leaves the chunk to the csv crate) and as the csv crate does.
    fn both_readers(text: &[u8], columns: usize) -> (Option<Rows>, Result<Rows>) {
        let names: Vec<String> = (0..columns).map(|c| format!("c{c}")).collect();
        let rows = |out: ChunkOut| {
            let table: Vec<Column> = out
                .columns
                .into_iter()
                .map(|c| Column::from_parts(vec![c]))
                .collect();
            let mut rows: Vec<Vec<Option<String>>> = (0..out.lines.len())
                .map(|r| {
                    table
                        .iter()
                        .map(|c| c.value(r).map(str::to_string))
                        .collect()
                })
                .collect();
            for (row, line) in rows.iter_mut().zip(out.lines) {
                row.push(Some(line.to_string()));
            }
            rows
        };
        let source: Source = Arc::new(text.to_vec());
        let fast = parse_chunk_views(&source, 0, text, 7, columns).map(|(out, feeds)| {
            assert_eq!(feeds, memchr::memchr_iter(b'\n', text).count() as u64);
            rows(out)
        });
        let slow = parse_chunk(text, 7, &names, "t.csv").map(rows);
        (fast, slow)
    }

    #[test]
    fn views_hold_what_the_csv_crate_reads_in_each_dialect_form() {
        let cases: [&[u8]; 7] = [
            b"\"a\",\"b\"\r\n\"c,d\",\"e\"\"f\"\"\"\r\n",
            b"a,b\nc,\n,d\n",
            b"\"multi\nline\",x\r\n\r\n\n\"\",\"\"\ny,z",
            b"\"\"\n\"caf\xC3\xA9\",\"\xE2\x82\xAC\"\"\"\r",
            b"a,b\rc,d\r\n",
            b"\"\"\"\"\"\"\"\",q\n",
            b"",
        ];
        for text in cases {
            let (fast, slow) = both_readers(text, 2);
            let fast = fast.unwrap_or_else(|| {
                panic!("the view reader took {:?}", String::from_utf8_lossy(text))
            });
            assert_eq!(fast, slow.unwrap(), "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn block_marks_and_quote_parity_match_a_byte_by_byte_reading() {
        let mut rng = crate::generate::Rng::new(3);
        let alphabet = b"\",\r\na \xC3";
        let mut inside = false;
        for _ in 0..2_000 {
            let block: [u8; 64] =
                std::array::from_fn(|_| alphabet[rng.below(alphabet.len() as u64) as usize]);
            assert_eq!(Marks::of(&block), Marks::byte_by_byte(&block));
            let carry = if inside { u64::MAX } else { 0 };
            let quoted = prefix_xor(Marks::of(&block).quotes) ^ carry;
            for (i, &b) in block.iter().enumerate() {
                inside ^= b == b'"';
                assert_eq!(quoted >> i & 1 == 1, inside, "byte {i} of {block:?}");
            }
        }
    }

    #[test]
    fn every_shape_reads_alike_wherever_the_64_byte_blocks_cut_it() {
        // A doubled quote, a quoted comma and line break, a CRLF, a CR alone,
        // blank lines and a last record without a line end: shifted a byte at
        // a time past the blocks' boundaries by a first field of growing length.
        let rest =
            "\"a\"\"b\",\"c,d\"\r\n\"e\r\nf\",g\r\n\n\"\",h\rcaf\u{e9},\"\"\"\"\"\"\r\n\r\nx,\"y\"";
        for pad in 0..140 {
            let text = format!("\"{}\",p\r\n{rest}", "z".repeat(pad));
            let (fast, slow) = both_readers(text.as_bytes(), 2);
            let fast = fast.unwrap_or_else(|| panic!("the view reader took {text:?}"));
            assert_eq!(fast, slow.unwrap(), "{text:?}");
            assert_eq!(fast.len(), 6, "{text:?}");
        }
    }

    #[test]
    fn lenient_or_wrong_chunks_are_left_to_the_csv_crate() {
        for text in [
            &b"a\"b,c\n"[..],       // a quote inside an unquoted value
            b"\"a\"b,c\n",          // text after the closing quote
            b"a,b,c\n",             // another field count
            b"\"open,c\n",          // an unterminated quote
            b"\xFF,a\n",            // not UTF-8
            b"System.Object[],a\n", // a .NET type name
        ] {
            assert_eq!(
                both_readers(text, 2).0,
                None,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn the_view_reader_agrees_with_the_csv_crate(
            text in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b'"'),
                proptest::strategy::Just(b','),
                proptest::strategy::Just(b'\n'),
                proptest::strategy::Just(b'\r'),
                proptest::strategy::Just(b'a'),
                proptest::strategy::Just(b' '),
                proptest::strategy::Just(0xC3u8),
                proptest::strategy::Just(0xA9u8),
            ], 0..300),
            columns in 1usize..4,
        ) {
            let (fast, slow) = both_readers(&text, columns);
            if let Some(fast) = fast {
                proptest::prop_assert_eq!(Ok(fast), slow.map_err(|e| e.to_string()));
            }
        }

        #[test]
        fn export_csv_records_are_read_as_views(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-z\\\",\\r\\n é]{0,6}", 3), 0..40),
            crlf in proptest::bool::ANY,
        ) {
            // As Export-Csv writes them: every field quoted, quotes doubled.
            let end = if crlf { "\r\n" } else { "\n" };
            let text: String = rows
                .iter()
                .map(|r| {
                    let fields: Vec<String> = r.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
                    fields.join(",") + end
                })
                .collect();
            let (fast, slow) = both_readers(text.as_bytes(), 3);
            proptest::prop_assert!(fast.is_some(), "{text:?}");
            proptest::prop_assert_eq!(Ok(fast.unwrap()), slow.map_err(|e| e.to_string()));
        }
    }
}
