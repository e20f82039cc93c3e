//! `exomatrix explain SNAPSHOT --app X --mailbox M`: the reason behind one cell.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{format_table, permission_arg, ExitStatus, PolicyArgs};
use crate::explain::Explainer;
use crate::policy::permissions;

/// Exchange cmdlets whose output `--as` reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cmdlet {
    /// RBAC assignments only: RoleName, GrantedPermissions, AllowedResourceScope, ScopeType, InScope.
    #[value(name = "test-serviceprincipalauthorization")]
    TestServicePrincipalAuthorization,
    /// Application access policies only: AppId, Mailbox, AccessCheckResult.
    #[value(name = "test-applicationaccesspolicy")]
    TestApplicationAccessPolicy,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Snapshot directory.
    pub snapshot: PathBuf,

    /// The app: AppId, service principal ObjectId, or DisplayName.
    #[arg(long, value_name = "ID|NAME")]
    pub app: String,

    /// The mailbox: PrimarySmtpAddress, proxy address, ExternalDirectoryObjectId, alias or name.
    /// Optional only with --as test-serviceprincipalauthorization (InScope is then "Not Run").
    #[arg(long, value_name = "ADDRESS|ID")]
    pub mailbox: Option<String>,

    /// Explain this permission only (e.g. Mail.Read); by default every permission the app holds in any way.
    #[arg(long, value_name = "P")]
    pub permission: Option<String>,

    /// Print what an Exchange test cmdlet would print instead of the explanation.
    #[arg(long = "as", value_enum, value_name = "CMDLET")]
    pub as_cmdlet: Option<Cmdlet>,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitStatus> {
    let permission = args.permission.as_deref().map(permission_arg).transpose()?;
    if args.mailbox.is_none() && args.as_cmdlet != Some(Cmdlet::TestServicePrincipalAuthorization) {
        anyhow::bail!(
            "--mailbox is required (only --as test-serviceprincipalauthorization runs without one)"
        );
    }
    let mut ex = Explainer::load(
        &args.snapshot,
        &args.app,
        args.mailbox.as_deref(),
        args.policy.options(),
    )?;
    let answer = std::time::Instant::now();
    let mailbox = ex.mailbox;
    let mut out = std::io::stdout().lock();
    match (args.as_cmdlet, mailbox) {
        (Some(Cmdlet::TestServicePrincipalAuthorization), m) => {
            let rows: Vec<Vec<String>> = ex
                .test_service_principal_authorization(m)
                .into_iter()
                .map(|r| {
                    vec![
                        r.role_name,
                        r.granted_permissions,
                        r.allowed_resource_scope,
                        r.scope_type,
                        r.in_scope,
                    ]
                })
                .collect();
            write!(
                out,
                "{}",
                format_table(
                    &[
                        "RoleName",
                        "GrantedPermissions",
                        "AllowedResourceScope",
                        "ScopeType",
                        "InScope"
                    ],
                    &rows
                )
            )?;
        }
        (Some(Cmdlet::TestApplicationAccessPolicy), Some(m)) => {
            let app = &ex.model.apps.apps[ex.app as usize];
            let row = vec![
                app.app_id.clone(),
                ex.directory.mailbox_address(m).to_string(),
                ex.test_application_access_policy(m).to_string(),
            ];
            write!(
                out,
                "{}",
                format_table(&["AppId", "Mailbox", "AccessCheckResult"], &[row])
            )?;
        }
        (_, Some(m)) => {
            writeln!(out, "app      {}", ex.app_label())?;
            writeln!(out, "mailbox  {}", ex.mailbox_label(m))?;
            let list = match permission {
                Some(p) => vec![p],
                None => ex.relevant_permissions(),
            };
            if list.is_empty() {
                writeln!(
                    out,
                    "\nthe app holds no mailbox permission at all: no Entra grant and no RBAC assignment of an application role"
                )?;
            }
            for p in list {
                let e = ex.explain(p, m);
                writeln!(out, "\n{}: {}", permissions::info(p).name, e.verdict())?;
                for line in &e.lines {
                    writeln!(out, "  {line}")?;
                }
            }
        }
        (_, None) => unreachable!("--mailbox is checked above"),
    }
    ex.answer_time += answer.elapsed();
    eprintln!(
        "loaded the snapshot in {:.0} ms, answered in {:.0} ms",
        ex.load_time.as_secs_f64() * 1e3,
        ex.answer_time.as_secs_f64() * 1e3
    );
    // The process ends now: returning gigabytes to the allocator page by page
    // would take longer than the answer on a large tenant.
    std::mem::forget(ex);
    Ok(ExitStatus::Success)
}
