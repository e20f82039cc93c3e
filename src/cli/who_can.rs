//! `exomatrix who-can SNAPSHOT_OR_DATASET --mailbox M`: every app that reaches one mailbox.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{format_table, permission_arg, ExitStatus, PolicyArgs};
use crate::policy::permissions::{self, PermissionId};
use crate::who_can::who_can;

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

    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(args: WhoCanArgs) -> anyhow::Result<ExitStatus> {
    let wanted: Vec<PermissionId> = args
        .permission
        .iter()
        .map(|p| permission_arg(p))
        .collect::<Result<_, _>>()?;
    let mut answer = who_can(&args.path, &args.mailbox, args.policy.analysis_options())?;
    answer
        .reaches
        .retain(|r| wanted.is_empty() || wanted.contains(&r.permission));
    let rows = answer.reaches;
    let mut out = std::io::stdout().lock();
    let apps = {
        let mut ids: Vec<&str> = rows.iter().map(|r| r.app_id.as_str()).collect();
        ids.dedup();
        ids.len()
    };
    writeln!(
        out,
        "{}: reached by {apps} app(s) with {} permission(s)\n",
        answer.mailbox,
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
                r.via.name().unwrap_or("").to_string(),
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
