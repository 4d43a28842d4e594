"""Calendar periods written once with narwhals expressions, shared by the data steps.

A month is numbered ``year * 12 + month - 1`` and a quarter ``year * 4 + quarter``, so that
consecutive periods differ by 1 on any engine; ``calendar_label`` turns the number back into the
readable yyyymm / yyyyq label.
"""

from __future__ import annotations

import narwhals as nw

_CUM_DAYS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)  # days before each month (non-leap)


def _leap(year: nw.Expr) -> nw.Expr:
    return (((year % 4) == 0) & ((year % 100) != 0)) | ((year % 400) == 0)


def _days_in_month(year: nw.Expr, month: nw.Expr) -> nw.Expr:
    feb = nw.when(_leap(year)).then(nw.lit(29)).otherwise(nw.lit(28))
    thirty = month.is_in([4, 6, 9, 11])
    return nw.when(month == 2).then(feb).otherwise(nw.when(thirty).then(nw.lit(30)).otherwise(nw.lit(31)))


def period_parts(d: nw.Expr, period: str) -> tuple[nw.Expr, nw.Expr, nw.Expr]:
    """(period number, 0-based day offset within the period, days in the period) of a date."""
    year, month = d.dt.year(), d.dt.month()
    if period == "month":
        return year * 12 + month - 1, d.dt.day() - 1, _days_in_month(year, month)
    quarter = (month - 1) // 3  # 0..3
    leap = nw.when(_leap(year)).then(nw.lit(1)).otherwise(nw.lit(0))
    start_day = (nw.when(quarter == 0).then(nw.lit(0)).otherwise(
        nw.when(quarter == 1).then(nw.lit(90)).otherwise(
            nw.when(quarter == 2).then(nw.lit(181)).otherwise(nw.lit(273)))))
    start_day = start_day + nw.when(quarter > 0).then(leap).otherwise(nw.lit(0))
    length = nw.when(quarter == 0).then(90 + leap).otherwise(
        nw.when(quarter == 1).then(nw.lit(91)).otherwise(nw.lit(92)))
    return year * 4 + quarter, d.dt.ordinal_day() - 1 - start_day, length


def calendar_label(p: nw.Expr, period: str) -> nw.Expr:
    """yyyymm (months) or yyyyq (quarters) for a period number."""
    if period == "month":
        return (p // 12) * 100 + (p % 12) + 1
    return (p // 4) * 10 + (p % 4) + 1


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name)).strip("_").lower() or "events"
