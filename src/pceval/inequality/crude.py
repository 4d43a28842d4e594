"""Crude proportions, rates and means with PHE/OHID confidence intervals.

The same definitions and edge cases as PHEindicatormethods' ``phe_proportion``, ``phe_rate`` and
``phe_mean``: without ``by`` proportions and rates are computed row by row (every input column
is kept); with ``by`` numerators and denominators are first summed within each group, and a
missing numerator or denominator anywhere in a group makes that group's results missing. Means always
summarise the raw values of each group (or of the whole table).

Each function returns a tidy DataFrame with ``value``, ``lower``, ``upper``, ``confidence`` (a
fraction, one block of rows per level when several are asked for), ``statistic`` and ``method``.

References: Public Health England (2018) *Technical Guide: Confidence Intervals*; Fingertips /
PHEindicatormethods (UKHSA, GPL-3), https://github.com/ukhsa-collaboration/PHEindicatormethods.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pceval._checks import check_number
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
    stack_levels,
    warn,
)

_TAIL = ("statistic", "method")


def _counts(df: pd.DataFrame, x: str, n: str, by: list[str]) -> pd.DataFrame:
    """Row-wise copy, or numerators and denominators summed by group (missing propagates)."""
    if not by:
        return df.copy()
    keys, codes = group_keys(df, by)
    out = keys.copy()
    out[x] = group_sum(df[x].to_numpy(float), codes, len(keys))
    out[n] = group_sum(df[n].to_numpy(float), codes, len(keys))
    return out


def proportion(data: pd.DataFrame, x: str, n: str, *, by: GroupBy = None,
               confidence: float | Sequence[float] = 0.95, multiplier: float = 1) -> pd.DataFrame:
    """Proportions ``x / n`` with Wilson score confidence limits.

    ``value = multiplier * x / n``; limits ``multiplier * (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) /
    (2 (n + z^2))`` (Wilson 1927; PHE Technical Guide: Confidence Intervals, 2018).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (or per record, summed within ``by``).
    x, n : str
        Numerator and denominator columns. Missing values give missing results.
    by : column name(s), optional
        Sum ``x`` and ``n`` within these groups first; without it results are row by row.
    confidence : float or sequence of floats
        Confidence level(s), e.g. ``0.95`` or ``(0.95, 0.998)``.
    multiplier : float
        1 for a proportion, 100 for a percentage.

    Raises
    ------
    InputError
        Negative numerators, denominators of zero or less, numerators above denominators.

    Examples
    --------
    >>> import pandas as pd
    >>> proportion(pd.DataFrame({"events": [65], "population": [100]}), x="events", n="population")[
    ...     ["value", "lower", "upper", "method"]].round(4)
       value   lower   upper  method
    0   0.65  0.5525  0.7364  Wilson
    """
    x, n = check_column_arg(x, "x"), check_column_arg(n, "n")
    gb = as_list(by)
    levels = confidence_levels(confidence)
    mult = check_number(multiplier, "multiplier", low=0, low_open=True)
    data = check_input(data, "data", numeric=[x, n], by=gb, not_null=gb)
    check_min(data, "data", x, 0, strict=False)
    check_min(data, "data", n, 0, strict=True)
    bad = data[data[x] > data[n]]
    if len(bad):
        raise InputError(
            f"`data`: numerator '{x}' must not exceed denominator '{n}' for a proportion; "
            f"{len(bad)} row(s) do, e.g. {list(zip(bad[x][:5], bad[n][:5], strict=True))}"
        )
    base = _counts(data, x, n, gb)
    xs, ns = base[x].to_numpy(float), base[n].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        base["value"] = xs / ns * mult
    base["statistic"] = "percentage" if mult == 100 else f"proportion of {fmt_num(mult)}"
    base["method"] = "Wilson"
    return stack_levels(base, levels, lambda c: {
        "lower": _ci.wilson_lower(xs, ns, c) * mult,
        "upper": _ci.wilson_upper(xs, ns, c) * mult,
    }, after=_TAIL)


def rate(data: pd.DataFrame, x: str, n: str, *, by: GroupBy = None,
         confidence: float | Sequence[float] = 0.95, multiplier: float = 100_000) -> pd.DataFrame:
    """Crude rates ``multiplier * x / n`` with exact Poisson limits below 10 events, Byar's from 10.

    Exact: ``chi2_{a/2}(2x)/2`` and ``chi2_{1-a/2}(2x+2)/2``; Byar's: ``x (1 - 1/(9x) - z/(3 sqrt x))^3``
    and ``(x+1)(1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3``; each divided by ``n`` and multiplied
    (Breslow & Day 1987; PHE Technical Guide: Confidence Intervals, 2018). ``method`` says which was
    used ("Exact" or "Byars"; missing when the count is missing). Numerators may exceed denominators
    (person-time, repeated events).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"events": [1, 65], "person_years": [100, 100]})
    >>> rate(d, x="events", n="person_years", multiplier=100)[["value", "lower", "method"]].round(3)
       value   lower method
    0    1.0   0.025  Exact
    1   65.0  50.163  Byars
    """
    x, n = check_column_arg(x, "x"), check_column_arg(n, "n")
    gb = as_list(by)
    levels = confidence_levels(confidence)
    mult = check_number(multiplier, "multiplier", low=0, low_open=True)
    data = check_input(data, "data", numeric=[x, n], by=gb, not_null=gb)
    check_min(data, "data", x, 0, strict=False)
    check_min(data, "data", n, 0, strict=True)
    base = _counts(data, x, n, gb)
    xs, ns = base[x].to_numpy(float), base[n].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        base["value"] = xs / ns * mult
    base["statistic"] = f"rate per {fmt_num(mult)}"
    base["method"] = np.where(np.isnan(xs), None,  # type: ignore[call-overload]  # numpy's stubs refuse None
                              np.where(xs < 10, "Exact", "Byars"))

    def limits(c: float) -> dict[str, np.ndarray]:
        low, up = _ci.poisson_limits(xs, c)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"lower": low / ns * mult, "upper": up / ns * mult}

    return stack_levels(base, levels, limits, after=_TAIL)


def mean(data: pd.DataFrame, x: str, *, by: GroupBy = None,
         confidence: float | Sequence[float] = 0.95) -> pd.DataFrame:
    """Means of ``x`` with Student's t confidence limits, by group (or over the whole table).

    ``value = sum(x) / n``, limits ``value -/+ t_{n-1, 1-a/2} s / sqrt(n)`` with ``s`` the sample
    standard deviation (PHE Technical Guide: Confidence Intervals, 2018). Output also has
    ``value_sum``, ``value_count`` and ``stdev``. Missing values are excluded with a warning saying
    how many; a group with one value has missing limits.

    Examples
    --------
    >>> import pandas as pd
    >>> mean(pd.DataFrame({"score": [1.0, 2.0, 3.0]}), x="score")[["value", "lower", "upper"]].round(3)
       value  lower  upper
    0    2.0 -0.484  4.484
    """
    x = check_column_arg(x, "x")
    gb = as_list(by)
    levels = confidence_levels(confidence)
    data = check_input(data, "data", numeric=[x], by=gb, not_null=gb)
    n_missing = int(data[x].isna().sum())
    if n_missing:
        warn(f"mean: {n_missing} missing value(s) of '{x}' excluded")
        data = data[data[x].notna()]
    if len(data) == 0:
        raise InputError(f"`data`: column '{x}' has no non-missing values")
    keys, codes = group_keys(data, gb)
    k = len(keys)
    v = data[x].to_numpy(float)
    count = np.bincount(codes, minlength=k).astype(float)
    total = np.bincount(codes, weights=v, minlength=k)
    avg = total / count
    ss = np.bincount(codes, weights=(v - avg[codes]) ** 2, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(ss / (count - 1))
    base = keys.copy() if gb else pd.DataFrame(index=[0])
    base["value_sum"] = total
    base["value_count"] = count.astype(np.int64)
    base["stdev"] = sd
    base["value"] = avg
    base["statistic"] = "mean"
    base["method"] = "Student's t-distribution"
    out = stack_levels(base, levels, lambda c: dict(zip(
        ("lower", "upper"), _ci.student_t_limits(avg, sd, count, c), strict=True)), after=_TAIL)
    return out


__all__ = ["proportion", "rate", "mean"]
