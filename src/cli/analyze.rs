//! `exomatrix analyze SNAPSHOT -o OUT`: the main job.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::ExitStatus;
use crate::analysis::{Analysis, AnalysisOptions};
use crate::findings::Severity;
use crate::matrix::write::{check_output, write_dataset};
use crate::policy::{Nesting, PolicyOptions};

/// How Application Access Policy scope groups are expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AapNesting {
    /// Members of nested groups count (current Microsoft documentation).
    Transitive,
    /// Only direct members count (as older reports describe).
    Direct,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Snapshot directory: <table>.csv or <table>.parquet files, mailboxes required.
    pub snapshot: PathBuf,

    /// Output directory for the dataset. It is written under a temporary name and
    /// renamed at the end, so a failed run leaves nothing behind.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,

    /// Replace OUT if it already exists and is not empty.
    #[arg(long)]
    pub force: bool,

    /// How groups that scope Application Access Policies are expanded. The summary
    /// counts the cells that would change with the other setting.
    #[arg(long, value_enum, default_value_t = AapNesting::Transitive)]
    pub aap_nesting: AapNesting,

    /// Print no summary and no findings; errors are still reported.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Validated settings of one analyze run.
struct Config {
    snapshot: PathBuf,
    output: PathBuf,
    force: bool,
    options: AnalysisOptions,
    quiet: bool,
}

impl From<AnalyzeArgs> for Config {
    fn from(args: AnalyzeArgs) -> Config {
        let aap_nesting = match args.aap_nesting {
            AapNesting::Transitive => Nesting::Transitive,
            AapNesting::Direct => Nesting::Direct,
        };
        Config {
            snapshot: args.snapshot,
            output: args.output,
            force: args.force,
            options: AnalysisOptions {
                policy: PolicyOptions { aap_nesting },
            },
            quiet: args.quiet,
        }
    }
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitStatus> {
    let config = Config::from(args);
    let started = Instant::now();
    // Refuse an occupied output before spending time on the analysis.
    check_output(&config.output, config.force)?;
    let analysis = Analysis::run(&config.snapshot, config.options)?;
    let command_line: Vec<String> = std::env::args().collect();
    let written = write_dataset(&analysis, &config.output, config.force, &command_line)?;
    if !config.quiet {
        let mut out = std::io::stdout().lock();
        print_summary(&mut out, &analysis, &written, started.elapsed())?;
    }
    Ok(ExitStatus::Success)
}

fn print_summary(
    out: &mut impl Write,
    a: &Analysis,
    written: &crate::matrix::DatasetSummary,
    total: std::time::Duration,
) -> std::io::Result<()> {
    let (mut entra_only, mut rbac_only, mut both) = (0u64, 0u64, 0u64);
    for g in &a.matrix.grants {
        let b = g.via_entra.intersection_len(&g.via_rbac);
        both += b;
        entra_only += g.via_entra.len() - b;
        rbac_only += g.via_rbac.len() - b;
    }
    let warnings = a.findings.count_severity(Severity::Warning);
    let t = &a.timings;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    writeln!(
        out,
        "exomatrix analyze: {} -> {}",
        a.snapshot.dir.display(),
        written.path.display()
    )?;
    writeln!(out, "  mailboxes       {}", a.directory.count)?;
    writeln!(
        out,
        "  groups          {} (administrative units {})",
        a.directory.groups.len(),
        a.directory.admin_units.len()
    )?;
    writeln!(out, "  apps            {}", a.model.apps.apps.len())?;
    writeln!(
        out,
        "  grants          {} app x permission pairs",
        a.matrix.grants.len()
    )?;
    writeln!(
        out,
        "  granted cells   {} (entra only {entra_only}, rbac only {rbac_only}, both {both})",
        written.cells
    )?;
    writeln!(
        out,
        "  AAP nesting     {} cells depend on nested group expansion",
        a.matrix.nesting_dependent_cells
    )?;
    writeln!(
        out,
        "  findings        {} ({warnings} warnings, {} info) in findings.parquet",
        a.findings.len(),
        a.findings.len() - warnings
    )?;
    writeln!(
        out,
        "  time            {:.1} ms (load {:.1}, directory {:.1}, scopes {:.1}, policy {:.1}, evaluate {:.1}, write {:.1})",
        ms(total),
        ms(t.load),
        ms(t.directory),
        ms(t.compile),
        ms(t.policy),
        ms(t.evaluate),
        ms(written.write_time)
    )?;
    let shown: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .take(20)
        .collect();
    if !shown.is_empty() {
        let mut err = std::io::stderr().lock();
        writeln!(err, "warnings:")?;
        for f in &shown {
            writeln!(err, "  {f}")?;
        }
        if warnings > shown.len() {
            writeln!(
                err,
                "  ... and {} more in findings.parquet",
                warnings - shown.len()
            )?;
        }
    }
    Ok(())
}
