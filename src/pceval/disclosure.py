"""Disclosure control for every count that reaches a published report.

Small counts of people can identify them. Before a table is shown to a commissioner, every count,
denominator and crude rate built from counts passes through :func:`protect`, under a named preset:

=============  ==========================================  ==================  ============================
preset         suppressed (shown as missing)                other counts        source
=============  ==========================================  ==================  ============================
opensafely     0 < count <= 7 (zeros are suppressed too)     rounded to nearest 5   OpenSAFELY output checking:
                                                                                 redact <= 7, round to 5
nhs_hes        1 <= count <= 7 (a true zero is shown as 0)   rounded to nearest 5   NHS Digital HES Analysis Guide
threshold10    1 <= count <= 9                              unchanged           a common "under 10" rule
=============  ==========================================  ==================  ============================

Rounding is half-up to the nearest 5 (12 -> 10, 13 -> 15). Totals are never computed from raw counts:
:func:`rebuild_totals` adds up the protected parts (suppressed parts count as 0), so a total cannot be used
to recover a suppressed cell (no secondary suppression is needed); the total then passes the same rule
(a small total is suppressed like any small count, and so is a small sum of parts some of which are
suppressed, 0 included: it is a lower bound, not a true zero), and parts that were never protected
are refused. A crude rate is recomputed from its
protected numerator and denominator, and is blank when either is suppressed. Model estimates (rate ratios,
differences with confidence intervals) are not counts and are not rounded.

Every call records what it did in a :class:`DisclosureLog`; :func:`check_published` raises
:class:`~pceval.errors.DisclosureError` if a table about to be published still holds unprotected counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_number, require_columns
from pceval._engines import to_pandas
from pceval.errors import DisclosureError, InputError


@dataclass(frozen=True)
class Preset:
    """A disclosure rule: counts in ``[low, threshold]`` are suppressed, the rest rounded to ``base``."""

    name: str
    threshold: int
    base: int  # 1 = no rounding
    suppress_zero: bool
    source: str

    def apply(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (protected values as float with NaN for suppressed, suppressed mask)."""
        low = 0 if self.suppress_zero else 1
        suppressed = (x >= low) & (x <= self.threshold) & ~np.isnan(x)
        out = np.floor(x / self.base + 0.5) * self.base if self.base > 1 else x.copy()
        out[suppressed] = np.nan
        return out, suppressed


PRESETS: dict[str, Preset] = {
    "opensafely": Preset("opensafely", 7, 5, True,
                         "OpenSAFELY: counts of 7 or fewer redacted, others rounded to the nearest 5"),
    "nhs_hes": Preset("nhs_hes", 7, 5, False,
                      "NHS Digital HES Analysis Guide: 1-7 suppressed, others rounded to the nearest 5"),
    "threshold10": Preset("threshold10", 9, 1, False, "Counts of 1-9 suppressed, others shown as they are"),
}
DEFAULT_PRESET = "opensafely"


@dataclass
class DisclosureLog:
    """What disclosure control did: one row per protected column."""

    rows: list[dict] = field(default_factory=list)

    def add(self, table: str, column: str, preset: str, n_cells: int, n_suppressed: int,
            n_rounded: int) -> None:
        """Record what protecting one column of one table did."""
        self.rows.append({"table": table, "column": column, "preset": preset, "cells": n_cells,
                          "suppressed": n_suppressed, "rounded": n_rounded})

    def to_frame(self) -> pd.DataFrame:
        """One row per protected column: table, column, preset, cells, suppressed, rounded."""
        return pd.DataFrame(self.rows, columns=["table", "column", "preset", "cells", "suppressed",
                                                "rounded"])


def get_preset(preset: str | Preset) -> Preset:
    """The :class:`Preset` named ``preset`` (one of ``PRESETS``); a ``Preset`` is returned as it is."""
    if isinstance(preset, Preset):
        return preset
    check_choice(preset, "preset", PRESETS)
    return PRESETS[preset]


def _as_counts(df: pd.DataFrame, col: str, table: str) -> np.ndarray:
    s = df[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise InputError(f"`{table}`: count column '{col}' must be numeric, has dtype {s.dtype}")
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        raise InputError(f"`{table}`: count column '{col}' has infinite values "
                         f"({int(np.isinf(x).sum())} rows); a count must be a finite whole number")
    bad = x[(x < 0) | ((x != np.round(x)) & ~np.isnan(x))]
    if len(bad):
        raise InputError(f"`{table}`: count column '{col}' must hold non-negative whole numbers; "
                         f"offending values: {list(np.unique(bad)[:5])}")
    return x


def protect(
    data: pd.DataFrame,
    counts: Sequence[str],
    preset: str | Preset = DEFAULT_PRESET,
    *,
    rates: Mapping[str, tuple[str, str, float]] | None = None,
    table: str = "table",
    log: DisclosureLog | None = None,
) -> pd.DataFrame:
    """Return a protected copy of ``data``: counts suppressed and rounded, rates recomputed.

    Parameters
    ----------
    counts : the count (and denominator) columns to protect.
    preset : ``"opensafely"`` (default), ``"nhs_hes"``, ``"threshold10"`` or a :class:`Preset`.
    rates : ``{rate_column: (numerator, denominator, multiplier)}``; each rate is recomputed from the
        protected numerator and denominator (blank if either is suppressed). A denominator that is
        person-time rather than a count of people need not be listed in ``counts``.
    table : a name for the log and messages.
    log : a :class:`DisclosureLog` to append to.

    Protected count columns are nullable integers (``Int64``): suppressed cells are ``<NA>``.
    The input is never modified. The result carries ``attrs["pceval_protected"] = preset name``.

    Example
    -------
    >>> protect(pd.DataFrame({"q": [1, 2], "n": [5, 123]}), counts=["n"])["n"].tolist()
    [<NA>, 125]
    """
    p = get_preset(preset)
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"`{table}` must be a pandas DataFrame, got {type(data).__name__}")
    df = data
    require_columns(df.columns, table, list(counts))
    out = df.copy()
    for col in counts:
        x = _as_counts(df, col, table)
        protected, suppressed = p.apply(x)
        out[col] = pd.array(np.where(np.isnan(protected), pd.NA, protected), dtype="Int64")
        if log is not None:
            rounded = int(np.sum((protected != x) & ~np.isnan(protected)))
            log.add(table, col, p.name, len(x), int(suppressed.sum()), rounded)
    for rate_col, (num, den, mult) in (rates or {}).items():
        require_columns(df.columns, table, [num, den])
        check_number(mult, f"rates['{rate_col}'] multiplier", low=0, low_open=True)
        n = pd.to_numeric(out[num], errors="coerce").astype(float)
        d = pd.to_numeric(out[den], errors="coerce").astype(float)
        out[rate_col] = (n / d.where(d > 0) * mult).to_numpy()
        if log is not None:
            log.add(table, rate_col, p.name, len(out), int(out[rate_col].isna().sum()), 0)
    out.attrs = {**df.attrs, "pceval_protected": p.name}
    return out


def rebuild_totals(data: pd.DataFrame, counts: Sequence[str], by: str | None = None,
                   label: str = "Total", preset: str | Preset = DEFAULT_PRESET) -> pd.DataFrame:
    """Append a total row made from already-protected parts (suppressed parts count as zero).

    The parts must already be protected under ``preset`` (a :class:`DisclosureError` otherwise:
    a total of raw parts would publish raw counts); the total is then protected by the same rule,
    so a total that comes out small is suppressed; when some parts are suppressed the sum is only a
    lower bound, and a small one (0 included) is suppressed too.
    """
    p = get_preset(preset)
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"`data` must be a pandas DataFrame, got {type(data).__name__}")
    require_columns(data.columns, "data", list(counts) + ([by] if by is not None else []))
    for c in counts:
        if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])):
            raise InputError(f"`data`: count column '{c}' must be numeric (as protect() returns "
                             f"it), has dtype {data[c].dtype}")
        if (pd.to_numeric(data[c], errors="coerce") < 0).any():
            raise InputError(f"`data`: count column '{c}' has negative values; counts are >= 0")
    check_published(data, counts, p, table="data")
    sums = {c: float(pd.to_numeric(data[c], errors="coerce").fillna(0).sum()) for c in counts}
    protected, _ = p.apply(np.array([sums[c] for c in counts]))
    # with suppressed parts the sum is only a lower bound: a small one (0 included) is not shown
    some_hidden = np.array([bool(data[c].isna().any()) for c in counts])
    protected[some_hidden & (protected <= p.threshold)] = np.nan
    total = dict(zip(counts, (pd.NA if np.isnan(v) else int(v) for v in protected), strict=True))
    row = {c: (label if c == by else total.get(c, pd.NA)) for c in data.columns}
    out = pd.concat([data, pd.DataFrame([row])], ignore_index=True)
    for c in counts:
        out[c] = out[c].astype("Int64")
    out.attrs = dict(data.attrs)
    return out


def protect_flow(flow: pd.DataFrame, preset: str | Preset = DEFAULT_PRESET,
                 columns: Iterable[str] | None = None, log: DisclosureLog | None = None) -> pd.DataFrame:
    """Protect a cohort-flow (attrition) table: every box count is suppressed/rounded on its own.

    ``n_removed`` is protected as a count in its own right (a step removing 3 people shows as
    suppressed), not derived from the rounded boxes, so differences of rounded boxes are approximate.
    """
    cols = list(columns) if columns is not None else [
        c for c in flow.columns if c.startswith("n_") or c.startswith("n ")]
    return protect(flow, cols, preset, table="flow", log=log)


def check_published(data: Any, counts: Sequence[str], preset: str | Preset = DEFAULT_PRESET,
                    table: str = "table") -> None:
    """Raise :class:`DisclosureError` if any count column would publish a small or unrounded count.

    ``data`` may be any table pceval reads (pandas, polars, DuckDB, Spark); it is collected."""
    p = get_preset(preset)
    df = to_pandas(data)
    require_columns(df.columns, table, list(counts))
    for col in counts:
        x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        low = 0 if p.suppress_zero else 1
        small = (x >= low) & (x <= p.threshold)
        unrounded = (np.mod(x, p.base) != 0) & ~np.isnan(x) if p.base > 1 else np.zeros(len(x), bool)
        if small.any() or unrounded.any():
            bad = np.unique(x[small | unrounded])[:5]
            raise DisclosureError(
                f"`{table}`: column '{col}' would publish unprotected counts under preset "
                f"{p.name!r} ({p.source}): {list(bad)}; pass the table through pceval.disclosure.protect"
            )


__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET", "DisclosureLog", "protect", "rebuild_totals",
           "protect_flow", "check_published", "get_preset"]


def count(n: float, preset: str = DEFAULT_PRESET) -> str:
    """A count for prose, protected like a table cell: ``count(123) == '125'``, ``count(5) == '7 or fewer'``."""
    try:
        x = float(n)
    except (TypeError, ValueError):
        raise InputError(f"count(): a count must be a finite non-negative whole number, "
                         f"got {n!r}") from None
    if isinstance(n, (str, bytes)) or not np.isfinite(x) or x < 0 or x != round(x):
        raise InputError(f"count(): a count must be a finite non-negative whole number, got {n!r}")
    p = get_preset(preset)
    value, suppressed = p.apply(np.array([float(n)]))
    if suppressed[0]:
        return f"{p.threshold} or fewer"
    return f"{int(value[0]):,}"
