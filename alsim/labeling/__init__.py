"""Labeling for real: your own pool, a project on disk, annotation tools, live decisions.

>>> from alsim.labeling import init_project  # doctest: +SKIP
>>> project = init_project("tickets.csv", "tickets-project", id="ticket_id", label="category")  # doctest: +SKIP
>>> batch, path = project.next(50, format="labelstudio")  # doctest: +SKIP
>>> print(project.import_labels("export.json").message())  # doctest: +SKIP
"""

from __future__ import annotations

from alsim.labeling.formats import FORMATS, label_studio_config
from alsim.labeling.pool import Pool, load_pool, tfidf_svd_embedder
from alsim.labeling.project import ImportReport, LabelingProject, LabelRecord, init_project

__all__ = [
    "FORMATS",
    "ImportReport",
    "LabelRecord",
    "LabelingProject",
    "Pool",
    "init_project",
    "label_studio_config",
    "load_pool",
    "tfidf_svd_embedder",
]
