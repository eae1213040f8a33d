//! Squared Euclidean distances with a fixed summation order (so results do not depend on threads).

use crate::error::{check_non_empty, KernelError};
use crate::real::Real;
use crate::rows::{chunk_ranges, PARALLEL_MIN_ENTRIES};
use ndarray::ArrayView1;
use rayon::prelude::*;

const LANES: usize = 16;
/// Rows per chunk of the finiteness check.
const CHECK_CHUNK_ROWS: usize = 4096;

/// Squared Euclidean distance of two equal-length slices, accumulated in `T` over sixteen interleaved
/// partial sums that are then halved pairwise (lanes `l` and `l + 8`, then `l + 4`, ...): a fixed order
/// that maps onto vector registers of any width, so the compiler keeps it vectorised.
#[inline(always)]
pub(crate) fn sq_dist<T: Real>(a: &[T], b: &[T]) -> T {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [T::ZERO; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        // Always full chunks; as arrays, the lanes are known to the vectoriser.
        if let (Ok(xa), Ok(xb)) = (<&[T; LANES]>::try_from(xa), <&[T; LANES]>::try_from(xb)) {
            add_squared_differences(&mut acc, xa, xb);
        }
    }
    if !ra.is_empty() {
        // The tail, zero-padded to a full chunk: padded lanes add 0 * 0, leaving them unchanged, and the
        // accumulator is only ever touched whole, which keeps it in vector registers.
        let (mut ta, mut tb) = ([T::ZERO; LANES], [T::ZERO; LANES]);
        ta[..ra.len()].copy_from_slice(ra);
        tb[..rb.len()].copy_from_slice(rb);
        add_squared_differences(&mut acc, &ta, &tb);
    }
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] = acc[l] + acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

#[inline(always)]
fn add_squared_differences<T: Real>(acc: &mut [T; LANES], a: &[T; LANES], b: &[T; LANES]) {
    for l in 0..LANES {
        let d = a[l] - b[l];
        acc[l] = acc[l] + d * d;
    }
}

/// A matrix whose rows can be read as slices: in place for standard layout, otherwise copied once
/// per call through a one-row scratch buffer.
pub(crate) struct Rows<'a, T> {
    view: ndarray::ArrayView2<'a, T>,
    contiguous: Option<&'a [T]>,
}

impl<'a, T: Real> Rows<'a, T> {
    pub(crate) fn new(view: ndarray::ArrayView2<'a, T>) -> Self {
        let contiguous = view.to_slice();
        Rows { view, contiguous }
    }

    pub(crate) fn n(&self) -> usize {
        self.view.nrows()
    }

    pub(crate) fn d(&self) -> usize {
        self.view.ncols()
    }

    /// Row `i` as a slice, using `scratch` when the row is not contiguous in memory.
    #[inline(always)]
    pub(crate) fn row<'s>(&'s self, i: usize, scratch: &'s mut Vec<T>) -> &'s [T] {
        let d = self.d();
        if let Some(all) = self.contiguous {
            return &all[i * d..(i + 1) * d];
        }
        let row: ArrayView1<'a, T> = self.view.index_axis_move(ndarray::Axis(0), i);
        if let Some(s) = row.to_slice() {
            return s;
        }
        scratch.clear();
        scratch.extend(row.iter().copied());
        scratch
    }

    /// Row `i` when the matrix is stored in standard layout (for prefetching), else `None`.
    #[inline(always)]
    pub(crate) fn contiguous_row(&self, i: usize) -> Option<&'a [T]> {
        let d = self.d();
        self.contiguous.and_then(|all| all.get(i * d..(i + 1) * d))
    }

    /// Squared distance between row `i` and the point `center` (a contiguous copy of a row).
    #[inline(always)]
    pub(crate) fn sq_dist_to(&self, i: usize, center: &[T], scratch: &mut Vec<T>) -> T {
        sq_dist(self.row(i, scratch), center)
    }

    /// A contiguous copy of row `i`.
    pub(crate) fn owned_row(&self, i: usize) -> Vec<T> {
        self.view.row(i).iter().copied().collect()
    }

    /// A contiguous copy of row `i`, allocated fallibly for `function`.
    pub(crate) fn try_owned_row(
        &self,
        function: &'static str,
        i: usize,
    ) -> Result<Vec<T>, KernelError> {
        crate::alloc::collect(
            function,
            "a copy of one row",
            self.view.row(i).iter().copied(),
        )
    }

    /// The rows of `x`, checked to be a non-empty matrix of finite values (the points of `function`).
    pub(crate) fn points(
        function: &'static str,
        x: ndarray::ArrayView2<'a, T>,
    ) -> Result<Self, KernelError> {
        check_non_empty(function, "X", "(n_samples, n_features)", x.dim())?;
        let rows = Rows::new(x);
        if let Some((i, j)) = rows.first_non_finite() {
            return Err(KernelError::input(
                function,
                "X",
                "an array of finite values",
                format!("a NaN or infinite value at row {i}, column {j}"),
            ));
        }
        Ok(rows)
    }

    /// Index of the first row holding a NaN or infinite value, and that value's column.
    pub(crate) fn first_non_finite(&self) -> Option<(usize, usize)> {
        let first_in = |(start, end): (usize, usize)| {
            let d = self.d();
            // A branch-free sweep over a contiguous block first: almost always, everything is finite.
            if let Some(block) = self.contiguous.map(|all| &all[start * d..end * d]) {
                if block
                    .iter()
                    .fold(true, |all_finite, v| all_finite & v.is_finite())
                {
                    return None;
                }
            }
            let mut scratch = Vec::new();
            (start..end).find_map(|i| {
                self.row(i, &mut scratch)
                    .iter()
                    .position(|v| !v.is_finite())
                    .map(|j| (i, j))
            })
        };
        let ranges = chunk_ranges(self.n(), CHECK_CHUNK_ROWS);
        if self.n() * self.d() >= PARALLEL_MIN_ENTRIES {
            ranges.into_par_iter().find_map_first(first_in)
        } else {
            ranges.into_iter().find_map(first_in)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastmath::{vectorized, Work};

    /// Squared distances of consecutive pairs of `d`-long rows; `WIDE` as in [`Work::WIDE`].
    struct Distances<'a, T, const WIDE: bool> {
        data: &'a [T],
        d: usize,
    }

    impl<T: Real, const WIDE_VECTORS: bool> Work for Distances<'_, T, WIDE_VECTORS> {
        type Output = Vec<f64>;
        const WIDE: bool = WIDE_VECTORS;

        #[inline(always)]
        fn run(self) -> Vec<f64> {
            self.data
                .chunks_exact(2 * self.d)
                .map(|pair| sq_dist(&pair[..self.d], &pair[self.d..]).to_f64())
                .collect()
        }
    }

    fn bitwise_equal<T: Real>(data: &[T], d: usize) {
        let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let portable = bits(Distances::<T, true> { data, d }.run());
        // The widest vectors this CPU has, and AVX2 at most.
        assert_eq!(
            bits(vectorized(Distances::<T, true> { data, d })),
            portable,
            "d={d}"
        );
        assert_eq!(
            bits(vectorized(Distances::<T, false> { data, d })),
            portable,
            "d={d}"
        );
    }

    #[test]
    fn vectorised_distances_equal_the_portable_ones_bitwise() {
        let mut state = 0x1234_5678_9ABC_DEF0u64;
        let data: Vec<f64> = (0..100_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect();
        let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        for d in [1, 3, 15, 16, 17, 32, 33, 64, 100, 128] {
            bitwise_equal(&data, d);
            bitwise_equal(&data32, d);
        }
    }
}
