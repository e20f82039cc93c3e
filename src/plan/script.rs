//! `migrate.ps1`: the plan as the PowerShell an Exchange administrator runs.
//!
//! Microsoft's documented order, one section per app: the management scope,
//! the service principal pointer (Enterprise Applications ids), the role
//! assignments, a check with `Test-ServicePrincipalAuthorization -Resource`
//! for sampled mailboxes in and out of scope; then, after the permission cache
//! has caught up (up to two hours), the Entra consent and the policies go.
//! The two halves are the script's stages (`-Stage Add`, `-Stage Remove`), and
//! nothing changes without `-Apply`: every cmdlet that writes gets
//! `-WhatIf:$DryRun`. Every removal is preceded by a check that the object is
//! the one planned.
//!
//! Every cmdlet, parameter and output property the script uses, and what it
//! was checked against (PowerShell cannot run where exomatrix is built; only
//! the syntax is checked, by CI's tree-sitter parse of the golden script):
//! - `New-ManagementScope -Name -RecipientRestrictionFilter`: learn.microsoft.com
//!   powershell/module/exchange/new-managementscope (RecipientFilter parameter set).
//! - `Get-ManagementScope -Identity`, property `RecipientFilter`: the
//!   ManagementScope.RecipientFilter property (Exchange Server API reference) and
//!   Set-ManagementScope's `[-Identity] <ManagementScopeIdParameter>`.
//! - `New-ServicePrincipal -AppId -ObjectId -DisplayName`: .../exchange/new-serviceprincipal;
//!   its syntax block also lists `-ServiceId`, but its example creates a pointer
//!   with -AppId and -ObjectId only, which the script follows.
//! - `Get-ServicePrincipal -Identity`, property `AppId`: Set-ServicePrincipal's
//!   `[-Identity] <ServicePrincipalIdParameter>` example (an object id) and
//!   Microsoft365DSC's EXOServicePrincipal resource (Identity, AppId).
//! - `New-ManagementRoleAssignment -Name -Role -App -CustomResourceScope`:
//!   Microsoft365DSC's MSFT_EXOManagementRoleAssignment schema (App is the
//!   ServiceId GUID from Get-ServicePrincipal, the Entra object id in the
//!   documented example; Name at most 64 characters).
//! - `Get-ManagementRoleAssignment -Identity`: .../exchange/get-managementroleassignment
//!   (`[[-Identity] <RoleAssignmentIdParameter>]`).
//! - `Test-ServicePrincipalAuthorization -Identity -Resource`, properties
//!   `RoleName`, `InScope`: .../exchange/test-serviceprincipalauthorization (its
//!   example output table).
//! - `Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId -All`, properties
//!   `Id`, `AppRoleId`, `PrincipalId`: .../microsoft.graph.applications/
//!   get-mgserviceprincipalapproleassignment (List parameter set) and the Graph
//!   appRoleAssignment resource; `Remove-MgServicePrincipalAppRoleAssignment
//!   -ServicePrincipalId -AppRoleAssignmentId`: .../remove-mgserviceprincipalapproleassignment.
//! - `Get-ApplicationAccessPolicy -Identity`, properties `AppId`, `AccessRight`:
//!   .../exchange/get-applicationaccesspolicy (its examples select AccessRight)
//!   and Microsoft365DSC's EXOApplicationAccessPolicy (AppID, AccessRight); the
//!   export script reads the same properties. `Remove-ApplicationAccessPolicy
//!   -Identity -Confirm:$false`: .../exchange/remove-applicationaccesspolicy.
//! - `-WhatIf`, `-Confirm`, `-ErrorAction`: common parameters of every cmdlet above.

use std::fmt::Write as _;

use super::quote::{powershell_comment, powershell_string as q};
use super::{AppPlan, Plan, Target};
use crate::analysis::Analysis;
use crate::policy::permissions;
use crate::policy::Policy;

/// Mailboxes sampled in and out of each scope for the verification step.
const SAMPLES: usize = 2;

/// The `Identity` of a policy as the snapshot lists it (what
/// Remove-ApplicationAccessPolicy takes).
fn policy_identity(analysis: &Analysis, policy: &Policy) -> Option<String> {
    let table = &analysis.snapshot.application_access_policies;
    let col = table.column(&["Identity"])?;
    let line = policy.source.line?;
    let row = table.lines.iter().position(|&l| l == line)?;
    col.get(row).map(str::to_string)
}

/// Up to [`SAMPLES`] addresses of `set`, in mailbox order.
fn sample(analysis: &Analysis, set: impl Iterator<Item = u32>) -> Vec<&str> {
    set.take(SAMPLES)
        .map(|m| analysis.directory.mailbox_address(m))
        .collect()
}

const PREAMBLE: &str = r#"[CmdletBinding()]
param(
    # Add: scopes, service principal pointers, role assignments, verification.
    # Remove: verification again, then the Entra consent and the policies.
    [ValidateSet('Add', 'Remove')]
    [string]$Stage = 'Add',

    # Make the changes. Without it every cmdlet that writes runs with -WhatIf.
    [switch]$Apply
)

$ErrorActionPreference = 'Stop'
$DryRun = -not $Apply.IsPresent

# Stops the script when an object is not the one the plan was made for.
function Confirm-Planned {
    param([bool]$Condition, [string]$Message)
    if (-not $Condition) {
        throw "Not as planned: $Message. Nothing further was changed; take a new snapshot and plan again."
    }
}

# Checks with Test-ServicePrincipalAuthorization (which bypasses the permission
# cache and ignores Entra grants) that a role reaches a mailbox, or does not.
function Test-PlannedScope {
    param([string]$ServicePrincipal, [string]$Mailbox, [string]$Role, [bool]$Expected)
    $rows = @(Test-ServicePrincipalAuthorization -Identity $ServicePrincipal -Resource $Mailbox |
        Where-Object { $_.RoleName -eq $Role })
    $inScope = @($rows | Where-Object { $_.InScope -eq $true }).Count -gt 0
    Confirm-Planned ($inScope -eq $Expected) "$Role reaches $Mailbox is $inScope, the plan expects $Expected"
    Write-Host "  verified: $Role InScope=$inScope for $Mailbox"
}

if ($DryRun) {
    Write-Host "Dry run (-WhatIf): nothing is changed. Run with -Apply to make the changes."
}
"#;

/// The whole script.
pub fn render(analysis: &Analysis, plan: &Plan, snapshot_name: &str) -> String {
    let model = &analysis.model;
    let migrating: Vec<&AppPlan> = plan.apps.iter().filter(|a| a.migrates()).collect();
    let mut s = String::new();
    let _ = writeln!(s, "<#");
    let _ = writeln!(s, ".SYNOPSIS");
    let _ = writeln!(
        s,
        "    Moves {} app(s) from Application Access Policies to RBAC for Applications.",
        migrating.len()
    );
    let _ = writeln!(s);
    let _ = writeln!(s, ".DESCRIPTION");
    let _ = writeln!(
        s,
        "    Generated by exomatrix {} plan-migration from the snapshot '{}'.",
        env!("CARGO_PKG_VERSION"),
        powershell_comment(snapshot_name)
    );
    let _ = writeln!(
        s,
        "    exomatrix proved the plan against that snapshot (proof.json): read it first."
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "    Run it twice: -Stage Add creates the scopes, service principal pointers and role"
    );
    let _ = writeln!(
        s,
        "    assignments and verifies them; wait for the permission cache (up to 2 hours),"
    );
    let _ = writeln!(
        s,
        "    then -Stage Remove verifies again and removes the Entra consent and the policies."
    );
    let _ = writeln!(
        s,
        "    Without -Apply nothing changes. Needs Exchange Online PowerShell (Connect-ExchangeOnline)"
    );
    let _ = writeln!(
        s,
        "    and Microsoft Graph PowerShell (Connect-MgGraph -Scopes AppRoleAssignment.ReadWrite.All)."
    );
    let _ = writeln!(s, "#>");
    s.push_str(PREAMBLE);

    for (k, app) in migrating.iter().enumerate() {
        app_section(&mut s, analysis, app, k + 1, migrating.len());
    }
    for app in plan.apps.iter().filter(|a| !a.migrates()) {
        let info = &model.apps.apps[app.app as usize];
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# Not migrated: {} ({}): {}",
            powershell_comment(info.label()),
            info.app_id,
            powershell_comment(app.skipped.as_deref().unwrap_or("no permission has a role"))
        );
    }

    let _ = writeln!(s);
    let _ = writeln!(s, "# {}", "=".repeat(76));
    let _ = writeln!(s, "# Policies for every app (AppId *)");
    let _ = writeln!(s, "# {}", "=".repeat(76));
    for (i, why) in &plan.keep_star {
        let p = &model.policies[*i];
        let _ = writeln!(
            s,
            "# Kept: '{}': {}",
            powershell_comment(&p.name),
            powershell_comment(why)
        );
    }
    if !plan.remove_star.is_empty() {
        let _ = writeln!(s, "if ($Stage -eq 'Remove') {{");
        for &i in &plan.remove_star {
            remove_policy(&mut s, analysis, &model.policies[i], "*");
        }
        let _ = writeln!(s, "}}");
    }

    let _ = writeln!(s);
    let _ = writeln!(s, "if ($Stage -eq 'Add') {{");
    let _ = writeln!(
        s,
        "    Write-Host 'Done. RBAC for Applications caches permissions for 30 minutes to 2 hours: run -Stage Remove after that.'"
    );
    let _ = writeln!(s, "}} else {{");
    let _ = writeln!(
        s,
        "    Write-Host 'Done. Take a new snapshot and compare it with the plan: exomatrix diff BEFORE AFTER.'"
    );
    let _ = writeln!(s, "}}");
    s
}

fn app_section(s: &mut String, analysis: &Analysis, app: &AppPlan, k: usize, n: usize) {
    let model = &analysis.model;
    let info = &model.apps.apps[app.app as usize];
    let object_id = info
        .object_id
        .as_deref()
        .expect("a migrated app has a service principal");
    let label = info.label();
    let _ = writeln!(s);
    let _ = writeln!(s, "# {}", "=".repeat(76));
    let _ = writeln!(s, "# App {k} of {n}: {}", powershell_comment(label));
    let _ = writeln!(
        s,
        "#   AppId {}, service principal object id {object_id}",
        info.app_id
    );
    for r in &app.roles {
        let _ = writeln!(
            s,
            "#   Migrates {} -> role '{}' (assignment '{}')",
            permissions::info(r.permission).name,
            r.role,
            r.name
        );
    }
    for &p in &app.blocked {
        let _ = writeln!(
            s,
            "#   Stays on Entra + policy (no application role): {}",
            permissions::info(p).name
        );
    }
    for &p in &app.other_entra {
        let _ = writeln!(
            s,
            "#   Untouched Entra grant (policies never narrowed it): {}",
            permissions::info(p).name
        );
    }
    let _ = writeln!(s, "#   The policies allow {} mailbox(es).", app.allow.len());
    for note in &app.notes {
        let _ = writeln!(s, "#   Note: {}", powershell_comment(note));
    }
    let _ = writeln!(s, "# {}", "=".repeat(76));

    let sp = q(object_id);
    let in_scope = sample(analysis, app.allow.iter());
    // Out of scope: the denied mailboxes first (they test the `-not` form),
    // then any other.
    let denied = &app.denied - &app.allow;
    let others = &(&analysis.directory.all - &app.allow) - &denied;
    let out_scope = sample(analysis, denied.iter().chain(others.iter()));
    let verify = |s: &mut String, indent: &str| {
        if matches!(app.target, Target::Nobody) {
            return;
        }
        for r in &app.roles {
            for m in &in_scope {
                let _ = writeln!(
                    s,
                    "{indent}Test-PlannedScope {sp} {} {} $true",
                    q(m),
                    q(r.role)
                );
            }
            for m in &out_scope {
                let _ = writeln!(
                    s,
                    "{indent}Test-PlannedScope {sp} {} {} $false",
                    q(m),
                    q(r.role)
                );
            }
        }
    };

    // Stage Add.
    let _ = writeln!(s, "if ($Stage -eq 'Add') {{");
    let _ = writeln!(
        s,
        "    Write-Host {}",
        q(&format!("{label}: adding RBAC assignments"))
    );
    let scope_param = match &app.target {
        Target::Nobody => {
            let _ = writeln!(
                s,
                "    # The policies allow no mailbox: no assignment replaces the Entra consent."
            );
            None
        }
        Target::Organization => {
            let _ = writeln!(
                s,
                "    # The policies allow every mailbox: the assignments have no scope."
            );
            Some(String::new())
        }
        Target::Scope(scope) => {
            let _ = writeln!(s, "    # 1. The management scope: the policies' allow set.");
            let _ = writeln!(
                s,
                "    $scope = Get-ManagementScope -Identity {} -ErrorAction SilentlyContinue",
                q(&scope.name)
            );
            let _ = writeln!(s, "    if ($scope) {{");
            let _ = writeln!(
                s,
                "        if ($scope.RecipientFilter -ne {}) {{",
                q(&scope.filter)
            );
            let _ = writeln!(
                s,
                "            Write-Warning {}",
                q(&format!(
                    "scope '{}' exists with a filter written differently; the verification below decides",
                    scope.name
                ))
            );
            let _ = writeln!(s, "        }}");
            let _ = writeln!(s, "    }} else {{");
            let _ = writeln!(
                s,
                "        New-ManagementScope -Name {} -RecipientRestrictionFilter {} -WhatIf:$DryRun",
                q(&scope.name),
                q(&scope.filter)
            );
            let _ = writeln!(s, "    }}");
            Some(format!(" -CustomResourceScope {}", q(&scope.name)))
        }
    };
    if let Some(scope_param) = scope_param {
        let _ = writeln!(
            s,
            "    # 2. The service principal pointer, with the Enterprise Applications ids."
        );
        let _ = writeln!(
            s,
            "    $sp = Get-ServicePrincipal -Identity {sp} -ErrorAction SilentlyContinue"
        );
        let _ = writeln!(s, "    if ($sp) {{");
        let _ = writeln!(
            s,
            "        Confirm-Planned ($sp.AppId -eq {}) {}",
            q(&info.app_id),
            q(&format!(
                "service principal {object_id} is not the one of AppId {}",
                info.app_id
            ))
        );
        let _ = writeln!(s, "    }} else {{");
        let display = info
            .display_name
            .as_deref()
            .map(|d| format!(" -DisplayName {}", q(d)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "        New-ServicePrincipal -AppId {} -ObjectId {sp}{display} -WhatIf:$DryRun",
            q(&info.app_id)
        );
        let _ = writeln!(s, "    }}");
        let _ = writeln!(s, "    # 3. One role assignment per migrated permission.");
        for r in &app.roles {
            let _ = writeln!(
                s,
                "    if (-not (Get-ManagementRoleAssignment -Identity {} -ErrorAction SilentlyContinue)) {{",
                q(&r.name)
            );
            let _ = writeln!(
                s,
                "        New-ManagementRoleAssignment -Name {} -Role {} -App {sp}{scope_param} -WhatIf:$DryRun",
                q(&r.name),
                q(r.role)
            );
            let _ = writeln!(s, "    }}");
        }
        let _ = writeln!(
            s,
            "    # 4. Verification (after -Apply: in a dry run nothing was created)."
        );
        let _ = writeln!(s, "    if (-not $DryRun) {{");
        verify(s, "        ");
        let _ = writeln!(s, "    }}");
    }
    let _ = writeln!(s, "}}");

    // Stage Remove.
    let _ = writeln!(s, "if ($Stage -eq 'Remove') {{");
    let _ = writeln!(
        s,
        "    Write-Host {}",
        q(&format!("{label}: removing the Entra consent and policies"))
    );
    let _ = writeln!(
        s,
        "    # 5. The assignments must reach exactly the planned mailboxes before the consent goes."
    );
    verify(s, "    ");
    let _ = writeln!(
        s,
        "    # 6. The Entra consent of the migrated permissions (app role assignments)."
    );
    let _ = writeln!(
        s,
        "    $grants = @(Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId {sp} -All)"
    );
    for r in &app.roles {
        let name = permissions::info(r.permission).name;
        match permissions::app_role_id(r.permission) {
            Some(role_id) => {
                let _ = writeln!(
                    s,
                    "    foreach ($grant in @($grants | Where-Object {{ $_.AppRoleId -eq {} }})) {{",
                    q(role_id)
                );
                let _ = writeln!(
                    s,
                    "        Confirm-Planned ($grant.PrincipalId -eq {sp}) {}",
                    q(&format!("grant {name} does not belong to {object_id}"))
                );
                let _ = writeln!(
                    s,
                    "        Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId {sp} -AppRoleAssignmentId $grant.Id -WhatIf:$DryRun"
                );
                let _ = writeln!(s, "    }}");
            }
            None => {
                let _ = writeln!(
                    s,
                    "    Write-Warning {}",
                    q(&format!(
                        "remove the Entra consent of {name} by hand: its app role id is not known to exomatrix"
                    ))
                );
            }
        }
    }
    if app.remove_policies && !app.own_policies.is_empty() {
        let _ = writeln!(s, "    # 7. The application access policies of this app.");
        for &i in &app.own_policies {
            remove_policy(s, analysis, &model.policies[i], &info.app_id);
        }
    } else if !app.own_policies.is_empty() {
        let _ = writeln!(
            s,
            "    # 7. The policies stay: they still narrow the Entra grants kept above."
        );
    }
    let _ = writeln!(s, "}}");
}

/// The guarded removal of one policy.
fn remove_policy(s: &mut String, analysis: &Analysis, policy: &Policy, app_id: &str) {
    let right = if policy.restrict {
        "RestrictAccess"
    } else {
        "DenyAccess"
    };
    let Some(identity) = policy_identity(analysis, policy) else {
        let _ = writeln!(
            s,
            "    Write-Warning {}",
            q(&format!(
                "remove policy '{}' by hand: the snapshot has no Identity for it",
                policy.name
            ))
        );
        return;
    };
    let id = q(&identity);
    let _ = writeln!(
        s,
        "    $policy = Get-ApplicationAccessPolicy -Identity {id} -ErrorAction SilentlyContinue"
    );
    let _ = writeln!(s, "    if ($policy) {{");
    let _ = writeln!(
        s,
        "        Confirm-Planned ((@($policy.AppId) -contains {}) -and $policy.AccessRight -eq {}) {}",
        q(app_id),
        q(right),
        q(&format!("policy '{identity}' is not the {right} policy of {app_id}"))
    );
    let _ = writeln!(
        s,
        "        Remove-ApplicationAccessPolicy -Identity {id} -Confirm:$false -WhatIf:$DryRun"
    );
    let _ = writeln!(s, "    }}");
}
