//! `plan-migration` on the sample tenant: the script and proof as golden files,
//! the after-state checked by `diff`, app selection, the exit codes.

use super::*;

/// Compares a generated file with its golden copy (UPDATE_GOLDEN=1 accepts a change).
fn golden(actual: &str, name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/plan")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{name} differs from tests/golden/plan/{name}; run with UPDATE_GOLDEN=1 to accept a deliberate change\n{actual}"
    );
}

#[test]
fn plan_of_the_sample_tenant_matches_the_golden_script_and_proof() {
    let f = Fixture::new();
    let o = f.run(&["plan-migration", "snap", "-o", "plan", "--fail-on-change"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("10 app(s) planned: 10 equivalent, 0 changed, 0 skipped.\n"),
        "{out}"
    );
    assert!(
        out.contains("Policy '*:legal-hold' (AppId *) stays: 1 app(s) keep AAP-constrainable Entra grants it narrows: Finance Mail Digest."),
        "{out}"
    );
    golden(&f.read("plan/migrate.ps1"), "migrate.ps1");
    golden(&f.read("plan/proof.json"), "proof.json");
    let proof: serde_json::Value = serde_json::from_str(&f.read("plan/proof.json")).unwrap();
    assert_eq!(proof["all_equivalent"], true);
    assert_eq!(proof["cells_before"], 437);
    assert_eq!(proof["cells_after"], 437);
}

#[test]
fn after_state_of_the_sample_loses_and_gains_no_cell() {
    let f = Fixture::new();
    let o = f.run(&["plan-migration", "snap", "-o", "plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The after/ snapshot is a snapshot like any: analyze it and diff it.
    for kind in ["gained", "lost"] {
        let o = f.run(&["diff", "snap", "plan/after", "--fail-on", kind]);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", stdout(&o));
    }
    let o = f.run(&["diff", "snap", "plan/after", "--format", "json"]);
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["cells"]["gained"], 0, "{d}");
    assert_eq!(d["cells"]["lost"], 0, "{d}");
    assert_eq!(d["cells"]["via_changed"], 215, "{d}");
    let o = f.run(&["analyze", "plan/after", "-o", "ds", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn app_selection_plans_only_the_named_app() {
    let f = Fixture::new();
    let o = f.run(&[
        "plan-migration",
        "snap",
        "-o",
        "plan",
        "--app",
        "contoso mail archiver",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("1 app(s) planned: 1 equivalent"),
        "{}",
        stdout(&o)
    );
    let proof: serde_json::Value = serde_json::from_str(&f.read("plan/proof.json")).unwrap();
    assert_eq!(
        proof["apps"][0]["app_id"],
        "e7e4dbfc-046f-4074-9b3b-2ae8f144f59b"
    );
    // The * policy stays: other apps still rely on it.
    assert_eq!(
        proof["star_policies"]["removed"].as_array().unwrap().len(),
        0
    );
}

#[test]
fn unknown_or_unnarrowed_app_is_an_error_and_writes_nothing() {
    let f = Fixture::new();
    let o = f.run(&["plan-migration", "snap", "-o", "plan", "--app", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(
            "error: --app 'nope' names no app of the snapshot; the apps policies narrow are: "
        ),
        "{}",
        stderr(&o)
    );
    assert!(!f.path("plan").exists());
    let o = f.run(&[
        "plan-migration",
        "snap",
        "-o",
        "plan",
        "--app",
        "Room Booking Canada",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("has no AAP-constrainable Entra grant narrowed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_existing_plan_is_kept_without_force() {
    let f = Fixture::new();
    std::fs::create_dir(f.path("plan")).unwrap();
    f.write("plan/keep.txt", "mine");
    let o = f.run(&["plan-migration", "snap", "-o", "plan"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(f.read("plan/keep.txt"), "mine");
    let o = f.run(&["plan-migration", "snap", "-o", "plan", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!f.path("plan/keep.txt").exists());
}
