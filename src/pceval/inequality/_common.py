"""Shared plumbing for the inequality measures: argument checks, grouping and tidy output."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pceval._checks import check_confidence, check_frame
from pceval._engines import to_pandas
from pceval.errors import InputError, PcevalWarning

GroupBy = str | Sequence[str] | None


def as_list(group_by: GroupBy, name: str = "group_by") -> list[str]:
    """``None`` -> [], ``"a"`` -> ["a"], a sequence of names -> list, anything else -> InputError."""
    if group_by is None:
        return []
    if isinstance(group_by, str):
        return [group_by]
    if isinstance(group_by, Iterable):
        out = list(group_by)
        if not all(isinstance(c, str) for c in out):
            raise InputError(f"`{name}` must be a column name or a list of column names, got {group_by!r}")
        if len(set(out)) != len(out):
            raise InputError(f"`{name}` repeats a column: {out}")
        return out
    raise InputError(f"`{name}` must be a column name or a list of column names, got {group_by!r}")


def check_column_arg(value: Any, name: str) -> str:
    """A column-name argument must be a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InputError(f"`{name}` must be a column name (a string), got {value!r}")
    return value


def confidence_levels(confidence: float | Sequence[float], name: str = "confidence") -> tuple[float, ...]:
    """One or more confidence levels, each strictly between 0 and 1 (e.g. 0.95 or (0.95, 0.998))."""
    if isinstance(confidence, (list, tuple, np.ndarray, pd.Series)):
        levels = tuple(check_confidence(c, name) for c in confidence)
        if not levels:
            raise InputError(f"`{name}` must hold at least one confidence level")
        if len(set(levels)) != len(levels):
            raise InputError(f"`{name}` repeats a level: {list(levels)}")
        return levels
    return (check_confidence(confidence, name),)


def fmt_num(x: float) -> str:
    """100000.0 -> '100000', 0.5 -> '0.5', -1 -> '-1' (for statistic labels)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def check_input(df: Any, name: str, *, required: Sequence[str] = (), numeric: Sequence[str] = (),
                group_by: Sequence[str] = (), **kwargs: Any) -> pd.DataFrame:
    """check_frame with the grouping columns required too; the caller's frame is never modified.

    polars, DuckDB and Spark tables (anything narwhals reads) are collected to pandas first: the
    measures work on small aggregated tables.
    """
    if not isinstance(df, pd.DataFrame):
        try:
            df = to_pandas(df)
        except Exception:  # noqa: BLE001 - not a table: check_frame names the problem
            pass
    req = list(dict.fromkeys([*required, *numeric, *group_by]))
    return check_frame(df, name, required=req, numeric=list(numeric), **kwargs)


def check_min(df: pd.DataFrame, name: str, col: str, low: float, *, strict: bool) -> None:
    """Raise InputError naming ``col`` if any non-missing value is below (or at, if strict) ``low``."""
    s = df[col]
    bad = s[(s <= low) if strict else (s < low)]
    if len(bad):
        op = ">" if strict else ">="
        raise InputError(
            f"`{name}`: column '{col}' must be {op} {fmt_num(low)}; {len(bad)} value(s) are not: "
            f"{list(bad.unique()[:5])}"
        )


def group_keys(df: pd.DataFrame, group_by: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique group keys (sorted) and, for every row, the integer code of its group."""
    if not group_by:
        return pd.DataFrame(index=[0]), np.zeros(len(df), dtype=np.int64)
    codes, uniques = pd.MultiIndex.from_frame(df[list(group_by)]).factorize(sort=True)
    keys = uniques.to_frame(index=False)
    keys.columns = list(group_by)
    return keys, codes


def group_sum(values: np.ndarray, codes: np.ndarray, n_groups: int, *, propagate_nan: bool = True) -> np.ndarray:
    """Sum by group code; a group holding a missing value sums to missing when ``propagate_nan``."""
    v = np.asarray(values, dtype=float)
    total = np.bincount(codes, weights=np.nan_to_num(v), minlength=n_groups)
    if propagate_nan:
        has_nan = np.bincount(codes, weights=np.isnan(v).astype(float), minlength=n_groups) > 0
        total = np.where(has_nan, np.nan, total)
    return total


def stack_levels(base: pd.DataFrame, levels: Sequence[float],
                 limits: Callable[[float], dict[str, np.ndarray]],
                 after: Sequence[str] = ()) -> pd.DataFrame:
    """One block of rows per confidence level: ``base`` plus the limit columns and ``confidence``.

    ``limits(level)`` returns ``{column: array}``; ``after`` are columns of ``base`` moved after them.
    """
    blocks = []
    for level in levels:
        block = base.copy()
        for col, arr in limits(level).items():
            block[col] = arr
        block["confidence"] = level
        blocks.append(block)
    out = pd.concat(blocks, ignore_index=True) if len(blocks) > 1 else blocks[0].reset_index(drop=True)
    tail = [c for c in after if c in out.columns]
    return out[[c for c in out.columns if c not in tail] + tail]


def warn(message: str) -> None:
    warnings.warn(message, PcevalWarning, stacklevel=3)


__all__: list[str] = []
