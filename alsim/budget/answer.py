"""The budget answer: what :func:`alsim.budget.estimate_budget` returns, and its plain-language text.

These types sit below both the estimation (:mod:`alsim.budget.estimate`) and the reports
(:mod:`alsim.budget.report`), so imports flow one way: ``answer <- estimate``, ``answer <- report``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from alsim.budget.curves import LabelsToTarget
from alsim.exceptions import InvalidParameterError

__all__ = ["BudgetEstimate", "StrategyEstimate", "format_count", "format_interval", "format_money", "plain_answer"]


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


@dataclass(frozen=True)
class StrategyEstimate:
    """Labels and money one strategy needs to reach the target.

    The money is the recorded labeling cost along the strategy's runs at the label counts of the estimate
    (see :func:`alsim.budget.estimate_budget`), so with per-row costs it is the real sum of the rows the
    strategy chose, not labels times a mean. ``cost_per_label`` is the mean money per label of the labeled
    rows; ``inf`` marks "not reached".
    """

    strategy: str
    labels: LabelsToTarget
    cost_per_label: float
    savings_labels: float | None
    savings_share: float | None
    median_cost: float
    cost_interval_80: tuple[float, float]
    cost_interval_95: tuple[float, float]
    savings_cost: float | None = None
    savings_cost_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-able values (infinite bounds become None)."""
        labels = self.labels
        return {
            "strategy": self.strategy,
            "labels_median": _finite(labels.median),
            "labels_80": [_finite(v) for v in labels.interval_80],
            "labels_95": [_finite(v) for v in labels.interval_95],
            "cost_median": _finite(self.median_cost),
            "cost_80": [_finite(v) for v in self.cost_interval_80],
            "cost_95": [_finite(v) for v in self.cost_interval_95],
            "p_unreachable": labels.p_unreachable,
            "extrapolated": labels.extrapolated,
            "p_extrapolated": labels.p_extrapolated,
            "asymptote": labels.model.asymptote,
            "curve_families": dict(zip(labels.model.families, labels.model.weights, strict=True)),
            "savings_labels_vs_random": self.savings_labels,
            "savings_share_vs_random": self.savings_share,
            "savings_cost_vs_random": self.savings_cost,
            "savings_cost_share_vs_random": self.savings_cost_share,
        }


@dataclass(frozen=True)
class BudgetEstimate:
    """The answer to "how many labels and how much money to reach the target", per strategy.

    ``warnings`` are what a reader must not miss (a trivial target); ``to_dict`` lists them first among the
    ``notes`` too, so readers of the JSON notes see them.
    """

    data: str
    metric: str
    target: float
    target_description: str
    n_available: int
    n_pool: int
    seeds: int
    estimates: tuple[StrategyEstimate, ...]
    recommended: str | None
    stopping_rule: str | None
    stopping_summary: pl.DataFrame | None
    curves: pl.DataFrame
    cost_note: str
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())
    majority_class_rate: float | None = None
    initial_score: float | None = None
    cost_column: str | None = None

    def estimate(self, strategy: str) -> StrategyEstimate:
        """Return the estimate of ``strategy``; InvalidParameterError if it was not estimated."""
        for estimate in self.estimates:
            if estimate.strategy == strategy:
                return estimate
        raise InvalidParameterError(
            f"No estimate for strategy {strategy!r}; estimated: {[e.strategy for e in self.estimates]}."
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the whole estimate as JSON-able values (what ``alsim budget --json`` prints)."""
        return {
            "data": self.data,
            "metric": self.metric,
            "target": self.target,
            "target_description": self.target_description,
            "labeled_rows_available": self.n_available,
            "simulated_pool_size": self.n_pool,
            "seeds": self.seeds,
            "recommended_strategy": self.recommended,
            "recommended_stopping_rule": self.stopping_rule,
            "cost_note": self.cost_note,
            "cost_column": self.cost_column,
            "notes": [*self.warnings, *self.notes],
            "warnings": list(self.warnings),
            "trivial_target": bool(self.warnings),
            "majority_class_rate": self.majority_class_rate,
            "initial_set_score": self.initial_score,
            "strategies": [e.to_dict() for e in self.estimates],
        }

    def answer(self) -> str:
        """Return a short plain-language answer."""
        return plain_answer(self)


def format_count(value: float) -> str:
    """Format a label count for people; ``inf`` (not reached by the largest count considered) is "unbounded"."""
    return "unbounded" if math.isinf(value) else f"{value:,.0f}"


def format_money(value: float) -> str:
    """Format a sum of money for people; ``inf`` is "unbounded"."""
    return "unbounded" if math.isinf(value) else f"{value:,.2f}"


def format_interval(low: float, high: float, *, money: bool = False) -> str:
    """``"120 - 340"``; an open upper end reads ``"120 - unbounded"``."""
    fmt = format_money if money else format_count
    return f"{fmt(low)} - {fmt(high)}"


def plain_answer(estimate: BudgetEstimate) -> str:
    """Return a few sentences a team lead can act on (warnings first)."""
    lines = [f"Target: {estimate.target_description} on {estimate.data} ({estimate.cost_note})."]
    lines.extend(f"Warning: {warning}" for warning in estimate.warnings)
    if estimate.recommended is None:
        lines.append("No candidate strategy is likely to reach it.")
    else:
        best = estimate.estimate(estimate.recommended)
        lab = best.labels
        lines.append(
            f"Use {best.strategy}: about {format_count(lab.median)} labels (80% interval "
            f"{format_interval(*lab.interval_80)}; 95% {format_interval(*lab.interval_95)}), costing about "
            f"{format_money(best.median_cost)} (80% interval {format_interval(*best.cost_interval_80, money=True)})."
        )
        if best.savings_labels is not None and best.savings_share is not None:
            lines.append(
                f"That saves about {best.savings_labels:,.0f} labels ({best.savings_share:.0%}) against random "
                f"sampling, which needs about {format_count(estimate.estimate('random').labels.median)}."
            )
        if estimate.cost_column is not None and best.savings_cost is not None and best.savings_cost_share is not None:
            lines.append(
                f"In money it saves about {format_money(best.savings_cost)} ({best.savings_cost_share:.0%}) against "
                f"random sampling, which costs about {format_money(estimate.estimate('random').median_cost)}."
            )
        if lab.extrapolated:
            lines.append(
                f"This lies beyond the {lab.n_observed_max:,.0f} labels that could be simulated: it is extrapolated "
                "from fitted learning curves."
            )
    if estimate.stopping_rule is not None:
        lines.append(f"Stopping rule that stopped closest to the optimum on these runs: {estimate.stopping_rule}.")
    lines.extend(estimate.notes)
    return "\n".join(lines)
