"""Batch files for annotation tools, and the labels that come back from them.

Each format writes a batch the way its tool imports tasks and reads labels the way the tool exports them:

* ``labelstudio``: Label Studio's task JSON (``[{"data": {...}, "predictions": [...]}]``) for a project with
  a single-choice ``Choices`` tag named ``label`` on a ``Text`` tag named ``text`` (:func:`label_studio_config`);
  labels come back from its JSON export (tasks with ``annotations``, each with ``result`` choices).
* ``argilla``: Argilla 2.x records as ``Dataset.records.to_list(flatten=False)`` / ``to_json`` give them
  (``fields``, ``metadata``, ``suggestions``; labels in ``responses[<question>]`` with ``status`` submitted),
  for a dataset with a ``TextField`` ``text`` and a ``LabelQuestion`` ``label``.
* ``prodigy``: Prodigy's JSONL tasks for the ``choice`` interface (``text``, ``options``, ``meta``); labels
  come back from ``prodigy db-out`` (``accept`` with the chosen option ids and ``answer``, or a binary
  ``label`` with ``answer`` accept), with ``_annotator_id`` and ``_timestamp``.
* ``csv``: one row per task for spreadsheets; fill the ``label`` column (and ``annotator``) and import it.

Every task carries the project id and the row id, so a file from another project is refused and every
label finds its row.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alsim.exceptions import InvalidInputError, InvalidParameterError

if TYPE_CHECKING:
    from alsim.labeling.project import LabelingProject, LabelRecord
    from alsim.session import Batch

__all__ = ["FORMATS", "label_studio_config", "read_labels", "write_batch"]

#: Batch formats and the file suffix each writes.
FORMATS: dict[str, str] = {"csv": ".csv", "labelstudio": ".json", "argilla": ".json", "prodigy": ".jsonl"}

#: Names of the tag/field/question that hold the text and the label in the tools' projects.
TEXT_NAME, LABEL_NAME = "text", "label"

CSV_COLUMNS = (
    "row_id",
    "text",
    "label",
    "annotator",
    "predicted",
    "confidence",
    "score",
    "reason",
    "alsim_project",
    "alsim_batch",
)


def label_studio_config(classes: list[str]) -> str:
    """Label Studio labeling config of a single-choice text classification project over ``classes``."""
    from xml.sax.saxutils import quoteattr

    choices = "".join(f"<Choice value={quoteattr(str(c))}/>" for c in classes)
    return (
        f'<View><Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>'
        f'<Choices name="{LABEL_NAME}" toName="{TEXT_NAME}" choice="single" showInline="true">{choices}</Choices>'
        "</View>"
    )


def _tasks(project: LabelingProject, batch: Batch, batch_id: int, predicted: list[str | None]) -> list[dict[str, Any]]:
    texts = project.texts
    ids = project.row_ids
    tasks = []
    for rank, position in enumerate(batch.rows.tolist()):
        text = texts[position]
        tasks.append(
            {
                "row_id": ids[position],
                "text": text if text is not None else f"row {ids[position]}",
                "predicted": predicted[rank],
                "confidence": None
                if batch.confidence[rank] != batch.confidence[rank]
                else float(batch.confidence[rank]),
                "score": None if batch.scores is None else float(batch.scores[rank]),
                "reason": batch.reasons[rank],
                "alsim_project": project.project_id,
                "alsim_batch": batch_id,
            }
        )
    return tasks


def write_batch(
    project: LabelingProject,
    batch: Batch,
    batch_id: int,
    target: Path,
    format: str,
    classes: list[str],
    predicted: list[str | None],
) -> None:
    """Write ``batch`` to ``target`` in ``format`` (written to a temporary name, then renamed)."""
    tasks = _tasks(project, batch, batch_id, predicted)
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for task in tasks:
            writer.writerow({**task, "label": "", "annotator": ""})
        text = buffer.getvalue()
    elif format == "labelstudio":
        text = json.dumps([_label_studio_task(task) for task in tasks], indent=1)
    elif format == "argilla":
        text = json.dumps([_argilla_record(task) for task in tasks], indent=1)
    elif format == "prodigy":
        text = "".join(json.dumps(_prodigy_task(task, classes)) + "\n" for task in tasks)
    else:
        raise InvalidParameterError(
            f"The 'format' parameter (--format) must be one of {list(FORMATS)}. Got {format!r}."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


def _meta(task: dict[str, Any]) -> dict[str, Any]:
    return {key: task[key] for key in ("row_id", "alsim_project", "alsim_batch", "score", "reason")}


def _label_studio_task(task: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"data": {TEXT_NAME: task["text"], **_meta(task)}}
    if task["predicted"] is not None:
        entry["predictions"] = [
            {
                "model_version": "alsim",
                "score": task["confidence"],
                "result": [
                    {
                        "from_name": LABEL_NAME,
                        "to_name": TEXT_NAME,
                        "type": "choices",
                        "value": {"choices": [task["predicted"]]},
                    }
                ],
            }
        ]
    return entry


def _argilla_record(task: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": str(task["row_id"]),
        "fields": {TEXT_NAME: task["text"]},
        "metadata": _meta(task),
        "responses": {},
        "suggestions": {},
        "vectors": {},
        "status": "pending",
    }
    if task["predicted"] is not None:
        record["suggestions"][LABEL_NAME] = {"value": task["predicted"], "score": task["confidence"], "agent": "alsim"}
    return record


def _prodigy_task(task: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    return {
        "text": task["text"],
        "options": [{"id": str(c), "text": str(c)} for c in classes],
        "meta": _meta(task),
    }


# -- reading labels -----------------------------------------------------------------------------------
def detect_format(path: Path, content: bytes) -> str:
    """Detect the format of a label file from its suffix and content."""
    name = path.name.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".jsonl"):
        return "prodigy"
    if name.endswith(".json"):
        data = _json(path, content)
        first = data[0] if isinstance(data, list) and data else {}
        if isinstance(first, dict) and ("annotations" in first or "data" in first):
            return "labelstudio"
        if isinstance(first, dict) and ("responses" in first or "fields" in first):
            return "argilla"
        if isinstance(data, list) and not data:
            return "labelstudio"
    raise InvalidInputError(
        f"Cannot tell the format of {path}: give --format (one of {list(FORMATS)}); alsim reads Label Studio and "
        "Argilla JSON exports, Prodigy JSONL (db-out) and CSV."
    )


def _json(path: Path, content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}.") from exc


def read_labels(path: Path, content: bytes, format: str | None, classes: list[str]) -> tuple[list[LabelRecord], str]:
    """Read the labels in a file exported by an annotation tool; return them and the format read."""
    fmt = detect_format(path, content) if format is None else format
    if fmt not in FORMATS:
        raise InvalidParameterError(f"The 'format' parameter (--format) must be one of {list(FORMATS)}. Got {fmt!r}.")
    if fmt == "csv":
        return _read_csv(path, content), fmt
    if fmt == "prodigy":
        lines = []
        for number, line in enumerate(content.decode("utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InvalidInputError(f"{path}, line {number}: not valid JSON: {exc}.") from exc
        return _read_prodigy(path, lines, classes), fmt
    data = _json(path, content)
    if not isinstance(data, list):
        raise InvalidInputError(f"{path}: expected a JSON list of {fmt} records.")
    return (_read_label_studio(path, data) if fmt == "labelstudio" else _read_argilla(path, data)), fmt


def _record(**kwargs: Any) -> LabelRecord:
    from alsim.labeling.project import LabelRecord

    return LabelRecord(**kwargs)


def _timestamp(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _read_csv(path: Path, content: bytes) -> list[LabelRecord]:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    if reader.fieldnames is None or "row_id" not in reader.fieldnames or "label" not in reader.fieldnames:
        raise InvalidInputError(
            f"{path}: a CSV of labels needs the columns 'row_id' and 'label' (as in the batch files of "
            f"'alsim label next --format csv'); found {reader.fieldnames}."
        )
    records = []
    for row in reader:
        label = (row.get("label") or "").strip()
        if not label:
            continue
        records.append(
            _record(
                row_id=row["row_id"],
                label=label,
                annotator=(row.get("annotator") or "").strip() or "csv",
                at=_timestamp(row.get("labeled_at")),
                cost=float(row.get("cost") or 1.0),
                source_key=None,
                project_id=(row.get("alsim_project") or None),
            )
        )
    return records


def _read_label_studio(path: Path, tasks: list[Any]) -> list[LabelRecord]:
    records = []
    for task in tasks:
        data = task.get("data", {}) if isinstance(task, dict) else {}
        if "row_id" not in data:
            raise InvalidInputError(
                f"{path}: a Label Studio task (id {task.get('id') if isinstance(task, dict) else '?'}) has no "
                "data.row_id; only tasks made by 'alsim label next' can be imported."
            )
        for annotation in task.get("annotations", []) or []:
            if annotation.get("was_cancelled"):
                continue
            choices = [
                item.get("value", {}).get("choices")
                for item in annotation.get("result", [])
                if item.get("from_name") == LABEL_NAME and item.get("type") == "choices"
            ]
            choices = [c for c in choices if c]
            if not choices:
                continue
            who = annotation.get("completed_by")
            if isinstance(who, dict):
                who = who.get("email") or who.get("id")
            updated = annotation.get("updated_at") or annotation.get("created_at")
            records.append(
                _record(
                    row_id=data["row_id"],
                    label=str(choices[0][0]),
                    annotator=f"labelstudio:{who}",
                    at=_timestamp(updated),
                    cost=1.0,
                    source_key=f"labelstudio:{data.get('alsim_project')}:{annotation.get('id')}:{updated}",
                    project_id=data.get("alsim_project"),
                )
            )
    return records


def _read_argilla(path: Path, items: list[Any]) -> list[LabelRecord]:
    records = []
    for item in items:
        metadata = item.get("metadata") or {}
        row_id = metadata.get("row_id", item.get("id"))
        responses = (item.get("responses") or {}).get(LABEL_NAME) or []
        for response in responses:
            if response.get("status", "submitted") != "submitted" or response.get("value") in (None, ""):
                continue
            value = response["value"]
            user = response.get("user_id") or "argilla"
            records.append(
                _record(
                    row_id=row_id,
                    label=str(value),
                    annotator=f"argilla:{user}",
                    at=_timestamp(response.get("updated_at")),
                    cost=1.0,
                    source_key=f"argilla:{metadata.get('alsim_project')}:{item.get('id')}:{user}:{value}",
                    project_id=metadata.get("alsim_project"),
                )
            )
    return records


def _read_prodigy(path: Path, examples: list[Any], classes: list[str]) -> list[LabelRecord]:
    records = []
    for number, example in enumerate(examples, start=1):
        meta = example.get("meta") or {}
        if "row_id" not in meta:
            raise InvalidInputError(
                f"{path}, line {number}: the example has no meta.row_id; only tasks made by "
                "'alsim label next' can be imported."
            )
        if example.get("answer") != "accept":
            continue
        if example.get("accept"):
            label = str(example["accept"][0])
        elif example.get("label"):
            label = str(example["label"])
        else:
            continue
        annotator = example.get("_annotator_id") or example.get("_session_id") or "prodigy"
        stamp = example.get("_timestamp")
        records.append(
            _record(
                row_id=meta["row_id"],
                label=label,
                annotator=f"prodigy:{annotator}",
                at=_timestamp(stamp),
                cost=1.0,
                source_key=f"prodigy:{meta.get('alsim_project')}:{example.get('_task_hash')}:{annotator}:{stamp}:{label}",
                project_id=meta.get("alsim_project"),
            )
        )
    return records
