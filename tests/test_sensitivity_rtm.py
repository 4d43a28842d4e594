"""Regression-to-the-mean diagnostics on panels with a known crisis before the index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pceval.errors import InputError
from pceval.sensitivity import negative_control_outcome, placebo_index, rates_around_index

BASE = 0.2  # events per person-month outside the crisis
CRISIS = 3.0  # rate multiplier in the three months before the index


def _panel(n=3000, controls_have_crisis=True, effect=1.0, seed=11):
    """Treated and matched controls (pairs), months -12..11; everybody's rate triples in months
    -3..-1 (the controls too when matched on the crisis); ``effect`` multiplies the treated's
    rate from month 0."""
    rng = np.random.default_rng(seed)
    months = np.arange(-12, 12)
    frail = rng.gamma(2.0, 0.5, 2 * n)  # mean 1
    treated = np.r_[np.ones(n, int), np.zeros(n, int)]
    person = np.arange(2 * n)
    P, M = np.meshgrid(person, months, indexing="ij")
    crisis = (M >= -3) & (M <= -1) & ((treated[P] == 1) | controls_have_crisis)
    rate = BASE * frail[P] * np.where(crisis, CRISIS, 1.0)
    rate = rate * np.where((treated[P] == 1) & (M >= 0), effect, 1.0)
    y = rng.poisson(rate)
    neg = rng.poisson(0.3 * frail[P])  # a negative-control outcome: no effect, no crisis
    return pd.DataFrame({"person_id": P.ravel(), "rel_period": M.ravel(), "ae": y.ravel(),
                         "outpatient": neg.ravel(), "person_time": 1.0,
                         "treated": treated[P].ravel(), "subclass": (P % n).ravel(),
                         "weights": 1.0})


def test_rates_around_index_recover_the_true_rates():
    p = _panel()
    r = rates_around_index(p, "ae", "treated", "person_id", weights="weights")
    f = r.to_frame()
    t = f[f["group"] == "treated"].set_index("period")
    truth = BASE * 12_000 * np.where((t.index >= -3) & (t.index <= -1), CRISIS, 1.0)
    inside = (t["ci_lower"] <= truth) & (truth <= t["ci_upper"])
    assert inside.mean() >= 0.85  # 24 intervals at 95%
    assert r.headline["period"] == -1 and r.headline["group"] == "treated"
    assert r.plot() is not None


def test_placebo_index_is_null_when_controls_share_the_crisis():
    res = placebo_index(_panel(), "ae", "treated", "person_id", shift=[3, 6],
                        cluster="subclass", weights="weights")
    f = res.to_frame()
    did_rr = f[(f["analysis"].str.startswith("DiD")) & (f["scale"] == "relative")]
    assert len(did_rr) == 2
    assert ((did_rr["ci_lower"] < 1) & (did_rr["ci_upper"] > 1)).all()
    assert res.verdict() == "no evidence either way"
    # the treated alone: the placebo 'after' holds the crisis months -> a large spurious rise
    ba = f[f["analysis"].str.startswith("before-after")].set_index("shift")
    true_ba6 = (3 * CRISIS + 3) / 6  # placebo after = months -6..-1, before = -12..-7
    assert ba.loc[6, "ci_lower"] < true_ba6 < ba.loc[6, "ci_upper"]
    assert ba.loc[6, "ci_lower"] > 1.5


def test_placebo_index_flags_controls_without_the_crisis():
    res = placebo_index(_panel(controls_have_crisis=False), "ae", "treated", "person_id",
                        shift=6, cluster="subclass")
    assert res.verdict() == "higher"  # the design would mistake regression to the mean for an effect


def test_negative_control_outcome_is_null():
    res = negative_control_outcome(_panel(effect=0.7), "outpatient", "treated", "person_id",
                                   cluster="subclass")
    head = res.headline
    assert head["scale"] == "relative" and head["ci_lower"] < 1 < head["ci_upper"]
    assert "outpatient" in res.summary()


def test_mistakes_raise():
    p = _panel(200)
    with pytest.raises(InputError, match="before"):
        placebo_index(p, "ae", "treated", "person_id", shift=12)
    with pytest.raises(InputError, match="0/1"):
        rates_around_index(p.assign(treated=p["treated"] * 2), "ae", "treated", "person_id")
    with pytest.raises(InputError):
        rates_around_index(p, "ae_attendance", "treated", "person_id")
    with pytest.raises(InputError, match="person-time"):
        rates_around_index(p.assign(person_time=-1.0), "ae", "treated", "person_id")
