//! The varied tenant (`Style::Varied`): the shapes DESIGN §6 says must cost no
//! more than the simple ones. Mailboxes have 40 columns, some nearly all blank,
//! some nearly all distinct; every membership, policy and assignment names its
//! objects by one of the accepted identity forms, in mixed case; scope filters
//! use wildcards at either end and in the middle over million-value columns,
//! ordering comparisons on numbers, dates and text, multi-valued properties,
//! `-not` chains, and the same comparisons across many scopes.
//!
//! Names are derived from a mailbox's index (`u0001234`, `ana.cohen.1234`, ...),
//! so later tables can name any mailbox in any form without storing it.

use super::super::words::*;
use super::{Generator, GroupInfo};
use crate::error::Result;
use crate::snapshot::tables::{
    ADMINISTRATIVE_UNITS, ADMINISTRATIVE_UNIT_MEMBERS, APPLICATION_ACCESS_POLICIES, GROUPS,
    GROUP_MEMBERS, MAILBOXES, MANAGEMENT_ROLE_ASSIGNMENTS,
};

/// The mailbox columns of the varied tenant, in file order (40).
const MAILBOX_HEADER: [&str; 40] = [
    "ExternalDirectoryObjectId",
    "PrimarySmtpAddress",
    "UserPrincipalName",
    "Alias",
    "Name",
    "DisplayName",
    "DistinguishedName",
    "Guid",
    "RecipientTypeDetails",
    "EmailAddresses",
    "Department",
    "Company",
    "Office",
    "City",
    "StateOrProvince",
    "CountryOrRegion",
    "Title",
    "PostalCode",
    "WhenCreated",
    "HiddenFromAddressListsEnabled",
    "CustomAttribute1",
    "CustomAttribute2",
    "CustomAttribute3",
    "CustomAttribute4",
    "CustomAttribute5",
    "CustomAttribute6",
    "CustomAttribute7",
    "CustomAttribute8",
    "CustomAttribute9",
    "CustomAttribute10",
    "CustomAttribute11",
    "CustomAttribute12",
    "CustomAttribute13",
    "CustomAttribute14",
    "CustomAttribute15",
    "ExtensionCustomAttribute1",
    "ExtensionCustomAttribute2",
    "ExtensionCustomAttribute3",
    "ExtensionCustomAttribute4",
    "ExtensionCustomAttribute5",
];

const LANGUAGES: [&str; 6] = ["en", "de", "fr", "es", "ja", "pt"];

/// A number that scrambles `i` (the same on every platform).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The first and last name of mailbox `m`.
fn person(m: usize) -> (&'static str, &'static str) {
    let h = mix(m as u64);
    (FIRST[(h % 16) as usize], LAST[(h >> 8) as usize % 16])
}

fn alias(m: usize) -> String {
    format!("u{m:07}")
}

/// The Name of mailbox `m`: unique, unlike its display name.
fn name(m: usize) -> String {
    let (first, last) = person(m);
    format!("{}.{}.{m}", first.to_lowercase(), last.to_lowercase())
}

fn upn(m: usize) -> String {
    let (first, last) = person(m);
    format!(
        "{}.{}{m}@contoso.onmicrosoft.com",
        first.to_lowercase(),
        last.to_lowercase()
    )
}

/// Mixed case, as people type identities: every other letter upper-cased.
fn mixed_case(text: &str) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

impl Generator {
    /// Mailbox `m` named in one of the forms Exchange accepts, chosen by `form`.
    fn mailbox_identity(&self, m: usize, form: u64) -> String {
        let id = &self.people.ids[m];
        match form % 8 {
            0 | 1 => id.clone(),
            2 => format!("{{{}}}", id.to_uppercase()),
            3 => format!("CN={},{}", alias(m).to_uppercase(), ORG),
            4 => format!("{}@contoso.com", alias(m)).to_uppercase(),
            5 => format!("{}@contoso.onmicrosoft.com", alias(m)),
            6 => mixed_case(&alias(m)),
            _ => name(m),
        }
    }

    /// Group `g` named in one of the forms Exchange accepts.
    fn group_identity(&self, g: usize, form: u64) -> String {
        let group = &self.groups[g];
        let name = format!("grp-{g:05}");
        match form % 6 {
            0 => group.id.clone(),
            1 => group.guid.to_uppercase(),
            2 => group.dn.to_lowercase(),
            3 => format!("{name}@contoso.com").to_uppercase(),
            4 => format!("{name}@contoso.onmicrosoft.com"),
            _ => mixed_case(&name),
        }
    }

    pub(super) fn varied_mailboxes(&mut self) -> Result<()> {
        let mut w = self.table(MAILBOXES, &MAILBOX_HEADER)?;
        let n = self.profile.mailboxes as usize;
        self.people.ids.reserve(n);
        for m in 0..n {
            let rng = &mut self.rng;
            let id = rng.guid(1, m as u64);
            let guid = rng.guid(2, m as u64);
            let alias = alias(m);
            let smtp = format!("{alias}@contoso.com");
            let (first, last) = person(m);
            let kind = match rng.below(1000) {
                0..=879 => "UserMailbox",
                880..=949 => "SharedMailbox",
                950..=979 => "RoomMailbox",
                980..=989 => "EquipmentMailbox",
                990..=994 => "LinkedRoomMailbox",
                995..=997 => "SchedulingMailbox",
                _ => "LinkedMailbox",
            };
            let mut proxies = format!(
                "SMTP:{smtp};smtp:{alias}@contoso.onmicrosoft.com;smtp:{}.{}{m}@fabrikam.com",
                first.to_lowercase(),
                last.to_lowercase()
            );
            if rng.chance(0.3) {
                proxies.push_str(&format!(
                    ";X500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={id}"
                ));
            }
            if rng.chance(0.1) {
                proxies.push_str(&format!(";SPO:SPO_{}@SPO_contoso", rng.guid(9, m as u64)));
            }
            let country = rng.skewed(COUNTRIES.len());
            let department = rng.skewed(DEPARTMENTS.len());
            let cities = COUNTRIES[country].1;
            let city = cities[rng.skewed(cities.len())];
            let office = format!("{city} {}", 1 + rng.below(4));
            // Display names repeat (many people share a name); Names do not.
            let display = if rng.chance(0.8) {
                format!("{first} {last}")
            } else {
                format!("{first} {last} ({})", DEPARTMENTS[department])
            };
            let state = if country == 0 {
                ["WA", "NY", "TX", "IL", "GA", "CO", "MA", "CA"]
                    [cities.iter().position(|c| *c == city).unwrap_or(0) % 8]
                    .to_string()
            } else {
                String::new()
            };
            let postal = format!("{:05}", rng.below(99_999));
            let created = format!(
                "{}/{}/{} {}:{:02}:{:02} {}",
                1 + rng.below(12),
                1 + rng.below(28),
                2010 + rng.below(17),
                1 + rng.below(12),
                rng.below(60),
                rng.below(60),
                if rng.chance(0.5) { "AM" } else { "PM" }
            );
            let hidden = if rng.chance(0.05) { "True" } else { "False" };
            let mut custom: [String; 15] = Default::default();
            custom[0] = format!("CC{:05}", rng.skewed(2_000));
            custom[1] = format!("R{:02}", country * 4 + rng.below(4) as usize);
            if rng.chance(0.1) {
                custom[2] = format!("P{:03}", rng.below(300));
            }
            // An employee number: nearly all distinct.
            custom[3] = format!("{}", 100_000 + (m as u64 * 7_919) % 900_000);
            // A hire date (ISO), a few thousand distinct.
            custom[4] = format!(
                "{}-{:02}-{:02}",
                2000 + rng.below(26),
                1 + rng.below(12),
                1 + rng.below(28)
            );
            // The rest: nearly all blank.
            for (k, slot) in custom.iter_mut().enumerate().skip(5) {
                if rng.chance(0.005) {
                    *slot = format!("{}-{}", TAGS[k % TAGS.len()], rng.below(20));
                }
            }
            let mut tags = Vec::new();
            for _ in 0..rng.below(3) {
                tags.push(TAGS[rng.skewed(TAGS.len())]);
            }
            let languages = if rng.chance(0.15) {
                let a = LANGUAGES[rng.skewed(LANGUAGES.len())];
                let b = LANGUAGES[rng.skewed(LANGUAGES.len())];
                format!("{a};{b}")
            } else {
                String::new()
            };
            let extension = [
                tags.join(";"),
                languages,
                if rng.chance(0.01) {
                    "badge-2026".to_string()
                } else {
                    String::new()
                },
                String::new(),
                String::new(),
            ];
            let dn = format!("CN={alias},{ORG}");
            let upn = upn(m);
            let name = name(m);
            let mut row: Vec<&str> = vec![
                &id,
                &smtp,
                &upn,
                &alias,
                &name,
                &display,
                &dn,
                &guid,
                kind,
                &proxies,
                DEPARTMENTS[department],
                COMPANIES[rng.skewed(COMPANIES.len())],
                &office,
                city,
                &state,
                COUNTRIES[country].0,
                TITLES[rng.skewed(TITLES.len())],
                &postal,
                &created,
                hidden,
            ];
            row.extend(custom.iter().map(String::as_str));
            row.extend(extension.iter().map(String::as_str));
            w.row(&row)?;
            self.people.ids.push(id);
            self.people.country.push(country as u8);
            self.people.department.push(department as u8);
        }
        w.finish()?;
        self.rows.push((MAILBOXES.name, n as u64));
        Ok(())
    }

    /// Groups on four nesting levels, as in the simple tenant, with members and
    /// containers named in every form.
    pub(super) fn varied_groups(&mut self) -> Result<()> {
        let mut gw = self.table(
            GROUPS,
            &[
                "DistinguishedName",
                "ExternalDirectoryObjectId",
                "Guid",
                "PrimarySmtpAddress",
                "EmailAddresses",
                "Alias",
                "Name",
                "DisplayName",
                "RecipientTypeDetails",
            ],
        )?;
        let n = self.profile.groups as usize;
        for g in 0..n {
            let name = format!("grp-{g:05}");
            let dn = format!("CN={name},{ORG}");
            let id = self.rng.guid(3, g as u64);
            let guid = self.rng.guid(4, g as u64);
            let kind = match self.rng.below(10) {
                0..=6 => "MailUniversalSecurityGroup",
                7 | 8 => "MailUniversalDistributionGroup",
                _ => "GroupMailbox",
            };
            gw.row(&[
                &dn,
                &id,
                &guid,
                &format!("{name}@contoso.com"),
                &format!("SMTP:{name}@contoso.com;smtp:{name}@contoso.onmicrosoft.com"),
                &name,
                &name,
                &format!("Group {g}"),
                kind,
            ])?;
            self.groups.push(GroupInfo { dn, guid, id });
        }
        gw.finish()?;
        self.rows.push((GROUPS.name, n as u64));

        let mut mw = self.table(GROUP_MEMBERS, &["Group", "Member"])?;
        let mailboxes = self.profile.mailboxes as u64;
        let level_of = |i: usize| match i * 100 / n.max(1) {
            0..=69 => 0,
            70..=89 => 1,
            90..=96 => 2,
            _ => 3,
        };
        let first_of_level = [0, n * 70 / 100, n * 90 / 100, n * 97 / 100];
        let mut member_rows = 0u64;
        for g in 0..n {
            // An export names a group the same way on all its rows.
            let container_form = self.rng.below(6);
            let container = self.group_identity(g, container_form);
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
                let member = self.mailbox_identity(m, k + g as u64);
                mw.row(&[&container, &member])?;
                member_rows += 1;
            }
            let level = level_of(g);
            if level > 0 {
                let lower = first_of_level[level - 1]..first_of_level[level];
                for k in 0..1 + self.rng.below(4) {
                    let child = lower.start
                        + self.rng.below((lower.end - lower.start).max(1) as u64) as usize;
                    let member = self.group_identity(child, k + g as u64);
                    mw.row(&[&container, &member])?;
                    member_rows += 1;
                }
            }
        }
        mw.finish()?;
        self.rows.push((GROUP_MEMBERS.name, member_rows));
        Ok(())
    }

    /// Units by country (and department), members mostly by id as Graph lists
    /// them, some by address; units named by Id, distinguished name or name.
    pub(super) fn varied_admin_units(&mut self) -> Result<()> {
        let mut uw = self.table(
            ADMINISTRATIVE_UNITS,
            &["Id", "DisplayName", "DistinguishedName"],
        )?;
        let mut mw = self.table(
            ADMINISTRATIVE_UNIT_MEMBERS,
            &["AdministrativeUnit", "Member"],
        )?;
        let n = self.profile.admin_units as usize;
        let mut units = Vec::with_capacity(n);
        for i in 0..n {
            let id = self.rng.guid(5, i as u64);
            let country = i % COUNTRIES.len();
            let department = (i >= COUNTRIES.len()).then(|| self.rng.skewed(DEPARTMENTS.len()));
            let name = match department {
                None => format!("AU {}", COUNTRIES[country].0),
                Some(d) => format!("AU {} {} {i}", COUNTRIES[country].0, DEPARTMENTS[d]),
            };
            let dn = format!("CN={id},CN=AdministrativeUnits,{ORG}");
            uw.row(&[&id, &name, &dn])?;
            let container = match i % 4 {
                0 | 1 => id.clone(),
                2 => dn.to_uppercase(),
                _ => name.to_lowercase(),
            };
            self.au_dns.push(dn);
            units.push((container, country as u8, department.map(|d| d as u8)));
        }
        let mut member_rows = 0u64;
        for m in 0..self.people.ids.len() {
            for (container, country, department) in &units {
                let hit = *country == self.people.country[m]
                    && match department {
                        None => m % 10 == 0,
                        Some(d) => *d == self.people.department[m],
                    };
                if hit {
                    let member = match m % 10 {
                        0..=7 => self.people.ids[m].clone(),
                        8 => upn(m),
                        _ => format!("{}@contoso.com", alias(m)),
                    };
                    mw.row(&[container, &member])?;
                    member_rows += 1;
                }
            }
        }
        uw.finish()?;
        mw.finish()?;
        self.rows.push((ADMINISTRATIVE_UNITS.name, n as u64));
        self.rows
            .push((ADMINISTRATIVE_UNIT_MEMBERS.name, member_rows));
        Ok(())
    }

    /// A recipient filter of one of the shapes of DESIGN §6.
    pub(super) fn varied_filter(&mut self) -> String {
        let rng = &mut self.rng;
        let dept = DEPARTMENTS[rng.below(DEPARTMENTS.len() as u64) as usize];
        let dept2 = DEPARTMENTS[rng.below(DEPARTMENTS.len() as u64) as usize];
        let (country, cities) = COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize];
        let city = cities[rng.below(cities.len() as u64) as usize];
        let m = rng.below(u64::from(self.profile.mailboxes)) as usize;
        let (first, last) = person(m);
        let (first, last) = (first.to_lowercase(), last.to_lowercase());
        let digits = format!("{:04}", rng.below(10_000));
        match rng.below(24) {
            // Wildcards over columns of a million distinct values: end, start,
            // middle, both ends.
            0 => format!("UserPrincipalName -like '{first}.{}*'", &last[..2]),
            1 => format!("Alias -like '*{digits}'"),
            2 => format!(
                "DisplayName -like '{}*{}' -and Department -eq '{dept}'",
                person(m).0,
                person(m).1
            ),
            3 => format!("Name -like '*.{last}.{}*'", &digits[..3]),
            4 => format!("EmailAddresses -like '*{}@fabrikam.com'", &digits[..3]),
            5 => format!("PrimarySmtpAddress -like 'u00{}*@contoso.com'", &digits[..2]),
            6 => format!("UserPrincipalName -like '*{last}{}*'", &digits[..2]),
            7 => format!("Name -like '{first}.*.{}*' -and CountryOrRegion -eq '{country}'", &digits[..1]),
            // Ordering over numbers, dates and text.
            8 => {
                let low = 100_000 + rng.below(890_000);
                format!("CustomAttribute4 -ge {low} -and CustomAttribute4 -lt {}", low + 5_000)
            }
            9 => format!(
                "WhenCreated -gt '{}/1/{}' -and Department -eq '{dept}'",
                1 + rng.below(12),
                2011 + rng.below(15)
            ),
            10 => format!(
                "CustomAttribute5 -le '{}-{:02}-01' -and CountryOrRegion -eq '{country}'",
                2000 + rng.below(26),
                1 + rng.below(12)
            ),
            11 => {
                let p = rng.below(99);
                format!("Alias -ge 'u00{p:02}' -and Alias -lt 'u00{:02}'", p + 1)
            }
            12 => format!("PostalCode -gt '{}' -and City -eq '{city}'", 10_000 + rng.below(80_000)),
            // Multi-valued properties.
            13 => format!(
                "ExtensionCustomAttribute1 -eq '{}' -and -not (Department -eq '{dept}')",
                TAGS[rng.below(TAGS.len() as u64) as usize]
            ),
            14 => format!(
                "ExtensionCustomAttribute2 -like '{}*' -and CountryOrRegion -eq '{country}'",
                LANGUAGES[rng.below(LANGUAGES.len() as u64) as usize]
            ),
            15 => format!("EmailAddresses -like 'X500:*' -and Department -eq '{dept}' -and City -eq '{city}'"),
            // -not chains.
            16 => format!(
                "-not (Department -eq '{dept}') -and -not (Department -eq '{dept2}') -and -not (CountryOrRegion -eq '{country}') -and Title -like 'Sen*' -and City -eq '{city}'"
            ),
            // The same comparisons in many scopes.
            17 | 18 => format!(
                "CountryOrRegion -eq '{country}' -and RecipientTypeDetails -eq 'UserMailbox' -and Department -eq '{dept}'"
            ),
            // Nearly blank columns.
            19 => format!(
                "CustomAttribute9 -ne $null -or (CustomAttribute12 -like 'pilot*' -and Department -eq '{dept}')"
            ),
            // Membership, by distinguished name in mixed case.
            20 if !self.groups.is_empty() => format!(
                "MemberOfGroup -eq '{}'",
                self.groups[rng.below(self.groups.len() as u64) as usize]
                    .dn
                    .to_uppercase()
            ),
            21 if !self.au_dns.is_empty() => format!(
                "AdministrativeUnits -eq '{}'",
                self.au_dns[rng.below(self.au_dns.len() as u64) as usize].to_lowercase()
            ),
            22 => format!(
                "HiddenFromAddressListsEnabled -eq $true -and CountryOrRegion -eq '{country}'"
            ),
            _ => format!("StateOrProvince -eq 'WA' -and Office -like '* 1' -and Department -eq '{dept}'"),
        }
    }

    /// Policies naming their scope by the GUID half of ScopeIdentityRaw, or by
    /// ScopeIdentity alone in another form; some scope a single mailbox.
    pub(super) fn varied_policies(&mut self) -> Result<()> {
        let mut pw = self.table(
            APPLICATION_ACCESS_POLICIES,
            &[
                "Identity",
                "AppId",
                "AccessRight",
                "ScopeIdentityRaw",
                "ScopeIdentity",
                "ScopeName",
                "Description",
                "IsValid",
            ],
        )?;
        let n = self.apps.app_ids.len();
        let groups = self.groups.len();
        for i in 0..self.profile.policies as usize {
            let app = (self.apps.tenant_wide + i % self.apps.aap_apps) % n;
            let deny = i >= self.apps.aap_apps;
            let form = self.rng.below(10);
            let (raw, identity, name) = if form == 9 || groups == 0 {
                // A single mailbox.
                let m = self.rng.below(u64::from(self.profile.mailboxes)) as usize;
                (
                    format!(
                        "S-1-5-21-1004336348-1177238915-682003330-{};{}",
                        900_000 + m,
                        self.people.ids[m]
                    ),
                    alias(m),
                    alias(m),
                )
            } else {
                let g = if deny {
                    self.rng.below((groups * 7 / 10).max(1) as u64) as usize
                } else {
                    groups * 7 / 10 + self.rng.below((groups * 3 / 10).max(1) as u64) as usize
                };
                let name = format!("grp-{g:05}");
                match form {
                    0..=5 => (
                        format!(
                            "S-1-5-21-1004336348-1177238915-682003330-{};{}",
                            20_000 + g,
                            self.groups[g].id
                        ),
                        name.clone(),
                        format!("Group {g}"),
                    ),
                    6 | 7 => (
                        String::new(),
                        self.group_identity(g, form),
                        format!("Group {g}"),
                    ),
                    _ => (String::new(), String::new(), mixed_case(&name)),
                }
            };
            let right = if deny { "DenyAccess" } else { "RestrictAccess" };
            let app_id = &self.apps.app_ids[app];
            pw.row(&[
                &format!("contoso.onmicrosoft.com\\{app_id}:{i}"),
                app_id,
                right,
                &raw,
                &identity,
                &name,
                &format!("Policy {i}"),
                "True",
            ])?;
        }
        pw.finish()?;
        self.rows.push((
            APPLICATION_ACCESS_POLICIES.name,
            u64::from(self.profile.policies),
        ));
        Ok(())
    }

    /// Role assignments as Get-ManagementRoleAssignment reports them: the kind in
    /// RecipientWriteScope, the object in CustomResourceScope or
    /// CustomRecipientWriteScope; the app by ObjectId, AppId or display name.
    pub(super) fn varied_assignments(&mut self) -> Result<()> {
        let mut aw = self.table(
            MANAGEMENT_ROLE_ASSIGNMENTS,
            &[
                "Name",
                "Role",
                "App",
                "RoleAssignee",
                "RoleAssigneeName",
                "RoleAssigneeType",
                "RecipientWriteScope",
                "CustomResourceScope",
                "CustomRecipientWriteScope",
                "Enabled",
            ],
        )?;
        let n = self.apps.app_ids.len();
        let scopes = u64::from(self.profile.scopes);
        for i in 0..self.profile.assignments as usize {
            let app = (self.apps.tenant_wide + self.apps.aap_apps + i) % n;
            let role = ROLES[self.rng.skewed(ROLES.len())];
            let (kind, custom, write) = match self.rng.below(1000) {
                0..=749 if scopes > 0 => (
                    "CustomRecipientScope",
                    format!("Scope {:04}", self.rng.below(scopes)),
                    String::new(),
                ),
                750..=849 if !self.au_dns.is_empty() => {
                    let dn = &self.au_dns[self.rng.below(self.au_dns.len() as u64) as usize];
                    let id = dn[3..39].to_string();
                    (
                        "AdministrativeUnit",
                        String::new(),
                        if i % 2 == 0 { id.to_uppercase() } else { id },
                    )
                }
                850..=997 if !self.groups.is_empty() => {
                    let g = self.rng.below(self.groups.len() as u64) as usize;
                    (
                        "Group",
                        format!("grp-{g:05}_{}", self.groups[g].id),
                        String::new(),
                    )
                }
                _ => ("Organization", String::new(), String::new()),
            };
            let object_id = self.apps.object_ids[app].clone();
            let who = match i % 3 {
                0 => object_id.clone(),
                1 => self.apps.app_ids[app].to_uppercase(),
                _ => format!("App {app:05}"),
            };
            let enabled = if i % 97 == 0 { "False" } else { "True" };
            aw.row(&[
                &format!("{role}-{i:05}"),
                role,
                &who,
                &object_id,
                &object_id,
                "ServicePrincipal",
                kind,
                &custom,
                &write,
                enabled,
            ])?;
        }
        aw.finish()?;
        self.rows.push((
            MANAGEMENT_ROLE_ASSIGNMENTS.name,
            u64::from(self.profile.assignments),
        ));
        Ok(())
    }
}
