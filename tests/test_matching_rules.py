"""Matching rules checked by hand: order, ties, calipers, ratio, replacement, strata, ATC,
exact / CEM / subclass weights, rolling entry, determinism and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pceval.errors import EstimationError, InputError, PcevalWarning
from pceval.matching import match
from pceval.matching.cem import coarsen, equal_width_breaks, n_bins
from pceval.matching.nearest import match_distance_no_replace


def scores_frame(treated: list[float], controls: list[float], **extra) -> pd.DataFrame:
    df = pd.DataFrame({"treat": [1] * len(treated) + [0] * len(controls),
                       "ps": treated + controls})
    for k, v in extra.items():
        df[k] = v
    return df


def matched_scores(m) -> dict[float, list[float]]:
    ps = m.data["ps"].to_numpy()
    return {float(ps[f]): [float(ps[c]) for c in row if c >= 0]
            for f, row in zip(m.focal_rows, m.match_matrix, strict=True)}


def test_largest_first_and_ties_to_the_lower_side():
    # binary fractions so the distances are exact: 0.5 is 0.125 from both 0.625 and 0.375
    df = scores_frame([0.875, 0.5], [0.8125, 0.625, 0.375, 0.0625])
    m = match(df, "treat", distance="ps")
    assert matched_scores(m) == {0.875: [0.8125], 0.5: [0.375]}
    assert m.settings["m_order"] == "largest"
    # smallest first: 0.5 takes 0.375 (tie, lower side), then 0.875 takes 0.8125
    m2 = match(df, "treat", distance="ps", m_order="smallest")
    assert matched_scores(m2) == {0.875: [0.8125], 0.5: [0.375]}


def test_order_matters_and_equal_scores_keep_row_order():
    # two treated compete for one good control; the larger score goes first
    df = scores_frame([0.5, 0.75], [0.625, 0.0625])
    assert matched_scores(match(df, "treat", distance="ps")) == {0.75: [0.625], 0.5: [0.0625]}
    assert matched_scores(match(df, "treat", distance="ps", m_order="data")) == {
        0.5: [0.625], 0.75: [0.0625]}
    # a control tied with the treated score: below it if earlier in the data, above if later;
    # the nearest available wins either way (distance 0)
    df2 = pd.DataFrame({"treat": [0, 1, 0], "ps": [0.5, 0.5, 0.5]})
    m = match(df2, "treat", distance="ps")
    assert m.match_matrix[0, 0] == 0          # the earlier control (lower side) wins the tie


def test_caliper_is_inclusive_and_std_caliper_uses_sd():
    df = scores_frame([0.875, 0.5], [0.8125, 0.25])
    with pytest.warns(PcevalWarning, match="1 of 2 focal people had no available control"):
        m = match(df, "treat", distance="ps", caliper=0.0625, std_caliper=False)
    assert matched_scores(m) == {0.875: [0.8125], 0.5: []}
    m2 = match(df, "treat", distance="ps", caliper=0.25, std_caliper=False)
    assert matched_scores(m2) == {0.875: [0.8125], 0.5: [0.25]}       # |0.5 - 0.25| = 0.25 kept
    sd = np.std(df["ps"], ddof=1)
    with pytest.warns(PcevalWarning):
        m3 = match(df, "treat", distance="ps", caliper=0.5)
    assert m3.caliper == pytest.approx(0.5 * sd)


def test_ratio_runs_in_rounds():
    # round 1: 0.9 -> 0.85, 0.5 -> 0.45; round 2: 0.9 -> next nearest available (0.6), 0.5 -> 0.4
    df = scores_frame([0.9, 0.5], [0.85, 0.6, 0.45, 0.4, 0.0])
    m = match(df, "treat", distance="ps", ratio=2)
    got = matched_scores(m)
    assert got == {0.9: [0.85, 0.6], 0.5: [0.45, 0.4]}
    # weights: treated 1, each control 1/2, rescaled so non-zero control weights average 1
    w = m.weights
    assert w[:2].tolist() == [1.0, 1.0]
    assert np.allclose(w[2:6], 1.0) and w[6] == 0
    assert m.subclass.tolist() == [1, 2, 1, 1, 2, 2, -1]


def test_replacement_reuses_controls_and_weights_sum():
    df = scores_frame([0.9, 0.8, 0.1], [0.85, 0.2, 0.0])
    m = match(df, "treat", distance="ps", replace=True)
    assert matched_scores(m) == {0.9: [0.85], 0.8: [0.85], 0.1: [0.0]}
    # control 0.85 serves two treated: weight 2 before rescaling; rescaled to mean 1 over 2 controls
    w = m.weights
    assert w[3] == pytest.approx(2 * 2 / 3) and w[5] == pytest.approx(2 / 3) and w[4] == 0
    assert not m.has_subclass


def test_exact_strata_are_respected():
    df = scores_frame([0.9, 0.8], [0.85, 0.79, 0.1], sex=["f", "m", "m", "f", "m"])
    m = match(df, "treat", distance="ps", exact="sex")
    # 0.9 (f) cannot take 0.85 (m): takes 0.79 (f); 0.8 (m) takes 0.85 (m)
    assert matched_scores(m) == {0.9: [0.79], 0.8: [0.85]}


def test_atc_matches_controls_to_treated():
    df = scores_frame([0.9, 0.6, 0.3], [0.55, 0.35])
    m = match(df, "treat", distance="ps", estimand="ATC")
    ps = df["ps"].to_numpy()
    got = {float(ps[f]): float(ps[c[0]]) for f, c in zip(m.focal_rows, m.match_matrix, strict=True)}
    assert got == {0.55: 0.6, 0.35: 0.3}
    assert m.settings["m_order"] == "smallest"
    assert m.weights.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]


def test_random_order_is_reproducible_with_seed():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"treat": rng.integers(0, 2, 400), "x": rng.normal(size=400),
                       "z": rng.normal(size=400)})
    a = match(df, "treat", ["x", "z"], m_order="random", seed=3)
    b = match(df, "treat", ["x", "z"], m_order="random", seed=3)
    c = match(df, "treat", ["x", "z"], m_order="random", seed=4)
    np.testing.assert_array_equal(a.match_matrix, b.match_matrix)
    assert not np.array_equal(a.match_matrix, c.match_matrix)


def test_union_find_equals_a_naive_greedy_loop():
    rng = np.random.default_rng(11)
    d = np.round(rng.random(600), 2)       # many ties
    t = rng.random(600) < 0.3
    strata = rng.integers(0, 3, 600)
    fr, cr = np.flatnonzero(t), np.flatnonzero(~t)
    order = np.argsort(-d[fr], kind="stable")
    for caliper in (None, 0.02):
        mm = match_distance_no_replace(d, fr, cr, order, ratio=2, caliper=caliper, strata=strata)
        # naive reference: for each round and focal person scan the full sorted list
        allr = np.lexsort((np.arange(600), d, strata))
        used = np.zeros(600, bool)
        ref = np.full((len(fr), 2), -1)
        active = np.ones(len(fr), bool)
        for r in range(2):
            for i in order:
                if not active[i]:
                    continue
                f = fr[i]
                p = np.flatnonzero(allr == f)[0]
                below = [x for x in allr[:p][::-1] if not t[x] and not used[x]
                         and strata[x] == strata[f]]
                above = [x for x in allr[p + 1:] if not t[x] and not used[x]
                         and strata[x] == strata[f]]
                cands = []
                if below:
                    cands.append((d[f] - d[below[0]], 0, below[0]))
                if above:
                    cands.append((d[above[0]] - d[f], 1, above[0]))
                if not cands:
                    active[i] = r > 0 and active[i]
                    continue
                dist, _, c = min(cands)
                if caliper is not None and dist > caliper:
                    if r == 0:
                        active[i] = False
                    continue
                ref[i, r] = c
                used[c] = True
        np.testing.assert_array_equal(mm, ref)


def test_mahvars_within_caliper_takes_the_closest_covariates():
    # both controls inside the PS caliper; Mahalanobis on age picks the closer age
    df = pd.DataFrame({"treat": [1, 0, 0, 0], "ps": [0.5, 0.52, 0.49, 0.9],
                       "age": [40.0, 41.0, 60.0, 40.0]})
    m = match(df, "treat", ["age"], distance="ps", mahvars=["age"], caliper=0.05,
              std_caliper=False)
    assert m.match_matrix[0, 0] == 1
    # without the caliper the perfect age match (row 3) wins
    m2 = match(df, "treat", ["age"], distance="ps", mahvars=["age"])
    assert m2.match_matrix[0, 0] == 3


def test_discard_both_drops_outside_common_support():
    df = scores_frame([0.95, 0.5, 0.3], [0.6, 0.4, 0.05])
    with pytest.warns(PcevalWarning, match="1 treated and 1 untreated"):
        m = match(df, "treat", distance="ps", discard="both")
    assert m.discarded.tolist() == [True, False, False, False, False, True]
    s = m.sample_sizes()
    assert s.loc["Discarded", "treated"] == 1 and s.loc["Discarded", "control"] == 1


def test_exact_and_cem_weights_by_hand():
    df = pd.DataFrame({"treat": [1, 1, 1, 0, 0, 0, 0, 0],
                       "g": ["a", "a", "b", "a", "b", "b", "b", "c"]})
    m = match(df, "treat", ["g"], method="exact")
    # stratum a: 2 treated / 1 control -> control weight 2; b: 1 / 3 -> 1/3 each;
    # rescale so the 4 matched controls' weights sum to 4: factor 4 / 3
    assert m.subclass.tolist() == [1, 1, 2, 1, 2, 2, 2, -1]
    np.testing.assert_allclose(m.weights, [1, 1, 1, 8 / 3, 4 / 9, 4 / 9, 4 / 9, 0])
    ate = match(df, "treat", ["g"], method="exact", estimand="ATE")
    np.testing.assert_allclose(ate.weights, [1.5, 1.5, 4, 3, 4 / 3, 4 / 3, 4 / 3, 0])


def test_cem_coarsening_rules():
    x = np.arange(1, 101, dtype=float)
    assert n_bins(x, "sturges") == 8                     # ceiling(log2(100) + 1)
    br = equal_width_breaks(x, 3)
    assert br[0] == -np.inf and br[-1] == np.inf and br[1] == pytest.approx(34.0)
    df = pd.DataFrame({"x": [0.0, 4.9, 5.0, 10.0], "s": list("aabb")})
    c = coarsen(df, ["x", "s"], {"x": [5.0]})
    assert c["x"].tolist() == [1, 1, 2, 2]               # a value on a cut point goes up
    assert c["s"].tolist() == list("aabb")
    with pytest.raises(InputError, match="cutpoints"):
        coarsen(df, ["x"], {"y": 3})


def test_subclass_method_quantiles_of_treated():
    rng = np.random.default_rng(3)
    n = 2000
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(x - 1)))).astype(int)
    df = pd.DataFrame({"treat": t, "x": x})
    m = match(df, "treat", ["x"], method="subclass", subclass=5)
    counts = pd.Series(m.subclass[t == 1]).value_counts()
    assert len(counts) == 5 and counts.max() - counts.min() <= 1
    assert (m.weights[t == 1] == 1).all()
    assert m.weights[t == 0].sum() == pytest.approx((t == 0).sum())


def test_rolling_entry_uses_each_control_once_and_matches_within_period():
    # two periods; control person 10 is eligible in both and is the best match in both
    df = pd.DataFrame({
        "person": [1, 2, 10, 11, 10, 12],
        "period": [1, 2, 1, 1, 2, 2],
        "treat": [1, 1, 0, 0, 0, 0],
        "ps": [0.5, 0.5, 0.51, 0.7, 0.5, 0.45],
    })
    m = match(df, "treat", distance="ps", unit="person", period="period")
    rows = dict(zip(m.focal_rows.tolist(), m.match_matrix[:, 0].tolist(), strict=True))
    assert rows == {0: 2, 1: 5}        # period 2 cannot reuse person 10 (row 4)
    md = m.matched_data()
    assert sorted(md["person"]) == [1, 2, 10, 12]
    # with replacement person 10 serves both periods (their period-2 row)
    m2 = match(df, "treat", distance="ps", unit="person", period="period", replace=True)
    assert dict(zip(m2.focal_rows.tolist(), m2.match_matrix[:, 0].tolist(), strict=True)) == {
        0: 2, 1: 4}
    with pytest.raises(InputError, match="unit"):
        match(df, "treat", distance="ps", period="period")


def test_caller_frame_is_not_modified():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"treat": rng.integers(0, 2, 300), "age": rng.normal(50, 10, 300),
                       "sex": rng.choice(["f", "m"], 300)})
    before = df.copy()
    with pytest.warns(PcevalWarning):
        m = match(df, "treat", ["age", "sex"], caliper=0.2)
    m.matched_data()
    m.balance()
    pd.testing.assert_frame_equal(df, before)


# ------------------------------------------------------------------------------ bad input
@pytest.fixture()
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame({"treat": (rng.random(n) < 0.3).astype(int), "age": rng.normal(50, 10, n),
                         "sex": rng.choice(["f", "m"], n), "imd": rng.integers(1, 6, n)})


def test_bad_treatment(small):
    df = small.assign(treat=small["treat"] * 2)
    with pytest.raises(InputError, match="'treat' must be 0/1"):
        match(df, "treat", ["age"])
    with pytest.raises(InputError, match="both treated"):
        match(small.assign(treat=1), "treat", ["age"])
    with pytest.raises(InputError, match="missing"):
        match(small.assign(treat=small["treat"].astype(float).where(small.index > 0)),
              "treat", ["age"])


def test_bad_covariates(small):
    with pytest.raises(InputError, match="missing required column"):
        match(small, "treat", ["age", "nope"])
    df = small.copy()
    df.loc[3, "age"] = np.nan
    with pytest.raises(InputError, match="'age' has 1 missing"):
        match(df, "treat", ["age", "sex"])
    with pytest.warns(PcevalWarning, match="constant or collinear"):
        match(small.assign(k=1.0), "treat", ["age", "k"])
    with pytest.raises(InputError, match="at least one"):
        match(small, "treat", [])


def test_bad_arguments(small):
    with pytest.raises(InputError, match="`method`"):
        match(small, "treat", ["age"], method="optimal")
    with pytest.raises(InputError, match="`ratio`"):
        match(small, "treat", ["age"], ratio=0)
    with pytest.raises(InputError, match="`caliper`"):
        match(small, "treat", ["age"], caliper=-1)
    with pytest.raises(InputError, match="ATE"):
        match(small, "treat", ["age"], estimand="ATE")
    with pytest.raises(InputError, match="`caliper` needs a distance"):
        match(small, "treat", ["age"], distance="mahalanobis", caliper=0.2)
    with pytest.raises(InputError, match="`distance`"):
        match(small, "treat", ["age"], distance="nope")
    with pytest.raises(InputError, match="'s' has 200 missing"):
        match(small.assign(s=np.nan), "treat", ["age"], distance="s")
    with pytest.raises(InputError, match="finite"):
        match(small.assign(s=np.inf), "treat", ["age"], distance="s")
    with pytest.raises(InputError, match="`link`"):
        match(small, "treat", ["age"], link="cloglog")


def test_no_match_in_caliper_is_an_error_not_an_empty_result():
    df = scores_frame([0.9, 0.8], [0.1, 0.2])
    with pytest.raises(EstimationError, match="no focal person found a match"):
        match(df, "treat", distance="ps", caliper=0.05, std_caliper=False)


def test_too_few_controls_warns(small):
    df = scores_frame([0.9, 0.8, 0.7], [0.1])
    with pytest.warns(PcevalWarning, match="fewer controls"):
        m = match(df, "treat", distance="ps")
    assert m.n_matched == {"treated": 1, "control": 1}


def test_separation_is_reported():
    # complete separation: the fit cannot converge -> a clear error naming the cause
    df = pd.DataFrame({"treat": [1] * 20 + [0] * 20, "x": list(range(20)) + list(range(30, 50))})
    with pytest.raises(EstimationError, match="separation"):
        match(df, "treat", ["x"])
    # quasi-complete separation by a binary covariate: converges, warns with the count
    rng = np.random.default_rng(1)
    n = 400
    z = rng.normal(size=n)
    flag = np.r_[np.ones(15), np.zeros(n - 15)]
    t = np.where(flag == 1, 1, (rng.random(n) < 0.3).astype(int))
    df2 = pd.DataFrame({"treat": t, "z": z, "flag": flag})
    with pytest.warns(PcevalWarning, match="numerically 0 or 1"):
        m = match(df2, "treat", ["z", "flag"])
    assert m.propensity_model is not None


def test_no_overlap_after_discard():
    df = pd.DataFrame({"treat": [1, 1, 0, 0], "ps": [0.9, 0.8, 0.1, 0.2]})
    with pytest.raises(EstimationError, match="no overlap"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        match(df, "treat", distance="ps", discard="both")


def test_cem_without_common_strata():
    df = pd.DataFrame({"treat": [1, 1, 0, 0], "g": ["a", "a", "b", "b"]})
    with pytest.raises(EstimationError, match="no stratum"):
        match(df, "treat", ["g"], method="cem")


def test_matched_data_column_clash(small):
    m = match(small.assign(weights=1.0), "treat", ["age"])
    with pytest.raises(InputError, match="already has column"):
        m.matched_data()
    assert "w2" in m.matched_data(weights="w2").columns


def _walk_oracle(Z, fr, cr, order, *, ratio=1, replace=False, strata=None, allowed=None):
    """MatchIt's greedy Mahalanobis search written out step by step, independently of pceval:
    rows of the focal person's stratum are lined up by the first transformed covariate (ties in
    row order); starting from the focal person the search looks one step to the left, then one
    to the right, two to the left, two to the right, ...; of the available controls it met, those
    whose squared distance is within 1e-12 x (smallest squared distance + |z_focal|^2) of the
    smallest are tied (pceval's rule for distances equal up to rounding, docs/matching.md), and
    the tied one it met last wins. Round r (ratio > 1) gives each still-matched focal person its
    r-th control."""
    n = len(Z)
    st = np.zeros(n, np.int64) if strata is None else np.asarray(strata)
    is_ctrl = np.zeros(n, bool)
    is_ctrl[cr] = True
    line = {s: sorted(np.flatnonzero(st == s), key=lambda i: (Z[i, 0], i)) for s in np.unique(st)}
    where = {i: k for rows in line.values() for k, i in enumerate(rows)}
    used = np.zeros(n, bool)
    out = np.full((len(fr), ratio), -1)
    for r in range(ratio):
        for i in order:
            if r > 0 and out[i, 0] < 0:
                continue
            f = fr[i]
            rows, p = line[st[f]], where[f]
            d2 = np.einsum("ij,ij->i", Z - Z[f], Z - Z[f])
            met = []  # available controls in the order the search meets them
            for step in range(1, len(rows)):
                for k in (p - step, p + step):  # left first, then right
                    if not 0 <= k < len(rows):
                        continue
                    c = rows[k]
                    if (not is_ctrl[c] or (used[c] and not replace) or c in out[i, :r]
                            or (allowed is not None and not allowed(f, c))):
                        continue
                    met.append(c)
            if met:
                smallest = min(d2[c] for c in met)
                tol = 1e-12 * (smallest + Z[f] @ Z[f])
                best = [c for c in met if d2[c] <= smallest + tol][-1]  # the tie met last
                out[i, r] = best
                used[best] = True
    return out


def test_mahalanobis_kdtree_equals_brute_force_with_ties():
    from pceval.matching.distance import mahalanobis_transform
    from pceval.matching.nearest import match_mahalanobis

    rng = np.random.default_rng(21)
    n = 700
    X = np.column_stack([rng.integers(0, 4, n), rng.integers(0, 3, n), rng.integers(0, 2, n)])
    t = (rng.random(n) < 0.25).astype(np.int8)
    strata = rng.integers(0, 2, n)
    Z = mahalanobis_transform(X.astype(float), t)
    fr, cr = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    order = np.arange(len(fr))
    for ratio, replace in ((1, False), (2, False), (2, True)):
        got = match_mahalanobis(Z, fr, cr, order, ratio=ratio, replace=replace, strata=strata)
        ref = _walk_oracle(Z, fr, cr, order, ratio=ratio, replace=replace, strata=strata)
        assert (ref >= 0).all()
        np.testing.assert_array_equal(got, ref)


def test_exact_column_with_missing_values_and_polars_input(small):
    df = small.assign(sex=small["sex"].where(small.index > 0))
    with pytest.raises(InputError, match="'sex' has 1 missing"):
        match(df, "treat", ["age"], exact=["sex"])
    pl = pytest.importorskip("polars")
    a = match(pl.from_pandas(small), "treat", ["age", "sex"])
    b = match(small, "treat", ["age", "sex"])
    np.testing.assert_array_equal(a.match_matrix, b.match_matrix)


def test_rolling_entry_on_cohort_candidate_periods():
    from pceval.cohort import candidate_index_periods

    rng = np.random.default_rng(4)
    n_t, n_c = 30, 120
    dates = pd.to_datetime(rng.choice(["2021-01-15", "2021-02-10", "2021-03-05"], n_t))
    people = pd.DataFrame({"person_id": np.arange(n_t + n_c),
                           "index_date": list(dates) + [pd.NaT] * n_c,
                           "treated": [True] * n_t + [False] * n_c})
    rows = candidate_index_periods(people)
    # a covariate measured as at each row's period (differs between a control's rows)
    base = rng.normal(size=n_t + n_c)
    rows["risk"] = base[rows["person_id"]] + 0.3 * (rows["index_period"] - 202101)
    rows["age"] = 50 + 10 * base[rows["person_id"]] + rng.normal(size=len(rows))
    m = match(rows, "treated", ["risk", "age"], unit="person_id", period="index_period")
    md = m.matched_data()
    ctrl = md[~md["treated"]]
    assert ctrl["person_id"].is_unique                     # each control person used once
    # every matched set shares one index period (controls get the treated person's period)
    per = md.groupby("subclass")["index_period"].nunique()
    assert (per == 1).all()
    assert md.groupby("subclass")["treated"].sum().eq(1).all()
    assert m.n_matched["treated"] == n_t


def test_mahvars_in_caliper_kdtree_equals_brute_force():
    from pceval.matching.distance import mahalanobis_transform
    from pceval.matching.nearest import match_mahalanobis

    rng = np.random.default_rng(8)
    n = 900
    X = np.column_stack([rng.integers(0, 5, n), rng.normal(size=n).round(1)])
    ps = np.round(rng.random(n), 2)
    t = (rng.random(n) < 0.3).astype(np.int8)
    Z = mahalanobis_transform(X, t)
    fr, cr = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    order = np.argsort(-ps[fr], kind="stable")
    for cal in (0.01, 0.05, 0.3):
        got = match_mahalanobis(Z, fr, cr, order, distance=ps, caliper=cal)
        ref = _walk_oracle(Z, fr, cr, order,
                           allowed=lambda f, c, cal=cal: abs(ps[c] - ps[f]) <= cal)
        np.testing.assert_array_equal(got, ref)
