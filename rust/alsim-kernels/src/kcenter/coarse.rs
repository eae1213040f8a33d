//! A coarse copy of the points, to settle most distance updates from one byte per value.
//!
//! Each row `x` is stored as 8-bit integers `q` times a power-of-two scale `s` (the smallest that keeps
//! `|x_j| / s` within about 128), together with `s^2 |q|^2` and an upper bound `r` on the norm of the
//! rounding residual `x - s q`. For a point `x` and a center `c` (both rows), the integer dot product
//! `q_x . q_c` is exact, so `|s_x q_x - s_c q_c|` is known to a few units in the last place of `f64`, and
//! the triangle inequality gives a lower bound on the true distance:
//! `|x - c| >= |s_x q_x - s_c q_c| - r_x - r_c`. When that bound, shrunk by the rounding error of the
//! full-precision distance, already exceeds the point's current minimum distance, the full-precision
//! distance cannot be smaller either, and the point keeps its minimum without its row being read: a
//! quarter of the memory traffic of `f32` rows, an eighth of `f64`. Otherwise the caller computes the
//! full-precision distance as before, so the minimum distances (and the picks) are exactly those of the
//! full computation.

use crate::alloc;
use crate::distance::Rows;
use crate::fastmath::{vectorized, Work};
use crate::real::Real;

/// Integer dot products of `d` codes of magnitude at most 127 fit `i32` below this many columns.
const MAX_COLUMNS: usize = (i32::MAX as usize) / (127 * 127);
/// Scales are kept within `2^-MAX_EXPONENT ..= 2^MAX_EXPONENT`, so that products of two scales, and their
/// squares times integers below 2^31, are normal `f64` numbers (so those products are exact); rows beyond that (possible only with
/// `f64` values) get no bound.
const MAX_EXPONENT: i32 = 480;

/// What the bound needs of one row besides its codes.
#[derive(Clone, Copy, Debug)]
pub(super) struct RowBound {
    /// `s`, a power of two (zero for a row without a bound).
    scale: f64,
    /// `s^2 |q|^2`, exact.
    norm2: f64,
    /// An upper bound on `|x - s q|` (infinite for a row without a bound, which is then never settled).
    residual: f64,
}

impl RowBound {
    const NONE: RowBound = RowBound {
        scale: 0.0,
        norm2: 0.0,
        residual: f64::INFINITY,
    };
}

/// The codes and bounds of every row.
pub(super) struct CoarseCopy {
    d: usize,
    codes: Vec<i8>,
    bounds: Vec<RowBound>,
    /// A computed squared distance `E` of two rows at true distance `delta` satisfies
    /// `E >= delta^2 (1 - rel) - slack` (rounding, then underflow).
    keep: f64,
    slack: f64,
    /// Whether this CPU has AVX2 (for the integer dot products).
    avx2: bool,
}

/// The center of an update, as the copy holds it: its codes widened to 16 bits (the form the dot
/// products multiply), its bound with the residual grown to absorb one rounding.
pub(super) struct CoarseCenter {
    codes: Vec<i16>,
    bound: RowBound,
}

/// Unit roundoff of `f64`.
const U: f64 = f64::EPSILON / 2.0;

impl CoarseCopy {
    /// The copy of `rows`, or `None` when it cannot be made: no columns, too many for `i32` dot
    /// products, or not enough memory (the copy only saves work, so the selection goes on without it).
    /// `rel` bounds the relative rounding error of the full-precision squared distances.
    pub(super) fn new<T: Real>(rows: &Rows<'_, T>, rel: f64) -> Option<Self> {
        const FUNCTION: &str = "k_center_greedy";
        let (n, d) = (rows.n(), rows.d());
        if d == 0 || d > MAX_COLUMNS {
            return None;
        }
        let mut codes = alloc::filled(FUNCTION, "its coarse copy", 0i8, n.checked_mul(d)?).ok()?;
        let mut bounds = alloc::filled(FUNCTION, "its coarse copy", RowBound::NONE, n).ok()?;
        // One thread: the copy is made between two updates, while the helping threads wait.
        vectorized(Quantize {
            rows,
            codes: &mut codes,
            bounds: &mut bounds,
        });
        Some(CoarseCopy {
            d,
            codes,
            bounds,
            keep: 1.0 - rel,
            // Underflow: each squared difference loses at most the smallest subnormal, and a subnormal
            // sum is exact; `MIN_POSITIVE` (the smallest normal) per term is far more than that.
            slack: (d as f64 + 1.0) * T::MIN_POSITIVE,
            avx2: has_avx2(),
        })
    }

    /// The codes of row `i` (for prefetching).
    #[inline(always)]
    pub(super) fn codes(&self, i: usize) -> &[i8] {
        &self.codes[i * self.d..(i + 1) * self.d]
    }

    /// The bound of row `i` (for prefetching).
    #[inline(always)]
    pub(super) fn bound(&self, i: usize) -> &RowBound {
        &self.bounds[i]
    }

    /// Row `c` as the center of an update.
    pub(super) fn center(&self, c: usize) -> CoarseCenter {
        let mut bound = self.bounds[c];
        // Grown by 4u, the sum `reach + residual` in `settles` stays above the true sum.
        bound.residual *= 1.0 + 4.0 * U;
        CoarseCenter {
            codes: self.codes(c).iter().map(|&v| i16::from(v)).collect(),
            bound,
        }
    }

    /// An upper bound on `rho + r_i`, where `rho` is the true distance below which a point at minimum
    /// squared distance `d2` could move (the smallest `delta` with `delta^2 (1 - rel) - slack <= d2`)
    /// and `r_i` the residual of row `i`; infinite for centers (`d2` negative), which never move.
    #[inline(always)]
    pub(super) fn reach(&self, i: usize, d2: f64) -> f64 {
        if d2 < 0.0 {
            return f64::INFINITY;
        }
        // Each operation rounds by at most u; 8u on the result covers the four of them.
        (((d2 + self.slack) / self.keep).sqrt() + self.bounds[i].residual) * (1.0 + 8.0 * U)
    }

    /// Whether the full-precision squared distance of row `i` to `center` is certainly not below the
    /// point's minimum, given `reach` (from [`CoarseCopy::reach`] for that minimum) and `dot`, the dot
    /// product of the two rows' codes: then the point keeps its minimum without its row being read.
    #[inline(always)]
    pub(super) fn settles(&self, i: usize, dot: i32, center: &CoarseCenter, reach: f64) -> bool {
        let (x, c) = (self.bounds[i], center.bound);
        // Exact: an integer below 2^31 times a product of powers of two that stays normal.
        let cross = 2.0 * (x.scale * c.scale) * f64::from(dot);
        let sum = x.norm2 + c.norm2;
        // |s_x q_x - s_c q_c|^2 is sum - cross up to about 2u (sum + |cross|) of rounding; taking off
        // 8u of it leaves a lower bound even after this expression's own roundings.
        let coarse2 = (sum - cross) - (sum + cross.abs()) * (8.0 * U);
        // The point cannot move when |s_x q_x - s_c q_c| > rho + r_x + r_c (triangle inequality); both
        // sides are squared, the right one rounded up.
        let limit = (reach + c.residual) * (1.0 + 4.0 * U);
        coarse2 > limit * limit * (1.0 + 4.0 * U)
    }

    /// The dot products of the codes of rows `first..first + out.len()` with the center's.
    #[inline(always)]
    pub(super) fn dots(&self, first: usize, center: &CoarseCenter, out: &mut [i32]) {
        let d = self.d;
        let rows = self.codes[first * d..(first + out.len()) * d].chunks_exact(d);
        for (row, dot) in rows.zip(out) {
            *dot = self.dot(row, &center.codes);
        }
    }

    /// The dot product of the codes of row `i` with the center's.
    #[inline(always)]
    pub(super) fn dot_with(&self, i: usize, center: &CoarseCenter) -> i32 {
        self.dot(self.codes(i), &center.codes)
    }

    #[inline(always)]
    fn dot(&self, a: &[i8], b: &[i16]) -> i32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: AVX2 is present (checked when the copy was made).
            return unsafe { dot_avx2(a, b) };
        }
        dot_portable(a, b)
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Exact dot product of codes (`|value| <= 127`, at most [`MAX_COLUMNS`] of them).
fn dot_portable(a: &[i8], b: &[i16]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// [`dot_portable`] sixteen codes at a time: widened to 16 bits, multiplied and summed in pairs into
/// 32-bit lanes (`vpmaddwd`), which compilers do not produce on their own at this width.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[i8], b: &[i16]) -> i32 {
    use std::arch::x86_64::*;
    let len = a.len().min(b.len());
    let full = len - len % 16;
    let mut acc = _mm256_setzero_si256();
    let mut j = 0;
    while j < full {
        // SAFETY: j + 16 <= len for both slices; unaligned loads.
        let x = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(a.as_ptr().add(j).cast()) });
        let y = unsafe { _mm256_loadu_si256(b.as_ptr().add(j).cast()) };
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
        j += 16;
    }
    let half = _mm_add_epi32(
        _mm256_castsi256_si128(acc),
        _mm256_extracti128_si256::<1>(acc),
    );
    let quarter = _mm_add_epi32(half, _mm_unpackhi_epi64(half, half));
    let lane = _mm_add_epi32(quarter, _mm_shuffle_epi32::<0b01>(quarter));
    _mm_cvtsi128_si32(lane) + dot_portable(&a[full..len], &b[full..len])
}

/// Quantizes the rows of `rows` into `codes` and `bounds`.
struct Quantize<'a, 'r, T> {
    rows: &'a Rows<'r, T>,
    codes: &'a mut [i8],
    bounds: &'a mut [RowBound],
}

impl<T: Real> Work for Quantize<'_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let d = self.rows.d();
        let mut scratch = Vec::new();
        for (offset, (codes, bound)) in self.codes.chunks_exact_mut(d).zip(self.bounds).enumerate()
        {
            *bound = quantize(self.rows.row(offset, &mut scratch), codes);
        }
    }
}

/// Fills `codes` with row `row` rounded to integer multiples of a power-of-two scale; returns its bound.
#[inline(always)]
fn quantize<T: Real>(row: &[T], codes: &mut [i8]) -> RowBound {
    // Finite non-negative values order as their bits do; an integer maximum vectorises, unlike `f64::max`.
    let largest = f64::from_bits(
        row.iter()
            .map(|v| v.to_f64().abs().to_bits())
            .max()
            .unwrap_or(0),
    );
    if largest == 0.0 {
        codes.fill(0);
        return RowBound {
            scale: 1.0,
            norm2: 0.0,
            residual: 0.0,
        };
    }
    // 2^e <= largest < 2^(e+1) for normal `largest`; subnormal ones (exponent field 0) get no bound.
    let field = ((largest.to_bits() >> 52) & 0x7FF) as i32;
    let exponent = field - 1023 - 6;
    if field == 0 || exponent.abs() > MAX_EXPONENT {
        codes.fill(0);
        return RowBound::NONE;
    }
    // |x / scale| < 128: the codes use 7 of their 8 bits for the largest value.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let scale = f64::from_bits(((exponent + 1023) as u64) << 52);
    let inverse = f64::from_bits(((1023 - exponent) as u64) << 52);
    // Three simple passes over the row (in cache), each of which vectorises.
    for (v, code) in row.iter().zip(codes.iter_mut()) {
        // x / scale, exact (a power of two) unless it underflows (a tiny value in a row of large ones),
        // which loses less than the slack added to the residual below. 128 becomes 127, which the
        // residual covers.
        let q = (v.to_f64() * inverse)
            .round_ties_even()
            .clamp(-127.0, 127.0);
        // The integer q from the low bits of q + 1.5 * 2^52 (exact), which vectorises where a
        // float-to-integer cast (with its NaN and range checks) does not.
        *code = (q + MAGIC).to_bits() as i8;
    }
    // Integer squares sum exactly in any order.
    let norm2: i32 = codes.iter().map(|&q| i32::from(q) * i32::from(q)).sum();
    // Summed in interleaved lanes, which the error bound below allows whatever the order.
    const LANES: usize = 8;
    let mut lanes = [0.0f64; LANES];
    let (values, quantized) = (row.chunks_exact(LANES), codes.chunks_exact(LANES));
    let (value_tail, code_tail) = (values.remainder(), quantized.remainder());
    let add = |lanes: &mut [f64; LANES], values: &[T], quantized: &[i8]| {
        for ((lane, &v), &q) in lanes.iter_mut().zip(values).zip(quantized) {
            // Exact: x / scale lies within a factor two of q (or q is 0), so the difference is
            // representable (Sterbenz).
            let e = v.to_f64() * inverse - f64::from(q);
            *lane += e * e;
        }
    };
    for (values, quantized) in values.zip(quantized) {
        add(&mut lanes, values, quantized);
    }
    add(&mut lanes, value_tail, code_tail);
    let residual2: f64 = lanes.iter().sum();
    let d = row.len() as f64;
    // The sum of d squares of values <= 1 in magnitude: at most (d + 1) u relative rounding, and at
    // most d times the smallest subnormal lost to underflow.
    let residual2 = (residual2 + d * f64::MIN_POSITIVE) * (1.0 + (d + 2.0) * f64::EPSILON);
    RowBound {
        scale,
        // An integer below 2^31 times the square of a power of two in range: exact.
        norm2: f64::from(norm2) * (scale * scale),
        residual: residual2.sqrt() * (1.0 + f64::EPSILON) * scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::sq_dist;
    use ndarray::Array2;

    fn rel<T: Real>(d: usize) -> f64 {
        2.0 * (d as f64 + 4.0) * T::UNIT_ROUNDOFF
    }

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    /// Checks that `settles` never claims a pair whose full-precision distance is below the given
    /// minimum, for minima just below, at and just above each pair's computed distance; returns how
    /// many of the pairs were settled at half their distance (the bound's usefulness).
    fn check_sound<T: Real>(x: &Array2<T>) -> usize {
        let rows = Rows::new(x.view());
        let copy = CoarseCopy::new(&rows, rel::<T>(x.ncols())).expect("a copy");
        let mut settled = 0;
        let mut scratch = (Vec::new(), Vec::new());
        for c in 0..x.nrows() {
            let center = copy.center(c);
            let center_row = rows.row(c, &mut scratch.0).to_vec();
            for i in 0..x.nrows() {
                let exact = sq_dist(rows.row(i, &mut scratch.1), &center_row).to_f64();
                let dot = copy.dot_with(i, &center);
                assert_eq!(dot, dot_portable(copy.codes(i), &center.codes));
                for d2 in [exact, exact * (1.0 + 1e-12), next_up(exact), exact * 0.5] {
                    if copy.settles(i, dot, &center, copy.reach(i, d2)) {
                        assert!(exact >= d2, "row {i} center {c}: {exact} < {d2}");
                    }
                }
                settled += usize::from(copy.settles(i, dot, &center, copy.reach(i, exact * 0.5)));
            }
        }
        settled
    }

    fn next_up(v: f64) -> f64 {
        if v.is_finite() {
            f64::from_bits(v.to_bits() + 1)
        } else {
            v
        }
    }

    #[test]
    fn settles_far_points_and_never_a_closer_one() {
        let v = values(60 * 33, 1);
        let x = Array2::from_shape_vec((60, 33), v).unwrap();
        let settled = check_sound(&x);
        // Nearly every pair but the 60 identical ones is settled at half its distance.
        assert!(settled > 60 * 59 * 9 / 10, "{settled}");
        check_sound(&x.mapv(|v| v as f32));
    }

    #[test]
    fn extreme_and_degenerate_rows_stay_sound() {
        let v = values(40 * 8, 2);
        let mut x = Array2::from_shape_vec((40, 8), v).unwrap();
        for j in 0..8 {
            x[[1, j]] = x[[0, j]]; // duplicate
            x[[2, j]] = 0.0; // zero row
            x[[3, j]] *= 1e300; // beyond the scales of the copy
            x[[4, j]] *= 1e-310; // subnormal
            x[[5, j]] *= 1e-200;
            x[[6, j]] = 5.0; // constant
        }
        x[[7, 0]] = 1e150; // one huge column
        check_sound(&x);
        let mut y = x.mapv(|v| v as f32);
        for j in 0..8 {
            y[[3, j]] = 3e38 * if j % 2 == 0 { 1.0 } else { -1.0 }; // squares overflow
            y[[4, j]] = 1e-44 * j as f32; // subnormal
            y[[5, j]] = 1e-30;
        }
        check_sound(&y);
        // d = 1 and constant columns.
        let z = Array2::from_shape_fn((30, 1), |(i, _)| (i % 7) as f64 * 0.25);
        check_sound(&z);
        check_sound(&Array2::from_elem((10, 4), 2.5f32));
    }

    #[test]
    fn codes_round_to_the_nearest_multiple() {
        let row = [1.0f64, -0.5, 0.25, 3.0];
        let mut codes = [0i8; 4];
        let bound = quantize(&row, &mut codes);
        // 2 <= 3 < 4: scale 2^(1 - 6) = 1/32.
        assert_eq!(bound.scale, 1.0 / 32.0);
        assert_eq!(codes, [32, -16, 8, 96]);
        assert_eq!(bound.norm2, 1.0 + 0.25 + 0.0625 + 9.0);
        assert!(bound.residual > 0.0 && bound.residual < 1e-15);
    }
}
