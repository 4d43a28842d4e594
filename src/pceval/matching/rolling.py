"""Rolling-entry matching: treated people matched to controls eligible at their index period.

Input: one row per treated person at their own index period, plus one row per (control person,
period) in which that control was eligible, with covariates measured *as at that period* (for
example the output of :func:`pceval.candidate_index_periods` followed by
:func:`pceval.baseline_covariates`). A ``period`` column says which period a row belongs to and a
``unit`` column identifies the person.

Periods are matched in chronological order. Within a period, treated people are matched (by
the usual nearest-neighbour rules, see :mod:`pceval.matching.nearest`) only to control rows of
the same period, so every control gets their own index date (the period they were matched in).
Without replacement a control *person* is used at most once across all periods: once matched,
all their other candidate rows leave the pool. The propensity score is fitted once on all rows
(treated rows and every candidate row), as in Witman et al.

Reference: Witman A, Beadles C, Liu Y, et al. (2019). Comparison group selection in the presence
of rolling entry for health services research: rolling entry matching. *Health Services
Research* 54(2):492-501.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from pceval.matching.nearest import (
    match_distance_no_replace,
    match_distance_replace,
    match_mahalanobis,
)


def rolling_match(*, period: np.ndarray, unit: np.ndarray, focal: np.ndarray,
                  eligible: np.ndarray, order_fn: Callable[[np.ndarray], np.ndarray],
                  ratio: int, replace: bool, caliper: float | None,
                  strata: np.ndarray | None, distance: np.ndarray | None,
                  Z: np.ndarray | None, progress: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Match period by period; returns (focal_rows, match_matrix) over all periods.

    ``order_fn(rows)`` gives the processing order of the focal ``rows`` of one period.
    """
    focal_rows = np.flatnonzero(focal & eligible)
    mm = np.full((len(focal_rows), ratio), -1, np.int64)
    where = {r: i for i, r in enumerate(focal_rows.tolist())}
    used = np.zeros(len(period), dtype=bool)  # rows of control persons already used
    periods = np.unique(period[focal_rows])
    from tqdm.auto import tqdm

    for p in tqdm(periods, disable=not progress, desc="rolling entry: periods", unit="period"):
        f = focal_rows[period[focal_rows] == p]
        c_mask = (~focal) & eligible & (period == p) & ~used
        c = np.flatnonzero(c_mask)
        if len(c) == 0:
            continue
        order = order_fn(f)
        if Z is not None:
            sub = match_mahalanobis(Z, f, c, order, ratio=ratio, replace=replace,
                                    distance=distance, caliper=caliper, strata=strata,
                                    unit=None if replace else unit)
        elif replace:
            sub = match_distance_replace(cast(np.ndarray, distance), f, c, ratio=ratio, caliper=caliper,
                                         strata=strata)
        else:
            sub = match_distance_no_replace(cast(np.ndarray, distance), f, c, order, ratio=ratio,
                                            caliper=caliper, strata=strata, unit=unit)
        for i, r in enumerate(f.tolist()):
            mm[where[r]] = sub[i]
        if not replace:
            got = sub[sub >= 0]
            if len(got):
                used |= np.isin(unit, unit[got])
    return focal_rows, mm
