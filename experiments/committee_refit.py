"""What refitting the committee only every k rounds (``refit_every``) saves, and what it changes in the curves.

``python experiments/committee_refit.py [--datasets openml:54 ...] [--seeds 0 1 2] [--refit-every 1 3 5]``
runs ``qbc_vote_entropy`` and ``qbc_kl`` with the settings of ``experiments/cc18.toml`` (logistic regression,
batch 10, 20 random initial labels, 300 labels, one BLAS thread, as ``alsim run`` does) for every dataset,
seed and ``refit_every`` value, and prints, per strategy and value, against the default ``refit_every=1``
on the same dataset and seed:

- the CPU time of a cell (process user+sys time, summed over the cells; ratio to the default),
- the AULC difference (mean accuracy over the labels, trapezoid; the same area ``alsim.metrics.aulc``
  computes when every run reaches the budget): mean, standard deviation and largest absolute value over the
  (dataset, seed) pairs,
- how many runs picked the same examples as the default,

and, for scale, how much the default's AULC varies from seed to seed.

The numbers are quoted in docs/guides/study.md ("Committee refits").
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections import defaultdict

DATASETS = ["openml:54", "openml:28", "openml:44", "openml:23", "openml:3", "openml:307"]
STRATEGIES = ["qbc_vote_entropy", "qbc_kl"]


def _aulc(records) -> float:
    import numpy as np

    x = records["n_labeled"].to_numpy().astype(float)
    y = records["accuracy"].to_numpy()
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def main() -> None:
    """Run the committee strategies with each refit_every value and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--refit-every", type=int, nargs="+", default=[1, 3, 5])
    args = parser.parse_args()
    # One BLAS/OpenMP and one kernel thread, set before numpy and the kernels start their pools, as `alsim
    # run` sets them for its workers: limited only afterwards (threadpoolctl), a qbc cell was measured 3-20x
    # costlier in CPU on this shared machine.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    import alsim
    from alsim.datasets import load_dataset

    values = sorted(set(args.refit_every) | {1})

    cpu: dict[tuple[str, int], float] = defaultdict(float)
    aulc: dict[tuple[str, int, str, int], float] = {}
    picks: dict[tuple[str, int, str, int], list[list[int]]] = {}
    runs = list(itertools.product(args.datasets, args.seeds, STRATEGIES, values))
    datasets = {spec: load_dataset(spec) for spec in args.datasets}
    common = {"learner": "logreg", "batch_size": 10, "initial_size": 20, "initial": "random", "label_budget": 300}
    with threadpool_limits(limits=1):
        for strategy in STRATEGIES:  # untimed: first calls pay for imports and lazy set-up
            alsim.simulate(datasets[args.datasets[0]], strategy=strategy, **common, random_state=0)
        for spec, seed, strategy, every in tqdm(runs, desc="committee refits", unit="run"):
            start = time.process_time()
            result = alsim.simulate(
                datasets[spec],
                strategy=strategy,
                strategy_params={"refit_every": every},
                **common,
                random_state=seed,
            )
            cpu[strategy, every] += time.process_time() - start
            aulc[spec, seed, strategy, every] = _aulc(result.records)
            picks[spec, seed, strategy, every] = result.records["selected"].to_list()
            tqdm.write(
                f"{spec} seed {seed} {strategy} refit_every={every}: CPU {time.process_time() - start:.2f} s, "
                f"AULC {aulc[spec, seed, strategy, every]:.4f}"
            )

    print(f"{len(args.datasets)} datasets x {len(args.seeds)} seeds; datasets {args.datasets}")
    for strategy in STRATEGIES:  # the scale of the differences: how much AULC moves from seed to seed
        spreads = [statistics.stdev([aulc[spec, seed, strategy, 1] for seed in args.seeds]) for spec in args.datasets]
        if len(args.seeds) > 1:
            print(
                f"{strategy}: AULC standard deviation over seeds at refit_every=1, mean over datasets "
                f"{statistics.fmean(spreads):.4f}"
            )
    print("strategy          refit_every  CPU s  CPU vs 1  AULC diff mean    sd   max|.|  same picks")
    for strategy, every in itertools.product(STRATEGIES, values):
        pairs = list(itertools.product(args.datasets, args.seeds))
        diffs = [aulc[spec, seed, strategy, every] - aulc[spec, seed, strategy, 1] for spec, seed in pairs]
        same = sum(picks[spec, seed, strategy, every] == picks[spec, seed, strategy, 1] for spec, seed in pairs)
        spread = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        print(
            f"{strategy:<17} {every:>11} {cpu[strategy, every]:6.1f} {cpu[strategy, 1] / cpu[strategy, every]:8.2f}x "
            f"{statistics.fmean(diffs):+14.4f} {spread:6.4f} {max(map(abs, diffs)):7.4f}  {same}/{len(pairs)}"
        )


if __name__ == "__main__":
    main()
