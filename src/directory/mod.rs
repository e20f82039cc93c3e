//! The directory: the mailbox universe `0..N`, groups and administrative units as
//! roaring bitmaps over mailbox indices, and the identity resolver.

mod asked;
mod groups;
mod guids;
mod keys;
mod mailboxes;
mod membership;
pub mod resolve;

use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use asked::{Answers, Asked, AskedScan};
pub use resolve::{BatchScan, KeySink, Resolution, Resolver, Scan, Tier};

use crate::error::{Error, Location, Result};
use crate::findings::Findings;
use crate::snapshot::tables::Col;
use crate::snapshot::{format_guid, parse_guid_u128, Snapshot, Table};

use keys::KeySources;

/// A recipient an identity can name: a mailbox or a group, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    Mailbox(u32),
    Group(u32),
}

/// What the tiers say of the identity in one membership row, when it was
/// settled in a batch before the walk (see [`Directory::settle_memberships`]).
pub(crate) type Hint = Option<Resolution<Recipient>>;

/// The columns of one membership table, for [`Directory::settle_memberships`]:
/// the containers when they name recipients (groups), and the members.
pub(crate) struct Memberships<'c> {
    containers: Option<Col<'c>>,
    members: Option<Col<'c>>,
    rows: usize,
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
    pub groups: Vec<Group>,
    pub admin_units: Vec<AdminUnit>,
    /// True when the snapshot has an administrative_unit_members table.
    pub has_au_members: bool,
    /// Identity tiers of mailboxes and groups, each built on first use. Batches
    /// of identities are settled by scans instead (see `settled`), so an
    /// analysis builds only the GUID tier; a lookup no batch covered builds the
    /// tier it needs.
    tiers: [OnceLock<Resolver<Recipient>>; 4],
    /// Containers of membership rows and policy scope identities that the GUID
    /// tier does not resolve, with what the other tiers say of them, found by
    /// one scan of the tiers' keys where building the tiers would cost far
    /// more (see [`Directory::settle_memberships`]).
    settled: FxHashMap<Box<str>, Resolution<Recipient>>,
    /// When set, the directory serves questions about this one mailbox: only its
    /// memberships (and all group nesting) are resolved, see [`Directory::focus_on`].
    focus: Option<u32>,
    /// Identity tiers of all groups and the focus mailbox, for membership rows.
    member_tiers: OnceLock<MemberTiers>,
    /// What the tiers are built from (the column arrays are shared, not copied).
    mailbox_table: Table,
    /// Where in `mailbox_table` PrimarySmtpAddress is (never blank).
    address_column: usize,
    group_table: Table,
    mailbox_guids: Vec<u128>,
    pub au_resolver: Resolver<u32>,
}

impl Directory {
    /// Builds the directory from the snapshot; unresolved references become findings.
    pub fn build(snapshot: &Snapshot, findings: &mut Findings) -> Result<Directory> {
        Directory::build_with(snapshot, &[], findings)
    }

    /// As [`Directory::build`], and settles `identities` (the policy tables'
    /// scopes, see `policy::recipient_identities`) in the same batch as the
    /// memberships, so that resolving them later costs a lookup each.
    pub fn build_with(
        snapshot: &Snapshot,
        identities: &[&str],
        findings: &mut Findings,
    ) -> Result<Directory> {
        let mut dir = Directory::bare(snapshot)?;
        dir.add_memberships_with(snapshot, identities, findings)?;
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

    /// The non-blank values of a mailboxes column (the first of `names` present)
    /// in mailbox order; `None` when no such column was exported.
    pub fn mailbox_values<'a>(
        &'a self,
        names: &[&str],
    ) -> Option<impl Iterator<Item = Option<&'a str>> + 'a> {
        let column = self.mailbox_table.column(names)?;
        Some(column.values(0..self.count as usize))
    }

    /// A mailbox's PrimarySmtpAddress, trimmed.
    pub fn mailbox_address(&self, m: u32) -> &str {
        self.addresses().get(m as usize).unwrap_or_default()
    }

    /// The PrimarySmtpAddress of the mailboxes `rows`, trimmed, in order.
    pub fn mailbox_addresses(&self, rows: Range<usize>) -> impl Iterator<Item = &str> + '_ {
        self.addresses().values(rows).map(Option::unwrap_or_default)
    }

    /// The PrimarySmtpAddress column, which has a value in every row
    /// ([`mailboxes::read_mailboxes`] checked).
    fn addresses(&self) -> Col<'_> {
        self.mailbox_table.col(self.address_column)
    }

    /// The index of the PrimarySmtpAddress column in the mailboxes table.
    pub fn address_column(&self) -> usize {
        self.address_column
    }

    /// ExternalDirectoryObjectId of every mailbox, parsed.
    pub fn mailbox_guids(&self) -> &[u128] {
        &self.mailbox_guids
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
        let (ids, address_column) = mailboxes::read_mailboxes(&snapshot.mailboxes)?;
        let count = u32::try_from(ids.len()).map_err(|_| {
            Error::data(
                Location::file(&snapshot.mailboxes.file),
                "more than 4,294,967,295 mailboxes",
            )
        })?;
        let groups = groups::read_groups(&snapshot.groups)?;
        let mut dir = Directory {
            count,
            all: (0..count).collect(),
            groups,
            admin_units: Vec::new(),
            has_au_members: !snapshot.administrative_unit_members.names.is_empty(),
            tiers: Default::default(),
            settled: FxHashMap::default(),
            focus: None,
            member_tiers: Default::default(),
            mailbox_table: snapshot.mailboxes.clone(),
            address_column,
            group_table: snapshot.groups.clone(),
            mailbox_guids: ids,
            au_resolver: Resolver::default(),
        };
        dir.admin_units =
            groups::read_admin_units(&snapshot.administrative_units, &mut dir.au_resolver)?;
        Ok(dir)
    }

    /// Resolves group and administrative unit memberships.
    pub fn add_memberships(&mut self, snapshot: &Snapshot, findings: &mut Findings) -> Result<()> {
        self.add_memberships_with(snapshot, &[], findings)
    }

    /// Resolves group and administrative unit memberships, and settles
    /// `identities` (named elsewhere, as policy scopes are) in the same batch.
    pub fn add_memberships_with(
        &mut self,
        snapshot: &Snapshot,
        identities: &[&str],
        findings: &mut Findings,
    ) -> Result<()> {
        let (groups, units) = (
            &snapshot.group_members,
            &snapshot.administrative_unit_members,
        );
        let tables = [
            Memberships {
                containers: groups.column(&["Group"]),
                members: groups.column(&["Member"]),
                rows: groups.len(),
            },
            Memberships {
                containers: None,
                members: units.column(&["Member"]),
                rows: units.len(),
            },
        ];
        let [group_hints, unit_hints]: [Vec<Hint>; 2] = self
            .settle_memberships(&tables, identities)
            .try_into()
            .expect("one hint list per table");
        membership::add_group_members(self, groups, &group_hints, findings)?;
        groups::report_cycles(&self.groups, findings);
        membership::add_admin_unit_members(self, units, &unit_hints, findings)
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

    /// Builds the GUID tier now, in parallel, unless it is built or the
    /// directory is focused: for a caller that goes on to resolve memberships
    /// inside a rayon task, where a tier would be built in one shard (see
    /// `Directory::tier`).
    pub fn build_guid_tier(&self) {
        if self.focus.is_none() {
            self.tier(Tier::Guid);
        }
    }

    /// Resolves a mailbox or group identity through the tiers, building each on first use.
    pub fn resolve(&self, identity: &str) -> Resolution<Recipient> {
        if self.focus.is_some() {
            return self.resolve_once(identity);
        }
        if let Some(found) = self.tier(Tier::Guid).resolve_tier(Tier::Guid, identity) {
            return found;
        }
        if let Some(settled) = self.settled.get(identity) {
            return settled.clone();
        }
        Tier::ALL[1..]
            .iter()
            .find_map(|&tier| self.tier(tier).resolve_tier(tier, identity))
            .unwrap_or(Resolution::NotFound)
    }

    fn tier(&self, tier: Tier) -> &Resolver<Recipient> {
        self.tiers[tier as usize].get_or_init(|| {
            // One shard per thread: each shard's task hashes every key, so more
            // shards cost more passes. Inside a rayon worker the build runs in
            // one shard: a parallel one could steal a job that waits for this
            // very tier. Parallel walks build the tiers they need first, see
            // [`Directory::settle_memberships`]. Outside a worker, the GUID
            // tier's keys are gathered (the Guid column parsed) once, in parallel.
            let shards = match rayon::current_thread_index() {
                Some(_) => 1,
                None => rayon::current_num_threads(),
            };
            if tier == Tier::Guid && shards > 1 {
                return Resolver::from_guids(shards, &self.key_sources(true).guids());
            }
            Resolver::build(tier, shards, self.tier_size(tier), |sink| {
                self.tier_keys(tier, 0..self.count as usize, true, sink)
            })
        })
    }

    /// About how many keys `tier` holds: an object has one key per tier, except
    /// GUIDs (ExternalDirectoryObjectId and Guid) and addresses (the primary,
    /// the UPN and usually a few proxies).
    fn tier_size(&self, tier: Tier) -> usize {
        let per_object = match tier {
            Tier::Guid => 2,
            Tier::Address => 4,
            _ => 1,
        };
        (self.mailbox_table.len() + self.group_table.len()) * per_object
    }

    /// Resolves, in one batch, every identity of the membership `tables` and
    /// the `others` (policy and assignment scopes) before anything asks about
    /// each: the GUID tier is built (GUIDs are how exports mostly name
    /// members), and what it leaves is settled by one parallel pass over the
    /// keys of each further tier (see [`Directory::settle_text`]); no text tier
    /// is built. A run of rows naming the same container counts once, and an
    /// identity named in several places is looked up once.
    ///
    /// Gives, per table and per row of its member column, what the tiers say of
    /// the row's member (`None` for a blank cell; no hints at all when the
    /// directory is focused or nothing is named); the containers' and the
    /// others' answers go to `settled`.
    pub(crate) fn settle_memberships(
        &mut self,
        tables: &[Memberships<'_>],
        others: &[&str],
    ) -> Vec<Vec<Hint>> {
        const CHUNK: usize = 16_384;
        let no_hints = || tables.iter().map(|_| Vec::new()).collect();
        let named = |t: &Memberships<'_>| {
            let mut columns = t.containers.iter().chain(&t.members);
            columns.any(|c| (0..t.rows).any(|row| c.get(row).is_some()))
        };
        if self.focus.is_some() || (others.is_empty() && !tables.iter().any(named)) {
            return no_hints();
        }
        let guid = self.tier(Tier::Guid);
        let in_guid_tier = |id: &str| guid.resolve_tier(Tier::Guid, id);
        let chunks = |rows: usize| (0..rows.div_ceil(CHUNK)).into_par_iter();
        let range = |c: usize, rows: usize| c * CHUNK..((c + 1) * CHUNK).min(rows);
        let mut hints: Vec<Vec<Hint>> = Vec::with_capacity(tables.len());
        // Per table, the member rows the GUID tier leaves, with their identity.
        let mut left: Vec<Vec<(u32, &str)>> = Vec::with_capacity(tables.len());
        for t in tables {
            let rows = t.rows;
            let Some(members) = t.members else {
                hints.push(Vec::new());
                left.push(Vec::new());
                continue;
            };
            // Each chunk's hints go straight to their place in the table's list.
            let mut table_hints: Vec<Hint> = vec![None; rows];
            let table_left: Vec<Vec<(u32, &str)>> = table_hints
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(|(c, out)| {
                    let ids: Vec<Option<&str>> = members.values(range(c, rows)).collect();
                    for (slot, hint) in out.iter_mut().zip(guid.resolve_guids(ids.iter().copied()))
                    {
                        *slot = hint;
                    }
                    range(c, rows)
                        .zip(ids)
                        .zip(out.iter())
                        .filter_map(|((row, id), hint)| match (id, hint) {
                            (Some(id), None) => Some((row as u32, id)),
                            _ => None,
                        })
                        .collect()
                })
                .collect();
            hints.push(table_hints);
            left.push(table_left.concat());
        }
        // Each identity left, once: the members' in parallel, then the
        // containers (a nested group may be named as a member too) and others.
        let named: Vec<&str> = left.iter().flatten().map(|&(_, id)| id).collect();
        let mut asked = Asked::with_capacity(named.len() + others.len());
        let slots = asked.add_all(&named);
        // By text: texts that differ in case are one identity, but each is asked.
        let mut container_slots: FxHashMap<&str, u32> = FxHashMap::default();
        for t in tables {
            let Some(col) = &t.containers else {
                continue;
            };
            let rows = t.rows;
            let named: Vec<&str> = chunks(rows)
                .flat_map_iter(|c| {
                    let mut last = None;
                    col.values(range(c, rows))
                        .flatten()
                        .filter(move |&id| last.replace(id) != Some(id))
                        .filter(|id| in_guid_tier(id).is_none())
                        .collect::<Vec<_>>()
                })
                .collect();
            for id in named {
                if !self.settled.contains_key(id) {
                    container_slots.entry(id).or_insert_with(|| asked.add(id));
                }
            }
        }
        for &id in others {
            if in_guid_tier(id).is_none() && !self.settled.contains_key(id) {
                container_slots.entry(id).or_insert_with(|| asked.add(id));
            }
        }
        let results = self.settle_text(&asked);
        let mut slots = slots.into_iter();
        for (table_hints, table_left) in hints.iter_mut().zip(left) {
            for ((row, _), slot) in table_left.into_iter().zip(slots.by_ref()) {
                table_hints[row as usize] = Some(results[slot as usize].clone());
            }
        }
        for (id, slot) in container_slots {
            self.settled
                .insert(id.into(), results[slot as usize].clone());
        }
        hints
    }

    /// What the text tiers (all but the GUID tier) say of each identity of
    /// `asked` (none of them in the GUID tier), by one parallel pass over the
    /// keys of each tier in turn: the mailboxes in chunks, then the groups.
    /// The passes stop when every identity has matched (the containers of
    /// memberships often all have by their distinguished names). An identity
    /// two objects match is scanned again in the serial order, which its
    /// message names them in.
    fn settle_text(&self, asked: &Asked<'_>) -> Vec<Resolution<Recipient>> {
        const TEXT_TIERS: [Tier; 3] = [Tier::DistinguishedName, Tier::Address, Tier::Name];
        let n = self.count as usize;
        let chunk = n.div_ceil(rayon::current_num_threads() * 8).max(4_096);
        let mut answers = Answers::new(asked);
        for tier in TEXT_TIERS {
            if answers.settled() {
                break;
            }
            // Only the identities no lower tier matched can change.
            let filter = asked.filter(tier, |identity| answers.is_open(identity));
            let scan = |rows: Range<usize>, groups: bool| {
                let mut scan = AskedScan::new(asked, &filter);
                self.tier_keys(tier, rows, groups, &mut scan);
                scan.finish()
            };
            let parts: Vec<_> = (0..n.div_ceil(chunk))
                .into_par_iter()
                .map(|c| scan(c * chunk..((c + 1) * chunk).min(n), false))
                .collect();
            parts.into_iter().for_each(|hits| answers.absorb(hits));
            answers.absorb(scan(0..0, true));
        }
        let mut results = answers.finish();
        for tier in TEXT_TIERS {
            let ambiguous: Vec<usize> = (0..results.len())
                .filter(|&i| matches!(results[i], Some(Resolution::Ambiguous { tier: t, .. }) if t == tier))
                .collect();
            if ambiguous.is_empty() {
                continue;
            }
            let texts: Vec<&str> = ambiguous.iter().map(|&i| asked.text(i as u32)).collect();
            let mut again = BatchScan::new(tier, &texts);
            self.tier_keys(tier, 0..n, true, &mut again);
            for (i, r) in ambiguous.into_iter().zip(again.results(tier)) {
                results[i] = r;
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Resolution::NotFound))
            .collect()
    }

    /// Visits the keys of a tier: those of the mailboxes in `rows`, and with
    /// `groups` every group's.
    fn tier_keys<'s>(
        &'s self,
        tier: Tier,
        rows: Range<usize>,
        groups: bool,
        sink: &mut dyn KeySink<'s, Recipient>,
    ) {
        self.key_sources(groups).visit(tier, rows, sink)
    }

    /// Where the tiers' keys come from: the mailboxes, and with `groups` the groups.
    fn key_sources(&self, groups: bool) -> KeySources<'_> {
        let (group_table, all_groups): (Option<&Table>, &[Group]) = match groups {
            true => (Some(&self.group_table), &self.groups),
            false => (None, &[]),
        };
        KeySources {
            mailboxes: &self.mailbox_table,
            group_table,
            mailbox_ids: &self.mailbox_guids,
            groups: all_groups,
        }
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
    pub fn resolve_admin_unit(
        &self,
        identity: &str,
        at: impl FnOnce() -> Location,
    ) -> Result<Option<u32>> {
        match self.au_resolver.resolve(identity) {
            Resolution::Found(r) => Ok(Some(r)),
            Resolution::NotFound => Ok(None),
            Resolution::Ambiguous { first, second, .. } => Err(Error::data(
                at(),
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
            Recipient::Mailbox(m) => format!("mailbox {}", self.mailbox_address(m)),
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

/// The identity tiers a focused directory resolves membership rows with.
#[derive(Debug, Clone)]
struct MemberTiers {
    tiers: [Resolver<Recipient>; 4],
    /// Whether some name or address key could be read as a GUID.
    guid_shaped_text_keys: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200 mailboxes, 64 of them in two groups named by DN, members named by GUID except one
    /// by address, one by a name no object has, and group 1 nested in group 0.
    fn snapshot() -> (tempfile::TempDir, Snapshot) {
        let dir = tempfile::tempdir().unwrap();
        let guid = |i: u32| format!("00000000-0000-4000-8000-{i:012}");
        let mut mailboxes =
            String::from("ExternalDirectoryObjectId,PrimarySmtpAddress,DistinguishedName,Alias\n");
        for i in 0..200 {
            mailboxes += &format!("{},u{i}@contoso.com,\"CN=u{i},OU=contoso\",u{i}\n", guid(i));
        }
        let group = |g: u32| format!("\"CN=Group {g},OU=contoso\"");
        let groups = format!("DistinguishedName,Name\n{},G0\n{},G1\n", group(0), group(1));
        let mut members = String::from("Group,Member\n");
        // Grouped by group, as exports list them.
        for i in (0..64).step_by(2).chain((1..64).step_by(2)) {
            members += &format!("{},{}\n", group(i % 2), guid(i));
        }
        members += &format!("{},U3@Contoso.com\n", group(1));
        members += &format!("{},nobody\n", group(1));
        members += &format!("{},{}\n", group(0), group(1).to_uppercase());
        std::fs::write(dir.path().join("mailboxes.csv"), mailboxes).unwrap();
        std::fs::write(dir.path().join("groups.csv"), groups).unwrap();
        std::fs::write(dir.path().join("group_members.csv"), members).unwrap();
        let snapshot = Snapshot::load(dir.path()).unwrap();
        (dir, snapshot)
    }

    #[test]
    fn identities_past_the_guid_tier_are_settled_by_scans_as_built_tiers_would() {
        let (_dir, snapshot) = snapshot();
        let mut findings = Findings::default();
        let dir = Directory::build(&snapshot, &mut findings).unwrap();
        // No text tier was built: the members and the two groups' DNs were
        // settled by scans; only the containers are kept by name.
        assert!(dir.tiers[1..].iter().all(|t| t.get().is_none()));
        assert_eq!(dir.settled.len(), 2);
        let direct =
            |d: &Directory, g: usize| d.groups[g].direct_mailboxes.iter().collect::<Vec<_>>();
        assert_eq!(direct(&dir, 0), (0..64).step_by(2).collect::<Vec<_>>());
        let mut odd: Vec<u32> = (1..64).step_by(2).collect();
        odd.insert(1, 3);
        odd.dedup();
        assert_eq!(direct(&dir, 1), odd);
        assert_eq!(dir.groups[0].direct_groups, [1]);
        assert_eq!(findings.len(), 1, "the unknown member: {findings:?}");
        // With every tier built first, the walk asks the tiers: same result.
        let mut built = Directory::bare(&snapshot).unwrap();
        Tier::ALL.into_iter().for_each(|t| {
            built.tier(t);
        });
        let mut built_findings = Findings::default();
        built
            .add_memberships(&snapshot, &mut built_findings)
            .unwrap();
        for g in 0..2 {
            assert_eq!(direct(&dir, g), direct(&built, g));
            assert_eq!(dir.groups[g].direct_groups, built.groups[g].direct_groups);
        }
        assert_eq!(findings.len(), built_findings.len());
        for (identity, settled) in &dir.settled {
            assert_eq!(&built.resolve(identity), settled, "{identity}");
        }
    }

    /// A scan in parallel chunks meets the two holders of an address in
    /// another order than a serial visit (primary addresses first): the
    /// message still names them in the serial order, as a built tier does.
    #[test]
    fn an_ambiguous_identity_names_its_objects_in_the_serial_order() {
        let dir = tempfile::tempdir().unwrap();
        let n = 9_000;
        let guid = |i: u32| format!("00000000-0000-4000-8000-{i:012}");
        let mut mailboxes =
            String::from("ExternalDirectoryObjectId,PrimarySmtpAddress,EmailAddresses\n");
        for i in 0..n {
            let proxy = if i == 0 { "smtp:dup@contoso.com" } else { "" };
            let primary = if i == n - 1 {
                "dup@contoso.com".to_string()
            } else {
                format!("u{i}@contoso.com")
            };
            mailboxes += &format!("{},{primary},{proxy}\n", guid(i));
        }
        std::fs::write(dir.path().join("mailboxes.csv"), mailboxes).unwrap();
        std::fs::write(dir.path().join("groups.csv"), "DistinguishedName\nCN=G\n").unwrap();
        std::fs::write(
            dir.path().join("group_members.csv"),
            "Group,Member\nCN=G,DUP@contoso.com\n",
        )
        .unwrap();
        let snapshot = Snapshot::load(dir.path()).unwrap();
        let scanned = Directory::build(&snapshot, &mut Findings::default()).unwrap_err();
        let mut built = Directory::bare(&snapshot).unwrap();
        assert_eq!(
            built
                .tier(Tier::Address)
                .resolve_tier(Tier::Address, "dup@contoso.com"),
            Some(Resolution::Ambiguous {
                tier: Tier::Address,
                first: Recipient::Mailbox(n - 1),
                second: Recipient::Mailbox(0),
            })
        );
        let built = built
            .add_memberships(&snapshot, &mut Findings::default())
            .unwrap_err();
        assert_eq!(scanned.to_string(), built.to_string());
        assert!(
            scanned
                .to_string()
                .contains("matches both mailbox dup@contoso.com and mailbox u0@contoso.com"),
            "{scanned}"
        );
    }

    /// Keys an object has twice (a proxy or user principal name repeating its
    /// primary address, a proxy repeating its user principal name, a name that
    /// is the alias) are visited once: no resolution changes, and no object is
    /// ambiguous with itself, whether the tier is built or scanned for a batch
    /// of members.
    #[test]
    fn an_address_an_object_repeats_changes_no_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let mailboxes = "ExternalDirectoryObjectId,PrimarySmtpAddress,UserPrincipalName,EmailAddresses,Alias,Name\n\
            00000000-0000-4000-8000-000000000000,a@contoso.com,A@Contoso.com,SMTP:A@Contoso.com;smtp:both@contoso.com,ann,ANN\n\
            00000000-0000-4000-8000-000000000001,b@contoso.com,Upn.B@contoso.com,SMTP:b@contoso.com;smtp:A@contoso.com;smtp:both@contoso.com;smtp:upn.b@CONTOSO.com,bob,Bob B\n\
            00000000-0000-4000-8000-000000000002,c@contoso.com,c.upn@contoso.com,SMTP:c@contoso.com,cy,bob\n";
        std::fs::write(dir.path().join("mailboxes.csv"), mailboxes).unwrap();
        std::fs::write(dir.path().join("groups.csv"), "DistinguishedName\nCN=G\n").unwrap();
        let members = "Group,Member\nCN=G,UPN.B@contoso.com\nCN=G,smtp:c.upn@contoso.com\nCN=G,a@contoso.com\n";
        std::fs::write(dir.path().join("group_members.csv"), members).unwrap();
        let snapshot = Snapshot::load(dir.path()).unwrap();
        let mut built = Directory::bare(&snapshot).unwrap();
        let ambiguous = Resolution::Ambiguous {
            tier: Tier::Address,
            first: Recipient::Mailbox(0),
            second: Recipient::Mailbox(1),
        };
        assert_eq!(built.resolve("smtp:a@CONTOSO.com"), ambiguous);
        assert_eq!(built.resolve("both@contoso.com"), ambiguous);
        let found = |m: u32| Resolution::Found(Recipient::Mailbox(m));
        assert_eq!(built.resolve("B@contoso.com"), found(1));
        assert_eq!(built.resolve("upn.b@contoso.com"), found(1));
        assert_eq!(built.resolve("C.UPN@contoso.com"), found(2));
        assert_eq!(built.resolve("Ann"), found(0));
        assert_eq!(built.resolve("bob b"), found(1));
        let bob = Resolution::Ambiguous {
            tier: Tier::Name,
            first: Recipient::Mailbox(1),
            second: Recipient::Mailbox(2),
        };
        assert_eq!(built.resolve("BOB"), bob);
        // Scanned for the members: the same answers (a@contoso.com is ambiguous).
        let scanned = Directory::build(&snapshot, &mut Findings::default()).unwrap_err();
        let built = built
            .add_memberships(&snapshot, &mut Findings::default())
            .unwrap_err();
        assert_eq!(scanned.to_string(), built.to_string());
        let members = "Group,Member\nCN=G,UPN.B@contoso.com\nCN=G,smtp:c.upn@contoso.com\n";
        std::fs::write(dir.path().join("group_members.csv"), members).unwrap();
        let snapshot = Snapshot::load(dir.path()).unwrap();
        let scanned = Directory::build(&snapshot, &mut Findings::default()).unwrap();
        let members: Vec<u32> = scanned.groups[0].direct_mailboxes.iter().collect();
        assert_eq!(members, [1, 2]);
    }
}
