//! Uncertainty scores of class-probability rows, and the fused selection of the most uncertain rows.

use crate::alloc;
use crate::error::{check_k, check_non_empty, KernelError};
use crate::fastmath::{fixed_order_sum, xlogx_in_place};
use crate::real::Real;
use crate::rows::{chunk_ranges, for_each_row, prefetch, NoRowScratch};
use crate::topk::{merge_top, MergeBuffers, Ranked, TopK};
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

/// How far a probability row's sum may stray from 1 before the row is rejected.
pub const PROBA_SUM_TOLERANCE: f64 = 1e-3;

/// Rows per chunk of work; fixed so that results do not depend on the thread count.
const CHUNK_ROWS: usize = 8192;
/// Below this many probability entries the work stays on the calling thread.
const PARALLEL_MIN_ENTRIES: usize = 1 << 19;

/// An uncertainty measure; for all three, higher means more uncertain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// `1 - max_c p_c`.
    LeastConfidence,
    /// `1 - (p_(1) - p_(2))`, the gap between the two largest probabilities (a single column counts as
    /// a second probability of 0).
    Margin,
    /// `-sum_c p_c ln p_c` in nats, with `0 ln 0 = 0` (terms added in column order: permuted rows of three
    /// or more columns can differ in the last place).
    Entropy,
}

impl Measure {
    /// The measure names, as accepted by [`Measure::parse`].
    pub const NAMES: [&'static str; 3] = ["least_confidence", "margin", "entropy"];

    /// Parses a measure name; `function` and `parameter` name the caller and its argument in the error
    /// message.
    pub fn parse(
        name: &str,
        function: &'static str,
        parameter: &'static str,
    ) -> Result<Self, KernelError> {
        match name {
            "least_confidence" => Ok(Measure::LeastConfidence),
            "margin" => Ok(Measure::Margin),
            "entropy" => Ok(Measure::Entropy),
            other => Err(KernelError::parameter(
                function,
                parameter,
                "a str among {'least_confidence', 'margin', 'entropy'}",
                format!("{other:?}"),
            )),
        }
    }
}

/// What is wrong with one probability row.
pub(crate) enum RowFault {
    NonFinite {
        column: usize,
        value: f64,
    },
    Negative {
        column: usize,
        value: f64,
    },
    Sum(f64),
    /// Not a fault of the row: the copy of a non-contiguous row could not be allocated.
    NoScratch(NoRowScratch),
}

impl RowFault {
    pub(crate) fn into_error(
        self,
        function: &'static str,
        parameter: &'static str,
        row: String,
    ) -> KernelError {
        match self {
            RowFault::NonFinite { column, value } => KernelError::input(
                function,
                parameter,
                "an array of finite probabilities",
                format!("{value} at {row}, column {column}"),
            ),
            RowFault::Negative { column, value } => KernelError::input(
                function,
                parameter,
                "an array of non-negative probabilities",
                format!("{value} at {row}, column {column}"),
            ),
            RowFault::Sum(sum) => KernelError::input(
                function,
                parameter,
                format!("an array whose rows sum to 1 (within {PROBA_SUM_TOLERANCE})"),
                format!("{row} summing to {sum}"),
            ),
            RowFault::NoScratch(NoRowScratch { bytes }) => alloc::row_copy_failed(function, bytes),
        }
    }
}

/// Locates the first non-finite or negative entry of a row already known to hold one.
#[cold]
fn locate_fault<T: Real>(row: &[T]) -> RowFault {
    for (column, v) in row.iter().enumerate() {
        let value = v.to_f64();
        if !value.is_finite() {
            return RowFault::NonFinite { column, value };
        }
    }
    for (column, v) in row.iter().enumerate() {
        let value = v.to_f64();
        if value < 0.0 {
            return RowFault::Negative { column, value };
        }
    }
    RowFault::Sum(row.iter().map(|v| v.to_f64()).sum())
}

/// Rows gathered for a joint entropy computation, so that the logarithms run as one vectorised loop.
pub(crate) struct EntropyBatch {
    width: usize,
    values: Vec<f64>,
    indices: Vec<usize>,
}

impl EntropyBatch {
    /// Rows per batch: large enough to amortise the loop, small enough to stay in L1/L2 cache.
    pub(crate) const ROWS: usize = 256;

    /// A batch for rows of `width` values; its buffers are allocated fallibly and never grow.
    pub(crate) fn new(function: &'static str, width: usize) -> Result<Self, KernelError> {
        const WHAT: &str = "a batch of rows for the entropy";
        let values = alloc::count::<f64>(function, WHAT, &[width, Self::ROWS])?;
        Ok(EntropyBatch {
            width,
            values: alloc::with_capacity(function, WHAT, values)?,
            indices: Vec::with_capacity(Self::ROWS),
        })
    }

    pub(crate) fn push<T: Real>(&mut self, index: usize, row: &[T]) {
        self.values.extend(row.iter().map(|v| v.to_f64()));
        self.indices.push(index);
    }

    pub(crate) fn is_full(&self) -> bool {
        self.indices.len() >= Self::ROWS
    }

    /// Hands `(index, entropy)` of every gathered row to `sink`, in the order pushed, and empties the batch.
    pub(crate) fn flush(&mut self, mut sink: impl FnMut(usize, f64)) {
        xlogx_in_place(&mut self.values);
        let width = self.width.max(1);
        for (&index, terms) in self.indices.iter().zip(self.values.chunks_exact(width)) {
            // `0.0 -` keeps the entropy of a one-hot row at +0.0 rather than -0.0.
            sink(index, 0.0 - fixed_order_sum(terms));
        }
        self.values.clear();
        self.indices.clear();
    }
}

#[inline(always)]
fn max(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

#[inline(always)]
fn min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// Validates one probability row (finite, non-negative, sums to 1) in a single branch-free pass,
/// returning the largest entry and, when `TOP2`, the second largest (0 for a single column).
#[inline(always)]
fn check_row<T: Real, const TOP2: bool>(row: &[T]) -> Result<(f64, f64), RowFault> {
    let mut sum = 0.0f64;
    let mut low = f64::INFINITY;
    let mut first = 0.0f64;
    let mut second = 0.0f64;
    for v in row {
        let p = v.to_f64();
        sum += p;
        low = min(low, p);
        if TOP2 {
            second = max(second, min(first, p));
        }
        first = max(first, p);
    }
    // NaN or infinite entries make the sum NaN or infinite.
    if !sum.is_finite() || low < 0.0 {
        return Err(locate_fault(row));
    }
    if (sum - 1.0).abs() > PROBA_SUM_TOLERANCE {
        return Err(RowFault::Sum(sum));
    }
    Ok((first, second))
}

/// Validates rows `start..end` of `proba` in order and calls `visit(i, row, first, second)` for each
/// (largest and, when `TOP2`, second-largest entry); stops at the first invalid row and returns it.
///
/// Standard-layout input is read four rows at a time, column by column, so that the four rows' running
/// sums and maxima form independent dependency chains; each row's values are still combined in column
/// order, exactly as [`check_row`] does.
#[inline(always)]
pub(crate) fn scan_validated<T: Real, const TOP2: bool>(
    proba: &ArrayView2<'_, T>,
    start: usize,
    end: usize,
    mut visit: impl FnMut(usize, &[T], f64, f64),
) -> Result<(), (usize, RowFault)> {
    const ROWS: usize = 4;
    let c = proba.ncols();
    let Some(all) = proba.as_slice() else {
        let mut fault = None;
        for_each_row(proba, start, end, |i, row| {
            if fault.is_some() {
                return;
            }
            match check_row::<T, TOP2>(row) {
                Ok((first, second)) => visit(i, row, first, second),
                Err(f) => fault = Some((i, f)),
            }
        })
        .map_err(|no_scratch| (start, RowFault::NoScratch(no_scratch)))?;
        return fault.map_or(Ok(()), Err);
    };
    let rows = &all[start * c..end * c];
    let mut blocks = rows.chunks_exact(ROWS * c);
    let mut i = start;
    for block in &mut blocks {
        let lanes: [&[T]; ROWS] = std::array::from_fn(|r| &block[r * c..(r + 1) * c]);
        let mut sum = [0.0f64; ROWS];
        let mut low = [f64::INFINITY; ROWS];
        let mut first = [0.0f64; ROWS];
        let mut second = [0.0f64; ROWS];
        // Column-major over the four rows on purpose: the inner loop runs across rows.
        #[allow(clippy::needless_range_loop)]
        for j in 0..c {
            for r in 0..ROWS {
                let p = lanes[r][j].to_f64();
                sum[r] += p;
                low[r] = min(low[r], p);
                if TOP2 {
                    second[r] = max(second[r], min(first[r], p));
                }
                first[r] = max(first[r], p);
            }
        }
        for r in 0..ROWS {
            if !sum[r].is_finite() || low[r] < 0.0 {
                return Err((i + r, locate_fault(lanes[r])));
            }
            if (sum[r] - 1.0).abs() > PROBA_SUM_TOLERANCE {
                return Err((i + r, RowFault::Sum(sum[r])));
            }
            visit(i + r, lanes[r], first[r], second[r]);
        }
        i += ROWS;
    }
    for row in blocks.remainder().chunks_exact(c) {
        let (first, second) = check_row::<T, TOP2>(row).map_err(|f| (i, f))?;
        visit(i, row, first, second);
        i += 1;
    }
    Ok(())
}

/// Row `i` of `a` as a slice: in place for standard layout, else copied into `scratch` (which callers
/// allocate with room for a row, so that the copy never allocates).
#[inline]
fn row_of<'s, T: Real>(a: &'s ArrayView2<'_, T>, i: usize, scratch: &'s mut Vec<T>) -> &'s [T] {
    let c = a.ncols();
    if let Some(all) = a.as_slice() {
        return &all[i * c..(i + 1) * c];
    }
    scratch.clear();
    scratch.extend(a.row(i).iter().copied());
    scratch
}

/// Runs `fill(first_row, out)` over consecutive chunks of [`CHUNK_ROWS`] rows of a row-major output of
/// `width` values per row (in parallel when `entries` is large), and returns the error of the lowest chunk
/// that failed (each chunk stops at its first invalid row, so a row fault is the first one overall).
fn fill_row_chunks<F>(
    out: &mut [f64],
    width: usize,
    entries: usize,
    fill: F,
) -> Result<(), KernelError>
where
    F: Fn(usize, &mut [f64]) -> Result<(), KernelError> + Sync,
{
    let chunk = CHUNK_ROWS * width;
    if entries >= PARALLEL_MIN_ENTRIES {
        let results: Vec<_> = out
            .par_chunks_mut(chunk)
            .enumerate()
            .map(|(ci, o)| fill(ci * CHUNK_ROWS, o))
            .collect();
        results.into_iter().collect()
    } else {
        out.chunks_mut(chunk)
            .enumerate()
            .try_for_each(|(ci, o)| fill(ci * CHUNK_ROWS, o))
    }
}

/// Uncertainty score of every row of `proba` (n x c). Rows must hold finite, non-negative values summing
/// to 1 within [`PROBA_SUM_TOLERANCE`]; the first offending row is named in the error.
pub fn uncertainty_scores<T: Real>(
    proba: ArrayView2<'_, T>,
    measure: Measure,
) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "uncertainty_scores";
    check_non_empty(FUNCTION, "proba", "(n_samples, n_classes)", proba.dim())?;
    let (n, c) = proba.dim();
    let mut scores = alloc::filled(FUNCTION, "its output", 0.0f64, n)?;
    let into_error =
        |(i, fault): (usize, RowFault)| fault.into_error(FUNCTION, "proba", format!("row {i}"));
    let fill = |start: usize, out: &mut [f64]| -> Result<(), KernelError> {
        let end = start + out.len();
        let scanned = match measure {
            Measure::LeastConfidence => {
                scan_validated::<T, false>(&proba, start, end, |i, _, first, _| {
                    out[i - start] = 1.0 - first;
                })
            }
            Measure::Margin => {
                scan_validated::<T, true>(&proba, start, end, |i, _, first, second| {
                    out[i - start] = 1.0 - (first - second);
                })
            }
            Measure::Entropy => {
                let mut batch = EntropyBatch::new(FUNCTION, c)?;
                let scanned = scan_validated::<T, false>(&proba, start, end, |i, row, _, _| {
                    batch.push(i, row);
                    if batch.is_full() {
                        batch.flush(|j, h| out[j - start] = h);
                    }
                });
                batch.flush(|j, h| out[j - start] = h);
                scanned
            }
        };
        scanned.map_err(into_error)
    };
    fill_row_chunks(&mut scores, 1, n * c, fill)?;
    Ok(scores)
}

/// Several uncertainty scores of every row of `proba` from one validation pass, row-major `n x m` for the
/// `m` measures: entry `(i, j)` is row `i`'s score under `measures[j]`, bit-identical to what
/// [`uncertainty_scores`] gives. Rows are validated as there.
pub fn uncertainty_table<T: Real>(
    proba: ArrayView2<'_, T>,
    measures: &[Measure],
) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "uncertainty_table";
    check_non_empty(FUNCTION, "proba", "(n_samples, n_classes)", proba.dim())?;
    if measures.is_empty() {
        return Err(KernelError::parameter(
            FUNCTION,
            "measures",
            "a non-empty sequence of measure names",
            "an empty sequence",
        ));
    }
    let (n, c) = proba.dim();
    let m = measures.len();
    let entries = alloc::count::<f64>(FUNCTION, "its output", &[n, m])?;
    let mut table = alloc::filled(FUNCTION, "its output", 0.0f64, entries)?;
    if measures.contains(&Measure::Margin) {
        fill_row_chunks(&mut table, m, n * c, |start, out| {
            fill_table::<T, true>(FUNCTION, &proba, measures, start, out)
        })?;
    } else {
        fill_row_chunks(&mut table, m, n * c, |start, out| {
            fill_table::<T, false>(FUNCTION, &proba, measures, start, out)
        })?;
    }
    Ok(table)
}

/// Fills the rows of an [`uncertainty_table`] chunk starting at row `start`; `TOP2` when a measure needs
/// the second-largest entry.
fn fill_table<T: Real, const TOP2: bool>(
    function: &'static str,
    proba: &ArrayView2<'_, T>,
    measures: &[Measure],
    start: usize,
    out: &mut [f64],
) -> Result<(), KernelError> {
    let m = measures.len();
    let end = start + out.len() / m;
    let entropy = measures.contains(&Measure::Entropy);
    let mut batch = EntropyBatch::new(function, if entropy { proba.ncols() } else { 0 })?;
    let flush = |batch: &mut EntropyBatch, out: &mut [f64]| {
        batch.flush(|i, h| {
            let row = &mut out[(i - start) * m..(i - start + 1) * m];
            for (cell, measure) in row.iter_mut().zip(measures) {
                if *measure == Measure::Entropy {
                    *cell = h;
                }
            }
        })
    };
    let scanned = scan_validated::<T, TOP2>(proba, start, end, |i, row, first, second| {
        let cells = &mut out[(i - start) * m..(i - start + 1) * m];
        for (cell, measure) in cells.iter_mut().zip(measures) {
            match measure {
                Measure::LeastConfidence => *cell = 1.0 - first,
                Measure::Margin => *cell = 1.0 - (first - second),
                Measure::Entropy => {}
            }
        }
        if entropy {
            batch.push(i, row);
            if batch.is_full() {
                flush(&mut batch, out);
            }
        }
    });
    flush(&mut batch, out);
    scanned.map_err(|(i, fault)| fault.into_error(function, "proba", format!("row {i}")))
}

/// Rows per chunk of the fused selection: larger than [`CHUNK_ROWS`] so that each chunk's heap threshold
/// rises early and prunes most rows.
const SELECT_CHUNK_ROWS: usize = 1 << 16;
/// How many rows may enter a chunk's heap before the entropy cutoff is recomputed.
const CUTOFF_REFRESH: usize = 16;
/// Absolute slack of the entropy pruning test, far above the rounding error of computed entropies.
const ENTROPY_SLACK: f64 = 1e-9;

/// An upper bound on the entropy of a validated row from its largest entry `m` alone, used to skip the
/// logarithms of rows that cannot reach the heap.
///
/// For a row summing to `s` (within `tol = PROBA_SUM_TOLERANCE` of 1) with largest entry `m`, write
/// `p = s q`: `H(p) = s H(q) - s ln s`. Among distributions over `c` classes whose largest entry is
/// `x >= 1/c`, entropy is largest when the rest is spread evenly:
/// `G(x) = -x ln x - (1 - x) ln((1 - x) / (c - 1))`, which decreases on `[1/c, 1]`. Since `m / s >= m / (1 + tol)`
/// and `-s ln s <= tol`, `H(p) <= (1 + tol) G(max(m / (1 + tol), 1/c)) + tol`.
struct EntropyBound {
    classes: f64,
}

impl EntropyBound {
    fn bound(&self, m: f64) -> f64 {
        let tol = PROBA_SUM_TOLERANCE;
        let x = (m / (1.0 + tol)).max(1.0 / self.classes).min(1.0);
        let rest = 1.0 - x;
        let spread = if rest > 0.0 && self.classes > 1.0 {
            -rest * (rest / (self.classes - 1.0)).ln()
        } else {
            0.0
        };
        (1.0 + tol) * (-x * x.ln() + spread) + tol
    }

    /// The largest entry above which a row's entropy is certainly below `threshold - ENTROPY_SLACK`
    /// (infinite when no row can be ruled out).
    fn cutoff(&self, threshold: f64) -> f64 {
        let target = threshold - ENTROPY_SLACK;
        if self.bound(1.0) >= target {
            return f64::INFINITY;
        }
        let (mut lo, mut hi) = (1.0 / self.classes, 1.0);
        if self.bound(lo) < target {
            return 0.0;
        }
        for _ in 0..64 {
            let mid = 0.5 * (lo + hi);
            if self.bound(mid) < target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }
}

/// Indices of the `k` most uncertain rows of `proba`, most uncertain first, ties to the lower index.
/// Rows are validated and scored one at a time and kept in a bounded heap per chunk; the n-length score
/// vector is never materialised. Entropy takes the two passes of [`select_by_entropy`].
pub fn select_most_uncertain<T: Real>(
    proba: ArrayView2<'_, T>,
    k: usize,
    measure: Measure,
) -> Result<Vec<usize>, KernelError> {
    const FUNCTION: &str = "select_most_uncertain";
    check_non_empty(FUNCTION, "proba", "(n_samples, n_classes)", proba.dim())?;
    let (n, c) = proba.dim();
    check_k(FUNCTION, k, n, "the number of rows of proba")?;
    let parallel = n * c >= PARALLEL_MIN_ENTRIES;
    let into_error =
        |(i, fault): (usize, RowFault)| fault.into_error(FUNCTION, "proba", format!("row {i}"));
    let ranges = chunk_ranges(n, SELECT_CHUNK_ROWS);
    // Every chunk keeps up to k candidates; room to merge them, and the output, are allocated first.
    let candidates = ranges.iter().map(|(start, end)| k.min(end - start)).sum();
    let buffers = MergeBuffers::new(FUNCTION, candidates, k)?;
    if measure == Measure::Entropy {
        return select_by_entropy(FUNCTION, &proba, k, ranges, buffers, parallel, into_error);
    }
    let scan = |(start, end): (usize, usize)| -> Result<Vec<Ranked>, KernelError> {
        let mut top = TopK::new(FUNCTION, k, end - start)?;
        if measure == Measure::Margin {
            scan_validated::<T, true>(&proba, start, end, |i, _, first, second| {
                top.offer(1.0 - (first - second), i);
            })
            .map_err(into_error)?;
        } else {
            scan_validated::<T, false>(&proba, start, end, |i, _, first, _| {
                top.offer(1.0 - first, i);
            })
            .map_err(into_error)?;
        }
        Ok(top.into_vec())
    };
    let tops = run_chunks(ranges, parallel, scan)?;
    Ok(merge_top(tops, k, buffers))
}

/// Maps `work` over `ranges` (in parallel when asked) and returns the results in range order, or the
/// error of the lowest range that failed (each range stops at its first invalid row, so that error is
/// the first invalid row overall).
fn run_chunks<R: Send, F>(
    ranges: Vec<(usize, usize)>,
    parallel: bool,
    work: F,
) -> Result<Vec<R>, KernelError>
where
    F: Fn((usize, usize)) -> Result<R, KernelError> + Sync,
{
    let partial: Vec<Result<R, KernelError>> = if parallel {
        ranges.into_par_iter().map(&work).collect()
    } else {
        ranges.into_iter().map(&work).collect()
    };
    partial.into_iter().collect()
}

/// A buffer with room for one row of `proba`, for [`row_of`].
fn row_scratch<T: Real>(
    function: &'static str,
    proba: &ArrayView2<'_, T>,
) -> Result<Vec<T>, KernelError> {
    let c = if proba.is_standard_layout() {
        0
    } else {
        proba.ncols()
    };
    alloc::with_capacity(function, "a copy of one row", c)
}

/// Entropy of the given rows, in the order given.
fn entropies_of<T: Real>(
    function: &'static str,
    proba: &ArrayView2<'_, T>,
    rows: &[usize],
) -> Result<Vec<f64>, KernelError> {
    let mut batch = EntropyBatch::new(function, proba.ncols())?;
    let mut scratch = row_scratch(function, proba)?;
    let mut out = alloc::with_capacity(function, "the entropies of the seed rows", rows.len())?;
    for &i in rows {
        batch.push(i, row_of(proba, i, &mut scratch));
        if batch.is_full() {
            batch.flush(|_, h| out.push(h));
        }
    }
    batch.flush(|_, h| out.push(h));
    Ok(out)
}

/// Resolution of the stored largest probabilities of [`select_by_entropy`].
const LARGEST_STEPS: f64 = u16::MAX as f64;

/// `m` quantised to a `u16` rounded down (`q / LARGEST_STEPS <= m`); valid rows have `m <= 1 + tol`.
#[inline(always)]
fn quantise_down(m: f64) -> u16 {
    // The factor absorbs the rounding of the product, so that truncation never rounds up.
    (m * (LARGEST_STEPS * (1.0 - 1e-12))).min(LARGEST_STEPS) as u16
}

/// The fused selection for entropy, in two passes.
///
/// Pass 1 validates every row and keeps its largest probability `m` (quantised to a `u16` rounded down, so
/// that a stored value above the cutoff still proves `m` above it), plus each chunk's `k` rows of smallest
/// `m`. Those rows are likely to hold most of the k most uncertain: the k-th highest of their entropies is
/// a lower bound on the overall k-th highest entropy (k rows reach it), close enough to it on typical
/// model output to prune well from the very first row of pass 2.
/// Pass 2 computes the entropy only of rows whose `m` the [`EntropyBound`] cannot exclude (a few percent
/// on typical model output), re-reading just those rows with prefetching. Pruning with any valid lower
/// bound is exact, so the result does not depend on timing or on the number of threads.
fn select_by_entropy<T: Real>(
    function: &'static str,
    proba: &ArrayView2<'_, T>,
    k: usize,
    ranges: Vec<(usize, usize)>,
    buffers: MergeBuffers,
    parallel: bool,
    into_error: impl Fn((usize, RowFault)) -> KernelError + Sync,
) -> Result<Vec<usize>, KernelError> {
    /// Candidate rows requested from memory ahead of their use.
    const PREFETCH_AHEAD: usize = 24;
    let (n, c) = proba.dim();
    let bound = EntropyBound { classes: c as f64 };
    let validate = |(start, end): (usize, usize)| {
        let mut largest = alloc::filled(function, "the largest probabilities", 0u16, end - start)?;
        let mut flattest = TopK::new(function, k, end - start)?;
        scan_validated::<T, false>(proba, start, end, |i, _, m, _| {
            largest[i - start] = quantise_down(m);
            flattest.offer(-m, i);
        })
        .map_err(&into_error)?;
        Ok((largest, flattest.into_vec()))
    };
    let (largest, flattest_parts): (Vec<Vec<u16>>, Vec<Vec<Ranked>>) =
        run_chunks(ranges.clone(), parallel, validate)?
            .into_iter()
            .unzip();
    // Seeds are scored on one thread: keep them to a small fraction of the rows (and at least k).
    let seed_count = flattest_parts
        .iter()
        .map(Vec::len)
        .sum::<usize>()
        .min((n / 16).max(k));
    let seed_buffers = MergeBuffers::new(
        function,
        flattest_parts.iter().map(Vec::len).sum(),
        seed_count,
    )?;
    let seeds = merge_top(flattest_parts, seed_count, seed_buffers);
    let mut seed_entropies = entropies_of(function, proba, &seeds)?;
    seed_entropies.sort_unstable_by(|a, b| b.total_cmp(a));
    let seed_floor = seed_entropies[k - 1].max(0.0);
    // Entropies are >= 0, so the bit patterns of their f64 values order like the values. Chunks publish
    // their heap thresholds here (k rows there score at least that much) to prune each other's rows.
    let shared_threshold = AtomicU64::new(seed_floor.to_bits());
    let known_threshold = |top: &TopK| {
        let shared = f64::from_bits(shared_threshold.load(AtomicOrdering::Relaxed));
        match top.threshold() {
            Some(own) if own > shared => {
                shared_threshold.fetch_max(own.to_bits(), AtomicOrdering::Relaxed);
                own
            }
            _ => shared,
        }
    };
    // Stored values above this prove `m > cutoff` (one step of margin for the product's rounding).
    let stored_cutoff = |cutoff: f64| -> u32 {
        if cutoff >= 2.0 {
            u32::MAX
        } else {
            (cutoff * LARGEST_STEPS) as u32 + 1
        }
    };
    let work: Vec<((usize, usize), Vec<u16>)> = ranges.into_iter().zip(largest).collect();
    let score = |((start, _), largest): &((usize, usize), Vec<u16>)| {
        let mut top = TopK::new(function, k, largest.len())?;
        let mut batch = EntropyBatch::new(function, c)?;
        let mut scratch = row_scratch(function, proba)?;
        let mut cutoff = stored_cutoff(bound.cutoff(known_threshold(&top)));
        let mut entered = 0usize;
        let mut candidates: Vec<usize> = Vec::with_capacity(EntropyBatch::ROWS);
        let mut offset = 0;
        while offset < largest.len() {
            // Gather the next batch of candidates, then read their rows with prefetching.
            candidates.clear();
            while offset < largest.len() && candidates.len() < EntropyBatch::ROWS {
                if u32::from(largest[offset]) <= cutoff {
                    candidates.push(start + offset);
                }
                offset += 1;
            }
            if proba.is_standard_layout() {
                for &i in candidates.iter().take(PREFETCH_AHEAD) {
                    prefetch(row_of(proba, i, &mut scratch));
                }
            }
            for (j, &i) in candidates.iter().enumerate() {
                if proba.is_standard_layout() {
                    if let Some(&ahead) = candidates.get(j + PREFETCH_AHEAD) {
                        prefetch(row_of(proba, ahead, &mut scratch));
                    }
                }
                batch.push(i, row_of(proba, i, &mut scratch));
            }
            batch.flush(|j, h| entered += usize::from(top.offer(h, j)));
            if entered >= CUTOFF_REFRESH {
                cutoff = stored_cutoff(bound.cutoff(known_threshold(&top)));
                entered = 0;
            }
        }
        Ok(top.into_vec())
    };
    let tops: Vec<Vec<Ranked>> = if parallel {
        work.par_iter().map(score).collect::<Result<_, _>>()?
    } else {
        work.iter().map(score).collect::<Result<_, _>>()?
    };
    Ok(merge_top(tops, k, buffers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastmath::xlogx;

    /// The sum of `p ln p` over a probability row (`0 ln 0 = 0`), row by row.
    #[inline]
    fn sum_xlogx<T: Real>(row: &[T]) -> f64 {
        const LANES: usize = 4;
        let mut acc = [0.0f64; LANES];
        let mut chunks = row.chunks_exact(LANES);
        for chunk in &mut chunks {
            for l in 0..LANES {
                acc[l] += xlogx(chunk[l].to_f64());
            }
        }
        for (l, v) in chunks.remainder().iter().enumerate() {
            acc[l] += xlogx(v.to_f64());
        }
        (acc[0] + acc[2]) + (acc[1] + acc[3])
    }

    #[test]
    fn entropy_selection_over_many_chunks_equals_top_k_of_scores() {
        // Several selection chunks, skewed rows (so that most are pruned) and repeated rows (ties).
        let (n, c) = (3 * SELECT_CHUNK_ROWS + 123, 5);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut values = Vec::with_capacity(n * c);
        for i in 0..n {
            if i % 997 == 0 && i > 0 {
                let previous = values[(i - 1) * c..i * c].to_vec();
                values.extend(previous);
                continue;
            }
            let row: Vec<f64> = (0..c).map(|_| (4.0 * uniform()).exp()).collect();
            let total: f64 = row.iter().sum();
            values.extend(row.iter().map(|v| v / total));
        }
        let proba = ndarray::Array2::from_shape_vec((n, c), values).unwrap();
        let scores = uncertainty_scores(proba.view(), Measure::Entropy).unwrap();
        for k in [1, 37, 5000] {
            assert_eq!(
                select_most_uncertain(proba.view(), k, Measure::Entropy).unwrap(),
                crate::topk::top_k(&scores, k).unwrap(),
                "k={k}"
            );
        }
    }

    #[test]
    fn entropy_bound_holds_and_cutoff_is_consistent() {
        for c in [1usize, 2, 3, 10, 100] {
            let bound = EntropyBound { classes: c as f64 };
            // Rows with the largest entry m, the rest spread evenly: the worst case of the bound.
            for step in 0..=200 {
                let m = 1.0 / c as f64 + (1.0 - 1.0 / c as f64) * step as f64 / 200.0;
                let rest = if c > 1 {
                    (1.0 - m) / (c - 1) as f64
                } else {
                    0.0
                };
                let mut row = vec![rest; c];
                row[0] = m;
                let h = 0.0 - sum_xlogx(&row);
                assert!(h <= bound.bound(m) + 1e-12, "c={c} m={m}");
            }
            for threshold in [0.0, 0.001, 0.01, 0.3, 0.69, 1.5, 5.0] {
                let cut = bound.cutoff(threshold);
                if cut.is_finite() && cut < 1.0 {
                    assert!(bound.bound(cut.max(1.0 / c as f64)) < threshold);
                }
            }
        }
    }
}
