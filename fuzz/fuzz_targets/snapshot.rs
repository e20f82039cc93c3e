//! The whole CSV snapshot path on arbitrary bytes: the input is split at NUL
//! bytes into the tables in snapshot order (mailboxes, groups, group_members,
//! ...), parsed, and, when every table loads, analyzed end to end. Any input
//! must give a snapshot or an error with a location, never a panic.
#![no_main]

use std::time::Duration;

use exomatrix::analysis::{Analysis, AnalysisOptions, Quiet};
use exomatrix::snapshot::{tables::ALL_TABLES, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tables: Vec<(&str, &[u8])> = ALL_TABLES
        .iter()
        .map(|spec| spec.name)
        .zip(data.split(|&b| b == 0))
        .collect();
    let snapshot = match Snapshot::from_csv(&tables) {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    match Analysis::from_snapshot(snapshot, AnalysisOptions::default(), Duration::ZERO, &Quiet) {
        Ok(analysis) => {
            let cells: u64 = analysis.matrix.cells();
            let total = u64::from(analysis.directory.count)
                * analysis.model.apps.apps.len() as u64
                * exomatrix::policy::CATALOGUE.len() as u64;
            assert!(cells <= total);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
