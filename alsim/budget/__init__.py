"""Labeling-budget estimation: labels and money to reach a target, per strategy, and how sure that is.

>>> from alsim.budget import estimate_budget
>>> estimate = estimate_budget("openml:37", target=0.74, n_seeds=5)  # doctest: +SKIP
>>> print(estimate.answer())  # doctest: +SKIP
"""

from __future__ import annotations

from alsim.budget.answer import BudgetEstimate, StrategyEstimate, plain_answer
from alsim.budget.curves import (
    CURVE_FAMILIES,
    LabelsToTarget,
    LearningCurveModel,
    bootstrap_labels_to_target,
    fit_learning_curve,
)
from alsim.budget.estimate import DEFAULT_STRATEGIES, estimate_budget, simulate_with_row_costs
from alsim.budget.report import plot_budget, write_budget_report

__all__ = [
    "CURVE_FAMILIES",
    "DEFAULT_STRATEGIES",
    "BudgetEstimate",
    "LabelsToTarget",
    "LearningCurveModel",
    "StrategyEstimate",
    "bootstrap_labels_to_target",
    "estimate_budget",
    "fit_learning_curve",
    "plain_answer",
    "plot_budget",
    "simulate_with_row_costs",
    "write_budget_report",
]
