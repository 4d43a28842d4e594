"""Goodman-Bacon decomposition of the static TWFE DiD estimate.

On a balanced panel with an absorbing binary treatment and no covariates, the TWFE coefficient
is a weighted average of every 2x2 DiD between timing groups (Goodman-Bacon 2021, theorem 1)::

    beta_TWFE = sum_k s_kU b_kU + sum_{k<l} (s_kl^k b_kl^k + s_kl^l b_kl^l),   sum of s = 1

* ``b_kU``: group ``k`` against never-treated units, whole panel;
* ``b_kl^k`` ("earlier vs later treated"): earlier group ``k`` against later group ``l`` before
  ``l`` starts (a clean comparison);
* ``b_kl^l`` ("later vs earlier treated"): later group ``l`` against the already-treated
  ``k`` after ``k`` started (the "forbidden" comparison that biases TWFE when effects change
  over time).

With ``n_k`` the share of units in group ``k`` and ``D_k`` the share of periods it is treated,
the weights are proportional to ``(n_k+n_U)^2 n_kU(1-n_kU) D_k(1-D_k)``,
``((n_k+n_l)(1-D_l))^2 n_kl(1-n_kl) (D_k-D_l)/(1-D_l) (1-D_k)/(1-D_l)`` and
``((n_k+n_l) D_k)^2 n_kl(1-n_kl) D_l/D_k (D_k-D_l)/D_k`` (``n_ab = n_a/(n_a+n_b)``), divided
by the variance of the two-way demeaned treatment. The tests check that the weights sum to 1
and the weighted sum reproduces :func:`pceval.did.twfe` exactly.

Reference: Goodman-Bacon, A. (2021) Difference-in-differences with variation in treatment
timing. J. Econometrics 225(2):254-277.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._results import ResultProtocol, protocol_frame
from pceval.did._prepare import prepare_panel
from pceval.errors import InputError

if TYPE_CHECKING:
    from plotnine import ggplot


@dataclass(frozen=True)
class BaconResult(ResultProtocol):
    """``table``: one row per 2x2 comparison (type, treated, control, estimate, weight);
    ``by_type``: weights and weighted averages by comparison type; ``twfe``: the total."""

    table: pd.DataFrame
    by_type: pd.DataFrame
    twfe: float

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns, then ``type, treated, control, weight, contribution``. Row 0 is the
        TWFE estimate being decomposed (term ``TWFE``); then one row per 2x2 comparison. The
        decomposition is descriptive: it has no standard errors, so intervals are missing."""
        total = pd.DataFrame([{"term": "TWFE", "estimate": self.twfe, "weight": 1.0,
                               "contribution": self.twfe}])
        rows = self.table.copy()
        rows.insert(0, "term", [f"{a}: {b} vs {c}" for a, b, c in
                                zip(rows["type"], rows["treated"], rows["control"], strict=True)])
        out = pd.concat([total, rows], ignore_index=True)
        return protocol_frame(out, confidence=0.95,
                              design={"measure": "difference in mean outcome",
                                      "method": "Goodman-Bacon decomposition"})

    def summary(self) -> str:
        """Readable text: the TWFE estimate and the weight and estimate of each type of 2x2 comparison."""
        return (f"Goodman-Bacon decomposition of the TWFE estimate {self.twfe:.4f}\n"
                + self.by_type.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    def plot(self) -> ggplot:
        """Each 2x2 comparison's estimate against its weight, coloured by type (plotnine)."""
        from pceval.did.plots import plot_bacon

        return plot_bacon(self)


def bacon_decomposition(data: Any, outcome: str, unit: str, time: str, group: str) -> BaconResult:
    """Decompose the TWFE DiD of ``outcome`` on ``time >= group`` (balanced panel only).

    ``group`` is the first treated period (0 = never treated); units treated from the first
    period are an "always treated" group, used only as controls.
    """
    df = data if isinstance(data, pd.DataFrame) else None
    panel = prepare_panel(data if df is None else df, outcome=outcome, unit=unit, time=time,
                          group=group, unbalanced="error", anticipation=-1)
    y, times, G = panel.y, panel.times.astype(float), panel.group
    T = len(times)
    groups = np.unique(G)
    share_periods = {g: (0.0 if g == 0 else float(np.mean(times >= g))) for g in groups}
    n_share = {g: float(np.mean(G == g)) for g in groups}
    ybar = {g: y[G == g].mean(axis=0) for g in groups}  # mean outcome by period, per group

    def dd(a: Any, b: Any, pre: Any, post: Any) -> float:
        return float((ybar[a][post].mean() - ybar[a][pre].mean())
                     - (ybar[b][post].mean() - ybar[b][pre].mean()))

    # variance of the two-way demeaned treatment indicator
    D = (G[:, None] > 0) & (times[None, :] >= G[:, None])
    Dt = D - D.mean(axis=1, keepdims=True) - D.mean(axis=0, keepdims=True) + D.mean()
    vd = float(np.mean(Dt**2))
    if vd <= 0:
        raise InputError("the treatment does not vary across units and periods")
    rows = []
    treated = [g for g in groups if g != 0]
    if 0 in groups:
        for k in treated:
            Dk = share_periods[k]
            if Dk == 1.0:
                continue
            nk, nu = n_share[k], n_share[0]
            nku = nk / (nk + nu)
            w = (nk + nu) ** 2 * nku * (1 - nku) * Dk * (1 - Dk) / vd
            post = times >= k
            rows.append(dict(type="Treated vs never treated", treated=k, control=0,
                             estimate=dd(k, 0, ~post, post), weight=w))
    for i, k in enumerate(treated):
        for l_ in treated[i + 1:]:
            Dk, Dl = share_periods[k], share_periods[l_]
            nk, nl = n_share[k], n_share[l_]
            nkl = nk / (nk + nl)
            if Dk < 1.0:  # earlier k vs later l, before l starts
                win = times < l_
                post, pre = win & (times >= k), win & (times < k)
                w = ((nk + nl) * (1 - Dl)) ** 2 * nkl * (1 - nkl) * (Dk - Dl) / (1 - Dl) \
                    * (1 - Dk) / (1 - Dl) / vd
                rows.append(dict(type="Earlier vs later treated", treated=k, control=l_,
                                 estimate=dd(k, l_, pre, post), weight=w))
            # later l vs earlier k, after k started
            win = times >= k
            post, pre = win & (times >= l_), win & (times < l_)
            w = ((nk + nl) * Dk) ** 2 * nkl * (1 - nkl) * (Dl / Dk) * (Dk - Dl) / Dk / vd
            rows.append(dict(type="Later vs earlier treated", treated=l_, control=k,
                             estimate=dd(l_, k, pre, post), weight=w))
    table = pd.DataFrame(rows)
    if table.empty:
        raise InputError("no 2x2 comparisons: need at least two timing groups or never-treated units")
    table["contribution"] = table["estimate"] * table["weight"]
    by_type = table.groupby("type", sort=False).agg(weight=("weight", "sum"),
                                                    contribution=("contribution", "sum"),
                                                    comparisons=("weight", "size")).reset_index()
    by_type["estimate"] = by_type["contribution"] / by_type["weight"]
    del T
    return BaconResult(table=table, by_type=by_type, twfe=float(table["contribution"].sum()))
