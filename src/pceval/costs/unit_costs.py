"""Unit costs: a versioned table of what one unit of NHS activity costs, with its price year and source.

A :class:`UnitCosts` table has one row per activity and the columns

* ``activity``: the name :func:`pceval.costs.consequences` looks up (e.g. ``"emergency_admission"``,
  the event types of the synthetic data);
* ``unit_cost``: the cost of one unit (e.g. one admission), in pounds;
* ``currency_year``: the financial year whose prices the cost is in (``"2023/24"``); a cost without
  its price year cannot be compared with an intervention's cost, so a table without it is refused;
* ``source``: where the figure comes from (publication, table and year);

and optionally ``unit`` (what one unit is, e.g. ``"per admission"``), ``mean_length_of_stay`` (bed days
per admission, for the bed days avoided) with its ``length_of_stay_source``, and ``notes``.

The table travels with a ``version`` and a ``citation`` so that every report can state which table and
which year it used (``uc.citation``). :meth:`UnitCosts.inflate` moves every cost to another price year
with a :class:`CostIndex`, which must itself carry a citation:

``cost_in_year_t = cost_in_year_s x index_t / index_s``

(the PSSRU *Unit Costs of Health and Social Care* manuals publish the NHS cost inflation index,
NHSCII, for this purpose; Jones et al., PSSRU, University of Kent).

:func:`default_unit_costs` is an *indicative* table of national averages in 2023/24 prices, each
cited to its publication, table and year (NHS England's National Cost Collection 2023/24 for
admissions, A&E and outpatients, computed from a shipped extract of the schedule; the PSSRU Unit Costs
of Health and Social Care 2024 manual for a GP consultation). :func:`nhs_cost_inflation_index` is the
NHSCII from the same manual. :func:`example_unit_costs` is an *illustrative* table, labelled as such in
every output, for the documentation and tests only.

Example
-------
>>> import pandas as pd
>>> from pceval.costs import UnitCosts
>>> uc = UnitCosts(pd.DataFrame({"activity": ["emergency_admission"], "unit_cost": [2000.0],
...                              "currency_year": ["2023/24"], "source": ["my ICB's finance team, 2024"]}),
...                version="ICB costs v1")
>>> uc.cost("emergency_admission")
2000.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from pceval._checks import check_frame, did_you_mean
from pceval.errors import InputError

REQUIRED = ("activity", "unit_cost", "currency_year", "source")
OPTIONAL = ("unit", "mean_length_of_stay", "length_of_stay_source", "notes")
ILLUSTRATIVE = "illustrative, not NHS figures"

_FY = re.compile(r"^\s*(?:FY\s*)?(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*$", re.I)


def financial_year(value: Any, name: str = "currency_year") -> str:
    """``value`` as a financial year ``"YYYY/YY"`` (accepts ``2023/24``, ``2023-24``, ``2023/2024``).

    A bare calendar year (``2023``) is refused: NHS costs are priced by financial year, and 2023 could
    mean 2022/23 or 2023/24.
    """
    m = _FY.match(str(value))
    if m is None or isinstance(value, (bool, int, float, np.integer, np.floating)):
        raise InputError(f"`{name}` must be a financial year such as '2023/24', got {value!r}"
                         + (" (a calendar year is ambiguous: 2023 could be 2022/23 or 2023/24)"
                            if re.fullmatch(r"\s*\d{4}(\.0)?\s*", str(value)) else ""))
    start, end = int(m.group(1)), m.group(2)
    end_full = int(end) if len(end) == 4 else (start // 100) * 100 + int(end)
    if end_full != start + 1:
        raise InputError(f"`{name}` {value!r} is not a financial year: the second year must follow "
                         f"the first (e.g. '{start}/{(start + 1) % 100:02d}')")
    return f"{start}/{(start + 1) % 100:02d}"


@dataclass(frozen=True)
class CostIndex:
    """A price index by financial year, with its citation (needed to inflate a cost).

    ``values`` maps a financial year (``"2022/23"``) to the index level (any base); ``name`` says what
    index it is (e.g. "NHS cost inflation index, pay and prices") and ``citation`` where its figures
    were published (publication, table, year). An index without a citation is refused.
    """

    values: Mapping[str, float]
    name: str
    citation: str

    def __post_init__(self) -> None:
        if not isinstance(self.citation, str) or not self.citation.strip():
            raise InputError("`citation`: a cost index must say where its figures were published "
                             "(publication, table and year), e.g. the PSSRU Unit Costs of Health and "
                             "Social Care manual's NHS cost inflation index")
        if not isinstance(self.values, Mapping) or not self.values:
            raise InputError("`values` must be a non-empty mapping {financial year: index level}")
        clean: dict[str, float] = {}
        for k, v in self.values.items():
            year = financial_year(k, "values")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(v) or v <= 0:
                raise InputError(f"`values`: the index for {year} must be a positive number, got {v!r}")
            clean[year] = float(v)
        object.__setattr__(self, "values", dict(sorted(clean.items())))

    def factor(self, from_year: str, to_year: str) -> float:
        """``index[to_year] / index[from_year]``: what one pound in ``from_year`` prices costs in
        ``to_year`` prices."""
        a, b = financial_year(from_year, "from_year"), financial_year(to_year, "to_year")
        for y in (a, b):
            if y not in self.values:
                raise InputError(f"the cost index '{self.name}' has no value for {y}; it covers "
                                 f"{list(self.values)}")
        return self.values[b] / self.values[a]

    def to_frame(self) -> pd.DataFrame:
        """One row per financial year: ``currency_year, index``, with ``name`` and ``citation``."""
        return pd.DataFrame({"currency_year": list(self.values), "index": list(self.values.values()),
                             "name": self.name, "citation": self.citation})


@dataclass(frozen=True)
class UnitCosts:
    """A versioned table of unit costs (see the module docstring for its columns).

    Parameters
    ----------
    table : DataFrame with ``activity, unit_cost, currency_year, source`` (and optionally ``unit``,
        ``mean_length_of_stay``, ``length_of_stay_source``, ``notes``). It is copied, never changed.
    version : a name for this version of the table (e.g. ``"ICB finance 2024-06"``).
    citation : the sentence every report quotes; default: built from the version and the sources.
    label : ``"user-supplied"`` (default), ``"indicative"`` for national averages, or the example's
        ``"illustrative, not NHS figures"``.
    """

    table: pd.DataFrame
    version: str
    citation: str = ""
    label: str = "user-supplied"
    inflated_with: str | None = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version.strip():
            raise InputError("`version` must name this version of the cost table, e.g. 'ICB costs 2024-06'")
        tab = _checked_table(self.table)
        object.__setattr__(self, "table", tab)
        if not self.citation:
            sources = "; ".join(dict.fromkeys(tab["source"]))
            years = ", ".join(dict.fromkeys(tab["currency_year"]))
            text = f"Unit costs: {self.version} ({self.label}; prices of {years}). Sources: {sources}."
            object.__setattr__(self, "citation", text)

    @property
    def activities(self) -> list[str]:
        """The activity names in the table."""
        return list(self.table["activity"])

    def row(self, activity: str) -> pd.Series:
        """The table's row for ``activity``; an unknown name is an error that suggests the nearest."""
        if activity not in self.activities:
            raise InputError(f"`activity` {activity!r} is not in the unit cost table "
                             f"'{self.version}'{did_you_mean(activity, self.activities)}; its activities "
                             f"are {self.activities}")
        return self.table.loc[self.table["activity"] == activity].iloc[0]

    def cost(self, activity: str) -> float:
        """The unit cost of ``activity`` (pounds, in the row's ``currency_year`` prices)."""
        return float(self.row(activity)["unit_cost"])

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy), with ``version`` and ``label`` columns."""
        return self.table.assign(version=self.version, label=self.label)

    def inflate(self, to_year: str, index: CostIndex | None = None) -> UnitCosts:
        """Every cost in ``to_year`` prices: ``cost x index[to_year] / index[currency_year]``.

        ``index`` is a :class:`CostIndex` with its citation (e.g. the NHS cost inflation index from the
        PSSRU Unit Costs of Health and Social Care manual). The new table's citation names the index.
        """
        if index is None:
            raise InputError("`index`: inflating costs needs a cited price index; build one with "
                             "pceval.costs.CostIndex({'2022/23': ..., '2023/24': ...}, name=..., "
                             "citation='publication, table, year')")
        if not isinstance(index, CostIndex):
            raise InputError(f"`index` must be a pceval.costs.CostIndex, got {type(index).__name__}")
        to_year = financial_year(to_year, "to_year")
        factors = np.array([index.factor(y, to_year) for y in self.table["currency_year"]])
        tab = self.table.assign(unit_cost=self.table["unit_cost"].to_numpy(float) * factors,
                                currency_year=to_year)
        note = f"inflated to {to_year} prices with {index.name} ({index.citation})"
        return UnitCosts(tab, version=self.version, citation=f"{self.citation} Costs {note}.",
                         label=self.label, inflated_with=note)

    def summary(self) -> str:
        """The table as text, with its citation."""
        cols = [c for c in ("activity", "unit_cost", "currency_year", "unit", "mean_length_of_stay")
                if c in self.table]
        return self.citation + "\n" + self.table[cols].to_string(index=False)


def _checked_table(table: Any) -> pd.DataFrame:
    """The cost table checked and normalised: required columns present and complete, costs
    non-negative numbers, one row per activity, currency years as ``"YYYY/YY"``."""
    if isinstance(table, pd.DataFrame) and "currency_year" not in table.columns:
        raise InputError(
            "`table` has no 'currency_year' column: every unit cost must state the financial year of "
            "its prices (e.g. '2023/24'), or costs from different years would be mixed silently. "
            f"Its columns are {list(table.columns)}")
    los = ["mean_length_of_stay"] if "mean_length_of_stay" in table.columns else []
    df = check_frame(table, "table", required=list(REQUIRED), numeric=["unit_cost", *los],
                     not_null=list(REQUIRED), unique=["activity"],
                     ranges={"unit_cost": (0, None), **{c: (0, None) for c in los}})
    keep = list(REQUIRED) + [c for c in OPTIONAL if c in df.columns]
    out = df[keep].copy()
    out["activity"] = out["activity"].astype(str)
    out["unit_cost"] = out["unit_cost"].astype(float)
    out["currency_year"] = [financial_year(v, "table['currency_year']") for v in out["currency_year"]]
    out["source"] = out["source"].astype(str)
    blank = out["source"].str.strip() == ""
    if blank.any():
        raise InputError(f"`table`: column 'source' is empty for {list(out.loc[blank, 'activity'])}; "
                         "say where each cost comes from (publication, table and year)")
    if los:
        out["mean_length_of_stay"] = out["mean_length_of_stay"].astype(float)
    return out.reset_index(drop=True)


def _read_csv(name: str) -> pd.DataFrame:
    with resources.files("pceval").joinpath(f"data/{name}").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def example_unit_costs() -> UnitCosts:
    """An **illustrative** cost table for the documentation and tests: round numbers, *not NHS
    figures* (its label and citation say so in every output). Activities: the event types of the
    synthetic data (``emergency_admission`` with a mean length of stay, ``ae_attendance``,
    ``gp_appointment``, ``outpatient_attendance``), in 2023/24 prices."""
    return UnitCosts(_read_csv("unit_costs_example.csv"), version="pceval example table",
                     citation=("Unit costs: the pceval example table (illustrative, not NHS figures; "
                               "2023/24 prices). Replace it with cited NHS costs before using the results."),
                     label=ILLUSTRATIVE)


def example_cost_index() -> CostIndex:
    """An **illustrative** price index (2020/21 = 100) for the documentation and tests; not the NHSCII."""
    tab = _read_csv("unit_costs_example_index.csv")
    return CostIndex(dict(zip(tab["currency_year"], tab["index"].astype(float), strict=True)),
                     name="pceval example index (illustrative, not the NHS cost inflation index)",
                     citation="pceval example index: illustrative figures, not published")


# --- the shipped, cited default: national averages read from copies of the publications ------------

NCC_FILE = "ncc_2023_24_extract.csv.gz"
PSSRU_FILE = "pssru_2024_extract.csv"
NHSCII_FILE = "nhscii_pssru_2024.csv"
INDICATIVE = "indicative"

NCC_PUBLICATION = ("NHS England, National Cost Collection for the NHS 2023/24, National Schedule of NHS Costs "
                   "(national averages)")
NCC_COPY = ("https://github.com/NICE-Data-and-Analytics/COSTmos/blob/"
            "3b36636f5b8e65d174c8379740e7b9caedcb3894/inst/extdata/ncc_2023_24.csv")
PSSRU_PUBLICATION = ("Jones K, Weatherly H, Birch S, et al. (2025) Unit Costs of Health and Social Care 2024 "
                     "Manual. PSSRU (University of Kent) & Centre for Health Economics (University of York)")
PSSRU_COPY = ("https://github.com/NICE-Data-and-Analytics/COSTmos/blob/"
              "22570f209f0c5c4041826256337dc38d5f19ed7a/data/PSSRU/PSSRU_2024.pdf")

#: activity -> (what one unit is, the schedule rows in words, the rows: {service: currency-code regex})
_NCC_ROWS: dict[str, tuple[str, str, dict[str, str]]] = {
    "emergency_admission": ("per emergency admission (non-elective spell)",
                            "every HRG row of 'Non-Elective Inpatient - Long Stay' and "
                            "'Non-Elective Inpatient - Short Stay'",
                            {"Non-Elective Inpatient - Long Stay": ".*",
                             "Non-Elective Inpatient - Short Stay": ".*"}),
    "ae_attendance": ("per A&E attendance", "'Emergency Care' rows VB01Z to VB99Z (all A&E types)",
                      {"Emergency Care": r"VB\d\dZ"}),
    "outpatient_attendance": ("per outpatient attendance",
                              "'Consultant Led' and 'Non Consultant Led' outpatient attendance rows "
                              "WF01A-WF01D and WF02A-WF02D",
                              {"Consultant Led": r"WF0[12][A-D]", "Non Consultant Led": r"WF0[12][A-D]"}),
}


def ncc_extract() -> pd.DataFrame:
    """The rows of the National Schedule of NHS Costs 2023/24 that :func:`default_unit_costs` averages.

    Columns as published: ``Service Code`` (the schedule's department, e.g. ``"Emergency Care"``),
    ``Dept or Currency Code`` (HRG), ``Dept or Currency Desc``, ``Activity``, ``Unit cost`` (the
    national average unit cost, pounds, 2023/24 prices) and ``Cost``. Where it was copied from and
    which rows were kept: ``src/pceval/data/README.md``.
    """
    with resources.files("pceval").joinpath(f"data/{NCC_FILE}").open("rb") as fh:
        return pd.read_csv(fh, compression="gzip", dtype={"Dept or Currency Code": str})


def ncc_weighted_average(extract: pd.DataFrame, rows: Mapping[str, str]) -> tuple[float, float, int]:
    """Activity-weighted mean national average unit cost over schedule rows.

    ``rows`` maps a ``Service Code`` to a regular expression its ``Dept or Currency Code`` must match.
    Returns ``(mean, activity, n_rows)`` with

    ``mean = sum_r(Activity_r x Unit cost_r) / sum_r(Activity_r)``,

    the cost of the average unit of activity across the rows (e.g. an emergency admission is spread
    over some 4,400 non-elective long- and short-stay HRGs).
    """
    code = extract["Dept or Currency Code"].astype(str)
    keep = np.zeros(len(extract), dtype=bool)
    for service, pattern in rows.items():
        keep |= (extract["Service Code"] == service).to_numpy() & code.str.fullmatch(pattern).to_numpy()
    sel = extract.loc[keep]
    if sel.empty:
        raise InputError(f"`rows` {dict(rows)} select no row of the National Schedule extract")
    act = sel["Activity"].to_numpy(float)
    cost = sel["Unit cost"].to_numpy(float)
    ok = np.isfinite(act) & np.isfinite(cost) & (act > 0)
    if not ok.all():
        raise InputError(f"{int((~ok).sum())} selected schedule rows have no activity or unit cost")
    return float((act * cost).sum() / act.sum()), float(act.sum()), int(len(sel))


def pssru_extract() -> pd.DataFrame:
    """Figures read from the PSSRU *Unit Costs of Health and Social Care 2024* manual (Jones et al.,
    2025): ``table, row, column, value, currency_year, page`` (page as printed)."""
    return _read_csv(PSSRU_FILE)


def default_unit_costs() -> UnitCosts:
    """Indicative national average NHS unit costs in 2023/24 prices, each cited to its publication.

    =======================  ===============================================================================
    activity                 unit cost
    =======================  ===============================================================================
    emergency_admission      National Schedule of NHS Costs 2023/24 (NHS England National Cost Collection),
                             the activity-weighted mean of every *Non-Elective Inpatient - Long Stay* and
                             *- Short Stay* HRG row: ``sum(Activity x Unit cost) / sum(Activity)``
    ae_attendance            the same schedule, *Emergency Care* rows VB01Z-VB99Z (all A&E types; the
                             extract does not split by department type), activity-weighted
    outpatient_attendance    the same schedule, outpatient attendances WF01A-D and WF02A-D (first and
                             follow-up, face-to-face or not, single and multi-professional) under
                             *Consultant Led* and *Non Consultant Led*, activity-weighted
    gp_appointment           PSSRU Unit Costs of Health and Social Care 2024, Table 9.4.2: per surgery
                             consultation lasting 10 minutes, including direct care staff costs, with
                             qualification costs (2023/24 prices)
    =======================  ===============================================================================

    The averages are *computed* here from the shipped extract of the schedule (``ncc_extract()``), not
    typed; ``src/pceval/data/README.md`` says where each file was copied from. The table is labelled
    ``"indicative"``: a national average is not the cost of an admission avoided in one ICB (avoided
    admissions are often shorter than average), and no mean length of stay is shipped, so bed days are
    not computed unless you pass ``length_of_stay=``. The costs are in 2023/24 prices as published;
    move them to another year with :meth:`UnitCosts.inflate` and :func:`nhs_cost_inflation_index`.

    Example
    -------
    >>> from pceval.costs import default_unit_costs
    >>> uc = default_unit_costs()
    >>> uc.label, sorted(uc.activities)[:2]
    ('indicative', ['ae_attendance', 'emergency_admission'])
    """
    ncc = ncc_extract()
    rows = []
    for activity, (unit, used, select) in _NCC_ROWS.items():
        mean, act, n = ncc_weighted_average(ncc, select)
        rows.append({"activity": activity, "unit_cost": mean, "currency_year": "2023/24",
                     "source": f"{NCC_PUBLICATION}; rows {used}",
                     "unit": unit,
                     "notes": (f"activity-weighted mean of the national average unit costs of {n:,} schedule "
                               f"rows ({act:,.0f} units of activity), computed by pceval from the extract "
                               f"{NCC_FILE} (copied from {NCC_COPY})")})
    ps = pssru_extract()
    gp = ps.loc[(ps["table"].str.startswith("Table 9.4.2"))
                & (ps["row"] == "Per surgery consultation lasting 10 minutes")
                & (ps["column"] == "Including direct care staff costs; with qualification costs")].iloc[0]
    rows.append({"activity": "gp_appointment", "unit_cost": float(gp["value"]),
                 "currency_year": gp["currency_year"],
                 "source": (f"{PSSRU_PUBLICATION}; {gp['table']}, '{gp['row']}', "
                            f"{gp['column'].lower()} (page {gp['page']})"),
                 "unit": "per GP surgery consultation (10 minutes)",
                 "notes": f"read from the manual (copy: {PSSRU_COPY})"})
    citation = ("Unit costs: indicative national averages in 2023/24 prices (not inflated) from the NHS "
                "National Cost Collection 2023/24, National Schedule of NHS Costs (emergency admission: "
                "activity-weighted mean of the non-elective long- and short-stay HRGs; A&E: Emergency Care "
                "VB01Z-VB99Z; outpatients: WF01-WF02 attendances) and the PSSRU Unit Costs of Health and "
                "Social Care 2024, Table 9.4.2 (GP consultation).")
    return UnitCosts(pd.DataFrame(rows), version="pceval default: NCC 2023/24 and PSSRU 2024 (indicative)",
                     citation=citation, label=INDICATIVE)


def nhs_cost_inflation_index(kind: str = "pay and prices") -> CostIndex:
    """The NHS Cost Inflation Index (NHSCII, NHS providers) as a :class:`CostIndex`, 2014/15 = 100.

    Built from the annual percentage increases of the PSSRU *Unit Costs of Health and Social Care 2024*
    manual, Table 12.1.1 (2015/16 to 2023/24; 2023/24 provisional), chained:
    ``index[t] = index[t-1] x (1 + increase[t] / 100)``. ``kind`` is ``"pay and prices"`` (the
    manual's choice for uprating unit costs), ``"pay"`` or ``"prices"``. It ends at 2023/24, the price
    year of :func:`default_unit_costs`, so it moves costs back to earlier years (to match an
    evaluation's period); a later year needs a later manual.

    Example
    -------
    >>> from pceval.costs import default_unit_costs, nhs_cost_inflation_index
    >>> uc_2021 = default_unit_costs().inflate("2021/22", index=nhs_cost_inflation_index())
    """
    column = {"pay and prices": "nhscii_pay_and_prices_pct", "pay": "nhscii_pay_pct",
              "prices": "nhscii_prices_pct"}
    if kind not in column:
        raise InputError(f"`kind` must be one of {list(column)}, got {kind!r}"
                         f"{did_you_mean(str(kind), list(column))}")
    tab = _read_csv(NHSCII_FILE)
    years = [financial_year(y, "financial_year") for y in tab["financial_year"]]
    first = int(years[0][:4]) - 1
    base = f"{first}/{(first + 1) % 100:02d}"
    levels = 100.0 * np.cumprod(1.0 + tab[column[kind]].to_numpy(float) / 100.0)
    values = {base: 100.0, **dict(zip(years, levels.tolist(), strict=True))}
    return CostIndex(values, name=f"NHS Cost Inflation Index (NHSCII, NHS providers), {kind}; {base} = 100",
                     citation=(f"{PSSRU_PUBLICATION}, Table 12.1.1 The NHS Cost Inflation Index, annual % "
                               "increases (2023/24 provisional), chained by pceval"))


__all__ = ["UnitCosts", "CostIndex", "default_unit_costs", "example_unit_costs", "example_cost_index",
           "financial_year", "ILLUSTRATIVE", "INDICATIVE", "ncc_extract", "ncc_weighted_average", "pssru_extract",
           "nhs_cost_inflation_index"]
