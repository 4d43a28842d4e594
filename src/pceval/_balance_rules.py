"""The rules that turn a covariate's group moments into its balance statistics, shared by the
in-memory balance table (:mod:`pceval.covariate_balance`) and the one computed inside a data
engine (:mod:`pceval._in_engine_balance`), so the two cannot drift apart.

They follow MatchIt's ``bal.tab``/``summary.matchit`` conventions (Greifer 2024, MatchIt 4.7
``bal1var``; Austin 2009, Stat Med 28:3083):

* the standardised mean difference ``SMD = (m_1 - m_0) / s``, with ``s`` from the full
  (unmatched) sample: ``sqrt(v_1)`` for the ATT, ``sqrt(v_0)`` for the ATC,
  ``sqrt((v_1 + v_0) / 2)`` for the ATE; if that ``s`` is below ``sqrt(eps)``, the pooled
  ``sqrt(((n_1 - 1) v_1 + (n_0 - 1) v_0) / (n_1 + n_0 - 2))`` (for a 0/1 covariate
  ``sqrt((v_1 + v_0) / 2)``); still below it, no SMD;
* a mean difference of at most ``sqrt(eps)`` is reported as the raw difference (an SMD of
  "zero" is not divided by a tiny scale), and with fewer than two weighted units in both groups
  there is no SMD, variance ratio or eCDF statistic;
* variance ratio ``v_1 / v_0`` (``inf`` when only ``v_0`` is 0); for a 0/1 covariate the eCDF
  statistics are ``|m_1 - m_0|`` and no variance ratio is given; ``ks`` is the eCDF maximum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def smd_scale(v1: float, v0: float, n1: float, n0: float, binary: bool, estimand: str,
              eps: float) -> float:
    """The SMD's denominator ``s`` from the full sample's group variances and sizes (see the
    module docstring); NaN when no usable scale exists."""
    if estimand == "ATT":
        sd = np.sqrt(v1)
    elif estimand == "ATC":
        sd = np.sqrt(v0)
    else:
        sd = np.sqrt((v1 + v0) / 2)
    if not np.isfinite(sd) or sd < eps:  # fall back to the pooled SD (as MatchIt)
        sd = np.sqrt(((n1 - 1) * v1 + (n0 - 1) * v0) / max(n1 + n0 - 2, 1)) if not binary \
            else np.sqrt((v1 + v0) / 2)
    return float(sd) if np.isfinite(sd) and sd >= eps else float("nan")


def covariate_row(m1: float, m0: float, *, too_small: bool, std: float, binary: bool,
                  eps: float, variances: Callable[[], tuple[float, float]],
                  ecdf: Callable[[], tuple[float, float]]) -> dict[str, float]:
    """One covariate's row of the balance table from its weighted group means ``m1``, ``m0``.
    ``variances`` and ``ecdf`` are called only when the statistics need them (the eCDF is a
    query of its own in an engine): ``(v_1, v_0)`` and ``(mean, max)`` of ``|F_1 - F_0|``.
    ``std_pair_dist`` is left NaN for the caller that has matched pairs."""
    mdiff = m1 - m0
    out = {"mean_treated": m1, "mean_control": m0, "smd": float("nan"),
           "var_ratio": float("nan"), "ecdf_mean": float("nan"), "ecdf_max": float("nan"),
           "std_pair_dist": float("nan")}
    big = abs(mdiff) > eps
    if big and not too_small and np.isfinite(std) and std > 0:
        out["smd"] = mdiff / std
    elif not big:
        out["smd"] = mdiff
    if binary:
        out["ecdf_mean"] = out["ecdf_max"] = abs(mdiff)
    elif not too_small:
        v1, v0 = variances()
        out["var_ratio"] = v1 / v0 if v0 > 0 else float("inf") if v1 > 0 else float("nan")
        out["ecdf_mean"], out["ecdf_max"] = ecdf()
    out["ks"] = out["ecdf_max"]
    return out
