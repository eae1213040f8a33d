"""The labeling loop: records, budgets, determinism, parquet round trip, validation, CLI."""

from __future__ import annotations

import json
import pickle

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from threadpoolctl import threadpool_info, threadpool_limits

import alsim
from alsim._engine import classification_scores
from alsim.cli import main
from alsim.datasets import Split, load_dataset
from alsim.exceptions import InvalidParameterError
from alsim.learners import fit_learner, make_learner, predict_proba_full
from alsim.oracle import SimulatedOracle
from alsim.records import RECORD_SCHEMA, TIMING_COLUMNS, SimulationResult, load_result
from alsim.strategies import QueryStrategy, check_batch_size, register_strategy


def _split(n_pool: int = 200, n_test: int = 90, n_classes: int = 3, seed: int = 0) -> Split:
    X, y = make_classification(
        n_samples=n_pool + n_test,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return Split(
        X_pool=X[:n_pool],
        y_pool=y[:n_pool].astype(np.int64),
        X_test=X[n_pool:],
        y_test=y[n_pool:].astype(np.int64),
        classes=np.array([f"c{i}" for i in range(n_classes)], dtype=object),
        feature_names=[f"x{i}" for i in range(6)],
        dataset_name="synthetic",
    )


@pytest.fixture(scope="module")
def split() -> Split:
    return _split()


@pytest.fixture(scope="module")
def result(split) -> SimulationResult:
    return alsim.simulate(split, strategy="margin", batch_size=10, label_budget=45, random_state=3)


def test_records_have_the_contract_schema(result):
    assert result.records.schema == pl.Schema(RECORD_SCHEMA)
    records = result.records
    assert records["round"].to_list() == list(range(5))
    assert records["n_labeled"].to_list() == [10, 20, 30, 40, 45]
    assert records["n_unlabeled"].to_list() == [190, 180, 170, 160, 155]
    first = records.row(0, named=True)
    assert first["selected_mean_uncertainty"] is None and first["selected_accuracy"] is None
    assert records["labeled_cv_accuracy"].null_count() == records.height
    assert records["selected"].list.len().to_list() == [10, 10, 10, 10, 5]
    assert records["stop_set_predictions"].list.len().unique().to_list() == [200]
    later = records.slice(1)
    for column in ("selected_mean_uncertainty", "selected_max_uncertainty", "selected_accuracy"):
        assert later[column].null_count() == 0
    for column in ("accuracy", "macro_f1", "balanced_accuracy", "pool_max_uncertainty", "pool_mean_uncertainty"):
        assert records[column].is_between(0, 1).all()
    assert (records["pool_max_uncertainty"] >= records["pool_mean_uncertainty"]).all()


def test_signals_follow_their_definitions(split):
    # gaussian_nb has no warm start and no randomness, so each round's model can be refitted here from the
    # recorded batches and every signal recomputed from its definition in the records contract.
    run = alsim.simulate(
        split, strategy="margin", learner="gaussian_nb", batch_size=10, label_budget=50, random_state=2
    )
    records = run.records
    stop_set = np.array(run.metadata["stop_set"])
    batches = [np.array(batch) for batch in records["selected"].to_list()]
    previous_proba = None
    for t, batch in enumerate(batches):
        row = records.row(t, named=True)
        if previous_proba is None:
            assert row["selected_accuracy"] is None and row["selected_max_uncertainty"] is None
        else:
            # the previous model (the one that chose the batch) against the labels just bought
            chosen_proba = previous_proba[batch]
            assert row["selected_accuracy"] == pytest.approx(
                np.mean(chosen_proba.argmax(axis=1) == split.y_pool[batch])
            )
            assert row["selected_mean_uncertainty"] == pytest.approx(np.mean(1 - chosen_proba.max(axis=1)))
            assert row["selected_max_uncertainty"] == pytest.approx(np.max(1 - chosen_proba.max(axis=1)))
        labeled = np.concatenate(batches[: t + 1])
        model = fit_learner(make_learner("gaussian_nb"), split.X_pool[labeled], split.y_pool[labeled])
        proba = predict_proba_full(model, split.X_pool, 3)
        unlabeled = np.setdiff1d(np.arange(split.y_pool.size), labeled)
        confidence = proba[unlabeled].max(axis=1)
        assert row["n_labeled"] == labeled.size and row["n_unlabeled"] == unlabeled.size
        assert row["accuracy"] == pytest.approx(
            accuracy_score(split.y_test, predict_proba_full(model, split.X_test, 3).argmax(axis=1))
        )
        assert row["pool_max_uncertainty"] == pytest.approx(np.max(1 - confidence))
        assert row["pool_mean_uncertainty"] == pytest.approx(np.mean(1 - confidence))
        assert row["pool_confidence_variance"] == pytest.approx(np.var(confidence))
        assert row["stop_set_predictions"] == proba[stop_set].argmax(axis=1).tolist()
        previous_proba = proba


def test_selected_indices_are_distinct_across_rounds(result):
    bought = np.concatenate([np.array(s) for s in result.records["selected"].to_list()])
    assert np.unique(bought).size == bought.size == 45


def test_metadata_and_config(result, split):
    metadata = result.metadata
    assert metadata["seed"] == 3
    assert set(metadata["versions"]) >= {"alsim", "numpy", "polars", "scikit-learn", "python"}
    assert 0 < metadata["reference_accuracy"] <= 1
    assert (metadata["n_pool"], metadata["n_test"], metadata["n_classes"]) == (200, 90, 3)
    assert metadata["stop_reason"] == "label_budget"
    assert result.config["strategy"] == "margin" and result.config["label_budget"] == 45
    json.dumps(result.config), json.dumps(metadata)


def test_same_seed_gives_identical_records_and_another_seed_does_not(split, result):
    again = alsim.simulate(split, strategy="margin", batch_size=10, label_budget=45, random_state=3)
    assert again.records.drop(TIMING_COLUMNS).equals(result.records.drop(TIMING_COLUMNS))
    assert again.config == result.config
    other = alsim.simulate(split, strategy="margin", batch_size=10, label_budget=45, random_state=4)
    assert not other.records["selected"].equals(result.records["selected"])


def test_same_seed_is_identical_with_every_source_of_randomness(split):
    # committee bootstraps, random picks mixed into the base, noisy annotators with ties, seeded cold start
    params = {
        "strategy": "epsilon_qbc_vote_entropy",
        "strategy_params": {"epsilon": 0.3},
        "initial": "kmeans_pp",
        "learner": "gaussian_nb",
        "oracle": {"noise_rate": 0.2, "n_annotators": 2},
        "batch_size": 8,
        "label_budget": 40,
        "random_state": 11,
    }
    first, second = alsim.simulate(split, **params), alsim.simulate(split, **params)
    assert first.records.drop(TIMING_COLUMNS).equals(second.records.drop(TIMING_COLUMNS))


def test_parquet_round_trip_is_exact(result, tmp_path):
    path = tmp_path / "run.parquet"
    result.save(path)
    loaded = load_result(path)
    assert loaded.records.equals(result.records)
    assert loaded.records.schema == result.records.schema
    assert loaded.config == result.config and loaded.metadata == result.metadata
    keys = pq.read_schema(path).metadata
    assert b"alsim.config" in keys and b"alsim.metadata" in keys


def test_load_result_rejects_other_files(tmp_path):
    path = tmp_path / "plain.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(path)
    with pytest.raises(alsim.exceptions.InvalidInputError, match="not an alsim simulation result"):
        load_result(path)
    with pytest.raises(alsim.exceptions.InvalidInputError, match="No simulation result"):
        load_result(tmp_path / "missing.parquet")


def test_pool_exhaustion_labels_everything():
    small = _split(n_pool=35, n_test=30)
    result = alsim.simulate(small, strategy="entropy", batch_size=10, random_state=0)
    assert result.records["n_labeled"].to_list() == [10, 20, 30, 35]
    assert result.records["n_unlabeled"][-1] == 0
    assert result.records["pool_max_uncertainty"][-1] is None
    assert result.metadata["stop_reason"] == "pool_exhausted"
    bought = np.concatenate([np.array(s) for s in result.records["selected"].to_list()])
    np.testing.assert_array_equal(np.sort(bought), np.arange(35))


def test_cost_budget_is_honoured_and_the_last_batch_trimmed(split):
    oracle = {"cost": [1.0, 2.0, 3.0]}
    result = alsim.simulate(split, strategy="random", batch_size=10, cost_budget=75.0, oracle=oracle, random_state=1)
    records = result.records
    assert records["cost"][-1] <= 75.0
    np.testing.assert_allclose(records["cost"].to_numpy(), np.cumsum(records["batch_cost"].to_numpy()))
    costs = np.array([1.0, 2.0, 3.0])[split.y_pool]
    for selected, batch_cost in zip(records["selected"].to_list(), records["batch_cost"].to_list(), strict=True):
        assert batch_cost == pytest.approx(costs[selected].sum())
    # the next pick would not have fitted: the run stopped on the cost budget
    assert result.metadata["stop_reason"] == "cost_budget"
    assert records["selected"].list.len()[-1] <= 10


def test_per_class_costs_keyed_by_class_label(split):
    # A grid config's TOML table has string keys: the labels of Split.classes stand for their codes.
    by_label = alsim.simulate(
        split, strategy="random", label_budget=30, oracle={"cost": {"c0": 1.0, "c1": 2.0, "c2": 3.0}}
    )
    by_code = alsim.simulate(split, strategy="random", label_budget=30, oracle={"cost": [1.0, 2.0, 3.0]})
    assert by_label.records.drop(TIMING_COLUMNS).equals(by_code.records.drop(TIMING_COLUMNS))
    assert by_label.config["oracle"]["cost"] == [1.0, 2.0, 3.0]
    with pytest.raises(
        InvalidParameterError, match=r"unknown class label\(s\) \['c9'\]; valid labels: \['c0', 'c1', 'c2'\]"
    ):
        alsim.simulate(split, oracle={"cost": {"c0": 1.0, "c1": 2.0, "c9": 3.0}})


def test_cost_budget_smaller_than_the_initial_set_is_an_error(split):
    with pytest.raises(InvalidParameterError, match=r"'cost_budget'.*initial set"):
        alsim.simulate(split, initial_size=10, cost_budget=5.0)


def test_annotators_multiply_the_cost(split):
    result = alsim.simulate(
        split,
        strategy="random",
        label_budget=20,
        oracle=SimulatedOracle(n_annotators=3, noise_rate=0.1),
        random_state=0,
    )
    assert result.records["cost"].to_list() == [30.0, 60.0]
    assert result.config["oracle"]["n_annotators"] == 3


def test_difficulty_costs_vary_and_cost_strategy_runs(split):
    result = alsim.simulate(
        split, strategy="cost_margin", label_budget=30, oracle={"cost": "difficulty"}, random_state=0
    )
    batch_costs = result.records["batch_cost"].to_numpy()
    assert np.all(batch_costs >= 10.0) and np.all(batch_costs <= 30.0)
    assert len(set(batch_costs.tolist())) > 1


def test_heavy_label_noise_with_one_initial_label_does_not_crash(split):
    result = alsim.simulate(
        split,
        strategy="qbc_vote_entropy",
        initial_size=1,
        batch_size=2,
        label_budget=9,
        oracle={"noise_rate": 0.5},
        random_state=0,
    )
    assert result.records["n_labeled"].to_list() == [1, 3, 5, 7, 9]


@pytest.mark.parametrize("initial", ["random", "kmeans_pp", "k_center", "per_class"])
def test_cold_start_methods(split, initial):
    result = alsim.simulate(split, initial=initial, initial_size=9, label_budget=9, random_state=0)
    selected = np.array(result.records["selected"][0].to_list())
    assert np.unique(selected).size == 9
    if initial == "per_class":
        np.testing.assert_array_equal(np.bincount(split.y_pool[selected], minlength=3), [3, 3, 3])


def test_record_cv_fills_the_column(split):
    result = alsim.simulate(split, label_budget=30, record_cv=True, random_state=0)
    assert result.records["labeled_cv_accuracy"].is_between(0, 1).all()


def test_dataset_spec_dataset_and_split_give_the_same_run():
    by_spec = alsim.simulate("openml:61", label_budget=20, random_state=0)
    by_dataset = alsim.simulate(load_dataset("openml:61"), label_budget=20, random_state=0)
    assert by_spec.records.drop(TIMING_COLUMNS).equals(by_dataset.records.drop(TIMING_COLUMNS))
    assert by_spec.metadata["dataset"] == "iris" and by_spec.config["dataset"] == "openml:61"
    assert by_spec.metadata["n_pool"] + by_spec.metadata["n_test"] == 150


def test_a_registered_user_strategy_runs_by_name(split):
    @register_strategy("test_loop_first", overwrite=True)
    class First(QueryStrategy):
        def select(self, state, batch_size, random_state):
            return state.unlabeled[: check_batch_size(state, batch_size)]

    result = alsim.simulate(split, strategy="test_loop_first", initial_size=5, batch_size=5, label_budget=15)
    assert result.records["selected"][1].to_list() == sorted(result.records["selected"][1].to_list())


def test_a_strategy_returning_bad_indices_is_reported(split):
    @register_strategy("test_loop_broken", overwrite=True)
    class Broken(QueryStrategy):
        def select(self, state, batch_size, random_state):
            return state.labeled[:batch_size]

    with pytest.raises(alsim.exceptions.InvalidInputError, match=r"test_loop_broken.*distinct unlabeled"):
        alsim.simulate(split, strategy="test_loop_broken", label_budget=20)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 201}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"initial": "clusters"}, "initial"),
        ({"initial": "per_class", "initial_size": 2}, "initial_size"),
        ({"initial_size": 0}, "initial_size"),
        ({"initial_size": 201}, "initial_size"),  # more than the 200 pool rows
        ({"label_budget": 5, "initial_size": 10}, "label_budget"),
        ({"cost_budget": -1.0}, "cost_budget"),
        ({"cost_budget": float("nan")}, "cost_budget"),
        ({"strategy": "marginal"}, "strategy"),
        ({"learner": "deep_forest"}, "learner"),
        ({"random_state": -1}, "random_state"),
        ({"random_state": "zero"}, "random_state"),
        ({"stop_set_size": 500}, "stop_set_size"),
        ({"committee_size": 1}, "committee_size"),
        ({"committee": ["logreg"]}, "committee"),
        ({"oracle": {"noise": 0.1}}, "oracle"),
        ({"oracle": "noisy"}, "oracle"),
        ({"oracle": {"confusion": [[0.9, 0.1], [0.1, 0.9]]}}, "oracle"),
        ({"oracle": {"cost": {0: 1.0, 1: 2.0}}}, "oracle"),
        ({"progress": "yes"}, "progress"),
        ({"strategy_params": [1]}, "strategy_params"),
        ({"learner": "knn", "initial_size": 3}, "initial_size"),
    ],
)
def test_bad_parameters_name_the_parameter(split, params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        alsim.simulate(split, **params)


def test_bad_test_size_and_dataset_are_named():
    with pytest.raises(InvalidParameterError, match=r"'test_size'.*\(0, 1\)"):
        alsim.simulate("openml:61", test_size=1.5)
    with pytest.raises(InvalidParameterError, match="'dataset'"):
        alsim.simulate(42)


def test_progress_bar_goes_to_stderr(split, capsys):
    alsim.simulate(split, label_budget=20, progress=True)
    assert "20/20" in capsys.readouterr().err
    # a budget larger than the pool ends when the pool is empty: the bar's total is the pool, and it is full
    alsim.simulate(_split(n_pool=35, n_test=30), label_budget=100, progress=True)
    assert "35/35" in capsys.readouterr().err


def test_scores_match_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, size=300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 4, size=300))
    accuracy, macro_f1, balanced = classification_scores(y_true, y_pred, 6)
    assert accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert balanced == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_cli_simulate_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "simulate",
            "--dataset",
            "openml:61",
            "--strategy",
            "margin",
            "--seed",
            "0",
            "--out",
            str(out),
            "--budget",
            "30",
            "--batch-size",
            "5",
            "--noise",
            "0.05",
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "final accuracy" in printed and "reference accuracy" in printed and "labels 30" in printed
    assert (out / "learning_curve.png").stat().st_size > 0
    loaded = load_result(out / "records.parquet")
    assert loaded.records["n_labeled"][-1] == 30
    assert loaded.config["oracle"]["noise_rate"] == 0.05


def test_cli_reports_bad_parameters(tmp_path, capsys):
    code = main(["simulate", "--dataset", "openml:61", "--out", str(tmp_path), "--batch-size", "0", "--no-progress"])
    assert code == 2
    assert "'batch_size'" in capsys.readouterr().err


def test_plot_learning_curve(result, tmp_path):
    figure = result.plot(tmp_path / "curve.png", x="cost")
    assert (tmp_path / "curve.png").stat().st_size > 0
    assert figure.axes[0].get_xlabel() == "labeling cost"
    with pytest.raises(InvalidParameterError, match="'x' parameter of plot must be one of"):
        result.plot(x="round")


def test_per_row_costs_are_charged_and_seen_by_cost_aware_strategies():
    from alsim.datasets import load_dataset, split_dataset

    split = split_dataset(load_dataset("openml:61"), test_size=0.3, random_state=0)
    assert split.pool_rows is not None and split.pool_rows.size == split.y_pool.size
    costs = np.where(np.arange(split.y_pool.size) % 2 == 0, 1.0, 100.0)
    result = alsim.simulate(
        split,
        strategy="cost_margin",
        batch_size=5,
        initial_size=5,
        label_budget=30,
        oracle={"row_costs": costs.tolist()},
        random_state=0,
    )
    picked = np.concatenate(result.records["selected"].to_list()[1:])
    assert np.all(costs[picked] == 1.0)  # every cheap row is worth more per unit of cost here
    assert result.records["cost"][-1] == pytest.approx(result.records["batch_cost"].sum())
    with pytest.raises(InvalidParameterError, match="row costs"):
        alsim.simulate(split, oracle={"row_costs": [1.0, 2.0]}, random_state=0)


class _PoolFitThreads(LogisticRegression):
    """``logreg``'s estimator that notes the BLAS thread count of every fit on the whole pool (200 rows)."""

    def fit(self, X, y, sample_weight=None):
        if X.shape[0] == 200:
            _POOL_FIT_THREADS.append(max(info["num_threads"] for info in threadpool_info()))
        return super().fit(X, y, sample_weight)


_POOL_FIT_THREADS: list[int] = []


def test_the_full_pool_reference_is_fitted_when_the_metadata_is_first_read(split):
    _POOL_FIT_THREADS.clear()
    learner = _PoolFitThreads(**make_learner("logreg").get_params())
    result = alsim.simulate(split, learner=learner, batch_size=10, label_budget=40, random_state=3)
    assert _POOL_FIT_THREADS == []  # the run alone does not pay for the ceiling
    reference = result.metadata["reference_accuracy"], result.metadata["reference_macro_f1"]
    assert len(_POOL_FIT_THREADS) == 1
    assert result.metadata["reference_accuracy"] == reference[0] and len(_POOL_FIT_THREADS) == 1
    # The same numbers the run would have computed on the spot: the learner, seeded by the run, on the pool.
    from alsim._shared_work import sharing

    with sharing():
        eager = alsim.simulate(split, learner=learner, batch_size=10, label_budget=40, random_state=3)
    assert (eager.metadata["reference_accuracy"], eager.metadata["reference_macro_f1"]) == reference
    assert {k: v for k, v in eager.metadata.items() if k not in ("total_seconds", "environment")} == {
        k: v for k, v in result.metadata.items() if k not in ("total_seconds", "environment")
    }
    assert list(eager.metadata) == list(result.metadata)  # same keys in the same order


def test_a_deferred_reference_is_fitted_with_the_runs_thread_count(split):
    _POOL_FIT_THREADS.clear()
    learner = _PoolFitThreads(**make_learner("logreg").get_params())
    with threadpool_limits(limits=1):
        result = alsim.simulate(split, learner=learner, batch_size=10, label_budget=30, random_state=0)
    assert result.metadata["reference_accuracy"] > 0  # read outside the limit
    assert _POOL_FIT_THREADS == [1]


class _BlasThreadsAtFit(LogisticRegression):
    """``logreg``'s estimator that notes the BLAS thread count of every fit."""

    def fit(self, X, y, sample_weight=None):
        _BLAS_THREADS_AT_FIT.append(
            max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
        )
        return super().fit(X, y, sample_weight)


_BLAS_THREADS_AT_FIT: list[int] = []


def test_a_run_uses_one_blas_thread_and_gives_the_process_its_threads_back(split):
    _BLAS_THREADS_AT_FIT.clear()
    with threadpool_limits(limits=2, user_api="blas"):
        before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
        learner = _BlasThreadsAtFit(**make_learner("logreg").get_params())
        result = alsim.simulate(split, learner=learner, batch_size=10, label_budget=40, random_state=0)
        after = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert before and after == before
    assert len(_BLAS_THREADS_AT_FIT) == result.records.height and set(_BLAS_THREADS_AT_FIT) == {1}
    blas = [lib for lib in result.metadata["environment"]["thread_libraries"] if lib["library"] == "openblas"]
    assert all(lib["num_threads"] == 1 for lib in blas)


@pytest.mark.parametrize("read", ["summary", "save", "pickle"])
def test_every_way_out_of_a_result_carries_the_reference(split, tmp_path, read):
    def run() -> SimulationResult:
        return alsim.simulate(split, batch_size=10, label_budget=30, random_state=1)

    expected = run().metadata["reference_accuracy"]
    result = run()
    if read == "summary":
        assert f"reference accuracy (whole pool) {expected:.4f}" in result.summary()
    elif read == "save":
        result.save(tmp_path / "run.parquet")
        assert load_result(tmp_path / "run.parquet").metadata["reference_accuracy"] == expected
    else:
        assert pickle.loads(pickle.dumps(result)).metadata["reference_accuracy"] == expected
