"""Sufficient statistics computed inside the engine (pandas, polars, DuckDB, Spark).

The estimators that run "in the engine" (:mod:`pceval.did._in_engine`) never collect a
person-level table. They ask the engine for sums -- weighted cross-products ``sum_i w_i x_ia
x_ib``, cluster score sums, moments by stratum -- written once with narwhals (``group_by``,
``agg``, ``select``; expressions with fitted coefficients as literals; no user-defined
functions), and collect only those sums, whose size depends on the number of columns,
strata or clusters, never on the number of rows.

* :func:`totals` -- one row of named sums (optionally by a few key columns);
* :func:`crossproducts` -- the expressions ``sum w x_a x_b`` (``a <= b``) and their assembly
  into a symmetric matrix (``X'WX`` and ``X'Wy`` for least squares and each IRLS step);
* :func:`cluster_meat` -- ``sum_g S_g S_g'`` for cluster score sums ``S_g = sum_{i in g} s_i``,
  computed in the engine (a nested aggregation), so that clustering by person at national
  scale collects a ``K x K`` matrix, not one row per person.

Reference for the sandwich: Cameron & Miller (2015) J. Human Resources 50(2); for computing
regressions from sufficient statistics at scale: Wong et al. (2021) "You only compress once",
arXiv:2102.11297.

Example
-------
>>> import narwhals as nw, pandas as pd
>>> from pceval._engines import lazy
>>> lf = lazy(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 7.0]}), "data")
>>> float(totals(lf, {"sxy": (nw.col("x") * nw.col("y")).sum()})["sxy"].iloc[0])
31.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import narwhals as nw
import numpy as np
import pandas as pd

from pceval._engines import collect_pandas


def totals(lf: nw.LazyFrame, exprs: Mapping[str, nw.Expr],
           by: Sequence[str] | None = None) -> pd.DataFrame:
    """The aggregations ``exprs`` (name -> aggregate expression) over ``lf``, one row, or one
    row per combination of ``by`` (sorted by ``by``), collected to pandas."""
    named = [e.alias(k) for k, e in exprs.items()]
    if by:
        out = collect_pandas(lf.group_by(list(by)).agg(*named))
        return out.sort_values(list(by), kind="stable").reset_index(drop=True)
    return collect_pandas(lf.select(*named))


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(k) for b in range(a, k)]


def crossproduct_exprs(x: Sequence[nw.Expr], w: nw.Expr, prefix: str) -> dict[str, nw.Expr]:
    """``{prefix_a_b: sum w x_a x_b}`` for ``a <= b`` (read back with :func:`symmetric`)."""
    return {f"{prefix}_{a}_{b}": (w * x[a] * x[b]).sum() for a, b in _pairs(len(x))}


def symmetric(row: pd.Series | Mapping, prefix: str, k: int) -> np.ndarray:
    """The ``k x k`` symmetric matrix from the sums of :func:`crossproduct_exprs`."""
    m = np.empty((k, k))
    for a, b in _pairs(k):
        m[a, b] = m[b, a] = float(row[f"{prefix}_{a}_{b}"])
    return m


def vector_exprs(x: Sequence[nw.Expr], v: nw.Expr, prefix: str) -> dict[str, nw.Expr]:
    """``{prefix_a: sum v x_a}`` (e.g. ``X'Wy`` with ``v = w y``, or a score ``w x (y - mu)``)."""
    return {f"{prefix}_{a}": (v * x[a]).sum() for a in range(len(x))}


def vector(row: pd.Series | Mapping, prefix: str, k: int) -> np.ndarray:
    return np.array([float(row[f"{prefix}_{a}"]) for a in range(k)])


def linear_predictor(x: Sequence[nw.Expr], beta: np.ndarray) -> nw.Expr:
    """``sum_a beta_a x_a`` with the coefficients as literals."""
    eta = nw.lit(float(beta[0])) * x[0]
    for b, xa in zip(beta[1:], x[1:], strict=True):
        eta = eta + nw.lit(float(b)) * xa
    return eta


def cluster_meat(lf: nw.LazyFrame, scores: Sequence[nw.Expr], cluster: str) -> tuple[np.ndarray, int]:
    """``(M, G)``: ``M = sum_g S_g S_g'`` with ``S_g`` the per-row ``scores`` summed within
    cluster ``g``, and ``G`` the number of clusters. Both steps run in the engine (a group-by
    then one aggregation), so only the ``K x K`` matrix is collected."""
    k = len(scores)
    names = [f"_s{a}" for a in range(k)]
    per = (lf.with_columns(*[s.alias(c) for c, s in zip(names, scores, strict=True)])
           .group_by(cluster).agg(*[nw.col(c).sum() for c in names]))  # simple sums: fast on pandas
    cols = [nw.col(c) for c in names]
    exprs = {f"m_{a}_{b}": (cols[a] * cols[b]).sum() for a, b in _pairs(k)}
    exprs["n_clusters"] = nw.len()
    row = totals(per, exprs).iloc[0]
    return symmetric(row, "m", k), int(row["n_clusters"])


def materialize(lf: nw.LazyFrame) -> nw.LazyFrame:
    """Compute ``lf`` once and keep the result in its engine, for queries that read it several
    times: a DuckDB temporary table on the relation's own connection, a cached Spark DataFrame,
    a collected polars frame. pandas is already in memory. Free it with :func:`release`."""
    impl = lf.implementation
    if impl.is_duckdb():
        import uuid

        name = f"_pceval_{uuid.uuid4().hex[:12]}"
        rel = lf.to_native()
        rel.query("_pceval_src", f"CREATE TEMP TABLE {name} AS SELECT * FROM _pceval_src")
        return nw.from_native(rel.query("_pceval_src", f"SELECT * FROM {name}"))
    if impl.is_spark_like():
        native = lf.to_native()
        if hasattr(native, "cache"):
            return nw.from_native(native.cache())
        return lf
    if impl.is_polars():
        return lf.collect(backend="polars").lazy()
    return lf


def release(lf: nw.LazyFrame) -> None:
    """Free what :func:`materialize` kept (drop the DuckDB table, unpersist the Spark frame)."""
    impl = lf.implementation
    native = lf.to_native()
    if impl.is_duckdb():
        sql = native.sql_query()
        import re

        # the relation reads its own table last (the earlier names are the tables it was
        # computed from, e.g. another materialized table)
        names = re.findall(r"_pceval_[0-9a-f]{12}", sql)
        if names:
            native.query("_pceval_src", f"DROP TABLE IF EXISTS {names[-1]}")
    elif impl.is_spark_like() and hasattr(native, "unpersist"):
        native.unpersist()


__all__ = ["materialize", "release", "totals", "crossproduct_exprs", "symmetric", "vector_exprs", "vector",
           "linear_predictor", "cluster_meat"]
