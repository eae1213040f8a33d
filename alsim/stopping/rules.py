"""Stopping rules from the active-learning literature, evaluated on recorded rounds.

Each rule turns the per-round signals of one run into a per-round "stop now" decision; the stop round is
the first round where that decision is true. Rules only look at rounds up to the one they decide on (no
peeking ahead), except the budget caps, which look at the size of the next batch (known before buying
it), and the reference rules marked ``uses_test_labels``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from alsim._validation import check_choice, check_int, check_real
from alsim.exceptions import InvalidInputError, MissingSignalError
from alsim.stopping._agreement import predicted_change_of_f, successive_kappa
from alsim.stopping._base import StoppingRule, register_rule

__all__ = [
    "ClassificationChange",
    "ConfidenceVariance",
    "CostBudget",
    "LabelBudget",
    "MarginalGainPerLabel",
    "MaxConfidence",
    "MinExpectedError",
    "OracleOptimalStop",
    "OverallUncertainty",
    "PerformanceConvergence",
    "PoolShareBudget",
    "PredictedChangeOfF",
    "SelectedAccuracy",
    "StabilizingPredictions",
    "TargetAccuracy",
    "UncertaintyConvergence",
]


def _values(records: pl.DataFrame, column: str) -> np.ndarray:
    """Return a signal as float64 with NaN where the run recorded null (e.g. round 0 of selected_*)."""
    # polars turns the nulls of a float column into NaN when converting to numpy.
    return records[column].cast(pl.Float64).to_numpy()


def _stop_set_predictions(records: pl.DataFrame, rule: StoppingRule) -> np.ndarray:
    column = records["stop_set_predictions"]
    lengths = column.list.len().to_numpy()
    if column.null_count() or lengths.min() != lengths.max():
        raise InvalidInputError(
            f"The {rule.name!r} stopping rule needs stop-set predictions of the same length in every round; "
            f"got lengths {sorted(set(lengths.tolist()))} and {column.null_count()} null rounds."
        )
    if lengths[0] == 0:
        raise MissingSignalError(
            f"The {rule.name!r} stopping rule needs predictions on a stop set, but the stop set of this run is "
            "empty: simulate with a non-empty stop set (stop_set_size >= 1)."
        )
    # Equal lengths were checked, so the flattened values reshape into one row per round.
    return column.explode().cast(pl.Int64).to_numpy().reshape(len(lengths), int(lengths[0]))


def _budget_flags(spent: np.ndarray, cap: float) -> np.ndarray:
    """Stop at the last round that stays within the cap: the cap is reached, or the next batch would pass it."""
    next_spent = np.append(spent[1:], -np.inf)
    return (spent >= cap) | (next_spent > cap)


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each position; NaN until the window is full."""
    out = np.full(values.shape, np.nan)
    if values.size >= window:
        out[window - 1 :] = np.lib.stride_tricks.sliding_window_view(values, window).mean(axis=1)
    return out


def _converged(values: np.ndarray, n_labeled: np.ndarray, window: int, epsilon: float) -> np.ndarray:
    """Gradient-based convergence: the per-label slope of a trailing-window mean is below epsilon."""
    smoothed = _trailing_mean(values, window)
    gradient = np.full(values.shape, np.nan)
    bought = np.diff(n_labeled).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gradient[1:] = np.diff(smoothed) / np.where(bought > 0, bought, np.nan)
    return np.abs(gradient) < epsilon


@register_rule("label_budget")
class LabelBudget(StoppingRule):
    """Stop when the label budget is spent: at the last round whose labels stay within ``max_labels``.

    The batch that would pass the cap is not bought (a hard budget), so the rule looks at the size of the
    next batch, which a team knows before buying it.

    Parameters
    ----------
    max_labels : int, default=100
        Labels the team can pay for, initial set included.

    Examples
    --------
    >>> import polars as pl
    >>> LabelBudget(max_labels=25).stop_round(pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30]}))
    1
    """

    required_signals = ("n_labeled",)

    def __init__(self, max_labels: int = 100) -> None:
        self.max_labels = max_labels

    def _validate_params(self) -> None:
        check_int(self.max_labels, "max_labels", type(self).__name__, low=1)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        return _budget_flags(records["n_labeled"].to_numpy(), self.max_labels)


@register_rule("cost_budget")
class CostBudget(StoppingRule):
    """Stop when the labeling budget (in the oracle's cost units) is spent; a hard cap like LabelBudget.

    Parameters
    ----------
    max_cost : float, default=100.0
        Cumulative labeling cost the team can pay, initial set included.

    Examples
    --------
    >>> import polars as pl
    >>> CostBudget(max_cost=50.0).stop_round(pl.DataFrame({"round": [0, 1, 2], "cost": [10.0, 45.0, 80.0]}))
    1
    """

    required_signals = ("cost",)

    def __init__(self, max_cost: float = 100.0) -> None:
        self.max_cost = max_cost

    def _validate_params(self) -> None:
        check_real(self.max_cost, "max_cost", type(self).__name__, low=0.0, low_open=True)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        return _budget_flags(_values(records, "cost"), float(self.max_cost))


@register_rule("pool_share_budget")
class PoolShareBudget(StoppingRule):
    """Stop when a share of the pool has been labeled (the pool is ``n_labeled + n_unlabeled`` of round 0).

    Parameters
    ----------
    share : float in (0, 1], default=0.1
        Largest share of the pool to label.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "n_unlabeled": [90, 80, 70]})
    >>> PoolShareBudget(share=0.2).stop_round(frame)
    1
    """

    required_signals = ("n_labeled", "n_unlabeled")

    def __init__(self, share: float = 0.1) -> None:
        self.share = share

    def _validate_params(self) -> None:
        check_real(self.share, "share", type(self).__name__, low=0.0, high=1.0, low_open=True)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        n_labeled = records["n_labeled"].to_numpy()
        pool_size = int(n_labeled[0] + records["n_unlabeled"][0])
        return _budget_flags(n_labeled, self.share * pool_size)


@register_rule("stabilizing_predictions")
class StabilizingPredictions(StoppingRule):
    """Stop when successive models agree on the stop set: the mean of the last ``window`` kappas is high.

    Cohen's kappa is computed between the predictions of each model and the one before on a fixed set of
    unlabeled pool examples (the stop set), so no labels are needed.

    Bloodgood, M. and Vijay-Shanker, K. (2009). "A Method for Stopping Active Learning Based on Stabilizing
    Predictions and the Need for User-Adjustable Stopping". Proceedings of CoNLL 2009, pp. 39-47.
    Defaults from the paper: window 3, threshold 0.99.

    Parameters
    ----------
    threshold : float in [-1, 1], default=0.99
        Mean kappa at or above which the rule stops.
    window : int >= 1, default=3
        Number of most recent kappas averaged.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2], "stop_set_predictions": [[0, 1, 1], [0, 1, 1], [0, 1, 1]]})
    >>> StabilizingPredictions(window=2).stop_round(frame)
    2
    """

    required_signals = ("stop_set_predictions",)

    def __init__(self, threshold: float = 0.99, window: int = 3) -> None:
        self.threshold = threshold
        self.window = window

    def _validate_params(self) -> None:
        check_real(self.threshold, "threshold", type(self).__name__, low=-1.0, high=1.0)
        check_int(self.window, "window", type(self).__name__, low=1)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        kappa = successive_kappa(_stop_set_predictions(records, self))
        # kappa[0] is NaN, so the first full window ends at round `window` (window + 1 models compared).
        return _trailing_mean(kappa, self.window) >= self.threshold


@register_rule("classification_change")
class ClassificationChange(StoppingRule):
    """Stop when no stop-set prediction changes between two successive models.

    Zhu, J., Wang, H. and Hovy, E. (2008). "Multi-criteria-based Strategy to Stop Active Learning for Data
    Annotation". Proceedings of COLING 2008, pp. 1129-1136. The paper compares predictions on the whole
    unlabeled pool and stops when none changes; alsim compares them on the recorded stop set
    (``stop_set_predictions``), a fixed sample of the pool.

    Parameters
    ----------
    max_changed_share : float in [0, 1), default=0.0
        Largest share of stop-set predictions allowed to change (0 = none, as in the paper).

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2], "stop_set_predictions": [[0, 1], [1, 1], [1, 1]]})
    >>> ClassificationChange().stop_round(frame)
    2
    """

    required_signals = ("stop_set_predictions",)

    def __init__(self, max_changed_share: float = 0.0) -> None:
        self.max_changed_share = max_changed_share

    def _validate_params(self) -> None:
        check_real(self.max_changed_share, "max_changed_share", type(self).__name__, low=0.0, high=1.0, high_open=True)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        predictions = _stop_set_predictions(records, self)
        changed = np.full(predictions.shape[0], np.nan)
        changed[1:] = (predictions[1:] != predictions[:-1]).mean(axis=1)
        return changed <= self.max_changed_share


class _ThresholdRule(StoppingRule):
    """Shared checks and decision of the rules that compare one recorded signal with ``threshold``.

    Subclasses set ``required_signals`` (the one column read), ``_threshold_range`` and whether the rule
    stops when the signal is at or above the threshold (accuracy-like) or strictly below it (uncertainty-like).
    """

    _threshold_range: tuple[float, float] = (0.0, 1.0)
    _stops_at_or_above: bool = False

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def _validate_params(self) -> None:
        low, high = self._threshold_range
        check_real(self.threshold, "threshold", type(self).__name__, low=low, high=high, high_open=high == np.inf)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        values = _values(records, self.required_signals[0])
        return values >= self.threshold if self._stops_at_or_above else values < self.threshold


@register_rule("overall_uncertainty")
class OverallUncertainty(_ThresholdRule):
    """Stop when the mean entropy of the model's predictions over the unlabeled pool is below a threshold.

    Zhu, J., Wang, H. and Hovy, E. (2008). "Multi-criteria-based Strategy to Stop Active Learning for Data
    Annotation". Proceedings of COLING 2008, pp. 1129-1136. The paper measures uncertainty by entropy; the
    rule reads ``pool_mean_entropy``. Default threshold 0.01 (the paper's order of magnitude for a
    near-certain pool).

    Parameters
    ----------
    threshold : float in [0, inf), default=0.01

    Examples
    --------
    >>> import polars as pl
    >>> OverallUncertainty().stop_round(pl.DataFrame({"round": [0, 1], "pool_mean_entropy": [0.3, 0.005]}))
    1
    """

    required_signals = ("pool_mean_entropy",)
    _threshold_range = (0.0, np.inf)

    def __init__(self, threshold: float = 0.01) -> None:
        super().__init__(threshold)


@register_rule("min_expected_error")
class MinExpectedError(_ThresholdRule):
    """Stop when the model's expected error on the unlabeled pool is below a threshold.

    The expected error is the mean over the pool of ``1 - max_y P(y | x)``, the model's own estimate of its
    error rate, which is exactly the recorded ``pool_mean_uncertainty`` (least confidence).

    Zhu, J., Wang, H. and Hovy, E. (2008). "Learning a Stopping Criterion for Active Learning for Word Sense
    Disambiguation and Text Classification". Proceedings of IJCNLP 2008, pp. 366-372. Default threshold 0.01.

    Parameters
    ----------
    threshold : float in [0, 1], default=0.01

    Examples
    --------
    >>> import polars as pl
    >>> MinExpectedError().stop_round(pl.DataFrame({"round": [0, 1], "pool_mean_uncertainty": [0.2, 0.009]}))
    1
    """

    required_signals = ("pool_mean_uncertainty",)

    def __init__(self, threshold: float = 0.01) -> None:
        super().__init__(threshold)


@register_rule("max_confidence")
class MaxConfidence(_ThresholdRule):
    """Stop when even the most uncertain example of the batch just bought was nearly certain.

    Zhu, J. and Hovy, E. (2007). "Active Learning for Word Sense Disambiguation with Methods for Addressing
    the Class Imbalance Problem". Proceedings of EMNLP-CoNLL 2007, pp. 783-790; used as a stopping criterion
    in Zhu, Wang & Hovy (2008, IJCNLP and COLING). The papers stop when the uncertainty (entropy) of each
    selected example is below 0.001; alsim reads ``selected_max_uncertainty`` (least confidence of the batch,
    scored by the model that chose it), the batch-mode form of "each selected example".

    Parameters
    ----------
    threshold : float in [0, 1], default=0.001

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2], "selected_max_uncertainty": [None, 0.2, 0.0005]})
    >>> MaxConfidence().stop_round(frame)
    2
    """

    required_signals = ("selected_max_uncertainty",)

    def __init__(self, threshold: float = 0.001) -> None:
        super().__init__(threshold)


@register_rule("selected_accuracy")
class SelectedAccuracy(_ThresholdRule):
    """Stop when the previous model was right on most of the labels just bought ("minimum error").

    The oracle's answers on the batch are free feedback on the model that chose the batch: once it predicts
    them well, the most informative examples have become easy.

    Zhu, J., Wang, H. and Hovy, E. (2008). "Learning a Stopping Criterion for Active Learning for Word Sense
    Disambiguation and Text Classification". Proceedings of IJCNLP 2008, pp. 366-372. Default threshold 0.9.

    Parameters
    ----------
    threshold : float in [0, 1], default=0.9

    Examples
    --------
    >>> import polars as pl
    >>> SelectedAccuracy().stop_round(pl.DataFrame({"round": [0, 1, 2], "selected_accuracy": [None, 0.5, 0.9]}))
    2
    """

    required_signals = ("selected_accuracy",)
    _stops_at_or_above = True

    def __init__(self, threshold: float = 0.9) -> None:
        super().__init__(threshold)


class _GradientConvergence(StoppingRule):
    """Shared parameters and checks of the two Laws & Schuetze (2008) gradient rules."""

    _signals: tuple[str, ...] = ()

    def __init__(self, signal: str, window: int = 10, epsilon: float = 5e-5) -> None:
        self.signal = signal
        self.window = window
        self.epsilon = epsilon

    @property
    def required_signals(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("n_labeled", self.signal)

    def _validate_params(self) -> None:
        check_choice(self.signal, "signal", type(self).__name__, self._signals)
        check_int(self.window, "window", type(self).__name__, low=1)
        check_real(self.epsilon, "epsilon", type(self).__name__, low=0.0, high=1.0, low_open=True)

    def _series(self, records: pl.DataFrame) -> np.ndarray:
        return _values(records, self.signal)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        return _converged(self._series(records), records["n_labeled"].to_numpy(), self.window, self.epsilon)


@register_rule("performance_convergence")
class PerformanceConvergence(_GradientConvergence):
    """Stop when an estimate of the model's performance stops changing (gradient-based stopping).

    The estimate is smoothed by a trailing mean over ``window`` rounds; the gradient is the change of that
    mean between successive rounds per label bought; the rule stops once ``|gradient| < epsilon``.

    Laws, F. and Schuetze, H. (2008). "Stopping Criteria for Active Learning of Named Entity Recognition".
    Proceedings of COLING 2008, pp. 465-472. The paper estimates performance from the model's confidence on
    unlabeled data (no labels needed) and uses epsilon 5e-5 per example with windows of 100 single-example
    iterations; the default window of 10 rounds matches 100 labels at batch size 10.

    Parameters
    ----------
    signal : {"pool_confidence", "selected_accuracy"}, default="pool_confidence"
        The performance estimate. ``"pool_confidence"`` is ``1 - pool_mean_uncertainty``, the model's
        expected accuracy on the unlabeled pool (the paper's kind of estimate); ``"selected_accuracy"`` is the
        previous model's accuracy on the labels just bought (noisier, but it uses true labels).
    window : int >= 1, default=10
        Rounds in the trailing mean.
    epsilon : float in (0, 1], default=5e-5
        Gradient (accuracy per label) below which the estimate counts as converged.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2, 3], "n_labeled": [10, 20, 30, 40],
    ...                       "pool_mean_uncertainty": [0.5, 0.3, 0.3, 0.3]})
    >>> PerformanceConvergence(window=2).stop_round(frame)
    3
    """

    _signals = ("pool_confidence", "selected_accuracy")

    def __init__(self, signal: str = "pool_confidence", window: int = 10, epsilon: float = 5e-5) -> None:
        super().__init__(signal=signal, window=window, epsilon=epsilon)

    @property
    def required_signals(self) -> tuple[str, ...]:  # type: ignore[override]
        """Signals the rule reads: ``n_labeled`` and the column of the chosen ``signal``."""
        column = "pool_mean_uncertainty" if self.signal == "pool_confidence" else self.signal
        return ("n_labeled", column)

    def _series(self, records: pl.DataFrame) -> np.ndarray:
        if self.signal == "pool_confidence":
            return 1.0 - _values(records, "pool_mean_uncertainty")
        return _values(records, "selected_accuracy")


@register_rule("uncertainty_convergence")
class UncertaintyConvergence(_GradientConvergence):
    """Stop when the uncertainty of the examples being bought stops changing (gradient-based stopping).

    Same smoothing and gradient as :class:`PerformanceConvergence`, on an uncertainty signal.

    Laws, F. and Schuetze, H. (2008). "Stopping Criteria for Active Learning of Named Entity Recognition".
    Proceedings of COLING 2008, pp. 465-472. The paper follows the uncertainty of the most recently selected
    (most uncertain) example, whose batch-mode counterpart is ``selected_max_uncertainty``; epsilon 5e-5 and
    a window of 100 single-example iterations (10 rounds at batch size 10).

    Parameters
    ----------
    signal : {"selected_max_uncertainty", "pool_mean_uncertainty"}, default="selected_max_uncertainty"
    window : int >= 1, default=10
    epsilon : float in (0, 1], default=5e-5

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2, 3], "n_labeled": [10, 20, 30, 40],
    ...                       "selected_max_uncertainty": [None, 0.4, 0.4, 0.4]})
    >>> UncertaintyConvergence(window=1).stop_round(frame)
    2
    """

    _signals = ("selected_max_uncertainty", "pool_mean_uncertainty")

    def __init__(self, signal: str = "selected_max_uncertainty", window: int = 10, epsilon: float = 5e-5) -> None:
        super().__init__(signal=signal, window=window, epsilon=epsilon)


@register_rule("confidence_variance")
class ConfidenceVariance(StoppingRule):
    """Stop when the variance of the model's confidence over the unlabeled pool has peaked.

    While the model learns, its confidence on the pool spreads out (some examples become certain, others
    stay hard) and the variance grows; once it starts falling, the model is settling.

    Ghayoomi, M. (2010). "Using Variance as a Stopping Criterion for Active Learning of Frame Assignment".
    Proceedings of the NAACL HLT 2010 Workshop on Active Learning for Natural Language Processing,
    pp. 1-9. The paper's variance model stops at the first decrease of the variance (``n_decreases=1``);
    its extended variance model waits for 2 successive decreases, the default here because the first
    rounds of a cold start are noisy.

    Parameters
    ----------
    n_decreases : int >= 1, default=2
        Successive rounds in which the variance must fall.
    min_decrease : float >= 0, default=0.0
        Amount by which each fall must exceed to count.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2, 3, 4], "pool_confidence_variance": [0.01, 0.03, 0.05, 0.04, 0.03]})
    >>> ConfidenceVariance().stop_round(frame)
    4
    """

    required_signals = ("pool_confidence_variance",)

    def __init__(self, n_decreases: int = 2, min_decrease: float = 0.0) -> None:
        self.n_decreases = n_decreases
        self.min_decrease = min_decrease

    def _validate_params(self) -> None:
        check_int(self.n_decreases, "n_decreases", type(self).__name__, low=1)
        check_real(self.min_decrease, "min_decrease", type(self).__name__, low=0.0)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        variance = _values(records, "pool_confidence_variance")
        fell = np.zeros(variance.size, dtype=bool)
        fell[1:] = (variance[:-1] - variance[1:]) > self.min_decrease
        # Length of the run of successive falls ending at each round.
        run = np.zeros(variance.size, dtype=np.int64)
        for t in range(1, variance.size):
            run[t] = run[t - 1] + 1 if fell[t] else 0
        return run >= self.n_decreases


@register_rule("predicted_change_of_f")
class PredictedChangeOfF(StoppingRule):
    """Stop when the predicted change of F between successive models stays small (binary tasks only).

    On the stop set, with ``a`` examples both models call positive and ``b``, ``c`` those only the earlier
    or only the later calls positive, the predicted change of F is ``1 - 2a / (2a + b + c)``; the rule
    stops when it is below ``threshold`` in each of the last ``window`` rounds.

    Altschuler, M. and Bloodgood, M. (2019). "Stopping Active Learning based on Predicted Change of F Measure
    for Text Classification". Proceedings of the 13th IEEE International Conference on Semantic Computing
    (ICSC 2019), pp. 47-54. Defaults: window 3 (as in stabilizing predictions, which the method refines) and
    threshold 0.05, the values of the small-text library's implementation of this rule.

    Parameters
    ----------
    threshold : float in (0, 1], default=0.05
    window : int >= 1, default=3
    pos_label : int, default=1
        Class code treated as positive.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2], "stop_set_predictions": [[1, 0, 1], [1, 0, 1], [1, 1, 1]]})
    >>> PredictedChangeOfF(window=1).stop_round(frame)
    1
    """

    required_signals = ("stop_set_predictions",)

    def __init__(self, threshold: float = 0.05, window: int = 3, pos_label: int = 1) -> None:
        self.threshold = threshold
        self.window = window
        self.pos_label = pos_label

    def _validate_params(self) -> None:
        check_real(self.threshold, "threshold", type(self).__name__, low=0.0, high=1.0, low_open=True)
        check_int(self.window, "window", type(self).__name__, low=1)
        check_int(self.pos_label, "pos_label", type(self).__name__, low=0, high=1)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        predictions = _stop_set_predictions(records, self)
        classes = np.unique(predictions)
        if classes.min() < 0 or classes.max() > 1:
            raise InvalidInputError(
                "The 'predicted_change_of_f' stopping rule applies to binary tasks only (class codes 0 and 1); "
                f"this run predicts classes {classes.tolist()}. Use 'stabilizing_predictions' for multiclass runs."
            )
        delta = predicted_change_of_f(predictions, self.pos_label)
        below = np.where(np.isnan(delta), 0.0, delta < self.threshold)
        return _trailing_mean(below, self.window) == 1.0


@register_rule("marginal_gain")
class MarginalGainPerLabel(StoppingRule):
    """Stop when the accuracy gained per label, measured on paid labels only, falls below a threshold.

    The rule practitioners describe: "stop when another hundred labels buy less than a point of accuracy".
    The gain is estimated without any test set, from ``labeled_cv_accuracy`` (cross-validated accuracy on the
    labeled set, recorded with ``record_cv=True``): ``(cv[t] - cv[t - window]) / (labels bought since)``.
    There is no fallback: a run without the signal raises MissingSignalError, because the other signals
    (``selected_accuracy``) estimate the accuracy of a model, not its gain, and would be another rule.
    Under the total-cost model of :func:`alsim.stopping.total_cost` the break-even threshold is
    ``cost_per_label / (predictions * cost_per_error)``.

    Parameters
    ----------
    threshold : float in [0, 1], default=1e-4
        Accuracy gained per label below which labeling stops (1e-4 = one point per 100 labels).
    window : int >= 1, default=3
        Rounds over which the gain is measured (smooths the noise of cross-validation on few labels).

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30],
    ...                       "labeled_cv_accuracy": [0.6, 0.8, 0.8005]})
    >>> MarginalGainPerLabel(window=1).stop_round(frame)
    2
    """

    required_signals = ("n_labeled", "labeled_cv_accuracy")

    def __init__(self, threshold: float = 1e-4, window: int = 3) -> None:
        self.threshold = threshold
        self.window = window

    def _validate_params(self) -> None:
        check_real(self.threshold, "threshold", type(self).__name__, low=0.0, high=1.0)
        check_int(self.window, "window", type(self).__name__, low=1)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        accuracy = _values(records, "labeled_cv_accuracy")
        n_labeled = records["n_labeled"].to_numpy().astype(float)
        gain = np.full(accuracy.size, np.nan)
        k = self.window
        if accuracy.size > k:
            bought = n_labeled[k:] - n_labeled[:-k]
            with np.errstate(divide="ignore", invalid="ignore"):
                gain[k:] = (accuracy[k:] - accuracy[:-k]) / np.where(bought > 0, bought, np.nan)
        return gain < self.threshold


@register_rule("target_accuracy")
class TargetAccuracy(StoppingRule):
    """REFERENCE ONLY (reads test labels): stop once test accuracy reaches a target.

    A real team has no labeled test set during labeling, so this rule shows what knowing the learning curve
    would buy; it cannot be used in practice.

    Parameters
    ----------
    share : float in (0, 1], default=0.99
        Target as a share of ``reference_accuracy`` (the learner trained on the whole pool).
    target : float in (0, 1] or None, default=None
        An absolute target accuracy; when given, ``share`` is ignored and no reference is needed.

    Examples
    --------
    >>> import polars as pl
    >>> TargetAccuracy(target=0.8).stop_round(pl.DataFrame({"round": [0, 1, 2], "accuracy": [0.5, 0.7, 0.85]}))
    2
    """

    uses_test_labels = True

    def __init__(self, share: float = 0.99, target: float | None = None) -> None:
        self.share = share
        self.target = target

    @property
    def required_signals(self) -> tuple[str, ...]:  # type: ignore[override]
        """Signals the rule reads: accuracy, and the reference accuracy unless ``target`` is given."""
        return ("accuracy",) if self.target is not None else ("accuracy", "reference_accuracy")

    def _validate_params(self) -> None:
        check_real(self.share, "share", type(self).__name__, low=0.0, high=1.0, low_open=True)
        if self.target is not None:
            check_real(self.target, "target", type(self).__name__, low=0.0, high=1.0, low_open=True)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        accuracy = _values(records, "accuracy")
        if self.target is not None:
            return accuracy >= self.target
        return accuracy >= self.share * _values(records, "reference_accuracy")


@register_rule("oracle_optimal")
class OracleOptimalStop(StoppingRule):
    """REFERENCE ONLY (reads test labels): stop at the ex-post optimal round, the one of least total cost.

    The total cost is that of :func:`alsim.stopping.total_cost`; this rule's regret is 0 by definition and it
    cannot be used in practice. Ties go to the earliest round.

    Parameters
    ----------
    cost_per_label : float >= 0, default=1.0
    predictions : float >= 0, default=10000
        Predictions the model makes in deployment over its lifetime.
    cost_per_error : float >= 0, default=1.0

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "cost": [10.0, 20.0, 30.0],
    ...                       "accuracy": [0.7, 0.8, 0.8005]})
    >>> OracleOptimalStop(predictions=1000).stop_round(frame)
    1
    """

    uses_test_labels = True
    required_signals = ("n_labeled", "accuracy")

    def __init__(self, cost_per_label: float = 1.0, predictions: float = 10_000, cost_per_error: float = 1.0) -> None:
        self.cost_per_label = cost_per_label
        self.predictions = predictions
        self.cost_per_error = cost_per_error

    def _validate_params(self) -> None:
        for name in ("cost_per_label", "predictions", "cost_per_error"):
            check_real(getattr(self, name), name, type(self).__name__, low=0.0)

    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        from alsim.stopping.scoring import total_cost

        cost = total_cost(records, self.cost_per_label, self.predictions, self.cost_per_error)
        flags = np.zeros(cost.size, dtype=bool)
        flags[int(np.nanargmin(cost))] = True
        return flags
