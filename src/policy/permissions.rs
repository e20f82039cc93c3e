//! The permission catalogue (ids are positions, stable across releases), the
//! Exchange application roles, and the Entra application role ids.

/// A permission id: an index into [`CATALOGUE`].
pub type PermissionId = u8;

/// Microsoft Graph's application id.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's application id (the EWS resource).
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";

/// How Entra can grant a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntraSource {
    /// A Microsoft Graph application role.
    Graph,
    /// `full_access_as_app` on Office 365 Exchange Online.
    Exchange,
    /// Entra cannot grant it (an Entra grant of it is ignored).
    None,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct PermissionInfo {
    pub name: &'static str,
    pub entra: EntraSource,
    /// Whether an Exchange application role grants it.
    pub rbac: bool,
    /// Whether Application Access Policies constrain its Entra grants.
    pub aap: bool,
}

const fn p(name: &'static str, entra: EntraSource, rbac: bool, aap: bool) -> PermissionInfo {
    PermissionInfo {
        name,
        entra,
        rbac,
        aap,
    }
}

use EntraSource::{Exchange, Graph};

/// Every permission exomatrix tracks, in id order.
pub const CATALOGUE: [PermissionInfo; 24] = [
    p("Mail.Read", Graph, true, true),
    p("Mail.ReadBasic", Graph, true, true),
    p("Mail.ReadWrite", Graph, true, true),
    p("Mail.Send", Graph, true, true),
    p("Mail.ReadBasic.All", Graph, false, true),
    p("MailboxSettings.Read", Graph, true, true),
    p("MailboxSettings.ReadWrite", Graph, true, true),
    p("Calendars.Read", Graph, true, true),
    p("Calendars.ReadWrite", Graph, true, true),
    p("Contacts.Read", Graph, true, true),
    p("Contacts.ReadWrite", Graph, true, true),
    p("EWS.AccessAsApp", Exchange, true, true),
    p("Calendars.ReadBasic.All", Graph, false, false),
    p("MailboxFolder.Read.All", Graph, true, false),
    p("MailboxFolder.ReadWrite.All", Graph, true, false),
    p("MailboxItem.Read.All", Graph, true, false),
    p("MailboxItem.ReadWrite.All", Graph, true, false),
    p("MailboxItem.Export.All", Graph, true, false),
    p("MailboxItem.ImportExport.All", Graph, true, false),
    p("MailboxConfigItem.Read", Graph, true, false),
    p("MailboxConfigItem.ReadWrite", Graph, true, false),
    p("MailTips.ReadBasic.All", Graph, true, false),
    p("Mail-Advanced.ReadWrite.All", Graph, true, false),
    p("SMTP.SendAsApp", EntraSource::None, true, false),
];

/// Number of permissions.
pub const COUNT: usize = CATALOGUE.len();

/// The catalogue entry of an id.
pub fn info(id: PermissionId) -> &'static PermissionInfo {
    &CATALOGUE[id as usize]
}

/// Looks a permission up by name, case-insensitively.
pub fn by_name(name: &str) -> Option<PermissionId> {
    CATALOGUE
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .map(|i| i as PermissionId)
}

fn id(name: &str) -> PermissionId {
    by_name(name).expect("catalogue name")
}

/// Microsoft Graph application role ids of the mailbox permissions.
const GRAPH_ROLE_IDS: [(&str, &str); 13] = [
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
    ("6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a", "Mail.ReadBasic"),
    ("693c5e45-0940-467d-9b8a-1022fb9d42ef", "Mail.ReadBasic.All"),
    ("e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"),
    ("b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send"),
    (
        "40f97065-369a-49f4-947c-6a255697ae91",
        "MailboxSettings.Read",
    ),
    (
        "6931bccd-447a-43d1-b442-00a195474933",
        "MailboxSettings.ReadWrite",
    ),
    ("798ee544-9d2d-430c-a058-570e29e34338", "Calendars.Read"),
    (
        "8ba4a692-bc31-4128-9094-475872af8a53",
        "Calendars.ReadBasic.All",
    ),
    (
        "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
        "Calendars.ReadWrite",
    ),
    ("089fe4d0-434a-44c5-8827-41ba8a0b17f5", "Contacts.Read"),
    ("6918b873-d17a-4dc1-b314-35f528134491", "Contacts.ReadWrite"),
    ("dc890d15-9560-4a4c-9b7f-a736ec74ec40", "full_access_as_app"),
];

/// The resource an app role id belongs to, and the permission it stands for.
pub fn by_app_role_id(role_id: &str) -> Option<(EntraSource, PermissionId)> {
    let role_id = role_id.trim().to_ascii_lowercase();
    GRAPH_ROLE_IDS
        .iter()
        .find(|(rid, _)| *rid == role_id)
        .map(|(_, name)| {
            if *name == "full_access_as_app" {
                (Exchange, id("EWS.AccessAsApp"))
            } else {
                (Graph, id(name))
            }
        })
}

/// The Entra application role id a permission is consented as, when it is one
/// of the known ids ([`by_app_role_id`] in reverse).
pub fn app_role_id(permission: PermissionId) -> Option<&'static str> {
    let value = entra_value(permission);
    GRAPH_ROLE_IDS
        .iter()
        .find(|(_, name)| *name == value)
        .map(|(rid, _)| *rid)
}

/// The Entra permission value a catalogue permission is consented as.
pub fn entra_value(id: PermissionId) -> &'static str {
    match info(id).entra {
        Exchange => "full_access_as_app",
        _ => info(id).name,
    }
}

/// The application roles of Exchange Online and the permissions each grants,
/// exactly as Microsoft's "Supported Application Roles" table lists them
/// (learn.microsoft.com/exchange/permissions-exo/application-rbac). Names are
/// matched whole and case-insensitively: most roles drop the permission's
/// `.All` suffix (`Application MailboxFolder.Read`), but `Application
/// MailTips.ReadBasic.All` and `Application Mail-Advanced.ReadWrite.All` keep
/// it, so no rule derives one from the other.
pub const APPLICATION_ROLES: [(&str, &[&str]); 24] = [
    ("Application Mail.Read", &["Mail.Read"]),
    ("Application Mail.ReadBasic", &["Mail.ReadBasic"]),
    ("Application Mail.ReadWrite", &["Mail.ReadWrite"]),
    ("Application Mail.Send", &["Mail.Send"]),
    (
        "Application MailboxSettings.Read",
        &["MailboxSettings.Read"],
    ),
    (
        "Application MailboxSettings.ReadWrite",
        &["MailboxSettings.ReadWrite"],
    ),
    ("Application Calendars.Read", &["Calendars.Read"]),
    ("Application Calendars.ReadWrite", &["Calendars.ReadWrite"]),
    ("Application Contacts.Read", &["Contacts.Read"]),
    ("Application Contacts.ReadWrite", &["Contacts.ReadWrite"]),
    (
        "Application MailboxFolder.Read",
        &["MailboxFolder.Read.All"],
    ),
    (
        "Application MailboxFolder.ReadWrite",
        &["MailboxFolder.ReadWrite.All"],
    ),
    ("Application MailboxItem.Read", &["MailboxItem.Read.All"]),
    (
        "Application MailboxItem.ReadWrite",
        &["MailboxItem.ReadWrite.All"],
    ),
    (
        "Application MailboxItem.Export",
        &["MailboxItem.Export.All"],
    ),
    (
        "Application MailboxItem.ImportExport",
        &["MailboxItem.ImportExport.All"],
    ),
    (
        "Application MailboxConfigItem.Read",
        &["MailboxConfigItem.Read"],
    ),
    (
        "Application MailboxConfigItem.ReadWrite",
        &["MailboxConfigItem.ReadWrite"],
    ),
    (
        "Application MailTips.ReadBasic.All",
        &["MailTips.ReadBasic.All"],
    ),
    (
        "Application Mail-Advanced.ReadWrite.All",
        &["Mail-Advanced.ReadWrite.All"],
    ),
    ("Application EWS.AccessAsApp", &["EWS.AccessAsApp"]),
    ("Application SMTP.SendAsApp", &["SMTP.SendAsApp"]),
    (
        "Application Mail Full Access",
        &["Mail.ReadWrite", "Mail.Send"],
    ),
    (
        "Application Exchange Full Access",
        &[
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.ReadWrite",
            "Calendars.ReadWrite",
            "Contacts.ReadWrite",
        ],
    ),
];

/// The permissions an Exchange application role grants; `None` if the role is unknown.
pub fn role_permissions(role: &str) -> Option<Vec<PermissionId>> {
    let role = role.trim();
    APPLICATION_ROLES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(role))
        .map(|(_, perms)| perms.iter().map(|p| id(p)).collect())
}

/// The application role that grants exactly one permission, if any (the
/// bundles `Mail Full Access` and `Exchange Full Access` are not counted).
pub fn role_for_permission(permission: PermissionId) -> Option<&'static str> {
    let name = info(permission).name;
    APPLICATION_ROLES
        .iter()
        .find(|(_, perms)| *perms == [name])
        .map(|(role, _)| *role)
}

/// Whether a role name is an application role at all (`Application ...`).
pub fn is_application_role(role: &str) -> bool {
    role.trim()
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("Application "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of Microsoft's "Supported Application Roles" table, and the
    /// near-miss names that must stay unknown.
    #[test]
    fn application_roles_are_exactly_the_documented_table() {
        let names = |role: &str| {
            role_permissions(role)
                .map(|ids| ids.into_iter().map(|i| info(i).name).collect::<Vec<_>>())
        };
        let documented: [(&str, &[&str]); 24] = [
            ("Application Mail.Read", &["Mail.Read"]),
            ("Application Mail.ReadBasic", &["Mail.ReadBasic"]),
            ("Application Mail.ReadWrite", &["Mail.ReadWrite"]),
            ("Application Mail.Send", &["Mail.Send"]),
            (
                "Application MailboxSettings.Read",
                &["MailboxSettings.Read"],
            ),
            (
                "Application MailboxSettings.ReadWrite",
                &["MailboxSettings.ReadWrite"],
            ),
            ("Application Calendars.Read", &["Calendars.Read"]),
            ("Application Calendars.ReadWrite", &["Calendars.ReadWrite"]),
            ("Application Contacts.Read", &["Contacts.Read"]),
            ("Application Contacts.ReadWrite", &["Contacts.ReadWrite"]),
            (
                "Application MailboxFolder.Read",
                &["MailboxFolder.Read.All"],
            ),
            (
                "Application MailboxFolder.ReadWrite",
                &["MailboxFolder.ReadWrite.All"],
            ),
            ("Application MailboxItem.Read", &["MailboxItem.Read.All"]),
            (
                "Application MailboxItem.ReadWrite",
                &["MailboxItem.ReadWrite.All"],
            ),
            (
                "Application MailboxItem.Export",
                &["MailboxItem.Export.All"],
            ),
            (
                "Application MailboxItem.ImportExport",
                &["MailboxItem.ImportExport.All"],
            ),
            (
                "Application MailboxConfigItem.Read",
                &["MailboxConfigItem.Read"],
            ),
            (
                "Application MailboxConfigItem.ReadWrite",
                &["MailboxConfigItem.ReadWrite"],
            ),
            (
                "Application MailTips.ReadBasic.All",
                &["MailTips.ReadBasic.All"],
            ),
            (
                "Application Mail-Advanced.ReadWrite.All",
                &["Mail-Advanced.ReadWrite.All"],
            ),
            ("Application EWS.AccessAsApp", &["EWS.AccessAsApp"]),
            ("Application SMTP.SendAsApp", &["SMTP.SendAsApp"]),
            (
                "Application Mail Full Access",
                &["Mail.ReadWrite", "Mail.Send"],
            ),
            (
                "Application Exchange Full Access",
                &[
                    "Mail.ReadWrite",
                    "Mail.Send",
                    "MailboxSettings.ReadWrite",
                    "Calendars.ReadWrite",
                    "Contacts.ReadWrite",
                ],
            ),
        ];
        for (role, expected) in documented {
            assert_eq!(names(role).as_deref(), Some(expected), "{role}");
            // Names match case-insensitively and around surrounding blanks.
            assert_eq!(
                names(&format!("  {}  ", role.to_uppercase())).as_deref(),
                Some(expected),
                "{role} upper-cased"
            );
        }
        for unknown in [
            "Application MailTips.ReadBasic",
            "Application Mail-Advanced.ReadWrite",
            "Application MailboxFolder.Read.All",
            "Application MailboxFolder.ReadWrite.All",
            "Application MailboxItem.Read.All",
            "Application MailboxItem.ImportExport.All",
            "Application MailboxConfigItem.Read.All",
            "Application Mail.ReadBasic.All",
            "Application Calendars.ReadBasic",
            "Application Calendars.ReadBasic.All",
            "Application EWS.AccessAsApp.All",
            "Application Teams.Read",
            "ApplicationMail.Read",
            "Mail.Read",
            "Mail Recipients",
        ] {
            assert_eq!(names(unknown), None, "{unknown} must be unknown");
        }
        assert!(is_application_role("APPLICATION Teams.Read"));
        assert!(!is_application_role("Mail Recipients"));
    }

    #[test]
    fn single_permission_roles_are_found_by_permission() {
        let role = |p: &str| role_for_permission(by_name(p).unwrap());
        assert_eq!(role("Mail.Read"), Some("Application Mail.Read"));
        assert_eq!(
            role("MailboxFolder.Read.All"),
            Some("Application MailboxFolder.Read")
        );
        assert_eq!(
            role("MailTips.ReadBasic.All"),
            Some("Application MailTips.ReadBasic.All")
        );
        assert_eq!(role("EWS.AccessAsApp"), Some("Application EWS.AccessAsApp"));
        assert_eq!(role("Mail.ReadBasic.All"), None);
        assert_eq!(role("Calendars.ReadBasic.All"), None);
        // Every RBAC-grantable permission has a role of its own.
        for (i, p) in CATALOGUE.iter().enumerate() {
            assert_eq!(
                role_for_permission(i as PermissionId).is_some(),
                p.rbac,
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn app_role_ids_map_to_permissions() {
        assert_eq!(
            by_app_role_id("810C84A8-4A9E-49E6-BF7D-12D183F40D01"),
            Some((Graph, by_name("Mail.Read").unwrap()))
        );
        assert_eq!(
            by_app_role_id("dc890d15-9560-4a4c-9b7f-a736ec74ec40"),
            Some((Exchange, by_name("EWS.AccessAsApp").unwrap()))
        );
        assert_eq!(by_app_role_id("df021288-bdef-4463-88db-98f22de89214"), None);
        for (rid, _) in GRAPH_ROLE_IDS {
            let (_, p) = by_app_role_id(rid).unwrap();
            assert_eq!(app_role_id(p), Some(rid));
        }
        // User.Read.All
    }

    #[test]
    fn aap_constrainable_are_exactly_the_documented_twelve() {
        let a: Vec<&str> = CATALOGUE.iter().filter(|p| p.aap).map(|p| p.name).collect();
        assert_eq!(
            a,
            [
                "Mail.Read",
                "Mail.ReadBasic",
                "Mail.ReadWrite",
                "Mail.Send",
                "Mail.ReadBasic.All",
                "MailboxSettings.Read",
                "MailboxSettings.ReadWrite",
                "Calendars.Read",
                "Calendars.ReadWrite",
                "Contacts.Read",
                "Contacts.ReadWrite",
                "EWS.AccessAsApp"
            ]
        );
    }
}
