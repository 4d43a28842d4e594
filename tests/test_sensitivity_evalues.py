"""E-values against VanderWeele & Ding (2017) and R EValue's documented examples and tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pceval
from pceval import did
from pceval.errors import InputError
from pceval.sensitivity import evalue, evalue_rd, robustness_sentence


# --- printed values in R EValue's documentation (vignette "unmeasured-confounding") -------------
def test_smoking_lung_cancer_ding_vanderweele_2016():
    r = evalue(10.73, 8.02, 14.36)
    assert r.evalue == pytest.approx(20.94777, abs=5e-6)
    assert r.evalue_ci == pytest.approx(15.52336, abs=5e-6)


def test_non_null_true_value():
    # summary(evalues.RR(est = 2.5, true = 1.5)) prints 2.720759
    assert evalue(2.5, true=1.5).evalue == pytest.approx(2.720759, abs=5e-7)


def test_breastfeeding_annals_example():
    # VanderWeele & Ding (2017): RR 3.9 (1.8, 8.7) -> E-values 7.26 and 3.0
    r = evalue(3.9, 1.8, 8.7, scale="OR", rare=True)
    assert r.evalue == pytest.approx(7.263034, abs=5e-7)
    assert r.evalue_ci == pytest.approx(3.0, abs=1e-12)


def test_leukaemia_protective_example():
    r = evalue(0.80, 0.71, 0.91)
    assert r.evalue == pytest.approx(1.809017, abs=5e-7)
    assert r.evalue_ci == pytest.approx(1.428571, abs=5e-7)


def test_symmetry_of_the_evalue():
    assert evalue(1 / 0.8).evalue == pytest.approx(evalue(0.8).evalue, rel=1e-12)


# --- R EValue's testthat cases (closed forms) ---------------------------------------------------
def test_common_odds_ratio_uses_the_square_root():
    e = (np.sqrt(5) + np.sqrt(np.sqrt(5) * (np.sqrt(5) - np.sqrt(2)))) / np.sqrt(2)
    assert evalue(5, scale="OR", rare=False, true=2).evalue == pytest.approx(e, rel=1e-12)
    e_lo = (np.sqrt(3) + np.sqrt(np.sqrt(3) * (np.sqrt(3) - np.sqrt(2)))) / np.sqrt(2)
    assert evalue(5, 3, scale="OR", rare=False, true=2).evalue_ci == pytest.approx(e_lo, rel=1e-12)


def test_common_hazard_ratio_conversion():
    def rr(h):
        return (1 - 0.5 ** np.sqrt(h)) / (1 - 0.5 ** np.sqrt(1 / h))

    r, r_lo, r_true = rr(1.3), rr(1.2), rr(1.1)
    res = evalue(1.3, 1.2, 1.4, scale="HR", rare=False, true=1.1)
    assert res.evalue == pytest.approx((r + np.sqrt(r * (r - r_true))) / r_true, rel=1e-12)
    assert res.evalue_ci == pytest.approx((r_lo + np.sqrt(r_lo * (r_lo - r_true))) / r_true, rel=1e-12)


def test_rare_hazard_ratio_with_true_value():
    e = (1 / 0.3 + np.sqrt(1 / 0.3 * (1 / 0.3 - 1 / 0.4))) / (1 / 0.4)
    assert evalue(0.3, scale="HR", rare=True, true=0.4).evalue == pytest.approx(e, rel=1e-12)


def test_standardised_mean_difference():
    d, se, true = 0.5, 0.2, 0.1
    r, r_true = np.exp(0.91 * d), np.exp(0.91 * true)
    r_lo = np.exp(0.91 * d - 1.78 * se)
    res = evalue(d, scale="SMD", std_error=se, true=true)
    assert res.evalue == pytest.approx((r + np.sqrt(r * (r - r_true))) / r_true, rel=1e-12)
    assert res.evalue_ci == pytest.approx((r_lo + np.sqrt(r_lo * (r_lo - r_true))) / r_true, rel=1e-12)
    # preventive, true value beyond the upper limit's side: the CI E-value is 1
    assert evalue(-0.5, scale="SMD", std_error=0.4, true=-0.1).evalue_ci == 1.0


def test_risk_difference_peng_ding_example():
    # R EValue tests: evalues.RD(397, 78557, 51, 108778)$lower.Evalue == 15.95703 (tol 0.001)
    r = evalue_rd(397, 78557, 51, 108778)
    f = (397 + 78557) / (51 + 108778 + 397 + 78557)
    p1, p0 = 397 / (397 + 78557), 51 / (51 + 108778)
    diff = p0 * (1 - f) - p1 * f
    B = (np.sqrt(diff**2 + 4 * p1 * p0 * f * (1 - f)) - diff) / (2 * p0 * f)
    assert r.evalue == pytest.approx(B + np.sqrt(B * (B - 1)), rel=1e-12)
    # R searches a grid of 0.0001 in the bounding factor; we solve exactly
    assert r.evalue_ci == pytest.approx(15.95703, abs=2e-3)
    assert evalue_rd(55, 108778, 51, 108778).evalue_ci == 1.0
    B = (100 / 300) / (50 / 250)
    assert evalue_rd(100, 200, 50, 200).evalue == pytest.approx(B + np.sqrt(B * (B - 1)), rel=1e-6)
    with pytest.raises(InputError, match="true"):
        evalue_rd(100, 200, 50, 200, true=0.8)


# --- from a result, and the mistakes people make --------------------------------------------------
def test_evalue_of_a_did_rate_ratio_reads_its_relative_row():
    rng = np.random.default_rng(4)
    n = 800
    unit = np.repeat(np.arange(n), 2)
    post = np.tile([0, 1], n)
    treated = np.repeat(rng.random(n) < 0.5, 2).astype(int)
    events = rng.poisson(np.exp(0.5 + 0.1 * post - 0.4 * treated * post))
    df = pd.DataFrame({"unit": unit, "post": post, "treated": treated, "events": events,
                       "years": 1.0})
    fit = did.did2x2(df, "events", "treated", "unit", "post", model="poisson", exposure="years",
                     exposure_unit="year")
    rel = fit.to_frame().query("scale == 'relative'").iloc[0]
    r = evalue(fit)
    direct = evalue(rel["estimate"], rel["ci_lower"], rel["ci_upper"])
    assert r.evalue == pytest.approx(direct.evalue, rel=1e-12)
    assert r.evalue_ci == pytest.approx(direct.evalue_ci, rel=1e-12)
    assert pceval.evalue is evalue


@pytest.mark.parametrize("kwargs, match", [
    ({"estimate": 2.0, "scale": "OR"}, "rare"),
    ({"estimate": 1.2, "lower": 1.3, "upper": 1.4}, "inside"),
    ({"estimate": 0.6, "lower": 0.7, "upper": 1.1}, "inside"),
    ({"estimate": -1.0}, "positive"),
    ({"estimate": 0.1, "scale": "RD"}, "evalue_rd"),
    ({"estimate": 1.5, "scale": "rr"}, "scale"),
    ({"estimate": 0.5, "lower": 0.1, "scale": "SMD"}, "std_error"),
])
def test_mistakes_raise(kwargs, match):
    with pytest.raises(InputError, match=match):
        evalue(**kwargs)


def test_sentence_and_protocol():
    r = evalue(0.5, 0.4, 0.62)
    s = robustness_sentence(r)
    assert "3.4 times" in s and "2.6 times" in s and "fall" in s
    assert "already includes no effect" in robustness_sentence(evalue(0.9, 0.7, 1.1))
    f = r.to_frame()
    assert f.loc[0, "evalue"] == pytest.approx(r.evalue)
    assert r.verdict() == "lower"
