//! analyze and generate: the sample tenant, each failure mode of bad input, the
//! golden --help files, and what a failed or killed write leaves behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::*;

#[test]
fn analyze_sample_tenant_writes_the_dataset_and_prints_a_summary() {
    let f = Fixture::new();
    let o = f.analyze();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "  mailboxes       38",
        "  apps            15",
        "  granted cells   437 (entra only 254, rbac only 176, both 7)",
        "  findings        20 (17 warnings, 3 info)",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    assert!(out.contains("  time            "), "{out}");
    assert!(stderr(&o).starts_with("warnings:\n"), "{}", stderr(&o));
    let mut files: Vec<String> = std::fs::read_dir(f.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "access.parquet",
            "apps.parquet",
            "findings.parquet",
            "grants.parquet",
            "mailboxes.parquet",
            "manifest.json",
            "permissions.parquet",
            "views.sql"
        ]
    );
    let manifest: serde_json::Value = serde_json::from_str(&f.read("out/manifest.json")).unwrap();
    assert_eq!(manifest["counts"]["cells"], 437);
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 10);
    let sha = manifest["inputs"][0]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
}

#[cfg(unix)]
#[test]
fn dataset_files_are_readable_only_by_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    assert_eq!(f.analyze().status.code(), Some(0));
    assert_eq!(
        std::fs::metadata(f.path("out"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(f.path("out")).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn quiet_prints_nothing() {
    let f = Fixture::new();
    let o = f.run(&["analyze", "snap", "-o", "out", "--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
}

#[test]
fn existing_output_is_refused_without_force_and_replaced_with_it() {
    let f = Fixture::new();
    std::fs::create_dir(f.path("out")).unwrap();
    f.write("out/keep.txt", "previous");
    let o = f.analyze();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), format!("error: output directory {} already exists and is not empty; pass --force to replace it, or choose another -o\n", "out"));
    assert_eq!(f.read("out/keep.txt"), "previous");

    let o = f.run(&["analyze", "snap", "-o", "out", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!f.path("out/keep.txt").exists());
    assert!(f.path("out/access.parquet").exists());
}

#[test]
fn empty_existing_output_directory_is_used() {
    let f = Fixture::new();
    std::fs::create_dir(f.path("out")).unwrap();
    assert_eq!(f.analyze().status.code(), Some(0));
    assert!(f.path("out/access.parquet").exists());
}

#[test]
fn aap_nesting_direct_changes_the_nested_cells() {
    let f = Fixture::new();
    let o = f.run(&["analyze", "snap", "-o", "out", "--aap-nesting", "direct"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("granted cells   434 "),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("AAP nesting     3 cells"),
        "{}",
        stdout(&o)
    );
}

// ---- bad input: exit 2, a message that says what, where and how, and no output ----

#[test]
fn snapshot_directory_that_does_not_exist() {
    let f = Fixture::new();
    std::fs::remove_dir_all(f.path("snap")).unwrap();
    let o = f.analyze();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: snapshot snap: no such directory; give the folder the export script wrote\n"
    );
    assert!(!f.path("out").exists());
}

#[test]
fn snapshot_with_only_a_mailboxes_table_analyzes() {
    let f = Fixture::new();
    for entry in std::fs::read_dir(f.path("snap")).unwrap() {
        let path = entry.unwrap().path();
        if !path.ends_with("mailboxes.csv") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let o = f.analyze();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("  mailboxes       38\n"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("  granted cells   0 "),
        "{}",
        stdout(&o)
    );
    assert!(f.path("out/access.parquet").exists());
}

#[test]
fn snapshot_without_mailboxes_table() {
    let f = Fixture::new();
    std::fs::remove_file(f.path("snap/mailboxes.csv")).unwrap();
    assert_fails(&f, "snapshot snap: holds no mailboxes table (mailboxes.csv or mailboxes.parquet); it is required");
}

#[test]
fn unterminated_quote_in_a_scope_filter() {
    let f = Fixture::new();
    f.edit(
        "snap/management_scopes.csv",
        "\"CustomAttribute1 -eq '012332'\"",
        "\"CustomAttribute1 -eq '012332\"",
    );
    assert_fails(
        &f,
        "snap/management_scopes.csv, line 2, column RecipientFilter: recipient filter of management scope 'Canadian employees' is invalid
  CustomAttribute1 -eq '012332
                       ^^^^^^^
  unterminated quoted value
  hint: close the value with '; to put a ' inside it, double it ('')",
    );
}

#[test]
fn unknown_filter_property_names_close_matches() {
    let f = Fixture::new();
    f.edit(
        "snap/management_scopes.csv",
        "\"CustomAttribute1 -eq '012332'\"",
        "\"CustomAtribute1 -eq '012332'\"",
    );
    assert_fails(
        &f,
        "snap/management_scopes.csv, line 2, column RecipientFilter: recipient filter of management scope 'Canadian employees' is invalid
  CustomAtribute1 -eq '012332'
  ^^^^^^^^^^^^^^^
  unknown property 'CustomAtribute1': the mailboxes table (snap/mailboxes.csv) has no such column
  hint: did you mean CustomAttribute1?",
    );
}

#[test]
fn unknown_filter_operator() {
    let f = Fixture::new();
    f.edit(
        "snap/management_scopes.csv",
        "\"Alias -eq 'B'\"",
        "\"Alias -contains 'B'\"",
    );
    assert_fails(
        &f,
        "snap/management_scopes.csv, line 3, column RecipientFilter: recipient filter of management scope 'Example One B' is invalid
  Alias -contains 'B'
        ^^^^^^^^^
  unknown operator '-contains'
  hint: to test part of a value use -like with * wildcards, e.g. -like '*text*'",
    );
}

#[test]
fn empty_filter() {
    let f = Fixture::new();
    f.edit("snap/management_scopes.csv", "\"Alias -eq 'B'\"", "\"\"");
    assert_fails(
        &f,
        "snap/management_scopes.csv, line 3, column RecipientFilter: recipient filter of management scope 'Example One B' is invalid
  
  ^
  the filter is empty
  hint: write at least one comparison, e.g. Department -eq 'Sales'",
    );
}

#[test]
fn access_right_other_than_restrict_or_deny() {
    let f = Fixture::new();
    f.edit(
        "snap/application_access_policies.csv",
        "\"DenyAccess\",\"\",\"Board-Members\"",
        "\"Deny\",\"\",\"Board-Members\"",
    );
    assert_fails(
        &f,
        "snap/application_access_policies.csv, line 6, column AccessRight: AccessRight 'Deny' is not RestrictAccess or DenyAccess; export the policy's AccessRight as Get-ApplicationAccessPolicy prints it",
    );
}

#[test]
fn type_name_cell_instead_of_values() {
    let f = Fixture::new();
    f.edit(
        "snap/mailboxes.csv",
        "\"SMTP:b@contoso.com;smtp:b@contoso.onmicrosoft.com;X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=b\"",
        "\"System.Object[]\"",
    );
    assert_fails(
        &f,
        "snap/mailboxes.csv, line 6, column EmailAddresses: the cell holds the .NET type name 'System.Object[]' instead of values: the export lost this multi-valued property; join its values with ';' (e.g. @{n='EmailAddresses';e={$_.EmailAddresses -join ';'}})",
    );
}

#[test]
fn missing_required_column() {
    let f = Fixture::new();
    f.edit(
        "snap/group_members.csv",
        "\"Group\",\"Member\"",
        "\"Group\",\"Members\"",
    );
    assert_fails(
        &f,
        "snap/group_members.csv: missing required column Member; the header has: Group, Members. Export the table with that property (see scripts/Export-ExomatrixSnapshot.ps1)",
    );
}

#[test]
fn issue_9_a_header_naming_a_column_twice_is_an_error_with_both_positions() {
    let f = Fixture::new();
    f.edit(
        "snap/groups.csv",
        "\"RecipientTypeDetails\"\n",
        "\"distinguishedname\"\n",
    );
    assert_fails(
        &f,
        "snap/groups.csv, line 1: the header names column distinguishedname twice (columns 3 and 7); remove one of them: exomatrix cannot tell which holds the data",
    );
}

#[test]
fn issue_9_a_mailboxes_table_with_a_header_and_no_rows_is_an_error() {
    let f = Fixture::new();
    let text = f.read("snap/mailboxes.csv");
    let header_end = text.find("\n\"").unwrap() + 1; // past the #TYPE line
    let header_end = header_end + text[header_end..].find('\n').unwrap() + 1;
    f.write("snap/mailboxes.csv", &text[..header_end]);
    assert_fails(
        &f,
        "snap/mailboxes.csv: the table lists no mailboxes (the header is there, no rows follow). A tenant always has mailboxes, so the export is broken (too few permissions, an interrupted run, a filter); exomatrix does not report \"no access\" for it. Run the export script again (its -CheckOnly switch tests the permissions first)",
    );
}

#[test]
fn issue_9_a_type_line_without_a_header_says_export_csv_got_no_objects() {
    let f = Fixture::new();
    f.write(
        "snap/management_scopes.csv",
        "#TYPE System.Management.Automation.PSCustomObject\r\n",
    );
    assert_fails(
        &f,
        "snap/management_scopes.csv: the file holds PowerShell's #TYPE line but no header: Export-Csv was given no objects, so the table has no columns; export it again with its header (scripts/Export-ExomatrixSnapshot.ps1 writes the header of an empty table)",
    );
}

#[test]
fn wrong_column_count() {
    let f = Fixture::new();
    f.edit(
        "snap/service_principals.csv",
        "\"Room Booking Canada\"",
        "Room Booking, Canada",
    );
    assert_fails(
        &f,
        "snap/service_principals.csv, line 3: expected 3 fields as in the header, found 4: a value probably holds an unquoted comma; quote every field (Export-Csv does)",
    );
}

#[test]
fn truncated_file() {
    let f = Fixture::new();
    let text = f.read("snap/groups.csv");
    f.write("snap/groups.csv", &text[..text.len() - 60]);
    let o = f.analyze();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(
            "error: snap/groups.csv, line 12: expected 7 fields as in the header, found "
        ),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).ends_with(
            ": the file may be truncated, or a line break inside a value was not quoted\n"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!f.path("out").exists());
}

#[test]
fn non_utf8_bytes() {
    let f = Fixture::new();
    let mut bytes = f.read("snap/service_principals.csv").into_bytes();
    let at = bytes.windows(8).position(|w| w == b"Notifier").unwrap();
    bytes[at + 6] = 0xE9; // a Latin-1 'é', as a non-UTF-8 export would write it
    f.write("snap/service_principals.csv", bytes);
    assert_fails(
        &f,
        "snap/service_principals.csv, line 10, column DisplayName: value is not UTF-8 (invalid byte 0xE9 after 6 valid bytes); re-export with -Encoding utf8",
    );
}

#[test]
fn duplicate_mailbox_ids() {
    let f = Fixture::new();
    let text = f.read("snap/mailboxes.csv");
    let line4 = text.split("\r\n").nth(3).unwrap().to_string();
    f.write("snap/mailboxes.csv", format!("{text}{line4}\r\n"));
    let id = &line4[1..37];
    assert_fails(
        &f,
        &format!("snap/mailboxes.csv, line 41, column ExternalDirectoryObjectId: duplicate mailbox {id}: line 4 has the same ExternalDirectoryObjectId; remove one of the rows"),
    );
}

#[test]
fn identity_that_resolves_to_two_objects() {
    let f = Fixture::new();
    // Give the group Executives the alias-style name of the mailbox 'ceo'.
    f.edit(
        "snap/groups.csv",
        "\"Executives\",\"Executives\"",
        "\"ceo\",\"Executives\"",
    );
    f.edit(
        "snap/group_members.csv",
        "\"executives@contoso.com\",\"85520f70-4782-54ec-915e-ae86b7036fd7\"",
        "\"ceo\",\"85520f70-4782-54ec-915e-ae86b7036fd7\"",
    );
    assert_fails(
        &f,
        "snap/group_members.csv, line 19, column Group: identity 'ceo' is ambiguous: its alias or name matches both mailbox ceo@contoso.com and group 'ceo'; use the object's GUID or distinguished name",
    );
}

#[test]
fn invalid_guid() {
    let f = Fixture::new();
    f.edit(
        "snap/service_principals.csv",
        "\"71487acd-ec93-476d-bd0e-6c8b31831053\"",
        "\"71487acd-ec93-476d-bd0e-6c8b3183105\"",
    );
    assert_fails(
        &f,
        "snap/service_principals.csv, line 3, column AppId: '71487acd-ec93-476d-bd0e-6c8b3183105' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
    );
}

#[test]
fn output_under_a_file_fails_cleanly() {
    let f = Fixture::new();
    f.write("blocker", "a file");
    let o = f.run(&["analyze", "snap", "-o", "blocker/out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert_eq!(f.read("blocker"), "a file");
}

#[test]
fn output_that_is_a_file_is_refused_and_left_alone() {
    let f = Fixture::new();
    f.write("taken", "a file");
    let o = f.run(&["analyze", "snap", "-o", "taken"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: taken is a file; -o takes a directory (give a new folder's name)\n"
    );
    assert_eq!(f.read("taken"), "a file");
}

#[test]
fn help_matches_the_golden_file() {
    for (args, golden) in [
        (vec!["--help"], "help.txt"),
        (vec!["analyze", "--help"], "analyze-help.txt"),
        (vec!["diff", "--help"], "diff-help.txt"),
        (vec!["explain", "--help"], "explain-help.txt"),
        (vec!["who-can", "--help"], "who-can-help.txt"),
        (vec!["plan-migration", "--help"], "plan-migration-help.txt"),
        (vec!["report", "--help"], "report-help.txt"),
    ] {
        let o = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(golden);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &o.stdout).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            stdout(&o),
            expected,
            "run with UPDATE_GOLDEN=1 to accept a deliberate change"
        );
    }
}

#[test]
fn unknown_arguments_exit_2() {
    let o = Command::new(BIN)
        .args(["analyze", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn access_parquet_holds_exactly_the_evaluated_cells_in_sorted_order() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{UInt32Type, UInt8Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let f = Fixture::new();
    assert_eq!(f.analyze().status.code(), Some(0));
    let file = std::fs::File::open(f.path("out/access.parquet")).unwrap();
    let mut rows = Vec::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
    {
        let batch = batch.unwrap();
        let app = batch.column(0).as_primitive::<UInt32Type>();
        let perm = batch.column(1).as_primitive::<UInt8Type>();
        let mailbox = batch.column(2).as_primitive::<UInt32Type>();
        let via = batch.column(3).as_primitive::<UInt8Type>();
        for i in 0..batch.num_rows() {
            rows.push((app.value(i), perm.value(i), mailbox.value(i), via.value(i)));
        }
    }
    let analysis = exomatrix::Analysis::run(&sample_dir(), Default::default()).unwrap();
    let mut expected = Vec::new();
    for g in &analysis.matrix.grants {
        g.cells.for_each_cell(|m, via| {
            expected.push((g.cells.app, g.cells.permission, m, via.bits()))
        });
    }
    assert_eq!(rows.len(), 437);
    assert!(
        rows.windows(2)
            .all(|w| (w[0].0, w[0].1, w[0].2) < (w[1].0, w[1].1, w[1].2)),
        "sorted and unique"
    );
    assert_eq!(rows, expected);
    assert!(rows.iter().all(|r| (1..=3).contains(&r.3)));
}

#[test]
fn generate_is_deterministic_for_a_seed_and_its_output_analyzes() {
    let f = Fixture::new();
    let small = [
        "--mailboxes",
        "300",
        "--apps",
        "40",
        "--groups",
        "30",
        "--scopes",
        "20",
        "--assignments",
        "60",
    ];
    for (dir, seed) in [("g1", "5"), ("g2", "5"), ("g3", "6")] {
        let mut args = vec!["generate", "-o", dir, "--seed", seed];
        args.extend(small);
        let o = f.run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("  mailboxes                           300 rows"),
            "{}",
            stdout(&o)
        );
    }
    for table in [
        "mailboxes",
        "group_members",
        "management_scopes",
        "management_role_assignments",
    ] {
        let file = format!("{table}.csv");
        assert_eq!(
            f.read(&format!("g1/{file}")),
            f.read(&format!("g2/{file}")),
            "{file} differs for one seed"
        );
    }
    assert_ne!(f.read("g1/mailboxes.csv"), f.read("g3/mailboxes.csv"));
    let o = f.run(&["analyze", "g1", "-o", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("  mailboxes       300\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn generated_parquet_snapshot_gives_the_same_matrix_as_csv() {
    let f = Fixture::new();
    for (dir, format) in [("csv", "csv"), ("pq", "parquet")] {
        let o = f.run(&[
            "generate",
            "-o",
            dir,
            "--format",
            format,
            "--mailboxes",
            "200",
            "--apps",
            "30",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let csv = exomatrix::Analysis::run(&f.path("csv"), Default::default()).unwrap();
    let pq = exomatrix::Analysis::run(&f.path("pq"), Default::default()).unwrap();
    assert!(f.path("pq/mailboxes.parquet").exists());
    assert_eq!(csv.matrix.cells(), pq.matrix.cells());
    assert!(csv.matrix.cells() > 0);
    let effective = |a: &exomatrix::Analysis| {
        a.matrix
            .grants
            .iter()
            .map(|g| (g.cells.app, g.cells.permission, g.cells.cells()))
            .collect::<Vec<_>>()
    };
    assert_eq!(effective(&csv), effective(&pq));
}

#[test]
fn filter_nested_deeper_than_the_limit() {
    let f = Fixture::new();
    let deep = format!("{}Alias -eq 'B'{}", "(".repeat(65), ")".repeat(65));
    f.edit(
        "snap/management_scopes.csv",
        "\"Alias -eq 'B'\"",
        &format!("\"{deep}\""),
    );
    assert_fails(
        &f,
        &format!("snap/management_scopes.csv, line 3, column RecipientFilter: recipient filter of management scope 'Example One B' is invalid
  {deep}
  {}^
  parentheses and -not nest deeper than 64 levels
  hint: simplify the filter; no real recipient filter needs this depth", " ".repeat(64)),
    );
}

/// Runs `exomatrix analyze snap -o out --force` with the size of any file it
/// writes capped at 1 KiB (RLIMIT_FSIZE), so a dataset file cannot be finished.
/// With `ignore_signal`, the write fails with EFBIG, as on a full disk; without,
/// the kernel kills the process with SIGXFSZ in the middle of the write.
#[cfg(unix)]
fn analyze_with_file_size_limit(f: &Fixture, ignore_signal: bool) -> Output {
    let trap = if ignore_signal { "trap '' XFSZ; " } else { "" };
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{trap}ulimit -f 2 && exec \"$0\" analyze snap -o out --force"
        ))
        .arg(BIN)
        .current_dir(f.dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Every file of a directory with its bytes, for before/after comparison.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

fn entries(f: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The message of a failed dataset write: which dataset, which file and why
/// (the temporary directory's PID and which file failed first vary), and that
/// nothing was changed.
fn assert_write_error(f: &Fixture, err: &str) {
    let out = f.path("out");
    let out = out.display();
    let head = format!(
        "error: could not write the dataset {out}: {}/.out.tmp-",
        f.dir.path().display()
    );
    assert!(err.starts_with(&head), "{err}");
    assert!(err.contains("File too large (os error 27)"), "{err}");
    assert!(err.ends_with(&format!("\n  nothing was changed at {out}: a previous dataset there is intact; free space (or fix the cause above) and run again\n")), "{err}");
}

#[cfg(unix)]
#[test]
fn write_error_keeps_the_previous_dataset_intact() {
    let f = Fixture::new();
    assert_eq!(f.analyze().status.code(), Some(0));
    let before = tree(&f.path("out"));
    // A different snapshot, so a mix of old and new files would show.
    f.edit(
        "snap/application_access_policies.csv",
        "\"*\",\"DenyAccess\"",
        "\"*\",\"RestrictAccess\"",
    );
    let o = analyze_with_file_size_limit(&f, true);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
    assert_write_error(&f, &stderr(&o));
    assert_eq!(
        tree(&f.path("out")),
        before,
        "the previous dataset must be untouched"
    );
    assert_eq!(
        entries(&f),
        ["out", "snap"],
        "no temporary directory may be left"
    );
}

#[cfg(unix)]
#[test]
fn write_error_without_a_previous_dataset_leaves_none() {
    let f = Fixture::new();
    let o = analyze_with_file_size_limit(&f, true);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
    assert_write_error(&f, &stderr(&o));
    assert_eq!(entries(&f), ["snap"]);
}

#[cfg(unix)]
#[test]
fn killed_mid_write_keeps_the_previous_dataset_and_the_next_run_cleans_up() {
    use std::os::unix::process::ExitStatusExt;
    let f = Fixture::new();
    assert_eq!(f.analyze().status.code(), Some(0));
    let before = tree(&f.path("out"));
    let o = analyze_with_file_size_limit(&f, false);
    assert_eq!(
        o.status.signal(),
        Some(25),
        "SIGXFSZ; stderr: {}",
        stderr(&o)
    );
    assert_eq!(
        tree(&f.path("out")),
        before,
        "the previous dataset must be untouched"
    );
    // The killed run could not remove its half-written temporary directory...
    let names = entries(&f);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[0].starts_with(".out.tmp-"), "{names:?}");
    // ...the next run removes it.
    let o = f.run(&["analyze", "snap", "-o", "out", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(entries(&f), ["out", "snap"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_dataset_moved_aside_by_a_killed_run_is_put_back() {
    let f = Fixture::new();
    assert_eq!(f.analyze().status.code(), Some(0));
    let before = tree(&f.path("out"));
    // What a run killed between its two renames leaves: the previous dataset
    // moved aside under the PID of a process that no longer exists.
    let aside = f.path(".out.old-4294967");
    std::fs::rename(f.path("out"), &aside).unwrap();
    let o = f.analyze();
    assert_eq!(
        o.status.code(),
        Some(2),
        "without --force the restored dataset is kept"
    );
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let restored: Vec<_> = tree(&f.path("out"))
        .into_iter()
        .map(|(p, b)| (p.strip_prefix(f.path("out")).unwrap().to_path_buf(), b))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .map(|(p, b)| (p.strip_prefix(f.path("out")).unwrap().to_path_buf(), b))
        .collect();
    assert_eq!(restored, before);
    assert_eq!(entries(&f), ["out", "snap"]);
}
