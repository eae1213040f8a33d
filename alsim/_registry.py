"""One small generic registry: names mapped to factories, for every "name -> object" choice of alsim.

Query strategies, stopping rules, learners, stream strategies, drift detectors and arrival orders are
chosen by name in configs, on the command line and in Python. Each kind keeps one :class:`Registry`, so
listing the names, refusing a taken name and rejecting an unknown one (with a "did you mean" when a
registered name is close) read the same everywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from alsim._validation import fail
from alsim.exceptions import InvalidParameterError

__all__ = ["Registry"]

FactoryT = TypeVar("FactoryT", bound=Callable[..., object])


class Registry(Generic[FactoryT]):
    """Factories of one kind of object, by name.

    Parameters
    ----------
    kind : str
        What the factories make, for messages (``"strategy"``, ``"stopping rule"``).
    parameter : str
        The parameter users pass the name as (``"strategy"``, ``"rule"``).

    Examples
    --------
    >>> registry = Registry("colour", "colour")
    >>> registry.register("red", lambda: (255, 0, 0))
    >>> registry.names()
    ['red']
    >>> try:
    ...     registry.get("rde", "paint")
    ... except InvalidParameterError as error:
    ...     print(error)
    The 'colour' parameter of paint must be one of ['red']. Got 'rde' instead. Did you mean 'red'?
    """

    def __init__(self, kind: str, parameter: str) -> None:
        self.kind = kind
        self.parameter = parameter
        self._factories: dict[str, FactoryT] = {}

    def register(self, name: str, factory: FactoryT, *, overwrite: bool = False) -> None:
        """Add ``factory`` under ``name``; a taken name needs ``overwrite=True``."""
        taken = self._factories.get(name)
        if taken is not None and not overwrite:
            raise InvalidParameterError(
                f"A {self.kind} named {name!r} is already registered ({_describe(taken)}); "
                "pass overwrite=True to replace it."
            )
        self._factories[name] = factory

    def registered(self, name: str) -> FactoryT | None:
        """The factory registered as ``name``, None if there is none."""
        return self._factories.get(name)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._factories)

    def get(self, name: object, owner: str, *, also: str = "") -> FactoryT:
        """The factory registered as ``name``, or the uniform error naming ``owner``'s parameter.

        ``owner`` is the function or class the user called (empty when the name reaches the registry from
        several places and the parameter's name says enough).

        ``also`` describes what else the parameter accepts (e.g. ``"or a QueryStrategy instance"``).
        """
        if isinstance(name, str) and name in self._factories:
            return self._factories[name]
        raise self.unknown(name, owner, also=also)

    def unknown(
        self, name: object, owner: str, *, also: str = "", names: list[str] | None = None
    ) -> InvalidParameterError:
        """The error for a name that is not registered: the choices, and the closest names if any.

        ``names`` replaces the listed choices when the parameter accepts more than the registered names.
        """
        choices = self.names() if names is None else names
        expected = f"one of {choices}" + (f" {also}" if also else "")
        error = fail(self.parameter, owner, expected, name)
        if isinstance(name, str):
            close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
            if close:
                error = InvalidParameterError(f"{error} Did you mean {' or '.join(map(repr, close))}?")
        return error


def _describe(factory: object) -> str:
    return getattr(factory, "__qualname__", None) or repr(factory)
