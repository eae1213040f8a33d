//! A portable, seeded random source: PCG-64 (`rand_pcg::Pcg64`), whose output for a given `u64` seed is
//! the same on every platform, so seeded kernels give identical results everywhere.

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64;

pub struct PortableRng(Pcg64);

impl PortableRng {
    pub fn new(seed: u64) -> Self {
        PortableRng(Pcg64::seed_from_u64(seed))
    }

    /// A uniform draw from [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform draw from `0..n` (`n >= 1`), unbiased (Lemire's multiply-and-reject method).
    pub fn index(&mut self, n: usize) -> usize {
        let range = n.max(1) as u64;
        let threshold = range.wrapping_neg() % range;
        loop {
            let product = u128::from(self.0.next_u64()) * u128::from(range);
            if (product as u64) >= threshold {
                return (product >> 64) as usize;
            }
        }
    }
}
