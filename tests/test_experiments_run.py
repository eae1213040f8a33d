"""End to end: ``alsim run`` and ``run_experiment`` with the real ``alsim.simulate`` on tiny grids.

Covers what a grid run promises: identical records whatever the executor (in-process, process pool,
a real Dask LocalCluster on loopback), completion after SIGKILL or SIGINT mid-run, two runs sharing one
output directory, and a failing cell reported with a non-zero exit status.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from alsim.exceptions import ConfigError
from alsim.experiments import dump_config, load_config, load_results, parse_config, run_experiment

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "name": "tiny-real",
    "datasets": ["openml:61", "openml:187"],
    "strategies": ["random", "margin"],
    "batch_sizes": [5],
    "n_seeds": 2,
    "budget": {"labels": 25},
    "initial": {"size": 10},
}


def _comparable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([column for column in frame.columns if column.endswith("_seconds")])


def _write_config(directory: Path, **overrides) -> Path:
    path = directory / "experiment-in.toml"
    path.write_text(dump_config(parse_config({**TINY, **overrides})))
    return path


def _alsim_run(config_path: Path, out: Path, *options: str) -> subprocess.Popen[str]:
    # Its own session, so that a signal can be sent to the whole job (parent and workers) like a terminal does.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "alsim", "run", str(config_path), "--out", str(out), "--no-progress", *options],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finished(out: Path) -> list[Path]:
    # Not glob("*.parquet"): that also matches the hidden temporary files of cells being written.
    return [p for p in (out / "cells").glob("*") if re.fullmatch(r"[0-9a-f]{16}\.parquet", p.name)]


def _wait_for_cells(out: Path, count: int, process: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.joinpath("cells").is_dir() and len(_finished(out)) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"alsim run ended before {count} cells were stored: {process.communicate()}")
        time.sleep(0.05)
    pytest.fail(f"fewer than {count} cells stored after {timeout} s")


def _assert_complete(out: Path, n_cells: int) -> None:
    names = sorted(p.name for p in (out / "cells").iterdir())
    assert len(names) == n_cells, names
    assert all(re.fullmatch(r"[0-9a-f]{16}\.parquet", name) for name in names), names
    frame = load_results(out)
    assert frame["cell_id"].n_unique() == n_cells
    assert frame.select("cell_id", "round").is_duplicated().sum() == 0


@pytest.mark.slow
def test_records_are_identical_whatever_the_executor(tmp_path):
    config = parse_config(TINY)
    run_experiment(config, tmp_path / "inline", jobs=1, progress=False)
    run_experiment(config, tmp_path / "pool", jobs=2, progress=False)
    summary = run_experiment(config, tmp_path / "dask", jobs=2, executor="dask", progress=False)
    assert summary.ok and summary.n_completed == config.n_cells
    inline, pool, dask = (_comparable(load_results(tmp_path / name)) for name in ("inline", "pool", "dask"))
    assert inline.height > config.n_cells
    assert inline.equals(pool)
    assert inline.equals(dask)


def test_results_are_the_engine_results_with_cell_columns(tmp_path):
    import alsim

    config = parse_config({**TINY, "datasets": ["openml:61"], "strategies": ["margin"], "n_seeds": 1})
    run_experiment(config, tmp_path, jobs=1, progress=False)
    frame = load_results(tmp_path)
    direct = alsim.simulate(
        "openml:61", strategy="margin", batch_size=5, label_budget=25, initial_size=10, random_state=0
    )
    assert _comparable(frame.drop(frame.columns[:8])).equals(_comparable(direct.records))
    assert frame["dataset"].unique().to_list() == ["iris"]
    assert frame["reference_accuracy"][0] == pytest.approx(direct.metadata["reference_accuracy"])
    stored = alsim.load_result(next((tmp_path / "cells").glob("*.parquet")))
    assert stored.metadata["cell"]["strategy"] == "margin" and stored.metadata["cell_id"] == frame["cell_id"][0]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_run_killed_mid_way_then_rerun_completes_without_loss_or_duplicates(tmp_path, signum):
    config_path = _write_config(tmp_path, n_seeds=4, budget={"labels": 40})
    n_cells = load_config(config_path).n_cells
    out = tmp_path / "out"
    first = _alsim_run(config_path, out, "--jobs", "2")
    _wait_for_cells(out, 3, first)
    os.killpg(first.pid, signum)  # the whole job, as a terminal's Ctrl-C or a scheduler's kill -9 does
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == (-signal.SIGKILL if signum == signal.SIGKILL else 130), stderr
    stored = _finished(out)
    assert 3 <= len(stored) < n_cells
    load_results(out)  # every visible cell file is complete

    second = _alsim_run(config_path, out, "--jobs", "2")
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    assert f"{n_cells}/{n_cells} cells finished" in stdout and f"{len(stored)} already there" in stdout
    _assert_complete(out, n_cells)


def test_two_runs_into_one_directory_share_the_work(tmp_path):
    config_path = _write_config(tmp_path, n_seeds=3)
    n_cells = load_config(config_path).n_cells
    out = tmp_path / "out"
    runs = [_alsim_run(config_path, out, "--jobs", "1") for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    computed = [int(re.search(r"\((\d+) computed now", stdout).group(1)) for stdout, _ in outputs]
    assert sum(computed) == n_cells  # no cell was computed twice
    _assert_complete(out, n_cells)


def test_failing_cell_is_listed_and_the_exit_status_is_non_zero(tmp_path):
    single_class = tmp_path / "single_class.csv"
    single_class.write_text("x1,x2,y\n" + "".join(f"{i},{i % 7},only\n" for i in range(60)))
    config_path = _write_config(
        tmp_path,
        datasets=["openml:61", {"spec": str(single_class), "label": "y"}],
        strategies=["margin"],
        n_seeds=1,
    )
    out = tmp_path / "out"
    process = _alsim_run(config_path, out, "--jobs", "1")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, (stdout, stderr)
    errors = list((out / "cells").glob("*.error.json"))
    assert len(errors) == 1
    assert "1/2 cells finished" in stderr and "Failed cells" in stderr and errors[0].stem[:16] in stderr
    assert "single_class.csv" in errors[0].read_text() and "Traceback" in errors[0].read_text()


def test_bad_config_exits_with_status_two_and_names_the_key(tmp_path):
    config_path = tmp_path / "bad.toml"
    config_path.write_text(
        'name = "x"\ndatasets = ["openml:61"]\nstrategies = ["margin"]\nseeds = [0]\n[budget]\nlabel = 10\n'
    )
    process = _alsim_run(config_path, tmp_path / "out")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert "Unknown key 'budget.label'" in stderr and "labels" in stderr


def test_one_cell_of_the_cc18_grid_runs(tmp_path):
    cc18 = load_config(REPO / "experiments" / "cc18.toml")
    balance_scale = next(d for d in cc18.datasets if d.spec == "openml:11")
    one_cell = cc18.model_copy(
        update={"datasets": [balance_scale], "strategies": ["margin"], "seeds": [0], "n_seeds": None}
    )
    summary = run_experiment(one_cell, tmp_path, jobs=1, progress=False)
    assert summary.ok and summary.n_completed == 1
    frame = load_results(tmp_path)
    assert frame["n_labeled"].max() == cc18.budget.labels


@pytest.mark.slow
def test_cli_joins_a_running_dask_cluster(tmp_path):
    from distributed import LocalCluster

    config_path = _write_config(tmp_path, strategies=["margin"])
    run_experiment(load_config(config_path), tmp_path / "inline", jobs=1, progress=False)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        process = _alsim_run(config_path, tmp_path / "dask", "--scheduler", cluster.scheduler_address)
        _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert _comparable(load_results(tmp_path / "inline")).equals(_comparable(load_results(tmp_path / "dask")))


USER_STRATEGY = """
from alsim.strategies import QueryStrategy, check_batch_size, register_strategy


@register_strategy("lowest_index_first", overwrite=True)
class LowestIndexFirst(QueryStrategy):
    def select(self, state, batch_size, random_state):
        return state.unlabeled[: check_batch_size(state, batch_size)]
"""


@pytest.mark.slow
def test_a_user_strategy_module_listed_in_imports_runs_in_the_workers(tmp_path, monkeypatch):
    (tmp_path / "lab_strategies.py").write_text(USER_STRATEGY)
    grid = {**TINY, "datasets": ["openml:61"], "strategies": ["lowest_index_first"], "n_seeds": 2}
    with pytest.raises(ConfigError, match="'lowest_index_first'"):
        parse_config(grid)  # unknown until its module is imported
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers inherit sys.path
    config = parse_config({**grid, "imports": ["lab_strategies"]}, allow_imports=True)
    summary = run_experiment(config, tmp_path / "out", jobs=2, progress=False)
    assert summary.ok, str(summary)
    assert set(load_results(tmp_path / "out")["strategy"]) == {"lowest_index_first"}
    with pytest.raises(ConfigError, match="'imports\\[0\\]' key must be an importable Python module"):
        parse_config({**grid, "imports": ["no_such_lab_module"]}, allow_imports=True)
