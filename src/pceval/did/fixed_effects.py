"""Two-way fixed-effects regressions: the static TWFE DiD and the dynamic event study.

Model (units ``i``, periods ``t``)::

    y_it = alpha_i + lambda_t + beta' d_it + gamma' x_it + e_it

``d_it`` is the treatment indicator (static TWFE) or a set of event-time dummies
``1{t - G_i = e}`` (event study; ``e = reference`` omitted, end points optionally binned,
never-treated units all zero). The fixed effects are swept out by the within transformation
(Frisch-Waugh-Lovell): exact two-way demeaning on a balanced panel, alternating projections
(Guimaraes & Portugal 2010) on an unbalanced one; no unit dummies are ever built.

Standard errors are cluster-robust (CR1) with fixest's defaults: ``G/(G-1) (N-1)/(N-K)``
where ``K`` counts the slopes and the fixed effects not nested in the clusters (unit effects
are nested in unit or area clusters and are not counted). This reproduces
``fixest::feols(y ~ d | unit + time, cluster = ~unit)`` (checked against pyfixest in the tests).

With staggered adoption and effects that change over time, TWFE's ``beta`` is a weighted
average of 2x2 comparisons, some of which use already-treated units as controls with negative
weights (Goodman-Bacon 2021; see :func:`pceval.did.bacon_decomposition`). Use
:func:`pceval.did.att_gt` for a heterogeneity-robust answer; TWFE is kept as the familiar
benchmark and as a teaching contrast.

References: Goodman-Bacon, A. (2021) J. Econometrics 225(2):254-277; Sun, L. & Abraham, S. (2021)
J. Econometrics 225(2):175-199; Berge, L. (2018) fixest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from pceval._checks import check_confidence, check_frame, check_int
from pceval._distributions import stats
from pceval._engines import to_pandas
from pceval._models import sandwich
from pceval._results import ResultProtocol, plain_floats, protocol_frame
from pceval.did._inference import wald_test
from pceval.errors import EstimationError, InputError

if TYPE_CHECKING:
    from plotnine import ggplot


def within(M: np.ndarray, u: np.ndarray, t: np.ndarray, w: np.ndarray, *,
           tol: float = 1e-12, max_iter: int = 10_000) -> np.ndarray:
    """Remove unit and time (weighted) means from each column of ``M`` (``n x m``)."""
    M = np.array(M, dtype=float, copy=True)
    nu, nt = int(u.max()) + 1, int(t.max()) + 1
    wu = np.bincount(u, weights=w, minlength=nu)
    wt = np.bincount(t, weights=w, minlength=nt)
    for j in range(M.shape[1]):  # few columns: the treatment terms and covariates
        x = M[:, j]
        for _ in range(max_iter):
            x = x - (np.bincount(u, weights=w * x, minlength=nu) / wu)[u]
            mt = np.bincount(t, weights=w * x, minlength=nt) / wt
            x = x - mt[t]
            if np.max(np.abs(mt)) < tol * (1.0 + np.max(np.abs(x))):
                break
        else:  # pragma: no cover
            raise EstimationError("the within transformation did not converge")
        M[:, j] = x
    return M


@dataclass(frozen=True)
class FixedEffectsResult(ResultProtocol):
    """Coefficients of a TWFE regression: ``table`` with term, estimate, std_error, CI, p."""

    table: pd.DataFrame
    cov: pd.DataFrame
    n_obs: int
    n_units: int
    n_clusters: int
    settings: dict
    pretest: dict | None = None

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix (CR1, as the standard errors) of the coefficients. For an event
        study, of the event-time coefficients only, indexed by event time (the omitted
        reference period has no row); the input of :func:`pceval.sensitivity.honest_did`."""
        if "event_time" not in self.table:
            return self.cov.copy()
        tab = self.table.dropna(subset=["std_error", "event_time"])  # covariates: no event time
        tab = tab[tab["term"].isin(self.cov.index)]
        names = [n for n in self.cov.index if n in set(tab["term"])]
        et = dict(zip(tab["term"], tab["event_time"].astype(int), strict=True))
        out = self.cov.loc[names, names].copy()
        out.index = out.columns = [et[n] for n in names]
        out.index.name = out.columns.name = "event_time"
        return out.sort_index(axis=0).sort_index(axis=1)

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns (one row per coefficient; row 0, the treatment or first event-time
        coefficient, is the headline), then ``event_time`` for event studies, ``n_units, n_obs,
        n_clusters, method, se_type, confidence``."""
        s = self.settings
        design = {"measure": "difference in mean outcome", "n_units": self.n_units,
                  "n_obs": self.n_obs, "n_clusters": self.n_clusters,
                  "method": s["kind"], "se_type": f"CR1 clustered by {s['cluster']}",
                  "confidence": s["confidence"]}
        return protocol_frame(self.table, confidence=s["confidence"], design=design)

    @property
    def headline(self) -> pd.Series:
        """The treatment coefficient (TWFE), or the event-time-0 coefficient (event study: the
        effect in the period of treatment; the leads are pre-trend checks, not effects)."""
        frame = self.to_frame()
        if "event_time" in frame and (frame["event_time"] == 0).any():
            return frame.loc[frame["event_time"] == 0].iloc[0]
        return frame.iloc[0]

    def summary(self) -> str:
        """Readable text: the design, the clustering, the coefficients and (event study) the pre-trend test."""
        s = self.settings
        lines = [f"{s['kind']}: unit and period fixed effects; {self.n_obs:,} observations, "
                 f"{self.n_units:,} units; CR1 SEs clustered by {s['cluster']} ({self.n_clusters:,})",
                 self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
        if self.pretest and self.pretest["df"]:
            p = self.pretest
            lines.append(f"joint test of the leads (pre-trends): chi2({p['df']}) = "
                         f"{p['statistic']:.3f}, p = {p['p_value']:.4f}")
        return "\n".join(lines)

    def plot(self) -> ggplot:
        """Event-study plot; for a static TWFE, the coefficient(s) with their intervals."""
        if "event_time" not in self.table:
            from pceval.plots import plot_estimates

            return plot_estimates(self.to_frame(), title="Two-way fixed effects")
        from pceval.did.plots import plot_event_study

        return plot_event_study(self)


def _nested(fe: np.ndarray, cl: np.ndarray, n_fe: int) -> bool:
    """True when every level of the fixed effect ``fe`` lies within one cluster (O(n), no sort)."""
    first = np.empty(n_fe, dtype=cl.dtype)
    first[fe] = cl  # any member's cluster; nested iff every member agrees with it
    return bool(np.array_equal(first[fe], cl))


def _fit(df: pd.DataFrame, codes: tuple[np.ndarray, np.ndarray], y: str, D: np.ndarray, names: list[str],
         unit: str, covariates: list[str], weights: str | None, cluster: str, confidence: float, kind: str,
         extra_cols: dict | None = None) -> FixedEffectsResult:
    """``codes``: the unit and time codes from :func:`_load`."""
    u, t = codes
    w = df[weights].to_numpy(float) if weights else np.ones(len(df))
    cl = u if cluster == unit else pd.factorize(df[cluster])[0]
    X = np.column_stack([D, df[covariates].to_numpy(float)]) if covariates else D
    names = names + covariates
    Z = within(np.column_stack([df[y].to_numpy(float), X]), u, t, w)
    yt, Xt = Z[:, 0], Z[:, 1:]
    keep_cols = np.abs(Xt).max(axis=0) > 1e-10
    if not keep_cols.all():
        dropped = [n for n, k in zip(names, keep_cols, strict=True) if not k]
        raise EstimationError(f"no variation left after the fixed effects in {dropped}")
    XtX = (Xt * w[:, None]).T @ Xt
    if np.linalg.matrix_rank(XtX) < Xt.shape[1]:
        raise EstimationError("the design is singular (collinear treatment terms or covariates)")
    bread = np.linalg.inv(XtX)
    beta = bread @ ((Xt * w[:, None]).T @ yt)
    e = yt - Xt @ beta
    G = int(cl.max()) + 1
    if G < 2:
        raise InputError(f"`cluster` column '{cluster}' needs at least two clusters")
    n = len(df)
    n_u, n_t = int(u.max()) + 1, int(t.max()) + 1
    # fixed effects nested in the clusters are not counted (fixest's fixef.K = "nested")
    unit_nested = _nested(u, cl, n_u)
    time_nested = _nested(t, cl, n_t)
    K = Xt.shape[1] + (0 if unit_nested else n_u - 1) + (0 if time_nested else n_t - 1) + 1
    V = sandwich(bread, Xt * (w * e)[:, None], "CR1", clusters=[cl], n_params=K)
    se = np.sqrt(np.diag(V))
    z = stats.norm.ppf(0.5 + confidence / 2)
    table = pd.DataFrame({"term": names, "estimate": beta, "std_error": se,
                          "statistic": beta / se, "p_value": 2 * stats.norm.sf(np.abs(beta / se)),
                          "ci_lower": beta - z * se, "ci_upper": beta + z * se})
    if extra_cols:
        for k, v in extra_cols.items():
            table.insert(1, k, list(v) + [np.nan] * len(covariates))
    return FixedEffectsResult(
        table=table, cov=pd.DataFrame(V, index=names, columns=names), n_obs=n,
        n_units=n_u, n_clusters=G,
        settings=dict(kind=kind, cluster=cluster, confidence=confidence),
    )


def _load(data: Any, outcome: str, unit: str, time: str, cols: Sequence[str], covariates: Sequence[str],
          weights: str | None, cluster: str) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """Checked pandas frame and its (unit, time) codes; one row per unit and time."""
    df = to_pandas(data)
    req = list(dict.fromkeys([unit, time, outcome, *cols, *covariates,
                              *([weights] if weights else []), cluster]))
    df = check_frame(df, "data", required=req, not_null=req,
                     numeric=[outcome, time, *cols, *covariates, *([weights] if weights else [])])
    u = pd.factorize(df[unit])[0].astype(np.int64)
    t = pd.factorize(df[time])[0]
    if len(df) and np.bincount(u * (int(t.max()) + 1) + t).max() > 1:
        raise InputError(f"`data` must have one row per `{unit}` and `{time}`")
    if weights and (df[weights] < 0).any():
        bad = df.loc[df[weights] < 0, weights].unique()[:5]
        raise InputError(f"`weights` column '{weights}' must be non-negative; offending values: "
                         f"{list(bad)}")
    return df, (u, t)


def _check_group(df: pd.DataFrame, unit: str, group: str) -> None:
    """The first-treated period is a property of the unit: one value per unit (as att_gt)."""
    varies = df.groupby(unit, sort=False)[group].nunique()
    if (varies > 1).any():
        bad = varies.index[varies > 1][:5].tolist()
        raise InputError(f"`group` column '{group}' varies within {int((varies > 1).sum()):,} "
                         f"unit(s) of '{unit}' (e.g. {bad}); it must be each unit's first treated "
                         "period (0 = never treated), the same in every row")


def twfe(
    data: Any, outcome: str, unit: str, time: str, *, treatment: str | None = None,
    group: str | None = None, covariates: Sequence[str] | None = None,
    weights: str | None = None, cluster: str | None = None, confidence: float = 0.95,
) -> FixedEffectsResult:
    """Static two-way fixed-effects DiD: the coefficient on the treatment indicator.

    Give either ``treatment`` (a 0/1 column, 1 from the unit's first treated period on) or
    ``group`` (the first treated period, 0 = never; the indicator is built as
    ``time >= group``). SEs are clustered by ``cluster`` (default: the unit).
    """
    if (treatment is None) == (group is None):
        raise InputError("give exactly one of `treatment` (0/1 column) or `group` (first treated period)")
    covariates = list(covariates or [])
    cluster = cluster or unit
    confidence = check_confidence(confidence)
    df, codes = _load(data, outcome, unit, time, [cast(str, treatment or group)], covariates, weights,
                        cluster)
    if treatment is not None:
        if not df[treatment].isin([0, 1]).all():
            raise InputError(f"`treatment` column '{treatment}' must be 0/1")
        d = df[treatment].to_numpy(float)
        # an absorbing treatment never switches off
        s = df.sort_values([unit, time])
        off = (s.groupby(unit)[treatment].diff() < 0)
        if off.any():
            raise InputError(
                f"`treatment` switches off for {s.loc[off, unit].nunique():,} unit(s); the TWFE "
                "DiD here assumes treatment, once started, stays on"
            )
    else:
        assert group is not None  # exactly one of treatment and group (checked above)
        _check_group(df, unit, group)
        g = df[group].to_numpy(float)
        d = ((g > 0) & (df[time].to_numpy(float) >= g)).astype(float)
    return _fit(df, codes, outcome, d[:, None], ["treatment"], unit, covariates, weights,
                cluster, confidence, "Two-way fixed effects DiD")


def event_study(
    data: Any, outcome: str, unit: str, time: str, group: str, *, leads: int = 4,
    lags: int = 4, reference: int = -1, bin_endpoints: bool = True,
    covariates: Sequence[str] | None = None, weights: str | None = None,
    cluster: str | None = None, confidence: float = 0.95,
) -> FixedEffectsResult:
    """Dynamic TWFE event study with leads ``-leads..-1`` and lags ``0..lags``.

    Event time is ``e = time - group`` for treated units; ``e = reference`` is omitted;
    with ``bin_endpoints`` the end points collect all earlier (``<= -leads``) or later
    (``>= lags``) event times, otherwise those observations get their own omitted category
    (dropped from identification of the dummies). Never-treated units have all dummies 0.
    ``pretest`` is the joint Wald test that the lead coefficients are zero.
    """
    leads = check_int(leads, "leads", low=1)
    lags = check_int(lags, "lags", low=0)
    reference = check_int(reference, "reference", low=-leads, high=lags)
    covariates = list(covariates or [])
    cluster = cluster or unit
    confidence = check_confidence(confidence)
    df, codes = _load(data, outcome, unit, time, [group], covariates, weights, cluster)
    _check_group(df, unit, group)
    g = df[group].to_numpy(float)
    e = np.where(g > 0, df[time].to_numpy(float) - g, np.nan)
    if bin_endpoints:
        e = np.where(e < -leads, -leads, e)
        e = np.where(e > lags, lags, e)
    events = [k for k in range(-leads, lags + 1) if k != reference]
    D = np.column_stack([(e == k).astype(float) for k in events])
    present = D.sum(axis=0) > 0
    if not present.all():
        events = [k for k, p in zip(events, present, strict=True) if p]
        D = D[:, present]
    names = [f"e{k:+d}" for k in events]
    res = _fit(df, codes, outcome, D, names, unit, covariates, weights, cluster, confidence,
               "Event study (TWFE)", extra_cols={"event_time": events})
    lead_idx = [i for i, k in enumerate(events) if k < 0]
    b = res.table["estimate"].to_numpy()[lead_idx]
    V = res.cov.to_numpy()[np.ix_(lead_idx, lead_idx)]
    stat, dfree, p = wald_test(b, V)
    tab = res.table
    ref_row = pd.DataFrame([{"term": f"e{reference:+d}", "event_time": reference, "estimate": 0.0,
                             "std_error": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
                             "p_value": np.nan}])
    tab = pd.concat([tab.iloc[:len(events)], ref_row, tab.iloc[len(events):]], ignore_index=True)
    tab = tab.sort_values("event_time", na_position="last", kind="stable").reset_index(drop=True)
    return FixedEffectsResult(
        table=tab, cov=res.cov, n_obs=res.n_obs, n_units=res.n_units, n_clusters=res.n_clusters,
        settings=dict(res.settings, reference=reference, bin_endpoints=bin_endpoints),
        pretest=plain_floats({"statistic": stat, "df": dfree, "p_value": p}),
    )
