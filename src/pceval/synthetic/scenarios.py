"""Named scenarios: the true effects the synthetic generator builds in.

A scenario maps (intervention, outcome) to an :class:`Effect`. Who receives which intervention
does not depend on the scenario (the design is the same); only the effects do. Every pair not
named in a scenario has no effect, so ``truth`` records a zero for it.

One scenario, ``trend_violation``, also breaks parallel trends by a known amount
(:class:`TrendViolation`): in the PCNs that ever go live with an intervention, the untreated
rate of an outcome follows its own linear trend in the log rate, before and after go-live.
The roll-out itself (who is offered what, when) is drawn exactly as in every other scenario.

Rate outcomes (emergency admissions, A&E attendances, GP appointments, outpatient attendances)
take a multiplicative effect on the person's expected monthly rate: in month ``k`` after the
index month the rate is multiplied by ``1 + (rr[q] - 1) * min(1, k / ramp_months)``, where
``q`` is the person's IMD quintile. The index month itself (``k = 0``) is unaffected.
Score outcomes (PAM, ONS4, HbA1c) take an additive shift ``shift[q]`` on the latent score with
the same ramp, so the truth is exact after rounding and clipping (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

INTERVENTIONS: tuple[str, ...] = (
    "pcsp",
    "social_prescribing",
    "phb",
    "health_coaching",
    "integrated_care",
)
"""Interventions of the NHS Comprehensive Model of Personalised Care (plus an integrated-care scheme)."""

INTERVENTION_LABELS: dict[str, str] = {
    "pcsp": "Personalised care and support planning",
    "social_prescribing": "Social prescribing link-worker referral",
    "phb": "Personal health budget",
    "health_coaching": "Health coaching / supported self-management",
    "integrated_care": "Integrated-care (multidisciplinary case management) scheme",
}

RATE_OUTCOMES: tuple[str, ...] = (
    "emergency_admission",
    "ae_attendance",
    "gp_appointment",
    "outpatient_attendance",
)
SCORE_OUTCOMES: tuple[str, ...] = (
    "pam_score",
    "ons4_life_satisfaction",
    "ons4_worthwhile",
    "ons4_happy",
    "ons4_anxiety",
    "hba1c",
)
OUTCOMES = RATE_OUTCOMES + SCORE_OUTCOMES


@dataclass(frozen=True)
class Effect:
    """A true effect of one intervention on one outcome.

    ``rr`` (rate outcomes): rate ratio in IMD quintiles 1..5 once fully ramped up.
    ``shift`` (score outcomes): additive shift in quintiles 1..5 once fully ramped up.
    ``ramp_months``: months after the index month to reach the full effect.
    """

    rr: tuple[float, float, float, float, float] = (1.0,) * 5
    shift: tuple[float, float, float, float, float] = (0.0,) * 5
    ramp_months: int = 6


@dataclass(frozen=True)
class TrendViolation:
    """A known violation of parallel trends: a differential linear trend in the log rate.

    In every PCN that goes live with ``intervention`` within the data, the expected monthly
    count of each outcome in ``outcomes`` *without* any intervention is multiplied by
    ``exp(slope * (t - g))``, where ``t`` is the month and ``g`` the PCN's go-live month (so
    the factor is 1 at go-live); PCNs that never go live keep their rates. The trend runs
    before and after go-live, for everyone registered in those PCNs (treated or not).

    For an event study of the log rate by PCN with PCN and period fixed effects, never-live
    PCNs as the comparison, periods of ``months_per_period`` months and reference period
    ``reference``, the bias of the coefficient at event time ``e`` is exactly (in the
    expected log rate) :meth:`bias` ``= slope * months_per_period * (e - reference)``: every
    first difference equals ``slope * months_per_period``, so the true relative-magnitude
    bound is ``Mbar = 1`` and the true smoothness bound is ``M = 0``.
    """

    intervention: str = "pcsp"
    outcomes: tuple[str, ...] = ("emergency_admission",)
    slope: float = -0.01  # log rate per month (negative: admissions already falling faster)

    def bias(self, event_time: Any, months_per_period: int = 1, reference: int = -1) -> Any:
        """``slope * months_per_period * (event_time - reference)``: the bias of a plain
        event-study coefficient (log-rate scale) at ``event_time`` (a number or an array)."""
        return self.slope * months_per_period * (np.asarray(event_time, dtype=float) - reference)

    @property
    def mbar(self) -> float:
        """The true relative-magnitude bound (1: post-period changes equal the pre-period ones)."""
        return 1.0

    @property
    def smoothness_m(self) -> float:
        """The true smoothness bound (0: the trend is linear)."""
        return 0.0


def _same(x: float) -> tuple[float, float, float, float, float]:
    return (x, x, x, x, x)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    effects: dict[tuple[str, str], Effect] = field(default_factory=dict)
    trend: TrendViolation | None = None  # a known violation of parallel trends (None: none)

    def effect(self, intervention: str, outcome: str) -> Effect:
        """The scenario's effect of ``intervention`` on ``outcome`` (no effect when it sets none)."""
        return self.effects.get((intervention, outcome), Effect())


_CARE_PLANNING_NARROWS = {
    ("pcsp", "emergency_admission"): Effect(rr=(0.70, 0.76, 0.82, 0.88, 0.94), ramp_months=6),
    ("pcsp", "ae_attendance"): Effect(rr=(0.85, 0.88, 0.91, 0.94, 0.97), ramp_months=6),
    ("pcsp", "gp_appointment"): Effect(rr=_same(1.05), ramp_months=3),
    ("pcsp", "pam_score"): Effect(shift=_same(3.0), ramp_months=6),
}
_SOCIAL_PRESCRIBING_NULL: dict[tuple[str, str], Effect] = {}  # no effect on anything
_PHB_WELLBEING = {
    ("phb", "ons4_life_satisfaction"): Effect(shift=_same(0.8), ramp_months=6),
    ("phb", "ons4_worthwhile"): Effect(shift=_same(0.5), ramp_months=6),
    ("phb", "ons4_happy"): Effect(shift=_same(0.6), ramp_months=6),
    ("phb", "ons4_anxiety"): Effect(shift=_same(-0.6), ramp_months=6),
}
_COACHING = {
    ("health_coaching", "hba1c"): Effect(shift=_same(-3.0), ramp_months=6),
    ("health_coaching", "pam_score"): Effect(shift=_same(5.0), ramp_months=6),
}
_INTEGRATED_CARE_HARM = {
    ("integrated_care", "emergency_admission"): Effect(rr=_same(1.08), ramp_months=3),
    ("integrated_care", "ae_attendance"): Effect(rr=_same(1.05), ramp_months=3),
}

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "default",
            "All of the single-intervention scenarios below at once (they concern different "
            "interventions): care planning narrows the gap, social prescribing has no effect but "
            "strong regression to the mean, PHBs improve wellbeing, health coaching lowers HbA1c "
            "and raises activation, and the integrated-care scheme slightly increases admissions.",
            {**_CARE_PLANNING_NARROWS, **_SOCIAL_PRESCRIBING_NULL, **_PHB_WELLBEING, **_COACHING,
             **_INTEGRATED_CARE_HARM},
        ),
        Scenario(
            "care_planning_narrows_gap",
            "Personalised care and support planning reduces emergency admissions most in the most "
            "deprived quintile (rate ratio 0.70 in Q1 to 0.94 in Q5, reached 6 months after the "
            "index month), as in the Year of Care finding that care planning narrows the gap; "
            "smaller reductions in A&E attendances, slightly more GP appointments, +3 PAM points.",
            _CARE_PLANNING_NARROWS,
        ),
        Scenario(
            "care_planning_uniform",
            "Care planning reduces emergency admissions by the same relative amount (rate ratio "
            "0.85) in every quintile; the absolute gap still narrows because the most deprived "
            "have higher rates.",
            {("pcsp", "emergency_admission"): Effect(rr=_same(0.85), ramp_months=6)},
        ),
        Scenario(
            "care_planning_widens_gap",
            "Care planning reduces emergency admissions most in the least deprived quintile (rate "
            "ratio 0.97 in Q1 to 0.85 in Q5): it widens the relative gap.",
            {("pcsp", "emergency_admission"): Effect(rr=(0.97, 0.94, 0.91, 0.88, 0.85), ramp_months=6)},
        ),
        Scenario(
            "care_planning_harm",
            "Care planning increases emergency admissions (rate ratio 1.10 in every quintile, "
            "reached 6 months after the index month), as when plans uncover unmet need that ends "
            "in hospital: a harmful effect with care planning's uptake, so that harm can be "
            "studied with as many treated people as benefit (the integrated-care scheme is rare).",
            {("pcsp", "emergency_admission"): Effect(rr=_same(1.10), ramp_months=6)},
        ),
        Scenario(
            "social_prescribing_rtm",
            "Social prescribing has no effect on anything, but people are referred after a crisis "
            "(recent A&E attendances), so a before-after comparison shows a large spurious fall "
            "(regression to the mean).",
            _SOCIAL_PRESCRIBING_NULL,
        ),
        Scenario(
            "phb_wellbeing",
            "Personal health budgets improve ONS4 wellbeing (life satisfaction +0.8, worthwhile "
            "+0.5, happy +0.6, anxiety -0.6 on the 0-10 scales) and do not change hospital use.",
            _PHB_WELLBEING,
        ),
        Scenario(
            "coaching_activation",
            "Health coaching lowers HbA1c by 3 mmol/mol in people with diabetes and raises PAM by "
            "5 points; no effect on hospital use.",
            _COACHING,
        ),
        Scenario(
            "integrated_care_harm",
            "An integrated-care scheme slightly increases emergency admissions (rate ratio 1.08) and "
            "A&E attendances (1.05): a harmful effect, as some case-management evaluations found.",
            _INTEGRATED_CARE_HARM,
        ),
        Scenario("null", "No intervention has any effect on any outcome.", {}),
        Scenario(
            "trend_violation",
            "Care planning has no effect on emergency admissions (it still raises PAM by 3 points), "
            "but the PCNs that offer it had admissions already falling faster: in every PCN that "
            "goes live with care planning, the untreated admission rate falls by 1% a month "
            "relative to the PCNs that never go live (a linear trend in the log rate of slope "
            "-0.01 a month, the same before and after go-live). A plain difference-in-differences "
            "or event study credits care planning with the fall; the true relative-magnitude bound "
            "is Mbar = 1 and the true smoothness bound M = 0 (`Scenario.trend`).",
            {("pcsp", "pam_score"): Effect(shift=_same(3.0), ramp_months=6)},
            trend=TrendViolation("pcsp", ("emergency_admission",), -0.01),
        ),
    ]
}


def get_scenario(name: str) -> Scenario:
    """Return the named scenario (``"all"`` is an alias of ``"default"``)."""
    from pceval.errors import InputError

    key = "default" if name == "all" else name
    if key not in SCENARIOS:
        raise InputError(
            f"`scenario` must be one of {sorted(SCENARIOS) + ['all']}, got {name!r}"
        )
    return SCENARIOS[key]
