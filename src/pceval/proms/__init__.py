"""Patient-reported outcomes and HbA1c: did the intervention change what people report?

* :func:`wide_scores` -- baseline and follow-up scores per person from a long measures table;
* :func:`score_change` -- the effect on a follow-up score adjusted for its baseline (ANCOVA, or the
  change score), with matching weights and matched-set clusters, non-response counted or weighted,
  by subgroup (IMD quintile) with Q1 - Q5 and the equality test, feeding
  :func:`pceval.inequality.equity_of_effect`;
* :func:`responders` -- the share with a meaningful change (PAM: a gain of 3 points) and PAM level
  transitions, disclosure-protected;
* :func:`ons4_effects` -- the four ONS4 items, each with its polarity, never summed;
* :func:`hba1c_effect` -- HbA1c in mmol/mol for people with diabetes;
* :func:`check_contamination` -- comparison people who received another intervention in the outcome
  window (:class:`ContaminationWarning`).

See docs/proms.md.
"""

from pceval.proms.change import ScoreChangeResult, score_change
from pceval.proms.contamination import ContaminationWarning, check_contamination
from pceval.proms.meaningful_change import PAM_MEANINGFUL_CHANGE, RespondersResult, responders
from pceval.proms.ons4 import ONS4_ITEMS, Ons4Result, hba1c_effect, ons4_effects
from pceval.proms.scores import wide_scores

__all__ = [
    "score_change", "ScoreChangeResult", "responders", "RespondersResult", "PAM_MEANINGFUL_CHANGE",
    "ons4_effects", "Ons4Result", "ONS4_ITEMS", "hba1c_effect", "check_contamination",
    "ContaminationWarning", "wide_scores",
]
