//! The matrix keyed for comparison, read back from a dataset written by
//! `analyze` (an analysis in memory becomes one in [`crate::analysis`]). Cells
//! stay as bitmaps per app and permission (entra part and rbac part), so two
//! large matrices compare in bounded memory.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt8Type};
use arrow_array::{Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::cells::{CellSet, Via};
use crate::error::{Error, Result};
use crate::policy::permissions::{self, PermissionId};

/// An app as datasets name it: the lower-case AppId is the stable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKey {
    pub app_id: String,
    pub name: Option<String>,
}

impl AppKey {
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.app_id)
    }

    /// `Name (appid)`, or the AppId alone when the app has no name.
    pub fn describe(&self) -> String {
        describe_app(self.name.as_deref(), &self.app_id)
    }
}

/// `Name (appid)`, or the AppId alone.
pub fn describe_app(name: Option<&str>, app_id: &str) -> String {
    match name {
        Some(n) => format!("{n} ({app_id})"),
        None => app_id.to_string(),
    }
}

/// A mailbox as datasets name it: the lower-case ExternalDirectoryObjectId is the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxKey {
    pub id: String,
    pub address: String,
}

/// A whole matrix with the keys that make it comparable to another.
#[derive(Debug, Clone, Default)]
pub struct AccessSet {
    /// Where it came from, for messages.
    pub source: PathBuf,
    pub apps: Vec<AppKey>,
    pub mailboxes: Vec<MailboxKey>,
    /// Sorted by (app, permission); only non-empty sets.
    pub sets: Vec<CellSet>,
    /// The tenant it is of, when recorded (manifest.json, or the snapshot's tenant.json).
    pub tenant: Option<String>,
}

/// Fails when two matrices are of different recorded tenants, unless allowed:
/// comparing two tenants by mistake would report every cell as gained or lost.
pub fn check_same_tenant(
    before: &AccessSet,
    after: &AccessSet,
    allow: bool,
    flag: &str,
) -> Result<()> {
    match (&before.tenant, &after.tenant) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) && !allow => Err(Error::Query(format!(
            "{} is tenant '{a}' and {} is tenant '{b}'; comparing two tenants is almost always a mistake; pass {flag} if you mean it",
            before.source.display(),
            after.source.display()
        ))),
        _ => Ok(()),
    }
}

impl AccessSet {
    pub fn cells(&self) -> u64 {
        self.sets.iter().map(CellSet::len).sum()
    }
}

/// Whether `path` holds a dataset written by `analyze` (else it is taken for a snapshot).
pub fn is_dataset(path: &Path) -> bool {
    path.join("manifest.json").is_file()
        || path.join("access.parquet").is_file()
        || path.join("access").is_dir()
}

/// Reads apps, mailboxes, permissions and access of a dataset.
pub fn read_dataset(dir: &Path) -> Result<AccessSet> {
    for required in ["apps.parquet", "mailboxes.parquet", "permissions.parquet"] {
        if !dir.join(required).is_file() {
            return Err(Error::Snapshot {
                path: dir.to_path_buf(),
                message: format!("is not a complete exomatrix dataset: {required} is missing; run exomatrix analyze again"),
            });
        }
    }
    let apps = read_app_keys(dir)?;
    let mailboxes_file = dir.join("mailboxes.parquet");
    let mut mailboxes = Vec::new();
    for b in &read_batches(&mailboxes_file)? {
        let ids = string_column(&mailboxes_file, b, "external_directory_object_id")?;
        let addresses = string_column(&mailboxes_file, b, "primary_smtp_address")?;
        for i in 0..b.num_rows() {
            mailboxes.push(MailboxKey {
                id: ids.value(i).to_lowercase(),
                address: addresses.value(i).to_string(),
            });
        }
    }
    let permission_map = read_permission_map(dir)?;
    let parts = access_files(dir)?;
    let per_part: Vec<Vec<CellSet>> = parts
        .par_iter()
        .map(|path| read_access(path, &permission_map, apps.len(), mailboxes.len()))
        .collect::<Result<_>>()?;
    // Parts hold consecutive ranges of the sorted rows; a set may span two parts.
    let sets = merge(per_part.into_iter().flatten().collect());
    let tenant = std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["tenant"].as_str().map(str::to_string));
    Ok(AccessSet {
        source: dir.to_path_buf(),
        apps,
        mailboxes,
        sets,
        tenant,
    })
}

/// The apps of a dataset by index (`apps.parquet` is written in index order).
pub(crate) fn read_app_keys(dir: &Path) -> Result<Vec<AppKey>> {
    let apps_file = dir.join("apps.parquet");
    let mut apps = Vec::new();
    for b in &read_batches(&apps_file)? {
        let ids = string_column(&apps_file, b, "app_id")?;
        let names = string_column(&apps_file, b, "display_name")?;
        for i in 0..b.num_rows() {
            apps.push(AppKey {
                app_id: ids.value(i).to_lowercase(),
                name: names.is_valid(i).then(|| names.value(i).to_string()),
            });
        }
    }
    Ok(apps)
}

/// The catalogue permission of each of the dataset's permission ids: ids are
/// local to the dataset too, so they are mapped by name.
pub(crate) fn read_permission_map(dir: &Path) -> Result<[Option<PermissionId>; 256]> {
    let permissions_file = dir.join("permissions.parquet");
    let mut permission_map = [None; 256];
    for b in &read_batches(&permissions_file)? {
        let ids = b
            .column_by_name("permission_id")
            .and_then(|c| c.as_primitive_opt::<UInt8Type>())
            .ok_or_else(|| missing(&permissions_file, "permission_id"))?;
        let names = string_column(&permissions_file, b, "permission")?;
        for i in 0..b.num_rows() {
            permission_map[ids.value(i) as usize] = permissions::by_name(names.value(i));
        }
    }
    Ok(permission_map)
}

pub(crate) fn access_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("access.parquet");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let parts_dir = dir.join("access");
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&parts_dir)
        .map_err(|e| Error::io(&parts_dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    Ok(parts)
}

pub(crate) fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(64 * 1024).build())
        .map_err(|e| Error::parquet(path, e))?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::parquet(path, e))
}

pub(crate) fn missing(path: &Path, column: &str) -> Error {
    Error::parquet(
        path,
        format!("column {column} is missing or has another type; was this file written by exomatrix analyze?"),
    )
}

pub(crate) fn string_column<'b>(
    path: &Path,
    batch: &'b RecordBatch,
    name: &str,
) -> Result<&'b StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| missing(path, name))
}

/// Reads one access file into per-(app, permission) bitmaps, checking every index.
fn read_access(
    path: &Path,
    permission_map: &[Option<PermissionId>; 256],
    apps: usize,
    mailboxes: usize,
) -> Result<Vec<CellSet>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(256 * 1024).build())
        .map_err(|e| Error::parquet(path, e))?;
    let mut sets: Vec<CellSet> = Vec::new();
    // The set being read, as mailbox lists: a bitmap is built once per set, since
    // appending to a dense roaring container one value at a time rescans it.
    let mut current: Option<(u32, PermissionId)> = None;
    let (mut entra, mut rbac): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    let finish = |key: Option<(u32, PermissionId)>,
                  entra: &mut Vec<u32>,
                  rbac: &mut Vec<u32>,
                  sets: &mut Vec<CellSet>| {
        if let Some((app, permission)) = key {
            sets.push(CellSet {
                app,
                permission,
                entra: bitmap_of(entra),
                rbac: bitmap_of(rbac),
            });
        }
    };
    for batch in reader {
        let batch = batch.map_err(|e| Error::parquet(path, e))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| missing(path, name))
        };
        let app = column("app_idx")?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| missing(path, "app_idx"))?;
        let permission = column("permission_id")?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| missing(path, "permission_id"))?;
        let mailbox = column("mailbox_idx")?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| missing(path, "mailbox_idx"))?;
        let via = column("via")?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| missing(path, "via"))?;
        let (app, permission, mailbox, via) = (
            app.values(),
            permission.values(),
            mailbox.values(),
            via.values(),
        );
        for i in 0..batch.num_rows() {
            let (a, p, m, v) = (app[i], permission[i], mailbox[i], via[i]);
            let Some(p) = permission_map[p as usize] else {
                return Err(Error::parquet(
                    path,
                    format!("row with permission_id {p}, which permissions.parquet does not name"),
                ));
            };
            let via = Via::from_bits(v).filter(|via| via.is_granted());
            if a as usize >= apps || m as usize >= mailboxes || via.is_none() {
                return Err(Error::parquet(
                    path,
                    format!("row (app_idx {a}, mailbox_idx {m}, via {v}) is outside the dataset's apps and mailboxes; the dataset is damaged, run exomatrix analyze again"),
                ));
            }
            if current != Some((a, p)) {
                finish(current, &mut entra, &mut rbac, &mut sets);
                current = Some((a, p));
            }
            let via = via.expect("checked above");
            if via.entra() {
                entra.push(m);
            }
            if via.rbac() {
                rbac.push(m);
            }
        }
    }
    finish(current, &mut entra, &mut rbac, &mut sets);
    Ok(merge(sets))
}

/// A bitmap of the listed mailboxes, emptying the list. Lists written by
/// exomatrix are sorted; any other order is sorted first.
fn bitmap_of(list: &mut Vec<u32>) -> RoaringBitmap {
    if !list.is_sorted_by(|a, b| a < b) {
        list.sort_unstable();
        list.dedup();
    }
    let bitmap = RoaringBitmap::from_sorted_iter(list.drain(..)).expect("sorted and distinct");
    bitmap
}

/// Sorts sets by (app, permission) and unites those with the same key (rows of
/// one set split across parts, or input not sorted as exomatrix writes it).
fn merge(mut sets: Vec<CellSet>) -> Vec<CellSet> {
    sets.sort_by_key(|s| (s.app, s.permission));
    let mut merged: Vec<CellSet> = Vec::with_capacity(sets.len());
    for s in sets {
        match merged.last_mut() {
            Some(last) if (last.app, last.permission) == (s.app, s.permission) => {
                last.entra |= s.entra;
                last.rbac |= s.rbac;
            }
            _ => merged.push(s),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Analysis, AnalysisOptions};
    use crate::matrix::access::{write_access, AccessOptions};

    fn sample() -> Analysis {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        Analysis::run(&dir, AnalysisOptions::default()).unwrap()
    }

    /// Reading access back gives the evaluated sets, in one file or in parts.
    #[test]
    fn access_reads_back_as_the_evaluated_sets_single_and_in_parts() {
        let analysis = sample();
        let expected: Vec<CellSet> = analysis.access_set().sets;
        let mut map = [None; 256];
        for (i, slot) in map
            .iter_mut()
            .enumerate()
            .take(permissions::CATALOGUE.len())
        {
            *slot = Some(i as PermissionId);
        }
        for part_cells in [1 << 24, 40] {
            let dir = tempfile::tempdir().unwrap();
            let options = AccessOptions {
                part_cells,
                row_group_rows: 16,
                page_rows: 5,
                always_parts: false,
            };
            write_access(&analysis.matrix.grants, dir.path(), options).unwrap();
            let files = access_files(dir.path()).unwrap();
            assert_eq!(files.len() > 1, part_cells == 40);
            let sets = merge(
                files
                    .iter()
                    .flat_map(|f| read_access(f, &map, analysis.model.apps.apps.len(), 38).unwrap())
                    .collect(),
            );
            assert_eq!(sets, expected, "part_cells {part_cells}");
        }
    }

    #[test]
    fn a_dataset_index_out_of_range_is_an_error_not_a_panic() {
        let analysis = sample();
        let dir = tempfile::tempdir().unwrap();
        write_access(
            &analysis.matrix.grants,
            dir.path(),
            AccessOptions::default(),
        )
        .unwrap();
        let mut map = [None; 256];
        map[..permissions::CATALOGUE.len()]
            .iter_mut()
            .enumerate()
            .for_each(|(i, s)| *s = Some(i as PermissionId));
        let err = read_access(&dir.path().join("access.parquet"), &map, 2, 38).unwrap_err();
        assert!(err.to_string().contains("is outside the dataset's apps and mailboxes; the dataset is damaged, run exomatrix analyze again"), "{err}");
    }
}
