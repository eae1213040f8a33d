"""Work shared by the cells of a study (alsim._shared_work): same records with or without it, bounded memory."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import alsim
from alsim._shared_work import (
    SharedWorkCache,
    array_fingerprint,
    clear_shared_work,
    dataset_fingerprint,
    learner_fingerprint,
    shared_cache,
    sharing,
)
from alsim.datasets import load_dataset
from tests.golden_runs import CELLS, GOLDEN_PATH, fingerprint, run_cell

GOLDEN = json.loads(GOLDEN_PATH.read_text())


@pytest.fixture(autouse=True)
def _empty_store():
    clear_shared_work()
    yield
    clear_shared_work()


@pytest.mark.slow
def test_golden_cells_are_bit_identical_when_their_shared_work_is_reused():
    # Every golden cell twice inside one sharing block: the second run of each takes the split, reference and
    # difficulty from the store, and both must still match the records recorded before sharing existed.
    with sharing() as store:
        for _ in range(2):
            for cell, mode, kwargs in CELLS:
                assert fingerprint(run_cell(mode, kwargs)) == GOLDEN[cell], cell
        assert store.hits >= len(CELLS) * 2  # at least the split and the reference of every second run
        assert len(store) > 0


def test_cells_of_one_dataset_and_seed_share_the_split_and_reference_across_strategies():
    kwargs = {"batch_size": 10, "initial_size": 10, "label_budget": 30, "random_state": 3}
    alone = {s: alsim.simulate("openml:61", strategy=s, **kwargs) for s in ("margin", "random")}
    with sharing() as store:
        shared = {s: alsim.simulate("openml:61", strategy=s, **kwargs) for s in ("margin", "random")}
        assert (store.misses, store.hits) == (2, 2)  # split + reference computed once, reused once
    for name, result in alone.items():
        timing = [c for c in result.records.columns if c.endswith("_seconds")]
        assert result.records.drop(timing).equals(shared[name].records.drop(timing))
        assert result.metadata["reference_accuracy"] == shared[name].metadata["reference_accuracy"]


def test_nothing_is_kept_outside_a_sharing_block():
    assert shared_cache() is None
    alsim.simulate("openml:61", label_budget=20, initial_size=10, random_state=0)
    with sharing() as store:
        assert len(store) == 0
        assert shared_cache() is store
    assert shared_cache() is None


def test_another_seed_test_share_or_learner_is_not_confused_with_a_kept_piece():
    kwargs = {"batch_size": 10, "initial_size": 10, "label_budget": 20}
    with sharing() as store:
        alsim.simulate("openml:61", random_state=0, **kwargs)
        alsim.simulate("openml:61", random_state=1, **kwargs)
        alsim.simulate("openml:61", random_state=0, test_size=0.4, **kwargs)
        alsim.simulate("openml:61", random_state=0, learner=LogisticRegression(C=0.5), **kwargs)
        assert store.hits == 1  # only the last run's split (same data, share and seed as the first)


def test_kept_arrays_are_read_only_and_the_store_respects_its_bounds():
    store = SharedWorkCache(max_entries=2, max_bytes=1000)
    first = store.get_or_compute(("a",), lambda: (np.zeros(50), 1.0))  # 400 bytes
    with pytest.raises(ValueError, match="read-only"):
        first[0][0] = 1.0
    store.get_or_compute(("b",), lambda: np.zeros(50))
    store.get_or_compute(("c",), lambda: np.zeros(50))
    assert len(store) == 2 and store.nbytes == 800  # "a" dropped: least recently used
    store.get_or_compute(("b",), lambda: pytest.fail("kept"))
    store.get_or_compute(("big",), lambda: np.zeros(200))  # 1600 bytes: computed, never kept
    assert len(store) == 2 and store.nbytes == 800
    store.get_or_compute(("d",), lambda: np.zeros(100))  # 800 bytes: evicts until both bounds hold
    assert store.nbytes <= 1000 and len(store) <= 2
    assert (store.hits, store.misses) == (1, 5)


def test_fingerprints_follow_content():
    dataset = load_dataset("openml:61")
    assert dataset_fingerprint(dataset) == dataset_fingerprint(load_dataset("openml:61"))
    features = dataset.features.copy()
    features.iloc[0, 0] += 1e-9
    assert dataset_fingerprint(dataclasses.replace(dataset, features=features)) != dataset_fingerprint(dataset)
    relabelled = dataset.target.copy()
    relabelled[[0, -1]] = relabelled[[-1, 0]]
    assert dataset_fingerprint(dataclasses.replace(dataset, target=relabelled)) != dataset_fingerprint(dataset)
    assert array_fingerprint(np.zeros(4)) != array_fingerprint(np.zeros(4, dtype=np.float32))
    assert array_fingerprint(np.zeros((2, 2))) != array_fingerprint(np.zeros(4))
    assert learner_fingerprint(LogisticRegression(C=1.0)) == learner_fingerprint(LogisticRegression(C=1.0))
    assert learner_fingerprint(LogisticRegression(C=1.0)) != learner_fingerprint(LogisticRegression(C=2.0))
    assert learner_fingerprint("logreg") != learner_fingerprint("forest")
