"""Optional dependencies: the core imports without them, and a feature that needs one says which extra.

Dask (``alsim[dask]``), river (``alsim[stream]``) and pytest / pytest-benchmark (``alsim[bench]``) are
hidden from the importer here (``sys.modules[name] = None``), as if they were not installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alsim.cli import main
from alsim.exceptions import AlsimError, MissingExtraError
from alsim.experiments import parse_config, run_experiment

REPO = Path(__file__).resolve().parents[1]


def _hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def test_core_modules_import_no_optional_dependency_and_no_test_framework():
    code = (
        "import sys\n"
        "for name in ('distributed', 'dask', 'river', 'pytest', 'pytest_benchmark'):\n"
        "    sys.modules[name] = None\n"
        "import alsim, alsim.loop, alsim.experiments, alsim.stream, alsim.stream.drift, alsim.reports\n"
        "import alsim.budget, alsim.stopping, alsim.cli, alsim.benchmarking, alsim.benchmarking.kernel_suite\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_drift_detector_without_river_names_the_stream_extra(monkeypatch):
    from alsim.stream.drift import DriftDetector

    _hide(monkeypatch, "river", "river.drift")
    with pytest.raises(MissingExtraError, match=r"drift detector 'adwin' needs river.*pip install 'alsim\[stream\]'"):
        DriftDetector("adwin")
    assert issubclass(MissingExtraError, ImportError) and issubclass(MissingExtraError, AlsimError)


def test_dask_executor_without_dask_fails_before_any_work(monkeypatch, tmp_path):
    _hide(monkeypatch, "distributed")
    config = parse_config({"name": "x", "datasets": ["openml:61"], "strategies": ["random"], "seeds": [0]})
    with pytest.raises(MissingExtraError, match=r"Dask executor.*pip install 'alsim\[dask\]'"):
        run_experiment(config, tmp_path / "out", executor="dask", progress=False)
    assert not (tmp_path / "out").exists()


def test_cli_without_dask_prints_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    _hide(monkeypatch, "distributed")
    config = tmp_path / "x.toml"
    config.write_text('name = "x"\ndatasets = ["openml:61"]\nstrategies = ["random"]\nseeds = [0]\n')
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--executor", "dask", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--executor dask" in err and "pip install 'alsim[dask]'" in err, err


def test_bench_without_pytest_prints_one_line_naming_the_extra(monkeypatch, capsys):
    _hide(monkeypatch, "pytest_benchmark")
    code = main(["bench", "--quick", "--kernels", "top_k"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "pytest-benchmark" in err and "pip install 'alsim[bench]'" in err, err
