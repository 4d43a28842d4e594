"""pceval.inequality against PHEindicatormethods' own test data (tests/reference/phe/).

Which rows test what follows the package's tests (see tests/reference/README.md). Tolerances are
set a few orders of magnitude above the agreement measured: values PHE stored at full precision
agree to 2e-14 relative (rtol 1e-11); values PHE rounded are compared at the precision it kept;
point SII/RII/intercepts are deterministic and agree to 1.6e-14 (rtol 1e-11); SII confidence limits
are Monte Carlo in both packages (PHE's tests draw 10,000 times), so they keep PHE's own 5% relative
tolerance (largest difference measured: 1.9%).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from _reference import PHE
from pceval import inequality as ineq
from pceval.errors import InputError, PcevalWarning
from pceval.inequality import _ci

RTOL = 1e-11  # measured: 2e-14 relative at most


def read(name: str) -> pd.DataFrame:
    # the README's rule: 'None' is a group name in the quantile data, not a missing value
    return pd.read_csv(PHE / name, keep_default_na=False, na_values=[""])


def close(actual, expected, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float),
                               rtol=rtol, atol=atol, equal_nan=True)


# ---- Byar's and Wilson ------------------------------------------------------------------------

def test_byars_and_wilson_limits():
    d = read("testdata_Byars_Wilson__testdata_B_W.csv")
    conf = d.confidence.str.rstrip("%").astype(float) / 100
    for i, row in d.iterrows():
        c = conf[i]
        if row.method == "Byars":
            close(_ci.byars_lower(row.x, c), row.lowercl)  # row 13: NaN (negative lower limit)
            close(_ci.byars_upper(row.x, c), row.uppercl)
        else:
            close(_ci.wilson_lower(row.x, row.n, c), row.lowercl)
            close(_ci.wilson_upper(row.x, row.n, c), row.uppercl)
    assert np.isnan(_ci.byars_lower(1, 0.998))
    assert _ci.wilson_lower(65, 100, 1) == 0 and _ci.wilson_upper(65, 100, 1) == 1


# ---- proportions, rates, means ------------------------------------------------------------------

def test_proportion_rows_and_multipliers():
    d = read("testdata_Proportion__testdata_Prop.csv")
    for rows, mult in ((slice(0, 8), 1), (slice(8, 16), 100)):
        e = d.iloc[rows].reset_index(drop=True)
        out = ineq.proportion(e[["Area", "Numerator", "Denominator"]], x="Numerator", n="Denominator",
                              confidence=(0.95, 0.998), multiplier=mult)
        lo95, lo998 = out[out.confidence == 0.95], out[out.confidence == 0.998]
        close(lo95.value, e.value)
        close(lo95.lower, e.lower95_0cl)
        close(lo95.upper, e.upper95_0cl)
        close(lo998.lower, e.lower99_8cl)
        close(lo998.upper, e.upper99_8cl)
        assert (out.method == "Wilson").all()
        assert (out.statistic == e.statistic.iloc[0]).all()
    na = d.iloc[16:19]  # missing numerator and/or denominator -> missing outputs
    out = ineq.proportion(na[["Area", "Numerator", "Denominator"]], x="Numerator", n="Denominator")
    assert out[["value", "lower", "upper"]].isna().all().all()


def test_proportion_grouped():
    d = read("testdata_Proportion__testdata_Prop.csv")
    g = read("testdata_Proportion__testdata_Prop_g.csv")
    inp = pd.concat([d.iloc[:8], d.iloc[:8], d.iloc[16:]])[["Area", "Numerator", "Denominator"]]
    out = ineq.proportion(inp, x="Numerator", n="Denominator", by="Area")
    m = g.merge(out, on="Area", suffixes=("_exp", ""))
    assert len(m) == len(g)
    close(m.Numerator, m.Numerator_exp)
    close(m.Denominator, m.Denominator_exp)
    close(m.value, m.value_exp)
    close(m.lower, m.lowercl)
    close(m.upper, m.uppercl)


def test_rate_rows_and_multipliers():
    d = read("testdata_Rate__testdata_Rate.csv")
    for rows, mult in ((slice(0, 8), 100), (slice(8, 16), 100_000)):
        e = d.iloc[rows].reset_index(drop=True)
        out = ineq.rate(e[["Area", "Numerator", "Denominator"]], x="Numerator", n="Denominator",
                        confidence=[0.95, 0.998], multiplier=mult)
        a95, a998 = out[out.confidence == 0.95], out[out.confidence == 0.998]
        close(a95.value, e.value)
        close(a95.lower, e.lower95_0cl)
        close(a95.upper, e.upper95_0cl)
        close(a998.lower, e.lower99_8cl)
        close(a998.upper, e.upper99_8cl)
        assert list(a95.method) == list(e.method)
        assert (out.statistic == e.statistic.iloc[0]).all()
    e = d.iloc[16:20].reset_index(drop=True)  # NA cases and numerator > denominator (allowed)
    out = ineq.rate(e[["Area", "Numerator", "Denominator"]], x="Numerator", n="Denominator")
    close(out.value, e.value)
    close(out.lower, e.lower95_0cl)
    close(out.upper, e.upper95_0cl)
    assert [m if isinstance(m, str) else None for m in out.method] == \
        [m if isinstance(m, str) else None for m in e.method]


def test_rate_grouped():
    d = read("testdata_Rate__testdata_Rate.csv")
    g = read("testdata_Rate__testdata_Rate_g.csv")
    base = d.iloc[8:]  # one copy of every area (incl. NA cases and Area12)
    inp = pd.concat([base, d.iloc[8:16]])[["Area", "Numerator", "Denominator"]]
    out = ineq.rate(inp, x="Numerator", n="Denominator", by="Area")
    m = g.merge(out, on="Area", suffixes=("_exp", ""))
    assert len(m) == len(g) == 12
    close(m.value, m.value_exp)
    close(m.lower, m.lowercl)
    close(m.upper, m.uppercl)
    ok = m.method_exp.notna()
    assert (m.method[ok] == m.method_exp[ok]).all()


def test_mean_grouped_and_ungrouped():
    d = read("testdata_Mean__testdata_Mean.csv")
    e = read("testdata_Mean__testdata_Mean_results.csv")
    out = ineq.mean(d, x="values", by="area", confidence=(0.95, 0.998))
    a95, a998 = out[out.confidence == 0.95], out[out.confidence == 0.998]
    close(a95.value_sum, e.value_sum[:2])
    close(a95.value_count, e.value_count[:2])
    close(a95.stdev, e.stdev[:2])
    close(a95.value, e.value[:2])
    close(a95.lower, e.lower95_0cl[:2])
    close(a95.upper, e.upper95_0cl[:2])
    close(a998.lower, e.lower99_8cl[:2])
    close(a998.upper, e.upper99_8cl[:2])
    one = ineq.mean(d, x="values", confidence=(0.95, 0.998))
    close(one.value, [e.value[2]] * 2)
    close(one.lower, [e.lower95_0cl[2], e.lower99_8cl[2]])
    close(one.upper, [e.upper95_0cl[2], e.upper99_8cl[2]])
    assert (one.method == "Student's t-distribution").all()


# ---- DSR and ISR ------------------------------------------------------------------------------

def _multiarea(fix_label: bool = True) -> pd.DataFrame:
    d = read("testdata_DSR_ISR__testdata_multiarea.csv")
    if fix_label:  # the README: the band labelled 55-69 is 55-59
        d["ageband"] = d.ageband.replace({"55-69": "55-59"})
    return d


def test_dsr_esp2013_by_label_matches_phe():
    res = read("testdata_DSR_ISR__testresults_DSR.csv")
    out = ineq.dsr(_multiarea(), x="count", n="pop", age_band="ageband", by="area",
                   confidence=(0.95, 0.998))
    a95, a998 = out[out.confidence == 0.95].reset_index(drop=True), out[out.confidence == 0.998]
    e = res.iloc[4:7].reset_index(drop=True)  # per 100,000
    close(a95.total_count, e.total_count)
    close(a95.total_pop, e.total_pop)
    close(a95.value, e.value)
    close(a95.lower, e.lower95_0cl)
    close(a95.upper, e.upper95_0cl)
    close(a998.lower, e.lower99_8cl)
    close(a998.upper, e.upper99_8cl)
    assert list(a95.statistic) == list(e.statistic)
    per10k = ineq.dsr(_multiarea(), x="count", n="pop", age_band="ageband", by="area",
                      multiplier=10_000, confidence=(0.95, 0.998))
    e = res.iloc[0:3].reset_index(drop=True)
    close(per10k.value[:3], e.value)
    close(per10k.lower[:3], e.lower95_0cl)
    close(per10k.upper[3:], e.upper99_8cl)


def test_dsr_mislabelled_band_is_caught():
    # PHE matches standard populations by position; pceval by label, so the typo is an error
    with pytest.raises(InputError, match="overlap"):
        ineq.dsr(_multiarea(fix_label=False), x="count", n="pop", age_band="ageband", by="area")


def test_dsr_user_standard_1976():
    res = read("testdata_DSR_ISR__testresults_DSR.csv").iloc[7]
    d = read("testdata_DSR_ISR__testdata_1976.csv")
    out = ineq.dsr(d, x="count", n="pop", standard="esp1976")
    close(out.total_count, [res.total_count])
    close(out.total_pop, [res.total_pop])
    close(out.value, [res.value])
    close(out.lower, [res.lower95_0cl])
    close(out.upper, [res.upper95_0cl])


def test_dsr_non_independent_events():
    res = read("testdata_DSR_ISR__testresults_DSR.csv").iloc[8:12].reset_index(drop=True)
    d = read("testdata_DSR_ISR__testdata_nonindepe.csv")
    d["ageband"] = d.ageband.replace({"55-69": "55-59"})
    long = d.melt(id_vars=["area", "ageband", "pop"], value_vars=["f1", "f2", "f3", "f4"],
                  var_name="f", value_name="people")
    long["freq"] = long.f.str[1].astype(int)
    long["events"] = long.people * long.freq  # people with f events had f events each
    out = ineq.dsr(long, x="events", n="pop", age_band="ageband", by="area",
                   independent_events=False, event_frequency="freq", confidence=(0.95, 0.998))
    a95 = out[out.confidence == 0.95].reset_index(drop=True)
    a998 = out[out.confidence == 0.998].reset_index(drop=True)
    assert list(a95.area) == list(res.area)
    close(a95.total_count, res.total_count)
    close(a95.total_pop, res.total_pop)
    d8 = dict(rtol=0, atol=5e-9)  # PHE's expected values are rounded to 8 d.p. (measured 4.7e-9)
    close(a95.value, res.value, **d8)
    close(a95.lower, res.lower95_0cl, **d8)
    close(a95.upper, res.upper95_0cl, **d8)
    close(a998.lower, res.lower99_8cl, **d8)
    close(a998.upper, res.upper99_8cl, **d8)
    assert list(a95.statistic) == list(res.statistic)
    assert list(a95.method) == list(res.method)


@pytest.mark.parametrize("name, msg", [
    ("testdata_DSR_ISR__testdata_err1.csv", "'count' must be >= 0"),
    ("testdata_DSR_ISR__testdata_err3.csv", "'pop' must be > 0"),
    ("testdata_DSR_ISR__testdata_err4.csv", "standard populations must be"),
])
def test_dsr_error_files(name, msg):
    d = read(name)
    with pytest.raises(InputError, match=msg):
        ineq.dsr(d, x="count", n="pop", standard="stdpop")


def test_dsr_zero_population_file_is_an_error():
    d = read("testdata_DSR_ISR__testdata_err2.csv")
    d["stdpop"] = 1000
    with pytest.raises(InputError, match="'pop' must be > 0"):
        ineq.dsr(d, x="count", n="pop", standard="stdpop", by="area")


def test_isr_rates_and_ratios():
    res = read("testdata_DSR_ISR__testresults_ISR.csv")
    ref = read("testdata_DSR_ISR__refdata.csv").rename(columns={"Age Band": "ageband"})
    d = _multiarea(fix_label=False)  # labels only need to agree between df and reference
    cases = [(slice(0, 3), "rate", 100_000), (slice(3, 6), "rate", 1000),
             (slice(6, 9), "ratio", 1), (slice(9, 12), "ratio", 100)]
    for rows, measure, mult in cases:
        e = res.iloc[rows].reset_index(drop=True)
        out = ineq.isr(d, "count", "pop", ref_x="refcount", ref_n="refpop", age_band="ageband",
                       reference=ref, by="area", measure=measure, multiplier=mult,
                       confidence=(0.95, 0.998))
        a95 = out[out.confidence == 0.95].reset_index(drop=True)
        a998 = out[out.confidence == 0.998].reset_index(drop=True)
        close(a95.observed, e.observed)
        close(a95.expected, e.expected)
        if measure == "rate":
            close(a95.ref_rate, e.ref_rate)
        close(a95.value, e.value)
        close(a95.lower, e.lower95_0cl)
        close(a95.upper, e.upper95_0cl)
        close(a998.lower, e.lower99_8cl)
        close(a998.upper, e.upper99_8cl)
        assert list(a95.method) == list(e.method)
        assert list(a95.statistic) == list(e.statistic)


def test_isr_reference_as_columns_and_observed_totals():
    res = read("testdata_DSR_ISR__testresults_ISR.csv").iloc[0:3].reset_index(drop=True)
    own = read("testdata_DSR_ISR__testdata_multiarea_isr.csv")
    lookup = read("testdata_DSR_ISR__testdata_multiarea_lookup.csv")
    with pytest.warns(PcevalWarning) as rec:
        out = ineq.isr_rate(own, "count", "pop", ref_x="refcount", ref_n="refpop", by="area")
    # PHE's row with count, pop and refcount all missing: said, not silently taken as 0
    said = " ".join(str(w.message) for w in rec)
    assert "missing population" in said and "reference count 'refcount' is missing" in said
    close(out.value, res.value)
    close(out.lower, res.lower95_0cl)
    close(out.upper, res.upper95_0cl)
    with pytest.warns(PcevalWarning):
        out = ineq.isr_rate(own, None, "pop", ref_x="refcount", ref_n="refpop", by="area",
                            observed_totals=lookup.rename(columns={"total_count": "observed"}))
    close(out.observed, res.observed)
    close(out.value, res.value)


def test_isr_zero_population_band():
    res = read("testdata_DSR_ISR__testresults_ISR.csv").iloc[12:16].reset_index(drop=True)
    ref = read("testdata_DSR_ISR__refdata.csv").rename(columns={"Age Band": "ageband"})
    d = read("testdata_DSR_ISR__testdata_err2.csv")
    d["ageband"] = list(ref.ageband) * 2
    rate_ = ineq.isr(d, "count", "pop", ref_x="refcount", ref_n="refpop", age_band="ageband",
                     reference=ref, by="area", measure="rate")
    ratio = ineq.isr_ratio(d, "count", "pop", ref_x="refcount", ref_n="refpop", age_band="ageband",
                           reference=ref, by="area", multiplier=100)
    out = pd.concat([rate_, ratio], ignore_index=True)
    close(out.expected, res.expected)
    close(out.value, res.value)
    close(out.lower, res.lower95_0cl)
    close(out.upper, res.upper95_0cl)


# ---- quantiles --------------------------------------------------------------------------------

def _quantile_data() -> pd.DataFrame:
    d = read("testdata_Quantiles__testdata_Quantiles.csv")
    d = d[d.Test.str.startswith("Good")].copy()
    d["invert"] = d.Polarity.map({"RAG - Low is good": True, "True": True,
                                  "RAG - High is good": False, "False": False})
    return d


@pytest.mark.parametrize("groupset, by, nq, invert", [
    ("IndSexReg", ["IndSexRef", "ParentCode"], 10, "invert"),
    ("IndSex", ["IndSexRef"], 7, "invert"),
    ("None", None, 4, True),
])
def test_phe_quantiles(groupset, by, nq, invert):
    d = _quantile_data()
    d = d[d.GroupSet == groupset]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)  # regions with < 10 areas get no deciles
        out = ineq.quantile(d, "Value", nquantiles=nq, invert=invert, by=by)
    close(out["quantile"].astype("Float64").to_numpy(float, na_value=np.nan), d.QuantileInGrp)


def test_phe_quantiles_too_few_areas_warns():
    d = _quantile_data()
    d = d[(d.GroupSet == "IndSexReg") & (d.IndSexRef == "90366Female")]
    with pytest.warns(PcevalWarning, match="too few"):
        out = ineq.quantile(d, "Value", invert=False, by=["IndSexRef", "ParentCode"])
    close(out["quantile"].astype("Float64").to_numpy(float, na_value=np.nan), d.QuantileInGrp)
    assert (out.qinverted == "lowest quantile represents lowest values").all()


def test_phe_quantiles_bad_polarity():
    d = read("testdata_Quantiles__testdata_Quantiles.csv")
    bad = d[d.Test == "BadPolarity"].copy()
    bad["invert"] = bad.Polarity.isin(["True", "RAG - Low is good"])
    with pytest.raises(InputError, match="one value within each group"):
        ineq.quantile(bad, "Value", invert="invert", by="IndSexRef")


# ---- SII --------------------------------------------------------------------------------------

def _sii_data() -> pd.DataFrame:
    return read("testdata_SII__testdata_SII.csv")


G = ["Area", "Grouping1", "Grouping2"]
A, C, U = "Value", "LowerCL", "UpperCL"
SII_CASES = [  # (first, last record), arguments, number of confidence levels; as in testSII.R
    ((1, 20), dict(value=A, se="StandardError"), 1),
    ((1, 20), dict(value=A, lower=C, upper=U), 1),
    ((21, 40), dict(value=A, lower=C, upper=U, confidence=0.99), 1),
    ((21, 40), dict(value=A, se="StandardError", confidence=0.99), 1),
    ((226, 245), dict(value=A, se="StandardError", confidence=(0.95, 0.99)), 2),
    ((41, 60), dict(value=A, se="StandardError"), 1),
    ((61, 70), dict(value=A, se="StandardError"), 0),  # quintiles: SII only
    ((71, 90), dict(value=A, se="StandardError", value_type="rate"), 1),
    ((71, 90), dict(value=A, lower=C, upper=U, value_type=1), 1),
    ((91, 110), dict(value=A, se="StandardError", value_type="proportion"), 1),
    ((91, 110), dict(value=A, lower=C, upper=U, value_type=2), 1),
    ((91, 110), dict(x="Count", lower=C, upper=U, value_type="proportion"), 1),
    ((111, 130), dict(value=A, lower=C, upper=U, value_type="proportion", multiplier=100), 1),
    ((131, 150), dict(value=A, lower=C, upper=U, value_type="proportion", multiplier=-100), 1),
    ((246, 265), dict(value=A, lower=C, upper=U), 1),
    ((266, 285), dict(value=A, lower=C, upper=U, value_type="rate"), 1),
    ((286, 305), dict(value=A, lower=C, upper=U, value_type="rate"), 1),
    ((306, 325), dict(value=A, lower=C, upper=U, value_type="rate", transform=True), 1),
    ((326, 345), dict(value=A, lower=C, upper=U, value_type="proportion", transform=True), 1),
    ((346, 365), dict(value=A, lower=C, upper=U, value_type="proportion", transform=True,
                      multiplier=-1), 1),
    ((366, 385), dict(value=A, lower=C, upper=U, value_type="rate", transform=True,
                      confidence=(0.95, 0.98)), 2),
    ((386, 405), dict(value=A, lower=C, upper=U, value_type="rate", transform=True,
                      multiplier=-1), 1),
    ((406, 425), dict(value=A, lower=C, upper=U, value_type="rate", transform=True,
                      confidence=0.98), 1),
    ((426, 445), dict(value=A, lower=C, upper=U, value_type="rate", transform=True, rii=False), 1),
    ((446, 465), dict(value=A, lower=C, upper=U, value_type="proportion", transform=True,
                      rii=False), 1),
    ((466, 485), dict(value=A, lower=C, upper=U, value_type="proportion", transform=True,
                      confidence=0.98), 1),
    ((486, 505), dict(value=A, lower=C, upper=U, value_type="proportion", transform=True,
                      confidence=(0.95, 0.98)), 2),
]


@pytest.mark.parametrize("rows, kwargs, n_levels", SII_CASES, ids=[f"{c[0][0]}-{c[0][1]}" for c in SII_CASES])
def test_sii_matches_phe(rows, kwargs, n_levels):
    d = _sii_data()
    block = d[d.RecordNo.between(*rows)]
    out = ineq.sii(block, quantile="Quantile", population="Population", by=G,
                   n_boot=100_000, seed=5, **kwargs)
    exp = block.groupby(G, sort=True).head(1).sort_values(G).reset_index(drop=True)
    levels = sorted(out.confidence.unique())
    first = out[out.confidence == levels[0]].reset_index(drop=True)
    close(first.sii, exp.sii)  # deterministic: measured 1.6e-14
    if kwargs.get("rii", True):
        close(first.rii, exp.rii)
    if exp.Intercept.notna().all():
        close(first.intercept, exp.Intercept)
    for i in range(n_levels):  # Monte-Carlo limits: PHE's tolerance (measured at most 1.9%)
        o = out[out.confidence == levels[i]].reset_index(drop=True)
        for ours, theirs in (("sii_lower", "sii_lowercl"), ("sii_upper", "sii_uppercl"),
                             ("rii_lower", "rii_lowercl"), ("rii_upper", "rii_uppercl")):
            if ours not in o.columns:
                continue
            close(o[ours], exp[f"{theirs}_{i + 1}"], rtol=0.05)


def test_sii_errors_and_warnings_like_phe():
    d = _sii_data()
    blk = lambda a, b: d[d.RecordNo.between(a, b)]  # noqa: E731
    kw = dict(quantile="Quantile", population="Population", by=G, n_boot=1000)
    with pytest.raises(InputError, match="'Population' must be > 0"):
        ineq.sii(blk(151, 160), value="Value", se="StandardError", **kw)
    with pytest.raises(InputError, match="'StandardError' must be >= 0"):
        ineq.sii(blk(161, 165).assign(Quantile=[1, 2, 3, 4, 5]), value="Value", se="StandardError", **kw)
    with pytest.raises(InputError, match="must be > 0 for proportions"):
        ineq.sii(blk(161, 170).assign(StandardError=0.02), x="Count", se="StandardError",
                 value_type="proportion", **kw)
    with pytest.raises(InputError, match="between 0 and 1"):
        ineq.sii(blk(1, 20), value="Value", se="StandardError", value_type="proportion", **kw)
    for a, b in ((171, 175), (176, 180)):
        with pytest.raises(InputError, match="between 0 and 1"):
            ineq.sii(blk(a, b), value="Value", lower="LowerCL", upper=U,
                     value_type="proportion", **{**kw, "by": None})
    with pytest.raises(InputError, match="between 5 and 100"):
        ineq.sii(blk(1, 3), value="Value", lower="LowerCL", upper=U, **kw)
    with pytest.raises(InputError, match="missing value"):
        ineq.sii(blk(191, 200), value="Value", lower="LowerCL", upper=U, **kw)
    with pytest.raises(InputError, match="missing value"):
        ineq.sii(blk(181, 190), value="Value", se="StandardError", **kw)
    with pytest.raises(InputError, match="transform=True"):
        ineq.sii(blk(1, 20), value="Value", lower="LowerCL", upper=U, transform=True, **kw)
    with pytest.raises(InputError, match="`se` must be left out"):
        ineq.sii(blk(71, 90), value="Value", se="StandardError", value_type="rate", transform=True, **kw)
    with pytest.raises(InputError, match="value_type"):
        ineq.sii(blk(1, 20), value="Value", se="StandardError", value_type=3, **kw)
    with pytest.raises(InputError, match="n_boot"):
        ineq.sii(blk(1, 20), value="Value", se="StandardError", **{**kw, "n_boot": 0})
    with pytest.raises(InputError, match="confidence"):
        ineq.sii(blk(1, 20), value="Value", se="StandardError", confidence=1.35, **kw)
    with pytest.raises(InputError, match="multiplier"):
        ineq.sii(blk(1, 20), value="Value", se="StandardError", multiplier="none", **kw)
    sub = d[d.RecordNo.isin([*range(1, 16), *range(17, 21)])]
    with pytest.warns(PcevalWarning, match="lack some of the 10 quantiles"):
        out = ineq.sii(sub, value="Value", lower="LowerCL", upper=U, **kw)
    assert len(out) == 1 and out.Area[0] == "area1"
    with pytest.warns(PcevalWarning, match="more than 10 quantiles"):
        ineq.sii(blk(211, 225), value="Value", lower="LowerCL", upper=U,
                 **{**kw, "by": None})


def test_sii_same_seed_same_result():
    blk = _sii_data().pipe(lambda d: d[d.RecordNo.between(1, 20)])
    args = dict(quantile="Quantile", population="Population", value="Value", se="StandardError",
                by=G, n_boot=1000, seed=5)
    pd.testing.assert_frame_equal(ineq.sii(blk, **args), ineq.sii(blk, **args))


NHSE_XFAIL = pytest.mark.xfail(strict=True, reason=(
    "NHS England's document prints 64.62 and SII -10.97, but its own Quintiles_new_Sii (Functions.R) "
    "on its own CVDP003CHOL.xlsx (the rows in tests/reference) gives 64.6278 and -10.9823, as pceval "
    "does to 1e-12 (test_nhs_england_sii_equals_their_method); the printed figures do not reproduce "
    "at 2 d.p. (off by 0.008 and 0.012)"))


@pytest.fixture(scope="module")
def nhse():
    d = read("ney_cvdprevent_CVDP003CHOL_Dec2023_England_HNY_quintiles.csv")
    england = d[d.AreaCode == "E92000001"].set_index("MetricCategoryName").Denominator
    icb = d[d.AreaCode != "E92000001"]
    out = ineq.sii(icb, quantile="MetricCategoryName", population="Denominator", value="Value",
                   lower="LowerConfidenceLimit", upper="UpperConfidenceLimit",
                   ridit_population=england, n_boot=10_000)
    return icb, england, out


def test_nhs_england_sii_equals_their_method(nhse):
    """NHS England NE&Y's "new" SII, transcribed from Quintiles_new_Sii in Functions.R
    (nhsengland/NEY-Inequalities-Methodologies): ridits b from the national quintile shares, then
    lm(value*sqrt(a) ~ sqrt(a) + b*sqrt(a) - 1) with a the ICB's own quintile shares."""
    icb, england, out = nhse
    a_eng = england.to_numpy(float) / england.sum()
    b = np.cumsum(a_eng) - a_eng / 2
    a = icb.Denominator.to_numpy(float) / icb.Denominator.sum()
    X = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    intercept, slope = np.linalg.lstsq(X, icb.Value.to_numpy(float) * np.sqrt(a), rcond=None)[0]
    close(out.intercept, [intercept], rtol=1e-12)
    close(out.sii, [slope], rtol=1e-12)
    close(out.rii, [(intercept + slope) / intercept], rtol=1e-12)
    assert out.sii_lower[0] < out.sii[0] < out.sii_upper[0]
    assert "national" in out.ridits[0]
    # the same through a column
    col = icb.assign(england=england.loc[icb.MetricCategoryName].to_numpy())
    out2 = ineq.sii(col, quantile="MetricCategoryName", population="Denominator", value="Value",
                    lower="LowerConfidenceLimit", upper="UpperConfidenceLimit",
                    ridit_population="england", n_boot=10_000)
    close(out2.sii, out.sii, rtol=1e-12)


@pytest.mark.parametrize("quantity, printed", [
    pytest.param("left end (most deprived)", 64.62, marks=NHSE_XFAIL),
    ("right end (least deprived)", 53.65),
    pytest.param("SII", -10.97, marks=NHSE_XFAIL),
    ("RII", 0.83),
])
def test_nhs_england_published_figures_at_their_precision(nhse, quantity, printed):
    """The figures NHS England's methodology document prints for this example (section 2d),
    to the 2 decimal places it prints."""
    out = nhse[2]
    value = {"left end (most deprived)": out.intercept[0],
             "right end (least deprived)": out.intercept[0] + out.sii[0],
             "SII": out.sii[0], "RII": out.rii[0]}[quantity]
    assert abs(value - printed) <= 0.005, (quantity, value, printed)
