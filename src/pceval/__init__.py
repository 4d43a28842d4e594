"""pceval: evaluate personalised-care interventions in the NHS.

Did it work, for whom, and did it narrow the gap between the most and least deprived?
See ``docs/architecture.md`` for the modules and how data flows between them.

``import pceval`` is cheap: the submodules, and the heavy libraries behind them (scipy, statsmodels,
plotnine), load the first time a name is used (PEP 562 module ``__getattr__``). ``pceval.match``,
``from pceval import att_gt``-style imports and ``pceval.did.att_gt`` all work as usual.

To export a new public name, add it to ``_EXPORTS`` (name -> module); a new public submodule goes in
``_SUBMODULES``. Both feed ``__all__``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pceval._version import __version__

# public submodules, loaded on first use
_SUBMODULES: tuple[str, ...] = (
    "cohort",
    "costs",
    "covariate_balance",
    "did",
    "disclosure",
    "effects",
    "errors",
    "inequality",
    "matching",
    "panel",
    "plots",
    "proms",
    "report",
    "sensitivity",
    "synthetic",
)

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "to_pandas": "pceval._engines",
    "verdict": "pceval._results",
    "Cohort": "pceval.cohort",
    "baseline_covariates": "pceval.cohort",
    "candidate_index_periods": "pceval.cohort",
    "index_dates": "pceval.cohort",
    "BalanceResult": "pceval.covariate_balance",
    "balance_table": "pceval.covariate_balance",
    "EffectResult": "pceval.effects",
    "estimate_effect": "pceval.effects",
    "DisclosureError": "pceval.errors",
    "EstimationError": "pceval.errors",
    "InputError": "pceval.errors",
    "PcevalError": "pceval.errors",
    "PcevalWarning": "pceval.errors",
    "MatchResult": "pceval.matching",
    "match": "pceval.matching",
    "build_panel": "pceval.panel",
    "calendar_panel": "pceval.panel",
    "matched_panel": "pceval.panel",
    "stratified_counts": "pceval.panel",
    "ScoreChangeResult": "pceval.proms",
    "score_change": "pceval.proms",
    "evalue": "pceval.sensitivity",
    "honest_did": "pceval.sensitivity",
    "rosenbaum_bounds": "pceval.sensitivity",
}

__all__ = [*_SUBMODULES, *_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    """Load a submodule or an exported name the first time it is asked for."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"pceval.{name}")
        globals()[name] = module
        return module
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pceval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what editors and type checkers see; not run
    from pceval import (
        cohort,
        costs,
        covariate_balance,
        did,
        disclosure,
        effects,
        errors,
        inequality,
        matching,
        panel,
        plots,
        proms,
        report,
        sensitivity,
        synthetic,
    )
    from pceval._engines import to_pandas
    from pceval._results import verdict
    from pceval.cohort import Cohort, baseline_covariates, candidate_index_periods, index_dates
    from pceval.covariate_balance import BalanceResult, balance_table
    from pceval.effects import EffectResult, estimate_effect
    from pceval.errors import (
        DisclosureError,
        EstimationError,
        InputError,
        PcevalError,
        PcevalWarning,
    )
    from pceval.matching import MatchResult, match
    from pceval.panel import build_panel, calendar_panel, matched_panel, stratified_counts
    from pceval.proms import ScoreChangeResult, score_change
    from pceval.sensitivity import evalue, honest_did, rosenbaum_bounds
