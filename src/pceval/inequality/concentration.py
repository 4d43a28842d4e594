"""Concentration indices of an outcome over deprivation, with standard errors.

People (or groups) are ranked from the **most deprived** to the least deprived; ``R`` is the
fractional rank (the midpoint of each person's share of the weighted population, ties averaged),
``mu`` the mean outcome. With weights ``w`` summing to ``W``::

    C  = 2 cov_w(y, R) / mu = (2 / (mu W)) sum w y (R - 1/2)
    GC = mu C                                     generalised concentration index
    W  = (b - a) GC / ((b - mu)(mu - a))          Wagstaff (2005) normalisation, bounds [a, b]
    E  = 4 GC / (b - a)                           Erreygers (2009) correction

A negative index means the outcome is concentrated among the more deprived (for an outcome such as
emergency admissions, more use there); positive, among the less deprived.

Standard errors use Kakwani, Wagstaff & van Doorslaer's (1997) delta-method formula, written as an
influence function so that it carries over to weights and to the other indices::

    a_i = (y_i / mu)(2 R_i - 1 - C) + 2 - q_{i-1} - q_i,      IF_C = a_i - (1 + C)
    var = sum_i (w_i / W)^2 IF_i^2   (individual data; grouped data: sum_t n_t IF_t^2 / N^2
          plus the within-group term sum_t n_t s_t^2 d_t^2 / N^2 when group variances are given)

with ``q_i`` the cumulative outcome share up to ``i`` in rank order and ``d_t`` the derivative of the
index with respect to one person's outcome in group ``t``. For ``GC = mu C``, ``IF = mu IF_C +
C (y - mu)``; ``E`` and ``W`` follow by the chain rule.

Theoretical bounds are reported with each index: ``C`` in [-1, 1] (for a variable bounded in [a, b]:
+/- (b - mu)(mu - a) / ((b - a) mu), i.e. [mu - 1, 1 - mu] for a binary outcome), ``GC`` in
[-mu, mu] (bounded: +/- (b - mu)(mu - a) / (b - a)), ``W`` and ``E`` in [-1, 1].

References: Kakwani N, Wagstaff A, van Doorslaer E (1997) Socioeconomic inequalities in health:
measurement, computation and statistical inference. *J Econometrics* 77:87-103. Wagstaff A (2005)
The bounds of the concentration index when the variable of interest is binary. *Health Econ*
14:429-432. Erreygers G (2009) Correcting the concentration index. *J Health Econ* 28:504-515.
O'Donnell O et al. (2008) *Analyzing Health Equity Using Household Survey Data*, ch. 8. World Bank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from pceval._checks import check_choice
from pceval._distributions import stats
from pceval.errors import InputError
from pceval.inequality._common import (
    GroupBy,
    as_list,
    check_column_arg,
    check_input,
    confidence_levels,
    group_keys,
    show,
    warn,
)
from pceval.inequality.imd import check_imd_edition

Kind = Literal["standard", "generalized", "generalised", "wagstaff", "erreygers"]


def _direction(quantile: str, most_deprived: str) -> str:
    if most_deprived == "auto":
        return "highest" if "score" in quantile.lower() else "lowest"
    return most_deprived


def concentration_index(data: pd.DataFrame, outcome: str, *, kind: Kind = "standard",
                        weights: str | None = None, population: str | None = None,
                        variance: str | None = None, bounds: tuple[float, float] | None = None,
                        by: GroupBy = None, quantile: str,
                        confidence: float | Sequence[float] = 0.95,
                        most_deprived: Literal["auto", "lowest", "highest"] = "auto",
                        imd_edition: str | int | None = None) -> pd.DataFrame:
    """Concentration index of ``outcome`` over ``quantile`` (see the module docstring for formulas).

    Parameters
    ----------
    data : pandas.DataFrame
        Individual data (one row per person) or grouped data (one row per group, with
        ``population`` and the group's mean ``outcome``).
    outcome : str
        Outcome (or group mean outcome for grouped data).
    kind : ``"standard"``, ``"generalized"``, ``"wagstaff"`` or ``"erreygers"``
    weights : str, optional
        Sampling weights (individual data).
    population : str, optional
        Group sizes: marks the data as grouped.
    variance : str, optional
        Within-group variance of the outcome (grouped data), added to the standard error.
    bounds : (a, b), optional
        Bounds of the outcome for Wagstaff and Erreygers (and for the bounds of C and GC). Without
        them: (0, 1) for a 0/1 outcome, else the observed minimum and maximum with a warning
        (grouped data need them).
    by : column name(s), optional
        One index per group (a single name is one column).
    quantile : str
        Deprivation measure to rank by (IMD quintile, decile, rank or score, ...).
    confidence : float or sequence
        Level(s) for normal-theory limits ``index -/+ z SE``.
    most_deprived : ``"auto"``, ``"lowest"`` or ``"highest"``
        Which end of ``quantile`` is most deprived; ``"auto"`` takes the highest value as most deprived
        when the column name contains "score" (IMD scores) and the lowest otherwise (IMD ranks,
        deciles and quintiles, where 1 = most deprived). The output says which was used.
    imd_edition : optional
        IMD edition recorded in the output.

    Returns
    -------
    DataFrame per group (x level): ``kind``, ``index``, ``std_error``, ``lower``, ``upper``,
    ``confidence``, ``mean``, ``n``, ``lower_bound``, ``upper_bound``, ``ranked_by``,
    ``negative_means``, ``imd_edition``, ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"imd_decile": [1, 1, 2, 2], "admitted": [1, 1, 0, 1]})
    >>> r = concentration_index(d, outcome="admitted", quantile="imd_decile", kind="erreygers")
    >>> round(float(r["index"][0]), 3), r.ranked_by[0]
    (-0.5, 'imd_decile (lowest value = most deprived)')
    """
    outcome, quantile = check_column_arg(outcome, "outcome"), check_column_arg(quantile, "quantile")
    kind = check_choice(kind, "kind", {"standard", "generalized", "generalised", "wagstaff", "erreygers"})
    kind = "generalized" if kind == "generalised" else kind
    check_choice(most_deprived, "most_deprived", {"auto", "lowest", "highest"})
    levels = confidence_levels(confidence)
    gb = as_list(by)
    if variance is not None and population is None:
        raise InputError("`variance` is for grouped data: give `population` too")
    if weights is not None and population is not None:
        raise InputError("give `weights` (individual data) or `population` (grouped data), not both")
    edition = check_imd_edition(imd_edition) if imd_edition is not None else None
    extra = [c for c in (weights, population, variance) if c is not None]
    data = check_input(data, "data", numeric=[outcome, quantile, *extra], by=gb,
                       not_null=[*gb, outcome, quantile, *extra])
    for col in (weights, population):
        if col is not None and (data[col] <= 0).any():
            raise InputError(f"`data`: column '{col}' must be > 0 in every row (got "
                             f"{show(data.loc[data[col] <= 0, col].unique())})")
    if variance is not None and (data[variance] < 0).any():
        raise InputError(f"`data`: column '{variance}' must be >= 0")
    grouped = population is not None
    y_all = data[outcome].to_numpy(float)
    lo_b, hi_b, bounds_note = _bounds(y_all, bounds, grouped, kind, outcome)
    direction = _direction(quantile, most_deprived)
    keys, codes = group_keys(data, gb)
    g = len(keys)
    key = data[quantile].to_numpy(float) * (-1.0 if direction == "highest" else 1.0)
    order = np.lexsort((key, codes))
    w = (data[population] if grouped else data[weights] if weights else pd.Series(1.0, index=data.index)
         ).to_numpy(float)[order]
    m = w if grouped else np.ones_like(w)  # persons per row
    s2 = data[variance].to_numpy(float)[order] if variance else np.zeros_like(w)
    rk = _ranks(codes[order], key[order], y_all[order], w, g)
    if (rk["mu"] == 0).any() and kind in ("standard", "wagstaff"):
        raise InputError(f"`{outcome}` has mean 0 in some group; its {kind} concentration index is undefined")
    index, infl, deriv = _index_and_influence(kind, rk, lo_b, hi_b, outcome)
    codes_s, W = rk["codes"], rk["W"]
    per_person = w / m
    var = np.bincount(codes_s, weights=m * (per_person / W[codes_s]) ** 2 * infl**2, minlength=g)
    var += np.bincount(codes_s, weights=m * (per_person / W[codes_s]) ** 2 * s2 * deriv**2, minlength=g)
    se_note = ("Kakwani et al. (1997) delta method" + (", with within-group variance" if variance else "")
               + ("; grouped data" if grouped else ""))
    out = _table(keys, gb, kind, index, np.sqrt(var), levels, rk["mu"], lo_b, hi_b)
    out["n"] = np.tile(np.bincount(codes_s, weights=m, minlength=g), len(levels))
    out["ranked_by"] = f"{quantile} ({direction} value = most deprived)"
    out["negative_means"] = f"'{outcome}' concentrated among the more deprived"
    out["imd_edition"] = edition
    out["method"] = f"{_NAMES[kind]}; SE: {se_note}" + (f"; {bounds_note}" if bounds_note else "")
    return out[[*gb, "kind", "index", "std_error", "lower", "upper", "confidence", "mean", "n",
                "lower_bound", "upper_bound", "ranked_by", "negative_means", "imd_edition", "method"]]


_NAMES = {"standard": "concentration index", "generalized": "generalised concentration index",
          "wagstaff": "Wagstaff-normalised concentration index",
          "erreygers": "Erreygers-corrected concentration index"}


def _bounds(y_all: np.ndarray, bounds: Any, grouped: bool, kind: str,
            outcome: str) -> tuple[float, float, str]:
    """The outcome's bounds ``(a, b)`` and how they were chosen: given, binary (0, 1), the observed
    range (Wagstaff / Erreygers on individual data, with a warning) or none (missing)."""
    if bounds is not None:
        if (not isinstance(bounds, (tuple, list)) or len(bounds) != 2
                or not all(isinstance(v, (int, float, np.integer, np.floating)) for v in bounds)
                or not bounds[0] < bounds[1] or not np.isfinite(bounds).all()):
            raise InputError(f"`bounds` must be (lower, upper) finite numbers with lower < upper, got {bounds!r}")
        lo_b, hi_b = float(bounds[0]), float(bounds[1])
        if (y_all < lo_b).any() or (y_all > hi_b).any():
            raise InputError(f"`data`: '{outcome}' has values outside `bounds` {tuple(bounds)}")
        bounds_note = f"given bounds [{lo_b:g}, {hi_b:g}]"
    elif not grouped and np.isin(y_all, (0.0, 1.0)).all():
        lo_b, hi_b, bounds_note = 0.0, 1.0, "binary outcome, bounds [0, 1]"
    elif kind in ("wagstaff", "erreygers"):
        if grouped:
            raise InputError(f"kind='{kind}' on grouped data needs `bounds=(min, max)` of the outcome")
        lo_b, hi_b = float(y_all.min()), float(y_all.max())
        bounds_note = f"observed range [{lo_b:g}, {hi_b:g}] used as bounds"
        warn(f"concentration_index: '{outcome}' is not binary and no `bounds` were given; "
             f"the observed range [{lo_b:g}, {hi_b:g}] is used as its bounds")
    else:
        lo_b = hi_b = np.nan
        bounds_note = ""
    if kind in ("wagstaff", "erreygers") and not hi_b > lo_b:
        raise InputError(f"`{outcome}` has no spread (min = max), so its {kind} index is undefined")
    return lo_b, hi_b, bounds_note


def _ranks(codes_s: np.ndarray, key_s: np.ndarray, y: np.ndarray, w: np.ndarray,
           g: int) -> dict[str, np.ndarray]:
    """Fractional ranks ``R`` (ties share the average) and cumulative outcome shares ``q`` (and the
    previous ``q``) of rows sorted by group and rank key; group totals ``W``, ``WY`` and means."""
    new_block = np.r_[True, (codes_s[1:] != codes_s[:-1]) | (key_s[1:] != key_s[:-1])]
    block = np.cumsum(new_block) - 1
    n_blocks = block[-1] + 1
    block_group = codes_s[new_block]
    bw = np.bincount(block, weights=w, minlength=n_blocks)
    bwy = np.bincount(block, weights=w * y, minlength=n_blocks)
    W = np.bincount(codes_s, weights=w, minlength=g)
    WY = np.bincount(codes_s, weights=w * y, minlength=g)

    def within_group_cumsum(v: np.ndarray) -> np.ndarray:
        c = np.cumsum(v)
        start = np.r_[0, np.flatnonzero(block_group[1:] != block_group[:-1]) + 1]
        offset = np.repeat(np.r_[0.0, c[start[1:] - 1]], np.diff(np.r_[start, len(v)]))
        return c - offset

    cw = within_group_cumsum(bw)
    cwy = within_group_cumsum(bwy)
    r_block = (cw - bw / 2) / W[block_group]
    q_block = cwy / WY[block_group]
    qprev_block = (cwy - bwy) / WY[block_group]
    return {"codes": codes_s, "y": y, "w": w, "W": W, "WY": WY, "mu": WY / W, "R": r_block[block],
            "q": q_block[block], "qprev": qprev_block[block]}


def _index_and_influence(kind: str, rk: dict[str, np.ndarray], lo_b: float, hi_b: float,
                         outcome: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The index per group, each row's influence on it and the derivative with respect to one
    person's outcome (Kakwani et al. 1997, carried to GC, Wagstaff and Erreygers by the chain rule)."""
    codes_s, y, w, W, mu, R, q, qprev = (rk[k] for k in ("codes", "y", "w", "W", "mu", "R", "q", "qprev"))
    g = len(W)
    with np.errstate(divide="ignore", invalid="ignore"):
        C = 2 / (mu * W) * np.bincount(codes_s, weights=w * y * (R - 0.5), minlength=g)
    Cg, mug = C[codes_s], mu[codes_s]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = y / mug * (2 * R - 1 - Cg) + 2 - qprev - q
        if_c = a - (1 + Cg)
        d_c = (2 * R - 1 - Cg) / mug
    gc = mu * C
    if_gc = mug * if_c + Cg * (y - mug)
    d_gc = 2 * R - 1
    if kind == "standard":
        return C, if_c, d_c
    if kind == "generalized":
        return gc, if_gc, d_gc
    if kind == "erreygers":
        return 4 * gc / (hi_b - lo_b), 4 * if_gc / (hi_b - lo_b), 4 * d_gc / (hi_b - lo_b)
    den = (hi_b - mu) * (mu - lo_b)
    if (den <= 0).any():
        raise InputError(f"the mean of `{outcome}` equals a bound in some group; the Wagstaff index is undefined")
    h = (hi_b - lo_b) / den
    dh = (hi_b - lo_b) * (2 * mu - lo_b - hi_b) / den**2
    return (h * gc, h[codes_s] * if_gc + (gc * dh)[codes_s] * (y - mug),
            h[codes_s] * d_gc + (gc * dh)[codes_s])


def _table(keys: pd.DataFrame, gb: list[str], kind: str, index: np.ndarray, se: np.ndarray,
           levels: tuple[float, ...], mu: np.ndarray, lo_b: float, hi_b: float) -> pd.DataFrame:
    """One block of rows per confidence level: the index, normal-theory limits, the mean and the
    index's theoretical bounds."""
    g = len(keys)
    bounded = not np.isnan(lo_b)
    if kind == "standard":
        span = (hi_b - mu) * (mu - lo_b) / ((hi_b - lo_b) * mu) if bounded else np.ones(g)
    elif kind == "generalized":
        span = (hi_b - mu) * (mu - lo_b) / (hi_b - lo_b) if bounded else np.abs(mu)
    else:
        span = np.ones(g)
    blocks = []
    for c in levels:
        z = stats.norm.ppf(0.5 + c / 2)
        b = keys.copy() if gb else pd.DataFrame(index=range(g))
        b["kind"] = kind
        b["index"] = index
        b["std_error"] = se
        b["lower"] = index - z * se
        b["upper"] = index + z * se
        b["confidence"] = c
        blocks.append(b)
    out = pd.concat(blocks, ignore_index=True)
    out["mean"] = np.tile(mu, len(levels))
    out["lower_bound"] = np.tile(-span, len(levels))
    out["upper_bound"] = np.tile(span, len(levels))
    return out


__all__ = ["concentration_index"]
