"""Experiment configs, cell ids, the crash-safe cell store and the grid runner's bookkeeping.

The runner is exercised here with ``majority_baseline``, a small but real cell function (it takes the loaded
dataset and returns a genuine ``SimulationResult``) passed through the runner's ``simulate`` parameter, so
these tests stay fast; tests/test_experiments_run.py runs the real ``alsim.simulate`` end to end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from alsim.exceptions import ConfigError, InvalidInputError, InvalidParameterError
from alsim.experiments import (
    CELL_COLUMNS,
    expand_cells,
    load_config,
    load_results,
    parse_config,
    run_experiment,
)
from alsim.experiments.config import dump_config
from alsim.experiments.store import CellStore, atomic_write
from alsim.records import RECORD_SCHEMA, SimulationResult


def majority_baseline(dataset, *, batch_size, label_budget=None, random_state=0, **_settings):
    """Label random examples in batches; 'accuracy' is that of predicting the majority label seen so far."""
    target = np.asarray(dataset.target).astype(str)
    classes, codes = np.unique(target, return_inverse=True)
    if len(classes) < 2:
        raise InvalidInputError(f"majority_baseline needs two classes; {dataset.name!r} has {len(classes)}.")
    rng = np.random.default_rng(random_state)
    order = rng.permutation(len(codes))
    budget = min(label_budget or len(codes), len(codes))
    rows = []
    for round_, n_labeled in enumerate(range(batch_size, budget + 1, batch_size)):
        seen = codes[order[:n_labeled]]
        majority = np.bincount(seen, minlength=len(classes)).argmax()
        row = dict.fromkeys(RECORD_SCHEMA)
        row.update(
            round=round_,
            n_labeled=n_labeled,
            cost=float(n_labeled),
            batch_cost=float(batch_size),
            accuracy=float(np.mean(codes == majority)),
            fit_seconds=time.perf_counter(),
            selected=order[n_labeled - batch_size : n_labeled].tolist(),
            n_unlabeled=len(codes) - n_labeled,
        )
        rows.append(row)
    records = pl.DataFrame(rows, schema=RECORD_SCHEMA)
    metadata = {
        "dataset": dataset.name,
        "reference_accuracy": float(np.bincount(codes).max() / len(codes)),
        "seed": random_state,
    }
    return SimulationResult(records, config={"batch_size": batch_size}, metadata=metadata)


def _config(**overrides):
    data = {
        "name": "tiny",
        "datasets": ["openml:61", "openml:187"],
        "strategies": ["random", "margin"],
        "batch_sizes": [5],
        "n_seeds": 3,
        "budget": {"labels": 30},
    }
    data.update(overrides)
    return parse_config(data)


def _errors(data):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


BASE = {"name": "x", "datasets": ["openml:61"], "strategies": ["random"], "seeds": [0]}


# --- configuration --------------------------------------------------------------------------------------
def test_unknown_key_is_named_with_its_value_and_the_valid_keys():
    message = _errors({**BASE, "batch_size": 5})
    assert "Unknown key 'batch_size'" in message and "(value 5)" in message
    assert "batch_sizes" in message and "n_seeds" in message

    message = _errors({**BASE, "oracle": {"nosie_rate": 0.1}})
    assert "'oracle.nosie_rate'" in message and "0.1" in message and "noise_rate" in message


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ({"initial": {"method": "kmeans"}}, ["'initial.method'", "'kmeans'", "'kmeans_pp'", "'per_class'"]),
        ({"learners": ["logreg", "lr"]}, ["'learners[1]'", "'lr'", "'random_forest'"]),
        ({"batch_sizes": [0]}, ["'batch_sizes[0]'", ">= 1", "Got 0"]),
        ({"batch_sizes": ["5"]}, ["'batch_sizes[0]'", "integer", "Got '5'"]),
        ({"test_size": 1.5}, ["'test_size'", "< 1.0", "Got 1.5"]),
        ({"oracle": {"cost": -2}}, ["'oracle.cost'", "'difficulty'", "Got -2"]),
        ({"budget": {"labels": 10.5}}, ["'budget.labels'", "integer", "Got 10.5"]),
        ({"strategies": ["random", "random"]}, ["'strategies'", "repeats"]),
        ({"datasets": ["openml:iris"]}, ["'datasets[0].spec'", "'openml:iris'", "openml:<integer id>"]),
        ({"datasets": ["nowhere.csv"]}, ["'datasets[0].spec'", "existing file"]),
        ({"record_cv": "yes"}, ["'record_cv'", "true or false", "Got 'yes'"]),
    ],
)
def test_bad_value_names_key_value_and_what_is_valid(override, fragments):
    message = _errors({**BASE, **override})
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_unknown_strategy_lists_the_registered_ones():
    pytest.importorskip("alsim.strategies")
    message = _errors({**BASE, "strategies": ["margin", "magrin"]})
    assert "'strategies[1]'" in message and "'magrin'" in message and "'least_confidence'" in message


def test_every_problem_is_reported_at_once():
    message = _errors({**BASE, "batch_sizes": [0], "initial": {"method": "nope"}, "colour": "red"})
    assert message.count("\n  - ") == 3


def test_seeds_are_given_exactly_one_way():
    assert "exactly one of 'seeds'" in _errors({**BASE, "n_seeds": 3})
    without = dict(BASE)
    del without["seeds"]
    assert "exactly one of 'seeds'" in _errors(without)
    assert _config(n_seeds=4).seed_values() == [0, 1, 2, 3]


def test_table_datasets_need_a_label_and_resolve_relative_to_the_config(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.csv").write_text("a,y\n1,p\n2,q\n")
    config_path = tmp_path / "exp.toml"
    config_path.write_text('name = "t"\ndatasets = ["data/mine.csv"]\nstrategies = ["random"]\nseeds = [0]\n')
    with pytest.raises(ConfigError, match="must name the label column"):
        load_config(config_path)
    config_path.write_text(
        'name = "t"\ndatasets = [{spec = "data/mine.csv", label = "y"}]\nstrategies = ["random"]\nseeds = [0]\n'
    )
    config = load_config(config_path)
    assert config.datasets[0].spec == str((tmp_path / "data" / "mine.csv").resolve())


def test_unreadable_config_files_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\ndatasets = [\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_dumped_config_loads_back_equal_from_another_directory(tmp_path):
    config = _config(oracle={"noise_rate": 0.1, "cost": {"a": 1.0, "b": 2.5}}, initial={"method": "k_center"})
    elsewhere = tmp_path / "deep" / "dir"
    elsewhere.mkdir(parents=True)
    (elsewhere / "experiment.toml").write_text(dump_config(config))
    assert load_config(elsewhere / "experiment.toml") == config


def test_shipped_experiments_validate():
    experiments = Path(__file__).resolve().parents[1] / "experiments"
    configs = {path.stem: load_config(path) for path in sorted(experiments.glob("*.toml"))}
    assert {"quickstart", "cc18", "stopping_study"} <= set(configs)
    cc18 = configs["cc18"]
    assert len(cc18.datasets) >= 16 and len(cc18.strategies) >= 8 and len(cc18.seed_values()) >= 10
    assert configs["stopping_study"].record_cv is True


# --- cells ------------------------------------------------------------------------------------------------
def test_grid_is_the_cartesian_product_with_distinct_ids():
    config = _config(learners=["logreg", "gaussian_nb"], batch_sizes=[5, 10])
    cells = expand_cells(config)
    assert len(cells) == config.n_cells == 2 * 2 * 2 * 2 * 3
    assert len({cell.cell_id for cell in cells}) == len(cells)
    assert all(len(cell.cell_id) == 16 for cell in cells)


def test_cell_ids_are_stable_and_only_depend_on_the_cell():
    cells = expand_cells(_config())
    ids = {cell.describe(): cell.cell_id for cell in cells}
    # Pinned: a change here orphans every stored result, so it must be deliberate (bump _CELL_SCHEMA).
    assert ids["openml:61 random logreg b=5 seed=0"] == "845accbe78aa9df2"
    renamed = _config(
        name="other",
        description="words",
        datasets=["openml:187", "openml:061"],
        strategies=["margin", "random"],
        seeds=[2, 1, 0, 7],
        n_seeds=None,
    )
    renamed_ids = {cell.describe(): cell.cell_id for cell in expand_cells(renamed)}
    assert all(renamed_ids[label] == cell_id for label, cell_id in ids.items())
    changed = {cell.cell_id for cell in expand_cells(_config(budget={"labels": 31}))}
    assert not changed & set(ids.values())


# --- the store ----------------------------------------------------------------------------------------
def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "result.parquet"

    def half_write(temp: Path) -> None:
        temp.write_bytes(b"PAR1 half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_write)
    assert list(tmp_path.iterdir()) == []
    atomic_write(target, lambda temp: temp.write_bytes(b"complete"))
    assert [p.name for p in tmp_path.iterdir()] == ["result.parquet"]


def test_cell_lock_is_exclusive_and_dies_with_its_holder(tmp_path):
    store = CellStore(tmp_path)
    store.cells_dir.mkdir()
    cell_id = "0123456789abcdef"
    lock = store.try_lock(cell_id)
    assert lock is not None and store.try_lock(cell_id) is None
    lock.release()
    assert not store.lock_path(cell_id).exists()

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from alsim.experiments.store import CellStore
            lock = CellStore({str(tmp_path)!r}).try_lock({cell_id!r})
            print("held" if lock else "busy", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert store.try_lock(cell_id) is None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    relock = store.try_lock(cell_id)  # a killed holder never leaves a lock behind
    assert relock is not None
    relock.release()


def test_stale_temporary_files_are_removed_and_never_read(tmp_path):
    config = _config(datasets=["openml:61"], strategies=["random"], n_seeds=2)
    run_experiment(config, tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    cells_dir = tmp_path / "cells"
    victim = sorted(cells_dir.glob("*.parquet"))[0]
    stale = cells_dir / f".{victim.stem}.0badc0ffee.tmp.parquet"
    stale.write_bytes(b"PAR1 torn")
    victim.unlink()
    assert load_results(tmp_path)["cell_id"].n_unique() == 1
    summary = run_experiment(config, tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    assert summary.n_completed == 1 and not stale.exists()
    assert load_results(tmp_path)["cell_id"].n_unique() == 2


# --- running -----------------------------------------------------------------------------------------
def test_rerun_skips_finished_cells_and_results_have_the_cell_columns(tmp_path):
    config = _config()
    first = run_experiment(config, tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    assert first.ok and first.n_completed == config.n_cells == 12
    second = run_experiment(config, tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    assert second.ok and second.n_completed == 0 and second.n_already_done == 12

    frame = load_results(tmp_path)
    assert frame.columns[:8] == [
        "cell_id",
        "dataset",
        "dataset_spec",
        "strategy",
        "learner",
        "batch_size",
        "seed",
        "reference_accuracy",
    ]
    assert set(frame["dataset"]) == {"iris", "wine"}
    assert frame.select("cell_id", "round").is_duplicated().sum() == 0
    assert frame.equals(frame.sort("cell_id", "round"))
    assert (tmp_path / "experiment.toml").is_file()
    assert not list((tmp_path / "cells").glob("*.lock"))


def test_job_count_does_not_change_results(tmp_path):
    config = _config()
    run_experiment(config, tmp_path / "one", jobs=1, progress=False, simulate=majority_baseline)
    run_experiment(config, tmp_path / "two", jobs=2, progress=False, simulate=majority_baseline)
    one, two = (load_results(tmp_path / name).drop("fit_seconds") for name in ("one", "two"))
    assert one.equals(two)


def test_failing_cell_is_recorded_the_rest_go_on_and_a_rerun_retries_it(tmp_path):
    table = tmp_path / "one_class.csv"
    table.write_text("x,y\n" + "".join(f"{i},same\n" for i in range(40)))
    config = _config(datasets=["openml:61", {"spec": str(table), "label": "y"}], strategies=["random"], n_seeds=2)
    out = tmp_path / "out"
    summary = run_experiment(config, out, jobs=1, progress=False, simulate=majority_baseline)
    assert not summary.ok and summary.n_completed == 2 and summary.n_failed == 2
    failure = summary.failures[0]
    assert failure.error_path.is_file() and failure.error_path.name == f"{failure.cell_id}.error.json"
    assert failure.error_type in {"DatasetError", "InvalidInputError"}
    assert "Traceback" in failure.error_path.read_text() and str(table) in failure.error_path.read_text()
    assert "Failed cells" in str(summary) and failure.cell_id in str(summary)

    table.write_text("x,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(40)))
    retry = run_experiment(config, out, jobs=1, progress=False, simulate=majority_baseline)
    assert retry.ok and retry.n_completed == 2 and retry.n_already_done == 2
    assert not list((out / "cells").glob("*.error.json"))


def test_resuming_accepts_nested_grids_and_refuses_unrelated_ones(tmp_path):
    small = _config(n_seeds=2)
    run_experiment(small, tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    larger = _config(n_seeds=3, name="more seeds")
    summary = run_experiment(larger, tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    assert summary.n_already_done == 8 and summary.n_completed == 4
    assert load_config(tmp_path / "experiment.toml").name == "more seeds"  # describes everything now
    subset = run_experiment(_config(n_seeds=1), tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    assert subset.ok and subset.n_completed == 0
    assert load_config(tmp_path / "experiment.toml").name == "more seeds"

    with pytest.raises(ConfigError, match="new --out directory") as info:
        run_experiment(_config(budget={"labels": 20}), tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    assert "'tiny'" in str(info.value) and "shares only 0" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"executor": "spark"}, "'executor' parameter of run_experiment must be one of ['local', 'dask']"),
        ({"jobs": 0}, "'jobs' parameter of run_experiment must be an int >= 1"),
        ({"scheduler": "tcp://127.0.0.1:1"}, "needs executor='dask'"),
    ],
)
def test_bad_run_parameters_are_named(tmp_path, kwargs, fragment):
    with pytest.raises(InvalidParameterError) as info:
        run_experiment(_config(), tmp_path, progress=False, simulate=majority_baseline, **kwargs)
    assert fragment in str(info.value)
    assert not tmp_path.joinpath("cells").exists()


def test_load_results_rejects_a_directory_that_is_not_a_run(tmp_path):
    with pytest.raises(InvalidInputError, match="written by 'alsim run'"):
        load_results(tmp_path)


def test_interrupted_in_process_run_keeps_finished_cells_and_leaves_no_debris(tmp_path):
    config = _config()
    calls = {"n": 0}

    def interrupt_on_fifth(dataset, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return majority_baseline(dataset, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, tmp_path, jobs=1, progress=False, simulate=interrupt_on_fifth)
    names = [p.name for p in (tmp_path / "cells").iterdir()]
    assert len(names) == 4 and all(name.endswith(".parquet") and not name.startswith(".") for name in names)
    summary = run_experiment(config, tmp_path, jobs=1, progress=False, simulate=majority_baseline)
    assert summary.ok and summary.n_already_done == 4 and summary.n_completed == 8
    assert os.listdir(tmp_path / "cells").__len__() == 12


def test_strategy_params_reach_only_their_strategy_and_are_checked():
    config = _config(strategies=["random", "epsilon_margin"], strategy_params={"epsilon_margin": {"epsilon": 0.3}})
    params = {cell.strategy: cell.simulate_kwargs()["strategy_params"] for cell in expand_cells(config)}
    assert params == {"random": {}, "epsilon_margin": {"epsilon": 0.3}}
    message = _errors({**BASE, "strategy_params": {"margin": {"epsilon": 0.3}}})
    assert "'margin'" in message and "not in 'strategies'" in message
    pytest.importorskip("alsim.strategies")
    message = _errors({**BASE, "strategies": ["margin"], "strategy_params": {"margin": {"temperature": 2}}})
    assert "'strategy_params.margin'" in message and "temperature" in message


def crash_on_seed_one(dataset, *, random_state=0, **settings):
    """Kills its worker process outright (as an out-of-memory kill would) for seed 1."""
    if random_state == 1:
        os._exit(1)
    return majority_baseline(dataset, random_state=random_state, **settings)


@pytest.mark.slow
def test_a_dying_worker_fails_only_the_cells_in_flight_and_the_pool_recovers(tmp_path):
    config = _config(datasets=["openml:61"], strategies=["random"], n_seeds=8)
    summary = run_experiment(config, tmp_path, jobs=2, progress=False, simulate=crash_on_seed_one)
    failed_seeds = {failure.cell.seed for failure in summary.failures}
    assert 1 in failed_seeds and summary.n_completed + summary.n_failed == config.n_cells
    assert summary.n_completed >= 8 - 4  # at most 2 x jobs cells were in flight when it died
    assert all(failure.error_type == "BrokenProcessPool" for failure in summary.failures)
    retry = run_experiment(config, tmp_path, jobs=2, progress=False, simulate=majority_baseline)
    assert retry.ok and retry.n_completed == summary.n_failed


def test_load_results_of_a_run_with_no_finished_cell_has_the_columns(tmp_path):
    (tmp_path / "cells").mkdir()
    frame = load_results(tmp_path)
    assert frame.height == 0 and frame.columns[:8] == list(CELL_COLUMNS) and "accuracy" in frame.columns


def test_a_rerun_removes_the_locks_a_killed_or_interrupted_run_left(tmp_path):
    from alsim.experiments.store import CellStore

    config = parse_config(
        {"name": "t", "datasets": ["openml:61"], "strategies": ["random"], "n_seeds": 1, "budget": {"labels": 20}}
    )
    run_experiment(config, tmp_path, jobs=1, progress=False)
    store = CellStore(tmp_path)
    (cell_id,) = store.finished_ids()
    store.lock_path(cell_id).touch()  # what a run killed after storing the cell, before unlocking it, leaves
    store.lock_path("1" * 16).touch()  # what a Ctrl-C while taking the lock of an unfinished cell leaves
    held = store.try_lock("0" * 16)  # a lock held by a live run on an unfinished cell is never touched
    run_experiment(config, tmp_path, jobs=1, progress=False)
    assert not store.lock_path(cell_id).exists() and not store.lock_path("1" * 16).exists()
    assert held is not None and store.lock_path("0" * 16).exists()
    held.release()
