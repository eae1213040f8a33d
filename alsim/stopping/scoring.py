"""Scoring stopping rules under a cost model, aggregating over runs, and the map of winning rules.

The cost of stopping after round t (Pullar-Strecker, Dost, Frank and Wicker, 2023, "Hitting the Target:
Stopping Active Learning at the Cost-Based Optimum", Machine Learning 113, pp. 1529-1547) is

    C(t) = cost_per_label * labeling_cost(t) + (1 - accuracy(t)) * predictions * cost_per_error,

where ``predictions`` is the number of predictions the deployed model makes over its lifetime. The
labeling part uses the run's recorded cumulative ``cost`` (oracle cost units; ``cost_per_label`` is the
price of one unit). With the default oracle every label costs one unit, so this is labels x cost per
label; when labels cost different amounts (per class, by difficulty, several annotators) it charges what
the labels actually cost. Runs without a ``cost`` column are charged by ``n_labeled``.

A rule's regret on a run is ``C(stop) - min_t C(t)``; the minimum is the ex-post optimal stop. A rule that
never stops is charged the final recorded round (the budget ran out before the rule fired) and flagged
``failed_to_stop``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from alsim._messages import describe_type
from alsim._validation import check_real, fail
from alsim.exceptions import InvalidInputError, InvalidParameterError, MissingSignalError
from alsim.results import RUN_COLUMNS
from alsim.stopping._base import StoppingRule, available_rules, make_rule

__all__ = [
    "RUN_COLUMNS",
    "default_rules",
    "inapplicable_rules",
    "plot_winner_map",
    "resolve_rules",
    "score_rules",
    "summarize_scores",
    "total_cost",
    "winner_map",
]


def _labeling_units(records: pl.DataFrame) -> np.ndarray:
    column = "cost" if "cost" in records.columns else "n_labeled"
    if column not in records.columns:
        raise MissingSignalError("Scoring needs a 'cost' or 'n_labeled' column in the records; neither is present.")
    return records[column].cast(pl.Float64).to_numpy()


def total_cost(
    records: pl.DataFrame, cost_per_label: float = 1.0, predictions: float = 10_000, cost_per_error: float = 1.0
) -> np.ndarray:
    """Total cost C of stopping after each round of one run, in round order.

    Parameters
    ----------
    records : polars.DataFrame
        Records of one run (``round``, ``accuracy`` and ``cost`` or ``n_labeled``).
    cost_per_label : float, default=1.0
        Price of one unit of recorded labeling cost (of one label with the default oracle).
    predictions : float, default=10000
        Predictions the deployed model makes over its lifetime.
    cost_per_error : float, default=1.0
        Price of one wrong prediction.

    Returns
    -------
    numpy.ndarray of float64, one value per round.

    Examples
    --------
    >>> import polars as pl
    >>> total_cost(pl.DataFrame({"round": [0, 1], "n_labeled": [10, 20], "accuracy": [0.8, 0.9]}), 1.0, 1000, 1.0)
    array([210., 120.])
    """
    cost_per_label = check_real(cost_per_label, "cost_per_label", "total_cost", low=0.0)
    predictions = check_real(predictions, "predictions", "total_cost", low=0.0)
    cost_per_error = check_real(cost_per_error, "cost_per_error", "total_cost", low=0.0)
    if "accuracy" not in records.columns:
        raise MissingSignalError("Scoring needs the test 'accuracy' column in the records.")
    records = records.sort("round")
    accuracy = records["accuracy"].cast(pl.Float64).to_numpy()
    return cost_per_label * _labeling_units(records) + (1.0 - accuracy) * predictions * cost_per_error


def default_rules(
    cost_per_label: float = 1.0, predictions: float = 10_000, cost_per_error: float = 1.0
) -> list[StoppingRule]:
    """Every registered rule with its default parameters; the ex-post optimum uses the given costs.

    Examples
    --------
    >>> [rule.name for rule in default_rules()][:3]
    ['classification_change', 'confidence_variance', 'cost_budget']
    """
    return resolve_rules(available_rules(), cost_per_label, predictions, cost_per_error)


def resolve_rules(
    rules: Sequence[StoppingRule | str] | None,
    cost_per_label: float = 1.0,
    predictions: float = 10_000,
    cost_per_error: float = 1.0,
) -> list[StoppingRule]:
    """Rule objects from names or instances (None: :func:`default_rules`).

    A rule given by name gets its default parameters, except the ex-post optimum, which is built with the
    given costs: its stop must be the optimum of the cost model the rules are scored under. Instances are
    used as they are.

    Examples
    --------
    >>> resolve_rules(["label_budget", "oracle_optimal"], predictions=1000)[1]
    OracleOptimalStop(cost_per_label=1.0, predictions=1000, cost_per_error=1.0)
    """
    if rules is None:
        return default_rules(cost_per_label, predictions, cost_per_error)
    costs = {"cost_per_label": cost_per_label, "predictions": predictions, "cost_per_error": cost_per_error}
    return [make_rule(rule, **costs) if rule == "oracle_optimal" else make_rule(rule) for rule in rules]


def _run_columns(results: pl.DataFrame) -> list[str]:
    return [column for column in RUN_COLUMNS if column in results.columns]


def _split_runs(results: pl.DataFrame) -> list[pl.DataFrame]:
    if not isinstance(results, pl.DataFrame):
        raise InvalidInputError(f"Expected a polars.DataFrame of records. Got {describe_type(results)} instead.")
    if results.height == 0:
        raise InvalidInputError("The results frame is empty: there are no runs to score.")
    keys = _run_columns(results)
    runs = results.partition_by(keys, maintain_order=True) if keys else [results]
    return [run.sort("round") for run in runs]


@dataclass(frozen=True)
class _RunStops:
    """One run's cost curve and where each rule stopped (index into rounds, or a reason it could not)."""

    key: dict[str, object]
    rounds: np.ndarray
    units: np.ndarray  # recorded labeling cost units per round
    n_labeled: np.ndarray
    accuracy: np.ndarray
    stops: dict[str, int | None]  # rule name -> round index (None = never stopped)
    not_applicable: dict[str, str]  # rule name -> why the rule could not be evaluated on this run


def _evaluate_stops(results: pl.DataFrame, rules: Sequence[StoppingRule], progress: bool = False) -> list[_RunStops]:
    from tqdm import tqdm

    names = [rule.name or type(rule).__name__ for rule in rules]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"Each stopping rule can be scored once per call; got names {names}.")
    keys = _run_columns(results)
    evaluated = []
    for run in tqdm(_split_runs(results), desc="stopping rules", unit="run", disable=not progress):
        for column in ("round", "accuracy"):
            if column not in run.columns:
                raise MissingSignalError(f"Scoring needs the {column!r} column in the records.")
        rounds = run["round"].to_numpy()
        stops: dict[str, int | None] = {}
        not_applicable: dict[str, str] = {}
        for name, rule in zip(names, rules, strict=True):
            try:
                stop = rule.stop_round(run)
            except (MissingSignalError, InvalidInputError) as exc:
                # A rule that cannot read this run is reported, not fatal: other rules still score it.
                not_applicable[name] = str(exc)
                continue
            stops[name] = None if stop is None else int(np.flatnonzero(rounds == stop)[0])
        evaluated.append(
            _RunStops(
                key={column: run[column][0] for column in keys},
                rounds=rounds,
                units=_labeling_units(run),
                n_labeled=run["n_labeled"].to_numpy() if "n_labeled" in run.columns else _labeling_units(run),
                accuracy=run["accuracy"].cast(pl.Float64).to_numpy(),
                stops=stops,
                not_applicable=not_applicable,
            )
        )
    return evaluated


def score_rules(
    results: pl.DataFrame,
    rules: Sequence[StoppingRule | str] | None = None,
    *,
    cost_per_label: float = 1.0,
    predictions: float = 10_000,
    cost_per_error: float = 1.0,
    progress: bool = False,
) -> pl.DataFrame:
    """Score stopping rules on every run of a results frame under the total-cost model.

    Parameters
    ----------
    results : polars.DataFrame
        The records of one run, or the long frame of ``alsim.experiments.load_results`` (runs are told apart
        by the cell columns ``cell_id, dataset, strategy, learner, batch_size, seed`` that are present).
    rules : sequence of StoppingRule or rule names, default=None
        Rules to score; None scores :func:`default_rules`. The ex-post optimum given by name
        (``"oracle_optimal"``) is built with this call's costs, see :func:`resolve_rules`.
    cost_per_label, predictions, cost_per_error : float
        The cost model; see :func:`total_cost`.
    progress : bool, default=False
        Show a progress bar over runs on stderr.

    Returns
    -------
    polars.DataFrame
        One row per (run, rule): the run columns, ``rule``, ``uses_test_labels``, ``applicable`` and
        ``note`` (why a rule could not read the run), ``stop_round`` (null if it never stopped),
        ``failed_to_stop``, ``charged_round`` (the final round for a rule that never stopped),
        ``n_labeled_at_stop``, ``cost_at_stop``, ``accuracy_at_stop``, ``best_accuracy``, ``final_accuracy``,
        ``total_cost``, ``optimal_round``, ``optimal_total_cost``, ``regret`` and ``relative_regret``
        (regret / optimal total cost).

    Examples
    --------
    >>> import polars as pl
    >>> records = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "accuracy": [0.75, 0.875, 0.875]})
    >>> scores = score_rules(records, ["label_budget"], predictions=1000)
    >>> scores.select("rule", "stop_round", "total_cost", "regret").row(0)
    ('label_budget', None, 155.0, 10.0)
    """
    cost_per_label = check_real(cost_per_label, "cost_per_label", "score_rules", low=0.0)
    predictions = check_real(predictions, "predictions", "score_rules", low=0.0)
    cost_per_error = check_real(cost_per_error, "cost_per_error", "score_rules", low=0.0)
    rule_objects = resolve_rules(rules, cost_per_label, predictions, cost_per_error)
    error_cost = predictions * cost_per_error
    rows = []
    for run in _evaluate_stops(results, rule_objects, progress):
        curve = cost_per_label * run.units + (1.0 - run.accuracy) * error_cost
        optimal = int(np.nanargmin(curve))
        best_accuracy = float(np.nanmax(run.accuracy))
        for rule in rule_objects:
            name = rule.name or type(rule).__name__
            row: dict[str, object] = {**run.key, "rule": name, "uses_test_labels": rule.uses_test_labels}
            row["optimal_round"] = int(run.rounds[optimal])
            row["optimal_total_cost"] = float(curve[optimal])
            row["best_accuracy"] = best_accuracy
            row["final_accuracy"] = float(run.accuracy[-1])
            if name in run.not_applicable:
                row.update(applicable=False, note=run.not_applicable[name])
                rows.append(row)
                continue
            stop = run.stops[name]
            charged = len(run.rounds) - 1 if stop is None else stop
            row.update(
                applicable=True,
                note=None,
                stop_round=None if stop is None else int(run.rounds[stop]),
                failed_to_stop=stop is None,
                charged_round=int(run.rounds[charged]),
                n_labeled_at_stop=int(run.n_labeled[charged]),
                cost_at_stop=float(run.units[charged]),
                accuracy_at_stop=float(run.accuracy[charged]),
                total_cost=float(curve[charged]),
                regret=float(curve[charged] - curve[optimal]),
                relative_regret=_relative(float(curve[charged] - curve[optimal]), float(curve[optimal])),
            )
            rows.append(row)
    schema: dict[str, Any] = {
        **{column: results.schema[column] for column in _run_columns(results)},
        "rule": pl.String,
        "uses_test_labels": pl.Boolean,
        "applicable": pl.Boolean,
        "note": pl.String,
        "stop_round": pl.Int64,
        "failed_to_stop": pl.Boolean,
        "charged_round": pl.Int64,
        "n_labeled_at_stop": pl.Int64,
        "cost_at_stop": pl.Float64,
        "accuracy_at_stop": pl.Float64,
        "best_accuracy": pl.Float64,
        "final_accuracy": pl.Float64,
        "total_cost": pl.Float64,
        "optimal_round": pl.Int64,
        "optimal_total_cost": pl.Float64,
        "regret": pl.Float64,
        "relative_regret": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _relative(regret: float, optimum: float) -> float | None:
    """Regret as a share of the optimal cost; undefined (None) when a free optimum was missed."""
    if optimum > 0:
        return regret / optimum
    return 0.0 if regret == 0 else None


def _comparison(applicable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which rules are compared, and on which runs: every compared rule must read every run it is compared on.

    ``applicable`` is a (runs x rules) boolean matrix. Rules that read no run are left out; if the remaining
    rules share no run (e.g. one reads only binary runs, another only multiclass ones), the rule reading the
    fewest runs is left out until they share some. Returns (compared rules, common runs) as boolean masks.
    """
    compared: np.ndarray = np.asarray(applicable.any(axis=0), dtype=bool)
    while True:
        common: np.ndarray = np.asarray(applicable[:, compared].all(axis=1), dtype=bool)
        if common.any() or not compared.any():
            return compared, common & bool(compared.any())
        readable = np.where(compared, applicable.sum(axis=0), np.iinfo(np.int64).max)
        # The last of the rules reading the fewest runs, so an earlier-listed rule is kept on a tie.
        compared[len(readable) - 1 - int(np.argmin(readable[::-1]))] = False


def _run_ids(frame: pl.DataFrame) -> pl.Expr:
    keys = _run_columns(frame)
    return pl.struct(keys).rank("dense") if keys else pl.lit(0, dtype=pl.UInt32)


def _check_scores(scores: pl.DataFrame, func: str) -> None:
    if not isinstance(scores, pl.DataFrame):
        raise InvalidInputError(f"{func} needs the output of score_rules. Got {describe_type(scores)} instead.")
    missing = {"rule", "applicable", "total_cost", "regret", "uses_test_labels", "note"} - set(scores.columns)
    if missing:
        raise InvalidInputError(f"{func} needs the output of score_rules; columns {sorted(missing)} are missing.")


def _compared_scores(scores: pl.DataFrame) -> tuple[pl.DataFrame, list[str], int]:
    """Return the scores of the compared rules on their common runs, the compared rule names and run count."""
    with_run = scores.with_columns(_run=_run_ids(scores))
    rules = with_run["rule"].unique(maintain_order=True).to_list()
    matrix = with_run.pivot(on="rule", index="_run", values="applicable", aggregate_function="first").sort("_run")
    applicable = matrix.select(rules).fill_null(False).to_numpy().astype(bool)
    reference = (
        with_run.group_by("rule", maintain_order=True).agg(pl.col("uses_test_labels").first())["uses_test_labels"]
    ).to_numpy()
    if reference.all():
        compared, common = _comparison(applicable)
    else:
        # The practical rules decide the common runs; a reference rule (it reads test labels, it is there
        # to measure against) joins the comparison only if it reads every one of them, never narrowing it.
        compared = np.zeros(len(rules), dtype=bool)
        compared[~reference], common = _comparison(applicable[:, ~reference])
        compared[reference] = applicable[:, reference][common].all(axis=0) & bool(common.any())
    names = [rule for rule, keep in zip(rules, compared, strict=True) if keep]
    runs = matrix["_run"].filter(pl.Series(common))
    kept = with_run.filter(pl.col("rule").is_in(names) & pl.col("_run").is_in(runs.implode()))
    return kept.drop("_run"), names, int(common.sum())


def summarize_scores(scores: pl.DataFrame) -> pl.DataFrame:
    """Compare the rules on the same runs: mean regret and mean rank per rule over seeds and datasets.

    Every compared rule is averaged over the same runs: those that every compared practical rule can read (a
    reference rule that reads test labels is compared only if it reads all of them). A rule that
    reads no run at all (e.g. ``marginal_gain`` without ``record_cv``) is left out of the comparison, and so
    is, when rules share no run, the rule reading the fewest runs; :func:`inapplicable_rules` lists where and
    why each rule does not apply. A rule that reads only some runs (``predicted_change_of_f`` reads binary
    runs only) therefore narrows the comparison to those runs: score without it to compare the others on all.
    Ranks compare the practical rules (not the reference rules that read test labels) on each run by total
    cost, 1 = cheapest, ties sharing the average rank.

    Parameters
    ----------
    scores : polars.DataFrame
        Output of :func:`score_rules`.

    Returns
    -------
    polars.DataFrame
        One row per rule, compared rules first by mean rank (reference rules after them): ``rule``,
        ``uses_test_labels``, ``compared`` (False: left out, its statistics are null), ``n_runs`` (the common
        runs of the comparison; 0 for a rule left out), ``n_readable`` (runs the rule could read),
        ``n_not_applicable``, ``mean_regret``, ``median_regret``, ``mean_relative_regret``, ``mean_rank``,
        ``failed_to_stop_share``, ``mean_labels_at_stop``, ``mean_accuracy_at_stop``,
        ``mean_accuracy_below_best``.

    Examples
    --------
    >>> import polars as pl
    >>> records = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "accuracy": [0.75, 0.875, 0.875]})
    >>> summary = summarize_scores(score_rules(records, ["label_budget", "oracle_optimal"], predictions=1000))
    >>> summary.select("rule", "n_runs", "mean_regret").rows()
    [('label_budget', 1, 10.0), ('oracle_optimal', 1, 0.0)]
    """
    _check_scores(scores, "summarize_scores")
    compared_scores, compared, n_common = _compared_scores(scores)
    keys = _run_columns(scores)
    practical = ~pl.col("uses_test_labels")
    ranked = compared_scores.with_columns(
        pl.when(practical).then(pl.col("total_cost")).rank("average").over(keys or pl.lit(0)).alias("rank")
    )
    statistics = ranked.group_by("rule", maintain_order=True).agg(
        pl.col("regret").mean().alias("mean_regret"),
        pl.col("regret").median().alias("median_regret"),
        pl.col("relative_regret").mean().alias("mean_relative_regret"),
        pl.col("rank").mean().alias("mean_rank"),
        pl.col("failed_to_stop").cast(pl.Float64).mean().alias("failed_to_stop_share"),
        pl.col("n_labeled_at_stop").cast(pl.Float64).mean().alias("mean_labels_at_stop"),
        pl.col("accuracy_at_stop").mean().alias("mean_accuracy_at_stop"),
        (pl.col("best_accuracy") - pl.col("accuracy_at_stop")).mean().alias("mean_accuracy_below_best"),
    )
    applicable = pl.col("applicable")
    counts = scores.group_by("rule", maintain_order=True).agg(
        pl.col("uses_test_labels").first(),
        pl.col("rule").is_in(compared).first().alias("compared"),
        applicable.sum().cast(pl.Int64).alias("n_readable"),
        (~applicable).sum().cast(pl.Int64).alias("n_not_applicable"),
    )
    summary = counts.with_columns(
        pl.when(pl.col("compared")).then(n_common).otherwise(0).cast(pl.Int64).alias("n_runs")
    ).join(statistics, on="rule", how="left", maintain_order="left")
    order = ["rule", "uses_test_labels", "compared", "n_runs", "n_readable", "n_not_applicable"]
    summary = summary.select(order + [c for c in summary.columns if c not in order])
    return summary.sort(["uses_test_labels", "mean_rank", "mean_regret"], nulls_last=True).sort(
        "compared", descending=True, maintain_order=True
    )


def inapplicable_rules(scores: pl.DataFrame) -> pl.DataFrame:
    """Where each rule does not apply: the runs it could not read, and why.

    Parameters
    ----------
    scores : polars.DataFrame
        Output of :func:`score_rules`.

    Returns
    -------
    polars.DataFrame
        One row per rule that could not read some run: ``rule``, ``n_runs`` (runs it could not read),
        ``of_runs`` (all runs), ``compared`` (whether :func:`summarize_scores` still compares it, on the
        runs it reads), ``datasets`` (of the runs it could not read, when the scores name them) and
        ``reason`` (the first run's message).

    Examples
    --------
    >>> import polars as pl
    >>> records = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "accuracy": [0.75, 0.875, 0.875]})
    >>> inapplicable_rules(score_rules(records, ["label_budget", "marginal_gain"])).select("rule", "n_runs").rows()
    [('marginal_gain', 1)]
    """
    _check_scores(scores, "inapplicable_rules")
    _, compared, _ = _compared_scores(scores)
    n_all = scores.select(_run_ids(scores).n_unique()).item()
    datasets = (
        pl.col("dataset").cast(pl.String).unique().sort().str.join(", ")
        if "dataset" in scores.columns
        else pl.lit(None, dtype=pl.String)
    )
    return (
        scores.filter(~pl.col("applicable"))
        .group_by("rule", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("n_runs"), datasets.alias("datasets"), pl.col("note").first().alias("reason")
        )
        .with_columns(pl.lit(n_all, dtype=pl.Int64).alias("of_runs"), pl.col("rule").is_in(compared).alias("compared"))
        .select("rule", "n_runs", "of_runs", "compared", "datasets", "reason")
    )


def winner_map(
    results: pl.DataFrame,
    rules: Sequence[StoppingRule | str] | None = None,
    *,
    label_costs: Sequence[float] | np.ndarray | None = None,
    lifetime_error_costs: Sequence[float] | np.ndarray | None = None,
    criterion: str = "mean_regret",
    progress: bool = False,
) -> pl.DataFrame:
    """Which practical rule wins at each point of a grid of (cost per label, lifetime cost of errors).

    The lifetime cost of errors is ``predictions * cost_per_error`` (the cost if the deployed model were wrong
    on every prediction). Rules that read test labels are left out: they would always win. Stop rounds do
    not depend on the costs, so they are computed once; only the ratio of the two costs decides the winner,
    which is why the map shows diagonal bands.

    Parameters
    ----------
    results : polars.DataFrame
        Records of one run or the long results frame.
    rules : sequence of StoppingRule or names, default=None
        Candidates; None means every registered practical rule with default parameters.
    label_costs : array-like of float > 0, default=np.logspace(-2, 2, 41)
    lifetime_error_costs : array-like of float > 0, default=np.logspace(1, 6, 51)
    criterion : {"mean_regret", "mean_rank"}, default="mean_regret"
        How a rule wins at a grid point: lowest regret averaged over runs, or lowest rank averaged over runs.
    progress : bool, default=False
        Show a progress bar over runs on stderr.

    Returns
    -------
    polars.DataFrame
        One row per grid point: ``cost_per_label``, ``lifetime_error_cost``, ``winner``, ``score`` (the
        winner's mean regret or mean rank) and ``n_runs`` (the runs the means are over). Rules that tie are
        all named, joined by ``" = "``. As in :func:`summarize_scores`, the candidates are compared on the
        runs every one of them can read; a candidate that reads no run is left out.

    Examples
    --------
    >>> import polars as pl
    >>> records = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "n_unlabeled": [90, 80, 70],
    ...                         "accuracy": [0.7, 0.8, 0.81]})
    >>> grid = winner_map(
    ...     records, ["label_budget", "pool_share_budget"], label_costs=[1.0], lifetime_error_costs=[100.0]
    ... )
    >>> grid["winner"].to_list()
    ['pool_share_budget']
    """
    if criterion not in ("mean_regret", "mean_rank"):
        raise fail("criterion", "winner_map", "one of ['mean_regret', 'mean_rank']", criterion)
    label_costs = np.logspace(-2, 2, 41) if label_costs is None else np.asarray(label_costs, dtype=float)
    error_costs = (
        np.logspace(1, 6, 51) if lifetime_error_costs is None else np.asarray(lifetime_error_costs, dtype=float)
    )
    for name, grid in (("label_costs", label_costs), ("lifetime_error_costs", error_costs)):
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
            given = grid.tolist() if grid.ndim == 1 else grid  # the values, not an array's shape, for a short list
            raise fail(name, "winner_map", "a non-empty 1-d sequence of finite floats > 0", given)
    if rules is None:
        candidates = [rule for rule in default_rules() if not rule.uses_test_labels]
    else:
        candidates = [make_rule(rule) for rule in rules]
        leaking = [rule.name for rule in candidates if rule.uses_test_labels]
        if leaking:
            raise InvalidParameterError(f"winner_map compares practical rules; {leaking} read test labels.")
    names = [rule.name or type(rule).__name__ for rule in candidates]
    label_grid, error_grid = np.meshgrid(label_costs, error_costs, indexing="ij")
    label_flat, error_flat = label_grid.ravel(), error_grid.ravel()
    runs = _evaluate_stops(results, candidates, progress)
    applicable = np.array([[name not in run.not_applicable for name in names] for run in runs], dtype=bool)
    compared, common = _comparison(applicable)
    if not compared.any():
        raise MissingSignalError("No candidate stopping rule could read any run of these results.")
    # Every compared rule is scored on the same runs, those all of them can read (see summarize_scores).
    columns = np.flatnonzero(compared)
    regret_sum = np.zeros((label_flat.size, columns.size))
    rank_sum = np.zeros_like(regret_sum)
    for run in (run for run, keep in zip(runs, common, strict=True) if keep):
        curve = label_flat[:, None] * run.units[None, :] + error_flat[:, None] * (1.0 - run.accuracy[None, :])
        last = len(run.rounds) - 1
        stops = [last if run.stops[names[j]] is None else run.stops[names[j]] for j in columns]
        stop_cost = curve[:, stops]
        regret_sum += stop_cost - curve.min(axis=1)[:, None]
        if criterion == "mean_rank":
            rank_sum += _average_ranks(stop_cost)
    n_common = int(common.sum())
    score = (rank_sum if criterion == "mean_rank" else regret_sum) / n_common
    best_score = score.min(axis=1)
    # Rules that stop at the same rounds tie exactly; name them all rather than pick one arbitrarily.
    tied = np.isclose(score, best_score[:, None], rtol=1e-9, atol=1e-12)
    winners = [" = ".join(names[columns[j]] for j in np.flatnonzero(row)) for row in tied]
    return pl.DataFrame(
        {
            "cost_per_label": label_flat,
            "lifetime_error_cost": error_flat,
            "winner": winners,
            "score": best_score,
            "n_runs": np.full(label_flat.size, n_common, dtype=np.int64),
        }
    )


def _average_ranks(costs: np.ndarray) -> np.ndarray:
    """Ranks (1 = cheapest, ties averaged) of each row's entries, as scipy.stats.rankdata along axis 1."""
    from scipy.stats import rankdata

    return rankdata(costs, method="average", axis=1)


def plot_winner_map(
    grid: pl.DataFrame,
    path: str | os.PathLike[str],
    *,
    highlight: tuple[float, float] | None = None,
    title: str | None = None,
) -> None:
    """Draw the winner map of :func:`winner_map` as a categorical heat map and save it.

    The figure is :func:`alsim.reports.figures.plot_stopping_winners` (built without pyplot).

    Parameters
    ----------
    grid : polars.DataFrame
        Output of :func:`winner_map`.
    path : path-like
        Where to write the image; the format follows the suffix.
    highlight : (cost_per_label, lifetime_error_cost), optional
        A cost point to mark (e.g. the one the table was computed for).
    title : str, optional

    Examples
    --------
    >>> import polars as pl, tempfile, pathlib
    >>> records = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "n_unlabeled": [90, 80, 70],
    ...                         "accuracy": [0.7, 0.8, 0.81]})
    >>> grid = winner_map(records, ["label_budget", "pool_share_budget"])
    >>> plot_winner_map(grid, pathlib.Path(tempfile.mkdtemp()) / "map.png")
    """
    from alsim.reports.figures import plot_stopping_winners

    figure = plot_stopping_winners(grid, highlight=highlight, title=title)
    figure.savefig(path, dpi=120)
