"""Labeling for real: the session verbs, your own pool, the SQLite project (crash safety, reservations,
idempotent imports), the annotation-tool formats and the labels that come back."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from alsim.cli import main
from alsim.exceptions import DatasetError, InvalidInputError
from alsim.labeling import LabelingProject, init_project, load_pool
from alsim.labeling.formats import FORMATS
from alsim.session import LabelingSession

CLASSES = ("billing", "bug", "feature")
TOPICS = {
    "billing": "invoice payment charge refund card bill",
    "bug": "crash error broken fails exception screen",
    "feature": "please add option would like support request",
}
FILLER = ["the", "a", "my", "our", "it", "when", "then", "and", "with", "this", "app", "account"]
REPO = Path(__file__).resolve().parents[1]


def truth(row_id: str) -> str:
    return CLASSES[int(row_id[1:]) % 3]


def write_tickets(path: Path, n: int = 300, labeled_every: int = 50, seed: int = 0) -> Path:
    """A support-ticket table: id, free text, and a category filled in on every ``labeled_every``-th row."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        topic = CLASSES[i % 3]
        words = list(rng.choice(TOPICS[topic].split(), 4)) + list(rng.choice(FILLER, 5))
        rng.shuffle(words)
        rows.append(
            {"ticket_id": f"T{i:05d}", "text": " ".join(words), "category": topic if i % labeled_every == 0 else None}
        )
    frame = pl.DataFrame(rows, schema={"ticket_id": pl.String, "text": pl.String, "category": pl.String})
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path


@pytest.fixture
def project(tmp_path: Path) -> LabelingProject:
    table = write_tickets(tmp_path / "tickets.csv")
    init_project(table, tmp_path / "project", id="ticket_id", label="category").close()
    opened = LabelingProject(tmp_path / "project")
    yield opened
    opened.close()


def answer_csv(batch_file: Path, out: Path, annotator: str = "ann", wrong: bool = False) -> Path:
    frame = pl.read_csv(batch_file, infer_schema_length=0)
    labels = [CLASSES[(CLASSES.index(truth(r)) + 1) % 3] if wrong else truth(r) for r in frame["row_id"]]
    frame.with_columns(pl.Series("label", labels), pl.lit(annotator).alias("annotator")).write_csv(out)
    return out


# -- the session ---------------------------------------------------------------------------------------
def _blobs(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return rng.normal(size=(n, 5)) + 3.0 * np.eye(3, 5)[y], y


def test_session_verbs_give_batches_with_scores_reasons_and_provenance() -> None:
    X, y = _blobs()
    session = LabelingSession(X, classes=["a", "b", "c"], strategy="entropy", random_state=1)
    first = session.next_batch(12)
    assert first.round == 0 and first.scores is None and "cold start" in first.reasons[0]
    session.teach(first.rows, [["a", "b", "c"][c] for c in y[first.rows]], annotator="alice", costs=2.0)
    session.fit()
    for _ in range(3):
        session.record_round(batch_cost=0.0)
        batch = session.next_batch(8)
        assert len(set(batch.rows.tolist())) == 8 and not set(batch.rows.tolist()) & set(
            session.labeled_set()[0].tolist()
        )
        assert batch.scores is not None and np.all(np.diff(batch.scores) <= 0)  # most wanted first
        assert all("entropy pick" in reason and "model says" in reason for reason in batch.reasons)
        session.teach(batch.row_ids, [["a", "b", "c"][c] for c in y[batch.rows]], annotator="bob", by="id")
        session.fit()
    provenance = session.provenance()
    assert provenance.height == 12 + 24
    assert provenance["round"].to_list() == [0] * 12 + [1] * 8 + [2] * 8 + [3] * 8
    assert provenance.filter(pl.col("annotator") == "alice")["cost"].unique().to_list() == [2.0]
    session.record_round(batch_cost=0.0)
    status = session.status(target=0.9)
    assert status["n_labeled"] == 36 and status["cost"] == 12 * 2.0 + 24
    assert [p["n_labeled"] for p in status["learning_curve"]] == [12, 20, 28, 36]
    assert any(v["default"] for v in status["stopping"])
    assert status["budget"]["target"] == 0.9


def test_session_with_the_same_seed_picks_what_simulate_picks() -> None:
    """A simulation is a session whose annotator is the oracle: the same seed gives the same batches."""
    import alsim
    from alsim.datasets import load_dataset, split_dataset
    from alsim.session import run_streams

    split = split_dataset(load_dataset("openml:61"), test_size=0.3, random_state=3)
    result = alsim.simulate(split, strategy="margin", batch_size=5, initial_size=6, label_budget=21, random_state=3)
    X, y = np.ascontiguousarray(split.X_pool, dtype=np.float64), split.y_pool
    session = LabelingSession(X, classes=list(split.classes), strategy="margin", random_state=3)
    initial = run_streams(3).initial.choice(X.shape[0], size=6, replace=False)
    picked = [initial.tolist()]
    session.teach_codes(initial, y[initial])
    for _ in range(3):
        session.fit()
        batch = session.next_batch(5)
        picked.append(batch.rows.tolist())
        session.teach_codes(batch.rows, y[batch.rows])
    assert picked == result.records["selected"].to_list()


@pytest.mark.parametrize(
    ("policy", "expected", "after_tie"),
    [
        ("majority", "b", "a"),  # a tie goes to the newest of the tied labels
        ("newest", "a", "a"),
        ("review", "b", None),  # a tie stays out of training until someone breaks it
    ],
)
def test_disagreeing_annotators_are_all_kept_and_resolved_by_policy(
    policy: str, expected: str, after_tie: str | None
) -> None:
    X, _ = _blobs(50)
    session = LabelingSession(X, classes=["a", "b"], resolution=policy)

    def training_label() -> str | None:
        rows, codes = session.labeled_set()
        return session.classes[codes[rows.tolist().index(0)]] if 0 in rows.tolist() else None

    session.teach([0, 1, 2, 3], ["b", "b", "a", "b"], annotator="x")
    session.teach([0], ["b"], annotator="y")
    session.teach([0], ["a"], annotator="z")
    assert training_label() == expected
    session.teach([0], ["a"], annotator="w")
    assert training_label() == after_tie
    table = session.disagreements()
    assert table["row_id"].to_list() == [0] and table["labels"].to_list() == [["b", "b", "a", "a"]]
    assert session.provenance().height == 7  # nothing dropped


def test_an_annotator_correcting_a_label_is_not_a_disagreement() -> None:
    X, _ = _blobs(20)
    session = LabelingSession(X, classes=["a", "b"])
    session.teach([0, 1], ["a", "b"], annotator="x", timestamp=1.0)
    session.teach([0], ["b"], annotator="x", timestamp=2.0)
    _, codes = session.labeled_set()
    assert session.classes[codes[0]] == "b" and session.disagreements().height == 0


def test_session_rejects_unknown_rows_and_reports_new_classes() -> None:
    X, _ = _blobs(30)
    session = LabelingSession(X, classes=["a", "b"], row_ids=[f"r{i}" for i in range(30)])
    with pytest.raises(InvalidInputError, match=r"Unknown row id\(s\) \['nope'\]"):
        session.teach(["r1", "nope"], ["a", "b"], by="id")
    assert session.n_labeled == 0
    result = session.teach(["r1", "r2"], ["a", "c"], by="id")
    assert result.new_classes == ["c"] and session.classes == ["a", "b", "c"]


# -- your own pool ---------------------------------------------------------------------------------------
def test_pool_from_text_csv_embeds_the_text_and_keeps_empty_labels_unlabeled(tmp_path: Path) -> None:
    pool = load_pool(write_tickets(tmp_path / "t.csv"), id="ticket_id", label="category")
    assert pool.X.shape[0] == 300 and pool.X.shape[1] > 10 and pool.texts is not None
    assert pool.labeled.sum() == 6 and pool.classes == list(CLASSES)


def test_pool_with_an_embedding_column_uses_it_as_is(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    labels = ["x" if i % 2 else None for i in range(40)]
    labels[0] = "y"
    for kind in ("list", "fixed"):
        storage = pa.array(vectors.tolist(), type=pa.list_(pa.float32(), 8 if kind == "fixed" else -1))
        table = pa.table({"id": list(range(40)), "label": labels, "emb": storage})
        pq.write_table(table, tmp_path / f"{kind}.parquet")
        pool = load_pool(tmp_path / f"{kind}.parquet", id="id", label="label", embedding="emb")
        assert pool.X.dtype == np.float32 and np.array_equal(pool.X, vectors)


def test_pool_takes_any_text_embedder_and_feeds_simulate(tmp_path: Path) -> None:
    import alsim

    calls = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.array(
            [[t.count(w) for w in ("refund", "crash", "add", "bill", "error", "option")] for t in texts], dtype=float
        )

    pool = load_pool(
        write_tickets(tmp_path / "t.csv", labeled_every=1), id="ticket_id", label="category", embedder=embed
    )
    assert calls == [300] and pool.X.shape == (300, 6)
    result = alsim.simulate(pool.to_dataset(), strategy="margin", label_budget=30, random_state=0)
    assert result.records["n_labeled"][-1] == 30


def test_pool_errors_name_the_column_and_the_flag(tmp_path: Path) -> None:
    table = write_tickets(tmp_path / "t.csv")
    with pytest.raises(DatasetError, match=r"id column 'nope' does not exist \(--id\)"):
        load_pool(table, id="nope", label="category")
    frame = pl.read_csv(table)
    pl.concat([frame, frame.head(1)]).write_csv(tmp_path / "dup.csv")
    with pytest.raises(DatasetError, match="repeats values"):
        load_pool(tmp_path / "dup.csv", id="ticket_id", label="category")


# -- the project: formats ------------------------------------------------------------------------------
def _answer_in_tool_format(fmt: str, batch_file: Path, out: Path, annotator: str = "ann") -> Path:
    """What each tool's export of the batch looks like once an annotator labeled every task."""
    if fmt == "csv":
        return answer_csv(batch_file, out, annotator)
    if fmt == "labelstudio":
        tasks = json.loads(batch_file.read_text())
        for number, task in enumerate(tasks):
            task["id"] = 100 + number
            task["annotations"] = [
                {
                    "id": 500 + number,
                    "completed_by": {"email": f"{annotator}@example.org"},
                    "was_cancelled": False,
                    "created_at": "2026-12-05T10:00:00Z",
                    "updated_at": "2026-12-05T10:00:00Z",
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [truth(task["data"]["row_id"])]},
                        }
                    ],
                }
            ]
        out.write_text(json.dumps(tasks))
    elif fmt == "argilla":
        records = json.loads(batch_file.read_text())
        for record in records:
            record["responses"] = {
                "label": [{"value": truth(record["metadata"]["row_id"]), "user_id": annotator, "status": "submitted"}]
            }
            record["status"] = "completed"
        out.write_text(json.dumps(records))
    else:
        lines = []
        for number, line in enumerate(batch_file.read_text().splitlines()):
            task = json.loads(line)
            task.update(
                {
                    "accept": [truth(task["meta"]["row_id"])],
                    "answer": "accept",
                    "_annotator_id": annotator,
                    "_session_id": annotator,
                    "_timestamp": 1_790_000_000 + number,
                    "_task_hash": number,
                }
            )
            lines.append(json.dumps(task))
        out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_batch_round_trips_through_each_tool_format(project: LabelingProject, tmp_path: Path, fmt: str) -> None:
    batch, path = project.next(15, format=fmt)
    assert path.suffix == FORMATS[fmt] and path.is_file()
    answered = _answer_in_tool_format(fmt, path, tmp_path / f"answered{FORMATS[fmt]}")
    report = project.import_labels(answered)
    assert (report.n_records, report.n_new, report.unknown_ids, report.new_classes) == (15, 15, [], [])
    labels = project.label_table().filter(pl.col("round") == 1)
    assert labels.height == 15 and all(truth(r) == label for r, label in labels.select("row_id", "label").iter_rows())
    assert sorted(labels["row_id"].to_list()) == sorted(project.row_ids[p] for p in batch.rows.tolist())
    # The same file again changes nothing.
    again = project.import_labels(answered)
    assert again.n_new == 0 and "nothing changed" in again.message()
    assert project.label_table().height == 6 + 15


def test_cli_walks_init_next_import_status_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = write_tickets(tmp_path / "tickets.csv")
    out = tmp_path / "proj"
    assert (
        main(
            [
                "label",
                "init",
                str(table),
                "--id",
                "ticket_id",
                "--label",
                "category",
                "--strategy",
                "margin",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    for round_index in (1, 2, 3):
        assert main(["label", "next", str(out), "--batch", "10", "--format", "csv"]) == 0
        batch_file = out / "batches" / f"batch-{round_index:04d}.csv"
        assert main(["label", "import", str(out), str(answer_csv(batch_file, tmp_path / f"a{round_index}.csv"))]) == 0
    capsys.readouterr()
    assert main(["label", "status", str(out), "--json", "--target", "0.9"]) == 0
    assert json.loads(capsys.readouterr().out)["budget"]["target"] == 0.9
    assert main(["label", "status", str(out), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["n_labeled"] == 36 and status["batches"] == 3 and status["reserved"] == 0
    assert [p["n_labeled"] for p in status["learning_curve"]] == [6, 16, 26, 36]
    assert main(["label", "export", str(out)]) == 0
    exported = pl.read_csv(out / "export" / "labels.csv", infer_schema_length=0)
    assert exported.height == 36 and all(
        truth(r) == label for r, label in exported.select("row_id", "label").iter_rows()
    )
    provenance = pl.read_csv(out / "export" / "provenance.csv", infer_schema_length=0)
    assert set(provenance.columns) >= {"row_id", "label", "annotator", "time", "cost", "round", "source"}


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["label", "status", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a labeling project" in err


# -- labels in: the awkward cases ------------------------------------------------------------------------
def test_unknown_row_ids_are_set_aside_and_the_rest_applied(project: LabelingProject, tmp_path: Path) -> None:
    _, path = project.next(5, format="csv")
    answered = answer_csv(path, tmp_path / "a.csv")
    frame = pl.read_csv(answered, infer_schema_length=0)
    extra = frame.head(2).with_columns(pl.Series("row_id", ["X1", "X2"]))
    pl.concat([frame, extra]).write_csv(answered)
    report = project.import_labels(answered)
    assert report.n_new == 5 and report.unknown_ids == ["X1", "X2"]
    assert "not in this project's pool" in report.message()
    kept = [json.loads(line) for line in Path(report.rejected_file).read_text().splitlines()]
    assert [k["row_id"] for k in kept] == ["X1", "X2"]


def test_a_new_class_is_added_and_reported(project: LabelingProject, tmp_path: Path) -> None:
    _, path = project.next(4, format="csv")
    frame = pl.read_csv(answer_csv(path, tmp_path / "a.csv"), infer_schema_length=0)
    frame.with_columns(pl.lit("account").alias("label")).write_csv(tmp_path / "a.csv")
    report = project.import_labels(tmp_path / "a.csv")
    assert report.new_classes == ["account"] and "new class(es) ['account']" in report.message()
    assert project.classes == [*CLASSES, "account"]
    batch, _ = project.next(4, format="csv")  # the model now knows four classes
    assert project.session().n_classes == 4 and len(batch) == 4


def test_two_annotators_who_disagree_are_both_kept(project: LabelingProject, tmp_path: Path) -> None:
    _, path = project.next(6, format="csv")
    project.import_labels(answer_csv(path, tmp_path / "a.csv", annotator="ann"))
    report = project.import_labels(answer_csv(path, tmp_path / "b.csv", annotator="bob", wrong=True))
    assert report.n_new == 6 and report.disagreements == 6 and "disagree" in report.message()
    status = project.status()
    assert status["disagreements"] == 6 and status["n_labels_given"] == 6 + 12
    _, provenance = project.export()
    assert pl.read_csv(provenance).height == 6 + 12


def test_a_file_from_another_project_is_refused_whole(tmp_path: Path, project: LabelingProject) -> None:
    table = write_tickets(tmp_path / "other.csv")
    with init_project(table, tmp_path / "other", id="ticket_id", label="category") as other:
        _, path = other.next(5, format="labelstudio")
        answered = _answer_in_tool_format("labelstudio", path, tmp_path / "other-answers.json")
    before = project.label_table().height
    with pytest.raises(InvalidInputError, match=r"another labeling project .* nothing was imported"):
        project.import_labels(answered)
    assert project.label_table().height == before


# -- crash safety and concurrency (real processes) ------------------------------------------------------
def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_sigkill_mid_import_loses_nothing_imported_before(tmp_path: Path) -> None:
    rows = 60_000
    ids = [f"T{i:05d}" for i in range(rows)]
    rng = np.random.default_rng(0)
    pl.DataFrame(
        {
            "ticket_id": ids,
            "x0": rng.normal(size=rows),
            "x1": rng.normal(size=rows),
            "category": [CLASSES[i % 3] if i % 1000 == 0 else None for i in range(rows)],
        }
    ).write_csv(tmp_path / "t.csv")
    init_project(tmp_path / "t.csv", tmp_path / "p", id="ticket_id", label="category").close()
    first = tmp_path / "first.csv"
    pl.DataFrame({"row_id": ids[1:1001], "label": [truth(i) for i in ids[1:1001]]}).write_csv(first)
    big = tmp_path / "big.csv"
    pl.DataFrame(
        {"row_id": ids[1001:], "label": [truth(i) for i in ids[1001:]], "annotator": ["bulk"] * (rows - 1001)}
    ).write_csv(big)
    with LabelingProject(tmp_path / "p") as project:
        project.import_labels(first)
        base = project.label_table().height
    command = [sys.executable, "-m", "alsim", "label", "import", str(tmp_path / "p"), str(big)]
    outcomes = set()
    for delay in (0.3, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0):
        process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        connection = sqlite3.connect(tmp_path / "p" / "project.sqlite")
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = connection.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
        kept = connection.execute("SELECT COUNT(*) FROM labels WHERE annotator = 'csv'").fetchone()[0]
        connection.close()
        assert count in (base, base + rows - 1001)  # all of the big import or none of it
        assert kept == 1000  # the earlier import is intact
        outcomes.add(count)
        if count != base:
            break
    subprocess.run(command, env=_env(), check=True, stdout=subprocess.DEVNULL)
    subprocess.run(command, env=_env(), check=True, stdout=subprocess.DEVNULL)  # applied twice: no change
    with LabelingProject(tmp_path / "p") as project:
        assert project.label_table().height == base + rows - 1001
    assert base in outcomes  # at least one kill landed before the commit


def test_two_concurrent_next_calls_never_hand_out_the_same_rows(tmp_path: Path) -> None:
    table = write_tickets(tmp_path / "t.csv", n=900)
    init_project(table, tmp_path / "p", id="ticket_id", label="category").close()
    commands = [
        [
            sys.executable,
            "-m",
            "alsim",
            "label",
            "next",
            str(tmp_path / "p"),
            "--batch",
            "40",
            "--out",
            str(tmp_path / f"b{k}.csv"),
        ]
        for k in range(2)
    ]
    processes = [subprocess.Popen(c, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    batches = [set(pl.read_csv(tmp_path / f"b{k}.csv", infer_schema_length=0)["row_id"]) for k in range(2)]
    assert len(batches[0]) == len(batches[1]) == 40 and not batches[0] & batches[1]
    with LabelingProject(tmp_path / "p") as project:
        assert project.status()["reserved"] == 80


def test_status_reads_a_reached_target_off_the_real_curve() -> None:
    """A target the cross-validated curve already reached is read off the curve: nothing left to label."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    session = LabelingSession(X, classes=["neg", "pos"], strategy="margin", random_state=0)
    for size in (20, 10, 10, 10):
        batch = session.next_batch(size)
        session.teach(batch.rows, [["neg", "pos"][c] for c in y[batch.rows]], annotator="me")
        session.fit()
        session.record_round(batch_cost=0.0)
    budget = session.status(target=0.6)["budget"]
    assert budget["note"] == "reached"
    assert budget["labels_needed"] <= session.n_labeled and budget["labels_to_go"] == 0


def test_status_extrapolates_an_unreached_target_with_calibrated_bounds() -> None:
    """Beyond the real curve, status uses the budget's calibrated method: a bounded interval around the median."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2000, 5))
    y = (X[:, 0] + 0.8 * rng.normal(size=2000) > 0).astype(int)
    session = LabelingSession(X, classes=["neg", "pos"], strategy="random", random_state=0)
    for size in (20, 10, 10, 10, 10, 10):
        batch = session.next_batch(size)
        session.teach(batch.rows, [["neg", "pos"][c] for c in y[batch.rows]], annotator="me")
        session.fit()
        session.record_round(batch_cost=0.0)
    reached = max(p["cv_accuracy"] for p in session.status()["learning_curve"] if p["cv_accuracy"] is not None)
    budget = session.status(target=reached + 0.005)["budget"]
    low, high = budget["labels_80"]
    assert budget["labels_needed"] > session.n_labeled and budget["labels_to_go"] > 0
    assert high is not None and low <= budget["labels_needed"] <= high
    assert 0.0 < budget["p_out_of_reach"] < 1.0
    assert f"80% interval {low:,} - {high:,}" in budget["note"]
