//! `exomatrix generate`: a synthetic tenant snapshot for demos, tests and benchmarks.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::ExitStatus;
use crate::generate::{generate, Format, Profile};
use crate::output::check_output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// 2,000 mailboxes, 200 apps: generates and analyses in well under a second.
    Small,
    /// The DESIGN §6 tenant: 1,000,000 mailboxes, 10,000 apps, 20,000 groups, 200
    /// administrative units, 2,000 scopes, 15,000 assignments, 300 policies, 30,000
    /// Entra grants (about 0.8 GB of CSV).
    Large,
    /// The large tenant with every shape of DESIGN §6: 40 mailbox columns as Windows
    /// PowerShell 5.1 writes them, every identity form, wildcards anywhere over
    /// million-value columns, ordering and multi-valued comparisons (about 0.9 GB).
    Varied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// PowerShell-style CSV, every field quoted.
    Csv,
    /// Parquet, text columns.
    Parquet,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Size of the tenant; the options below override single counts.
    #[arg(long, value_enum, default_value_t = ProfileArg::Small)]
    pub profile: ProfileArg,

    /// Random seed: the same seed and sizes give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Number of mailboxes.
    #[arg(long)]
    pub mailboxes: Option<u32>,
    /// Number of applications (service principals).
    #[arg(long)]
    pub apps: Option<u32>,
    /// Number of mail-enabled groups.
    #[arg(long)]
    pub groups: Option<u32>,
    /// Number of administrative units.
    #[arg(long)]
    pub admin_units: Option<u32>,
    /// Number of management scopes.
    #[arg(long)]
    pub scopes: Option<u32>,
    /// Number of RBAC role assignments.
    #[arg(long)]
    pub assignments: Option<u32>,
    /// Number of application access policies.
    #[arg(long)]
    pub policies: Option<u32>,
    /// Number of Entra application-permission grants (most are not mailbox permissions).
    #[arg(long)]
    pub entra_grants: Option<u32>,
    /// Number of tenant-wide Entra mailbox grants (each reaches every mailbox, so
    /// this scales the matrix: large has 60, about 1M cells each).
    #[arg(long)]
    pub tenant_wide: Option<u32>,

    /// File format of the tables.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,

    /// Directory to write the snapshot into.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,

    /// Write into DIR even if it is not empty (table files are overwritten).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitStatus> {
    let base = match args.profile {
        ProfileArg::Small => Profile::SMALL,
        ProfileArg::Large => Profile::LARGE,
        ProfileArg::Varied => Profile::VARIED,
    };
    let profile = Profile {
        mailboxes: args.mailboxes.unwrap_or(base.mailboxes),
        apps: args.apps.unwrap_or(base.apps),
        groups: args.groups.unwrap_or(base.groups),
        admin_units: args.admin_units.unwrap_or(base.admin_units),
        scopes: args.scopes.unwrap_or(base.scopes),
        assignments: args.assignments.unwrap_or(base.assignments),
        policies: args.policies.unwrap_or(base.policies),
        entra_grants: args.entra_grants.unwrap_or(base.entra_grants),
        tenant_wide: args.tenant_wide.unwrap_or(base.tenant_wide),
        style: base.style,
    };
    if profile.mailboxes == 0 {
        anyhow::bail!("--mailboxes must be at least 1: a snapshot needs mailboxes");
    }
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Parquet => Format::Parquet,
    };
    check_output(&args.output, args.force)?;
    let started = Instant::now();
    let generated = generate(&args.output, profile, args.seed, format)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "exomatrix generate: {} (seed {})",
        generated.dir.display(),
        args.seed
    )?;
    for (table, rows) in &generated.rows {
        writeln!(out, "  {table:<28} {rows:>10} rows")?;
    }
    writeln!(out, "  time {:.2} s", started.elapsed().as_secs_f64())?;
    Ok(ExitStatus::Success)
}
