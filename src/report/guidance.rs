//! What to do about each finding kind, and the controls of other frameworks the
//! report relates to (named as related, never as certified).

use crate::findings::kind;

/// One line of remediation for a finding kind.
pub fn remediation(k: &str) -> &'static str {
    match k {
        kind::UNRESOLVED_IDENTITY => "Export the missing recipient or remove the stale membership or scope reference, then analyze again.",
        kind::NOT_A_GROUP => "Point the scope or membership at a group (or list the mailbox itself).",
        kind::GROUP_IN_ADMINISTRATIVE_UNIT => "Add the group's members to the administrative unit directly; Entra does not expand groups in units.",
        kind::GROUP_NESTING_CYCLE => "Break the nesting cycle; a group should not contain itself through other groups.",
        kind::FILTER_MATCHES_NOTHING => "Fix or remove the management scope: its filter reaches no mailbox, so assignments on it grant nothing.",
        kind::FILTER_LINT => "Rewrite the filter as the lint says (parentheses around mixed -and/-or, a trailing * only).",
        kind::MEMBER_OF_GROUP_NOT_DN => "Use the group's DistinguishedName in MemberOfGroup (Get-Group <name> | Select DistinguishedName).",
        kind::RBAC_SHADOWED_BY_ENTRA => "Remove the app's Entra consent for the permission so the RBAC scope limits it (plan-migration writes the steps).",
        kind::TENANT_WIDE_UNSCOPED => "Scope the app: an RBAC for Applications assignment on a management scope, then remove the Entra consent (plan-migration).",
        kind::GRANTED_VIA_GRAPH_AND_EXCHANGE => "Remove the legacy Exchange (Outlook REST) grant; keep the Microsoft Graph one.",
        kind::IGNORED_ENTRA_GRANTS => "No action for mailbox access; review the listed grants with your Entra consent review.",
        kind::UNKNOWN_PRINCIPAL => "Remove the assignment, or recreate the service principal pointer (New-ServicePrincipal) if the app is still in use.",
        kind::POLICY_INVALID => "Remove the policy or recreate it on an existing mail-enabled security group (IsValid must be True).",
        kind::POLICY_SCOPE_UNRESOLVED => "Export the policy's scope group or mailbox, or remove the orphaned policy.",
        kind::POLICY_SCOPE_TYPE => "Recreate the policy on a mail-enabled security group or a single mailbox.",
        kind::UNKNOWN_APPLICATION_ROLE => "Use one of Microsoft's application roles (Application Mail.Read, ...); the assignment grants nothing as written.",
        kind::ASSIGNMENT_DISABLED => "Remove the disabled assignment or enable it deliberately.",
        kind::ASSIGNMENT_SCOPE_MISSING => "Recreate the missing scope, unit or group, or remove the assignment.",
        kind::ASSIGNMENT_SEVERAL_SCOPES => "Keep one scope per assignment; split it into several assignments.",
        kind::EXCLUSIVE_SCOPE_IGNORED => "No action: exclusive scopes do not restrict apps; do not rely on them to.",
        kind::AMBIGUOUS_SERVICE_PRINCIPAL => "Name the service principal by ObjectId or AppId in the assignment.",
        kind::ASSIGNMENT_SCOPE_KIND_UNKNOWN => "Check the assignment's RecipientWriteScope; exomatrix counted it as organization-wide.",
        _ => "Review the object named in the finding.",
    }
}

/// Controls of other frameworks this report bears on: (framework, control, relation).
pub const RELATED_CONTROLS: [(&str, &str, &str); 5] = [
    (
        "Maester",
        "MT.1058",
        "related: checks that application access policies exist; this report shows what they and RBAC actually allow, mailbox by mailbox",
    ),
    (
        "Prowler",
        "exchange_application_access_policy_restricts_mailbox_apps",
        "related: passes when a RestrictAccess policy exists for an app; the tables above show the mailboxes it leaves reachable",
    ),
    (
        "CIS Microsoft 365 Foundations",
        "5.1.5.1-5.1.5.2 (user and admin consent to apps)",
        "related: consent settings decide which apps can be granted mailbox permissions at all",
    ),
    (
        "CISA SCuBA",
        "MS.AAD.5.1-5.3 (application registration and consent)",
        "related: the baseline has no app-to-mailbox control; this report covers that gap",
    ),
    (
        "NIST SP 800-53",
        "AC-6 (least privilege), AC-6(10)",
        "related: tenant-wide and high-risk grants are the least-privilege evidence",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finding_kind_has_its_own_remediation() {
        let kinds = [
            kind::UNRESOLVED_IDENTITY,
            kind::NOT_A_GROUP,
            kind::GROUP_IN_ADMINISTRATIVE_UNIT,
            kind::GROUP_NESTING_CYCLE,
            kind::FILTER_MATCHES_NOTHING,
            kind::FILTER_LINT,
            kind::MEMBER_OF_GROUP_NOT_DN,
            kind::RBAC_SHADOWED_BY_ENTRA,
            kind::TENANT_WIDE_UNSCOPED,
            kind::GRANTED_VIA_GRAPH_AND_EXCHANGE,
            kind::IGNORED_ENTRA_GRANTS,
            kind::UNKNOWN_PRINCIPAL,
            kind::POLICY_INVALID,
            kind::POLICY_SCOPE_UNRESOLVED,
            kind::POLICY_SCOPE_TYPE,
            kind::UNKNOWN_APPLICATION_ROLE,
            kind::ASSIGNMENT_DISABLED,
            kind::ASSIGNMENT_SCOPE_MISSING,
            kind::ASSIGNMENT_SEVERAL_SCOPES,
            kind::EXCLUSIVE_SCOPE_IGNORED,
            kind::AMBIGUOUS_SERVICE_PRINCIPAL,
            kind::ASSIGNMENT_SCOPE_KIND_UNKNOWN,
        ];
        let fallback = remediation("no-such-kind");
        for k in kinds {
            assert_ne!(remediation(k), fallback, "{k}");
        }
    }
}
