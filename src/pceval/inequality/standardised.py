"""Directly and indirectly standardised rates (PHE/OHID methods).

* :func:`dsr` -- directly standardised rates with Dobson confidence limits, the European Standard
  Population 2013 (bundled) or a user standard, suppression below 10 events, and the variant for
  non-independent events (people with more than one event).
* :func:`isr` (and :func:`isr_ratio`, :func:`isr_rate`) -- indirectly standardised ratios and rates
  against reference age-specific rates, with exact (< 10 observed) or Byar's limits.

Age bands are matched by *label*, never by position: ``"0-4"``, ``"00-04"``, ``"90+"``, ``"85 and
over"``, ``"<1"``, or whole numbers giving each band's lower age (the band then runs to the next
band's lower age). A band must start and end on ESP 2013 boundaries (0, 1, 5, 10, ..., 95); the ESP
populations of the 5-year bands inside it are added up, so 19-band (0-4 ... 90+) and 18-band (85+)
layouts both work. Overlapping bands in one group are an error.

References
----------
Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991). Confidence intervals for weighted sums of Poisson
parameters. *Statistics in Medicine* 10:457-462. Breslow NE, Day NE (1987). *Statistical methods in
cancer research II*. IARC. Eurostat (2013). *Revision of the European Standard Population*. Public
Health England (2018/2024). *Technical guide: directly standardised rates* and PHEindicatormethods
``calculate_dsr`` / ``calculate_ISRatio`` / ``calculate_ISRate``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_int, check_number
from pceval.errors import InputError
from pceval.inequality import _ci
from pceval.inequality._common import (
    GroupBy,
    as_list,
    check_column_arg,
    check_input,
    check_min,
    confidence_levels,
    fmt_num,
    group_keys,
    group_sum,
    show,
    stack_levels,
    warn,
)

_TAIL = ("statistic", "method")
_RANGE = re.compile(r"^\s*(?:age\s*)?(\d+)\s*(?:-|–|to)\s*(\d+)\s*(?:years?)?\s*$", re.I)
_OPEN = re.compile(r"^\s*(?:age\s*)?(\d+)\s*(?:\+|plus|and over|or over|and older)\s*$", re.I)
_UNDER = re.compile(r"^\s*(?:<|under)\s*(\d+)\s*$", re.I)
_SINGLE = re.compile(r"^\s*(\d+)\s*$")


@cache
def _esp_table() -> pd.DataFrame:
    with resources.files("pceval").joinpath("data/esp2013.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def esp2013(bands: str = "21") -> pd.DataFrame:
    """The European Standard Population 2013 (Eurostat), summing to 100,000.

    ``bands="21"`` gives 0, 1-4, 5-9, ..., 90-94, 95+; ``bands="19"`` merges 0 with 1-4 and 90-94 with
    95+ (the layout of PHEindicatormethods' ``esp2013``); ``bands="18"`` ends at 85+.
    Columns: ``age_band``, ``age_lower``, ``age_upper`` (missing for the open top band), ``esp2013``.
    """
    check_choice(bands, "bands", {"21", "19", "18"})
    t = _esp_table().copy()
    if bands == "21":
        return t
    lowers = [0, *range(5, 90 if bands == "18" else 95, 5)]
    top = 85 if bands == "18" else 90
    out = []
    for i, lo in enumerate(lowers):
        hi = lowers[i + 1] - 1 if i + 1 < len(lowers) else None
        sel = (t.age_lower >= lo) & (t.age_lower <= (hi if hi is not None else 200))
        label = f"{lo}-{hi}" if hi is not None else f"{top}+"
        out.append((label, lo, hi, int(t.loc[sel, "esp2013"].sum())))
    return pd.DataFrame(out, columns=["age_band", "age_lower", "age_upper", "esp2013"])


def _parse_band(label: object) -> tuple[int, int | None, bool]:
    """(lower, upper or None if open, whether the upper came from the label)."""
    if isinstance(label, (int, np.integer)) or (isinstance(label, float) and float(label).is_integer()):
        return int(label), None, False
    s = str(label)
    if m := _RANGE.match(s):
        return int(m.group(1)), int(m.group(2)), True
    if m := _OPEN.match(s):
        return int(m.group(1)), None, True
    if m := _UNDER.match(s):
        return 0, int(m.group(1)) - 1, True
    if m := _SINGLE.match(s):
        return int(m.group(1)), None, False
    raise InputError(
        f"age band {label!r} is not understood; use labels like '0-4', '85-89', '90+' or lower ages (0, 5, ...)"
    )


def _plain_bands(frame: pd.DataFrame, age_band: str | None) -> pd.DataFrame:
    """A categorical age band becomes plain labels (a copy): unused categories must not be looked up."""
    if age_band is not None and isinstance(frame[age_band].dtype, pd.CategoricalDtype):
        frame = frame.assign(**{age_band: frame[age_band].astype(object)})
    return frame


def _esp_for_bands(labels: pd.Series, age_band: str) -> tuple[np.ndarray, dict]:
    """ESP 2013 population for each row's age band (labels parsed; bands must align with ESP's)."""
    uniq = pd.unique(labels)
    parsed = {lab: _parse_band(lab) for lab in uniq}
    # a single-age label such as "0" or "85" runs to the next band's lower bound, whatever its form
    lowers_only = sorted({lo for lo, _, _ in parsed.values()})
    t = _esp_table()
    bounds = set(t.age_lower.tolist())
    pops = {}
    for lab, (lo, hi, explicit) in parsed.items():
        if not explicit:
            nxt = [v for v in lowers_only if v > lo]
            hi = nxt[0] - 1 if nxt else None
        if lo not in bounds or (hi is not None and hi + 1 not in bounds):
            raise InputError(
                f"`{age_band}`: band {lab!r} does not start and end on ESP 2013 band boundaries "
                f"(0, 1, 5, 10, ..., 95); give a user standard population with `standard=`"
            )
        sel = (t.age_lower >= lo) & ((t.age_lower <= hi) if hi is not None else True)
        pops[lab] = (lo, hi, float(t.loc[sel, "esp2013"].sum()))
    return np.array([pops[lab][2] for lab in labels]), pops


def _check_overlaps(data: pd.DataFrame, age_band: str, group_cols: list[str], spans: dict) -> None:
    lo = data[age_band].map(lambda b: spans[b][0]).to_numpy(float)
    hi = data[age_band].map(lambda b: spans[b][1] if spans[b][1] is not None else np.inf).to_numpy(float)
    frame = data[group_cols].copy() if group_cols else pd.DataFrame(index=data.index)
    frame["_lo"], frame["_hi"], frame["_band"] = lo, hi, data[age_band].to_numpy()
    frame = frame.drop_duplicates([*group_cols, "_band"]).sort_values([*group_cols, "_lo"])
    prev_hi = frame.groupby(group_cols)["_hi"].shift() if group_cols else frame["_hi"].shift()
    bad = frame[frame["_lo"] <= prev_hi]
    if len(bad):
        raise InputError(
            f"`{age_band}`: age bands overlap within a group, e.g. band {bad['_band'].iloc[0]!r} "
            f"starts inside the band before it; check the labels"
        )


def _standard_weights(data: pd.DataFrame, standard: object, age_band: str | None,
                      group_cols: list[str]) -> tuple[np.ndarray, str]:
    """Standard population per row and a description of the standard."""
    if isinstance(standard, str) and standard.lower() == "esp2013":
        if age_band is None:
            raise InputError("`age_band` is needed to attach the European Standard Population 2013")
        w, spans = _esp_for_bands(data[age_band], age_band)
        _check_overlaps(data, age_band, group_cols, spans)
        return w, "ESP 2013"
    if isinstance(standard, str):
        if standard not in data.columns:
            raise InputError(
                f"`standard` must be 'esp2013', a column of `data`, or a mapping from age band to "
                f"population; {standard!r} is not a column of `data`"
            )
        w = data[standard].to_numpy(float)
        return w, f"user standard ('{standard}')"
    if isinstance(standard, (Mapping, pd.Series)):
        if age_band is None:
            raise InputError("`age_band` is needed to match a standard population given as a mapping")
        mapping = dict(standard.items())
        missing = sorted({b for b in data[age_band].unique() if b not in mapping}, key=str)
        if missing:
            raise InputError(f"`standard` has no population for age band(s) {missing[:5]}")
        return data[age_band].map(mapping).to_numpy(float), "user standard"
    raise InputError(
        f"`standard` must be 'esp2013', a column name or a mapping from age band to population, "
        f"got {type(standard).__name__}"
    )


def dsr(data: pd.DataFrame, x: str, n: str, *, age_band: str | None = None,
        standard: str | Mapping[object, float] | pd.Series = "esp2013", by: GroupBy = None,
        confidence: float | Sequence[float] = 0.95, multiplier: float = 100_000,
        independent_events: bool = True, event_frequency: str | None = None,
        min_count: int = 10) -> pd.DataFrame:
    """Directly standardised rates with Dobson confidence limits.

    With age-specific events ``x_i``, populations ``n_i`` and standard population ``w_i``::

        DSR = multiplier * sum(w_i x_i / n_i) / sum(w_i)
        var = sum(w_i^2 V_i / n_i^2) / sum(w_i)^2,   V_i = x_i   (independent events)
        limits = DSR + multiplier * sqrt(var / O) * (O_limit - O),   O = sum(x_i)

    with ``O_limit`` Byar's limits for ``O`` (Dobson et al. 1991). For non-independent events
    (``independent_events=False``) the rows are also split by ``event_frequency`` ``f`` (people with
    exactly ``f`` events; ``x`` holds their events), and ``V_i = sum_f f x_{i,f}`` -- the variance of
    a count of events among people who can have several (PHE's adjustment). Values are suppressed
    (missing, with ``statistic`` saying why) when ``O < min_count`` (10). Missing counts count as 0.
    A lower limit is never below 0 (Byar's lower limit of a few events at high confidence falls back to
    the exact one); with ``min_count=0`` and no events at all the limits are 0 and
    ``multiplier * max(w_i / n_i) / sum(w_i) * exact_upper(0)`` (Fay & Feuer 1997), never missing.
    A categorical ``age_band`` is matched by its labels; unused categories are ignored.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per group x age band (x event frequency for non-independent events).
    x, n : str
        Event and population columns.
    age_band : str, optional
        Age band labels (needed for ESP 2013 or a mapping standard; see module notes).
    standard : ``"esp2013"``, a column of ``data``, or a mapping {age band: population}
    by : column name(s), optional
    confidence, multiplier : as for :func:`~pceval.inequality.rate`.
    independent_events : bool
    event_frequency : str, optional
        Column of event frequencies (1, 2, 3, ...) when ``independent_events`` is False.
    min_count : int
        Suppress DSRs based on fewer events (PHE: 10).

    Returns
    -------
    DataFrame: group columns, ``total_count``, ``total_pop``, ``value``, ``lower``, ``upper``,
    ``confidence``, ``standard``, ``statistic``, ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> bands = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
    ...          "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+"]
    >>> d = pd.DataFrame({"age_band": bands, "deaths": [10] * 19, "population": [1000] * 19})
    >>> dsr(d, x="deaths", n="population", age_band="age_band")[["value", "method"]]
        value  method
    0  1000.0  Dobson
    """
    x, n = check_column_arg(x, "x"), check_column_arg(n, "n")
    gb = as_list(by)
    levels = confidence_levels(confidence)
    mult = check_number(multiplier, "multiplier", low=0, low_open=True)
    min_count = check_int(min_count, "min_count", low=0)
    if not isinstance(independent_events, bool):
        raise InputError(f"`independent_events` must be True or False, got {independent_events!r}")
    cols = [x, n] + ([event_frequency] if event_frequency else [])
    if standard is not None and isinstance(standard, str) and standard.lower() != "esp2013":
        cols.append(standard)
    if age_band is not None:
        check_column_arg(age_band, "age_band")
    data = check_input(data, "data", numeric=cols, required=[age_band] if age_band else [], by=gb,
                       not_null=[*gb, n] + ([age_band] if age_band else []))
    data = _plain_bands(data, age_band)
    check_min(data, "data", x, 0, strict=False)
    check_min(data, "data", n, 0, strict=True)
    if not independent_events:
        if event_frequency is None:
            raise InputError("`event_frequency` (a column) is needed when `independent_events` is False")
        if age_band is None:
            raise InputError("`age_band` is needed when `independent_events` is False")
        check_min(data, "data", event_frequency, 1, strict=False)
    elif event_frequency is not None:
        raise InputError("`event_frequency` is only used when `independent_events` is False")
    w, std_label = _standard_weights(data, standard, age_band, gb)
    if np.isnan(w).any() or (w < 0).any():
        raise InputError("`standard`: standard populations must be present and >= 0")

    xs = np.nan_to_num(data[x].to_numpy(float))
    ns = data[n].to_numpy(float)
    v, band_rows = _event_variance(data, xs, w, n, gb, age_band, independent_events,
                                   event_frequency)
    keys, codes = group_keys(data, gb)
    k = len(keys)
    total_w = group_sum(np.where(band_rows, w, 0.0), codes, k)
    total_count = group_sum(xs, codes, k)
    total_pop = group_sum(np.where(band_rows, ns, 0.0), codes, k)
    value = group_sum(w * xs / ns, codes, k) / total_w * mult
    var = group_sum(w**2 * v / ns**2, codes, k) / total_w**2
    # the largest weight one event can carry, for the limits of a total of 0 events
    per_event = np.full(k, -np.inf)
    np.maximum.at(per_event, codes, w / ns)
    max_weight = per_event / total_w
    small = total_count < min_count
    base = keys.copy() if gb else pd.DataFrame(index=[0])
    base["total_count"] = total_count
    base["total_pop"] = total_pop
    base["value"] = np.where(small, np.nan, value)
    base["standard"] = std_label
    base["statistic"] = np.where(small, f"dsr NA for total count < {min_count}",
                                 f"dsr per {fmt_num(mult)}")
    base["method"] = ("Dobson" if independent_events
                      else "Dobson, with confidence adjusted for non-independent events")

    def limits(c: float) -> dict[str, np.ndarray]:
        lo, hi = _ci.dobson_limits(value / mult, var, total_count, c, max_weight=max_weight)
        return {"lower": np.where(small, np.nan, lo * mult), "upper": np.where(small, np.nan, hi * mult)}

    return stack_levels(base, levels, limits, after=("standard", *_TAIL))


def _event_variance(data: pd.DataFrame, xs: np.ndarray, w: np.ndarray, n: str, gb: list[str],
                    age_band: str | None, independent_events: bool,
                    event_frequency: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row variance numerator ``v`` of the event count and which rows carry their age band's
    population and standard (once per band).

    Independent events: ``v = x`` (Poisson), one row per group and age band. Non-independent
    events (PHE's ``independent_events = FALSE``): rows give the number of people with ``f``
    events each, so ``v = f x`` (``f^2`` times the number of people; Dobson et al. 1991 with
    PHE's adjustment), and the population and standard repeat on each frequency row of a band.
    """
    if independent_events:
        if age_band is not None:
            dup = data.duplicated([*gb, age_band], keep=False)
            if dup.any():
                raise InputError(
                    f"`data`: more than one row for the same group and age band in '{age_band}' "
                    f"(e.g. {data.loc[dup, age_band].iloc[0]!r}); aggregate first"
                )
        return xs, np.ones(len(data), dtype=bool)
    v = data[event_frequency].to_numpy(float) * xs
    band_rows = ~data[[*gb, age_band]].duplicated().to_numpy()
    same = data.assign(_w=w).groupby([*gb, age_band], sort=False)[[n, "_w"]].nunique()
    if (same > 1).any().any():
        raise InputError(
            f"`data`: '{n}' and the standard population must be the same on every event-frequency "
            f"row of an age band"
        )
    return v, band_rows


def _isr_reference(data: pd.DataFrame, reference: pd.DataFrame | None, n: str,
                   ref_x: str, ref_n: str, age_band: str | None) -> pd.DataFrame:
    """``data`` with the reference counts and populations (merged from ``reference`` by age-band
    label, or its own columns), checked: a missing reference count where the band has a population
    is an error, in an empty band a warning; a missing reference population is an error."""
    if reference is not None:
        if age_band is None:
            raise InputError("`age_band` is needed to match `reference` to `data`")
        ref = _plain_bands(check_input(reference, "reference", numeric=[ref_x, ref_n], required=[age_band],
                                       unique=[age_band], not_null=[age_band]), age_band)
        missing = sorted(set(data[age_band]) - set(ref[age_band]), key=str)
        if missing:
            raise InputError(f"`reference` has no row for age band(s) {missing[:5]}")
        data = data.drop(columns=[c for c in (ref_x, ref_n) if c in data.columns]).merge(
            ref[[age_band, ref_x, ref_n]], on=age_band, how="left", validate="many_to_one")
    else:
        data = check_input(data, "data", numeric=[ref_x, ref_n])
    ref_name = "reference" if reference is not None else "data"

    def bands(mask: pd.Series) -> str:
        return (f"age band(s) {show(data.loc[mask, age_band].unique())}" if age_band
                else f"rows {show(data.index[mask])}")

    if data[ref_n].isna().any():
        miss = data[ref_n].isna()
        raise InputError(f"`{ref_name}`: reference population '{ref_n}' is missing for {bands(miss)}")
    pop_n = data[n].fillna(0)
    miss_x = data[ref_x].isna()
    if (miss_x & (pop_n > 0)).any():
        raise InputError(
            f"`{ref_name}`: reference count '{ref_x}' is missing for {bands(miss_x & (pop_n > 0))}, which "
            f"have a population in '{n}'; a missing reference count is not 0 (it would lower the "
            "expected events and raise the ratio silently): fill it in, 0 only if there were no events")
    if miss_x.any():
        warn(f"isr: reference count '{ref_x}' is missing for {bands(miss_x)}, whose population is "
             f"missing or 0: they add nothing to the expected events, and count as 0 reference events "
             f"in the reference rate (as in PHEindicatormethods)")
    check_min(data, "reference" if reference is not None else "data", ref_x, 0, strict=False)
    check_min(data, "reference" if reference is not None else "data", ref_n, 0, strict=True)
    return data


def _isr_observed(data: pd.DataFrame, observed_totals: pd.DataFrame | None, x: str | None,
                  gb: list[str], keys: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """Observed events per group: summed from ``x`` (missing counts as 0, as in PHE) or taken from
    ``observed_totals``."""
    k = len(keys)
    if observed_totals is not None:
        ocol = x if x is not None else "observed"
        obs = check_input(observed_totals, "observed_totals", numeric=[ocol], by=gb,
                          unique=gb or None, not_null=[*gb, ocol])
        check_min(obs, "observed_totals", ocol, 0, strict=False)
        if gb:
            merged = keys.merge(obs[[*gb, ocol]], on=gb, how="left")
            if merged[ocol].isna().any():
                raise InputError("`observed_totals` has no total for some groups of `data`")
            observed = merged[ocol].to_numpy(float)
        else:
            if len(obs) != 1:
                raise InputError("`observed_totals` must have one row when there is no `by`")
            observed = obs[ocol].to_numpy(float)
    else:
        observed = group_sum(np.nan_to_num(data[x].to_numpy(float)), codes, k)
    return observed


def isr(data: pd.DataFrame, x: str | None, n: str, *, ref_x: str, ref_n: str,
        age_band: str | None = None, reference: pd.DataFrame | None = None,
        by: GroupBy = None, observed_totals: pd.DataFrame | None = None,
        measure: str = "ratio", confidence: float | Sequence[float] = 0.95,
        multiplier: float | None = None) -> pd.DataFrame:
    """Indirectly standardised ratios (``measure="ratio"``) or rates (``measure="rate"``).

    ``E = sum(n_i * ref_x_i / ref_n_i)`` expected events from reference age-specific rates;
    ``O`` observed events (summed from ``x``, or taken from ``observed_totals``)::

        ratio = multiplier * O / E                       (multiplier 1 or 100)
        rate  = (O / E) * multiplier * sum(ref_x) / sum(ref_n)   (multiplier e.g. 100,000)

    Limits use the limits of ``O`` -- exact Poisson when ``O < 10``, Byar's otherwise -- divided by
    ``E`` and scaled the same way (PHE Technical Guide: Confidence Intervals; PHEindicatormethods
    ``calculate_ISRatio`` / ``calculate_ISRate``). Age bands with a zero population contribute nothing
    to ``E``; missing observed counts count as 0 (as in PHE). A missing reference count is an
    :class:`~pceval.errors.InputError` naming the age bands where the band has a population (it is
    not known to be 0, and treating it so would lower ``E`` and raise the ratio silently); where the
    band's population is missing or 0 it adds nothing to ``E`` and counts as 0 in the reference rate,
    as in PHEindicatormethods, with a :class:`~pceval.errors.PcevalWarning` naming the bands. A
    missing reference population is an error.

    Parameters
    ----------
    x : str or None
        Observed events per age band (``None`` when ``observed_totals`` is given).
    n : str
        Population per age band.
    ref_x, ref_n : str
        Reference events and population per age band: columns of ``reference`` (matched to ``data``
        by ``age_band`` label) or, without ``reference``, columns of ``data``.
    observed_totals : DataFrame, optional
        Total observed events per group: the ``by`` columns plus a column named ``x`` (or
        ``"observed"`` when ``x`` is None).
    measure : ``"ratio"`` or ``"rate"``
    multiplier : float, optional
        Default 1 for ratios, 100,000 for rates.

    Returns
    -------
    DataFrame: group columns, ``observed``, ``expected``, ``ref_rate`` (rates only), ``value``,
    ``lower``, ``upper``, ``confidence``, ``statistic``, ``method``.
    """
    check_choice(measure, "measure", {"ratio", "rate"})
    mult = check_number(multiplier if multiplier is not None else (1 if measure == "ratio" else 100_000),
                        "multiplier", low=0, low_open=True)
    n = check_column_arg(n, "n")
    ref_x, ref_n = check_column_arg(ref_x, "ref_x"), check_column_arg(ref_n, "ref_n")
    gb = as_list(by)
    levels = confidence_levels(confidence)
    if x is None and observed_totals is None:
        raise InputError("`x` is needed unless `observed_totals` gives the observed events")
    cols = [n] + ([x] if x is not None else [])
    data = check_input(data, "data", numeric=cols, by=gb, not_null=gb,
                       required=[age_band] if age_band else [])
    data = _plain_bands(data, age_band)
    if x is not None:
        check_min(data, "data", x, 0, strict=False)
    check_min(data, "data", n, 0, strict=False)
    data = _isr_reference(data, reference, n, ref_x, ref_n, age_band)
    n_missing = int(data[n].isna().sum())
    if n_missing:
        warn(f"isr: {n_missing} missing population(s) in '{n}' count as 0")

    keys, codes = group_keys(data, gb)
    k = len(keys)
    rx = np.nan_to_num(data[ref_x].to_numpy(float))  # missing only where the population is 0
    rn = data[ref_n].to_numpy(float)
    expected = group_sum(np.nan_to_num(data[n].to_numpy(float)) * rx / rn, codes, k)
    ref_rate = group_sum(rx, codes, k) / group_sum(rn, codes, k)
    observed = _isr_observed(data, observed_totals, x, gb, keys, codes)
    if (expected <= 0).any():
        raise InputError("expected events are 0 for some group: every age band has a zero population "
                         "or a zero reference rate")
    base = keys.copy() if gb else pd.DataFrame(index=[0])
    base["observed"] = observed
    base["expected"] = expected
    scale = mult if measure == "ratio" else ref_rate * mult
    if measure == "rate":
        base["ref_rate"] = ref_rate * mult
    base["value"] = observed / expected * scale
    base["statistic"] = (f"indirectly standardised ratio x {fmt_num(mult)}" if measure == "ratio"
                         else f"indirectly standardised rate per {fmt_num(mult)}")
    base["method"] = np.where(observed < 10, "Exact", "Byars")

    def limits(c: float) -> dict[str, np.ndarray]:
        lo, hi = _ci.poisson_limits(observed, c)
        return {"lower": lo / expected * scale, "upper": hi / expected * scale}

    return stack_levels(base, levels, limits, after=_TAIL)


def isr_ratio(data: pd.DataFrame, x: str | None, n: str, **kwargs: object) -> pd.DataFrame:
    """Indirectly standardised ratio: :func:`isr` with ``measure="ratio"``."""
    return isr(data, x, n, measure="ratio", **kwargs)  # type: ignore[arg-type]


def isr_rate(data: pd.DataFrame, x: str | None, n: str, **kwargs: object) -> pd.DataFrame:
    """Indirectly standardised rate: :func:`isr` with ``measure="rate"``."""
    return isr(data, x, n, measure="rate", **kwargs)  # type: ignore[arg-type]


__all__ = ["dsr", "isr", "isr_ratio", "isr_rate", "esp2013"]
