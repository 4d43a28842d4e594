"""att_gt and its aggregations against R `did` 2.5 (tests/reference/did) and the csdid port."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from _reference import DID
from pceval.did import att_gt
from pceval.errors import InputError, PcevalWarning

SCENARIOS = {
    "mpdta_nev_dr": dict(control_group="never_treated", method="dr"),
    "mpdta_nyt_dr": dict(control_group="not_yet_treated", method="dr"),
    "mpdta_nev_reg_cov": dict(control_group="never_treated", method="reg", covariates=["lpop"]),
    "mpdta_nev_ipw": dict(control_group="never_treated", method="ipw"),
}
# Tolerances a few orders of magnitude above the agreement measured on mpdta. R did 2.5.0 (its CSVs
# keep 15-16 significant digits): every ATT(g,t) and aggregated estimate within 2.5e-15 absolute,
# every SE within 1.5e-14 relative.
EST_ATOL, SE_RTOL = 1e-12, 1e-10
# csdid (the same estimators in Python): estimates within 1.3e-12 absolute and SEs within 1.3e-11
# relative (the unbalanced repeated-cross-section cells are the worst case).
CS_EST_ATOL, CS_SE_RTOL = 1e-9, 1e-8


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DID / "mpdta.csv")


def _fit(mpdta, **kw):
    return att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                  n_boot=0, **kw)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_group_time_effects_match_r_did(mpdta, scenario):
    ref = pd.read_csv(DID / "did_attgt.csv").query("scenario == @scenario")
    got = _fit(mpdta, **SCENARIOS[scenario]).to_frame()
    m = got.merge(ref, left_on=["group", "time"], right_on=["group", "t"], validate="1:1")
    assert len(m) == len(ref) == len(got) == 12
    np.testing.assert_allclose(m["estimate"], m["att"], atol=EST_ATOL, rtol=0)
    np.testing.assert_allclose(m["std_error"], m["se"], rtol=SE_RTOL, atol=0)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("kind", ["simple", "group", "dynamic", "calendar"])
def test_aggregations_match_r_did(mpdta, scenario, kind):
    ref = pd.read_csv(DID / "did_aggte.csv").query("scenario == @scenario and type == @kind")
    agg = _fit(mpdta, **SCENARIOS[scenario]).aggregate(kind)
    assert agg.overall["estimate"] == pytest.approx(ref["overall_att"].iloc[0], abs=EST_ATOL)
    assert agg.overall["std_error"] == pytest.approx(ref["overall_se"].iloc[0], rel=SE_RTOL)
    if kind != "simple":
        tab = agg.to_frame().iloc[1:]  # row 0 is the overall effect
        label = {"group": "group", "dynamic": "event_time", "calendar": "time"}[kind]
        m = tab.merge(ref, left_on=label, right_on="egt", validate="1:1")
        assert len(m) == len(ref) == len(tab)
        np.testing.assert_allclose(m["estimate"], m["att_egt"], atol=EST_ATOL, rtol=0)
        np.testing.assert_allclose(m["std_error"], m["se_egt"], rtol=SE_RTOL, atol=0)


def test_reference_value_quoted_in_reference_readme(mpdta):
    agg = _fit(mpdta).aggregate("simple")
    assert round(agg.overall["estimate"], 6) == -0.039951
    assert round(agg.overall["std_error"], 6) == 0.012034


# --- the other combinations, against csdid (a Python port of R did) -------------------------

COMBOS = [
    ("not_yet_treated", "ipw", None, "varying", 0),
    ("not_yet_treated", "reg", ["lpop"], "varying", 0),
    ("never_treated", "dr", ["lpop"], "varying", 0),
    ("never_treated", "ipw", ["lpop"], "varying", 0),
    ("not_yet_treated", "dr", ["lpop"], "universal", 0),
    ("never_treated", "ipw", ["lpop"], "universal", 1),
    ("not_yet_treated", "reg", None, "varying", 1),
]


@pytest.fixture(scope="module")
def csdid_att():
    from csdid.att_gt import ATTgt  # a dev dependency (pip install -e ".[dev]"): never skipped

    return ATTgt


@pytest.mark.parametrize("control,method,covs,base,anticipation", COMBOS)
def test_other_combinations_match_csdid(mpdta, csdid_att, control, method, covs, base, anticipation):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = csdid_att(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                      data=mpdta, control_group=control.replace("_", ""),
                      xformla="~lpop" if covs else None, anticipation=anticipation)
        o = o.fit(est_method=method, base_period=base, bstrap=False)
    r = o.results
    ref = pd.DataFrame({"group": r["group"], "time": r["year"], "att": r["att"], "se": r["se"]})
    res = _fit(mpdta, control_group=control, method=method, covariates=covs, base_period=base,
               anticipation=anticipation)
    got = res.to_frame()
    m = got.merge(ref, on=["group", "time"], validate="1:1")
    assert len(m) == len(ref) == len(got)
    np.testing.assert_allclose(m["estimate"], m["att"], atol=CS_EST_ATOL, rtol=0)
    np.testing.assert_allclose(m["std_error"], m["se"], rtol=CS_SE_RTOL, atol=0, equal_nan=True)
    for kind, label in [("dynamic", "event_time"), ("group", "group"), ("simple", None)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            o.aggte(typec=kind, bstrap=False)
        a = o.atte
        agg = res.aggregate(kind)
        assert agg.overall["estimate"] == pytest.approx(float(a["overall_att"]), abs=CS_EST_ATOL)
        assert agg.overall["std_error"] == pytest.approx(float(a["overall_se"]), rel=CS_SE_RTOL)
        if label:
            tab = agg.to_frame().iloc[1:]  # row 0 is the overall effect
            np.testing.assert_allclose(tab[label], np.asarray(a["egt"], float))
            np.testing.assert_allclose(tab["estimate"], np.asarray(a["att_egt"], float), atol=CS_EST_ATOL, rtol=0)
            np.testing.assert_allclose(tab["std_error"], np.asarray(a["se_egt"], float), rtol=CS_SE_RTOL, atol=0)


def test_balanced_event_study_matches_csdid(mpdta, csdid_att):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = csdid_att(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                      data=mpdta).fit(est_method="dr", bstrap=False)
        o.aggte(typec="dynamic", balance_e=1, min_e=-2, bstrap=False)
    a = o.atte
    agg = _fit(mpdta).aggregate("dynamic", balance_e=1, min_e=-2)
    tab = agg.to_frame().iloc[1:]  # row 0 is the overall effect
    np.testing.assert_allclose(tab["event_time"], np.asarray(a["egt"], float))
    np.testing.assert_allclose(tab["estimate"], np.asarray(a["att_egt"], float), atol=CS_EST_ATOL, rtol=0)
    np.testing.assert_allclose(tab["std_error"], np.asarray(a["se_egt"], float), rtol=CS_SE_RTOL, atol=0)
    assert agg.overall["estimate"] == pytest.approx(float(a["overall_att"]), abs=CS_EST_ATOL)
    assert agg.overall["std_error"] == pytest.approx(float(a["overall_se"]), rel=CS_SE_RTOL)


# --- inference -------------------------------------------------------------------------------

def test_bootstrap_band_is_wider_than_pointwise_and_reproducible(mpdta):
    a = att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
               n_boot=999, seed=7)
    b = att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
               n_boot=999, seed=7)
    assert a.critical_value == b.critical_value
    # 12 correlated cells: the sup-t critical value lies between 1.96 and the Bonferroni 3.04
    assert 1.96 < a.critical_value < 3.04
    t = a.to_frame()
    assert (t["band_upper"] - t["band_lower"] > t["ci_upper"] - t["ci_lower"]).all()


# bootstrap SEs against the analytic ones, and the band's invariance to how the data are
# written: tests/test_did_invariance.py


def test_clustering_on_unit_only_adds_small_sample_factor(mpdta):
    df = mpdta.assign(cl=mpdta["countyreal"])
    plain = _fit(mpdta).to_frame()["std_error"].to_numpy()
    clus = _fit(df, cluster="cl").to_frame()["std_error"].to_numpy()
    np.testing.assert_allclose(clus, plain * np.sqrt(500 / 499), rtol=1e-12)


def _csdid_fit(csdid_att, data, est_method="dr", base_period="varying", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = csdid_att(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                      data=data, **kw)
        return o.fit(est_method=est_method, base_period=base_period, bstrap=False)


def test_clustering_on_states_equals_csdid_times_the_small_sample_factor(mpdta, csdid_att):
    """Clustered analytic SEs against csdid's (R did's analytic clustering, `clustervars`). csdid
    uses sqrt(sum_c S_c^2)/n; pceval also applies the usual G/(G-1) factor (docs/did.md), so
    pceval = csdid * sqrt(G/(G-1)) for every cell and aggregation (measured: to 5e-16 relative)."""
    df = mpdta.assign(state=mpdta["countyreal"] // 1000)
    n_clusters = df["state"].nunique()
    assert n_clusters == 29
    factor = np.sqrt(n_clusters / (n_clusters - 1))
    o = _csdid_fit(csdid_att, df, clustervar="state")
    r = o.results
    ref = pd.DataFrame({"group": r["group"], "time": r["year"], "att": r["att"], "se": r["se"]})
    res = _fit(df, cluster="state")
    m = res.to_frame().merge(ref, on=["group", "time"], validate="1:1")
    assert len(m) == 12
    np.testing.assert_allclose(m["estimate"], m["att"], atol=CS_EST_ATOL, rtol=0)
    np.testing.assert_allclose(m["std_error"], m["se"] * factor, rtol=CS_SE_RTOL, atol=0)
    # and clustering by state is not just the factor: the unclustered SEs differ
    plain = _fit(mpdta).to_frame().merge(m, on=["group", "time"], suffixes=("", "_state"))
    assert (np.abs(plain["std_error_state"] / plain["std_error"] - 1) > 0.01).any()
    for kind in ["simple", "group", "dynamic", "calendar"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            o.aggte(typec=kind, bstrap=False)
        agg = res.aggregate(kind)
        assert agg.overall["estimate"] == pytest.approx(float(o.atte["overall_att"]), abs=CS_EST_ATOL)
        assert agg.overall["std_error"] == pytest.approx(float(o.atte["overall_se"]) * factor,
                                                         rel=CS_SE_RTOL)
        if kind != "simple":
            np.testing.assert_allclose(agg.to_frame().iloc[1:]["std_error"],
                                       np.asarray(o.atte["se_egt"], float) * factor,
                                       rtol=CS_SE_RTOL, atol=0)
    assert "clustered by state" in res.aggregate("simple").summary()


PRETEST_CASES = {  # pceval arguments -> csdid arguments
    "never treated, dr": ({}, {}),
    "not yet treated": (dict(control_group="not_yet_treated"), dict(control_group="notyettreated")),
    "ipw with lpop": (dict(method="ipw", covariates=["lpop"]), dict(est_method="ipw", xformla="~lpop")),
    "universal base": (dict(base_period="universal"), dict(base_period="universal")),
    "anticipation 1": (dict(anticipation=1), dict(anticipation=1)),
}


@pytest.mark.parametrize("case", list(PRETEST_CASES))
def test_pretest_equals_csdid_wald_pretest(mpdta, csdid_att, case):
    """The parallel-trends pre-test against csdid's port of R did's W / Wpval (att_gt's Wald test
    of the pre-period ATT(g,t)). Measured: W agrees to 1.2e-12 relative; csdid rounds Wpval to 5
    decimals."""
    kw, cs_kw = PRETEST_CASES[case]
    o = _csdid_fit(csdid_att, mpdta, **cs_kw)
    res = _fit(mpdta, **kw)
    tab = res.to_frame()
    usable = ~tab["post"] & (tab["std_error"].fillna(0) > 0)  # not the universal base period's cells
    assert res.pretest["df"] == int(usable.sum()) == (3 if "anticipation" in kw else 5)
    assert res.pretest["statistic"] == pytest.approx(o.MP["W"], rel=CS_SE_RTOL)
    assert res.pretest["p_value"] == pytest.approx(o.MP["Wpval"], abs=5e-6)


def test_clustered_pretest_equals_csdid_with_the_small_sample_factor(mpdta, csdid_att):
    from scipy import stats

    df = mpdta.assign(state=mpdta["countyreal"] // 1000)
    o = _csdid_fit(csdid_att, df, clustervar="state")
    res = _fit(df, cluster="state")
    w = o.MP["W"] * 28 / 29  # the covariance is larger by G/(G-1) = 29/28
    assert res.pretest["statistic"] == pytest.approx(w, rel=CS_SE_RTOL)
    assert res.pretest["p_value"] == pytest.approx(stats.chi2.sf(w, 5), rel=1e-9)


def test_weights_of_one_change_nothing_and_weights_matter(mpdta):
    base = _fit(mpdta, covariates=["lpop"]).aggregate("group")
    same = _fit(mpdta.assign(w=1.0), covariates=["lpop"], weights="w").aggregate("group")
    assert same.overall["estimate"] == pytest.approx(base.overall["estimate"], abs=1e-12)
    rng = np.random.default_rng(1)
    w = pd.Series(rng.uniform(0.5, 2, 500), index=mpdta["countyreal"].unique())
    other = _fit(mpdta.assign(w=mpdta["countyreal"].map(w)), covariates=["lpop"], weights="w")
    assert other.aggregate("group").overall["estimate"] != pytest.approx(base.overall["estimate"])


def test_input_frame_is_not_modified(mpdta):
    before = mpdta.copy()
    _fit(mpdta, covariates=["lpop"], control_group="not_yet_treated")
    pd.testing.assert_frame_equal(mpdta, before)


# --- bad input -------------------------------------------------------------------------------

def test_unbalanced_panel_policies(mpdta):
    rng = np.random.default_rng(0)
    holey = mpdta.drop(index=rng.choice(len(mpdta), 100, replace=False))
    with pytest.raises(InputError, match="must be balanced"):
        _fit(holey, unbalanced="error")
    with pytest.warns(PcevalWarning, match="units not observed in every period dropped"):
        res = _fit(holey)
    n_complete = (holey.groupby("countyreal").size() == 5).sum()
    assert res.n_units == n_complete
    assert res.exclusions["units not observed in every period dropped (balanced panel)"] == 500 - n_complete
    pair = _fit(holey, unbalanced="pairwise")
    assert pair.n_units == holey["countyreal"].nunique()
    # each cell uses the units observed in both of its periods
    t = pair.to_frame().iloc[0]
    seen = holey.pivot(index="countyreal", columns="year", values="lemp")
    g = holey.groupby("countyreal")["first.treat"].first()
    both = seen[t["time"]].notna() & seen[t["base_period"]].notna()
    assert t["n_treated"] == int((both & (g == t["group"])).sum())
    assert t["n_comparison"] == int((both & (g == 0)).sum())


def test_time_varying_group_or_covariate_is_an_error(mpdta):
    bad = mpdta.copy()
    bad.loc[bad.index[1], "first.treat"] = 2006
    with pytest.raises(InputError, match="first.treat.*constant within each unit.*switches off"):
        _fit(bad)
    bad = mpdta.copy()
    bad.loc[bad.index[1], "lpop"] += 1
    with pytest.raises(InputError, match="lpop.*constant within each unit"):
        _fit(bad, covariates=["lpop"])


def test_duplicates_missing_columns_and_bad_choices(mpdta):
    with pytest.raises(InputError, match="one row per"):
        _fit(pd.concat([mpdta, mpdta.head(1)]))
    with pytest.raises(InputError, match="missing required column"):
        _fit(mpdta.drop(columns="lemp"))
    with pytest.raises(InputError, match="control_group"):
        _fit(mpdta, control_group="nevertreated")
    with pytest.raises(InputError, match="method"):
        _fit(mpdta, method="ols")
    with pytest.raises(InputError, match="first.treat"):
        _fit(mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(2006, 2005.5)}))


def test_no_never_treated_units(mpdta):
    only_treated = mpdta[mpdta["first.treat"] != 0]
    with pytest.raises(InputError, match="no unit .* is never treated"):
        _fit(only_treated)
    # not-yet-treated comparisons still work; cells with no comparison units are skipped, counted
    with pytest.warns(PcevalWarning, match="no comparison units"):
        res = _fit(only_treated, control_group="not_yet_treated")
    assert (res.to_frame()["time"] < 2007).all()


def test_everyone_treated_in_first_period_and_missing_outcomes(mpdta):
    early = mpdta.assign(**{"first.treat": np.where(mpdta["first.treat"] > 0, 2003, 0)})
    with pytest.raises(InputError, match="treated in the first period"):
        _fit(early)
    holes = mpdta.copy()
    holes.loc[holes.index[:3], "lemp"] = np.nan
    with pytest.warns(PcevalWarning, match="rows with a missing outcome"):
        res = _fit(holes)
    assert res.exclusions["rows with a missing outcome or covariate dropped"] == 3


def test_singular_covariates_raise_estimation_error(mpdta):
    from pceval.errors import EstimationError

    df = mpdta.assign(lpop2=2 * mpdta["lpop"])
    with pytest.raises(EstimationError, match="collinear"):
        _fit(df, covariates=["lpop", "lpop2"])


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
@pytest.mark.parametrize("covs", [None, ["lpop"]])
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_unbalanced_as_repeated_cross_sections_matches_csdid(mpdta, csdid_att, method, covs, control):
    """R did's allow_unbalanced_panel = TRUE (drdid_rc / reg_did_rc / std_ipw_did_rc), via csdid."""
    rng = np.random.default_rng(42)
    holey = mpdta.drop(index=rng.choice(len(mpdta), 250, replace=False)).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = csdid_att(yname="lemp", tname="year", idname="countyreal", gname="first.treat", data=holey,
                      allow_unbalanced_panel=True, xformla="~lpop" if covs else None,
                      control_group=control.replace("_", ""))
        o = o.fit(est_method=method, bstrap=False)
        o.aggte(typec="simple", bstrap=False)
    r = o.results
    ref = pd.DataFrame({"group": r["group"], "time": r["year"], "att": r["att"], "se": r["se"]})
    res = _fit(holey, method=method, covariates=covs, control_group=control,
               unbalanced="repeated_cross_section")
    m = res.to_frame().merge(ref, on=["group", "time"], validate="1:1")
    assert len(m) == len(ref) == 12
    np.testing.assert_allclose(m["estimate"], m["att"], atol=CS_EST_ATOL, rtol=0)
    np.testing.assert_allclose(m["std_error"], m["se"], rtol=CS_SE_RTOL, atol=0)
    simple = res.aggregate("simple").overall
    assert simple["estimate"] == pytest.approx(float(o.atte["overall_att"]), abs=CS_EST_ATOL)
    assert simple["std_error"] == pytest.approx(float(o.atte["overall_se"]), rel=CS_SE_RTOL)


def test_no_few_clusters_warning_with_many_clusters_per_group(mpdta):
    df = mpdta.assign(cl=mpdta["countyreal"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", PcevalWarning)
        _fit(df, cluster="cl")


def test_few_clusters_in_all_warns_with_the_count(mpdta):
    df = mpdta.assign(cl=pd.factorize(mpdta["countyreal"])[0] % 20)
    with pytest.warns(PcevalWarning, match=r"cluster='cl': only 20 clusters"):
        _fit(df, cluster="cl")


def test_a_cohort_within_few_clusters_warns_naming_it(mpdta):
    # 500 counties are their own clusters, except that the 2007 cohort is put in 2 clusters
    cl = mpdta["countyreal"].where(mpdta["first.treat"] != 2007, -(mpdta["countyreal"] % 2) - 1)
    with pytest.warns(PcevalWarning, match=r"1 of 3 groups span fewer than 5 clusters \(groups 2007\)") as rec:
        _fit(mpdta.assign(cl=cl), cluster="cl")
    assert not any("only" in str(w.message) for w in rec)
