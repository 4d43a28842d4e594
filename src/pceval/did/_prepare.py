"""Check a long panel once and turn it into unit x period arrays for the DiD estimators.

Every exclusion is counted in an ordered ``exclusions`` dict (reason -> rows or units) and
announced with a :class:`~pceval.errors.PcevalWarning`; nothing is dropped silently.

Units are put in a canonical order that depends only on the text of their ids (see
:func:`_factorize_ids`): ids that are integers come first, by value, then the others by their
text. The order does not depend on the row order of the data, and an id stored as a number or
as text (``17`` or ``"17"``) takes the same place, so every sum over units, and with it every
estimate, standard error and bootstrap band, is the same bit for bit. Two different ids with
the same text (``17`` beside ``"17"``) are refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pceval._checks import _show, check_frame
from pceval._engines import to_pandas
from pceval.did._inference import canonical_texts
from pceval.errors import InputError, PcevalWarning


@dataclass
class WidePanel:
    """A panel as arrays: ``y[i, j]`` is unit ``i``'s outcome in period ``times[j]`` (NaN if unobserved)."""

    units: np.ndarray            # unit ids, in the canonical order (_factorize_ids)
    times: np.ndarray            # sorted periods
    y: np.ndarray                # n_units x n_times
    group: np.ndarray            # first treated period per unit, 0 = never
    X: np.ndarray                # n_units x k covariates with a leading intercept column
    covariate_names: list[str]
    weights: np.ndarray          # unit weights (1 if none given)
    clusters: np.ndarray | None  # cluster codes 0..G-1 per unit
    exclusions: dict[str, int] = field(default_factory=dict)
    cluster_ids: np.ndarray | None = None  # the cluster of each code

    @property
    def n(self) -> int:
        return len(self.units)

    @property
    def balanced(self) -> bool:
        return bool(np.isfinite(self.y).all())


def _note(exclusions: dict[str, int], reason: str, count: int, stacklevel: int = 5) -> None:
    """Count an exclusion and announce it (the warning points at the public function's caller)."""
    if count:
        exclusions[reason] = exclusions.get(reason, 0) + int(count)
        warnings.warn(f"{reason}: {count:,}", PcevalWarning, stacklevel=stacklevel)


def _unit_constant(df: pd.DataFrame, unit: str, col: str, what: str, order: np.ndarray,
                   same_unit: np.ndarray) -> None:
    v = df[col].to_numpy()[order]
    changed = same_unit & (v[1:] != v[:-1])
    if changed.any():
        bad = pd.unique(df[unit].to_numpy()[order][1:][changed])
        raise InputError(
            f"`{col}` must be constant within each unit ({what}), but it varies for "
            f"{len(bad):,} unit(s) in `{unit}`: {_show(bad)}"
        )


def prepare_panel(
    data: Any,
    *,
    outcome: str,
    unit: str,
    time: str,
    group: str,
    covariates: Sequence[str] | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    anticipation: int = 0,
    unbalanced: str = "balance",
) -> WidePanel:
    """Validate a long panel and pivot it to arrays.

    * missing outcome or covariate values: the row is dropped (counted);
    * ``group`` (first treated period, 0 = never), ``covariates``, ``weights`` and ``cluster``
      must be constant within a unit (an :class:`InputError` names the column otherwise):
      pceval treats covariates as baseline characteristics, as R ``did`` does for panels;
    * groups first treated after the last period are never treated within the data (counted);
    * units treated in or before the first period plus ``anticipation`` have no pre-treatment
      period and are dropped (counted), as R ``did`` does;
    * ``unbalanced="balance"`` drops units not observed in every period (counted);
      ``"error"`` raises; ``"pairwise"`` keeps them for estimators that use, for each
      comparison, the units observed in both periods.
    """
    covariates = list(covariates or [])
    if unbalanced not in ("balance", "error", "pairwise", "repeated_cross_section"):
        raise InputError("`unbalanced` must be 'balance', 'pairwise', 'repeated_cross_section' or "
                         f"'error', got {unbalanced!r}")
    exclusions: dict[str, int] = {}
    df, uid0 = _checked_rows(data, outcome, unit, time, group, covariates, weights, cluster,
                             exclusions)
    _check_unit_constants(df, uid0, unit, group, covariates, weights, cluster)
    df, times = _resolve_groups(df, unit, time, group, anticipation, exclusions)
    arrays = _pivot(df, outcome, unit, time, group, covariates, weights, cluster, times)
    return _balance(arrays, times, covariates, unbalanced, time, exclusions)


def _checked_rows(data: Any, outcome: str, unit: str, time: str, group: str,
                  covariates: list[str], weights: str | None, cluster: str | None,
                  exclusions: dict[str, int]) -> tuple[pd.DataFrame, np.ndarray]:
    """The panel's columns as pandas, checked (an infinite value is an error); rows with a
    missing outcome or covariate dropped (counted); one row per unit and period; non-negative
    weights; equally spaced time codes.
    Returns the rows and their unit codes (in order of appearance)."""
    df = to_pandas(data)
    cols = [unit, time, group, outcome, *covariates]
    if weights:
        cols.append(weights)
    if cluster:
        cols.append(cluster)
    if len(set(cols)) != len(cols):
        raise InputError(f"column names must be distinct, got {cols}")
    df = check_frame(
        df, "data", required=cols,
        numeric=[outcome, time, group, *covariates, *([weights] if weights else [])],
        not_null=[unit, time, group, *([weights] if weights else []), *([cluster] if cluster else [])],
    )
    df = df[cols]
    miss = df[[outcome, *covariates]].isna().any(axis=1) | ~np.isfinite(
        df[[outcome, *covariates]].to_numpy(float)).all(axis=1)
    _note(exclusions, "rows with a missing outcome or covariate dropped", int(miss.sum()))
    df = df.loc[~miss]
    if df.empty:
        raise InputError("`data` has no rows with a non-missing outcome")
    uid0, _ = pd.factorize(df[unit])
    tid0, _ = pd.factorize(df[time])
    cell = uid0.astype(np.int64) * (int(tid0.max()) + 1) + tid0
    if np.bincount(cell).max() > 1:
        dup = df.loc[df.duplicated([unit, time], keep=False), [unit, time]].drop_duplicates()
        raise InputError(
            f"`data` must have one row per `{unit}` and `{time}`, but {len(dup):,} unit-period(s) "
            f"repeat: {_show(dup.itertuples(index=False, name=None))}"
        )
    if weights is not None and (df[weights] < 0).any():
        raise InputError(f"`weights` column '{weights}' must be non-negative")
    _check_spacing(df[time].to_numpy(float), time)
    return df, uid0


def _check_spacing(t: np.ndarray, time: str) -> None:
    """Event time ``t - g`` counts periods only if the time codes are equally spaced: labels
    such as yyyyq (20204 is followed by 20211) or yyyymm would make 20211 - 20201 = 10 periods."""
    times = np.unique(t)
    gaps = np.unique(np.diff(times))
    if len(gaps) > 1:
        shown = ", ".join(f"{g:g}" for g in gaps[:6])
        raise InputError(
            f"`time` column '{time}' is not equally spaced (gaps between its values: {shown}), so "
            "`time - group` would not count periods. Calendar labels such as yyyyq or yyyymm "
            "need converting to consecutive period numbers: use calendar_panel's `period` and "
            "`first_treated_period` columns, or number the periods yourself (e.g. year * 4 + "
            "quarter for quarters) and code `group` on the same scale")


def _check_unit_constants(df: pd.DataFrame, uid0: np.ndarray, unit: str, group: str,
                          covariates: list[str], weights: str | None, cluster: str | None) -> None:
    """Refuse a group, covariate, weight or cluster that varies within a unit (``uid0``: the
    rows' unit codes)."""
    order = np.argsort(uid0, kind="stable")
    same_unit = uid0[order][1:] == uid0[order][:-1]
    _unit_constant(df, unit, group, "the first treated period; a treatment that switches off "
                   "or restarts is not a staggered adoption design", order, same_unit)
    for c in covariates:
        _unit_constant(df, unit, c, "pass baseline values, e.g. as at the index date", order, same_unit)
    if weights:
        _unit_constant(df, unit, weights, "unit weights", order, same_unit)
    if cluster:
        _unit_constant(df, unit, cluster, "units must be nested in clusters", order, same_unit)


def _resolve_groups(df: pd.DataFrame, unit: str, time: str, group: str, anticipation: int,
                    exclusions: dict[str, int]) -> tuple[pd.DataFrame, np.ndarray]:
    """Check the groups against the periods: a group must be 0 or a period; groups after the
    last period become never treated, units treated in the first period (plus anticipation)
    are dropped; both counted. Returns the rows kept and the sorted periods."""
    times = np.sort(df[time].unique())
    g_vals = df[group].to_numpy(float)
    bad_g = (g_vals != 0) & ~np.isin(g_vals, times) & (g_vals < times[-1]) & (g_vals > times[0])
    if bad_g.any():
        raise InputError(
            f"`group` column '{group}' must be 0 (never treated) or one of the periods in "
            f"`{time}`; found {_show(np.unique(g_vals[bad_g]))}"
        )
    late = g_vals > times[-1]
    if late.any():
        n_late = df.loc[late, unit].nunique()
        _note(exclusions, "units first treated after the last period (treated as never treated)", n_late)
        df = df.copy()
        df.loc[late, group] = 0
        g_vals = df[group].to_numpy(float)
    early = (g_vals != 0) & (g_vals - anticipation <= times[0])
    if early.any():
        _note(exclusions, "units treated in the first period (no pre-treatment period) dropped",
              df.loc[early, unit].nunique())
        df = df.loc[~early]
        if (df[group] != 0).sum() == 0:
            raise InputError(
                "every treated unit is treated in the first period, so no group has a "
                "pre-treatment period to compare with"
            )
    return df, times


def _pivot(df: pd.DataFrame, outcome: str, unit: str, time: str, group: str,
           covariates: list[str], weights: str | None, cluster: str | None,
           times: np.ndarray) -> tuple:
    """Pivot to a unit x period outcome array (NaN where unobserved) and unit-level arrays,
    read from one row of each unit (they are constant within unit): ``(units, y, group,
    covariates, weights, cluster codes or None, cluster ids or None)``, units in the
    canonical order."""
    uid, units = _factorize_ids(df[unit], unit)
    tid = np.searchsorted(times, df[time].to_numpy())
    n_units, n_times = len(units), len(times)
    y = np.full((n_units, n_times), np.nan)
    y[uid, tid] = df[outcome].to_numpy(float)
    first = np.empty(n_units, dtype=np.int64)
    first[uid] = np.arange(len(uid))
    gr = df[group].to_numpy(float)[first]
    Xc = df[covariates].to_numpy(float)[first] if covariates else np.empty((n_units, 0))
    w = df[weights].to_numpy(float)[first] if weights else np.ones(n_units)
    cl, cl_ids = None, None
    if cluster:
        cl, cl_ids = pd.factorize(df[cluster].to_numpy()[first])
        cl_ids = np.asarray(cl_ids)
        if cl_ids.dtype.kind not in "iufb":
            _check_distinct_texts(canonical_texts(cl_ids), cl_ids, cluster)
    return units, y, gr, Xc, w, cl, cl_ids


def _balance(arrays: tuple, times: np.ndarray, covariates: list[str], unbalanced: str,
             time: str, exclusions: dict[str, int]) -> WidePanel:
    """Apply the unbalanced-panel policy to the pivoted arrays (drop incomplete units, counted,
    or refuse them) and build the panel, with an intercept column leading ``X``."""
    units, y, gr, Xc, w, cl, cl_ids = arrays
    observed = np.isfinite(y)
    if not observed.all():
        incomplete = ~observed.all(axis=1)
        if unbalanced == "error":
            raise InputError(
                f"the panel must be balanced, but {int(incomplete.sum()):,} of {len(units):,} units "
                f"are not observed in every period of `{time}`; use unbalanced='balance' or 'pairwise'"
            )
        if unbalanced == "balance":
            _note(exclusions, "units not observed in every period dropped (balanced panel)",
                  int(incomplete.sum()))
            keep = ~incomplete
            units, y, gr, Xc, w = units[keep], y[keep], gr[keep], Xc[keep], w[keep]
            if cl is not None:
                cl, kept = pd.factorize(cl[keep])
                cl_ids = cl_ids[np.asarray(kept)]
    if len(units) == 0:
        raise InputError("no units are left after the exclusions: " + repr(exclusions))
    X = np.column_stack([np.ones(len(units)), Xc])
    return WidePanel(
        units=np.asarray(units), times=times, y=y, group=gr, X=X, covariate_names=covariates,
        weights=w, clusters=cl, exclusions=exclusions, cluster_ids=cl_ids,
    )


_INT_DIGITS = 18  # integer ids up to 18 digits are ordered by value (int64 holds them all)


def _factorize_ids(ids: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``0..k-1`` for the rows' ids and the ids by code, in the canonical order: ids
    whose canonical text (:func:`pceval.did._inference.canonical_texts`) is an integer of at
    most 18 digits (no sign other than ``-``, no leading zeros) first, by value; then the others
    by their text (code points). For integer ids this is the sorted order."""
    codes, uniques = pd.factorize(ids, sort=True)
    u = np.asarray(uniques)
    order = _canonical_order(u, column)
    if np.array_equal(order, np.arange(len(order))):
        return codes, u
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], u[order]


def _canonical_order(u: np.ndarray, column: str) -> np.ndarray:
    """The permutation putting distinct ids ``u`` in the canonical order (see
    :func:`_factorize_ids`); two ids with the same text are refused."""
    limit = 10.0**_INT_DIGITS
    whole = u.dtype.kind in "iu" or (u.dtype.kind == "f" and bool(np.all(u == np.round(u))))
    if whole and (len(u) == 0 or bool(np.all((u > -limit) & (u < limit)))):
        return np.argsort(u, kind="stable")
    texts = canonical_texts(u)
    if u.dtype.kind == "O" and pd.api.types.infer_dtype(u, skipna=False) != "string":
        _check_distinct_texts(texts, u, column)  # mixed types: 17 and "17" read the same
    is_int = _integer_texts(texts)
    ints, others = np.flatnonzero(is_int), np.flatnonzero(~is_int)
    rest = texts[others]
    if not bool(np.all(rest[1:] >= rest[:-1])):  # factorize(sort=True) usually sorted them
        others = others[np.argsort(rest, kind="stable")]
    return np.concatenate([ints[np.argsort(texts[ints].astype(np.int64), kind="stable")],
                           others])


def _integer_texts(texts: np.ndarray) -> np.ndarray:
    """Which texts are integers as ``str(int)`` writes them, with at most 18 digits: an optional
    ``-``, then ASCII digits without a leading zero (``"0"`` itself, but not ``"-0"``)."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    width = texts.dtype.itemsize // 4
    length = np.char.str_len(texts)
    chars = texts.view(np.uint32).reshape(n, width)[:, :_INT_DIGITS + 1]
    neg = chars[:, 0] == ord("-")
    beyond = np.arange(chars.shape[1])[None, :] >= length[:, None]
    ok = ((chars >= ord("0")) & (chars <= ord("9"))) | beyond
    ok[:, 0] |= neg
    lead = chars[np.arange(n), neg.astype(np.intp)] if chars.shape[1] > 1 else chars[:, 0]
    digits = length - neg
    return (ok.all(axis=1) & (digits >= 1) & (digits <= _INT_DIGITS)
            & ((lead != ord("0")) | ((digits == 1) & ~neg)))


def _check_distinct_texts(texts: np.ndarray, ids: np.ndarray, column: str) -> None:
    """Refuse distinct ids that read the same (``17`` beside ``"17"``): they would be taken
    as different units (or clusters) although they are almost surely one."""
    order = np.argsort(texts, kind="stable")
    same = np.flatnonzero(texts[order][1:] == texts[order][:-1])
    if len(same):
        pairs = [(ids[order[i]], ids[order[i + 1]]) for i in same]
        raise InputError(
            f"`{column}` holds {len(same):,} id(s) written both as a number and as text (or "
            f"otherwise differently but reading the same), e.g. {_show(pairs)}; store "
            f"`{column}` as one type"
        )
