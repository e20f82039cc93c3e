//! The identity keys of each tier, visited for the mailboxes and groups of a
//! directory: a [`Resolver`](super::Resolver) indexes them, a
//! [`Scan`](super::Scan) looks for one identity among them.

use std::ops::Range;

use super::resolve::{KeySink, Tier};
use super::{Group, Recipient};
use rayon::prelude::*;

use crate::snapshot::tables::Col;
use crate::snapshot::{parse_guid_u128, smtp_proxy, split_multi, Table};

/// Where the keys of mailboxes and groups come from.
pub(super) struct KeySources<'a> {
    /// The mailboxes table (Guid, DistinguishedName, UPN, proxies, Alias, Name).
    pub mailboxes: &'a Table,
    /// The groups table, or `None` when groups are left out.
    pub group_table: Option<&'a Table>,
    /// ExternalDirectoryObjectId of each mailbox, parsed.
    pub mailbox_ids: &'a [u128],
    /// The groups, whose GUIDs and DNs were parsed already (empty with the table).
    pub groups: &'a [Group],
}

impl<'a> KeySources<'a> {
    /// The GUID tier's keys, in the order [`KeySources::visit`] gives them:
    /// the mailboxes' ExternalDirectoryObjectId, their Guid (parsed in
    /// parallel; malformed ones are skipped), then the groups'.
    pub fn guids(&self) -> Vec<(u128, Recipient)> {
        let rows = self.mailbox_ids.len();
        let guid_column = self.mailboxes.column(&["Guid"]);
        // Room for every key at once: growing the list would copy it.
        let group_keys: usize = self.groups.iter().map(|g| g.guids.len()).sum();
        let mut keys =
            Vec::with_capacity(rows * (1 + usize::from(guid_column.is_some())) + group_keys);
        keys.par_extend(
            self.mailbox_ids
                .par_iter()
                .enumerate()
                .map(|(row, &id)| (id, Recipient::Mailbox(row as u32))),
        );
        if let Some(c) = guid_column {
            const CHUNK: usize = 16_384;
            let parsed: Vec<Vec<(u128, Recipient)>> = (0..rows.div_ceil(CHUNK))
                .into_par_iter()
                .map(|chunk| {
                    let from = chunk * CHUNK;
                    c.values(from..(from + CHUNK).min(rows))
                        .enumerate()
                        .filter_map(|(i, v)| {
                            let guid = parse_guid_u128(v?)?;
                            Some((guid, Recipient::Mailbox((from + i) as u32)))
                        })
                        .collect()
                })
                .collect();
            keys.extend(parsed.into_iter().flatten());
        }
        for (row, g) in self.groups.iter().enumerate() {
            keys.extend(g.guids.iter().map(|&id| (id, Recipient::Group(row as u32))));
        }
        keys
    }

    /// Passes `sink` the keys of one tier: those of the mailboxes in `rows` (all of
    /// them, or the one a directory is focused on), then every group's.
    pub fn visit(&self, tier: Tier, rows: Range<usize>, r: &mut dyn KeySink<'a, Recipient>) {
        let (mb, gt, ids) = (self.mailboxes, self.group_table, self.mailbox_ids);
        let mailbox = |row: usize| Recipient::Mailbox(row as u32);
        let group = |row: usize| Recipient::Group(row as u32);
        // Mailboxes, then groups, each with the rows to visit.
        let mut tables = vec![(mb, &mailbox as &dyn Fn(usize) -> Recipient, rows.clone())];
        tables.extend(gt.map(|gt| (gt, &group as &dyn Fn(usize) -> Recipient, 0..gt.len())));
        match tier {
            Tier::Guid => {
                for row in rows.clone() {
                    r.add_guid(ids[row], mailbox(row));
                }
                if let Some(c) = mb.column(&["Guid"]) {
                    rows.for_each(|row| {
                        c.get(row)
                            .into_iter()
                            .for_each(|v| r.add(tier, v, mailbox(row)))
                    });
                }
                for (row, g) in self.groups.iter().enumerate() {
                    g.guids.iter().for_each(|&id| r.add_guid(id, group(row)));
                }
            }
            Tier::DistinguishedName => {
                if let Some(c) = mb.column(&["DistinguishedName"]) {
                    for (row, dn) in rows.clone().zip(c.values(rows)) {
                        dn.into_iter().for_each(|v| r.add(tier, v, mailbox(row)));
                    }
                }
                for (row, g) in self.groups.iter().enumerate() {
                    r.add(tier, &g.dn, group(row));
                }
            }
            Tier::Address => {
                let primaries = cells(mb.column(&["PrimarySmtpAddress"]), rows.clone());
                for (row, address) in rows.clone().zip(primaries) {
                    address
                        .into_iter()
                        .for_each(|a| r.add(tier, a, mailbox(row)));
                }
                for (i, (table, object, rows)) in tables.into_iter().enumerate() {
                    // A mailbox's primary address was visited above, and most
                    // mailboxes list it again among their proxies, and have it
                    // as their user principal name: a key already added for the
                    // same object changes nothing, so it is skipped.
                    let mailboxes = i == 0;
                    let column = |name: &str| cells(table.column(&[name]), rows.clone());
                    let mut upns = column("UserPrincipalName");
                    let mut primaries = column("PrimarySmtpAddress");
                    let mut proxies = column("EmailAddresses");
                    for row in rows {
                        let main = primaries.next().flatten();
                        let same_as_main =
                            |a: &str| main.is_some_and(|m| m.eq_ignore_ascii_case(a));
                        // Most user principal names are the primary address.
                        let upn = upns.next().flatten().filter(|&upn| !same_as_main(upn));
                        let listed = proxies.next().flatten();
                        for v in [upn, main.filter(|_| !mailboxes)].into_iter().flatten() {
                            r.add(tier, v, object(row));
                        }
                        for p in listed.into_iter().flat_map(split_multi) {
                            let Some(address) = smtp_proxy(p) else {
                                continue;
                            };
                            if same_as_main(address)
                                || upn.is_some_and(|u| u.eq_ignore_ascii_case(address))
                            {
                                continue;
                            }
                            r.add(tier, p, object(row));
                        }
                    }
                }
            }
            Tier::Name => {
                for (table, object, rows) in tables {
                    let mut aliases = cells(table.column(&["Alias"]), rows.clone());
                    let mut names = cells(table.column(&["Name"]), rows.clone());
                    for row in rows {
                        let alias = aliases.next().flatten();
                        // A name that is the alias is the same key.
                        let name = names
                            .next()
                            .flatten()
                            .filter(|n| alias.is_none_or(|a| !a.eq_ignore_ascii_case(n)));
                        for v in [alias, name].into_iter().flatten() {
                            r.add(tier, v, object(row));
                        }
                    }
                }
            }
        }
    }
}

/// The values of a column, when there is one, in `rows`; then `None` forever.
fn cells<'a>(column: Option<Col<'a>>, rows: Range<usize>) -> impl Iterator<Item = Option<&'a str>> {
    let values = column.into_iter().flat_map(move |c| c.values(rows.clone()));
    values.chain(std::iter::repeat(None))
}
