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

import difflib
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


def _norm(text: Any) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def nearest(value: Any, choices: Iterable[Any], n: int = 3) -> list[Any]:
    """The choices closest to ``value``: same letters ignoring case and punctuation first, then by
    :func:`difflib.get_close_matches`, then choices that start with or contain its letters."""
    opts = list(dict.fromkeys(choices))
    by_text = {str(c): c for c in opts}
    target = str(value)
    same = [c for c in opts if _norm(c) == _norm(target)]
    close = difflib.get_close_matches(target, list(by_text), n=n, cutoff=0.6)
    close += difflib.get_close_matches(target.lower(), [k.lower() for k in by_text], n=n, cutoff=0.6)
    lower = {k.lower(): v for k, v in by_text.items()}
    found = same + [by_text.get(c, lower.get(c)) for c in close]
    t = _norm(target)
    if t:
        found += [c for c in opts if _norm(c).startswith(t) or (len(t) >= 3 and t in _norm(c))]
    return list(dict.fromkeys(c for c in found if c is not None))[:n]


def did_you_mean(value: Any, choices: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` or an empty string when nothing is close."""
    near = nearest(value, choices)
    if not near:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in near) + "?)"


def require_columns(columns: Collection[str], name: str, required: Iterable[str]) -> None:
    """Raise :class:`InputError` unless every name in ``required`` is among ``columns``.

    Works on a column list, so callers can use it with any engine's schema (pandas,
    polars, DuckDB, Spark) without collecting data. The message lists every available
    column and suggests the nearest name for each missing one.
    """
    cols = list(columns)
    missing = [c for c in required if c not in cols]
    if missing:
        if len(missing) == 1:
            hint = did_you_mean(missing[0], cols)
        else:
            hints = [f"for {m!r} did you mean {' or '.join(repr(c) for c in near)}?"
                     for m in missing if (near := nearest(m, cols))]
            hint = (" (" + "; ".join(hints) + ")") if hints else ""
        raise InputError(
            f"`{name}` is missing required column(s) {missing}{hint}; its columns are {cols}"
        )


def check_values_present(requested: Iterable[Any], present: Iterable[Any], argument: str,
                         table: str, column: str) -> None:
    """Raise :class:`InputError` unless every requested value occurs in ``table[column]``.

    Used for arguments that select data by value (``kinds=``, ``which=``): a value that is not
    in the data would otherwise select nothing and give a column of zeros or no treated people.
    """
    have = sorted({str(v) for v in present})
    missing = [v for v in requested if str(v) not in have]
    if missing:
        hints = [f"{m!r}: did you mean {' or '.join(repr(c) for c in near)}?"
                 for m in missing if (near := nearest(m, have))]
        hint = (" " + " ".join(hints)) if hints else ""
        raise InputError(
            f"`{argument}`: {_show(missing)} not found in column '{column}' of `{table}`, "
            f"whose values are {have}.{hint}"
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

    The checks run in the order of the parameters above (dates first), so the first problem
    found is the one reported.

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
    out = _parse_dates(df, name, dates)
    for col in numeric:
        _check_numeric(df, name, col)
    for col in integer:
        _check_integer(df, name, col)
    for col in binary:
        _check_binary(df, name, col)
    for col in not_null:
        _check_not_null(df, name, col)
    for col, (lo, hi) in (ranges or {}).items():
        _check_range(df, name, col, lo, hi)
    for col, values in (allowed or {}).items():
        _check_allowed(df, name, col, values)
    if unique:
        _check_unique(df, name, list(unique))
    return out


def _parse_dates(df: pd.DataFrame, name: str, dates: Sequence[str]) -> pd.DataFrame:
    """``df`` with each of ``dates`` as ``datetime64[ns]`` (a copy if any was parsed); text that is
    not a date, or a time-zone-aware column, is an error."""
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
    return out


def _check_numeric(df: pd.DataFrame, name: str, col: str) -> None:
    """A numeric (or boolean) column with no infinite values."""
    s = df[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
        raise InputError(
            f"`{name}`: column '{col}' must be numeric, but has dtype {s.dtype}; "
            f"offending values: {_show(bad.unique())}"
        )
    v = s.to_numpy(dtype=float, na_value=np.nan)
    inf = np.isinf(v)
    if inf.any():
        raise InputError(
            f"`{name}`: column '{col}' has {int(inf.sum())} infinite value(s), at rows "
            f"{_show(df.index[inf])}; every estimate would be NaN or infinite"
        )


def _check_integer(df: pd.DataFrame, name: str, col: str) -> None:
    """A numeric column whose non-missing values are whole numbers."""
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


def _check_binary(df: pd.DataFrame, name: str, col: str) -> None:
    """Non-missing values are 0/1 or True/False."""
    s = df[col].dropna()
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        # compare as floats: pyarrow-backed columns refuse mixed int/bool ``isin`` lists
        bad = s[~np.isin(s.to_numpy(dtype=float), [0.0, 1.0])]
    else:
        bad = s[~s.isin([0, 1, True, False])]
    if len(bad):
        raise InputError(
            f"`{name}`: column '{col}' must be 0/1 (or True/False); {len(bad)} value(s) are "
            f"not: {_show(bad.unique())}"
        )


def _check_not_null(df: pd.DataFrame, name: str, col: str) -> None:
    """No missing values (the message shows the rows)."""
    n = int(df[col].isna().sum())
    if n:
        idx = df.index[df[col].isna()]
        raise InputError(
            f"`{name}`: column '{col}' has {n} missing value(s), at rows {_show(idx)}"
        )


def _check_range(df: pd.DataFrame, name: str, col: str, lo: float | None, hi: float | None) -> None:
    """Values in ``[lo, hi]``; ``None`` leaves a side open."""
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


def _check_allowed(df: pd.DataFrame, name: str, col: str, values: Collection[Any]) -> None:
    """Non-missing values are among ``values``."""
    s = df[col].dropna()
    bad = s[~s.isin(list(values))]
    if len(bad):
        raise InputError(
            f"`{name}`: column '{col}' has {len(bad)} value(s) outside the allowed set "
            f"{_show(sorted(values, key=str))}: {_show(bad.unique())}"
        )


def _check_unique(df: pd.DataFrame, name: str, unique: list[str]) -> None:
    """The columns ``unique`` together identify the rows."""
    dup = df.duplicated(subset=unique, keep=False)
    if dup.any():
        vals = df.loc[dup, unique].drop_duplicates()
        shown = vals.iloc[:, 0] if len(unique) == 1 else vals.itertuples(index=False, name=None)
        what = f"column '{unique[0]}'" if len(unique) == 1 else f"columns {unique}"
        raise InputError(
            f"`{name}`: {what} must be unique, but {len(vals)} value(s) repeat: "
            f"{_show(shown)}"
        )


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


# --- checks on any engine's table (narwhals LazyFrames) -------------------------------------------
# The data steps (cohort, panel) run on pandas, polars, DuckDB and Spark. These helpers check the
# columns a step interprets with small queries (distinct values, counts), never by collecting a table.

_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"


def _collect(lf: Any) -> pd.DataFrame:
    from pceval._engines import collect_pandas

    return collect_pandas(lf)


def _is_spark(lf: Any) -> bool:
    return lf.implementation.is_spark_like()


def lazy_dates(lf: Any, table: str, cols: Iterable[str | None]) -> Any:
    """Check that each column holds dates; return ``lf`` with ISO date strings parsed.

    * date or datetime columns pass (a time zone is an error, except on Spark, whose timestamps
      always carry the session's zone);
    * text columns are parsed if every value is an ISO date (``2021-03-15``, optionally with a
      time, which is dropped); otherwise the error shows the values that are not, since a date
      such as ``03/04/2021`` is ambiguous;
    * pandas columns of ``datetime.date`` objects are converted;
    * anything else is an error naming the table, the column and its type.
    """
    import narwhals as nw

    schema = lf.collect_schema()
    for col in [c for c in cols if c is not None]:
        dtype = schema[col]
        if dtype == nw.Datetime:
            if not _is_spark(lf) and getattr(dtype, "time_zone", None):
                raise InputError(
                    f"`{table}`: column '{col}' has time zone {dtype.time_zone}; pceval works in naive "
                    "local dates: convert with .dt.tz_convert('Europe/London').dt.tz_localize(None)")
            continue
        if dtype == nw.Date:
            continue
        if dtype == nw.String:
            vals = _collect(lf.select(nw.col(col)).unique().drop_nulls())[col].astype(str)
            ok = vals.str.match(_ISO)
            parsed = pd.to_datetime(vals[ok].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
            bad = pd.concat([vals[~ok], vals[ok][parsed.isna().to_numpy()]])
            if len(bad):
                raise InputError(
                    f"`{table}`: column '{col}' must hold dates; it holds text, and {len(bad)} distinct "
                    f"value(s) are not ISO dates (yyyy-mm-dd): {_show(sorted(bad))}. Convert it "
                    f"first, e.g. pd.to_datetime(df['{col}'], format='%d/%m/%Y')")
            lf = lf.with_columns(nw.col(col).str.slice(0, 10).str.to_datetime(format="%Y-%m-%d"))
            continue
        if dtype == nw.Object and lf.implementation.is_pandas_like():
            native = lf.to_native()
            s = native[col]
            import datetime as _dt

            bad = s[s.notna() & ~s.map(lambda v: isinstance(v, (_dt.date, pd.Timestamp)))]
            if not len(bad):
                native = native.assign(**{col: pd.to_datetime(s)})
                lf = nw.from_native(native).lazy()
                continue
            raise InputError(f"`{table}`: column '{col}' must hold dates; it has values that are not: "
                             f"{_show(pd.unique(bad.astype(str)))}")
        raise InputError(f"`{table}`: column '{col}' must be a date or datetime, has type {dtype}")
    return lf


def lazy_flag(lf: Any, table: str, col: str) -> Any:
    """Check that ``col`` is a flag (boolean, or 0/1) with no missing values; return ``lf`` with it
    as a boolean column. A missing flag is an error: whether it means yes or no is the caller's to say."""
    import narwhals as nw

    missing = nw.when(nw.col(col).is_null()).then(nw.lit(1)).otherwise(nw.lit(0)).sum()
    counts = _collect(lf.select(missing.alias("_missing"), nw.len().alias("_n")))
    n_missing = int(counts["_missing"].iloc[0])
    if n_missing:
        raise InputError(
            f"`{table}`: flag column '{col}' has {n_missing} missing value(s) of "
            f"{int(counts['_n'].iloc[0])}; a flag must be True/False or 1/0 for every row (fill the "
            f"missing values with what they mean, e.g. .fillna(False))")
    vals = _collect(lf.select(nw.col(col)).unique().head(12))[col]
    bad = [v for v in vals.tolist() if not (isinstance(v, (bool, np.bool_))
                                            or (isinstance(v, (int, float, np.integer, np.floating))
                                                and v in (0, 1)))]
    if bad:
        raise InputError(f"`{table}`: flag column '{col}' must be True/False or 1/0; it has "
                         f"{_show(sorted(bad, key=str))}")
    dtype = lf.collect_schema()[col]
    return lf if dtype == nw.Boolean else lf.with_columns(nw.col(col).cast(nw.Boolean))


def lazy_same_id_type(a: Any, a_name: str, b: Any, b_name: str, col: str) -> None:
    """An id column must have one type across tables: whole numbers in both, or text in both."""
    import narwhals as nw

    ta, tb = a.collect_schema()[col], b.collect_schema()[col]
    if ta == tb or (ta.is_integer() and tb.is_integer()) or (ta == nw.String and tb == nw.String):
        return
    ex = _collect(b.select(nw.col(col)).drop_nulls().head(3))[col].tolist()
    raise InputError(
        f"`{a_name}` and `{b_name}`: id column '{col}' has type {ta} in `{a_name}` but {tb} in "
        f"`{b_name}` (e.g. {_show(ex)}), so no rows would match; convert one of them, e.g. "
        f"{b_name}['{col}'] = {b_name}['{col}'].astype({'int' if ta.is_integer() else 'str'})")


def lazy_no_missing(lf: Any, table: str, col: str, unit: str, why: str = "") -> None:
    """Raise :class:`InputError` naming up to five units whose ``col`` is missing."""
    import narwhals as nw

    bad = _collect(lf.filter(nw.col(col).is_null()).select(unit).head(_SHOW))
    if len(bad):
        n = int(_collect(lf.filter(nw.col(col).is_null()).select(nw.len().alias("n")))["n"].iloc[0])
        raise InputError(f"`{table}`: column '{col}' has {n} missing value(s){why}, e.g. for "
                         f"{unit} {_show(bad[unit])}")


__all__ = [
    "check_frame",
    "require_columns",
    "check_values_present",
    "nearest",
    "did_you_mean",
    "lazy_dates",
    "lazy_flag",
    "lazy_same_id_type",
    "lazy_no_missing",
    "check_choice",
    "check_int",
    "check_number",
    "check_confidence",
]
