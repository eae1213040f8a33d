"""Benchmark cases for the kernels of :mod:`alsim.kernels`: sizes, seeded inputs and plain-numpy references.

Every case is timed three ways in one run: the alsim kernel, the best plain-numpy formulation of the same
computation, and one read pass over the kernel's main input (``arr.sum()``, the memory-bandwidth bound).
The gate compares the ratios kernel/numpy and kernel/read-pass, which stay stable across machines and
across load on a shared machine far better than absolute times do.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from alsim.exceptions import ConfigError

SIZES: tuple[str, ...] = ("small", "medium", "large")
IMPLS: tuple[str, ...] = ("alsim", "numpy", "read_pass")
MEASURES: tuple[str, ...] = ("least_confidence", "margin", "entropy")

# Environment switch read only by the benchmark harness (never by alsim.kernels): the listed kernels
# (comma-separated, or "all") are replaced in the "alsim" timing by their plain-numpy fallback. It exists
# to prove that the gate catches a kernel that lost its fast path.
SLOWDOWN_ENV = "ALSIM_BENCH_SLOWDOWN"
# Number of times each case's three timings are taken in turn (kernel, numpy, read pass, kernel, ...).
# The gate takes the median of the per-repeat ratios, so a change of load on a shared machine during one
# repeat moves one ratio, not the result.
REPEATS_ENV = "ALSIM_BENCH_REPEATS"

# Problem sizes per kernel. "large" are the sizes named in the kernels issue (issue 2).
SIZE_PARAMS: dict[str, dict[str, dict[str, int]]] = {
    "uncertainty_scores": {
        "small": {"n": 1_000, "c": 10},
        "medium": {"n": 100_000, "c": 10},
        "large": {"n": 1_000_000, "c": 10},
    },
    "uncertainty_table": {
        "small": {"n": 1_000, "c": 10},
        "medium": {"n": 100_000, "c": 10},
        "large": {"n": 1_000_000, "c": 10},
    },
    "select_most_uncertain": {
        "small": {"n": 1_000, "c": 10, "k": 10},
        "medium": {"n": 100_000, "c": 10, "k": 100},
        "large": {"n": 1_000_000, "c": 10, "k": 100},
    },
    "top_k": {
        "small": {"n": 1_000, "k": 10},
        "medium": {"n": 100_000, "k": 100},
        "large": {"n": 1_000_000, "k": 1_000},
    },
    "k_center_greedy": {
        "small": {"n": 2_000, "d": 16, "clusters": 5, "labeled": 10, "k": 20},
        "medium": {"n": 20_000, "d": 64, "clusters": 20, "labeled": 50, "k": 100},
        "large": {"n": 100_000, "d": 128, "clusters": 50, "labeled": 100, "k": 1_000},
    },
    "kmeans_pp": {
        "small": {"n": 2_000, "d": 16, "clusters": 5, "k": 10},
        "medium": {"n": 20_000, "d": 32, "clusters": 20, "k": 50},
        "large": {"n": 200_000, "d": 32, "clusters": 50, "k": 200},
    },
    "vote_entropy": {
        "small": {"m": 5, "n": 1_000, "c": 3},
        "medium": {"m": 10, "n": 20_000, "c": 10},
        "large": {"m": 10, "n": 100_000, "c": 10},
    },
    "consensus_kl": {
        "small": {"m": 5, "n": 1_000, "c": 3},
        "medium": {"m": 10, "n": 20_000, "c": 10},
        "large": {"m": 10, "n": 100_000, "c": 10},
    },
    "pairwise_disagreement": {
        "small": {"m": 5, "n": 1_000, "c": 3},
        "medium": {"m": 10, "n": 20_000, "c": 10},
        "large": {"m": 10, "n": 100_000, "c": 10},
    },
}
KERNELS: tuple[str, ...] = tuple(SIZE_PARAMS)
_MEASURED_KERNELS = frozenset({"uncertainty_scores", "select_most_uncertain"})


@dataclass(frozen=True)
class BenchCase:
    """One kernel at one size (and one uncertainty measure where the kernel takes one)."""

    kernel: str
    size: str
    variant: str | None = None

    @property
    def params(self) -> dict[str, int]:
        """Sizes of the case's inputs (rows, columns, k, ...)."""
        return SIZE_PARAMS[self.kernel][self.size]

    @property
    def group(self) -> str:
        """pytest-benchmark group name, also the key of the case in a baseline file."""
        name = self.kernel if self.variant is None else f"{self.kernel}[{self.variant}]"
        return f"{name}/{self.size}"

    @property
    def test_id(self) -> str:
        """Prefix of the case's pytest test ids, e.g. ``top_k-medium``."""
        parts = [self.kernel] + ([self.variant] if self.variant else []) + [self.size]
        return "-".join(parts)


def all_cases() -> list[BenchCase]:
    """Every case of the suite, ordered so that cases sharing an input run one after the other."""
    cases: list[BenchCase] = []
    for kernel in KERNELS:
        for size in SIZES:
            variants: tuple[str | None, ...] = MEASURES if kernel in _MEASURED_KERNELS else (None,)
            cases.extend(BenchCase(kernel, size, variant) for variant in variants)
    return cases


def slowed_kernels(environ: dict[str, str] | None = None) -> frozenset[str]:
    """Kernels named in ``ALSIM_BENCH_SLOWDOWN`` (see :data:`SLOWDOWN_ENV`)."""
    raw = (os.environ if environ is None else environ).get(SLOWDOWN_ENV, "").strip()
    if not raw:
        return frozenset()
    names = {name.strip() for name in raw.split(",") if name.strip()}
    if names == {"all"}:
        return frozenset(KERNELS)
    unknown = sorted(names - set(KERNELS))
    if unknown:
        raise ConfigError(
            f"The {SLOWDOWN_ENV} environment variable must name kernels among {sorted(KERNELS)} "
            f"(comma-separated) or be 'all'. Got {unknown} instead."
        )
    return frozenset(names)


def repeats(environ: dict[str, str] | None = None) -> int:
    """Return the number of interleaved repeats of every case, from ``ALSIM_BENCH_REPEATS`` (default 1)."""
    raw = (os.environ if environ is None else environ).get(REPEATS_ENV, "1").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"The {REPEATS_ENV} environment variable must be an int >= 1. Got {raw!r} instead.")
    return int(raw)


# ----------------------------------------------------------------------------------------------------
# Seeded inputs


def _rng(*key: object) -> np.random.Generator:
    # A stable seed per input family and size, so every run and every machine times the same data.
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=-1, keepdims=True)
    return logits


def _mixture(rng: np.random.Generator, n: int, d: int, clusters: int, dtype: type) -> np.ndarray:
    centers = rng.standard_normal((clusters, d)) * 4.0
    members = rng.integers(clusters, size=n)
    points = centers[members] + rng.standard_normal((n, d))
    return np.ascontiguousarray(points, dtype=dtype)


@lru_cache(maxsize=2)
def make_inputs(case: BenchCase) -> dict[str, Any]:
    """Return the inputs of a case; ``main`` is the array the read pass goes over.

    Cached: the three timings share it.
    """
    kernel, size, p = case.kernel, case.size, case.params
    if kernel in _MEASURED_KERNELS or kernel == "uncertainty_table":
        # Shared by the three kernels (same seed key): peaked, classifier-like class probabilities.
        rng = _rng("proba", size)
        proba = _softmax(rng.standard_normal((p["n"], p["c"])) * 2.0)
        return {"main": proba, "proba": proba, "k": p.get("k")}
    if kernel == "top_k":
        scores = _rng("scores", size).random(p["n"])
        return {"main": scores, "scores": scores, "k": p["k"]}
    if kernel == "k_center_greedy":
        rng = _rng("k_center", size)
        points = _mixture(rng, p["n"], p["d"], p["clusters"], np.float32)
        labeled = np.sort(rng.choice(p["n"], size=p["labeled"], replace=False)).astype(np.int64)
        return {"main": points, "X": points, "labeled": labeled, "k": p["k"]}
    if kernel == "kmeans_pp":
        points = _mixture(_rng("kmeans_pp", size), p["n"], p["d"], p["clusters"], np.float64)
        return {"main": points, "X": points, "k": p["k"], "seed": 0}
    # Committee inputs: members that mostly agree, as a bagged committee does.
    rng = _rng("committee", size)
    shared = rng.standard_normal((p["n"], p["c"])) * 2.0
    member_proba = _softmax(shared[None, :, :] + rng.standard_normal((p["m"], p["n"], p["c"])))
    if kernel == "consensus_kl":
        return {"main": member_proba, "member_proba": member_proba}
    votes = np.ascontiguousarray(member_proba.argmax(axis=-1), dtype=np.int64)
    return {"main": votes, "votes": votes, "n_classes": p["c"]}


# ----------------------------------------------------------------------------------------------------
# Plain-numpy references: the fastest straightforward numpy formulation of each kernel.


def numpy_uncertainty_scores(proba: np.ndarray, measure: str) -> np.ndarray:
    """Return the reference uncertainty scores of ``proba`` for ``measure``, in plain numpy."""
    if measure == "least_confidence":
        return 1.0 - proba.max(axis=1)
    if measure == "margin":
        top_two = np.partition(proba, -2, axis=1)[:, -2:]
        return 1.0 - (top_two[:, 1] - top_two[:, 0])
    logs = np.log(proba, out=np.zeros_like(proba), where=proba > 0)
    return -np.einsum("ij,ij->i", proba, logs)


def numpy_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the reference :func:`alsim.kernels.top_k` in plain numpy: highest first, ties to the lower index."""
    # O(n) partition for the k-th largest value, then an exact order (descending, ties to the lower index)
    # on the few candidates only.
    threshold = np.partition(scores, scores.size - k)[scores.size - k]
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)[: k - above.size]
    candidates = np.concatenate([above, tied])
    return candidates[np.lexsort((candidates, -scores[candidates]))]


def numpy_select_most_uncertain(proba: np.ndarray, k: int, measure: str) -> np.ndarray:
    """Return the reference :func:`alsim.kernels.select_most_uncertain` in plain numpy."""
    return numpy_top_k(numpy_uncertainty_scores(proba, measure), k)


def squared_norms(points: np.ndarray) -> np.ndarray:
    """Squared Euclidean norm of every row of ``points``."""
    return np.einsum("ij,ij->i", points, points)


def min_sq_distances_to(points: np.ndarray, norms: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared distance from every row of ``points`` to its nearest row of ``centers``."""
    result = np.full(points.shape[0], np.inf, dtype=points.dtype)
    for start in range(0, centers.shape[0], 256):
        block = centers[start : start + 256]
        dist = norms[:, None] - 2.0 * (points @ block.T) + squared_norms(block)[None, :]
        np.minimum(result, dist.min(axis=1), out=result)
    return result


def numpy_k_center_greedy(X: np.ndarray, labeled: np.ndarray, k: int) -> np.ndarray:
    """Textbook greedy core-set: a minimum-distance vector and one matrix-vector product per step."""
    norms = squared_norms(X)
    min_dist = min_sq_distances_to(X, norms, X[labeled])
    picks = np.empty(k, dtype=np.int64)
    for step in range(k):
        pick = int(np.argmax(min_dist))
        picks[step] = pick
        np.minimum(min_dist, norms - 2.0 * (X @ X[pick]) + norms[pick], out=min_dist)
    return picks


def numpy_kmeans_pp(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """D-squared seeding with numpy's generator: one matrix-vector product and one cumulative sum per pick."""
    rng = np.random.default_rng(seed)
    norms = squared_norms(X)
    picks = np.empty(k, dtype=np.int64)
    picks[0] = rng.integers(X.shape[0])
    min_dist = np.maximum(norms - 2.0 * (X @ X[picks[0]]) + norms[picks[0]], 0.0)
    for step in range(1, k):
        cumulative = np.cumsum(min_dist)
        pick = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        picks[step] = min(pick, X.shape[0] - 1)
        np.minimum(min_dist, np.maximum(norms - 2.0 * (X @ X[pick]) + norms[pick], 0.0), out=min_dist)
    return picks


def _vote_counts(votes: np.ndarray, n_classes: int) -> np.ndarray:
    n = votes.shape[1]
    flat = (votes + n_classes * np.arange(n, dtype=votes.dtype)).ravel()
    return np.bincount(flat, minlength=n * n_classes).reshape(n, n_classes)


def numpy_vote_entropy(votes: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the reference vote entropy of committee ``votes`` (members x examples) in plain numpy."""
    share = _vote_counts(votes, n_classes) / votes.shape[0]
    logs = np.log(share, out=np.zeros_like(share), where=share > 0)
    return -np.einsum("ij,ij->i", share, logs)


def numpy_consensus_kl(member_proba: np.ndarray) -> np.ndarray:
    """Return the reference mean KL divergence of each member from the consensus, in plain numpy."""
    # mean_m KL(p_m || p_mean) = (1/M) sum p ln p - sum p_mean ln p_mean; clamping zeros to the smallest
    # normal number before the logarithm makes 0 ln 0 = 0 without a slower masked log.
    tiny = np.finfo(np.float64).tiny
    consensus = member_proba.mean(axis=0)
    log_members = np.maximum(member_proba, tiny)
    np.log(log_members, out=log_members)
    own = np.einsum("mnc,mnc->n", member_proba, log_members) / member_proba.shape[0]
    shared = np.einsum("nc,nc->n", consensus, np.log(np.maximum(consensus, tiny)))
    return np.maximum(own - shared, 0.0)


def numpy_pairwise_disagreement(votes: np.ndarray) -> np.ndarray:
    """Return the reference share of member pairs that disagree on each example, in plain numpy."""
    members = votes.shape[0]
    counts = _vote_counts(votes, int(votes.max()) + 1)
    agreeing = (counts * (counts - 1)).sum(axis=1) / 2.0
    return 1.0 - agreeing / (members * (members - 1) / 2.0)


def run_numpy(case: BenchCase, inputs: dict[str, Any]) -> np.ndarray:
    """Return the plain-numpy reference of a case."""
    kernel = case.kernel
    if kernel == "uncertainty_scores":
        return numpy_uncertainty_scores(inputs["proba"], case.variant or "")
    if kernel == "uncertainty_table":
        return np.column_stack([numpy_uncertainty_scores(inputs["proba"], measure) for measure in MEASURES])
    if kernel == "select_most_uncertain":
        return numpy_select_most_uncertain(inputs["proba"], inputs["k"], case.variant or "")
    if kernel == "top_k":
        return numpy_top_k(inputs["scores"], inputs["k"])
    if kernel == "k_center_greedy":
        return numpy_k_center_greedy(inputs["X"], inputs["labeled"], inputs["k"])
    if kernel == "kmeans_pp":
        return numpy_kmeans_pp(inputs["X"], inputs["k"], inputs["seed"])
    if kernel == "vote_entropy":
        return numpy_vote_entropy(inputs["votes"], inputs["n_classes"])
    if kernel == "consensus_kl":
        return numpy_consensus_kl(inputs["member_proba"])
    return numpy_pairwise_disagreement(inputs["votes"])


def run_kernel(case: BenchCase, inputs: dict[str, Any]) -> np.ndarray:
    """Return the alsim kernel of a case."""
    from alsim import kernels

    kernel = case.kernel
    if kernel == "uncertainty_scores":
        return kernels.uncertainty_scores(inputs["proba"], case.variant or "")
    if kernel == "uncertainty_table":
        return kernels.uncertainty_table(inputs["proba"], MEASURES)
    if kernel == "select_most_uncertain":
        return kernels.select_most_uncertain(inputs["proba"], inputs["k"], case.variant or "")
    if kernel == "top_k":
        return kernels.top_k(inputs["scores"], inputs["k"])
    if kernel == "k_center_greedy":
        return kernels.k_center_greedy(inputs["X"], inputs["labeled"], inputs["k"])
    if kernel == "kmeans_pp":
        return kernels.kmeans_pp(inputs["X"], inputs["k"], inputs["seed"])
    if kernel == "vote_entropy":
        return kernels.vote_entropy(inputs["votes"], inputs["n_classes"])
    if kernel == "consensus_kl":
        return kernels.consensus_kl(inputs["member_proba"])
    return kernels.pairwise_disagreement(inputs["votes"])


def run_read_pass(case: BenchCase, inputs: dict[str, Any]) -> Any:
    """One read pass over the kernel's main input: the memory-bandwidth reference."""
    return inputs["main"].sum()
