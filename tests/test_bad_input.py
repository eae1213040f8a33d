"""Bad input gets one clear line, never a traceback (issue 15).

CLI cases go through ``alsim.cli.main`` with stderr captured: exit status 2 (bad input) and one
``alsim <command>: error: ...`` line naming the flag or file. Python cases check the typed error and that the
message names the parameter. Output-location checks must fire *before* the work.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import warnings
from pathlib import Path

import pytest

import alsim
from alsim.cli import main
from alsim.exceptions import ConfigError, DatasetError, InvalidParameterError, OutputPathError

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "experiments" / "quickstart.toml")


def _one_clear_line(capsys: pytest.CaptureFixture[str], command: str, *needles: str) -> str:
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    errors = [line for line in captured.err.splitlines() if line.startswith(f"alsim {command}: error")]
    assert len(errors) == 1, captured.err
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --- output locations -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--dataset", "openml:61", "--no-progress", "--out"],
        ["run", QUICKSTART, "--no-progress", "--out"],
        ["report", str(ROOT / "reports"), "--out"],
        ["budget", "openml:61", "--target", "0.9", "--no-progress", "--out"],
        ["bench", "--json"],
    ],
)
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_unusable_output_locations_fail_in_one_line_before_any_work(argv, where, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    target = blocker if where == "a file" else blocker / "sub"
    if argv[0] == "bench" and where == "a file":
        target = tmp_path  # a directory where a file is wanted
    assert main([*argv, str(target)]) == 2
    flag = "--json" if argv[0] == "bench" else "--out"
    _one_clear_line(capsys, argv[0], flag, "cannot be used as an output location")


def test_read_only_location_is_found_by_a_real_write_probe(tmp_path, capsys):
    if os.geteuid() == 0:
        # root ignores permission bits, so a chmod-ed directory stays writable; /sys refuses even root.
        target = Path("/sys/alsim-bad-input-test")
        if not Path("/sys").is_dir():
            pytest.skip("running as root without /sys: no unwritable directory to test with")
    else:
        read_only = tmp_path / "ro"
        read_only.mkdir()
        read_only.chmod(0o555)
        target = read_only / "out"
    assert main(["simulate", "--dataset", "openml:61", "--no-progress", "--out", str(target)]) == 2
    _one_clear_line(capsys, "simulate", "--out")


@pytest.mark.skipif(
    not (os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode)),
    reason="needs /dev/full, the device that answers every write with ENOSPC",
)
def test_a_full_disk_while_writing_is_one_error_naming_the_location():
    from alsim._output import writing_to

    # /dev/full answers every write with ENOSPC, like a full disk.
    with (
        pytest.raises(OutputPathError, match=r"--json.*'/dev/full'.*disk is full"),
        writing_to("/dev/full", who="--json"),
        open("/dev/full", "w") as handle,
    ):
        handle.write("x" * 10_000)
        handle.flush()


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_is_refused_as_an_output_file():
    # Written beside the target and renamed over it, a device would be replaced by a regular file.
    with pytest.raises(OutputPathError, match=r"'path' parameter of SimulationResult.save.*not a regular file"):
        alsim.simulate("openml:61", batch_size=5, label_budget=20, random_state=0).save("/dev/null")


def test_python_writers_name_their_parameter(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(OutputPathError, match="'out_dir' parameter of run_experiment"):
        alsim.experiments.run_experiment(QUICKSTART, blocker, progress=False)


# --- data files -----------------------------------------------------------------------------------------
def test_a_compressed_arff_bomb_stops_at_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "bomb.arff.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"@relation r\n@attribute a numeric\n@attribute c {x,y}\n@data\n")
        handle.write(b"1,x\n2,y\n" * 200_000)
    monkeypatch.setenv("ALSIM_MAX_ARFF_BYTES", str(2**20))
    with pytest.raises(DatasetError, match=r"expands to more than 1 MiB.*ALSIM_MAX_ARFF_BYTES"):
        alsim.datasets.load_dataset(path)


def _team_csv(tmp_path: Path) -> Path:
    rows = ["x1,x2,notes,seconds_to_label,y"]
    for i in range(60):
        x2 = "oops" if i == 17 else str(i * 1.5)
        label = ["a", "b", "a ", " b"][i % 4]
        rows.append(f"{i % 7},{x2},note {i},{i % 5 + 1},{label}")
    path = tmp_path / "team.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_team_table_quirks_are_fixed_and_named(tmp_path):
    path = _team_csv(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = alsim.datasets.load_dataset(path, label="y")
    messages = " ".join(str(w.message) for w in caught)
    assert sorted(set(dataset.target)) == ["a", "b"]  # whitespace variants are one class
    assert dataset.features["x2"].dtype == "float64"  # one stray string does not make 60 one-hot columns
    assert "'x2'" in messages and "'oops'" in messages
    assert "ignore=['notes']" in messages  # Python names the parameter
    assert "'seconds_to_label' looks like a labelling cost" in messages


def test_cli_names_the_ignore_flag_and_accepts_it(tmp_path, capsys):
    path = _team_csv(tmp_path)
    argv = ["simulate", "--dataset", str(path), "--label", "y", "--budget", "20", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    err = capsys.readouterr().err
    assert "pass --ignore notes" in err and "Traceback" not in err
    assert main([*argv, "--ignore", "notes", "--ignore", "seconds_to_label", "--out", str(tmp_path / "two")]) == 0
    err = capsys.readouterr().err
    assert "notes" not in err and "seconds_to_label" not in err


# --- configs --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[oracle]\ncost = inf\n", "'oracle.cost'"),
        ("[budget]\ncost = nan\n", "'budget.cost'"),
        ("test_size = nan\n", "'test_size'"),
    ],
)
def test_non_finite_numbers_fail_validation_naming_the_key(tmp_path, extra, key):
    path = tmp_path / "c.toml"
    path.write_text(f'name = "x"\ndatasets = ["openml:61"]\nstrategies = ["random"]\nn_seeds = 1\n{extra}')
    with pytest.raises(ConfigError, match=key):
        alsim.experiments.load_config(path)


def test_seeds_beyond_32_bits_fail_validation():
    from alsim.experiments import parse_config
    from alsim.experiments.config import MAX_SEED
    from alsim.loop import _MAX_SEED

    assert MAX_SEED == _MAX_SEED
    with pytest.raises(ConfigError, match=r"'seeds\[0\]'.*<= 4294967295"):
        parse_config({"name": "x", "datasets": ["openml:61"], "strategies": ["random"], "seeds": [2**32]})


@pytest.mark.parametrize("kind", ["directory", "binary"])
def test_a_directory_or_binary_file_as_config_is_one_line(tmp_path, kind, capsys):
    target = tmp_path
    if kind == "binary":
        target = tmp_path / "x.toml"
        target.write_bytes(bytes(range(256)) * 4)
    assert main(["run", str(target), "--out", str(tmp_path / "out")]) == 2
    _one_clear_line(capsys, "run", str(target))


def test_sizes_larger_than_a_pool_are_refused_before_running(tmp_path):
    from alsim.experiments import check_dataset_sizes, parse_config

    config = parse_config(
        {"name": "x", "datasets": ["openml:61"], "strategies": ["random"], "seeds": [0], "stop_set_size": 500}
    )
    with pytest.raises(ConfigError, match=r"'stop_set_size' = 500 is larger than the pool of 'openml:61' \(105"):
        check_dataset_sizes(config)
    with pytest.raises(ConfigError, match="stop_set_size"):
        alsim.experiments.run_experiment(config, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "cells").exists()


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_fits_every_dataset_it_names(path):
    config = alsim.experiments.load_config(path)
    notes = alsim.experiments.check_dataset_sizes(config)  # raises on sizes that would fail cells
    # A pool smaller than the label budget only shortens the curve; a config may do that on purpose, and
    # then says so in its header.
    exhausted = [note for note in notes if "its runs stop when the pool is exhausted" in note]
    assert notes == exhausted
    if exhausted:
        assert "the runs stop when the pool is exhausted" in path.read_text()


# --- strategies -----------------------------------------------------------------------------------------
def test_strategies_are_reachable_after_import_alsim_and_plain_functions_are_refused():
    with pytest.raises(
        InvalidParameterError, match=re.escape("must decorate a subclass of alsim.strategies.QueryStrategy")
    ):

        @alsim.strategies.register_strategy("bad_input_plain_function")
        def plain(state, batch_size, random_state):  # pragma: no cover - never called
            return state.unlabeled[:batch_size]

    assert "bad_input_plain_function" not in alsim.strategies.available_strategies()


def test_pool_state_arrays_are_properties_and_the_old_calls_still_work():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [0.2], [0.5], [0.8], [1.0]])
    model = LogisticRegression().fit(X[[0, 4]], [0, 1])
    state = alsim.strategies.PoolState(X, np.array([0, 4]), np.array([0, 1]), 2, model)
    assert state.proba_unlabeled.shape == (3, 2)
    with pytest.warns(DeprecationWarning, match="property"):
        np.testing.assert_array_equal(state.proba_unlabeled(), state.proba_unlabeled)
    assert state.expected_costs.shape == (3,)


# --- message slips --------------------------------------------------------------------------------------
def test_a_whole_table_is_never_printed_into_a_message():
    import pandas as pd

    frame = pd.DataFrame({"a": range(100), "y": [0, 1] * 50})
    with pytest.raises(InvalidParameterError) as caught:
        alsim.simulate(frame)
    assert "pandas.DataFrame of shape (100, 2)" in str(caught.value) and "\n" not in str(caught.value)


def test_every_cli_option_has_help_and_no_literal_percent():
    from alsim.cli import build_parser

    def commands(parser, prefix):  # every (sub-)command, nested ones such as 'label init' included
        yield prefix, parser
        for action in parser._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, sub in action.choices.items():
                    yield from commands(sub, f"{prefix} {name}")

    for name, sub in commands(build_parser(), "alsim"):
        assert "%%" not in sub.format_help(), name
        assert all(action.help for action in sub._actions), name
