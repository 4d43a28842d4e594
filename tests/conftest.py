"""Shared fixtures: the same data through every engine (pandas, polars, DuckDB, Spark)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

ENGINES = ["pandas", "polars", "duckdb", "spark"]


@pytest.fixture(scope="session")
def spark_session():
    pyspark = pytest.importorskip("pyspark", reason="pyspark not installed (pip install pceval[spark])")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 (apt-get install openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    del pyspark
    spark = (SparkSession.builder.master("local[1]").appName("pceval-tests")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield spark
    spark.stop()


@pytest.fixture(params=ENGINES)
def to_engine(request):
    """A function converting a pandas frame to the engine under test."""
    engine = request.param
    if engine == "pandas":
        return lambda df: df
    if engine == "polars":
        pl = pytest.importorskip("polars")
        return lambda df: pl.from_pandas(df)
    if engine == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        con = duckdb.connect()
        return lambda df: con.from_df(df)
    spark = request.getfixturevalue("spark_session")

    def to_spark(df: pd.DataFrame):
        return spark.createDataFrame(df)

    return to_spark
