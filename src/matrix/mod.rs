//! The effective access matrix: its cells, evaluation, and the Parquet dataset.

pub mod access;
pub mod cells;
pub mod evaluate;
mod pages;
pub mod read;
pub mod write;

pub use cells::{CellSet, Via};
pub use evaluate::{evaluate, evaluate_app, Grant, Matrix};
pub use read::{describe_app, is_dataset, read_dataset, AccessSet, AppKey, MailboxKey};
pub use write::{write_dataset, DatasetParts, DatasetSummary, Input};
