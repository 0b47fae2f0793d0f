"""The floor: one hand-written DuckDB SQL pipeline from raw Parquet to the monthly cube.

No validation, no quarantine, no pseudonymisation, no manifest, no courses/cohort outputs:
read the raw extracts, chain contacts into courses (4-hour rule), flag the courses, build
``cube.parquet`` (kommune × year × month × age band × sex × education) with the definitions
of ``nsv_eval.clean`` (module docstrings of ``courses``, ``flags`` and ``cube``), write it.

Person-time is computed the way a competent SQL user writes it directly: each life is cut
into age-band segments and each segment is joined to the calendar months it overlaps
(a range join, about persons × months rows), then summed. This is deliberately *not* the
difference-array algorithm of ``nsv_eval.clean.cube``, so the floor is an independent
implementation of the same definitions.

The diagnosis flags are computed once per distinct code with ``nsv_eval.reference`` (the
code lists live there; a few hundred codes), everything else is SQL.

Usage::

    .venv/bin/python bench/floor_duckdb.py RAW_DIR OUT.parquet [--threads 2] [--memory 4GB]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
import pandas as pd

from nsv_eval import reference
from nsv_eval.definitions import codelists

AGE_BAND_LABELS = list(reference.AGE_BANDS)

MACROS = """
CREATE OR REPLACE TEMP MACRO age_at(b, t) AS
    year(t) - year(b)
    - CASE WHEN month(t) < month(b) OR (month(t) = month(b) AND day(t) < day(b)) THEN 1 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO birthday(b, a) AS
    CASE WHEN month(b) = 2 AND day(b) = 29
              AND NOT ((year(b) + a) % 4 = 0 AND ((year(b) + a) % 100 <> 0 OR (year(b) + a) % 400 = 0))
         THEN make_date(CAST(year(b) + a AS BIGINT), 3, 1)
         ELSE make_date(CAST(year(b) + a AS BIGINT), month(b), day(b)) END;
CREATE OR REPLACE TEMP MACRO band_idx(a) AS least(a // 5, 19);
"""


def _dx_table(con: duckdb.DuckDBPyConnection) -> None:
    codes = con.execute("SELECT DISTINCT diagnosis FROM contacts WHERE diagnosis IS NOT NULL").df()
    s = codes["diagnosis"].astype("string")
    dx = pd.DataFrame({"diagnosis": s})
    dx["medical"] = codelists.is_medical(s).to_numpy(bool)
    for col, key in [
        ("dx_prev", "preventable"),
        ("dx_fall", "fall_injury"),
        ("dx_hip", "hip_fracture"),
        ("dx_copd", "copd"),
        ("dx_diab", "diabetes"),
        ("dx_hf", "heart_failure"),
    ]:
        dx[col] = codelists.ICD10[key].matches(s).to_numpy(bool)
    con.register("dx_df", dx)
    con.execute("CREATE TEMP TABLE dx AS SELECT * FROM dx_df")


def floor_cube(
    raw_dir: str | Path, out_path: str | Path, *, threads: int = 2, memory_limit: str = "4GB"
) -> dict:
    """Compute the monthly cube from ``raw_dir`` with plain DuckDB SQL into ``out_path``.

    Returns
    -------
    dict
        ``{"rows": cube rows, "period": (start, end), "seconds": wall time, "stages":
        {stage: seconds}}``.
    """
    t0 = time.perf_counter()
    raw = Path(raw_dir)
    out_path = Path(out_path)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET temp_directory = '{out_path.parent / (out_path.name + '.tmp')}'")
    con.execute(MACROS)
    stages: dict[str, float] = {}
    t_stage = time.perf_counter()

    def done(name: str) -> None:
        nonlocal t_stage
        stages[name] = round(time.perf_counter() - t_stage, 3)
        t_stage = time.perf_counter()

    con.execute(f"CREATE TEMP VIEW contacts AS SELECT * FROM '{raw / 'contacts.parquet'}'")
    con.execute(
        f"""CREATE TEMP TABLE persons AS
        SELECT person_id, CAST(kommune_code AS SMALLINT) AS kommune_code,
               CAST(birth_date AS DATE) AS birth_date, sex,
               coalesce(education, 'ukendt') AS education, CAST(death_date AS DATE) AS death_date
        FROM '{raw / "persons.parquet"}'"""
    )
    _dx_table(con)
    done("read persons, diagnosis flags")
    # 1. chain contacts into courses: a contact starts a new course when it is admitted
    #    more than 4 h after the running maximum discharge of the earlier contacts.
    con.execute(
        """
        CREATE TEMP TABLE courses AS
        WITH w AS (
            SELECT person_id, contact_id, admit_time, discharge_time, acute, diagnosis,
                   max(discharge_time) OVER (PARTITION BY person_id ORDER BY admit_time, contact_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS pm
            FROM contacts
        ), n AS (
            SELECT *, sum(CASE WHEN pm IS NULL OR admit_time > pm + INTERVAL 4 HOUR THEN 1 ELSE 0 END)
                      OVER (PARTITION BY person_id ORDER BY admit_time, contact_id
                            ROWS UNBOUNDED PRECEDING) AS cno
            FROM w
        )
        SELECT person_id, min(admit_time) AS admit_time, max(discharge_time) AS discharge_time,
               arg_min_null(acute, (admit_time, contact_id)) AS acute,
               arg_min_null(diagnosis, (admit_time, contact_id)) AS diagnosis
        FROM n GROUP BY person_id, cno
        """
    )
    done("chain contacts into courses")
    lo, hi = con.execute("SELECT min(admit_time), max(admit_time) FROM courses").fetchone()
    p0 = lo.date().replace(day=1)
    p1 = (pd.Timestamp(hi.date()) + pd.offsets.MonthBegin(1)).date()  # exclusive end
    n_months = (p1.year - p0.year) * 12 + p1.month - p0.month
    con.execute(
        f"""CREATE TEMP TABLE months AS
        SELECT CAST(k AS INTEGER) AS k, CAST(DATE '{p0}' + to_months(k) AS DATE) AS ms,
               CAST(DATE '{p0}' + to_months(k + 1) AS DATE) AS me1
        FROM range({n_months}) t(k)"""
    )
    midx = f"((year(d) - {p0.year}) * 12 + month(d) - {p0.month})"
    con.execute(f"CREATE TEMP MACRO midx(d) AS {midx}")
    # 2. flag courses (person attributes, age at admission, outcome flags, readmission).
    con.execute(
        f"""
        CREATE TEMP TABLE cf AS
        WITH c AS (
            SELECT c.person_id, c.admit_time, c.discharge_time, c.acute,
                   p.kommune_code, p.sex, p.education,
                   band_idx(age_at(p.birth_date, CAST(c.admit_time AS DATE))) AS bi,
                   age_at(p.birth_date, CAST(c.admit_time AS DATE)) AS age,
                   coalesce(p.death_date <= CAST(c.discharge_time AS DATE), false) AS died,
                   coalesce(d.medical, false) AS medical, coalesce(d.dx_prev, false) AS dx_prev,
                   coalesce(d.dx_fall, false) AS dx_fall, coalesce(d.dx_hip, false) AS dx_hip,
                   coalesce(d.dx_copd, false) AS dx_copd, coalesce(d.dx_diab, false) AS dx_diab,
                   coalesce(d.dx_hf, false) AS dx_hf
            FROM courses c JOIN persons p USING (person_id)
            LEFT JOIN dx d ON d.diagnosis = c.diagnosis
        ), a AS (
            SELECT *, lead(admit_time) OVER (PARTITION BY person_id ORDER BY admit_time) AS nxt
            FROM c WHERE acute
        ), f AS (
            SELECT c.*, a.nxt,
                   c.acute AND c.medical AND c.age >= 65 AND NOT c.died
                   AND CAST(c.discharge_time AS DATE) >= DATE '{p0}'
                   AND CAST(c.discharge_time AS DATE) <= DATE '{p1}' - INTERVAL 1 DAY
                                                         - INTERVAL 30 DAY AS idx
            FROM c LEFT JOIN a USING (person_id, admit_time)
        )
        SELECT kommune_code, sex, education, bi, admit_time, discharge_time, acute,
               acute AND epoch(discharge_time - admit_time) < 24 * 3600 AS short,
               acute AND age >= 65 AND dx_prev AS prev, acute AND dx_fall AS fall,
               acute AND dx_hip AS hip, acute AND dx_copd AS copd, acute AND dx_diab AS diab,
               acute AND dx_hf AS hf, idx,
               coalesce(idx AND nxt <= discharge_time + INTERVAL 30 DAY, false) AS r30
        FROM f
        """
    )
    done("flag courses")
    # 3. the cube: person-time by range join of age-band segments to months, events by month.
    con.execute(
        f"""
        COPY (
        WITH life AS (
            SELECT kommune_code, sex, education, birth_date AS b,
                   greatest(birth_date, DATE '{p0}') AS lo,
                   least(coalesce(death_date, DATE '{p1}'), DATE '{p1}') AS hi
            FROM persons
        ), seg AS (
            SELECT kommune_code, sex, education, bi,
                   greatest(lo, birthday(b, 5 * bi)) AS slo,
                   CASE WHEN bi = 19 THEN hi ELSE least(hi, birthday(b, 5 * bi + 5)) END AS shi
            FROM life, range(20) r(bi)
            WHERE lo < hi AND bi BETWEEN band_idx(age_at(b, lo))
                                     AND band_idx(age_at(b, CAST(hi - INTERVAL 1 DAY AS DATE)))
        ), pt AS (
            SELECT kommune_code, sex, education, bi, m.k,
                   sum(CASE WHEN slo <= m.ms THEN 1 ELSE 0 END) AS population,
                   sum(date_diff('day', greatest(slo, m.ms), least(shi, m.me1))) AS days
            FROM seg JOIN months m ON m.ms < seg.shi AND m.me1 > seg.slo
            WHERE slo < shi
            GROUP BY ALL
        ), ev AS (
            SELECT kommune_code, sex, education, bi, k,
                   sum(deaths) AS deaths, sum(acu) AS admissions_acute,
                   sum(short) AS admissions_short, sum(prev) AS preventable,
                   sum(fall) AS fall_injury, sum(hip) AS hip_fracture, sum(copd) AS copd_acute,
                   sum(diab) AS diabetes_acute, sum(hf) AS heart_failure_acute,
                   sum(idx) AS readmit_index, sum(r30) AS readmit_30d,
                   sum(falls) AS falls_registered, sum(hc) AS home_care
            FROM (
                SELECT kommune_code, sex, education,
                       band_idx(age_at(birth_date, death_date)) AS bi, midx(death_date) AS k,
                       1 AS deaths, 0 AS acu, 0 AS short, 0 AS prev, 0 AS fall, 0 AS hip,
                       0 AS copd, 0 AS diab, 0 AS hf, 0 AS idx, 0 AS r30, 0 AS falls, 0 AS hc
                FROM persons WHERE death_date >= DATE '{p0}' AND death_date < DATE '{p1}'
                UNION ALL
                SELECT kommune_code, sex, education, bi, midx(CAST(admit_time AS DATE)),
                       0, acute::INT, short::INT, prev::INT, fall::INT, hip::INT, copd::INT,
                       diab::INT, hf::INT, 0, 0, 0, 0
                FROM cf WHERE CAST(admit_time AS DATE) >= DATE '{p0}'
                          AND CAST(admit_time AS DATE) < DATE '{p1}'
                UNION ALL
                SELECT kommune_code, sex, education, bi, midx(CAST(discharge_time AS DATE)),
                       0, 0, 0, 0, 0, 0, 0, 0, 0, 1, r30::INT, 0, 0
                FROM cf WHERE idx
                UNION ALL
                SELECT p.kommune_code, p.sex, p.education, band_idx(age_at(p.birth_date, f.fall_date)),
                       midx(f.fall_date), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0
                FROM '{raw / "falls.parquet"}' f JOIN persons p USING (person_id)
                WHERE f.fall_date >= DATE '{p0}' AND f.fall_date < DATE '{p1}'
                UNION ALL
                SELECT kommune_code, sex, education, band_idx(age_at(birth_date, ms)), k,
                       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
                FROM (
                    SELECT DISTINCT p.kommune_code, p.sex, p.education, p.birth_date, m.ms, m.k,
                           c.person_id
                    FROM '{raw / "care.parquet"}' c JOIN persons p USING (person_id)
                    JOIN months m ON m.ms >= c.start_date
                                 AND (c.end_date IS NULL OR m.ms <= c.end_date)
                    WHERE c.service = 'home_care' AND c.start_date IS NOT NULL
                      AND p.birth_date <= m.ms
                      AND (p.death_date IS NULL OR p.death_date > m.ms)
                )
            ) GROUP BY ALL
        )
        SELECT CAST(kommune_code AS SMALLINT) AS kommune_code,
               CAST(year(m.ms) AS SMALLINT) AS year, CAST(month(m.ms) AS TINYINT) AS month,
               {AGE_BAND_LABELS!r}[bi + 1] AS age_band, sex, education,
               coalesce(population, 0)::BIGINT AS population,
               coalesce(days, 0) / 365.25 AS person_years,
               {
            ", ".join(
                f"coalesce({c}, 0)::BIGINT AS {c}"
                for c in [
                    "deaths",
                    "admissions_acute",
                    "admissions_short",
                    "preventable",
                    "fall_injury",
                    "hip_fracture",
                    "copd_acute",
                    "diabetes_acute",
                    "heart_failure_acute",
                    "readmit_index",
                    "readmit_30d",
                    "falls_registered",
                    "home_care",
                ]
            )
        }
        FROM (SELECT * FROM pt WHERE population > 0 OR days > 0) pt
        FULL OUTER JOIN ev USING (kommune_code, sex, education, bi, k)
        JOIN months m USING (k)
        ORDER BY kommune_code, year, month, bi, sex, education
        ) TO '{out_path}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    done("cube (person-time, events, write)")
    rows = con.execute(f"SELECT count(*) FROM '{out_path}'").fetchone()[0]
    con.close()
    return {
        "rows": int(rows),
        "period": (str(p0), str(p1)),
        "seconds": time.perf_counter() - t0,
        "stages": stages,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: ``floor_duckdb.py RAW_DIR OUT.parquet``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw_dir")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory", default="4GB")
    a = ap.parse_args(argv)
    print(floor_cube(a.raw_dir, a.out, threads=a.threads, memory_limit=a.memory))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
