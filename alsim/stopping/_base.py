"""The stopping-rule interface and the registry that configs and the command line use."""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np
import polars as pl

from alsim._registry import Registry
from alsim.exceptions import InvalidDtypeError, InvalidInputError, InvalidParameterError, MissingSignalError

__all__ = ["StoppingRule", "available_rules", "make_rule", "register_rule"]

# How to make alsim.simulate record a signal that a run lacks, for MissingSignalError messages.
_HOW_TO_RECORD: dict[str, str] = {
    "labeled_cv_accuracy": "simulate with record_cv=True (alsim.simulate(..., record_cv=True))",
    "stop_set_predictions": "simulate with a non-empty stop set (stop_set_size >= 1)",
    "reference_accuracy": (
        "it is a cell column of alsim.experiments.load_results; for one run add "
        "result.metadata['reference_accuracy'] as a column"
    ),
}
_DEFAULT_HINT = "alsim.simulate records it in every round; these records were not produced by it"

# Signals that are null in round 0 by definition (no batch has been bought yet).
_NULL_IN_ROUND_ZERO = frozenset({"selected_accuracy", "selected_max_uncertainty", "selected_mean_uncertainty"})


class StoppingRule(abc.ABC):
    """Base class of stopping rules, evaluated after the fact on the recorded rounds of one run.

    A rule reads only the columns listed in ``required_signals``, so one simulation scores every rule.
    Subclasses store their parameters in ``__init__`` (scikit-learn style: no validation there), validate
    them in ``_validate_params`` and implement ``_stop_flags``, which says for each round whether the rule
    would have stopped after that round.

    Attributes
    ----------
    name : str
        Registry name (set by :func:`register_rule`).
    required_signals : tuple of str
        Records columns the rule reads (a class attribute; a property on the few rules whose columns depend
        on a parameter, such as ``PerformanceConvergence(signal=...)``). A run lacking one raises
        MissingSignalError naming the rule, the column and how to record it.
    uses_test_labels : bool
        True for reference rules that peek at the test labels; they cannot be used in practice.
    """

    name: ClassVar[str] = ""
    required_signals: ClassVar[tuple[str, ...]] = ()
    uses_test_labels: ClassVar[bool] = False

    def stop_round(self, records: pl.DataFrame) -> int | None:
        """Return the first round after which the rule stops, or None if it never stops.

        Parameters
        ----------
        records : polars.DataFrame
            The per-round records of one run (``SimulationResult.records``).

        Examples
        --------
        >>> import polars as pl
        >>> from alsim.stopping import LabelBudget
        >>> LabelBudget(max_labels=30).stop_round(pl.DataFrame({"round": [0, 1, 2, 3], "n_labeled": [10, 20, 30, 40]}))
        2
        """
        rounds, flags = self._evaluate(records)
        hits = np.flatnonzero(flags)
        return int(rounds[hits[0]]) if hits.size else None

    def stop_flags(self, records: pl.DataFrame) -> pl.DataFrame:
        """Per-round decisions: a frame with columns ``round`` and ``stop`` (bool), sorted by round."""
        rounds, flags = self._evaluate(records)
        return pl.DataFrame({"round": rounds, "stop": flags})

    def get_params(self) -> dict[str, Any]:
        """Parameters of the rule, as passed to ``__init__``."""
        signature = inspect.signature(type(self).__init__)
        return {name: getattr(self, name) for name in signature.parameters if name != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def _validate_params(self) -> None:  # noqa: B027  (an optional hook, not abstract: most rules have nothing to check)
        """Raise InvalidParameterError for a parameter out of range (subclasses override)."""

    @abc.abstractmethod
    def _stop_flags(self, records: pl.DataFrame) -> np.ndarray:
        """Whether the rule stops after each round of ``records`` (sorted by round, signals checked)."""

    def _evaluate(self, records: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        self._validate_params()
        records = _check_records(records, type(self).__name__)
        for column in self.required_signals:
            _require_signal(records, column, self)
        flags = np.asarray(self._stop_flags(records), dtype=bool)
        return records["round"].to_numpy(), flags


def _check_records(records: Any, rule: str) -> pl.DataFrame:
    if not isinstance(records, pl.DataFrame):
        raise InvalidDtypeError(
            f"{rule} needs the records of one run as a polars.DataFrame. Got {type(records).__name__} instead."
        )
    if "round" not in records.columns:
        raise InvalidInputError(f"{rule} needs a 'round' column in the records; got columns {records.columns}.")
    if records.height == 0:
        raise InvalidInputError(f"{rule} got empty records (no rounds).")
    if records["round"].null_count() or records["round"].n_unique() != records.height:
        raise InvalidInputError(
            f"{rule} got records whose 'round' values are missing or repeated, so they hold several runs or "
            "are corrupt; pass the records of one run, or score a long results frame with "
            "alsim.stopping.score_rules, which splits it into runs."
        )
    return records.sort("round")


def _require_signal(records: pl.DataFrame, column: str, rule: StoppingRule) -> None:
    hint = _HOW_TO_RECORD.get(column, _DEFAULT_HINT)
    label = f"The {rule.name or type(rule).__name__!r} stopping rule"
    if column not in records.columns:
        raise MissingSignalError(f"{label} needs the {column!r} column, which this run did not record: {hint}.")
    values = records[column]
    if column in _NULL_IN_ROUND_ZERO:
        values = values.filter(records["round"] > 0)
    if values.len() and values.null_count() == values.len():
        raise MissingSignalError(f"{label} needs the {column!r} column, which is null in every round: {hint}.")


_REGISTRY: Registry[type[StoppingRule]] = Registry("stopping rule", "rule")
RuleType = TypeVar("RuleType", bound=type[StoppingRule])


def register_rule(name: str) -> Callable[[RuleType], RuleType]:
    """Class decorator registering a stopping rule under ``name`` for configs and the command line.

    Examples
    --------
    >>> from alsim.stopping import StoppingRule, register_rule
    >>> @register_rule("never")
    ... class Never(StoppingRule):
    ...     def _stop_flags(self, records):
    ...         return [False] * records.height
    """

    def decorate(cls: RuleType) -> RuleType:
        if not (isinstance(cls, type) and issubclass(cls, StoppingRule)):
            raise InvalidParameterError(f"register_rule({name!r}) decorates StoppingRule subclasses; got {cls!r}.")
        # Registering the same class again (a module imported twice) is harmless.
        _REGISTRY.register(name, cls, overwrite=_REGISTRY.registered(name) is cls)
        cls.name = name
        return cls

    return decorate


def available_rules() -> list[str]:
    """Names of the registered stopping rules, sorted.

    Examples
    --------
    >>> "stabilizing_predictions" in available_rules()
    True
    """
    return _REGISTRY.names()


def make_rule(rule: str | StoppingRule, **params: Any) -> StoppingRule:
    """Build a stopping rule from its registry name (with parameters) or pass an instance through.

    Examples
    --------
    >>> make_rule("stabilizing_predictions", threshold=0.95)
    StabilizingPredictions(threshold=0.95, window=3)
    """
    if isinstance(rule, StoppingRule):
        if params:
            raise InvalidParameterError("make_rule takes parameters only with a rule name, not with an instance.")
        return rule
    cls = _REGISTRY.get(rule, "make_rule")
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise InvalidParameterError(
            f"Stopping rule {rule!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {', '.join(sorted(accepted)) or 'none'}."
        )
    return cls(**params)
