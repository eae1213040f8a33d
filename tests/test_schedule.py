"""Cell weights for the progress bar and the longest-first, grouped order of a study's cells."""

from __future__ import annotations

from alsim.experiments import expand_cells, parse_config
from alsim.experiments.schedule import estimate_cell_cost, schedule_cells, strategy_cost_factor

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
    group_costs = [sum(estimate_cell_cost(c) for c in ordered if (c.dataset, c.seed) == g) for g in seen]
    assert group_costs == sorted(group_costs, reverse=True)
    assert schedule_cells(list(reversed(cells)))[0] == ordered[0]  # the same costliest cell whatever the input order
