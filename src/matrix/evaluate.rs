//! The effective matrix, one app at a time in parallel:
//!
//! ```text
//! effective(app, P) = (entra(app, P) ? (P is AAP-constrainable ? aap(app) : ALL) : ∅) ∪ rbac(app, P)
//! ```
//! Each (app, permission) keeps the part granted via Entra and via RBAC separately,
//! so every cell's provenance is exact.

use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};

use crate::directory::Directory;
use crate::findings::{kind, Findings};
use crate::policy::aap::{allow_bitmap, AapMode, Nesting, PolicyApp};
use crate::policy::permissions::{self, PermissionId, COUNT};
use crate::policy::Model;

/// Provenance bits of a cell.
pub const VIA_ENTRA: u8 = 1;
pub const VIA_RBAC: u8 = 2;

/// Access of one app with one permission.
#[derive(Debug, Clone)]
pub struct Grant {
    pub app: u32,
    pub permission: PermissionId,
    /// The app holds an Entra grant of the permission.
    pub entra: bool,
    pub aap_mode: AapMode,
    /// Mailboxes reached through the Entra grant, after AAP.
    pub via_entra: RoaringBitmap,
    /// Mailboxes reached through RBAC assignments.
    pub via_rbac: RoaringBitmap,
    /// Indices of the enabled assignments that grant this permission.
    pub assignments: Vec<usize>,
}

impl Grant {
    /// Every mailbox the app reaches with this permission.
    pub fn effective(&self) -> RoaringBitmap {
        &self.via_entra | &self.via_rbac
    }

    /// Calls `f(mailbox, via)` for every cell, in mailbox order.
    pub fn for_each_cell(&self, mut f: impl FnMut(u32, u8)) {
        let mut e = self.via_entra.iter().peekable();
        let mut r = self.via_rbac.iter().peekable();
        loop {
            match (e.peek().copied(), r.peek().copied()) {
                (Some(a), Some(b)) if a == b => {
                    f(a, VIA_ENTRA | VIA_RBAC);
                    e.next();
                    r.next();
                }
                (Some(a), Some(b)) if a < b => {
                    f(a, VIA_ENTRA);
                    e.next();
                }
                (Some(a), None) => {
                    f(a, VIA_ENTRA);
                    e.next();
                }
                (_, Some(b)) => {
                    f(b, VIA_RBAC);
                    r.next();
                }
                (None, None) => break,
            }
        }
    }
}

/// Every (app, permission) with any grant, ordered by app then permission.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    pub grants: Vec<Grant>,
    /// Cells that appear or disappear when AAP group nesting is switched.
    pub nesting_dependent_cells: u64,
}

impl Matrix {
    pub fn cells(&self) -> u64 {
        self.grants
            .iter()
            .map(|g| g.via_entra.union_len(&g.via_rbac))
            .sum()
    }

    /// The grant of one app and permission, if any.
    pub fn grant(&self, app: u32, permission: PermissionId) -> Option<&Grant> {
        self.grants
            .binary_search_by(|g| (g.app, g.permission).cmp(&(app, permission)))
            .ok()
            .map(|i| &self.grants[i])
    }
}

/// Evaluates every app; the result is the same for any number of threads.
pub fn evaluate(model: &Model, dir: &Directory) -> Matrix {
    let per_app: Vec<(Vec<Grant>, u64)> = (0..model.apps.apps.len() as u32)
        .into_par_iter()
        .map(|app| evaluate_app(model, dir, app))
        .collect();
    let mut matrix = Matrix::default();
    for (grants, nesting) in per_app {
        matrix.grants.extend(grants);
        matrix.nesting_dependent_cells += nesting;
    }
    matrix
}

/// The grants of one app, and how many of its cells depend on AAP nesting.
pub fn evaluate_app(model: &Model, dir: &Directory, app: u32) -> (Vec<Grant>, u64) {
    let policies = model.policies_of(app);
    let nesting = model.options.aap_nesting;
    let (aap_mode, allow) = allow_bitmap(&policies, &dir.all, nesting);
    let other = match nesting {
        Nesting::Transitive => Nesting::Direct,
        Nesting::Direct => Nesting::Transitive,
    };
    let allow_other = policies
        .iter()
        .any(|p| p.members_direct != p.members_transitive)
        .then(|| allow_bitmap(&policies, &dir.all, other).1);
    let entra = &model.entra[app as usize];
    let assignments: Vec<usize> = model.app_assignments[app as usize]
        .iter()
        .copied()
        .filter(|&i| model.assignments[i].grants())
        .collect();

    let mut grants = Vec::new();
    let mut nesting_cells = 0;
    for permission in 0..COUNT as PermissionId {
        let has_entra = entra.iter().any(|g| g.permission == permission);
        let granting: Vec<usize> = assignments
            .iter()
            .copied()
            .filter(|&i| model.assignments[i].permissions.contains(&permission))
            .collect();
        if !has_entra && granting.is_empty() {
            continue;
        }
        let constrained = permissions::info(permission).aap;
        let via_entra = match (has_entra, constrained) {
            (false, _) => RoaringBitmap::new(),
            (true, true) => allow.clone(),
            (true, false) => dir.all.clone(),
        };
        let via_rbac = granting
            .iter()
            .map(|&i| model.assignments[i].mailboxes.as_ref())
            .union();
        if let (true, true, Some(alt)) = (has_entra, constrained, &allow_other) {
            let now = &via_entra | &via_rbac;
            let then = alt | &via_rbac;
            nesting_cells += now.symmetric_difference_len(&then);
        }
        grants.push(Grant {
            app,
            permission,
            entra: has_entra,
            aap_mode,
            via_entra,
            via_rbac,
            assignments: granting,
        });
    }
    (grants, nesting_cells)
}

/// Findings that need the evaluated matrix: scoped RBAC grants that an Entra
/// grant already covers, and tenant-wide access that nothing of the app's own limits.
/// Policies with AppId `*` do not count as the app's own limit.
pub fn report(model: &Model, dir: &Directory, matrix: &Matrix, findings: &mut Findings) {
    for grants in matrix.grants.chunk_by(|a, b| a.app == b.app) {
        let app = grants[0].app;
        let label = model.apps.apps[app as usize].label().to_string();
        let own_policy = model.app_policies[app as usize]
            .iter()
            .any(|&i| matches!(model.policies[i].app, PolicyApp::App(_)));
        let own_assignments = || {
            model.app_assignments[app as usize]
                .iter()
                .map(|&i| &model.assignments[i])
        };

        for g in grants.iter().filter(|g| g.entra && !own_policy) {
            let covered: Vec<&str> = g
                .assignments
                .iter()
                .map(|&i| &model.assignments[i])
                .filter(|a| a.is_scoped() && a.mailboxes.is_subset(&g.via_entra))
                .map(|a| a.name.as_str())
                .collect();
            if !covered.is_empty() {
                findings.warn(
                    kind::RBAC_SHADOWED_BY_ENTRA,
                    label.clone(),
                    format!(
                        "{} is granted in Entra without an application access policy of this app, so the scoped RBAC assignment(s) {} limit nothing; remove the Entra consent to make the scope effective",
                        permissions::info(g.permission).name,
                        covered.join(", ")
                    ),
                    None,
                );
            }
        }

        if own_policy || own_assignments().any(|a| a.is_scoped()) {
            continue;
        }
        let unlimited: Vec<&str> = grants
            .iter()
            .filter(|g| {
                g.entra
                    || g.assignments
                        .iter()
                        .any(|&i| !model.assignments[i].is_scoped())
            })
            .filter(|g| g.via_entra.union_len(&g.via_rbac) > 0)
            .map(|g| permissions::info(g.permission).name)
            .collect();
        if !unlimited.is_empty() {
            let reach = grants
                .iter()
                .map(|g| g.via_entra.union_len(&g.via_rbac))
                .max()
                .unwrap_or(0);
            findings.warn(
                kind::TENANT_WIDE_UNSCOPED,
                label,
                format!(
                    "has tenant-wide {} with no application access policy or RBAC scope of its own (reaches {reach} of {} mailboxes)",
                    unlimited.join(", "),
                    dir.count
                ),
                None,
            );
        }
    }
}
