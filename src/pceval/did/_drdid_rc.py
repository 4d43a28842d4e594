"""Two-period DiD estimators for repeated cross-sections, with influence functions.

Used by :func:`pceval.did.att_gt` with ``unbalanced="repeated_cross_section"``, which is R ``did``'s
``allow_unbalanced_panel = TRUE``. Each row is one observation: outcome ``y``, ``post`` (1 = the
later period), ``D`` (1 = the group), covariates ``X`` (with intercept) and weights ``w`` (normalised
to mean 1). The estimators (Sant'Anna & Zhao 2020, section 3.2; R DRDID's ``drdid_rc``,
``std_ipw_did_rc`` and ``reg_did_rc``) are:

* outcome regression: ``mean_{D=1,post}(y) - mean_{D=1,pre}(y) - mean_{D=1}(m_post(X) - m_pre(X))``
  with ``m_p`` the regression of ``y`` on ``X`` among comparison rows of period ``p``;
* normalised IPW: the four cell means reweighted by ``p(X)/(1-p(X))`` for comparison rows;
* the locally efficient doubly robust estimator: the IPW contrasts of ``y - m(X)`` plus the
  treated-regression adjustment terms (four outcome regressions in all).

The influence functions include the estimation effects of every regression and of the propensity
score. Propensity scores are capped at ``1 - 1e-6`` and comparison rows with ``p >= 0.995`` are trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pceval.did._drdid import _PS_CAP, TRIM_LEVEL, logit_fit
from pceval.errors import EstimationError


def _ols(X: np.ndarray, y: np.ndarray, wsel: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted OLS on the rows with ``wsel > 0``: fitted values for all rows and the
    asymptotic linear representation ``(wsel e x') (X'WX/n)^{-1}`` (n x k)."""
    xtx = (X * wsel[:, None]).T @ X / n
    if np.linalg.matrix_rank(xtx) < X.shape[1]:
        raise EstimationError("outcome regression: too few rows or collinear covariates in a cell")
    inv = np.linalg.inv(xtx)
    beta = inv @ (X.T @ (wsel * y)) / n
    fit = X @ beta
    return fit, ((wsel * (y - fit))[:, None] * X) @ inv


def estimate_rc(y: np.ndarray, post: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray,
                method: str) -> tuple[float, np.ndarray]:
    """ATT and influence function (one value per row) of a repeated-cross-section 2x2 DiD."""
    n = len(y)
    w = w / w.mean()
    pre = 1.0 - post
    if method == "reg":
        return _reg_rc(y, post, pre, D, X, w, n)
    ps = _propensity_rc(post, pre, D, X, w, n)
    if method == "ipw":
        return _ipw_rc(y, X, ps)
    return _dr_rc(y, post, pre, D, X, w, n, ps)


def _reg_rc(y: np.ndarray, post: np.ndarray, pre: np.ndarray, D: np.ndarray, X: np.ndarray,
            w: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    """Outcome regression (R DRDID's ``reg_did_rc``): treated means minus the treated mean of
    the comparison rows' regression change ``m_post(X) - m_pre(X)``."""
    mean = np.mean
    m_pre, alr_pre = _ols(X, y, w * (1 - D) * pre, n)
    m_post, alr_post = _ols(X, y, w * (1 - D) * post, n)
    wt_pre, wt_post, wt = w * D * pre, w * D * post, w * D
    if wt_pre.sum() == 0 or wt_post.sum() == 0:
        raise EstimationError("no treated rows in one of the periods")
    e_pre = mean(wt_pre * y) / mean(wt_pre)
    e_post = mean(wt_post * y) / mean(wt_post)
    c = wt * (m_post - m_pre)
    e_c = mean(c) / mean(wt)
    att = e_post - e_pre - e_c
    mom = mean(wt[:, None] * X, axis=0)
    inf_c = (c - wt * e_c + (alr_post - alr_pre) @ mom) / mean(wt)
    psi = ((wt_post * (y - e_post)) / mean(wt_post) - (wt_pre * (y - e_pre)) / mean(wt_pre) - inf_c)
    return float(att), psi


@dataclass(frozen=True)
class _Propensity:
    """The propensity-score part shared by IPW and DR: trimming indicator, the score's
    asymptotic linear representation, and the four cells' weights (treated pre/post, comparison
    pre/post reweighted by the odds ``p/(1-p)``)."""

    trim: np.ndarray
    alr_ps: np.ndarray
    wt_pre: np.ndarray
    wt_post: np.ndarray
    wc_pre: np.ndarray
    wc_post: np.ndarray


def _propensity_rc(post: np.ndarray, pre: np.ndarray, D: np.ndarray, X: np.ndarray,
                   w: np.ndarray, n: int) -> _Propensity:
    """Fit the weighted logistic propensity score (capped, comparison rows trimmed) and form
    the four cells' weights; every cell must keep some weight."""
    _, p, cov = logit_fit(X, D, w)
    p = np.minimum(p, _PS_CAP)
    trim = np.where(D == 1, p < 1.01, p < TRIM_LEVEL)
    alr_ps = ((w * (D - p))[:, None] * X) @ (cov * n)
    odds = p / (1 - p)
    wt_pre, wt_post = trim * w * D * pre, trim * w * D * post
    wc_pre, wc_post = trim * w * odds * (1 - D) * pre, trim * w * odds * (1 - D) * post
    for arr in (wt_pre, wt_post, wc_pre, wc_post):
        if arr.sum() <= 0:
            raise EstimationError("a treated or comparison cell is empty in one of the periods")
    return _Propensity(trim=trim, alr_ps=alr_ps, wt_pre=wt_pre, wt_post=wt_post, wc_pre=wc_pre,
                       wc_post=wc_post)


def _part(weights: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray]:
    """Normalised weighted mean of v and its leading influence term."""
    mw = np.mean(weights)
    est = np.mean(weights * v) / mw
    return est, weights * (v - est) / mw


def _ipw_rc(y: np.ndarray, X: np.ndarray, ps: _Propensity) -> tuple[float, np.ndarray]:
    """Normalised IPW (R DRDID's ``std_ipw_did_rc``): the four reweighted cell means."""
    mean = np.mean
    a_tpre, i_tpre = _part(ps.wt_pre, y)
    a_tpost, i_tpost = _part(ps.wt_post, y)
    a_cpre, i_cpre = _part(ps.wc_pre, y)
    a_cpost, i_cpost = _part(ps.wc_post, y)
    att = (a_tpost - a_tpre) - (a_cpost - a_cpre)
    m2 = (mean((ps.wc_post * (y - a_cpost))[:, None] * X, axis=0) / mean(ps.wc_post)
          - mean((ps.wc_pre * (y - a_cpre))[:, None] * X, axis=0) / mean(ps.wc_pre))
    psi = (i_tpost - i_tpre) - (i_cpost - i_cpre + ps.alr_ps @ m2)
    return float(att), psi


def _dr_rc(y: np.ndarray, post: np.ndarray, pre: np.ndarray, D: np.ndarray, X: np.ndarray,
           w: np.ndarray, n: int, ps: _Propensity) -> tuple[float, np.ndarray]:
    """Locally efficient doubly robust (R DRDID's ``drdid_rc``): IPW contrasts of ``y - m(X)``
    plus the treated-regression adjustment terms (four outcome regressions in all)."""
    mean = np.mean
    wt_pre, wt_post, wc_pre, wc_post = ps.wt_pre, ps.wt_post, ps.wc_pre, ps.wc_post
    mc_pre, alr_c_pre = _ols(X, y, w * (1 - D) * pre, n)
    mc_post, alr_c_post = _ols(X, y, w * (1 - D) * post, n)
    mt_pre, alr_t_pre = _ols(X, y, w * D * pre, n)
    mt_post, alr_t_post = _ols(X, y, w * D * post, n)
    mc = post * mc_post + pre * mc_pre
    r = y - mc
    a_tpre, i_tpre = _part(wt_pre, r)
    a_tpost, i_tpost = _part(wt_post, r)
    a_cpre, i_cpre = _part(wc_pre, r)
    a_cpost, i_cpost = _part(wc_post, r)
    wd, wd1, wd0 = ps.trim * w * D, ps.trim * w * D * post, ps.trim * w * D * pre
    a_d_post, i_d_post = _part(wd, mt_post - mc_post)
    a_d1_post, i_d1_post = _part(wd1, mt_post - mc_post)
    a_d_pre, i_d_pre = _part(wd, mt_pre - mc_pre)
    a_d0_pre, i_d0_pre = _part(wd0, mt_pre - mc_pre)
    att = ((a_tpost - a_tpre) - (a_cpost - a_cpre) + (a_d_post - a_d1_post) - (a_d_pre - a_d0_pre))
    # treated component: estimation effect of the comparison regressions (d/d beta_pre of the
    # subtracted pre-period mean enters with a minus sign)
    m1_post = -mean((wt_post * post)[:, None] * X, axis=0) / mean(wt_post)
    m1_pre = -mean((wt_pre * pre)[:, None] * X, axis=0) / mean(wt_pre)
    inf_treat = i_tpost - i_tpre + alr_c_post @ m1_post - alr_c_pre @ m1_pre
    # comparison component: propensity score and regressions
    m2 = (mean((wc_post * (r - a_cpost))[:, None] * X, axis=0) / mean(wc_post)
          - mean((wc_pre * (r - a_cpre))[:, None] * X, axis=0) / mean(wc_pre))
    m3_post = -mean((wc_post * post)[:, None] * X, axis=0) / mean(wc_post)
    m3_pre = -mean((wc_pre * pre)[:, None] * X, axis=0) / mean(wc_pre)
    inf_cont = i_cpost - i_cpre + ps.alr_ps @ m2 + alr_c_post @ m3_post - alr_c_pre @ m3_pre
    # efficiency adjustment terms and their regressions' estimation effects
    inf_eff = (i_d_post - i_d1_post) - (i_d_pre - i_d0_pre)
    mom_post = mean((wd / mean(wd) - wd1 / mean(wd1))[:, None] * X, axis=0)
    mom_pre = mean((wd / mean(wd) - wd0 / mean(wd0))[:, None] * X, axis=0)
    inf_or = (alr_t_post - alr_c_post) @ mom_post - (alr_t_pre - alr_c_pre) @ mom_pre
    psi = inf_treat - inf_cont + inf_eff + inf_or
    return float(att), psi
