//! Command-line interface: clap definitions and one module per subcommand.

pub mod analyze;
pub mod diff;
pub mod explain;
pub mod generate;
pub mod plan_migration;
pub mod report;
pub mod who_can;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analysis::AnalysisOptions;
use crate::error::Error;
use crate::policy::permissions::{self, PermissionId};
use crate::policy::{Nesting, PolicyOptions};

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
    /// Plan the move from Application Access Policies to RBAC for Applications: a script and its proof.
    PlanMigration(plan_migration::PlanMigrationArgs),
    /// Write the compliance report of a dataset: one self-contained HTML page (or Markdown).
    Report(report::ReportArgs),
    /// Write a synthetic tenant snapshot (deterministic for a seed) for demos and benchmarks.
    Generate(generate::GenerateArgs),
}

/// The options that change the semantics, for every command that analyzes a snapshot.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// How groups that scope application access policies are expanded when a
    /// snapshot is analyzed. analyze's summary counts the cells that would change
    /// with the other setting.
    #[arg(long, value_enum, default_value_t = AapNesting::Transitive)]
    pub aap_nesting: AapNesting,
}

impl PolicyArgs {
    pub fn options(&self) -> PolicyOptions {
        PolicyOptions {
            aap_nesting: self.aap_nesting.into(),
        }
    }

    pub fn analysis_options(&self) -> AnalysisOptions {
        AnalysisOptions {
            policy: self.options(),
        }
    }
}

/// How groups that scope application access policies are expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AapNesting {
    /// Members of nested groups count (current Microsoft documentation).
    Transitive,
    /// Only direct members count (as older reports describe).
    Direct,
}

impl From<AapNesting> for Nesting {
    fn from(n: AapNesting) -> Nesting {
        match n {
            AapNesting::Transitive => Nesting::Transitive,
            AapNesting::Direct => Nesting::Direct,
        }
    }
}

/// A permission name from the catalogue, or an error listing the names.
pub fn permission_arg(name: &str) -> Result<PermissionId, Error> {
    permissions::by_name(name).ok_or_else(|| {
        Error::Query(format!(
            "unknown permission '{name}'; the permissions are: {}",
            permissions::CATALOGUE
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Renders rows like PowerShell's Format-Table: headers, dashes, left-aligned columns.
pub fn format_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c:w$}"))
            .collect();
        padded.join(" ").trim_end().to_string() + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out += &line(
        headers
            .iter()
            .map(|h| "-".repeat(h.chars().count()))
            .collect(),
    );
    for row in rows {
        out += &line(row.clone());
    }
    out
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
        Command::PlanMigration(args) => plan_migration::run(args),
        Command::Report(args) => report::run(args),
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

    #[test]
    fn tables_are_left_aligned_under_dashes_like_format_table() {
        let table = format_table(
            &["App", "Via"],
            &[
                vec!["Contoso Mail Archiver".into(), "entra".into()],
                vec!["B".into(), "".into()],
            ],
        );
        assert_eq!(
            table,
            "App                   Via\n---                   ---\nContoso Mail Archiver entra\nB\n"
        );
    }

    #[test]
    fn an_unknown_permission_lists_the_catalogue() {
        assert_eq!(permission_arg("mail.read").unwrap(), 0);
        let err = permission_arg("Mail.Reed").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "unknown permission 'Mail.Reed'; the permissions are: Mail.Read, Mail.ReadBasic,"
            ),
            "{err}"
        );
    }
}
