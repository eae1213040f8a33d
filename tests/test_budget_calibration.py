"""Calibrated budget extrapolation: conformal intervals, capped ceilings, leave-dataset-out, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from results_factory import synthetic_results, write_cells

import alsim.budget.backtest as backtest_module
from alsim.budget.backtest import BACKTEST_COLUMNS, backtest_cases, score_cases
from alsim.budget.calibration import (
    BudgetCalibration,
    conformal_quantiles,
    fit_calibration,
    load_calibration,
)
from alsim.budget.curves import bootstrap_labels_to_target, extrapolate_curve, score_cap
from alsim.cli import main
from alsim.exceptions import InvalidInputError


def test_conformal_quantiles_use_the_finite_sample_ranks():
    residuals = np.arange(1.0, 20.0)  # n = 19
    # 80%: ranks floor(20 * 0.1) = 2 and ceil(20 * 0.9) = 18.
    assert conformal_quantiles(residuals[::-1], 0.8) == (2.0, 18.0)
    # 95%: rank ceil(20 * 0.975) = 20 > n, so the upper end is honestly unbounded; the lower rank is 0.
    assert conformal_quantiles(residuals, 0.95) == (-math.inf, math.inf)
    lo, hi = conformal_quantiles(np.arange(1.0, 40.0), 0.95)  # n = 39: ranks 1 and 39
    assert (lo, hi) == (1.0, 39.0)


def _calibration(residuals):
    return BudgetCalibration(
        residuals=tuple(sorted(residuals)),
        floor=0.3,
        feature_mean=(0.0, 0.0, 0.0, 0.0),
        feature_scale=(1.0, 1.0, 1.0, 1.0),
        coef=(1.0, -1.0, -0.1, -1.0),
        intercept=0.0,
        base_rate=0.5,
        extrapolation_range=(0.0, 1.0),
        horizon_range=(0.5, 1.0),
        n_cases=100,
        n_reached=50,
    )


def test_intervals_are_finite_and_nested_whenever_the_prediction_is():
    calibration = _calibration(np.random.default_rng(0).normal(0.0, 0.5, 60))
    for predicted in (120.0, 400.0, 5000.0):
        median, (lo80, hi80), (lo95, hi95) = calibration.labels(predicted, 100.0)
        assert all(math.isfinite(v) for v in (median, lo80, hi80, lo95, hi95))
        assert 100.0 <= lo95 <= lo80 <= median <= hi80 <= hi95
    assert calibration.labels(math.inf, 100.0)[1] == (math.inf, math.inf)


def test_bootstrap_beyond_the_curve_has_finite_calibrated_bounds():
    n = np.arange(20.0, 220.0, 20.0)
    rng = np.random.default_rng(1)
    scores = 0.92 - 0.6 * n**-0.45 + rng.normal(0, 0.003, (6, n.size))
    result = bootstrap_labels_to_target(n, scores, 0.87, n_max=1e5, n_boot=20, random_state=0)
    assert result.calibrated and result.extrapolated
    assert math.isfinite(result.interval_80[1]) and math.isfinite(result.interval_95[1])
    assert result.interval_95[0] <= result.interval_80[0] <= result.median <= result.interval_80[1]


@pytest.mark.parametrize("reference", [0.753, 0.70, None])
def test_ceilings_never_exceed_the_cap(reference):
    # A curve that flattens near 0.75 (credit-g): no family may be given a ceiling far above it.
    n = np.arange(20.0, 320.0, 10.0)
    scores = 0.75 - 0.2 * np.exp(-n / 40.0) + np.random.default_rng(2).normal(0, 0.004, n.size)
    cap = score_cap(n, scores, reference=reference)
    extrapolation = extrapolate_curve(n, scores, reference=reference)
    assert extrapolation.cap == cap <= 0.80
    if reference is not None:
        assert cap <= max(reference + 0.01, scores.max() + 0.005) + 1e-12
    assert extrapolation.model is not None
    assert all(curve.asymptote <= cap + 1e-9 for curve in extrapolation.model.curves)
    assert extrapolation.labels_to_reach(0.9, n_max=1e6) == math.inf


def _grid(n_datasets=8):
    frame = synthetic_results(datasets=[f"d{k}" for k in range(n_datasets)], seeds=(0, 1, 2), n_rounds=25, noise=0.004)
    # Slower learners on some datasets: targets then fall both inside and beyond the curves.
    return frame.with_columns(
        (frame["accuracy"] - 0.1 * np.exp(-frame["n_labeled"].to_numpy() / 400.0)).alias("accuracy")
    )


def test_leave_dataset_out_never_calibrates_on_the_held_out_dataset(monkeypatch):
    cases = backtest_cases(_grid(), progress=False, gains=(0.05, 0.1, 0.2, 0.4))
    seen = []

    def recording(train, **kwargs):
        seen.append({case.dataset for case in train})
        return fit_calibration(train, **kwargs)

    monkeypatch.setattr(backtest_module, "fit_calibration", recording)
    table = score_cases(cases)
    datasets = list(dict.fromkeys(case.dataset for case in cases))
    assert len(seen) == len(datasets)
    for held_out, train in zip(datasets, seen, strict=True):
        assert held_out not in train and train == set(datasets) - {held_out}
    assert table.columns == list(BACKTEST_COLUMNS)


def test_cli_writes_rows_and_calibration_and_refuses_to_overwrite(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_cells(runs, _grid())
    out, rows_file, table_file = tmp_path / "report", tmp_path / "rows.json", tmp_path / "calibration.json"
    args = ["backtest", str(runs), "--out", str(out), "--json", str(rows_file), "--calibration-out", str(table_file)]
    assert main([*args, "--no-progress"]) == 0
    rows = json.loads(rows_file.read_text())
    assert rows and all(list(row) == list(BACKTEST_COLUMNS) for row in rows)
    for row in rows:
        # Nulls only where unbounded: a bounded upper end comes with every other value.
        if row["upper_80"] is not None:
            assert None not in (row["predicted_labels"], row["lower_80"])
        assert 0.0 <= row["p_out_of_reach"] <= 1.0
    assert any(row["observed_labels"] is None for row in rows)
    assert any(row["upper_80"] is not None for row in rows)
    for name in ("backtest.md", "backtest.csv", "backtest.png"):
        assert (out / name).exists()

    # Round trip of the calibration table.
    loaded = load_calibration(table_file)
    again = tmp_path / "again.json"
    loaded.save(again)
    assert load_calibration(again) == loaded
    assert loaded.n_cases == len(rows)

    # A second run refuses to replace the report, naming the flag.
    capsys.readouterr()
    assert main([*args, "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "--out" in err and "--overwrite" in err and "Traceback" not in err
    assert main([*args, "--no-progress", "--overwrite"]) == 0


def test_a_broken_calibration_table_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 1}))
    with pytest.raises(InvalidInputError, match="not an alsim budget calibration table"):
        load_calibration(bad)


def test_the_shipped_calibration_loads():
    shipped = load_calibration()
    assert shipped.n_reached >= 100
    lo, hi = shipped.interval_quantiles(0.95)
    assert math.isfinite(lo) and math.isfinite(hi)
