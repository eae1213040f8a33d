"""Label Studio through its REST API: a batch becomes a project's tasks, finished annotations come back.

Authentication takes a personal access token (a JWT refresh token, exchanged at ``/api/token/refresh/`` for
a short-lived access token sent as ``Authorization: Bearer``) or, where the organisation still allows them,
a legacy token (``Authorization: Token``). The Label Studio project is created on the first push, with a
single-choice text classification config over the project's classes (:func:`label_studio_config`), and
remembered in the alsim project.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alsim.exceptions import AlsimError, InvalidInputError

if TYPE_CHECKING:
    from alsim.labeling.project import ImportReport, LabelingProject

__all__ = ["LabelStudio", "LabelStudioError", "pull_annotations", "push_batch"]


class LabelStudioError(AlsimError, RuntimeError):
    """The Label Studio server refused a request or could not be reached."""


class LabelStudio:
    """A small client of the Label Studio REST API (the endpoints alsim needs).

    Parameters
    ----------
    url : str
        Base URL of the server, e.g. ``http://localhost:8080``.
    token : str
        Personal access token (or legacy token).
    timeout : float, default=60
        Seconds to wait for each request.
    """

    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._headers: dict[str, str] | None = None

    # -- plumbing ---------------------------------------------------------------------------------------
    def _authorization(self) -> dict[str, str]:
        if self._headers is None:
            import requests

            try:
                response = requests.post(
                    f"{self.url}/api/token/refresh/", json={"refresh": self.token}, timeout=self.timeout
                )
            except requests.RequestException as exc:
                raise LabelStudioError(f"Cannot reach Label Studio at {self.url} (--url): {exc}.") from exc
            if response.ok and "access" in response.json():
                self._headers = {"Authorization": f"Bearer {response.json()['access']}"}
            else:  # not a personal access token: try it as a legacy token
                self._headers = {"Authorization": f"Token {self.token}"}
        return self._headers

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API; return the decoded JSON (None for an empty body); raise LabelStudioError otherwise."""
        import requests

        try:
            response = requests.request(
                method, f"{self.url}{path}", headers=self._authorization(), timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise LabelStudioError(f"Cannot reach Label Studio at {self.url} (--url): {exc}.") from exc
        if response.status_code in (401, 403):
            raise LabelStudioError(
                f"Label Studio at {self.url} refused the token ({response.status_code}); give a personal access "
                "token from Account & Settings with --token or $LABEL_STUDIO_API_KEY."
            )
        if not response.ok:
            raise LabelStudioError(
                f"Label Studio {method} {path} failed ({response.status_code}): {response.text[:300]}"
            )
        return response.json() if response.content else None

    # -- the verbs alsim uses -----------------------------------------------------------------------------
    def create_project(self, title: str, label_config: str) -> int:
        """Create a Label Studio project with the labeling interface ``label_config`` (XML); return its id."""
        return int(self.request("POST", "/api/projects/", json={"title": title, "label_config": label_config})["id"])

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> int:
        """Import ``tasks`` into the project; return the number of tasks Label Studio reports imported."""
        answer = self.request("POST", f"/api/projects/{project_id}/import", json=tasks)
        return int((answer or {}).get("task_count", len(tasks)))

    def tasks(self, project_id: int) -> list[dict[str, Any]]:
        """Every task of a project (paged through the tasks list)."""
        tasks: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = self.request("GET", "/api/tasks/", params={"project": project_id, "page": page, "page_size": 500})
            chunk = answer.get("tasks", []) if isinstance(answer, dict) else answer
            tasks.extend(chunk)
            total = answer.get("total", len(tasks)) if isinstance(answer, dict) else len(tasks)
            if not chunk or len(tasks) >= total:
                return tasks
            page += 1

    def annotate(self, task_id: int, result: list[dict[str, Any]]) -> dict[str, Any]:
        """Submit an annotation of a task, as an annotator does in the labeling interface."""
        return dict(self.request("POST", f"/api/tasks/{task_id}/annotations/", json={"result": result}))

    def export(self, project_id: int) -> list[dict[str, Any]]:
        """Return the project's annotated tasks in Label Studio's JSON export format."""
        return list(self.request("GET", f"/api/projects/{project_id}/export", params={"exportType": "JSON"}))


def _remembered(project: LabelingProject) -> dict[str, Any]:
    row = project._db.execute("SELECT value FROM meta WHERE key = 'labelstudio'").fetchone()
    return json.loads(row[0]) if row else {}


def push_batch(project: LabelingProject, client: LabelStudio, *, batch_id: int | None = None) -> tuple[int, int]:
    """Send a batch's rows to the project's Label Studio project as tasks (created on first use).

    Returns the Label Studio project id and the number of tasks sent. A batch is sent once: pushing it again
    raises InvalidInputError.
    """
    from alsim.labeling.formats import _label_studio_task, _tasks, label_studio_config

    if batch_id is None:
        last = project._db.execute("SELECT MAX(id) FROM batches").fetchone()[0]
        if last is None:
            raise InvalidInputError("The project has handed out no batch yet; run 'alsim label next' first.")
        batch_id = int(last)
    state = _remembered(project)
    if state.get("url") not in (None, client.url):
        raise InvalidInputError(f"This project's tasks live on {state['url']}, not {client.url} (--url).")
    if batch_id in state.get("pushed", []):
        raise InvalidInputError(f"Batch {batch_id} was already sent to Label Studio project {state['project']}.")
    rows = project.batch_rows(batch_id)
    if rows.height == 0:
        raise InvalidInputError(f"The project has no batch {batch_id}.")
    from alsim.session import Batch

    batch = Batch(
        rows=rows["position"].to_numpy(),
        row_ids=rows["row_id"].to_list(),
        scores=None if rows["score"].null_count() else rows["score"].to_numpy(),
        reasons=rows["reason"].to_list(),
        round=0,
        predicted=np.zeros(rows.height, dtype=np.int64),
        confidence=rows["confidence"].fill_null(float("nan")).to_numpy(),
    )
    tasks = [_label_studio_task(task) for task in _tasks(project, batch, batch_id, rows["predicted"].to_list())]
    if "project" not in state:
        title = f"alsim: {project.settings.get('name') or project.path.name}"[:50]
        state = {
            "url": client.url,
            "project": client.create_project(title, label_studio_config(project.classes)),
            "pushed": [],
        }
    sent = client.import_tasks(int(state["project"]), tasks)
    state["pushed"] = [*state["pushed"], batch_id]
    with project._write() as db:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('labelstudio', ?)", (json.dumps(state),))
    return int(state["project"]), sent


def pull_annotations(project: LabelingProject, client: LabelStudio) -> ImportReport:
    """Import every finished annotation of the project's Label Studio project (again: nothing changes)."""
    from alsim.labeling.formats import _read_label_studio

    state = _remembered(project)
    if "project" not in state:
        raise InvalidInputError("No batch of this project was sent to Label Studio yet; run 'alsim label push'.")
    exported = client.export(int(state["project"]))
    content = json.dumps(exported, sort_keys=True).encode()
    source = f"{client.url}/projects/{state['project']}"
    records = _read_label_studio(Path(source), exported)
    return project.apply(records, file=source, format="labelstudio", sha256=hashlib.sha256(content).hexdigest())
