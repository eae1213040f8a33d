"""Parametric learning curves: fit, choose by extrapolation, and invert to labels-to-target.

A learning curve maps the number of labels ``n`` to a quality score ``y`` (accuracy or macro-F1). Budget
estimation needs the curve beyond the labels simulated, so families are judged by how well they
*extrapolate*: each is fitted on the earlier points of a curve and scored on the later points it did not
see, and the families are then averaged with weights from those held-back errors.

Families (``n`` is rescaled to ``t = n / n_scale`` before fitting, which keeps the optimiser well conditioned):

``pow3``
    Inverse power law ``y = a - b * t**(-c)``, the classic three-parameter learning curve (Frey & Fisher
    1999; Figueroa et al. 2012). Asymptote ``a``.
``mmf``
    Morgan-Mercer-Flodin ``y = (a * b + c * t**d) / (b + t**d)``: starts at ``a``, tends to ``c``.
``weibull``
    ``y = a - (a - b) * exp(-(c * t)**d)``: starts at ``b``, tends to ``a``.

MMF and Weibull are the four-parameter families that learning-curve studies find extrapolate best
(Domhan, Springenberg & Hutter 2015; Mohr & van Rijn 2022, "LCDB 1.0").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, brentq, curve_fit

from alsim.exceptions import InvalidInputError, InvalidParameterError

__all__ = [
    "CURVE_FAMILIES",
    "CurveFamily",
    "FittedCurve",
    "LearningCurveModel",
    "fit_family",
    "fit_learning_curve",
]

_Array = np.ndarray


def _pow3(t: _Array, a: float, b: float, c: float) -> _Array:
    return a - b * np.power(t, -c)


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
    starts: Callable[[_Array, _Array], list[tuple[float, ...]]]


def _pow3_starts(t: _Array, y: _Array) -> list[tuple[float, ...]]:
    top = float(min(1.0, y.max() + 0.02))
    span = max(top - float(y.min()), 1e-3)
    return [(top, span * float(t.min()) ** c, c) for c in (0.3, 0.7, 1.5)]


def _mmf_starts(t: _Array, y: _Array) -> list[tuple[float, ...]]:
    top = float(min(1.0, y.max() + 0.02))
    return [(float(y.min()) * 0.9, b, top, d) for b in (0.1, 1.0) for d in (0.7, 1.5)]


def _weibull_starts(t: _Array, y: _Array) -> list[tuple[float, ...]]:
    top = float(min(1.0, y.max() + 0.02))
    return [(top, float(y.min()) * 0.9, c, d) for c in (1.0, 5.0) for d in (0.5, 1.0)]


CURVE_FAMILIES: dict[str, CurveFamily] = {
    family.name: family
    for family in (
        CurveFamily("pow3", _pow3, (0.0, 0.0, 1e-3), (1.0, 10.0, 5.0), 0, _pow3_starts),
        CurveFamily("mmf", _mmf, (0.0, 1e-6, 0.0, 1e-2), (1.0, 1e3, 1.0, 10.0), 2, _mmf_starts),
        CurveFamily("weibull", _weibull, (0.0, 0.0, 1e-4, 1e-2), (1.0, 1.0, 1e3, 10.0), 0, _weibull_starts),
    )
}


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
) -> FittedCurve | None:
    """Least-squares fit of one family; ``None`` when no start converges.

    ``start`` adds one starting point to the family's own (a warm start, e.g. the parameters fitted on the
    full data when refitting a bootstrap replicate).
    """
    fam = CURVE_FAMILIES[family] if isinstance(family, str) else family
    x, y = _check_curve(n_labels, scores)
    scale = float(n_scale if n_scale is not None else x.max())
    t = x / scale
    # A warm start alone usually converges (bootstrap replicates are close to the full fit); the family's
    # own starts are the fallback.
    best = _fit_from_starts(fam, t, y, scale, [start]) if start is not None else None
    if best is None:
        best = _fit_from_starts(fam, t, y, scale, fam.starts(t, y))
    return best


def _fit_from_starts(
    fam: CurveFamily, t: _Array, y: _Array, scale: float, starts: list[tuple[float, ...]]
) -> FittedCurve | None:
    best: FittedCurve | None = None
    for p0 in starts:
        p0_clipped = np.clip(np.asarray(p0, dtype=np.float64), fam.lower, fam.upper)
        try:
            # curve_fit warns when it cannot estimate a covariance, which is never used here.
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(fam.function, t, y, p0=p0_clipped, bounds=(fam.lower, fam.upper), maxfev=2000)
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
    families: Sequence[str] = ("pow3", "mmf", "weibull"),
    holdout: float = 0.3,
    combine: str = "weighted",
    warm_start: LearningCurveModel | None = None,
) -> LearningCurveModel:
    """Fit every family, weigh them by how well they extrapolate, and return the combined model.

    Each family is first fitted on the earliest ``1 - holdout`` share of the points and scored (RMSE) on
    the later points it did not see; then refitted on all points. ``combine="weighted"`` averages the
    families with weights proportional to ``1 / rmse**2`` of that extrapolation; ``combine="best"`` keeps
    only the family that extrapolated best.

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
        raise InvalidParameterError(
            f"The 'families' parameter of fit_learning_curve must be a non-empty list of "
            f"{sorted(CURVE_FAMILIES)}. Got {list(families)!r} instead."
        )
    if not 0.0 < holdout < 1.0:
        raise InvalidParameterError(
            f"The 'holdout' parameter of fit_learning_curve must be a float in (0, 1). Got {holdout!r} instead."
        )
    if combine not in ("weighted", "best"):
        raise InvalidParameterError(
            f"The 'combine' parameter of fit_learning_curve must be one of ['best', 'weighted']. "
            f"Got {combine!r} instead."
        )
    x, y = _check_curve(n_labels, scores)
    warm = {c.family.name: c.params for c in warm_start.curves} if warm_start is not None else {}
    n_fit = max(3, round(x.size * (1.0 - holdout)))
    extrapolation_rmse: dict[str, float] = {}
    fitted: list[FittedCurve] = []
    for name in families:
        full = fit_family(name, x, y, start=warm.get(name))
        if full is None:
            continue
        if n_fit < x.size:
            early = fit_family(name, x[:n_fit], y[:n_fit], n_scale=full.n_scale, start=full.params)
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


@dataclass(frozen=True)
class LabelsToTarget:
    """How many labels a strategy needs to reach a target, with bootstrap intervals over seeds.

    ``inf`` stands for "not reached by ``n_max`` labels": a median of ``inf`` means the target is more
    likely out of reach than not, and ``p_unreachable`` is the share of bootstrap replicates in which the
    fitted curve never reached it.
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
    families: Sequence[str] = ("pow3", "mmf", "weibull"),
    band_grid: Sequence[float] | _Array | None = None,
    random_state: int | np.random.Generator | None = None,
) -> LabelsToTarget:
    """Labels-to-target of a strategy from its curves over seeds, with a seed bootstrap.

    Each replicate resamples the seeds with replacement and averages their curves. Where the mean curve
    reaches ``target`` within the simulated labels, the crossing is read off the curve itself; beyond
    them it is extrapolated with a :func:`fit_learning_curve` model refitted on the replicate, reduced to
    one family drawn with the model's weights.

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
        Bootstrap replicates.
    band_grid : array, optional
        Label counts at which to return an 80% band of the fitted curve over the replicates (each
        replicate then fits a model, also where it reads its crossing off the curve).
    random_state : int, Generator or None
        Seeds the resampling. Calls with the same seed resample the same seeds in every replicate, so
        the replicates of two strategies (curves of the same seeds) are paired.
    """
    x = np.asarray(n_labels, dtype=np.float64)
    scores = np.asarray(scores_by_seed, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != x.size:
        raise InvalidInputError(
            "'scores_by_seed' must have shape (n_seeds, n_points) matching 'n_labels'. "
            f"Got {scores.shape} for {x.size} label counts instead."
        )
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise InvalidParameterError(
            f"The 'n_boot' parameter of bootstrap_labels_to_target must be an int >= 1. Got {n_boot!r} instead."
        )
    if n_max < x.max():
        raise InvalidParameterError(
            f"The 'n_max' parameter of bootstrap_labels_to_target must be at least the largest simulated "
            f"label count ({x.max():g}). Got {n_max!r} instead."
        )
    rng = np.random.default_rng(random_state)
    full_model = fit_learning_curve(x, scores.mean(axis=0), families=families)
    samples = np.empty(n_boot)
    extrapolated = np.zeros(n_boot, dtype=bool)
    n_seeds = scores.shape[0]
    grid = None if band_grid is None else np.asarray(band_grid, dtype=np.float64)
    band_curves = None if grid is None else np.empty((n_boot, grid.size))
    # All resamples are drawn before any family draw, so the same random_state resamples the same seeds
    # whatever the curves look like: replicates of different strategies stay paired.
    resamples = rng.integers(0, n_seeds, (n_boot, n_seeds))
    for b in range(n_boot):
        mean_curve = scores[resamples[b]].mean(axis=0)
        observed = observed_crossing(x, mean_curve, target)
        model = full_model
        if observed is None or band_curves is not None:
            try:
                model = fit_learning_curve(x, mean_curve, families=families, warm_start=full_model)
            except InvalidInputError:
                model = full_model
            # Each replicate extrapolates with one family drawn by its weight, so the intervals carry the
            # families' disagreement as well as the seeds' spread (averaging them would hide it).
            model = model.only(int(rng.choice(len(model.curves), p=model.weights)))
        if band_curves is not None and grid is not None:
            band_curves[b] = model.predict(grid)
        if observed is not None:
            samples[b] = observed
        else:
            extrapolated[b] = True
            samples[b] = model.labels_to_reach(target, n_min=float(x.max()), n_max=n_max)
    return LabelsToTarget(
        target=float(target),
        median=float(np.quantile(samples, 0.5, method="inverted_cdf")),
        interval_80=_interval(samples, 0.80),
        interval_95=_interval(samples, 0.95),
        p_unreachable=float(np.mean(np.isinf(samples))),
        p_extrapolated=float(np.mean(extrapolated)),
        n_observed_max=float(x.max()),
        model=full_model,
        samples=samples,
        band_grid=grid,
        band_80=None
        if band_curves is None
        else (np.quantile(band_curves, 0.1, axis=0), np.quantile(band_curves, 0.9, axis=0)),
    )


def _interval(samples: _Array, level: float) -> tuple[float, float]:
    # inverted_cdf picks actual replicate values, so an interval end is inf exactly when that share of
    # replicates never reached the target (numpy's interpolating methods would return NaN next to inf).
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [tail, 1.0 - tail], method="inverted_cdf")
    return float(lo), float(hi)
