//! Parquet page bodies for the shape of the access table, encoded here rather than
//! by parquet-rs's value encoders (which are crate-private and generic, and were
//! most of the write time).
//!
//! - [`delta_binary_packed`]: `DELTA_BINARY_PACKED` for the ascending mailbox ids
//!   (blocks of 128 values, four miniblocks of 32).
//! - [`rle_dictionary`]: the indices of an `RLE_DICTIONARY` page from runs of equal
//!   values, for the columns that are constant over long runs (app, permission,
//!   via). Runs of eight or more become RLE runs; shorter ones are bit-packed.
//!
//! Both follow the Parquet format's `Encodings.md`; the tests read every shape back
//! through parquet-rs's decoders.

/// One value repeated `len` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub value: u32,
    pub len: u32,
}

/// Appends `runs`, merging a run into the last one when the value is the same.
pub fn push_run(runs: &mut Vec<Run>, value: u32, len: u32) {
    if len == 0 {
        return;
    }
    match runs.last_mut() {
        Some(last) if last.value == value => last.len += len,
        _ => runs.push(Run { value, len }),
    }
}

const BLOCK: usize = 128;
const MINIBLOCKS: usize = 4;
const MINIBLOCK: usize = BLOCK / MINIBLOCKS;

fn uleb128(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(out: &mut Vec<u8>, v: i64) {
    uleb128(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Packs `values` (each below `1 << width`) least significant bit first.
/// `values.len() * width` must be a multiple of 8.
fn bit_pack(out: &mut Vec<u8>, values: &[u32], width: u32) {
    if width == 0 {
        return;
    }
    let (mut acc, mut bits) = (0u64, 0u32);
    for &v in values {
        acc |= u64::from(v) << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    debug_assert_eq!(bits, 0, "bit_pack of a partial byte");
}

/// Packs a miniblock's deltas less `min`, `width` bits each, into `out` (its
/// `deltas.len() * width / 8` bytes), as [`bit_pack`] does. Bits are written four
/// bytes at a time: with fewer than 32 pending and `width` at most 32, a value
/// always fits the word (a byte at a time, the branch per byte cost a third of
/// the access writer's time).
#[inline(always)]
fn pack_miniblock(deltas: &[u32], min: u32, width: u32, out: &mut [u8]) {
    let (mut acc, mut bits, mut at) = (0u64, 0u32, 0usize);
    for &d in deltas {
        acc |= u64::from(d.wrapping_sub(min)) << bits;
        bits += width;
        if bits >= 32 {
            out[at..at + 4].copy_from_slice(&(acc as u32).to_le_bytes());
            at += 4;
            acc >>= 32;
            bits -= 32;
        }
    }
}

fn width_of(max: u32) -> u32 {
    u32::BITS - max.leading_zeros()
}

/// `DELTA_BINARY_PACKED` of an INT32 column holding `values` (as unsigned bit
/// patterns). Deltas wrap in 32 bits, as the format's INT32 decoders compute them.
pub fn delta_binary_packed(values: &[u32], out: &mut Vec<u8>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, checked just above.
        return unsafe { delta_binary_packed_avx2(values, out) };
    }
    delta_binary_packed_with(values, out)
}

/// [`delta_binary_packed`] compiled for AVX2: the deltas, their least and
/// greatest are worked out eight at a time (the x86_64 baseline has no vector
/// minimum or maximum of signed 32-bit lanes).
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn delta_binary_packed_avx2(values: &[u32], out: &mut Vec<u8>) {
    delta_binary_packed_with(values, out)
}

/// The encoder itself, inlined into the baseline and the AVX2 build.
#[inline(always)]
fn delta_binary_packed_with(values: &[u32], out: &mut Vec<u8>) {
    uleb128(out, BLOCK as u64);
    uleb128(out, MINIBLOCKS as u64);
    uleb128(out, values.len() as u64);
    let Some(&first) = values.first() else {
        zigzag(out, 0);
        return;
    };
    zigzag(out, i64::from(first as i32));
    let mut deltas = [0u32; BLOCK];
    // Each value beside the one before it: two plain loads per delta, which
    // the compiler turns into vector subtractions (a carried `prev` made it
    // shuffle every vector into place).
    let blocks = values[1..].chunks(BLOCK).zip(values.chunks(BLOCK));
    for (block, before) in blocks {
        for ((d, &v), &p) in deltas.iter_mut().zip(block).zip(before) {
            *d = v.wrapping_sub(p);
        }
        let n = block.len();
        let (min, max) = deltas[..n]
            .iter()
            .fold((i32::MAX, i32::MIN), |(min, max), &d| {
                (min.min(d as i32), max.max(d as i32))
            });
        zigzag(out, i64::from(min));
        if min == max {
            // Every delta is the minimum (ids counted out one by one): each
            // miniblock is zero bits wide and holds no bytes.
            out.extend_from_slice(&[0; MINIBLOCKS]);
            continue;
        }
        // Padding of the last miniblock: deltas equal to the minimum, which
        // are zeros once it is taken off.
        deltas[n..n.next_multiple_of(MINIBLOCK)].fill(min as u32);
        let widths_at = out.len();
        out.extend_from_slice(&[0; MINIBLOCKS]);
        for (i, mini) in deltas[..n.next_multiple_of(MINIBLOCK)]
            .chunks(MINIBLOCK)
            .enumerate()
        {
            // The width of the greatest delta less the minimum is that of all
            // of them (of their bitwise or).
            let greatest = mini.iter().fold(min, |m, &d| m.max(d as i32));
            let width = width_of(greatest.wrapping_sub(min) as u32);
            out[widths_at + i] = width as u8;
            let at = out.len();
            out.resize(at + 4 * width as usize, 0);
            pack_miniblock(mini, min as u32, width, &mut out[at..]);
        }
    }
}

/// Bit width of dictionary indices below `entries`; at least 1, as the common
/// writers emit.
pub fn index_width(entries: usize) -> u32 {
    width_of(entries.saturating_sub(1) as u32).max(1)
}

/// The body of an `RLE_DICTIONARY` data page: the bit width, then the RLE /
/// bit-packed hybrid of the indices `runs` hold (each below `1 << width`).
pub fn rle_dictionary(runs: &[Run], width: u32, out: &mut Vec<u8>) {
    out.push(width as u8);
    let value_bytes = width.div_ceil(8) as usize;
    let mut literals: Vec<u32> = Vec::new();
    for run in runs {
        let mut len = run.len as usize;
        // A bit-packed run holds a multiple of eight values: complete the pending
        // group from this run before an RLE run can follow it.
        let need = (8 - literals.len() % 8) % 8;
        if len >= need + 8 {
            literals.extend(std::iter::repeat_n(run.value, need));
            len -= need;
            flush_literals(&mut literals, width, out);
            uleb128(out, (len as u64) << 1);
            out.extend_from_slice(&run.value.to_le_bytes()[..value_bytes]);
        } else {
            literals.extend(std::iter::repeat_n(run.value, len));
        }
    }
    flush_literals(&mut literals, width, out);
}

/// Writes the pending literals as one bit-packed run, zero-padded to a multiple of
/// eight (only the page's last run can be padded: the page's value count ends it).
fn flush_literals(literals: &mut Vec<u32>, width: u32, out: &mut Vec<u8>) {
    if literals.is_empty() {
        return;
    }
    let groups = literals.len().div_ceil(8);
    literals.resize(groups * 8, 0);
    uleb128(out, ((groups as u64) << 1) | 1);
    bit_pack(out, literals, width);
    literals.clear();
}

/// Splits `runs` at every `rows` values: the runs of each page in order.
pub fn split_runs(runs: &[Run], rows: usize) -> Vec<Vec<Run>> {
    let mut pages = vec![Vec::new()];
    let mut room = rows;
    for run in runs {
        let mut len = run.len as usize;
        while len > 0 {
            if room == 0 {
                pages.push(Vec::new());
                room = rows;
            }
            let take = len.min(room);
            pages.last_mut().expect("one page at least").push(Run {
                value: run.value,
                len: take as u32,
            });
            len -= take;
            room -= take;
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uleb128_and_zigzag_match_the_format() {
        let mut out = Vec::new();
        uleb128(&mut out, 624485);
        assert_eq!(out, [0xE5, 0x8E, 0x26]);
        for (v, z) in [(0i64, 0u8), (-1, 1), (1, 2), (-2, 3)] {
            let mut out = Vec::new();
            zigzag(&mut out, v);
            assert_eq!(out, [z]);
        }
    }

    #[test]
    fn bit_packing_is_least_significant_bit_first() {
        // The format's example: 0..8 in 3 bits.
        let mut out = Vec::new();
        bit_pack(&mut out, &[0, 1, 2, 3, 4, 5, 6, 7], 3);
        assert_eq!(out, [0b1000_1000, 0b1100_0110, 0b1111_1010]);
    }

    #[test]
    fn short_runs_are_bit_packed_long_ones_run_length_encoded() {
        let runs = [
            Run { value: 1, len: 3 },
            Run { value: 0, len: 20 },
            Run { value: 1, len: 2 },
        ];
        let mut out = Vec::new();
        rle_dictionary(&runs, 1, &mut out);
        // width, one literal group of 1,1,1,0,0,0,0,0, a run of 15 zeros, one
        // padded literal group of 1,1.
        assert_eq!(out, [1, 0b11, 0b0000_0111, 15 << 1, 0, 0b11, 0b0000_0011]);
    }

    #[test]
    fn delta_packing_is_the_same_with_and_without_avx2() {
        // Ascending runs with resets, deltas of every width (to 32 bits),
        // lengths around the block and miniblock sizes.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in (0..300).chain([1023, 1024, 1025, 4097]) {
            let width = (next() % 33) as u32;
            let mut id = 0u32;
            let values: Vec<u32> = (0..len)
                .map(|_| {
                    if next() % 50 == 0 {
                        id = (next() % 1000) as u32;
                    }
                    id = id.wrapping_add((next() as u32) >> (32 - width.max(1)));
                    id
                })
                .collect();
            let (mut dispatched, mut baseline) = (Vec::new(), Vec::new());
            delta_binary_packed(&values, &mut dispatched);
            delta_binary_packed_with(&values, &mut baseline);
            assert_eq!(dispatched, baseline, "{len} values, deltas to {width} bits");
        }
    }

    #[test]
    fn split_runs_cuts_at_page_boundaries() {
        let runs = [Run { value: 7, len: 5 }, Run { value: 8, len: 4 }];
        let pages = split_runs(&runs, 4);
        let lens: Vec<Vec<(u32, u32)>> = pages
            .iter()
            .map(|p| p.iter().map(|r| (r.value, r.len)).collect())
            .collect();
        assert_eq!(lens, [vec![(7, 4)], vec![(7, 1), (8, 3)], vec![(8, 1)]]);
    }
}
