"""Inference from influence functions: analytic (optionally clustered) SEs, Wald tests and the
multiplier bootstrap with simultaneous (uniform) confidence bands.

Every estimator in :mod:`pceval.did` that is built from group-time cells keeps, for each
estimate ``k``, an influence function ``psi_ik`` over the ``n`` units such that
``theta_hat_k - theta_k ~ (1/n) sum_i psi_ik``. Then

* analytic SE: ``se_k = sqrt(sum_i psi_ik^2) / n``; clustered by ``c``:
  ``se_k = sqrt(G/(G-1) * sum_c (sum_{i in c} psi_ik)^2) / n`` (``G`` clusters; the
  ``G/(G-1)`` factor is the usual small-sample correction);
* multiplier bootstrap (Callaway & Sant'Anna 2021, section 4): draws
  ``delta_b = (1/n) sum_c v_bc S_c`` with Mammen's two-point weights ``v`` (mean 0, variance 1)
  and ``S_c`` the influence function summed over cluster ``c`` (each unit its own cluster when
  there is no clustering). The bootstrap SE is the interquartile range of ``delta_b`` divided
  by ``qnorm(0.75) - qnorm(0.25)``; the uniform band's critical value is the ``1 - alpha``
  quantile of ``max_k |delta_bk / se_k|``, so that all the intervals cover together.

Unclustered, this is R ``did``'s ``mboot``; with clusters of equal size it equals ``did``'s
cluster bootstrap (which averages rather than sums within clusters).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import stats

_SE_FLOOR = np.sqrt(np.finfo(float).eps) * 10
_MAMMEN_LOW = (1 - np.sqrt(5)) / 2
_MAMMEN_HIGH = (1 + np.sqrt(5)) / 2
_MAMMEN_P = (np.sqrt(5) + 1) / (2 * np.sqrt(5))


def cluster_sums(inf: np.ndarray | sp.spmatrix, clusters: np.ndarray | None):
    """Sum an ``n x m`` influence-function matrix within clusters (codes ``0..G-1``)."""
    if clusters is None:
        return inf
    n_clusters = int(clusters.max()) + 1
    agg = sp.csr_matrix(
        (np.ones(len(clusters)), (clusters, np.arange(len(clusters)))),
        shape=(n_clusters, len(clusters)),
    )
    out = agg @ inf
    return out.toarray() if sp.issparse(out) else np.asarray(out)


def _squares_sum(m) -> np.ndarray:
    if sp.issparse(m):
        return np.asarray(m.multiply(m).sum(axis=0)).ravel()
    m = np.asarray(m)
    if m.ndim == 1:
        m = m[:, None]
    return np.einsum("ij,ij->j", m, m)


def analytic_se(inf, n: int, clusters: np.ndarray | None = None) -> np.ndarray:
    """Standard errors from influence functions (columns of ``inf``); NaN where degenerate."""
    s = cluster_sums(inf, clusters)
    ss = _squares_sum(s)
    if clusters is not None:
        g = s.shape[0]
        ss = ss * g / max(g - 1, 1)
    se = np.sqrt(ss) / n
    se[se <= _SE_FLOOR] = np.nan
    return se


def covariance(inf, n: int, clusters: np.ndarray | None = None) -> np.ndarray:
    """Covariance matrix of the estimates (``m x m``) from their influence functions."""
    s = cluster_sums(inf, clusters)
    if sp.issparse(s):
        v = np.asarray((s.T @ s).toarray()) / n**2
    else:
        s = np.asarray(s)
        v = s.T @ s / n**2
    if clusters is not None:
        g = s.shape[0]
        v = v * g / max(g - 1, 1)
    return v


def wald_test(estimates: np.ndarray, cov: np.ndarray) -> tuple[float, int, float]:
    """Joint test that all ``estimates`` are zero: ``W = b' V^+ b ~ chi2(rank V)``."""
    if len(estimates) == 0:
        return float("nan"), 0, float("nan")
    rank = int(np.linalg.matrix_rank(cov))
    if rank == 0:
        return float("nan"), 0, float("nan")
    stat = float(estimates @ np.linalg.pinv(cov) @ estimates)
    return stat, rank, float(stats.chi2.sf(stat, rank))


def multiplier_bootstrap(
    inf, n: int, *, n_boot: int, seed: int, clusters: np.ndarray | None = None,
    alpha: float = 0.05,
) -> tuple[np.ndarray, float]:
    """Bootstrap SEs and the uniform-band critical value for the columns of ``inf``.

    Returns ``(se, critical_value)``. Draws are made in chunks so memory stays ``O(n)``.
    """
    s = cluster_sums(inf, clusters)
    if sp.issparse(s):
        s = s.tocsc()
    n_c, m = s.shape
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, int(2e7 // max(n_c, 1))))
    draws = np.empty((n_boot, m))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        v = np.where(rng.random((b, n_c)) < _MAMMEN_P, _MAMMEN_LOW, _MAMMEN_HIGH)
        if sp.issparse(s):
            draws[done:done + b] = (s.T @ v.T).T / n
        else:
            draws[done:done + b] = v @ s / n
        done += b
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se[se <= _SE_FLOOR] = np.nan
    ok = np.isfinite(se)
    if not ok.any():
        return se, float("nan")
    t_max = np.max(np.abs(draws[:, ok] / se[ok]), axis=1)
    crit = float(np.quantile(t_max, 1 - alpha, method="inverted_cdf"))
    return se, crit
