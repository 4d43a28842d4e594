"""Helpers that let one narwhals code path run on pandas, polars, DuckDB and Spark.

``lazy(frame)`` wraps any supported native frame as a narwhals LazyFrame; ``back(lf, like)``
returns a result in the engine the input came from (eager stays eager, lazy stays lazy);
``to_pandas(frame)`` collects any of them to pandas for estimation.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import pandas as pd

from pceval.errors import InputError


def lazy(frame: Any, name: str) -> nw.LazyFrame:
    """Wrap a pandas/polars DataFrame, polars LazyFrame, DuckDB relation or Spark DataFrame."""
    try:
        f = nw.from_native(frame)
    except TypeError as exc:
        raise InputError(f"`{name}` must be a pandas, polars, DuckDB or Spark table, "
                         f"got {type(frame).__name__}") from exc
    return f.lazy() if isinstance(f, nw.DataFrame) else f


def is_eager(frame: Any) -> bool:
    try:
        return isinstance(nw.from_native(frame), nw.DataFrame)
    except TypeError:
        return False


def back(lf: nw.LazyFrame, like: Any) -> Any:
    """Return ``lf`` as a native frame of the same kind as ``like``."""
    if is_eager(like):
        native = lf.collect(backend=nw.get_native_namespace(nw.from_native(like))).to_native()
        if isinstance(native, pd.DataFrame):
            native = native.reset_index(drop=True)
        return native
    return lf.to_native()


def columns(lf: nw.LazyFrame) -> list[str]:
    return list(lf.collect_schema().names())


def to_pandas(frame: Any) -> pd.DataFrame:
    """Collect any supported frame (pandas, polars, DuckDB, Spark) to a pandas DataFrame."""
    if isinstance(frame, pd.DataFrame):
        return frame
    try:
        f = nw.from_native(frame)
    except TypeError:
        raise InputError(
            f"`data` must be a table (pandas or polars DataFrame, DuckDB relation or Spark "
            f"DataFrame), got {type(frame).__name__}; a dict of columns can be wrapped in "
            "pandas.DataFrame(...)") from None
    if isinstance(f, nw.LazyFrame):
        f = f.collect(backend="pandas")
    return f.to_pandas()


def collect_pandas(lf: nw.LazyFrame) -> pd.DataFrame:
    """Execute a (small) lazy query and return pandas."""
    return lf.collect(backend="pandas").to_native()


# --- mixing engines ------------------------------------------------------------------------------
# The rule: a step runs in one engine. When its tables come from different engines, the table held
# in memory (pandas, a polars DataFrame) is copied into the engine of the lazy one (DuckDB, Spark,
# a polars LazyFrame), which is where large data lives; when both are in memory, the second table is
# copied into the engine of the first (the events, for the panel steps). Two different lazy engines
# (e.g. DuckDB and Spark) cannot be joined: collect or export one of them yourself.

def engine_name(frame: Any) -> str:
    """A short name of the engine holding ``frame`` (pandas, polars, duckdb, spark, ...)."""
    impl = nw.from_native(frame).implementation
    if impl.is_spark_like():
        return "spark"
    return str(impl.name).lower()


def _is_lazy_native(frame: Any) -> bool:
    return isinstance(nw.from_native(frame), nw.LazyFrame)


def _copy_into(frame: Any, like: Any) -> Any:
    """``frame`` (collected) as a native table of ``like``'s engine."""
    target = engine_name(like)
    f = nw.from_native(frame)
    eager = f.collect(backend="pyarrow") if isinstance(f, nw.LazyFrame) else f
    if target == "pandas":
        return eager.to_pandas()
    if target == "polars":
        out = eager.to_polars()
        return out.lazy() if _is_lazy_native(like) else out
    if target == "duckdb":
        # the copy must live on the same DuckDB connection as ``like``: read it through a query on
        # ``like`` (DuckDB finds the Arrow table below by its name, a Python replacement scan)
        _pceval_small_table = eager.to_arrow()  # noqa: F841 (read by DuckDB's replacement scan)
        return like.query("_pceval_like", "SELECT * FROM _pceval_small_table")
    if target == "spark":
        session = like.sparkSession
        return session.createDataFrame(_spark_ready(eager.to_pandas()))
    raise InputError(f"cannot copy a {engine_name(frame)} table into {target}")


def _spark_ready(df: pd.DataFrame) -> pd.DataFrame:
    """pandas columns Spark's converter accepts (object strings, not pandas' str dtype)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) and not pd.api.types.is_object_dtype(out[c]):
            out[c] = out[c].astype(object)
    return out


def align(main: Any, main_name: str, other: Any, other_name: str) -> tuple[nw.LazyFrame, nw.LazyFrame]:
    """``main`` and ``other`` as narwhals LazyFrames in one engine (see the rule above)."""
    lm, lo = lazy(main, main_name), lazy(other, other_name)
    em, eo = engine_name(main), engine_name(other)
    if em == eo:
        return lm, lo
    main_lazy, other_lazy = _is_lazy_native(main), _is_lazy_native(other)
    if main_lazy and other_lazy and not {em, eo} == {"polars"}:
        raise InputError(
            f"`{main_name}` is a {em} table and `{other_name}` a {eo} table: pceval joins them in one "
            f"engine, and cannot move data between two lazy engines; collect the smaller one (e.g. "
            f"to pandas) and pass that")
    if other_lazy and not main_lazy:
        return lazy(_copy_into(main, other), main_name), lo
    return lm, lazy(_copy_into(other, main), other_name)


def join_asof(left: nw.LazyFrame, right: nw.LazyFrame, left_on: str, right_on: str, by: str) -> nw.LazyFrame:
    """Backward as-of left join: each left row gets the right row of its ``by`` group with the
    largest ``right_on <= left_on`` (the right key column itself is not kept).

    On DuckDB it is written in SQL on the relations' own connection (narwhals' version reads them
    through the default connection, which fails for relations of any other connection)."""
    if left.implementation.is_duckdb():
        q = lambda c: '"' + c.replace('"', '""') + '"'  # noqa: E731
        _pceval_asof_right = right.to_native()  # noqa: F841 (read by DuckDB's replacement scan)
        sql = (f"SELECT l.*, r.* EXCLUDE ({q(by)}, {q(right_on)}) FROM _pceval_asof_left l "
               f"ASOF LEFT JOIN _pceval_asof_right r ON l.{q(by)} = r.{q(by)} AND l.{q(left_on)} >= r.{q(right_on)}")
        return nw.from_native(left.to_native().query("_pceval_asof_left", sql))
    out = left.sort(left_on).join_asof(right.sort(right_on), left_on=left_on, right_on=right_on, by=by,
                                       strategy="backward")
    return out.drop(right_on) if right_on in out.collect_schema().names() and right_on != left_on else out
