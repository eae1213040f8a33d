"""Run a peer library's query strategy inside alsim's loop: ``skactiveml:<ClassName>``, ``modal:<function>``.

One study can then compare strategies *and implementations* on identical splits, seeds and oracles. The
peers are optional: ``pip install "alsim[peers]"`` (scikit-activeml, modAL-python). Names are parsed by
:func:`alsim.strategies.make_strategy`; parameters are passed to the peer as given.

* ``skactiveml:<ClassName>``: a class of ``skactiveml.pool`` (e.g. ``skactiveml:BatchBALD``). Each round
  builds it with ``random_state`` drawn from the run's strategy stream (and ``classes`` when the class
  needs it), then calls ``query(X_pool, y, candidates=unlabeled, batch_size=...)`` with ``y`` the labels
  so far (NaN = unlabeled) and, as the method asks, ``clf`` (the run's learner wrapped in
  ``SklearnClassifier``, fitted by scikit-activeml) or ``ensemble`` (the learner itself when it is a
  forest or bagging ensemble, else a ``BaggingClassifier`` of 5 copies of it).
* ``modal:<function>``: a query function of modAL (``modAL.uncertainty``, ``modAL.batch``,
  ``modAL.disagreement``, ``modAL.expected_error``), e.g. ``modal:uncertainty_batch_sampling``. It is called
  as ``function(learner, X_unlabeled, n_instances=batch_size, **params)`` with an ``ActiveLearner`` that
  holds the run's fitted model and labeled set (committee functions get a ``Committee`` of the run's
  committee members).

modAL 0.4.2 predates current scikit-learn and numpy; :func:`modal_module` applies two small shims, both
local to modAL's own modules: its calls of ``check_X_y(force_all_finite=...)`` are translated to
``ensure_all_finite`` (renamed in scikit-learn 1.6, removed in 1.8), and ``modAL.expected_error`` is
imported with a temporary ``numpy.float`` alias (its signature names ``np.float``, removed in numpy 1.24).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from types import ModuleType
from typing import Any

import numpy as np
from sklearn.base import clone
from typing_extensions import override

from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, QueryStrategy, check_batch_size

__all__ = ["ModalStrategy", "SkactivemlStrategy", "make_peer_strategy", "modal_module"]

PEER_PREFIXES = ("skactiveml:", "modal:")
_MODAL_MODULES = ("modAL.uncertainty", "modAL.batch", "modAL.disagreement", "modAL.expected_error")
_INSTALL_HINT = 'install the optional peers: pip install "alsim[peers]"'


def _import_peer(module: str, strategy: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InvalidParameterError(
            f"The strategy {strategy!r} runs the peer library {module.split('.')[0]!r}, which cannot be imported "
            f"({exc}); {_INSTALL_HINT}."
        ) from None


def _ensure_all_finite_shim(check: Any) -> Any:
    def check_with_current_keyword(*args: Any, **kwargs: Any) -> Any:
        if "force_all_finite" in kwargs:
            kwargs["ensure_all_finite"] = kwargs.pop("force_all_finite")
        return check(*args, **kwargs)

    check_with_current_keyword.__wrapped__ = check  # type: ignore[attr-defined]
    return check_with_current_keyword


def modal_module(name: str, strategy: str = "modal") -> ModuleType:
    """Import a modAL module with the shims for current scikit-learn and numpy (see the module docs)."""
    learners = _import_peer("modAL.models.learners", strategy)
    for module in (learners, importlib.import_module("modAL.models.base")):
        check = getattr(module, "check_X_y", None)
        if check is not None and not hasattr(check, "__wrapped__"):
            module.check_X_y = _ensure_all_finite_shim(check)  # type: ignore[attr-defined]
    if name == "modAL.expected_error" and name not in sys.modules and not hasattr(np, "float"):
        # The alias must be the removed numpy attribute itself, not the builtin (what NPY001 suggests).
        np.float = float  # type: ignore[attr-defined]  # noqa: NPY001
        try:
            return importlib.import_module(name)
        finally:
            del np.float  # type: ignore[attr-defined]  # noqa: NPY001
    return importlib.import_module(name)


def _labels_with_missing(state: PoolState) -> np.ndarray:
    y = np.full(state.X_pool.shape[0], np.nan)
    y[state.labeled] = state.y_labeled
    return y


class SkactivemlStrategy(QueryStrategy):
    """A ``skactiveml.pool`` query strategy run inside alsim's loop (see the module docs).

    Parameters
    ----------
    class_name : str
        Name of the class in ``skactiveml.pool``.
    **params
        Constructor parameters of that class (``random_state`` is drawn per round unless given).
    """

    def __init__(self, class_name: str, **params: Any) -> None:
        pool = _import_peer("skactiveml.pool", f"skactiveml:{class_name}")
        cls = getattr(pool, class_name, None)
        base = importlib.import_module("skactiveml.base").SingleAnnotatorPoolQueryStrategy
        if not (isinstance(cls, type) and issubclass(cls, base)):
            names = sorted(
                n for n in dir(pool) if isinstance(getattr(pool, n), type) and issubclass(getattr(pool, n), base)
            )
            raise InvalidParameterError(
                f"The strategy 'skactiveml:{class_name}' names no single-annotator pool strategy of skactiveml.pool; "
                f"valid class names: {names}."
            )
        accepted = set(inspect.signature(cls).parameters)
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise InvalidParameterError(
                f"The strategy 'skactiveml:{class_name}' does not take the parameter(s) {unknown}; valid parameters: "
                f"{sorted(accepted)}."
            )
        self.class_name = class_name
        self.params = dict(params)
        self._cls: type[Any] = cls
        supported = {
            "X",
            "y",
            "clf",
            "ensemble",
            "fit_clf",
            "fit_ensemble",
            "candidates",
            "batch_size",
            "sample_weight",
            "return_utilities",
            "ignore_partial_fit",
            "sample_weight_candidates",
            "X_eval",
            "sample_weight_eval",
            "utility_weight",
            "update",
        }
        query_params = inspect.signature(self._cls.query).parameters
        required = [n for n, p in query_params.items() if n != "self" and p.default is inspect.Parameter.empty]
        missing = sorted(set(required) - supported)
        if missing:
            raise InvalidParameterError(
                f"The strategy 'skactiveml:{class_name}' needs query argument(s) {missing} that alsim's adapter "
                "does not supply (it supplies X, y, clf, ensemble, candidates and batch_size)."
            )
        self._query_params = set(query_params)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        from skactiveml.classifier import SklearnClassifier
        from sklearn.ensemble import BaggingClassifier

        seed = int(random_state.integers(2**31 - 1))
        init = dict(self.params)
        init_params = inspect.signature(self._cls).parameters
        if "random_state" in init_params and "random_state" not in init:
            init["random_state"] = seed
        if "classes" in init_params and "classes" not in init:
            init["classes"] = np.arange(state.n_classes)
        strategy = self._cls(**init)
        classes = np.arange(state.n_classes)
        kwargs: dict[str, Any] = {"candidates": state.unlabeled, "batch_size": batch_size}
        if "clf" in self._query_params:
            kwargs["clf"] = SklearnClassifier(clone(state.model), classes=classes, random_state=seed)
        if "ensemble" in self._query_params:
            learner = clone(state.model)
            if not hasattr(learner, "n_estimators"):
                learner = BaggingClassifier(learner, n_estimators=5, random_state=seed)
            kwargs["ensemble"] = SklearnClassifier(learner, classes=classes, random_state=seed)
        chosen = strategy.query(state.X_pool, _labels_with_missing(state), **kwargs)
        return np.asarray(chosen, dtype=np.int64)

    @override
    def get_params(self) -> dict[str, Any]:
        return {
            key: value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
            for key, value in self.params.items()
        }


class ModalStrategy(QueryStrategy):
    """A modAL query function run inside alsim's loop (see the module docs).

    Parameters
    ----------
    function_name : str
        Name of a query function in modAL.uncertainty, modAL.batch, modAL.disagreement or modAL.expected_error.
    **params
        Extra keyword arguments of the function.
    """

    def __init__(self, function_name: str, **params: Any) -> None:
        strategy = f"modal:{function_name}"
        function = None
        for name in _MODAL_MODULES:
            module = modal_module(name, strategy)
            candidate = getattr(module, function_name, None)
            if inspect.isfunction(candidate) and "n_instances" in inspect.signature(candidate).parameters:
                function = candidate
                break
        if function is None:
            names = sorted(
                n
                for name in _MODAL_MODULES
                for n, f in vars(modal_module(name, strategy)).items()
                if inspect.isfunction(f) and f.__module__ == name and "n_instances" in inspect.signature(f).parameters
            )
            raise InvalidParameterError(
                f"The strategy {strategy!r} names no modAL query function; valid function names: {names}."
            )
        self.function_name = function_name
        self.params = dict(params)
        self._function = function
        self._committee = function.__module__ == "modAL.disagreement"

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        models = modal_module("modAL.models", f"modal:{self.function_name}")
        X_labeled = state.X_pool[state.labeled]

        def learner_of(model: Any) -> Any:
            learner = models.ActiveLearner(estimator=model)
            learner.X_training, learner.y_training = X_labeled, state.y_labeled
            return learner

        if self._committee:
            classifier = models.Committee([learner_of(member) for member in state.committee.members_])
        else:
            classifier = learner_of(state.model)
        result = self._function(classifier, state.X_unlabeled, n_instances=batch_size, **self.params)
        positions = result[0] if isinstance(result, tuple) else result
        return state.unlabeled[np.asarray(positions, dtype=np.int64).ravel()]

    @override
    def get_params(self) -> dict[str, Any]:
        return {
            key: value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
            for key, value in self.params.items()
        }


def make_peer_strategy(name: str, **params: Any) -> QueryStrategy:
    """Build the adapter for ``skactiveml:<ClassName>`` or ``modal:<function>``."""
    prefix, _, target = name.partition(":")
    if not target:
        raise InvalidParameterError(
            f"The 'strategy' parameter {name!r} must name the peer's class or function after the colon, "
            "e.g. 'skactiveml:BatchBALD' or 'modal:uncertainty_batch_sampling'."
        )
    if prefix == "skactiveml":
        return SkactivemlStrategy(target, **params)
    return ModalStrategy(target, **params)
