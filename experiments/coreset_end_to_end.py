"""A core-set run end to end, for the k-center kernel's effect on a whole run (issue 20).

``python experiments/coreset_end_to_end.py {isotropic,embedding} [--core PATH]`` times ``alsim.simulate``
with the ``coreset`` strategy (logistic regression, batch 100, 2,000 labels) on 50,000 x 128 features:
standard normal (``isotropic``) or sentence-embedding-like (32 latent directions with a decaying spectrum,
a little noise, unit norm). ``--core`` loads another build of ``alsim._core`` (for instance one built from
an earlier commit) in place of the installed one, so two kernels can be timed in turn on the same data; the
final accuracy is printed too, and equal accuracies mean the same picks.
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np
import pandas as pd

import alsim
from alsim import kernels
from alsim.datasets import Dataset, split_dataset


def features(shape: str, rng: np.random.Generator, n: int = 50_000, d: int = 128) -> np.ndarray:
    """Return the ``n x d`` features of one shape."""
    if shape == "isotropic":
        return rng.standard_normal((n, d))
    latent = rng.standard_normal((n, 32)) * (1.0 / np.arange(1, 33)) ** 0.5
    points = latent @ rng.standard_normal((32, d)) + 0.05 * rng.standard_normal((n, d))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def main() -> None:
    """Time one core-set run and print its wall time and final accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=["isotropic", "embedding"])
    parser.add_argument("--core", help="path of another alsim._core build to use instead of the installed one")
    args = parser.parse_args()
    if args.core:
        spec = importlib.util.spec_from_file_location("_core", args.core)
        if spec is None or spec.loader is None:
            parser.error(f"--core: cannot load {args.core!r} as an extension module.")
        core = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(core)
        kernels._core = core
    rng = np.random.default_rng(0)
    X = features(args.shape, rng)
    signal = X[:, :4].sum(axis=1)
    y = np.where(signal + 0.5 * signal.std() * rng.standard_normal(len(X)) > 0, "a", "b").astype(object)
    columns = [f"f{j}" for j in range(X.shape[1])]
    dataset = Dataset(name=args.shape, spec=args.shape, features=pd.DataFrame(X, columns=columns), target=y, label="y")
    split = split_dataset(dataset, random_state=0)
    started = time.perf_counter()
    result = alsim.simulate(
        split, strategy="coreset", learner="logreg", batch_size=100, label_budget=2000, random_state=0
    )
    seconds = time.perf_counter() - started
    print(f"{args.shape}: {seconds:.2f} s, final accuracy {result.records['accuracy'][-1]:.4f}")


if __name__ == "__main__":
    main()
