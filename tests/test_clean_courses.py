"""Chaining hospital contacts into admission courses (nsv_eval.clean.courses).

Reference: hand-made contact sequences whose chaining is known from the rule in the module
docstring (Sundhedsdatastyrelsen's convention: contacts less than 4 hours apart - measured
from the running maximum discharge - are one course). Each test states the expected courses.
"""

from __future__ import annotations

import pandas as pd
import pytest

from nsv_eval.clean import chain_contacts
from nsv_eval.errors import InputError

T = pd.Timestamp


def contacts(rows: list[tuple]) -> pd.DataFrame:
    """Rows: (contact_id, person_id, admit, discharge, acute, diagnosis)."""
    df = pd.DataFrame(
        rows,
        columns=["contact_id", "person_id", "admit_time", "discharge_time", "acute", "diagnosis"],
    )
    df["admit_time"] = pd.to_datetime(df["admit_time"], format="ISO8601").astype("datetime64[s]")
    df["discharge_time"] = pd.to_datetime(df["discharge_time"], format="ISO8601").astype(
        "datetime64[s]"
    )
    df["hospital"] = "H" + df["contact_id"].astype(str)
    return df


def test_overlapping_contacts_form_one_course() -> None:
    c = contacts(
        [
            (1, "a", "2020-01-01 08:00", "2020-01-03 10:00", True, "DJ189"),
            (2, "a", "2020-01-02 09:00", "2020-01-05 12:00", False, "DI500"),
        ]
    )
    out = chain_contacts(c)
    assert len(out) == 1
    row = out.iloc[0]
    assert row["admit_time"] == T("2020-01-01 08:00")
    assert row["discharge_time"] == T("2020-01-05 12:00")
    assert row["n_contacts"] == 2
    assert list(row["contact_ids"]) == [1, 2]
    # acute, diagnosis and hospital come from the first contact
    assert bool(row["acute"]) is True
    assert row["diagnosis"] == "DJ189"
    assert row["hospital"] == "H1"


@pytest.mark.parametrize(
    ("second_admit", "n_courses"),
    [
        ("2020-03-01 14:00:00", 1),  # exactly 4 h after discharge: same course (inclusive)
        ("2020-03-01 14:00:01", 2),  # 4 h + 1 s: a new course
        ("2020-03-01 10:00:00", 1),  # admitted at the minute of discharge
    ],
)
def test_four_hour_boundary(second_admit: str, n_courses: int) -> None:
    c = contacts(
        [
            (1, "a", "2020-03-01 06:00", "2020-03-01 10:00", True, "DJ189"),
            (2, "a", second_admit, "2020-03-02 10:00", True, "DJ189"),
        ]
    )
    out = chain_contacts(c)
    assert len(out) == n_courses
    if n_courses == 2:
        assert list(out["n_contacts"]) == [1, 1]
        assert list(out["course_id"]) == [1, 2]


def test_nested_contact_does_not_break_chain() -> None:
    """A short contact nested in a long one: the gap is measured from the running maximum
    discharge (day 10), not from the previous contact's discharge (day 3)."""
    c = contacts(
        [
            (1, "a", "2020-01-01 08:00", "2020-01-10 08:00", True, "DJ441"),
            (2, "a", "2020-01-02 08:00", "2020-01-03 08:00", False, "DZ038"),
            (3, "a", "2020-01-10 11:00", "2020-01-12 08:00", True, "DJ189"),
        ]
    )
    out = chain_contacts(c)
    assert len(out) == 1
    assert out.iloc[0]["n_contacts"] == 3
    assert out.iloc[0]["discharge_time"] == T("2020-01-12 08:00")


def test_course_discharge_is_the_maximum_not_the_last() -> None:
    c = contacts(
        [
            (1, "a", "2020-01-01 08:00", "2020-01-09 08:00", True, "DJ441"),
            (2, "a", "2020-01-02 08:00", "2020-01-03 08:00", True, "DZ038"),
        ]
    )
    out = chain_contacts(c)
    assert out.iloc[0]["discharge_time"] == T("2020-01-09 08:00")


def test_transfer_chain_of_three() -> None:
    """Ward A → ward B (2 h gap) → hospital C (3 h 59 min gap): one course of 3 contacts,
    admitted acutely (first contact), discharged from C; then a new course 5 h later."""
    c = contacts(
        [
            (10, "p", "2021-05-01 22:00", "2021-05-02 06:00", True, "DI214"),
            (11, "p", "2021-05-02 08:00", "2021-05-04 12:00", False, "DI219"),
            (12, "p", "2021-05-04 15:59", "2021-05-09 10:00", False, "DZ508"),
            (13, "p", "2021-05-09 15:00", "2021-05-09 18:00", False, "DZ508"),
        ]
    )
    out = chain_contacts(c)
    assert len(out) == 2
    first = out.iloc[0]
    assert first["n_contacts"] == 3
    assert list(first["contact_ids"]) == [10, 11, 12]
    assert first["admit_time"] == T("2021-05-01 22:00")
    assert first["discharge_time"] == T("2021-05-09 10:00")
    assert bool(first["acute"]) and first["diagnosis"] == "DI214"
    assert out.iloc[1]["n_contacts"] == 1 and not bool(out.iloc[1]["acute"])


def test_planned_first_contact_makes_planned_course() -> None:
    c = contacts(
        [
            (1, "a", "2020-01-01 08:00", "2020-01-02 08:00", False, "DZ038"),
            (2, "a", "2020-01-02 09:00", "2020-01-05 08:00", True, "DJ189"),
        ]
    )
    out = chain_contacts(c)
    assert len(out) == 1 and not bool(out.iloc[0]["acute"])
    assert out.iloc[0]["diagnosis"] == "DZ038"


def test_persons_are_chained_separately_and_ids_are_deterministic() -> None:
    rows = [
        (1, "b", "2020-01-01 08:00", "2020-01-02 08:00", True, "DJ189"),
        (2, "a", "2020-01-01 09:00", "2020-01-02 08:00", True, "DJ189"),
        (3, "a", "2020-01-02 09:00", "2020-01-03 08:00", True, "DJ189"),
        (4, "b", "2020-02-01 09:00", "2020-02-03 08:00", True, "DJ189"),
    ]
    out = chain_contacts(contacts(rows))
    # a's two contacts overlap in time with b's first but belong to another person
    assert list(out["person_id"]) == ["a", "b", "b"]
    assert list(out["course_id"]) == [1, 2, 3]
    assert list(out["n_contacts"]) == [2, 1, 1]
    shuffled = contacts(rows[::-1])
    pd.testing.assert_frame_equal(chain_contacts(shuffled), out)


def test_discharge_before_admission_is_an_input_error() -> None:
    c = contacts([(7, "a", "2020-01-02 08:00", "2020-01-01 08:00", True, "DJ189")])
    with pytest.raises(InputError, match="contact_id 7"):
        chain_contacts(c)


def test_missing_column_is_an_input_error() -> None:
    c = contacts([(7, "a", "2020-01-01 08:00", "2020-01-02 08:00", True, "DJ189")])
    with pytest.raises(InputError, match="discharge_time"):
        chain_contacts(c.drop(columns="discharge_time"))


def test_missing_admission_time_is_an_input_error() -> None:
    c = contacts([(7, "a", "2020-01-01 08:00", "2020-01-02 08:00", True, "DJ189")])
    c["admit_time"] = pd.NaT
    with pytest.raises(InputError, match="admit_time"):
        chain_contacts(c)


def _reference_stays(con, out: str) -> None:
    """Stays of view ``contacts_n`` the direct way (the implementation before the
    singles/multi-contact split of ``stays.chain_rows``): one window pass numbers the chains,
    one ``GROUP BY`` with ordered aggregates over every contact."""
    from nsv_eval.clean import stays

    obs = " OR ".join(f"starts_with(diagnosis, '{p}')" for p in stays.OBSERVATION_PREFIXES)
    psych = ", ".join(f"'{p}'" for p in stays.PSYCHIATRIC_SPECIALTIES)
    gap = int(round(stays.STAY_GAP_HOURS * 3600))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH a AS (
            SELECT *, coalesce({obs}, FALSE) AS obs,
                   coalesce(lower(specialty) IN ({psych}), FALSE) AS psych
            FROM contacts_n
        ), w AS (
            SELECT *, max(discharge_time) OVER (
                       PARTITION BY person_id ORDER BY admit_time, contact_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max
            FROM a
        ), n AS (
            SELECT *, sum(CASE WHEN prev_max IS NULL OR admit_time > prev_max
                                    + to_seconds({gap}) THEN 1 ELSE 0 END) OVER (
                       PARTITION BY person_id ORDER BY admit_time, contact_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stay_no
            FROM w
        ), s AS (
            SELECT person_id, stay_no, {stays.STAY_AGGREGATES}
            FROM n GROUP BY person_id, stay_no
        )
        {stays.stay_rows("s", stays.ADMISSION_MIN_HOURS)}
        """
    )


@pytest.mark.parametrize("typed", [False, True])
def test_one_pass_courses_and_stays_equal_two_passes(typed: bool) -> None:
    """``chain_with_stays_sql`` (one window pass) gives exactly the courses of ``chain_sql``
    and the stays of ``stays_sql`` (two passes) on random contacts with transfers, nested
    contacts, gaps around 4 h, and — typed — LPR contact types, observation codes,
    psychiatric units and contact causes; and both equal the stays built the direct way
    (:func:`_reference_stays`: ordered aggregates over every contact, no split into
    one-contact and several-contact chains)."""
    import numpy as np

    from nsv_eval.clean import _db, courses, stays

    rng = np.random.default_rng(7)
    n = 4000
    person = rng.integers(0, 300, n)
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(
        rng.integers(0, 3 * 365 * 24 * 60, n), unit="min"
    )
    los = pd.to_timedelta(rng.choice([10, 200, 240, 250, 700, 720, 3000], n), unit="min")
    df = pd.DataFrame(
        {
            "contact_id": rng.permutation(n) + 1,
            "person_id": [f"p{i:04d}" for i in person],
            "admit_time": start,
            "discharge_time": start + los,
            "acute": rng.random(n) < 0.6,
            "diagnosis": rng.choice(["DJ189", "DZ039", "DS720", None, "DZ048", "DI500"], n),
            "hospital": rng.choice(["H1", "H2"], n),
        }
    )
    # chains of transfers: every fifth contact starts right at (or 4 h after) another's end
    follow = np.arange(1, n, 5)
    gap = pd.to_timedelta(rng.choice([0, 240, 241], len(follow)), unit="min")
    df.loc[follow, "person_id"] = df.loc[follow - 1, "person_id"].to_numpy()
    df.loc[follow, "admit_time"] = (df.loc[follow - 1, "discharge_time"] + gap).to_numpy()
    df.loc[follow, "discharge_time"] = (df.loc[follow, "admit_time"] + los[follow]).to_numpy()
    if typed:
        df["contact_type"] = rng.choice(
            ["inpatient", "emergency", "physical", "virtual", "outpatient"], n
        )
        df["contact_cause"] = rng.choice(["ALCC01", "ALCC02", None], n)
        df["specialty"] = rng.choice(["Psykiatri", "intern medicin", None], n)
    con = _db.connect()
    try:
        _db.register(con, "contacts_in", df)
        courses.stage_contacts(con, "contacts_in")
        courses.chain_sql(con, out="course_two")
        stays.stays_sql(con, "contacts_in", out="stays_two")
        assert courses.chain_with_stays_sql(con, out="course_one", stays_out="stays_one")
        _reference_stays(con, "stays_ref")
        n_multi = con.execute("SELECT count(*) FROM stays_ref WHERE n_contacts > 1").fetchall()
        assert n_multi[0][0] > 100  # both parts of the split are exercised
        for one, two, key in [
            ("course_one", "course_two", "course_id"),
            ("stays_one", "stays_two", "stay_id"),
            ("stays_two", "stays_ref", "stay_id"),
        ]:
            a = con.execute(f"SELECT * FROM {one} ORDER BY {key}").df()
            b = con.execute(f"SELECT * FROM {two} ORDER BY {key}").df()
            assert len(a) > 100
            assert list(a.columns) == list(b.columns)
            pd.testing.assert_frame_equal(a, b)
    finally:
        con.close()


def test_sorted_table_row_positions_follow_the_order() -> None:
    """``_db.sorted_table`` (the chaining's numbering: id = ``rowid + 1``) stores the rows in
    the ORDER BY order also when DuckDB sorts and inserts in parallel over many row groups
    (here 1.5 million rows, 13 row groups, 2 threads, insertion order not preserved by the
    connection), and a filtered copy (``order_by=None``) keeps that order."""
    from nsv_eval.clean import _db

    con = _db.connect(threads=2)
    try:
        con.execute(
            "CREATE TEMP TABLE src AS SELECT 'p' || lpad(CAST(hash(i) % 400000 AS VARCHAR), 6, "
            "'0') AS person_id, TIMESTAMP '2015-01-01' + to_seconds(CAST(hash(i * 7) % 100000000 "
            "AS BIGINT)) AS start, i FROM range(1500000) t(i)"
        )
        _db.sorted_table(con, "s", "SELECT * FROM src", "person_id, start, i")
        _db.sorted_table(con, "f", "SELECT * FROM s WHERE i % 3 = 0", None)
        for table in ("s", "f"):
            bad = con.execute(
                f"""SELECT count(*) FROM (
                    SELECT rowid AS r, row_number() OVER (ORDER BY person_id, start, i) - 1 AS n
                    FROM {table}) WHERE r <> n"""
            ).fetchall()[0][0]
            assert bad == 0
        assert con.execute("SELECT count(*) FROM f").fetchall()[0][0] == 500000
        setting = "SELECT current_setting('preserve_insertion_order')"
        assert con.execute(setting).fetchall()[0][0] is False  # restored
    finally:
        con.close()
