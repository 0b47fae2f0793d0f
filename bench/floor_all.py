"""The floor for ALL of prepare's outputs: hand-written DuckDB SQL from raw Parquet.

``floor_duckdb.floor_cube`` makes only the monthly cube. ``floor_all`` makes the same six
outputs as ``nsv_eval.clean.prepare(raw, out, definitions_choice="legacy")``:
``courses.parquet``, ``stays.parquet``, ``cube.parquet``, ``cube_income.parquet``,
``cohort_readmission.parquet`` and ``cohort_falls.parquet``, with the definitions of the
``nsv_eval.clean`` module docstrings (``courses``, ``stays``, ``flags``, ``cube``,
``cohorts``). Like the cube floor: no validation, no quarantine, no pseudonymisation, no
manifest, no copies of the ingested tables — the raw extracts (tidy layout of
``nsv-eval synth``: ``persons``, ``contacts``, ``care``, ``falls``, ``interventions``
Parquet and ``rollout.csv``) are read directly and each output is written by DuckDB's
``COPY … TO`` (zstd, as ours). It does not import nsv_eval's SQL builders; the only things
taken from nsv_eval are data: the ICD-10 code lists (per distinct code, as the cube floor)
and the kommune → region table.

How it differs from ours (an independent implementation of the same definitions):

* Chaining: in the tidy layout every contact is a physical attendance and every chain is a
  course (there is no contact type), and the legacy course gap equals the stay gap (4 h),
  so one ``GROUP BY`` of the chained contacts gives every stay *and* every course (the same
  row numbered once: ``course_id`` = ``stay_id``); plain ``arg_min`` aggregates over all
  chains, no special path for one-contact chains.
* Person-time: a range join of age-band segments to calendar months (as the cube floor),
  grouped once by kommune × sex × education × income quintile × band × month; both cubes
  are sums of that one table.
* Cohorts: the joins written out directly from the docstrings.

Not handled (ours does): LPR layouts (a ``contact_type`` column), a ``cpr`` column,
official definitions, rejects. The first raises ``ValueError``.

Usage::

    .venv/bin/python bench/floor_all.py RAW_DIR OUT_DIR [--threads 2] [--memory 4GB]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
from floor_duckdb import AGE_BAND_LABELS, MACROS, _dx_table

from nsv_eval import reference

# The thresholds of the legacy definitions (nsv_eval/definitions/*.legacy.yaml and the
# cohorts module), written out here on purpose: a change in ours that the floor does not
# follow shows up as a difference in tests/test_bench_equivalence.py.
GAP_HOURS = 4  # chaining gap (courses) = stay gap (stays)
ADMISSION_HOURS = 12  # a stay of at least 12 h is an admission
OBSERVATION = ("DZ03", "DZ04")  # observation codes: not a stay's action diagnosis
PSYCH = ("psykiatri", "boerne- og ungdomspsykiatri", "børne- og ungdomspsykiatri",
         "borne- og ungdomspsykiatri")  # fmt: skip
INDEX_AGE, PREVENTABLE_AGE, SHORT_HOURS, WINDOW, DEATH_WINDOW = 65, 65, 24, 30, 30
FOLLOWUP_DAYS, PRIOR_DAYS, FALLS_DAYS, FALLS_AGE = 7, 365, 365, 65

OUTPUTS = (
    "courses.parquet",
    "stays.parquet",
    "cube.parquet",
    "cube_income.parquet",
    "cohort_readmission.parquet",
    "cohort_falls.parquet",
)

EVENTS = (
    "deaths", "admissions_acute", "admissions_short", "preventable", "fall_injury",
    "hip_fracture", "copd_acute", "diabetes_acute", "heart_failure_acute", "readmit_index",
    "readmit_30d", "falls_registered", "home_care",
)  # fmt: skip
"""The cube's event columns the legacy definitions fill (the official-only ones are 0)."""
OFFICIAL_ZERO = ("readmit_index_psych", "readmit_30d_psych", "copd_population",
                 "diabetes_population")  # fmt: skip


def _raw(raw: Path, stem: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        if (raw / f"{stem}{suffix}").exists():
            return raw / f"{stem}{suffix}"
    return None


def _q(path: Path) -> str:
    return str(path).replace("'", "''")


def _views(con: duckdb.DuckDBPyConnection, raw: Path) -> None:
    """Views on the raw files; absent optional extracts are empty views."""
    con.execute(f"CREATE TEMP VIEW contacts AS SELECT * FROM '{_q(raw / 'contacts.parquet')}'")
    cols = {r[0] for r in con.execute("DESCRIBE contacts").fetchall()}
    if "contact_type" in cols:
        raise ValueError("floor_all handles the tidy layout only (contacts have contact_type)")
    con.execute(
        f"""CREATE TEMP TABLE persons AS
        SELECT person_id, CAST(kommune_code AS SMALLINT) AS kommune_code,
               CAST(birth_date AS DATE) AS birth_date, sex, education,
               CAST(income_quintile AS TINYINT) AS income_quintile, living_alone,
               CAST(death_date AS DATE) AS death_date
        FROM '{_q(raw / "persons.parquet")}'"""
    )
    empty = {
        "care": "NULL::VARCHAR AS person_id, NULL::VARCHAR AS service, "
        "NULL::DATE AS start_date, NULL::DATE AS end_date",
        "falls": "NULL::VARCHAR AS person_id, NULL::DATE AS fall_date",
        "interventions": "NULL::VARCHAR AS person_id, NULL::VARCHAR AS intervention, "
        'NULL::DATE AS "date"',
        "rollout": "NULL::SMALLINT AS kommune_code, NULL::VARCHAR AS intervention, "
        "NULL::DATE AS start_date",
    }
    for stem, nulls in empty.items():
        path = _raw(raw, stem)
        if path is None:
            con.execute(f"CREATE TEMP VIEW {stem} AS SELECT {nulls} WHERE false")
        elif path.suffix == ".csv":
            con.execute(
                f"""CREATE TEMP VIEW {stem} AS SELECT * FROM read_csv('{_q(path)}', header = true,
                types = {{'kommune_code': 'SMALLINT', 'start_date': 'DATE'}})"""
            )
        else:
            con.execute(f"CREATE TEMP VIEW {stem} AS SELECT * FROM '{_q(path)}'")


def floor_all(
    raw_dir: str | Path, out_dir: str | Path, *, threads: int = 2, memory_limit: str = "4GB"
) -> dict:
    """Write the six outputs of ``prepare(..., definitions_choice="legacy")`` to ``out_dir``.

    Parameters
    ----------
    raw_dir : path
        Raw extracts in the tidy layout (``persons.parquet`` and ``contacts.parquet``
        required; ``care``, ``falls``, ``interventions`` Parquet and ``rollout.csv``
        optional, empty when absent).
    out_dir : path
        Output directory (created); the six files of :data:`OUTPUTS` are written there.
    threads, memory_limit
        DuckDB settings (as ours' defaults).

    Returns
    -------
    dict
        ``{"rows": {output: rows}, "period": (start, end exclusive), "seconds": wall time,
        "stages": {stage: seconds}}``.
    """
    t0 = time.perf_counter()
    raw, out = Path(raw_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".floor-tmp"
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET temp_directory = '{_q(tmp)}'")
    con.execute(MACROS)
    stages: dict[str, float] = {}
    t_stage = time.perf_counter()

    def done(name: str) -> None:
        nonlocal t_stage
        stages[name] = round(time.perf_counter() - t_stage, 3)
        t_stage = time.perf_counter()

    def copy(sql: str, name: str) -> None:
        # ORDER BY of every output kept in the file (as ours' files are ordered)
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"COPY ({sql}) TO '{_q(out / name)}' (FORMAT parquet, COMPRESSION zstd)")
        con.execute("SET preserve_insertion_order = false")

    _views(con, raw)
    _dx_table(con)
    regions = reference.kommuner()[["kommune_code", "region_code"]]
    con.register("regions_df", regions)
    con.execute(
        "CREATE TEMP TABLE regions AS SELECT CAST(kommune_code AS SMALLINT) AS kommune_code, "
        "CAST(region_code AS SMALLINT) AS region_code FROM regions_df"
    )
    done("read persons, diagnosis flags")

    # 1. chains of contacts: a contact starts a new chain when admitted more than 4 h after
    #    the running maximum discharge of the person's earlier contacts. Every chain is a stay
    #    and (tidy layout) a course; numbered by person, start.
    ccols = {r[0] for r in con.execute("DESCRIBE contacts").fetchall()}
    cause = "CAST(contact_cause AS VARCHAR)" if "contact_cause" in ccols else "NULL::VARCHAR"
    hosp = "CAST(hospital AS VARCHAR)" if "hospital" in ccols else "NULL::VARCHAR"
    psych = f"coalesce(lower(specialty) IN {PSYCH!r}, false)" if "specialty" in ccols else "false"
    obs = " OR ".join(f"starts_with(diagnosis, '{p}')" for p in OBSERVATION)
    # contact ids in chain order: the list sorted by the window's row number (cheaper than an
    # ordered aggregate, which makes DuckDB sort every group)
    ids = "list_transform(list_sort(list({'r': rn, 'c': contact_id})), lambda x: x.c)"
    con.execute(
        f"""
        CREATE TEMP TABLE chains AS
        WITH w AS (
            SELECT contact_id, person_id, admit_time, discharge_time, acute, diagnosis,
                   {hosp} AS hospital, {cause} AS cause, {psych} AS psych,
                   coalesce({obs}, false) AS obs,
                   max(discharge_time) OVER (o ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                       AS pm,
                   row_number() OVER o AS rn  -- chain order as one integer (the same sort)
            FROM contacts
            WINDOW o AS (PARTITION BY person_id ORDER BY admit_time, contact_id)
        ), n AS (
            SELECT *, sum(CASE WHEN pm IS NULL OR admit_time > pm + INTERVAL {GAP_HOURS} HOUR
                               THEN 1 ELSE 0 END)
                      OVER (PARTITION BY person_id ORDER BY admit_time, contact_id
                            ROWS UNBOUNDED PRECEDING) AS cno
            FROM w
        ), g AS (
            SELECT person_id, min(admit_time) AS start, max(discharge_time) AS "end",
                   CAST(count(*) AS INTEGER) AS n_contacts,
                   {ids} AS contact_ids,
                   arg_min_null(acute, rn) AS acute,
                   arg_min_null(diagnosis, rn) AS first_dx,
                   coalesce(arg_min(diagnosis, rn)
                                FILTER (WHERE NOT obs AND diagnosis IS NOT NULL),
                            arg_min_null(diagnosis, rn)) AS action_dx,
                   arg_min(cause, rn) FILTER (WHERE cause IS NOT NULL)
                       AS cause,
                   bool_or(NOT psych) AS somatic,
                   arg_min_null(hospital, rn) AS hospital
            FROM n GROUP BY person_id, cno
        )
        SELECT CAST(row_number() OVER (ORDER BY person_id, start) AS BIGINT) AS id, *
        FROM g
        """
    )
    done("chain contacts")
    lo, hi = con.execute("SELECT min(start), max(start) FROM chains").fetchone()
    p0 = lo.date().replace(day=1)
    p1 = (pd.Timestamp(hi.date()) + pd.offsets.MonthBegin(1)).date()  # exclusive end
    pend = f"(DATE '{p1}' - INTERVAL 1 DAY)"
    n_months = (p1.year - p0.year) * 12 + p1.month - p0.month
    con.execute(
        f"""CREATE TEMP TABLE months AS
        SELECT CAST(k AS INTEGER) AS k, CAST(DATE '{p0}' + to_months(k) AS DATE) AS ms,
               CAST(DATE '{p0}' + to_months(k + 1) AS DATE) AS me1
        FROM range({n_months}) t(k)"""
    )
    con.execute(
        f"CREATE TEMP MACRO midx(d) AS ((year(d) - {p0.year}) * 12 + month(d) - {p0.month})"
    )
    copy(
        f"""SELECT id AS stay_id, person_id, start, "end",
                   epoch("end" - start) / 3600.0 AS hours,
                   epoch("end" - start) / 3600.0 >= {float(ADMISSION_HOURS)} AS admission,
                   acute, somatic, action_dx AS action_diagnosis, cause AS kontaktaarsag,
                   n_contacts, contact_ids, hospital
            FROM chains ORDER BY id""",
        "stays.parquet",
    )
    done("stays (write)")

    # 2. courses: person attributes, age at admission, outcome flags, 30-day readmission
    con.execute(
        f"""
        CREATE TEMP TABLE cf AS
        WITH c AS (
            SELECT ch.id AS course_id, ch.person_id, p.kommune_code,
                   ch.start AS admit_time, ch."end" AS discharge_time, ch.n_contacts,
                   ch.contact_ids, ch.acute, ch.first_dx AS diagnosis, ch.hospital,
                   epoch(ch."end" - ch.start) / 3600.0 AS los_hours,
                   CAST(age_at(p.birth_date, CAST(ch.start AS DATE)) AS SMALLINT) AS age,
                   p.sex, p.education, p.income_quintile, p.birth_date, p.death_date,
                   coalesce(p.death_date <= CAST(ch."end" AS DATE), false) AS died_in_hospital,
                   coalesce(d.medical, false) AS medical, coalesce(d.dx_prev, false) AS dx_prev,
                   coalesce(d.dx_fall, false) AS dx_fall, coalesce(d.dx_hip, false) AS dx_hip,
                   coalesce(d.dx_copd, false) AS dx_copd, coalesce(d.dx_diab, false) AS dx_diab,
                   coalesce(d.dx_hf, false) AS dx_hf
            FROM chains ch JOIN persons p USING (person_id)
            LEFT JOIN dx d ON d.diagnosis = ch.first_dx
        ), a AS (
            SELECT course_id, lead(admit_time) OVER (PARTITION BY person_id ORDER BY admit_time)
                   AS nxt
            FROM c WHERE acute
        ), f AS (
            SELECT c.*, a.nxt,
                   c.acute AND c.medical AND c.age >= {INDEX_AGE} AND NOT c.died_in_hospital
                   AND CAST(c.discharge_time AS DATE) >= DATE '{p0}'
                   AND CAST(c.discharge_time AS DATE) <= {pend} - INTERVAL {WINDOW} DAY AS idx,
                   c.death_date > CAST(c.discharge_time AS DATE)
                   AND c.death_date <= CAST(c.discharge_time AS DATE) + INTERVAL {DEATH_WINDOW} DAY
                       AS d30
            FROM c LEFT JOIN a USING (course_id)
        )
        SELECT course_id, person_id, kommune_code, admit_time, discharge_time, n_contacts,
               contact_ids, acute, diagnosis, hospital, los_hours, age,
               CASE WHEN age >= 0 THEN {AGE_BAND_LABELS!r}[least(age // 5, 19) + 1] END
                   AS age_band,
               sex, education, income_quintile, died_in_hospital, medical,
               acute AND age >= {PREVENTABLE_AGE} AND dx_prev AS preventable,
               acute AND dx_fall AS fall_injury, acute AND dx_hip AS hip_fracture,
               acute AND dx_copd AS copd_acute, acute AND dx_diab AS diabetes_acute,
               acute AND dx_hf AS heart_failure_acute,
               acute AND los_hours < {SHORT_HOURS} AS short_stay,
               idx AS readmit_index,
               coalesce(idx AND nxt <= discharge_time + INTERVAL {WINDOW} DAY, false)
                   AS readmit_30d,
               CASE WHEN idx AND nxt <= discharge_time + INTERVAL {WINDOW} DAY
                    THEN epoch(nxt - discharge_time) / 86400.0 END AS days_to_readmission,
               coalesce(d30, false) AS death_30d,
               CASE WHEN d30 THEN CAST(date_diff('day', CAST(discharge_time AS DATE), death_date)
                                       AS SMALLINT) END AS days_to_death,
               -- for the cube (not written)
               birth_date, least(age // 5, 19) AS bi
        FROM f
        """
    )
    con.execute("DROP TABLE chains")
    done("flag courses")
    copy("SELECT * EXCLUDE (birth_date, bi) FROM cf ORDER BY course_id", "courses.parquet")
    done("courses (write)")

    # 3. the cubes: each life cut into age-band segments once (strata: kommune, sex,
    #    education, income quintile); events counted once at that level.
    strata = "{a}kommune_code, {a}sex, coalesce({a}education, 'ukendt') AS education, " \
             "coalesce({a}income_quintile, 0) AS inc"  # fmt: skip
    pstrata = strata.format(a="p.")
    strata = strata.format(a="")
    zero = {c: "0" for c in EVENTS}

    def ev(values: dict[str, str], rest: str, bi: str, k: str, attrs: str = pstrata) -> str:
        cols = ", ".join(f"{values.get(c, zero[c])} AS {c}" for c in EVENTS)
        return f"SELECT {attrs}, {bi} AS bi, {k} AS k, {cols} {rest}"

    in_period = f"{{d}} >= DATE '{p0}' AND {{d}} < DATE '{p1}'"
    home_care_months = """FROM (
            SELECT DISTINCT p.*, m.ms, m.k
            FROM care c JOIN persons p USING (person_id)
            JOIN months m ON m.ms >= c.start_date AND (c.end_date IS NULL OR m.ms <= c.end_date)
            WHERE c.service = 'home_care' AND c.start_date IS NOT NULL
              AND p.birth_date <= m.ms AND (p.death_date IS NULL OR p.death_date > m.ms)
        ) p"""
    course_events = {c: f"{c}::INT" for c in ("preventable", "fall_injury", "hip_fracture",
                     "copd_acute", "diabetes_acute", "heart_failure_acute")}  # fmt: skip
    events = "\nUNION ALL\n".join(
        [
            ev({"deaths": "1"}, "FROM persons p WHERE " + in_period.format(d="death_date"),
               "band_idx(age_at(birth_date, death_date))", "midx(death_date)"),
            ev({"admissions_acute": "acute::INT", "admissions_short": "short_stay::INT",
                **course_events},
               "FROM cf p WHERE " + in_period.format(d="CAST(admit_time AS DATE)"),
               "bi", "midx(CAST(admit_time AS DATE))"),
            ev({"readmit_index": "1", "readmit_30d": "readmit_30d::INT"},
               "FROM cf p WHERE readmit_index", "bi", "midx(CAST(discharge_time AS DATE))"),
            ev({"falls_registered": "1"},
               "FROM falls f JOIN persons p USING (person_id) WHERE "
               + in_period.format(d="f.fall_date"),
               "band_idx(age_at(p.birth_date, f.fall_date))", "midx(f.fall_date)"),
            ev({"home_care": "1"}, home_care_months,
               "band_idx(age_at(p.birth_date, p.ms))", "p.k"),
        ]
    )  # fmt: skip
    con.execute(
        f"""
        CREATE TEMP TABLE seg AS
        WITH life AS (
            SELECT {strata}, birth_date AS b,
                   greatest(birth_date, DATE '{p0}') AS lo,
                   least(coalesce(death_date, DATE '{p1}'), DATE '{p1}') AS hi
            FROM persons
        ), s AS (
            SELECT kommune_code, sex, education, inc, bi,
                   greatest(lo, birthday(b, 5 * bi)) AS slo,
                   CASE WHEN bi = 19 THEN hi ELSE least(hi, birthday(b, 5 * bi + 5)) END AS shi
            FROM life, range(20) r(bi)
            WHERE lo < hi AND bi BETWEEN band_idx(age_at(b, lo))
                                     AND band_idx(age_at(b, CAST(hi - INTERVAL 1 DAY AS DATE)))
        )
        SELECT * FROM s WHERE slo < shi
        """
    )
    con.execute(
        f"""CREATE TEMP TABLE ev AS
        SELECT kommune_code, sex, education, inc, bi, k,
               {", ".join(f"sum({c}) AS {c}" for c in EVENTS)}
        FROM ({events}) GROUP BY ALL"""
    )
    done("cube segments, events")
    zeros = ", ".join(f"CAST(0 AS BIGINT) AS {c}" for c in OFFICIAL_ZERO)
    measures = ", ".join(f"CAST(coalesce({c}, 0) AS BIGINT) AS {c}" for c in EVENTS)
    # monthly cube: person-time by a range join of the segments to calendar months
    copy(
        f"""
        WITH pt AS (
            SELECT kommune_code, sex, education, bi, m.k,
                   sum(CASE WHEN slo <= m.ms THEN 1 ELSE 0 END) AS population,
                   sum(date_diff('day', greatest(slo, m.ms), least(shi, m.me1))) AS days
            FROM seg JOIN months m ON m.ms < seg.shi AND m.me1 > seg.slo
            GROUP BY ALL
        ), e AS (
            SELECT kommune_code, sex, education, bi, k,
                   {", ".join(f"sum({c}) AS {c}" for c in EVENTS)}
            FROM ev GROUP BY ALL
        )
        SELECT kommune_code, CAST(year(m.ms) AS SMALLINT) AS year,
               CAST(month(m.ms) AS TINYINT) AS month, {AGE_BAND_LABELS!r}[bi + 1] AS age_band,
               sex, education, CAST(coalesce(population, 0) AS BIGINT) AS population,
               coalesce(days, 0) / 365.25 AS person_years, {measures}, {zeros}
        FROM (SELECT * FROM pt WHERE population > 0 OR days > 0) pt
        FULL OUTER JOIN e USING (kommune_code, sex, education, bi, k)
        JOIN months m USING (k)
        ORDER BY kommune_code, year, month, bi, sex, education""",
        "cube.parquet",
    )
    done("cube (person-time by month, write)")
    # yearly income cube: the same segments joined to calendar years (population on
    # 1 January, days in the year), events of the months summed (home care: January)
    con.execute(
        f"""CREATE TEMP TABLE years AS
        SELECT CAST(y AS INTEGER) AS year, make_date(y, 1, 1) AS ys, make_date(y + 1, 1, 1) AS ye1
        FROM range({p0.year}, {(p1 - pd.Timedelta(days=1)).year + 1}) t(y)"""
    )
    yearly = ", ".join(
        f"sum({c}) FILTER (WHERE month(m.ms) = 1) AS {c}"
        if c == "home_care"
        else f"sum({c}) AS {c}"
        for c in EVENTS
    )
    copy(
        f"""
        WITH pt AS (
            SELECT kommune_code, sex, inc, bi, y.year,
                   sum(CASE WHEN slo <= y.ys THEN 1 ELSE 0 END) AS population,
                   sum(date_diff('day', greatest(slo, y.ys), least(shi, y.ye1))) AS days
            FROM seg JOIN years y ON y.ys < seg.shi AND y.ye1 > seg.slo
            GROUP BY ALL
        ), e AS (
            SELECT kommune_code, sex, inc, bi, CAST(year(m.ms) AS INTEGER) AS year, {yearly}
            FROM ev JOIN months m USING (k) GROUP BY ALL
        )
        SELECT kommune_code, CAST(year AS SMALLINT) AS year,
               {AGE_BAND_LABELS!r}[bi + 1] AS age_band, sex,
               CAST(CASE WHEN inc = 0 THEN NULL ELSE inc END AS TINYINT) AS income_quintile,
               CAST(coalesce(population, 0) AS BIGINT) AS population,
               coalesce(days, 0) / 365.25 AS person_years, {measures}, {zeros}
        FROM (SELECT * FROM pt WHERE population > 0 OR days > 0) pt
        FULL OUTER JOIN e USING (kommune_code, sex, inc, bi, year)
        ORDER BY kommune_code, year, bi, sex, inc""",
        "cube_income.parquet",
    )
    con.execute("DROP TABLE seg")
    con.execute("DROP TABLE ev")
    done("income cube (person-time by year, write)")

    # 4. the readmission cohort: index discharges of acute medical courses of 65+
    copy(
        f"""
        WITH idx AS (SELECT * FROM cf WHERE readmit_index AND age >= {INDEX_AGE} AND acute
                                          AND medical)
        SELECT i.course_id, i.person_id, i.kommune_code, r.region_code, i.discharge_time,
               CAST(year(i.discharge_time) AS SMALLINT) AS year, i.age, i.age_band, i.sex,
               i.education, i.income_quintile, p.living_alone,
               coalesce(hc.home_care, false) AS home_care,
               coalesce(hc.home_nursing, false) AS home_nursing,
               CAST(coalesce(pr.n, 0) AS INTEGER) AS prior_admissions_365d,
               i.los_hours / 24.0 AS los_days, fu.days IS NOT NULL AS followup_visit,
               CAST(fu.days AS SMALLINT) AS followup_days, i.readmit_30d, i.death_30d,
               CAST(CASE WHEN i.readmit_30d THEN 1 WHEN i.death_30d THEN 2 ELSE 0 END
                    AS TINYINT) AS event,
               CASE WHEN i.readmit_30d THEN i.days_to_readmission
                    WHEN i.death_30d THEN CAST(i.days_to_death AS DOUBLE)
                    ELSE {float(WINDOW)} END AS time
        FROM idx i JOIN persons p USING (person_id)
        LEFT JOIN regions r ON r.kommune_code = i.kommune_code
        LEFT JOIN (
            SELECT i.course_id, count(*) AS n FROM idx i JOIN cf c
              ON c.person_id = i.person_id AND c.acute
             AND c.admit_time >= i.admit_time - INTERVAL {PRIOR_DAYS} DAY
             AND c.admit_time < i.admit_time
            GROUP BY i.course_id
        ) pr USING (course_id)
        LEFT JOIN (
            SELECT i.course_id, bool_or(s.service = 'home_care') AS home_care,
                   bool_or(s.service = 'home_nursing') AS home_nursing
            FROM idx i JOIN care s ON s.person_id = i.person_id
             AND s.start_date <= CAST(i.discharge_time AS DATE)
             AND (s.end_date IS NULL OR s.end_date >= CAST(i.discharge_time AS DATE))
            GROUP BY i.course_id
        ) hc USING (course_id)
        LEFT JOIN (
            SELECT i.course_id,
                   min(date_diff('day', CAST(i.discharge_time AS DATE), v."date")) AS days
            FROM idx i JOIN interventions v ON v.person_id = i.person_id
             AND v.intervention = 'followup_visit'
             AND v."date" >= CAST(i.discharge_time AS DATE)
             AND v."date" <= CAST(i.discharge_time AS DATE) + INTERVAL {FOLLOWUP_DAYS} DAY
            GROUP BY i.course_id
        ) fu USING (course_id)
        ORDER BY i.course_id
        """,
        "cohort_readmission.parquet",
    )
    done("readmission cohort")

    # 5. the falls cohort: participants (first falls_programme date) and a sequential target
    #    trial of not-yet participants, each on the date of a participant of the same kommune
    #    drawn by md5(person_id || ':falls') (first 15 hex digits) modulo their number.
    def ok(start: str) -> str:
        return f"""age_at(p.birth_date, x.index_date) >= {FALLS_AGE}
             AND (p.death_date IS NULL OR p.death_date > x.index_date)
             AND x.index_date >= {start}
             AND x.index_date >= DATE '{p0}' AND x.index_date < DATE '{p1}'"""

    copy(
        f"""
        WITH ro AS (
            SELECT kommune_code, min(start_date) AS start_date FROM rollout
            WHERE intervention = 'falls_programme' AND start_date IS NOT NULL GROUP BY ALL
        ), part AS (
            SELECT person_id, min("date") AS index_date FROM interventions
            WHERE intervention = 'falls_programme' AND "date" IS NOT NULL GROUP BY ALL
        ), pp AS (
            SELECT p.person_id, p.kommune_code, ro.start_date AS rollout_start, x.index_date
            FROM part x JOIN persons p USING (person_id) JOIN ro USING (kommune_code)
            WHERE {ok("ro.start_date")}
        ), pool AS (
            SELECT kommune_code, index_date,
                   row_number() OVER (PARTITION BY kommune_code ORDER BY index_date, person_id)
                       - 1 AS r,
                   count(*) OVER (PARTITION BY kommune_code) AS n
            FROM pp
        ), drawn AS (
            SELECT p.*, ro.start_date AS rollout_start,
                   CAST(('0x' || substr(md5(p.person_id || ':falls'), 1, 15)) AS BIGINT) % k.n
                       AS r
            FROM persons p
            JOIN (SELECT DISTINCT kommune_code, n FROM pool) k USING (kommune_code)
            JOIN ro USING (kommune_code)
        ), np AS (
            SELECT p.person_id, p.kommune_code, p.rollout_start, x.index_date
            FROM drawn p JOIN pool x USING (kommune_code, r)
            LEFT JOIN part j ON j.person_id = p.person_id
            WHERE {ok("p.rollout_start")} AND (j.index_date IS NULL OR j.index_date > x.index_date)
        ), co AS (
            SELECT *, true AS participant FROM pp UNION ALL SELECT *, false FROM np
        ), cj AS (
            -- the person's courses admitted within 365 days before or after the index date
            SELECT co.person_id, co.participant,
                   count(*) FILTER (WHERE c.acute AND c.d < co.index_date) AS prior_adm,
                   count(*) FILTER (WHERE c.fall_injury AND c.d < co.index_date) AS prior_fi,
                   min(date_diff('day', co.index_date, c.d))
                       FILTER (WHERE c.fall_injury AND c.d > co.index_date) AS fi0,
                   min(date_diff('day', co.index_date, c.d))
                       FILTER (WHERE c.acute AND NOT c.fall_injury AND c.d > co.index_date)
                       AS nc0
            FROM co JOIN (SELECT person_id, CAST(admit_time AS DATE) AS d, acute, fall_injury
                          FROM cf WHERE acute OR fall_injury) c
              ON c.person_id = co.person_id
             AND c.d >= co.index_date - INTERVAL {PRIOR_DAYS} DAY
             AND c.d <= co.index_date + INTERVAL {FALLS_DAYS} DAY AND c.d < DATE '{p1}'
            GROUP BY ALL
        ), fj AS (
            SELECT co.person_id, co.participant, count(*) AS prior_falls
            FROM co JOIN falls f ON f.person_id = co.person_id
             AND f.fall_date >= co.index_date - INTERVAL {PRIOR_DAYS} DAY
             AND f.fall_date < co.index_date
            GROUP BY ALL
        ), hj AS (
            SELECT DISTINCT co.person_id, co.participant
            FROM co JOIN care s ON s.person_id = co.person_id AND s.service = 'home_care'
             AND s.start_date <= co.index_date
             AND (s.end_date IS NULL OR s.end_date >= co.index_date)
        ), o AS (
            SELECT co.*, p.birth_date, p.sex, p.education, p.income_quintile, p.living_alone,
                   cj.fi0, cj.nc0,
                   CASE WHEN p.death_date <= co.index_date + INTERVAL {FALLS_DAYS} DAY
                         AND p.death_date < DATE '{p1}'
                        THEN date_diff('day', co.index_date, p.death_date) END AS death0,
                   CASE WHEN NOT co.participant
                         AND j.index_date <= co.index_date + INTERVAL {FALLS_DAYS} DAY
                         AND j.index_date < DATE '{p1}'
                        THEN date_diff('day', co.index_date, j.index_date) END AS joined,
                   least({FALLS_DAYS}, date_diff('day', co.index_date, DATE '{p1}')) AS end_days,
                   coalesce(cj.prior_adm, 0) AS prior_adm, coalesce(cj.prior_fi, 0) AS prior_fi,
                   coalesce(fj.prior_falls, 0) AS prior_falls,
                   hj.person_id IS NOT NULL AS hc
            FROM co JOIN persons p USING (person_id)
            LEFT JOIN part j ON j.person_id = co.person_id
            LEFT JOIN cj ON cj.person_id = co.person_id AND cj.participant = co.participant
            LEFT JOIN fj ON fj.person_id = co.person_id AND fj.participant = co.participant
            LEFT JOIN hj ON hj.person_id = co.person_id AND hj.participant = co.participant
        ), pp2 AS (
            -- per protocol: a control who joins is censored that day (events from then on
            -- count for neither arm)
            SELECT *,
                   CASE WHEN joined IS NULL OR fi0 < joined THEN fi0 END AS fi,
                   CASE WHEN joined IS NULL OR death0 < joined THEN death0 END AS death
            FROM o
        )
        SELECT o.person_id, o.kommune_code, r.region_code, o.rollout_start, o.participant,
               o.index_date, CAST(year(o.index_date) AS SMALLINT) AS year,
               CAST(age_at(o.birth_date, o.index_date) AS SMALLINT) AS age,
               {AGE_BAND_LABELS!r}[least(age_at(o.birth_date, o.index_date) // 5, 19) + 1]
                   AS age_band,
               o.sex, o.education, o.income_quintile, o.living_alone, o.hc AS home_care,
               CAST(o.prior_falls AS INTEGER) AS prior_falls_365d,
               CAST(o.prior_fi AS INTEGER) AS prior_fall_injury_365d,
               CAST(o.prior_adm AS INTEGER) AS prior_admissions_365d,
               o.fi0 IS NOT NULL AS fall_injury_365d, o.death0 IS NOT NULL AS death_365d,
               CAST(CASE WHEN o.fi IS NOT NULL THEN 1 WHEN o.death IS NOT NULL THEN 2 ELSE 0 END
                    AS TINYINT) AS event,
               CAST(coalesce(o.fi, o.death, least(o.end_days, coalesce(o.joined, o.end_days)))
                    AS SMALLINT) AS time,
               o.nc0 IS NOT NULL AS nc_admission_365d,
               o.joined IS NOT NULL AND o.fi IS NULL AND o.death IS NULL AS censored_join
        FROM pp2 o LEFT JOIN regions r ON r.kommune_code = o.kommune_code
        ORDER BY o.kommune_code, o.participant DESC, o.index_date, o.person_id
        """,
        "cohort_falls.parquet",
    )
    done("falls cohort")
    rows = {
        name: int(con.execute(f"SELECT count(*) FROM '{_q(out / name)}'").fetchone()[0])
        for name in OUTPUTS
    }
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "rows": rows,
        "period": (str(p0), str(p1)),
        "seconds": time.perf_counter() - t0,
        "stages": stages,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: ``floor_all.py RAW_DIR OUT_DIR``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory", default="4GB")
    a = ap.parse_args(argv)
    print(floor_all(a.raw_dir, a.out_dir, threads=a.threads, memory_limit=a.memory))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
