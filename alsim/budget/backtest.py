"""Backtest of the budget extrapolation: predict labels-to-target from the start of a curve, check the end.

For every (dataset, learner, batch size, strategy) of a grid run, the curves over seeds are cut at ``fit_share`` of
their label range; :func:`alsim.budget.curves.bootstrap_labels_to_target` predicts, from that early part alone,
the labels needed to reach targets that the full curves reached only later; the prediction is compared with the
crossing observed on the full mean curve. The errors (as a ratio predicted / observed) and the share of
observed values inside the 80% and 95% intervals say how far the extrapolation can be trusted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from alsim.budget.curves import bootstrap_labels_to_target, observed_crossing
from alsim.budget.estimate import labels_to_target_table
from alsim.exceptions import InvalidParameterError

__all__ = ["backtest", "summarize_backtest", "write_backtest_report"]


def backtest(
    results: pl.DataFrame,
    *,
    fit_share: float = 0.4,
    target_points: Sequence[float] = (0.6, 0.8, 1.0),
    metric: str = "accuracy",
    n_boot: int = 100,
    random_state: int = 0,
) -> pl.DataFrame:
    """Predict labels-to-target from the early part of each curve and compare with what was observed.

    Parameters
    ----------
    results : polars.DataFrame
        The long frame of :func:`alsim.experiments.load_results`.
    fit_share : float in (0, 1), default=0.4
        Share of each curve's label range that the extrapolation may see.
    target_points : sequence of float in (0, 1]
        Targets are the full mean curve's running best at these shares of the label range; a target that
        the curve already reached inside the fitted part is skipped (nothing to extrapolate).
    metric : str, default="accuracy"
    n_boot : int, default=100
    random_state : int, default=0

    Returns
    -------
    polars.DataFrame
        One row per (dataset, learner, batch_size, strategy, target); ``learner`` and ``batch_size`` only
        when the results have them: ``observed_labels``, ``predicted_labels`` (median),
        ``ratio`` (predicted / observed, inf when predicted out of reach), ``in_80``, ``in_95``,
        ``p_unreachable``, ``fit_labels`` (labels the fit saw), ``max_labels``.
    """
    if not 0.0 < fit_share < 1.0:
        raise InvalidParameterError(
            f"The 'fit_share' parameter of backtest must be a float in (0, 1). Got {fit_share!r} instead."
        )
    if not target_points or any(not 0.0 < p <= 1.0 for p in target_points):
        raise InvalidParameterError(
            f"The 'target_points' parameter of backtest must be shares in (0, 1]. Got {list(target_points)!r} instead."
        )
    # One curve family per dataset *and* setting: seeds of other learners or batch sizes are other curves.
    keys = [c for c in ("dataset", "learner", "batch_size") if c in results.columns]
    rows = []
    for key_values, runs in results.group_by(keys, maintain_order=True):
        setting = dict(zip(keys, key_values, strict=True))
        setting["dataset"] = str(setting["dataset"])
        for strategy, (grid, scores) in labels_to_target_table(runs, metric).items():
            mean_curve = scores.mean(axis=0)
            best_so_far = np.maximum.accumulate(mean_curve)
            low, high = grid.min(), grid.max()
            fit_limit = low + fit_share * (high - low)
            early = grid <= fit_limit
            if early.sum() < 4:
                continue
            for share in target_points:
                at = int(np.searchsorted(grid, low + share * (high - low), side="right")) - 1
                target = float(best_so_far[max(at, 0)])
                observed = observed_crossing(grid, mean_curve, target)
                if observed is None or observed <= fit_limit:
                    continue
                predicted = bootstrap_labels_to_target(
                    grid[early], scores[:, early], target, n_max=100 * high, n_boot=n_boot, random_state=random_state
                )
                lo80, hi80 = predicted.interval_80
                lo95, hi95 = predicted.interval_95
                rows.append(
                    {
                        **setting,
                        "strategy": strategy,
                        "target": target,
                        "observed_labels": observed,
                        "predicted_labels": predicted.median,
                        "ratio": predicted.median / observed,
                        "in_80": lo80 <= observed <= hi80,
                        "in_95": lo95 <= observed <= hi95,
                        "p_unreachable": predicted.p_unreachable,
                        "fit_labels": float(grid[early].max()),
                        "max_labels": float(high),
                    }
                )
    return pl.DataFrame(
        rows,
        schema={
            **{c: (pl.String if c == "dataset" else results.schema[c]) for c in keys},
            "strategy": pl.String,
            "target": pl.Float64,
            "observed_labels": pl.Float64,
            "predicted_labels": pl.Float64,
            "ratio": pl.Float64,
            "in_80": pl.Boolean,
            "in_95": pl.Boolean,
            "p_unreachable": pl.Float64,
            "fit_labels": pl.Float64,
            "max_labels": pl.Float64,
        },
    )


def summarize_backtest(table: pl.DataFrame) -> dict[str, float]:
    """Headline numbers: cases, median and 90th-percentile absolute log2 error, interval coverage."""
    if table.height == 0:
        return {"cases": 0}
    ratio = table["ratio"].to_numpy()
    finite = np.isfinite(ratio)
    abs_log2 = np.abs(np.log2(ratio[finite])) if finite.any() else np.array([math.nan])
    return {
        "cases": int(table.height),
        "predicted_out_of_reach": int((~finite).sum()),
        "median_ratio": float(np.median(ratio[finite])) if finite.any() else math.nan,
        "median_abs_log2_error": float(np.median(abs_log2)),
        "p90_abs_log2_error": float(np.quantile(abs_log2, 0.9)),
        "within_25_percent": float(np.mean((ratio >= 0.75) & (ratio <= 1.25))),
        "coverage_80": float(table["in_80"].mean()),  # type: ignore[arg-type]
        "coverage_95": float(table["in_95"].mean()),  # type: ignore[arg-type]
    }


def write_backtest_report(table: pl.DataFrame, out_dir: str | os.PathLike[str], *, fit_share: float) -> Path:
    """Write ``backtest.md``, ``backtest.csv`` and ``backtest.png`` (predicted vs observed labels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alsim._output import check_output_dir, parameter

    out = check_output_dir(out_dir, who=parameter("out_dir", "write_backtest_report"))
    table.write_csv(out / "backtest.csv")
    summary = summarize_backtest(table)
    fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
    finite = table.filter(pl.col("ratio").is_finite())
    for strategy, part in finite.group_by("strategy", maintain_order=True):
        ax.scatter(part["observed_labels"], part["predicted_labels"], s=18, alpha=0.7, label=str(strategy[0]))
    if finite.height:
        lo = float(np.min([finite["observed_labels"].min(), finite["predicted_labels"].min()]))
        hi = float(np.max([finite["observed_labels"].max(), finite["predicted_labels"].max()]))
        ax.plot([lo, hi], [lo, hi], color="black", lw=1)
        ax.fill_between(
            [lo, hi], [lo * 0.75, hi * 0.75], [lo * 1.25, hi * 1.25], color="grey", alpha=0.15, label="within 25%"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("labels to target observed on the full curves")
    ax.set_ylabel(f"labels predicted from the first {fit_share:.0%} of the curves (median)")
    ax.set_title("Budget extrapolation backtest")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    fig.savefig(out / "backtest.png", dpi=120)
    plt.close(fig)
    lines = [
        "# Budget extrapolation backtest",
        "",
        f"Each curve was cut at {fit_share:.0%} of its label range; labels-to-target for targets reached only "
        "later were predicted from that part alone and compared with the full curves.",
        "",
        "| measure | value |",
        "|---|---:|",
    ]
    lines += [
        f"| {key} | {value:.3g} |" if isinstance(value, float) else f"| {key} | {value} |"
        for key, value in summary.items()
    ]
    lines += ["", "![predicted vs observed](backtest.png)", "", "Per case: `backtest.csv`."]
    report = out / "backtest.md"
    report.write_text("\n".join(lines) + "\n")
    return report
