"""alsim.kernels against plain-numpy references, on random inputs of many shapes, dtypes and layouts."""

from __future__ import annotations

import doctest
from collections.abc import Iterator
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsim import kernels

MEASURES = ("least_confidence", "margin", "entropy")
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


# ---------------------------------------------------------------------------------------------------------
# numpy references (the textbook formulas, written for clarity, not speed)


def ref_scores(proba: np.ndarray, measure: str) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if measure == "least_confidence":
        return 1.0 - p.max(axis=1)
    if measure == "margin":
        top = np.sort(p, axis=1)[:, ::-1]
        second = top[:, 1] if p.shape[1] > 1 else np.zeros(len(p))
        return 1.0 - (top[:, 0] - second)
    terms = np.zeros_like(p)
    positive = p > 0
    terms[positive] = p[positive] * np.log(p[positive])
    return -terms.sum(axis=1)


def ref_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    # A stable sort of the negated scores puts ties in index order.
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]


def ref_k_center(X: np.ndarray, labeled: list[int], k: int, first: int | None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    min_d2 = np.full(len(X), np.inf)
    taken = np.zeros(len(X), dtype=bool)
    picks: list[int] = []

    def add(center: int) -> None:
        taken[center] = True
        np.minimum(min_d2, ((X - X[center]) ** 2).sum(axis=1), out=min_d2)

    for index in labeled:
        add(index)
    if first is not None:
        picks.append(first)
        add(first)
    while len(picks) < k:
        candidate = int(np.argmax(np.where(taken, -np.inf, min_d2)))
        picks.append(candidate)
        add(candidate)
    return np.array(picks)


def ref_vote_entropy(votes: np.ndarray, n_classes: int) -> np.ndarray:
    m = votes.shape[0]
    out = np.zeros(votes.shape[1])
    for i in range(votes.shape[1]):
        share = np.bincount(votes[:, i], minlength=n_classes) / m
        share = share[share > 0]
        out[i] = -(share * np.log(share)).sum()
    return out


def ref_consensus_kl(member_proba: np.ndarray) -> np.ndarray:
    p = np.asarray(member_proba, dtype=np.float64)
    mean = p.mean(axis=0)
    out = np.zeros(p.shape[1])
    for member in p:
        positive = member > 0
        terms = np.zeros_like(member)
        terms[positive] = member[positive] * np.log(member[positive] / mean[positive])
        out += terms.sum(axis=1)
    return out / p.shape[0]


def ref_pairwise(votes: np.ndarray) -> np.ndarray:
    pairs = list(combinations(range(votes.shape[0]), 2))
    return np.array([np.mean([votes[a, i] != votes[b, i] for a, b in pairs]) for i in range(votes.shape[1])])


# ---------------------------------------------------------------------------------------------------------
# inputs


def layouts(a: np.ndarray) -> Iterator[np.ndarray]:
    """The same values C-ordered, F-ordered and as a strided view into a larger array."""
    yield np.ascontiguousarray(a)
    yield np.asfortranarray(a)
    big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    yield view


def random_proba(rng: np.random.Generator, n: int, c: int, dtype: type, kind: str) -> np.ndarray:
    if kind == "one_hot":
        p = np.eye(c)[rng.integers(c, size=n)]
    elif kind == "uniform":
        p = np.full((n, c), 1.0 / c)
    else:
        p = rng.dirichlet(np.full(c, 0.5), size=n)
        if kind == "ties" and n > 1:
            p[rng.integers(n, size=n // 2)] = p[0]
    return p.astype(dtype)


proba_cases = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(1, 60),
    st.integers(1, 9),
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from(["random", "ties", "one_hot", "uniform"]),
)


# ---------------------------------------------------------------------------------------------------------
# uncertainty and top-k


@SETTINGS
@given(proba_cases)
def test_uncertainty_scores_match_numpy(case: tuple[int, int, int, type, str]) -> None:
    seed, n, c, dtype, kind = case
    proba = random_proba(np.random.default_rng(seed), n, c, dtype, kind)
    for measure in MEASURES:
        expected = ref_scores(proba, measure)
        for array in layouts(proba):
            got = kernels.uncertainty_scores(array, measure)
            assert got.dtype == np.float64 and got.shape == (n,)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)


@SETTINGS
@given(proba_cases, st.lists(st.sampled_from(MEASURES), min_size=1, max_size=4))
def test_uncertainty_table_columns_are_the_single_measure_scores(
    case: tuple[int, int, int, type, str], measures: list[str]
) -> None:
    seed, n, c, dtype, kind = case
    proba = random_proba(np.random.default_rng(seed), n, c, dtype, kind)
    for array in layouts(proba):
        table = kernels.uncertainty_table(array, measures)
        assert table.dtype == np.float64 and table.shape == (n, len(measures))
        for j, measure in enumerate(measures):
            # Bit for bit: the loop's records and the strategies read the table instead of the scores.
            np.testing.assert_array_equal(
                table[:, j].view(np.uint64), kernels.uncertainty_scores(proba, measure).view(np.uint64)
            )
    np.testing.assert_array_equal(kernels.uncertainty_table(proba), kernels.uncertainty_table(proba, MEASURES))


@SETTINGS
@given(proba_cases, st.data())
def test_select_most_uncertain_is_top_k_of_scores(case: tuple[int, int, int, type, str], data: st.DataObject) -> None:
    seed, n, c, dtype, kind = case
    proba = random_proba(np.random.default_rng(seed), n, c, dtype, kind)
    k = data.draw(st.integers(1, n))
    for measure in MEASURES:
        scores = kernels.uncertainty_scores(proba, measure)
        expected = ref_top_k(scores, k)
        np.testing.assert_array_equal(kernels.top_k(scores, k), expected)
        for array in layouts(proba):
            got = kernels.select_most_uncertain(array, k, measure)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, expected)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.sampled_from([np.float32, np.float64]), st.data())
def test_top_k_matches_stable_argsort(seed: int, n: int, dtype: type, data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct values, so that ties are common.
    scores = rng.integers(0, 5, size=n).astype(dtype) / 4
    k = data.draw(st.integers(1, n))
    for array in layouts(scores):
        np.testing.assert_array_equal(kernels.top_k(array, k), ref_top_k(scores, k))


@pytest.mark.parametrize(
    "pattern",
    ["random", "ascending", "descending", "few_values", "periodic_low", "periodic_high", "signed_zeros", "infinities"],
)
@pytest.mark.parametrize("k", [1, 7, 500, 3_000, 20_000])
def test_top_k_at_scale_matches_stable_argsort(pattern: str, k: int) -> None:
    # Large enough for the sampled cutoff. The periodic patterns put the values the strided sample sees
    # apart from the rest: too low a cutoff keeps almost everything, too high a one (periodic_high with
    # k above the ~1,000 sampled positions) keeps fewer than k and every score has to be reconsidered.
    n = 40_000
    rng = np.random.default_rng(k)
    scores = {
        "random": rng.random(n),
        "ascending": np.arange(n, dtype=np.float64),
        "descending": -np.arange(n, dtype=np.float64),
        "few_values": rng.integers(0, 4, n).astype(np.float64),
        "periodic_low": np.where(np.arange(n) % (n // 1024) == 0, 0.0, 1.0) + rng.random(n) * 1e-3,
        "periodic_high": np.where(np.arange(n) % (n // 1024) == 0, 1.0, 0.0) + rng.random(n) * 1e-3,
        "signed_zeros": np.where(rng.random(n) < 0.5, -0.0, 0.0) + (rng.random(n) < 0.01),
        "infinities": np.where(rng.random(n) < 0.02, np.inf, rng.random(n)),
    }[pattern]
    for dtype in (np.float64, np.float32):
        array = scores.astype(dtype)
        np.testing.assert_array_equal(kernels.top_k(array, k), ref_top_k(array, k))


def test_top_k_accepts_integers_and_infinities() -> None:
    np.testing.assert_array_equal(kernels.top_k([3, 1, 3, 7], 3), [3, 0, 2])
    np.testing.assert_array_equal(kernels.top_k([1.0, np.inf, -np.inf], 3), [1, 0, 2])


def test_fused_selection_at_scale_matches_numpy() -> None:
    # Large enough for the parallel, chunked and pruned code paths.
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(150_000, 7)) * 2
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    proba[100_000] = proba[5]  # an exact tie across chunks
    for measure in MEASURES:
        expected_scores = ref_scores(proba, measure)
        scores = kernels.uncertainty_scores(proba, measure)
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-12, atol=1e-13)
        for k in (1, 100, 5000):
            np.testing.assert_array_equal(kernels.select_most_uncertain(proba, k, measure), ref_top_k(scores, k))


def test_rows_within_tolerance_are_accepted() -> None:
    proba = np.array([[0.5, 0.5 + 0.9 * kernels.PROBA_SUM_TOLERANCE]])
    assert kernels.uncertainty_scores(proba, "least_confidence")[0] == pytest.approx(0.5 - 0.9e-3)


# ---------------------------------------------------------------------------------------------------------
# k-center greedy


def blobs(rng: np.random.Generator, n: int, d: int, centers: int) -> np.ndarray:
    means = rng.normal(scale=4.0, size=(centers, d))
    return means[rng.integers(centers, size=n)] + rng.normal(size=(n, d))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.integers(1, 120), st.integers(1, 9), st.data())
def test_k_center_matches_textbook_on_float64(seed: int, n: int, d: int, data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    X = blobs(rng, n, d, centers=int(rng.integers(1, 6)))
    if n > 3 and data.draw(st.booleans()):
        X[: n // 3] = X[0]  # duplicate points: exact ties at distance 0
    n_labeled = data.draw(st.integers(0, n - 1))
    labeled = rng.choice(n, size=n_labeled, replace=False)
    k = data.draw(st.integers(1, n - n_labeled))
    picks = kernels.k_center_greedy(X, labeled, k, seed=seed)
    first = int(picks[0]) if n_labeled == 0 else None
    np.testing.assert_array_equal(picks, ref_k_center(X, list(labeled), k, first))
    for array in layouts(X):
        np.testing.assert_array_equal(kernels.k_center_greedy(array, labeled, k, seed=seed), picks)


def test_k_center_at_scale_float64_exact_and_float32_covering_radius() -> None:
    rng = np.random.default_rng(5)
    X = blobs(rng, 6000, 24, centers=12)
    labeled = rng.choice(len(X), size=30, replace=False)
    expected = ref_k_center(X, list(labeled), 150, None)
    np.testing.assert_array_equal(kernels.k_center_greedy(X, labeled, 150), expected)
    picks32 = kernels.k_center_greedy(X.astype(np.float32), labeled, 150)
    assert len(set(picks32.tolist())) == 150 and not set(picks32.tolist()) & set(labeled.tolist())

    def covering_radius(picks: np.ndarray) -> float:
        centers = X[np.concatenate([labeled, picks])]
        d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        return float(np.sqrt(d2.min(axis=1).max()))

    # float32 may only differ at near-ties; then the covering radius still agrees.
    assert covering_radius(picks32) == pytest.approx(covering_radius(expected), rel=1e-5)


def test_k_center_seed_controls_first_pick_only_without_labels() -> None:
    X = blobs(np.random.default_rng(0), 200, 3, centers=4)
    a = kernels.k_center_greedy(X, None, 5, seed=7)
    np.testing.assert_array_equal(a, kernels.k_center_greedy(X, [], 5, seed=7))
    from_generator = kernels.k_center_greedy(X, None, 5, seed=np.random.default_rng(1))
    np.testing.assert_array_equal(from_generator, kernels.k_center_greedy(X, None, 5, seed=np.random.default_rng(1)))
    firsts = {int(kernels.k_center_greedy(X, None, 1, seed=s)[0]) for s in range(30)}
    assert len(firsts) > 10
    np.testing.assert_array_equal(
        kernels.k_center_greedy(X, [3], 4, seed=1), kernels.k_center_greedy(X, [3], 4, seed=2)
    )


# ---------------------------------------------------------------------------------------------------------
# committee disagreement


committee_cases = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(1, 12),
    st.integers(1, 50),
    st.integers(1, 7),
    st.sampled_from([np.int32, np.int64]),
)


@SETTINGS
@given(committee_cases)
def test_vote_entropy_and_pairwise_disagreement_match_numpy(case: tuple[int, int, int, int, type]) -> None:
    seed, m, n, c, dtype = case
    votes = np.random.default_rng(seed).integers(0, c, size=(m, n)).astype(dtype)
    for array in layouts(votes):
        np.testing.assert_allclose(kernels.vote_entropy(array, c), ref_vote_entropy(votes, c), rtol=1e-12, atol=1e-14)
        if m >= 2:
            np.testing.assert_allclose(
                kernels.pairwise_disagreement(array), ref_pairwise(votes), rtol=1e-12, atol=1e-14
            )


@SETTINGS
@given(proba_cases, st.integers(1, 6))
def test_consensus_kl_matches_numpy(case: tuple[int, int, int, type, str], m: int) -> None:
    seed, n, c, dtype, kind = case
    rng = np.random.default_rng(seed)
    member_proba = np.stack([random_proba(rng, n, c, dtype, kind) for _ in range(m)])
    expected = ref_consensus_kl(member_proba)
    for array in layouts(member_proba):
        np.testing.assert_allclose(kernels.consensus_kl(array), expected, rtol=1e-10, atol=1e-12)
    # A list of per-member arrays is accepted as well.
    np.testing.assert_allclose(kernels.consensus_kl(list(member_proba)), expected, rtol=1e-10, atol=1e-12)


def test_committee_kernels_at_scale() -> None:
    rng = np.random.default_rng(9)
    votes = rng.integers(0, 10, size=(10, 30_000))
    np.testing.assert_allclose(kernels.vote_entropy(votes, 10), ref_vote_entropy(votes, 10), rtol=1e-12, atol=1e-14)
    member_proba = rng.dirichlet(np.ones(10), size=(10, 30_000))
    np.testing.assert_allclose(
        kernels.consensus_kl(member_proba), ref_consensus_kl(member_proba), rtol=1e-10, atol=1e-12
    )


# ---------------------------------------------------------------------------------------------------------
# k-means++


def test_kmeans_pp_is_seeded_and_picks_distinct_points() -> None:
    X = blobs(np.random.default_rng(2), 500, 4, centers=5)
    a = kernels.kmeans_pp(X, 20, seed=11)
    assert a.dtype == np.int64 and len(set(a.tolist())) == 20
    np.testing.assert_array_equal(a, kernels.kmeans_pp(X, 20, seed=11))
    assert not np.array_equal(a, kernels.kmeans_pp(X, 20, seed=12))
    for array in layouts(X):
        np.testing.assert_array_equal(kernels.kmeans_pp(array, 20, seed=11), a)
    np.testing.assert_array_equal(np.sort(kernels.kmeans_pp(np.ones((6, 2)), 6, seed=0)), np.arange(6))


def test_kmeans_pp_samples_proportionally_to_squared_distance() -> None:
    # One point far away from a tight group: after a first pick in the group, the far point carries
    # almost all of the D-squared weight.
    X = np.vstack([np.zeros((50, 2)) + np.linspace(0, 0.01, 50)[:, None], [[100.0, 100.0]]])
    second = [int(kernels.kmeans_pp(X, 2, seed=s)[1]) for s in range(40)]
    firsts = [int(kernels.kmeans_pp(X, 2, seed=s)[0]) for s in range(40)]
    assert all(b == 50 for a, b in zip(firsts, second, strict=True) if a != 50)


def test_docstring_examples() -> None:
    result = doctest.testmod(kernels)
    assert result.attempted >= 8 and result.failed == 0
