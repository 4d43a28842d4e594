"""ONS4 personal wellbeing as its four items, and HbA1c in mmol/mol for people with diabetes.

The ONS4 (Office for National Statistics personal wellbeing) questions are four separate 0-10
items. Three are positive -- life satisfaction, feeling that things done in life are worthwhile,
happiness yesterday -- and **anxiety yesterday has the opposite polarity: a lower score is better**.
The ONS reports them separately and never sums them (ONS (2018) *Personal well-being user
guidance*), so :func:`ons4_effects` estimates each item's effect with :func:`score_change` and
says, for each, whether the change is an improvement.

HbA1c: :func:`hba1c_effect` is :func:`score_change` for people with diabetes, in mmol/mol (IFCC).
Values that look like DCCT percentages (all below 20) are refused rather than silently analysed
on the wrong scale (``mmol/mol = 10.929 (% - 2.15)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from pceval._results import ResultProtocol, verdict
from pceval.errors import InputError
from pceval.proms.change import ScoreChangeResult, _resolve_data, score_change

if TYPE_CHECKING:
    from plotnine import ggplot

#: the four ONS4 items: column stem -> (label, whether a higher score is better or worse)
ONS4_ITEMS: Mapping[str, tuple[str, Literal["better", "worse"]]] = {
    "ons4_life_satisfaction": ("life satisfaction", "better"),
    "ons4_worthwhile": ("things done are worthwhile", "better"),
    "ons4_happy": ("happiness yesterday", "better"),
    "ons4_anxiety": ("anxiety yesterday (lower is better)", "worse"),
}


def _improvement(row: pd.Series, higher_is: str) -> str:
    v = verdict(row)
    if v in ("higher", "lower"):
        good = (v == "higher") == (higher_is == "better")
        return "improved" if good else "worsened"
    return v


@dataclass(frozen=True)
class Ons4Result(ResultProtocol):
    """The four ONS4 items' effects (never summed). ``to_frame()``: one absolute row per item with
    ``item``, ``higher_is`` and ``improvement`` (improved / worsened / no evidence either way) beside
    the protocol columns; ``results``: each item's :class:`ScoreChangeResult`."""

    table: pd.DataFrame
    results: Mapping[str, ScoreChangeResult]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        lines = ["ONS4 personal wellbeing, item by item (0-10; anxiety: lower is better; items are never summed)"]
        for r in self.table.itertuples():
            lines.append(f"  {r.item}: {r.estimate:+.2f} ({r.ci_lower:+.2f} to {r.ci_upper:+.2f}) -> {r.improvement}")
        return "\n".join(lines)

    def plot(self) -> ggplot:
        from plotnine import aes, coord_flip, geom_hline, geom_pointrange, ggplot, labs

        from pceval.plots import theme_nhs

        d = self.table.assign(item=lambda x: pd.Categorical(x["item"], categories=list(x["item"])[::-1]))
        return (ggplot(d, aes("item", "estimate", ymin="ci_lower", ymax="ci_upper"))
                + geom_hline(yintercept=0, linetype="dashed") + geom_pointrange() + coord_flip()
                + labs(x="", y="effect (points on the 0-10 scale; anxiety: lower is better)") + theme_nhs())


def ons4_effects(data: Any, treatment: str, covariates: list[str] | None = None, weights: str | None = None,
                 cluster: str | None = None, confidence: float = 0.95, *, items: list[str] | None = None,
                 baseline_suffix: str = "_baseline", follow_up_suffix: str = "_follow_up",
                 **kwargs: Any) -> Ons4Result:
    """The effect on each ONS4 item (``<item>_follow_up`` adjusted for ``<item>_baseline``).

    ``items`` defaults to the four of :data:`ONS4_ITEMS`; other keyword arguments go to
    :func:`score_change` (``method``, ``nonresponse``, ``by``, ``interventions`` ...). The headline
    is life satisfaction, the ONS's first item.

    Example
    -------
    >>> ons = ons4_effects(scores, "treated")          # doctest: +SKIP
    >>> ons.to_frame()[["item", "estimate", "improvement"]]   # doctest: +SKIP
    """
    items = list(items or ONS4_ITEMS)
    unknown = [i for i in items if i not in ONS4_ITEMS]
    if unknown:
        from pceval._checks import did_you_mean

        raise InputError(f"`items`: {unknown} are not ONS4 items{did_you_mean(unknown[0], list(ONS4_ITEMS))}; "
                         f"the four are {list(ONS4_ITEMS)} (reported separately, never summed)")
    if "higher_is" in kwargs or "measure" in kwargs:
        raise InputError("`ons4_effects` sets each item's `measure` and `higher_is` itself")
    df, weights, cluster = _resolve_data(data, weights, cluster)
    results, rows = {}, []
    for item in items:
        label, higher_is = ONS4_ITEMS[item]
        res = score_change(df, f"{item}{follow_up_suffix}", f"{item}{baseline_suffix}", treatment, covariates,
                           weights, cluster, confidence=confidence, measure=label, higher_is=higher_is, **kwargs)
        results[item] = res
        h = res.headline.copy()
        h["term"] = item
        h["item"] = label
        h["higher_is"] = higher_is
        h["improvement"] = _improvement(h, higher_is)
        rows.append(h)
    table = pd.DataFrame(rows).reset_index(drop=True)
    return Ons4Result(table=table, results=results)


def hba1c_effect(data: Any, treatment: str, covariates: list[str] | None = None, weights: str | None = None,
                 cluster: str | None = None, confidence: float = 0.95, *, diabetes: str | None = "diabetes",
                 outcome: str = "hba1c_follow_up", baseline: str = "hba1c_baseline",
                 **kwargs: Any) -> ScoreChangeResult:
    """The effect on HbA1c (mmol/mol) among people with diabetes (``diabetes == 1``).

    People without diabetes are left out (``diabetes=None``: the data are already restricted).
    Values below 20 everywhere look like DCCT % and are refused. Lower HbA1c is better.

    Example
    -------
    >>> hba1c_effect(scores, "treated", cluster="subclass")     # doctest: +SKIP
    """
    df, weights, cluster = _resolve_data(data, weights, cluster)
    n_left_out = 0
    if diabetes is not None:
        if diabetes not in df.columns:
            from pceval._checks import require_columns

            require_columns(df.columns, "data", [diabetes])
        keep = df[diabetes].fillna(0).astype(int) == 1
        n_left_out = int((~keep).sum())
        df = df[keep]
    for col in (outcome, baseline):
        if col in df.columns and pd.api.types.is_numeric_dtype(df[col]):
            v = df[col].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if len(v) and v.max() < 20:
                raise InputError(f"`{'outcome' if col == outcome else 'baseline'}`: column '{col}' looks like HbA1c "
                                 f"in DCCT % (values {np.round(v[:5], 1).tolist()} ...); convert to mmol/mol "
                                 "with 10.929 * (% - 2.15)")
    res = score_change(df, outcome, baseline, treatment, covariates, weights, cluster, confidence=confidence,
                       measure="HbA1c (mmol/mol)", higher_is="worse", **kwargs)
    if diabetes is None:
        return res
    import dataclasses

    return dataclasses.replace(res, excluded={**res.excluded, f"rows without {diabetes}": n_left_out})
