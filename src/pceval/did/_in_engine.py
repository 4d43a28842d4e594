"""``did2x2`` estimated inside the engine from sufficient statistics (no person-level collect).

:func:`pceval.did.did2x2` comes here when ``data`` is a lazy table (a DuckDB relation, a Spark
DataFrame or a polars LazyFrame; see :func:`runs_in_engine`). Every step is an aggregation the
engine runs (:mod:`pceval._sufficient`); what is collected is a handful of sums whose number
depends on the number of model terms ``K``, never on the number of rows:

* checks: one pass (missing values, 0/1 flags, signs, the four treatment x post cells);
* linear: one pass for ``X'WX`` and ``X'Wy`` (``K(K+1)/2 + K`` sums), so
  ``beta = (X'WX)^{-1} X'Wy``;
* Poisson with person-time ``E``: iteratively reweighted least squares, each iteration one
  pass for ``X' diag(w mu) X`` and the score ``X' w (y - mu)`` with ``mu = exp(X beta + log E)``
  and the current ``beta`` written into the query as literals (the same Newton steps, start
  and stopping rule as :func:`pceval._models.fit_glm`);
* the CR1 sandwich: per-cluster score sums ``S_g = sum_{i in g} w_i x_i e_i`` (``e = y - X beta``
  or ``y - mu``) are formed by a group-by in the engine and reduced there to ``sum_g S_g S_g'``
  (:func:`pceval._sufficient.cluster_meat`), so clustering by person collects ``K x K`` numbers;
  ``V = G/(G-1) (N-1)/(N-K) A^{-1} (sum_g S_g S_g') A^{-1}`` as in the in-memory path;
* both scales of the effect: sums over the treated post rows of ``w x`` (linear) or of
  ``w E exp(x beta)`` and ``w E exp(x_cf beta) x`` (Poisson), then the delta method.

The result (built by :mod:`pceval.did.two_by_two`, which this module does not import) is a
:class:`~pceval.did.two_by_two.DidResult` equal to the in-memory one (tests:
``tests/test_in_engine.py``, relative differences below 1e-9 on pandas, polars, DuckDB and
Spark local).

Example
-------
>>> import duckdb                                                            # doctest: +SKIP
>>> rel = duckdb.sql("SELECT * FROM 'panel.parquet'")                        # doctest: +SKIP
>>> pceval.did.did2x2(rel, outcome="admissions", treatment="treated", unit="person_id",
...                   post="post", model="poisson", exposure="person_time",
...                   exposure_unit="month")                                 # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from pceval import _sufficient as suf
from pceval._checks import check_choice, check_confidence, check_number, require_columns
from pceval._engines import engine_name, is_eager, lazy
from pceval._results import difference_row, ratio_row
from pceval.errors import EstimationError, InputError


def runs_in_engine(data: Any) -> bool:
    """Whether an estimator runs in the engine for ``data``: a lazy table (DuckDB relation,
    Spark DataFrame, polars LazyFrame). In-memory tables (pandas, polars DataFrames) take the
    in-memory path, which is as fast there and offers every option."""
    if isinstance(data, pd.DataFrame):
        return False
    try:
        nw.from_native(data)
    except TypeError:
        return False
    return not is_eager(data)


_ONE = "_pceval_one"


def _f(col: str) -> nw.Expr:
    return nw.col(col).cast(nw.Float64)


def _check_schema(lf: nw.LazyFrame, required: list[str], numeric: list[str]) -> None:
    """Columns present and numeric (or boolean), read from the schema without a query."""
    schema = lf.collect_schema()
    require_columns(list(schema.names()), "data", required)
    for c in numeric:
        dt = schema[c]
        if not (dt.is_numeric() or dt == nw.Boolean):
            raise InputError(f"`data`: column '{c}' must be numeric, but has type {dt}")


class _Design2x2:
    """The 2x2 design as engine expressions: ``x`` (intercept, treatment, post, interaction,
    covariates), the weight ``w``, the outcome ``y``, the exposure ``E`` and the treated-post
    indicator."""

    def __init__(self, treatment: str, post: str, outcome: str, covariates: list[str],
                 weights: str | None, exposure: str | None) -> None:
        tr, po = _f(treatment), _f(post)
        one = nw.col(_ONE)  # a column, not a literal: sums of literals are not row aggregates
        self.x = [one, tr, po, tr * po, *[_f(c) for c in covariates]]
        self.k = len(self.x)
        self.w = _f(weights) if weights else one
        self.y = _f(outcome)
        self.E = _f(exposure) if exposure else None
        self.tp = (tr * po) == 1.0
        self.cells = {(a, b): ((tr == float(a)) & (po == float(b))) for a in (0, 1) for b in (0, 1)}


def did2x2_fields(
    data: Any, outcome: str, treatment: str, unit: str, post: str, *,
    covariates: Sequence[str] | None = None, model: str = "linear", exposure: str | None = None,
    exposure_unit: str | None = None, years_per_unit: float | None = None, per: float = 1000.0,
    weights: str | None = None, cluster: str | None = None, confidence: float = 0.95,
) -> dict:
    """The fields of :class:`pceval.did.two_by_two.DidResult` for :func:`pceval.did.did2x2`,
    from sums computed in the engine (see the module docstring). ``exposure_unit`` has been
    checked by the caller; ``years_per_unit`` is its length in years."""
    check_choice(model, "model", {"linear", "poisson"})
    confidence = check_confidence(confidence)
    per = check_number(per, "per", low=0, low_open=True)
    covariates = list(covariates or [])
    cluster = cluster or unit
    if model == "poisson" and exposure is None:
        raise InputError("model='poisson' needs `exposure` (the person-time column)")
    lf = lazy(data, "data")
    numeric = [outcome, treatment, post, *covariates, *([exposure] if exposure else []),
               *([weights] if weights else [])]
    required = list(dict.fromkeys([unit, *numeric, cluster]))
    _check_schema(lf, required, numeric)
    lf = lf.select(*required).with_columns(nw.lit(1.0).alias(_ONE))
    des = _Design2x2(treatment, post, outcome, covariates, weights, exposure)
    first = _first_pass(lf, des, required, treatment, post, outcome, covariates, exposure,
                        weights, model)
    names = ["intercept", treatment, post, f"{treatment}:{post}", *covariates]
    xtx = suf.symmetric(first, "xx", des.k)
    if np.linalg.matrix_rank(xtx) < des.k:
        raise EstimationError("the design is singular: a covariate is collinear with the DiD terms")
    n_obs = int(first["n_obs"])
    if model == "linear":
        beta, bread_inv, resid = _linear(first, des)
    else:
        beta, bread_inv, resid = _poisson(lf, first, des, treatment, post, outcome)
    meat, n_clusters = suf.cluster_meat(lf, [des.w * xa * resid for xa in des.x], cluster)
    if n_clusters < 2:
        raise InputError(f"`cluster` column '{cluster}' needs at least two clusters")
    adj = (n_obs - 1) / (n_obs - des.k) * n_clusters / (n_clusters - 1)
    V = adj * (bread_inv @ meat @ bread_inv)
    if model == "linear":
        rows = _linear_rows(first, des, beta, V, outcome, confidence)
    else:
        assert years_per_unit is not None  # the caller sets it from exposure_unit for a Poisson model
        rows = _poisson_rows(lf, des, beta, V, years_per_unit, per, confidence)
    per_unit = lf.with_columns(_f(treatment).alias("_t")).group_by(unit).agg(nw.col("_t").max())
    units = suf.totals(per_unit,
                       {"n_units": nw.len(), "n_treated": (nw.col("_t") == 1.0).cast(nw.Int64).sum()}
                       ).iloc[0]
    n_units, n_treated = int(units["n_units"]), int(units["n_treated"])
    table = pd.DataFrame(rows)
    table["n_treated"] = n_treated
    table["n_comparison"] = n_units - n_treated
    table["n_units"] = n_units
    table["n_obs"] = n_obs
    table["n_clusters"] = n_clusters
    table["cluster"] = cluster
    table["method"] = f"2x2 DiD ({'OLS' if model == 'linear' else 'Poisson PML'})"
    table["se_type"] = f"CR1 clustered by {cluster}"
    table["confidence"] = confidence
    return dict(
        table=table, model=model, params=pd.Series(beta, index=names),
        cov=pd.DataFrame(V, index=names, columns=names), n_obs=n_obs, n_units=n_units,
        n_clusters=n_clusters,
        settings=dict(cluster=cluster, confidence=confidence, per=per, exposure_unit=exposure_unit,
                      engine=f"{engine_name(data)} (in-engine sufficient statistics)"),
    )


def _first_pass(lf: nw.LazyFrame, des: _Design2x2, required: list[str], treatment: str,
                post: str, outcome: str, covariates: list[str], exposure: str | None,
                weights: str | None, model: str) -> pd.Series:
    """One pass: the checks of the in-memory path (missing values, 0/1 flags, signs, magnitudes,
    the four cells) and the sums the fit starts from (``X'X``, ``X'WX``, ``X'Wy``, the treated
    post rows' ``sum w x``). Raises :class:`InputError` on the first problem."""
    one = nw.col(_ONE)
    exprs: dict[str, nw.Expr] = {"n_obs": nw.len()}
    for i, c in enumerate(required):
        exprs[f"null_{i}"] = nw.col(c).is_null().cast(nw.Int64).sum()
    for i, c in enumerate([treatment, post]):
        v = _f(c)
        exprs[f"notbin_{i}"] = (~((v == 0.0) | (v == 1.0))).cast(nw.Int64).sum()
    big = [outcome, *covariates, *([exposure] if exposure else [])]
    for i, c in enumerate(big):
        exprs[f"absmax_{i}"] = _f(c).abs().max()
    exprs["min_y"] = des.y.min()
    if exposure:
        assert des.E is not None  # set whenever exposure is
        exprs["min_e"] = des.E.min()
    if weights:
        exprs["min_w"] = des.w.min()
    positive = (des.w > 0.0).cast(nw.Float64)
    for (a, b), m in des.cells.items():
        exprs[f"cell_{a}{b}"] = (positive * m.cast(nw.Float64)).sum()
        exprs[f"events_{a}{b}"] = (positive * des.y * m.cast(nw.Float64)).sum()
    exprs.update(suf.crossproduct_exprs(des.x, one, "xx"))
    exprs.update(suf.crossproduct_exprs(des.x, des.w, "xwx"))
    exprs.update(suf.vector_exprs(des.x, des.w * des.y, "xwy"))
    tp = des.tp.cast(nw.Float64)
    exprs.update(suf.vector_exprs(des.x, des.w * tp, "tpx"))
    exprs["sum_w"] = des.w.sum()
    exprs["sum_wy"] = (des.w * des.y).sum()
    if exposure:
        exprs["sum_we"] = (des.w * des.E).sum()
    row = suf.totals(lf, exprs).iloc[0]
    if int(row["n_obs"]) == 0:
        raise InputError("`data` has no rows")
    for i, c in enumerate(required):
        if int(row[f"null_{i}"]):
            raise InputError(f"`data`: column '{c}' has {int(row[f'null_{i}'])} missing value(s)")
    for i, c in enumerate([treatment, post]):
        if int(row[f"notbin_{i}"]):
            raise InputError(f"`data`: column '{c}' must be 0/1 (or True/False); "
                             f"{int(row[f'notbin_{i}'])} value(s) are not")
    if model == "poisson":
        if row["min_y"] < 0:
            raise InputError(f"`outcome` column '{outcome}' must be non-negative for a Poisson model")
        if row["min_e"] <= 0:
            raise InputError(f"`exposure` column '{exposure}' must be positive (drop rows with no time at risk)")
    if weights is not None and row["min_w"] < 0:
        raise InputError(f"`weights` column '{weights}' must be non-negative")
    cells = {k: float(row[f"cell_{k[0]}{k[1]}"]) for k in des.cells}
    if any(v == 0 for v in cells.values()):
        shown = ", ".join(f"{treatment}={a}/{post}={b}: {v:,.0f}" for (a, b), v in cells.items())
        raise InputError(f"`data` needs rows with positive weight in all four cells of "
                         f"`{treatment}` x `{post}`; counts are {shown}")
    too_big = [c for i, c in enumerate(big) if float(row[f"absmax_{i}"]) > 1e100]
    if too_big:
        raise InputError(f"column(s) {too_big} hold values beyond 1e100, which overflow the model's "
                         "arithmetic; rescale them (e.g. to thousands)")
    if model == "poisson":
        empty = [f"{treatment}={a}/{post}={b}" for (a, b) in des.cells
                 if float(row[f"events_{a}{b}"]) <= 0]
        if empty:
            raise EstimationError(
                f"no events of `{outcome}` in the cell(s) {', '.join(empty)}: a rate ratio is not "
                "estimable (the Poisson coefficient would diverge); pool subgroups or use "
                "model='linear'")
    return row


def _linear(first: pd.Series, des: _Design2x2) -> tuple[np.ndarray, np.ndarray, nw.Expr]:
    """Weighted least squares from ``X'WX`` and ``X'Wy``; returns ``(beta, (X'WX)^{-1},
    residual expression)``."""
    xwx = suf.symmetric(first, "xwx", des.k)
    beta = np.linalg.solve(xwx, suf.vector(first, "xwy", des.k))
    return beta, np.linalg.inv(xwx), des.y - suf.linear_predictor(des.x, beta)


def _poisson(lf: nw.LazyFrame, first: pd.Series, des: _Design2x2, treatment: str, post: str,
             outcome: str, maxit: int = 100, tol: float = 1e-10
             ) -> tuple[np.ndarray, np.ndarray, nw.Expr]:
    """Poisson PML by Newton steps, one engine pass per step: ``beta <- beta + (X'WX)^{-1}
    X'w(y - mu)`` with ``W = w mu``, from the intercept-only start, until no coefficient moves
    by more than ``tol (1 + max |beta|)`` (the rule of :func:`pceval._models.fit_glm`).
    Returns ``(beta, (X' diag(w mu) X)^{-1} at beta, the residual y - mu)``."""
    assert des.E is not None  # model='poisson' requires exposure (checked by did2x2_fields)
    log_e = des.E.log()

    def mean_of(beta: np.ndarray) -> nw.Expr:
        return (suf.linear_predictor(des.x, beta) + log_e).exp()

    def moments(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu = mean_of(beta)
        exprs = suf.crossproduct_exprs(des.x, des.w * mu, "h")
        exprs.update(suf.vector_exprs(des.x, des.w * (des.y - mu), "s"))
        row = suf.totals(lf, exprs).iloc[0]
        return suf.symmetric(row, "h", des.k), suf.vector(row, "s", des.k)

    beta = np.zeros(des.k)
    beta[0] = np.log(max(float(first["sum_wy"]), 1e-8) / float(first["sum_we"]))
    for _ in range(maxit):
        hess, score = moments(beta)
        try:
            new = beta + np.linalg.solve(hess, score)
        except np.linalg.LinAlgError:
            new = beta + np.linalg.lstsq(hess, score, rcond=None)[0]
        if not np.all(np.isfinite(new)):
            raise EstimationError("the Poisson model did not converge")
        done = np.max(np.abs(new - beta)) <= tol * (1.0 + np.max(np.abs(new)))
        beta = new
        if done:
            hess, _ = moments(beta)
            return beta, np.linalg.inv(hess), des.y - mean_of(beta)
    raise EstimationError("the Poisson model did not converge")


def _linear_rows(first: pd.Series, des: _Design2x2, beta: np.ndarray, V: np.ndarray,
                 outcome: str, confidence: float) -> list[dict]:
    """The ATT and the ratio of means ``(mu0 + ATT) / mu0``, ``mu0 = c' beta`` with ``c`` the
    treated post rows' weighted mean of ``x`` with the interaction switched off."""
    c = suf.vector(first, "tpx", des.k)
    c = c / c[0]
    c[3] = 0.0
    att, se = beta[3], np.sqrt(V[3, 3])
    mu0 = float(c @ beta)
    defined = mu0 > 0 and (mu0 + att) > 0
    ratio = (mu0 + att) / mu0 if defined else np.nan
    se_log = np.nan
    if defined:
        grad = np.zeros(len(beta))
        grad[3] = 1.0 / mu0
        grad = grad - att * c / mu0**2
        se_log = np.sqrt(grad @ V @ grad) / ratio
    return [
        difference_row("ATT", att, se, confidence, measure=f"difference in mean {outcome}"),
        ratio_row("ATT", float(np.log(ratio)) if defined else np.nan, float(se_log),
                  confidence, measure="ratio of means" if defined else
                  "ratio of means (not defined: a mean is not positive)"),
    ]


def _poisson_rows(lf: nw.LazyFrame, des: _Design2x2, beta: np.ndarray, V: np.ndarray,
                  years_per_unit: float, per: float, confidence: float) -> list[dict]:
    """The rate ratio ``exp(beta_3)`` and the difference in rates per ``per`` person-years over
    the treated post rows (one pass over them)."""
    tp = lf.filter(des.tp)
    eta = suf.linear_predictor(des.x, beta)
    x_cf = [*des.x[:3], nw.lit(0.0), *des.x[4:]]
    mu1 = des.w * des.E * eta.exp()
    mu0 = des.w * des.E * suf.linear_predictor(x_cf, beta).exp()
    exprs = {"mu1": mu1.sum(), "mu0": mu0.sum(), "we": (des.w * des.E).sum()}
    exprs.update(suf.vector_exprs(des.x, mu1, "g1"))
    exprs.update(suf.vector_exprs(x_cf, mu0, "g0"))
    row = suf.totals(tp, exprs).iloc[0]
    years = float(row["we"]) * years_per_unit
    diff = (float(row["mu1"]) - float(row["mu0"])) / years * per
    grad = (suf.vector(row, "g1", des.k) - suf.vector(row, "g0", des.k)) / years * per
    se_diff = np.sqrt(grad @ V @ grad)
    lrr, se_lrr = beta[3], np.sqrt(V[3, 3])
    return [
        difference_row("ATT", diff, se_diff, confidence,
                       measure=f"difference in rate per {per:,.0f} person-years"),
        ratio_row("ATT", float(lrr), float(se_lrr), confidence, measure="rate ratio"),
    ]


__all__ = ["runs_in_engine", "did2x2_fields"]
