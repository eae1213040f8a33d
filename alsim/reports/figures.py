"""Report figures: learning curves per dataset, ranks, critical-difference diagram, seed stability, drift recovery.

Also the figures of the other reports: one run's learning curve (:meth:`SimulationResult.plot
<alsim.records.SimulationResult.plot>`), the labeling budget, the budget backtest and the stopping-rule
winner map. Every matplotlib import of the package is in this module.

Every function returns a matplotlib :class:`~matplotlib.figure.Figure` built without pyplot's global
state (so it works in worker processes and under the Agg backend); save it with ``fig.savefig``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from matplotlib import colormaps, rcParams
from matplotlib.artist import Artist
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from alsim._messages import counted
from alsim.exceptions import InvalidInputError
from alsim.stats import nemenyi_groups

if TYPE_CHECKING:
    from alsim.budget.answer import BudgetEstimate
    from alsim.records import SimulationResult

__all__ = [
    "X_LABELS",
    "plot_backtest",
    "plot_budget",
    "plot_critical_difference",
    "plot_distance_to_bound",
    "plot_drift_recovery",
    "plot_learning_curves",
    "plot_ranks",
    "plot_run",
    "plot_seed_stability",
    "plot_stopping_winners",
    "strategy_colors",
]

X_LABELS = {
    "n_labeled": "labels bought",
    "cost": "cumulative labeling cost (oracle cost units)",
    "examples_seen": "examples seen (stream arrivals, labelled or not)",
}
# Dash patterns of a strategy drawn over an identical twin (the twin's solid line shows in the gaps).
_TWIN_DASHES: tuple[tuple[int, tuple[float, ...]], ...] = ((0, (4.0, 3.0)), (0, (1.0, 2.5)), (0, (6.0, 2.0, 1.0, 2.0)))
_METRIC_LABELS = {
    "accuracy": "test accuracy",
    "macro_f1": "test macro-F1",
    "balanced_accuracy": "test balanced accuracy",
}


def strategy_colors(strategies: Sequence[str], baseline: str = "random") -> dict[str, str]:
    """Return a fixed colour per strategy, the baseline in black, so every figure of a report agrees."""
    others = sorted(s for s in set(strategies) if s != baseline)
    # Greys are left out: they belong to the baseline's band and the full-pool reference line.
    if len(others) <= 9:
        palette = [colormaps["tab10"](i) for i in range(10) if i != 7]
    else:
        palette = [colormaps["tab20"](i) for i in range(20) if i not in (14, 15)]
    colors = {s: _hex(palette[i % len(palette)]) for i, s in enumerate(others)}
    if baseline in strategies:
        colors[baseline] = "#000000"
    return colors


def _hex(rgba: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgba[:3])


def plot_learning_curves(
    curves: pl.DataFrame,
    *,
    x: str,
    metric: str = "accuracy",
    references: dict[str, float] | None = None,
    colors: dict[str, str] | None = None,
    baseline: str = "random",
    title: str = "",
    ncols: int = 4,
    coincident: dict[str, list[list[str]]] | None = None,
) -> Figure:
    """Small multiples, one panel per dataset, of mean learning curves with their confidence bands.

    A panel title gives the number of seeds behind its curves, per strategy when they differ. Strategies
    that made identical choices on a dataset (``coincident``) would hide each other: the second and later
    of a group are drawn on top with their own dash pattern, and the panel names the group.

    Bands are drawn clipped to [0, 1], the range of the metrics: with few seeds a t-interval can reach
    past it (the tables keep the unclipped bounds).

    Parameters
    ----------
    curves : polars.DataFrame
        Output of :func:`alsim.metrics.learning_curves` for one learner and batch size.
    x : {"n_labeled", "cost"}
    metric : str
        Name of the plotted metric, for the axis label.
    references : dict, optional
        Full-pool accuracy per dataset, drawn as a dashed grey line.
    colors : dict, optional
        Strategy -> colour (see :func:`strategy_colors`).
    baseline : str
        Drawn dashed so it stands out from the strategies compared with it.
    title : str
    ncols : int
        Panels per row.
    coincident : dict, optional
        Dataset -> groups of strategies with identical curves (see
        :func:`alsim.reports.writer.coincident_strategies`).

    Examples
    --------
    >>> fig = plot_learning_curves(learning_curves(results), x="n_labeled")  # doctest: +SKIP
    >>> fig.savefig("curves.png")  # doctest: +SKIP
    """
    if curves.height == 0:
        raise InvalidInputError("plot_learning_curves got an empty curves frame; nothing to plot.")
    datasets = sorted(curves.get_column("dataset").unique().to_list())
    strategies = sorted(curves.get_column("strategy").unique().to_list())
    colors = colors or strategy_colors(strategies, baseline)
    ncols = max(1, min(ncols, len(datasets)))
    nrows = math.ceil(len(datasets) / ncols)
    fig = Figure(figsize=(3.6 * ncols + 0.4, 2.9 * nrows + 1.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, dataset in zip(axes, datasets, strict=False):  # the grid may have spare axes
        panel = curves.filter(pl.col("dataset") == dataset)
        twins = {
            strategy: position
            for group in (coincident or {}).get(dataset, [])
            for position, strategy in enumerate(group)
        }
        seeds_of: dict[str, int] = {}
        for strategy in strategies:
            line = panel.filter(pl.col("strategy") == strategy).sort(x)
            if line.height == 0:
                continue
            seeds_of[strategy] = int(line.get_column("n_seeds").max())  # type: ignore[arg-type]
            xs = line.get_column(x).to_numpy()
            style: dict[str, object] = {"color": colors[strategy], "lw": 1.6 if strategy != baseline else 1.4}
            if strategy == baseline:
                style["ls"] = "--"
            if twins.get(strategy, 0) > 0:  # drawn over its identical twin, dashed so both stay visible
                style.update(ls=_TWIN_DASHES[(twins[strategy] - 1) % len(_TWIN_DASHES)], lw=2.0, zorder=3)
            ax.plot(xs, line.get_column("mean").to_numpy(), **style)
            if line.get_column("ci_low").null_count() == 0:
                ax.fill_between(
                    xs,
                    np.clip(line.get_column("ci_low").to_numpy(), 0.0, 1.0),
                    np.clip(line.get_column("ci_high").to_numpy(), 0.0, 1.0),
                    color=colors[strategy],
                    alpha=0.15,
                    lw=0,
                )
        if references and dataset in references:
            ax.axhline(references[dataset], color="0.45", ls=":", lw=1.2)
        counts = sorted(set(seeds_of.values()))
        if len(counts) == 1:
            ax.set_title(f"{dataset} ({counted(counts[0], 'seed')})", fontsize=10)
        else:  # an unbalanced panel says so, and which strategy has how many
            ax.set_title(f"{dataset} ({counts[0]}-{counts[-1]} seeds: unbalanced)", fontsize=10)
            ax.text(
                0.02,
                0.02,
                "\n".join(f"{s}: {n} seeds" for s, n in sorted(seeds_of.items(), key=lambda kv: kv[1])),
                transform=ax.transAxes,
                fontsize=6.5,
                va="bottom",
                ha="left",
                color="0.25",
            )
        groups = (coincident or {}).get(dataset, [])
        if groups:
            ax.text(
                0.98,
                0.02,
                "\n".join(" = ".join(group) + " (identical)" for group in groups),
                transform=ax.transAxes,
                fontsize=6.5,
                va="bottom",
                ha="right",
                color="0.25",
            )
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes[len(datasets) :]:
        ax.set_visible(False)
    for row in range(nrows):
        axes[row * ncols].set_ylabel(_METRIC_LABELS.get(metric, metric), fontsize=9)
    for ax in axes[max(0, len(datasets) - ncols) : len(datasets)]:
        ax.set_xlabel(X_LABELS.get(x, x), fontsize=9)
    handles = [Line2D([], [], color=colors[s], lw=2, ls="--" if s == baseline else "-", label=s) for s in strategies]
    if references:
        handles.append(Line2D([], [], color="0.45", ls=":", lw=1.2, label="full-pool accuracy"))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 6),
        frameon=False,
        fontsize=9,
    )
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_ranks(
    ranks: pl.DataFrame, average: pl.DataFrame, *, colors: dict[str, str] | None = None, title: str = ""
) -> Figure:
    """Rank of every strategy on every dataset (small dots) and its average rank (large marker).

    Parameters
    ----------
    ranks : polars.DataFrame
        Output of :func:`alsim.stats.dataset_ranks` for one learner and batch size.
    average : polars.DataFrame
        Output of :func:`alsim.stats.average_ranks` for the same setting.

    Examples
    --------
    >>> plot_ranks(dataset_ranks(results), average_ranks(results))  # doctest: +SKIP
    """
    order = average.sort("average_rank", "strategy").get_column("strategy").to_list()
    colors = colors or strategy_colors(order)
    k = len(order)
    fig = Figure(figsize=(7.0, 0.45 * k + 1.6), layout="constrained")
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # jitter only, so overlapping per-dataset ranks stay visible
    for row, strategy in enumerate(order):
        per_dataset = ranks.filter(pl.col("strategy") == strategy).get_column("rank").to_numpy()
        jitter = rng.uniform(-0.15, 0.15, size=per_dataset.size)
        ax.scatter(per_dataset, row + jitter, s=14, color=colors.get(strategy, "0.3"), alpha=0.45, lw=0)
        mean = float(average.filter(pl.col("strategy") == strategy).item(0, "average_rank"))
        ax.scatter([mean], [row], s=90, marker="D", color=colors.get(strategy, "0.3"), edgecolor="black", zorder=3)
        ax.annotate(f"{mean:.2f}", (mean, row), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=8)
    ax.set_yticks(range(k), order)
    ax.set_ylim(k - 0.4, -0.8)
    ax.set_xlim(0.5, k + 0.5)
    ax.set_xticks(range(1, k + 1))
    ax.set_xlabel("rank on a dataset by mean AULC (1 = best)")
    ax.grid(True, axis="x", alpha=0.3)
    n_datasets = int(average.get_column("n_datasets").to_numpy().max())
    ax.set_title(title or f"Ranks over {counted(n_datasets, 'dataset')} (diamond = average rank)", fontsize=11)
    return fig


def plot_distance_to_bound(
    distances: pl.DataFrame, strategies: Sequence[str], *, bound: str, title: str = ""
) -> Figure:
    """Heat map of each strategy's AULC distance to the bound, one row per dataset plus the mean row.

    Parameters
    ----------
    distances : polars.DataFrame
        Output of :func:`alsim.reports.bound.distance_to_bound` for one learner and batch size
        (``dataset`` = ``"mean"`` rows last).
    strategies : sequence of str
        Column order (e.g. by average rank).
    bound : str
        Name of the bound, for the colour bar.

    Examples
    --------
    >>> gaps = distance_to_bound(aulc(results), "lookahead_oracle")  # doctest: +SKIP
    >>> plot_distance_to_bound(gaps, ["margin", "random"], bound="lookahead_oracle")  # doctest: +SKIP
    """
    lookup = {(r["dataset"], r["strategy"]): r["gap"] for r in distances.iter_rows(named=True)}
    datasets = [*sorted({d for d, _ in lookup if d != "mean"}), "mean"]
    columns = [s for s in strategies if any((d, s) in lookup for d in datasets)]
    gaps = np.array([[lookup.get((d, s), np.nan) for s in columns] for d in datasets], dtype=np.float64)
    fig = Figure(figsize=(0.55 * len(columns) + 3.2, 0.32 * len(datasets) + 2.6), layout="constrained")
    ax = fig.subplots()
    # Diverging around 0: below the bound (positive gap) in red, above it (negative, noise) in blue.
    limit = float(np.nanmax(np.abs(gaps))) if np.isfinite(gaps).any() else 1.0
    image = ax.imshow(gaps, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for (row, column), gap in np.ndenumerate(gaps):
        if not np.isfinite(gap):  # no paired run (e.g. failed cells): say so rather than look like 0
            ax.text(column, row, "n/a", ha="center", va="center", fontsize=6.5, color="0.4")
        else:
            strong = abs(gap) > 0.6 * limit
            ax.text(
                column,
                row,
                f"{gap * 100:.1f}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if strong else "black",
            )
    ax.axhline(len(datasets) - 1.5, color="black", lw=1.0)
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(datasets)), datasets, fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.8).set_label(f"AULC({bound}) - AULC(strategy)", fontsize=8)
    ax.set_title(title or f"Distance to the {bound} bound (AULC points x 100; last row: mean)", fontsize=10)
    return fig


def plot_critical_difference(average: pl.DataFrame, critical_difference: float, *, title: str = "") -> Figure:
    """Critical-difference diagram (Demsar 2006, figure 1).

    An axis of average ranks (1 = best, on the left), each strategy joined to its rank by an elbow line
    with its name beside it (best half on the left, the rest on the right), the CD interval drawn above
    the axis, and thick bars below joining groups of strategies whose average ranks differ by less than
    the critical difference (not significantly different by the Nemenyi test).

    Parameters
    ----------
    average : polars.DataFrame
        Output of :func:`alsim.stats.average_ranks` for one learner and batch size.
    critical_difference : float
        From :func:`alsim.stats.friedman_test` / :func:`alsim.stats.nemenyi_critical_difference`.

    Examples
    --------
    >>> plot_critical_difference(average_ranks(results), 1.25)  # doctest: +SKIP
    """
    table = average.sort("average_rank", "strategy")
    names = table.get_column("strategy").to_list()
    ranks = table.get_column("average_rank").to_numpy()
    k = len(names)
    groups = nemenyi_groups(ranks, critical_difference)
    n_left = math.ceil(k / 2)
    height_rows = max(n_left, k - n_left)
    low, high = 1, max(k, 2)
    # Leave room beside the axis for the longest label: ~0.6 em per character at 9 pt, plus the elbow.
    label_points = 0.6 * 9 * max(len(f"{n} ({r:.2f})") for n, r in zip(names, ranks, strict=True)) + 40
    width_points = max(576.0, 2 * label_points + 300)
    axis_points = width_points - 2 * label_points
    pad = label_points * (high - low) / axis_points
    fig = Figure(figsize=(width_points / 72, 1.9 + 0.32 * (height_rows + len(groups))), layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(low - pad, high + pad)
    axis_y = 0.0
    # Axis with ticks at every integer rank.
    ax.plot([low, high], [axis_y, axis_y], color="black", lw=1.2)
    for tick in range(low, high + 1):
        ax.plot([tick, tick], [axis_y, axis_y + 0.12], color="black", lw=1.0)
        ax.text(tick, axis_y + 0.2, str(tick), ha="center", va="bottom", fontsize=9)
    for half in np.arange(low + 0.5, high, 1.0):
        ax.plot([half, half], [axis_y, axis_y + 0.06], color="black", lw=0.8)
    ax.text((low + high) / 2, axis_y + 0.62, "average rank (1 = best)", ha="center", va="bottom", fontsize=9)
    # Critical difference interval, above the axis at the left.
    cd_y = axis_y + 1.15
    ax.plot([low, low + critical_difference], [cd_y, cd_y], color="black", lw=1.6)
    for end in (low, low + critical_difference):
        ax.plot([end, end], [cd_y - 0.08, cd_y + 0.08], color="black", lw=1.2)
    ax.text(
        low + critical_difference / 2,
        cd_y + 0.12,
        f"CD = {critical_difference:.2f}",
        ha="center",
        va="bottom",
        fontsize=9,
    )
    # Groups of not-significantly-different strategies: thick bars just under the axis.
    bar_y = axis_y - 0.35
    for first, last in groups:
        ax.plot(
            [ranks[first] - 0.04, ranks[last] + 0.04], [bar_y, bar_y], color="#444444", lw=4, solid_capstyle="round"
        )
        bar_y -= 0.3
    label_top = bar_y - 0.2
    # Strategy labels with elbow lines.
    for i, (name, rank) in enumerate(zip(names, ranks, strict=True)):
        if i < n_left:
            y = label_top - 0.42 * i
            x_text, ha = low - 0.1 * pad, "right"
        else:
            y = label_top - 0.42 * (k - 1 - i)
            x_text, ha = high + 0.1 * pad, "left"
        ax.plot([rank, rank, x_text], [axis_y, y, y], color="#555555", lw=0.9)
        ax.text(x_text + (-0.05 if ha == "right" else 0.05), y, f"{name} ({rank:.2f})", ha=ha, va="center", fontsize=9)
    bottom = label_top - 0.42 * (height_rows - 1) - 0.4
    ax.set_ylim(bottom, cd_y + 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return fig


def plot_seed_stability(stability: pl.DataFrame, *, threshold: float = 0.9, title: str = "") -> Figure:
    """Mean and minimum Kendall tau to the all-seeds ranking against the number of seeds used.

    Parameters
    ----------
    stability : polars.DataFrame
        Output of :func:`alsim.stats.seed_stability` for one learner and batch size.
    threshold : float
        Drawn as a horizontal line.

    Examples
    --------
    >>> plot_seed_stability(seed_stability(results))  # doctest: +SKIP
    """
    table = stability.sort("n_seeds")
    n = table.get_column("n_seeds").to_numpy()
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(n, table.get_column("mean_tau").to_numpy(), marker="o", color="#1f77b4", label="mean Kendall tau")
    ax.plot(n, table.get_column("min_tau").to_numpy(), marker=".", ls="--", color="#ff7f0e", label="worst subset")
    ax.plot(
        n,
        table.get_column("share_identical").to_numpy(),
        marker="s",
        ms=4,
        ls=":",
        color="#2ca02c",
        label="share with identical ranking",
    )
    ax.axhline(threshold, color="0.4", lw=1, ls="-.", label=f"threshold {threshold:g}")
    ax.set_xlabel("number of seeds averaged")
    ax.set_ylabel("agreement with the all-seeds ranking")
    ax.set_xticks(n)
    ax.set_ylim(min(-0.05, float(table.get_column("min_tau").to_numpy().min()) - 0.05), 1.05)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "How many seeds until the strategy ranking settles?", fontsize=11)
    return fig


def plot_drift_recovery(curves: pl.DataFrame, summary: pl.DataFrame, strategies: Sequence[str], title: str) -> Figure:
    """Prequential accuracy, labels bought and their paired difference around a drift, per strategy.

    One column per strategy, three rows against examples seen: prequential accuracy per block and labels
    bought (mean over seeds) of the fixed-rate and the drift-detector runs, and the per-seed difference
    detector minus fixed with a band of one standard error. A dashed line marks the drift.

    Parameters
    ----------
    curves : polars.DataFrame
        Per-block records of every run: ``strategy, variant, seed, round, examples_seen,
        prequential_accuracy, n_labeled`` (``variant`` is ``"fixed"`` or ``"detector"``).
    summary : polars.DataFrame
        One row per run with ``strategy`` and ``drift_position``.
    strategies : sequence of str
        The strategies to draw, one column each.
    title : str

    Examples
    --------
    >>> plot_drift_recovery(curves, runs, ["random"], "pendigits")  # doctest: +SKIP
    """
    fig = Figure(figsize=(5.5 * len(strategies), 10), layout="constrained")
    axes = fig.subplots(3, len(strategies), squeeze=False, sharex=True)
    colours = {"fixed": "tab:blue", "detector": "tab:red"}
    labels = {"fixed": "fixed rate", "detector": "drift detector + boost"}
    for column, strategy in enumerate(strategies):
        drift = float(summary.filter(pl.col("strategy") == strategy)["drift_position"].to_numpy().mean())
        runs = curves.filter((pl.col("strategy") == strategy) & (pl.col("round") > 0))
        for variant in ("fixed", "detector"):
            mean = (
                runs.filter(pl.col("variant") == variant)
                .group_by("examples_seen")
                .agg(pl.col("prequential_accuracy").mean(), pl.col("n_labeled").mean())
                .sort("examples_seen")
            )
            axes[0, column].plot(
                mean["examples_seen"], mean["prequential_accuracy"], color=colours[variant], label=labels[variant]
            )
            axes[1, column].plot(
                mean["examples_seen"], mean["n_labeled"], color=colours[variant], label=labels[variant]
            )
        paired = (
            runs.pivot(on="variant", index=["seed", "examples_seen"], values="prequential_accuracy")
            .with_columns((pl.col("detector") - pl.col("fixed")).alias("difference"))
            .group_by("examples_seen")
            .agg(pl.col("difference").mean().alias("mean"), pl.col("difference").std().alias("sd"), pl.len().alias("n"))
            .sort("examples_seen")
        )
        x = paired["examples_seen"].to_numpy()
        mean_diff = paired["mean"].to_numpy()
        half_band = np.nan_to_num(paired["sd"].to_numpy()) / np.sqrt(paired["n"].to_numpy())
        axes[2, column].plot(x, mean_diff, color="black", linewidth=1)
        axes[2, column].fill_between(
            x, mean_diff - half_band, mean_diff + half_band, color="grey", alpha=0.3, label="mean +/- 1 s.e."
        )
        axes[2, column].axhline(0.0, color="grey", linewidth=0.8)
        for row in range(3):
            axes[row, column].axvline(drift, color="grey", linestyle="--", linewidth=1)
        axes[0, column].set_title(strategy)
        axes[0, column].set_ylabel("prequential accuracy per block")
        axes[1, column].set_ylabel("labels bought")
        axes[2, column].set_ylabel("prequential accuracy, detector - fixed")
        axes[2, column].set_xlabel(X_LABELS["examples_seen"])
        axes[0, column].legend(loc="lower right", fontsize=8)
        axes[2, column].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"{title}\n(mean over seeds; dashed line: the drift)")
    return fig


def plot_run(result: SimulationResult, x: str = "n_labeled") -> Figure:
    """Learning curve of one run: test accuracy and macro-F1 against labels (or cost), with the reference.

    The reference accuracy of the learner trained on the whole pool is drawn as a dashed line. This is
    :meth:`alsim.records.SimulationResult.plot`'s figure (``x`` checked there).

    Examples
    --------
    >>> plot_run(result).savefig("learning_curve.png")  # doctest: +SKIP
    """
    records, config, metadata = result.records, result.config, result.metadata
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(records[x], records["accuracy"], marker=".", label="accuracy")
    axes.plot(records[x], records["macro_f1"], marker=".", label="macro-F1")
    reference = metadata.get("reference_accuracy")
    if reference is not None:
        axes.axhline(reference, linestyle="--", color="grey", label="reference accuracy (whole pool)")
        top = max(float(reference), float(records["accuracy"].to_numpy().max()))
        axes.set_ylim(top=min(1.02, top + 0.03))  # keep the reference line off the frame
    axes.set_xlabel("labels bought" if x == "n_labeled" else "labeling cost")
    axes.set_ylabel("test score")
    axes.set_title(
        f"{metadata.get('dataset', '')}: {config.get('strategy', '')} with "
        f"{config.get('learner', '')}, seed {metadata.get('seed', '')}"
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    return figure


# One line style and marker per strategy (cycled beside the colours), so strategies whose curves coincide
# stay distinguishable in the budget figure.
_BUDGET_STYLES = ("-", "--", "-.", ":")
_BUDGET_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_budget(estimate: BudgetEstimate, legend: Mapping[str, str], coinciding: Mapping[str, Sequence[str]]) -> Figure:
    """Learning curves per strategy, their extrapolation with an 80% band, and the labels-to-target intervals.

    Every strategy has its own colour, line style and marker; ``legend`` gives its legend entry and
    ``coinciding`` the strategies with the same curve (a strategy drawn under later ones with the same
    curve gets a wider line). The 80% interval of labels-to-target is drawn at the target line (an arrow
    where it has no upper end), and the x-axis (log scale) covers every interval drawn. This is the figure
    of :func:`alsim.budget.plot_budget`.
    """
    fig = Figure(figsize=(10, 5.8), layout="constrained")
    ax = fig.add_subplot()
    colors = rcParams["axes.prop_cycle"].by_key()["color"]
    observed_max = float(estimate.curves["n_labeled"].max())  # type: ignore[arg-type]
    observed_min = float(estimate.curves["n_labeled"].min())  # type: ignore[arg-type]
    finite_ends = [
        value
        for item in estimate.estimates
        for value in (item.labels.median, *item.labels.interval_80)
        if not math.isinf(value)
    ]
    x_max = max([observed_max * 1.5, *(value * 1.3 for value in finite_ends)])
    x_min = min([observed_min, *finite_ends]) / 1.3
    # The intervals sit in a strip just below the target line, one row per strategy.
    y_low = float(estimate.curves["mean"].min())  # type: ignore[arg-type]
    span = max(abs(estimate.target - y_low), 0.05)
    for i, item in enumerate(estimate.estimates):
        color = colors[i % len(colors)]
        style, marker = _BUDGET_STYLES[i % len(_BUDGET_STYLES)], _BUDGET_MARKERS[i % len(_BUDGET_MARKERS)]
        curve = estimate.curves.filter(pl.col("strategy") == item.strategy).sort("n_labeled")
        x = curve["n_labeled"].to_numpy()
        ax.plot(x, curve["mean"].to_numpy(), marker, ms=4, color=color, alpha=0.8, ls="none", mfc="none")
        lab = item.labels
        fit_x = np.geomspace(max(float(x.min()), 1.0), x_max, 200)
        fit_y = lab.model.predict(fit_x)
        inside = fit_x <= observed_max
        hidden_by = sum(
            1 for later in estimate.estimates[i + 1 :] if later.strategy in coinciding.get(item.strategy, ())
        )
        width = 1.8 + 2.2 * hidden_by
        ax.plot(fit_x[inside], fit_y[inside], ls=style, color=color, lw=width, label=legend[item.strategy])
        ax.plot(fit_x[~inside], fit_y[~inside], ls=style, color=color, lw=1.0, alpha=0.7)
        if lab.band_80 is not None and lab.band_grid is not None:
            shown = lab.band_grid <= x_max
            ax.fill_between(
                lab.band_grid[shown], lab.band_80[0][shown], lab.band_80[1][shown], color=color, alpha=0.08, lw=0
            )
        row_y = estimate.target - span * 0.04 * (i + 1)
        low, high = lab.interval_80
        if not math.isinf(low):
            right = x_max if math.isinf(high) else high
            ax.plot([low, right], [row_y, row_y], ls=style, color=color, lw=2.2, solid_capstyle="butt")
            if math.isinf(high):
                ax.annotate(
                    "", xy=(x_max, row_y), xytext=(x_max / 1.15, row_y), arrowprops={"arrowstyle": "->", "color": color}
                )
        if not math.isinf(lab.median):
            ax.plot([lab.median], [row_y], marker, color=color, ms=7)
    ax.axhline(estimate.target, color="black", lw=1, ls=":")
    ax.set_xscale("log")
    ax.set_xlim(x_min, x_max)
    ax.annotate(
        f"target {estimate.target:.3f}",
        xy=(0.0, estimate.target),
        xycoords=("axes fraction", "data"),
        xytext=(4, 3),
        textcoords="offset points",
        fontsize=9,
    )
    ax.axvline(observed_max, color="grey", lw=0.8, ls="-.")
    # Above the plot area, so it can meet neither the legend (outside, on the right) nor a curve.
    ax.annotate(
        "simulated | extrapolated",
        xy=(observed_max, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=8,
        color="grey",
    )
    ax.set_xlabel("labels bought (log scale)")
    ax.set_ylabel(estimate.metric.replace("_", "-") + " on held-out rows")
    fig.suptitle(
        f"Labels to reach the target on {Path(estimate.data).name}\n"
        "markers: mean over seeds; lines: fitted curves (thin beyond the data); bands: 80% over seeds;\n"
        "bars under the target line: 80% interval of labels to target, marker at the median",
        fontsize=9.5,
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="median labels to target")
    ax.grid(True, which="both", alpha=0.25)
    return fig


def plot_backtest(table: pl.DataFrame, fit_share: float) -> Figure:
    """Predicted against observed labels-to-target (80% intervals), and the reliability of P(out of reach).

    ``table`` is the output of :func:`alsim.budget.backtest.backtest`; ``fit_share`` the share of each curve
    the predictions saw. This is the figure of :func:`alsim.budget.backtest.write_backtest_report`.
    """
    fig = Figure(figsize=(12, 5.5), layout="constrained")
    ax, rel = fig.subplots(1, 2)
    reached = table.filter(pl.col("observed_labels").is_not_null() & pl.col("predicted_labels").is_not_null())
    for (learner, batch_size), part in reached.sort(["learner", "batch_size"]).group_by(
        ["learner", "batch_size"], maintain_order=True
    ):
        observed = part["observed_labels"].to_numpy()
        predicted = part["predicted_labels"].to_numpy()
        upper = part["upper_80"].to_numpy().astype(np.float64)
        lower = part["lower_80"].to_numpy().astype(np.float64)
        bounded = ~np.isnan(upper)
        errors = np.vstack([predicted - lower, upper - predicted])[:, bounded]
        ax.errorbar(
            observed[bounded],
            predicted[bounded],
            yerr=errors,
            fmt="o",
            ms=3,
            elinewidth=0.6,
            alpha=0.6,
            label=f"{learner}, batch {batch_size} (80% interval)",
        )
    if reached.height:
        values = np.concatenate([reached["observed_labels"].to_numpy(), reached["predicted_labels"].to_numpy()])
        lo, hi = float(values.min()), float(values.max())
        ax.plot([lo, hi], [lo, hi], color="black", lw=1, label="predicted = observed")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("labels to target on the full curve (observed)")
    ax.set_ylabel(f"labels predicted from the first {fit_share:.0%} of the curve")
    ax.set_title("Calibrated median and 80% interval (leave-dataset-out)")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.25)

    p = table["p_out_of_reach"].to_numpy()
    outcome = table["observed_labels"].is_null().to_numpy()
    edges = np.linspace(0.0, 1.0, 11)
    which = np.clip(np.digitize(p, edges) - 1, 0, 9)
    centres, rates, counts = [], [], []
    for b in range(10):
        mask = which == b
        if mask.any():
            centres.append(float(p[mask].mean()))
            rates.append(float(outcome[mask].mean()))
            counts.append(int(mask.sum()))
    rel.plot([0, 1], [0, 1], color="black", lw=1, label="perfectly calibrated")
    rel.plot(centres, rates, "o-", label="backtest cases (deciles of P)")
    for c, r, n in zip(centres, rates, counts, strict=True):
        rel.annotate(str(n), (c, r), textcoords="offset points", xytext=(4, -10), fontsize=7)
    rel.set_xlim(0, 1)
    rel.set_ylim(0, 1)
    rel.set_xlabel("predicted P(out of reach within the curve)")
    rel.set_ylabel("observed share out of reach")
    rel.set_title("Reliability of P(out of reach); numbers are cases per bin")
    rel.legend(fontsize=8, loc="upper left")
    rel.grid(True, alpha=0.25)
    return fig


def plot_stopping_winners(
    grid: pl.DataFrame, *, highlight: tuple[float, float] | None = None, title: str | None = None
) -> Figure:
    """Draw the winner map of :func:`alsim.stopping.winner_map` as a categorical heat map.

    ``highlight`` marks a (cost per label, lifetime error cost) point. This is the figure of
    :func:`alsim.stopping.plot_winner_map`.

    Examples
    --------
    >>> import polars as pl
    >>> from alsim.stopping import winner_map
    >>> records = pl.DataFrame({"round": [0, 1, 2], "n_labeled": [10, 20, 30], "n_unlabeled": [90, 80, 70],
    ...                         "accuracy": [0.7, 0.8, 0.81]})
    >>> figure = plot_stopping_winners(winner_map(records, ["label_budget", "pool_share_budget"]))
    >>> figure.axes[0].get_xscale()
    'log'
    """
    required = {"cost_per_label", "lifetime_error_cost", "winner"}
    if not required <= set(grid.columns):
        raise InvalidInputError(f"plot_winner_map needs the output of winner_map (columns {sorted(required)}).")
    label_costs = np.unique(grid["cost_per_label"].to_numpy())
    error_costs = np.unique(grid["lifetime_error_cost"].to_numpy())
    # Categories in order of the area they win, so the legend reads from the most to the least common.
    counts = grid["winner"].value_counts(sort=True)
    names = counts["winner"].to_list()
    code = {name: i for i, name in enumerate(names)}
    table = grid.sort(["cost_per_label", "lifetime_error_cost"])
    codes = np.array([code[w] for w in table["winner"].to_list()]).reshape(label_costs.size, error_costs.size)
    palette = colormaps["tab20" if len(names) > 10 else "tab10"]
    cmap = ListedColormap([palette(i % palette.N) for i in range(len(names))])
    norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, cmap.N)

    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.add_subplot()
    ax.pcolormesh(_log_edges(label_costs), _log_edges(error_costs), codes.T, cmap=cmap, norm=norm, shading="flat")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("cost per label")
    ax.set_ylabel("lifetime cost of errors (predictions x cost per error)")
    ax.set_title(title or "Stopping rule with the lowest mean regret")
    shares = dict(zip(counts["winner"].to_list(), (counts["count"] / grid.height).to_list(), strict=True))
    handles: list[Artist] = [
        Patch(facecolor=cmap(code[name]), edgecolor="0.3", label=_winner_label(name, shares[name])) for name in names
    ]
    if highlight is not None:
        ax.plot(*highlight, marker="*", markersize=16, color="white", markeredgecolor="black", linestyle="none")
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                markersize=12,
                color="white",
                markeredgecolor="black",
                linestyle="none",
                label="costs of the table",
            )
        )
    ax.legend(handles=handles, title="winning rule", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _winner_label(winner: str, share: float) -> str:
    """Return a legend entry; a long tie ("a = b = c ...") is wrapped so the legend does not crowd out the map."""
    text = textwrap.fill(winner, width=40, break_long_words=False, subsequent_indent="  ")
    return f"{text}\n  ({share:.0%} of map)" if "\n" in text else f"{text} ({share:.0%} of map)"


def _log_edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway (in log space) between grid points, for pcolormesh on log axes."""
    if centres.size == 1:
        return np.array([centres[0] / 1.5, centres[0] * 1.5])
    logs = np.log10(centres)
    middle = (logs[1:] + logs[:-1]) / 2
    return 10 ** np.concatenate([[logs[0] - (middle[0] - logs[0])], middle, [logs[-1] + (logs[-1] - middle[-1])]])
