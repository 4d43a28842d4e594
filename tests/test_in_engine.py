"""Estimators run inside the engine (DuckDB, Spark, polars LazyFrame) give the in-memory numbers.

``did2x2`` on a lazy table is computed from sums the engine returns (:mod:`pceval.did._in_engine`);
the same code runs on pandas and polars when called directly. Every estimate, standard error,
interval and count must equal the in-memory path's to 1e-9 (relative), and the design columns
must be identical. Bad input gives the in-memory path's errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pceval.did import did2x2
from pceval.did._in_engine import runs_in_engine
from pceval.did.two_by_two import _did2x2_in_engine
from pceval.errors import EstimationError, InputError

RTOL = 1e-9


def _panel(n=600, seed=1):
    """Four periods per unit (two before, two after), a count outcome with person-time, an age
    covariate, unit weights and matched sets of three units."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), 4)
    post = np.tile([0, 0, 1, 1], n)
    tr = np.repeat(rng.random(n) < 0.4, 4).astype(int)
    age = np.repeat(rng.normal(50, 10, n), 4)
    pt = rng.uniform(0.5, 1.0, 4 * n)
    y = rng.poisson(pt * np.exp(-1 + 0.01 * age + 0.2 * tr + 0.1 * post - 0.3 * tr * post))
    wt = np.repeat(rng.uniform(0.5, 2.0, n), 4)
    return pd.DataFrame({"unit": unit, "post": post, "treated": tr, "age": age, "pt": pt,
                         "y": y.astype(float), "wt": wt, "setid": unit // 3})


def assert_same_frame(a: pd.DataFrame, b: pd.DataFrame, rtol: float = RTOL) -> None:
    """Same columns; numbers equal to ``rtol`` (relative); everything else identical."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if pd.api.types.is_numeric_dtype(a[c]) and not pd.api.types.is_bool_dtype(a[c]):
            np.testing.assert_allclose(y.astype(float), x.astype(float), rtol=rtol, atol=0,
                                       equal_nan=True, err_msg=c)
        else:
            assert list(x) == list(y), c


DESIGNS = {
    "linear": dict(model="linear"),
    "linear_weighted_clustered": dict(model="linear", covariates=["age"], weights="wt",
                                      cluster="setid"),
    "poisson": dict(model="poisson", exposure="pt", exposure_unit="month", covariates=["age"]),
    "poisson_weighted_clustered": dict(model="poisson", exposure="pt", exposure_unit="year",
                                       weights="wt", cluster="setid"),
}


def _local_engine(name):
    """pandas, polars or DuckDB (Spark is slow: its tests use the session fixture, few and small)."""
    if name == "pandas":
        return lambda df: df
    if name == "polars":
        pl = pytest.importorskip("polars")
        return pl.from_pandas
    duckdb = pytest.importorskip("duckdb")
    return duckdb.connect().from_df


@pytest.mark.parametrize("engine", ["pandas", "polars", "duckdb"])
@pytest.mark.parametrize("design", list(DESIGNS))
def test_did2x2_in_engine_equals_in_memory(design, engine):
    _check_did2x2(design, _local_engine(engine))


@pytest.mark.parametrize("design", ["linear_weighted_clustered", "poisson_weighted_clustered"])
def test_did2x2_in_engine_equals_in_memory_spark(design, spark_session):
    _check_did2x2(design, spark_session.createDataFrame, n=150)


def _check_did2x2(design, to_engine, n=600):
    df = _panel(n)
    kw = DESIGNS[design]
    ref = did2x2(df, outcome="y", treatment="treated", unit="unit", post="post", **kw)
    data = to_engine(df)
    run = did2x2 if runs_in_engine(data) else _did2x2_in_engine  # eager frames: call it directly
    got = run(data, outcome="y", treatment="treated", unit="unit", post="post", **kw)
    assert "in-engine" in got.settings["engine"]
    assert_same_frame(ref.to_frame(), got.to_frame())
    np.testing.assert_allclose(got.cov.to_numpy(), ref.cov.to_numpy(), rtol=1e-8, atol=1e-14)
    assert (got.n_obs, got.n_units, got.n_clusters) == (ref.n_obs, ref.n_units, ref.n_clusters)


def test_did2x2_dispatches_lazy_tables_only():
    duckdb = pytest.importorskip("duckdb")
    pl = pytest.importorskip("polars")
    df = _panel(60)
    assert not runs_in_engine(df) and not runs_in_engine(pl.from_pandas(df))
    assert runs_in_engine(pl.from_pandas(df).lazy())
    assert runs_in_engine(duckdb.connect().from_df(df))
    res = did2x2(pl.from_pandas(df).lazy(), outcome="y", treatment="treated", unit="unit",
                 post="post")
    assert "polars" in res.settings["engine"]


def test_did2x2_in_engine_recovers_a_known_effect():
    """A linear panel with a true ATT of -0.5: the in-engine interval covers it."""
    duckdb = pytest.importorskip("duckdb")
    rng = np.random.default_rng(11)
    n = 4000
    unit = np.repeat(np.arange(n), 2)
    post = np.tile([0, 1], n)
    tr = np.repeat(rng.random(n) < 0.5, 2).astype(int)
    y = np.repeat(rng.normal(0, 1, n), 2) + 0.3 * post + 0.2 * tr - 0.5 * tr * post \
        + rng.normal(0, 0.5, 2 * n)
    df = pd.DataFrame({"unit": unit, "post": post, "treated": tr, "y": y})
    row = did2x2(duckdb.connect().from_df(df), outcome="y", treatment="treated", unit="unit",
                 post="post").to_frame().iloc[0]
    assert row["ci_lower"] < -0.5 < row["ci_upper"]
    assert abs(row["estimate"] + 0.5) < 0.05


def test_did2x2_in_engine_bad_input():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    df = _panel(60)
    with pytest.raises(InputError, match="did you mean 'treated'"):
        did2x2(con.from_df(df), outcome="y", treatment="treatd", unit="unit", post="post")
    bad = df.assign(treated=df["treated"] * 2)
    with pytest.raises(InputError, match="must be 0/1"):
        did2x2(con.from_df(bad), outcome="y", treatment="treated", unit="unit", post="post")
    with pytest.raises(InputError, match="exposure_unit"):
        did2x2(con.from_df(df), outcome="y", treatment="treated", unit="unit", post="post",
               model="poisson", exposure="pt")
    miss = df.assign(age=df["age"].where(df.index != 5))
    with pytest.raises(InputError, match="'age' has 1 missing"):
        did2x2(con.from_df(miss), outcome="y", treatment="treated", unit="unit", post="post",
               covariates=["age"])
    one_cell = df[~((df["treated"] == 1) & (df["post"] == 1))]
    with pytest.raises(InputError, match="all four cells"):
        did2x2(con.from_df(one_cell), outcome="y", treatment="treated", unit="unit", post="post")
    no_events = df.assign(y=np.where((df["treated"] == 1) & (df["post"] == 1), 0.0, df["y"]))
    with pytest.raises(EstimationError, match="no events"):
        did2x2(con.from_df(no_events), outcome="y", treatment="treated", unit="unit",
               post="post", model="poisson", exposure="pt", exposure_unit="month")
    text = df.assign(age=df["age"].astype(str))
    with pytest.raises(InputError, match="'age' must be numeric"):
        did2x2(con.from_df(text), outcome="y", treatment="treated", unit="unit", post="post",
               covariates=["age"])


# --- att_gt -----------------------------------------------------------------------------------------

def _staggered(n=800, T=6, seed=3):
    """Staggered adoption (groups 3, 4, 5 and 7 > T, which becomes never treated) with a true
    effect of 0.5, a discrete covariate that shifts trends, unit weights and 40 PCNs."""
    rng = np.random.default_rng(seed)
    g = rng.choice([0, 3, 4, 5, 7], n)
    q = rng.integers(1, 4, n)
    w = rng.uniform(0.5, 2.0, n)
    pcn = rng.integers(0, 40, n)
    rows = []
    for t in range(1, T + 1):
        d = (g > 0) & (g <= T) & (t >= g)
        y = rng.normal(0, 1, n) + 0.1 * t + 0.3 * q * (g > 0) + 0.05 * q * t + 0.5 * d
        rows.append(pd.DataFrame({"unit": np.arange(n), "t": t, "g": g, "y": y, "q": q, "w": w,
                                  "pcn": pcn}))
    return pd.concat(rows, ignore_index=True)


ATT_DESIGNS = {
    "reg": dict(method="reg"),
    "ipw_weighted": dict(method="ipw", weights="w"),
    "dr_discrete_covariate": dict(method="dr", covariates=["q"], weights="w"),
    "dr_clustered_not_yet_universal": dict(method="dr", covariates=["q"], cluster="pcn",
                                           control_group="not_yet_treated",
                                           base_period="universal"),
}
_ATT_ARGS = dict(outcome="y", unit="unit", time="t", group="g")


def _att_gt_in_engine(data, **kw):
    """att_gt through the engine path, also for an eager pandas frame (called directly)."""
    import warnings

    from pceval.did import att_gt
    from pceval.did._in_engine_attgt import att_gt_fields
    from pceval.did.staggered import AttGtResult

    if runs_in_engine(data):
        return att_gt(data, **_ATT_ARGS, **kw)
    args = dict(covariates=None, control_group="never_treated", method="dr", anticipation=0,
                base_period="varying", cluster=None, weights=None, n_boot=999, confidence=0.95,
                seed=2019)
    args.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AttGtResult(**att_gt_fields(data, **_ATT_ARGS, **args))


def _check_att_gt(design, to_engine, n=800, n_boot=0):
    from pceval.did import att_gt

    df = _staggered(n)
    kw = dict(ATT_DESIGNS[design], n_boot=n_boot)
    with pytest.warns(Warning):  # the late group is counted as never treated, in both paths
        ref = att_gt(df, **_ATT_ARGS, **kw)
    got = _att_gt_in_engine(to_engine(df), **kw)
    assert "in-engine" in got.settings["engine"]
    assert got.exclusions == ref.exclusions
    assert got.n_units == ref.n_units
    band = ["band_lower", "band_upper"]
    same_band = kw.get("cluster") is not None or not n_boot
    drop = [] if same_band else band
    assert_same_frame(ref.to_frame().drop(columns=drop), got.to_frame().drop(columns=drop))
    for kind in ("simple", "dynamic", "group", "calendar"):
        assert_same_frame(ref.aggregate(kind, n_boot=0).to_frame(),
                          got.aggregate(kind, n_boot=0).to_frame())
    assert got.pretest["df"] == ref.pretest["df"]
    np.testing.assert_allclose(got.pretest["statistic"], ref.pretest["statistic"], rtol=RTOL)
    return ref, got


@pytest.mark.parametrize("engine", ["pandas", "polars_lazy", "duckdb"])
@pytest.mark.parametrize("design", list(ATT_DESIGNS))
def test_att_gt_in_engine_equals_in_memory(design, engine):
    if engine == "polars_lazy":
        pl = pytest.importorskip("polars")
        to_engine = lambda d: pl.from_pandas(d).lazy()  # noqa: E731
    else:
        to_engine = _local_engine(engine)
    _check_att_gt(design, to_engine)


def test_att_gt_in_engine_equals_in_memory_spark(spark_session):
    _check_att_gt("dr_clustered_not_yet_universal", spark_session.createDataFrame, n=200,
                  n_boot=99)


def test_att_gt_in_engine_clustered_band_is_the_in_memory_band():
    """Clustered: the bootstrap rows are the clusters, keyed by their ids: the same band."""
    duckdb = pytest.importorskip("duckdb")
    ref, got = _check_att_gt("dr_clustered_not_yet_universal", duckdb.connect().from_df,
                             n_boot=199)
    assert got.critical_value == pytest.approx(ref.critical_value, rel=1e-9)
    dyn_ref, dyn_got = ref.aggregate("dynamic").to_frame(), got.aggregate("dynamic").to_frame()
    assert_same_frame(dyn_ref, dyn_got)


def test_att_gt_in_engine_unclustered_band_close_to_in_memory():
    """Unclustered: the streaming scheme's band has the same covariance; at 999 draws its
    critical value is within 5% of the unit-level bootstrap's."""
    duckdb = pytest.importorskip("duckdb")
    ref, got = _check_att_gt("dr_discrete_covariate", duckdb.connect().from_df, n_boot=999)
    assert got.critical_value == pytest.approx(ref.critical_value, rel=0.05)
    assert 1.96 < got.critical_value < 4


def test_att_gt_in_engine_recovers_the_true_effect():
    """Effect 0.5 in every post-treatment cell: the simple aggregation's interval covers it."""
    duckdb = pytest.importorskip("duckdb")
    from pceval.did import att_gt

    con = duckdb.connect()
    with pytest.warns(Warning):
        res = att_gt(con.from_df(_staggered(3000, seed=8)), **_ATT_ARGS, covariates=["q"],
                     n_boot=0)
    row = res.aggregate("simple").to_frame().iloc[0]
    assert row["ci_lower"] < 0.5 < row["ci_upper"]
    # the unit table kept in DuckDB during the fit is dropped afterwards
    left = con.sql("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_pceval%'")
    assert left.fetchall() == []


def test_att_gt_in_engine_mistakes(monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    from pceval.did import _in_engine_attgt, att_gt
    from pceval.errors import PcevalWarning

    con = duckdb.connect()
    df = _staggered(200)
    with pytest.raises(InputError, match="did you mean 'y'"):
        att_gt(con.from_df(df), outcome="yy", unit="unit", time="t", group="g")
    varying = df.assign(g=np.where((df["unit"] == 3) & (df["t"] == 2), 4, df["g"]))
    with pytest.raises(InputError, match="constant within each unit"):
        att_gt(con.from_df(varying), **_ATT_ARGS)
    dup = pd.concat([df, df.iloc[:1]])
    with pytest.raises(InputError, match="one row per"):
        att_gt(con.from_df(dup), **_ATT_ARGS)
    cont = df.assign(x=np.repeat(np.random.default_rng(1).normal(size=200), 1)[df["unit"]])
    monkeypatch.setattr(_in_engine_attgt, "MAX_STRATA", 50)  # continuous: the per-unit path
    res = att_gt(con.from_df(cont), **_ATT_ARGS, covariates=["x"], n_boot=0)
    assert str(res.unit_ids[0]).startswith("group")
    monkeypatch.setattr(_in_engine_attgt, "MAX_INFLUENCE_BYTES", 1000)
    with pytest.raises(InputError, match="coarser cluster"):
        att_gt(con.from_df(df), **_ATT_ARGS, cluster="pcn")
    monkeypatch.undo()
    gappy = df[~((df["unit"] < 5) & (df["t"] == 3))]
    with pytest.warns(PcevalWarning, match="collected to pandas"):
        res = att_gt(con.from_df(gappy), **_ATT_ARGS, unbalanced="pairwise", n_boot=0)
    assert "engine" not in res.settings
    with pytest.raises(InputError, match="must be balanced"):
        att_gt(con.from_df(gappy), **_ATT_ARGS, unbalanced="error")
    with pytest.warns(PcevalWarning, match=r"not observed in every period dropped \(balanced panel\): 5"):
        res = att_gt(con.from_df(gappy), **_ATT_ARGS, n_boot=0)
    assert res.exclusions["units not observed in every period dropped (balanced panel)"] == 5


def test_balance_table_on_a_lazy_table_runs_in_the_engine():
    """(tests/test_in_engine_balance.py checks every statistic against the in-memory table.)"""
    duckdb = pytest.importorskip("duckdb")
    from pceval.covariate_balance import balance_table

    df = _panel(50)
    got = balance_table(duckdb.connect().from_df(df), treatment="treated", covariates=["age"])
    ref = balance_table(df, treatment="treated", covariates=["age"])
    assert_same_frame(ref.to_frame(), got.to_frame())
