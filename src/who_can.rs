//! Every app that reaches one mailbox, with permission and provenance: from a
//! dataset written by `analyze`, or from a snapshot analyzed on the fly (which
//! also names the RBAC assignments that cover the mailbox).

use std::path::Path;

use crate::analysis::{Analysis, AnalysisOptions};
use crate::error::{Error, Result};
use crate::explain::resolve_mailbox;
use crate::matrix::{is_dataset, read_dataset, AccessSet, Via};
use crate::policy::permissions::PermissionId;
use crate::snapshot::parse_guid;

/// One app and permission that reaches the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The app's display name, or its AppId.
    pub app: String,
    pub app_id: String,
    pub permission: PermissionId,
    pub via: Via,
    /// The RBAC assignments whose scope covers the mailbox (known only from a snapshot).
    pub assignments: Option<Vec<String>>,
}

/// The answer for one mailbox.
#[derive(Debug, Clone)]
pub struct WhoCan {
    /// `address (ExternalDirectoryObjectId)`.
    pub mailbox: String,
    /// In matrix order: by app, then permission.
    pub reaches: Vec<Reach>,
}

/// Who can reach `mailbox` in the dataset or snapshot at `path`.
pub fn who_can(path: &Path, mailbox: &str, options: AnalysisOptions) -> Result<WhoCan> {
    if is_dataset(path) {
        in_dataset(&read_dataset(path)?, mailbox)
    } else {
        in_analysis(&Analysis::run(path, options)?, mailbox)
    }
}

/// Who can reach a mailbox of a dataset, named by PrimarySmtpAddress or
/// ExternalDirectoryObjectId (the only identities a dataset keeps).
pub fn in_dataset(set: &AccessSet, mailbox: &str) -> Result<WhoCan> {
    let wanted = mailbox.trim().to_lowercase();
    let wanted_id = parse_guid(&wanted);
    let m = set
        .mailboxes
        .iter()
        .position(|k| Some(&k.id) == wanted_id.as_ref() || k.address.eq_ignore_ascii_case(&wanted))
        .ok_or_else(|| {
            Error::Query(format!(
                "mailbox '{mailbox}' is not in the dataset {}: give its PrimarySmtpAddress or ExternalDirectoryObjectId (or use the snapshot, which also knows proxies, aliases and names)",
                set.source.display()
            ))
        })? as u32;
    let key = &set.mailboxes[m as usize];
    let reaches = set
        .sets
        .iter()
        .filter_map(|s| {
            let via = s.via(m);
            via.is_granted().then(|| {
                let app = &set.apps[s.app as usize];
                Reach {
                    app: app.label().to_string(),
                    app_id: app.app_id.clone(),
                    permission: s.permission,
                    via,
                    assignments: None,
                }
            })
        })
        .collect();
    Ok(WhoCan {
        mailbox: format!("{} ({})", key.address, key.id),
        reaches,
    })
}

/// Who can reach a mailbox of an analysis, named by any identity the snapshot
/// resolves.
pub fn in_analysis(a: &Analysis, mailbox: &str) -> Result<WhoCan> {
    let m = resolve_mailbox(&a.directory, mailbox)?;
    let reaches = a
        .matrix
        .grants
        .iter()
        .filter_map(|g| {
            let via = g.cells.via(m);
            via.is_granted().then(|| {
                let app = &a.model.apps.apps[g.cells.app as usize];
                let assignments = g
                    .assignments
                    .iter()
                    .map(|&i| &a.model.assignments[i])
                    .filter(|x| x.mailboxes.contains(m))
                    .map(|x| x.name.clone())
                    .collect();
                Reach {
                    app: app.label().to_string(),
                    app_id: app.app_id.clone(),
                    permission: g.cells.permission,
                    via,
                    assignments: Some(assignments),
                }
            })
        })
        .collect();
    Ok(WhoCan {
        mailbox: format!(
            "{} ({})",
            a.directory.mailbox_address(m),
            a.directory.mailbox_id(m)
        ),
        reaches,
    })
}
