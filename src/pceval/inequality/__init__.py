"""Deprivation-stratified outcome measures and the equity of effects (``pceval.inequality``).

The PHE/OHID methods, reproduced to PHEindicatormethods' own test data:

* :func:`proportion` (Wilson), :func:`rate` (exact below 10 events, Byar's above), :func:`mean`
  (Student's t) -- row by row, or summed within ``by`` groups;
* :func:`dsr` (Dobson; ESP 2013 bundled, see :func:`esp2013`; non-independent events), :func:`isr`
  (:func:`isr_ratio`, :func:`isr_rate`);
* :func:`sii` -- slope and relative index of inequality with simulated limits (PHE), the NHS England
  variant (ridits from national shares) and the RII definitions in UK use;
* IMD helpers: :func:`decile_to_quintile`, :func:`core20`, :func:`add_imd`, :func:`check_imd_edition`,
  and PHE's :func:`quantile` assignment.

Conventions: IMD decile/quintile 1 = most deprived; a positive SII means worse for the most deprived
when ``polarity`` is given (see :mod:`pceval.inequality.sii`); every result says its method and
confidence level. See ``docs/inequality.md``.

>>> from pceval import inequality as ineq
>>> import pandas as pd
>>> ineq.rate(pd.DataFrame({"x": [65], "n": [100]}), x="x", n="n", multiplier=100)["method"][0]
'Byars'
"""

from __future__ import annotations

from pceval.inequality.concentration import concentration_index
from pceval.inequality.crude import mean, proportion, rate
from pceval.inequality.equity import EquityOfEffect, UptakeEquity, equity_of_effect, uptake_equity
from pceval.inequality.gaps import core20_gap, quintile_gap
from pceval.inequality.imd import (
    DEFAULT_IMD_EDITION,
    IMD_EDITIONS,
    add_imd,
    check_imd_edition,
    core20,
    decile_to_quintile,
    quantile,
)
from pceval.inequality.plots import plot_equity, plot_gap_over_time, plot_sii, plot_uptake
from pceval.inequality.slope_index import sii
from pceval.inequality.standardised import dsr, esp2013, isr, isr_rate, isr_ratio

__all__ = [
    "proportion", "rate", "mean",
    "dsr", "isr", "isr_ratio", "isr_rate", "esp2013",
    "sii", "concentration_index", "quintile_gap", "core20_gap",
    "equity_of_effect", "EquityOfEffect", "uptake_equity", "UptakeEquity",
    "IMD_EDITIONS", "DEFAULT_IMD_EDITION", "check_imd_edition", "decile_to_quintile", "core20",
    "add_imd", "quantile",
    "plot_sii", "plot_gap_over_time", "plot_equity", "plot_uptake",
]
