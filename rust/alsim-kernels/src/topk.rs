//! Top-k selection with ties broken towards the lower index.

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
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
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

/// Merges per-chunk candidate lists into the overall best `k`, best first. The order of the total ranking
/// is strict, so the result does not depend on how the candidates were split.
pub(crate) fn merge_top(parts: Vec<Vec<Ranked>>, k: usize) -> Vec<usize> {
    let mut all: Vec<Ranked> = parts.into_iter().flatten().collect();
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.truncate(k);
    all.into_iter().map(|r| r.index).collect()
}

/// Indices of the `k` highest scores, highest first, ties to the lower index. Expected O(n) selection
/// (introselect) followed by an O(k log k) sort of the selected entries; O(n) extra memory.
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
    let mut ranked: Vec<Ranked> = scores
        .iter()
        .enumerate()
        .map(|(index, s)| Ranked {
            score: s.to_f64(),
            index,
        })
        .collect();
    let best_first = |a: &Ranked, b: &Ranked| b.cmp(a);
    if k < n {
        ranked.select_nth_unstable_by(k - 1, best_first);
        ranked.truncate(k);
    }
    ranked.sort_unstable_by(best_first);
    Ok(ranked.into_iter().map(|r| r.index).collect())
}
