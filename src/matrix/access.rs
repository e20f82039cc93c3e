//! The access file(s): one row per granted cell, four integer columns, sorted by
//! app, permission, mailbox.
//!
//! Small matrices go to `access.parquet`. Large ones are split at grant boundaries
//! into `access/part-NNNNN.parquet` of about [`AccessOptions::part_cells`] cells each, written in
//! parallel; the parts in name order are the whole table in sorted order. Every
//! writer streams fixed-size batches, so memory does not grow with the cells.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array, UInt8Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Encoding;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use super::cells::{CellSet, Via};
use crate::error::{Error, Result};
use crate::output::{create_private_dir, create_private_file};

/// Sizes of the access writer; the defaults suit any tenant, tests shrink them.
#[derive(Debug, Clone, Copy)]
pub struct AccessOptions {
    /// Cells per part file when the matrix is split (at more than twice this).
    pub part_cells: u64,
    /// Rows per record batch.
    pub batch_rows: usize,
}

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions {
            part_cells: 1 << 24,
            batch_rows: 1 << 20,
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

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("app_idx", DataType::UInt32, false),
        Field::new("permission_id", DataType::UInt8, false),
        Field::new("mailbox_idx", DataType::UInt32, false),
        Field::new("via", DataType::UInt8, false),
    ]))
}

fn properties(batch_rows: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_encoding(Encoding::DELTA_BINARY_PACKED)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        // Ranges of permission and provenance say nothing a reader can prune by.
        .set_column_statistics_enabled(ColumnPath::from("permission_id"), EnabledStatistics::None)
        .set_column_statistics_enabled(ColumnPath::from("via"), EnabledStatistics::None)
        .set_write_batch_size(1 << 16)
        .set_max_row_group_row_count(Some(batch_rows * 4))
        .set_sorting_columns(Some(
            (0..3)
                .map(|i| SortingColumn {
                    column_idx: i,
                    descending: false,
                    nulls_first: false,
                })
                .collect(),
        ))
        .build()
}

/// Writes every cell of `sets` (sorted by app, permission) under `dir`.
pub fn write_access<S: AsRef<CellSet> + Sync>(
    sets: &[S],
    dir: &Path,
    options: AccessOptions,
) -> Result<(u64, AccessLayout)> {
    let sizes: Vec<u64> = sets.par_iter().map(|g| g.as_ref().len()).collect();
    let total: u64 = sizes.iter().sum();
    if total <= 2 * options.part_cells {
        let cells = write_part(sets, &dir.join("access.parquet"), options.batch_rows)?;
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
    if start < sets.len() {
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
                options.batch_rows,
            )
        })
        .collect();
    let mut cells = 0;
    for w in written {
        cells += w?;
    }
    Ok((cells, AccessLayout::Parts(ranges.len())))
}

/// Streams the cells of `sets` into one Parquet file.
fn write_part<S: AsRef<CellSet>>(sets: &[S], path: &Path, batch_rows: usize) -> Result<u64> {
    let file = create_private_file(path)?;
    let schema = schema();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties(batch_rows)))
        .map_err(|e| Error::parquet(path, e))?;
    let mut batch = Batch::new(batch_rows);
    let mut cells = 0u64;
    let mut flush = |batch: &mut Batch, writer: &mut ArrowWriter<std::fs::File>| -> Result<()> {
        cells += batch.len() as u64;
        writer
            .write(&batch.take(&schema))
            .map_err(|e| Error::parquet(path, e))
    };
    for g in sets.iter().map(AsRef::as_ref) {
        let single = match (g.entra.is_empty(), g.rbac.is_empty()) {
            (false, true) => Some((&g.entra, Via::ENTRA)),
            (true, false) => Some((&g.rbac, Via::RBAC)),
            _ => None,
        };
        match single {
            // One source: the mailbox column is the bitmap, the others are constant.
            Some((bitmap, via)) => {
                let mut it = bitmap.iter();
                loop {
                    let room = batch_rows - batch.len();
                    let before = batch.mailbox.len();
                    batch.mailbox.extend(it.by_ref().take(room));
                    let added = batch.mailbox.len() - before;
                    if added == 0 {
                        break;
                    }
                    batch.fill(g.app, g.permission, via, added);
                    if batch.len() == batch_rows {
                        flush(&mut batch, &mut writer)?;
                    }
                }
            }
            None => {
                let mut result = Ok(());
                g.for_each_cell(|mailbox, via| {
                    if result.is_err() {
                        return;
                    }
                    batch.mailbox.push(mailbox);
                    batch.fill(g.app, g.permission, via, 1);
                    if batch.len() == batch_rows {
                        result = flush(&mut batch, &mut writer);
                    }
                });
                result?;
            }
        }
    }
    if batch.len() > 0 {
        flush(&mut batch, &mut writer)?;
    }
    let file = writer.into_inner().map_err(|e| Error::parquet(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(cells)
}

/// Column vectors of one record batch; taken without copying.
struct Batch {
    capacity: usize,
    app: Vec<u32>,
    permission: Vec<u8>,
    mailbox: Vec<u32>,
    via: Vec<u8>,
}

impl Batch {
    fn new(capacity: usize) -> Batch {
        Batch {
            capacity,
            app: Vec::with_capacity(capacity),
            permission: Vec::with_capacity(capacity),
            mailbox: Vec::with_capacity(capacity),
            via: Vec::with_capacity(capacity),
        }
    }

    fn len(&self) -> usize {
        self.mailbox.len()
    }

    /// Appends `n` copies of the constant columns for mailboxes already pushed.
    fn fill(&mut self, app: u32, permission: u8, via: Via, n: usize) {
        let len = self.app.len() + n;
        self.app.resize(len, app);
        self.permission.resize(len, permission);
        self.via.resize(len, via.bits());
    }

    fn take(&mut self, schema: &Arc<Schema>) -> RecordBatch {
        let fresh = Batch::new(self.capacity);
        let old = std::mem::replace(self, fresh);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(old.app)),
            Arc::new(UInt8Array::from(old.permission)),
            Arc::new(UInt32Array::from(old.mailbox)),
            Arc::new(UInt8Array::from(old.via)),
        ];
        RecordBatch::try_new(schema.clone(), columns).expect("columns match the schema")
    }
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
            batch_rows: 7,
        };
        let (cells, layout) = write_access(&grants, dir.path(), options).unwrap();
        assert_eq!(layout, AccessLayout::Single);
        let rows = read(&dir.path().join("access.parquet"));
        assert_eq!(cells, rows.len() as u64);
        assert_eq!(rows, expected(&grants));
        assert_eq!(cells, 25 + 12 + 30 + 37);
    }

    #[test]
    fn large_matrices_split_into_ordered_parts_at_grant_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let grants = grants();
        let options = AccessOptions {
            part_cells: 20,
            batch_rows: 6,
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
}
