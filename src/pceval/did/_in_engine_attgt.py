"""``att_gt`` estimated inside the engine from stratum sums (no person-level collect).

Why sums are enough
-------------------
In every group-time cell of Callaway & Sant'Anna (2021) the two-period estimators of
:mod:`pceval.did._drdid` (``"dr"``, ``"reg"``, ``"ipw"``) depend on a unit only through its
group ``G_i``, its baseline covariates ``x_i``, its weight ``w_i`` and its outcomes ``y_it``.
Units with the same ``(G, x)`` -- a *stratum* ``s`` -- share the propensity score, the fitted
outcome regression and every weight of the estimator, so each cell's ATT needs only, per
stratum, the count ``n_s``, ``W_s = sum w_i`` and ``WY_st = sum w_i y_it``; and each unit's
influence function is linear in ``u_i = w_i (1, y_i1, ..., y_iT)``:

    psi_ic = kappa_c w_i (alpha_sc + B_sc (y_i,t_c - y_i,b_c))          (i in stratum s)

with ``alpha_sc, B_sc`` computed from the stratum sums (the formulas of R DRDID's
``drdid_panel``, ``reg_did_panel``, ``std_ipw_did_panel``, regrouped by stratum;
``kappa_c = n / sum_{cell sample} w``). The logistic propensity score and the outcome
regression are fitted on the strata with weights ``W_s`` (the same likelihood and normal
equations as on the units).

Standard errors
---------------
Every standard error pceval reports from ``att_gt`` -- of the cells, of the aggregations
(:func:`pceval.did.aggregation.aggregate`, whose weight-estimation term is ``w_i`` times a
function of ``G_i``) and of the pre-trend test -- is a quadratic form in the units' vectors
``z_i = (psi_i1, ..., psi_iC, w_i)``. So the engine returns

* unclustered: per stratum the Gram matrix ``Q_s = sum_i u_i u_i'`` (``(T+1)(T+2)/2`` sums), and
  pceval builds ``rank(Q_s) <= T + 1`` *pseudo-units* per stratum, ``L_s' [A_s, e_0]`` with
  ``Q_s = L_s L_s'``: their sums of squares and cross-products equal the units' exactly, so
  the analytic SEs, the aggregations and the Wald pre-test are those of the in-memory path;
* clustered: per cluster and stratum ``W`` and ``WY_t`` (first moments): the rows
  ``(cluster, stratum)`` sum within cluster to exactly the cluster sums ``S_c`` of the in-memory
  path, so SEs are identical and the multiplier bootstrap, keyed by the cluster ids, draws the
  same multipliers and gives the same uniform band.

The uniform band without clustering (the streaming scheme): the multiplier bootstrap runs on
the pseudo-units, each keyed by its stratum, factor and copy: every factor row ``l`` is split
into ``k`` copies ``l / sqrt(k)`` (``k`` chosen so that there are about ``PSEUDO_UNITS`` =
10,000 rows), which leaves every sum of squares unchanged and makes each factor's multiplier a
sum of ``k`` independent Mammen weights. The draws have exactly the conditional covariance of
the unit-level bootstrap (``sum_i psi_i psi_i' / n^2``) and are close to Gaussian, so the band
equals the in-memory one up to Monte Carlo error (tests: within a few per cent at 999 draws),
but not bit for bit: unit-level multipliers would need every unit's influence function, i.e.
the person-level data.

Size of what is collected: ``strata x (T+1)(T+2)/2`` sums unclustered, ``clusters x strata x
(T+1)`` clustered. With continuous covariates (more than ``MAX_STRATA`` strata) every unit is
its own stratum, so :func:`att_gt_fields` takes the per-unit path of
:mod:`pceval.did._in_engine_continuous` (per-unit influence-function expressions whose Gram
matrices by group are summed in the engine) and builds the pseudo-units from those.

References: Callaway & Sant'Anna (2021) J. Econometrics 225(2); Sant'Anna & Zhao (2020)
J. Econometrics 219(1); Wong et al. (2021) "You only compress once", arXiv:2102.11297.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import scipy.sparse as sp

from pceval._checks import _show, require_columns
from pceval._distributions import stats
from pceval._engines import collect_pandas, engine_name, lazy
from pceval._sufficient import materialize, release
from pceval.did import _inference as inf_
from pceval.did._drdid import _PS_CAP, TRIM_LEVEL, logit_fit
from pceval.did._prepare import _check_spacing, _note
from pceval.errors import EstimationError, InputError, PcevalWarning

PSEUDO_UNITS = 10_000  # unclustered bootstrap rows (see "the streaming scheme")
MAX_STRATA = 5_000  # beyond this, covariates are (near) continuous: the sums are no longer small
MAX_INFLUENCE_BYTES = 2e9  # the pseudo-unit influence matrix kept in the result


@dataclass
class _Strata:
    """Stratum sums: ``group, X`` (with intercept), ``count``, ``W``, ``WY`` (strata x T); the
    unclustered Gram ``Q`` (strata x (T+1) x (T+1)) or the clustered rows (``cl_*``)."""

    group: np.ndarray
    X: np.ndarray
    count: np.ndarray
    W: np.ndarray
    WY: np.ndarray | None
    Q: np.ndarray | None = None
    cl_code: np.ndarray | None = None
    cl_stratum: np.ndarray | None = None
    cl_W: np.ndarray | None = None
    cl_WY: np.ndarray | None = None
    cluster_ids: np.ndarray | None = None


def _f(c: str) -> nw.Expr:
    return nw.col(c).cast(nw.Float64)


def _count(expr: nw.Expr) -> nw.Expr:
    return expr.cast(nw.Int64).sum()


# --- the engine side: checks, pivot, stratum sums -------------------------------------------------

def strata_from_engine(data: Any, *, outcome: str, unit: str, time: str, group: str,
                       covariates: list[str], weights: str | None, cluster: str | None,
                       anticipation: int, unbalanced: str = "balance"
                       ) -> tuple[_Strata, np.ndarray, dict, int]:
    """Check the panel as :func:`pceval.did._prepare.prepare_panel` does (same errors, same
    counted exclusions) and return ``(strata, times, exclusions, n_units)``; every step a query."""
    units, kept, times, exclusions, n_units, _ = _engine_units(
        data, outcome=outcome, unit=unit, time=time, group=group, covariates=covariates,
        weights=weights, cluster=cluster, anticipation=anticipation, unbalanced=unbalanced)
    try:
        strata = _stratum_sums(kept, covariates, cluster, len(times))
    finally:
        release(units)
    return strata, times, exclusions, n_units


def _engine_units(data: Any, *, outcome: str, unit: str, time: str, group: str,
                  covariates: list[str], weights: str | None, cluster: str | None,
                  anticipation: int, unbalanced: str = "balance"
                  ) -> tuple[nw.LazyFrame, nw.LazyFrame, np.ndarray, dict, int, bool]:
    """The checks of :func:`strata_from_engine`; returns ``(units, kept, times, exclusions,
    n_units, continuous)``: the unit table kept in the engine (free it with ``release``), its
    kept units with the recoded group ``_g``, and whether the covariates have more than
    ``MAX_STRATA`` distinct combinations with the group (the per-unit path)."""
    lf = lazy(data, "data")
    cols = [unit, time, group, outcome, *covariates, *([weights] if weights else []),
            *([cluster] if cluster else [])]
    if len(set(cols)) != len(cols):
        raise InputError(f"column names must be distinct, got {cols}")
    schema = lf.collect_schema()
    require_columns(list(schema.names()), "data", cols)
    for c in [outcome, time, group, *covariates, *([weights] if weights else [])]:
        if not (schema[c].is_numeric() or schema[c] == nw.Boolean):
            raise InputError(f"`data`: column '{c}' must be numeric, but has type {schema[c]}")
    lf = lf.select(*cols)
    exclusions: dict[str, int] = {}
    lf = _checked_rows(lf, outcome, unit, time, group, covariates, weights, cluster, exclusions)
    continuous = bool(covariates) and _n_strata(lf, group, covariates) > MAX_STRATA
    times = np.sort(collect_pandas(lf.select(time).unique())[time].to_numpy(float))
    _check_spacing(times, time)
    units = _unit_table(lf, unit, time, group, outcome, covariates, weights, cluster, times)
    try:
        keep_expr, g_expr, n_units = _resolve_units(units, unit, group, covariates, weights,
                                                    cluster, times, anticipation, exclusions,
                                                    unbalanced)
    except Exception:
        release(units)
        raise
    kept = units.filter(keep_expr).with_columns(g_expr.alias("_g"))
    return units, kept, times, exclusions, n_units, continuous


def _n_strata(lf: nw.LazyFrame, group: str, covariates: list[str]) -> int:
    """The number of distinct combinations of the group and the covariates: above
    ``MAX_STRATA`` the covariates are (near) continuous and the stratum sums would be nearly as
    large as the data, so att_gt takes the per-unit path (:mod:`pceval.did._in_engine_continuous`)."""
    return int(collect_pandas(lf.select(group, *covariates).unique()
                              .select(nw.len().alias("n")))["n"].iloc[0])


def _checked_rows(lf: nw.LazyFrame, outcome: str, unit: str, time: str, group: str,
                  covariates: list[str], weights: str | None, cluster: str | None,
                  exclusions: dict) -> nw.LazyFrame:
    """Missing ids/periods/groups/weights/clusters and infinite values are errors; rows with a
    missing outcome or covariate are dropped (counted); weights must be non-negative."""
    not_null = [unit, time, group, *([weights] if weights else []), *([cluster] if cluster else [])]
    numeric = [outcome, time, group, *covariates, *([weights] if weights else [])]
    exprs = {f"null_{i}": _count(nw.col(c).is_null()) for i, c in enumerate(not_null)}
    exprs.update({f"inf_{i}": _count(_f(c).abs() == float("inf")) for i, c in enumerate(numeric)})
    miss = nw.col(outcome).is_null() | _f(outcome).is_nan()
    for c in covariates:
        miss = miss | nw.col(c).is_null() | _f(c).is_nan()
    exprs["missing"] = _count(miss)
    exprs["n"] = nw.len()
    if weights:
        exprs["min_w"] = _f(weights).min()
    row = collect_pandas(lf.select(*[e.alias(k) for k, e in exprs.items()])).iloc[0]
    for i, c in enumerate(numeric):
        if int(row[f"inf_{i}"]):
            raise InputError(f"`data`: column '{c}' has {int(row[f'inf_{i}'])} infinite value(s); "
                             "every estimate would be NaN or infinite")
    for i, c in enumerate(not_null):
        if int(row[f"null_{i}"]):
            raise InputError(f"`data`: column '{c}' has {int(row[f'null_{i}'])} missing value(s)")
    _note(exclusions, "rows with a missing outcome or covariate dropped", int(row["missing"]), 6)
    if int(row["missing"]) == int(row["n"]):
        raise InputError("`data` has no rows with a non-missing outcome")
    if weights and float(row["min_w"]) < 0:
        raise InputError(f"`weights` column '{weights}' must be non-negative")
    return lf.filter(~miss)


def _unit_table(lf: nw.LazyFrame, unit: str, time: str, group: str, outcome: str,
                covariates: list[str], weights: str | None, cluster: str | None,
                times: np.ndarray) -> nw.LazyFrame:
    """One row per unit (a lazy query): the outcome of each period (``_y0 .. _y{T-1}``), the row
    count, distinct periods, and min/max of every column that must be constant within unit."""
    const = [group, *covariates, *([weights] if weights else [])]
    piv = [nw.when(_f(time) == float(t)).then(_f(outcome)).otherwise(0.0).alias(f"_y{j}")
           for j, t in enumerate(times)]
    # min and max read separate copies: pandas' group-by keeps one aggregation per column
    copies = [*[_f(c).alias(f"_lo{i}") for i, c in enumerate(const)],
              *[_f(c).alias(f"_hi{i}") for i, c in enumerate(const)]]
    if cluster:
        copies += [nw.col(cluster).alias("_cl"), nw.col(cluster).alias("_clhi")]
    # which periods a unit has, as the bit mask sum_j 2^j over its rows (one aggregate instead of
    # T; a distinct count is slow in DuckDB): its rows are distinct periods exactly when the
    # mask has as many bits as the unit has rows (a repeated 2^j carries into a higher bit)
    if len(times) > 62:
        raise InputError(f"att_gt in the engine handles up to 62 periods, got {len(times)}")
    bit = nw.lit(0, nw.Int64)
    for j, t in enumerate(times):
        bit = nw.when(_f(time) == float(t)).then(nw.lit(2**j, nw.Int64)).otherwise(bit)
    hits = [bit.alias("_mask")]
    prep = lf.with_columns(*piv, *hits, *copies)
    aggs = [nw.len().alias("_rows"), nw.col("_mask").sum(),
            *[nw.col(f"_y{j}").sum() for j in range(len(times))]]
    for i in range(len(const)):
        aggs += [nw.col(f"_lo{i}").min(), nw.col(f"_hi{i}").max()]
    if cluster:
        aggs += [nw.col("_cl").min(), nw.col("_clhi").max()]
    return materialize(prep.group_by(unit).agg(*aggs))


def _resolve_units(units: nw.LazyFrame, unit: str, group: str, covariates: list[str],
                   weights: str | None, cluster: str | None, times: np.ndarray,
                   anticipation: int, exclusions: dict, unbalanced: str = "balance"
                   ) -> tuple[nw.Expr, nw.Expr, int]:
    """The unit-level checks (one row per unit and period; group, covariates, weights and
    cluster constant within unit; valid groups) and exclusions (late groups become never
    treated, units treated in the first period and incomplete units are dropped), from one
    query grouped by the unit's first-treated period. Returns the filter of kept units, the
    recoded group and the number of units kept."""
    const = [group, *covariates, *([weights] if weights else [])]
    flags = {f"_var{i}": nw.col(f"_lo{i}") != nw.col(f"_hi{i}") for i in range(len(const))}
    if cluster:
        flags["_varcl"] = nw.col("_cl") != nw.col("_clhi")
    T = len(times)
    full = 2**T - 1
    # row-wise flags first, then plain sums by group and pattern of periods (few patterns)
    summary = collect_pandas(
        units.with_columns(*[e.cast(nw.Int64).alias(k) for k, e in flags.items()],
                           nw.col("_lo0").alias("_gkey"), nw.col("_mask").alias("_pattern"),
                           nw.col("_rows").alias("_nrows"))
        .group_by("_gkey", "_pattern", "_nrows")
        .agg(nw.len().alias("_units"), *[nw.col(k).sum() for k in flags])
    ).rename(columns={"_gkey": "_lo0"})
    masks = summary["_pattern"].to_numpy().astype(np.uint64)
    bits = np.array([bin(int(m)).count("1") for m in masks], dtype=np.int64)
    dup = bits != summary["_nrows"].to_numpy()
    summary["_dup"] = np.where(dup, summary["_units"], 0)
    summary["_incomplete"] = np.where(~dup & (masks != full), summary["_units"], 0)
    if int(summary["_dup"].sum()):
        pats = summary.loc[dup, ["_pattern", "_nrows"]]
        bad_units = units.filter(nw.col("_mask") == int(pats["_pattern"].iloc[0]))
        bad = collect_pandas(bad_units.filter(nw.col("_rows") == int(pats["_nrows"].iloc[0]))
                             .select(unit).head(5))
        raise InputError(f"`data` must have one row per `{unit}` and period, but "
                         f"{int(summary['_dup'].sum()):,} unit(s) repeat a period: {_show(bad[unit])}")
    names = [(group, "the first treated period; a treatment that switches off or restarts is "
                     "not a staggered adoption design"),
             *[(c, "pass baseline values, e.g. as at the index date") for c in covariates],
             *([(weights, "unit weights")] if weights else [])]
    for i, (c, what) in enumerate(names):
        if int(summary[f"_var{i}"].sum()):
            bad = collect_pandas(units.filter(nw.col(f"_lo{i}") != nw.col(f"_hi{i}")).select(unit).head(5))
            raise InputError(f"`{c}` must be constant within each unit ({what}), but it varies for "
                             f"{int(summary[f'_var{i}'].sum()):,} unit(s) in `{unit}`: {_show(bad[unit])}")
    if cluster and int(summary["_varcl"].sum()):
        raise InputError(f"`{cluster}` must be constant within each unit (units must be nested in "
                         f"clusters), but it varies for {int(summary['_varcl'].sum()):,} unit(s)")
    g = summary["_lo0"].to_numpy(float)
    bad_g = (g != 0) & ~np.isin(g, times) & (g < times[-1]) & (g > times[0])
    if bad_g.any():
        raise InputError(f"`group` column '{group}' must be 0 (never treated) or one of the periods "
                         f"of the time column; found {_show(np.unique(g[bad_g]))}")
    late = g > times[-1]
    _note(exclusions, "units first treated after the last period (treated as never treated)",
          int(summary.loc[late, "_units"].sum()), 7)
    g_new = np.where(late, 0.0, g)
    early = (g_new != 0) & (g_new - anticipation <= times[0])
    _note(exclusions, "units treated in the first period (no pre-treatment period) dropped",
          int(summary.loc[early, "_units"].sum()), 7)
    if not ((g_new != 0) & ~early).any():
        raise InputError("every treated unit is treated in the first period, so no group has a "
                         "pre-treatment period to compare with")
    incomplete = int(summary.loc[~early, "_incomplete"].sum())
    if incomplete and unbalanced == "error":
        raise InputError(
            f"the panel must be balanced, but {incomplete:,} of {int(summary.loc[~early, '_units'].sum()):,} "
            "units are not observed in every period of the time column; use unbalanced='balance' or "
            "'pairwise'")
    _note(exclusions, "units not observed in every period dropped (balanced panel)", incomplete, 7)
    n_units = int(summary.loc[~early, "_units"].sum() - summary.loc[~early, "_incomplete"].sum())
    if n_units == 0:
        raise InputError("no units are left after the exclusions: " + repr(exclusions))
    gcol = nw.col("_lo0")
    last, first = float(times[-1]), float(times[0])
    g_expr = nw.when(gcol > last).then(0.0).otherwise(gcol)
    keep = (nw.col("_mask") == full) & (nw.col("_rows") == T) & ~((gcol <= last) & (gcol != 0.0) & (gcol - anticipation <= first))
    return keep, g_expr, n_units


def _stratum_sums(kept: nw.LazyFrame, covariates: list[str], cluster: str | None,
                  T: int) -> _Strata:
    """The sums of the module docstring, grouped by stratum (and cluster)."""
    cov_cols = [f"_lo{1 + i}" for i in range(len(covariates))]
    w = nw.col(f"_lo{1 + len(covariates)}") if _has_weights(kept, covariates) else None
    w_expr = w if w is not None else nw.lit(1.0)
    ys = [nw.col(f"_y{j}") for j in range(T)]
    keys = ["_g", *cov_cols]
    prods = {"_w": w_expr, **{f"_wy{j}": w_expr * ys[j] for j in range(T)}}
    if cluster is None:
        prods["_ww"] = w_expr * w_expr
        prods.update({f"_wwy{j}": w_expr * w_expr * ys[j] for j in range(T)})
        prods.update({f"_q{a}_{b}": w_expr * w_expr * ys[a] * ys[b]
                      for a in range(T) for b in range(a, T)})
        by = keys
    else:
        by = ["_cl", *keys]
    sums = (kept.with_columns(*[e.alias(k) for k, e in prods.items()])
            .group_by(by).agg(nw.len().alias("_n"), *[nw.col(k).sum() for k in prods]))
    tab = collect_pandas(sums).sort_values(by, kind="stable").reset_index(drop=True)
    if cluster is None:
        return _strata_unclustered(tab, keys, cov_cols, T)
    return _strata_clustered(tab, keys, cov_cols, T)


def _has_weights(kept: nw.LazyFrame, covariates: list[str]) -> bool:
    return f"_lo{1 + len(covariates)}" in kept.collect_schema().names()


def _strata_unclustered(tab: pd.DataFrame, keys: list[str], cov_cols: list[str], T: int) -> _Strata:
    S = len(tab)
    Q = np.empty((S, T + 1, T + 1))
    Q[:, 0, 0] = tab["_ww"].to_numpy(float)
    for j in range(T):
        Q[:, 0, j + 1] = Q[:, j + 1, 0] = tab[f"_wwy{j}"].to_numpy(float)
        for b in range(j, T):
            Q[:, j + 1, b + 1] = Q[:, b + 1, j + 1] = tab[f"_q{j}_{b}"].to_numpy(float)
    return _Strata(group=tab["_g"].to_numpy(float),
                   X=np.column_stack([np.ones(S), tab[cov_cols].to_numpy(float)]),
                   count=tab["_n"].to_numpy(float), W=tab["_w"].to_numpy(float),
                   WY=tab[[f"_wy{j}" for j in range(T)]].to_numpy(float), Q=Q)


def _strata_clustered(tab: pd.DataFrame, keys: list[str], cov_cols: list[str], T: int) -> _Strata:
    st_codes, st_first = _codes(tab[keys])
    strata = tab.iloc[st_first]
    ones = np.ones(len(strata))
    sums = lambda v: np.bincount(st_codes, weights=v, minlength=len(strata))  # noqa: E731
    WY_cl = tab[[f"_wy{j}" for j in range(T)]].to_numpy(float)
    cl_code, cl_ids = pd.factorize(tab["_cl"])
    return _Strata(group=strata["_g"].to_numpy(float),
                   X=np.column_stack([ones, strata[cov_cols].to_numpy(float)]),
                   count=sums(tab["_n"].to_numpy(float)), W=sums(tab["_w"].to_numpy(float)),
                   WY=np.column_stack([sums(WY_cl[:, j]) for j in range(T)]) if T else None,
                   cl_code=cl_code, cl_stratum=st_codes, cl_W=tab["_w"].to_numpy(float),
                   cl_WY=WY_cl, cluster_ids=np.asarray(cl_ids))


def _codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct rows of ``frame`` (sorted) and the first row of each."""
    keys = pd.MultiIndex.from_frame(frame)
    codes, uniq = pd.factorize(keys, sort=True)
    first = np.full(len(uniq), -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes, first


# --- the numpy side: the estimators on strata -----------------------------------------------------

class _StrataDesign:
    """:class:`pceval.did._drdid.CellDesign` on strata: ``d, X`` per stratum, ``count`` units
    and raw weight totals ``W``; the outcome-free parts of the estimator."""

    def __init__(self, d: np.ndarray, X: np.ndarray, count: np.ndarray, W: np.ndarray,
                 method: str) -> None:
        n = float(count.sum())
        self.n, self.d, self.X, self.method = n, d, X, method
        wbar = W.sum() / n
        self.wbar = wbar
        Wn = W / wbar                                   # sum of normalised weights per stratum
        self.Wn = Wn
        if d.sum() == 0:
            raise EstimationError("no treated units in this comparison")
        if (1 - d).sum() == 0:
            raise EstimationError("no comparison units in this comparison")
        if method in ("dr", "reg"):
            xtx = (X * (Wn * (1 - d))[:, None]).T @ X / n
            if np.linalg.matrix_rank(xtx) < X.shape[1]:
                raise EstimationError(
                    "outcome regression: the covariates are collinear among the comparison units")
            self.xtx_inv = np.linalg.inv(xtx)
        if method in ("dr", "ipw"):
            _, p, cov = logit_fit(X, d, Wn)
            p = np.minimum(p, _PS_CAP)
            trim = np.where(d == 1, p < 1.01, p < TRIM_LEVEL)
            self.p = p
            self.t = trim * d
            self.c = trim * p * (1 - d) / (1 - p)
            self.cov_ps_n = cov * n
        else:
            self.t = d
            self.c = d
        self.mwt = float(self.t @ Wn) / n
        self.mwc = float(self.c @ Wn) / n
        if self.mwc <= 0:
            raise EstimationError("all comparison units were trimmed (propensity scores >= 0.995)")
        if method in ("dr", "reg"):
            m1 = (self.t * Wn) @ X / n
            m3 = (self.c * Wn) @ X / n
            direction = m3 / self.mwc - m1 / self.mwt if method == "dr" else -m3 / self.mwc
            self.q = X @ (self.xtx_inv @ direction)

    def estimate(self, WdY: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """ATT of the change whose weighted stratum sums are ``WdY``, and ``(alpha, B)`` with
        each unit's influence function ``(n_all / sum w) w_i (alpha_s + B_s dY_i)`` (before the
        caller's scaling by ``n_all``; see the module docstring)."""
        n, d, X, Wn, t, c = self.n, self.d, self.X, self.Wn, self.t, self.c
        mwt, mwc = self.mwt, self.mwc
        Yn = WdY / self.wbar                            # sum of normalised w * dY per stratum
        if self.method in ("dr", "reg"):
            beta = self.xtx_inv @ (X.T @ ((1 - d) * Yn)) / n
            fitted = X @ beta
        if self.method == "dr":
            R = Yn - Wn * fitted
            eta_t = float(t @ R) / n / mwt
            eta_c = float(c @ R) / n / mwc
            m2 = (c * (R - eta_c * Wn)) @ X / n
            B = t / mwt - c / mwc + (1 - d) * self.q
            A0 = -t * eta_t / mwt + c * eta_c / mwc - (d - self.p) * (X @ (self.cov_ps_n @ m2)) / mwc
            alpha = A0 - B * fitted
        elif self.method == "ipw":
            eta_t = float(t @ Yn) / n / mwt
            eta_c = float(c @ Yn) / n / mwc
            m2 = (c * (Yn - eta_c * Wn)) @ X / n
            B = t / mwt - c / mwc
            alpha = -t * eta_t / mwt + c * eta_c / mwc - (d - self.p) * (X @ (self.cov_ps_n @ m2)) / mwc
        else:
            eta_t = float(t @ Yn) / n / mwt
            eta_c = float(c @ (Wn * fitted)) / n / mwc
            B = d / mwt + (1 - d) * self.q
            alpha = -d * eta_t / mwt - d * (fitted - eta_c) / mwc - (1 - d) * self.q * fitted
        return eta_t - eta_c, alpha, B


def _cells(times: np.ndarray, groups: np.ndarray, control_group: str, base_period: str,
           anticipation: int) -> Iterator[tuple[Any, int, int, float | None]]:
    """``(g, j, base, threshold)`` for each group-time cell: the enumeration of
    :func:`pceval.did.staggered._cells` (kept in step by the equality tests)."""
    glist = np.unique(groups[groups != 0])
    start = 1 if base_period == "varying" else 0
    for g in glist:
        pre_idx = np.flatnonzero(times + anticipation < g)
        last_pre = int(pre_idx[-1]) if len(pre_idx) else None
        for j in range(start, len(times)):
            base = j - 1 if (base_period == "varying" and g > times[j] + anticipation) else last_pre
            if base is None:
                continue
            thr = times[max(j, base)] + anticipation if control_group == "not_yet_treated" else None
            yield g, j, base, thr


def att_gt_fields(data: Any, *, outcome: str, unit: str, time: str, group: str,
                  covariates: Sequence[str] | None, control_group: str, method: str,
                  anticipation: int, base_period: str, cluster: str | None,
                  weights: str | None, n_boot: int, confidence: float, seed: int,
                  unbalanced: str = "balance") -> dict:
    """The fields of :class:`pceval.did.staggered.AttGtResult`, computed in the engine (see the
    module docstring). The result's ``influence`` rows are pseudo-units (clustered: one per
    cluster and stratum; else ``L_s'`` rows per stratum) whose sums of squares and
    cross-products, and cluster sums, are those of the units."""
    covariates = list(covariates or [])
    units, kept, times, exclusions, n, continuous = _engine_units(
        data, outcome=outcome, unit=unit, time=time, group=group, covariates=covariates,
        weights=weights, cluster=cluster, anticipation=anticipation, unbalanced=unbalanced)
    try:
        if continuous:
            from pceval.did import _in_engine_continuous as cont

            groups = collect_pandas(kept.select("_g").unique())["_g"].to_numpy(float)
            _check_never(control_group, groups, group)
            rows, influence, pseudo_group, pseudo_w, clusters, ids, tot = cont.fit_cells(
                kept, n_cov=len(covariates), has_weights=weights is not None, times=times,
                control_group=control_group, base_period=base_period, anticipation=anticipation,
                method=method, n=n, cluster=cluster, cells_of=_cells,
                max_bytes=MAX_INFLUENCE_BYTES, pseudo_units=PSEUDO_UNITS)
            # clustered: ``ids`` are the cluster ids (the bootstrap's keys); else pseudo-unit ids
            strata = _Strata(group=tot["group"], X=np.ones((len(tot["group"]), 1)),
                             count=tot["count"], W=tot["W"], WY=None,
                             cluster_ids=ids if clusters is not None else None)
            ids = None if clusters is not None else ids
        else:
            strata = _stratum_sums(kept, covariates, cluster, len(times))
    finally:
        release(units)
    if not continuous:
        _check_never(control_group, strata.group, group)
        rows, coefs = _fit_cells(strata, times, control_group, base_period, anticipation, method, n)
        influence, pseudo_group, pseudo_w, clusters, ids = _pseudo_units(strata, coefs, len(rows))
    return _fields(rows, influence, pseudo_group, pseudo_w, clusters, ids, strata, n, times,
                   exclusions, control_group, method, anticipation, base_period, cluster,
                   covariates, n_boot, confidence, seed, engine_name(data))


def _check_never(control_group: str, groups: np.ndarray, group: str) -> None:
    if control_group == "never_treated" and not (groups == 0).any():
        raise InputError("control_group='never_treated' but no unit in `data` is never treated "
                         f"(`{group}` = 0); use control_group='not_yet_treated'")


def _fit_cells(strata: _Strata, times: np.ndarray, control_group: str, base_period: str,
               anticipation: int, method: str, n: int) -> tuple[list, list]:
    """Every cell's ATT and its influence coefficients ``(mask, j, base, kappa alpha, kappa B)``."""
    G = strata.group
    rows: list[dict[str, Any]] = []
    coefs: list[tuple[np.ndarray, int, int, np.ndarray, np.ndarray] | None] = []
    skipped = 0
    designs: dict = {}
    for g, j, base, thr in _cells(times, G, control_group, base_period, anticipation):
        in_ctrl = G == 0 if thr is None else (G == 0) | ((G > thr) & (G != g))
        mask = (G == g) | in_ctrl
        n_s = float(strata.count[mask].sum())
        n_t = float(strata.count[mask & (G == g)].sum())
        if not 0 < n_t < n_s:
            skipped += 1
            continue
        row = {"group": g, "time": times[j], "base_period": times[base]}
        if base == j:
            rows.append({**row, "estimate": 0.0, "n_treated": int(n_t), "n_comparison": 0, "_se": False})
            coefs.append(None)
            continue
        key = (g, thr)
        if key not in designs:
            d = (G[mask] == g).astype(float)
            try:
                designs = {key: _StrataDesign(d, strata.X[mask], strata.count[mask],
                                              strata.W[mask], method)}
            except EstimationError as exc:
                raise EstimationError(f"ATT(g={g}, t={times[j]}): {exc}") from exc
        des = designs[key]
        assert strata.WY is not None  # None only with no periods (T = 0), when there are no cells
        att, alpha, B = des.estimate(strata.WY[mask, j] - strata.WY[mask, base])
        kappa = n / float(strata.W[mask].sum())
        rows.append({**row, "estimate": att, "n_treated": int(n_t), "n_comparison": int(n_s - n_t),
                     "_se": True})
        coefs.append((np.flatnonzero(mask), j, base, kappa * alpha, kappa * B))
    if skipped:
        warnings.warn(f"{skipped} group-time cell(s) had no comparison units and were skipped",
                      PcevalWarning, stacklevel=5)
    if not rows:
        raise EstimationError("no group-time cell has both treated and comparison units")
    return rows, coefs


def _pseudo_units(strata: _Strata, coefs: list, C: int
                  ) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(influence, group, weight, cluster codes or None, ids)`` of the pseudo-units."""
    S = len(strata.group)
    if strata.cl_code is None:
        # per stratum: Q_s = L L' (eigen-decomposition), pseudo-rows L' [A_s, e_0]
        assert strata.Q is not None  # unclustered strata carry their Gram Q
        lam, V = np.linalg.eigh(strata.Q)                      # S x (T+1), S x (T+1) x (T+1)
        keep = lam > lam.max(axis=1, keepdims=True) * 1e-15
        Lt = np.swapaxes(V * np.sqrt(np.clip(lam, 0, None))[:, None, :], 1, 2)  # rows = factors
        st_idx, fac_idx = np.nonzero(keep)
        # each factor row split into k copies scaled by 1/sqrt(k) (same Gram), so that the
        # multiplier bootstrap sums k independent multipliers per factor (nearly Gaussian)
        k = max(1, PSEUDO_UNITS // max(len(st_idx), 1))
        st_idx, fac_idx = np.repeat(st_idx, k), np.repeat(fac_idx, k)
        copy = np.tile(np.arange(k), len(st_idx) // k)
        basis = Lt[st_idx, fac_idx, :] / np.sqrt(k)            # R x (T+1): each row's l_j
        row_stratum: np.ndarray = st_idx
        ids = np.char.add(np.char.add(np.char.add("stratum", st_idx.astype(str)),
                                      np.char.add(":", fac_idx.astype(str))),
                          np.char.add(":", copy.astype(str)))
        clusters = None
    else:
        # clustered strata carry their cluster rows
        assert strata.cl_W is not None and strata.cl_WY is not None and strata.cl_stratum is not None
        basis = np.column_stack([strata.cl_W, strata.cl_WY])    # R x (T+1): first moments
        row_stratum = strata.cl_stratum
        clusters = strata.cl_code
        ids = None
    R = len(row_stratum)
    if clusters is not None and R * C * 8 > MAX_INFLUENCE_BYTES:
        raise InputError(
            f"att_gt in the engine: the influence functions would take {R:,} rows (clusters x "
            f"strata) x {C} cells = {R * C * 8 / 1e9:.1f} GB. Use fewer covariate levels or a "
            "coarser cluster (e.g. PCN rather than practice)")
    infl = np.zeros((R, C))
    for c, cf in enumerate(coefs):
        if cf is None:
            continue
        members, j, base, ka, kb = cf
        a_s = np.zeros(S)
        b_s = np.zeros(S)
        a_s[members], b_s[members] = ka, kb
        a, b = a_s[row_stratum], b_s[row_stratum]
        infl[:, c] = a * basis[:, 0] + b * (basis[:, 1 + j] - basis[:, 1 + base])
    return (sp.csc_matrix(infl), strata.group[row_stratum], basis[:, 0].copy(), clusters, ids)


def _fields(rows: list[dict[str, Any]], influence: sp.csc_matrix, pseudo_group: np.ndarray,
            pseudo_w: np.ndarray, clusters: np.ndarray | None, ids: np.ndarray | None,
            strata: _Strata, n: int, times: np.ndarray, exclusions: dict, control_group: str,
            method: str, anticipation: int, base_period: str, cluster: str | None,
            covariates: list[str], n_boot: int, confidence: float, seed: int, engine: str) -> dict:
    """The table of cells (as :func:`pceval.did.staggered._cell_table`) and the result fields."""
    table = pd.DataFrame(rows)
    for col in ("group", "time", "base_period"):
        if np.all(np.mod(table[col].to_numpy(float), 1) == 0):
            table[col] = table[col].astype(np.int64)
    se = inf_.analytic_se(influence, n, clusters)
    se[~table.pop("_se").to_numpy()] = np.nan
    z = stats.norm.ppf(0.5 + confidence / 2)
    est = table["estimate"].to_numpy()
    table["std_error"] = se
    table["ci_lower"] = est - z * se
    table["ci_upper"] = est + z * se
    keys = inf_.id_keys(strata.cluster_ids if clusters is not None else ids)
    crit = float("nan")
    if n_boot:
        _, crit = inf_.multiplier_bootstrap(influence, n, n_boot=n_boot, seed=seed,
                                            clusters=clusters, keys=keys, alpha=1 - confidence)
    table["band_lower"] = est - crit * se
    table["band_upper"] = est + crit * se
    table["event_time"] = table["time"] - table["group"]
    table["post"] = table["time"] >= table["group"] - anticipation
    table = table[["group", "time", "base_period", "event_time", "post", "estimate", "std_error",
                   "ci_lower", "ci_upper", "band_lower", "band_upper", "n_treated", "n_comparison"]]
    se_label = (f"analytic, clustered by {cluster}" if cluster else "analytic, robust (unit level)")
    groups = np.unique(strata.group)
    shares = {float(g): float(strata.W[strata.group == g].sum()) / n for g in groups}
    settings = dict(control_group=control_group, method=method, anticipation=anticipation,
                    base_period=base_period, n_boot=n_boot, confidence=confidence, seed=seed,
                    cluster=cluster, se_label=se_label, covariates=list(covariates), times=times,
                    engine=f"{engine} (in-engine sufficient statistics)")
    return dict(table=table, influence=influence, unit_group=pseudo_group, unit_weights=pseudo_w,
                clusters=clusters, n_units=n, settings=settings, exclusions=dict(exclusions),
                critical_value=crit, unit_ids=ids, cluster_ids=strata.cluster_ids,
                _cache={"keys": keys, "group_shares": shares})



def in_engine_or_warn(data: Any, unbalanced: str) -> bool:
    """Whether ``att_gt`` can run in the engine with these options. ``unbalanced="pairwise"`` and
    ``"repeated_cross_section"`` cannot (each cell has its own sample of units): a
    :class:`PcevalWarning` says so and how much the in-memory path will collect."""
    if unbalanced in ("balance", "error"):
        return True
    lf = lazy(data, "data")
    n_rows = int(collect_pandas(lf.select(nw.len().alias("n")))["n"].iloc[0])
    n_cols = len(lf.collect_schema().names())
    warnings.warn(
        f"att_gt(unbalanced={unbalanced!r}) does not run in the engine (each cell uses its own "
        f"units): the panel is collected to pandas, {n_rows:,} rows x {n_cols} columns (about "
        f"{n_rows * n_cols * 8 / 1e9:.2f} GB before pivoting). Use unbalanced='balance' to stay "
        "in the engine", PcevalWarning, stacklevel=3)
    return False


__all__ = ["att_gt_fields", "strata_from_engine", "in_engine_or_warn", "MAX_STRATA"]
