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


def as_list(by: GroupBy, name: str = "by") -> list[str]:
    """``None`` -> [], ``"a"`` -> ["a"], a sequence of names -> list, anything else -> InputError."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    if isinstance(by, Iterable):
        out = list(by)
        if not all(isinstance(c, str) for c in out):
            raise InputError(f"`{name}` must be a column name or a list of column names, got {by!r}")
        if len(set(out)) != len(out):
            raise InputError(f"`{name}` repeats a column: {out}")
        return out
    raise InputError(f"`{name}` must be a column name or a list of column names, got {by!r}")


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


def show(values: Iterable[Any], n: int = 5) -> str:
    """Up to ``n`` values as plain Python values (``[1, 2]``, not ``[np.int64(1), ...]``)."""
    vals = [v.item() if isinstance(v, np.generic) else v for v in values]
    more = f", ... ({len(vals)} in all)" if len(vals) > n else ""
    return "[" + ", ".join(repr(v) for v in vals[:n]) + more + "]"


def check_finite(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Raise InputError naming the column if a numeric column holds ``inf`` or ``-inf``.

    Missing values are left to the callers' own rules; an infinite count, population, value or
    standard error is never a measurement, and it would turn every estimate into NaN or inf.
    """
    for col in dict.fromkeys(columns):
        s = frame[col]
        if not (pd.api.types.is_float_dtype(s) or pd.api.types.is_object_dtype(s)):
            continue
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(v)
        if bad.any():
            rows = frame.index[bad]
            raise InputError(
                f"`{name}`: column '{col}' must be finite; {int(bad.sum())} value(s) are infinite: "
                f"{show(pd.unique(v[bad]))} at rows {show(rows)}"
            )


def check_input(data: Any, name: str, *, required: Sequence[str] = (), numeric: Sequence[str] = (),
                by: Sequence[str] = (), **kwargs: Any) -> pd.DataFrame:
    """check_frame with the grouping columns required too and every ``numeric`` column finite;
    the caller's frame is never modified.

    polars, DuckDB and Spark tables (anything narwhals reads) are collected to pandas first: the
    measures work on small aggregated tables.
    """
    if not isinstance(data, pd.DataFrame):
        try:
            data = to_pandas(data)
        except Exception:  # noqa: BLE001 - not a table: check_frame names the problem
            pass
    if isinstance(data, pd.DataFrame):  # before check_frame, so that the message shows the values
        check_finite(data, name, [c for c in numeric if c in data.columns])
    req = list(dict.fromkeys([*required, *numeric, *by]))
    out = check_frame(data, name, required=req, numeric=list(numeric), **kwargs)
    check_finite(out, name, numeric)
    return out


def quantile_numbers(labels: Sequence[Any], name: str, column: str, *, what: str = "quantiles",
                     high: int | None = None, consecutive: bool = True) -> list[int]:
    """The leading whole numbers of ordered quantile labels, checked to run 1, 2, ..., k.

    ``labels`` come from :func:`~pceval.inequality.imd.quantile_order` (most deprived first). A
    missing quantile (1, 2, 4, 5), a coding from 0 (0-4) or labels without a leading number are
    refused: the measures call the first label "Q1, most deprived" and the last the least deprived.
    ``high`` also fixes the number of quantiles (5 for IMD quintiles); ``consecutive=False`` only
    asks for quantile 1 (a comparison of 1 with the highest needs no others).
    """
    lead = pd.Series([str(x) for x in labels], dtype=object).str.extract(r"^\s*(\d+)")[0]
    if lead.isna().any():
        raise InputError(
            f"`{name}`: column '{column}' must hold {what} numbered 1, 2, ... (1 = most deprived), "
            f"or labels starting with their number such as '1 - most deprived'; got {show(labels)}"
        )
    nums = [int(v) for v in lead]
    if not consecutive:
        if nums[0] != 1:
            raise InputError(
                f"`{name}`: column '{column}' has no quantile 1 (the most deprived) to compare: it holds "
                f"{show(labels, 10)}; give `quantiles=(most deprived, least deprived)` to compare others"
            )
        return nums
    k = high if high is not None else len(nums)
    expected = list(range(1, k + 1))
    if nums != expected:
        missing = sorted(set(expected) - set(nums))
        extra = sorted(set(nums) - set(expected))
        parts = ([f"{what} {missing} are missing"] if missing else []) + (
            [f"{show(extra)} are not {what} 1-{k}"] if extra else [])
        raise InputError(
            f"`{name}`: column '{column}' must hold {what} 1 to {k} (1 = most deprived), every one of "
            f"them; found {show(labels, 10)}: {'; '.join(parts)}"
        )
    return nums


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


def group_keys(df: pd.DataFrame, by: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique group keys (sorted) and, for every row, the integer code of its group."""
    if not by:
        return pd.DataFrame(index=[0]), np.zeros(len(df), dtype=np.int64)
    codes, uniques = pd.MultiIndex.from_frame(df[list(by)]).factorize(sort=True)
    keys = uniques.to_frame(index=False)
    keys.columns = list(by)
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
