"""pceval.matched_panel: from a matched sample to the matched panel (issue 15).

The panel must equal the hand-built merge users wrote before (build_panel on the matched rows, the
design columns merged back, a post flag), on the shipped synthetic data, on every in-memory and lazy
engine; a person matched twice (a not-yet-treated control treated later) must give two units.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import pceval
from pceval._engines import to_pandas
from pceval.errors import InputError, PcevalWarning

ROOT = Path(__file__).resolve().parents[1]
OPTS = dict(kinds=["emergency_admission", "ae_attendance"], before=6, after=6, start_date="registration_start")
ORDER = ["person_id", "match_id", "rel_period", "calendar_period", "person_time", "emergency_admission",
         "ae_attendance", "treated", "weights", "subclass", "post"]


@pytest.fixture(scope="module")
def sample():
    """A rolling-entry match on a tenth of the synthetic adults (not-yet-treated controls, so that a
    control treated later appears twice) and the events of that tenth."""
    if not (ROOT / "synthetic_data" / "metadata.json").exists():
        pytest.fail("synthetic_data/ is missing: run `make data`")
    d = pceval.synthetic.load(ROOT / "synthetic_data")
    people = d.people.assign(end_date=d.people[["registration_end", "death_date"]].min(axis=1))
    ix = pceval.index_dates(people, d.interventions, which="pcsp")
    ix = ix[(ix["age"] >= 18) & (ix["person_id"] % 20 == 0)]
    events = d.events[d.events["person_id"] % 10 == 0].reset_index(drop=True)  # others: not matched
    cand = pceval.candidate_index_periods(ix, period="quarter", start_date="registration_start",
                                          end_date="end_date", controls="not_yet_treated")
    cand = pceval.baseline_covariates(cand, events, lookback=12)
    m = pceval.match(cand, treatment="treated", period="index_period", unit="person_id", seed=1,
                     covariates=["age_at_index", "ltc_count", "prior_emergency_admission"])
    return events, m


def _quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        return f(*args, **kwargs)


def _by_hand(events, matched, carry=("treated", "weights", "subclass")):
    """What users wrote: number the matched rows by (person, index date); build_panel on the rows of
    each person's 1st, 2nd, ... index date separately (each has one row per person); merge the design
    columns back by person; add post."""
    m = matched.sort_values(["person_id", "index_date"]).reset_index(drop=True)
    m["match_id"] = range(len(m))
    m["_k"] = m.groupby("person_id").cumcount()
    parts = []
    for _, rows in m.groupby("_k"):
        p = _quiet(pceval.build_panel, events, rows[["person_id", "index_date", "end_date", "registration_start"]],
                   **OPTS)
        parts.append(p.merge(rows[["person_id", "match_id", *carry]], on="person_id", how="left"))
    hand = pd.concat(parts, ignore_index=True)
    hand["post"] = (hand["rel_period"] >= 0).astype("int64")
    cols = [c for c in ORDER if c in hand.columns and c not in carry and c != "post"] + [*carry, "post"]
    return hand[cols].sort_values(["match_id", "rel_period"]).reset_index(drop=True)


def test_a_person_matched_twice_is_in_the_sample(sample):
    md = sample[1].matched_data()
    assert md["person_id"].duplicated().any()  # the case this function must keep apart


def test_equals_the_hand_built_merge(sample):
    events, m = sample
    md = m.matched_data()
    got = _quiet(pceval.matched_panel, events, m, **OPTS)  # a MatchResult: duck-typed matched_data()
    pd.testing.assert_frame_equal(got, _by_hand(events, md), check_exact=True)
    assert got.attrs["pceval_time_units"] == {"person_time": "month"}
    twice = md.loc[md["person_id"].duplicated(), "person_id"].iloc[0]
    rows = got[got["person_id"] == twice]
    assert rows["match_id"].nunique() == 2 and not rows.duplicated(["match_id", "rel_period"]).any()
    assert set(rows.groupby("match_id")["treated"].first()) == {True, False}


def test_one_row_per_person_takes_the_direct_path(sample):
    events, m = sample
    md = m.matched_data()
    once = md[~md["person_id"].duplicated(keep=False)]
    got = _quiet(pceval.matched_panel, events, once, extra=["imd_quintile"], **OPTS)
    hand = _by_hand(events, once, carry=("treated", "weights", "subclass", "imd_quintile"))
    pd.testing.assert_frame_equal(got, hand, check_exact=True)


def test_polars_and_duckdb_give_the_same_panel(sample):
    import duckdb
    import polars as pl

    events, m = sample
    md = m.matched_data()
    expected = _quiet(pceval.matched_panel, events, md, **OPTS)
    got = _quiet(pceval.matched_panel, pl.from_pandas(events), pl.from_pandas(md), **OPTS)
    assert isinstance(got, pl.DataFrame)
    pd.testing.assert_frame_equal(got.to_pandas(), expected, check_exact=True, check_dtype=False)
    con = duckdb.connect()
    lazy = _quiet(pceval.matched_panel, con.from_df(events), md, **OPTS)  # a pandas sample beside DuckDB
    got = to_pandas(lazy).sort_values(["match_id", "rel_period"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_dtype=False)


def test_flow_and_warnings(sample):
    events, m = sample
    with pytest.warns(PcevalWarning, match="matched_panel excluded events of people in `matched`"):
        got, flow = pceval.matched_panel(events, m, return_flow=True, **OPTS)
    ev = flow[flow["table"] == "events"]
    md = m.matched_data()
    n_rows = events["person_id"].map(md["person_id"].value_counts()).fillna(1).sum()
    assert ev["n"].sum() == n_rows  # each event once per matched row of its person
    assert flow.loc[flow["table"] == "index", "n"].sum() == len(md)
    assert set(got["post"]) == {0, 1}


def test_mistakes_are_errors(sample):
    events, m = sample
    md = m.matched_data()
    with pytest.raises(InputError, match=r"\['subclas'\].*did you mean 'subclass'"):
        pceval.matched_panel(events, md, carry=("treated", "subclas"), **OPTS)
    with pytest.raises(InputError, match="did you mean 'imd_quintile'"):
        pceval.matched_panel(events, md, extra=["imd_quintle"], **OPTS)
    with pytest.raises(InputError, match="unknown option.*'kinde'.*did you mean 'kind'"):
        pceval.matched_panel(events, md, kinde="type")
    with pytest.raises(InputError, match="already has a column 'match_id'"):
        pceval.matched_panel(events, md.assign(match_id=1), **OPTS)
    with pytest.raises(InputError, match="must not repeat"):
        pceval.matched_panel(events, pd.concat([md, md.head(1)]), **OPTS)
    with pytest.raises(InputError, match="matched_data"):
        pceval.matched_panel(events, [1, 2], **OPTS)
    with pytest.raises(InputError, match="`matched` has no column 'end_date' \\(did you mean 'end_dat'"):
        pceval.matched_panel(events, md.rename(columns={"end_date": "end_dat"}), **OPTS)
    with pytest.raises(InputError, match="would overwrite"):
        pceval.matched_panel(events, md.rename(columns={"age": "post"}), extra=["post"], **OPTS)


def test_any_object_with_matched_data(sample):
    events, m = sample

    class Mine:
        def matched_data(self):
            return m.matched_data()

    a = _quiet(pceval.matched_panel, events, Mine(), **OPTS)
    b = _quiet(pceval.matched_panel, events, m, **OPTS)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_spark_gives_the_same_panel(sample, spark_session):
    events, m = sample
    md = m.matched_data()
    ev = events[events["person_id"].isin(md["person_id"])].reset_index(drop=True)
    ev = ev.assign(type=ev["type"].astype(str))
    expected = _quiet(pceval.matched_panel, ev, md, **OPTS)
    lazy = _quiet(pceval.matched_panel, spark_session.createDataFrame(ev), md, **OPTS)
    got = to_pandas(lazy).sort_values(["match_id", "rel_period"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_dtype=False)
