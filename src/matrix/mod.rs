//! The effective access matrix: its cells, evaluation, and the Parquet dataset.

pub mod access;
pub mod cells;
pub mod evaluate;
pub mod read;
pub mod write;

pub use cells::{CellSet, Via};
pub use evaluate::{evaluate, Grant, Matrix};
pub use write::{write_dataset, DatasetSummary};
