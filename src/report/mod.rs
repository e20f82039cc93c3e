//! `report`: the compliance report of a dataset (DESIGN §8), computed from the
//! dataset's files alone.
//!
//! The small tables (apps, mailboxes, grants, findings, manifest) are read
//! whole; `access` is read once, streaming, in its stored order (app,
//! permission, mailbox): only the current app's class bitmaps and one counter
//! per mailbox are held, so memory does not grow with the number of cells.
//! [`html`] and [`markdown`] render the same [`Report`]; [`actions`] writes
//! the action-plan CSV.

pub mod actions;
pub mod charts;
pub mod guidance;
pub mod html;
pub mod markdown;

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt32Type, UInt8Type};
use arrow_array::{Array, BooleanArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use roaring::RoaringBitmap;

use crate::diff::diff;
use crate::error::{Error, Result};
use crate::matrix::read::{
    access_files, missing, read_app_keys, read_batches, read_permission_map, string_column,
};
use crate::matrix::read_dataset;

/// Rows shown in the top-N charts and tables.
pub const TOP: usize = 20;
/// Mailboxes listed as the most exposed.
pub const TOP_MAILBOXES: usize = 25;

/// The four classes apps are ranked by.
pub const CLASSES: [&str; 4] = ["read", "write", "send", "full EWS"];

/// The classes a permission counts in (by name, DESIGN §3.1's catalogue):
/// read — any permission that reads mailbox content or settings; write — any
/// that changes it; send — sending as the mailbox; full EWS — EWS.AccessAsApp.
pub fn classes_of(permission: &str) -> [bool; 4] {
    let write = permission.contains("ReadWrite") || permission.contains("ImportExport");
    let send = permission == "Mail.Send" || permission == "SMTP.SendAsApp";
    let ews = permission == "EWS.AccessAsApp";
    let read = permission.contains("Read") || permission.contains("Export") || ews;
    [read, write || ews, send, ews]
}

/// Permissions a tenant-wide grant of which is high risk: sending, writing, full EWS.
pub fn is_high_risk(permission: &str) -> bool {
    let c = classes_of(permission);
    c[1] || c[2] || c[3]
}

/// The header: which dataset, from which snapshot, made by what.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub dataset: String,
    pub tenant: String,
    pub snapshot: String,
    pub snapshot_time: Option<String>,
    pub analyzed_with: String,
    pub aap_nesting: String,
    /// (file, bytes, rows, sha256)
    pub inputs: Vec<(String, u64, u64, String)>,
}

/// Cells by what grants them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources {
    /// Entra only, no policy narrows the permission.
    pub entra_unscoped: u64,
    /// Entra only, narrowed by application access policies.
    pub entra_narrowed: u64,
    /// RBAC for Applications only.
    pub rbac: u64,
    /// Both.
    pub both: u64,
}

impl Sources {
    pub fn total(&self) -> u64 {
        self.entra_unscoped + self.entra_narrowed + self.rbac + self.both
    }
}

/// One app's reach.
#[derive(Debug, Clone, Default)]
pub struct AppRow {
    pub app_idx: u32,
    pub app_id: String,
    pub name: String,
    /// Distinct mailboxes reached per class of [`CLASSES`].
    pub classes: [u64; 4],
    /// Distinct mailboxes reached with any permission.
    pub mailboxes: u64,
    pub cells: u64,
}

/// One of the most exposed mailboxes.
#[derive(Debug, Clone, Default)]
pub struct MailboxRow {
    pub address: String,
    pub id: String,
    pub display_name: String,
    pub apps: u32,
    /// Apps that can write, send or use full EWS on it.
    pub high_risk_apps: u32,
}

/// One grant (app × permission) as `grants.parquet` has it.
#[derive(Debug, Clone, Default)]
pub struct GrantRow {
    pub app_idx: u32,
    pub permission_id: u8,
    pub permission: String,
    pub entra: bool,
    pub aap_mode: String,
    pub mailboxes_entra: u64,
    pub mailboxes_rbac: u64,
    pub mailboxes_total: u64,
    pub assumed_org_wide: bool,
}

/// A high-risk permission that reaches (almost) every mailbox with no allow-list.
#[derive(Debug, Clone)]
pub struct Unscoped {
    pub app: String,
    pub app_id: String,
    pub permission: String,
    pub via: &'static str,
    pub mailboxes: u64,
}

/// A finding with what to do about it.
#[derive(Debug, Clone)]
pub struct FindingRow {
    pub kind: String,
    pub severity: String,
    pub object: String,
    pub message: String,
    pub source: String,
    pub remediation: &'static str,
}

/// The comparison with another dataset, per app and permission.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub other: String,
    pub cells_before: u64,
    pub cells_after: u64,
    /// (app, app id, permission, gained, lost, via changed)
    pub rows: Vec<(String, String, String, u64, u64, u64)>,
}

/// The migration readiness of each app, from a plan's proof.json.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    pub plan: String,
    /// (app, app id, status, to RBAC, blocked, reasons and notes)
    pub rows: Vec<(String, String, String, String, String, String)>,
    /// Whether the plan was made from a snapshot with this dataset's cell count.
    pub matches_dataset: bool,
}

/// Everything the report shows.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub header: Header,
    pub mailboxes: u64,
    pub mailboxes_reached: u64,
    pub apps: u64,
    pub apps_with_access: u64,
    pub cells: u64,
    pub nesting_dependent: u64,
    pub sources: Sources,
    /// Every app with access, by mailboxes reached (descending), then name.
    pub app_rows: Vec<AppRow>,
    /// Permissions of the heat map (columns) and the top apps' mailboxes per permission.
    pub heat_permissions: Vec<String>,
    pub heat: Vec<(String, Vec<u64>)>,
    pub exposed: Vec<MailboxRow>,
    pub unscoped: Vec<Unscoped>,
    pub findings: Vec<FindingRow>,
    /// Findings per severity: error, warning, info.
    pub severities: [u64; 3],
    pub comparison: Option<Comparison>,
    pub readiness: Option<Readiness>,
}

fn read_manifest(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Snapshot {
        path,
        message: format!("is not valid JSON ({e}); run exomatrix analyze again"),
    })
}

fn header(dir: &Path, m: &serde_json::Value) -> Header {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let snapshot = s(&m["snapshot"]);
    let tenant = m["tenant"].as_str().map(str::to_string).unwrap_or_else(|| {
        Path::new(&snapshot)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| snapshot.clone())
    });
    Header {
        dataset: dir.display().to_string(),
        tenant,
        snapshot,
        snapshot_time: m["snapshot_time"].as_str().map(str::to_string),
        analyzed_with: format!("exomatrix {}", s(&m["version"])),
        aap_nesting: s(&m["options"]["aap_nesting"]),
        inputs: m["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    s(&i["file"]),
                    i["bytes"].as_u64().unwrap_or(0),
                    i["rows"].as_u64().unwrap_or(0),
                    s(&i["sha256"]),
                )
            })
            .collect(),
    }
}

/// (id, name or id) per app index.
fn read_apps(dir: &Path) -> Result<Vec<(String, String)>> {
    Ok(read_app_keys(dir)?
        .into_iter()
        .map(|a| (a.app_id.clone(), a.label().to_string()))
        .collect())
}

/// (id, address, display name) per mailbox index.
fn read_mailboxes(dir: &Path) -> Result<Vec<(String, String, String)>> {
    let path = dir.join("mailboxes.parquet");
    let mut out = Vec::new();
    for b in &read_batches(&path)? {
        let ids = string_column(&path, b, "external_directory_object_id")?;
        let addresses = string_column(&path, b, "primary_smtp_address")?;
        let names = string_column(&path, b, "display_name")?;
        for i in 0..b.num_rows() {
            let name = if names.is_valid(i) {
                names.value(i)
            } else {
                ""
            };
            out.push((
                ids.value(i).to_string(),
                addresses.value(i).to_string(),
                name.to_string(),
            ));
        }
    }
    Ok(out)
}

/// (name, AAP-constrainable) per permission id of the dataset.
fn read_permissions(dir: &Path) -> Result<Vec<(String, bool)>> {
    Ok(read_permission_map(dir)?
        .iter()
        .map(|p| match p {
            Some(p) => {
                let info = crate::policy::permissions::info(*p);
                (info.name.to_string(), info.aap)
            }
            None => (String::new(), false),
        })
        .collect())
}

fn read_grants(dir: &Path) -> Result<Vec<GrantRow>> {
    let path = dir.join("grants.parquet");
    let mut out = Vec::new();
    for b in &read_batches(&path)? {
        let u32s = |n: &str| {
            b.column_by_name(n)
                .and_then(|c| c.as_primitive_opt::<UInt32Type>())
                .ok_or_else(|| missing(&path, n))
        };
        let u64s = |n: &str| {
            b.column_by_name(n)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| missing(&path, n))
        };
        let bools = |n: &str| {
            b.column_by_name(n)
                .and_then(|c| c.as_any().downcast_ref::<BooleanArray>())
                .ok_or_else(|| missing(&path, n))
        };
        let app = u32s("app_idx")?;
        let perm = b
            .column_by_name("permission_id")
            .and_then(|c| c.as_primitive_opt::<UInt8Type>())
            .ok_or_else(|| missing(&path, "permission_id"))?;
        let names = string_column(&path, b, "permission")?;
        let mode = string_column(&path, b, "aap_mode")?;
        let (entra, org) = (bools("entra")?, bools("rbac_scope_assumed_org_wide")?);
        let (me, mr, mt) = (
            u64s("mailboxes_entra")?,
            u64s("mailboxes_rbac")?,
            u64s("mailboxes_total")?,
        );
        for i in 0..b.num_rows() {
            out.push(GrantRow {
                app_idx: app.value(i),
                permission_id: perm.value(i),
                permission: names.value(i).to_string(),
                entra: entra.value(i),
                aap_mode: mode.value(i).to_string(),
                mailboxes_entra: me.value(i).max(0) as u64,
                mailboxes_rbac: mr.value(i).max(0) as u64,
                mailboxes_total: mt.value(i).max(0) as u64,
                assumed_org_wide: org.value(i),
            });
        }
    }
    Ok(out)
}

fn read_findings(dir: &Path) -> Result<Vec<FindingRow>> {
    let path = dir.join("findings.parquet");
    let mut out = Vec::new();
    for b in &read_batches(&path)? {
        let col = |n: &str| string_column(&path, b, n);
        let (kind, severity, object, message, source) = (
            col("kind")?,
            col("severity")?,
            col("object")?,
            col("message")?,
            col("source")?,
        );
        for i in 0..b.num_rows() {
            let get = |c: &arrow_array::StringArray| {
                if c.is_valid(i) {
                    c.value(i).to_string()
                } else {
                    String::new()
                }
            };
            let kind = get(kind);
            out.push(FindingRow {
                remediation: guidance::remediation(&kind),
                kind,
                severity: get(severity),
                object: get(object),
                message: get(message),
                source: get(source),
            });
        }
    }
    Ok(out)
}

/// What one pass over `access` collects.
struct Scan {
    sources: Sources,
    app_rows: Vec<AppRow>,
    apps_per_mailbox: Vec<u32>,
    high_risk_per_mailbox: Vec<u32>,
    reached: RoaringBitmap,
}

/// The class bitmaps of the app being read.
struct Current {
    app: u32,
    classes: [RoaringBitmap; 4],
    all: RoaringBitmap,
    cells: u64,
}

impl Scan {
    fn finish_app(&mut self, c: Current, apps: &[(String, String)]) {
        let high_risk = &(&c.classes[1] | &c.classes[2]) | &c.classes[3];
        for m in &c.all {
            self.apps_per_mailbox[m as usize] += 1;
        }
        for m in &high_risk {
            self.high_risk_per_mailbox[m as usize] += 1;
        }
        self.reached |= &c.all;
        let (id, name) = apps.get(c.app as usize).cloned().unwrap_or_default();
        self.app_rows.push(AppRow {
            app_idx: c.app,
            app_id: id,
            name,
            classes: [0, 1, 2, 3].map(|k| c.classes[k].len()),
            mailboxes: c.all.len(),
            cells: c.cells,
        });
    }
}

/// Reads `access` once, in order.
fn scan_access(
    dir: &Path,
    apps: &[(String, String)],
    permissions: &[(String, bool)],
    narrowed: &dyn Fn(u32, u8) -> bool,
    mailboxes: usize,
) -> Result<Scan> {
    let classes: Vec<[bool; 4]> = permissions.iter().map(|(n, _)| classes_of(n)).collect();
    let mut scan = Scan {
        sources: Sources::default(),
        app_rows: Vec::new(),
        apps_per_mailbox: vec![0; mailboxes],
        high_risk_per_mailbox: vec![0; mailboxes],
        reached: RoaringBitmap::new(),
    };
    let mut current: Option<Current> = None;
    for path in access_files(dir)? {
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(256 * 1024).build())
            .map_err(|e| Error::parquet(&path, e))?;
        for batch in reader {
            let batch = batch.map_err(|e| Error::parquet(&path, e))?;
            let u32s = |n: &str| {
                batch
                    .column_by_name(n)
                    .and_then(|c| c.as_primitive_opt::<UInt32Type>())
                    .map(|c| c.values().clone())
                    .ok_or_else(|| missing(&path, n))
            };
            let u8s = |n: &str| {
                batch
                    .column_by_name(n)
                    .and_then(|c| c.as_primitive_opt::<UInt8Type>())
                    .map(|c| c.values().clone())
                    .ok_or_else(|| missing(&path, n))
            };
            let (app, perm, mailbox, via) = (
                u32s("app_idx")?,
                u8s("permission_id")?,
                u32s("mailbox_idx")?,
                u8s("via")?,
            );
            let n = app.len();
            let mut i = 0;
            while i < n {
                // One run of the same app and permission.
                let (a, p) = (app[i], perm[i]);
                let mut j = i;
                while j < n && app[j] == a && perm[j] == p {
                    j += 1;
                }
                if mailbox[i..j].iter().any(|&m| m as usize >= mailboxes) {
                    return Err(Error::parquet(
                        &path,
                        format!("mailbox_idx out of range for app_idx {a}: the dataset's files do not belong together; run exomatrix analyze again"),
                    ));
                }
                if current.as_ref().is_some_and(|c| c.app != a) {
                    let done = current.take().expect("checked");
                    scan.finish_app(done, apps);
                }
                let c = current.get_or_insert_with(|| Current {
                    app: a,
                    classes: Default::default(),
                    all: RoaringBitmap::new(),
                    cells: 0,
                });
                let run = RoaringBitmap::from_sorted_iter(mailbox[i..j].iter().copied())
                    .map_err(|_| {
                        Error::parquet(&path, "access rows are not sorted by mailbox_idx; run exomatrix analyze again")
                    })?;
                let cls = classes.get(p as usize).copied().unwrap_or_default();
                for (k, &yes) in cls.iter().enumerate() {
                    if yes {
                        c.classes[k] |= &run;
                    }
                }
                c.all |= &run;
                c.cells += (j - i) as u64;
                let is_narrowed = narrowed(a, p);
                for &v in &via[i..j] {
                    match v {
                        1 if is_narrowed => scan.sources.entra_narrowed += 1,
                        1 => scan.sources.entra_unscoped += 1,
                        2 => scan.sources.rbac += 1,
                        _ => scan.sources.both += 1,
                    }
                }
                i = j;
            }
        }
    }
    if let Some(c) = current {
        scan.finish_app(c, apps);
    }
    Ok(scan)
}

/// What to add to the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Another dataset to compare with (the earlier state).
    pub compare: Option<PathBuf>,
    /// A plan-migration output folder (its proof.json).
    pub plan: Option<PathBuf>,
    /// Compare with a dataset of another tenant without an error.
    pub allow_cross_tenant: bool,
}

/// Computes the report of the dataset at `dir`.
pub fn build(dir: &Path, options: &ReportOptions) -> Result<Report> {
    for required in [
        "manifest.json",
        "apps.parquet",
        "mailboxes.parquet",
        "permissions.parquet",
        "grants.parquet",
        "findings.parquet",
    ] {
        if !dir.join(required).is_file() {
            return Err(Error::Snapshot {
                path: dir.to_path_buf(),
                message: format!(
                    "is not a complete exomatrix dataset: {required} is missing; report reads the folder `exomatrix analyze -o` wrote"
                ),
            });
        }
    }
    let manifest = read_manifest(dir)?;
    let apps = read_apps(dir)?;
    let mailboxes = read_mailboxes(dir)?;
    let permissions = read_permissions(dir)?;
    let grants = read_grants(dir)?;
    let findings = read_findings(dir)?;

    let narrowed_set: rustc_hash::FxHashSet<(u32, u8)> = grants
        .iter()
        .filter(|g| g.entra && g.aap_mode != "none" && permissions[g.permission_id as usize].1)
        .map(|g| (g.app_idx, g.permission_id))
        .collect();
    let narrowed = |a: u32, p: u8| narrowed_set.contains(&(a, p));
    let scan = scan_access(dir, &apps, &permissions, &narrowed, mailboxes.len())?;

    let mut app_rows = scan.app_rows;
    app_rows.sort_by(|a, b| {
        b.mailboxes
            .cmp(&a.mailboxes)
            .then(b.cells.cmp(&a.cells))
            .then_with(|| a.name.cmp(&b.name))
    });

    // Heat map: the top apps × the permissions any of them holds.
    let top: Vec<&AppRow> = app_rows.iter().take(TOP).collect();
    let mut heat_perms: Vec<u8> = grants
        .iter()
        .filter(|g| top.iter().any(|a| a.app_idx == g.app_idx) && g.mailboxes_total > 0)
        .map(|g| g.permission_id)
        .collect();
    heat_perms.sort_unstable();
    heat_perms.dedup();
    let heat = top
        .iter()
        .map(|a| {
            let values = heat_perms
                .iter()
                .map(|&p| {
                    grants
                        .iter()
                        .find(|g| g.app_idx == a.app_idx && g.permission_id == p)
                        .map_or(0, |g| g.mailboxes_total)
                })
                .collect();
            (a.name.clone(), values)
        })
        .collect();
    let heat_permissions = heat_perms
        .iter()
        .map(|&p| permissions[p as usize].0.clone())
        .collect();

    // The most exposed mailboxes.
    let mut order: Vec<u32> = (0..mailboxes.len() as u32)
        .filter(|&m| scan.apps_per_mailbox[m as usize] > 0)
        .collect();
    order.sort_by(|&a, &b| {
        let key = |m: u32| {
            (
                scan.apps_per_mailbox[m as usize],
                scan.high_risk_per_mailbox[m as usize],
            )
        };
        key(b).cmp(&key(a)).then(a.cmp(&b))
    });
    let exposed = order
        .into_iter()
        .take(TOP_MAILBOXES)
        .map(|m| {
            let (id, address, name) = mailboxes[m as usize].clone();
            MailboxRow {
                address,
                id,
                display_name: name,
                apps: scan.apps_per_mailbox[m as usize],
                high_risk_apps: scan.high_risk_per_mailbox[m as usize],
            }
        })
        .collect();

    // High-risk permissions that no allow-list narrows and that reach most mailboxes.
    let all = mailboxes.len() as u64;
    let mut unscoped: Vec<Unscoped> = grants
        .iter()
        .filter(|g| is_high_risk(&g.permission))
        .filter_map(|g| {
            let entra_open = g.entra
                && (!permissions[g.permission_id as usize].1
                    || matches!(g.aap_mode.as_str(), "none" | "deny-list"));
            let rbac_org = g.assumed_org_wide || (all > 0 && g.mailboxes_rbac == all);
            let via = match (entra_open, rbac_org) {
                (true, true) => "Entra and RBAC (organization)",
                (true, false) => "Entra, no allow-list policy",
                (false, true) => "RBAC, organization scope",
                (false, false) => return None,
            };
            let (app_id, name) = apps.get(g.app_idx as usize).cloned().unwrap_or_default();
            Some(Unscoped {
                app: name,
                app_id,
                permission: g.permission.clone(),
                via,
                mailboxes: g.mailboxes_total,
            })
        })
        .collect();
    unscoped.sort_by(|a, b| {
        b.mailboxes
            .cmp(&a.mailboxes)
            .then_with(|| a.app.cmp(&b.app))
    });

    let mut severities = [0u64; 3];
    for f in &findings {
        match f.severity.as_str() {
            "error" => severities[0] += 1,
            "warning" => severities[1] += 1,
            _ => severities[2] += 1,
        }
    }
    let mut findings = findings;
    let rank = |s: &str| match s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    };
    findings.sort_by_key(|f| rank(&f.severity));

    let comparison = match &options.compare {
        None => None,
        Some(other) => {
            let (before, after) = (read_dataset(other)?, read_dataset(dir)?);
            crate::matrix::read::check_same_tenant(
                &before,
                &after,
                options.allow_cross_tenant,
                "--allow-cross-tenant",
            )?;
            let d = diff(before, after);
            let mut rows: Vec<(String, String, String, u64, u64, u64)> = d
                .changes
                .iter()
                .map(|c| {
                    let app = &d.apps[c.app as usize];
                    (
                        app.label().to_string(),
                        app.app_id.clone(),
                        crate::policy::permissions::info(c.permission)
                            .name
                            .to_string(),
                        c.gained.len(),
                        c.lost.len(),
                        c.via_changed.len(),
                    )
                })
                .collect();
            rows.sort_by(|a, b| (b.3 + b.4).cmp(&(a.3 + a.4)).then_with(|| a.0.cmp(&b.0)));
            Some(Comparison {
                other: other.display().to_string(),
                cells_before: d.cells_before,
                cells_after: d.cells_after,
                rows,
            })
        }
    };
    let cells = scan.sources.total();
    let readiness = options
        .plan
        .as_deref()
        .map(|p| read_readiness(p, cells))
        .transpose()?;

    Ok(Report {
        header: header(dir, &manifest),
        mailboxes: all,
        mailboxes_reached: scan.reached.len(),
        apps: apps.len() as u64,
        apps_with_access: app_rows.len() as u64,
        cells,
        nesting_dependent: manifest["counts"]["nesting_dependent_cells"]
            .as_u64()
            .unwrap_or(0),
        sources: scan.sources,
        app_rows,
        heat_permissions,
        heat,
        exposed,
        unscoped,
        findings,
        severities,
        comparison,
        readiness,
    })
}

/// The readiness table from `PLAN/proof.json`.
fn read_readiness(plan: &Path, cells: u64) -> Result<Readiness> {
    let path = if plan.is_dir() {
        plan.join("proof.json")
    } else {
        plan.to_path_buf()
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let proof: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Snapshot {
        path: path.clone(),
        message: format!("is not a plan-migration proof.json ({e})"),
    })?;
    let names = |v: &serde_json::Value| -> String {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                x["permission"]
                    .as_str()
                    .or(x.as_str())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows = proof["apps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let text = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            };
            let mut why = text(&a["reasons"]);
            why.extend(text(&a["notes"]));
            (
                a["display_name"]
                    .as_str()
                    .or(a["app_id"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                a["app_id"].as_str().unwrap_or_default().to_string(),
                a["status"].as_str().unwrap_or_default().to_string(),
                names(&a["roles"]),
                names(&a["blocked_permissions"]),
                why.join(" "),
            )
        })
        .collect();
    Ok(Readiness {
        plan: path.display().to_string(),
        rows,
        matches_dataset: proof["cells_before"].as_u64() == Some(cells),
    })
}

/// A count with thousands separators, as the report prints figures.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_classes_follow_the_names() {
        let table = [
            ("Mail.Read", [true, false, false, false]),
            ("Mail.ReadWrite", [true, true, false, false]),
            ("Mail.Send", [false, false, true, false]),
            ("SMTP.SendAsApp", [false, false, true, false]),
            ("EWS.AccessAsApp", [true, true, false, true]),
            ("MailboxItem.ImportExport.All", [true, true, false, false]),
            ("MailboxItem.Export.All", [true, false, false, false]),
            ("Calendars.ReadBasic.All", [true, false, false, false]),
            ("MailTips.ReadBasic.All", [true, false, false, false]),
        ];
        for (p, want) in table {
            assert_eq!(classes_of(p), want, "{p}");
        }
        assert!(is_high_risk("Mail.Send") && is_high_risk("Contacts.ReadWrite"));
        assert!(!is_high_risk("Mail.Read"));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(216_939_030), "216,939,030");
    }
}

/// A time as `yyyy-mm-ddTHH:MM:SSZ` (UTC), without a date library.
pub fn utc_iso(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod time_tests {
    use super::utc_iso;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn utc_times_format_like_iso_8601() {
        let at = |s: u64| utc_iso(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_461_199), "2026-12-05T08:59:59Z");
    }
}
