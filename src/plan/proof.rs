//! The proof of a plan: the plan applied to the snapshot, every state analyzed,
//! and each app's cells compared with the state before.
//!
//! The states, in the order the script reaches them:
//! 1. *assigned*: the scopes and role assignments added (Entra and policies untouched);
//! 2. *consent removed*: the migrated permissions' Entra grants removed;
//! 3. *after*: the policies removed that have nothing left to narrow.
//!
//! States 1 and 2 differ from the snapshot only in the planned apps, so only
//! those apps are evaluated, against the snapshot's directory with the planned
//! filters compiled by the same compiler as every scope. State 3 is the
//! `after/` snapshot as written, loaded and analyzed from disk like any
//! snapshot, and compared with the before-state by stable keys for every app
//! ([`mod@crate::diff`]), so an error in writing it cannot hide.

use std::path::Path;
use std::sync::Arc;

use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use super::{AppPlan, Plan, Target};
use crate::analysis::{Analysis, AnalysisOptions};
use crate::diff::diff;
use crate::error::{Error, Location, Result};
use crate::filter::FilterContext;
use crate::matrix::evaluate::{evaluate_app, Grant};
use crate::matrix::{AccessSet, CellSet};
use crate::policy::permissions::{self, PermissionId};
use crate::policy::{Assignment, Model, PolicyOptions, Scope, ScopeKind};

/// The verdict on one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No cell gained or lost in any state; only entra → rbac provenance changes.
    Equivalent,
    /// Some cell is gained or lost (listed with the reason).
    Changed,
    /// The app is not migrated (see the reason); nothing about it changes.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Equivalent => "equivalent",
            Status::Changed => "changed",
            Status::Skipped => "skipped",
        }
    }
}

/// What one state did to one app's cells, per permission.
#[derive(Debug, Clone, Default)]
pub struct StateChange {
    /// (permission, mailboxes gained, mailboxes lost), only permissions with a change.
    pub changes: Vec<(PermissionId, RoaringBitmap, RoaringBitmap)>,
    /// Cells kept but now granted through RBAC instead of (or as well as) Entra.
    pub moved_to_rbac: u64,
    pub cells: u64,
}

impl StateChange {
    pub fn gained(&self) -> u64 {
        self.changes.iter().map(|(_, g, _)| g.len()).sum()
    }
    pub fn lost(&self) -> u64 {
        self.changes.iter().map(|(_, _, l)| l.len()).sum()
    }
}

/// The proof for one app.
#[derive(Debug, Clone)]
pub struct AppProof {
    pub app: u32,
    pub status: Status,
    pub reasons: Vec<String>,
    pub cells_before: u64,
    /// States 1 and 2 (in memory) and 3 (the after/ snapshot from disk).
    pub assigned: StateChange,
    pub consent_removed: StateChange,
    pub after: StateChange,
    /// Cells of the app whose presence depends on how policy groups are
    /// expanded (nested or direct): the before-state read with `--aap-nesting`
    /// the other way differs in exactly these.
    pub nesting_dependent: u64,
}

/// The proof of a whole plan.
#[derive(Debug, Clone)]
pub struct Proof {
    pub apps: Vec<AppProof>,
    /// Apps outside the plan whose cells differ in the after/ snapshot (must be none).
    pub others_changed: Vec<(String, u64, u64)>,
    pub cells_before: u64,
    pub cells_after: u64,
}

impl Proof {
    pub fn all_equivalent(&self) -> bool {
        self.others_changed.is_empty() && self.apps.iter().all(|a| a.status != Status::Changed)
    }
}

/// State 1: the before-model with the planned scopes and role assignments added.
fn with_assignments(
    model: &Model,
    plan: &Plan,
    compiled: &[Arc<crate::filter::Compiled>],
    dir_all: &RoaringBitmap,
) -> Model {
    let mut m = model.clone();
    let mut next_scope = 0;
    for app in plan.apps.iter().filter(|a| a.migrates()) {
        let scope = match &app.target {
            Target::Nobody => None,
            Target::Organization => Some((ScopeKind::Organization, Arc::new(dir_all.clone()))),
            Target::Scope(s) => {
                let c = compiled[next_scope].clone();
                next_scope += 1;
                m.scopes.push(Scope {
                    name: s.name.clone(),
                    filter: s.filter.clone(),
                    exclusive: false,
                    compiled: c.clone(),
                    source: Location::file("plan"),
                });
                Some((
                    ScopeKind::Custom(m.scopes.len() - 1),
                    Arc::new(c.bitmap.clone()),
                ))
            }
        };
        if let Some((kind, mailboxes)) = scope {
            for role in &app.roles {
                m.app_assignments[app.app as usize].push(m.assignments.len());
                m.assignments.push(Assignment {
                    name: role.name.clone(),
                    role: role.role.to_string(),
                    app: app.app,
                    permissions: vec![role.permission],
                    enabled: true,
                    scope: kind.clone(),
                    mailboxes: mailboxes.clone(),
                    source: Location::file("plan"),
                });
            }
        }
    }
    m
}

/// State 2: state 1 with the migrated permissions' Entra grants removed.
fn without_consent(mut m: Model, plan: &Plan) -> Model {
    for app in plan.apps.iter().filter(|a| a.migrates()) {
        m.entra[app.app as usize]
            .retain(|g| !app.roles.iter().any(|r| r.permission == g.permission));
    }
    m
}

/// The grants of one app in the before-matrix, by permission.
fn before_grants(analysis: &Analysis, app: u32) -> FxHashMap<PermissionId, &CellSet> {
    let grants = &analysis.matrix.grants;
    let start = grants.partition_point(|g| g.cells.app < app);
    grants[start..]
        .iter()
        .take_while(|g| g.cells.app == app)
        .map(|g| (g.cells.permission, &g.cells))
        .collect()
}

/// Compares one app's cells before and in a state.
fn compare(before: &FxHashMap<PermissionId, &CellSet>, state: &[CellSet]) -> StateChange {
    let mut out = StateChange::default();
    let empty = CellSet::default();
    let mut perms: Vec<PermissionId> = before
        .keys()
        .copied()
        .chain(state.iter().map(|s| s.permission))
        .collect();
    perms.sort_unstable();
    perms.dedup();
    for p in perms {
        let b = before.get(&p).copied().unwrap_or(&empty);
        let s = state.iter().find(|s| s.permission == p).unwrap_or(&empty);
        let (was, is) = (b.cells(), s.cells());
        out.cells += is.len();
        let gained = &is - &was;
        let lost = &was - &is;
        // Kept, but RBAC grants it now where it did not.
        out.moved_to_rbac += ((&s.rbac - &b.rbac) & &was & &is).len();
        if !gained.is_empty() || !lost.is_empty() {
            out.changes.push((p, gained, lost));
        }
    }
    out
}

fn cells_of(grants: Vec<Grant>) -> Vec<CellSet> {
    grants.into_iter().map(|g| g.cells).collect()
}

/// Proves `plan` against its before-state `analysis`; `after_dir` holds the
/// after-state snapshot written by [`super::after::write`].
pub fn prove(analysis: &Analysis, plan: &Plan, after_dir: &Path) -> Result<Proof> {
    let dir = &analysis.directory;
    let ctx = FilterContext::new(&analysis.snapshot.mailboxes, dir);
    let filters: Vec<&str> = plan
        .apps
        .iter()
        .filter(|a| a.migrates())
        .filter_map(|a| match &a.target {
            Target::Scope(s) => Some(s.filter.as_str()),
            _ => None,
        })
        .collect();
    let compiled: Vec<Arc<crate::filter::Compiled>> = ctx
        .compile_all(&filters)
        .into_iter()
        .zip(&filters)
        .map(|(c, text)| {
            c.map(Arc::new).map_err(|e| {
                Error::Query(format!(
                    "the planned filter does not compile (a bug in exomatrix; please report it): {text}\n{e}"
                ))
            })
        })
        .collect::<Result<_>>()?;

    let model = &analysis.model;
    let assigned = with_assignments(model, plan, &compiled, &dir.all);
    let consent_removed = without_consent(assigned.clone(), plan);

    // The after/ snapshot, analyzed from disk like any snapshot.
    let after = Analysis::run(
        after_dir,
        AnalysisOptions {
            policy: PolicyOptions {
                aap_nesting: plan.nesting,
            },
        },
    )?;
    let cells_after = after.matrix.cells();
    let d = diff(analysis.access_set(), AccessSet::from(after));
    let mut after_changes: FxHashMap<&str, Vec<&crate::diff::SetChange>> = FxHashMap::default();
    for c in &d.changes {
        after_changes
            .entry(d.apps[c.app as usize].app_id.as_str())
            .or_default()
            .push(c);
    }
    let planned: rustc_hash::FxHashSet<&str> = plan
        .apps
        .iter()
        .map(|a| model.apps.apps[a.app as usize].app_id.as_str())
        .collect();
    let mut others_changed: Vec<(String, u64, u64)> = after_changes
        .iter()
        .filter(|(id, _)| !planned.contains(*id))
        .filter_map(|(id, changes)| {
            let gained: u64 = changes.iter().map(|c| c.gained.len()).sum();
            let lost: u64 = changes.iter().map(|c| c.lost.len()).sum();
            (gained + lost > 0).then(|| (id.to_string(), gained, lost))
        })
        .collect();
    others_changed.sort();

    let apps = plan
        .apps
        .iter()
        .map(|p| {
            let before = before_grants(analysis, p.app);
            let cells_before = before.values().map(|c| c.len()).sum();
            let (_, nesting_dependent) = evaluate_app(model, dir, p.app);
            let s1 = compare(&before, &cells_of(evaluate_app(&assigned, dir, p.app).0));
            let s2 = compare(
                &before,
                &cells_of(evaluate_app(&consent_removed, dir, p.app).0),
            );
            let s3 = after_state(
                &before,
                &after_changes,
                &model.apps.apps[p.app as usize].app_id,
            );
            let (status, reasons) = verdict(p, &s1, &s2, &s3);
            AppProof {
                app: p.app,
                status,
                reasons,
                cells_before,
                assigned: s1,
                consent_removed: s2,
                after: s3,
                nesting_dependent,
            }
        })
        .collect();
    Ok(Proof {
        apps,
        others_changed,
        cells_before: analysis.matrix.cells(),
        cells_after,
    })
}

/// One app's after-state from the diff of the after/ snapshot.
fn after_state(
    before: &FxHashMap<PermissionId, &CellSet>,
    changes: &FxHashMap<&str, Vec<&crate::diff::SetChange>>,
    app_id: &str,
) -> StateChange {
    let mut out = StateChange {
        cells: before.values().map(|c| c.len()).sum(),
        ..StateChange::default()
    };
    for c in changes.get(app_id).into_iter().flatten() {
        out.cells = out.cells + c.gained.len() - c.lost.len();
        out.moved_to_rbac += ((&c.after.rbac - &c.before.rbac) & &c.via_changed).len();
        if !c.gained.is_empty() || !c.lost.is_empty() {
            out.changes
                .push((c.permission, c.gained.clone(), c.lost.clone()));
        }
    }
    out.changes.sort_by_key(|c| c.0);
    out
}

/// The status of an app and the reasons for it.
fn verdict(
    p: &AppPlan,
    s1: &StateChange,
    s2: &StateChange,
    s3: &StateChange,
) -> (Status, Vec<String>) {
    let mut reasons = Vec::new();
    if let Some(why) = &p.skipped {
        reasons.push(why.clone());
    }
    for (name, s) in [
        ("with the assignments added", s1),
        ("with the Entra consent removed", s2),
    ] {
        if s.lost() > 0 {
            reasons.push(format!(
                "{} cell(s) are lost {name}, before the migration is complete",
                s.lost()
            ));
        }
    }
    for (permission, gained, lost) in &s3.changes {
        let name = permissions::info(*permission).name;
        let why = if p.blocked.contains(permission) {
            "the permission has no application role and stays on Entra + policy"
        } else if p.target_uses_deny() {
            "the DenyAccess scopes could not be expressed exactly"
        } else {
            "the scope filter does not reproduce the policies' allow set"
        };
        reasons.push(format!(
            "{name}: {} gained, {} lost: {why}",
            gained.len(),
            lost.len()
        ));
    }
    let changed = s1.gained() + s1.lost() + s2.gained() + s2.lost() + s3.gained() + s3.lost() > 0;
    let status = if changed {
        Status::Changed
    } else if p.skipped.is_some() {
        Status::Skipped
    } else {
        Status::Equivalent
    };
    (status, reasons)
}

impl AppPlan {
    fn target_uses_deny(&self) -> bool {
        matches!(&self.target, Target::Scope(s) if s.uses_deny)
    }
}

/// `proof.json`: per app the status, reasons, cell counts, the exact cells
/// gained and lost (by ExternalDirectoryObjectId), the scope filter and roles.
pub fn to_json(analysis: &Analysis, plan: &Plan, proof: &Proof) -> serde_json::Value {
    use serde_json::json;
    let model = &analysis.model;
    let dir = &analysis.directory;
    let policy_names = |ids: &[usize]| -> Vec<String> {
        ids.iter()
            .map(|&i| model.policies[i].name.clone())
            .collect()
    };
    let removed = plan.removed_policies();
    let state = |s: &StateChange| json!({"cells": s.cells, "gained": s.gained(), "lost": s.lost()});
    let apps: Vec<serde_json::Value> = plan
        .apps
        .iter()
        .zip(&proof.apps)
        .map(|(p, a)| {
            let info = &model.apps.apps[p.app as usize];
            let target = match &p.target {
                Target::Nobody => json!({"kind": "nobody"}),
                Target::Organization => json!({"kind": "organization"}),
                Target::Scope(s) => json!({
                    "kind": "scope",
                    "scope_name": s.name,
                    "filter": s.filter,
                    "group_terms": s.groups,
                    "mailbox_terms": s.mailboxes,
                    "relies_on_undocumented_deny_form": s.uses_deny,
                }),
            };
            let (kept, gone): (Vec<usize>, Vec<usize>) = p
                .own_policies
                .iter()
                .chain(&p.star_policies)
                .partition(|i| removed.binary_search(i).is_err());
            let ids = |set: &RoaringBitmap| -> Vec<String> {
                set.iter().map(|m| dir.mailbox_id(m)).collect()
            };
            let changes: Vec<serde_json::Value> = a
                .after
                .changes
                .iter()
                .map(|(perm, gained, lost)| {
                    json!({
                        "permission": permissions::info(*perm).name,
                        "gained": ids(gained),
                        "lost": ids(lost),
                    })
                })
                .collect();
            json!({
                "app_id": info.app_id,
                "display_name": info.display_name,
                "object_id": info.object_id,
                "status": a.status.as_str(),
                "reasons": a.reasons,
                "notes": p.notes,
                "target": target,
                "allowed_mailboxes": p.allow.len(),
                "roles": p.roles.iter().map(|r| json!({
                    "permission": permissions::info(r.permission).name,
                    "role": r.role,
                    "assignment": r.name,
                })).collect::<Vec<_>>(),
                "blocked_permissions": p.blocked.iter().map(|&x| permissions::info(x).name).collect::<Vec<_>>(),
                "untouched_entra_permissions": p.other_entra.iter().map(|&x| permissions::info(x).name).collect::<Vec<_>>(),
                "policies_removed": policy_names(&gone),
                "policies_kept": policy_names(&kept),
                "cells": {
                    "before": a.cells_before,
                    "assigned": state(&a.assigned),
                    "consent_removed": state(&a.consent_removed),
                    "after": state(&a.after),
                    "moved_to_rbac": a.after.moved_to_rbac,
                    "nesting_dependent": a.nesting_dependent,
                },
                "changes": changes,
            })
        })
        .collect();
    let count = |s: Status| proof.apps.iter().filter(|a| a.status == s).count();
    json!({
        "tool": "exomatrix",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "aap_nesting": match plan.nesting {
            crate::policy::Nesting::Transitive => "transitive",
            crate::policy::Nesting::Direct => "direct",
        },
        "apps_planned": plan.apps.len(),
        "equivalent": count(Status::Equivalent),
        "changed": count(Status::Changed),
        "skipped": count(Status::Skipped),
        "all_equivalent": proof.all_equivalent(),
        "cells_before": proof.cells_before,
        "cells_after": proof.cells_after,
        "star_policies": {
            "removed": policy_names(&plan.remove_star),
            "kept": plan.keep_star.iter().map(|(i, why)| json!({
                "policy": model.policies[*i].name,
                "reason": why,
            })).collect::<Vec<_>>(),
        },
        "other_apps_changed": proof.others_changed.iter().map(|(id, g, l)| json!({
            "app_id": id, "gained": g, "lost": l,
        })).collect::<Vec<_>>(),
        "apps": apps,
    })
}
