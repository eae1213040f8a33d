"""Distance of each strategy to a reference bound (a strategy that reads the true labels, e.g. the lookahead oracle)."""

from __future__ import annotations

import polars as pl

from alsim.stats import SETTING_COLUMNS

__all__ = ["distance_to_bound"]


def distance_to_bound(per_run: pl.DataFrame, bound: str) -> pl.DataFrame | None:
    """Per dataset, the mean over seeds of ``AULC(bound) - AULC(strategy)`` on the same seeds.

    Parameters
    ----------
    per_run : polars.DataFrame
        Per-run AULC (:func:`alsim.metrics.aulc`): ``dataset``, the setting columns, ``strategy``, ``seed``,
        ``aulc``.
    bound : str
        Name of the reference strategy (e.g. ``"lookahead_oracle"``).

    Returns
    -------
    polars.DataFrame or None
        One row per dataset, setting and strategy other than ``bound``: ``gap`` (mean over the seeds both
        ran; positive = below the bound) and ``n`` (seeds paired); then rows with ``dataset`` = ``"mean"``
        averaging each strategy's per-dataset gaps (``n``: datasets). None when ``bound`` is not among the
        strategies.
    """
    if bound not in set(per_run.get_column("strategy").unique().to_list()):
        return None
    keys = ["dataset", *SETTING_COLUMNS, "seed"]
    reference = per_run.filter(pl.col("strategy") == bound).select(*keys, pl.col("aulc").alias("bound_aulc"))
    paired = per_run.filter(pl.col("strategy") != bound).join(reference, on=keys, how="inner")
    per_dataset = paired.group_by("dataset", *SETTING_COLUMNS, "strategy").agg(
        (pl.col("bound_aulc") - pl.col("aulc")).mean().alias("gap"), pl.len().cast(pl.Int64).alias("n")
    )
    overall = (
        per_dataset.group_by(*SETTING_COLUMNS, "strategy")
        .agg(pl.col("gap").mean(), pl.len().cast(pl.Int64).alias("n"))
        .with_columns(pl.lit("mean").alias("dataset"))
        .select(per_dataset.columns)
    )
    return pl.concat(
        [per_dataset.sort("dataset", *SETTING_COLUMNS, "strategy"), overall.sort(*SETTING_COLUMNS, "strategy")]
    )
