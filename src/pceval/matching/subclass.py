"""Subclassification on the propensity score.

The focal group's scores (the treated for the ATT, the controls for the ATC, everyone for the
ATE) are cut at their quantiles into ``k`` subclasses of (nearly) equal focal size: cut points
``q_0 < ... < q_k`` are R's type-7 quantiles at ``0, 1/k, ..., 1``, and a person with score ``d``
goes to subclass ``j`` with ``q_{j-1} <= d < q_j``, the first and last subclasses open-ended (R's
``findInterval(..., all.inside = TRUE)``). A subclass left without treated or without control
people is merged into its neighbour (with a warning naming it). Weights are the stratum weights
of :mod:`pceval.matching.exact`.

Reference: Rosenbaum PR, Rubin DB (1984). Reducing bias in observational studies using
subclassification on the propensity score. *JASA* 79:516-524.
"""

from __future__ import annotations

import warnings

import numpy as np

from pceval.errors import PcevalWarning


def subclassify(distance: np.ndarray, treat: np.ndarray, eligible: np.ndarray, k: int,
                estimand: str, min_n: int = 1) -> np.ndarray:
    """Subclass ids 1..k (-1 for discarded rows)."""
    d = distance[eligible]
    t = treat[eligible]
    focal = {"ATT": d[t == 1], "ATC": d[t == 0], "ATE": d}[estimand]
    q = np.quantile(focal, np.linspace(0, 1, k + 1), method="linear")
    cls = np.searchsorted(q, d, side="right")
    cls = np.clip(cls, 1, k)
    # merge subclasses lacking a group (or with fewer than min_n of either)
    merged = []
    while True:
        labs = np.unique(cls)
        n1 = np.array([(t[cls == c] == 1).sum() for c in labs])
        n0 = np.array([(t[cls == c] == 0).sum() for c in labs])
        bad = np.flatnonzero((n1 < min_n) | (n0 < min_n))
        if len(bad) == 0 or len(labs) == 1:
            break
        b = bad[0]
        target = labs[b + 1] if b + 1 < len(labs) else labs[b - 1]
        merged.append(int(labs[b]))
        cls[cls == labs[b]] = target
    if merged:
        warnings.warn(f"subclass(es) {merged} lacked treated or control people (fewer than "
                      f"{min_n}) and were merged into a neighbour", PcevalWarning, stacklevel=3)
    # renumber 1..m in score order
    _, cls = np.unique(cls, return_inverse=True)
    out = np.full(len(distance), -1, np.int64)
    out[eligible] = cls + 1
    return out
