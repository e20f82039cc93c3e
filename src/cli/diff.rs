//! `exomatrix diff BEFORE AFTER`: what a change did to access.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{ExitStatus, PolicyArgs};
use crate::analysis::access_set;
use crate::diff::{diff, write_changes, Diff};
use crate::policy::permissions;

/// Which changes make `diff` exit with status 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any cell granted in AFTER but not in BEFORE.
    Gained,
    /// Any cell granted in BEFORE but not in AFTER.
    Lost,
    /// Any change, including a cell kept through another provenance.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The state before the change: a dataset written by `analyze`, or a snapshot directory (analyzed on the fly).
    pub before: PathBuf,

    /// The state after the change: a dataset or a snapshot directory.
    pub after: PathBuf,

    /// Write every changed cell to this Parquet file (app_id, app_name, permission,
    /// mailbox_id, address, change, via_before, via_after).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,

    /// Exit with status 1 when changes of this kind exist (for CI gates).
    #[arg(long, value_enum, value_name = "KIND")]
    pub fail_on: Option<FailOn>,

    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Compare even when BEFORE and AFTER record different tenants.
    #[arg(long)]
    pub allow_cross_tenant: bool,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitStatus> {
    if let Some(out) = &args.output {
        if out.exists() && !args.force {
            anyhow::bail!(
                "{} already exists; pass --force to replace it, or choose another -o",
                out.display()
            );
        }
        if out.is_dir() {
            anyhow::bail!(
                "{} is a directory; -o takes a file name such as changes.parquet",
                out.display()
            );
        }
    }
    let options = args.policy.analysis_options();
    let (before, after) = rayon::join(
        || access_set(&args.before, options),
        || access_set(&args.after, options),
    );
    let (before, after) = (before?, after?);
    crate::matrix::read::check_same_tenant(
        &before,
        &after,
        args.allow_cross_tenant,
        "--allow-cross-tenant",
    )?;
    let d = diff(before, after);
    let rows = match &args.output {
        Some(out) => Some(write_changes(&d, out)?),
        None => None,
    };
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Text => print_text(&mut stdout, &args, &d, rows)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &to_json(&args, &d, rows))?;
            writeln!(stdout)?;
        }
    }
    let failed = match args.fail_on {
        None => false,
        Some(FailOn::Gained) => d.gained() > 0,
        Some(FailOn::Lost) => d.lost() > 0,
        Some(FailOn::Any) => d.gained() + d.lost() + d.via_changed() > 0,
    };
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// How many appeared or disappeared objects the text summary names before "and N more".
const LIST_LIMIT: usize = 10;

fn print_text(
    out: &mut impl Write,
    args: &DiffArgs,
    d: &Diff,
    rows: Option<u64>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "exomatrix diff {} -> {}",
        args.before.display(),
        args.after.display()
    )?;
    writeln!(
        out,
        "  cells       {} before, {} after: {} gained, {} lost, {} via changed",
        d.cells_before,
        d.cells_after,
        d.gained(),
        d.lost(),
        d.via_changed()
    )?;
    let names = |items: &[u32], name: &dyn Fn(u32) -> String| {
        let mut s: Vec<String> = items.iter().take(LIST_LIMIT).map(|&i| name(i)).collect();
        if items.len() > LIST_LIMIT {
            s.push(format!("and {} more", items.len() - LIST_LIMIT));
        }
        if s.is_empty() {
            String::new()
        } else {
            format!(": {}", s.join(", "))
        }
    };
    let app = |i: u32| d.apps[i as usize].describe();
    let mailbox = |i: u32| d.mailboxes[i as usize].address.clone();
    for (head, what, items, listed) in [
        (
            "apps     ",
            "appeared",
            &d.apps_appeared,
            names(&d.apps_appeared, &app),
        ),
        (
            "         ",
            "disappeared",
            &d.apps_disappeared,
            names(&d.apps_disappeared, &app),
        ),
        (
            "mailboxes",
            "appeared",
            &d.mailboxes_appeared,
            names(&d.mailboxes_appeared, &mailbox),
        ),
        (
            "         ",
            "disappeared",
            &d.mailboxes_disappeared,
            names(&d.mailboxes_disappeared, &mailbox),
        ),
    ] {
        writeln!(out, "  {head}   {} {what}{listed}", items.len())?;
    }
    if let (Some(rows), Some(path)) = (rows, &args.output) {
        writeln!(out, "  changes     {rows} rows in {}", path.display())?;
    }
    if d.changes.is_empty() {
        writeln!(out, "\nno cell changed")?;
        return Ok(());
    }
    let labels: Vec<String> = d.changes.iter().map(|c| app(c.app)).collect();
    let width = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(3)
        .max(3);
    let pwidth = d
        .changes
        .iter()
        .map(|c| permissions::info(c.permission).name.len())
        .max()
        .unwrap_or(10)
        .max(10);
    writeln!(
        out,
        "\n{:width$}  {:pwidth$}  {:>8}  {:>8}  {:>11}",
        "app", "permission", "gained", "lost", "via changed"
    )?;
    for (c, label) in d.changes.iter().zip(&labels) {
        writeln!(
            out,
            "{:width$}  {:pwidth$}  {:>8}  {:>8}  {:>11}",
            label,
            permissions::info(c.permission).name,
            c.gained.len(),
            c.lost.len(),
            c.via_changed.len()
        )?;
    }
    Ok(())
}

fn to_json(args: &DiffArgs, d: &Diff, rows: Option<u64>) -> serde_json::Value {
    let app = |i: &u32| {
        let a = &d.apps[*i as usize];
        json!({"app_id": a.app_id, "name": a.name})
    };
    let mailbox = |i: &u32| {
        let m = &d.mailboxes[*i as usize];
        json!({"id": m.id, "address": m.address})
    };
    json!({
        "before": args.before.display().to_string(),
        "after": args.after.display().to_string(),
        "cells": {
            "before": d.cells_before,
            "after": d.cells_after,
            "gained": d.gained(),
            "lost": d.lost(),
            "via_changed": d.via_changed(),
        },
        "apps": {
            "appeared": d.apps_appeared.iter().map(app).collect::<Vec<_>>(),
            "disappeared": d.apps_disappeared.iter().map(app).collect::<Vec<_>>(),
        },
        "mailboxes": {
            "appeared": d.mailboxes_appeared.iter().map(mailbox).collect::<Vec<_>>(),
            "disappeared": d.mailboxes_disappeared.iter().map(mailbox).collect::<Vec<_>>(),
        },
        "changes": d.changes.iter().map(|c| {
            let a = &d.apps[c.app as usize];
            json!({
                "app_id": a.app_id,
                "app_name": a.name,
                "permission": permissions::info(c.permission).name,
                "gained": c.gained.len(),
                "lost": c.lost.len(),
                "via_changed": c.via_changed.len(),
            })
        }).collect::<Vec<_>>(),
        "changes_file": args.output.as_ref().map(|p| p.display().to_string()),
        "changes_rows": rows,
        "fail_on": args.fail_on.map(|f| format!("{f:?}").to_lowercase()),
    })
}
