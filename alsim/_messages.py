"""Messages that name an option the way the user can set it: a CLI flag on the command line, a parameter in
Python.

The ``alsim`` command line runs its sub-commands inside :func:`command_line`; a message that tells the user
to pass an option builds the hint with :func:`pass_option`, so ``alsim simulate`` says ``--ignore notes``
where ``load_dataset(...)`` says ``ignore=['notes']``.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator, Sequence
from contextvars import ContextVar

__all__ = [
    "command_line",
    "counted",
    "describe_type",
    "describe_value",
    "on_command_line",
    "option_name",
    "pass_option",
    "pass_value",
]

_ON_COMMAND_LINE: ContextVar[bool] = ContextVar("alsim_on_command_line", default=False)


@contextlib.contextmanager
def command_line() -> Iterator[None]:
    """Within this block, messages name CLI flags instead of Python parameters."""
    token = _ON_COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _ON_COMMAND_LINE.reset(token)


def on_command_line() -> bool:
    """True while an ``alsim`` sub-command runs."""
    return _ON_COMMAND_LINE.get()


def option_name(parameter: str, flag: str, caller: str) -> str:
    """``"--max-labels"`` on the command line, ``"the 'max_labels' parameter of estimate_budget"`` in Python.

    The subject of a message about one option; capitalise it at the start of a sentence.
    """
    return flag if on_command_line() else f"the {parameter!r} parameter of {caller}"


def pass_option(parameter: str, flag: str, values: Sequence[str]) -> str:
    """``"--ignore notes --ignore id"`` on the command line, ``"ignore=['notes', 'id']"`` in Python.

    The flag is repeated once per value (the CLI's list options are ``action="append"``).
    """
    if on_command_line():
        return " ".join(f"{flag} {shlex.quote(str(value))}" for value in values)
    return f"{parameter}={[str(value) for value in values]!r}"


def pass_value(parameter: str, flag: str, value: str) -> str:
    """``"--cost-column seconds"`` on the command line, ``"cost_column='seconds'"`` in Python."""
    if on_command_line():
        return f"{flag} {shlex.quote(str(value))}"
    return f"{parameter}={str(value)!r}"


def counted(n: int, noun: str) -> str:
    """``"1 dataset"``, ``"2 datasets"``, ``"1 strategy"``, ``"3 strategies"``: a count with its noun."""
    if n == 1:
        return f"{n} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{n} {noun[:-1]}ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return f"{n} {noun}es"
    return f"{n} {noun}s"


def describe_value(value: object, limit: int = 80) -> str:
    """A short description of a value for a "Got ... instead." message.

    Scalars (numpy scalars too) and short values keep their ``repr``; an array or a table is named by its
    type and shape (its ``repr`` would print the whole table into a one-line message); anything else whose
    ``repr`` is long or spans lines is cut.
    """
    qualified = describe_type(value)
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and shape and not isinstance(value, (str, bytes)):  # shape (): a numpy scalar
        return f"a {qualified} of shape {shape}"
    text = repr(value)
    if "\n" in text or len(text) > limit:
        first = text.splitlines()[0] if text.strip() else ""
        return f"a {qualified} ({first[: limit - 20]}...)"
    return text


def describe_type(value: object) -> str:
    """The type of a value with its package (``pandas.DataFrame``, not just ``DataFrame``)."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__.split('.')[0]}.{kind.__name__}"
