"""Synthetic splits for the stream tests."""

from __future__ import annotations

import numpy as np

from alsim.datasets import Split


def flipped_concept_split(seed: int = 0, n_per_region: int = 2000) -> Split:
    """Two regions far apart on x0 whose class boundaries on x1 are opposite: a feature-space drift that
    brings the second region is a real concept change for a model trained on the first."""
    rng = np.random.default_rng(seed)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        region = np.repeat([0, 1], n)
        x0 = np.where(region == 0, -8.0, 8.0) + rng.normal(size=2 * n)
        x1 = 2.0 * rng.normal(size=2 * n)
        return np.column_stack([x0, x1]), ((x1 > 0) ^ (region == 1)).astype(np.int64)

    X_pool, y_pool = draw(n_per_region)
    X_test, y_test = draw(n_per_region // 4)
    return Split(X_pool, y_pool, X_test, y_test, np.array(["a", "b"], dtype=object), ["x0", "x1"], "flip")
