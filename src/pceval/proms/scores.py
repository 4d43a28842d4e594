"""From a long table of measurements to one row per person: baseline and follow-up scores.

:func:`wide_scores` pairs each row of an index table (a person and their index date: the
intervention date for the treated, the comparison person's own index date) with the measurements
taken in a window around the index date (the baseline) and in a window after it (the follow-up).
Each window takes the measurement nearest its ``target`` day, or the mean of the window's
measurements (``how="mean"``, e.g. routine HbA1c tests). A person with none in a window gets a missing
score, so that non-response is counted later, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_frame, check_values_present
from pceval.errors import InputError

# day windows relative to the index date: (first, last, target)
BASELINE = (-30, 30, 0)
FOLLOW_UP = (150, 215, 182)


def wide_scores(measures: pd.DataFrame, index: pd.DataFrame, measure_names: Sequence[str], *,
                unit: str = "person_id", index_date: str = "index_date", date: str = "date",
                measure: str = "measure", value: str = "value",
                baseline: tuple[int, int, int] = BASELINE, follow_up: tuple[int, int, int] = FOLLOW_UP,
                how: Literal["nearest", "mean"] | Mapping[str, str] = "nearest") -> pd.DataFrame:
    """``index`` with ``<measure>_baseline`` and ``<measure>_follow_up`` columns for each measure.

    Parameters
    ----------
    measures : long table (``unit``, ``date``, ``measure``, ``value``), e.g. the synthetic ``measures``.
    index : one row per person or episode with ``unit`` and ``index_date`` (rows may repeat a person
        with different index dates: rolling entry).
    measure_names : measures to pick (each must occur in ``measures``).
    baseline, follow_up : ``(first day, last day, target day)`` relative to the index date.
    how : ``"nearest"`` (the measurement nearest the target day; ties: the earlier) or ``"mean"``
        (the mean of the window), for all measures or per measure (``{"hba1c": "mean"}``).

    Example
    -------
    >>> wide = wide_scores(data.measures, index, ["pam_score"])        # doctest: +SKIP
    """
    names = list(measure_names)
    m = check_frame(measures, "measures", required=[unit, measure, value], dates=[date])
    ix = check_frame(index, "index", required=[unit], dates=[index_date])
    check_values_present(names, m[measure].unique(), "measure_names", "measures", measure)
    for w, nm in ((baseline, "baseline"), (follow_up, "follow_up")):
        if len(w) != 3 or not (w[0] <= w[2] <= w[1]):
            raise InputError(f"`{nm}` must be (first day, last day, target day) with first <= target <= last, got {w!r}")
    if ix[unit].dtype.kind != m[unit].dtype.kind:
        raise InputError(f"`{unit}` is {ix[unit].dtype} in `index` but {m[unit].dtype} in `measures`")
    added = [f"{n}_{tp}" for n in names for tp in ("baseline", "follow_up")]
    clash = [c for c in added if c in ix.columns]
    if clash:
        raise InputError(f"`index` already has column(s) {clash}; drop or rename them")
    hows = {n: (how if isinstance(how, str) else how.get(n, "nearest")) for n in names}
    for h in hows.values():
        check_choice(h, "how", ("nearest", "mean"))
    out = ix.copy()
    keys = out[[unit, index_date]].reset_index(drop=True).assign(_row=np.arange(len(out)))
    mm = m.loc[m[measure].isin(names), [unit, date, measure, value]]
    j = keys.merge(mm, on=unit, how="inner")
    j["_day"] = (j[date] - j[index_date]).dt.days
    for tp, (lo, hi, target) in (("baseline", baseline), ("follow_up", follow_up)):
        w = j[(j["_day"] >= lo) & (j["_day"] <= hi)]
        for n in names:
            wn = w[w[measure] == n]
            if hows[n] == "mean":
                val = wn.groupby("_row")[value].mean()
            else:
                wn = wn.assign(_dist=(wn["_day"] - target).abs()).sort_values(["_row", "_dist", "_day"],
                                                                             kind="stable")
                val = wn.drop_duplicates("_row").set_index("_row")[value]
            col = np.full(len(out), np.nan)
            col[val.index.to_numpy()] = val.to_numpy(dtype=float)
            out[f"{n}_{tp}"] = col
    return out
