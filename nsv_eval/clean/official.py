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

from collections.abc import Mapping

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


def _load(con: duckdb.DuckDBPyConnection, stays: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Stays of known persons and the persons (pandas), and the count of unknown-person stays."""
    persons = con.execute(
        "SELECT person_id, birth_date, death_date, kommune_code, sex FROM persons_n"
    ).df()
    s = con.execute(
        f"""
        SELECT s.stay_id, s.person_id, s.start, s."end", s.hours, s.admission, s.acute,
               s.somatic, s.action_diagnosis, s.kontaktaarsag
        FROM {stays} s SEMI JOIN persons_n p USING (person_id)
        """
    ).df()
    n_unknown = con.execute(
        f"SELECT count(*) FROM {stays} s ANTI JOIN persons_n p USING (person_id)"
    ).fetchall()[0][0]
    return s, persons, int(n_unknown)


def flag_sql(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    choice: Mapping[str, str],
    *,
    stays: str = "stays",
    out: str = "courses",
) -> dict:
    """Flag ``stays`` with the ``choice`` definitions; create tables ``out`` and ``disease_pop``.

    Needs ``persons_n`` (:func:`nsv_eval.clean.flags.stage_persons`) and the period macros.
    Returns counts and the definitions' notes (what could not be applied) for the manifest.
    """
    from nsv_eval.definitions import flags as dflags

    s, persons, n_unknown = _load(con, stays)
    data_start = pd.Timestamp(period.start)
    f = dflags.flag_stays(
        s, persons, period=(period.start, period.end), choice=choice, data_start=data_start
    )
    defs = D.selected(choice)
    notes = list(f.attrs.get("notes", []))
    hf = dflags.flag_rate(f, defs["heart_failure_acute"], notes)
    flags = pd.DataFrame(
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
    # disease cohorts (denominators of copd_acute / diabetes_acute): every stay registers
    years = list(range(period.start.year, period.end.year + 1))
    prepared = dflags.prepare_stays(s, persons)
    pops = []
    for id, disease in COHORTS.items():
        d = defs[id]
        if d.cohort is None:  # a legacy variant: per person-years, no cohort
            continue
        pop = dflags.cohort_population(prepared, persons, d, years, data_start=data_start)
        pops.append(pop[["person_id", "year", "age"]].assign(disease=disease))
    pop_df = (
        pd.concat(pops, ignore_index=True)
        if pops
        else pd.DataFrame({"person_id": [], "year": [], "age": [], "disease": []})
    )
    pop_df = pop_df.astype({"person_id": "string", "year": "int32", "age": "int32"})
    con.register("_official_flags", flags)
    con.register("_official_pop", pop_df)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE disease_pop AS SELECT CAST(person_id AS VARCHAR) "
            "AS person_id, CAST(year AS INTEGER) AS year, CAST(age AS INTEGER) AS age, "
            "CAST(disease AS VARCHAR) AS disease FROM _official_pop"
        )
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
        con.unregister("_official_flags")
        con.unregister("_official_pop")
        con.execute("DROP VIEW IF EXISTS _stay_dx")
    n_pop = con.execute(
        "SELECT disease, count(*) FROM disease_pop GROUP BY disease ORDER BY disease"
    ).fetchall()
    return {
        "counts": {
            "stays_unknown_person": n_unknown,
            "stays_flagged": len(flags),
            "stays_admissions_flagged": int(flags["is_admission"].sum()),
            "readmit_index_psych": int(flags["readmit_index_psych"].sum()),
            "readmit_30d_psych": int(flags["readmit_30d_psych"].sum()),
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
