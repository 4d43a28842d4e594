"""Cohorts from people tables: inclusion/exclusion with attrition, index dates, rolling entry, baseline.

Written once with narwhals: the same code runs on pandas, polars, DuckDB and Spark, and results come
back in the engine the input came from.

* :class:`Cohort` -- step-by-step ``include``/``exclude`` rules; :meth:`Cohort.flow` is the attrition
  table (step, label, n_before, n_removed, n_after, overall and by treated/untreated), and counts
  reconcile: nobody leaves without a step. A condition is a narwhals expression
  (``nw.col("age") >= 18``), the name of a boolean column, or a function of the narwhals frame.
  ``include`` keeps rows where the condition is true (a missing value counts as not true);
  ``exclude`` removes rows where it is true (a missing value keeps the row).
* :func:`index_dates` -- treated people get the date of their first qualifying intervention.
* :func:`candidate_index_periods` -- rolling entry (Witman et al., Health Serv Res 2019): every
  eligible untreated person gets one candidate row per period in which any treated person has an
  index date, so matching can pick a control for each treated person's index period.
* :func:`baseline_covariates` -- as at each row's index date: age, counts of each activity type in
  the ``lookback`` calendar months before the index month, and months since the last emergency admission.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import narwhals as nw
import numpy as np
import pandas as pd

from pceval._checks import (
    check_choice,
    check_int,
    check_values_present,
    lazy_dates,
    lazy_flag,
    lazy_no_missing,
    lazy_same_id_type,
    require_columns,
)
from pceval._engines import align, back, collect_pandas, columns, is_eager, join_asof, lazy
from pceval._periods import _safe, calendar_label, period_parts
from pceval.errors import InputError, PcevalWarning

if TYPE_CHECKING:
    from plotnine import ggplot

Condition = nw.Expr | str | Callable[[nw.LazyFrame], nw.Expr]


@dataclass(frozen=True)
class _Step:
    kind: str  # "include" or "exclude"
    label: str
    condition: Condition


@dataclass(frozen=True)
class Cohort:
    """A cohort defined by ordered inclusion and exclusion steps on a people table.

    Example
    -------
    >>> import narwhals as nw
    >>> c = (Cohort(people, unit="person_id", treatment="treated")          # doctest: +SKIP
    ...      .include("Adults at index", nw.col("age") >= 18)
    ...      .exclude("Registered under 12 months", nw.col("months_registered") < 12))
    >>> c.flow()                                                         # doctest: +SKIP
    """

    people: Any
    unit: str = "person_id"
    treatment: str | None = None
    steps: tuple[_Step, ...] = field(default=())

    def __post_init__(self) -> None:
        lf = lazy(self.people, "people")
        require_columns(columns(lf), "people", [self.unit] + ([self.treatment] if self.treatment else []))

    # -- building ---------------------------------------------------------------------------------
    def include(self, label: str, condition: Condition) -> Cohort:
        """Keep only rows where ``condition`` is true."""
        return Cohort(self.people, self.unit, self.treatment, self.steps + (_Step("include", label, condition),))

    def exclude(self, label: str, condition: Condition) -> Cohort:
        """Remove rows where ``condition`` is true."""
        return Cohort(self.people, self.unit, self.treatment, self.steps + (_Step("exclude", label, condition),))

    def _expr(self, step: _Step, lf: nw.LazyFrame) -> nw.Expr:
        cond = step.condition
        if isinstance(cond, str):
            require_columns(columns(lf), "people", [cond])
            expr = nw.col(cond)
        elif isinstance(cond, nw.Expr):
            expr = cond
        elif callable(cond):
            expr = cond(lf)
        else:
            raise InputError(f"step {step.label!r}: `condition` must be a narwhals expression, a column "
                             f"name or a function, got {type(cond).__name__}")
        expr = expr.fill_null(False).cast(nw.Boolean)
        return expr if step.kind == "include" else ~expr

    def _flags(self) -> nw.LazyFrame:
        lf = lazy(self.people, "people")
        keep = nw.lit(True)
        flags = []
        for i, step in enumerate(self.steps):
            keep = keep & self._expr(step, lf)
            flags.append(keep.alias(f"_keep_{i}"))
        return lf.with_columns(*flags) if flags else lf

    # -- results ----------------------------------------------------------------------------------
    @property
    def frame(self) -> Any:
        """The people who pass every step, in the input's engine."""
        lf = self._flags()
        if self.steps:
            fl = self.flow()
            if fl["n_after"].iloc[-1] == 0:
                first_empty = fl.loc[fl["n_after"] == 0, "label"].iloc[0]
                raise InputError(f"the cohort is empty: no one is left after the step {first_empty!r} "
                                 f"(see Cohort.flow())")
            lf = lf.filter(nw.col(f"_keep_{len(self.steps) - 1}")).drop(
                *[f"_keep_{i}" for i in range(len(self.steps))])
        return back(lf, self.people)

    def to_pandas(self) -> pd.DataFrame:
        """The people left after every step, as a pandas DataFrame (collected from any engine)."""
        from pceval._engines import to_pandas

        return to_pandas(self.frame)

    def flow(self) -> pd.DataFrame:
        """The attrition table: one row per step (row 0 = the starting table), counts reconciled.

        Columns: step, label, n_before, n_removed, n_after, and with ``treated`` set also
        ``n_after_treated``, ``n_after_untreated``, ``n_removed_treated``, ``n_removed_untreated``.
        """
        lf = self._flags()
        n = len(self.steps)
        sums = [nw.lit(1).alias("_one")] + [
            nw.when(nw.col(f"_keep_{i}")).then(nw.lit(1)).otherwise(nw.lit(0)).alias(f"_k{i}") for i in range(n)]
        lf = lf.with_columns(*sums)
        agg_cols = ["_one"] + [f"_k{i}" for i in range(n)]
        if self.treatment:
            # a missing or non-0/1 treated flag is an error, not quietly "untreated"
            g = lazy_flag(lf, "people", self.treatment).with_columns(nw.col(self.treatment).alias("_treated"))
            tab = collect_pandas(g.group_by("_treated").agg(*[nw.col(c).sum() for c in agg_cols]))
            tab = tab.set_index("_treated").reindex([True, False]).fillna(0)
            by = {True: tab.loc[True].to_numpy().astype(int), False: tab.loc[False].to_numpy().astype(int)}
            total = by[True] + by[False]
        else:
            tab = collect_pandas(lf.select(*[nw.col(c).sum() for c in agg_cols]))
            total = tab.iloc[0].to_numpy().astype(int)
        rows = [{"step": 0, "label": "Starting population", "n_before": total[0], "n_removed": 0,
                 "n_after": total[0]}]
        for i, step in enumerate(self.steps):
            before, after = total[i], total[i + 1]
            rows.append({"step": i + 1, "label": f"{'Include' if step.kind == 'include' else 'Exclude'}: "
                         f"{step.label}", "n_before": before, "n_removed": before - after, "n_after": after})
        out = pd.DataFrame(rows)
        if self.treatment:
            for grp, name in ((True, "treated"), (False, "untreated")):
                after = by[grp]
                out[f"n_after_{name}"] = after
                out[f"n_removed_{name}"] = [0] + [int(after[i] - after[i + 1]) for i in range(n)]
        return out

    def flow_plot(self, preset: str | None = "opensafely") -> ggplot:
        """The flow diagram (plotnine): boxes of people remaining, with the number removed at each step.

        Counts are protected with ``preset`` (disclosure control) unless ``preset=None``.
        """
        from plotnine import aes, geom_label, geom_segment, ggplot, labs, theme, theme_void, xlim

        from pceval.disclosure import count, protect_flow

        fl = self.flow()
        if preset is not None:
            shown = protect_flow(fl, preset, columns=["n_before", "n_removed", "n_after"])
            fmt = lambda v: count(int(v), preset) if pd.notna(v) else f"{count(0, preset)}"  # noqa: E731
        else:
            shown = fl
            fmt = lambda v: f"{int(v):,}"  # noqa: E731
        k = len(fl)
        boxes = pd.DataFrame({
            "x": 0.0, "y": [float(-2 * i) for i in range(k)],
            "text": [f"{lab}\n{fmt(fl['n_after'][i]) if preset is None else _cell(shown['n_after'][i], preset)} people"
                     for i, lab in enumerate(fl["label"])],
        })
        side = pd.DataFrame({
            "x": 1.1, "y": [float(-2 * i + 1) for i in range(1, k)],
            "text": [f"Removed: {_cell(shown['n_removed'][i], preset) if preset else fmt(fl['n_removed'][i])}"
                     for i in range(1, k)],
        })
        arrows = pd.DataFrame({"x": 0.0, "xend": 0.0, "y": boxes["y"][:-1].to_numpy() - 0.45,
                               "yend": boxes["y"][1:].to_numpy() + 0.45})
        return (ggplot() + geom_segment(arrows, aes("x", "y", xend="xend", yend="yend"), colour="#425563")
                + geom_label(boxes, aes("x", "y", label="text"), size=9, fill="#E8F1FA", colour="#003087")
                + geom_label(side, aes("x", "y", label="text"), size=8, fill="white", colour="#425563")
                + xlim(-1.2, 1.8) + labs(title="Cohort flow") + theme_void()
                + theme(figure_size=(7, 1.3 * k + 0.5)))


def _cell(v: Any, preset: str) -> str:
    from pceval.disclosure import get_preset

    if pd.isna(v):
        return f"{get_preset(preset).threshold} or fewer"
    return f"{int(v):,}"


def _distinct(lf: nw.LazyFrame, col: str) -> list[Any]:
    """The distinct non-missing values of a column (a small query on any engine)."""
    return collect_pandas(lf.select(nw.col(col)).unique().drop_nulls())[col].tolist()


def index_dates(people: Any, interventions: Any, unit: str = "person_id", date: str = "date",
                kind: str | None = "intervention", which: str | Sequence[str] | None = None,
                index_date: str = "index_date", treatment: str = "treated") -> Any:
    """People with the date of their first qualifying intervention (``index_date``) and a treatment
    flag (the column named by ``treatment``, ``"treated"`` by default).

    ``which`` restricts the qualifying interventions (values of ``kind``); every value must occur in
    ``interventions`` (a misspelt one is an error that lists the values present and the nearest).
    People with none have a missing index date and ``treated = False``. A qualifying intervention
    with no date cannot give an index date: such people are counted in a :class:`PcevalWarning`.
    The result is in ``people``'s engine (``interventions`` in another engine is copied into it;
    see :func:`pceval._engines.align`).

    Example
    -------
    >>> ix = index_dates(data.people, data.interventions, which="pcsp")   # doctest: +SKIP
    """
    pl_, iv = align(people, "people", interventions, "interventions")
    require_columns(columns(pl_), "people", [unit])
    if which is not None and not kind:
        raise InputError("`which` selects values of the intervention-type column: pass `kind=` (e.g. "
                         "kind='intervention')")
    require_columns(columns(iv), "interventions", [unit, date] + ([kind] if which is not None and kind is not None else []))
    for col in (index_date, treatment):
        if col in columns(pl_):
            raise InputError(f"`people` already has a column '{col}' (index_dates adds it); drop or "
                             f"rename it, or name the new column with {'index_date' if col == index_date else 'treatment'}=")
    lazy_same_id_type(pl_, "people", iv, "interventions", unit)
    iv = lazy_dates(iv, "interventions", [date])
    if which is not None:
        wanted = [which] if isinstance(which, str) else list(which)
        assert kind is not None  # `which` without `kind` is refused above
        check_values_present(wanted, _distinct(iv, kind), "which", "interventions", kind)
        iv = iv.filter(nw.col(kind).is_in(wanted))
    first = iv.group_by(unit).agg(nw.col(date).min().alias(index_date))
    out = pl_.join(first, on=unit, how="left").with_columns(
        (~nw.col(index_date).is_null()).alias(treatment))
    undated = collect_pandas(pl_.join(first.filter(nw.col(index_date).is_null()), on=unit, how="inner")
                             .select(nw.len().alias("n")))["n"].iloc[0]
    if undated:
        warnings.warn(f"index_dates: {int(undated):,} people have a qualifying intervention with no "
                      f"'{date}' in `interventions`; they get no index date and treated = False. "
                      "Exclude them (they are not controls) or fix the dates", PcevalWarning, stacklevel=2)
    return back(out, people)


def _period_start(p: int, period: str) -> pd.Timestamp:
    if period == "month":
        return pd.Timestamp(year=p // 12, month=p % 12 + 1, day=1)
    return pd.Timestamp(year=p // 4, month=3 * (p % 4) + 1, day=1)


def candidate_index_periods(cohort: Any, unit: str = "person_id", index_date: str = "index_date",
                            treatment: str = "treated", period: str = "month",
                            start_date: str | None = None, end_date: str | None = None,
                            controls: str = "never_treated", progress: bool = True) -> Any:
    """Rolling entry: treated rows at their own index date plus candidate rows for controls.

    Each eligible control gets one row per period in which any treated person has an index date,
    with ``index_date`` = the first day of that period (a control's own index date). A control is
    eligible in a period if followed up on that day (``start_date <= day <= end_date`` when given)
    and, with ``controls="not_yet_treated"``, not yet treated (``"never_treated"``: never treated).
    Adds ``index_period`` (yyyymm or yyyyq) and ``candidate`` (True for control rows).

    ``treatment`` must be a flag (True/False or 1/0, no missing values; it comes back boolean) and
    every treated person needs an index date. Dates may be datetimes of any resolution, dates, or
    ISO date strings; candidate dates take the type of ``index_date``.

    ``progress``: a progress bar over the steps (checks, candidate rows, collecting the result),
    shown only when the call lasts more than a few seconds; ``progress=False`` switches it off.

    A pandas cohort with datetime64 dates takes a numpy path with the same result (one copy of the
    wide table instead of a cross join and filters).
    """
    with _progress("candidate_index_periods", ["checking the inputs", "candidate rows",
                                               "collecting the result"], progress) as step:
        step("checking the inputs")
        check_choice(period, "period", ("month", "quarter"))
        check_choice(controls, "controls", ("never_treated", "not_yet_treated"))
        lf = _candidate_input(cohort, unit, index_date, treatment, start_date, end_date)
        starts = _treated_period_starts(lf, index_date, treatment, period)
        step("candidate rows")
        native = lf.to_native()
        if (isinstance(cohort, pd.DataFrame) and _plain_dates(native, [index_date, start_date, end_date])
                and native[treatment].dtype == np.dtype(bool)):
            out = _candidates_pandas(native, starts, index_date=index_date, treatment=treatment,
                                     period=period, start_date=start_date, end_date=end_date, controls=controls)
            step("collecting the result")
            return out
        cand = _control_rows(lf, starts, index_date=index_date, treatment=treatment, period=period,
                             start_date=start_date, end_date=end_date, controls=controls)
        tr = lf.filter(nw.col(treatment)).with_columns(nw.lit(False).alias("candidate"))
        out = nw.concat([tr, cand.select(*columns(tr))], how="vertical")
        out = out.with_columns(_label(index_date, period).alias("index_period"))
        step("collecting the result")
        return back(out, cohort)


def _candidate_input(cohort: Any, unit: str, index_date: str, treatment: str, start_date: str | None,
                     end_date: str | None) -> nw.LazyFrame:
    """The cohort checked for :func:`candidate_index_periods`: columns present and not yet added,
    dates parsed, the treatment flag boolean, an index date for every treated person."""
    lf = lazy(cohort, "cohort")
    require_columns(columns(lf), "cohort", [unit, index_date, treatment]
                    + [c for c in (start_date, end_date) if c])
    for col in ("candidate", "index_period"):
        if col in columns(lf):
            raise InputError(f"`cohort` already has a column '{col}' (candidate_index_periods adds it; "
                             "called twice?); drop it first")
    lf = lazy_dates(lf, "cohort", [index_date, start_date, end_date])
    lf = lazy_flag(lf, "cohort", treatment)
    lazy_no_missing(lf.filter(nw.col(treatment)), "cohort", index_date, unit,
                    f" among treated people ({treatment} = True): a treated person needs an index date")
    return lf


def _treated_period_starts(lf: nw.LazyFrame, index_date: str, treatment: str, period: str) -> list[pd.Timestamp]:
    """The first day of every period in which a treated person has their index date, in order."""
    p, _, _ = period_parts(nw.col(index_date), period)
    periods = collect_pandas(lf.filter(nw.col(treatment)).select(p.alias("_p")).unique())["_p"]
    periods = sorted(int(v) for v in periods.dropna())
    if not periods:
        raise InputError("`cohort` has no treated people with an index date")
    return [_period_start(v, period) for v in periods]


def _plain_dates(df: Any, cols: Sequence[str | None]) -> bool:
    """Whether a pandas frame's date columns are all numpy datetime64 (the pandas fast paths' input)."""
    return isinstance(df, pd.DataFrame) and all(
        isinstance(df[c].dtype, np.dtype) and df[c].dtype.kind == "M" for c in cols if c)


def _month_number(values: np.ndarray) -> np.ndarray:
    """year * 12 + month - 1 of numpy datetime64 values (as ``period_parts(..., "month")``)."""
    m = values.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return m + 1970 * 12


def _period_number(values: np.ndarray, period: str) -> np.ndarray:
    m = _month_number(values)
    return m if period == "month" else (m // 12) * 4 + (m % 12) // 3


def _period_label(p: np.ndarray, period: str) -> np.ndarray:
    if period == "month":
        return (p // 12) * 100 + (p % 12) + 1
    return (p // 4) * 10 + (p % 4) + 1


def _candidates_pandas(df: pd.DataFrame, starts: list[pd.Timestamp], *, index_date: str, treatment: str,
                       period: str, start_date: str | None, end_date: str | None, controls: str) -> pd.DataFrame:
    """The rows of :func:`candidate_index_periods` for a pandas cohort with datetime64 dates, built
    with one take of the wide table (the narwhals path crosses every control with every period and
    filters, copying the wide table three times). Same rows, order and types as that path: treated
    rows first, then each control's periods in order; a control's eligible periods are a contiguous
    run of the period starts, found by binary search."""
    idx = df[index_date].to_numpy()
    grid = np.array([s.to_datetime64() for s in starts]).astype(idx.dtype)
    treat = df[treatment].to_numpy(dtype=bool)
    if controls == "never_treated":
        ctrl = ~treat
    else:
        ctrl = ~treat | (idx > grid[0])
    pos = np.flatnonzero(ctrl)
    n, k = len(pos), len(grid)
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, k, dtype=np.int64)
    if start_date:
        v = df[start_date].to_numpy()[pos]
        at = np.searchsorted(grid.astype(v.dtype), v, side="left")
        lo = np.where(np.isnat(v), 0, at)
    if end_date:
        v = df[end_date].to_numpy()[pos]
        at = np.searchsorted(grid.astype(v.dtype), v, side="right")
        hi = np.where(np.isnat(v), k, at)
    if controls == "not_yet_treated":
        gp = _period_number(grid, period)
        t = treat[pos]
        own = np.searchsorted(gp, _period_number(idx[pos[t]], period), side="left")
        hi[t] = np.minimum(hi[t], own)
    count = np.maximum(hi - lo, 0)
    rows = np.repeat(pos, count)
    first = np.repeat(lo - (np.cumsum(count) - count), count)
    which = first + np.arange(len(rows), dtype=np.int64)
    tpos = np.flatnonzero(treat)
    out = df.take(np.concatenate([tpos, rows])).reset_index(drop=True)
    out[index_date] = np.concatenate([idx[tpos], grid[which]])
    flag = np.zeros(len(out), dtype=bool)
    flag[:len(tpos)] = True
    out[treatment] = flag
    out["candidate"] = ~flag
    labels = _period_label(_period_number(grid, period), period)
    out["index_period"] = np.concatenate([_period_label(_period_number(idx[tpos], period), period),
                                          labels[which]]).astype(np.int64)
    return out


def _control_rows(lf: nw.LazyFrame, starts: list[pd.Timestamp], *, index_date: str, treatment: str,
                  period: str, start_date: str | None, end_date: str | None, controls: str) -> nw.LazyFrame:
    """One row per eligible control and period start (its candidate index date): controls crossed
    with the period starts, kept while followed up and (``not_yet_treated``) before their own
    treatment period; ``treatment`` False and ``candidate`` True."""
    dtype = lf.collect_schema()[index_date]
    one = lf.select(nw.lit(0).alias("_one")).head(1)
    grid = nw.concat([one.select(nw.lit(s.to_pydatetime()).cast(dtype).alias("_cand")) for s in starts],
                     how="vertical")
    if controls == "never_treated":
        ctrl = lf.filter(~nw.col(treatment))
    else:
        ctrl = lf.filter(~nw.col(treatment) | (nw.col(index_date) > nw.lit(starts[0].to_pydatetime())))
    cand = ctrl.join(grid, how="cross")
    if controls == "not_yet_treated":
        p, _, _ = period_parts(nw.col(index_date), period)
        cp, _, _ = period_parts(nw.col("_cand"), period)
        cand = cand.filter(~nw.col(treatment) | (p > cp))
    if start_date:
        cand = cand.filter(nw.col(start_date).is_null() | (nw.col(start_date) <= nw.col("_cand")))
    if end_date:
        cand = cand.filter(nw.col(end_date).is_null() | (nw.col(end_date) >= nw.col("_cand")))
    return cand.with_columns(nw.col("_cand").alias(index_date), nw.lit(False).alias(treatment),
                             nw.lit(True).alias("candidate")).drop("_cand")


_PROGRESS_DELAY = 2.0  # seconds before a data step's progress bar appears


@contextmanager
def _progress(desc: str, steps: Sequence[str], progress: bool) -> Iterator[Callable[[str], None]]:
    """A tqdm bar over the named steps of one call, shown only when the call lasts longer than
    ``_PROGRESS_DELAY`` seconds (``progress=False`` switches it off). Yields ``step(name)``, called
    as each step starts. On lazy engines the work runs when the result is collected, so most of the
    time falls in the last step (or after the call, for a lazy result)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(steps), desc=desc, unit="step", disable=not progress, delay=_PROGRESS_DELAY,
               leave=False)
    started = [False]

    def step(name: str) -> None:
        if started[0]:
            bar.update()
        started[0] = True
        bar.set_postfix_str(name)

    try:
        yield step
        bar.update()
    finally:
        bar.close()


def _label(col: str, period: str) -> nw.Expr:

    p, _, _ = period_parts(nw.col(col), period)
    return calendar_label(p, period).cast(nw.Int64)


_ROW = "_pceval_row"


def baseline_covariates(index: Any, events: Any, unit: str = "person_id", date: str = "date",
                        kind: str = "type", index_date: str = "index_date", lookback: int | Sequence[int] = 12,
                        kinds: Sequence[str] | None = None, date_of_birth: str | None = "date_of_birth",
                        emergency: str | None = "emergency_admission", progress: bool = True) -> Any:
    """Add baseline covariates as at each row's index date (rows may repeat a person: rolling entry).

    * ``age_at_index`` -- whole years from ``date_of_birth`` (if that column is present).
    * ``prior_<type>`` -- events of each type in the ``lookback`` calendar months before the index
      month (index month itself excluded, so nothing after the index can leak in). With several
      windows, ``lookback=[3, 12]``, one column per window: ``prior_<type>_3m``, ``prior_<type>_12m``
      (e.g. the 3-month "recent crisis" count that prompts a referral).
    * ``months_since_emergency`` -- calendar months from the last ``emergency`` event before the
      index month to the index month; missing if none, with ``any_prior_emergency`` False.

    ``kinds`` and ``emergency`` must be event types present in ``events`` (pass ``emergency=None``
    to skip it). The result has the rows, row order and (pandas) index of ``index`` and is in its
    engine; the work runs in the engine of ``events`` (a pandas ``index`` beside DuckDB or Spark
    events is copied into that engine). Columns it adds must not exist yet: calling it twice is an
    error, not a second set of ``_right`` columns.

    Memory: the counts come from cumulative monthly counts per person, looked up as of each row's
    index month (an as-of join), so rolling-entry candidates (person x candidate month) are never
    multiplied by each person's events; Spark uses a direct join instead. A pandas ``index`` with
    pandas ``events`` (integer ids, datetime64 dates, text event types) takes a numpy path with the
    same results: binary search on (person, month) keys, no merges, and the new columns added to the
    index table without copying it.

    ``progress``: a progress bar over the steps (checks, prior counts, collecting the result), shown
    only when the call lasts more than a few seconds; ``progress=False`` switches it off.
    """
    with _progress("baseline_covariates", ["checking the inputs", "counting prior events",
                                           "collecting the result"], progress) as step:
        step("checking the inputs")
        if isinstance(index, pd.DataFrame) and isinstance(events, pd.DataFrame) and _ROW not in index.columns:
            s = _baseline_spec(index, events, unit=unit, date=date, kind=kind, index_date=index_date,
                               lookback=lookback, kinds=kinds, date_of_birth=date_of_birth, emergency=emergency)
            if _pandas_ready(s, unit, date, kind, index_date, date_of_birth):
                step("counting prior events")
                return _baseline_pandas(s, index, unit=unit, date=date, kind=kind, index_date=index_date,
                                        date_of_birth=date_of_birth, emergency=emergency)
        native, keep_order = _numbered_rows(index)
        s = _baseline_spec(native, events, unit=unit, date=date, kind=kind, index_date=index_date,
                           lookback=lookback, kinds=kinds, date_of_birth=date_of_birth, emergency=emergency)
        step("counting prior events")
        p0, _, _ = period_parts(nw.col(index_date), "month")
        keys = s.ix.select(nw.col(unit), nw.col(index_date), p0.alias("_p0")).unique()
        prior = _prior_exploded if s.ev.implementation.is_spark_like() else _prior_cumulative
        summ = prior(keys, s.ev, unit, date, kind, index_date, s.names, s.windows, emergency)
        out = s.ix.join(summ, on=[unit, index_date], how="left").with_columns(
            *[nw.col(c).fill_null(0).cast(nw.Int64) for c in s.count_cols])
        if emergency is not None:
            out = out.with_columns((~nw.col("months_since_emergency").is_null()).alias("any_prior_emergency"))
        if s.with_dob:
            assert date_of_birth is not None  # with_dob means the column was given
            out = out.with_columns(_age(nw.col(date_of_birth), nw.col(index_date)).alias("age_at_index"))
        step("collecting the result")
        return _in_index_order(out, index, keep_order)


def _pandas_ready(s: _BaselineSpec, unit: str, date: str, kind: str, index_date: str,
                  date_of_birth: str | None) -> bool:
    """Whether :func:`_baseline_pandas` applies: both tables pandas, integer ids, datetime64 dates
    (no missing birth dates) and text event types; anything else takes the narwhals path."""
    ix, ev = s.ix.to_native(), s.ev.to_native()
    if not (isinstance(ix, pd.DataFrame) and isinstance(ev, pd.DataFrame)):
        return False
    if not all(isinstance(f[unit].dtype, np.dtype) and f[unit].dtype.kind in "iu" for f in (ix, ev)):
        return False
    if not (_plain_dates(ix, [index_date] + ([date_of_birth] if s.with_dob else [])) and _plain_dates(ev, [date])):
        return False
    if s.with_dob and ix[date_of_birth].isna().any():
        return False
    kd = ev[kind].dtype
    if isinstance(kd, pd.CategoricalDtype):
        return pd.api.types.is_string_dtype(kd.categories.dtype) or kd.categories.dtype == object
    return pd.api.types.is_string_dtype(kd)


def _baseline_pandas(s: _BaselineSpec, index: pd.DataFrame, *, unit: str, date: str, kind: str, index_date: str,
                     date_of_birth: str | None, emergency: str | None) -> pd.DataFrame:
    """:func:`baseline_covariates` for pandas, in numpy: the same cumulative monthly counts as
    :func:`_prior_cumulative`, looked up by binary search on (person, month) keys instead of as-of
    joins and merges, so the wide index table is never sorted, merged or copied (columns are
    added to it; pandas copy-on-write shares the rest). Same values, types and order as that path."""
    ix, ev = s.ix.to_native(), s.ev.to_native()
    p0 = _month_number(ix[index_date].to_numpy())
    evd = ev[date].to_numpy()
    ok = ~np.isnat(evd)
    codes, _ = pd.factorize(np.concatenate([ev[unit].to_numpy(), ix[unit].to_numpy()]))
    ev_code, pkey = codes[:len(ev)][ok], codes[len(ev):]
    del codes
    m = _month_number(evd[ok])
    del evd
    kinds = ev[kind].astype(object).to_numpy()[ok]
    # key = person * span + (month - base): one sorted int64 array; base and span leave room for
    # every looked-up month (p0 - 1 - window >= base + 1), so a lookup never reaches another person
    lo_m = min(int(m.min()) if len(m) else 0, int(p0.min()) if len(p0) else 0)
    hi_m = max(int(m.max()) if len(m) else 0, int(p0.max()) if len(p0) else 0)
    base = lo_m - max(s.windows) - 2
    span = hi_m - base + 2
    key = ev_code.astype(np.int64) * span + (m - base)
    del ev_code, m
    order = np.argsort(key, kind="stable")
    key, kinds = key[order], kinds[order]
    del order
    pkey = pkey.astype(np.int64) * span  # the person's first possible key
    at0 = pkey + (p0 - base)  # key of (person, index month)

    def upto(offset: int) -> np.ndarray:  # number of sorted events at or before month p0 - offset
        return np.searchsorted(key, at0 - offset, side="right")

    new: dict[str, pd.Series] = {}
    col = lambda v: pd.Series(v, index=ix.index, copy=False)  # noqa: E731 (adds without a copy)
    cum = {k: np.concatenate([[0], np.cumsum(kinds == str(k), dtype=np.int64)]) for k in s.names}
    end = upto(1)
    for w in s.windows:
        lo = upto(1 + w)
        for k, n in s.names.items():
            new[_prior_name(n, w, s.windows)] = col(cum[k][end] - cum[k][lo])
        del lo
    del cum, end
    if emergency is not None:
        em = key[kinds == str(emergency)]
        j = np.searchsorted(em, at0 - 1, side="right") - 1
        if len(em):
            jj = np.maximum(j, 0)
            has = (j >= 0) & (em[jj] >= pkey)
            since = np.where(has, (at0 - em[jj]).astype(np.float64), np.nan)
        else:
            has, since = np.zeros(len(p0), dtype=bool), np.full(len(p0), np.nan)
        new["months_since_emergency"] = col(since)
        new["any_prior_emergency"] = col(has)
    if s.with_dob:
        on, birth = ix[index_date].dt, ix[date_of_birth].dt
        before = (on.month < birth.month) | ((on.month == birth.month) & (on.day < birth.day))
        new["age_at_index"] = col((on.year - birth.year - before.astype(np.int64)).to_numpy(dtype=np.int64))
    out = ix.assign(**new)
    out.index = index.index
    return out


def _numbered_rows(index: Any) -> tuple[Any, bool]:
    """``(index with a row-number column, whether to restore its row order)``: an in-memory index
    (pandas, polars) is numbered so the result comes back in its own row order; a lazy one is as is."""
    if not is_eager(index):
        return index, False
    if _ROW in columns(lazy(index, "index")):
        raise InputError(f"`index` has a column named '{_ROW}', which pceval uses internally")
    if isinstance(index, pd.DataFrame):
        return index.reset_index(drop=True).assign(**{_ROW: range(len(index))}), True
    return nw.from_native(index).with_row_index(_ROW).to_native(), True


@dataclass(frozen=True)
class _BaselineSpec:
    """The checked inputs of :func:`baseline_covariates`: both tables in the engine of the events
    with dates parsed, the windows, the prior-count column per event type, the count columns it
    adds, and whether age at index can be computed."""

    ev: nw.LazyFrame
    ix: nw.LazyFrame
    windows: _Windows
    names: dict[str, str]  # event type -> prior_<type>
    count_cols: list[str]
    with_dob: bool


def _baseline_spec(native: Any, events: Any, *, unit: str, date: str, kind: str, index_date: str,
                   lookback: Any, kinds: Sequence[str] | None, date_of_birth: str | None,
                   emergency: str | None) -> _BaselineSpec:
    """Check every argument of :func:`baseline_covariates` once, at the boundary."""
    windows = _windows(lookback)
    ev, ix = align(events, "events", native, "index")
    icol = [c for c in columns(ix) if c != _ROW]
    require_columns(icol, "index", [unit, index_date])
    require_columns(columns(ev), "events", [unit, date, kind])
    lazy_same_id_type(ev, "events", ix, "index", unit)
    with_dob = bool(date_of_birth and date_of_birth in icol)
    ix = lazy_dates(ix, "index", [index_date] + ([date_of_birth] if with_dob else []))
    ev = lazy_dates(ev, "events", [date])
    lazy_no_missing(ix, "index", index_date, unit)
    present = [str(k) for k in _distinct(ev, kind)]
    if kinds is None:
        kinds = sorted(present)
    else:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        check_values_present(kinds, present, "kinds", "events", kind)
    if emergency is not None and str(emergency) not in present:
        check_values_present([emergency], present, "emergency", "events", kind)
    names = {k: f"prior_{_safe(k)}" for k in kinds}
    count_cols = [_prior_name(n, w, windows) for w in windows for n in names.values()]
    added = count_cols + (["months_since_emergency", "any_prior_emergency"] if emergency else []) \
        + (["age_at_index"] if with_dob else [])
    clash = [c for c in added if c in icol]
    if clash:
        raise InputError(f"`index` already has column(s) {clash} that baseline_covariates adds (called twice?); "
                         f"drop them first, e.g. index.drop(columns={clash})")
    return _BaselineSpec(ev, ix, windows, names, count_cols, with_dob)


def _age(birth: nw.Expr, on: nw.Expr) -> nw.Expr:
    """Age in whole years on the date ``on``: years between the dates, less one before the birthday."""
    before_birthday = (on.dt.month() < birth.dt.month()) | (
        (on.dt.month() == birth.dt.month()) & (on.dt.day() < birth.dt.day()))
    return (on.dt.year() - birth.dt.year() - nw.when(before_birthday).then(nw.lit(1)).otherwise(nw.lit(0))
            ).cast(nw.Int64)


def _in_index_order(out: nw.LazyFrame, index: Any, keep_order: bool) -> Any:
    """The result in ``index``'s engine; an in-memory index's row order (and pandas index) restored."""
    if isinstance(index, pd.DataFrame):
        res = collect_pandas(out).sort_values(_ROW)
        res.index = index.index[res[_ROW].to_numpy()]
        return res.drop(columns=_ROW)
    if keep_order:
        out = out.sort(_ROW).drop(_ROW)
    return back(out, index)


def _windows(lookback: Any) -> _Windows:
    vals = [lookback] if isinstance(lookback, (int, np.integer)) and not isinstance(lookback, bool) else lookback
    if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or not len(vals):
        raise InputError(f"`lookback` must be a whole number of months or a list of them, got {lookback!r}")
    out = _Windows(check_int(v, "lookback", low=1, high=600) for v in vals)
    if len(set(out)) < len(out):
        raise InputError(f"`lookback` repeats a window: {list(vals)}")
    out.named = vals is lookback  # a list given: name the columns by window
    return out


class _Windows(list):
    """Lookback windows; ``named`` when given as a list (columns then carry the window: ``_12m``)."""

    named: bool = False


def _prior_name(name: str, window: int, windows: list[int]) -> str:
    return f"{name}_{window}m" if getattr(windows, "named", True) else name


def _prior_cumulative(keys: nw.LazyFrame, ev: nw.LazyFrame, unit: str, date: str, kind: str, index_date: str,
                      names: dict[str, str], windows: list[int], emergency: str | None) -> nw.LazyFrame:
    """Prior counts as differences of cumulative monthly counts, found by as-of joins.

    For a row with index month p0 and window L: count = C(p0 - 1) - C(p0 - 1 - L), where C(m) is the
    person's number of events up to and including month m (the last month with events at or before m).
    Rows stay person x index date: nothing is multiplied by the number of events.
    """
    pev, _, _ = period_parts(nw.col(date), "month")
    wanted = list(names) + ([emergency] if emergency is not None and emergency not in names else [])
    evm = ev.filter(~nw.col(date).is_null() & nw.col(kind).cast(nw.String).is_in([str(k) for k in wanted]))
    evm = evm.select(nw.col(unit), pev.alias("_m"), nw.col(kind))
    ind = [nw.when(nw.col(kind) == k).then(nw.lit(1)).otherwise(nw.lit(0)).alias(n) for k, n in names.items()]
    monthly = evm.with_columns(*ind).group_by(unit, "_m").agg(*[nw.col(n).sum() for n in names.values()])
    cum = monthly.with_columns(*[nw.col(n).cum_sum().over(unit, order_by="_m").alias(f"_c_{n}")
                                 for n in names.values()]).select(unit, "_m", *[f"_c_{n}" for n in names.values()])

    def as_of(offset: int, tag: str) -> nw.LazyFrame:
        k = keys.with_columns((nw.col("_p0") - offset).alias("_at"))
        j = join_asof(k, cum, "_at", "_m", unit)
        return j.select(unit, index_date, *[nw.col(f"_c_{n}").fill_null(0).alias(f"_{tag}_{n}")
                                            for n in names.values()])

    summ = as_of(1, "end")
    for w in windows:
        summ = summ.join(as_of(1 + w, f"w{w}"), on=[unit, index_date], how="left")
    summ = summ.with_columns(*[(nw.col(f"_end_{n}") - nw.col(f"_w{w}_{n}")).alias(_prior_name(n, w, windows))
                               for w in windows for n in names.values()])
    cols = [_prior_name(n, w, windows) for w in windows for n in names.values()]
    summ = summ.select(unit, index_date, *cols)
    if emergency is not None:
        em = ev.filter(~nw.col(date).is_null() & (nw.col(kind) == emergency)).select(
            nw.col(unit), pev.alias("_m")).unique()
        k = keys.with_columns((nw.col("_p0") - 1).alias("_at"))
        last = join_asof(k, em.with_columns(nw.col("_m").alias("_last")), "_at", "_m", unit)
        last = last.select(unit, index_date, (nw.col("_p0") - nw.col("_last")).cast(nw.Float64)
                           .alias("months_since_emergency"))
        summ = summ.join(last, on=[unit, index_date], how="left")
    return summ


def _prior_exploded(keys: nw.LazyFrame, ev: nw.LazyFrame, unit: str, date: str, kind: str, index_date: str,
                    names: dict[str, str], windows: list[int], emergency: str | None) -> nw.LazyFrame:
    """Prior counts by joining every event to every index row of its person (engines without as-of joins)."""
    pev, _, _ = period_parts(nw.col(date), "month")
    j = ev.filter(~nw.col(date).is_null()).select(unit, date, kind).join(keys, on=unit, how="inner")
    j = j.with_columns((nw.col("_p0") - pev).alias("_back"))
    prior = j.filter(nw.col("_back") >= 1)
    ind = [nw.when((nw.col(kind) == k) & (nw.col("_back") <= w)).then(nw.lit(1)).otherwise(nw.lit(0))
           .alias(_prior_name(n, w, windows)) for w in windows for k, n in names.items()]
    aggs = [nw.col(_prior_name(n, w, windows)).sum() for w in windows for n in names.values()]
    if emergency is not None:
        ind.append(nw.when(nw.col(kind) == emergency).then(nw.col("_back").cast(nw.Float64))
                   .otherwise(nw.lit(None, dtype=nw.Float64)).alias("months_since_emergency"))
        aggs.append(nw.col("months_since_emergency").min())
    return prior.with_columns(*ind).group_by(unit, index_date).agg(*aggs)


__all__ = ["Cohort", "index_dates", "candidate_index_periods", "baseline_covariates"]
