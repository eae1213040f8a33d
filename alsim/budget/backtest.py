"""Backtest and calibration of the budget extrapolation: predict from the start of a curve, check the end.

Every (dataset, learner, batch size, strategy) mean curve of finished grid runs is cut at ``fit_share`` of its
label range. Targets sit above the best score of that fitted part: ``best + gain * (1 - best)`` for each
``gain``, so some are reached later by the full curve and some never are (those make the "out of reach" base
rate). :func:`alsim.budget.curves.extrapolate_curve` predicts, from the fitted part alone, the labels each
target needs; the prediction is compared with the crossing observed on the full curve.

:func:`score_cases` (and :func:`backtest`) scores the calibrated answer *leave-dataset-out*: the intervals
and the out-of-reach probabilities of a dataset's cases come from a calibration
(:func:`alsim.budget.calibration.fit_calibration`) fitted on the other datasets' cases only, as they would
be for a team's new data. :func:`calibrate` fits the
table on every case (what ``alsim budget`` ships with).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from alsim._validation import check_fraction, fail
from alsim.budget.calibration import (
    BudgetCalibration,
    CalibrationCase,
    fit_calibration,
    out_of_reach_features,
)
from alsim.budget.curves import extrapolate_curve, median_crossing, observed_crossing
from alsim.exceptions import InvalidInputError

__all__ = [
    "BACKTEST_COLUMNS",
    "backtest",
    "backtest_cases",
    "calibrate",
    "score_cases",
    "summarize_backtest",
    "summarize_by_setting",
    "write_backtest_report",
]

#: Gains of the default targets: ``best + gain * (1 - best)`` above the best score of the fitted part.
DEFAULT_GAINS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)

#: Columns of :func:`backtest`'s table (and of ``alsim backtest --json`` rows), in order.
BACKTEST_COLUMNS: dict[str, Any] = {
    "dataset": pl.String,
    "learner": pl.String,
    "batch_size": pl.Int64,
    "strategy": pl.String,
    "gain": pl.Float64,
    "target": pl.Float64,
    "observed_labels": pl.Float64,
    "predicted_labels": pl.Float64,
    "lower_80": pl.Float64,
    "upper_80": pl.Float64,
    "lower_95": pl.Float64,
    "upper_95": pl.Float64,
    "p_out_of_reach": pl.Float64,
    "fit_labels": pl.Float64,
    "max_labels": pl.Float64,
}

# Predictions are searched up to this many times the fitted labels; beyond, a target counts as not reached.
_SEARCH_FACTOR = 1000.0


def backtest_cases(
    results: pl.DataFrame,
    *,
    fit_share: float = 0.4,
    gains: Sequence[float] = DEFAULT_GAINS,
    metric: str = "accuracy",
    progress: bool = True,
) -> list[CalibrationCase]:
    """Cut every mean curve at ``fit_share``, predict each target from the fitted part, record what happened.

    Parameters
    ----------
    results : polars.DataFrame
        The long frame of :func:`alsim.experiments.load_results` (several runs concatenated are fine).
    fit_share : float in (0, 1), default=0.4
        Share of each curve's label range the prediction may see.
    gains : sequence of float in (0, 1)
        Targets ``best + gain * (1 - best)`` above the best score of the fitted part.
    metric : {"accuracy", "macro_f1"}, default="accuracy"
        With accuracy, the full-pool reference accuracy of the runs caps the fitted ceilings.
    progress : bool, default=True
        Show a progress bar over the curves.

    Returns
    -------
    list of CalibrationCase
    """
    from tqdm.auto import tqdm

    from alsim.budget.estimate import labels_to_target_table

    check_fraction(fit_share, "fit_share", "backtest")
    if not gains or any(not 0.0 < g < 1.0 for g in gains):
        raise fail("gains", "backtest", "shares in (0, 1)", list(gains))
    keys = [c for c in ("dataset", "learner", "batch_size") if c in results.columns]
    groups = list(results.group_by(keys, maintain_order=True))
    curves = []
    for key_values, runs in groups:
        setting = dict(zip(keys, key_values, strict=True))
        reference = None
        if metric == "accuracy" and "reference_accuracy" in runs.columns:
            per_cell = runs.group_by("cell_id").agg(pl.col("reference_accuracy").first())["reference_accuracy"]
            reference = None if per_cell.null_count() == per_cell.len() else float(per_cell.mean())  # type: ignore[arg-type]
        for strategy, (grid, scores) in labels_to_target_table(runs, metric).items():
            curves.append((setting, reference, strategy, grid, scores))
    cases: list[CalibrationCase] = []
    for setting, reference, strategy, grid, scores in tqdm(
        curves, desc="backtest", unit="curve", disable=not progress, leave=False
    ):
        mean_curve = scores.mean(axis=0)
        low, high = float(grid.min()), float(grid.max())
        early = grid <= low + fit_share * (high - low)
        if early.sum() < 4:
            continue
        x, y = grid[early], mean_curve[early]
        try:
            extrapolation = extrapolate_curve(x, y, reference=reference)
        except InvalidInputError:
            continue
        best = float(y.max())
        fit_labels = float(x.max())
        for gain in gains:
            target = best + gain * (1.0 - best)
            crossings = extrapolation.crossings(target, n_max=_SEARCH_FACTOR * fit_labels)
            predicted = median_crossing(crossings)
            cases.append(
                CalibrationCase(
                    dataset=str(setting["dataset"]),
                    learner=None if "learner" not in setting else str(setting["learner"]),
                    batch_size=None if "batch_size" not in setting else int(setting["batch_size"]),
                    strategy=strategy,
                    target=float(target),
                    predicted=predicted,
                    fit_labels=fit_labels,
                    horizon=high,
                    observed=observed_crossing(grid, mean_curve, target),
                    features=out_of_reach_features(extrapolation, target, predicted, high, crossings),
                    gain=float(gain),
                )
            )
    return cases


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _rows(cases: Sequence[CalibrationCase], calibration: BudgetCalibration) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        median, (lo80, hi80), (lo95, hi95) = calibration.labels(case.predicted, case.fit_labels)
        rows.append(
            {
                "dataset": case.dataset,
                "learner": case.learner,
                "batch_size": case.batch_size,
                "strategy": case.strategy,
                "gain": case.gain,
                "target": case.target,
                "observed_labels": case.observed,
                "predicted_labels": _finite_or_none(median),
                # A lower end is bounded whenever the upper one is; an unbounded interval has no ends.
                "lower_80": _finite_or_none(lo80),
                "upper_80": _finite_or_none(hi80),
                "lower_95": _finite_or_none(lo95),
                "upper_95": _finite_or_none(hi95),
                "p_out_of_reach": calibration.p_out_of_reach(case.features),
                "fit_labels": case.fit_labels,
                "max_labels": case.horizon,
            }
        )
    return rows


def score_cases(cases: Sequence[CalibrationCase]) -> pl.DataFrame:
    """Calibrated predictions of every case, each calibrated on the *other* datasets' cases only.

    Parameters
    ----------
    cases : sequence of CalibrationCase
        From :func:`backtest_cases`.

    Returns
    -------
    polars.DataFrame
        One row per case with :data:`BACKTEST_COLUMNS`: ``observed_labels`` is null when the full curve
        never reached the target; ``predicted_labels`` (the calibrated median) and the interval ends are
        null only where unbounded; ``p_out_of_reach`` is the probability of not reaching the target by
        ``max_labels``.
    """
    rows: list[dict[str, Any]] = []
    for dataset in dict.fromkeys(case.dataset for case in cases):
        held_out = [case for case in cases if case.dataset == dataset]
        calibration = fit_calibration([case for case in cases if case.dataset != dataset])
        rows += _rows(held_out, calibration)
    # A stable order whatever order the runs were read in.
    order = ["dataset", "learner", "batch_size", "strategy", "gain", "target"]
    return pl.DataFrame(rows, schema=BACKTEST_COLUMNS).sort(order, nulls_last=True, maintain_order=True)


def backtest(
    results: pl.DataFrame,
    *,
    fit_share: float = 0.4,
    gains: Sequence[float] = DEFAULT_GAINS,
    metric: str = "accuracy",
    progress: bool = False,
) -> pl.DataFrame:
    """Backtest the calibrated budget extrapolation on finished grid runs, leave-dataset-out.

    :func:`backtest_cases` then :func:`score_cases`; the parameters are those of :func:`backtest_cases`.
    The runs need at least two datasets (each is calibrated on the others).

    Examples
    --------
    >>> from alsim.experiments import load_results
    >>> table = backtest(load_results("runs/budget_backtest"))  # doctest: +SKIP
    >>> summarize_backtest(table)["coverage_80"]  # doctest: +SKIP
    """
    cases = backtest_cases(results, fit_share=fit_share, gains=gains, metric=metric, progress=progress)
    return score_cases(cases)


def calibrate(cases: Sequence[CalibrationCase], *, source: str = "") -> BudgetCalibration:
    """Fit the calibration table on every case (what ``alsim budget`` uses by default)."""
    return fit_calibration(cases, source=source)


def _measures(table: pl.DataFrame) -> dict[str, float]:
    reached = table.filter(pl.col("observed_labels").is_not_null())
    out: dict[str, float] = {"cases": float(table.height), "reached": float(reached.height)}
    unreached = table["observed_labels"].is_null().to_numpy().astype(np.float64)
    p = table["p_out_of_reach"].to_numpy()
    base_rate = float(unreached.mean()) if table.height else math.nan
    out["out_of_reach_rate"] = base_rate
    out["brier"] = float(np.mean((p - unreached) ** 2)) if table.height else math.nan
    out["brier_base_rate"] = float(np.mean((base_rate - unreached) ** 2)) if table.height else math.nan
    if reached.height == 0:
        return out
    observed = reached["observed_labels"].to_numpy()

    def covered(low: str, high: str) -> float:
        lo = reached[low].to_numpy()
        hi = reached[high].to_numpy()
        # Only bounded intervals can hold the observed value: an unbounded one counts as a miss.
        bounded = ~np.isnan(hi.astype(np.float64))
        hits = bounded & (np.nan_to_num(lo, nan=np.inf) <= observed) & (observed <= np.nan_to_num(hi, nan=-np.inf))
        return float(hits.mean())

    predicted = reached["predicted_labels"].to_numpy().astype(np.float64)
    finite = ~np.isnan(predicted)
    log2_error = np.log2(predicted[finite] / observed[finite])
    out["finite_upper_80"] = float((~np.isnan(reached["upper_80"].to_numpy().astype(np.float64))).mean())
    out["coverage_80"] = covered("lower_80", "upper_80")
    out["coverage_95"] = covered("lower_95", "upper_95")
    out["median_abs_log2_error"] = float(np.median(np.abs(log2_error))) if finite.any() else math.nan
    out["median_ratio"] = float(2.0 ** np.median(log2_error)) if finite.any() else math.nan
    return out


def summarize_backtest(table: pl.DataFrame) -> dict[str, float]:
    """Headline numbers of a :func:`backtest` table, over all its cases.

    Interval measures count only the cases whose full curve reached the target, and only bounded
    intervals as hits: ``finite_upper_80`` (share with a finite 80% upper end), ``coverage_80`` and
    ``coverage_95``; ``median_abs_log2_error`` and ``median_ratio`` (predicted / observed) of the calibrated
    median; ``brier`` of ``p_out_of_reach`` against ``brier_base_rate``, the Brier score of always
    predicting the share of targets out of reach.
    """
    return _measures(table)


def summarize_by_setting(table: pl.DataFrame) -> pl.DataFrame:
    """:func:`summarize_backtest` per learner and batch size, then over all cases (``learner="all"``)."""
    rows = []
    keys = [c for c in ("learner", "batch_size") if table[c].null_count() < table.height]
    if keys:
        for key_values, part in table.sort(keys).group_by(keys, maintain_order=True):
            setting = dict(zip(keys, key_values, strict=True))
            learner, batch_size = str(setting.get("learner")), setting.get("batch_size")
            rows.append({"learner": learner, "batch_size": batch_size, **_measures(part)})
    rows.append({"learner": "all", "batch_size": None, **_measures(table)})
    return pl.DataFrame(rows)


#: Files :func:`write_backtest_report` writes into its directory.
REPORT_FILES: tuple[str, ...] = ("backtest.md", "backtest.csv", "backtest.png")

_BARS = (
    ("finite_upper_80", "80% interval bounded", "≥ 0.85"),
    ("coverage_80", "80% interval holds the observed labels", "0.72-0.88"),
    ("coverage_95", "95% interval holds the observed labels", "0.90-0.98"),
    ("median_abs_log2_error", "median abs. log2 error of the median", "≤ 0.25"),
    ("median_ratio", "median predicted / observed", "0.91-1.10"),
    ("brier", "Brier score of P(out of reach)", "< base rate's"),
    ("brier_base_rate", "Brier score of always predicting the base rate", ""),
)


def _format(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and value >= 10 else f"{value:.3f}"
    return str(value)


def write_backtest_report(
    table: pl.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    fit_share: float,
    command: str | None = None,
) -> Path:
    """Write ``backtest.md`` (the bars per learner and batch size), ``backtest.csv`` and ``backtest.png``.

    ``command`` is the command line that regenerates the report, quoted in it.
    """
    from alsim._output import check_output_dir, parameter, writing_to
    from alsim.reports import figures
    from alsim.reports.document import Document

    out = check_output_dir(out_dir, who=parameter("out_dir", "write_backtest_report"))
    summary = summarize_by_setting(table)
    with writing_to(out, who=parameter("out_dir", "write_backtest_report")):
        table.write_csv(out / "backtest.csv")
        figures.plot_backtest(table, fit_share).savefig(out / "backtest.png", dpi=110)
        settings = [
            "all" if row["learner"] == "all" else f"{row['learner']}, batch {row['batch_size']}"
            for row in summary.iter_rows(named=True)
        ]
        doc = Document("Budget extrapolation backtest")
        doc.paragraph(
            f"Every mean curve (dataset, learner, batch size, strategy) was cut at {fit_share:.0%} of its label "
            "range. Targets lie above the best score of that part (best + g x (1 - best), g = 0.1, 0.2, 0.3, "
            "0.5); the labels each needs were predicted from that part alone and compared with the full curve. "
            "Each dataset's intervals and out-of-reach probabilities come from a calibration fitted on the "
            "*other* datasets (leave-dataset-out). Interval measures count the cases whose full curve reached "
            "the target, and only bounded intervals as hits."
        )
        rows = [
            [label, "", *(_format(v) for v in summary[name].to_list())]
            for name, label in (("cases", "cases"), ("reached", "reached within the curve"))
        ]
        rows += [[label, bar, *(_format(v) for v in summary[name].to_list())] for name, label, bar in _BARS]
        doc.table(["measure", "target", *settings], rows)
        doc.image("backtest.png", "Predicted against observed, and reliability of P(out of reach)")
        doc.paragraph("Per case: `backtest.csv` (empty bounds are unbounded intervals; empty observed = not reached).")
        if command is not None:
            doc.paragraph("Regenerate:")
            doc.code(command, language="bash")
        report = out / "backtest.md"
        report.write_text(doc.to_markdown(), encoding="utf-8")
    return report
