//! Membership tables, "container, member" one row per direct membership:
//! `group_members` (a group and a mailbox or group) and
//! `administrative_unit_members` (a unit and a mailbox). One walker reads both:
//! rows in parallel chunks, each container resolved once per run of rows that
//! name it, blank and unresolved cells reported as findings.

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::{Directory, Hint, Recipient};
use crate::error::{Location, Result};
use crate::findings::{kind, Findings};
use crate::snapshot::Table;

/// What one chunk of membership rows resolved to.
pub(super) struct Resolved<T> {
    pub edges: Vec<T>,
    findings: Vec<(&'static str, String, String, Location)>,
}

impl<T> Resolved<T> {
    pub fn finding(&mut self, kind: &'static str, object: &str, message: String, source: Location) {
        self.findings
            .push((kind, object.to_string(), message, source));
    }
}

/// A membership table and how its two columns are read.
pub(super) struct Walk<'t> {
    pub table: &'t Table,
    /// The container column (`Group`, `AdministrativeUnit`) and the member column.
    pub columns: [&'static str; 2],
    /// What the container is called in messages (`group`, `administrative unit`).
    pub container: &'static str,
}

impl Walk<'_> {
    /// Reads every row: `hints[row]`, when there is one, is what the tiers say
    /// of the row's member (from [`Directory::settle_memberships`]); `container(identity, at, out)` resolves a container
    /// identity (reporting its own problems), and `member(container, identity,
    /// member, at, out)` records a resolved member. Members that resolve to
    /// nothing are reported here, except in a directory focused on one mailbox,
    /// where they are most likely other mailboxes. Edges come back in row order,
    /// and the first error in row order wins.
    pub fn run<C, T>(
        &self,
        dir: &Directory,
        hints: &[Hint],
        findings: &mut Findings,
        container: impl Fn(&str, &dyn Fn() -> Location, &mut Resolved<T>) -> Result<Option<C>> + Sync,
        member: impl Fn(C, Recipient, &dyn Fn() -> Location, &mut Resolved<T>) + Sync,
        label: impl Fn(C) -> String + Sync,
    ) -> Result<Vec<T>>
    where
        C: Copy,
        T: Send,
    {
        let table = self.table;
        if table.is_empty() {
            return Ok(Vec::new());
        }
        let [container_name, member_name] = self.columns;
        let container_col = table.column(&[container_name]).expect("required");
        let member_col = table.column(&[member_name]).expect("required");
        resolve_rows(table.len(), findings, |rows, out| {
            // Exports list a container's members together: remember the last one.
            let mut last: Option<(&str, Option<C>)> = None;
            let cells = container_col
                .values(rows.clone())
                .zip(member_col.values(rows.clone()));
            for (row, cells) in rows.zip(cells) {
                let (Some(container_id), Some(member_id)) = cells else {
                    out.finding(
                        kind::UNRESOLVED_IDENTITY,
                        table.spec.name,
                        format!("row with a blank {container_name} or {member_name} is skipped"),
                        table.location(row, None),
                    );
                    continue;
                };
                let resolved = match last {
                    Some((id, c)) if id == container_id => c,
                    _ => {
                        let c = container(container_id, &|| container_col.location(row), out)?;
                        last = Some((container_id, c));
                        c
                    }
                };
                // An unresolved container was reported once, for its first row.
                let Some(c) = resolved else {
                    continue;
                };
                let at = || member_col.location(row);
                let found = match hints.get(row) {
                    Some(Some(answer)) => dir.resolution_result(member_id, answer.clone(), at)?,
                    _ => dir.resolve_member(member_id, at)?,
                };
                match found {
                    Some(m) => member(c, m, &at, out),
                    None if dir.focus().is_some() => {}
                    None => out.finding(
                        kind::UNRESOLVED_IDENTITY,
                        member_id,
                        format!(
                            "member of {} '{}' not found among mailboxes or groups; it is left out",
                            self.container,
                            label(c)
                        ),
                        at(),
                    ),
                }
            }
            Ok(())
        })
    }
}

/// Resolves rows `0..n` in parallel chunks with `f`; edges and findings come back
/// in row order, and the first error in row order wins.
fn resolve_rows<T: Send>(
    n: usize,
    findings: &mut Findings,
    f: impl Fn(std::ops::Range<usize>, &mut Resolved<T>) -> Result<()> + Sync,
) -> Result<Vec<T>> {
    const CHUNK: usize = 16_384;
    let chunks: Vec<(Resolved<T>, Result<()>)> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut out = Resolved {
                edges: Vec::new(),
                findings: Vec::new(),
            };
            let result = f(c * CHUNK..((c + 1) * CHUNK).min(n), &mut out);
            (out, result)
        })
        .collect();
    let mut edges = Vec::with_capacity(n);
    for (out, result) in chunks {
        for (kind, object, message, source) in out.findings {
            findings.warn(kind, object, message, Some(source));
        }
        result?;
        edges.extend(out.edges);
    }
    Ok(edges)
}

/// Adds the direct members of every group.
pub(super) fn add_group_members(
    dir: &mut Directory,
    table: &Table,
    hints: &[Hint],
    findings: &mut Findings,
) -> Result<()> {
    let walk = Walk {
        table,
        columns: ["Group", "Member"],
        container: "group",
    };
    let edges = walk.run(
        dir,
        hints,
        findings,
        |id, at, out| {
            Ok(match dir.resolve_member(id, at)? {
                Some(Recipient::Group(g)) => Some(g),
                Some(other) => {
                    out.finding(
                        kind::NOT_A_GROUP,
                        id,
                        format!(
                            "names {}, not a group; the membership row is skipped",
                            dir.describe(other)
                        ),
                        at(),
                    );
                    None
                }
                None => {
                    out.finding(
                        kind::UNRESOLVED_IDENTITY,
                        id,
                        "group not found in groups; the membership row is skipped".into(),
                        at(),
                    );
                    None
                }
            })
        },
        |g, member, _, out| out.edges.push((g, member)),
        |g| dir.groups[g as usize].label.clone(),
    )?;
    // Mailbox members gathered per group, then each group's set made from
    // its sorted list, the groups in parallel (inserting a row at a time into
    // twenty thousand bitmaps was one thread's work).
    let mut mailboxes: Vec<Vec<u32>> = vec![Vec::new(); dir.groups.len()];
    for (group, member) in edges {
        match member {
            Recipient::Mailbox(m) => mailboxes[group as usize].push(m),
            Recipient::Group(child) => {
                let group = &mut dir.groups[group as usize];
                if !group.direct_groups.contains(&child) {
                    group.direct_groups.push(child);
                }
            }
        }
    }
    add_lists(&mut dir.groups, mailboxes, |g| &mut g.direct_mailboxes);
    Ok(())
}

/// Adds the direct mailbox members of every administrative unit; a group member
/// is a finding, since Entra does not expand groups in units.
pub(super) fn add_admin_unit_members(
    dir: &mut Directory,
    table: &Table,
    hints: &[Hint],
    findings: &mut Findings,
) -> Result<()> {
    let walk = Walk {
        table,
        columns: ["AdministrativeUnit", "Member"],
        container: "administrative unit",
    };
    let edges = walk.run(
        dir,
        hints,
        findings,
        |id, at, out| {
            let au = dir.resolve_admin_unit(id, at)?;
            if au.is_none() {
                out.finding(
                    kind::UNRESOLVED_IDENTITY,
                    id,
                    "administrative unit not found in administrative_units; the membership row is skipped".into(),
                    at(),
                );
            }
            Ok(au)
        },
        |au, member, at, out| match member {
            Recipient::Mailbox(m) => out.edges.push((au, m)),
            Recipient::Group(g) => out.finding(
                kind::GROUP_IN_ADMINISTRATIVE_UNIT,
                &dir.groups[g as usize].label,
                format!(
                    "group is a member of administrative unit '{}'; Entra does not expand groups in administrative units, so its members are not in the unit's scope",
                    dir.admin_units[au as usize].label
                ),
                at(),
            ),
        },
        |au| dir.admin_units[au as usize].label.clone(),
    )?;
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); dir.admin_units.len()];
    for (au, m) in edges {
        members[au as usize].push(m);
    }
    add_lists(&mut dir.admin_units, members, |u| &mut u.members);
    Ok(())
}

/// Adds each list of mailboxes (any order, repeats allowed) to the set `set`
/// gives of its container, the containers in parallel.
fn add_lists<C: Send>(
    containers: &mut [C],
    lists: Vec<Vec<u32>>,
    set: impl Fn(&mut C) -> &mut RoaringBitmap + Sync,
) {
    containers
        .par_iter_mut()
        .zip(lists)
        .for_each(|(container, mut list)| {
            list.sort_unstable();
            list.dedup();
            *set(container) |=
                RoaringBitmap::from_sorted_iter(list).expect("sorted and deduplicated");
        });
}
