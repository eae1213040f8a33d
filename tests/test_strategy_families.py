"""The strategy families beyond the built-ins: what each one prefers, what it refuses, and a short
end-to-end simulate() with each. (The uniform interface checks run on every registered name in
tests/test_strategies.py; parity with the peer libraries is in tests/test_strategies_parity.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

import alsim
from alsim import kernels
from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.learners import Committee
from alsim.strategies import PoolState, make_strategy
from alsim.strategies.bayesian import bald_scores, batch_bald_select
from alsim.strategies.gradient import expected_gradient_lengths, gradient_embedding, last_layer_input

NEW_STRATEGIES = [
    "bald",
    "batch_bald",
    "badge",
    "expected_gradient_length",
    "expected_error_reduction",
    "lookahead_oracle",
    "quire",
    "typiclust",
    "probcover",
    "graph_density",
    "ranked_batch",
    "albl",
]


def _blobs(n: int = 90, seed: int = 0):
    X, y = make_classification(
        n_samples=n, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=seed
    )
    labeled = np.sort(np.random.default_rng(seed).choice(n, size=15, replace=False))
    return X, y, labeled


def _state(model, X, y, labeled, **kwargs) -> PoolState:
    return PoolState(X, labeled, y[labeled], 3, model.fit(X[labeled], y[labeled]), **kwargs)


def test_bald_is_zero_when_members_agree_and_positive_when_they_disagree():
    agree = np.tile(np.array([[[0.2, 0.8]]]), (4, 1, 1))
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(bald_scores(agree), [0.0], atol=1e-12)
    np.testing.assert_allclose(bald_scores(disagree), [np.log(2.0)])


def test_batch_bald_skips_a_duplicate_that_top_k_bald_takes():
    # Four deterministic members A, B, C, D. Rows 0 and 1 are copies that split them {A, B} vs {C, D};
    # row 2 splits them {A, C} vs {B, D}. Each row alone is worth ln 2 nats (BALD ties them).
    zero, one = [1.0, 0.0], [0.0, 1.0]
    member_proba = np.array(
        [
            [zero, zero, zero],  # A
            [zero, zero, one],  # B
            [one, one, zero],  # C
            [one, one, one],  # D
        ]
    )
    scores = bald_scores(member_proba)
    np.testing.assert_allclose(scores, [np.log(2.0)] * 3)
    assert kernels.top_k(scores, 2).tolist() == [0, 1]  # top-k BALD takes both copies
    # After row 0 the copy (row 1) tells nothing new about the members; row 2 still halves them.
    assert batch_bald_select(member_proba, 2, 100, np.random.default_rng(0)).tolist() == [0, 2]


def test_bald_members_come_from_the_forest_or_the_committee_and_refuse_otherwise():
    X, y, labeled = _blobs()
    forest = _state(RandomForestClassifier(n_estimators=7, random_state=0), X, y, labeled)
    assert make_strategy("bald").scores(forest, np.random.default_rng(0)).shape == (forest.n_unlabeled,)
    assert forest._committee is None  # the trees were used, no committee was fitted
    logreg = _state(
        LogisticRegression(),
        X,
        y,
        labeled,
        committee_factory=lambda: Committee("logreg", n_members=3, n_classes=3, random_state=0),
    )
    make_strategy("bald").select(logreg, 3, np.random.default_rng(0))
    assert logreg._committee is not None
    with pytest.raises(
        InvalidParameterError, match=r"members='model'.*LogisticRegression has none.*members='committee'"
    ):
        make_strategy("bald", members="model").select(logreg, 3, np.random.default_rng(0))


@pytest.mark.parametrize("name", ["badge", "expected_gradient_length"])
def test_gradient_strategies_refuse_learners_without_a_linear_last_layer(name):
    X, y, labeled = _blobs()
    state = _state(RandomForestClassifier(n_estimators=5, random_state=0), X, y, labeled)
    with pytest.raises(InvalidParameterError, match=r"linear last layer.*RandomForestClassifier has none.*'logreg'"):
        make_strategy(name).select(state, 3, np.random.default_rng(0))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mlp_embedding_is_the_last_hidden_layer():
    X, y, labeled = _blobs()
    mlp = MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=50, random_state=0).fit(X, y)
    hidden = last_layer_input(mlp, X, "test")
    assert hidden.shape == (X.shape[0], 5)
    # The output layer applied to the hidden layer reproduces the MLP's probabilities.
    logits = hidden @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(axis=1, keepdims=True), mlp.predict_proba(X), atol=1e-10)
    state = _state(MLPClassifier(hidden_layer_sizes=(6,), max_iter=50, random_state=0), X, y, labeled)
    assert make_strategy("badge").select(state, 4, np.random.default_rng(0)).shape == (4,)


def test_gradient_length_equals_the_numerical_gradient_of_the_log_loss():
    rng = np.random.default_rng(0)
    W, h = rng.normal(size=(3, 4)), rng.normal(size=4)

    def loss(weights, label):
        logits = weights @ h
        return np.log(np.exp(logits).sum()) - logits[label]

    proba = np.exp(W @ h) / np.exp(W @ h).sum()
    expected = 0.0
    for label in range(3):
        gradient = np.zeros_like(W)
        for index in np.ndindex(W.shape):
            step = np.zeros_like(W)
            step[index] = 1e-6
            gradient[index] = (loss(W + step, label) - loss(W - step, label)) / 2e-6
        expected += proba[label] * np.linalg.norm(gradient)
        if label == int(np.argmax(proba)):  # BADGE's embedding is the gradient for the predicted label
            np.testing.assert_allclose(gradient_embedding(proba[None], h[None])[0], gradient.ravel(), atol=1e-6)
    np.testing.assert_allclose(expected_gradient_lengths(proba[None], h[None]), [expected], rtol=1e-6)


def test_gradient_strategies_run_while_the_labeled_set_has_one_class():
    X, _, labeled = _blobs()
    state = PoolState(
        X, labeled, np.zeros(labeled.size, dtype=np.int64), 3, DummyClassifier().fit(X[labeled], np.zeros(labeled.size))
    )
    for name in ("badge", "expected_gradient_length"):
        assert make_strategy(name).select(state, 3, np.random.default_rng(0)).shape == (3,)


def test_expected_error_reduction_refuses_a_round_that_would_not_finish():
    X, y, labeled = _blobs()
    state = _state(LogisticRegression(), X, y, labeled)
    strategy = make_strategy("expected_error_reduction", max_candidates=None, max_refits=100)
    with pytest.raises(
        InvalidParameterError, match=r"refit the learner 225 times.*75 candidates x 3 labels.*'max_candidates'"
    ):
        strategy.select(state, 2, np.random.default_rng(0))


def test_quire_refuses_a_kernel_matrix_beyond_max_size():
    X, y, labeled = _blobs()
    state = _state(LogisticRegression(), X, y, labeled)
    with pytest.raises(InvalidParameterError, match=r"invert a 65 x 65 kernel matrix.*'max_unlabeled'.*'max_size'"):
        make_strategy("quire", max_unlabeled=50, max_size=60).select(state, 2, np.random.default_rng(0))
    # Subsampling the unlabeled set keeps the round within the size; candidates come from the sample.
    chosen = make_strategy("quire", max_unlabeled=40, max_size=60).select(state, 3, np.random.default_rng(0))
    assert np.unique(chosen).size == 3


def test_lookahead_oracle_needs_the_labels_and_picks_the_best_tried_candidate():
    X, y, labeled = _blobs(n=45)
    without = _state(LogisticRegression(), X, y, labeled)
    with pytest.raises(InvalidInputError, match="pool_labels"):
        make_strategy("lookahead_oracle").select(without, 1, np.random.default_rng(0))
    state = _state(LogisticRegression(), X, y, labeled, pool_labels=y)
    strategy = make_strategy("lookahead_oracle", max_candidates=10_000)  # every unlabeled example is tried
    assert strategy.uses_true_labels and make_strategy("epsilon_lookahead_oracle").uses_true_labels
    assert not make_strategy("epsilon_margin").uses_true_labels
    pick = int(strategy.select(state, 1, np.random.default_rng(0))[0])
    accuracy = strategy._lookahead_accuracy(state, X[labeled], y[labeled], state.unlabeled, y)
    assert accuracy[np.searchsorted(state.unlabeled, pick)] == accuracy.max()


def test_probcover_covers_more_than_random_picks():
    X, y, labeled = _blobs(n=150)
    state = _state(LogisticRegression(), X, y, labeled)
    strategy = make_strategy("probcover")
    chosen = strategy.select(state, 8, np.random.default_rng(0))
    _, graph = next(value for key, value in state.cache.items() if key[0] == "probcover")

    def covered(points):
        return int(np.unique(graph[np.concatenate([labeled, points])].indices).size)

    rng = np.random.default_rng(1)
    random_cover = [covered(rng.choice(state.unlabeled, 8, replace=False)) for _ in range(20)]
    assert covered(chosen) > max(random_cover)


def test_typiclust_picks_one_example_per_uncovered_cluster():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    X = np.vstack([centre + rng.normal(scale=0.5, size=(30, 2)) for centre in centres])
    y = np.repeat(np.arange(4), 30) % 3
    labeled = np.array([0])  # one label in the first blob
    state = PoolState(X, labeled, y[labeled], 3, DummyClassifier().fit(X[labeled], y[labeled]))
    chosen = make_strategy("typiclust", k=5).select(state, 3, np.random.default_rng(0))
    assert sorted((chosen // 30).tolist()) == [1, 2, 3]  # one per blob without a label
    for pick in chosen:  # the most typical: close to its blob's centre
        assert np.linalg.norm(X[pick] - centres[pick // 30]) < 0.6


def test_graph_density_spreads_its_picks():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(scale=0.3, size=(40, 2)), rng.normal(loc=6.0, scale=0.3, size=(40, 2))])
    y = np.repeat([0, 1], 40)
    state = PoolState(X, np.array([0, 79]), y[[0, 79]], 2, LogisticRegression().fit(X[[0, 79]], y[[0, 79]]))
    chosen = make_strategy("graph_density").select(state, 6, np.random.default_rng(0))
    assert set((chosen // 40).tolist()) == {0, 1}


def test_ranked_batch_favours_dissimilarity_when_few_are_labeled():
    X = np.array([[0.0], [0.1], [0.2], [5.0], [0.05]])
    y = np.array([0, 1, 0, 1, 0])
    labeled = np.array([0, 1])
    state = PoolState(X, labeled, y[labeled], 2, LogisticRegression().fit(X[labeled], y[labeled]))
    assert make_strategy("ranked_batch").select(state, 1, np.random.default_rng(0)).tolist() == [3]


def test_albl_learns_from_rewards_across_rounds():
    X, y, labeled = _blobs()
    cache: dict = {}
    strategy = make_strategy("albl", strategies=["margin", "coreset"], horizon=5)
    model = LogisticRegression().fit(X[labeled], y[labeled])
    state = PoolState(X, labeled, y[labeled], 3, model, cache=cache)
    first = strategy.select(state, 3, np.random.default_rng(0))
    bandit = next(iter(cache.values()))
    assert len(bandit.pending) == 3 and np.all(bandit.weights == 1.0)
    grown = np.concatenate([labeled, first])
    model = LogisticRegression().fit(X[grown], y[grown])
    strategy.select(PoolState(X, grown, y[grown], 3, model, cache=cache), 3, np.random.default_rng(1))
    assert not np.all(bandit.weights == 1.0)  # the first round's picks were rewarded
    with pytest.raises(InvalidParameterError, match="'strategies'"):
        make_strategy("albl", strategies=[])
    assert make_strategy("albl", strategies="margin,coreset").strategies == ("margin", "coreset")


@pytest.mark.parametrize("name", NEW_STRATEGIES)
def test_simulate_runs_each_new_strategy(name):
    params = {"expected_error_reduction": {"max_candidates": 15}, "lookahead_oracle": {"max_candidates": 5}}
    learner = RandomForestClassifier(n_estimators=10, random_state=0) if name in ("bald", "batch_bald") else "logreg"
    kwargs = {
        "strategy": name,
        "learner": learner,
        "batch_size": 5,
        "initial_size": 10,
        "label_budget": 25,
        "stop_set_size": 0,
    }
    # (Determinism under the seed is checked per strategy in tests/test_strategies.py.)
    records = alsim.simulate("openml:61", strategy_params=params.get(name), random_state=3, **kwargs).records
    assert records["n_labeled"].to_list() == [10, 15, 20, 25]
    selected = [index for batch in records["selected"].to_list() for index in batch]
    assert len(set(selected)) == 25


def test_peer_names_are_checked():
    with pytest.raises(InvalidParameterError, match="after the colon"):
        make_strategy("modal:")
    pytest.importorskip("skactiveml")
    with pytest.raises(InvalidParameterError, match=r"valid class names.*'Badge'"):
        make_strategy("skactiveml:NoSuchStrategy")
    with pytest.raises(InvalidParameterError, match="does not take the parameter"):
        make_strategy("skactiveml:Badge", nonsense=1)
    pytest.importorskip("modAL")
    with pytest.raises(InvalidParameterError, match=r"valid function names.*'margin_sampling'"):
        make_strategy("modal:no_such_function")


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("skactiveml:UncertaintySampling", {"method": "margin_sampling"}),
        ("skactiveml:TypiClust", {}),
        ("modal:uncertainty_batch_sampling", {}),
        ("modal:max_disagreement_sampling", {}),
    ],
)
def test_peer_adapters_run_inside_simulate(name, params):
    pytest.importorskip("skactiveml" if name.startswith("skactiveml") else "modAL")
    result = alsim.simulate(
        "openml:61",
        strategy=name,
        strategy_params=params,
        batch_size=5,
        initial_size=10,
        label_budget=20,
        stop_set_size=0,
        random_state=0,
    )
    selected = [index for batch in result.records["selected"].to_list() for index in batch]
    assert len(set(selected)) == 20
    assert result.config["strategy"] == name


def _tiny_version(config_name: str, tmp_path):
    """The study's config on one bundled dataset, one seed and one selection round of every strategy."""
    from pathlib import Path

    from alsim.experiments import load_config, load_results, run_experiment

    config = load_config(Path(__file__).resolve().parents[1] / "experiments" / f"{config_name}.toml")
    balance_scale = next(d for d in config.datasets if d.spec == "openml:11")
    tiny = config.model_copy(
        update={
            "datasets": [balance_scale],
            "seeds": [0],
            "n_seeds": None,
            "budget": config.budget.model_copy(update={"labels": config.initial.size + 10}),
        }
    )
    summary = run_experiment(tiny, tmp_path, jobs=1, progress=False)
    assert summary.ok and summary.n_completed == len(config.strategies)
    frame = load_results(tmp_path)
    assert set(frame["strategy"].unique().to_list()) == set(config.strategies)
    assert frame["n_labeled"].max() == config.initial.size + 10


def test_a_tiny_version_of_the_cc18_strategies_study_runs(tmp_path):
    _tiny_version("cc18_strategies", tmp_path)


@pytest.mark.slow
def test_a_tiny_version_of_the_cc18_strategies_forest_study_runs(tmp_path):
    _tiny_version("cc18_strategies_forest", tmp_path)


def test_a_tiny_version_of_the_small_cc18_strategies_study_runs(tmp_path):
    _tiny_version("cc18_strategies_small", tmp_path)


@pytest.mark.slow
def test_a_tiny_version_of_the_small_cc18_strategies_trees_study_runs(tmp_path):
    _tiny_version("cc18_strategies_small_trees", tmp_path)
