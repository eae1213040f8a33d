"""alsim's exception hierarchy.

Every error alsim raises on purpose is an :class:`AlsimError`. Each concrete class also derives from the
built-in exception a numpy or scikit-learn user would expect (``ValueError`` for bad values, ``TypeError``
for bad types), so ``except ValueError`` keeps working. The Rust kernels raise these same classes: the
binding crate maps its error kinds onto them in one place (``rust/alsim-py/src/errors.rs``).
"""

from __future__ import annotations

__all__ = [
    "AlsimError",
    "ConfigError",
    "DatasetError",
    "InvalidDtypeError",
    "InvalidInputError",
    "InvalidParameterError",
    "KernelMemoryError",
    "MissingExtraError",
    "MissingSignalError",
    "OutputPathError",
    "ResultsWarning",
]


class AlsimError(Exception):
    """Base class of every error alsim raises on purpose."""


class InvalidParameterError(AlsimError, ValueError):
    """A parameter has a value outside its valid range or set of choices."""


class InvalidInputError(AlsimError, ValueError):
    """An input array or table has the wrong shape or content (NaN, negative probabilities, ...)."""


class InvalidDtypeError(AlsimError, TypeError):
    """An input has a type or dtype alsim does not accept."""


class DatasetError(AlsimError, ValueError):
    """A dataset cannot be found, read or used (unknown id, corrupt file, missing label column, ...)."""


class ConfigError(AlsimError, ValueError):
    """An experiment configuration is invalid (unknown key, bad value)."""


class MissingExtraError(AlsimError, ImportError):
    """A feature needs an optional dependency that is not installed; the message names the extra to install."""


class MissingSignalError(AlsimError, ValueError):
    """A stopping rule or metric needs a signal that the run did not record."""


class OutputPathError(AlsimError, OSError):
    """An output location cannot be written (a file where a directory is wanted, read-only, disk full...)."""


class ResultsWarning(UserWarning):
    """Stored results were partly unusable or do not make a balanced comparison.

    For example a cell file that cannot be read, a grid with cells missing, or strategies with unequal
    numbers of seeds. The readable part is still used; the warning says what was left out.
    """


class KernelMemoryError(AlsimError, MemoryError):
    """A kernel could not allocate its output or scratch space; the message names the kernel and the bytes."""
