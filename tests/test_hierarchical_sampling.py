"""Hierarchical sampling (Dasgupta & Hsu 2008): hand-computed bounds and prunings, refinement, determinism.

These tests check the paper's invariants and small cases computed by hand; the comparison with libact's
implementation (ALiPy has none) is in test_hierarchical_parity.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.dummy import DummyClassifier

import alsim
from alsim.exceptions import InvalidParameterError
from alsim.strategies import PoolState, make_strategy
from alsim.strategies.hierarchical import (
    admissible_labels,
    build_cluster_tree,
    label_bounds,
    node_errors,
    update_tree,
)

# Two tight pairs far apart: leaves 0, 1 near 0 and leaves 2, 3 near 10.
LINE = np.array([[0.0], [0.1], [10.0], [10.1]])


def test_bounds_and_admissibility_match_a_hand_computation():
    # 8 samples all of label 0: p = (1, 0), delta = 1/8, so p_LB(0) = 0.875 and p_UB(1) = 0.125.
    # (v, 0): 1 - 0.875 = 0.125 < 2 * (1 - 0.125) -> admissible; (v, 1): 1 < 2 * (1 - 1) = 0 -> not.
    # 3 vs 2 samples: p = (0.6, 0.4), delta = 0.2 + sqrt(0.24 / 5) = 0.419; p_LB = (0.181, 0),
    # p_UB = (1, 0.819): (v, 0): 0.819 < 2 * 0.181 fails, (v, 1): 1 < 0 fails -> nothing admissible.
    counts = np.array([[8, 0], [3, 2], [0, 0]])
    _, lower, upper = label_bounds(counts)
    np.testing.assert_allclose(lower[0], [0.875, 0.0])
    np.testing.assert_allclose(upper[0], [1.0, 0.125])
    np.testing.assert_allclose(lower[1], [0.6 - 0.2 - np.sqrt(0.048), 0.0])
    np.testing.assert_allclose(upper[1], [1.0, 0.4 + 0.2 + np.sqrt(0.048)])
    np.testing.assert_allclose(lower[2], [0.0, 0.0])
    np.testing.assert_allclose(upper[2], [1.0, 1.0])
    np.testing.assert_array_equal(admissible_labels(counts), [[True, False], [False, False], [False, False]])
    np.testing.assert_allclose(node_errors(counts, 2.0), [0.0, 1.0, 1.0])
    # A looser beta admits the majority of the 3-vs-2 node: 0.819 < 5 * 0.181.
    np.testing.assert_array_equal(admissible_labels(counts[1:2], beta=5.0), [[True, False]])


def test_tree_follows_scipy_linkage_and_spans_are_contiguous():
    tree = build_cluster_tree(LINE, n_classes=2)
    assert tree.root == 6 and tree.pruning == [6]
    assert {frozenset(tree.children[v].tolist()) for v in (4, 5)} == {frozenset({0, 1}), frozenset({2, 3})}
    assert tree.size.tolist() == [1, 1, 1, 1, 2, 2, 4]
    for v in range(7):
        leaves = set(tree.order[tree.span[v, 0] : tree.span[v, 1]].tolist())
        assert len(leaves) == tree.size[v]
        if v >= 4:
            a, b = tree.children[v]
            assert leaves == set(tree.order[tree.span[a, 0] : tree.span[a, 1]].tolist()) | set(
                tree.order[tree.span[b, 0] : tree.span[b, 1]].tolist()
            )


def test_pure_pairs_split_the_root_by_hand():
    tree = build_cluster_tree(LINE, n_classes=2)
    pair_of = {leaf: int(tree.parent[leaf]) for leaf in range(4)}
    # Four samples per leaf from the root: each pair node sees 8 samples of one label (error 0,
    # admissible), the root sees 8 + 8 (nothing admissible, error 1), so the best pruning is the pairs.
    samples = [(leaf, int(leaf >= 2), tree.root) for leaf in range(4) for _ in range(4)]
    update_tree(tree, samples, beta=2.0)
    assert tree.counts[tree.root].tolist() == [8, 8]
    assert tree.counts[pair_of[0]].tolist() == [8, 0] and tree.counts[pair_of[2]].tolist() == [0, 8]
    assert tree.split[tree.root] and tree.score[tree.root] == 0.0
    assert sorted(tree.pruning) == sorted({pair_of[0], pair_of[2]})
    # A pair that is pure stays whole: its leaves (2 samples each, error 0 but only as good) do not beat it.
    assert not tree.split[pair_of[0]]


def test_a_sample_only_counts_from_its_leaf_up_to_the_node_it_was_drawn_from():
    tree = build_cluster_tree(LINE, n_classes=2)
    pair = int(tree.parent[0])
    update_tree(tree, [(0, 1, pair)], beta=2.0)
    assert tree.counts[0].tolist() == [0, 1] and tree.counts[pair].tolist() == [0, 1]
    assert tree.counts[tree.root].tolist() == [0, 0]


def test_mixed_evidence_keeps_the_root():
    tree = build_cluster_tree(LINE, n_classes=2)
    update_tree(tree, [(0, 0, tree.root), (2, 1, tree.root), (1, 1, tree.root)], beta=2.0)
    assert tree.pruning == [tree.root]  # one sample per node is never admissible: nothing to refine to


def _run_rounds(strategy, X, y, rounds, batch_size, seed):
    rng = np.random.default_rng(seed)
    labeled = np.sort(rng.choice(X.shape[0], size=10, replace=False))
    cache: dict = {}
    model = DummyClassifier().fit(X[labeled], y[labeled])
    history = []
    for _ in range(rounds):
        state = PoolState(X, labeled, y[labeled], int(y.max()) + 1, model, cache=cache)
        picks = strategy.select(state, batch_size, rng)
        tree = cache[("hierarchical_sampling", strategy.linkage)][0]
        history.append((list(tree.pruning), picks))
        labeled = np.concatenate([labeled, picks])
    return history, tree


def test_the_pruning_is_a_partition_and_is_only_ever_refined():
    X, y = make_blobs(n_samples=150, centers=4, cluster_std=0.6, random_state=0)
    history, tree = _run_rounds(make_strategy("hierarchical_sampling"), X, y, rounds=12, batch_size=5, seed=0)
    previous: list[int] | None = None
    for pruning, picks in history:
        leaves = np.concatenate([tree.order[tree.span[v, 0] : tree.span[v, 1]] for v in pruning])
        np.testing.assert_array_equal(np.sort(leaves), np.arange(150))  # a partition of the pool
        if previous is not None:
            for v in pruning:  # every node descends from (or is) a node of the previous pruning
                ancestors = {v}
                while tree.parent[v] >= 0:
                    v = int(tree.parent[v])
                    ancestors.add(v)
                assert ancestors & set(previous)
        previous = pruning
        assert np.unique(picks).size == picks.size
    # Well separated blobs: the pruning has been refined below the root into (mostly) pure clusters.
    assert len(history[-1][0]) > 1
    final = history[-1][0]
    purity = [np.bincount(y[tree.order[tree.span[v, 0] : tree.span[v, 1]]]).max() / tree.size[v] for v in final]
    assert np.average(purity, weights=tree.size[final]) > 0.9


def test_active_selection_samples_the_impure_cluster_more():
    # Left blob all label 0, right blob half 0 half 1: once the pruning is the two blobs, the active rule
    # weighs the right one by 1 - p_LB ~ 0.8 and the left by ~ 0.1, so most picks go right.
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.1, (60, 2)), rng.normal(10, 0.1, (60, 2))])
    y = np.concatenate([np.zeros(60, dtype=int), rng.permutation(np.repeat([0, 1], 30))])
    counts = {}
    for selection in ("active", "random"):
        strategy = make_strategy("hierarchical_sampling", selection=selection)
        history, _ = _run_rounds(strategy, X, y, rounds=6, batch_size=10, seed=1)
        later = np.concatenate([picks for _, picks in history[2:]])
        counts[selection] = int((later >= 60).sum())
    assert counts["active"] > counts["random"]
    assert counts["active"] >= 30  # of 40 later picks


def test_same_seed_same_picks_and_the_run_is_reproducible():
    kwargs = {"strategy": "hierarchical_sampling", "batch_size": 5, "initial_size": 10, "label_budget": 40}
    a = alsim.simulate("openml:61", random_state=4, **kwargs).records["selected"].to_list()
    b = alsim.simulate("openml:61", random_state=4, **kwargs).records["selected"].to_list()
    c = alsim.simulate("openml:61", random_state=5, **kwargs).records["selected"].to_list()
    assert a == b and a != c
    picked = [index for batch in a for index in batch]
    assert len(set(picked)) == len(picked) == 40  # the initial 10 and three rounds of 5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"linkage": "centroid"}, "'linkage'"),
        ({"selection": "greedy"}, "'selection'"),
        ({"beta": 1.0}, "'beta'"),
        ({"beta": True}, "'beta'"),
        ({"max_pool_size": 0}, "'max_pool_size'"),
    ],
)
def test_parameters_are_checked(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_strategy("hierarchical_sampling", **params)


def test_a_pool_beyond_max_pool_size_is_refused_with_the_memory_it_would_take():
    X, y = make_blobs(n_samples=50, centers=2, random_state=0)
    labeled = np.arange(5)
    state = PoolState(X, labeled, y[labeled], 2, DummyClassifier().fit(X[labeled], y[labeled]))
    strategy = make_strategy("hierarchical_sampling", max_pool_size=40)
    with pytest.raises(InvalidParameterError, match=r"50 examples exceed 'max_pool_size' = 40 .*GB"):
        strategy.select(state, 3, np.random.default_rng(0))
