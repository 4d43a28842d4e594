"""Input validation used at every public boundary.

One helper, :func:`check_frame`, checks a table against what a function needs and raises
:class:`~pceval.errors.InputError` with a message that names the argument and the column
and shows up to five offending values. Small helpers check scalar arguments the same way.

Example
-------
>>> import pandas as pd
>>> from pceval._checks import check_frame
>>> people = pd.DataFrame({"person_id": [1, 2, 2], "age": [40, 50, 60]})
>>> check_frame(people, "people", required=["person_id", "age"], unique=["person_id"])
Traceback (most recent call last):
...
pceval.errors.InputError: `people`: column 'person_id' must be unique, but 1 value(s) repeat: [2]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pceval.errors import InputError

_SHOW = 5  # how many offending values an error message shows


def _show(values: Iterable[Any]) -> str:
    vals = list(values)
    head = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in vals[:_SHOW])
    more = f", ... ({len(vals) - _SHOW} more)" if len(vals) > _SHOW else ""
    return f"[{head}{more}]"


def require_columns(columns: Collection[str], name: str, required: Iterable[str]) -> None:
    """Raise :class:`InputError` unless every name in ``required`` is among ``columns``.

    Works on a column list, so callers can use it with any engine's schema (pandas,
    polars, DuckDB, Spark) without collecting data.
    """
    cols = list(columns)
    missing = [c for c in required if c not in cols]
    if missing:
        raise InputError(
            f"`{name}` is missing required column(s) {missing}; it has {_show(cols)}"
        )


def check_frame(
    df: Any,
    name: str,
    *,
    required: Sequence[str] = (),
    numeric: Sequence[str] = (),
    integer: Sequence[str] = (),
    dates: Sequence[str] = (),
    binary: Sequence[str] = (),
    unique: Sequence[str] | None = None,
    not_null: Sequence[str] = (),
    ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
    allowed: Mapping[str, Collection[Any]] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Check a pandas table and return it with date columns parsed (a copy if anything changed).

    Parameters
    ----------
    df : pandas.DataFrame
        The table to check. It is never modified.
    name : str
        The argument's name, used in every message (e.g. ``"people"``).
    required : columns that must be present.
    numeric : columns that must be numeric (bool counts as numeric).
    integer : columns whose non-missing values must be whole numbers.
    dates : columns that must be datetimes or parseable as dates (ISO strings); they are
        returned as ``datetime64[ns]``.
    binary : columns whose non-missing values must be 0/1 or True/False.
    unique : columns whose combination must identify rows uniquely.
    not_null : columns that must have no missing values.
    ranges : ``{column: (low, high)}``, inclusive; ``None`` leaves a side open.
    allowed : ``{column: allowed values}``.
    allow_empty : whether a table with no rows is acceptable.

    Raises
    ------
    InputError
        Naming ``name``, the column and up to five offending values.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"`{name}` must be a pandas DataFrame, got {type(df).__name__}")
    needed: list[str] = []
    for group in (required, numeric, integer, dates, binary, unique or (), not_null,
                  list(ranges or {}), list(allowed or {})):
        needed += [c for c in group if c not in needed]
    require_columns(df.columns, name, needed)
    if not allow_empty and len(df) == 0:
        raise InputError(f"`{name}` has no rows")

    out = df
    for col in dates:
        s = df[col]
        if not pd.api.types.is_datetime64_any_dtype(s):
            parsed = pd.to_datetime(s, errors="coerce")
            bad = s[parsed.isna() & s.notna()]
            if len(bad):
                raise InputError(
                    f"`{name}`: column '{col}' must hold dates; {len(bad)} value(s) could not "
                    f"be parsed: {_show(bad.unique())}"
                )
            if out is df:
                out = df.copy()
            out[col] = parsed.astype("datetime64[ns]")
        elif getattr(s.dt, "tz", None) is not None:
            raise InputError(
                f"`{name}`: column '{col}' has time zone {s.dt.tz}; pceval works in naive "
                "local dates: convert with .dt.tz_convert('Europe/London').dt.tz_localize(None)"
            )

    for col in numeric:
        s = df[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
            raise InputError(
                f"`{name}`: column '{col}' must be numeric, but has dtype {s.dtype}; "
                f"offending values: {_show(bad.unique())}"
            )
    for col in integer:
        s = df[col]
        if not pd.api.types.is_numeric_dtype(s):
            raise InputError(f"`{name}`: column '{col}' must hold whole numbers, has dtype {s.dtype}")
        v = s.dropna().to_numpy(dtype=float)
        bad = v[v != np.round(v)]
        if len(bad):
            raise InputError(
                f"`{name}`: column '{col}' must hold whole numbers; {len(bad)} value(s) do not: "
                f"{_show(np.unique(bad))}"
            )
    for col in binary:
        s = df[col].dropna()
        bad = s[~s.isin([0, 1, True, False])]
        if len(bad):
            raise InputError(
                f"`{name}`: column '{col}' must be 0/1 (or True/False); {len(bad)} value(s) are "
                f"not: {_show(bad.unique())}"
            )
    for col in not_null:
        n = int(df[col].isna().sum())
        if n:
            idx = df.index[df[col].isna()]
            raise InputError(
                f"`{name}`: column '{col}' has {n} missing value(s), at rows {_show(idx)}"
            )
    for col, (lo, hi) in (ranges or {}).items():
        s = df[col]
        mask = pd.Series(False, index=s.index)
        if lo is not None:
            mask |= s < lo
        if hi is not None:
            mask |= s > hi
        if mask.any():
            lo_s = "-inf" if lo is None else lo
            hi_s = "inf" if hi is None else hi
            raise InputError(
                f"`{name}`: column '{col}' must lie in [{lo_s}, {hi_s}]; {int(mask.sum())} "
                f"value(s) do not: {_show(s[mask].unique())}"
            )
    for col, values in (allowed or {}).items():
        s = df[col].dropna()
        bad = s[~s.isin(list(values))]
        if len(bad):
            raise InputError(
                f"`{name}`: column '{col}' has {len(bad)} value(s) outside the allowed set "
                f"{_show(sorted(values, key=str))}: {_show(bad.unique())}"
            )
    if unique:
        dup = df.duplicated(subset=list(unique), keep=False)
        if dup.any():
            vals = df.loc[dup, list(unique)].drop_duplicates()
            shown = vals.iloc[:, 0] if len(unique) == 1 else vals.itertuples(index=False, name=None)
            what = f"column '{unique[0]}'" if len(unique) == 1 else f"columns {list(unique)}"
            raise InputError(
                f"`{name}`: {what} must be unique, but {len(vals)} value(s) repeat: "
                f"{_show(shown)}"
            )
    return out


def check_choice(value: Any, name: str, choices: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise raise :class:`InputError`."""
    if value not in choices:
        raise InputError(f"`{name}` must be one of {sorted(choices, key=str)}, got {value!r}")
    return value


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int if it is a whole number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"`{name}` must be a whole number, got {value!r}")
    if low is not None and value < low:
        raise InputError(f"`{name}` must be at least {low}, got {value}")
    if high is not None and value > high:
        raise InputError(f"`{name}` must be at most {high}, got {value}")
    return int(value)


def check_number(
    value: Any, name: str, *, low: float | None = None, high: float | None = None,
    low_open: bool = False, high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite number inside the given bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"`{name}` must be a number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise InputError(f"`{name}` must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise InputError(f"`{name}` must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (v > high or (high_open and v == high)):
        raise InputError(f"`{name}` must be {'<' if high_open else '<='} {high}, got {value}")
    return v


def check_confidence(value: Any, name: str = "confidence") -> float:
    """A confidence level strictly between 0 and 1 (e.g. 0.95)."""
    return check_number(value, name, low=0, high=1, low_open=True, high_open=True)


__all__ = [
    "check_frame",
    "require_columns",
    "check_choice",
    "check_int",
    "check_number",
    "check_confidence",
]
