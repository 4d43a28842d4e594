"""Matched comparison groups: ``pceval.match`` and its :class:`MatchResult`.

Methods: greedy nearest neighbour on a propensity score (logistic or probit, or user scores) or
on Mahalanobis distance, with calipers, exact strata, Mahalanobis matching inside a
propensity-score caliper, 1:k ratios, replacement and rolling entry; exact matching; coarsened
exact matching; subclassification. The rules (sort order, ties, caliper width, weights) are
MatchIt's, and the test suite checks pceval against MatchIt 4.7.2's outputs pair by pair.
See ``docs/matching.md``.

Modules: :mod:`~pceval.matching.distance` (design matrices, propensity model, Mahalanobis),
:mod:`~pceval.matching.nearest` (greedy matching), :mod:`~pceval.matching.exact`,
:mod:`~pceval.matching.cem`, :mod:`~pceval.matching.subclass`, :mod:`~pceval.matching.rolling`,
:mod:`~pceval.matching.result`.
"""

from __future__ import annotations

from pceval.matching.api import match
from pceval.matching.distance import PropensityModel
from pceval.matching.result import MatchResult

__all__ = ["match", "MatchResult", "PropensityModel"]
