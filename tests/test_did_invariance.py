"""att_gt's results do not depend on how the data are written (issue 16).

The multiplier bootstrap draws each unit's (or cluster's) Mammen weights from its own stream,
seeded by the seed and a hash of the id's canonical text (see ``pceval.did._inference``), and
units are summed in a canonical order (``pceval.did._prepare``). So the same seed gives the same
band; ids written as numbers or as text, and rows in any order, give the same estimates, SEs and
band bit for bit; and the bootstrap SEs still agree with the analytic ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _reference import DID
from pceval.did import _inference as inf_
from pceval.did import aggregation, att_gt
from pceval.did._prepare import _canonical_order
from pceval.errors import InputError

KW = dict(outcome="lemp", unit="countyreal", time="year", group="first.treat", n_boot=499,
          seed=7)
AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    df = pd.read_csv(DID / "mpdta.csv")
    df["state"] = df["countyreal"] // 1000
    return df


def _frames(res) -> list[pd.DataFrame]:
    """Every number a user reads: the cells and each aggregation (with its band)."""
    return [res.to_frame(), *(res.aggregate(a).to_frame() for a in AGGREGATIONS)]


def assert_identical(a, b) -> None:
    """Bit-for-bit equality of the cells, every aggregation, the band and the pre-test."""
    assert a.critical_value == b.critical_value
    for fa, fb in zip(_frames(a), _frames(b), strict=True):
        pd.testing.assert_frame_equal(fa, fb, check_exact=True)
    assert a.pretest == b.pretest


def test_same_seed_same_band_and_another_seed_another(mpdta):
    a, b = att_gt(mpdta, **KW), att_gt(mpdta, **KW)
    assert_identical(a, b)
    c = att_gt(mpdta, **{**KW, "seed": 8})
    assert c.critical_value != a.critical_value
    # only the band moves with the seed
    cols = ["estimate", "std_error", "ci_lower", "ci_upper"]
    pd.testing.assert_frame_equal(a.to_frame()[cols], c.to_frame()[cols], check_exact=True)


@pytest.mark.parametrize("cluster", [None, "state"])
def test_ids_written_as_text_give_the_same_results(mpdta, cluster):
    kw = dict(KW, cluster=cluster)
    a = att_gt(mpdta, **kw)
    text = mpdta.assign(countyreal=mpdta["countyreal"].astype(str),
                        state=mpdta["state"].astype(str))
    assert_identical(a, att_gt(text, **kw))
    # as floats, and as object columns of Python ints
    floats = mpdta.assign(countyreal=mpdta["countyreal"].astype(float),
                          state=mpdta["state"].astype(float))
    assert_identical(a, att_gt(floats, **kw))
    objects = mpdta.assign(countyreal=mpdta["countyreal"].astype(object))
    assert_identical(a, att_gt(objects, **kw))


@pytest.mark.parametrize("options", [
    dict(),
    dict(cluster="state"),
    dict(covariates=["lpop"], control_group="not_yet_treated", method="dr"),
    dict(unbalanced="pairwise"),
    dict(unbalanced="repeated_cross_section", method="reg", covariates=["lpop"]),
], ids=["plain", "clustered", "dr_covariate", "pairwise", "rcs"])
def test_shuffled_rows_give_identical_results(mpdta, options):
    data = mpdta
    if "unbalanced" in options:
        data = mpdta.drop(index=np.random.default_rng(0).choice(len(mpdta), 300, replace=False))
    kw = dict(KW, **options)
    a = att_gt(data, **kw)
    for seed in (1, 2):
        shuffled = data.sample(frac=1, random_state=seed)
        assert_identical(a, att_gt(shuffled, **kw))
    # shuffled and written as text at once
    both = data.sample(frac=1, random_state=3).assign(
        countyreal=lambda d: d["countyreal"].astype(str))
    assert_identical(a, att_gt(both, **kw))


def test_bootstrap_se_agrees_with_analytic(mpdta):
    res = att_gt(mpdta, **{**KW, "n_boot": 0})
    se_boot, _ = inf_.multiplier_bootstrap(res.influence, res.n_units, n_boot=4000, seed=3,
                                           keys=res._bootstrap_keys())
    np.testing.assert_allclose(se_boot, res.to_frame()["std_error"].to_numpy(), rtol=0.08)


def test_clustered_bootstrap_se_agrees_with_analytic(mpdta):
    # 61 clusters of counties (with mpdta's 29 states a few clusters dominate some cells and
    # the bootstrap's interquartile SE is 10-20% below the analytic one, under any scheme)
    data = mpdta.assign(cl=mpdta["countyreal"] % 100)
    res = att_gt(data, **{**KW, "n_boot": 0, "cluster": "cl"})
    se_boot, _ = inf_.multiplier_bootstrap(res.influence, res.n_units, n_boot=4000, seed=3,
                                           clusters=res.clusters, keys=res._bootstrap_keys())
    g = res.clusters.max() + 1  # the analytic SE carries the G/(G-1) factor, the bootstrap not
    np.testing.assert_allclose(se_boot * np.sqrt(g / (g - 1)),
                               res.to_frame()["std_error"].to_numpy(), rtol=0.1)


# --- the scheme itself -----------------------------------------------------------------------

def test_a_units_multipliers_depend_only_on_the_seed_and_its_id():
    ids = np.arange(1000, 1300)
    v = inf_.mammen_weights(inf_.stream_starts(inf_.id_keys(ids), 11), 0, 200)
    # the same unit among other units, in another order, written as text
    other = np.array(["1005", "77", "1000", "abc"], dtype=object)
    w = inf_.mammen_weights(inf_.stream_starts(inf_.id_keys(other), 11), 0, 200)
    np.testing.assert_array_equal(w[:, 0], v[:, 5])
    np.testing.assert_array_equal(w[:, 2], v[:, 0])
    # numbers, whole floats and text of the same id share a key
    keys = inf_.id_keys(np.array([17, 17.0, "17", np.int32(17)], dtype=object))
    assert len(set(keys.tolist())) == 1
    assert inf_.id_keys(np.array([17.5]))[0] != inf_.id_keys(np.array([17]))[0]
    # draws are a prefix: the first 100 of 200 are the 100 of n_boot=100; chunks join up
    np.testing.assert_array_equal(inf_.mammen_weights(inf_.stream_starts(inf_.id_keys(ids), 11),
                                                      0, 100), v[:100])
    np.testing.assert_array_equal(inf_.mammen_weights(inf_.stream_starts(inf_.id_keys(ids), 11),
                                                      100, 200), v[100:])
    # another seed, other draws
    u = inf_.mammen_weights(inf_.stream_starts(inf_.id_keys(ids), 12), 0, 200)
    assert (u != v).mean() > 0.3


def test_multipliers_are_mammens_two_points_with_mean_0_and_variance_1():
    v = inf_.mammen_weights(inf_.stream_starts(inf_.id_keys(np.arange(2000)), 2019), 0, 500)
    assert set(np.unique(v)) == {inf_._MAMMEN_LOW, inf_._MAMMEN_HIGH}
    # 1,000,000 draws: mean 0 +- 0.003, variance 1 +- 0.003 (4 SEs)
    assert abs(v.mean()) < 4e-3
    assert abs(v.var() - 1) < 4e-3
    assert abs((v < 0).mean() - inf_._MAMMEN_P) < 2e-3
    # neighbouring units and neighbouring draws are uncorrelated
    c = np.corrcoef(v[:, :-1].ravel(), v[:, 1:].ravel())[0, 1]
    d = np.corrcoef(v[:-1].ravel(), v[1:].ravel())[0, 1]
    assert abs(c) < 5e-3 and abs(d) < 5e-3
    # nor are the four draws that share one stream output (16-bit lanes), at any lag
    for lag in (2, 3, 4):
        assert abs(np.corrcoef(v[:-lag].ravel(), v[lag:].ravel())[0, 1]) < 5e-3, lag
    lanes = v.reshape(125, 4, 2000)
    for q in range(4):  # each lane alone has Mammen's probability
        assert abs((lanes[:, q] < 0).mean() - inf_._MAMMEN_P) < 4e-3, q


def test_blocked_draws_equal_the_plain_product():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(4500, 5))  # several row blocks
    s[rng.random(4500) < 0.5, 2:] = 0  # some blocks with fewer nonzero columns
    s[rng.random(4500) < 0.1] = 0
    starts = inf_.stream_starts(inf_.id_keys(np.arange(4500)), 4)
    got = inf_._bootstrap_draws(s, 700, 301, starts)
    want = inf_.mammen_weights(starts, 0, 301) @ s / 700
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    import scipy.sparse as sparse

    sparse_s = sparse.random(4500, 5, density=0.3, format="csc", random_state=1)
    np.testing.assert_array_equal(inf_._bootstrap_draws(sparse_s, 700, 300, starts),
                                  inf_._bootstrap_draws(sparse_s.toarray(), 700, 300, starts))
    # extra columns are drawn with the same multipliers, as if appended to s
    extra = sparse.random(4500, 3, density=0.2, format="csc", random_state=2)
    both = inf_._bootstrap_draws(sparse_s, 700, 300, starts, extra)
    want = inf_.mammen_weights(starts, 0, 300) @ np.hstack([sparse_s.toarray(),
                                                            extra.toarray()]) / 700
    np.testing.assert_allclose(both, want, rtol=1e-12, atol=1e-13)
    # rows out of order within columns (unsorted CSC indices) read the same
    data, indices = sparse_s.data.copy(), sparse_s.indices.copy()
    for k in range(5):
        a, b = sparse_s.indptr[k], sparse_s.indptr[k + 1]
        data[a:b], indices[a:b] = data[a:b][::-1].copy(), indices[a:b][::-1].copy()
    shuffled = sparse.csc_matrix((data, indices, sparse_s.indptr.copy()), shape=sparse_s.shape)
    assert not shuffled.has_sorted_indices
    np.testing.assert_array_equal(inf_._bootstrap_draws(shuffled, 700, 300, starts),
                                  inf_._bootstrap_draws(sparse_s, 700, 300, starts))


def test_an_aggregations_draws_are_the_linear_map_of_the_cells_draws(mpdta):
    # the band of an aggregation, computed from att_gt's kept draws of the cells and of the
    # group-share columns, equals the band of its influence function drawn directly with the
    # same multipliers (unclustered and clustered, weighted)
    data = mpdta.assign(cl=mpdta["countyreal"] % 50,
                        w=1 + (mpdta["countyreal"] % 7) / 3)
    for extra in ({}, {"cluster": "cl"}, {"weights": "w"}):
        res = att_gt(data, **{**KW, **extra})
        for a in ("dynamic", "group", "calendar"):
            agg = res.aggregate(a)
            _, crit = inf_.multiplier_bootstrap(agg.influence, res.n_units, n_boot=KW["n_boot"],
                                                 seed=KW["seed"], clusters=res.clusters,
                                                 keys=res._bootstrap_keys())
            draws = inf_.bootstrap_draws(agg.influence, res.n_units, n_boot=KW["n_boot"],
                                         seed=KW["seed"], clusters=res.clusters,
                                         keys=res._bootstrap_keys())
            cells = aggregation._cells_of(res)
            if a == "dynamic":
                summary = aggregation._dynamic(cells, res.settings["times"], -np.inf, np.inf,
                                               None)
            elif a == "group":
                summary = aggregation._by_group(cells, np.inf)
            else:
                summary = aggregation._calendar(cells)
            fast = aggregation._cell_draws(res, KW["n_boot"], KW["seed"]) @ np.column_stack(
                summary.coefs)
            np.testing.assert_allclose(fast, draws, rtol=1e-9, atol=1e-13)
            # the band is read from those draws
            _, crit_fast = inf_.band(fast, alpha=1 - res.settings["confidence"])
            assert crit_fast == pytest.approx(crit, rel=1e-9)
            tab = agg.table
            ok = np.isfinite(tab["std_error"].to_numpy())
            band = (tab["band_upper"] - tab["estimate"]).to_numpy()[ok]
            np.testing.assert_allclose(band, crit_fast * tab["std_error"].to_numpy()[ok],
                                       rtol=1e-12)


def test_canonical_order_is_the_same_for_numbers_floats_and_text():
    rng = np.random.default_rng(1)
    v = np.unique(np.concatenate([rng.integers(-10**6, 10**6, 500), [0, -1, 10**15, 2**53,
                                                                     10**18, -(10**18)]]))
    u = rng.permutation(v)
    as_int = u[_canonical_order(u, "id")]
    as_text = u.astype(str).astype(object)
    assert as_int.tolist() == [int(t) for t in as_text[_canonical_order(as_text, "id")]]
    small = u[np.abs(u) < 2**53]
    assert (small[_canonical_order(small, "id")]
            == small.astype(float)[_canonical_order(small.astype(float), "id")]).all()
    # integers first by value, then other ids by their text
    mixed = np.array(["b", 10, "-3", "007", 2.5, "a"], dtype=object)
    assert mixed[_canonical_order(mixed, "id")].tolist() == ["-3", 10, "007", 2.5, "a", "b"]


def test_an_id_written_both_as_a_number_and_as_text_is_refused(mpdta):
    df = mpdta.assign(countyreal=mpdta["countyreal"].astype(object))
    one = df["countyreal"] == df["countyreal"].iloc[0]
    df.loc[one & (df["year"] == 2007), "countyreal"] = str(df["countyreal"].iloc[0])
    with pytest.raises(InputError, match="as a number and as text"):
        att_gt(df, **KW)
    # a cluster written 8 for some units and "8" for others
    state = mpdta["state"].astype(object).where(mpdta["countyreal"] % 2 == 0,
                                                mpdta["state"].astype(str))
    with pytest.raises(InputError, match="as a number and as text"):
        att_gt(mpdta.assign(state=state), **{**KW, "cluster": "state"})


def test_an_aggregations_band_is_the_same_with_the_multipliers_kept_or_drawn_again(mpdta):
    # att_gt keeps its multipliers (one bit each) for the aggregations; drawing them again
    # gives the same band bit for bit
    res = att_gt(mpdta, **KW)
    assert any(isinstance(k, tuple) and k[0] == "mammen" for k in res._cache)
    kept = [res.aggregate(a).to_frame() for a in AGGREGATIONS]
    res._cache.clear()
    drawn = [res.aggregate(a).to_frame() for a in AGGREGATIONS]
    for a, b in zip(kept, drawn, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    # another n_boot or seed draws its own multipliers
    assert res.aggregate("dynamic", n_boot=199).to_frame()["band_lower"].ne(
        kept[2]["band_lower"]).any()


def test_four_draws_per_stream_output_and_the_block_order():
    # draw 4j+q from bits 16q..16q+15 of the stream's j-th output (lowest lane first)
    starts = inf_.stream_starts(inf_.id_keys(np.arange(5)), 3)
    z = starts[None, :] + np.arange(1, 4, dtype=np.uint64)[:, None] * inf_._GOLDEN
    inf_._mix64(z, np.empty_like(z))
    lanes = [(z >> np.uint64(16 * q)) & np.uint64(0xFFFF) for q in range(4)]
    below = np.stack([lane < np.uint64(47422) for lane in lanes], axis=1).reshape(12, 5)
    want = np.where(below, inf_._MAMMEN_LOW, inf_._MAMMEN_HIGH)
    np.testing.assert_array_equal(inf_.mammen_weights(starts, 0, 12), want)
    np.testing.assert_array_equal(inf_.mammen_weights(starts, 1, 4), want[1:4])
    np.testing.assert_array_equal(inf_.mammen_weights(starts, 5, 11), want[5:11])
    # the two values: P(low) = 47422 / 65536, mean 0 and variance 1, Mammen's to within 2e-5
    q = 47422 / 65536
    lo, hi = inf_._MAMMEN_LOW, inf_._MAMMEN_HIGH
    assert q * lo + (1 - q) * hi == pytest.approx(0, abs=1e-15)
    assert q * lo**2 + (1 - q) * hi**2 == pytest.approx(1, abs=1e-14)
    assert abs(q - (np.sqrt(5) + 1) / (2 * np.sqrt(5))) < 2**-17
    assert lo == pytest.approx((1 - np.sqrt(5)) / 2, abs=1e-5)  # 7e-6
    assert hi == pytest.approx((1 + np.sqrt(5)) / 2, abs=2e-5)  # 1.8e-5
    # the blocked product gives the draws (1/n) sum_r v_rb s_r of the plain definition, for a
    # block count that is not a multiple of the lanes and rows with several patterns
    rng = np.random.default_rng(4)
    s_mat = rng.normal(size=(300, 7)) * (rng.random((300, 7)) < 0.5)
    many = inf_.stream_starts(inf_.id_keys(np.arange(300)), 9)
    np.testing.assert_allclose(inf_._bootstrap_draws(s_mat, 300, 37, many),
                               inf_.mammen_weights(many, 0, 37) @ s_mat / 300, rtol=1e-12,
                               atol=1e-15)
    # rows are taken by their first, then last nonzero column; all-zero rows last
    s = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 1, 1], [1, 0, 0]], float)
    np.testing.assert_array_equal(inf_._pattern_order(s), [1, 5, 3, 0, 4, 2])
    import scipy.sparse as sparse

    np.testing.assert_array_equal(inf_._pattern_order(sparse.csc_matrix(s)), [1, 5, 3, 0, 4, 2])
