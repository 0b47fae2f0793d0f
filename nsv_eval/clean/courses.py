"""Chaining hospital contacts into admission courses (*indlæggelsesforløb*).

A transfer between wards or hospitals shows up in LPR as two contacts that overlap or follow
each other closely. Before admissions and readmissions are counted, the contacts of a person
are chained into *courses*:

* Contacts are ordered by admission time (ties by ``contact_id``).
* A contact joins the current course when it starts no later than
  :data:`CHAIN_GAP_HOURS` (4) hours after the latest discharge so far in the course
  (``admit_time <= running max(discharge_time) + 4 h``, inclusive). Overlapping, nested and
  back-to-back contacts therefore belong to one course; a contact starting 4 h + 1 s after
  the running maximum discharge starts a new course. The running maximum (not the previous
  contact's discharge) is what makes a short contact nested in a long one not break the
  chain.
* Course admission = first admission; course discharge = the maximum discharge.
* Course ``acute``, action ``diagnosis`` and ``hospital`` are those of the course's *first*
  contact (the one that brought the patient in); ``n_contacts`` and ``contact_ids`` (in
  chain order) keep the link back to the contacts.
* ``course_id`` numbers courses 1, 2, ... ordered by ``person_id`` then admission time, so
  it is deterministic for a given input.

This is the usual Danish convention for LPR-based readmission indicators (e.g.
Sundhedsdatastyrelsen's *sammenhængende indlæggelsesforløb*: contacts less than 4 hours
apart are one course).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from nsv_eval import definitions
from nsv_eval.clean import _db
from nsv_eval.clean.stays import stays_view
from nsv_eval.errors import InputError

CHAIN_GAP_HOURS: float = float(
    definitions.get("readmission", definitions.COURSE_VARIANTS["readmission"]).threshold(
        "stay_gap_hours"
    )
)
"""Maximum gap (hours, inclusive) between the running maximum discharge of a course and the
next admission for the two to be one course (``stay_gap_hours`` of the readmission
definition the course cleaning uses, ``nsv_eval/definitions``)."""

CONTACT_COLUMNS = ("contact_id", "person_id", "admit_time", "discharge_time", "acute", "diagnosis")

COURSE_BASE_SCHEMA = pa.schema(
    [
        ("course_id", pa.int64()),
        ("person_id", pa.string()),
        ("admit_time", pa.timestamp("s")),
        ("discharge_time", pa.timestamp("s")),
        ("n_contacts", pa.int32()),
        ("contact_ids", pa.list_(pa.int64())),
        ("acute", pa.bool_()),
        ("diagnosis", pa.string()),
        ("hospital", pa.string()),
    ]
)


def stage_contacts(con: duckdb.DuckDBPyConnection, src: str, *, what: str = "contacts") -> None:
    """Validate view ``src`` and create the normalised view ``contacts_n``.

    Raises
    ------
    InputError
        A required column is missing, a key column holds nulls, or a contact is discharged
        before it is admitted (the message names the first such ``contact_id``).
    """
    _db.require_columns(con, src, CONTACT_COLUMNS, what=what)
    _db.require_not_null(
        con, src, ("contact_id", "person_id", "admit_time", "discharge_time", "acute"), what=what
    )
    cols = _db.columns_of(con, src)
    hospital = "CAST(hospital AS VARCHAR)" if "hospital" in cols else "NULL"
    # LPR-shaped extracts (nsv_eval.ingest.layouts) carry a contact type: only physical
    # attendances are chained (the same ones as stays; virtual and LPR2 out-patient
    # contacts are not), see chain_sql for which courses count as admissions.
    ctype = "CAST(contact_type AS VARCHAR)" if "contact_type" in cols else "NULL::VARCHAR"
    # carried for the stays built in the same chaining pass (chain_with_stays_sql)
    cause = "CAST(contact_cause AS VARCHAR)" if "contact_cause" in cols else "NULL::VARCHAR"
    specialty = "CAST(specialty AS VARCHAR)" if "specialty" in cols else "NULL::VARCHAR"
    from nsv_eval.clean.stays import ATTENDANCE_TYPES

    types = ", ".join(f"'{t}'" for t in ATTENDANCE_TYPES)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW contacts_n AS
        SELECT CAST(contact_id AS BIGINT) AS contact_id,
               CAST(person_id AS VARCHAR) AS person_id,
               CAST(admit_time AS TIMESTAMP) AS admit_time,
               CAST(discharge_time AS TIMESTAMP) AS discharge_time,
               CAST(acute AS BOOLEAN) AS acute,
               CAST(diagnosis AS VARCHAR) AS diagnosis,
               {hospital} AS hospital,
               {ctype} AS contact_type,
               {cause} AS contact_cause,
               {specialty} AS specialty
        FROM {src}
        WHERE {ctype} IS NULL OR {ctype} IN ({types})
        """
    )
    bad = con.execute(
        "SELECT contact_id, admit_time, discharge_time, count(*) OVER () FROM contacts_n "
        "WHERE discharge_time < admit_time ORDER BY contact_id LIMIT 1"
    ).fetchall()
    if bad:
        first = bad[0]
        raise InputError(
            f"{what}: {first[3]} contact(s) discharged before admission, e.g. contact_id "
            f"{first[0]} (admit_time {first[1]}, discharge_time {first[2]}); columns admit_time, "
            "discharge_time"
        )


def chain_sql(
    con: duckdb.DuckDBPyConnection, *, out: str = "course_base", gap_hours: float = CHAIN_GAP_HOURS
) -> None:
    """Chain view ``contacts_n`` (see :func:`stage_contacts`) into table ``out``.

    Window functions do the work in one sort: the running maximum discharge of the
    *preceding* contacts of the person (frame ``UNBOUNDED PRECEDING .. 1 PRECEDING``) decides
    whether a contact starts a new course, and the cumulative sum of those flags numbers the
    courses within the person.
    """
    from nsv_eval.clean.stays import ADMISSION_MIN_HOURS, OBSERVATION_PREFIXES

    gap_seconds = int(round(gap_hours * 3600))
    admit_seconds = int(round(ADMISSION_MIN_HOURS * 3600))
    obs = " OR ".join(f"starts_with(diagnosis, '{p}')" for p in OBSERVATION_PREFIXES)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH w AS (
            SELECT *,
                   max(discharge_time) OVER (
                       PARTITION BY person_id ORDER BY admit_time, contact_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max_dis
            FROM contacts_n
        ), f AS (
            SELECT *,
                   CASE WHEN prev_max_dis IS NULL
                             OR admit_time > prev_max_dis + to_seconds({gap_seconds})
                        THEN 1 ELSE 0 END AS new_course
            FROM w
        ), n AS (
            SELECT *,
                   sum(new_course) OVER (
                       PARTITION BY person_id ORDER BY admit_time, contact_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS course_no
            FROM f
        ), c AS (
            SELECT person_id, course_no,
                   min(admit_time) AS admit_time,
                   max(discharge_time) AS discharge_time,
                   CAST(count(*) AS INTEGER) AS n_contacts,
                   list(contact_id ORDER BY admit_time, contact_id) AS contact_ids,
                   first(acute ORDER BY admit_time, contact_id) AS acute,
                   CASE WHEN bool_or(contact_type IS NOT NULL) THEN coalesce(
                            first(diagnosis ORDER BY admit_time, contact_id)
                                FILTER (WHERE NOT ({obs}) AND diagnosis IS NOT NULL),
                            first(diagnosis ORDER BY admit_time, contact_id))
                        ELSE first(diagnosis ORDER BY admit_time, contact_id)
                   END AS diagnosis,
                   first(hospital ORDER BY admit_time, contact_id) AS hospital,
                   bool_or(contact_type IS NULL OR contact_type = 'inpatient') AS admitted
            FROM n GROUP BY person_id, course_no
        )
        SELECT CAST(row_number() OVER (ORDER BY person_id, admit_time) AS BIGINT) AS course_id,
               person_id, admit_time, discharge_time, n_contacts, contact_ids,
               acute, diagnosis, hospital
        FROM c
        -- typed (LPR) contacts: an admission is an in-patient contact (LPR2) or a stay of
        -- at least 12 h (LPR3 has no patient type); the tidy layout's contacts all count
        WHERE admitted OR epoch(discharge_time - admit_time) >= {admit_seconds}
        """
    )


def chain_with_stays_sql(
    con: duckdb.DuckDBPyConnection,
    *,
    out: str = "course_base",
    stays_out: str = "stays",
    gap_hours: float = CHAIN_GAP_HOURS,
) -> bool:
    """Courses (view ``out``) and hospital stays (view ``stays_out``) in one pass.

    Courses and stays chain the same contacts (the physical attendances of ``contacts_n``)
    by the same rule: a contact starts a new chain when it begins more than the gap after
    the running maximum discharge of the person's earlier contacts. When the course gap
    (:data:`CHAIN_GAP_HOURS`, legacy readmission definition) equals the stay gap
    (:data:`nsv_eval.clean.stays.STAY_GAP_HOURS`, official definition) the chains are the
    same, so the window sort over all contacts — the expensive part at register scale — is
    done once and both tables are aggregated from one ``GROUP BY``: every stay is a chain,
    and a course is a chain that is an admission (in-patient contact, or >= 12 h; see
    :func:`chain_sql`). The result equals :func:`chain_sql` followed by
    :func:`nsv_eval.clean.stays.stays_sql` (``tests/test_clean_courses.py`` checks it).

    The two views read the tables ``_<stays_out>_sorted`` (and, when some stays are not
    courses, ``_<out>_sorted``); :func:`drop_chained` removes views and tables.

    Returns
    -------
    bool
        True if both tables were built; False (nothing built) when the two gaps differ,
        and the caller chains twice.
    """
    from nsv_eval.clean.stays import ADMISSION_MIN_HOURS, STAY_GAP_HOURS, chain_rows

    if round(gap_hours * 3600) != round(STAY_GAP_HOURS * 3600):
        return False
    gap_seconds = int(round(gap_hours * 3600))
    admit_seconds = int(round(ADMISSION_MIN_HOURS * 3600))
    # Stay and course numbers without a window: the chains are sorted ONCE by person_id,
    # start into a table whose row order is that order (insertion order preserved), and the
    # ids are the row positions (``rowid + 1``). A window ``row_number() OVER (ORDER BY
    # person_id, start)`` over these wide rows cost DuckDB about twice the plain ORDER BY
    # at national scale (scale 1.0: 8.8-12 s wall, 15-20 s CPU vs 4.2 s, 8 s CPU), and the
    # copies of it into a stays and a course table another 2.5 s; ``stays`` and
    # ``course_base`` are views on the sorted table instead.
    sorted_stays, sorted_courses = f"_{stays_out}_sorted", f"_{out}_sorted"
    _db.sorted_table(
        con,
        sorted_stays,
        # the chains go straight into the sort (materialised first: +3.7 s at scale 1.0)
        f'SELECT *, admitted OR epoch("end" - start) >= {admit_seconds} AS is_course '
        f"FROM ({chain_rows('contacts_n', gap_seconds)})",
        "person_id, start",
    )
    # every chain of the tidy layout is a course: the course view reads the stays' rows
    # (course_id = stay_id); with typed (LPR) contacts the courses are copied out in the
    # same order (a filtered scan keeps the insertion order) and numbered in turn
    n_other = con.execute(f"SELECT count(*) FROM {sorted_stays} WHERE NOT is_course").fetchall()
    if n_other[0][0]:
        _db.sorted_table(con, sorted_courses, f"SELECT * FROM {sorted_stays} WHERE is_course", None)
    else:
        con.execute(f"DROP TABLE IF EXISTS {sorted_courses}")
    stays_view(con, stays_out, sorted_stays, ADMISSION_MIN_HOURS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {out} AS
        SELECT CAST(rowid + 1 AS BIGINT) AS course_id, person_id, start AS admit_time,
               "end" AS discharge_time, n_contacts, contact_ids, acute,
               CASE WHEN typed THEN action_diagnosis ELSE first_diagnosis END AS diagnosis,
               hospital
        FROM {sorted_courses if n_other[0][0] else sorted_stays}
        """
    )
    return True


def drop_chained(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop ``name`` built by :func:`chain_with_stays_sql` or
    :func:`nsv_eval.clean.stays.stays_sql` (a view, with the sorted table it reads) or by
    :func:`chain_sql` (a table)."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    if kind and kind[0][0] == "VIEW":
        con.execute(f"DROP VIEW {name}")
        con.execute(f"DROP TABLE IF EXISTS _{name}_sorted")
    else:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def chain_contacts(contacts: _db.TableLike, *, gap_hours: float = CHAIN_GAP_HOURS) -> pd.DataFrame:
    """Chain hospital contacts into admission courses (rules in the module docstring).

    Parameters
    ----------
    contacts : pandas.DataFrame or path
        Contacts in the raw layout: ``contact_id``, ``person_id``, ``admit_time``,
        ``discharge_time``, ``acute``, ``diagnosis`` and optionally ``hospital``.
    gap_hours : float, default 4
        Largest gap (inclusive) between the running maximum discharge and the next
        admission within one course.

    Returns
    -------
    pandas.DataFrame
        One row per course, ordered by ``course_id``: ``course_id``, ``person_id``,
        ``admit_time``, ``discharge_time``, ``n_contacts``, ``contact_ids``, ``acute``,
        ``diagnosis``, ``hospital``.

    Raises
    ------
    InputError
        Missing columns, nulls in key columns or discharge before admission.
    """
    con = _db.connect()
    try:
        _db.register(con, "contacts_in", contacts)
        stage_contacts(con, "contacts_in")
        chain_sql(con, gap_hours=gap_hours)
        return _db.fetch_df(con, "SELECT * FROM course_base ORDER BY course_id", COURSE_BASE_SCHEMA)
    finally:
        con.close()
