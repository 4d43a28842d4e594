"""Exact matching and the subclass-based weights shared by exact, CEM and subclassification.

Exact matching (``method="exact"``) puts people with identical values of every covariate in one
stratum; strata with both treated and untreated people are kept, the rest are unmatched.

Weights (MatchIt's rules for subclasses; ``n1_s``, ``n0_s`` = treated / controls in stratum s):

* ATT: treated ``1``; controls ``n1_s / n0_s``, then rescaled so that the controls' weights sum to
  the number of matched controls (non-zero weights average 1).
* ATC: the mirror image (controls 1; treated ``n0_s / n1_s``, rescaled the same way).
* ATE: treated ``n_s / n1_s``, controls ``n_s / n0_s`` (``n_s = n1_s + n0_s``).

Strata are numbered 1, 2, ... in the order in which their first treated member appears in the
data (as MatchIt numbers them).

Reference: Iacus SM, King G, Porro G (2012). Causal inference without balance checking:
coarsened exact matching. *Political Analysis* 20(1):1-24.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def strata_codes(frame: pd.DataFrame) -> np.ndarray:
    """One integer code per distinct row of ``frame`` (missing values form their own value)."""
    if frame.shape[1] == 0:
        return np.zeros(len(frame), np.int64)
    return frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy(np.int64)


def subclass_from_strata(codes: np.ndarray, treat: np.ndarray, eligible: np.ndarray
                         ) -> np.ndarray:
    """Matched-set ids (1, 2, ...; -1 = unmatched) for strata holding both groups.

    Numbered by first appearance of a treated member in row order; ``eligible`` (not
    discarded) rows only.
    """
    t1 = eligible & (treat == 1)
    t0 = eligible & (treat == 0)
    ncode = int(codes.max()) + 1 if len(codes) else 0
    has1 = np.zeros(ncode, bool)
    has0 = np.zeros(ncode, bool)
    has1[codes[t1]] = True
    has0[codes[t0]] = True
    both = has1 & has0
    # order of first appearance among treated rows
    first_rows = np.flatnonzero(t1)
    c1 = codes[first_rows]
    _, first_idx = np.unique(c1, return_index=True)
    appear = c1[np.sort(first_idx)]
    appear = appear[both[appear]]
    label = np.full(ncode, -1, np.int64)
    label[appear] = np.arange(1, len(appear) + 1)
    out = np.where(eligible, label[codes], -1)
    return out


def weights_from_subclass(subclass: np.ndarray, treat: np.ndarray, estimand: str) -> np.ndarray:
    """Stratum weights for ATT / ATC / ATE (see module docstring)."""
    n = len(treat)
    w = np.zeros(n)
    ok = subclass >= 0
    if not ok.any():
        return w
    k = int(subclass.max()) + 1
    n1 = np.bincount(subclass[ok & (treat == 1)], minlength=k).astype(float)
    n0 = np.bincount(subclass[ok & (treat == 0)], minlength=k).astype(float)
    i1 = ok & (treat == 1)
    i0 = ok & (treat == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimand == "ATT":
            w[i1] = 1.0
            w[i0] = (n1 / n0)[subclass[i0]]
            s = w[i0].sum()
            if s > 0:
                w[i0] *= i0.sum() / s
        elif estimand == "ATC":
            w[i0] = 1.0
            w[i1] = (n0 / n1)[subclass[i1]]
            s = w[i1].sum()
            if s > 0:
                w[i1] *= i1.sum() / s
        else:
            tot = n1 + n0
            w[i1] = (tot / n1)[subclass[i1]]
            w[i0] = (tot / n0)[subclass[i0]]
    w[~np.isfinite(w)] = 0.0
    return w
