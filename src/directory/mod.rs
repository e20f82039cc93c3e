//! The directory: the mailbox universe `0..N`, groups and administrative units as
//! roaring bitmaps over mailbox indices, and the identity resolver.

pub mod resolve;

use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

pub use resolve::{KeySink, Resolution, Resolver, Scan, Tier};

use crate::error::{Error, Location, Result};
use crate::findings::{kind, Findings};
use crate::snapshot::{
    format_guid, parse_guid_u128, required_guid, smtp_proxy, split_multi, Col, Snapshot, Table,
};

/// A recipient an identity can name: a mailbox or a group, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    Mailbox(u32),
    Group(u32),
}

/// A mail-enabled group and its direct members.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub dn: String,
    /// A readable name: Name, DisplayName, address or DN, the first present.
    pub label: String,
    /// ExternalDirectoryObjectId and Guid, as numbers.
    pub guids: Vec<u128>,
    /// RecipientTypeDetails when exported (MailUniversalSecurityGroup, GroupMailbox, ...).
    pub recipient_type: Option<String>,
    pub direct_mailboxes: RoaringBitmap,
    pub direct_groups: Vec<u32>,
}

/// An Entra administrative unit and its direct mailbox members.
#[derive(Debug, Clone, Default)]
pub struct AdminUnit {
    pub id: String,
    pub dn: Option<String>,
    pub label: String,
    pub members: RoaringBitmap,
}

/// The mailbox universe with its groups and administrative units.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Number of mailboxes; mailbox indices are `0..count`.
    pub count: u32,
    /// Every mailbox index.
    pub all: RoaringBitmap,
    /// PrimarySmtpAddress per mailbox, as written.
    pub mailbox_addresses: Vec<String>,
    pub groups: Vec<Group>,
    pub admin_units: Vec<AdminUnit>,
    /// True when the snapshot has an administrative_unit_members table.
    pub has_au_members: bool,
    /// Identity tiers of mailboxes and groups, each built on first use: exports
    /// that name members by GUID and DN never pay for the address and name tiers.
    tiers: [OnceLock<Resolver<Recipient>>; 4],
    /// When set, the directory serves questions about this one mailbox: only its
    /// memberships (and all group nesting) are resolved, see [`Directory::focus_on`].
    focus: Option<u32>,
    /// Identity tiers of all groups and the focus mailbox, for membership rows.
    member_tiers: OnceLock<MemberTiers>,
    /// What the tiers are built from (the column arrays are shared, not copied).
    mailbox_table: Table,
    group_table: Table,
    mailbox_guids: Vec<u128>,
    pub au_resolver: Resolver<u32>,
}

impl Directory {
    /// Builds the directory from the snapshot; unresolved references become findings.
    pub fn build(snapshot: &Snapshot, findings: &mut Findings) -> Result<Directory> {
        let mut dir = Directory::bare(snapshot)?;
        dir.add_memberships(snapshot, findings)?;
        Ok(dir)
    }

    /// A mailbox's DisplayName, when the snapshot has one.
    pub fn display_name(&self, m: u32) -> Option<&str> {
        self.mailbox_column(&["DisplayName"], m)
    }

    /// A mailbox's RecipientTypeDetails (UserMailbox, SharedMailbox, ...), when exported.
    pub fn recipient_type(&self, m: u32) -> Option<&str> {
        self.mailbox_column(&["RecipientTypeDetails"], m)
    }

    fn mailbox_column(&self, names: &[&str], m: u32) -> Option<&str> {
        // Looked up per call: a name search over a few dozen headers, cheap
        // next to writing the value.
        self.mailbox_table.column(names)?.get(m as usize)
    }

    /// A mailbox's ExternalDirectoryObjectId, lower-case.
    pub fn mailbox_id(&self, m: u32) -> String {
        format_guid(self.mailbox_guids[m as usize])
    }

    /// Mailboxes, groups and administrative units, without their memberships.
    pub fn bare(snapshot: &Snapshot) -> Result<Directory> {
        let (ids, mailbox_addresses) = read_mailboxes(&snapshot.mailboxes)?;
        let count = u32::try_from(ids.len()).map_err(|_| {
            Error::data(
                Location::file(&snapshot.mailboxes.file),
                "more than 4,294,967,295 mailboxes",
            )
        })?;
        let groups = read_groups(&snapshot.groups)?;
        let mut dir = Directory {
            count,
            all: (0..count).collect(),
            mailbox_addresses,
            groups,
            admin_units: Vec::new(),
            has_au_members: !snapshot.administrative_unit_members.names.is_empty(),
            tiers: Default::default(),
            focus: None,
            member_tiers: Default::default(),
            mailbox_table: snapshot.mailboxes.clone(),
            group_table: snapshot.groups.clone(),
            mailbox_guids: ids,
            au_resolver: Resolver::default(),
        };
        dir.admin_units = add_admin_units(&snapshot.administrative_units, &mut dir.au_resolver)?;
        Ok(dir)
    }

    /// Resolves group and administrative unit memberships.
    pub fn add_memberships(&mut self, snapshot: &Snapshot, findings: &mut Findings) -> Result<()> {
        add_group_members(self, &snapshot.group_members, findings)?;
        report_cycles(&self.groups, findings);
        add_au_members(self, &snapshot.administrative_unit_members, findings)
    }

    /// Narrows the directory to questions about mailbox `m`, before
    /// [`Directory::add_memberships`]: membership rows then resolve against the
    /// groups and `m` only, so every group nesting and every membership of `m` is
    /// exact, while other mailboxes' memberships are left out unreported (and an
    /// identity shared with another mailbox is not detected). Other lookups scan
    /// the tiers instead of building them. For `explain`, which asks about one
    /// mailbox of a large tenant.
    pub fn focus_on(&mut self, m: u32) {
        self.focus = Some(m);
    }

    pub fn focus(&self) -> Option<u32> {
        self.focus
    }

    /// Whether row `m` is one this directory has all memberships of.
    pub fn is_exact_for(&self, m: u32) -> bool {
        self.focus.is_none_or(|f| f == m)
    }

    /// Resolves the identity in a membership row (group or member).
    /// `at` gives the row's location, built only for an error (membership tables
    /// have millions of rows).
    fn resolve_member(
        &self,
        identity: &str,
        at: impl FnOnce() -> Location,
    ) -> Result<Option<Recipient>> {
        let Some(focus) = self.focus else {
            return self.resolution_result(identity, self.resolve(identity), at);
        };
        let member = self.member_tiers.get_or_init(|| {
            let focus = focus as usize;
            let tiers = Tier::ALL.map(|tier| {
                let mut r = Resolver::default();
                self.tier_keys(tier, focus..focus + 1, true, &mut r);
                r
            });
            let guid_shaped_text_keys = tiers
                .iter()
                .any(|r| r.any_text_key(|k| parse_guid_u128(k).is_some()));
            MemberTiers {
                tiers,
                guid_shaped_text_keys,
            }
        });
        // Most rows name other mailboxes by GUID: when no name or address looks
        // like a GUID, the GUID tier alone can match one.
        let tiers: &[Tier] = if !member.guid_shaped_text_keys && parse_guid_u128(identity).is_some()
        {
            &[Tier::Guid]
        } else {
            &Tier::ALL
        };
        let resolution = tiers
            .iter()
            .find_map(|&tier| member.tiers[tier as usize].resolve_tier(tier, identity))
            .unwrap_or(Resolution::NotFound);
        self.resolution_result(identity, resolution, at)
    }

    /// Resolves a recipient identity; ambiguity is an error at `location`.
    pub fn resolve_recipient(
        &self,
        identity: &str,
        location: &Location,
    ) -> Result<Option<Recipient>> {
        self.resolution_result(identity, self.resolve(identity), || location.clone())
    }

    fn resolution_result(
        &self,
        identity: &str,
        resolution: Resolution<Recipient>,
        at: impl FnOnce() -> Location,
    ) -> Result<Option<Recipient>> {
        match resolution {
            Resolution::Found(r) => Ok(Some(r)),
            Resolution::NotFound => Ok(None),
            Resolution::Ambiguous { tier, first, second } => Err(Error::data(
                at(),
                format!(
                    "identity '{identity}' is ambiguous: its {} matches both {} and {}; use the object's GUID or distinguished name",
                    tier.describe(),
                    self.describe(first),
                    self.describe(second)
                ),
            )),
        }
    }

    /// Resolves a mailbox or group identity through the tiers, building each on first use.
    pub fn resolve(&self, identity: &str) -> Resolution<Recipient> {
        if self.focus.is_some() {
            return self.resolve_once(identity);
        }
        Tier::ALL
            .into_iter()
            .find_map(|tier| self.tier(tier).resolve_tier(tier, identity))
            .unwrap_or(Resolution::NotFound)
    }

    fn tier(&self, tier: Tier) -> &Resolver<Recipient> {
        self.tiers[tier as usize].get_or_init(|| {
            let mut r = Resolver::default();
            r.reserve(tier, self.mailbox_table.len() + self.group_table.len());
            self.tier_keys(tier, 0..self.count as usize, true, &mut r);
            r
        })
    }

    /// Visits the keys of a tier: those of the mailboxes in `rows`, and with
    /// `groups` every group's.
    fn tier_keys(
        &self,
        tier: Tier,
        rows: Range<usize>,
        groups: bool,
        sink: &mut dyn KeySink<Recipient>,
    ) {
        let no_groups;
        let (group_table, all_groups): (&Table, &[Group]) = if groups {
            (&self.group_table, &self.groups)
        } else {
            no_groups = Table::empty(crate::snapshot::tables::GROUPS);
            (&no_groups, &[])
        };
        tier_keys(
            tier,
            &self.mailbox_table,
            group_table,
            &self.mailbox_guids,
            &self.mailbox_addresses,
            all_groups,
            rows,
            sink,
        )
    }

    /// As [`Directory::resolve`] for a single identity: tiers not built yet are
    /// scanned instead of built, which is much faster for one lookup.
    pub fn resolve_once(&self, identity: &str) -> Resolution<Recipient> {
        for tier in Tier::ALL {
            let result = match self.tiers[tier as usize].get() {
                Some(built) => built.resolve_tier(tier, identity),
                None if Scan::<Recipient>::new(tier, identity).is_hopeless() => continue,
                None => self.scan_tier(tier, identity),
            };
            if let Some(r) = result {
                return r;
            }
        }
        Resolution::NotFound
    }

    /// Looks one identity up in a tier by visiting its keys: the mailboxes in
    /// parallel chunks, then the groups. Order only matters when two objects
    /// match (the message names the first two seen), so that rare case is
    /// scanned again in order.
    fn scan_tier(&self, tier: Tier, identity: &str) -> Option<Resolution<Recipient>> {
        let n = self.count as usize;
        let chunk = n.div_ceil(rayon::current_num_threads() * 4).max(16);
        let scan = |rows: Range<usize>, groups: bool| {
            let mut s = Scan::new(tier, identity);
            self.tier_keys(tier, rows, groups, &mut s);
            s
        };
        let mut parts: Vec<Scan<Recipient>> = (0..n.div_ceil(chunk))
            .into_par_iter()
            .map(|c| scan(c * chunk..((c + 1) * chunk).min(n), false))
            .collect();
        parts.push(scan(0..0, true));
        let mut objects: Vec<Recipient> = Vec::new();
        for o in parts.iter().flat_map(Scan::objects) {
            if !objects.contains(&o) {
                objects.push(o);
            }
        }
        match objects.as_slice() {
            [] => None,
            [one] => Some(Resolution::Found(*one)),
            _ => scan(0..n, true).result(),
        }
    }

    /// Resolves an administrative unit identity (Id, DistinguishedName or DisplayName).
    pub fn resolve_admin_unit(&self, identity: &str, location: &Location) -> Result<Option<u32>> {
        match self.au_resolver.resolve(identity) {
            Resolution::Found(r) => Ok(Some(r)),
            Resolution::NotFound => Ok(None),
            Resolution::Ambiguous { first, second, .. } => Err(Error::data(
                location.clone(),
                format!(
                    "administrative unit '{identity}' is ambiguous: it matches both '{}' ({}) and '{}' ({}); use the Id",
                    self.admin_units[first as usize].label,
                    self.admin_units[first as usize].id,
                    self.admin_units[second as usize].label,
                    self.admin_units[second as usize].id
                ),
            )),
        }
    }

    /// A readable description of a recipient for messages.
    pub fn describe(&self, r: Recipient) -> String {
        match r {
            Recipient::Mailbox(m) => format!("mailbox {}", self.mailbox_addresses[m as usize]),
            Recipient::Group(g) => format!("group '{}'", self.groups[g as usize].label),
        }
    }

    /// Mailboxes in a group, with nested groups expanded (cycles are safe).
    pub fn transitive_members(&self, group: u32) -> RoaringBitmap {
        let mut seen = vec![false; self.groups.len()];
        let mut stack = vec![group];
        seen[group as usize] = true;
        let mut out = RoaringBitmap::new();
        while let Some(g) = stack.pop() {
            let g = &self.groups[g as usize];
            out |= &g.direct_mailboxes;
            for &child in &g.direct_groups {
                if !std::mem::replace(&mut seen[child as usize], true) {
                    stack.push(child);
                }
            }
        }
        out
    }

    /// Mailboxes of a recipient: itself, or the group's members (nested or direct only).
    pub fn members_of(&self, r: Recipient, nested: bool) -> RoaringBitmap {
        match r {
            Recipient::Mailbox(m) => std::iter::once(m).collect(),
            Recipient::Group(g) if nested => self.transitive_members(g),
            Recipient::Group(g) => self.groups[g as usize].direct_mailboxes.clone(),
        }
    }
}

/// Validates the mailboxes: ExternalDirectoryObjectId a unique GUID, an address present.
fn read_mailboxes(table: &Table) -> Result<(Vec<u128>, Vec<String>)> {
    let id_col = table
        .column(&["ExternalDirectoryObjectId"])
        .expect("required");
    let smtp = table.column(&["PrimarySmtpAddress"]).expect("required");
    let row = |row: usize| -> Result<(u128, String)> {
        let id = required_guid(id_col, row)?;
        let address = smtp.get(row).ok_or_else(|| {
            Error::data(
                smtp.location(row),
                "PrimarySmtpAddress is blank; every mailbox needs one",
            )
        })?;
        Ok((id, address.to_string()))
    };
    // In parallel while all is well; on a bad row, again in order, so the error
    // is always the first one in the file.
    let parsed: Option<Vec<(u128, String)>> = (0..table.len())
        .into_par_iter()
        .map(|r| row(r).ok())
        .collect();
    let Some(parsed) = parsed else {
        // Some row is bad: find the first problem in file order, a duplicate id
        // on an earlier line included.
        let mut seen: FxHashMap<u128, usize> = FxHashMap::default();
        for r in 0..table.len() {
            let (id, _) = row(r)?;
            if let Some(first) = seen.insert(id, r) {
                return Err(duplicate_mailbox(table, id_col, id, r, first));
            }
        }
        unreachable!("a row failed to parse in parallel but not in order");
    };
    let (ids, addresses): (Vec<u128>, Vec<String>) = parsed.into_par_iter().unzip();
    // Duplicates: sorted (id, row) pairs side by side; the error names the
    // earliest row that repeats an id, and the row it repeats.
    let mut by_id: Vec<(u128, u32)> = ids
        .iter()
        .enumerate()
        .map(|(r, &id)| (id, r as u32))
        .collect();
    by_id.par_sort_unstable();
    if let Some(repeat) = by_id
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| w[1].1 as usize)
        .min()
    {
        // The first occurrence of that id: the first of its run in the sort.
        let first = by_id[by_id.partition_point(|&(id, _)| id < ids[repeat])].1 as usize;
        return Err(duplicate_mailbox(table, id_col, ids[repeat], repeat, first));
    }
    Ok((ids, addresses))
}

fn duplicate_mailbox(table: &Table, id_col: Col<'_>, id: u128, row: usize, first: usize) -> Error {
    Error::data(
        id_col.location(row),
        format!(
            "duplicate mailbox {}: line {} has the same ExternalDirectoryObjectId; remove one of the rows",
            format_guid(id),
            table.lines[first]
        ),
    )
}

/// The identity tiers a focused directory resolves membership rows with.
#[derive(Debug, Clone)]
struct MemberTiers {
    tiers: [Resolver<Recipient>; 4],
    /// Whether some name or address key could be read as a GUID.
    guid_shaped_text_keys: bool,
}

/// The keys of one identity tier for every group and the mailboxes in `rows`
/// (all of them, or the one a directory is focused on).
#[allow(clippy::too_many_arguments)]
fn tier_keys(
    tier: Tier,
    mb: &Table,
    gt: &Table,
    ids: &[u128],
    addresses: &[String],
    groups: &[Group],
    rows: Range<usize>,
    r: &mut dyn KeySink<Recipient>,
) {
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
            for (row, g) in groups.iter().enumerate() {
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
            for (row, g) in groups.iter().enumerate() {
                r.add(tier, &g.dn, group(row));
            }
        }
        Tier::Address => {
            for row in rows {
                r.add(tier, &addresses[row], mailbox(row));
            }
            for (table, object, rows) in tables {
                let cols = [
                    table.column(&["UserPrincipalName"]),
                    table.column(&["PrimarySmtpAddress"]),
                ];
                let proxies = table.column(&["EmailAddresses"]);
                for row in rows {
                    for v in cols.iter().flatten().filter_map(|c| c.get(row)) {
                        r.add(tier, v, object(row));
                    }
                    for p in proxies
                        .and_then(|c| c.get(row))
                        .into_iter()
                        .flat_map(split_multi)
                    {
                        if smtp_proxy(p).is_some() {
                            r.add(tier, p, object(row));
                        }
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

/// Validates the groups: a unique DistinguishedName, well-formed GUIDs.
fn read_groups(table: &Table) -> Result<Vec<Group>> {
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

fn add_group_members(dir: &mut Directory, table: &Table, findings: &mut Findings) -> Result<()> {
    if table.is_empty() {
        return Ok(());
    }
    let group_col = table.column(&["Group"]).expect("required");
    let member_col = table.column(&["Member"]).expect("required");
    let edges = resolve_rows(table.len(), findings, |rows, out| {
        // Exports list a group's members together: remember the last group.
        let mut last: Option<(&str, Option<u32>)> = None;
        let cells = group_col
            .values(rows.clone())
            .zip(member_col.values(rows.clone()));
        for (row, cells) in rows.zip(cells) {
            let (Some(group_id), Some(member_id)) = cells else {
                out.finding(
                    kind::UNRESOLVED_IDENTITY,
                    "group_members",
                    "row with a blank Group or Member is skipped".into(),
                    table.location(row, None),
                );
                continue;
            };
            let group = match last {
                Some((id, group)) if id == group_id => group,
                _ => {
                    let group = match dir.resolve_member(group_id, || group_col.location(row))? {
                        Some(Recipient::Group(g)) => Some(g),
                        Some(other) => {
                            out.finding(
                                kind::NOT_A_GROUP,
                                group_id,
                                format!(
                                    "names {}, not a group; the membership row is skipped",
                                    dir.describe(other)
                                ),
                                group_col.location(row),
                            );
                            None
                        }
                        None => {
                            out.finding(
                                kind::UNRESOLVED_IDENTITY,
                                group_id,
                                "group not found in groups; the membership row is skipped".into(),
                                group_col.location(row),
                            );
                            None
                        }
                    };
                    last = Some((group_id, group));
                    group
                }
            };
            let Some(group) = group else {
                // Unresolved: reported once for its first row.
                continue;
            };
            match dir.resolve_member(member_id, || member_col.location(row))? {
                Some(member) => out.edges.push((group, member)),
                None if dir.focus.is_some() => {} // most likely another mailbox
                None => out.finding(
                    kind::UNRESOLVED_IDENTITY,
                    member_id,
                    format!(
                        "member of group '{}' not found among mailboxes or groups; it is left out",
                        dir.groups[group as usize].label
                    ),
                    member_col.location(row),
                ),
            }
        }
        Ok(())
    })?;
    for (group, member) in edges {
        let group = &mut dir.groups[group as usize];
        match member {
            Recipient::Mailbox(m) => {
                group.direct_mailboxes.insert(m);
            }
            Recipient::Group(child) => {
                if !group.direct_groups.contains(&child) {
                    group.direct_groups.push(child);
                }
            }
        }
    }
    Ok(())
}

/// What one chunk of membership rows resolved to.
struct Resolved<T> {
    edges: Vec<T>,
    findings: Vec<(&'static str, String, String, Location)>,
}

impl<T> Resolved<T> {
    fn finding(&mut self, kind: &'static str, object: &str, message: String, source: Location) {
        self.findings
            .push((kind, object.to_string(), message, source));
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

/// Reports every group nesting cycle once (Exchange allows them; expansion stops at repeats).
fn report_cycles(groups: &[Group], findings: &mut Findings) {
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

fn add_admin_units(table: &Table, r: &mut Resolver<u32>) -> Result<Vec<AdminUnit>> {
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

fn add_au_members(dir: &mut Directory, table: &Table, findings: &mut Findings) -> Result<()> {
    if table.is_empty() {
        return Ok(());
    }
    let au_col = table.column(&["AdministrativeUnit"]).expect("required");
    let member_col = table.column(&["Member"]).expect("required");
    let edges = resolve_rows(table.len(), findings, |rows, out| {
        let mut last: Option<(&str, Option<u32>)> = None;
        let cells = au_col
            .values(rows.clone())
            .zip(member_col.values(rows.clone()));
        for (row, cells) in rows.zip(cells) {
            let (Some(au_id), Some(member_id)) = cells else {
                out.finding(
                    kind::UNRESOLVED_IDENTITY,
                    "administrative_unit_members",
                    "row with a blank AdministrativeUnit or Member is skipped".into(),
                    table.location(row, None),
                );
                continue;
            };
            let au = match last {
                Some((id, au)) if id == au_id => au,
                _ => {
                    let au = dir.resolve_admin_unit(au_id, &au_col.location(row))?;
                    if au.is_none() {
                        out.finding(kind::UNRESOLVED_IDENTITY, au_id, "administrative unit not found in administrative_units; the membership row is skipped".into(), au_col.location(row));
                    }
                    last = Some((au_id, au));
                    au
                }
            };
            let Some(au) = au else {
                continue;
            };
            let label = &dir.admin_units[au as usize].label;
            match dir.resolve_member(member_id, || member_col.location(row))? {
                Some(Recipient::Mailbox(m)) => out.edges.push((au, m)),
                Some(Recipient::Group(g)) => out.finding(
                    kind::GROUP_IN_ADMINISTRATIVE_UNIT,
                    &dir.groups[g as usize].label,
                    format!("group is a member of administrative unit '{label}'; Entra does not expand groups in administrative units, so its members are not in the unit's scope"),
                    member_col.location(row),
                ),
                None if dir.focus.is_some() => {}
                None => out.finding(
                    kind::UNRESOLVED_IDENTITY,
                    member_id,
                    format!("member of administrative unit '{label}' not found among mailboxes or groups; it is left out"),
                    member_col.location(row),
                ),
            }
        }
        Ok(())
    })?;
    for (au, m) in edges {
        dir.admin_units[au as usize].members.insert(m);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailboxes(ids: &[&str]) -> Table {
        let mut text = String::from("ExternalDirectoryObjectId,PrimarySmtpAddress\n");
        for (i, id) in ids.iter().enumerate() {
            text.push_str(&format!("{id},m{i}@x.com\n"));
        }
        crate::snapshot::csv::parse_csv(
            text.as_bytes(),
            "mailboxes.csv",
            crate::snapshot::tables::MAILBOXES,
        )
        .unwrap()
    }

    /// Parallel reading reports the same error as reading in order would: the
    /// earliest row that repeats an id (naming that id's first line), or a bad
    /// row before it.
    #[test]
    fn mailbox_errors_are_the_first_in_file_order() {
        let a = "00000000-0000-4000-8000-00000000000a";
        let b = "00000000-0000-4000-8000-00000000000b";
        let error = |ids: &[&str]| read_mailboxes(&mailboxes(ids)).unwrap_err().to_string();
        let duplicate = |id: &str, line: u32, first: u32| {
            format!("mailboxes.csv, line {line}, column ExternalDirectoryObjectId: duplicate mailbox {id}: line {first} has the same ExternalDirectoryObjectId; remove one of the rows")
        };
        assert_eq!(error(&[a, b, b, a, a]), duplicate(b, 4, 3));
        assert_eq!(error(&[a, b, a, b, a]), duplicate(a, 4, 2));
        // A duplicate before a bad GUID wins, and a bad GUID before a duplicate.
        assert_eq!(error(&[a, a, "nope"]), duplicate(a, 3, 2));
        assert!(error(&[a, "nope", a])
            .starts_with("mailboxes.csv, line 3, column ExternalDirectoryObjectId: "));
        assert_eq!(
            read_mailboxes(&mailboxes(&[a, b])).unwrap().1,
            ["m0@x.com", "m1@x.com"]
        );
    }
}
