"""equity_of_effect and uptake_equity: known answers, CI coverage by simulation, bad input; plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from pceval import inequality as ineq
from pceval.errors import InputError

POP = np.array([9000.0, 10000, 11000, 10500, 9500])
SHARE = POP / POP.sum()
RIDIT = np.cumsum(SHARE) - SHARE / 2
UPTAKE = np.array([0.12, 0.10, 0.09, 0.08, 0.06])
BASE = np.array([310.0, 270, 230, 200, 160])  # e.g. admissions per 1,000 a year; higher = worse


def _frame(effects, se, baseline=BASE, **extra):
    return pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "estimate": effects, "std_error": se,
                         "uptake": UPTAKE, "population": POP, "baseline": baseline, **extra})


def _wls_slope(y):
    return np.polyfit(RIDIT, y, 1, w=np.sqrt(SHARE))[0]


def test_known_linear_effects_are_recovered():
    a, b = -50.0, 50.0  # effect -50 at the most deprived end, 0 at the least deprived end
    truth = a + b * RIDIT
    res = ineq.equity_of_effect(_frame(truth, 1e-3), n_boot=2000)
    t = res.contrasts.set_index("term")
    assert t.loc["effect gradient (most - least deprived end)", "estimate"] == pytest.approx(-b, rel=1e-12)
    assert t.loc["effect difference Q1 - Q5", "estimate"] == pytest.approx(b * (RIDIT[0] - RIDIT[4]), rel=1e-12)
    assert t.loc["heterogeneity across quintiles (Cochran's Q)", "p_value"] < 1e-6
    # SII (positive = worse for the most deprived) = -(slope of the WLS line on ridits)
    assert t.loc["SII before", "estimate"] == pytest.approx(-_wls_slope(BASE), rel=1e-12)
    change = -_wls_slope(UPTAKE * truth)
    assert t.loc["SII change", "estimate"] == pytest.approx(change, rel=1e-12)
    assert t.loc["SII after", "estimate"] == pytest.approx(-_wls_slope(BASE + UPTAKE * truth), rel=1e-12)
    assert res.verdicts.verdict[0] == "narrowed"
    assert res.verdict_text.startswith("Narrowed")
    byq = res.by_quintile
    np.testing.assert_allclose(byq.fitted_effect, truth, rtol=0, atol=1e-12)
    np.testing.assert_allclose(byq.with_intervention, BASE + UPTAKE * truth, rtol=1e-12)


def test_ratio_scale_uses_baseline_times_uptake():
    rr = np.array([0.8, 0.85, 0.9, 0.95, 1.0])
    res = ineq.equity_of_effect(_frame(rr, 0.02 * rr), scale="relative", n_boot=2000)  # SE of the ratio
    t = res.contrasts.set_index("term")
    dy = UPTAKE * BASE * (rr - 1)
    assert t.loc["SII change", "estimate"] == pytest.approx(-_wls_slope(dy), rel=1e-12)
    assert t.loc["effect ratio Q1 / Q5", "estimate"] == pytest.approx(0.8, rel=1e-12)
    treated_base = BASE * 1.5  # the treated are sicker than their quintile
    res2 = ineq.equity_of_effect(_frame(rr, 0.02 * rr, tb=treated_base), scale="relative", n_boot=2000,
                                 treated_baseline="tb")
    t2 = res2.contrasts.set_index("term")
    assert t2.loc["SII change", "estimate"] == pytest.approx(1.5 * t.loc["SII change", "estimate"], rel=1e-12)


def test_verdicts_and_polarity():
    widen = ineq.equity_of_effect(_frame(np.array([0.0, -10, -20, -30, -40]), 2.0), n_boot=2000)
    assert widen.verdicts.verdict[0] == "widened"
    unclear = ineq.equity_of_effect(_frame(np.array([-12.0, -10, -9, -9, -8]), 40.0), n_boot=2000)
    assert unclear.verdicts.verdict[0] == "no evidence either way"
    assert unclear.verdict_text.startswith("No evidence either way")
    # an outcome where higher is better (e.g. % with controlled blood pressure)
    good = ineq.equity_of_effect(_frame(np.array([20.0, 15, 10, 5, 0]), 1.0,
                                        baseline=np.array([50.0, 55, 60, 65, 70])),
                                 outcome_higher_is="better", n_boot=2000)
    t = good.contrasts.set_index("term")
    assert t.loc["SII before", "estimate"] > 0  # the most deprived are worse off
    assert good.verdicts.verdict[0] == "narrowed"


def test_ci_coverage_by_simulation():
    """Effects and baselines drawn around known truths, 800 replications run as 800 groups."""
    rng = np.random.default_rng(2024)
    n_rep = 800
    truth = -40 + 45 * RIDIT
    se = np.array([6.0, 5, 5, 4, 4])
    base_se = np.array([8.0, 7, 7, 6, 6])
    est = truth + se * rng.standard_normal((n_rep, 5))
    base = BASE + base_se * rng.standard_normal((n_rep, 5))
    frame = pd.DataFrame({
        "rep": np.repeat(np.arange(n_rep), 5), "imd_quintile": np.tile([1, 2, 3, 4, 5], n_rep),
        "estimate": est.ravel(), "std_error": np.tile(se, n_rep), "uptake": np.tile(UPTAKE, n_rep),
        "population": np.tile(POP, n_rep), "baseline": base.ravel(), "baseline_se": np.tile(base_se, n_rep)})
    res = ineq.equity_of_effect(frame, baseline_se="baseline_se", by="rep", n_boot=1000, seed=9)
    c = res.contrasts
    true_vals = {
        "effect difference Q1 - Q5": truth[0] - truth[4],
        "effect gradient (most - least deprived end)": -45.0,
        "SII change": -_wls_slope(UPTAKE * truth),
        "SII after": -_wls_slope(BASE + UPTAKE * truth),
        "SII before": -_wls_slope(BASE),
    }
    for term, value in true_vals.items():
        sub = c[c.term == term]
        coverage = ((sub.ci_lower <= value) & (value <= sub.ci_upper)).mean()
        assert 0.925 <= coverage <= 0.975, (term, coverage)
    # bias near zero
    sub = c[c.term == "SII change"]
    assert abs(sub.estimate.mean() - true_vals["SII change"]) < 3 * sub.estimate.std() / np.sqrt(n_rep)


def test_inputs_from_two_tables_and_treated_counts():
    eff = _frame(np.array([-30.0, -25, -20, -15, -10]), 3.0)
    pop_tab = eff[["imd_quintile", "uptake", "population", "baseline"]].assign(
        treated=lambda t: t.uptake * t.population)
    a = ineq.equity_of_effect(eff, n_boot=1000)
    b = ineq.equity_of_effect(eff[["imd_quintile", "estimate", "std_error"]],
                              context=pop_tab.drop(columns="uptake"), uptake=None, n_treated="treated",
                              n_boot=1000)
    pd.testing.assert_frame_equal(a.contrasts, b.contrasts)
    limits = eff.assign(lo=eff.estimate - 1.959964 * 3, hi=eff.estimate + 1.959964 * 3)
    c = ineq.equity_of_effect(limits.drop(columns="std_error"), std_error=None, lower="lo", upper="hi",
                              n_boot=1000)
    np.testing.assert_allclose(c.by_quintile.std_error, 3.0, rtol=1e-6)
    frame = a.to_frame()
    assert {"term", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "verdict",
            "imd_edition", "method"} <= set(frame.columns)
    assert "Verdict" in a.summary()


@pytest.mark.parametrize("change, msg", [
    (dict(uptake=[1.2, 0.1, 0.1, 0.1, 0.1]), "between 0 and 1"),
    (dict(std_error=[0.0, 1, 1, 1, 1]), "must be > 0"),
    (dict(population=[0, 1, 1, 1, 1]), "'population' must be > 0"),
    (dict(imd_quintile=[1, 1, 3, 4, 5]), "must be unique"),
])
def test_equity_bad_input(change, msg):
    eff = _frame(np.array([-30.0, -25, -20, -15, -10]), 3.0).assign(**change)
    with pytest.raises(InputError, match=msg):
        ineq.equity_of_effect(eff, n_boot=1000)


def test_equity_missing_quintile_and_arguments():
    eff = _frame(np.array([-30.0, -25, -20, -15, -10]), 3.0)
    two = pd.concat([eff.assign(g="a"), eff.iloc[:4].assign(g="b")])
    with pytest.raises(InputError, match="needs all 5 quintiles"):
        ineq.equity_of_effect(two, by="g", n_boot=1000)
    with pytest.raises(InputError, match="exactly one of `uptake`"):
        ineq.equity_of_effect(eff, n_treated="uptake", n_boot=1000)
    with pytest.raises(InputError, match="scale"):
        ineq.equity_of_effect(eff, scale="log", n_boot=1000)
    with pytest.raises(InputError, match="imd_edition"):
        ineq.equity_of_effect(eff, imd_edition=2004, n_boot=1000)


# ---- uptake equity ----------------------------------------------------------------------------

def test_uptake_equity_inverse_care_law():
    agg = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "treated": [50, 60, 70, 80, 90],
                        "eligible": [1000] * 5, "need": [300, 250, 200, 150, 100]})
    res = ineq.uptake_equity(agg, eligible="eligible", need="need")
    assert res.verdicts.verdict[0] == "lower uptake in the most deprived"
    assert "inverse care law" in res.verdict_text
    imd = res.uptake[res.uptake.dimension == "imd"]
    np.testing.assert_allclose(imd.uptake, [0.05, 0.06, 0.07, 0.08, 0.09])
    np.testing.assert_allclose(imd.ratio_to_overall, imd.uptake / 0.07)
    np.testing.assert_allclose(imd.uptake_to_need, (imd.treated / 350) / (imd.need / 1000))
    conc = res.concentration.set_index(["measure", "kind"])["index"]
    assert conc[("uptake", "standard")] > 0 > conc[("need", "standard")]
    # the same people, one row each
    people = agg.loc[agg.index.repeat(agg.eligible)].reset_index(drop=True)
    people["treated"] = np.concatenate([np.r_[np.ones(t), np.zeros(1000 - t)] for t in agg.treated])
    res2 = ineq.uptake_equity(people.drop(columns=["eligible", "need"]))
    np.testing.assert_allclose(res2.uptake.uptake, imd.uptake)
    np.testing.assert_allclose(res2.gap.estimate, res.gap.estimate)


def _people(uptake_by_quintile, n=800):
    """n people per quintile; half aged 65+ (uptake 1.5 times the quintile's) and half 18-64 (0.5
    times), sexes alternating within each age band, so uptake by age and sex is known exactly."""
    parts = []
    for q, u in enumerate(uptake_by_quintile, start=1):
        half = n // 2
        old = np.r_[np.ones(round(1.5 * u * half)), np.zeros(half - round(1.5 * u * half))]
        young = np.r_[np.ones(round(0.5 * u * half)), np.zeros(half - round(0.5 * u * half))]
        parts.append(pd.DataFrame({"imd_quintile": q, "age_band": ["65+"] * half + ["18-64"] * half,
                                   "sex": ["F", "M"] * half, "treated": np.r_[old, young].astype(int)}))
    return pd.concat(parts, ignore_index=True)


def test_uptake_equity_age_sex_and_bad_input():
    people = _people([0.2] * 5)  # the same uptake in every quintile: no difference to find
    res = ineq.uptake_equity(people, age="age_band", sex="sex")
    assert set(res.uptake.dimension) == {"imd", "age", "sex"}
    assert res.verdicts.verdict[0] == "no evidence of a difference"
    rel = res.gap[res.gap.measure == "relative gap"].iloc[0]
    assert rel.estimate == pytest.approx(1.0, rel=1e-12) and rel.lower < 1 < rel.upper
    np.testing.assert_allclose(res.uptake.loc[res.uptake.dimension == "imd", "uptake"], 0.2, rtol=1e-12)
    age = res.uptake[res.uptake.dimension == "age"]
    np.testing.assert_allclose(sorted(age.uptake), [0.1, 0.3], rtol=1e-12)
    np.testing.assert_allclose(res.uptake.loc[res.uptake.dimension == "sex", "uptake"], 0.2, rtol=1e-12)
    # four times the uptake in the most deprived quintile: the opposite of the inverse care law
    pro = ineq.uptake_equity(_people([0.4, 0.3, 0.2, 0.15, 0.1]), age="age_band", sex="sex")
    assert pro.verdicts.verdict[0] == "higher uptake in the most deprived"
    assert "inverse care law" not in pro.verdicts.text[0]
    rel = pro.gap[pro.gap.measure == "relative gap"].iloc[0]
    assert rel.estimate == pytest.approx(4.0, rel=1e-12) and rel.lower > 1
    with pytest.raises(InputError, match="0/1"):
        ineq.uptake_equity(people.assign(treated=2))
    with pytest.raises(InputError, match="imd_quintile"):
        ineq.uptake_equity(people.assign(imd_quintile=0.5))


# ---- plots ------------------------------------------------------------------------------------

def test_plots_draw():
    d = pd.DataFrame({"quintile": [1, 2, 3, 4, 5] * 2, "year": [2022] * 5 + [2023] * 5,
                      "pop": [1000.0] * 10, "rate": [300.0, 260, 230, 200, 170, 290, 255, 228, 201, 175]})
    d["lcl"], d["ucl"] = d.rate * 0.9, d.rate * 1.1
    figs = [ineq.plot_sii(d, quantile="quintile", value="rate", population="pop", lower="lcl", upper="ucl", by="year",
                          value_type="rate", transform=True)]
    s = ineq.sii(d, quantile="quintile", value="rate", population="pop", lower="lcl", upper="ucl",
                 by="year", n_boot=1000)
    figs.append(ineq.plot_gap_over_time(s, "year", estimate="sii", lower="sii_lower", upper="sii_upper"))
    g = ineq.quintile_gap(d, quantile="quintile", value="rate", lower="lcl", upper="ucl", measure="value",
                          by="year")
    figs.append(ineq.plot_gap_over_time(g, "year"))
    res = ineq.equity_of_effect(_frame(np.array([-30.0, -25, -20, -15, -10]), 3.0), n_boot=1000)
    figs += [res.plot(), res.plot("outcome")]
    up = ineq.uptake_equity(pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "treated": [5, 6, 7, 8, 9],
                                          "eligible": [100] * 5}), eligible="eligible")
    figs.append(up.plot())
    for p in figs:
        fig = p.draw()
        assert fig is not None
        plt.close(fig)
