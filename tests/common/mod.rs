//! A small tenant builder for tests: mailboxes m0..m{n-1}, groups, apps, grants,
//! policies, scopes and assignments, written as CSV into a temporary snapshot.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

use exomatrix::analysis::{Analysis, AnalysisOptions};
use exomatrix::policy::permissions;
use exomatrix::policy::{Nesting, PolicyOptions};
use exomatrix::Finding;

pub fn guid(kind: u32, i: u32) -> String {
    format!("{kind:08x}-0000-4000-8000-{i:012x}")
}

pub const ORG: &str = "OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR00A001,DC=prod,DC=outlook,DC=com";

pub fn group_dn(name: &str) -> String {
    format!("CN={name},{ORG}")
}

/// Where an assignment's scope points.
pub enum Scope<'a> {
    Org,
    Custom(&'a str),
    Au(&'a str),
    Group(&'a str),
}

#[derive(Default)]
pub struct Tenant {
    /// Extra mailbox columns: header names and one value per mailbox.
    extra: Vec<(String, Vec<String>)>,
    mailboxes: u32,
    groups: Vec<(String, Vec<String>)>,
    /// RecipientTypeDetails by group name; unlisted groups are security groups.
    group_types: Vec<(String, String)>,
    aus: Vec<(String, Vec<String>)>,
    apps: Vec<String>,
    grants: Vec<String>,
    policies: Vec<String>,
    scopes: Vec<String>,
    assignments: Vec<String>,
    /// A management_role_assignments table written as given (header, rows).
    assignment_table: Option<(String, Vec<String>)>,
    pub nesting: Nesting,
}

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Tenant {
    pub fn new(mailboxes: u32) -> Tenant {
        Tenant {
            mailboxes,
            ..Tenant::default()
        }
    }

    fn app_index(&self, name: &str) -> u32 {
        self.apps
            .iter()
            .position(|a| a == name)
            .expect("app declared") as u32
    }

    pub fn app_id(&self, name: &str) -> String {
        guid(0xA, self.app_index(name))
    }

    pub fn object_id(&self, name: &str) -> String {
        guid(0xB, self.app_index(name))
    }

    /// A mailbox column with a value per mailbox (`""` for blank).
    pub fn column(mut self, name: &str, values: &[&str]) -> Tenant {
        assert_eq!(values.len(), self.mailboxes as usize);
        self.extra
            .push((name.into(), values.iter().map(|v| v.to_string()).collect()));
        self
    }

    /// A group; members are mailbox aliases `mN` or other group names.
    pub fn group(mut self, name: &str, members: &[&str]) -> Tenant {
        self.groups
            .push((name.into(), members.iter().map(|m| m.to_string()).collect()));
        self
    }

    /// Sets a group's RecipientTypeDetails (default MailUniversalSecurityGroup).
    pub fn group_type(mut self, name: &str, recipient_type: &str) -> Tenant {
        self.group_types.push((name.into(), recipient_type.into()));
        self
    }

    pub fn au(mut self, name: &str, members: &[&str]) -> Tenant {
        self.aus
            .push((name.into(), members.iter().map(|m| m.to_string()).collect()));
        self
    }

    pub fn app(mut self, name: &str) -> Tenant {
        self.apps.push(name.into());
        self
    }

    /// An Entra grant on Microsoft Graph by Permission value.
    pub fn entra(self, app: &str, permission: &str) -> Tenant {
        self.grant_row(app, "Microsoft Graph", "", permission)
    }

    /// A raw grant row: client app, ResourceDisplayName, AppRoleId, Permission.
    pub fn grant_row(
        mut self,
        app: &str,
        resource: &str,
        role_id: &str,
        permission: &str,
    ) -> Tenant {
        let row = format!(
            "{},,{},{},{}",
            self.app_id(app),
            q(resource),
            role_id,
            q(permission)
        );
        self.grants.push(row);
        self
    }

    /// A grant naming the client by PrincipalId only.
    pub fn grant_by_principal(mut self, app: &str, permission: &str) -> Tenant {
        let row = format!(
            ",{},Microsoft Graph,,{}",
            self.object_id(app),
            q(permission)
        );
        self.grants.push(row);
        self
    }

    /// An application access policy; `app` is an app name or `*`; scope a mailbox alias or group name.
    pub fn policy(self, app: &str, right: &str, scope: &str) -> Tenant {
        self.policy_row(app, right, scope, "True")
    }

    pub fn policy_row(mut self, app: &str, right: &str, scope: &str, valid: &str) -> Tenant {
        let app_id = if app == "*" {
            "*".to_string()
        } else {
            self.app_id(app)
        };
        let scope_id = self.identity(scope);
        let n = self.policies.len();
        self.policies.push(format!(
            "policy{n},{app_id},{right},,{},{valid}",
            q(&scope_id)
        ));
        self
    }

    /// How a test names a recipient: a mailbox by address, a group by its address.
    fn identity(&self, name: &str) -> String {
        format!("{}@contoso.com", name.to_lowercase())
    }

    pub fn scope(mut self, name: &str, filter: &str) -> Tenant {
        self.scopes.push(format!("{},{},", q(name), q(filter)));
        self
    }

    pub fn exclusive_scope(mut self, name: &str, filter: &str) -> Tenant {
        self.scopes.push(format!("{},{},True", q(name), q(filter)));
        self
    }

    pub fn assign(self, app: &str, role: &str, scope: Scope) -> Tenant {
        let who = self.object_id(app);
        self.assign_raw(&format!("{app}:{role}"), role, &who, scope, "")
    }

    pub fn assign_raw(
        mut self,
        name: &str,
        role: &str,
        app: &str,
        scope: Scope,
        enabled: &str,
    ) -> Tenant {
        let (custom, au, group) = match scope {
            Scope::Org => ("", "", ""),
            Scope::Custom(s) => (s, "", ""),
            Scope::Au(s) => ("", s, ""),
            Scope::Group(s) => ("", "", s),
        };
        let group = if group.is_empty() {
            String::new()
        } else {
            self.identity(group)
        };
        self.assignments.push(format!(
            "{},{},{},{},{},{},{enabled}",
            q(name),
            q(role),
            q(app),
            q(custom),
            q(au),
            q(&group)
        ));
        self
    }

    /// Analyzes with a management_role_assignments table given as raw CSV.
    pub fn analyze_with_assignments(mut self, header: &str, rows: &[String]) -> Outcome {
        self.assignment_table = Some((header.to_string(), rows.to_vec()));
        self.analyze()
    }

    pub fn with_nesting(mut self, nesting: Nesting) -> Tenant {
        self.nesting = nesting;
        self
    }

    /// Writes the snapshot as CSV files into `dir`.
    pub fn write(&self, dir: &Path) {
        let mut m = String::from("ExternalDirectoryObjectId,PrimarySmtpAddress,Alias,Name,DistinguishedName,EmailAddresses");
        for (name, _) in &self.extra {
            write!(m, ",{name}").unwrap();
        }
        m.push('\n');
        for i in 0..self.mailboxes {
            write!(
                m,
                "{},m{i}@contoso.com,m{i},m{i},{},SMTP:m{i}@contoso.com;smtp:alias{i}@contoso.com",
                guid(1, i),
                q(&format!("CN=m{i},{ORG}"))
            )
            .unwrap();
            for (_, values) in &self.extra {
                write!(m, ",{}", q(&values[i as usize])).unwrap();
            }
            m.push('\n');
        }
        std::fs::write(dir.join("mailboxes.csv"), m).unwrap();

        let mut g = String::from(
            "DistinguishedName,ExternalDirectoryObjectId,PrimarySmtpAddress,Name,RecipientTypeDetails\n",
        );
        let mut gm = String::from("Group,Member\n");
        for (i, (name, members)) in self.groups.iter().enumerate() {
            let recipient_type = self
                .group_types
                .iter()
                .find(|(n, _)| n == name)
                .map_or("MailUniversalSecurityGroup", |(_, t)| t.as_str());
            writeln!(
                g,
                "{},{},{},{},{recipient_type}",
                q(&group_dn(name)),
                guid(2, i as u32),
                q(&format!("{}@contoso.com", name.to_lowercase())),
                q(name)
            )
            .unwrap();
            for member in members {
                let id = if self.groups.iter().any(|(n, _)| n == member) {
                    group_dn(member)
                } else {
                    format!("{member}@contoso.com")
                };
                writeln!(gm, "{},{}", q(&group_dn(name)), q(&id)).unwrap();
            }
        }
        std::fs::write(dir.join("groups.csv"), g).unwrap();
        std::fs::write(dir.join("group_members.csv"), gm).unwrap();

        let mut au = String::from("Id,DisplayName,DistinguishedName\n");
        let mut aum = String::from("AdministrativeUnit,Member\n");
        for (i, (name, members)) in self.aus.iter().enumerate() {
            writeln!(
                au,
                "{},{},{}",
                guid(3, i as u32),
                q(name),
                q(&format!("CN={name},CN=AdministrativeUnits,{ORG}"))
            )
            .unwrap();
            for member in members {
                let id = if self.groups.iter().any(|(n, _)| n == member) {
                    group_dn(member)
                } else {
                    format!("{member}@contoso.com")
                };
                writeln!(aum, "{},{}", q(name), q(&id)).unwrap();
            }
        }
        std::fs::write(dir.join("administrative_units.csv"), au).unwrap();
        std::fs::write(dir.join("administrative_unit_members.csv"), aum).unwrap();

        let mut sp = String::from("AppId,ObjectId,DisplayName\n");
        for (i, name) in self.apps.iter().enumerate() {
            writeln!(
                sp,
                "{},{},{}",
                guid(0xA, i as u32),
                guid(0xB, i as u32),
                q(name)
            )
            .unwrap();
        }
        std::fs::write(dir.join("service_principals.csv"), sp).unwrap();
        let table = |name: &str, header: &str, rows: &[String]| {
            std::fs::write(
                dir.join(format!("{name}.csv")),
                format!("{header}\n{}\n", rows.join("\n")),
            )
            .unwrap();
        };
        table(
            "app_role_assignments",
            "AppId,PrincipalId,ResourceDisplayName,AppRoleId,Permission",
            &self.grants,
        );
        table(
            "application_access_policies",
            "Identity,AppId,AccessRight,ScopeIdentityRaw,ScopeIdentity,IsValid",
            &self.policies,
        );
        table(
            "management_scopes",
            "Name,RecipientFilter,Exclusive",
            &self.scopes,
        );
        match &self.assignment_table {
            Some((header, rows)) => table("management_role_assignments", header, rows),
            None => table(
                "management_role_assignments",
                "Name,Role,App,CustomResourceScope,RecipientAdministrativeUnitScope,RecipientGroupScope,Enabled",
                &self.assignments,
            ),
        }
    }

    pub fn try_analyze(&self) -> exomatrix::Result<Outcome> {
        let dir = tempfile::tempdir().unwrap();
        self.write(dir.path());
        let options = AnalysisOptions {
            policy: PolicyOptions {
                aap_nesting: self.nesting,
            },
        };
        Analysis::run(dir.path(), options).map(|analysis| Outcome { analysis })
    }

    pub fn analyze(&self) -> Outcome {
        self.try_analyze()
            .unwrap_or_else(|e| panic!("analysis failed: {e}"))
    }
}

/// The analysed tenant, queried by names.
pub struct Outcome {
    pub analysis: Analysis,
}

impl Outcome {
    fn app(&self, name: &str) -> u32 {
        let apps = &self.analysis.model.apps.apps;
        apps.iter()
            .position(|a| a.display_name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no app {name}")) as u32
    }

    /// (mailbox alias, via) of every granted cell of an app and permission.
    pub fn cells(&self, app: &str, permission: &str) -> Vec<(String, u8)> {
        let p = permissions::by_name(permission).expect("known permission");
        let Some(g) = self.analysis.matrix.grant(self.app(app), p) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        g.cells
            .for_each_cell(|m, via| out.push((format!("m{m}"), via.bits())));
        out
    }

    /// Mailbox aliases an app reaches with a permission.
    pub fn reach(&self, app: &str, permission: &str) -> Vec<String> {
        self.cells(app, permission)
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    }

    pub fn findings(&self, kind: &str) -> Vec<&Finding> {
        self.analysis
            .findings
            .iter()
            .filter(|f| f.kind == kind)
            .collect()
    }
}

/// `["m0", "m2"]` from `&[0, 2]`.
pub fn ms(indices: &[u32]) -> Vec<String> {
    indices.iter().map(|i| format!("m{i}")).collect()
}
