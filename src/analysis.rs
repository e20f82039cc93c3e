//! One analysis run: snapshot → directory → policy model → matrix, with timings.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::directory::Directory;
use crate::error::Result;
use crate::filter::{FilterContext, MailboxRows};
use crate::findings::Findings;
use crate::matrix::{
    self, is_dataset, read_dataset, AccessSet, AppKey, DatasetParts, Input, MailboxKey, Matrix,
};
use crate::policy::{recipient_identities, Model, PolicyOptions, ScopeRows};
use crate::snapshot::Snapshot;

/// The stages an analysis reports to [`Progress`], in order.
pub const STAGES: [&str; 4] = ["load", "directory", "scopes", "evaluate"];

/// Told when each stage of an analysis starts, for a progress display.
pub trait Progress: Sync {
    /// A stage starts; `detail` says how much it has to do.
    fn stage(&self, name: &'static str, detail: String);
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &'static str, _: String) {}
}

/// Options of an analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalysisOptions {
    pub policy: PolicyOptions,
}

/// Wall time of each stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub load: Duration,
    pub directory: Duration,
    pub compile: Duration,
    pub policy: Duration,
    pub evaluate: Duration,
}

/// Everything an analysis computed.
#[derive(Debug)]
pub struct Analysis {
    pub snapshot: Snapshot,
    pub directory: Directory,
    pub model: Model,
    pub matrix: Matrix,
    pub findings: Findings,
    pub options: AnalysisOptions,
    pub timings: Timings,
}

impl Analysis {
    /// Loads a snapshot directory and evaluates the whole matrix.
    pub fn run(snapshot_dir: &Path, options: AnalysisOptions) -> Result<Analysis> {
        Self::run_with(snapshot_dir, options, &Quiet)
    }

    /// As [`Analysis::run`], telling `progress` as each stage starts.
    pub fn run_with(
        snapshot_dir: &Path,
        options: AnalysisOptions,
        progress: &dyn Progress,
    ) -> Result<Analysis> {
        progress.stage("load", snapshot_dir.display().to_string());
        let t = Instant::now();
        let snapshot = Snapshot::load(snapshot_dir)?;
        let load = t.elapsed();
        Self::from_snapshot(snapshot, options, load, progress)
    }

    /// Evaluates an already loaded snapshot.
    pub fn from_snapshot(
        snapshot: Snapshot,
        options: AnalysisOptions,
        load: Duration,
        progress: &dyn Progress,
    ) -> Result<Analysis> {
        let mut findings = Findings::default();
        let mut timings = Timings {
            load,
            ..Timings::default()
        };

        progress.stage(
            "directory",
            format!(
                "{} mailboxes, {} group memberships",
                snapshot.mailboxes.len(),
                snapshot.group_members.len()
            ),
        );
        let t = Instant::now();
        let identities = recipient_identities(&snapshot);
        let identities: Vec<&str> = identities.iter().map(String::as_str).collect();
        let mut directory = Directory::bare(&snapshot)?;
        directory.build_guid_tier();
        let directory_start = t.elapsed();

        // The scope filters are planned against the mailboxes and groups; their
        // comparisons of mailbox properties read the mailboxes table only, so
        // they could be answered while the memberships resolve. Both stages
        // keep both cores busy, and on the §6 tenants running them together
        // was no faster than one after the other, and sometimes 3-4 % slower
        // (BENCHMARKS.md), so they run one after the other, unless
        // EXOMATRIX_STAGES_OVERLAP is set. A scopes table that fails its
        // checks is reported after the directory's errors either way.
        let t = Instant::now();
        let scope_rows = ScopeRows::read(&snapshot.management_scopes, &|_| true);
        let filters = scope_rows
            .as_ref()
            .map(ScopeRows::filters)
            .unwrap_or_default();
        let mut planned = FilterContext::new(&snapshot.mailboxes, &directory).plan_all(&filters);
        let mailbox_rows = MailboxRows::new(&snapshot.mailboxes, &directory);
        let scopes_start = t.elapsed();
        let mut resolve =
            || timed(|| directory.add_memberships_with(&snapshot, &identities, &mut findings));
        let mut answer = || timed(|| planned.answer_properties(&mailbox_rows));
        // One after the other, each stage's time is what it costs alone, as
        // DESIGN §6 budgets it, and a membership table in error stops the run
        // before the scopes are answered; overlapped, each is its own wall time.
        let (memberships_time, answers_time) = match std::env::var_os(STAGES_OVERLAP) {
            Some(_) => {
                let ((memberships, memberships_time), ((), answers_time)) =
                    rayon::join(resolve, answer);
                memberships?;
                (memberships_time, answers_time)
            }
            None => {
                let (memberships, memberships_time) = resolve();
                memberships?;
                (memberships_time, answer().1)
            }
        };
        timings.directory = directory_start + memberships_time;

        progress.stage(
            "scopes",
            format!("{} recipient filters", snapshot.management_scopes.len()),
        );
        let t = Instant::now();
        let ctx = FilterContext::new(&snapshot.mailboxes, &directory);
        let scopes = scope_rows?.compiled(ctx.finish(planned), &mut findings)?;
        timings.compile = scopes_start + answers_time + t.elapsed();

        let t = Instant::now();
        let model = Model::build(&snapshot, &directory, scopes, options.policy, &mut findings)?;
        timings.policy = t.elapsed();

        progress.stage("evaluate", format!("{} apps", model.apps.apps.len()));
        let t = Instant::now();
        let matrix = matrix::evaluate(&model, &directory);
        matrix::evaluate::report(&model, &directory, &matrix, &mut findings);
        timings.evaluate = t.elapsed();

        Ok(Analysis {
            snapshot,
            directory,
            model,
            matrix,
            findings,
            options,
            timings,
        })
    }
}

/// The environment variable that makes the directory resolve memberships
/// while the scopes' comparisons of mailbox properties are answered, instead
/// of one after the other (to compare the two on another machine).
pub const STAGES_OVERLAP: &str = "EXOMATRIX_STAGES_OVERLAP";

/// `f`'s result and the wall time it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

impl Analysis {
    /// The parts `analyze` writes a dataset from; `command_line` goes to the
    /// manifest, `tenant` to the manifest and the small tables.
    pub fn dataset_parts<'a>(
        &'a self,
        command_line: &'a [String],
        tenant: Option<&'a str>,
    ) -> DatasetParts<'a> {
        let t = &self.timings;
        DatasetParts {
            directory: &self.directory,
            model: &self.model,
            matrix: &self.matrix,
            findings: &self.findings,
            snapshot: &self.snapshot.dir,
            inputs: self
                .snapshot
                .files
                .iter()
                .map(|f| Input {
                    table: f.table,
                    path: &f.path,
                    bytes: f.bytes,
                    rows: f.rows,
                    sha256: &f.sha256,
                })
                .collect(),
            stages: vec![
                ("load", t.load),
                ("directory", t.directory),
                ("compile_scopes", t.compile),
                ("policy", t.policy),
                ("evaluate", t.evaluate),
            ],
            command_line,
            tenant,
            tenant_file: self.snapshot.tenant.as_ref(),
        }
    }
}

impl Analysis {
    /// The matrix keyed for comparison, the bitmaps copied (see the `From`
    /// impl to move them instead).
    pub fn access_set(&self) -> AccessSet {
        let mut set = self.access_keys();
        set.sets = self
            .matrix
            .grants
            .iter()
            .filter(|g| !g.cells.is_empty())
            .map(|g| g.cells.clone())
            .collect();
        set
    }

    /// The stable keys of the apps and mailboxes, with no cells yet.
    fn access_keys(&self) -> AccessSet {
        let apps = self
            .model
            .apps
            .apps
            .iter()
            .map(|a| AppKey {
                app_id: a.app_id.clone(),
                name: a.display_name.clone(),
            })
            .collect();
        let dir = &self.directory;
        let mailboxes = dir
            .mailbox_addresses(0..dir.count as usize)
            .enumerate()
            .map(|(m, address)| MailboxKey {
                id: dir.mailbox_id(m as u32),
                address: address.to_string(),
            })
            .collect();
        AccessSet {
            source: self.snapshot.dir.clone(),
            apps,
            mailboxes,
            sets: Vec::new(),
            tenant: self.snapshot.tenant_name(),
        }
    }
}

/// The matrix of an analysis keyed for comparison (the bitmaps are moved, not copied).
impl From<Analysis> for AccessSet {
    fn from(analysis: Analysis) -> AccessSet {
        let mut set = analysis.access_keys();
        set.sets = analysis
            .matrix
            .grants
            .into_iter()
            .map(|g| g.cells)
            .filter(|cells| !cells.is_empty())
            .collect();
        set
    }
}

/// The matrix at `path`: read from a dataset written by `analyze`, or computed
/// from a snapshot directory on the fly.
pub fn access_set(path: &Path, options: AnalysisOptions) -> Result<AccessSet> {
    if is_dataset(path) {
        read_dataset(path)
    } else {
        Analysis::run(path, options).map(AccessSet::from)
    }
}
