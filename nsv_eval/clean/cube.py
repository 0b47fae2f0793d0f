"""The analysis cube: population, person-time and event counts by kommune, month and strata.

``cube.parquet`` (monthly) has one row per ``kommune_code`` × ``year`` × ``month`` ×
``age_band`` × ``sex`` × ``education`` cell that has person-time or an event;
``cube_income.parquet`` (yearly) the same measures by ``kommune_code`` × ``year`` ×
``age_band`` × ``sex`` × ``income_quintile``. Unknown education is ``"ukendt"``; unknown
income quintile is null.

Measures
--------
``population``
    Persons alive on the 1st of the month: born on or before the 1st and not dead on or
    before the 1st (``birth_date <= 1st < death_date``); age band on the 1st. No moves: a
    person is resident in their kommune for life. In the yearly cube: alive on 1 January.
``person_years``
    Days alive in the month / 365.25, where a life covers the half-open interval
    ``[birth_date, death_date)`` (the usual exit - entry convention, so a life's months sum to
    ``(death_date - birth_date) / 365.25``). Person-time is split at the birthday on which
    the age band changes, so that numerators (age at the event) and denominators match.
``deaths``
    Deaths in the month, age band at death.
``admissions_acute``, ``admissions_short``, ``preventable``, ``fall_injury``,
``hip_fracture``, ``copd_acute``, ``diabetes_acute``, ``heart_failure_acute``
    Courses (see :mod:`nsv_eval.clean.flags`) by month of admission, age band at admission.
``readmit_index``, ``readmit_30d``
    Index discharges and those readmitted within 30 days, by month of the index
    *discharge*, age band at the index admission (the age that makes it an index).
``readmit_index_psych``, ``readmit_30d_psych``
    The same for psychiatric admissions (official definition: somatic and psychiatric
    apart; ``readmit_index``/``readmit_30d`` are then the somatic ones). Zero when the
    courses have no such columns (legacy definitions).
``copd_population``, ``diabetes_population``
    (With them, ``copd_acute``/``diabetes_acute`` are counted by the age band on 1 January
    of the admission year, the age band of the person in the denominator.)
    People in the disease cohort of the official ``copd_acute`` / ``diabetes_acute``
    definitions (18+, alive, a registration in the look-back) on 1 January, counted in the
    January row by age band on 1 January (table ``disease_pop`` of
    :mod:`nsv_eval.clean.official`; zero without it). Summed over a year's months it is the
    1 January head count; summed over years, person-years of the cohort.
``falls_registered``
    Rows of ``falls.parquet`` by month of ``fall_date``, age band on that date.
``home_care``
    Persons alive on the 1st with an active ``home_care`` episode on the 1st
    (``start_date <= 1st <= end_date``; a null end is ongoing). Yearly: on 1 January.

Only events inside the study period are counted. Counts are ``int64``; ``year`` is
``int16``, ``month`` ``int8``, ``kommune_code`` ``int16``.

How person-time scales
----------------------
Expanding 5.9 million persons to 180 months would be a billion rows. Instead each life is
cut into *age-band segments* (at most 4-5 per person over 15 years) and each segment
contributes a handful of difference-array rows: +1/-1 for "alive on the 1st" and for
"alive the whole month", plus the exact days of its partial first/last month. A cumulative
sum over months per stratum then gives population and person-time exactly, at a cost
proportional to persons × segments, not persons × months.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from nsv_eval.clean import _db
from nsv_eval.clean._db import Period, sql_date

EVENT_COLUMNS: tuple[str, ...] = (
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
    "readmit_index_psych",
    "readmit_30d_psych",
    "copd_population",
    "diabetes_population",
)
"""Event-count columns of both cubes, in order."""

_COURSE_EVENTS: dict[str, str] = {
    "admissions_acute": "acute",
    "admissions_short": "short_stay",
    "preventable": "preventable",
    "fall_injury": "fall_injury",
    "hip_fracture": "hip_fracture",
    "copd_acute": "copd_acute",
    "diabetes_acute": "diabetes_acute",
    "heart_failure_acute": "heart_failure_acute",
}

_MEASURES = [("population", pa.int64()), ("person_years", pa.float64())] + [
    (c, pa.int64()) for c in EVENT_COLUMNS
]

CUBE_SCHEMA = pa.schema(
    [
        ("kommune_code", pa.int16()),
        ("year", pa.int16()),
        ("month", pa.int8()),
        ("age_band", pa.string()),
        ("sex", pa.string()),
        ("education", pa.string()),
        *_MEASURES,
    ]
)

CUBE_INCOME_SCHEMA = pa.schema(
    [
        ("kommune_code", pa.int16()),
        ("year", pa.int16()),
        ("age_band", pa.string()),
        ("sex", pa.string()),
        ("income_quintile", pa.int8()),
        *_MEASURES,
    ]
)

UNKNOWN_EDUCATION = "ukendt"

_ATTRS = "kommune_code, sex_idx, edu_idx, inc"
"""Stratum columns of the intermediate tables, all integers (group-bys, the window, the full
outer join and the sort are several times faster on integer keys than on text keys; the text
labels of ``sex``, ``education`` and ``age_band`` are joined only in the final SELECT)."""


def _install_codes(con: duckdb.DuckDBPyConnection, courses: str) -> None:
    """Tables ``sex_codes`` (``sex``, ``sex_idx``) and ``edu_codes`` (``education``,
    ``edu_idx``) and macro ``band_idx_of(a)`` (``bands.band_idx`` of age ``a``).

    The codes number the distinct labels of ``persons_n`` and ``courses`` in sort order, so
    ordering by a code orders exactly as ordering by its label did.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sex_codes AS
        SELECT sex, CAST(row_number() OVER (ORDER BY sex) - 1 AS INTEGER) AS sex_idx
        FROM (SELECT sex FROM persons_n UNION SELECT sex FROM {courses})
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE edu_codes AS
        SELECT education,
               CAST(row_number() OVER (ORDER BY education) - 1 AS INTEGER) AS edu_idx
        FROM (SELECT coalesce(education, '{UNKNOWN_EDUCATION}') AS education FROM persons_n
              UNION SELECT coalesce(education, '{UNKNOWN_EDUCATION}') FROM {courses})
        """
    )
    bands = _db.band_table()
    whens = " ".join(
        f"WHEN a >= {int(lo)} THEN {int(i)}"
        for lo, i in zip(bands["age_lower"][::-1], bands["band_idx"][::-1], strict=True)
    )
    con.execute(f"CREATE OR REPLACE TEMP MACRO band_idx_of(a) AS (CASE {whens} ELSE NULL END)")


def stage_optional(con: duckdb.DuckDBPyConnection, present: dict[str, str | None]) -> None:
    """Create normalised views ``falls_n``, ``care_n`` (empty when the table is absent).

    ``present`` maps ``"falls"``/``"care"`` to a view name or None.
    """
    if src := present.get("falls"):
        _db.require_columns(con, src, ("person_id", "fall_date"), what="falls")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW falls_n AS SELECT CAST(person_id AS VARCHAR) "
            f"AS person_id, CAST(fall_date AS DATE) AS fall_date FROM {src} "
            "WHERE fall_date IS NOT NULL"
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW falls_n AS SELECT CAST(NULL AS VARCHAR) AS person_id, "
            "CAST(NULL AS DATE) AS fall_date WHERE false"
        )
    if src := present.get("care"):
        _db.require_columns(
            con, src, ("person_id", "service", "start_date", "end_date"), what="care"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW care_n AS SELECT CAST(person_id AS VARCHAR) "
            f"AS person_id, CAST(service AS VARCHAR) AS service, "
            f"CAST(start_date AS DATE) AS start_date, CAST(end_date AS DATE) AS end_date "
            f"FROM {src} WHERE start_date IS NOT NULL"
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW care_n AS SELECT CAST(NULL AS VARCHAR) AS person_id, "
            "CAST(NULL AS VARCHAR) AS service, CAST(NULL AS DATE) AS start_date, "
            "CAST(NULL AS DATE) AS end_date WHERE false"
        )


def _person_time_events(con: duckdb.DuckDBPyConnection, period: Period) -> None:
    """Table ``ev_pt``: difference-array rows of population/person-time per stratum."""
    p0, p1 = sql_date(period.start), sql_date(period.end_exclusive)
    # Each segment's (up to) five difference rows come from one pass over the segments, as
    # a list unnested straight into the group-by: the segments (23 million rows at scale
    # 1.0) are not materialised and scanned five times.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ev_pt AS
        WITH seg AS (
            WITH life AS (
                SELECT kommune_code, sc.sex_idx, ec.edu_idx,
                       CAST(coalesce(income_quintile, 0) AS TINYINT) AS inc,
                       birth_date AS b,
                       greatest(birth_date, {p0}) AS lo,
                       least(coalesce(death_date, {p1}), {p1}) AS hi
                FROM persons_n p
                JOIN sex_codes sc ON sc.sex = p.sex
                JOIN edu_codes ec ON ec.education = coalesce(p.education, '{UNKNOWN_EDUCATION}')
            ), l2 AS (
                SELECT *, age_at(b, lo) AS a_lo,
                       age_at(b, CAST(hi - INTERVAL 1 DAY AS DATE)) AS a_hi
                FROM life WHERE lo < hi
            ), l3 AS (
                -- the bands the life passes through, a_lo's to a_hi's (the bands are
                -- contiguous): generated per life and joined on their index, not found by an
                -- inequality join to the band table, which DuckDB ran as a piecewise merge
                -- join sorting every life (9 s of operator time at scale 1.0)
                SELECT *, unnest(generate_series(band_idx_of(a_lo), band_idx_of(a_hi))) AS bi
                FROM l2
            ), s AS (
                SELECT {_ATTRS}, bands.band_idx,
                       greatest(lo, birthday(b, bands.age_lower)) AS slo,
                       CASE WHEN bands.age_upper IS NULL THEN hi
                            ELSE least(hi, birthday(b, bands.age_upper)) END AS shi
                FROM l3 JOIN bands ON bands.band_idx = l3.bi
            )
            SELECT *,
                   midx(slo) AS kl,
                   midx(CAST(shi - INTERVAL 1 DAY AS DATE)) AS kh,
                   midx(CAST(slo - INTERVAL 1 DAY AS DATE)) + 1 AS kf,
                   midx(shi) - 1 AS kt
            FROM s WHERE slo < shi
        ), d AS (
            SELECT {_ATTRS}, band_idx, unnest([
                CASE WHEN kf <= kh THEN {{'k': kf, 'dpop': 1,
                     'dfull': CASE WHEN kf <= kt THEN 1 ELSE 0 END, 'pdays': 0}} END,
                CASE WHEN kf <= kh THEN {{'k': kh + 1, 'dpop': -1, 'dfull': 0, 'pdays': 0}} END,
                CASE WHEN kf <= kt THEN {{'k': kt + 1, 'dpop': 0, 'dfull': -1, 'pdays': 0}} END,
                -- partial first month (segment starts after the 1st)
                CASE WHEN kf > kl THEN {{'k': kl, 'dpop': 0, 'dfull': 0,
                     'pdays': date_diff('day', slo,
                                        least(shi, CAST(date_trunc('month', slo)
                                                        + INTERVAL 1 MONTH AS DATE)))}} END,
                -- partial last month (segment ends before the next 1st)
                CASE WHEN kt < kh AND kh >= kf THEN {{'k': kh, 'dpop': 0, 'dfull': 0,
                     'pdays': date_diff('day',
                                        CAST(date_trunc('month', shi - INTERVAL 1 DAY) AS DATE),
                                        shi)}} END
            ]) AS r
            FROM seg
        )
        SELECT {_ATTRS}, band_idx, r.k AS k, CAST(sum(r.dpop) AS BIGINT) AS dpop,
               CAST(sum(r.dfull) AS BIGINT) AS dfull, CAST(sum(r.pdays) AS BIGINT) AS pdays
        FROM d WHERE r IS NOT NULL
        GROUP BY ALL
        """
    )


def _event_counts(
    con: duckdb.DuckDBPyConnection, period: Period, courses: str, disease_pop: str | None = None
) -> None:
    """Table ``ev_cnt``: event counts per stratum × age band × month index ``k``."""
    p0, p1 = sql_date(period.start), sql_date(period.end_exclusive)
    # Counts are stored as INTEGER (a cell's count is far below 2^31; a cast that does not
    # fit raises): summed into 128-bit HUGEINTs by default, the 17 count columns of the
    # ~7.6 million cells took ~2 GB of DuckDB's 4 GB at scale 1.0 and every later step of
    # the cube spilled to disk.
    zero = {c: "CAST(0 AS INTEGER)" for c in EVENT_COLUMNS}

    def sel(attrs: str, band: str, k: str, values: dict[str, str], rest: str) -> str:
        # Each kind of event is counted per cell on its own (only its own measures summed)
        # before the kinds are stacked: grouping the ~40 million raw event rows of the
        # national data at once, each carrying every measure column, spilled GBs to disk.
        cols = ", ".join(
            f"CAST(sum({values[c]}) AS INTEGER) AS {c}" if c in values else f"{zero[c]} AS {c}"
            for c in EVENT_COLUMNS
        )
        return (
            f"SELECT {attrs}, {band} AS band_idx, {k} AS k, {cols} {rest} GROUP BY 1, 2, 3, 4, 5, 6"
        )

    # Strata as integer codes (see _ATTRS); ``*_codes`` joins map the labels.
    p_attrs = (
        "p.kommune_code, sc.sex_idx, ec.edu_idx, "
        "CAST(coalesce(p.income_quintile, 0) AS TINYINT) AS inc"
    )
    p_codes = (
        "JOIN sex_codes sc ON sc.sex = p.sex "
        f"JOIN edu_codes ec ON ec.education = coalesce(p.education, '{UNKNOWN_EDUCATION}')"
    )
    c_attrs = (
        "c.kommune_code, sc.sex_idx, ec.edu_idx, "
        "CAST(coalesce(c.income_quintile, 0) AS TINYINT) AS inc"
    )
    c_from = (
        f"FROM {courses} c JOIN sex_codes sc ON sc.sex IS NOT DISTINCT FROM c.sex "
        f"JOIN edu_codes ec ON ec.education = coalesce(c.education, '{UNKNOWN_EDUCATION}') "
        "LEFT JOIN bands b ON b.age_band = c.age_band"
    )
    have = set(_db.columns_of(con, courses))
    # with disease cohorts (official copd_acute / diabetes_acute) their admissions are
    # counted by the age band on 1 January, like their denominators
    cohort_events = ("copd_acute", "diabetes_acute") if disease_pop is not None else ()
    psych, psych_where = {}, ""
    if {"readmit_index_psych", "readmit_30d_psych"} <= have:
        psych = {
            "readmit_index_psych": "c.readmit_index_psych::INT",
            "readmit_30d_psych": "c.readmit_30d_psych::INT",
        }
        psych_where = " OR c.readmit_index_psych"
    parts = [
        sel(
            p_attrs,
            "band_idx_of(age_at(p.birth_date, p.death_date))",
            "midx(p.death_date)",
            {"deaths": "1"},
            f"FROM persons_n p {p_codes} WHERE p.death_date >= {p0} AND p.death_date < {p1}",
        ),
        sel(
            c_attrs,
            "b.band_idx",
            "midx(CAST(c.admit_time AS DATE))",
            {k: f"c.{v}::INT" for k, v in _COURSE_EVENTS.items() if k not in cohort_events},
            f"{c_from} WHERE CAST(c.admit_time AS DATE) >= {p0} "
            f"AND CAST(c.admit_time AS DATE) < {p1}",
        ),
        sel(
            c_attrs,
            "b.band_idx",
            "midx(CAST(c.discharge_time AS DATE))",
            {
                "readmit_index": "c.readmit_index::INT",
                "readmit_30d": "c.readmit_30d::INT",
                **psych,
            },
            f"{c_from} WHERE c.readmit_index{psych_where}",
        ),
        sel(
            p_attrs,
            "band_idx_of(age_at(p.birth_date, f.fall_date))",
            "midx(f.fall_date)",
            {"falls_registered": "1"},
            f"FROM falls_n f JOIN persons_n p USING (person_id) {p_codes} "
            f"WHERE f.fall_date >= {p0} AND f.fall_date < {p1}",
        ),
        sel(
            p_attrs,
            "band_idx_of(age_at(p.birth_date, mo.ms))",
            "p.k",
            {"home_care": "1"},
            _home_care_months(period.n_months) + " " + p_codes,
        ),
    ]
    if cohort_events:
        # admissions of a disease cohort: age band on 1 January of the admission year, the
        # age of the person in the denominator (copd_population / diabetes_population)
        parts.append(
            sel(
                c_attrs,
                "band_idx_of(age_at(p.birth_date, make_date(year(c.admit_time), 1, 1)))",
                "midx(CAST(c.admit_time AS DATE))",
                {k: f"c.{k}::INT" for k in cohort_events},
                f"{c_from} JOIN persons_n p ON p.person_id = c.person_id "
                f"WHERE ({' OR '.join(f'c.{k}' for k in cohort_events)}) "
                f"AND CAST(c.admit_time AS DATE) >= {p0} "
                f"AND CAST(c.admit_time AS DATE) < {p1}",
            )
        )
    if disease_pop is not None:
        # disease-cohort head counts on 1 January (counted in the January row)
        for disease in ("copd", "diabetes"):
            parts.append(
                sel(
                    p_attrs,
                    "band_idx_of(d.age)",
                    "midx(make_date(d.year, 1, 1))",
                    {f"{disease}_population": "1"},
                    f"FROM {disease_pop} d JOIN persons_n p USING (person_id) {p_codes} "
                    f"WHERE d.disease = '{disease}' AND make_date(d.year, 1, 1) >= {p0} "
                    f"AND make_date(d.year, 1, 1) < {p1}",
                )
            )
    sums = ", ".join(f"CAST(sum({c}) AS INTEGER) AS {c}" for c in EVENT_COLUMNS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ev_cnt AS SELECT {_ATTRS}, band_idx, k, {sums} "
        f"FROM ({' UNION ALL '.join(parts)}) GROUP BY ALL"
    )


def _home_care_months(n_months: int) -> str:
    """SQL ``FROM`` clause: one row per person alive on the 1st of month ``k`` with an active
    ``home_care`` episode on that day (``start_date <= 1st <= end_date``; null end: ongoing),
    with the person's columns (alias ``p``) and the month (alias ``mo``).

    A person's episodes are first merged into disjoint runs of months (a window over the
    episodes), and only then joined to the person and expanded to months, clipped to the
    months the person is alive on the 1st (born on or before it, not dead on or before it):
    expanding every episode first and removing the doubles with ``DISTINCT`` made ~23
    million rows at national scale, each joined to the person table.
    """
    last = int(n_months) - 1
    return f"""FROM (
            WITH e AS (
                SELECT person_id,
                       greatest(midx(CAST(start_date - INTERVAL 1 DAY AS DATE)) + 1, 0) AS a,
                       least(midx(coalesce(end_date, DATE '9999-12-31')), {last}) AS b
                FROM care_n WHERE service = 'home_care'
                  AND (end_date IS NULL OR end_date >= start_date)
            ), r AS (
                SELECT person_id, a, b,
                       max(b) OVER (PARTITION BY person_id ORDER BY a, b
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_b
                FROM e WHERE a <= b
            ), g AS (
                SELECT person_id, a, b,
                       sum(CASE WHEN prev_b IS NULL OR a > prev_b + 1 THEN 1 ELSE 0 END) OVER (
                           PARTITION BY person_id ORDER BY a, b
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run
                FROM r
            ), merged AS (
                SELECT person_id, min(a) AS a, max(b) AS b FROM g GROUP BY person_id, run
            )
            SELECT p.*, unnest(generate_series(
                       greatest(h.a, midx(CAST(p.birth_date - INTERVAL 1 DAY AS DATE)) + 1),
                       CASE WHEN p.death_date IS NULL THEN h.b
                            ELSE least(h.b, midx(CAST(p.death_date - INTERVAL 1 DAY AS DATE)))
                       END)) AS k
            FROM merged h JOIN persons_n p USING (person_id)
        ) p
        JOIN months mo USING (k)"""


def _runs(keys: str, n_months: int) -> str:
    """SQL CTEs ``e``, ``c``: per ``keys`` × ``band_idx``, the months ``k`` where population or
    full-month count change (``ev_pt`` summed over the other strata), with the running
    population ``pop``, full-month count ``nfull``, the partial days ``pdays`` of month ``k``
    and the next change ``k_next`` (``n_months`` after the last)."""
    return f"""e AS (
            SELECT {keys}, band_idx, k, sum(dpop) AS dpop, sum(dfull) AS dfull,
                   sum(pdays) AS pdays
            FROM ev_pt GROUP BY ALL
        ), c AS (
            SELECT {keys}, band_idx, k, pdays,
                   sum(dpop) OVER w AS pop, sum(dfull) OVER w AS nfull,
                   lead(k, 1, {n_months}) OVER w0 AS k_next
            FROM e
            WINDOW w0 AS (PARTITION BY {keys}, band_idx ORDER BY k),
                   w AS (PARTITION BY {keys}, band_idx ORDER BY k
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )"""


def _dense_person_time(keys: str, n_months: int) -> str:
    """SQL: population and days alive per ``keys`` × ``band_idx`` × month from ``ev_pt``.

    Days stay integers until the final division by 365.25, so sums do not depend on the
    (parallel) summation order and the output is byte-for-byte reproducible.

    The cumulative sums are taken over the sparse difference rows only; each row then
    stands for the months up to the next row of its stratum (``generate_series``), so no
    dense grid has to be joined. Months in which the stratum has nobody are not generated.
    """
    return f"""
        WITH {_runs(keys, n_months)}, x AS (
            SELECT {keys}, band_idx, pop, nfull, pdays, k AS k_i,
                   unnest(generate_series(
                       k, CASE WHEN pop > 0 OR nfull > 0
                               THEN least(k_next, {n_months}) - 1 ELSE k END)) AS k
            FROM c WHERE k < {n_months}
        ), y AS (
            SELECT x.*, nfull * m.ndays + CASE WHEN k = k_i THEN pdays ELSE 0 END AS days
            FROM x JOIN months m USING (k)
        )
        SELECT {keys}, band_idx, k, CAST(pop AS BIGINT) AS population,
               CAST(days AS BIGINT) AS days
        FROM y WHERE pop > 0 OR days > 0
    """


def _yearly_person_time(keys: str, period: Period) -> str:
    """SQL: population on 1 January and days alive per ``keys`` × ``band_idx`` × year.

    The same numbers as summing :func:`_dense_person_time`'s months over each calendar year
    (population: the January month's; a year without January in the period has none), but
    without making the months: each run of months of constant population and full-month
    count (the cumulative difference rows) is cut at year ends, and its days are the run's
    full-month count times the days of its months in that year (a date difference), plus
    the partial days of its first month. Days stay integers, so the sums equal the monthly
    ones exactly and the file is byte-identical to the monthly route's.
    """
    n = period.n_months
    p0 = sql_date(period.start)
    return f"""
        WITH {_runs(keys, n)}, r AS (
            -- the months the monthly route makes of this row: [k, k_end)
            SELECT {keys}, band_idx, k, pdays, pop, nfull,
                   CASE WHEN pop > 0 OR nfull > 0 THEN least(k_next, {n}) ELSE k + 1 END
                       AS k_end
            FROM c
            WHERE k < {n} AND (pop > 0 OR nfull > 0 OR pdays > 0)
        ), yrs AS (
            SELECT year, min(k) AS k0, max(k) + 1 AS k1,
                   min(k) FILTER (WHERE month = 1) AS kjan
            FROM months GROUP BY year
        ), ry AS (
            SELECT r.*, yrs.year, yrs.kjan,
                   greatest(r.k, yrs.k0) AS a, least(r.k_end, yrs.k1) AS b
            FROM r JOIN yrs ON yrs.k0 < r.k_end AND yrs.k1 > r.k
        )
        SELECT {keys}, band_idx, year,
               CAST(sum(pop) FILTER (WHERE kjan >= a AND kjan < b) AS BIGINT) AS population,
               CAST(sum(nfull * date_diff('day', CAST({p0} + to_months(a) AS DATE),
                                              CAST({p0} + to_months(b) AS DATE))
                        + CASE WHEN a = k THEN pdays ELSE 0 END) AS BIGINT) AS days
        FROM ry GROUP BY ALL
    """


def cube_sql(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    courses: str = "courses",
    disease_pop: str | None = None,
) -> None:
    """Compute tables ``ev_pt`` and ``ev_cnt`` (call before :func:`cube_query`).

    ``disease_pop``: a table of disease-cohort members (``person_id``, ``year``, ``age``,
    ``disease``; :func:`nsv_eval.clean.official.flag_sql`) for the cohort denominators.
    """
    _install_codes(con, courses)
    _person_time_events(con, period)
    _event_counts(con, period, courses, disease_pop)


def cube_query(period: Period, *, income: bool = False) -> str:
    """SQL of the monthly cube (``income=False``) or the yearly income cube, ordered."""
    keys = "kommune_code, sex_idx, inc" if income else "kommune_code, sex_idx, edu_idx"
    ev_sums = ", ".join(f"sum({c}) AS {c}" for c in EVENT_COLUMNS)
    monthly = f"""
        SELECT *
        FROM ({_dense_person_time(keys, period.n_months)}) pt
        FULL OUTER JOIN (SELECT {keys}, band_idx, k, {ev_sums} FROM ev_cnt GROUP BY ALL) ev
        USING ({keys}, band_idx, k)
    """
    measures = ", ".join(f"coalesce({c}, 0) AS {c}" for c in EVENT_COLUMNS)
    if not income:
        return f"""
            SELECT x.kommune_code, m.year, m.month, b.age_band, sc.sex, ec.education,
                   coalesce(x.population, 0) AS population,
                   coalesce(x.days, 0) / 365.25 AS person_years, {measures}
            FROM ({monthly}) x JOIN months m USING (k)
            LEFT JOIN bands b USING (band_idx)
            JOIN sex_codes sc USING (sex_idx)
            JOIN edu_codes ec USING (edu_idx)
            ORDER BY x.kommune_code, m.year, m.month, x.band_idx, x.sex_idx, x.edu_idx
        """
    jan = ", ".join(
        f"sum({c}) FILTER (WHERE m.month = 1) AS {c}" if c == "home_care" else f"sum({c}) AS {c}"
        for c in EVENT_COLUMNS
    )
    # person-time straight to years (_yearly_person_time), events summed by year
    return f"""
        SELECT y.kommune_code, y.year, b.age_band, sc.sex,
               CASE WHEN y.inc = 0 THEN NULL ELSE y.inc END AS income_quintile,
               coalesce(y.population, 0) AS population,
               coalesce(y.days, 0) / 365.25 AS person_years, {measures}
        FROM (
            SELECT *
            FROM ({_yearly_person_time(keys, period)}) pt
            FULL OUTER JOIN (
                SELECT x.kommune_code, x.sex_idx, x.inc, x.band_idx, m.year, {jan}
                FROM ev_cnt x JOIN months m USING (k)
                GROUP BY ALL
            ) ev USING ({keys}, band_idx, year)
        ) y LEFT JOIN bands b USING (band_idx) JOIN sex_codes sc USING (sex_idx)
        ORDER BY y.kommune_code, y.year, y.band_idx, y.sex_idx, y.inc
    """


def build_cube(
    persons: _db.TableLike,
    courses: _db.TableLike,
    *,
    period: Period | tuple,
    falls: _db.TableLike | None = None,
    care: _db.TableLike | None = None,
    income: bool = False,
) -> pd.DataFrame:
    """Build the analysis cube (definitions in the module docstring).

    Parameters
    ----------
    persons : pandas.DataFrame or path
        Person table (raw layout).
    courses : pandas.DataFrame or path
        Flagged courses (:func:`nsv_eval.clean.flag_courses`).
    period : Period or (start, end)
        Study period in whole months.
    falls, care : pandas.DataFrame or path, optional
        Registered falls and municipal care; absent tables count as empty.
    income : bool, default False
        False: the monthly cube by education (``cube.parquet``); True: the yearly cube by
        income quintile (``cube_income.parquet``).

    Returns
    -------
    pandas.DataFrame
        The cube, ordered by its key columns, with contract dtypes.
    """
    period = Period.coerce(period)
    from nsv_eval.clean.flags import stage_persons

    con = _db.connect()
    try:
        _db.install_period(con, period)
        _db.register(con, "persons_in", persons)
        stage_persons(con, "persons_in")
        _db.register(con, "courses", courses)
        present: dict[str, str | None] = {"falls": None, "care": None}
        if falls is not None:
            _db.register(con, "falls_in", falls)
            present["falls"] = "falls_in"
        if care is not None:
            _db.register(con, "care_in", care)
            present["care"] = "care_in"
        stage_optional(con, present)
        cube_sql(con, period)
        schema = CUBE_INCOME_SCHEMA if income else CUBE_SCHEMA
        return _db.fetch_df(con, cube_query(period, income=income), schema)
    finally:
        con.close()
