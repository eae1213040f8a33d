"""``alsim bench``: run the kernel benchmark suite and gate on same-run speed ratios."""

from __future__ import annotations

import argparse

_DESCRIPTION = """\
Time every kernel of alsim.kernels with pytest-benchmark, next to its plain-numpy reference and one read
pass over the same input, and compare the same-run ratios (kernel/numpy, kernel/read pass) with a
baseline. Timed ratios are compared only with a baseline recorded on this machine (CPU, core count,
instruction sets, numpy and BLAS build); without one the table says "no baseline" and nothing fails. A case
regresses only when every repeat of it, in the first and the confirming run, is beyond the tolerance;
otherwise it is "inconclusive". Exit status: 0 when nothing regressed (including "no baseline for this
machine" and "inconclusive", each explained in a note), 1 when a case regressed or the suite failed, 2 on a
usage error. --quick (the default) times the medium sizes in under two minutes; --full times every size
and is the mode that refreshes the baseline (--update-baseline). --instructions counts instructions with
callgrind instead: counts repeat exactly, so that mode gates deterministically, against one baseline that
records the valgrind, Python and numpy builds it was counted with."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``alsim bench`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the kernels and fail on a speed regression",
        description=_DESCRIPTION,
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--quick", dest="mode", action="store_const", const="quick", help="medium sizes only (default)")
    modes.add_argument("--full", dest="mode", action="store_const", const="full", help="every size")
    parser.set_defaults(mode="quick")
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        default=None,
        help="baseline JSON file of ratios (default: the baseline shipped with alsim)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.25,
        help="largest accepted worsening of the ratio to numpy, as a fraction (default: 0.25)",
    )
    parser.add_argument(
        "--read-tolerance",
        type=float,
        default=0.5,
        help="largest accepted worsening of the ratio to one read pass (default: 0.5; the memory-bound "
        "read pass is the reference that load on a shared machine disturbs most)",
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=1,
        help="run the suite this many times and use the median ratios (default: 1; use 3 with "
        "--update-baseline for a steadier baseline)",
    )
    parser.add_argument(
        "--json",
        metavar="OUT",
        default=None,
        help="write the pytest-benchmark JSON report, with the comparison added, to this file",
    )
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="write the measured ratios to the baseline file instead of failing on changes",
    )
    parser.add_argument(
        "--kernels",
        metavar="NAMES",
        default=None,
        help="comma-separated kernels to run (default: all), e.g. select_most_uncertain,k_center_greedy",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for the kernels (rayon) and BLAS; 1 (default) times CPU time, which load on a "
        "shared machine hardly disturbs; 0 = the libraries' defaults, timed by the wall clock",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions with valgrind's callgrind instead of timing (immune to load; slower)",
    )
    parser.add_argument(
        "--no-confirm",
        dest="confirm",
        action="store_false",
        help="do not re-measure regressed cases before failing",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim bench`` with the parsed ``args``; return the process exit code."""
    import json
    import sys
    from pathlib import Path

    from alsim._output import check_output_file, writing_to
    from alsim.benchmarking import gate

    kernels = [name.strip() for name in args.kernels.split(",") if name.strip()] if args.kernels else None
    gate.check_options(
        args.mode,
        args.tolerance,
        kernels,
        caller="alsim bench",
        threads=args.threads,
        read_tolerance=args.read_tolerance,
        passes=args.passes,
    )
    from alsim.benchmarking import machine

    if not args.instructions:  # timings run the suite under pytest-benchmark; callgrind counts need neither
        gate.require_suite_dependencies()
    baseline_path = Path(args.baseline) if args.baseline else gate.DEFAULT_BASELINE
    # Before the suite runs (minutes): the files this run will write must be writable.
    if args.json:
        check_output_file(args.json, who="--json")
    if args.update_baseline:
        check_output_file(baseline_path, who="--baseline")
    section = "instruction_entries" if args.instructions else "entries"
    if args.update_baseline and not baseline_path.exists():
        baseline_file = gate.BaselineFile(baseline_path, (), {})
    else:
        baseline_file = gate.read_baseline(baseline_path)
    here = machine.fingerprint()
    keep = baseline_file.instruction_entries if args.instructions else baseline_file.timed_for(here)[0] or {}
    counter = "instruction counts (callgrind)" if args.instructions else "timings"
    print(f"alsim bench: {args.mode} mode, {counter}, baseline {baseline_path}", file=sys.stderr)
    if not args.instructions:
        print(f"alsim bench: this machine: {machine.describe(here)}", file=sys.stderr)
    result, measured, reports = gate.run_gate(
        args.mode,
        baseline=keep if args.update_baseline else baseline_file,
        tolerance=args.tolerance,
        read_tolerance=args.read_tolerance,
        kernels=kernels,
        confirm=args.confirm and not args.update_baseline,
        instructions=args.instructions,
        threads=args.threads,
        passes=args.passes,
    )
    print(gate.format_table(result.comparisons, args.tolerance, args.read_tolerance))
    if result.pytest_returncode != 0:
        print(
            f"alsim bench: the benchmark suite failed (pytest exit code {result.pytest_returncode}); "
            "see its output above.",
            file=sys.stderr,
        )
    if result.missing:
        print(f"alsim bench: no complete measurement for {', '.join(result.missing)}", file=sys.stderr)
    if not args.update_baseline:
        for note in result.notes:
            print(f"alsim bench: note: {note}", file=sys.stderr)
    if args.json:
        report = dict(reports[0])
        report["alsim_gate"] = {
            "mode": args.mode,
            "tolerance": args.tolerance,
            "read_tolerance": args.read_tolerance,
            "baseline": str(baseline_path),
            "exit_code": result.exit_code,
            "pytest_returncode": result.pytest_returncode,
            "missing": result.missing,
            "notes": result.notes,
            "machine": here,
            "rows": [row.as_dict() for row in result.comparisons],
            "further_runs": reports[1:],
        }
        with writing_to(args.json, who="--json"):
            Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.update_baseline:
        if result.pytest_returncode != 0 or result.missing:
            print("alsim bench: baseline not updated because the suite did not pass.", file=sys.stderr)
            return 1
        gate.write_baseline(baseline_path, measured.values(), mode=args.mode, keep=keep, section=section, here=here)
        where = "the instruction-count baseline" if args.instructions else "the timed baseline of this machine"
        print(f"alsim bench: wrote {len(measured)} entries to {where} in {baseline_path}", file=sys.stderr)
        return 0
    if result.regressed:
        names = ", ".join(row.measurement.group for row in result.regressed)
        print(f"alsim bench: speed regression in {names}", file=sys.stderr)
    return result.exit_code
