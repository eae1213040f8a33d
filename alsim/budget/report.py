"""Budget estimates for people: a Markdown report, a JSON file and a plot, beside the plain answer.

The plain-language answer itself lives with the estimate's types in :mod:`alsim.budget.answer`; this module
only renders (imports flow ``answer <- report``, never back).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from alsim._messages import option_name
from alsim._output import check_new_outputs, check_output_dir, writing_to
from alsim.budget.answer import (
    BudgetEstimate,
    StrategyEstimate,
    format_count,
    format_interval,
    format_money,
    plain_answer,
)
from alsim.reports.document import Document

__all__ = ["REPORT_FILES", "check_report_location", "plain_answer", "plot_budget", "write_budget_report"]

#: The files of one budget answer, written into the output directory.
REPORT_FILES: tuple[str, ...] = ("budget.md", "budget.json", "budget.png")


def _median_text(item: StrategyEstimate) -> str:
    """Return the median labels, or why there is none."""
    if math.isinf(item.labels.median):
        return f"out of reach (P {item.labels.p_unreachable:.0%})"
    return f"{format_count(item.labels.median)} labels"


def _coinciding(estimate: BudgetEstimate) -> dict[str, list[str]]:
    """Per strategy, the other strategies whose mean curves are the same (they hide each other in a plot)."""
    import numpy as np
    import polars as pl

    means = {
        item.strategy: estimate.curves.filter(pl.col("strategy") == item.strategy).sort("n_labeled")
        for item in estimate.estimates
    }
    out: dict[str, list[str]] = {name: [] for name in means}
    names = list(means)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = means[first], means[second]
            same_grid = a.height == b.height and a["n_labeled"].equals(b["n_labeled"])
            if same_grid and np.allclose(a["mean"].to_numpy(), b["mean"].to_numpy(), atol=1e-9):
                out[first].append(second)
                out[second].append(first)
    return out


def plot_budget(estimate: BudgetEstimate, path: str | os.PathLike[str]) -> Path:
    """Learning curves per strategy, their extrapolation with an 80% band, and the labels-to-target intervals.

    Every strategy has its own colour, line style and marker; strategies whose curves coincide say so in
    the legend. The 80% interval of labels-to-target is drawn at the target line (an arrow where it has no
    upper end), and the x-axis (log scale) covers every interval drawn.
    """
    from alsim.reports.figures import plot_budget as budget_figure

    coinciding = _coinciding(estimate)
    legend = {}
    for item in estimate.estimates:
        label = f"{item.strategy}: {_median_text(item)}"
        if coinciding[item.strategy]:
            label += f" (same curve as {', '.join(coinciding[item.strategy])})"
        legend[item.strategy] = label
    fig = budget_figure(estimate, legend, coinciding)
    out = Path(path)
    fig.savefig(out, dpi=120)
    return out


def _report_document(estimate: BudgetEstimate, plot_name: str) -> Document:
    doc = Document(f"Labeling budget for {estimate.data}")
    for line in plain_answer(estimate).splitlines():
        doc.paragraph(f"**{line}**" if line.startswith("Warning:") else line)
    doc.paragraph(
        f"Simulated on {estimate.n_available:,} labeled rows ({estimate.n_pool:,} in the pool, the rest held out "
        f"to measure quality), {estimate.seeds} seeds per strategy. Money: {estimate.cost_note}."
    )
    rows = []
    for item in estimate.estimates:
        lab = item.labels
        saves = "" if item.savings_share is None else f"{item.savings_labels:,.0f} ({item.savings_share:.0%})"
        rows.append(
            [
                item.strategy,
                "out of reach" if math.isinf(lab.median) else format_count(lab.median),
                format_interval(*lab.interval_80),
                format_interval(*lab.interval_95),
                "" if math.isinf(item.median_cost) else format_money(item.median_cost),
                format_interval(*item.cost_interval_80, money=True),
                f"{lab.p_unreachable:.0%}",
                "yes" if lab.extrapolated else "no",
                saves,
            ]
        )
    doc.table(
        [
            "strategy",
            "labels (median)",
            "80% interval",
            "95% interval",
            "cost (median)",
            "cost 80% interval",
            "P(out of reach)",
            "extrapolated",
            "saves vs random",
        ],
        rows,
    )
    doc.image(plot_name, "Learning curves, their extrapolation and the labels-to-target intervals per strategy")
    same = _coinciding(estimate)
    groups = sorted({tuple(sorted([name, *others])) for name, others in same.items() if others})
    if groups:
        doc.paragraph(
            "Strategies with the same learning curve on these runs (drawn on top of each other, told apart by "
            "line style and marker): " + "; ".join(" = ".join(group) for group in groups) + "."
        )
    if estimate.stopping_summary is not None:
        table = estimate.stopping_summary.select(
            "rule", "uses_test_labels", "mean_regret", "mean_rank", "failed_to_stop_share", "mean_labels_at_stop"
        )
        doc.heading("Stopping rules on these runs")
        doc.table(table.columns, [[_cell(v) for v in row] for row in table.iter_rows()])
    return doc


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}"
    return str(value)


def check_report_location(out_dir: str | os.PathLike[str], *, overwrite: bool = False, caller: str) -> Path:
    """Check before the long work that ``out_dir`` is writable and holds no earlier answer (unless ``overwrite``).

    ``caller`` names the function in Python messages; on the command line they name ``--out`` and
    ``--overwrite``.
    """
    who = option_name("out_dir", "--out", caller)
    out = check_output_dir(out_dir, who=who)
    if not overwrite:
        from alsim._messages import on_command_line

        check_new_outputs(out, REPORT_FILES, who=who, allow="--overwrite" if on_command_line() else "overwrite=True")
    return out


def write_budget_report(estimate: BudgetEstimate, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``budget.md``, ``budget.json`` and ``budget.png`` into ``out_dir``; return the Markdown path.

    An earlier answer in ``out_dir`` is never replaced silently: with ``overwrite=False`` (the default) a
    directory that holds any of these files raises :class:`alsim.exceptions.OutputPathError`.
    """
    out = check_report_location(out_dir, overwrite=overwrite, caller="write_budget_report")
    report = out / "budget.md"
    with writing_to(out, who=option_name("out_dir", "--out", "write_budget_report")):
        plot_budget(estimate, out / "budget.png")
        (out / "budget.json").write_text(json.dumps(estimate.to_dict(), indent=2) + "\n")
        report.write_text(_report_document(estimate, "budget.png").to_markdown())
    return report
