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
    f = nw.from_native(frame)
    if isinstance(f, nw.LazyFrame):
        f = f.collect(backend="pandas")
    return f.to_pandas()


def collect_pandas(lf: nw.LazyFrame) -> pd.DataFrame:
    """Execute a (small) lazy query and return pandas."""
    return lf.collect(backend="pandas").to_native()
