//! DESIGN.md §3: one test per rule, named after the rule, on small tenants built
//! in a temporary directory and analysed end to end (CSV load included).

mod common;

use std::path::Path;

use arrow_array::Array;
use common::{guid, ms, Scope, Tenant};
use exomatrix::analysis::{Analysis, AnalysisOptions};
use exomatrix::findings::kind;
use exomatrix::policy::{permissions, Nesting};

const ENTRA: u8 = 1;
const RBAC: u8 = 2;
const BOTH: u8 = 3;

fn all(n: u32) -> Vec<String> {
    ms(&(0..n).collect::<Vec<_>>())
}

// ---- 3.1 permissions -------------------------------------------------------

#[test]
fn entra_grant_reaches_every_mailbox_by_default() {
    let o = Tenant::new(4)
        .app("App")
        .entra("App", "Mail.Read")
        .analyze();
    assert_eq!(
        o.cells("App", "Mail.Read"),
        all(4).into_iter().map(|m| (m, ENTRA)).collect::<Vec<_>>()
    );
}

#[test]
fn entra_grant_by_app_role_id_is_recognised() {
    let o = Tenant::new(2)
        .app("App")
        .grant_row(
            "App",
            "Microsoft Graph",
            "b633e1c5-b582-4048-a93e-9f11b44c7e96",
            "",
        )
        .analyze();
    assert_eq!(o.reach("App", "Mail.Send"), all(2));
}

#[test]
fn known_app_role_id_wins_over_permission_value() {
    let o = Tenant::new(2)
        .app("App")
        .grant_row(
            "App",
            "Microsoft Graph",
            "810c84a8-4a9e-49e6-bf7d-12d183f40d01",
            "Mail.Send",
        )
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), all(2));
    assert!(o.reach("App", "Mail.Send").is_empty());
}

#[test]
fn permission_value_matches_case_insensitively() {
    let o = Tenant::new(2)
        .app("App")
        .entra("App", "calendars.readwrite")
        .analyze();
    assert_eq!(o.reach("App", "Calendars.ReadWrite"), all(2));
}

#[test]
fn graph_permission_counts_without_a_resource_but_not_on_another_resource() {
    let o = Tenant::new(2)
        .app("NoResource")
        .app("Other")
        .grant_row("NoResource", "", "", "Contacts.Read")
        .grant_row("Other", "SharePoint", "", "Contacts.Read")
        .analyze();
    assert_eq!(o.reach("NoResource", "Contacts.Read"), all(2));
    assert!(o.reach("Other", "Contacts.Read").is_empty());
    assert_eq!(o.findings(kind::IGNORED_ENTRA_GRANTS).len(), 1);
}

#[test]
fn full_access_as_app_counts_only_on_exchange_online() {
    let o = Tenant::new(2)
        .app("Ews")
        .app("Wrong")
        .grant_row(
            "Ews",
            "Office 365 Exchange Online",
            "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
            "",
        )
        .grant_row("Wrong", "Microsoft Graph", "", "full_access_as_app")
        .analyze();
    assert_eq!(o.reach("Ews", "EWS.AccessAsApp"), all(2));
    assert!(o.reach("Wrong", "EWS.AccessAsApp").is_empty());
}

#[test]
fn same_permission_on_graph_and_exchange_resource_is_a_finding_and_exchange_grant_ignored() {
    let o = Tenant::new(2)
        .app("Sync")
        .entra("Sync", "Mail.Read")
        .grant_row("Sync", "Office 365 Exchange Online", "", "Mail.Read")
        .analyze();
    assert_eq!(o.reach("Sync", "Mail.Read"), all(2));
    assert_eq!(o.findings(kind::GRANTED_VIA_GRAPH_AND_EXCHANGE).len(), 1);
}

#[test]
fn smtp_send_as_app_and_non_mailbox_entra_grants_are_ignored_and_counted() {
    let o = Tenant::new(2)
        .app("App")
        .entra("App", "SMTP.SendAsApp")
        .entra("App", "User.Read.All")
        .analyze();
    assert!(o.reach("App", "SMTP.SendAsApp").is_empty());
    let f = o.findings(kind::IGNORED_ENTRA_GRANTS);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.starts_with("2 Entra grants"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].message
            .contains("SMTP.SendAsApp on Microsoft Graph ×1"),
        "{}",
        f[0].message
    );
}

#[test]
fn grant_by_principal_id_resolves_through_the_service_principal() {
    let o = Tenant::new(2)
        .app("App")
        .grant_by_principal("App", "Mail.Read")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), all(2));
}

#[test]
fn app_id_wins_over_principal_id_in_grants() {
    let mut t = Tenant::new(2).app("First").app("Second");
    let row = format!(
        "{},{},Microsoft Graph,,Mail.Read",
        t.app_id("First"),
        t.object_id("Second")
    );
    t = t.grant_row("First", "Microsoft Graph", "", "Mail.Send");
    let dir = tempfile::tempdir().unwrap();
    t.write(dir.path());
    let path = dir.path().join("app_role_assignments.csv");
    let text = std::fs::read_to_string(&path).unwrap() + &row + "\n";
    std::fs::write(&path, text).unwrap();
    let a = exomatrix::Analysis::run(dir.path(), Default::default()).unwrap();
    let first = a.model.apps.by_app_id(&t.app_id("First")).unwrap();
    let second = a.model.apps.by_app_id(&t.app_id("Second")).unwrap();
    let read = exomatrix::policy::permissions::by_name("Mail.Read").unwrap();
    assert!(a.matrix.grant(first, read).is_some());
    assert!(a.matrix.grant(second, read).is_none());
}

#[test]
fn application_roles_grant_their_permissions_including_full_access_bundles() {
    let o = Tenant::new(2)
        .app("App")
        .assign("App", "Application Exchange Full Access", Scope::Org)
        .assign("App", "application mailboxfolder.read", Scope::Org)
        .analyze();
    for p in [
        "Mail.ReadWrite",
        "Mail.Send",
        "MailboxSettings.ReadWrite",
        "Calendars.ReadWrite",
        "Contacts.ReadWrite",
        "MailboxFolder.Read.All",
    ] {
        assert_eq!(o.reach("App", p), all(2), "{p}");
    }
    assert!(o.reach("App", "Mail.Read").is_empty());
}

#[test]
fn mail_full_access_role_grants_readwrite_and_send() {
    let o = Tenant::new(1)
        .app("App")
        .assign("App", "Application Mail Full Access", Scope::Org)
        .analyze();
    assert_eq!(o.reach("App", "Mail.ReadWrite"), all(1));
    assert_eq!(o.reach("App", "Mail.Send"), all(1));
    assert!(o.reach("App", "Calendars.ReadWrite").is_empty());
}

#[test]
fn matrix_does_not_infer_read_from_readwrite() {
    let o = Tenant::new(2)
        .app("App")
        .entra("App", "Mail.ReadWrite")
        .analyze();
    assert!(o.reach("App", "Mail.Read").is_empty());
}

#[test]
fn unknown_application_role_is_a_finding_and_other_roles_are_ignored() {
    let o = Tenant::new(2)
        .app("App")
        .assign("App", "Application MailboxFolder.Read.All", Scope::Org)
        .assign("App", "Mail Recipients", Scope::Org)
        .analyze();
    assert_eq!(o.findings(kind::UNKNOWN_APPLICATION_ROLE).len(), 1);
    assert!(o.analysis.matrix.grants.is_empty());
}

// ---- 3.2 application access policies ---------------------------------------

#[test]
fn restrict_policy_on_even_users_limits_entra_grant_to_members_nested_included() {
    let o = Tenant::new(8)
        .group("EvenUsers", &["m0", "m2", "m4", "Contractors"])
        .group("Contractors", &["m7"])
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "EvenUsers")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0, 2, 4, 7]));
    assert_eq!(o.analysis.matrix.nesting_dependent_cells, 1);
}

#[test]
fn aap_nesting_direct_counts_only_direct_members() {
    let o = Tenant::new(8)
        .group("EvenUsers", &["m0", "m2", "Contractors"])
        .group("Contractors", &["m7"])
        .app("App")
        .entra("App", "Mail.Read")
        .entra("App", "Calendars.Read")
        .policy("App", "RestrictAccess", "EvenUsers")
        .with_nesting(Nesting::Direct)
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0, 2]));
    assert_eq!(o.analysis.matrix.nesting_dependent_cells, 2);
}

#[test]
fn deny_beats_restrict() {
    let o = Tenant::new(4)
        .group("Team", &["m0", "m1", "m2"])
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "Team")
        .policy("App", "DenyAccess", "m1")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0, 2]));
}

#[test]
fn deny_only_means_all_but_the_denied() {
    let o = Tenant::new(4)
        .group("Execs", &["m3"])
        .app("App")
        .entra("App", "Calendars.ReadWrite")
        .policy("App", "DenyAccess", "Execs")
        .analyze();
    assert_eq!(o.reach("App", "Calendars.ReadWrite"), ms(&[0, 1, 2]));
}

#[test]
fn several_restrict_policies_add_up() {
    let o = Tenant::new(5)
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "m1")
        .policy("App", "restrictaccess", "m3")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[1, 3]));
}

#[test]
fn app_id_star_policy_applies_to_every_app() {
    let o = Tenant::new(3)
        .app("One")
        .app("Two")
        .entra("One", "Mail.Read")
        .entra("Two", "Contacts.Read")
        .policy("*", "DenyAccess", "m0")
        .analyze();
    assert_eq!(o.reach("One", "Mail.Read"), ms(&[1, 2]));
    assert_eq!(o.reach("Two", "Contacts.Read"), ms(&[1, 2]));
}

#[test]
fn aap_constrains_only_the_documented_permissions() {
    let o = Tenant::new(3)
        .app("App")
        .entra("App", "Mail.Read")
        .entra("App", "Calendars.ReadBasic.All")
        .entra("App", "MailboxItem.Read.All")
        .policy("App", "RestrictAccess", "m0")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0]));
    assert_eq!(o.reach("App", "Calendars.ReadBasic.All"), all(3));
    assert_eq!(o.reach("App", "MailboxItem.Read.All"), all(3));
}

#[test]
fn invalid_restrict_policy_allows_nobody_but_keeps_allow_list_mode() {
    let o = Tenant::new(3)
        .group("Gone", &["m0"])
        .app("App")
        .entra("App", "Mail.Read")
        .policy_row("App", "RestrictAccess", "Gone", "False")
        .analyze();
    assert!(o.reach("App", "Mail.Read").is_empty());
    assert_eq!(o.findings(kind::POLICY_INVALID).len(), 1);
}

#[test]
fn policy_scoped_to_a_group_type_exchange_rejects_is_a_finding_and_evaluated_as_written() {
    let o = Tenant::new(4)
        .group("Sales", &["m0", "m1"])
        .group_type("Sales", "MailUniversalDistributionGroup")
        .group("Team", &["m2"])
        .group_type("Team", "GroupMailbox")
        .group("Secure", &["m3"])
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "Sales")
        .policy("App", "RestrictAccess", "Team")
        .policy("App", "RestrictAccess", "Secure")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0, 1, 2, 3]));
    let found = o.findings(kind::POLICY_SCOPE_TYPE);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0]
        .message
        .contains("'Sales' is a MailUniversalDistributionGroup"));
    assert!(found[1].message.contains("'Team' is a GroupMailbox"));
}

#[test]
fn unresolved_policy_scope_is_a_finding_and_counts_as_empty() {
    let o = Tenant::new(3)
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "DenyAccess", "nobody")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), all(3));
    assert_eq!(o.findings(kind::POLICY_SCOPE_UNRESOLVED).len(), 1);
}

#[test]
fn access_right_other_than_restrict_or_deny_is_an_error_naming_file_line_and_value() {
    let err = Tenant::new(1)
        .app("App")
        .policy("App", "AllowAccess", "m0")
        .try_analyze()
        .err()
        .unwrap()
        .to_string();
    let (path, message) = err.split_once(", line").unwrap();
    assert!(path.ends_with("application_access_policies.csv"), "{path}");
    assert_eq!(
        message,
        " 2, column AccessRight: AccessRight 'AllowAccess' is not RestrictAccess or DenyAccess; export the policy's AccessRight as Get-ApplicationAccessPolicy prints it"
    );
}

#[test]
fn policy_scope_comes_from_the_guid_half_of_scope_identity_raw_without_fallback() {
    let t = Tenant::new(3)
        .group("Team", &["m1"])
        .app("App")
        .entra("App", "Mail.Read");
    let dir = tempfile::tempdir().unwrap();
    t.write(dir.path());
    let group_guid = common::guid(2, 0); // Team's ExternalDirectoryObjectId
    std::fs::write(
        dir.path().join("application_access_policies.csv"),
        format!(
            "AppId,AccessRight,ScopeIdentityRaw,ScopeIdentity,ScopeName\n\
             {app},RestrictAccess,S-1-5-21-1-2-3-1013;{group_guid},m2@contoso.com,m2\n\
             {app},RestrictAccess,,,m0\n",
            app = t.app_id("App")
        ),
    )
    .unwrap();
    let a = exomatrix::Analysis::run(dir.path(), Default::default()).unwrap();
    let app = a.model.apps.by_app_id(&t.app_id("App")).unwrap();
    let g = a.matrix.grant(app, 0).unwrap();
    assert_eq!(g.cells.cells().iter().collect::<Vec<_>>(), [0, 1]);
}

// ---- 3.3 RBAC for applications ---------------------------------------------

#[test]
fn rbac_calendars_read_on_canadian_employees_reaches_exactly_that_attribute() {
    let o = Tenant::new(5)
        .column(
            "CustomAttribute1",
            &["012332", "", "012332", "0123321", "012332 "],
        )
        .app("Example")
        .scope("Canadian employees", "CustomAttribute1 -eq '012332'")
        .assign(
            "Example",
            "Application Calendars.Read",
            Scope::Custom("canadian EMPLOYEES"),
        )
        .analyze();
    assert_eq!(
        o.cells("Example", "Calendars.Read"),
        vec![
            ("m0".into(), RBAC),
            ("m2".into(), RBAC),
            ("m4".into(), RBAC)
        ]
    );
    assert!(o.reach("Example", "Mail.Read").is_empty());
}

#[test]
fn rbac_administrative_unit_scope_covers_direct_members_and_groups_are_not_expanded() {
    let o = Tenant::new(4)
        .group("Team", &["m3"])
        .au("Norway", &["m0", "m1", "Team"])
        .app("App")
        .assign("App", "Application Mail.Read", Scope::Au("Norway"))
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0, 1]));
    assert_eq!(o.findings(kind::GROUP_IN_ADMINISTRATIVE_UNIT).len(), 1);
}

#[test]
fn rbac_group_scope_ignores_nesting() {
    let o = Tenant::new(4)
        .group("Finance", &["m0", "Interns"])
        .group("Interns", &["m1"])
        .app("App")
        .assign("App", "Application Mail.Read", Scope::Group("Finance"))
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0]));
}

#[test]
fn rbac_without_scope_covers_the_organization() {
    let o = Tenant::new(3)
        .app("App")
        .assign("App", "Application Contacts.Read", Scope::Org)
        .analyze();
    assert_eq!(o.reach("App", "Contacts.Read"), all(3));
}

#[test]
fn disabled_assignment_grants_nothing() {
    let t = Tenant::new(3).app("App");
    let who = t.object_id("App");
    let o = t
        .assign_raw("Off", "Application Mail.Read", &who, Scope::Org, "False")
        .analyze();
    assert!(o.reach("App", "Mail.Read").is_empty());
    assert_eq!(o.findings(kind::ASSIGNMENT_DISABLED).len(), 1);
}

#[test]
fn blank_enabled_means_enabled_and_booleans_accept_powershell_spellings() {
    for enabled in ["", "$TRUE", "yes", "1"] {
        let t = Tenant::new(1).app("App");
        let who = t.object_id("App");
        let o = t
            .assign_raw("On", "Application Mail.Read", &who, Scope::Org, enabled)
            .analyze();
        assert_eq!(o.reach("App", "Mail.Read"), all(1), "Enabled={enabled:?}");
    }
}

#[test]
fn exclusive_scope_changes_nothing_for_apps() {
    let o = Tenant::new(3)
        .column("Department", &["Sales", "HR", "Sales"])
        .app("App")
        .exclusive_scope("Sales", "Department -eq 'sales'")
        .assign("App", "Application Mail.Read", Scope::Custom("Sales"))
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0, 2]));
    assert_eq!(o.findings(kind::EXCLUSIVE_SCOPE_IGNORED).len(), 1);
}

#[test]
fn aap_never_narrows_an_rbac_grant() {
    let o = Tenant::new(3)
        .app("App")
        .assign("App", "Application Mail.Read", Scope::Org)
        .policy("App", "RestrictAccess", "m0")
        .policy("App", "DenyAccess", "m1")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), all(3));
}

#[test]
fn assignment_to_unknown_service_principal_or_missing_scope_grants_nothing_and_is_a_finding() {
    let t = Tenant::new(2).app("App");
    let who = t.object_id("App");
    let o = t
        .assign_raw(
            "Ghost",
            "Application Mail.Read",
            "Deleted App",
            Scope::Org,
            "",
        )
        .assign_raw(
            "NoScope",
            "Application Mail.Read",
            &who,
            Scope::Custom("Nope"),
            "",
        )
        .assign_raw("NoAu", "Application Mail.Read", &who, Scope::Au("Nope"), "")
        .assign_raw(
            "NoGroup",
            "Application Mail.Read",
            &who,
            Scope::Group("nope"),
            "",
        )
        .analyze();
    assert!(o.reach("App", "Mail.Read").is_empty());
    assert_eq!(o.findings(kind::UNKNOWN_PRINCIPAL).len(), 1);
    assert_eq!(o.findings(kind::ASSIGNMENT_SCOPE_MISSING).len(), 3);
}

#[test]
fn assignment_app_matches_object_id_then_app_id_then_display_name() {
    let t = Tenant::new(1)
        .app("By Object")
        .app("By AppId")
        .app("By Name");
    let (o1, a2) = (t.object_id("By Object"), t.app_id("By AppId"));
    let o = t
        .assign_raw("1", "Application Mail.Read", &o1, Scope::Org, "")
        .assign_raw("2", "Application Mail.Read", &a2, Scope::Org, "")
        .assign_raw("3", "Application Mail.Read", "by name", Scope::Org, "")
        .analyze();
    for app in ["By Object", "By AppId", "By Name"] {
        assert_eq!(o.reach(app, "Mail.Read"), all(1), "{app}");
    }
}

#[test]
fn custom_scope_wins_when_several_scope_columns_are_filled() {
    let t = Tenant::new(3)
        .group("G", &["m2"])
        .column("Department", &["X", "", ""])
        .app("App")
        .scope("S", "Department -eq 'X'");
    let mut dir_rows = t;
    let who = dir_rows.object_id("App");
    dir_rows = dir_rows.assign_raw(
        "Both",
        "Application Mail.Read",
        &who,
        Scope::Custom("S"),
        "",
    );
    let dir = tempfile::tempdir().unwrap();
    dir_rows.write(dir.path());
    let path = dir.path().join("management_role_assignments.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"S\",\"\",\"\"", "\"S\",\"\",\"g@contoso.com\"");
    std::fs::write(&path, text).unwrap();
    let a = exomatrix::Analysis::run(dir.path(), Default::default()).unwrap();
    assert_eq!(
        a.matrix.grants[0].cells.cells().iter().collect::<Vec<_>>(),
        [0]
    );
    assert_eq!(a.findings.count(kind::ASSIGNMENT_SEVERAL_SCOPES), 1);
}

// ---- 3.4 filters, through scopes (details are unit-tested in filter::compile) --

#[test]
fn member_of_group_is_direct_membership_by_distinguished_name() {
    let dn = common::group_dn("Finance");
    let o = Tenant::new(3)
        .group("Finance", &["m0", "Interns"])
        .group("Interns", &["m1"])
        .app("App")
        .scope("Finance", &format!("MemberOfGroup -eq '{dn}'"))
        .scope("ByName", "MemberOfGroup -eq 'Finance'")
        .assign("App", "Application Mail.Read", Scope::Custom("Finance"))
        .assign("App", "Application Mail.Send", Scope::Custom("ByName"))
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0]));
    assert!(o.reach("App", "Mail.Send").is_empty());
    let f = o.findings(kind::MEMBER_OF_GROUP_NOT_DN);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains(&format!("did you mean the DN of group 'Finance': '{dn}'?")),
        "{}",
        f[0].message
    );
    assert_eq!(o.findings(kind::FILTER_MATCHES_NOTHING).len(), 1);
}

#[test]
fn administrative_units_property_matches_the_unit_distinguished_name() {
    let o = Tenant::new(3)
        .au("Oslo", &["m2"])
        .app("App")
        .scope(
            "Oslo",
            &format!(
                "AdministrativeUnits -eq 'CN=Oslo,CN=AdministrativeUnits,{}'",
                common::ORG
            ),
        )
        .assign("App", "Application Mail.Read", Scope::Custom("Oslo"))
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[2]));
}

// ---- 3.5 the effective matrix ------------------------------------------------

#[test]
fn example_one_entra_mail_read_on_a_and_rbac_calendars_read_on_b_never_meet() {
    let o = Tenant::new(3)
        .column("Alias2", &["A", "B", "C"])
        .group("HoldsA", &["m0"])
        .app("App 1")
        .entra("App 1", "Mail.Read")
        .policy("App 1", "RestrictAccess", "HoldsA")
        .scope("HoldsB", "Alias2 -eq 'B'")
        .assign(
            "App 1",
            "Application Calendars.Read",
            Scope::Custom("HoldsB"),
        )
        .analyze();
    assert_eq!(o.cells("App 1", "Mail.Read"), vec![("m0".into(), ENTRA)]);
    assert_eq!(
        o.cells("App 1", "Calendars.Read"),
        vec![("m1".into(), RBAC)]
    );
    let mail = o.reach("App 1", "Mail.Read");
    assert!(o
        .reach("App 1", "Calendars.Read")
        .iter()
        .all(|m| !mail.contains(m)));
}

#[test]
fn example_two_entra_on_a_plus_rbac_on_not_a_reaches_everyone() {
    let o = Tenant::new(4)
        .app("App 1")
        .entra("App 1", "Mail.Read")
        .policy("App 1", "RestrictAccess", "m0")
        .scope("Not A", "Alias -ne 'm0'")
        .assign("App 1", "Application Mail.Read", Scope::Custom("Not A"))
        .analyze();
    assert_eq!(
        o.cells("App 1", "Mail.Read"),
        vec![
            ("m0".into(), ENTRA),
            ("m1".into(), RBAC),
            ("m2".into(), RBAC),
            ("m3".into(), RBAC)
        ]
    );
}

#[test]
fn provenance_counts_only_sources_that_grant_the_cell() {
    let o = Tenant::new(3)
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "DenyAccess", "m2")
        .assign("App", "Application Mail.Read", Scope::Org)
        .analyze();
    assert_eq!(
        o.cells("App", "Mail.Read"),
        vec![
            ("m0".into(), BOTH),
            ("m1".into(), BOTH),
            ("m2".into(), RBAC)
        ]
    );
}

#[test]
fn scoped_rbac_grant_covered_by_unscoped_entra_grant_is_a_finding() {
    let o = Tenant::new(3)
        .column("Department", &["X", "", ""])
        .app("App")
        .entra("App", "Mail.Send")
        .scope("S", "Department -eq 'X'")
        .assign("App", "Application Mail.Send", Scope::Custom("S"))
        .analyze();
    assert_eq!(o.findings(kind::RBAC_SHADOWED_BY_ENTRA).len(), 1);
    assert!(o.findings(kind::TENANT_WIDE_UNSCOPED).is_empty());
}

#[test]
fn tenant_wide_access_without_any_policy_or_scope_is_a_finding() {
    let o = Tenant::new(3)
        .app("Open")
        .app("Limited")
        .app("Rbac")
        .entra("Open", "Mail.Read")
        .entra("Limited", "Mail.Read")
        .policy("Limited", "RestrictAccess", "m0")
        .assign("Rbac", "Application Mail.Read", Scope::Org)
        .analyze();
    let objects: Vec<&str> = o
        .findings(kind::TENANT_WIDE_UNSCOPED)
        .iter()
        .map(|f| f.object.as_str())
        .collect();
    assert_eq!(objects, ["Open", "Rbac"]);
}

#[test]
fn group_nesting_cycles_do_not_hang_and_are_reported() {
    let o = Tenant::new(3)
        .group("A", &["m0", "B"])
        .group("B", &["m1", "A"])
        .group("Self", &["Self", "m2"])
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "A")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[0, 1]));
    assert_eq!(o.findings(kind::GROUP_NESTING_CYCLE).len(), 2);
}

#[test]
fn unresolved_group_member_is_a_finding_not_a_crash() {
    let o = Tenant::new(2).group("G", &["m0", "ghost"]).analyze();
    let f = o.findings(kind::UNRESOLVED_IDENTITY);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].object, "ghost@contoso.com");
}

#[test]
fn deep_group_nesting_expands_without_overflow() {
    let names: Vec<String> = (0..5000).map(|i| format!("G{i}")).collect();
    let mut t = Tenant::new(2);
    for i in 0..names.len() {
        let child = if i + 1 < names.len() {
            names[i + 1].clone()
        } else {
            "m1".into()
        };
        t = t.group(&names[i], &[&child]);
    }
    let o = t
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "G0")
        .analyze();
    assert_eq!(o.reach("App", "Mail.Read"), ms(&[1]));
}

// ---- Role assignments as Get-ManagementRoleAssignment writes them (DESIGN §2,
// "Resource scope columns"); fixtures in tests/fixtures/role-assignments. ----

/// The base tenant of the role-assignment fixtures with one shape file as its
/// management_role_assignments table (and optionally more management scopes).
fn role_assignment_shape(shape: &str, extra_scopes: &[(&str, &str)]) -> Analysis {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/role-assignments");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures.join("base")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let mut scopes = std::fs::read_to_string(dir.path().join("management_scopes.csv")).unwrap();
    for (name, filter) in extra_scopes {
        scopes.push_str(&format!("\"{name}\",\"{filter}\",\"False\"\r\n"));
    }
    std::fs::write(dir.path().join("management_scopes.csv"), scopes).unwrap();
    std::fs::copy(
        fixtures.join("shapes").join(format!("{shape}.csv")),
        dir.path().join("management_role_assignments.csv"),
    )
    .unwrap();
    Analysis::run(dir.path(), AnalysisOptions::default()).unwrap()
}

/// The aliases of the mailboxes `Fabrikam Sync` reaches with a permission.
fn shape_reach(a: &Analysis, permission: &str) -> Vec<String> {
    let p = permissions::by_name(permission).unwrap();
    let Some(g) = a.matrix.grant(0, p) else {
        return Vec::new();
    };
    let aliases = ["adele", "alex", "megan", "lynne", "nestor", "conf-1"];
    g.cells
        .cells()
        .iter()
        .map(|m| aliases[m as usize].to_string())
        .collect()
}

#[test]
fn write_scope_custom_recipient_scope_reads_the_scope_from_custom_resource_scope() {
    let a = role_assignment_shape("custom-recipient-scope", &[]);
    assert_eq!(shape_reach(&a, "Calendars.Read"), ["lynne", "conf-1"]);
}

#[test]
fn write_scope_custom_recipient_scope_reads_custom_recipient_write_scope_when_resource_scope_is_blank(
) {
    let a = role_assignment_shape("custom-recipient-scope-in-write-scope-column", &[]);
    assert_eq!(shape_reach(&a, "Calendars.Read"), ["lynne", "conf-1"]);
}

#[test]
fn write_scope_administrative_unit_reads_the_unit_from_custom_recipient_write_scope() {
    let a = role_assignment_shape("administrative-unit-in-write-scope-column", &[]);
    assert_eq!(shape_reach(&a, "Mail.Read"), ["lynne", "nestor"]);
    assert!(matches!(
        a.model.assignments[0].scope,
        exomatrix::policy::ScopeKind::AdministrativeUnit(0)
    ));
}

#[test]
fn write_scope_administrative_unit_reads_the_unit_from_custom_resource_scope() {
    let a = role_assignment_shape("administrative-unit-in-resource-scope-column", &[]);
    assert_eq!(shape_reach(&a, "Mail.Read"), ["lynne", "nestor"]);
}

#[test]
fn write_scope_group_resolves_name_underscore_guid_by_its_guid_to_direct_members() {
    let a = role_assignment_shape("group-scope-object-name-guid", &[]);
    // Finance's direct members only: megan is in the nested Finance-Sub.
    assert_eq!(shape_reach(&a, "Mail.Send"), ["adele", "alex"]);
    assert!(
        a.findings.is_empty(),
        "{:?}",
        a.findings.iter().collect::<Vec<_>>()
    );
}

#[test]
fn write_scope_group_prefers_a_listed_scope_object_of_that_name_over_the_guid() {
    // When the snapshot lists Exchange's scope object itself, its filter decides.
    let dn = "CN=Finance-Sub,OU=fabrikam.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR00A001,DC=prod,DC=outlook,DC=com";
    let filter = format!("MemberOfGroup -eq '{dn}'");
    let a = role_assignment_shape(
        "group-scope-object-name-guid",
        &[("Finance_c0c0c0c0-0000-4000-8000-000000000001", &filter)],
    );
    assert_eq!(shape_reach(&a, "Mail.Send"), ["megan"]);
}

#[test]
fn write_scope_group_resolves_a_plain_group_name() {
    let a = role_assignment_shape("group-by-name", &[]);
    assert_eq!(shape_reach(&a, "Mail.Send"), ["adele", "alex"]);
}

#[test]
fn write_scope_organization_covers_every_mailbox() {
    let a = role_assignment_shape("organization", &[]);
    assert_eq!(shape_reach(&a, "Mail.ReadBasic").len(), 6);
}

#[test]
fn write_scope_organization_with_a_resource_scope_reads_it_as_a_custom_scope() {
    let a = role_assignment_shape("organization-with-resource-scope", &[]);
    assert_eq!(shape_reach(&a, "Calendars.Read"), ["lynne", "conf-1"]);
}

#[test]
fn unknown_write_scope_kind_is_an_error_finding_and_counts_as_the_organization() {
    let a = role_assignment_shape("unknown-kind", &[]);
    assert_eq!(
        shape_reach(&a, "Mail.Read").len(),
        6,
        "over-stated, not hidden"
    );
    let f: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.kind == kind::ASSIGNMENT_SCOPE_KIND_UNKNOWN)
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, exomatrix::Severity::Error);
    assert!(
        f[0].message
            .starts_with("RecipientWriteScope 'MyGAL' is not a scope kind"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].source
            .as_ref()
            .unwrap()
            .to_string()
            .ends_with("management_role_assignments.csv, line 2, column RecipientWriteScope"),
        "{:?}",
        f[0].source
    );
    // Marked in grants.parquet.
    let out = tempfile::tempdir().unwrap();
    let dataset = out.path().join("ds");
    exomatrix::matrix::write_dataset(&a.dataset_parts(&[], None), &dataset, false).unwrap();
    let file = std::fs::File::open(dataset.join("grants.parquet")).unwrap();
    let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let marked = batch
        .column_by_name("rbac_scope_assumed_org_wide")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::BooleanArray>()
        .unwrap();
    assert!(marked.value(0));
}

#[test]
fn parameter_named_scope_columns_are_read_by_the_section_3_3_rules() {
    let a = role_assignment_shape("parameter-columns", &[]);
    assert_eq!(shape_reach(&a, "Mail.Read"), ["lynne", "nestor"]);
}

#[test]
fn write_scope_kind_without_an_object_grants_nothing_and_is_a_finding() {
    let o = Tenant::new(2).app("App").analyze_with_assignments(
        "Name,Role,App,RecipientWriteScope,CustomResourceScope,CustomRecipientWriteScope",
        &[format!("a,Application Mail.Read,{},Group,,", guid(0xB, 0))],
    );
    assert!(o.reach("App", "Mail.Read").is_empty());
    let f = o.findings(kind::ASSIGNMENT_SCOPE_MISSING);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .starts_with("the group (RecipientWriteScope names the kind"),
        "{}",
        f[0].message
    );
}

// ---- 7 migration planner ---------------------------------------------------

/// Plans every narrowed app of a tenant, writes the after-state into `dir` and
/// proves it: the plan, the proof and the script.
fn plan_tenant(
    t: &Tenant,
    dir: &Path,
) -> (
    Analysis,
    exomatrix::plan::Plan,
    exomatrix::plan::proof::Proof,
    String,
) {
    let snap = dir.join("snap");
    std::fs::create_dir(&snap).unwrap();
    t.write(&snap);
    let options = AnalysisOptions {
        policy: exomatrix::PolicyOptions {
            aap_nesting: t.nesting,
        },
    };
    let analysis = Analysis::run(&snap, options).unwrap();
    let plan = exomatrix::plan::plan(
        &analysis,
        &exomatrix::plan::PlanOptions {
            apps: Vec::new(),
            nesting: t.nesting,
        },
    )
    .unwrap();
    let after = dir.join("after");
    exomatrix::plan::after::write(&analysis.snapshot, &analysis.model, &plan, &after).unwrap();
    let proof = exomatrix::plan::proof::prove(&analysis, &plan, &after).unwrap();
    let script = exomatrix::plan::script::render(&analysis, &plan, "snap");
    (analysis, plan, proof, script)
}

#[test]
fn migration_scope_names_nested_groups_and_quotes_hostile_dns_at_both_levels() {
    // A group whose name holds every character that breaks naive quoting, with
    // a nested group holding a typographic apostrophe.
    let outer = "O'Brien $team `x \"q\" Smith\\, John";
    let inner = "It\u{2019}s";
    let t = Tenant::new(6)
        .group(outer, &["m0", inner])
        .group(inner, &["m1"])
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", outer);
    let dir = tempfile::tempdir().unwrap();
    let (_, plan, proof, script) = plan_tenant(&t, dir.path());
    let exomatrix::plan::Target::Scope(scope) = &plan.apps[0].target else {
        panic!("{:?}", plan.apps[0].target)
    };
    let outer_dn = common::group_dn(outer);
    let inner_dn = common::group_dn(inner);
    // OPATH: one level of '' for the apostrophe; the other characters as they are.
    assert_eq!(
        scope.filter,
        format!(
            "MemberOfGroup -eq '{}' -or MemberOfGroup -eq '{}'",
            outer_dn.replace('\'', "''"),
            inner_dn
        )
    );
    // PowerShell: the OPATH quotes doubled again, and the typographic quote
    // doubled (PowerShell reads it as a single quote).
    let literal = format!(
        "'{}'",
        scope
            .filter
            .replace('\'', "''")
            .replace('\u{2019}', "\u{2019}\u{2019}")
    );
    assert!(
        script.contains(&format!(
            "-RecipientRestrictionFilter {literal} -WhatIf:$DryRun"
        )),
        "{script}"
    );
    assert!(script.contains("''CN=O''''Brien $team `x \"q\" Smith\\, John,"));
    // The filter compiles to exactly the nested membership, so the proof holds.
    assert_eq!(plan.apps[0].allow.iter().collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(
        proof.apps[0].status,
        exomatrix::plan::proof::Status::Equivalent,
        "{:?}",
        proof.apps[0].reasons
    );
}

#[test]
fn migration_keeps_a_permission_without_a_role_on_entra_and_the_policy() {
    let t = Tenant::new(4)
        .group("G", &["m0", "m1"])
        .app("App")
        .entra("App", "Mail.Read")
        .entra("App", "Mail.ReadBasic.All")
        .policy("App", "RestrictAccess", "G");
    let dir = tempfile::tempdir().unwrap();
    let (analysis, plan, proof, script) = plan_tenant(&t, dir.path());
    let app = &plan.apps[0];
    let id = |n| permissions::by_name(n).unwrap();
    assert_eq!(app.blocked, vec![id("Mail.ReadBasic.All")]);
    assert_eq!(app.roles.len(), 1);
    assert_eq!(app.roles[0].role, "Application Mail.Read");
    assert!(
        !app.remove_policies,
        "the policy still narrows Mail.ReadBasic.All"
    );
    assert_eq!(plan.removed_policies(), Vec::<usize>::new());
    assert!(
        !script.contains("Remove-ApplicationAccessPolicy"),
        "{script}"
    );
    assert_eq!(
        proof.apps[0].status,
        exomatrix::plan::proof::Status::Equivalent
    );
    // After: Mail.Read through RBAC, Mail.ReadBasic.All still through Entra.
    let after = Analysis::run(&dir.path().join("after"), Default::default()).unwrap();
    let a = after
        .model
        .apps
        .by_app_id(&analysis.model.apps.apps[0].app_id)
        .unwrap();
    let read = after.matrix.grant(a, id("Mail.Read")).unwrap();
    assert!(read.cells.entra.is_empty());
    assert_eq!(read.cells.rbac.iter().collect::<Vec<_>>(), vec![0, 1]);
    let basic = after.matrix.grant(a, id("Mail.ReadBasic.All")).unwrap();
    assert_eq!(basic.cells.entra.iter().collect::<Vec<_>>(), vec![0, 1]);
}

#[test]
fn migration_of_deny_and_star_policies_uses_not_and_removes_star_only_when_all_apps_move() {
    let t = Tenant::new(5)
        .group("Team", &["m0", "m1", "m2"])
        .app("A")
        .app("B")
        .entra("A", "Mail.Read")
        .entra("B", "Calendars.Read")
        .policy("A", "RestrictAccess", "Team")
        .policy("A", "DenyAccess", "m1")
        .policy("*", "DenyAccess", "m2");
    let dir = tempfile::tempdir().unwrap();
    let (analysis, plan, proof, _) = plan_tenant(&t, dir.path());
    let mailbox_id = |m| analysis.directory.mailbox_id(m);
    let exomatrix::plan::Target::Scope(a) = &plan.apps[0].target else {
        panic!()
    };
    assert_eq!(
        a.filter,
        format!(
            "MemberOfGroup -eq '{}' -and -not (ExternalDirectoryObjectId -eq '{}' -or ExternalDirectoryObjectId -eq '{}')",
            common::group_dn("Team"),
            mailbox_id(1),
            mailbox_id(2)
        )
    );
    assert!(a.uses_deny);
    let exomatrix::plan::Target::Scope(b) = &plan.apps[1].target else {
        panic!()
    };
    assert_eq!(
        b.filter,
        format!("-not (ExternalDirectoryObjectId -eq '{}')", mailbox_id(2))
    );
    // Both apps move, so nothing is left for the * policy to narrow.
    assert_eq!(plan.remove_star.len(), 1);
    assert_eq!(plan.removed_policies().len(), 3);
    assert!(proof.all_equivalent());

    // With only A planned, B keeps its Entra grant and the * policy stays.
    let plan_a = exomatrix::plan::plan(
        &analysis,
        &exomatrix::plan::PlanOptions {
            apps: vec!["A".into()],
            nesting: Nesting::Transitive,
        },
    )
    .unwrap();
    assert_eq!(plan_a.apps.len(), 1);
    assert!(plan_a.remove_star.is_empty());
    assert!(
        plan_a.keep_star[0].1.contains("B"),
        "{:?}",
        plan_a.keep_star
    );
}

#[test]
fn migration_targets_for_empty_and_unrestricted_allow_sets() {
    // An allow-list whose only scope does not resolve allows nobody: no
    // assignment, the consent goes. A deny-list whose scope does not resolve
    // allows everyone: an unscoped assignment.
    let t = Tenant::new(3)
        .app("Nobody")
        .app("Everyone")
        .entra("Nobody", "Mail.Read")
        .entra("Everyone", "Mail.Read")
        .policy("Nobody", "RestrictAccess", "gone")
        .policy("Everyone", "DenyAccess", "gone");
    let dir = tempfile::tempdir().unwrap();
    let (analysis, plan, proof, _) = plan_tenant(&t, dir.path());
    let target = |name: &str| {
        let app = plan
            .apps
            .iter()
            .find(|p| analysis.model.apps.apps[p.app as usize].label() == name)
            .unwrap();
        (app.target.clone(), app.notes.len())
    };
    assert_eq!(target("Nobody").0, exomatrix::plan::Target::Nobody);
    assert_eq!(target("Everyone").0, exomatrix::plan::Target::Organization);
    assert!(target("Nobody").1 > 0, "an unresolved scope is noted");
    assert!(proof.all_equivalent());
}

#[test]
fn migration_notes_a_filter_over_50_groups_and_proposes_a_flat_group() {
    let names: Vec<String> = (0..52).map(|i| format!("Sub{i}")).collect();
    let mut t = Tenant::new(60);
    let members: Vec<&str> = names.iter().map(String::as_str).collect();
    t = t.group("Top", &members);
    let mailboxes: Vec<String> = (0..52).map(|i| format!("m{i}")).collect();
    for (name, m) in names.iter().zip(&mailboxes) {
        t = t.group(name, &[m.as_str()]);
    }
    let t = t
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "Top");
    let dir = tempfile::tempdir().unwrap();
    let (_, plan, proof, _) = plan_tenant(&t, dir.path());
    let exomatrix::plan::Target::Scope(scope) = &plan.apps[0].target else {
        panic!()
    };
    assert_eq!(scope.groups, 53);
    assert!(
        plan.apps[0]
            .notes
            .iter()
            .any(|n| n.contains("flat mail-enabled security group")),
        "{:?}",
        plan.apps[0].notes
    );
    // Long or not, the filter is exact.
    assert!(proof.all_equivalent());
    assert_eq!(plan.apps[0].allow.len(), 52);
}

/// The scopes' mailbox comparisons are answered while the directory resolves
/// memberships; what a person reads must not show it: a bad scopes table or
/// filter still stops the analysis with its own message, and the findings
/// come in stage order, the directory's before the scopes'.
#[test]
fn scopes_answered_beside_the_directory_report_as_after_it() {
    let twice = Tenant::new(2)
        .scope("Legal", "Alias -eq 'm0'")
        .scope("legal", "Alias -eq 'm1'")
        .try_analyze();
    let message = twice.err().expect("a repeated scope name").to_string();
    assert!(
        message.contains("duplicate management scope 'legal'"),
        "{message}"
    );

    let broken = Tenant::new(2).scope("Broken", "Alias -eq").try_analyze();
    let message = broken
        .err()
        .expect("a filter that does not parse")
        .to_string();
    assert!(message.contains("Broken"), "{message}");

    let outcome = Tenant::new(3)
        .group("Team", &["m0", "nobody@contoso.com"])
        .scope("Empty", "Alias -eq 'm9'")
        .scope(
            "Team",
            &format!("MemberOfGroup -eq '{}'", common::group_dn("Team")),
        )
        .analyze();
    let kinds: Vec<&str> = outcome.analysis.findings.iter().map(|f| f.kind).collect();
    let unresolved = kinds.iter().position(|&k| k == kind::UNRESOLVED_IDENTITY);
    let empty = kinds
        .iter()
        .position(|&k| k == kind::FILTER_MATCHES_NOTHING);
    assert!(
        matches!((unresolved, empty), (Some(u), Some(e)) if u < e),
        "{kinds:?}"
    );
    let team = outcome
        .analysis
        .model
        .scopes
        .iter()
        .find(|s| s.name == "Team");
    let team = team
        .expect("the scope Team")
        .compiled
        .bitmap
        .iter()
        .collect::<Vec<_>>();
    assert_eq!(team, [0]);
}
