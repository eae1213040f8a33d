"""Active learning by learning (Hsu & Lin, AAAI 2015): a bandit that learns which strategy to follow.

Registered name: ``albl``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from typing_extensions import override

from alsim._validation import check_fraction, check_int, fail
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, QueryStrategy, check_batch_size
from alsim.strategies._registry import register_strategy

__all__ = ["ActiveLearningByLearning"]


class _BanditState:
    """What the bandit carries from round to round (kept in the run's ``PoolState.cache``)."""

    def __init__(self, n_experts: int, n_actions: int, horizon: int, n_pool: int) -> None:
        self.weights = np.ones(n_experts)
        self.n_actions = n_actions  # K of EXP4.P: the unlabeled pool when the run started
        self.horizon = horizon  # T
        self.n_pool = n_pool
        # Picks of earlier rounds: pool index -> importance weight 1 / p (for the reward).
        self.importance: dict[int, float] = {}
        # Picks of the last round awaiting their reward: (p of the pick, each expert's advice on the pick,
        # each expert's sum over actions of advice / p).
        self.pending: list[tuple[float, np.ndarray, np.ndarray]] = []


@register_strategy("albl")
class ActiveLearningByLearning(QueryStrategy):
    """Active Learning By Learning, ALBL (Hsu & Lin, AAAI 2015).

    An EXP4.P bandit (Beygelzimer et al., 2011) whose experts are query strategies plus uniform sampling.
    Each pick is drawn from ``p = (1 - K p_min) * sum_i w_i xi_i / sum_i w_i + p_min``, where ``xi_i`` is
    expert ``i``'s advice (its highest-ranked example not yet in the batch; uniform for the uniform expert)
    and ``K`` the number of unlabeled examples. The reward of a round is the importance-weighted accuracy
    of the model retrained on the round's labels, over every example the bandit has queried,
    ``sum_j [h(x_j) = y_j] / p_j / (n_pool T)`` (Hsu & Lin's IW-ACC), and updates each expert's weight
    ``w_i *= exp(p_min / 2 * (xi_i(j) r / p_j + v_i sqrt(ln(N / delta) / (K T))))``, with
    ``v_i = sum_k xi_i(k) / p_k``. With a batch, every pick of the round is rewarded with the same ``r``.

    Parameters
    ----------
    strategies : sequence of str, default=("margin", "coreset", "density_weighted")
        Registered strategy names used as experts (uniform sampling is always added). Hsu & Lin used
        uncertainty sampling, QUIRE and HintSVM.
    horizon : int >= 1 or None, default=None
        ``T``, the number of rounds the bandit plans for; None takes the unlabeled pool at the first round
        divided by the batch size.
    delta : float in (0, 1), default=0.1
        EXP4.P's confidence parameter (Hsu & Lin's value).

    Notes
    -----
    ``p_min = sqrt(ln N / (K T))`` as in EXP4.P, capped at ``1 / (2K)`` so the probabilities stay valid
    when the pool is large. Cost per round: the experts' own costs plus ``O(batch_size * n_unlabeled)``.
    """

    def __init__(
        self,
        strategies: Any = ("margin", "coreset", "density_weighted"),
        horizon: int | None = None,
        delta: float = 0.1,
    ) -> None:
        from alsim.strategies._registry import make_strategy

        if isinstance(strategies, str):
            strategies = [s for s in strategies.split(",") if s]  # configs may pass "margin,coreset"
        if (
            not isinstance(strategies, (list, tuple))
            or not strategies
            or not all(isinstance(s, str) for s in strategies)
        ):
            raise fail("strategies", "ActiveLearningByLearning", "a non-empty sequence of strategy names", strategies)
        if "albl" in strategies:
            raise InvalidParameterError("The 'strategies' parameter of ActiveLearningByLearning cannot contain 'albl'.")
        self.experts = [make_strategy(name) for name in strategies]
        self.strategies = tuple(strategies)
        self.horizon = check_int(horizon, "horizon", "ActiveLearningByLearning", low=1, allow_none=True)
        self.delta: float = check_fraction(delta, "delta", "ActiveLearningByLearning")

    @property
    def uses_true_labels(self) -> bool:  # type: ignore[override]
        """True when one of the experts is a reference strategy that reads the pool's true labels."""
        return any(expert.uses_true_labels for expert in self.experts)

    def _p_min(self, bandit: _BanditState) -> float:
        n_experts = len(self.experts) + 1
        return min(math.sqrt(math.log(n_experts) / (bandit.n_actions * bandit.horizon)), 0.5 / bandit.n_actions)

    def _reward(self, state: PoolState, bandit: _BanditState) -> float:
        queried = np.fromiter(bandit.importance, dtype=np.int64)
        weights = np.fromiter(bandit.importance.values(), dtype=np.float64)
        labels = dict(zip(state.labeled.tolist(), state.y_labeled.tolist(), strict=True))
        known = np.array([index in labels for index in queried.tolist()])
        queried, weights = queried[known], weights[known]
        if queried.size == 0:
            return 0.0
        y = np.array([labels[index] for index in queried.tolist()])
        predicted = state.model.predict(state.X_pool[queried])
        return float(np.sum(weights * (predicted == y)) / (bandit.n_pool * bandit.horizon))

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        key = ("albl", id(self))
        if key not in state.cache:
            horizon = self.horizon or max(1, state.n_unlabeled // batch_size)
            state.cache[key] = _BanditState(len(self.experts) + 1, state.n_unlabeled, horizon, state.X_pool.shape[0])
        bandit: _BanditState = state.cache[key]
        p_min = self._p_min(bandit)
        if bandit.pending:
            reward = self._reward(state, bandit)
            scale = math.sqrt(math.log(len(bandit.weights) / self.delta) / (bandit.n_actions * bandit.horizon))
            for probability, advice, variance in bandit.pending:
                bandit.weights *= np.exp(p_min / 2.0 * (advice * reward / probability + variance * scale))
                bandit.weights /= bandit.weights.max()  # only ratios matter; keeps exp from overflowing
            bandit.pending = []
        rankings = [
            np.asarray(expert.select(state, batch_size, random_state), dtype=np.int64) for expert in self.experts
        ]
        position = {index: i for i, index in enumerate(state.unlabeled.tolist())}
        available = np.ones(state.n_unlabeled, dtype=bool)
        share = bandit.weights / bandit.weights.sum()
        chosen: list[int] = []
        for _ in range(batch_size):
            n_available = int(available.sum())
            advice = np.zeros((len(self.experts) + 1, state.n_unlabeled))
            for i, ranking in enumerate(rankings):
                wanted = [position[index] for index in ranking.tolist() if available[position[index]]]
                target = wanted[0] if wanted else int(np.flatnonzero(available)[0])
                advice[i, target] = 1.0
            advice[-1, available] = 1.0 / n_available
            floor = min(p_min, 0.5 / n_available)
            probability = (1.0 - n_available * floor) * (share @ advice) + floor * available
            probability /= probability.sum()
            pick = int(random_state.choice(state.n_unlabeled, p=probability))
            variance = (advice[:, available] / probability[available]).sum(axis=1)
            bandit.pending.append((float(probability[pick]), advice[:, pick].copy(), variance))
            index = int(state.unlabeled[pick])
            bandit.importance[index] = 1.0 / float(probability[pick])
            chosen.append(index)
            available[pick] = False
        return np.asarray(chosen, dtype=np.int64)

    @override
    def get_params(self) -> dict[str, Any]:
        return {"strategies": list(self.strategies), "horizon": self.horizon, "delta": self.delta}
