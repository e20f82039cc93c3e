//! The tables a snapshot may hold, their required columns, and the loaded form.
//!
//! Every table becomes a set of text columns, whatever its source format (Arrow
//! string arrays, or for CSV views of the file's bytes: every column of a narrow
//! table, the long-valued columns of a wide one):
//! the engine reads identities and filterable properties as text, and typed
//! comparisons (numbers, dates) are made by the filter compiler on demand.

use std::sync::Arc;

use arrow_array::{Array, StringArray};

use super::cells::trim;
use crate::error::{Error, Location, Result};

/// One snapshot table: its file name stem and the columns it must have.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// File stem: `<name>.csv` or `<name>.parquet`.
    pub name: &'static str,
    /// Each entry is one requirement: any of the alternative names satisfies it.
    pub required: &'static [&'static [&'static str]],
}

pub const MAILBOXES: TableSpec = TableSpec {
    name: "mailboxes",
    required: &[&["ExternalDirectoryObjectId"], &["PrimarySmtpAddress"]],
};
pub const GROUPS: TableSpec = TableSpec {
    name: "groups",
    required: &[&["DistinguishedName"]],
};
pub const GROUP_MEMBERS: TableSpec = TableSpec {
    name: "group_members",
    required: &[&["Group"], &["Member"]],
};
pub const ADMINISTRATIVE_UNITS: TableSpec = TableSpec {
    name: "administrative_units",
    required: &[&["Id"]],
};
pub const ADMINISTRATIVE_UNIT_MEMBERS: TableSpec = TableSpec {
    name: "administrative_unit_members",
    required: &[&["AdministrativeUnit"], &["Member"]],
};
pub const SERVICE_PRINCIPALS: TableSpec = TableSpec {
    name: "service_principals",
    required: &[&["AppId"], &["ObjectId"]],
};
pub const APP_ROLE_ASSIGNMENTS: TableSpec = TableSpec {
    name: "app_role_assignments",
    required: &[&["AppId", "PrincipalId"], &["AppRoleId", "Permission"]],
};
pub const APPLICATION_ACCESS_POLICIES: TableSpec = TableSpec {
    name: "application_access_policies",
    required: &[
        &["AppId"],
        &["AccessRight"],
        &["ScopeIdentityRaw", "ScopeIdentity", "ScopeName"],
    ],
};
pub const MANAGEMENT_SCOPES: TableSpec = TableSpec {
    name: "management_scopes",
    required: &[
        &["Name"],
        &["RecipientFilter", "RecipientRestrictionFilter"],
    ],
};
pub const MANAGEMENT_ROLE_ASSIGNMENTS: TableSpec = TableSpec {
    name: "management_role_assignments",
    required: &[
        &["Name"],
        &["Role"],
        &["App", "RoleAssignee", "RoleAssigneeName"],
    ],
};

/// All tables in load order; only `mailboxes` must exist.
pub const ALL_TABLES: [TableSpec; 10] = [
    MAILBOXES,
    GROUPS,
    GROUP_MEMBERS,
    ADMINISTRATIVE_UNITS,
    ADMINISTRATIVE_UNIT_MEMBERS,
    SERVICE_PRINCIPALS,
    APP_ROLE_ASSIGNMENTS,
    APPLICATION_ACCESS_POLICIES,
    MANAGEMENT_SCOPES,
    MANAGEMENT_ROLE_ASSIGNMENTS,
];

/// Where a table's rows came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv,
    Parquet,
}

/// A text column, kept in the chunks it was parsed in (joining them would copy
/// every byte once more for nothing).
#[derive(Debug, Clone, Default)]
pub struct Column {
    chunks: Vec<Chunk>,
    /// First row of each chunk.
    starts: Vec<usize>,
    len: usize,
}

/// The rows of one parsed chunk of a column.
#[derive(Debug, Clone)]
pub enum Chunk {
    /// Values copied into an Arrow array (Parquet input, and CSV the fast reader
    /// leaves to the csv crate).
    Arrow(StringArray),
    /// Values left where they are in the CSV file's bytes.
    Views(ViewChunk),
}

impl Chunk {
    pub(crate) fn len(&self) -> usize {
        match self {
            Chunk::Arrow(a) => a.len(),
            Chunk::Views(v) => v.cells.len(),
        }
    }

    pub(crate) fn value(&self, i: usize) -> Option<&str> {
        match self {
            Chunk::Arrow(a) => (!a.is_null(i)).then(|| a.value(i)),
            Chunk::Views(v) => v.value(i),
        }
    }

    /// Asks the memory for the text of row `i` (if there is one) before it is
    /// read: views lie a record apart in the file, and a scan that reads them
    /// one after another would otherwise wait for each. Arrow arrays are
    /// contiguous, which the processor's own prefetching follows.
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        if let Chunk::Views(v) = self {
            v.prefetch(i);
        }
    }
}

/// How long a wide table's values may be on average, in bytes, for a chunk of
/// a column to be copied into an Arrow array rather than left as views of the
/// file: one cache line. A scan of views reads a line or more of the file per
/// row however short the value, which contiguous short values save; copying
/// long values (proxy address lists, distinguished names) costs more in fresh
/// memory, faulted in page by page, than reading them where they are, a
/// prefetched line at a time.
pub const COPY_MEAN_BYTES: usize = 64;

/// Rows ahead of a scan whose texts [`Column::values`] prefetches: enough to
/// cover a memory access with the few tens of nanoseconds a value costs.
const PREFETCH_ROWS: usize = 16;

/// The bytes of a CSV file, shared by every column parsed from it: a read-only
/// map of the file, or bytes in memory.
pub type Source = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// One cell of a [`ViewChunk`]: where its text is, or empty (`len == 0`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cell {
    start: u32,
    len: u32,
}

impl Cell {
    /// Set in `len` when the text is in the chunk's `owned` string (a quoted
    /// value with doubled quotes, unescaped).
    const OWNED: u32 = 1 << 31;
    /// Bytes a chunk of views may span: offsets and lengths stay below `OWNED`.
    pub const MAX_BYTES: usize = Cell::OWNED as usize;

    /// Text at `start..start + len` of the chunk's bytes; `len < 2^31`.
    pub fn view(start: usize, len: usize) -> Cell {
        Cell {
            start: start as u32,
            len: len as u32,
        }
    }

    /// Where the text is: start, length, and whether in the owned string.
    pub fn parts(self) -> (usize, usize, bool) {
        (
            self.start as usize,
            (self.len & !Cell::OWNED) as usize,
            self.len & Cell::OWNED != 0,
        )
    }

    /// Text at `start..start + len` of the chunk's owned string.
    pub fn owned(start: usize, len: usize) -> Cell {
        Cell {
            start: start as u32,
            len: if len == 0 {
                0
            } else {
                len as u32 | Cell::OWNED
            },
        }
    }
}

/// The cells of one column in one chunk of a CSV file, as positions in the
/// file's bytes: no copy of the text (the cells cost 8 bytes each).
#[derive(Clone)]
pub struct ViewChunk {
    /// Keeps the bytes `start` points into alive.
    _source: Source,
    /// The chunk's first byte in the source (kept as a pointer: a value is read
    /// without a call through the source's trait object).
    start: *const u8,
    base: usize,
    cells: Arc<[Cell]>,
    owned: Arc<str>,
}

// SAFETY: `start` points into `_source`, which is Send + Sync, read-only and
// kept alive by the chunk; the chunk never writes through it.
unsafe impl Send for ViewChunk {}
// SAFETY: as for Send: shared reads of immutable bytes.
unsafe impl Sync for ViewChunk {}

impl std::fmt::Debug for ViewChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewChunk")
            .field("base", &self.base)
            .field("cells", &self.cells.len())
            .finish_non_exhaustive()
    }
}

impl ViewChunk {
    /// Cells of the chunk at `source[base..base + len]`, which the caller has
    /// checked to be UTF-8, each view ending at an ASCII delimiter.
    pub fn new(source: Source, base: usize, cells: Vec<Cell>, owned: String) -> ViewChunk {
        let start = (*source).as_ref()[base..].as_ptr();
        ViewChunk {
            _source: source,
            start,
            base,
            cells: cells.into(),
            owned: owned.into(),
        }
    }

    /// The same values copied into an Arrow array when they average at most
    /// [`COPY_MEAN_BYTES`]; `None` (keep the views) when they are longer.
    pub fn to_arrow_if_short(&self) -> Option<StringArray> {
        let bytes = self.text_bytes();
        (bytes <= COPY_MEAN_BYTES * self.cells.len()).then(|| self.to_arrow_of(bytes))
    }

    /// The length of the cells' texts together.
    fn text_bytes(&self) -> usize {
        self.cells.iter().map(|c| c.parts().1).sum()
    }

    /// The same values copied into an Arrow array, given the cells'
    /// [`ViewChunk::text_bytes`]: for a wide table, whose columns are scanned
    /// one at a time (a view per row reads at least a cache line of the file
    /// per row, for each column scanned).
    fn to_arrow_of(&self, bytes: usize) -> StringArray {
        let count = self.cells.len();
        assert!(
            bytes <= i32::MAX as usize,
            "a chunk's text fits 32-bit offsets"
        );
        let mut offsets: Vec<i32> = Vec::with_capacity(count + 1);
        let mut values: Vec<u8> = Vec::with_capacity(bytes);
        // A null is a blank cell; one bit per cell, set when it holds text.
        let mut valid = vec![0u64; count.div_ceil(64)];
        let (mut end, mut blanks) = (0usize, 0usize);
        offsets.push(0);
        for (i, &cell) in self.cells.iter().enumerate() {
            let (start, len, owned) = cell.parts();
            if len != 0 {
                let text = match owned {
                    true => &self.owned.as_bytes()[start..][..len],
                    // SAFETY: as in `value`: the reader made the view inside the
                    // chunk's bytes, which `_source` keeps alive.
                    false => unsafe { std::slice::from_raw_parts(self.start.add(start), len) },
                };
                // SAFETY: `values` holds `bytes` = the sum of the cells' lengths,
                // and `end` is the sum of the lengths before this cell.
                unsafe { copy_text(text, values.as_mut_ptr().add(end)) };
                end += len;
                valid[i / 64] |= 1 << (i % 64);
            } else {
                blanks += 1;
            }
            offsets.push(end as i32);
        }
        // SAFETY: every byte below `end` = `bytes` was written above.
        unsafe { values.set_len(end) };
        let nulls = (blanks > 0).then(|| {
            let bits = arrow_buffer::BooleanBuffer::new(valid.into(), 0, count);
            arrow_buffer::NullBuffer::new(bits)
        });
        let offsets = arrow_buffer::OffsetBuffer::new(offsets.into());
        // SAFETY: the offsets ascend from 0 to the values' length, and every
        // value is whole UTF-8 text of the chunk (see `value`), so the array
        // holds what `StringArray::try_new` would accept.
        unsafe { StringArray::new_unchecked(offsets, values.into(), nulls) }
    }

    /// Prefetches the first cache lines (up to four) of cell `i`'s text, if
    /// the chunk has that cell and it is a view.
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(&cell) = self.cells.get(i) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let (start, len, owned) = cell.parts();
            if owned || len == 0 {
                return;
            }
            // A prefetch never faults; the addresses are inside the view anyway.
            let text = self.start.wrapping_add(start).cast::<i8>();
            for line in (0..len.min(256)).step_by(64) {
                // SAFETY: SSE is part of x86_64; a prefetch reads nothing the
                // program sees and is dropped for an unmapped address.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(text.wrapping_add(line)) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    fn value(&self, i: usize) -> Option<&str> {
        let cell = self.cells[i];
        if cell.len == 0 {
            return None;
        }
        let start = cell.start as usize;
        if cell.len & Cell::OWNED != 0 {
            return Some(&self.owned[start..][..(cell.len & !Cell::OWNED) as usize]);
        }
        // SAFETY: the CSV reader made the cell inside the chunk (start + len
        // within its bytes, which `_source` keeps alive), checked the whole chunk
        // to be UTF-8, and a view starts and ends next to ASCII delimiters (quote,
        // comma, line end), so it is whole characters. The bytes are a read-only
        // map of the snapshot file or bytes in memory; the snapshot is not changed
        // while it is analyzed (as `Snapshot::load`'s map requires).
        Some(unsafe {
            let bytes = std::slice::from_raw_parts(self.start.add(start), cell.len as usize);
            std::str::from_utf8_unchecked(bytes)
        })
    }
}

/// Copies `text` to `to` without a call for the texts the copied columns
/// hold (at most [`COPY_MEAN_BYTES`] on average, GUIDs and addresses of 30 to
/// 40 bytes among them): two possibly overlapping moves of 32, 16, 8 or 4
/// bytes cover any length up to 64 without reading or writing past either end.
///
/// # Safety
/// `to` must be valid for writing `text.len()` bytes, apart from `text`.
#[inline(always)]
unsafe fn copy_text(text: &[u8], to: *mut u8) {
    // SAFETY (each arm): the length is at least the move's size.
    unsafe {
        match text.len() {
            32..=64 => two_moves::<[u8; 32]>(text, to),
            16..=31 => two_moves::<[u8; 16]>(text, to),
            8..=15 => two_moves::<u64>(text, to),
            4..=7 => two_moves::<u32>(text, to),
            len => std::ptr::copy_nonoverlapping(text.as_ptr(), to, len),
        }
    }
}

/// Copies `text` to `to` as its first and its last `size_of::<T>()` bytes.
///
/// # Safety
/// As for [`copy_text`], and `text` is at least `size_of::<T>()` bytes and at
/// most twice that.
#[inline(always)]
unsafe fn two_moves<T: Copy>(text: &[u8], to: *mut u8) {
    let (len, size) = (text.len(), std::mem::size_of::<T>());
    let from = text.as_ptr();
    // SAFETY: both moves lie within `from[..len]` and `to[..len]`.
    unsafe {
        let (head, tail) = (
            from.cast::<T>().read_unaligned(),
            from.add(len - size).cast::<T>().read_unaligned(),
        );
        to.cast::<T>().write_unaligned(head);
        to.add(len - size).cast::<T>().write_unaligned(tail);
    }
}

impl Column {
    pub fn from_chunks(chunks: Vec<StringArray>) -> Column {
        Column::from_parts(chunks.into_iter().map(Chunk::Arrow).collect())
    }

    pub fn from_parts(chunks: Vec<Chunk>) -> Column {
        let mut starts = Vec::with_capacity(chunks.len());
        let mut len = 0;
        for c in &chunks {
            starts.push(len);
            len += c.len();
        }
        Column {
            chunks,
            starts,
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw texts of consecutive rows, walking the chunks in order (no
    /// chunk lookup per row, unlike [`Column::value`]).
    pub fn values(&self, rows: std::ops::Range<usize>) -> impl Iterator<Item = Option<&str>> {
        let first = self
            .starts
            .partition_point(|&s| s <= rows.start)
            .saturating_sub(1);
        let (start, end) = (rows.start, rows.end.min(self.len));
        self.chunks[first.min(self.chunks.len().saturating_sub(1))..]
            .iter()
            .zip(&self.starts[first.min(self.starts.len().saturating_sub(1))..])
            .flat_map(move |(chunk, &chunk_start)| {
                let from = start.max(chunk_start) - chunk_start;
                let to = end.max(chunk_start).min(chunk_start + chunk.len()) - chunk_start;
                (from..to).map(move |i| {
                    chunk.prefetch(i + PREFETCH_ROWS);
                    chunk.value(i)
                })
            })
            .take(end.saturating_sub(start))
    }

    /// Per chunk, whether its values were copied into an Arrow array.
    #[cfg(test)]
    pub(crate) fn copied(&self) -> Vec<bool> {
        let arrow = |c: &Chunk| matches!(c, Chunk::Arrow(_));
        self.chunks.iter().map(arrow).collect()
    }

    /// The raw text of a row; `None` when the cell is empty.
    pub fn value(&self, row: usize) -> Option<&str> {
        let c = if self.chunks.len() == 1 {
            0
        } else {
            self.starts.partition_point(|&s| s <= row) - 1
        };
        self.chunks[c].value(row - self.starts[c])
    }
}

/// A loaded table: named Arrow string columns plus the source line of each row.
#[derive(Debug, Clone)]
pub struct Table {
    pub spec: TableSpec,
    /// File name as shown in messages, e.g. `mailboxes.csv`.
    pub file: String,
    pub format: SourceFormat,
    /// Header names as written in the file.
    pub names: Vec<String>,
    pub columns: Vec<Column>,
    /// Line (CSV) or row (Parquet, header = 1) of each data row.
    pub lines: Vec<u64>,
}

impl Table {
    /// An empty table for an absent optional file.
    pub fn empty(spec: TableSpec) -> Table {
        Table {
            spec,
            file: format!("{}.csv", spec.name),
            format: SourceFormat::Csv,
            names: Vec::new(),
            columns: Vec::new(),
            lines: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Index of the first column whose name matches one of `names`, case-insensitively.
    /// Earlier names in `names` win.
    pub fn column_index(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|want| {
            self.names
                .iter()
                .position(|have| have.eq_ignore_ascii_case(want))
        })
    }

    /// The accessor of column `index` (see [`Table::column_index`]).
    pub fn col(&self, index: usize) -> Col<'_> {
        Col { table: self, index }
    }

    /// A column accessor, or `None` when no alternative name is present.
    pub fn column(&self, names: &[&str]) -> Option<Col<'_>> {
        self.column_index(names).map(|i| Col {
            table: self,
            index: i,
        })
    }

    /// The location of a row (and optionally a column) for messages.
    pub fn location(&self, row: usize, column: Option<&str>) -> Location {
        Location::at(&self.file, self.lines[row], column)
    }

    /// A table of the same file with only the rows `keep` accepts (in order),
    /// keeping their line numbers for messages.
    pub fn filter_rows(&self, keep: impl Fn(usize) -> bool) -> Table {
        let rows: Vec<usize> = (0..self.len()).filter(|&r| keep(r)).collect();
        Table {
            spec: self.spec,
            file: self.file.clone(),
            format: self.format,
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| Column::from_chunks(vec![rows.iter().map(|&r| c.value(r)).collect()]))
                .collect(),
            lines: rows.iter().map(|&r| self.lines[r]).collect(),
        }
    }

    /// Fails unless every requirement of the spec is met by some column.
    pub fn check_required(&self) -> Result<()> {
        for requirement in self.spec.required {
            if self.column_index(requirement).is_none() {
                let wanted = if requirement.len() == 1 {
                    format!("column {}", requirement[0])
                } else {
                    format!("one of the columns {}", requirement.join(", "))
                };
                return Err(Error::data(
                    Location::file(&self.file),
                    format!(
                        "missing required {wanted}; the header has: {}. Export the table with that property (see scripts/Export-ExomatrixSnapshot.ps1)",
                        if self.names.is_empty() { "nothing".to_string() } else { self.names.join(", ") }
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Fails when two header names are the same (case-insensitively): exomatrix
/// could not tell which of the two columns holds the data. `line` is the
/// header's line in a CSV file.
pub fn check_unique_names(names: &[String], file: &str, line: Option<u64>) -> Result<()> {
    for (second, name) in names.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        if let Some(first) = names[..second]
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
        {
            return Err(Error::data(
                Location {
                    file: file.to_string(),
                    line,
                    column: None,
                },
                format!(
                    "the header names column {name} twice (columns {} and {}); remove one of them: exomatrix cannot tell which holds the data",
                    first + 1,
                    second + 1
                ),
            ));
        }
    }
    Ok(())
}

/// One column of a table, read as trimmed text where blank means absent.
#[derive(Debug, Clone, Copy)]
pub struct Col<'a> {
    table: &'a Table,
    index: usize,
}

impl<'a> Col<'a> {
    /// The non-blank, trimmed value of a row.
    pub fn get(&self, row: usize) -> Option<&'a str> {
        let value = trim(self.table.columns[self.index].value(row)?);
        (!value.is_empty()).then_some(value)
    }

    /// The non-blank, trimmed values of consecutive rows, in order.
    pub fn values(&self, rows: std::ops::Range<usize>) -> impl Iterator<Item = Option<&'a str>> {
        self.table.columns[self.index].values(rows).map(|v| {
            let v = trim(v?);
            (!v.is_empty()).then_some(v)
        })
    }

    /// The column's header name.
    pub fn name(&self) -> &'a str {
        &self.table.names[self.index]
    }

    /// The location of this column in a row.
    pub fn location(&self, row: usize) -> Location {
        self.table.location(row, Some(self.name()))
    }
}

/// Reads the first non-blank value among several alternative columns.
pub fn first_present<'a>(cols: &[Option<Col<'a>>], row: usize) -> Option<(Col<'a>, &'a str)> {
    cols.iter()
        .flatten()
        .find_map(|c| c.get(row).map(|v| (*c, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_is_str_trim() {
        for v in [
            "",
            "a",
            " a",
            "a ",
            "\u{a0}a",
            "a\u{2003}",
            "ab",
            " ",
            "\ta\r\n",
            "é",
            "x é x",
        ] {
            assert_eq!(trim(v), v.trim(), "{v:?}");
        }
    }

    #[test]
    fn values_of_a_range_walk_the_chunks_like_value() {
        let chunk = |v: &[Option<&str>]| StringArray::from(v.to_vec());
        let column = Column::from_chunks(vec![
            chunk(&[Some("a"), None, Some("c")]),
            chunk(&[]),
            chunk(&[Some("d"), Some("e")]),
            chunk(&[Some("f"), None, Some("h"), Some("i")]),
        ]);
        for start in 0..=column.len() {
            for end in start..=column.len() + 2 {
                let walked: Vec<Option<&str>> = column.values(start..end).collect();
                let looked_up: Vec<Option<&str>> = (start..end.min(column.len()))
                    .map(|r| column.value(r))
                    .collect();
                assert_eq!(walked, looked_up, "{start}..{end}");
            }
        }
        assert_eq!(Column::default().values(0..3).count(), 0);
    }

    #[test]
    fn views_copied_into_arrow_keep_every_value_and_blank() {
        // Texts of every length the short copies distinguish (0 to 100 bytes),
        // read from the file's bytes and from the owned string, with blanks
        // between them and a two-byte character at the start of the longer ones.
        let mut text = String::new();
        let mut owned = String::new();
        let mut cells = Vec::new();
        let mut expected = Vec::new();
        for len in 0..=100usize {
            // `len` bytes; from 4 bytes on, the first character takes two.
            let value: String = match len {
                0..=3 => "abc"[..len].to_string(),
                _ => std::iter::once('é')
                    .chain((0..len - 2).map(|i| char::from(b'a' + (i % 26) as u8)))
                    .collect(),
            };
            let value = value.as_str();
            cells.push(Cell::view(text.len(), value.len()));
            text.push_str(value);
            text.push(',');
            expected.push((!value.is_empty()).then(|| value.to_string()));
            cells.push(Cell::owned(owned.len(), value.len()));
            owned.push_str(value);
            expected.push((!value.is_empty()).then(|| value.to_string()));
            cells.push(Cell::default());
            expected.push(None);
        }
        let source: Source = Arc::new(text.into_bytes());
        let chunk = ViewChunk::new(source, 0, cells, owned);
        let array = chunk.to_arrow_of(chunk.text_bytes());
        let copied: Vec<Option<String>> = array.iter().map(|v| v.map(str::to_string)).collect();
        assert_eq!(copied, expected);
        array
            .to_data()
            .validate_full()
            .expect("a valid string array");

        // Without blanks there is no null buffer.
        let source: Source = Arc::new(b"abc".to_vec());
        let chunk = ViewChunk::new(source, 0, vec![Cell::view(0, 3)], String::new());
        assert_eq!(chunk.to_arrow_of(chunk.text_bytes()).nulls(), None);
    }
}
