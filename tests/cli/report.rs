//! `report` on the sample tenant: the page parses, references nothing outside
//! itself, and holds the matrix's figures; Markdown, the action plan, `--compare`
//! and `--plan`.

use std::collections::BTreeSet;

use scraper::{Html, Selector};

use super::*;

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text(e: scraper::ElementRef<'_>) -> String {
    e.text().collect::<String>().trim().to_string()
}

/// The sample tenant's dataset as `ds/` and its report as `report.html`.
fn report(f: &Fixture, extra: &[&str]) -> Output {
    f.analyze_ok("snap", "ds");
    let mut args = vec!["report", "ds", "-o", "report.html"];
    args.extend_from_slice(extra);
    let o = f.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    o
}

/// Expected figures, computed from the analysis (not from the dataset files).
struct Expected {
    cells: u64,
    apps_with_access: usize,
    mailboxes_reached: u64,
    /// (app id, distinct mailboxes, cells)
    apps: Vec<(String, u64, u64)>,
    /// entra unscoped, narrowed, rbac, both
    sources: [u64; 4],
}

fn expected() -> Expected {
    let a = exomatrix::Analysis::run(&sample_dir(), Default::default()).unwrap();
    let mut apps = Vec::new();
    let mut reached = roaring::RoaringBitmap::new();
    let mut sources = [0u64; 4];
    for (i, app) in a.model.apps.apps.iter().enumerate() {
        let grants: Vec<_> = a
            .matrix
            .grants
            .iter()
            .filter(|g| g.cells.app == i as u32)
            .collect();
        let mut all = roaring::RoaringBitmap::new();
        let mut cells = 0;
        for g in &grants {
            all |= g.cells.cells();
            cells += g.cells.len();
            let narrowed = g.entra_grant
                && g.aap_mode != exomatrix::policy::AapMode::None
                && exomatrix::policy::permissions::info(g.cells.permission).aap;
            let entra_only = (&g.cells.entra - &g.cells.rbac).len();
            sources[usize::from(!narrowed)] += 0;
            if narrowed {
                sources[1] += entra_only;
            } else {
                sources[0] += entra_only;
            }
            sources[2] += (&g.cells.rbac - &g.cells.entra).len();
            sources[3] += (&g.cells.rbac & &g.cells.entra).len();
        }
        if !all.is_empty() {
            apps.push((app.app_id.clone(), all.len(), cells));
        }
        reached |= all;
    }
    Expected {
        cells: a.matrix.cells(),
        apps_with_access: apps.len(),
        mailboxes_reached: reached.len(),
        apps,
        sources,
    }
}

#[test]
fn html_report_parses_is_self_contained_and_holds_the_matrix_figures() {
    let f = Fixture::new();
    let o = report(&f, &[]);
    assert!(
        stdout(&o).starts_with("Wrote report.html ("),
        "{}",
        stdout(&o)
    );
    let page = f.read("report.html");
    let doc = Html::parse_document(&page);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);

    // Nothing outside the file: no link, no external script, image or frame.
    for s in ["link", "script[src]", "img", "iframe", "object", "embed"] {
        assert_eq!(doc.select(&sel(s)).count(), 0, "{s}");
    }
    for e in doc.select(&sel("*")) {
        for (name, value) in e.value().attrs() {
            if matches!(name, "href" | "src" | "action" | "xlink:href") {
                panic!("{name}={value} in <{}>", e.value().name());
            }
        }
    }
    assert!(!page.contains("url("), "CSS must not fetch anything");
    assert!(!page.contains("@import"));
    assert!(page.contains("@media print"));
    assert!(
        doc.select(&sel("svg")).count() >= 6,
        "donut, 4 class charts, heat map, severities"
    );

    let e = expected();
    let figure = |key: &str| {
        let s = sel(&format!("[data-figure={key}] .v"));
        text(doc.select(&s).next().unwrap()).replace(',', "")
    };
    assert_eq!(figure("cells"), e.cells.to_string());
    assert_eq!(figure("apps-with-access"), e.apps_with_access.to_string());
    assert_eq!(figure("mailboxes-reached"), e.mailboxes_reached.to_string());
    assert_eq!(figure("entra-unscoped"), e.sources[0].to_string());
    assert_eq!(figure("nesting-dependent"), "3");
    assert_eq!(e.sources.iter().sum::<u64>(), e.cells);

    // Every app with access, with its distinct mailboxes and cells.
    let rows: BTreeSet<(String, u64, u64)> = doc
        .select(&sel("#app-table tbody tr"))
        .map(|tr| {
            let td: Vec<_> = tr.select(&sel("td")).collect();
            let n = |i: usize| {
                td[i]
                    .value()
                    .attr("data-v")
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            };
            (text(td[1]), n(2), n(7))
        })
        .collect();
    assert_eq!(rows, e.apps.into_iter().collect::<BTreeSet<_>>());

    // The donut's legend carries the four sources.
    let donut = doc.select(&sel("#sources svg")).next().unwrap().html();
    for v in e.sources {
        assert!(donut.contains(&format!(">\n{v} (")), "{v} in {donut}");
    }
    // Findings: every one listed with a remediation.
    let findings: Vec<_> = doc.select(&sel("#findings-table tbody tr")).collect();
    assert_eq!(findings.len(), 20);
    assert!(findings
        .iter()
        .all(|tr| !text(tr.select(&sel("td")).nth(4).unwrap()).is_empty()));
    // The tenant-wide high-risk grants of the sample.
    let unscoped: Vec<String> = doc
        .select(&sel("#unscoped-table tbody tr"))
        .map(|tr| {
            let td: Vec<_> = tr.select(&sel("td")).map(text).collect();
            format!("{} {}", td[0], td[1])
        })
        .collect();
    assert_eq!(
        unscoped,
        [
            "Notifier SMTP.SendAsApp",
            "Legacy Backup (EWS) EWS.AccessAsApp",
            "Notifier Mail.Send",
            "HR Connector Calendars.ReadWrite"
        ]
    );
    // Inputs with their SHA-256 from the manifest.
    let manifest: serde_json::Value = serde_json::from_str(&f.read("ds/manifest.json")).unwrap();
    let sha = manifest["inputs"][0]["sha256"].as_str().unwrap();
    assert!(page.contains(sha));
    assert!(page.contains("MT.1058") && page.contains("AC-6"));
}

#[test]
fn markdown_report_and_action_plan() {
    let f = Fixture::new();
    report(
        &f,
        &["--format", "md", "--action-plan", "actions.csv", "--force"],
    );
    let md = f.read("report.html");
    assert!(
        md.starts_with("# Application access to mailboxes: snap\n"),
        "{md}"
    );
    assert!(
        md.contains("| granted cells (app × permission × mailbox) | 437 |"),
        "{md}"
    );
    assert!(md.contains("## Related controls (related, not certified)"));
    let csv = f.read("actions.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("app,app_id,problem,severity,remediation,cells_affected")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter().all(|r| r.matches('"').count() % 2 == 0),
        "one row per line: {csv}"
    );
    // 4 high-risk grants without an allow-list, then the 17 warnings.
    assert_eq!(rows.len(), 4 + 17, "{csv}");
    assert!(rows[0].starts_with("Notifier,1b024f67-2514-54c8-9418-9feb3a70a70e,\"SMTP.SendAsApp reaches 38 of 38 mailboxes"), "{}", rows[0]);
    assert!(rows[0].ends_with(",38"));
}

#[test]
fn compare_and_plan_sections() {
    let f = Fixture::sides();
    // AFTER: one Entra grant fewer.
    f.edit_after(
        "app_role_assignments.csv",
        "\"e8c0abdb-9e23-5618-a5fd-03b1f9e2dd3e\",\"5cc2ef9c-9c24-51f8-b8e4-06d422dc1c86\",\"00000003-0000-0000-c000-000000000000\",\"Microsoft Graph\",\"810c84a8-4a9e-49e6-bf7d-12d183f40d01\",\"Mail.Read\"\n",
        "",
    );
    f.analyze_ok("before", "ds-before");
    f.analyze_ok("after", "ds-after");
    let o = f.run(&["plan-migration", "after", "-o", "plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = f.run(&[
        "report",
        "ds-after",
        "-o",
        "r.html",
        "--compare",
        "ds-before",
        "--plan",
        "plan",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = Html::parse_document(&f.read("r.html"));
    let rows: Vec<Vec<String>> = doc
        .select(&sel("#comparison-table tbody tr"))
        .map(|tr| tr.select(&sel("td")).map(text).collect())
        .collect();
    assert_eq!(rows, [["Outlook Sync", "Mail.Read", "0", "37", "0"]]);
    let plan_rows = doc.select(&sel("#readiness-table tbody tr")).count();
    assert_eq!(plan_rows, 9, "Outlook Sync has nothing left to migrate");
    assert!(f.read("r.html").contains("9 app(s) planned, 9 equivalent"));
}

#[test]
fn report_refuses_a_snapshot_and_an_existing_file() {
    let f = Fixture::new();
    let o = f.run(&["report", "snap", "-o", "r.html"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("snap is not a dataset; run `exomatrix analyze snap -o DATASET` first"),
        "{}",
        stderr(&o)
    );
    f.analyze_ok("snap", "ds");
    f.write("r.html", "mine");
    let o = f.run(&["report", "ds", "-o", "r.html"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(f.read("r.html"), "mine");
}
