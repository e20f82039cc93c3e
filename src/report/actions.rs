//! The action plan: one CSV row per thing to fix (app, problem, severity,
//! remediation, cells affected), for a ticketing system.

use std::io::Write;
use std::path::Path;

use super::Report;
use crate::error::{Error, Result};
use crate::output::{create_private_file, write_file_atomically};

/// One CSV cell, quoted when it holds a comma, quote or line break; a cell
/// that a spreadsheet would read as a formula is prefixed with `'`.
pub fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The rows: high-risk grants without an allow-list, apps a migration plan
/// does not keep equivalent, then findings of severity error and warning.
pub fn rows(r: &Report) -> Vec<[String; 6]> {
    let mut out = Vec::new();
    for u in &r.unscoped {
        out.push([
            u.app.clone(),
            u.app_id.clone(),
            format!("{} reaches {} of {} mailboxes ({}) with no allow-list", u.permission, u.mailboxes, r.mailboxes, u.via),
            "high".to_string(),
            "Scope it: an RBAC for Applications assignment on a management scope, then remove the Entra consent (exomatrix plan-migration).".to_string(),
            u.mailboxes.to_string(),
        ]);
    }
    if let Some(p) = &r.readiness {
        for (app, id, status, _, blocked, why) in &p.rows {
            if status != "equivalent" || !blocked.is_empty() {
                out.push([
                    app.clone(),
                    id.clone(),
                    if status != "equivalent" {
                        format!("migration plan is {status}: {why}")
                    } else {
                        format!(
                            "{blocked} cannot move to RBAC for Applications (no application role)"
                        )
                    },
                    if status == "changed" {
                        "high"
                    } else {
                        "medium"
                    }
                    .to_string(),
                    "Review the plan's proof.json for this app before running migrate.ps1."
                        .to_string(),
                    String::new(),
                ]);
            }
        }
    }
    for f in &r.findings {
        let severity = match f.severity.as_str() {
            "error" => "high",
            "warning" => "medium",
            _ => continue,
        };
        out.push([
            f.object.clone(),
            String::new(),
            // The first line: a filter finding's caret display is for terminals.
            format!(
                "{}: {}",
                f.kind,
                f.message.lines().next().unwrap_or_default()
            ),
            severity.to_string(),
            f.remediation.to_string(),
            String::new(),
        ]);
    }
    out
}

/// Writes the action plan to `path` (atomically, owner-only).
pub fn write(r: &Report, path: &Path) -> Result<usize> {
    let rows = rows(r);
    write_file_atomically(path, |tmp| {
        let mut f = std::io::BufWriter::new(create_private_file(tmp)?);
        let mut text = String::from("app,app_id,problem,severity,remediation,cells_affected\n");
        for row in &rows {
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        f.write_all(text.as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| Error::io(tmp, e))
    })?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_quote_and_defuse_formulas() {
        let table = [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"x\"", "\"say \"\"x\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
            ("-1", "'-1"),
        ];
        for (raw, want) in table {
            assert_eq!(csv_cell(raw), want, "{raw}");
        }
    }
}
