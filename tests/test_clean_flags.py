"""Outcome flags and the 30-day acute readmission indicator (nsv_eval.clean.flags).

Reference: hand-made courses whose flags follow directly from the definitions in the
module docstring of nsv_eval.clean.flags (index: acute, medical, 65+, alive at discharge,
30 observed days; readmission: any acute course > discharge and <= discharge + 30 x 24 h).
Every case states the expected answer.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from nsv_eval.clean import Period, chain_contacts, flag_courses

PERIOD = Period(dt.date(2020, 1, 1), dt.date(2020, 12, 31))


def persons(rows: list[tuple]) -> pd.DataFrame:
    """Rows: (person_id, birth_date, death_date or None)."""
    df = pd.DataFrame(rows, columns=["person_id", "birth_date", "death_date"])
    df["birth_date"] = pd.to_datetime(df["birth_date"]).dt.date
    df["death_date"] = pd.to_datetime(df["death_date"]).dt.date
    df["kommune_code"] = 101
    df["sex"] = "F"
    df["education"] = "kort"
    df["income_quintile"] = 2
    df["living_alone"] = False
    return df


def courses_for(contact_rows: list[tuple], person_rows: list[tuple]) -> pd.DataFrame:
    """Contact rows: (person_id, admit, discharge, acute, diagnosis); one contact per course
    unless they are chained."""
    c = pd.DataFrame(
        contact_rows, columns=["person_id", "admit_time", "discharge_time", "acute", "diagnosis"]
    )
    c.insert(0, "contact_id", range(1, len(c) + 1))
    for col in ("admit_time", "discharge_time"):
        c[col] = pd.to_datetime(c[col], format="ISO8601").astype("datetime64[s]")
    return flag_courses(chain_contacts(c), persons(person_rows), period=PERIOD)


OLD = ("a", "1945-06-15", None)  # 74-75 years old in 2020


def test_readmission_within_30_days_and_days_to_readmission() -> None:
    out = courses_for(
        [
            ("a", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189"),
            ("a", "2020-03-15 12:00", "2020-03-16 12:00", True, "DS720"),  # any diagnosis
        ],
        [OLD],
    )
    idx = out.iloc[0]
    assert idx["readmit_index"] and idx["readmit_30d"]
    assert idx["days_to_readmission"] == pytest.approx(10.0)
    # the hip fracture course is not an index (not medical) but is a fall injury
    assert not out.iloc[1]["readmit_index"] and out.iloc[1]["fall_injury"]
    assert out.iloc[1]["hip_fracture"] and not out.iloc[1]["medical"]


@pytest.mark.parametrize(
    ("readmit", "expected"),
    [
        ("2020-04-04 12:00:00", True),  # exactly 30 x 24 h after discharge: counts
        ("2020-04-04 12:00:01", False),  # one second later
        ("2020-04-05 08:00:00", False),  # day 31
    ],
)
def test_readmission_window_boundary(readmit: str, expected: bool) -> None:
    out = courses_for(
        [
            ("a", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189"),
            ("a", readmit, "2020-04-10 12:00", True, "DJ189"),
        ],
        [OLD],
    )
    assert out.iloc[0]["readmit_index"]
    assert bool(out.iloc[0]["readmit_30d"]) is expected
    if expected:
        assert out.iloc[0]["days_to_readmission"] == pytest.approx(30.0)
    else:
        assert pd.isna(out.iloc[0]["days_to_readmission"])


def test_death_on_discharge_date_is_not_an_index() -> None:
    out = courses_for(
        [("d", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189")],
        [("d", "1940-01-01", "2020-03-05")],
    )
    row = out.iloc[0]
    assert row["died_in_hospital"] and not row["readmit_index"]


def test_death_after_discharge_is_competing_event() -> None:
    out = courses_for(
        [("d", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189")],
        [("d", "1940-01-01", "2020-03-15")],
    )
    row = out.iloc[0]
    assert row["readmit_index"] and not row["died_in_hospital"]
    assert row["death_30d"] and row["days_to_death"] == 10 and not row["readmit_30d"]


@pytest.mark.parametrize(
    ("discharge", "is_index"),
    [
        ("2020-12-01 23:00", True),  # period end (31 Dec) - 30 days: 30 days observed
        ("2020-12-02 01:00", False),  # inside the last 30 days: not an index
    ],
)
def test_last_30_days_of_period_are_not_index(discharge: str, is_index: bool) -> None:
    out = courses_for([("a", "2020-11-28 10:00", discharge, True, "DJ189")], [OLD])
    assert bool(out.iloc[0]["readmit_index"]) is is_index


def test_planned_readmission_does_not_count() -> None:
    out = courses_for(
        [
            ("a", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189"),
            ("a", "2020-03-10 08:00", "2020-03-11 12:00", False, "DJ189"),  # planned
        ],
        [OLD],
    )
    assert out.iloc[0]["readmit_index"] and not out.iloc[0]["readmit_30d"]


def test_acute_readmission_after_an_intervening_planned_course() -> None:
    out = courses_for(
        [
            ("a", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189"),
            ("a", "2020-03-10 08:00", "2020-03-11 12:00", False, "DJ189"),  # planned
            ("a", "2020-03-20 12:00", "2020-03-22 12:00", True, "DN390"),  # acute
        ],
        [OLD],
    )
    assert out.iloc[0]["readmit_30d"]
    assert out.iloc[0]["days_to_readmission"] == pytest.approx(15.0)


def test_readmission_that_is_itself_an_index() -> None:
    out = courses_for(
        [
            ("a", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189"),
            ("a", "2020-03-20 12:00", "2020-03-22 12:00", True, "DJ441"),
            ("a", "2020-04-10 12:00", "2020-04-12 12:00", True, "DI500"),
            ("a", "2020-06-10 12:00", "2020-06-12 12:00", True, "DI500"),
        ],
        [OLD],
    )
    assert list(out["readmit_index"]) == [True, True, True, True]
    assert list(out["readmit_30d"]) == [True, True, False, False]
    assert out.iloc[1]["days_to_readmission"] == pytest.approx(19.0)


def test_contacts_less_than_4h_apart_are_never_a_readmission() -> None:
    out = courses_for(
        [
            ("a", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189"),
            ("a", "2020-03-05 15:00", "2020-03-06 12:00", True, "DJ189"),
        ],
        [OLD],
    )
    assert len(out) == 1 and not out.iloc[0]["readmit_30d"]


@pytest.mark.parametrize(
    ("birth", "age", "is_index"),
    [
        ("1955-03-02", 64, False),  # turns 65 the day after admission
        ("1955-03-01", 65, True),  # 65th birthday on the admission day
    ],
)
def test_index_needs_age_65_at_admission(birth: str, age: int, is_index: bool) -> None:
    out = courses_for(
        [("y", "2020-03-01 10:00", "2020-03-05 12:00", True, "DJ189")], [("y", birth, None)]
    )
    row = out.iloc[0]
    assert row["age"] == age
    assert bool(row["readmit_index"]) is is_index
    assert bool(row["preventable"]) is is_index  # J18.9 pneumonia: preventable when 65+
    assert row["age_band"] == ("65-69" if age == 65 else "60-64")


def test_leap_day_birthday_ages_on_1_march() -> None:
    out = courses_for(
        [
            ("l", "2019-02-28 10:00", "2019-02-28 12:00", True, "DJ189"),
            ("l", "2019-03-01 17:00", "2019-03-01 18:00", True, "DJ189"),
        ],
        [("l", "1952-02-29", None)],
    )
    assert list(out["age"]) == [66, 67]


def test_other_flags() -> None:
    out = courses_for(
        [
            ("a", "2020-02-01 10:00", "2020-02-02 09:59", True, "DJ441"),  # COPD, < 24 h
            ("a", "2020-05-01 10:00", "2020-05-02 10:00", True, "DE119"),  # diabetes, 24 h
            ("a", "2020-07-01 10:00", "2020-07-03 10:00", False, "DI500"),  # planned HF
            ("a", "2020-09-01 10:00", "2020-09-03 10:00", True, "DI509"),  # acute HF
            ("a", "2020-10-01 10:00", "2020-10-03 10:00", True, "DW010"),  # fall
        ],
        [OLD],
    )
    assert list(out["copd_acute"]) == [True, False, False, False, False]
    assert list(out["short_stay"]) == [True, False, False, False, False]
    assert list(out["diabetes_acute"]) == [False, True, False, False, False]
    assert list(out["heart_failure_acute"]) == [False, False, False, True, False]
    assert list(out["fall_injury"]) == [False, False, False, False, True]
    assert list(out["hip_fracture"]) == [False] * 5
    assert out["los_hours"].tolist() == pytest.approx([23 + 59 / 60, 24, 48, 48, 48])
    assert list(out["medical"]) == [True, True, True, True, False]
    assert out["kommune_code"].dtype == "int16"


def test_courses_of_unknown_persons_are_left_out() -> None:
    c = pd.DataFrame(
        {
            "contact_id": [1, 2],
            "person_id": ["a", "ghost"],
            "admit_time": pd.to_datetime(["2020-03-01", "2020-03-01"]).astype("datetime64[s]"),
            "discharge_time": pd.to_datetime(["2020-03-02", "2020-03-02"]).astype("datetime64[s]"),
            "acute": [True, True],
            "diagnosis": ["DJ189", "DJ189"],
        }
    )
    out = flag_courses(chain_contacts(c), persons([OLD]), period=PERIOD)
    assert list(out["person_id"]) == ["a"]
