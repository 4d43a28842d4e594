"""Costs and consequences: an effect estimate in NHS activity and money, with its uncertainty.

* :func:`consequences` -- from an effect (a difference in rates, or a rate ratio and a baseline
  rate), the evaluated population, a unit cost table and the intervention's cost per person: events
  avoided per year and per 1,000 people a year, people treated per event avoided (NNT, with Altman's
  interval), bed days, their cost, net cost per person, the break-even effect and the return on
  investment, each with an interval propagated from the effect's own uncertainty (delta method or
  draws), overall and by subgroup (IMD quintile). ``bottom_line()`` says it in plain English.
* :class:`UnitCosts` -- a versioned table ``activity, unit_cost, currency_year, source`` with its
  citation; :meth:`UnitCosts.inflate` with a cited :class:`CostIndex`.
* :func:`default_unit_costs` -- indicative national averages in 2023/24 prices, cited to their
  publication, table and year (NHS National Cost Collection 2023/24; PSSRU Unit Costs 2024);
  :func:`nhs_cost_inflation_index` (NHSCII, PSSRU 2024 Table 12.1.1) moves them to another year.
  :func:`example_unit_costs` is illustrative (not NHS figures), for docs and tests.

See ``docs/costs.md`` for the formulas, references and a worked example on the synthetic data.
"""

from __future__ import annotations

from pceval.costs._consequences import TERMS, Consequences, consequences
from pceval.costs.unit_costs import (
    ILLUSTRATIVE,
    INDICATIVE,
    CostIndex,
    UnitCosts,
    default_unit_costs,
    example_cost_index,
    example_unit_costs,
    ncc_extract,
    ncc_weighted_average,
    nhs_cost_inflation_index,
    pssru_extract,
)

__all__ = ["consequences", "Consequences", "TERMS", "UnitCosts", "CostIndex", "default_unit_costs",
           "example_unit_costs", "example_cost_index", "ILLUSTRATIVE", "INDICATIVE", "nhs_cost_inflation_index",
           "ncc_extract", "ncc_weighted_average", "pssru_extract"]
