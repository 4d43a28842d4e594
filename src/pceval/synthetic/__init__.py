"""Synthetic England: a synthetic ICB population whose true intervention effects are known.

>>> from pceval import synthetic
>>> data = synthetic.generate(n_people=5_000, scenario="care_planning_narrows_gap", seed=1)
>>> data.truth.query("breakdown == 'overall'").head()  # doctest: +SKIP

See ``synthetic_data/data_dictionary.md`` for every column, the data-generating process and each
scenario's true effects.
"""

from pceval.synthetic.generator import TABLES, SyntheticData, generate, load
from pceval.synthetic.scenarios import (
    INTERVENTION_LABELS,
    INTERVENTIONS,
    OUTCOMES,
    RATE_OUTCOMES,
    SCENARIOS,
    SCORE_OUTCOMES,
    Effect,
    Scenario,
    TrendViolation,
    get_scenario,
)

__all__ = [
    "generate", "load", "SyntheticData", "TABLES", "SCENARIOS", "Scenario", "Effect", "TrendViolation",
    "get_scenario", "INTERVENTIONS", "INTERVENTION_LABELS", "OUTCOMES", "RATE_OUTCOMES",
    "SCORE_OUTCOMES",
]
