"""Assemble the benchmark report of a grid run: tables, figures, Markdown and HTML."""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl
from tqdm.auto import tqdm

from alsim import metrics, stats
from alsim._messages import counted
from alsim._output import check_output_dir, parameter
from alsim.exceptions import AlsimError, InvalidParameterError
from alsim.experiments.results import GridCompleteness, grid_completeness
from alsim.reports import figures
from alsim.reports.bound import distance_to_bound
from alsim.reports.document import Document
from alsim.results import CONTEXT_COLUMNS, RUN_COLUMNS, check_results

__all__ = ["write_report"]

_SETTING = list(stats.SETTING_COLUMNS)


def _axes(frame: pl.DataFrame) -> list[tuple[str, str]]:
    """Learning-curve axes (records column, file-name part): stream runs add the examples seen.

    Only when every run has that column: a directory mixing pool and stream cells still gets a report.
    """
    axes = [("n_labeled", "labels"), ("cost", "cost")]
    if "examples_seen" in frame.columns and frame.get_column("examples_seen").null_count() == 0:
        axes.append(("examples_seen", "examples"))
    return axes


def _slug(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(str(p) for p in parts)).strip("-")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _setting_text(setting: Sequence[object]) -> str:
    learner, batch_size = setting
    return f"learner `{learner}`, batch size {batch_size}"


def _in_setting(frame: pl.DataFrame, setting: Sequence[object]) -> pl.DataFrame:
    return frame.filter(*(pl.col(c) == v for c, v in zip(_SETTING, setting, strict=True)))


class _Sections:
    """Runs the optional parts of a report, turning 'cannot compute this here' into a visible note."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def attempt(self, what: str, compute: Callable[[], pl.DataFrame]) -> pl.DataFrame | None:
        try:
            return compute()
        except AlsimError as exc:
            self.skipped.append(f"{what}: not computed. {exc}")
            return None


def _shares(table: pl.DataFrame) -> str:
    """Return the target fractions of a savings / labels-to-target table as text, e.g. '95% / 99%'."""
    return " / ".join(f"{100 * f:g}%" for f in table.get_column("fraction").unique().sort())


def write_report(
    results: pl.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    baseline: str = "random",
    bound: str | None = "lookahead_oracle",
    metric: str = "accuracy",
    alpha: float = 0.05,
    confidence: float = 0.95,
    fractions: Sequence[float] = (0.95, 0.99),
    stability_threshold: float = 0.9,
    n_subsamples: int = 50,
    random_state: int = 0,
    title: str = "Active-learning benchmark report",
    source: str | None = None,
    dpi: int = 110,
    progress: bool = False,
    completeness: GridCompleteness | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write ``report.md``, ``report.html``, PNG figures and CSV tables for a results frame.

    Layout of ``out_dir``: ``report.md`` and ``report.html`` (self-contained, figures referenced by
    relative paths), ``figures/*.png``, ``tables/*.csv``. Sections that cannot be computed for these
    results (no baseline strategy, fewer than 3 strategies for the Friedman test, a single seed, ...)
    are listed in the report with the reason instead of stopping the whole report; warnings raised while
    computing (single seeds, incomplete datasets) are listed too.

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame (:func:`alsim.experiments.load_results`).
    out_dir : path
        Directory to write into (created if needed; files of a previous report are overwritten).
    baseline : str, default="random"
        Strategy that savings, deficiency and paired tests compare against.
    bound : str or None, default="lookahead_oracle"
        Reference strategy that reads the true labels; when the results hold it, a section gives each
        strategy's AULC distance to it (:func:`alsim.reports.bound.distance_to_bound`). None: no section.
    metric : {"accuracy", "macro_f1", "balanced_accuracy"}, default="accuracy"
    alpha : float, default=0.05
        Significance level of the paired tests, the Friedman test and the Nemenyi CD.
    confidence : float, default=0.95
        Coverage of the learning-curve bands and AULC intervals.
    fractions : sequence of float, default=(0.95, 0.99)
        Shares of the full-pool accuracy for labels/cost to target and savings.
    stability_threshold : float, default=0.9
        Kendall tau for :func:`alsim.stats.seeds_to_stable_ranking`.
    n_subsamples : int, default=50
        Seed subsets per seed count in the stability check.
    random_state : int, default=0
        Seed of the stability check's subsampling.
    title : str
    source : str, optional
        Where the results came from (shown in the report).
    dpi : int, default=110
    progress : bool, default=False
        Show a progress bar on stderr.
    completeness : GridCompleteness, optional
        What the results cover against the configured grid
        (:func:`alsim.experiments.grid_completeness` with the run's directory); default: computed from
        ``results`` alone (balance of seeds, no configured cell count). The header states what is there and
        the notes warn when the grid is incomplete or the comparison unbalanced.
    notes : sequence of str, default=()
        Further notes to list (e.g. the cell files the reader had to skip).

    Returns
    -------
    pathlib.Path
        Path of ``report.md``.

    Examples
    --------
    >>> from alsim.experiments import load_results  # doctest: +SKIP
    >>> write_report(load_results("runs/quickstart"), "runs/quickstart/report")  # doctest: +SKIP
    """
    func = "write_report"
    if metric not in metrics.METRIC_CHOICES:
        raise InvalidParameterError(
            f"The 'metric' parameter of {func} must be one of {list(metrics.METRIC_CHOICES)}. Got {metric!r} instead."
        )
    frame = check_results(results, func, signals=("n_labeled", "cost", metric))
    out = check_output_dir(out_dir, who=parameter("out_dir", func))
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    sections = _Sections()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = frame.select(_SETTING).unique().sort(_SETTING).rows()
        bar = tqdm(total=3 + len(settings), desc="alsim report", unit="step", disable=not progress, file=sys.stderr)
        curves = {
            name: metrics.learning_curves(frame, x=axis, metric=metric, confidence=confidence)
            for axis, name in _axes(frame)
        }
        bar.update()
        computed = _compute(
            frame, sections, bar, baseline, bound, metric, alpha, confidence, fractions, n_subsamples, random_state
        )
        per_run = computed["aulc_per_run"]
        computed["distance_to_bound"] = None if bound is None or per_run is None else distance_to_bound(per_run, bound)
    computed = {**{f"learning_curves_{name}": table for name, table in curves.items()}, **computed}
    for name, table in computed.items():
        if table is not None:
            table.write_csv(out / "tables" / f"{name}.csv")
    if completeness is None:
        completeness = grid_completeness(frame)
    doc = Document(title)
    _overview(doc, frame, metric, baseline, confidence, source, completeness)
    colors = figures.strategy_colors(frame.get_column("strategy").unique().to_list(), baseline)
    doc.heading("Summary")
    doc.bullets(
        [
            line
            for setting in settings
            for line in _summary(
                computed, setting, len(settings) > 1, baseline, alpha, stability_threshold, _bound_in(frame, bound)
            )
        ]
    )
    for setting in settings:
        _setting_sections(
            doc,
            out,
            frame,
            computed,
            curves,
            setting,
            len(settings) > 1,
            colors,
            metric=metric,
            baseline=baseline,
            bound=bound,
            alpha=alpha,
            confidence=confidence,
            threshold=stability_threshold,
            dpi=dpi,
        )
        bar.update()
    # The same warning reaches several functions (ranks, Friedman, ...); list it once, without the
    # name of the function that raised it.
    warned = (re.sub(r"^\w+: ", "", str(w.message)) for w in caught)
    notes = (
        list(dict.fromkeys([*completeness.notes(), *notes, *(text[:1].upper() + text[1:] for text in warned)]))
        + _behaviour_notes(computed, frame, baseline)
        + sections.skipped
    )
    doc.heading("Notes and skipped sections")
    if notes:
        doc.bullets(notes)
    else:
        doc.paragraph("None: every section was computed and no warning was raised.")
    _definitions(doc, baseline, alpha, confidence, stability_threshold)
    doc.paragraph(
        "Tables as CSV: " + ", ".join(f"`tables/{n}.csv`" for n, t in computed.items() if t is not None) + "."
    )
    (out / "report.md").write_text(doc.to_markdown(), encoding="utf-8")
    (out / "report.html").write_text(doc.to_html(), encoding="utf-8")
    bar.close()
    return out / "report.md"


def _compute(
    frame: pl.DataFrame,
    sections: _Sections,
    bar: tqdm,
    baseline: str,
    bound: str | None,
    metric: str,
    alpha: float,
    confidence: float,
    fractions: Sequence[float],
    n_subsamples: int,
    random_state: int,
) -> dict[str, pl.DataFrame | None]:
    computed: dict[str, pl.DataFrame | None] = {}
    per_run = sections.attempt("AULC", lambda: metrics.aulc(frame, metric=metric))
    computed["aulc_per_run"] = per_run
    computed["aulc_summary"] = (
        None if per_run is None else metrics.summarize_over_seeds(per_run, "aulc", confidence=confidence)
    )
    computed["labels_to_target"] = sections.attempt(
        "Labels to target", lambda: metrics.labels_to_target(frame, fractions=fractions, metric=metric)
    )
    computed["savings"] = sections.attempt(
        "Savings", lambda: metrics.savings(frame, baseline=baseline, fractions=fractions, metric=metric)
    )
    computed["deficiency"] = sections.attempt(
        "Deficiency", lambda: metrics.deficiency(frame, baseline=baseline, metric=metric)
    )
    tests = sections.attempt(
        "Paired tests", lambda: stats.paired_tests(frame, baseline=baseline, alpha=alpha, metric=metric)
    )
    computed["paired_tests"] = tests
    computed["win_tie_loss"] = None if tests is None else stats.win_tie_loss(tests)
    bar.update()
    # The bound reads the true labels: ranking it among the usable strategies would only add a constant first
    # place (and inflate the Friedman statistic), so ranks, the Friedman test and seed stability leave it out.
    ranked = frame if bound is None else frame.filter(pl.col("strategy") != bound)
    computed["dataset_ranks"] = sections.attempt("Ranks", lambda: stats.dataset_ranks(ranked, metric=metric))
    computed["average_ranks"] = sections.attempt("Average ranks", lambda: stats.average_ranks(ranked, metric=metric))
    computed["friedman"] = sections.attempt(
        "Friedman test and critical-difference diagram",
        lambda: stats.friedman_test(ranked, alpha=alpha, metric=metric),
    )
    stability = sections.attempt(
        "Seed stability",
        lambda: stats.seed_stability(ranked, n_subsamples=n_subsamples, metric=metric, random_state=random_state),
    )
    computed["seed_stability"] = stability
    bar.update()
    return computed


def _overview(
    doc: Document,
    frame: pl.DataFrame,
    metric: str,
    baseline: str,
    confidence: float,
    source: str | None,
    completeness: GridCompleteness,
) -> None:
    cells = frame.select(RUN_COLUMNS).unique()
    datasets = sorted(cells.get_column("dataset").unique().to_list())
    strategies = sorted(cells.get_column("strategy").unique().to_list())
    seeds = sorted(cells.get_column("seed").unique().to_list())
    origin = f", from `{source}`" if source else ""
    counts = completeness.seeds.get_column("n_seeds").to_list()
    if completeness.balanced:
        shape = (
            f"{counted(len(datasets), 'dataset')} x {counted(len(strategies), 'strategy')} x "
            f"{counted(max(counts), 'seed')}"
        )
    else:
        shape = (
            f"{counted(len(datasets), 'dataset')} and {counted(len(strategies), 'strategy')} with "
            f"{min(counts)} to {max(counts)} finished seeds per strategy and dataset"
        )
    configured = completeness.n_configured
    of_grid = (
        f" of the {configured} the experiment configures"
        if configured is not None and configured != cells.height
        else ""
    )
    text = (
        f"{counted(cells.height, 'finished simulation cell')}{of_grid} "
        f"({counted(frame.height, 'recorded round')}): {shape}{origin}."
    )
    if not completeness.complete or not completeness.balanced:
        text += (
            " **Warning:** "
            + ("the grid is incomplete and " if not completeness.complete else "")
            + (
                "the comparison is unbalanced"
                if not completeness.balanced
                else "results may change when it is finished"
            )
            + ("; see Notes at the end.")
        )
    doc.paragraph(text)
    doc.bullets(
        [
            "Datasets: " + ", ".join(f"`{d}`" for d in datasets),
            "Strategies: " + ", ".join(f"`{s}`" for s in strategies) + f" (baseline: `{baseline}`)",
            "Learners: " + ", ".join(f"`{v}`" for v in sorted(cells.get_column("learner").unique().to_list())),
            "Batch sizes: " + ", ".join(str(v) for v in sorted(cells.get_column("batch_size").unique().to_list())),
            "Seeds: " + ", ".join(str(s) for s in seeds),
            f"Metric: test `{metric}`; bands and intervals are {confidence:.0%} Student-t intervals over seeds.",
        ]
    )


def _summary(
    computed: dict[str, pl.DataFrame | None],
    setting: tuple[object, ...],
    several: bool,
    baseline: str,
    alpha: float,
    threshold: float,
    bound: str | None,
) -> list[str]:
    """Return the few sentences a reader wants first: who ranks best, is it significant, is it stable."""
    prefix = f"{_setting_text(setting)}: " if several else ""
    lines = []
    average = computed["average_ranks"]
    if average is not None and _in_setting(average, setting).height:
        table = _in_setting(average, setting)
        best = table.row(0, named=True)
        lines.append(
            f"{prefix}best average rank: `{best['strategy']}` ({best['average_rank']:.2f} over "
            f"{counted(best['n_datasets'], 'dataset')}); order: "
            + ", ".join(f"`{r['strategy']}` {r['average_rank']:.2f}" for r in table.iter_rows(named=True))
            + (f" (the `{bound}` bound reads the labels and is not ranked)" if bound else "")
            + "."
        )
    friedman = computed["friedman"]
    if friedman is not None and _in_setting(friedman, setting).height:
        row = _in_setting(friedman, setting).row(0, named=True)
        verdict = "significant" if row["significant"] else "not significant"
        lines.append(f"{prefix}Friedman test: p = {row['p_value']:.3g}, {verdict} at alpha = {alpha:g}.")
    tests, win_tie_loss = computed["paired_tests"], computed["win_tie_loss"]
    if tests is not None and win_tie_loss is not None and _in_setting(tests, setting).height:
        wtl = _in_setting(win_tie_loss, setting)
        lines.append(
            f"{prefix}against `{baseline}` (wins/ties/losses over datasets): "
            + ", ".join(f"`{r['strategy']}` {r['wins']}/{r['ties']}/{r['losses']}" for r in wtl.iter_rows(named=True))
            + "."
        )
    stability = computed["seed_stability"]
    if stability is not None and _in_setting(stability, setting).height:
        needed = stats.seeds_to_stable_ranking(_in_setting(stability, setting), threshold=threshold).row(0, named=True)
        if needed["seeds_needed"] < needed["seeds_available"]:
            lines.append(
                f"{prefix}the ranking is stable (Kendall tau >= {threshold:g}) from {needed['seeds_needed']} of "
                f"{needed['seeds_available']} seeds."
            )
        else:
            lines.append(
                f"{prefix}the ranking still changed with the last of {needed['seeds_available']} seeds: "
                f"more seeds are needed before trusting it."
            )
    return lines if several else [line[0].upper() + line[1:] for line in lines]


def _bound_in(frame: pl.DataFrame, bound: str | None) -> str | None:
    """``bound`` when the results hold it, else None."""
    return bound if bound is not None and frame.filter(pl.col("strategy") == bound).height else None


def _strategy_order(
    frame: pl.DataFrame, average: pl.DataFrame | None, setting: Sequence[object], bound: str | None
) -> list[str]:
    """Table columns: the bound first (a reference, not ranked), then by average rank, then the unranked."""
    present = set(_in_setting(frame, setting).get_column("strategy").unique().to_list())
    if average is not None and _in_setting(average, setting).height:
        ordered = _in_setting(average, setting).sort("average_rank", "strategy").get_column("strategy").to_list()
    else:
        ordered = sorted(present)
    ranked = [s for s in ordered if s in present and s != bound]
    unranked = sorted(present - set(ranked) - {bound})
    return ([bound] if bound in present else []) + ranked + unranked


def _wide(
    table: pl.DataFrame, row_keys: Sequence[str], strategies: list[str], cell: Callable[[dict], str]
) -> tuple[list[str], list[list[str]]]:
    """Return a dataset-by-strategy table of formatted cells."""
    lookup = {tuple(r[k] for k in (*row_keys, "strategy")): r for r in table.iter_rows(named=True)}
    row_values = table.select(row_keys).unique().sort(row_keys).rows()
    rows = []
    for values in row_values:
        cells = [" / ".join(_label(v) for v in values)]
        for strategy in strategies:
            record = lookup.get((*values, strategy))
            cells.append("-" if record is None else cell(record))
        rows.append(cells)
    return [" / ".join(row_keys), *strategies], rows


def _label(value: object) -> str:
    return f"{value:.0%}" if isinstance(value, float) and value < 1 else str(value)


def _save(fig, out: Path, name: str, dpi: int) -> str:
    fig.savefig(out / "figures" / name, dpi=dpi)
    return f"figures/{name}"


def _setting_sections(
    doc: Document,
    out: Path,
    frame: pl.DataFrame,
    computed: dict[str, pl.DataFrame | None],
    curve_tables: dict[str, pl.DataFrame],
    setting: tuple[object, ...],
    several: bool,
    colors: dict[str, str],
    *,
    metric: str,
    baseline: str,
    bound: str | None,
    alpha: float,
    confidence: float,
    threshold: float,
    dpi: int,
) -> None:
    slug = _slug(*setting)
    level = 3 if several else 2
    if several:
        doc.heading(f"Results for {_setting_text(setting)}", level=2)
    strategies = _strategy_order(frame, computed["average_ranks"], setting, bound)
    # The full-pool line is the reference accuracy: drawn only on accuracy curves.
    references = (
        dict(
            _in_setting(frame, setting)
            .unique("cell_id")
            .group_by("dataset")
            .agg(pl.col("reference_accuracy").mean())
            .rows()
        )
        if metric == "accuracy"
        else None
    )

    doc.heading("Learning curves", level=level)
    doc.paragraph(
        f"Mean test {metric} over seeds with {confidence:.0%} confidence bands, against labels bought and "
        f"against cumulative labeling cost. "
        + ("The dotted grey line is the accuracy of the same learner trained on the whole pool. " if references else "")
        + "Curves are shown on the range of labels (cost) every seed reached."
    )
    for axis, name in _axes(frame):
        curves = _in_setting(curve_tables[name], setting)
        axis_name = figures.X_LABELS[axis].split(" (")[0]
        fig = figures.plot_learning_curves(
            curves,
            x=axis,
            metric=metric,
            references=references,
            colors=colors,
            baseline=baseline,
            coincident={
                str(key[0]): groups
                for key, groups in coincident_strategies(computed["aulc_per_run"]).items()
                if tuple(key[1:]) == tuple(setting)
            },
            title=f"Test {metric} vs {axis_name} ({_setting_text(setting).replace('`', '')})",
        )
        path = _save(fig, out, f"curves_{name}_{slug}.png", dpi)
        doc.image(path, f"Test {metric} against {figures.X_LABELS[axis]}, one panel per dataset.")

    summary = computed["aulc_summary"]
    if summary is not None:
        doc.heading("Area under the learning curve", level=level)
        doc.paragraph(
            f"Normalised AULC (mean test {metric} over the label range all runs of a dataset share), "
            f"mean over seeds +/- half-width of the {confidence:.0%} interval. Higher is better. "
            f"Strategies are ordered by average rank"
            + (f", after the `{bound}` bound." if _bound_in(_in_setting(frame, setting), bound) else ".")
        )
        header, rows = _wide(
            _in_setting(summary, setting),
            ["dataset"],
            strategies,
            lambda r: _fmt(r["mean"]) + ("" if r["ci_high"] is None else f" ± {(r['ci_high'] - r['ci_low']) / 2:.3f}"),
        )
        doc.table(header, rows)

    distances = computed.get("distance_to_bound")
    if distances is not None and _in_setting(distances, setting).height:
        doc.heading(f"Distance to the {bound} bound", level=level)
        doc.paragraph(
            f"`{bound}` reads the true labels: it is a reference for what was possible, not usable in practice. "
            f"Mean over seeds of AULC({bound}) - AULC(strategy) on the same seeds; positive = below the bound, "
            "smaller is better. The last row averages over datasets."
        )
        here, others = _in_setting(distances, setting), [s for s in strategies if s != bound]
        mean = pl.col("dataset") == "mean"
        header, rows = _wide(here.filter(~mean), ["dataset"], others, lambda r: f"{r['gap']:+.3f}")
        _, last = _wide(here.filter(mean), ["dataset"], others, lambda r: f"**{r['gap']:+.3f}**")
        doc.table(header, rows + last)
        fig = figures.plot_distance_to_bound(here, others, bound=str(bound))
        doc.image(
            _save(fig, out, f"distance_to_bound_{slug}.png", dpi),
            f"AULC distance of each strategy to the {bound} bound per dataset (red: further below the bound).",
        )

    saving = computed["savings"]
    if saving is not None:
        doc.heading(f"Savings against {baseline}", level=level)
        doc.paragraph(
            f"Labels and labeling cost the mean learning curve needs to reach "
            f"{_shares(saving)} of the full-pool accuracy, as the percentage saved against `{baseline}` (positive = "
            f"fewer labels), with the absolute values in brackets (strategy vs {baseline}). `n/r`: the "
            f"strategy's mean curve never reached the target within the budget; `({baseline} n/r)`: the "
            f"strategy did (value shown) but the baseline did not, so no percentage exists."
        )
        views = [("labels", "labels", 0), ("cost", "cost", 1)]
        setting_frame = _in_setting(frame, setting)
        if setting_frame.select((pl.col("cost") == pl.col("n_labeled")).all()).item():
            views = views[:1]
            doc.paragraph("Every label cost one unit in these runs, so savings in cost equal savings in labels.")
        for axis, unit, digits in views:
            key = "labels_to_target" if axis == "labels" else "cost_to_target"
            pct = "label_savings_pct" if axis == "labels" else "cost_savings_pct"

            def cell(r: dict, key: str = key, pct: str = pct, digits: int = digits) -> str:
                if r[key] is None:
                    return "n/r"
                if r["baseline_" + key] is None:
                    return f"{r[key]:.{digits}f} ({baseline} n/r)"
                return f"{r[pct]:+.0f}% ({r[key]:.{digits}f} vs {r['baseline_' + key]:.{digits}f})"

            header, rows = _wide(
                _in_setting(saving, setting), ["dataset", "fraction"], [s for s in strategies if s != baseline], cell
            )
            doc.paragraph(f"Savings in {unit}:")
            doc.table(header, rows)

    per_run_targets = computed["labels_to_target"]
    if per_run_targets is not None:
        doc.heading("Labels to target, seed by seed", level=level)
        doc.paragraph(
            f"Labels each run bought before its test accuracy first reached {_shares(per_run_targets)} of its "
            "full-pool accuracy: "
            "median over the seeds that reached it, with [seeds reached / seeds run]. Runs that never reached "
            "the target within the budget count in the second number only."
        )
        summary = (
            _in_setting(per_run_targets, setting)
            .group_by([*metrics.CONFIG_COLUMNS, "fraction"])
            .agg(
                pl.col("labels_to_target").median().alias("median"),
                pl.col("reached").sum().alias("n_reached"),
                pl.len().alias("n_runs"),
            )
        )
        header, rows = _wide(
            summary,
            ["dataset", "fraction"],
            strategies,
            lambda r: ("n/r" if r["median"] is None else f"{r['median']:g}") + f" [{r['n_reached']}/{r['n_runs']}]",
        )
        doc.table(header, rows)

    deficiency = computed["deficiency"]
    if deficiency is not None:
        doc.heading("Deficiency", level=level)
        doc.paragraph(
            f"Deficiency against `{baseline}` (Baram, El-Yaniv & Luz 2004): summed gap to the full-pool "
            f"accuracy along the mean learning curve divided by the baseline's summed gap. Below 1 is better "
            f"than {baseline}; {baseline} itself is 1."
        )
        header, rows = _wide(_in_setting(deficiency, setting), ["dataset"], strategies, lambda r: _fmt(r["deficiency"]))
        doc.table(header, rows)

    tests, win_tie_loss = computed["paired_tests"], computed["win_tie_loss"]
    if tests is not None and win_tie_loss is not None:  # both or neither: computed together
        doc.heading(f"Win / tie / loss against {baseline}", level=level)
        doc.paragraph(
            f"Per dataset, each strategy's per-seed AULC against `{baseline}` on the same seeds: Wilcoxon "
            f"signed-rank test with 6 or more paired seeds, paired t-test (or exact sign test) below that; "
            f"win or loss when p < {alpha:g}, else tie."
        )
        wtl = _in_setting(win_tie_loss, setting)
        doc.table(
            ["strategy", "wins", "ties", "losses", "datasets"],
            [
                [r["strategy"], str(r["wins"]), str(r["ties"]), str(r["losses"]), str(r["n_datasets"])]
                for r in wtl.iter_rows(named=True)
            ],
        )
        header, rows = _wide(
            _in_setting(tests, setting),
            ["dataset"],
            [s for s in strategies if s != baseline],
            lambda r: r["outcome"] + ("" if r["p_value"] is None else f" (p={r['p_value']:.3g}, {r['test']})"),
        )
        doc.paragraph("Per dataset (p-value and test used):")
        doc.table(header, rows)

    average = computed["average_ranks"]
    if average is not None and _in_setting(average, setting).height:
        setting_average = _in_setting(average, setting)
        doc.heading("Ranks across datasets", level=level)
        friedman = computed["friedman"]
        friedman_row = (
            None
            if friedman is None or not _in_setting(friedman, setting).height
            else _in_setting(friedman, setting).row(0, named=True)
        )
        if friedman_row is not None:
            doc.paragraph(
                f"Friedman test over {friedman_row['n_datasets']} datasets and {friedman_row['n_strategies']} "
                f"strategies: chi2 = {friedman_row['statistic']:.2f}, p = {friedman_row['p_value']:.3g} "
                f"(Iman-Davenport F = {friedman_row['iman_davenport']:.2f}, p = "
                f"{friedman_row['iman_davenport_p_value']:.3g}): the strategies "
                + ("differ significantly" if friedman_row["significant"] else "do not differ significantly")
                + f" at alpha = {alpha:g}. Nemenyi critical difference CD = "
                f"{friedman_row['critical_difference']:.2f}."
            )
        if _bound_in(_in_setting(frame, setting), bound):
            doc.paragraph(
                f"`{bound}` reads the true labels, so it is left out of the ranks, the Friedman test, the "
                "critical-difference diagram and the seed-stability check (its distance to the others is in "
                "its own section)."
            )
        doc.table(
            ["strategy", "average rank", "datasets"],
            [
                [r["strategy"], f"{r['average_rank']:.2f}", str(r["n_datasets"])]
                for r in setting_average.iter_rows(named=True)
            ],
        )
        ranks = computed["dataset_ranks"]
        if ranks is not None:
            fig = figures.plot_ranks(_in_setting(ranks, setting), setting_average, colors=colors)
            doc.image(
                _save(fig, out, f"ranks_{slug}.png", dpi), "Rank on each dataset (dots) and average rank (diamonds)."
            )
        if friedman_row is not None:
            fig = figures.plot_critical_difference(
                setting_average,
                friedman_row["critical_difference"],
                title=f"Critical difference diagram (Nemenyi, alpha = {alpha:g})",
            )
            doc.image(
                _save(fig, out, f"critical_difference_{slug}.png", dpi),
                "Critical-difference diagram: strategies joined by a bar are not significantly different.",
            )

    stability = computed["seed_stability"]
    if stability is not None and _in_setting(stability, setting).height:
        table = _in_setting(stability, setting)
        needed = stats.seeds_to_stable_ranking(table, threshold=threshold).row(0, named=True)
        doc.heading("How many seeds does the ranking need?", level=level)
        verdict = (
            f"The mean Kendall tau to the all-seeds ranking stays at or above {threshold:g} from "
            f"**{needed['seeds_needed']}** of {needed['seeds_available']} seeds on."
        )
        if needed["seeds_needed"] == needed["seeds_available"]:
            verdict += (
                " The ranking was still changing when the last seed was added: run more seeds before trusting it."
            )
        doc.paragraph(verdict)
        doc.table(
            ["seeds", "subsets", "mean tau", "worst tau", "identical ranking"],
            [
                [
                    str(r["n_seeds"]),
                    str(r["n_subsamples"]),
                    f"{r['mean_tau']:.3f}",
                    f"{r['min_tau']:.3f}",
                    f"{r['share_identical']:.0%}",
                ]
                for r in table.sort("n_seeds").iter_rows(named=True)
            ],
        )
        fig = figures.plot_seed_stability(table, threshold=threshold)
        doc.image(
            _save(fig, out, f"seed_stability_{slug}.png", dpi),
            "Agreement of the ranking from n seeds with the ranking from all seeds.",
        )


def _definitions(doc: Document, baseline: str, alpha: float, confidence: float, threshold: float) -> None:
    doc.heading("Definitions")
    doc.bullets(
        [
            "Learning curves are linear between recorded rounds; seeds are averaged on the label (cost) range "
            "every seed covered, on the union of the label counts (costs) at which the seeds recorded a round.",
            f"Bands: mean +/- t(1 - (1 - {confidence:g})/2, n - 1) * s / sqrt(n) over n seeds; none for one seed.",
            "AULC: trapezoid area under a run's curve over the label range every run of its dataset shares, "
            "divided by the width of that range (so it is the curve's mean height, 0-1 for accuracy).",
            "Labels / cost to target: first point where the curve reaches 95% (99%) of the accuracy of the "
            "learner trained on the whole pool; n/r when never reached within the budget.",
            f"Savings: 100 * (baseline - strategy) / baseline, baseline = `{baseline}`.",
            "Deficiency (Baram et al. 2004): sum_t (acc_max - acc_t(strategy)) / sum_t (acc_max - acc_t(baseline)), "
            "acc_max the full-pool accuracy, t over the label counts of both mean curves.",
            f"Paired tests at alpha = {alpha:g} on per-seed AULC; ranks by mean AULC per dataset (1 = best, ties "
            "averaged); Friedman test and Nemenyi CD = q_alpha sqrt(k(k+1)/(6N)) (Demsar 2006).",
            f"Seed stability: for n = 1..N seeds, average ranks from random n-seed subsets (seeded) compared "
            f"with the all-seeds ranking by Kendall tau-b; 'seeds needed' is the smallest n from which the mean "
            f"tau stays >= {threshold:g} for every larger n.",
        ]
    )


#: Strategies that score uncertainty over the whole class distribution: the ones whose losses to random on
#: many-class data are explained in the notes.
_UNCERTAINTY_STRATEGIES = ("entropy", "least_confidence", "density_weighted")
_BINARY_TWINS = {"margin", "entropy", "least_confidence"}


def coincident_strategies(per_run: pl.DataFrame | None) -> dict[tuple[object, ...], list[list[str]]]:
    """Find the strategies whose per-run AULC is identical on every seed, per (dataset, learner, batch size).

    Such strategies made the same choices (e.g. margin, entropy and least confidence order the examples of
    a two-class problem identically), so their learning curves lie on top of each other.
    """
    if per_run is None or per_run.height == 0:
        return {}
    keys = list(CONTEXT_COLUMNS)
    groups: dict[tuple[object, ...], list[list[str]]] = {}
    for part in per_run.partition_by(keys, maintain_order=True):
        runs = {
            strategy: dict(zip(rows["seed"].to_list(), rows["aulc"].to_list(), strict=True))
            for (strategy,), rows in part.group_by(["strategy"], maintain_order=True)
        }
        assigned: set[str] = set()
        found = []
        for strategy in sorted(runs):
            if strategy in assigned:
                continue
            group = [strategy]
            for other in sorted(runs):
                if other <= strategy or other in assigned:
                    continue
                shared = set(runs[strategy]) & set(runs[other])
                if (
                    shared
                    and len(shared) == len(runs[strategy]) == len(runs[other])
                    and all(runs[strategy][seed] == runs[other][seed] for seed in shared)
                ):
                    group.append(other)
            if len(group) > 1:
                assigned.update(group)
                found.append(group)
        if found:
            first = part.row(0, named=True)
            groups[tuple(first[k] for k in keys)] = found
    return groups


def _behaviour_notes(computed: dict[str, pl.DataFrame | None], frame: pl.DataFrame, baseline: str) -> list[str]:
    """Note what a reader could misread in the figures: identical curves, strategies worse than the baseline."""
    several = frame.select(_SETTING).n_unique() > 1
    notes = []
    by_group: dict[tuple[str, ...], list[str]] = {}
    for (dataset, learner, batch_size), groups in coincident_strategies(computed.get("aulc_per_run")).items():
        where = f"`{dataset}`" + (f" ({learner}, batch {batch_size})" if several else "")
        for group in groups:
            by_group.setdefault(tuple(group), []).append(where)
    for twins, twin_places in by_group.items():
        why = (
            " On two-class data the three measures are all decreasing functions of the top class probability, "
            "so they rank the pool identically and pick the same batches."
            if set(twins) <= _BINARY_TWINS
            else ""
        )
        notes.append(
            " = ".join(f"`{s}`" for s in twins)
            + " made identical choices on "
            + ", ".join(twin_places)
            + " (the same AULC on every seed): their learning curves lie on top of each other; the figures draw "
            "them with different dash patterns and name them in the panel." + why
        )
    tests = computed.get("paired_tests")
    if tests is not None and tests.height:
        losses = tests.filter((pl.col("outcome") == "loss") & (pl.col("mean_difference") < 0)).sort(
            "strategy", "mean_difference"
        )
        for (strategy,), rows in losses.group_by(["strategy"], maintain_order=True):
            places = ", ".join(
                f"`{r['dataset']}`"
                + (f" ({r['learner']}, batch {r['batch_size']})" if several else "")
                + f" ({r['mean_difference']:+.3f} AULC)"
                for r in rows.iter_rows(named=True)
            )
            text = f"`{strategy}` is significantly worse than `{baseline}` on {places}."
            if strategy in _UNCERTAINTY_STRATEGIES:
                text += (
                    " This is behaviour of the strategy, not an alsim defect (a plain scikit-learn loop "
                    "reproduces it on many-class data such as letter and vowel): uncertainty measured over many "
                    "classes follows the early model's confusions, and a batch of the top-scored examples is "
                    "similar and unrepresentative (there is no diversity term), so a random sample teaches the "
                    "model more."
                )
            elif strategy == "qbc_kl":
                text += (
                    " See the README ('qbc_kl on two-class data') for why KL-to-consensus with a bagged committee "
                    "does this."
                )
            notes.append(text)
    return notes
