"""``alsim label init|next|import|status|export|push|pull``: label your own pool for real."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

_DESCRIPTION = """\
Label your own data with the loop alsim simulates. 'init' makes a project directory from a table (CSV or
parquet: an id column, a label column whose empty cells are unlabeled, features, text or an embedding
column); 'next' hands out the rows the strategy wants labeled, as a file for Label Studio, Argilla, Prodigy
or a spreadsheet; 'import' reads the labels back; 'status' shows the labels, the cost, the learning curve
and the stopping rules' verdict; 'export' writes the labeled table. 'push' and 'pull' talk to a running
Label Studio server.
"""


def add_parser(subparsers: Any) -> None:
    """Add the ``label`` command and its verbs to the CLI's sub-command parsers."""
    from alsim.labeling.formats import FORMATS
    from alsim.session import RESOLUTION_POLICIES

    parser = subparsers.add_parser(
        "label", help="label your own pool for real (projects, annotation tools)", description=_DESCRIPTION
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True, help="what to do with the project")

    init = verbs.add_parser("init", help="create a labeling project from a table")
    init.add_argument("table", metavar="TABLE", help="CSV or parquet file")
    init.add_argument("--id", required=True, dest="id_column", metavar="COL", help="id column (unique values)")
    init.add_argument(
        "--label", required=True, dest="label_column", metavar="COL", help="label column; empty cells are unlabeled"
    )
    init.add_argument("--out", required=True, metavar="PROJECT", help="project directory to create")
    init.add_argument("--strategy", default="margin", help="query strategy (default: margin)")
    init.add_argument("--learner", default="logreg", help="learner (default: logreg)")
    init.add_argument(
        "--text", nargs="+", default=None, metavar="COL", help="text columns to embed (TF-IDF + SVD); default: detected"
    )
    init.add_argument("--embedding", default=None, metavar="COL", help="column of embedding vectors, used as is")
    init.add_argument("--ignore", nargs="+", default=(), metavar="COL", help="columns that are not features")
    init.add_argument(
        "--resolution",
        default="majority",
        choices=RESOLUTION_POLICIES,
        help="training label when annotators disagree (default: majority)",
    )
    init.add_argument(
        "--stopping-rule",
        default=None,
        metavar="RULE",
        help="stopping rule status reports first (default: the one alsim stopping scored best)",
    )
    init.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    init.set_defaults(func=run_init)

    nxt = verbs.add_parser("next", help="hand out the next batch as a file for an annotation tool")
    nxt.add_argument("project", metavar="PROJECT", help="project directory (made by 'alsim label init')")
    nxt.add_argument("--batch", type=int, default=50, metavar="N", help="rows in the batch (default: 50)")
    nxt.add_argument("--format", default="csv", choices=list(FORMATS), help="file format (default: csv)")
    nxt.add_argument("--out", default=None, metavar="FILE", help="where to write it (default: PROJECT/batches/)")
    nxt.add_argument(
        "--reserve-hours",
        type=float,
        default=72.0,
        metavar="H",
        help="hours the rows stay reserved for this batch unless labeled (default: 72)",
    )
    nxt.set_defaults(func=run_next)

    imp = verbs.add_parser("import", help="read labels from an annotation tool's export")
    imp.add_argument("project", metavar="PROJECT", help="project directory (made by 'alsim label init')")
    imp.add_argument("file", metavar="FILE", help="exported labels (Label Studio, Argilla, Prodigy or CSV)")
    imp.add_argument("--format", default=None, choices=list(FORMATS), help="file format (default: detected)")
    imp.add_argument("--annotator", default=None, help="annotator name for every label in the file")
    imp.set_defaults(func=run_import)

    status = verbs.add_parser("status", help="labels, cost, learning curve, stopping verdict, labels still needed")
    status.add_argument("project", metavar="PROJECT", help="project directory (made by 'alsim label init')")
    status.add_argument("--target", type=float, default=None, help="accuracy to reach (labels still needed)")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=run_status)

    export = verbs.add_parser("export", help="write the labeled rows and every label's provenance")
    export.add_argument("project", metavar="PROJECT", help="project directory (made by 'alsim label init')")
    export.add_argument(
        "--out", default=None, metavar="FILE", help="CSV or parquet (default: PROJECT/export/labels.csv)"
    )
    export.set_defaults(func=run_export)

    for verb, helptext in (
        ("push", "send the rows of a batch to a Label Studio project as tasks"),
        ("pull", "import the finished annotations of the Label Studio project"),
    ):
        sub = verbs.add_parser(verb, help=helptext)
        sub.add_argument("project", metavar="PROJECT", help="project directory (made by 'alsim label init')")
        sub.add_argument(
            "--url", default=os.environ.get("LABEL_STUDIO_URL"), help="Label Studio URL (default: $LABEL_STUDIO_URL)"
        )
        sub.add_argument(
            "--token", default=None, help="Label Studio personal access token (default: $LABEL_STUDIO_API_KEY)"
        )
        if verb == "push":
            sub.add_argument(
                "--batch", type=int, default=None, metavar="ID", help="batch id (default: the latest batch)"
            )
        sub.set_defaults(func=run_push if verb == "push" else run_pull)


def run_init(args: argparse.Namespace) -> int:
    """Run ``alsim label init``: create a project from a table and print what it holds."""
    from alsim.labeling import init_project

    project = init_project(
        args.table,
        args.out,
        id=args.id_column,
        label=args.label_column,
        strategy=args.strategy,
        learner=args.learner,
        text=args.text,
        embedding=args.embedding,
        ignore=args.ignore,
        resolution=args.resolution,
        stopping_rule=args.stopping_rule,
        random_state=args.seed,
    )
    with project:
        status = project.session()
        print(
            f"created {project.path}: {status.n_pool} rows, {status.n_labeled} labeled, "
            f"classes {project.classes}, {project.X.shape[1]} features ({project.X.dtype})"
        )
    return 0


def run_next(args: argparse.Namespace) -> int:
    """Run ``alsim label next``: write the next batch as a file for an annotation tool."""
    from alsim.labeling import LabelingProject

    with LabelingProject(args.project) as project:
        batch, path = project.next(args.batch, format=args.format, out=args.out, reservation_hours=args.reserve_hours)
        print(f"round {batch.round}: {len(batch)} rows -> {path}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Run ``alsim label import``: read labels from an annotation tool's export."""
    from alsim.labeling import LabelingProject

    with LabelingProject(args.project) as project:
        print(project.import_labels(args.file, format=args.format, annotator=args.annotator).message())
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Run ``alsim label status``: print the project's status, as text or JSON."""
    from alsim.labeling import LabelingProject
    from alsim.labeling.status import format_status

    with LabelingProject(args.project) as project:
        status = project.status(target=args.target)
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Run ``alsim label export``: write the labeled rows and every label's provenance."""
    from alsim.labeling import LabelingProject

    with LabelingProject(args.project) as project:
        table, provenance = project.export(args.out)
    print(f"wrote {table} and {provenance}")
    return 0


def _client(args: argparse.Namespace) -> Any:
    from alsim.exceptions import InvalidParameterError
    from alsim.labeling.labelstudio import LabelStudio

    token = args.token or os.environ.get("LABEL_STUDIO_API_KEY")
    if not args.url or not token:
        raise InvalidParameterError(
            "Give the Label Studio server with --url (or $LABEL_STUDIO_URL) and a personal "
            "access token with --token (or $LABEL_STUDIO_API_KEY)."
        )
    return LabelStudio(args.url, token)


def run_push(args: argparse.Namespace) -> int:
    """Run ``alsim label push``: send a batch's rows to Label Studio as tasks."""
    from alsim.labeling import LabelingProject
    from alsim.labeling.labelstudio import push_batch

    with LabelingProject(args.project) as project:
        ls_project, n_tasks = push_batch(project, _client(args), batch_id=args.batch)
    print(f"sent {n_tasks} task(s) to Label Studio project {ls_project}")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    """Run ``alsim label pull``: import the finished annotations from Label Studio."""
    from alsim.labeling import LabelingProject
    from alsim.labeling.labelstudio import pull_annotations

    with LabelingProject(args.project) as project:
        print(pull_annotations(project, _client(args)).message())
    return 0
