"""Parametric learning curves: fit, extrapolate with a capped ensemble, and invert to labels-to-target.

A learning curve maps the number of labels ``n`` to a quality score ``y`` (accuracy or macro-F1). Budget
estimation needs the curve beyond the labels simulated. Families (``n`` is rescaled to ``t = n / n_scale``
before fitting, which keeps the optimiser well conditioned):

``pow4``
    ``y = a - b * (t + c)**(-d)``, the inverse power law with an offset. Asymptote ``a``.
``mmf4``
    Morgan-Mercer-Flodin ``y = (a * b + c * t**d) / (b + t**d)``: starts at ``a``, tends to ``c``.
``wbl4``
    Weibull ``y = a - (a - b) * exp(-(c * t)**d)``: starts at ``b``, tends to ``a``.
``pow3``
    The classic three-parameter inverse power law ``y = a - b * t**(-c)`` (Frey & Fisher 1999).

The three four-parameter families are the ones learning-curve database studies find extrapolate best
(Domhan, Springenberg & Hutter 2015; Mohr & van Rijn 2022, "LCDB 1.0"). Every family's asymptote can be
bounded by a ``cap`` (:func:`score_cap`): the best score seen plus what the late slope could add, and never
above the full-pool reference score when it is known, so a curve that flattens near 0.75 cannot be given a
ceiling of 1.0.

:func:`extrapolate_curve` is the budget's point predictor: the crossings of the capped families and of a
log-linear fit of the curve's later half, combined by their (geometric) median. How far that prediction can
be trusted, and the intervals around it, come from :mod:`alsim.budget.calibration`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, brentq, curve_fit

from alsim._validation import check_choice, check_fraction, check_int, fail
from alsim.exceptions import InvalidInputError

__all__ = [
    "CURVE_FAMILIES",
    "DEFAULT_FAMILIES",
    "CurveExtrapolation",
    "CurveFamily",
    "FittedCurve",
    "LearningCurveModel",
    "extrapolate_curve",
    "fit_family",
    "fit_learning_curve",
    "late_slope",
    "median_crossing",
    "score_cap",
]

_Array = np.ndarray


def _pow3(t: _Array, a: float, b: float, c: float) -> _Array:
    return a - b * np.power(t, -c)


def _pow4(t: _Array, a: float, b: float, c: float, d: float) -> _Array:
    return a - b * np.power(t + c, -d)


def _mmf(t: _Array, a: float, b: float, c: float, d: float) -> _Array:
    td = np.power(t, d)
    return (a * b + c * td) / (b + td)


def _weibull(t: _Array, a: float, b: float, c: float, d: float) -> _Array:
    return a - (a - b) * np.exp(-np.power(c * t, d))


@dataclass(frozen=True)
class CurveFamily:
    """A parametric family of increasing, saturating learning curves on the rescaled axis ``t``."""

    name: str
    function: Callable[..., _Array]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    asymptote_index: int
    starts: Callable[[_Array, _Array, float], list[tuple[float, ...]]]

    def bounds(self, cap: float | None) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Lower and upper parameter bounds, the asymptote's upper bound lowered to ``cap``."""
        if cap is None:
            return self.lower, self.upper
        upper = list(self.upper)
        at = self.asymptote_index
        upper[at] = max(min(upper[at], cap), self.lower[at] + 1e-6)
        return self.lower, tuple(upper)


# Starting points put the asymptote a little above the best score seen (``top``, itself under the cap).


def _pow3_starts(t: _Array, y: _Array, top: float) -> list[tuple[float, ...]]:
    span = max(top - float(y.min()), 1e-3)
    return [(top, span * float(t.min()) ** c, c) for c in (0.3, 0.7, 1.5)]


def _pow4_starts(t: _Array, y: _Array, top: float) -> list[tuple[float, ...]]:
    return [(top, 0.5, 0.0, 0.5), (top, 0.3, 0.1, 1.0)]


def _mmf_starts(t: _Array, y: _Array, top: float) -> list[tuple[float, ...]]:
    return [(float(y.min()) * 0.9, b, top, d) for b in (0.1, 1.0) for d in (0.7, 1.5)]


def _weibull_starts(t: _Array, y: _Array, top: float) -> list[tuple[float, ...]]:
    return [(top, float(y.min()) * 0.9, c, d) for c in (1.0, 5.0) for d in (0.5, 1.0)]


CURVE_FAMILIES: dict[str, CurveFamily] = {
    family.name: family
    for family in (
        CurveFamily("pow4", _pow4, (0.0, 0.0, 0.0, 1e-2), (1.0, 10.0, 5.0, 5.0), 0, _pow4_starts),
        CurveFamily("mmf4", _mmf, (0.0, 1e-6, 0.0, 1e-2), (1.0, 1e3, 1.0, 10.0), 2, _mmf_starts),
        CurveFamily("wbl4", _weibull, (0.0, 0.0, 1e-4, 1e-2), (1.0, 1.0, 1e3, 10.0), 0, _weibull_starts),
        CurveFamily("pow3", _pow3, (0.0, 0.0, 1e-3), (1.0, 10.0, 5.0), 0, _pow3_starts),
    )
}

#: The families :func:`fit_learning_curve` and :func:`extrapolate_curve` use by default.
DEFAULT_FAMILIES: tuple[str, ...] = ("pow4", "mmf4", "wbl4")


@dataclass(frozen=True)
class FittedCurve:
    """One family fitted to one curve."""

    family: CurveFamily
    params: tuple[float, ...]
    n_scale: float
    rmse: float

    def predict(self, n_labels: _Array | float) -> _Array:
        """Return the curve's score at ``n_labels``."""
        t = np.asarray(n_labels, dtype=np.float64) / self.n_scale
        return np.asarray(self.family.function(t, *self.params), dtype=np.float64)

    @property
    def asymptote(self) -> float:
        """Score the curve tends to as labels grow without bound."""
        return float(self.params[self.family.asymptote_index])


def _check_curve(n_labels: Sequence[float] | _Array, scores: Sequence[float] | _Array) -> tuple[_Array, _Array]:
    x = np.asarray(n_labels, dtype=np.float64)
    y = np.asarray(scores, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise InvalidInputError(
            "A learning curve needs 1-d 'n_labels' and 'scores' of the same length. "
            f"Got shapes {x.shape} and {y.shape} instead."
        )
    if x.size < 3:
        raise InvalidInputError(f"A learning curve needs at least 3 points to fit. Got {x.size} instead.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InvalidInputError("A learning curve must not contain NaN or infinite values.")
    if np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise InvalidInputError("The 'n_labels' of a learning curve must be positive and strictly increasing.")
    return x, y


def fit_family(
    family: str | CurveFamily,
    n_labels: Sequence[float] | _Array,
    scores: Sequence[float] | _Array,
    *,
    n_scale: float | None = None,
    start: tuple[float, ...] | None = None,
    cap: float | None = None,
) -> FittedCurve | None:
    """Least-squares fit of one family; ``None`` when no start converges.

    ``start`` adds one starting point to the family's own (a warm start, e.g. the parameters fitted on the
    full data when refitting a bootstrap replicate). ``cap`` bounds the family's asymptote from above.
    """
    fam = CURVE_FAMILIES[family] if isinstance(family, str) else family
    x, y = _check_curve(n_labels, scores)
    scale = float(n_scale if n_scale is not None else x.max())
    t = x / scale
    bounds = fam.bounds(cap)
    # A warm start alone usually converges (bootstrap replicates are close to the full fit); the family's
    # own starts are the fallback.
    best = _fit_from_starts(fam, t, y, scale, [start], bounds) if start is not None else None
    if best is None:
        top = float(min(1.0 if cap is None else cap, y.max() + 0.02))
        best = _fit_from_starts(fam, t, y, scale, fam.starts(t, y, top), bounds)
    return best


def _fit_from_starts(
    fam: CurveFamily,
    t: _Array,
    y: _Array,
    scale: float,
    starts: list[tuple[float, ...]],
    bounds: tuple[tuple[float, ...], tuple[float, ...]],
) -> FittedCurve | None:
    best: FittedCurve | None = None
    lower, upper = np.asarray(bounds[0]), np.asarray(bounds[1])
    for p0 in starts:
        # Strictly inside the box: a start on a bound makes the trust-region solver reject it.
        p0_clipped = np.clip(np.asarray(p0, dtype=np.float64), lower, upper - 1e-9 * np.maximum(1.0, upper))
        try:
            # curve_fit warns when it cannot estimate a covariance, which is never used here.
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(fam.function, t, y, p0=p0_clipped, bounds=(lower, upper), maxfev=2000)
        except (RuntimeError, ValueError):
            # No convergence from this start (or a start on a bound the solver rejects): try the next.
            continue
        residual = fam.function(t, *params) - y
        if not np.all(np.isfinite(residual)):
            continue
        rmse = float(np.sqrt(np.mean(residual**2)))
        if best is None or rmse < best.rmse:
            best = FittedCurve(fam, tuple(float(p) for p in params), scale, rmse)
    return best


@dataclass(frozen=True)
class LearningCurveModel:
    """A weighted average of fitted families, the weights set by held-back extrapolation error."""

    curves: tuple[FittedCurve, ...]
    weights: tuple[float, ...]
    extrapolation_rmse: dict[str, float]
    n_observed_max: float

    def predict(self, n_labels: _Array | float) -> _Array:
        """Return the weighted average of the families' scores at ``n_labels``."""
        return sum(w * c.predict(n_labels) for c, w in zip(self.curves, self.weights, strict=True))  # type: ignore[return-value]

    @property
    def asymptote(self) -> float:
        """Weighted average of the families' asymptotes."""
        return float(sum(w * c.asymptote for c, w in zip(self.curves, self.weights, strict=True)))

    def only(self, index: int) -> LearningCurveModel:
        """Return the model reduced to its ``index``-th family."""
        return LearningCurveModel((self.curves[index],), (1.0,), self.extrapolation_rmse, self.n_observed_max)

    @property
    def families(self) -> tuple[str, ...]:
        """Names of the curve families in the model, in weight order."""
        return tuple(c.family.name for c in self.curves)

    def labels_to_reach(self, target: float, *, n_min: float = 1.0, n_max: float) -> float:
        """Smallest number of labels at which the model reaches ``target``; ``inf`` if not by ``n_max``.

        Every family is non-decreasing in ``n`` within its bounds, and so is their positive mixture, so
        the first crossing is found by bisection after a geometric scan brackets it.
        """
        if self.predict(n_min) >= target:
            return float(n_min)
        grid = np.geomspace(n_min, n_max, 256)
        reached = np.nonzero(self.predict(grid) >= target)[0]
        if reached.size == 0:
            return float("inf")
        hi = float(grid[reached[0]])
        lo = float(grid[reached[0] - 1])
        root = brentq(lambda n: float(self.predict(n)) - target, lo, hi, xtol=1e-3)
        return float(np.ceil(root))


def fit_learning_curve(
    n_labels: Sequence[float] | _Array,
    scores: Sequence[float] | _Array,
    *,
    families: Sequence[str] = DEFAULT_FAMILIES,
    holdout: float = 0.3,
    combine: str = "weighted",
    warm_start: LearningCurveModel | None = None,
    cap: float | None = None,
) -> LearningCurveModel:
    """Fit every family, weigh them by how well they extrapolate, and return the combined model.

    Each family is first fitted on the earliest ``1 - holdout`` share of the points and scored (RMSE) on
    the later points it did not see; then refitted on all points. ``combine="weighted"`` averages the
    families with weights proportional to ``1 / rmse**2`` of that extrapolation; ``combine="best"`` keeps
    only the family that extrapolated best. ``cap`` bounds every family's asymptote from above (see
    :func:`score_cap`).

    Examples
    --------
    >>> import numpy as np
    >>> n = np.arange(10, 210, 10)
    >>> model = fit_learning_curve(n, 0.9 - 0.5 * n ** -0.5)
    >>> round(model.asymptote, 2)
    0.9
    """
    unknown = [f for f in families if f not in CURVE_FAMILIES]
    if unknown or not families:
        raise fail("families", "fit_learning_curve", f"a non-empty list of {sorted(CURVE_FAMILIES)}", list(families))
    holdout = check_fraction(holdout, "holdout", "fit_learning_curve")
    check_choice(combine, "combine", "fit_learning_curve", ("best", "weighted"))
    x, y = _check_curve(n_labels, scores)
    warm = {c.family.name: c.params for c in warm_start.curves} if warm_start is not None else {}
    n_fit = max(3, round(x.size * (1.0 - holdout)))
    extrapolation_rmse: dict[str, float] = {}
    fitted: list[FittedCurve] = []
    for name in families:
        full = fit_family(name, x, y, start=warm.get(name), cap=cap)
        if full is None:
            continue
        if n_fit < x.size:
            early = fit_family(name, x[:n_fit], y[:n_fit], n_scale=full.n_scale, start=full.params, cap=cap)
            if early is None:
                continue
            held = early.predict(x[n_fit:]) - y[n_fit:]
            extrapolation_rmse[name] = float(np.sqrt(np.mean(held**2)))
        else:
            extrapolation_rmse[name] = full.rmse
        fitted.append(full)
    if not fitted:
        raise InvalidInputError(
            "No learning-curve family could be fitted to this curve; it may be flat or too noisy. "
            "Simulate more rounds or more seeds."
        )
    errors = np.array([extrapolation_rmse[c.family.name] for c in fitted])
    if combine == "best":
        keep = int(np.argmin(errors))
        return LearningCurveModel((fitted[keep],), (1.0,), extrapolation_rmse, float(x.max()))
    inverse = 1.0 / np.maximum(errors, 1e-6) ** 2
    weights = inverse / inverse.sum()
    return LearningCurveModel(tuple(fitted), tuple(float(w) for w in weights), extrapolation_rmse, float(x.max()))


def late_slope(n_labels: Sequence[float] | _Array, scores: Sequence[float] | _Array) -> tuple[float, float]:
    """Slope and intercept of ``score ~ slope * log(n_labels) + intercept`` over the later half of a curve."""
    x, y = _check_curve(n_labels, scores)
    half = x.size // 2
    slope, intercept = np.polyfit(np.log(x[half:]), y[half:], 1)
    return float(slope), float(intercept)


def score_cap(
    n_labels: Sequence[float] | _Array,
    scores: Sequence[float] | _Array,
    *,
    reference: float | None = None,
    horizon_factor: float = 10.0,
) -> float:
    """Highest asymptote the data supports: what the late slope could add over ``horizon_factor`` times the labels.

    The cap is the best score seen plus ``max(0.01, slope * log(horizon_factor))``, where ``slope`` is the
    gain per log-label of the curve's later half; with the full-pool ``reference`` score known, it is at most
    ``reference + 0.01`` (or just above the best score seen, if the curve already beats the reference), and
    never above 1.
    """
    x, y = _check_curve(n_labels, scores)
    slope, _ = late_slope(x, y)
    best = float(y.max())
    cap = best + max(0.01, max(slope, 0.0) * math.log(horizon_factor))
    if reference is not None and math.isfinite(reference):
        cap = min(cap, max(float(reference) + 0.01, best + 0.005))
    return float(min(1.0, cap))


@dataclass(frozen=True)
class CurveExtrapolation:
    """The budget's point predictor: capped families and a log-linear late fit, combined by their median.

    ``model`` holds the fitted families (their asymptotes at most ``cap``); ``slope`` and ``intercept``
    are the log-linear fit of the curve's later half. :meth:`labels_to_reach` is the geometric median of
    the components' finite crossings of a target, ``inf`` when none crosses it by ``n_max``.
    """

    model: LearningCurveModel | None
    cap: float
    slope: float
    intercept: float
    fit_labels: float
    best_score: float

    def crossings(self, target: float, *, n_max: float) -> dict[str, float]:
        """Labels at which each component first reaches ``target`` (``inf`` if not by ``n_max``)."""
        out: dict[str, float] = {}
        if self.model is not None:
            for index, curve in enumerate(self.model.curves):
                out[curve.family.name] = self.model.only(index).labels_to_reach(
                    target, n_min=self.fit_labels, n_max=n_max
                )
        loglinear = math.inf
        if self.slope > 1e-6 and target <= self.cap:
            loglinear = max(self.fit_labels, math.exp(min((target - self.intercept) / self.slope, 700.0)))
        out["loglinear"] = loglinear if loglinear <= n_max else math.inf
        return out

    def labels_to_reach(self, target: float, *, n_max: float) -> float:
        """Geometric median of the components' finite crossings; ``inf`` when no component reaches ``target``."""
        return median_crossing(self.crossings(target, n_max=n_max))

    def predict(self, n_labels: _Array | float) -> _Array:
        """Median of the components' scores at ``n_labels`` (the log-linear part held under the cap)."""
        n = np.atleast_1d(np.asarray(n_labels, dtype=np.float64))
        parts = [np.minimum(self.cap, self.intercept + self.slope * np.log(n))]
        if self.model is not None:
            parts += [curve.predict(n) for curve in self.model.curves]
        return np.median(np.vstack(parts), axis=0)


def median_crossing(crossings: dict[str, float]) -> float:
    """Geometric median of the finite values of ``crossings``; ``inf`` when none is finite.

    A component that never reaches the target (a saturating family whose ceiling is under it) is left out
    rather than counted as infinite: the backtest shows the remaining components' median is then still the
    better guess, and the calibration (which saw such cases) widens the interval accordingly.
    """
    values = np.array(list(crossings.values()), dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.inf
    return float(np.exp(np.median(np.log(finite))))


def extrapolate_curve(
    n_labels: Sequence[float] | _Array,
    scores: Sequence[float] | _Array,
    *,
    reference: float | None = None,
    families: Sequence[str] = DEFAULT_FAMILIES,
) -> CurveExtrapolation:
    """Fit the capped families and the late log-linear trend of one (mean) curve.

    ``reference`` is the learner's full-pool score when known: no family's asymptote then exceeds it by
    more than 0.01 (see :func:`score_cap`).
    """
    x, y = _check_curve(n_labels, scores)
    cap = score_cap(x, y, reference=reference)
    slope, intercept = late_slope(x, y)
    fitted = [curve for name in families if (curve := fit_family(name, x, y, cap=cap)) is not None]
    # The components are combined by their median, not by weights; equal weights say so in the model.
    model = (
        LearningCurveModel(
            tuple(fitted),
            tuple(1.0 / len(fitted) for _ in fitted),
            {c.family.name: c.rmse for c in fitted},
            float(x.max()),
        )
        if fitted
        else None
    )
    return CurveExtrapolation(model, cap, slope, intercept, float(x.max()), float(y.max()))


@dataclass(frozen=True)
class LabelsToTarget:
    """How many labels a strategy needs to reach a target, and how sure that is.

    ``inf`` stands for "not reached by ``n_max`` labels". Where the simulated mean curve reaches the target,
    the median is read off the curve and the intervals come from a bootstrap over seeds
    (``calibrated=False``). Beyond the simulated labels, the median and intervals are the calibrated
    extrapolation of :mod:`alsim.budget.calibration` (``calibrated=True``) and ``p_unreachable`` comes from
    its out-of-reach model; ``notes`` then says when the case lies outside what the backtest saw.
    """

    target: float
    median: float
    interval_80: tuple[float, float]
    interval_95: tuple[float, float]
    p_unreachable: float
    p_extrapolated: float
    n_observed_max: float
    model: LearningCurveModel
    samples: _Array
    band_grid: _Array | None = None
    band_80: tuple[_Array, _Array] | None = None
    calibrated: bool = False
    reference_cap: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def extrapolated(self) -> bool:
        """Whether the median estimate lies beyond the labels that were simulated."""
        return bool(self.median > self.n_observed_max)


def observed_crossing(x: _Array, y: _Array, target: float) -> float | None:
    """Labels at which a curve first reaches ``target``, interpolated linearly; ``None`` if it never does."""
    hit = np.nonzero(y >= target)[0]
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(x[0])
    frac = (target - y[i - 1]) / (y[i] - y[i - 1])
    return float(np.ceil(x[i - 1] + frac * (x[i] - x[i - 1])))


def bootstrap_labels_to_target(
    n_labels: Sequence[float] | _Array,
    scores_by_seed: _Array,
    target: float,
    *,
    n_max: float,
    n_boot: int = 200,
    families: Sequence[str] = DEFAULT_FAMILIES,
    band_grid: Sequence[float] | _Array | None = None,
    random_state: int | np.random.Generator | None = None,
    reference: float | None = None,
    calibration: Any = None,
) -> LabelsToTarget:
    """Labels-to-target of a strategy from its curves over seeds, with calibrated intervals.

    Where the mean curve reaches ``target`` within the simulated labels, the crossing is read off the curve
    and its intervals come from resampling the seeds (a replicate that does not reach the target within the
    simulated labels extends its own late log-linear trend). Beyond the simulated labels, the mean curve is
    extrapolated with :func:`extrapolate_curve` and the median, the 80% and 95% intervals and the
    probability of being out of reach come from ``calibration`` (split-conformal, fitted on the project's
    backtest; see :mod:`alsim.budget.calibration`), so the intervals are finite wherever the point
    prediction is.

    Parameters
    ----------
    n_labels : array of shape (n_points,)
        The label counts at which every seed's curve was recorded.
    scores_by_seed : array of shape (n_seeds, n_points)
        The score (accuracy or macro-F1) of each seed at each label count.
    target : float
        The score to reach.
    n_max : float
        The largest label count considered; a target not reached by then counts as unreachable.
    n_boot : int
        Bootstrap replicates over seeds.
    families : sequence of str
        Curve families of the extrapolation (with the log-linear late trend).
    band_grid : array, optional
        Label counts at which to return an 80% band of the curve.
    random_state : int, Generator or None
        Seeds the resampling. Calls with the same seed resample the same seeds in every replicate, so
        the replicates of two strategies (curves of the same seeds) are paired.
    reference : float, optional
        The learner's full-pool score: the fitted ceilings stay at most 0.01 above it.
    calibration : BudgetCalibration, optional
        The calibration table (default: the one shipped with alsim, :func:`alsim.budget.calibration.load_calibration`).
    """
    from alsim.budget.calibration import extrapolation_distance, load_calibration, out_of_reach_features

    x = np.asarray(n_labels, dtype=np.float64)
    scores = np.asarray(scores_by_seed, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != x.size:
        raise InvalidInputError(
            "'scores_by_seed' must have shape (n_seeds, n_points) matching 'n_labels'. "
            f"Got {scores.shape} for {x.size} label counts instead."
        )
    n_boot = check_int(n_boot, "n_boot", "bootstrap_labels_to_target", low=1)
    if n_max < x.max():
        expected = f"at least the largest simulated label count ({x.max():g})"
        raise fail("n_max", "bootstrap_labels_to_target", expected, n_max)
    calib = load_calibration() if calibration is None else calibration
    rng = np.random.default_rng(random_state)
    mean_curve = scores.mean(axis=0)
    extrapolation = extrapolate_curve(x, mean_curve, reference=reference, families=families)
    if extrapolation.model is None:
        raise InvalidInputError(
            "No learning-curve family could be fitted to this curve; it may be flat or too noisy. "
            "Simulate more rounds or more seeds."
        )
    x_max = float(x.max())
    n_seeds = scores.shape[0]
    replicates = scores[rng.integers(0, n_seeds, (n_boot, n_seeds))].mean(axis=1)
    observed = observed_crossing(x, mean_curve, target)
    notes: list[str] = []
    if observed is not None:
        samples = np.array([_replicate_crossing(x, curve, target, n_max) for curve in replicates])
        beyond = np.array([observed_crossing(x, curve, target) is None for curve in replicates])
        median = observed
        interval_80, interval_95 = _interval(samples, 0.80), _interval(samples, 0.95)
        p_unreachable = float(np.mean(np.isinf(samples)))
        p_extrapolated = float(np.mean(beyond))
    else:
        crossings = extrapolation.crossings(target, n_max=n_max)
        predicted = median_crossing(crossings)
        median, interval_80, interval_95 = calib.labels(predicted, x_max)
        median, interval_80, interval_95 = (
            _within(median, n_max),
            (_within(interval_80[0], n_max), _within(interval_80[1], n_max)),
            (_within(interval_95[0], n_max), _within(interval_95[1], n_max)),
        )
        p_unreachable = calib.p_out_of_reach(out_of_reach_features(extrapolation, target, predicted, n_max, crossings))
        p_extrapolated = 1.0
        if math.isfinite(predicted):
            distance = extrapolation_distance(predicted, x_max, calib.floor)
            samples = np.array(
                [_within(max(x_max, predicted * math.exp(r * distance)), n_max) for r in calib.residuals]
            )
            factor = math.log(predicted / x_max)
            if factor > calib.extrapolation_range[1]:
                notes.append(
                    f"The estimate extrapolates {predicted / x_max:.1f} times the simulated labels, beyond the "
                    f"{math.exp(calib.extrapolation_range[1]):.1f} times the backtest calibrated; its interval is "
                    "an extrapolation of the calibration too."
                )
        else:
            samples = np.full(1, math.inf)
        if math.log(n_max / x_max) > calib.horizon_range[1]:
            notes.append(
                f"The out-of-reach probability is for {n_max:,.0f} labels, {n_max / x_max:.0f} times the simulated "
                f"labels; the backtest calibrated it up to {math.exp(calib.horizon_range[1]):.1f} times."
            )
    band = None
    grid = None
    if band_grid is not None:
        grid = np.asarray(band_grid, dtype=np.float64)
        band = _band(grid, x, replicates, extrapolation, calib)
    return LabelsToTarget(
        target=float(target),
        median=float(median),
        interval_80=interval_80,
        interval_95=interval_95,
        p_unreachable=float(p_unreachable),
        p_extrapolated=p_extrapolated,
        n_observed_max=x_max,
        model=extrapolation.model,
        samples=samples,
        band_grid=grid,
        band_80=band,
        calibrated=observed is None,
        reference_cap=extrapolation.cap,
        notes=tuple(notes),
    )


def _within(labels: float, n_max: float) -> float:
    # "Not reached by n_max" is what inf stands for.
    return labels if labels <= n_max else math.inf


def _replicate_crossing(x: _Array, curve: _Array, target: float, n_max: float) -> float:
    """Return a replicate's crossing: read off its curve, or its late log-linear trend extended past it."""
    seen = observed_crossing(x, curve, target)
    if seen is not None:
        return seen
    slope, intercept = late_slope(x, curve)
    if slope <= 1e-6:
        return math.inf
    return _within(max(float(x.max()), math.exp(min((target - intercept) / slope, 700.0))), n_max)


def _band(
    grid: _Array, x: _Array, replicates: _Array, extrapolation: CurveExtrapolation, calibration: Any
) -> tuple[_Array, _Array]:
    """80% band of the curve: seed replicates within the simulated labels, the calibrated interval beyond.

    Beyond them, a score ``y`` needs between ``L(y) * exp(q_lo * s)`` and ``L(y) * exp(q_hi * s)`` labels
    (``L`` the predictor's crossing); at ``n`` labels the band therefore spans the predictor's curve at
    ``n * exp(-q_hi * s)`` and ``n * exp(-q_lo * s)``.
    """
    from alsim.budget.calibration import extrapolation_distance

    x_max = float(x.max())
    inside = np.vstack([np.interp(grid, x, curve) for curve in replicates])
    lower = np.quantile(inside, 0.1, axis=0)
    upper = np.quantile(inside, 0.9, axis=0)
    q_lo, q_hi = calibration.interval_quantiles(0.80)
    beyond = grid > x_max
    if beyond.any():
        n = grid[beyond]
        distance = np.array([extrapolation_distance(v, x_max, calibration.floor) for v in n])
        lower[beyond] = extrapolation.predict(n * np.exp(-q_hi * distance)) if math.isfinite(q_hi) else 0.0
        upper[beyond] = extrapolation.predict(n * np.exp(-q_lo * distance)) if math.isfinite(q_lo) else 1.0
    return lower, upper


def _interval(samples: _Array, level: float) -> tuple[float, float]:
    # inverted_cdf picks actual replicate values, so an interval end is inf exactly when that share of
    # replicates never reached the target (numpy's interpolating methods would return NaN next to inf).
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [tail, 1.0 - tail], method="inverted_cdf")
    return float(lo), float(hi)
