"""Mahalanobis matching inside a propensity-score caliper (``mahvars``) reproduces MatchIt 4.7.2
exactly (issue 16): pairs, weights, subclasses and the effect with its pair-clustered SE on
lalonde, pairs on simulated data full of tied distances, and the Mahalanobis transform itself
bit for bit. Reference files: tests/reference/matchit/k_* (README_mahvars.md, make_mahvars.R)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from _reference import MATCHIT
from pceval.effects import estimate_effect
from pceval.errors import PcevalWarning
from pceval.matching import _rlinalg as rl
from pceval.matching import match
from pceval.matching.distance import mahalanobis_transform
from pceval.matching.nearest import _sq_dist

COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
MAHVARS = ["age", "educ", "re74", "re75"]
CFG = "k_nearest_mahvars_caliper025"
VCOV = {"classical": "classical", "HC3": "HC3", "CL_subclass_HC1": "cluster"}


def ref(name: str) -> pd.DataFrame:
    return pd.read_csv(MATCHIT / name)


def _quiet_match(data, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        return match(data, *args, **kwargs)


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(MATCHIT / "lalonde.csv")


@pytest.fixture(scope="module")
def m(lalonde):
    return _quiet_match(lalonde, "treat", COVS, caliper=0.25, mahvars=MAHVARS)


def _pairs(result, ids: np.ndarray) -> dict:
    return {ids[f]: tuple(ids[c] if c >= 0 else None for c in row)
            for f, row in zip(result.focal_rows, result.match_matrix, strict=True)}


def _design(data: pd.DataFrame, columns: list[str], drop_first: bool = False) -> np.ndarray:
    """Numeric columns as they are, text columns as 0/1 dummies of their sorted levels."""
    parts = []
    for c in columns:
        if not pd.api.types.is_numeric_dtype(data[c]):
            levels = sorted(data[c].unique())[1 if drop_first else 0:]
            parts += [(data[c] == lev).to_numpy(dtype=float) for lev in levels]
        else:
            parts.append(data[c].to_numpy(dtype=float))
    return np.column_stack(parts)


def _ref_pairs(mm: pd.DataFrame) -> dict:
    cols = [c for c in mm.columns if c.startswith("control_")]
    return {r["treated_id"]: tuple(None if pd.isna(r[c]) else r[c] for c in cols)
            for _, r in mm.iterrows()}


# ------------------------------------------------------------------ lalonde (issue 16)
def test_caliper_and_order(m):
    info = ref(f"{CFG}_versions.csv").set_index("item")["value"]
    assert m.caliper == pytest.approx(float(info["caliper_raw"]), rel=1e-12)
    assert m.settings["m_order"] == "largest"     # MatchIt's default with a propensity score
    assert info["MatchIt"] == "4.7.2"


def test_same_pairs_as_matchit(lalonde, m):
    got = _pairs(m, lalonde["id"].to_numpy())
    expected = _ref_pairs(ref(f"{CFG}_match_matrix.csv"))
    assert got.keys() == expected.keys()
    diff = {k: (expected[k], got[k]) for k in expected if expected[k] != got[k]}
    assert diff == {}
    assert sum(v[0] is not None for v in got.values()) == 116


def test_weights_subclasses_and_scores(lalonde, m):
    units = ref(f"{CFG}_units.csv")
    assert (units["id"] == lalonde["id"]).all()
    np.testing.assert_array_equal(m.weights, units["weights"].to_numpy())
    np.testing.assert_allclose(m.distance, units["distance"], rtol=0, atol=1e-12)
    # the same matched sets (pair ids may be numbered differently)
    md = m.matched_data()
    got = {frozenset(g["id"]) for _, g in md.groupby("subclass")}
    r = units[units["subclass"].notna()]
    expected = {frozenset(g["id"]) for _, g in r.groupby("subclass")}
    assert got == expected and len(got) == 116


@pytest.mark.parametrize("model", ["adjusted", "unadjusted"])
def test_att_and_pair_clustered_se_equal_matchit(m, model):
    rows = ref(f"{CFG}_effect.csv")
    rows = rows[rows["model"] == model]
    for _, r in rows.iterrows():
        vc = VCOV[r["vcov"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PcevalWarning)
            res = estimate_effect(m, outcome="re78",
                                  covariates=COVS if model == "adjusted" else None, vcov=vc,
                                  cluster="subclass" if vc == "cluster" else None)
        a = res.absolute
        assert a["estimate"] == pytest.approx(r["estimate"], rel=1e-10)
        assert a["std_error"] == pytest.approx(r["se"], rel=1e-8), r["vcov"]
        assert res.n == r["n_rows"] and res.df_resid == r["df_resid"]
        if vc == "cluster":
            assert res.n_clusters == r["n_clusters"] == 116


def test_default_effect_is_the_recommended_pair_clustered_one(m):
    rec = ref(f"{CFG}_effect.csv")
    rec = rec[(rec["model"] == "adjusted") & rec["recommended"]].iloc[0]
    assert rec["vcov"] == "CL_subclass_HC1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        res = estimate_effect(m, outcome="re78", covariates=COVS)
    assert res.vcov == "cluster"
    assert res.absolute["std_error"] == pytest.approx(rec["se"], rel=1e-8)


# ------------------------------------------------------------------ the cause: rounding
def test_transform_is_matchits_bit_for_bit(lalonde):
    """MatchIt breaks exact ties in distance by rounding, so the transform must be R's to the
    last bit: here NSW79 is 13 years younger than PSID412 and 13 years older than PSID423
    (same education, no earnings), and R's rounding makes PSID412 nearer by 2e-15."""
    t = lalonde["treat"].to_numpy()
    Z = mahalanobis_transform(lalonde[MAHVARS].to_numpy(dtype=float), t)
    Zr = ref(f"{CFG}_mahcovs.csv").filter(like="z").to_numpy()
    np.testing.assert_array_equal(Z, Zr)
    row = {v: i for i, v in enumerate(lalonde["id"])}
    d412, d423 = (_sq_dist(Z[[row[c]]], Z[row["NSW79"]])[0] for c in ("PSID412", "PSID423"))
    assert d412 < d423 and d423 - d412 < 1e-14


def test_singular_transform_is_matchits_bit_for_bit(lalonde):
    """All seven covariates: the race dummies make the covariance singular (MatchIt's SVD-based
    generalized inverse, ported from LAPACK's dgesdd)."""
    X = _design(lalonde, COVS)
    t = lalonde["treat"].to_numpy()
    Z = mahalanobis_transform(X, t)
    np.testing.assert_array_equal(Z, ref("k_mahalanobis_full_mahcovs.csv").filter(like="z"))
    # factors found from the dummies or given explicitly give the same transform
    fac = np.array([False, False, True, True, True, False, False, False, False])
    np.testing.assert_array_equal(rl.factor_dummy_columns(X), fac)
    np.testing.assert_array_equal(mahalanobis_transform(X, t, factor_columns=fac), Z)


def test_squared_distance_is_summed_column_by_column():
    rng = np.random.default_rng(3)
    Zc, zt = rng.normal(size=(500, 6)), rng.normal(size=6)
    expected = np.zeros(500)
    for j in range(6):
        expected = expected + (zt[j] - Zc[:, j]) ** 2
    np.testing.assert_array_equal(_sq_dist(Zc, zt), expected)


# ------------------------------------------------------------------ simulated data
SYNTH = {
    "m1": {"mahvars": ["x1", "x2", "x5"], "caliper": 0.25},
    "m3": {"mahvars": ["x1", "x3"], "caliper": 0.3, "ratio": 2},
    "m4": {"mahvars": ["x1", "x2", "x5"], "caliper": 0.5, "discard": "both"},
    "m5": {"mahvars": ["x1", "x2"], "exact": ["x4"]},
}


@pytest.mark.parametrize("cfg", list(SYNTH))
def test_simulated_ties_same_pairs_as_matchit(cfg):
    d = ref("k_synth_data.csv")
    res = _quiet_match(d, "treat", ["x1", "x2", "x3", "x4", "x5", "x6"], **SYNTH[cfg])
    got = _pairs(res, d["id"].to_numpy())
    expected = _ref_pairs(ref(f"k_synth_{cfg}_match_matrix.csv"))
    diff = {k: (v, got.get(k)) for k, v in expected.items() if got.get(k) != v}
    assert diff == {}


# ------------------------------------------------------------------ the R arithmetic
def test_r_svd_agrees_with_numpy_and_reconstructs():
    rng = np.random.default_rng(11)
    for n in (2, 3, 5, 9, 17, 25):
        for singular in (False, True):
            B = rng.normal(size=(n, max(1, n - 2) if singular else n))
            S = B @ B.T
            d, u, v = rl._r_svd(S)
            assert np.all(np.diff(d) <= 0)
            np.testing.assert_allclose(d, np.linalg.svd(S, compute_uv=False), atol=1e-12 * d[0])
            np.testing.assert_allclose((u * d) @ v.T, S, atol=1e-12 * d[0])
            np.testing.assert_allclose(u.T @ u, np.eye(n), atol=1e-12)
    A = rng.normal(size=(7, 7))                       # not symmetric
    d, u, v = rl._r_svd(A)
    np.testing.assert_allclose((u * d) @ v.T, A, atol=1e-12)


def test_r_inverse_and_pivoted_cholesky():
    rng = np.random.default_rng(12)
    B = rng.normal(size=(6, 6))
    S = B @ B.T + np.eye(6)
    det, inv = rl._r_det_and_inverse(S)
    assert det == pytest.approx(np.linalg.det(S), rel=1e-12)
    np.testing.assert_allclose(inv @ S, np.eye(6), atol=1e-12)
    R, piv, rank = rl._ref_dpstf2(S)
    assert rank == 6 and sorted(piv) == list(range(6))
    np.testing.assert_allclose(R.T @ R, S[np.ix_(piv, piv)], atol=1e-12)


def test_two_factors_give_the_mahalanobis_distance():
    """With two or more factors MatchIt's transform keeps garbage from the rank-deficient
    Cholesky factor; pceval keeps the Mahalanobis distance (README_mahvars.md)."""
    d = ref("k_synth_data.csv")
    t = d["treat"].to_numpy()
    Z = mahalanobis_transform(_design(d, ["x1", "x3", "x6"]), t)
    Xr = _design(d, ["x1", "x3", "x6"], drop_first=True)
    Xc = Xr.copy()
    for g in (0, 1):
        Xc[t == g] -= Xc[t == g].mean(axis=0)
    Si = np.linalg.inv(Xc.T @ Xc / (len(d) - 2))
    i, j = np.arange(0, 200), np.arange(200, 400)
    diff = Xr[i] - Xr[j]
    np.testing.assert_allclose(((Z[i] - Z[j]) ** 2).sum(axis=1),
                               np.einsum("ij,jk,ik->i", diff, Si, diff), rtol=1e-10, atol=1e-12)
