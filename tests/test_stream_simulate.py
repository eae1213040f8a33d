"""simulate_stream: determinism, records, budget, test-then-train evaluation, drift response, errors."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import polars as pl
import pytest
from sklearn.dummy import DummyClassifier
from stream_splits import flipped_concept_split

from alsim.datasets import Split
from alsim.exceptions import InvalidParameterError
from alsim.records import RECORD_SCHEMA, TIMING_COLUMNS, load_result
from alsim.stopping import available_rules, make_rule
from alsim.stream import simulate_stream
from alsim.stream.simulate import STREAM_COLUMNS


def _blobs_split(seed: int = 0, n_per_class: int = 400, n_classes: int = 4) -> Split:
    """Gaussian blobs at the corners of a 12 x 4 rectangle (classes 0, 1 left; 2, 3 right).

    The long side is the first principal axis, so a feature-space drift brings classes 2 and 3 only after
    the drift; every class is linearly separable from the others.
    """
    rng = np.random.default_rng(seed)
    corners = np.array([[-6.0, -2.0], [-6.0, 2.0], [6.0, -2.0], [6.0, 2.0]])[:n_classes]

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat(np.arange(n_classes), n)
        X = np.column_stack([corners[y] + rng.normal(size=(y.size, 2)), rng.normal(size=y.size)])
        return X, y.astype(np.int64)

    X_pool, y_pool = draw(n_per_class)
    X_test, y_test = draw(n_per_class // 4)
    classes = np.array([f"c{i}" for i in range(n_classes)], dtype=object)
    return Split(X_pool, y_pool, X_test, y_test, classes, ["x0", "x1", "x2"], "blobs")


@pytest.fixture(scope="module")
def blobs() -> Split:
    return _blobs_split()


def _without_timing(records: pl.DataFrame) -> pl.DataFrame:
    return records.drop(TIMING_COLUMNS)


def test_same_seed_gives_identical_records(blobs):
    kwargs = {"strategy": "randomized_variable_uncertainty", "order": "gradual_feature", "drift_detector": "adwin"}
    first = simulate_stream(blobs, random_state=3, **kwargs)
    again = simulate_stream(blobs, random_state=3, **kwargs)
    other = simulate_stream(blobs, random_state=4, **kwargs)
    assert _without_timing(first.records).equals(_without_timing(again.records))
    assert first.config == again.config
    assert not _without_timing(first.records).equals(_without_timing(other.records))


def test_records_layout_and_round_trip(blobs, tmp_path):
    result = simulate_stream(blobs, block_size=150, budget_fraction=0.1, random_state=0)
    records = result.records
    assert list(records.columns) == [*RECORD_SCHEMA, *STREAM_COLUMNS]
    assert dict(records.schema) == {**RECORD_SCHEMA, **STREAM_COLUMNS}
    n_pool, warm = blobs.y_pool.size, result.config["initial_size"]
    seen = records["examples_seen"].to_list()
    assert seen[0] == warm and seen[-1] == n_pool
    assert all(b - a == 150 for a, b in pairwise(seen[:-1]))
    assert records["round"].to_list() == list(range(records.height))
    assert records["n_labeled"].to_list() == np.cumsum(records["selected"].list.len().to_numpy()).tolist()
    assert (records["n_unlabeled"] + records["n_labeled"] == n_pool).all()
    assert records["prequential_accuracy"][0] is None and records["prequential_accuracy"][1:].null_count() == 0
    assert records["stop_set_predictions"].list.len().unique().to_list() == [min(1000, n_pool)]
    assert result.config["mode"] == "stream" and result.metadata["mode"] == "stream"
    bought = np.concatenate(records["selected"].to_list())
    assert np.unique(bought).size == bought.size
    path = tmp_path / "stream.parquet"
    result.save(path)
    loaded = load_result(path)
    assert loaded.records.equals(records)
    assert loaded.config == result.config and loaded.metadata == result.metadata


@pytest.mark.parametrize(
    "strategy",
    [
        "variable_uncertainty",
        "randomized_variable_uncertainty",
        "split",
        "buffer_margin",
        "buffer_coreset",
        "buffer_epsilon_margin",
        "buffer_qbc_vote_entropy",
    ],
)
def test_labelled_share_stays_near_the_budget(blobs, strategy):
    result = simulate_stream(blobs, strategy=strategy, budget_fraction=0.1, random_state=1)
    share = result.metadata["stream_label_share"]
    assert share == pytest.approx(0.1, abs=0.015)


def test_prequential_accuracy_is_test_then_train():
    # A prior-only learner refitted after every label predicts the majority class of the labels bought so
    # far; with a budget of 1 every arrival is bought, so the whole arrival order is in `selected`.
    split = _blobs_split(seed=1, n_per_class=60, n_classes=2)
    result = simulate_stream(
        split,
        strategy="random",
        learner=DummyClassifier(strategy="prior"),
        update=1,
        budget_fraction=1.0,
        block_size=20,
        initial_size=5,
        random_state=0,
    )
    records = result.records
    arrived = np.concatenate(records["selected"].to_list())
    assert arrived.size == split.y_pool.size
    y = split.y_pool[arrived]
    counts = np.zeros(2, dtype=int)
    hits = np.zeros(y.size, dtype=bool)
    for t, label in enumerate(y):
        hits[t] = np.argmax(counts) == label  # prediction from labels before t only
        counts[label] += 1
    sizes = records["selected"].list.len().to_numpy()
    bounds = np.cumsum(sizes)
    expected = [hits[start:stop].mean() for start, stop in pairwise(bounds)]
    assert records["prequential_accuracy"][1:].to_list() == pytest.approx(expected)


@pytest.mark.parametrize("detector", ["adwin", "page_hinkley"])
def test_detector_raises_the_rate_after_an_abrupt_drift_and_repays_it(detector):
    for seed in range(2):
        result = simulate_stream(
            flipped_concept_split(seed),
            strategy="random",
            order="abrupt_feature",
            budget_fraction=0.1,
            drift_detector=detector,
            boost_factor=3.0,
            boost_period=300,
            random_state=seed,
        )
        drift = result.metadata["drift_position"]
        detections = result.metadata["drift_detections"]
        assert drift == 2000 and detections and min(detections) >= drift
        assert detections[0] - drift < 600
        records = result.records
        boosted = records.filter(pl.col("labeling_target") > 0.1)
        assert boosted["examples_seen"].min() > detections[0]
        assert records["labeling_target"].max() == pytest.approx(0.3)
        assert records["drift_detected"].sum() >= 1
        assert records.filter(pl.col("examples_seen") < drift)["drift_detected"].sum() == 0


def test_records_feed_the_stopping_rules():
    binary = _blobs_split(seed=3, n_classes=2)  # predicted_change_of_f needs a binary task
    records = simulate_stream(binary, strategy="variable_uncertainty", block_size=50, random_state=0).records
    readable = [
        name
        for name in available_rules()
        if set(make_rule(name).required_signals) <= set(records.columns) - {"labeled_cv_accuracy"}
    ]
    assert {"stabilizing_predictions", "overall_uncertainty", "selected_accuracy", "max_confidence"} <= set(readable)
    for name in readable:
        stop = make_rule(name).stop_round(records)
        assert stop is None or 0 <= stop < records.height


def test_retraining_every_n_labels_on_a_class_drift(blobs):
    result = simulate_stream(
        blobs, learner="logreg", update=20, order="abrupt_class", strategy="fixed_uncertainty", random_state=0
    )
    assert result.config["update"] == 20
    assert result.records["accuracy"][-1] > 0.8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget_fraction": 0.0}, r"'budget_fraction' parameter of simulate_stream must be a float in \(0, 1\]"),
        ({"budget_fraction": 1.5}, r"'budget_fraction'.*Got 1.5"),
        ({"order": "sudden"}, r"'order'.*'abrupt_class', 'abrupt_feature'.*'shuffle'.*Got 'sudden'"),
        ({"strategy": "psychic"}, r"'strategy'.*'variable_uncertainty'.*Got 'psychic'"),
        ({"drift_detector": "ddm"}, r"'drift_detector'.*'adwin', 'page_hinkley'.*Got 'ddm'"),
        ({"learner": "logreg"}, r"learner 'logreg' \(LogisticRegression\) has no partial_fit.*update=<int>"),
        ({"block_size": 0}, r"'block_size' parameter of simulate_stream must be an int >= 1. Got 0"),
        ({"update": "sometimes"}, r"'update'.*'partial_fit' or an int >= 1.*Got 'sometimes'"),
        ({"initial_size": 10_000}, r"'initial_size'.*Got 10000"),
        ({"random_state": -1}, r"'random_state' parameter of simulate_stream must be an int in \[0, 4294967295\]"),
        ({"oracle": {"speed": 2}}, r"'oracle' parameter of simulate_stream got unknown key\(s\) \['speed'\]"),
        (
            {"oracle": {"cost": {"c9": 2.0}}},
            r"'oracle' parameter of simulate_stream.*unknown class label\(s\) \['c9'\]",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(blobs, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        simulate_stream(blobs, **kwargs)


def test_oracle_costs_are_recorded(blobs):
    result = simulate_stream(blobs, oracle={"cost": 2.0, "n_annotators": 3}, block_size=200, random_state=0)
    records = result.records
    assert records["cost"].to_list() == pytest.approx((records["n_labeled"] * 6.0).to_list())
    assert records["batch_cost"].sum() == pytest.approx(records["cost"][-1])
    assert result.config["oracle"]["n_annotators"] == 3


def test_per_class_costs_keyed_by_class_label(blobs):
    # A grid config's [oracle] cost table has string keys: they name the dataset's class labels.
    by_label = simulate_stream(
        blobs, oracle={"cost": {"c0": 5.0, "c1": 1.0, "c2": 1.0, "c3": 1.0}}, block_size=200, random_state=0
    ).records
    by_code = simulate_stream(
        blobs, oracle={"cost": {0: 5.0, 1: 1.0, 2: 1.0, 3: 1.0}}, block_size=200, random_state=0
    ).records
    assert by_label["cost"].to_list() == by_code["cost"].to_list()
    assert by_label["cost"][-1] > by_label["n_labeled"][-1]


def test_real_bundled_dataset():
    result = simulate_stream("openml:61", budget_fraction=0.2, block_size=25, random_state=0)
    assert result.records.select("round", "examples_seen").row(-1) == (4, 105)
    assert result.metadata["dataset"] == "iris"
    assert result.records["accuracy"][-1] > 0.8


def test_command_line_stream_mode(tmp_path, capsys):
    from alsim.cli import main

    code = main(
        [
            "simulate",
            "--mode",
            "stream",
            "--dataset",
            "openml:61",
            "--out",
            str(tmp_path),
            "--order",
            "abrupt_class",
            "--budget-fraction",
            "0.2",
            "--drift-detector",
            "adwin",
            "--block-size",
            "25",
            "--update",
            "5",
            "--learner",
            "logreg",
            "--no-progress",
        ]
    )
    assert code == 0
    result = load_result(tmp_path / "records.parquet")
    assert result.config["mode"] == "stream" and result.config["update"] == 5
    assert result.config["strategy"] == "variable_uncertainty"
    assert (tmp_path / "learning_curve.png").exists()
    assert (
        main(
            [
                "simulate",
                "--mode",
                "stream",
                "--dataset",
                "openml:61",
                "--out",
                str(tmp_path),
                "--order",
                "sideways",
                "--no-progress",
            ]
        )
        == 2
    )
    assert "'order' parameter of simulate_stream must be one of" in capsys.readouterr().err
