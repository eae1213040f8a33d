"""Paired tests, ranks, Friedman/Nemenyi and the seed-count check against scipy and Demsar (2006)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from results_factory import frame_from_curves, synthetic_results
from scipy import stats as sps

from alsim import stats
from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.metrics import FewSeedsWarning


def _flat_frame(scores: dict[tuple[str, str, int], float]) -> pl.DataFrame:
    """Constant learning curves: each run's normalised AULC is exactly its score."""
    return frame_from_curves({key: [value] * 3 for key, value in scores.items()}, labels=(10, 20, 30))


def _scores_frame(matrix: np.ndarray, strategies: list[str], seeds: int = 1) -> pl.DataFrame:
    """Datasets x strategies scores as constant curves (the same score on every seed)."""
    scores = {}
    for i, row in enumerate(matrix):
        for strategy, value in zip(strategies, row, strict=True):
            for seed in range(seeds):
                scores[(f"d{i:02d}", strategy, seed)] = float(value)
    return _flat_frame(scores)


# ------------------------------------------------------------------------------------------ paired tests


def _paired(random: list[float], margin: list[float]) -> dict:
    scores = {("iris", "random", s): v for s, v in enumerate(random)}
    scores |= {("iris", "margin", s): v for s, v in enumerate(margin)}
    return stats.paired_tests(_flat_frame(scores)).row(0, named=True)


def test_wilcoxon_for_enough_seeds_matches_scipy():
    rng = np.random.default_rng(3)
    random = rng.uniform(0.6, 0.7, size=10)
    margin = random + rng.normal(0.02, 0.01, size=10)
    row = _paired(list(random), list(margin))
    expected = sps.wilcoxon(margin - random)
    assert row["test"] == "wilcoxon" and row["n_pairs"] == 10
    assert row["p_value"] == pytest.approx(expected.pvalue)
    assert row["outcome"] == "win"
    assert row["mean_difference"] == pytest.approx(float(np.mean(margin - random)))


def test_t_test_fallback_for_few_seeds_matches_scipy_ttest_rel():
    random, margin = [0.60, 0.62, 0.61], [0.55, 0.58, 0.56]
    row = _paired(random, margin)
    assert row["test"] == "t"
    assert row["p_value"] == pytest.approx(sps.ttest_rel(margin, random).pvalue)
    assert row["outcome"] == "loss"


def test_all_equal_differences_give_no_nan():
    row = _paired([0.6, 0.7, 0.8], [0.6, 0.7, 0.8])
    assert (row["test"], row["p_value"], row["outcome"]) == ("none (all differences zero)", 1.0, "tie")
    # Identical non-zero differences: exact sign test, 4 of 4 positive -> p = 2 / 16.
    row = _paired([0.6, 0.7, 0.8, 0.5], [0.65, 0.75, 0.85, 0.55])
    assert row["test"] == "sign" and row["p_value"] == pytest.approx(0.125) and row["outcome"] == "tie"
    # With 8 seeds the Wilcoxon test takes over: exact p = 2 / 2**8.
    row = _paired([0.5 + 0.01 * s for s in range(8)], [0.55 + 0.01 * s for s in range(8)])
    assert row["test"] == "wilcoxon" and row["p_value"] == pytest.approx(2 / 256) and row["outcome"] == "win"


def test_single_pair_is_an_untested_tie_with_warning():
    with pytest.warns(FewSeedsWarning, match="fewer than 2 seeds"):
        row = _paired([0.6], [0.9])
    assert row["outcome"] == "tie" and row["p_value"] is None


def test_paired_tests_pair_by_seed_and_need_the_baseline():
    scores = {("iris", "random", s): 0.6 for s in range(4)}
    scores |= {("iris", "margin", s): 0.7 + 0.01 * s for s in range(2, 6)}
    row = stats.paired_tests(_flat_frame(scores)).row(0, named=True)
    assert row["n_pairs"] == 2  # seeds 2 and 3 only
    frame = _flat_frame({("iris", "margin", 0): 0.6})
    with pytest.raises(InvalidInputError, match="baseline strategy 'random'"):
        stats.paired_tests(frame)
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        stats.paired_tests(frame, alpha=0)


def test_win_tie_loss_counts_over_datasets():
    scores = {}
    for dataset, shift in (("a", 0.1), ("b", -0.1), ("c", 0.0)):
        for seed in range(6):
            noise = 0.001 * seed
            scores[(dataset, "random", seed)] = 0.5 + noise
            scores[(dataset, "margin", seed)] = 0.5 + shift + (noise if shift else 0.002 * (-1) ** seed)
    table = stats.win_tie_loss(stats.paired_tests(_flat_frame(scores)))
    row = table.row(0, named=True)
    assert (row["strategy"], row["wins"], row["ties"], row["losses"], row["n_datasets"]) == ("margin", 1, 1, 1, 3)


# ------------------------------------------------------------------------------------- ranks, Friedman


def test_average_ranks_with_ties_share_the_mean_rank():
    matrix = np.array([[0.9, 0.8, 0.7], [0.8, 0.8, 0.6]])
    ranks = stats.average_ranks(_scores_frame(matrix, ["a", "b", "c"]))
    got = dict(zip(ranks.get_column("strategy"), ranks.get_column("average_rank"), strict=True))
    assert got == {"a": 1.25, "b": 1.75, "c": 3.0}


def test_friedman_matches_scipy_and_the_rank_formula():
    rng = np.random.default_rng(0)
    matrix = rng.uniform(0.5, 0.9, size=(14, 4)) + np.array([0.0, 0.05, 0.01, 0.06])
    result = stats.friedman_test(_scores_frame(matrix, ["a", "b", "c", "d"])).row(0, named=True)
    expected = sps.friedmanchisquare(*matrix.T)
    assert result["statistic"] == pytest.approx(expected.statistic)
    assert result["p_value"] == pytest.approx(expected.pvalue)
    # Demsar (2006) eq. for untied ranks: 12N / (k(k+1)) * (sum R_j^2 - k(k+1)^2 / 4).
    average = sps.rankdata(-matrix, axis=1).mean(axis=0)
    n, k = matrix.shape
    formula = 12 * n / (k * (k + 1)) * (np.sum(average**2) - k * (k + 1) ** 2 / 4)
    assert result["statistic"] == pytest.approx(formula)
    assert result["iman_davenport"] == pytest.approx((n - 1) * formula / (n * (k - 1) - formula))
    assert result["critical_difference"] == pytest.approx(stats.nemenyi_critical_difference(4, 14))


def test_demsar_worked_example():
    # Demsar (2006) section 4.2: four classifiers on 14 data sets with average ranks 3.143, 2.000,
    # 2.893 and 1.964 give chi2_F = 9.28, F_F = 3.69 and, at alpha 0.05, CD = 2.569 * sqrt(20 / 84) = 1.25.
    average, n, k = np.array([3.143, 2.000, 2.893, 1.964]), 14, 4
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(average**2) - k * (k + 1) ** 2 / 4)
    assert chi2 == pytest.approx(9.28, abs=0.01)
    assert (n - 1) * chi2 / (n * (k - 1) - chi2) == pytest.approx(3.69, abs=0.01)
    assert stats.nemenyi_critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)
    # Demsar's Table 5(a), q_0.05 for k = 2..10.
    table = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    for k_, q in zip(range(2, 11), table, strict=True):
        cd_one = stats.nemenyi_critical_difference(k_, 1) / math.sqrt(k_ * (k_ + 1) / 6)
        assert cd_one == pytest.approx(q, abs=2e-3)


def test_friedman_all_ties_and_too_few_strategies():
    frame = _scores_frame(np.full((3, 3), 0.7), ["a", "b", "c"])
    result = stats.friedman_test(frame).row(0, named=True)
    assert (result["statistic"], result["p_value"], result["significant"]) == (0.0, 1.0, False)
    with pytest.raises(InvalidInputError, match="at least 3 strategies"):
        stats.friedman_test(_scores_frame(np.ones((3, 2)), ["a", "b"]))


def test_perfect_agreement_gives_infinite_iman_davenport_not_nan():
    matrix = np.tile([0.9, 0.8, 0.7], (5, 1))
    result = stats.friedman_test(_scores_frame(matrix, ["a", "b", "c"])).row(0, named=True)
    assert result["statistic"] == pytest.approx(10.0)  # N (k - 1)
    assert math.isinf(result["iman_davenport"]) and result["iman_davenport_p_value"] == 0.0


def test_incomplete_datasets_are_left_out_of_ranks_with_a_warning():
    frame = _scores_frame(np.array([[0.9, 0.8, 0.7], [0.7, 0.8, 0.9]]), ["a", "b", "c"])
    frame = frame.filter(~((pl.col("dataset") == "d01") & (pl.col("strategy") == "c")))
    with pytest.warns(UserWarning, match="left out"):
        ranks = stats.average_ranks(frame)
    assert set(ranks.get_column("n_datasets").to_list()) == {1}


def test_nemenyi_groups():
    assert stats.nemenyi_groups([1.0, 1.5, 2.9, 3.2], 1.25) == [(0, 1), (2, 3)]
    assert stats.nemenyi_groups([1.0, 2.0, 3.0], 1.5) == [(0, 1), (1, 2)]
    assert stats.nemenyi_groups([1.0, 3.0], 1.0) == []
    with pytest.raises(InvalidInputError, match="sorted"):
        stats.nemenyi_groups([2.0, 1.0], 1.0)


# ------------------------------------------------------------------------------------------ seed counts


def test_seed_stability_detects_a_misleading_seed():
    # Strategy a beats b on seeds 1..5 and on average, but seed 0 says the opposite.
    scores = {}
    for dataset in ("x", "y", "z"):
        for seed in range(6):
            scores[(dataset, "a", seed)] = 0.8 if seed else 0.7
            scores[(dataset, "b", seed)] = 0.75 if seed else 0.8
            scores[(dataset, "c", seed)] = 0.6
    stability = stats.seed_stability(_flat_frame(scores), n_subsamples=200)
    one_seed = stability.row(0, named=True)
    assert one_seed["n_subsamples"] == 6  # all C(6, 1) subsets
    assert one_seed["share_identical"] == pytest.approx(5 / 6)
    assert one_seed["mean_tau"] == pytest.approx((5 * 1.0 + 1 * sps.kendalltau([2, 1, 3], [1, 2, 3]).statistic) / 6)
    assert stability.row(-1, named=True)["mean_tau"] == 1.0
    needed = stats.seeds_to_stable_ranking(stability, threshold=0.9).row(0, named=True)
    assert needed["seeds_available"] == 6
    taus = stability.get_column("mean_tau").to_list()
    first_stable = next(n for n in range(1, 7) if all(t >= 0.9 for t in taus[n - 1 :]))
    assert needed["seeds_needed"] == first_stable


def test_seed_stability_is_reproducible_and_seeded():
    frame = synthetic_results(datasets=("a", "b", "c"), seeds=tuple(range(8)), noise=0.03)
    first = stats.seed_stability(frame, n_subsamples=5, random_state=1)
    assert first.equals(stats.seed_stability(frame, n_subsamples=5, random_state=1))
    assert first.get_column("n_subsamples").to_list() == [5, 5, 5, 5, 5, 5, 5, 1]


def test_seeds_to_stable_ranking_definition():
    stability = pl.DataFrame(
        {
            "learner": ["logreg"] * 5,
            "batch_size": [10] * 5,
            "n_seeds": [1, 2, 3, 4, 5],
            "mean_tau": [0.5, 0.95, 0.85, 0.92, 1.0],
        }
    )
    row = stats.seeds_to_stable_ranking(stability, threshold=0.9).row(0, named=True)
    assert row["seeds_needed"] == 4  # 2 reaches 0.9 but 3 falls back below it
    for bad in (0.0, 1.5, "0.9"):
        with pytest.raises(InvalidParameterError, match="'threshold' parameter of seeds_to_stable_ranking"):
            stats.seeds_to_stable_ranking(stability, threshold=bad)


def test_seed_stability_uses_complete_datasets_and_common_seeds():
    frame = synthetic_results(datasets=("a", "b", "c"), seeds=(0, 1, 2, 3))
    partial = frame.filter(
        ~((pl.col("dataset") == "a") & (pl.col("strategy") == "coreset")),
        ~((pl.col("dataset") == "b") & (pl.col("strategy") == "random") & (pl.col("seed") == 3)),
    )
    with pytest.warns(UserWarning, match="uses the 2 of 3 datasets and 3 of 4 seeds"):
        stability = stats.seed_stability(partial, n_subsamples=3)
    assert stability.get_column("n_seeds").to_list() == [1, 2, 3]
