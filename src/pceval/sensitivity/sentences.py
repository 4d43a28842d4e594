"""One plain sentence on how robust a conclusion is, for commissioners' reports.

:func:`robustness_sentence` reads a sensitivity result and says, in words, how large a departure
from the design's assumption would overturn the conclusion:

* :class:`~pceval.sensitivity.honest.HonestDidResult`, relative magnitudes: "The fall holds
  unless the difference in trends after go-live was more than 1.4 times the largest seen
  before it." (the breakdown value ``Mbar``); smoothness: the breakdown ``M`` in outcome units;
* :class:`~pceval.sensitivity.evalues.EValueResult`: "An unmeasured factor would have to make
  both receiving the intervention and the outcome 2.0 times as likely ... to explain it away";
* :class:`~pceval.sensitivity.rosenbaum.RosenbaumResult`: "... unless an unmeasured factor made
  one person of a matched pair up to 1.8 times as likely (in odds) to be the one treated".

When the original interval already includes no effect the sentence says so instead: there is
no conclusion to overturn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pceval.errors import InputError


def _direction(lo: float, hi: float, rise: str, fall: str) -> str | None:
    if lo > 0:
        return rise
    if hi < 0:
        return fall
    return None


def _fmt(x: float) -> str:
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


def robustness_sentence(result: Any, *, rise: str = "rise", fall: str = "fall",
                        outcome_unit: str = "") -> str:
    """The plain sentence on robustness for a sensitivity result.

    ``rise``/``fall`` name the direction of the effect in the reader's words (e.g. "the increase
    in wellbeing"); ``outcome_unit`` labels the smoothness bound ``M`` (e.g. "admissions per
    1,000 per month").

    Example::

        >>> from pceval.sensitivity import evalue
        >>> robustness_sentence(evalue(0.5, 0.4, 0.62))
        'An unmeasured factor would have to make both receiving the intervention and the outcome 3.4 times as likely (or as unlikely) to explain the fall away, and 2.6 times to move the confidence interval to include no effect.'
    """
    # dispatch on what the result carries (the result classes import this module for .sentence())
    if hasattr(result, "breakdown") and hasattr(result, "original"):
        lo, hi = result.original
        word = _direction(lo, hi, rise, fall)
        if word is None:
            return ("The interval for the effect already includes no effect, so there is no "
                    "conclusion for a difference in trends to overturn.")
        b = result.breakdown
        if result.settings["restriction"] == "relative_magnitude":
            if b == 0:
                return (f"The {word} does not survive any difference in trends after go-live: "
                        "with the pre-period trends carried forward it is no longer clear.")
            if not np.isfinite(b):
                return (f"The {word} holds however much the difference in trends after go-live "
                        "exceeds the largest seen before it (within 1,000 times).")
            return (f"The {word} holds unless the difference in trends after go-live was more "
                    f"than {_fmt(b)} times the largest seen before it.")
        unit = f" {outcome_unit}" if outcome_unit else ""
        if not np.isfinite(b):
            return (f"The {word} holds however much the difference in trends bends after go-live "
                    "(within 1,000 times the largest bend tried).")
        return (f"The {word} holds unless the difference in trends bends by more than {b:.3g}"
                f"{unit} per period after go-live (a linear pre-trend carried on is allowed).")
    if hasattr(result, "evalue") and hasattr(result, "evalue_ci"):
        rr = result.rr
        word = rise if result.settings["scale"] == "RD" or rr >= 1 else fall
        e, eci = result.evalue, result.evalue_ci
        ci = ""
        if np.isfinite(eci):
            if eci <= 1:
                ci = "; its confidence interval already includes no effect"
            else:
                ci = f", and {_fmt(eci)} times to move the confidence interval to include no effect"
        return (f"An unmeasured factor would have to make both receiving the intervention and the "
                f"outcome {_fmt(e)} times as likely (or as unlikely) to explain the {word} away{ci}.")
    if hasattr(result, "sensitivity_value"):
        sv = result.sensitivity_value
        s = result.settings
        word = fall if s["alternative"] == "less" else rise
        if sv <= 1:
            return (f"The {word} is not statistically clear even without hidden bias "
                    f"(one-sided p >= {s['alpha']:g}).")
        if not np.isfinite(sv):
            return f"The {word} holds whatever the hidden bias in who was treated."
        if s.get("controls_per_set", 1) > 1:
            return (f"The {word} holds unless an unmeasured factor made one person of a matched set "
                    f"more than {_fmt(sv)} times as likely (in odds) as another to be the one "
                    "treated.")
        return (f"The {word} holds unless an unmeasured factor made one person of a matched pair "
                f"more than {_fmt(sv)} times as likely (in odds) as the other to be the one "
                "treated.")
    raise InputError("`result` must be a sensitivity result: honest_did(...), evalue(...) or "
                     f"rosenbaum_bounds(...); got {type(result).__name__}")


__all__ = ["robustness_sentence"]
