"""Strategies that retrain the model on hypothetical labels: expected error reduction and the lookahead oracle.

The lookahead oracle is a reference bound: it reads the true labels.

Registered names
----------------
``expected_error_reduction``
    Roy & McCallum (2001): the candidate whose label, in expectation over the model's own belief, most
    lowers the expected loss on the unlabeled pool (``loss``: ``zero_one`` or ``log``).
``lookahead_oracle``
    Reference only, not usable in practice: reads the true labels of the pool and greedily picks what
    raises the pool accuracy most.

Both cost one refit of the learner per (candidate, label) pair per round, so both subsample candidates
(``max_candidates``) and refuse a round that would need more than ``max_refits`` refits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from typing_extensions import override

from alsim import kernels
from alsim._environment import thread_controller
from alsim._validation import check_choice, check_int
from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.learners import fit_learner, predict_proba_full
from alsim.strategies._base import PoolState, QueryStrategy, check_batch_size
from alsim.strategies._registry import register_strategy

__all__ = ["ExpectedErrorReduction", "LookaheadOracle", "expected_errors"]

LOSSES = ("zero_one", "log")


def _subsample(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a uniform subsample of ``range(n)`` of ``size`` (all when None or >= n)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _pool_loss(proba: np.ndarray, loss: str) -> float:
    if loss == "zero_one":
        return float(np.sum(1.0 - proba.max(axis=1)))
    return float(-np.sum(np.where(proba > 0, proba * np.log(np.where(proba > 0, proba, 1.0)), 0.0)))


def expected_errors(
    model: Any,
    X_labeled: np.ndarray,
    y_labeled: np.ndarray,
    X_candidates: np.ndarray,
    proba_candidates: np.ndarray,
    X_eval: np.ndarray,
    n_classes: int,
    loss: str,
) -> np.ndarray:
    """Compute the expected loss on ``X_eval`` after adding each candidate.

    For a candidate ``x`` this is ``sum_y p(y|x) L(model refit on L + (x, y))``.

    ``L`` is the model's own expected loss on ``X_eval`` (Roy & McCallum's self-estimate): for ``zero_one``
    the sum of ``1 - max_y p'(y|e)``, for ``log`` the sum of the entropies of ``p'(.|e)``. Labels with
    ``p(y|x) = 0`` (classes the model has not seen) contribute nothing and are not refitted.
    """
    errors = np.zeros(X_candidates.shape[0])
    # The refits are small: BLAS threads cost more than they save (8x slower on a busy 2-core machine).
    with thread_controller().limit(limits=1):
        for i in range(X_candidates.shape[0]):
            X_new = np.vstack([X_labeled, X_candidates[i : i + 1]])
            for label in np.flatnonzero(proba_candidates[i] > 0):
                refit = fit_learner(clone(model), X_new, np.append(y_labeled, label))
                proba = predict_proba_full(refit, X_eval, n_classes)
                errors[i] += proba_candidates[i, label] * _pool_loss(proba, loss)
    return errors


def _refits_guard(owner: str, n_candidates: int, n_labels: int, n_eval: int, max_refits: int, hint: str) -> None:
    refits = n_candidates * n_labels
    if refits > max_refits:
        raise InvalidParameterError(
            f"{owner} would refit the learner {refits:,} times this round ({n_candidates:,} candidates x "
            f"{n_labels} labels), each followed by a prediction on {n_eval:,} examples; its cost grows as "
            f"n_candidates x n_labels x (fit + predict n_eval). Lower {hint}, or raise 'max_refits' "
            f"(now {max_refits:,}) if the round may take that long."
        )


@register_strategy("expected_error_reduction")
class ExpectedErrorReduction(QueryStrategy):
    """Expected error reduction by Monte Carlo estimation (Roy & McCallum, ICML 2001).

    For each candidate ``x`` and each label ``y`` the model gives non-zero probability, the learner is
    refitted on the labeled set plus ``(x, y)`` and its expected loss on the unlabeled pool is measured
    with its own probabilities; the candidate's score is the expectation of that loss under the current
    ``p(y|x)``. The batch is the ``batch_size`` candidates of lowest expected loss (ties: lowest index).

    Parameters
    ----------
    loss : {"zero_one", "log"}, default="zero_one"
        ``zero_one``: expected misclassifications ``sum_e 1 - max_y p'(y|e)``; ``log``: expected log loss,
        ``sum_e H(p'(.|e))``. The paper defines both.
    max_candidates : int >= 1 or None, default=100
        Candidates scored per round, a uniform sample of the unlabeled pool (at least ``batch_size``);
        None scores every unlabeled example.
    max_eval : int >= 1 or None, default=None
        Unlabeled examples the loss is measured on (a uniform sample; None: the whole unlabeled pool).
    max_refits : int >= 1, default=5000
        A round needing more refits (``n_candidates x n_labels``) is refused with a message instead of
        running for hours.

    Notes
    -----
    Cost per round: ``n_candidates x n_classes`` refits of the learner, each followed by a prediction on
    ``n_eval`` examples: ``O(n_candidates * n_classes * (fit(n_labeled) + n_eval * predict))``.
    While the labeled set holds a single class the loop's model is constant; every candidate then scores
    the same and the batch is the first candidates of the sample.
    """

    def __init__(
        self,
        loss: str = "zero_one",
        max_candidates: int | None = 100,
        max_eval: int | None = None,
        max_refits: int = 5000,
    ) -> None:
        owner = "ExpectedErrorReduction"
        self.loss = check_choice(loss, "loss", owner, LOSSES)
        self.max_candidates = check_int(max_candidates, "max_candidates", owner, low=1, allow_none=True)
        self.max_eval = check_int(max_eval, "max_eval", owner, low=1, allow_none=True)
        self.max_refits = check_int(max_refits, "max_refits", owner, low=1)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        size = None if self.max_candidates is None else max(self.max_candidates, batch_size)
        candidates = _subsample(state.n_unlabeled, size, random_state)
        evaluation = _subsample(state.n_unlabeled, self.max_eval, random_state)
        proba = state.proba_unlabeled[candidates]
        n_labels = int(np.count_nonzero(proba.sum(axis=0) > 0))
        hint = f"'max_candidates' (now {self.max_candidates})"
        _refits_guard("ExpectedErrorReduction", candidates.size, n_labels, evaluation.size, self.max_refits, hint)
        errors = expected_errors(
            state.model,
            state.X_pool[state.labeled],
            state.y_labeled,
            state.X_unlabeled[candidates],
            proba,
            state.X_unlabeled[evaluation],
            state.n_classes,
            self.loss,
        )
        return state.unlabeled[candidates[kernels.top_k(-errors, batch_size)]]

    @override
    def get_params(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "max_candidates": self.max_candidates,
            "max_eval": self.max_eval,
            "max_refits": self.max_refits,
        }


@register_strategy("lookahead_oracle")
class LookaheadOracle(QueryStrategy):
    """A reference upper bound, NOT usable in practice: it reads the true labels of the pool.

    Greedy one-step lookahead: each pick of the batch is the candidate that, added with its true label to
    the labeled set (and the picks before it), gives the refitted learner the highest accuracy on the whole
    pool's true labels (ties: lowest index). Like the reference stopping rules (``uses_test_labels``), it
    exists so a report can show how far a strategy is from what a myopic choice with perfect knowledge
    could reach. Needs the pool's labels in the state (``PoolState(pool_labels=...)``;
    :func:`alsim.simulate` passes them only to strategies with ``uses_true_labels = True``).

    Parameters
    ----------
    max_candidates : int >= 1, default=20
        Candidates tried for each pick, a fresh uniform sample of the remaining unlabeled pool.
    max_refits : int >= 1, default=2000
        A round needing more than ``batch_size x max_candidates`` refits is refused.

    Notes
    -----
    Cost per round: ``batch_size x max_candidates`` refits, each followed by a prediction on the pool.
    """

    uses_true_labels = True

    def __init__(self, max_candidates: int = 20, max_refits: int = 2000) -> None:
        self.max_candidates = check_int(max_candidates, "max_candidates", "LookaheadOracle", low=1)
        self.max_refits = check_int(max_refits, "max_refits", "LookaheadOracle", low=1)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        labels = getattr(state, "pool_labels", None)
        if labels is None:
            raise InvalidInputError(
                "LookaheadOracle reads the true labels of the pool, and this PoolState has none: build it with "
                "pool_labels=y_pool (alsim.simulate does so for strategies with uses_true_labels)."
            )
        per_pick = min(self.max_candidates, state.n_unlabeled)
        hint = f"'max_candidates' (now {self.max_candidates}) or the batch size"
        _refits_guard("LookaheadOracle", batch_size * per_pick, 1, state.X_pool.shape[0], self.max_refits, hint)
        X_train = state.X_pool[state.labeled]
        y_train = state.y_labeled
        remaining = state.unlabeled.copy()
        chosen: list[int] = []
        for _ in range(batch_size):
            tried = remaining[_subsample(remaining.size, per_pick, random_state)]
            accuracy = self._lookahead_accuracy(state, X_train, y_train, tried, labels)
            best = int(tried[kernels.top_k(accuracy, 1)[0]])
            chosen.append(best)
            X_train = np.vstack([X_train, state.X_pool[best : best + 1]])
            y_train = np.append(y_train, labels[best])
            remaining = remaining[remaining != best]
        return np.asarray(chosen, dtype=np.int64)

    @staticmethod
    def _lookahead_accuracy(
        state: PoolState, X_train: np.ndarray, y_train: np.ndarray, tried: np.ndarray, labels: np.ndarray
    ) -> np.ndarray:
        """Pool accuracy of the learner refitted with each tried example and its true label added."""
        accuracy = np.empty(tried.size)
        with thread_controller().limit(limits=1):  # small refits, as in expected_errors
            for i, index in enumerate(tried):
                refit = fit_learner(
                    clone(state.model),
                    np.vstack([X_train, state.X_pool[index : index + 1]]),
                    np.append(y_train, labels[index]),
                )
                predicted = predict_proba_full(refit, state.X_pool, state.n_classes).argmax(axis=1)
                accuracy[i] = np.mean(predicted == labels)
        return accuracy

    @override
    def get_params(self) -> dict[str, Any]:
        return {"max_candidates": self.max_candidates, "max_refits": self.max_refits}
