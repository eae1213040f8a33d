"""Label-free strategies for low budgets and cold starts: TypiClust, ProbCover and graph density.

Registered names
----------------
``typiclust``
    The most typical example of each of the largest clusters that hold no labeled example (Hacohen, Dekel &
    Weinshall, 2022).
``probcover``
    Greedy maximum coverage of the pool by balls of radius ``delta`` (Yehuda, Dekel, Hacohen & Weinshall,
    2022).
``graph_density``
    Densest examples of a k-nearest-neighbour graph, penalising the neighbours of every pick (Ebert, Fritz
    & Schiele, 2012).

None of them reads the model: they work on the feature space (the papers use self-supervised embeddings;
alsim uses the dataset's features). Neighbour searches run through scikit-learn's ``NearestNeighbors``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors
from typing_extensions import override

from alsim import kernels
from alsim._validation import check_fraction, check_int, fail
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, QueryStrategy, check_batch_size
from alsim.strategies._registry import register_strategy

__all__ = ["GraphDensity", "ProbCover", "TypiClust", "probcover_delta", "probcover_select", "typiclust_select"]


def _kmeans_labels(X: np.ndarray, n_clusters: int, seed: int, n_init: int) -> np.ndarray:
    with warnings.catch_warnings():
        # Duplicate rows can leave fewer distinct clusters than asked for; the callers handle that.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit_predict(X)


def typicality(X: np.ndarray, k: int) -> np.ndarray:
    """Inverse mean distance of each row to its ``k`` nearest other rows (``k`` capped at ``n - 1``)."""
    if X.shape[0] == 1:
        return np.ones(1)
    k = min(k, X.shape[0] - 1)
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    # Column 0 is the row itself (distance 0) unless duplicates come first; either way k+1 distances
    # with one zero sum to the k nearest others.
    return 1.0 / (distances.sum(axis=1) / k + 1e-12)


def typiclust_select(
    X: np.ndarray,
    labeled: np.ndarray,
    candidates: np.ndarray,
    batch_size: int,
    k: int,
    seed: int,
    max_clusters: int,
    n_init: int = 1,
) -> np.ndarray:
    """TypiClust's batch: positions (rows of ``X``) among ``candidates``, in pick order.

    Clusters ``X`` into ``min(n_labeled + batch_size, max_clusters)`` with k-means; clusters holding a
    labeled row are covered. Each pick takes the largest uncovered cluster (ties: lowest cluster id) and
    its most typical candidate, then marks the cluster covered. When no uncovered cluster is left, the
    most typical remaining candidates over the whole pool fill the batch.
    """
    n_clusters = min(labeled.size + batch_size, max_clusters, X.shape[0])
    clusters = _kmeans_labels(X, n_clusters, seed, n_init)
    sizes = np.bincount(clusters, minlength=n_clusters).astype(np.float64)
    sizes[np.unique(clusters[labeled])] = 0.0
    is_candidate = np.zeros(X.shape[0], dtype=bool)
    is_candidate[candidates] = True
    chosen: list[int] = []
    for _ in range(batch_size):
        if sizes.max() > 0:
            cluster = int(np.argmax(sizes))
            sizes[cluster] = 0.0
            members = np.flatnonzero((clusters == cluster) & is_candidate)
            if members.size == 0:
                continue
            scores = typicality(X[clusters == cluster], k)[is_candidate[clusters == cluster]]
            pick = int(members[kernels.top_k(scores, 1)[0]])
        else:
            remaining = np.flatnonzero(is_candidate)
            pick = int(remaining[kernels.top_k(typicality(X, k)[remaining], 1)[0]])
        chosen.append(pick)
        is_candidate[pick] = False
    while len(chosen) < batch_size:  # clusters without candidates (a stream buffer): fill by typicality
        remaining = np.flatnonzero(is_candidate)
        pick = int(remaining[kernels.top_k(typicality(X, k)[remaining], 1)[0]])
        chosen.append(pick)
        is_candidate[pick] = False
    return np.asarray(chosen, dtype=np.int64)


@register_strategy("typiclust")
class TypiClust(QueryStrategy):
    """TypiClust (Hacohen, Dekel & Weinshall, "Active learning on a budget", ICML 2022).

    For low budgets, where typical examples teach more than uncertain ones: the pool is clustered with
    k-means into ``n_labeled + batch_size`` clusters (at most ``max_clusters``); from each of the largest
    clusters without a labeled example the most typical example is picked, typicality being the inverse of
    the mean distance to its ``k`` nearest neighbours within the cluster.

    Parameters
    ----------
    k : int >= 1, default=20
        Neighbours in the typicality (the paper's value).
    max_clusters : int >= 1, default=500
        Cap on the number of clusters (the paper's code caps at 500).
    n_init : int >= 1, default=1
        k-means restarts.

    Notes
    -----
    Cost per round: k-means on the pool, ``O(n_pool * n_clusters * d)`` per iteration, plus a k-NN search
    inside each chosen cluster.
    """

    def __init__(self, k: int = 20, max_clusters: int = 500, n_init: int = 1) -> None:
        self.k = check_int(k, "k", "TypiClust", low=1)
        self.max_clusters = check_int(max_clusters, "max_clusters", "TypiClust", low=1)
        self.n_init = check_int(n_init, "n_init", "TypiClust", low=1)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        picks = typiclust_select(
            state.X_pool,
            state.labeled,
            state.unlabeled,
            batch_size,
            self.k,
            int(random_state.integers(2**31 - 1)),
            self.max_clusters,
            self.n_init,
        )
        return picks

    @override
    def get_params(self) -> dict[str, Any]:
        return {"k": self.k, "max_clusters": self.max_clusters, "n_init": self.n_init}


def _radius_graph(X: np.ndarray, delta: float, max_edges: int, owner: str) -> sp.csr_matrix:
    graph = NearestNeighbors(radius=delta).fit(X).radius_neighbors_graph(X, mode="connectivity")
    if graph.nnz > max_edges:
        raise InvalidParameterError(
            f"{owner}'s ball graph at delta={delta:.4g} has {graph.nnz:,} edges (more than 'max_edges' = "
            f"{max_edges:,}); memory grows with the edges, up to n_pool^2. Pass smaller 'deltas' or raise "
            "'max_edges'."
        )
    return graph.tocsr()


def probcover_delta(
    X: np.ndarray, deltas: np.ndarray, n_classes: int, alpha: float, seed: int, max_edges: int, n_init: int = 1
) -> float:
    """Return the largest ``delta`` of ``deltas`` (ascending) whose ball graph has purity >= ``alpha``.

    Purity (Yehuda et al.): the share of examples whose ``delta``-ball holds only examples of their own
    k-means cluster, with ``n_classes`` clusters as stand-in labels. Purity falls as ``delta`` grows, so
    the search stops at the first impure radius. If even the smallest radius is impure, it is returned.
    """
    clusters = _kmeans_labels(X, n_classes, seed, n_init)
    chosen = float(deltas[0])
    for delta in deltas:
        graph = _radius_graph(X, float(delta), max_edges, "ProbCover")
        rows = np.repeat(np.arange(X.shape[0]), np.diff(graph.indptr))
        impure = np.zeros(X.shape[0], dtype=bool)
        impure[rows[clusters[rows] != clusters[graph.indices]]] = True
        if 1.0 - impure.mean() < alpha:
            break
        chosen = float(delta)
    return chosen


def probcover_select(graph: sp.csr_matrix, labeled: np.ndarray, candidates: np.ndarray, batch_size: int) -> np.ndarray:
    """Greedy coverage on a ball graph (row ``i`` lists the examples within ``delta`` of ``i``).

    Examples in a labeled example's ball are covered; each pick is the candidate whose ball holds the
    most uncovered examples (ties: lowest index), whose ball is then covered.
    """
    n = graph.shape[0]
    covered = np.zeros(n, dtype=bool)
    if labeled.size:
        covered[graph[labeled].indices] = True
    is_candidate = np.zeros(n, dtype=bool)
    is_candidate[candidates] = True
    chosen: list[int] = []
    for _ in range(batch_size):
        degree = graph @ (~covered).astype(np.float64)
        degree = np.where(is_candidate, degree, -1.0)
        pick = int(kernels.top_k(degree, 1)[0])
        chosen.append(pick)
        is_candidate[pick] = False
        covered[graph.indices[graph.indptr[pick] : graph.indptr[pick + 1]]] = True
    return np.asarray(chosen, dtype=np.int64)


@register_strategy("probcover")
class ProbCover(QueryStrategy):
    """ProbCover (Yehuda, Dekel, Hacohen & Weinshall, NeurIPS 2022): maximum coverage by balls of radius delta.

    From "Active learning through a covering lens".

    Maximum coverage for low budgets: with balls of radius ``delta`` around every pool example, each pick
    is the unlabeled example whose ball covers the most examples not yet covered by the labeled set or
    earlier picks. ``delta`` is the largest radius whose purity (share of balls within one k-means
    cluster, ``n_classes`` clusters) is at least ``alpha``, chosen once per run and cached.

    Parameters
    ----------
    alpha : float in (0, 1), default=0.95
        Purity threshold (the paper's value).
    deltas : sequence of float > 0 or None, default=None
        Radii to try. None: 20 quantiles (0.5% to 20%) of the distances between 2,000 sampled pool pairs,
        since the paper's radii are for unit-norm embeddings and tabular features have their own scale.
    max_edges : int >= 1, default=20_000_000
        A ball graph with more edges is refused (memory grows with the edges).

    Notes
    -----
    Cost per run: one k-means with ``n_classes`` clusters and a radius search per tried ``delta``; per
    round ``O(batch_size * n_edges)``.
    """

    def __init__(self, alpha: float = 0.95, deltas: Any = None, max_edges: int = 20_000_000) -> None:
        alpha = check_fraction(alpha, "alpha", "ProbCover")
        if deltas is not None:
            values = np.asarray(deltas, dtype=np.float64).ravel() if not isinstance(deltas, str) else np.empty(0)
            if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
                raise fail("deltas", "ProbCover", "None or a non-empty sequence of floats > 0", deltas)
            deltas = [float(v) for v in np.sort(values)]
        self.alpha: float = float(alpha)
        self.deltas: list[float] | None = deltas
        self.max_edges: int = check_int(max_edges, "max_edges", "ProbCover", low=1)

    def _graph(self, state: PoolState, random_state: np.random.Generator) -> sp.csr_matrix:
        key = ("probcover", self.alpha, None if self.deltas is None else tuple(self.deltas), self.max_edges)
        if key not in state.cache:
            X = state.X_pool
            if self.deltas is None:
                sample = random_state.choice(X.shape[0], size=min(2000, X.shape[0]), replace=False)
                from scipy.spatial.distance import pdist

                pairs = pdist(X[sample])
                deltas = (
                    np.unique(np.quantile(pairs[pairs > 0], np.linspace(0.005, 0.2, 20)))
                    if np.any(pairs > 0)
                    else np.ones(1)
                )
            else:
                deltas = np.asarray(self.deltas)
            delta = probcover_delta(
                X, deltas, max(state.n_classes, 2), self.alpha, int(random_state.integers(2**31 - 1)), self.max_edges
            )
            state.cache[key] = (delta, _radius_graph(X, delta, self.max_edges, "ProbCover"))
        return state.cache[key][1]

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        return probcover_select(self._graph(state, random_state), state.labeled, state.unlabeled, batch_size)

    @override
    def get_params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "deltas": self.deltas, "max_edges": self.max_edges}


def graph_densities(X: np.ndarray, k: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """Compute Ebert et al.'s graph density of each row of ``X`` and the k-NN graph it is computed on.

    The graph is the symmetric k-NN graph (Manhattan distance) with weights ``exp(-d / n_features)``; the
    density of a node is the mean weight of its edges.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The pool's features.
    k : int
        Number of neighbours of each node before symmetrisation.

    Returns
    -------
    densities : ndarray of shape (n,)
        Density of each row.
    adjacency : scipy.sparse.csr_matrix of shape (n, n)
        The unweighted adjacency of the graph.
    """
    k = min(k, X.shape[0] - 1)
    distances = NearestNeighbors(n_neighbors=k + 1, p=1).fit(X).kneighbors_graph(X, mode="distance")
    distances.setdiag(0)
    distances.eliminate_zeros()
    weights = distances.copy()
    weights.data = np.exp(-weights.data / X.shape[1])
    weights = weights.maximum(weights.T).tocsr()
    adjacency = (weights > 0).astype(np.float64).tocsr()
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    total = np.asarray(weights.sum(axis=1)).ravel()
    return np.where(degree > 0, total / np.maximum(degree, 1), 0.0), adjacency


@register_strategy("graph_density")
class GraphDensity(QueryStrategy):
    """Graph density (Ebert, Fritz & Schiele, "RALF", CVPR 2012).

    Each example's density is the mean weight of its edges in a symmetric k-nearest-neighbour graph
    (Manhattan distance, weights ``exp(-d / n_features)``). Every labeled example and every pick subtracts
    its density from its neighbours' densities, so picks spread over dense regions that are not covered
    yet; each pick is the densest remaining candidate (ties: lowest index).

    Parameters
    ----------
    k : int >= 1, default=10
        Neighbours in the graph (the paper's value).

    Notes
    -----
    Cost: the graph once per run (a k-NN search over the pool, cached); per round ``O(n_labeled * k +
    batch_size * (n_pool + k))``.
    """

    def __init__(self, k: int = 10) -> None:
        self.k = check_int(k, "k", "GraphDensity", low=1)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        key = ("graph_density", self.k)
        if key not in state.cache:
            state.cache[key] = graph_densities(state.X_pool, self.k)
        base, adjacency = state.cache[key]
        density = base.copy()
        for index in state.labeled:
            neighbours = adjacency.indices[adjacency.indptr[index] : adjacency.indptr[index + 1]]
            density[neighbours] -= density[index]
        is_candidate = np.zeros(density.size, dtype=bool)
        is_candidate[state.unlabeled] = True
        chosen: list[int] = []
        for _ in range(batch_size):
            pick = int(kernels.top_k(np.where(is_candidate, density, -np.inf), 1)[0])
            chosen.append(pick)
            is_candidate[pick] = False
            neighbours = adjacency.indices[adjacency.indptr[pick] : adjacency.indptr[pick + 1]]
            density[neighbours] -= density[pick]
        return np.asarray(chosen, dtype=np.int64)

    @override
    def get_params(self) -> dict[str, Any]:
        return {"k": self.k}
