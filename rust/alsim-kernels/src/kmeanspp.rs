//! k-means++ seeding (D-squared sampling).

use crate::alloc;
use crate::distance::Rows;
use crate::error::{check_k, KernelError};
use crate::fastmath::{vectorized, Work};
use crate::real::Real;
use crate::rng::PortableRng;
use crate::rows::PARALLEL_MIN_ENTRIES;
use ndarray::ArrayView2;
use rayon::prelude::*;

/// Rows per chunk; fixed so that partial sums, and hence the draws, do not depend on the thread count.
const CHUNK_ROWS: usize = 4096;

/// k-means++ seeding: the first center is a uniform draw, each next one is drawn with probability
/// proportional to its squared distance to the nearest center chosen so far (plain D-squared sampling,
/// one candidate per step). Draws come from [`PortableRng`] seeded with `seed`, and the weights are summed
/// in a fixed chunked order, so results are identical across platforms and thread counts. Points are never
/// chosen twice: when every remaining point coincides with a center (all weights zero), the next center
/// is drawn uniformly from the points not chosen yet.
pub fn kmeans_pp<T: Real>(
    x: ArrayView2<'_, T>,
    k: usize,
    seed: u64,
) -> Result<Vec<usize>, KernelError> {
    const FUNCTION: &str = "kmeans_pp";
    // The O(n) buffers come first, before the O(n d) check of the points.
    let n = x.nrows();
    let mut chosen = alloc::filled(FUNCTION, "its table of chosen points", false, n)?;
    let mut weight = alloc::filled(FUNCTION, "its table of weights", f64::INFINITY, n)?;
    let mut centers = alloc::with_capacity(FUNCTION, "its output", k.min(n))?;
    let rows = Rows::points(FUNCTION, x)?;
    let d = rows.d();
    check_k(FUNCTION, k, n, "the number of rows of X")?;
    let parallel = n * d >= PARALLEL_MIN_ENTRIES;
    let mut pick_all = || {
        let mut rng = PortableRng::new(seed);
        let mut next = rng.index(n);
        loop {
            chosen[next] = true;
            centers.push(next);
            if centers.len() == k {
                break;
            }
            let center = rows.try_owned_row(FUNCTION, next)?;
            let update = |(c, weight): (usize, &mut [f64])| -> f64 {
                vectorized(WeightUpdate {
                    rows: &rows,
                    center: &center,
                    start: c * CHUNK_ROWS,
                    weight,
                })
            };
            let chunk_totals: Vec<f64> = if parallel {
                weight
                    .par_chunks_mut(CHUNK_ROWS)
                    .enumerate()
                    .map(update)
                    .collect()
            } else {
                weight
                    .chunks_mut(CHUNK_ROWS)
                    .enumerate()
                    .map(update)
                    .collect()
            };
            let total: f64 = chunk_totals.iter().sum();
            next = if total > 0.0 && total.is_finite() {
                draw_weighted(&weight, &chunk_totals, rng.uniform() * total)
            } else {
                let remaining = n - centers.len();
                let r = rng.index(remaining);
                (0..n).filter(|&i| !chosen[i]).nth(r).unwrap_or(0)
            };
        }
        Ok(())
    };
    // The picks are sequential steps of parallel passes: running them all on a pool thread hands each
    // pass to the pool without waking it from outside every time.
    if parallel {
        rayon::scope(|_| pick_all())?;
    } else {
        pick_all()?;
    }
    Ok(centers)
}

/// The index where the running sum of `weight` first exceeds `target`, skipping zero weights; the last
/// positive weight if rounding leaves `target` at or above the total.
fn draw_weighted(weight: &[f64], chunk_totals: &[f64], target: f64) -> usize {
    let mut acc = 0.0;
    let mut last_positive = 0;
    for (c, &chunk_total) in chunk_totals.iter().enumerate() {
        let start = c * CHUNK_ROWS;
        if acc + chunk_total <= target {
            acc += chunk_total;
            if chunk_total > 0.0 {
                if let Some(p) = weight[start..(start + CHUNK_ROWS).min(weight.len())]
                    .iter()
                    .rposition(|&w| w > 0.0)
                {
                    last_positive = start + p;
                }
            }
            continue;
        }
        for (j, &w) in weight[start..(start + CHUNK_ROWS).min(weight.len())]
            .iter()
            .enumerate()
        {
            if w > 0.0 {
                acc += w;
                last_positive = start + j;
                if acc > target {
                    return start + j;
                }
            }
        }
    }
    last_positive
}

/// Lowers the weights (squared distances to the nearest center) of rows `start..` to their squared
/// distance to a new center; returns the chunk's new total weight.
struct WeightUpdate<'a, 'r, T> {
    rows: &'a Rows<'r, T>,
    center: &'a [T],
    start: usize,
    weight: &'a mut [f64],
}

impl<T: Real> Work for WeightUpdate<'_, '_, T> {
    type Output = f64;
    const WIDE: bool = false;

    #[inline(always)]
    fn run(self) -> f64 {
        let mut scratch = Vec::new();
        let mut total = 0.0;
        for (j, w) in self.weight.iter_mut().enumerate() {
            let d2 = self
                .rows
                .sq_dist_to(self.start + j, self.center, &mut scratch)
                .to_f64();
            if d2 < *w {
                *w = d2;
            }
            total += *w;
        }
        total
    }
}
