//! The apps of a generated tenant: service principals, Entra grants,
//! application access policies, management scopes and role assignments.

use super::super::words::*;
use super::Generator;
use crate::error::Result;
use crate::snapshot::tables::{
    APPLICATION_ACCESS_POLICIES, APP_ROLE_ASSIGNMENTS, MANAGEMENT_ROLE_ASSIGNMENTS,
    MANAGEMENT_SCOPES, SERVICE_PRINCIPALS,
};

impl Generator {
    pub(super) fn service_principals(&mut self) -> Result<()> {
        let n = self.profile.apps.max(1) as usize;
        let app_ids: Vec<String> = (0..n).map(|i| self.rng.guid(6, i as u64)).collect();
        let object_ids: Vec<String> = (0..n).map(|i| self.rng.guid(7, i as u64)).collect();
        self.apps.app_ids = app_ids;
        self.apps.object_ids = object_ids;
        // App roles in the tenant: a few apps hold tenant-wide mailbox grants, a few
        // hundred are limited by application access policies, the rest use RBAC or
        // hold only directory permissions.
        self.apps.tenant_wide = (n / 200)
            .max(1)
            .max((self.profile.tenant_wide as usize).div_ceil(GRAPH_MAILBOX_PERMISSIONS.len()))
            .min(n);
        self.apps.aap_apps = (self.profile.policies as usize * 4 / 5).clamp(1, n);
        let mut sw = self.table(SERVICE_PRINCIPALS, &["AppId", "ObjectId", "DisplayName"])?;
        for i in 0..n {
            sw.row(&[
                &self.apps.app_ids[i],
                &self.apps.object_ids[i],
                &format!("App {i:05}"),
            ])?;
        }
        sw.finish()?;
        self.rows.push((SERVICE_PRINCIPALS.name, n as u64));
        Ok(())
    }

    /// Entra grants: the tenant-wide ones first, then grants to the AAP-limited
    /// apps, and directory permissions that reach no mailbox.
    pub(super) fn entra_grants(&mut self) -> Result<()> {
        let n = self.apps.app_ids.len();
        let mut ww = self.table(
            APP_ROLE_ASSIGNMENTS,
            &[
                "AppId",
                "PrincipalId",
                "ResourceAppId",
                "ResourceDisplayName",
                "AppRoleId",
                "Permission",
            ],
        )?;
        let graph = crate::policy::permissions::GRAPH_APP_ID;
        let exchange = crate::policy::permissions::EXCHANGE_APP_ID;
        let total = self.profile.entra_grants.max(self.profile.tenant_wide) as usize;
        for g in 0..total {
            let (app, permission, resource) = match g % 100 {
                // The first grants are the tenant-wide ones: distinct (app, permission) pairs.
                _ if g < self.profile.tenant_wide as usize => (
                    g % self.apps.tenant_wide,
                    GRAPH_MAILBOX_PERMISSIONS
                        [g / self.apps.tenant_wide % GRAPH_MAILBOX_PERMISSIONS.len()],
                    graph,
                ),
                1..=8 => (
                    self.apps.tenant_wide + self.rng.below(self.apps.aap_apps as u64) as usize,
                    GRAPH_MAILBOX_PERMISSIONS[self.rng.skewed(GRAPH_MAILBOX_PERMISSIONS.len())],
                    graph,
                ),
                9 if g % 2000 == 9 => (
                    g / 2000 % self.apps.tenant_wide,
                    "full_access_as_app",
                    exchange,
                ),
                _ => (
                    self.rng.below(n as u64) as usize,
                    NON_MAILBOX_PERMISSIONS[self.rng.skewed(NON_MAILBOX_PERMISSIONS.len())],
                    graph,
                ),
            };
            let app = app % n;
            let resource_name = if resource == graph {
                "Microsoft Graph"
            } else {
                "Office 365 Exchange Online"
            };
            // Half the rows name the client by AppId, half by service principal object id only.
            let (a, o) = if g % 2 == 0 {
                (
                    self.apps.app_ids[app].as_str(),
                    self.apps.object_ids[app].as_str(),
                )
            } else {
                ("", self.apps.object_ids[app].as_str())
            };
            ww.row(&[a, o, resource, resource_name, "", permission])?;
        }
        ww.finish()?;
        self.rows.push((APP_ROLE_ASSIGNMENTS.name, total as u64));
        Ok(())
    }

    /// Every AAP app gets a RestrictAccess policy first; later ones add DenyAccess.
    pub(super) fn policies(&mut self) -> Result<()> {
        if self.varied() {
            return self.varied_policies();
        }
        let n = self.apps.app_ids.len();
        let mut pw = self.table(
            APPLICATION_ACCESS_POLICIES,
            &[
                "Identity",
                "AppId",
                "AccessRight",
                "ScopeIdentityRaw",
                "ScopeName",
                "IsValid",
            ],
        )?;
        for i in 0..self.profile.policies as usize {
            let app = (self.apps.tenant_wide + i % self.apps.aap_apps) % n;
            let deny = i >= self.apps.aap_apps; // every app gets a Restrict first, later ones add Denies
                                                // Restrict to a nested group (levels 1-3), deny a small level-0 group.
            let g = if self.groups.is_empty() {
                None
            } else if deny {
                Some(self.rng.below((self.groups.len() * 7 / 10).max(1) as u64) as usize)
            } else {
                Some(
                    self.groups.len() * 7 / 10
                        + self.rng.below((self.groups.len() * 3 / 10).max(1) as u64) as usize,
                )
            };
            let (raw, name) = match g {
                Some(g) => (
                    format!(
                        "S-1-5-21-1004336348-1177238915-682003330-{};{}",
                        20_000 + g,
                        self.groups[g].guid
                    ),
                    format!("grp-{g:05}"),
                ),
                None => (String::new(), String::new()),
            };
            let right = if deny { "DenyAccess" } else { "RestrictAccess" };
            pw.row(&[
                &format!("{}:{i}", self.apps.app_ids[app]),
                &self.apps.app_ids[app],
                right,
                &raw,
                &name,
                "True",
            ])?;
        }
        pw.finish()?;
        self.rows
            .push(("application_access_policies", self.profile.policies as u64));
        Ok(())
    }

    pub(super) fn scopes(&mut self) -> Result<()> {
        let mut cw = self.table(MANAGEMENT_SCOPES, &["Name", "RecipientFilter", "Exclusive"])?;
        for i in 0..self.profile.scopes as usize {
            let filter = self.scope_filter();
            cw.row(&[
                &format!("Scope {i:04}"),
                &filter,
                if i % 50 == 0 { "True" } else { "False" },
            ])?;
        }
        cw.finish()?;
        self.rows
            .push(("management_scopes", self.profile.scopes as u64));
        Ok(())
    }

    pub(super) fn assignments(&mut self) -> Result<()> {
        if self.varied() {
            return self.varied_assignments();
        }
        let n = self.apps.app_ids.len();
        let mut aw = self.table(
            MANAGEMENT_ROLE_ASSIGNMENTS,
            &[
                "Name",
                "Role",
                "App",
                "RoleAssigneeType",
                "CustomResourceScope",
                "RecipientAdministrativeUnitScope",
                "RecipientGroupScope",
                "Enabled",
            ],
        )?;
        let au_ids: Vec<String> = self.au_dns.iter().map(|dn| dn[3..39].to_string()).collect();
        for i in 0..self.profile.assignments as usize {
            // RBAC apps follow the AAP apps; a 10,000-app tenant has an assignment on nearly every app.
            let app = (self.apps.tenant_wide + self.apps.aap_apps + i) % n;
            let role = ROLES[self.rng.skewed(ROLES.len())];
            let (custom, au, group) = match self.rng.below(1000) {
                0..=749 if self.profile.scopes > 0 => (
                    format!("Scope {:04}", self.rng.below(self.profile.scopes as u64)),
                    String::new(),
                    String::new(),
                ),
                750..=849 if !au_ids.is_empty() => (
                    String::new(),
                    au_ids[self.rng.below(au_ids.len() as u64) as usize].clone(),
                    String::new(),
                ),
                850..=997 if !self.groups.is_empty() => (
                    String::new(),
                    String::new(),
                    self.groups[self.rng.below(self.groups.len() as u64) as usize]
                        .dn
                        .clone(),
                ),
                _ => (String::new(), String::new(), String::new()),
            };
            let enabled = if i % 97 == 0 { "False" } else { "True" };
            aw.row(&[
                &format!("{role}-{i:05}"),
                role,
                &self.apps.object_ids[app],
                "ServicePrincipal",
                &custom,
                &au,
                &group,
                enabled,
            ])?;
        }
        aw.finish()?;
        self.rows.push((
            "management_role_assignments",
            self.profile.assignments as u64,
        ));
        Ok(())
    }
}
