"""g-computation standard errors of estimate_effect against an independent computation.

statsmodels fits the same outcome model (GLM, same weights, same offset; the negative binomial at
pceval's dispersion); the HC0 sandwich is assembled from statsmodels' own per-observation scores
and its expected-information Hessian (R's ``sandwich::vcovHC`` on a ``glm`` uses the expected
information as its bread; statsmodels' ``cov_type="HC0"`` uses the observed Hessian, which differs
for the negative binomial's non-canonical log link). The g-computation contrasts are then
differentiated numerically (central differences of the g-formula in the coefficients) and combined
with that covariance. Nothing of pceval's is used on the reference side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pceval import estimate_effect


def _data(model: str, n: int = 1500, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    x2 = rng.binomial(1, 0.4, n).astype(float)
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.3 * x1 - 0.2)))).astype(int)
    years = rng.uniform(0.3, 1.0, n)
    eta = -0.5 + 0.4 * x1 + 0.3 * x2 - 0.35 * t
    if model == "logistic":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif model == "poisson":
        y = rng.poisson(years * np.exp(eta + 1.0)).astype(float)
    else:  # negative binomial: gamma-mixed Poisson, dispersion 0.7
        mu = np.exp(eta + 1.0)
        y = rng.poisson(mu * rng.gamma(1 / 0.7, 0.7, n)).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    return pd.DataFrame({"t": t, "x1": x1, "x2": x2, "y": y, "years": years, "w": w})


def _g_formula(beta, X, t_col, offset, w, expo, link_inv, per=1.0):
    X1, X0 = X.copy(), X.copy()
    X1[:, t_col], X0[:, t_col] = 1.0, 0.0
    tgt = X[:, t_col] == 1  # the ATT: the treated
    denom = (w[tgt] * expo[tgt]).sum() / per if expo is not None else w[tgt].sum()
    m1 = (w[tgt] * link_inv(X1[tgt] @ beta + offset[tgt])).sum() / denom
    m0 = (w[tgt] * link_inv(X0[tgt] @ beta + offset[tgt])).sum() / denom
    return np.array([m1 - m0, np.log(m1 / m0)])


def _delta_se(beta, cov, *args):
    eps = 1e-6
    J = np.empty((2, len(beta)))
    for j in range(len(beta)):
        e = np.zeros(len(beta))
        e[j] = eps * max(1.0, abs(beta[j]))
        J[:, j] = (_g_formula(beta + e, *args) - _g_formula(beta - e, *args)) / (2 * e[j])
    return np.sqrt(np.diag(J @ cov @ J.T))


@pytest.mark.parametrize("model", ["poisson", "negbin", "logistic"])
def test_g_computation_se_equals_statsmodels_delta_method(model):
    df = _data(model)
    exposure = "years" if model == "poisson" else None
    res = estimate_effect(df, "y", treatment="t", covariates=["x1", "x2"], model=model,
                          weights="w", cluster=None, vcov="HC0", exposure=exposure,
                          per=1.0 if exposure else None)
    X = np.column_stack([np.ones(len(df)), df["t"], df["x1"], df["x2"]])
    offset = np.log(df["years"].to_numpy()) if exposure else np.zeros(len(df))
    family = {"poisson": sm.families.Poisson(), "logistic": sm.families.Binomial(),
              "negbin": sm.families.NegativeBinomial(alpha=res.alpha)}[model]
    glm = sm.GLM(df["y"].to_numpy(), X, family=family, offset=offset, var_weights=df["w"].to_numpy())
    fit = glm.fit(tol=1e-13)
    scores = glm.score_obs(fit.params)
    bread = np.linalg.inv(-glm.hessian(fit.params, observed=False))
    cov = bread @ (scores.T @ scores) @ bread
    if model != "negbin":  # canonical links: observed = expected, so statsmodels' own HC0 agrees
        np.testing.assert_allclose(cov, glm.fit(tol=1e-13, cov_type="HC0").cov_params(), rtol=1e-6)
    # the outcome model itself
    coef = res.coef_frame()
    np.testing.assert_allclose(coef["estimate"], fit.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(coef["std_error"], np.sqrt(np.diag(cov)), rtol=1e-6)
    # the g-computation contrasts and their delta-method SEs
    w = df["w"].to_numpy()
    expo = df["years"].to_numpy() if exposure else None
    link_inv = (lambda e: 1 / (1 + np.exp(-e))) if model == "logistic" else np.exp
    est = _g_formula(np.asarray(fit.params), X, 1, offset, w, expo, link_inv)
    se = _delta_se(np.asarray(fit.params), cov, X, 1, offset, w, expo, link_inv)
    out = res.to_frame().set_index("scale")
    assert out.loc["absolute", "estimate"] == pytest.approx(est[0], rel=1e-8)
    assert out.loc["relative", "estimate"] == pytest.approx(np.exp(est[1]), rel=1e-8)
    # numerical derivatives: agreement to about 1e-6 is what central differences allow
    assert out.loc["absolute", "std_error"] == pytest.approx(se[0], rel=1e-5)
    rel_se_log = out.loc["relative", "std_error"] / out.loc["relative", "estimate"]
    assert rel_se_log == pytest.approx(se[1], rel=1e-5)
