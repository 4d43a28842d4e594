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
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import pandas as pd

from pceval._checks import (
    check_choice,
    check_int,
    check_values_present,
    did_you_mean,
    lazy_dates,
    lazy_no_missing,
    lazy_same_id_type,
    nearest,
    require_columns,
)
from pceval._engines import align, back, collect_pandas, columns, lazy
from pceval._periods import _days_in_month, _safe, calendar_label, period_parts
from pceval.errors import InputError, PcevalWarning


def _grid(idx: nw.LazyFrame, rels: Sequence[int]) -> nw.LazyFrame:
    """A tiny frame of relative periods, built from the index table so it lives in the same engine."""
    one = idx.select(nw.lit(0).alias("_one")).head(1)
    return nw.concat([one.select(nw.lit(int(r)).cast(nw.Int64).alias("rel_period")) for r in rels],
                     how="vertical")


PANEL_COLUMNS = ("rel_period", "calendar_period", "person_time")


def build_panel(
    events: Any, index: Any, unit: str = "person_id", date: str = "date", kind: str = "type", *,
    value: str | None = None, period: str = "month", before: int = 12, after: int = 12,
    index_date: str = "index_date", end_date: str | None = "end_date", start_date: str | None = None,
    data_end: Any = None, data_start: Any = None, kinds: Sequence[str] | None = None,
    keep_zero_time: bool = False, return_flow: bool = False, _reserved: Sequence[str] = (),
) -> Any:
    """Build a person x relative-period panel of event counts and person-time.

    Parameters
    ----------
    events : table with ``unit``, ``date``, ``kind`` (and ``value`` if given): one row per event.
    index : one row per person: ``unit``, ``index_date``, ``end_date`` (last day at risk) and
        optionally ``start_date`` (first day at risk).
    kind : the event-type column; one count column per type (``kinds`` fixes the list and order;
        by default every type found, sorted). Every value of ``kinds`` must occur in ``events``.
    value : optional numeric column summed per type as ``<type>_<value>`` (e.g. bed days).
    period : ``"month"`` or ``"quarter"``.
    before, after : the window, ``-before <= rel_period <= after``.
    end_date : the column of ``index`` holding the last day at risk (death, deregistration, end of
        data). It must exist: pass ``end_date=None`` explicitly to follow everyone to ``data_end``
        (or the end of the window), which counts person-time after death if anyone has died.
    data_end : last day of data; follow-up ends at ``min(end_date, data_end)``.
    data_start : first day of data. Index dates outside ``data_start``..``data_end`` are an error.
    keep_zero_time : keep person-periods with no time at risk (person_time 0).
    return_flow : also return a pandas table counting what was used and excluded, by reason:
        columns ``table`` (``"events"`` or ``"index"``), ``reason`` and ``n``; each table's rows sum
        to its number of rows.

    Returns
    -------
    The panel in the engine ``events`` came from, with columns ``unit``, ``rel_period``,
    ``calendar_period``, ``person_time`` and one count column per event type (plus value sums);
    with ``return_flow=True``, ``(panel, flow)``.

    ``person_time`` is measured in periods: 1.0 is a whole calendar month (``period="month"``) or
    quarter, whatever its number of days. A pandas result records this as
    ``panel.attrs["pceval_time_units"] == {"person_time": "month"}`` (or ``"quarter"``), which
    :func:`pceval.did.did2x2` reads so rates per person-year are scaled correctly.

    Engines: the work runs in the engine of ``events``; an ``index`` held in memory (pandas, polars)
    beside DuckDB or Spark events is copied into that engine.

    Example
    -------
    >>> p = build_panel(events, index, unit="person_id", date="date", kind="type",
    ...                 period="month", before=12, after=12)          # doctest: +SKIP
    >>> p.attrs["pceval_time_units"]                                   # doctest: +SKIP
    {'person_time': 'month'}
    """
    spec = _panel_spec(events, index, unit=unit, date=date, kind=kind, value=value, period=period,
                       before=before, after=after, index_date=index_date, end_date=end_date,
                       start_date=start_date, data_end=data_end, data_start=data_start, kinds=kinds,
                       keep_zero_time=keep_zero_time, reserved=_reserved)
    ix = _index_table(spec)
    at_risk = _people_at_risk(ix)
    grid = _person_time_grid(spec, ix)
    evj = _events_with_reason(spec, ix)
    panel = _count_events(spec, evj, grid, sort=_is_eager_like(events))
    ev_flow = _events_flow(evj)
    flow = _panel_flow(ev_flow, at_risk, keep_zero_time)
    _warn_exclusions(ev_flow, at_risk, start_date, keep_zero_time)
    result = back(panel, events)
    if isinstance(result, pd.DataFrame):
        result.attrs["pceval_time_units"] = {"person_time": period}
    return (result, flow) if return_flow else result


@dataclass(frozen=True)
class _PanelSpec:
    """The checked arguments of :func:`build_panel`: both tables in one engine, dates parsed, the
    event types and their count-column names. ``follows_end``: follow-up has an end (an
    ``end_date`` column, ``data_end``, or both)."""

    ev: nw.LazyFrame
    idx: nw.LazyFrame
    unit: str
    date: str
    kind: str
    value: str | None
    period: str
    before: int
    after: int
    index_date: str
    end_date: str | None
    start_date: str | None
    data_end: Any
    names: dict[str, str]  # event type -> count column
    count_names: list[str]  # count columns, then value sums
    keep_zero_time: bool

    @property
    def follows_end(self) -> bool:
        return self.end_date is not None or self.data_end is not None


def _panel_spec(events: Any, index: Any, *, unit: str, date: str, kind: str, value: str | None, period: str,
                before: int, after: int, index_date: str, end_date: str | None, start_date: str | None,
                data_end: Any, data_start: Any, kinds: Sequence[str] | None, keep_zero_time: bool,
                reserved: Sequence[str]) -> _PanelSpec:
    """Check every argument of :func:`build_panel` once, at the boundary, and bundle them."""
    check_choice(period, "period", ("month", "quarter"))
    before = check_int(before, "before", low=0, high=600)
    after = check_int(after, "after", low=0, high=600)
    ev, idx = align(events, "events", index, "index")
    _require_panel_columns(columns(ev), columns(idx), unit, date, kind, value, index_date, end_date, start_date)
    ev, idx = _check_types(ev, idx, unit, date, index_date, end_date, start_date)
    _check_values(ev, idx, unit, index_date, value, data_start, data_end)
    names, count_names = _count_columns(ev, kind, kinds, value, [unit, *PANEL_COLUMNS, *reserved])
    return _PanelSpec(ev, idx, unit, date, kind, value, period, before, after, index_date, end_date,
                      start_date, data_end, names, count_names, keep_zero_time)


def _require_panel_columns(ev_cols: list[str], idx_cols: list[str], unit: str, date: str, kind: str,
                           value: str | None, index_date: str, end_date: str | None,
                           start_date: str | None, index_name: str = "index") -> None:
    """The columns :func:`build_panel` reads exist; a missing ``end_date`` column says why it matters.
    ``index_name`` is the argument that holds the index table (``matched`` in :func:`matched_panel`)."""
    require_columns(ev_cols, "events", [unit, date, kind] + ([value] if value else []))
    require_columns(idx_cols, index_name, [unit, index_date])
    if end_date is not None and end_date not in idx_cols:
        near = did_you_mean(end_date, idx_cols)
        raise InputError(
            f"`{index_name}` has no column '{end_date}'{near}: the last day each person is at risk (death, "
            f"deregistration or the end of data). Without it follow-up would run to the end of the "
            f"window, counting time after death. Add it, name it with end_date=..., or pass "
            f"end_date=None to follow everyone to data_end. Its columns are {idx_cols}")
    if start_date is not None:
        require_columns(idx_cols, index_name, [start_date])


def _count_columns(ev: nw.LazyFrame, kind: str, kinds: Sequence[str] | None, value: str | None,
                   reserved: list[str]) -> tuple[dict[str, str], list[str]]:
    """The event types counted (``kinds``, checked against the data; by default all, sorted), their
    count-column names, and the value-sum names; names must be distinct and not ``reserved``."""
    present = sorted(str(k) for k in collect_pandas(ev.select(nw.col(kind)).unique().drop_nulls())[kind])
    if kinds is None:
        kinds = present
    else:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        check_values_present(kinds, present, "kinds", "events", kind)
    if not kinds:
        raise InputError(f"`events`: column '{kind}' has no event types")
    names = {k: _safe(k) for k in kinds}
    if len(set(names.values())) < len(names):
        raise InputError(f"`events`: event types {kinds} do not give distinct column names")
    count_names = [names[k] for k in kinds] + ([f"{names[k]}_{_safe(value)}" for k in kinds] if value else [])
    clash = sorted(set(count_names) & set(reserved))
    if clash:
        raise InputError(
            f"`events`: event type(s) in column '{kind}' give count column(s) {clash}, which the panel "
            f"uses for something else ({reserved}); rename those event types or pass kinds= without them")
    return names, count_names


def _follow_up_end(spec: _PanelSpec) -> nw.Expr | None:
    """The last day at risk: ``end_date`` capped at ``data_end`` (either alone if only one is given)."""
    end_expr = nw.col(spec.end_date) if spec.end_date is not None else None
    if spec.data_end is not None:
        cap = nw.lit(pd.Timestamp(spec.data_end).to_pydatetime())
        end_expr = cap if end_expr is None else nw.when(end_expr.is_null() | (end_expr > cap)).then(
            cap).otherwise(end_expr)
    return end_expr


def _index_table(spec: _PanelSpec) -> nw.LazyFrame:
    """One row per person: the index period ``_p0``; follow-up end ``_end`` with its period, 0-based
    day in the period and period length (``_pe, _oe, _le``); the same for its start (``_start``,
    ``_ps, _os, _ls``); and 0/1 flags of no time at risk in the window: ``_rev`` (start after end)
    and ``_out`` (follow-up ends before or starts after the window)."""
    p0, _, _ = period_parts(nw.col(spec.index_date), spec.period)
    sel = [nw.col(spec.unit), nw.col(spec.index_date).alias("_index_date"), p0.alias("_p0")]
    end_expr = _follow_up_end(spec)
    if end_expr is not None:
        pe, oe, le = period_parts(end_expr, spec.period)
        sel += [end_expr.alias("_end"), pe.alias("_pe"), oe.alias("_oe"), le.alias("_le")]
    if spec.start_date is not None:
        ps, os_, ls = period_parts(nw.col(spec.start_date), spec.period)
        sel += [nw.col(spec.start_date).alias("_start"), ps.alias("_ps"), os_.alias("_os"), ls.alias("_ls")]
    ix = spec.idx.select(*sel)
    reversed_ = nw.lit(False)
    if end_expr is not None and spec.start_date is not None:
        reversed_ = (~nw.col("_start").is_null() & ~nw.col("_end").is_null()
                     & (nw.col("_start") > nw.col("_end")))
    outside = nw.lit(False)
    if end_expr is not None:
        outside = outside | (~nw.col("_pe").is_null() & (nw.col("_pe") < nw.col("_p0") - spec.before))
    if spec.start_date is not None:
        outside = outside | (~nw.col("_ps").is_null() & (nw.col("_ps") > nw.col("_p0") + spec.after))
    # 0/1 integers, not booleans: they survive the left join of events (missing -> not 1) on every engine
    return ix.with_columns(nw.when(reversed_).then(nw.lit(1)).otherwise(nw.lit(0)).alias("_rev"),
                           nw.when(~reversed_ & outside).then(nw.lit(1)).otherwise(nw.lit(0)).alias("_out"))


def _people_at_risk(ix: nw.LazyFrame) -> tuple[int, int, int]:
    """(people in the index, of whom with start after end, of whom with follow-up outside the window)."""
    people = collect_pandas(ix.select(
        nw.len().alias("n"), nw.col("_rev").sum().alias("reversed"), nw.col("_out").sum().alias("outside"))).iloc[0]
    n_people, n_reversed, n_outside = (int(people[c]) for c in ("n", "reversed", "outside"))
    return n_people, n_reversed, n_outside


def _person_time_grid(spec: _PanelSpec, ix: nw.LazyFrame) -> nw.LazyFrame:
    """Person x relative period with ``calendar_period`` and ``person_time``: the share of the
    period's days between follow-up start and end, ``hi - lo``, where ``hi = (day of end + 1) /
    days`` in the end's period (else 1) and ``lo = day of start / days`` in the start's period (else 0)."""
    rels = list(range(-spec.before, spec.after + 1))
    grid = ix.join(_grid(spec.idx, rels), how="cross").with_columns(
        (nw.col("_p0") + nw.col("rel_period")).alias("_q"))
    q = nw.col("_q")
    hi = nw.lit(1.0)
    lo = nw.lit(0.0)
    inside = nw.col("_rev") != 1
    if spec.follows_end:
        hi = nw.when(nw.col("_pe").is_null()).then(nw.lit(1.0)).otherwise(
            nw.when(q == nw.col("_pe")).then((nw.col("_oe") + 1) / nw.col("_le")).otherwise(nw.lit(1.0)))
        inside = inside & (nw.col("_pe").is_null() | (q <= nw.col("_pe")))
    if spec.start_date is not None:
        lo = nw.when(nw.col("_ps").is_null()).then(nw.lit(0.0)).otherwise(
            nw.when(q == nw.col("_ps")).then(nw.col("_os") / nw.col("_ls")).otherwise(nw.lit(0.0)))
        inside = inside & (nw.col("_ps").is_null() | (q >= nw.col("_ps")))
    grid = grid.with_columns(
        nw.when(inside).then(hi - lo).otherwise(nw.lit(0.0)).cast(nw.Float64).alias("person_time"),
        calendar_label(q, spec.period).cast(nw.Int64).alias("calendar_period"),
    )
    if not spec.keep_zero_time:
        grid = grid.filter(nw.col("person_time") > 0)
    return grid.select(spec.unit, "rel_period", "calendar_period", "person_time")


def _events_with_reason(spec: _PanelSpec, ix: nw.LazyFrame) -> nw.LazyFrame:
    """Every event with its ``rel_period`` and ``_reason``: ``"counted"`` or why not, tested in the
    order person not in index, missing date, outside follow-up, outside window (people not in the
    index come first, so the other counts are about the people in play)."""
    unit, date = spec.unit, spec.date
    keep_cols = [unit, date, spec.kind] + ([spec.value] if spec.value else [])
    evj = spec.ev.select(*keep_cols).join(ix, on=unit, how="left")
    pev, _, _ = period_parts(nw.col(date), spec.period)
    evj = evj.with_columns((pev - nw.col("_p0")).alias("rel_period"))
    in_person = ~nw.col("_p0").is_null()
    has_date = ~nw.col(date).is_null()
    in_follow = ~(nw.col("_rev") == 1).fill_null(False)
    if spec.follows_end:
        in_follow = in_follow & (nw.col("_end").is_null() | (nw.col(date) <= nw.col("_end")))
    if spec.start_date is not None:
        in_follow = in_follow & (nw.col("_start").is_null() | (nw.col(date) >= nw.col("_start")))
    in_window = (nw.col("rel_period") >= -spec.before) & (nw.col("rel_period") <= spec.after)
    reason = (nw.when(~in_person).then(nw.lit("person not in index"))
              .otherwise(nw.when(~has_date).then(nw.lit("missing date"))
                         .otherwise(nw.when(~in_follow).then(nw.lit("outside follow-up (registration/death)"))
                                    .otherwise(nw.when(~in_window).then(nw.lit("outside window"))
                                               .otherwise(nw.lit("counted"))))))
    return evj.with_columns(reason.alias("_reason"))


def _count_events(spec: _PanelSpec, evj: nw.LazyFrame, grid: nw.LazyFrame, sort: bool) -> nw.LazyFrame:
    """The counted events summed per person-period (0/1 indicator per type, then plain sums, which
    work on every backend) and joined to the grid; person-periods without events get zeros."""
    kind, value, count_names = spec.kind, spec.value, spec.count_names
    used = evj.filter(nw.col("_reason") == "counted")
    ind = []
    for k, nm in spec.names.items():
        ind.append(nw.when(nw.col(kind) == k).then(nw.lit(1)).otherwise(nw.lit(0)).alias(nm))
        if value:
            ind.append(nw.when(nw.col(kind) == k).then(nw.col(value).fill_null(0.0)).otherwise(nw.lit(0.0))
                       .alias(f"{nm}_{_safe(value)}"))
    counts = used.with_columns(*ind).group_by(spec.unit, "rel_period").agg(
        *[nw.col(c).sum() for c in count_names])
    panel = grid.join(counts, on=[spec.unit, "rel_period"], how="left").with_columns(
        *[nw.col(c).fill_null(0) for c in count_names]
    ).with_columns(*[nw.col(nm).cast(nw.Int64) for nm in spec.names.values()])
    panel = panel.select(spec.unit, "rel_period", "calendar_period", "person_time", *count_names)
    return panel.sort(spec.unit, "rel_period") if sort else panel


def _events_flow(evj: nw.LazyFrame) -> pd.DataFrame:
    """The number of events by ``_reason`` (pandas: table, reason, n), sorted by reason."""
    ev_flow = collect_pandas(evj.with_columns(nw.lit(1).alias("_n")).group_by("_reason").agg(
        nw.col("_n").sum().alias("n")))
    ev_flow = ev_flow.rename(columns={"_reason": "reason"}).sort_values("reason")
    ev_flow["n"] = ev_flow["n"].astype("int64")
    ev_flow.insert(0, "table", "events")
    return ev_flow


def _panel_flow(ev_flow: pd.DataFrame, at_risk: tuple[int, int, int], keep_zero_time: bool) -> pd.DataFrame:
    """The table of ``return_flow=True``: the events by reason, then the people of the index."""
    n_people, n_reversed, n_outside = at_risk
    kept = "kept with person_time 0" if keep_zero_time else "dropped"
    ix_flow = pd.DataFrame({"table": "index", "reason": [
        "time at risk in the window", f"no time at risk: start after end ({kept})",
        f"no time at risk: follow-up outside the window ({kept})"],
        "n": [n_people - n_reversed - n_outside, n_reversed, n_outside]})
    flow = pd.concat([ev_flow, ix_flow], ignore_index=True)
    flow["n"] = flow["n"].astype("int64")
    return flow


def _warn_exclusions(ev_flow: pd.DataFrame, at_risk: tuple[int, int, int], start_date: str | None,
                     keep_zero_time: bool) -> None:
    """Warn (for the caller of :func:`build_panel`) about excluded events of people in the index
    and about people with no time at risk in the window."""
    n_people, n_reversed, n_outside = at_risk
    flagged = ev_flow[ev_flow["reason"].isin(["missing date", "outside follow-up (registration/death)"])]
    if flagged["n"].sum() > 0:
        detail = ", ".join(f"{r}: {n:,}" for r, n in zip(flagged["reason"], flagged["n"], strict=True))
        warnings.warn(f"build_panel excluded events of people in `index` ({detail}); pass return_flow=True "
                      "for all counts", PcevalWarning, stacklevel=3)
    if n_reversed or n_outside:
        what = "dropped" if not keep_zero_time else "kept with person_time 0 (keep_zero_time=True)"
        parts = [f"{n:,} {why}" for n, why in ((n_reversed, f"with '{start_date}' after their end of follow-up"),
                                               (n_outside, "whose follow-up misses the window")) if n]
        warnings.warn(f"build_panel: {n_reversed + n_outside:,} of {n_people:,} people in `index` have no time "
                      f"at risk in the window and were {what}: {'; '.join(parts)}. Pass return_flow=True "
                      "for the counts", PcevalWarning, stacklevel=3)


def _is_eager_like(frame: Any) -> bool:
    """Whether ``frame`` is an in-memory table (its result is then sorted)."""
    from pceval._engines import is_eager

    return is_eager(frame)


def _check_values(ev: nw.LazyFrame, idx: nw.LazyFrame, unit: str, index_date: str, value: str | None,
                  data_start: Any, data_end: Any) -> None:
    """Index dates inside ``data_start``..``data_end``; a ``value`` column numeric and not negative."""
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
        if not ev.collect_schema()[value].is_numeric():
            raise InputError(f"`events`: column '{value}' must be numeric, has type "
                             f"{ev.collect_schema()[value]}")
        neg = collect_pandas(ev.filter((nw.col(value) < 0) | (nw.col(value) >= float("inf")))
                             .select(unit, value).head(5))
        if len(neg):
            raise InputError(f"`events`: column '{value}' must be finite and not negative; "
                             f"offending values {neg[value].tolist()}")


def _check_types(ev: nw.LazyFrame, idx: nw.LazyFrame, unit: str, date: str, index_date: str,
                 end_date: str | None, start_date: str | None) -> tuple[nw.LazyFrame, nw.LazyFrame]:
    """Dates parsed and checked, ids of one type, one row per person with an index date."""
    ev = lazy_dates(ev, "events", [date])
    idx = lazy_dates(idx, "index", [index_date, end_date, start_date])
    lazy_same_id_type(ev, "events", idx, "index", unit)
    dup = collect_pandas(idx.group_by(unit).agg(nw.len().alias("n")).filter(nw.col("n") > 1).head(5))
    if len(dup):
        raise InputError(f"`index`: column '{unit}' must be unique (one row per person), but "
                         f"{dup[unit].tolist()} repeat")
    lazy_no_missing(idx, "index", index_date, unit)
    return ev, idx


def _period_number(t: pd.Timestamp, period: str) -> int:
    """The period number of one timestamp (as :func:`period_parts` computes it in a query)."""
    return t.year * 12 + t.month - 1 if period == "month" else t.year * 4 + (t.month - 1) // 3


CALENDAR_COLUMNS = ("period_index", "period", "calendar_period", "person_time", "n_people",
                    "first_treated", "first_treated_period")


def calendar_panel(
    events: Any, people: Any, start: Any, end: Any, unit: str = "person_id", date: str = "date",
    kind: str = "type", *, start_date: str | None = "registration_start", end_date: str | None = "end_date",
    by: str | None = None, first_treated: str | None = None, period: str = "month",
    kinds: Sequence[str] | None = None, value: str | None = None,
) -> Any:
    """A calendar-time panel for staggered designs: person (or a ``by`` group such as a PCN) x calendar period.

    Every person in ``people`` gets one row per calendar period from ``start`` to ``end`` in which
    they are at risk (``start_date``..``end_date``; both columns must exist unless passed as
    ``None``), with ``person_time`` and event counts, as in :func:`build_panel`. With ``by``
    (e.g. ``"pcn_id"``) rows are summed to group x period, with ``n_people``.

    Time columns:

    * ``period`` -- the period number on one consecutive integer scale: ``year * 12 + month - 1``
      (months) or ``year * 4 + quarter - 1`` (quarters), so consecutive periods differ by 1.
      **Pass this as ``time=`` to** :func:`pceval.did.att_gt`.
    * ``calendar_period`` -- the readable label, yyyymm (202301) or yyyyq (20231). Labels are not
      consecutive (20204 -> 20211), so never subtract them or use them as ``time=``.
    * ``period_index`` -- periods since ``start`` (0, 1, ...).

    With ``first_treated`` (a date column of ``people``, constant within a group; the earliest is
    used):

    * ``first_treated_period`` -- the period number of that date on the scale of ``period``,
      0 = never treated. **Pass this as ``group=`` to** :func:`pceval.did.att_gt`.
    * ``first_treated`` -- its calendar label (yyyymm / yyyyq, 0 = never treated), for tables.

    ``person_time`` is in periods (1.0 = a whole month or quarter); a pandas result records it in
    ``attrs["pceval_time_units"]``.

    Example
    -------
    >>> cp = calendar_panel(events, people, "2019-01-01", "2021-12-01", by="pcn_id",
    ...                     first_treated="go_live", period="quarter")        # doctest: +SKIP
    >>> res = att_gt(cp, outcome="emergency_admission", unit="pcn_id", time="period",
    ...              group="first_treated_period")                          # doctest: +SKIP
    """
    t0, t1, ev, ppl = _calendar_spec(events, people, start, end, unit, start_date, end_date, by,
                                     first_treated, period)
    panel = _calendar_person_panel(ev, ppl, t0, t1, unit=unit, date=date, kind=kind, start_date=start_date,
                                   end_date=end_date, by=by, period=period, kinds=kinds, value=value)
    lf = lazy(panel, "panel").rename({"rel_period": "period_index"})
    count_cols = [c for c in columns(lf) if c not in (unit, "period_index", "calendar_period", "person_time")]
    lf = lf.with_columns((nw.col("period_index") + _period_number(t0, period)).cast(nw.Int64).alias("period"))
    key = by or unit
    if by:
        lf = _sum_by_group(lf, ppl, unit, by, count_cols)
    if first_treated:
        lf = lf.join(_first_treated(ppl, key, first_treated, period), on=key, how="left").with_columns(
            nw.col("first_treated").fill_null(0).cast(nw.Int64),
            nw.col("first_treated_period").fill_null(0).cast(nw.Int64))
    lf = lf.select(key, "period_index", "period", "calendar_period", "person_time", *count_cols,
                   *(["n_people"] if by else []),
                   *(["first_treated", "first_treated_period"] if first_treated else []))
    if _is_eager_like(events):
        lf = lf.sort(key, "period_index")
    out = back(lf, events)
    if isinstance(out, pd.DataFrame):
        out.attrs["pceval_time_units"] = {"person_time": period}
    return out


def _calendar_spec(events: Any, people: Any, start: Any, end: Any, unit: str, start_date: str | None,
                   end_date: str | None, by: str | None, first_treated: str | None, period: str,
                   ) -> tuple[pd.Timestamp, pd.Timestamp, nw.LazyFrame, nw.LazyFrame]:
    """Check :func:`calendar_panel`'s arguments: ``(start, end, events, people)``, the tables in one
    engine and ``first_treated`` parsed as a date."""
    check_choice(period, "period", ("month", "quarter"))
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if t1 < t0:
        raise InputError(f"`end` ({t1.date()}) is before `start` ({t0.date()})")
    ev, ppl = align(events, "events", people, "people")
    need = [unit] + [c for c in (start_date, end_date, by, first_treated) if c]
    require_columns(columns(ppl), "people", need)
    if first_treated:
        ppl = lazy_dates(ppl, "people", [first_treated])
    return t0, t1, ev, ppl


def _calendar_person_panel(ev: nw.LazyFrame, ppl: nw.LazyFrame, t0: pd.Timestamp, t1: pd.Timestamp, *,
                           unit: str, date: str, kind: str, start_date: str | None, end_date: str | None,
                           by: str | None, period: str, kinds: Sequence[str] | None, value: str | None) -> Any:
    """Person x calendar period, from :func:`build_panel` with every person's index date at ``start``
    (``rel_period`` = periods since ``start``), the window running to ``end`` and follow-up capped
    at the end of ``end``'s period. People outside ``start..end`` have no rows by design (no warning)."""
    n_periods = _period_number(t1, period) - _period_number(t0, period)
    keep = [c for c in (start_date, end_date) if c]
    ix = ppl.select(unit, *keep).with_columns(nw.lit(t0.to_pydatetime()).alias("_cal_start"))
    reserved = [c for c in CALENDAR_COLUMNS if c != "person_time"] + ([by] if by else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        return build_panel(ev.to_native(), ix.to_native(), unit=unit, date=date, kind=kind,
                           value=value, period=period, before=0, after=n_periods,
                           index_date="_cal_start", end_date=end_date, start_date=start_date,
                           data_end=t1 + (pd.offsets.MonthEnd(0) if period == "month" else pd.offsets.QuarterEnd(0)),
                           kinds=kinds, _reserved=reserved)


def _sum_by_group(lf: nw.LazyFrame, ppl: nw.LazyFrame, unit: str, by: str, count_cols: list[str]) -> nw.LazyFrame:
    """Person rows summed to ``by`` group x period, with ``n_people`` (people at risk in the period)."""
    return lf.join(ppl.select(unit, by), on=unit, how="left").group_by(
        by, "period_index", "period", "calendar_period").agg(
        nw.col("person_time").sum(), *[nw.col(c).sum() for c in count_cols],
        nw.col(unit).count().alias("n_people"))


def _first_treated(ppl: nw.LazyFrame, key: str, first_treated: str, period: str) -> nw.LazyFrame:
    """Per ``key`` (person or group): the earliest ``first_treated`` date's calendar label
    (``first_treated``) and period number (``first_treated_period``); never-treated keys have no row."""
    ft_p, _, _ = period_parts(nw.col(first_treated), period)
    ft = ppl.select(key, first_treated).filter(~nw.col(first_treated).is_null()).group_by(key).agg(
        nw.col(first_treated).min())
    return ft.with_columns(calendar_label(ft_p, period).cast(nw.Int64).alias("first_treated"),
                           ft_p.cast(nw.Int64).alias("first_treated_period")).select(
        key, "first_treated", "first_treated_period")


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
    Strata are columns of ``people`` fixed over time (derive an age band as at ``start`` first);
    at least one is needed. A pandas result records ``attrs["pceval_time_units"] ==
    {"person_years": "year"}``.
    """
    strata = [strata] if isinstance(strata, str) else list(strata)
    if not strata:
        raise InputError("`strata` must name at least one column of `people` (e.g. ['imd_quintile']); "
                         "for totals over everyone, add a constant column and stratify by it")
    ev, ppl = align(events, "events", people, "people")
    require_columns(columns(ppl), "people", strata)
    clash = [c for c in strata if c in ("person_years", "year", unit)]
    if clash:
        raise InputError(f"`strata`: {clash} is a column stratified_counts makes; rename it first")
    cp = calendar_panel(ev.to_native(), ppl.to_native(), start, end, unit=unit, date=date, kind=kind,
                        start_date=start_date, end_date=end_date, kinds=kinds)
    lf = lazy(cp, "panel")
    count_cols = [c for c in columns(lf) if c not in (unit, "period_index", "period", "calendar_period",
                                                      "person_time")]
    clash = [c for c in strata if c in count_cols]
    if clash:
        raise InputError(f"`strata`: {clash} is also an event type's count column; rename it first")
    year = nw.col("calendar_period") // 100
    month = nw.col("calendar_period") % 100
    lf = lf.with_columns((nw.col("person_time") * _days_in_month(year, month) / 365.25).alias("person_years"),
                         year.alias("year"))
    lf = lf.join(ppl.select(unit, *strata), on=unit, how="left")
    keys = list(strata) + (["year"] if by_year else [])
    out = lf.group_by(*keys).agg(nw.col("person_years").sum(), *[nw.col(c).sum() for c in count_cols])
    if _is_eager_like(events):
        out = out.sort(*keys)
    out = back(out, events)
    if isinstance(out, pd.DataFrame):
        out.attrs["pceval_time_units"] = {"person_years": "year"}
    return out


_PANEL_OPTIONS = ("date", "kind", "value", "data_end", "data_start", "keep_zero_time", "return_flow")


def matched_panel(
    events: Any, matched: Any, *, unit: str = "person_id", index_date: str = "index_date",
    carry: Sequence[str] = ("treated", "weights", "subclass"), extra: Sequence[str] = (),
    match_id: str = "match_id", kinds: Sequence[str] | None = None, before: int = 12, after: int = 12,
    period: str = "month", end_date: str | None = "end_date", start_date: str | None = None, **options: Any,
) -> Any:
    """From a matched sample to the matched panel: :func:`build_panel` around each matched row's
    index date, with the design columns carried onto every person-period and a ``post`` flag.

    Parameters
    ----------
    events : the activity events, as for :func:`build_panel`.
    matched : the matched sample, one row per matched unit with ``unit``, ``index_date`` (a
        control's own index date in rolling entry), ``end_date`` (and ``start_date`` if given):
        a table on any engine (e.g. ``MatchResult.matched_data()``), or any object with a
        ``matched_data()`` method returning one, such as a :class:`pceval.MatchResult` (duck
        typed: the panel step does not import the matching step, which comes after it).
    carry : the design columns copied onto every row of a unit (``treated``, ``weights`` and
        ``subclass`` by default, as ``matched_data()`` names them); ``extra`` adds more (e.g.
        ``("imd_quintile",)``). Each must exist in ``matched`` (a missing one is an error that
        suggests the nearest name).
    match_id : the name of the column numbering the matched rows 0, 1, ... in the order of
        ``(unit, index_date)``, the same on every engine.
    kinds, before, after, period, end_date, start_date, **options : as for :func:`build_panel`
        (``options``: ``date``, ``kind``, ``value``, ``data_end``, ``data_start``,
        ``keep_zero_time``, ``return_flow``).

    Returns
    -------
    The panel in the engine of ``events``: ``unit``, ``match_id``, ``rel_period``,
    ``calendar_period``, ``person_time``, one count column per event type, the carried columns
    and ``post`` (1 if ``rel_period >= 0``, else 0); one block of rows per matched row, sorted by
    ``match_id`` and ``rel_period`` when in memory. A pandas result records the person-time unit
    in ``attrs["pceval_time_units"]``. With ``return_flow=True``, ``(panel, flow)``.

    A person matched more than once (rolling entry with replacement, or a not-yet-treated control
    who is treated later, has one row per index date) is one unit per matched row: their rows are
    kept apart by ``match_id``, and each of their events counts in each of their panels (and in
    ``flow`` once per matched row). ``(unit, index_date)`` must not repeat. Use ``unit=match_id``
    in the estimators when a person repeats, and cluster on ``subclass`` or the person.

    Example
    -------
    >>> m = pceval.match(candidates, treatment="treated", covariates=[...], period="index_period",
    ...                  unit="person_id")                                         # doctest: +SKIP
    >>> mp = matched_panel(events, m, kinds=["emergency_admission"], start_date="registration_start")  # doctest: +SKIP
    >>> did2x2(mp, "emergency_admission", "treated", "match_id", "post", model="poisson",
    ...        exposure="person_time", weights="weights", cluster="subclass")  # doctest: +SKIP
    """
    ev, mt, carried, repeats = _matched_spec(events, matched, unit=unit, index_date=index_date,
                                             carry=carry, extra=extra, match_id=match_id,
                                             end_date=end_date, start_date=start_date, options=options)
    key = match_id if repeats else unit
    ev_in = _events_by_match(ev, mt, unit, match_id) if repeats else ev
    index = mt.select(key, index_date, *[c for c in (end_date, start_date) if c is not None])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = build_panel(ev_in.to_native(), index.to_native(), unit=key, kinds=kinds, before=before,
                          after=after, period=period, index_date=index_date, end_date=end_date,
                          start_date=start_date, _reserved=[unit, match_id, "post", *carried], **options)
    for w in caught:  # build_panel's warnings, in matched_panel's words, for its caller
        msg = str(w.message).replace("build_panel", "matched_panel").replace("`index`", "`matched`")
        warnings.warn(msg, w.category, stacklevel=2)
    panel, flow = out if options.get("return_flow") else (out, None)
    result = _carry_design(lazy(panel, "panel"), mt, key=key, unit=unit, match_id=match_id, carried=carried,
                           sort=_is_eager_like(events))
    result = back(result, events)
    if isinstance(result, pd.DataFrame):
        result.attrs["pceval_time_units"] = {"person_time": period}
    return (result, flow) if flow is not None else result


def _matched_spec(events: Any, matched: Any, *, unit: str, index_date: str, carry: Sequence[str],
                  extra: Sequence[str], match_id: str, end_date: str | None, start_date: str | None,
                  options: dict[str, Any]) -> tuple[nw.LazyFrame, nw.LazyFrame, list[str], bool]:
    """Check :func:`matched_panel`'s arguments: ``(events, matched with match_id, carried columns,
    whether a person repeats)``, both tables in one engine (see :func:`pceval._engines.align`)."""
    unknown = [k for k in options if k not in _PANEL_OPTIONS]
    if unknown:
        hints = "".join(did_you_mean(k, _PANEL_OPTIONS) for k in unknown)
        raise InputError(f"matched_panel got unknown option(s) {unknown}{hints}; build_panel's options "
                         f"are {list(_PANEL_OPTIONS)}")
    if callable(getattr(matched, "matched_data", None)):
        matched = matched.matched_data()
    if not _is_table(matched):
        raise InputError("`matched` must be a table (pandas, polars, DuckDB, Spark) or an object with a "
                         f"matched_data() method such as pceval.MatchResult, got {type(matched).__name__}")
    ev, mt = align(events, "events", matched, "matched")
    cols = columns(mt)
    carried = _carried_columns(carry, extra, unit, match_id, cols)
    _require_panel_columns(columns(ev), cols, unit, options.get("date", "date"), options.get("kind", "type"),
                           options.get("value"), index_date, end_date, start_date, index_name="matched")
    mt = lazy_dates(mt, "matched", [index_date])
    lazy_same_id_type(ev, "events", mt, "matched", unit)
    dup = collect_pandas(mt.group_by(unit, index_date).agg(nw.len().alias("_n")).filter(nw.col("_n") > 1)
                         .select(unit, index_date).head(5))
    if len(dup):
        raise InputError(f"`matched`: ({unit}, {index_date}) must not repeat, but "
                         f"{list(dup.itertuples(index=False, name=None))} do; two rows of a person at one "
                         "index date would have the same panel: keep one and add up their weights")
    n = collect_pandas(mt.select(nw.len().alias("n"), nw.col(unit).n_unique().alias("units"),
                                 nw.when(nw.col(unit).is_null()).then(nw.lit(1)).otherwise(nw.lit(0)).sum().alias("missing"))).iloc[0]
    if int(n["missing"]):
        raise InputError(f"`matched`: column '{unit}' has {int(n['missing'])} missing value(s); every "
                         "matched row needs its person's id")
    mt = mt.with_row_index(match_id, order_by=[unit, index_date]).with_columns(nw.col(match_id).cast(nw.Int64))
    return ev, mt, carried, int(n["units"]) < int(n["n"])


def _is_table(frame: Any) -> bool:
    """Whether narwhals can read ``frame`` (pandas, polars, DuckDB, Spark, ...)."""
    try:
        nw.from_native(frame)
    except TypeError:
        return False
    return True


def _carried_columns(carry: Sequence[str], extra: Sequence[str], unit: str, match_id: str,
                     cols: list[str]) -> list[str]:
    """The columns carried onto the panel (``carry`` then ``extra``, once each, without ``unit``):
    each must exist in ``matched`` and none may be a column the panel makes."""
    carry = [carry] if isinstance(carry, str) else list(carry)
    extra = [extra] if isinstance(extra, str) else list(extra)
    carried = [c for c in dict.fromkeys(carry + extra) if c != unit]
    missing = [c for c in carried if c not in cols]
    if missing:
        hints = "".join(f" For '{m}' did you mean {' or '.join(repr(c) for c in near)}?"
                        for m in missing if (near := nearest(m, cols)))
        raise InputError(f"`matched` has no column(s) {missing} to carry onto the panel (carry=/extra=).{hints} "
                         f"Its columns are {cols}; pass carry= with the design columns it has")
    made = [match_id, "post", *PANEL_COLUMNS]
    clash = [c for c in carried if c in made]
    if clash:
        raise InputError(f"`carry`/`extra`: {clash} would overwrite column(s) matched_panel makes ({made}); "
                         "rename them in `matched` first")
    if match_id in cols:
        raise InputError(f"`matched` already has a column '{match_id}'; name the matched-row id with "
                         f"match_id=..., e.g. match_id='{match_id}_2'")
    return carried


def _events_by_match(ev: nw.LazyFrame, mt: nw.LazyFrame, unit: str, match_id: str) -> nw.LazyFrame:
    """Events with the ``match_id`` of each matched row of their person (an event of a person with
    two matched rows appears twice); events of people not matched get ``-1``, which no row has, so
    :func:`build_panel` counts them as "person not in index"."""
    ids = mt.select(unit, match_id)
    return ev.join(ids, on=unit, how="left").with_columns(nw.col(match_id).fill_null(-1).cast(nw.Int64))


def _carry_design(panel: nw.LazyFrame, mt: nw.LazyFrame, *, key: str, unit: str, match_id: str,
                  carried: list[str], sort: bool) -> nw.LazyFrame:
    """The panel with ``unit``/``match_id`` and the carried columns joined on ``key`` (one row per
    matched row, so no row is repeated) and ``post``; columns in the documented order."""
    other = match_id if key == unit else unit
    design = mt.select(key, other, *carried)
    out = panel.join(design, on=key, how="left").with_columns(
        nw.when(nw.col("rel_period") >= 0).then(nw.lit(1)).otherwise(nw.lit(0)).cast(nw.Int64).alias("post"))
    made = [c for c in columns(panel) if c != key]
    out = out.select(unit, match_id, *made, *carried, "post")
    return out.sort(match_id, "rel_period") if sort else out


__all__ = ["build_panel", "calendar_panel", "stratified_counts", "matched_panel", "period_parts", "calendar_label"]
