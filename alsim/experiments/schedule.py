"""The order a study's cells run in, and what each is expected to cost (for the progress bar's ETA).

A grid's cells differ in cost by two orders of magnitude (a committee strategy on a 14,000-row pool against
random sampling on 500 rows). Counting cells makes the ETA swing with whichever cells happen to run first;
weighting each cell by an estimate of its cost keeps the rate, and so the ETA, steady. Running the costliest
cells first stops a study from ending on one long cell while the other workers sit idle; one group of every
dataset runs before that, so the estimate is corrected early for every strategy on every dataset
(:class:`RunningCostEstimate`). Cells of one
dataset, seed and learner run next to each other, so a worker finds the split, reference fit and
difficulty model of the previous cell in its store (:mod:`alsim._shared_work`).

The order changes nothing in the results: each cell is seeded by its own parameters.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from alsim.exceptions import InvalidParameterError
from alsim.experiments.grid import Cell

__all__ = [
    "DEFAULT_COST_MODEL",
    "CostModel",
    "RunningCostEstimate",
    "estimate_cell_cost",
    "fit_cost_model",
    "schedule_cells",
    "strategy_cost_factor",
]

_COMMITTEE_STRATEGIES = ("qbc_", "bald", "batch_bald")
_WRAPPER_PREFIXES = ("epsilon_", "cost_")


@dataclass(frozen=True)
class CostModel:
    """Coefficients of a cell's expected cost, in seconds of one core on the machine they were fitted on.

    ``cost = cell + rounds x (round + pool_value x rows x features x max(classes, 2)) x factor(strategy)``,
    where a committee strategy's factor is ``1 + committee_member x committee_size / refit share`` (see
    :func:`strategy_cost_factor`) and every other strategy's is ``factors.get(name, 1.0)``.

    Parameters
    ----------
    cell : float
        Fixed part of a cell (the worker's share of the split and reference fit, metadata, writing).
    round : float
        Fixed part of a round (the learner's fit on the labeled set, bookkeeping).
    pool_value : float
        Per value of ``rows x features x classes`` of a round (predictions over the pool and test set).
    committee_member : float
        A committee member's fit and predictions, relative to the learner's round.
    factors : mapping of str to float
        Relative cost of a round of the other strategies against margin sampling (1.0).
    """

    cell: float
    round: float
    pool_value: float
    committee_member: float
    factors: Mapping[str, float] = field(default_factory=dict)


#: Fitted with :func:`fit_cost_model` to the CPU seconds of every cell of ``experiments/cc18.toml``'s seed 0
#: (170 cells, logistic regression, batch 10, 300 labels), measured by ``python experiments/study_cpu_profile.py
#: experiments/cc18.toml --seeds 0 --cells-out cells.csv`` on the project's 2-core machine at load 12 to 17 (CPU
#: time, so the load matters little); the table is ``tests/data/cc18_seed0_cell_cpu.csv``. Strategies that
#: were not in that grid keep the earlier hand-set factors (the k-center and k-means++ hybrids 1.3).
DEFAULT_COST_MODEL = CostModel(
    cell=0.054,
    round=0.0031,
    pool_value=1.44e-9,
    committee_member=1.35,
    factors={
        "random": 0.95,
        "least_confidence": 1.05,
        "margin": 1.0,
        "entropy": 1.05,
        "coreset": 1.78,
        "margin_kcenter": 1.47,
        "least_confidence_kcenter": 1.3,
        "entropy_kcenter": 1.3,
        "margin_kmeanspp": 1.3,
        "least_confidence_kmeanspp": 1.3,
        "entropy_kmeanspp": 1.3,
        "density_weighted": 1.04,
    },
)


def _base_strategy(strategy: str) -> str:
    for prefix in _WRAPPER_PREFIXES:  # wrappers around a base strategy cost what the base costs
        while strategy.startswith(prefix):
            strategy = strategy[len(prefix) :]
    return strategy


def strategy_cost_factor(
    strategy: str, committee_size: int = 5, *, refit_every: int = 1, model: CostModel | None = None
) -> float:
    """Relative cost of one round of ``strategy`` against margin sampling (1.0) on the same pool.

    A committee strategy adds ``committee_member x committee_size``, divided by ``refit_every`` for the
    members' fits (their predictions run every round: a third of a member's cost is counted as prediction).
    """
    model = DEFAULT_COST_MODEL if model is None else model
    strategy = _base_strategy(strategy)
    if strategy.startswith(_COMMITTEE_STRATEGIES):
        member = model.committee_member * (1 / 3 + (2 / 3) / max(1, refit_every))
        return 1.0 + member * committee_size
    return float(model.factors.get(strategy, 1.0))


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


def _cell_terms(cell: Cell) -> tuple[float, float]:
    """Return (rounds, rows x features x max(classes, 2)) of a cell."""
    n_rows, n_features, n_classes = _dataset_shape(cell.dataset, cell.dataset_label)
    n_pool = max(1, n_rows - math.ceil(cell.test_size * n_rows))
    if cell.mode == "stream":
        rounds = n_pool / max(1, int((cell.stream or {}).get("block_size") or 1))
    else:
        initial = cell.initial_size if cell.initial_size is not None else max(cell.batch_size, n_classes)
        labels = min(n_pool, cell.label_budget if cell.label_budget is not None else n_pool)
        rounds = 1 + math.ceil(max(0, labels - initial) / cell.batch_size)
    return float(rounds), float(n_rows * n_features * max(n_classes, 2))


def _refit_every(cell: Cell) -> int:
    value = (cell.strategy_params or {}).get("refit_every", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


def estimate_cell_cost(cell: Cell, model: CostModel | None = None) -> float:
    """Return the expected cost of a cell, in seconds of one core where ``model`` was fitted.

    ``cell + rounds x (round + pool_value x rows x features x classes) x strategy factor`` (see
    :class:`CostModel`). Used to weight the progress bar and to order cells; only ratios between cells matter.
    """
    model = DEFAULT_COST_MODEL if model is None else model
    rounds, pool_value = _cell_terms(cell)
    factor = strategy_cost_factor(cell.strategy, cell.committee_size, refit_every=_refit_every(cell), model=model)
    return model.cell + rounds * (model.round + model.pool_value * pool_value) * factor


def fit_cost_model(cells: Sequence[Cell], seconds: Sequence[float], *, n_iterations: int = 300) -> CostModel:
    """Fit a :class:`CostModel` to measured seconds (CPU time) of ``cells``.

    Alternating least squares on the relative error of every cell (so the many short cells weigh as much as
    the few long ones): with the strategy factors fixed, ``cell``, ``round`` and ``pool_value`` are a
    non-negative least-squares fit; with those fixed, each strategy's factor (margin sampling is the unit,
    or the first strategy by name when margin did not run) and the committee members' share have closed
    forms. Starts from every factor at 1.

    Parameters
    ----------
    cells : sequence of Cell
        Cells that ran; stream cells are left out of the fit.
    seconds : sequence of float
        Each cell's measured seconds (> 0), in the same order.
    n_iterations : int, default=300
        Rounds of the alternating fit.
    """
    from scipy.optimize import nnls

    if len(cells) != len(seconds):
        raise InvalidParameterError(
            f"fit_cost_model needs one time per cell. Got {len(cells)} cells and {len(seconds)} times."
        )
    pairs = [(cell, float(value)) for cell, value in zip(cells, seconds, strict=True) if cell.mode == "pool"]
    if not pairs or min(value for _, value in pairs) <= 0:
        raise InvalidParameterError("fit_cost_model needs at least one pool cell, and every time must be > 0.")
    times = np.asarray([value for _, value in pairs])
    terms = np.asarray([_cell_terms(cell) for cell, _ in pairs])  # (rounds, pool value)
    names = [_base_strategy(cell.strategy) for cell, _ in pairs]
    committee = np.asarray([name.startswith(_COMMITTEE_STRATEGIES) for name in names])
    # A committee member's weight in a cell: committee_size x (predictions + fits / refit_every).
    members = np.asarray(
        [cell.committee_size * (1 / 3 + (2 / 3) / _refit_every(cell)) for cell, _ in pairs], dtype=float
    )
    plain = sorted({name for name, is_committee in zip(names, committee, strict=True) if not is_committee})
    unit = "margin" if "margin" in plain else (plain[0] if plain else None)
    factors = dict.fromkeys(plain, 1.0)
    committee_member = DEFAULT_COST_MODEL.committee_member if committee.any() else 0.0
    cell_part = round_part = pool_part = 0.0
    weights = 1.0 / times
    for _ in range(n_iterations):
        factor = np.where(committee, 1.0 + committee_member * members, [factors.get(n, 1.0) for n in names])
        design = np.column_stack([np.ones_like(times), terms[:, 0] * factor, terms[:, 0] * factor * terms[:, 1]])
        design *= weights[:, None]
        scale = design.max(axis=0)
        scale[scale == 0] = 1.0
        solution, _ = nnls(design / scale, np.ones_like(times))
        cell_part, round_part, pool_part = (solution / scale).tolist()
        base = terms[:, 0] * (round_part + pool_part * terms[:, 1])  # a margin round's cost times rounds
        rest = times - cell_part
        for name in plain:
            if name == unit:
                continue
            mask = np.asarray([n == name for n in names])
            x, y, w = base[mask], rest[mask], weights[mask] ** 2
            if (w * x * x).sum() > 0:
                factors[name] = max(0.0, float((w * x * y).sum() / (w * x * x).sum()))
        if committee.any():
            x, y, w = base[committee] * members[committee], rest[committee] - base[committee], weights[committee] ** 2
            if (w * x * x).sum() > 0:
                committee_member = max(0.0, float((w * x * y).sum() / (w * x * x).sum()))
    return CostModel(
        cell=cell_part, round=round_part, pool_value=pool_part, committee_member=committee_member, factors=factors
    )


def schedule_cells(cells: Sequence[Cell], model: CostModel | None = None) -> list[Cell]:
    """Order cells costliest group first, keeping the cells of one (dataset, seed, learner) together.

    The costliest group of each dataset (and learner) comes before all the others, so that the progress
    bar measures every strategy on every dataset early; the other groups follow, costliest first. Within
    a group the costliest cell comes first; ties are broken by group parameters and cell id, so the
    schedule does not depend on the input order. A group's cells then meet in a worker that already holds
    their shared work.
    """
    groups: dict[tuple[str, str, float, int, str], list[tuple[float, str, Cell]]] = defaultdict(list)
    for cell in cells:
        groups[group_key(cell)].append((estimate_cell_cost(cell, model), cell.cell_id, cell))
    ordered = sorted(groups.items(), key=lambda item: (-sum(cost for cost, _, _ in item[1]), item[0]))
    # The costliest group of every dataset (and learner) first, then the rest costliest first: after those
    # few groups the progress bar has measured every strategy on every dataset (RunningCostEstimate), and
    # the cheapest groups still come last.
    probes = {_data_key(members[0][2]): key for key, members in reversed(ordered)}
    first = set(probes.values())
    ordered = [item for item in ordered if item[0] in first] + [item for item in ordered if item[0] not in first]
    return [cell for _, members in ordered for _, _, cell in sorted(members, key=lambda m: (-m[0], m[1]))]


def group_key(cell: Cell) -> tuple[str, str, float, int, str]:
    """Return the group of a cell: its dataset, split, seed and learner.

    Cells of one group share their split, reference fit and difficulty model (:mod:`alsim._shared_work`),
    so they run together and go to a worker together.
    """
    return (cell.dataset, cell.dataset_label or "", cell.test_size, cell.seed, cell.learner)


def _data_key(cell: Cell) -> tuple[str, str, float, str]:
    """Return what a cell's cost depends on besides its strategy and seed: the dataset, split and learner."""
    return (cell.dataset, cell.dataset_label or "", cell.test_size, cell.learner)


class RunningCostEstimate:
    """A run's done and remaining cost in measured seconds, corrected by the cells that have finished.

    The cost model orders cells well but can be far off in scale: on another machine, or for a strategy
    it was not fitted to (a lookahead oracle refits the learner hundreds of times a round, which the
    model's factor of 1 does not know), whose cost does not scale from one dataset to another as the
    model's terms do. A pending cell is weighted by its estimate times the ratio of measured seconds to
    estimated cost over the finished cells of its strategy on its dataset (and learner); without one, of
    its strategy; without one, of all finished cells (the machine's scale). :func:`schedule_cells` runs one
    group of every dataset first and a group holds every strategy, so every ratio is measured early.

    The progress bar shows ``done / (done + remaining)`` and the ETA of :meth:`seconds_left`, which
    assumes the load on the machine stays as it has been since the first cell started.

    Parameters
    ----------
    cells : sequence of Cell
        The cells the run still has to do.
    model : CostModel, optional
        Default :data:`DEFAULT_COST_MODEL`.
    """

    def __init__(self, cells: Sequence[Cell], model: CostModel | None = None) -> None:
        self._estimate = {cell.cell_id: estimate_cell_cost(cell, model) for cell in cells}
        self._kind = {cell.cell_id: (_base_strategy(cell.strategy), _data_key(cell)) for cell in cells}
        # Estimated cost of the pending cells per (strategy, data); (measured seconds, estimated cost) of the
        # finished ones per (strategy, data) and per strategy.
        self._pending: dict[tuple[str, tuple[str, str, float, str]], float] = defaultdict(float)
        for cell_id, estimate in self._estimate.items():
            self._pending[self._kind[cell_id]] += estimate
        self._finished: dict[Any, tuple[float, float]] = {}
        self._work_started: float | None = None
        self.done = 0.0

    def finish(self, cell_id: str, seconds: float | None, at: float | None = None) -> None:
        """Mark a cell finished.

        ``seconds`` is what it took here (None when another run did it); ``at`` is when it finished, on
        the clock :meth:`seconds_left` is asked with (``time.perf_counter``).
        """
        estimate = self._estimate.pop(cell_id, None)
        if estimate is None:
            return
        if seconds is not None and at is not None:
            started = at - seconds
            self._work_started = started if self._work_started is None else min(self._work_started, started)
        kind = self._kind[cell_id]
        self._pending[kind] = max(0.0, self._pending[kind] - estimate)
        if seconds is not None and seconds > 0:
            for key in (kind, kind[0], None):
                measured, estimated = self._finished.get(key, (0.0, 0.0))
                self._finished[key] = (measured + seconds, estimated + estimate)
            self.done += seconds

    def ratio(self, strategy: str, cell: Cell | None = None) -> float:
        """Measured seconds per unit of estimated cost for ``strategy`` (on ``cell``'s data if given).

        From the finished cells of the same strategy on the same data, else of the same strategy, else of
        all (the machine's scale).
        """
        name = _base_strategy(strategy)
        return self._ratio([name, None] if cell is None else [(name, _data_key(cell)), name, None])

    def _ratio(self, keys: Sequence[Any]) -> float:
        for key in keys:
            measured, estimated = self._finished.get(key, (0.0, 0.0))
            if estimated > 0:
                return measured / estimated
        return 1.0

    @property
    def remaining(self) -> float:
        """Expected seconds of the cells not finished yet."""
        return sum(estimate * self._ratio((kind, kind[0], None)) for kind, estimate in self._pending.items())

    def seconds_left(self, now: float) -> float | None:
        """Return the expected wall seconds to the end (``remaining`` at the rate so far), None before a cell.

        The rate counts from the start of the first cell, not from the start of the run: starting the
        workers (importing scikit-learn in each) takes seconds that do not recur, and counting them in the
        rate made the ETA of a short study 80% long at a tenth of its cells.
        """
        if self._work_started is None or self.done <= 0:
            return None
        return self.remaining * max(now - self._work_started, 0.0) / self.done
