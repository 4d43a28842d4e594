"""Weighted least squares with a sandwich covariance: the one linear fit of ``pceval.proms``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pceval._models import sandwich


@dataclass(frozen=True)
class LinearFit:
    """Coefficients, their covariance, the residual degrees of freedom and the sample size."""

    beta: np.ndarray
    vcov: np.ndarray
    df_resid: int
    n: int
    se_type: str


def fit_wls(X: np.ndarray, y: np.ndarray, w: np.ndarray, codes: np.ndarray | None,
            vcov: str) -> LinearFit:
    """``beta = (X'WX)^{-1} X'Wy``; covariance CR1 by ``codes`` (``vcov="cluster"``) or HC0-HC3.

    Scores ``s_i = w_i x_i e_i``; CR1 ``c = G/(G-1) (n-1)/(n-K)`` as Stata, statsmodels'
    ``cov_type="cluster"`` and ``sandwich::vcovCL(type="HC1")``; residual df ``n - K`` (t
    intervals, as R ``lm`` with ``lmtest::coeftest``).
    """
    XtW = X.T * w
    A = XtW @ X
    A_inv = np.linalg.inv(A)
    beta = A_inv @ (XtW @ y)
    e = y - X @ beta
    scores = X * (w * e)[:, None]
    n, k = X.shape
    if vcov == "cluster":
        assert codes is not None  # score_change passes codes whenever vcov is "cluster"
        V = sandwich(A_inv, scores, "CR1", clusters=[codes], n_params=k)
        label = f"CR1 clustered ({len(np.unique(codes)):,} clusters)"
    else:
        V = sandwich(A_inv, scores, vcov, X=X, W=w, n_params=k)
        label = f"heteroskedasticity-robust ({vcov})"
    return LinearFit(beta=beta, vcov=V, df_resid=n - k, n=n, se_type=label)
