//! RBAC for Applications: management role assignments of application roles to
//! service principals, each over a resource scope. AAP never narrows these.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::apps::{AppLookup, AppRegistry};
use super::permissions::{self, PermissionId};
use crate::directory::{Directory, Recipient};
use crate::error::{Error, Location, Result};
use crate::filter::{Compiled, FilterContext, FilterError};
use crate::findings::{kind, Findings};
use crate::snapshot::{bool_cell, first_present, parse_guid_u128, Col, Table};

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
    /// A management scope (its recipient filter), by index.
    Custom(usize),
    /// An administrative unit's direct members, by index.
    AdministrativeUnit(u32),
    /// A group's direct members, by index.
    Group(u32),
    /// The named scope, unit or group is not in the snapshot: grants nothing.
    Missing(String),
    /// `RecipientWriteScope` held a kind exomatrix does not know (the value is
    /// kept): the assignment is counted as covering the whole organization, so
    /// the audit over-states access rather than hiding it.
    UnknownKind(String),
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
    /// The mailboxes the scope covers (none when the scope is missing; a disabled
    /// assignment keeps its scope's mailboxes but grants nothing).
    pub mailboxes: Arc<RoaringBitmap>,
    pub source: Location,
}

impl Assignment {
    /// Whether this assignment grants anything.
    pub fn grants(&self) -> bool {
        self.enabled && !matches!(self.scope, ScopeKind::Missing(_))
    }

    /// Whether the scope limits the assignment to fewer than the organization.
    pub fn is_scoped(&self) -> bool {
        !matches!(
            self.scope,
            ScopeKind::Organization | ScopeKind::UnknownKind(_)
        )
    }
}

/// What the scope columns of one role assignment row name, before anything is
/// resolved. `Get-ManagementRoleAssignment` does not output the
/// `-RecipientAdministrativeUnitScope` / `-RecipientGroupScope` parameters: it
/// reports the kind of scope in `RecipientWriteScope` and the object in
/// `CustomResourceScope` or `CustomRecipientWriteScope` (DESIGN §2, "Resource
/// scope columns"). The shapes, and where each is documented:
///
/// | RecipientWriteScope | object column | source |
/// |---|---|---|
/// | `CustomRecipientScope` | CustomResourceScope (or CustomRecipientWriteScope) | New-ManagementRoleAssignment -CustomResourceScope; Get-ManagementRoleAssignment docs |
/// | `AdministrativeUnit` | CustomResourceScope or CustomRecipientWriteScope (the AU id) | Microsoft365DSC MSFT_EXOManagementRoleAssignment reads the AU from CustomRecipientWriteScope |
/// | `Group` | CustomResourceScope = `<GroupName>_<GUID>`, CustomRecipientWriteScope empty | EXORBACforAppManagement TODO.md, confirmed on a real tenant |
/// | `Organization` | none | unscoped assignments |
///
/// Hand-made snapshots may instead fill the parameter-named columns
/// `RecipientAdministrativeUnitScope` / `RecipientGroupScope`; those rows are
/// read by DESIGN §3.3 as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRef<'a> {
    /// The whole organization.
    Organization,
    /// A management scope by name.
    ManagementScope(&'a str),
    /// An administrative unit by Id, distinguished name or display name.
    AdministrativeUnit(&'a str),
    /// A group by any identity, or `<GroupName>_<GUID>`.
    Group(&'a str),
    /// The row says what kind of object scopes it, but names none.
    Unnamed(&'static str),
    /// `RecipientWriteScope` holds a value exomatrix does not know.
    UnknownKind(&'a str),
}

/// The scope columns of a role assignment table.
#[derive(Debug, Clone, Copy)]
pub struct ScopeColumns<'a> {
    custom: Option<Col<'a>>,
    custom_write: Option<Col<'a>>,
    au: Option<Col<'a>>,
    group: Option<Col<'a>>,
    write_scope: Option<Col<'a>>,
}

/// One row's scope columns read by [`ScopeColumns::read`].
#[derive(Debug, Clone)]
pub struct ScopeCells<'a> {
    pub scope: ScopeRef<'a>,
    /// The column the object (or the kind) was read from, for messages.
    pub column: Option<&'a str>,
    /// Under DESIGN §3.3's precedence, every scope column that was filled, when
    /// more than one was (the first one is used).
    pub several: Vec<&'a str>,
}

impl<'a> ScopeColumns<'a> {
    pub fn new(table: &'a Table) -> ScopeColumns<'a> {
        ScopeColumns {
            custom: table.column(&["CustomResourceScope"]),
            custom_write: table.column(&["CustomRecipientWriteScope"]),
            au: table.column(&["RecipientAdministrativeUnitScope"]),
            group: table.column(&["RecipientGroupScope"]),
            write_scope: table.column(&["RecipientWriteScope"]),
        }
    }

    /// Reads which object scopes the assignment in `row`.
    pub fn read(&self, row: usize) -> ScopeCells<'a> {
        let get = |c: Option<Col<'a>>| c.and_then(|c| c.get(row).map(|v| (c.name(), v)));
        let custom = get(self.custom);
        let (au, group) = (get(self.au), get(self.group));
        let cells = |scope, column: Option<&'a str>| ScopeCells {
            scope,
            column,
            several: Vec::new(),
        };
        // 1. Parameter-named columns (hand-made snapshots): §3.3 as written.
        if au.is_some() || group.is_some() {
            let filled: Vec<(&'a str, &'a str)> =
                [custom, au, group].into_iter().flatten().collect();
            let (column, value) = filled[0];
            let scope = if custom.is_some() {
                ScopeRef::ManagementScope(value)
            } else if au.is_some() {
                ScopeRef::AdministrativeUnit(value)
            } else {
                ScopeRef::Group(value)
            };
            return ScopeCells {
                scope,
                column: Some(column),
                several: if filled.len() > 1 {
                    filled.iter().map(|(c, _)| *c).collect()
                } else {
                    Vec::new()
                },
            };
        }
        // 2. The kind in RecipientWriteScope, the object in CustomResourceScope
        //    or CustomRecipientWriteScope.
        let object = custom.or(get(self.custom_write));
        if let Some((kind_column, kind)) = get(self.write_scope) {
            let named = |make: fn(&'a str) -> ScopeRef<'a>, unnamed: &'static str| match object {
                Some((column, value)) => cells(make(value), Some(column)),
                None => cells(ScopeRef::Unnamed(unnamed), Some(kind_column)),
            };
            return if kind.eq_ignore_ascii_case("CustomRecipientScope") {
                named(ScopeRef::ManagementScope, "management scope")
            } else if kind.eq_ignore_ascii_case("AdministrativeUnit") {
                named(ScopeRef::AdministrativeUnit, "administrative unit")
            } else if kind.eq_ignore_ascii_case("Group") {
                named(ScopeRef::Group, "group")
            } else if kind.eq_ignore_ascii_case("Organization") {
                match custom {
                    Some((column, value)) => cells(ScopeRef::ManagementScope(value), Some(column)),
                    None => cells(ScopeRef::Organization, None),
                }
            } else {
                cells(ScopeRef::UnknownKind(kind), Some(kind_column))
            };
        }
        // 3. Neither: CustomResourceScope names a management scope; none is the organization.
        match custom {
            Some((column, value)) => cells(ScopeRef::ManagementScope(value), Some(column)),
            None => cells(ScopeRef::Organization, None),
        }
    }
}

/// The identities group-scoped assignments name (the group, and the GUID of a
/// `<text>_<GUID>` name), for resolving them in one batch before
/// [`read_assignments`] asks about each.
pub fn group_scope_identities(table: &Table) -> Vec<&str> {
    let cols = ScopeColumns::new(table);
    let mut out = Vec::new();
    for row in 0..table.len() {
        if let ScopeRef::Group(v) = cols.read(row).scope {
            out.push(v);
            out.extend(guid_suffix(v));
        }
    }
    out
}

/// The GUID of a name of the form `<text>_<GUID>` (how Exchange names the
/// scope object behind a group-scoped assignment).
pub fn guid_suffix(name: &str) -> Option<&str> {
    let (_, tail) = name.trim().rsplit_once('_')?;
    parse_guid_u128(tail).map(|_| tail)
}

/// Compiles the management scopes whose name `keep` accepts (in parallel; a
/// bad filter is an error); the others are left out, as if the snapshot did
/// not have them (for questions about one app). An analysis of the whole
/// tenant reads them with [`ScopeRows`] and compiles them beside the directory.
pub fn read_scopes_where(
    table: &Table,
    ctx: &FilterContext<'_>,
    findings: &mut Findings,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Scope>> {
    let rows = ScopeRows::read(table, keep)?;
    let compiled = ctx.compile_all(&rows.filters());
    rows.compiled(compiled, findings)
}

/// The rows of the management scopes table, checked (every scope named,
/// once), before their filters are compiled.
pub struct ScopeRows<'t> {
    table: &'t Table,
    /// Row, name, filter, Exclusive.
    rows: Vec<(usize, String, String, bool)>,
}

impl<'t> ScopeRows<'t> {
    /// The scopes whose name `keep` accepts; a blank or repeated name is an error.
    pub fn read(table: &'t Table, keep: &dyn Fn(&str) -> bool) -> Result<ScopeRows<'t>> {
        if table.is_empty() {
            return Ok(ScopeRows {
                table,
                rows: Vec::new(),
            });
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
        Ok(ScopeRows { table, rows })
    }

    /// The scopes' filters, in order.
    pub fn filters(&self) -> Vec<&str> {
        self.rows
            .iter()
            .map(|(_, _, filter, _)| filter.as_str())
            .collect()
    }

    /// The scopes, given their filters compiled (in order): a bad filter is
    /// an error; notes, empty scopes and Exclusive flags become findings.
    pub fn compiled(
        self,
        compiled: Vec<std::result::Result<Compiled, FilterError>>,
        findings: &mut Findings,
    ) -> Result<Vec<Scope>> {
        let (table, rows) = (self.table, self.rows);
        if table.is_empty() {
            return Ok(Vec::new());
        }
        let filter_col = table
            .column(&["RecipientFilter", "RecipientRestrictionFilter"])
            .expect("required");
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
                        crate::filter::render(&filter, &note.span, "", None).trim_end()
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
    let scope_cols = ScopeColumns::new(table);
    let scope_index: HashMap<String, usize> = scopes
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.to_lowercase(), i))
        .collect();
    let all = Arc::new(dir.all.clone());
    let empty = Arc::new(RoaringBitmap::new());
    // One shared set per scope, group and unit, however many assignments name
    // it (a tenant's 15,000 assignments share a few thousand scopes).
    let shared = |n: usize| -> Vec<OnceCell<Arc<RoaringBitmap>>> {
        (0..n).map(|_| OnceCell::new()).collect()
    };
    let (scope_sets, group_sets, unit_sets) = (
        shared(scopes.len()),
        shared(dir.groups.len()),
        shared(dir.admin_units.len()),
    );

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
                    format!("role '{role}' is not a known application role; it grants nothing in this analysis (role names are e.g. 'Application Mail.Read', 'Application MailboxFolder.Read', 'Application MailTips.ReadBasic.All')"),
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
        let cells = scope_cols.read(row);
        let at = table.location(row, cells.column);
        if !cells.several.is_empty() {
            findings.warn(
                kind::ASSIGNMENT_SEVERAL_SCOPES,
                name.clone(),
                format!(
                    "several scope columns are filled ({}); {} is used",
                    cells.several.join(", "),
                    cells.several[0]
                ),
                Some(source.clone()),
            );
        }
        let by_name = |v: &str| scope_index.get(&v.to_lowercase()).copied();
        let custom = |i: usize| {
            (
                ScopeKind::Custom(i),
                scope_sets[i]
                    .get_or_init(|| Arc::new(scopes[i].compiled.bitmap.clone()))
                    .clone(),
            )
        };
        let group = |g: u32| {
            (
                ScopeKind::Group(g),
                group_sets[g as usize]
                    .get_or_init(|| Arc::new(dir.groups[g as usize].direct_mailboxes.clone()))
                    .clone(),
            )
        };
        let missing = |what: String| (ScopeKind::Missing(what), empty.clone());
        let (scope, mailboxes) = match cells.scope {
            ScopeRef::Organization => (ScopeKind::Organization, all.clone()),
            ScopeRef::ManagementScope(v) => match by_name(v) {
                Some(i) => custom(i),
                None => missing(format!("management scope '{v}'")),
            },
            ScopeRef::AdministrativeUnit(v) => match dir.resolve_admin_unit(v, || at.clone())? {
                Some(au) => (
                    ScopeKind::AdministrativeUnit(au),
                    unit_sets[au as usize]
                        .get_or_init(|| Arc::new(dir.admin_units[au as usize].members.clone()))
                        .clone(),
                ),
                None => missing(format!("administrative unit '{v}'")),
            },
            // The group itself; else the scope object Exchange made for it
            // (`<GroupName>_<GUID>`) when the snapshot lists it; else the GUID.
            ScopeRef::Group(v) => match dir.resolve_recipient(v, &at)? {
                Some(Recipient::Group(g)) => group(g),
                _ => match (by_name(v), guid_suffix(v)) {
                    (Some(i), _) => custom(i),
                    (None, Some(guid)) => match dir.resolve_recipient(guid, &at)? {
                        Some(Recipient::Group(g)) => group(g),
                        _ => missing(format!("group '{v}'")),
                    },
                    (None, None) => missing(format!("group '{v}'")),
                },
            },
            ScopeRef::Unnamed(what) => missing(format!(
                "the {what} (RecipientWriteScope names the kind, but CustomResourceScope and CustomRecipientWriteScope are blank)"
            )),
            ScopeRef::UnknownKind(kind) => {
                findings.error(
                    kind::ASSIGNMENT_SCOPE_KIND_UNKNOWN,
                    name.clone(),
                    format!("RecipientWriteScope '{kind}' is not a scope kind exomatrix knows (CustomRecipientScope, AdministrativeUnit, Group, Organization); the assignment is counted as covering the whole organization, so its access may be over-stated — check it with Test-ServicePrincipalAuthorization"),
                    Some(at.clone()),
                );
                (ScopeKind::UnknownKind(kind.to_string()), all.clone())
            }
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
