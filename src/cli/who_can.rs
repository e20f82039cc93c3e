//! `exomatrix who-can SNAPSHOT_OR_DATASET --mailbox M`: every app that reaches one mailbox.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::analyze::AapNesting;
use super::explain::permission_arg;
use super::ExitStatus;
use crate::analysis::{Analysis, AnalysisOptions};
use crate::diff::via_name;
use crate::error::Error;
use crate::explain::{format_table, resolve_mailbox};
use crate::matrix::read::{is_dataset, read_dataset};
use crate::policy::permissions::{self, PermissionId};
use crate::policy::PolicyOptions;

#[derive(Debug, Args)]
pub struct WhoCanArgs {
    /// A dataset written by `analyze`, or a snapshot directory (analyzed on the fly).
    pub path: PathBuf,

    /// The mailbox: PrimarySmtpAddress or ExternalDirectoryObjectId (on a snapshot
    /// also a proxy address, alias or name).
    #[arg(long, value_name = "ADDRESS|ID")]
    pub mailbox: String,

    /// Only these permissions (repeat the option for several).
    #[arg(long, value_name = "P")]
    pub permission: Vec<String>,

    /// How groups that scope application access policies are expanded (snapshots only).
    #[arg(long, value_enum, default_value_t = AapNesting::Transitive)]
    pub aap_nesting: AapNesting,
}

/// One app and permission that reaches the mailbox.
struct Row {
    app: String,
    app_id: String,
    permission: PermissionId,
    via: u8,
    /// RBAC assignments whose scope covers the mailbox (known only from a snapshot).
    assignments: Option<Vec<String>>,
}

pub fn run(args: WhoCanArgs) -> anyhow::Result<ExitStatus> {
    let wanted: Vec<PermissionId> = args
        .permission
        .iter()
        .map(|p| permission_arg(p))
        .collect::<Result<_, _>>()?;
    let keep = |p: PermissionId| wanted.is_empty() || wanted.contains(&p);
    let (label, rows) = if is_dataset(&args.path) {
        from_dataset(&args, &keep)?
    } else {
        from_snapshot(&args, &keep)?
    };
    let mut out = std::io::stdout().lock();
    let apps = {
        let mut ids: Vec<&str> = rows.iter().map(|r| r.app_id.as_str()).collect();
        ids.dedup();
        ids.len()
    };
    writeln!(
        out,
        "{label}: reached by {apps} app(s) with {} permission(s)\n",
        rows.len()
    )?;
    let with_assignments = rows.iter().any(|r| r.assignments.is_some());
    let mut headers = vec!["App", "AppId", "Permission", "Via"];
    if with_assignments {
        headers.push("RbacAssignments");
    }
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            let mut cells = vec![
                r.app,
                r.app_id,
                permissions::info(r.permission).name.to_string(),
                via_name(r.via).unwrap_or("").to_string(),
            ];
            if with_assignments {
                cells.push(r.assignments.unwrap_or_default().join(", "));
            }
            cells
        })
        .collect();
    write!(out, "{}", format_table(&headers, &table))?;
    Ok(ExitStatus::Success)
}

fn from_dataset(
    args: &WhoCanArgs,
    keep: &dyn Fn(PermissionId) -> bool,
) -> anyhow::Result<(String, Vec<Row>)> {
    let set = read_dataset(&args.path)?;
    let wanted = args.mailbox.trim().to_lowercase();
    let wanted_id = crate::snapshot::parse_guid(&wanted);
    let m = set
        .mailboxes
        .iter()
        .position(|k| Some(&k.id) == wanted_id.as_ref() || k.address.eq_ignore_ascii_case(&wanted))
        .ok_or_else(|| {
            Error::Query(format!(
                "mailbox '{}' is not in the dataset {}: give its PrimarySmtpAddress or ExternalDirectoryObjectId (or use the snapshot, which also knows proxies, aliases and names)",
                args.mailbox,
                args.path.display()
            ))
        })? as u32;
    let mailbox = &set.mailboxes[m as usize];
    let label = format!("{} ({})", mailbox.address, mailbox.id);
    let rows = set
        .sets
        .iter()
        .filter(|s| keep(s.permission))
        .filter_map(|s| {
            let via = s.via(m);
            (via != 0).then(|| {
                let app = &set.apps[s.app as usize];
                Row {
                    app: app.label().to_string(),
                    app_id: app.app_id.clone(),
                    permission: s.permission,
                    via,
                    assignments: None,
                }
            })
        })
        .collect();
    Ok((label, rows))
}

fn from_snapshot(
    args: &WhoCanArgs,
    keep: &dyn Fn(PermissionId) -> bool,
) -> anyhow::Result<(String, Vec<Row>)> {
    let options = AnalysisOptions {
        policy: PolicyOptions {
            aap_nesting: args.aap_nesting.into(),
        },
    };
    let a = Analysis::run(&args.path, options)?;
    let m = resolve_mailbox(&a.directory, &args.mailbox)?;
    let label = format!(
        "{} ({})",
        a.directory.mailbox_addresses[m as usize],
        a.directory.mailbox_id(m)
    );
    let rows = a
        .matrix
        .grants
        .iter()
        .filter(|g| keep(g.permission))
        .filter_map(|g| {
            let via = (if g.via_entra.contains(m) { 1 } else { 0 })
                | (if g.via_rbac.contains(m) { 2 } else { 0 });
            (via != 0).then(|| {
                let app = &a.model.apps.apps[g.app as usize];
                let assignments = g
                    .assignments
                    .iter()
                    .map(|&i| &a.model.assignments[i])
                    .filter(|x| x.mailboxes.contains(m))
                    .map(|x| x.name.clone())
                    .collect();
                Row {
                    app: app.label().to_string(),
                    app_id: app.app_id.clone(),
                    permission: g.permission,
                    via,
                    assignments: Some(assignments),
                }
            })
        })
        .collect();
    Ok((label, rows))
}
