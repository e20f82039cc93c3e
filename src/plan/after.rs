//! The after-state of a plan as a snapshot (DESIGN §2) that every command loads:
//! the snapshot's files copied, except the four tables the migration changes,
//! which are written as CSV (every field quoted, as PowerShell writes them):
//! - `app_role_assignments`: the migrated permissions' grant rows removed;
//! - `application_access_policies`: the removed policies' rows removed;
//! - `management_scopes`: the planned scopes appended;
//! - `management_role_assignments`: the planned assignments appended.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use rustc_hash::FxHashSet;

use super::{Plan, Target};
use crate::error::{Error, Result};
use crate::findings::Findings;
use crate::output::{create_private_dir, create_private_file};
use crate::policy::apps::AppCollector;
use crate::policy::{entra, Model};
use crate::snapshot::{Snapshot, Table};

const CHANGED: [&str; 4] = [
    "app_role_assignments",
    "application_access_policies",
    "management_scopes",
    "management_role_assignments",
];

/// A CSV table being written: a header and rows of cells.
struct CsvOut {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl CsvOut {
    /// The rows of `table` that `keep` accepts, with its header.
    fn from_table(table: &Table, keep: impl Fn(usize) -> bool) -> CsvOut {
        let rows = (0..table.len())
            .filter(|&r| keep(r))
            .map(|r| {
                table
                    .columns
                    .iter()
                    .map(|c| c.value(r).unwrap_or_default().to_string())
                    .collect()
            })
            .collect();
        CsvOut {
            header: table.names.clone(),
            rows,
        }
    }

    /// The index of the first of `names` in the header, the first name added
    /// (with blank cells in earlier rows) when none is there.
    fn column(&mut self, names: &[&str]) -> usize {
        if let Some(i) = names
            .iter()
            .find_map(|n| self.header.iter().position(|h| h.eq_ignore_ascii_case(n)))
        {
            return i;
        }
        self.header.push(names[0].to_string());
        for row in &mut self.rows {
            row.push(String::new());
        }
        self.header.len() - 1
    }

    /// Appends a row from (column names, value) pairs; other cells are blank.
    fn push(&mut self, cells: &[(&[&str], &str)]) {
        let at: Vec<usize> = cells.iter().map(|(names, _)| self.column(names)).collect();
        let mut row = vec![String::new(); self.header.len()];
        for (i, (_, value)) in at.into_iter().zip(cells) {
            row[i] = value.to_string();
        }
        self.rows.push(row);
    }

    /// Writes the table; an absent table that gained no rows stays absent.
    fn write(&self, path: &Path) -> Result<()> {
        if self.header.is_empty() {
            return Ok(());
        }
        let file = create_private_file(path)?;
        let mut out = BufWriter::new(file);
        let mut line = |cells: &[String]| -> std::io::Result<()> {
            let quoted: Vec<String> = cells
                .iter()
                .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect();
            out.write_all(quoted.join(",").as_bytes())?;
            out.write_all(b"\n")
        };
        let mut result = line(&self.header);
        for row in &self.rows {
            result = result.and_then(|_| line(row));
        }
        result
            .and_then(|_| out.flush())
            .map_err(|e| Error::io(path, e))
    }
}

/// Rows of a table by their source line.
fn rows_at_lines(table: &Table, lines: &FxHashSet<u64>) -> FxHashSet<usize> {
    (0..table.len())
        .filter(|&r| lines.contains(&table.lines[r]))
        .collect()
}

/// The Entra grant rows the plan removes: every row that grants an app a
/// permission it moves to RBAC (a permission may be granted by several rows).
fn removed_grant_rows(snapshot: &Snapshot, model: &Model, plan: &Plan) -> Result<FxHashSet<usize>> {
    let migrated: FxHashSet<(&str, u8)> = plan
        .apps
        .iter()
        .filter(|a| a.migrates())
        .flat_map(|a| {
            let id = model.apps.apps[a.app as usize].app_id.as_str();
            a.roles.iter().map(move |r| (id, r.permission))
        })
        .collect();
    let mut collector = AppCollector::default();
    collector.add_service_principals(&snapshot.service_principals)?;
    let grants = entra::read_grants(
        &snapshot.app_role_assignments,
        &mut collector,
        &mut Findings::default(),
    )?;
    let lines: FxHashSet<u64> = grants
        .iter()
        .filter(|g| migrated.contains(&(g.app_id.as_str(), g.permission)))
        .filter_map(|g| g.source.line)
        .collect();
    Ok(rows_at_lines(&snapshot.app_role_assignments, &lines))
}

/// Writes the after-state of `plan` into the empty directory `out`.
pub fn write(snapshot: &Snapshot, model: &Model, plan: &Plan, out: &Path) -> Result<()> {
    // Tenant data: readable by its owner only, like every file exomatrix writes.
    create_private_dir(out)?;
    for file in &snapshot.files {
        if CHANGED.contains(&file.table) {
            continue;
        }
        let name = file.path.file_name().expect("a table file has a name");
        let target = out.join(name);
        fs::copy(&file.path, &target).map_err(|e| Error::io(&target, e))?;
    }

    let grant_rows = removed_grant_rows(snapshot, model, plan)?;
    CsvOut::from_table(&snapshot.app_role_assignments, |r| !grant_rows.contains(&r))
        .write(&out.join("app_role_assignments.csv"))?;

    let policy_lines: FxHashSet<u64> = plan
        .removed_policies()
        .into_iter()
        .filter_map(|i| model.policies[i].source.line)
        .collect();
    let policy_rows = rows_at_lines(&snapshot.application_access_policies, &policy_lines);
    CsvOut::from_table(&snapshot.application_access_policies, |r| {
        !policy_rows.contains(&r)
    })
    .write(&out.join("application_access_policies.csv"))?;

    let mut scopes = CsvOut::from_table(&snapshot.management_scopes, |_| true);
    let mut assignments = CsvOut::from_table(&snapshot.management_role_assignments, |_| true);
    for app in plan.apps.iter().filter(|a| a.migrates()) {
        let info = &model.apps.apps[app.app as usize];
        let assignee = info.object_id.as_deref().unwrap_or(&info.app_id);
        let (kind, scope_name) = match &app.target {
            Target::Nobody => continue,
            Target::Organization => ("Organization", ""),
            Target::Scope(s) => {
                scopes.push(&[
                    (&["Name"], &s.name),
                    (
                        &["RecipientRestrictionFilter", "RecipientFilter"],
                        &s.filter,
                    ),
                    (&["Exclusive"], "False"),
                ]);
                ("CustomRecipientScope", s.name.as_str())
            }
        };
        for role in &app.roles {
            assignments.push(&[
                (&["Name"], &role.name),
                (&["Role"], role.role),
                (&["App", "RoleAssignee", "RoleAssigneeName"], assignee),
                (&["RoleAssigneeType"], "ServicePrincipal"),
                (&["RecipientWriteScope"], kind),
                (&["CustomResourceScope"], scope_name),
                (&["Enabled"], "True"),
            ]);
        }
    }
    scopes.write(&out.join("management_scopes.csv"))?;
    assignments.write(&out.join("management_role_assignments.csv"))?;
    Ok(())
}
