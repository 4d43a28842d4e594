"""Sensitivity of conclusions: could the answer be wrong?

* :func:`honest_did` -- how large a violation of parallel trends would overturn an event-study
  effect (Rambachan & Roth 2023: relative magnitudes with C-LF confidence sets, smoothness with
  the FLCI); :func:`honest_did_equity` -- the same for the Q1 - Q5 difference and the change in
  the SII.
* :func:`evalue`, :func:`evalue_rd` -- how strong an unmeasured confounder would have to be
  (VanderWeele & Ding 2017).
* :func:`rosenbaum_bounds` (and :func:`wilcoxon_bounds`, :func:`mcnemar_bounds`,
  :func:`set_bounds`) -- how large a hidden bias in who was treated within matched pairs or 1:k
  matched sets would overturn the test (Rosenbaum 2002, 2007).
* :func:`rates_around_index`, :func:`placebo_index`, :func:`negative_control_outcome` -- design
  diagnostics for regression to the mean.
* :func:`robustness_sentence` -- the plain sentence for a report.

Formulas, references and a worked example: ``docs/sensitivity.md``. The submodules import scipy
and plotnine only inside functions, so ``import pceval.sensitivity`` stays cheap.
"""

from __future__ import annotations

from pceval.sensitivity.evalues import EValueResult, evalue, evalue_rd
from pceval.sensitivity.honest import HonestDidResult, honest_did, honest_did_equity
from pceval.sensitivity.rosenbaum import (
    RosenbaumResult,
    mcnemar_bounds,
    rosenbaum_bounds,
    set_bounds,
    wilcoxon_bounds,
)
from pceval.sensitivity.rtm import (
    DesignDiagnostic,
    RatesAroundIndex,
    negative_control_outcome,
    placebo_index,
    rates_around_index,
)
from pceval.sensitivity.sentences import robustness_sentence

__all__ = [
    "DesignDiagnostic", "EValueResult", "HonestDidResult", "RatesAroundIndex", "RosenbaumResult",
    "evalue", "evalue_rd", "honest_did", "honest_did_equity", "mcnemar_bounds", "set_bounds",
    "negative_control_outcome", "placebo_index", "rates_around_index", "robustness_sentence",
    "rosenbaum_bounds", "wilcoxon_bounds",
]
