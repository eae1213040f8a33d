"""Labeling-budget estimation: how many labels, and how much money, to reach a target, and how sure is that.

The team's labeled rows (or an OpenML dataset standing in for their data) are replayed with every candidate
strategy over several seeds through the grid runner; each strategy's learning curve is extrapolated with
:mod:`alsim.budget.curves` and bootstrapped over seeds; the stopping rules are scored on the same runs.

:func:`estimate_budget` reads as its steps: validate the parameters, prepare the data, simulate the grid,
estimate labels and money per strategy, recommend one, warn about a trivial target, score the stopping rules.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import numbers
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from alsim._messages import on_command_line, option_name
from alsim._output import check_output_dir
from alsim._validation import check_choice, check_fraction, check_int, check_real, fail, subject
from alsim.budget.answer import BudgetEstimate, StrategyEstimate
from alsim.budget.curves import LabelsToTarget, bootstrap_labels_to_target
from alsim.exceptions import DatasetError, InvalidParameterError

__all__ = ["DEFAULT_STRATEGIES", "BudgetEstimate", "StrategyEstimate", "estimate_budget", "labels_to_target_table"]

#: Candidates compared by default: the random baseline, the three uncertainty measures, a diversity-only
#: strategy and an uncertainty-then-diversity hybrid.
DEFAULT_STRATEGIES: tuple[str, ...] = ("random", "margin", "entropy", "least_confidence", "coreset", "margin_kcenter")

Metric = Literal["accuracy", "macro_f1"]

_OWNER = "estimate_budget"

# The flag of each parameter on ``alsim budget``: messages name the option the way the user set it.
_FLAGS = {
    "target": "--target",
    "label": "--label",
    "relative": "--relative",
    "metric": "--metric",
    "cost_per_label": "--cost-per-label",
    "cost_column": "--cost-column",
    "ignore": "--ignore",
    "predictions": "--predictions",
    "cost_per_error": "--cost-per-error",
    "strategies": "--strategies",
    "learner": "--learner",
    "n_seeds": "--seeds",
    "batch_size": "--batch-size",
    "test_size": "--test-size",
    "max_labels": "--max-labels",
    "n_boot": "--bootstrap",
    "out_dir": "--out",
    "jobs": "--jobs",
}


def _subject(parameter: str) -> str:
    """``"--max-labels"`` on the command line, ``"The 'max_labels' parameter of estimate_budget"`` in Python."""
    return subject(parameter, _OWNER, _FLAGS[parameter])


def _setting(parameter: str, value: object = None) -> str:
    """How to set an option: ``"--cost-per-error 5"`` on the command line, ``"cost_per_error=5"`` in Python."""
    if on_command_line():
        return _FLAGS[parameter] if value is None else f"{_FLAGS[parameter]} {value}"
    return parameter if value is None else f"{parameter}={value!r}"


# ---------------------------------------------------------------------------------------------------------
# Step 1: validate
# ---------------------------------------------------------------------------------------------------------
def _check_parameters(
    *,
    target: Any,
    relative: bool,
    metric: Any,
    cost_per_label: Any,
    predictions: Any,
    cost_per_error: Any,
    strategies: Sequence[str],
    learner: Any,
    n_seeds: Any,
    batch_size: Any,
    test_size: Any,
    max_labels: Any,
    n_boot: Any,
    jobs: Any,
) -> list[str]:
    """Check every parameter that needs no data; return the candidate strategies (random first)."""
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0.0 < target <= 1.0:
        relative_setting = _setting("relative", True if not on_command_line() else None)
        expected = (
            f"a number in (0, 1] (an accuracy or macro-F1, or with {relative_setting} a share of the full-pool "
            "accuracy)"
        )
        raise fail("target", _OWNER, expected, target, flag=_FLAGS["target"])
    check_choice(metric, "metric", _OWNER, ("accuracy", "macro_f1"), flag=_FLAGS["metric"])
    if relative and metric != "accuracy":
        raise InvalidParameterError(
            f"{_subject('relative')} needs {_setting('metric', 'accuracy')}: the full-pool reference is an "
            f"accuracy. Got {_setting('metric', metric)}."
        )
    check_real(cost_per_label, "cost_per_label", _OWNER, low=0.0, low_open=True, flag=_FLAGS["cost_per_label"])
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, numbers.Integral) or n_seeds < 2:
        expected = "an int >= 2 (intervals come from resampling seeds)"
        raise fail("n_seeds", _OWNER, expected, n_seeds, flag=_FLAGS["n_seeds"])
    check_int(n_boot, "n_boot", _OWNER, low=1, flag=_FLAGS["n_boot"])
    check_fraction(test_size, "test_size", _OWNER, flag=_FLAGS["test_size"])
    for name, value in (("max_labels", max_labels), ("batch_size", batch_size), ("jobs", jobs)):
        check_int(value, name, _OWNER, low=1, allow_none=True, flag=_FLAGS[name])
    for name, value in (("predictions", predictions), ("cost_per_error", cost_per_error)):
        check_real(value, name, _OWNER, low=0.0, low_open=True, allow_none=True, flag=_FLAGS[name])
    if not isinstance(learner, str):
        raise fail("learner", _OWNER, "a learner name", learner, flag=_FLAGS["learner"])
    if isinstance(strategies, str) or not all(isinstance(s, str) for s in strategies):
        raise fail("strategies", _OWNER, "a list of strategy names", strategies, flag=_FLAGS["strategies"])
    candidates = list(dict.fromkeys(["random", *strategies]))
    from alsim.strategies import available_strategies, make_strategy

    for name in candidates:
        try:
            make_strategy(name)
        except InvalidParameterError:
            raise InvalidParameterError(
                f"{_subject('strategies')} names an unknown strategy {name!r}: use names of "
                f"{sorted(available_strategies())}, optionally prefixed by 'cost_' (selects by score per unit of "
                "labeling cost) or 'epsilon_'."
            ) from None
    return candidates


# ---------------------------------------------------------------------------------------------------------
# Step 2: prepare the data
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _PreparedData:
    """The data as the grid reads it, with what the estimate needs to know about it."""

    dataset_entry: str | dict[str, str]  # a grid dataset: "openml:<id>" or {"spec": file, "label": column}
    n_available: int  # labeled rows
    majority_class_rate: float  # share of the most frequent class among the labeled rows
    n_classes: int
    row_costs: np.ndarray | None  # per labeled row, in the order of the prepared file; None: constant cost


def _prepare_data(
    data: str | os.PathLike[str],
    label: str | None,
    cost_column: str | None,
    work_dir: Path,
    ignore: Sequence[str] = (),
) -> _PreparedData:
    """Resolve the data to a grid dataset; a team's file is reduced to its labeled rows, costs kept apart.

    The prepared file's name carries a fingerprint of its rows and of the per-row costs, so runs resumed in
    the same directory never mix simulations of other data or other costs (the grid refuses mixed cells).
    """
    from alsim.datasets import load_dataset

    spec = os.fspath(data)
    if spec.startswith("openml:"):
        if cost_column is not None:
            raise InvalidParameterError(
                f"{_subject('cost_column')} needs a table file (CSV, parquet or ARFF); {spec!r} has no per-row "
                f"costs. Give a constant {_setting('cost_per_label')} instead."
            )
        dataset = load_dataset(spec, label=label, ignore=ignore)
        return _PreparedData(spec, dataset.n_samples, *_class_shares(dataset.target), None)
    if label is None:
        raise InvalidParameterError(
            f"{_subject('label')} is required for a table file: name the column that holds the labels (rows "
            "where it is empty count as unlabeled)."
        )
    with warnings.catch_warnings():
        # load_dataset warns that it drops unlabeled rows; for a budget that is the documented behaviour.
        # Its other warnings (identifiers, stray text in numbers...) are about the team's data: they show.
        warnings.filterwarnings("ignore", message=".*dropping .* rows whose label", category=UserWarning)
        if cost_column is not None:  # read below as the costs, then dropped: not a feature
            warnings.filterwarnings(
                "ignore", message=f".*column {re.escape(repr(cost_column))} looks like a labelling cost"
            )
        dataset = load_dataset(spec, label=label, ignore=ignore)
    frame = dataset.features.copy()
    row_costs = None
    if cost_column is not None:
        row_costs = _row_costs(frame, spec, cost_column)
        frame = frame.drop(columns=[cost_column])
    frame[dataset.label] = dataset.target
    fingerprint = hashlib.sha256()
    import pandas as pd

    fingerprint.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    fingerprint.update(",".join(map(str, frame.columns)).encode())
    if row_costs is not None:
        fingerprint.update(row_costs.tobytes())
    # The grid reads datasets from files; store the labeled rows (cost column dropped) once.
    prepared = work_dir / f"labeled_rows-{fingerprint.hexdigest()[:12]}.parquet"
    if not prepared.exists():
        frame.to_parquet(prepared, index=False)
    entry = {"spec": str(prepared), "label": dataset.label}
    return _PreparedData(entry, dataset.n_samples, *_class_shares(dataset.target), row_costs)


def _class_shares(target: np.ndarray) -> tuple[float, int]:
    _, counts = np.unique(np.asarray(target, dtype=object).astype(str), return_counts=True)
    return float(counts.max() / counts.sum()), int(counts.size)


def _row_costs(features: Any, spec: str, cost_column: str) -> np.ndarray:
    if cost_column not in features.columns:
        raise DatasetError(
            f"The cost column {cost_column!r} ({_setting('cost_column', cost_column)}) is not in {spec!r}. "
            f"Columns: {sorted(map(str, features.columns))}."
        )
    costs = np.asarray(features[cost_column], dtype=np.float64)
    if not np.all(np.isfinite(costs)) or np.any(costs <= 0):
        raise DatasetError(
            f"The cost column {cost_column!r} of {spec!r} must hold positive numbers on every labeled row."
        )
    return np.ascontiguousarray(costs)


@contextlib.contextmanager
def _work_directory(out_dir: str | os.PathLike[str] | None) -> Iterator[Path]:
    """``out_dir`` checked as writable, or a temporary directory removed afterwards."""
    if out_dir is not None:
        yield check_output_dir(out_dir, who=option_name("out_dir", "--out", "estimate_budget"))
        return
    with tempfile.TemporaryDirectory(prefix="alsim-budget-") as temporary:
        yield Path(temporary)


# ---------------------------------------------------------------------------------------------------------
# Step 3: simulate
# ---------------------------------------------------------------------------------------------------------
def simulate_with_row_costs(dataset: Any, *, row_costs: np.ndarray, test_size: float, **kwargs: Any) -> Any:
    """:func:`alsim.simulate` with each pool example charged its own labeling cost.

    ``row_costs`` holds one cost per row of ``dataset``; the split is the one ``simulate`` would draw for the
    run's seed, and its ``pool_rows`` carry the costs to the pool (the oracle's ``row_costs``), so the
    recorded ``cost`` is the real sum of the chosen rows' costs and cost-aware strategies (``cost_<base>``)
    see them through the session's cost model. The grid runner calls it once per cell.
    """
    from alsim.datasets import split_dataset
    from alsim.loop import simulate

    costs = np.asarray(row_costs, dtype=np.float64)
    if costs.shape != (dataset.n_samples,):
        raise DatasetError(
            f"{costs.size} row costs were given for the {dataset.n_samples} rows of {dataset.spec!r}; give one "
            "cost per row."
        )
    split = split_dataset(dataset, test_size=test_size, random_state=kwargs["random_state"])
    oracle = {**dict(kwargs.pop("oracle", None) or {}), "row_costs": costs[split.pool_rows]}
    return simulate(split, oracle=oracle, **kwargs)


def _simulate(
    prepared: _PreparedData,
    *,
    data: str | os.PathLike[str],
    candidates: Sequence[str],
    learner: str,
    batch_size: int,
    n_seeds: int,
    test_size: float,
    runs_dir: Path,
    jobs: int | None,
    progress: bool,
) -> pl.DataFrame:
    """Run the grid (candidates x seeds) into ``runs_dir`` (resumable) and return its long results frame."""
    from alsim.experiments import load_results, parse_config, run_experiment

    config = parse_config(
        {
            "name": "budget",
            "description": f"Labeling-budget estimate for {os.fspath(data)}",
            "datasets": [prepared.dataset_entry],
            "strategies": list(candidates),
            "learners": [learner],
            "batch_sizes": [int(batch_size)],
            "n_seeds": int(n_seeds),
            "test_size": float(test_size),
            "oracle": {"cost": 1.0},
            # Lets the practitioners' marginal-gain rule be scored with the others.
            "record_cv": True,
        },
        source="budget grid",
    )
    simulate = (
        None if prepared.row_costs is None else functools.partial(simulate_with_row_costs, row_costs=prepared.row_costs)
    )
    summary = run_experiment(config, runs_dir, jobs=jobs, progress=progress, simulate=simulate)
    if not summary.ok:
        failures = "; ".join(str(f) for f in summary.failures[:3])
        raise DatasetError(f"{summary.n_failed} simulations failed while estimating the budget: {failures}")
    return load_results(runs_dir)


# ---------------------------------------------------------------------------------------------------------
# Step 4: labels and money per strategy
# ---------------------------------------------------------------------------------------------------------
def _resolve_target(results: pl.DataFrame, target: float, *, relative: bool, metric: str) -> tuple[float, str]:
    """Return the target score and its description; a relative target is a share of the full-pool accuracy."""
    if not relative:
        return float(target), f"{metric.replace('_', '-')} {float(target):.3f}"
    reference = _full_pool_accuracy(results)
    value = float(target) * reference
    return value, f"{target:.0%} of the full-pool accuracy ({reference:.3f}), i.e. accuracy {value:.3f}"


def _full_pool_accuracy(results: pl.DataFrame) -> float:
    """Mean accuracy of the learner trained on the whole pool, over the simulated cells."""
    # One value per cell: a mean over record rows would weight cells by how many rounds they ran.
    per_cell = results.group_by("cell_id").agg(pl.col("reference_accuracy").first())
    return float(per_cell["reference_accuracy"].mean())  # type: ignore[arg-type]  # a Series mean is any scalar


# ---------------------------------------------------------------------------------------------------------
def labels_to_target_table(results: pl.DataFrame, metric: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per strategy: the label counts shared by all seeds and the (n_seeds, n_points) score matrix."""
    return _per_seed_table(results, metric)


def _per_seed_table(results: pl.DataFrame, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for (strategy,), runs in results.group_by(["strategy"], maintain_order=True):
        seeds = runs["seed"].unique().sort().to_list()
        per_seed = [runs.filter(pl.col("seed") == s).sort("round") for s in seeds]
        common = set(per_seed[0]["n_labeled"].to_list())
        for run in per_seed[1:]:
            common &= set(run["n_labeled"].to_list())
        grid = np.array(sorted(common), dtype=np.float64)
        values = np.vstack(
            [
                run.filter(pl.col("n_labeled").is_in(grid.astype(np.int64).tolist()))
                .unique("n_labeled", keep="last", maintain_order=True)
                .sort("n_labeled")[column]
                .to_numpy()
                for run in per_seed
            ]
        )
        out[str(strategy)] = (grid, values)
    return out


@dataclass(frozen=True)
class _CostCurve:
    """Recorded labeling cost as a function of labels bought, for one strategy (mean over seeds).

    Within the simulated labels it interpolates the mean recorded cumulative cost; beyond them (labels a
    team would buy on new rows like its labeled ones) each further label costs the mean per-row cost of the
    labeled rows. It is non-decreasing, so it maps the quantiles of labels-to-target onto those of money.
    """

    n_labeled: np.ndarray
    cost: np.ndarray
    cost_beyond: float

    def __call__(self, labels: float) -> float:
        if math.isinf(labels):
            return math.inf
        first, last = float(self.n_labeled[0]), float(self.n_labeled[-1])
        if labels <= first:
            return float(self.cost[0]) * labels / first
        if labels <= last:
            return float(np.interp(labels, self.n_labeled, self.cost))
        return float(self.cost[-1]) + (labels - last) * self.cost_beyond


def _labels_per_strategy(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    candidates: Sequence[str],
    *,
    target: float,
    n_max: float,
    n_boot: int,
    random_state: int,
    progress: bool,
    reference: float | None = None,
) -> dict[str, LabelsToTarget]:
    """Labels-to-target of every candidate with calibrated intervals (one progress step per strategy).

    ``reference`` (the full-pool accuracy) caps the fitted ceilings.
    """
    from tqdm.auto import tqdm

    rng = np.random.default_rng(random_state)
    # The same bootstrap seed for every strategy resamples the same seeds, so comparisons are paired.
    bootstrap_seed = int(rng.integers(2**31))
    labels: dict[str, LabelsToTarget] = {}
    for strategy in tqdm(candidates, desc="extrapolating learning curves", unit="strategy", disable=not progress):
        grid, scores = curves[strategy]
        band_grid = np.geomspace(grid.min(), min(n_max, 4 * grid.max()), 80)
        labels[strategy] = bootstrap_labels_to_target(
            grid,
            scores,
            target,
            n_max=n_max,
            n_boot=int(n_boot),
            band_grid=band_grid,
            random_state=bootstrap_seed,
            reference=reference,
        )
    return labels


def _strategy_estimates(
    labels: dict[str, LabelsToTarget],
    cost_curves: dict[str, _CostCurve],
    *,
    price: float,
    mean_row_cost: float,
) -> list[StrategyEstimate]:
    """Labels, money and savings against random of every strategy."""

    def money(strategy: str, n: float) -> float:
        return price * cost_curves[strategy](n)

    def saving(random_value: float, value: float) -> tuple[float | None, float | None]:
        if math.isinf(random_value) or math.isinf(value):
            return None, None
        return random_value - value, (random_value - value) / random_value

    random_labels = labels["random"].median
    random_money = money("random", random_labels)
    estimates = []
    for strategy, lab in labels.items():
        median_money = money(strategy, lab.median)
        savings, share = (None, None) if strategy == "random" else saving(random_labels, lab.median)
        savings_money, money_share = (None, None) if strategy == "random" else saving(random_money, median_money)
        estimates.append(
            StrategyEstimate(
                strategy=strategy,
                labels=lab,
                cost_per_label=price * mean_row_cost,
                savings_labels=savings,
                savings_share=share,
                median_cost=median_money,
                cost_interval_80=(money(strategy, lab.interval_80[0]), money(strategy, lab.interval_80[1])),
                cost_interval_95=(money(strategy, lab.interval_95[0]), money(strategy, lab.interval_95[1])),
                savings_cost=savings_money,
                savings_cost_share=money_share,
            )
        )
    return estimates


# ---------------------------------------------------------------------------------------------------------
# Step 5: recommend, and say what the reader must know
# ---------------------------------------------------------------------------------------------------------
def _recommend(estimates: Sequence[StrategyEstimate], learner: str) -> tuple[str | None, list[str]]:
    """Return the cheapest strategy likely to reach the target (by median money, then 80% upper end) and notes."""
    reachable = [e for e in estimates if e.labels.p_unreachable < 0.5]
    if reachable:
        return min(reachable, key=lambda e: (e.median_cost, e.cost_interval_80[1])).strategy, []
    best = min(estimates, key=lambda e: e.labels.p_unreachable)
    return None, [
        f"The target is probably out of reach with {learner}: even the best strategy ({best.strategy}) misses it "
        f"in {best.labels.p_unreachable:.0%} of bootstrap replicates (fitted asymptote "
        f"{best.labels.model.asymptote:.3f})."
    ]


def _trivial_target_warnings(
    *,
    target: float,
    metric: str,
    majority_class_rate: float,
    n_classes: int,
    n_test: int,
    initial_score: float,
    initial_labels: int,
) -> list[str]:
    """Warnings for a target a model reaches without learning much.

    The baseline is what always predicting the most frequent class scores: its accuracy is the majority
    rate, its macro-F1 ``2p / (1 + p) / n_classes``. A target within one standard error of a test accuracy
    (``sqrt(p (1 - p) / n_test)``) above it cannot be told apart from it on the test split.
    """
    p = majority_class_rate
    baseline = p if metric == "accuracy" else 2 * p / (1 + p) / n_classes
    tolerance = math.sqrt(p * (1 - p) / max(n_test, 1))
    name = metric.replace("_", "-")
    out = []
    if target <= baseline + tolerance:
        where = "at or below" if target <= baseline else "within one standard error of the test split above"
        out.append(
            f"The target ({name} {target:.3f}) is {where} what always predicting the most frequent class scores "
            f"({baseline:.3f}; majority-class rate {p:.3f}), so reaching it says little about the model: set a "
            f"higher {_setting('target')}."
        )
    if initial_score >= target:
        out.append(
            f"The initial labeled set ({initial_labels:,} labels) already reaches the target on average ({name} "
            f"{initial_score:.3f}): the estimate is about where the simulation starts, not about a budget."
        )
    return out


def _score_stopping_rules(
    results: pl.DataFrame,
    *,
    price: float,
    mean_label_money: float,
    predictions: float | None,
    cost_per_error: float | None,
    progress: bool,
) -> tuple[str | None, pl.DataFrame, list[str]]:
    """Score the stopping rules on the runs; return the best practical rule, the summary and a note."""
    from alsim.stopping import score_rules, summarize_scores

    error_cost = float(cost_per_error) if cost_per_error is not None else mean_label_money
    n_predictions = float(predictions) if predictions is not None else 10_000.0
    notes = []
    if predictions is None or cost_per_error is None:
        notes.append(
            f"Stopping rules were compared assuming {n_predictions:,.0f} predictions in deployment and "
            f"{error_cost:g} per wrong prediction; pass {_setting('predictions')} and "
            f"{_setting('cost_per_error')} to use yours."
        )
    # The recorded cost is in oracle units (labels, or the cost column's units); ``price`` turns it into money.
    scored = score_rules(
        results, cost_per_label=price, predictions=n_predictions, cost_per_error=error_cost, progress=progress
    )
    summary = summarize_scores(scored)
    # Budget caps stop wherever they were set, which is policy rather than evidence from the run.
    practical = summary.filter(
        ~pl.col("uses_test_labels") & pl.col("mean_regret").is_not_null() & ~pl.col("rule").str.ends_with("_budget")
    )
    rule = practical.sort("mean_regret")["rule"][0] if practical.height else None
    return rule, summary, notes


# ---------------------------------------------------------------------------------------------------------
# The whole estimate
# ---------------------------------------------------------------------------------------------------------
def _check_pool_size(n_available: int, *, test_size: float, max_labels: int | None) -> int:
    """Return the rows the simulations label (the pool after the test split), checked against ``max_labels``."""
    n_pool = n_available - math.ceil(n_available * test_size)
    if max_labels is not None and max_labels < n_pool:
        # The runs label the whole pool; a cap below what they simulate would contradict the data.
        raise InvalidParameterError(
            f"{_subject('max_labels')} must be at least the simulated pool ({n_pool} labeled rows after the "
            f"{test_size:.0%} test split), since the simulations label all of them. Got {max_labels} instead."
        )
    return n_pool


def _extrapolation_notes(estimates: Sequence[StrategyEstimate], *, n_simulated: int) -> list[str]:
    """Say which estimates lie beyond the simulated labels or outside what the backtest calibrated."""
    notes = []
    if any(e.labels.extrapolated and not math.isinf(e.labels.median) for e in estimates):
        notes.append(
            f"Some estimates lie beyond the {n_simulated} labels that could be simulated on the labeled rows: "
            "they are extrapolated from fitted learning curves and less certain."
        )
    # Where an estimate lies outside what the backtest calibrated, the reader is told, once per distinct note.
    outside_calibration: dict[str, list[str]] = {}
    for estimate in estimates:
        for note in estimate.labels.notes:
            outside_calibration.setdefault(note, []).append(estimate.strategy)
    notes.extend(f"{note} ({', '.join(names)})" for note, names in outside_calibration.items())
    return notes


def _cost_note(cost_column: str | None, cost_per_label: float, mean_row_cost: float) -> str:
    """Say in words how each label was charged."""
    if cost_column is None:
        return f"{float(cost_per_label):g} per label"
    return f"each label charged its row's cost from column {cost_column!r} (mean {mean_row_cost:g})" + (
        "" if cost_per_label == 1.0 else f", times {cost_per_label:g} per unit"
    )


def _mean_curves(results: pl.DataFrame, metric: str, *, price: float) -> pl.DataFrame:
    """Return the mean and spread of ``metric`` and the mean money spent, per strategy and label count."""
    return (
        results.group_by(["strategy", "n_labeled"])
        .agg(
            pl.col(metric).mean().alias("mean"),
            pl.col(metric).std().alias("std"),
            pl.len().alias("n_seeds"),
            (pl.col("cost").mean() * price).alias("mean_cost"),
        )
        .sort(["strategy", "n_labeled"])
    )


def estimate_budget(
    data: str | os.PathLike[str],
    *,
    target: float,
    label: str | None = None,
    relative: bool = False,
    metric: Metric = "accuracy",
    cost_per_label: float = 1.0,
    cost_column: str | None = None,
    ignore: Sequence[str] = (),
    predictions: float | None = None,
    cost_per_error: float | None = None,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    learner: str = "logreg",
    n_seeds: int = 10,
    batch_size: int | None = None,
    test_size: float = 0.3,
    max_labels: int | None = None,
    n_boot: int = 200,
    out_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    random_state: int = 0,
    progress: bool = True,
) -> BudgetEstimate:
    """Estimate labels and cost to reach a target quality, per strategy, with bootstrap intervals.

    Parameters
    ----------
    data : str or path
        A CSV, parquet or ARFF file with a label column (rows with an empty label are unlabeled and not
        used), or ``"openml:<id>"`` as a proxy for the team's data.
    target : float
        The quality to reach, in (0, 1]: an absolute accuracy / macro-F1, or with ``relative=True`` a
        share of the accuracy the learner reaches when trained on every labeled row.
    label : str, optional
        The label column (required for CSV and parquet files).
    relative : bool, default=False
        Read ``target`` as a share of the full-pool reference accuracy (needs ``metric="accuracy"``).
    metric : {"accuracy", "macro_f1"}, default="accuracy"
    cost_per_label : float, default=1.0
        Money per label; with ``cost_column``, the price of one unit of that column (1: the column is money).
    cost_column : str, optional
        A column of per-row labeling costs (money, seconds...). The simulation charges each row its own
        cost, cost-aware strategies (``cost_<base>``, e.g. ``"cost_margin"``) see it when they select, and
        the money answer is the recorded cost of the rows chosen (see Notes). It is never a feature.
    ignore : sequence of str, default=()
        Further columns that are not features (identifiers, notes...), as in :func:`alsim.datasets.load_dataset`.
    predictions, cost_per_error : float, optional
        Predictions the model will make in deployment and the cost of one wrong prediction. They set the
        total-cost model under which stopping rules are compared; by default 10,000 predictions and an
        error costing one label.
    strategies : sequence of str
        Candidate strategies (names of :func:`alsim.strategies.available_strategies`, optionally ``cost_`` or
        ``epsilon_`` prefixed); ``"random"`` is added as the baseline if missing.
    learner : str, default="logreg"
    n_seeds : int, default=10
        Simulated runs per strategy (the bootstrap resamples them).
    batch_size : int, optional
        Labels per round (default: about 25 rounds over the pool).
    test_size : float, default=0.3
        Share of the labeled rows held out to measure quality.
    max_labels : int, optional
        Largest label count considered when extrapolating (default: 50 times the labeled rows); a target
        not reached by then counts as out of reach.
    n_boot : int, default=200
        Bootstrap replicates over seeds.
    out_dir : path, optional
        Where the simulated runs are stored (``out_dir/runs``, resumable: a rerun with the same data and
        settings reuses them); a temporary directory by default. The report is written by
        :func:`alsim.budget.write_budget_report`, which refuses to replace an earlier one.
    jobs : int, optional
        Parallel simulations (default: all cores).
    random_state : int, default=0
        Seeds the bootstrap; the simulations use seeds ``0 .. n_seeds-1``.
    progress : bool, default=True
        Show progress on stderr: the simulations, the extrapolation per strategy, the stopping-rule scoring.

    Returns
    -------
    BudgetEstimate
        Per strategy: labels and money to reach the target (median, 80% and 95% intervals), the
        probability it is out of reach, savings against random; the recommended strategy and stopping rule;
        ``warnings`` when the target is trivial (about the majority-class rate, or reached by the initial
        labeled set).

    Notes
    -----
    Money comes from the recorded cost of the runs, not from labels times a mean: for each strategy the
    cumulative cost recorded at each label count is averaged over seeds, and labels-to-target (median and
    interval ends) are mapped through that non-decreasing curve. Beyond the simulated labels each further
    label costs the mean per-row cost of the labeled rows. The money intervals therefore carry the spread of
    labels-to-target over seeds, not the (smaller) spread of cost at a fixed label count.

    Examples
    --------
    >>> estimate = estimate_budget("openml:37", target=0.74, n_seeds=5)  # doctest: +SKIP
    >>> print(estimate.answer())  # doctest: +SKIP
    """
    candidates = _check_parameters(
        target=target,
        relative=relative,
        metric=metric,
        cost_per_label=cost_per_label,
        predictions=predictions,
        cost_per_error=cost_per_error,
        strategies=strategies,
        learner=learner,
        n_seeds=n_seeds,
        batch_size=batch_size,
        test_size=test_size,
        max_labels=max_labels,
        n_boot=n_boot,
        jobs=jobs,
    )
    with _work_directory(out_dir) as work_dir:
        prepared = _prepare_data(data, label, cost_column, work_dir, ignore)
        n_available = prepared.n_available
        n_pool = _check_pool_size(n_available, test_size=test_size, max_labels=max_labels)
        if batch_size is None:
            batch_size = max(1, n_pool // 25)
        results = _simulate(
            prepared,
            data=data,
            candidates=candidates,
            learner=learner,
            batch_size=batch_size,
            n_seeds=n_seeds,
            test_size=test_size,
            runs_dir=work_dir / "runs",
            jobs=jobs,
            progress=progress,
        )

    target_value, target_description = _resolve_target(results, target, relative=relative, metric=metric)
    curves = labels_to_target_table(results, metric)
    labels = _labels_per_strategy(
        curves,
        candidates,
        target=target_value,
        n_max=float(max_labels if max_labels is not None else 50 * n_available),
        n_boot=n_boot,
        random_state=random_state,
        progress=progress,
        # The full-pool accuracy caps the fitted ceilings (it is an accuracy, so only for that metric).
        reference=_full_pool_accuracy(results) if metric == "accuracy" else None,
    )
    mean_row_cost = 1.0 if prepared.row_costs is None else float(prepared.row_costs.mean())
    cost_curves = {
        strategy: _CostCurve(grid, costs.mean(axis=0), mean_row_cost)
        for strategy, (grid, costs) in _per_seed_table(results, "cost").items()
    }
    estimates = _strategy_estimates(labels, cost_curves, price=float(cost_per_label), mean_row_cost=mean_row_cost)
    recommended, notes = _recommend(estimates, learner)
    notes.extend(_extrapolation_notes(estimates, n_simulated=int(max(g.max() for g, _ in curves.values()))))

    first_round = results.filter(pl.col("round") == 0)
    initial_score = float(first_round[metric].mean())  # type: ignore[arg-type]
    target_warnings = _trivial_target_warnings(
        target=target_value,
        metric=metric,
        majority_class_rate=prepared.majority_class_rate,
        n_classes=prepared.n_classes,
        n_test=n_available - n_pool,
        initial_score=initial_score,
        initial_labels=int(first_round["n_labeled"].min()),  # type: ignore[arg-type]
    )

    stopping_rule, stopping_summary, stopping_notes = _score_stopping_rules(
        results,
        price=float(cost_per_label),
        mean_label_money=float(cost_per_label) * mean_row_cost,
        predictions=predictions,
        cost_per_error=cost_per_error,
        progress=progress,
    )
    return BudgetEstimate(
        data=os.fspath(data),
        metric=metric,
        target=target_value,
        target_description=target_description,
        n_available=int(n_available),
        n_pool=int(n_pool),
        seeds=int(n_seeds),
        estimates=tuple(estimates),
        recommended=recommended,
        stopping_rule=stopping_rule,
        stopping_summary=stopping_summary,
        curves=_mean_curves(results, metric, price=float(cost_per_label)),
        cost_note=_cost_note(cost_column, cost_per_label, mean_row_cost),
        notes=(*notes, *stopping_notes),
        warnings=tuple(target_warnings),
        majority_class_rate=prepared.majority_class_rate,
        initial_score=initial_score,
        cost_column=cost_column,
    )
