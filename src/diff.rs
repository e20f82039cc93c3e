//! Comparing two matrices by stable keys (AppId, permission,
//! ExternalDirectoryObjectId): which cells were gained, lost, or kept with
//! another provenance. Work stays per app and permission, on bitmaps.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use roaring::RoaringBitmap;

use crate::error::{Error, Result};
use crate::matrix::{AccessSet, AppKey, CellSet, MailboxKey};
use crate::output::{create_private_file, write_file_atomically};
use crate::policy::permissions::{self, PermissionId};

/// What happened to one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Gained,
    Lost,
    /// Granted before and after, through other sources (entra ↔ rbac).
    ViaChanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Gained => "gained",
            Change::Lost => "lost",
            Change::ViaChanged => "via-changed",
        }
    }
}

/// The changes of one app and permission, over the common mailbox numbering.
#[derive(Debug, Clone)]
pub struct SetChange {
    /// Index into [`Diff::apps`].
    pub app: u32,
    pub permission: PermissionId,
    pub gained: RoaringBitmap,
    pub lost: RoaringBitmap,
    pub via_changed: RoaringBitmap,
    /// The sets compared, in the common numbering (empty when absent).
    pub before: CellSet,
    pub after: CellSet,
}

/// The comparison of two matrices.
#[derive(Debug, Clone)]
pub struct Diff {
    /// Apps of both sides: those of AFTER in its order, then those only in BEFORE.
    pub apps: Vec<AppKey>,
    /// Mailboxes of both sides, numbered the same way.
    pub mailboxes: Vec<MailboxKey>,
    pub apps_appeared: Vec<u32>,
    pub apps_disappeared: Vec<u32>,
    pub mailboxes_appeared: Vec<u32>,
    pub mailboxes_disappeared: Vec<u32>,
    pub cells_before: u64,
    pub cells_after: u64,
    /// Only (app, permission) pairs with some change, sorted by app then permission.
    pub changes: Vec<SetChange>,
}

impl Diff {
    pub fn gained(&self) -> u64 {
        self.changes.iter().map(|c| c.gained.len()).sum()
    }

    pub fn lost(&self) -> u64 {
        self.changes.iter().map(|c| c.lost.len()).sum()
    }

    pub fn via_changed(&self) -> u64 {
        self.changes.iter().map(|c| c.via_changed.len()).sum()
    }
}

/// Numbers the keys of AFTER first (so its sets need no renumbering), then the
/// keys only BEFORE has; returns the union and BEFORE's index → common index.
fn unite<T: Clone>(before: &[T], after: &[T], key: impl Fn(&T) -> &str) -> (Vec<T>, Vec<u32>) {
    let mut all: Vec<T> = after.to_vec();
    let index: HashMap<&str, u32> = after
        .iter()
        .enumerate()
        .map(|(i, x)| (key(x), i as u32))
        .collect();
    let mut map = Vec::with_capacity(before.len());
    for x in before {
        match index.get(key(x)) {
            Some(&i) => map.push(i),
            None => {
                map.push(all.len() as u32);
                all.push(x.clone());
            }
        }
    }
    (all, map)
}

fn renumber(bitmap: &RoaringBitmap, map: &[u32], identity: bool) -> RoaringBitmap {
    if identity {
        return bitmap.clone();
    }
    let mut v: Vec<u32> = bitmap.iter().map(|m| map[m as usize]).collect();
    v.sort_unstable();
    RoaringBitmap::from_sorted_iter(v).expect("sorted")
}

/// Compares BEFORE with AFTER.
pub fn diff(before: AccessSet, after: AccessSet) -> Diff {
    let (apps, app_map) = unite(&before.apps, &after.apps, |a| a.app_id.as_str());
    let (mailboxes, mailbox_map) = unite(&before.mailboxes, &after.mailboxes, |m| m.id.as_str());
    let identity = mailbox_map.iter().enumerate().all(|(i, &m)| i as u32 == m);

    let cells_before = before.cells();
    let cells_after = after.cells();
    // BEFORE's sets in the common numbering, keyed like AFTER's.
    let mut before_sets: Vec<CellSet> = before
        .sets
        .par_iter()
        .map(|s| CellSet {
            app: app_map[s.app as usize],
            permission: s.permission,
            entra: renumber(&s.entra, &mailbox_map, identity),
            rbac: renumber(&s.rbac, &mailbox_map, identity),
        })
        .collect();
    before_sets.sort_by_key(|s| (s.app, s.permission));

    // Pair the sets of both sides by key (both sorted).
    let mut pairs: Vec<(Option<CellSet>, Option<CellSet>)> = Vec::new();
    let mut b = before_sets.into_iter().peekable();
    let mut a = after.sets.into_iter().peekable();
    loop {
        let order = match (b.peek(), a.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => (x.app, x.permission).cmp(&(y.app, y.permission)),
        };
        pairs.push(match order {
            std::cmp::Ordering::Less => (b.next(), None),
            std::cmp::Ordering::Greater => (None, a.next()),
            std::cmp::Ordering::Equal => (b.next(), a.next()),
        });
    }
    let changes: Vec<SetChange> = pairs
        .into_par_iter()
        .filter_map(|(b, a)| {
            let key = b.as_ref().or(a.as_ref()).map(|s| (s.app, s.permission))?;
            let empty = || CellSet {
                app: key.0,
                permission: key.1,
                ..CellSet::default()
            };
            let before = b.unwrap_or_else(empty);
            let after = a.unwrap_or_else(empty);
            let (was, is) = (before.cells(), after.cells());
            let gained = &is - &was;
            let lost = &was - &is;
            let moved = (&before.entra ^ &after.entra) | (&before.rbac ^ &after.rbac);
            let via_changed = moved & was & is;
            if gained.is_empty() && lost.is_empty() && via_changed.is_empty() {
                return None;
            }
            Some(SetChange {
                app: key.0,
                permission: key.1,
                gained,
                lost,
                via_changed,
                before,
                after,
            })
        })
        .collect();

    let after_apps = after.apps.len() as u32;
    let in_before_apps: RoaringBitmap = app_map.iter().copied().collect();
    let after_mailboxes = after.mailboxes.len() as u32;
    let in_before_mailboxes: RoaringBitmap = mailbox_map.iter().copied().collect();
    Diff {
        apps_appeared: (0..after_apps)
            .filter(|i| !in_before_apps.contains(*i))
            .collect(),
        apps_disappeared: (after_apps..apps.len() as u32).collect(),
        mailboxes_appeared: (0..after_mailboxes)
            .filter(|i| !in_before_mailboxes.contains(*i))
            .collect(),
        mailboxes_disappeared: (after_mailboxes..mailboxes.len() as u32).collect(),
        apps,
        mailboxes,
        cells_before,
        cells_after,
        changes,
    }
}

/// Calls `f(mailbox, change)` for every changed cell of a set, in mailbox order.
pub fn for_each_change(c: &SetChange, mut f: impl FnMut(u32, Change)) {
    let all = &(&c.gained | &c.lost) | &c.via_changed;
    for m in &all {
        let change = if c.gained.contains(m) {
            Change::Gained
        } else if c.lost.contains(m) {
            Change::Lost
        } else {
            Change::ViaChanged
        };
        f(m, change);
    }
}

/// Writes every changed cell as Parquet to `path` (written beside it under a
/// temporary name, then renamed; readable by the owner only). Returns the rows.
pub fn write_changes(diff: &Diff, path: &Path) -> Result<u64> {
    write_file_atomically(path, |tmp| write_changes_to(diff, tmp))
}

fn write_changes_to(diff: &Diff, path: &Path) -> Result<u64> {
    let file = create_private_file(path)?;
    let mut writer: Option<ArrowWriter<std::fs::File>> = None;
    let mut rows = Rows::default();
    let mut total = 0u64;
    let mut file = Some(file);
    let mut flush =
        |rows: &mut Rows, writer: &mut Option<ArrowWriter<std::fs::File>>| -> Result<()> {
            let batch = rows.take();
            if writer.is_none() {
                // Mailbox ids and addresses are unique: a dictionary only costs time.
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_column_dictionary_enabled(ColumnPath::from("mailbox_id"), false)
                    .set_column_dictionary_enabled(ColumnPath::from("address"), false)
                    .build();
                *writer = Some(
                    ArrowWriter::try_new(file.take().expect("once"), batch.schema(), Some(props))
                        .map_err(|e| Error::parquet(path, e))?,
                );
            }
            writer
                .as_mut()
                .expect("created")
                .write(&batch)
                .map_err(|e| Error::parquet(path, e))
        };
    for c in &diff.changes {
        let app = &diff.apps[c.app as usize];
        let permission = permissions::info(c.permission).name;
        let mut failed = None;
        for_each_change(c, |m, change| {
            if failed.is_some() {
                return;
            }
            let mailbox = &diff.mailboxes[m as usize];
            rows.push(
                app,
                permission,
                mailbox,
                change,
                c.before.via(m).name(),
                c.after.via(m).name(),
            );
            total += 1;
            if rows.len() >= 64 * 1024 {
                if let Err(e) = flush(&mut rows, &mut writer) {
                    failed = Some(e);
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    if rows.len() > 0 || writer.is_none() {
        flush(&mut rows, &mut writer)?;
    }
    let file = writer
        .expect("written")
        .into_inner()
        .map_err(|e| Error::parquet(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(total)
}

/// Columns of the changes file, filled row by row (borrowing the names).
#[derive(Default)]
struct Rows<'d> {
    app_id: Vec<&'d str>,
    app_name: Vec<Option<&'d str>>,
    permission: Vec<&'static str>,
    mailbox_id: Vec<&'d str>,
    address: Vec<&'d str>,
    change: Vec<&'static str>,
    via_before: Vec<Option<&'static str>>,
    via_after: Vec<Option<&'static str>>,
}

impl<'d> Rows<'d> {
    fn len(&self) -> usize {
        self.app_id.len()
    }

    fn push(
        &mut self,
        app: &'d AppKey,
        permission: &'static str,
        mailbox: &'d MailboxKey,
        change: Change,
        via_before: Option<&'static str>,
        via_after: Option<&'static str>,
    ) {
        self.app_id.push(&app.app_id);
        self.app_name.push(app.name.as_deref());
        self.permission.push(permission);
        self.mailbox_id.push(&mailbox.id);
        self.address.push(&mailbox.address);
        self.change.push(change.as_str());
        self.via_before.push(via_before);
        self.via_after.push(via_after);
    }

    fn take(&mut self) -> RecordBatch {
        let rows = std::mem::take(self);
        let strings = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        let optional = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
        RecordBatch::try_from_iter([
            ("app_id", strings(rows.app_id)),
            ("app_name", optional(rows.app_name)),
            ("permission", strings(rows.permission)),
            ("mailbox_id", strings(rows.mailbox_id)),
            ("address", strings(rows.address)),
            ("change", strings(rows.change)),
            ("via_before", optional(rows.via_before)),
            ("via_after", optional(rows.via_after)),
        ])
        .expect("columns of equal length")
    }
}
