//! Exact k-center greedy (farthest-first traversal) with triangle-inequality pruning.
//!
//! Every candidate point belongs to the cluster of its nearest center and stores its squared distance to
//! it (the textbook minimum-distance vector, split by cluster). When a new center `c` arrives, a point `x`
//! of the cluster of center `a` can only move to `c` if `|x - c| < |x - a|`; since
//! `|x - c| >= |a - c| - |x - a|`, that is impossible when `|a - c| >= 2 |x - a|`. The test is applied to
//! whole clusters (with their largest distance) and then to single points (kept farthest first, so the
//! points that might move are a prefix found by binary search), with a relative safety margin
//! that covers the rounding of the computed distances, so the pruned run yields exactly the minimum
//! distances (and hence the picks) of the full computation.

use crate::distance::{prefetch, sq_dist, Rows};
use crate::error::{check_k, KernelError};
use crate::fastmath::{vectorized, Work};
use crate::real::Real;
use crate::rng::PortableRng;
use crate::rows::PARALLEL_MIN_ENTRIES;
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::cmp::Ordering;

/// Rows per chunk of the first full pass.
const CHUNK_ROWS: usize = 2048;
/// Clusters per chunk of a center update.
const CHUNK_CLUSTERS: usize = 32;
/// At most this many labelled points seed the clusters in the first pass (which compares every point
/// with each of them); the others are added one by one, when pruning is already effective.
const MAX_INITIAL_CENTERS: usize = 256;
/// How many rows ahead of use the update loops ask for memory.
const PREFETCH_AHEAD: usize = 8;

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

/// Sorts members farthest first (the order of [`farther`]). Squared distances are never negative or NaN,
/// so the bits of their `f64` values order them as numbers do, and integer keys compare without branches.
fn sort_farthest_first<T: Real>(members: &mut [Member<T>]) {
    members.sort_unstable_by_key(|m| (std::cmp::Reverse(m.d2.to_f64().to_bits()), m.index));
}

/// The squared distance below which a point cannot move between two centers `between2` apart (squared);
/// nothing is pruned when that distance overflowed, since the bound is then unknown.
fn pruning_threshold(between2: f64, prune_factor: f64) -> f64 {
    if between2.is_finite() {
        between2 * prune_factor
    } else {
        f64::NEG_INFINITY
    }
}

struct Cluster<T> {
    center: usize,
    /// Farthest first: the first member is the cluster's farthest, and a new center's update stops at
    /// the first member too close to its own center to move.
    members: Vec<Member<T>>,
}

struct State<'a, T> {
    rows: Rows<'a, T>,
    clusters: Vec<Cluster<T>>,
    /// `1 / (4 (1 + margin)^2)`: a point at squared distance `d2` from its own center cannot move to a
    /// center at squared distance `D2` from that center when `d2 <= D2 * prune_factor`.
    prune_factor: f64,
    parallel: bool,
}

impl<'a, T: Real> State<'a, T> {
    /// Starts from the centers `initial` (at most [`MAX_INITIAL_CENTERS`]) in one pass over the points:
    /// each point is compared with the centers in order, skipping those that the triangle inequality
    /// rules out given the best center found so far.
    fn new(rows: Rows<'a, T>, initial: &[usize], is_center: &[bool]) -> Self {
        let (n, d) = (rows.n(), rows.d());
        // Relative error bound of a computed squared distance (differences, squares, d-term sum),
        // doubled, then quadrupled again as the pruning margin.
        let rel = 2.0 * (d as f64 + 4.0) * T::UNIT_ROUNDOFF;
        let margin = 4.0 * rel;
        let prune_factor = 1.0 / (4.0 * (1.0 + margin) * (1.0 + margin));
        let parallel = n * d >= PARALLEL_MIN_ENTRIES;
        let b = initial.len();
        let centers: Vec<T> = initial.iter().flat_map(|&c| rows.owned_row(c)).collect();
        let center = |j: usize| &centers[j * d..(j + 1) * d];
        // Squared distances between the initial centers, scaled for the pruning test.
        let mut between = vec![0.0f64; b * b];
        for i in 0..b {
            for j in 0..i {
                let v = pruning_threshold(sq_dist(center(i), center(j)).to_f64(), prune_factor);
                between[i * b + j] = v;
                between[j * b + i] = v;
            }
        }
        // For each center, the others nearest first: a point's search walks from its best center so far
        // outwards and stops where the triangle inequality rules out everything farther.
        let mut order: Vec<u32> = Vec::with_capacity(b * b.saturating_sub(1));
        for i in 0..b {
            let start = order.len();
            order.extend((0..b as u32).filter(|&j| j as usize != i));
            order[start..].sort_by(|&x, &y| {
                between[i * b + x as usize].total_cmp(&between[i * b + y as usize])
            });
        }
        let pass = |(start, end): (usize, usize)| -> Vec<(usize, Member<T>)> {
            vectorized(FirstPass {
                rows: &rows,
                centers: &centers,
                between: &between,
                order: &order,
                is_center,
                start,
                end,
            })
        };
        let ranges = crate::rows::chunk_ranges(n, CHUNK_ROWS);
        let assigned: Vec<Vec<(usize, Member<T>)>> = if parallel {
            ranges.into_par_iter().map(pass).collect()
        } else {
            ranges.into_iter().map(pass).collect()
        };
        let mut clusters: Vec<Cluster<T>> = initial
            .iter()
            .map(|&c| Cluster {
                center: c,
                members: Vec::new(),
            })
            .collect();
        for (j, member) in assigned.into_iter().flatten() {
            clusters[j].members.push(member);
        }
        let sort = |cluster: &mut Cluster<T>| sort_farthest_first(&mut cluster.members);
        if parallel {
            clusters.par_iter_mut().for_each(sort);
        } else {
            clusters.iter_mut().for_each(sort);
        }
        State {
            rows,
            clusters,
            prune_factor,
            parallel,
        }
    }

    /// Updates one cluster for the new center `center`: moves out (and returns) the members now closer
    /// to it. Only the members farther from their center than the pruning threshold can move; they form
    /// a prefix of the farthest-first list, found by binary search, and the list stays sorted.
    #[inline(always)]
    fn update_cluster(
        &self,
        cluster: &mut Cluster<T>,
        center: &[T],
        scratch: &mut Vec<T>,
    ) -> Vec<Member<T>> {
        let Some(far) = cluster.members.first() else {
            return Vec::new();
        };
        let between = self
            .rows
            .sq_dist_to(cluster.center, center, scratch)
            .to_f64();
        let threshold = pruning_threshold(between, self.prune_factor);
        if far.d2.to_f64() <= threshold {
            return Vec::new();
        }
        let members = &mut cluster.members;
        let reach = members.partition_point(|m| m.d2.to_f64() > threshold);
        let mut moved = Vec::new();
        let mut kept = 0;
        for r in 0..reach {
            if let Some(ahead) = members[..reach].get(r + PREFETCH_AHEAD) {
                if let Some(row) = self.rows.contiguous_row(ahead.index) {
                    prefetch(row);
                }
            }
            let m = members[r];
            let d2 = sq_dist(self.rows.row(m.index, scratch), center);
            if d2 < m.d2 {
                moved.push(Member { index: m.index, d2 });
            } else {
                members[kept] = m;
                kept += 1;
            }
        }
        members.drain(kept..reach);
        moved
    }

    /// Adds center `c`, a point that is no cluster's member (any more).
    fn add_center(&mut self, c: usize) {
        let center = self.rows.owned_row(c);
        let mut clusters = std::mem::take(&mut self.clusters);
        let this = &*self;
        let update_chunk = |group: &mut [Cluster<T>]| -> Vec<Member<T>> {
            vectorized(ClusterUpdates {
                state: this,
                center: &center,
                group,
            })
        };
        let moved: Vec<Vec<Member<T>>> = if self.parallel {
            clusters
                .par_chunks_mut(CHUNK_CLUSTERS)
                .map(update_chunk)
                .collect()
        } else {
            clusters
                .chunks_mut(CHUNK_CLUSTERS)
                .map(update_chunk)
                .collect()
        };
        self.clusters = clusters;
        let mut members: Vec<Member<T>> = moved.concat();
        sort_farthest_first(&mut members);
        self.clusters.push(Cluster { center: c, members });
    }

    /// Takes the candidate farthest from every center (lowest index among ties) out of its cluster.
    fn take_farthest(&mut self) -> Option<usize> {
        let (home, _) = self
            .clusters
            .iter()
            .enumerate()
            .filter_map(|(j, cl)| cl.members.first().map(|m| (j, *m)))
            .reduce(|best, next| {
                if farther(&next.1, &best.1) {
                    next
                } else {
                    best
                }
            })?;
        Some(self.clusters[home].members.remove(0).index)
    }
}

/// The first pass over points `start..end`: each candidate's nearest center among `centers` (rows of
/// `d` values), found by walking from center 0 to ever nearer centers: the centers are tried nearest to
/// the current best first (`order`), and the walk moves on at the first nearer one; a center `j` at
/// scaled squared distance `between[best][j]` from the best cannot be nearer once that exceeds the
/// point's distance to the best, and neither can any later one in the order. Among equally near centers
/// the lowest index is kept, as a scan in index order would.
struct FirstPass<'a, 'r, T> {
    rows: &'a Rows<'r, T>,
    centers: &'a [T],
    between: &'a [f64],
    order: &'a [u32],
    is_center: &'a [bool],
    start: usize,
    end: usize,
}

impl<T: Real> Work for FirstPass<'_, '_, T> {
    type Output = Vec<(usize, Member<T>)>;
    const WIDE: bool = false;

    #[inline(always)]
    fn run(self) -> Self::Output {
        let d = self.rows.d();
        let b = self.centers.len() / d.max(1);
        let center = |j: usize| &self.centers[j * d..(j + 1) * d];
        let mut scratch = Vec::new();
        // The point for which each center's distance was computed last (no per-point reset).
        let mut seen = vec![usize::MAX; b];
        let mut out = Vec::with_capacity(self.end - self.start);
        for i in (self.start..self.end).filter(|&i| !self.is_center[i]) {
            let row = self.rows.row(i, &mut scratch);
            let mut best = 0;
            let mut best_d2 = sq_dist(row, center(0));
            seen[0] = i;
            'walk: loop {
                for &j in &self.order[best * (b - 1)..(best + 1) * (b - 1)] {
                    let j = j as usize;
                    if best_d2.to_f64() <= self.between[best * b + j] {
                        break;
                    }
                    if seen[j] == i {
                        continue;
                    }
                    seen[j] = i;
                    let d2 = sq_dist(row, center(j));
                    if d2 < best_d2 || (d2 == best_d2 && j < best) {
                        best = j;
                        best_d2 = d2;
                        continue 'walk;
                    }
                }
                break;
            }
            out.push((
                best,
                Member {
                    index: i,
                    d2: best_d2,
                },
            ));
        }
        out
    }
}

/// Updates a group of clusters for a new center; returns the members that move to it.
struct ClusterUpdates<'a, 'r, T> {
    state: &'a State<'r, T>,
    center: &'a [T],
    group: &'a mut [Cluster<T>],
}

impl<T: Real> Work for ClusterUpdates<'_, '_, T> {
    type Output = Vec<Member<T>>;
    const WIDE: bool = false;

    #[inline(always)]
    fn run(self) -> Self::Output {
        let mut scratch = Vec::new();
        let mut moved = Vec::new();
        for offset in 0..self.group.len() {
            // The center row of a cluster a few positions ahead, so that it is in cache when needed.
            if let Some(ahead) = self.group.get(offset + PREFETCH_AHEAD) {
                if let Some(row) = self.state.rows.contiguous_row(ahead.center) {
                    prefetch(row);
                }
            }
            moved.extend(self.state.update_cluster(
                &mut self.group[offset],
                self.center,
                &mut scratch,
            ));
        }
        moved
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
    let rows = Rows::points(FUNCTION, x)?;
    let n = rows.n();
    let mut is_center = vec![false; n];
    let mut labelled = Vec::with_capacity(labeled.len());
    for (pos, &l) in labeled.iter().enumerate() {
        let index = usize::try_from(l).ok().filter(|&i| i < n).ok_or_else(|| {
            KernelError::input(
                FUNCTION,
                "labeled",
                format!("indices in [0, {n})"),
                format!("{l} at position {pos}"),
            )
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
    check_k(
        FUNCTION,
        k,
        n - labelled.len(),
        "the number of unlabelled points",
    )?;

    let parallel = rows.n() * rows.d() >= PARALLEL_MIN_ENTRIES;
    let pick_all = || {
        let mut picks = Vec::with_capacity(k);
        let mut state = if labelled.is_empty() {
            let first = PortableRng::new(seed).index(n);
            is_center[first] = true;
            picks.push(first);
            State::new(rows, &[first], &is_center)
        } else {
            let (initial, rest) = labelled.split_at(labelled.len().min(MAX_INITIAL_CENTERS));
            let mut state = State::new(rows, initial, &is_center);
            for &l in rest {
                state.add_center(l);
            }
            state
        };
        while picks.len() < k {
            // k <= number of candidates, so a candidate is always left here.
            let Some(next) = state.take_farthest() else {
                break;
            };
            picks.push(next);
            state.add_center(next);
        }
        picks
    };
    // Each pick is a sequential step of parallel passes: running them all on a pool thread hands each
    // pass to the pool without waking it from outside every time.
    Ok(if parallel {
        rayon::scope(|_| pick_all())
    } else {
        pick_all()
    })
}
