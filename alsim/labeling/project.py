"""A labeling project on disk: the pool, the settings and every label, in one directory.

Layout of a project directory::

    project.sqlite      settings, labels with provenance, imports, batches, reservations, round history
    features.npy        the pool's feature matrix (written once, at init)
    rows.parquet        row id and text of every pool row (what annotators see)
    batches/            the batch files handed out by ``next``
    rejected/           records an import could not apply (unknown row ids), kept for a later import
    export/             what ``export`` writes

State lives in SQLite (standard library; WAL journal, full sync). Every change is one transaction, so a
process killed at any moment (SIGKILL included) loses nothing already committed and leaves no half-applied
import; ``next`` holds the write lock from reading the reservations to writing its own, so two concurrent
``next`` calls never hand out the same rows; every label carries a key derived from its content and source,
so applying the same import twice changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.session import RESOLUTION_POLICIES, Batch, LabelingSession

__all__ = ["ImportReport", "LabelRecord", "LabelingProject", "init_project"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL, format TEXT NOT NULL,
    at REAL NOT NULL, n_records INTEGER NOT NULL, n_new INTEGER NOT NULL, message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY, position INTEGER NOT NULL, label TEXT NOT NULL, annotator TEXT NOT NULL,
    at REAL NOT NULL, cost REAL NOT NULL, round INTEGER NOT NULL, import_id INTEGER NOT NULL,
    source_key TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS labels_position ON labels(position);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY, round INTEGER NOT NULL, at REAL NOT NULL, size INTEGER NOT NULL,
    strategy TEXT NOT NULL, file TEXT
);
CREATE TABLE IF NOT EXISTS batch_rows (
    batch_id INTEGER NOT NULL, rank INTEGER NOT NULL, position INTEGER NOT NULL, score REAL,
    predicted TEXT, confidence REAL, reason TEXT NOT NULL, PRIMARY KEY (batch_id, rank)
);
CREATE TABLE IF NOT EXISTS reservations (
    position INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rounds (round INTEGER PRIMARY KEY, n_labeled INTEGER NOT NULL, record TEXT NOT NULL);
"""

#: Hours a row handed out by ``next`` stays reserved for its annotator unless labeled first.
DEFAULT_RESERVATION_HOURS = 72.0


@dataclass(frozen=True)
class LabelRecord:
    """One label read from an annotation tool's file or API, before it is applied to a project."""

    row_id: Any
    label: str
    annotator: str
    at: float | None = None
    cost: float = 1.0
    source_key: str | None = None
    project_id: str | None = None


@dataclass(frozen=True)
class ImportReport:
    """What an import did; :meth:`message` words it for people."""

    file: str
    n_records: int
    n_new: int
    n_duplicates: int
    unknown_ids: list[Any]
    new_classes: list[str]
    disagreements: int
    rejected_file: str | None
    already_imported: bool

    def message(self) -> str:
        """Describe the import in one line: new labels, repeats, unknown row ids (and their file), new classes."""
        parts = [f"{self.file}: {self.n_new} new label(s) of {self.n_records} record(s)"]
        if self.already_imported or (self.n_records and self.n_new == 0 and self.n_duplicates == self.n_records):
            parts.append("every record was imported before (nothing changed)")
        elif self.n_duplicates:
            parts.append(f"{self.n_duplicates} imported before (skipped)")
        if self.unknown_ids:
            parts.append(
                f"{len(self.unknown_ids)} record(s) name row ids that are not in this project's pool, e.g. "
                f"{self.unknown_ids[:3]}; they were not applied and are kept in {self.rejected_file}"
            )
        if self.new_classes:
            parts.append(f"new class(es) {self.new_classes} added to the class set")
        if self.disagreements:
            parts.append(
                f"{self.disagreements} row(s) have annotators who disagree; all labels are kept ('alsim label "
                "status' lists them, the resolution policy decides the training label)"
            )
        return "; ".join(parts) + "."


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=120.0, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=120000")
    return connection


def init_project(
    table: Any,
    out: str | os.PathLike[str],
    *,
    id: str,
    label: str,
    strategy: str = "margin",
    learner: str = "logreg",
    text: Sequence[str] | str | None = None,
    embedding: str | None = None,
    ignore: Sequence[str] = (),
    embedder: Any = None,
    resolution: str = "majority",
    stopping_rule: str | None = None,
    random_state: int = 0,
    name: str | None = None,
) -> LabelingProject:
    """Create a labeling project from a pool table (see :func:`alsim.labeling.load_pool`).

    Labels already in the table's label column become the project's first labels (round 0, annotator
    ``"table"``). ``out`` must not hold a project yet.
    """
    from alsim.labeling.pool import load_pool
    from alsim.learners import make_learner
    from alsim.strategies import make_strategy

    if resolution not in RESOLUTION_POLICIES:
        raise InvalidParameterError(
            f"The 'resolution' parameter (--resolution) must be one of {list(RESOLUTION_POLICIES)}. Got {resolution!r}."
        )
    make_strategy(strategy)
    make_learner(learner)
    if stopping_rule is not None:
        from alsim.stopping import make_rule

        make_rule(stopping_rule)
    directory = Path(out)
    if (directory / "project.sqlite").exists():
        raise InvalidInputError(f"{directory} already holds a labeling project; choose another --out.")
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / ".write-test"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InvalidInputError(f"Cannot write to the project directory {directory} (--out): {exc}.") from exc
    pool = load_pool(table, id=id, label=label, text=text, embedding=embedding, ignore=ignore, embedder=embedder)

    # Files first (written under temporary names, then renamed), the database last: a project whose database
    # exists is complete.
    temporary = directory / "features.npy.partial"
    with open(temporary, "wb") as handle:
        np.save(handle, pool.X)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(directory / "features.npy")
    rows = pl.DataFrame(
        {
            "row_id": [str(i) for i in pool.ids.tolist()],
            "text": pool.texts if pool.texts is not None else [None] * pool.n_rows,
        },
        schema={"row_id": pl.String, "text": pl.String},
    )
    rows.write_parquet(directory / "rows.parquet.partial")
    (directory / "rows.parquet.partial").replace(directory / "rows.parquet")
    for sub in ("batches", "rejected", "export"):
        (directory / sub).mkdir(exist_ok=True)

    settings = {
        "project_id": uuid.uuid4().hex,
        "name": name or (Path(pool.source).stem if pool.source != "<DataFrame>" else directory.name),
        "source": pool.source,
        "id_column": id,
        "label_column": label,
        "text_columns": text if text is None or isinstance(text, str) else list(text),
        "embedding_column": embedding,
        "strategy": strategy,
        "learner": learner,
        "resolution": resolution,
        "stopping_rule": stopping_rule,
        "random_state": int(random_state),
        "created": time.time(),
        "n_rows": pool.n_rows,
        "feature_dtype": str(pool.X.dtype),
    }
    temporary_db = directory / "project.sqlite.partial"
    temporary_db.unlink(missing_ok=True)
    connection = sqlite3.connect(temporary_db)
    connection.executescript(_SCHEMA)
    connection.execute("INSERT INTO meta VALUES ('settings', ?)", (json.dumps(settings),))
    connection.execute("INSERT INTO meta VALUES ('classes', ?)", (json.dumps(pool.classes),))
    labeled = np.flatnonzero(pool.labeled)
    connection.execute(
        "INSERT INTO imports VALUES (1, ?, '', 'table', ?, ?, ?, 'labels in the pool table')",
        (pool.source, time.time(), int(labeled.size), int(labeled.size)),
    )
    now = time.time()
    connection.executemany(
        "INSERT INTO labels (position, label, annotator, at, cost, round, import_id, source_key) "
        "VALUES (?, ?, 'table', ?, 0.0, 0, 1, ?)",
        [(int(p), str(pool.labels[p]), now, f"table:{p}") for p in labeled.tolist()],
    )
    connection.commit()
    connection.close()
    temporary_db.replace(directory / "project.sqlite")
    return LabelingProject(directory)


class LabelingProject:
    """A labeling project directory (see the module docstring); the verbs of the ``alsim label`` command.

    Parameters
    ----------
    path : path-like
        The project directory (made by :func:`init_project` / ``alsim label init``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        database = self.path / "project.sqlite"
        if not database.is_file():
            raise InvalidInputError(
                f"{self.path} is not a labeling project (no project.sqlite); create one with 'alsim label init'."
            )
        self._db = _connect(database)
        self._db.executescript(_SCHEMA)
        self.settings: dict[str, Any] = json.loads(self._meta("settings"))
        self._X: np.ndarray | None = None
        self._row_ids: list[str] | None = None
        self._texts: list[str | None] | None = None
        self._index: dict[str, int] | None = None

    def close(self) -> None:
        """Close the project's database connection."""
        self._db.close()

    def __enter__(self) -> LabelingProject:
        """Return the project itself, to be closed when the ``with`` block ends."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the project (see :meth:`close`)."""
        self.close()

    # -- storage helpers ------------------------------------------------------------------------------
    def _meta(self, key: str) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise InvalidInputError(f"{self.path}: the project database has no {key!r}; it is not an alsim project.")
        return str(row[0])

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the database's write lock from its first statement."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @property
    def project_id(self) -> str:
        """The project's unique id, made at ``init``."""
        return str(self.settings["project_id"])

    @property
    def classes(self) -> list[str]:
        """The classes known so far, in code order (imports can add classes)."""
        return list(json.loads(self._meta("classes")))

    @property
    def X(self) -> np.ndarray:
        """The pool's feature matrix, memory-mapped from ``features.npy``."""
        if self._X is None:
            self._X = np.load(self.path / "features.npy", mmap_mode="r")
        return self._X

    def _rows(self) -> tuple[list[str], list[str | None]]:
        if self._row_ids is None or self._texts is None:
            rows = pl.read_parquet(self.path / "rows.parquet")
            self._row_ids, self._texts = rows["row_id"].to_list(), rows["text"].to_list()
        return self._row_ids, self._texts

    @property
    def row_ids(self) -> list[str]:
        """Id of every pool row (as strings), by position."""
        return self._rows()[0]

    @property
    def texts(self) -> list[str | None]:
        """Text of every pool row shown to annotators (None for pools without text columns)."""
        return self._rows()[1]

    def positions(self, row_ids: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
        """Pool positions of ``row_ids`` (-1 for ids not in the pool) and the unknown ids."""
        if self._index is None:
            self._index = {key: i for i, key in enumerate(self.row_ids)}
        found = np.array([self._index.get(str(key), -1) for key in row_ids], dtype=np.int64)
        unknown = [key for key, pos in zip(row_ids, found.tolist(), strict=True) if pos < 0]
        return found, unknown

    # -- session ------------------------------------------------------------------------------------
    def session(self) -> LabelingSession:
        """Rebuild a :class:`~alsim.session.LabelingSession` holding every label imported so far, in import order."""
        settings = self.settings
        session = LabelingSession(
            self.X,
            classes=self.classes,
            learner=settings["learner"],
            strategy=settings["strategy"],
            row_ids=self.row_ids,
            resolution=settings["resolution"],
            random_state=settings["random_state"],
        )
        labels = self._db.execute(
            "SELECT position, label, annotator, at, cost, round FROM labels ORDER BY id"
        ).fetchall()
        if labels:
            frame = pl.DataFrame(labels, schema=["position", "label", "annotator", "at", "cost", "round"], orient="row")
            # One teach per (round, annotator, time) run keeps the provenance grouped as it came in.
            runs = frame.with_columns(
                (
                    (pl.col("round") != pl.col("round").shift())
                    | (pl.col("annotator") != pl.col("annotator").shift())
                    | (pl.col("at") != pl.col("at").shift())
                )
                .fill_null(True)
                .cum_sum()
                .alias("run")
            ).partition_by("run", maintain_order=True)
            for run in runs:
                codes, _ = session.class_codes(run["label"].to_list())
                session.teach_codes(
                    run["position"].to_numpy(),
                    codes,
                    annotator=run["annotator"][0],
                    costs=run["cost"].to_numpy(),
                    round=int(run["round"][0]),
                    timestamp=float(run["at"][0]),
                )
        session.round = int(self._db.execute("SELECT COALESCE(MAX(round), 0) FROM batches").fetchone()[0])
        return session

    # -- next ---------------------------------------------------------------------------------------
    def next(
        self,
        batch_size: int,
        *,
        format: str = "csv",
        out: str | os.PathLike[str] | None = None,
        reservation_hours: float = DEFAULT_RESERVATION_HOURS,
    ) -> tuple[Batch, Path]:
        """Pick the next batch, reserve its rows and write it as a file for an annotation tool.

        Rows handed out by an earlier ``next`` and not labeled yet stay reserved for ``reservation_hours``
        and are not handed out again meanwhile (another ``next`` running at the same time waits for this one).
        Returns the batch and the file written (``batches/batch-<n>.<ext>`` unless ``out`` is given).
        """
        from alsim.labeling.formats import FORMATS, write_batch

        if format not in FORMATS:
            raise InvalidParameterError(
                f"The 'format' parameter (--format) must be one of {list(FORMATS)}. Got {format!r}."
            )
        if not (isinstance(reservation_hours, (int, float)) and reservation_hours > 0):
            raise InvalidParameterError(
                "The 'reservation_hours' parameter (--reserve-hours) must be a positive number. "
                f"Got {reservation_hours!r}."
            )
        with self._write() as db:
            now = time.time()
            db.execute("DELETE FROM reservations WHERE expires <= ?", (now,))
            reserved = np.array([r[0] for r in db.execute("SELECT position FROM reservations")], dtype=np.int64)
            session = self.session()
            if session.n_labeled:
                session.fit()
                self._record_round(db, session)
            batch = session.next_batch(batch_size, exclude=reserved)
            cursor = db.execute(
                "INSERT INTO batches (round, at, size, strategy, file) VALUES (?, ?, ?, ?, NULL)",
                (batch.round, now, len(batch), session.strategy.name),
            )
            batch_id = int(cursor.lastrowid or 0)
            predicted = [None if c < 0 else session.classes[c] for c in batch.predicted.tolist()]
            db.executemany(
                "INSERT INTO batch_rows VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        batch_id,
                        rank,
                        int(p),
                        None if batch.scores is None else float(batch.scores[rank]),
                        predicted[rank],
                        None if np.isnan(c) else float(c),
                        batch.reasons[rank],
                    )
                    for rank, (p, c) in enumerate(zip(batch.rows.tolist(), batch.confidence.tolist(), strict=True))
                ],
            )
            db.executemany(
                "INSERT OR REPLACE INTO reservations VALUES (?, ?, ?)",
                [(int(p), batch_id, now + reservation_hours * 3600.0) for p in batch.rows.tolist()],
            )
            target = Path(out) if out is not None else self.path / "batches" / f"batch-{batch_id:04d}{FORMATS[format]}"
            write_batch(self, batch, batch_id, target, format, session.classes, predicted)
            db.execute("UPDATE batches SET file = ? WHERE id = ?", (str(target), batch_id))
        return batch, target

    def _record_round(self, db: sqlite3.Connection, session: LabelingSession) -> None:
        """Keep the label-free signals of the model trained on the current labels (one row per round)."""
        last = db.execute("SELECT n_labeled FROM rounds ORDER BY round DESC LIMIT 1").fetchone()
        if last is not None and int(last[0]) == session.n_labeled:
            return
        record = session.record_round(batch_cost=0.0)
        db.execute(
            "INSERT OR REPLACE INTO rounds VALUES (?, ?, ?)", (record["round"], session.n_labeled, json.dumps(record))
        )

    def batch_rows(self, batch_id: int) -> pl.DataFrame:
        """Return the rows of a batch with the strategy's score and the reason each was chosen."""
        rows = self._db.execute(
            "SELECT rank, position, score, predicted, confidence, reason FROM batch_rows "
            "WHERE batch_id = ? ORDER BY rank",
            (batch_id,),
        ).fetchall()
        frame = pl.DataFrame(
            rows, schema=["rank", "position", "score", "predicted", "confidence", "reason"], orient="row"
        )
        ids = self.row_ids
        return frame.with_columns(pl.Series("row_id", [ids[p] for p in frame["position"].to_list()], dtype=pl.String))

    # -- import -------------------------------------------------------------------------------------
    def import_labels(
        self, file: str | os.PathLike[str], *, format: str | None = None, annotator: str | None = None
    ) -> ImportReport:
        """Apply the labels in an annotation tool's file (format detected from the content when None)."""
        from alsim.labeling.formats import read_labels

        path = Path(file)
        if not path.is_file():
            raise InvalidInputError(f"The label file {path} does not exist.")
        content = path.read_bytes()
        records, detected = read_labels(path, content, format, self.classes)
        if annotator is not None:
            records = [
                LabelRecord(r.row_id, r.label, annotator, r.at, r.cost, r.source_key, r.project_id) for r in records
            ]
        return self.apply(records, file=str(path), format=detected, sha256=hashlib.sha256(content).hexdigest())

    def apply(self, records: Sequence[LabelRecord], *, file: str, format: str, sha256: str = "") -> ImportReport:
        """Apply label records in one transaction (all or nothing); see :meth:`import_labels`."""
        foreign = sorted({r.project_id for r in records if r.project_id and r.project_id != self.project_id})
        if foreign:
            raise InvalidInputError(
                f"{file} was written for another labeling project (id {foreign[0]}), not this one "
                f"({self.path}, id {self.project_id}); nothing was imported. Import it into the project that "
                "handed out the batch."
            )
        positions, unknown = self.positions([r.row_id for r in records])
        known = [(r, int(p)) for r, p in zip(records, positions.tolist(), strict=True) if p >= 0]
        rejected_file = None
        with self._write() as db:
            already = db.execute(
                "SELECT COUNT(*) FROM imports WHERE sha256 = ? AND sha256 != ''", (sha256,)
            ).fetchone()[0]
            classes = self.classes
            new_classes = sorted({r.label for r, _ in known if r.label not in classes})
            if new_classes:
                db.execute("UPDATE meta SET value = ? WHERE key = 'classes'", (json.dumps(classes + new_classes),))
            round_now = int(db.execute("SELECT COALESCE(MAX(round), 0) FROM batches").fetchone()[0])
            cursor = db.execute(
                "INSERT INTO imports (file, sha256, format, at, n_records, n_new, message) "
                "VALUES (?, ?, ?, ?, ?, 0, '')",
                (file, sha256, format, time.time(), len(records)),
            )
            import_id = int(cursor.lastrowid or 0)
            before = db.total_changes
            now = time.time()
            batch_round = dict(
                db.execute(
                    "SELECT r.position, b.round FROM reservations r JOIN batches b ON b.id = r.batch_id"
                ).fetchall()
            )
            db.executemany(
                "INSERT OR IGNORE INTO labels (position, label, annotator, at, cost, round, import_id, source_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        p,
                        r.label,
                        r.annotator,
                        r.at if r.at is not None else now,
                        float(r.cost),
                        int(batch_round.get(p, round_now)),
                        import_id,
                        r.source_key or _content_key(r),
                    )
                    for r, p in known
                ],
            )
            n_new = db.total_changes - before
            db.executemany("DELETE FROM reservations WHERE position = ?", [(p,) for _, p in known])
            if unknown:
                rejected_file = str(self.path / "rejected" / f"import-{import_id:04d}.jsonl")
                with open(rejected_file, "w", encoding="utf-8") as handle:
                    for r in records:
                        if str(r.row_id) in {str(u) for u in unknown}:
                            handle.write(
                                json.dumps(
                                    {
                                        "row_id": r.row_id,
                                        "label": r.label,
                                        "annotator": r.annotator,
                                        "at": r.at,
                                        "cost": r.cost,
                                        "source_key": r.source_key,
                                    }
                                )
                                + "\n"
                            )
            disagreements = self._count_disagreements(db)
            report = ImportReport(
                file,
                len(records),
                n_new,
                len(known) - n_new,
                unknown,
                new_classes,
                disagreements,
                rejected_file,
                bool(already),
            )
            db.execute("UPDATE imports SET n_new = ?, message = ? WHERE id = ?", (n_new, report.message(), import_id))
        return report

    @staticmethod
    def _count_disagreements(db: sqlite3.Connection) -> int:
        # Each annotator's latest label per row; rows where those differ.
        query = """
            WITH latest AS (
                SELECT position, annotator, label FROM labels l
                WHERE id = (SELECT MAX(id) FROM labels m WHERE m.position = l.position AND m.annotator = l.annotator)
            )
            SELECT COUNT(*) FROM (SELECT position FROM latest GROUP BY position HAVING COUNT(DISTINCT label) > 1)
        """
        return int(db.execute(query).fetchone()[0])

    # -- status and export --------------------------------------------------------------------------
    def label_table(self) -> pl.DataFrame:
        """Every label with its provenance: row id, label, annotator, time, cost, round, import file."""
        rows = self._db.execute(
            "SELECT l.position, l.label, l.annotator, l.at, l.cost, l.round, i.file FROM labels l "
            "JOIN imports i ON i.id = l.import_id ORDER BY l.id"
        ).fetchall()
        frame = pl.DataFrame(
            rows,
            schema={
                "position": pl.Int64,
                "label": pl.String,
                "annotator": pl.String,
                "time": pl.Float64,
                "cost": pl.Float64,
                "round": pl.Int64,
                "source": pl.String,
            },
            orient="row",
        )
        ids = self.row_ids
        return frame.select(
            pl.Series("row_id", [ids[p] for p in frame["position"].to_list()], dtype=pl.String), pl.exclude("position")
        )

    def history(self) -> pl.DataFrame:
        """Return the round history (label-free signals of each model; what the stopping rules read)."""
        from alsim.records import RECORD_SCHEMA

        rows = [json.loads(r[0]) for r in self._db.execute("SELECT record FROM rounds ORDER BY round")]
        if not rows:
            return pl.DataFrame(schema={"round": pl.Int64, "n_labeled": pl.Int64})
        return pl.DataFrame(rows, schema={name: RECORD_SCHEMA[name] for name in rows[0]})

    def status(self, **kwargs: Any) -> dict[str, Any]:
        """See :func:`alsim.labeling.status.project_status`."""
        from alsim.labeling.status import project_status

        return project_status(self, **kwargs)

    def export(self, out: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
        """Write the labeled rows and the full provenance of every label; return both paths.

        The rows carry the resolved label, every annotator's label and a disagreement flag. By default they go
        to ``export/labels.csv`` and ``export/provenance.csv``; ``out`` names the table of rows instead (CSV, or
        parquet by its suffix), with the provenance next to it as ``<stem>_provenance.csv``.
        """
        session = self.session()
        rows, codes = session.labeled_set()
        labels = self.label_table()
        per_row = labels.group_by("row_id", maintain_order=True).agg(
            pl.col("label").alias("labels"), pl.col("annotator").alias("annotators"), pl.len().alias("n_labels")
        )
        ids = self.row_ids
        resolved = pl.DataFrame(
            {"row_id": [ids[p] for p in rows.tolist()], "label": [session.classes[c] for c in codes.tolist()]},
            schema={"row_id": pl.String, "label": pl.String},
        )
        table = (
            per_row.join(resolved, on="row_id", how="left")
            .with_columns(
                (pl.col("labels").list.unique().list.len() > 1).alias("disagreement"),
                pl.col("labels").list.join("|"),
                pl.col("annotators").list.join("|"),
            )
            .select("row_id", "label", "n_labels", "disagreement", "labels", "annotators")
        )
        target = Path(out) if out is not None else self.path / "export" / "labels.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        provenance = (
            target.with_name(target.stem + "_provenance.csv")
            if out is not None
            else (self.path / "export" / "provenance.csv")
        )
        if target.suffix == ".parquet":
            table.write_parquet(target)
        else:
            table.write_csv(target)
        labels.write_csv(provenance)
        return target, provenance


def _content_key(record: LabelRecord) -> str:
    """Key of a label that came without one: the same row, label, annotator and time is the same label."""
    payload = json.dumps([str(record.row_id), record.label, record.annotator, record.at])
    return "content:" + hashlib.sha256(payload.encode()).hexdigest()
