"""Live decisions for a labeling session or project: labels so far, cost, learning curve, stopping verdicts.

Also the labels still needed for a target, from the project's own curve.

Everything here uses the labels people gave and nothing else: the learning curve is cross-validated
accuracy on the labeled rows (as labeled up to each round), and only the stopping rules that need no test
labels are asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from alsim.exceptions import AlsimError

if TYPE_CHECKING:
    from alsim.budget.curves import LabelsToTarget
    from alsim.labeling.project import LabelingProject
    from alsim.session import LabelingSession

__all__ = ["DEFAULT_STOPPING_RULE", "learning_curve", "project_status", "session_status"]

#: The stopping rule ``status`` reports first unless the project names another. Chosen by ``alsim stopping``
#: (lowest mean regret among the rules that need no test labels; see the README's labeling section for the
#: run and the command that reproduces it).
DEFAULT_STOPPING_RULE = "classification_change"


def learning_curve(session: LabelingSession, rounds: np.ndarray) -> pl.DataFrame:
    """Cross-validated accuracy of the session's learner on the rows labeled up to each distinct round.

    ``rounds`` holds the round of each label in the session's labeled set (same order as
    :meth:`LabelingSession.labeled_set`).
    """
    from alsim._engine import cv_accuracy

    rows, codes = session.labeled_set()
    points = []
    for round_index in np.unique(rounds).tolist():
        upto = rounds <= round_index
        if upto.sum() < 4:
            continue
        accuracy = cv_accuracy(
            session.learner,
            np.asarray(session.X_pool[rows[upto]], dtype=np.float64),
            codes[upto],
            session.streams.learner_seed,
        )
        points.append((int(round_index), int(upto.sum()), accuracy))
    return pl.DataFrame(
        points, schema={"round": pl.Int64, "n_labeled": pl.Int64, "cv_accuracy": pl.Float64}, orient="row"
    )


def _stopping_verdicts(history: pl.DataFrame, default_rule: str, rules: Sequence[Any] | None) -> list[dict[str, Any]]:
    from alsim.stopping import available_rules, make_rule

    if rules is None:
        names = [default_rule] + [name for name in available_rules() if name != default_rule]
        candidates = [make_rule(name) for name in names]
    else:
        candidates = [make_rule(rule) for rule in rules]
    verdicts = []
    for rule in candidates:
        if rule.uses_test_labels or rule.name.endswith("_budget"):
            continue
        try:
            stop = rule.stop_round(history) if history.height else None
            note = "stop" if stop is not None else "continue"
        except AlsimError as exc:
            stop, note = None, f"not enough signal yet ({str(exc).split(':')[0]})"
        verdicts.append(
            {"rule": rule.name, "default": rule.name == default_rule, "stop_after_round": stop, "verdict": note}
        )
    return verdicts


def _labels_to_target(n_labeled: np.ndarray, accuracy: np.ndarray, target: float, n_max: float) -> LabelsToTarget:
    """Labels at which the project's curve reaches ``target``, with the budget method's calibrated intervals.

    Read off the curve where it already reaches the target; beyond it, extrapolated and calibrated exactly as
    ``alsim budget`` does (:func:`alsim.budget.curves.bootstrap_labels_to_target` on the one real curve).
    ``inf`` labels: not reached within ``n_max``.
    """
    from alsim.budget.curves import bootstrap_labels_to_target

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bootstrap_labels_to_target(n_labeled, accuracy[np.newaxis, :], target, n_max=n_max, n_boot=1)


def _budget(curve: pl.DataFrame, target: float | None, n_rows: int) -> dict[str, Any] | None:
    from alsim.budget.answer import format_interval

    if target is None:
        return None
    points = curve.drop_nulls("cv_accuracy")
    if points.height < 3:
        return {
            "target": target,
            "labels_needed": None,
            "note": f"needs the cross-validated accuracy of at least 3 rounds (has {points.height})",
        }
    n_labeled = points["n_labeled"].to_numpy().astype(np.float64)
    try:
        estimate = _labels_to_target(
            n_labeled, points["cv_accuracy"].to_numpy(), target, float(max(n_rows, n_labeled[-1]))
        )
    except AlsimError as exc:
        return {"target": target, "labels_needed": None, "note": str(exc)}
    needed = estimate.median
    reachable = bool(np.isfinite(needed))

    def count(value: float) -> int | None:
        # Rounded as alsim budget's answer rounds them (format_count), so the numbers and the note agree.
        return round(value) if np.isfinite(value) else None

    return {
        "target": target,
        "labels_needed": count(needed),
        "labels_to_go": max(0, round(needed) - int(n_labeled[-1])) if reachable else None,
        "labels_80": [count(v) for v in estimate.interval_80],
        "p_out_of_reach": estimate.p_unreachable,
        "asymptote": estimate.model.asymptote,
        "note": (
            f"extrapolated from the cross-validated learning curve (80% interval "
            f"{format_interval(*estimate.interval_80)}; out of reach within the pool with probability "
            f"{estimate.p_unreachable:.0%})"
            if reachable and estimate.calibrated
            else "reached"
            if reachable
            else f"the extrapolated curve does not reach it within the pool ({n_rows} rows); "
            f"out of reach with probability {estimate.p_unreachable:.0%}"
        ),
    }


def session_status(
    session: LabelingSession,
    *,
    rules: Sequence[Any] | None = None,
    default_rule: str = DEFAULT_STOPPING_RULE,
    target: float | None = None,
) -> dict[str, Any]:
    """Status of an in-memory session (see :meth:`LabelingSession.status`)."""
    provenance = session.provenance()
    rows, _ = session.labeled_set()
    first_round = provenance.group_by("row_id", maintain_order=True).agg(pl.col("round").first())
    round_of = dict(zip(first_round["row_id"].to_list(), first_round["round"].to_list(), strict=True))
    rounds = np.array([round_of[key] for key in session.row_ids(rows)], dtype=np.int64)
    curve = learning_curve(session, rounds)
    history = session.history()
    return _assemble(session, provenance, curve, history, rules, default_rule, target)


def _assemble(
    session: LabelingSession,
    provenance: pl.DataFrame,
    curve: pl.DataFrame,
    history: pl.DataFrame,
    rules: Sequence[Any] | None,
    default_rule: str,
    target: float | None,
) -> dict[str, Any]:
    _, codes = session.labeled_set()
    if history.height and curve.height:
        history = history.drop("labeled_cv_accuracy", strict=False).join(
            curve.select("n_labeled", pl.col("cv_accuracy").alias("labeled_cv_accuracy")), on="n_labeled", how="left"
        )
    counts = np.bincount(codes, minlength=session.n_classes) if codes.size else np.zeros(session.n_classes, int)
    return {
        "n_rows": session.n_pool,
        "n_labeled": int(session.n_labeled),
        "n_labels_given": int(provenance.height),
        "cost": float(provenance["cost"].sum()) if provenance.height else 0.0,
        "class_counts": {str(c): int(n) for c, n in zip(session.classes, counts.tolist(), strict=True)},
        "annotators": provenance["annotator"].unique(maintain_order=True).to_list() if provenance.height else [],
        "disagreements": session.disagreements().height,
        "resolution": session.resolution,
        "learning_curve": curve.to_dicts(),
        "stopping": _stopping_verdicts(history, default_rule, rules),
        "budget": _budget(curve, target, session.n_pool),
    }


def project_status(
    project: LabelingProject, *, rules: Sequence[Any] | None = None, target: float | None = None
) -> dict[str, Any]:
    """Status of a labeling project: :func:`session_status` plus reservations and batches."""
    session = project.session()
    labels = project.label_table()
    rows, _ = session.labeled_set()
    first_round = labels.group_by("row_id", maintain_order=True).agg(pl.col("round").first())
    round_of = dict(zip(first_round["row_id"].to_list(), first_round["round"].to_list(), strict=True))
    ids = project.row_ids
    rounds = np.array([round_of[ids[p]] for p in rows.tolist()], dtype=np.int64)
    curve = learning_curve(session, rounds)
    default_rule = project.settings.get("stopping_rule") or DEFAULT_STOPPING_RULE
    status = _assemble(session, session.provenance(), curve, project.history(), rules, default_rule, target)
    reserved, batches = project._db.execute(
        "SELECT (SELECT COUNT(*) FROM reservations), (SELECT COUNT(*) FROM batches)"
    ).fetchone()
    status.update(
        {
            "project": str(project.path),
            "project_id": project.project_id,
            "strategy": project.settings["strategy"],
            "learner": project.settings["learner"],
            "reserved": int(reserved),
            "batches": int(batches),
        }
    )
    return status


def format_status(status: dict[str, Any]) -> str:
    """Format the status in a few lines for the terminal."""
    lines = [
        f"{status.get('project', 'session')}: {status['n_labeled']} of {status['n_rows']} rows labeled "
        f"({status['n_labels_given']} labels from {len(status['annotators'])} annotator(s)), cost {status['cost']:g}",
        "classes: " + ", ".join(f"{c} {n}" for c, n in status["class_counts"].items()),
    ]
    if "reserved" in status:
        lines.append(f"batches handed out: {status['batches']}; rows reserved (out for labeling): {status['reserved']}")
    if status["disagreements"]:
        lines.append(
            f"rows with disagreeing annotators: {status['disagreements']} (resolution: {status['resolution']})"
        )
    curve = [p for p in status["learning_curve"] if p["cv_accuracy"] is not None]
    if curve:
        lines.append(
            "learning curve (cross-validated accuracy on the labeled rows): "
            + ", ".join(f"{p['n_labeled']} labels {p['cv_accuracy']:.3f}" for p in curve)
        )
    lines.extend(
        f"stopping rule {verdict['rule']} (default): {verdict['verdict']}"
        + (f" after round {verdict['stop_after_round']}" if verdict["stop_after_round"] is not None else "")
        for verdict in status["stopping"]
        if verdict["default"]
    )
    others = [v for v in status["stopping"] if not v["default"] and v["verdict"] == "stop"]
    if others:
        lines.append("other rules that would stop: " + ", ".join(v["rule"] for v in others))
    budget = status.get("budget")
    if budget:
        needed = budget["labels_needed"]
        lines.append(
            f"labels to reach {budget['target']:g}: "
            + (f"~{needed}, {budget['labels_to_go']} more ({budget['note']})" if needed is not None else budget["note"])
        )
    return "\n".join(lines)
