"""Agreement between the predictions of successive models on the stop set.

Both measures are vectorised over rounds (one row of ``predictions`` per round) because a grid of runs
evaluates them thousands of times; the tests check them against :func:`sklearn.metrics.cohen_kappa_score`
and :func:`sklearn.metrics.f1_score`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["predicted_change_of_f", "successive_kappa"]


def successive_kappa(predictions: np.ndarray) -> np.ndarray:
    """Cohen's kappa between the predictions of each round and those of the round before.

    Parameters
    ----------
    predictions : int array of shape (n_rounds, n_stop_set)
        Class codes predicted on the same stop set, one row per round.

    Returns
    -------
    kappa : float64 array of shape (n_rounds,)
        ``kappa[t]`` compares rounds ``t - 1`` and ``t``; ``kappa[0]`` is NaN (no earlier model). When both
        models predict one and the same class everywhere, chance agreement is 1 and kappa is 0/0; we return
        1.0 there (the models agree perfectly), which is what
        ``cohen_kappa_score(a, b, replace_undefined_by=1.0)`` returns.

    Examples
    --------
    >>> successive_kappa(np.array([[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0, 0]]))
    array([nan, 1. , 0.5])
    """
    predictions = np.asarray(predictions, dtype=np.int64)
    n_rounds, n_items = predictions.shape
    kappa = np.full(n_rounds, np.nan)
    if n_rounds < 2 or n_items == 0:
        return kappa
    n_classes = int(predictions.max()) + 1
    previous, current = predictions[:-1], predictions[1:]
    observed = (previous == current).mean(axis=1)
    # Per-round class frequencies of both models, then the chance agreement sum_k p_prev(k) * p_cur(k).
    offsets = np.arange(n_rounds - 1)[:, None] * n_classes
    counts_prev = np.bincount((previous + offsets).ravel(), minlength=(n_rounds - 1) * n_classes)
    counts_cur = np.bincount((current + offsets).ravel(), minlength=(n_rounds - 1) * n_classes)
    share_prev = counts_prev.reshape(n_rounds - 1, n_classes) / n_items
    share_cur = counts_cur.reshape(n_rounds - 1, n_classes) / n_items
    chance = (share_prev * share_cur).sum(axis=1)
    degenerate = np.isclose(chance, 1.0, rtol=0.0, atol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa[1:] = np.where(degenerate, 1.0, (observed - chance) / (1.0 - chance))
    return kappa


def predicted_change_of_f(predictions: np.ndarray, pos_label: int = 1) -> np.ndarray:
    """Predicted change of F between successive models (Altschuler & Bloodgood, 2019).

    With ``a`` the stop-set examples both models call positive, ``b`` those only the earlier model calls
    positive and ``c`` those only the later one does, the predicted change is ``1 - 2a / (2a + b + c)``:
    one minus the F1 of the later model scored against the earlier one's predictions.

    Parameters
    ----------
    predictions : int array of shape (n_rounds, n_stop_set)
        Binary class codes predicted on the same stop set, one row per round.
    pos_label : int, default=1
        The class treated as positive.

    Returns
    -------
    delta_f : float64 array of shape (n_rounds,)
        ``delta_f[0]`` is NaN. When neither model predicts a positive (``2a + b + c = 0``) the models agree
        and the change is 0, as ``1 - f1_score(prev, cur, zero_division=1.0)`` gives.

    Examples
    --------
    >>> predicted_change_of_f(np.array([[1, 1, 0, 0], [1, 0, 0, 1]]))
    array([nan, 0.5])
    """
    predictions = np.asarray(predictions, dtype=np.int64)
    n_rounds = predictions.shape[0]
    delta = np.full(n_rounds, np.nan)
    if n_rounds < 2:
        return delta
    positive = predictions == pos_label
    previous, current = positive[:-1], positive[1:]
    both = (previous & current).sum(axis=1)
    changed = (previous ^ current).sum(axis=1)
    denominator = 2 * both + changed
    with np.errstate(divide="ignore", invalid="ignore"):
        delta[1:] = np.where(denominator == 0, 0.0, 1.0 - 2.0 * both / denominator)
    return delta
