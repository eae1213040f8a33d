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

from alsim.benchmarking import cases, gate, machine
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


def _repeats(group: str, kernel_medians: list[float], numpy_median: float, read_median: float) -> dict:
    """A report of one case timed in several interleaved repeats (only the kernel's timing varies)."""
    benchmarks = []
    for repeat, kernel_median in enumerate(kernel_medians):
        for impl, median in (("alsim", kernel_median), ("numpy", numpy_median), ("read_pass", read_median)):
            benchmarks.append(_bench(group, impl, median, repeat=repeat))
    return {"benchmarks": benchmarks}


def test_a_regression_must_hold_up_in_every_repeat() -> None:
    # Baseline 0.5 against numpy, 2.0 against the read pass; tolerances 25% and 50%.
    steady = gate.measurements_from_json(_repeats("top_k/medium", [3.0e-4] * 5, 4e-4, 1e-4))
    (row,) = gate.compare(steady, BASELINE)
    assert row.status == "REGRESSED"
    assert row.measurement.evidence_numpy == pytest.approx((0.75,) * 5)
    # Same median, but two of the five repeats are within the band: noise, not evidence.
    noisy = gate.measurements_from_json(_repeats("top_k/medium", [2.4e-4, 3e-4, 3e-4, 2.2e-4, 3.1e-4], 4e-4, 1e-4))
    (row,) = gate.compare(noisy, BASELINE)
    assert row.change_numpy == pytest.approx(0.5)
    assert row.status == "inconclusive"
    assert gate.GateResult([row], pytest_returncode=0).exit_code == 0
    # The confirming run's repeats count as evidence too.
    merged = gate.merge_best(steady, noisy)
    (row,) = gate.compare(merged, BASELINE)
    assert len(row.measurement.evidence_numpy) == 10 and row.status == "inconclusive"
    (row,) = gate.compare(gate.merge_best(steady, steady), BASELINE)
    assert row.status == "REGRESSED"


def _fake_suite(monkeypatch: pytest.MonkeyPatch, runs: list[dict]) -> list[str]:
    """Replace the pytest-benchmark subprocess by canned reports, one per call; returns the expressions."""
    expressions: list[str] = []

    def run_suite(mode: gate.Mode, expression: str, **_: object) -> tuple[dict, int]:
        expressions.append(expression)
        return runs[len(expressions) - 1], 0

    monkeypatch.setattr(gate, "run_suite", run_suite)
    return expressions


def test_gate_without_a_baseline_for_this_machine_compares_nothing_and_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "baseline.json"
    recorded = gate.measurements_from_json(_report(("top_k/medium", 2e-4, 4e-4, 1e-4)))
    gate.write_baseline(path, recorded.values(), mode="full", here=_machine(cpu_model="AMD EPYC 7B13"))
    # Here the kernel looks 118% slower relative to numpy than on the baseline's machine.
    _fake_suite(monkeypatch, [_report(("top_k/medium", 4.36e-4, 4e-4, 1e-4))])
    result, _, _ = gate.run_gate("quick", baseline=path, kernels=["top_k"])
    assert [row.status for row in result.comparisons] == ["no baseline"]
    assert result.exit_code == 0
    (note,) = result.notes
    assert note.startswith("no baseline for this machine")
    assert "no baseline" in gate.format_table(result.comparisons, 0.25)


def test_gate_confirms_before_deciding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "baseline.json"
    recorded = gate.measurements_from_json(_report(("top_k/medium", 2e-4, 4e-4, 1e-4)))
    gate.write_baseline(path, recorded.values(), mode="full")
    slow = _repeats("top_k/medium", [3.2e-4] * 5, 4e-4, 1e-4)
    # A burst of load in the first run only: the confirming run clears the case.
    expressions = _fake_suite(monkeypatch, [slow, _repeats("top_k/medium", [2.1e-4] * 5, 4e-4, 1e-4)])
    result, _, _ = gate.run_gate("quick", baseline=path, kernels=["top_k"])
    assert [row.status for row in result.comparisons] == ["ok"] and result.exit_code == 0
    assert expressions[1] == "[top_k-medium-"
    # Slow in some repeats of both runs: inconclusive, with a note, exit 0.
    mixed = _repeats("top_k/medium", [3.2e-4, 2.2e-4, 3.3e-4, 3.2e-4, 2.3e-4], 4e-4, 1e-4)
    _fake_suite(monkeypatch, [slow, mixed])
    result, _, _ = gate.run_gate("quick", baseline=path, kernels=["top_k"])
    assert [row.status for row in result.comparisons] == ["inconclusive"] and result.exit_code == 0
    assert any(note.startswith("inconclusive: top_k/medium") for note in result.notes)
    # Slow in every repeat of both runs: a regression.
    _fake_suite(monkeypatch, [slow, slow])
    result, _, _ = gate.run_gate("quick", baseline=path, kernels=["top_k"])
    assert [row.status for row in result.comparisons] == ["REGRESSED"] and result.exit_code == 1


def test_table_shows_ratios_baseline_change_and_status() -> None:
    measured = gate.measurements_from_json(_report(("top_k/medium", 2.6e-4, 4e-4, 1e-4), slowed=True))
    table = gate.format_table(gate.compare(measured, BASELINE, tolerance=0.25), tolerance=0.25)
    header, _, row = table.splitlines()[:3]
    assert header.split() == ["kernel", "size", "median", "vs", "numpy", "vs", "read", "baseline", "change", "status"]
    assert row.split() == [
        "top_k",
        "(slowed)",
        "medium",
        "260",
        "us",
        "0.650",
        "2.60",
        "0.500",
        "/",
        "2.00",
        "+30%",
        "/",
        "+30%",
        "REGRESSED",
    ]
    assert "1 case, 1 regressed, 0 inconclusive (tolerance 25% on the ratio to numpy, 50% on the ratio to" in table


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
    assert content["schema"] == gate.BASELINE_SCHEMA == 2
    (timed,) = content["timed"]
    assert timed["updated_by_mode"] == "quick"
    assert timed["machine"] == machine.fingerprint()
    assert timed["machine"]["logical_cpus"] == os.cpu_count()
    assert {"cpu_model", "instruction_sets", "numpy", "blas"} <= timed["machine"].keys()


def _machine(**changes: object) -> dict:
    return {**machine.fingerprint(), **changes}


def test_a_timed_baseline_holds_only_on_its_machine(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    measured = gate.measurements_from_json(_report(("top_k/medium", 3e-4, 4e-4, 1e-4)))
    elsewhere = _machine(cpu_model="AMD EPYC 7B13", logical_cpus=64, instruction_sets=["AVX", "AVX2"])
    gate.write_baseline(path, measured.values(), mode="full", here=elsewhere)
    baseline = gate.read_baseline(path)
    entries, note = baseline.timed_for(machine.fingerprint())
    assert entries is None
    assert note is not None and note.startswith("no baseline for this machine")
    assert "AMD EPYC 7B13, 64 logical CPUs" in note and "cpu_model: AMD EPYC 7B13 (baseline)" in note
    assert "--update-baseline" in note
    assert gate.load_baseline(path) == {}
    assert gate.load_baseline(path, here=elsewhere)["top_k/medium"]["ratio_numpy"] == pytest.approx(0.75)
    # Recording here adds this machine's baseline and keeps the other one; recording again replaces it.
    gate.write_baseline(path, measured.values(), mode="full")
    faster = gate.measurements_from_json(_report(("top_k/medium", 2e-4, 4e-4, 1e-4)))
    gate.write_baseline(path, faster.values(), mode="quick")
    baseline = gate.read_baseline(path)
    assert len(baseline.timed) == 2
    assert baseline.timed_for(machine.fingerprint())[0]["top_k/medium"]["ratio_numpy"] == pytest.approx(0.5)
    assert baseline.timed_for(elsewhere)[0]["top_k/medium"]["ratio_numpy"] == pytest.approx(0.75)
    # Another numpy or BLAS build is another machine as far as ratios to numpy go.
    assert baseline.timed_for(_machine(numpy="1.26.4"))[0] is None
    assert baseline.timed_for(_machine(blas="accelerate 0"))[0] is None


def test_a_schema_1_baseline_judges_no_machine_but_keeps_its_instruction_counts(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {
                "schema": 1,
                "machine": {"processor": "x86_64", "cpu_count": os.cpu_count(), "numpy": "2.4.6"},
                "entries": BASELINE,
                "instruction_entries": BASELINE,
            }
        )
    )
    baseline = gate.read_baseline(path)
    entries, note = baseline.timed_for(machine.fingerprint())
    assert entries is None and note is not None and "no baseline for this machine" in note
    assert gate.load_baseline(path, section="instruction_entries") == BASELINE
    assert baseline.instruction_note(machine.instruction_setup()) is not None  # does not say what it used
    # Refreshing it writes schema 2 and drops the timed entries that held nowhere.
    measured = gate.measurements_from_json(_report(("top_k/medium", 3e-4, 4e-4, 1e-4)))
    gate.write_baseline(path, measured.values(), mode="quick")
    content = json.loads(path.read_text())
    assert content["schema"] == 2 and len(content["timed"]) == 1
    assert content["instructions"]["entries"] == BASELINE


def test_instruction_baseline_states_what_it_was_counted_with(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    counted = {"top_k/medium": gate.Measurement.from_medians("top_k/medium", 2e6, 4e6, 1e6, unit="Ir")}
    gate.write_baseline(path, counted.values(), mode="quick", section="instruction_entries")
    baseline = gate.read_baseline(path)
    assert baseline.instruction_setup == machine.instruction_setup()
    assert baseline.instruction_note(machine.instruction_setup()) is None
    other = {**machine.instruction_setup(), "numpy": "1.26.4"}
    note = baseline.instruction_note(other)
    assert note is not None and "numpy: " in note and "1.26.4 (here)" in note
    assert baseline.timed == ()


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
        ('{"schema": 99, "entries": {}}', 'must be a JSON object with "schema": 2 .* Got schema 99 instead'),
        ('{"schema": 1}', 'has no "entries" object'),
        ('{"schema": 1, "entries": {"top_k/medium": {"ratio_numpy": 1}}}', "must hold 'ratio_numpy' and"),
        ('{"schema": 2, "timed": {}}', 'must hold a list under "timed"'),
        ('{"schema": 2, "timed": [{"entries": {}}]}', 'Timed baseline 0 .* must hold a "machine" object'),
        ('{"schema": 2, "timed": [{"machine": {}}]}', 'has no "entries" object'),
        ('{"schema": 2, "instructions": {"entries": {"top_k/medium": {}}}}', "must hold 'ratio_numpy' and"),
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


def test_shipped_baseline_covers_every_quick_case_and_says_what_it_holds() -> None:
    baseline = gate.read_baseline(gate.DEFAULT_BASELINE)
    medium = {case.group for case in cases.all_cases() if case.size in gate.MODES["quick"].sizes}
    assert medium <= baseline.instruction_entries.keys()
    assert baseline.instruction_setup is not None
    assert set(machine.INSTRUCTION_KEYS) <= baseline.instruction_setup.keys()
    # Timed baselines, if any are shipped, each name the machine they hold on.
    for timed in baseline.timed:
        assert set(machine.IDENTITY_KEYS) <= timed.machine.keys()
        assert all(entry["threads"] == 1 for entry in timed.entries.values())


def test_selection_expressions_match_the_suite_test_ids() -> None:
    for case in cases.all_cases():
        assert gate._case_prefix(case.group) == case.test_id
    expression = gate.selection_expression(["medium"], ["top_k", "kmeans_pp"])
    assert expression == "(-medium-) and ([top_k- or [kmeans_pp-)"


def test_repeats_switch_is_a_positive_int() -> None:
    assert cases.repeats({}) == 1
    assert cases.repeats({cases.REPEATS_ENV: "5"}) == 5
    with pytest.raises(ConfigError, match=r"must be an int >= 1. Got '0' instead"):
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
        (["--kernels", "top_k,fast_sort"], "The 'kernels' parameter of alsim bench must be kernel names among"),
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
    # vote_entropy is several times faster than numpy, so losing the fast path is a clear regression.
    # The bands are twice the defaults: this test shows the mechanism; the defaults were calibrated
    # separately (README), and a test suite running beside this one must not make it flaky.
    env = {key: value for key, value in os.environ.items() if key != cases.SLOWDOWN_ENV}
    baseline = tmp_path / "baseline.json"
    # The shipped baseline holds no timed entries for this machine: nothing is compared, nothing fails.
    code, report, table = _run_cli(tmp_path, "unknown", env, "--kernels", "vote_entropy")
    assert code == 0, table
    assert [row["status"] for row in report["rows"]] == ["no baseline"]
    assert report["notes"][0].startswith("no baseline for this machine")
    # Record one here, then gate against it.
    code, _, table = _run_cli(
        tmp_path, "record", env, "--kernels", "vote_entropy", "--baseline", str(baseline), "--update-baseline"
    )
    assert code == 0, table
    options = ("--kernels", "vote_entropy", "--tolerance", "0.5", "--read-tolerance", "1.0")
    options += ("--baseline", str(baseline))
    code, report, table = _run_cli(tmp_path, "normal", env, *options)
    assert code == 0, table
    assert [row["status"] for row in report["rows"]] in (["ok"], ["inconclusive"], ["improved"])

    env[cases.SLOWDOWN_ENV] = "vote_entropy"
    code, report, table = _run_cli(tmp_path, "slowed", env, *options)
    assert code == 1, table
    (row,) = report["rows"]
    assert (row["group"], row["slowed"], row["status"]) == ("vote_entropy/medium", True, "REGRESSED")
    assert row["change_numpy"] > 0.5  # well beyond the band: losing the Rust fast path doubles the ratio
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
