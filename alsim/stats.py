"""Statistical comparison of query strategies over seeds and datasets.

Builds on the per-run normalised area under the learning curve of :func:`alsim.metrics.aulc`:

* :func:`paired_tests` - per dataset, each strategy against a baseline over paired seeds (win/tie/loss);
* :func:`win_tie_loss` - those outcomes counted over datasets;
* :func:`dataset_ranks`, :func:`average_ranks`, :func:`friedman_test`, :func:`nemenyi_critical_difference`,
  :func:`nemenyi_groups` - Demsar's (2006) procedure for several strategies over several datasets;
* :func:`seed_stability` and :func:`seeds_to_stable_ranking` - how many seeds the ranking needs.

References
----------
J. Demsar, "Statistical Comparisons of Classifiers over Multiple Data Sets", JMLR 7 (2006) 1-30.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as sps

from alsim._messages import counted
from alsim._validation import check_choice, check_fraction, check_int, fail
from alsim.exceptions import InvalidInputError
from alsim.metrics import METRIC_CHOICES, X_CHOICES, FewSeedsWarning, aulc, require_baseline
from alsim.results import CONFIG_COLUMNS, CONTEXT_COLUMNS, check_results

__all__ = [
    "SETTING_COLUMNS",
    "average_ranks",
    "dataset_ranks",
    "friedman_test",
    "nemenyi_critical_difference",
    "nemenyi_groups",
    "paired_tests",
    "seed_stability",
    "seeds_to_stable_ranking",
    "win_tie_loss",
]

# Ranks are computed across datasets separately for every learner and batch size (a "setting").
SETTING_COLUMNS: tuple[str, ...] = ("learner", "batch_size")


def _per_run_aulc(results: pl.DataFrame, func: str, metric: str, x: str, relative_to_reference: bool) -> pl.DataFrame:
    check_choice(metric, "metric", func, METRIC_CHOICES)
    check_choice(x, "x", func, X_CHOICES)
    frame = check_results(results, func, signals=(x, metric))
    return aulc(frame, metric=metric, x=x, relative_to_reference=relative_to_reference)


# ------------------------------------------------------------------------------------------ paired tests


def _signed_rank_balance(diff: np.ndarray) -> float:
    """Sum of the ranks of positive minus negative differences (zeros dropped), Wilcoxon's direction."""
    nonzero = diff[diff != 0]
    ranks = sps.rankdata(np.abs(nonzero))
    return float(ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum())


def _paired_test(diff: np.ndarray, alpha: float, min_wilcoxon: int) -> tuple[str, float | None, float | None, str]:
    """Test name, statistic, p-value and outcome for one strategy-minus-baseline vector of differences."""
    n = diff.size
    if n < 2:
        return "none (fewer than 2 paired seeds)", None, None, "tie"
    # AULCs of identical curves can differ in the last bits; treat those as equal.
    tolerance = 1e-12 * max(1.0, float(np.max(np.abs(diff))))
    if np.all(np.abs(diff) <= tolerance):
        return "none (all differences zero)", 0.0, 1.0, "tie"
    n_pos, n_neg = int(np.sum(diff > 0)), int(np.sum(diff < 0))
    if n >= min_wilcoxon:
        result = sps.wilcoxon(diff, zero_method="wilcox", alternative="two-sided")
        test, statistic, p_value = "wilcoxon", float(result.statistic), float(result.pvalue)
        direction = _signed_rank_balance(diff)
    elif np.ptp(diff) <= tolerance:
        # Identical non-zero differences: a t statistic is undefined (zero variance); the exact sign
        # test still measures how surprising n agreeing signs are.
        result = sps.binomtest(n_pos, n_pos + n_neg, 0.5)
        test, statistic, p_value = "sign", float(n_pos), float(result.pvalue)
        direction = float(n_pos - n_neg)
    else:
        result = sps.ttest_1samp(diff, 0.0)
        test, statistic, p_value = "t", float(result.statistic), float(result.pvalue)
        direction = float(diff.mean())
    if p_value < alpha and direction > 0:
        outcome = "win"
    elif p_value < alpha and direction < 0:
        outcome = "loss"
    else:
        outcome = "tie"
    return test, statistic, p_value, outcome


def paired_tests(
    results: pl.DataFrame,
    *,
    baseline: str = "random",
    alpha: float = 0.05,
    metric: str = "accuracy",
    x: str = "n_labeled",
    relative_to_reference: bool = False,
    min_wilcoxon: int = 6,
) -> pl.DataFrame:
    """Paired test of every strategy against a baseline on each dataset, over seeds.

    The paired samples are the per-seed normalised AULCs (:func:`alsim.metrics.aulc`) of the strategy
    and the baseline on the same seed (same split and initial set); seeds missing for either side are
    left out. The test is chosen from the differences ``d = strategy - baseline``:

    * all ``d`` zero: no test, ``p = 1``, a tie;
    * ``n >= min_wilcoxon``: two-sided Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, zero
      differences dropped). With fewer than 6 pairs its exact p-value cannot go below 0.0625, so
    * ``2 <= n < min_wilcoxon``: paired t-test (``scipy.stats.ttest_1samp`` on ``d``), or the exact sign
      test when all ``d`` are equal (the t statistic has zero variance there);
    * ``n < 2``: no test, a tie, with a :class:`~alsim.metrics.FewSeedsWarning`.

    The outcome is ``"win"`` when ``p < alpha`` and the strategy is better (positive signed-rank balance,
    sign count or mean difference), ``"loss"`` when ``p < alpha`` and it is worse, else ``"tie"``.

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame including the ``baseline`` strategy in every context.
    baseline : str, default="random"
    alpha : float in (0, 1), default=0.05
    metric, x, relative_to_reference
        Passed to :func:`alsim.metrics.aulc`.
    min_wilcoxon : int >= 6, default=6
        Smallest number of pairs tested with the Wilcoxon test.

    Returns
    -------
    polars.DataFrame
        One row per non-baseline configuration: ``dataset, learner, batch_size, strategy, baseline,
        n_pairs, mean_aulc, baseline_mean_aulc, mean_difference, test, statistic, p_value, outcome``.

    Examples
    --------
    >>> paired_tests(results).select("dataset", "strategy", "p_value", "outcome")  # doctest: +SKIP
    """
    func = "paired_tests"
    alpha = check_fraction(alpha, "alpha", func)
    if isinstance(min_wilcoxon, bool) or not isinstance(min_wilcoxon, int) or min_wilcoxon < 6:
        expected = "an int >= 6 (below that the exact Wilcoxon test cannot reach p < 0.05)"
        raise fail("min_wilcoxon", func, expected, min_wilcoxon)
    per_run = _per_run_aulc(results, func, metric, x, relative_to_reference)
    require_baseline(results, baseline, func)
    base = per_run.filter(pl.col("strategy") == baseline).select(
        *CONTEXT_COLUMNS, "seed", pl.col("aulc").alias("baseline_aulc")
    )
    paired = per_run.filter(pl.col("strategy") != baseline).join(base, on=[*CONTEXT_COLUMNS, "seed"], how="inner")
    rows = []
    too_few = []
    for config, group in paired.sort("seed").group_by(list(CONFIG_COLUMNS), maintain_order=True):
        ours = group.get_column("aulc").to_numpy()
        theirs = group.get_column("baseline_aulc").to_numpy()
        test, statistic, p_value, outcome = _paired_test(ours - theirs, alpha, min_wilcoxon)
        if ours.size < 2:
            too_few.append(config)
        rows.append(
            (
                *config,
                baseline,
                int(ours.size),
                float(ours.mean()),
                float(theirs.mean()),
                float((ours - theirs).mean()),
                test,
                statistic,
                p_value,
                outcome,
            )
        )
    if too_few:
        warnings.warn(
            f"paired_tests: {len(too_few)} configuration(s) share fewer than 2 seeds with {baseline!r}, "
            f"e.g. {dict(zip(CONFIG_COLUMNS, too_few[0], strict=True))}; they count as ties, untested.",
            FewSeedsWarning,
            stacklevel=2,
        )
    schema: dict[str, Any] = {
        **{c: per_run.schema[c] for c in CONFIG_COLUMNS},
        "baseline": pl.String,
        "n_pairs": pl.Int64,
        "mean_aulc": pl.Float64,
        "baseline_mean_aulc": pl.Float64,
        "mean_difference": pl.Float64,
        "test": pl.String,
        "statistic": pl.Float64,
        "p_value": pl.Float64,
        "outcome": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(list(CONFIG_COLUMNS))


def win_tie_loss(tests: pl.DataFrame) -> pl.DataFrame:
    """Count the outcomes of :func:`paired_tests` over datasets.

    Parameters
    ----------
    tests : polars.DataFrame
        Output of :func:`paired_tests`.

    Returns
    -------
    polars.DataFrame
        One row per learner, batch size and strategy: ``learner, batch_size, strategy, wins, ties,
        losses, n_datasets``, best (most wins minus losses) first.

    Examples
    --------
    >>> win_tie_loss(paired_tests(results))  # doctest: +SKIP
    """
    missing = [c for c in (*CONFIG_COLUMNS, "outcome") if c not in tests.columns]
    if missing:
        raise InvalidInputError(
            f"The 'tests' frame given to win_tie_loss lacks the columns {missing}; pass the output of paired_tests."
        )
    keys = [*SETTING_COLUMNS, "strategy"]
    return (
        tests.group_by(keys)
        .agg(
            (pl.col("outcome") == "win").sum().cast(pl.Int64).alias("wins"),
            (pl.col("outcome") == "tie").sum().cast(pl.Int64).alias("ties"),
            (pl.col("outcome") == "loss").sum().cast(pl.Int64).alias("losses"),
            pl.len().cast(pl.Int64).alias("n_datasets"),
        )
        .sort([*SETTING_COLUMNS, pl.col("wins") - pl.col("losses"), "strategy"], descending=[False, False, True, False])
    )


# ------------------------------------------------------------------------------------------------- ranks


def _complete_blocks(scores: pl.DataFrame, func: str) -> pl.DataFrame:
    """Keep the datasets on which every strategy of the setting has a score (Friedman needs full blocks)."""
    n_strategies = scores.group_by(SETTING_COLUMNS).agg(pl.col("strategy").n_unique().alias("k"))
    per_block = scores.group_by([*SETTING_COLUMNS, "dataset"]).agg(pl.col("strategy").n_unique().alias("n"))
    blocks = per_block.join(n_strategies, on=list(SETTING_COLUMNS))
    incomplete = blocks.filter(pl.col("n") < pl.col("k"))
    if incomplete.height:
        warnings.warn(
            f"{func}: {incomplete.height} dataset(s) lack results for some strategies and are left out of "
            f"the ranks, e.g. {incomplete.row(0, named=True)}. Rerun their failed cells to include them.",
            UserWarning,
            stacklevel=3,
        )
    complete = blocks.filter(pl.col("n") == pl.col("k")).select(*SETTING_COLUMNS, "dataset")
    return scores.join(complete, on=[*SETTING_COLUMNS, "dataset"], how="semi")


def _scores_from_per_run(per_run: pl.DataFrame) -> pl.DataFrame:
    return per_run.group_by(list(CONFIG_COLUMNS)).agg(pl.col("aulc").mean().alias("score"))


def _rank_scores(scores: pl.DataFrame) -> pl.DataFrame:
    """Rank strategies within each dataset: 1 = highest score, ties share the average rank."""
    return scores.with_columns(
        pl.col("score").rank(method="average", descending=True).over([*SETTING_COLUMNS, "dataset"]).alias("rank")
    )


def dataset_ranks(
    results: pl.DataFrame,
    *,
    metric: str = "accuracy",
    x: str = "n_labeled",
    relative_to_reference: bool = False,
) -> pl.DataFrame:
    """Rank of every strategy on every dataset by its mean AULC over seeds.

    Rank 1 is the highest mean AULC; tied strategies share the average of their ranks (Demsar 2006).
    Datasets where some strategy has no finished cell are left out with a warning.

    Returns
    -------
    polars.DataFrame
        ``dataset, learner, batch_size, strategy, score, rank`` (``score`` = mean AULC over seeds).

    Examples
    --------
    >>> dataset_ranks(results).filter(pl.col("dataset") == "iris")  # doctest: +SKIP
    """
    func = "dataset_ranks"
    per_run = _per_run_aulc(results, func, metric, x, relative_to_reference)
    scores = _complete_blocks(_scores_from_per_run(per_run), func)
    return _rank_scores(scores).sort([*SETTING_COLUMNS, "dataset", "rank", "strategy"])


def _average_ranks_of(ranked: pl.DataFrame) -> pl.DataFrame:
    return (
        ranked.group_by([*SETTING_COLUMNS, "strategy"])
        .agg(pl.col("rank").mean().alias("average_rank"), pl.len().cast(pl.Int64).alias("n_datasets"))
        .sort([*SETTING_COLUMNS, "average_rank", "strategy"])
    )


def average_ranks(
    results: pl.DataFrame,
    *,
    metric: str = "accuracy",
    x: str = "n_labeled",
    relative_to_reference: bool = False,
) -> pl.DataFrame:
    """Average rank of every strategy across datasets (lower is better).

    Returns
    -------
    polars.DataFrame
        ``learner, batch_size, strategy, average_rank, n_datasets``, best first.

    Examples
    --------
    >>> average_ranks(results)  # doctest: +SKIP
    """
    func = "average_ranks"
    per_run = _per_run_aulc(results, func, metric, x, relative_to_reference)
    scores = _complete_blocks(_scores_from_per_run(per_run), func)
    return _average_ranks_of(_rank_scores(scores))


def nemenyi_critical_difference(n_strategies: int, n_datasets: int, alpha: float = 0.05) -> float:
    """Critical difference of average ranks for the Nemenyi test (Demsar 2006, section 3.2.2).

    ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha`` the upper-``alpha`` quantile of the
    studentized range for ``k`` groups and infinite degrees of freedom, divided by ``sqrt(2)``
    (``scipy.stats.studentized_range``). Two strategies whose average ranks differ by at least ``CD``
    perform significantly differently.

    Examples
    --------
    >>> round(nemenyi_critical_difference(4, 14), 2)  # Demsar (2006), section 4.2
    1.25
    """
    func = "nemenyi_critical_difference"
    alpha = check_fraction(alpha, "alpha", func)
    k = check_int(n_strategies, "n_strategies", func, low=2)
    n = check_int(n_datasets, "n_datasets", func, low=1)
    q_alpha = float(sps.studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q_alpha * math.sqrt(k * (k + 1) / (6.0 * n))


def nemenyi_groups(average: Sequence[float] | np.ndarray, critical_difference: float) -> list[tuple[int, int]]:
    """Maximal runs of strategies, sorted by average rank, that are not significantly different.

    ``average`` must be sorted ascending. Returns ``(first, last)`` index pairs (inclusive) of the groups
    whose extreme ranks differ by less than ``critical_difference``, leaving out single strategies and
    groups inside a larger one: the bars of a critical-difference diagram.

    Examples
    --------
    >>> nemenyi_groups([1.0, 1.5, 2.9, 3.2], 1.25)
    [(0, 1), (2, 3)]
    """
    ranks = np.asarray(average, dtype=np.float64)
    if np.any(np.diff(ranks) < 0):
        raise InvalidInputError("The 'average' ranks given to nemenyi_groups must be sorted ascending.")
    groups: list[tuple[int, int]] = []
    for first in range(ranks.size):
        last = int(np.searchsorted(ranks, ranks[first] + critical_difference, side="left")) - 1
        if last > first and (not groups or last > groups[-1][1]):
            groups.append((first, last))
    return groups


def friedman_test(
    results: pl.DataFrame,
    *,
    alpha: float = 0.05,
    metric: str = "accuracy",
    x: str = "n_labeled",
    relative_to_reference: bool = False,
) -> pl.DataFrame:
    """Friedman test of equal performance of all strategies across datasets, with Nemenyi's CD.

    For every learner and batch size, the block design is datasets x strategies of mean AULC over
    seeds. ``statistic`` is Friedman's chi-square (``scipy.stats.friedmanchisquare``, tie-corrected);
    ``iman_davenport`` is the less conservative F statistic Demsar recommends,
    ``F = (N - 1) chi2 / (N (k - 1) - chi2)`` on ``(k - 1, (k - 1)(N - 1))`` degrees of freedom (infinite,
    with p = 0, when all datasets rank the strategies identically); when every dataset ties all strategies
    the statistic is 0 and p is 1. ``critical_difference`` is :func:`nemenyi_critical_difference`.

    Needs at least 3 strategies (scipy's requirement; with 2, use :func:`paired_tests`) and 2 datasets.

    Returns
    -------
    polars.DataFrame
        One row per learner and batch size: ``learner, batch_size, n_strategies, n_datasets, statistic,
        p_value, iman_davenport, iman_davenport_p_value, alpha, significant, critical_difference``.

    Examples
    --------
    >>> friedman_test(results).select("p_value", "critical_difference")  # doctest: +SKIP
    """
    func = "friedman_test"
    alpha = check_fraction(alpha, "alpha", func)
    per_run = _per_run_aulc(results, func, metric, x, relative_to_reference)
    scores = _complete_blocks(_scores_from_per_run(per_run), func)
    rows = []
    for setting, group in scores.group_by(list(SETTING_COLUMNS), maintain_order=True):
        table = group.pivot(on="strategy", index="dataset", values="score").drop("dataset")
        k, n = table.width, table.height
        if k < 3 or n < 2:
            raise InvalidInputError(
                f"The Friedman test needs at least 3 strategies and 2 datasets with complete results; "
                f"{_setting_text(setting)} has {counted(k, 'strategy')} and {counted(n, 'dataset')}. With 2 "
                "strategies use paired_tests; otherwise add strategies or datasets to the experiment."
            )
        matrix = table.to_numpy()
        if np.all(matrix == matrix[:, :1]):
            chi2, p_value = 0.0, 1.0
        else:
            result = sps.friedmanchisquare(*matrix.T)
            chi2, p_value = float(result.statistic), float(result.pvalue)
        denominator = n * (k - 1) - chi2
        if denominator <= 0:
            f_stat, f_p = math.inf, 0.0
        else:
            f_stat = (n - 1) * chi2 / denominator
            f_p = float(sps.f.sf(f_stat, k - 1, (k - 1) * (n - 1)))
        rows.append(
            (
                *setting,
                k,
                n,
                chi2,
                p_value,
                f_stat,
                f_p,
                alpha,
                p_value < alpha,
                nemenyi_critical_difference(k, n, alpha),
            )
        )
    schema: dict[str, Any] = {
        **{c: scores.schema[c] for c in SETTING_COLUMNS},
        "n_strategies": pl.Int64,
        "n_datasets": pl.Int64,
        "statistic": pl.Float64,
        "p_value": pl.Float64,
        "iman_davenport": pl.Float64,
        "iman_davenport_p_value": pl.Float64,
        "alpha": pl.Float64,
        "significant": pl.Boolean,
        "critical_difference": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(list(SETTING_COLUMNS))


def _setting_text(setting: Sequence[object]) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in zip(SETTING_COLUMNS, setting, strict=True))


# ------------------------------------------------------------------------------------------ seed counts


def _kendall_tau(sample: np.ndarray, full: np.ndarray) -> float:
    """Kendall's tau-b, defined as 1 for identical rankings and 0 when one side has no order at all."""
    if np.array_equal(sample, full):
        return 1.0
    tau = sps.kendalltau(sample, full).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def seed_stability(
    results: pl.DataFrame,
    *,
    n_subsamples: int = 50,
    metric: str = "accuracy",
    x: str = "n_labeled",
    relative_to_reference: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> pl.DataFrame:
    """How close the strategy ranking from ``n`` seeds comes to the ranking from all seeds.

    For every learner and batch size, the *full ranking* is the strategies' average rank across
    datasets from the mean AULC over all seeds that every (dataset, strategy) ran. For each ``n`` from 1
    to that number of seeds ``N``, ``n_subsamples`` subsets of ``n`` seeds are drawn without replacement
    (with a seeded generator; all ``C(N, n)`` subsets when there are fewer), the average ranks are
    recomputed from those seeds only and compared with the full ranking by Kendall's tau-b (1 for
    identical orders). See :func:`seeds_to_stable_ranking` for the summary.

    Parameters
    ----------
    results : polars.DataFrame
        Long results frame with at least 2 strategies.
    n_subsamples : int >= 1, default=50
    metric, x, relative_to_reference
        Passed to :func:`alsim.metrics.aulc`.
    random_state : int, numpy.random.Generator or None, default=0

    Returns
    -------
    polars.DataFrame
        ``learner, batch_size, n_seeds, n_subsamples, mean_tau, min_tau, share_identical`` where
        ``share_identical`` is the share of subsets giving exactly the full order of average ranks.

    Examples
    --------
    >>> seeds_to_stable_ranking(seed_stability(results), threshold=0.9)  # doctest: +SKIP
    """
    func = "seed_stability"
    n_subsamples = check_int(n_subsamples, "n_subsamples", func, low=1)
    rng = np.random.default_rng(random_state)
    per_run = _per_run_aulc(results, func, metric, x, relative_to_reference)
    rows = []
    for setting, group in per_run.group_by(list(SETTING_COLUMNS), maintain_order=True):
        strategies = sorted(group.get_column("strategy").unique().to_list())
        if len(strategies) < 2:
            raise InvalidInputError(
                f"seed_stability ranks strategies, but {_setting_text(setting)} has only {strategies}. "
                f"Run at least 2 strategies."
            )
        cube, seeds = _score_cube(group, strategies, func)
        full = _average_rank_vector(cube.mean(axis=2))
        for n in range(1, len(seeds) + 1):
            subsets = _seed_subsets(len(seeds), n, n_subsamples, rng)
            taus = np.empty(len(subsets))
            identical = 0
            for i, subset in enumerate(subsets):
                sample = _average_rank_vector(cube[:, :, subset].mean(axis=2))
                taus[i] = _kendall_tau(sample, full)
                identical += bool(np.array_equal(sps.rankdata(sample), sps.rankdata(full)))
            rows.append((*setting, n, len(subsets), float(taus.mean()), float(taus.min()), identical / len(subsets)))
    schema: dict[str, Any] = {
        **{c: per_run.schema[c] for c in SETTING_COLUMNS},
        "n_seeds": pl.Int64,
        "n_subsamples": pl.Int64,
        "mean_tau": pl.Float64,
        "min_tau": pl.Float64,
        "share_identical": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _score_cube(group: pl.DataFrame, strategies: list[str], func: str) -> tuple[np.ndarray, list[int]]:
    """AULC as datasets x strategies x seeds.

    Datasets where some strategy has no finished cell are left out (as in the ranks); of the rest, only
    the seeds every dataset and strategy finished are used, so every subset compares like with like.
    """
    per_seed = group.select("dataset", "strategy", "seed", "aulc")
    all_datasets = sorted(per_seed.get_column("dataset").unique().to_list())
    per_dataset = per_seed.group_by("dataset").agg(pl.col("strategy").n_unique().alias("k"))
    datasets = sorted(per_dataset.filter(pl.col("k") == len(strategies)).get_column("dataset").to_list())
    complete = (
        per_seed.filter(pl.col("dataset").is_in(datasets))
        .group_by("dataset", "seed")
        .agg(pl.col("strategy").n_unique().alias("k"))
        .filter(pl.col("k") == len(strategies))
    )
    n_datasets_per_seed = complete.group_by("seed").agg(pl.len().alias("n"))
    seeds = sorted(n_datasets_per_seed.filter(pl.col("n") == len(datasets)).get_column("seed").to_list())
    if not datasets or not seeds:
        raise InvalidInputError(
            f"{func} needs seeds that every strategy finished on the same datasets; these results share "
            f"none. Rerun the failed cells."
        )
    all_seeds = per_seed.get_column("seed").n_unique()
    if len(datasets) < len(all_datasets) or len(seeds) < all_seeds:
        warnings.warn(
            f"{func}: the ranking-stability check uses the {len(datasets)} of {counted(len(all_datasets), 'dataset')} "
            f"and {len(seeds)} of {counted(all_seeds, 'seed')} that every strategy finished.",
            UserWarning,
            stacklevel=3,
        )
    cube = np.empty((len(datasets), len(strategies), len(seeds)))
    index = {(d, s, seed): a for d, s, seed, a in per_seed.iter_rows()}
    for i, d in enumerate(datasets):
        for j, s in enumerate(strategies):
            for m, seed in enumerate(seeds):
                cube[i, j, m] = index[(d, s, seed)]
    return cube, seeds


def _average_rank_vector(scores: np.ndarray) -> np.ndarray:
    """Average over datasets (rows) of the within-row rank, 1 = highest score."""
    return sps.rankdata(-scores, axis=1).mean(axis=0)


def _seed_subsets(n_total: int, n: int, n_subsamples: int, rng: np.random.Generator) -> list[np.ndarray]:
    if math.comb(n_total, n) <= n_subsamples:
        return [np.array(c) for c in combinations(range(n_total), n)]
    return [np.sort(rng.choice(n_total, size=n, replace=False)) for _ in range(n_subsamples)]


def seeds_to_stable_ranking(stability: pl.DataFrame, *, threshold: float = 0.9) -> pl.DataFrame:
    """Smallest seed count from which the ranking stays close to the all-seeds ranking.

    Defined as the smallest ``n`` such that for *every* ``m >= n`` the mean Kendall tau of
    :func:`seed_stability` is at least ``threshold``. With all ``N`` seeds tau is 1 by construction, so
    ``n = N`` says the ranking was still moving when the last seed was added: more seeds are needed to
    trust it.

    Returns
    -------
    polars.DataFrame
        ``learner, batch_size, threshold, seeds_needed, seeds_available``.

    Examples
    --------
    >>> seeds_to_stable_ranking(seed_stability(results))  # doctest: +SKIP
    """
    threshold = check_fraction(threshold, "threshold", "seeds_to_stable_ranking", high_open=False)
    rows = []
    for setting, group in stability.sort("n_seeds").group_by(list(SETTING_COLUMNS), maintain_order=True):
        n_seeds = group.get_column("n_seeds").to_numpy()
        ok = group.get_column("mean_tau").to_numpy() >= threshold - 1e-12
        needed = int(n_seeds[-1])
        for i in range(len(ok) - 1, -1, -1):
            if not ok[i]:
                break
            needed = int(n_seeds[i])
        rows.append((*setting, float(threshold), needed, int(n_seeds[-1])))
    schema: dict[str, Any] = {
        **{c: stability.schema[c] for c in SETTING_COLUMNS},
        "threshold": pl.Float64,
        "seeds_needed": pl.Int64,
        "seeds_available": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
