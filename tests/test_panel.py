"""build_panel: hand-checked person-time and counts, identical on every engine."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pceval._engines import to_pandas
from pceval.errors import InputError, PcevalWarning
from pceval.panel import build_panel


def events():
    return pd.DataFrame({
        "person_id": [1, 1, 1, 2, 3, 1],
        "date": pd.to_datetime(["2020-01-15", "2020-03-10", "2020-03-11", "2020-02-01", "2020-02-01", None]),
        "type": ["adm", "adm", "gp", "gp", "gp", "gp"],
        "value": [3.0, 2.0, np.nan, np.nan, np.nan, np.nan],
    })


def index():
    return pd.DataFrame({
        "person_id": [1, 2, 4],
        "index_date": pd.to_datetime(["2020-02-15", "2020-02-01", "2020-02-20"]),
        "end_date": pd.to_datetime(["2020-03-10", pd.NaT, pd.NaT]),
    })


EXPECTED = pd.DataFrame({
    "person_id": [1, 1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4],
    "rel_period": [-2, -1, 0, 1, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2],
    "calendar_period": [201912, 202001, 202002, 202003, 201912, 202001, 202002, 202003, 202004,
                        201912, 202001, 202002, 202003, 202004],
    "person_time": [1, 1, 1, 10 / 31, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "adm": [0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "gp": [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    "adm_value": [0, 3.0, 0, 2.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "gp_value": [0.0] * 14,
})


def _norm(df):
    out = to_pandas(df).sort_values(["person_id", "rel_period"]).reset_index(drop=True)
    for c in ("person_id", "rel_period", "calendar_period", "adm", "gp"):
        out[c] = out[c].astype("int64")
    return out


def test_hand_checked_panel_on_every_engine(to_engine):
    ev, ix = events(), index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        panel, flow = build_panel(to_engine(ev), to_engine(ix), before=2, after=2, value="value",
                                  return_flow=True)
    got = _norm(panel)
    pd.testing.assert_frame_equal(got, EXPECTED.astype(got.dtypes.to_dict()), check_exact=False, rtol=1e-12)
    ev_flow = flow[flow["table"] == "events"]
    counts = dict(zip(ev_flow["reason"], ev_flow["n"], strict=True))
    assert counts == {"counted": 3, "missing date": 1, "outside follow-up (registration/death)": 1,
                      "person not in index": 1}
    ix_flow = flow[flow["table"] == "index"]
    assert ix_flow["n"].sum() == len(ix) and ix_flow["n"].iloc[0] == 3


def test_result_stays_in_its_engine(to_engine):
    ev = to_engine(events())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        out = build_panel(ev, to_engine(index()), before=1, after=1)
    assert type(out).__module__.split(".")[0] == type(ev).__module__.split(".")[0]


def test_quarters_and_start_dates():
    ev = pd.DataFrame({"person_id": [1, 1], "date": pd.to_datetime(["2020-05-15", "2020-01-05"]),
                       "type": ["adm", "adm"]})
    ix = pd.DataFrame({"person_id": [1], "index_date": pd.to_datetime(["2020-04-01"]),
                       "start_date": pd.to_datetime(["2020-01-10"]),
                       "end_date": pd.to_datetime(["2020-05-15"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        p = build_panel(ev, ix, period="quarter", before=1, after=1, start_date="start_date")
    # Q1 2020 (leap year): 91 days, at risk from 10 Jan = day 10 -> 82/91; Q2: 1 Apr..15 May = 45/91
    np.testing.assert_allclose(p["person_time"], [82 / 91, 45 / 91])
    assert p["calendar_period"].tolist() == [20201, 20202]
    assert p["adm"].tolist() == [0, 1]  # the 5 January event precedes registration


def test_no_events_gives_rows_of_zeros_and_input_not_mutated():
    ev, ix = events(), index()
    ev0, ix0 = ev.copy(), ix.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        p = build_panel(ev, ix, before=2, after=2)
    four = p[p["person_id"] == 4]
    assert len(four) == 5 and (four[["adm", "gp"]] == 0).all().all()
    pd.testing.assert_frame_equal(ev, ev0)
    pd.testing.assert_frame_equal(ix, ix0)


def test_exclusions_warned_with_counts():
    with pytest.warns(PcevalWarning, match=r"missing date: 1, outside follow-up \(registration/death\): 1"):
        build_panel(events(), index(), before=2, after=2)


def test_data_end_caps_follow_up():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        p = build_panel(events(), index(), before=2, after=2, data_end="2020-03-15")
    p2 = p[p["person_id"] == 2].set_index("rel_period")["person_time"]
    assert p2.loc[1] == pytest.approx(15 / 31) and 2 not in p2.index


@pytest.mark.parametrize("change, message", [
    (lambda e, i: (e.drop(columns="type"), i), r"`events` is missing required column\(s\) \['type'\]"),
    (lambda e, i: (e, pd.concat([i, i.iloc[[0]]])), "`index`: column 'person_id' must be unique"),
    (lambda e, i: (e.assign(date=e["date"].dt.strftime("%d/%m/%Y")), i),
     r"`events`: column 'date' must hold dates; .* not ISO dates .*'10/03/2020'"),
    (lambda e, i: (e, i.assign(index_date=pd.NaT)), r"`index`: column 'index_date' has 3 missing value"),
    (lambda e, i: (e.assign(person_id=e["person_id"].astype(str)), i), "column 'person_id' has type"),
    (lambda e, i: (e.assign(date=e["date"].dt.tz_localize("UTC")), i), "column 'date' has time zone UTC"),
])
def test_bad_input(change, message):
    ev, ix = change(events(), index())
    with pytest.raises(InputError, match=message):
        build_panel(ev, ix, before=1, after=1)


def test_index_dates_outside_data_window_and_negative_values():
    with pytest.raises(InputError, match=r"'index_date' has dates after data_end \(2020-02-10\)"):
        build_panel(events(), index(), data_end="2020-02-10")
    with pytest.raises(InputError, match="has dates before data_start"):
        build_panel(events(), index(), data_start="2020-02-16")
    with pytest.raises(InputError, match="'value' must be finite and not negative"):
        build_panel(events().assign(value=-1.0), index(), value="value")


def test_bad_arguments():
    with pytest.raises(InputError, match="`period` must be one of"):
        build_panel(events(), index(), period="week")
    with pytest.raises(InputError, match="`before` must be at least 0"):
        build_panel(events(), index(), before=-1)


def test_on_synthetic_data_counts_reconcile():
    from pceval import synthetic

    d = synthetic.generate(n_people=3_000, seed=8, months=36)
    ix = d.interventions.rename(columns={"date": "index_date"})[["person_id", "index_date"]]
    ix = ix.merge(d.people[["person_id", "registration_start", "registration_end", "death_date"]])
    ix["end_date"] = ix[["registration_end", "death_date"]].min(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        p, flow = build_panel(d.events, ix, before=6, after=6, start_date="registration_start",
                              data_end=d.data_end, return_flow=True)
    ev_flow = flow[flow["table"] == "events"]
    counts = dict(zip(ev_flow["reason"], ev_flow["n"], strict=True))
    assert sum(counts.values()) == len(d.events)
    # missing dates are counted only among the people in the index (issue 15)
    in_ix = d.events["person_id"].isin(ix["person_id"])
    assert counts.get("missing date", 0) == int((d.events["date"].isna() & in_ix).sum())
    assert counts["person not in index"] == int((~in_ix).sum())
    assert flow.loc[flow["table"] == "index", "n"].sum() == len(ix)
    assert counts["counted"] == p[["ae_attendance", "emergency_admission", "gp_appointment",
                                   "outpatient_attendance"]].to_numpy().sum()
    assert (p["person_time"] > 0).all() and (p["person_time"] <= 1).all()
