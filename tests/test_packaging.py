"""The compiled extension that the tests import is the one the build just made."""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

import alsim
from alsim import _core


def test_one_compiled_extension_sits_in_the_package() -> None:
    # The wheel is abi3 (`_core.abi3.so`), but Python prefers a version-tagged `_core.cpython-311-*.so` when both
    # sit side by side: a build left over from before abi3 would silently shadow every new one.
    package = Path(alsim.__file__).parent
    builds = sorted(
        path.name for suffix in importlib.machinery.EXTENSION_SUFFIXES for path in package.glob(f"_core{suffix}")
    )
    assert builds == [Path(_core.__file__).name], (
        f"alsim/ holds {builds}: delete all but the newest build (an editable install writes _core.abi3.so)"
    )
