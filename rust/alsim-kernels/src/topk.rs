//! Top-k selection with ties broken towards the lower index.

use crate::alloc;
use crate::error::{check_k, KernelError};
use crate::real::Real;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A score with its index, ordered so that "greater" means "ranked earlier": higher score first, and the
/// lower index first among equal scores. Scores are never NaN (callers validate), and -0.0 equals 0.0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ranked {
    pub(crate) score: f64,
    pub(crate) index: usize,
}

impl Eq for Ranked {}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .partial_cmp(&other.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| other.index.cmp(&self.index))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The best `k` candidates seen so far, in a min-heap whose top is the worst kept candidate.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<Ranked>>,
}

impl TopK {
    /// A heap for the best `k` of at most `candidates` offers; its storage is allocated fallibly, for
    /// `min(k, candidates)` entries, and never grows.
    pub(crate) fn new(
        function: &'static str,
        k: usize,
        candidates: usize,
    ) -> Result<Self, KernelError> {
        let storage =
            alloc::with_capacity(function, "a heap of candidates", k.min(candidates) + 1)?;
        Ok(TopK {
            k,
            heap: BinaryHeap::from(storage),
        })
    }

    /// Offers a candidate; returns whether it was kept.
    #[inline(always)]
    pub(crate) fn offer(&mut self, score: f64, index: usize) -> bool {
        let candidate = Ranked { score, index };
        if self.heap.len() < self.k {
            self.heap.push(Reverse(candidate));
            return true;
        }
        if let Some(mut worst) = self.heap.peek_mut() {
            if candidate > worst.0 {
                *worst = Reverse(candidate);
                return true;
            }
        }
        false
    }

    /// The score a candidate must beat once `k` candidates are kept.
    pub(crate) fn threshold(&self) -> Option<f64> {
        if self.heap.len() < self.k {
            return None;
        }
        self.heap.peek().map(|worst| worst.0.score)
    }

    pub(crate) fn into_vec(self) -> Vec<Ranked> {
        self.heap.into_iter().map(|Reverse(r)| r).collect()
    }
}

/// The buffers [`merge_top`] fills: room for every candidate of the parts and for the `k` indices.
/// Allocated (fallibly) before the work, so that a selection too large for memory fails at once.
pub(crate) struct MergeBuffers {
    all: Vec<Ranked>,
    out: Vec<usize>,
}

impl MergeBuffers {
    /// Buffers for merging parts of at most `candidates` candidates in all into the best `k`.
    pub(crate) fn new(
        function: &'static str,
        candidates: usize,
        k: usize,
    ) -> Result<Self, KernelError> {
        Ok(MergeBuffers {
            all: alloc::with_capacity(function, "the merged candidates", candidates)?,
            out: alloc::with_capacity(function, "its output", k.min(candidates))?,
        })
    }
}

/// Merges per-chunk candidate lists into the overall best `k`, best first. The order of the total ranking
/// is strict, so the result does not depend on how the candidates were split.
pub(crate) fn merge_top(parts: Vec<Vec<Ranked>>, k: usize, buffers: MergeBuffers) -> Vec<usize> {
    let MergeBuffers { mut all, mut out } = buffers;
    all.extend(parts.into_iter().flatten());
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.truncate(k);
    out.extend(all.into_iter().map(|r| r.index));
    out
}

/// Sample size for estimating a cutoff below the `k`-th highest score.
const CUTOFF_SAMPLE: usize = 1024;
/// Up to this many candidates, the `k` best are selected on the (score, index) order directly.
const SMALL_SELECT: usize = 4096;

/// Indices of the `k` highest scores, highest first, ties to the lower index, in expected O(n) time plus
/// O(k log k); O(n) extra memory at most.
///
/// On large inputs a strided sample of the scores gives a cutoff that a little more than `k` scores should
/// reach, and one pass keeps the scores at or above it (all of them when the cutoff turns out too high,
/// which only costs time). An introselect on the kept entries finds the `k` best, which are then sorted.
pub fn top_k<T: Real>(scores: &[T], k: usize) -> Result<Vec<usize>, KernelError> {
    const FUNCTION: &str = "top_k";
    let n = scores.len();
    if n == 0 {
        return Err(KernelError::input(
            FUNCTION,
            "scores",
            "a non-empty 1-D array",
            "an empty array",
        ));
    }
    check_k(FUNCTION, k, n, "the number of scores")?;
    if let Some(i) = scores.iter().position(|s| s.to_f64().is_nan()) {
        return Err(KernelError::input(
            FUNCTION,
            "scores",
            "an array without NaN",
            format!("NaN at index {i}"),
        ));
    }
    // `+ 0.0` turns -0.0 into 0.0, so that the total order used for selecting agrees with `==`.
    let value = |s: &T| s.to_f64() + 0.0;
    let rank = |(index, s): (usize, &T)| Ranked {
        score: value(s),
        index,
    };
    const KEPT: &str = "the candidate scores";
    let everything = || alloc::collect(FUNCTION, KEPT, scores.iter().enumerate().map(rank));
    let mut kept = if n >= 8 * CUTOFF_SAMPLE && k <= n / 16 {
        let mut sample: Vec<f64> = scores
            .iter()
            .step_by(n / CUTOFF_SAMPLE)
            .map(value)
            .collect();
        let m = sample.len();
        // About twice the sample points expected above the k-th highest score, plus slack.
        let above = (2 * k * m / n + 8).min(m - 1);
        let cutoff = *sample
            .select_nth_unstable_by(m - 1 - above, f64::total_cmp)
            .1;
        // Sized for what the sample predicts, up to a size the allocator serves from its heap (a larger
        // request maps fresh pages, whose first touch costs more than growing the buffer).
        let mut kept = alloc::with_capacity(
            FUNCTION,
            KEPT,
            (2 * (above + 1) * n / m + k).min(SMALL_SELECT),
        )?;
        for (index, s) in scores.iter().enumerate() {
            let score = value(s);
            if score >= cutoff {
                if kept.len() == kept.capacity() {
                    // Doubles, as an infallible push would, but fallibly.
                    let grow = kept.len().max(1);
                    alloc::reserve(&mut kept, FUNCTION, KEPT, grow)?;
                }
                kept.push(Ranked { score, index });
            }
        }
        if kept.len() >= k {
            kept
        } else {
            everything()?
        }
    } else {
        everything()?
    };
    let best_first = |a: &Ranked, b: &Ranked| b.cmp(a);
    if kept.len() <= SMALL_SELECT {
        // Few entries: select on the (score, index) order directly.
        if k < kept.len() {
            kept.select_nth_unstable_by(k - 1, best_first);
            kept.truncate(k);
        }
    } else {
        // Many entries: find the k-th highest value on plain values (cheaper to move and compare), then
        // keep what is above it and, lowest indices first, as many equal to it as still fit. Every score
        // above the k-th highest is kept, so the k-th highest of the kept ones is the overall one.
        let mut values = alloc::collect(FUNCTION, KEPT, kept.iter().map(|r| r.score))?;
        let len = values.len();
        let kth = *values.select_nth_unstable_by(len - k, f64::total_cmp).1;
        let mut ties = k - values[len - k + 1..].iter().filter(|&&v| v > kth).count();
        kept.retain(|r| {
            let tie = r.score == kth && ties > 0;
            ties -= usize::from(tie);
            r.score > kth || tie
        });
    }
    kept.sort_unstable_by(best_first);
    alloc::collect(FUNCTION, "its output", kept.into_iter().map(|r| r.index))
}
