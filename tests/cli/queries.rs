//! `diff`, `who-can` and `explain` from the command line: change kinds, exit
//! codes, the changes file, JSON, and dataset and snapshot sides alike.

use std::fs::File;
use std::path::Path;

use super::*;

use arrow_array::cast::AsArray;
use arrow_array::Array;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Every row of the changes file as strings ("" for null).
fn changes(path: &Path) -> Vec<[String; 8]> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let names = [
            "app_id",
            "app_name",
            "permission",
            "mailbox_id",
            "address",
            "change",
            "via_before",
            "via_after",
        ];
        let cols: Vec<_> = names
            .iter()
            .map(|n| batch.column_by_name(n).unwrap().as_string::<i32>().clone())
            .collect();
        for i in 0..batch.num_rows() {
            rows.push(std::array::from_fn(|c| {
                if cols[c].is_null(i) {
                    String::new()
                } else {
                    cols[c].value(i).to_string()
                }
            }));
        }
    }
    rows
}

const EXAMPLE_TWO: &str = "db45ba89-6851-5f7e-9b91-ac338e5590ab";
const ROOM_BOOKING: &str = "71487acd-ec93-476d-bd0e-6c8b31831053";

/// The migration of DESIGN's Example Two: the app loses its Entra Mail.Read (and
/// its policy); RBAC Mail.Read over `Alias -ne 'A'` stays. Mailbox A is lost,
/// the others keep Mail.Read but now only through RBAC.
fn migrate_example_two(w: &Fixture) {
    let grants = std::fs::read_to_string(w.path("after/app_role_assignments.csv")).unwrap();
    let kept: Vec<&str> = grants
        .lines()
        .filter(|l| !l.contains("57400a33-a40f-5503-ab24-cda6cad27717")) // its service principal
        .collect();
    assert_eq!(kept.len() + 1, grants.lines().count());
    std::fs::write(
        w.path("after/app_role_assignments.csv"),
        kept.join("\n") + "\n",
    )
    .unwrap();
}

#[test]
fn snapshot_against_its_own_dataset_has_no_change() {
    let w = Fixture::sides();
    w.analyze_ok("before", "ds");
    for args in [["diff", "ds", "before"], ["diff", "before", "ds"]] {
        let o = w.run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains("437 before, 437 after: 0 gained, 0 lost, 0 via changed"),
            "{out}"
        );
        assert!(out.ends_with("\nno cell changed\n"), "{out}");
    }
    let o = w.run(&["diff", "ds", "before", "--fail-on", "any"]);
    assert_eq!(o.status.code(), Some(0));
}

/// Adds an org-wide RBAC Mail.Read for Outlook Sync, which holds Entra Mail.Read
/// on 37 of 38 mailboxes: 37 cells change provenance, the 38th is gained.
fn add_org_wide_rbac_to_outlook_sync(w: &Fixture) {
    let path = w.path("after/management_role_assignments.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\"Sync org\",\"Application Mail.Read\",\"5cc2ef9c-9c24-51f8-b8e4-06d422dc1c86\",\"ServicePrincipal\",\"\",\"\",\"\",\"True\"\n");
    std::fs::write(&path, text).unwrap();
}

#[test]
fn every_change_kind_is_counted_written_and_gated() {
    let w = Fixture::sides();
    migrate_example_two(&w);
    // The Canada room booking role becomes ReadWrite: Calendars.Read lost, ReadWrite gained.
    w.edit_after(
        "management_role_assignments.csv",
        "\"Application Calendars.Read\",\"6233fba6",
        "\"Application Calendars.ReadWrite\",\"6233fba6",
    );
    add_org_wide_rbac_to_outlook_sync(&w);
    w.analyze_ok("before", "ds-before");
    let o = w.run(&["diff", "ds-before", "after", "-o", "changes.parquet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("  cells       437 before, 437 after: 14 gained, 14 lost, 37 via changed\n"),
        "{out}"
    );
    assert!(
        out.contains("  changes     65 rows in changes.parquet\n"),
        "{out}"
    );
    let line = |app: &str, p: &str| {
        out.lines()
            .find(|l| l.starts_with(app) && l.split_whitespace().any(|w| w == p))
            .unwrap_or_else(|| panic!("no line for {app} {p} in\n{out}"))
            .split_whitespace()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
    };
    // via changed, lost, gained (the last three columns, read right to left)
    assert_eq!(line("Example Two App", "Mail.Read"), ["0", "1", "0"]);
    assert_eq!(
        line("Room Booking Canada", "Calendars.Read"),
        ["0", "13", "0"]
    );
    assert_eq!(
        line("Room Booking Canada", "Calendars.ReadWrite"),
        ["0", "0", "13"]
    );
    assert_eq!(line("Outlook Sync", "Mail.Read"), ["37", "0", "1"]);

    let rows = changes(&w.path("changes.parquet"));
    assert_eq!(rows.len(), 65);
    let a = rows
        .iter()
        .find(|r| r[0] == EXAMPLE_TWO && r[4] == "a@contoso.com")
        .unwrap();
    assert_eq!(
        a,
        &[
            EXAMPLE_TWO,
            "Example Two App",
            "Mail.Read",
            "23a9546f-0343-5604-9eae-19f03936f68a",
            "a@contoso.com",
            "lost",
            "entra",
            ""
        ]
        .map(String::from)
    );
    let ceo = rows
        .iter()
        .find(|r| r[1] == "Outlook Sync" && r[4] == "ceo@contoso.com")
        .unwrap();
    assert_eq!(&ceo[5..], ["via-changed", "entra", "entra+rbac"]);
    let hold = rows
        .iter()
        .find(|r| r[1] == "Outlook Sync" && r[4] == "legal-hold@contoso.com")
        .unwrap();
    assert_eq!(&hold[5..], ["gained", "", "rbac"]);
    let gained = rows
        .iter()
        .find(|r| r[0] == ROOM_BOOKING && r[5] == "gained")
        .unwrap();
    assert_eq!(&gained[2..3], ["Calendars.ReadWrite"]);
    assert_eq!(&gained[6..], ["", "rbac"]);

    for (gate, code) in [("gained", 1), ("lost", 1), ("any", 1)] {
        let o = w.run(&["diff", "ds-before", "after", "--fail-on", gate]);
        assert_eq!(o.status.code(), Some(code), "--fail-on {gate}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.path("changes.parquet"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn gates_see_only_their_kind() {
    let w = Fixture::sides();
    // Only a loss: the Canada scope now matches nobody.
    w.edit_after(
        "management_scopes.csv",
        "\"CustomAttribute1 -eq '012332'\"",
        "\"CustomAttribute1 -eq 'none'\"",
    );
    let run = |gate: &str| {
        w.run(&["diff", "before", "after", "--fail-on", gate])
            .status
            .code()
    };
    assert_eq!(run("gained"), Some(0));
    assert_eq!(run("lost"), Some(1));
    assert_eq!(run("any"), Some(1));

    // A change of provenance and one gain, no loss.
    let w = Fixture::sides();
    add_org_wide_rbac_to_outlook_sync(&w);
    let o = w.run(&[
        "diff",
        "before",
        "after",
        "--format",
        "json",
        "--fail-on",
        "lost",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Outlook Sync reached 37 of 38 mailboxes via Entra; the org-wide assignment adds the 38th.
    assert_eq!(json["cells"]["gained"], 1);
    assert_eq!(json["cells"]["lost"], 0);
    assert_eq!(json["cells"]["via_changed"], 37);
    assert_eq!(json["changes"][0]["app_name"], "Outlook Sync");
    assert_eq!(json["changes"][0]["permission"], "Mail.Read");
    assert_eq!(
        w.run(&["diff", "before", "after", "--fail-on", "any"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn apps_and_mailboxes_that_appear_or_disappear_are_listed() {
    let w = Fixture::sides();
    // A mailbox leaves the mailboxes table and a new service principal appears.
    let path = w.path("after/mailboxes.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"user28@contoso.com\""))
        .collect();
    assert_eq!(kept.len() + 1, text.lines().count());
    std::fs::write(&path, kept.join("\r\n") + "\r\n").unwrap();
    let path = w.path("after/service_principals.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\"0f0f0f0f-0000-4000-8000-000000000001\",\"0f0f0f0f-0000-4000-8000-000000000002\",\"New Tool\"\n");
    std::fs::write(&path, text).unwrap();
    let o = w.run(&["diff", "before", "after", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["apps"]["appeared"][0]["name"], "New Tool");
    assert_eq!(json["apps"]["disappeared"].as_array().unwrap().len(), 0);
    assert_eq!(
        json["mailboxes"]["disappeared"][0]["address"],
        "user28@contoso.com"
    );
    assert_eq!(json["mailboxes"]["appeared"].as_array().unwrap().len(), 0);
    // Every cell of the removed mailbox is lost, nothing else changes.
    assert_eq!(json["cells"]["gained"], 0);
    assert!(json["cells"]["lost"].as_u64().unwrap() > 0);
    let o = w.run(&["diff", "before", "after"]);
    let out = stdout(&o);
    assert!(
        out.contains("  apps        1 appeared: New Tool (0f0f0f0f-0000-4000-8000-000000000001)\n"),
        "{out}"
    );
    assert!(
        out.contains("              1 disappeared: user28@contoso.com\n"),
        "{out}"
    );
}

#[test]
fn diff_errors_exit_2() {
    let w = Fixture::sides();
    let o = w.run(&["diff", "before", "missing"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: snapshot missing: no such directory; give the folder the export script wrote\n"
    );
    std::fs::write(w.path("taken.parquet"), "x").unwrap();
    let o = w.run(&["diff", "before", "after", "-o", "taken.parquet"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: taken.parquet already exists; pass --force to replace it, or choose another -o\n"
    );
    // A damaged dataset: apps.parquet missing.
    w.analyze_ok("before", "ds");
    std::fs::remove_file(w.path("ds/apps.parquet")).unwrap();
    let o = w.run(&["diff", "ds", "after"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: snapshot ds: is not a complete exomatrix dataset: apps.parquet is missing; run exomatrix analyze again\n"
    );
}

#[test]
fn who_can_on_a_snapshot_and_on_its_dataset_agree() {
    let w = Fixture::sides();
    w.analyze_ok("before", "ds");
    let o = w.run(&["who-can", "before", "--mailbox", "ceo@contoso.com"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let snapshot = stdout(&o);
    assert!(snapshot.starts_with("ceo@contoso.com (85520f70-4782-54ec-915e-ae86b7036fd7): reached by 7 app(s) with 8 permission(s)\n"), "{snapshot}");
    assert!(snapshot.contains("Example Two App          db45ba89-6851-5f7e-9b91-ac338e5590ab Mail.Read               rbac  Example Two Mail\n"), "{snapshot}");
    let o = w.run(&[
        "who-can",
        "ds",
        "--mailbox",
        "85520F70-4782-54ec-915e-ae86b7036fd7",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dataset = stdout(&o);
    // Same apps, permissions and provenance; only the assignment column is snapshot-only.
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .skip(2)
            .map(|l| {
                l.split_whitespace()
                    .rev()
                    .skip_while(|w| !matches!(*w, "entra" | "rbac" | "entra+rbac"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(strip(&snapshot)[2..], strip(&dataset)[2..]);
    let o = w.run(&[
        "who-can",
        "ds",
        "--mailbox",
        "ceo@contoso.com",
        "--permission",
        "Mail.Send",
    ]);
    assert_eq!(
        stdout(&o),
        "ceo@contoso.com (85520f70-4782-54ec-915e-ae86b7036fd7): reached by 1 app(s) with 1 permission(s)\n\nApp      AppId                                Permission Via\n---      -----                                ---------- ---\nNotifier 1b024f67-2514-54c8-9418-9feb3a70a70e Mail.Send  entra\n"
    );
    let o = w.run(&["who-can", "ds", "--mailbox", "nobody@contoso.com"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: mailbox 'nobody@contoso.com' is not in the dataset ds"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn explain_prints_the_reasons_and_the_cmdlet_tables() {
    let w = Fixture::sides();
    let o = w.run(&[
        "explain",
        "before",
        "--app",
        "Support Desk Integration",
        "--mailbox",
        "user11@contoso.com",
        "--permission",
        "Mail.Send",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "app      Support Desk Integration (2db6305e-e600-5dd4-a870-1bf190fc192a)
mailbox  user11@contoso.com (3425f165-d821-57e9-bb29-1ce9f3b6bb83)

Mail.Send: NOT GRANTED
  entra: Entra grant of Mail.Send (before/app_role_assignments.csv, line 9); Mail.Send is constrained by application access policies: denied by DenyAccess policy '2db6305e-e600-5dd4-a870-1bf190fc192a:user11@contoso.com' (the mailbox is its scope) although RestrictAccess policy '2db6305e-e600-5dd4-a870-1bf190fc192a:Support-Team' matches (the mailbox is a member of group 'Support-Team'): Deny beats Restrict, so the Entra grant does not reach this mailbox
  rbac: no role assignment of the app grants Mail.Send
"
    );
    let o = w.run(&[
        "explain",
        "before",
        "--app",
        "Room Booking Canada",
        "--mailbox",
        "user05@contoso.com",
        "--as",
        "test-serviceprincipalauthorization",
    ]);
    assert_eq!(
        stdout(&o),
        "RoleName                   GrantedPermissions AllowedResourceScope ScopeType            InScope
--------                   ------------------ -------------------- ---------            -------
Application Calendars.Read Calendars.Read     Canadian employees   CustomRecipientScope True
"
    );
    let o = w.run(&[
        "explain",
        "before",
        "--app",
        "e7e4dbfc-046f-4074-9b3b-2ae8f144f59b",
        "--mailbox",
        "user01@contoso.com",
        "--as",
        "test-applicationaccesspolicy",
    ]);
    assert_eq!(
        stdout(&o),
        "AppId                                Mailbox            AccessCheckResult
-----                                -------            -----------------
e7e4dbfc-046f-4074-9b3b-2ae8f144f59b user01@contoso.com Denied
"
    );
    for (args, message) in [
        (vec!["--app", "Nope", "--mailbox", "ceo@contoso.com"], "error: app 'Nope' is not in the snapshot: give its AppId, its service principal ObjectId or its DisplayName (service_principals.csv)\n"),
        (vec!["--app", "Notifier", "--mailbox", "evenusers@contoso.com"], "error: 'evenusers@contoso.com' is group 'EvenUsers', not a mailbox; give one mailbox\n"),
        (vec!["--app", "Notifier"], "error: --mailbox is required (only --as test-serviceprincipalauthorization runs without one)\n"),
        (vec!["--app", "Notifier", "--mailbox", "ceo@contoso.com", "--permission", "Mail.Reed"], "error: unknown permission 'Mail.Reed'; the permissions are: "),
    ] {
        let mut all = vec!["explain", "before"];
        all.extend(args);
        let o = w.run(&all);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).starts_with(message), "{}", stderr(&o));
    }
}
