"""Cohort flow, index dates, rolling-entry candidates and baseline covariates on every engine."""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pytest

from pceval._engines import to_pandas
from pceval.cohort import Cohort, baseline_covariates, candidate_index_periods, index_dates
from pceval.errors import InputError


def people():
    return pd.DataFrame({
        "person_id": np.arange(1, 11),
        "age": [15, 30, 45, 60, 75, 90, 50, np.nan, 40, 20],
        "treated": [True, True, False, False, True, False, False, True, False, False],
        "excluded_flag": [False, False, True, None, False, False, False, False, True, False],
    })


def test_flow_reconciles_on_every_engine(to_engine):
    c = (Cohort(to_engine(people()), treatment="treated")
         .include("Adults", nw.col("age") >= 18)        # drops age 15 and the missing age
         .exclude("Flagged", "excluded_flag"))           # drops two; a missing flag keeps the row
    fl = c.flow()
    assert fl["n_after"].tolist() == [10, 8, 6]
    assert fl["n_removed"].tolist() == [0, 2, 2]
    assert (fl["n_before"] - fl["n_removed"] == fl["n_after"]).all()
    assert (fl["n_after_treated"] + fl["n_after_untreated"] == fl["n_after"]).all()
    assert fl["n_removed_treated"].tolist() == [0, 2, 0]
    kept = to_pandas(c.frame).sort_values("person_id")["person_id"].tolist()
    assert kept == [2, 4, 5, 6, 7, 10]


def test_flow_plot_protects_counts():
    c = Cohort(people(), treatment="treated").include("Adults", nw.col("age") >= 18)
    p = c.flow_plot()
    boxes, side = p.layers[1].geom.data["text"].tolist(), p.layers[2].geom.data["text"].tolist()
    assert boxes == ["Starting population\n10 people", "Include: Adults\n10 people"]  # 8 rounds to 10
    assert side == ["Removed: 7 or fewer"]  # 2 removed: suppressed


def test_index_dates_first_qualifying_intervention(to_engine):
    ppl = pd.DataFrame({"person_id": [1, 2, 3]})
    iv = pd.DataFrame({"person_id": [1, 1, 2, 3], "intervention": ["pcsp", "pcsp", "phb", "pcsp"],
                       "date": pd.to_datetime(["2021-05-01", "2021-03-01", "2021-01-01", None])})
    out = to_pandas(index_dates(to_engine(ppl), to_engine(iv), which="pcsp")).sort_values("person_id")
    assert out["index_date"].iloc[0] == pd.Timestamp("2021-03-01")
    assert out["index_date"].iloc[1:].isna().all()
    assert out["treated"].tolist() == [True, False, False]


def _cohort():
    return pd.DataFrame({
        "person_id": [1, 2, 3, 4, 5],
        "treated": [True, True, False, False, False],
        "index_date": pd.to_datetime(["2021-03-10", "2021-06-20", None, "2021-09-01", None]),
        "start": pd.to_datetime(["2019-01-01"] * 4 + ["2021-05-01"]),
        "end": pd.to_datetime([None, None, "2021-04-15", None, None]),
    })


def test_candidate_periods_never_treated(to_engine):
    c = _cohort().assign(treated=[True, True, False, True, False])
    out = to_pandas(candidate_index_periods(to_engine(c), start_date="start", end_date="end"))
    ctrl = out[out["candidate"]].sort_values(["person_id", "index_date"])
    # periods of treated index dates: 2021-03, 2021-06, 2021-09
    assert sorted(out.loc[~out["candidate"], "index_period"]) == [202103, 202106, 202109]
    # person 3 leaves on 15 April -> only March; person 5 registers in May -> June and September
    assert ctrl.groupby("person_id")["index_period"].apply(list).to_dict() == {
        3: [202103], 5: [202106, 202109]}
    assert (ctrl["index_date"].dt.day == 1).all() and not ctrl["treated"].any()


def test_candidate_periods_not_yet_treated():
    out = candidate_index_periods(_cohort().assign(treated=[True, True, False, False, False],
                                                   index_date=pd.to_datetime(["2021-03-10", "2021-06-20", None,
                                                                              None, None])),
                                  start_date="start", end_date="end", controls="not_yet_treated")
    # persons 4 (Mar, Jun), 3 (Mar), 5 (Jun), and 2 (treated in June) as a not-yet-treated control in March
    cand = out[out["candidate"]]
    assert sorted(zip(cand["person_id"], cand["index_period"], strict=True)) == [
        (2, 202103), (3, 202103), (4, 202103), (4, 202106), (5, 202106)]


def test_baseline_covariates_hand_checked(to_engine):
    ix = pd.DataFrame({"person_id": [1, 1, 2], "index_date": pd.to_datetime(["2021-06-15", "2021-03-01",
                                                                             "2021-06-15"]),
                       "date_of_birth": pd.to_datetime(["1950-06-16", "1950-06-16", "1980-01-01"])})
    ev = pd.DataFrame({"person_id": [1, 1, 1, 1, 2],
                       "date": pd.to_datetime(["2021-06-01", "2021-05-31", "2020-06-30", "2019-01-01",
                                               "2021-02-01"]),
                       "type": ["emergency_admission", "emergency_admission", "gp_appointment",
                                "emergency_admission", "gp_appointment"]})
    out = to_pandas(baseline_covariates(to_engine(ix), to_engine(ev), lookback=12)).sort_values(
        ["person_id", "index_date"]).reset_index(drop=True)
    # person 1 at 2021-03-01: GP 2020-06-30 within 12 months; admissions: 2019-01 only (26 months back)
    r = out.iloc[0]
    assert (r["prior_gp_appointment"], r["prior_emergency_admission"]) == (1, 0)
    assert r["months_since_emergency"] == 26 and r["age_at_index"] == 70
    # person 1 at 2021-06-15: the 1 June admission is in the index month (excluded); 31 May counts
    r = out.iloc[1]
    assert (r["prior_emergency_admission"], r["months_since_emergency"], r["age_at_index"]) == (1, 1, 70)
    r = out.iloc[2]
    assert r["prior_gp_appointment"] == 1 and not r["any_prior_emergency"] and r["age_at_index"] == 41


def test_empty_cohort_is_a_clear_error():
    c = Cohort(people(), treatment="treated").include("Adults", nw.col("age") >= 18).include(
        "Over 100", nw.col("age") > 100)
    assert c.flow()["n_after"].tolist() == [10, 8, 0]
    with pytest.raises(InputError, match="no one is left after the step 'Include: Over 100'"):
        _ = c.frame


def test_bad_input():
    with pytest.raises(InputError, match=r"`people` is missing required column\(s\) \['treated'\]"):
        Cohort(pd.DataFrame({"person_id": [1]}), treatment="treated")
    with pytest.raises(InputError, match="must be a pandas, polars, DuckDB or Spark table"):
        Cohort([1, 2, 3])
    with pytest.raises(InputError, match="no treated people"):
        candidate_index_periods(_cohort().assign(treated=False))
    with pytest.raises(InputError, match=r"`lookback` must be at least 1"):
        baseline_covariates(_cohort(), pd.DataFrame({"person_id": [1], "date": [pd.Timestamp("2020-01-01")],
                                                     "type": ["x"]}), lookback=0)


def test_treated_flag_checked_in_flow(to_engine):
    ppl = people().assign(treated=[1, 1, 0, 0, 1, 0, 0, 1, 0, 0])
    fl = Cohort(to_engine(ppl), treatment="treated").include("Adults", nw.col("age") >= 18).flow()
    assert fl["n_after_treated"].tolist() == [4, 2]
    bad = people().assign(treated=[True, None, False, False, True, False, False, True, False, False])
    with pytest.raises(InputError, match=r"`people`: flag column 'treated' has 1 missing value"):
        Cohort(bad, treatment="treated").flow()


def test_missing_column_in_a_condition_suggests_the_nearest():
    with pytest.raises(InputError, match=r"\['excluded'\] \(did you mean 'excluded_flag'\?\)"):
        Cohort(people(), treatment="treated").exclude("Flagged", "excluded").flow()


def test_baseline_covariates_several_windows_match_the_direct_join(to_engine):
    """The as-of (cumulative count) computation equals joining every event to every index row."""
    import pceval.cohort as cohort_mod
    from pceval import synthetic

    d = synthetic.generate(n_people=1_000, seed=5, months=36)
    ppl = d.people.assign(end_date=d.people[["registration_end", "death_date"]].min(axis=1))
    ix = index_dates(ppl, d.interventions, which="social_prescribing")
    cand = candidate_index_periods(ix, start_date="registration_start", end_date="end_date")
    cand = cand[["person_id", "index_date", "date_of_birth"]]
    ev = d.events[["person_id", "date", "type"]]
    got = to_pandas(baseline_covariates(to_engine(cand), to_engine(ev), lookback=[3, 12]))
    got = got.sort_values(["person_id", "index_date"]).reset_index(drop=True)
    fast = cohort_mod._prior_cumulative
    try:
        cohort_mod._prior_cumulative = cohort_mod._prior_exploded
        ref = baseline_covariates(cand, ev, lookback=[3, 12])
    finally:
        cohort_mod._prior_cumulative = fast
    ref = ref.sort_values(["person_id", "index_date"]).reset_index(drop=True)
    assert {"prior_ae_attendance_3m", "prior_ae_attendance_12m"} <= set(got.columns)
    assert ref["prior_gp_appointment_12m"].sum() > 0
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_dtype=False)
    single = baseline_covariates(cand, ev, lookback=12).sort_values(["person_id", "index_date"])
    assert single["prior_gp_appointment"].tolist() == ref["prior_gp_appointment_12m"].tolist()


def test_progress_bar_shows_the_steps_and_switches_off(monkeypatch, capsys):
    """A slow call shows a bar over its steps (here: the delay set to 0); progress=False shows none;
    the result is the same either way."""
    import pceval.cohort as cohort_module

    monkeypatch.setattr(cohort_module, "_PROGRESS_DELAY", 0.0)
    ppl = pd.DataFrame({"person_id": [1, 2, 3], "treated": [True, False, False],
                        "index_date": pd.to_datetime(["2020-03-10", None, None])})
    ev = pd.DataFrame({"person_id": [1, 2, 2], "date": pd.to_datetime(["2020-01-05", "2019-12-01", "2020-02-01"]),
                       "type": ["emergency_admission", "gp_appointment", "emergency_admission"]})
    capsys.readouterr()
    cand = candidate_index_periods(ppl)
    bc = baseline_covariates(cand, ev)
    err = capsys.readouterr().err
    assert "candidate_index_periods" in err and "baseline_covariates" in err and "collecting the result" in err
    cand_quiet = candidate_index_periods(ppl, progress=False)
    bc_quiet = baseline_covariates(cand_quiet, ev, progress=False)
    assert capsys.readouterr().err == ""
    pd.testing.assert_frame_equal(bc, bc_quiet)
    assert bc["prior_emergency_admission"].tolist() == [1, 1, 0]


def test_rolling_entry_on_duckdb_stays_lazy_and_equals_pandas_under_a_memory_limit(tmp_path):
    """National scale on DuckDB: candidates plus baseline covariates stay a relation (nothing is collected
    until the user asks) and, on a connection with a small ``memory_limit`` and a spill directory (as
    docs/cohort_and_panel.md advises), give exactly the rows and values of the pandas path."""
    duckdb = pytest.importorskip("duckdb")
    from pceval import synthetic

    d = synthetic.generate(n_people=2_000, seed=11, months=36)
    ppl = d.people.assign(end_date=d.people[["registration_end", "death_date"]].min(axis=1))
    ix = index_dates(ppl, d.interventions, which="social_prescribing")
    opts = dict(period="month", start_date="registration_start", end_date="end_date", progress=False)
    want = baseline_covariates(candidate_index_periods(ix, **opts), d.events, lookback=[3, 12], progress=False)
    con = duckdb.connect()
    con.execute("SET threads TO 1")
    con.execute("SET memory_limit = '100MB'")
    con.execute(f"SET temp_directory = '{tmp_path}'")
    cand = candidate_index_periods(con.from_df(ix), **opts)
    got = baseline_covariates(cand, con.from_df(d.events), lookback=[3, 12], progress=False)
    assert isinstance(cand, duckdb.DuckDBPyRelation) and isinstance(got, duckdb.DuckDBPyRelation)
    assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] in {"95.3 MiB", "100.0 MB"}
    got = got.df()
    assert len(got) == len(want) > 10 * len(ix[~ix["treated"]]) // 2
    assert want["prior_emergency_admission_3m"].sum() > 0
    key = ["person_id", "index_date"]
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        g, w = got[c], want[c]
        if pd.api.types.is_datetime64_any_dtype(w):
            g, w = g.astype("datetime64[ns]"), w.astype("datetime64[ns]")
        pd.testing.assert_series_equal(g, w, check_dtype=False, check_exact=True, obj=c)
