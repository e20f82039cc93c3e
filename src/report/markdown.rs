//! The report as Markdown: the same sections as the HTML page, tables cut to the
//! top rows where the page pages them, no charts (their figures are in tables).

use std::fmt::Write as _;

use super::guidance::RELATED_CONTROLS;
use super::{html, thousands, Report, CLASSES, TOP};

/// A Markdown table cell: one line, pipes and angle brackets escaped.
pub fn cell(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn table(out: &mut String, headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

pub fn render(r: &Report, generated: &str) -> String {
    let h = &r.header;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Application access to mailboxes: {}\n",
        cell(&h.tenant)
    );
    table(
        &mut s,
        &["", ""],
        [
            vec!["Tenant".into(), h.tenant.clone()],
            vec!["Snapshot".into(), h.snapshot.clone()],
            vec![
                "Snapshot taken".into(),
                h.snapshot_time
                    .clone()
                    .unwrap_or_else(|| "not recorded".into()),
            ],
            vec!["Dataset".into(), h.dataset.clone()],
            vec![
                "Analyzed with".into(),
                format!(
                    "{} (policy groups read as {})",
                    h.analyzed_with, h.aap_nesting
                ),
            ],
            vec![
                "Report".into(),
                format!(
                    "exomatrix {} report, {generated}",
                    env!("CARGO_PKG_VERSION")
                ),
            ],
        ],
    );
    let _ = writeln!(s, "## Inputs\n");
    table(
        &mut s,
        &["File", "Bytes", "Rows", "SHA-256"],
        h.inputs
            .iter()
            .map(|(f, b, n, sha)| vec![f.clone(), thousands(*b), thousands(*n), sha.clone()]),
    );
    let _ = writeln!(s, "## Key figures\n");
    table(
        &mut s,
        &["Figure", "Value"],
        html::cards(r).into_iter().map(|(v, l, _, _)| vec![l, v]),
    );
    let _ = writeln!(s, "## What grants the access\n");
    let src = &r.sources;
    table(
        &mut s,
        &["Source", "Cells"],
        [
            ("Entra, unscoped", src.entra_unscoped),
            ("Entra, narrowed by policy", src.entra_narrowed),
            ("RBAC for Applications", src.rbac),
            ("Entra and RBAC", src.both),
        ]
        .into_iter()
        .map(|(n, v)| vec![n.to_string(), thousands(v)]),
    );
    let _ = writeln!(
        s,
        "## Apps ranked by mailboxes reached (top {TOP} of {})\n",
        r.app_rows.len()
    );
    let mut headers = vec!["App", "AppId", "Mailboxes"];
    headers.extend(CLASSES);
    headers.push("Cells");
    table(
        &mut s,
        &headers,
        r.app_rows.iter().take(TOP).map(|a| {
            let mut row = vec![a.name.clone(), a.app_id.clone(), thousands(a.mailboxes)];
            row.extend(a.classes.iter().map(|&c| thousands(c)));
            row.push(thousands(a.cells));
            row
        }),
    );
    let _ = writeln!(s, "## Most exposed mailboxes\n");
    table(
        &mut s,
        &["Mailbox", "Display name", "Apps", "High-risk apps"],
        r.exposed.iter().map(|m| {
            vec![
                m.address.clone(),
                m.display_name.clone(),
                m.apps.to_string(),
                m.high_risk_apps.to_string(),
            ]
        }),
    );
    let _ = writeln!(s, "## High-risk permissions without an allow-list\n");
    if r.unscoped.is_empty() {
        let _ = writeln!(s, "None.\n");
    } else {
        table(
            &mut s,
            &["App", "Permission", "Granted through", "Mailboxes"],
            r.unscoped.iter().map(|u| {
                vec![
                    u.app.clone(),
                    u.permission.clone(),
                    u.via.to_string(),
                    format!("{} of {}", thousands(u.mailboxes), thousands(r.mailboxes)),
                ]
            }),
        );
    }
    let _ = writeln!(
        s,
        "## Findings ({} errors, {} warnings, {} info)\n",
        r.severities[0], r.severities[1], r.severities[2]
    );
    table(
        &mut s,
        &["Severity", "Kind", "Object", "Finding", "Remediation"],
        r.findings.iter().map(|f| {
            vec![
                f.severity.clone(),
                f.kind.clone(),
                f.object.clone(),
                f.message.clone(),
                f.remediation.to_string(),
            ]
        }),
    );
    if let Some(c) = &r.comparison {
        let _ = writeln!(s, "## Changes since {}\n", cell(&c.other));
        table(
            &mut s,
            &["App", "Permission", "Gained", "Lost", "Provenance changed"],
            c.rows.iter().map(|x| {
                vec![
                    x.0.clone(),
                    x.2.clone(),
                    thousands(x.3),
                    thousands(x.4),
                    thousands(x.5),
                ]
            }),
        );
    }
    if let Some(p) = &r.readiness {
        let _ = writeln!(s, "## Migration readiness (RBAC for Applications)\n");
        table(
            &mut s,
            &[
                "App",
                "Status",
                "To RBAC",
                "Stays on Entra + policy",
                "Reasons and notes",
            ],
            p.rows.iter().map(|x| {
                vec![
                    x.0.clone(),
                    x.2.clone(),
                    x.3.clone(),
                    x.4.clone(),
                    x.5.clone(),
                ]
            }),
        );
    }
    let _ = writeln!(s, "## Related controls (related, not certified)\n");
    table(
        &mut s,
        &["Framework", "Control", "Relation"],
        RELATED_CONTROLS
            .iter()
            .map(|(a, b, c)| vec![a.to_string(), b.to_string(), c.to_string()]),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_escape_what_breaks_a_table() {
        let table = [
            ("a|b", "a\\|b"),
            ("line\nbreak", "line break"),
            ("<script>", "&lt;script&gt;"),
            ("back\\slash", "back\\\\slash"),
        ];
        for (raw, want) in table {
            assert_eq!(cell(raw), want, "{raw}");
        }
    }
}
