//! `exomatrix analyze SNAPSHOT -o OUT`: the main job.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{ExitStatus, PolicyArgs};
use crate::analysis::{Analysis, AnalysisOptions, Progress};
use crate::findings::Severity;
use crate::matrix::write_dataset;
use crate::output::check_output;

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Snapshot directory: one CSV or Parquet file per table (mailboxes.csv, groups.csv, ...); only mailboxes is required.
    pub snapshot: PathBuf,

    /// Output directory for the dataset. It is written under a temporary name and
    /// renamed at the end, so a failed run leaves nothing behind.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,

    /// Replace OUT if it already exists and is not empty.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// The tenant's name in the dataset (manifest.json and a `tenant` column of the
    /// small tables), for fleets of tenants laid out as `fleet/tenant=NAME/`.
    /// Default: the initial domain in the snapshot's tenant.json, else none. A
    /// dataset with a tenant writes its access table as access/part-*.parquet.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,

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
    tenant: Option<String>,
}

impl From<AnalyzeArgs> for Config {
    fn from(args: AnalyzeArgs) -> Config {
        Config {
            snapshot: args.snapshot,
            output: args.output,
            force: args.force,
            options: args.policy.analysis_options(),
            quiet: args.quiet,
            tenant: args.tenant.map(|t| t.trim().to_string()),
        }
    }
}

/// A spinner on stderr naming the running stage; drawn only on a terminal.
struct Spinner {
    bar: Option<ProgressBar>,
    stages: std::sync::atomic::AtomicUsize,
}

impl Spinner {
    fn new(enabled: bool) -> Spinner {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Spinner {
            bar,
            stages: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Spinner {
    fn stage(&self, name: &'static str, detail: String) {
        let n = self
            .stages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if let Some(bar) = &self.bar {
            // The analysis' stages, then the write.
            let total = crate::analysis::STAGES.len() + 1;
            bar.set_message(format!("[{n}/{total}] {name}: {detail}"));
        }
    }
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitStatus> {
    let config = Config::from(args);
    if config.tenant.as_deref() == Some("") {
        anyhow::bail!(
            "--tenant needs a name, such as the tenant's initial domain (contoso.onmicrosoft.com)"
        );
    }
    let started = Instant::now();
    // Refuse an occupied output before spending time on the analysis.
    check_output(&config.output, config.force)?;
    let spinner = Spinner::new(!config.quiet);
    let analysis = Analysis::run_with(&config.snapshot, config.options, &spinner);
    let analysis = match analysis {
        Ok(a) => a,
        Err(e) => {
            spinner.finish();
            return Err(e.into());
        }
    };
    let command_line: Vec<String> = std::env::args().collect();
    let tenant = config
        .tenant
        .clone()
        .or_else(|| analysis.snapshot.tenant_name());
    spinner.stage(
        "write",
        format!(
            "{} grants into {}",
            analysis.matrix.grants.len(),
            config.output.display()
        ),
    );
    let written = write_dataset(
        &analysis.dataset_parts(&command_line, tenant.as_deref()),
        &config.output,
        config.force,
    );
    spinner.finish();
    let written = written?;
    if !config.quiet {
        let mut out = std::io::stdout().lock();
        print_summary(&mut out, &analysis, &written, started.elapsed())?;
    }
    // `analyze` is the process's one command (main runs one and exits), so the
    // operating system takes the memory back at once, where dropping the
    // analysis would free millions of bitmaps and strings one by one first
    // (0.05 s measured on a million mailboxes). Called in a loop from library
    // code, this would leak one analysis per call.
    std::mem::forget(analysis);
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
        let b = g.cells.entra.intersection_len(&g.cells.rbac);
        both += b;
        entra_only += g.cells.entra.len() - b;
        rbac_only += g.cells.rbac.len() - b;
    }
    let warnings = a.findings.count_severity(Severity::Warning);
    let errors = a.findings.count_severity(Severity::Error);
    let t = &a.timings;
    let input_bytes: u64 = a.snapshot.files.iter().map(|f| f.bytes).sum();
    let per_second = |amount: f64, d: std::time::Duration| amount / d.as_secs_f64().max(1e-9);
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
        "  findings        {} ({}{warnings} warnings, {} info) in findings.parquet",
        a.findings.len(),
        if errors > 0 {
            format!("{errors} errors, ")
        } else {
            String::new()
        },
        a.findings.len() - warnings - errors
    )?;
    writeln!(out, "  time            {} total", duration(total))?;
    writeln!(
        out,
        "    load          {:>9}  {} files, {:.0} MB/s",
        duration(t.load),
        a.snapshot.files.len(),
        per_second(input_bytes as f64 / 1e6, t.load)
    )?;
    writeln!(
        out,
        "    directory     {:>9}  {} group, {} unit memberships",
        duration(t.directory),
        a.snapshot.group_members.len(),
        a.snapshot.administrative_unit_members.len()
    )?;
    writeln!(
        out,
        "    scopes        {:>9}  {} recipient filters",
        duration(t.compile),
        a.model.scopes.len()
    )?;
    writeln!(out, "    policy        {:>9}", duration(t.policy))?;
    writeln!(
        out,
        "    evaluate      {:>9}  {} bitmaps",
        duration(t.evaluate),
        a.matrix.grants.len()
    )?;
    writeln!(
        out,
        "    write         {:>9}  access {} at {:.1} M cells/s",
        duration(written.write_time),
        duration(written.access_time),
        per_second(written.cells as f64 / 1e6, written.access_time)
    )?;
    // Errors first: each one is an assumption a reviewer has to check.
    let mut err = std::io::stderr().lock();
    for (severity, heading, total) in [
        (Severity::Error, "errors", errors),
        (Severity::Warning, "warnings", warnings),
    ] {
        let shown: Vec<_> = a
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .take(20)
            .collect();
        if shown.is_empty() {
            continue;
        }
        writeln!(err, "{heading}:")?;
        for f in &shown {
            writeln!(err, "  {f}")?;
        }
        if total > shown.len() {
            writeln!(
                err,
                "  ... and {} more in findings.parquet",
                total - shown.len()
            )?;
        }
    }
    Ok(())
}

/// A duration for people: milliseconds below ten seconds, seconds above.
fn duration(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10_000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}
