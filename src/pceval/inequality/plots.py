"""Figures for the inequality measures (plotnine, NHS style via :func:`pceval.plots.theme_nhs`).

* :func:`plot_sii` -- values by quantile (at their ridit positions) with confidence limits and the
  fitted SII line;
* :func:`plot_gap_over_time` -- a gap (SII, Q1 vs Q5, Core20 vs rest) with its limits over time;
* :func:`plot_equity` / :func:`plot_uptake` -- used by ``EquityOfEffect.plot()`` and
  ``UptakeEquity.plot()``.

IMD quintiles use :func:`pceval.plots.scale_colour_imd` (1 = most deprived = darkest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from pceval.errors import InputError
from pceval.inequality._common import GroupBy, as_list, check_column_arg, check_input, group_keys
from pceval.inequality.imd import quantile_order
from pceval.inequality.slope_index import _link, regression_weights, ridits

if TYPE_CHECKING:
    from plotnine import ggplot


def _is_quintile(labels: list[Any]) -> bool:
    return [str(x) for x in labels] == ["1", "2", "3", "4", "5"]


def plot_sii(data: pd.DataFrame, *, value: str, population: str, lower: str | None = None,
             upper: str | None = None, value_type: str = "normal", transform: bool = False,
             by: GroupBy = None, quantile: str, title: str | None = None,
             ylab: str | None = None) -> ggplot:
    """Values by quantile with limits, placed at their ridit scores, and the fitted SII line.

    The line is the population-weighted regression of :func:`pceval.inequality.sii` (on the log or
    logit scale and transformed back when ``transform``); its ends at ridit 0 and 1 are the fitted
    most and least deprived values whose difference is the SII. One panel per ``by`` group.
    Arguments as for :func:`~pceval.inequality.sii`.
    """
    from plotnine import (
        aes,
        facet_wrap,
        geom_errorbar,
        geom_line,
        geom_point,
        ggplot,
        labs,
        scale_colour_manual,
        scale_x_continuous,
    )

    from pceval.plots import NHS_COLOURS, scale_colour_imd, theme_nhs

    for name, col in (("quantile", quantile), ("value", value), ("population", population)):
        check_column_arg(col, name)
    gb = as_list(by)
    num = [value, population] + [c for c in (lower, upper) if c is not None]
    data = check_input(data, "data", numeric=num, required=[quantile], by=gb,
                       not_null=[*gb, quantile, *num])
    labels = quantile_order(pd.unique(data[quantile]))
    k = len(labels)
    keys, codes = group_keys(data, gb)
    pos = data[quantile].map({lab: i for i, lab in enumerate(labels)}).to_numpy(int)
    if data.duplicated([*gb, quantile]).any():
        raise InputError("`data`: more than one row per group and quantile")
    pop = np.full((len(keys), k), np.nan)
    pop[codes, pos] = data[population].to_numpy(float)
    if np.isnan(pop).any():
        raise InputError("`data`: every group needs every quantile to draw the SII line")
    share = pop / pop.sum(axis=1, keepdims=True)
    x = ridits(share)
    kinds: dict[Any, Any] = {0: "normal", 1: "rate", 2: "proportion"}
    fwd, back = _link(kinds.get(value_type, value_type), transform)
    y = np.full((len(keys), k), np.nan)
    y[codes, pos] = fwd(data[value].to_numpy(float))
    ca, cb, _ = regression_weights(share, x)
    a, b = (ca * y).sum(axis=1), (cb * y).sum(axis=1)
    grid = np.linspace(0, 1, 51)
    n_g = len(keys)
    line = (keys.loc[np.repeat(keys.index, grid.size)].reset_index(drop=True) if gb
            else pd.DataFrame(index=range(grid.size)))
    line["ridit"] = np.tile(grid, n_g)
    line["fitted"] = back(np.repeat(a, grid.size) + np.repeat(b, grid.size) * line["ridit"].to_numpy())
    pts = data.copy()
    pts["ridit"] = x[codes, pos]
    pts["_q"] = pts[quantile].astype(str)
    p = (ggplot(pts, aes("ridit", value))
         + geom_line(aes("ridit", "fitted"), data=line, colour=NHS_COLOURS["mid_grey"], size=0.8))
    if lower is not None and upper is not None:
        p += geom_errorbar(aes(ymin=lower, ymax=upper, colour="_q"), width=0.02)
    p += geom_point(aes(colour="_q"), size=2.5)
    if _is_quintile(labels):
        p += scale_colour_imd(name="IMD quintile")
    else:
        cols = {str(lab): NHS_COLOURS["blue"] for lab in labels}
        p += scale_colour_manual(values=cols, guide=None)
    if gb:
        p += facet_wrap(gb)
    p += scale_x_continuous(limits=(0, 1), breaks=[0, 0.25, 0.5, 0.75, 1])
    p += labs(x="Relative rank (ridit): 0 = most deprived, 1 = least deprived", y=ylab or value,
              title=title or "Values by deprivation with the slope index of inequality line")
    return p + theme_nhs()


def plot_gap_over_time(data: pd.DataFrame, time: str, *, estimate: str = "estimate",
                       lower: str | None = "lower", upper: str | None = "upper",
                       facet: str | None = "auto", title: str | None = None, ylab: str | None = None) -> ggplot:
    """A gap and its limits over time: e.g. :func:`quintile_gap` or :func:`sii` output computed with
    ``by`` including ``time``. With ``facet="auto"`` a ``measure`` column (absolute / relative
    gap) gives one panel each; a reference line marks no gap (0, or 1 for relative gaps)."""
    from plotnine import (
        aes,
        facet_wrap,
        geom_hline,
        geom_line,
        geom_point,
        geom_ribbon,
        ggplot,
        labs,
    )

    from pceval.plots import NHS_COLOURS, theme_nhs

    check_column_arg(time, "time")
    num = [estimate] + [c for c in (lower, upper) if c is not None]
    data = check_input(data, "data", numeric=num, required=[time])
    facet_col = ("measure" if "measure" in data.columns else None) if facet == "auto" else facet
    if facet_col is not None and facet_col not in data.columns:
        raise InputError(f"`facet`: '{facet_col}' is not a column of `data`")
    if "confidence" in data.columns and data["confidence"].nunique() > 1:
        data = data[data["confidence"] == data["confidence"].min()]
    ref = pd.DataFrame({"_ref": [0.0]})
    if facet_col == "measure":
        ref = pd.DataFrame({"measure": ["absolute gap", "relative gap"], "_ref": [0.0, 1.0]})
        ref = ref[ref.measure.isin(data.measure.unique())]
    p = ggplot(data, aes(time, estimate))
    p += geom_hline(aes(yintercept="_ref"), data=ref, linetype="dashed", colour=NHS_COLOURS["mid_grey"])
    if lower is not None and upper is not None:
        p += geom_ribbon(aes(ymin=lower, ymax=upper), fill=NHS_COLOURS["light_blue"], alpha=0.35)
    p += geom_line(colour=NHS_COLOURS["blue"], size=1)
    p += geom_point(colour=NHS_COLOURS["dark_blue"])
    if facet_col is not None:
        p += facet_wrap(facet_col, scales="free_y")
    p += labs(x=time, y=ylab or estimate, title=title or "Deprivation gap over time")
    return p + theme_nhs()


def plot_equity(result: Any, kind: Literal["effects", "outcome"] = "effects") -> ggplot:
    """Effects by quintile with limits and the fitted gradient, or outcome before/with intervention."""
    from plotnine import (
        aes,
        facet_wrap,
        geom_hline,
        geom_line,
        geom_point,
        geom_pointrange,
        ggplot,
        labs,
        position_dodge,
        scale_colour_manual,
    )

    from pceval.plots import NHS_COLOURS, scale_colour_imd, theme_nhs

    q = result.settings["quantile"]
    g = list(result.by)
    d = result.by_quintile.copy()
    d["_q"] = d[q].astype(str)
    quint = _is_quintile(result.settings["labels"])
    if kind == "effects":
        ratio = result.settings["scale"] == "relative"
        p = (ggplot(d, aes("ridit", "estimate"))
             + geom_hline(yintercept=1.0 if ratio else 0.0, linetype="dashed", colour=NHS_COLOURS["mid_grey"])
             + geom_line(aes("ridit", "fitted_effect"), colour=NHS_COLOURS["mid_grey"], size=0.8)
             + geom_pointrange(aes(ymin="ci_lower", ymax="ci_upper", colour="_q"), size=0.6))
        p += labs(x="Relative rank (ridit): 0 = most deprived, 1 = least deprived",
                  y="effect (rate ratio)" if ratio else "effect", title="Effect by IMD quintile")
    elif kind == "outcome":
        long = pd.concat([d.assign(when="before (baseline)", outcome_value=d["baseline"]),
                          d.assign(when="with the intervention", outcome_value=d["with_intervention"])])
        p = (ggplot(long, aes("ridit", "outcome_value", linetype="when"))
             + geom_line(colour=NHS_COLOURS["mid_grey"])
             + geom_point(aes(colour="_q"), size=2.5, position=position_dodge(width=0.02)))
        p += labs(x="Relative rank (ridit): 0 = most deprived, 1 = least deprived",
                  y=result.settings["outcome"], linetype="",
                  title="Outcome by IMD quintile, before and with the intervention")
    else:
        raise InputError(f"`kind` must be 'effects' or 'outcome', got {kind!r}")
    p += scale_colour_imd(name="IMD quintile") if quint else scale_colour_manual(
        values={str(v): NHS_COLOURS["blue"] for v in result.settings["labels"]}, guide=None)
    if g:
        p += facet_wrap(g)
    return p + theme_nhs()


def plot_uptake(result: Any) -> ggplot:
    """Uptake with Wilson limits by IMD quintile (and age and sex), one panel per dimension."""
    from plotnine import aes, facet_wrap, geom_pointrange, ggplot, labs, scale_colour_manual

    from pceval.plots import NHS_COLOURS, theme_nhs

    d = result.uptake.copy()
    d["category"] = d["category"].astype(str)
    d["_colour"] = np.where(d["dimension"] == "imd", d["category"], "other")
    values = {str(i): c for i, c in zip(range(1, 6), ["#003087", "#005EB8", "#0072CE", "#41B6E6", "#A7D8F0"],
                                        strict=True)}
    values["other"] = NHS_COLOURS["dark_grey"]
    p = (ggplot(d, aes("category", "uptake"))
         + geom_pointrange(aes(ymin="lower", ymax="upper", colour="_colour"), size=0.6)
         + scale_colour_manual(values=values, guide=None)
         + facet_wrap("dimension", scales="free_x")
         + labs(x="", y="uptake (share of eligible people treated)",
                title="Who receives the intervention (1 = most deprived)"))
    if result.by:
        p += facet_wrap(["dimension", *result.by], scales="free_x")
    return p + theme_nhs()


__all__ = ["plot_sii", "plot_gap_over_time", "plot_equity", "plot_uptake"]
