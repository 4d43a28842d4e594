"""One sandwich for every model-based standard error in pceval (a low layer).

For an M-estimator with bread ``A = sum_i w_i x_i x_i' d_i`` (the Hessian of the weighted
objective) and per-row scores ``s_i`` (``w_i x_i e_i`` for least squares, ``w_i x_i (y_i - mu_i)``
for Poisson), the covariance of the coefficients is ``V = c A^{-1} M A^{-1}`` with

* ``"classical"``: ``V = sigma^2 A^{-1}`` (``sigma^2`` the residual variance; 1 for likelihood models);
* ``"HC0"``: ``M = sum_i s_i s_i'``, ``c = 1``; ``"HC1"``: ``c = n / (n - K)``;
* ``"HC3"``: scores divided by ``1 - h_i``, ``h_i = w_i x_i' A^{-1} x_i`` (MacKinnon & White 1985);
* ``"CR1"``: ``M = sum_g S_g S_g'`` with ``S_g`` the scores summed within cluster ``g``;
  ``c = G/(G-1) * (n-1)/(n-K)`` as Stata, ``sandwich::vcovCL(type = "HC1")`` and fixest. Several
  cluster variables give the multiway estimator of Cameron, Gelbach & Miller (2011) by
  inclusion-exclusion over their intersections, each term with its own ``G/(G-1)``.

``K`` is the number of estimated parameters the caller counts: fixed effects nested in the
clusters are left out of ``K`` (fixest's ``fixef.K = "nested"``), so a TWFE passes its own ``K``.

References: White (1980) Econometrica 48(4); MacKinnon & White (1985) J. Econometrics 29(3);
Cameron, Gelbach & Miller (2011) J. Bus. Econ. Stat. 29(2); Zeileis, Koll & Graham (2020)
Various versatile variances, J. Stat. Softw. 95(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

COVARIANCE_TYPES = ("classical", "HC0", "HC1", "HC3", "CR1")


def cluster_score_sums(scores: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``G x K`` matrix of scores summed within clusters (``codes`` in ``0..G-1``)."""
    codes = np.asarray(codes, dtype=np.int64)
    g = int(codes.max()) + 1
    return np.column_stack([np.bincount(codes, weights=scores[:, j], minlength=g)
                            for j in range(scores.shape[1])])


def _cr1_term(bread_inv: np.ndarray, scores: np.ndarray, codes: np.ndarray) -> np.ndarray:
    S = cluster_score_sums(scores, codes)
    G = len(np.unique(codes))
    return (G / (G - 1) if G > 1 else 1.0) * (bread_inv @ (S.T @ S) @ bread_inv)


def sandwich(bread_inv: np.ndarray, scores: np.ndarray, kind: str = "CR1", *,
             clusters: Sequence[np.ndarray] | None = None, n_params: int | None = None,
             X: np.ndarray | None = None, W: np.ndarray | None = None,
             resid_var: float = 1.0) -> np.ndarray:
    """Covariance of the coefficients (see the module docstring for each ``kind``).

    ``bread_inv`` is ``A^{-1}`` (K x K); ``scores`` the n x K per-row scores; ``clusters`` one or
    more integer code arrays (CR1); ``n_params`` the K of the small-sample factors (default: the
    number of columns of ``scores``); ``X`` and ``W`` (the working weights ``w_i d_i``) are needed
    for HC3's leverages.
    """
    if kind not in COVARIANCE_TYPES:
        raise ValueError(f"kind must be one of {COVARIANCE_TYPES}, not {kind!r}")
    n = scores.shape[0]
    k = scores.shape[1] if n_params is None else n_params
    if kind == "classical":
        return bread_inv * resid_var
    if kind in ("HC0", "HC1", "HC3"):
        s = scores
        if kind == "HC3":
            h = W * np.einsum("ij,jk,ik->i", X, bread_inv, X)
            s = scores / (1 - np.minimum(h, 1 - 1e-12))[:, None]
        V = bread_inv @ (s.T @ s) @ bread_inv
        return V * (n / (n - k)) if kind == "HC1" else V
    if not clusters:
        raise ValueError("kind='CR1' needs `clusters`")
    adj = (n - 1) / (n - k)
    if len(clusters) == 1:
        return adj * _cr1_term(bread_inv, scores, clusters[0])
    V = np.zeros((bread_inv.shape[0], bread_inv.shape[0]))
    m = len(clusters)
    for r in range(1, m + 1):
        for comb in combinations(range(m), r):
            codes = (clusters[comb[0]] if r == 1 else
                     pd.MultiIndex.from_arrays([clusters[c] for c in comb]).factorize()[0])
            V += (-1) ** (r + 1) * _cr1_term(bread_inv, scores, np.asarray(codes, np.int64))
    return adj * V


__all__ = ["COVARIANCE_TYPES", "cluster_score_sums", "sandwich"]
