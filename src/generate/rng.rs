//! The generator's random numbers: SplitMix64, the same sequence on every platform.

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
