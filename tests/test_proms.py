"""pceval.proms: ANCOVA against statsmodels, responders by hand, response weighting under informative
non-response, contamination, the synthetic truth, and the mistakes people make."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pceval import inequality, proms, synthetic
from pceval.errors import InputError, PcevalWarning
from pceval.proms import ContaminationWarning


def _scores(n=800, effect=2.0, seed=11):
    """People with a baseline and follow-up score, a categorical and a numeric covariate, weights and
    pair clusters; the follow-up depends on the baseline (slope 0.6) and on treatment (``effect``)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    region = rng.choice(["north", "south", "east"], n)
    t = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(int)
    y0 = 50 + 5 * x + rng.normal(0, 8, n)
    y1 = 20 + 0.6 * y0 + 2 * x + effect * t + (region == "north") * 1.5 + rng.normal(0, 6, n)
    return pd.DataFrame({"y0": y0, "y1": y1, "treated": t, "x": x, "region": region,
                         "w": rng.uniform(0.5, 2, n), "pair": rng.integers(0, n // 3, n),
                         "imd_quintile": rng.integers(1, 6, n)})


def _sm_design(d, ancova=True):
    X = pd.get_dummies(d[["treated", "x", "region"]], columns=["region"], drop_first=True, dtype=float)
    if ancova:
        X.insert(1, "y0", d["y0"])
    return sm.add_constant(X)


@pytest.mark.parametrize("method", ["ancova", "change"])
def test_ancova_equals_statsmodels_wls_with_cluster_robust_se(method):
    d = _scores()
    res = proms.score_change(d, "y1", "y0", "treated", covariates=["x", "region"], weights="w", cluster="pair",
                             method=method)
    y = d["y1"] if method == "ancova" else d["y1"] - d["y0"]
    ref = sm.WLS(y, _sm_design(d, method == "ancova"), weights=d["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": d["pair"]})
    h = res.headline
    assert h["estimate"] == pytest.approx(ref.params["treated"], rel=0, abs=1e-10)
    assert h["std_error"] == pytest.approx(ref.bse["treated"], rel=1e-10)
    # t interval with n - K residual df (R lm + coeftest), from the same SE
    q = stats.t.ppf(0.975, ref.df_resid)
    assert h["ci_lower"] == pytest.approx(ref.params["treated"] - q * ref.bse["treated"], rel=1e-10)
    assert h["residual_df"] == ref.df_resid


def test_ancova_hc3_equals_statsmodels_without_cluster():
    d = _scores()
    res = proms.score_change(d, "y1", "y0", "treated", covariates=["x", "region"])
    ref = sm.OLS(d["y1"], _sm_design(d)).fit(cov_type="HC3")
    assert res.headline["estimate"] == pytest.approx(ref.params["treated"], abs=1e-10)
    assert res.headline["std_error"] == pytest.approx(ref.bse["treated"], rel=1e-10)


def test_ratio_of_means_row():
    d = _scores()
    res = proms.score_change(d, "y1", "y0", "treated")
    tab = res.to_frame().set_index("scale")
    b = tab.loc["absolute", "estimate"]
    m1 = d.loc[d["treated"] == 1, "y1"].mean()
    assert tab.loc["relative", "estimate"] == pytest.approx(m1 / (m1 - b), rel=1e-12)


def test_ancova_recovers_a_known_effect_in_simulation():
    d = _scores(n=20_000, effect=2.0, seed=3)
    h = proms.score_change(d, "y1", "y0", "treated", covariates=["x", "region"]).headline
    assert h["ci_lower"] < 2.0 < h["ci_upper"]
    assert abs(h["estimate"] - 2.0) < 0.2


def test_by_quintile_rows_difference_and_equality_test():
    d = _scores(n=3000)
    res = proms.score_change(d, "y1", "y0", "treated", covariates=["x"], by="imd_quintile")
    tab = res.to_frame()
    sub = tab[tab["row"] == "subgroup"]
    assert list(sub["level"]) == [1, 2, 3, 4, 5]
    for q, row in zip([1, 5], [sub.iloc[0], sub.iloc[-1]], strict=True):  # each level is its own fit
        alone = proms.score_change(d[d["imd_quintile"] == q], "y1", "y0", "treated", covariates=["x"]).headline
        assert row["estimate"] == pytest.approx(alone["estimate"], rel=1e-12)
    diff = tab[tab["row"] == "difference"].iloc[0]
    assert diff["estimate"] == pytest.approx(sub.iloc[0]["estimate"] - sub.iloc[-1]["estimate"])
    assert diff["std_error"] == pytest.approx(np.hypot(sub.iloc[0]["std_error"], sub.iloc[-1]["std_error"]))
    b, s = sub["estimate"].to_numpy(), sub["std_error"].to_numpy()
    bbar = np.sum(b / s**2) / np.sum(1 / s**2)
    assert res.equality["statistic"] == pytest.approx(np.sum((b - bbar) ** 2 / s**2))
    assert res.equality["df"] == 4


def test_equity_of_effect_accepts_the_by_quintile_result():
    d = _scores(n=3000)
    res = proms.score_change(d, "y1", "y0", "treated", by="imd_quintile")
    ctx = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "population": [1000.0] * 5,
                        "baseline": [6.0, 6.3, 6.6, 6.9, 7.2], "treated": [50, 40, 30, 20, 10]})
    eq = inequality.equity_of_effect(res, context=ctx, uptake=None, n_treated="treated", population="population",
                                     baseline="baseline", outcome_higher_is="better", n_boot=500)
    by_hand = inequality.equity_of_effect(
        res.equity_input().drop(columns="n_treated").merge(ctx, on="imd_quintile"), uptake=None,
        n_treated="treated", population="population", baseline="baseline", outcome_higher_is="better", n_boot=500)
    pd.testing.assert_frame_equal(eq.to_frame(), by_hand.to_frame())
    with pytest.raises(InputError, match="by="):
        proms.score_change(d, "y1", "y0", "treated").equity_input()


def test_matchresult_gives_weights_and_pair_clusters():
    from pceval import match

    d = _scores(n=1200)
    d = d[(d["treated"] == 0) | (d.index % 2 == 0)]
    m = match(d, treatment="treated", covariates=["x", "y0"], seed=1)
    md = m.matched_data()
    res = proms.score_change(m, "y1", "y0", "treated")
    ref = sm.WLS(md["y1"], sm.add_constant(md[["treated", "y0"]]), weights=md["weights"]).fit(
        cov_type="cluster", cov_kwds={"groups": md["subclass"]})
    assert res.headline["std_error"] == pytest.approx(ref.bse["treated"], rel=1e-10)
    assert "CR1" in res.headline["se_type"]


# ---- non-response ----------------------------------------------------------------------------------

def test_nonresponse_is_counted_by_group():
    d = _scores(n=400)
    d.loc[d.index[:30], "y1"] = np.nan
    d.loc[d.index[30:35], "y0"] = np.nan
    res = proms.score_change(d, "y1", "y0", "treated")
    nr = res.nonresponse.set_index("group")
    for g, flag in (("treated", 1), ("comparison", 0)):
        rows = d[d["treated"] == flag]
        assert nr.loc[g, "no_baseline"] == rows["y0"].isna().sum()
        assert nr.loc[g, "no_follow_up"] == (rows["y0"].notna() & rows["y1"].isna()).sum()
    assert res.headline["n_obs"] == (d["y0"].notna() & d["y1"].notna()).sum()


def test_response_weighting_recovers_a_known_effect_under_informative_nonresponse():
    """Response depends on x, which drives the outcome, differently in the two groups: the
    respondents differ in x between groups, so the complete-case ANCOVA (without x) is biased;
    weighting by the inverse probability of response given x restores the full sample."""
    rng = np.random.default_rng(5)
    n, effect = 40_000, 1.0
    t = rng.integers(0, 2, n)
    x = rng.normal(0, 1, n)
    y0 = rng.normal(0, 1, n)
    y1 = 0.5 * y0 + 2 * x + effect * t + rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-(0.3 + np.where(t == 1, 1.5, -1.5) * x)))
    y1 = np.where(rng.random(n) < p, y1, np.nan)
    d = pd.DataFrame({"y0": y0, "y1": y1, "t": t, "x": x})
    cc = proms.score_change(d, "y1", "y0", "t").headline
    ipw = proms.score_change(d, "y1", "y0", "t", nonresponse="ipw", response_covariates=["x"])
    h = ipw.headline
    assert abs(cc["estimate"] - effect) > 1.0  # the complete-case analysis is badly biased
    assert h["ci_lower"] < effect < h["ci_upper"]
    assert abs(h["estimate"] - effect) < 0.1
    bal = ipw.response_balance.set_index(["group", "covariate"])
    for g in ("treated", "comparison"):
        assert abs(bal.loc[(g, "x"), "smd_respondents"]) > 0.3 > 0.05 > abs(bal.loc[(g, "x"), "smd_weighted"])


# ---- responders ------------------------------------------------------------------------------------

def test_responder_difference_equals_a_hand_computation():
    d = _scores(n=600)
    d["y1"] = d["y0"] + np.random.default_rng(2).normal(1 + d["treated"], 4)
    res = proms.responders(d, "y1", "y0", "treated", threshold=3)
    r = (d["y1"] - d["y0"]) >= 3
    p1, p0 = r[d["treated"] == 1].mean(), r[d["treated"] == 0].mean()
    n1, n0 = (d["treated"] == 1).sum(), (d["treated"] == 0).sum()
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    h = res.headline
    assert h["term"] == "difference in share of responders" and h["scale"] == "absolute"
    assert h["estimate"] == pytest.approx(p1 - p0, abs=1e-12)
    assert h["std_error"] == pytest.approx(se, rel=1e-10)
    assert h["ci_lower"] == pytest.approx(p1 - p0 - stats.norm.ppf(0.975) * se, rel=1e-10)
    rr = res.to_frame().query("scale == 'relative'").iloc[0]
    assert rr["estimate"] == pytest.approx(p1 / p0)
    assert rr["std_error"] / rr["estimate"] == pytest.approx(np.sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0)))
    down = proms.responders(d, "y1", "y0", "treated", threshold=3, direction="decrease").headline
    r2 = (d["y1"] - d["y0"]) <= -3
    assert down["estimate"] == pytest.approx(r2[d["treated"] == 1].mean() - r2[d["treated"] == 0].mean())


def test_clustered_responder_difference_equals_statsmodels():
    d = _scores(n=600)
    res = proms.responders(d, "y1", "y0", "treated", weights="w", cluster="pair", threshold=3)
    r = ((d["y1"] - d["y0"]) >= 3).astype(float)
    ref = sm.WLS(r, sm.add_constant(d[["treated"]].astype(float)), weights=d["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": d["pair"]})
    assert res.headline["estimate"] == pytest.approx(ref.params["treated"], abs=1e-12)
    # statsmodels' CR1 uses K = 2 (intercept + treatment), as does the two-group model here
    assert res.headline["std_error"] == pytest.approx(ref.bse["treated"], rel=1e-10)


def test_pam_level_transitions_are_disclosure_protected():
    rng = np.random.default_rng(4)
    n = 500
    lev0 = rng.integers(1, 5, n)
    lev1 = np.clip(lev0 + rng.integers(-1, 2, n), 1, 4)
    d = pd.DataFrame({"b": rng.normal(50, 5, n), "f": rng.normal(52, 5, n), "t": rng.integers(0, 2, n),
                      "l0": lev0, "l1": lev1})
    tr = proms.responders(d, "f", "b", "t", levels=("l0", "l1")).transitions
    raw = d.groupby(["t", "l0", "l1"]).size()
    assert tr["people"].sum() > 0
    shown = tr["people"].dropna().astype(int)
    assert (shown % 5 == 0).all()
    assert tr["people"].isna().sum() == (raw <= 7).sum()
    assert tr.attrs.get("pceval_protected") == "opensafely"


# ---- ONS4 and HbA1c --------------------------------------------------------------------------------

def test_ons4_items_are_reported_separately_with_anxiety_reversed():
    rng = np.random.default_rng(8)
    n = 4000
    t = rng.integers(0, 2, n)
    d = pd.DataFrame({"t": t})
    shifts = {"ons4_life_satisfaction": 0.8, "ons4_worthwhile": 0.0, "ons4_happy": 0.6, "ons4_anxiety": -0.6}
    for item, s in shifts.items():
        b = rng.normal(6, 1.5, n)
        d[f"{item}_baseline"] = b
        d[f"{item}_follow_up"] = 0.5 * b + 3 + s * t + rng.normal(0, 1, n)
    res = proms.ons4_effects(d, "t")
    tab = res.to_frame().set_index("term")
    assert list(tab.index) == list(proms.ONS4_ITEMS)  # four rows, no total
    assert tab.loc["ons4_anxiety", "higher_is"] == "worse"
    assert tab.loc["ons4_anxiety", "improvement"] == "improved"  # lower anxiety is better
    assert tab.loc["ons4_life_satisfaction", "improvement"] == "improved"
    assert "anxiety" in res.summary() and "never summed" in res.summary()
    with pytest.raises(InputError, match="ONS4 items"):
        proms.ons4_effects(d, "t", items=["ons4_total"])


def test_hba1c_in_percent_is_refused_and_people_without_diabetes_left_out():
    d = _scores(n=400).assign(diabetes=lambda x: (x.index % 2).astype(int))
    d["hba1c_baseline"] = d["y0"]
    d["hba1c_follow_up"] = d["y1"]
    res = proms.hba1c_effect(d, "treated")
    assert res.headline["n_obs"] == d["diabetes"].sum()
    assert res.higher_is == "worse" and "mmol/mol" in res.measure
    assert res.excluded == {"rows without diabetes": int((d["diabetes"] == 0).sum())}
    pct = d.assign(hba1c_baseline=7.1, hba1c_follow_up=6.8)
    with pytest.raises(InputError, match="DCCT"):
        proms.hba1c_effect(pct, "treated")


# ---- contamination ---------------------------------------------------------------------------------

def test_contamination_warning_names_how_many():
    d = pd.DataFrame({"person_id": [1, 2, 3, 4, 5], "treated": [1, 0, 0, 0, 0],
                      "index_date": pd.to_datetime(["2020-01-01"] * 5)})
    iv = pd.DataFrame({"person_id": [1, 2, 3, 4], "intervention": ["phb", "pcsp", "health_coaching", "pcsp"],
                       "date": pd.to_datetime(["2020-01-01", "2020-03-01", "2019-06-01", "2020-06-30"])})
    with pytest.warns(ContaminationWarning, match=r"2 of 4 comparison people"):
        out = proms.check_contamination(d, "treated", iv)
    assert dict(zip(out["intervention"], out["n_people"], strict=True)) == {"pcsp": 2}
    assert issubclass(ContaminationWarning, PcevalWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proms.check_contamination(d, "treated", iv[iv["person_id"] != 2].assign(
            date=pd.to_datetime(["2020-01-01", "2019-06-01", "2021-01-01"])))


# ---- wide scores and bad input ---------------------------------------------------------------------

def test_wide_scores_picks_the_nearest_and_the_mean():
    m = pd.DataFrame({"person_id": [1, 1, 1, 1, 2, 1, 1],
                      "date": pd.to_datetime(["2020-01-05", "2019-12-20", "2020-07-01", "2020-08-10",
                                              "2020-01-01", "2019-06-01", "2019-09-01"]),
                      "measure": ["pam_score"] * 5 + ["hba1c"] * 2,
                      "value": [55.0, 50.0, 60.0, 62.0, 40.0, 60.0, 70.0]})
    ix = pd.DataFrame({"person_id": [1, 2, 3], "index_date": pd.to_datetime(["2020-01-01"] * 3)})
    w = proms.wide_scores(m, ix, ["pam_score", "hba1c"], how={"hba1c": "mean"},
                          baseline=(-30, 30, 0)).set_index("person_id")
    assert w.loc[1, "pam_score_baseline"] == 55.0   # 4 days after beats 12 days before
    assert w.loc[1, "pam_score_follow_up"] == 60.0  # day 182 target: 1 July (day 182) beats 10 Aug
    assert np.isnan(w.loc[3, "pam_score_baseline"]) and np.isnan(w.loc[2, "pam_score_follow_up"])
    w2 = proms.wide_scores(m, ix, ["hba1c"], how="mean", baseline=(-365, -1, -1)).set_index("person_id")
    assert w2.loc[1, "hba1c_baseline"] == 65.0
    with pytest.raises(InputError, match="pam_scor"):
        proms.wide_scores(m, ix, ["pam_scor"])


def test_mistakes_give_input_errors():
    d = _scores(n=200)
    with pytest.raises(InputError, match="did you mean 'y1'"):
        proms.score_change(d, "y_1", "y0", "treated")
    with pytest.raises(InputError, match="0/1"):
        proms.score_change(d.assign(treated=d["treated"] * 2), "y1", "y0", "treated")
    with pytest.raises(InputError, match="numeric"):
        proms.score_change(d.assign(y1=d["y1"].astype(str)), "y1", "y0", "treated")
    with pytest.raises(InputError, match="method"):
        proms.score_change(d, "y1", "y0", "treated", method="anova")
    with pytest.raises(InputError, match="one level"):
        proms.score_change(d.assign(q=1), "y1", "y0", "treated", by="q")
    with pytest.raises(InputError, match="threshold"):
        proms.responders(d, "y1", "y0", "treated", threshold=-3)
    before = d.copy()
    proms.score_change(d, "y1", "y0", "treated", by="imd_quintile", nonresponse="ipw", response_covariates=["x"])
    pd.testing.assert_frame_equal(d, before)  # the caller's frame is not changed


# ---- the synthetic truth ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synth():
    return synthetic.generate(n_people=60_000, seed=7)


def _design(data, intervention):
    """Treated: the intervention's recipients at their index date; comparison: survey respondents
    not treated within the outcome window (contamination excluded), matched 1:1 within IMD quintile."""
    from pceval import baseline_covariates, match

    iv = data.interventions
    meas = data.measures
    treated = iv[iv["intervention"] == intervention][["person_id", "date"]].rename(columns={"date": "index_date"})
    base = meas[(meas["timepoint"] == "baseline") & (meas["measure"] == "pam_score")]
    first = iv.groupby("person_id")["date"].min()
    survey = base[base["person_id"].map(first).isna() | (base["date"] < base["person_id"].map(first))]
    comp = survey[["person_id", "date"]].rename(columns={"date": "index_date"})
    ix = pd.concat([treated.assign(treated=1), comp.assign(treated=0)], ignore_index=True)
    ix = ix.merge(data.people, on="person_id")
    ix = baseline_covariates(ix, data.events, lookback=12, progress=False)
    items = ["pam_score", *proms.ONS4_ITEMS]
    wide = proms.wide_scores(meas, ix, items)
    wide = wide[wide["pam_score_baseline"].notna()]
    hit = proms.check_contamination(wide, "treated", iv, warn=False)
    assert hit.attrs["n_total"] > 0
    iv_dates = wide[["person_id", "index_date"]].merge(iv[["person_id", "date"]], on="person_id")
    days = (iv_dates["date"] - iv_dates["index_date"]).dt.days
    bad = iv_dates.loc[days.between(-30, 215), ["person_id", "index_date"]]
    wide = wide.merge(bad.assign(_bad=1), on=["person_id", "index_date"], how="left")
    wide = wide[(wide["treated"] == 1) | wide["_bad"].isna()].drop(columns="_bad")
    covs = ["age_at_index", "ltc_count", "frailty_index", "depression", "prior_emergency_admission",
            "pam_score_baseline", "ons4_life_satisfaction_baseline"]
    return match(wide, treatment="treated", covariates=covs, exact=["imd_quintile"], caliper=0.2, seed=1)


def test_synthetic_truth_is_recovered_for_phb_wellbeing_and_coaching_activation(synth):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        m_phb = _design(synth, "phb")
        m_hc = _design(synth, "health_coaching")
    md = m_phb.matched_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContaminationWarning)  # the comparison is clean now
        res = proms.score_change(m_phb, "ons4_life_satisfaction_follow_up", "ons4_life_satisfaction_baseline",
                                 "treated", interventions=synth.interventions)
    assert res.contamination == 0
    kept = md.loc[(md["treated"] == 1) & md["ons4_life_satisfaction_follow_up"].notna(), "person_id"]
    truth = synth.true_effect("phb", "ons4_life_satisfaction", window=(6, 6), persons=kept).iloc[0]["absolute"]
    h = res.headline
    assert h["ci_lower"] < truth < h["ci_upper"]
    pam = proms.score_change(m_hc, "pam_score_follow_up", "pam_score_baseline", "treated").headline
    mdh = m_hc.matched_data()
    kept = mdh.loc[(mdh["treated"] == 1) & mdh["pam_score_follow_up"].notna(), "person_id"]
    truth = synth.true_effect("health_coaching", "pam_score", window=(6, 6), persons=kept).iloc[0]["absolute"]
    assert pam["ci_lower"] < truth < pam["ci_upper"]
    assert pam["ci_lower"] > 0  # a 5-point effect is detected


def test_score_change_counts_contamination_and_small_levels():
    d = _scores(n=300).assign(person_id=lambda x: np.arange(len(x)), index_date=pd.Timestamp("2021-01-01"))
    comp_ids = d.loc[d["treated"] == 0, "person_id"].to_numpy()[:12]
    iv = pd.DataFrame({"person_id": comp_ids, "intervention": "pcsp", "date": pd.Timestamp("2021-02-01")})
    with pytest.warns(ContaminationWarning, match="12 of"):
        res = proms.score_change(d, "y1", "y0", "treated", interventions=iv)
    assert res.contamination == 12 and "12 comparison people" in res.summary()
    lone = d.index[d["treated"] == 1][0]
    d["level"] = np.where(d.index == lone, "tiny", "big")
    d.loc[d["treated"] == 0, "level"] = np.where(np.arange((d["treated"] == 0).sum()) < 3, "tiny", "big")
    tab = proms.score_change(d, "y1", "y0", "treated", by="level").to_frame()
    tiny = tab[tab["level"] == "tiny"].iloc[0]
    assert np.isnan(tiny["estimate"]) and tiny["n_treated"] == 1
    from pceval import verdict

    assert verdict(tiny) == "too few to tell"
