//! `explain`: the wording of each DESIGN §3 decision rule, the cmdlet-equivalent
//! tables on the sample tenant, and agreement with the full matrix on every cell.

mod common;

use std::path::{Path, PathBuf};

use common::{Scope, Tenant};
use exomatrix::analysis::{Analysis, AnalysisOptions};
use exomatrix::explain::{AuthorizationRow, Explainer};
use exomatrix::matrix::Via;
use exomatrix::policy::permissions::{self, CATALOGUE};
use exomatrix::policy::{Nesting, PolicyOptions};

/// Explains one permission of `app` for mailbox `mN`: the verdict and the lines.
fn explain(t: &Tenant, app: &str, mailbox: &str, permission: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    t.write(dir.path());
    let options = PolicyOptions {
        aap_nesting: t.nesting,
    };
    let address = format!("{mailbox}@contoso.com");
    let ex = Explainer::load(dir.path(), app, Some(&address), options).unwrap();
    let m = ex.mailbox.unwrap();
    let e = ex.explain(permissions::by_name(permission).unwrap(), m);
    (e.verdict(), e.lines.join("\n"))
}

fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "expected\n  {part}\nin\n{text}");
}

fn mail_read_app() -> Tenant {
    Tenant::new(4).app("App").entra("App", "Mail.Read")
}

/// One explained cell: mailbox, permission, the verdict, and lines the reasons
/// must contain (a line starting with `!` must be absent).
type Case<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);

/// Explains every case on `t` for `App` and checks verdict and wording.
fn check(t: &Tenant, cases: &[Case<'_>]) {
    for &(mailbox, permission, verdict, parts) in cases {
        let (got, why) = explain(t, "App", mailbox, permission);
        assert_eq!(got, verdict, "{mailbox} {permission}\n{why}");
        for part in parts {
            match part.strip_prefix('!') {
                Some(absent) => assert!(!why.contains(absent), "unexpected\n  {absent}\nin\n{why}"),
                None => assert_contains(&why, part),
            }
        }
    }
}

const GRANTED_ENTRA: &str = "GRANTED via entra";
const GRANTED_RBAC: &str = "GRANTED via rbac";
const NOT_GRANTED: &str = "NOT GRANTED";

#[test]
fn no_policy_means_every_mailbox() {
    check(&mail_read_app(), &[("m0", "Mail.Read", GRANTED_ENTRA, &["no application access policy applies to the app, so its Entra grants reach every mailbox"])]);
}

#[test]
fn deny_beats_restrict_is_worded_with_both_policies() {
    let t = mail_read_app()
        .group("G", &["m0", "m1"])
        .policy("App", "RestrictAccess", "G")
        .policy("App", "DenyAccess", "m0");
    check(&t, &[
        ("m0", "Mail.Read", NOT_GRANTED, &["denied by DenyAccess policy 'policy1' (the mailbox is its scope) although RestrictAccess policy 'policy0' matches (the mailbox is a member of group 'G'): Deny beats Restrict, so the Entra grant does not reach this mailbox"]),
        ("m1", "Mail.Read", GRANTED_ENTRA, &["allowed by RestrictAccess policy 'policy0' (the mailbox is a member of group 'G')"]),
    ]);
}

#[test]
fn allow_list_without_a_match_denies() {
    let t = mail_read_app()
        .policy("App", "RestrictAccess", "m1")
        .policy("App", "RestrictAccess", "m2");
    check(&t, &[("m0", "Mail.Read", NOT_GRANTED, &["denied: the app has RestrictAccess policies ('policy0', 'policy1') and the mailbox is in none of their scopes, so the Entra grant does not reach this mailbox"])]);
}

#[test]
fn deny_only_allows_the_rest() {
    let t = mail_read_app().policy("App", "DenyAccess", "m1");
    check(&t, &[
        ("m0", "Mail.Read", GRANTED_ENTRA, &["allowed: the app has only DenyAccess policies ('policy0') and none covers the mailbox"]),
        ("m1", "Mail.Read", NOT_GRANTED, &["denied by DenyAccess policy 'policy0' (the mailbox is its scope): Deny beats Restrict"]),
    ]);
}

#[test]
fn policy_for_every_app_is_named() {
    let t = mail_read_app().policy("*", "DenyAccess", "m0");
    check(
        &t,
        &[(
            "m0",
            "Mail.Read",
            NOT_GRANTED,
            &["denied by DenyAccess policy 'policy0'"],
        )],
    );
}

#[test]
fn nested_membership_names_the_chain_and_direct_mode_ignores_it() {
    let t = mail_read_app()
        .group("Inner", &["m0"])
        .group("Outer", &["Inner"])
        .policy("App", "RestrictAccess", "Outer");
    check(&t, &[("m0", "Mail.Read", GRANTED_ENTRA, &["allowed by RestrictAccess policy 'policy0' (the mailbox is a member of group 'Outer' through nested group 'Inner')"])]);
    check(
        &t.with_nesting(Nesting::Direct),
        &[(
            "m0",
            "Mail.Read",
            NOT_GRANTED,
            &["the mailbox is in none of their scopes"],
        )],
    );
}

#[test]
fn invalid_restrict_policy_is_named_as_an_empty_scope() {
    let t = mail_read_app().policy_row("App", "RestrictAccess", "m0", "False");
    check(&t, &[("m0", "Mail.Read", NOT_GRANTED, &["policy 'policy0' has an empty scope (IsValid False or its scope 'm0@contoso.com' is not in the snapshot)"])]);
}

#[test]
fn permission_that_policies_do_not_constrain() {
    let t = Tenant::new(2)
        .app("App")
        .entra("App", "Calendars.ReadBasic.All")
        .policy("App", "RestrictAccess", "m1");
    check(&t, &[("m0", "Calendars.ReadBasic.All", GRANTED_ENTRA, &["Calendars.ReadBasic.All is not constrained by application access policies, so it reaches every mailbox"])]);
}

#[test]
fn rbac_scope_kinds_are_each_explained() {
    let t = Tenant::new(4)
        .column("CustomAttribute1", &["012332", "", "999", ""])
        .group("Inner", &["m3"])
        .group("Team", &["m2", "Inner"])
        .au("Oslo", &["m1"])
        .app("App")
        .scope("Canadian employees", "CustomAttribute1 -eq '012332'")
        .assign(
            "App",
            "Application Calendars.Read",
            Scope::Custom("Canadian employees"),
        )
        .assign("App", "Application Contacts.Read", Scope::Au("Oslo"))
        .assign("App", "Application Mail.Send", Scope::Group("Team"))
        .assign("App", "Application Mail.ReadBasic", Scope::Org);
    check(&t, &[
        ("m0", "Calendars.Read", GRANTED_RBAC, &[
            "rbac: assignment 'App:Application Calendars.Read' (role Application Calendars.Read, ",
            "covers the mailbox\n  management scope 'Canadian employees' matches the mailbox: CustomAttribute1 -eq '012332'\n    CustomAttribute1 -eq '012332' is true for this mailbox: CustomAttribute1 is '012332'",
        ]),
        ("m2", "Calendars.Read", NOT_GRANTED, &["CustomAttribute1 -eq '012332' is false for this mailbox: CustomAttribute1 is '999'"]),
        ("m1", "Calendars.Read", NOT_GRANTED, &["CustomAttribute1 -eq '012332' is false for this mailbox: CustomAttribute1 is blank"]),
        ("m1", "Contacts.Read", GRANTED_RBAC, &["administrative unit 'Oslo': the mailbox is a direct member"]),
        ("m0", "Contacts.Read", NOT_GRANTED, &["administrative unit 'Oslo': the mailbox is not a direct member"]),
        ("m2", "Mail.Send", GRANTED_RBAC, &["group 'Team': the mailbox is a direct member"]),
        ("m3", "Mail.Send", NOT_GRANTED, &["group 'Team': the mailbox is not a direct member\n    it is a member only through a nested group, and RecipientGroupScope counts direct members only"]),
        ("m3", "Mail.ReadBasic", GRANTED_RBAC, &["no resource scope: the whole organization"]),
    ]);
}

#[test]
fn filter_explanation_names_the_deciding_comparisons_only() {
    let t = Tenant::new(2)
        .column("Department", &["Sales", "IT"])
        .column("City", &["Oslo", "Oslo"])
        .app("App")
        .scope(
            "Oslo sales",
            "City -eq 'Oslo' -and -not (Department -ne 'Sales')",
        )
        .assign("App", "Application Mail.Read", Scope::Custom("Oslo sales"));
    check(
        &t,
        &[
            // City held, so it did not decide; the negated comparison did.
            (
                "m1",
                "Mail.Read",
                NOT_GRANTED,
                &[
                    "!City -eq 'Oslo' is",
                    "Department -ne 'Sales' is true for this mailbox: Department is 'IT'",
                ],
            ),
            (
                "m0",
                "Mail.Read",
                GRANTED_RBAC,
                &[
                    "City -eq 'Oslo' is true for this mailbox: City is 'Oslo'",
                    "Department -ne 'Sales' is false for this mailbox: Department is 'Sales'",
                ],
            ),
        ],
    );
}

#[test]
fn disabled_assignment_and_missing_scope_grant_nothing() {
    let t = Tenant::new(2).app("App");
    let who = t.object_id("App");
    let t = t
        .assign_raw("Off", "Application Mail.Read", &who, Scope::Org, "False")
        .assign_raw(
            "Gone",
            "Application Mail.Read",
            &who,
            Scope::Custom("Nowhere"),
            "True",
        );
    check(
        &t,
        &[(
            "m0",
            "Mail.Read",
            NOT_GRANTED,
            &[
                "rbac: assignment 'Off' (role Application Mail.Read, ",
                ") is disabled, so it grants nothing",
                "management scope 'Nowhere' is not in the snapshot, so it grants nothing",
            ],
        )],
    );
}

#[test]
fn policies_never_narrow_rbac_example_two() {
    // Entra Mail.Read restricted to A; RBAC Mail.Read scoped to Alias -ne 'm0'.
    let t = Tenant::new(3)
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "m0")
        .scope("Not A", "Alias -ne 'm0'")
        .assign("App", "Application Mail.Read", Scope::Custom("Not A"));
    check(&t, &[
        ("m0", "Mail.Read", GRANTED_ENTRA, &["Alias -ne 'm0' is false for this mailbox: Alias is 'm0'"]),
        ("m1", "Mail.Read", GRANTED_RBAC, &["application access policies narrow only the Entra grant; an RBAC assignment is never narrowed by them"]),
    ]);
}

#[test]
fn example_one_no_mailbox_has_both_permissions() {
    let t = Tenant::new(2)
        .group("AppScope", &["m0"])
        .app("App")
        .entra("App", "Mail.Read")
        .policy("App", "RestrictAccess", "AppScope")
        .scope("B", "Alias -eq 'm1'")
        .assign("App", "Application Calendars.Read", Scope::Custom("B"));
    check(
        &t,
        &[
            ("m0", "Mail.Read", GRANTED_ENTRA, &[]),
            ("m0", "Calendars.Read", NOT_GRANTED, &[]),
            ("m1", "Mail.Read", NOT_GRANTED, &[]),
            ("m1", "Calendars.Read", GRANTED_RBAC, &[]),
        ],
    );
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// An explainer for one app of the sample, focused on a mailbox or for any.
fn sample_explainer(app: &str, mailbox: Option<&str>) -> Explainer {
    Explainer::load(&sample(), app, mailbox, PolicyOptions::default()).unwrap()
}

fn row(cells: [&str; 5]) -> AuthorizationRow {
    AuthorizationRow {
        role_name: cells[0].into(),
        granted_permissions: cells[1].into(),
        allowed_resource_scope: cells[2].into(),
        scope_type: cells[3].into(),
        in_scope: cells[4].into(),
    }
}

#[test]
fn test_service_principal_authorization_rows_on_the_sample_tenant() {
    // The document's "Canadian employees" example: in scope for user05 (012332), not user02.
    let room_booking = "6233fba6-0198-4277-892f-9275bf728bcc";
    let expect = |in_scope| {
        vec![row([
            "Application Calendars.Read",
            "Calendars.Read",
            "Canadian employees",
            "CustomRecipientScope",
            in_scope,
        ])]
    };
    let rows = |mailbox: Option<&str>| {
        let ex = sample_explainer(room_booking, mailbox);
        ex.test_service_principal_authorization(ex.mailbox)
    };
    assert_eq!(rows(Some("user05@contoso.com")), expect("True"));
    assert_eq!(rows(Some("user02@contoso.com")), expect("False"));
    assert_eq!(rows(None), expect("Not Run"));

    // The administrative-unit example: Mail.Read over the Norway AU.
    let ex = sample_explainer("Norway Mail Reader", Some("user02@contoso.com"));
    assert_eq!(
        ex.test_service_principal_authorization(ex.mailbox),
        vec![row([
            "Application Mail.Read",
            "Mail.Read",
            "Norway",
            "AdministrativeUnit",
            "True"
        ])]
    );

    // Entra grants are not part of it; disabled assignments are left out.
    let ex = sample_explainer("Finance Reporter", None);
    let rows = ex.test_service_principal_authorization(None);
    assert_eq!(
        rows,
        vec![
            row([
                "Application Mail Full Access",
                "Mail.ReadWrite, Mail.Send",
                "Finance-Team",
                "Group",
                "Not Run"
            ]),
            row([
                "Application Contacts.Read",
                "Contacts.Read",
                "Finance by name",
                "CustomRecipientScope",
                "Not Run"
            ]),
        ]
    );
}

#[test]
fn test_application_access_policy_on_the_sample_tenant() {
    // The document's example: the archiver is restricted to EvenUsers.
    let check = |app: &str, mailbox: &str| {
        let ex = sample_explainer(app, Some(mailbox));
        ex.test_application_access_policy(ex.mailbox.unwrap())
    };
    let archiver = "e7e4dbfc-046f-4074-9b3b-2ae8f144f59b";
    assert_eq!(check(archiver, "user02@contoso.com"), "Granted");
    assert_eq!(check(archiver, "user01@contoso.com"), "Denied");
    // An app with no policy: every mailbox is Granted.
    assert_eq!(check("Outlook Sync", "ceo@contoso.com"), "Granted");
}

/// Every app × permission × mailbox of the sample: the verdict equals the full
/// matrix, and the explanation's lines agree with the provenance bits, both from
/// an explainer for any mailbox and from one focused on that mailbox.
#[test]
fn explanations_agree_with_the_matrix_on_every_cell_of_the_sample() {
    let analysis = Analysis::run(&sample(), AnalysisOptions::default()).unwrap();
    let mut checked = 0;
    for (i, app) in analysis.model.apps.apps.iter().enumerate() {
        let any = sample_explainer(&app.app_id, None);
        assert_eq!(any.app, i as u32);
        for m in 0..analysis.directory.count {
            let id = &analysis.directory.mailbox_id(m);
            let focused = sample_explainer(&app.app_id, Some(id));
            assert_eq!(focused.mailbox, Some(m));
            for (p, ex) in (0..CATALOGUE.len() as u8).flat_map(|p| [(p, &any), (p, &focused)]) {
                let via = analysis.matrix.grant(i as u32, p).map_or(Via::NONE, |g| {
                    Via::new(g.cells.entra.contains(m), g.cells.rbac.contains(m))
                });
                let e = ex.explain(p, m);
                assert_eq!(
                    e.via, via,
                    "{} {} m{m}",
                    app.app_id, CATALOGUE[p as usize].name
                );
                let entra_reaches = e.lines.iter().any(|l| {
                    l.starts_with("entra: Entra grant")
                        && !l.ends_with("does not reach this mailbox")
                });
                let rbac_covers = e.lines.iter().any(|l| {
                    l.starts_with("rbac: assignment") && l.ends_with(" covers the mailbox")
                });
                assert_eq!(entra_reaches, via.entra(), "{:?}", e.lines);
                assert_eq!(rbac_covers, via.rbac(), "{:?}", e.lines);
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        2 * analysis.model.apps.apps.len() * 38 * CATALOGUE.len()
    );
}

/// `resolve_once` scans tiers that are not built; it must answer exactly as the
/// built tiers do, for every kind of identity, ambiguous and unknown ones too.
#[test]
fn resolving_one_identity_by_scanning_equals_the_built_tiers() {
    use exomatrix::directory::Directory;
    use exomatrix::snapshot::Snapshot;
    use exomatrix::Findings;
    let read = |name: &str| std::fs::read(sample().join(format!("{name}.csv"))).unwrap();
    let (mailboxes, groups) = (read("mailboxes"), read("groups"));
    // Without membership tables no tier is built while the directory is.
    let snapshot = Snapshot::from_csv(&[("mailboxes", &mailboxes), ("groups", &groups)]).unwrap();
    let text = String::from_utf8_lossy(&mailboxes).into_owned() + &String::from_utf8_lossy(&groups);
    // Every quoted cell of both tables, plus variants and strangers.
    let mut identities: Vec<String> = text
        .split('"')
        .skip(1)
        .step_by(2)
        .flat_map(|cell| cell.split(';').map(str::to_string).collect::<Vec<_>>())
        .collect();
    identities.extend(
        [
            "CEO@CONTOSO.COM",
            "{85520F70-4782-54EC-915E-AE86B7036FD7}",
            "nobody",
            "",
            "smtp:",
            "Loop-A",
        ]
        .map(String::from),
    );
    assert!(identities.len() > 400);
    for id in &identities {
        let scanned = Directory::build(&snapshot, &mut Findings::default()).unwrap();
        let built = Directory::build(&snapshot, &mut Findings::default()).unwrap();
        assert_eq!(
            format!("{:?}", scanned.resolve_once(id)),
            format!("{:?}", built.resolve(id)),
            "{id}"
        );
    }
}

/// A focused directory resolves membership rows as the full one does, also when
/// a group's name looks like a GUID (so a GUID-shaped text must not stop at the
/// GUID tier).
#[test]
fn focused_memberships_equal_full_ones_for_the_focus_mailbox() {
    use exomatrix::directory::Directory;
    use exomatrix::snapshot::Snapshot;
    use exomatrix::Findings;
    let mailboxes = b"ExternalDirectoryObjectId,PrimarySmtpAddress,Alias\n\
        00000000-0000-4000-8000-000000000001,a@x.com,a\n\
        00000000-0000-4000-8000-000000000002,b@x.com,b\n";
    let groups = b"DistinguishedName,Name\n\
        \"CN=G1,DC=x\",11111111-2222-4333-8444-555555555555\n\
        \"CN=G2,DC=x\",Outer\n";
    let members = b"Group,Member\n\
        11111111-2222-4333-8444-555555555555,00000000-0000-4000-8000-000000000001\n\
        11111111-2222-4333-8444-555555555555,b@x.com\n\
        Outer,11111111-2222-4333-8444-555555555555\n\
        Outer,b\n";
    let snapshot = Snapshot::from_csv(&[
        ("mailboxes", mailboxes),
        ("groups", groups),
        ("group_members", members),
    ])
    .unwrap();
    let full = Directory::build(&snapshot, &mut Findings::default()).unwrap();
    for m in 0..2u32 {
        let mut focused = Directory::bare(&snapshot).unwrap();
        focused.focus_on(m);
        focused
            .add_memberships(&snapshot, &mut Findings::default())
            .unwrap();
        for (g, (f, a)) in focused.groups.iter().zip(&full.groups).enumerate() {
            assert_eq!(
                f.direct_mailboxes.contains(m),
                a.direct_mailboxes.contains(m),
                "group {g}, m{m}"
            );
            assert_eq!(f.direct_groups, a.direct_groups, "group {g}");
        }
        assert_eq!(
            focused.transitive_members(1).contains(m),
            full.transitive_members(1).contains(m)
        );
    }
    assert_eq!(full.groups[0].direct_mailboxes.len(), 2);
    assert_eq!(full.groups[1].direct_groups, [0]);
}

/// Identities shared by objects in different scan chunks (and by a mailbox and
/// a group) are ambiguous with the same two objects named, as the built tiers say.
#[test]
fn scanned_ambiguity_names_the_same_objects_as_the_built_tiers() {
    use exomatrix::directory::Directory;
    use exomatrix::snapshot::Snapshot;
    use exomatrix::Findings;
    let mut mailboxes = String::from("ExternalDirectoryObjectId,PrimarySmtpAddress,Alias,Name\n");
    for i in 0..200 {
        let alias = match i {
            7 | 150 => "twin".to_string(),
            _ => format!("a{i}"),
        };
        mailboxes.push_str(&format!(
            "00000000-0000-4000-8000-{i:012x},m{i}@x.com,{alias},Mailbox {i}\n"
        ));
    }
    let groups = "DistinguishedName,Name,PrimarySmtpAddress\n\"CN=G,DC=x\",a120,g@x.com\n\"CN=H,DC=x\",h,m199@X.COM\n";
    let snapshot = Snapshot::from_csv(&[
        ("mailboxes", mailboxes.as_bytes()),
        ("groups", groups.as_bytes()),
    ])
    .unwrap();
    for id in [
        "twin",
        "TWIN",
        "a120",
        "m199@x.com",
        "smtp:m150@x.com",
        "mailbox 42",
        "g@x.com",
        "none",
    ] {
        let scanned = Directory::build(&snapshot, &mut Findings::default()).unwrap();
        let built = Directory::build(&snapshot, &mut Findings::default()).unwrap();
        assert_eq!(
            format!("{:?}", scanned.resolve_once(id)),
            format!("{:?}", built.resolve(id)),
            "{id}"
        );
    }
    let dir = Directory::build(&snapshot, &mut Findings::default()).unwrap();
    assert!(format!("{:?}", dir.resolve_once("twin")).starts_with("Ambiguous"));
}

/// Every documented Get-ManagementRoleAssignment shape: a focused explain of each
/// mailbox gives the matrix's verdict (tests/fixtures/role-assignments).
#[test]
fn explain_agrees_with_the_matrix_on_every_role_assignment_shape() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/role-assignments");
    for shape in std::fs::read_dir(fixtures.join("shapes")).unwrap() {
        let shape = shape.unwrap().path();
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(fixtures.join("base")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        std::fs::copy(&shape, dir.path().join("management_role_assignments.csv")).unwrap();
        let analysis = Analysis::run(dir.path(), AnalysisOptions::default()).unwrap();
        for m in 0..analysis.directory.count {
            let address = analysis.directory.mailbox_address(m).to_string();
            let ex = Explainer::load(
                dir.path(),
                "Fabrikam Sync",
                Some(&address),
                PolicyOptions::default(),
            )
            .unwrap();
            for p in 0..CATALOGUE.len() as u8 {
                let want = analysis.matrix.grant(0, p).map_or(Via::NONE, |g| {
                    Via::new(g.cells.entra.contains(m), g.cells.rbac.contains(m))
                });
                assert_eq!(
                    ex.via(p, ex.mailbox.unwrap()),
                    want,
                    "{} {address} {}",
                    shape.display(),
                    CATALOGUE[p as usize].name
                );
            }
        }
    }
}
