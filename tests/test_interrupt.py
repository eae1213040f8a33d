"""Ctrl-C of ``alsim run --jobs 2``: one line, exit status 130, every finished cell kept and readable.

The signal goes to the whole process group, as a terminal's Ctrl-C does. Before the fix the run ended with
a traceback from the process pool's exit hook and a resource_tracker "leaked semaphore" warning: the
terminated workers had created tqdm's cross-process lock and never unregistered it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import alsim
from alsim.experiments import dump_config, load_results, parse_config

REPO = Path(__file__).resolve().parents[1]
CELL_FILE = re.compile(r"[0-9a-f]{16}\.parquet")


def _finished(out: Path) -> list[Path]:
    cells = out / "cells"
    return [p for p in cells.iterdir() if CELL_FILE.fullmatch(p.name)] if cells.is_dir() else []


@pytest.mark.parametrize("progress", [True, False], ids=["progress", "no-progress"])
def test_ctrl_c_of_a_pool_run_ends_with_one_line_and_keeps_finished_cells(tmp_path, progress):
    config = {
        "name": "interrupted",
        "datasets": ["openml:61"],
        "strategies": ["random", "margin"],
        "batch_sizes": [5],
        "n_seeds": 20,
        "budget": {"labels": 60},
        "initial": {"size": 10},
    }
    config_path = tmp_path / "experiment-in.toml"
    config_path.write_text(dump_config(parse_config(config)))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "alsim", "run", str(config_path), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(
        command + ([] if progress else ["--no-progress"]),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, to signal the parent and its workers together
    )
    deadline = time.monotonic() + 180
    while len(_finished(out)) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the run ended or stalled before 2 cells were stored: {process.communicate()}")
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    assert "leaked semaphore" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr
    lines = [line for line in re.split(r"[\r\n]", stderr) if line.strip()]
    assert lines[-1] == "alsim run: interrupted", stderr
    if not progress:
        assert lines == ["alsim run: interrupted"], stderr
    stored = _finished(out)
    assert 2 <= len(stored) < 40
    # Only finished cells are left: no temporary files, no locks held by the interrupted run.
    assert sorted(p.name for p in (out / "cells").iterdir()) == sorted(p.name for p in stored)
    assert load_results(out)["cell_id"].n_unique() == len(stored)
    for path in stored:
        assert alsim.load_result(path).records.height > 0
