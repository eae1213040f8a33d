//! Committee disagreement: vote entropy, consensus KL divergence, pairwise disagreement.

use crate::error::KernelError;
use crate::real::Real;
use crate::fastmath::{fixed_order_sum, xlogx, xlogx_in_place};
use crate::uncertainty::check_member_row;
use ndarray::{ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

/// Examples per chunk of work (fixed, so results do not depend on the thread count).
const CHUNK_EXAMPLES: usize = 2048;
/// Examples per block of the consensus KL computation (keeps its buffers in cache).
const BLOCK_EXAMPLES: usize = 32;
/// Below this many input entries, work stays on the calling thread.
const PARALLEL_MIN_ENTRIES: usize = 1 << 16;

/// Runs `fill(start, out)` over fixed-size chunks of an n-length output, in parallel for large inputs, and
/// returns the error of the lowest chunk that failed.
fn fill_chunks<F>(n: usize, entries: usize, fill: F) -> Result<Vec<f64>, KernelError>
where
    F: Fn(usize, &mut [f64]) -> Result<(), KernelError> + Sync,
{
    let mut out = vec![0.0f64; n];
    let results: Vec<Result<(), KernelError>> = if entries >= PARALLEL_MIN_ENTRIES {
        out.par_chunks_mut(CHUNK_EXAMPLES).enumerate().map(|(c, o)| fill(c * CHUNK_EXAMPLES, o)).collect()
    } else {
        out.chunks_mut(CHUNK_EXAMPLES).enumerate().map(|(c, o)| fill(c * CHUNK_EXAMPLES, o)).collect()
    };
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(out)
}

fn check_votes_shape(function: &'static str, votes: &ArrayView2<'_, impl Copy>) -> Result<(), KernelError> {
    let (m, n) = votes.dim();
    if m == 0 || n == 0 {
        return Err(KernelError::input(
            function,
            "votes",
            "a non-empty 2-D array of shape (n_members, n_samples)",
            format!("shape ({m}, {n})"),
        ));
    }
    Ok(())
}

/// Vote entropy of each example: `-sum_c (V_c / M) ln (V_c / M)` in nats, where `V_c` is the number of the
/// `M` members voting for class `c` (not normalised by `ln(n_classes)`). `votes` is `M x n`; every vote
/// must lie in `[0, n_classes)`.
pub fn vote_entropy<V: Copy + Into<i64> + Sync>(votes: ArrayView2<'_, V>, n_classes: usize) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "vote_entropy";
    check_votes_shape(FUNCTION, &votes)?;
    if n_classes == 0 {
        return Err(KernelError::parameter(FUNCTION, "n_classes", "an int >= 1", "0"));
    }
    let (m, n) = votes.dim();
    // Entropy contribution of a class with v votes, for every possible v.
    let share: Vec<f64> = (0..=m).map(|v| -xlogx(v as f64 / m as f64)).collect();
    fill_chunks(n, m * n, |start, out| {
        let width = out.len();
        let mut counts = vec![0u32; width * n_classes];
        for (member, row) in votes.axis_iter(Axis(0)).enumerate() {
            for (j, v) in row.slice(ndarray::s![start..start + width]).iter().enumerate() {
                let vote: i64 = (*v).into();
                let class = usize::try_from(vote).ok().filter(|&c| c < n_classes).ok_or_else(|| {
                    KernelError::input(
                        FUNCTION,
                        "votes",
                        format!("class labels in [0, {n_classes}) (n_classes={n_classes})"),
                        format!("{vote} at member {member}, sample {}", start + j),
                    )
                })?;
                counts[j * n_classes + class] += 1;
            }
        }
        for (j, o) in out.iter_mut().enumerate() {
            *o = counts[j * n_classes..(j + 1) * n_classes].iter().map(|&v| share[v as usize]).sum::<f64>() + 0.0;
        }
        Ok(())
    })
}

/// Fraction of member pairs `(i < j)` whose votes differ, per example: `1 - sum_c C(V_c, 2) / C(M, 2)`,
/// computed from the vote counts in O(M log M) per example. Needs at least two members.
pub fn pairwise_disagreement<V: Copy + Into<i64> + Sync>(votes: ArrayView2<'_, V>) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "pairwise_disagreement";
    check_votes_shape(FUNCTION, &votes)?;
    let (m, n) = votes.dim();
    if m < 2 {
        return Err(KernelError::input(
            FUNCTION,
            "votes",
            "an array with at least 2 committee members (rows)",
            format!("{m} member"),
        ));
    }
    let pairs = (m * (m - 1) / 2) as f64;
    fill_chunks(n, m * n, |start, out| {
        let mut column: Vec<i64> = Vec::with_capacity(m);
        for (j, o) in out.iter_mut().enumerate() {
            column.clear();
            column.extend(votes.column(start + j).iter().map(|&v| v.into()));
            column.sort_unstable();
            let agreeing: usize = column.chunk_by(|a, b| a == b).map(|run| run.len() * (run.len() - 1) / 2).sum();
            *o = 1.0 - agreeing as f64 / pairs;
        }
        Ok(())
    })
}

/// Mean over members of `KL(p_m || p_mean)` per example, where `p_mean` is the members' average
/// distribution, in nats with `0 ln 0 = 0`. `member_proba` is `M x n x c`; each member row is validated like
/// `proba` in the uncertainty kernels. Computed as `(1/M) sum_m sum_c p ln p - sum_c p_mean ln p_mean`
/// (all logarithms in vectorised batches); rounding can make an exact 0 come out a hair below zero, and
/// such values are clipped to 0.
pub fn consensus_kl<T: Real>(member_proba: ArrayView3<'_, T>) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "consensus_kl";
    let (m, n, c) = member_proba.dim();
    if m == 0 || n == 0 || c == 0 {
        return Err(KernelError::input(
            FUNCTION,
            "member_proba",
            "a non-empty 3-D array of shape (n_members, n_samples, n_classes)",
            format!("shape ({m}, {n}, {c})"),
        ));
    }
    let inv = 1.0 / m as f64;
    fill_chunks(n, m * n * c, |start, out| {
        // Per block of examples: every member row as f64, then all `p ln p` terms in one vectorised
        // pass; likewise for the consensus rows.
        let mut terms: Vec<f64> = Vec::with_capacity(BLOCK_EXAMPLES * m * c);
        let mut consensus: Vec<f64> = Vec::with_capacity(BLOCK_EXAMPLES * c);
        let mut scratch: Vec<T> = Vec::with_capacity(c);
        for (b, block) in out.chunks_mut(BLOCK_EXAMPLES).enumerate() {
            let first = start + b * BLOCK_EXAMPLES;
            terms.clear();
            consensus.clear();
            consensus.resize(block.len() * c, 0.0);
            for j in 0..block.len() {
                let i = first + j;
                let mean = &mut consensus[j * c..(j + 1) * c];
                for member in 0..m {
                    let lane = member_proba.slice(ndarray::s![member, i, ..]);
                    let row: &[T] = match lane.to_slice() {
                        Some(s) => s,
                        None => {
                            scratch.clear();
                            scratch.extend(lane.iter().copied());
                            &scratch
                        }
                    };
                    check_member_row(row, FUNCTION, member, i)?;
                    for (acc, v) in mean.iter_mut().zip(row) {
                        *acc += v.to_f64();
                    }
                    terms.extend(row.iter().map(|v| v.to_f64()));
                }
                mean.iter_mut().for_each(|v| *v *= inv);
            }
            xlogx_in_place(&mut terms);
            xlogx_in_place(&mut consensus);
            for (j, o) in block.iter_mut().enumerate() {
                let own = fixed_order_sum(&terms[j * m * c..(j + 1) * m * c]);
                let cross = fixed_order_sum(&consensus[j * c..(j + 1) * c]);
                // mean_m KL(p_m || p_mean) = (1/M) sum_m sum_c p ln p - sum_c p_mean ln p_mean.
                *o = (own * inv - cross).max(0.0);
            }
        }
        Ok(())
    })
}
