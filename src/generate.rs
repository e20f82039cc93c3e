//! Synthetic tenant snapshots for demos, tests and benchmarks.
//!
//! Deterministic for a seed. Attribute values are skewed as in real tenants (a few
//! departments, countries and cost centres hold most mailboxes), groups nest up to
//! four levels, administrative units follow countries, and apps mix tenant-wide
//! Entra grants, AAP-restricted grants and RBAC assignments over scopes that test
//! many filter properties. Rows are streamed to disk, never held as a whole table.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use crate::error::{Error, Result};

/// The size of a generated tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub mailboxes: u32,
    pub apps: u32,
    pub groups: u32,
    pub admin_units: u32,
    pub scopes: u32,
    pub assignments: u32,
    pub policies: u32,
    pub entra_grants: u32,
    /// Entra grants of mailbox permissions to apps with no policy: each reaches
    /// every mailbox, so this sets most of the matrix's size (counted within
    /// `entra_grants`).
    pub tenant_wide: u32,
}

impl Profile {
    /// A tenant that generates and analyses in well under a second.
    pub const SMALL: Profile = Profile {
        mailboxes: 2_000,
        apps: 200,
        groups: 200,
        admin_units: 10,
        scopes: 60,
        assignments: 300,
        policies: 20,
        entra_grants: 600,
        tenant_wide: 2,
    };

    /// The DESIGN §6 tenant: the largest documented scale.
    pub const LARGE: Profile = Profile {
        mailboxes: 1_000_000,
        apps: 10_000,
        groups: 20_000,
        admin_units: 200,
        scopes: 2_000,
        assignments: 15_000,
        policies: 300,
        entra_grants: 30_000,
        tenant_wide: 60,
    };
}

/// Output format of the generated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dir: PathBuf,
    pub rows: Vec<(&'static str, u64)>,
}

/// SplitMix64: small, fast, and the same sequence on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// A Zipf-like index in `0..n`: index k has weight 1 / (k + 1).
    pub fn skewed(&mut self, n: usize) -> usize {
        // Inverse of the continuous approximation H(x) ≈ ln(x + 1).
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let k = ((n as f64 + 1.0).powf(u) - 1.0) as usize;
        k.min(n - 1)
    }

    /// A random-looking GUID that is unique for each `(tag, i)`.
    pub fn guid(&mut self, tag: u16, i: u64) -> String {
        let r = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (r >> 32) as u32,
            (r >> 16) as u16,
            r as u16 & 0x0fff,
            0x8000 | tag & 0x3fff,
            i
        )
    }
}

const ORG: &str = "OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=prod,DC=outlook,DC=com";

const DEPARTMENTS: [&str; 40] = [
    "Sales",
    "Engineering",
    "Operations",
    "Customer Support",
    "Finance",
    "Marketing",
    "Manufacturing",
    "Logistics",
    "Human Resources",
    "Legal",
    "Research",
    "IT",
    "Procurement",
    "Quality",
    "Facilities",
    "Security",
    "Product",
    "Design",
    "Data Science",
    "Treasury",
    "Audit",
    "Compliance",
    "Communications",
    "Executive Office",
    "Training",
    "Field Service",
    "Retail",
    "Partnerships",
    "Investor Relations",
    "Tax",
    "Payroll",
    "Strategy",
    "Risk",
    "Sustainability",
    "Public Affairs",
    "Warehouse",
    "Fleet",
    "Clinical",
    "Regulatory",
    "Innovation Lab",
];
const COUNTRIES: [(&str, &[&str]); 16] = [
    (
        "United States",
        &[
            "Seattle",
            "New York",
            "Austin",
            "Chicago",
            "Atlanta",
            "Denver",
            "Boston",
            "San Diego",
        ],
    ),
    ("Germany", &["Berlin", "Munich", "Hamburg", "Frankfurt"]),
    ("United Kingdom", &["London", "Manchester", "Edinburgh"]),
    ("India", &["Bengaluru", "Hyderabad", "Pune", "Chennai"]),
    ("Canada", &["Toronto", "Montreal", "Vancouver", "Calgary"]),
    ("France", &["Paris", "Lyon", "Toulouse"]),
    ("Japan", &["Tokyo", "Osaka"]),
    ("Brazil", &["Sao Paulo", "Rio de Janeiro"]),
    ("Netherlands", &["Amsterdam", "Rotterdam"]),
    ("Australia", &["Sydney", "Melbourne"]),
    ("Norway", &["Oslo", "Bergen"]),
    ("Spain", &["Madrid", "Barcelona"]),
    ("Poland", &["Warsaw", "Krakow"]),
    ("Mexico", &["Mexico City"]),
    ("Singapore", &["Singapore"]),
    ("South Africa", &["Johannesburg", "Cape Town"]),
];
const TITLES: [&str; 24] = [
    "Specialist",
    "Engineer",
    "Senior Engineer",
    "Analyst",
    "Manager",
    "Associate",
    "Consultant",
    "Technician",
    "Director",
    "Coordinator",
    "Administrator",
    "Representative",
    "Architect",
    "Team Lead",
    "Account Executive",
    "Scientist",
    "Designer",
    "Intern",
    "Vice President",
    "Officer",
    "Planner",
    "Buyer",
    "Agent",
    "Controller",
];
const COMPANIES: [&str; 5] = [
    "Contoso",
    "Contoso Manufacturing",
    "Fabrikam",
    "Northwind Traders",
    "Tailspin Toys",
];
const TAGS: [&str; 12] = [
    "vip",
    "pci",
    "gdpr",
    "hipaa",
    "emea",
    "apac",
    "amer",
    "remote",
    "contractor",
    "legal-hold",
    "pilot",
    "frontline",
];
const FIRST: [&str; 16] = [
    "Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena",
    "Mo", "Nia", "Omar", "Pia",
];
const LAST: [&str; 16] = [
    "Alvarez", "Brooks", "Cohen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lee", "Moreau", "Novak", "Okafor", "Patel",
];
const NON_MAILBOX_PERMISSIONS: [&str; 10] = [
    "User.Read.All",
    "Directory.Read.All",
    "Group.Read.All",
    "Sites.Read.All",
    "Files.Read.All",
    "AuditLog.Read.All",
    "Reports.Read.All",
    "Application.Read.All",
    "Device.Read.All",
    "Policy.Read.All",
];
const GRAPH_MAILBOX_PERMISSIONS: [&str; 12] = [
    "Mail.Read",
    "Mail.Send",
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Mail.ReadBasic",
    "Contacts.Read",
    "MailboxSettings.Read",
    "Mail.ReadWrite",
    "Calendars.ReadBasic.All",
    "Mail.ReadBasic.All",
    "Contacts.ReadWrite",
    "MailboxSettings.ReadWrite",
];
const ROLES: [&str; 12] = [
    "Application Mail.Read",
    "Application Calendars.Read",
    "Application Mail.Send",
    "Application Calendars.ReadWrite",
    "Application Contacts.Read",
    "Application MailboxSettings.Read",
    "Application Mail.ReadBasic",
    "Application Mail Full Access",
    "Application EWS.AccessAsApp",
    "Application MailboxFolder.Read",
    "Application SMTP.SendAsApp",
    "Application Exchange Full Access",
];

/// Streams rows of one table to CSV (PowerShell 7 style: every field quoted) or Parquet.
enum TableWriter {
    Csv(BufWriter<File>, PathBuf),
    Parquet {
        writer: Box<ArrowWriter<File>>,
        schema: Arc<Schema>,
        builders: Vec<StringBuilder>,
        path: PathBuf,
    },
}

const PARQUET_BATCH: usize = 65_536;

impl TableWriter {
    fn create(dir: &Path, table: &str, header: &[&str], format: Format) -> Result<TableWriter> {
        match format {
            Format::Csv => {
                let path = dir.join(format!("{table}.csv"));
                let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
                let mut w = TableWriter::Csv(BufWriter::with_capacity(1 << 20, file), path);
                w.row(header)?;
                Ok(w)
            }
            Format::Parquet => {
                let path = dir.join(format!("{table}.parquet"));
                let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
                let schema = Arc::new(Schema::new(
                    header
                        .iter()
                        .map(|h| Field::new(*h, DataType::Utf8, true))
                        .collect::<Vec<_>>(),
                ));
                let writer = ArrowWriter::try_new(file, schema.clone(), None)
                    .map_err(|e| Error::parquet(&path, e))?;
                Ok(TableWriter::Parquet {
                    writer: Box::new(writer),
                    schema,
                    builders: header.iter().map(|_| StringBuilder::new()).collect(),
                    path,
                })
            }
        }
    }

    fn row(&mut self, fields: &[&str]) -> Result<()> {
        match self {
            TableWriter::Csv(w, path) => {
                let mut write = || -> std::io::Result<()> {
                    for (i, f) in fields.iter().enumerate() {
                        if i > 0 {
                            w.write_all(b",")?;
                        }
                        w.write_all(b"\"")?;
                        if f.contains('"') {
                            w.write_all(f.replace('"', "\"\"").as_bytes())?;
                        } else {
                            w.write_all(f.as_bytes())?;
                        }
                        w.write_all(b"\"")?;
                    }
                    w.write_all(b"\n")
                };
                write().map_err(|e| Error::io(path.as_path(), e))
            }
            TableWriter::Parquet { builders, .. } => {
                for (b, f) in builders.iter_mut().zip(fields) {
                    if f.is_empty() {
                        b.append_null();
                    } else {
                        b.append_value(f);
                    }
                }
                if builders[0].len() >= PARQUET_BATCH {
                    self.flush()?;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        if let TableWriter::Parquet {
            writer,
            schema,
            builders,
            path,
        } = self
        {
            if builders[0].len() > 0 {
                let columns: Vec<ArrayRef> = builders
                    .iter_mut()
                    .map(|b| Arc::new(b.finish()) as ArrayRef)
                    .collect();
                let batch = RecordBatch::try_new(schema.clone(), columns)
                    .map_err(|e| Error::parquet(path, e))?;
                writer.write(&batch).map_err(|e| Error::parquet(path, e))?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush()?;
        match self {
            TableWriter::Csv(mut w, path) => w.flush().map_err(|e| Error::io(&path, e)),
            TableWriter::Parquet { writer, path, .. } => writer
                .close()
                .map(|_| ())
                .map_err(|e| Error::parquet(&path, e)),
        }
    }
}

/// Per-mailbox facts the later tables draw on.
struct People {
    ids: Vec<String>,
    country: Vec<u8>,
    department: Vec<u8>,
}

struct GroupInfo {
    dn: String,
    guid: String,
}

/// Writes a synthetic snapshot of `profile` into `dir` (created if missing).
pub fn generate(dir: &Path, profile: Profile, seed: u64, format: Format) -> Result<Generated> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut rng = Rng::new(seed);
    let mut rows = Vec::new();
    let people = write_mailboxes(dir, profile, &mut rng, format, &mut rows)?;
    let groups = write_groups(dir, profile, &people, &mut rng, format, &mut rows)?;
    let au_dns = write_admin_units(dir, profile, &people, &mut rng, format, &mut rows)?;
    write_apps(dir, profile, &groups, &au_dns, &mut rng, format, &mut rows)?;
    Ok(Generated {
        dir: dir.to_path_buf(),
        rows,
    })
}

fn write_mailboxes(
    dir: &Path,
    p: Profile,
    rng: &mut Rng,
    format: Format,
    rows: &mut Vec<(&'static str, u64)>,
) -> Result<People> {
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
    let mut w = TableWriter::create(dir, "mailboxes", &header, format)?;
    let n = p.mailboxes as usize;
    let mut people = People {
        ids: Vec::with_capacity(n),
        country: Vec::with_capacity(n),
        department: Vec::with_capacity(n),
    };
    for i in 0..n {
        let id = rng.guid(1, i as u64);
        let guid = rng.guid(2, i as u64);
        let alias = format!("u{i:07}");
        let smtp = format!("{alias}@contoso.com");
        let (first, last) = (FIRST[rng.below(16) as usize], LAST[rng.below(16) as usize]);
        let kind = match rng.below(100) {
            0..=89 => "UserMailbox",
            90..=95 => "SharedMailbox",
            96..=98 => "RoomMailbox",
            _ => "EquipmentMailbox",
        };
        let display = format!("{first} {last} {i}");
        let mut proxies = format!("SMTP:{smtp};smtp:{alias}@contoso.onmicrosoft.com");
        if rng.chance(0.2) {
            proxies.push_str(&format!(
                ";smtp:{}.{}{i}@contoso.com",
                first.to_lowercase(),
                last.to_lowercase()
            ));
        }
        let country = rng.skewed(COUNTRIES.len());
        let department = rng.skewed(DEPARTMENTS.len());
        let cities = COUNTRIES[country].1;
        let city = cities[rng.skewed(cities.len())];
        let office = format!("{city} {}", 1 + rng.below(4));
        let cost_centre = format!("CC{:05}", rng.skewed(2_000));
        let region = format!("R{:02}", country * 4 + rng.below(4) as usize);
        let ca3 = if rng.chance(0.1) {
            format!("P{:03}", rng.below(300))
        } else {
            String::new()
        };
        let mut tags = Vec::new();
        for _ in 0..rng.below(3) {
            tags.push(TAGS[rng.skewed(TAGS.len())]);
        }
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
            COMPANIES[rng.skewed(COMPANIES.len())],
            &office,
            city,
            COUNTRIES[country].0,
            TITLES[rng.skewed(TITLES.len())],
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
    rows.push(("mailboxes", n as u64));
    Ok(people)
}

/// Groups on four nesting levels: level 0 holds mailboxes only, each higher level
/// also holds a few groups of the level below.
fn write_groups(
    dir: &Path,
    p: Profile,
    people: &People,
    rng: &mut Rng,
    format: Format,
    rows: &mut Vec<(&'static str, u64)>,
) -> Result<Vec<GroupInfo>> {
    let mut gw = TableWriter::create(
        dir,
        "groups",
        &[
            "DistinguishedName",
            "ExternalDirectoryObjectId",
            "Guid",
            "PrimarySmtpAddress",
            "Name",
            "DisplayName",
            "RecipientTypeDetails",
        ],
        format,
    )?;
    let mut mw = TableWriter::create(dir, "group_members", &["Group", "Member"], format)?;
    let n = p.groups as usize;
    let mut groups = Vec::with_capacity(n);
    let mailboxes = p.mailboxes as u64;
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
        let id = rng.guid(3, i as u64);
        let guid = rng.guid(4, i as u64);
        let kind = if rng.chance(0.7) {
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
        let size = match rng.below(100) {
            0..=79 => 2 + rng.below(60),
            80..=98 => 60 + rng.below(300),
            _ => 1_000 + rng.below(4_000),
        }
        .min(mailboxes);
        let start = rng.below(mailboxes);
        let stride = 1 + rng.below(97);
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
            for _ in 0..1 + rng.below(4) {
                let child =
                    lower.start + rng.below((lower.end - lower.start).max(1) as u64) as usize;
                mw.row(&[&dn, &format!("CN=grp-{child:05},{ORG}")])?;
                member_rows += 1;
            }
        }
        groups.push(GroupInfo { dn, guid });
    }
    gw.finish()?;
    mw.finish()?;
    rows.push(("groups", n as u64));
    rows.push(("group_members", member_rows));
    Ok(groups)
}

/// Administrative units follow countries (and for big countries, departments).
fn write_admin_units(
    dir: &Path,
    p: Profile,
    people: &People,
    rng: &mut Rng,
    format: Format,
    rows: &mut Vec<(&'static str, u64)>,
) -> Result<Vec<String>> {
    let mut uw = TableWriter::create(
        dir,
        "administrative_units",
        &["Id", "DisplayName", "DistinguishedName"],
        format,
    )?;
    let mut mw = TableWriter::create(
        dir,
        "administrative_unit_members",
        &["AdministrativeUnit", "Member"],
        format,
    )?;
    let n = p.admin_units as usize;
    let mut dns = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let id = rng.guid(5, i as u64);
        let country = i % COUNTRIES.len();
        // Units beyond one per country narrow to one department of that country.
        let department = (i >= COUNTRIES.len()).then(|| rng.skewed(DEPARTMENTS.len()));
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
    for (m, id) in people.ids.iter().enumerate() {
        for (au, country, department) in &keys {
            // Country units hold a sample of the country, department units all of it.
            let hit = *country == people.country[m]
                && match department {
                    None => m % 10 == 0,
                    Some(d) => *d == people.department[m],
                };
            if hit {
                mw.row(&[au, id])?;
                member_rows += 1;
            }
        }
    }
    uw.finish()?;
    mw.finish()?;
    rows.push(("administrative_units", n as u64));
    rows.push(("administrative_unit_members", member_rows));
    Ok(dns)
}

/// A recipient filter drawn from the shapes real scopes use; most select a few
/// thousand mailboxes of a million.
fn scope_filter(rng: &mut Rng, groups: &[GroupInfo], au_dns: &[String]) -> String {
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

fn write_apps(
    dir: &Path,
    p: Profile,
    groups: &[GroupInfo],
    au_dns: &[String],
    rng: &mut Rng,
    format: Format,
    rows: &mut Vec<(&'static str, u64)>,
) -> Result<()> {
    let n = p.apps.max(1) as usize;
    let app_ids: Vec<String> = (0..n).map(|i| rng.guid(6, i as u64)).collect();
    let object_ids: Vec<String> = (0..n).map(|i| rng.guid(7, i as u64)).collect();
    let mut sw = TableWriter::create(
        dir,
        "service_principals",
        &["AppId", "ObjectId", "DisplayName"],
        format,
    )?;
    for i in 0..n {
        sw.row(&[&app_ids[i], &object_ids[i], &format!("App {i:05}")])?;
    }
    sw.finish()?;
    rows.push(("service_principals", n as u64));

    // App roles in the tenant: a few apps hold tenant-wide mailbox grants, a few
    // hundred are limited by application access policies, the rest use RBAC or
    // hold only directory permissions.
    let tenant_wide = (n / 200)
        .max(1)
        .max((p.tenant_wide as usize).div_ceil(GRAPH_MAILBOX_PERMISSIONS.len()))
        .min(n);
    let aap_apps = (p.policies as usize * 4 / 5).clamp(1, n);

    let mut ww = TableWriter::create(
        dir,
        "app_role_assignments",
        &[
            "AppId",
            "PrincipalId",
            "ResourceAppId",
            "ResourceDisplayName",
            "AppRoleId",
            "Permission",
        ],
        format,
    )?;
    let graph = crate::policy::permissions::GRAPH_APP_ID;
    let exchange = crate::policy::permissions::EXCHANGE_APP_ID;
    let total = p.entra_grants.max(p.tenant_wide) as usize;
    for g in 0..total {
        let (app, permission, resource) = match g % 100 {
            // The first grants are the tenant-wide ones: distinct (app, permission) pairs.
            _ if g < p.tenant_wide as usize => (
                g % tenant_wide,
                GRAPH_MAILBOX_PERMISSIONS[g / tenant_wide % GRAPH_MAILBOX_PERMISSIONS.len()],
                graph,
            ),
            1..=8 => (
                tenant_wide + rng.below(aap_apps as u64) as usize,
                GRAPH_MAILBOX_PERMISSIONS[rng.skewed(GRAPH_MAILBOX_PERMISSIONS.len())],
                graph,
            ),
            9 if g % 2000 == 9 => (g / 2000 % tenant_wide, "full_access_as_app", exchange),
            _ => (
                rng.below(n as u64) as usize,
                NON_MAILBOX_PERMISSIONS[rng.skewed(NON_MAILBOX_PERMISSIONS.len())],
                graph,
            ),
        };
        let app = app % n;
        let resource_name = if resource == graph {
            "Microsoft Graph"
        } else {
            "Office 365 Exchange Online"
        };
        // Half the rows name the client by AppId, half by service principal object id only.
        let (a, o) = if g % 2 == 0 {
            (app_ids[app].as_str(), object_ids[app].as_str())
        } else {
            ("", object_ids[app].as_str())
        };
        ww.row(&[a, o, resource, resource_name, "", permission])?;
    }
    ww.finish()?;
    rows.push(("app_role_assignments", total as u64));

    let mut pw = TableWriter::create(
        dir,
        "application_access_policies",
        &[
            "Identity",
            "AppId",
            "AccessRight",
            "ScopeIdentityRaw",
            "ScopeName",
            "IsValid",
        ],
        format,
    )?;
    for i in 0..p.policies as usize {
        let app = (tenant_wide + i % aap_apps) % n;
        let deny = i >= aap_apps; // every app gets a Restrict first, later ones add Denies
                                  // Restrict to a nested group (levels 1-3), deny a small level-0 group.
        let g = if groups.is_empty() {
            None
        } else if deny {
            Some(rng.below((groups.len() * 7 / 10).max(1) as u64) as usize)
        } else {
            Some(groups.len() * 7 / 10 + rng.below((groups.len() * 3 / 10).max(1) as u64) as usize)
        };
        let (raw, name) = match g {
            Some(g) => (
                format!(
                    "S-1-5-21-1004336348-1177238915-682003330-{};{}",
                    20_000 + g,
                    groups[g].guid
                ),
                format!("grp-{g:05}"),
            ),
            None => (String::new(), String::new()),
        };
        let right = if deny { "DenyAccess" } else { "RestrictAccess" };
        pw.row(&[
            &format!("{}:{i}", app_ids[app]),
            &app_ids[app],
            right,
            &raw,
            &name,
            "True",
        ])?;
    }
    pw.finish()?;
    rows.push(("application_access_policies", p.policies as u64));

    let mut cw = TableWriter::create(
        dir,
        "management_scopes",
        &["Name", "RecipientFilter", "Exclusive"],
        format,
    )?;
    for i in 0..p.scopes as usize {
        let filter = scope_filter(rng, groups, au_dns);
        cw.row(&[
            &format!("Scope {i:04}"),
            &filter,
            if i % 50 == 0 { "True" } else { "False" },
        ])?;
    }
    cw.finish()?;
    rows.push(("management_scopes", p.scopes as u64));

    let mut aw = TableWriter::create(
        dir,
        "management_role_assignments",
        &[
            "Name",
            "Role",
            "App",
            "RoleAssigneeType",
            "CustomResourceScope",
            "RecipientAdministrativeUnitScope",
            "RecipientGroupScope",
            "Enabled",
        ],
        format,
    )?;
    let au_ids: Vec<String> = au_dns.iter().map(|dn| dn[3..39].to_string()).collect();
    for i in 0..p.assignments as usize {
        // RBAC apps follow the AAP apps; a 10,000-app tenant has an assignment on nearly every app.
        let app = (tenant_wide + aap_apps + i) % n;
        let role = ROLES[rng.skewed(ROLES.len())];
        let (custom, au, group) = match rng.below(1000) {
            0..=749 if p.scopes > 0 => (
                format!("Scope {:04}", rng.below(p.scopes as u64)),
                String::new(),
                String::new(),
            ),
            750..=849 if !au_ids.is_empty() => (
                String::new(),
                au_ids[rng.below(au_ids.len() as u64) as usize].clone(),
                String::new(),
            ),
            850..=997 if !groups.is_empty() => (
                String::new(),
                String::new(),
                groups[rng.below(groups.len() as u64) as usize].dn.clone(),
            ),
            _ => (String::new(), String::new(), String::new()),
        };
        let enabled = if i % 97 == 0 { "False" } else { "True" };
        aw.row(&[
            &format!("{role}-{i:05}"),
            role,
            &object_ids[app],
            "ServicePrincipal",
            &custom,
            &au,
            &group,
            enabled,
        ])?;
    }
    aw.finish()?;
    rows.push(("management_role_assignments", p.assignments as u64));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_spread() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..100).map(|_| b.next_u64()).collect::<Vec<_>>());
        let mut r = Rng::new(1);
        let mut counts = [0u32; 10];
        for _ in 0..10_000 {
            counts[r.skewed(10)] += 1;
        }
        assert!(counts[0] > counts[9] * 3, "{counts:?}");
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    }

    #[test]
    fn guids_are_well_formed_and_unique_per_index() {
        let mut r = Rng::new(3);
        let a = r.guid(1, 5);
        assert!(crate::snapshot::parse_guid(&a).is_some(), "{a}");
        assert_ne!(r.guid(1, 6), a);
    }
}
