//! The matrix dataset: Parquet files, a manifest and DuckDB views, written into a
//! temporary directory beside the target and renamed into place at the end, so a
//! failure leaves either the previous dataset or nothing. Files are owner-only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, UInt32Array, UInt8Array,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Encoding;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use super::access::{write_access_with, AccessLayout, AccessOptions};
use crate::digest::Digest;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::findings::Findings;
use crate::output::{create_block_file, into_file, write_private_text, StagedDir, Syncer};
use crate::policy::permissions::{self, CATALOGUE};
use crate::policy::{Model, Nesting, ScopeKind};
use crate::snapshot::guid_text;

use super::evaluate::Matrix;

/// What was written.
#[derive(Debug, Clone)]
pub struct DatasetSummary {
    pub path: PathBuf,
    pub cells: u64,
    /// The whole write: every file, fsyncs and the final rename.
    pub write_time: Duration,
    /// Writing the access file(s) alone, for the cells-per-second figure.
    pub access_time: Duration,
}

/// A snapshot file the analysis read, for the manifest.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub table: &'a str,
    pub path: &'a Path,
    pub bytes: u64,
    pub rows: usize,
    /// SHA-256 of the file's bytes (asked for only when the manifest is written).
    pub sha256: &'a Digest,
}

/// Everything a dataset is written from: the resolved analysis, and where it
/// came from for the manifest.
#[derive(Debug, Clone)]
pub struct DatasetParts<'a> {
    pub directory: &'a Directory,
    pub model: &'a Model,
    pub matrix: &'a Matrix,
    pub findings: &'a Findings,
    /// The snapshot directory, as given.
    pub snapshot: &'a Path,
    pub inputs: Vec<Input<'a>>,
    /// Wall time of each analysis stage, by the manifest's name for it.
    pub stages: Vec<(&'static str, Duration)>,
    pub command_line: &'a [String],
    /// The tenant the dataset is of (`analyze --tenant`, else the snapshot's
    /// tenant.json initial domain): a `tenant` column of the small tables and
    /// the manifest. A dataset with a tenant always writes `access/part-*.parquet`,
    /// so a folder of them is one glob (DESIGN §4, "Many tenants").
    pub tenant: Option<&'a str>,
    /// The snapshot's tenant.json as read, for the manifest.
    pub tenant_file: Option<&'a serde_json::Value>,
}

/// Writes the whole dataset to `out`, atomically.
pub fn write_dataset(parts: &DatasetParts<'_>, out: &Path, force: bool) -> Result<DatasetSummary> {
    let started = Instant::now();
    let staged = StagedDir::begin(out, force)?;
    let target = staged.target().to_path_buf();
    let written = write_files(parts, staged.dir(), started)
        .and_then(|written| Ok((written, staged.commit()?)));
    match written {
        Ok(((cells, access_time), path)) => Ok(DatasetSummary {
            path,
            cells,
            write_time: started.elapsed(),
            access_time,
        }),
        Err(e) => Err(Error::WriteDataset {
            out: target,
            cause: Box::new(e),
        }),
    }
}

fn write_files(parts: &DatasetParts<'_>, dir: &Path, started: Instant) -> Result<(u64, Duration)> {
    // The small tables are independent: build and write them concurrently, and
    // beside the access parts (the mailboxes table is one serial writer).
    let tables: [(&str, &(dyn Fn() -> RecordBatch + Sync)); 5] = [
        ("permissions", &permissions_batch),
        ("apps", &|| apps_batch(parts)),
        ("mailboxes", &|| mailboxes_batch(parts)),
        ("grants", &|| grants_batch(parts)),
        ("findings", &|| findings_batch(parts)),
    ];
    let syncer = Syncer::start();
    let (access, small) = rayon::join(
        || {
            let access_started = Instant::now();
            let options = if parts.tenant.is_some() {
                AccessOptions {
                    always_parts: true,
                    ..AccessOptions::default()
                }
            } else {
                AccessOptions::default()
            };
            write_access_with(&parts.matrix.grants, dir, options, &syncer)
                .map(|written| (written, access_started.elapsed()))
        },
        || {
            tables
                .par_iter()
                .map(|(name, batch)| {
                    write_table(&dir.join(format!("{name}.parquet")), batch(), &syncer)
                })
                .collect::<Result<Vec<()>>>()
        },
    );
    let synced = syncer.finish();
    let ((cells, layout), access_time) = access?;
    small?;
    synced?;
    write_private_text(&dir.join("views.sql"), &views_sql(layout))?;
    let manifest = manifest(parts, cells, started.elapsed(), access_time)?;
    write_private_text(&dir.join("manifest.json"), &manifest)?;
    Ok((cells, access_time))
}

fn write_table(path: &Path, batch: RecordBatch, syncer: &Syncer) -> Result<()> {
    let file = create_block_file(path)?;
    // Ids, addresses and names are (nearly) unique: a dictionary only costs time.
    let mut props = WriterProperties::builder();
    for unique in [
        "app_id",
        "object_id",
        "external_directory_object_id",
        "primary_smtp_address",
        "display_name",
        "message",
    ] {
        props = props.set_column_dictionary_enabled(ColumnPath::from(unique), false);
    }
    // Mailbox numbers ascend by one: delta encoding stores them in a few bytes,
    // where a dictionary held all of them (4.5 MB on a million mailboxes).
    let numbers = ColumnPath::from("mailbox_idx");
    props = props
        .set_column_dictionary_enabled(numbers.clone(), false)
        .set_column_encoding(numbers, Encoding::DELTA_BINARY_PACKED);
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props.build()))
        .map_err(|e| Error::parquet(path, e))?;
    writer.write(&batch).map_err(|e| Error::parquet(path, e))?;
    let file = writer.into_inner().map_err(|e| Error::parquet(path, e))?;
    syncer.sync(path, into_file(path, file)?);
    Ok(())
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).expect("columns of equal length")
}

/// `batch` with a last `tenant` column (null when the dataset has no tenant).
fn tenant_batch(a: &DatasetParts<'_>, mut columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    columns.push(("tenant", strings(std::iter::repeat_n(a.tenant, rows))));
    batch(columns)
}

fn strings<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

fn permissions_batch() -> RecordBatch {
    batch(vec![
        (
            "permission_id",
            Arc::new(UInt8Array::from_iter_values(0..CATALOGUE.len() as u8)) as ArrayRef,
        ),
        (
            "permission",
            strings(CATALOGUE.iter().map(|p| Some(p.name))),
        ),
        (
            "aap_constrainable",
            Arc::new(BooleanArray::from_iter(
                CATALOGUE.iter().map(|p| Some(p.aap)),
            )),
        ),
        (
            "entra_grantable",
            Arc::new(BooleanArray::from_iter(
                CATALOGUE
                    .iter()
                    .map(|p| Some(p.entra != permissions::EntraSource::None)),
            )),
        ),
        (
            "rbac_grantable",
            Arc::new(BooleanArray::from_iter(
                CATALOGUE.iter().map(|p| Some(p.rbac)),
            )),
        ),
    ])
}

fn apps_batch(a: &DatasetParts<'_>) -> RecordBatch {
    let apps = &a.model.apps.apps;
    let mut permissions = vec![0i64; apps.len()];
    let mut cells = vec![0i64; apps.len()];
    for g in &a.matrix.grants {
        permissions[g.cells.app as usize] += 1;
        cells[g.cells.app as usize] += g.cells.len() as i64;
    }
    let mode = (0..apps.len() as u32).map(|app| Some(a.model.aap_mode(app).as_str()));
    tenant_batch(
        a,
        vec![
            (
                "app_idx",
                Arc::new(UInt32Array::from_iter_values(0..apps.len() as u32)) as ArrayRef,
            ),
            (
                "app_id",
                strings(apps.iter().map(|x| Some(x.app_id.as_str()))),
            ),
            (
                "object_id",
                strings(apps.iter().map(|x| x.object_id.as_deref())),
            ),
            (
                "display_name",
                strings(apps.iter().map(|x| x.display_name.as_deref())),
            ),
            (
                "has_service_principal",
                Arc::new(BooleanArray::from_iter(
                    apps.iter().map(|x| Some(x.has_service_principal)),
                )),
            ),
            ("aap_mode", strings(mode)),
            (
                "entra_grants",
                Arc::new(Int64Array::from_iter_values(
                    a.model.entra.iter().map(|e| e.len() as i64),
                )),
            ),
            (
                "rbac_assignments",
                Arc::new(Int64Array::from_iter_values(
                    a.model.app_assignments.iter().map(|v| v.len() as i64),
                )),
            ),
            ("permissions", Arc::new(Int64Array::from(permissions))),
            ("cells", Arc::new(Int64Array::from(cells))),
        ],
    )
}

fn mailboxes_batch(a: &DatasetParts<'_>) -> RecordBatch {
    let n = a.directory.count as usize;
    let column = |names: &[&str]| match a.directory.mailbox_values(names) {
        Some(values) => strings(values),
        None => Arc::new(arrow_array::new_null_array(
            &arrow_schema::DataType::Utf8,
            n,
        )),
    };
    tenant_batch(
        a,
        vec![
            (
                "mailbox_idx",
                Arc::new(UInt32Array::from_iter_values(0..n as u32)) as ArrayRef,
            ),
            ("external_directory_object_id", {
                let mut ids = StringBuilder::with_capacity(n, n * 36);
                let mut buf = [0; 36];
                for &g in a.directory.mailbox_guids() {
                    ids.append_value(guid_text(g, &mut buf));
                }
                Arc::new(ids.finish())
            }),
            (
                "primary_smtp_address",
                strings(a.directory.mailbox_addresses(0..n).map(Some)),
            ),
            ("display_name", column(&["DisplayName"])),
            ("recipient_type_details", column(&["RecipientTypeDetails"])),
        ],
    )
}

fn grants_batch(a: &DatasetParts<'_>) -> RecordBatch {
    let grants = &a.matrix.grants;
    let mut names = ListBuilder::new(StringBuilder::new());
    for g in grants {
        for &i in &g.assignments {
            names.values().append_value(&a.model.assignments[i].name);
        }
        names.append(true);
    }
    let all = u64::from(a.directory.count);
    tenant_batch(
        a,
        vec![
            (
                "app_idx",
                Arc::new(UInt32Array::from_iter_values(
                    grants.iter().map(|g| g.cells.app),
                )) as ArrayRef,
            ),
            (
                "app_id",
                strings(
                    grants
                        .iter()
                        .map(|g| Some(a.model.apps.apps[g.cells.app as usize].app_id.as_str())),
                ),
            ),
            (
                "permission_id",
                Arc::new(UInt8Array::from_iter_values(
                    grants.iter().map(|g| g.cells.permission),
                )),
            ),
            (
                "permission",
                strings(
                    grants
                        .iter()
                        .map(|g| Some(permissions::info(g.cells.permission).name)),
                ),
            ),
            (
                "entra",
                Arc::new(BooleanArray::from_iter(
                    grants.iter().map(|g| Some(g.entra_grant)),
                )),
            ),
            (
                "aap_mode",
                strings(grants.iter().map(|g| Some(g.aap_mode.as_str()))),
            ),
            ("rbac_assignments", Arc::new(names.finish())),
            (
                // An assignment behind this grant had a RecipientWriteScope kind
                // exomatrix does not know and was counted as the whole organization.
                "rbac_scope_assumed_org_wide",
                Arc::new(BooleanArray::from_iter(grants.iter().map(|g| {
                    Some(g.assignments.iter().any(|&i| {
                        matches!(a.model.assignments[i].scope, ScopeKind::UnknownKind(_))
                    }))
                }))),
            ),
            (
                "mailboxes_entra",
                Arc::new(Int64Array::from_iter_values(
                    grants.iter().map(|g| g.cells.entra.len() as i64),
                )),
            ),
            (
                "mailboxes_rbac",
                Arc::new(Int64Array::from_iter_values(
                    grants.iter().map(|g| g.cells.rbac.len() as i64),
                )),
            ),
            (
                "mailboxes_total",
                Arc::new(Int64Array::from_iter_values(
                    grants.iter().map(|g| g.cells.len() as i64),
                )),
            ),
            (
                "tenant_wide",
                Arc::new(BooleanArray::from_iter(
                    grants.iter().map(|g| Some(all > 0 && g.cells.len() == all)),
                )),
            ),
        ],
    )
}

fn findings_batch(a: &DatasetParts<'_>) -> RecordBatch {
    let f: Vec<_> = a.findings.iter().collect();
    let sources: Vec<Option<String>> = f
        .iter()
        .map(|x| x.source.as_ref().map(|s| s.to_string()))
        .collect();
    tenant_batch(
        a,
        vec![
            ("kind", strings(f.iter().map(|x| Some(x.kind)))),
            (
                "severity",
                strings(f.iter().map(|x| Some(x.severity.as_str()))),
            ),
            ("object", strings(f.iter().map(|x| Some(x.object.as_str())))),
            (
                "message",
                strings(f.iter().map(|x| Some(x.message.as_str()))),
            ),
            ("source", strings(sources.iter().map(|s| s.as_deref()))),
        ],
    )
}

/// DuckDB views over the dataset, with paths relative to it, so a dataset that is
/// moved, copied or unpacked elsewhere keeps working: `cd DATASET && duckdb -init views.sql`.
fn views_sql(layout: AccessLayout) -> String {
    let mut sql = String::from("-- exomatrix dataset views for DuckDB, paths relative to this folder:\n--   cd DATASET && duckdb -init views.sql\n");
    let access = match layout {
        AccessLayout::Single => "access.parquet",
        AccessLayout::Parts(_) => "access/part-*.parquet",
    };
    sql.push_str(&format!(
        "CREATE OR REPLACE VIEW access AS SELECT * FROM read_parquet('{access}');\n"
    ));
    for table in ["permissions", "apps", "mailboxes", "grants", "findings"] {
        sql.push_str(&format!(
            "CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{table}.parquet');\n"
        ));
    }
    sql.push_str(
        "CREATE OR REPLACE VIEW access_named AS
SELECT a.app_id, a.display_name AS app_name, p.permission,
       m.external_directory_object_id AS mailbox_id, m.primary_smtp_address,
       CASE x.via WHEN 1 THEN 'entra' WHEN 2 THEN 'rbac' ELSE 'entra+rbac' END AS via
FROM access x
JOIN apps a ON a.app_idx = x.app_idx
JOIN permissions p ON p.permission_id = x.permission_id
JOIN mailboxes m ON m.mailbox_idx = x.mailbox_idx;
",
    );
    sql
}

fn manifest(a: &DatasetParts<'_>, cells: u64, write: Duration, access: Duration) -> Result<String> {
    let mut inputs = Vec::new();
    for f in &a.inputs {
        inputs.push(serde_json::json!({
            "table": f.table,
            "file": f.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "bytes": f.bytes,
            "rows": f.rows,
            "sha256": f.sha256.hex(),
        }));
    }
    let secs = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e6;
    let mut timings = serde_json::Map::new();
    for (stage, time) in &a.stages {
        timings.insert(stage.to_string(), secs(*time).into());
    }
    timings.insert("write".into(), secs(write).into());
    timings.insert("write_access".into(), secs(access).into());
    let value = serde_json::json!({
        "tool": "exomatrix",
        "version": env!("CARGO_PKG_VERSION"),
        "command_line": a.command_line,
        "options": {
            "aap_nesting": match a.model.options.aap_nesting {
                Nesting::Transitive => "transitive",
                Nesting::Direct => "direct",
            },
        },
        "snapshot": a.snapshot.display().to_string(),
        "tenant": a.tenant,
        "tenant_file": a.tenant_file,
        // When the export was written: tenant.json's exported_at, else the
        // newest input file's modification time.
        "snapshot_time": a
            .tenant_file
            .and_then(|t| t["exported_at"].as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .or_else(|| {
                a.inputs
                    .iter()
                    .filter_map(|f| std::fs::metadata(f.path).and_then(|m| m.modified()).ok())
                    .max()
                    .map(crate::report::utc_iso)
            }),
        "inputs": inputs,
        "counts": {
            "mailboxes": a.directory.count,
            "groups": a.directory.groups.len(),
            "administrative_units": a.directory.admin_units.len(),
            "apps": a.model.apps.apps.len(),
            "management_scopes": a.model.scopes.len(),
            "role_assignments": a.model.assignments.len(),
            "application_access_policies": a.model.policies.len(),
            "grants": a.matrix.grants.len(),
            "cells": cells,
            "nesting_dependent_cells": a.matrix.nesting_dependent_cells,
            "findings": a.findings.len(),
        },
        "timings_seconds": timings,
        "throughput": {
            "access_cells_per_second": (cells as f64 / access.as_secs_f64().max(1e-9)).round(),
        },
    });
    Ok(serde_json::to_string_pretty(&value).expect("json") + "\n")
}
