//! Input formats: the sample tenant rewritten in every dialect the loader accepts
//! (Windows PowerShell 5.1 and PowerShell 7 Export-Csv, odd header case, extra
//! columns, Parquet with list and boolean columns) gives exactly the same matrix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use exomatrix::analysis::{Analysis, AnalysisOptions};
use exomatrix::snapshot::csv::parse_csv;
use exomatrix::snapshot::tables::ALL_TABLES;
use parquet::arrow::ArrowWriter;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Every cell as (AppId, permission id, ExternalDirectoryObjectId, via): stable keys.
fn cells(a: &Analysis) -> Vec<(String, u8, String, u8)> {
    let mut out = Vec::new();
    for g in &a.matrix.grants {
        let app = &a.model.apps.apps[g.cells.app as usize].app_id;
        g.cells.for_each_cell(|m, via| {
            out.push((
                app.clone(),
                g.cells.permission,
                a.directory.mailbox_id(m),
                via.bits(),
            ))
        });
    }
    out.sort();
    out
}

fn analyze(dir: &Path) -> Analysis {
    Analysis::run(dir, AnalysisOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Rewrites every sample CSV through `f(table name, text) -> bytes` into a new snapshot.
fn rewrite(f: impl Fn(&str, &str) -> Vec<u8>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for spec in ALL_TABLES {
        let text = std::fs::read_to_string(sample().join(format!("{}.csv", spec.name))).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        let text = if text.starts_with("#TYPE") {
            text.split_once('\n').unwrap().1
        } else {
            text
        };
        std::fs::write(
            dir.path().join(format!("{}.csv", spec.name)),
            f(spec.name, &text.replace("\r\n", "\n")),
        )
        .unwrap();
    }
    dir
}

#[test]
fn windows_powershell_5_1_dialect_gives_the_same_matrix() {
    let expected = cells(&analyze(&sample()));
    let dir = rewrite(|table, text| {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(format!("#TYPE Deserialized.Exomatrix.{table}\r\n").as_bytes());
        bytes.extend(text.replace('\n', "\r\n").as_bytes());
        bytes
    });
    assert_eq!(cells(&analyze(dir.path())), expected);
}

#[test]
fn powershell_7_dialect_with_unquoted_fields_and_no_bom_gives_the_same_matrix() {
    let expected = cells(&analyze(&sample()));
    let dir = rewrite(|_, text| {
        // PowerShell 7's -UseQuotes AsNeeded: quotes only where a value needs them.
        let mut out = String::new();
        for line in text.lines() {
            let record = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes())
                .records()
                .next()
                .unwrap()
                .unwrap();
            let fields: Vec<String> = record
                .iter()
                .map(|v| {
                    if v.contains([',', '"']) {
                        format!("\"{}\"", v.replace('"', "\"\""))
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out.into_bytes()
    });
    assert_eq!(cells(&analyze(dir.path())), expected);
}

#[test]
fn header_case_and_extra_columns_do_not_matter() {
    let expected = cells(&analyze(&sample()));
    let dir = rewrite(|_, text| {
        let (header, rest) = text.split_once('\n').unwrap();
        let header = header.to_uppercase();
        let mut out = format!("\"RunspaceId\",{header},\"PSComputerName\"\n");
        for line in rest.lines() {
            out.push_str(&format!(
                "\"6d0e2c54-0f79-4b7c-9d2a-2b1c7a0c8e11\",{line},\"outlook.office365.com\"\n"
            ));
        }
        out.into_bytes()
    });
    assert_eq!(cells(&analyze(dir.path())), expected);
}

#[test]
fn parquet_snapshot_with_list_and_boolean_columns_gives_the_same_matrix() {
    let expected = cells(&analyze(&sample()));
    let dir = tempfile::tempdir().unwrap();
    for spec in ALL_TABLES {
        let path = sample().join(format!("{}.csv", spec.name));
        let table = parse_csv(&std::fs::read(&path).unwrap(), "x.csv", spec).unwrap();
        let mut columns: Vec<(String, ArrayRef)> = Vec::new();
        for (name, array) in table.names.iter().zip(&table.columns) {
            let values = (0..table.len()).map(|i| table.column(&[name]).unwrap().get(i));
            let column: ArrayRef = match name.as_str() {
                "EmailAddresses" => {
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for v in values {
                        match v {
                            Some(cell) => {
                                cell.split(';').for_each(|p| b.values().append_value(p));
                                b.append(true);
                            }
                            None => b.append(false),
                        }
                    }
                    Arc::new(b.finish())
                }
                "Enabled" | "Exclusive" | "IsValid" => {
                    let mut b = BooleanBuilder::new();
                    for v in values {
                        b.append_option(v.map(|s| s.eq_ignore_ascii_case("true")));
                    }
                    Arc::new(b.finish())
                }
                _ => Arc::new(StringArray::from_iter(
                    (0..table.len()).map(|r| array.value(r)),
                )),
            };
            columns.push((name.clone(), column));
        }
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file =
            std::fs::File::create(dir.path().join(format!("{}.parquet", spec.name))).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let a = analyze(dir.path());
    assert_eq!(cells(&a), expected);
    assert_eq!(
        a.snapshot.mailboxes.file,
        dir.path().join("mailboxes.parquet").display().to_string()
    );
}

#[test]
fn csv_and_parquet_of_the_same_table_side_by_side_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        sample().join("mailboxes.csv"),
        dir.path().join("mailboxes.csv"),
    )
    .unwrap();
    std::fs::write(dir.path().join("MAILBOXES.parquet"), b"not parquet").unwrap();
    let err = Analysis::run(dir.path(), AnalysisOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.ends_with("holds 2 files for table mailboxes; keep exactly one of mailboxes.csv or mailboxes.parquet"), "{err}");
}

/// The error of analysing a snapshot whose only table is a fixture's mailboxes file.
fn mailboxes_fixture_error(fixture: &str) -> String {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&fixture, dir.path().join("mailboxes.csv")).unwrap();
    Analysis::run(dir.path(), AnalysisOptions::default())
        .err()
        .unwrap()
        .to_string()
}

#[test]
fn raw_windows_powershell_export_of_get_mailbox_is_rejected_with_advice() {
    let err = mailboxes_fixture_error("raw-windows-powershell-5.1-mailboxes.csv");
    let (_, message) = err.split_once("mailboxes.csv, ").unwrap();
    assert_eq!(
        message,
        "line 3, column EmailAddresses: the cell holds the .NET type name 'Microsoft.Exchange.Data.ProxyAddressCollection' instead of values: the export lost this multi-valued property; join its values with ';' (e.g. @{n='EmailAddresses';e={$_.EmailAddresses -join ';'}})"
    );
}

#[test]
fn raw_powershell_7_export_with_array_list_is_rejected_with_advice() {
    let err = mailboxes_fixture_error("raw-powershell-7-mailboxes.csv");
    assert!(err.ends_with("mailboxes.csv, line 2, column ExtensionCustomAttribute1: the cell holds the .NET type name 'System.Collections.ArrayList' instead of values: the export lost this multi-valued property; join its values with ';' (e.g. @{n='ExtensionCustomAttribute1';e={$_.ExtensionCustomAttribute1 -join ';'}})"), "{err}");
}

/// (app, permission, mailbox address) of every granted cell, in matrix order.
fn cells_by_name(a: &Analysis) -> Vec<(String, String, String)> {
    let mut cells = Vec::new();
    for g in &a.matrix.grants {
        let app = a.model.apps.apps[g.cells.app as usize].label().to_string();
        let permission = exomatrix::policy::permissions::info(g.cells.permission).name;
        g.cells.for_each_cell(|m, _| {
            cells.push((
                app.clone(),
                permission.to_string(),
                a.directory.mailbox_address(m).to_string(),
            ))
        });
    }
    cells
}

fn export_fixture(variant: &str) -> Analysis {
    analyze(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/export-script")
            .join(variant),
    )
}

/// The tables exactly as scripts/Export-ExomatrixSnapshot.ps1 writes them under
/// Windows PowerShell 5.1 (BOM, CRLF, every field quoted) and PowerShell 7 on
/// Linux (no BOM, LF): role assignments in the shapes Get-ManagementRoleAssignment
/// reports, a role group without an Entra id, ISO dates.
#[test]
fn snapshot_written_by_the_export_script_loads_in_both_powershell_dialects() {
    let a = export_fixture("windows-powershell-5.1");
    let all = [
        "adele@fabrikam.com",
        "alex@fabrikam.com",
        "conf-1@fabrikam.com",
        "linked-room@fabrikam.com",
        "support@fabrikam.com",
    ];
    let mut expected: Vec<(&str, &str, &str)> = Vec::new();
    // Entra Mail.Read restricted to Mail Readers, nested Rooms included.
    for m in [0, 2, 3] {
        expected.push(("Fabrikam Archiver", "Mail.Read", all[m]));
    }
    // RBAC Calendars.ReadWrite on the Canada unit (RecipientWriteScope
    // AdministrativeUnit, the unit in CustomRecipientWriteScope) and
    // Calendars.Read on the Canadian users scope.
    for m in [1, 2] {
        expected.push(("Canada Calendar Sync", "Calendars.Read", all[m]));
    }
    for m in [1, 2] {
        expected.push(("Canada Calendar Sync", "Calendars.ReadWrite", all[m]));
    }
    // Finance Notifier: RBAC Mail.Send on the Microsoft 365 group Finance
    // (CustomResourceScope Finance_2b8c_<GUID>), direct members; EWS from Entra
    // with support denied; the role that keeps its .All over the organization.
    for m in [1, 4] {
        expected.push(("Finance Notifier", "Mail.Send", all[m]));
    }
    for m in [0, 1, 2, 3] {
        expected.push(("Finance Notifier", "EWS.AccessAsApp", all[m]));
    }
    for m in all {
        expected.push(("Finance Notifier", "MailTips.ReadBasic.All", m));
    }
    let mut cells = cells_by_name(&a);
    cells.sort();
    let mut expected: Vec<(String, String, String)> = expected
        .into_iter()
        .map(|(a, p, m)| (a.to_string(), p.to_string(), m.to_string()))
        .collect();
    expected.sort();
    assert_eq!(cells, expected);
    let kinds: Vec<&str> = a.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            exomatrix::findings::kind::IGNORED_ENTRA_GRANTS,
            exomatrix::findings::kind::ASSIGNMENT_DISABLED
        ],
        "{:?}",
        a.findings.iter().collect::<Vec<_>>()
    );
    assert_eq!(a.directory.groups.len(), 4, "the role group is kept");

    // PowerShell 7's output, byte for byte different, is the same snapshot.
    let b = export_fixture("powershell-7");
    assert_eq!(cells_by_name(&a), cells_by_name(&b));
    assert_eq!(a.findings.len(), b.findings.len());
}

/// A tenant without administrative units, policies, scopes or role assignments:
/// each of those tables is its header alone, as the script writes it.
#[test]
fn empty_tables_written_with_their_header_load_as_empty() {
    let a = export_fixture("empty-tables");
    assert_eq!(a.directory.admin_units.len(), 0);
    assert!(a.model.policies.is_empty() && a.model.scopes.is_empty());
    assert!(a.model.assignments.is_empty());
    let mut reach: Vec<(String, String)> = cells_by_name(&a)
        .into_iter()
        .map(|(app, permission, _)| (app, permission))
        .collect();
    reach.dedup();
    assert_eq!(
        reach,
        [
            ("Fabrikam Archiver".to_string(), "Mail.Read".to_string()),
            (
                "Finance Notifier".to_string(),
                "EWS.AccessAsApp".to_string()
            )
        ]
    );
    assert_eq!(
        a.matrix.cells(),
        10,
        "no policy: both Entra grants reach all five mailboxes"
    );
}
