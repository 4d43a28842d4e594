"""Issue 15: the mistakes a new user makes in the data steps give an error or a specific warning.

Each test feeds cohort/panel functions a mistake seen in practice (a misspelt value, a missing
column, a string date, an int id beside a str id, a unit mix-up, ...) on pandas and at least one
other engine, and checks for a PcevalError or a PcevalWarning instead of a quiet wrong table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pceval._engines import to_pandas
from pceval.cohort import baseline_covariates, candidate_index_periods, index_dates
from pceval.errors import InputError, PcevalWarning
from pceval.panel import build_panel, calendar_panel, stratified_counts

pl = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")

LOCAL = ["pandas", "polars", "duckdb"]  # the in-process engines (Spark: see the to_engine tests)


@pytest.fixture(params=LOCAL)
def eng(request):
    if request.param == "pandas":
        return lambda df: df
    if request.param == "polars":
        return pl.from_pandas
    con = duckdb.connect()
    return con.from_df


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PcevalWarning)
        return f(*args, **kwargs)


def events():
    return pd.DataFrame({
        "person_id": [1, 1, 1, 2, 3, 1, 2],
        "date": pd.to_datetime(["2020-01-15", "2020-03-10", "2020-03-11", "2020-02-01", "2020-02-01", None,
                                "2019-12-05"]),
        "type": ["emergency_admission", "emergency_admission", "gp_appointment", "gp_appointment",
                 "gp_appointment", "ae_attendance", "ae_attendance"],
    })


def index():
    return pd.DataFrame({
        "person_id": [1, 2, 4],
        "index_date": pd.to_datetime(["2020-02-15", "2020-02-01", "2020-02-20"]),
        "end_date": pd.to_datetime(["2020-03-10", pd.NaT, pd.NaT]),
    })


def people():
    return pd.DataFrame({
        "person_id": [1, 2, 3, 4],
        "registration_start": pd.to_datetime(["2019-01-01"] * 4),
        "end_date": pd.to_datetime([None, "2020-06-30", None, None]),
        "imd_quintile": [1, 1, 5, 5],
        "pcn_id": ["A", "A", "B", "B"],
        "go_live": pd.to_datetime(["2020-04-10", "2020-04-10", None, None]),
    })


def cohort():
    return pd.DataFrame({
        "person_id": [1, 2, 3, 4, 5],
        "treated": [True, True, False, False, False],
        "index_date": pd.to_datetime(["2021-03-10", "2021-06-20", None, None, None]),
        "start": pd.to_datetime(["2019-01-01"] * 4 + ["2021-05-01"]),
        "end": pd.to_datetime([None, None, "2021-04-15", None, None]),
    })


def _sorted(df, keys):
    return to_pandas(df).sort_values(keys).reset_index(drop=True)


# --- 1. a value that selects data must exist -------------------------------------------------------
@pytest.mark.parametrize("wrong, nearest", [("emergency admission", "emergency_admission"),
                                            ("A&E", "ae_attendance")])
def test_build_panel_unknown_kind_lists_values_and_nearest(eng, wrong, nearest):
    with pytest.raises(InputError) as err:
        build_panel(eng(events()), eng(index()), kinds=[wrong])
    msg = str(err.value)
    assert f"`kinds`: [{wrong!r}] not found in column 'type' of `events`" in msg
    assert "['ae_attendance', 'emergency_admission', 'gp_appointment']" in msg  # the values present
    assert f"did you mean {nearest!r}" in msg


def test_index_dates_misspelt_which(eng):
    ppl = pd.DataFrame({"person_id": [1, 2, 3]})
    iv = pd.DataFrame({"person_id": [1, 2], "intervention": ["pcsp", "social_prescribing"],
                       "date": pd.to_datetime(["2021-01-01", "2021-02-01"])})
    with pytest.raises(InputError, match=r"`which`: \['social prescribing'\] not found .* did you mean "
                                         r"'social_prescribing'"):
        index_dates(eng(ppl), eng(iv), which="social prescribing")
    with pytest.raises(InputError, match="did you mean 'pcsp'"):
        index_dates(eng(ppl), eng(iv), which=["pcsp", "PCSP "])


def test_baseline_covariates_unknown_kinds_and_emergency(eng):
    ix = index()
    with pytest.raises(InputError, match=r"`kinds`: \['gp appointment'\].*did you mean 'gp_appointment'"):
        baseline_covariates(eng(ix), eng(events()), kinds=["gp appointment"])
    with pytest.raises(InputError, match=r"`emergency`: \['Emergency Admission'\].*did you mean"):
        baseline_covariates(eng(ix), eng(events()), emergency="Emergency Admission")
    out = to_pandas(baseline_covariates(eng(ix), eng(events()), emergency=None))
    assert "months_since_emergency" not in out.columns


def test_calendar_panel_and_stratified_counts_check_kinds():
    with pytest.raises(InputError, match="did you mean 'emergency_admission'"):
        calendar_panel(events(), people(), "2020-01-01", "2020-03-01", kinds=["emergency_admissions"])
    with pytest.raises(InputError, match="did you mean 'emergency_admission'"):
        stratified_counts(events(), people(), ["imd_quintile"], "2020-01-01", "2020-03-01",
                          kinds=["Emergency admission"])


# --- 2. no end_date column is an error unless end_date=None is explicit ------------------------------
def test_build_panel_without_end_date_column(eng):
    ix = index().drop(columns="end_date")
    with pytest.raises(InputError, match=r"`index` has no column 'end_date'.*pass end_date=None"):
        build_panel(eng(events()), eng(ix), before=1, after=1)
    p = _sorted(quiet(build_panel, eng(events()), eng(ix), before=1, after=1, end_date=None),
                ["person_id", "rel_period"])
    assert len(p) == 9 and (p["person_time"] == 1).all()  # the explicit choice: nobody's follow-up ends


def test_calendar_panel_and_stratified_counts_agree_on_end_date():
    ppl = people().drop(columns="end_date")
    for call in (lambda **kw: calendar_panel(events(), ppl, "2020-01-01", "2020-03-01", **kw),
                 lambda **kw: stratified_counts(events(), ppl, ["imd_quintile"], "2020-01-01", "2020-03-01", **kw)):
        with pytest.raises(InputError, match=r"missing required column\(s\) \['end_date'\]"):
            call()
        assert len(quiet(call, end_date=None)) > 0


# --- 3. person-time carries its unit -----------------------------------------------------------------
def test_person_time_unit_recorded():
    p = quiet(build_panel, events(), index(), before=1, after=1)
    assert p.attrs["pceval_time_units"] == {"person_time": "month"}
    q = quiet(build_panel, events(), index(), before=1, after=1, period="quarter")
    assert q.attrs["pceval_time_units"] == {"person_time": "quarter"}
    cp = calendar_panel(events(), people(), "2020-01-01", "2020-06-01", period="quarter")
    assert cp.attrs["pceval_time_units"] == {"person_time": "quarter"}
    sc = stratified_counts(events(), people(), ["imd_quintile"], "2020-01-01", "2020-06-01")
    assert sc.attrs["pceval_time_units"] == {"person_years": "year"}
    assert "pceval_time_units" in build_panel.__doc__ and "pceval_time_units" in calendar_panel.__doc__


# --- 4. calendar time on one consecutive integer scale ----------------------------------------------
@pytest.mark.parametrize("period", ["month", "quarter"])
def test_calendar_panel_consecutive_period_and_first_treated(eng, period):
    cp = _sorted(calendar_panel(eng(events()), eng(people()), "2019-07-01", "2020-06-30", by="pcn_id",
                                first_treated="go_live", period=period), ["pcn_id", "period"])
    a = cp[cp["pcn_id"] == "A"]
    assert (np.diff(a["period"]) == 1).all()                # consecutive across the new year
    assert (a["period"] - a["period_index"]).nunique() == 1
    live = a.loc[a["first_treated_period"] == a["period"]]  # the group is a value of the time column
    assert len(live) == 1
    assert live["calendar_period"].iloc[0] == (202004 if period == "month" else 20202)
    assert live["first_treated"].iloc[0] == live["calendar_period"].iloc[0]  # the label, kept
    assert (cp.loc[cp["pcn_id"] == "B", ["first_treated", "first_treated_period"]] == 0).all().all()
    start = 2019 * 12 + 6 if period == "month" else 2019 * 4 + 2
    assert a["period"].iloc[0] == start


# --- 5. people without time at risk are counted; names must not collide ------------------------------
def test_dropped_people_counted_and_warned(eng):
    ix = pd.DataFrame({
        "person_id": [1, 2, 4, 5],
        "index_date": pd.to_datetime(["2020-02-15", "2020-02-01", "2020-02-20", "2020-06-01"]),
        "start_date": pd.to_datetime(["2019-01-01", "2020-05-01", "2019-01-01", "2019-01-01"]),
        "end_date": pd.to_datetime(["2020-03-10", "2020-04-01", pd.NaT, "2020-01-31"]),
    })
    with pytest.warns(PcevalWarning, match=r"2 of 4 people in `index` have no time at risk in the window and were "
                                           r"dropped: 1 with 'start_date' after their end of follow-up; 1 whose"):
        p, flow = build_panel(eng(events()), eng(ix), before=2, after=2, start_date="start_date",
                              return_flow=True)
    assert set(to_pandas(p)["person_id"]) == {1, 4}
    people_flow = flow[flow["table"] == "index"].set_index("reason")["n"]
    assert people_flow.sum() == 4 and people_flow["time at risk in the window"] == 2
    assert people_flow["no time at risk: start after end (dropped)"] == 1
    # kept, with zero (never negative) person-time, when asked
    kept = to_pandas(quiet(build_panel, eng(events()), eng(ix), before=2, after=2, start_date="start_date",
                           keep_zero_time=True))
    assert (kept["person_time"] >= 0).all() and (kept.loc[kept["person_id"] == 2, "person_time"] == 0).all()


@pytest.mark.parametrize("bad", ["person_time", "rel_period", "person_id"])
def test_event_type_colliding_with_output_column(eng, bad):
    ev = events().assign(type=lambda d: d["type"].replace({"gp_appointment": bad}))
    with pytest.raises(InputError, match=rf"give count column\(s\) \['{bad}'\], which the panel uses"):
        build_panel(eng(ev), eng(index()), before=1, after=1)


def test_event_type_colliding_with_calendar_columns():
    ev = events().assign(type=lambda d: d["type"].replace({"gp_appointment": "period"}))
    with pytest.raises(InputError, match=r"\['period'\], which the panel uses"):
        calendar_panel(ev, people(), "2020-01-01", "2020-03-01")


# --- 6. baseline_covariates twice, and the caller's index ---------------------------------------------
def test_baseline_covariates_twice_is_refused(eng):
    once = baseline_covariates(eng(index()), eng(events()))
    with pytest.raises(InputError, match=r"already has column\(s\) \['prior_ae_attendance'.*called twice"):
        baseline_covariates(once, eng(events()))


def test_baseline_covariates_keeps_callers_index():
    ix = pd.concat([index(), index().assign(index_date=pd.Timestamp("2020-03-15"))]).sample(frac=1, random_state=1)
    ix.index = [10, 3, 7, 0, 99, 5]
    before = ix.copy()
    out = baseline_covariates(ix, events())
    assert out.index.tolist() == ix.index.tolist()
    pd.testing.assert_frame_equal(out[ix.columns], ix)
    pd.testing.assert_frame_equal(ix, before)  # not mutated
    ix["prior_gp"] = out["prior_gp_appointment"]  # assigning back aligns
    expected = baseline_covariates(ix.drop(columns="prior_gp").sort_index(), events())["prior_gp_appointment"]
    pd.testing.assert_series_equal(ix["prior_gp"].sort_index(), expected, check_names=False)


# --- 7. raw pandas/Python errors become InputErrors naming table and column --------------------------
def test_iso_string_dates_are_parsed(eng):
    ref = quiet(build_panel, events(), index(), before=1, after=1)
    ev = events().assign(date=lambda d: d["date"].dt.strftime("%Y-%m-%d"))
    ix = index().assign(index_date=lambda d: d["index_date"].dt.strftime("%Y-%m-%d"))
    got = _sorted(quiet(build_panel, eng(ev), eng(ix), before=1, after=1), ["person_id", "rel_period"])
    pd.testing.assert_frame_equal(got, _sorted(ref, ["person_id", "rel_period"]), check_dtype=False)
    b = _sorted(baseline_covariates(eng(ix), eng(ev)), ["person_id"])
    assert b["prior_emergency_admission"].tolist() == [1, 0, 0]


def test_non_iso_string_dates_show_offending_values(eng):
    ix = index().assign(index_date=["15/02/2020", "2020-02-01", "not a date"])
    for f in (lambda: build_panel(eng(events()), eng(ix)), lambda: baseline_covariates(eng(ix), eng(events()))):
        with pytest.raises(InputError, match=r"`index`: column 'index_date' must hold dates; .* 2 distinct "
                                             r"value\(s\) are not ISO dates .*\['15/02/2020', 'not a date'\]"):
            f()
    with pytest.raises(InputError, match=r"`cohort`: column 'index_date' must hold dates"):
        candidate_index_periods(eng(cohort().assign(index_date=["2021-03-10", "2021-31-06", None, None, None])))


def test_int_id_beside_str_id(eng):
    ix = index().assign(person_id=lambda d: d["person_id"].astype(str))
    for f in (lambda: build_panel(eng(events()), eng(ix)), lambda: baseline_covariates(eng(ix), eng(events()))):
        with pytest.raises(InputError, match=r"`events` and `index`: id column 'person_id' has type Int64 in "
                                             r"`events` but String in `index`"):
            f()
    with pytest.raises(InputError, match="id column 'person_id'"):
        index_dates(eng(pd.DataFrame({"person_id": ["1", "2"]})),
                    eng(pd.DataFrame({"person_id": [1], "date": pd.to_datetime(["2021-01-01"])})))


def test_treated_person_without_index_date(eng):
    c = cohort().assign(treated=[True, True, True, False, False])
    with pytest.raises(InputError, match=r"`cohort`: column 'index_date' has 1 missing value\(s\) among treated "
                                         r"people.*person_id \[3\]"):
        candidate_index_periods(eng(c))


def test_treated_flag_as_0_1_and_bad_flags(eng):
    ref = _sorted(candidate_index_periods(cohort(), start_date="start", end_date="end"), ["person_id", "index_date"])
    got = _sorted(candidate_index_periods(eng(cohort().assign(treated=[1, 1, 0, 0, 0])), start_date="start",
                                          end_date="end"), ["person_id", "index_date"])
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)
    assert got["treated"].dtype == bool
    with pytest.raises(InputError, match=r"flag column 'treated' must be True/False or 1/0; it has \[2\]"):
        candidate_index_periods(eng(cohort().assign(treated=[1, 2, 0, 0, 0])))
    with pytest.raises(InputError, match=r"flag column 'treated' has 1 missing value"):
        candidate_index_periods(cohort().assign(treated=pd.array([1, 1, None, 0, 0], dtype="Int64")))
    with pytest.raises(InputError, match=r"flag column 'treated' must be True/False or 1/0"):
        candidate_index_periods(eng(cohort().assign(treated=["yes", "yes", "no", "no", "no"])))


def test_stratified_counts_needs_strata():
    with pytest.raises(InputError, match="`strata` must name at least one column"):
        stratified_counts(events(), people(), [], "2020-01-01", "2020-03-01")
    one = stratified_counts(events(), people(), "imd_quintile", "2020-01-01", "2020-03-01")  # a name, not letters
    assert one["imd_quintile"].tolist() == [1, 5]


# --- 8. a missing column: every column listed, the nearest suggested -------------------------------
def test_missing_column_suggests_nearest(eng):
    with pytest.raises(InputError) as err:
        stratified_counts(eng(events()), eng(people()), ["imd_quintle"], "2020-01-01", "2020-03-01")
    msg = str(err.value)
    assert "`people` is missing required column(s) ['imd_quintle'] (did you mean 'imd_quintile'?)" in msg
    assert "'registration_start', 'end_date', 'imd_quintile', 'pcn_id', 'go_live'" in msg
    with pytest.raises(InputError, match=r"\['typ'\] \(did you mean 'type'\?\)"):
        build_panel(eng(events()), eng(index()), kind="typ")


# --- 9. datetime resolutions and mixed engines --------------------------------------------------------
_CON = duckdb.connect()  # relations that are joined must share a connection


def _as(df, cols, how, engine):
    out = df.copy()
    if how == "date":
        for c in cols:
            out[c] = out[c].dt.date
        if engine == "polars":
            return pl.from_pandas(out).with_columns([pl.col(c).cast(pl.Date) for c in cols])
    else:
        out[cols] = out[cols].astype(f"datetime64[{how}]")
    if engine == "polars":
        return pl.from_pandas(out)
    if engine == "duckdb":
        return _CON.from_df(out)
    return out


@pytest.mark.parametrize("engine", LOCAL)
@pytest.mark.parametrize("how", ["ns", "us", "ms", "date"])
def test_rolling_entry_and_panel_at_every_resolution(engine, how):
    c = cohort()
    ref = _sorted(candidate_index_periods(c, start_date="start", end_date="end"), ["person_id", "index_date"])
    got = _sorted(candidate_index_periods(_as(c, ["index_date", "start", "end"], how, engine), start_date="start",
                                          end_date="end"), ["person_id", "index_date"])
    assert got[["person_id", "index_period", "candidate", "treated"]].equals(
        ref[["person_id", "index_period", "candidate", "treated"]])
    assert (pd.to_datetime(got["index_date"]) == ref["index_date"]).all()
    p_ref = _sorted(quiet(build_panel, events(), index(), before=2, after=2), ["person_id", "rel_period"])
    p = _sorted(quiet(build_panel, _as(events(), ["date"], how, engine),
                      _as(index(), ["index_date", "end_date"], how, engine), before=2, after=2),
                ["person_id", "rel_period"])
    pd.testing.assert_frame_equal(p, p_ref, check_dtype=False)
    b_ref = _sorted(baseline_covariates(index(), events()), ["person_id"])
    b = _sorted(baseline_covariates(_as(index(), ["index_date", "end_date"], how, engine),
                                    _as(events(), ["date"], how, engine)), ["person_id"])
    assert b["prior_gp_appointment"].tolist() == b_ref["prior_gp_appointment"].tolist()
    assert b["months_since_emergency"].fillna(-1).tolist() == b_ref["months_since_emergency"].fillna(-1).tolist()


def test_candidate_periods_on_every_engine_with_ns_dates(to_engine):
    c = cohort().astype({"index_date": "datetime64[ns]", "start": "datetime64[ns]", "end": "datetime64[ns]"})
    out = _sorted(candidate_index_periods(to_engine(c), start_date="start", end_date="end"), ["person_id", "index_date"])
    assert out.groupby("person_id")["index_period"].apply(list).to_dict() == {
        1: [202103], 2: [202106], 3: [202103], 4: [202103, 202106], 5: [202106]}


@pytest.mark.parametrize("big", ["polars", "polars_lazy", "duckdb"])
def test_mixed_engines_small_pandas_beside_big_table(big):
    make = {"polars": pl.from_pandas, "polars_lazy": lambda d: pl.from_pandas(d).lazy(),
            "duckdb": duckdb.connect().from_df}[big]
    ev = make(events())
    ref = _sorted(quiet(build_panel, events(), index(), before=2, after=2), ["person_id", "rel_period"])
    got = quiet(build_panel, ev, index(), before=2, after=2)     # pandas index, big events
    assert type(got).__module__.split(".")[0] == type(ev).__module__.split(".")[0]  # the events' engine
    pd.testing.assert_frame_equal(_sorted(got, ["person_id", "rel_period"]), ref, check_dtype=False)
    b = baseline_covariates(index(), ev)                          # comes back as the index: pandas
    assert isinstance(b, pd.DataFrame)
    pd.testing.assert_frame_equal(b, baseline_covariates(index(), events()), check_dtype=False)
    cp = calendar_panel(ev, people(), "2020-01-01", "2020-03-01", by="pcn_id", first_treated="go_live")
    ref_cp = calendar_panel(events(), people(), "2020-01-01", "2020-03-01", by="pcn_id", first_treated="go_live")
    pd.testing.assert_frame_equal(_sorted(cp, ["pcn_id", "period"]), _sorted(ref_cp, ["pcn_id", "period"]),
                                  check_dtype=False)
    ppl = pd.DataFrame({"person_id": [1, 2, 3]})
    iv = make(pd.DataFrame({"person_id": [1], "intervention": ["pcsp"], "date": pd.to_datetime(["2021-01-01"])}))
    # a lazy engine does not keep row order: compare by person
    got_ix = to_pandas(index_dates(ppl, iv, which="pcsp")).sort_values("person_id")
    assert got_ix["treated"].tolist() == [True, False, False]


def test_mixed_engines_on_spark(spark_session):
    ev = spark_session.createDataFrame(events())
    got = quiet(build_panel, ev, index(), before=2, after=2)
    ref = _sorted(quiet(build_panel, events(), index(), before=2, after=2), ["person_id", "rel_period"])
    pd.testing.assert_frame_equal(_sorted(got, ["person_id", "rel_period"]), ref, check_dtype=False)


def test_two_lazy_engines_are_refused():
    with pytest.raises(InputError, match="cannot move data between two lazy engines"):
        build_panel(duckdb.connect().from_df(events()), pl.from_pandas(index()).lazy())


# --- 10. the missing-date warning counts only events of people in the index -------------------------
def test_missing_date_warning_counts_people_in_index(eng):
    ev = pd.concat([events(), pd.DataFrame({"person_id": [9, 9, 9], "date": pd.NaT, "type": "gp_appointment"})])
    with pytest.warns(PcevalWarning) as rec:
        build_panel(eng(ev), eng(index()), before=2, after=2)
    msgs = [str(w.message) for w in rec if "excluded events" in str(w.message)]
    assert len(msgs) == 1 and "missing date: 1," in msgs[0]  # person 1's only; person 9 is not in the index
