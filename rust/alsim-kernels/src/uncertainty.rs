//! Uncertainty scores of class-probability rows, and the fused selection of the most uncertain rows.

use crate::error::{check_k, KernelError};
use crate::real::Real;
use crate::rows::{chunk_ranges, for_each_row};
use crate::topk::{merge_top, Ranked, TopK};
use ndarray::ArrayView2;
use rayon::prelude::*;

/// How far a probability row's sum may stray from 1 before the row is rejected.
pub const PROBA_SUM_TOLERANCE: f64 = 1e-3;

/// Rows per chunk of work; fixed so that results do not depend on the thread count.
const CHUNK_ROWS: usize = 8192;
/// Below this many probability entries the work stays on the calling thread.
const PARALLEL_MIN_ENTRIES: usize = 1 << 17;

/// An uncertainty measure; for all three, higher means more uncertain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// `1 - max_c p_c`.
    LeastConfidence,
    /// `1 - (p_(1) - p_(2))`, the gap between the two largest probabilities (a single column counts as
    /// a second probability of 0).
    Margin,
    /// `-sum_c p_c ln p_c` in nats, with `0 ln 0 = 0`.
    Entropy,
}

impl Measure {
    /// The measure names, as accepted by [`Measure::parse`].
    pub const NAMES: [&'static str; 3] = ["least_confidence", "margin", "entropy"];

    /// Parses a measure name; `function` names the caller for the error message.
    pub fn parse(name: &str, function: &'static str) -> Result<Self, KernelError> {
        match name {
            "least_confidence" => Ok(Measure::LeastConfidence),
            "margin" => Ok(Measure::Margin),
            "entropy" => Ok(Measure::Entropy),
            other => Err(KernelError::parameter(
                function,
                "measure",
                "a str among {'least_confidence', 'margin', 'entropy'}",
                format!("{other:?}"),
            )),
        }
    }
}

/// What is wrong with one probability row.
enum RowFault {
    NonFinite { column: usize, value: f64 },
    Negative { column: usize, value: f64 },
    Sum(f64),
}

impl RowFault {
    pub(crate) fn into_error(self, function: &'static str, parameter: &'static str, row: String) -> KernelError {
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

/// `p ln p`, with `0 ln 0 = 0`.
#[inline(always)]
pub(crate) fn xlogx(p: f64) -> f64 {
    if p > 0.0 {
        p * p.ln()
    } else {
        0.0
    }
}

/// The sum of `p ln p` over a validated probability row.
#[inline]
pub(crate) fn sum_xlogx<T: Real>(row: &[T]) -> f64 {
    row.iter().map(|v| xlogx(v.to_f64())).sum()
}

/// Validates one probability row (finite, non-negative, sums to 1) in a single pass, returning the
/// largest and second-largest entries (the second is 0 for a single column).
#[inline(always)]
fn check_row<T: Real>(row: &[T]) -> Result<(f64, f64), RowFault> {
    let mut sum = 0.0f64;
    let mut min = f64::INFINITY;
    let mut first = 0.0f64;
    let mut second = 0.0f64;
    for v in row {
        let p = v.to_f64();
        sum += p;
        min = min.min(p);
        if p > first {
            second = first;
            first = p;
        } else if p > second {
            second = p;
        }
    }
    if !sum.is_finite() || min < 0.0 {
        return Err(locate_fault(row));
    }
    if (sum - 1.0).abs() > PROBA_SUM_TOLERANCE {
        return Err(RowFault::Sum(sum));
    }
    Ok((first, second))
}

/// Validates a probability row and scores it.
#[inline(always)]
fn score_row<T: Real>(row: &[T], measure: Measure) -> Result<f64, RowFault> {
    let (first, second) = check_row(row)?;
    Ok(match measure {
        Measure::LeastConfidence => 1.0 - first,
        Measure::Margin => 1.0 - (first - second),
        // `0.0 -` keeps the score of a one-hot row at +0.0 rather than -0.0.
        Measure::Entropy => 0.0 - sum_xlogx(row),
    })
}

/// Validates a probability row of a committee member (for consensus KL).
pub(crate) fn check_member_row<T: Real>(
    row: &[T],
    function: &'static str,
    member: usize,
    example: usize,
) -> Result<(), KernelError> {
    check_row(row)
        .map(|_| ())
        .map_err(|fault| fault.into_error(function, "member_proba", format!("member {member}, row {example}")))
}

fn check_shape(function: &'static str, proba: &ArrayView2<'_, impl Real>) -> Result<(), KernelError> {
    let (n, c) = proba.dim();
    if n == 0 || c == 0 {
        return Err(KernelError::input(
            function,
            "proba",
            "a non-empty 2-D array of shape (n_samples, n_classes)",
            format!("shape ({n}, {c})"),
        ));
    }
    Ok(())
}

/// Uncertainty score of every row of `proba` (n x c). Rows must hold finite, non-negative values summing
/// to 1 within [`PROBA_SUM_TOLERANCE`]; the first offending row is named in the error.
pub fn uncertainty_scores<T: Real>(proba: ArrayView2<'_, T>, measure: Measure) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "uncertainty_scores";
    check_shape(FUNCTION, &proba)?;
    let (n, c) = proba.dim();
    let mut scores = vec![0.0f64; n];
    let fill = |(start, out): (usize, &mut [f64])| -> Result<(), (usize, RowFault)> {
        let mut fault = None;
        for_each_row(&proba, start, start + out.len(), |i, row| {
            if fault.is_some() {
                return;
            }
            match score_row(row, measure) {
                Ok(s) => out[i - start] = s,
                Err(f) => fault = Some((i, f)),
            }
        });
        fault.map_or(Ok(()), Err)
    };
    let outcome: Result<(), (usize, RowFault)> = if n * c >= PARALLEL_MIN_ENTRIES {
        let results: Vec<_> = scores
            .par_chunks_mut(CHUNK_ROWS)
            .enumerate()
            .map(|(ci, out)| fill((ci * CHUNK_ROWS, out)))
            .collect();
        results.into_iter().collect()
    } else {
        scores.chunks_mut(CHUNK_ROWS).enumerate().map(|(ci, out)| fill((ci * CHUNK_ROWS, out))).collect()
    };
    outcome.map_err(|(i, fault)| fault.into_error(FUNCTION, "proba", format!("row {i}")))?;
    Ok(scores)
}

/// Indices of the `k` most uncertain rows of `proba`, most uncertain first, ties to the lower index.
/// Scores are computed row by row and kept in a bounded heap per chunk; the n-length score vector is
/// never materialised.
pub fn select_most_uncertain<T: Real>(
    proba: ArrayView2<'_, T>,
    k: usize,
    measure: Measure,
) -> Result<Vec<usize>, KernelError> {
    const FUNCTION: &str = "select_most_uncertain";
    check_shape(FUNCTION, &proba)?;
    let (n, c) = proba.dim();
    check_k(FUNCTION, k, n, "the number of rows of proba")?;
    let scan = |(start, end): (usize, usize)| -> Result<Vec<Ranked>, (usize, RowFault)> {
        let mut top = TopK::new(k);
        let mut fault = None;
        for_each_row(&proba, start, end, |i, row| {
            if fault.is_some() {
                return;
            }
            match score_row(row, measure) {
                Ok(score) => top.offer(score, i),
                Err(f) => fault = Some((i, f)),
            }
        });
        match fault {
            Some(f) => Err(f),
            None => Ok(top.into_vec()),
        }
    };
    let ranges = chunk_ranges(n, CHUNK_ROWS);
    let partial: Vec<Result<Vec<Ranked>, (usize, RowFault)>> = if n * c >= PARALLEL_MIN_ENTRIES {
        ranges.into_par_iter().map(scan).collect()
    } else {
        ranges.into_iter().map(scan).collect()
    };
    let mut tops = Vec::with_capacity(partial.len());
    for part in partial {
        tops.push(part.map_err(|(i, fault)| fault.into_error(FUNCTION, "proba", format!("row {i}")))?);
    }
    Ok(merge_top(tops, k))
}
