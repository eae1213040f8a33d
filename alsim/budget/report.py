"""Budget estimates for people: a plain-language answer, a Markdown report, a JSON file and a plot."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alsim.budget.estimate import BudgetEstimate, StrategyEstimate

__all__ = ["plain_answer", "plot_budget", "write_budget_report"]


def _count(value: float) -> str:
    return "not reached" if math.isinf(value) else f"{value:,.0f}"


def _money(value: float) -> str:
    return "not reached" if math.isinf(value) else f"{value:,.2f}"


def _interval(low: float, high: float, scale: float = 1.0, money: bool = False) -> str:
    fmt = _money if money else _count
    return f"{fmt(low * scale)} - {fmt(high * scale)}"


def plain_answer(estimate: BudgetEstimate) -> str:
    """Return a few sentences a team lead can act on."""
    lines = [f"Target: {estimate.target_description} on {estimate.data} ({estimate.cost_note})."]
    if estimate.recommended is None:
        lines.append("No candidate strategy is likely to reach it.")
    else:
        best = estimate.estimate(estimate.recommended)
        lab = best.labels
        sentence = (
            f"Use {best.strategy}: about {_count(lab.median)} labels (80% interval {_interval(*lab.interval_80)}; "
            f"95% {_interval(*lab.interval_95)}), costing about {_money(best.median_cost)} "
            f"(80% interval {_interval(*lab.interval_80, scale=best.cost_per_label, money=True)})."
        )
        lines.append(sentence)
        if best.savings_labels is not None and best.savings_share is not None:
            lines.append(
                f"That saves about {best.savings_labels:,.0f} labels ({best.savings_share:.0%}) against random "
                f"sampling, which needs about {_count(estimate.estimate('random').labels.median)}."
            )
        if lab.extrapolated:
            lines.append(
                f"This lies beyond the {lab.n_observed_max:,.0f} labels that could be simulated: it is extrapolated "
                "from fitted learning curves."
            )
    if estimate.stopping_rule is not None:
        lines.append(f"Stopping rule that stopped closest to the optimum on these runs: {estimate.stopping_rule}.")
    lines.extend(estimate.notes)
    return "\n".join(lines)


def plot_budget(estimate: BudgetEstimate, path: str | os.PathLike[str]) -> Path:
    """Learning curves per strategy with the fitted extrapolation, its 80% band, and the target line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import polars as pl

    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    finite_medians = [e.labels.median for e in estimate.estimates if not math.isinf(e.labels.median)]
    observed_max = float(estimate.curves["n_labeled"].max())  # type: ignore[arg-type]
    x_max = max([observed_max * 1.5, *[m * 1.3 for m in finite_medians]])
    for i, item in enumerate(estimate.estimates):
        color = colors[i % len(colors)]
        curve = estimate.curves.filter(pl.col("strategy") == item.strategy).sort("n_labeled")
        x = curve["n_labeled"].to_numpy()
        ax.plot(x, curve["mean"].to_numpy(), "o", ms=3, color=color, alpha=0.8)
        lab = item.labels
        fit_x = np.geomspace(max(float(x.min()), 1.0), x_max, 200)
        fit_y = lab.model.predict(fit_x)
        inside = fit_x <= observed_max
        ax.plot(fit_x[inside], fit_y[inside], "-", color=color, lw=1.6, label=_legend(item))
        ax.plot(fit_x[~inside], fit_y[~inside], "--", color=color, lw=1.6)
        if lab.band_80 is not None and lab.band_grid is not None:
            shown = lab.band_grid <= x_max
            ax.fill_between(
                lab.band_grid[shown], lab.band_80[0][shown], lab.band_80[1][shown], color=color, alpha=0.12, lw=0
            )
        if not math.isinf(lab.median):
            ax.plot([lab.median], [estimate.target], "v", color=color, ms=8)
    ax.axhline(estimate.target, color="black", lw=1, ls=":")
    ax.text(ax.get_xlim()[0], estimate.target, f"  target {estimate.target:.3f}", va="bottom", fontsize=9)
    ax.axvline(observed_max, color="grey", lw=0.8, ls="-.")
    ax.text(observed_max, ax.get_ylim()[0], " simulated | extrapolated ", fontsize=8, color="grey", va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("labels bought (log scale)")
    ax.set_ylabel(estimate.metric.replace("_", "-") + " on held-out rows")
    ax.set_title(
        f"Labels to reach the target on {Path(estimate.data).name}\n"
        "dots: mean over seeds; lines: fitted curves, dashed beyond the data;\n"
        "bands: 80% bootstrap over seeds; triangles: median labels to target",
        fontsize=10,
    )
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _legend(item: StrategyEstimate) -> str:
    return f"{item.strategy}: {_count(item.labels.median)} labels"


def _markdown(estimate: BudgetEstimate, plot_name: str) -> str:
    rows = [
        "| strategy | labels (median) | 80% interval | 95% interval | cost (median) | P(out of reach) | "
        "extrapolated | saves vs random |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for item in estimate.estimates:
        lab = item.labels
        saves = "" if item.savings_share is None else f"{item.savings_labels:,.0f} ({item.savings_share:.0%})"
        rows.append(
            f"| {item.strategy} | {_count(lab.median)} | {_interval(*lab.interval_80)} | "
            f"{_interval(*lab.interval_95)} | {_money(item.median_cost)} | {lab.p_unreachable:.0%} | "
            f"{'yes' if lab.extrapolated else 'no'} | {saves} |"
        )
    parts = [
        f"# Labeling budget for {estimate.data}",
        "",
        plain_answer(estimate).replace("\n", "\n\n"),
        "",
        f"Simulated on {estimate.n_available:,} labeled rows ({estimate.n_pool:,} in the pool, the rest held out "
        f"to measure quality), {estimate.seeds} seeds per strategy.",
        "",
        "\n".join(rows),
        "",
        f"![learning curves]({plot_name})",
    ]
    if estimate.stopping_summary is not None:
        table = estimate.stopping_summary.select(
            "rule", "uses_test_labels", "mean_regret", "mean_rank", "failed_to_stop_share", "mean_labels_at_stop"
        )
        parts += [
            "",
            "## Stopping rules on these runs",
            "",
            "| " + " | ".join(table.columns) + " |",
            "|" + "---|" * table.width,
        ]
        for row in table.iter_rows():
            parts.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(parts) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}"
    return str(value)


def write_budget_report(estimate: BudgetEstimate, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``budget.md``, ``budget.json`` and ``budget.png`` into ``out_dir``; return the Markdown path."""
    from alsim._output import check_output_dir, parameter

    out = check_output_dir(out_dir, who=parameter("out_dir", "write_budget_report"))
    plot_budget(estimate, out / "budget.png")
    (out / "budget.json").write_text(json.dumps(estimate.to_dict(), indent=2) + "\n")
    report = out / "budget.md"
    report.write_text(_markdown(estimate, "budget.png"))
    return report
