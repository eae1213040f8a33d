"""Query strategies: uniform interface, registry, composites, and what each strategy prefers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from alsim.exceptions import InvalidParameterError
from alsim.learners import Committee, fit_learner, make_learner
from alsim.strategies import (
    PoolState,
    QueryStrategy,
    ScoreStrategy,
    available_strategies,
    check_batch_size,
    make_strategy,
    register_strategy,
)
from alsim.strategies.builtin import DensityWeighted

COMPOSITES = ["epsilon_margin", "epsilon_coreset", "cost_margin", "cost_qbc_kl", "epsilon_cost_entropy"]
# Strategies that need the gradient of a linear last layer refuse naive Bayes: the generic tests give them
# logistic regression.
NEEDS_LINEAR = {"badge", "expected_gradient_length"}


def _state(
    n_pool: int = 150, n_labeled: int = 20, *, seed: int = 0, costs=None, learner: str = "gaussian_nb"
) -> PoolState:
    X, y = make_classification(
        n_samples=n_pool, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=seed
    )
    labeled = np.random.default_rng(seed).choice(n_pool, size=n_labeled, replace=False)
    model = fit_learner(make_learner(learner), X[labeled], y[labeled])
    return PoolState(
        X,
        labeled,
        y[labeled],
        3,
        model,
        committee_factory=lambda: Committee("gaussian_nb", n_members=4, n_classes=3, random_state=1),
        cost_model=None if costs is None else (lambda proba: costs),
        pool_labels=y,
    )


def test_builtin_names_are_registered():
    names = set(available_strategies())
    expected = {
        "random",
        "least_confidence",
        "margin",
        "entropy",
        "qbc_vote_entropy",
        "qbc_kl",
        "qbc_pairwise",
        "coreset",
        "density_weighted",
        "margin_kcenter",
        "margin_kmeanspp",
        "entropy_kcenter",
        "least_confidence_kmeanspp",
    }
    assert expected <= names


@pytest.mark.parametrize("name", sorted(set(available_strategies()) | set(COMPOSITES)))
@pytest.mark.parametrize("batch_size", [1, 7])
def test_every_strategy_returns_distinct_unlabeled_indices(name, batch_size):
    state = _state(learner="logreg" if name in NEEDS_LINEAR else "gaussian_nb")
    chosen = make_strategy(name).select(state, batch_size, np.random.default_rng(0))
    assert isinstance(chosen, np.ndarray) and chosen.dtype == np.int64
    assert chosen.shape == (batch_size,)
    assert np.unique(chosen).size == batch_size
    assert np.isin(chosen, state.unlabeled).all()


@pytest.mark.parametrize("name", sorted(set(available_strategies()) | set(COMPOSITES)))
def test_every_strategy_is_deterministic_and_can_take_the_whole_pool(name):
    strategy = make_strategy(name)
    learner = "logreg" if name in NEEDS_LINEAR else "gaussian_nb"
    a = strategy.select(_state(learner=learner), 9, np.random.default_rng(5))
    b = strategy.select(_state(learner=learner), 9, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    small = _state(n_pool=40, n_labeled=30, learner=learner)
    everything = strategy.select(small, small.n_unlabeled, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(everything), small.unlabeled)


def test_uncertainty_sampling_takes_the_most_uncertain_first():
    state = _state()
    proba = state.proba_unlabeled
    sorted_proba = np.sort(proba, axis=1)
    margin = sorted_proba[:, -1] - sorted_proba[:, -2]
    chosen = make_strategy("margin").select(state, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(chosen, state.unlabeled[np.argsort(margin, kind="stable")[:5]])


def test_batch_size_is_validated_against_the_pool():
    state = _state(n_pool=40, n_labeled=30)
    for bad in (0, 11, 2.0, True):
        with pytest.raises(InvalidParameterError, match=r"'batch_size'.*\[1, 10\]"):
            make_strategy("margin").select(state, bad, np.random.default_rng(0))


def test_committee_is_fitted_only_when_a_strategy_asks_for_it():
    state = _state()
    make_strategy("margin").select(state, 3, np.random.default_rng(0))
    assert state._committee is None
    make_strategy("qbc_vote_entropy").select(state, 3, np.random.default_rng(0))
    assert state.committee.n_members == 4


def test_coreset_first_pick_is_the_point_farthest_from_the_labeled_set():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [1.0, 1.0], [-0.2, 0.1]])
    model = fit_learner(make_learner("gaussian_nb"), X[[0, 1]], np.array([0, 1]))
    state = PoolState(X, np.array([0, 1]), np.array([0, 1]), 2, model)
    chosen = make_strategy("coreset").select(state, 2, np.random.default_rng(0))
    assert chosen[0] == 2
    assert chosen[1] == 3


def test_coreset_picks_only_from_the_given_candidates():
    # A buffer of candidates (stream use): the farthest point overall (index 2) is not a candidate.
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [1.0, 1.0], [-0.2, 0.1], [2.0, 2.0]])
    model = fit_learner(make_learner("gaussian_nb"), X[[0, 1]], np.array([0, 1]))
    state = PoolState(X, np.array([0, 1]), np.array([0, 1]), 2, model, unlabeled=np.array([3, 4, 5]))
    chosen = make_strategy("coreset").select(state, 2, np.random.default_rng(0))
    assert chosen.tolist() == [5, 3]


def test_pool_probabilities_are_sliced_not_predicted_again():
    X = np.array([[0.0], [0.2], [0.5], [0.8], [1.0]])
    proba_pool = np.array([[0.9, 0.1], [0.8, 0.2], [0.5, 0.5], [0.3, 0.7], [0.1, 0.9]])
    # No model: any prediction would fail, so the rows must come from proba_pool.
    state = PoolState(X, np.array([0, 4]), np.array([0, 1]), 2, None, proba_pool=proba_pool)
    np.testing.assert_array_equal(state.proba_unlabeled, proba_pool[[1, 2, 3]])
    assert state.proba_unlabeled.flags.c_contiguous
    assert make_strategy("margin").select(state, 1, np.random.default_rng(0)).tolist() == [2]


def test_hybrids_pick_among_the_most_uncertain_candidates():
    state = _state()
    margin_scores = ScoreStrategyProbe("margin").scores(state)
    top = set(state.unlabeled[np.argsort(-margin_scores, kind="stable")[:20]].tolist())
    for name in ("margin_kcenter", "margin_kmeanspp"):
        chosen = make_strategy(name, prefilter=2.0).select(state, 10, np.random.default_rng(0))
        assert set(chosen.tolist()) <= top


class ScoreStrategyProbe:
    """Scores of a registered score strategy (test helper)."""

    def __init__(self, name: str) -> None:
        self.strategy = make_strategy(name)
        assert isinstance(self.strategy, ScoreStrategy)

    def scores(self, state: PoolState) -> np.ndarray:
        return self.strategy.scores(state, np.random.default_rng(0))


@pytest.mark.parametrize("similarity", ["cosine", "euclidean"])
def test_density_weights_match_the_pairwise_definition(similarity):
    X = np.random.default_rng(0).normal(size=(60, 4))
    weights = DensityWeighted(similarity=similarity).representativeness(X)
    if similarity == "cosine":
        units = X / np.linalg.norm(X, axis=1, keepdims=True)
        expected = (1 + (units @ units.T).mean(axis=1)) / 2
    else:
        msd = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2).mean(axis=1)
        expected = 1 / (1 + msd / msd.mean())
    np.testing.assert_allclose(weights, expected)
    assert np.all((weights >= 0) & (weights <= 1))


def test_density_weighted_with_beta_zero_is_uncertainty_sampling():
    state = _state()
    plain = ScoreStrategyProbe("entropy").scores(state)
    weighted = make_strategy("density_weighted", beta=0.0).scores(state, np.random.default_rng(0))
    np.testing.assert_allclose(weighted, plain)


def test_epsilon_zero_is_the_base_and_epsilon_one_is_random():
    state = _state()
    base = make_strategy("margin").select(state, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(
        make_strategy("epsilon_margin", epsilon=0.0).select(state, 8, np.random.default_rng(0)), base
    )
    mixed = make_strategy("epsilon_margin", epsilon=1.0).select(_state(), 8, np.random.default_rng(0))
    assert not np.array_equal(np.sort(mixed), np.sort(base))


def test_cost_strategy_divides_the_score_by_the_expected_cost():
    costs = np.linspace(1.0, 10.0, 130)
    state = _state(costs=costs)
    expected = ScoreStrategyProbe("margin").scores(state) / costs
    np.testing.assert_allclose(make_strategy("cost_margin").scores(state, np.random.default_rng(0)), expected)


def test_unknown_name_lists_the_valid_choices():
    with pytest.raises(InvalidParameterError, match=r"'strategy'.*'margin'.*epsilon_.*Got 'marginal'"):
        make_strategy("marginal")
    with pytest.raises(InvalidParameterError, match="'strategy'"):
        make_strategy("epsilon_nothing")


def test_cost_needs_a_score_strategy():
    with pytest.raises(InvalidParameterError, match=r"scores examples.*'margin'"):
        make_strategy("cost_coreset")


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("margin", {"beta": 1.0}, "does not take"),
        # a registered name fixes its measure/diversity: entropy sampling must not run under the name "margin"
        ("margin", {"measure": "entropy"}, r"does not take the parameter\(s\) \['measure'\]"),
        ("margin_kcenter", {"diversity": "kmeanspp"}, r"'diversity'.*valid parameters: \['prefilter'\]"),
        ("epsilon_margin", {"epsilon": 1.5}, "'epsilon'"),
        ("density_weighted", {"similarity": "manhattan"}, "'similarity'"),
        ("density_weighted", {"beta": -1.0}, "'beta'"),
        ("margin_kcenter", {"prefilter": 0.5}, "'prefilter'"),
    ],
)
def test_bad_strategy_parameters_are_named(name, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_strategy(name, **params)


def test_a_user_strategy_plugs_in_by_name():
    @register_strategy("test_lowest_index", overwrite=True)
    class LowestIndex(QueryStrategy):
        def select(self, state, batch_size, random_state):
            return state.unlabeled[: check_batch_size(state, batch_size)]

    state = _state()
    np.testing.assert_array_equal(make_strategy("test_lowest_index").select(state, 3, None), state.unlabeled[:3])
    assert "test_lowest_index" in available_strategies()
    assert make_strategy("epsilon_test_lowest_index").name == "epsilon_test_lowest_index"
    with pytest.raises(InvalidParameterError, match="already registered"):
        register_strategy("test_lowest_index")(LowestIndex)


@pytest.mark.parametrize("bad", ["Margin", "epsilon_x", "cost_x", "", 3])
def test_registration_names_are_validated(bad):
    with pytest.raises(InvalidParameterError, match="'name'"):
        register_strategy(bad)


def test_instances_pass_through_and_reject_parameters():
    strategy = make_strategy("margin")
    assert make_strategy(strategy) is strategy
    with pytest.raises(InvalidParameterError, match="existing strategy instance"):
        make_strategy(strategy, measure="entropy")


def test_precomputed_uncertainty_scores_are_used_instead_of_a_new_pass():
    base = _state()
    scores = np.zeros(base.n_unlabeled)
    scores[[4, 2, 9]] = [3.0, 2.0, 1.0]
    state = PoolState(
        base.X_pool, base.labeled, base.y_labeled, 3, base.model, uncertainty={"least_confidence": scores}
    )
    assert state.has_uncertainty_scores("least_confidence") and not state.has_uncertainty_scores("entropy")
    chosen = make_strategy("least_confidence").select(state, 3, np.random.default_rng(0))
    np.testing.assert_array_equal(chosen, state.unlabeled[[4, 2, 9]])
