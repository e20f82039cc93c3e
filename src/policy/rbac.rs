//! RBAC for Applications: management role assignments of application roles to
//! service principals, each over a resource scope. AAP never narrows these.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::aap::bool_cell;
use super::apps::{AppLookup, AppRegistry};
use super::permissions::{self, PermissionId};
use crate::directory::{Directory, Recipient};
use crate::error::{Error, Location, Result};
use crate::filter::{Compiled, FilterContext};
use crate::findings::{kind, Findings};
use crate::snapshot::{tables::first_present, Table};

/// A management scope with its compiled recipient filter.
#[derive(Debug, Clone)]
pub struct Scope {
    pub name: String,
    pub filter: String,
    pub exclusive: bool,
    pub compiled: Arc<Compiled>,
    pub source: Location,
}

/// What an assignment's resource scope is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeKind {
    /// No scope: the whole organization.
    Organization,
    /// CustomResourceScope: a management scope, by index.
    Custom(usize),
    /// RecipientAdministrativeUnitScope: an administrative unit, by index.
    AdministrativeUnit(u32),
    /// RecipientGroupScope: a group's direct members, by index.
    Group(u32),
    /// The named scope, unit or group is not in the snapshot: grants nothing.
    Missing(String),
}

/// One management role assignment to an app.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub name: String,
    pub role: String,
    pub app: u32,
    pub permissions: Vec<PermissionId>,
    pub enabled: bool,
    pub scope: ScopeKind,
    /// The mailboxes the scope covers (empty when disabled scope is missing).
    pub mailboxes: Arc<RoaringBitmap>,
    pub source: Location,
}

impl Assignment {
    /// Whether this assignment grants anything.
    pub fn grants(&self) -> bool {
        self.enabled && !matches!(self.scope, ScopeKind::Missing(_))
    }

    pub fn is_scoped(&self) -> bool {
        !matches!(self.scope, ScopeKind::Organization)
    }
}

/// Compiles every management scope (in parallel); a bad filter is an error.
pub fn read_scopes(
    table: &Table,
    ctx: &FilterContext<'_>,
    findings: &mut Findings,
) -> Result<Vec<Scope>> {
    read_scopes_where(table, ctx, findings, &|_| true)
}

/// As [`read_scopes`], for the scopes whose name `keep` accepts; the others are
/// left out, as if the snapshot did not have them (for questions about one app).
pub fn read_scopes_where(
    table: &Table,
    ctx: &FilterContext<'_>,
    findings: &mut Findings,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Scope>> {
    if table.is_empty() {
        return Ok(Vec::new());
    }
    let name_col = table.column(&["Name"]).expect("required");
    let filter_col = table
        .column(&["RecipientFilter", "RecipientRestrictionFilter"])
        .expect("required");
    let mut rows = Vec::with_capacity(table.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in 0..table.len() {
        let name = name_col.get(row).ok_or_else(|| {
            Error::data(
                name_col.location(row),
                "Name is blank; every management scope needs one",
            )
        })?;
        if let Some(previous) = seen.insert(name.to_lowercase(), row) {
            return Err(Error::data(
                name_col.location(row),
                format!(
                    "duplicate management scope '{name}' (also at line {}); scope names are unique",
                    table.lines[previous]
                ),
            ));
        }
        let exclusive = bool_cell(table, &["Exclusive"], row, false)?;
        if !keep(name) {
            continue;
        }
        rows.push((
            row,
            name.to_string(),
            filter_col.get(row).unwrap_or("").to_string(),
            exclusive,
        ));
    }
    let filters: Vec<&str> = rows
        .iter()
        .map(|(_, _, filter, _)| filter.as_str())
        .collect();
    let compiled = ctx.compile_all(&filters);
    let mut scopes = Vec::with_capacity(rows.len());
    for ((row, name, filter, exclusive), result) in rows.into_iter().zip(compiled) {
        let source = filter_col.location(row);
        let compiled = result.map_err(|error| Error::Filter {
            location: source.clone(),
            scope: name.clone(),
            rendered: error.render(&filter),
            error: Box::new(error),
        })?;
        for note in &compiled.notes {
            findings.warn(
                note.kind,
                name.clone(),
                format!(
                    "{}\n{}",
                    note.message,
                    crate::filter::error::render(&filter, &note.span, "", None).trim_end()
                ),
                Some(source.clone()),
            );
        }
        if compiled.bitmap.is_empty() {
            findings.warn(
                kind::FILTER_MATCHES_NOTHING,
                name.clone(),
                format!("recipient filter {filter} matches no mailbox"),
                Some(source.clone()),
            );
        }
        if exclusive {
            findings.info(
                kind::EXCLUSIVE_SCOPE_IGNORED,
                name.clone(),
                "scope is Exclusive; exclusivity limits administrators, not applications, so it changes no app's access",
                Some(table.location(row, Some("Exclusive"))),
            );
        }
        scopes.push(Scope {
            name,
            filter,
            exclusive,
            compiled: Arc::new(compiled),
            source,
        });
    }
    Ok(scopes)
}

/// Reads every role assignment and resolves its app, role and scope.
pub fn read_assignments(
    table: &Table,
    apps: &AppRegistry,
    scopes: &[Scope],
    dir: &Directory,
    findings: &mut Findings,
) -> Result<Vec<Assignment>> {
    let mut out = Vec::new();
    if table.is_empty() {
        return Ok(out);
    }
    let name_col = table.column(&["Name"]).expect("required");
    let role_col = table.column(&["Role"]).expect("required");
    let app_cols = [
        table.column(&["App"]),
        table.column(&["RoleAssignee"]),
        table.column(&["RoleAssigneeName"]),
    ];
    let type_col = table.column(&["RoleAssigneeType"]);
    let custom_col = table.column(&["CustomResourceScope"]);
    let au_col = table.column(&["RecipientAdministrativeUnitScope"]);
    let group_col = table.column(&["RecipientGroupScope"]);
    let scope_index: HashMap<String, usize> = scopes
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.to_lowercase(), i))
        .collect();
    let all = Arc::new(dir.all.clone());
    let empty = Arc::new(RoaringBitmap::new());

    for row in 0..table.len() {
        let source = table.location(row, None);
        let name = name_col.get(row).unwrap_or("(unnamed)").to_string();
        if type_col
            .and_then(|c| c.get(row))
            .is_some_and(|t| !t.eq_ignore_ascii_case("ServicePrincipal"))
        {
            continue; // assignments to users and role groups are not app access
        }
        let role = role_col.get(row).unwrap_or("").to_string();
        let Some(perms) = permissions::role_permissions(&role) else {
            if permissions::is_application_role(&role) {
                findings.warn(
                    kind::UNKNOWN_APPLICATION_ROLE,
                    name,
                    format!("role '{role}' is not a known application role; it grants nothing in this analysis (role names are e.g. 'Application Mail.Read', 'Application MailboxFolder.Read')"),
                    Some(role_col.location(row)),
                );
            }
            continue; // administrator roles do not grant app access
        };
        let Some((app_col, app_identity)) = first_present(&app_cols, row) else {
            findings.warn(
                kind::UNKNOWN_PRINCIPAL,
                name,
                "assignment names no App; it grants nothing",
                Some(source),
            );
            continue;
        };
        let app = match apps.lookup_principal(app_identity) {
            AppLookup::Found(a) => a,
            AppLookup::NotFound => {
                findings.warn(
                    kind::UNKNOWN_PRINCIPAL,
                    name,
                    format!("assignee '{app_identity}' is not a service principal of the snapshot; the assignment grants nothing"),
                    Some(app_col.location(row)),
                );
                continue;
            }
            AppLookup::Ambiguous(many) => {
                let ids: Vec<&str> = many
                    .iter()
                    .map(|&i| apps.apps[i as usize].app_id.as_str())
                    .collect();
                findings.warn(
                    kind::AMBIGUOUS_SERVICE_PRINCIPAL,
                    name,
                    format!("assignee '{app_identity}' is the display name of several service principals ({}); the assignment grants nothing here — export the ObjectId", ids.join(", ")),
                    Some(app_col.location(row)),
                );
                continue;
            }
        };
        let enabled = bool_cell(table, &["Enabled"], row, true)?;
        let filled: Vec<(&str, &str)> = [
            (custom_col, "CustomResourceScope"),
            (au_col, "RecipientAdministrativeUnitScope"),
            (group_col, "RecipientGroupScope"),
        ]
        .into_iter()
        .filter_map(|(c, label)| c.and_then(|c| c.get(row)).map(|v| (label, v)))
        .collect();
        if filled.len() > 1 {
            findings.warn(
                kind::ASSIGNMENT_SEVERAL_SCOPES,
                name.clone(),
                format!(
                    "several scope columns are filled ({}); {} is used",
                    filled
                        .iter()
                        .map(|(l, _)| *l)
                        .collect::<Vec<_>>()
                        .join(", "),
                    filled[0].0
                ),
                Some(source.clone()),
            );
        }
        let (scope, mailboxes) = match filled.first() {
            None => (ScopeKind::Organization, all.clone()),
            Some(&("CustomResourceScope", v)) => match scope_index.get(&v.to_lowercase()) {
                Some(&i) => (
                    ScopeKind::Custom(i),
                    Arc::new(scopes[i].compiled.bitmap.clone()),
                ),
                None => (
                    ScopeKind::Missing(format!("management scope '{v}'")),
                    empty.clone(),
                ),
            },
            Some(&("RecipientAdministrativeUnitScope", v)) => {
                match dir.resolve_admin_unit(v, &source)? {
                    Some(au) => (
                        ScopeKind::AdministrativeUnit(au),
                        Arc::new(dir.admin_units[au as usize].members.clone()),
                    ),
                    None => (
                        ScopeKind::Missing(format!("administrative unit '{v}'")),
                        empty.clone(),
                    ),
                }
            }
            Some(&(_, v)) => match dir.resolve_recipient(v, &source)? {
                Some(Recipient::Group(g)) => (
                    ScopeKind::Group(g),
                    Arc::new(dir.groups[g as usize].direct_mailboxes.clone()),
                ),
                _ => (ScopeKind::Missing(format!("group '{v}'")), empty.clone()),
            },
        };
        if let ScopeKind::Missing(what) = &scope {
            findings.warn(
                kind::ASSIGNMENT_SCOPE_MISSING,
                name.clone(),
                format!("{what} is not in the snapshot; the assignment grants nothing"),
                Some(source.clone()),
            );
        }
        if !enabled {
            findings.info(
                kind::ASSIGNMENT_DISABLED,
                name.clone(),
                "assignment is disabled (Enabled False); it grants nothing",
                Some(source.clone()),
            );
        }
        out.push(Assignment {
            name,
            role,
            app,
            permissions: perms,
            enabled,
            scope,
            mailboxes,
            source,
        });
    }
    Ok(out)
}
