//! The HTML report: one self-contained page (inline CSS, inline SVG charts, a
//! small inline script for sorting, filtering and paging) from an askama
//! template checked at compile time (`templates/report.html`), which escapes
//! every value; only the SVG drawn by [`super::charts`] is inserted as is.

use askama::Template;

use super::guidance::RELATED_CONTROLS;
use super::{charts, thousands, Report, TOP};

/// One app row, numbers both raw (for sorting) and formatted.
pub struct AppLine {
    pub name: String,
    pub app_id: String,
    pub mailboxes: u64,
    pub mailboxes_text: String,
    pub classes: Vec<(u64, String)>,
    pub cells: u64,
    pub cells_text: String,
}

pub struct FindingLine {
    pub severity: String,
    pub kind: String,
    pub object: String,
    pub message: String,
    pub remediation: &'static str,
    pub source: String,
}

pub struct MailboxLine {
    pub address: String,
    pub display_name: String,
    pub apps: u32,
    pub high_risk_apps: u32,
    pub id: String,
}

pub struct ComparisonView {
    pub other: String,
    pub summary: String,
    pub rows: Vec<(String, String, String, u64, u64, u64)>,
}

pub struct ReadinessView {
    pub summary: String,
    pub rows: Vec<(String, String, String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "report.html")]
pub struct Page {
    pub generator: String,
    pub generated: String,
    pub tenant: String,
    pub snapshot: String,
    pub snapshot_time: String,
    pub dataset: String,
    pub analyzed_with: String,
    pub aap_nesting: String,
    pub inputs: Vec<(String, String, String, String)>,
    /// (value, label, alarming, machine-readable key)
    pub cards: Vec<(String, String, bool, &'static str)>,
    pub donut: String,
    pub class_charts: Vec<String>,
    pub app_count: String,
    pub apps: Vec<AppLine>,
    pub heat_count: usize,
    pub heat: String,
    pub exposed: Vec<MailboxLine>,
    /// (app, permission, granted through, mailboxes, mailboxes formatted)
    pub unscoped: Vec<(String, String, &'static str, u64, String)>,
    pub severity_chart: String,
    pub findings: Vec<FindingLine>,
    pub comparison: Option<ComparisonView>,
    pub readiness: Option<ReadinessView>,
    pub controls: Vec<(&'static str, &'static str, &'static str)>,
}

/// The key figures: (value, label, alarming, key).
pub fn cards(r: &Report) -> Vec<(String, String, bool, &'static str)> {
    vec![
        (
            thousands(r.apps_with_access),
            format!("apps with mailbox access (of {} apps)", thousands(r.apps)),
            false,
            "apps-with-access",
        ),
        (
            thousands(r.mailboxes_reached),
            format!(
                "mailboxes reached by some app (of {})",
                thousands(r.mailboxes)
            ),
            false,
            "mailboxes-reached",
        ),
        (
            thousands(r.cells),
            "granted cells (app × permission × mailbox)".to_string(),
            false,
            "cells",
        ),
        (
            thousands(r.sources.entra_unscoped),
            "cells granted in Entra with no policy narrowing them".to_string(),
            r.sources.entra_unscoped > 0,
            "entra-unscoped",
        ),
        (
            thousands(r.unscoped.len() as u64),
            "high-risk grants without an allow-list".to_string(),
            !r.unscoped.is_empty(),
            "high-risk-unscoped",
        ),
        (
            format!("{} / {}", r.severities[0], r.severities[1]),
            "findings: errors / warnings".to_string(),
            r.severities[0] > 0,
            "findings",
        ),
        (
            thousands(r.nesting_dependent),
            "cells that depend on policy groups being read as nested".to_string(),
            false,
            "nesting-dependent",
        ),
    ]
}

/// The page for a report; `generated` is the time the report is written.
pub fn page(r: &Report, generated: String) -> Page {
    let h = &r.header;
    Page {
        generator: format!("exomatrix {} report", env!("CARGO_PKG_VERSION")),
        generated,
        tenant: h.tenant.clone(),
        snapshot: h.snapshot.clone(),
        snapshot_time: h
            .snapshot_time
            .clone()
            .unwrap_or_else(|| "not recorded in the manifest".to_string()),
        dataset: h.dataset.clone(),
        analyzed_with: h.analyzed_with.clone(),
        aap_nesting: h.aap_nesting.clone(),
        inputs: h
            .inputs
            .iter()
            .map(|(f, b, n, s)| (f.clone(), thousands(*b), thousands(*n), s.clone()))
            .collect(),
        cards: cards(r),
        donut: charts::sources_donut(&r.sources),
        class_charts: charts::class_charts(r),
        app_count: thousands(r.app_rows.len() as u64),
        apps: r
            .app_rows
            .iter()
            .map(|a| AppLine {
                name: a.name.clone(),
                app_id: a.app_id.clone(),
                mailboxes: a.mailboxes,
                mailboxes_text: thousands(a.mailboxes),
                classes: a.classes.iter().map(|&c| (c, thousands(c))).collect(),
                cells: a.cells,
                cells_text: thousands(a.cells),
            })
            .collect(),
        heat_count: r.heat.len().min(TOP),
        heat: charts::heat_map(r),
        exposed: r
            .exposed
            .iter()
            .map(|m| MailboxLine {
                address: m.address.clone(),
                display_name: m.display_name.clone(),
                apps: m.apps,
                high_risk_apps: m.high_risk_apps,
                id: m.id.clone(),
            })
            .collect(),
        unscoped: r
            .unscoped
            .iter()
            .map(|u| {
                (
                    u.app.clone(),
                    u.permission.clone(),
                    u.via,
                    u.mailboxes,
                    format!("{} of {}", thousands(u.mailboxes), thousands(r.mailboxes)),
                )
            })
            .collect(),
        severity_chart: charts::severity_bars(&r.severities),
        findings: r
            .findings
            .iter()
            .map(|f| FindingLine {
                severity: f.severity.clone(),
                kind: f.kind.clone(),
                object: f.object.clone(),
                message: f.message.clone(),
                remediation: f.remediation,
                source: f.source.clone(),
            })
            .collect(),
        comparison: r.comparison.as_ref().map(|c| ComparisonView {
            other: c.other.clone(),
            summary: format!(
                "{} cells before, {} now: {} gained and {} lost across {} app × permission pairs.",
                thousands(c.cells_before),
                thousands(c.cells_after),
                thousands(c.rows.iter().map(|x| x.3).sum()),
                thousands(c.rows.iter().map(|x| x.4).sum()),
                c.rows.len()
            ),
            rows: c.rows.clone(),
        }),
        readiness: r.readiness.as_ref().map(|p| {
            let count = |s: &str| p.rows.iter().filter(|x| x.2 == s).count();
            ReadinessView {
                summary: format!(
                    "From {}: {} app(s) planned, {} equivalent, {} changed, {} skipped.{}",
                    p.plan,
                    p.rows.len(),
                    count("equivalent"),
                    count("changed"),
                    count("skipped"),
                    if p.matches_dataset {
                        ""
                    } else {
                        " The plan was made from a snapshot with another cell count than this dataset: plan again from the same snapshot."
                    }
                ),
                rows: p.rows.clone(),
            }
        }),
        controls: RELATED_CONTROLS.to_vec(),
    }
}

/// The whole HTML text.
pub fn render(r: &Report, generated: String) -> String {
    page(r, generated)
        .render()
        .expect("the template renders plain strings and numbers only")
}
