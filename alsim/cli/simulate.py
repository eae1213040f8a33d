"""``alsim simulate --dataset SPEC --strategy NAME --seed N --out DIR``: one simulated labeling run.

``--mode stream`` replays a stream instead (:func:`alsim.stream.simulate_stream`): examples arrive one at a
time and are labelled or skipped on the spot.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add the ``alsim simulate`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "simulate",
        help="run one simulated active-learning loop and save its per-round records",
        description=(
            "Replay a pool-based labeling loop on a labeled dataset with a simulated oracle; write "
            "DIR/records.parquet (records + config + metadata, readable with alsim.load_result) and "
            "DIR/learning_curve.png, and print a short summary."
        ),
    )
    parser.add_argument("--dataset", required=True, metavar="SPEC", help="'openml:<id>' or a CSV/parquet/ARFF path")
    parser.add_argument("--label", default=None, help="label column (required for CSV/parquet files)")
    parser.add_argument(
        "--ignore",
        action="append",
        default=None,
        metavar="COLUMN",
        help="column of the data file not to use as a feature (an identifier, a cost, notes...); repeat for more",
    )
    parser.add_argument(
        "--mode",
        choices=["pool", "stream"],
        default="pool",
        help="pool-based batches (default) or a stream of arrivals labelled or skipped one at a time",
    )
    parser.add_argument(
        "--strategy",
        default=None,
        help="query strategy name (default: margin; variable_uncertainty with --mode stream)",
    )
    parser.add_argument(
        "--learner", default=None, help="learner name (default: logreg; gaussian_nb with --mode stream)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the run (default: 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    parser.add_argument("--batch-size", type=int, default=10, help="labels bought per round (default: 10)")
    parser.add_argument("--budget", type=int, default=None, metavar="N", help="label budget, initial set included")
    parser.add_argument("--cost-budget", type=float, default=None, metavar="C", help="labeling cost budget")
    parser.add_argument(
        "--initial",
        default="random",
        metavar="METHOD",
        help="cold start: random, kmeans_pp, k_center or per_class (benchmark only) (default: random)",
    )
    parser.add_argument("--initial-size", type=int, default=None, metavar="N", help="size of the initial set")
    parser.add_argument("--noise", type=float, default=0.0, help="oracle's uniform label-flip rate (default: 0)")
    parser.add_argument("--annotators", type=int, default=1, help="annotators per label, majority vote (default: 1)")
    parser.add_argument("--test-size", type=float, default=0.3, help="held-out test share (default: 0.3)")
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    stream = parser.add_argument_group(
        "stream mode (--mode stream; the batch, budget and initial options are pool-only)"
    )
    stream.add_argument(
        "--order",
        default="shuffle",
        help="arrival order: shuffle, abrupt_class, gradual_class, abrupt_feature or gradual_feature "
        "(default: shuffle)",
    )
    stream.add_argument("--budget-fraction", type=float, default=0.1, help="share of arrivals to label (default: 0.1)")
    stream.add_argument(
        "--update",
        default="partial_fit",
        metavar="partial_fit|N",
        help="update the learner with partial_fit, or retrain it every N labels (default: partial_fit)",
    )
    stream.add_argument(
        "--drift-detector",
        default=None,
        metavar="NAME",
        help="adwin or page_hinkley: raise the labelling rate after a detected drift (default: none)",
    )
    stream.add_argument("--block-size", type=int, default=100, help="arrivals per recorded row (default: 100)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim simulate`` with the parsed ``args``; return the process exit code."""
    from alsim._output import check_output_dir, check_output_file
    from alsim.datasets import load_dataset
    from alsim.loop import simulate

    # Before the simulation: a bad --out must not cost the whole run.
    out = check_output_dir(args.out, who="--out")
    path = check_output_file(out / "records.parquet", who="--out")
    plot_path = check_output_file(out / "learning_curve.png", who="--out")
    dataset: Any = args.dataset
    if args.label is not None or args.ignore:
        dataset = load_dataset(args.dataset, label=args.label, ignore=args.ignore or ())
    if args.mode == "stream":
        from alsim.stream import simulate_stream

        result = simulate_stream(
            dataset,
            strategy=args.strategy or "variable_uncertainty",
            learner=args.learner or "gaussian_nb",
            order=args.order,
            budget_fraction=args.budget_fraction,
            update=int(args.update) if args.update.isdigit() else args.update,
            drift_detector=args.drift_detector,
            oracle={"noise_rate": args.noise, "n_annotators": args.annotators},
            block_size=args.block_size,
            initial_size=args.initial_size,
            test_size=args.test_size,
            random_state=args.seed,
            progress=not args.no_progress,
        )
    else:
        result = simulate(
            dataset,
            strategy=args.strategy or "margin",
            learner=args.learner or "logreg",
            batch_size=args.batch_size,
            initial_size=args.initial_size,
            initial=args.initial,
            label_budget=args.budget,
            cost_budget=args.cost_budget,
            oracle={"noise_rate": args.noise, "n_annotators": args.annotators},
            test_size=args.test_size,
            random_state=args.seed,
            progress=not args.no_progress,
        )
    result.save(path)
    result.plot(plot_path)
    print(result.summary())
    print(f"records: {path}\nlearning curve: {plot_path}")
    return 0
