"""The committee strategies' ``refit_every`` option: off by default (identical runs), fits every k rounds when on."""

from __future__ import annotations

import numpy as np
import pytest

import alsim
from alsim import learners
from alsim.datasets import load_dataset
from alsim.exceptions import ConfigError, InvalidParameterError
from alsim.experiments import parse_config
from alsim.strategies import make_strategy

QBC = ["qbc_vote_entropy", "qbc_kl", "qbc_pairwise"]


@pytest.fixture(scope="module")
def pool():
    return load_dataset("openml:61")  # iris: 105 pool rows, 3 classes


def _run(pool, strategy, **strategy_params):
    return alsim.simulate(
        pool,
        strategy=strategy,
        strategy_params=strategy_params or None,
        batch_size=5,
        initial_size=10,
        label_budget=50,
        random_state=3,
    )


def _records_without_timings(result):
    return result.records.drop([c for c in result.records.columns if c.endswith("_seconds")])


@pytest.mark.parametrize("strategy", QBC)
def test_refit_every_one_is_the_default_run(pool, strategy):
    default = _run(pool, strategy)
    explicit = _run(pool, strategy, refit_every=1)
    assert _records_without_timings(default).equals(_records_without_timings(explicit))


@pytest.mark.parametrize(("refit_every", "expected_fits"), [(1, 8), (3, 3), (8, 1)])
def test_the_committee_is_fitted_every_k_rounds(pool, monkeypatch, refit_every, expected_fits):
    fits = []
    original = learners.Committee.fit

    def counting_fit(self, X, y):
        fits.append(len(y))
        return original(self, X, y)

    monkeypatch.setattr(learners.Committee, "fit", counting_fit)
    result = _run(pool, "qbc_vote_entropy", refit_every=refit_every)
    n_selection_rounds = result.records.height - 1  # round 0 buys the initial set
    assert n_selection_rounds == 8
    assert len(fits) == expected_fits
    # Refits happen at selection rounds 1, 1 + k, 1 + 2k, ...: on the labels bought by then.
    assert fits == [10 + 5 * round_index for round_index in range(0, 8, refit_every)]


def test_a_kept_committee_scores_the_current_unlabeled_pool(pool):
    result = _run(pool, "qbc_kl", refit_every=4)
    picked = np.concatenate([np.asarray(rows) for rows in result.records["selected"].to_list()])
    assert picked.size == np.unique(picked).size == 50  # never an example already labeled


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_refit_every_is_named(bad):
    message = r"The 'refit_every' parameter of QBCVoteEntropy must be an int >= 1"
    with pytest.raises(InvalidParameterError, match=message):
        make_strategy("qbc_vote_entropy", refit_every=bad)


def test_bad_refit_every_in_a_config_is_one_clear_error():
    with pytest.raises(ConfigError, match="refit_every"):
        parse_config(
            {
                "name": "bad",
                "datasets": ["openml:61"],
                "strategies": ["qbc_kl"],
                "strategy_params": {"qbc_kl": {"refit_every": 0}},
                "n_seeds": 1,
            }
        )


def test_refit_every_travels_through_the_composites():
    assert make_strategy("epsilon_qbc_kl", refit_every=2).get_params()["refit_every"] == 2
