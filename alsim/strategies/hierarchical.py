"""Hierarchical sampling (Dasgupta & Hsu, "Hierarchical sampling for active learning", ICML 2008).

Registered name
---------------
``hierarchical_sampling``
    Samples inside the clusters of a pruning of a hierarchical clustering of the pool, refining the pruning
    where the labels seen so far show a cluster to be mixed.

The strategy does not read the model: it works on the pool's features and on the labels bought so far.
The cluster tree comes from scipy's :func:`scipy.cluster.hierarchy.linkage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.cluster import hierarchy
from typing_extensions import override

from alsim._validation import check_choice, check_int, check_real
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, QueryStrategy, check_batch_size
from alsim.strategies._registry import register_strategy

__all__ = ["ClusterTree", "HierarchicalSampling", "admissible_labels", "build_cluster_tree"]

_LINKAGES = ("ward", "average", "complete", "single")


@dataclass
class ClusterTree:
    """A binary cluster tree over ``n`` pool rows, with the sampling statistics of Dasgupta & Hsu.

    Node ids follow scipy's linkage: leaves are ``0..n-1`` (pool rows), internal node ``n + i`` merges
    the two nodes of linkage row ``i``, so children always have smaller ids than their parent and the
    root is ``2n - 2``.

    Attributes
    ----------
    children : int array of shape (n_nodes, 2)
        Left and right child of each node (-1 for leaves).
    parent : int array of shape (n_nodes,)
        Parent of each node (-1 for the root).
    size : int array of shape (n_nodes,)
        Number of leaves under each node (the paper's weight ``w_v`` up to the factor ``1/n``).
    span : int array of shape (n_nodes, 2)
        Each node's leaves are ``order[span[v, 0]:span[v, 1]]`` (subtrees are contiguous in ``order``).
    order : int array of shape (n,)
        Leaves in dendrogram order.
    counts : int array of shape (n_nodes, n_classes)
        Labels seen among the random samples drawn from each node (the paper's ``n_v(l)``).
    score : float array of shape (n_nodes,)
        Estimated error of the best admissible pruning of each node's subtree.
    split : bool array of shape (n_nodes,)
        Whether that best pruning goes below the node.
    pruning : list of int
        The current pruning (nodes whose leaves partition the pool).
    """

    children: np.ndarray
    parent: np.ndarray
    size: np.ndarray
    span: np.ndarray
    order: np.ndarray
    counts: np.ndarray
    score: np.ndarray
    split: np.ndarray
    pruning: list[int]

    @property
    def root(self) -> int:
        """Id of the root node (the last one)."""
        return int(self.parent.size - 1)

    def path(self, leaf: int, top: int) -> np.ndarray:
        """Nodes from ``leaf`` up to ``top`` (both included); ``top`` must be an ancestor of ``leaf``."""
        nodes = [int(leaf)]
        while nodes[-1] != top:
            nodes.append(int(self.parent[nodes[-1]]))
        return np.asarray(nodes, dtype=np.int64)

    def best_pruning(self, node: int) -> list[int]:
        """Return the best admissible pruning of ``node``'s subtree (following the ``split`` flags)."""
        out: list[int] = []
        stack = [int(node)]
        while stack:
            v = stack.pop()
            if self.split[v]:
                stack.extend((int(self.children[v, 1]), int(self.children[v, 0])))
            else:
                out.append(v)
        return out


def build_cluster_tree(X: np.ndarray, n_classes: int, method: str = "ward") -> ClusterTree:
    """Cluster ``X`` hierarchically (scipy ``linkage``) and return the tree with empty statistics.

    The pruning starts at the root, as in the paper.
    """
    n = X.shape[0]
    n_nodes = 2 * n - 1
    children = np.full((n_nodes, 2), -1, dtype=np.int64)
    parent = np.full(n_nodes, -1, dtype=np.int64)
    size = np.ones(n_nodes, dtype=np.int64)
    span = np.zeros((n_nodes, 2), dtype=np.int64)
    if n == 1:
        order = np.zeros(1, dtype=np.int64)
    else:
        Z = hierarchy.linkage(X, method=method)
        order = hierarchy.leaves_list(Z).astype(np.int64)
        merged = Z[:, :2].astype(np.int64)
        children[n:] = merged
        internal = np.arange(n, n_nodes)
        parent[merged[:, 0]] = internal
        parent[merged[:, 1]] = internal
        size[n:] = Z[:, 3].astype(np.int64)
    span[order, 0] = np.arange(n)
    span[order, 1] = np.arange(1, n + 1)
    for v in range(n, n_nodes):  # children first: their ids are smaller
        a, b = children[v]
        span[v] = (min(span[a, 0], span[b, 0]), max(span[a, 1], span[b, 1]))
    return ClusterTree(
        children=children,
        parent=parent,
        size=size,
        span=span,
        order=order,
        counts=np.zeros((n_nodes, n_classes), dtype=np.int64),
        score=np.ones(n_nodes),
        split=np.zeros(n_nodes, dtype=bool),
        pruning=[n_nodes - 1],
    )


def label_bounds(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical label fractions of each row of ``counts`` and their lower and upper confidence bounds.

    The bounds are the paper's experimental ones: ``p -/+ (1/n + sqrt(p (1 - p) / n))``, clipped to
    [0, 1]; a row with no samples has fractions 0 and bounds [0, 1].
    """
    counts = np.atleast_2d(counts).astype(np.float64)
    n = counts.sum(axis=1, keepdims=True)
    seen = n > 0
    safe_n = np.where(seen, n, 1.0)
    p = counts / safe_n
    delta = np.where(seen, 1.0 / safe_n + np.sqrt(p * (1.0 - p) / safe_n), 1.0)
    return p, np.clip(p - delta, 0.0, 1.0), np.clip(p + delta, 0.0, 1.0)


def admissible_labels(counts: np.ndarray, beta: float = 2.0) -> np.ndarray:
    """Which labels are admissible for each row of ``counts`` (bool array of the same shape).

    ``(v, l)`` is admissible when ``1 - p_LB(v, l) < beta * (1 - p_UB(v, l'))`` for every other label
    ``l'``: with confidence, ``l`` errs less than ``beta`` times any alternative.
    """
    _, lower, upper = label_bounds(counts)
    n_classes = lower.shape[1]
    if n_classes == 1:
        return (np.atleast_2d(counts).sum(axis=1, keepdims=True) > 0).copy()
    # Largest and second-largest upper bound, so "every other label" excludes l itself.
    top_two = np.sort(upper, axis=1)[:, -2:]
    argmax = np.argmax(upper, axis=1)
    other_best = np.repeat(top_two[:, 1:2], n_classes, axis=1)
    other_best[np.arange(upper.shape[0]), argmax] = top_two[:, 0]
    return (1.0 - lower) < beta * (1.0 - other_best)


def node_errors(counts: np.ndarray, beta: float) -> np.ndarray:
    """Return the paper's ``ε̃(v)``: the lowest empirical error ``1 - p(v, l)`` over admissible labels, 1 if none."""
    p, _, _ = label_bounds(counts)
    allowed = admissible_labels(counts, beta)
    return np.where(allowed, 1.0 - p, 1.0).min(axis=1)


def update_tree(tree: ClusterTree, samples: list[tuple[int, int, int]], beta: float) -> None:
    """Add labeled samples ``(leaf, label, source node)`` and refine the pruning (in place).

    A sample drawn uniformly from the pruning node ``source`` is a uniform sample of every node on the
    path from its leaf up to ``source``, so exactly those nodes count it. Scores are then recomputed on
    the changed nodes (children before parents), and each pruning node that received a sample is
    replaced by the best admissible pruning of its subtree: ``score(v) = min(ε̃(v), (w_a score(a) + w_b
    score(b)) / w_v)``, splitting where the children's weighted score is lower. Each pruning node whose
    counts changed is replaced by the best pruning of its subtree.
    """
    changed: set[int] = set()
    for leaf, label, source in samples:
        nodes = tree.path(leaf, source)
        tree.counts[nodes, label] += 1  # a path visits each node once
        changed.update(nodes.tolist())
    if not changed:
        return
    nodes = np.asarray(sorted(changed), dtype=np.int64)
    errors = node_errors(tree.counts[nodes], beta)
    for v, error in zip(nodes.tolist(), errors.tolist(), strict=True):
        a, b = tree.children[v]
        if a < 0:
            tree.score[v], tree.split[v] = error, False
            continue
        below = (tree.size[a] * tree.score[a] + tree.size[b] * tree.score[b]) / tree.size[v]
        tree.split[v] = below < error
        tree.score[v] = min(error, below)
    pruning: list[int] = []
    for v in tree.pruning:
        pruning.extend(tree.best_pruning(v) if v in changed else [v])
    tree.pruning = pruning


@register_strategy("hierarchical_sampling")
class HierarchicalSampling(QueryStrategy):
    """Hierarchical sampling (Dasgupta & Hsu, "Hierarchical sampling for active learning", ICML 2008).

    The pool is clustered once into a binary tree. The strategy keeps a *pruning* (clusters that
    partition the pool, the root at first) and, per node, the labels of the random samples drawn from it.
    Each pick chooses a pruning cluster ``v`` with probability proportional to ``w_v (1 - p_LB(v, L(v)))``
    (its size times a lower-confidence estimate of its impurity; ``selection="active"``, the paper's
    active rule) or to ``w_v`` (``selection="random"``), then a uniformly random unlabeled example of it.
    Once the labels arrive, every node between that example and ``v`` counts them; ``(v, l)`` is
    *admissible* when ``1 - p_LB(v, l) < beta (1 - p_UB(v, l'))`` for all other labels ``l'``, and ``v`` is
    replaced by the best admissible pruning of its subtree (lowest estimated error, clusters without an
    admissible label counting as error 1). The pruning is only ever refined.

    Parameters
    ----------
    linkage : {"ward", "average", "complete", "single"}, default="ward"
        Linkage of :func:`scipy.cluster.hierarchy.linkage` (the paper clusters with Ward's method).
    selection : {"active", "random"}, default="active"
        The paper's two rules for choosing the pruning cluster to sample from.
    beta : float > 1, default=2.0
        Admissibility slack (the paper's experiments use 2).
    max_pool_size : int >= 1, default=20_000
        Larger pools are refused: the linkage holds all ``n_pool (n_pool - 1) / 2`` pairwise distances
        (0.4 GB at 10,000, 1.6 GB at 20,000; the default lets every bundled CC18 pool through, letter's
        14,000 rows included).

    Notes
    -----
    Cost: once per run, the linkage, ``O(n_pool^2)`` memory and ``O(n_pool^2)`` time for Ward (scipy's
    nearest-neighbour chain); per round, ``O(batch_size * depth)`` count updates, a score update over the
    changed nodes (``O(batch_size * depth * n_classes)``) and ``O(n_pruning)`` for each pick. The model is
    not read.

    In alsim's batch loop a round's picks are drawn one after another from the same pruning, whose
    refinement waits for their labels (the paper queries one label at a time). Labels the strategy did not
    ask for (the initial set, or picks a wrapper replaced) count as random samples of the root, which they
    are when the initial set is random. Picks are drawn among unlabeled examples only; the paper draws from
    all of a cluster's points and reuses known labels.
    """

    def __init__(
        self,
        linkage: str = "ward",
        selection: str = "active",
        beta: float = 2.0,
        max_pool_size: int = 20_000,
    ) -> None:
        owner = "HierarchicalSampling"
        self.linkage: str = check_choice(linkage, "linkage", owner, _LINKAGES)
        self.selection: str = check_choice(selection, "selection", owner, ("active", "random"))
        self.beta: float = check_real(beta, "beta", owner, low=1.0, low_open=True)
        self.max_pool_size: int = check_int(max_pool_size, "max_pool_size", owner, low=1)

    def _tree(self, state: PoolState) -> tuple[ClusterTree, dict[int, int]]:
        key = ("hierarchical_sampling", self.linkage)
        if key not in state.cache:
            n_pool = state.X_pool.shape[0]
            if n_pool > self.max_pool_size:
                raise InvalidParameterError(
                    f"HierarchicalSampling clusters the whole pool: {n_pool:,} examples exceed 'max_pool_size' "
                    f"= {self.max_pool_size:,} (the linkage needs {n_pool * (n_pool - 1) * 4 / 1e9:.1f} GB of "
                    "pairwise distances). Subsample the pool or raise 'max_pool_size'."
                )
            tree = build_cluster_tree(np.asarray(state.X_pool, dtype=np.float64), state.n_classes, self.linkage)
            # pending: pool index -> pruning node it was drawn from, until its label arrives.
            state.cache[key] = (tree, {}, set())
        tree, pending, counted = state.cache[key]
        new = [
            (int(i), int(y))
            for i, y in zip(state.labeled.tolist(), state.y_labeled.tolist(), strict=True)
            if i not in counted
        ]
        samples = [(i, y, pending.pop(i, tree.root)) for i, y in new]
        counted.update(i for i, _ in new)
        pending.clear()  # picks that were not labeled (replaced by a wrapper) are forgotten
        update_tree(tree, samples, self.beta)
        return tree, pending

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        tree, pending = self._tree(state)
        available = np.zeros(state.X_pool.shape[0], dtype=bool)
        available[state.unlabeled] = True
        in_order = available[tree.order]
        pruning = np.asarray(tree.pruning, dtype=np.int64)
        if self.selection == "active":
            p, lower, _ = label_bounds(tree.counts[pruning])
            majority = np.argmax(np.where(admissible_labels(tree.counts[pruning], self.beta), p + 1.0, p), axis=1)
            weights = tree.size[pruning] * (1.0 - lower[np.arange(pruning.size), majority])
        else:
            weights = tree.size[pruning].astype(np.float64)
        starts, stops = tree.span[pruning, 0], tree.span[pruning, 1]
        cumulative = np.concatenate(([0], np.cumsum(in_order)))
        n_available = cumulative[stops] - cumulative[starts]
        chosen: list[int] = []
        for _ in range(batch_size):
            mass = np.where(n_available > 0, weights, 0.0)
            if mass.sum() <= 0.0:  # only reached if the weights vanish; sample the clusters by size
                mass = n_available.astype(np.float64)
            position = int(random_state.choice(pruning.size, p=mass / mass.sum()))
            start = starts[position]
            members = start + np.flatnonzero(in_order[start : stops[position]])
            leaf_position = int(members[random_state.integers(members.size)])
            pick = int(tree.order[leaf_position])
            in_order[leaf_position] = False
            n_available[position] -= 1
            pending[pick] = int(pruning[position])
            chosen.append(pick)
        return np.asarray(chosen, dtype=np.int64)

    @override
    def get_params(self) -> dict[str, Any]:
        return {
            "linkage": self.linkage,
            "selection": self.selection,
            "beta": self.beta,
            "max_pool_size": self.max_pool_size,
        }
