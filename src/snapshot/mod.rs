//! Reading a tenant snapshot: a directory of `<table>.csv` or `<table>.parquet` files.

pub mod cells;
pub mod csv;
pub mod parquet;
pub mod tables;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use cells::{
    ascii_lower_word, bool_cell, eq_ignore_ascii_case_words, format_guid, guid_cell, guid_text,
    lower_into, parse_bool, parse_guid, parse_guid_u128, required_guid, smtp_proxy, split_multi,
    trim,
};
pub use tables::{first_present, Col, Column, SourceFormat, Table, TableSpec};

use rayon::prelude::*;

use crate::digest::Digest;
use crate::error::{Error, Location, Result};

/// One input file as read, for the manifest.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub table: &'static str,
    pub bytes: u64,
    pub rows: usize,
    /// SHA-256 of the file's bytes: proves which export was read.
    pub sha256: Digest,
}

/// Every table of a snapshot, loaded; absent optional tables are empty.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub dir: PathBuf,
    pub mailboxes: Table,
    pub groups: Table,
    pub group_members: Table,
    pub administrative_units: Table,
    pub administrative_unit_members: Table,
    pub service_principals: Table,
    pub app_role_assignments: Table,
    pub application_access_policies: Table,
    pub management_scopes: Table,
    pub management_role_assignments: Table,
    pub files: Vec<InputFile>,
    /// `tenant.json` as the export script writes it (tenant_id, initial_domain,
    /// display_name, exported_at), when the snapshot has one.
    pub tenant: Option<serde_json::Value>,
}

impl Snapshot {
    /// The tenant's name for datasets: tenant.json's initial domain, lower-cased.
    pub fn tenant_name(&self) -> Option<String> {
        let t = self.tenant.as_ref()?;
        let domain = t["initial_domain"].as_str()?.trim();
        (!domain.is_empty()).then(|| domain.to_lowercase())
    }
}

/// Reads `tenant.json`, when present: an object, or an error naming the file.
fn load_tenant(dir: &Path) -> Result<Option<(serde_json::Value, InputFile)>> {
    let path = dir.join("tenant.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    // PowerShell 5.1's Set-Content -Encoding utf8 writes a byte order mark.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let value: serde_json::Value = serde_json::from_slice(text)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| {
            Error::data(
                Location::file("tenant.json"),
                "is not a JSON object like {\"tenant_id\": \"...\", \"initial_domain\": \"contoso.onmicrosoft.com\"}; fix or delete it (it is optional)",
            )
        })?;
    let file = InputFile {
        path: path.clone(),
        table: "tenant",
        bytes: bytes.len() as u64,
        rows: 1,
        sha256: Digest::of(&bytes),
    };
    Ok(Some((value, file)))
}

impl Snapshot {
    /// Loads every table of the snapshot directory `dir`.
    pub fn load(dir: &Path) -> Result<Snapshot> {
        let meta = std::fs::metadata(dir).map_err(|e| Error::Snapshot {
            path: dir.to_path_buf(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "no such directory; give the folder the export script wrote".to_string()
            } else {
                e.to_string()
            },
        })?;
        if !meta.is_dir() {
            return Err(Error::Snapshot {
                path: dir.to_path_buf(),
                message: "not a directory; a snapshot is a folder of <table>.csv or <table>.parquet files".to_string(),
            });
        }
        // Tables load in parallel; errors are reported in table order.
        let loaded: Vec<Result<Option<(Table, InputFile)>>> = tables::ALL_TABLES
            .par_iter()
            .map(|&spec| match locate(dir, spec)? {
                Some((path, format)) => load_table(&path, spec, format).map(Some),
                None => Ok(None),
            })
            .collect();
        let mut files = Vec::new();
        let mut tables = Vec::with_capacity(tables::ALL_TABLES.len());
        for result in loaded {
            tables.push(result?.map(|(table, file)| {
                files.push(file);
                table
            }));
        }
        let mut snapshot = Self::assemble(dir, tables, files)?;
        if let Some((tenant, file)) = load_tenant(dir)? {
            snapshot.tenant = Some(tenant);
            snapshot.files.push(file);
        }
        Ok(snapshot)
    }

    /// Builds a snapshot from CSV texts in memory, keyed by table name
    /// (`mailboxes`, `groups`, ...): for fuzzing and tests, without files.
    pub fn from_csv(tables: &[(&str, &[u8])]) -> Result<Snapshot> {
        let loaded = tables::ALL_TABLES
            .into_iter()
            .map(|spec| {
                tables
                    .iter()
                    .find(|(name, _)| *name == spec.name)
                    .map(|(name, bytes)| {
                        let table = csv::parse_csv(bytes, &format!("{name}.csv"), spec)?;
                        table.check_required()?;
                        Ok(table)
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        Self::assemble(Path::new("memory"), loaded, Vec::new())
    }

    /// One table per spec of [`tables::ALL_TABLES`], in order; absent tables are
    /// empty, except mailboxes, which is required.
    fn assemble(dir: &Path, loaded: Vec<Option<Table>>, files: Vec<InputFile>) -> Result<Snapshot> {
        let mut tables = Vec::with_capacity(loaded.len());
        for (spec, table) in tables::ALL_TABLES.into_iter().zip(loaded) {
            match table {
                Some(table) => tables.push(table),
                None if spec.name == tables::MAILBOXES.name => {
                    return Err(Error::Snapshot {
                        path: dir.to_path_buf(),
                        message: "holds no mailboxes table (mailboxes.csv or mailboxes.parquet); it is required".to_string(),
                    })
                }
                None => tables.push(Table::empty(spec)),
            }
        }
        let mailboxes = &tables[0];
        if mailboxes.is_empty() {
            return Err(Error::data(
                Location::file(&mailboxes.file),
                "the table lists no mailboxes (the header is there, no rows follow). A tenant always has mailboxes, so the export is broken (too few permissions, an interrupted run, a filter); exomatrix does not report \"no access\" for it. Run the export script again (its -CheckOnly switch tests the permissions first)",
            ));
        }
        let mut it = tables.into_iter();
        let mut next = || it.next().expect("one table per spec");
        Ok(Snapshot {
            dir: dir.to_path_buf(),
            mailboxes: next(),
            groups: next(),
            group_members: next(),
            administrative_units: next(),
            administrative_unit_members: next(),
            service_principals: next(),
            app_role_assignments: next(),
            application_access_policies: next(),
            management_scopes: next(),
            management_role_assignments: next(),
            files,
            tenant: None,
        })
    }
}

/// Reads one table file, checks its required columns, and hashes its bytes.
fn load_table(path: &Path, spec: TableSpec, format: SourceFormat) -> Result<(Table, InputFile)> {
    let (table, sha256, bytes) = match format {
        SourceFormat::Csv => {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            // SAFETY: the map is read-only, and the table's values are views of
            // it, so it lives as long as the snapshot. Rust's guarantee holds
            // only while nobody changes the file; the snapshot is an export at
            // rest, and one truncated during analysis ends the process with
            // SIGBUS rather than a wrong result.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            let map: tables::Source = Arc::new(map);
            let bytes: &[u8] = (*map).as_ref();
            let sha256 = Digest::in_background(map.clone());
            let table = csv::parse_csv_source(map.clone(), &csv::display_name(path), spec);
            (table?, sha256, bytes.len() as u64)
        }
        SourceFormat::Parquet => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            (
                parquet::read_parquet(path, spec)?,
                Digest::of(&bytes),
                bytes.len() as u64,
            )
        }
    };
    table.check_required()?;
    let file = InputFile {
        path: path.to_path_buf(),
        table: spec.name,
        bytes,
        rows: table.len(),
        sha256,
    };
    Ok((table, file))
}

/// Finds `<name>.csv` or `<name>.parquet` (file names matched case-insensitively).
fn locate(dir: &Path, spec: TableSpec) -> Result<Option<(PathBuf, SourceFormat)>> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_lowercase();
        let format = if name == format!("{}.csv", spec.name) {
            SourceFormat::Csv
        } else if name == format!("{}.parquet", spec.name) {
            SourceFormat::Parquet
        } else {
            continue;
        };
        found.push((entry.path(), format));
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(Error::Snapshot {
            path: dir.to_path_buf(),
            message: format!(
                "holds {} files for table {name}; keep exactly one of {name}.csv or {name}.parquet",
                found.len(),
                name = spec.name
            ),
        }),
    }
}
