//! Streams the rows of one generated table to CSV (PowerShell 7 style: every
//! field quoted) or Parquet, so no table is held whole in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use super::Format;
use crate::error::{Error, Result};
use crate::snapshot::TableSpec;

/// How CSV files are written: every field quoted, as both PowerShells do; the
/// rest as PowerShell 7 on Linux writes it (no byte order mark, no type line,
/// LF), or as Windows PowerShell 5.1 does (all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CsvDialect {
    pub windows: bool,
}

/// Streams rows of one table to CSV (every field quoted) or Parquet.
pub(super) enum TableWriter {
    Csv(BufWriter<File>, PathBuf, CsvDialect),
    Parquet {
        writer: Box<ArrowWriter<File>>,
        schema: Arc<Schema>,
        builders: Vec<StringBuilder>,
        path: PathBuf,
    },
}

const PARQUET_BATCH: usize = 65_536;

impl TableWriter {
    pub fn create(
        dir: &Path,
        table: TableSpec,
        header: &[&str],
        format: Format,
        dialect: CsvDialect,
    ) -> Result<TableWriter> {
        let table = table.name;
        match format {
            Format::Csv => {
                let path = dir.join(format!("{table}.csv"));
                let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
                let mut out = BufWriter::with_capacity(1 << 20, file);
                if dialect.windows {
                    out.write_all(b"\xEF\xBB\xBF#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.ReducedRecipient\r\n")
                        .map_err(|e| Error::io(&path, e))?;
                }
                let mut w = TableWriter::Csv(out, path, dialect);
                w.row(header)?;
                Ok(w)
            }
            Format::Parquet => {
                let path = dir.join(format!("{table}.parquet"));
                let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
                let schema = Arc::new(Schema::new(
                    header
                        .iter()
                        .map(|h| Field::new(*h, DataType::Utf8, true))
                        .collect::<Vec<_>>(),
                ));
                let writer = ArrowWriter::try_new(file, schema.clone(), None)
                    .map_err(|e| Error::parquet(&path, e))?;
                Ok(TableWriter::Parquet {
                    writer: Box::new(writer),
                    schema,
                    builders: header.iter().map(|_| StringBuilder::new()).collect(),
                    path,
                })
            }
        }
    }

    pub fn row(&mut self, fields: &[&str]) -> Result<()> {
        match self {
            TableWriter::Csv(w, path, dialect) => {
                let mut write = || -> std::io::Result<()> {
                    for (i, f) in fields.iter().enumerate() {
                        if i > 0 {
                            w.write_all(b",")?;
                        }
                        w.write_all(b"\"")?;
                        if f.contains('"') {
                            w.write_all(f.replace('"', "\"\"").as_bytes())?;
                        } else {
                            w.write_all(f.as_bytes())?;
                        }
                        w.write_all(b"\"")?;
                    }
                    w.write_all(if dialect.windows { b"\r\n" } else { b"\n" })
                };
                write().map_err(|e| Error::io(path.as_path(), e))
            }
            TableWriter::Parquet { builders, .. } => {
                for (b, f) in builders.iter_mut().zip(fields) {
                    if f.is_empty() {
                        b.append_null();
                    } else {
                        b.append_value(f);
                    }
                }
                if builders[0].len() >= PARQUET_BATCH {
                    self.flush()?;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        if let TableWriter::Parquet {
            writer,
            schema,
            builders,
            path,
        } = self
        {
            if builders[0].len() > 0 {
                let columns: Vec<ArrayRef> = builders
                    .iter_mut()
                    .map(|b| Arc::new(b.finish()) as ArrayRef)
                    .collect();
                let batch = RecordBatch::try_new(schema.clone(), columns)
                    .map_err(|e| Error::parquet(path, e))?;
                writer.write(&batch).map_err(|e| Error::parquet(path, e))?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        match self {
            TableWriter::Csv(mut w, path, _) => w.flush().map_err(|e| Error::io(&path, e)),
            TableWriter::Parquet { writer, path, .. } => writer
                .close()
                .map(|_| ())
                .map_err(|e| Error::parquet(&path, e)),
        }
    }
}
