"""Labeling-budget estimation: how many labels, and how much money, to reach a target, and how sure is that.

The team's labeled rows (or an OpenML dataset standing in for their data) are replayed with every candidate
strategy over several seeds through the grid runner; each strategy's learning curve is extrapolated with
:mod:`alsim.budget.curves` and bootstrapped over seeds; the stopping rules are scored on the same runs.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from alsim._output import check_output_dir, parameter
from alsim.budget.curves import LabelsToTarget, bootstrap_labels_to_target
from alsim.exceptions import DatasetError, InvalidParameterError

__all__ = ["DEFAULT_STRATEGIES", "BudgetEstimate", "StrategyEstimate", "estimate_budget", "labels_to_target_table"]

#: Candidates compared by default: the random baseline, the three uncertainty measures, a diversity-only
#: strategy and an uncertainty-then-diversity hybrid.
DEFAULT_STRATEGIES: tuple[str, ...] = ("random", "margin", "entropy", "least_confidence", "coreset", "margin_kcenter")

Metric = Literal["accuracy", "macro_f1"]


@dataclass(frozen=True)
class StrategyEstimate:
    """Labels and money one strategy needs to reach the target."""

    strategy: str
    labels: LabelsToTarget
    cost_per_label: float
    savings_labels: float | None
    savings_share: float | None

    @property
    def median_cost(self) -> float:
        """Labeling cost of the median labels-to-target."""
        return self.labels.median * self.cost_per_label

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-able values (infinite bounds become None)."""
        labels = self.labels

        def finite(value: float) -> float | None:
            return None if math.isinf(value) else value

        return {
            "strategy": self.strategy,
            "labels_median": finite(labels.median),
            "labels_80": [finite(v) for v in labels.interval_80],
            "labels_95": [finite(v) for v in labels.interval_95],
            "cost_median": finite(self.median_cost),
            "cost_80": [finite(v * self.cost_per_label) for v in labels.interval_80],
            "cost_95": [finite(v * self.cost_per_label) for v in labels.interval_95],
            "p_unreachable": labels.p_unreachable,
            "extrapolated": labels.extrapolated,
            "p_extrapolated": labels.p_extrapolated,
            "asymptote": labels.model.asymptote,
            "curve_families": dict(zip(labels.model.families, labels.model.weights, strict=True)),
            "savings_labels_vs_random": self.savings_labels,
            "savings_share_vs_random": self.savings_share,
        }


@dataclass(frozen=True)
class BudgetEstimate:
    """The answer to "how many labels and how much money to reach the target", per strategy."""

    data: str
    metric: str
    target: float
    target_description: str
    n_available: int
    n_pool: int
    seeds: int
    estimates: tuple[StrategyEstimate, ...]
    recommended: str | None
    stopping_rule: str | None
    stopping_summary: pl.DataFrame | None
    curves: pl.DataFrame
    cost_note: str
    notes: tuple[str, ...] = field(default=())

    def estimate(self, strategy: str) -> StrategyEstimate:
        """Return the estimate of ``strategy``; InvalidParameterError if it was not estimated."""
        for estimate in self.estimates:
            if estimate.strategy == strategy:
                return estimate
        raise InvalidParameterError(
            f"No estimate for strategy {strategy!r}; estimated: {[e.strategy for e in self.estimates]}."
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the whole estimate as JSON-able values (what ``alsim budget --json`` prints)."""
        return {
            "data": self.data,
            "metric": self.metric,
            "target": self.target,
            "target_description": self.target_description,
            "labeled_rows_available": self.n_available,
            "simulated_pool_size": self.n_pool,
            "seeds": self.seeds,
            "recommended_strategy": self.recommended,
            "recommended_stopping_rule": self.stopping_rule,
            "cost_note": self.cost_note,
            "notes": list(self.notes),
            "strategies": [e.to_dict() for e in self.estimates],
        }

    def answer(self) -> str:
        """Return a short plain-language answer."""
        from alsim.budget.report import plain_answer

        return plain_answer(self)


def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise InvalidParameterError(
            f"The {name!r} parameter of estimate_budget must be one of {list(choices)}. Got {value!r} instead."
        )


def _check_positive(name: str, value: Any, *, integer: bool = False) -> None:
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value) or value <= 0:
        what = "an int >= 1" if integer else "a positive finite number"
        raise InvalidParameterError(f"The {name!r} parameter of estimate_budget must be {what}. Got {value!r} instead.")


def _prepare_data(
    data: str | os.PathLike[str],
    label: str | None,
    cost_column: str | None,
    work_dir: Path,
    ignore: Sequence[str] = (),
) -> tuple[str, str | None, int, float | None]:
    """Resolve the data to a grid dataset spec; a team's file is reduced to its labeled rows.

    Returns the spec, its label column, the number of labeled rows and, with a cost column, the mean
    per-row cost of the labeled rows.
    """
    from alsim.datasets import load_dataset

    spec = os.fspath(data)
    if spec.startswith("openml:"):
        if cost_column is not None:
            raise InvalidParameterError(
                "The 'cost_column' parameter of estimate_budget needs a table file (CSV, parquet or ARFF); "
                f"{spec!r} has no per-row costs. Give a constant 'cost_per_label' instead."
            )
        dataset = load_dataset(spec, label=label, ignore=ignore)
        return spec, label, dataset.n_samples, None
    if label is None:
        raise InvalidParameterError(
            "The 'label' parameter of estimate_budget is required for a table file: name the column that "
            "holds the labels (rows where it is empty count as unlabeled)."
        )
    import warnings

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
    mean_cost = None
    if cost_column is not None:
        mean_cost = _mean_row_cost(frame, spec, cost_column)
        frame = frame.drop(columns=[cost_column])
    # The grid reads datasets from files; store the labeled rows (cost column dropped) once.
    frame[dataset.label] = dataset.target
    prepared = work_dir / "labeled_rows.parquet"
    frame.to_parquet(prepared, index=False)
    return str(prepared), dataset.label, dataset.n_samples, mean_cost


def _mean_row_cost(features: Any, spec: str, cost_column: str) -> float:
    if cost_column not in features.columns:
        raise DatasetError(
            f"The cost column {cost_column!r} is not in {spec!r}. Columns: {sorted(map(str, features.columns))}."
        )
    costs = np.asarray(features[cost_column], dtype=np.float64)
    if not np.all(np.isfinite(costs)) or np.any(costs <= 0):
        raise DatasetError(
            f"The cost column {cost_column!r} of {spec!r} must hold positive numbers on every labeled row."
        )
    return float(costs.mean())


def labels_to_target_table(results: pl.DataFrame, metric: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per strategy: the label counts shared by all seeds and the (n_seeds, n_points) score matrix."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for (strategy,), runs in results.group_by(["strategy"], maintain_order=True):
        seeds = runs["seed"].unique().sort().to_list()
        per_seed = [runs.filter(pl.col("seed") == s).sort("round") for s in seeds]
        common = set(per_seed[0]["n_labeled"].to_list())
        for run in per_seed[1:]:
            common &= set(run["n_labeled"].to_list())
        grid = np.array(sorted(common), dtype=np.float64)
        scores = np.vstack(
            [
                run.filter(pl.col("n_labeled").is_in(grid.astype(np.int64).tolist()))
                .unique("n_labeled", keep="last", maintain_order=True)
                .sort("n_labeled")[metric]
                .to_numpy()
                for run in per_seed
            ]
        )
        out[str(strategy)] = (grid, scores)
    return out


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
        Money per label.
    cost_column : str, optional
        A column of per-row labeling costs, used instead of ``cost_per_label``: each label is charged the
        mean cost of the labeled rows (selection is simulated without seeing costs). It is never a feature.
    ignore : sequence of str, default=()
        Further columns that are not features (identifiers, notes...), as in :func:`alsim.datasets.load_dataset`.
    predictions, cost_per_error : float, optional
        Predictions the model will make in deployment and the cost of one wrong prediction. They set the
        total-cost model under which stopping rules are compared; by default 10,000 predictions and an
        error costing one label.
    strategies : sequence of str
        Candidate strategies; ``"random"`` is added as the baseline if missing.
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
        Where the simulated runs are stored (resumable); a temporary directory by default.
    jobs : int, optional
        Parallel simulations (default: all cores).
    random_state : int, default=0
        Seeds the bootstrap; the simulations use seeds ``0 .. n_seeds-1``.
    progress : bool, default=True

    Returns
    -------
    BudgetEstimate

    Examples
    --------
    >>> estimate = estimate_budget("openml:37", target=0.74, n_seeds=5)  # doctest: +SKIP
    >>> print(estimate.answer())  # doctest: +SKIP
    """
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0.0 < target <= 1.0:
        raise InvalidParameterError(
            f"The 'target' parameter of estimate_budget must be a number in (0, 1] (an accuracy or macro-F1, "
            f"or with relative=True a share of the full-pool accuracy). Got {target!r} instead."
        )
    _check_choice("metric", metric, ("accuracy", "macro_f1"))
    if relative and metric != "accuracy":
        raise InvalidParameterError(
            "The 'relative' parameter of estimate_budget needs metric='accuracy': the full-pool reference is an "
            f"accuracy. Got metric={metric!r}."
        )
    _check_positive("cost_per_label", cost_per_label)
    _check_positive("n_seeds", n_seeds, integer=True)
    _check_positive("n_boot", n_boot, integer=True)
    if n_seeds < 2:
        raise InvalidParameterError(
            f"The 'n_seeds' parameter of estimate_budget must be an int >= 2 (intervals come from resampling "
            f"seeds). Got {n_seeds!r} instead."
        )
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0.0 < test_size < 1.0:
        raise InvalidParameterError(
            f"The 'test_size' parameter of estimate_budget must be a float in (0, 1). Got {test_size!r} instead."
        )
    if max_labels is not None:
        _check_positive("max_labels", max_labels, integer=True)
    if predictions is not None:
        _check_positive("predictions", predictions)
    if cost_per_error is not None:
        _check_positive("cost_per_error", cost_per_error)
    candidates = list(dict.fromkeys(["random", *strategies]))

    from alsim.experiments import load_results, parse_config, run_experiment
    from alsim.stopping import score_rules, summarize_scores

    temporary = tempfile.TemporaryDirectory(prefix="alsim-budget-") if out_dir is None else None
    work_dir = check_output_dir(
        temporary.name if temporary is not None else out_dir,  # type: ignore[arg-type]
        who=parameter("out_dir", "estimate_budget"),
    )
    try:
        spec, label_column, n_available, mean_row_cost = _prepare_data(data, label, cost_column, work_dir, ignore)
        n_pool = n_available - math.ceil(n_available * test_size)
        if max_labels is not None and max_labels < n_pool:
            # The runs label the whole pool; a cap below what they simulate would contradict the data.
            from alsim._messages import on_command_line

            who = "--max-labels" if on_command_line() else "The 'max_labels' parameter of estimate_budget"
            raise InvalidParameterError(
                f"{who} must be at least the simulated pool ({n_pool} labeled rows after the "
                f"{test_size:.0%} test split), since the simulations label all of them. Got {max_labels} instead."
            )
        if batch_size is None:
            batch_size = max(1, n_pool // 25)
        _check_positive("batch_size", batch_size, integer=True)
        unit_cost = mean_row_cost if mean_row_cost is not None else float(cost_per_label)
        dataset_entry: Any = (
            spec if label_column is None or spec.startswith("openml:") else {"spec": spec, "label": label_column}
        )
        config = parse_config(
            {
                "name": "budget",
                "description": f"Labeling-budget estimate for {os.fspath(data)}",
                "datasets": [dataset_entry],
                "strategies": candidates,
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
        summary = run_experiment(config, work_dir / "runs", jobs=jobs, progress=progress)
        if not summary.ok:
            failures = "; ".join(str(f) for f in summary.failures[:3])
            raise DatasetError(f"{summary.n_failed} simulations failed while estimating the budget: {failures}")
        results = load_results(work_dir / "runs")
    finally:
        if temporary is not None:
            temporary.cleanup()

    notes: list[str] = []
    # One value per cell: a mean over record rows would weight cells by how many rounds they ran.
    reference_mean = results.group_by("cell_id").agg(pl.col("reference_accuracy").first())["reference_accuracy"].mean()
    reference = float(reference_mean)  # type: ignore[arg-type]  # polars types a Series mean as any scalar
    if relative:
        target_value = float(target) * reference
        target_description = (
            f"{target:.0%} of the full-pool accuracy ({reference:.3f}), i.e. accuracy {target_value:.3f}"
        )
    else:
        target_value = float(target)
        target_description = f"{metric.replace('_', '-')} {target_value:.3f}"
    n_max = float(max_labels if max_labels is not None else 50 * n_available)

    curves = labels_to_target_table(results, metric)
    rng = np.random.default_rng(random_state)
    bootstrap_seed = int(rng.integers(2**31))
    labels: dict[str, LabelsToTarget] = {}
    for strategy in candidates:
        grid, scores = curves[strategy]
        # The same bootstrap seed for every strategy resamples the same seeds, so comparisons are paired.
        band_grid = np.geomspace(grid.min(), min(n_max, 4 * grid.max()), 80)
        labels[strategy] = bootstrap_labels_to_target(
            grid,
            scores,
            target_value,
            n_max=n_max,
            n_boot=int(n_boot),
            band_grid=band_grid,
            random_state=bootstrap_seed,
            # The full-pool accuracy caps the fitted ceilings (it is an accuracy, so only for that metric).
            reference=reference if metric == "accuracy" else None,
        )
    random_median = labels["random"].median
    estimates = []
    for strategy in candidates:
        median = labels[strategy].median
        if strategy == "random" or math.isinf(random_median) or math.isinf(median):
            savings, share = None, None
        else:
            savings = random_median - median
            share = savings / random_median
        estimates.append(StrategyEstimate(strategy, labels[strategy], unit_cost, savings, share))

    reachable = [e for e in estimates if e.labels.p_unreachable < 0.5]
    recommended = (
        min(reachable, key=lambda e: (e.labels.median, e.labels.interval_80[1])).strategy if reachable else None
    )
    if recommended is None:
        best = min(estimates, key=lambda e: e.labels.p_unreachable)
        notes.append(
            f"The target is probably out of reach with {learner}: even the best strategy ({best.strategy}) "
            f"misses it in {best.labels.p_unreachable:.0%} of bootstrap replicates (fitted asymptote "
            f"{best.labels.model.asymptote:.3f})."
        )
    if any(e.labels.extrapolated and not math.isinf(e.labels.median) for e in estimates):
        notes.append(
            f"Some estimates lie beyond the {int(max(g.max() for g, _ in curves.values()))} labels that could be "
            "simulated on the labeled rows: they are extrapolated from fitted learning curves and less certain."
        )
    error_cost = float(cost_per_error) if cost_per_error is not None else unit_cost
    n_predictions = float(predictions) if predictions is not None else 10_000.0
    if predictions is None or cost_per_error is None:
        notes.append(
            f"Stopping rules were compared assuming {n_predictions:,.0f} predictions in deployment and "
            f"{error_cost:g} per wrong prediction; pass predictions and cost_per_error to use yours."
        )
    scored = score_rules(results, cost_per_label=unit_cost, predictions=n_predictions, cost_per_error=error_cost)
    stopping_summary = summarize_scores(scored)
    # Budget caps stop wherever they were set, which is policy rather than evidence from the run.
    practical = stopping_summary.filter(
        ~pl.col("uses_test_labels") & pl.col("mean_regret").is_not_null() & ~pl.col("rule").str.ends_with("_budget")
    )
    stopping_rule = practical.sort("mean_regret")["rule"][0] if practical.height else None
    cost_note = (
        f"each label charged the mean per-row cost of the labeled rows ({unit_cost:g}, column {cost_column!r})"
        if mean_row_cost is not None
        else f"{unit_cost:g} per label"
    )
    curve_frame = (
        results.group_by(["strategy", "n_labeled"])
        .agg(pl.col(metric).mean().alias("mean"), pl.col(metric).std().alias("std"), pl.len().alias("n_seeds"))
        .sort(["strategy", "n_labeled"])
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
        curves=curve_frame,
        cost_note=cost_note,
        notes=tuple(notes),
    )
