"""pceval: evaluate personalised-care interventions in the NHS.

Did it work, for whom, and did it narrow the gap between the most and least deprived?
See ``docs/architecture.md`` for the modules and how data flows between them.
"""

from __future__ import annotations

from pceval import (
    cohort,
    covariate_balance,
    did,
    disclosure,
    effects,
    errors,
    inequality,
    matching,
    panel,
    plots,
    report,
    synthetic,
)
from pceval._engines import to_pandas
from pceval._results import verdict
from pceval._version import __version__  # noqa: E402
from pceval.cohort import Cohort, baseline_covariates, candidate_index_periods, index_dates
from pceval.covariate_balance import BalanceResult, balance_table
from pceval.effects import EffectResult, estimate_effect
from pceval.errors import DisclosureError, EstimationError, InputError, PcevalError, PcevalWarning
from pceval.matching import MatchResult, match
from pceval.panel import build_panel, calendar_panel, matched_panel, stratified_counts

__all__ = [
    "errors", "synthetic", "cohort", "panel", "did", "disclosure", "report", "plots",
    "matching", "covariate_balance", "balance_table", "BalanceResult", "verdict", "effects", "inequality", "match", "MatchResult", "estimate_effect",
    "EffectResult",
    "PcevalError", "InputError", "EstimationError", "DisclosureError", "PcevalWarning",
    "Cohort", "index_dates", "candidate_index_periods", "baseline_covariates",
    "build_panel", "calendar_panel", "matched_panel", "stratified_counts", "to_pandas",
    "__version__",
]
