//! The identity keys of each tier, visited for the mailboxes and groups of a
//! directory: a [`Resolver`](super::Resolver) indexes them, a
//! [`Scan`](super::Scan) looks for one identity among them.

use std::ops::Range;

use super::resolve::{KeySink, Tier};
use super::{Group, Recipient};
use crate::snapshot::{smtp_proxy, split_multi, Table};

/// Where the keys of mailboxes and groups come from.
pub(super) struct KeySources<'a> {
    /// The mailboxes table (Guid, DistinguishedName, UPN, proxies, Alias, Name).
    pub mailboxes: &'a Table,
    /// The groups table, or an empty one when groups are left out.
    pub group_table: &'a Table,
    /// ExternalDirectoryObjectId of each mailbox, parsed.
    pub mailbox_ids: &'a [u128],
    /// PrimarySmtpAddress of each mailbox.
    pub addresses: &'a [String],
    /// The groups, whose GUIDs and DNs were parsed already (empty with the table).
    pub groups: &'a [Group],
}

impl KeySources<'_> {
    /// Passes `sink` the keys of one tier: those of the mailboxes in `rows` (all of
    /// them, or the one a directory is focused on), then every group's.
    pub fn visit(&self, tier: Tier, rows: Range<usize>, r: &mut dyn KeySink<Recipient>) {
        let (mb, gt, ids, addresses) = (
            self.mailboxes,
            self.group_table,
            self.mailbox_ids,
            self.addresses,
        );
        let mailbox = |row: usize| Recipient::Mailbox(row as u32);
        let group = |row: usize| Recipient::Group(row as u32);
        // Mailboxes, then groups, each with the rows to visit.
        let tables = [
            (mb, &mailbox as &dyn Fn(usize) -> Recipient, rows.clone()),
            (gt, &group, 0..gt.len()),
        ];
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
                    rows.for_each(|row| {
                        c.get(row)
                            .into_iter()
                            .for_each(|v| r.add(tier, v, mailbox(row)))
                    });
                }
                for (row, g) in self.groups.iter().enumerate() {
                    r.add(tier, &g.dn, group(row));
                }
            }
            Tier::Address => {
                for row in rows {
                    r.add(tier, &addresses[row], mailbox(row));
                }
                for (i, (table, object, rows)) in tables.into_iter().enumerate() {
                    // A mailbox's primary address was visited above, and most
                    // mailboxes list it again among their proxies: a key already
                    // added for the same object changes nothing, so it is skipped.
                    let mailboxes = i == 0;
                    let upn = table.column(&["UserPrincipalName"]);
                    let primary = table.column(&["PrimarySmtpAddress"]);
                    let proxies = table.column(&["EmailAddresses"]);
                    for row in rows {
                        let main = match mailboxes {
                            true => Some(addresses[row].as_str()),
                            false => primary.and_then(|c| c.get(row)),
                        };
                        let upn = upn.and_then(|c| c.get(row));
                        for v in [upn, main.filter(|_| !mailboxes)].into_iter().flatten() {
                            r.add(tier, v, object(row));
                        }
                        for p in proxies
                            .and_then(|c| c.get(row))
                            .into_iter()
                            .flat_map(split_multi)
                        {
                            let Some(address) = smtp_proxy(p) else {
                                continue;
                            };
                            if main.is_some_and(|m| m.eq_ignore_ascii_case(address)) {
                                continue;
                            }
                            r.add(tier, p, object(row));
                        }
                    }
                }
            }
            Tier::Name => {
                for (table, object, rows) in tables {
                    let cols = [table.column(&["Alias"]), table.column(&["Name"])];
                    for row in rows {
                        for v in cols.iter().flatten().filter_map(|c| c.get(row)) {
                            r.add(tier, v, object(row));
                        }
                    }
                }
            }
        }
    }
}
