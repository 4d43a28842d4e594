"""plotnine figures for DiD results, in the NHS theme (:func:`pceval.plots.theme_nhs`).

Event-study plots show each estimate with its pointwise 95% CI (thick line) and, where a
bootstrap was run, the uniform band (thin line) that covers all the estimates together;
pre-treatment points are grey, post-treatment blue; 0 is marked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from plotnine import (
    aes,
    coord_flip,
    facet_wrap,
    geom_col,
    geom_hline,
    geom_linerange,
    geom_point,
    geom_vline,
    ggplot,
    labs,
    scale_colour_manual,
)

from pceval.plots import NHS_COLOURS, theme_nhs

_PHASE = {"before": NHS_COLOURS["mid_grey"], "after": NHS_COLOURS["blue"]}


def _interval_plot(df: pd.DataFrame, x: str, xlab: str, title: str, facet: str | None = None) -> ggplot:
    df = df.copy()
    df["phase"] = np.where(df["_post"], "after", "before")
    p = (ggplot(df, aes(x=x, y="estimate", colour="phase"))
         + geom_hline(yintercept=0, colour=NHS_COLOURS["dark_grey"], linetype="dashed")
         + geom_linerange(aes(ymin="ci_lower", ymax="ci_upper"), size=1.2))
    caption = "Thick lines: 95% pointwise confidence intervals"
    if "band_lower" in df and np.isfinite(df["band_lower"]).any():
        p = p + geom_linerange(aes(ymin="band_lower", ymax="band_upper"), size=0.4)
        caption += "; thin lines: 95% uniform band (all periods together)"
    p = (p + geom_point(size=2.2)
         + scale_colour_manual(values=_PHASE, breaks=["before", "after"],
                               labels=["before treatment", "after treatment"])
         + labs(x=xlab, y="Effect estimate", colour="", title=title, caption=caption)
         + theme_nhs())
    if facet:
        p = p + facet_wrap(f"~{facet}", ncol=1)
    return p


def plot_att_gt(res: Any) -> ggplot:
    """ATT(g,t) by period, one panel per group."""
    df = res.table.assign(_post=res.table["post"], group_label="Group " + res.table["group"].astype(str))
    return _interval_plot(df, "time", "Period", "Group-time average treatment effects",
                          facet="group_label")


def plot_aggregate(agg: Any) -> ggplot:
    """Dynamic (event-study), group or calendar aggregation."""
    if agg.type == "simple":
        from pceval.plots import plot_estimates

        return plot_estimates(agg.to_frame(), title="Average effect after treatment (simple aggregation)")
    col = agg.table.columns[0]
    ant = agg.settings.get("anticipation", 0)
    post = agg.table[col] >= -ant if agg.type == "dynamic" else np.ones(len(agg.table), bool)
    df = agg.table.assign(_post=post)
    xlab = {"dynamic": "Periods since treatment", "group": "Group (first treated period)",
            "calendar": "Period"}[agg.type]
    title = {"dynamic": "Event study: effect by time since treatment",
             "group": "Average effect by group", "calendar": "Average effect by period"}[agg.type]
    p = _interval_plot(df, col, xlab, title)
    if agg.type == "dynamic":
        p = p + geom_vline(xintercept=-0.5 - ant, colour=NHS_COLOURS["pale_grey"])
    return p


def plot_event_study(res: Any) -> ggplot:
    """TWFE event-study coefficients (the reference period shown at 0)."""
    df = res.table.dropna(subset=["event_time"])
    ref = df["std_error"].isna()
    df = df.assign(_post=df["event_time"] >= 0,
                   ci_lower=df["ci_lower"].where(~ref, 0.0), ci_upper=df["ci_upper"].where(~ref, 0.0))
    return (_interval_plot(df, "event_time", "Periods since treatment",
                           "Event study (two-way fixed effects)")
            + geom_vline(xintercept=-0.5, colour=NHS_COLOURS["pale_grey"]))


def plot_bacon(b: Any) -> ggplot:
    """Each 2x2 comparison's estimate against its weight, by comparison type."""
    return (ggplot(b.table, aes(x="weight", y="estimate", colour="type"))
            + geom_hline(yintercept=b.twfe, colour=NHS_COLOURS["dark_grey"], linetype="dashed")
            + geom_point(size=2.5)
            + scale_colour_manual(values=[NHS_COLOURS["blue"], NHS_COLOURS["aqua_green"],
                                          NHS_COLOURS["orange"]])
            + labs(x="Weight in the TWFE estimate", y="2x2 DiD estimate", colour="Comparison",
                   title="Goodman-Bacon decomposition (dashed: TWFE estimate)")
            + theme_nhs())


def plot_subgroups(res: Any) -> ggplot:
    """Effects by subgroup (e.g. IMD quintile) with 95% CIs."""
    df = res.table.assign(label=res.table["subgroup"].astype(str))
    ref = 1.0 if res.scale == "relative" else 0.0
    return (ggplot(df, aes(x="label", y="estimate"))
            + geom_hline(yintercept=ref, colour=NHS_COLOURS["dark_grey"], linetype="dashed")
            + geom_linerange(aes(ymin="ci_lower", ymax="ci_upper"), colour=NHS_COLOURS["blue"], size=1.2)
            + geom_point(colour=NHS_COLOURS["dark_blue"], size=2.5)
            + coord_flip()
            + labs(x=res.by, y=f"Effect ({res.scale})", title=f"Effect by {res.by}")
            + theme_nhs())


__all__ = ["plot_att_gt", "plot_aggregate", "plot_event_study", "plot_bacon", "plot_subgroups",
           "geom_col"]
