"""Hospital stays (*sygehusophold*) from hospital contacts.

The official unit of eSundhed's readmission and admission statistics (eSundhed,
"Genindlæggelser i somatik og psykiatri", definitions; see ``/DOMAIN.md``):

* A **stay** links the *physical attendances* of a person at Danish hospitals that overlap
  or are at most :data:`STAY_GAP_HOURS` (4) hours apart (from the latest end so far to the
  next start, inclusive), whatever their patient type: an emergency-room contact, the ward
  contact that follows it and a transfer to another hospital are one stay.
* An **admission** (*indlæggelse*) is a stay of at least :data:`ADMISSION_MIN_HOURS` (12)
  hours, measured from the earliest start to the latest end of its attendances.

Which contacts are physical attendances: every contact of the tidy layout (no
``contact_type``), and the LPR contact types ``inpatient``, ``emergency`` and ``physical``
(LPR3 ``ALCA00`` fysisk fremmøde). Left out: ``virtual`` (LPR3 ``ALCA03``), ``other``, and
``outpatient`` — an LPR2 out-patient contact runs from the first to the last visit of a
course of treatment (its visit dates are in a separate table), so its start and end are not
one attendance.

Columns of ``stays.parquet`` (:data:`STAY_SCHEMA`):

``stay_id``
    1, 2, … ordered by ``person_id`` then ``start`` (deterministic for a given input).
``start``, ``end``, ``hours``
    Earliest start, latest end, and the difference in hours.
``admission``
    ``hours >= 12``.
``acute``
    The priority of the stay's first attendance (the one that brought the patient in).
``somatic``
    At least one attendance not at a psychiatric unit (``specialty`` psykiatri or børne- og
    ungdomspsykiatri, :data:`PSYCHIATRIC_SPECIALTIES`). LPR2's psychiatric contacts are a
    separate register (PSYK_ADM), so LPR2 contacts count as somatic.
``action_diagnosis``
    The action diagnosis of the first attendance whose diagnosis is not an observation code
    (:data:`OBSERVATION_PREFIXES`: DZ03 observation for suspected disease, DZ04
    examination and observation for other reasons) — an emergency-room contact coded
    "observation for" followed by a ward contact takes the ward's diagnosis; if every
    attendance has an observation code, the first one's.
``kontaktaarsag``
    The first contact cause given in the stay (LPR3 code ALCC01 sygdom, ALCC02 ulykke,
    ALCC03 voldshandling, ALCC04 selvmordsforsøg/selvskade, or ``other``); null when the
    extract has none.
``n_contacts``, ``contact_ids``, ``hospital``
    Attendances in the stay, their ids in chain order, and the first one's hospital.

Outcome flags on stays (index admission, 30-day readmission, preventable, fall injury) are
defined in ``nsv_eval.definitions``, which takes this table.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from nsv_eval import definitions
from nsv_eval.clean import _db

_OFFICIAL = definitions.get("readmission", definitions.OFFICIAL)

STAY_GAP_HOURS: float = float(_OFFICIAL.threshold("stay_gap_hours"))
"""Largest gap (hours, inclusive) between attendances of one stay (4; read from the
official readmission definition, ``nsv_eval/definitions/readmission.yaml``)."""
ADMISSION_MIN_HOURS: float = float(_OFFICIAL.threshold("admission_min_hours"))
"""A stay of at least this many hours is an admission (*indlæggelse*; 12, from the same
definition file)."""
ATTENDANCE_TYPES: tuple[str, ...] = ("inpatient", "emergency", "physical")
"""Contact types that are physical attendances (a null type is one too)."""
OBSERVATION_PREFIXES: tuple[str, ...] = ("DZ03", "DZ04")
"""Observation codes that do not name the stay's diagnosis when another contact does."""
PSYCHIATRIC_SPECIALTIES: tuple[str, ...] = (
    "psykiatri",
    "boerne- og ungdomspsykiatri",
    "børne- og ungdomspsykiatri",
    "borne- og ungdomspsykiatri",
)
"""``hovedspeciale_ans`` values of psychiatric units (lower case)."""

STAY_SCHEMA = pa.schema(
    [
        ("stay_id", pa.int64()),
        ("person_id", pa.string()),
        ("start", pa.timestamp("s")),
        ("end", pa.timestamp("s")),
        ("hours", pa.float64()),
        ("admission", pa.bool_()),
        ("acute", pa.bool_()),
        ("somatic", pa.bool_()),
        ("action_diagnosis", pa.string()),
        ("kontaktaarsag", pa.string()),
        ("n_contacts", pa.int32()),
        ("contact_ids", pa.list_(pa.int64())),
        ("hospital", pa.string()),
    ]
)


STAY_AGGREGATES = """
    min(admit_time) AS start,
    max(discharge_time) AS "end",
    CAST(count(*) AS INTEGER) AS n_contacts,
    list(contact_id ORDER BY admit_time, contact_id) AS contact_ids,
    first(acute ORDER BY admit_time, contact_id) AS acute,
    coalesce(
        first(diagnosis ORDER BY admit_time, contact_id)
            FILTER (WHERE NOT obs AND diagnosis IS NOT NULL),
        first(diagnosis ORDER BY admit_time, contact_id)
    ) AS action_diagnosis,
    first(contact_cause ORDER BY admit_time, contact_id)
        FILTER (WHERE contact_cause IS NOT NULL) AS kontaktaarsag,
    bool_or(NOT psych) AS somatic,
    first(hospital ORDER BY admit_time, contact_id) AS hospital"""
"""SQL aggregates of one stay over its attendances (``obs``: observation code, ``psych``:
psychiatric specialty): the definition, with DuckDB's ordered aggregates.
:func:`chain_rows` computes the same values with :data:`STAY_AGGREGATES_RN`
(``tests/test_clean_courses.py`` compares the two)."""

STAY_AGGREGATES_RN = """
    min(admit_time) AS start,
    max(discharge_time) AS "end",
    CAST(count(*) AS INTEGER) AS n_contacts,
    list_transform(list_sort(list({'r': rn, 'c': contact_id})), lambda x: x.c) AS contact_ids,
    arg_min_null(acute, rn) AS acute,
    coalesce(
        arg_min_null(diagnosis, rn) FILTER (WHERE NOT obs AND diagnosis IS NOT NULL),
        arg_min_null(diagnosis, rn)
    ) AS action_diagnosis,
    arg_min_null(contact_cause, rn) FILTER (WHERE contact_cause IS NOT NULL) AS kontaktaarsag,
    bool_or(NOT psych) AS somatic,
    arg_min_null(hospital, rn) AS hospital"""
""":data:`STAY_AGGREGATES` with the attendance order as one integer, ``rn`` (the row number
in ``admit_time, contact_id`` order within the person): the first value of an ordered set
is ``arg_min_null(x, rn)`` (null values kept, as ``first``), the ordered id list a sort of
``(rn, id)`` pairs. DuckDB's ordered aggregates build a sort key of both columns per row
and sort each group: at national scale (3.3 million attendances of 1.4 million
several-contact chains) their group-by took 6.5 s of operator time."""


def stay_rows(source: str, min_hours: float) -> str:
    """SQL of the stays table's rows (``STAY_SCHEMA`` order) from ``source``, a table of
    :data:`STAY_AGGREGATES` per ``person_id`` and chain."""
    return f"""SELECT CAST(row_number() OVER (ORDER BY person_id, start) AS BIGINT) AS stay_id,
               person_id, start, "end",
               epoch("end" - start) / 3600.0 AS hours,
               epoch("end" - start) / 3600.0 >= {float(min_hours)} AS admission,
               acute, somatic, action_diagnosis, kontaktaarsag, n_contacts, contact_ids,
               hospital
        FROM {source}"""


def chain_rows(src: str, gap_seconds: int) -> str:
    """SQL: one row per chain of the attendances in view ``src`` (columns ``person_id``,
    ``start``, ``end``, ``n_contacts``, ``contact_ids``, ``acute``, ``action_diagnosis``,
    ``kontaktaarsag``, ``somatic``, ``hospital``, ``first_diagnosis``, ``typed``,
    ``admitted``).

    ``src`` has the columns of the normalised contacts (``contact_id``, ``person_id``,
    ``admit_time``, ``discharge_time``, ``acute``, ``diagnosis``, ``hospital``,
    ``contact_type``, ``contact_cause``, ``specialty``), physical attendances only. A contact
    starts a new chain when it begins more than ``gap_seconds`` after the running maximum
    end of the person's earlier contacts.

    The chains are the same as a ``GROUP BY`` of every contact with ordered aggregates
    (:data:`STAY_AGGREGATES`) would give, but computed in two parts, because DuckDB's
    ordered aggregates over ~15 million groups cost about ten times the window sort at
    national scale: one window sort marks each contact as the first and/or last of its chain
    (the next contact continues the chain iff it begins within the gap after the running
    maximum end *including* this contact); a contact that is both (about 90 % of all chains
    in LPR) is a chain by itself, read off its own row, and only the contacts of chains with
    several contacts are numbered and aggregated.
    """
    obs = " OR ".join(f"starts_with(diagnosis, '{p}')" for p in OBSERVATION_PREFIXES)
    psych = ", ".join(f"'{p}'" for p in PSYCHIATRIC_SPECIALTIES)
    gap = f"to_seconds({int(gap_seconds)})"
    return f"""
        WITH w AS (
            SELECT contact_id, person_id, admit_time, discharge_time, acute, diagnosis,
                   hospital, contact_type, contact_cause,
                   coalesce({obs}, FALSE) AS obs,
                   coalesce(lower(specialty) IN ({psych}), FALSE) AS psych,
                   max(discharge_time) OVER (
                       o ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max,
                   max(discharge_time) OVER (
                       o ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_max,
                   lead(admit_time) OVER o AS next_admit
            FROM {src}
            WINDOW o AS (PARTITION BY person_id ORDER BY admit_time, contact_id)
        ), e AS MATERIALIZED (
            SELECT * EXCLUDE (prev_max, run_max, next_admit),
                   prev_max IS NULL OR admit_time > prev_max + {gap} AS first_in_chain,
                   next_admit IS NULL OR next_admit > run_max + {gap} AS last_in_chain
            FROM w
        ), m AS (
            SELECT *, sum(CASE WHEN first_in_chain THEN 1 ELSE 0 END) OVER (
                       PARTITION BY person_id ORDER BY admit_time, contact_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS chain_no,
                   row_number() OVER (
                       PARTITION BY person_id ORDER BY admit_time, contact_id) AS rn
            FROM e WHERE NOT (first_in_chain AND last_in_chain)
        )
        SELECT person_id, admit_time AS start, discharge_time AS "end",
               CAST(1 AS INTEGER) AS n_contacts, [contact_id] AS contact_ids, acute,
               diagnosis AS action_diagnosis, contact_cause AS kontaktaarsag,
               NOT psych AS somatic, hospital, diagnosis AS first_diagnosis,
               contact_type IS NOT NULL AS typed,
               contact_type IS NULL OR contact_type = 'inpatient' AS admitted
        FROM e WHERE first_in_chain AND last_in_chain
        UNION ALL
        SELECT person_id, {STAY_AGGREGATES_RN},
               arg_min_null(diagnosis, rn) AS first_diagnosis,
               bool_or(contact_type IS NOT NULL) AS typed,
               bool_or(contact_type IS NULL OR contact_type = 'inpatient') AS admitted
        FROM m GROUP BY person_id, chain_no"""


def _opt(cols: list[str], name: str) -> str:
    return f"CAST({name} AS VARCHAR)" if name in cols else "NULL::VARCHAR"


def stays_sql(
    con: duckdb.DuckDBPyConnection,
    src: str,
    *,
    out: str = "stays",
    gap_hours: float = STAY_GAP_HOURS,
    min_hours: float = ADMISSION_MIN_HOURS,
) -> None:
    """Build view ``out`` of stays from the contacts view ``src`` (rules in the module doc).

    Window functions chain the attendances in one sort, as for courses: the running maximum
    end of the person's *preceding* attendances decides whether one starts a new stay
    (:func:`chain_rows`). The view reads table ``_<out>_sorted``
    (:func:`nsv_eval.clean.courses.drop_chained` removes both).
    """
    cols = _db.columns_of(con, src)
    _db.require_columns(
        con, src, ("contact_id", "person_id", "admit_time", "discharge_time", "acute"),
        what="contacts",
    )  # fmt: skip
    types = ", ".join(f"'{t}'" for t in ATTENDANCE_TYPES)
    gap = int(round(gap_hours * 3600))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW _stay_attendances AS
        SELECT * FROM (
            SELECT CAST(contact_id AS BIGINT) AS contact_id,
                   CAST(person_id AS VARCHAR) AS person_id,
                   CAST(admit_time AS TIMESTAMP) AS admit_time,
                   CAST(discharge_time AS TIMESTAMP) AS discharge_time,
                   CAST(acute AS BOOLEAN) AS acute,
                   {_opt(cols, "diagnosis")} AS diagnosis,
                   {_opt(cols, "hospital")} AS hospital,
                   {_opt(cols, "contact_type")} AS contact_type,
                   {_opt(cols, "contact_cause")} AS contact_cause,
                   {_opt(cols, "specialty")} AS specialty
            FROM {src}
        ) WHERE contact_type IS NULL OR contact_type IN ({types})
        """
    )
    # numbered without a window: sorted once into a table whose row order is
    # (person_id, start), stay_id = row position (as the one-pass chaining of
    # nsv_eval.clean.courses.chain_with_stays_sql; equal to stay_rows' row_number)
    _db.sorted_table(
        con, f"_{out}_sorted", chain_rows("_stay_attendances", gap), "person_id, start"
    )
    con.execute("DROP VIEW _stay_attendances")
    stays_view(con, out, f"_{out}_sorted", min_hours)


def stays_view(con: duckdb.DuckDBPyConnection, out: str, src: str, min_hours: float) -> None:
    """Temp view ``out``: the stays of ``src`` (a table of chained stays in
    ``person_id, start`` order, :func:`_db.sorted_table`), ``stay_id`` = row position + 1,
    with their hours and whether they last ``min_hours`` (an admission)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {out} AS
        SELECT CAST(rowid + 1 AS BIGINT) AS stay_id, person_id, start, "end",
               epoch("end" - start) / 3600.0 AS hours,
               epoch("end" - start) / 3600.0 >= {float(min_hours)} AS admission,
               acute, somatic, action_diagnosis, kontaktaarsag, n_contacts, contact_ids,
               hospital
        FROM {src}
        """
    )


def build_stays(
    contacts: _db.TableLike,
    *,
    gap_hours: float = STAY_GAP_HOURS,
    min_hours: float = ADMISSION_MIN_HOURS,
) -> pd.DataFrame:
    """Hospital stays from contacts (rules in the module docstring).

    Parameters
    ----------
    contacts : pandas.DataFrame or path
        Contacts as ingested (``contacts.parquet``): ``contact_id``, ``person_id``,
        ``admit_time``, ``discharge_time``, ``acute``, ``diagnosis`` and optionally
        ``hospital``, ``contact_type``, ``contact_cause``, ``specialty``.
    gap_hours : float, default 4
        Largest gap (inclusive) between attendances of one stay.
    min_hours : float, default 12
        Shortest admission.

    Returns
    -------
    pandas.DataFrame
        One row per stay, ordered by ``stay_id``, columns of :data:`STAY_SCHEMA`.
    """
    con = _db.connect()
    try:
        _db.register(con, "contacts_in", contacts)
        stays_sql(con, "contacts_in", gap_hours=gap_hours, min_hours=min_hours)
        return _db.fetch_df(con, "SELECT * FROM stays ORDER BY stay_id", STAY_SCHEMA)
    finally:
        con.close()
