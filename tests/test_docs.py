"""The documentation site (docs/, mkdocs.yml): it builds with no warning, and every example on it runs.

``mkdocs build --strict`` fails on a broken link, a missing API reference or a docstring mkdocstrings
cannot render; the generated pages (CLI, strategies, stopping rules) are produced from the live package by
``docs/_hooks/generated_reference.py``, so a renamed flag or strategy changes the site, never breaks it
silently. Each page's Python examples run in order, in one fresh interpreter and directory, exactly as a reader
would paste them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _pages_with_python() -> list[Path]:
    return sorted(page for page in DOCS.rglob("*.md") if _PYTHON_BLOCK.search(page.read_text()))


def test_site_builds_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    cli_page = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "alsim run" in cli_page and "--jobs" in cli_page
    strategies_page = (tmp_path / "site" / "reference" / "strategies" / "index.html").read_text()
    from alsim.strategies import available_strategies

    missing = [name for name in available_strategies() if f"<code>{name}</code>" not in strategies_page]
    assert not missing, f"strategies missing from the generated reference: {missing}"


@pytest.mark.parametrize("page", _pages_with_python(), ids=lambda page: str(page.relative_to(DOCS)))
def test_python_examples_run(page: Path, tmp_path: Path) -> None:
    # One fresh interpreter per page (a page's examples build on each other; pages do not share state,
    # and an example that registers a strategy cannot leak into other tests).
    script = "\n\n".join(_PYTHON_BLOCK.findall(page.read_text()))
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, f"{page.relative_to(DOCS)}:\n{completed.stderr[-4000:]}"
