"""Difference-in-differences: 2x2, two-way fixed effects, event studies and staggered adoption.

* :func:`att_gt` - Callaway & Sant'Anna (2021) group-time ATTs (doubly robust, IPW or outcome
  regression) with analytic influence-function SEs and multiplier-bootstrap uniform bands;
  ``.aggregate("simple" | "dynamic" | "group" | "calendar")`` and ``.plot()``.
"""

from pceval.did.aggregate import AggregateResult, aggregate
from pceval.did.staggered import AttGtResult, att_gt

__all__ = ["att_gt", "AttGtResult", "aggregate", "AggregateResult"]
