//! Entra application-permission grants (app role assignments) that reach mailboxes.
//!
//! A grant is recognised by its AppRoleId when that id is known, else by its
//! Permission value. Graph permissions count only on Microsoft Graph (or when the
//! row names no resource); `full_access_as_app` only on Office 365 Exchange Online.

use std::collections::{BTreeMap, HashSet};

use super::apps::AppCollector;
use super::permissions::{self, EntraSource, PermissionId, EXCHANGE_APP_ID, GRAPH_APP_ID};
use crate::error::{Location, Result};
use crate::findings::{kind, Findings};
use crate::snapshot::{first_present, guid_cell, Table};

/// One Entra grant of a catalogue permission to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraGrant {
    pub app_id: String,
    pub permission: PermissionId,
    pub source: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Graph,
    Exchange,
    Other,
    Unnamed,
}

/// Reads every grant row; grants that do not reach mailboxes are counted in one finding.
pub fn read_grants(
    table: &Table,
    apps: &mut AppCollector,
    findings: &mut Findings,
) -> Result<Vec<EntraGrant>> {
    let mut grants = Vec::new();
    if table.is_empty() {
        return Ok(grants);
    }
    let app_col = table.column(&["AppId"]);
    let principal_col = table.column(&["PrincipalId"]);
    let resource_id_col = table.column(&["ResourceAppId"]);
    let resource_name_col = table.column(&["ResourceDisplayName"]);
    let role_id_col = table.column(&["AppRoleId"]);
    let value_col = table.column(&["Permission"]);
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    let mut legacy: HashSet<(String, PermissionId)> = HashSet::new();

    for row in 0..table.len() {
        let app_id = match (
            app_col.map(|c| guid_cell(c, row)).transpose()?.flatten(),
            principal_col,
        ) {
            (Some(app_id), _) => app_id,
            (None, Some(pc)) => match guid_cell(pc, row)? {
                Some(object_id) => match apps.app_id_of_object(&object_id) {
                    Some(app_id) => app_id.to_string(),
                    None => {
                        findings.warn(
                            kind::UNKNOWN_PRINCIPAL,
                            object_id,
                            "Entra grant to a service principal object id that service_principals does not list; the grant is skipped (add the service principal or an AppId column)",
                            Some(pc.location(row)),
                        );
                        continue;
                    }
                },
                None => {
                    findings.warn(
                        kind::UNKNOWN_PRINCIPAL,
                        "app_role_assignments",
                        "grant row names no AppId or PrincipalId; skipped",
                        Some(table.location(row, None)),
                    );
                    continue;
                }
            },
            (None, None) => {
                findings.warn(
                    kind::UNKNOWN_PRINCIPAL,
                    "app_role_assignments",
                    "grant row names no AppId; skipped",
                    Some(table.location(row, None)),
                );
                continue;
            }
        };
        let resource = match first_present(&[resource_id_col, resource_name_col], row) {
            None => Resource::Unnamed,
            Some((_, v))
                if v.eq_ignore_ascii_case(GRAPH_APP_ID)
                    || v.eq_ignore_ascii_case("Microsoft Graph") =>
            {
                Resource::Graph
            }
            Some((_, v))
                if v.eq_ignore_ascii_case(EXCHANGE_APP_ID)
                    || v.eq_ignore_ascii_case("Office 365 Exchange Online") =>
            {
                Resource::Exchange
            }
            Some(_) => Resource::Other,
        };
        let role_id = role_id_col
            .map(|c| guid_cell(c, row))
            .transpose()?
            .flatten();
        let value = value_col.and_then(|c| c.get(row));
        let known = role_id.as_deref().and_then(permissions::by_app_role_id);
        let (source, permission, label) = match (known, value) {
            (Some((source, p)), _) => (source, Some(p), permissions::entra_value(p).to_string()),
            (None, Some(v)) if v.eq_ignore_ascii_case("full_access_as_app") => (
                EntraSource::Exchange,
                permissions::by_name("EWS.AccessAsApp"),
                v.to_string(),
            ),
            (None, Some(v)) => match permissions::by_name(v) {
                Some(p) if permissions::info(p).entra == EntraSource::Graph => {
                    (EntraSource::Graph, Some(p), v.to_string())
                }
                _ => (EntraSource::None, None, v.to_string()),
            },
            (None, None) => (
                EntraSource::None,
                None,
                format!("app role {}", role_id.unwrap_or_else(|| "(blank)".into())),
            ),
        };
        let counts = match (source, resource) {
            (EntraSource::Graph, Resource::Graph | Resource::Unnamed) => true,
            (EntraSource::Exchange, Resource::Exchange | Resource::Unnamed) => true,
            (EntraSource::Graph, Resource::Exchange) => {
                // The legacy Outlook REST role of the same name on the Exchange resource.
                if let Some(p) = permission {
                    legacy.insert((app_id.clone(), p));
                }
                false
            }
            _ => false,
        };
        apps.add_app_id(&app_id);
        match permission.filter(|_| counts) {
            Some(permission) => grants.push(EntraGrant {
                app_id,
                permission,
                source: table.location(row, None),
            }),
            None => {
                let on = match resource {
                    Resource::Graph => " on Microsoft Graph",
                    Resource::Exchange => " on Office 365 Exchange Online",
                    Resource::Other => " on another resource",
                    Resource::Unnamed => "",
                };
                *ignored.entry(format!("{label}{on}")).or_default() += 1;
            }
        }
    }

    if !ignored.is_empty() {
        let total: usize = ignored.values().sum();
        let list: Vec<String> = ignored.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        findings.info(
            kind::IGNORED_ENTRA_GRANTS,
            "app_role_assignments",
            format!("{total} Entra grants do not reach mailbox data in the catalogue and were ignored: {}", list.join(", ")),
            Some(Location::file(&table.file)),
        );
    }
    let held: HashSet<(String, PermissionId)> = grants
        .iter()
        .map(|g| (g.app_id.clone(), g.permission))
        .collect();
    let mut both: Vec<_> = legacy.intersection(&held).cloned().collect();
    both.sort();
    for (app_id, p) in both {
        findings.warn(
            kind::GRANTED_VIA_GRAPH_AND_EXCHANGE,
            app_id,
            format!(
                "{} is granted both on Microsoft Graph and (as the legacy Outlook REST role) on Office 365 Exchange Online; the Exchange grant is ignored by this analysis but should be removed",
                permissions::info(p).name
            ),
            Some(Location::file(&table.file)),
        );
    }
    Ok(grants)
}
