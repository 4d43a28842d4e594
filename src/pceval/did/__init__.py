"""Difference-in-differences: 2x2, two-way fixed effects, event studies and staggered adoption.

* :func:`did2x2` - treated/comparison x pre/post, linear (OLS) or Poisson (PPML with
  person-time), both scales, cluster-robust SEs (person or matched set).
* :func:`twfe`, :func:`event_study` - unit and period fixed effects, leads and lags with binned
  end points, joint pre-trend test; equal to fixest/pyfixest.
* :func:`att_gt` - Callaway & Sant'Anna (2021) group-time ATTs (doubly robust, IPW or outcome
  regression) with analytic influence-function SEs and multiplier-bootstrap uniform bands;
  ``.aggregate("simple" | "dynamic" | "group" | "calendar")`` and ``.plot()``; equal to R did.
* :func:`bacon_decomposition` - what a TWFE estimate is made of (Goodman-Bacon 2021).
* :func:`effects_by` - any of these by subgroup (e.g. IMD quintile): equality test, Q1-Q5
  difference and trend across deprivation.

See ``docs/did.md``.
"""

from pceval.did.aggregation import AggregateResult, aggregate
from pceval.did.bacon import BaconResult, bacon_decomposition
from pceval.did.fixed_effects import FixedEffectsResult, event_study, twfe
from pceval.did.heterogeneity import SubgroupEffects, effects_by
from pceval.did.staggered import AttGtResult, att_gt
from pceval.did.two_by_two import DidResult, did2x2

__all__ = [
    "did2x2", "DidResult", "twfe", "event_study", "FixedEffectsResult", "att_gt", "AttGtResult",
    "aggregate", "AggregateResult", "bacon_decomposition", "BaconResult", "effects_by",
    "SubgroupEffects",
]
