//! The mailbox universe: one row of the mailboxes table per mailbox, numbered in
//! file order, each with a unique ExternalDirectoryObjectId and an address.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::snapshot::{format_guid, parse_guid_u128, required_guid, Col, Table};

/// Validates the mailboxes: ExternalDirectoryObjectId a unique GUID, an address
/// present. Gives the ids and where the PrimarySmtpAddress column is.
pub(super) fn read_mailboxes(table: &Table) -> Result<(Vec<u128>, usize)> {
    let id_col = table
        .column(&["ExternalDirectoryObjectId"])
        .expect("required");
    let smtp_index = table
        .column_index(&["PrimarySmtpAddress"])
        .expect("required");
    let smtp = table.col(smtp_index);
    let row = |row: usize| -> Result<u128> {
        let id = required_guid(id_col, row)?;
        if smtp.get(row).is_none() {
            return Err(Error::data(
                smtp.location(row),
                "PrimarySmtpAddress is blank; every mailbox needs one",
            ));
        }
        Ok(id)
    };
    // In parallel while all is well, in chunks of rows whose cells are read in
    // order (a row at a time would search the column's chunks for each cell);
    // on a bad row, again in order, so the error is always the first one in
    // the file.
    const CHUNK: usize = 16_384;
    let mut ids = vec![0u128; table.len()];
    let all_good = ids.par_chunks_mut(CHUNK).enumerate().all(|(c, out)| {
        let rows = c * CHUNK..c * CHUNK + out.len();
        let cells = id_col.values(rows.clone()).zip(smtp.values(rows));
        out.iter_mut().zip(cells).all(|(id, (raw, address))| {
            match (raw.and_then(parse_guid_u128), address) {
                (Some(parsed), Some(_)) => {
                    *id = parsed;
                    true
                }
                _ => false,
            }
        })
    });
    if !all_good {
        // Some row is bad: find the first problem in file order, a duplicate id
        // on an earlier line included.
        let mut seen: FxHashMap<u128, usize> = FxHashMap::default();
        for r in 0..table.len() {
            let id = row(r)?;
            if let Some(first) = seen.insert(id, r) {
                return Err(duplicate_mailbox(table, id_col, id, r, first));
            }
        }
        unreachable!("a row failed to parse in parallel but not in order");
    }
    if let Some((repeat, first)) = first_repeat(&ids) {
        return Err(duplicate_mailbox(table, id_col, ids[repeat], repeat, first));
    }
    Ok((ids, smtp_index))
}

/// The earliest row that repeats an id of `ids`, and the row it repeats.
///
/// Each row becomes one 64-bit word, a fold of its id above the row's number,
/// and the words are sorted (a quarter of the bytes of the ids with their
/// rows: 16-18 ms for a million mailboxes on two cores, against 47-49):
/// rows of the same id end up side by side, in row order, among the rare
/// rows of other ids whose fold agrees, which the full ids tell apart.
fn first_repeat(ids: &[u128]) -> Option<(usize, usize)> {
    // Bits enough for any row number; the fold keeps the bits above them.
    let row_bits = (usize::BITS - ids.len().leading_zeros()).min(48);
    let rows = (1u64 << row_bits) - 1;
    let fold = |id: u128| (id as u64) ^ ((id >> 64) as u64).rotate_left(29);
    let mut words: Vec<u64> = ids
        .par_iter()
        .enumerate()
        .map(|(row, &id)| (fold(id) & !rows) | row as u64)
        .collect();
    words.par_sort_unstable();
    let row = |word: u64| (word & rows) as usize;
    let mut found: Option<(usize, usize)> = None;
    for run in words.chunk_by(|a, b| a & !rows == b & !rows) {
        if run.len() < 2 {
            continue;
        }
        // The run's rows by id, then row: however many ids share a fold (a
        // crafted file), this costs a sort of them, not a comparison per pair.
        let mut by_id: Vec<(u128, usize)> = run.iter().map(|&w| (ids[row(w)], row(w))).collect();
        by_id.sort_unstable();
        for same in by_id.chunk_by(|a, b| a.0 == b.0) {
            if let [(_, first), (_, repeat), ..] = *same {
                if found.is_none_or(|(earliest, _)| repeat < earliest) {
                    found = Some((repeat, first));
                }
            }
        }
    }
    found
}

fn duplicate_mailbox(table: &Table, id_col: Col<'_>, id: u128, row: usize, first: usize) -> Error {
    Error::data(
        id_col.location(row),
        format!(
            "duplicate mailbox {}: line {} has the same ExternalDirectoryObjectId; remove one of the rows",
            format_guid(id),
            table.lines[first]
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailboxes(ids: &[&str]) -> Table {
        let mut text = String::from("ExternalDirectoryObjectId,PrimarySmtpAddress\n");
        for (i, id) in ids.iter().enumerate() {
            text.push_str(&format!("{id},m{i}@x.com\n"));
        }
        crate::snapshot::csv::parse_csv(
            text.as_bytes(),
            "mailboxes.csv",
            crate::snapshot::tables::MAILBOXES,
        )
        .unwrap()
    }

    /// Ids whose folds agree are told apart; a repeat among them is found.
    #[test]
    fn repeats_are_found_among_ids_of_the_same_fold() {
        let id = |hi: u64, lo: u64| (u128::from(hi) << 64) | u128::from(lo);
        // The same fold as `id(0, 7)`: lo ^ hi.rotate_left(29) is 7 for both.
        let high = 0x0123_4567_89ab_cdef_u64;
        let (a, b) = (id(0, 7), id(high, 7 ^ high.rotate_left(29)));
        let c = id(5, 5);
        assert_eq!(first_repeat(&[a, b, c]), None);
        assert_eq!(first_repeat(&[a, b, c, b, a]), Some((3, 1)));
        assert_eq!(first_repeat(&[b, a, a, b]), Some((2, 1)));
        assert_eq!(first_repeat(&[c, c, c]), Some((1, 0)));
        // Fifty thousand ids of one fold, the last repeating the first.
        let mut crafted: Vec<u128> = (1..50_000u64)
            .map(|high| id(high, 7 ^ high.rotate_left(29)))
            .collect();
        crafted.push(crafted[0]);
        assert_eq!(first_repeat(&crafted), Some((crafted.len() - 1, 0)));
    }

    /// Parallel reading reports the same error as reading in order would: the
    /// earliest row that repeats an id (naming that id's first line), or a bad
    /// row before it.
    #[test]
    fn mailbox_errors_are_the_first_in_file_order() {
        let a = "00000000-0000-4000-8000-00000000000a";
        let b = "00000000-0000-4000-8000-00000000000b";
        let error = |ids: &[&str]| read_mailboxes(&mailboxes(ids)).unwrap_err().to_string();
        let duplicate = |id: &str, line: u32, first: u32| {
            format!("mailboxes.csv, line {line}, column ExternalDirectoryObjectId: duplicate mailbox {id}: line {first} has the same ExternalDirectoryObjectId; remove one of the rows")
        };
        assert_eq!(error(&[a, b, b, a, a]), duplicate(b, 4, 3));
        assert_eq!(error(&[a, b, a, b, a]), duplicate(a, 4, 2));
        // A duplicate before a bad GUID wins, and a bad GUID before a duplicate.
        assert_eq!(error(&[a, a, "nope"]), duplicate(a, 3, 2));
        assert!(error(&[a, "nope", a])
            .starts_with("mailboxes.csv, line 3, column ExternalDirectoryObjectId: "));
        // A blank address, after a good row, is an error of its line.
        let blank_address = crate::snapshot::csv::parse_csv(
            format!("ExternalDirectoryObjectId,PrimarySmtpAddress\n{a},m@x.com\n{b}, \n")
                .as_bytes(),
            "mailboxes.csv",
            crate::snapshot::tables::MAILBOXES,
        )
        .unwrap();
        assert_eq!(
            read_mailboxes(&blank_address).unwrap_err().to_string(),
            "mailboxes.csv, line 3, column PrimarySmtpAddress: PrimarySmtpAddress is blank; every mailbox needs one"
        );
        let table = mailboxes(&[a, b]);
        let (ids, smtp) = read_mailboxes(&table).unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(table.col(smtp).get(1), Some("m1@x.com"));
    }
}
