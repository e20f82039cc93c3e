//! Command-line interface: clap definitions and one module per subcommand.

pub mod analyze;
pub mod diff;
pub mod explain;
pub mod generate;
pub mod who_can;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Which application can touch which Exchange Online mailbox, with which permission, and why.
///
/// exomatrix reads a tenant snapshot (a folder of CSV or Parquet exports: mailboxes,
/// groups, service principals, Entra grants, application access policies, management
/// scopes and role assignments) and computes the effective access matrix offline.
#[derive(Debug, Parser)]
#[command(name = "exomatrix", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the whole app × permission × mailbox matrix and write it as a Parquet dataset.
    Analyze(analyze::AnalyzeArgs),
    /// Compare two datasets or snapshots: cells gained, lost, or kept through another provenance.
    Diff(diff::DiffArgs),
    /// Explain why one app can or cannot reach one mailbox, permission by permission.
    Explain(explain::ExplainArgs),
    /// List every app that can reach one mailbox, with permissions and provenance.
    WhoCan(who_can::WhoCanArgs),
    /// Write a synthetic tenant snapshot (deterministic for a seed) for demos and benchmarks.
    Generate(generate::GenerateArgs),
}

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked.
    Success,
    /// The check the user asked for failed (e.g. a diff gate).
    Failure,
    /// Something went wrong: bad input, I/O, invalid arguments.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        match status {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Generate(args) => generate::run(args),
        Command::WhoCan(args) => who_can::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
