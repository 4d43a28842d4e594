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
