//! The effective matrix, one app at a time in parallel:
//!
//! ```text
//! effective(app, P) = (entra(app, P) ? (P is AAP-constrainable ? aap(app) : ALL) : ∅) ∪ rbac(app, P)
//! ```
//! Each (app, permission) keeps the part granted via Entra and via RBAC separately,
//! so every cell's provenance is exact.

use rayon::prelude::*;
use roaring::{MultiOps, RoaringBitmap};

use super::cells::CellSet;
use crate::directory::Directory;
use crate::findings::{kind, Findings};
use crate::policy::permissions::{self, PermissionId, COUNT};
use crate::policy::{allow_bitmap, AapMode, Model, Nesting, PolicyApp};

/// Access of one app with one permission: its cells, and what granted them.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The cells, by provenance.
    pub cells: CellSet,
    /// The app holds an Entra grant of the permission.
    pub entra_grant: bool,
    pub aap_mode: AapMode,
    /// Indices of the enabled assignments that grant this permission.
    pub assignments: Vec<usize>,
}

impl AsRef<CellSet> for Grant {
    fn as_ref(&self) -> &CellSet {
        &self.cells
    }
}

impl AsRef<CellSet> for CellSet {
    fn as_ref(&self) -> &CellSet {
        self
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
        self.grants.iter().map(|g| g.cells.len()).sum()
    }

    /// The grant of one app and permission, if any.
    pub fn grant(&self, app: u32, permission: PermissionId) -> Option<&Grant> {
        self.grants
            .binary_search_by(|g| (g.cells.app, g.cells.permission).cmp(&(app, permission)))
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
            cells: CellSet {
                app,
                permission,
                entra: via_entra,
                rbac: via_rbac,
            },
            entra_grant: has_entra,
            aap_mode,
            assignments: granting,
        });
    }
    (grants, nesting_cells)
}

/// Findings that need the evaluated matrix: scoped RBAC grants that an Entra
/// grant already covers, and tenant-wide access that nothing of the app's own limits.
/// Policies with AppId `*` do not count as the app's own limit.
pub fn report(model: &Model, dir: &Directory, matrix: &Matrix, findings: &mut Findings) {
    for grants in matrix.grants.chunk_by(|a, b| a.cells.app == b.cells.app) {
        let app = grants[0].cells.app;
        let label = model.apps.apps[app as usize].label().to_string();
        let own_policy = model.app_policies[app as usize]
            .iter()
            .any(|&i| matches!(model.policies[i].app, PolicyApp::App(_)));
        let own_assignments = || {
            model.app_assignments[app as usize]
                .iter()
                .map(|&i| &model.assignments[i])
        };

        for g in grants.iter().filter(|g| g.entra_grant && !own_policy) {
            let covered: Vec<&str> = g
                .assignments
                .iter()
                .map(|&i| &model.assignments[i])
                .filter(|a| a.is_scoped() && a.mailboxes.is_subset(&g.cells.entra))
                .map(|a| a.name.as_str())
                .collect();
            if !covered.is_empty() {
                findings.warn(
                    kind::RBAC_SHADOWED_BY_ENTRA,
                    label.clone(),
                    format!(
                        "{} is granted in Entra without an application access policy of this app, so the scoped RBAC assignment(s) {} limit nothing; remove the Entra consent to make the scope effective",
                        permissions::info(g.cells.permission).name,
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
                g.entra_grant
                    || g.assignments
                        .iter()
                        .any(|&i| !model.assignments[i].is_scoped())
            })
            .filter(|g| !g.cells.is_empty())
            .map(|g| permissions::info(g.cells.permission).name)
            .collect();
        if !unlimited.is_empty() {
            let reach = grants.iter().map(|g| g.cells.len()).max().unwrap_or(0);
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
