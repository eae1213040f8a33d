"""Run metadata records what decides bit-reproducibility; the report says when runs come from several."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import alsim
from alsim._environment import environment_fingerprints, mixed_environment_note, runtime_environment
from alsim.cli import main
from alsim.records import load_result
from tests.results_factory import synthetic_results, write_cells


def test_each_run_records_its_environment_and_versions():
    result = alsim.simulate("openml:61", strategy="margin", batch_size=5, label_budget=20, random_state=0)
    environment = result.metadata["environment"]
    assert set(environment) >= {"cpu", "cpu_flags", "n_cpus", "thread_libraries", "thread_variables", "fingerprint"}
    assert environment["cpu"] and len(environment["fingerprint"]) == 12
    assert any(lib["library"] in ("openblas", "mkl", "blis", "openmp") for lib in environment["thread_libraries"])
    assert all(isinstance(lib["num_threads"], int) for lib in environment["thread_libraries"])
    assert {"alsim", "numpy", "scipy", "scikit-learn", "threadpoolctl"} <= set(result.metadata["versions"])


def test_the_fingerprint_follows_the_thread_count():
    with threadpool_limits(limits=1):
        one = runtime_environment()
    assert all(lib["num_threads"] == 1 for lib in one["thread_libraries"])
    assert runtime_environment()["fingerprint"] == runtime_environment()["fingerprint"]
    if max(info["num_threads"] for info in threadpool_info()) > 1:
        assert runtime_environment()["fingerprint"] != one["fingerprint"]


def _set_fingerprint(path, fingerprint):
    result = load_result(path)
    result.metadata["environment"] = {**runtime_environment(), "fingerprint": fingerprint}
    result.save(path)


def test_report_says_when_runs_come_from_several_environments(tmp_path, capsys):
    out = tmp_path / "run"
    frame = synthetic_results(datasets=("iris",), seeds=(0, 1), speeds={"random": 1.0, "margin": 1.5})
    paths = write_cells(out, frame)
    for path in paths:
        _set_fingerprint(path, "aaaaaaaaaaaa")
    assert mixed_environment_note(paths) is None
    assert main(["report", str(out), "--no-progress"]) == 0
    assert "machine environments" not in capsys.readouterr().err

    _set_fingerprint(paths[0], "bbbbbbbbbbbb")
    assert environment_fingerprints(paths) == {"aaaaaaaaaaaa": len(paths) - 1, "bbbbbbbbbbbb": 1}
    assert main(["report", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"2 machine environments (CPU, BLAS library or thread count; {len(paths) - 1} from aaaaaaaaaaaa" in err
    assert "machine environments" in (out / "report" / "report.md").read_text()


@pytest.mark.parametrize("content", [b"", b"not parquet"])
def test_unreadable_files_count_as_unknown(tmp_path, content):
    path = tmp_path / "cell.parquet"
    path.write_bytes(content)
    assert environment_fingerprints([path]) == {None: 1}
