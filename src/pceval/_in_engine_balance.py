"""Covariate balance tables computed inside the engine (DuckDB, Spark, polars LazyFrame).

:func:`pceval.balance_table` given a lazy table comes here: every statistic of the in-memory
table (:mod:`pceval.covariate_balance`) is a function of weighted moments by treatment group,
which the engine computes with group-bys (written once with narwhals, no user-defined
functions); only those sums are collected.

For each expanded covariate ``x`` and each sample -- ``"all"`` with weights ``v_i = s_i``
(sampling weights, 1 if none) and ``"matched"`` with ``v_i = w_i s_i`` -- and each group
``g`` (treated 1 / untreated 0)::

    S_g = sum v,   S2_g = sum v^2,   m_g = sum v x / S_g,   C_g = sum v (x - m_g)^2

(``C_g`` in a second pass with ``m_g`` as a literal, so no precision is lost to cancellation),
and the weighted variance is R's ``cov.wt``: ``var_g = (C_g / S_g) / (1 - S2_g / S_g^2)``
(``m_g (1 - m_g)`` for a binary covariate). The SMD, variance ratio, SMD denominator and the
report's mean (SD) columns follow from these exactly as in memory.

eCDF statistics: with ``u_i = v_i [t_i / S_1 - (1 - t_i) / S_0]`` summed by distinct value of
``x`` (a group-by) and cumulated in the order of ``x`` (a window ``cum_sum`` over ``order_by``),
``ecdf_mean`` and ``ecdf_max`` (= ``ks``) are the mean and maximum of ``|cumulative sum|`` over
the distinct values -- one query per continuous covariate and sample, collecting two numbers.

Not in the engine: the standardised pair distance (``subclass=``) needs every matched pair; it
is refused with the size of what to collect. Weights must be a column of the table.

Example
-------
>>> import duckdb, pandas as pd
>>> from pceval import balance_table
>>> rel = duckdb.connect().from_df(pd.DataFrame({"t": [1, 1, 0, 0, 0],
...                                              "age": [30, 40, 35, 50, 60]}))
>>> round(float(balance_table(rel, treatment="t", covariates=["age"]).to_frame().loc[0, "smd"]), 3)
-1.886
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from pceval._balance_rules import covariate_row, smd_scale
from pceval._checks import _show, check_choice, check_number, require_columns
from pceval._engines import collect_pandas
from pceval._sufficient import totals
from pceval.errors import InputError

MAX_LEVELS = 1_000  # a text covariate with more levels is an identifier, not a factor


def _f(c: str) -> nw.Expr:
    return nw.col(c).cast(nw.Float64)


def _count(e: nw.Expr) -> nw.Expr:
    return e.cast(nw.Int64).sum()


def balance_in_engine(lf: nw.LazyFrame, treatment: str, covariates: Sequence[str],
                      weights: Any, *, estimand: str, s_weights: str | None,
                      subclass: str | None, squares: bool, interactions: bool,
                      thresholds: Mapping[str, float] | None, defaults: Mapping[str, float],
                      eps: float, result: Any) -> Any:
    """:func:`pceval.balance_table` on a lazy table (see the module docstring): ``defaults``
    (thresholds), ``eps`` and the ``result`` class come from :mod:`pceval.covariate_balance`,
    which calls this (a lower layer: it does not import that module)."""
    _SQRT_EPS, DEFAULT_THRESHOLDS, BalanceResult = eps, defaults, result  # noqa: N806
    for k, v in (thresholds or {}).items():
        check_choice(k, "thresholds key", tuple(DEFAULT_THRESHOLDS))
        check_number(v, f"thresholds['{k}']", low=0, low_open=True)
    thr = dict(DEFAULT_THRESHOLDS)
    thr.update(thresholds or {})
    if weights is not None and not isinstance(weights, str):
        raise InputError("`weights`: with a lazy table (DuckDB, Spark, polars LazyFrame) pass the "
                         "name of a weight column of the table, not an array")
    req = [treatment, *covariates] + [c for c in (weights, s_weights, subclass) if c]
    schema = lf.collect_schema()
    require_columns(list(schema.names()), "data", req)
    if subclass:
        n = int(totals(lf, {"n": nw.len()})["n"].iloc[0])
        raise InputError(
            f"balance_table(subclass=...) in the engine: the standardised pair distance needs "
            f"every matched pair, so collect the {n:,} rows x {len(req)} columns it needs (about "
            f"{n * len(req) * 8 / 1e6:,.0f} MB) first, e.g. relation.select(...).df() or "
            "spark_df.select(...).toPandas(); without subclass= the table runs in the engine")
    factors = [c for c in covariates if not (schema[c].is_numeric() or schema[c] == nw.Boolean)]
    _checks(lf, treatment, covariates, weights, s_weights)
    t = _f(treatment)
    sw = _f(s_weights) if s_weights else None
    cols, names, binary_known = _expand(lf, covariates, factors)
    cols, names, binary = _products(lf, cols, names, binary_known, squares, interactions, _SQRT_EPS)
    lf = lf.with_columns(t.alias("_t"), *[e.alias(f"_x{j}") for j, e in enumerate(cols)],
                         (sw if sw is not None else nw.lit(1.0)).alias("_v0"))
    v_all = nw.col("_v0")
    samples = {"all": v_all}
    if weights:
        lf = lf.with_columns((_f(weights) * v_all).alias("_v1"))
        samples["matched"] = nw.col("_v1")
    X = [nw.col(f"_x{j}") for j in range(len(cols))]
    mom = _moments(lf, X, samples, weights)
    recs, grp = [], []
    for j, nm in enumerate(names):
        b = bool(binary[j])
        std = _smd_denominator(mom, "all", j, b, estimand, _SQRT_EPS)
        a = _one(lf, X[j], samples, mom, "all", j, std, b, _SQRT_EPS)
        typ = "binary" if b else "continuous"
        recs.append({"covariate": nm, "sample": "all", **a, "type": typ})
        g = {"covariate": nm, "type": typ, "mean_treated": a["mean_treated"],
             "sd_treated": np.sqrt(_var(mom, "all", 1, j, b)), "mean_pool": a["mean_control"],
             "sd_pool": np.sqrt(_var(mom, "all", 0, j, b)), "smd_all": a["smd"],
             "mean_matched": np.nan, "sd_matched": np.nan, "smd_matched": np.nan}
        if weights:
            m = _one(lf, X[j], samples, mom, "matched", j, std, b, _SQRT_EPS)
            recs.append({"covariate": nm, "sample": "matched", **m, "type": typ})
            side = 0 if estimand != "ATC" else 1
            g["mean_matched"] = m["mean_control"] if estimand != "ATC" else m["mean_treated"]
            g["sd_matched"] = (np.sqrt(_var(mom, "matched", side, j, b))
                               if mom[("matched", side)]["nnz"] > 0 else np.nan)
            g["smd_matched"] = m["smd"]
        grp.append(g)
    tab = pd.DataFrame(recs)[["covariate", "sample", "smd", "var_ratio", "ecdf_mean", "ecdf_max",
                              "ks", "mean_treated", "mean_control", "std_pair_dist", "type"]]
    tab["smd_ok"] = tab["smd"].abs() <= thr["smd"]
    vr = tab["var_ratio"]
    tab["var_ratio_ok"] = vr.isna() | ((vr >= 1 / thr["var_ratio"]) & (vr <= thr["var_ratio"]))
    tab["ks_ok"] = tab["ks"].isna() | (tab["ks"] <= thr["ks"])
    tab["balanced"] = tab["smd_ok"] & tab["var_ratio_ok"] & tab["ks_ok"]
    tab["estimand"] = estimand
    return BalanceResult(table=tab, estimand=estimand, thresholds=thr,
                         sample_sizes=_sizes(mom, bool(weights)), groups=pd.DataFrame(grp))


def _checks(lf: nw.LazyFrame, treatment: str, covariates: Sequence[str], weights: str | None,
            s_weights: str | None) -> None:
    """The in-memory path's errors, from one aggregation."""
    schema = lf.collect_schema()
    if not (schema[treatment].is_numeric() or schema[treatment] == nw.Boolean):
        raise InputError(f"`data`: column '{treatment}' must be 0/1 (or boolean), but has type "
                         f"{schema[treatment]}")
    tr = _f(treatment)
    e: dict[str, nw.Expr] = {"t_null": _count(nw.col(treatment).is_null()),
                             "t_bad": _count(~tr.is_in([0.0, 1.0]) & ~nw.col(treatment).is_null()),
                             "n1": _count(tr == 1.0), "n0": _count(tr == 0.0)}
    for i, c in enumerate(covariates):
        e[f"miss{i}"] = _count(nw.col(c).is_null())
        if schema[c].is_numeric():
            e[f"miss{i}"] = _count(nw.col(c).is_null() | _f(c).is_nan())
            e[f"inf{i}"] = _count(_f(c).abs() == float("inf"))
    for k, wc in (("w", weights), ("sw", s_weights)):
        if wc:
            e[f"{k}_bad"] = _count(nw.col(wc).is_null() | _f(wc).is_nan() | (_f(wc) < 0)
                                   | (_f(wc).abs() == float("inf")))
    r = totals(lf, e).iloc[0]
    if int(r["t_null"]):
        raise InputError(f"`data`: column '{treatment}' has {int(r['t_null'])} missing value(s)")
    if int(r["t_bad"]):
        bad = collect_pandas(lf.filter(~_f(treatment).is_in([0.0, 1.0])).select(treatment)
                             .unique().head(5))[treatment]
        raise InputError(f"`data`: column '{treatment}' must be 0/1 (or boolean); found {_show(bad)}")
    if int(r["n1"]) == 0 or int(r["n0"]) == 0:
        raise InputError(f"`data`: column '{treatment}' needs both treated (1) and untreated (0) rows")
    for i, c in enumerate(covariates):
        if int(r[f"miss{i}"]):
            raise InputError(
                f"`data`: covariate '{c}' has {int(r[f'miss{i}'])} missing value(s); matching needs "
                "complete covariates (impute them, or add a missing-indicator column and fill the value)")
        if f"inf{i}" in r and int(r[f"inf{i}"]):
            raise InputError(f"`data`: covariate '{c}' has non-finite values (inf)")
    if weights and int(r["w_bad"]):
        raise InputError("`weights` must be finite and non-negative")
    if s_weights and int(r["sw_bad"]):
        raise InputError(f"`data`: column '{s_weights}' (s_weights) must be finite and >= 0")


def _expand(lf: nw.LazyFrame, covariates: Sequence[str], factors: list[str]
            ) -> tuple[list[nw.Expr], list[str], list[bool | None]]:
    """Numeric covariates as they are; text covariates one 0/1 column per level (sorted levels,
    as :func:`pceval._design.factor_levels`)."""
    from pceval._design import factor_levels

    cols: list[nw.Expr] = []
    names: list[str] = []
    known: list[bool | None] = []
    for c in covariates:
        if c in factors:
            lev = collect_pandas(lf.select(c).unique().head(MAX_LEVELS + 1))[c]
            if len(lev) > MAX_LEVELS:
                raise InputError(f"`covariates`: '{c}' has more than {MAX_LEVELS:,} distinct values; "
                                 "a balance table compares factors with few levels")
            for v in factor_levels(lev):
                cols.append((nw.col(c) == v).cast(nw.Float64))
                names.append(f"{c}{v}")
                known.append(True)
        else:
            cols.append(_f(c))
            names.append(c)
            known.append(None)
    return cols, names, known


def _products(lf: nw.LazyFrame, cols: list[nw.Expr], names: list[str], known: list[bool | None],
              squares: bool, interactions: bool, eps: float
              ) -> tuple[list[nw.Expr], list[str], np.ndarray]:
    """Which columns are binary (every value 0 or 1) and the squares / two-way products of
    :func:`pceval._design._add_products` (same names, same skipped products), in one query."""
    pairs = [(i, j) for i in range(len(cols)) for j in range(i, len(cols))
             if (i == j and squares) or (i != j and interactions)]
    e: dict[str, nw.Expr] = {}
    for j, x in enumerate(cols):
        if known[j] is None:
            e[f"nb{j}"] = _count(~x.is_in([0.0, 1.0]))
    for p, (i, j) in enumerate(pairs):
        x2 = cols[i] * cols[j]
        e[f"z{p}"] = _count(x2.abs() >= eps)
        e[f"s{p}"] = _count((x2 - cols[i]).abs() >= eps)
        e[f"pb{p}"] = _count(~x2.is_in([0.0, 1.0]))
    r = totals(lf, e).iloc[0] if e else {}
    binary = [bool(k) if k is not None else int(r[f"nb{j}"]) == 0 for j, k in enumerate(known)]
    out_c, out_n, out_b = list(cols), list(names), list(binary)
    for p, (i, j) in enumerate(pairs):
        if int(r[f"z{p}"]) == 0 or int(r[f"s{p}"]) == 0:
            continue  # a binary squared, or two levels of one factor
        out_c.append(cols[i] * cols[j])
        out_n.append(f"{names[i]}^2" if i == j else f"{names[i]} * {names[j]}")
        out_b.append(int(r[f"pb{p}"]) == 0)
    return out_c, out_n, np.array(out_b, dtype=bool)


def _moments(lf: nw.LazyFrame, X: list[nw.Expr], samples: dict[str, nw.Expr],
             weights: str | None) -> dict:
    """Per sample and group: ``n`` rows, ``S, S2``, non-zero weights, ``m`` (means) and ``C``
    (centred second moments); two group-bys on the treatment."""
    e: dict[str, nw.Expr] = {"n": nw.len()}
    if weights:
        e["wpos"] = _count(_f(weights) > 0)
    for s, v in samples.items():
        e[f"{s}_S"], e[f"{s}_S2"], e[f"{s}_nnz"] = v.sum(), (v * v).sum(), _count(v != 0)
        e.update({f"{s}_x{j}": (v * x).sum() for j, x in enumerate(X)})
    r1 = totals(lf, e, by=["_t"]).set_index("_t")
    mom: dict = {}
    for s in samples:
        for g in (0, 1):
            row = r1.loc[float(g)]
            S = float(row[f"{s}_S"])
            m = np.array([float(row[f"{s}_x{j}"]) / S if S > 0 else np.nan for j in range(len(X))])
            mom[(s, g)] = {"n": float(row["n"]), "S": S, "S2": float(row[f"{s}_S2"]),
                           "nnz": int(row[f"{s}_nnz"]), "m": m,
                           "wpos": int(row["wpos"]) if weights else None}
    e2: dict[str, nw.Expr] = {}
    t1 = nw.col("_t") == 1.0
    for s, v in samples.items():
        for j, x in enumerate(X):
            m1, m0 = mom[(s, 1)]["m"][j], mom[(s, 0)]["m"][j]
            mj = nw.when(t1).then(nw.lit(0.0 if np.isnan(m1) else float(m1))).otherwise(
                nw.lit(0.0 if np.isnan(m0) else float(m0)))
            e2[f"{s}_c{j}"] = (v * (x - mj) * (x - mj)).sum()
    r2 = totals(lf, e2, by=["_t"]).set_index("_t")
    for s in samples:
        for g in (0, 1):
            mom[(s, g)]["C"] = np.array([float(r2.loc[float(g), f"{s}_c{j}"]) for j in range(len(X))])
    if weights:
        for g, label in ((1, "treated"), (0, "comparison")):
            if not mom[("matched", g)]["wpos"]:
                raise InputError(f"`weights` are 0 for every {label} row: there is no weighted "
                                 f"{label} group to compare")
    return mom


def _var(mom: dict, s: str, g: int, j: int, binary: bool) -> float:
    """:func:`pceval.covariate_balance.weighted_var` from the moments."""
    mm = mom[(s, g)]
    S, S2 = mm["S"], mm["S2"]
    if S <= 0:
        return float("nan")
    m = mm["m"][j]
    if binary:
        return float(m * (1 - m))
    denom = 1.0 - S2 / S**2
    if denom <= 0:
        return float("nan")
    return float(mm["C"][j] / S / denom)


def _smd_denominator(mom: dict, s: str, j: int, binary: bool, estimand: str, eps: float) -> float:
    """:func:`pceval.covariate_balance.smd_denominator` from the moments."""
    v1, v0 = _var(mom, s, 1, j, binary), _var(mom, s, 0, j, binary)
    return smd_scale(v1, v0, mom[(s, 1)]["n"], mom[(s, 0)]["n"], binary, estimand, eps)


def _one(lf: nw.LazyFrame, x: nw.Expr, samples: dict[str, nw.Expr], mom: dict, s: str, j: int,
         std: float, binary: bool, eps: float) -> dict[str, float]:
    """:func:`pceval.covariate_balance._one` from the moments (and the eCDF query)."""
    m1, m0 = float(mom[(s, 1)]["m"][j]), float(mom[(s, 0)]["m"][j])
    return covariate_row(
        m1, m0, too_small=mom[(s, 1)]["nnz"] < 2 and mom[(s, 0)]["nnz"] < 2, std=std,
        binary=binary, eps=eps,
        variances=lambda: (_var(mom, s, 1, j, False), _var(mom, s, 0, j, False)),
        ecdf=lambda: _ecdf(lf, x, samples[s], mom[(s, 1)]["S"], mom[(s, 0)]["S"]))


def _ecdf(lf: nw.LazyFrame, x: nw.Expr, v: nw.Expr, S1: float, S0: float) -> tuple[float, float]:
    """Mean and max over distinct ``x`` of ``|F_1 - F_0|``: a group-by on ``x``, a cumulative
    sum ordered by ``x`` (a window), and two aggregates."""
    if S1 <= 0 or S0 <= 0:
        return float("nan"), float("nan")
    t1 = nw.col("_t") == 1.0
    u = v * nw.when(t1).then(nw.lit(1.0 / S1)).otherwise(nw.lit(-1.0 / S0))
    per = lf.select(x.alias("_xv"), u.alias("_u")).group_by("_xv").agg(nw.col("_u").sum())
    cum = per.with_columns(nw.col("_u").cum_sum().over(order_by="_xv").abs().alias("_e"))
    r = collect_pandas(cum.select(nw.col("_e").mean().alias("mean"), nw.col("_e").max().alias("max")))
    return float(r["mean"].iloc[0]), float(r["max"].iloc[0])


def _sizes(mom: dict, weighted: bool) -> pd.DataFrame:
    """:func:`pceval.covariate_balance._sizes` from the moments."""
    def ess(mm: dict) -> float:
        return float(mm["S"] ** 2 / mm["S2"]) if mm["S2"] > 0 else 0.0

    rows = {}
    for g, lab in ((0, "control"), (1, "treated")):
        col = {"All (ESS)": ess(mom[("all", g)]), "All": mom[("all", g)]["n"]}
        if weighted:
            mm = mom[("matched", g)]
            col["Matched (ESS)"] = ess(mm)
            col["Matched"] = float(mm["nnz"])
            col["Unmatched"] = float(mm["n"] - mm["nnz"])
        rows[lab] = col
    return pd.DataFrame(rows)


__all__ = ["balance_in_engine"]
