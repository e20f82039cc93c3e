//! Many tenants (DESIGN §4): `--tenant` and tenant.json, the `tenant` column,
//! the fleet layout `fleet/tenant=NAME/`, relative views, cross-tenant checks.

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::Array;
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;

/// Every value of a string column of a Parquet file.
fn strings(path: &Path, column: &str) -> Vec<Option<String>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let c = batch
            .column_by_name(column)
            .unwrap()
            .as_string::<i32>()
            .clone();
        for i in 0..c.len() {
            out.push(c.is_valid(i).then(|| c.value(i).to_string()));
        }
    }
    out
}

const SMALL: [&str; 4] = ["apps", "mailboxes", "grants", "findings"];

#[test]
fn a_fleet_folder_holds_every_tenant_with_its_tenant_column() {
    let f = Fixture::new();
    for t in ["contoso", "fabrikam"] {
        let out = format!("fleet/tenant={t}");
        let o = f.run(&["analyze", "snap", "--tenant", t, "-o", &out, "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let expected = exomatrix::Analysis::run(&sample_dir(), Default::default())
        .unwrap()
        .matrix
        .cells();
    for t in ["contoso", "fabrikam"] {
        let dir = f.path(&format!("fleet/tenant={t}"));
        // One glob reads every tenant's access table.
        assert!(dir.join("access/part-00000.parquet").is_file());
        assert!(!dir.join("access.parquet").exists());
        let set = exomatrix::matrix::read_dataset(&dir).unwrap();
        assert_eq!(set.cells(), expected, "{t}");
        assert_eq!(set.tenant.as_deref(), Some(t));
        for table in SMALL {
            let values = strings(&dir.join(format!("{table}.parquet")), "tenant");
            assert!(!values.is_empty(), "{table}");
            assert!(
                values.iter().all(|v| v.as_deref() == Some(t)),
                "{table} of {t}"
            );
        }
        let manifest: serde_json::Value =
            serde_json::from_str(&f.read(&format!("fleet/tenant={t}/manifest.json"))).unwrap();
        assert_eq!(manifest["tenant"], t);
    }
}

#[test]
fn tenant_json_names_the_tenant_and_dates_the_snapshot() {
    let f = Fixture::new();
    f.write(
        "snap/tenant.json",
        "\u{feff}{\"tenant_id\": \"0b5a3c1e-0000-4000-8000-000000000001\", \"initial_domain\": \"Contoso.onmicrosoft.com\", \"display_name\": \"Contoso\", \"exported_at\": \"2026-11-22T08:15:00Z\"}",
    );
    f.analyze_ok("snap", "ds");
    let m: serde_json::Value = serde_json::from_str(&f.read("ds/manifest.json")).unwrap();
    assert_eq!(m["tenant"], "contoso.onmicrosoft.com");
    assert_eq!(
        m["tenant_file"]["tenant_id"],
        "0b5a3c1e-0000-4000-8000-000000000001"
    );
    assert_eq!(m["snapshot_time"], "2026-11-22T08:15:00Z");
    assert!(m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["file"] == "tenant.json" && i["sha256"].as_str().unwrap().len() == 64));
    // --tenant wins over tenant.json.
    let o = f.run(&["analyze", "snap", "--tenant", "other", "-o", "ds2", "-q"]);
    assert_eq!(o.status.code(), Some(0));
    let m: serde_json::Value = serde_json::from_str(&f.read("ds2/manifest.json")).unwrap();
    assert_eq!(m["tenant"], "other");
    // Without either, no tenant: a null column and the single access file.
    let g = Fixture::new();
    g.analyze_ok("snap", "ds");
    assert!(g.path("ds/access.parquet").is_file());
    assert!(strings(&g.path("ds/apps.parquet"), "tenant")
        .iter()
        .all(Option::is_none));
}

#[test]
fn a_broken_tenant_json_or_an_empty_tenant_name_is_an_error() {
    let f = Fixture::new();
    f.write("snap/tenant.json", "[1, 2]");
    let o = f.run(&["analyze", "snap", "-o", "ds"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("tenant.json: is not a JSON object"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(f.path("snap/tenant.json")).unwrap();
    let o = f.run(&["analyze", "snap", "--tenant", " ", "-o", "ds"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--tenant needs a name"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn views_sql_uses_paths_relative_to_the_dataset() {
    let f = Fixture::new();
    f.analyze_ok("snap", "ds");
    std::fs::rename(f.path("ds"), f.path("moved")).unwrap();
    let sql = f.read("moved/views.sql");
    let mut paths = 0;
    for part in sql.split("read_parquet('").skip(1) {
        let path = part.split('\'').next().unwrap();
        assert!(!path.starts_with('/') && !path.contains(".."), "{path}");
        let file = path.replace("part-*.parquet", "part-00000.parquet");
        assert!(f.path("moved").join(&file).exists(), "{file}");
        paths += 1;
    }
    assert_eq!(paths, 6, "{sql}");
}

#[test]
fn comparing_two_tenants_needs_an_explicit_flag() {
    let f = Fixture::new();
    for t in ["contoso", "fabrikam"] {
        let o = f.run(&["analyze", "snap", "--tenant", t, "-o", t, "-q"]);
        assert_eq!(o.status.code(), Some(0));
    }
    let o = f.run(&["diff", "contoso", "fabrikam"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is tenant 'contoso' and ")
            && stderr(&o).contains("is tenant 'fabrikam'; comparing two tenants is almost always a mistake; pass --allow-cross-tenant if you mean it"),
        "{}",
        stderr(&o)
    );
    let o = f.run(&["diff", "contoso", "fabrikam", "--allow-cross-tenant"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = f.run(&["report", "fabrikam", "-o", "r.html", "--compare", "contoso"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--allow-cross-tenant"),
        "{}",
        stderr(&o)
    );
    let o = f.run(&[
        "report",
        "fabrikam",
        "-o",
        "r.html",
        "--compare",
        "contoso",
        "--allow-cross-tenant",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn small_tables_use_only_types_spark_and_trino_read_as_integers() {
    // Spark reads an unsigned 64-bit column as decimal(20,0); counts are i64.
    let f = Fixture::new();
    let o = f.run(&["analyze", "snap", "--tenant", "t", "-o", "ds", "-q"]);
    assert_eq!(o.status.code(), Some(0));
    for table in SMALL.iter().chain(&["permissions"]) {
        let path = f.path(&format!("ds/{table}.parquet"));
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        for field in builder.schema().fields() {
            assert!(
                !matches!(field.data_type(), DataType::UInt64),
                "{table}.{} is UInt64",
                field.name()
            );
        }
    }
}
