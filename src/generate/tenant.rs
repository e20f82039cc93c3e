//! The generator: one struct that writes a tenant table by table, each step
//! drawing on what the earlier ones made (mailboxes, groups, units, apps). The
//! random sequence is one stream in a fixed order, so a seed always gives the
//! same tenant.

mod apps;
mod varied;

use std::path::PathBuf;

use super::rng::Rng;
use super::words::*;
use super::writer::{CsvDialect, TableWriter};
use super::{Format, Profile, Style};
use crate::error::Result;
use crate::snapshot::tables::{
    ADMINISTRATIVE_UNITS, ADMINISTRATIVE_UNIT_MEMBERS, GROUPS, GROUP_MEMBERS, MAILBOXES,
};
use crate::snapshot::TableSpec;

/// Per-mailbox facts the later tables draw on.
#[derive(Default)]
struct People {
    ids: Vec<String>,
    country: Vec<u8>,
    department: Vec<u8>,
}

struct GroupInfo {
    dn: String,
    guid: String,
    /// ExternalDirectoryObjectId.
    id: String,
}

/// The apps and how they are split: the first hold tenant-wide grants, the next
/// are limited by application access policies, the rest use RBAC.
#[derive(Default)]
struct Apps {
    app_ids: Vec<String>,
    object_ids: Vec<String>,
    tenant_wide: usize,
    aap_apps: usize,
}

/// Writes one synthetic tenant into a directory.
pub(super) struct Generator {
    dir: PathBuf,
    profile: Profile,
    format: Format,
    rng: Rng,
    /// Rows written per table, in order.
    pub rows: Vec<(&'static str, u64)>,
    people: People,
    groups: Vec<GroupInfo>,
    au_dns: Vec<String>,
    apps: Apps,
}

impl Generator {
    pub fn new(dir: PathBuf, profile: Profile, seed: u64, format: Format) -> Generator {
        Generator {
            dir,
            profile,
            format,
            rng: Rng::new(seed),
            rows: Vec::new(),
            people: People::default(),
            groups: Vec::new(),
            au_dns: Vec::new(),
            apps: Apps::default(),
        }
    }

    fn varied(&self) -> bool {
        self.profile.style == Style::Varied
    }

    /// A writer for one table, in this tenant's format and CSV dialect.
    fn table(&self, spec: TableSpec, header: &[&str]) -> Result<TableWriter> {
        let dialect = CsvDialect {
            windows: self.varied(),
        };
        TableWriter::create(&self.dir, spec, header, self.format, dialect)
    }

    /// Every table, in the order the random sequence runs through them.
    pub fn run(&mut self) -> Result<()> {
        self.mailboxes()?;
        self.groups()?;
        self.admin_units()?;
        self.service_principals()?;
        self.entra_grants()?;
        self.policies()?;
        self.scopes()?;
        self.assignments()
    }

    fn mailboxes(&mut self) -> Result<()> {
        if self.varied() {
            return self.varied_mailboxes();
        }
        let header = [
            "ExternalDirectoryObjectId",
            "PrimarySmtpAddress",
            "DistinguishedName",
            "Guid",
            "Alias",
            "Name",
            "DisplayName",
            "UserPrincipalName",
            "RecipientTypeDetails",
            "EmailAddresses",
            "Department",
            "Company",
            "Office",
            "City",
            "CountryOrRegion",
            "Title",
            "CustomAttribute1",
            "CustomAttribute2",
            "CustomAttribute3",
            "ExtensionCustomAttribute1",
            "WhenCreated",
        ];
        let mut w = self.table(MAILBOXES, &header)?;
        let n = self.profile.mailboxes as usize;
        let mut people = People {
            ids: Vec::with_capacity(n),
            country: Vec::with_capacity(n),
            department: Vec::with_capacity(n),
        };
        for i in 0..n {
            let id = self.rng.guid(1, i as u64);
            let guid = self.rng.guid(2, i as u64);
            let alias = format!("u{i:07}");
            let smtp = format!("{alias}@contoso.com");
            let (first, last) = (
                FIRST[self.rng.below(16) as usize],
                LAST[self.rng.below(16) as usize],
            );
            let kind = match self.rng.below(100) {
                0..=89 => "UserMailbox",
                90..=95 => "SharedMailbox",
                96..=98 => "RoomMailbox",
                _ => "EquipmentMailbox",
            };
            let display = format!("{first} {last} {i}");
            let mut proxies = format!("SMTP:{smtp};smtp:{alias}@contoso.onmicrosoft.com");
            if self.rng.chance(0.2) {
                proxies.push_str(&format!(
                    ";smtp:{}.{}{i}@contoso.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                ));
            }
            let country = self.rng.skewed(COUNTRIES.len());
            let department = self.rng.skewed(DEPARTMENTS.len());
            let cities = COUNTRIES[country].1;
            let city = cities[self.rng.skewed(cities.len())];
            let office = format!("{city} {}", 1 + self.rng.below(4));
            let cost_centre = format!("CC{:05}", self.rng.skewed(2_000));
            let region = format!("R{:02}", country * 4 + self.rng.below(4) as usize);
            let ca3 = if self.rng.chance(0.1) {
                format!("P{:03}", self.rng.below(300))
            } else {
                String::new()
            };
            let mut tags = Vec::new();
            for _ in 0..self.rng.below(3) {
                tags.push(TAGS[self.rng.skewed(TAGS.len())]);
            }
            let created = format!(
                "{}/{}/{} {}:{:02}:{:02} {}",
                1 + self.rng.below(12),
                1 + self.rng.below(28),
                2010 + self.rng.below(17),
                1 + self.rng.below(12),
                self.rng.below(60),
                self.rng.below(60),
                if self.rng.chance(0.5) { "AM" } else { "PM" }
            );
            let dn = format!("CN={alias},{ORG}");
            let upn = if kind == "UserMailbox" {
                smtp.as_str()
            } else {
                ""
            };
            w.row(&[
                &id,
                &smtp,
                &dn,
                &guid,
                &alias,
                &alias,
                &display,
                upn,
                kind,
                &proxies,
                DEPARTMENTS[department],
                COMPANIES[self.rng.skewed(COMPANIES.len())],
                &office,
                city,
                COUNTRIES[country].0,
                TITLES[self.rng.skewed(TITLES.len())],
                &cost_centre,
                &region,
                &ca3,
                &tags.join(";"),
                &created,
            ])?;
            people.ids.push(id);
            people.country.push(country as u8);
            people.department.push(department as u8);
        }
        w.finish()?;
        self.rows.push((MAILBOXES.name, n as u64));
        self.people = people;
        Ok(())
    }

    /// Groups on four nesting levels: level 0 holds mailboxes only, each higher level
    /// also holds a few groups of the level below.
    fn groups(&mut self) -> Result<()> {
        if self.varied() {
            return self.varied_groups();
        }
        let people = &self.people;
        let mut gw = self.table(
            GROUPS,
            &[
                "DistinguishedName",
                "ExternalDirectoryObjectId",
                "Guid",
                "PrimarySmtpAddress",
                "Name",
                "DisplayName",
                "RecipientTypeDetails",
            ],
        )?;
        let mut mw = self.table(GROUP_MEMBERS, &["Group", "Member"])?;
        let n = self.profile.groups as usize;
        let mut groups = Vec::with_capacity(n);
        let mailboxes = self.profile.mailboxes as u64;
        let mut member_rows = 0u64;
        // Level of group i: the first 70% are level 0, then 20%, 7%, 3%.
        let level_of = |i: usize| match i * 100 / n.max(1) {
            0..=69 => 0,
            70..=89 => 1,
            90..=96 => 2,
            _ => 3,
        };
        let first_of_level = [0, n * 70 / 100, n * 90 / 100, n * 97 / 100];
        for i in 0..n {
            let name = format!("grp-{i:05}");
            let dn = format!("CN={name},{ORG}");
            let id = self.rng.guid(3, i as u64);
            let guid = self.rng.guid(4, i as u64);
            let kind = if self.rng.chance(0.7) {
                "MailUniversalSecurityGroup"
            } else {
                "MailUniversalDistributionGroup"
            };
            gw.row(&[
                &dn,
                &id,
                &guid,
                &format!("{name}@contoso.com"),
                &name,
                &format!("Group {i}"),
                kind,
            ])?;
            let level = level_of(i);
            // Mostly small groups, a few large ones.
            let size = match self.rng.below(100) {
                0..=79 => 2 + self.rng.below(60),
                80..=98 => 60 + self.rng.below(300),
                _ => 1_000 + self.rng.below(4_000),
            }
            .min(mailboxes);
            let start = self.rng.below(mailboxes);
            let stride = 1 + self.rng.below(97);
            for k in 0..size {
                let m = ((start + k * stride) % mailboxes) as usize;
                // Members are named the way exports name them: mostly GUIDs, some DNs.
                let member = if k % 5 == 4 {
                    format!("CN=u{m:07},{ORG}")
                } else {
                    people.ids[m].clone()
                };
                mw.row(&[&dn, &member])?;
                member_rows += 1;
            }
            if level > 0 {
                let lower = first_of_level[level - 1]..first_of_level[level];
                for _ in 0..1 + self.rng.below(4) {
                    let child = lower.start
                        + self.rng.below((lower.end - lower.start).max(1) as u64) as usize;
                    mw.row(&[&dn, &format!("CN=grp-{child:05},{ORG}")])?;
                    member_rows += 1;
                }
            }
            groups.push(GroupInfo { dn, guid, id });
        }
        gw.finish()?;
        mw.finish()?;
        self.rows.push((GROUPS.name, n as u64));
        self.rows.push((GROUP_MEMBERS.name, member_rows));
        self.groups = groups;
        Ok(())
    }

    /// Administrative units follow countries (and for big countries, departments).
    fn admin_units(&mut self) -> Result<()> {
        if self.varied() {
            return self.varied_admin_units();
        }
        let mut uw = self.table(
            ADMINISTRATIVE_UNITS,
            &["Id", "DisplayName", "DistinguishedName"],
        )?;
        let mut mw = self.table(
            ADMINISTRATIVE_UNIT_MEMBERS,
            &["AdministrativeUnit", "Member"],
        )?;
        let n = self.profile.admin_units as usize;
        let mut dns = Vec::with_capacity(n);
        let mut keys = Vec::with_capacity(n);
        for i in 0..n {
            let id = self.rng.guid(5, i as u64);
            let country = i % COUNTRIES.len();
            // Units beyond one per country narrow to one department of that country.
            let department = (i >= COUNTRIES.len()).then(|| self.rng.skewed(DEPARTMENTS.len()));
            let name = match department {
                None => format!("AU {}", COUNTRIES[country].0),
                Some(d) => format!("AU {} {} {i}", COUNTRIES[country].0, DEPARTMENTS[d]),
            };
            let dn = format!("CN={id},CN=AdministrativeUnits,{ORG}");
            uw.row(&[&id, &name, &dn])?;
            dns.push(dn);
            keys.push((id, country as u8, department.map(|d| d as u8)));
        }
        let mut member_rows = 0u64;
        for (m, id) in self.people.ids.iter().enumerate() {
            for (au, country, department) in &keys {
                // Country units hold a sample of the country, department units all of it.
                let hit = *country == self.people.country[m]
                    && match department {
                        None => m % 10 == 0,
                        Some(d) => *d == self.people.department[m],
                    };
                if hit {
                    mw.row(&[au, id])?;
                    member_rows += 1;
                }
            }
        }
        uw.finish()?;
        mw.finish()?;
        self.rows.push((ADMINISTRATIVE_UNITS.name, n as u64));
        self.rows
            .push((ADMINISTRATIVE_UNIT_MEMBERS.name, member_rows));
        self.au_dns = dns;
        Ok(())
    }

    /// A recipient filter drawn from the shapes real scopes use; most select a few
    /// thousand mailboxes of a million.
    fn scope_filter(&mut self) -> String {
        // The varied tenant keeps a third of its scopes in the simple shapes.
        if self.varied() && self.rng.below(3) > 0 {
            return self.varied_filter();
        }
        let (rng, groups, au_dns) = (&mut self.rng, &self.groups, &self.au_dns);
        // Departments and countries are picked uniformly here, so scopes range from
        // large (a big department in a big country) to empty.
        let dept = |rng: &mut Rng| DEPARTMENTS[rng.below(DEPARTMENTS.len() as u64) as usize];
        let country = |rng: &mut Rng| COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize];
        match rng.below(14) {
            0 | 1 => format!(
                "Department -eq '{}' -and CountryOrRegion -eq '{}'",
                dept(rng),
                country(rng).0
            ),
            2 => format!("CustomAttribute1 -eq 'CC{:05}'", rng.below(2_000)),
            3 => format!("CustomAttribute1 -like 'CC01{:01}*'", rng.below(10)),
            4 => {
                let c = country(rng);
                let a = c.1[rng.below(c.1.len() as u64) as usize];
                let b = c.1[rng.below(c.1.len() as u64) as usize];
                format!("(City -eq '{a}' -or City -eq '{b}') -and RecipientTypeDetails -eq 'UserMailbox' -and Department -eq '{}'", dept(rng))
            }
            5 if !groups.is_empty() => format!(
                "MemberOfGroup -eq '{}'",
                groups[rng.below(groups.len() as u64) as usize].dn
            ),
            6 if !au_dns.is_empty() => format!(
                "AdministrativeUnits -eq '{}'",
                au_dns[rng.below(au_dns.len() as u64) as usize]
            ),
            7 => format!(
                "Title -like '{}*' -and -not (Department -eq '{}') -and CountryOrRegion -eq '{}'",
                &TITLES[rng.below(TITLES.len() as u64) as usize][..3],
                dept(rng),
                country(rng).0
            ),
            8 => format!(
                "WhenCreated -lt '{}/1/{}' -and CountryOrRegion -eq '{}' -and Department -eq '{}'",
                1 + rng.below(12),
                2011 + rng.below(15),
                country(rng).0,
                dept(rng)
            ),
            9 => format!(
                "ExtensionCustomAttribute1 -eq '{}' -and CountryOrRegion -eq '{}'",
                TAGS[rng.below(TAGS.len() as u64) as usize],
                country(rng).0
            ),
            10 => format!(
                "Company -eq '{}' -and Office -ne $null -and Department -eq '{}'",
                COMPANIES[rng.below(COMPANIES.len() as u64) as usize],
                dept(rng)
            ),
            11 => format!("PrimarySmtpAddress -like 'u00{:02}*'", rng.below(100)),
            12 => format!(
                "CustomAttribute2 -eq 'R{:02}' -and CustomAttribute3 -ne $null",
                rng.below(64)
            ),
            _ => format!(
                "Office -eq '{} 1' -and (Department -eq '{}' -or Department -eq '{}')",
                country(rng).1[0],
                dept(rng),
                dept(rng)
            ),
        }
    }
}
