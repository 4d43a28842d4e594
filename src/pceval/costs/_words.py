"""The plain-English bottom line of a :class:`~pceval.costs.Consequences` result.

Every number in the sentences is read from the result's own rows (estimate and interval), so the
words cannot contradict the table: "fewer" only when the whole interval is above no effect, "more"
only when it is below, and "anywhere from ... fewer to ... more" when it includes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pceval.disclosure import count

_WORDS = {
    "emergency_admission": "emergency admissions",
    "ae_attendance": "A&E attendances",
    "gp_appointment": "GP appointments",
    "outpatient_attendance": "outpatient attendances",
}


def activity_words(activity: str) -> str:
    """The activity in words, plural (``"emergency_admission"`` -> ``"emergency admissions"``)."""
    if activity in _WORDS:
        return _WORDS[activity]
    text = activity.replace("_", " ")
    return text if text.endswith("s") else text + "s"


def short_labels(activity: str, years: float) -> dict[str, str]:
    """Short row labels for a report table (the ``measure`` column has the long ones)."""
    w = activity_words(activity)
    cap = w[0].upper() + w[1:]
    per = "a year" if years == 1 else f"over {years:g} years"
    return {
        "events_avoided_per_1000_per_year": f"{cap} avoided per 1,000 people a year",
        "events_avoided_per_year": f"{cap} avoided a year, this population",
        "people_treated_per_event_avoided": "People treated per one avoided (NNT)",
        "bed_days_avoided": "Bed days avoided a year",
        "cost_of_events_avoided": f"Cost of the {w} avoided a year",
        "intervention_cost_per_person": f"Intervention cost per person {per}",
        "net_cost_per_person": f"Net cost per person {per} (negative = saving)",
        "break_even_effect_per_1000": "Break-even: avoided per 1,000 people a year",
        "roi": "Return on investment (0 = break-even)",
    }


def num(x: float) -> str:
    """A count for prose: thousands separated, whole numbers from 10, one decimal below."""
    if not np.isfinite(x):
        return "infinity" if x > 0 else "minus infinity"
    ax = abs(x)
    if ax >= 10:
        return f"{x:,.0f}"
    if ax >= 1:
        return f"{x:.1f}".rstrip("0").rstrip(".")
    return f"{x:.2g}"


def gbp(x: float) -> str:
    """Pounds for prose: ``£1,234``, ``-£56``, pence below £10."""
    sign = "-" if x < 0 else ""
    ax = abs(x)
    return f"{sign}£{ax:,.0f}" if ax >= 10 else f"{sign}£{ax:,.2f}"


def _direction(est: float, lo: float, hi: float, words: str, tail: str) -> str:
    """``between lo and hi fewer <words><tail>`` (or more, or anywhere from ... to ...)."""
    if lo > 0:
        text = f"between {num(lo)} and {num(hi)} fewer {words}{tail} (best estimate {num(est)})"
        return text + ("; it could be almost none" if lo < 0.2 * est else "")
    if hi < 0:
        text = f"between {num(-hi)} and {num(-lo)} more {words}{tail} (best estimate {num(-est)})"
        return text + ("; it could be almost none" if -hi < 0.2 * -est else "")
    side = "fewer" if est >= 0 else "more"
    return (f"anywhere from {num(hi)} fewer to {num(-lo)} more {words}{tail} (best estimate "
            f"{num(abs(est))} {side}): the data cannot tell whether it reduces or increases them")


def bottom_line_text(cons: Any, subgroup: Any = "overall") -> str:
    """The sentences (see :meth:`pceval.costs.Consequences.bottom_line`)."""
    words = activity_words(cons.activity)
    a = cons.row("events_avoided_per_1000_per_year", subgroup)
    e = cons.row("events_avoided_per_year", subgroup)
    nnt = cons.row("people_treated_per_event_avoided", subgroup)
    beds = cons.row("bed_days_avoided", subgroup)
    money = cons.row("cost_of_events_avoided", subgroup)
    net = cons.row("net_cost_per_person", subgroup)
    be = cons.row("break_even_effect_per_1000", subgroup)
    c = float(cons.row("intervention_cost_per_person", subgroup)["estimate"])  # NaN: not given
    s = cons.settings
    who = "" if str(subgroup) == "overall" else f" In {s['by']} {subgroup}:"
    year = a["currency_year"]
    first = _direction(a["estimate"], a["ci_lower"], a["ci_upper"], words, " per 1,000 people a year")
    lines = [(who + " " if who else "") + first[0].upper() + first[1:] + "."]
    n = float(a["population"])
    people = count(n) if n == round(n) else f"{n:,.0f}"  # a count of people: protected like a cell
    lines.append(f"For the {people} people evaluated that is "
                 + _direction(e["estimate"], e["ci_lower"], e["ci_upper"], words, " a year") + ".")
    extra = []
    if np.isfinite(beds["estimate"]):
        extra.append(f"{num(beds['estimate'])} bed days ({num(beds['ci_lower'])} to "
                     f"{num(beds['ci_upper'])})")
    extra.append(f"{gbp(money['estimate'])} ({gbp(money['ci_lower'])} to {gbp(money['ci_upper'])}) of "
                 f"{words} at {year} prices")
    lines.append("Avoided a year (a negative number is an increase): " + " and ".join(extra) + ".")
    if nnt["interval"].startswith("NNTB") and "infinity" not in nnt["interval"]:
        lines.append(f"One of the {words} is avoided for every {num(nnt['estimate'])} people treated "
                     f"({nnt['interval']}).")
    elif nnt["interval"]:
        lines.append(f"People treated per one of the {words} avoided: {nnt['interval']}.")
    if np.isfinite(c) and c > 0:
        b = float(be["estimate"])
        lines.append(f"At {gbp(c)} per person it pays for itself if it avoids at least {num(b)} "
                     f"{words} per 1,000 people a year.")
        v, lo, hi = float(net["estimate"]), float(net["ci_lower"]), float(net["ci_upper"])
        if hi < 0:
            money_words = f"a net saving of {gbp(-v)} per person ({gbp(-hi)} to {gbp(-lo)})"
        elif lo > 0:
            money_words = f"a net cost of {gbp(v)} per person ({gbp(lo)} to {gbp(hi)})"
        else:
            money_words = (f"anywhere from a net saving of {gbp(-lo)} to a net cost of {gbp(hi)} per "
                           f"person (best estimate: a net {'saving' if v < 0 else 'cost'} of {gbp(abs(v))})")
        if a["ci_lower"] >= b:
            lines.append(f"The whole interval lies above that, so it pays for itself: {money_words}.")
        elif a["ci_upper"] < b:
            lines.append(f"The whole interval lies below that, so it costs more than it saves: "
                         f"{money_words}.")
        else:
            lines.append(f"The interval includes that, so it may or may not pay for itself: {money_words}.")
    elif np.isfinite(c):
        lines.append("The intervention was given a cost of £0, so it has no break-even point.")
    else:
        lines.append("No intervention cost was given, so net cost and break-even are not known.")
    lines.append(f"{s['confidence']:.0%} intervals from the effect's own uncertainty "
                 f"({s['method_text']}). {cons.unit_costs.citation}")
    return "\n".join(lines)


__all__ = ["activity_words", "bottom_line_text", "short_labels", "num", "gbp"]
