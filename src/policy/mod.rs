//! The policy model: per app, its Entra grants, its Application Access Policies
//! and its RBAC assignments, resolved against the directory.

pub mod aap;
pub mod apps;
pub mod entra;
pub mod permissions;
pub mod rbac;

pub use aap::{allow_bitmap, AapMode, Nesting, Policy, PolicyApp};
pub use apps::{App, AppLookup, AppRegistry};
pub use entra::EntraGrant;
pub use permissions::{PermissionId, CATALOGUE};
pub use rbac::{
    read_scopes_where, Assignment, Scope, ScopeColumns, ScopeKind, ScopeRef, ScopeRows,
};

use crate::directory::Directory;
use crate::error::Result;
use crate::findings::Findings;
use crate::snapshot::Snapshot;

/// Options that change the semantics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyOptions {
    pub aap_nesting: Nesting,
}

/// Everything that grants or limits access, resolved.
#[derive(Debug, Clone)]
pub struct Model {
    pub apps: AppRegistry,
    /// Entra grants per app index.
    pub entra: Vec<Vec<EntraGrant>>,
    pub policies: Vec<Policy>,
    /// Policy indices per app index (including AppId `*` policies).
    pub app_policies: Vec<Vec<usize>>,
    pub scopes: Vec<Scope>,
    pub assignments: Vec<Assignment>,
    /// Assignment indices per app index.
    pub app_assignments: Vec<Vec<usize>>,
    pub options: PolicyOptions,
}

/// Every mailbox or group identity the policy tables name (policy scopes,
/// group-scoped assignments): [`Directory::build_with`] resolves them in
/// one pass over the directory's keys, before [`Model::build`] asks about each.
pub fn recipient_identities(snapshot: &Snapshot) -> Vec<String> {
    let mut ids = aap::scope_identities(&snapshot.application_access_policies);
    ids.extend(
        rbac::group_scope_identities(&snapshot.management_role_assignments)
            .into_iter()
            .map(str::to_string),
    );
    ids
}

impl Model {
    /// Resolves grants, policies and assignments against the directory, with the
    /// management scopes already compiled (see [`rbac::ScopeRows`]).
    pub fn build(
        snapshot: &Snapshot,
        dir: &Directory,
        scopes: Vec<Scope>,
        options: PolicyOptions,
        findings: &mut Findings,
    ) -> Result<Model> {
        let mut collector = apps::AppCollector::default();
        collector.add_service_principals(&snapshot.service_principals)?;
        let grants = entra::read_grants(&snapshot.app_role_assignments, &mut collector, findings)?;
        let policies = aap::read_policies(&snapshot.application_access_policies, dir, findings)?;
        for p in &policies {
            if let aap::PolicyApp::App(id) = &p.app {
                collector.add_app_id(id);
            }
        }
        let apps = collector.finish();
        let n = apps.apps.len();

        let mut entra = vec![Vec::new(); n];
        for g in grants {
            let i = apps
                .by_app_id(&g.app_id)
                .expect("grant apps are registered");
            if !entra[i as usize]
                .iter()
                .any(|e: &EntraGrant| e.permission == g.permission)
            {
                entra[i as usize].push(g);
            }
        }
        let mut app_policies = vec![Vec::new(); n];
        for (pi, p) in policies.iter().enumerate() {
            match &p.app {
                aap::PolicyApp::Every => app_policies.iter_mut().for_each(|v| v.push(pi)),
                aap::PolicyApp::App(id) => {
                    app_policies[apps.by_app_id(id).expect("registered") as usize].push(pi)
                }
            }
        }
        let assignments = rbac::read_assignments(
            &snapshot.management_role_assignments,
            &apps,
            &scopes,
            dir,
            findings,
        )?;
        let mut app_assignments = vec![Vec::new(); n];
        for (ai, a) in assignments.iter().enumerate() {
            app_assignments[a.app as usize].push(ai);
        }
        Ok(Model {
            apps,
            entra,
            policies,
            app_policies,
            scopes,
            assignments,
            app_assignments,
            options,
        })
    }

    /// How application access policies limit an app's Entra grants.
    pub fn aap_mode(&self, app: u32) -> AapMode {
        aap::mode_of(&self.policies_of(app))
    }

    /// The policies that apply to an app.
    pub fn policies_of(&self, app: u32) -> Vec<&Policy> {
        self.app_policies[app as usize]
            .iter()
            .map(|&i| &self.policies[i])
            .collect()
    }
}
