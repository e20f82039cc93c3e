//! `exomatrix report DATASET -o report.html`: the compliance report (DESIGN §8).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::ExitStatus;
use crate::matrix::is_dataset;
use crate::output::{create_private_file, write_file_atomically};
use crate::report::{self, actions, html, markdown, ReportOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One self-contained HTML page: inline charts, sortable tables, prints cleanly.
    Html,
    /// Markdown: the same sections as tables, for a wiki or a pull request.
    Md,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A dataset written by `exomatrix analyze`.
    pub dataset: PathBuf,

    /// The report file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// An earlier dataset of the same tenant: the report adds the cells gained and
    /// lost per app and permission since then.
    #[arg(long, value_name = "OTHER_DATASET")]
    pub compare: Option<PathBuf>,

    /// A plan-migration output folder (or its proof.json): the report adds each
    /// app's migration readiness.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,

    /// Also write one CSV row per thing to fix (app, problem, severity,
    /// remediation, cells affected), for a ticketing system.
    #[arg(long, value_name = "FILE")]
    pub action_plan: Option<PathBuf>,

    /// Compare with a dataset that records another tenant.
    #[arg(long)]
    pub allow_cross_tenant: bool,

    /// Replace the output files if they exist.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitStatus> {
    for path in std::iter::once(&args.output).chain(&args.action_plan) {
        if path.exists() && !args.force {
            anyhow::bail!(
                "{} already exists; pass --force to replace it, or choose another name",
                path.display()
            );
        }
        if path.is_dir() {
            anyhow::bail!("{} is a directory; give a file name", path.display());
        }
    }
    for (flag, path) in [
        ("DATASET", Some(&args.dataset)),
        ("--compare", args.compare.as_ref()),
    ] {
        if let Some(path) = path {
            if !is_dataset(path) {
                anyhow::bail!(
                    "{flag} {} is not a dataset; run `exomatrix analyze {} -o DATASET` first and report on DATASET",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    let report = report::build(
        &args.dataset,
        &ReportOptions {
            compare: args.compare.clone(),
            plan: args.plan.clone(),
            allow_cross_tenant: args.allow_cross_tenant,
        },
    )?;
    let generated = report::utc_iso(std::time::SystemTime::now());
    let text = match args.format {
        Format::Html => html::render(&report, generated),
        Format::Md => markdown::render(&report, &generated),
    };
    write_file_atomically(&args.output, |tmp| {
        use std::io::Write;
        let mut f = create_private_file(tmp)?;
        f.write_all(text.as_bytes())
            .map_err(|e| crate::error::Error::io(tmp, e))
    })?;
    let mut summary = format!(
        "Wrote {} ({} bytes): {} apps with access, {} mailboxes reached, {} cells, {} findings.",
        args.output.display(),
        text.len(),
        report.apps_with_access,
        report.mailboxes_reached,
        report.cells,
        report.findings.len()
    );
    if let Some(path) = &args.action_plan {
        let n = actions::write(&report, path)?;
        summary += &format!("\nWrote {} ({n} actions).", path.display());
    }
    println!("{summary}");
    Ok(ExitStatus::Success)
}
