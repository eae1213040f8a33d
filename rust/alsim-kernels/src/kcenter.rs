//! Exact k-center greedy (farthest-first traversal) with triangle-inequality pruning.
//!
//! Every candidate point belongs to the cluster of its nearest center and stores its squared distance to
//! it (the textbook minimum-distance vector, split by cluster). When a new center `c` arrives, a point `x`
//! of the cluster of center `a` can only move to `c` if `|x - c| < |x - a|`; since
//! `|x - c| >= |a - c| - |x - a|`, that is impossible when `|a - c| >= 2 |x - a|`. The test is applied to
//! whole clusters (with their largest distance) and then to single points, with a relative safety margin
//! that covers the rounding of the computed distances, so the pruned run yields exactly the minimum
//! distances (and hence the picks) of the full computation.

use crate::distance::{sq_dist, Rows};
use crate::error::{check_k, KernelError};
use crate::real::Real;
use crate::rng::PortableRng;
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::cmp::Ordering;

/// Below this many matrix entries, work stays on the calling thread.
const PARALLEL_MIN_ENTRIES: usize = 1 << 16;
/// Rows per chunk of the first full pass.
const CHUNK_ROWS: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Member<T> {
    index: usize,
    /// Squared distance to the cluster's center (the point's minimum distance to any center).
    d2: T,
}

/// Orders members by distance, the lower index first among equal distances.
#[inline]
fn farther<T: Real>(a: &Member<T>, b: &Member<T>) -> bool {
    match a.d2.partial_cmp(&b.d2) {
        Some(Ordering::Greater) => true,
        Some(Ordering::Less) => false,
        _ => a.index < b.index,
    }
}

fn farthest<T: Real>(members: &[Member<T>]) -> Option<Member<T>> {
    members.iter().copied().reduce(|best, m| if farther(&m, &best) { m } else { best })
}

struct Cluster<T> {
    center: usize,
    members: Vec<Member<T>>,
    far: Option<Member<T>>,
}

struct State<'a, T> {
    rows: Rows<'a, T>,
    clusters: Vec<Cluster<T>>,
    /// Cluster id of every candidate point (stale for points that are centers).
    assignment: Vec<usize>,
    /// `1 / (4 (1 + margin)^2)`: a point with `d2 <= D2 * prune_factor` cannot move to a center at
    /// squared distance `D2` from its own center.
    prune_factor: f64,
    parallel: bool,
}

impl<'a, T: Real> State<'a, T> {
    /// Starts from a single center: every candidate's distance to it, in one pass.
    fn new(rows: Rows<'a, T>, first: usize, is_center: &[bool]) -> Self {
        let (n, d) = (rows.n(), rows.d());
        // Relative error bound of a computed squared distance, doubled and then some for the margin.
        let rel = 2.0 * (d as f64 + 4.0) * T::UNIT_ROUNDOFF;
        let margin = 4.0 * rel;
        let prune_factor = 1.0 / (4.0 * (1.0 + margin) * (1.0 + margin));
        let parallel = n * d >= PARALLEL_MIN_ENTRIES;
        let center = rows.owned_row(first);
        let pass = |(start, end): (usize, usize)| -> Vec<Member<T>> {
            let mut scratch = Vec::new();
            (start..end)
                .filter(|&i| !is_center[i])
                .map(|i| Member { index: i, d2: rows.sq_dist_to(i, &center, &mut scratch) })
                .collect()
        };
        let ranges = crate::rows::chunk_ranges(n, CHUNK_ROWS);
        let members: Vec<Member<T>> = if parallel {
            ranges.into_par_iter().map(pass).collect::<Vec<_>>().concat()
        } else {
            ranges.into_iter().map(pass).collect::<Vec<_>>().concat()
        };
        let far = farthest(&members);
        State {
            rows,
            clusters: vec![Cluster { center: first, members, far }],
            assignment: vec![0; n],
            prune_factor,
            parallel,
        }
    }

    /// Adds center `c`; `candidate` says whether `c` was a candidate point (a pick) that must leave its
    /// cluster.
    fn add_center(&mut self, c: usize, candidate: bool) {
        let home = if candidate { Some(self.assignment[c]) } else { None };
        if let Some(h) = home {
            let cluster = &mut self.clusters[h];
            if let Some(pos) = cluster.members.iter().position(|m| m.index == c) {
                cluster.members.swap_remove(pos);
            }
        }
        let center = self.rows.owned_row(c);
        let rows = &self.rows;
        let prune_factor = self.prune_factor;
        let update = |(id, cluster): (usize, &mut Cluster<T>)| -> Vec<Member<T>> {
            let dirty = home == Some(id);
            let Some(far) = cluster.far else { return Vec::new() };
            if cluster.members.is_empty() {
                cluster.far = None;
                return Vec::new();
            }
            let mut scratch = Vec::new();
            let between = rows.sq_dist_to(cluster.center, &center, &mut scratch).to_f64();
            let threshold = between * prune_factor;
            if far.d2.to_f64() <= threshold {
                if dirty {
                    cluster.far = farthest(&cluster.members);
                }
                return Vec::new();
            }
            let mut moved = Vec::new();
            let mut kept_far: Option<Member<T>> = None;
            cluster.members.retain_mut(|m| {
                if m.d2.to_f64() > threshold {
                    let d2 = sq_dist(rows.row(m.index, &mut scratch), &center);
                    if d2 < m.d2 {
                        moved.push(Member { index: m.index, d2 });
                        return false;
                    }
                }
                if kept_far.is_none_or(|f| farther(m, &f)) {
                    kept_far = Some(*m);
                }
                true
            });
            cluster.far = kept_far;
            moved
        };
        let moved: Vec<Vec<Member<T>>> = if self.parallel {
            self.clusters.par_iter_mut().enumerate().with_min_len(8).map(update).collect()
        } else {
            self.clusters.iter_mut().enumerate().map(update).collect()
        };
        let id = self.clusters.len();
        let members: Vec<Member<T>> = moved.concat();
        for m in &members {
            self.assignment[m.index] = id;
        }
        let far = farthest(&members);
        self.clusters.push(Cluster { center: c, members, far });
    }

    /// The candidate farthest from every center (lowest index among ties).
    fn farthest_candidate(&self) -> Option<usize> {
        self.clusters
            .iter()
            .filter_map(|cl| cl.far)
            .reduce(|best, m| if farther(&m, &best) { m } else { best })
            .map(|m| m.index)
    }
}

/// Greedy k-center selection: picks `k` points one at a time, each the point farthest (Euclidean) from its
/// nearest labelled or already-picked point, ties to the lowest index; returns them in pick order.
///
/// Labelled points and earlier picks are never picked again. With nothing labelled, the first pick is a
/// uniform draw from `0..n` by [`PortableRng`] seeded with `seed` (which is ignored otherwise). Distances
/// are computed in `T`; extra memory is O(n).
pub fn k_center_greedy<T: Real>(
    x: ArrayView2<'_, T>,
    labeled: &[i64],
    k: usize,
    seed: u64,
) -> Result<Vec<usize>, KernelError> {
    const FUNCTION: &str = "k_center_greedy";
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Err(KernelError::input(
            FUNCTION,
            "X",
            "a non-empty 2-D array of shape (n_samples, n_features)",
            format!("shape ({n}, {d})"),
        ));
    }
    let rows = Rows::new(x);
    if let Some((i, j)) = rows.first_non_finite() {
        return Err(KernelError::input(FUNCTION, "X", "an array of finite values", format!("a NaN or infinite value at row {i}, column {j}")));
    }
    let mut is_center = vec![false; n];
    let mut labelled = Vec::with_capacity(labeled.len());
    for (pos, &l) in labeled.iter().enumerate() {
        let index = usize::try_from(l).ok().filter(|&i| i < n).ok_or_else(|| {
            KernelError::input(FUNCTION, "labeled", format!("indices in [0, {n})"), format!("{l} at position {pos}"))
        })?;
        if is_center[index] {
            return Err(KernelError::input(
                FUNCTION,
                "labeled",
                "distinct indices",
                format!("index {index} repeated at position {pos}"),
            ));
        }
        is_center[index] = true;
        labelled.push(index);
    }
    check_k(FUNCTION, k, n - labelled.len(), "the number of unlabelled points")?;

    let mut picks = Vec::with_capacity(k);
    let mut state = match labelled.split_first() {
        Some((&first, rest)) => {
            let mut state = State::new(rows, first, &is_center);
            for &l in rest {
                state.add_center(l, false);
            }
            state
        }
        None => {
            let first = PortableRng::new(seed).index(n);
            is_center[first] = true;
            picks.push(first);
            State::new(rows, first, &is_center)
        }
    };
    while picks.len() < k {
        // k <= number of candidates, so a candidate is always left here.
        let Some(next) = state.farthest_candidate() else { break };
        picks.push(next);
        state.add_center(next, true);
    }
    Ok(picks)
}
