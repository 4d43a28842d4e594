"""Reading an effect result: which row, in which unit, on which scale.

:func:`read_effect` turns any pceval result in the result protocol (or one row of it, or a
:class:`~pceval.did.SubgroupEffects`, or a mapping ``{subgroup: result}``) into one
:class:`EffectInput` per subgroup. Each says what the effect is in *events per person-year*:

* an absolute row (a difference in rates) must say its unit: ``did2x2(model="poisson")`` writes
  "difference in rate per 1,000 person-years"; for any other row (``estimate_effect``'s "per 1,000
  person-time", a linear model's "difference in mean ...") the caller states it with ``effect_unit``
  (e.g. ``"per person-quarter"``). A row whose unit cannot be told is refused;
* a relative row (a rate ratio) needs the baseline rate it multiplies (``baseline_rate``, events per
  1,000 person-years among the people treated had they not been treated).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pceval._results import headline_on_scale
from pceval.errors import InputError

_YEARS = {"year": 1.0, "quarter": 0.25, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25}
_UNIT = re.compile(r"per\s+(?:([\d,]+(?:\.\d+)?)\s+)?person[- ]?(year|quarter|month|week|day|time)s?\b",
                   re.I)


# results whose headline is not an intervention's effect on a rate
_NOT_EFFECTS = {
    "EquityOfEffect": "its rows are the SII and gaps (changes in inequality); pass the effects by "
                      "quintile instead (did.effects_by(...) of the estimator)",
    "UptakeEquity": "it describes who received the intervention, not its effect",
    "MatchResult": "it is a matched sample; estimate the effect first (did.did2x2 / estimate_effect)",
    "BalanceResult": "it is a balance table, not an effect",
    "BaconResult": "it decomposes a TWFE estimate; pass the estimator's own result",
}
# terms that are contrasts between effects or inequality measures, not effects
_CONTRAST = re.compile(r"\bSII\b|\bRII\b|\bgap\b|gradient|trend per|concentration|\s[-/]\s", re.I)


@dataclass(frozen=True)
class EffectInput:
    """One effect on the scale the consequences use.

    ``kind="difference"``: ``estimate``/``std_error`` are the change in events per person-year
    (treated minus untreated; negative = fewer events). ``kind="ratio"``: they are the log rate ratio
    and its SE, and ``baseline``/``baseline_se`` the untreated rate in events per person-year.
    """

    label: Any
    kind: str
    estimate: float
    std_error: float
    baseline: float | None
    baseline_se: float | None
    measure: str
    source: str


def parse_unit(text: str) -> tuple[float, str] | None:
    """``(per, time unit)`` from words such as "per 1,000 person-years" (time unit ``"time"`` when
    the words say only "person-time"); ``None`` when the words carry no unit."""
    m = _UNIT.search(str(text))
    if m is None:
        return None
    per = float(m.group(1).replace(",", "")) if m.group(1) else 1.0
    return per, m.group(2).lower()


def _is_subgroups(effect: Any) -> bool:
    return isinstance(getattr(effect, "results", None), dict) and hasattr(effect, "by")


def read_effect(effect: Any, *, effect_unit: str | None, baseline_rate: Any, baseline_se: Any
                ) -> tuple[list[EffectInput], str | None]:
    """The effect(s) as :class:`EffectInput` s, and the name of the subgroup column (``None`` for a
    single effect)."""
    if _is_subgroups(effect):
        items, by = list(effect.results.items()), str(effect.by)
    elif isinstance(effect, Mapping) and effect and all(hasattr(v, "to_frame") or isinstance(v, pd.Series)
                                                        for v in effect.values()):
        items, by = list(effect.items()), "subgroup"
    else:
        items, by = [(None, effect)], None
    baseline_rate, baseline_se = _by_text(baseline_rate), _by_text(baseline_se)
    out = []
    for label, res in items:
        base = _per_level(baseline_rate, label, "baseline_rate")
        base_se = _per_level(baseline_se, label, "baseline_se")
        where = "`effect`" if label is None else f"`effect` ({by} = {label})"
        out.append(_one(res, label, where, effect_unit, base, base_se))
    return out, by


def _by_text(value: Any) -> Any:
    """A mapping or Series keyed by the text of its keys (levels match as text); others unchanged."""
    if isinstance(value, (Mapping, pd.Series)):
        return {str(k): v for k, v in dict(value).items()}
    return value


def _per_level(value: Any, label: Any, name: str) -> float | None:
    """A scalar argument, or its value for subgroup ``label`` when it is a mapping/Series."""
    if value is None:
        return None
    if isinstance(value, (Mapping, pd.Series)):
        if label is None:
            raise InputError(f"`{name}` is given by subgroup, but `effect` is a single effect")
        keys = value
        if str(label) not in keys:
            raise InputError(f"`{name}` has no value for subgroup {label!r}; it has {list(keys)[:10]}")
        value = keys[str(label)]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise InputError(f"`{name}` must be a non-negative number (events per 1,000 person-years), "
                         f"got {value!r}")
    return float(value)


def _row(res: Any, scale: str, where: str) -> pd.Series:
    """The result's headline row on ``scale`` (a protocol row may be passed directly)."""
    if isinstance(res, pd.Series):
        row = res
        if row.get("scale") != scale:
            raise InputError(f"{where} is a {row.get('scale')!r} row; a {scale!r} row is needed here")
        return _not_a_contrast(row, where)
    if type(res).__name__ in _NOT_EFFECTS:
        raise InputError(f"{where} is a {type(res).__name__}: {_NOT_EFFECTS[type(res).__name__]}")
    if not (hasattr(res, "headline") and hasattr(res, "to_frame")):
        raise InputError(f"{where} must be a pceval result (with .headline and .to_frame()) or one "
                         f"row of its to_frame(), got {type(res).__name__}")
    try:
        return _not_a_contrast(headline_on_scale(res, scale), where)
    except LookupError:
        other = "relative" if scale == "absolute" else "absolute"
        hint = ("pass `baseline_rate=` (events per 1,000 person-years) to use its rate ratio"
                if other == "relative" else "leave out `baseline_rate` to use its difference in rates")
        raise InputError(f"{where} ({type(res).__name__}) has no {scale} row; {hint}") from None


def _not_a_contrast(row: pd.Series, where: str) -> pd.Series:
    """Refuse a row that compares effects or measures inequality (e.g. ``imd_quintile 1 - 5``, an
    SII): its consequences are not events avoided by anyone."""
    term = str(row.get("term", ""))
    if _CONTRAST.search(term):
        raise InputError(f"{where}: the row {term!r} is a contrast between effects or a measure of "
                         "inequality, not an intervention's effect; pass the effect itself (for "
                         "subgroups, the effects_by result, which gives one row per subgroup)")
    return row


def _years_per_unit(unit: str, where: str, measure: str, effect_unit: str | None) -> float:
    if unit not in _YEARS:
        raise InputError(
            f"{where}: the effect's unit cannot be told from its measure {measure!r} (person-time in "
            "what unit?); say it with `effect_unit=`, e.g. effect_unit='per 1,000 person-years' or "
            "'per 1,000 person-months'")
    return _YEARS[unit]


def _one(res: Any, label: Any, where: str, effect_unit: str | None, baseline: float | None,
         baseline_se: float | None) -> EffectInput:
    if baseline is None and baseline_se is not None:
        raise InputError("`baseline_se` is given without `baseline_rate`")
    scale = "relative" if baseline is not None else "absolute"
    row = _row(res, scale, where)
    est, se = float(row["estimate"]), float(row["std_error"])
    measure = str(row.get("measure", ""))
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        raise InputError(f"{where}: the {scale} row has no usable estimate and standard error "
                         f"(estimate {est!r}, std_error {se!r}); nothing to propagate")
    if scale == "relative":
        assert baseline is not None  # scale is "relative" exactly when a baseline rate is given
        if est <= 0:
            raise InputError(f"{where}: the rate ratio must be positive, got {est!r}")
        if "ratio" not in measure.lower() and measure:
            raise InputError(f"{where}: the relative row's measure {measure!r} is not a ratio")
        return EffectInput(label, "ratio", float(np.log(est)), se / est, baseline / 1000.0,
                           None if baseline_se is None else baseline_se / 1000.0, measure,
                           f"{measure or 'ratio'} x baseline rate {baseline:g} per 1,000 person-years")
    from_row = parse_unit(measure)
    stated = None
    if effect_unit is not None:
        stated = parse_unit(effect_unit)
        if stated is None or stated[1] == "time":
            raise InputError(f"`effect_unit` {effect_unit!r} is not a unit such as 'per 1,000 "
                             "person-years' or 'per person-month'")
    if from_row is None and stated is None:
        raise InputError(
            f"{where}: cannot tell the unit of the effect ({type(res).__name__}, measure "
            f"{measure!r}): it must be a difference in rates. For a count per person-period from a "
            "linear model say what it is per, e.g. effect_unit='per person-quarter'; for "
            "did2x2(model='poisson') the unit is read from the result")
    if from_row is not None and stated is not None:
        same_per = from_row[0] == stated[0]
        same_unit = from_row[1] in ("time", stated[1])
        if not (same_per and same_unit):
            raise InputError(f"`effect_unit` {effect_unit!r} contradicts the effect's own measure "
                             f"{measure!r}")
    per, unit = stated if stated is not None else from_row  # type: ignore[misc]
    years = _years_per_unit(unit, where, measure, effect_unit)
    scale_to_py = 1.0 / (per * years)
    return EffectInput(label, "difference", est * scale_to_py, se * scale_to_py, None, None, measure,
                       f"{measure} ({'per' if stated is None else 'unit stated as'} "
                       f"{effect_unit or 'the result'})")


__all__ = ["EffectInput", "read_effect", "parse_unit"]
