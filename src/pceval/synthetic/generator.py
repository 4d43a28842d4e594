"""Assemble the synthetic ICB: :func:`generate` returns a :class:`SyntheticData`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pceval._checks import check_int, check_number
from pceval.errors import InputError
from pceval.synthetic import activity, measures, population, truth
from pceval.synthetic.scenarios import INTERVENTIONS, RATE_OUTCOMES, get_scenario

TABLES = ("people", "interventions", "events", "measures", "truth", "rollout", "expected",
          "expected_measures")
FORMAT_VERSION = 1


@dataclass
class SyntheticData:
    """A synthetic ICB population with its activity records and the true effects.

    Tables (pandas): ``people``, ``interventions``, ``events``, ``measures`` (the records an
    evaluator would receive); ``truth`` (true effects on the treated), ``rollout`` (go-live month
    of each intervention in each PCN), ``expected`` and ``expected_measures`` (every treated
    person-month's expected outcome with and without the intervention, for exact truth on any
    subset). ``params`` records how it was made. See ``synthetic_data/data_dictionary.md``.
    """

    people: pd.DataFrame
    interventions: pd.DataFrame
    events: pd.DataFrame
    measures: pd.DataFrame
    truth: pd.DataFrame
    rollout: pd.DataFrame
    expected: pd.DataFrame
    expected_measures: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def data_start(self) -> pd.Timestamp:
        """The first day of the simulated data (``data_end`` is the last)."""
        return pd.Timestamp(self.params["start"])

    @property
    def data_end(self) -> pd.Timestamp:
        """The last day of data."""
        return self.data_start + pd.DateOffset(months=self.params["months"]) - pd.Timedelta(days=1)

    def true_effect(self, intervention: str, outcome: str, window: tuple[int, int] = (0, 11),
                    persons: Any = None, by: str | list[str] | None = None) -> pd.DataFrame:
        """Exact true effect on the treated for any window of months since index and any subset.

        ``persons``: person ids to restrict to (e.g. the treated people an analysis kept).
        ``by``: columns of ``expected`` to break down by (e.g. ``"imd_quintile"``).
        Returns the columns of ``truth`` (absolute per 1,000 person-years and rate ratio for
        rates; mean difference and ratio of means for scores).
        """
        from pceval._checks import check_choice

        check_choice(intervention, "intervention", INTERVENTIONS)
        by_l = [by] if isinstance(by, str) else list(by or [])
        if outcome in RATE_OUTCOMES:
            ex = self.expected[self.expected["intervention"] == intervention]
            if persons is not None:
                ex = ex[ex["person_id"].isin(np.asarray(persons))]
            out = truth.rate_effects(ex, window, by_l, outcomes=[outcome])
        else:
            cf = self.expected_measures[self.expected_measures["intervention"] == intervention]
            cf = cf[cf["measure"] == outcome]
            if cf.empty:
                check_choice(outcome, "outcome", sorted(set(self.expected_measures["measure"]) | set(RATE_OUTCOMES)))
            if persons is not None:
                cf = cf[cf["person_id"].isin(np.asarray(persons))]
            out = truth.score_effects(cf, window, by_l)
        out["scenario"] = self.params.get("scenario")
        return out

    def write(self, path: str | Path) -> Path:
        """Write every table as parquet, ``metadata.json`` and ``data_dictionary.md`` to ``path``."""
        from pceval.synthetic.dictionary import data_dictionary

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            getattr(self, name).to_parquet(path / f"{name}.parquet", index=False)
        (path / "metadata.json").write_text(json.dumps(self.params, indent=2, default=str) + "\n")
        (path / "data_dictionary.md").write_text(data_dictionary(self))
        return path


def load(path: str | Path) -> SyntheticData:
    """Read a data set written by :meth:`SyntheticData.write`."""
    path = Path(path)
    meta = path / "metadata.json"
    if not meta.exists():
        raise InputError(f"`path`: no synthetic data at {str(path)!r} (metadata.json missing); "
                         "run `make data` or `pceval synth --out DIR` first")
    params = json.loads(meta.read_text())
    tables = {}
    for name in TABLES:
        f = path / f"{name}.parquet"
        if not f.exists():
            raise InputError(f"`path`: table {name!r} is missing from {str(path)!r}")
        tables[name] = pd.read_parquet(f)
    return SyntheticData(**tables, params=params)


def _parse_start(start: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(str(start))
    except (ValueError, TypeError) as exc:
        raise InputError(f"`start` must be a month such as '2019-01', got {start!r}") from exc
    if ts.day != 1:
        raise InputError(f"`start` must be the first day of a month, got {start!r}")
    if not (pd.Timestamp("1990-01-01") <= ts <= pd.Timestamp("2100-01-01")):
        raise InputError(f"`start` must lie between 1990 and 2100, got {start!r}")
    return ts


def generate(
    n_people: int = 100_000,
    scenario: str = "default",
    seed: int = 2019,
    start: str = "2019-01",
    months: int = 72,
    *,
    imd_mix: str | tuple[float, ...] | list[float] | None = "england",
    inverse_care: float = 0.7,
    people_per_pcn: int = 5_000,
    practices_per_pcn: int = 4,
    progress: bool = False,
) -> SyntheticData:
    """Generate a synthetic ICB population with activity records and the true effects.

    Parameters
    ----------
    n_people : people registered at some point in the data window (>= 1,000).
    scenario : a name from :data:`pceval.synthetic.SCENARIOS` (``"all"`` = ``"default"``).
    seed : the random seed; the same seed gives identical tables.
    start : the first month of data (``"YYYY-MM"``); ``months`` months are simulated (12-240).
    imd_mix : ``"england"`` (10% per decile), ``"deprived"``, ``"affluent"`` or ten shares.
    inverse_care : hazard ratio of uptake of care planning and health coaching in the most
        deprived decile relative to the least (1 = no inverse care law; default 0.7).
    people_per_pcn : list size of a PCN. Real PCNs serve 30,000-50,000 people; the default
        5,000 gives 20 PCNs for 100,000 people, enough for a staggered roll-out design.
    practices_per_pcn : GP practices per PCN.
    progress : show a progress bar over months.

    Example
    -------
    >>> from pceval import synthetic
    >>> data = synthetic.generate(n_people=5_000, seed=1)
    >>> sorted(data.people.columns)[:3]
    ['age', 'asthma', 'copd']
    """
    n_people = check_int(n_people, "n_people", low=1_000, high=50_000_000)
    months = check_int(months, "months", low=12, high=240)
    seed = check_int(seed, "seed", low=0)
    people_per_pcn = check_int(people_per_pcn, "people_per_pcn", low=500)
    practices_per_pcn = check_int(practices_per_pcn, "practices_per_pcn", low=1, high=50)
    inverse_care = check_number(inverse_care, "inverse_care", low=0, low_open=True, high=10)
    scen = get_scenario(scenario)
    start_ts = _parse_start(start)
    shares = population.resolve_imd_mix(imd_mix)

    rng = np.random.default_rng(seed)
    geo = population.make_geography(rng, n_people, shares, people_per_pcn, practices_per_pcn)
    p = population.make_people(rng, n_people, geo, start_ts)
    sim = activity.simulate_activity(rng, p, geo.n_pcn, scen, start_ts, months, inverse_care,
                                     progress=progress)
    start_m = np.datetime64(start_ts, "M")
    meas, cf = measures.simulate_measures(rng, p, sim, scen, months, start_m)

    people = _people_table(p, sim, geo, start_m, months, rng)
    events, quirks = _events_table(sim, people, start_m, months, rng)
    interventions = _interventions_table(sim, people, start_m)
    rollout = _rollout_table(sim, start_m, months)
    expected = _expected_table(sim, people, start_m)
    pid_q = people.set_index("person_id")["imd_quintile"]
    pid_iv = interventions.set_index("person_id")["intervention"]
    cf = cf.assign(intervention=cf["person_id"].map(pid_iv).astype(str),
                   imd_quintile=cf["person_id"].map(pid_q).astype("int64"))
    tr = truth.build_truth(expected, cf, scen.name)
    params = {
        "format_version": FORMAT_VERSION, "n_people": n_people, "scenario": scen.name,
        "scenario_description": scen.description, "seed": seed, "start": str(start_ts.date()),
        "months": months, "imd_mix": [round(float(s), 6) for s in shares], "imd_edition": "2019",
        "inverse_care": inverse_care, "people_per_pcn": people_per_pcn,
        "practices_per_pcn": practices_per_pcn, "n_pcns": geo.n_pcn, "quirks": quirks,
    }
    if scen.trend is not None:  # only scenarios with a violation of parallel trends record it
        params["trend_violation"] = {"intervention": scen.trend.intervention,
                                     "outcomes": list(scen.trend.outcomes),
                                     "slope_per_month": scen.trend.slope}
    return SyntheticData(people, interventions, events, meas, tr, rollout, expected, cf, params)


def _month_day(start_m: np.datetime64, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    d = (start_m + month.astype("timedelta64[M]")).astype("datetime64[D]") + day.astype("timedelta64[D]")
    return d.astype("datetime64[ns]")


def _exit_dates(sim: activity.Simulated, start_m: np.datetime64) -> np.ndarray:
    first = (start_m + sim.exit_month.astype("timedelta64[M]")).astype("datetime64[D]")
    nxt = (start_m + (sim.exit_month + 1).astype("timedelta64[M]")).astype("datetime64[D]")
    dim = (nxt - first).astype(np.int64)
    day = np.floor(sim.exit_frac * dim).astype(np.int64)
    return (first + day.astype("timedelta64[D]")).astype("datetime64[ns]")


def _people_table(p: dict[str, np.ndarray], sim: activity.Simulated, geo: population.Geography,
                  start_m: np.datetime64, months: int, rng: np.random.Generator) -> pd.DataFrame:
    n = len(p["age"])
    decile = p["decile"].astype(np.int64)
    exit_date = _exit_dates(sim, start_m)
    left = sim.exit_month < months
    reg_end = np.where(left, exit_date, np.datetime64("NaT"))
    death = np.where(sim.died, exit_date, np.datetime64("NaT"))
    df = pd.DataFrame({
        "person_id": np.arange(1, n + 1, dtype=np.int64),
        "practice_id": pd.Series(p["practice"]).map(lambda i: f"Y9{i:04d}").to_numpy(),
        "pcn_id": pd.Series(p["pcn"]).map(lambda i: f"U9{i:04d}").to_numpy(),
        "lsoa_code": pd.Series(p["lsoa"]).map(lambda i: f"E019{i:05d}").to_numpy(),
        "imd_decile": decile,
        "imd_quintile": (decile + 1) // 2,
        "core20": decile <= 2,
        "date_of_birth": p["dob"],
        "age": np.floor(p["age"]).astype(np.int64),
        "sex": np.where(p["female"], "F", "M"),
        "ethnic_group": np.asarray(population.ETHNIC_GROUPS)[p["eth"]],
    })
    for c in population.CONDITIONS:
        df[c] = p["cond"][c]
    df["ltc_count"] = p["ltc"]
    df["frailty_index"] = p["fi"]
    df["frailty"] = pd.Categorical(p["frailty"], categories=population.FRAILTY_LEVELS, ordered=True)
    df["registration_start"] = _month_day(start_m, sim.reg_start, np.zeros(n, dtype=np.int64))
    df["registration_end"] = pd.to_datetime(reg_end)
    df["death_date"] = pd.to_datetime(death)
    return df


def _events_table(sim: activity.Simulated, people: pd.DataFrame, start_m: np.datetime64, months: int,
                  rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    ev = sim.events
    person = ev["person"].astype(np.int64) + 1
    date = _month_day(start_m, ev["month"].astype(np.int64), ev["day"].astype(np.int64))
    code = ev["type"].astype(np.int8)
    value = ev["value"].astype(np.float64)
    # Data-quality pitfalls as in real extracts (counted in params["quirks"]):
    # a few records with no date, and a few dated outside the person's registration.
    n_nat = int(rng.binomial(len(date), 0.0002)) if len(date) else 0
    date[rng.choice(len(date), n_nat, replace=False)] = np.datetime64("NaT")
    leavers = people.loc[people["registration_end"].notna()]
    pick = leavers.sample(frac=0.02, random_state=int(rng.integers(2**31)))
    after_date = (pick["registration_end"]
                  + pd.to_timedelta(rng.integers(1, 90, len(pick)), unit="D")).to_numpy()
    after_code = rng.choice([1, 3], len(pick)).astype(np.int8)  # A&E or outpatient
    joiners = people.loc[people["registration_start"] > people["registration_start"].min()]
    pick2 = joiners.sample(frac=0.02, random_state=int(rng.integers(2**31)))
    before_date = (pick2["registration_start"]
                   - pd.to_timedelta(rng.integers(1, 90, len(pick2)), unit="D")).to_numpy()
    # an extract holds only dates inside the data window
    first = start_m.astype("datetime64[ns]")
    last = (start_m + np.timedelta64(months, "M")).astype("datetime64[ns]")
    keep_a = (after_date >= first) & (after_date < last)
    keep_b = (before_date >= first) & (before_date < last)
    pick, after_date, after_code = pick[keep_a], after_date[keep_a], after_code[keep_a]
    pick2, before_date = pick2[keep_b], before_date[keep_b]
    person = np.concatenate([person, pick["person_id"].to_numpy(), pick2["person_id"].to_numpy()])
    date = np.concatenate([date, after_date.astype("datetime64[ns]"), before_date.astype("datetime64[ns]")])
    code = np.concatenate([code, after_code, np.full(len(pick2), 2, dtype=np.int8)])
    value = np.concatenate([value, np.full(len(pick) + len(pick2), np.nan)])
    # sort by person then date, missing dates last (NaT sorts first in numpy, so key on a flag)
    order = np.lexsort((date.view("int64"), np.isnat(date), person))
    df = pd.DataFrame({
        "person_id": person[order],
        "date": date[order],
        "type": pd.Categorical.from_codes(code[order], categories=list(RATE_OUTCOMES)),
        "value": value[order],
    })
    quirks = {"events_missing_date": n_nat, "events_after_registration_end": len(pick),
              "events_before_registration_start": len(pick2)}
    return df, quirks


def _interventions_table(sim: activity.Simulated, people: pd.DataFrame, start_m: np.datetime64) -> pd.DataFrame:
    idx = np.nonzero(sim.treat_iv > 0)[0]
    df = pd.DataFrame({
        "person_id": idx.astype(np.int64) + 1,
        "intervention": np.asarray(INTERVENTIONS)[sim.treat_iv[idx] - 1],
        "date": _month_day(start_m, sim.treat_month[idx], sim.treat_day[idx]),
        "pcn_id": people["pcn_id"].to_numpy()[idx],
    })
    return df.sort_values(["date", "person_id"]).reset_index(drop=True)


def _rollout_table(sim: activity.Simulated, start_m: np.datetime64, months: int) -> pd.DataFrame:
    n_pcn = sim.go_live.shape[0]
    pcn = np.repeat(np.arange(n_pcn), len(INTERVENTIONS))
    iv = np.tile(np.asarray(INTERVENTIONS), n_pcn)
    m = sim.go_live.reshape(-1)
    live = np.where(m < months, _month_day(start_m, np.minimum(m, months - 1), np.zeros_like(m)),
                    np.datetime64("NaT"))
    return pd.DataFrame({"pcn_id": [f"U9{i:04d}" for i in pcn], "intervention": iv,
                         "go_live": pd.to_datetime(live),
                         "go_live_month": np.where(m < months, m, -1)})


def _expected_table(sim: activity.Simulated, people: pd.DataFrame, start_m: np.datetime64) -> pd.DataFrame:
    ex = sim.expected
    pid = ex["person"].astype(np.int64)
    df = pd.DataFrame({
        "person_id": pid + 1,
        "month": _month_day(start_m, ex["month"], np.zeros(len(pid), dtype=np.int64)),
        "months_since_index": ex["month"] - sim.treat_month[pid],
        "intervention": np.asarray(INTERVENTIONS)[sim.treat_iv[pid] - 1],
        "imd_quintile": people["imd_quintile"].to_numpy()[pid],
        "person_time": ex["person_time"],
    })
    for o in RATE_OUTCOMES:
        df[f"untreated_{o}"] = ex[f"untreated_{o}"]
        df[f"treated_{o}"] = ex[f"treated_{o}"]
    return df
