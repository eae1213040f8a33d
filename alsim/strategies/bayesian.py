"""Bayesian disagreement: BALD and BatchBALD over the members of an ensemble or committee.

Registered names
----------------
``bald``
    Mutual information between an example's label and the model (Houlsby et al., 2011), top-k.
``batch_bald``
    Greedy batch maximising the joint mutual information of the batch's labels (Kirsch et al., 2019).

Both read per-member class probabilities ``p_m(y | x)`` for ``m = 1..M``: the trees of a bagged forest when
the learner is one (random forest, extra trees, bagging), otherwise the committee the loop fits on demand
(bagged copies of the learner, or the ``committee`` given to :func:`alsim.simulate`). With
``members="model"`` the strategy refuses a learner that is not such an ensemble.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from alsim import kernels
from alsim._validation import check_int, fail
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, QueryStrategy, ScoreStrategy, check_batch_size
from alsim.strategies._registry import register_strategy

__all__ = ["BALD", "BatchBALD", "bald_scores", "batch_bald_select", "member_proba_unlabeled"]

MEMBER_SOURCES = ("auto", "model", "committee")

# Below this probability, p log p is taken at the floor (log 0 would give NaN in 0 * log 0).
_FLOOR = 1e-12


def _ensemble_members(model: Any) -> list[Any] | None:
    """Return the fitted members of a bagging-style ensemble whose members predict probabilities, else None."""
    members = getattr(model, "estimators_", None)
    if members is None or isinstance(members, np.ndarray):  # gradient boosting: an array of regressors
        return None
    members = list(members)
    if len(members) < 2 or not all(hasattr(m, "predict_proba") for m in members):
        return None
    return members


def member_proba_unlabeled(state: PoolState, members: str, owner: str) -> np.ndarray:
    """Per-member class probabilities on the unlabeled pool, ``(M, n_unlabeled, n_classes)``.

    ``members``: ``"model"`` (the learner's own members: forest trees, bagging members), ``"committee"``
    (the loop's committee) or ``"auto"`` (the learner's members if it has them, else the committee).
    """
    if members not in MEMBER_SOURCES:
        raise fail("members", owner, f"one of {list(MEMBER_SOURCES)}", members)
    if members != "committee":
        own = _ensemble_members(state.model)
        if own is not None:
            cached = state.cache.get("member_proba")
            if cached is None or cached[0] is not state.model or cached[1] is not state.unlabeled:
                classes = np.asarray(state.model.classes_)
                proba = np.stack([_member_full_proba(m, state.X_unlabeled, classes, state.n_classes) for m in own])
                cached = state.cache["member_proba"] = (state.model, state.unlabeled, proba)
            return cached[2]
        if members == "model":
            raise InvalidParameterError(
                f"{owner} with members='model' needs a learner made of members that predict probabilities "
                f"(RandomForestClassifier, ExtraTreesClassifier, BaggingClassifier); "
                f"{type(state.model).__name__} has none. Use members='committee' (bagged copies of the "
                "learner) or an ensemble learner."
            )
    return state.committee_proba_unlabeled


def _member_full_proba(member: Any, X: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    # Forests and bagging fit their members on positions into the ensemble's classes_ (a bagging member
    # may have seen only some of them), so a member's column j is class classes[member.classes_[j]].
    proba = np.asarray(member.predict_proba(X), dtype=np.float64)
    positions = np.asarray(member.classes_).astype(np.intp)
    full = np.zeros((X.shape[0], n_classes))
    full[:, classes[positions].astype(np.intp)] = proba
    return full


def _entropy(proba: np.ndarray, axis: int = -1) -> np.ndarray:
    safe = np.maximum(proba, _FLOOR)
    return -np.sum(np.where(proba > 0, proba * np.log(safe), 0.0), axis=axis)


def bald_scores(member_proba: np.ndarray) -> np.ndarray:
    """BALD mutual information ``H(mean_m p_m) - mean_m H(p_m)`` (nats), ``(M, n, c) -> (n,)``, >= 0."""
    consensus = member_proba.mean(axis=0)
    return np.maximum(_entropy(consensus) - _entropy(member_proba).mean(axis=0), 0.0)


@register_strategy("bald")
class BALD(ScoreStrategy):
    """Bayesian Active Learning by Disagreement (Houlsby, Huszár, Ghahramani & Lengyel, 2011).

    Score: the mutual information between an example's label and the model,
    ``I(y; w | x) = H(mean_m p_m(y|x)) - mean_m H(p_m(y|x))``, estimated over the ``M`` members (trees of a
    forest or committee members, see ``members``); the batch is the top-k (for a batch that accounts for
    redundancy use ``batch_bald``).

    Parameters
    ----------
    members : {"auto", "model", "committee"}, default="auto"
        Where the members come from: ``model`` the learner's own members (forest trees, bagging members;
        other learners are refused), ``committee`` the loop's committee (``committee_size`` bagged copies of
        the learner, or the given ``committee``), ``auto`` the first that exists.

    Notes
    -----
    Cost per round: ``M`` member predictions on the unlabeled pool, then ``O(M n c)``.
    """

    def __init__(self, members: str = "auto") -> None:
        if members not in MEMBER_SOURCES:
            raise fail("members", "BALD", f"one of {list(MEMBER_SOURCES)}", members)
        self.members = members

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        return bald_scores(member_proba_unlabeled(state, self.members, "BALD"))

    @override
    def get_params(self) -> dict[str, Any]:
        return {"members": self.members}


def _log_normalise_columns(log_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For member log-weights ``(M, K)``: the posterior weights over members per column and log mean weight."""
    top = log_weights.max(axis=0)
    scaled = np.exp(log_weights - top)
    total = scaled.sum(axis=0)
    log_mean = top + np.log(total) - np.log(log_weights.shape[0])
    return scaled / total, log_mean


def batch_bald_select(
    member_proba: np.ndarray, batch_size: int, n_configs: int, rng: np.random.Generator
) -> np.ndarray:
    """Greedy BatchBALD: positions (rows of ``member_proba``'s second axis) of the batch, in pick order.

    Each step adds the candidate ``x`` maximising ``H(y_1..y_b, y_x) - sum_i E_m H(y_i) - E_m H(y_x)``.
    The joint entropy is exact while the batch's label configurations (``c ** b``) number at most
    ``n_configs``; beyond, ``n_configs`` configurations are sampled from the joint (as many per member,
    labels drawn from that member) and the entropy is the importance-weighted Monte Carlo estimate of
    Kirsch et al. (2019). Ties go to the lowest position.
    """
    M, n, c = member_proba.shape
    conditional = _entropy(member_proba).mean(axis=0)  # E_m H(y_x), (n,)
    log_p = np.log(np.maximum(member_proba, _FLOOR))
    chosen: list[int] = []
    # Configurations of the batch so far as each member's log-probability of each configuration (M, K);
    # exact (all c**b configurations, weighted by their probability) or sampled (weighted 1/K).
    config_log_p = np.zeros((M, 1))
    exact = True
    available = np.ones(n, dtype=bool)
    for _ in range(batch_size):
        posterior, log_q = _log_normalise_columns(config_log_p)  # (M, K), (K,)
        K = posterior.shape[1]
        weight = np.exp(log_q) if exact else np.full(K, 1.0 / K)  # exact p(config), or importance 1/K
        joint_entropy = np.empty(n)
        # Candidates per chunk: the (chunk, K, c) joint stays within ~16 MB.
        chunk = max(1, 2**21 // (K * c))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            # p(y_x = j | config k) = sum_m posterior[m, k] p_m(j | x)
            cond = np.einsum("mk,mnc->nkc", posterior, member_proba[:, start:stop, :])
            log_joint = log_q[None, :, None] + np.log(np.maximum(cond, _FLOOR))
            terms = np.where(cond > 0, cond * log_joint, 0.0)
            joint_entropy[start:stop] = -np.einsum("k,nkc->n", weight, terms)
        utility = joint_entropy - conditional - conditional[chosen].sum()
        utility = np.where(available, utility, -np.inf)
        pick = int(kernels.top_k(utility, 1)[0])
        chosen.append(pick)
        available[pick] = False
        if len(chosen) == batch_size:
            break
        if c ** len(chosen) <= n_configs:
            # Exact: every configuration of the batch, extended by each label of the new pick.
            config_log_p = (config_log_p[:, :, None] + log_p[:, pick, None, :]).reshape(M, -1)
        else:
            # Sampled: n_configs configurations, the same number from each member's predictive distribution.
            per_member = -(-n_configs // M)
            labels = np.empty((len(chosen), M * per_member), dtype=np.int64)
            for position, row in enumerate(chosen):
                cumulative = np.cumsum(member_proba[:, row, :], axis=1)
                cumulative[:, -1] = 1.0
                draws = rng.random((M, per_member))
                labels[position] = np.array(
                    [np.searchsorted(cumulative[m], draws[m], side="right") for m in range(M)]
                ).reshape(-1)
            labels = np.minimum(labels, c - 1)
            exact = False
            config_log_p = np.zeros((M, labels.shape[1]))
            for position, row in enumerate(chosen):
                config_log_p += log_p[:, row, :][:, labels[position]]
    return np.asarray(chosen, dtype=np.int64)


@register_strategy("batch_bald")
class BatchBALD(QueryStrategy):
    """BatchBALD (Kirsch, van Amersfoort & Gal, 2019): a greedy batch of maximal joint mutual information.

    Each pick maximises the mutual information between the joint labels of the batch and the model.

    Unlike top-k BALD, an example whose label would be explained by examples already in the batch gains
    little, so batches are diverse. The joint entropy of the batch's labels is exact while the number of
    label configurations ``n_classes ** b`` is at most ``n_configs``, and beyond that estimated from
    ``n_configs`` sampled configurations (the paper's Monte Carlo estimator; it resamples after every
    pick).

    Parameters
    ----------
    members : {"auto", "model", "committee"}, default="auto"
        Source of the members, as in :class:`BALD`.
    n_configs : int >= 1, default=10000
        Largest number of joint label configurations kept (exact below, sampled above). The paper's
        experiments used sampled configurations in this order of magnitude.

    Notes
    -----
    Cost per round: ``O(batch_size * n_unlabeled * M * n_configs * n_classes)`` operations and
    ``O(M * n_configs)`` memory (candidates processed in chunks).
    """

    def __init__(self, members: str = "auto", n_configs: int = 10000) -> None:
        if members not in MEMBER_SOURCES:
            raise fail("members", "BatchBALD", f"one of {list(MEMBER_SOURCES)}", members)
        check_int(n_configs, "n_configs", "BatchBALD", low=1)
        self.members = members
        self.n_configs = int(n_configs)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        proba = member_proba_unlabeled(state, self.members, "BatchBALD")
        return state.unlabeled[batch_bald_select(proba, batch_size, self.n_configs, random_state)]

    @override
    def get_params(self) -> dict[str, Any]:
        return {"members": self.members, "n_configs": self.n_configs}
