"""Costs and consequences: what an effect means in NHS activity and money, with its uncertainty.

From an effect (a difference in rates, or a rate ratio times a baseline rate), the size of the
population it applies to, the unit cost of the activity and the intervention's cost per person,
:func:`consequences` computes, with ``a`` = events avoided per 1,000 people a year (one person = one
person-year a year), ``N`` people, ``y`` years the intervention's cost per person buys its effect
for, ``u`` the unit cost, ``c`` the intervention's cost per person and ``L`` the mean length of stay:

=====================================  ==========================================================
term                                   formula
=====================================  ==========================================================
events_avoided_per_1000_per_year       ``a = -1000 d`` (``d``: change in events per person-year);
                                       from a rate ratio ``RR`` and baseline rate ``B``:
                                       ``a = 1000 B (1 - RR)``
events_avoided_per_year                ``a N / 1000`` (in this population)
people_treated_per_event_avoided       ``1000 / (a y)`` (NNT; negative = people treated per event
                                       *added*, the NNTH)
bed_days_avoided                       ``a N L / 1000`` a year
cost_of_events_avoided                 ``a N u / 1000`` a year
intervention_cost_per_person           ``c`` (over ``y`` years)
net_cost_per_person                    ``c - a y u / 1000`` (negative = saves money)
break_even_effect_per_1000             ``1000 c / (y u)``: the ``a`` at which net cost is 0
roi                                    ``(a y u / 1000 - c) / c`` (return on investment)
=====================================  ==========================================================

Uncertainty comes from the effect's own sampling distribution (unit costs, the length of stay and
the intervention's cost are taken as known; state their sources):

* ``method="delta"``: every term except the NNT is linear in ``a``, so its standard error is
  ``|slope| x se(a)`` and its interval ``estimate -/+ z se`` -- exact, not an approximation, for a
  difference in rates. For a rate ratio, ``se(a) = 1000 B RR se(log RR)`` (plus
  ``1000 (1 - RR) se(B)`` in quadrature when ``baseline_se`` is given), the delta method.
* ``method="draws"``: ``n_draws`` draws of the effect from its sampling distribution (normal on the
  difference, or on ``log RR``; the baseline normal when ``baseline_se`` is given), every term
  computed on each draw; percentile intervals, the SD of the draws as the standard error, and the
  p-value as twice the smaller share of draws on either side of no effect.

The NNT's interval inverts the interval of ``a`` (Altman 1998): when that interval excludes 0 it is
``[1000 / (hi y), 1000 / (lo y)]``; when it includes 0 the interval runs from the NNT to benefit
(NNTB) ``1000 / (hi y)`` through infinity to the NNT to harm (NNTH) ``1000 / (|lo| y)``. The row then
has ``ci_lower = -inf`` and ``ci_upper = +inf`` (the interval passes through infinity) and the
``interval`` column spells it out; its verdict is read from the events-avoided row.

By subgroup (a :class:`~pceval.did.SubgroupEffects` from ``effects_by``, or ``{level: result}``), with
``population`` given per level, each level gets every term and the ``overall`` rows add the levels
up (independent subgroup estimates: ``se = sqrt(sum (N_k se_k / 1000)^2)``).

References: Altman, D.G. (1998) Confidence intervals for the number needed to treat. BMJ 317:1309;
Drummond, M.F. et al. (2015) Methods for the Economic Evaluation of Health Care Programmes, 4th ed.,
OUP (cost-consequence analysis); Briggs, A., Claxton, K. & Sculpher, M. (2006) Decision Modelling for
Health Economic Evaluation, OUP, ch. 4 (propagating parameter uncertainty by simulation).

Example
-------
>>> from pceval.costs import consequences, example_unit_costs
>>> cons = consequences(fit, population=12_000, activity="emergency_admission",
...                     unit_costs=example_unit_costs(), intervention_cost=150)   # doctest: +SKIP
>>> print(cons.bottom_line())                                                        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_int, check_number
from pceval._results import PROTOCOL_COLUMNS, ResultProtocol, critical_value, verdict
from pceval.costs._effect import EffectInput, read_effect
from pceval.costs._words import activity_words, bottom_line_text, short_labels
from pceval.costs.unit_costs import UnitCosts, default_unit_costs, financial_year
from pceval.errors import InputError

if TYPE_CHECKING:
    from plotnine import ggplot

TERMS: tuple[str, ...] = (
    "events_avoided_per_1000_per_year", "events_avoided_per_year", "people_treated_per_event_avoided",
    "bed_days_avoided", "cost_of_events_avoided", "intervention_cost_per_person",
    "net_cost_per_person", "break_even_effect_per_1000", "roi",
)
HEADLINE_TERM = "events_avoided_per_1000_per_year"


@dataclass(frozen=True)
class Consequences(ResultProtocol):
    """Result of :func:`consequences`: one row per term (and per subgroup, with ``overall`` rows).

    ``to_frame()`` has the protocol columns, then ``subgroup, by, measure, unit, method, activity,
    unit_cost, currency_year, cost_source, cost_table, cost_label, population, years,
    length_of_stay, confidence, interval, effect_measure``. The headline is the overall
    ``events_avoided_per_1000_per_year`` row; its verdict reads "higher" when the whole interval is
    above 0 (events avoided), "lower" when below (events added).
    """

    table: pd.DataFrame
    activity: str
    unit_costs: UnitCosts
    settings: dict

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy), protocol columns first."""
        return self.table.copy()

    @property
    def headline(self) -> pd.Series:
        """The overall events avoided per 1,000 people a year."""
        t = self.table
        return t.loc[(t["term"] == HEADLINE_TERM) & (t["subgroup"] == "overall")].iloc[0]

    def row(self, term: str, subgroup: Any = "overall") -> pd.Series:
        """The row of ``term`` for ``subgroup`` (default: overall)."""
        check_choice(term, "term", set(TERMS))
        t = self.table
        hit = t.loc[(t["term"] == term) & (t["subgroup"].astype(str) == str(subgroup))]
        if hit.empty:
            raise InputError(f"`subgroup` {subgroup!r} is not in the result; it has "
                             f"{list(dict.fromkeys(t['subgroup']))}")
        return hit.iloc[0]

    def bottom_line(self, subgroup: Any = "overall") -> str:
        """Plain-English sentences (one per line): the effect in events per 1,000 people a year with
        its interval, what it means for this population, whether the intervention pays for itself,
        and the unit cost's source and price year."""
        return bottom_line_text(self, subgroup)

    def verdict(self) -> str:
        """:func:`pceval.verdict` of the headline: "higher" = events avoided (fewer events)."""
        return verdict(self.headline)

    def summary(self) -> str:
        s = self.settings
        head = (f"Costs and consequences: {activity_words(self.activity)}; {s['method_text']}; "
                f"{s['confidence']:.0%} intervals")
        parts = [head]
        for sub in dict.fromkeys(self.table["subgroup"]):
            if s["by"] is not None:
                name = "overall" if str(sub) == "overall" else f"{s['by']} = {sub}"
                parts.append(f"\n{name}:")
            parts.append(self.table_for_report(sub).to_string(index=False))
        return "\n".join([*parts, "", self.bottom_line()])

    def table_for_report(self, subgroup: Any = "overall") -> pd.DataFrame:
        """The terms of one subgroup as text a reader can use: columns ``what``, ``estimate``,
        ``interval`` (the confidence interval in words: "30 to 70"; the NNT's through infinity) and
        ``unit``, with thousands separators and pounds, no e-notation and no column names of code."""
        from pceval.costs._words import gbp, num

        t = self.table
        rows = t.loc[t["subgroup"].astype(str) == str(subgroup)]
        if rows.empty:
            raise InputError(f"`subgroup` {subgroup!r} is not in the result; it has "
                             f"{list(dict.fromkeys(t['subgroup']))}")
        money = {"cost_of_events_avoided", "intervention_cost_per_person", "net_cost_per_person"}
        short = short_labels(self.activity, float(rows["years"].iloc[0]))
        out = []
        for r in rows.itertuples(index=False):  # nine terms: a readable table, not arithmetic
            fmt = gbp if r.term in money else (lambda v: f"{v:.2f}") if r.term == "roi" else num
            if not np.isfinite(r.estimate):
                est, ci = "not available", ""
            elif r.term == "people_treated_per_event_avoided" and r.interval:
                est, ci = num(r.estimate), r.interval
            elif r.std_error == 0:
                est, ci = fmt(r.estimate), "fixed input"
            else:
                est, ci = fmt(r.estimate), f"{fmt(r.ci_lower)} to {fmt(r.ci_upper)}"
            out.append({"what": short[r.term], "estimate": est, "interval": ci, "unit": r.unit})
        return pd.DataFrame(out)

    def plot(self, truth: Mapping[Any, float] | float | None = None) -> ggplot:
        """Events avoided per 1,000 people a year (overall and by subgroup) with their intervals,
        beside no effect (solid line at 0) and the break-even effect (dashed).

        ``truth``: the true events avoided per 1,000 a year (a number, or ``{subgroup: value}``
        with ``"overall"``), drawn as open diamonds, e.g. from the synthetic data's truth table.
        IMD quintiles are labelled "1 (most deprived)" ... "5 (least deprived)".
        """
        from plotnine import (
            aes,
            annotate,
            coord_flip,
            geom_hline,
            geom_point,
            geom_pointrange,
            ggplot,
            labs,
        )

        from pceval.plots import IMD_QUINTILE_LABELS, NHS_COLOURS, theme_nhs

        t = self.table
        df = t.loc[t["term"] == HEADLINE_TERM].copy()
        by = self.settings["by"]
        names = {str(q): IMD_QUINTILE_LABELS[q - 1] for q in range(1, 6)} \
            if by is not None and "imd" in str(by).lower() else {}
        df["label"] = [names.get(str(v), str(v)) for v in df["subgroup"]]
        df["label"] = pd.Categorical(df["label"], categories=list(dict.fromkeys(df["label"]))[::-1])
        be = float(self.row("break_even_effect_per_1000")["estimate"])
        words = activity_words(self.activity)
        p = (ggplot(df, aes(x="label", y="estimate", ymin="ci_lower", ymax="ci_upper"))
             + geom_hline(yintercept=0, colour=NHS_COLOURS["mid_grey"])
             + geom_pointrange(colour=NHS_COLOURS["blue"]))
        if np.isfinite(be) and be > 0:
            p = (p + geom_hline(yintercept=be, linetype="dashed", colour=NHS_COLOURS["dark_grey"])
                 + annotate("text", x=len(df) + 0.45, y=be, label=f" break-even {be:,.0f}", ha="left",
                            size=8, colour=NHS_COLOURS["dark_grey"]))
        if truth is not None:
            tv = truth if isinstance(truth, Mapping) else {"overall": truth}
            tv = {str(k): float(v) for k, v in tv.items()}
            df["truth"] = [tv.get(str(v), np.nan) for v in df["subgroup"]]
            p = p + geom_point(aes(y="truth"), data=df.dropna(subset=["truth"]), shape="D",
                               fill="none", colour=NHS_COLOURS["dark_grey"], size=3)
        return (p + coord_flip()
                + labs(x="" if by is None else ("IMD quintile" if names else str(by)),
                       y=f"{words} avoided per 1,000 people a year",
                       title=f"{words[0].upper() + words[1:]} avoided"
                             + (" (diamonds: the true value)" if truth is not None else ""))
                + theme_nhs())


def consequences(
    effect: Any,
    population: float | Mapping[Any, float] | pd.Series,
    activity: str,
    unit_costs: UnitCosts | None = None,
    intervention_cost: float | None = None,
    *,
    years: float = 1.0,
    length_of_stay: float | None = None,
    effect_unit: str | None = None,
    baseline_rate: float | Mapping[Any, float] | None = None,
    baseline_se: float | Mapping[Any, float] | None = None,
    currency_year: str | None = None,
    confidence: float = 0.95,
    method: str = "delta",
    n_draws: int = 10_000,
    seed: int = 2026,
) -> Consequences:
    """Events avoided, bed days, their cost, net cost, break-even and ROI, each with an interval.

    Parameters
    ----------
    effect : a pceval result whose headline is a difference in rates (``did2x2(model="poisson")``,
        ``estimate_effect(..., exposure=...)``), one row of a result's ``to_frame()``, a
        ``SubgroupEffects`` (``did.effects_by``) or a mapping ``{subgroup: result}``.
    population : number of people the effect applies to (each counted as one person-year a year);
        for subgroups, a mapping or Series ``{level: people}`` with every level.
    activity : the activity row of ``unit_costs`` (e.g. ``"emergency_admission"``).
    unit_costs : a :class:`UnitCosts` table (default: :func:`default_unit_costs`, indicative
        national averages in 2023/24 prices, cited to the NHS National Cost Collection 2023/24 and PSSRU 2024).
    intervention_cost : the intervention's cost per person, in the activity's price year, covering
        ``years`` years of effect; one number, or per subgroup (a mapping/Series like ``population``). Without it (``None``) the cost-side rows (intervention cost, net
        cost, break-even, ROI) are missing (NaN), never computed as if it were free.
    years : how many years of effect the cost per person buys (default 1: a cost per person a year).
    length_of_stay : mean bed days per event; default the table's ``mean_length_of_stay``.
    effect_unit : the effect's unit when its result does not say it, e.g. ``"per 1,000
        person-years"`` (``estimate_effect`` with person-time in years) or ``"per person-quarter"``
        (a linear DiD on quarterly counts). A contradiction with the result's own unit is an error.
    baseline_rate : events per 1,000 person-years without the intervention; given, the effect's
        *relative* row (rate ratio) is used: ``a = baseline (1 - RR)``. A number, or per subgroup.
    baseline_se : the baseline rate's standard error (same unit), propagated when given.
    currency_year : the price year of ``intervention_cost`` (``"2023/24"``); it must equal the unit
        cost's (inflate the table with :meth:`UnitCosts.inflate` first). Default: the unit cost's.
    confidence : interval level.
    method : ``"delta"`` or ``"draws"`` (see the module docstring); the ``method`` column says which.
    n_draws, seed : number of draws and their seed (``method="draws"``).

    Returns
    -------
    Consequences
        In the result protocol; ``bottom_line()`` gives the sentences a report leads with.
    """
    confidence = check_confidence(confidence)
    check_choice(method, "method", {"delta", "draws"})
    n_draws = check_int(n_draws, "n_draws", low=100)
    seed = check_int(seed, "seed", low=0)
    years = check_number(years, "years", low=0, low_open=True)
    if unit_costs is None:
        unit_costs = default_unit_costs()
    if not isinstance(unit_costs, UnitCosts):
        raise InputError(f"`unit_costs` must be a pceval.costs.UnitCosts table, got "
                         f"{type(unit_costs).__name__}; build one with UnitCosts(DataFrame, version=...)")
    if not isinstance(activity, str):
        raise InputError(f"`activity` must be the name of a row of the unit cost table, got {activity!r}")
    cost_row = unit_costs.row(activity)
    u = float(cost_row["unit_cost"])
    if u <= 0:
        raise InputError(f"the unit cost of {activity!r} is {u}; break-even and ROI need a positive cost")
    if currency_year is not None and financial_year(currency_year) != cost_row["currency_year"]:
        raise InputError(
            f"`currency_year` {financial_year(currency_year)} differs from the unit cost's "
            f"({cost_row['currency_year']}); put both in one price year, e.g. "
            f"unit_costs.inflate('{financial_year(currency_year)}', index=<a cited CostIndex>)")
    los = _length_of_stay(length_of_stay, cost_row)
    inputs, by = read_effect(effect, effect_unit=effect_unit, baseline_rate=baseline_rate,
                             baseline_se=baseline_se)
    people = _population(population, inputs, by)
    cost = _intervention_cost(intervention_cost, inputs, by)
    # a (events avoided per 1,000 person-years) for each level: estimate, SE and draws
    a_hat = np.array([_a_estimate(e) for e in inputs])
    a_se = np.array([_a_se(e) for e in inputs])
    draws = _a_draws(inputs, n_draws, seed) if method == "draws" else None
    labels: list[Any] = [e.label for e in inputs]
    if by is None:
        labels = ["overall"]
    else:  # the overall rows add the subgroups up (independent estimates)
        w = people / people.sum()
        labels.append("overall")
        people = np.append(people, people.sum())
        if cost is not None:
            cost = np.append(cost, w @ cost)
        a_hat = np.append(a_hat, w @ a_hat)
        a_se = np.append(a_se, np.sqrt(np.sum((w * a_se) ** 2)))
        if draws is not None:
            draws = np.column_stack([draws, draws @ w])
    ctx = dict(y=years, u=u, c=None if cost is None else np.broadcast_to(cost, a_hat.shape), los=los,
               confidence=confidence)
    table = _terms(labels, people, a_hat, a_se, draws, ctx)
    method_text = ("delta method" if method == "delta" else
                   f"{n_draws:,} draws from the effect's sampling distribution (seed {seed})")
    words = activity_words(activity)
    table["by"] = by
    table["measure"] = table["term"].map(_measures(words, years, los, cost_row["currency_year"]))
    table["unit"] = table["term"].map(_units(words, years, cost_row["currency_year"]))
    table["method"] = table["term"].map(
        lambda t: "fixed input" if t in ("intervention_cost_per_person", "break_even_effect_per_1000")
        else method_text)
    table["activity"] = activity
    table["unit_cost"] = u
    table["currency_year"] = cost_row["currency_year"]
    table["cost_source"] = cost_row["source"]
    table["cost_table"] = unit_costs.citation
    table["cost_label"] = unit_costs.label
    table["years"] = years
    table["length_of_stay"] = np.nan if los is None else los
    table["confidence"] = confidence
    eff_measure = {str(e.label): e.source for e in inputs}
    all_measures = "; ".join(dict.fromkeys(eff_measure.values()))
    table["effect_measure"] = [eff_measure.get(str(s), all_measures) for s in table["subgroup"]]
    rest = [c for c in table.columns if c not in PROTOCOL_COLUMNS]
    table = table[[*PROTOCOL_COLUMNS, *rest]]
    settings = dict(by=by, method=method, method_text=method_text, n_draws=n_draws, seed=seed,
                    confidence=confidence, years=years, intervention_cost=cost, unit_cost=u,
                    length_of_stay=los, population=float(people.sum()))
    return Consequences(table=table, activity=activity, unit_costs=unit_costs, settings=settings)


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------

def _length_of_stay(given: float | None, cost_row: pd.Series) -> float | None:
    if given is not None:
        return check_number(given, "length_of_stay", low=0)
    v = cost_row.get("mean_length_of_stay", np.nan)
    return float(v) if v is not None and np.isfinite(v) else None


def _population(population: Any, inputs: list[EffectInput], by: str | None) -> np.ndarray:
    """People per level, in the order of ``inputs``."""
    if by is None:
        if isinstance(population, (Mapping, pd.Series)):
            raise InputError("`population` is given by subgroup, but `effect` is a single effect; pass "
                             "the number of people, or an effects_by result")
        return np.array([check_number(population, "population", low=0, low_open=True)])
    if not isinstance(population, (Mapping, pd.Series)):
        raise InputError(f"`effect` has subgroups of {by}: `population` must give the people in each "
                         f"({[e.label for e in inputs]}), e.g. a Series indexed by {by}")
    return _by_level(population, inputs, by, "population", low_open=True)


def _intervention_cost(value: Any, inputs: list[EffectInput], by: str | None) -> np.ndarray | None:
    """The cost per person: ``None`` (not given), one number, or one per subgroup."""
    if value is None:
        return None
    if isinstance(value, (Mapping, pd.Series)):
        if by is None:
            raise InputError("`intervention_cost` is given by subgroup, but `effect` is a single effect")
        return _by_level(value, inputs, by, "intervention_cost", low_open=False)
    return np.full(len(inputs), check_number(value, "intervention_cost", low=0))


def _by_level(values: Any, inputs: list[EffectInput], by: str, name: str, low_open: bool) -> np.ndarray:
    """``values`` (a mapping or Series by subgroup) in the order of ``inputs``; the levels must be
    exactly those of the effect (matched as text, so 1 and "1" are the same quintile)."""
    given = {str(k): v for k, v in dict(values).items()}
    labels = [str(e.label) for e in inputs]
    missing = [lab for lab in labels if lab not in given]
    extra = [k for k in given if k not in labels]
    if missing or extra:
        raise InputError(f"`{name}` must have exactly the levels of {by} in `effect` "
                         f"{labels}; missing {missing}, not in the effect {extra}")
    return np.array([check_number(given[lab], f"{name}[{lab}]", low=0, low_open=low_open)
                     for lab in labels])


def _a_estimate(e: EffectInput) -> float:
    """Events avoided per 1,000 person-years."""
    if e.kind == "difference":
        return -1000.0 * e.estimate
    return 1000.0 * e.baseline * (1.0 - np.exp(e.estimate))  # type: ignore[operator]


def _a_se(e: EffectInput) -> float:
    """Its delta-method standard error."""
    if e.kind == "difference":
        return 1000.0 * e.std_error
    rr = np.exp(e.estimate)
    var = (1000.0 * e.baseline * rr * e.std_error) ** 2  # type: ignore[operator]
    if e.baseline_se is not None:
        var += (1000.0 * (1.0 - rr) * e.baseline_se) ** 2
    return float(np.sqrt(var))


def _a_draws(inputs: list[EffectInput], n: int, seed: int) -> np.ndarray:
    """``n x levels`` draws of events avoided per 1,000 person-years from each effect's sampling
    distribution (normal on the difference, or on the log rate ratio and the baseline)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, len(inputs)))
    for j, e in enumerate(inputs):  # one column per subgroup (at most a handful)
        z = rng.standard_normal(n)
        if e.kind == "difference":
            out[:, j] = -1000.0 * (e.estimate + e.std_error * z)
        else:
            assert e.baseline is not None  # a "ratio" effect always carries its baseline rate
            base = e.baseline + (0.0 if e.baseline_se is None else e.baseline_se) * rng.standard_normal(n)
            out[:, j] = 1000.0 * base * (1.0 - np.exp(e.estimate + e.std_error * z))
    return out


# ----------------------------------------------------------------------------------------------
# the terms
# ----------------------------------------------------------------------------------------------

def _nan(k: int) -> dict[str, np.ndarray]:
    return {c: np.full(k, np.nan) for c in ("estimate", "std_error", "statistic", "p_value",
                                            "ci_lower", "ci_upper")}


def _linear(a: np.ndarray, se: np.ndarray, draws: np.ndarray | None, alpha: np.ndarray | float,
            beta: np.ndarray | float,
            q: float, confidence: float) -> dict[str, np.ndarray]:
    """Estimate, SE, statistic, p-value and interval of ``alpha + beta a`` for every subgroup:
    ``|beta| se`` and a Wald interval (delta), or from the draws (percentiles; p-value = twice the
    smaller share of draws on either side of 0)."""
    from scipy import stats

    est = alpha + beta * a
    if draws is None:
        s = np.abs(beta) * se
        lo, hi = est - q * s, est + q * s
    else:
        v = alpha + np.asarray(beta) * draws
        s = np.std(v, axis=0, ddof=1)
        tail = (1 - confidence) / 2
        lo, hi = np.quantile(v, [tail, 1 - tail], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(s > 0, est / s, np.nan)
    if draws is None:
        p = np.where(np.isfinite(stat), 2 * stats.norm.sf(np.abs(stat)), np.nan)
    else:
        p = np.minimum(1.0, 2 * np.minimum(np.mean(v <= 0, axis=0), np.mean(v >= 0, axis=0)))
        p = np.where(np.isfinite(s), p, np.nan)
    return dict(estimate=est, std_error=s, statistic=stat, p_value=p, ci_lower=lo, ci_upper=hi)


def _fixed(value: np.ndarray) -> dict[str, np.ndarray]:
    """A fixed input (no uncertainty): SE 0, the interval is the value itself."""
    v = np.asarray(value, dtype=float)
    k = len(v)
    return dict(estimate=v, std_error=np.zeros(k), statistic=np.full(k, np.nan),
                p_value=np.full(k, np.nan), ci_lower=v, ci_upper=v)


def _nnt(a: np.ndarray, se: np.ndarray, a_row: dict[str, np.ndarray], y: float) -> dict[str, Any]:
    """People treated (for ``y`` years) per event avoided, with Altman's (1998) interval: the
    interval of ``a`` inverted when it excludes 0, else NNTB to infinity to NNTH (``-inf, inf``)."""
    lo, hi = a_row["ci_lower"], a_row["ci_upper"]
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(a != 0, 1000.0 / (a * y), np.inf)
        s = np.where(a != 0, 1000.0 * se / (y * a * a), np.nan)
        b1, b2 = 1000.0 / (hi * y), 1000.0 / (lo * y)
    excludes = (lo > 0) | (hi < 0)
    through = ~excludes & np.isfinite(lo) & np.isfinite(hi)
    c_lo = np.where(excludes, np.minimum(b1, b2), np.where(through, -np.inf, np.nan))
    c_hi = np.where(excludes, np.maximum(b1, b2), np.where(through, np.inf, np.nan))
    text = [(f"{'NNTB' if lo_ > 0 else 'NNTH'} {min(abs(x1), abs(x2)):,.1f} to "
             f"{max(abs(x1), abs(x2)):,.1f}" if ex else
             f"NNTB {x1 if hi_ > 0 else np.inf:,.1f} to infinity to NNTH "
             f"{-x2 if lo_ < 0 else np.inf:,.1f} (Altman 1998)" if th else "")
            for lo_, hi_, x1, x2, ex, th in zip(lo, hi, b1, b2, excludes, through, strict=True)]
    return dict(estimate=est, std_error=s, statistic=a_row["statistic"], p_value=a_row["p_value"],
                ci_lower=c_lo, ci_upper=c_hi, interval=text)


def _terms(labels: list[Any], n: np.ndarray, a: np.ndarray, se: np.ndarray, draws: np.ndarray | None,
           ctx: dict) -> pd.DataFrame:
    """Every term for every subgroup (``n`` people, ``a`` events avoided per 1,000 a year); the
    rows are grouped by subgroup, in the order of :data:`TERMS`."""
    y, u, c, los, conf = ctx["y"], ctx["u"], ctx["c"], ctx["los"], ctx["confidence"]
    q = critical_value(conf)
    k = len(labels)

    def lin(alpha: np.ndarray | float, beta: np.ndarray | float) -> dict[str, np.ndarray]:
        return _linear(a, se, draws, alpha, beta, q, conf)

    rows: dict[str, dict[str, Any]] = {}
    rows["events_avoided_per_1000_per_year"] = lin(0.0, 1.0)
    rows["events_avoided_per_year"] = lin(0.0, n / 1000.0)
    rows["people_treated_per_event_avoided"] = _nnt(a, se, rows["events_avoided_per_1000_per_year"], y)
    rows["bed_days_avoided"] = lin(0.0, n * los / 1000.0) if los is not None else _nan(k)
    rows["cost_of_events_avoided"] = lin(0.0, n * u / 1000.0)
    if c is None:  # no intervention cost given: the cost side is unknown, not zero
        for term in ("intervention_cost_per_person", "net_cost_per_person",
                     "break_even_effect_per_1000", "roi"):
            rows[term] = _nan(k)
    else:
        rows["intervention_cost_per_person"] = _fixed(c)
        rows["net_cost_per_person"] = lin(c, -y * u / 1000.0)
        rows["break_even_effect_per_1000"] = _fixed(1000.0 * c / (y * u))
        with np.errstate(divide="ignore"):  # a free intervention has no return on investment
            rows["roi"] = lin(-1.0, np.where(c > 0, y * u / (1000.0 * np.where(c > 0, c, 1.0)), np.nan))
    T = len(TERMS)
    cols = {col: np.column_stack([np.asarray(rows[t][col], dtype=float) for t in TERMS]).ravel()
            for col in ("estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper")}
    interval = np.column_stack([np.asarray(rows[t].get("interval", [""] * k), dtype=object)
                                for t in TERMS]).ravel()
    out = pd.DataFrame({"term": np.tile(TERMS, k), **cols, "scale": "absolute",
                        "subgroup": pd.Series(np.repeat(np.array(labels, dtype=object), T), dtype=object),
                        "population": np.repeat(n, T),
                        "intervention_cost": np.nan if c is None else np.repeat(c, T),
                        "interval": interval})
    return out


def _measures(words: str, years: float, los: float | None, year: str) -> dict[str, str]:
    yrs = "a year" if years == 1 else f"over {years:g} years"
    return {
        "events_avoided_per_1000_per_year": f"{words} avoided per 1,000 people a year",
        "events_avoided_per_year": f"{words} avoided a year in this population",
        "people_treated_per_event_avoided": (f"people treated ({yrs}) per one of the {words} avoided "
                                             "(NNT; negative: per one added)"),
        "bed_days_avoided": ("bed days avoided a year in this population"
                             + (f" (mean stay {los:g} days)" if los is not None else
                                " (not available: no mean length of stay)")),
        "cost_of_events_avoided": f"cost of the {words} avoided a year in this population ({year} prices)",
        "intervention_cost_per_person": f"intervention cost per person {yrs} ({year} prices)",
        "net_cost_per_person": (f"net cost per person {yrs}: intervention cost minus the cost of the "
                                f"{words} avoided (negative = saves money; {year} prices)"),
        "break_even_effect_per_1000": (f"{words} avoided per 1,000 people a year at which the "
                                       "intervention pays for itself"),
        "roi": f"return on investment {yrs}: (cost avoided - intervention cost) / intervention cost",
    }


def _units(words: str, years: float, year: str) -> dict[str, str]:
    return {
        "events_avoided_per_1000_per_year": "per 1,000 people a year",
        "events_avoided_per_year": "per year",
        "people_treated_per_event_avoided": "people",
        "bed_days_avoided": "bed days per year",
        "cost_of_events_avoided": f"£ per year ({year} prices)",
        "intervention_cost_per_person": f"£ per person ({year} prices)",
        "net_cost_per_person": f"£ per person ({year} prices)",
        "break_even_effect_per_1000": "per 1,000 people a year",
        "roi": "ratio (0 = break-even)",
    }


__all__ = ["consequences", "Consequences", "TERMS"]
