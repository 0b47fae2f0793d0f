"""Person-level cohorts (nsv_eval.clean.cohorts).

Reference: hand-made persons, courses, care episodes, interventions and roll-out dates
whose cohort rows follow from the definitions in the module docstring; each expected
value is stated in the test.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from nsv_eval.clean import Period, chain_contacts, falls_cohort, flag_courses, readmission_cohort

PERIOD = Period(dt.date(2019, 1, 1), dt.date(2021, 12, 31))


def make_persons(rows: list[tuple]) -> pd.DataFrame:
    """Rows: (person_id, kommune_code, birth_date, death_date, living_alone)."""
    df = pd.DataFrame(
        rows, columns=["person_id", "kommune_code", "birth_date", "death_date", "living_alone"]
    )
    df["birth_date"] = pd.to_datetime(df["birth_date"]).dt.date
    df["death_date"] = pd.to_datetime(df["death_date"]).dt.date
    df["sex"] = "F"
    df["education"] = "mellemlang"
    df["income_quintile"] = 3
    return df


def make_courses(rows: list[tuple], persons: pd.DataFrame) -> pd.DataFrame:
    """Rows: (person_id, admit, discharge, acute, diagnosis)."""
    c = pd.DataFrame(
        rows, columns=["person_id", "admit_time", "discharge_time", "acute", "diagnosis"]
    )
    c.insert(0, "contact_id", range(1, len(c) + 1))
    for col in ("admit_time", "discharge_time"):
        c[col] = pd.to_datetime(c[col], format="ISO8601").astype("datetime64[s]")
    return flag_courses(chain_contacts(c), persons, period=PERIOD)


def dates(values: list[str | None]) -> list:
    return list(pd.to_datetime(pd.Series(values)).dt.date)


# ---------------------------------------------------------------------------------------
# Readmission cohort
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def readm() -> pd.DataFrame:
    persons = make_persons(
        [
            ("a", 851, "1940-05-05", None, True),
            ("b", 851, "1945-01-01", "2020-06-20", False),
            ("c", 101, "1950-01-01", None, False),
            ("d", 101, "1950-01-01", None, False),
        ]
    )
    courses = make_courses(
        [
            # a: two prior acute courses (one 366 days before: outside), one planned
            ("a", "2019-03-01 10:00", "2019-03-02 10:00", True, "DJ189"),
            ("a", "2019-09-01 10:00", "2019-09-02 10:00", True, "DJ189"),
            ("a", "2019-12-01 10:00", "2019-12-02 10:00", False, "DZ038"),
            ("a", "2020-03-01 10:00", "2020-03-04 10:00", True, "DJ441"),  # index
            ("a", "2020-03-20 22:00", "2020-03-22 10:00", True, "DS720"),  # readmission
            # b: index, dies 10 days after discharge without readmission
            ("b", "2020-06-01 10:00", "2020-06-10 16:00", True, "DI500"),
            # c: index, no event
            ("c", "2020-06-01 10:00", "2020-06-05 10:00", True, "DN390"),
            # d: index with a follow-up visit on day 8 only
            ("d", "2020-06-01 10:00", "2020-06-05 10:00", True, "DN390"),
        ],
        persons,
    )
    care = pd.DataFrame(
        {
            "person_id": ["a", "a", "c"],
            "service": ["home_care", "home_nursing", "home_care"],
            "start_date": dates(["2019-01-01", "2020-03-04", "2020-06-06"]),
            "end_date": dates([None, "2020-03-04", None]),
            "hours_per_week": [2.0, 1.0, 1.0],
        }
    )
    interventions = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "c", "d", "d"],
            "intervention": [
                "followup_visit",
                "followup_visit",
                "followup_visit",
                "preventive_visit",
                "followup_visit",
                "followup_visit",
            ],
            "date": dates(
                ["2020-03-11", "2020-03-06", "2020-06-09", "2020-06-06", "2020-06-13", "2020-06-04"]
            ),
        }
    )
    return readmission_cohort(persons, courses, care=care, interventions=interventions)


def test_readmission_cohort_rows_and_outcomes(readm: pd.DataFrame) -> None:
    idx = readm.set_index("person_id")
    # a's 2019 courses are indexes too (acute, medical, 79 years old); take 2020's
    a = readm[(readm["person_id"] == "a") & (readm["year"] == 2020)].iloc[0]
    assert a["event"] == 1 and a["readmit_30d"]
    assert a["time"] == pytest.approx(16.5)  # 4 Mar 10:00 -> 20 Mar 22:00
    assert idx.loc["b", "event"] == 2 and idx.loc["b", "time"] == 10  # death 20 June
    assert idx.loc["c", "event"] == 0 and idx.loc["c", "time"] == 30
    assert set(readm["event"]) <= {0, 1, 2}


def test_followup_visit_linkage(readm: pd.DataFrame) -> None:
    a = readm[(readm["person_id"] == "a") & (readm["year"] == 2020)].iloc[0]
    idx = readm.set_index("person_id")
    assert a["followup_visit"] and a["followup_days"] == 2  # first visit 6 March
    assert not idx.loc["b", "followup_visit"]  # visit before the discharge date
    assert not idx.loc["c", "followup_visit"]  # a preventive visit is not a follow-up
    assert not idx.loc["d", "followup_visit"]  # day 8 is too late, day -1 too early


def test_readmission_cohort_covariates(readm: pd.DataFrame) -> None:
    a = readm[(readm["person_id"] == "a") & (readm["year"] == 2020)].iloc[0]
    assert a["prior_admissions_365d"] == 1  # 1 Sep 2019 acute; 1 Mar 2019 is 366 days before
    assert a["home_care"] and a["home_nursing"]  # nursing episode is the discharge day only
    assert a["living_alone"] and a["region_code"] == 1081  # 851 Aalborg: Nordjylland
    assert a["age"] == 79 and a["age_band"] == "75-79"
    assert a["los_days"] == pytest.approx(3.0)
    c = readm.set_index("person_id").loc["c"]
    assert not c["home_care"]  # care starts the day after discharge
    assert list(readm.columns[:5]) == [
        "course_id",
        "person_id",
        "kommune_code",
        "region_code",
        "discharge_time",
    ]


# ---------------------------------------------------------------------------------------
# Falls cohort
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def falls() -> pd.DataFrame:
    persons = make_persons(
        [
            ("p1", 101, "1940-01-01", None, True),  # participant 2020-03-01
            ("p2", 101, "1940-01-01", "2020-09-18", False),  # participant 2020-06-01
            ("p3", 101, "1970-01-01", None, False),  # participant but 50 years old
            ("p4", 147, "1940-01-01", None, False),  # participant before start: excluded
            ("n1", 101, "1945-01-01", None, False),  # non-participant
            ("n2", 101, "1930-01-01", "2019-05-01", False),  # died before any index date
            ("n3", 101, "1990-01-01", None, False),  # too young
            ("n4", 326, "1940-01-01", None, False),  # kommune without the programme
            ("n5", 147, "1940-01-01", None, False),  # kommune without eligible participants
        ]
    )
    courses = make_courses(
        [
            ("p1", "2019-12-01 10:00", "2019-12-03 10:00", True, "DW010"),  # prior fall injury
            ("p1", "2020-06-09 10:00", "2020-06-12 10:00", True, "DS720"),  # day 100
            ("p2", "2020-02-01 10:00", "2020-02-03 10:00", True, "DJ189"),  # prior acute
            ("n1", "2020-07-01 10:00", "2020-07-02 10:00", True, "DJ189"),  # negative control
        ],
        persons,
    )
    rollout = pd.DataFrame(
        {
            "kommune_code": [101, 147, 326],
            "intervention": ["falls_programme", "falls_programme", "falls_programme"],
            "start_date": dates(["2020-01-01", "2020-07-01", None]),
        }
    )
    interventions = pd.DataFrame(
        {
            "person_id": ["p1", "p1", "p2", "p3", "p4"],
            "intervention": ["falls_programme"] * 5,
            "date": dates(["2020-03-01", "2020-04-01", "2020-06-01", "2020-05-01", "2020-02-01"]),
        }
    )
    falls_tbl = pd.DataFrame(
        {
            "person_id": ["p1", "p1", "p2"],
            "fall_date": dates(["2019-03-02", "2019-03-01", "2020-07-01"]),
        }
    )
    return falls_cohort(
        persons,
        courses,
        period=PERIOD,
        rollout=rollout,
        interventions=interventions,
        falls=falls_tbl,
    )


def _drawn_date(person_id: str, pool: list[dt.date]) -> dt.date:
    """Independent recomputation of the hash draw (md5 of ``id:falls``, first 15 hex digits,
    modulo the number of participants of the kommune ordered by date and id)."""
    import hashlib

    r = int(hashlib.md5(f"{person_id}:falls".encode()).hexdigest()[:15], 16) % len(pool)
    return sorted(pool)[r]


def test_falls_cohort_membership(falls: pd.DataFrame) -> None:
    parts = falls[falls["participant"]].set_index("person_id")
    ctrl = falls[~falls["participant"]].set_index("person_id")
    assert set(parts.index) == {"p1", "p2"}
    assert parts.loc["p1", "index_date"] == dt.date(2020, 3, 1)  # first participation
    assert (falls["rollout_start"] == dt.date(2020, 1, 1)).all()
    pool = [dt.date(2020, 3, 1), dt.date(2020, 6, 1)]
    # the control copies one of its kommune's participant dates
    assert ctrl.loc["n1", "index_date"] == _drawn_date("n1", pool)
    # sequential target trial: a later participant is a control in an earlier trial, and
    # only then (p1's drawn date can never be before its own 1 March participation)
    assert "p1" not in ctrl.index
    p2_date = _drawn_date("p2", pool)
    assert ("p2" in ctrl.index) == (p2_date < dt.date(2020, 6, 1))
    assert set(ctrl.index) <= {"n1", "p2"}


def test_falls_cohort_covariates_and_outcome(falls: pd.DataFrame) -> None:
    idx = falls[falls["participant"]].set_index("person_id")
    p1 = idx.loc["p1"]
    assert p1["age"] == 80 and p1["age_band"] == "80-84"
    assert p1["prior_falls_365d"] == 1  # 2 Mar 2019 is 365 days before; 1 Mar is 366
    assert p1["prior_fall_injury_365d"] == 1 and p1["prior_admissions_365d"] == 1
    assert p1["event"] == 1 and p1["time"] == 100 and p1["fall_injury_365d"]
    p2 = idx.loc["p2"]
    assert p2["prior_admissions_365d"] == 1 and p2["prior_fall_injury_365d"] == 0
    assert p2["event"] == 2 and p2["time"] == 109 and p2["death_365d"]
    assert not p2["fall_injury_365d"]
    n1 = falls[~falls["participant"]].set_index("person_id").loc["n1"]
    assert n1["event"] == 0 and n1["time"] == 365 and not n1["censored_join"]
    # the negative-control outcome: an acute admission without a fall injury
    assert n1["nc_admission_365d"] and not p1["nc_admission_365d"]


def test_control_who_joins_is_censored() -> None:
    """A control joining during follow-up is censored that day (per protocol); the binary
    flag follows everyone for 365 days (intention-to-treat analogue)."""
    persons = make_persons(
        [("a", 101, "1940-01-01", None, False), ("c", 101, "1940-01-01", None, False)]
    )
    courses = make_courses(
        [("c", "2020-09-01 10:00", "2020-09-03 10:00", True, "DS720")],  # after c joins
        persons,
    )
    rollout = pd.DataFrame(
        {
            "kommune_code": [101],
            "intervention": ["falls_programme"],
            "start_date": dates(["2020-01-01"]),
        }
    )
    interventions = pd.DataFrame(
        {
            "person_id": ["a", "c"],
            "intervention": ["falls_programme"] * 2,
            "date": dates(["2020-03-01", "2020-06-01"]),
        }
    )
    co = falls_cohort(persons, courses, period=PERIOD, rollout=rollout, interventions=interventions)
    pool = [dt.date(2020, 3, 1), dt.date(2020, 6, 1)]
    ctrl = co[~co["participant"]].set_index("person_id")
    assert _drawn_date("c", pool) == dt.date(2020, 3, 1)  # chosen so: c is a control first
    b = ctrl.loc["c"]
    assert b["censored_join"] and b["event"] == 0 and b["time"] == 92  # 1 Mar -> 1 Jun
    # per protocol (event/time) the injury after joining does not count for the control;
    # the binary flag is the intention-to-treat analogue and follows the full 365 days
    assert b["fall_injury_365d"]
    # as a participant c has the fall injury 92 days after joining
    bp = co[co["participant"]].set_index("person_id").loc["c"]
    assert bp["fall_injury_365d"] and bp["time"] == 92 and not bp["censored_join"]


def test_nonparticipant_index_date_is_deterministic(falls: pd.DataFrame) -> None:
    """The hash-drawn index date does not depend on row order or on a random seed."""
    persons = make_persons(
        [("n1", 101, "1945-01-01", None, False), ("p1", 101, "1940-01-01", None, False)]
    )
    rollout = pd.DataFrame(
        {
            "kommune_code": [101],
            "intervention": ["falls_programme"],
            "start_date": dates(["2020-01-01"]),
        }
    )
    interventions = pd.DataFrame(
        {"person_id": ["p1"], "intervention": ["falls_programme"], "date": dates(["2020-03-01"])}
    )
    empty = flag_courses(
        chain_contacts(
            pd.DataFrame(
                {
                    "contact_id": pd.Series([], dtype="int64"),
                    "person_id": pd.Series([], dtype="str"),
                    "admit_time": pd.Series([], dtype="datetime64[s]"),
                    "discharge_time": pd.Series([], dtype="datetime64[s]"),
                    "acute": pd.Series([], dtype="bool"),
                    "diagnosis": pd.Series([], dtype="str"),
                }
            )
        ),
        persons,
        period=PERIOD,
    )
    one = falls_cohort(persons, empty, period=PERIOD, rollout=rollout, interventions=interventions)
    two = falls_cohort(
        persons.iloc[::-1], empty, period=PERIOD, rollout=rollout, interventions=interventions
    )
    pd.testing.assert_frame_equal(one, two)
    # with a single participant the draw has one possible outcome
    assert list(one["index_date"]) == [dt.date(2020, 3, 1)] * 2
