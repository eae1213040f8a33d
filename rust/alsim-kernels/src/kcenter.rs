//! Exact k-center greedy (farthest-first traversal): triangle-inequality pruning where it pays, one
//! streaming pass over the points per pick where it does not.
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
//! On data without cluster structure (isotropic noise in many dimensions) almost no point is pruned, and
//! visiting the points cluster by cluster costs more than reading them in memory order. The selection
//! then switches to streaming: a flat minimum-distance vector (with each point's cluster) that every pick
//! updates in one sequential pass, as the textbook loop does. While streaming, a probe every few picks
//! counts how many points the clusters would examine for the new center, and the clusters take over
//! again once that is small. Both ways compute the same distances with the same arithmetic, so the
//! picks do not depend on when the selection switches (which itself depends on counts only, not on
//! timing or threads).
//!
//! Once the updates stream, most points are settled without reading their rows: a coarse copy of the
//! points (one byte per value, see [`coarse`]) gives a rigorous lower bound on each distance from a quarter
//! of the memory traffic of `f32` rows (an eighth of `f64`), and only points whose bound does not rule out
//! a move get their full-precision distance. A streaming update over the full rows is bound by memory
//! bandwidth, as is the matrix-vector product of the textbook loop; the copy is what lets it beat that
//! loop. The copy is made when the updates first stream, if enough picks are left to repay it (it costs
//! about what 100 streaming updates of `f32` points save), and the cluster updates use it from then on
//! too; it is not made for the pruned regime alone, where it saves about what it costs, nor when memory
//! for it is lacking. The bound only skips computations whose
//! result cannot change a minimum distance, so the picks are the same with or without it.
//!
//! The clusters (or blocks of points while streaming) are updated in chunks, claimed by the picking
//! thread and by helper threads of the rayon pool. Between picks, a waiting thread checks for work for a
//! few tens of microseconds (a pick in the pruned regime takes about that long) and then sleeps until
//! woken, so that helpers do not take the CPU from other work (such as the learner's BLAS) on a busy
//! machine. The members that moved are sorted before they form the new cluster, so the result does not
//! depend on who updated what.

mod coarse;

use crate::alloc;
use crate::distance::{sq_dist, Rows};
use crate::error::{check_k, KernelError};
use crate::fastmath::{vectorized, Work};
use crate::real::Real;
use crate::rng::PortableRng;
use crate::rows::{prefetch, PARALLEL_MIN_ENTRIES};
use coarse::{CoarseCenter, CoarseCopy};
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Rows per chunk of the first full pass.
const CHUNK_ROWS: usize = 2048;
/// Clusters per chunk of a center update.
const CHUNK_CLUSTERS: usize = 32;
/// Points per block of a streaming update.
const BLOCK_ROWS: usize = 4096;
/// At most this many labelled points seed the clusters in the first pass (which compares every point
/// with each of them); the others are added one by one, when pruning is already effective.
const MAX_INITIAL_CENTERS: usize = 256;
/// The coarse copy is made only when at least this many centers remain to be added as the updates first
/// stream: making it (one thread, a pass over the points with some arithmetic per value) took about as
/// long as 100 streaming updates of 100,000 x 128 `f32` points save with it (0.4 ms each on two threads;
/// `f64` updates save ten times as much).
const COARSE_MIN_REMAINING: usize = 128;
/// How many rows ahead of use the update loops ask for memory.
const PREFETCH_AHEAD: usize = 12;
/// Cluster updates over which the share of examined points is averaged before deciding to stream.
const WINDOW_UPDATES: usize = 8;
/// Streaming takes over when cluster updates examine more than this share of the points (reading
/// points cluster by cluster costs about twice as much per point as reading them in memory order).
const STREAM_ABOVE: f64 = 0.5;
/// The clusters take over again when a probe finds that they would examine less than this share.
const CLUSTERS_BELOW: f64 = 0.2;
/// Picks between two probes while streaming.
const PROBE_EVERY: usize = 32;
/// How long a waiting thread keeps checking for work before it sleeps.
const SPIN_FOR: Duration = Duration::from_micros(50);
/// Checks between two looks at the clock while spinning.
const CHECKS_PER_CLOCK: u32 = 64;

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

/// The key of the farthest candidate (see [`Member::key`]) and where it is: the position of its cluster,
/// or, while streaming, its index.
type Farthest = ((u64, Reverse<usize>), usize);

/// Locks `mutex`; no code panics while holding one of these locks, so a poisoned lock holds valid data.
fn locked<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until `ready()` holds: checks it for [`SPIN_FOR`] (the next piece of work usually comes sooner
/// than a sleeping thread would wake up), then sleeps. Whoever makes `ready()` hold unparks the thread
/// afterwards; a wake-up that comes before the thread sleeps is kept by `park`, so none is lost.
fn wait_until(ready: impl Fn() -> bool) {
    let began = Instant::now();
    loop {
        for _ in 0..CHECKS_PER_CLOCK {
            if ready() {
                return;
            }
            std::hint::spin_loop();
        }
        if began.elapsed() >= SPIN_FOR {
            break;
        }
    }
    while !ready() {
        std::thread::park();
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
    /// the first member too close to its own center to move. Empty while streaming.
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

/// Consecutive points while streaming: each one's squared distance to its nearest center (minus
/// infinity for the centers themselves) and the position of that center's cluster.
#[derive(Default)]
struct Block<T> {
    start: usize,
    d2: Vec<T>,
    cluster: Vec<u32>,
    /// With a coarse copy: each point's [`CoarseCopy::reach`] for its minimum distance, and room for
    /// the dot products of an update.
    reach: Vec<f64>,
    dots: Vec<i32>,
}

/// What the threads found in an update: the members that moved to the new center, the farthest
/// candidate of the clusters (or blocks) they updated, and how many points they examined.
#[derive(Default)]
struct Found<T> {
    moved: Vec<Member<T>>,
    farthest: Option<Farthest>,
    examined: usize,
}

impl<T> Found<T> {
    fn merge(&mut self, other: &mut Found<T>) {
        self.moved.append(&mut other.moved);
        self.farthest = self.farthest.max(other.farthest.take());
        self.examined += std::mem::take(&mut other.examined);
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
    /// Whether the input is large enough for the coarse copy, which is made when the updates first stream
    /// with enough centers left to add ([`COARSE_MIN_REMAINING`]). Not before: in the pruned regime
    /// the bound saves about what it costs on rows read at random (1,000 picks on 100,000 x 128 clustered
    /// `f32` points took 60% longer with it; on 1,000,000 such points the picks took 5% less time but
    /// making the copy took more than that).
    coarse_allowed: bool,
    /// The points in one byte per value (see [`coarse`]) once made; `None` inside when it could not be.
    coarse: OnceLock<Option<CoarseCopy>>,
    /// Relative error bound of a computed squared distance (for the coarse copy's bound).
    rel: f64,
    /// `CHUNK_CLUSTERS` consecutive clusters each (what one thread updates at a time), with room for every
    /// cluster the selection can create, so that the list itself never changes.
    chunks: Vec<Mutex<Vec<Cluster<T>>>>,
    /// `BLOCK_ROWS` consecutive points each, filled only while streaming.
    blocks: Vec<Mutex<Block<T>>>,
    /// Whether cluster positions fit the `u32` of a [`Block`] (so that streaming is possible).
    can_stream: bool,
    /// Whether the current update streams (set before it is published, like `chunk_count`).
    streaming: AtomicBool,
    /// What the threads found in the current update, merged once per thread.
    found: Mutex<Found<T>>,
    /// The coordinates of the center being added.
    center: RwLock<Vec<T>>,
    /// The position of the center's cluster (set before the update is published).
    position: AtomicUsize,
    /// The center being added as the coarse copy holds it (when there is one).
    coarse_center: RwLock<Option<CoarseCenter>>,
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
    /// The helping threads, woken when an update is published or the selection stops.
    helpers: Mutex<Vec<Thread>>,
    /// The picking thread, woken when the last chunk of an update is done.
    picker: OnceLock<Thread>,
}

/// Sets `stop` and wakes the helping threads when dropped, however the selection ends.
struct StopOnDrop<'s, 'a, T: Real>(&'s State<'a, T>);

impl<T: Real> Drop for StopOnDrop<'_, '_, T> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
        self.0.wake_helpers();
    }
}

impl<'a, T: Real> State<'a, T> {
    /// Starts from the centers `initial` (at most [`MAX_INITIAL_CENTERS`]) in one pass over the points:
    /// each point is compared with the centers in order, skipping those that the triangle inequality
    /// rules out given the best center found so far.
    /// `capacity` is the number of clusters the selection can create; `coarse_allowed` says whether to
    /// make the coarse copy of the points when the updates first stream.
    fn new(
        rows: Rows<'a, T>,
        initial: &[usize],
        is_center: &[bool],
        capacity: usize,
        coarse_allowed: bool,
    ) -> Self {
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
            examined: 0,
        };
        let mut clusters = clusters.into_iter();
        let chunks = (0..capacity.max(b).div_ceil(CHUNK_CLUSTERS))
            .map(|_| Mutex::new(clusters.by_ref().take(CHUNK_CLUSTERS).collect()))
            .collect();
        let blocks = crate::rows::chunk_ranges(n, BLOCK_ROWS)
            .into_iter()
            .map(|(start, _)| {
                Mutex::new(Block {
                    start,
                    ..Block::default()
                })
            })
            .collect();
        State {
            rows,
            prune_factor,
            parallel,
            coarse_allowed,
            coarse: OnceLock::new(),
            rel,
            chunks,
            blocks,
            can_stream: u32::try_from(capacity.max(b)).is_ok(),
            streaming: AtomicBool::new(false),
            found: Mutex::new(found),
            center: RwLock::new(Vec::new()),
            position: AtomicUsize::new(0),
            coarse_center: RwLock::new(None),
            claims: AtomicU64::new(0),
            chunk_count: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            helpers: Mutex::new(Vec::new()),
            picker: OnceLock::new(),
        }
    }

    /// The coarse copy, if made.
    #[inline(always)]
    fn coarse(&self) -> Option<&CoarseCopy> {
        self.coarse.get().and_then(Option::as_ref)
    }

    /// Updates one cluster for the new center `center`: moves out (and returns) the members now closer
    /// to it. Only the members farther from their center than the pruning threshold can move; they form
    /// a prefix of the farthest-first list, found by binary search, and the list stays sorted.
    #[inline(always)]
    fn update_cluster(
        &self,
        cluster: &mut Cluster<T>,
        center: &[T],
        coarse_center: Option<&CoarseCenter>,
        scratch: &mut Vec<T>,
        found: &mut Found<T>,
    ) {
        let Some(far) = cluster.members.first() else {
            return;
        };
        let between = self
            .rows
            .sq_dist_to(cluster.center, center, scratch)
            .to_f64();
        let threshold = pruning_threshold(between, self.prune_factor);
        found.examined += 1;
        if far.d2.to_f64() <= threshold {
            return;
        }
        let members = &mut cluster.members;
        let reach = members.partition_point(|m| m.d2.to_f64() > threshold);
        found.examined += reach;
        let mut kept = 0;
        for r in 0..reach {
            if let Some(ahead) = members[..reach].get(r + PREFETCH_AHEAD) {
                if let Some(copy) = self.coarse() {
                    prefetch(copy.codes(ahead.index));
                    prefetch(std::slice::from_ref(copy.bound(ahead.index)));
                } else if let Some(row) = self.rows.contiguous_row(ahead.index) {
                    prefetch(row);
                }
            }
            let m = members[r];
            if let (Some(copy), Some(c)) = (self.coarse(), coarse_center) {
                let reach = copy.reach(m.index, m.d2.to_f64());
                if copy.settles(m.index, copy.dot_with(m.index, c), c, reach) {
                    members[kept] = m;
                    kept += 1;
                    continue;
                }
            }
            let d2 = sq_dist(self.rows.row(m.index, scratch), center);
            if d2 < m.d2 {
                found.moved.push(Member { index: m.index, d2 });
            } else {
                members[kept] = m;
                kept += 1;
            }
        }
        members.drain(kept..reach);
    }

    /// Updates chunk `j` (of clusters, or of points while streaming) for the current center, adding to
    /// `found`.
    fn update_chunk(&self, j: usize, streaming: bool, found: &mut Found<T>) {
        let center = self.center.read().unwrap_or_else(PoisonError::into_inner);
        let coarse_center = self
            .coarse_center
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if streaming {
            let mut block = locked(&self.blocks[j]);
            // Positions fit in u32 whenever streaming is on (`can_stream`).
            let position = self.position.load(Ordering::Relaxed) as u32;
            let farthest = vectorized(StreamUpdate {
                rows: &self.rows,
                coarse: self.coarse().zip(coarse_center.as_ref()),
                center: &center,
                block: &mut block,
                position,
            });
            found.examined += block.d2.len();
            found.farthest = found.farthest.max(farthest);
            return;
        }
        let mut clusters = locked(&self.chunks[j]);
        vectorized(ClusterUpdates {
            state: self,
            center: &center,
            coarse_center: coarse_center.as_ref(),
            clusters: &mut clusters,
            found: &mut *found,
        });
        found.farthest = found
            .farthest
            .max(farthest_in(&clusters, j * CHUNK_CLUSTERS));
    }

    /// Claims and updates chunks of update number `update` until none is left, then adds what it found
    /// to the update's findings, and wakes the picking thread if it finished the update.
    fn claim_updates(&self, update: u32) {
        let mut found = Found::default();
        let mut updated = 0;
        let mut chunk_count = 0;
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
                    chunk_count = self.chunk_count.load(Ordering::Relaxed);
                    let streaming = self.streaming.load(Ordering::Relaxed);
                    // `unclaimed` fits in u32, and so in usize.
                    self.update_chunk(chunk_count - unclaimed as usize, streaming, &mut found);
                    updated += 1;
                    claims = self.claims.load(Ordering::Acquire);
                }
                Err(now) => claims = now,
            }
        }
        if updated > 0 {
            locked(&self.found).merge(&mut found);
            if self.finished.fetch_add(updated, Ordering::Release) + updated == chunk_count {
                if let Some(picker) = self.picker.get() {
                    picker.unpark();
                }
            }
        }
    }

    /// Takes part in every update until the selection stops, sleeping when no update comes for a while.
    fn help(&self) {
        // Registered before looking for work, so that no update published from now on is missed.
        locked(&self.helpers).push(std::thread::current());
        let mut seen = None;
        loop {
            wait_until(|| {
                self.stop.load(Ordering::Acquire)
                    || seen != Some((self.claims.load(Ordering::Acquire) >> 32) as u32)
            });
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            let update = (self.claims.load(Ordering::Acquire) >> 32) as u32;
            seen = Some(update);
            self.claim_updates(update);
        }
    }

    fn wake_helpers(&self) {
        for helper in locked(&self.helpers).iter() {
            helper.unpark();
        }
    }

    /// Switches from clusters to streaming (between updates): the clusters' members become the blocks'
    /// minimum-distance vector, centers at minus infinity.
    /// `remaining` is the number of centers still to be added.
    fn start_streaming(&self, remaining: usize) {
        // The next pick, found by the last cluster update, is named by its index from now on.
        let mut found = locked(&self.found);
        if let Some((key, position)) = found.farthest {
            let chunk = locked(&self.chunks[position / CHUNK_CLUSTERS]);
            found.farthest = chunk
                .get(position % CHUNK_CLUSTERS)
                .and_then(|cluster| cluster.members.first())
                .map(|m| (key, m.index));
        }
        drop(found);
        if self.coarse_allowed && remaining >= COARSE_MIN_REMAINING {
            // On this thread, between updates, while the helping threads wait.
            self.coarse
                .get_or_init(|| CoarseCopy::new(&self.rows, self.rel));
        }
        let mut blocks: Vec<MutexGuard<'_, Block<T>>> = self.blocks.iter().map(locked).collect();
        let n = self.rows.n();
        for block in blocks.iter_mut() {
            let len = BLOCK_ROWS.min(n - block.start);
            block.d2 = vec![T::ZERO - T::INFINITY; len];
            block.cluster = vec![0; len];
            if self.coarse().is_some() {
                // Centers never move (their reach is infinite).
                block.reach = vec![f64::INFINITY; len];
                block.dots = vec![0; len];
            }
        }
        for (j, chunk) in self.chunks.iter().enumerate() {
            for (offset, cluster) in locked(chunk).iter_mut().enumerate() {
                // Positions fit in u32 whenever streaming is possible (`can_stream`).
                let position = (j * CHUNK_CLUSTERS + offset) as u32;
                for m in std::mem::take(&mut cluster.members) {
                    let block = &mut blocks[m.index / BLOCK_ROWS];
                    let at = m.index - block.start;
                    block.d2[at] = m.d2;
                    block.cluster[at] = position;
                    if let Some(copy) = self.coarse() {
                        block.reach[at] = copy.reach(m.index, m.d2.to_f64());
                    }
                }
            }
        }
    }

    /// Switches from streaming back to the `clusters` clusters (between updates).
    fn start_clustering(&self, clusters: usize) {
        let mut members: Vec<Vec<Member<T>>> = (0..clusters).map(|_| Vec::new()).collect();
        for block in &self.blocks {
            let mut block = locked(block);
            let start = block.start;
            for (offset, (&d2, &cluster)) in block.d2.iter().zip(&block.cluster).enumerate() {
                if d2 >= T::ZERO {
                    members[cluster as usize].push(Member {
                        index: start + offset,
                        d2,
                    });
                }
            }
            *block = Block {
                start,
                ..Block::default()
            };
        }
        let mut members = members.into_iter();
        for chunk in &self.chunks {
            for cluster in locked(chunk).iter_mut() {
                if let Some(mut list) = members.next() {
                    sort_farthest_first(&mut list);
                    cluster.members = list;
                }
            }
        }
    }

    /// While streaming: the share of the points that a cluster update for `center` would examine (the
    /// measure that [`STREAM_ABOVE`] and [`CLUSTERS_BELOW`] apply to).
    fn clustered_share(&self, center: &[T], clusters: usize) -> f64 {
        let mut scratch = Vec::new();
        let mut thresholds = Vec::with_capacity(clusters);
        for chunk in &self.chunks {
            for cluster in locked(chunk).iter() {
                let between = self.rows.sq_dist_to(cluster.center, center, &mut scratch);
                thresholds.push(pruning_threshold(between.to_f64(), self.prune_factor));
            }
        }
        let mut examined = clusters;
        for block in &self.blocks {
            let block = locked(block);
            examined += block
                .d2
                .iter()
                .zip(&block.cluster)
                .filter(|&(&d2, &cluster)| d2.to_f64() > thresholds[cluster as usize])
                .count();
        }
        examined as f64 / self.rows.n() as f64
    }
}

/// The thread that picks: it adds centers, with the help of any threads running [`State::help`].
struct Picker<'s, 'a, T> {
    state: &'s State<'a, T>,
    /// Number of clusters.
    clusters: usize,
    /// Number of the latest update.
    update: u32,
    /// Whether the updates stream over all points instead of pruning cluster by cluster.
    streaming: bool,
    /// Points examined by the cluster updates of the current window, and how many updates it has had.
    window_examined: usize,
    window_updates: usize,
    /// Updates since the last probe, while streaming.
    since_probe: usize,
    /// Centers still to be added.
    remaining: usize,
}

impl<'s, 'a, T: Real> Picker<'s, 'a, T> {
    /// `clusters` initial clusters, `planned` centers to be added.
    fn new(state: &'s State<'a, T>, clusters: usize, planned: usize) -> Self {
        state.picker.get_or_init(std::thread::current);
        Picker {
            state,
            clusters,
            update: 0,
            streaming: false,
            window_examined: 0,
            window_updates: 0,
            since_probe: 0,
            remaining: planned,
        }
    }

    /// Adds center `c`, a point that is no cluster's member (any more): updates every cluster (or every
    /// block of points), then gathers the members that moved into the new center's cluster.
    fn add_center(&mut self, c: usize) {
        let state = self.state;
        self.remaining = self.remaining.saturating_sub(1);
        let center = state.rows.owned_row(c);
        if self.streaming {
            self.since_probe += 1;
            if self.since_probe >= PROBE_EVERY {
                self.since_probe = 0;
                if state.clustered_share(&center, self.clusters) < CLUSTERS_BELOW {
                    state.start_clustering(self.clusters);
                    self.streaming = false;
                }
            }
        }
        let chunks = if self.streaming {
            state.blocks.len()
        } else {
            self.clusters.div_ceil(CHUNK_CLUSTERS)
        };
        *state.center.write().unwrap_or_else(PoisonError::into_inner) = center;
        *locked(&state.found) = Found::default();
        state.streaming.store(self.streaming, Ordering::Relaxed);
        state.position.store(self.clusters, Ordering::Relaxed);
        *state
            .coarse_center
            .write()
            .unwrap_or_else(PoisonError::into_inner) = state.coarse().map(|copy| copy.center(c));
        state.chunk_count.store(chunks, Ordering::Relaxed);
        state.finished.store(0, Ordering::Relaxed);
        self.update = self.update.wrapping_add(1);
        // The chunk count fits in 32 bits: 2^32 chunks would hold more clusters than memory does.
        state.claims.store(
            (u64::from(self.update) << 32) | chunks as u64,
            Ordering::Release,
        );
        state.wake_helpers();
        state.claim_updates(self.update);
        wait_until(|| state.finished.load(Ordering::Acquire) >= chunks);
        let mut found = locked(&state.found);
        // Threads append in no fixed order; sorting by distance and index makes the list the same.
        let mut members = std::mem::take(&mut found.moved);
        sort_farthest_first(&mut members);
        let position = self.clusters;
        found.farthest = found
            .farthest
            .max(members.first().map(|m| (m.key(), position)));
        let examined = found.examined;
        drop(found);
        locked(&state.chunks[position / CHUNK_CLUSTERS]).push(Cluster { center: c, members });
        self.clusters += 1;
        if !self.streaming {
            self.track(examined);
        }
    }

    /// Counts the points a cluster update examined; switches to streaming when the updates of a window
    /// examined more than [`STREAM_ABOVE`] of the points on average.
    fn track(&mut self, examined: usize) {
        self.window_examined += examined;
        self.window_updates += 1;
        if self.window_updates < WINDOW_UPDATES {
            return;
        }
        let share = self.window_examined as f64 / (WINDOW_UPDATES * self.state.rows.n()) as f64;
        self.window_examined = 0;
        self.window_updates = 0;
        if share > STREAM_ABOVE && self.state.can_stream {
            self.state.start_streaming(self.remaining);
            self.streaming = true;
            self.since_probe = 0;
        }
    }

    /// Takes the candidate farthest from every center (lowest index among ties) out of its cluster (or
    /// marks it as a center while streaming); the next update finds the next one.
    fn take_farthest(&mut self) -> Option<usize> {
        let (_, at) = locked(&self.state.found).farthest.take()?;
        if self.streaming {
            let mut block = locked(self.state.blocks.get(at / BLOCK_ROWS)?);
            let offset = at - block.start;
            *block.d2.get_mut(offset)? = T::ZERO - T::INFINITY;
            if let Some(reach) = block.reach.get_mut(offset) {
                *reach = f64::INFINITY;
            }
            return Some(at);
        }
        let mut clusters = locked(self.state.chunks.get(at / CHUNK_CLUSTERS)?);
        let members = &mut clusters.get_mut(at % CHUNK_CLUSTERS)?.members;
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
    coarse_center: Option<&'a CoarseCenter>,
    clusters: &'a mut [Cluster<T>],
    found: &'a mut Found<T>,
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
                self.coarse_center,
                &mut scratch,
                self.found,
            );
        }
    }
}

/// Updates a block of points for a new center in one pass in memory order: each point's minimum
/// distance (and cluster) where the center is nearer; returns the block's farthest candidate, the
/// lowest index among ties.
struct StreamUpdate<'a, 'r, T> {
    rows: &'a Rows<'r, T>,
    /// The coarse copy and the center in it, which settle most points without reading their rows.
    coarse: Option<(&'a CoarseCopy, &'a CoarseCenter)>,
    center: &'a [T],
    block: &'a mut Block<T>,
    /// The position of the center's cluster.
    position: u32,
}

impl<T: Real> Work for StreamUpdate<'_, '_, T> {
    type Output = Option<Farthest>;
    const WIDE: bool = false;

    #[inline(always)]
    fn run(self) -> Option<Farthest> {
        let mut scratch = Vec::new();
        let start = self.block.start;
        let block = &mut *self.block;
        // Centers are at minus infinity: never nearer to the new center, never the farthest.
        let mut best = Member {
            index: usize::MAX,
            d2: T::ZERO - T::INFINITY,
        };
        if let Some((copy, center)) = self.coarse {
            copy.dots(start, center, &mut block.dots);
            let points = block.d2.iter_mut().zip(&mut block.cluster);
            for (offset, ((d2, cluster), (reach, &dot))) in points
                .zip(block.reach.iter_mut().zip(&block.dots))
                .enumerate()
            {
                let index = start + offset;
                if !copy.settles(index, dot, center, *reach) {
                    let to_center = sq_dist(self.rows.row(index, &mut scratch), self.center);
                    if to_center < *d2 {
                        *d2 = to_center;
                        *cluster = self.position;
                        *reach = copy.reach(index, to_center.to_f64());
                    }
                }
                if *d2 > best.d2 {
                    best = Member { index, d2: *d2 };
                }
            }
        } else {
            for (offset, (d2, cluster)) in block.d2.iter_mut().zip(&mut block.cluster).enumerate() {
                let index = start + offset;
                let to_center = sq_dist(self.rows.row(index, &mut scratch), self.center);
                if to_center < *d2 {
                    *d2 = to_center;
                    *cluster = self.position;
                }
                if *d2 > best.d2 {
                    best = Member { index, d2: *d2 };
                }
            }
        }
        (best.index != usize::MAX).then(|| (best.key(), best.index))
    }
}

/// Greedy k-center selection: picks `k` points one at a time, each the point farthest (Euclidean) from its
/// nearest labelled or already-picked point, ties to the lowest index; returns them in pick order.
///
/// Labelled points and earlier picks are never picked again. With nothing labelled, the first pick is a
/// uniform draw from `0..n` by [`PortableRng`] seeded with `seed` (which is ignored otherwise). Distances
/// are computed in `T`; extra memory is O(n), plus `n (d + 24)` bytes for the coarse copy once the updates
/// stream.
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
    let coarse_allowed = n * rows.d() >= PARALLEL_MIN_ENTRIES;
    let planned = rest.len() + k - picks.len();
    let state = State::new(rows, &initial, &is_center, capacity, coarse_allowed);
    let pick_all = |picks: &mut Vec<usize>| {
        let _stop = StopOnDrop(&state);
        let mut picker = Picker::new(&state, initial.len(), planned);
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Picks of `k` centers on one thread, and after each whether the updates streamed; checks that the
    /// coarse copy changes nothing.
    fn picks_and_modes<T: Real>(
        x: &Array2<T>,
        labelled: &[usize],
        k: usize,
    ) -> (Vec<usize>, Vec<bool>, bool) {
        let (picks, modes, made) = picks_and_modes_with(x, labelled, k, true);
        let (plain_picks, plain_modes, _) = picks_and_modes_with(x, labelled, k, false);
        assert_eq!((&picks, &modes), (&plain_picks, &plain_modes));
        (picks, modes, made)
    }

    fn picks_and_modes_with<T: Real>(
        x: &Array2<T>,
        labelled: &[usize],
        k: usize,
        coarse: bool,
    ) -> (Vec<usize>, Vec<bool>, bool) {
        let mut is_center = vec![false; x.nrows()];
        for &l in labelled {
            is_center[l] = true;
        }
        let state = State::new(
            Rows::new(x.view()),
            labelled,
            &is_center,
            labelled.len() + k,
            coarse,
        );

        let mut picker = Picker::new(&state, labelled.len(), k);
        let (mut picks, mut modes) = (Vec::new(), Vec::new());
        while picks.len() < k {
            let next = picker.take_farthest().expect("a candidate is left");
            picks.push(next);
            picker.add_center(next);
            modes.push(picker.streaming);
        }
        // Made only when allowed and the updates streamed.
        let made = state.coarse().is_some();
        assert!(!made || (coarse && modes.iter().any(|&streaming| streaming)));
        (picks, modes, made)
    }

    /// The textbook loop: a full minimum-distance vector, updated with the same distance function.
    fn textbook(x: &Array2<f64>, labelled: &[usize], k: usize) -> Vec<usize> {
        let row = |i: usize| x.row(i).to_vec();
        let mut min = vec![f64::INFINITY; x.nrows()];
        let mut taken = vec![false; x.nrows()];
        let mut add = |c: usize, min: &mut Vec<f64>| {
            taken[c] = true;
            let center = row(c);
            for (i, m) in min.iter_mut().enumerate() {
                *m = m.min(sq_dist(&row(i), &center));
            }
        };
        for &l in labelled {
            add(l, &mut min);
        }
        let mut picks = Vec::new();
        while picks.len() < k {
            let mut best = None;
            for (i, &m) in min.iter().enumerate() {
                if m.is_finite() && m >= 0.0 && best.is_none_or(|(_, b)| m > b) {
                    best = Some((i, m));
                }
            }
            let (pick, _) = best.expect("a candidate is left");
            picks.push(pick);
            min[pick] = f64::NEG_INFINITY;
            add(pick, &mut min);
        }
        picks
    }

    /// Deterministic uniform values in [0, 1).
    fn uniform(n: usize, d: usize, seed: u64) -> Array2<f64> {
        let mut state = seed;
        Array2::from_shape_fn((n, d), |_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        })
    }

    #[test]
    fn unclustered_points_switch_to_streaming_with_the_same_picks() {
        let x = uniform(3000, 32, 1);
        let (picks, modes, made) = picks_and_modes(&x, &[7, 1500], 300);
        assert!(modes.iter().any(|&streaming| streaming));
        assert!(made, "the coarse copy is made when streaming starts");
        assert_eq!(picks, textbook(&x, &[7, 1500], 300));
        // Too few picks left when streaming starts: no copy, the same picks.
        let (few, _, made) = picks_and_modes(&x, &[7, 1500], 100);
        assert!(!made);
        assert_eq!(few, picks[..100]);
    }

    #[test]
    fn tight_clusters_stream_until_covered_then_prune_again() {
        // 64 tight, far-apart clusters: the first picks (one per cluster) move most points, later ones
        // move only their own cluster's.
        let noise = uniform(4000, 8, 2);
        let x = Array2::from_shape_fn((4000, 8), |(i, j)| {
            ((i % 64) * (j + 3) % 17) as f64 * 50.0 + noise[[i, j]]
        });
        let (picks, modes, made) = picks_and_modes(&x, &[0], 200);
        assert!(made);
        let first_streaming = modes.iter().position(|&s| s).expect("streams at first");
        assert!(modes[first_streaming..].iter().any(|&s| !s), "{modes:?}");
        assert!(!modes[modes.len() - 1]);
        assert_eq!(picks, textbook(&x, &[0], 200));
    }

    #[test]
    fn adversarial_points_give_the_same_picks_with_and_without_the_coarse_copy() {
        let noise = uniform(2000, 16, 3);
        // Duplicates, a constant column, rows of tiny and of huge values, one huge column.
        let x = Array2::from_shape_fn((2000, 16), |(i, j)| {
            let v = noise[[i % 500, j]];
            match (i % 7, j) {
                (_, 3) => 4.0,
                (1, _) => v * 1e-200,
                (2, _) => v * 1e150,
                (3, 0) => 1e100,
                _ => v,
            }
        });
        let labelled = [5, 1234];
        // Huge rows split these points into far groups, which the clusters prune: no streaming, no copy
        // (the copy's bound on such rows is checked in `coarse`).
        let (picks, _, _) = picks_and_modes(&x, &labelled, 300);
        assert_eq!(picks, textbook(&x, &labelled, 300));
        // Unclustered points (so that the updates stream and make the copy) with duplicates, a constant
        // column and rows of tiny (in f32 also subnormal) values.
        let base = uniform(3000, 32, 4);
        let x = Array2::from_shape_fn((3000, 32), |(i, j)| {
            let v = base[[i % 1500, j]];
            match (i % 100, j) {
                (_, 3) => 4.0,
                (1, _) => v * 1e-200,
                _ => v,
            }
        });
        let (picks, _, made) = picks_and_modes(&x, &labelled, 300);
        assert!(made);
        assert_eq!(picks, textbook(&x, &labelled, 300));
        let x32 = Array2::from_shape_fn((3000, 32), |(i, j)| {
            let v = base[[i % 1500, j]] as f32;
            match (i % 100, j) {
                (_, 3) => 4.0,
                (1, _) => v * 1e-30,
                (2, _) => v * 1e-42,
                _ => v,
            }
        });
        assert!(picks_and_modes(&x32, &labelled, 300).2);
        // One column.
        let line = Array2::from_shape_fn((5000, 1), |(i, _)| ((i * 7919) % 5000) as f64 * 0.5);
        let (picks, _, _) = picks_and_modes(&line, &[0], 50);
        assert_eq!(picks, textbook(&line, &[0], 50));
    }
}
