"""att_gt with continuous covariates inside the engine equals the in-memory path.

The per-unit path (:mod:`pceval.did._in_engine_continuous`) fits the propensity score by IRLS
with one aggregation per step and returns per-group Gram matrices (or cluster sums) of the
influence functions. Every estimate, SE, aggregation and the pre-test must equal the in-memory
path to 1e-9 (relative) on pandas, polars (lazy), DuckDB and Spark local; the influence
functions' Gram matrices by group (unclustered) and cluster sums (clustered) must equal those
of the in-memory unit-level influence functions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.test_in_engine import _ATT_ARGS, RTOL, _local_engine, _staggered, assert_same_frame

DESIGNS = {
    "dr": dict(method="dr", covariates=["x"]),
    "ipw_weighted_two_covariates": dict(method="ipw", covariates=["x", "q"], weights="w"),
    "reg_weighted": dict(method="reg", covariates=["x"], weights="w"),
    "dr_clustered": dict(method="dr", covariates=["x"], cluster="pcn"),
    "dr_clustered_not_yet_universal": dict(method="dr", covariates=["x"], cluster="pcn",
                                           control_group="not_yet_treated",
                                           base_period="universal"),
}


def _with_x(n, seed=5, T=6):
    """The staggered panel plus a continuous baseline covariate ``x`` that shifts the trends
    and the chance of being treated."""
    df = _staggered(n, T=T)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)[df["unit"]] + 0.3 * (df["g"] > 0)
    return df.assign(x=x, y=df["y"] + 0.2 * x * df["t"])


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def _check(design, to_engine, monkeypatch, n=400):
    from pceval.did import _in_engine_attgt, att_gt

    monkeypatch.setattr(_in_engine_attgt, "MAX_STRATA", 20)  # x is continuous: per-unit path
    df = _with_x(n)
    kw = dict(DESIGNS[design], n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = att_gt(df, **_ATT_ARGS, **kw)
        got = _att_gt_direct(to_engine(df), **kw)
    assert "in-engine" in got.settings["engine"]
    assert got.exclusions == ref.exclusions and got.n_units == ref.n_units
    assert_same_frame(ref.to_frame(), got.to_frame())
    for kind in ("simple", "dynamic", "group", "calendar"):
        assert_same_frame(ref.aggregate(kind, n_boot=0).to_frame(),
                          got.aggregate(kind, n_boot=0).to_frame())
    np.testing.assert_allclose(got.pretest["statistic"], ref.pretest["statistic"], rtol=RTOL)
    _check_influence(ref, got)
    return ref, got


def _att_gt_direct(data, **kw):
    from tests.test_in_engine import _att_gt_in_engine

    return _att_gt_in_engine(data, **kw)


def _check_influence(ref, got):
    """The unit-level influence functions (with the weight column) and the engine's pseudo-units
    have the same Gram matrix within each group, or the same cluster sums."""
    Ri, Gi = ref.influence.toarray(), got.influence.toarray()
    if got.clusters is None:
        assert str(got.unit_ids[0]).startswith("group")  # the per-unit path's pseudo-units
        for g in np.unique(ref.unit_group):
            a = np.column_stack([Ri[ref.unit_group == g], ref.unit_weights[ref.unit_group == g]])
            b = np.column_stack([Gi[got.unit_group == g], got.unit_weights[got.unit_group == g]])
            assert _rel(a.T @ a, b.T @ b) < RTOL
    else:
        def sums(res, M):
            ids = np.asarray(res.cluster_ids)[res.clusters]
            order = np.unique(ids)
            return np.array([M[ids == c].sum(axis=0) for c in order])
        assert _rel(sums(ref, Ri), sums(got, Gi)) < RTOL


@pytest.mark.parametrize("engine", ["pandas", "polars_lazy", "duckdb"])
@pytest.mark.parametrize("design", list(DESIGNS))
def test_att_gt_continuous_in_engine_equals_in_memory(design, engine, monkeypatch):
    if engine == "polars_lazy":
        pl = pytest.importorskip("polars")
        to_engine = lambda d: pl.from_pandas(d).lazy()  # noqa: E731
    else:
        to_engine = _local_engine(engine)
    _check(design, to_engine, monkeypatch)


@pytest.mark.parametrize("design", ["dr", "dr_clustered"])
def test_att_gt_continuous_in_engine_equals_in_memory_spark(design, spark_session, monkeypatch):
    _check(design, spark_session.createDataFrame, monkeypatch, n=200)


def test_att_gt_continuous_dispatch_and_true_effect():
    """Without any setting, a covariate with more than MAX_STRATA values takes the per-unit path;
    DR with ``x`` recovers the true effect 0.5 that ``x``'s trends bias without it."""
    duckdb = pytest.importorskip("duckdb")
    from pceval.did import _in_engine_attgt, att_gt

    n = _in_engine_attgt.MAX_STRATA + 1000
    df = _with_x(n, T=5)
    df = df.assign(y=df["y"] + 0.5 * df["x"] * df["t"] * (df["g"] > 0))  # trends differ by x
    con = duckdb.connect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = att_gt(df, **_ATT_ARGS, covariates=["x"], n_boot=0)
        got = att_gt(con.from_df(df), **_ATT_ARGS, covariates=["x"], n_boot=0)
        naive = att_gt(con.from_df(df), **_ATT_ARGS, n_boot=0)
    assert str(got.unit_ids[0]).startswith("group")
    assert_same_frame(ref.to_frame(), got.to_frame())
    row = got.aggregate("simple").to_frame().iloc[0]
    assert row["ci_lower"] < 0.5 < row["ci_upper"]
    bias = naive.aggregate("simple").to_frame().iloc[0]
    assert not bias["ci_lower"] < 0.5 < bias["ci_upper"]
    left = con.sql("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_pceval%'")
    assert left.fetchall() == []
