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
//!
//! The clusters are updated in chunks, claimed by the picking thread and by helper threads of the rayon
//! pool that stay awake between picks (a pick takes tens of microseconds, a sleeping thread about ten
//! to wake). The members that moved are sorted before they form the new cluster, so the result does not
//! depend on who updated what.

use crate::alloc;
use crate::distance::{sq_dist, Rows};
use crate::error::{check_k, KernelError};
use crate::fastmath::{vectorized, Work};
use crate::real::Real;
use crate::rng::PortableRng;
use crate::rows::{prefetch, PARALLEL_MIN_ENTRIES};
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

/// Rows per chunk of the first full pass.
const CHUNK_ROWS: usize = 2048;
/// Clusters per chunk of a center update.
const CHUNK_CLUSTERS: usize = 32;
/// At most this many labelled points seed the clusters in the first pass (which compares every point
/// with each of them); the others are added one by one, when pruning is already effective.
const MAX_INITIAL_CENTERS: usize = 256;
/// How many rows ahead of use the update loops ask for memory.
const PREFETCH_AHEAD: usize = 12;
/// Checks of a waiting thread between pauses of the CPU before it yields it to others instead.
const SPINS_BEFORE_YIELDING: u32 = 1 << 14;

#[derive(Clone, Copy, Debug)]
struct Member<T> {
    index: usize,
    /// Squared distance to the cluster's center (the point's minimum distance to any center).
    d2: T,
}

impl<T: Real> Member<T> {
    /// Orders members by distance, and equally distant ones by decreasing index: the greatest key is the
    /// farthest member, the lowest index among ties. Squared distances are never negative or NaN, so the
    /// bits of their `f64` values order them as the numbers do.
    #[inline(always)]
    fn key(&self) -> (u64, Reverse<usize>) {
        (self.d2.to_f64().to_bits(), Reverse(self.index))
    }
}

/// Sorts members farthest first (greatest [`Member::key`] first).
fn sort_farthest_first<T: Real>(members: &mut [Member<T>]) {
    members.sort_unstable_by_key(|m| Reverse(m.key()));
}

/// The key of a cluster's farthest member (see [`Member::key`]) and the cluster's position.
type Farthest = ((u64, Reverse<usize>), usize);

/// Locks `mutex`; no code panics while holding one of these locks, so a poisoned lock holds valid data.
fn locked<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Pauses in a busy wait: first with the CPU's spin hint, later by yielding the CPU to other threads.
fn pause(waited: &mut u32) {
    if *waited < SPINS_BEFORE_YIELDING {
        *waited += 1;
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
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

/// The farthest candidate of `clusters`, the first of which is at position `first`.
fn farthest_in<T: Real>(clusters: &[Cluster<T>], first: usize) -> Option<Farthest> {
    clusters
        .iter()
        .enumerate()
        .filter_map(|(offset, cluster)| cluster.members.first().map(|m| (m.key(), first + offset)))
        .max()
}

/// What the threads found in an update: the members that moved to the new center, and the farthest
/// candidate of the clusters they updated.
#[derive(Default)]
struct Found<T> {
    moved: Vec<Member<T>>,
    farthest: Option<Farthest>,
}

impl<T> Found<T> {
    fn merge(&mut self, other: &mut Found<T>) {
        self.moved.append(&mut other.moved);
        self.farthest = self.farthest.max(other.farthest.take());
    }
}

/// The clusters and what the threads updating them share. The thread that picks writes the center and
/// reads the results only while no update is under way.
struct State<'a, T> {
    rows: Rows<'a, T>,
    /// `1 / (4 (1 + margin)^2)`: a point at squared distance `d2` from its own center cannot move to a
    /// center at squared distance `D2` from that center when `d2 <= D2 * prune_factor`.
    prune_factor: f64,
    /// Whether the input is large enough to split work over threads.
    parallel: bool,
    /// `CHUNK_CLUSTERS` consecutive clusters each (what one thread updates at a time), with room for every
    /// cluster the selection can create, so that the list itself never changes.
    chunks: Vec<Mutex<Vec<Cluster<T>>>>,
    /// What the threads found in the current update, merged once per thread.
    found: Mutex<Found<T>>,
    /// The coordinates of the center being added.
    center: RwLock<Vec<T>>,
    /// The number of the current update (high 32 bits) and how many of its chunks nobody has claimed yet
    /// (low 32 bits), so that a thread can only claim chunks of the update whose number it saw.
    claims: AtomicU64,
    /// How many chunks the current update has. They are claimed in order: the oldest clusters, which
    /// hold the most members, first, so that the last claims (which others may wait for) are short.
    chunk_count: AtomicUsize,
    /// How many chunks of the current update are done.
    finished: AtomicUsize,
    /// Set when the selection is over, so that helping threads return.
    stop: AtomicBool,
}

/// Sets `stop` when dropped, however the selection ends.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl<'a, T: Real> State<'a, T> {
    /// Starts from the centers `initial` (at most [`MAX_INITIAL_CENTERS`]) in one pass over the points:
    /// each point is compared with the centers in order, skipping those that the triangle inequality
    /// rules out given the best center found so far.
    /// `capacity` is the number of clusters the selection can create.
    fn new(rows: Rows<'a, T>, initial: &[usize], is_center: &[bool], capacity: usize) -> Self {
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
        let found = Found {
            moved: Vec::new(),
            farthest: farthest_in(&clusters, 0),
        };
        let mut clusters = clusters.into_iter();
        let chunks = (0..capacity.max(b).div_ceil(CHUNK_CLUSTERS))
            .map(|_| Mutex::new(clusters.by_ref().take(CHUNK_CLUSTERS).collect()))
            .collect();
        State {
            rows,
            prune_factor,
            parallel,
            chunks,
            found: Mutex::new(found),
            center: RwLock::new(Vec::new()),
            claims: AtomicU64::new(0),
            chunk_count: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
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
        moved: &mut Vec<Member<T>>,
    ) {
        let Some(far) = cluster.members.first() else {
            return;
        };
        let between = self
            .rows
            .sq_dist_to(cluster.center, center, scratch)
            .to_f64();
        let threshold = pruning_threshold(between, self.prune_factor);
        if far.d2.to_f64() <= threshold {
            return;
        }
        let members = &mut cluster.members;
        let reach = members.partition_point(|m| m.d2.to_f64() > threshold);
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
    }

    /// Updates chunk `j` for the current center, adding to `found`.
    fn update_chunk(&self, j: usize, found: &mut Found<T>) {
        let mut clusters = locked(&self.chunks[j]);
        let center = self.center.read().unwrap_or_else(PoisonError::into_inner);
        vectorized(ClusterUpdates {
            state: self,
            center: &center,
            clusters: &mut clusters,
            moved: &mut found.moved,
        });
        found.farthest = found
            .farthest
            .max(farthest_in(&clusters, j * CHUNK_CLUSTERS));
    }

    /// Claims and updates chunks of update number `update` until none is left, then adds what it found
    /// to the update's findings.
    fn claim_updates(&self, update: u32) {
        let mut found = Found::default();
        let mut updated = 0;
        let mut claims = self.claims.load(Ordering::Acquire);
        loop {
            let (number, unclaimed) = (claims >> 32, claims & u64::from(u32::MAX));
            if number != u64::from(update) || unclaimed == 0 {
                break;
            }
            match self.claims.compare_exchange_weak(
                claims,
                claims - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // Written before the update was published, which the claim synchronised with.
                    let chunk_count = self.chunk_count.load(Ordering::Relaxed);
                    // `unclaimed` fits in u32, and so in usize.
                    self.update_chunk(chunk_count - unclaimed as usize, &mut found);
                    updated += 1;
                    claims = self.claims.load(Ordering::Acquire);
                }
                Err(now) => claims = now,
            }
        }
        if updated > 0 {
            locked(&self.found).merge(&mut found);
            self.finished.fetch_add(updated, Ordering::Release);
        }
    }

    /// Takes part in every update until the selection stops, waiting awake in between: the next update
    /// follows within microseconds, sooner than a sleeping thread would wake up.
    fn help(&self) {
        let mut seen = None;
        let mut waited = 0;
        while !self.stop.load(Ordering::Acquire) {
            let update = (self.claims.load(Ordering::Acquire) >> 32) as u32;
            if seen == Some(update) {
                pause(&mut waited);
            } else {
                seen = Some(update);
                waited = 0;
                self.claim_updates(update);
            }
        }
    }
}

/// The thread that picks: it adds centers, with the help of any threads running [`State::help`].
struct Picker<'s, 'a, T> {
    state: &'s State<'a, T>,
    /// Number of clusters.
    clusters: usize,
    /// Number of the latest update.
    update: u32,
}

impl<T: Real> Picker<'_, '_, T> {
    /// Adds center `c`, a point that is no cluster's member (any more): updates every cluster, then
    /// gathers the members that moved into the new center's cluster.
    fn add_center(&mut self, c: usize) {
        let state = self.state;
        let chunks = self.clusters.div_ceil(CHUNK_CLUSTERS);
        *state.center.write().unwrap_or_else(PoisonError::into_inner) = state.rows.owned_row(c);
        *locked(&state.found) = Found::default();
        state.chunk_count.store(chunks, Ordering::Relaxed);
        state.finished.store(0, Ordering::Relaxed);
        self.update = self.update.wrapping_add(1);
        // The chunk count fits in 32 bits: 2^32 chunks would hold more clusters than memory does.
        state.claims.store(
            (u64::from(self.update) << 32) | chunks as u64,
            Ordering::Release,
        );
        state.claim_updates(self.update);
        let mut waited = 0;
        while state.finished.load(Ordering::Acquire) < chunks {
            pause(&mut waited);
        }
        let mut found = locked(&state.found);
        // Threads append in no fixed order; sorting by distance and index makes the list the same.
        let mut members = std::mem::take(&mut found.moved);
        sort_farthest_first(&mut members);
        let position = self.clusters;
        found.farthest = found
            .farthest
            .max(members.first().map(|m| (m.key(), position)));
        locked(&state.chunks[position / CHUNK_CLUSTERS]).push(Cluster { center: c, members });
        self.clusters += 1;
    }

    /// Takes the candidate farthest from every center (lowest index among ties) out of its cluster; the
    /// next update finds the next one.
    fn take_farthest(&mut self) -> Option<usize> {
        let (_, home) = locked(&self.state.found).farthest.take()?;
        let mut clusters = locked(self.state.chunks.get(home / CHUNK_CLUSTERS)?);
        let members = &mut clusters.get_mut(home % CHUNK_CLUSTERS)?.members;
        (!members.is_empty()).then(|| members.remove(0).index)
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

/// Updates a chunk's clusters for a new center, collecting the members that move to it.
struct ClusterUpdates<'a, 'r, T> {
    state: &'a State<'r, T>,
    center: &'a [T],
    clusters: &'a mut [Cluster<T>],
    moved: &'a mut Vec<Member<T>>,
}

impl<T: Real> Work for ClusterUpdates<'_, '_, T> {
    type Output = ();
    const WIDE: bool = false;

    #[inline(always)]
    fn run(self) {
        let mut scratch = Vec::new();
        for offset in 0..self.clusters.len() {
            // The center row of a cluster a few positions ahead, so that it is in cache when needed.
            if let Some(ahead) = self.clusters.get(offset + PREFETCH_AHEAD) {
                if let Some(row) = self.state.rows.contiguous_row(ahead.center) {
                    prefetch(row);
                }
            }
            self.state.update_cluster(
                &mut self.clusters[offset],
                self.center,
                &mut scratch,
                self.moved,
            );
        }
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
    // Allocated before the O(n d) check of the points, so that a size too large fails fast.
    let mut is_center = alloc::filled(FUNCTION, "its table of centers", false, x.nrows())?;
    let rows = Rows::points(FUNCTION, x)?;
    let n = rows.n();
    let mut labelled =
        alloc::with_capacity(FUNCTION, "its list of labelled points", labeled.len())?;
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

    let mut picks = alloc::with_capacity(FUNCTION, "its output", k)?;
    // Every pick and every labelled point beyond the first pass's can become a cluster.
    let capacity = labelled.len().max(1) + k;
    let (initial, rest) = if labelled.is_empty() {
        let first = PortableRng::new(seed).index(n);
        is_center[first] = true;
        picks.push(first);
        (vec![first], &[][..])
    } else {
        let (initial, rest) = labelled.split_at(labelled.len().min(MAX_INITIAL_CENTERS));
        (initial.to_vec(), rest)
    };
    let state = State::new(rows, &initial, &is_center, capacity);
    let pick_all = |picks: &mut Vec<usize>| {
        let _stop = StopOnDrop(&state.stop);
        let mut picker = Picker {
            state: &state,
            clusters: initial.len(),
            update: 0,
        };
        for &l in rest {
            picker.add_center(l);
        }
        while picks.len() < k {
            // k <= number of candidates, so a candidate is always left here.
            let Some(next) = picker.take_farthest() else {
                break;
            };
            picks.push(next);
            picker.add_center(next);
        }
    };
    let helpers = if state.parallel {
        rayon::current_num_threads().saturating_sub(1)
    } else {
        0
    };
    if helpers == 0 {
        pick_all(&mut picks);
    } else {
        rayon::scope(|scope| {
            for _ in 0..helpers {
                scope.spawn(|_| state.help());
            }
            pick_all(&mut picks);
        });
    }
    Ok(picks)
}
