"""Gaps between the most and least deprived: IMD quintile 1 vs 5, and Core20 vs the rest.

Each comparison is reported on both scales, most deprived first (so a positive absolute gap and a
relative gap above 1 mean higher values in the most deprived):

* **rates** from counts ``x`` and person-time ``n``: difference ``r1 - r2`` with
  ``SE = multiplier * sqrt(x1 / n1^2 + x2 / n2^2)``; ratio ``r1 / r2`` with
  ``SE(log) = sqrt(1/x1 + 1/x2)`` (Poisson; Rothman, Greenland & Lash 2008, ch. 14);
* **proportions** from ``x`` of ``n``: difference with Newcombe's hybrid score limits (method 10,
  from the Wilson limits of each proportion; Newcombe 1998), ratio with Katz's log limits
  ``SE(log) = sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)``;
* **values** with a standard error or limits (e.g. DSRs, modelled estimates): difference with
  ``SE = sqrt(se1^2 + se2^2)``, ratio on the log scale (SE from log limits when limits are given,
  else ``sqrt((se1/v1)^2 + (se2/v2)^2)``), assuming the two estimates are independent.

Core20 vs rest pools quintiles 2-5: counts are summed; values are population-weighted
(``v = sum(p v) / sum(p)``, ``se = sqrt(sum((p / sum p)^2 se^2))``).

References: Newcombe RG (1998) Interval estimation for the difference between independent
proportions. *Stat Med* 17:873-890. PHE (2018) *Technical Guide: Confidence Intervals*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_number
from pceval._distributions import stats
from pceval.errors import InputError
from pceval.inequality import _ci
from pceval.inequality._common import (
    GroupBy,
    as_list,
    check_column_arg,
    check_input,
    check_min,
    confidence_levels,
    fmt_num,
    group_keys,
    group_sum,
    quantile_numbers,
    show,
)
from pceval.inequality.imd import check_imd_edition, quantile_order

Measure = Literal["rate", "proportion", "value"]


def _inputs(x: str | None, n: str | None, value: str | None, se: str | None, lower: str | None,
            upper: str | None, measure: str) -> list[str]:
    if measure in ("rate", "proportion"):
        if x is None or n is None:
            raise InputError(f"measure='{measure}' needs `x` and `n` (counts)")
        return [check_column_arg(x, "x"), check_column_arg(n, "n")]
    if value is None:
        raise InputError("measure='value' needs `value` and `se` (or `lower` and `upper`)")
    if se is None and (lower is None or upper is None):
        raise InputError("measure='value' needs `se`, or both `lower` and `upper`")
    return [c for c in (value, se, lower, upper) if c is not None]


def _sides(data: pd.DataFrame, quantile: str, side_a: list[Any], side_b: list[Any], gb: list[str],
           cols: list[str], population: str | None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per group: each column pooled over side a and side b (counts summed, values pop-weighted)."""
    keys, codes = group_keys(data, gb)
    k = len(keys)
    q = data[quantile]
    out: dict[str, np.ndarray] = {}
    for tag, side in (("a", side_a), ("b", side_b)):
        sel = q.isin(side).to_numpy()
        present = np.bincount(codes[sel], minlength=k)
        if (present == 0).any():
            missing = keys[present == 0].head(5).to_dict("records") if gb else "the data"
            raise InputError(f"`data`: quantile(s) {show(side)} missing for {missing}")
        c = codes[sel]
        if population is None:
            if (present > 1).any():
                raise InputError(f"`data`: more than one row for quantile(s) {show(side)} in a group; give "
                                 "`population` to pool values, or aggregate first")
            for col in cols:
                out[f"{col}_{tag}"] = group_sum(data.loc[sel, col].to_numpy(float), c, k)
            continue
        pop = data.loc[sel, population].to_numpy(float)
        tot = group_sum(pop, c, k)
        out[f"pop_{tag}"] = tot
        for col in cols:
            v = data.loc[sel, col].to_numpy(float)
            out[f"{col}_{tag}"] = group_sum(pop * v, c, k) / tot
    return keys, out


def _compare(keys: pd.DataFrame, gb: list[str], label: str, measure: str, arrays: dict[str, np.ndarray],
             cols: dict[str, str | None], levels: tuple[float, ...], mult: float, se_pool: dict | None,
             cl_conf: float, edition: str | None, pooled: bool) -> pd.DataFrame:
    g = len(keys)
    if measure in ("rate", "proportion"):
        x1, n1, x2, n2 = (arrays[f"{cols['x']}_a"], arrays[f"{cols['n']}_a"],
                          arrays[f"{cols['x']}_b"], arrays[f"{cols['n']}_b"])
        with np.errstate(divide="ignore", invalid="ignore"):
            v1, v2 = x1 / n1 * mult, x2 / n2 * mult
    else:
        v1, v2 = arrays[f"{cols['value']}_a"], arrays[f"{cols['value']}_b"]
        if se_pool is not None:
            s1, s2 = se_pool["a"], se_pool["b"]
        elif cols["se"] is not None:
            s1, s2 = arrays[f"{cols['se']}_a"], arrays[f"{cols['se']}_b"]
        else:
            s1 = _ci.se_from_limits(arrays[f"{cols['lower']}_a"], arrays[f"{cols['upper']}_a"], cl_conf)
            s2 = _ci.se_from_limits(arrays[f"{cols['lower']}_b"], arrays[f"{cols['upper']}_b"], cl_conf)
        use_log_limits = (cols["se"] is None and not pooled and
                          (arrays[f"{cols['lower']}_a"] > 0).all() and (arrays[f"{cols['lower']}_b"] > 0).all())
        if use_log_limits:
            ls1 = _ci.se_from_limits(np.log(arrays[f"{cols['lower']}_a"]), np.log(arrays[f"{cols['upper']}_a"]), cl_conf)
            ls2 = _ci.se_from_limits(np.log(arrays[f"{cols['lower']}_b"]), np.log(arrays[f"{cols['upper']}_b"]), cl_conf)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ls1, ls2 = s1 / np.abs(v1), s2 / np.abs(v2)
    rows = []
    for c in levels:
        z = stats.norm.ppf(0.5 + c / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            diff, ratio = v1 - v2, v1 / v2
            if measure == "rate":
                sd = mult * np.sqrt(x1 / n1**2 + x2 / n2**2)
                d_lo, d_hi = diff - z * sd, diff + z * sd
                sl = np.sqrt(1 / x1 + 1 / x2)
                methods = ("normal approximation (Poisson counts)", "log rate ratio (Poisson counts)")
            elif measure == "proportion":
                p1, p2 = x1 / n1, x2 / n2
                l1, u1 = _ci.wilson_lower(x1, n1, c), _ci.wilson_upper(x1, n1, c)
                l2, u2 = _ci.wilson_lower(x2, n2, c), _ci.wilson_upper(x2, n2, c)
                d_lo = diff - mult * np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
                d_hi = diff + mult * np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
                sl = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
                methods = ("Newcombe hybrid score (method 10)", "Katz log ratio")
            else:
                sd = np.sqrt(s1**2 + s2**2)
                d_lo, d_hi = diff - z * sd, diff + z * sd
                sl = np.sqrt(ls1**2 + ls2**2)
                methods = ("normal approximation, independent estimates",
                           "log ratio, independent estimates")
            r_lo, r_hi = ratio * np.exp(-z * sl), ratio * np.exp(z * sl)
        for name, est, lo, hi, meth in (("absolute gap", diff, d_lo, d_hi, methods[0]),
                                        ("relative gap", ratio, r_lo, r_hi, methods[1])):
            b = keys.copy() if gb else pd.DataFrame(index=range(g))
            b["comparison"] = label
            b["measure"] = name
            b["most_deprived_value"] = v1
            b["comparator_value"] = v2
            b["estimate"] = est
            b["lower"] = lo
            b["upper"] = hi
            b["confidence"] = c
            b["method"] = meth
            rows.append(b)
    out = pd.concat(rows, ignore_index=True)
    out["statistic"] = (f"{measure} per {fmt_num(mult)}" if measure == "rate"
                        else ("percentage" if mult == 100 else f"proportion of {fmt_num(mult)}")
                        if measure == "proportion" else "value")
    out["positive_means"] = ("absolute gap > 0 / relative gap > 1: higher values in the most deprived")
    out["imd_edition"] = edition
    sort = [*gb, "confidence"] if gb else ["confidence"]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)


def _setup(table: Any, quantile: str, x: str | None, n: str | None, value: str | None, se: str | None,
           lower: str | None, upper: str | None, measure: str, multiplier: float | None, by: GroupBy,
           confidence: float | Sequence[float], cl_confidence: float, imd_edition: Any, population: str | None) -> tuple:
    check_choice(measure, "measure", {"rate", "proportion", "value"})
    quantile = check_column_arg(quantile, "quantile")
    cols = _inputs(x, n, value, se, lower, upper, measure)
    gb = as_list(by)
    levels = confidence_levels(confidence)
    cl_conf = check_confidence(cl_confidence, "cl_confidence")
    default = {"rate": 100_000, "proportion": 1, "value": 1}[measure]
    mult = check_number(multiplier if multiplier is not None else default, "multiplier", low=0, low_open=True)
    edition = check_imd_edition(imd_edition) if imd_edition is not None else None
    extra = [population] if population else []
    data = check_input(table, "data", numeric=[*cols, *extra], required=[quantile], by=gb,
                       not_null=[*gb, quantile, *cols, *extra])
    if measure in ("rate", "proportion"):
        assert x is not None and n is not None  # required for counts (checked in _inputs)
        check_min(data, "data", x, 0, strict=False)
        check_min(data, "data", n, 0, strict=True)
        if measure == "proportion" and (data[x] > data[n]).any():
            bad = data[data[x] > data[n]]
            raise InputError(f"`data`: numerator '{x}' exceeds denominator '{n}' in {len(bad)} row(s), "
                             f"e.g. {show(zip(bad[x], bad[n], strict=True))}")
    if population:
        check_min(data, "data", population, 0, strict=True)
    if se is not None:
        check_min(data, "data", se, 0, strict=False)
    names = {"x": x, "n": n, "value": value, "se": se, "lower": lower, "upper": upper}
    return data, cols, gb, levels, cl_conf, mult, edition, names


def quintile_gap(data: pd.DataFrame, *, x: str | None = None, n: str | None = None,
                 value: str | None = None, se: str | None = None, lower: str | None = None,
                 upper: str | None = None, measure: Measure = "rate", multiplier: float | None = None,
                 quantiles: tuple[Any, Any] | None = None, by: GroupBy = None,
                 quantile: str = "imd_quintile", confidence: float | Sequence[float] = 0.95,
                 cl_confidence: float = 0.95, imd_edition: str | int | None = "2019") -> pd.DataFrame:
    """Absolute and relative gaps between the most and least deprived quantile, with limits.

    By default quantile 1 (IMD 1 = most deprived) is compared with the highest (5 for quintiles);
    data without quantile 1 (or coded from 0) are then refused rather than compared under the
    wrong name. See the module docstring for the methods.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per group x quantile.
    x, n : str, optional
        Counts and denominators (``measure`` "rate" or "proportion").
    value, se, lower, upper : str, optional
        Estimates with standard errors or (``cl_confidence``) limits (``measure="value"``).
    measure : ``"rate"``, ``"proportion"`` or ``"value"``
    multiplier : float, optional
        Rates per (default 100,000); proportions x (default 1); values are not scaled.
    quantiles : (label, label), optional
        The two quantiles compared, most deprived first (default: quantile 1 and the highest).
    by : column name(s), optional
        One comparison per group (a single name is one column).
    quantile : str
        Quantile column (default ``"imd_quintile"``).

    Returns
    -------
    Long DataFrame: per group x level, an ``"absolute gap"`` and a ``"relative gap"`` row with
    ``estimate``, ``lower``, ``upper``, ``most_deprived_value``, ``comparator_value``, ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "admissions": [200, 170, 150, 120, 100],
    ...                   "person_years": [1000] * 5})
    >>> g = quintile_gap(d, x="admissions", n="person_years", multiplier=1000)
    >>> g[["measure", "estimate"]]
            measure  estimate
    0  absolute gap     100.0
    1  relative gap       2.0
    """
    frame, cols, gb, levels, cl_conf, mult, edition, names = _setup(
        data, quantile, x, n, value, se, lower, upper, measure, multiplier, by, confidence,
        cl_confidence, imd_edition, None)
    labels = quantile_order(pd.unique(frame[quantile]))
    if len(labels) < 2:
        raise InputError(f"`data`: column '{quantile}' has only one quantile ({show(labels)}); a gap needs two")
    if quantiles is None:
        quantile_numbers(labels, "data", quantile, consecutive=False)
        a, b = labels[0], labels[-1]
    elif isinstance(quantiles, (tuple, list)) and len(quantiles) == 2:
        a, b = quantiles
    else:
        raise InputError(f"`quantiles` must be two quantile labels, got {quantiles!r}")
    for lab in (a, b):
        if lab not in labels:
            raise InputError(f"`quantiles`: {lab!r} is not in column '{quantile}' ({show(labels, 10)})")
    if a == b:
        raise InputError("the two compared quantiles are the same")
    keys, arrays = _sides(frame, quantile, [a], [b], gb, cols, None)
    return _compare(keys, gb, f"Q{a} vs Q{b}", measure, arrays, names, levels, mult, None, cl_conf,
                    edition, pooled=False)


def core20_gap(data: pd.DataFrame, *, x: str | None = None, n: str | None = None,
               value: str | None = None, se: str | None = None, lower: str | None = None,
               upper: str | None = None, population: str | None = None, measure: Measure = "rate",
               multiplier: float | None = None, by: GroupBy = None,
               quantile: str = "imd_quintile", confidence: float | Sequence[float] = 0.95,
               cl_confidence: float = 0.95, imd_edition: str | int | None = "2019") -> pd.DataFrame:
    """Core20 (national IMD quintile 1) versus the rest (quintiles 2-5), on both scales.

    Counts are summed over quintiles 2-5; values need ``population`` to be pooled (population-
    weighted mean, standard errors combined as independent). Output as :func:`quintile_gap`;
    arguments as there, with ``quantile`` the IMD quintile column (values 1-5).
    """
    if measure == "value" and population is None:
        raise InputError("measure='value' needs `population` to pool quintiles 2-5")
    frame, cols, gb, levels, cl_conf, mult, edition, names = _setup(
        data, quantile, x, n, value, se, lower, upper, measure, multiplier, by, confidence,
        cl_confidence, imd_edition, population if measure == "value" else None)
    q = pd.to_numeric(frame[quantile], errors="coerce")
    bad = q.isna() | ~q.isin([1, 2, 3, 4, 5])
    if bad.any():
        raise InputError(f"`data`: column '{quantile}' must hold IMD quintiles 1-5 (1 = most deprived); "
                         f"{int(bad.sum())} value(s) do not: {show(frame.loc[bad, quantile].unique())}")
    frame = frame.assign(**{quantile: q.astype(int)})
    if measure == "value":
        keys, arrays = _sides(frame, quantile, [1], [2, 3, 4, 5], gb, cols, population)
        # pooled standard errors: sqrt(sum((p / P)^2 se^2)) per side
        se_pool = {}
        _, codes = group_keys(frame, gb)
        for tag, side in (("a", [1]), ("b", [2, 3, 4, 5])):
            sel = frame[quantile].isin(side).to_numpy()
            c = codes[sel]
            pop = frame.loc[sel, population].to_numpy(float)
            s = (frame.loc[sel, se].to_numpy(float) if se is not None else
                 _ci.se_from_limits(frame.loc[sel, lower], frame.loc[sel, upper], cl_conf))
            tot = group_sum(pop, c, len(keys))
            se_pool[tag] = np.sqrt(group_sum((pop / tot[c]) ** 2 * s**2, c, len(keys)))
        return _compare(keys, gb, "Core20 vs rest", measure, arrays, names, levels, mult, se_pool,
                        cl_conf, edition, pooled=True)
    summed = frame.assign(_side=np.where(frame[quantile] == 1, 1, 2))
    keys, codes = group_keys(summed, gb)
    agg = {}
    for tag, part in (("a", 1), ("b", 2)):
        sel = (summed["_side"] == part).to_numpy()
        if not np.bincount(codes[sel], minlength=len(keys)).all():
            raise InputError(f"`data`: some group has no rows for {'quintile 1' if part == 1 else 'quintiles 2-5'}")
        for col in (x, n):
            agg[f"{col}_{tag}"] = group_sum(summed.loc[sel, col].to_numpy(float), codes[sel], len(keys))
    return _compare(keys, gb, "Core20 vs rest", measure, agg, names, levels, mult, None, cl_conf,
                    edition, pooled=True)


__all__ = ["quintile_gap", "core20_gap"]
