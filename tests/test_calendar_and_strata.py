"""Calendar-time panels and stratified counts: checked against direct pandas computations."""

from __future__ import annotations

import pandas as pd
import pytest

from pceval import synthetic
from pceval._engines import to_pandas
from pceval.errors import InputError
from pceval.panel import calendar_panel, stratified_counts

END = pd.Timestamp("2021-12-31")


@pytest.fixture(scope="module")
def data():
    d = synthetic.generate(n_people=2_000, seed=2, months=36)
    ppl = d.people.assign(end_date=d.people[["registration_end", "death_date"]].min(axis=1))
    ppl = ppl.merge(d.rollout.query("intervention == 'pcsp'")[["pcn_id", "go_live"]], on="pcn_id")
    return d, ppl


def _valid_events(d, ppl):
    ev = d.events.dropna(subset=["date"]).merge(ppl[["person_id", "registration_start", "end_date",
                                                       "imd_quintile", "pcn_id"]])
    ok = (ev["date"] >= ev["registration_start"]) & (ev["end_date"].isna() | (ev["date"] <= ev["end_date"]))
    return ev[ok & (ev["date"] <= END)]


def test_stratified_counts_match_direct_computation(data, to_engine):
    d, ppl = data
    sc = to_pandas(stratified_counts(to_engine(d.events), to_engine(ppl), ["imd_quintile"],
                                     "2019-01-01", "2021-12-01")).sort_values("imd_quintile")
    end = ppl["end_date"].fillna(END).clip(upper=END)
    py = ((end - ppl["registration_start"]).dt.days + 1).clip(lower=0) / 365.25
    expected_py = py.groupby(ppl["imd_quintile"]).sum()
    pd.testing.assert_series_equal(sc.set_index("imd_quintile")["person_years"], expected_py,
                                   check_names=False, rtol=1e-9)
    adm = _valid_events(d, ppl).query("type == 'emergency_admission'").groupby("imd_quintile").size()
    assert sc.set_index("imd_quintile")["emergency_admission"].astype(int).to_dict() == adm.to_dict()


def test_calendar_panel_by_group_with_first_treated(data):
    d, ppl = data
    cp = calendar_panel(d.events, ppl, "2019-01-01", "2021-12-01", by="pcn_id", first_treated="go_live")
    assert cp.groupby("pcn_id").size().eq(36).all()
    assert cp["calendar_period"].min() == 201901 and cp["calendar_period"].max() == 202112
    live = d.rollout.query("intervention == 'pcsp'").set_index("pcn_id")["go_live"]
    expect = live.map(lambda t: 0 if pd.isna(t) or t > END else t.year * 100 + t.month)
    got = cp.drop_duplicates("pcn_id").set_index("pcn_id")["first_treated"]
    assert got.to_dict() == expect.to_dict()
    gp = _valid_events(d, ppl).query("type == 'gp_appointment'").groupby("pcn_id").size()
    assert cp.groupby("pcn_id")["gp_appointment"].sum().to_dict() == gp.to_dict()


def test_calendar_panel_person_level(data):
    d, ppl = data
    cp = calendar_panel(d.events, ppl.head(50), "2020-01-01", "2020-06-01")
    assert set(cp["period_index"]) <= set(range(6))
    assert (cp["person_time"] > 0).all() and (cp["person_time"] <= 1).all()


def test_bad_input(data):
    d, ppl = data
    with pytest.raises(InputError, match="is before `start`"):
        calendar_panel(d.events, ppl, "2021-01-01", "2020-01-01")
    with pytest.raises(InputError, match=r"`people` is missing required column\(s\) \['ward'\]"):
        stratified_counts(d.events, ppl, ["ward"], "2019-01-01", "2019-12-01")
