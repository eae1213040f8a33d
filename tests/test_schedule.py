"""Cell weights for the progress bar and the longest-first, grouped order of a study's cells."""

from __future__ import annotations

import heapq
from pathlib import Path

import polars as pl
import pytest

from alsim.exceptions import InvalidParameterError
from alsim.experiments import expand_cells, load_config, parse_config
from alsim.experiments.grid import Cell
from alsim.experiments.schedule import (
    CostModel,
    RunningCostEstimate,
    estimate_cell_cost,
    fit_cost_model,
    schedule_cells,
    strategy_cost_factor,
)

CC18 = Path(__file__).resolve().parents[1] / "experiments" / "cc18.toml"
GRID = {
    "name": "schedule",
    "datasets": ["openml:61", "openml:6", "openml:37"],  # iris (150 rows), letter (20,000), diabetes (768)
    "strategies": ["random", "margin", "qbc_vote_entropy", "coreset"],
    "n_seeds": 3,
    "budget": {"labels": 100},
    "initial": {"size": 20},
}


def test_costlier_cells_weigh_more():
    cells = {(c.dataset, c.strategy): c for c in expand_cells(parse_config(GRID)) if c.seed == 0}
    cost = {key: estimate_cell_cost(cell) for key, cell in cells.items()}
    assert cost["openml:6", "margin"] > cost["openml:37", "margin"] > cost["openml:61", "margin"]
    for dataset in ("openml:61", "openml:6", "openml:37"):
        assert cost[dataset, "qbc_vote_entropy"] > 3 * cost[dataset, "margin"]
        assert cost[dataset, "coreset"] > cost[dataset, "margin"]
    more_labels = expand_cells(parse_config({**GRID, "budget": {"labels": 300}}))
    assert estimate_cell_cost(more_labels[0]) > estimate_cell_cost(expand_cells(parse_config(GRID))[0])


def test_wrappers_cost_what_their_base_costs_and_committees_grow_with_their_size():
    assert strategy_cost_factor("epsilon_margin") == strategy_cost_factor("margin") == 1.0
    assert strategy_cost_factor("cost_coreset") == strategy_cost_factor("coreset")
    assert strategy_cost_factor("qbc_kl", committee_size=10) > strategy_cost_factor("qbc_kl", committee_size=5)
    assert strategy_cost_factor("a_name_nobody_registered") == 1.0


def test_schedule_runs_costliest_groups_first_and_keeps_each_group_together():
    cells = expand_cells(parse_config(GRID))
    ordered = schedule_cells(cells)
    assert sorted(c.cell_id for c in ordered) == sorted(c.cell_id for c in cells)
    groups = [(c.dataset, c.seed) for c in ordered]
    seen: list[tuple[str, int]] = []
    for group in groups:  # each (dataset, seed) group is one contiguous run
        if not seen or seen[-1] != group:
            assert group not in seen
            seen.append(group)
    assert ordered[0].dataset == "openml:6" and ordered[0].strategy == "qbc_vote_entropy"
    assert ordered[-1].dataset == "openml:61"
    # One group of every dataset first (the costliest of each), then the others; each part costliest first.
    n_datasets = len(GRID["datasets"])
    assert len({dataset for dataset, _ in seen[:n_datasets]}) == n_datasets
    group_costs = [sum(estimate_cell_cost(c) for c in ordered if (c.dataset, c.seed) == g) for g in seen]
    for part in (group_costs[:n_datasets], group_costs[n_datasets:]):
        assert part == sorted(part, reverse=True)
    assert schedule_cells(list(reversed(cells)))[0] == ordered[0]  # the same costliest cell whatever the input order


def test_fit_cost_model_recovers_the_coefficients_that_made_the_times():
    cells = expand_cells(parse_config(GRID))
    truth = CostModel(
        cell=0.3,
        round=0.01,
        pool_value=3e-9,
        committee_member=0.5,
        factors={"random": 0.8, "margin": 1.0, "coreset": 2.0},
    )
    fitted = fit_cost_model(cells, [estimate_cell_cost(cell, truth) for cell in cells])
    assert fitted.committee_member == pytest.approx(0.5, rel=0.02)
    assert fitted.factors == pytest.approx({"random": 0.8, "margin": 1.0, "coreset": 2.0}, rel=0.02)
    for name in ("cell", "round", "pool_value"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=0.02)
    # The fitted weights order and weigh cells as the times did.
    assert schedule_cells(cells, fitted) == schedule_cells(cells, truth)


def test_fit_cost_model_refuses_mismatched_or_empty_times():
    cells = expand_cells(parse_config(GRID))
    with pytest.raises(InvalidParameterError, match="one time per cell"):
        fit_cost_model(cells, [1.0])
    with pytest.raises(InvalidParameterError, match="must be > 0"):
        fit_cost_model(cells[:2], [1.0, 0.0])


def test_refitting_the_committee_less_often_weighs_less():
    every_round = strategy_cost_factor("qbc_kl")
    assert strategy_cost_factor("qbc_kl", refit_every=1) == every_round
    assert (
        1.0
        < strategy_cost_factor("qbc_kl", refit_every=5)
        < strategy_cost_factor("qbc_kl", refit_every=2)
        < every_round
    )
    grid = {**GRID, "strategies": ["qbc_kl"], "strategy_params": {"qbc_kl": {"refit_every": 3}}}
    kept = expand_cells(parse_config(grid))[0]
    default = expand_cells(parse_config({**GRID, "strategies": ["qbc_kl"]}))[0]
    assert estimate_cell_cost(kept) < estimate_cell_cost(default)


def _replay_eta(cells: list[Cell], seconds: dict[str, float], at: float = 0.1) -> tuple[float, float, float]:
    """Replay ``alsim run --jobs 2`` with measured cell times: (ETA from RunningCostEstimate, ETA from
    counting cells, real end) at the first finish past ``at`` of the cells (tqdm's smoothing-0 ETA)."""
    free = [0.0, 0.0]
    finishes = []
    for cell in schedule_cells(cells):
        start = heapq.heappop(free)
        finishes.append((start + seconds[cell.cell_id], cell.cell_id))
        heapq.heappush(free, finishes[-1][0])
    finishes.sort()
    estimate = RunningCostEstimate(cells)
    for count, (end, cell_id) in enumerate(finishes, start=1):
        estimate.finish(cell_id, seconds[cell_id], at=end)
        if count >= at * len(finishes):
            left = estimate.seconds_left(end)
            assert left is not None
            return end + left, end * len(finishes) / count, finishes[-1][0]
    raise AssertionError("no cell finished")


def test_the_eta_holds_on_the_measured_cc18_study_at_10_percent_of_the_cells():
    """Replay of the measured CPU seconds of every cell of cc18.toml's seed 0 on two workers, in schedule
    order: the bar's ETA after 10% of the cells against the replay's end."""
    measured = pl.read_csv(Path(__file__).parent / "data" / "cc18_seed0_cell_cpu.csv")
    seconds = dict(zip(measured["cell_id"], measured["cpu_seconds"], strict=True))
    cells = [c for c in expand_cells(load_config(CC18)) if c.cell_id in seconds]
    assert len(cells) == len(seconds) == 170
    eta, counting, end = _replay_eta(cells, seconds)
    assert abs(eta / end - 1) < 0.3
    # Counting cells instead is far off: the costliest cells run first.
    assert counting > 1.5 * end


def test_running_estimate_learns_what_the_cost_model_gets_wrong():
    """On a machine 3x slower than the model's, with a strategy 40x costlier than its factor says, the
    remaining seconds come right once a group has finished; the model alone is off by far."""
    grid = {**GRID, "strategies": ["random", "margin", "lookahead_oracle"], "n_seeds": 4}
    cells = schedule_cells(expand_cells(parse_config(grid)))
    slower = {"lookahead_oracle": 40.0}
    truth = {c.cell_id: 3.0 * estimate_cell_cost(c) * slower.get(c.strategy, 1.0) for c in cells}
    estimate = RunningCostEstimate(cells)
    assert estimate.remaining == pytest.approx(sum(estimate_cell_cost(c) for c in cells))
    first_group = cells[:3]
    for cell in first_group:
        estimate.finish(cell.cell_id, truth[cell.cell_id])
    rest = sum(truth[c.cell_id] for c in cells[3:])
    assert estimate.done == pytest.approx(sum(truth[c.cell_id] for c in first_group))
    assert abs(estimate.remaining / rest - 1) < 0.3
    static = sum(estimate_cell_cost(c) for c in cells[3:])
    assert static < 0.2 * rest
    # A strategy with no finished cell takes the run's overall ratio.
    overall = estimate.done / sum(estimate_cell_cost(c) for c in first_group)
    assert estimate.ratio("coreset") == pytest.approx(overall)
    assert estimate.ratio("lookahead_oracle") > 10 * estimate.ratio("margin")


def test_running_estimate_drops_cells_done_elsewhere_without_counting_their_time():
    cells = expand_cells(parse_config(GRID))
    estimate = RunningCostEstimate(cells)
    assert estimate.seconds_left(10.0) is None  # no rate before a cell has finished here
    before = estimate.remaining
    estimate.finish(cells[0].cell_id, None)
    assert estimate.done == 0.0
    assert estimate.remaining == pytest.approx(before - estimate_cell_cost(cells[0]))
    estimate.finish(cells[0].cell_id, 5.0)  # a second report of the same cell changes nothing
    assert estimate.done == 0.0


def test_seconds_left_counts_the_rate_from_the_start_of_the_first_cell():
    """Worker start-up (seconds before the first cell starts) does not recur, so it is not in the rate."""
    cells = expand_cells(parse_config({**GRID, "strategies": ["margin"], "n_seeds": 1}))
    estimate = RunningCostEstimate(cells)
    took = estimate_cell_cost(cells[0])
    # The workers start at t = 0, the first cell at t = 9; it takes its estimate in seconds.
    estimate.finish(cells[0].cell_id, took, at=9.0 + took)
    assert estimate.remaining == pytest.approx(sum(estimate_cell_cost(c) for c in cells[1:]))
    assert estimate.seconds_left(9.0 + took) == pytest.approx(estimate.remaining)
    # Counted from t = 0 the rate would be took / (9 + took), the time left (9 + took) / took as long.
    assert estimate.seconds_left(9.0 + 2 * took) == pytest.approx(2 * estimate.remaining)


def test_the_eta_holds_when_a_strategy_scales_unlike_the_cost_model():
    """A strategy whose cost does not grow with the pool (it refits the learner per candidate, like the
    lookahead oracle) on datasets of 150 to 20,000 rows: with one group of every dataset run first and
    ratios per strategy and dataset, the ETA at 10% of the cells holds; the cost model alone is far off."""
    grid = {**GRID, "strategies": ["random", "margin", "lookahead_oracle"], "n_seeds": 20}
    cells = expand_cells(parse_config(grid))
    seconds = {c.cell_id: 40.0 if c.strategy == "lookahead_oracle" else 2.0 * estimate_cell_cost(c) for c in cells}
    eta, _, end = _replay_eta(cells, seconds)
    assert abs(eta / end - 1) < 0.3
    static_share = sum(estimate_cell_cost(c) for c in cells if c.strategy == "lookahead_oracle") / sum(
        estimate_cell_cost(c) for c in cells
    )
    real_share = sum(seconds[c.cell_id] for c in cells if c.strategy == "lookahead_oracle") / sum(seconds.values())
    assert real_share > 2 * static_share
