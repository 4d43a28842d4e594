"""Person x period panels of outcomes around an index date, on any engine.

:func:`build_panel` turns dated activity events and one index date per person into one row per
person and period (month or quarter) relative to the index, with a count column per event type,
the person-time at risk in that period and the calendar period. It is written once with narwhals,
so it runs on pandas and polars in memory, and on DuckDB relations and Spark DataFrames lazily in
their own engine; the result comes back in the engine the events came from (``to_pandas``
collects any of them).

Periods. A date's period number is ``12 * year + month - 1`` (months) or ``4 * year + quarter - 1``
(quarters). ``rel_period = period(date) - period(index_date)``: 0 is the index period, -1 the
period before, and so on; the window is ``-before <= rel_period <= after``. ``calendar_period`` is
``yyyymm`` for months (202301) and ``yyyyq`` for quarters (20231).

Person-time. Follow-up runs from ``start_date`` (e.g. registration start; optional) to
``end_date`` (death, deregistration or the end of data, inclusive; optional, and capped at
``data_end`` when given). In a period partly covered, ``person_time`` is the share of the period's
days at risk, e.g. a death on 10 March gives 10/31 for March. Person-periods with no time at risk
are dropped (``keep_zero_time=False``), so a Poisson model's ``log(person_time)`` offset is defined.

Exclusions (never silent). Events with no date, for people not in ``index``, dated outside the
person's follow-up (before ``start_date`` or after ``end_date``), or outside the window are not
counted; :func:`build_panel` warns with the counts of the first three kinds, and
``return_flow=True`` returns the full table of counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import pandas as pd

from pceval._checks import check_choice, check_int, require_columns
from pceval._engines import back, collect_pandas, columns, lazy
from pceval._periods import _days_in_month, _safe, calendar_label, period_parts
from pceval.errors import InputError, PcevalWarning


def _grid(idx: nw.LazyFrame, rels: Sequence[int]) -> nw.LazyFrame:
    """A tiny frame of relative periods, built from the index table so it lives in the same engine."""
    one = idx.select(nw.lit(0).alias("_one")).head(1)
    return nw.concat([one.select(nw.lit(int(r)).cast(nw.Int64).alias("rel_period")) for r in rels],
                     how="vertical")


def build_panel(
    events: Any,
    index: Any,
    unit: str = "person_id",
    date: str = "date",
    kind: str = "type",
    *,
    value: str | None = None,
    period: str = "month",
    before: int = 12,
    after: int = 12,
    index_date: str = "index_date",
    end_date: str | None = "end_date",
    start_date: str | None = None,
    data_end: Any = None,
    data_start: Any = None,
    kinds: Sequence[str] | None = None,
    keep_zero_time: bool = False,
    return_flow: bool = False,
) -> Any:
    """Build a person x relative-period panel of event counts and person-time.

    Parameters
    ----------
    events : table with ``unit``, ``date``, ``kind`` (and ``value`` if given): one row per event.
    index : one row per person: ``unit``, ``index_date``, optionally ``end_date`` (last day at risk)
        and ``start_date`` (first day at risk).
    kind : the event-type column; one count column per type (``kinds`` fixes the list and order;
        by default every type found, sorted).
    value : optional numeric column summed per type as ``<type>_<value>`` (e.g. bed days).
    period : ``"month"`` or ``"quarter"``.
    before, after : the window, ``-before <= rel_period <= after``.
    data_end : last day of data; follow-up ends at ``min(end_date, data_end)``.
    data_start : first day of data. Index dates outside ``data_start``..``data_end`` are an error.
    keep_zero_time : keep person-periods with no time at risk (person_time 0).
    return_flow : also return a pandas table counting events used and excluded, by reason.

    Returns
    -------
    The panel in the engine ``events`` came from, with columns ``unit``, ``rel_period``,
    ``calendar_period``, ``person_time`` and one count column per event type (plus value sums);
    with ``return_flow=True``, ``(panel, flow)``.

    Example
    -------
    >>> p = build_panel(events, index, unit="person_id", date="date", kind="type",
    ...                 period="month", before=12, after=12)          # doctest: +SKIP
    """
    check_choice(period, "period", ("month", "quarter"))
    before = check_int(before, "before", low=0, high=600)
    after = check_int(after, "after", low=0, high=600)
    ev = lazy(events, "events")
    idx = lazy(index, "index")
    ev_cols, idx_cols = columns(ev), columns(idx)
    require_columns(ev_cols, "events", [unit, date, kind] + ([value] if value else []))
    has_end = end_date is not None and end_date in idx_cols
    if end_date is not None and end_date != "end_date":
        require_columns(idx_cols, "index", [end_date])
    if start_date is not None:
        require_columns(idx_cols, "index", [start_date])
    require_columns(idx_cols, "index", [unit, index_date])
    _check_types(ev, idx, unit, date, index_date, end_date if has_end else None, start_date)
    _check_values(ev, idx, unit, index_date, value, data_start, data_end)
    if kinds is None:
        found = collect_pandas(ev.select(nw.col(kind)).unique().drop_nulls())[kind]
        kinds = sorted(str(k) for k in found)
    kinds = list(kinds)
    if not kinds:
        raise InputError(f"`events`: column '{kind}' has no event types")
    names = {k: _safe(k) for k in kinds}
    if len(set(names.values())) < len(names):
        raise InputError(f"`events`: event types {kinds} do not give distinct column names")

    # --- the index table: index period, follow-up start and end --------------------------------
    p0, _, _ = period_parts(nw.col(index_date), period)
    sel = [nw.col(unit), nw.col(index_date).alias("_index_date"), p0.alias("_p0")]
    end_expr = nw.col(end_date) if has_end else None
    if data_end is not None:
        cap = nw.lit(pd.Timestamp(data_end).to_pydatetime())
        end_expr = cap if end_expr is None else nw.when(end_expr.is_null() | (end_expr > cap)).then(
            cap).otherwise(end_expr)
    if end_expr is not None:
        pe, oe, le = period_parts(end_expr, period)
        sel += [end_expr.alias("_end"), pe.alias("_pe"), oe.alias("_oe"), le.alias("_le")]
    if start_date is not None:
        ps, os_, ls = period_parts(nw.col(start_date), period)
        sel += [nw.col(start_date).alias("_start"), ps.alias("_ps"), os_.alias("_os"), ls.alias("_ls")]
    ix = idx.select(*sel)

    # --- person x period grid with person-time --------------------------------------------------
    rels = list(range(-before, after + 1))
    grid = ix.join(_grid(idx, rels), how="cross").with_columns((nw.col("_p0") + nw.col("rel_period")).alias("_q"))
    q = nw.col("_q")
    hi = nw.lit(1.0)
    lo = nw.lit(0.0)
    inside = nw.lit(True)
    if end_expr is not None:
        hi = nw.when(nw.col("_pe").is_null()).then(nw.lit(1.0)).otherwise(
            nw.when(q == nw.col("_pe")).then((nw.col("_oe") + 1) / nw.col("_le")).otherwise(nw.lit(1.0)))
        inside = inside & (nw.col("_pe").is_null() | (q <= nw.col("_pe")))
    if start_date is not None:
        lo = nw.when(nw.col("_ps").is_null()).then(nw.lit(0.0)).otherwise(
            nw.when(q == nw.col("_ps")).then(nw.col("_os") / nw.col("_ls")).otherwise(nw.lit(0.0)))
        inside = inside & (nw.col("_ps").is_null() | (q >= nw.col("_ps")))
    grid = grid.with_columns(
        nw.when(inside).then(hi - lo).otherwise(nw.lit(0.0)).cast(nw.Float64).alias("person_time"),
        calendar_label(q, period).cast(nw.Int64).alias("calendar_period"),
    )
    if not keep_zero_time:
        grid = grid.filter(nw.col("person_time") > 0)
    grid = grid.select(unit, "rel_period", "calendar_period", "person_time")

    # --- events: assign to person-periods, with exclusions counted ------------------------------
    keep_cols = [unit, date, kind] + ([value] if value else [])
    evj = ev.select(*keep_cols).join(ix, on=unit, how="left")
    pev, _, _ = period_parts(nw.col(date), period)
    evj = evj.with_columns((pev - nw.col("_p0")).alias("rel_period"))
    in_person = ~nw.col("_p0").is_null()
    has_date = ~nw.col(date).is_null()
    in_follow = nw.lit(True)
    if end_expr is not None:
        in_follow = in_follow & (nw.col("_end").is_null() | (nw.col(date) <= nw.col("_end")))
    if start_date is not None:
        in_follow = in_follow & (nw.col("_start").is_null() | (nw.col(date) >= nw.col("_start")))
    in_window = (nw.col("rel_period") >= -before) & (nw.col("rel_period") <= after)
    reason = (nw.when(~has_date).then(nw.lit("missing date"))
              .otherwise(nw.when(~in_person).then(nw.lit("person not in index"))
                         .otherwise(nw.when(~in_follow).then(nw.lit("outside follow-up (registration/death)"))
                                    .otherwise(nw.when(~in_window).then(nw.lit("outside window"))
                                               .otherwise(nw.lit("counted"))))))
    evj = evj.with_columns(reason.alias("_reason"))
    used = evj.filter(nw.col("_reason") == "counted")
    # indicator columns first, then plain sums (simple aggregations work on every backend)
    ind = []
    for k, nm in names.items():
        ind.append(nw.when(nw.col(kind) == k).then(nw.lit(1)).otherwise(nw.lit(0)).alias(nm))
        if value:
            ind.append(nw.when(nw.col(kind) == k).then(nw.col(value).fill_null(0.0)).otherwise(nw.lit(0.0))
                       .alias(f"{nm}_{_safe(value)}"))
    sum_cols = [e for e in names.values()] + ([f"{n}_{_safe(value)}" for n in names.values()] if value else [])
    counts = used.with_columns(*ind).group_by(unit, "rel_period").agg(*[nw.col(c).sum() for c in sum_cols])
    count_names = [names[k] for k in kinds] + ([f"{names[k]}_{_safe(value)}" for k in kinds] if value else [])
    panel = grid.join(counts, on=[unit, "rel_period"], how="left").with_columns(
        *[nw.col(c).fill_null(0) for c in count_names]
    ).with_columns(*[nw.col(names[k]).cast(nw.Int64) for k in kinds])
    panel = panel.select(unit, "rel_period", "calendar_period", "person_time", *count_names)
    if _is_eager_like(events):
        panel = panel.sort(unit, "rel_period")

    flow = collect_pandas(evj.with_columns(nw.lit(1).alias("_n")).group_by("_reason").agg(
        nw.col("_n").sum().alias("events")))
    flow = flow.rename(columns={"_reason": "reason"}).sort_values("reason").reset_index(drop=True)
    flagged = flow[flow["reason"].isin(["missing date", "outside follow-up (registration/death)"])]
    if flagged["events"].sum() > 0:
        detail = ", ".join(f"{r}: {n:,}" for r, n in zip(flagged["reason"], flagged["events"], strict=True))
        warnings.warn(f"build_panel excluded events ({detail}); pass return_flow=True for all counts",
                      PcevalWarning, stacklevel=2)
    result = back(panel, events)
    return (result, flow) if return_flow else result


def _is_eager_like(frame: Any) -> bool:
    from pceval._engines import is_eager

    return is_eager(frame)


def _check_values(ev: nw.LazyFrame, idx: nw.LazyFrame, unit: str, index_date: str, value: str | None,
                  data_start: Any, data_end: Any) -> None:
    for bound, op, word in ((data_start, "lt", "before data_start"), (data_end, "gt", "after data_end")):
        if bound is None:
            continue
        b = nw.lit(pd.Timestamp(bound).to_pydatetime())
        cond = nw.col(index_date) < b if op == "lt" else nw.col(index_date) > b
        bad = collect_pandas(idx.filter(cond).select(unit, index_date).head(5))
        if len(bad):
            raise InputError(f"`index`: column '{index_date}' has dates {word} "
                             f"({pd.Timestamp(bound).date()}), e.g. {unit} {bad[unit].tolist()}")
    if value is not None:
        neg = collect_pandas(ev.filter(nw.col(value) < 0).select(unit, value).head(5))
        if len(neg):
            raise InputError(f"`events`: column '{value}' must not be negative; offending values "
                             f"{neg[value].tolist()}")


def _check_types(ev: nw.LazyFrame, idx: nw.LazyFrame, unit: str, date: str, index_date: str,
                 end_date: str | None, start_date: str | None) -> None:
    es, is_ = ev.collect_schema(), idx.collect_schema()
    for table, schema, col in (("events", es, date), ("index", is_, index_date),
                               ("index", is_, end_date), ("index", is_, start_date)):
        if col is not None and not (schema[col] == nw.Datetime or schema[col] == nw.Date):
            raise InputError(f"`{table}`: column '{col}' must be a date or datetime, has type {schema[col]}")
        spark = table == "events" and ev.implementation.is_spark_like() or \
            table == "index" and idx.implementation.is_spark_like()
        # Spark's TimestampType always carries the session time zone; it is read as local dates
        if col is not None and not spark and getattr(schema[col], "time_zone", None):
            raise InputError(
                f"`{table}`: column '{col}' has time zone {schema[col].time_zone}; pceval works in naive "
                "local dates: convert with .dt.tz_convert('Europe/London').dt.tz_localize(None)")
    if es[unit] != is_[unit] and not (es[unit].is_integer() and is_[unit].is_integer()):
        raise InputError(f"`events` and `index`: column '{unit}' has type {es[unit]} in events but "
                         f"{is_[unit]} in index")
    dup = collect_pandas(idx.group_by(unit).agg(nw.len().alias("n")).filter(nw.col("n") > 1).head(5))
    if len(dup):
        raise InputError(f"`index`: column '{unit}' must be unique (one row per person), but "
                         f"{dup[unit].tolist()} repeat")
    bad = collect_pandas(idx.filter(nw.col(index_date).is_null()).select(unit).head(5))
    if len(bad):
        raise InputError(f"`index`: column '{index_date}' has missing values, e.g. for "
                         f"{unit} {bad[unit].tolist()}")


def calendar_panel(
    events: Any,
    people: Any,
    start: Any,
    end: Any,
    unit: str = "person_id",
    date: str = "date",
    kind: str = "type",
    *,
    start_date: str | None = "registration_start",
    end_date: str | None = "end_date",
    group: str | None = None,
    first_treated: str | None = None,
    period: str = "month",
    kinds: Sequence[str] | None = None,
    value: str | None = None,
) -> Any:
    """A calendar-time panel for staggered designs: person (or ``group``) x calendar period.

    Every person in ``people`` gets one row per calendar period from ``start`` to ``end`` in which
    they are at risk (``start_date``..``end_date``), with ``person_time`` and event counts, as in
    :func:`build_panel`. With ``group`` (e.g. ``"pcn_id"``) rows are summed to group x period.
    ``first_treated`` names a date column of ``people`` (constant within a group; the earliest is
    used) whose calendar period label becomes ``first_treated`` (0 = never treated), the ``group``
    argument of :func:`pceval.did.att_gt`. ``period_index`` counts periods from ``start`` (0, 1, ...).
    """
    check_choice(period, "period", ("month", "quarter"))
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if t1 < t0:
        raise InputError(f"`end` ({t1.date()}) is before `start` ({t0.date()})")
    ppl = lazy(people, "people")
    pcols = columns(ppl)
    need = [unit] + [c for c in (start_date, end_date, group, first_treated) if c]
    require_columns(pcols, "people", need)
    n_periods = (t1.year - t0.year) * 12 + t1.month - t0.month if period == "month" else \
        (t1.year - t0.year) * 4 + (t1.month - 1) // 3 - (t0.month - 1) // 3
    keep = [c for c in (start_date, end_date) if c]
    ix = ppl.select(unit, *keep).with_columns(nw.lit(t0.to_pydatetime()).alias("_cal_start"))
    with warnings.catch_warnings():  # exclusions are the caller's to count with build_panel
        warnings.simplefilter("ignore", PcevalWarning)
        panel = build_panel(events, back(ix, people), unit=unit, date=date, kind=kind,
                            value=value, period=period, before=0, after=n_periods,
                            index_date="_cal_start", end_date=end_date, start_date=start_date,
                            data_end=t1 + (pd.offsets.MonthEnd(0) if period == "month" else pd.offsets.QuarterEnd(0)),
                            kinds=kinds)
    lf = lazy(panel, "panel").rename({"rel_period": "period_index"})
    count_cols = [c for c in columns(lf) if c not in (unit, "period_index", "calendar_period", "person_time")]
    if first_treated:
        ft_p, _, _ = period_parts(nw.col(first_treated), period)
        key = group or unit
        ft = ppl.select(key, first_treated).filter(~nw.col(first_treated).is_null()).group_by(key).agg(
            nw.col(first_treated).min())
        ft = ft.with_columns(calendar_label(ft_p, period).cast(nw.Int64).alias("first_treated")).select(
            key, "first_treated")
    if group:
        lf = lf.join(ppl.select(unit, group), on=unit, how="left").group_by(
            group, "period_index", "calendar_period").agg(
            nw.col("person_time").sum(), *[nw.col(c).sum() for c in count_cols],
            nw.col(unit).count().alias("n_people"))
    if first_treated:
        key = group or unit
        lf = lf.join(ft, on=key, how="left").with_columns(nw.col("first_treated").fill_null(0).cast(nw.Int64))
    if _is_eager_like(events):
        lf = lf.sort(group or unit, "period_index")
    return back(lf, events)


def stratified_counts(
    events: Any,
    people: Any,
    strata: Sequence[str],
    start: Any,
    end: Any,
    unit: str = "person_id",
    date: str = "date",
    kind: str = "type",
    *,
    start_date: str | None = "registration_start",
    end_date: str | None = "end_date",
    by_year: bool = False,
    kinds: Sequence[str] | None = None,
) -> Any:
    """Event counts and person-years at risk by any strata (e.g. IMD quintile, age band, sex).

    The input of the inequality measures: one row per stratum (and calendar year with
    ``by_year=True``) with ``person_years`` (days at risk / 365.25) and a count per event type.
    Strata are columns of ``people`` fixed over time (derive an age band as at ``start`` first).
    """
    ppl = lazy(people, "people")
    require_columns(columns(ppl), "people", list(strata))
    cp = calendar_panel(events, people, start, end, unit=unit, date=date, kind=kind, start_date=start_date,
                        end_date=end_date, kinds=kinds)
    lf = lazy(cp, "panel")
    count_cols = [c for c in columns(lf) if c not in (unit, "period_index", "calendar_period", "person_time")]
    year = nw.col("calendar_period") // 100
    month = nw.col("calendar_period") % 100
    lf = lf.with_columns((nw.col("person_time") * _days_in_month(year, month) / 365.25).alias("person_years"),
                         year.alias("year"))
    lf = lf.join(ppl.select(unit, *strata), on=unit, how="left")
    keys = list(strata) + (["year"] if by_year else [])
    out = lf.group_by(*keys).agg(nw.col("person_years").sum(), *[nw.col(c).sum() for c in count_cols])
    if _is_eager_like(events):
        out = out.sort(*keys)
    return back(out, events)


__all__ = ["build_panel", "calendar_panel", "stratified_counts", "period_parts", "calendar_label"]
