"""Rosenbaum bounds for matched sets of one treated person and ``k`` controls: the separable
approximation for a sum statistic, with Huber-type M-scores (R ``sensitivitymw::senmw``) or the
raw outcomes (the Mantel-Haenszel-type test for binary outcomes).

**Scores** (Rosenbaum 2007, section 2; as ``sensitivitymw::mscorev``). For set ``i`` with
outcomes ``y_i1`` (treated), ``y_i2 .. y_i,k+1`` (controls), every member ``j`` gets::

    s_ij = (1 / (k + 1)) * sum_{l != j} psi((y_ij - y_il) / h)

with ``h`` the ``lam`` quantile (default the median) of all ``|y_ij - y_il|`` over all sets and
``psi(x) = sign(x) * min(1, max(0, |x| - inner) / (trim - inner))`` (Huber's psi with an
inner trimming; ``trim=inf``, ``inner=0``: no scaling, ``psi(x) = x``, the mean difference).
Optional weights (Rosenbaum 2014, ``newurks``) multiply each set's scores by
``sum_{l=m1}^{m2} l C(m, l) p^(l-1) (1-p)^(m-l)``, ``p`` the rank of the set's range of scores
divided by the number of sets.

**Bound** (Gastwirth, Krieger & Rosenbaum 2000; as ``sensitivitymw::separable1k``). The test
statistic is ``T = sum_i s_i1``. Under a hidden bias of at most ``Gamma``, for each set with sorted
scores ``o_1 <= ... <= o_{k+1}`` the largest expectation of the treated score is
``max_a mu_a``, ``mu_a = (o_1 + .. + o_a + Gamma (o_{a+1} + .. + o_{k+1})) / (a + (k + 1 - a) Gamma)``,
``a = 1..k``, with its variance ``sum p o^2 - mu_a^2`` (the largest variance among tied maxima);
``p_upper = 1 - Phi((T - sum max mu) / sqrt(sum var))``. ``p_lower`` uses the smallest expectation
(the same on the negated scores).

References: Rosenbaum, P.R. (2007) Sensitivity analysis for m-estimates, tests and confidence
intervals in matched observational studies. *Biometrics* 63, 456-464. Rosenbaum, P.R. (2014)
Weighted M-statistics with superior design sensitivity in matched observational studies with
multiple controls. *JASA* 109, 1145-1158. Gastwirth, Krieger & Rosenbaum (2000) Asymptotic
separability in sensitivity analysis. *JRSS B* 62, 545-555.
"""

from __future__ import annotations

import numpy as np
from scipy.special import comb


def m_scores(y: np.ndarray, *, inner: float = 0.0, trim: float = 3.0, lam: float = 0.5) -> np.ndarray:
    """The M-scores ``s_ij`` of a sets x (1 + k) outcome matrix (column 0 treated)."""
    n, m = y.shape
    diffs = y[:, :, None] - y[:, None, :]  # diffs[i, j, l] = y_ij - y_il
    off = ~np.eye(m, dtype=bool)
    d = diffs[:, off].reshape(n, m, m - 1)
    if trim < np.inf or inner > 0:
        h = float(np.quantile(np.abs(d), lam))  # R's quantile type 7 = numpy's default
        if h > 0:
            x = d / h
            a = np.maximum(0.0, np.abs(x) - inner)
            if trim < np.inf and inner < trim:
                a = np.minimum(1.0, a / (trim - inner))
            elif trim < np.inf:  # inner == trim: a sign score beyond ``inner``
                a = (np.abs(x) > inner).astype(float)
            d = np.sign(x) * a
    return d.sum(axis=2) / m


def set_weights(scores: np.ndarray, m1: int, m2: int, m: int) -> np.ndarray:
    """Rosenbaum's (2014) weights of each set from the rank of its range of scores."""
    from scipy.stats import rankdata

    rg = scores.max(axis=1) - scores.min(axis=1)
    p = rankdata(rg) / len(rg)
    w = np.zeros(len(rg))
    for ell in range(m1, m2 + 1):
        w += ell * comb(m, ell) * p ** (ell - 1) * (1 - p) ** (m - ell)
    return w


def separable_bound(scores: np.ndarray, gamma: float) -> tuple[float, float, float]:
    """``(T, sum max mu, sum var)`` of the separable approximation at ``gamma`` (the largest
    expectation of the treated score in each set)."""
    n, m = scores.shape
    o = np.sort(scores, axis=1)
    a = np.arange(1, m)  # number of members with weight 1
    pr = np.where(np.arange(m)[None, :] < a[:, None], 1.0, gamma)  # (m-1) x m
    pr = pr / pr.sum(axis=1, keepdims=True)
    mu = o @ pr.T  # n x (m-1)
    var = (o * o) @ pr.T - mu * mu
    mx = mu.max(axis=1, keepdims=True)
    v = np.where(mu == mx, var, -np.inf).max(axis=1)
    return float(scores[:, 0].sum()), float(mx.sum()), float(v.sum())


def set_bounds(scores: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised deviate of the upper bound, ``p_lower`` and ``p_upper`` at each ``gamma``."""
    from scipy.stats import norm

    z_up, z_lo = np.empty(len(gamma)), np.empty(len(gamma))
    for i, g in enumerate(gamma):
        t, mu, var = separable_bound(scores, float(g))
        z_up[i] = (t - mu) / np.sqrt(var)
        t_neg, mu_neg, var_neg = separable_bound(-scores, float(g))
        z_lo[i] = (t + mu_neg) / np.sqrt(var_neg)  # smallest expectation = -(largest of -scores)
    return z_up, norm.sf(z_lo), norm.sf(z_up)
