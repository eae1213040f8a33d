//! Committee disagreement: vote entropy, consensus KL divergence, pairwise disagreement.

use crate::alloc;
use crate::error::{check_non_empty, KernelError};
use crate::fastmath::{accumulate_xlogx, fixed_order_sum, vectorized, xlogx, xlogx_in_place, Work};
use crate::real::Real;
use crate::rows::{for_each_row, NoRowScratch, PARALLEL_MIN_ENTRIES};
use crate::uncertainty::{scan_validated, PROBA_SUM_TOLERANCE};
use ndarray::{ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

/// Examples per chunk of work (fixed, so results do not depend on the thread count).
const CHUNK_EXAMPLES: usize = 2048;
/// Examples per block of the consensus KL computation (keeps its buffers in cache).
const BLOCK_EXAMPLES: usize = 256;
/// Largest class count handled with count tables (entries per table); more classes are counted by sorting.
const COUNTING_MAX_CLASSES: usize = 1 << 14;
/// Largest committee whose agreeing pairs are counted by comparing vote rows pairwise (M (M - 1) / 2
/// vectorised passes per block); larger committees sort each example's votes.
const PAIRWISE_COMPARE_MAX_MEMBERS: usize = 32;

/// Largest committee: vote counts are kept as `u32`, and the number of member pairs must fit in 63 bits.
const MAX_MEMBERS: usize = u32::MAX as usize;

/// Checks that a committee of `m` members (rows of `votes`) is at most [`MAX_MEMBERS`] strong.
fn check_members(function: &'static str, m: usize) -> Result<(), KernelError> {
    if m > MAX_MEMBERS {
        return Err(KernelError::input(
            function,
            "votes",
            format!("an array with at most {MAX_MEMBERS} committee members (rows)"),
            format!("{m} members"),
        ));
    }
    Ok(())
}

/// Runs `fill(start, out)` over fixed-size chunks of an n-length output of `function`, in parallel for
/// large inputs, and returns the error of the lowest chunk that failed.
fn fill_chunks<F>(
    function: &'static str,
    n: usize,
    entries: usize,
    fill: F,
) -> Result<Vec<f64>, KernelError>
where
    F: Fn(usize, &mut [f64]) -> Result<(), KernelError> + Sync,
{
    let mut out = alloc::filled(function, "its output", 0.0f64, n)?;
    let results: Vec<Result<(), KernelError>> = if entries >= PARALLEL_MIN_ENTRIES {
        out.par_chunks_mut(CHUNK_EXAMPLES)
            .enumerate()
            .map(|(c, o)| fill(c * CHUNK_EXAMPLES, o))
            .collect()
    } else {
        out.chunks_mut(CHUNK_EXAMPLES)
            .enumerate()
            .map(|(c, o)| fill(c * CHUNK_EXAMPLES, o))
            .collect()
    };
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(out)
}

/// Vote entropy of each example: `-sum_c (V_c / M) ln (V_c / M)` in nats, where `V_c` is the number of the
/// `M` members voting for class `c` (not normalised by `ln(n_classes)`). `votes` is `M x n`; every vote
/// must lie in `[0, n_classes)`.
///
/// The value is canonical: the terms are added in increasing order of their vote counts, so it depends only
/// on the multiset of counts, not on which classes hold them. Two examples whose counts are permutations of
/// each other get bit-identical values, and a selection among them goes to the lower index.
pub fn vote_entropy<V: Copy + Into<i64> + Sync>(
    votes: ArrayView2<'_, V>,
    n_classes: usize,
) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "vote_entropy";
    check_non_empty(FUNCTION, "votes", "(n_members, n_samples)", votes.dim())?;
    if n_classes == 0 {
        return Err(KernelError::parameter(
            FUNCTION,
            "n_classes",
            "an int >= 1",
            "0",
        ));
    }
    let (m, n) = votes.dim();
    check_members(FUNCTION, m)?;
    // Entropy contribution of a class with v votes, for every possible v.
    let share = alloc::collect(
        FUNCTION,
        "its table of vote shares",
        (0..m + 1).map(|v| -xlogx(v as f64 / m as f64)),
    )?;
    let bad_vote = |vote: i64, member: usize, sample: usize| {
        KernelError::input(
            FUNCTION,
            "votes",
            format!("class labels in [0, {n_classes}) (n_classes={n_classes})"),
            format!("{vote} at member {member}, sample {sample}"),
        )
    };
    let class_of = |vote: i64| usize::try_from(vote).ok().filter(|&c| c < n_classes);
    if n_classes > COUNTING_MAX_CLASSES {
        // Too many classes for count tables: sort each column's votes and read the counts off the runs.
        return fill_chunks(FUNCTION, n, m * n, |start, out| {
            let mut column: Vec<i64> = alloc::with_capacity(FUNCTION, "a column of votes", m)?;
            let mut counts: Vec<u32> =
                alloc::with_capacity(FUNCTION, "a column of vote counts", m)?;
            for (j, o) in out.iter_mut().enumerate() {
                column.clear();
                for (member, v) in votes.column(start + j).iter().enumerate() {
                    let vote: i64 = (*v).into();
                    class_of(vote).ok_or_else(|| bad_vote(vote, member, start + j))?;
                    column.push(vote);
                }
                column.sort_unstable();
                counts.clear();
                // A run holds at most m <= MAX_MEMBERS votes.
                counts.extend(column.chunk_by(|a, b| a == b).map(|run| run.len() as u32));
                *o = canonical_entropy(&mut counts, &share);
            }
            Ok(())
        });
    }
    // Columns per count table, so that the table stays in cache.
    let width = (COUNTING_MAX_CLASSES / n_classes).max(1);
    fill_chunks(FUNCTION, n, m * n, |start, out| {
        // At most max(COUNTING_MAX_CLASSES, n_classes) = COUNTING_MAX_CLASSES entries: a fixed size.
        let mut counts = vec![0u32; width.min(out.len()) * n_classes];
        let mut present: Vec<u32> =
            alloc::with_capacity(FUNCTION, "a column of vote counts", m.min(n_classes))?;
        for (b, block) in out.chunks_mut(width).enumerate() {
            let first = start + b * width;
            counts.iter_mut().for_each(|c| *c = 0);
            for (member, row) in votes.axis_iter(Axis(0)).enumerate() {
                for (j, v) in row
                    .slice(ndarray::s![first..first + block.len()])
                    .iter()
                    .enumerate()
                {
                    let vote: i64 = (*v).into();
                    let class = class_of(vote).ok_or_else(|| bad_vote(vote, member, first + j))?;
                    counts[j * n_classes + class] += 1;
                }
            }
            for (j, o) in block.iter_mut().enumerate() {
                present.clear();
                present.extend(
                    counts[j * n_classes..(j + 1) * n_classes]
                        .iter()
                        .filter(|&&v| v > 0),
                );
                *o = canonical_entropy(&mut present, &share);
            }
        }
        Ok(())
    })
}

/// The entropy `sum share[v]` over the vote counts `v` of one example, added in increasing order of `v`
/// (so that it depends only on the multiset of counts); sorts `counts`. Zero counts add nothing and may be
/// left out. `+ 0.0` turns the -0.0 of an empty sum into 0.0.
fn canonical_entropy(counts: &mut [u32], share: &[f64]) -> f64 {
    counts.sort_unstable();
    counts.iter().map(|&v| share[v as usize]).sum::<f64>() + 0.0
}

/// Fraction of member pairs `(i < j)` whose votes differ, per example: `1 - (agreeing pairs) / C(M, 2)`.
/// Committees of up to [`PAIRWISE_COMPARE_MAX_MEMBERS`] compare every pair of members' vote rows over a
/// block of examples (vectorised); larger ones count equal votes by sorting each example's votes
/// (O(M log M) per example). Needs at least two members.
///
/// The value is canonical: the number of agreeing pairs is an exact integer that does not depend on which
/// classes the votes name.
pub fn pairwise_disagreement<V: Copy + Into<i64> + PartialEq + Sync>(
    votes: ArrayView2<'_, V>,
) -> Result<Vec<f64>, KernelError> {
    const FUNCTION: &str = "pairwise_disagreement";
    check_non_empty(FUNCTION, "votes", "(n_members, n_samples)", votes.dim())?;
    let (m, n) = votes.dim();
    if m < 2 {
        return Err(KernelError::input(
            FUNCTION,
            "votes",
            "an array with at least 2 committee members (rows)",
            format!("{m} member"),
        ));
    }
    check_members(FUNCTION, m)?;
    // At most MAX_MEMBERS (MAX_MEMBERS - 1) / 2 < 2^63 pairs.
    let pairs = (m * (m - 1) / 2) as f64;
    if m <= PAIRWISE_COMPARE_MAX_MEMBERS {
        // Each member's vote row, when every one is contiguous (else rows are staged per block).
        let in_place: Option<Vec<&[V]>> =
            votes.axis_iter(Axis(0)).map(|row| row.to_slice()).collect();
        return fill_chunks(FUNCTION, n, m * n, |start, out| {
            let len = out.len();
            let mut staged: Vec<V> = Vec::new();
            let member_rows: Vec<&[V]> = match &in_place {
                Some(rows) => rows.iter().map(|row| &row[start..start + len]).collect(),
                None => {
                    for row in votes.axis_iter(Axis(0)) {
                        staged.extend(row.slice(ndarray::s![start..start + len]).iter());
                    }
                    staged.chunks_exact(len).collect()
                }
            };
            let agreeing = vectorized(AgreeingPairs {
                members: &member_rows,
                len,
            });
            for (o, a) in out.iter_mut().zip(agreeing) {
                *o = 1.0 - a as f64 / pairs;
            }
            Ok(())
        });
    }
    fill_chunks(FUNCTION, n, m * n, |start, out| {
        let mut column: Vec<i64> = alloc::with_capacity(FUNCTION, "a column of votes", m)?;
        for (j, o) in out.iter_mut().enumerate() {
            column.clear();
            column.extend(votes.column(start + j).iter().map(|&v| v.into()));
            column.sort_unstable();
            let agreeing: usize = column
                .chunk_by(|a, b| a == b)
                .map(|run| run.len() * (run.len() - 1) / 2)
                .sum();
            *o = 1.0 - agreeing as f64 / pairs;
        }
        Ok(())
    })
}

/// Number of member pairs `(i < j)` that vote alike, per example of a block (`len` examples, one vote
/// row per member).
struct AgreeingPairs<'a, V> {
    members: &'a [&'a [V]],
    len: usize,
}

impl<V: Copy + PartialEq> Work for AgreeingPairs<'_, V> {
    type Output = Vec<u32>;

    #[inline(always)]
    fn run(self) -> Vec<u32> {
        let mut agreeing = vec![0u32; self.len];
        for (i, first) in self.members.iter().enumerate() {
            for second in &self.members[i + 1..] {
                for ((count, a), b) in agreeing.iter_mut().zip(*first).zip(*second) {
                    *count += u32::from(a == b);
                }
            }
        }
        agreeing
    }
}

/// Mean over members of `KL(p_m || p_mean)` per example, where `p_mean` is the members' average
/// distribution, in nats with `0 ln 0 = 0`. `member_proba` is `M x n x c`; each member row is validated like
/// `proba` in the uncertainty kernels. Computed as `(1/M) sum_m sum_c p ln p - sum_c p_mean ln p_mean`
/// (all logarithms in vectorised batches); rounding can make an exact 0 come out a hair below zero, and
/// such values are clipped to 0.
///
/// Not canonical in the classes: the per-class sums run in class order, so examples whose class columns are
/// permuted can differ in the last place (with three or more classes). Sorting the terms made the kernel
/// about 40% more instructions, so it was left for a decision.
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
    fill_chunks(FUNCTION, n, m * n * c, |start, out| {
        // Per block of examples and per member, one vectorised pass over the member's rows (read in place
        // when contiguous) adds them into the consensus and their `p ln p` terms into per-(example, class)
        // sums, and flags any sign bit; a second pass checks the row sums. Only a flagged block is scanned
        // again, row by row, to name the first bad row.
        const BLOCK_TERMS: &str = "the per-class sums of a block of examples";
        let block_terms =
            alloc::count::<f64>(FUNCTION, BLOCK_TERMS, &[BLOCK_EXAMPLES.min(out.len()), c])?;
        let mut staged: Vec<T> = Vec::new();
        let mut consensus: Vec<f64> = alloc::with_capacity(FUNCTION, BLOCK_TERMS, block_terms)?;
        let mut own: Vec<f64> = alloc::with_capacity(FUNCTION, BLOCK_TERMS, block_terms)?;
        for (b, block) in out.chunks_mut(BLOCK_EXAMPLES).enumerate() {
            let first = start + b * BLOCK_EXAMPLES;
            let len = block.len();
            consensus.clear();
            consensus.resize(len * c, 0.0);
            own.clear();
            own.resize(len * c, 0.0);
            for member in 0..m {
                let rows = member_proba.index_axis(Axis(0), member);
                let values: &[T] = match rows.as_slice() {
                    Some(all) => &all[first * c..(first + len) * c],
                    None => {
                        staged.clear();
                        alloc::reserve(
                            &mut staged,
                            FUNCTION,
                            "a copy of a block of rows",
                            len * c,
                        )?;
                        for_each_row(&rows, first, first + len, |_, row| {
                            staged.extend_from_slice(row)
                        })
                        .map_err(|NoRowScratch { bytes }| {
                            alloc::row_copy_failed(FUNCTION, bytes)
                        })?;
                        &staged
                    }
                };
                let bits = accumulate_xlogx(values, &mut consensus, &mut own);
                if bits >> 63 != 0 || !row_sums_near_one(values, c) {
                    scan_validated::<T, false>(&rows, first, first + len, |_, _, _, _| {})
                        .map_err(|(i, fault)| {
                            fault.into_error(
                                FUNCTION,
                                "member_proba",
                                format!("member {member}, row {i}"),
                            )
                        })?;
                }
            }
            consensus.iter_mut().for_each(|v| *v *= inv);
            xlogx_in_place(&mut consensus);
            for ((o, own_terms), consensus_terms) in block
                .iter_mut()
                .zip(own.chunks_exact(c))
                .zip(consensus.chunks_exact(c))
            {
                // mean_m KL(p_m || p_mean) = (1/M) sum_m sum_c p ln p - sum_c p_mean ln p_mean.
                *o = (fixed_order_sum(own_terms) * inv - fixed_order_sum(consensus_terms)).max(0.0);
            }
        }
        Ok(())
    })
}

/// Whether every row of the row-major `values` (rows of `c` entries) sums to 1 within
/// [`PROBA_SUM_TOLERANCE`]; false for any NaN or infinite entry. Eight rows are summed side by side so that
/// their additions overlap.
fn row_sums_near_one<T: Real>(values: &[T], c: usize) -> bool {
    const ROWS: usize = 8;
    let near_one = |sum: f64| (sum - 1.0).abs() <= PROBA_SUM_TOLERANCE;
    let mut groups = values.chunks_exact(ROWS * c);
    let mut ok = true;
    for group in &mut groups {
        let mut sums = [0.0f64; ROWS];
        for j in 0..c {
            for (r, sum) in sums.iter_mut().enumerate() {
                *sum += group[r * c + j].to_f64();
            }
        }
        ok &= sums.iter().all(|&s| near_one(s));
    }
    ok && groups
        .remainder()
        .chunks_exact(c)
        .all(|row| near_one(row.iter().map(|v| v.to_f64()).sum()))
}
