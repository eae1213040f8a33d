"""Built-in query strategies. Every hot path runs in the Rust kernels (:mod:`alsim.kernels`).

Registered names
----------------
``random``
    Uniform sample of the unlabeled pool (the baseline).
``least_confidence``, ``margin``, ``entropy``
    Uncertainty sampling with the current model.
``qbc_vote_entropy``, ``qbc_kl``, ``qbc_pairwise``
    Query by committee: vote entropy, mean KL divergence of members from the consensus, and the share of
    disagreeing member pairs. The committee (bagged copies of the learner unless a list was given) is fitted
    only when one of these strategies asks for it.
``coreset``
    k-center greedy over the whole pool, labeled examples as initial centers (Sener & Savarese, 2018).
``<measure>_kcenter``, ``<measure>_kmeanspp`` for measure in least_confidence, margin, entropy
    Hybrids: pre-filter the ``prefilter * batch_size`` most uncertain examples (default 10x), then pick a
    diverse batch among them with k-center greedy (relative to the labeled set) or k-means++ seeding.
``density_weighted``
    Information density (Settles & Craven, 2008): uncertainty x representativeness**beta, see
    :class:`DensityWeighted`.

Composite names (parsed by :func:`alsim.strategies.make_strategy`)
------------------------------------------------------------------
``epsilon_<base>``
    Each pick is random with probability ``epsilon`` (default 0.1), otherwise from ``<base>``.
``cost_<base>``
    Score per unit of expected labeling cost, for any score strategy ``<base>``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from typing_extensions import override

from alsim import kernels
from alsim._validation import check_choice, check_int, check_real
from alsim.learners import votes_from_proba
from alsim.strategies._base import PoolState, QueryStrategy, ScoreStrategy, check_batch_size
from alsim.strategies._registry import register_strategy
from alsim.strategies.composite import CostPerLabel, EpsilonMixture

__all__ = [
    "Coreset",
    "CostPerLabel",
    "DensityWeighted",
    "EpsilonMixture",
    "QBCKullbackLeibler",
    "QBCPairwise",
    "QBCVoteEntropy",
    "RandomSampling",
    "UncertaintyDiverse",
    "UncertaintySampling",
]

MEASURES = ("least_confidence", "margin", "entropy")


def _kernel_seed(random_state: np.random.Generator) -> int:
    return int(random_state.integers(2**32))


@register_strategy("random")
class RandomSampling(QueryStrategy):
    """Uniformly random unlabeled examples: the baseline every study compares against.

    Cost per round: O(batch_size) after the model fit; no model output is read.
    """

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        return random_state.choice(state.unlabeled, size=batch_size, replace=False).astype(np.int64)


class UncertaintySampling(ScoreStrategy):
    """The examples the current model is least sure about.

    Registered as ``least_confidence`` (``1 - max p``; Lewis & Gale 1994), ``margin`` (``1 - (p1 - p2)``,
    the gap between the two most likely classes; Scheffer et al. 2001) and ``entropy`` (``-sum p ln p``;
    Settles & Craven 2008). On binary data the three rank examples identically.

    Parameters
    ----------
    measure : {"least_confidence", "margin", "entropy"}, default="margin"
        Uncertainty measure (fixed by the registered name).

    Notes
    -----
    Cost per round: one ``predict_proba`` over the unlabeled pool (shared with the loop's records) and one
    fused Rust pass selecting the top ``batch_size`` in O(n_unlabeled x n_classes).
    """

    def __init__(self, measure: str = "margin") -> None:
        self.measure = check_choice(measure, "measure", "UncertaintySampling", MEASURES)

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        return state.uncertainty_scores(self.measure)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        if state.has_uncertainty_scores(self.measure):
            return super().select(state, batch_size, random_state)
        # One fused pass that never materialises the score vector.
        batch_size = check_batch_size(state, batch_size)
        return state.unlabeled[kernels.select_most_uncertain(state.proba_unlabeled, batch_size, self.measure)]

    @override
    def get_params(self) -> dict[str, Any]:
        return {"measure": self.measure}


for _measure in MEASURES:
    register_strategy(_measure)(functools.partial(UncertaintySampling, measure=_measure))


class _CommitteeDisagreement(ScoreStrategy):
    """Base of the query-by-committee strategies: the committee, refitted every ``refit_every`` rounds.

    Every round by default, as the method is defined.
    """

    def __init__(self, refit_every: int = 1) -> None:
        self.refit_every = check_int(refit_every, "refit_every", type(self).__name__, low=1)

    def member_proba(self, state: PoolState) -> np.ndarray:
        """Each member's probabilities on the unlabeled pool, ``(M, n_unlabeled, n_classes)``.

        With ``refit_every = k > 1`` the committee fitted at a refit round is kept in the run's cache and
        predicts the (current) unlabeled pool in the ``k - 1`` rounds after it, so those rounds skip the
        members' fits; its members have not seen the labels bought since.
        """
        if self.refit_every == 1:
            return state.committee_proba_unlabeled
        key = ("committee_refit_every", self.refit_every)
        committee, age = state.cache.get(key, (None, self.refit_every))
        if committee is None or age >= self.refit_every:
            committee, age = state.committee, 0
        state.cache[key] = (committee, age + 1)
        return committee.member_proba(state.X_unlabeled)

    def member_votes(self, state: PoolState) -> np.ndarray:
        """Each member's predicted class on the unlabeled pool, ``(M, n_unlabeled)`` int64."""
        if self.refit_every == 1:
            return state.committee_votes_unlabeled
        return votes_from_proba(self.member_proba(state))

    @override
    def get_params(self) -> dict[str, Any]:
        return {"refit_every": self.refit_every}


@register_strategy("qbc_vote_entropy")
class QBCVoteEntropy(_CommitteeDisagreement):
    """Query by committee: entropy of the members' votes (vote entropy; Dagan & Engelson 1995).

    The committee is the loop's committee: ``n_members`` (default 5) bootstrap copies of the learner
    (Abe & Mamitsuka 1998, query by bagging), refitted on the labeled set every round.

    Parameters
    ----------
    refit_every : int >= 1, default=1
        Refit the committee every ``refit_every`` rounds; in between, the committee fitted last scores the
        current unlabeled pool (its members have not seen the labels bought since). 1, the default, refits
        every round as the method is defined. Larger values are a speed option that changes the picks: on
        six CC18 datasets x 3 seeds (logistic regression, batch 10, 300 labels) ``refit_every=3`` cut a
        cell's CPU 1.9x and changed its AULC by -0.004 on average (-0.011 for :class:`QBCKullbackLeibler`;
        single runs up to 0.08); docs/guides/study.md ("Committee refits") gives the table and command.

    Notes
    -----
    Cost per round: ``n_members`` fits on the labeled set (every ``refit_every`` rounds) plus ``n_members``
    predictions over the unlabeled pool; the disagreement itself is a Rust pass in
    O(n_members x n_unlabeled).
    """

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        return kernels.vote_entropy(self.member_votes(state), state.n_classes)


@register_strategy("qbc_kl")
class QBCKullbackLeibler(_CommitteeDisagreement):
    """Query by committee: mean KL divergence of each member's probabilities from the consensus.

    The Kullback-Leibler form of query by committee of McCallum & Nigam (1998).

    Parameters
    ----------
    refit_every : int >= 1, default=1
        As in :class:`QBCVoteEntropy`: refit the committee every ``refit_every`` rounds (a speed option off
        by default that changes the picks).

    Notes
    -----
    Cost per round: as :class:`QBCVoteEntropy` (committee fits and predictions), then one Rust pass in
    O(n_members x n_unlabeled x n_classes).
    """

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        return kernels.consensus_kl(self.member_proba(state))


@register_strategy("qbc_pairwise")
class QBCPairwise(_CommitteeDisagreement):
    """Query by committee: share of member pairs whose votes disagree (pairwise disagreement).

    Parameters
    ----------
    refit_every : int >= 1, default=1
        As in :class:`QBCVoteEntropy`: refit the committee every ``refit_every`` rounds (a speed option off
        by default that changes the picks).

    Notes
    -----
    Cost per round: as :class:`QBCVoteEntropy`, then one Rust pass in O(n_members^2 x n_unlabeled).
    """

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        return kernels.pairwise_disagreement(self.member_votes(state))


@register_strategy("coreset")
class Coreset(QueryStrategy):
    """Core-set selection by k-center greedy (Sener & Savarese 2018).

    Each pick is the unlabeled example farthest from the labeled set and the earlier picks, in feature space.

    Label-free and model-free: it covers the pool rather than probing the decision boundary.

    Notes
    -----
    Cost per round: exact greedy in the Rust kernel ``k_center_greedy``; at most O(n_pool x d) per pick,
    much less on clustered data where the triangle inequality prunes most distance computations.
    """

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        seed = _kernel_seed(random_state)
        if state.labeled.size + state.unlabeled.size == state.X_pool.shape[0]:
            return np.asarray(
                kernels.k_center_greedy(state.X_pool, state.labeled, batch_size, seed=seed), dtype=np.int64
            )
        # Candidates are a subset of the pool (e.g. a stream's buffer): run on the labeled rows and the
        # candidates only, so nothing outside state.unlabeled can be picked.
        rows = np.concatenate([state.labeled, state.unlabeled])
        labeled_positions = np.arange(state.labeled.size, dtype=np.int64)
        picks = kernels.k_center_greedy(state.X_pool[rows], labeled_positions, batch_size, seed=seed)
        return rows[picks].astype(np.int64)


class UncertaintyDiverse(QueryStrategy):
    """Hybrid: the most uncertain candidates, then a diverse batch among them.

    Registered as ``<measure>_kcenter`` and ``<measure>_kmeanspp`` for the three uncertainty measures. The
    pre-filter then diversify scheme follows the batch-mode practice of e.g. Zhdanov (2019, "Diverse
    mini-batch active learning"), with k-center greedy or k-means++ seeding (Arthur & Vassilvitskii 2007)
    as the diversity step.

    Parameters
    ----------
    measure : {"least_confidence", "margin", "entropy"}, default="margin"
        Uncertainty used for the pre-filter.
    diversity : {"kcenter", "kmeanspp"}, default="kcenter"
        ``kcenter``: k-center greedy among the candidates with the labeled set as initial centers (favours
        candidates far from what is known); ``kmeanspp``: k-means++ seeding among the candidates (spread
        within the uncertain region).
    prefilter : float >= 1, default=10.0
        Candidates kept: ``ceil(prefilter * batch_size)`` (at most the unlabeled pool).

    Notes
    -----
    Cost per round: the uncertainty scores and a top-k (as :class:`UncertaintySampling`), then k-center
    greedy over the labeled set plus the candidates, or k-means++ over the candidates (Rust kernels).
    """

    def __init__(self, measure: str = "margin", diversity: str = "kcenter", prefilter: float = 10.0) -> None:
        self.measure = check_choice(measure, "measure", "UncertaintyDiverse", MEASURES)
        self.diversity = check_choice(diversity, "diversity", "UncertaintyDiverse", ("kcenter", "kmeanspp"))
        self.prefilter = check_real(prefilter, "prefilter", "UncertaintyDiverse", low=1.0)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        n_candidates = min(state.n_unlabeled, int(np.ceil(self.prefilter * batch_size)))
        candidates = kernels.top_k(state.uncertainty_scores(self.measure), n_candidates)
        X_candidates = state.X_unlabeled[candidates]
        seed = _kernel_seed(random_state)
        if self.diversity == "kmeanspp":
            picks = kernels.kmeans_pp(np.ascontiguousarray(X_candidates), batch_size, seed)
        else:
            n_labeled = state.labeled.size
            X_sub = np.ascontiguousarray(np.vstack([state.X_pool[state.labeled], X_candidates]))
            picks = (
                np.asarray(kernels.k_center_greedy(X_sub, np.arange(n_labeled, dtype=np.int64), batch_size, seed=seed))
                - n_labeled
            )
        return state.unlabeled[candidates[picks]]

    @override
    def get_params(self) -> dict[str, Any]:
        return {"measure": self.measure, "diversity": self.diversity, "prefilter": self.prefilter}


for _measure in MEASURES:
    for _diversity in ("kcenter", "kmeanspp"):
        register_strategy(f"{_measure}_{_diversity}")(
            functools.partial(UncertaintyDiverse, measure=_measure, diversity=_diversity)
        )


@register_strategy("density_weighted")
class DensityWeighted(ScoreStrategy):
    """Information density: ``uncertainty * representativeness ** beta``.

    Representativeness of example ``i`` is its mean similarity to the whole pool, computed once per run in
    O(n d) time and memory, exactly (no ``n x n`` matrix, no sampling):

    * ``cosine``: with unit vectors ``u_i``, ``mean_j cos(x_i, x_j) = u_i . mean_j u_j``; mapped to [0, 1]
      as ``(1 + mean cos) / 2`` since standardised features give negative cosines.
    * ``euclidean``: ``mean_j ||x_i - x_j||^2 = ||x_i - xbar||^2 + mean_j ||x_j - xbar||^2``; similarity
      ``1 / (1 + msd_i / mean(msd))``, scale-free in (0, 1].

    Parameters
    ----------
    measure : {"least_confidence", "margin", "entropy"}, default="entropy"
        Uncertainty measure (Settles & Craven used entropy).
    beta : float >= 0, default=1.0
        Weight of representativeness (0 = plain uncertainty sampling).
    similarity : {"cosine", "euclidean"}, default="cosine"

    Notes
    -----
    Settles, B. and Craven, M. (2008). "An Analysis of Active Learning Strategies for Sequence Labeling
    Tasks". EMNLP 2008. Cost: representativeness once per run in O(n_pool x d); per round, the
    uncertainty scores (as :class:`UncertaintySampling`) times the cached weights.
    """

    def __init__(self, measure: str = "entropy", beta: float = 1.0, similarity: str = "cosine") -> None:
        self.measure = check_choice(measure, "measure", "DensityWeighted", MEASURES)
        self.beta = check_real(beta, "beta", "DensityWeighted", low=0.0)
        self.similarity = check_choice(similarity, "similarity", "DensityWeighted", ("cosine", "euclidean"))

    def representativeness(self, X_pool: np.ndarray) -> np.ndarray:
        """Mean similarity of each pool example to the whole pool, in [0, 1], shape ``(n_pool,)``."""
        if self.similarity == "cosine":
            norms = np.linalg.norm(X_pool, axis=1)
            units = X_pool / np.where(norms > 0, norms, 1.0)[:, None]
            return (1.0 + units @ units.mean(axis=0)) / 2.0
        centered = X_pool - X_pool.mean(axis=0)
        to_mean = np.einsum("ij,ij->i", centered, centered)
        mean_sq_distance = to_mean + to_mean.mean()
        scale = mean_sq_distance.mean()
        return 1.0 / (1.0 + mean_sq_distance / scale) if scale > 0 else np.ones(X_pool.shape[0])

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        key = ("density_weighted", self.similarity)
        if key not in state.cache:
            state.cache[key] = self.representativeness(state.X_pool)
        weights = state.cache[key][state.unlabeled] ** self.beta
        return state.uncertainty_scores(self.measure) * weights

    @override
    def get_params(self) -> dict[str, Any]:
        return {"measure": self.measure, "beta": self.beta, "similarity": self.similarity}
