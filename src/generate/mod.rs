//! Synthetic tenant snapshots for demos, tests and benchmarks.
//!
//! Deterministic for a seed. Attribute values are skewed as in real tenants (a few
//! departments, countries and cost centres hold most mailboxes), groups nest up to
//! four levels, administrative units follow countries, and apps mix tenant-wide
//! Entra grants, AAP-restricted grants and RBAC assignments over scopes that test
//! many filter properties. Rows are streamed to disk, never held as a whole table.
//!
//! `tenant::Generator` writes the tables in order; `rng.rs` is the random
//! sequence, `words.rs` the vocabulary, `writer.rs` the CSV / Parquet writer.

mod rng;
mod tenant;
mod words;
mod writer;

use std::path::{Path, PathBuf};

pub use rng::Rng;

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
    /// How the tenant is shaped beyond its sizes.
    pub style: Style,
}

/// The shape of a generated tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Few columns, members named by GUID or DN, scopes of common shapes:
    /// the tenant exomatrix was first tuned on.
    #[default]
    Simple,
    /// Every shape of DESIGN §6: 40 mailbox columns written as Windows
    /// PowerShell 5.1 does (byte order mark, #TYPE line, CRLF, every field
    /// quoted), some columns nearly all blank and some nearly all distinct;
    /// members and scopes named by every identity form in mixed case; filters
    /// with wildcards anywhere over million-value columns, ordering comparisons
    /// on numbers, dates and text, multi-valued properties, -not chains and the
    /// same comparison in many scopes; role assignments in the shapes
    /// Get-ManagementRoleAssignment reports.
    Varied,
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
        style: Style::Simple,
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
        style: Style::Simple,
    };

    /// The large tenant with every shape of DESIGN §6.
    pub const VARIED: Profile = Profile {
        style: Style::Varied,
        ..Profile::LARGE
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

/// Writes a synthetic snapshot of `profile` into `dir` (created if missing).
pub fn generate(dir: &Path, profile: Profile, seed: u64, format: Format) -> Result<Generated> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut generator = tenant::Generator::new(dir.to_path_buf(), profile, seed, format);
    generator.run()?;
    Ok(Generated {
        dir: dir.to_path_buf(),
        rows: generator.rows,
    })
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
