"""Mahalanobis matching against MatchIt 4.7.2 (issue 16): ``mahvars`` inside a propensity-score
caliper and ``distance="mahalanobis"`` on lalonde, and ``mahvars`` on simulated data full of
tied distances. Reference files: tests/reference/matchit/k_* and h_* (README_mahvars.md).

What is checked, and why not "the same pairs". Two controls can be at exactly the same
Mahalanobis distance from a treated person without having the same covariates (NSW79, aged 40
with 11 years of schooling, is as far from PSID412, 53 and 12 years, as from PSID423, 27 and 10
years: mirror images). In floating point one of the two distances comes out a few ulps smaller
and MatchIt takes that one, so MatchIt's pair depends on the rounding of the BLAS/LAPACK R is
linked to (these files: R's reference BLAS and LAPACK 3.11). pceval treats squared distances
within 1e-12 x (d2 + |z_t|^2) as tied and gives a tie to the control MatchIt's search meets last
(docs/matching.md, pceval.matching.nearest), so its pairs do not depend on the BLAS. So the tests
check, with distances computed exactly in rational arithmetic, that MatchIt's pairs and pceval's
are both greedy nearest-neighbour matchings (every control taken is an exact nearest available
one) and that they part where a tie is broken the other way; that the matched treated and the
numbers of matched controls are MatchIt's; that pceval's estimator gives MatchIt's ATT and SEs
on MatchIt's own matched sample (so what remains is due to the ties); and the measured size of
the differences in ATT and SE.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import pceval.matching.api as match_api
from _reference import MATCHIT
from pceval.effects import estimate_effect
from pceval.errors import PcevalWarning
from pceval.matching import match
from pceval.matching.distance import mahalanobis_transform
from pceval.matching.nearest import _mahalanobis_pick, _sq_dist, _tie_tolerance

COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
MAHVARS = ["age", "educ", "re74", "re75"]
CFG = "k_nearest_mahvars_caliper025"
MAHAL = "h_nearest_mahalanobis"
KWARGS = {CFG: {"caliper": 0.25, "mahvars": MAHVARS}, MAHAL: {"distance": "mahalanobis"}}
VCOV = {"classical": "classical", "HC3": "HC3", "CL_subclass_HC1": "cluster"}

# Measured (pceval against MatchIt 4.7.2's files): (treated, MatchIt's control, pceval's control)
# in the order the treated are matched. The first of each list is an exact tie broken the other
# way (mirror images); the others follow from it (the control MatchIt gave them was taken, or a
# further tie between controls with identical covariates went to the other available one).
DIFFERING = {
    CFG: [("NSW79", "PSID412", "PSID423"), ("NSW86", "PSID423", "PSID399"),
          ("NSW8", "PSID399", "PSID389"), ("NSW36", "PSID389", "PSID412")],
    MAHAL: [("NSW89", "PSID383", "PSID407"), ("NSW96", "PSID407", "PSID245")],
}


def ref(name: str) -> pd.DataFrame:
    return pd.read_csv(MATCHIT / name)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(MATCHIT / "lalonde.csv")


@pytest.fixture(scope="module")
def results(lalonde):
    return {cfg: _quiet(match, lalonde, "treat", COVS, **kw) for cfg, kw in KWARGS.items()}


@pytest.fixture(scope="module")
def m(results):
    return results[CFG]


def _pairs(result, ids: np.ndarray) -> dict:
    return {ids[f]: tuple(ids[c] if c >= 0 else None for c in row)
            for f, row in zip(result.focal_rows, result.match_matrix, strict=True)}


def _ref_pairs(mm: pd.DataFrame) -> dict:
    cols = [c for c in mm.columns if c.startswith("control_")]
    return {r["treated_id"]: tuple(None if pd.isna(r[c]) else r[c] for c in cols)
            for _, r in mm.iterrows()}


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


# ------------------------------------------------------------------ exact arithmetic
def _exact_integers(X: np.ndarray) -> np.ndarray:
    """The doubles of each column times a power of two that makes them all integers (exact)."""
    out = np.empty(X.shape, dtype=object)
    for j in range(X.shape[1]):
        fr = [Fraction(float(v)) for v in X[:, j]]
        scale = max(f.denominator for f in fr)        # denominators are powers of two
        out[:, j] = [int(f * scale) for f in fr]
    return out


class ExactMahalanobis:
    """Squared Mahalanobis distances with the pooled within-group covariance, in exact rational
    arithmetic: ``d2(i, j) = (x_i - x_j)' S^-1 (x_i - x_j)`` with ``S`` the cross-products of
    each group's deviations from its own mean over ``n - 2``. ``X`` must have full rank (factors
    with one level dropped: the Mahalanobis distance with a generalised inverse is the same)."""

    def __init__(self, X: np.ndarray, treat: np.ndarray, keep: np.ndarray) -> None:
        self.Xi = _exact_integers(X)
        p = X.shape[1]
        C = [[Fraction(0)] * p for _ in range(p)]
        for g in np.unique(treat[keep]):
            rows = self.Xi[keep & (treat == g)]
            sums = [sum(rows[:, a].tolist()) for a in range(p)]
            for a in range(p):
                for b in range(p):
                    C[a][b] += (sum((rows[:, a] * rows[:, b]).tolist())
                                - Fraction(sums[a] * sums[b], len(rows)))
        A = [C[i][:] + [Fraction(int(i == j)) for j in range(p)] for i in range(p)]
        for c in range(p):                                  # Gauss-Jordan in rationals
            r = next(r for r in range(c, p) if A[r][c] != 0)
            A[c], A[r] = A[r], A[c]
            A[c] = [x / A[c][c] for x in A[c]]
            for r in range(p):
                if r != c and A[r][c] != 0:
                    A[r] = [x - A[r][c] * y for x, y in zip(A[r], A[c], strict=True)]
        inv = [row[p:] for row in A]
        self.den = math.lcm(*(v.denominator for row in inv for v in row))
        self.num = np.array([[int(v * self.den) for v in row] for row in inv], dtype=object)
        self.n_minus_2 = int(keep.sum()) - 2

    def key(self, f: int, ctrl: np.ndarray) -> list[int]:
        """Integers proportional to ``d2(f, c)`` for each ``c`` (exact; for comparisons)."""
        d = self.Xi[ctrl] - self.Xi[f]
        return ((d @ self.num) * d).sum(axis=1).tolist()

    def d2(self, f: int, c: int) -> Fraction:
        return Fraction(self.n_minus_2 * self.key(f, np.array([c]))[0], self.den)


def _exact_greedy_ties(mm: np.ndarray, focal_rows: np.ndarray, order: np.ndarray, allowed,
                       exact: ExactMahalanobis) -> list[tuple[int, list[int]]]:
    """Check that ``mm`` (control rows per focal person and round, -1 none) is a greedy
    nearest-neighbour matching in exact arithmetic: processing focal people in ``order``, each
    takes an available control (``allowed(f)``, not used before) at the smallest exact distance,
    and is unmatched only if none is available. Returns the exact ties met: (focal row, tied
    control rows)."""
    used: set[int] = set()
    active = np.ones(len(focal_rows), bool)
    ties = []
    for r in range(mm.shape[1]):
        for i in order:
            if not active[i]:
                assert mm[i, r] < 0
                continue
            f = int(focal_rows[i])
            cand = np.array([c for c in allowed(f) if c not in used and c not in mm[i, :r]],
                            dtype=np.int64)
            if len(cand) == 0:
                assert mm[i, r] < 0, (f, r)
                if r == 0:
                    active[i] = False      # no first control: no later rounds either
                continue
            keys = exact.key(f, cand)
            nearest = cand[[k == min(keys) for k in keys]].tolist()
            assert mm[i, r] in nearest, (f, r, int(mm[i, r]), nearest)
            if len(nearest) > 1:
                ties.append((f, nearest))
            used.add(int(mm[i, r]))
    return ties


def _lalonde_exact(lalonde: pd.DataFrame, cfg: str) -> ExactMahalanobis:
    cols = MAHVARS if cfg == CFG else COVS
    t = lalonde["treat"].to_numpy()
    return ExactMahalanobis(_design(lalonde, cols, drop_first=True), t, np.ones(len(t), bool))


# ------------------------------------------------------------------ lalonde (issue 16)
def test_caliper_and_order(m):
    info = ref(f"{CFG}_versions.csv").set_index("item")["value"]
    assert m.caliper == pytest.approx(float(info["caliper_raw"]), rel=1e-12)
    assert m.settings["m_order"] == "largest"     # MatchIt's default with a propensity score
    assert info["MatchIt"] == "4.7.2"


@pytest.mark.parametrize("cfg", [CFG, MAHAL])
def test_matched_treated_and_counts_are_matchits(lalonde, results, cfg):
    ids = lalonde["id"].to_numpy()
    got = _pairs(results[cfg], ids)
    expected = _ref_pairs(ref(f"{cfg}_match_matrix.csv"))
    assert got.keys() == expected.keys()
    assert {k for k, v in got.items() if v[0]} == {k for k, v in expected.items() if v[0]}
    n = 116 if cfg == CFG else 185
    assert sum(v[0] is not None for v in got.values()) == n
    mine = {c for v in got.values() for c in v if c}
    theirs = {c for v in expected.values() for c in v if c}
    assert len(mine) == len(theirs) == n
    if cfg == CFG:
        # the four differing pairs share out the same four controls
        assert mine == theirs
    else:
        # NSW96 takes PSID245 instead of the PSID407 that NSW89 took in the tie
        assert mine - theirs == {"PSID245"} and theirs - mine == {"PSID383"}


@pytest.mark.parametrize("cfg", [CFG, MAHAL])
def test_pairs_differ_from_matchit_only_through_exact_ties(lalonde, results, cfg):
    """Both MatchIt's pairs and pceval's are greedy nearest-neighbour matchings in exact
    arithmetic, and they part at a tie: the first treated person whose control differs is
    exactly as far from both controls, whose covariates are mirror images around theirs."""
    res = results[cfg]
    ids = lalonde["id"].to_numpy()
    row = {v: i for i, v in enumerate(ids)}
    t = lalonde["treat"].to_numpy()
    exact = _lalonde_exact(lalonde, cfg)
    focal = res.focal_rows
    mm_r = ref(f"{cfg}_match_matrix.csv").set_index("treated_id")["control_1"]
    theirs = np.array([[row[c] if isinstance(c, str) else -1] for c in mm_r.loc[ids[focal]]])
    ctrl = np.flatnonzero(t == 0)
    if cfg == CFG:
        units = ref(f"{cfg}_units.csv")
        ps_r = units["distance"].to_numpy()
        width_r = float(ref(f"{cfg}_versions.csv").set_index("item").loc["caliper_raw", "value"])
        order = np.argsort(-ps_r[focal], kind="stable")          # largest score first
        np.testing.assert_array_equal(order, np.argsort(-res.distance[focal], kind="stable"))

        def allowed_r(f):
            return ctrl[np.abs(ps_r[ctrl] - ps_r[f]) <= width_r]

        def allowed(f):
            return ctrl[np.abs(res.distance[ctrl] - res.distance[f]) <= res.caliper]
    else:
        order = np.arange(len(focal))                              # data order

        def allowed(f):
            return ctrl
        allowed_r = allowed
    ties_r = _exact_greedy_ties(theirs, focal, order, allowed_r, exact)
    ties = _exact_greedy_ties(res.match_matrix, focal, order, allowed, exact)
    assert len(ties) == len(ties_r) == (7 if cfg == CFG else 10)
    differing = [(ids[focal[i]], ids[theirs[i, 0]], ids[res.match_matrix[i, 0]])
                 for i in order if theirs[i, 0] != res.match_matrix[i, 0]]
    assert differing == DIFFERING[cfg]
    first, a, b = (row[x] for x in differing[0])
    assert exact.d2(first, a) == exact.d2(first, b)
    assert (first, sorted([a, b])) in [(f, sorted(c)) for f, c in ties]
    X = _design(lalonde, MAHVARS if cfg == CFG else COVS)
    np.testing.assert_array_equal(X[a] - X[first], X[first] - X[b])


@pytest.mark.parametrize("cfg", [CFG, MAHAL])
def test_pairs_do_not_depend_on_rounding(lalonde, results, cfg, monkeypatch):
    """Another BLAS rounds the transform differently: changing every transformed value by up to
    8 ulps (the same change for people with the same covariates) leaves the pairs as they are.
    Without the tie tolerance the same changes move 2 to 4 pairs (measured)."""
    base = results[cfg].match_matrix
    transform = match_api.mahalanobis_transform

    def jittered(seed):
        def tf(X, treat, keep=None):
            Z = transform(X, treat, keep)
            _, person = np.unique(X, axis=0, return_inverse=True)
            k = np.random.default_rng(seed).integers(-8, 9, size=(person.max() + 1, Z.shape[1]))
            return Z * (1 + k[person.ravel()] * np.finfo(float).eps)
        return tf

    moved = []
    for seed in range(6):
        monkeypatch.setattr(match_api, "mahalanobis_transform", jittered(seed))
        got = _quiet(match, lalonde, "treat", COVS, **KWARGS[cfg]).match_matrix
        np.testing.assert_array_equal(got, base)
        monkeypatch.setattr("pceval.matching.nearest.TIE_RTOL", 0.0)
        moved.append(int((_quiet(match, lalonde, "treat", COVS, **KWARGS[cfg]).match_matrix
                          != base).sum()))
        monkeypatch.undo()
    assert max(moved) > 0


def test_weights_subclasses_and_scores(lalonde, m):
    units = ref(f"{CFG}_units.csv")
    assert (units["id"] == lalonde["id"]).all()
    # the same 116 + 116 people with weight 1 (the differing pairs swap controls among themselves)
    np.testing.assert_array_equal(m.weights, units["weights"].to_numpy())
    np.testing.assert_allclose(m.distance, units["distance"], rtol=0, atol=1e-12)
    md = m.matched_data()
    got = {frozenset(g["id"]) for _, g in md.groupby("subclass")}
    r = units[units["subclass"].notna()]
    expected = {frozenset(g["id"]) for _, g in r.groupby("subclass")}
    assert len(got) == len(expected) == 116
    assert len(got & expected) == 112                 # the 4 pairs of DIFFERING[CFG] differ


BAL_COLS = {"Means Treated": "mean_treated", "Means Control": "mean_control",
            "Std. Mean Diff.": "smd", "Var. Ratio": "var_ratio", "eCDF Mean": "ecdf_mean",
            "eCDF Max": "ecdf_max", "Std. Pair Dist.": "std_pair_dist"}


def test_mahalanobis_weights_and_balance(lalonde, results):
    """distance="mahalanobis": with MatchIt's weights and pairs pceval's balance table is
    MatchIt's (tolerances of test_matching.py); with its own, the "all" rows are MatchIt's and the
    matched control means differ by exactly (PSID245 - PSID383) / 185, the one swapped control
    (SMDs by at most 2.7e-3, measured)."""
    m = results[MAHAL]
    units = ref(f"{MAHAL}_units.csv")
    ids = lalonde["id"].to_numpy()
    row = {v: i for i, v in enumerate(ids)}
    swapped = np.flatnonzero(m.weights != units["weights"].to_numpy())
    assert sorted(ids[swapped]) == ["PSID245", "PSID383"]
    mm_r = ref(f"{MAHAL}_match_matrix.csv").set_index("treated_id")["control_1"]
    theirs = dataclasses.replace(
        m, weights=units["weights"].to_numpy(float),
        subclass=units["subclass"].fillna(-1).astype(int).to_numpy(),
        match_matrix=np.array([[row[c]] for c in mm_r.loc[ids[m.focal_rows]]]))
    table = ref(f"{MAHAL}_balance.csv")
    X = _design(lalonde, COVS)
    names = ["age", "educ", "raceblack", "racehispan", "racewhite", "married", "nodegree",
             "re74", "re75"]
    shift = dict(zip(names, (X[row["PSID245"]] - X[row["PSID383"]]) / 185, strict=True))
    for result, own in ((theirs, False), (m, True)):
        got = result.balance().to_frame()
        mg = table.merge(got, left_on=["sample", "variable"], right_on=["sample", "covariate"],
                         how="outer", indicator=True)
        assert (mg["_merge"] == "both").all()
        for r_col, p_col in BAL_COLS.items():
            exp = np.array(mg[r_col], dtype=float)
            obs = mg[p_col].to_numpy(float)
            np.testing.assert_array_equal(np.isnan(exp), np.isnan(obs), err_msg=p_col)
            ok = ~np.isnan(exp)
            if own and p_col != "mean_treated":              # the treated are the same
                moved = (mg["sample"] == "matched").to_numpy() & ok
                if p_col == "mean_control":
                    exp[moved] += mg.loc[moved, "variable"].map(shift).to_numpy(float)
                else:
                    np.testing.assert_allclose(obs[moved], exp[moved], rtol=0, atol=6e-3,
                                               err_msg=p_col)
                    ok &= ~moved
            np.testing.assert_allclose(obs[ok], exp[ok], rtol=1e-10, atol=1e-13, err_msg=p_col)


def _matchits_sample(lalonde: pd.DataFrame, cfg: str) -> pd.DataFrame:
    units = ref(f"{cfg}_units.csv")
    assert (units["id"] == lalonde["id"]).all()
    md = lalonde.assign(weights=units["weights"].to_numpy(), subclass=units["subclass"].to_numpy())
    return md[md["weights"] > 0]


@pytest.mark.parametrize("cfg", [CFG, MAHAL])
@pytest.mark.parametrize("model", ["adjusted", "unadjusted"])
def test_att_and_se_against_matchit(lalonde, results, cfg, model):
    """On MatchIt's own matched sample pceval's estimator gives MatchIt's ATT and SEs (1e-10);
    on pceval's pairs the differences are those the ties make (measured, lalonde):

    * mahvars in the caliper: the same matched people and weights, so the ATT and the classical
      and HC3 SEs are MatchIt's (measured 6.7e-15 relative); 4 of 116 pairs are formed
      differently, so the pair-clustered SE is 915.768 against MatchIt's 915.504 adjusted
      (+2.9e-4 relative) and 925.708 against 925.854 unadjusted (-1.6e-4).
    * distance="mahalanobis": one control differs (PSID245 for PSID383; both have re78 = 0), so
      the unadjusted ATT is MatchIt's (538.563) and the adjusted one is 1248.753 against
      1244.168 (+4.58, 0.006 SE); SEs differ by at most 5.3e-4 relative (pair-clustered
      adjusted 778.936 against 779.195).

    MatchIt's own pairs in such ties depend on the BLAS R is linked to.
    """
    rows = ref(f"{cfg}_effect.csv")
    rows = rows[rows["model"] == model]
    covs = COVS if model == "adjusted" else None
    theirs = _matchits_sample(lalonde, cfg)
    # with mahvars the same people are matched; with distance="mahalanobis" the one control that
    # differs has the same re78, so the unadjusted fit sees the same numbers
    same_numbers = cfg == CFG or model == "unadjusted"
    for _, r in rows.iterrows():
        vc = VCOV[r["vcov"]]
        cluster = "subclass" if vc == "cluster" else None
        on_theirs = _quiet(estimate_effect, theirs, "re78", treatment="treat", covariates=covs,
                           vcov=vc, cluster=cluster).absolute
        assert on_theirs["estimate"] == pytest.approx(r["estimate"], rel=1e-10)
        assert on_theirs["std_error"] == pytest.approx(r["se"], rel=1e-10), r["vcov"]
        res = _quiet(estimate_effect, results[cfg], outcome="re78", covariates=covs, vcov=vc,
                     cluster=cluster)
        a = res.absolute
        assert res.n == r["n_rows"] and res.df_resid == r["df_resid"]
        if same_numbers:
            assert a["estimate"] == pytest.approx(r["estimate"], rel=1e-10)
        else:
            assert a["estimate"] - r["estimate"] == pytest.approx(4.584, abs=1e-3)
        if same_numbers and vc != "cluster":
            assert a["std_error"] == pytest.approx(r["se"], rel=1e-10)
        else:
            assert a["std_error"] == pytest.approx(r["se"], rel=6e-4), r["vcov"]
        if vc == "cluster":
            assert res.n_clusters == r["n_clusters"]


def test_default_effect_is_the_recommended_pair_clustered_one(m):
    rec = ref(f"{CFG}_effect.csv")
    rec = rec[(rec["model"] == "adjusted") & rec["recommended"]].iloc[0]
    assert rec["vcov"] == "CL_subclass_HC1"
    res = _quiet(estimate_effect, m, outcome="re78", covariates=COVS)
    assert res.vcov == "cluster"
    # 915.768 against MatchIt's 915.504: 4 pairs formed differently (see above)
    assert res.absolute["std_error"] == pytest.approx(rec["se"], rel=6e-4)


# ------------------------------------------------------------------ the transform
@pytest.mark.parametrize("cfg", [CFG, MAHAL])
def test_transform_gives_exact_mahalanobis_distances_and_matchits_search_order(lalonde, cfg):
    """Squared distances between transformed rows equal the exact Mahalanobis distances to
    1e-13 x (d2 + |z_t|^2) (measured 2.4e-15 with mahvars, 9.7e-15 for all seven covariates,
    where the race dummies make the covariance singular; MatchIt's own transform: 8.5e-16 and
    1.7e-15), the transformed covariates are MatchIt's to 1e-13 (measured 2.1e-14), and the
    first column orders everyone as MatchIt's does (the order of its search)."""
    t = lalonde["treat"].to_numpy()
    cols = MAHVARS if cfg == CFG else COVS
    Z = mahalanobis_transform(_design(lalonde, cols), t)
    Zr = ref(f"{CFG}_mahcovs.csv" if cfg == CFG else "k_mahalanobis_full_mahcovs.csv")
    Zr = Zr.filter(like="z").to_numpy()
    np.testing.assert_allclose(Z, Zr, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(np.argsort(Z[:, 0], kind="stable"),
                                  np.argsort(Zr[:, 0], kind="stable"))
    exact = _lalonde_exact(lalonde, cfg)
    treated, controls = np.flatnonzero(t == 1)[::4], np.flatnonzero(t == 0)[::3]
    worst = 0.0
    for f in treated:
        keys = exact.key(int(f), controls)
        d2_exact = np.array([float(Fraction(exact.n_minus_2 * k, exact.den)) for k in keys])
        err = np.abs(_sq_dist(Z[controls], Z[f]) - d2_exact) / (d2_exact + Z[f] @ Z[f])
        worst = max(worst, float(err.max()))
    assert worst < 1e-13


def test_identical_people_get_identical_transformed_rows():
    """Controls with the same covariates are at distance 0 from each other and keep their data
    order in MatchIt's search, whatever the BLAS (the product is summed in a fixed order)."""
    rng = np.random.default_rng(5)
    base = np.column_stack([rng.integers(18, 80, 50), rng.normal(size=50),
                            rng.exponential(900, 50).round(2)])
    X = base[rng.integers(0, 50, 20_003)]
    t = (rng.random(len(X)) < 0.3).astype(int)
    Z = mahalanobis_transform(X, t)
    _, first, person = np.unique(X, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(Z, Z[first[person.ravel()]])


def test_squared_distance_is_summed_column_by_column():
    rng = np.random.default_rng(3)
    Zc, zt = rng.normal(size=(500, 6)), rng.normal(size=6)
    expected = np.zeros(500)
    for j in range(6):
        expected = expected + (zt[j] - Zc[:, j]) ** 2
    np.testing.assert_array_equal(_sq_dist(Zc, zt), expected)


def test_tie_rule():
    """Within 1e-12 x (d2 + |z_t|^2) of the smallest is a tie, won by the largest search time;
    further away is not."""
    zt = np.array([3.0, 4.0])                                   # |z_t|^2 = 25
    assert _tie_tolerance(1.0, zt) == pytest.approx(26e-12, rel=1e-15)
    d2 = np.array([1.0, 1.0 + 2e-11, 1.0 + 3e-11, 1.0 - 1e-16])
    scan = np.array([4, 9, 11, 1])
    assert _mahalanobis_pick(d2, scan, _tie_tolerance(d2.min(), zt)) == 1
    assert _mahalanobis_pick(d2, scan, 0.0) == 3                # exact comparison


# ------------------------------------------------------------------ simulated data
SYNTH = {
    "m1": {"mahvars": ["x1", "x2", "x5"], "caliper": 0.25},
    "m3": {"mahvars": ["x1", "x3"], "caliper": 0.3, "ratio": 2},
    "m4": {"mahvars": ["x1", "x2", "x5"], "caliper": 0.5, "discard": "both"},
    "m5": {"mahvars": ["x1", "x2"], "exact": ["x4"]},
}
# treated people whose controls differ from MatchIt's (measured), of 122
SYNTH_DIFFERING = {"m1": 2, "m3": 18, "m4": 1, "m5": 6}


@pytest.mark.parametrize("cfg", list(SYNTH))
def test_simulated_ties_both_exact_greedy_matchings(cfg):
    """Integer covariates make many exact ties. MatchIt's pairs and pceval's are both greedy
    nearest-neighbour matchings in exact arithmetic (checked with the rounds, caliper, exact
    strata and discarding of each configuration), with the same matched treated and the same
    number of controls; they differ where ties were broken differently."""
    d = ref("k_synth_data.csv")
    kw = SYNTH[cfg]
    res = _quiet(match, d, "treat", ["x1", "x2", "x3", "x4", "x5", "x6"], **kw)
    ids = d["id"].to_numpy()
    row = {v: i for i, v in enumerate(ids)}
    t = d["treat"].to_numpy()
    keep = ~res.discarded
    exact = ExactMahalanobis(_design(d, kw["mahvars"], drop_first=True), t, keep)
    mm_r = ref(f"k_synth_{cfg}_match_matrix.csv").set_index("treated_id")
    cols = [c for c in mm_r.columns if c.startswith("control_")]
    focal = res.focal_rows
    theirs = np.array([[row[v] if isinstance(v, str) else -1 for v in mm_r.loc[ids[f], cols]]
                       for f in focal])
    ctrl = np.flatnonzero((t == 0) & keep)
    strata = d["x4"].to_numpy() if "exact" in kw else np.zeros(len(d))
    ps = res.distance
    order = np.argsort(-ps[focal], kind="stable")

    def allowed(f):
        c = ctrl[strata[ctrl] == strata[f]]
        return c if res.caliper is None else c[np.abs(ps[c] - ps[f]) <= res.caliper]

    _exact_greedy_ties(theirs, focal, order, allowed, exact)
    _exact_greedy_ties(res.match_matrix, focal, order, allowed, exact)
    mine = res.match_matrix
    np.testing.assert_array_equal(mine[:, 0] >= 0, theirs[:, 0] >= 0)
    assert (mine >= 0).sum() == (theirs >= 0).sum()
    assert int((mine != theirs).any(axis=1).sum()) == SYNTH_DIFFERING[cfg]


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
