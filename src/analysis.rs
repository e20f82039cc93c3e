//! One analysis run: snapshot → directory → policy model → matrix, with timings.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::directory::Directory;
use crate::error::Result;
use crate::filter::FilterContext;
use crate::findings::Findings;
use crate::matrix::{self, Matrix};
use crate::policy::{rbac, Model, PolicyOptions};
use crate::snapshot::Snapshot;

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
        let directory = Directory::build(&snapshot, &mut findings)?;
        timings.directory = t.elapsed();

        progress.stage(
            "scopes",
            format!("{} recipient filters", snapshot.management_scopes.len()),
        );
        let t = Instant::now();
        let ctx = FilterContext::new(&snapshot.mailboxes, &directory);
        let scopes = rbac::read_scopes(&snapshot.management_scopes, &ctx, &mut findings)?;
        drop(ctx);
        timings.compile = t.elapsed();

        let t = Instant::now();
        let model =
            Model::build_with_scopes(&snapshot, &directory, scopes, options.policy, &mut findings)?;
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
