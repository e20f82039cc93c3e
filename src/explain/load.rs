//! Loading an explainer: only what bears on one app (its grants, policies,
//! assignments and the scopes they name) and, when a mailbox is given, only that
//! mailbox's memberships, so a question about a large tenant is answered fast.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use super::Explainer;
use crate::directory::{Directory, Recipient, Resolution};
use crate::error::{Error, Result};
use crate::filter::FilterContext;
use crate::findings::Findings;
use crate::matrix::evaluate_app;
use crate::policy::{read_scopes_where, AppLookup, Model, PolicyOptions, ScopeColumns, ScopeRef};
use crate::snapshot::{first_present, parse_guid, Col, Snapshot};

/// The keys the snapshot may name the app by: the given text, and the AppId,
/// ObjectId and DisplayName of a service principal it names.
fn app_names(snapshot: &Snapshot, app: &str) -> HashSet<String> {
    let mut names: HashSet<String> = HashSet::from([key(app)]);
    let sp = &snapshot.service_principals;
    let cols = [
        sp.column(&["AppId"]),
        sp.column(&["ObjectId"]),
        sp.column(&["DisplayName"]),
    ];
    for row in 0..sp.len() {
        let values: Vec<&str> = cols.iter().flatten().filter_map(|c| c.get(row)).collect();
        if values.iter().any(|v| key(v) == key(app)) {
            names.extend(values.iter().map(|v| key(v)));
        }
    }
    names
}

/// Lower-case text, or the canonical form of a GUID.
fn key(text: &str) -> String {
    parse_guid(text).unwrap_or_else(|| text.trim().to_lowercase())
}

impl Explainer {
    /// Loads `dir` for questions about `app` (AppId, service principal ObjectId or
    /// DisplayName) and, when given, one mailbox (address, proxy, id, alias or name).
    ///
    /// Only what bears on the question is resolved: the grants, policies and
    /// assignments that name the app, the scopes those assignments name, and, for a
    /// mailbox, only that mailbox's memberships (with all group nesting; see
    /// [`Directory::focus_on`]). Without a mailbox every membership is resolved and
    /// any mailbox can be asked about.
    pub fn load(
        dir: &Path,
        app: &str,
        mailbox: Option<&str>,
        options: PolicyOptions,
    ) -> Result<Explainer> {
        let t = Instant::now();
        let mut snapshot = Snapshot::load(dir)?;
        let load_time = t.elapsed();
        let t = Instant::now();
        let mut findings = Findings::default();
        let names = app_names(&snapshot, app);
        let named = |cols: &[Option<Col<'_>>], row: usize| {
            cols.iter()
                .flatten()
                .filter_map(|c| c.get(row))
                .any(|v| names.contains(&key(v)))
        };

        let grants = &snapshot.app_role_assignments;
        let cols = [grants.column(&["AppId"]), grants.column(&["PrincipalId"])];
        let grants = grants.filter_rows(|row| named(&cols, row));
        let policies = &snapshot.application_access_policies;
        let app_col = policies.column(&["AppId"]);
        let policies = policies.filter_rows(|row| {
            app_col
                .and_then(|c| c.get(row))
                .is_none_or(|v| v == "*" || names.contains(&key(v)))
        });
        let assignments = &snapshot.management_role_assignments;
        let assignee_cols = [
            assignments.column(&["App"]),
            assignments.column(&["RoleAssignee"]),
            assignments.column(&["RoleAssigneeName"]),
        ];
        let assignments = assignments.filter_rows(|row| {
            first_present(&assignee_cols, row).is_some_and(|(_, v)| names.contains(&key(v)))
        });
        // The scopes, units and groups the app's assignments name, read by the
        // same column rules as the full analysis.
        let scope_cols = ScopeColumns::new(&assignments);
        let refs: Vec<ScopeRef<'_>> = (0..assignments.len())
            .map(|row| scope_cols.read(row).scope)
            .collect();
        let wanted: HashSet<String> = refs
            .iter()
            .filter_map(|r| match r {
                // A group-scoped row may name Exchange's scope object for the group.
                ScopeRef::ManagementScope(v) | ScopeRef::Group(v) => Some(v.to_lowercase()),
                _ => None,
            })
            .collect();
        // Memberships bear on the question only through policies, group or unit
        // scopes, and MemberOfGroup / AdministrativeUnits in the app's filters
        // (a filter naming the property anywhere counts, to be safe).
        let filters = &snapshot.management_scopes;
        let filter_col = filters.column(&["RecipientFilter", "RecipientRestrictionFilter"]);
        let name_col = filters.column(&["Name"]);
        let filter_names = |property: &str| {
            (0..filters.len()).any(|row| {
                name_col
                    .and_then(|c| c.get(row))
                    .is_some_and(|n| wanted.contains(&n.to_lowercase()))
                    && filter_col
                        .and_then(|c| c.get(row))
                        .is_some_and(|f| f.to_lowercase().contains(property))
            })
        };
        let need_groups = !policies.is_empty()
            || refs.iter().any(|r| matches!(r, ScopeRef::Group(_)))
            || filter_names("memberofgroup");
        let need_units = refs
            .iter()
            .any(|r| matches!(r, ScopeRef::AdministrativeUnit(_)))
            || filter_names("administrativeunits");
        if !need_groups {
            snapshot.group_members = snapshot.group_members.filter_rows(|_| false);
        }
        if !need_units {
            snapshot.administrative_unit_members =
                snapshot.administrative_unit_members.filter_rows(|_| false);
        }
        snapshot.app_role_assignments = grants;
        snapshot.application_access_policies = policies;
        snapshot.management_role_assignments = assignments;

        let mut directory = Directory::bare(&snapshot)?;
        let mailbox = mailbox
            .map(|m| resolve_mailbox(&directory, m))
            .transpose()?;
        if let Some(m) = mailbox {
            directory.focus_on(m);
        }
        directory.add_memberships(&snapshot, &mut findings)?;
        let ctx = FilterContext::new(&snapshot.mailboxes, &directory);
        let scopes =
            read_scopes_where(&snapshot.management_scopes, &ctx, &mut findings, &|name| {
                wanted.contains(&name.to_lowercase())
            })?;
        let model = Model::build(&snapshot, &directory, scopes, options, &mut findings)?;
        let app = find_app(&model, app)?;
        let (grants, _) = evaluate_app(&model, &directory, app);
        Ok(Explainer {
            snapshot,
            directory,
            model,
            app,
            mailbox,
            grants,
            load_time,
            answer_time: t.elapsed(),
            traces: Mutex::new(None),
        })
    }
}

fn find_app(model: &Model, app: &str) -> Result<u32> {
    let apps = &model.apps;
    match apps.lookup_principal(app) {
        AppLookup::Found(i) => Ok(i),
        AppLookup::Ambiguous(many) => Err(Error::Query(format!(
            "app '{app}' is ambiguous: it is the DisplayName of {}; give the AppId",
            many.iter()
                .map(|&i| apps.apps[i as usize].app_id.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
        AppLookup::NotFound => apps.by_app_id(app).ok_or_else(|| {
            Error::Query(format!(
                "app '{app}' is not in the snapshot: give its AppId, its service principal ObjectId or its DisplayName (service_principals.csv)"
            ))
        }),
    }
}

/// Resolves a mailbox identity; a group, an unknown or an ambiguous identity is an error.
pub fn resolve_mailbox(dir: &Directory, identity: &str) -> Result<u32> {
    match dir.resolve_once(identity) {
        Resolution::Found(Recipient::Mailbox(m)) => Ok(m),
        Resolution::Found(Recipient::Group(g)) => Err(Error::Query(format!(
            "'{identity}' is group '{}', not a mailbox; give one mailbox",
            dir.groups[g as usize].label
        ))),
        Resolution::Ambiguous { tier, first, second } => Err(Error::Query(format!(
            "mailbox '{identity}' is ambiguous: its {} matches both {} and {}; give the ExternalDirectoryObjectId",
            tier.describe(),
            dir.describe(first),
            dir.describe(second)
        ))),
        Resolution::NotFound => Err(Error::Query(format!(
            "mailbox '{identity}' is not in the snapshot: give its PrimarySmtpAddress, a proxy address, its ExternalDirectoryObjectId, alias or name"
        ))),
    }
}
