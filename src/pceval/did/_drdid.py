"""Two-period panel DiD estimators with their influence functions (Sant'Anna & Zhao, 2020).

These are the building blocks of :func:`pceval.did.att_gt`: for one group-time cell we have
``n`` units, a treatment indicator ``D`` (1 = the group, 0 = its comparison units), the change
in outcome ``dY = Y_t - Y_base`` and covariates ``X`` (with an intercept column), plus unit
weights ``w`` normalised to mean 1. Each estimator returns the ATT and its influence function
``psi`` (length ``n``), so that ``ATT_hat - ATT = mean(psi) + o_p(n^-1/2)``.

Outcome regression (Heckman, Ichimura & Todd 1997)::

    ATT_reg = sum(w D dY)/sum(w D) - sum(w D X'beta)/sum(w D),   beta = WLS of dY on X in D = 0

Inverse probability weighting, normalised (Abadie 2005)::

    ATT_ipw = sum(w D dY)/sum(w D) - sum(w_c dY)/sum(w_c),   w_c = w (1-D) p/(1-p)

Doubly robust (Sant'Anna & Zhao 2020, eq. 3.1)::

    ATT_dr = sum(w D (dY - X'beta))/sum(w D) - sum(w_c (dY - X'beta))/sum(w_c)

with ``p`` a weighted logistic propensity score. As in R's DRDID (``drdid_panel``,
``std_ipw_did_panel``, ``reg_did_panel``), propensity scores are capped at ``1 - 1e-6`` and
comparison units with ``p >= 0.995`` are trimmed. The influence functions include the
estimation effect of ``beta`` and of the propensity score (the "asy.lin.rep" terms).

The propensity-score fit and the regression's ``(X'WX)^{-1}`` depend only on the sample, not on
``dY``, so :class:`CellDesign` computes them once and reuses them for every period that shares
a sample (for example every period of a group compared with never-treated units).

References: Sant'Anna, P.H.C. and Zhao, J. (2020) Doubly robust difference-in-differences
estimators. Journal of Econometrics 219(1):101-122. Callaway, B. and Sant'Anna, P.H.C. (2021)
Difference-in-differences with multiple time periods. Journal of Econometrics 225(2):200-230.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from pceval._models import fit_glm
from pceval.errors import EstimationError, PcevalWarning

TRIM_LEVEL = 0.995
_PS_CAP = 1.0 - 1e-6


def logit_fit(
    X: np.ndarray, d: np.ndarray, w: np.ndarray, *, max_iter: int = 100, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted logistic regression (pceval's one GLM fitter, :func:`pceval._models.fit_glm`).

    Maximises ``sum_i w_i [d_i log p_i + (1-d_i) log(1-p_i)]`` with ``p = expit(X beta)``.

    Returns ``(beta, p, cov)`` where ``cov = (X' diag(w p (1-p)) X)^{-1}`` is the model-based
    covariance (R's ``vcov(glm(..., family = binomial, weights = w))``).
    """
    n, k = X.shape
    dbar = float(np.sum(w * d) / np.sum(w))
    if dbar <= 0.0 or dbar >= 1.0:
        raise EstimationError("propensity score: the sample has only treated or only comparison units")
    beta, converged = fit_glm("logistic", X, d, w, maxit=max_iter, tol=tol)
    if not converged:  # pragma: no cover - separation makes IRLS crawl
        warnings.warn(
            f"propensity score did not converge in {max_iter} iterations (perfect separation?)",
            PcevalWarning, stacklevel=3,
        )
    eta = X @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    v = w * p * (1.0 - p)
    hess = (X * v[:, None]).T @ X
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError as exc:
        raise EstimationError("propensity score: singular information matrix") from exc
    return beta, p, cov


@dataclass
class CellDesign:
    """Everything about a two-period comparison that does not depend on the outcome.

    ``d`` treatment indicator, ``X`` covariates with intercept, ``w`` raw unit weights.
    """

    d: np.ndarray
    X: np.ndarray
    w: np.ndarray
    method: str
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        n = len(self.d)
        self.n = n
        if self.w.min() < 0:
            raise EstimationError("weights must be non-negative")
        self.w = self.w / self.w.mean()
        d, X, w = self.d, self.X, self.w
        if d.sum() == 0:
            raise EstimationError("no treated units in this comparison")
        if (1 - d).sum() == 0:
            raise EstimationError("no comparison units in this comparison")
        if self.method in ("dr", "reg"):
            w_ols = w * (1.0 - d)
            xtx = (X * w_ols[:, None]).T @ X / n
            if np.linalg.matrix_rank(xtx) < X.shape[1]:
                raise EstimationError(
                    "outcome regression: the covariates are collinear among the comparison units"
                )
            self.xtx_inv = np.linalg.inv(xtx)
            self.w_ols = w_ols
        if self.method in ("dr", "ipw"):
            _, p, cov = logit_fit(X, d, w)
            p = np.minimum(p, _PS_CAP)
            trim = np.where(d == 1, p < 1.01, p < TRIM_LEVEL)
            self.p = p
            self.w_treat = trim * w * d
            self.w_cont = trim * w * p * (1.0 - d) / (1.0 - p)
            # asymptotic linear representation of the propensity-score coefficients is
            # score_i' (cov n); we keep its two factors so that alr_ps @ m = score * X (cov n m)
            self.score_ps = w * (d - p)
            self.cov_ps_n = cov * n
        else:
            self.w_treat = w * d
            self.w_cont = w * d
        self.mean_w_treat = self.w_treat.mean()
        self.mean_w_cont = self.w_cont.mean()
        if self.mean_w_cont <= 0:
            raise EstimationError("all comparison units were trimmed (propensity scores >= 0.995)")
        if self.method in ("dr", "reg"):
            # the outcome-regression terms of the influence function enter as
            # (w_ols e_i) x_i' (X'WX/n)^{-1} (m3/mean(w_c) - m1/mean(w_t)), a fixed direction
            m1 = self.w_treat @ X / n
            m3 = self.w_cont @ X / n
            if self.method == "dr":
                direction = m3 / self.mean_w_cont - m1 / self.mean_w_treat
            else:  # reg: the term enters the comparison part with a plus sign
                direction = -m3 / self.mean_w_cont
            self.q_ols = X @ (self.xtx_inv @ direction)

    def estimate(self, dy: np.ndarray, out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """ATT and influence function for the outcome change ``dy`` on this design.

        The formulas are those of R DRDID's ``drdid_panel``, ``std_ipw_did_panel`` and
        ``reg_did_panel``, with the matrix products regrouped so each costs one pass over
        the sample (``A @ m`` with ``A = diag(s) X B`` computed as ``s * (X @ (B @ m))``).
        The influence function is written into ``out`` when given; work buffers are reused
        between calls so that many periods on one design allocate nothing large.
        """
        X, n = self.X, self.n
        wt, wc = self.w_treat, self.w_cont
        mwt, mwc = self.mean_w_treat, self.mean_w_cont
        if not hasattr(self, "_tmp"):
            self._tmp, self._tmp2, self._resid = np.empty(n), np.empty(n), np.empty(n)
        tmp, tmp2, resid = self._tmp, self._tmp2, self._resid
        psi = np.empty(n) if out is None else out
        if self.method in ("dr", "reg"):
            np.multiply(self.w_ols, dy, out=tmp)
            beta = self.xtx_inv @ (X.T @ tmp) / n
            fitted = np.dot(X, beta, out=tmp2)
            np.subtract(dy, fitted, out=resid)
        if self.method == "dr":
            eta_t = (wt @ resid) / n / mwt
            eta_c = (wc @ resid) / n / mwc
            np.subtract(resid, eta_c, out=tmp)
            tmp *= wc                                   # w_c (e - eta_c)
            m2 = (tmp @ X) / n
            np.subtract(resid, eta_t, out=psi)
            psi *= wt
            psi /= mwt
            tmp /= mwc
            psi -= tmp
            np.dot(X, self.cov_ps_n @ m2, out=tmp)
            tmp *= self.score_ps
            tmp /= mwc
            psi -= tmp
            np.multiply(self.w_ols, resid, out=tmp)
            tmp *= self.q_ols
            psi += tmp
        elif self.method == "ipw":
            eta_t = (wt @ dy) / n / mwt
            eta_c = (wc @ dy) / n / mwc
            np.subtract(dy, eta_c, out=tmp)
            tmp *= wc
            m2 = (tmp @ X) / n
            np.subtract(dy, eta_t, out=psi)
            psi *= wt
            psi /= mwt
            tmp /= mwc
            psi -= tmp
            np.dot(X, self.cov_ps_n @ m2, out=tmp)
            tmp *= self.score_ps
            tmp /= mwc
            psi -= tmp
        else:  # reg
            eta_t = (wt @ dy) / n / mwt
            eta_c = (wc @ fitted) / n / mwc
            np.subtract(dy, eta_t, out=psi)
            psi *= wt
            psi /= mwt
            np.subtract(fitted, eta_c, out=tmp)     # tmp2 (fitted) is still needed above only
            tmp *= wc
            tmp /= mwc
            psi -= tmp
            np.multiply(self.w_ols, resid, out=tmp)
            tmp *= self.q_ols
            psi += tmp
        return float(eta_t - eta_c), psi
