"""pceval.costs: hand-computed consequences, Altman's NNT interval, units, refusals and inflation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pceval
from pceval import did
from pceval.costs import (
    TERMS,
    Consequences,
    CostIndex,
    UnitCosts,
    consequences,
    default_unit_costs,
    example_cost_index,
    example_unit_costs,
    ncc_extract,
    ncc_weighted_average,
    nhs_cost_inflation_index,
    pssru_extract,
)
from pceval.errors import InputError

Z = 1.959963984540054


def _row(estimate=-50.0, se=20.0, measure="difference in rate per 1,000 person-years"):
    """One absolute protocol row: a change of `estimate` admissions per 1,000 person-years."""
    return pd.Series({"term": "ATT", "estimate": estimate, "std_error": se, "statistic": estimate / se,
                      "p_value": np.nan, "ci_lower": estimate - Z * se, "ci_upper": estimate + Z * se,
                      "scale": "absolute", "measure": measure})


def _cons(effect=None, **kw):
    args = dict(population=10_000, activity="emergency_admission", unit_costs=example_unit_costs(),
                intervention_cost=150.0)
    args.update(kw)
    return consequences(_row() if effect is None else effect, **args)


def test_hand_computed_consequences():
    # a = 50 avoided per 1,000 a year (se 20); N = 10,000; u = £2,000; c = £150; y = 1; L = 4 days
    t = _cons().to_frame().set_index("term")
    assert list(t.index) == list(TERMS)
    expected = {
        "events_avoided_per_1000_per_year": (50.0, 20.0),
        "events_avoided_per_year": (500.0, 200.0),                  # 50 x 10,000 / 1,000
        "bed_days_avoided": (2000.0, 800.0),                         # x 4 days
        "cost_of_events_avoided": (1_000_000.0, 400_000.0),          # x £2,000
        "intervention_cost_per_person": (150.0, 0.0),
        "net_cost_per_person": (150.0 - 100.0, 40.0),                # 150 - 50 x 2,000 / 1,000
        "break_even_effect_per_1000": (75.0, 0.0),                   # 1,000 x 150 / 2,000
        "roi": ((100.0 - 150.0) / 150.0, 40.0 / 150.0),
    }
    for term, (est, se) in expected.items():
        assert t.loc[term, "estimate"] == pytest.approx(est, rel=1e-12), term
        assert t.loc[term, "std_error"] == pytest.approx(se, rel=1e-12, abs=1e-12), term
        if se > 0:
            assert t.loc[term, "ci_lower"] == pytest.approx(est - Z * se, rel=1e-9), term
            assert t.loc[term, "ci_upper"] == pytest.approx(est + Z * se, rel=1e-9), term
    # NNT: 1,000 / 50 = 20 people; interval inverts the interval of a (Altman 1998)
    lo, hi = 50 - Z * 20, 50 + Z * 20
    assert t.loc["people_treated_per_event_avoided", "estimate"] == pytest.approx(20.0)
    assert t.loc["people_treated_per_event_avoided", "ci_lower"] == pytest.approx(1000 / hi)
    assert t.loc["people_treated_per_event_avoided", "ci_upper"] == pytest.approx(1000 / lo)
    assert t.loc["people_treated_per_event_avoided", "interval"].startswith("NNTB")
    # the interval of every linear term is the effect's own interval mapped through the formula
    assert t.loc["events_avoided_per_1000_per_year", "ci_lower"] == pytest.approx(-_row()["ci_upper"])


def test_years_scale_the_cost_side_only():
    # a cost of £300 per person buys 2 years of effect: net = 300 - 2 x 50 x 2 = 100; break-even 75
    t = _cons(intervention_cost=300.0, years=2.0).to_frame().set_index("term")
    assert t.loc["net_cost_per_person", "estimate"] == pytest.approx(100.0)
    assert t.loc["break_even_effect_per_1000", "estimate"] == pytest.approx(75.0)
    assert t.loc["people_treated_per_event_avoided", "estimate"] == pytest.approx(10.0)
    assert t.loc["events_avoided_per_year", "estimate"] == pytest.approx(500.0)


def test_nnt_interval_through_infinity_when_the_effect_interval_includes_zero():
    t = _cons(_row(-50.0, 40.0)).to_frame().set_index("term")
    nnt = t.loc["people_treated_per_event_avoided"]
    lo, hi = 50 - Z * 40, 50 + Z * 40                     # -28.4 to 128.4 avoided per 1,000
    assert nnt["ci_lower"] == -np.inf and nnt["ci_upper"] == np.inf
    assert nnt["interval"] == f"NNTB {1000 / hi:,.1f} to infinity to NNTH {1000 / -lo:,.1f} (Altman 1998)"
    assert nnt["p_value"] == pytest.approx(t.loc["events_avoided_per_1000_per_year", "p_value"])


def test_harm_gives_a_negative_nnt_the_nnth():
    t = _cons(_row(50.0, 20.0)).to_frame().set_index("term")
    nnt = t.loc["people_treated_per_event_avoided"]
    assert nnt["estimate"] == pytest.approx(-20.0)
    assert nnt["ci_upper"] < 0 and nnt["interval"].startswith("NNTH")


def test_rate_ratio_times_baseline_with_delta_method():
    rel = pd.Series({"term": "ATT", "estimate": 0.8, "std_error": 0.8 * 0.1, "scale": "relative",
                     "measure": "rate ratio"})
    t = _cons(rel, baseline_rate=300.0, baseline_se=15.0).to_frame().set_index("term")
    a = t.loc["events_avoided_per_1000_per_year"]
    assert a["estimate"] == pytest.approx(300 * 0.2)
    assert a["std_error"] == pytest.approx(np.hypot(300 * 0.8 * 0.1, 0.2 * 15.0))
    with pytest.raises(InputError, match="relative"):
        _cons(_row(), baseline_rate=300.0)  # an absolute row cannot be multiplied by a baseline


def test_did2x2_poisson_result_is_read_with_its_unit():
    rng = np.random.default_rng(4)
    n = 1500
    tr = np.repeat(rng.random(n) < 0.5, 2).astype(int)
    post = np.tile([0, 1], n)
    years = np.full(2 * n, 0.5)
    y = rng.poisson(years * 0.4 * np.exp(0.1 * post + 0.2 * tr - 0.3 * tr * post))
    p = pd.DataFrame({"unit": np.repeat(np.arange(n), 2), "post": post, "treated": tr, "y": y, "years": years})
    fit = did.did2x2(p, "y", "treated", "unit", "post", model="poisson", exposure="years", exposure_unit="year")
    ab = fit.to_frame().set_index("scale").loc["absolute"]
    t = _cons(fit).to_frame().set_index("term")
    assert t.loc["events_avoided_per_1000_per_year", "estimate"] == pytest.approx(-ab["estimate"])
    assert t.loc["events_avoided_per_1000_per_year", "std_error"] == pytest.approx(ab["std_error"])
    assert "per 1,000 person-years" in t.loc["events_avoided_per_1000_per_year", "effect_measure"]


def test_effect_unit_stated_for_a_linear_count_per_person_quarter():
    # -0.02 admissions per person-quarter = 80 fewer per 1,000 person-years
    row = _row(-0.02, 0.005, measure="difference in mean admissions")
    with pytest.raises(InputError, match="cannot tell the unit"):
        _cons(row)
    t = _cons(row, effect_unit="per person-quarter").to_frame().set_index("term")
    assert t.loc["events_avoided_per_1000_per_year", "estimate"] == pytest.approx(80.0)
    assert t.loc["events_avoided_per_1000_per_year", "std_error"] == pytest.approx(20.0)


def test_person_time_without_a_unit_is_refused_and_contradictions_too():
    row = _row(-50.0, 20.0, measure="rate difference per 1,000 person-time")
    with pytest.raises(InputError, match="person-time in what unit"):
        _cons(row)
    t = _cons(row, effect_unit="per 1,000 person-months").to_frame().set_index("term")
    assert t.loc["events_avoided_per_1000_per_year", "estimate"] == pytest.approx(50.0 * 12)
    with pytest.raises(InputError, match="contradicts"):
        _cons(_row(), effect_unit="per 1,000 person-months")
    with pytest.raises(InputError, match="not a unit"):
        _cons(row, effect_unit="per 1,000 people")


def test_a_result_without_usable_uncertainty_is_refused():
    with pytest.raises(InputError, match="standard error"):
        _cons(_row(-50.0, np.nan))
    with pytest.raises(InputError, match="pceval result"):
        _cons(effect=-50.0)


def test_subgroups_overall_adds_up_the_levels():
    rows = {q: _row(-10.0 * q, 5.0 + q) for q in range(1, 6)}
    pop = pd.Series([1000.0, 2000, 3000, 2000, 1000], index=range(1, 6))
    t = _cons(rows, population=pop).to_frame()
    assert set(t["subgroup"].astype(str)) == {"1", "2", "3", "4", "5", "overall"}
    a = t.query("term == 'events_avoided_per_1000_per_year'").set_index("subgroup")
    w = pop / pop.sum()
    assert a.loc["overall", "estimate"] == pytest.approx(float((w * 10.0 * pop.index).sum()))
    assert a.loc["overall", "std_error"] == pytest.approx(
        float(np.sqrt(((w * (5.0 + pop.index)) ** 2).sum())))
    e = t.query("term == 'events_avoided_per_year'").set_index("subgroup")
    assert e.loc["overall", "estimate"] == pytest.approx(e.drop("overall")["estimate"].sum())
    with pytest.raises(InputError, match="missing"):
        _cons(rows, population=pop.iloc[:4])
    with pytest.raises(InputError, match="by subgroup"):
        _cons(_row(), population=pop)


def test_effects_by_result_gives_rows_per_quintile():
    rng = np.random.default_rng(8)
    n = 3000
    q = np.repeat(rng.integers(1, 6, n), 2)
    tr = np.repeat(rng.random(n) < 0.5, 2).astype(int)
    post = np.tile([0, 1], n)
    y = rng.poisson(0.5 * np.exp(0.1 * post + 0.2 * tr - 0.3 * tr * post))
    p = pd.DataFrame({"unit": np.repeat(np.arange(n), 2), "post": post, "treated": tr, "y": y,
                      "years": 1.0, "imd_quintile": q})
    byq = did.effects_by(p, "imd_quintile", did.did2x2, outcome="y", treatment="treated", post="post",
                         unit="unit", model="poisson", exposure="years", exposure_unit="year")
    pop = p.drop_duplicates("unit").groupby("imd_quintile").size()
    cons = _cons(byq, population=pop)
    a = cons.to_frame().query("term == 'events_avoided_per_1000_per_year'")
    assert list(a["subgroup"].astype(str)) == ["1", "2", "3", "4", "5", "overall"]
    assert (a["by"] == "imd_quintile").all()
    assert "In imd_quintile 1" in cons.bottom_line(subgroup=1)


def test_draws_agree_with_the_delta_method_for_a_difference():
    d, m = _cons(), _cons(method="draws", n_draws=200_000, seed=3)
    fd, fm = d.to_frame().set_index("term"), m.to_frame().set_index("term")
    for term in ("events_avoided_per_1000_per_year", "net_cost_per_person", "roi"):
        assert fm.loc[term, "ci_lower"] == pytest.approx(fd.loc[term, "ci_lower"], abs=0.02 * fd.loc[term, "std_error"])
        assert fm.loc[term, "ci_upper"] == pytest.approx(fd.loc[term, "ci_upper"], abs=0.02 * fd.loc[term, "std_error"])
    assert fm.loc["roi", "method"].startswith("200,000 draws")
    assert fd.loc["roi", "method"] == "delta method"
    assert fd.loc["break_even_effect_per_1000", "method"] == "fixed input"


def test_draws_are_reproducible_with_the_seed():
    a = _cons(method="draws", n_draws=1000, seed=5).to_frame()
    b = _cons(method="draws", n_draws=1000, seed=5).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_bottom_line_words_follow_the_interval():
    sure = _cons(_row(-50.0, 10.0)).bottom_line()
    assert sure.startswith("Between 30 and 70 fewer emergency admissions per 1,000 people a year")
    assert "pays for itself if it avoids at least 75 emergency admissions" in sure
    assert "illustrative, not NHS figures" in sure
    almost_none = _cons(_row(-45.0, 22.0)).bottom_line()
    assert "it could be almost none" in almost_none.splitlines()[0]
    unsure = _cons(_row(-50.0, 40.0)).bottom_line()
    assert unsure.startswith("Anywhere from 128 fewer to 28 more emergency admissions")
    assert "may or may not pay for itself" in unsure
    harm = _cons(_row(50.0, 10.0)).bottom_line()
    assert harm.startswith("Between 30 and 70 more emergency admissions")
    assert "costs more than it saves" in harm


def test_result_protocol_and_verdict():
    cons = _cons()
    assert isinstance(cons, Consequences)
    assert cons.headline["term"] == "events_avoided_per_1000_per_year"
    assert cons.verdict() == "higher"                      # events avoided: the interval is above 0
    assert _cons(_row(-50.0, 40.0)).verdict() == "no evidence either way"
    assert "Costs and consequences" in cons.summary()


# --- the unit cost table ---------------------------------------------------------------------------

def _table(**drop):
    tab = pd.DataFrame({"activity": ["emergency_admission", "gp_appointment"], "unit_cost": [2500.0, 45.0],
                        "currency_year": ["2022/23", "2022-23"], "source": ["finance team, 2023"] * 2})
    return tab.drop(columns=list(drop))


def test_a_cost_table_without_currency_year_is_refused():
    with pytest.raises(InputError, match="currency_year"):
        UnitCosts(_table(currency_year=True), version="v1")
    bad = _table().assign(currency_year=["2022/23", None])
    with pytest.raises(InputError, match="missing"):
        UnitCosts(bad, version="v1")
    with pytest.raises(InputError, match="calendar year is ambiguous"):
        UnitCosts(_table().assign(currency_year=[2023, 2023]), version="v1")
    with pytest.raises(InputError, match="source"):
        UnitCosts(_table(source=True), version="v1")


def test_cost_table_is_normalised_and_cited():
    tab = _table()
    uc = UnitCosts(tab, version="ICB 2023")
    assert list(uc.table["currency_year"]) == ["2022/23", "2022/23"]
    assert list(tab["currency_year"]) == ["2022/23", "2022-23"]        # the caller's frame is unchanged
    assert "ICB 2023" in uc.citation and "finance team, 2023" in uc.citation
    assert uc.to_frame()["version"].eq("ICB 2023").all()


def test_unknown_activity_suggests_the_nearest_name():
    uc = UnitCosts(_table(), version="v1")
    with pytest.raises(InputError, match="did you mean 'emergency_admission'"):
        uc.row("emergency_admissions")
    with pytest.raises(InputError, match="did you mean 'gp_appointment'"):
        _cons(activity="GP appointment", unit_costs=uc)


def test_inflation_uses_the_cited_index():
    idx = CostIndex({"2022/23": 109.0, "2023/24": 114.0}, name="test index", citation="a test, table 1, 2024")
    uc = UnitCosts(_table(), version="v1").inflate("2023/24", index=idx)
    assert uc.cost("emergency_admission") == pytest.approx(2500.0 * 114.0 / 109.0)
    assert set(uc.table["currency_year"]) == {"2023/24"}
    assert "test index" in uc.citation and "a test, table 1, 2024" in uc.citation
    with pytest.raises(InputError, match="citation"):
        CostIndex({"2022/23": 1.0}, name="x", citation="")
    with pytest.raises(InputError, match="cited price index"):
        UnitCosts(_table(), version="v1").inflate("2023/24")
    with pytest.raises(InputError, match="no value for 2019/20"):
        UnitCosts(_table(), version="v1").inflate("2019/20", index=idx)
    ex = example_unit_costs().inflate("2024/25", index=example_cost_index())
    assert ex.cost("emergency_admission") == pytest.approx(2000.0 * 118 / 114)


def test_intervention_cost_in_another_price_year_is_refused():
    with pytest.raises(InputError, match="inflate"):
        _cons(currency_year="2021/22")
    _cons(currency_year="2023-24")  # the table's own year, in another spelling


def test_example_table_is_labelled_illustrative():
    ex = example_unit_costs()
    assert ex.label == "illustrative, not NHS figures"
    assert "illustrative, not NHS figures" in ex.citation
    assert (ex.table["source"].str.contains("illustrative")).all()


def test_default_unit_costs_are_cited_indicative_and_in_one_price_year():
    uc = default_unit_costs()
    assert uc.label == "indicative"
    assert set(uc.activities) == {"emergency_admission", "ae_attendance", "outpatient_attendance",
                                  "gp_appointment"}
    assert set(uc.table["currency_year"]) == {"2023/24"}
    assert "2023/24" in uc.citation and "indicative" in uc.citation
    assert "National Cost Collection 2023/24" in uc.citation and "Table 9.4.2" in uc.citation
    src = uc.table.set_index("activity")["source"]
    assert src[["emergency_admission", "ae_attendance", "outpatient_attendance"]].str.contains(
        "National Schedule of NHS Costs").all()
    assert "Table 9.4.2" in src["gp_appointment"] and "Unit Costs of Health and Social Care 2024" in src["gp_appointment"]
    assert uc.table["notes"].str.contains("github.com/NICE-Data-and-Analytics/COSTmos").all()
    # consequences() uses it when no table is passed
    assert _cons(unit_costs=None).unit_costs.label == "indicative"


def test_national_schedule_extract_is_the_rows_it_says():
    ncc = ncc_extract()
    counts = ncc["Service Code"].value_counts().to_dict()
    assert counts == {"Non-Elective Inpatient - Short Stay": 2203, "Non-Elective Inpatient - Long Stay": 2192,
                      "Emergency Care": 12, "Consultant Led": 8, "Non Consultant Led": 8}
    # each published row's total cost is its activity x national average unit cost
    rel = (ncc["Activity"] * ncc["Unit cost"] - ncc["Cost"]).abs() / ncc["Cost"]
    assert rel.max() < 1e-3
    assert not ncc.duplicated(["Service Code", "Dept or Currency Code"]).any()


def _weighted(ncc, services, prefix=""):
    sel = ncc[ncc["Service Code"].isin(services) & ncc["Dept or Currency Code"].str.startswith(prefix)]
    return float(np.average(sel["Unit cost"], weights=sel["Activity"]))


def test_default_costs_are_the_activity_weighted_schedule_rows():
    ncc, uc = ncc_extract(), default_unit_costs()
    nel = ["Non-Elective Inpatient - Long Stay", "Non-Elective Inpatient - Short Stay"]
    assert uc.cost("emergency_admission") == pytest.approx(_weighted(ncc, nel), rel=1e-12)
    assert uc.cost("ae_attendance") == pytest.approx(_weighted(ncc, ["Emergency Care"], "VB"), rel=1e-12)
    assert uc.cost("outpatient_attendance") == pytest.approx(
        _weighted(ncc, ["Consultant Led", "Non Consultant Led"], "WF"), rel=1e-12)
    assert uc.cost("gp_appointment") == 45.0
    # the same averages computed as total cost / total activity
    sel = ncc[ncc["Service Code"].isin(nel)]
    assert uc.cost("emergency_admission") == pytest.approx(sel["Cost"].sum() / sel["Activity"].sum(), rel=1e-6)
    # a weighted mean lies between the long-stay and short-stay means
    assert _weighted(ncc, nel[1:]) < uc.cost("emergency_admission") < _weighted(ncc, nel[:1])
    with pytest.raises(InputError, match="select no row"):
        ncc_weighted_average(ncc, {"Emergency Care": "XX"})


def test_schedule_averages_agree_with_the_pssru_manual_quoting_the_same_collection():
    """PSSRU Unit Costs 2024, Table 6.1.1, quotes the NCC 2023/24 averages (rounded to the pound): an
    independent check that the extract is the 2023/24 schedule."""
    ncc = ncc_extract()
    pssru = pssru_extract().set_index("row")["value"]
    assert round(_weighted(ncc, ["Emergency Care"])) == pssru["Emergency care"] == 273
    assert round(_weighted(ncc, ["Consultant Led"], "WF")) == pssru["Consultant Led"] == 198
    assert _weighted(ncc, ["Non Consultant Led"], "WF") == pytest.approx(pssru["Non Consultant Led"], rel=0.01)
    assert _weighted(ncc, ["Non-Elective Inpatient - Long Stay"]) == pytest.approx(
        pssru["Non-elective inpatient stays (long stays)"], rel=0.005)
    assert _weighted(ncc, ["Non-Elective Inpatient - Short Stay"]) == pytest.approx(
        pssru["Non-elective inpatient stays (short stays)"], rel=0.005)


def test_nhs_cost_inflation_index_chains_the_published_increases():
    idx = nhs_cost_inflation_index()
    assert idx.values["2014/15"] == 100.0
    assert idx.factor("2022/23", "2023/24") == pytest.approx(1.0431)
    assert idx.factor("2021/22", "2023/24") == pytest.approx(1.0732 * 1.0431)
    assert nhs_cost_inflation_index("pay").factor("2019/20", "2020/21") == pytest.approx(1.0341)
    assert "Table 12.1.1" in idx.citation and "Unit Costs of Health and Social Care 2024" in idx.citation
    back = default_unit_costs().inflate("2021/22", index=idx)
    assert back.cost("gp_appointment") == pytest.approx(45.0 / (1.0732 * 1.0431))
    assert "NHSCII" in back.citation
    with pytest.raises(InputError, match="did you mean 'pay'"):
        nhs_cost_inflation_index("payy")
    with pytest.raises(InputError, match="no value for 2024/25"):
        default_unit_costs().inflate("2024/25", index=idx)


def test_costs_is_a_lazy_public_submodule():
    assert "costs" in pceval.__all__
    assert pceval.costs.consequences is consequences


# --- the mistakes people make -------------------------------------------------------------------

def test_results_that_are_not_effects_are_refused():
    from pceval import inequality as ineq

    eq_in = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "estimate": [-30.0, -25, -20, -15, -10],
                          "std_error": [3.0] * 5, "uptake": [0.12, 0.10, 0.09, 0.08, 0.06],
                          "population": [9000.0, 10000, 11000, 10500, 9500],
                          "baseline": [310.0, 270, 230, 200, 160]})
    eq = ineq.equity_of_effect(eq_in, n_boot=200)
    with pytest.raises(InputError, match="EquityOfEffect"):
        _cons(eq, effect_unit="per 1,000 person-years")
    # the Q1 - Q5 difference of effects_by is a contrast: its "consequences" are nobody's
    diff = _row().copy()
    diff["term"] = "imd_quintile 1 - 5"
    with pytest.raises(InputError, match="contrast"):
        _cons(diff)


def test_estimate_effect_with_person_time_needs_its_unit():
    rng = np.random.default_rng(3)
    n = 4000
    t = (rng.random(n) < 0.5).astype(int)
    months = rng.uniform(6, 12, n)
    y = rng.poisson(months / 12 * 0.3 * np.exp(-0.3 * t))
    df = pd.DataFrame({"t": t, "y": y, "months": months, "x": rng.normal(size=n)})
    eff = pceval.estimate_effect(df, "y", treatment="t", covariates=["x"], model="poisson",
                                 exposure="months", weights=None, cluster=None)
    with pytest.raises(InputError, match="effect_unit"):
        _cons(eff)
    ab = eff.to_frame().set_index("scale").loc["absolute"]
    t_ = _cons(eff, effect_unit="per 1,000 person-months").to_frame().set_index("term")
    assert t_.loc["events_avoided_per_1000_per_year", "estimate"] == pytest.approx(-12 * ab["estimate"])
    assert t_.loc["events_avoided_per_1000_per_year", "std_error"] == pytest.approx(12 * ab["std_error"])


def test_a_staggered_did_on_mean_counts_needs_its_unit():
    rng = np.random.default_rng(5)
    n = 400
    g = rng.choice([0, 3, 4], n)
    rows = [pd.DataFrame({"unit": np.arange(n), "t": t, "g": g,
                          "y": rng.poisson(0.1 * np.where((g > 0) & (t >= g), 0.7, 1.0))})
            for t in range(1, 6)]
    res = did.att_gt(pd.concat(rows, ignore_index=True), outcome="y", unit="unit", time="t", group="g",
                     n_boot=0)
    agg = res.aggregate("simple")
    with pytest.raises(InputError, match="cannot tell the unit"):
        _cons(agg)
    t_ = _cons(agg, effect_unit="per person-quarter").to_frame().set_index("term")
    assert t_.loc["events_avoided_per_1000_per_year", "estimate"] == pytest.approx(
        -4000 * agg.headline["estimate"])


@pytest.mark.parametrize("kw, match", [
    ({"population": 0}, "population"), ({"population": -5}, "population"),
    ({"population": "10000"}, "population"), ({"method": "bootstrap"}, "method"),
    ({"n_draws": 10}, "n_draws"), ({"years": 0}, "years"), ({"intervention_cost": -1}, "intervention_cost"),
    ({"confidence": 95}, "confidence"), ({"unit_costs": pd.DataFrame()}, "UnitCosts"),
    ({"length_of_stay": -1}, "length_of_stay"), ({"baseline_se": 5.0}, "baseline_se"),
])
def test_bad_arguments_name_themselves(kw, match):
    with pytest.raises(InputError, match=match):
        _cons(**kw)


def test_bed_days_are_missing_not_zero_without_a_length_of_stay():
    uc = UnitCosts(_table(), version="v1")                      # no mean_length_of_stay column
    t = _cons(unit_costs=uc, currency_year="2022/23").to_frame().set_index("term")
    assert np.isnan(t.loc["bed_days_avoided", "estimate"])
    assert "not available" in t.loc["bed_days_avoided", "measure"]
    t2 = _cons(unit_costs=uc, length_of_stay=5.0).to_frame().set_index("term")
    assert t2.loc["bed_days_avoided", "estimate"] == pytest.approx(500.0 * 5)


def test_the_callers_effect_row_is_not_changed():
    row = _row()
    before = row.copy()
    _cons(row)
    pd.testing.assert_series_equal(row, before)


def test_plot_labels_imd_quintiles_and_shows_the_truth():
    from plotnine import ggplot

    rows = {q: _row(-10.0 * q, 5.0 + q) for q in range(1, 6)}
    cons = _cons(rows, population={q: 1000 for q in range(1, 6)})
    object.__setattr__(cons, "settings", {**cons.settings, "by": "imd_quintile"})
    p = cons.plot(truth={1: 10.0, "overall": 30.0})
    assert isinstance(p, ggplot)
    labels = list(p.data["label"].cat.categories)
    assert "1 (most deprived)" in labels and "5 (least deprived)" in labels and "overall" in labels
    assert "per 1,000 people a year" in str(p.labels.y)
    p.draw()  # renders without error


def test_table_for_report_is_readable():
    tab = _cons(_row(-50.0, 40.0), population=2_000_000).table_for_report()
    assert list(tab.columns) == ["what", "estimate", "interval", "unit"]
    text = tab.to_string()
    assert "e+" not in text and "e-" not in text
    nnt = tab.set_index("what").loc["People treated per one avoided (NNT)"]
    assert "infinity" in nnt["interval"]
    cost = tab.set_index("what").loc["Cost of the emergency admissions avoided a year"]
    assert cost["estimate"] == "£200,000,000"
    with pytest.raises(InputError, match="subgroup"):
        _cons().table_for_report(subgroup=3)


def test_bottom_line_protects_the_count_of_people():
    text = _cons(population=2282).bottom_line()
    assert "For the 2,280 people evaluated" in text
    assert "For the 7 or fewer people" in _cons(population=5).bottom_line()


def test_without_an_intervention_cost_the_cost_side_is_missing_not_free():
    cons = _cons(intervention_cost=None)
    t = cons.to_frame().set_index("term")
    for term in ("intervention_cost_per_person", "net_cost_per_person", "break_even_effect_per_1000", "roi"):
        assert np.isnan(t.loc[term, "estimate"]), term
    assert t.loc["cost_of_events_avoided", "estimate"] == pytest.approx(1_000_000.0)
    assert "No intervention cost was given" in cons.bottom_line()
    cons.plot()
    assert "not available" in cons.table_for_report().to_string()


@pytest.mark.parametrize("method", ["delta", "draws"])
def test_intervention_cost_by_subgroup(method):
    rows = {q: _row(-50.0, 20.0) for q in (1, 2)}
    pop = {1: 1000.0, 2: 3000.0}
    cons = _cons(rows, population=pop, intervention_cost={1: 200.0, 2: 0.0}, method=method, n_draws=2000)
    t = cons.to_frame()
    net = t.query("term == 'net_cost_per_person'").set_index(t.query("term == 'net_cost_per_person'")["subgroup"].astype(str))
    assert net.loc["1", "estimate"] == pytest.approx(200.0 - 100.0)
    assert net.loc["2", "estimate"] == pytest.approx(0.0 - 100.0)
    assert net.loc["overall", "estimate"] == pytest.approx((1000 * 100.0 + 3000 * -100.0) / 4000)
    roi = t.query("term == 'roi'").set_index(t.query("term == 'roi'")["subgroup"].astype(str))
    assert np.isnan(roi.loc["2", "estimate"]) and np.isnan(roi.loc["2", "p_value"])  # free: no ROI
    assert roi.loc["overall", "estimate"] == pytest.approx((100.0 * 4000 - 200_000) / 200_000)
    with pytest.raises(InputError, match="intervention_cost"):
        _cons(rows, population=pop, intervention_cost={1: 200.0})
    with pytest.raises(InputError, match="single effect"):
        _cons(intervention_cost={1: 200.0})


def test_length_of_stay_in_the_table_must_be_a_number():
    with pytest.raises(InputError, match="mean_length_of_stay"):
        UnitCosts(_table().assign(mean_length_of_stay=["4 days", None]), version="v1")
    with pytest.raises(InputError, match="mean_length_of_stay"):
        UnitCosts(_table().assign(mean_length_of_stay=[-1.0, None]), version="v1")
    uc = UnitCosts(_table().assign(mean_length_of_stay=[4.5, None]), version="v1")
    assert uc.row("emergency_admission")["mean_length_of_stay"] == 4.5
