"""Comparison people who received another intervention in the outcome window.

A comparison group for a personalised-care intervention must not contain people who received
*another* personalised-care intervention between their baseline and follow-up measurement: their
follow-up carries that intervention's effect, and the comparison estimates "this intervention
against others", not against usual care. (Comparing people with a personal health budget with people
measured when they started health coaching or care planning turned a true PAM effect of 0 into an
"effect" of about -1.8 points, because coaching and care planning raise PAM.)

:func:`check_contamination` counts such people and warns with a :class:`ContaminationWarning`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from pceval._checks import check_frame, require_columns
from pceval.errors import InputError, PcevalWarning


class ContaminationWarning(PcevalWarning):
    """Comparison people received another personalised-care intervention in the outcome window."""


def check_contamination(data: pd.DataFrame, treatment: str, interventions: pd.DataFrame, *,
                        unit: str = "person_id", index_date: str = "index_date", date: str = "date",
                        kind: str | None = "intervention", window: tuple[int, int] = (-30, 215),
                        warn: bool = True) -> pd.DataFrame:
    """Count comparison rows (``treatment == 0``) with an intervention dated in the outcome window.

    The window is ``index_date + window[0]`` to ``index_date + window[1]`` days (default: a month
    before the baseline measurement to the end of a 6-month follow-up). Returns one row per kind of
    intervention (``kind`` column of ``interventions``) with ``n_people``; a
    :class:`ContaminationWarning` names the total when it is not zero.

    Example
    -------
    >>> check_contamination(scores, "treated", data.interventions)     # doctest: +SKIP
    """
    require_columns(data.columns, "data", [unit, treatment, index_date])
    iv = check_frame(interventions, "interventions", required=[unit, *([kind] if kind else [])], dates=[date])
    if not (isinstance(window, tuple | list) and len(window) == 2 and window[0] <= window[1]):
        raise InputError(f"`window` must be (first day, last day) relative to the index date, got {window!r}")
    d = check_frame(data[[unit, treatment, index_date]], "data", dates=[index_date])
    comp = d[d[treatment].astype(int) == 0]
    if comp[unit].dtype.kind != iv[unit].dtype.kind:
        raise InputError(f"`{unit}` is {comp[unit].dtype} in `data` but {iv[unit].dtype} in `interventions`: "
                         "convert one so that the ids match")
    cols = [unit, date] + ([kind] if kind else [])
    m = comp[[unit, index_date]].merge(iv[cols], on=unit, how="inner")
    days = (m[date] - m[index_date]).dt.days.to_numpy()
    hit = m[(days >= window[0]) & (days <= window[1])]
    key = kind if kind else "_all"
    if not kind:
        hit = hit.assign(_all="any intervention")
    out = (hit.drop_duplicates([unit, index_date, key]).groupby(key).size().rename("n_people").reset_index()
           .rename(columns={key: "intervention"}))
    n = int(hit.drop_duplicates([unit, index_date])[unit].size)
    if warn and n:
        what = ", ".join(f"{r.intervention} {r.n_people:,}" for r in out.itertuples())
        warnings.warn(f"{n:,} of {len(comp):,} comparison people received another personalised-care intervention "
                      f"between {window[0]} and {window[1]} days of their index date ({what}); their follow-up "
                      "scores carry its effect. Exclude them, or choose comparison people from those not "
                      "treated in the window", ContaminationWarning, stacklevel=3)
    if not len(out):
        out = pd.DataFrame({"intervention": pd.Series(dtype=object), "n_people": pd.Series(dtype=np.int64)})
    out.attrs["n_total"] = n
    return out
