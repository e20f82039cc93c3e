//! `plan-migration`: moves apps from Application Access Policies to RBAC for
//! Applications without changing who can read what, and proves it (DESIGN §7).
//!
//! For every app whose Entra grants of AAP-constrainable permissions are narrowed
//! by policies, the planner decides a target:
//! - one management scope whose recipient filter is the policies' allow set
//!   (§3.2): each Restrict group and every group nested under it as
//!   `MemberOfGroup -eq '<DN>'` terms (a transitive member is a direct member of
//!   some group of that closure, and `MemberOfGroup` is direct only), a mailbox
//!   scope as `ExternalDirectoryObjectId -eq '<id>'`, Deny scopes as
//!   `-and -not (...)`;
//! - one role assignment per migrated permission (`Application <P>`, §3.1);
//! - what stays: a permission with no role keeps its Entra grant and the app
//!   keeps its policies (a blocker, reported); a `*` policy goes only when no
//!   app has an AAP-constrainable Entra grant left.
//!
//! [`proof`] applies the plan to the snapshot and checks every app's cells;
//! [`script`] writes `migrate.ps1`; [`after`] writes the after-state snapshot.

pub mod after;
pub mod proof;
pub mod quote;
pub mod script;

use roaring::{MultiOps, RoaringBitmap};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::analysis::Analysis;
use crate::directory::{Directory, Recipient};
use crate::error::{Error, Result};
use crate::policy::permissions::{self, PermissionId};
use crate::policy::{allow_bitmap, Model, Nesting, PolicyApp};

use quote::opath_value;

/// Management scope and role assignment names are limited to 64 characters
/// (New-ManagementRoleAssignment -Name, New-ManagementScope -Name).
pub const MAX_NAME: usize = 64;
/// A filter past this many characters, or past [`MAX_GROUPS`] group terms, is
/// better served by one flat group: a finding proposes it.
pub const MAX_FILTER_CHARS: usize = 4_000;
pub const MAX_GROUPS: usize = 50;
/// Name prefix of everything the planner creates, so an operator can find it.
const PREFIX: &str = "aap2rbac-";

/// What the user asked to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// AppIds, service principal object ids or display names; empty: every app.
    pub apps: Vec<String>,
    /// How the policies' group scopes are read (the planned filter follows it).
    pub nesting: Nesting,
}

/// Where an app's migrated permissions reach after the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The policies allow no mailbox (an allow-list whose scopes are all empty):
    /// the Entra consent goes and no assignment replaces it.
    Nobody,
    /// The policies allow every mailbox (only Deny policies, none of which
    /// reaches anyone): assignments without a scope.
    Organization,
    /// A management scope with this recipient filter.
    Scope(ScopePlan),
}

/// The management scope planned for one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePlan {
    pub name: String,
    pub filter: String,
    /// `MemberOfGroup` terms and `ExternalDirectoryObjectId` terms (Restrict
    /// and Deny together).
    pub groups: usize,
    pub mailboxes: usize,
    /// Whether the filter holds a `-not (...)` for Deny policies, a form
    /// Microsoft does not document for RBAC for Applications.
    pub uses_deny: bool,
}

/// One role assignment planned for one migrated permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePlan {
    pub permission: PermissionId,
    pub role: &'static str,
    pub name: String,
}

/// The plan of one app.
#[derive(Debug, Clone)]
pub struct AppPlan {
    pub app: u32,
    pub target: Target,
    /// The mailboxes the policies allow (and the target reaches).
    pub allow: RoaringBitmap,
    /// The mailboxes the app's DenyAccess policies name.
    pub denied: RoaringBitmap,
    /// Permissions moved to RBAC: each gets an assignment, its Entra grant goes.
    pub roles: Vec<RolePlan>,
    /// AAP-constrainable Entra permissions with no application role: they stay
    /// on Entra + policy (blockers).
    pub blocked: Vec<PermissionId>,
    /// Entra grants that policies never narrowed; untouched, listed for review.
    pub other_entra: Vec<PermissionId>,
    /// The app's own policies (indices into the model's policies) and the `*`
    /// policies that apply to it.
    pub own_policies: Vec<usize>,
    pub star_policies: Vec<usize>,
    /// Whether the own policies are removed (nothing is left for them to narrow).
    pub remove_policies: bool,
    /// Why the app is not migrated at all, if it is not.
    pub skipped: Option<String>,
    /// What a reviewer should know: undocumented forms, long filters, empty scopes.
    pub notes: Vec<String>,
}

impl AppPlan {
    /// Whether anything about the app changes.
    pub fn migrates(&self) -> bool {
        self.skipped.is_none() && !self.roles.is_empty()
    }
}

/// The whole plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub apps: Vec<AppPlan>,
    /// `*` policies removed at the end, and those kept with the reason.
    pub remove_star: Vec<usize>,
    pub keep_star: Vec<(usize, String)>,
    pub nesting: Nesting,
}

impl Plan {
    /// Every policy the plan removes.
    pub fn removed_policies(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .apps
            .iter()
            .filter(|a| a.remove_policies)
            .flat_map(|a| a.own_policies.iter().copied())
            .chain(self.remove_star.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Whether policies narrow any AAP-constrainable Entra grant of the app.
fn narrowed(model: &Model, app: u32) -> bool {
    !model.app_policies[app as usize].is_empty()
        && model.entra[app as usize]
            .iter()
            .any(|g| permissions::info(g.permission).aap)
}

/// The apps `selectors` name (AppId, object id or display name), or every app
/// the policies narrow when there are none.
fn select_apps(model: &Model, selectors: &[String]) -> Result<Vec<u32>> {
    let all = || (0..model.apps.apps.len() as u32).filter(|&a| narrowed(model, a));
    if selectors.is_empty() {
        return Ok(all().collect());
    }
    let mut chosen = Vec::new();
    for s in selectors {
        let wanted = s.trim();
        let found: Vec<u32> = (0..model.apps.apps.len() as u32)
            .filter(|&a| {
                let app = &model.apps.apps[a as usize];
                app.app_id.eq_ignore_ascii_case(wanted)
                    || app
                        .object_id
                        .as_deref()
                        .is_some_and(|o| o.eq_ignore_ascii_case(wanted))
                    || app
                        .display_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            })
            .collect();
        match found.as_slice() {
            [] => {
                let names: Vec<String> = all()
                    .map(|a| {
                        let app = &model.apps.apps[a as usize];
                        format!("{} ({})", app.label(), app.app_id)
                    })
                    .collect();
                return Err(Error::Query(format!(
                    "--app '{wanted}' names no app of the snapshot; the apps policies narrow are: {}",
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                )));
            }
            [a] if !narrowed(model, *a) => {
                return Err(Error::Query(format!(
                    "--app '{wanted}': {} has no AAP-constrainable Entra grant narrowed by an application access policy; there is nothing to migrate",
                    model.apps.apps[*a as usize].label()
                )))
            }
            [a] => chosen.push(*a),
            several => {
                return Err(Error::Query(format!(
                    "--app '{wanted}' names {} apps ({}); give the AppId",
                    several.len(),
                    several
                        .iter()
                        .map(|&a| model.apps.apps[a as usize].app_id.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }
    chosen.sort_unstable();
    chosen.dedup();
    Ok(chosen)
}

/// Groups reached from `group` through nesting (itself included), in index order.
fn group_closure(dir: &Directory, group: u32, nesting: Nesting) -> Vec<u32> {
    if nesting == Nesting::Direct {
        return vec![group];
    }
    let mut seen = vec![false; dir.groups.len()];
    let mut stack = vec![group];
    seen[group as usize] = true;
    while let Some(g) = stack.pop() {
        for &child in &dir.groups[g as usize].direct_groups {
            if !std::mem::replace(&mut seen[child as usize], true) {
                stack.push(child);
            }
        }
    }
    (0..dir.groups.len() as u32)
        .filter(|&g| seen[g as usize])
        .collect()
}

/// The filter terms standing for a set of policy scopes: group terms first
/// (by group index), then mailbox terms (by mailbox index), each once.
fn scope_terms(
    dir: &Directory,
    scopes: &[Recipient],
    nesting: Nesting,
) -> (Vec<String>, usize, usize) {
    let mut groups: Vec<u32> = Vec::new();
    let mut mailboxes: Vec<u32> = Vec::new();
    for &scope in scopes {
        match scope {
            Recipient::Group(g) => groups.extend(group_closure(dir, g, nesting)),
            Recipient::Mailbox(m) => mailboxes.push(m),
        }
    }
    groups.sort_unstable();
    groups.dedup();
    mailboxes.sort_unstable();
    mailboxes.dedup();
    let mut terms: Vec<String> = groups
        .iter()
        .map(|&g| {
            format!(
                "MemberOfGroup -eq {}",
                opath_value(&dir.groups[g as usize].dn)
            )
        })
        .collect();
    terms.extend(mailboxes.iter().map(|&m| {
        format!(
            "ExternalDirectoryObjectId -eq {}",
            opath_value(&dir.mailbox_id(m))
        )
    }));
    (terms, groups.len(), mailboxes.len())
}

/// `a -or b -or c`, parenthesized when `wrap` and there is more than one term.
fn any_of(terms: &[String], wrap: bool) -> String {
    let joined = terms.join(" -or ");
    if wrap && terms.len() > 1 {
        format!("({joined})")
    } else {
        joined
    }
}

/// Names no longer than [`MAX_NAME`], unique among themselves and the names the
/// snapshot already uses (case-insensitively).
struct Names {
    taken: FxHashSet<String>,
}

impl Names {
    fn new(existing: impl IntoIterator<Item = String>) -> Names {
        Names {
            taken: existing.into_iter().map(|n| n.to_lowercase()).collect(),
        }
    }

    fn claim(&mut self, wanted: &str) -> String {
        let cut = |s: &str, n: usize| -> String { s.chars().take(n).collect() };
        let mut name = cut(wanted, MAX_NAME);
        let mut k = 2;
        while !self.taken.insert(name.to_lowercase()) {
            let tail = format!("~{k}");
            name = cut(wanted, MAX_NAME - tail.len()) + &tail;
            k += 1;
        }
        name
    }
}

/// Plans the migration of the selected apps of an analyzed snapshot.
pub fn plan(analysis: &Analysis, options: &PlanOptions) -> Result<Plan> {
    let model = &analysis.model;
    let dir = &analysis.directory;
    let nesting = options.nesting;
    let selected = select_apps(model, &options.apps)?;
    let existing_names = model
        .scopes
        .iter()
        .map(|s| s.name.clone())
        .chain(model.assignments.iter().map(|a| a.name.clone()));
    let mut names = Names::new(existing_names);

    let mut apps = Vec::with_capacity(selected.len());
    for app in selected {
        apps.push(plan_app(model, dir, app, nesting, &mut names));
    }

    // A `*` policy narrows every app's Entra grants: it goes only when no app,
    // planned or not, keeps an AAP-constrainable Entra grant.
    // The permissions each planned app moves to RBAC (its Entra grants of them go).
    let moved: FxHashMap<u32, Vec<PermissionId>> = apps
        .iter()
        .filter(|a| a.migrates())
        .map(|a| (a.app, a.roles.iter().map(|r| r.permission).collect()))
        .collect();
    let keeps_narrowed_grant = |a: u32| {
        let gone = moved.get(&a).map(Vec::as_slice).unwrap_or_default();
        model.entra[a as usize]
            .iter()
            .any(|g| permissions::info(g.permission).aap && !gone.contains(&g.permission))
    };
    let remaining: Vec<u32> = (0..model.apps.apps.len() as u32)
        .filter(|&a| keeps_narrowed_grant(a))
        .collect();
    let (mut remove_star, mut keep_star) = (Vec::new(), Vec::new());
    for (i, p) in model.policies.iter().enumerate() {
        if p.app != PolicyApp::Every {
            continue;
        }
        if remaining.is_empty() {
            remove_star.push(i);
        } else {
            let names: Vec<&str> = remaining
                .iter()
                .take(5)
                .map(|&a| model.apps.apps[a as usize].label())
                .collect();
            let more = remaining.len().saturating_sub(names.len());
            keep_star.push((
                i,
                format!(
                    "{} app(s) keep AAP-constrainable Entra grants it narrows: {}{}",
                    remaining.len(),
                    names.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
    }
    Ok(Plan {
        apps,
        remove_star,
        keep_star,
        nesting,
    })
}

fn plan_app(
    model: &Model,
    dir: &Directory,
    app: u32,
    nesting: Nesting,
    names: &mut Names,
) -> AppPlan {
    let info = &model.apps.apps[app as usize];
    let compact_id: String = info.app_id.chars().filter(|&c| c != '-').collect();
    let policies = model.policies_of(app);
    let (_, allow) = allow_bitmap(&policies, &dir.all, nesting);
    let (own_policies, star_policies): (Vec<usize>, Vec<usize>) = model.app_policies[app as usize]
        .iter()
        .partition(|&&i| model.policies[i].app != PolicyApp::Every);

    let mut plan = AppPlan {
        app,
        target: Target::Nobody,
        allow,
        denied: policies
            .iter()
            .filter(|p| !p.restrict)
            .map(|p| p.members(nesting))
            .union(),
        roles: Vec::new(),
        blocked: Vec::new(),
        other_entra: Vec::new(),
        own_policies,
        star_policies,
        remove_policies: false,
        skipped: None,
        notes: Vec::new(),
    };

    // The target: the allow set as a filter.
    let restricts: Vec<Recipient> = policies
        .iter()
        .filter(|p| p.restrict)
        .filter_map(|p| p.scope)
        .collect();
    let denies: Vec<Recipient> = policies
        .iter()
        .filter(|p| !p.restrict)
        .filter_map(|p| p.scope)
        .collect();
    let allow_list = policies.iter().any(|p| p.restrict);
    for p in &policies {
        if p.scope.is_none() {
            plan.notes.push(format!(
                "policy '{}' has no scope that resolves in the snapshot (or IsValid is False); like the analysis, the plan reads it as reaching nobody: check that its group really is gone before running the script",
                p.name
            ));
        }
    }
    let (allow_terms, allow_groups, allow_mailboxes) = scope_terms(dir, &restricts, nesting);
    let (deny_terms, deny_groups, deny_mailboxes) = scope_terms(dir, &denies, nesting);
    plan.target = if allow_list && allow_terms.is_empty() {
        Target::Nobody
    } else if !allow_list && deny_terms.is_empty() {
        Target::Organization
    } else {
        let filter = match (allow_terms.is_empty(), deny_terms.is_empty()) {
            (false, true) => any_of(&allow_terms, false),
            (false, false) => format!(
                "{} -and -not {}",
                any_of(&allow_terms, true),
                format_args!("({})", any_of(&deny_terms, false))
            ),
            (true, _) => format!("-not ({})", any_of(&deny_terms, false)),
        };
        let groups = allow_groups + deny_groups;
        if filter.len() > MAX_FILTER_CHARS || groups > MAX_GROUPS {
            plan.notes.push(format!(
                "the scope filter has {} characters and {groups} group terms: consider one flat mail-enabled security group holding exactly the {} allowed mailboxes, and a scope `MemberOfGroup -eq '<its DN>'`",
                filter.len(),
                plan.allow.len()
            ));
        }
        let uses_deny = !deny_terms.is_empty();
        if uses_deny {
            plan.notes.push(
                "the scope filter excludes the DenyAccess scopes with `-not (...)`: Microsoft documents no RBAC form of DenyAccess, so verify the out-of-scope samples with Test-ServicePrincipalAuthorization before removing the consent".to_string(),
            );
        }
        Target::Scope(ScopePlan {
            name: names.claim(&format!("{PREFIX}{}", info.app_id)),
            filter,
            groups,
            mailboxes: allow_mailboxes + deny_mailboxes,
            uses_deny,
        })
    };

    // The roles.
    let mut entra: Vec<PermissionId> = model.entra[app as usize]
        .iter()
        .map(|g| g.permission)
        .collect();
    entra.sort_unstable();
    entra.dedup();
    for permission in entra {
        if !permissions::info(permission).aap {
            plan.other_entra.push(permission);
            continue;
        }
        match permissions::role_for_permission(permission) {
            Some(role) => {
                let suffix = role.trim_start_matches("Application ");
                plan.roles.push(RolePlan {
                    permission,
                    role,
                    name: names.claim(&format!("{PREFIX}{compact_id}-{suffix}")),
                })
            }
            None => plan.blocked.push(permission),
        }
    }
    if !plan.blocked.is_empty() {
        let blocked: Vec<&str> = plan
            .blocked
            .iter()
            .map(|&p| permissions::info(p).name)
            .collect();
        plan.notes.push(format!(
            "{} has no application role in RBAC for Applications: it stays an Entra grant narrowed by the app's policies, which therefore stay",
            blocked.join(", ")
        ));
    }
    if !info.has_service_principal {
        plan.skipped = Some(
            "the snapshot has no service principal row for this app: New-ServicePrincipal needs its Enterprise Applications object id; export service_principals and plan again".to_string(),
        );
        plan.roles.clear();
    }
    plan.remove_policies = plan.skipped.is_none() && plan.blocked.is_empty();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_to_64_characters_and_made_unique() {
        let mut names = Names::new(["Taken".to_string()]);
        assert_eq!(names.claim("taken"), "taken~2");
        let long = "x".repeat(70);
        let first = names.claim(&long);
        let second = names.claim(&long);
        assert_eq!(first.len(), MAX_NAME);
        assert_eq!(second.len(), MAX_NAME);
        assert!(second.ends_with("~2"));
        assert_ne!(first, second);
    }

    #[test]
    fn role_assignment_names_of_every_role_fit_and_differ() {
        let mut names = Names::new([]);
        let id = "0123456789abcdef0123456789abcdef";
        let mut seen = FxHashSet::default();
        for p in 0..permissions::COUNT as PermissionId {
            if let Some(role) = permissions::role_for_permission(p) {
                let suffix = role.trim_start_matches("Application ");
                let name = names.claim(&format!("{PREFIX}{id}-{suffix}"));
                assert!(name.chars().count() <= MAX_NAME, "{name}");
                assert!(seen.insert(name.clone()), "{name}");
            }
        }
    }
}
