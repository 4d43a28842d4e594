"""Distances for matching: design matrices, propensity scores and the Mahalanobis transform.

Design matrices
---------------
:func:`model_matrix` expands covariates the way R's ``model.matrix`` does. Numeric and boolean
columns enter as they are. Text, categorical (pandas ``category``) and object columns are
*factors*: their levels are the categories of a pandas ``Categorical`` (in their order) or else
the sorted distinct values (R's default for character vectors). With ``contrasts=True``
(treatment contrasts, as in a regression) the first level is dropped; with ``contrasts=False``
every level gets a 0/1 column (as in balance tables). Columns are named like R's: the covariate
name followed by the level, e.g. ``race`` with levels black, hispan, white gives ``racehispan``
and ``racewhite`` (plus ``raceblack`` for balance).

Propensity score
----------------
:func:`fit_propensity` fits ``P(T = 1 | X) = F(X beta)`` by maximum likelihood with ``F`` the
logistic (``link="logit"``) or standard normal (``link="probit"``) distribution function. It uses
iteratively reweighted least squares exactly as R's ``glm.fit`` does (starting values
``mu = (y + 1/2) / 2``, stopping when ``|dev - dev_old| / (|dev| + 0.1) < 1e-8``, at most 25
iterations), so that the fitted scores agree with R's ``glm`` (and hence MatchIt's) to about
1e-12 and ties and caliper decisions come out the same. Each IRLS step solves the weighted
normal equations on column-scaled covariates (a 1,100,000 x 10 design fits in well under a
second). The fitted :class:`PropensityModel` can return the same model as a statsmodels
results object (:meth:`PropensityModel.statsmodels`), fitted on request.

Mahalanobis distance
--------------------
``d(i, j) = sqrt((x_i - x_j)' S^+ (x_i - x_j))`` with ``S`` the pooled within-group covariance
matrix of the covariates (each group centred at its own mean; denominator ``n - 2``), as in
Rubin (1980), optmatch and MatchIt, and ``S^+`` its (Moore-Penrose) inverse, so that a full set
of factor dummies (whose covariance is singular) gives the same distance as any reduced coding.
:func:`mahalanobis_transform` returns ``Z = X L`` with ``L L' = S^+``, so that Mahalanobis
distances are Euclidean distances between rows of ``Z``.

References
----------
McCullagh P, Nelder JA (1989). *Generalized Linear Models*, 2nd ed. Chapman & Hall (IRLS).
Rubin DB (1980). Bias reduction using Mahalanobis-metric matching. *Biometrics* 36:293-298.
Ho D, Imai K, King G, Stuart EA (2011). MatchIt: nonparametric preprocessing for parametric
causal inference. *Journal of Statistical Software* 42(8).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from scipy.linalg import lapack

from pceval._distributions import stats
from pceval.errors import EstimationError, PcevalWarning

_EPS = np.finfo(float).eps
_EXTREME = 1e-6  # scores this close to 0 or 1 are reported as separation


# ----------------------------------------------------------------------------------------------
# propensity score
# ----------------------------------------------------------------------------------------------

def _linkinv(eta: np.ndarray, link: str) -> np.ndarray:
    if link == "logit":
        # R's C_logit_linkinv: exp(eta) / (1 + exp(eta)) with eta clamped at +-30
        e = np.exp(np.clip(eta, -30.0, 30.0))
        e = np.where(eta < -30, _EPS, np.where(eta > 30, 1 / _EPS, e))
        return e / (1 + e)
    thresh = -stats.norm.ppf(_EPS)
    return special.ndtr(np.clip(eta, -thresh, thresh))


def _mu_eta(eta: np.ndarray, link: str) -> np.ndarray:
    if link == "logit":
        e = np.exp(np.clip(eta, -30.0, 30.0))
        out = e / ((1 + e) * (1 + e))
        return np.where((eta > 30) | (eta < -30), _EPS, out)
    return np.maximum(np.exp(-0.5 * eta * eta) / np.sqrt(2 * np.pi), _EPS)


def _linkfun(mu: np.ndarray, link: str) -> np.ndarray:
    if link == "logit":
        return np.log(mu / (1 - mu))
    return special.ndtri(mu)


def _binomial_deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        d = np.log(np.where(y > 0, mu, 1 - mu))
    return float(-2 * np.dot(w, d))


def _linpred(X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``X @ coef`` accumulated column by column, as reference BLAS ``dgemv`` (and so R) does.

    Unlike an optimised matrix-vector product, whose summation order can depend on memory
    alignment, this gives bit-identical results for identical rows, so people with the same
    covariates always get exactly the same score (ties stay ties, as in R).
    """
    eta = np.zeros(X.shape[0])
    for j in range(X.shape[1]):
        eta += X[:, j] * coef[j]
    return eta


def _wls(X: np.ndarray, z: np.ndarray, w: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Solve the weighted normal equations ``(X' W X) b = X' W z``.

    The system is equilibrated (columns scaled to unit root-mean-square) before the Cholesky
    solve, which keeps it well conditioned whatever the covariates' units (incomes in pounds
    next to 0/1 flags); ``lstsq`` if it is singular.
    """
    Xw = X * w[:, None]
    H = (Xw.T @ X) / np.outer(scale, scale)
    g = (Xw.T @ z) / scale
    try:
        c = np.linalg.cholesky(H)
        b = np.linalg.solve(c.T, np.linalg.solve(c, g))
    except np.linalg.LinAlgError:
        b = np.linalg.lstsq(H, g, rcond=None)[0]
    return b / scale


@dataclass(frozen=True)
class PropensityModel:
    """A fitted binary-response model for the propensity score ``P(T = 1 | X)``.

    Attributes: ``coef`` (pandas Series, named like R's ``glm``), ``link``, ``converged``,
    ``iterations``, ``deviance``, ``linear_predictor`` and ``scores`` (fitted probabilities, one
    per row of the data passed to :func:`pceval.match`), and ``n``.
    """

    coef: pd.Series
    link: str
    converged: bool
    iterations: int
    deviance: float
    linear_predictor: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    n: int = 0
    dropped: tuple[str, ...] = ()
    _X: np.ndarray | None = field(default=None, repr=False, compare=False)
    _y: np.ndarray | None = field(default=None, repr=False, compare=False)

    def statsmodels(self) -> Any:
        """The same model as a fitted ``statsmodels`` GLM results object (fitted on request).

        Started at the IRLS solution, so it agrees with :attr:`coef` to optimiser precision;
        use it for ``summary()``, standard errors and diagnostics of the propensity model.
        """
        import statsmodels.api as sm

        if self._X is None or self._y is None:
            raise EstimationError("the design of this propensity model was not kept")
        fam = sm.families.Binomial(
            link=sm.families.links.Logit() if self.link == "logit" else sm.families.links.Probit())
        exog = pd.DataFrame(self._X, columns=list(self.coef.index))
        return sm.GLM(self._y, exog, family=fam).fit(start_params=self.coef.to_numpy())

    def summary(self) -> str:
        """Coefficients and fit information as text."""
        lines = [f"Propensity model: binomial GLM, {self.link} link, n = {self.n:,}, "
                 f"{'converged' if self.converged else 'NOT converged'} in {self.iterations} "
                 f"IRLS iterations, deviance {self.deviance:.4f}"]
        if self.dropped:
            lines.append(f"Dropped (constant or collinear): {', '.join(self.dropped)}")
        width = max(len(str(k)) for k in self.coef.index)
        lines += [f"  {str(k):<{width}}  {v: .6g}" for k, v in self.coef.items()]
        return "\n".join(lines)


def fit_propensity(X: np.ndarray, names: Sequence[str], y: np.ndarray, *, link: str = "logit",
                   weights: np.ndarray | None = None, maxit: int = 25, tol: float = 1e-8,
                   keep_design: bool = True, has_intercept: bool = False) -> PropensityModel:
    """Fit a logistic or probit propensity model by IRLS, exactly as R's ``glm.fit``.

    ``X`` holds the covariate columns (an intercept is added unless ``has_intercept``, in which
    case the first column is the intercept). Constant columns and
    columns collinear with earlier ones are dropped with a :class:`PcevalWarning` (R reports
    their coefficients as ``NA``).

    Raises :class:`EstimationError` if the fit diverges (e.g. perfect separation without
    convergence); warns with counts when fitted scores are numerically 0 or 1.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if has_intercept:
        Xf = X
        nm = list(names)
    else:
        Xf = np.column_stack([np.ones(n), X]) if X.size else np.ones((n, 1))
        nm = ["(Intercept)", *names]
    keep, dropped = _independent_columns(Xf, nm)
    if dropped:
        warnings.warn(f"propensity model: dropped constant or collinear column(s) {dropped}",
                      PcevalWarning, stacklevel=3)
    if len(keep) < Xf.shape[1]:
        Xf = Xf[:, keep]
    nm = [nm[i] for i in keep]
    scale = np.maximum(np.sqrt(np.einsum("ij,ij->j", Xf, Xf) / n), 1e-300)

    eta = _linkfun((w * y + 0.5) / (w + 1), link)
    mu = _linkinv(eta, link)
    dev_old = _binomial_deviance(y, mu, w)
    coef = np.zeros(Xf.shape[1])
    converged = False
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007
        me = _mu_eta(eta, link)
        var = mu * (1 - mu)
        z = eta + (y - mu) / me
        ww = w * me * me / var
        good = ww > 0
        if good.all():
            coef = _wls(Xf, z, ww, scale)
        else:
            coef = _wls(Xf[good], z[good], ww[good], scale)
        eta = _linpred(Xf, coef)
        mu = _linkinv(eta, link)
        dev = _binomial_deviance(y, mu, w)
        if not np.isfinite(dev):
            raise EstimationError(
                "propensity model diverged (non-finite deviance): check for perfect separation "
                "(a covariate value that only treated or only untreated people have)")
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    extreme = int(np.sum((mu < _EXTREME) | (mu > 1 - _EXTREME)))
    if not converged:
        msg = (f"propensity model did not converge in {maxit} IRLS iterations"
               + (f"; {extreme:,} fitted scores are numerically 0 or 1 (within {_EXTREME:g}; perfect or quasi-"
                  "complete separation): remove or coarsen the covariate that separates the groups"
                  if extreme else ""))
        if extreme:
            raise EstimationError(msg)
        warnings.warn(msg, PcevalWarning, stacklevel=3)
    elif extreme:
        warnings.warn(
            f"propensity model: {extreme:,} fitted scores are numerically 0 or 1 (within "
            f"{_EXTREME:g}; quasi-complete separation): those people have no comparable "
            "counterparts; consider discard='both' or coarsening the separating covariate",
            PcevalWarning,
            stacklevel=3)
    return PropensityModel(
        coef=pd.Series(coef, index=nm, name="coef"), link=link, converged=converged,
        iterations=it, deviance=float(dev), linear_predictor=eta, scores=mu, n=n,
        dropped=tuple(dropped), _X=Xf if keep_design else None, _y=y if keep_design else None)


def _independent_columns(X: np.ndarray, names: Sequence[str]) -> tuple[list[int], list[str]]:
    """Indices of columns to keep (first of any collinear set, like R's pivoting QR)."""
    p = X.shape[1]
    keep: list[int] = []
    dropped: list[str] = []
    # a cheap first screen: constant non-intercept columns
    const = X.max(axis=0) == X.min(axis=0)
    for j in range(p):
        if j > 0 and const[j]:
            dropped.append(names[j])
            continue
        keep.append(j)
    # then rank check on a row sample (cheap for large n)
    n = X.shape[0]
    idx = np.arange(n) if n <= 20000 else np.random.default_rng(0).choice(n, 20000, replace=False)
    S = X[idx][:, keep]
    S = S / np.maximum(np.sqrt(np.mean(S * S, axis=0)), 1e-300)
    if np.linalg.matrix_rank(S) < S.shape[1]:
        final: list[int] = []
        for j in keep:
            cand = final + [j]
            T = X[idx][:, cand]
            T = T / np.maximum(np.sqrt(np.mean(T * T, axis=0)), 1e-300)
            if np.linalg.matrix_rank(T) == len(cand):
                final.append(j)
            else:
                dropped.append(names[j])
        keep = final
    return keep, dropped


# ----------------------------------------------------------------------------------------------
# Mahalanobis
# ----------------------------------------------------------------------------------------------

def _ordered_product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` summed over the inner index in order (``C[:, j] = A[:, 0] B[0, j] + A[:, 1]
    B[1, j] + ...``), one elementwise pass per term.

    Unlike an optimised matrix product, whose rounding can depend on where a row sits in
    memory, every row is computed by the same operations, so people with the same covariates get
    bit-identical transformed rows (and distance 0, and a fixed place in MatchIt's search order).
    """
    C = np.zeros((A.shape[0], B.shape[1]))
    for j in range(B.shape[1]):
        c = C[:, j]
        for k in range(A.shape[1]):
            if B[k, j] != 0.0:
                c += A[:, k] * B[k, j]
    return C


def pooled_covariance(X: np.ndarray, treat: np.ndarray) -> np.ndarray:
    """Pooled within-group covariance: each group centred at its own mean, cross-products summed
    over everyone and divided by ``n - (number of groups)`` (MatchIt's ``pooled_cov``)."""
    X = np.asarray(X, dtype=float)
    treat = np.asarray(treat)
    Xc = X.copy()
    groups = np.unique(treat)
    for g in groups:
        m = treat == g
        Xc[m] -= Xc[m].mean(axis=0)
    return (Xc.T @ Xc) / max(len(X) - len(groups), 1)


def _inverse_covariance(S: np.ndarray) -> np.ndarray:
    """MatchIt's rule: the inverse if ``det(S) > 1e-8``, otherwise (or if the inverse fails)
    the Moore-Penrose inverse keeping eigenvalues above 1e-8 times the largest."""
    if np.linalg.det(S) > 1e-8:
        try:
            return np.linalg.inv(S)
        except np.linalg.LinAlgError:  # pragma: no cover - det > 1e-8 makes this rare
            pass
    return np.linalg.pinv(S, rtol=1e-8, hermitian=True)


def mahalanobis_transform(X: np.ndarray, treat: np.ndarray, keep: np.ndarray | None = None,
                          ) -> np.ndarray:
    """Rows ``z_i`` with ``|z_i - z_j|`` equal to the Mahalanobis distance between ``i`` and ``j``.

    The steps of MatchIt's ``transform_covariates(method = "mahalanobis")``: columns whose
    range (over all rows) is below ``sqrt(eps)`` are dropped; the rest are standardised like R's
    ``scale()`` (mean and SD with ``n - 1`` over all rows); ``S`` is the
    :func:`pooled_covariance` of the rows in ``keep`` (all by default; the people not discarded)
    and ``S^-1`` its inverse or generalised inverse (:func:`_inverse_covariance`; a full set of
    factor dummies makes ``S`` singular). Then ``Z = X_std R'`` with ``R`` the pivoted Cholesky
    factor of ``S^-1`` (LAPACK ``dpstrf`` through scipy, ``R'R = P' S^-1 P``; the block beyond
    the numerical rank is set to zero), so that ``|z_i - z_j|^2 = (x_i - x_j)' S^-1 (x_i -
    x_j)``. The first column of ``Z`` orders MatchIt's search (see
    :mod:`pceval.matching.nearest`). ``Z`` is accumulated in a fixed order
    (:func:`_ordered_product`), so identical people get identical rows; otherwise its rounding
    is whatever numpy's and scipy's LAPACK give. Which of two controls at the same distance in
    exact arithmetic is nearer in floating point therefore depends on the BLAS (in MatchIt too);
    the matcher treats such distances as ties (:data:`pceval.matching.nearest.TIE_RTOL`).
    """
    X = np.asarray(X, dtype=float)
    n = len(X)
    keep = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    treat = np.asarray(treat)
    if n == 0 or X.shape[1] == 0:
        return np.zeros((n, 1))
    varies = np.abs(X.max(axis=0) - X.min(axis=0)) >= np.sqrt(_EPS)
    if not varies.any():
        return np.zeros((n, 1))
    X = X[:, varies]
    Xs = X - X.mean(axis=0)
    Xs /= np.sqrt(np.einsum("ij,ij->j", Xs, Xs) / max(n - 1, 1))
    inv = _inverse_covariance(pooled_covariance(Xs[keep], treat[keep]))
    c, piv, rank, _info = lapack.dpstrf(inv, lower=0)
    R = np.triu(c)
    R[rank:, rank:] = 0.0
    return _ordered_product(Xs, R[:, np.argsort(piv - 1)].T)
