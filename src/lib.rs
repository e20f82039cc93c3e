//! exomatrix: which application can touch which Exchange Online mailbox, with
//! which permission, and why — computed offline for a whole tenant.
//!
//! The pipeline, one module per stage:
//! 1. [`snapshot`] loads the tenant export (PowerShell CSV or Parquet) into Arrow columns;
//! 2. [`directory`] numbers mailboxes `0..N` and turns groups and administrative units
//!    into roaring bitmaps, with an identity resolver;
//! 3. [`filter`] compiles OPATH recipient filters of management scopes into bitmaps;
//! 4. [`policy`] resolves Entra grants, Application Access Policies and RBAC assignments;
//! 5. [`matrix`] evaluates every app × permission in parallel and writes, or reads back,
//!    the Parquet dataset; [`output`] makes the write atomic and owner-only.
//!
//! On top: [`analysis`] runs the stages, [`mod@diff`], [`explain`] and [`mod@who_can`] answer
//! questions about a matrix, [`mod@generate`] writes synthetic tenants, [`cli`] is the
//! command line. The names below are the library's entry points; the modules stay
//! public for the tests, benchmarks and fuzz targets that drive single stages.

pub mod analysis;
pub mod cli;
pub mod diff;
pub mod digest;
pub mod directory;
pub mod error;
pub mod explain;
pub mod filter;
pub mod findings;
pub mod generate;
pub mod matrix;
pub mod output;
pub mod plan;
pub mod policy;
pub mod report;
pub mod snapshot;
pub mod who_can;

pub use analysis::{access_set, Analysis, AnalysisOptions, Progress};
pub use diff::{diff, write_changes, Diff};
pub use error::{Error, Location, Result};
pub use explain::Explainer;
pub use findings::{Finding, Findings, Severity};
pub use generate::{generate, Format, Profile};
pub use matrix::{
    read_dataset, write_dataset, AccessSet, CellSet, DatasetParts, Grant, Matrix, Via,
};
pub use policy::{Nesting, PolicyOptions};
pub use snapshot::Snapshot;
pub use who_can::{who_can, WhoCan};
