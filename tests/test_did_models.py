"""did2x2, twfe, event_study, bacon_decomposition and effects_by: closed forms, fixest, known truth."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from _reference import DID
from pceval.did import (
    att_gt,
    bacon_decomposition,
    did2x2,
    effects_by,
    event_study,
    twfe,
)
from pceval.errors import EstimationError, InputError


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    df = pd.read_csv(DID / "mpdta.csv")
    df["D"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(float)
    df["state"] = df["countyreal"] // 1000
    return df


def two_by_two_panel(n=400, att=2.0, rr=0.7, seed=0):
    """Persons x 2 periods with person effects: linear outcome and Poisson counts with exposure."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n), 2)
    post = np.tile([0, 1], n)
    treated = (person < n // 2).astype(int)
    a = rng.normal(0, 1, n)[person]
    y = 10 + a + 1.5 * treated + 0.5 * post + att * treated * post + rng.normal(0, 1, 2 * n)
    expo = rng.uniform(0.5, 1.0, 2 * n)
    mu = expo * np.exp(0.3 + 0.4 * a + 0.2 * treated + 0.1 * post + np.log(rr) * treated * post)
    return pd.DataFrame({"person": person, "post": post, "treated": treated, "y": y,
                         "events": rng.poisson(mu), "years": expo, "age": rng.normal(50, 10, 2 * n)})


# --- did2x2 ----------------------------------------------------------------------------------

def test_did2x2_linear_equals_ols_with_cr1():
    df = two_by_two_panel()
    res = did2x2(df, "y", "treated", "person", "post", covariates=["age"])
    X = sm.add_constant(np.column_stack([df.treated, df.post, df.treated * df.post, df.age]))
    ols = sm.OLS(df.y, X).fit(cov_type="cluster", cov_kwds={"groups": df.person})
    row = res.to_frame().set_index("scale").loc["absolute"]
    assert row["estimate"] == pytest.approx(ols.params.iloc[3], rel=1e-10)
    assert row["std_error"] == pytest.approx(ols.bse.iloc[3], rel=1e-10)


def test_did2x2_ratio_of_means_closed_form():
    df = two_by_two_panel()
    res = did2x2(df, "y", "treated", "person", "post").to_frame().set_index("scale")
    m = df.groupby(["treated", "post"])["y"].mean()
    cf = m[(1, 0)] + m[(0, 1)] - m[(0, 0)]
    assert res.loc["absolute", "estimate"] == pytest.approx(m[(1, 1)] - cf, rel=1e-10)
    assert res.loc["relative", "estimate"] == pytest.approx(m[(1, 1)] / cf, rel=1e-10)
    assert res.loc["relative", "ci_lower"] < m[(1, 1)] / cf < res.loc["relative", "ci_upper"]


def test_did2x2_poisson_saturated_closed_form():
    df = two_by_two_panel(n=2000)
    res = did2x2(df, "events", "treated", "person", "post", model="poisson", exposure="years", exposure_unit="year",
                 per=1000).to_frame().set_index("scale")
    s = df.groupby(["treated", "post"])[["events", "years"]].sum()
    r = s["events"] / s["years"]
    rr = r[(1, 1)] / r[(1, 0)] / (r[(0, 1)] / r[(0, 0)])
    assert res.loc["relative", "estimate"] == pytest.approx(rr, rel=1e-8)
    r_cf = r[(1, 0)] * r[(0, 1)] / r[(0, 0)]
    assert res.loc["absolute", "estimate"] == pytest.approx((r[(1, 1)] - r_cf) * 1000, rel=1e-8)
    assert res.loc["relative", "measure"] == "rate ratio"


def test_did2x2_poisson_interval_coverage():
    """95% CIs of the rate ratio cover the true 0.7 in 93-99% of 300 simulated trials."""
    hits = 0
    for s in range(300):
        df = two_by_two_panel(n=300, rr=0.7, seed=100 + s)
        row = did2x2(df, "events", "treated", "person", "post", model="poisson",
                     exposure="years", exposure_unit="year").to_frame().set_index("scale").loc["relative"]
        hits += row["ci_lower"] <= 0.7 <= row["ci_upper"]
    assert 0.91 <= hits / 300 <= 0.99


def test_did2x2_bad_input():
    df = two_by_two_panel()
    with pytest.raises(InputError, match="exposure"):
        did2x2(df, "events", "treated", "person", "post", model="poisson")
    with pytest.raises(InputError, match="four cells"):
        did2x2(df[df.treated == 1], "y", "treated", "person", "post")
    with pytest.raises(InputError, match="treated"):
        did2x2(df.assign(treated=df.treated * 2), "y", "treated", "person", "post")
    with pytest.raises(InputError, match="positive"):
        did2x2(df.assign(years=0.0), "events", "treated", "person", "post", model="poisson",
               exposure="years", exposure_unit="year")
    with pytest.raises(InputError, match="model"):
        did2x2(df, "y", "treated", "person", "post", model="logit")


def test_did2x2_poisson_with_an_empty_cell_is_an_estimation_error():
    # no events among the treated after the index: the log rate ratio diverges, so refuse
    df = two_by_two_panel()
    df.loc[(df.treated == 1) & (df.post == 1), "events"] = 0
    with pytest.raises(EstimationError, match="treated=1/post=1"):
        did2x2(df, "events", "treated", "person", "post", model="poisson", exposure="years", exposure_unit="year")
    # the linear model still answers on the absolute scale; the ratio of means is 0, whose
    # log-scale interval does not exist, so the relative row is missing and says why
    lin = did2x2(df, "events", "treated", "person", "post").to_frame().set_index("scale")
    assert np.isfinite(lin.loc["absolute", "estimate"])
    assert np.isnan(lin.loc["relative", "estimate"]) and "not defined" in lin.loc["relative", "measure"]


# --- twfe and event study against fixest (pyfixest) ------------------------------------------

@pytest.fixture(scope="module")
def pf():
    import pyfixest  # a dev dependency (pip install -e ".[dev]"): never skipped

    return pyfixest


@pytest.mark.parametrize("cluster", ["countyreal", "state"])
def test_twfe_matches_fixest(mpdta, pf, cluster):
    ref = pf.feols("lemp ~ D | countyreal + year", data=mpdta, vcov={"CRV1": cluster})
    got = twfe(mpdta, "lemp", "countyreal", "year", treatment="D", cluster=cluster).to_frame()
    # measured: estimate within 3e-17, SE within 2.2e-15 relative
    assert got["estimate"][0] == pytest.approx(ref.coef().iloc[0], abs=1e-13)
    assert got["std_error"][0] == pytest.approx(ref.se().iloc[0], rel=1e-11)
    same = twfe(mpdta, "lemp", "countyreal", "year", group="first.treat", cluster=cluster)
    assert same.to_frame()["estimate"][0] == pytest.approx(ref.coef().iloc[0], abs=1e-13)


def test_twfe_unbalanced_with_covariate_matches_fixest(mpdta, pf):
    rng = np.random.default_rng(0)
    df = mpdta.drop(index=rng.choice(len(mpdta), 300, replace=False))
    df = df.assign(x=rng.normal(size=len(df)))
    ref = pf.feols("lemp ~ D + x | countyreal + year", data=df, vcov={"CRV1": "countyreal"})
    got = twfe(df, "lemp", "countyreal", "year", treatment="D", covariates=["x"]).to_frame()
    # measured: estimates within 2.5e-16, SEs within 4e-10 relative (fixest's iterative demeaning
    # of an unbalanced panel stops at its own tolerance)
    np.testing.assert_allclose(got["estimate"], ref.coef().to_numpy(), atol=1e-12, rtol=0)
    np.testing.assert_allclose(got["std_error"], ref.se().to_numpy(), rtol=1e-8)


def test_event_study_matches_fixest(mpdta, pf):
    rel = np.where(mpdta["first.treat"] > 0, mpdta["year"] - mpdta["first.treat"], -1)
    ref = pf.feols("lemp ~ i(rel, ref=-1) | countyreal + year", data=mpdta.assign(rel=rel),
                   vcov={"CRV1": "countyreal"})
    es = event_study(mpdta, "lemp", "countyreal", "year", "first.treat", leads=4, lags=3,
                     bin_endpoints=False)
    got = es.to_frame().dropna(subset=["std_error"])
    # measured: estimates within 2e-15, SEs within 4.6e-14 relative
    np.testing.assert_allclose(got["estimate"], ref.coef().to_numpy(), atol=1e-12, rtol=0)
    np.testing.assert_allclose(got["std_error"], ref.se().to_numpy(), rtol=1e-11)
    assert es.pretest["df"] == 3
    ref_row = es.to_frame().query("event_time == -1").iloc[0]
    assert ref_row["estimate"] == 0 and np.isnan(ref_row["std_error"])


def test_treatment_that_switches_off_is_an_error(mpdta):
    bad = mpdta.copy()
    county = bad.loc[bad["first.treat"] == 2004, "countyreal"].iloc[0]
    bad.loc[(bad.countyreal == county) & (bad.year == 2006), "D"] = 0
    with pytest.raises(InputError, match="switches off"):
        twfe(bad, "lemp", "countyreal", "year", treatment="D")
    with pytest.raises(InputError, match="exactly one"):
        twfe(mpdta, "lemp", "countyreal", "year")


# --- Goodman-Bacon ---------------------------------------------------------------------------

def test_bacon_weights_sum_to_one_and_reproduce_twfe(mpdta):
    b = bacon_decomposition(mpdta, "lemp", "countyreal", "year", "first.treat")
    t = twfe(mpdta, "lemp", "countyreal", "year", group="first.treat").to_frame()["estimate"][0]
    assert b.table["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert b.twfe == pytest.approx(t, abs=1e-12)
    assert set(b.by_type["type"]) == {"Treated vs never treated", "Earlier vs later treated",
                                      "Later vs earlier treated"}


def test_bacon_with_always_treated_and_no_never_treated(mpdta):
    df = mpdta.copy()
    never = df["first.treat"] == 0
    df.loc[never, "first.treat"] = np.where(df.loc[never, "countyreal"] % 3 == 0, 2005, 2003)
    b = bacon_decomposition(df, "lemp", "countyreal", "year", "first.treat")
    t = twfe(df, "lemp", "countyreal", "year", group="first.treat").to_frame()["estimate"][0]
    assert b.twfe == pytest.approx(t, abs=1e-12)
    assert "Treated vs never treated" not in set(b.table["type"])


def test_bacon_needs_a_balanced_panel(mpdta):
    with pytest.raises(InputError, match="balanced"):
        bacon_decomposition(mpdta.iloc[1:], "lemp", "countyreal", "year", "first.treat")


# --- known truth: staggered roll-out with effects that grow with time since treatment --------

def staggered(n=3000, T=12, cohorts=(4, 7, 10), never_share=0.25, slope=0.3, seed=1):
    """y_it = a_i + l_t + slope * (t - g + 1) for t >= g, plus noise: dynamic effects."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(1, T + 1), n)
    g_unit = np.where(rng.random(n) < never_share, 0, rng.choice(cohorts, n))
    g = g_unit[unit]
    e = t - g
    effect = np.where((g > 0) & (e >= 0), slope * (e + 1), 0.0)
    y = rng.normal(0, 1, n)[unit] + 0.2 * t + effect + rng.normal(0, 0.5, n * T)
    return pd.DataFrame({"unit": unit, "t": t, "g": g, "y": y, "effect": effect})


def test_att_gt_recovers_dynamic_truth_where_twfe_is_biased():
    df = staggered()
    res = att_gt(df, outcome="y", unit="unit", time="t", group="g", n_boot=499, seed=3)
    dyn = res.aggregate("dynamic").to_frame().dropna(subset=["event_time"]).set_index("event_time")
    post = dyn.loc[dyn.index >= 0]
    truth = 0.3 * (post.index.to_numpy() + 1)
    inside = (post["band_lower"] <= truth) & (truth <= post["band_upper"])
    assert inside.all(), post.assign(truth=truth)
    pre = dyn.loc[dyn.index < 0]
    assert ((pre["band_lower"] <= 0) & (0 <= pre["band_upper"])).all()
    # the simple ATT's truth: mean effect over treated post-treatment unit-periods, group-weighted
    simple = res.aggregate("simple").overall
    cells = df[df.effect > 0].groupby(["g", "t"])["effect"].mean().reset_index()
    share = df.drop_duplicates("unit").g.value_counts()
    cells["w"] = cells["g"].map(share)
    true_simple = float(np.average(cells["effect"], weights=cells["w"]))
    assert simple["ci_lower"] <= true_simple <= simple["ci_upper"]
    # TWFE: far from that truth (later-vs-earlier comparisons subtract growing effects)
    tw = twfe(df, "y", "unit", "t", group="g").to_frame().iloc[0]
    assert abs(tw["estimate"] - true_simple) > 5 * tw["std_error"]
    bacon = bacon_decomposition(df, "y", "unit", "t", "g")
    forbidden = bacon.by_type.set_index("type").loc["Later vs earlier treated"]
    assert forbidden["estimate"] < true_simple - 0.5


def test_event_study_twfe_is_contaminated_under_dynamic_effects():
    """Binned TWFE event study with no never-treated units: pre-period leads pick up the
    growing effects of other cohorts, while att_gt's placebo pre-periods stay at zero."""
    df = staggered(never_share=0.0, seed=4)
    es = event_study(df, "y", "unit", "t", "g", leads=3, lags=2, bin_endpoints=True)
    assert es.pretest["p_value"] < 0.001
    res = att_gt(df, outcome="y", unit="unit", time="t", group="g",
                 control_group="not_yet_treated", n_boot=0)
    assert res.pretest["p_value"] > 0.001


# --- effects by subgroup ---------------------------------------------------------------------

def by_quintile(effects, n=600, seed=0):
    parts = []
    for q, eff in enumerate(effects, start=1):
        d = two_by_two_panel(n=n, att=eff, seed=seed + q)
        parts.append(d.assign(person=d.person + q * 10_000, imd_quintile=q))
    return pd.concat(parts, ignore_index=True)


def test_effects_by_quintile_recovers_gradient():
    df = by_quintile([2.0, 1.6, 1.2, 0.8, 0.4])
    res = effects_by(df, "imd_quintile", did2x2, outcome="y", treatment="treated", post="post", unit="person")
    tab = res.to_frame().query("row == 'subgroup'")
    assert list(tab["subgroup"]) == [1, 2, 3, 4, 5]
    assert pd.api.types.is_integer_dtype(tab["subgroup"])  # quintiles stay 1..5, not 1.0..5.0
    assert ((tab["ci_lower"] <= [2.0, 1.6, 1.2, 0.8, 0.4]) & ([2.0, 1.6, 1.2, 0.8, 0.4] <= tab["ci_upper"])).all()
    assert res.test["p_value"] < 1e-6
    assert res.difference["ci_lower"] <= 1.6 <= res.difference["ci_upper"]
    assert res.trend["ci_lower"] <= -0.4 <= res.trend["ci_upper"]
    assert "1 - 5" in res.difference["label"]


def test_effects_by_equality_test_has_its_size():
    rejections = 0
    for s in range(200):
        df = by_quintile([1.0] * 5, n=80, seed=1000 + 10 * s)
        res = effects_by(df, "imd_quintile", did2x2, outcome="y", treatment="treated",
                         post="post", unit="person")
        rejections += res.test["p_value"] < 0.05
    assert 0.01 <= rejections / 200 <= 0.10


def test_effects_by_relative_scale_and_att_gt():
    df = by_quintile([1.0, 1.0])
    rel = effects_by(df, "imd_quintile", did2x2, outcome="events", treatment="treated", post="post", unit="person", model="poisson", exposure="years", exposure_unit="year", scale="relative")
    assert set(rel.to_frame()["scale"]) == {"relative"}
    assert "/" in rel.difference["label"]
    st = staggered(n=1500).assign(half=lambda d: d.unit % 2)
    by = effects_by(st, "half", att_gt, outcome="y", unit="unit", time="t", group="g", n_boot=0)
    assert by.test["p_value"] > 0.001
    with pytest.raises(InputError, match="single level"):
        effects_by(st.assign(half=1), "half", att_gt, outcome="y", unit="unit", time="t", group="g")


def test_effects_by_relative_scale_equals_poisson_glm_in_each_subgroup():
    """Rate ratios by subgroup against statsmodels' Poisson GLM (person-clustered, CR1) and the
    closed form of the saturated model; the ratio of the two rate ratios and its interval on the
    log scale (Altman & Bland 2003: SE of the difference of logs = hypot of the two SEs)."""
    from scipy import stats

    df = by_quintile([1.0, 1.0])
    rel = effects_by(df, "imd_quintile", did2x2, outcome="events", treatment="treated", post="post",
                     unit="person", model="poisson", exposure="years", exposure_unit="year",
                     scale="relative")
    tab = rel.to_frame().query("row == 'subgroup'").set_index("subgroup")
    z = stats.norm.ppf(0.975)
    logs = []
    for q, sub in df.groupby("imd_quintile"):
        s = sub.groupby(["treated", "post"])[["events", "years"]].sum()
        r = s["events"] / s["years"]
        rr = r[(1, 1)] / r[(1, 0)] / (r[(0, 1)] / r[(0, 0)])
        X = sm.add_constant(np.column_stack([sub.treated, sub.post, sub.treated * sub.post]))
        glm = sm.GLM(sub.events, X, family=sm.families.Poisson(), offset=np.log(sub.years)).fit(
            cov_type="cluster", cov_kwds={"groups": sub.person})
        b, se = float(glm.params.iloc[3]), float(glm.bse.iloc[3])
        assert np.exp(b) == pytest.approx(rr, rel=1e-9)
        row = tab.loc[q]
        assert row["estimate"] == pytest.approx(rr, rel=1e-9)
        assert row["ci_lower"] == pytest.approx(np.exp(b - z * se), rel=1e-9)
        assert row["ci_upper"] == pytest.approx(np.exp(b + z * se), rel=1e-9)
        assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(b / se)), rel=1e-6)
        logs.append((b, se))
    (b1, s1), (b2, s2) = logs
    d, dse = b1 - b2, np.hypot(s1, s2)
    diff = rel.difference
    assert diff["label"] == "imd_quintile 1 / 2"
    assert diff["estimate"] == pytest.approx(np.exp(d), rel=1e-9)
    assert diff["ci_lower"] == pytest.approx(np.exp(d - z * dse), rel=1e-9)
    assert diff["ci_upper"] == pytest.approx(np.exp(d + z * dse), rel=1e-9)
    assert diff["p_value"] == pytest.approx(2 * stats.norm.sf(abs(d / dse)), rel=1e-6)
    assert rel.test["statistic"] == pytest.approx(d**2 / dse**2, rel=1e-9)  # two groups: Q = z^2


# --- plots -----------------------------------------------------------------------------------

def test_plots_draw(mpdta):
    res = att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                 n_boot=199)
    es = event_study(mpdta, "lemp", "countyreal", "year", "first.treat")
    b = bacon_decomposition(mpdta, "lemp", "countyreal", "year", "first.treat")
    sub = effects_by(mpdta.assign(half=mpdta.countyreal % 2), "half", att_gt, outcome="lemp", unit="countyreal", time="year",
                     group="first.treat", n_boot=0)
    for fig in [res.plot(), res.aggregate("dynamic").plot(), res.aggregate("group").plot(),
                es.plot(), b.plot(), sub.plot()]:
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.save(buf, format="png", verbose=False)
        assert buf.getbuffer().nbytes > 5000


# --- unbalanced panels: which estimator is right under which missingness ---------------------

def attrited(kind: str, seed: int = 5):
    """Staggered panel (effect 0.5 from treatment on) with units leaving the data early.

    kind="level": units with a high level (a_i > 0.5) leave at a random period; who leaves
    depends on the unit's level, not on its trend. kind="mcar": the same share of rows missing
    completely at random.
    """
    df = staggered(n=4000, T=8, cohorts=(4, 6), slope=0.0, seed=seed)
    df["y"] = df["y"] + np.where((df["g"] > 0) & (df["t"] >= df["g"]), 0.5, 0.0)
    rng = np.random.default_rng(seed)
    a = df.groupby("unit")["y"].transform("mean")  # proxy for the unit's level
    if kind == "level":
        leave = rng.integers(3, 9, df["unit"].nunique())[df["unit"]]
        gone = (a.to_numpy() > 0.5 + 0.2 * 4.5) & (df["t"].to_numpy() > leave)
    else:
        gone = rng.random(len(df)) < 0.12
    return df.loc[~gone].reset_index(drop=True)


@pytest.mark.parametrize("kind", ["level", "mcar"])
def test_panel_estimators_are_right_when_attrition_depends_on_levels(kind):
    df = attrited(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bal = att_gt(df, outcome="y", unit="unit", time="t", group="g", n_boot=0)
    pair = att_gt(df, outcome="y", unit="unit", time="t", group="g", unbalanced="pairwise", n_boot=0)
    for res in (bal, pair):
        o = res.aggregate("simple").overall
        assert o["ci_lower"] <= 0.5 <= o["ci_upper"], (kind, o)
    # pairwise keeps every unit observed in both periods of a cell: more units, smaller SEs
    assert pair.n_units > bal.n_units
    assert (pair.to_frame()["n_comparison"].sum() > bal.to_frame()["n_comparison"].sum())
    # R did's reading (allow_unbalanced_panel = TRUE): the rows as repeated cross-sections. It is
    # right under MCAR but mixes the change in who is observed into the effect when attrition
    # depends on the unit's level
    rcs = att_gt(df, outcome="y", unit="unit", time="t", group="g",
                 unbalanced="repeated_cross_section", n_boot=0).aggregate("simple").overall
    covers = rcs["ci_lower"] <= 0.5 <= rcs["ci_upper"]
    assert covers if kind == "mcar" else not covers, (kind, rcs)


def test_did2x2_poisson_sandwich_equals_statsmodels_and_handles_weights():
    df = two_by_two_panel(n=500, seed=8)
    X = sm.add_constant(np.column_stack([df.treated, df.post, df.treated * df.post]))
    ref = sm.GLM(df.events, X, family=sm.families.Poisson(), offset=np.log(df.years)).fit(
        cov_type="cluster", cov_kwds={"groups": df.person})
    res = did2x2(df, "events", "treated", "person", "post", model="poisson", exposure="years", exposure_unit="year")
    # measured: 9e-16 relative
    assert res.cov.iloc[3, 3] == pytest.approx(np.asarray(ref.cov_params())[3, 3], rel=1e-10)
    # weights are relative (matching or sampling weights): multiplying them all by 2 changes nothing
    w2 = did2x2(df.assign(w=2.0), "events", "treated", "person", "post", model="poisson",
                exposure="years", exposure_unit="year", weights="w").to_frame().set_index("scale")
    one = res.to_frame().set_index("scale")
    assert w2.loc["relative", "estimate"] == pytest.approx(one.loc["relative", "estimate"], rel=1e-8)
    assert w2.loc["relative", "std_error"] == pytest.approx(one.loc["relative", "std_error"], rel=1e-8)
    # and unequal weights move the estimate towards the heavier rows
    heavy = df.assign(w=np.where(df.person % 2 == 0, 3.0, 1.0))
    wr = did2x2(heavy, "events", "treated", "person", "post", model="poisson", exposure="years", exposure_unit="year",
                weights="w").to_frame().set_index("scale")
    assert wr.loc["relative", "estimate"] != pytest.approx(one.loc["relative", "estimate"], rel=1e-6)


def test_twfe_refuses_duplicated_unit_periods_and_detects_nesting():
    from pceval.did.fixed_effects import _nested

    df = pd.DataFrame({"id": [1, 1, 2, 2, 2], "t": [1, 2, 1, 2, 2], "y": [1.0, 2, 3, 4, 5], "d": [0, 1, 0, 0, 0]})
    with pytest.raises(InputError, match="one row per `id` and `t`"):
        twfe(df, "y", "id", "t", treatment="d")
    units = np.array([0, 0, 1, 1, 2, 2])
    assert _nested(units, np.array([5, 5, 7, 7, 5, 5]), 3)  # each unit inside one cluster
    assert not _nested(units, np.array([5, 6, 7, 7, 5, 5]), 3)  # unit 0 spans two clusters
