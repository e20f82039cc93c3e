//! The access file(s): one row per granted cell, four integer columns, sorted by
//! app, permission, mailbox.
//!
//! Small matrices go to `access.parquet`. Large ones are split at grant boundaries
//! into `access/part-NNNNN.parquet` of about [`AccessOptions::part_cells`] cells each, written in
//! parallel; the parts in name order are the whole table in sorted order. Every
//! writer streams fixed-size batches, so memory does not grow with the cells.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, SortingColumn};
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, SchemaDescriptor};
use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::cells::{CellSet, Via};
use super::pages::{delta_binary_packed, index_width, push_run, rle_dictionary, split_runs, Run};
use crate::error::{Error, Result};
use crate::output::{create_block_file, create_private_dir, into_file, BlockFile, Syncer};

/// Sizes of the access writer; the defaults suit any tenant, tests shrink them.
#[derive(Debug, Clone, Copy)]
pub struct AccessOptions {
    /// Cells per part file when the matrix is split (at more than twice this).
    pub part_cells: u64,
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Rows per data page.
    pub page_rows: usize,
    /// Write `access/part-*.parquet` even for a small matrix (datasets of a
    /// fleet, so that one glob reads every tenant).
    pub always_parts: bool,
}

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions {
            part_cells: 1 << 24,
            row_group_rows: 1 << 22,
            page_rows: 1 << 20,
            always_parts: false,
        }
    }
}

/// How the access table was laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLayout {
    /// `access.parquet`
    Single,
    /// `access/part-NNNNN.parquet`, this many parts.
    Parts(usize),
}

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("app_idx", DataType::UInt32, false),
        Field::new("permission_id", DataType::UInt8, false),
        Field::new("mailbox_idx", DataType::UInt32, false),
        Field::new("via", DataType::UInt8, false),
    ])
}

fn properties(schema: &Schema) -> WriterProperties {
    let mut properties = WriterProperties::builder()
        .set_sorting_columns(Some(
            (0..3)
                .map(|i| SortingColumn {
                    column_idx: i,
                    descending: false,
                    nulls_first: false,
                })
                .collect(),
        ))
        .build();
    // Arrow readers get the same types back as an ArrowWriter file would give.
    add_encoded_arrow_schema_to_metadata(schema, &mut properties);
    properties
}

/// Writes every cell of `sets` (sorted by app, permission) under `dir`, and
/// syncs the files to disk.
pub fn write_access<S: AsRef<CellSet> + Sync>(
    sets: &[S],
    dir: &Path,
    options: AccessOptions,
) -> Result<(u64, AccessLayout)> {
    let syncer = Syncer::start();
    let written = write_access_with(sets, dir, options, &syncer);
    syncer.finish()?;
    written
}

/// [`write_access`], the files queued on `syncer` to be synced.
pub fn write_access_with<S: AsRef<CellSet> + Sync>(
    sets: &[S],
    dir: &Path,
    options: AccessOptions,
    syncer: &Syncer,
) -> Result<(u64, AccessLayout)> {
    let sizes: Vec<u64> = sets.par_iter().map(|g| g.as_ref().len()).collect();
    let total: u64 = sizes.iter().sum();
    if total <= 2 * options.part_cells && !options.always_parts {
        let cells = write_part(sets, &dir.join("access.parquet"), options, syncer)?;
        return Ok((cells, AccessLayout::Single));
    }
    // Contiguous ranges of sets holding about `part_cells` cells each.
    let mut ranges = Vec::new();
    let (mut start, mut acc) = (0, 0u64);
    for (i, &n) in sizes.iter().enumerate() {
        acc += n;
        if acc >= options.part_cells {
            ranges.push(start..i + 1);
            (start, acc) = (i + 1, 0);
        }
    }
    if start < sets.len() || ranges.is_empty() {
        // An empty matrix still gets one (empty) part, so globs find the table.
        ranges.push(start..sets.len());
    }
    let parts = dir.join("access");
    create_private_dir(&parts)?;
    let written: Vec<Result<u64>> = ranges
        .par_iter()
        .enumerate()
        .map(|(i, r)| {
            write_part(
                &sets[r.clone()],
                &parts.join(format!("part-{i:05}.parquet")),
                options,
                syncer,
            )
        })
        .collect();
    let mut cells = 0;
    for w in written {
        cells += w?;
    }
    Ok((cells, AccessLayout::Parts(ranges.len())))
}

/// Streams the cells of `sets` into one Parquet file, a row group at a time.
fn write_part<S: AsRef<CellSet>>(
    sets: &[S],
    path: &Path,
    options: AccessOptions,
    syncer: &Syncer,
) -> Result<u64> {
    let parquet_error = |e| Error::parquet(path, e);
    let schema = schema();
    let descriptor = ArrowSchemaConverter::new()
        .convert(&schema)
        .map_err(parquet_error)?;
    let file = create_block_file(path)?;
    let mut writer = SerializedFileWriter::new(
        file,
        descriptor.root_schema_ptr(),
        Arc::new(properties(&schema)),
    )
    .map_err(parquet_error)?;
    let rows = options.row_group_rows.max(1);
    let mut group = RowGroup::new(rows);
    let mut cells = 0u64;
    let mut flush = |group: &mut RowGroup, writer: &mut SerializedFileWriter<BlockFile>| {
        cells += group.len() as u64;
        group
            .write(writer, &descriptor, options.page_rows.max(1))
            .map_err(parquet_error)
    };
    for g in sets.iter().map(AsRef::as_ref) {
        let single = match (g.entra.is_empty(), g.rbac.is_empty()) {
            (false, true) => Some((&g.entra, Via::ENTRA)),
            (true, false) => Some((&g.rbac, Via::RBAC)),
            _ => None,
        };
        // The mailbox ids are taken in blocks (`next_many` scans a bitmap
        // container's words instead of stepping an iterator per id), written
        // straight into the row group. With one source, `via` is constant; with
        // both, the ids are the union's, and each id's source is found by
        // stepping through both bitmaps' ids alongside, `via` added as runs.
        let union;
        let (ids_of, mut sources) = match single {
            Some((bitmap, via)) => (bitmap, Err(via)),
            None => {
                union = &g.entra | &g.rbac;
                (&union, Ok((Blocks::new(&g.entra), Blocks::new(&g.rbac))))
            }
        };
        // A set that is one range of ids (every tenant-wide grant) is counted
        // out instead of read from its containers (one ending at `u32::MAX`,
        // past which a range cannot end, is read as any other).
        let mut ids = match (ids_of.min(), ids_of.max()) {
            (Some(min), Some(max))
                if max < u32::MAX && ids_of.len() == u64::from(max - min) + 1 =>
            {
                Ids::Range(min..max + 1)
            }
            _ => Ids::Bitmap(ids_of.iter()),
        };
        loop {
            let (ids, runs) = group.fill(&mut ids);
            if ids.is_empty() {
                break;
            }
            match &mut sources {
                Err(via) => runs.constant(g.app, g.permission, *via, ids.len()),
                Ok((entra, rbac)) => {
                    let mut run: Option<(Via, usize)> = None;
                    for &id in ids.iter() {
                        let via = Via::new(entra.take(id), rbac.take(id));
                        run = match run {
                            Some((v, n)) if v == via => Some((v, n + 1)),
                            Some((v, n)) => {
                                runs.constant(g.app, g.permission, v, n);
                                Some((via, 1))
                            }
                            None => Some((via, 1)),
                        };
                    }
                    if let Some((v, n)) = run {
                        runs.constant(g.app, g.permission, v, n);
                    }
                }
            }
            if group.len() == rows {
                flush(&mut group, &mut writer)?;
            }
        }
    }
    if group.len() > 0 {
        flush(&mut group, &mut writer)?;
    }
    let file = into_file(path, writer.into_inner().map_err(parquet_error)?)?;
    syncer.sync(path, file);
    Ok(cells)
}

/// A bitmap's ids read in blocks, for telling which of them a sequence of
/// ascending ids (a superset of the bitmap's) holds.
struct Blocks<'a> {
    it: roaring::bitmap::Iter<'a>,
    /// A block of ids, of which the first `len` are read.
    ids: Box<[u32; 4_096]>,
    len: usize,
    next: usize,
    /// Every id of the bitmap was read.
    done: bool,
}

impl<'a> Blocks<'a> {
    fn new(bitmap: &'a RoaringBitmap) -> Blocks<'a> {
        Blocks {
            it: bitmap.iter(),
            ids: Box::new([0; 4_096]),
            len: 0,
            next: 0,
            done: false,
        }
    }

    /// Whether the bitmap holds `id`; ids must be asked in ascending order,
    /// each of the bitmap's among them.
    fn take(&mut self, id: u32) -> bool {
        if self.next == self.len {
            if self.done {
                return false;
            }
            self.len = self.it.next_many(&mut self.ids[..]).len();
            self.next = 0;
            if self.len == 0 {
                self.done = true;
                return false;
            }
        }
        let hit = self.ids[self.next] == id;
        self.next += usize::from(hit);
        hit
    }
}

/// The ascending mailbox ids of one set, as they are read into row groups.
enum Ids<'a> {
    Bitmap(roaring::bitmap::Iter<'a>),
    /// The ids left of a set that is one range.
    Range(Range<u32>),
}

/// The rows of one row group: the mailbox ids, and the other columns as runs.
struct RowGroup {
    /// Room for a whole row group, zeroed once; the first `filled` are its ids.
    mailbox: Vec<u32>,
    filled: usize,
    /// The least and greatest id filled (the column chunk's statistics).
    min: u32,
    max: u32,
    runs: Runs,
}

/// The run columns of a row group.
struct Runs {
    app: Vec<Run>,
    permission: Vec<Run>,
    via: Vec<Run>,
}

impl RowGroup {
    fn new(rows: usize) -> RowGroup {
        RowGroup {
            mailbox: vec![0; rows],
            filled: 0,
            min: u32::MAX,
            max: 0,
            runs: Runs {
                app: Vec::new(),
                permission: Vec::new(),
                via: Vec::new(),
            },
        }
    }

    fn len(&self) -> usize {
        self.filled
    }

    /// Reads ids from `ids` into the room left (none when it is done or the
    /// group is full); gives them, and the run columns to extend for them.
    fn fill(&mut self, ids: &mut Ids<'_>) -> (&[u32], &mut Runs) {
        let start = self.filled;
        let room = &mut self.mailbox[start..];
        let n = match ids {
            Ids::Bitmap(it) => it.next_many(room).len(),
            Ids::Range(range) => {
                let n = room.len().min(range.len());
                for (i, slot) in room[..n].iter_mut().enumerate() {
                    *slot = range.start + i as u32;
                }
                range.start += n as u32;
                n
            }
        };
        self.filled += n;
        let filled = &self.mailbox[start..self.filled];
        // A set's ids come in ascending order.
        if let (Some(&first), Some(&last)) = (filled.first(), filled.last()) {
            self.min = self.min.min(first);
            self.max = self.max.max(last);
        }
        (filled, &mut self.runs)
    }

    /// Encodes the four column chunks, appends them as a row group, and empties
    /// `self` for the next one.
    fn write(
        &mut self,
        writer: &mut SerializedFileWriter<BlockFile>,
        descriptor: &SchemaDescriptor,
        page_rows: usize,
    ) -> std::result::Result<(), ParquetError> {
        let rows = self.len() as u64;
        let runs = &self.runs;
        let chunks = [
            dictionary_chunk(descriptor.column(0), &runs.app, page_rows, true, rows)?,
            dictionary_chunk(
                descriptor.column(1),
                &runs.permission,
                page_rows,
                false,
                rows,
            )?,
            delta_chunk(
                descriptor.column(2),
                &self.mailbox[..self.filled],
                (self.min, self.max),
                page_rows,
            )?,
            dictionary_chunk(descriptor.column(3), &runs.via, page_rows, false, rows)?,
        ];
        let mut group = writer.next_row_group()?;
        for (bytes, close) in chunks {
            group.append_column(&bytes, close)?;
        }
        group.close()?;
        self.filled = 0;
        (self.min, self.max) = (u32::MAX, 0);
        self.runs.app.clear();
        self.runs.permission.clear();
        self.runs.via.clear();
        Ok(())
    }
}

impl Runs {
    /// Extends the run columns by `n` rows for mailboxes already read.
    fn constant(&mut self, app: u32, permission: u8, via: Via, n: usize) {
        let n = n as u32;
        push_run(&mut self.app, app, n);
        push_run(&mut self.permission, u32::from(permission), n);
        push_run(&mut self.via, u32::from(via.bits()), n);
    }
}

/// Chunk-level minimum and maximum, as the INT32 bit patterns of unsigned values.
fn min_max(min: u32, max: u32) -> Statistics {
    Statistics::int32(Some(min as i32), Some(max as i32), None, Some(0), false)
}

/// A dictionary-encoded column chunk from runs: a PLAIN dictionary page of the
/// distinct values, ascending, and `RLE_DICTIONARY` data pages of `page_rows` rows.
fn dictionary_chunk(
    column: ColumnDescPtr,
    runs: &[Run],
    page_rows: usize,
    statistics: bool,
    rows: u64,
) -> std::result::Result<(Bytes, ColumnCloseResult), ParquetError> {
    let mut values: Vec<u32> = runs.iter().map(|r| r.value).collect();
    values.sort_unstable();
    values.dedup();
    let indexed: Vec<Run> = runs
        .iter()
        .map(|r| Run {
            value: values
                .binary_search(&r.value)
                .expect("a run's value is in the dictionary") as u32,
            len: r.len,
        })
        .collect();
    let width = index_width(values.len());
    let dictionary: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let pages = split_runs(&indexed, page_rows).into_iter().map(|page| {
        let mut body = Vec::new();
        rle_dictionary(&page, width, &mut body);
        (body, page.iter().map(|r| r.len).sum::<u32>())
    });
    let stats = match (statistics, values.first(), values.last()) {
        (true, Some(&min), Some(&max)) => Some(min_max(min, max)),
        _ => None,
    };
    let dictionary = (dictionary, values.len() as u32);
    chunk(
        column,
        Some(dictionary),
        pages,
        Encoding::RLE_DICTIONARY,
        stats,
        rows,
    )
}

/// A `DELTA_BINARY_PACKED` column chunk of ascending runs of ids, the least
/// and greatest of which are `(min, max)`.
fn delta_chunk(
    column: ColumnDescPtr,
    values: &[u32],
    (min, max): (u32, u32),
    page_rows: usize,
) -> std::result::Result<(Bytes, ColumnCloseResult), ParquetError> {
    debug_assert_eq!(values.iter().min().map_or(u32::MAX, |&m| m), min);
    debug_assert_eq!(values.iter().max().map_or(0, |&m| m), max);
    let pages = values.chunks(page_rows).map(|page| {
        let mut body = Vec::with_capacity(page.len() / 2 + 64);
        delta_binary_packed(page, &mut body);
        (body, page.len() as u32)
    });
    let stats = (!values.is_empty()).then(|| min_max(min, max));
    chunk(
        column,
        None,
        pages,
        Encoding::DELTA_BINARY_PACKED,
        stats,
        values.len() as u64,
    )
}

/// Serializes the pages of one uncompressed column chunk into memory, with the
/// metadata `SerializedRowGroupWriter::append_column` needs to splice it.
fn chunk(
    column: ColumnDescPtr,
    dictionary: Option<(Vec<u8>, u32)>,
    pages: impl Iterator<Item = (Vec<u8>, u32)>,
    encoding: Encoding,
    statistics: Option<Statistics>,
    rows: u64,
) -> std::result::Result<(Bytes, ColumnCloseResult), ParquetError> {
    let mut sink = TrackedWrite::new(Vec::new());
    let mut writer = SerializedPageWriter::new(&mut sink);
    let (mut compressed, mut uncompressed) = (0u64, 0u64);
    let mut encodings = vec![Encoding::RLE, encoding];
    let has_dictionary = dictionary.is_some();
    if let Some((buf, num_values)) = dictionary {
        let size = buf.len();
        let page = Page::DictionaryPage {
            buf: buf.into(),
            num_values,
            encoding: Encoding::PLAIN,
            is_sorted: true,
        };
        let spec = writer.write_page(CompressedPage::new(page, size))?;
        compressed += spec.compressed_size as u64;
        uncompressed += spec.uncompressed_size as u64;
        encodings.push(Encoding::PLAIN);
    }
    let mut data_offset = None;
    let mut values = 0u64;
    for (buf, num_values) in pages {
        let size = buf.len();
        let page = Page::DataPage {
            buf: buf.into(),
            num_values,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let spec = writer.write_page(CompressedPage::new(page, size))?;
        data_offset.get_or_insert(spec.offset);
        compressed += spec.compressed_size as u64;
        uncompressed += spec.uncompressed_size as u64;
        values += u64::from(num_values);
    }
    writer.close()?;
    debug_assert_eq!(values, rows, "every row in one page");
    let bytes = Bytes::from(sink.into_inner()?);
    let mut metadata = ColumnChunkMetaData::builder(column)
        .set_encodings(encodings)
        .set_compression(Compression::UNCOMPRESSED)
        .set_num_values(values as i64)
        .set_total_compressed_size(compressed as i64)
        .set_total_uncompressed_size(uncompressed as i64)
        .set_data_page_offset(data_offset.unwrap_or(0) as i64)
        .set_dictionary_page_offset(has_dictionary.then_some(0));
    if let Some(statistics) = statistics {
        metadata = metadata.set_statistics(statistics);
    }
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: rows,
        metadata: metadata.build()?,
        bloom_filter: None,
        column_index: None,
        offset_index: None,
    };
    Ok((bytes, close))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{UInt32Type, UInt8Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn grant(
        app: u32,
        permission: u8,
        entra: std::ops::Range<u32>,
        rbac: std::ops::Range<u32>,
    ) -> CellSet {
        CellSet {
            app,
            permission,
            entra: entra.collect(),
            rbac: rbac.collect(),
        }
    }

    fn read(path: &Path) -> Vec<(u32, u8, u32, u8)> {
        let mut rows = Vec::new();
        for batch in ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap()
        {
            let b = batch.unwrap();
            let (a, p, m, v) = (
                b.column(0).as_primitive::<UInt32Type>(),
                b.column(1).as_primitive::<UInt8Type>(),
                b.column(2).as_primitive::<UInt32Type>(),
                b.column(3).as_primitive::<UInt8Type>(),
            );
            rows.extend(
                (0..b.num_rows()).map(|i| (a.value(i), p.value(i), m.value(i), v.value(i))),
            );
        }
        rows
    }

    fn expected(grants: &[CellSet]) -> Vec<(u32, u8, u32, u8)> {
        let mut rows = Vec::new();
        for g in grants {
            g.for_each_cell(|m, via| rows.push((g.app, g.permission, m, via.bits())));
        }
        rows
    }

    fn grants() -> Vec<CellSet> {
        vec![
            grant(0, 0, 0..25, 0..0),
            grant(0, 3, 0..0, 5..17),
            grant(1, 0, 0..10, 5..30),
            grant(2, 7, 0..0, 0..0),
            grant(4, 1, 3..40, 0..0),
        ]
    }

    #[test]
    fn count_equals_rows_written_across_batch_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let grants = grants();
        let options = AccessOptions {
            part_cells: 1_000,
            row_group_rows: 7,
            page_rows: 3,
            always_parts: false,
        };
        let (cells, layout) = write_access(&grants, dir.path(), options).unwrap();
        assert_eq!(layout, AccessLayout::Single);
        let rows = read(&dir.path().join("access.parquet"));
        assert_eq!(cells, rows.len() as u64);
        assert_eq!(rows, expected(&grants));
        assert_eq!(cells, 25 + 12 + 30 + 37);
    }

    /// A mixed set's smaller bitmap runs out before the union of ids does.
    #[test]
    fn blocks_answer_for_every_id_of_the_union_after_the_bitmap_runs_out() {
        let big: RoaringBitmap = (0..10_000).collect();
        let small: RoaringBitmap = [5, 4_100, 7_000].into_iter().collect();
        let mut blocks = Blocks::new(&small);
        let held: Vec<u32> = (&big | &small)
            .iter()
            .filter(|&id| blocks.take(id))
            .collect();
        assert_eq!(held, [5, 4_100, 7_000]);
        let mut blocks = Blocks::new(&big);
        assert!((0..10_000).all(|id| blocks.take(id)));
        assert!(
            !blocks.take(10_000),
            "a bitmap read to its end holds no more"
        );
    }

    /// Dense bitmap containers and runs longer than a block of ids (4,096),
    /// alone and overlapping, read back cell for cell.
    #[test]
    fn dense_sets_read_back_across_blocks_and_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let mut sparse_rbac = grant(1, 2, 0..0, 0..0);
        sparse_rbac.rbac = (0..200_000).step_by(7).collect();
        sparse_rbac.entra = (60_000..140_000).collect();
        let grants = vec![
            grant(0, 0, 0..150_000, 0..0),
            grant(0, 1, 0..0, 10..70_000),
            grant(1, 0, 0..100_000, 50_000..180_000),
            sparse_rbac,
        ];
        let options = AccessOptions {
            part_cells: 1 << 40,
            row_group_rows: 9_999,
            page_rows: 3_000,
            always_parts: false,
        };
        let (cells, _) = write_access(&grants, dir.path(), options).unwrap();
        let rows = read(&dir.path().join("access.parquet"));
        assert_eq!(cells, rows.len() as u64);
        assert_eq!(rows, expected(&grants));
    }

    #[test]
    fn large_matrices_split_into_ordered_parts_at_grant_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let grants = grants();
        let options = AccessOptions {
            part_cells: 20,
            row_group_rows: 6,
            page_rows: 4,
            always_parts: false,
        };
        let (cells, layout) = write_access(&grants, dir.path(), options).unwrap();
        assert_eq!(layout, AccessLayout::Parts(3)); // 25 | 12 + 30 | 0 + 37
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("access"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let rows: Vec<_> = names.iter().flat_map(|p| read(p)).collect();
        assert_eq!(rows, expected(&grants));
        assert_eq!(cells, rows.len() as u64);
        assert!(
            !dir.path().join("access.parquet").exists(),
            "never both layouts"
        );
    }

    /// The encodings each column of a written file declares, in column order.
    /// Each row group's rows and the statistics of its mailbox column, as
    /// (min, max) of the INT32 bit patterns.
    fn mailbox_statistics(path: &Path) -> Vec<(i64, Option<(u32, u32)>)> {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
        (0..reader.num_row_groups())
            .map(|g| {
                let group = reader.metadata().row_group(g);
                let stats = match group.column(2).statistics() {
                    Some(Statistics::Int32(s)) => s.min_opt().zip(s.max_opt()),
                    other => panic!("mailbox_idx statistics: {other:?}"),
                };
                (group.num_rows(), stats.map(|(&a, &b)| (a as u32, b as u32)))
            })
            .collect()
    }

    fn encodings(path: &Path) -> Vec<Vec<Encoding>> {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let group = reader.metadata().row_group(0);
        (0..4)
            .map(|c| {
                let mut e: Vec<Encoding> = group.column(c).encodings().collect();
                e.sort_by_key(|e| format!("{e:?}"));
                e
            })
            .collect()
    }

    #[test]
    fn every_column_declares_the_encoding_it_is_written_in() {
        let dir = tempfile::tempdir().unwrap();
        write_access(&grants(), dir.path(), AccessOptions::default()).unwrap();
        let dictionary = vec![Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
        let delta = vec![Encoding::DELTA_BINARY_PACKED, Encoding::RLE];
        assert_eq!(
            encodings(&dir.path().join("access.parquet")),
            [dictionary.clone(), dictionary.clone(), delta, dictionary]
        );
    }

    fn arbitrary_sets() -> impl proptest::strategy::Strategy<Value = Vec<CellSet>> {
        use proptest::prelude::*;
        // Mailbox ids from dense runs to the top of the range (deltas of every
        // width, negative at each set boundary); up to 600 apps, so dictionary
        // indices need more than eight bits; both sources mixed for runs of `via`.
        let ids = prop_oneof![
            (0u32..64, 1u32..300).prop_map(|(s, n)| (s..s + n).collect::<Vec<_>>()),
            proptest::collection::vec(0u32..u32::MAX, 0..60),
            proptest::collection::vec(0u32..1 << 12, 0..200),
        ];
        proptest::collection::vec((0u32..3, 0u8..14, ids.clone(), ids), 1..600).prop_map(|specs| {
            let mut sets: Vec<CellSet> = Vec::new();
            let mut app = 0u32;
            for (step, permission, entra, rbac) in specs {
                app += step;
                if sets
                    .last()
                    .is_some_and(|l| (l.app, l.permission) >= (app, permission))
                {
                    continue;
                }
                sets.push(CellSet {
                    app,
                    permission,
                    entra: entra.into_iter().collect(),
                    rbac: rbac.into_iter().collect(),
                });
            }
            sets
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(48))]
        #[test]
        fn every_shape_of_cells_reads_back_exactly(
            sets in arbitrary_sets(),
            row_group_rows in 1usize..5_000,
            page_rows in 1usize..700,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let options = AccessOptions { part_cells: 1 << 40, row_group_rows, page_rows, always_parts: false };
            let (cells, _) = write_access(&sets, dir.path(), options).unwrap();
            let rows = read(&dir.path().join("access.parquet"));
            proptest::prop_assert_eq!(cells, rows.len() as u64);
            // The chunk statistics, kept while the row groups filled, are
            // those of the ids each holds.
            let mut at = 0;
            for (n, stats) in mailbox_statistics(&dir.path().join("access.parquet")) {
                let ids = || rows[at..at + n as usize].iter().map(|r| r.2);
                proptest::prop_assert_eq!(stats, ids().min().zip(ids().max()));
                at += n as usize;
            }
            proptest::prop_assert_eq!(rows, expected(&sets));
        }
    }
}
