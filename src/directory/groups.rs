//! Groups and administrative units as the snapshot lists them, before their
//! members are known, and the nesting cycles of groups once they are.

use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use super::resolve::{Resolver, Tier};
use super::{AdminUnit, Group};
use crate::error::{Error, Result};
use crate::findings::{kind, Findings};
use crate::snapshot::{format_guid, required_guid, Table};

/// Validates the groups: a unique DistinguishedName, well-formed GUIDs.
pub(super) fn read_groups(table: &Table) -> Result<Vec<Group>> {
    if table.is_empty() {
        return Ok(Vec::new()); // also an absent groups table, which has no columns
    }
    let dn = table.column(&["DistinguishedName"]).expect("required");
    let guid_cols = [
        table.column(&["ExternalDirectoryObjectId"]),
        table.column(&["Guid"]),
    ];
    let label_cols = [
        table.column(&["Name"]),
        table.column(&["DisplayName"]),
        table.column(&["PrimarySmtpAddress"]),
    ];
    let type_col = table.column(&["RecipientTypeDetails"]);
    let mut groups = Vec::with_capacity(table.len());
    let mut seen: FxHashMap<String, usize> = FxHashMap::default();
    for row in 0..table.len() {
        let dn_value = dn.get(row).ok_or_else(|| {
            Error::data(
                dn.location(row),
                "DistinguishedName is blank; every group needs one",
            )
        })?;
        if let Some(previous) = seen.insert(dn_value.to_lowercase(), row) {
            return Err(Error::data(
                dn.location(row),
                format!(
                    "duplicate group '{dn_value}': line {} has the same DistinguishedName; remove one of the rows",
                    table.lines[previous]
                ),
            ));
        }
        let mut guids = Vec::new();
        for col in guid_cols.into_iter().flatten() {
            if col.get(row).is_some() {
                guids.push(required_guid(col, row)?);
            }
        }
        let label = label_cols
            .iter()
            .flatten()
            .find_map(|c| c.get(row))
            .unwrap_or(dn_value)
            .to_string();
        groups.push(Group {
            dn: dn_value.to_string(),
            label,
            guids,
            recipient_type: type_col.and_then(|c| c.get(row)).map(str::to_string),
            ..Group::default()
        });
    }
    Ok(groups)
}

/// Reports every group nesting cycle once (Exchange allows them; expansion stops at repeats).
pub(super) fn report_cycles(groups: &[Group], findings: &mut Findings) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnPath,
        Done,
    }
    let mut state = vec![State::New; groups.len()];
    for start in 0..groups.len() {
        if state[start] != State::New {
            continue;
        }
        // Iterative DFS: (group, next child position).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = State::OnPath;
        while let Some(&mut (g, ref mut next)) = path.last_mut() {
            if let Some(&child) = groups[g].direct_groups.get(*next) {
                *next += 1;
                let child = child as usize;
                match state[child] {
                    State::New => {
                        state[child] = State::OnPath;
                        path.push((child, 0));
                    }
                    State::OnPath => {
                        let from = path.iter().position(|&(p, _)| p == child).unwrap_or(0);
                        let mut names: Vec<&str> = path[from..]
                            .iter()
                            .map(|&(p, _)| groups[p].label.as_str())
                            .collect();
                        names.push(&groups[child].label);
                        findings.warn(
                            kind::GROUP_NESTING_CYCLE,
                            groups[child].label.clone(),
                            format!(
                                "group nesting cycle {}; nested expansion visits each group once",
                                names.join(" -> ")
                            ),
                            None,
                        );
                    }
                    State::Done => {}
                }
            } else {
                state[g] = State::Done;
                path.pop();
            }
        }
    }
}

/// Reads the administrative units and registers their identities (Id, DN, name).
pub(super) fn read_admin_units(table: &Table, r: &mut Resolver<u32>) -> Result<Vec<AdminUnit>> {
    let dn = table.column(&["DistinguishedName"]);
    let display = table.column(&["DisplayName"]);
    let mut units = Vec::with_capacity(table.len());
    for row in 0..table.len() {
        let id = required_guid(table.column(&["Id"]).expect("required"), row)?;
        let i = row as u32;
        r.add_guid(id, i);
        let id = format_guid(id);
        let dn_value = dn.and_then(|c| c.get(row)).map(str::to_string);
        if let Some(v) = &dn_value {
            r.add(Tier::DistinguishedName, v, i);
        }
        let label = display.and_then(|c| c.get(row)).map(str::to_string);
        if let Some(v) = &label {
            r.add(Tier::Name, v, i);
        }
        units.push(AdminUnit {
            label: label.unwrap_or_else(|| id.clone()),
            id,
            dn: dn_value,
            members: RoaringBitmap::new(),
        });
    }
    Ok(units)
}
