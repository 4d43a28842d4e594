"""Rosenbaum bounds for 1:k matched sets against R sensitivitymw 2.1 (senmw) on its own data,
and rbounds 2.2's printed examples (psens, binarysens) for pairs. The reference values were
computed by tests/reference/rosenbaum/make_reference.R (R 4.2; see tests/reference/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pceval.errors import InputError
from pceval.sensitivity import (
    mcnemar_bounds,
    robustness_sentence,
    rosenbaum_bounds,
    set_bounds,
    wilcoxon_bounds,
)

REF = Path(__file__).parent / "reference" / "rosenbaum"
PRESETS = {  # senmw's `method` presets: inner, trim, (m1, m2, m)
    "": (0.0, 3.0, None), "h": (0.0, 3.0, None), "w": (0.0, 3.0, (12, 20, 20)),
    "l": (0.0, 3.0, (12, 19, 20)), "t": (0.0, np.inf, None),
}


def _senmw_args(r: pd.Series) -> dict:
    method = r["method"] if isinstance(r["method"], str) else ""
    inner, trim, w = PRESETS[method]
    if not np.isnan(r["inner"]):
        inner = float(r["inner"])
    if not np.isnan(r["trim"]):
        trim = float(r["trim"])
    if not np.isnan(r["m"]) and r["m"] > 1:
        w = (int(r["m1"]), int(r["m2"]), int(r["m"]))
    return {"inner": inner, "trim": trim, "set_weights": w}


@pytest.mark.parametrize("row", range(len(pd.read_csv(REF / "senmw.csv"))))
def test_senmw_examples_and_grid(row):
    # every example of help(senmw) (mercury: 397 sets of 1 treated + 2 controls; erpcp: 39 pairs,
    # Rosenbaum 2007 Table 1) and a grid of gamma: p-value, deviate and the statistic's parts
    r = pd.read_csv(REF / "senmw.csv").iloc[row]
    y = pd.read_csv(REF / f"{r['data']}.csv").to_numpy(float)
    res = set_bounds(y, gamma=[r["gamma"]], alternative="greater", **_senmw_args(r))
    assert res.table["statistic"].iloc[0] == pytest.approx(r["deviate"], rel=1e-10, abs=1e-10)
    assert res.table["p_upper"].iloc[0] == pytest.approx(r["pval"], rel=1e-8, abs=1e-15)
    assert res.statistic == pytest.approx(r["statistic"], rel=1e-12)


def test_binary_sets_match_senmw_without_trimming():
    ref = pd.read_csv(REF / "senmw_binary.csv")
    y = pd.read_csv(REF / "binary_sets.csv").to_numpy(float)
    res = set_bounds(y, gamma=ref["gamma"], alternative="greater", method="mcnemar")
    np.testing.assert_allclose(res.table["p_upper"], ref["pval"], rtol=1e-8)
    np.testing.assert_allclose(res.table["statistic"], ref["deviate"], rtol=1e-10)


def _long(y: np.ndarray) -> pd.DataFrame:
    n, m = y.shape
    return pd.DataFrame({"set": np.repeat(np.arange(n), m), "treat": np.tile(np.r_[1, np.zeros(m - 1, int)], n),
                         "y": y.ravel()})


def test_long_table_matches_the_matrix_and_alternative_less_negates():
    y = pd.read_csv(REF / "mercury.csv").to_numpy(float)
    long = _long(y).sample(frac=1, random_state=3)  # order must not matter
    a = rosenbaum_bounds(long, "y", "treat", pair="set", method="huber", gamma=[1, 5, 15],
                         alternative="greater")
    b = set_bounds(y, gamma=[1, 5, 15], alternative="greater")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.settings["controls_per_set"] == 2 and a.n_pairs == 397
    lo = rosenbaum_bounds(_long(-y), "y", "treat", pair="set", method="huber", gamma=[1, 5, 15])
    pd.testing.assert_frame_equal(lo.table, b.table)
    # the p-value bounds bracket: lower <= upper, equal at gamma = 1; upper rises with gamma
    assert np.allclose(b.table["p_lower"].iloc[0], b.table["p_upper"].iloc[0])
    assert (b.table["p_lower"] <= b.table["p_upper"] + 1e-15).all()
    # sensitivity value: the upper bound crosses 0.05 between senmw's gamma = 10 and 15
    ref = pd.read_csv(REF / "senmw.csv").set_index("call")["pval"]
    assert ref["senmw(mercury,gamma=10)"] < 0.05 < ref["senmw(mercury,gamma=15)"]
    assert 10 < b.sensitivity_value < 15
    assert set_bounds(y, gamma=[b.sensitivity_value]).table["p_upper"].iloc[0] == pytest.approx(0.05, rel=1e-6)
    assert "matched set" in robustness_sentence(b) and "sets" in b.summary()


def test_pairs_are_unchanged_and_huber_on_pairs_is_senmw_on_two_columns():
    y = pd.read_csv(REF / "erpcp.csv").to_numpy(float)
    long = _long(y)
    w = rosenbaum_bounds(long, "y", "treat", pair="set", alternative="greater")
    pd.testing.assert_frame_equal(w.table, wilcoxon_bounds(y[:, 0] - y[:, 1], alternative="greater").table)
    h = rosenbaum_bounds(long, "y", "treat", pair="set", method="huber", trim=1, gamma=[2, 3, 4],
                         alternative="greater")
    ref = pd.read_csv(REF / "senmw.csv").query("data == 'erpcp' and trim == 1")
    np.testing.assert_allclose(h.table["p_upper"], ref["pval"], rtol=1e-8)


def test_from_a_match_result_with_two_controls():
    from pceval.matching import match

    rng = np.random.default_rng(4)
    n = 900
    x = rng.normal(size=n)
    treat = (rng.random(n) < 1 / (1 + np.exp(1.5 - 0.5 * x))).astype(int)
    people = pd.DataFrame({"x": x, "treat": treat, "y": 2 * x - 1.0 * treat + rng.normal(size=n)})
    m = match(people, "treat", ["x"], ratio=2)
    md = m.matched_data()
    if md.groupby("subclass").size().nunique() > 1:  # keep complete sets for the direct check
        pytest.skip("unequal sets")
    r = rosenbaum_bounds(m, "y", method="huber", gamma=[1, 2])
    y = np.stack([g.sort_values("treat", ascending=False)["y"].to_numpy()
                  for _, g in md.groupby("subclass")])
    pd.testing.assert_frame_equal(r.table, set_bounds(-y, gamma=[1, 2]).table)
    assert r.table["p_upper"].iloc[0] < 0.05


def test_matched_set_mistakes_raise():
    y = pd.read_csv(REF / "mercury.csv").to_numpy(float)
    long = _long(y)
    with pytest.raises(InputError, match="method='huber'"):
        rosenbaum_bounds(long, "y", "treat", pair="set")  # Wilcoxon needs pairs
    with pytest.raises(InputError, match="same number of controls"):
        rosenbaum_bounds(long.iloc[:-1], "y", "treat", pair="set", method="huber")
    with pytest.raises(InputError, match="one treated person"):
        rosenbaum_bounds(long.assign(treat=0), "y", "treat", pair="set", method="huber")
    with pytest.raises(InputError, match="0/1"):
        rosenbaum_bounds(long, "y", "treat", pair="set", method="mcnemar")
    with pytest.raises(InputError, match="sets x"):
        rosenbaum_bounds(y[:, :1], method="huber")
    with pytest.raises(InputError, match="set_weights"):
        set_bounds(y, set_weights=(3, 2, 20))
    with pytest.raises(InputError, match="trim"):
        set_bounds(y, inner=2, trim=1)
    with pytest.raises(InputError, match="nothing to test"):
        set_bounds(np.ones((5, 3)))


# --- rbounds 2.2: the printed examples ------------------------------------------------------


def test_psens_printed_bounds():
    # help(psens): lead in children's blood (Rosenbaum 2002, chapter 4); psens rounds to 4 places
    trt = np.array([38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20, 15, 10, 45, 39,
                    22, 35, 49, 48, 44, 35, 43, 39, 34, 13, 73, 25, 27])
    ctrl = np.array([16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16, 16, 24, 13, 9, 14,
                     21, 19, 7, 18, 19, 12, 11, 22, 25, 16, 13, 11, 13])
    ref = pd.read_csv(REF / "rbounds.csv")
    for call in ("psens(trt, ctrl)", "psens(trt, ctrl, Gamma = 3, GammaInc = 0.25)"):
        r = ref[ref["call"] == call]
        ours = wilcoxon_bounds(trt - ctrl, gamma=r["gamma"])
        np.testing.assert_allclose(ours.table["p_upper"].round(4), r["upper"], atol=1e-12)
        np.testing.assert_allclose(ours.table["p_lower"].round(4), r["lower"], atol=1e-12)


def test_binarysens_printed_bounds_are_one_count_further_in_the_tail():
    # help(binarysens)(12, 110): smoking and lung cancer, 110 discordant pairs in which the smoker
    # died of lung cancer, 12 in which the control did. binarysens computes 1 - pbinom(D, ...),
    # i.e. P(T >= D + 1), one term short of the exact one-sided McNemar tail P(T >= D) that
    # Rosenbaum's bound is (at Gamma = 1 it must equal the usual exact McNemar p-value, which
    # binarysens' does not). pceval keeps P(T >= D); the printed numbers are reproduced as its
    # tail at D + 1, so the difference is exactly that one term.
    ref = pd.read_csv(REF / "rbounds.csv")
    for call in ("binarysens(12, 110)", "binarysens(12, 110, Gamma = 7, GammaInc = 0.5)"):
        r = ref[ref["call"] == call]
        one_further = mcnemar_bounds(111, 11, gamma=r["gamma"])  # the same D = 122 pairs
        np.testing.assert_allclose(one_further.table["p_upper"].round(5), r["upper"], atol=1e-12)
        ours = mcnemar_bounds(110, 12, gamma=r["gamma"])
        assert (ours.table["p_upper"] > r["upper"].to_numpy() - 5e-6).all()
    assert mcnemar_bounds(110, 12, gamma=[1]).table["p_upper"].iloc[0] == pytest.approx(
        stats.binomtest(110, 122, 0.5, alternative="greater").pvalue, rel=1e-12)
