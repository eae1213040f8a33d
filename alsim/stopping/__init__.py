"""Stopping rules for active learning, and what each one costs you.

Rules from the literature are evaluated after the fact on the recorded rounds of a simulated run (see
``alsim.simulate``), so one simulation scores every rule; :func:`score_rules` prices each rule's stop with
the total-cost model of Pullar-Strecker et al. (2023), :func:`summarize_scores` compares them on the
runs they can all read (:func:`inapplicable_rules` lists where a rule does not apply), and
:func:`winner_map` / :func:`plot_winner_map` show which rule wins across label and error costs.

Examples
--------
>>> import polars as pl
>>> from alsim.stopping import StabilizingPredictions
>>> records = pl.DataFrame({"round": [0, 1, 2, 3], "stop_set_predictions": [[0, 1, 1, 2]] * 4})
>>> StabilizingPredictions().stop_round(records)
3
"""

from __future__ import annotations

from alsim.stopping._agreement import predicted_change_of_f, successive_kappa
from alsim.stopping._base import StoppingRule, available_rules, make_rule, register_rule
from alsim.stopping._io import load_runs
from alsim.stopping.rules import (
    ClassificationChange,
    ConfidenceVariance,
    CostBudget,
    LabelBudget,
    MarginalGainPerLabel,
    MaxConfidence,
    MinExpectedError,
    OracleOptimalStop,
    OverallUncertainty,
    PerformanceConvergence,
    PoolShareBudget,
    PredictedChangeOfF,
    SelectedAccuracy,
    StabilizingPredictions,
    TargetAccuracy,
    UncertaintyConvergence,
)
from alsim.stopping.scoring import (
    RUN_COLUMNS,
    default_rules,
    inapplicable_rules,
    plot_winner_map,
    resolve_rules,
    score_rules,
    summarize_scores,
    total_cost,
    winner_map,
)

__all__ = [
    "RUN_COLUMNS",
    "ClassificationChange",
    "ConfidenceVariance",
    "CostBudget",
    "LabelBudget",
    "MarginalGainPerLabel",
    "MaxConfidence",
    "MinExpectedError",
    "OracleOptimalStop",
    "OverallUncertainty",
    "PerformanceConvergence",
    "PoolShareBudget",
    "PredictedChangeOfF",
    "SelectedAccuracy",
    "StabilizingPredictions",
    "StoppingRule",
    "TargetAccuracy",
    "UncertaintyConvergence",
    "available_rules",
    "default_rules",
    "inapplicable_rules",
    "load_runs",
    "make_rule",
    "plot_winner_map",
    "predicted_change_of_f",
    "register_rule",
    "resolve_rules",
    "score_rules",
    "successive_kappa",
    "summarize_scores",
    "total_cost",
    "winner_map",
]
