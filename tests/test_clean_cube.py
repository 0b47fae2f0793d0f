"""The analysis cube (nsv_eval.clean.cube).

References:
* population and person-time: an independent brute-force computation, day by day and
  person by person in numpy (each day a person is alive - birth_date <= day < death_date -
  adds 1/365.25 person-years to the cell of that day's month and age band; the 1st of the
  month adds to the population), on random persons plus hand-picked edge cases (born or
  dead on the 1st, mid-month, on the 65th birthday, 29 February). The cube's
  difference-array algorithm must agree exactly.
* events: hand-made courses, deaths, falls and care episodes whose month and age band are
  known; totals must reconcile with the courses table.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from nsv_eval import reference
from nsv_eval.clean import Period, build_cube, chain_contacts, flag_courses
from nsv_eval.clean.cube import EVENT_COLUMNS

PERIOD = Period(dt.date(2019, 11, 1), dt.date(2021, 2, 28))


def make_persons(rows: list[tuple]) -> pd.DataFrame:
    """Rows: (person_id, kommune_code, sex, education, income_quintile, birth, death)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "person_id",
            "kommune_code",
            "sex",
            "education",
            "income_quintile",
            "birth_date",
            "death_date",
        ],
    )
    df["birth_date"] = pd.to_datetime(df["birth_date"]).dt.date
    df["death_date"] = pd.to_datetime(df["death_date"]).dt.date
    df["living_alone"] = False
    return df


EDGE_CASES = [
    ("e1", 101, "F", "kort", 1, "1955-12-01", None),  # turns 65 on a 1st
    ("e2", 101, "F", "kort", 1, "1955-12-15", "2020-12-20"),  # turns 65, dies same month
    ("e3", 101, "M", None, None, "2020-02-29", None),  # born on leap day in the period
    ("e4", 147, "M", "lang", 5, "2020-03-01", "2020-03-01"),  # born and dies the same day
    ("e5", 147, "M", "lang", 5, "1930-01-01", "2019-10-31"),  # dies before the period
    ("e6", 147, "F", "grundskole", 3, "2021-03-01", None),  # born after the period
    ("e7", 147, "F", "grundskole", 3, "1940-07-10", "2020-05-01"),  # dies on a 1st
    ("e8", 147, "F", "grundskole", 3, "1925-02-01", None),  # turns 95 (open band)
    ("e9", 101, "M", "mellemlang", 4, "1960-02-29", None),  # 60 on 1 March 2020
    ("e10", 101, "M", "mellemlang", 4, "2019-11-01", "2021-02-28"),  # first/last day
]


def random_persons(n: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    rows = []
    lo, hi = np.datetime64("1920-01-01"), np.datetime64("2021-02-28")
    for i in range(n):
        birth = lo + rng.integers(0, int((hi - lo).astype(int)) + 1)
        death = None
        if rng.random() < 0.4:
            death = birth + rng.integers(0, int((np.datetime64("2021-06-30") - birth).astype(int)))
        rows.append(
            (
                f"r{i}",
                int(rng.choice([101, 147, 326])),
                str(rng.choice(["M", "F"])),
                rng.choice([None, *reference.EDUCATION_LEVELS]),
                rng.choice([None, 1, 2, 3, 4, 5]),
                str(birth),
                None if death is None else str(death),
            )
        )
    return rows


def age_at(birth: dt.date, days: np.ndarray) -> np.ndarray:
    """Whole years at each day (birthday rule: 29 February ages on 1 March)."""
    d = pd.DatetimeIndex(days)
    before = (d.month < birth.month) | ((d.month == birth.month) & (d.day < birth.day))
    return np.asarray(d.year - birth.year - before.astype(int))


def brute_force(persons: pd.DataFrame, by: str) -> pd.DataFrame:
    days = pd.date_range(PERIOD.start, PERIOD.end, freq="D")
    out = []
    for p in persons.itertuples():
        death = pd.Timestamp(p.death_date) if pd.notna(p.death_date) else pd.Timestamp.max
        alive = (days >= pd.Timestamp(p.birth_date)) & (days < death)
        if not alive.any():
            continue
        d = days[alive]
        key = p.education if by == "education" else p.income_quintile
        if by == "education" and pd.isna(key):
            key = "ukendt"
        out.append(
            pd.DataFrame(
                {
                    "kommune_code": p.kommune_code,
                    "year": d.year,
                    "month": d.month,
                    "age_band": reference.age_band(age_at(p.birth_date, d)),
                    "sex": p.sex,
                    by: key,
                    "population": (d.day == 1).astype(int),
                    "person_years": 1 / 365.25,
                }
            )
        )
    df = pd.concat(out)
    keys = ["kommune_code", "year", "month", "age_band", "sex", by]
    df[by] = df[by].astype("object")
    return df.groupby(keys, dropna=False, as_index=False)[["population", "person_years"]].sum()


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    return make_persons(EDGE_CASES + random_persons(250, seed=3))


def test_population_and_person_time_match_day_by_day_count(world: pd.DataFrame) -> None:
    cube = build_cube(world, _no_courses(), period=PERIOD)
    expected = brute_force(world, "education")
    keys = ["kommune_code", "year", "month", "age_band", "sex", "education"]
    got = cube[keys + ["population", "person_years"]].astype({"kommune_code": "int64"})
    got = got.astype({"year": "int64", "month": "int64"})
    # cells with events but no person-time (e4 is born and dies on 1 March 2020: a death
    # without person-time) are in the cube but not in the person-time reference
    no_time = (cube["population"] == 0) & (cube["person_years"] == 0)
    assert (cube.loc[no_time, list(EVENT_COLUMNS)].sum(axis=1) > 0).all()
    assert no_time.sum() == 1
    got = got[~no_time]
    expected = expected.astype({"education": "str", "year": "int64", "month": "int64"})
    m = got.merge(expected, on=keys, how="outer", suffixes=("", "_ref"), indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"]
    assert (m["population"] == m["population_ref"]).all()
    np.testing.assert_allclose(m["person_years"], m["person_years_ref"], rtol=0, atol=1e-9)
    assert cube["person_years"].sum() == pytest.approx(expected["person_years"].sum())


def test_income_cube_is_yearly_with_1_january_population(world: pd.DataFrame) -> None:
    cube = build_cube(world, _no_courses(), period=PERIOD, income=True)
    ref = brute_force(world, "income_quintile")
    ref["income_quintile"] = ref["income_quintile"].astype("Int64")
    keys = ["kommune_code", "year", "age_band", "sex", "income_quintile"]
    ref_y = ref.groupby(keys, dropna=False, as_index=False).agg(
        person_years=("person_years", "sum")
    )
    ref_pop = (
        ref[ref["month"] == 1]
        .groupby(keys, dropna=False, as_index=False)
        .agg(population=("population", "sum"))
    )
    ref_y = ref_y.merge(ref_pop, on=keys, how="left").fillna({"population": 0})
    got = cube.astype({"kommune_code": "int64", "year": "int64", "income_quintile": "Int64"})
    m = got.merge(ref_y, on=keys, how="outer", suffixes=("", "_ref"), indicator=True)
    assert (m["_merge"] == "both").all()
    assert (m["population"] == m["population_ref"]).all()
    np.testing.assert_allclose(m["person_years"], m["person_years_ref"], atol=1e-9)
    assert cube["income_quintile"].isna().any()  # unknown income kept as null
    assert str(cube["year"].dtype) == "int16"


def _no_courses() -> pd.DataFrame:
    c = pd.DataFrame(
        {
            "contact_id": pd.Series([], dtype="int64"),
            "person_id": pd.Series([], dtype="str"),
            "admit_time": pd.Series([], dtype="datetime64[s]"),
            "discharge_time": pd.Series([], dtype="datetime64[s]"),
            "acute": pd.Series([], dtype="bool"),
            "diagnosis": pd.Series([], dtype="str"),
        }
    )
    p = make_persons([("x", 101, "F", "kort", 1, "1950-01-01", None)])
    return flag_courses(chain_contacts(c), p, period=PERIOD)


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def event_world() -> dict[str, pd.DataFrame]:
    persons = make_persons(
        [
            # turns 65 on 1 April 2020
            ("a", 101, "F", "kort", 2, "1955-04-01", None),
            # dies 10 June 2020 aged 80
            ("b", 147, "M", "lang", None, "1940-01-20", "2020-06-10"),
        ]
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4],
            "person_id": ["a", "a", "b", "a"],
            "admit_time": pd.to_datetime(
                [
                    "2020-03-31 23:00",  # admitted at 64: March, band 60-64
                    "2020-04-10 10:00",  # 65: preventable, readmission of nothing (index)
                    "2020-05-05 10:00",
                    "2020-04-20 10:00",  # readmission of contact 2
                ]
            ).astype("datetime64[s]"),
            "discharge_time": pd.to_datetime(
                ["2020-04-02 08:00", "2020-04-12 10:00", "2020-05-05 20:00", "2020-05-02 10:00"]
            ).astype("datetime64[s]"),
            "acute": [True, True, True, True],
            "diagnosis": ["DJ189", "DJ189", "DS720", "DI500"],
        }
    )
    courses = flag_courses(chain_contacts(contacts), persons, period=PERIOD)
    falls = pd.DataFrame(
        {
            "person_id": ["a", "b", "b"],
            "fall_date": pd.to_datetime(["2020-03-31", "2020-05-01", "2020-05-04"]).date,
        }
    )
    care = pd.DataFrame(
        {
            "person_id": ["b", "b", "a"],
            "service": ["home_care", "home_care", "home_nursing"],
            "start_date": pd.to_datetime(["2020-02-01", "2020-03-15", "2020-01-01"]).date,
            "end_date": pd.to_datetime(["2020-03-31", None, None]).date,
            "hours_per_week": [3.0, 5.0, 1.0],
        }
    )
    cube = build_cube(persons, courses, period=PERIOD, falls=falls, care=care)
    return {"persons": persons, "courses": courses, "cube": cube, "falls": falls, "care": care}


def cell(cube: pd.DataFrame, kommune: int, year: int, month: int, band: str) -> pd.Series:
    rows = cube[
        (cube["kommune_code"] == kommune)
        & (cube["year"] == year)
        & (cube["month"] == month)
        & (cube["age_band"] == band)
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_events_are_attributed_to_month_and_age_band_at_the_event(event_world) -> None:
    cube = event_world["cube"]
    march = cell(cube, 101, 2020, 3, "60-64")
    assert march["admissions_acute"] == 1 and march["preventable"] == 0  # aged 64
    assert march["falls_registered"] == 1
    april = cell(cube, 101, 2020, 4, "65-69")
    assert april["admissions_acute"] == 2 and april["preventable"] == 1
    assert april["readmit_index"] == 1 and april["readmit_30d"] == 1  # discharged 12 April
    assert april["population"] == 1  # 65 on the 1st of April
    # a turned 65 on 1 April: no person-time and no events left in band 60-64 in April
    assert not (
        (cube["kommune_code"] == 101)
        & (cube["year"] == 2020)
        & (cube["month"] == 4)
        & (cube["age_band"] == "60-64")
    ).any()
    may_b = cell(cube, 147, 2020, 5, "80-84")
    assert may_b["hip_fracture"] == 1 and may_b["fall_injury"] == 1
    assert may_b["falls_registered"] == 2
    june_b = cell(cube, 147, 2020, 6, "80-84")
    assert june_b["deaths"] == 1
    assert june_b["person_years"] == pytest.approx(9 / 365.25)  # 1-9 June alive


def test_home_care_counts_persons_active_on_the_1st(event_world) -> None:
    cube = event_world["cube"]
    b = cube[cube["kommune_code"] == 147].groupby(["year", "month"])["home_care"].sum()
    # episode 1 Feb - 31 Mar and an overlapping one from 15 Mar (ongoing) until death
    assert b[(2020, 1)] == 0
    assert b[(2020, 2)] == 1 and b[(2020, 3)] == 1  # not double counted on 1 March
    assert b[(2020, 4)] == 1 and b[(2020, 6)] == 1  # alive on 1 June
    assert (2020, 7) not in b.index  # dead: no person-time, no events
    assert cube[cube["kommune_code"] == 101]["home_care"].sum() == 0  # home nursing only


def test_cube_totals_reconcile_with_courses(event_world) -> None:
    cube, courses = event_world["cube"], event_world["courses"]
    in_period = courses[courses["admit_time"].dt.date.between(PERIOD.start, PERIOD.end)]
    for col, flag in [
        ("admissions_acute", "acute"),
        ("preventable", "preventable"),
        ("fall_injury", "fall_injury"),
        ("hip_fracture", "hip_fracture"),
        ("heart_failure_acute", "heart_failure_acute"),
        ("admissions_short", "short_stay"),
    ]:
        assert cube[col].sum() == in_period[flag].sum(), col
    assert cube["readmit_index"].sum() == courses["readmit_index"].sum() == 2
    assert cube["readmit_30d"].sum() == courses["readmit_30d"].sum() == 1
    assert cube["deaths"].sum() == 1
    assert cube["falls_registered"].sum() == 3
    for col in EVENT_COLUMNS:
        assert str(cube[col].dtype) == "int64"
    assert str(cube["month"].dtype) == "int8" and str(cube["kommune_code"].dtype) == "int16"


def test_home_care_equals_brute_force_on_random_episodes() -> None:
    """Planted truth by brute force: for every person and every month of the period, count
    the person when alive on the 1st (born on or before it, not dead on or before it) and
    at least one home-care episode is active that day (start <= 1st <= end, null end
    ongoing). Random overlapping, nested, adjacent, open-ended and reversed episodes, births
    and deaths on and around the 1st; the cube's merged-runs SQL must give the same counts
    per kommune × month."""
    rng = np.random.default_rng(11)
    n = 60
    day0 = pd.Timestamp("2019-01-01")
    birth = day0 - pd.to_timedelta(rng.integers(-200, 90 * 365, n), unit="D")
    birth = birth.where(rng.random(n) > 0.1, pd.Timestamp("2020-03-01"))  # born on a 1st
    death = day0 + pd.to_timedelta(rng.integers(-100, 3 * 365, n), unit="D")
    death = death.where(rng.random(n) < 0.4, pd.NaT)
    death = death.where(~(rng.random(n) < 0.1), pd.Timestamp("2020-06-01"))  # dies on a 1st
    death = pd.Series(death).where(pd.Series(death) > pd.Series(birth), pd.NaT)
    persons = pd.DataFrame(
        {
            "person_id": [f"p{i:03d}" for i in range(n)],
            "kommune_code": rng.choice([101, 147], n),
            "sex": rng.choice(["F", "M"], n),
            "education": rng.choice(["kort", "lang"], n),
            "income_quintile": rng.integers(1, 6, n),
            "birth_date": pd.Series(birth).dt.date,
            "death_date": pd.Series(death).dt.date,
        }
    )
    m = 400
    start = day0 + pd.to_timedelta(rng.integers(-120, 2 * 365, m), unit="D")
    start = start.where(rng.random(m) > 0.2, start.to_period("M").to_timestamp())  # on a 1st
    length = pd.to_timedelta(rng.integers(-10, 200, m), unit="D")  # some end before start
    end = (start + length).where(rng.random(m) > 0.2, pd.NaT)
    care = pd.DataFrame(
        {
            "person_id": rng.choice(persons["person_id"], m),
            "service": rng.choice(["home_care", "home_care", "home_nursing"], m),
            "start_date": pd.Series(start).dt.date,
            "end_date": pd.Series(end).dt.date,
            "hours_per_week": 2.0,
        }
    )
    courses = flag_courses(
        chain_contacts(
            pd.DataFrame(
                {
                    "contact_id": [1],
                    "person_id": ["p000"],
                    "admit_time": pd.to_datetime(["2020-01-05 10:00"]).astype("datetime64[s]"),
                    "discharge_time": pd.to_datetime(["2020-01-06 10:00"]).astype("datetime64[s]"),
                    "acute": [True],
                    "diagnosis": ["DJ189"],
                }
            )
        ),
        persons,
        period=PERIOD,
    )
    cube = build_cube(persons, courses, period=PERIOD, care=care)
    got = cube.groupby(["kommune_code", "year", "month"])["home_care"].sum()
    got = got[got > 0]
    # brute force
    hc = care[care["service"] == "home_care"]
    want: dict[tuple[int, int, int], int] = {}
    for first in pd.date_range(PERIOD.start, PERIOD.end, freq="MS"):
        d = first.date()
        for p in persons.itertuples():
            if not p.birth_date <= d or (pd.notna(p.death_date) and p.death_date <= d):
                continue
            ep = hc[hc["person_id"] == p.person_id]
            active = (ep["start_date"] <= d) & (ep["end_date"].isna() | (ep["end_date"] >= d))
            if active.any():
                key = (p.kommune_code, first.year, first.month)
                want[key] = want.get(key, 0) + 1
    want_s = pd.Series(want, dtype="int64").sort_index()
    want_s.index.names = ["kommune_code", "year", "month"]
    assert want_s.sum() > 100  # the check has something to count
    pd.testing.assert_series_equal(
        got.astype("int64").sort_index(), want_s, check_names=False, check_index_type=False
    )
