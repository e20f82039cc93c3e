//! Application Access Policies: per-app allow- and deny-lists that narrow only the
//! app's Entra grants of AAP-constrainable permissions.
//!
//! ```text
//! if any DenyAccess policy of the app has in(p, M):  denied
//! elif any RestrictAccess policy has in(p, M):       granted
//! elif the app has any RestrictAccess policy:        denied
//! else:                                              granted
//! ```
//! As bitmaps: `allow = (R ? ∪R : ALL) − ∪D`.

use roaring::{MultiOps, RoaringBitmap};

use crate::directory::{Directory, Recipient};
use crate::error::{Error, Location, Result};
use crate::findings::{kind, Findings};
use crate::snapshot::{bool_cell, first_present, guid_cell, parse_guid, Col, Table};

/// The one group type Exchange accepts as an application access policy scope.
const SECURITY_GROUP: &str = "MailUniversalSecurityGroup";

/// How group scopes of policies are expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nesting {
    /// Nested group members count (current Microsoft documentation).
    #[default]
    Transitive,
    /// Only direct members count (behaviour reported for older tenants).
    Direct,
}

/// Which app a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyApp {
    /// AppId `*`: every app.
    Every,
    /// Lower-cased AppId.
    App(String),
}

/// One Application Access Policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub app: PolicyApp,
    /// True for RestrictAccess, false for DenyAccess.
    pub restrict: bool,
    /// Identity or Description, for messages.
    pub name: String,
    /// The scope identity as written.
    pub scope_identity: Option<String>,
    /// The resolved scope; `None` when it did not resolve or the policy is invalid.
    pub scope: Option<Recipient>,
    /// Scope mailboxes with nested groups expanded, and with direct members only.
    pub members_transitive: RoaringBitmap,
    pub members_direct: RoaringBitmap,
    pub source: Location,
}

impl Policy {
    pub fn members(&self, nesting: Nesting) -> &RoaringBitmap {
        match nesting {
            Nesting::Transitive => &self.members_transitive,
            Nesting::Direct => &self.members_direct,
        }
    }
}

/// The AAP situation of one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AapMode {
    /// No policy applies: Entra grants reach every mailbox.
    None,
    /// Only RestrictAccess policies: an allow-list.
    AllowList,
    /// Only DenyAccess policies: everyone but the listed.
    DenyList,
    /// Both kinds: the allow-list minus the deny-list.
    AllowListWithDeny,
}

impl AapMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AapMode::None => "none",
            AapMode::AllowList => "allow-list",
            AapMode::DenyList => "deny-list",
            AapMode::AllowListWithDeny => "allow-list+deny",
        }
    }
}

/// The mode a set of policies puts an app in.
pub fn mode_of(policies: &[&Policy]) -> AapMode {
    let restricts = policies.iter().any(|p| p.restrict);
    let denies = policies.iter().any(|p| !p.restrict);
    match (restricts, denies) {
        (false, false) => AapMode::None,
        (true, false) => AapMode::AllowList,
        (false, true) => AapMode::DenyList,
        (true, true) => AapMode::AllowListWithDeny,
    }
}

/// The mailboxes an app's AAP-constrainable Entra grants reach, and the mode.
pub fn allow_bitmap(
    policies: &[&Policy],
    all: &RoaringBitmap,
    nesting: Nesting,
) -> (AapMode, RoaringBitmap) {
    let restricts: Vec<&RoaringBitmap> = policies
        .iter()
        .filter(|p| p.restrict)
        .map(|p| p.members(nesting))
        .collect();
    let denies: Vec<&RoaringBitmap> = policies
        .iter()
        .filter(|p| !p.restrict)
        .map(|p| p.members(nesting))
        .collect();
    let mode = mode_of(policies);
    let mut allow = if restricts.is_empty() {
        all.clone()
    } else {
        restricts.into_iter().union()
    };
    for d in denies {
        allow -= d;
    }
    (mode, allow)
}

/// The columns a policy's scope is read from, in the order DESIGN §3.2 takes them.
fn scope_columns(table: &Table) -> [Option<Col<'_>>; 3] {
    [
        table.column(&["ScopeIdentityRaw"]),
        table.column(&["ScopeIdentity"]),
        table.column(&["ScopeName"]),
    ]
}

/// The identity that names a policy's scope: the GUID half of
/// ScopeIdentityRaw (`SID;objectGuid`) when present, else the first present column.
fn scope_identity(scope_cols: &[Option<Col<'_>>; 3], row: usize) -> Option<String> {
    first_present(scope_cols, row).map(|(col, v)| {
        if col.name().eq_ignore_ascii_case("ScopeIdentityRaw") {
            v.rsplit(';')
                .find_map(parse_guid)
                .unwrap_or_else(|| v.to_string())
        } else {
            v.to_string()
        }
    })
}

/// The scope identity of every policy, for resolving them in one batch before
/// [`read_policies`] asks about each.
pub fn scope_identities(table: &Table) -> Vec<String> {
    let cols = scope_columns(table);
    (0..table.len())
        .filter_map(|row| scope_identity(&cols, row))
        .collect()
}

/// Reads every policy row and resolves its scope.
pub fn read_policies(
    table: &Table,
    dir: &Directory,
    findings: &mut Findings,
) -> Result<Vec<Policy>> {
    let mut policies = Vec::with_capacity(table.len());
    if table.is_empty() {
        return Ok(policies);
    }
    let app_col = table.column(&["AppId"]).expect("required");
    let right_col = table.column(&["AccessRight"]).expect("required");
    let scope_cols = scope_columns(table);
    let identity_col = table.column(&["Identity"]);
    let description_col = table.column(&["Description"]);
    for row in 0..table.len() {
        let source = table.location(row, None);
        let app = match app_col.get(row) {
            Some("*") => PolicyApp::Every,
            Some(_) => PolicyApp::App(guid_cell(app_col, row)?.expect("non-blank")),
            None => {
                return Err(Error::data(
                    app_col.location(row),
                    "AppId is blank; a policy names an AppId or *",
                ))
            }
        };
        let restrict = match right_col.get(row) {
            Some(v) if v.eq_ignore_ascii_case("RestrictAccess") => true,
            Some(v) if v.eq_ignore_ascii_case("DenyAccess") => false,
            other => {
                return Err(Error::data(
                    right_col.location(row),
                    format!(
                        "AccessRight '{}' is not RestrictAccess or DenyAccess; export the policy's AccessRight as Get-ApplicationAccessPolicy prints it",
                        other.unwrap_or("")
                    ),
                ))
            }
        };
        let name = [identity_col, description_col]
            .into_iter()
            .flatten()
            .find_map(|c| c.get(row))
            .map_or_else(|| format!("policy at {source}"), str::to_string);
        let scope_identity = scope_identity(&scope_cols, row);
        let valid = bool_cell(table, &["IsValid"], row, true)?;
        let mut scope = None;
        if !valid {
            findings.warn(
                kind::POLICY_INVALID,
                name.clone(),
                "IsValid is False (its scope group was probably deleted or is no longer mail-enabled security); its scope counts as empty",
                Some(source.clone()),
            );
        } else if let Some(identity) = &scope_identity {
            scope = dir.resolve_recipient(identity, &source)?;
            if scope.is_none() {
                findings.warn(
                    kind::POLICY_SCOPE_UNRESOLVED,
                    name.clone(),
                    format!("scope '{identity}' is not a mailbox or group of the snapshot; the policy allows and denies nobody{}", if restrict { ", but still puts the app in allow-list mode" } else { "" }),
                    Some(source.clone()),
                );
            }
        } else {
            findings.warn(
                kind::POLICY_SCOPE_UNRESOLVED,
                name.clone(),
                "policy has no scope identity; its scope counts as empty",
                Some(source.clone()),
            );
        }
        if let Some(Recipient::Group(g)) = scope {
            let group = &dir.groups[g as usize];
            if let Some(kind) = group
                .recipient_type
                .as_deref()
                .filter(|t| !t.eq_ignore_ascii_case(SECURITY_GROUP))
            {
                findings.warn(
                    kind::POLICY_SCOPE_TYPE,
                    name.clone(),
                    format!("scope group '{}' is a {kind}, and Exchange accepts only a mailbox or a mail-enabled security group as a policy scope (New-ApplicationAccessPolicy refuses it); the row is evaluated as written, but check how it was made and recreate it on a mail-enabled security group", group.label),
                    Some(source.clone()),
                );
            }
        }
        let (members_transitive, members_direct) = match scope {
            Some(r) => (dir.members_of(r, true), dir.members_of(r, false)),
            None => Default::default(),
        };
        policies.push(Policy {
            app,
            restrict,
            name,
            scope_identity,
            scope,
            members_transitive,
            members_direct,
            source,
        });
    }
    Ok(policies)
}
