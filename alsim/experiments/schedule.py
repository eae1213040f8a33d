"""The order a study's cells run in, and what each is expected to cost (for the progress bar's ETA).

A grid's cells differ in cost by two orders of magnitude (a committee strategy on a 14,000-row pool against
random sampling on 500 rows). Counting cells makes the ETA swing with whichever cells happen to run first;
weighting each cell by an estimate of its cost keeps the rate, and so the ETA, steady. Running the costliest
cells first stops a study from ending on one long cell while the other workers sit idle. Cells of one
dataset, seed and learner run next to each other, so a worker finds the split, reference fit and
difficulty model of the previous cell in its store (:mod:`alsim._shared_work`).

The order changes nothing in the results: each cell is seeded by its own parameters.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from alsim.experiments.grid import Cell

__all__ = ["estimate_cell_cost", "schedule_cells", "strategy_cost_factor"]

# Relative cost of one round of a strategy against margin sampling on the same pool, measured on the CC18
# grid (logistic regression, batch 10): a committee refits and predicts with committee_size members; the
# distance-based strategies add kernel work over the pool. Names not listed count as 1.
_COST_FACTORS: dict[str, float] = {
    "random": 1.0,
    "least_confidence": 1.0,
    "margin": 1.0,
    "entropy": 1.0,
    "coreset": 1.5,
    "margin_kcenter": 1.3,
    "least_confidence_kcenter": 1.3,
    "entropy_kcenter": 1.3,
    "margin_kmeanspp": 1.3,
    "least_confidence_kmeanspp": 1.3,
    "entropy_kmeanspp": 1.3,
    "density_weighted": 1.3,
}
# Committee strategies: per member and round, on top of the learner's own round.
_COMMITTEE_MEMBER_FACTOR = 0.7
_COMMITTEE_STRATEGIES = ("qbc_", "bald", "batch_bald")
# Seconds-like units: a fixed part per cell (process work, writing), per round, and per pool value of a round
# (predictions over the pool and test set scale with rows x features x classes).
_CELL_UNITS = 0.05
_ROUND_UNITS = 0.02
_POOL_VALUE_UNITS = 2.4e-9


def strategy_cost_factor(strategy: str, committee_size: int = 5) -> float:
    """Relative cost of one round of ``strategy`` against margin sampling (1.0) on the same pool."""
    for prefix in ("epsilon_", "cost_"):  # wrappers around a base strategy cost what the base costs
        if strategy.startswith(prefix):
            strategy = strategy[len(prefix) :]
    if strategy.startswith(_COMMITTEE_STRATEGIES):
        return 1.0 + _COMMITTEE_MEMBER_FACTOR * committee_size
    return _COST_FACTORS.get(strategy, 1.0)


@lru_cache(maxsize=256)
def _dataset_shape(spec: str, label: str | None) -> tuple[int, int, int]:
    """(rows, features, classes) of a grid dataset: from the manifest for bundled copies, else by loading it."""
    import re

    from alsim.datasets import load_dataset
    from alsim.datasets._bundled import MANIFEST

    match = re.fullmatch(r"openml:(\d+)", spec.strip(), re.IGNORECASE)
    if match and int(match.group(1)) in MANIFEST and label is None:
        entry = MANIFEST[int(match.group(1))]
        return entry.instances, max(entry.n_features, 1), entry.classes
    try:
        dataset = load_dataset(spec, label=label)
    except Exception:  # the cell will fail with the loader's own message; any weight will do
        return 1000, 10, 2
    return dataset.n_samples, max(dataset.features.shape[1], 1), len(set(dataset.target))


def estimate_cell_cost(cell: Cell) -> float:
    """Return the expected cost of a cell in arbitrary units (about seconds of one core where it was tuned).

    ``rounds x (round overhead + pool rows x features x classes) x strategy factor``, plus a fixed part.
    Used to weight the progress bar and to order cells; only ratios between cells matter.
    """
    n_rows, n_features, n_classes = _dataset_shape(cell.dataset, cell.dataset_label)
    n_pool = max(1, n_rows - math.ceil(cell.test_size * n_rows))
    if cell.mode == "stream":
        rounds = n_pool / max(1, int((cell.stream or {}).get("block_size") or 1))
    else:
        initial = cell.initial_size if cell.initial_size is not None else max(cell.batch_size, n_classes)
        labels = min(n_pool, cell.label_budget if cell.label_budget is not None else n_pool)
        rounds = 1 + math.ceil(max(0, labels - initial) / cell.batch_size)
    round_units = _ROUND_UNITS + _POOL_VALUE_UNITS * n_rows * n_features * max(n_classes, 2)
    return _CELL_UNITS + rounds * round_units * strategy_cost_factor(cell.strategy, cell.committee_size)


def schedule_cells(cells: Sequence[Cell]) -> list[Cell]:
    """Order cells costliest group first, keeping the cells of one (dataset, seed, learner) together.

    Within a group the costliest cell comes first; ties are broken by group parameters and cell id, so
    the schedule does not depend on the input order. A group's cells then meet in a worker that already
    holds their shared work.
    """
    groups: dict[tuple[str, str, float, int, str], list[tuple[float, str, Cell]]] = defaultdict(list)
    for cell in cells:
        key = (cell.dataset, cell.dataset_label or "", cell.test_size, cell.seed, cell.learner)
        groups[key].append((estimate_cell_cost(cell), cell.cell_id, cell))
    ordered = sorted(groups.items(), key=lambda item: (-sum(cost for cost, _, _ in item[1]), item[0]))
    return [cell for _, members in ordered for _, _, cell in sorted(members, key=lambda m: (-m[0], m[1]))]
