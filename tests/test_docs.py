"""The documentation (README.md, docs/, mkdocs.yml): the site builds with no warning, and every example runs.

``mkdocs build --strict`` fails on a broken link, a missing API reference or a docstring mkdocstrings
cannot render; the generated pages (CLI, strategies, stopping rules) come from the live package
(``docs/_hooks/generated_reference.py``), so a renamed flag or strategy changes the site instead of
leaving it stale.

Every fenced ``python`` and ``bash`` block of a page runs, in page order, in one fresh directory per page,
as a reader would paste them: each Python block in a fresh interpreter, each shell block under
``bash -euo pipefail``. Two things make the shell examples affordable in a test run, and both are visible
here rather than hidden in the pages:

* the directory holds ``experiments/`` with every shipped config shrunk (its first dataset, at most two
  strategies, two seeds, at most 60 labels), so ``alsim run experiments/cc18.toml ...`` runs the real
  command on a small grid;
* ``our_data.csv`` (the budget examples' stand-in for a team's table) is made from a bundled dataset.

A block that cannot run in a test (the install commands, which CI runs verbatim; a placeholder address of a
remote cluster; the timed kernel gate, which CI runs itself) is preceded in the page by
``<!-- docs-test: skip REASON -->``; the reason is required and shown.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_BLOCK = re.compile(r"(<!-- docs-test: skip ([^>]*?)-->\s*\n)?^```(python|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])


def _blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """(language, code, skip reason or None) of every python/bash block of a page, in order."""
    return [
        (language, code, (reason.strip() or "") if marker else None)
        for marker, reason, language, code in _BLOCK.findall(page.read_text())
    ]


def _shrink(config: dict) -> dict:
    config = dict(config)
    config.pop("imports", None)
    config["datasets"] = config["datasets"][:1]
    config["strategies"] = list(dict.fromkeys(["random", *config["strategies"]]))[:2]
    config.pop("seeds", None)
    config["n_seeds"] = 2
    budget = dict(config.get("budget", {}))
    budget["labels"] = min(int(budget.get("labels", 60)), 60)
    config["budget"] = budget
    initial = dict(config.get("initial", {}))
    initial["size"] = min(int(initial.get("size", 20)), 20)
    config["initial"] = initial
    if "stop_set_size" in config:
        config["stop_set_size"] = min(config["stop_set_size"], 100)
    return config


def _workspace(directory: Path) -> None:
    (directory / "experiments").mkdir()
    for path in (ROOT / "experiments").glob("*.toml"):
        config = tomllib.loads(path.read_text())
        (directory / "experiments" / path.name).write_text(tomli_w.dumps(_shrink(config)))
    from alsim.datasets import load_dataset

    dataset = load_dataset("openml:37")  # diabetes: 768 rows, two classes
    table = dataset.features.copy()
    table.insert(0, "seconds_to_label", [5 + i % 7 for i in range(len(table))])
    # A quarter of the rows still unlabeled (empty label), as in a team's table.
    table.insert(0, "category", [None if i % 4 == 0 else label for i, label in enumerate(dataset.target)])
    table.to_csv(directory / "our_data.csv", index=False)


def _run(command: list[str], cwd: Path, what: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, f"{what} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}"


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


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in _PAGES if _blocks(p)], ids=lambda page: str(page.relative_to(ROOT)))
def test_examples_run(page: Path, tmp_path: Path) -> None:
    _workspace(tmp_path)
    for number, (language, code, skip) in enumerate(_blocks(page), start=1):
        what = f"{page.relative_to(ROOT)} example {number} ({language})"
        if skip is not None:
            assert skip, f"{what}: a skipped example must say why"
            continue
        if language == "python":
            _run([sys.executable, "-c", code], tmp_path, what)
        else:
            _run([shutil.which("bash") or "bash", "-euo", "pipefail", "-c", code], tmp_path, what)
