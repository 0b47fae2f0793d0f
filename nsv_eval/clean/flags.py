"""Outcome flags on admission courses, including the 30-day acute readmission indicator.

The definitions used by the studies' course-based data, applied to the courses of
:mod:`nsv_eval.clean.courses` joined to the person table. Their thresholds and code lists
are read from the indicator definition files (``nsv_eval/definitions``, the variants in
:data:`COURSE_VARIANTS`: nsv-eval's earlier, *legacy* definitions):

``age``
    Whole years at the course's admission date (the age increases on the birthday; a person
    born 29 February gets one year older on 1 March in common years). ``age_band`` is the
    ESP2013 band of that age (``nsv_eval.reference.age_band``).
``los_hours``
    ``discharge_time - admit_time`` of the course, in hours.
``died_in_hospital``
    The person's ``death_date`` is on or before the course's discharge *date*.
``medical``
    The action diagnosis is in a medical ICD-10 chapter (``nsv_eval.definitions.codelists.is_medical``).
``preventable``
    Acute, age >= 65 at admission and action diagnosis in ``ICD10["preventable"]``.
``fall_injury``
    Acute and action diagnosis in ``ICD10["fall_injury"]``.
``hip_fracture``, ``copd_acute``, ``diabetes_acute``, ``heart_failure_acute``
    Acute and action diagnosis in ``ICD10["hip_fracture" | "copd" | "diabetes" |
    "heart_failure"]``.
``short_stay``
    Acute and ``los_hours < 24``.

30-day acute readmission
------------------------
*Index discharge* (``readmit_index``): a course that is

1. acute, with a medical action diagnosis,
2. of a person aged >= 65 at admission,
3. discharged alive — a death on or before the discharge date makes it *not* an index,
4. discharged within the study period with 30 days of follow-up observed: discharge date
   >= period start and <= period end - 30 days.

*Readmission*: any **acute** course (any diagnosis; planned courses never count) of the same
person whose admission is after the index discharge and no later than 30 × 24 hours after
it. Contacts less than 4 hours apart are chained into one course, so a readmission always
starts more than 4 hours after the index discharge. A readmission may itself be an index.

``readmit_30d`` is True for an index with a readmission (False for every other course);
``days_to_readmission`` is the time from index discharge to the first readmission in days
(fractional, 0 < t <= 30; null otherwise).

*Death after discharge* (all courses): ``death_30d`` is True when the death date is after the
discharge date and no more than 30 days after it; ``days_to_death`` is the difference in
whole days (1-30). For an index, a death within 30 days without a readmission is a competing
event (see ``cohort_readmission``: event 2); a readmission on or before the day of death
takes precedence (a person cannot be admitted after death).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from nsv_eval import definitions
from nsv_eval.clean import _db
from nsv_eval.clean._db import Period, sql_date
from nsv_eval.definitions import codelists

COURSE_VARIANTS: dict[str, str] = definitions.COURSE_VARIANTS
"""The variant of each indicator definition (``nsv_eval/definitions``) this course-based
cleaning computes: nsv-eval's earlier definitions. Thresholds and code lists below are read
from those files; the official definitions need hospital stays (``nsv_eval.definitions.flags``)."""


def course_definitions() -> dict[str, dict[str, str]]:
    """``{id: {"id", "variant", "version"}}`` of :data:`COURSE_VARIANTS` (for the manifest)."""
    return {id: definitions.get(id, v).stamp() for id, v in COURSE_VARIANTS.items()}


_READMISSION = definitions.get("readmission", COURSE_VARIANTS["readmission"])
READMISSION_WINDOW_DAYS: int = int(_READMISSION.threshold("window_days"))
"""Readmission window after the index discharge (30 × 24 hours)."""
INDEX_MIN_AGE: int = int(_READMISSION.threshold("min_age"))
"""Minimum age at admission of an index course."""
PREVENTABLE_MIN_AGE: int = int(
    definitions.get("preventable", COURSE_VARIANTS["preventable"]).threshold("min_age")
)
"""Minimum age at admission of a preventable admission (eSundhed's 'ældre')."""
SHORT_STAY_HOURS: float = float(
    definitions.get("short_stay", COURSE_VARIANTS["short_stay"]).threshold("max_hours")
)
"""An acute course shorter than this is a short stay (*korttidsindlæggelse*)."""
DEATH_WINDOW_DAYS: int = int(_READMISSION.threshold("death_window_days"))
"""Window (days after the discharge date) of ``death_30d``."""

DX_FLAGS: dict[str, str] = {
    "dx_preventable": "preventable",
    "dx_fall_injury": "fall_injury",
    "dx_hip_fracture": "hip_fracture",
    "dx_copd": "copd",
    "dx_diabetes": "diabetes",
    "dx_heart_failure": "heart_failure",
}
"""Diagnosis-level flag column -> key of ``nsv_eval.definitions.codelists.ICD10``."""

PERSON_COLUMNS = ("person_id", "kommune_code", "birth_date", "sex", "death_date")
PERSON_OPTIONAL = {"education": "VARCHAR", "income_quintile": "TINYINT", "living_alone": "BOOLEAN"}

COURSE_SCHEMA = pa.schema(
    [
        ("course_id", pa.int64()),
        ("person_id", pa.string()),
        ("kommune_code", pa.int16()),
        ("admit_time", pa.timestamp("s")),
        ("discharge_time", pa.timestamp("s")),
        ("n_contacts", pa.int32()),
        ("contact_ids", pa.list_(pa.int64())),
        ("acute", pa.bool_()),
        ("diagnosis", pa.string()),
        ("hospital", pa.string()),
        ("los_hours", pa.float64()),
        ("age", pa.int16()),
        ("age_band", pa.string()),
        ("sex", pa.string()),
        ("education", pa.string()),
        ("income_quintile", pa.int8()),
        ("died_in_hospital", pa.bool_()),
        ("medical", pa.bool_()),
        ("preventable", pa.bool_()),
        ("fall_injury", pa.bool_()),
        ("hip_fracture", pa.bool_()),
        ("copd_acute", pa.bool_()),
        ("diabetes_acute", pa.bool_()),
        ("heart_failure_acute", pa.bool_()),
        ("short_stay", pa.bool_()),
        ("readmit_index", pa.bool_()),
        ("readmit_30d", pa.bool_()),
        ("days_to_readmission", pa.float64()),
        ("death_30d", pa.bool_()),
        ("days_to_death", pa.int16()),
    ]
)


def stage_persons(con: duckdb.DuckDBPyConnection, src: str, *, what: str = "persons") -> None:
    """Validate view ``src`` and create the normalised view ``persons_n``.

    Optional columns (``education``, ``income_quintile``, ``living_alone``) become null when
    absent. Raises :class:`~nsv_eval.errors.InputError` on missing required columns, nulls
    in ``person_id``/``kommune_code``/``birth_date``/``sex`` or duplicated ``person_id``.
    """
    from nsv_eval.errors import InputError

    _db.require_columns(con, src, PERSON_COLUMNS, what=what)
    _db.require_not_null(con, src, ("person_id", "kommune_code", "birth_date", "sex"), what=what)
    have = set(_db.columns_of(con, src))
    opt = ", ".join(
        f"CAST({c} AS {t}) AS {c}" if c in have else f"CAST(NULL AS {t}) AS {c}"
        for c, t in PERSON_OPTIONAL.items()
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW persons_n AS
        SELECT CAST(person_id AS VARCHAR) AS person_id,
               CAST(kommune_code AS SMALLINT) AS kommune_code,
               CAST(birth_date AS DATE) AS birth_date,
               CAST(sex AS VARCHAR) AS sex,
               CAST(death_date AS DATE) AS death_date,
               {opt}
        FROM {src}
        """
    )
    dup = con.execute(
        "SELECT person_id, count(*) FROM persons_n GROUP BY person_id HAVING count(*) > 1 "
        "ORDER BY person_id LIMIT 1"
    ).fetchall()
    if dup:
        pid, n = dup[0]
        raise InputError(f"{what}: column person_id: {pid!r} occurs {n} times")
    bad = con.execute(
        "SELECT person_id FROM persons_n WHERE death_date < birth_date ORDER BY person_id LIMIT 1"
    ).fetchall()
    if bad:
        raise InputError(
            f"{what}: columns birth_date, death_date: person {bad[0][0]!r} dies before birth"
        )


def install_dx_flags(con: duckdb.DuckDBPyConnection, src: str = "course_base") -> None:
    """Create table ``dx`` with one row per distinct diagnosis of ``src`` and its flags.

    The flags are computed in pandas by :mod:`nsv_eval.reference` itself (``is_medical``
    and ``ICD10[...].matches``) on the distinct codes only, so the code lists exist in one
    place and the database joins a small table.
    """
    codes = con.execute(
        f"SELECT DISTINCT diagnosis FROM {src} WHERE diagnosis IS NOT NULL ORDER BY 1"
    ).df()["diagnosis"]
    dx = pd.DataFrame({"diagnosis": codes.astype("string")})
    dx["medical"] = codelists.is_medical(dx["diagnosis"]).to_numpy(bool)
    for col, key in DX_FLAGS.items():
        dx[col] = codelists.ICD10[key].matches(dx["diagnosis"]).to_numpy(bool)
    con.register("_dx_df", dx)
    con.execute("CREATE OR REPLACE TEMP TABLE dx AS SELECT * FROM _dx_df")
    con.unregister("_dx_df")


def flag_sql(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    src: str = "course_base",
    out: str = "courses",
    materialize: bool = True,
) -> dict[str, int]:
    """Join ``src`` courses to ``persons_n`` and add every flag as table (or view) ``out``.

    Courses of persons missing from the person table are left out and counted
    (``courses_unknown_person`` in the returned counts). With ``materialize=False`` the
    result is a view, computed when read (``prepare`` streams it straight to Parquet).
    """
    install_dx_flags(con, src)
    con.execute(
        f"CREATE OR REPLACE TEMP {'TABLE' if materialize else 'VIEW'} {out} AS "
        + flag_query(period, src=src)
    )
    n_base, n_unknown, n_after_death = con.execute(
        f"""
        SELECT count(*),
               count(*) FILTER (WHERE p.person_id IS NULL),
               count(*) FILTER (WHERE CAST(b.admit_time AS DATE) > p.death_date)
        FROM {src} b LEFT JOIN persons_n p USING (person_id)
        """
    ).fetchall()[0]
    return {
        "courses_chained": int(n_base),
        "courses_unknown_person": int(n_unknown),
        "courses_admitted_after_death": int(n_after_death),
    }



def flag_query(period: Period, *, src: str = "course_base", persons: str = "persons_n") -> str:
    """SQL of the flagged courses (the columns of :data:`COURSE_SCHEMA`) from ``src`` and the
    person table ``persons`` (table ``dx`` of :func:`install_dx_flags` must exist).

    ``src`` and ``persons`` may be sub-queries restricted to the same persons (every flag
    looks at one person's courses only), which is how ``prepare`` writes the courses in
    parts (:func:`nsv_eval.clean._db.person_parts`).
    """
    end_index = sql_date(period.end) + f" - INTERVAL {READMISSION_WINDOW_DAYS} DAY"
    return f"""
        WITH c AS (
            SELECT b.*, p.kommune_code, p.sex, p.education, p.income_quintile,
                   p.birth_date, p.death_date,
                   age_at(p.birth_date, CAST(b.admit_time AS DATE)) AS age,
                   epoch(b.discharge_time - b.admit_time) / 3600.0 AS los_hours,
                   coalesce(p.death_date <= CAST(b.discharge_time AS DATE), false)
                       AS died_in_hospital,
                   coalesce(d.medical, false) AS medical,
                   coalesce(d.dx_preventable, false) AS dx_preventable,
                   coalesce(d.dx_fall_injury, false) AS dx_fall_injury,
                   coalesce(d.dx_hip_fracture, false) AS dx_hip_fracture,
                   coalesce(d.dx_copd, false) AS dx_copd,
                   coalesce(d.dx_diabetes, false) AS dx_diabetes,
                   coalesce(d.dx_heart_failure, false) AS dx_heart_failure
            FROM {src} b
            JOIN {persons} p USING (person_id)
            LEFT JOIN dx d ON d.diagnosis = b.diagnosis
        ), f AS (
            -- next acute course of the same person (courses never overlap after chaining),
            -- read on the acute courses only (partition person × acute; no self-join)
            SELECT *,
                   CASE WHEN acute THEN lead(admit_time) OVER (
                       PARTITION BY person_id, acute ORDER BY admit_time, course_id) END
                       AS next_acute_admit,
                   (acute AND medical AND age >= {INDEX_MIN_AGE}
                    AND NOT died_in_hospital
                    AND CAST(discharge_time AS DATE) >= {sql_date(period.start)}
                    AND CAST(discharge_time AS DATE) <= {end_index}) AS readmit_index
            FROM c
        ), g AS (
            SELECT *,
                   coalesce(readmit_index AND next_acute_admit
                            <= discharge_time + INTERVAL {READMISSION_WINDOW_DAYS} DAY, false)
                       AS readmit_30d,
                   coalesce(death_date > CAST(discharge_time AS DATE)
                            AND death_date <= CAST(discharge_time AS DATE)
                                              + INTERVAL {DEATH_WINDOW_DAYS} DAY, false)
                       AS death_30d
            FROM f
        )
        SELECT course_id, person_id, kommune_code, admit_time, discharge_time, n_contacts,
               contact_ids, acute, diagnosis, hospital, los_hours, age,
               age_band_of(age) AS age_band, sex, education, income_quintile,
               died_in_hospital, medical,
               acute AND age >= {PREVENTABLE_MIN_AGE} AND dx_preventable AS preventable,
               acute AND dx_fall_injury AS fall_injury,
               acute AND dx_hip_fracture AS hip_fracture,
               acute AND dx_copd AS copd_acute,
               acute AND dx_diabetes AS diabetes_acute,
               acute AND dx_heart_failure AS heart_failure_acute,
               acute AND los_hours < {SHORT_STAY_HOURS} AS short_stay,
               readmit_index, readmit_30d,
               CASE WHEN readmit_30d
                    THEN epoch(next_acute_admit - discharge_time) / 86400.0 END
                   AS days_to_readmission,
               death_30d,
               CASE WHEN death_30d
                    THEN date_diff('day', CAST(discharge_time AS DATE), death_date) END
                   AS days_to_death
        FROM g
        """


def flag_courses(
    courses: _db.TableLike, persons: _db.TableLike, *, period: Period | tuple
) -> pd.DataFrame:
    """Add person attributes and outcome flags to chained courses.

    Parameters
    ----------
    courses : pandas.DataFrame or path
        Output of :func:`nsv_eval.clean.chain_contacts`.
    persons : pandas.DataFrame or path
        Person table in the raw layout (``person_id``, ``kommune_code``, ``birth_date``,
        ``sex``, ``death_date``; optionally ``education``, ``income_quintile``,
        ``living_alone``).
    period : Period or (start, end)
        Study period (whole months); the readmission index needs 30 days of follow-up
        before its end.

    Returns
    -------
    pandas.DataFrame
        One row per course (of a known person), ordered by ``course_id``, with the columns
        of ``courses.parquet`` (definitions in the module docstring).
    """
    period = Period.coerce(period)
    con = _db.connect()
    try:
        _db.register(con, "course_in", courses)
        _db.register(con, "persons_in", persons)
        stage_persons(con, "persons_in")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW course_base AS SELECT course_id, person_id, "
            "CAST(admit_time AS TIMESTAMP) AS admit_time, "
            "CAST(discharge_time AS TIMESTAMP) AS discharge_time, n_contacts, contact_ids, "
            "acute, diagnosis, hospital FROM course_in"
        )
        flag_sql(con, period)
        return _db.fetch_df(con, "SELECT * FROM courses ORDER BY course_id", COURSE_SCHEMA)
    finally:
        con.close()
