//! The effective access matrix: evaluation and the Parquet dataset.

pub mod access;
pub mod evaluate;
pub mod read;
pub mod write;

pub use evaluate::{evaluate, Grant, Matrix, VIA_ENTRA, VIA_RBAC};
pub use write::{write_dataset, DatasetSummary};
