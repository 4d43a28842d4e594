"""balance_table on a lazy table (DuckDB, polars LazyFrame, Spark) runs in the engine and equals
the in-memory table to 1e-9 (relative): every statistic, the report's groups and sample sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pceval.covariate_balance import balance_table
from pceval.errors import InputError

RTOL = 1e-9


def _people(n=500, seed=1):
    """Treatment, a continuous age with ties, a binary sex, a text IMD band, matching weights
    (a fifth are 0: unmatched) and sampling weights."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    return pd.DataFrame({
        "t": t, "age": np.round(rng.normal(50 + 3 * t, 10, n), 1), "female": rng.integers(0, 2, n),
        "imd": rng.choice(["q1 most", "q3", "q5 least"], n),
        "w": rng.uniform(0, 2, n) * (rng.random(n) < 0.8), "sw": rng.uniform(0.5, 1.5, n)})


CASES = {
    "before_only": dict(covariates=["age", "female"]),
    "weighted_factor_products": dict(covariates=["age", "female", "imd"], weights="w",
                                     s_weights="sw", squares=True, interactions=True),
    "ate": dict(covariates=["age", "imd"], weights="w", estimand="ATE"),
    "atc_thresholds": dict(covariates=["age"], weights="w", estimand="ATC",
                           thresholds={"smd": 0.05}),
}


def _same(ref, got):
    a, b = ref.to_frame(), got.to_frame()
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        if pd.api.types.is_float_dtype(a[c]):
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=RTOL,
                                       atol=0, equal_nan=True, err_msg=c)
        else:
            assert list(a[c]) == list(b[c]), c
    assert a["ks"].notna().any()  # the eCDF statistics are computed, not left out
    ga, gb = ref.groups, got.groups
    assert list(ga.columns) == list(gb.columns)
    num = ga.select_dtypes("number").columns
    np.testing.assert_allclose(gb[num].to_numpy(float), ga[num].to_numpy(float), rtol=RTOL,
                               equal_nan=True)
    np.testing.assert_allclose(got.sample_sizes.to_numpy(float), ref.sample_sizes.to_numpy(float),
                               rtol=RTOL)
    assert list(got.sample_sizes.index) == list(ref.sample_sizes.index)
    assert ref.report_table().equals(got.report_table())


def _engine(name):
    if name == "polars_lazy":
        pl = pytest.importorskip("polars")
        return lambda d: pl.from_pandas(d).lazy()
    duckdb = pytest.importorskip("duckdb")
    return duckdb.connect().from_df


@pytest.mark.parametrize("engine", ["duckdb", "polars_lazy"])
@pytest.mark.parametrize("case", list(CASES))
def test_balance_in_engine_equals_in_memory(case, engine):
    df = _people()
    ref = balance_table(df, treatment="t", **CASES[case])
    got = balance_table(_engine(engine)(df), treatment="t", **CASES[case])
    _same(ref, got)


def test_balance_in_engine_equals_in_memory_spark(spark_session):
    df = _people(200)
    kw = CASES["weighted_factor_products"]
    _same(balance_table(df, treatment="t", **kw),
          balance_table(spark_session.createDataFrame(df), treatment="t", **kw))


def test_balance_in_engine_known_values():
    """A hand-checkable table: SMD (40 - 35) / sd(treated ages 30, 50) = 5 / 14.142."""
    duckdb = pytest.importorskip("duckdb")
    df = pd.DataFrame({"t": [1, 1, 0, 0, 0], "age": [30.0, 50.0, 35.0, 35.0, 35.0]})
    row = balance_table(duckdb.connect().from_df(df), treatment="t", covariates=["age"]).to_frame().iloc[0]
    assert row["smd"] == pytest.approx(5 / np.sqrt(200), rel=1e-12)
    assert row["ks"] == pytest.approx(0.5)  # F_1(35) = 1/2, F_0(35) = 1


def test_balance_in_engine_mistakes():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    df = _people(50)
    with pytest.raises(InputError, match=r"collect the 50 rows x 3 columns"):
        balance_table(con.from_df(df.assign(s=1)), treatment="t", covariates=["age"], subclass="s")
    with pytest.raises(InputError, match="name of a weight column"):
        balance_table(con.from_df(df), treatment="t", covariates=["age"], weights=np.ones(50))
    with pytest.raises(InputError, match="did you mean 'age'"):
        balance_table(con.from_df(df), treatment="t", covariates=["agee"])
    with pytest.raises(InputError, match="'age' has 1 missing"):
        balance_table(con.from_df(df.assign(age=df["age"].where(df.index != 3))), treatment="t",
                      covariates=["age"])
    with pytest.raises(InputError, match="must be 0/1"):
        balance_table(con.from_df(df.assign(t=df["t"] * 2)), treatment="t", covariates=["age"])
    with pytest.raises(InputError, match="both treated"):
        balance_table(con.from_df(df.assign(t=1)), treatment="t", covariates=["age"])
    with pytest.raises(InputError, match="non-negative"):
        balance_table(con.from_df(df.assign(w=-df["w"] - 1)), treatment="t", covariates=["age"],
                      weights="w")
    with pytest.raises(InputError, match="0 for every treated"):
        balance_table(con.from_df(df.assign(w=df["w"] * (df["t"] == 0))), treatment="t",
                      covariates=["age"], weights="w")
