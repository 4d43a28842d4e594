"""Effects after matching: g-computation on the matched sample with cluster-robust SEs.

:func:`estimate_effect` fits an outcome model on the matched sample (weights from the match),
then estimates the average effect in the target population by g-computation (standardisation):

``m_a = sum_{i in target} w_i * E[Y_i | T = a, X_i] / sum_{i in target} w_i``,  ``a = 0, 1``

with the target the matched treated people for the ATT (controls for the ATC, everyone for the
ATE). The **absolute** effect is ``m_1 - m_0`` (difference in means or risks; with an
``exposure`` column, the difference in rates per ``per`` person-time units) and the **relative**
effect ``m_1 / m_0`` (ratio of means, risk ratio or rate ratio). Standard errors come from the
delta method with the model's covariance matrix; the relative effect's CI is formed on the log
scale.

Models: ``"linear"`` (weighted least squares, ``lm(y ~ treat + X, weights)``), ``"poisson"`` and
``"negbin"`` (log link; NB2 with variance ``mu + alpha mu^2``, ``alpha`` by weighted maximum
likelihood) for counts, with ``log(exposure)`` as offset for person-time, and ``"logistic"`` for
binary outcomes. With ``interaction=True`` the model also has treatment x covariate terms (the
specification MatchIt's guidance suggests); without it, and a linear model, the absolute effect
is the treatment coefficient.

Covariance (``vcov``), with ``A = X' diag(W) X`` (``W`` = weight x working weight) and score
contributions ``s_i = w_i (y_i - mu_i) (dmu/deta) / V(mu_i) x_i``:

* ``"cluster"``: ``V = G/(G-1) (n-1)/(n-k) A^-1 (sum_g s_g s_g') A^-1``, ``s_g`` summed over a
  matched set (``sandwich::vcovCL(fit, cluster = ~subclass)``, type HC1). Several cluster
  columns give the Cameron-Gelbach-Miller multiway estimator.
* ``"HC3"``: ``A^-1 (sum_i s_i s_i' / (1 - h_i)^2) A^-1``, ``h_i = W_i x_i' A^-1 x_i``
  (``sandwich::vcovHC(type = "HC3")``); ``"HC0"``, ``"HC1"`` likewise.
* ``"classical"``: ``sigma^2 A^-1`` (linear) or ``A^-1`` (GLMs).

``vcov="auto"`` follows MatchIt's guidance on effect estimation: cluster by matched set (pair)
after nearest-neighbour matching without replacement; HC3 after matching with replacement, exact
matching, CEM and subclassification (where matched sets are strata, not pairs). Inference uses
the t distribution with ``n - k`` degrees of freedom for linear models (as R's ``coeftest``)
and the normal distribution for the others.

References
----------
Greifer N, Stuart EA (2021). Choosing the causal estimand for propensity score analysis of
observational studies; and MatchIt vignette "Estimating Effects After Matching".
Austin PC (2009). Type I error rates, coverage of confidence intervals, and variance estimation
in propensity-score matched analyses. *Int J Biostat* 5(1).
Cameron AC, Gelbach JB, Miller DL (2011). Robust inference with multiway clustering. *JBES* 29.
Zeileis A, Köll S, Graham N (2020). Various versatile variances: an object-oriented
implementation of clustered covariances in R. *J Stat Softw* 95(1).

Example
-------
>>> eff = estimate_effect(m, outcome="re78", covariates=["age", "educ"])  # doctest: +SKIP
>>> eff.to_frame()  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize

from pceval._checks import check_choice, check_confidence, check_frame, check_number
from pceval._models import dmu_deta as _dmu_deta
from pceval._models import fit_glm as _irls
from pceval._models import inv_link as _inv_link
from pceval._models import nb_loglik as _nb_loglik
from pceval._models import sandwich
from pceval._models import variance as _variance
from pceval._results import (
    ResultProtocol,
    difference_row,
    protocol_frame,
    ratio_row,
    two_sided_p,
)
from pceval.errors import EstimationError, InputError, PcevalWarning

if TYPE_CHECKING:
    from plotnine import ggplot

MODELS = ("linear", "poisson", "negbin", "logistic")
VCOVS = ("auto", "cluster", "HC0", "HC1", "HC3", "classical")


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EffectResult(ResultProtocol):
    """Effect of the intervention on the matched sample (immutable).

    ``estimates`` (tidy; see :meth:`to_frame`) holds the absolute and relative effects;
    ``coefficients`` the outcome model's coefficient table; ``vcov`` names the covariance
    estimator and ``cluster`` what it clusters on.
    """

    estimates: pd.DataFrame = field(repr=False)
    coefficients: pd.DataFrame = field(repr=False)
    outcome: str
    model: str
    estimand: str
    vcov: str
    cluster: str | None
    n: int
    n_clusters: int | None
    df_resid: int | None
    confidence: float
    covariates: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    interaction: bool = False
    alpha: float | None = None
    cov_params: np.ndarray | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The result protocol's columns, then measure, n_treated, n_comparison, n_obs,
        mean_treated, mean_untreated, estimand, model, vcov, se_type, cluster, n_clusters,
        confidence, method. Row 0 is the absolute effect (the headline), row 1 the relative."""
        return protocol_frame(self.estimates)

    def coef_frame(self) -> pd.DataFrame:
        """The outcome model's coefficients: term, estimate, std_error, statistic, p_value."""
        return self.coefficients.copy()

    @property
    def absolute(self) -> pd.Series:
        """The absolute-scale row of :meth:`to_frame`."""
        return self.estimates.iloc[0]

    @property
    def relative(self) -> pd.Series:
        """The relative-scale row of :meth:`to_frame`."""
        return self.estimates.iloc[1]

    def summary(self, digits: int = 4) -> str:
        """Readable text: both effects with CIs, how they were computed, the coefficients."""
        c = int(round(self.confidence * 100))
        se = {"cluster": f"cluster-robust (HC1) by {self.cluster} ({self.n_clusters:,} clusters)",
              "HC3": "heteroskedasticity-robust (HC3)", "HC1": "robust (HC1)",
              "HC0": "robust (HC0)", "classical": "model-based (classical)"}[self.vcov]
        lines = [f"Effect on {self.outcome} ({self.estimand}) by g-computation on the matched "
                 f"sample; {self.model} model"
                 + (" with treatment x covariate interactions" if self.interaction else ""),
                 f"n = {self.n:,}; standard errors {se}; {c}% CIs"
                 + (f" (t, {self.df_resid} df)" if self.df_resid else " (normal)")]
        if self.dropped:
            lines.append(f"Covariates dropped (constant or collinear in the matched sample): "
                         f"{', '.join(self.dropped)}")
        for _, r in self.estimates.iterrows():
            lines.append(f"  {r['scale']:<8} {r['measure']}: {r['estimate']:.{digits}g} "
                         f"({r['ci_lower']:.{digits}g} to {r['ci_upper']:.{digits}g}), "
                         f"p = {r['p_value']:.3g}")
        lines.append("")
        lines.append("Outcome model coefficients:")
        lines.append(self.coefficients.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
        return "\n".join(lines)

    def plot(self) -> ggplot:
        """Point-and-interval plot of the absolute and relative effects (plotnine)."""
        from pceval.plots import plot_estimates

        return plot_estimates(self.to_frame(),
                              title=f"Effect on {self.outcome}: {self.estimand} "
                                    f"({int(self.confidence * 100)}% CI)")


# ----------------------------------------------------------------------------------------------
# estimation
# ----------------------------------------------------------------------------------------------

def _design(df: pd.DataFrame, covs: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    from pceval._design import model_matrix

    d = model_matrix(df, covs, contrasts=True, name="data")
    return d.X, d.names


def _drop_degenerate(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """Drop constant covariate columns, then columns collinear with earlier ones (R's NA)."""
    keep, dropped = [], []
    for j in range(X.shape[1]):
        col = X[:, j]
        if np.ptp(col) == 0:
            dropped.append(names[j])
        else:
            keep.append(j)
    X = X[:, keep]
    names = [names[j] for j in keep]
    return X, names, dropped


def _full_rank(X: np.ndarray, names: list[str], protect: int) -> tuple[list[int], list[str]]:
    """Greedy rank check (columns in order); the first ``protect`` columns are always kept."""
    sc = X / np.maximum(np.sqrt(np.mean(X * X, axis=0)), 1e-300)
    if np.linalg.matrix_rank(sc) == X.shape[1]:
        return list(range(X.shape[1])), []
    keep: list[int] = []
    dropped: list[str] = []
    for j in range(X.shape[1]):
        cand = keep + [j]
        if j < protect or np.linalg.matrix_rank(sc[:, cand]) == len(cand):
            keep.append(j)
        else:
            dropped.append(names[j])
    return keep, dropped


def estimate_effect(data: Any, outcome: str, treatment: str | None = None,
                    covariates: Sequence[str] | None = None, *, model: str = "linear",
                    weights: str | None = "weights", cluster: str | Sequence[str] | None = "auto",
                    vcov: str = "auto", exposure: str | None = None, per: float | None = None,
                    interaction: bool = False, estimand: str | None = None,
                    confidence: float = 0.95) -> EffectResult:
    """Estimate the intervention's effect on ``outcome`` after matching (g-computation).

    Parameters
    ----------
    data : a :class:`pceval.MatchResult` (its matched sample is used), or a matched table such
        as ``MatchResult.matched_data()`` (then give ``treatment``; ``weights`` and ``cluster``
        name columns).
    outcome : outcome column (measured after the index date).
    covariates : optional adjustment covariates (factors expanded with treatment contrasts);
        covariates constant or collinear in the matched sample are dropped and listed.
    model : ``"linear"``, ``"poisson"``, ``"negbin"`` or ``"logistic"``.
    treatment : the 0/1 treatment column (taken from the MatchResult if given).
    weights : weight column for a table input (``None``: unweighted).
    cluster : ``"auto"``: for a MatchResult, its matched sets when they are pairs (nearest
        neighbour without replacement); for a table, its ``subclass`` column if it has a complete
        one. Or a column name, a list of names (multiway clustering), or None.
    vcov : ``"auto"`` (MatchIt's recommendation, see module docstring; for a table: clustered
        if there is a cluster, else HC3), ``"cluster"``, ``"HC3"``, ``"HC1"``, ``"HC0"`` or
        ``"classical"``.
    exposure : person-time column for counts: ``log(exposure)`` is the offset and the absolute
        effect is a rate difference per ``per`` units (default 1,000).
    interaction : add treatment x covariate interactions to the outcome model.
    estimand : ``"ATT"``, ``"ATC"`` or ``"ATE"`` (default: the MatchResult's, else ATT).
    confidence : confidence level of the intervals.

    Returns
    -------
    EffectResult
        In the result protocol: the absolute effect (the headline) and the relative effect.

    The work is done in four steps, each a private function: the analysed sample and its
    clusters (:func:`_sample_from_match` / :func:`_sample_from_table`), the outcome model's
    design (:func:`_design_matrix`), the fit and its sandwich (:func:`_fit_outcome`), and
    g-computation on the target population (:func:`_g_computation`).
    """
    model = check_choice(model, "model", MODELS)
    vcov = check_choice(vcov, "vcov", VCOVS)
    confidence = check_confidence(confidence)
    covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
    if treatment is not None and not isinstance(treatment, str):
        raise InputError(f"`treatment` is the name of the 0/1 treatment column, not {treatment!r}; "
                         "adjustment covariates go in `covariates=`")
    smp = _sample(data, outcome, treatment, covs, weights, exposure, cluster, estimand)
    vcov = _resolve_vcov(vcov, smp)
    y, t, offset, expo = _outcome_arrays(smp, outcome, model, exposure)
    per_v = check_number(per if per is not None else (1000.0 if exposure else 1.0), "per",
                         low=0, low_open=True)
    X, names, dropped = _design_matrix(smp, covs, t, interaction)
    fit = _fit_outcome(model, X, y, smp.w, offset, vcov, smp.cl_arrays if vcov == "cluster" else [])
    df_resid = X.shape[0] - X.shape[1] if model == "linear" else None  # t for OLS, as R's lm
    se_b = np.sqrt(np.diag(fit.V))
    stat_b = fit.beta / se_b
    coef = pd.DataFrame({"term": names, "estimate": fit.beta, "std_error": se_b,
                         "statistic": stat_b, "p_value": two_sided_p(stat_b, df_resid)})
    out = _g_computation(model, X, names, smp.treatment, t, smp.w, offset, expo, per_v, fit,
                         smp.est, confidence, df_resid)
    cl_names = smp.cl_names if vcov == "cluster" else []
    n_cl = int(len(np.unique(smp.cl_arrays[0]))) if cl_names else None
    out["n_treated"] = int((t == 1).sum())
    out["n_comparison"] = int((t == 0).sum())
    out["n_obs"] = len(y)
    out["estimand"] = smp.est
    out["model"] = model
    out["vcov"] = vcov
    out["se_type"] = vcov if vcov != "cluster" else f"CR1 clustered by {'+'.join(cl_names)}"
    out["cluster"] = "+".join(cl_names) if cl_names else None
    out["n_clusters"] = n_cl
    out["confidence"] = confidence
    out["method"] = "g-computation on the matched sample"
    return EffectResult(estimates=out, coefficients=coef, outcome=outcome, model=model,
                        estimand=smp.est, vcov=vcov,
                        cluster="+".join(cl_names) if cl_names else None, n=len(y),
                        n_clusters=n_cl, df_resid=df_resid, confidence=confidence,
                        covariates=tuple(covs), dropped=tuple(dropped), interaction=interaction,
                        alpha=fit.alpha if model == "negbin" else None, cov_params=fit.V)


# ----------------------------------------------------------------------------------------------
# step 1: the analysed sample
# ----------------------------------------------------------------------------------------------

@dataclass
class _Sample:
    """The rows the outcome model uses, their weights, and what the SEs may cluster on."""

    df: pd.DataFrame               # analysed rows (weight > 0)
    treatment: str
    w: np.ndarray
    est: str                       # estimand
    auto_vcov: str                 # MatchIt's recommendation for this design
    full: pd.DataFrame | None = None       # the whole matched table (factor levels, as R)
    keep_rows: np.ndarray | None = None
    cl_names: list[str] = field(default_factory=list)
    cl_arrays: list[np.ndarray] = field(default_factory=list)


def _sample(data: Any, outcome: str, treatment: str | None, covs: list[str],
            weights: str | None, exposure: str | None, cluster: Any,
            estimand: str | None) -> _Sample:
    from pceval.matching.result import MatchResult

    if isinstance(data, MatchResult):
        if treatment not in (None, data.treatment):
            raise InputError(f"`treatment='{treatment}'` but the MatchResult was matched on "
                             f"'{data.treatment}'; leave `treatment` out when passing a MatchResult")
        smp = _sample_from_match(data, outcome, covs, exposure, cluster, estimand)
    else:
        smp = _sample_from_table(data, outcome, treatment, covs, weights, exposure, cluster,
                                 estimand)
    check_choice(smp.est, "estimand", ("ATT", "ATC", "ATE"))
    return smp


def _sample_from_match(m: Any, outcome: str, covs: list[str], exposure: str | None,
                       cluster: Any, estimand: str | None) -> _Sample:
    """The matched sample of a MatchResult; clusters default to its matched sets."""
    keep = m.weights > 0
    df = m.data.loc[keep]
    check_frame(df, "data", required=[outcome, *covs] + ([exposure] if exposure else []),
                numeric=[outcome])
    smp = _Sample(df=df, treatment=m.treatment, w=m.weights[keep].astype(float),
                  est=estimand or m.estimand, full=m.data, keep_rows=keep,
                  auto_vcov="cluster" if (m.method == "nearest" and m.has_subclass) else "HC3")
    if cluster == "auto":
        if m.has_subclass:
            smp.cl_names, smp.cl_arrays = ["subclass"], [m.subclass[keep]]
        return smp
    for c in ([] if cluster is None else [cluster] if isinstance(cluster, str) else list(cluster)):
        if c == "subclass" and c not in df.columns:
            if not m.has_subclass:
                raise InputError("cluster='subclass': this match has no matched sets "
                                 "(matching with replacement); use vcov='HC3'")
            smp.cl_arrays.append(m.subclass[keep])
        else:
            check_frame(df, "data", required=[c], not_null=[c])
            smp.cl_arrays.append(df[c].to_numpy())
        smp.cl_names.append(c)
    return smp


def _sample_from_table(data: Any, outcome: str, treatment: str | None, covs: list[str],
                       weights: str | None, exposure: str | None, cluster: Any,
                       estimand: str | None) -> _Sample:
    """A matched table (e.g. ``matched_data()``): rows with positive weight; clusters by column."""
    if treatment is None:
        raise InputError("`treatment` is required when `data` is a table")
    if not isinstance(data, pd.DataFrame):
        from pceval._engines import to_pandas

        data = to_pandas(data)
    need = [treatment, outcome, *covs] + [c for c in (weights, exposure) if c]
    df = check_frame(data, "data", required=need, numeric=[outcome], binary=[treatment],
                     not_null=[treatment])
    if weights:
        w = df[weights].to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise InputError(f"`data`: column '{weights}' (weights) must be finite and >= 0")
        df, w = df.loc[w > 0], w[w > 0]
    else:
        w = np.ones(len(df))
    if cluster == "auto":
        cl = ["subclass"] if "subclass" in df.columns and df["subclass"].notna().all() else []
    else:
        cl = [] if cluster is None else ([cluster] if isinstance(cluster, str) else list(cluster))
    smp = _Sample(df=df, treatment=treatment, w=w, est=estimand or "ATT", auto_vcov="HC3")
    for c in cl:
        check_frame(df, "data", required=[c], not_null=[c])
        smp.cl_arrays.append(df[c].to_numpy())
        smp.cl_names.append(c)
    if smp.cl_arrays:
        smp.auto_vcov = "cluster"
    return smp


def _resolve_vcov(vcov: str, smp: _Sample) -> str:
    """``"auto"`` becomes MatchIt's recommendation; clustering needs something to cluster on."""
    if vcov == "auto":
        vcov = smp.auto_vcov if (smp.auto_vcov != "cluster" or smp.cl_arrays) else "HC3"
    if vcov == "cluster" and not smp.cl_arrays:
        raise InputError("vcov='cluster' needs `cluster` (a column, or a match with matched sets)")
    return vcov


def _outcome_arrays(smp: _Sample, outcome: str, model: str, exposure: str | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(outcome, treatment, offset, person-time) with the checks each model needs."""
    df = smp.df
    y = df[outcome].to_numpy(dtype=float)
    n_na = int(np.isnan(y).sum())
    if n_na:
        raise InputError(f"`outcome` '{outcome}' has {n_na} missing value(s) in the matched sample; "
                         "dropping them would break matched sets: impute or restrict before matching")
    t = df[smp.treatment].astype(int).to_numpy()
    if model in ("poisson", "negbin") and (y < 0).any():
        raise InputError(f"model='{model}' needs a non-negative count outcome; '{outcome}' has "
                         f"{int((y < 0).sum())} negative value(s)")
    if model == "logistic" and not np.all((y == 0) | (y == 1)):
        raise InputError(f"model='logistic' needs a 0/1 outcome; '{outcome}' has other values")
    if (t == 1).sum() == 0 or (t == 0).sum() == 0:
        raise EstimationError("the matched sample needs both treated and untreated people")
    if not exposure:
        return y, t, np.zeros(len(y)), None
    if model not in ("poisson", "negbin"):
        raise InputError("`exposure` (person-time) is for model='poisson' or 'negbin'")
    expo = df[exposure].to_numpy(dtype=float)
    if not np.all(np.isfinite(expo)) or (expo <= 0).any():
        raise InputError(f"`exposure` column '{exposure}' must be positive person-time with "
                         "no missing values")
    return y, t, np.log(expo), expo


# ----------------------------------------------------------------------------------------------
# step 2: the outcome model's design
# ----------------------------------------------------------------------------------------------

def _design_matrix(smp: _Sample, covs: list[str], t: np.ndarray, interaction: bool
                   ) -> tuple[np.ndarray, list[str], list[str]]:
    """Intercept, treatment, covariates (factor levels from the whole matched table, as R's
    ``match.data``) and optional interactions; constant and collinear terms dropped, named."""
    n = len(t)
    if covs and smp.full is not None:
        Xc, cnames = _design(smp.full, covs)
        Xc = Xc[smp.keep_rows]
    elif covs:
        Xc, cnames = _design(smp.df, covs)
    else:
        Xc, cnames = np.empty((n, 0)), []
    Xc, cnames, dropped = _drop_degenerate(Xc, cnames)
    cols = [np.ones(n), t.astype(float), *Xc.T]
    names = ["(Intercept)", smp.treatment, *cnames]
    if interaction and cnames:
        cols += [t * Xc[:, j] for j in range(Xc.shape[1])]
        names += [f"{smp.treatment}:{c}" for c in cnames]
    X = np.column_stack(cols)
    keep_cols, coll = _full_rank(X, names, protect=2)
    dropped += coll
    X = X[:, keep_cols]
    names = [names[j] for j in keep_cols]
    if dropped:
        warnings.warn(f"estimate_effect: dropped constant or collinear term(s) {dropped}",
                      PcevalWarning, stacklevel=3)
    if X.shape[0] <= X.shape[1]:
        raise EstimationError(f"the matched sample ({X.shape[0]} rows) is too small for "
                              f"{X.shape[1]} coefficients")
    return X, names, dropped


# ----------------------------------------------------------------------------------------------
# step 3: fit and covariance
# ----------------------------------------------------------------------------------------------

@dataclass
class _Fit:
    beta: np.ndarray
    V: np.ndarray
    alpha: float


def _fit_outcome(model: str, X: np.ndarray, y: np.ndarray, w: np.ndarray, offset: np.ndarray,
                 vcov: str, cl_arrays: list[np.ndarray]) -> _Fit:
    """Fit the GLM (the NB2 dispersion by profile likelihood) and its sandwich covariance."""
    alpha = 0.0
    if model == "negbin":
        beta_p, _ = _irls("poisson", X, y, w, offset)

        def negll(la: float) -> float:
            a = float(np.exp(la))
            b, _ = _irls("negbin", X, y, w, offset, alpha=a, beta0=beta_p)
            return -_nb_loglik(y, _inv_link("negbin", X @ b + offset), w, a)

        opt = optimize.minimize_scalar(negll, bounds=(-12, 6), method="bounded",
                                       options={"xatol": 1e-8})
        alpha = float(np.exp(opt.x))
        beta, conv = _irls("negbin", X, y, w, offset, alpha=alpha, beta0=beta_p)
    else:
        beta, conv = _irls(model, X, y, w, offset)
    if not conv:
        warnings.warn(f"estimate_effect: the {model} model did not converge", PcevalWarning,
                      stacklevel=3)
    eta = X @ beta + offset
    mu = _inv_link(model, eta)
    if model == "logistic" and (np.min(mu) < 1e-10 or np.max(mu) > 1 - 1e-10):
        warnings.warn("estimate_effect: fitted probabilities numerically 0 or 1 (separation)",
                      PcevalWarning, stacklevel=3)
    dm = _dmu_deta(model, eta, mu)
    var = _variance(model, mu, alpha)
    W = w * dm * dm / var
    try:
        A_inv = np.linalg.inv((X * W[:, None]).T @ X)
    except np.linalg.LinAlgError as exc:
        raise EstimationError("singular outcome model (check the covariates)") from exc
    scores = (w * (y - mu) * dm / var)[:, None] * X
    n, k = X.shape
    resid_var = float(np.sum(w * (y - mu) ** 2) / (n - k)) if model == "linear" else 1.0
    clusters = [pd.factorize(a)[0].astype(np.int64) for a in cl_arrays] if cl_arrays else None
    V = sandwich(A_inv, scores, "CR1" if vcov == "cluster" else vcov, clusters=clusters, X=X, W=W,
                 resid_var=resid_var)
    return _Fit(beta=beta, V=V, alpha=alpha)


# ----------------------------------------------------------------------------------------------
# step 4: g-computation
# ----------------------------------------------------------------------------------------------

_ABS_MEASURE = {"linear": "difference in means", "logistic": "risk difference",
                "poisson": "difference in mean counts", "negbin": "difference in mean counts"}
_REL_MEASURE = {"linear": "ratio of means", "logistic": "risk ratio",
                "poisson": "ratio of mean counts", "negbin": "ratio of mean counts"}


def _g_computation(model: str, X: np.ndarray, names: list[str], treatment: str, t: np.ndarray,
                   w: np.ndarray, offset: np.ndarray, expo: np.ndarray | None, per_v: float,
                   fit: _Fit, est: str, confidence: float, df_resid: int | None) -> pd.DataFrame:
    """Mean outcome of the target population with everyone treated (``m1``) and untreated
    (``m0``): their difference and ratio, with delta-method SEs (the ratio on the log scale)."""
    target = {"ATT": t == 1, "ATC": t == 0, "ATE": np.ones(len(t), bool)}[est]
    wt = w[target]
    X1, X0 = X[target].copy(), X[target].copy()
    X1[:, names.index(treatment)] = 1.0
    X0[:, names.index(treatment)] = 0.0
    for j, nm in enumerate(names):
        if nm.startswith(f"{treatment}:"):
            X1[:, j] = X[target][:, names.index(nm.split(":", 1)[1])]
            X0[:, j] = 0.0
    eta1, eta0 = X1 @ fit.beta + offset[target], X0 @ fit.beta + offset[target]
    mu1, mu0 = _inv_link(model, eta1), _inv_link(model, eta0)
    denom = float(np.sum(wt * expo[target]) / per_v) if expo is not None else wt.sum()
    m1, m0 = float(wt @ mu1 / denom), float(wt @ mu0 / denom)
    g1 = (wt * _dmu_deta(model, eta1, mu1)) @ X1 / denom
    g0 = (wt * _dmu_deta(model, eta0, mu0)) @ X0 / denom
    diff, g_diff = m1 - m0, g1 - g0
    se_diff = float(np.sqrt(g_diff @ fit.V @ g_diff))
    a_meas, r_meas = _ABS_MEASURE[model], _REL_MEASURE[model]
    if expo is not None:
        a_meas, r_meas = f"rate difference per {per_v:,.0f} person-time", "rate ratio"
    if m1 > 0 and m0 > 0:
        g_lr = g1 / m1 - g0 / m0
        rel = ratio_row(est, float(np.log(m1 / m0)), float(np.sqrt(g_lr @ fit.V @ g_lr)),
                        confidence, df_resid=df_resid, measure=r_meas)
    else:
        rel = {"term": est, "estimate": np.nan, "std_error": np.nan, "statistic": np.nan,
               "p_value": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "scale": "relative",
               "measure": r_meas}
    rows = [difference_row(est, diff, se_diff, confidence, df_resid=df_resid, measure=a_meas), rel]
    out = pd.DataFrame(rows)
    out["mean_treated"] = m1
    out["mean_untreated"] = m0
    return out

__all__ = ["estimate_effect", "EffectResult"]
