"""pceval.inequality measures: closed forms, conventions and bad input (no reference data needed)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pceval import inequality as ineq
from pceval.errors import InputError, PcevalWarning
from pceval.inequality import _ci

BANDS19 = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
           "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"]


# ---- confidence-interval building blocks --------------------------------------------------------

def test_exact_poisson_limits_for_zero_and_small_counts():
    assert _ci.exact_lower(0) == 0
    assert _ci.exact_upper(0) == pytest.approx(-np.log(0.025), rel=1e-12)  # 3.689
    assert _ci.exact_lower(5) == pytest.approx(stats.chi2.ppf(0.025, 10) / 2)
    low, up = _ci.poisson_limits([9, 10])
    assert low[0] == pytest.approx(_ci.exact_lower(9)) and low[1] == pytest.approx(_ci.byars_lower(10))


def test_wilson_closed_form_and_edges():
    x, n, z = 7.0, 20.0, stats.norm.ppf(0.975)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert _ci.wilson_lower(x, n) == pytest.approx(centre - half, rel=1e-12)
    assert _ci.wilson_upper(x, n) == pytest.approx(centre + half, rel=1e-12)
    assert _ci.wilson_lower(0, 10) == 0 and _ci.wilson_upper(10, 10) == pytest.approx(1)


# ---- crude measures -----------------------------------------------------------------------------

def test_proportion_rate_mean_closed_forms():
    d = pd.DataFrame({"area": ["a", "b"], "x": [0, 30], "n": [50, 120]})
    p = ineq.proportion(d, x="x", n="n", multiplier=100)
    assert list(p.value) == [0, 25] and p.lower[0] == 0 and (p.statistic == "percentage").all()
    r = ineq.rate(d, x="x", n="n", multiplier=1000)
    assert list(r.method) == ["Exact", "Byars"]
    assert r.upper[0] == pytest.approx(-np.log(0.025) / 50 * 1000)
    assert set(d.columns) <= set(p.columns)  # row-wise results keep the input columns
    m = ineq.mean(pd.DataFrame({"v": [2.0, 4.0, 6.0, 8.0]}), x="v", confidence=0.9)
    half = stats.t.ppf(0.95, 3) * np.std([2, 4, 6, 8], ddof=1) / 2
    assert m.value[0] == 5 and m.lower[0] == pytest.approx(5 - half) and m.confidence[0] == 0.9


def test_grouped_rates_sum_then_compute_and_never_mutate():
    d = pd.DataFrame({"g": ["a", "a", "b"], "x": [5, 6, 20], "n": [100, 100, 400]})
    before = d.copy()
    r = ineq.rate(d, x="x", n="n", by="g", confidence=(0.95, 0.998))
    pd.testing.assert_frame_equal(d, before)
    a = r[(r.g == "a") & (r.confidence == 0.95)].iloc[0]
    assert a.x == 11 and a.n == 200 and a.value == pytest.approx(5500) and a.method == "Byars"
    assert len(r) == 4 and set(r.confidence) == {0.95, 0.998}


@pytest.mark.parametrize("fn, kwargs, frame, msg", [
    (ineq.proportion, {}, {"x": [11], "n": [10]}, "must not exceed"),
    (ineq.proportion, {}, {"x": [-1], "n": [10]}, "'x' must be >= 0"),
    (ineq.rate, {}, {"x": [1], "n": [0]}, "'n' must be > 0"),
    (ineq.rate, {}, {"x": ["a"], "n": [10]}, "'x' must be numeric"),
    (ineq.rate, {"confidence": 1.2}, {"x": [1], "n": [10]}, "confidence"),
    (ineq.rate, {"multiplier": 0}, {"x": [1], "n": [10]}, "multiplier"),
    (ineq.rate, {"by": "area"}, {"x": [1], "n": [10]}, "missing required column"),
])
def test_crude_bad_input(fn, kwargs, frame, msg):
    with pytest.raises(InputError, match=msg):
        fn(pd.DataFrame(frame), x="x", n="n", **kwargs)


def test_polars_input_is_collected():
    pl = pytest.importorskip("polars")
    out = ineq.rate(pl.DataFrame({"x": [5, 50], "n": [100, 1000]}), x="x", n="n")
    assert isinstance(out, pd.DataFrame) and list(out.method) == ["Exact", "Byars"]


def test_mean_excludes_missing_with_warning():
    with pytest.warns(PcevalWarning, match="1 missing"):
        m = ineq.mean(pd.DataFrame({"v": [1.0, np.nan, 3.0]}), x="v")
    assert m.value_count[0] == 2 and m.value[0] == 2


# ---- standardised rates -------------------------------------------------------------------------

def test_esp2013_layouts_sum_to_100000():
    for bands, n in (("21", 21), ("19", 19), ("18", 18)):
        t = ineq.esp2013(bands)
        assert len(t) == n and t.esp2013.sum() == 100_000
    assert ineq.esp2013("19").esp2013.tolist()[:2] == [5000, 5500]


def test_dsr_of_uniform_rates_is_that_rate_and_one_band_is_byars():
    d = pd.DataFrame({"age_band": BANDS19, "deaths": [20] * 19, "pop": [1000] * 19})
    out = ineq.dsr(d, x="deaths", n="pop", age_band="age_band", multiplier=1000)
    assert out.value[0] == pytest.approx(20.0, rel=1e-12)
    one = pd.DataFrame({"x": [50], "n": [2000], "std": [1.0]})
    dsr1 = ineq.dsr(one, x="x", n="n", standard="std")
    crude = ineq.rate(one, x="x", n="n")
    np.testing.assert_allclose(dsr1[["value", "lower", "upper"]].to_numpy(),
                               crude[["value", "lower", "upper"]].to_numpy(), rtol=1e-12)


def test_dsr_band_labels_18_bands_lower_ages_and_mapping():
    bands18 = BANDS19[:17] + ["85+"]
    d18 = pd.DataFrame({"band": bands18, "x": range(10, 28), "n": [500] * 18})
    lowers = pd.DataFrame({"band": list(range(0, 90, 5)), "x": range(10, 28), "n": [500] * 18})
    a = ineq.dsr(d18, x="x", n="n", age_band="band")
    b = ineq.dsr(lowers, x="x", n="n", age_band="band")  # lower ages: the last band is open
    weights = ineq.esp2013("18").set_index("age_band").esp2013
    c = ineq.dsr(d18, x="x", n="n", age_band="band", standard=weights)
    assert a.value[0] == pytest.approx(b.value[0], rel=1e-12) == pytest.approx(c.value[0], rel=1e-12)
    under75 = d18.iloc[:15]  # 0-4 ... 70-74 only
    u = ineq.dsr(under75, x="x", n="n", age_band="band")
    w = ineq.esp2013("19").esp2013.to_numpy()[:15]
    assert u.value[0] == pytest.approx((w * under75.x / 500).sum() / w.sum() * 100_000)


def test_dsr_with_esps_own_21_band_labels():
    esp = ineq.esp2013("21")  # '0', '1-4', ..., '90-94', '95+'
    d = pd.DataFrame({"band": esp.age_band, "x": [20] * 21, "n": [1000] * 21})
    out = ineq.dsr(d, x="x", n="n", age_band="band", multiplier=1000)
    assert out.value[0] == pytest.approx(20.0, rel=1e-12)


def test_dsr_suppression_and_bad_bands():
    d = pd.DataFrame({"age_band": BANDS19, "x": [0] * 18 + [9], "n": [100] * 19})
    out = ineq.dsr(d, x="x", n="n", age_band="age_band")
    assert np.isnan(out.value[0]) and out.statistic[0] == "dsr NA for total count < 10"
    bad = d.assign(age_band=["0-2"] + BANDS19[1:])
    with pytest.raises(InputError, match="ESP 2013 band boundaries"):
        ineq.dsr(bad, x="x", n="n", age_band="age_band")
    with pytest.raises(InputError, match="not understood"):
        ineq.dsr(d.assign(age_band=["young"] + BANDS19[1:]), x="x", n="n", age_band="age_band")
    with pytest.raises(InputError, match="`age_band` is needed"):
        ineq.dsr(d, x="x", n="n")
    with pytest.raises(InputError, match="more than one row"):
        ineq.dsr(pd.concat([d, d.iloc[[0]]]), x="x", n="n", age_band="age_band")
    with pytest.raises(InputError, match="event_frequency"):
        ineq.dsr(d, x="x", n="n", age_band="age_band", independent_events=False)


def test_isr_equals_one_when_rates_match_reference():
    d = pd.DataFrame({"band": ["0-39", "40-64", "65+"], "x": [10, 40, 90], "n": [1000, 800, 300]})
    ref = d.assign(rx=d.x * 50, rn=d.n * 50)[["band", "rx", "rn"]]
    out = ineq.isr(d, "x", "n", ref_x="rx", ref_n="rn", age_band="band", reference=ref)
    assert out.value[0] == pytest.approx(1.0, rel=1e-12) and out.expected[0] == pytest.approx(140, rel=1e-12)
    rate = ineq.isr_rate(d, "x", "n", ref_x="rx", ref_n="rn", age_band="band", reference=ref)
    assert rate.value[0] == pytest.approx(140 / 2100 * 100_000, rel=1e-12)
    with pytest.raises(InputError, match="no row for age band"):
        ineq.isr(d, "x", "n", ref_x="rx", ref_n="rn", age_band="band", reference=ref.iloc[:2])
    with pytest.raises(InputError, match="measure"):
        ineq.isr(d, "x", "n", ref_x="rx", ref_n="rn", age_band="band", reference=ref, measure="odds")


# ---- SII ----------------------------------------------------------------------------------------

def _deciles(pop=None, slope=10.0, se=0.5):
    pop = np.asarray(pop if pop is not None else [1000] * 10, float)
    share = pop / pop.sum()
    x = np.cumsum(share) - share / 2
    return pd.DataFrame({"decile": range(1, 11), "pop": pop, "life_exp": 70 + slope * x, "se": se})


def test_sii_exact_for_values_linear_in_ridit():
    d = _deciles(pop=[500, 900, 1200, 800, 1000, 1500, 700, 1100, 600, 1300])
    out = ineq.sii(d, quantile="decile", value="life_exp", population="pop", se="se", seed=1, n_boot=2000)
    assert out.sii[0] == pytest.approx(10.0, rel=1e-12)
    assert out.intercept[0] == pytest.approx(70.0, rel=1e-12)
    assert out.rii[0] == pytest.approx(80 / 70, rel=1e-12)
    assert out.sii_lower[0] < 10 < out.sii_upper[0]
    mean_rii = ineq.sii(d, quantile="decile", value="life_exp", population="pop", se="se", n_boot=2000,
                        rii_method="mean")
    assert mean_rii.rii[0] == pytest.approx(10 / np.average(d["life_exp"], weights=d["pop"]), rel=1e-12)


def test_sii_limits_equal_phe_refit_simulation():
    """pceval's bivariate draw of (intercept, slope) = PHE's per-quantile draws and refits."""
    d = _deciles(pop=[500, 900, 1200, 800, 1000, 1500, 700, 1100, 600, 1300], se=1.5)
    out = ineq.sii(d, quantile="decile", value="life_exp", population="pop", se="se", n_boot=200_000, seed=3)
    rng = np.random.default_rng(11)
    a = d["pop"].to_numpy() / d["pop"].sum()
    x = np.cumsum(a) - a / 2
    X = np.c_[np.sqrt(a), x * np.sqrt(a)]  # PHE's regression: sqrt(a) y = b0 sqrt(a) + b1 x sqrt(a)
    ys = d["life_exp"].to_numpy() + d["se"].to_numpy() * rng.standard_normal((200_000, 10))
    coef = np.linalg.lstsq(X, (ys * np.sqrt(a)).T, rcond=None)[0]
    lo, hi = np.quantile(coef[1], [0.025, 0.975])
    rlo, rhi = np.quantile((coef[0] + coef[1]) / coef[0], [0.025, 0.975])
    np.testing.assert_allclose([out.sii_lower[0], out.sii_upper[0]], [lo, hi], rtol=0.01)
    np.testing.assert_allclose([out.rii_lower[0], out.rii_upper[0]], [rlo, rhi], rtol=0.002)


def test_sii_sign_conventions():
    rates = _deciles(slope=-20).assign(life_exp=lambda t: t["life_exp"] - 40)  # higher values in the most deprived
    base = dict(quantile="decile", value="life_exp", population="pop", se="se", n_boot=1000)
    phe = ineq.sii(rates, **base)
    worse = ineq.sii(rates, polarity="higher_is_worse", **base)
    flipped = ineq.sii(rates, multiplier=-1, **base)
    # values exactly linear in the ridit: the SII is exact (measured to 7e-16)
    assert phe.sii[0] == pytest.approx(-20, rel=1e-12) and worse.sii[0] == pytest.approx(20, rel=1e-12)
    assert flipped.sii[0] == pytest.approx(20, rel=1e-12)
    assert flipped.rii[0] == pytest.approx(1 / phe.rii[0], rel=1e-12)
    # same draws: a negative multiplier negates and swaps the limits and inverts the RII limits
    assert flipped.sii_lower[0] == pytest.approx(-phe.sii_upper[0], rel=1e-12)
    assert flipped.sii_upper[0] == pytest.approx(-phe.sii_lower[0], rel=1e-12)
    # percentiles of 1/x vs 1/percentiles of x differ only by interpolation: measured 1.8e-9
    assert flipped.rii_lower[0] == pytest.approx(1 / phe.rii_upper[0], rel=1e-6)
    assert flipped.rii_upper[0] == pytest.approx(1 / phe.rii_lower[0], rel=1e-6)
    assert worse.positive_means[0] == "worse for the most deprived"
    assert phe.positive_means[0].startswith("higher values in the least deprived")
    assert flipped.positive_means[0].startswith("higher values in the most deprived")
    le = ineq.sii(_deciles(), polarity="higher_is_better", **base)
    assert le.sii[0] > 0 and le.positive_means[0] == "worse for the most deprived"
    rev = ineq.sii(_deciles().assign(decile=lambda t: 11 - t.decile), most_deprived="highest", **base)
    assert rev.sii[0] == pytest.approx(10, rel=1e-12)


def test_sii_grouped_equals_separate_calls_and_chunks():
    frames = [_deciles(slope=s).assign(area=f"a{i}") for i, s in enumerate([5.0, 10.0, -3.0])]
    both = pd.concat(frames, ignore_index=True)
    together = ineq.sii(both, quantile="decile", value="life_exp", population="pop", se="se",
                        by="area", n_boot=1000)
    for i, f in enumerate(frames):
        alone = ineq.sii(f, quantile="decile", value="life_exp", population="pop", se="se", n_boot=1000)
        assert together.sii[i] == pytest.approx(alone.sii[0], rel=1e-12)
    assert list(together.area) == ["a0", "a1", "a2"]


def test_sii_issue_calls_work_as_written():
    df = _deciles().rename(columns={"life_exp": "le"})
    out = ineq.sii(df, quantile="decile", value="le", population="pop", se="se", seed=1)
    for col in ("sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper", "intercept",
                "confidence", "method"):
        assert col in out.columns
    q = pd.DataFrame({"quintile": [1, 2, 3, 4, 5], "pop": [9000, 9500, 10000, 10200, 9800],
                      "rate": [320.0, 280.0, 250.0, 220.0, 200.0]})
    q["lcl"], q["ucl"] = q.rate * 0.92, q.rate * 1.08
    out = ineq.sii(q, quantile="quintile", value="rate", population="pop", lower="lcl", upper="ucl",
                   value_type="rate", transform=True, multiplier=-1, n_boot=100_000, seed=1)
    assert out.sii[0] > 0 and out["transform"][0] == "log"


def test_sii_bad_input():
    d = _deciles()
    kw = dict(quantile="decile", value="life_exp", population="pop", se="se", n_boot=1000)
    with pytest.raises(InputError, match="between 5 and 100"):
        ineq.sii(d.assign(decile=1), **kw)  # a single quantile (and duplicates)
    with pytest.raises(InputError, match="more than one row per group and quantile"):
        ineq.sii(pd.concat([d, d.iloc[[0]]]), **kw)
    with pytest.raises(InputError, match="imd_edition"):
        ineq.sii(d, imd_edition="2015", **kw)
    with pytest.raises(InputError, match="'pop' must be > 0"):
        ineq.sii(d.assign(pop=0), **kw)
    with pytest.raises(InputError, match="no group has all the quantiles"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PcevalWarning)
            both = pd.concat([d.iloc[:9].assign(a=1), d.iloc[1:].assign(a=2)])
            ineq.sii(both, by="a", **kw)
    with pytest.raises(InputError, match="give `se`"):
        ineq.sii(d, quantile="decile", value="life_exp", population="pop")
    with pytest.raises(InputError, match="polarity"):
        ineq.sii(d, polarity="up", **kw)
    with pytest.raises(InputError, match="ridit_population"):
        ineq.sii(d, ridit_population={1: 5}, **kw)


# ---- IMD helpers ------------------------------------------------------------------------------

def test_imd_helpers():
    assert list(ineq.decile_to_quintile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    s = ineq.decile_to_quintile(pd.Series([10, None], index=[7, 8]))
    assert list(s.index) == [7, 8] and s.iloc[0] == 5 and s.isna().iloc[1]
    assert list(ineq.core20([1, 2, 5])) == [True, False, False]
    assert ineq.check_imd_edition(2019) == "2019" and ineq.check_imd_edition("IMD 2025") == "2025"
    with pytest.raises(InputError, match="imd_edition"):
        ineq.check_imd_edition("2010")
    with pytest.raises(InputError, match="1..10"):
        ineq.decile_to_quintile([0, 11])
    out = ineq.add_imd(pd.DataFrame({"imd_decile": [1, 4, 10]}))
    assert list(out.imd_quintile) == [1, 2, 5] and list(out.core20) == [True, False, False]
    assert (out.imd_edition == "2019").all()


def test_phe_quantile_small_example():
    d = pd.DataFrame({"v": [10.0, 20, 30, 40, 50, 60, 70, 80, np.nan, 90]})
    up = ineq.quantile(d, "v", nquantiles=3, invert=False)
    assert list(up["quantile"].iloc[:8]) == [1, 1, 1, 2, 2, 2, 3, 3] and up["quantile"].isna().iloc[8]
    down = ineq.quantile(d, "v", nquantiles=3, invert=True)
    assert down["quantile"].iloc[9] == 1 and down.qinverted[0].startswith("lowest quantile represents highest")
    with pytest.raises(InputError, match="invert"):
        ineq.quantile(d, "v", invert=2)


# ---- gaps -------------------------------------------------------------------------------------

def test_newcombe_difference_of_proportions():
    # Newcombe (1998) example: 56/70 vs 48/80, method 10 limits 0.0524 to 0.3339
    d = pd.DataFrame({"imd_quintile": [1, 5], "x": [56, 48], "n": [70, 80]})
    g = ineq.quintile_gap(d, x="x", n="n", measure="proportion")
    absg = g[g.measure == "absolute gap"].iloc[0]
    assert absg.estimate == pytest.approx(0.2)
    assert absg.lower == pytest.approx(0.0524, abs=5e-5) and absg.upper == pytest.approx(0.3339, abs=5e-5)


def test_rate_gap_closed_forms_and_core20():
    d = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "x": [200, 170, 150, 120, 100],
                      "n": [1000.0] * 5})
    g = ineq.quintile_gap(d, x="x", n="n", multiplier=1000)
    rel = g[g.measure == "relative gap"].iloc[0]
    se = np.sqrt(1 / 200 + 1 / 100)
    assert rel.estimate == pytest.approx(2) and rel.upper == pytest.approx(2 * np.exp(1.959964 * se), rel=1e-6)
    c = ineq.core20_gap(d, x="x", n="n", multiplier=1000)
    assert c.comparator_value[0] == pytest.approx(540 / 4000 * 1000)
    assert c.comparison[0] == "Core20 vs rest" and (c.imd_edition == "2019").all()
    with pytest.raises(InputError, match="only one quantile"):
        ineq.quintile_gap(d.iloc[:1], x="x", n="n")
    with pytest.raises(InputError, match="needs `population`"):
        ineq.core20_gap(d.assign(v=1.0, s=0.1), value="v", se="s", measure="value")


# ---- concentration index ------------------------------------------------------------------------

def test_concentration_index_closed_forms():
    d = pd.DataFrame({"rank": [1, 2, 3, 4], "y": [4.0, 3.0, 2.0, 1.0]})
    # fractional ranks 1/8, 3/8, 5/8, 7/8; C = 2 cov(y, R) / mean
    r = (np.arange(4) + 0.5) / 4
    expected = 2 * np.cov(d.y, r, bias=True)[0, 1] / d.y.mean()
    out = ineq.concentration_index(d, outcome="y", quantile="rank")
    assert out["index"][0] == pytest.approx(expected) and out["index"][0] < 0
    gen = ineq.concentration_index(d, outcome="y", quantile="rank", kind="generalized")
    assert gen["index"][0] == pytest.approx(expected * 2.5)
    flat = ineq.concentration_index(d.assign(y=1.0), outcome="y", quantile="rank")
    assert flat["index"][0] == pytest.approx(0) and flat.std_error[0] == pytest.approx(0, abs=1e-12)
    binary = pd.DataFrame({"imd_decile": [1, 1, 2, 2], "admitted": [1, 1, 0, 1]})
    e = ineq.concentration_index(binary, outcome="admitted", quantile="imd_decile", kind="erreygers")
    w = ineq.concentration_index(binary, outcome="admitted", quantile="imd_decile", kind="wagstaff")
    c = ineq.concentration_index(binary, outcome="admitted", quantile="imd_decile")
    assert e["index"][0] == pytest.approx(4 * 0.75 * c["index"][0])
    assert w["index"][0] == pytest.approx(c["index"][0] / (1 - 0.75))
    assert c.lower_bound[0] == pytest.approx(0.75 - 1)


def test_concentration_index_score_ranking_and_grouped_data():
    rng = np.random.default_rng(4)
    score = rng.uniform(0, 80, 3000)
    y = rng.poisson(np.exp(-1 + 0.02 * score)).astype(float)
    people = pd.DataFrame({"imd_score": score, "y": y})
    out = ineq.concentration_index(people, outcome="y", quantile="imd_score")
    assert out["index"][0] < 0 and "highest value = most deprived" in out.ranked_by[0]
    people["decile"] = pd.qcut(-score, 10, labels=False) + 1
    grouped = people.groupby("decile").agg(y=("y", "mean"), pop=("y", "size"), var=("y", "var")).reset_index()
    g = ineq.concentration_index(grouped, outcome="y", quantile="decile", population="pop", variance="var")
    i = ineq.concentration_index(people, outcome="y", quantile="decile")
    assert g["index"][0] == pytest.approx(i["index"][0], rel=1e-10)
    assert g.std_error[0] == pytest.approx(i.std_error[0], rel=0.02)
    with pytest.warns(PcevalWarning, match="observed range"):
        ineq.concentration_index(people, outcome="y", quantile="imd_score", kind="erreygers")
    with pytest.raises(InputError, match="needs `bounds"):
        ineq.concentration_index(grouped, outcome="y", quantile="decile", population="pop", kind="wagstaff")
    with pytest.raises(InputError, match="kind"):
        ineq.concentration_index(people, outcome="y", quantile="imd_score", kind="gini")


def test_concentration_index_standard_error_matches_bootstrap():
    rng = np.random.default_rng(7)
    n = 1500
    d = pd.DataFrame({"rank": rng.uniform(size=n)})
    d["y"] = rng.binomial(1, 0.2 + 0.3 * d["rank"]).astype(float)
    se = ineq.concentration_index(d, outcome="y", quantile="rank")["std_error"][0]
    ys, rk = d.y.to_numpy(), d["rank"].to_numpy()
    idx = rng.integers(0, n, (400, n))
    ysb, rkb = ys[idx], rk[idx]
    order = np.argsort(rkb, axis=1)
    ysb = np.take_along_axis(ysb, order, axis=1)
    r = (np.arange(n) + 0.5) / n
    boot = 2 * (ysb * (r - 0.5)).mean(axis=1) / ysb.mean(axis=1)
    assert se == pytest.approx(boot.std(ddof=1), rel=0.15)
