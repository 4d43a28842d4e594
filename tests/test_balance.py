"""Balance statistics: hand-checked formulas, MatchIt agreement through the generic entry,
squares and interactions, thresholds, the report table, the Love plot and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from _reference import MATCHIT
from pceval.covariate_balance import BalanceResult, balance_table, ecdf_diff, weighted_var
from pceval.errors import InputError

COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture()
def tiny() -> pd.DataFrame:
    return pd.DataFrame({"t": [1, 1, 1, 0, 0, 0, 0],
                         "x": [1.0, 2.0, 6.0, 2.0, 3.0, 4.0, 9.0],
                         "b": [1, 0, 1, 0, 0, 1, 0],
                         "g": ["u", "v", "u", "v", "v", "w", "u"],
                         "w": [1.0, 1.0, 1.0, 2.0, 0.0, 1.0, 1.0]})


def test_smd_variance_ratio_and_ecdf_by_hand(tiny):
    res = balance_table(tiny, "t", ["x", "b"])
    tab = res.to_frame().set_index("covariate")
    x1, x0 = np.array([1, 2, 6.0]), np.array([2, 3, 4, 9.0])
    assert tab.loc["x", "smd"] == pytest.approx((x1.mean() - x0.mean()) / x1.std(ddof=1))
    assert tab.loc["x", "var_ratio"] == pytest.approx(x1.var(ddof=1) / x0.var(ddof=1))
    ks = stats.ks_2samp(x1, x0).statistic
    assert tab.loc["x", "ecdf_max"] == pytest.approx(ks) and tab.loc["x", "ks"] == pytest.approx(ks)
    # eCDF mean over the distinct values 1, 2, 3, 4, 6, 9
    f1 = np.array([1, 2, 2, 2, 3, 3]) / 3
    f0 = np.array([0, 1, 2, 3, 3, 4]) / 4
    assert tab.loc["x", "ecdf_mean"] == pytest.approx(np.abs(f1 - f0).mean())
    # binary: SD sqrt(p(1-p)) of the treated; eCDF stats = |difference in proportions|
    p1, p0 = 2 / 3, 1 / 4
    assert tab.loc["b", "smd"] == pytest.approx((p1 - p0) / np.sqrt(p1 * (1 - p1)))
    assert np.isnan(tab.loc["b", "var_ratio"])
    assert tab.loc["b", "ecdf_max"] == pytest.approx(p1 - p0) == tab.loc["b", "ecdf_mean"]
    assert tab.loc["b", "type"] == "binary" and tab.loc["x", "type"] == "continuous"


def test_weighted_statistics_use_cov_wt_and_fixed_denominator(tiny):
    res = balance_table(tiny, "t", ["x"], weights="w")
    tab = res.to_frame()
    m = tab[tab["sample"] == "matched"].iloc[0]
    a = tab[tab["sample"] == "all"].iloc[0]
    w0 = np.array([2.0, 0.0, 1.0, 1.0])
    x0 = np.array([2, 3, 4, 9.0])
    m0 = np.average(x0, weights=w0)
    assert m["mean_control"] == pytest.approx(m0)
    # same SMD denominator before and after (treated SD, unweighted)
    assert m["smd"] / a["smd"] == pytest.approx((3 - m0) / (3 - 4.5))
    # cov.wt: sum w (x - m)^2 / (1 - sum p^2) with p = w / sum w
    p = w0 / w0.sum()
    v0 = np.sum(p * (x0 - m0) ** 2) / (1 - np.sum(p ** 2))
    assert weighted_var(x0, w0) == pytest.approx(v0)
    assert m["var_ratio"] == pytest.approx(np.var([1, 2, 6.0], ddof=1) / v0)


def test_estimand_denominators(tiny):
    x1, x0 = np.array([1, 2, 6.0]), np.array([2, 3, 4, 9.0])
    d = x1.mean() - x0.mean()
    smd = {e: balance_table(tiny, "t", ["x"], estimand=e).to_frame().loc[0, "smd"]
           for e in ("ATT", "ATC", "ATE")}
    assert smd["ATT"] == pytest.approx(d / x1.std(ddof=1))
    assert smd["ATC"] == pytest.approx(d / x0.std(ddof=1))
    assert smd["ATE"] == pytest.approx(d / np.sqrt((x1.var(ddof=1) + x0.var(ddof=1)) / 2))


def test_ecdf_weighted_equals_replicated_rows():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 10, 50).astype(float)
    t = rng.integers(0, 2, 50)
    w = rng.integers(1, 4, 50).astype(float)
    rep = np.repeat(np.arange(50), w.astype(int))
    assert ecdf_diff(x, t, w) == pytest.approx(ecdf_diff(x[rep], t[rep]))


def test_factors_squares_and_interactions(tiny):
    res = balance_table(tiny, "t", ["x", "b", "g"], squares=True, interactions=True)
    names = res.to_frame()["covariate"].tolist()
    assert names[:5] == ["x", "b", "gu", "gv", "gw"]
    assert "x^2" in names and "x * b" in names and "b^2" not in names     # b^2 == b
    assert "gu * gv" not in names                                          # same factor
    tab = res.to_frame().set_index("covariate")
    xb = (tiny["x"] * tiny["b"]).to_numpy()
    t = tiny["t"].to_numpy()
    assert tab.loc["x * b", "smd"] == pytest.approx(
        (xb[t == 1].mean() - xb[t == 0].mean()) / xb[t == 1].std(ddof=1))


def test_thresholds_report_table_and_plot(tiny):
    res = balance_table(tiny, "t", ["x", "b"], weights="w", thresholds={"smd": 0.5})
    tab = res.to_frame()
    assert {"smd_ok", "var_ratio_ok", "ks_ok", "balanced"} <= set(tab.columns)
    assert (tab["smd_ok"] == (tab["smd"].abs() <= 0.5)).all()
    assert res.thresholds == {"smd": 0.5, "var_ratio": 2.0, "ks": 0.05}
    rep = res.report_table()
    assert list(rep.columns) == ["covariate", "treated", "matched controls", "all controls (pool)",
                                 "SMD before", "SMD after", "balanced"]
    assert rep.loc[rep["covariate"] == "b", "treated"].iloc[0] == "66.7%"
    text = res.summary()
    assert "SD of the treated" in text and "Sample sizes" in text
    p = res.love_plot()
    from plotnine import ggplot

    assert isinstance(p, ggplot)
    assert isinstance(res.love_plot(stat="ks"), ggplot)
    assert res.sample_sizes.loc["Matched", "control"] == 3


def test_generic_balance_on_matched_weights_equals_matchit():
    from pceval.errors import PcevalWarning
    from pceval.matching import match

    df = pd.read_csv(MATCHIT / "lalonde.csv")
    with pytest.warns(PcevalWarning, match="120 of 185 treated"):
        m = match(df, "treat", COVS, method="cem")
    res = balance_table(df.assign(w=m.weights), "treat", COVS, weights="w")
    ref = pd.read_csv(MATCHIT / "f_cem_balance.csv")
    got = res.to_frame().merge(ref, left_on=["sample", "covariate"],
                               right_on=["sample", "variable"])
    assert len(got) == 18
    # measured: within 4.4e-15 (1.5e-15 relative where R's value is not 0)
    tol = dict(rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got["smd"], got["Std. Mean Diff."], **tol)
    np.testing.assert_allclose(got["var_ratio"], got["Var. Ratio"], **tol)
    np.testing.assert_allclose(got["ecdf_mean"], got["eCDF Mean"], **tol)
    np.testing.assert_allclose(got["ecdf_max"], got["eCDF Max"], **tol)
    assert isinstance(m.balance(), BalanceResult)
    rep = m.balance().report_table()
    assert len(rep) == 9


def test_bad_input(tiny):
    with pytest.raises(InputError, match="missing required column"):
        balance_table(tiny, "t", ["nope"])
    with pytest.raises(InputError, match="must be 0/1"):
        balance_table(tiny.assign(t=[2, 1, 1, 0, 0, 0, 0]), "t", ["x"])
    with pytest.raises(InputError, match="both treated"):
        balance_table(tiny.assign(t=1), "t", ["x"])
    with pytest.raises(InputError, match="non-negative"):
        balance_table(tiny, "t", ["x"], weights=-tiny["w"].to_numpy())
    with pytest.raises(InputError, match="7 rows"):
        balance_table(tiny, "t", ["x"], weights=np.ones(3))
    with pytest.raises(InputError, match="thresholds key"):
        balance_table(tiny, "t", ["x"], thresholds={"p": 0.1})
    with pytest.raises(InputError, match="at least one"):
        balance_table(tiny, "t", [])
    with pytest.raises(InputError, match="missing"):
        balance_table(tiny.assign(x=[np.nan, 1, 1, 1, 1, 1, 1]), "t", ["x"])


def test_love_plot_shows_readers_words(tiny):
    df = tiny.rename(columns={"x": "prior_emergency_admission"})
    res = balance_table(df, "t", ["prior_emergency_admission", "b"], weights="w")
    shown = res.love_plot().data["covariate"].astype(str).unique().tolist()
    assert "prior emergency admission" in shown and "prior_emergency_admission" not in shown
    named = res.love_plot(labels={"b": "Has a long-term condition"}).data["covariate"]
    assert "Has a long-term condition" in named.astype(str).tolist()
    with pytest.raises(InputError, match="not in the balance table"):
        res.love_plot(labels={"bb": "typo"})
    with pytest.raises(InputError, match="same words"):
        res.love_plot(labels={"b": "prior emergency admission"})
