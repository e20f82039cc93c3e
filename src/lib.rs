//! exomatrix: which application can touch which Exchange Online mailbox, with
//! which permission, and why — computed offline for a whole tenant.
//!
//! The pipeline:
//! 1. [`snapshot`] loads the tenant export (PowerShell CSV or Parquet) into Arrow columns;
//! 2. [`directory`] numbers mailboxes `0..N` and turns groups and administrative units
//!    into roaring bitmaps, with an identity resolver;
//! 3. [`filter`] compiles OPATH recipient filters of management scopes into bitmaps;
//! 4. [`policy`] resolves Entra grants, Application Access Policies and RBAC assignments;
//! 5. [`matrix`] evaluates every app × permission in parallel and writes the Parquet dataset.

pub mod analysis;
pub mod cli;
pub mod diff;
pub mod directory;
pub mod error;
pub mod explain;
pub mod filter;
pub mod findings;
pub mod generate;
pub mod matrix;
pub mod output;
pub mod policy;
pub mod snapshot;
pub mod who_can;

pub use analysis::{Analysis, AnalysisOptions, Progress};
pub use error::{Error, Location, Result};
pub use findings::{Finding, Findings, Severity};
