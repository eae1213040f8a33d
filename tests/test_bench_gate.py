"""The performance-regression gate (`alsim bench`): comparison logic on pytest-benchmark JSON, baseline
files, the command line, and an end-to-end run showing that a deliberately slowed kernel fails the gate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alsim.benchmarking import cases, gate
from alsim.cli import main
from alsim.exceptions import ConfigError, InvalidParameterError


def _bench(group: str, impl: str, median: float, **extra: object) -> dict:
    kernel, _, size = group.rpartition("/")
    return {
        "group": group,
        "name": f"test_kernel[{impl}]",
        "stats": {"median": median, "rounds": 20},
        "extra_info": {"kernel": kernel.split("[")[0], "size": size, "impl": impl, **extra},
    }


def _report(*groups: tuple[str, float, float, float], slowed: bool = False) -> dict:
    """A pytest-benchmark report with (group, kernel median, numpy median, read-pass median) per case."""
    benchmarks = []
    for group, kernel_median, numpy_median, read_median in groups:
        benchmarks.append(_bench(group, "alsim", kernel_median, slowed=slowed))
        benchmarks.append(_bench(group, "numpy", numpy_median))
        benchmarks.append(_bench(group, "read_pass", read_median))
    return {"benchmarks": benchmarks}


BASELINE = {
    "top_k/medium": {"ratio_numpy": 0.5, "ratio_read": 2.0},
    "k_center_greedy/medium": {"ratio_numpy": 0.05, "ratio_read": 40.0},
}


def test_measurements_group_the_three_timings_of_a_case() -> None:
    report = _report(("top_k/medium", 2e-4, 4e-4, 1e-4))
    # A case missing its read pass (a failed benchmark) is left out rather than compared half-measured.
    report["benchmarks"].append(_bench("vote_entropy/medium", "alsim", 1e-3))
    report["benchmarks"].append(_bench("vote_entropy/medium", "numpy", 2e-3))
    measured = gate.measurements_from_json(report)
    assert list(measured) == ["top_k/medium"]
    m = measured["top_k/medium"]
    assert (m.kernel, m.size, m.rounds, m.repeats) == ("top_k", "medium", 20, 1)
    assert m.ratio_numpy == pytest.approx(0.5)
    assert m.ratio_read == pytest.approx(2.0)


def test_ratios_are_medians_over_interleaved_repeats() -> None:
    # Three repeats of one case; in the second, load hit the numpy timing only. Per-repeat ratios are
    # 0.5, 0.25 and 0.5 against numpy: the median ignores the odd one.
    report = {"benchmarks": []}
    for repeat, numpy_median in enumerate([4e-4, 8e-4, 4e-4]):
        for impl, median in (("alsim", 2e-4), ("numpy", numpy_median), ("read_pass", 1e-4)):
            report["benchmarks"].append(_bench("top_k/medium", impl, median, repeat=repeat))
    # An incomplete fourth repeat (its numpy and read-pass timings failed) is left out.
    report["benchmarks"].append(_bench("top_k/medium", "alsim", 9e-4, repeat=3))
    (m,) = gate.measurements_from_json(report).values()
    assert (m.repeats, m.rounds) == (3, 80)
    assert m.ratio_numpy == pytest.approx(0.5)
    assert m.ratio_read == pytest.approx(2.0)
    assert m.numpy_median == pytest.approx(4e-4)


def test_unchanged_ratios_pass_even_when_absolute_times_double() -> None:
    # A machine twice as slow (or twice as loaded) doubles every timing; the ratios stay put.
    measured = gate.measurements_from_json(_report(("top_k/medium", 4e-4, 8e-4, 2e-4)))
    rows = gate.compare(measured, BASELINE, tolerance=0.25)
    assert [row.status for row in rows] == ["ok"]
    assert gate.GateResult(rows, pytest_returncode=0).exit_code == 0


def test_a_ratio_worse_than_the_tolerance_regresses() -> None:
    measured = gate.measurements_from_json(
        _report(
            ("top_k/medium", 2.6e-4, 4e-4, 1e-4),  # +30% against both references
            ("k_center_greedy/medium", 4.4e-3, 100e-3, 0.1e-3),  # +10% against numpy, +10% vs read
        )
    )
    rows = {row.measurement.group: row for row in gate.compare(measured, BASELINE, tolerance=0.25)}
    assert rows["top_k/medium"].status == "REGRESSED"
    assert rows["top_k/medium"].change_numpy == pytest.approx(0.3)
    assert rows["k_center_greedy/medium"].status == "ok"
    result = gate.GateResult(list(rows.values()), pytest_returncode=0)
    assert result.exit_code == 1
    assert [row.measurement.group for row in result.regressed] == ["top_k/medium"]


def test_one_worse_ratio_is_enough_to_regress() -> None:
    # The numpy reference got slower in the same run (so kernel/numpy looks fine) but the kernel is 60%
    # further from the read-pass bound: still a regression, against the wider read-pass band.
    measured = gate.measurements_from_json(_report(("top_k/medium", 3.2e-4, 6.4e-4, 1e-4)))
    (row,) = gate.compare(measured, BASELINE, tolerance=0.25, read_tolerance=0.5)
    assert row.change_numpy == pytest.approx(0.0)
    assert row.change_read == pytest.approx(0.6)
    assert row.status == "REGRESSED"
    # 40% further from the read pass is within the read-pass band.
    measured = gate.measurements_from_json(_report(("top_k/medium", 2.8e-4, 5.6e-4, 1e-4)))
    (row,) = gate.compare(measured, BASELINE, tolerance=0.25, read_tolerance=0.5)
    assert row.status == "ok"


def test_improved_and_new_cases_do_not_fail() -> None:
    measured = gate.measurements_from_json(
        _report(("top_k/medium", 0.8e-4, 4e-4, 1e-4), ("vote_entropy/medium", 1e-3, 3e-3, 1e-4))
    )
    rows = gate.compare(measured, BASELINE, tolerance=0.25)
    assert {row.measurement.group: row.status for row in rows} == {
        "top_k/medium": "improved",
        "vote_entropy/medium": "new",
    }
    assert gate.GateResult(rows, pytest_returncode=0).exit_code == 0


def test_a_failed_suite_or_a_missing_case_fails_the_gate() -> None:
    assert gate.GateResult([], pytest_returncode=1).exit_code == 1
    assert gate.GateResult([], pytest_returncode=0, missing=["top_k/medium"]).exit_code == 1


def test_median_of_runs_steadies_a_baseline() -> None:
    runs = [
        gate.measurements_from_json(_report(("top_k/medium", kernel_median, 4e-4, 1e-4)))
        for kernel_median in (2e-4, 3e-4, 2.2e-4)
    ]
    (m,) = gate.median_of_runs(runs).values()
    assert m.ratio_numpy == pytest.approx(0.55)
    assert m.ratio_read == pytest.approx(2.2)
    assert (m.rounds, m.repeats) == (60, 3)


def test_confirmation_keeps_only_regressions_seen_twice() -> None:
    first = gate.measurements_from_json(
        _report(("top_k/medium", 3e-4, 4e-4, 1e-4), ("k_center_greedy/medium", 8e-3, 100e-3, 0.1e-3))
    )
    # The second measurement of top_k is back to normal (the first was a load burst); k_center stays slow.
    second = gate.measurements_from_json(
        _report(("top_k/medium", 2e-4, 4e-4, 1e-4), ("k_center_greedy/medium", 8e-3, 100e-3, 0.1e-3))
    )
    rows = gate.compare(gate.merge_best(first, second), BASELINE, tolerance=0.25)
    assert {row.measurement.group: row.status for row in rows} == {
        "top_k/medium": "ok",
        "k_center_greedy/medium": "REGRESSED",
    }
    # Each ratio keeps its better value: a burst on the numpy timing in one run and on the read pass in
    # the other cannot add up to a regression.
    first = gate.measurements_from_json(_report(("top_k/medium", 3e-4, 4e-4, 1e-4)))
    second = gate.measurements_from_json(_report(("top_k/medium", 3e-4, 6e-4, 1.5e-4)))
    (merged,) = gate.merge_best(first, second).values()
    assert (merged.ratio_numpy, merged.ratio_read) == pytest.approx((0.5, 2.0))


def test_table_shows_ratios_baseline_change_and_status() -> None:
    measured = gate.measurements_from_json(_report(("top_k/medium", 2.6e-4, 4e-4, 1e-4), slowed=True))
    table = gate.format_table(gate.compare(measured, BASELINE, tolerance=0.25), tolerance=0.25)
    header, _, row = table.splitlines()[:3]
    assert header.split() == [
        "kernel", "size", "median", "vs", "numpy", "vs", "read", "baseline", "change", "status"
    ]
    assert row.split() == ["top_k", "(slowed)", "medium", "260", "us", "0.650", "2.60", "0.500", "/", "2.00",
                           "+30%", "/", "+30%", "REGRESSED"]
    assert "1 cases, 1 regressed (tolerance 25% on the ratio to numpy, 50% on the ratio to one read" in table


@pytest.mark.parametrize("tolerance", [0, -0.1, 10, float("nan")])
def test_tolerance_must_be_a_positive_fraction(tolerance: float) -> None:
    message = "The 'tolerance' parameter of compare must be a float in"
    with pytest.raises(InvalidParameterError, match=message):
        gate.compare({}, BASELINE, tolerance=tolerance)


def test_baseline_round_trip_keeps_unmeasured_entries(tmp_path: Path) -> None:
    measured = gate.measurements_from_json(_report(("top_k/medium", 3e-4, 4e-4, 1e-4)))
    path = gate.write_baseline(tmp_path / "baseline.json", measured.values(), mode="quick", keep=BASELINE)
    entries = gate.load_baseline(path)
    assert entries["top_k/medium"]["ratio_numpy"] == pytest.approx(0.75)
    assert entries["top_k/medium"]["ratio_read"] == pytest.approx(3.0)
    assert entries["k_center_greedy/medium"] == BASELINE["k_center_greedy/medium"]
    content = json.loads(path.read_text())
    assert content["schema"] == gate.BASELINE_SCHEMA
    assert list(content)[:3] == ["schema", "updated", "updated_by_mode"]
    assert content["updated_by_mode"] == "quick"
    assert content["machine"]["cpu_count"] == os.cpu_count()


def test_a_baseline_is_never_written_from_slowed_kernels(tmp_path: Path) -> None:
    measured = gate.measurements_from_json(_report(("top_k/medium", 3e-4, 4e-4, 1e-4), slowed=True))
    with pytest.raises(ConfigError, match="Refusing to write a baseline from deliberately slowed kernels"):
        gate.write_baseline(tmp_path / "baseline.json", measured.values(), mode="quick")
    assert not (tmp_path / "baseline.json").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('{"schema": 99, "entries": {}}', 'must be a JSON object with "schema": 1. Got schema 99 instead'),
        ('{"schema": 1}', 'has no "entries" object'),
        ('{"schema": 1, "entries": {"top_k/medium": {"ratio_numpy": 1}}}', "must hold 'ratio_numpy' and"),
    ],
)
def test_bad_baseline_files_are_named(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        gate.load_baseline(path)


def test_baseline_measured_with_other_threads_is_refused() -> None:
    entries = {"top_k/medium": {"ratio_numpy": 0.5, "ratio_read": 2.0, "threads": 0}}
    gate.check_baseline_threads(entries, ["top_k/medium"], threads=0)
    gate.check_baseline_threads(entries, ["vote_entropy/medium"], threads=1)  # not in this run
    with pytest.raises(ConfigError, match="measured with threads=0, this run uses threads=1"):
        gate.check_baseline_threads(entries, ["top_k/medium"], threads=1)


def test_single_threaded_runs_time_cpu_time_of_one_thread() -> None:
    assert gate.timer_name(1) == "time.process_time"
    assert gate.timer_name(0) == "time.perf_counter"
    env = gate.suite_environment(1, repeats=5)
    assert env["RAYON_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"
    assert env[cases.REPEATS_ENV] == "5"
    command = gate.pytest_command(gate.MODES["quick"], Path("out.json"), "(-medium-)", threads=1)
    assert "--benchmark-timer=time.process_time" in command
    assert "--benchmark-enable" in command


def test_shipped_baseline_covers_every_case() -> None:
    entries = gate.load_baseline(gate.DEFAULT_BASELINE)
    assert {case.group for case in cases.all_cases()} <= entries.keys()
    assert all(entry["threads"] == 1 for entry in entries.values())
    instruction_entries = gate.load_baseline(gate.DEFAULT_BASELINE, section="instruction_entries")
    medium = {case.group for case in cases.all_cases() if case.size in gate.MODES["quick"].sizes}
    assert medium <= instruction_entries.keys()


def test_selection_expressions_match_the_suite_test_ids() -> None:
    for case in cases.all_cases():
        assert gate._case_prefix(case.group) == case.test_id
    expression = gate.selection_expression(["medium"], ["top_k", "kmeans_pp"])
    assert expression == "(-medium-) and ([top_k- or [kmeans_pp-)"


def test_repeats_switch_is_a_positive_int() -> None:
    assert cases.repeats({}) == 1
    assert cases.repeats({cases.REPEATS_ENV: "5"}) == 5
    with pytest.raises(ConfigError, match="must be an int >= 1. Got '0' instead"):
        cases.repeats({cases.REPEATS_ENV: "0"})


def test_slowdown_switch_names_kernels() -> None:
    assert cases.slowed_kernels({}) == frozenset()
    assert cases.slowed_kernels({cases.SLOWDOWN_ENV: "top_k, kmeans_pp"}) == {"top_k", "kmeans_pp"}
    assert cases.slowed_kernels({cases.SLOWDOWN_ENV: "all"}) == frozenset(cases.KERNELS)
    with pytest.raises(ConfigError, match=r"must name kernels among .* Got \['fast_sort'\] instead"):
        cases.slowed_kernels({cases.SLOWDOWN_ENV: "top_k,fast_sort"})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tolerance", "0"], "The 'tolerance' parameter of alsim bench must be a float in (0, 10)"),
        (["--kernels", "top_k,fast_sort"], "The 'kernels' parameter of alsim bench must name kernels among"),
        (["--baseline", "no/such/baseline.json"], "The baseline file 'no/such/baseline.json' does not exist"),
        (["--threads", "-1"], "The 'threads' parameter of alsim bench must be an int >= 0"),
        (["--passes", "0"], "The 'passes' parameter of alsim bench must be an int >= 1. Got 0 instead."),
        (["--read-tolerance", "-1"], "The 'read_tolerance' parameter of alsim bench must be a float in"),
    ],
)
def test_cli_usage_errors_exit_2_before_running_anything(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


def _run_cli(tmp_path: Path, name: str, env: dict[str, str], *argv: str) -> tuple[int, dict, str]:
    out = tmp_path / f"{name}.json"
    completed = subprocess.run(
        [sys.executable, "-m", "alsim", "bench", "--quick", "--json", str(out), *argv],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=170,
    )
    return completed.returncode, json.loads(out.read_text())["alsim_gate"], completed.stdout


@pytest.mark.slow
def test_gate_passes_the_normal_build_and_fails_a_slowed_kernel(tmp_path: Path) -> None:
    # The slowdown switch is the benchmark harness's own (ALSIM_BENCH_SLOWDOWN, read only by the suite):
    # it replaces the timed kernel call by its plain-numpy fallback, as if the Rust fast path were lost.
    # vote_entropy is about seven times faster than numpy, so losing the fast path is a clear regression.
    # The bands are twice the defaults: this test shows the mechanism; the defaults were calibrated
    # separately (README), and a test suite running beside this one must not make it flaky.
    options = ("--kernels", "vote_entropy", "--tolerance", "0.5", "--read-tolerance", "1.0")
    env = {key: value for key, value in os.environ.items() if key != cases.SLOWDOWN_ENV}
    code, report, table = _run_cli(tmp_path, "normal", env, *options)
    assert code == 0, table
    assert [row["status"] for row in report["rows"]] == ["ok"]

    env[cases.SLOWDOWN_ENV] = "vote_entropy"
    code, report, table = _run_cli(tmp_path, "slowed", env, *options)
    assert code == 1, table
    (row,) = report["rows"]
    assert (row["group"], row["slowed"], row["status"]) == ("vote_entropy/medium", True, "REGRESSED")
    assert row["change_numpy"] > 2.0
    assert "REGRESSED" in table


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="the instruction-count mode needs valgrind")
def test_instruction_counts_repeat_and_catch_a_slowed_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    from alsim.benchmarking.callgrind import count_instructions

    groups = ["vote_entropy/small", "top_k/small"]
    monkeypatch.delenv(cases.SLOWDOWN_ENV, raising=False)
    normal = count_instructions(groups, output=subprocess.DEVNULL)
    monkeypatch.setenv(cases.SLOWDOWN_ENV, "vote_entropy")
    slowed = count_instructions(groups, output=subprocess.DEVNULL)
    # top_k is untouched by the switch: its counts, unlike times, repeat on a busy machine.
    for impl in ("alsim", "numpy", "read_pass"):
        assert slowed["top_k/small"][impl] == pytest.approx(normal["top_k/small"][impl], rel=0.01)

    def measurement(counts: dict[str, int], slowed: bool) -> gate.Measurement:
        return gate.Measurement.from_medians(
            "vote_entropy/small", *(float(counts[impl]) for impl in gate.IMPL_NAMES), slowed=slowed, unit="Ir"
        )

    reference = measurement(normal["vote_entropy/small"], slowed=False)
    baseline = {reference.group: {"ratio_numpy": reference.ratio_numpy, "ratio_read": reference.ratio_read}}
    slowed_row = measurement(slowed["vote_entropy/small"], slowed=True)
    (row,) = gate.compare({slowed_row.group: slowed_row}, baseline, tolerance=0.05)
    assert row.status == "REGRESSED"
