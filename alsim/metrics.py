"""Learning-curve metrics over the long results frame of an experiment grid.

Every function takes the frame returned by :func:`alsim.experiments.load_results` (one row per round of
every finished cell, with the cell columns ``cell_id, dataset, strategy, learner, batch_size, seed,
reference_accuracy``) or the records of one :class:`~alsim.SimulationResult` with those columns added,
and returns a polars DataFrame.

Vocabulary used throughout:

* a *run* is one cell (one seed of one configuration);
* a *configuration* is ``(dataset, learner, batch_size, strategy)``; its seeds are replicates;
* a *context* is ``(dataset, learner, batch_size)``: strategies are only ever compared within one.

Curves are piecewise linear between the rounds a run recorded. Averaging curves over seeds only happens
on the range of labels (or cost) that *every* seed of the configuration covered, so each point of a mean
curve is the mean of the same set of runs; the same rule makes areas under curves comparable between
strategies (see :func:`aulc`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats as sps

from alsim._validation import check_choice, check_fraction, fail
from alsim.exceptions import InvalidDtypeError, InvalidInputError
from alsim.results import CONFIG_COLUMNS, CONTEXT_COLUMNS, REQUIRED_CELL_COLUMNS, check_results

__all__ = [
    "CELL_COLUMNS",
    "CONFIG_COLUMNS",
    "CONTEXT_COLUMNS",
    "METRIC_CHOICES",
    "X_CHOICES",
    "FewSeedsWarning",
    "aulc",
    "deficiency",
    "labels_to_target",
    "learning_curves",
    "savings",
    "summarize_over_seeds",
]

#: Cell columns a results frame must have (the schema and its validation are owned by :mod:`alsim.results`).
CELL_COLUMNS: tuple[str, ...] = REQUIRED_CELL_COLUMNS
METRIC_CHOICES: tuple[str, ...] = ("accuracy", "macro_f1", "balanced_accuracy")
X_CHOICES: tuple[str, ...] = ("n_labeled", "cost")
# Learning curves and AULC may also be drawn against the arrivals of a stream run (alsim.stream).
CURVE_X_CHOICES: tuple[str, ...] = (*X_CHOICES, "examples_seen")


class FewSeedsWarning(UserWarning):
    """A statistic over seeds was asked of a configuration with too few seeds to estimate it."""


# --------------------------------------------------------------------------------------------- validation


def _check_fractions(fractions: Sequence[float], func: str) -> tuple[float, ...]:
    if isinstance(fractions, (int, float)):
        fractions = (fractions,)
    checked = tuple(check_fraction(f, "fractions", func) for f in fractions)
    if not checked:
        raise fail("fractions", func, "at least one float in (0, 1)", tuple(fractions))
    return checked


def _require_accuracy(metric: str, func: str, when: str = "") -> None:
    # The only full-pool reference the results carry is reference_accuracy: comparing a macro-F1 or
    # balanced-accuracy curve with it would mix two metrics.
    if metric != "accuracy":
        expected = f"'accuracy'{when} (the full-pool reference is recorded as reference_accuracy only)"
        raise fail("metric", func, expected, metric)


# ----------------------------------------------------------------------------------------------- curves


@dataclass(frozen=True)
class Run:
    """One cell's curve: its keys and the ``x`` / ``y`` arrays of its rounds (``x`` strictly increasing)."""

    cell_id: str
    config: tuple[object, ...]  # values of CONFIG_COLUMNS
    seed: int
    reference_accuracy: float
    x: np.ndarray
    y: np.ndarray

    @property
    def context(self) -> tuple[object, ...]:
        return self.config[: len(CONTEXT_COLUMNS)]

    @property
    def strategy(self) -> str:
        return str(self.config[-1])


def iter_runs(frame: pl.DataFrame, x: str, y: str) -> Iterator[Run]:
    """Yield every run of a validated frame as a :class:`Run`.

    Rounds sharing an ``x`` value (free labels leave the cumulative cost unchanged) are collapsed to the
    last of them, the model that had seen the most labels for that price.
    """
    grouped = frame.group_by(["cell_id", *CONFIG_COLUMNS, "seed"], maintain_order=True).agg(
        pl.col(x), pl.col(y), pl.col("reference_accuracy").first()
    )
    for row in grouped.iter_rows(named=True):
        xs = np.asarray(row[x], dtype=np.float64)
        ys = np.asarray(row[y], dtype=np.float64)
        if np.any(np.diff(xs) < 0):
            raise InvalidInputError(
                f"The '{x}' column of cell {row['cell_id']!r} decreases from one round to the next; it must "
                f"be cumulative (non-decreasing with 'round')."
            )
        keep = np.append(xs[1:] != xs[:-1], True)
        yield Run(
            cell_id=row["cell_id"],
            config=tuple(row[c] for c in CONFIG_COLUMNS),
            seed=int(row["seed"]),
            reference_accuracy=float(row["reference_accuracy"]),
            x=xs[keep],
            y=ys[keep],
        )


def group_runs(runs: Iterator[Run], key: str) -> dict[tuple[object, ...], list[Run]]:
    """Group runs by ``"config"`` or ``"context"``, in first-seen order."""
    groups: dict[tuple[object, ...], list[Run]] = {}
    for run in runs:
        groups.setdefault(run.config if key == "config" else run.context, []).append(run)
    return groups


def common_range(runs: Sequence[Run], x: str, what: str) -> tuple[float, float]:
    """Return the ``x`` range every run covers: from the latest start to the earliest end."""
    low = max(float(r.x[0]) for r in runs)
    high = min(float(r.x[-1]) for r in runs)
    if low > high:
        raise InvalidInputError(
            f"The runs of {what} share no common range of '{x}': one ends at {high:g} before another "
            f"starts at {low:g}. Curves over seeds cannot be averaged there; check the budgets of those cells."
        )
    return low, high


def curve_grid(runs: Sequence[Run], x: str, what: str) -> np.ndarray:
    """Return the common grid runs are interpolated onto (see :func:`learning_curves`)."""
    low, high = common_range(runs, x, what)
    grid = np.unique(np.concatenate([r.x for r in runs]))
    return grid[(grid >= low) & (grid <= high)]


def t_interval(values: np.ndarray, confidence: float) -> tuple[float, float | None, float | None, float | None]:
    """Mean, sample standard deviation and two-sided Student-t interval of ``values`` along axis 0.

    With fewer than two values the spread is unknown and ``std``/bounds are ``None``. A zero standard
    deviation gives a zero-width interval (scipy's ``t.interval`` would answer NaN there).
    """
    n = values.shape[0]
    mean = values.mean(axis=0)
    if n < 2:
        return mean, None, None, None
    std = values.std(axis=0, ddof=1)
    half = sps.t.ppf(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def _warn_few_seeds(configs: list[tuple[object, ...]], func: str) -> None:
    if configs:
        warnings.warn(
            f"{func}: {len(configs)} configuration(s) have a single seed, e.g. "
            f"{dict(zip(CONFIG_COLUMNS, configs[0], strict=True))}; their standard deviation and confidence "
            f"bounds are null. Run at least 2 seeds (published benchmarks use 10 or more).",
            FewSeedsWarning,
            stacklevel=3,
        )


def learning_curves(
    results: pl.DataFrame,
    *,
    x: str = "n_labeled",
    metric: str = "accuracy",
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Mean learning curve of every configuration with a confidence band over seeds.

    Each run's curve is linearly interpolated onto a grid shared by the seeds of its configuration, and
    the seeds are averaged point by point. The grid spans only the range every seed covered (from the
    latest first point to the earliest last point), so each mean is over the same runs:

    the grid is the union of the ``x`` values (label counts or cumulative costs) the seeds recorded
    inside that range. When seeds share their rounds, as label counts do with a fixed batch size, no value
    is interpolated; costs that differ between seeds are interpolated at each other's rounds. Points are
    thus only ever where some run actually retrained, which keeps the "labels (cost) to target" read off
    these curves on bought batches rather than between them.

    The band is the two-sided Student-t interval ``mean +/- t_{(1+confidence)/2, n-1} * s / sqrt(n)`` over
    the ``n`` seeds. Configurations with a single seed get null ``std``, ``ci_low`` and ``ci_high`` and a
    :class:`FewSeedsWarning`.

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame (see module docstring).
    x : {"n_labeled", "cost", "examples_seen"}, default="n_labeled"
        Horizontal axis: labels bought, cumulative labeling cost, or (stream runs) examples seen.
    metric : {"accuracy", "macro_f1", "balanced_accuracy"}, default="accuracy"
        Test-split metric on the vertical axis.
    confidence : float in (0, 1), default=0.95
        Coverage of the confidence band.

    Returns
    -------
    polars.DataFrame
        One row per configuration and grid point: ``dataset, learner, batch_size, strategy, <x>, mean,
        std, ci_low, ci_high, n_seeds``.

    Examples
    --------
    >>> curves = learning_curves(results, x="cost")  # doctest: +SKIP
    >>> curves.filter(pl.col("strategy") == "margin").select("cost", "mean", "ci_low", "ci_high")  # doctest: +SKIP
    """
    func = "learning_curves"
    check_choice(x, "x", func, CURVE_X_CHOICES)
    check_choice(metric, "metric", func, METRIC_CHOICES)
    confidence = check_fraction(confidence, "confidence", func)
    frame = check_results(results, func, signals=(x, metric))
    pieces: list[pl.DataFrame] = []
    single_seed: list[tuple[object, ...]] = []
    for config, runs in group_runs(iter_runs(frame, x, metric), "config").items():
        what = _describe(CONFIG_COLUMNS, config)
        grid = curve_grid(runs, x, what)
        values = np.vstack([np.interp(grid, r.x, r.y) for r in runs])
        mean, std, low, high = t_interval(values, confidence)
        if std is None:
            single_seed.append(config)
        n = len(grid)
        piece: dict[str, object] = {c: [v] * n for c, v in zip(CONFIG_COLUMNS, config, strict=True)}
        piece |= {
            x: grid,
            "mean": mean,
            "std": std if std is not None else [None] * n,
            "ci_low": low if low is not None else [None] * n,
            "ci_high": high if high is not None else [None] * n,
            "n_seeds": [len(runs)] * n,
        }
        pieces.append(pl.DataFrame(piece, schema_overrides=_CURVE_SCHEMA | {x: pl.Float64}))
    _warn_few_seeds(single_seed, func)
    return _with_config_dtypes(pl.concat(pieces), frame).sort([*CONFIG_COLUMNS, x])


_CURVE_SCHEMA = {
    "mean": pl.Float64,
    "std": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_seeds": pl.Int64,
}


def _describe(columns: Sequence[str], values: Sequence[object]) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in zip(columns, values, strict=True))


def _with_config_dtypes(out: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Give the key columns of ``out`` the dtypes they have in the input frame."""
    casts = [pl.col(c).cast(frame.schema[c]) for c in (*CONFIG_COLUMNS, "seed", "cell_id") if c in out.columns]
    return out.with_columns(casts)


# ----------------------------------------------------------------------------------------------- AULC


def _area(run: Run, low: float, high: float) -> float:
    """Trapezoid area under the run's piecewise-linear curve between ``low`` and ``high``."""
    inside = (run.x > low) & (run.x < high)
    xs = np.concatenate([[low], run.x[inside], [high]])
    ys = np.interp(xs, run.x, run.y)
    return float(np.trapezoid(ys, xs))


def aulc(
    results: pl.DataFrame,
    *,
    metric: str = "accuracy",
    x: str = "n_labeled",
    relative_to_reference: bool = False,
) -> pl.DataFrame:
    """Normalised area under the learning curve of every run.

    The area is the trapezoid integral of the run's piecewise-linear curve over ``[x_low, x_high]``,
    divided by ``x_high - x_low``: the curve's mean height over that range, in the metric's own units
    (0-1 for accuracy), so datasets with different budgets are comparable. ``[x_low, x_high]`` is the range
    covered by *every* run of the context (all strategies and seeds of one dataset, learner and batch
    size): from the latest first point to the earliest last point. Strategies are thus judged on the same
    labels; a run that stopped early cannot gain from it.

    With ``relative_to_reference=True`` the area is divided by the run's ``reference_accuracy`` (the
    learner trained on the whole pool), so 1.0 means "as good as labeling everything" throughout.

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame.
    metric : {"accuracy", "macro_f1", "balanced_accuracy"}, default="accuracy"
    x : {"n_labeled", "cost", "examples_seen"}, default="n_labeled"
        Integrate over labels or over cumulative cost.
    relative_to_reference : bool, default=False
        Divide by ``reference_accuracy``; only with ``metric="accuracy"``.

    Returns
    -------
    polars.DataFrame
        One row per run: ``cell_id, dataset, learner, batch_size, strategy, seed, reference_accuracy,
        x_low, x_high, aulc``.

    Examples
    --------
    >>> per_run = aulc(results)  # doctest: +SKIP
    >>> summarize_over_seeds(per_run, "aulc")  # doctest: +SKIP
    """
    func = "aulc"
    check_choice(x, "x", func, CURVE_X_CHOICES)
    check_choice(metric, "metric", func, METRIC_CHOICES)
    if relative_to_reference:
        _require_accuracy(metric, func, " with relative_to_reference=True")
    frame = check_results(results, func, signals=(x, metric))
    rows = []
    for context, runs in group_runs(iter_runs(frame, x, metric), "context").items():
        what = _describe(CONTEXT_COLUMNS, context)
        low, high = common_range(runs, x, what)
        if high <= low:
            raise InvalidInputError(
                f"The area under the learning curve needs a range of '{x}', but the runs of {what} only "
                f"share {x}={low:g}. Run more rounds (a larger label budget) for those cells."
            )
        for run in runs:
            area = _area(run, low, high) / (high - low)
            if relative_to_reference:
                if run.reference_accuracy <= 0:
                    raise InvalidInputError(
                        f"Cell {run.cell_id!r} has reference_accuracy {run.reference_accuracy:g}; the AULC "
                        f"relative to it needs a positive value. Use relative_to_reference=False."
                    )
                area /= run.reference_accuracy
            rows.append((run.cell_id, *run.config, run.seed, run.reference_accuracy, low, high, area))
    out = pl.DataFrame(
        rows,
        schema=["cell_id", *CONFIG_COLUMNS, "seed", "reference_accuracy", "x_low", "x_high", "aulc"],
        orient="row",
    )
    return _with_config_dtypes(out, frame).sort([*CONFIG_COLUMNS, "seed"])


def summarize_over_seeds(per_run: pl.DataFrame, value: str, *, confidence: float = 0.95) -> pl.DataFrame:
    """Mean, standard deviation and t-interval of a per-run column over the seeds of each configuration.

    Parameters
    ----------
    per_run : polars.DataFrame
        A frame with the configuration columns and one row per run, such as :func:`aulc`'s output.
    value : str
        The column to summarise.
    confidence : float in (0, 1), default=0.95

    Returns
    -------
    polars.DataFrame
        ``dataset, learner, batch_size, strategy, mean, std, ci_low, ci_high, n_seeds``; ``std`` and the
        bounds are null (with a :class:`FewSeedsWarning`) for single-seed configurations.

    Examples
    --------
    >>> summarize_over_seeds(aulc(results), "aulc")  # doctest: +SKIP
    """
    func = "summarize_over_seeds"
    confidence = check_fraction(confidence, "confidence", func)
    if not isinstance(per_run, pl.DataFrame):
        raise InvalidDtypeError(
            f"The 'per_run' argument of {func} must be a polars.DataFrame. Got {type(per_run).__name__} instead."
        )
    missing = [c for c in (*CONFIG_COLUMNS, value) if c not in per_run.columns]
    if missing:
        raise InvalidInputError(f"The 'per_run' frame given to {func} lacks the columns {missing}.")
    rows = []
    single_seed = []
    for config, group in per_run.group_by(list(CONFIG_COLUMNS), maintain_order=True):
        values = group.get_column(value).drop_nulls().to_numpy().astype(np.float64)
        if values.size == 0:
            rows.append((*config, None, None, None, None, 0))
            continue
        mean, std, low, high = t_interval(values, confidence)
        if std is None:
            single_seed.append(config)
        rows.append((*config, float(mean), _opt(std), _opt(low), _opt(high), int(values.size)))
    _warn_few_seeds(single_seed, func)
    out = pl.DataFrame(
        rows,
        schema={
            **{c: per_run.schema[c] for c in CONFIG_COLUMNS},
            **_CURVE_SCHEMA,
        },
        orient="row",
    )
    return out.sort(list(CONFIG_COLUMNS))


def _opt(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- labels to target


def labels_to_target(
    results: pl.DataFrame,
    *,
    fractions: Sequence[float] = (0.95, 0.99),
    metric: str = "accuracy",
) -> pl.DataFrame:
    """Labels and cost each run spent before first reaching a share of the full-pool accuracy.

    The target of a run is ``fraction * reference_accuracy`` (the learner trained on the whole pool, same
    split and seed). The answer is the ``n_labeled`` and cumulative ``cost`` of the first recorded round
    whose ``metric`` is at least the target: labels actually bought, never interpolated. A run that never
    reaches the target within its budget has ``reached=False`` and null ``labels_to_target`` and
    ``cost_to_target``: it is unknown, not infinite.

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame.
    fractions : sequence of float in (0, 1), default=(0.95, 0.99)
    metric : {"accuracy"}, default="accuracy"
        Only accuracy has a full-pool reference in the results.

    Returns
    -------
    polars.DataFrame
        One row per run and fraction: ``cell_id, dataset, learner, batch_size, strategy, seed, fraction,
        target, reached, labels_to_target, cost_to_target``.

    Examples
    --------
    >>> labels_to_target(results, fractions=[0.95]).filter(~pl.col("reached"))  # doctest: +SKIP
    """
    func = "labels_to_target"
    fractions = _check_fractions(fractions, func)
    check_choice(metric, "metric", func, METRIC_CHOICES)
    _require_accuracy(metric, func)
    frame = check_results(results, func, signals=("n_labeled", "cost", metric))
    keys = ["cell_id", *CONFIG_COLUMNS, "seed"]
    pieces = []
    for fraction in fractions:
        target = pl.lit(fraction) * pl.col("reference_accuracy")
        first_hit = (
            frame.filter(pl.col(metric) >= target)
            .group_by(keys)
            .agg(
                pl.col("n_labeled").first().alias("labels_to_target"),
                pl.col("cost").first().alias("cost_to_target"),
            )
        )
        runs = frame.group_by(keys, maintain_order=True).agg(
            (pl.lit(fraction) * pl.col("reference_accuracy").first()).alias("target")
        )
        pieces.append(
            runs.join(first_hit, on=keys, how="left", nulls_equal=True)
            .with_columns(
                pl.lit(fraction).alias("fraction"),
                pl.col("labels_to_target").is_not_null().alias("reached"),
            )
            .select(*keys, "fraction", "target", "reached", "labels_to_target", "cost_to_target")
        )
    return (
        pl.concat(pieces)
        .with_columns(pl.col("labels_to_target").cast(pl.Int64), pl.col("cost_to_target").cast(pl.Float64))
        .sort([*CONFIG_COLUMNS, "seed", "fraction"])
    )


# -------------------------------------------------------------------------------- comparisons to random


def require_baseline(frame: pl.DataFrame, baseline: str, func: str) -> None:
    """Raise unless every context of ``frame`` ran the ``baseline`` strategy."""
    if not isinstance(baseline, str):
        raise fail("baseline", func, "a strategy name (str)", baseline)
    contexts = frame.select(CONTEXT_COLUMNS).unique()
    with_baseline = frame.filter(pl.col("strategy") == baseline).select(CONTEXT_COLUMNS).unique()
    lacking = contexts.join(with_baseline, on=list(CONTEXT_COLUMNS), how="anti", nulls_equal=True)
    if lacking.height:
        strategies = sorted(frame.get_column("strategy").unique().to_list())
        raise InvalidInputError(
            f"{func} compares every strategy with the baseline strategy {baseline!r}, which is missing "
            f"from {lacking.height} of {contexts.height} (dataset, learner, batch_size) contexts, e.g. "
            f"{lacking.row(0, named=True)}. Add {baseline!r} to the experiment's strategies, or pass "
            f"baseline= one of the strategies present: {strategies}."
        )


def _mean_reference(frame: pl.DataFrame, keys: Sequence[str]) -> dict[tuple[object, ...], float]:
    """Return the mean ``reference_accuracy`` over the cells of each ``keys`` group.

    One value per cell: a mean over record rows would weight each seed by its number of rounds.
    """
    per_cell = frame.unique("cell_id", keep="first", maintain_order=True)
    means = per_cell.group_by(list(keys)).agg(pl.col("reference_accuracy").mean())
    return {tuple(r[:-1]): r[-1] for r in means.iter_rows()}


def _first_reach(grid: np.ndarray, mean: np.ndarray, target: float) -> float | None:
    hits = np.flatnonzero(mean >= target)
    return float(grid[hits[0]]) if hits.size else None


def _saving_pct(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base <= 0:
        return None
    return 100.0 * (base - value) / base


def savings(
    results: pl.DataFrame,
    *,
    baseline: str = "random",
    fractions: Sequence[float] = (0.95, 0.99),
    metric: str = "accuracy",
) -> pl.DataFrame:
    """Labels and cost saved against a baseline strategy to reach a share of the full-pool accuracy.

    For every configuration the target is ``fraction`` times its mean ``reference_accuracy`` over seeds.
    The labels (cost) to reach it are read off the configuration's *mean* learning curve against labels
    (cost) from :func:`learning_curves`: the first grid point where the mean reaches the target. The
    saving is ``100 * (baseline - strategy) / baseline`` percent: positive means fewer labels (less cost)
    than the baseline, negative means more. It is null when either curve never reaches the target within
    the budget; the ``reached_*`` / ``baseline_reached_*`` columns tell which. (The cost curve covers the
    cost range all seeds reached, which can end before the label range does, so the label and cost
    answers can differ in whether the target was reached.)

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame; every (dataset, learner, batch_size) must include ``baseline``.
    baseline : str, default="random"
    fractions : sequence of float in (0, 1), default=(0.95, 0.99)
    metric : {"accuracy"}, default="accuracy"
        Only accuracy has a full-pool reference in the results.

    Returns
    -------
    polars.DataFrame
        One row per configuration and fraction: ``dataset, learner, batch_size, strategy, fraction,
        target, reached_labels, baseline_reached_labels, reached_cost, baseline_reached_cost, labels_to_target,
        baseline_labels_to_target, label_savings_pct, cost_to_target, baseline_cost_to_target, cost_savings_pct``.

    Examples
    --------
    >>> savings(results).filter(pl.col("fraction") == 0.95)  # doctest: +SKIP
    """
    func = "savings"
    fractions = _check_fractions(fractions, func)
    check_choice(metric, "metric", func, METRIC_CHOICES)
    _require_accuracy(metric, func)
    frame = check_results(results, func, signals=("n_labeled", "cost", metric))
    require_baseline(frame, baseline, func)
    reference_of = _mean_reference(frame, CONFIG_COLUMNS)
    curves = {}
    with warnings.catch_warnings():
        # Single-seed warnings concern bands, which savings do not use.
        warnings.simplefilter("ignore", FewSeedsWarning)
        for axis in X_CHOICES:
            table = learning_curves(frame, x=axis, metric=metric)
            for config, group in table.group_by(list(CONFIG_COLUMNS), maintain_order=True):
                curves[(axis, config)] = (
                    group.get_column(axis).to_numpy(),
                    group.get_column("mean").to_numpy(),
                )
    rows = []
    configs = list(dict.fromkeys(c for (_, c) in curves))
    for config in configs:
        context = config[:-1]
        base_config = (*context, baseline)
        for fraction in fractions:
            target = fraction * reference_of[config]
            reached = {}
            for axis in X_CHOICES:
                reached[axis] = _first_reach(*curves[(axis, config)], target)
                reached["base_" + axis] = _first_reach(*curves[(axis, base_config)], target)
            rows.append(
                (
                    *config,
                    fraction,
                    target,
                    reached["n_labeled"] is not None,
                    reached["base_n_labeled"] is not None,
                    reached["cost"] is not None,
                    reached["base_cost"] is not None,
                    reached["n_labeled"],
                    reached["base_n_labeled"],
                    _saving_pct(reached["n_labeled"], reached["base_n_labeled"]),
                    reached["cost"],
                    reached["base_cost"],
                    _saving_pct(reached["cost"], reached["base_cost"]),
                )
            )
    out = pl.DataFrame(
        rows,
        schema={
            **{c: frame.schema[c] for c in CONFIG_COLUMNS},
            "fraction": pl.Float64,
            "target": pl.Float64,
            "reached_labels": pl.Boolean,
            "baseline_reached_labels": pl.Boolean,
            "reached_cost": pl.Boolean,
            "baseline_reached_cost": pl.Boolean,
            "labels_to_target": pl.Float64,
            "baseline_labels_to_target": pl.Float64,
            "label_savings_pct": pl.Float64,
            "cost_to_target": pl.Float64,
            "baseline_cost_to_target": pl.Float64,
            "cost_savings_pct": pl.Float64,
        },
        orient="row",
    )
    return out.with_columns(pl.col("labels_to_target", "baseline_labels_to_target").cast(pl.Int64)).sort(
        [*CONFIG_COLUMNS, "fraction"]
    )


def deficiency(
    results: pl.DataFrame,
    *,
    baseline: str = "random",
    metric: str = "accuracy",
) -> pl.DataFrame:
    """Deficiency of every strategy relative to a baseline (Baram, El-Yaniv & Luz, 2004).

    Baram, El-Yaniv and Luz, "Online Choice of Active Learning Algorithms", JMLR 5 (2004), define the
    deficiency of a learner ``A`` against random sampling ``R`` as::

        Def(A) = sum_t (acc_max - acc_t(A)) / sum_t (acc_max - acc_t(R))

    where ``acc_max`` is the accuracy reached with the whole pool labeled (their random learner after
    exhausting the pool) and ``t`` runs over the training-set sizes of the learning curves. Here
    ``acc_max`` is the configuration's mean ``reference_accuracy``, ``acc_t`` are the mean curves over
    seeds (:func:`learning_curves` against labels), and ``t`` runs over the label counts both curves
    cover (the union of their grids inside their common range). ``Def < 1`` means the strategy closes the
    gap to full-pool accuracy faster than the baseline, ``Def > 1`` slower; the baseline itself scores 1.
    When the baseline's curve never falls below ``acc_max`` the ratio is undefined: ``deficiency`` is
    null and a warning says so.

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame; every (dataset, learner, batch_size) must include ``baseline``.
    baseline : str, default="random"
    metric : {"accuracy"}, default="accuracy"
        Only accuracy has a full-pool reference in the results.

    Returns
    -------
    polars.DataFrame
        One row per configuration: ``dataset, learner, batch_size, strategy, acc_max, n_points,
        deficiency``.

    Examples
    --------
    >>> deficiency(results).sort("deficiency")  # doctest: +SKIP
    """
    func = "deficiency"
    check_choice(metric, "metric", func, METRIC_CHOICES)
    _require_accuracy(metric, func)
    frame = check_results(results, func, signals=("n_labeled", metric))
    require_baseline(frame, baseline, func)
    acc_max_of = _mean_reference(frame, CONTEXT_COLUMNS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewSeedsWarning)
        table = learning_curves(frame, x="n_labeled", metric=metric)
    curves = {
        config: (g.get_column("n_labeled").to_numpy(), g.get_column("mean").to_numpy())
        for config, g in table.group_by(list(CONFIG_COLUMNS), maintain_order=True)
    }
    rows = []
    undefined = []
    for config, (xs, ys) in curves.items():
        context = config[:-1]
        base_x, base_y = curves[(*context, baseline)]
        low, high = max(xs[0], base_x[0]), min(xs[-1], base_x[-1])
        grid = np.union1d(xs, base_x)
        grid = grid[(grid >= low) & (grid <= high)]
        acc_max = acc_max_of[context]
        gap = float(np.sum(acc_max - np.interp(grid, xs, ys)))
        base_gap = float(np.sum(acc_max - np.interp(grid, base_x, base_y)))
        if grid.size == 0 or base_gap <= 0:
            undefined.append(config)
            value = None
        else:
            value = gap / base_gap
        rows.append((*config, acc_max, int(grid.size), value))
    if undefined:
        warnings.warn(
            f"deficiency is undefined (null) for {len(undefined)} configuration(s), e.g. "
            f"{_describe(CONFIG_COLUMNS, undefined[0])}: the baseline {baseline!r} never falls short of "
            f"the full-pool accuracy on their common label range, so there is no gap to compare against.",
            UserWarning,
            stacklevel=2,
        )
    return pl.DataFrame(
        rows,
        schema={
            **{c: frame.schema[c] for c in CONFIG_COLUMNS},
            "acc_max": pl.Float64,
            "n_points": pl.Int64,
            "deficiency": pl.Float64,
        },
        orient="row",
    ).sort(list(CONFIG_COLUMNS))
