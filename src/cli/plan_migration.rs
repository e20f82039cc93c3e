//! `exomatrix plan-migration SNAPSHOT -o PLAN`: the move from Application Access
//! Policies to RBAC for Applications, as a script and a proof (DESIGN §7).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{format_table, ExitStatus, PolicyArgs};
use crate::analysis::Analysis;
use crate::output::{write_private_text, StagedDir};
use crate::plan::proof::{self, Status};
use crate::plan::{self, after, script, PlanOptions, Target};
use crate::policy::permissions;

#[derive(Debug, Args)]
pub struct PlanMigrationArgs {
    /// Snapshot directory of the tenant as it is now (the before-state).
    pub snapshot: PathBuf,

    /// Output directory: migrate.ps1, proof.json and after/ (the after-state as a
    /// snapshot). Written under a temporary name and renamed at the end.
    #[arg(short, long, value_name = "PLAN")]
    pub output: PathBuf,

    /// Plan only this app (AppId, service principal object id or display name);
    /// repeat for several. Default: every app whose AAP-constrainable Entra
    /// grants are narrowed by application access policies.
    #[arg(long, value_name = "ID|NAME")]
    pub app: Vec<String>,

    /// Exit with status 1 when any app is not equivalent (a cell gained or lost).
    #[arg(long)]
    pub fail_on_change: bool,

    /// Replace PLAN if it already exists and is not empty.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(args: PlanMigrationArgs) -> anyhow::Result<ExitStatus> {
    let options = args.policy.analysis_options();
    // Refuse an occupied output before spending time on the analysis.
    crate::output::check_output(&args.output, args.force)?;
    let analysis = Analysis::run(&args.snapshot, options)?;
    let plan = plan::plan(
        &analysis,
        &PlanOptions {
            apps: args.app.clone(),
            nesting: options.policy.aap_nesting,
        },
    )?;
    let staged = StagedDir::begin(&args.output, args.force)?;
    let after_dir = staged.dir().join("after");
    after::write(&analysis.snapshot, &analysis.model, &plan, &after_dir)?;
    let proof = proof::prove(&analysis, &plan, &after_dir)?;
    let snapshot_name = args
        .snapshot
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.snapshot.display().to_string());
    write_private_text(
        &staged.dir().join("migrate.ps1"),
        &script::render(&analysis, &plan, &snapshot_name),
    )?;
    let json = proof::to_json(&analysis, &plan, &proof);
    write_private_text(
        &staged.dir().join("proof.json"),
        &(serde_json::to_string_pretty(&json)? + "\n"),
    )?;
    let out = staged.commit()?;

    let mut stdout = std::io::stdout().lock();
    print_summary(&mut stdout, &analysis, &plan, &proof)?;
    writeln!(
        stdout,
        "\nWrote {0}/migrate.ps1, {0}/proof.json and {0}/after/ (the after-state snapshot).",
        out.display()
    )?;
    if args.fail_on_change && !proof.all_equivalent() {
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}

fn print_summary(
    out: &mut impl Write,
    analysis: &Analysis,
    plan: &plan::Plan,
    proof: &proof::Proof,
) -> std::io::Result<()> {
    let model = &analysis.model;
    let names = |ps: &[u8]| -> String {
        ps.iter()
            .map(|&p| permissions::info(p).name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: Vec<Vec<String>> = plan
        .apps
        .iter()
        .zip(&proof.apps)
        .map(|(p, a)| {
            let roles: Vec<u8> = p.roles.iter().map(|r| r.permission).collect();
            vec![
                model.apps.apps[p.app as usize].label().to_string(),
                a.status.as_str().to_string(),
                match &p.target {
                    Target::Nobody => "no mailbox".to_string(),
                    Target::Organization => "organization".to_string(),
                    Target::Scope(s) => format!(
                        "{} group, {} mailbox terms{}",
                        s.groups,
                        s.mailboxes,
                        if s.uses_deny { ", -not" } else { "" }
                    ),
                },
                names(&roles),
                names(&p.blocked),
                a.cells_before.to_string(),
                a.after.cells.to_string(),
                format!("+{} -{}", a.after.gained(), a.after.lost()),
                a.nesting_dependent.to_string(),
            ]
        })
        .collect();
    let count = |s: Status| proof.apps.iter().filter(|a| a.status == s).count();
    writeln!(
        out,
        "{} app(s) planned: {} equivalent, {} changed, {} skipped.",
        plan.apps.len(),
        count(Status::Equivalent),
        count(Status::Changed),
        count(Status::Skipped)
    )?;
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    write!(
        out,
        "{}",
        format_table(
            &[
                "App",
                "Status",
                "Scope",
                "To RBAC",
                "Blocked",
                "Cells before",
                "Cells after",
                "Change",
                "Nesting-dependent",
            ],
            &rows,
        )
    )?;
    for (i, why) in &plan.keep_star {
        writeln!(
            out,
            "\nPolicy '{}' (AppId *) stays: {why}.",
            model.policies[*i].name
        )?;
    }
    for (p, a) in plan.apps.iter().zip(&proof.apps) {
        for r in &a.reasons {
            writeln!(out, "{}: {r}", model.apps.apps[p.app as usize].label())?;
        }
    }
    if !proof.others_changed.is_empty() {
        writeln!(
            out,
            "\n{} app(s) outside the plan changed in after/ (a bug in exomatrix; please report it).",
            proof.others_changed.len()
        )?;
    }
    Ok(())
}
