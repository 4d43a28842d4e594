"""The classic 2x2 difference-in-differences on a (matched or unmatched) panel.

Linear model (OLS, optionally weighted)::

    y_it = b0 + b1 treated_i + b2 post_t + ATT (treated_i x post_t) + x_it' g + e_it

Poisson model (pseudo-maximum likelihood with person-time exposure ``E_it``)::

    log E[y_it] = log E_it + b0 + b1 treated_i + b2 post_t + log(RR) (treated_i x post_t) + x_it' g

Both scales are always reported, following the house rule:

* linear: the absolute effect ``ATT`` (outcome units) and the ratio of means
  ``(mu0 + ATT) / mu0`` with ``mu0`` the treated group's counterfactual post-period mean
  (the fitted values of the treated post rows with the interaction switched off);
* Poisson: the rate ratio ``RR = exp(beta)`` and the absolute difference in rates
  ``sum_i (mu_i - mu_i^0) / sum_i E_i x per`` over the treated post rows (per 1,000
  person-years by default), where ``mu^0`` switches the interaction off.

Standard errors are cluster-robust (CR1: ``G/(G-1) (N-1)/(N-K)``, as Stata and
``sandwich::vcovCL``, for both models; the Poisson sandwich has scores ``w x (y - mu)``), clustered on ``cluster`` (default: the unit, or the matched set when the
panel comes from matching); non-linear quantities use the delta method; ratios' intervals are
computed on the log scale.

References: Angrist & Pischke (2009) Mostly Harmless Econometrics, ch. 5; Santos Silva &
Tenreyro (2006) The log of gravity, Rev. Econ. Stat. 88(4); Cameron & Miller (2015) A
practitioner's guide to cluster-robust inference, J. Human Resources 50(2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_frame, check_number
from pceval._engines import to_pandas
from pceval._models import fit_glm, sandwich
from pceval._results import ResultProtocol, difference_row, protocol_frame, ratio_row
from pceval.did import _in_engine
from pceval.errors import EstimationError, InputError

if TYPE_CHECKING:
    from plotnine import ggplot

_YEARS = {"year": 1.0, "quarter": 0.25, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25}


@dataclass(frozen=True)
class DidResult(ResultProtocol):
    """Result of :func:`did2x2`: one row per scale of the effect ``ATT`` (absolute first, then
    relative), each with the interval and p-value of its own statistic."""

    table: pd.DataFrame
    model: str
    params: pd.Series
    cov: pd.DataFrame
    n_obs: int
    n_units: int
    n_clusters: int
    settings: dict

    def to_frame(self) -> pd.DataFrame:
        """``term, estimate, std_error, statistic, p_value, ci_lower, ci_upper, scale``, then
        ``measure, n_treated, n_comparison, n_units, n_obs, n_clusters, cluster, method,
        se_type, confidence``."""
        return protocol_frame(self.table)

    def summary(self) -> str:
        """Readable text: the design, the clustering and both scales of the ATT with their intervals."""
        s = self.settings
        head = (f"2x2 difference-in-differences ({self.model}); {self.n_units:,} units, "
                f"{self.n_obs:,} unit-periods; SEs clustered by {s['cluster']} "
                f"({self.n_clusters:,} clusters)")
        cols = ["term", "scale", "measure", "estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
        return head + "\n" + self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}")

    def plot(self) -> ggplot:
        """Both scales of the effect with their intervals (plotnine)."""
        from pceval.plots import plot_estimates

        return plot_estimates(self.to_frame(), title="2x2 difference-in-differences")


def _exposure_unit(data: Any, exposure: str | None, given: str | None) -> str | None:
    """The unit of the person-time column: the caller's, checked against the panel's record."""
    recorded = (getattr(data, "attrs", None) or {}).get("pceval_time_units", {}).get(exposure)
    if given is not None:
        check_choice(given, "exposure_unit", set(_YEARS))
        if recorded is not None and recorded != given:
            raise InputError(
                f"`exposure_unit='{given}'` but the panel records `{exposure}` in {recorded}s "
                f"(data.attrs['pceval_time_units']); pass exposure_unit='{recorded}'")
        return given
    if exposure is None:
        return None
    if recorded is None:
        raise InputError(
            f"`exposure_unit` is needed: in what unit of time is `{exposure}` measured? "
            f"Pass one of {sorted(_YEARS)} (build_panel's person_time is in months)")
    check_choice(recorded, "data.attrs['pceval_time_units']", set(_YEARS))
    return recorded


@dataclass(frozen=True)
class _Spec2x2:
    """The checked 2x2 design: the model matrix and everything the fit and the result read.

    ``X`` has columns intercept, treatment, post, treatment x post, covariates; ``Xcf`` is ``X``
    on the treated post rows with the interaction switched off (the counterfactual).
    """

    df: pd.DataFrame
    outcome: str
    treatment: str
    unit: str
    post: str
    model: str
    exposure: str | None
    exposure_unit: str | None
    per: float
    cluster: str
    confidence: float
    X: np.ndarray
    names: list[str]
    y: np.ndarray
    w: np.ndarray
    tr: np.ndarray
    po: np.ndarray
    codes: np.ndarray
    n_clusters: int
    rows_tp: np.ndarray
    Xcf: np.ndarray


def did2x2(
    data: Any,
    outcome: str,
    treatment: str,
    unit: str,
    post: str,
    *,
    covariates: Sequence[str] | None = None,
    model: str = "linear",
    exposure: str | None = None,
    exposure_unit: str | None = None,
    per: float = 1000.0,
    weights: str | None = None,
    cluster: str | None = None,
    confidence: float = 0.95,
) -> DidResult:
    """Two-group, two-period DiD with cluster-robust inference on both scales.

    Parameters
    ----------
    data : long panel, one row per unit and period (several periods per side are fine). A lazy
        table (DuckDB relation, Spark DataFrame, polars LazyFrame) is estimated inside its engine
        from sums, with the same result (:mod:`pceval.did._in_engine`, docs/national_scale.md).
    outcome : the outcome (a count for ``model="poisson"``).
    treatment : 0/1 column: the unit is in the treated group.
    unit : unit id (person, or matched set member).
    post : 0/1 column: the period is after the index.
    covariates : extra regressors (e.g. age at index).
    model : ``"linear"`` (OLS) or ``"poisson"`` (PPML with ``exposure`` as offset).
    exposure : person-time column (required for Poisson rates; in ``exposure_unit`` units).
    exposure_unit : the unit of time ``exposure`` is measured in (``"month"``, ``"year"`` ...).
        Read from the panel when :func:`pceval.build_panel` made it (``data.attrs
        ["pceval_time_units"]``); otherwise required, because a 12-fold error in the rate per
        1,000 person-years would not show in the rate ratio.
    per : rates are reported per ``per`` person-years (1,000 by default).
    weights : matching or sampling weights.
    cluster : cluster column (default ``unit``; use the matched-set id after matching).

    Example
    -------
    >>> res = did2x2(panel, outcome="emergency_admissions", treatment="treated", post="post",
    ...              unit="person_id", model="poisson", exposure="person_time",
    ...              exposure_unit="month", cluster="subclass")                # doctest: +SKIP
    """
    if _in_engine.runs_in_engine(data):  # a lazy table: sums in the engine, nothing per person collected
        return _did2x2_in_engine(data, outcome, treatment, unit, post, covariates=covariates,
                                 model=model, exposure=exposure, exposure_unit=exposure_unit,
                                 per=per, weights=weights, cluster=cluster, confidence=confidence)
    spec = _specify(data, outcome, treatment, unit, post, covariates, model, exposure,
                    exposure_unit, per, weights, cluster, confidence)
    fit = _fit_linear if model == "linear" else _fit_poisson
    beta, V, rows = fit(spec)
    return _result(spec, beta, V, rows)


def _did2x2_in_engine(data: Any, outcome: str, treatment: str, unit: str, post: str, *,
                      model: str = "linear", exposure: str | None = None,
                      exposure_unit: str | None = None, **kwargs: Any) -> DidResult:
    """:func:`did2x2` computed in the engine (:func:`pceval.did._in_engine.did2x2_fields`);
    also for eager frames (the tests compare it with the in-memory path)."""
    check_choice(model, "model", {"linear", "poisson"})
    exposure_unit = _exposure_unit(data, exposure, exposure_unit) if model == "poisson" else None
    years = _YEARS[exposure_unit] if exposure_unit else None
    return DidResult(**_in_engine.did2x2_fields(
        data, outcome, treatment, unit, post, model=model, exposure=exposure,
        exposure_unit=exposure_unit, years_per_unit=years, **kwargs))


def _specify(data: Any, outcome: str, treatment: str, unit: str, post: str,
             covariates: Sequence[str] | None, model: str, exposure: str | None,
             exposure_unit: str | None, per: float, weights: str | None, cluster: str | None,
             confidence: float) -> _Spec2x2:
    """Specification: check the arguments and the data once and build the design."""
    check_choice(model, "model", {"linear", "poisson"})
    exposure_unit = _exposure_unit(data, exposure, exposure_unit) if model == "poisson" else None
    confidence = check_confidence(confidence)
    per = check_number(per, "per", low=0, low_open=True)
    covariates = list(covariates or [])
    cluster = cluster or unit
    df = _checked_frame(data, outcome, treatment, unit, post, covariates, model, exposure,
                        weights, cluster)
    tr = df[treatment].to_numpy(float)
    po = df[post].to_numpy(float)
    w = df[weights].to_numpy(float) if weights else np.ones(len(df))
    _check_cells_and_scale(df, outcome, treatment, post, covariates, exposure, tr, po, w)
    X = np.column_stack([np.ones(len(df)), tr, po, tr * po, df[covariates].to_numpy(float)])
    names = ["intercept", treatment, post, f"{treatment}:{post}", *covariates]
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise EstimationError("the design is singular: a covariate is collinear with the DiD terms")
    codes = pd.factorize(df[cluster])[0]
    n_clusters = int(codes.max()) + 1
    if n_clusters < 2:
        raise InputError(f"`cluster` column '{cluster}' needs at least two clusters")
    rows_tp = (tr == 1) & (po == 1)
    Xcf = X[rows_tp].copy()
    Xcf[:, 3] = 0.0
    return _Spec2x2(
        df=df, outcome=outcome, treatment=treatment, unit=unit, post=post, model=model,
        exposure=exposure, exposure_unit=exposure_unit, per=per, cluster=cluster,
        confidence=confidence, X=X, names=names, y=df[outcome].to_numpy(float), w=w, tr=tr,
        po=po, codes=codes, n_clusters=n_clusters, rows_tp=rows_tp, Xcf=Xcf,
    )


def _checked_frame(data: Any, outcome: str, treatment: str, unit: str, post: str,
                   covariates: list[str], model: str, exposure: str | None,
                   weights: str | None, cluster: str) -> pd.DataFrame:
    """The data as pandas with its columns checked: present, numeric, 0/1 flags, no missing
    values; for Poisson a non-negative outcome and positive exposure; non-negative weights."""
    df = to_pandas(data)
    cols = list(dict.fromkeys([unit, outcome, treatment, post, *covariates,
                               *([exposure] if exposure else []), *([weights] if weights else []),
                               cluster]))
    numeric = [outcome, treatment, post, *covariates, *([exposure] if exposure else []),
               *([weights] if weights else [])]
    df = check_frame(df, "data", required=cols, numeric=numeric, binary=[treatment, post],
                     not_null=cols)
    if model == "poisson":
        if exposure is None:
            raise InputError("model='poisson' needs `exposure` (the person-time column)")
        if (df[outcome] < 0).any():
            raise InputError(f"`outcome` column '{outcome}' must be non-negative for a Poisson model")
        if (df[exposure] <= 0).any():
            raise InputError(f"`exposure` column '{exposure}' must be positive (drop rows with no time at risk)")
    if weights is not None and (df[weights] < 0).any():
        raise InputError(f"`weights` column '{weights}' must be non-negative")
    return df


def _check_cells_and_scale(df: pd.DataFrame, outcome: str, treatment: str, post: str,
                           covariates: list[str], exposure: str | None, tr: np.ndarray,
                           po: np.ndarray, w: np.ndarray) -> None:
    """Refuse a design with an empty treatment x post cell (no row of positive weight) or with
    values so large (beyond 1e100) that the model's arithmetic would overflow."""
    cells = pd.crosstab(tr, po, values=(w > 0).astype(int), aggfunc="sum").fillna(0)
    if cells.shape != (2, 2) or (cells.to_numpy() == 0).any():
        raise InputError(
            f"`data` needs rows with positive weight in all four cells of `{treatment}` x `{post}`;"
            f" counts are\n{cells}"
        )
    big = [c for c in [outcome, *covariates, *([exposure] if exposure else [])]
           if np.abs(df[c].to_numpy(float)).max() > 1e100]
    if big:
        raise InputError(f"column(s) {big} hold values beyond 1e100, which overflow the model's "
                         "arithmetic; rescale them (e.g. to thousands)")


def _fit_linear(spec: _Spec2x2) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Fit: weighted OLS with the CR1 sandwich; the ATT and the ratio of means
    ``(mu0 + ATT) / mu0`` (delta method on the log scale). Returns ``(beta, V, rows)``."""
    X, y, w, confidence = spec.X, spec.y, spec.w, spec.confidence
    beta = np.linalg.solve((X * w[:, None]).T @ X, (X * w[:, None]).T @ y)
    resid = y - X @ beta
    V = sandwich(np.linalg.inv((X * w[:, None]).T @ X), X * (w * resid)[:, None], "CR1",
                 clusters=[spec.codes])
    att, se = beta[3], np.sqrt(V[3, 3])
    wt = w[spec.rows_tp]
    c = (spec.Xcf * wt[:, None]).sum(0) / wt.sum()
    mu0 = float(c @ beta)
    # a ratio of means needs both means positive (not so for outcomes that can be <= 0)
    defined = mu0 > 0 and (mu0 + att) > 0
    ratio = (mu0 + att) / mu0 if defined else np.nan
    se_log = np.nan
    if defined:
        grad = np.zeros(len(beta))
        grad[3] = 1.0 / mu0
        grad = grad - att * c / mu0**2
        se_log = np.sqrt(grad @ V @ grad) / ratio
    rows = [
        difference_row("ATT", att, se, confidence, measure=f"difference in mean {spec.outcome}"),
        ratio_row("ATT", float(np.log(ratio)) if defined else np.nan, float(se_log),
                  confidence, measure="ratio of means" if defined else
                  "ratio of means (not defined: a mean is not positive)"),
    ]
    return beta, V, rows


def _fit_poisson(spec: _Spec2x2) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Fit: Poisson PML with the log person-time offset and the CR1 sandwich; the rate ratio
    and the difference in rates per ``per`` person-years. Returns ``(beta, V, rows)``."""
    X, y, w, tr, po = spec.X, spec.y, spec.w, spec.tr, spec.po
    events = pd.Series(y * (w > 0)).groupby([tr, po]).sum()
    if (events <= 0).any():
        empty = ", ".join(f"{spec.treatment}={int(a)}/{spec.post}={int(b)}"
                          for (a, b), v in events.items() if v <= 0)
        raise EstimationError(
            f"no events of `{spec.outcome}` in the cell(s) {empty}: a rate ratio is not estimable "
            "(the Poisson coefficient would diverge); pool subgroups or use model='linear'"
        )
    expo_all = spec.df[spec.exposure].to_numpy(float)
    offset = np.log(expo_all)
    beta, converged = fit_glm("poisson", X, y, w, offset)
    if not converged:
        raise EstimationError("the Poisson model did not converge")
    mu = np.exp(X @ beta + offset)
    V = sandwich(np.linalg.inv((X * (w * mu)[:, None]).T @ X), X * (w * (y - mu))[:, None],
                 "CR1", clusters=[spec.codes])
    lrr, se_lrr = beta[3], np.sqrt(V[3, 3])
    rows_tp, Xcf, per = spec.rows_tp, spec.Xcf, spec.per
    expo = expo_all[rows_tp]
    wt = w[rows_tp]
    mu1 = wt * expo * np.exp(X[rows_tp] @ beta)
    mu0 = wt * expo * np.exp(Xcf @ beta)
    assert spec.exposure_unit is not None  # required for Poisson rates (checked in the spec)
    years = (wt * expo).sum() * _YEARS[spec.exposure_unit]
    diff = (mu1.sum() - mu0.sum()) / years * per
    grad = ((mu1[:, None] * X[rows_tp]).sum(0) - (mu0[:, None] * Xcf).sum(0)) / years * per
    se_diff = np.sqrt(grad @ V @ grad)
    rows = [
        difference_row("ATT", diff, se_diff, spec.confidence,
                       measure=f"difference in rate per {per:,.0f} person-years"),
        ratio_row("ATT", float(lrr), float(se_lrr), spec.confidence, measure="rate ratio"),
    ]
    return beta, V, rows


def _result(spec: _Spec2x2, beta: np.ndarray, V: np.ndarray, rows: list[dict]) -> DidResult:
    """Result: the two rows with the design columns (counts, clusters, method, SE type)."""
    df, unit, cluster = spec.df, spec.unit, spec.cluster
    table = pd.DataFrame(rows)
    unit_treated = df.groupby(unit, sort=False)[spec.treatment].max()
    table["n_treated"] = int((unit_treated == 1).sum())
    table["n_comparison"] = int((unit_treated == 0).sum())
    table["n_units"] = int(df[unit].nunique())
    table["n_obs"] = len(df)
    table["n_clusters"] = spec.n_clusters
    table["cluster"] = cluster
    table["method"] = f"2x2 DiD ({'OLS' if spec.model == 'linear' else 'Poisson PML'})"
    table["se_type"] = f"CR1 clustered by {cluster}"
    table["confidence"] = spec.confidence
    return DidResult(
        table=table, model=spec.model, params=pd.Series(beta, index=spec.names),
        cov=pd.DataFrame(V, index=spec.names, columns=spec.names), n_obs=len(df),
        n_units=int(df[unit].nunique()), n_clusters=spec.n_clusters,
        settings=dict(cluster=cluster, confidence=spec.confidence, per=spec.per,
                      exposure_unit=spec.exposure_unit),
    )
