"""Bad input to pceval.inequality (issue 16, "Bad input everywhere"): every case is a PcevalError
naming the argument or column and showing the offending values, a specific PcevalWarning, or a
defined answer -- never NaN, inf, a raw KeyError or a comparison of the wrong quintiles."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pceval import inequality as ineq
from pceval.errors import InputError, PcevalWarning

BANDS = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
         "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"]


def _deciles(slope: float = 10.0, area: str | None = None) -> pd.DataFrame:
    pop = np.array([500, 900, 1200, 800, 1000, 1500, 700, 1100, 600, 1300], float)
    share = pop / pop.sum()
    x = np.cumsum(share) - share / 2
    d = pd.DataFrame({"decile": range(1, 11), "pop": pop, "v": 70 + slope * x, "se": 0.8})
    return d if area is None else d.assign(area=area)


def _effects(q=(1, 2, 3, 4, 5)) -> pd.DataFrame:
    k = len(q)
    return pd.DataFrame({"imd_quintile": list(q), "estimate": np.linspace(-40, 0, k), "std_error": 5.0,
                         "uptake": 0.1, "population": 1000.0, "baseline": np.linspace(300, 140, k)})


def _bands(**cols) -> pd.DataFrame:
    d = pd.DataFrame({"age_band": BANDS, "x": [10] * 19, "n": [1000.0] * 19})
    return d.assign(**cols)


# ---- infinite values: an error naming the column and showing the values -------------------------

@pytest.mark.parametrize("col", ["v", "se", "pop"])
def test_sii_refuses_inf(col):
    d = _deciles()
    d.loc[3, col] = np.inf
    with pytest.raises(InputError, match=rf"column '{col}' must be finite; 1 value\(s\) are infinite: \[inf\]"):
        ineq.sii(d, value="v", se="se", population="pop", quantile="decile", n_boot=1000)


def test_concentration_index_refuses_inf():
    d = pd.DataFrame({"imd_decile": [1, 2, 3, 4], "y": [1.0, -np.inf, 0.0, 1.0]})
    with pytest.raises(InputError, match=r"`data`: column 'y' must be finite.*\[-inf\]"):
        ineq.concentration_index(d, "y", quantile="imd_decile")


@pytest.mark.parametrize("col", ["estimate", "std_error", "uptake", "baseline"])
def test_equity_of_effect_refuses_inf(col):
    d = _effects()
    d.loc[2, col] = np.inf
    with pytest.raises(InputError, match=rf"`data`: column '{col}' must be finite.*\[inf\]"):
        ineq.equity_of_effect(d, n_boot=1000)


def test_equity_of_effect_refuses_inf_in_the_context_table():
    d = _effects()
    ctx = d[["imd_quintile", "uptake", "population", "baseline"]].assign(baseline=[300, np.inf, 220, 180, 140])
    with pytest.raises(InputError, match=r"`context`: column 'baseline' must be finite"):
        ineq.equity_of_effect(d[["imd_quintile", "estimate", "std_error"]], context=ctx, n_boot=1000)


@pytest.mark.parametrize("col", ["x", "n"])
def test_dsr_refuses_an_infinite_count_or_population(col):
    d = _bands()
    d[col] = d[col].astype(float)
    d.loc[0, col] = np.inf
    with pytest.raises(InputError, match=rf"column '{col}' must be finite.*\[inf\]"):
        ineq.dsr(d, x="x", n="n", age_band="age_band")


# ---- quintiles that would be compared or labelled wrongly -------------------------------------

def test_equity_of_effect_refuses_a_missing_quintile():
    with pytest.raises(InputError, match=r"column 'imd_quintile' must hold quintiles 1 to 4.*\[3\] are missing"):
        ineq.equity_of_effect(_effects(q=(1, 2, 4, 5)), n_boot=1000)


def test_equity_of_effect_refuses_quintiles_coded_from_zero():
    with pytest.raises(InputError, match=r"quintiles 1 to 5.*found \[0, 1, 2, 3, 4\]"):
        ineq.equity_of_effect(_effects(q=(0, 1, 2, 3, 4)), n_boot=1000)


def test_equity_of_effect_still_takes_labelled_quintiles():
    d = _effects().assign(imd_quintile=["1 - most deprived", "2", "3", "4", "5 - least deprived"])
    res = ineq.equity_of_effect(d, n_boot=1000)
    assert res.settings["labels"][0] == "1 - most deprived"


def test_quintile_gap_refuses_data_without_quintile_1():
    d = pd.DataFrame({"imd_quintile": [2, 3, 4, 5], "x": [170, 150, 120, 100], "n": [1000.0] * 4})
    with pytest.raises(InputError, match=r"no quantile 1 \(the most deprived\).*\[2, 3, 4, 5\]"):
        ineq.quintile_gap(d, x="x", n="n")
    # naming the pair is a deliberate choice, and allowed
    g = ineq.quintile_gap(d, x="x", n="n", quantiles=(2, 5))
    assert g.comparison[0] == "Q2 vs Q5"
    with pytest.raises(InputError, match="`quantiles` must be two quantile labels"):
        ineq.quintile_gap(d, x="x", n="n", quantiles="25")


def test_uptake_equity_refuses_quintile_6():
    d = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5, 6], "treated": [50, 60, 70, 80, 90, 0],
                      "eligible": [1000] * 6})
    with pytest.raises(InputError, match=r"column 'imd_quintile' must hold IMD quintiles 1-5.*\[6\]"):
        ineq.uptake_equity(d, eligible="eligible")


def test_uptake_equity_refuses_a_missing_quintile():
    d = pd.DataFrame({"imd_quintile": [1, 2, 3, 4], "treated": [50, 60, 70, 80], "eligible": [1000] * 4})
    with pytest.raises(InputError, match=r"\[5\] are missing"):
        ineq.uptake_equity(d, eligible="eligible")


# ---- standardised rates ---------------------------------------------------------------------------

def test_isr_refuses_a_missing_reference_count_where_there_is_a_population():
    d = _bands(rx=[np.nan] + [5] * 18, rn=2000.0)
    with pytest.raises(InputError, match=r"reference count 'rx' is missing for age band\(s\) \['0-4'\]"):
        ineq.isr(d, "x", "n", ref_x="rx", ref_n="rn", age_band="age_band")
    with pytest.raises(InputError, match=r"reference population 'rn' is missing"):
        ineq.isr(_bands(rx=5, rn=[np.nan] + [2000.0] * 18), "x", "n", ref_x="rx", ref_n="rn",
                 age_band="age_band")


def test_isr_warns_of_a_missing_reference_count_in_an_empty_band():
    d = _bands(rx=[np.nan] + [5] * 18, rn=2000.0, n=[0.0] + [1000.0] * 18)
    with pytest.warns(PcevalWarning, match=r"reference count 'rx' is missing for age band\(s\) \['0-4'\]"):
        out = ineq.isr(d, "x", "n", ref_x="rx", ref_n="rn", age_band="age_band")
    assert out.expected[0] == pytest.approx(18 * 1000 * 5 / 2000)


def test_categorical_age_band_with_an_unused_level():
    plain = _bands()
    cat = plain.assign(age_band=pd.Categorical(plain.age_band, categories=[*BANDS, "95+"]))
    pd.testing.assert_frame_equal(ineq.dsr(cat, x="x", n="n", age_band="age_band"),
                                  ineq.dsr(plain, x="x", n="n", age_band="age_band"))
    two = pd.concat([cat.assign(area="A"), cat.assign(area="B")], ignore_index=True)
    assert len(ineq.dsr(two, x="x", n="n", age_band="age_band", by="area")) == 2
    nonind = ineq.dsr(cat.assign(f=1), x="x", n="n", age_band="age_band", independent_events=False,
                      event_frequency="f")
    assert nonind.value[0] == pytest.approx(1000.0)
    ref = cat[["age_band"]].assign(rx=5, rn=2000.0)
    out = ineq.isr(cat, "x", "n", ref_x="rx", ref_n="rn", age_band="age_band", reference=ref)
    assert out.expected[0] == pytest.approx(19 * 1000 * 5 / 2000)


def test_dsr_with_zero_events_has_defined_limits():
    out = ineq.dsr(_bands(x=0), x="x", n="n", age_band="age_band", min_count=0)
    assert out.value[0] == 0 and out.lower[0] == 0
    assert np.isfinite(out.upper[0]) and out.upper[0] > 0
    # one stratum: the exact Poisson limits of a zero count, as for a crude rate
    one = pd.DataFrame({"age_band": ["0-4"], "x": [0], "n": [1000.0]})
    d = ineq.dsr(one, x="x", n="n", age_band="age_band", standard={"0-4": 5000}, min_count=0)
    r = ineq.rate(one, x="x", n="n")
    assert (d.lower[0], d.upper[0]) == pytest.approx((r.lower[0], r.upper[0]), rel=1e-12)
    assert d.upper[0] == pytest.approx(-np.log(0.025) / 1000 * 100_000, rel=1e-12)


def test_dsr_lower_limit_is_never_negative_or_missing():
    # one event in a tiny band carrying a large weight: Dobson's lower limit went below 0
    uneven = _bands(x=[1] + [0] * 17 + [30], n=[10.0] + [1e4] * 17 + [1e5])
    out = ineq.dsr(uneven, x="x", n="n", age_band="age_band", min_count=0)
    assert out.lower[0] == 0 and out.lower[0] <= out.value[0] <= out.upper[0]
    # Byar's lower limit of a single event at 99.8% is negative: the exact one is used
    single = _bands(x=[1] + [0] * 18, n=[10.0] + [1e5] * 18)
    out = ineq.dsr(single, x="x", n="n", age_band="age_band", min_count=0, confidence=0.998)
    assert np.isfinite(out.lower[0]) and 0 < out.lower[0] < out.value[0]


# ---- the SII's relative index ----------------------------------------------------------------------

def test_sii_never_returns_an_rii_outside_its_own_interval():
    rng = np.random.default_rng(1)
    for _ in range(60):
        d = pd.DataFrame({"q": range(1, 6), "pop": rng.uniform(100, 1000, 5), "v": rng.uniform(1, 100, 5),
                          "se": rng.uniform(0.05, 1.5, 5)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PcevalWarning)
            o = ineq.sii(d, value="v", se="se", population="pop", quantile="q", value_type="rate",
                         n_boot=2000)
        lo, hi = o.rii_lower[0], o.rii_upper[0]
        assert (np.isnan(lo) and np.isnan(hi)) or lo <= o.rii[0] <= hi
        assert o.sii_lower[0] <= o.sii[0] <= o.sii_upper[0]


def test_sii_rii_limits_missing_with_a_warning_when_its_denominator_crosses_zero():
    # rates without transform whose fitted value at the most deprived end is near 0
    d = pd.DataFrame({"q": range(1, 6), "pop": [1000.0] * 5, "v": [1.0, 30, 50, 80, 100],
                      "se": [1.2, 0.5, 0.5, 0.5, 0.5]})
    with pytest.warns(PcevalWarning, match=r"RII's 95% limits are missing for 1 group\(s\)"):
        o = ineq.sii(d, value="v", se="se", population="pop", quantile="q", value_type="rate", n_boot=2000)
    assert np.isnan(o.rii_lower[0]) and np.isnan(o.rii_upper[0]) and np.isfinite(o.sii_lower[0])


def test_sii_all_zero_values():
    d = _deciles().assign(v=0.0)
    with pytest.raises(InputError, match=r"RII.*which is 0 for the data.*rii=False"):
        ineq.sii(d, value="v", se="se", population="pop", quantile="decile", n_boot=1000)
    g = pd.concat([_deciles(area="a"), d.assign(area="b")], ignore_index=True)
    with pytest.raises(InputError, match=r"which is 0 for \[\{'area': 'b'\}\]"):
        ineq.sii(g, value="v", se="se", population="pop", quantile="decile", by="area", n_boot=1000)
    out = ineq.sii(d, value="v", se="se", population="pop", quantile="decile", n_boot=1000, rii=False)
    assert out.sii[0] == 0 and out.sii_lower[0] < 0 < out.sii_upper[0]


# ---- a string where a list is expected is one name -------------------------------------------------

def test_a_single_group_by_name_is_one_column():
    d = pd.concat([_deciles(5, "a1"), _deciles(10, "a2")], ignore_index=True)
    as_str = ineq.sii(d, value="v", se="se", population="pop", quantile="decile", by="area", n_boot=1000)
    as_list = ineq.sii(d, value="v", se="se", population="pop", quantile="decile", by=["area"],
                       n_boot=1000)
    pd.testing.assert_frame_equal(as_str, as_list)
    assert list(as_str.area) == ["a1", "a2"]
    r = ineq.rate(d, x="v", n="pop", by="area")
    assert list(r.area) == ["a1", "a2"]
    c = ineq.concentration_index(d, "v", quantile="decile", population="pop", by="area")
    assert list(c.area) == ["a1", "a2"]
    with pytest.raises(InputError, match="`by` must be a column name or a list of column names"):
        ineq.rate(d, x="v", n="pop", by=["area", 3])


# ---- sii: each group's simulated limits depend on its own stream only -------------------------------

def test_sii_limits_of_a_group_do_not_depend_on_the_other_groups():
    a, b, c = _deciles(5, "a"), _deciles(10, "b"), _deciles(-3, "c")
    kw = dict(value="v", se="se", population="pop", quantile="decile", by="area", n_boot=2000, seed=7)
    with_b = ineq.sii(pd.concat([a, b], ignore_index=True), **kw).set_index("area")
    with_c = ineq.sii(pd.concat([c, a], ignore_index=True), **kw).set_index("area")
    cols = ["sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper"]
    pd.testing.assert_series_equal(with_b.loc["a", cols], with_c.loc["a", cols])
    alone = ineq.sii(a, **kw).set_index("area")
    pd.testing.assert_series_equal(alone.loc["a", cols], with_b.loc["a", cols])
    # the same key written as 1 or 1.0 or np.int64(1) draws the same
    one = ineq.sii(a.assign(area=1), **kw)
    pd.testing.assert_frame_equal(one, ineq.sii(a.assign(area=1.0), **kw).assign(area=1))
    # another seed moves the limits
    other = ineq.sii(a, **{**kw, "seed": 8}).set_index("area")
    assert other.loc["a", "sii_lower"] != alone.loc["a", "sii_lower"]
