//! The rows Exchange's test cmdlets print, computed from the same decisions, for
//! checking exomatrix against the tenant: `Test-ServicePrincipalAuthorization`
//! (RBAC only) and `Test-ApplicationAccessPolicy` (policies only).

use super::Explainer;
use crate::policy::{permissions, ScopeKind};

/// One row of `Test-ServicePrincipalAuthorization -Identity APP [-Resource MAILBOX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRow {
    pub role_name: String,
    pub granted_permissions: String,
    pub allowed_resource_scope: String,
    pub scope_type: String,
    /// `True`, `False`, or `Not Run` without a mailbox.
    pub in_scope: String,
}

impl Explainer {
    /// What `Test-ServicePrincipalAuthorization` prints: the app's enabled RBAC
    /// assignments only (Entra grants are not part of it), with InScope for `m`.
    pub fn test_service_principal_authorization(&self, m: Option<u32>) -> Vec<AuthorizationRow> {
        self.model.app_assignments[self.app as usize]
            .iter()
            .map(|&i| &self.model.assignments[i])
            .filter(|a| a.enabled)
            .map(|a| {
                let (scope, scope_type) = match &a.scope {
                    ScopeKind::Organization => ("Organization".to_string(), "Organization"),
                    ScopeKind::Custom(i) => {
                        (self.model.scopes[*i].name.clone(), "CustomRecipientScope")
                    }
                    ScopeKind::AdministrativeUnit(u) => (
                        self.directory.admin_units[*u as usize].label.clone(),
                        "AdministrativeUnit",
                    ),
                    ScopeKind::Group(g) => {
                        (self.directory.groups[*g as usize].label.clone(), "Group")
                    }
                    ScopeKind::Missing(name) => (name.clone(), "Missing"),
                    ScopeKind::UnknownKind(kind) => {
                        ("Organization (assumed)".to_string(), kind.as_str())
                    }
                };
                AuthorizationRow {
                    role_name: a.role.clone(),
                    granted_permissions: a
                        .permissions
                        .iter()
                        .map(|&p| permissions::info(p).name)
                        .collect::<Vec<_>>()
                        .join(", "),
                    allowed_resource_scope: scope,
                    scope_type: scope_type.to_string(),
                    in_scope: match m {
                        None => "Not Run".to_string(),
                        Some(m) if self.scope_decision(a, m).0 => "True".to_string(),
                        Some(_) => "False".to_string(),
                    },
                }
            })
            .collect()
    }

    /// What `Test-ApplicationAccessPolicy -Identity MAILBOX -AppId APP` prints:
    /// `Granted` or `Denied` by the app's application access policies alone.
    pub fn test_application_access_policy(&self, m: u32) -> &'static str {
        if self.aap_decision(m).0 {
            "Granted"
        } else {
            "Denied"
        }
    }
}
