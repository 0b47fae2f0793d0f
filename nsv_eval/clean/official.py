"""Prepared admissions from hospital stays under the official indicator definitions.

When any indicator ``prepare`` builds is asked in its official variant (the default,
:data:`nsv_eval.definitions.DEFAULT_VARIANTS`), the unit of every hospital event in the
prepared layout is the *admission stay* (a *sygehusophold* of at least 12 hours,
:mod:`nsv_eval.clean.stays`), not the chained admission course of the legacy path:

* ``stays.parquet`` is flagged by :func:`nsv_eval.definitions.flags.flag_stays` with the
  chosen variants (a legacy variant asked for next to official ones is evaluated on the
  same stays, so the numbers never mix units);
* ``courses.parquet`` then holds one row per **admission stay** (``course_id`` =
  ``stay_id``) with the columns the cube, the cohorts and the studies read
  (:data:`nsv_eval.clean.flags.COURSE_SCHEMA`), plus ``somatic``, ``kontaktaarsag`` and the
  psychiatric readmission (``readmit_index_psych``, ``readmit_30d_psych``). ``readmit_index``
  / ``readmit_30d`` are the **somatic** 30-day readmission of the official definition (the
  same indicator the studies read; psychiatric apart);
* the disease cohorts (people with KOL / type 2 diabetes, 18+, on 1 January, from A
  diagnoses of any stay in the look-back) go to table ``disease_pop`` for the cube's
  denominators ``copd_population`` / ``diabetes_population``.

In the tidy ``nsv`` layout every contact is taken as a physical attendance (it has no
contact type), so its stays are the contacts chained when overlapping or at most 4 h apart,
and only those of at least 12 h are admissions — the manifest and the report appendix say
so (:func:`stay_note`).

``flag_stays`` is pandas (the definitions' rules are written once, there); the stays and the
persons are read from DuckDB in one query each and the result is joined back in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from nsv_eval import definitions as D
from nsv_eval.clean._db import Period
from nsv_eval.clean.flags import COURSE_SCHEMA, DEATH_WINDOW_DAYS, install_dx_flags

STAY_COURSE_SCHEMA = pa.schema(
    [
        *COURSE_SCHEMA,
        ("somatic", pa.bool_()),
        ("kontaktaarsag", pa.string()),
        ("readmit_index_psych", pa.bool_()),
        ("readmit_30d_psych", pa.bool_()),
    ]
)
"""``courses.parquet`` built from admission stays: the course columns + sector, contact
cause and the psychiatric readmission."""

COHORTS: dict[str, str] = {"copd_acute": "copd", "diabetes_acute": "diabetes"}
"""Disease-cohort definition id → ``disease`` label in ``disease_pop``."""


def uses_stays(choice: Mapping[str, str]) -> bool:
    """Is the prepared layout built from stays (any variant official)?"""
    return any(v == D.OFFICIAL for v in choice.values())


def stay_note(layout: str, lang: str = "da") -> str:
    """How stays are formed from the extract of ``layout`` (manifest, report appendix)."""
    if layout == "nsv":
        if lang == "da":
            return (
                "Udtrækket er i det ryddede nsv-format uden kontakttype: hver kontakt regnes "
                "som et fysisk fremmøde, så sygehusopholdene er kontakterne kædet, når de "
                "overlapper eller ligger højst 4 timer fra hinanden (forløb som ophold); kun "
                "ophold på mindst 12 timer er indlæggelser."
            )
        return (
            "The extract is in the tidy nsv layout without contact type: every contact is taken "
            "as a physical attendance, so the hospital stays are the contacts chained when "
            "they overlap or are at most 4 hours apart (courses as stays); only stays of at "
            "least 12 hours are admissions."
        )
    if lang == "da":
        return (
            f"Udtrækket er i {layout.upper()}-format: sygehusophold dannes af de fysiske "
            "fremmøder (akutmodtagelse, indlæggelse, fysisk ambulant fremmøde), der overlapper "
            "eller ligger højst 4 timer fra hinanden; virtuelle kontakter indgår ikke. Kun "
            "ophold på mindst 12 timer er indlæggelser."
        )
    return (
        f"The extract is in the {layout.upper()} layout: hospital stays join the physical "
        "attendances (emergency, in-patient, physical out-patient) that overlap or are at most "
        "4 hours apart; virtual contacts are left out. Only stays of at least 12 hours are "
        "admissions."
    )


def _load(
    con: duckdb.DuckDBPyConnection, stays: str, part: str = "TRUE"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stays of known persons and the persons (pandas) of one partition of the persons."""
    persons = con.execute(
        "SELECT person_id, birth_date, death_date, kommune_code, sex FROM persons_n "
        f"WHERE {part}"
    ).df()
    s = con.execute(
        f"""
        SELECT s.stay_id, s.person_id, s.start, s."end", s.hours, s.admission, s.acute,
               s.somatic, s.action_diagnosis, s.kontaktaarsag
        FROM {stays} s SEMI JOIN persons_n p USING (person_id)
        WHERE {part.replace("person_id", "s.person_id")}
        """
    ).df()
    return s, persons


CHUNK_STAYS = 1_000_000
"""Stays flagged in one pandas pass (about 1.5 KB each at the peak): larger extracts are
flagged in partitions of whole persons (every rule of the definitions looks at one person's
stays only), so national data stays within a few GB."""


def _partitions(con: duckdb.DuckDBPyConnection, stays: str, chunk_stays: int) -> list[str]:
    """SQL predicates on ``person_id`` splitting the persons into parts of ≤ ~chunk_stays stays."""
    n = int(con.execute(f"SELECT count(*) FROM {stays}").fetchall()[0][0])
    k = max(1, -(-n // max(1, chunk_stays)))
    if k == 1:
        return ["TRUE"]
    return [f"hash(person_id) % {k} = {i}" for i in range(k)]


def _flag_frame(f: pd.DataFrame, hf: pd.Series) -> pd.DataFrame:
    """The flag columns ``courses`` takes from :func:`~nsv_eval.definitions.flags.flag_stays`."""
    return pd.DataFrame(
        {
            "stay_id": f["stay_id"].to_numpy("int64"),
            "is_admission": f["admission"].to_numpy(bool),
            "age": f["age"].astype("Int64").to_numpy("float64"),
            "preventable": f["preventable"].to_numpy(bool),
            "fall_injury": f["fall_injury"].to_numpy(bool),
            "hip_fracture": f["hip_fracture"].to_numpy(bool),
            "copd_acute": f["copd_acute"].to_numpy(bool),
            "diabetes_acute": f["diabetes_acute"].to_numpy(bool),
            "heart_failure_acute": hf.to_numpy(bool),
            "short_stay": f["short_stay"].to_numpy(bool),
            "readmit_index": f["index_admission_somatic"].to_numpy(bool),
            "readmit_30d": f["readmitted_30d_somatic"].to_numpy(bool),
            "readmit_index_psych": f["index_admission_psychiatric"].to_numpy(bool),
            "readmit_30d_psych": f["readmitted_30d_psychiatric"].to_numpy(bool),
            "days_to_readmission": f["days_to_readmission"].to_numpy("float64"),
        }
    )


def _append(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    """Insert ``df`` into ``table`` (columns by name)."""
    con.register("_official_part", df)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _official_part")
    finally:
        con.unregister("_official_part")


_FLAGS_DDL = """
CREATE OR REPLACE TEMP TABLE _official_flags (
    stay_id BIGINT, is_admission BOOLEAN, age DOUBLE, preventable BOOLEAN,
    fall_injury BOOLEAN, hip_fracture BOOLEAN, copd_acute BOOLEAN, diabetes_acute BOOLEAN,
    heart_failure_acute BOOLEAN, short_stay BOOLEAN, readmit_index BOOLEAN,
    readmit_30d BOOLEAN, readmit_index_psych BOOLEAN, readmit_30d_psych BOOLEAN,
    days_to_readmission DOUBLE)
"""


def flag_sql(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    choice: Mapping[str, str],
    *,
    stays: str = "stays",
    out: str = "courses",
    chunk_stays: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Flag ``stays`` with the ``choice`` definitions; create tables ``out`` and ``disease_pop``.

    Needs ``persons_n`` (:func:`nsv_eval.clean.flags.stage_persons`) and the period macros.
    The stays are flagged by :func:`nsv_eval.definitions.flags.flag_stays` in partitions of
    whole persons of at most about ``chunk_stays`` (default :data:`CHUNK_STAYS`) stays each
    (the result does not depend on the partitioning; a test checks it). Returns counts and the definitions' notes (what could
    not be applied) for the manifest.
    """
    from nsv_eval.definitions import flags as dflags

    data_start = pd.Timestamp(period.start)
    defs = D.selected(choice)
    years = list(range(period.start.year, period.end.year + 1))
    notes: list[str] = []
    n_unknown = int(
        con.execute(f"SELECT count(*) FROM {stays} s ANTI JOIN persons_n p USING (person_id)")
        .fetchall()[0][0]
    )
    con.execute(_FLAGS_DDL)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE disease_pop (person_id VARCHAR, year INTEGER, "
        "age INTEGER, disease VARCHAR)"
    )
    parts = _partitions(con, stays, CHUNK_STAYS if chunk_stays is None else chunk_stays)
    for i, part in enumerate(parts, 1):
        if log is not None and len(parts) > 1:
            log(f"flagging stays, part {i}/{len(parts)}")
        s, persons = _load(con, stays, part)
        f = dflags.flag_stays(
            s, persons, period=(period.start, period.end), choice=choice, data_start=data_start
        )
        del s
        notes += f.attrs.get("notes", [])
        hf = dflags.flag_rate(f, defs["heart_failure_acute"], notes)
        _append(con, "_official_flags", _flag_frame(f, hf))
        # disease cohorts (denominators of copd_acute / diabetes_acute): every stay registers
        for id, disease in COHORTS.items():
            d = defs[id]
            if d.cohort is None:  # a legacy variant: per person-years, no cohort
                continue
            pop = dflags.cohort_population(f, persons, d, years, data_start=data_start)
            pop = pop[["person_id", "year", "age"]].assign(disease=disease)
            _append(con, "disease_pop", pop.astype({"person_id": "string"}))
        del f
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _stay_dx AS "
            f"SELECT action_diagnosis AS diagnosis FROM {stays}"
        )
        install_dx_flags(con, "_stay_dx")
        w = DEATH_WINDOW_DAYS
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {out} AS
            WITH j AS (
                SELECT s.*, g.*, p.kommune_code, p.sex, p.education, p.income_quintile,
                       p.death_date, CAST(s."end" AS DATE) AS end_date,
                       coalesce(d.medical, false) AS medical
                FROM {stays} s
                JOIN _official_flags g USING (stay_id)
                JOIN persons_n p USING (person_id)
                LEFT JOIN dx d ON d.diagnosis = s.action_diagnosis
                WHERE g.is_admission
            )
            SELECT stay_id AS course_id, person_id, kommune_code, start AS admit_time,
                   "end" AS discharge_time, n_contacts, contact_ids, acute,
                   action_diagnosis AS diagnosis, hospital, hours AS los_hours,
                   CAST(age AS SMALLINT) AS age, age_band_of(CAST(age AS INTEGER)) AS age_band,
                   sex, education, income_quintile,
                   coalesce(death_date <= end_date, false) AS died_in_hospital, medical,
                   preventable, fall_injury, hip_fracture, copd_acute, diabetes_acute,
                   heart_failure_acute, short_stay, readmit_index, readmit_30d,
                   CASE WHEN readmit_30d OR readmit_30d_psych THEN days_to_readmission END
                       AS days_to_readmission,
                   coalesce(death_date > end_date
                            AND death_date <= end_date + INTERVAL {w} DAY, false) AS death_30d,
                   CASE WHEN death_date > end_date AND death_date <= end_date + INTERVAL {w} DAY
                        THEN date_diff('day', end_date, death_date) END AS days_to_death,
                   somatic, kontaktaarsag, readmit_index_psych, readmit_30d_psych
            FROM j
            """
        )
    finally:
        con.execute("DROP VIEW IF EXISTS _stay_dx")
    n_pop = con.execute(
        "SELECT disease, count(*) FROM disease_pop GROUP BY disease ORDER BY disease"
    ).fetchall()
    n_flagged, n_adm, n_psych_index, n_psych_30d = con.execute(
        "SELECT count(*), count(*) FILTER (is_admission), count(*) FILTER (readmit_index_psych), "
        "count(*) FILTER (readmit_30d_psych) FROM _official_flags"
    ).fetchall()[0]
    con.execute("DROP TABLE _official_flags")
    return {
        "counts": {
            "stays_unknown_person": n_unknown,
            "stays_flagged": int(n_flagged),
            "stays_admissions_flagged": int(n_adm),
            "readmit_index_psych": int(n_psych_index),
            "readmit_30d_psych": int(n_psych_30d),
            **{f"{d}_population_person_years": int(n) for d, n in n_pop},
        },
        "notes": list(dict.fromkeys(notes)),
        "definitions": {k: defs[k].stamp() for k in choice},
    }


def empty_disease_pop(con: duckdb.DuckDBPyConnection) -> None:
    """An empty ``disease_pop`` table (the legacy path has no disease cohorts)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE disease_pop (person_id VARCHAR, year INTEGER, "
        "age INTEGER, disease VARCHAR)"
    )


__all__ = [
    "COHORTS",
    "STAY_COURSE_SCHEMA",
    "empty_disease_pop",
    "flag_sql",
    "stay_note",
    "uses_stays",
]
