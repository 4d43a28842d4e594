"""Rosenbaum bounds: R rbounds' documented examples, the usual tests at Gamma = 1, and the
moments of the bounding distributions by enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pceval.errors import InputError
from pceval.sensitivity import (
    mcnemar_bounds,
    robustness_sentence,
    rosenbaum_bounds,
    wilcoxon_bounds,
)

# rbounds::psens documentation: lead in the blood of children of lead-factory workers and their
# matched controls (Morton et al. 1982; Rosenbaum 2002, chapter 4)
TRT = np.array([38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20, 15, 10, 45, 39,
                22, 35, 49, 48, 44, 35, 43, 39, 34, 13, 73, 25, 27])
CTRL = np.array([16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16, 16, 24, 13, 9, 14,
                 21, 19, 7, 18, 19, 12, 11, 22, 25, 16, 13, 11, 13])


def test_lead_example_upper_bounds():
    # psens(trt, ctrl) prints the upper bounds, rounded to 4 decimals, for Gamma = 1..6
    r = wilcoxon_bounds(TRT - CTRL, gamma=[1, 2, 3, 4, 5, 6])
    printed = [0.0000, 0.0018, 0.0131, 0.0367, 0.0694, 0.1073]
    np.testing.assert_allclose(r.table["p_upper"].round(4), printed, atol=1e-12)
    assert (r.table["p_lower"] < 1e-4).all()
    # the sensitivity value lies where the upper bound crosses 0.05
    assert 4 < r.sensitivity_value < 5
    assert stats.norm.sf(r.table["statistic"].iloc[0]) == pytest.approx(r.table["p_upper"].iloc[0])


def test_gamma_one_is_the_wilcoxon_signed_rank_test():
    d = TRT - CTRL  # has ties and a zero difference
    r = wilcoxon_bounds(d, gamma=[1])
    ref = stats.wilcoxon(d, alternative="greater", method="approx", correction=False,
                         zero_method="wilcox")
    assert r.table["p_upper"].iloc[0] == pytest.approx(ref.pvalue, rel=1e-10)
    assert r.table["p_lower"].iloc[0] == pytest.approx(ref.pvalue, rel=1e-10)


def test_bounding_moments_by_enumeration():
    # under the upper-bounding distribution T = sum q_i B_i, B_i ~ Bernoulli(Gamma / (1 + Gamma))
    rng = np.random.default_rng(2)
    d = rng.normal(0.5, 1, 10)
    q = stats.rankdata(np.abs(d))
    gamma = 2.5
    p = gamma / (1 + gamma)
    signs = np.array(list(itertools.product([0, 1], repeat=10)))
    prob = np.prod(np.where(signs == 1, p, 1 - p), axis=1)
    T = signs @ q
    mean, var = prob @ T, prob @ (T - prob @ T) ** 2
    r = wilcoxon_bounds(d, gamma=[gamma])
    T_obs = q[d > 0].sum()
    assert r.table["statistic"].iloc[0] == pytest.approx((T_obs - mean) / np.sqrt(var), rel=1e-10)


def test_smoking_example_mcnemar():
    # the example of rbounds::binarysens(12, 110) (Rosenbaum 2002, p. 112): 110 discordant pairs in
    # which the smoker died of lung cancer, 12 in which the control did (binarysens' own printed
    # numbers are one term further in the tail: tests/test_sensitivity_matched_sets.py)
    r = mcnemar_bounds(110, 12, gamma=[1, 2, 3, 4, 5, 6])
    assert r.table["p_upper"].iloc[0] == pytest.approx(
        stats.binomtest(110, 122, 0.5, alternative="greater").pvalue, rel=1e-10)
    for g, p_up in zip(r.table["gamma"], r.table["p_upper"], strict=True):
        assert p_up == pytest.approx(stats.binom.sf(109, 122, g / (1 + g)), rel=1e-12)
    assert (np.diff(r.table["p_upper"]) > 0).all() and (np.diff(r.table["p_lower"]) < 0).all()
    sv = r.sensitivity_value
    assert stats.binom.sf(109, 122, sv / (1 + sv)) == pytest.approx(0.05, rel=1e-8)
    assert 5 < sv < 6


def _pairs(n=300, effect=-1.0, seed=3, binary=False):
    rng = np.random.default_rng(seed)
    base = rng.normal(5, 2, n)
    yt = base + effect + rng.normal(0, 1, n)
    yc = base + rng.normal(0, 1, n)
    if binary:
        yt, yc = (yt > 5).astype(int), (yc > 5).astype(int)
    return pd.DataFrame({"subclass": np.r_[np.arange(n), np.arange(n)],
                         "treat": np.r_[np.ones(n, int), np.zeros(n, int)], "y": np.r_[yt, yc]})


def test_from_a_matched_sample():
    df = _pairs()
    r = rosenbaum_bounds(df.sample(frac=1, random_state=1), "y", "treat")
    direct = wilcoxon_bounds(df["y"].to_numpy()[300:] - df["y"].to_numpy()[:300])
    pd.testing.assert_frame_equal(r.table, direct.table)
    assert r.sensitivity_value > 1.5
    assert "matched pair" in robustness_sentence(r) and "fall" in robustness_sentence(r)
    b = rosenbaum_bounds(_pairs(binary=True), "y", "treat", method="mcnemar")
    d = _pairs(binary=True)
    yt, yc = d["y"].to_numpy()[:300], d["y"].to_numpy()[300:]
    assert b.n_used == int(((yt - yc) != 0).sum())
    assert b.statistic == float(((yt - yc) < 0).sum())
    null = rosenbaum_bounds(_pairs(effect=0.0, seed=9), "y", "treat", alternative="less")
    assert null.sensitivity_value == 1.0 or null.table["p_upper"].iloc[0] < 0.05


def test_mistakes_raise():
    df = _pairs(20)
    with pytest.raises(InputError, match="pairs"):
        rosenbaum_bounds(df.iloc[1:], "y", "treat")
    with pytest.raises(InputError, match="0/1"):
        rosenbaum_bounds(df, "y", "treat", method="mcnemar")
    with pytest.raises(InputError, match="gamma"):
        rosenbaum_bounds(df, "y", "treat", gamma=[0.5, 1])
    with pytest.raises(InputError, match="alternative"):
        rosenbaum_bounds(df, "y", "treat", alternative="two-sided")
    with pytest.raises(InputError):
        rosenbaum_bounds(df, "y", "treated")
    with pytest.raises(InputError, match="discordant"):
        mcnemar_bounds(0, 0)
