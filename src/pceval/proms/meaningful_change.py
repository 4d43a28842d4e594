"""Responders: the share of people with a meaningful change, and PAM level transitions.

A responder's score changed by at least the minimal important difference ``threshold`` in the
good direction: ``y_follow_up - y_baseline >= threshold`` (``direction="increase"``) or
``<= -threshold`` (``"decrease"``, e.g. ONS4 anxiety). For the Patient Activation Measure the
default threshold is **3 points**: a gain of 3 or more PAM points is the change associated with
better outcomes and lower costs and is used as the meaningful change in NHS England's PAM guidance
and by Insignia Health (Hibbard JH, Greene J, Tusler M (2009) *Am J Manag Care* 15:353-360;
Hibbard JH et al. (2015) *Health Aff* 34:1443; NHS England (2018) *Patient Activation Measure
(PAM) guidance*). Other scores need a user-given threshold.

The shares are (weighted) means of the responder indicator in each group; their difference and
its standard error come from the linear probability model ``responder = a + d treatment``:
HC0 without clustering, which is exactly the textbook ``sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)``
without weights, and CR1 by the matched set with ``cluster``; normal intervals. The ratio of the
shares is reported on the log scale with the delta-method SE of the same model
(``var(log p1/p0) = v1 / p1^2 + v0 / p0^2``).

Level transitions (``levels``: the baseline and follow-up level columns, e.g. PAM levels 1-4) are
counts of people by baseline level x follow-up level in each group, protected by
:func:`pceval.disclosure.protect` before they can reach a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_number, require_columns
from pceval._models import sandwich
from pceval._results import ResultProtocol, difference_row, protocol_frame, ratio_row
from pceval.disclosure import DEFAULT_PRESET, protect
from pceval.errors import InputError
from pceval.proms.change import _numeric, _resolve_data, _treatment_flag, _weights

if TYPE_CHECKING:
    from plotnine import ggplot

PAM_MEANINGFUL_CHANGE = 3.0


@dataclass(frozen=True)
class RespondersResult(ResultProtocol):
    """Result of :func:`responders`. ``table``: difference in the share of responders (headline),
    their ratio, then each group's share; ``transitions``: protected level transition counts."""

    table: pd.DataFrame
    threshold: float
    direction: str
    measure: str
    transitions: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        t = self.table[self.table["scale"] == "absolute"].set_index("term")
        d = t.loc["difference in share of responders"]
        return (f"Responders on {self.measure} (change {'>=' if self.direction == 'increase' else '<='} "
                f"{'' if self.direction == 'increase' else '-'}{self.threshold:g}): treated "
                f"{t.loc['share of responders, treated', 'estimate']:.1%}, comparison "
                f"{t.loc['share of responders, comparison', 'estimate']:.1%}; difference "
                f"{d['estimate']:.1%} (95% CI {d['ci_lower']:.1%} to {d['ci_upper']:.1%}), SE {d['se_type']}")

    def plot(self) -> ggplot:
        from plotnine import aes, coord_flip, geom_pointrange, ggplot, labs

        from pceval.plots import theme_nhs

        d = self.table[self.table["term"].str.startswith("share")]
        return (ggplot(d, aes("term", "estimate", ymin="ci_lower", ymax="ci_upper")) + geom_pointrange()
                + coord_flip() + labs(x="", y=f"share with a meaningful change in {self.measure}") + theme_nhs())


def responders(data: Any, outcome: str, baseline: str, treatment: str, weights: str | None = None,
               cluster: str | None = None, confidence: float = 0.95, *,
               threshold: float = PAM_MEANINGFUL_CHANGE,
               direction: Literal["increase", "decrease"] = "increase",
               levels: Sequence[str] | None = None, measure: str | None = None,
               preset: str = DEFAULT_PRESET) -> RespondersResult:
    """Share of people with a meaningful change, its difference between groups, and level transitions.

    Parameters
    ----------
    data : one row per person with the follow-up ``outcome``, ``baseline`` and 0/1 ``treatment``,
        or a MatchResult (its weights and pair subclasses are then the defaults). People without
        both scores are left out (count them with :func:`score_change`'s ``nonresponse``).
    threshold : the meaningful change (default 3 PAM points; give your own for other scores).
    direction : ``"increase"`` (higher is better) or ``"decrease"`` (e.g. ONS4 anxiety).
    levels : ``(baseline level column, follow-up level column)`` for the transition tables.
    preset : disclosure preset of the transition counts.

    Example
    -------
    >>> r = responders(scores, "pam_score_follow_up", "pam_score_baseline", "treated",
    ...                levels=("pam_level_baseline", "pam_level_follow_up"))   # doctest: +SKIP
    """
    confidence = check_confidence(confidence)
    threshold = check_number(threshold, "threshold", low=0, low_open=True)
    direction = check_choice(direction, "direction", ("increase", "decrease"))
    df, weights, cluster = _resolve_data(data, weights, cluster)
    lv = list(levels or [])
    if levels is not None and len(lv) != 2:
        raise InputError(f"`levels` must name two columns (baseline level, follow-up level), got {levels!r}")
    require_columns(df.columns, "data", list(dict.fromkeys([outcome, baseline, treatment, *lv,
                                                            *[c for c in (weights, cluster) if c]])))
    y, y0 = _numeric(df, outcome, "outcome", "data"), _numeric(df, baseline, "baseline", "data")
    t_all = _treatment_flag(df, treatment, "data")
    w_all = _weights(df, weights, "data")
    keep = np.isfinite(y) & np.isfinite(y0) & (w_all > 0)
    change = (y - y0)[keep]
    r = (change >= threshold) if direction == "increase" else (change <= -threshold)
    r = r.astype(float)
    t, w = t_all[keep], w_all[keep]
    n1, n0 = int(t.sum()), int((1 - t).sum())
    if min(n1, n0) < 2:
        raise InputError(f"`data`: too few people with both scores ({n1} treated, {n0} comparison)")
    X = np.column_stack([1 - t, t]).astype(float)  # cell means: a share per group
    XtW = X.T * w
    A_inv = np.linalg.inv(XtW @ X)
    beta = A_inv @ (XtW @ r)
    scores = X * (w * (r - X @ beta))[:, None]
    if cluster is not None:
        codes = pd.factorize(df.loc[keep, cluster])[0]
        V = sandwich(A_inv, scores, "CR1", clusters=[codes], n_params=2)
        se_type = f"CR1 clustered ({len(np.unique(codes)):,} clusters)"
    else:
        V = sandwich(A_inv, scores, "HC0")
        se_type = "HC0 (unpooled Wald)"
    p0, p1 = float(beta[0]), float(beta[1])
    label = measure or outcome
    design: dict[str, Any] = {"measure": "", "n_treated": n1, "n_comparison": n0, "n_obs": n1 + n0, "threshold": threshold,
              "direction": direction, "se_type": se_type}
    rows = [difference_row("difference in share of responders", p1 - p0,
                           float(np.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1])), confidence,
                           **{**design, "measure": "difference in share (treated - comparison)"})]
    if p0 > 0 and p1 > 0:
        var_log = V[1, 1] / p1**2 + V[0, 0] / p0**2 - 2 * V[0, 1] / (p0 * p1)
        rows.append(ratio_row("difference in share of responders", float(np.log(p1 / p0)), float(np.sqrt(var_log)),
                              confidence, **{**design, "measure": "ratio of shares (treated / comparison)"}))
    for nm, p, v in (("treated", p1, V[1, 1]), ("comparison", p0, V[0, 0])):
        rows.append(difference_row(f"share of responders, {nm}", p, float(np.sqrt(v)), confidence,
                                   **{**design, "measure": f"share of {nm} with a meaningful change"}))
    table = protocol_frame(pd.DataFrame(rows))
    table["confidence"] = confidence
    trans = None
    if lv:
        sub = df.loc[keep, lv].copy()
        sub["group"] = np.where(t == 1, "treated", "comparison")
        trans = (sub.groupby(["group", lv[0], lv[1]]).size().rename("people").reset_index()
                 .rename(columns={lv[0]: "level_baseline", lv[1]: "level_follow_up"}))
        trans = protect(trans, counts=["people"], preset=preset, table="level transitions")
    return RespondersResult(table=table, threshold=threshold, direction=direction, measure=label,
                            transitions=trans)
