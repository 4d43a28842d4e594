"""Index of Multiple Deprivation helpers and PHE's quantile assignment.

Conventions (pceval-wide): IMD decile/quintile **1 = most deprived**; Core20 = national IMD quintile 1
(the most deprived 20% of areas, NHS England's Core20PLUS5); every table says which IMD edition it
uses (English Indices of Deprivation 2019 by default; 2025 supported).

>>> decile_to_quintile([1, 2, 3, 10])
array([1, 1, 2, 5])
>>> core20([1, 2, 5])
array([ True, False, False])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pceval._checks import check_int
from pceval.errors import InputError
from pceval.inequality._common import GroupBy, as_list, check_column_arg, check_input, warn

IMD_EDITIONS: dict[str, str] = {
    "2019": "English Indices of Deprivation 2019 (MHCLG)",
    "2025": "English Indices of Deprivation 2025 (MHCLG)",
}
DEFAULT_IMD_EDITION = "2019"


def check_imd_edition(edition: Any = DEFAULT_IMD_EDITION) -> str:
    """Return the canonical edition ("2019" or "2025") or raise InputError for an unknown one.

    Accepts ``2019``, ``"2019"``, ``"IMD2019"``, ``"IMD 2019"``, ``"IoD2025"`` and the like.
    """
    if isinstance(edition, (int, np.integer)) and not isinstance(edition, bool):
        key = str(int(edition))
    elif isinstance(edition, str):
        key = edition.strip().upper().replace(" ", "").removeprefix("IMD").removeprefix("IOD")
    else:
        key = None
    if key not in IMD_EDITIONS:
        raise InputError(
            f"`imd_edition` must be one of {sorted(IMD_EDITIONS)} (English Indices of Deprivation), "
            f"got {edition!r}"
        )
    return key


def _codes(values: Any, name: str, high: int) -> tuple[np.ndarray, Any]:
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=object)
    scalar = arr.ndim == 0
    flat = np.atleast_1d(arr)
    num = pd.to_numeric(pd.Series(flat), errors="coerce").to_numpy(float)
    given = pd.notna(pd.Series(flat)).to_numpy()
    bad = given & (np.isnan(num) | (num != np.round(num)) | (num < 1) | (num > high))
    if bad.any():
        raise InputError(
            f"`{name}` must hold whole numbers 1..{high} (1 = most deprived); "
            f"{int(bad.sum())} value(s) do not: {list(pd.unique(flat[bad]))[:5]}"
        )
    return num, scalar


def decile_to_quintile(deciles: Any) -> Any:
    """IMD decile (1-10) to quintile (1-5): ``quintile = ceil(decile / 2)``; 1 stays most deprived.

    Accepts a scalar, list, array or Series (a Series keeps its index; missing stays missing).
    """
    num, scalar = _codes(deciles, "deciles", 10)
    q = np.ceil(num / 2)
    if scalar:
        return int(q[0]) if not np.isnan(q[0]) else None
    if isinstance(deciles, pd.Series):
        return pd.Series(q, index=deciles.index, name="imd_quintile").astype("Int64")
    if np.isnan(q).any():
        return pd.array(q, dtype="Int64")
    return q.astype(int)


def core20(quintiles: Any) -> Any:
    """True for national IMD quintile 1 (Core20: the most deprived 20%); missing stays missing."""
    num, scalar = _codes(quintiles, "quintiles", 5)
    flag = num == 1
    if scalar:
        return None if np.isnan(num[0]) else bool(flag[0])
    if isinstance(quintiles, pd.Series):
        out = pd.Series(flag, index=quintiles.index, name="core20").astype("boolean")
        out[np.isnan(num)] = pd.NA
        return out
    if np.isnan(num).any():
        out = pd.array(flag, dtype="boolean")
        out[np.isnan(num)] = pd.NA
        return out
    return flag


def add_imd(data: pd.DataFrame, *, decile: str | None = "imd_decile", quintile: str | None = None,
            imd_edition: Any = DEFAULT_IMD_EDITION) -> pd.DataFrame:
    """A copy of ``data`` with ``imd_quintile`` (from ``decile`` unless ``quintile`` is given),
    ``core20`` and ``imd_edition`` columns."""
    ed = check_imd_edition(imd_edition)
    if (decile is None) == (quintile is None):
        raise InputError("give exactly one of `decile` and `quintile`")
    col = decile if decile is not None else quintile
    assert col is not None  # exactly one of decile and quintile (checked above)
    data = check_input(data, "data", required=[col])
    out = data.copy()
    q = decile_to_quintile(out[col]) if decile is not None else pd.Series(
        _codes(out[col], "quintile", 5)[0], index=out.index).astype("Int64")
    out["imd_quintile"] = q
    out["core20"] = core20(q)
    out["imd_edition"] = ed
    return out


def quantile(data: pd.DataFrame, value: str, *, nquantiles: int = 10, invert: bool | str = True,
             by: GroupBy = None, name: str = "quantile") -> pd.DataFrame:
    """Assign areas to quantiles within groups by PHE's method (PHEindicatormethods ``phe_quantile``).

    With ``n`` non-missing values in a group, ``adj = max(v) - v`` when inverted (else ``v``), ``r``
    its rank (ties share the lowest rank)::

        quantile = floor((nq + 1) - ceil(((n + 1) - r) / (n / nq))),  and 0 becomes 1

    so quantile 1 holds the lowest values (the highest when ``invert``; e.g. the most deprived areas
    when ``value`` is an IMD score). Missing values get a missing quantile, and so does every area of
    a group with fewer values than quantiles (with a warning counting such groups), as in PHE.

    Parameters
    ----------
    value : str
        Numeric column to rank.
    nquantiles : int
        Number of quantiles (>= 2).
    invert : bool or str
        True puts the highest values in quantile 1; or a column of True/False that must be constant
        within each group (e.g. an indicator's polarity).
    by : column name(s), optional
        Assign quantiles within these groups.
    name : str
        Name of the output column.

    Returns
    -------
    ``data`` (copy) plus ``name``, ``nquantiles``, ``groupvars``, ``qinverted`` and ``method``.
    """
    value = check_column_arg(value, "value")
    nq = check_int(nquantiles, "nquantiles", low=2)
    gb = as_list(by)
    inv_col = invert if isinstance(invert, str) else None
    if inv_col is None and not isinstance(invert, (bool, np.bool_)):
        raise InputError(f"`invert` must be True, False or a column name, got {invert!r}")
    data = check_input(data, "data", numeric=[value], by=gb, not_null=gb,
                       required=[inv_col] if inv_col else [])
    if inv_col is not None:
        s = data[inv_col]
        if not s.dropna().isin([True, False, 0, 1]).all() or s.isna().any():
            raise InputError(f"`data`: column '{inv_col}' (invert) must hold True/False in every row")
        inv = s.astype(bool).to_numpy()
        if gb and (data.assign(_i=inv).groupby(gb)["_i"].nunique() > 1).any():
            raise InputError(f"`data`: column '{inv_col}' (invert) must take one value within each group")
        if not gb and len(np.unique(inv)) > 1:
            raise InputError(f"`data`: column '{inv_col}' (invert) must take one value (no `by`)")
    else:
        inv = np.full(len(data), bool(invert))
    out = data.copy()
    v = data[value].astype(float)
    keys = [data[c] for c in gb] if gb else np.zeros(len(data))
    grouped = v.groupby(keys, sort=False)
    vmax = grouped.transform("max")
    adj = pd.Series(np.where(inv, vmax - v, v), index=data.index)
    rank = adj.groupby(keys, sort=False).rank(method="min").to_numpy(float)
    n = grouped.transform("count").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.floor((nq + 1) - np.ceil(((n + 1) - rank) / (n / nq)))
    q = np.where(q == 0, 1, q)
    too_few = n < nq
    if too_few.any():
        n_groups = len(data.loc[too_few, gb].drop_duplicates()) if gb else 1
        warn(f"quantile: {n_groups} group(s) have fewer than {nq} values, too few to assign "
             f"{nq} quantiles; their quantiles are missing")
        q = np.where(too_few, np.nan, q)
    out[name] = pd.array(np.where(np.isnan(v.to_numpy()), np.nan, q), dtype="Float64").astype("Int64")
    out["nquantiles"] = nq
    out["groupvars"] = ", ".join(gb)
    out["qinverted"] = np.where(inv, "lowest quantile represents highest values",
                                "lowest quantile represents lowest values")
    out["method"] = "PHE quantile assignment (phe_quantile)"
    return out


def quantile_order(labels: Sequence[Any]) -> list[Any]:
    """Sort quantile labels by their leading whole number ('1 - most deprived', '2', ..., '10')."""
    labs = list(labels)
    lead = pd.Series([str(x) for x in labs]).str.extract(r"^\s*(\d+)")[0]
    if lead.notna().all() and lead.nunique() == len(labs):
        return [lab for _, lab in sorted(zip(lead.astype(int), labs, strict=True), key=lambda t: t[0])]
    try:
        return sorted(labs)
    except TypeError:
        return sorted(labs, key=str)


__all__ = ["IMD_EDITIONS", "DEFAULT_IMD_EDITION", "check_imd_edition", "decile_to_quintile", "core20",
           "add_imd", "quantile"]
