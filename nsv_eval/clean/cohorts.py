"""Person-level cohorts for the effect studies.

``cohort_readmission.parquet`` — one row per index discharge
    (:mod:`nsv_eval.clean.flags` defines index and readmission). Covariates at the index:
    age and age band at admission, sex, education, income quintile, living alone, region;
    ``home_care`` / ``home_nursing``: an episode of that service active on the discharge
    date (``start_date <= date <= end_date``, null end = ongoing);
    ``prior_admissions_365d``: acute courses admitted in the 365 days before the index
    admission (``[admit - 365 d, admit)``); ``los_days``: length of stay in days.
    Exposure: ``followup_visit`` — an ``interventions`` row ``followup_visit`` for the person
    dated 0-7 days after the discharge date (inclusive); ``followup_days`` is the day of the
    first such visit (use it for landmark analyses: a visit on day 5 cannot prevent a
    readmission on day 2).
    Outcome: ``event`` 1 = acute readmission within 30 days, 2 = death within 30 days without
    readmission (competing), 0 = censored at 30 days; ``time`` = days to the first of these
    (readmission: fractional days since discharge; death: whole days from the discharge
    date; 30 when censored). Follow-up is always complete (the index definition requires
    30 observed days).

``cohort_falls.parquet`` — the falls-prevention programme (*faldforebyggelse*)
    Kommuner with a ``falls_programme`` start date in ``rollout`` contribute persons aged
    65+ who live there (no moves: all their residents) and are alive on the index date,
    which must be on or after the kommune's start and within the study period.

    * Participants: persons with a ``falls_programme`` row in ``interventions``; index date =
      their first participation date.
    * Non-participants (controls) follow a *sequential target trial* (Hernán & Robins 2016):
      at every trial date, residents who are eligible and have *not yet* joined are
      controls, whether or not they join later (the earlier design took controls only among
      people who never joined, which conditions on the future). Each resident gets the
      index date of a participant of the *same kommune*, chosen deterministically by a hash
      of the person id (md5 of ``person_id + ":falls"`` modulo the number of participants,
      over the participants ordered by index date and person id), so the trials are
      frequency-matched to the participants' calendar dates; a resident is a control if on
      that date they are alive, 65+ and their own participation (if any) lies after it. A
      control who joins during follow-up is censored on the day of joining
      (``censored_join``; events from that day on count for neither arm). A later
      participant can thus appear twice: once as a control before joining and once as a
      participant. Kommuner without participants contribute none (there is no date
      distribution to copy).

    Covariates at the index date: age, age band, sex, education, income quintile, living
    alone, region, ``home_care`` (active on the index date), ``prior_falls_365d`` (registered
    falls in ``[index - 365 d, index)``), ``prior_fall_injury_365d`` (fall-injury courses
    admitted in that window), ``prior_admissions_365d`` (acute courses admitted in that
    window). Outcome within 365 days after the index date (days 1-365): ``event`` 1 = first
    fall-injury admission, 2 = death without a fall injury, 0 = censored at 365 days or at
    the end of the study period, whichever is first; ``time`` in whole days;
    ``event``/``time`` are *per protocol*: a control is censored on joining
    (``censored_join``). The binary flags are the trial's *intention-to-treat* analogue
    (Hernán et al. 2008; Danaei et al. 2013), following everyone for 365 days whether or not
    a control joins later, so that a risk comparison without censoring weights is unbiased
    for its estimand (joining controls dilute it towards no effect):
    ``fall_injury_365d`` = a fall-injury admission within 365 days (and the period);
    ``death_365d`` = died within 365 days (and the period), whether or not a fall injury
    came first; ``nc_admission_365d``: the *negative-control outcome*, an acute admission
    without a fall-injury diagnosis within 365 days (the programme targets falls, so an
    "effect" on it exposes confounding, e.g. by unrecorded frailty).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from nsv_eval import reference
from nsv_eval.clean import _db
from nsv_eval.clean._db import Period, sql_date
from nsv_eval.clean.flags import READMISSION_WINDOW_DAYS

FOLLOWUP_VISIT_DAYS: int = 7
"""A follow-up home visit counts when dated 0-7 days after the discharge date."""
PRIOR_WINDOW_DAYS: int = 365
"""Look-back window for prior admissions/falls."""
FALLS_FOLLOWUP_DAYS: int = 365
"""Follow-up of the falls cohort."""
FALLS_MIN_AGE: int = 65
"""Minimum age on the index date in the falls cohort."""

READMISSION_COHORT_SCHEMA = pa.schema(
    [
        ("course_id", pa.int64()),
        ("person_id", pa.string()),
        ("kommune_code", pa.int16()),
        ("region_code", pa.int16()),
        ("discharge_time", pa.timestamp("s")),
        ("year", pa.int16()),
        ("age", pa.int16()),
        ("age_band", pa.string()),
        ("sex", pa.string()),
        ("education", pa.string()),
        ("income_quintile", pa.int8()),
        ("living_alone", pa.bool_()),
        ("home_care", pa.bool_()),
        ("home_nursing", pa.bool_()),
        ("prior_admissions_365d", pa.int32()),
        ("los_days", pa.float64()),
        ("followup_visit", pa.bool_()),
        ("followup_days", pa.int16()),
        ("readmit_30d", pa.bool_()),
        ("death_30d", pa.bool_()),
        ("event", pa.int8()),
        ("time", pa.float64()),
    ]
)

FALLS_COHORT_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("kommune_code", pa.int16()),
        ("region_code", pa.int16()),
        ("rollout_start", pa.date32()),
        ("participant", pa.bool_()),
        ("index_date", pa.date32()),
        ("year", pa.int16()),
        ("age", pa.int16()),
        ("age_band", pa.string()),
        ("sex", pa.string()),
        ("education", pa.string()),
        ("income_quintile", pa.int8()),
        ("living_alone", pa.bool_()),
        ("home_care", pa.bool_()),
        ("prior_falls_365d", pa.int32()),
        ("prior_fall_injury_365d", pa.int32()),
        ("prior_admissions_365d", pa.int32()),
        ("fall_injury_365d", pa.bool_()),
        ("death_365d", pa.bool_()),
        ("event", pa.int8()),
        ("time", pa.int16()),
        ("nc_admission_365d", pa.bool_()),
        ("censored_join", pa.bool_()),
    ]
)


def _install_regions(con: duckdb.DuckDBPyConnection) -> None:
    k = reference.kommuner()[["kommune_code", "region_code"]]
    con.register("_regions_df", k)
    con.execute("CREATE OR REPLACE TEMP TABLE regions AS SELECT * FROM _regions_df")
    con.unregister("_regions_df")


def stage_interventions(con: duckdb.DuckDBPyConnection, present: dict[str, str | None]) -> None:
    """Create views ``interventions_n`` and ``rollout_n`` (empty when absent)."""
    if src := present.get("interventions"):
        _db.require_columns(con, src, ("person_id", "intervention", "date"), what="interventions")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW interventions_n AS SELECT CAST(person_id AS VARCHAR) "
            f"AS person_id, CAST(intervention AS VARCHAR) AS intervention, "
            f'CAST("date" AS DATE) AS "date" FROM {src} WHERE "date" IS NOT NULL'
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW interventions_n AS SELECT CAST(NULL AS VARCHAR) "
            "AS person_id, CAST(NULL AS VARCHAR) AS intervention, CAST(NULL AS DATE) AS "
            '"date" WHERE false'
        )
    if src := present.get("rollout"):
        _db.require_columns(
            con, src, ("kommune_code", "intervention", "start_date"), what="rollout"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW rollout_n AS SELECT CAST(kommune_code AS SMALLINT) "
            f"AS kommune_code, CAST(intervention AS VARCHAR) AS intervention, "
            f"CAST(start_date AS DATE) AS start_date FROM {src}"
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW rollout_n AS SELECT CAST(NULL AS SMALLINT) AS "
            "kommune_code, CAST(NULL AS VARCHAR) AS intervention, CAST(NULL AS DATE) AS "
            "start_date WHERE false"
        )


READMISSION_COHORT_MIN_AGE = 65
"""Youngest age (at admission) of an index in ``cohort_readmission``. The follow-up home
visit is the kommune's offer after the discharge of elderly *medical* patients, so the
cohort keeps the index admissions that are acute, with a medical action diagnosis, of
residents 65+ (the legacy index is exactly that; the official one covers every admission of
every age, planned and surgical too, and its 30-day outcome is the official one)."""


def readmission_query(
    *, courses: str = "courses", min_age: int = READMISSION_COHORT_MIN_AGE
) -> str:
    """SQL of ``cohort_readmission`` (needs ``persons_n``, ``care_n``, ``interventions_n``)."""
    w = READMISSION_WINDOW_DAYS
    return f"""
        WITH idx AS (
            SELECT * FROM {courses}
            WHERE readmit_index AND age >= {int(min_age)} AND acute AND medical
        ), prior AS (
            SELECT i.course_id, count(*) AS n
            FROM idx i JOIN {courses} c
              ON c.person_id = i.person_id AND c.acute
             AND c.admit_time >= i.admit_time - INTERVAL {PRIOR_WINDOW_DAYS} DAY
             AND c.admit_time < i.admit_time
            GROUP BY i.course_id
        ), care AS (
            SELECT i.course_id,
                   bool_or(s.service = 'home_care') AS home_care,
                   bool_or(s.service = 'home_nursing') AS home_nursing
            FROM idx i JOIN care_n s
              ON s.person_id = i.person_id
             AND s.start_date <= CAST(i.discharge_time AS DATE)
             AND (s.end_date IS NULL OR s.end_date >= CAST(i.discharge_time AS DATE))
            GROUP BY i.course_id
        ), fu AS (
            SELECT i.course_id,
                   min(date_diff('day', CAST(i.discharge_time AS DATE), v."date")) AS days
            FROM idx i JOIN interventions_n v
              ON v.person_id = i.person_id AND v.intervention = 'followup_visit'
             AND v."date" >= CAST(i.discharge_time AS DATE)
             AND v."date" <= CAST(i.discharge_time AS DATE)
                             + INTERVAL {FOLLOWUP_VISIT_DAYS} DAY
            GROUP BY i.course_id
        )
        SELECT i.course_id, i.person_id, i.kommune_code, r.region_code, i.discharge_time,
               year(i.discharge_time) AS year, i.age, i.age_band, i.sex, i.education,
               i.income_quintile, p.living_alone,
               coalesce(care.home_care, false) AS home_care,
               coalesce(care.home_nursing, false) AS home_nursing,
               coalesce(prior.n, 0) AS prior_admissions_365d,
               i.los_hours / 24.0 AS los_days,
               fu.days IS NOT NULL AS followup_visit,
               fu.days AS followup_days,
               i.readmit_30d, i.death_30d,
               CASE WHEN i.readmit_30d THEN 1 WHEN i.death_30d THEN 2 ELSE 0 END AS event,
               CASE WHEN i.readmit_30d THEN i.days_to_readmission
                    WHEN i.death_30d THEN CAST(i.days_to_death AS DOUBLE)
                    ELSE {float(w)} END AS time
        FROM idx i
        JOIN persons_n p USING (person_id)
        LEFT JOIN regions r ON r.kommune_code = i.kommune_code
        LEFT JOIN prior USING (course_id)
        LEFT JOIN care USING (course_id)
        LEFT JOIN fu USING (course_id)
        ORDER BY i.course_id
    """


def falls_query(period: Period, *, courses: str = "courses") -> str:
    """SQL of ``cohort_falls`` (needs ``persons_n``, ``care_n``, ``falls_n``,
    ``interventions_n``, ``rollout_n``)."""
    p0, pend, p1 = sql_date(period.start), sql_date(period.end), sql_date(period.end_exclusive)
    fw, pw = FALLS_FOLLOWUP_DAYS, PRIOR_WINDOW_DAYS
    eligible = f"""
        age_at(p.birth_date, x.index_date) >= {FALLS_MIN_AGE}
        AND (p.death_date IS NULL OR p.death_date > x.index_date)
        AND x.index_date >= ro.start_date
        AND x.index_date >= {p0} AND x.index_date <= {pend}
    """
    return f"""
        WITH ro AS (
            SELECT kommune_code, min(start_date) AS start_date FROM rollout_n
            WHERE intervention = 'falls_programme' AND start_date IS NOT NULL
            GROUP BY kommune_code
        ), part AS (
            SELECT person_id, min("date") AS index_date FROM interventions_n
            WHERE intervention = 'falls_programme' GROUP BY person_id
        ), pp AS (
            SELECT p.person_id, p.kommune_code, ro.start_date AS rollout_start,
                   true AS participant, x.index_date
            FROM part x JOIN persons_n p USING (person_id)
            JOIN ro USING (kommune_code)
            WHERE {eligible}
        ), pool AS (
            SELECT kommune_code, index_date,
                   row_number() OVER (PARTITION BY kommune_code
                                      ORDER BY index_date, person_id) - 1 AS r,
                   count(*) OVER (PARTITION BY kommune_code) AS n
            FROM pp
        ), npool AS (
            SELECT DISTINCT kommune_code, n FROM pool
        ), cand AS (
            -- sequential target trial: everyone (also later participants) can be a control
            -- in a trial whose date comes before their own participation
            SELECT p.person_id, p.kommune_code,
                   CAST(('0x' || substr(md5(p.person_id || ':falls'), 1, 15)) AS BIGINT)
                       % npool.n AS r
            FROM persons_n p JOIN npool USING (kommune_code)
            WHERE p.birth_date <= {pend} - INTERVAL {FALLS_MIN_AGE} YEAR
        ), np AS (
            SELECT c.person_id, c.kommune_code, ro.start_date AS rollout_start,
                   false AS participant, x.index_date
            FROM cand c JOIN pool x USING (kommune_code, r)
            JOIN ro USING (kommune_code)
            JOIN persons_n p USING (person_id)
            LEFT JOIN part j ON j.person_id = c.person_id
            WHERE {eligible}
              AND (j.index_date IS NULL OR j.index_date > x.index_date)
        ), co AS (
            SELECT * FROM pp UNION ALL SELECT * FROM np
        ), cj AS (
            -- the person's courses admitted in the 365 days before to 365 days after the
            -- index date (and before the period's end): prior counts and first outcomes in
            -- one join (the three joins it replaces read courses.parquet three times)
            SELECT co.person_id, co.participant,
                   count(*) FILTER (WHERE c.acute AND c.d < co.index_date) AS n_adm,
                   count(*) FILTER (WHERE c.fall_injury AND c.d < co.index_date) AS n_fi,
                   min(date_diff('day', co.index_date, c.d))
                       FILTER (WHERE c.fall_injury AND c.d > co.index_date) AS fi_days,
                   -- negative-control outcome: acute admissions without a fall injury
                   min(date_diff('day', co.index_date, c.d))
                       FILTER (WHERE c.acute AND NOT c.fall_injury AND c.d > co.index_date)
                       AS nc_days
            FROM co JOIN (
                SELECT person_id, CAST(admit_time AS DATE) AS d, acute, fall_injury
                FROM {courses} WHERE acute OR fall_injury
            ) c
              ON c.person_id = co.person_id
             AND c.d >= co.index_date - INTERVAL {pw} DAY
             AND c.d <= co.index_date + INTERVAL {fw} DAY
             AND c.d < {p1}
            GROUP BY co.person_id, co.participant
        ), prior_f AS (
            SELECT co.person_id, co.participant, count(*) AS n
            FROM co JOIN falls_n f
              ON f.person_id = co.person_id
             AND f.fall_date >= co.index_date - INTERVAL {pw} DAY
             AND f.fall_date < co.index_date
            GROUP BY co.person_id, co.participant
        ), hc AS (
            SELECT DISTINCT co.person_id, co.participant
            FROM co JOIN care_n s
              ON s.person_id = co.person_id AND s.service = 'home_care'
             AND s.start_date <= co.index_date
             AND (s.end_date IS NULL OR s.end_date >= co.index_date)
        ), o0 AS (
            SELECT co.*, p.birth_date, p.sex, p.education, p.income_quintile, p.living_alone,
                   cj.fi_days AS fi_days0, cj.nc_days AS nc_days0,
                   CASE WHEN p.death_date <= co.index_date + INTERVAL {fw} DAY
                             AND p.death_date < {p1}
                        THEN date_diff('day', co.index_date, p.death_date) END AS death_days0,
                   CASE WHEN NOT co.participant AND j.index_date IS NOT NULL
                             AND j.index_date <= co.index_date + INTERVAL {fw} DAY
                             AND j.index_date < {p1}
                        THEN date_diff('day', co.index_date, j.index_date) END AS join_days,
                   least({fw}, date_diff('day', co.index_date, {p1})) AS end_days,
                   coalesce(cj.n_adm, 0) AS prior_admissions_365d,
                   coalesce(cj.n_fi, 0) AS prior_fall_injury_365d,
                   coalesce(prior_f.n, 0) AS prior_falls_365d,
                   hc.person_id IS NOT NULL AS home_care
            FROM co JOIN persons_n p USING (person_id)
            LEFT JOIN part j ON j.person_id = co.person_id
            LEFT JOIN cj ON cj.person_id = co.person_id AND cj.participant = co.participant
            LEFT JOIN prior_f
              ON prior_f.person_id = co.person_id AND prior_f.participant = co.participant
            LEFT JOIN hc ON hc.person_id = co.person_id AND hc.participant = co.participant
        ), o AS (
            -- a control who joins is censored on the day of joining (events that day count
            -- for neither arm: participation is dated to the day, admissions to the day)
            SELECT o0.*,
                   CASE WHEN join_days IS NULL OR fi_days0 < join_days THEN fi_days0 END
                       AS fi_days,
                   CASE WHEN join_days IS NULL OR nc_days0 < join_days THEN nc_days0 END
                       AS nc_days,
                   CASE WHEN join_days IS NULL OR death_days0 < join_days THEN death_days0 END
                       AS death_days,
                   least(end_days, coalesce(join_days, end_days)) AS cens_days
            FROM o0
        )
        SELECT o.person_id, o.kommune_code, r.region_code, o.rollout_start, o.participant,
               o.index_date, year(o.index_date) AS year,
               age_at(o.birth_date, o.index_date) AS age,
               age_band_of(age_at(o.birth_date, o.index_date)) AS age_band,
               o.sex, o.education, o.income_quintile, o.living_alone, o.home_care,
               o.prior_falls_365d, o.prior_fall_injury_365d, o.prior_admissions_365d,
               o.fi_days0 IS NOT NULL AS fall_injury_365d,
               o.death_days0 IS NOT NULL AS death_365d,
               CASE WHEN o.fi_days IS NOT NULL THEN 1
                    WHEN o.death_days IS NOT NULL THEN 2 ELSE 0 END AS event,
               coalesce(o.fi_days, o.death_days, o.cens_days) AS time,
               o.nc_days0 IS NOT NULL AS nc_admission_365d,
               o.join_days IS NOT NULL AND o.fi_days IS NULL AND o.death_days IS NULL
                   AS censored_join
        FROM o LEFT JOIN regions r ON r.kommune_code = o.kommune_code
        ORDER BY o.kommune_code, o.participant DESC, o.index_date, o.person_id
    """


def _connect_cohort(
    persons: _db.TableLike,
    courses: _db.TableLike,
    tables: dict[str, _db.TableLike | None],
) -> duckdb.DuckDBPyConnection:
    from nsv_eval.clean.cube import stage_optional
    from nsv_eval.clean.flags import stage_persons

    con = _db.connect()
    _install_regions(con)
    _db.register(con, "persons_in", persons)
    stage_persons(con, "persons_in")
    _db.register(con, "courses", courses)
    present: dict[str, str | None] = {}
    for name, obj in tables.items():
        if obj is not None:
            _db.register(con, f"{name}_in", obj)
            present[name] = f"{name}_in"
    stage_optional(con, present)
    stage_interventions(con, present)
    return con


def readmission_cohort(
    persons: _db.TableLike,
    courses: _db.TableLike,
    *,
    care: _db.TableLike | None = None,
    interventions: _db.TableLike | None = None,
) -> pd.DataFrame:
    """One row per index discharge with covariates, exposure and 30-day outcome.

    Parameters
    ----------
    persons : pandas.DataFrame or path
        Person table (raw layout).
    courses : pandas.DataFrame or path
        Flagged courses (:func:`nsv_eval.clean.flag_courses`).
    care, interventions : pandas.DataFrame or path, optional
        Municipal care and person-level interventions; absent tables count as empty.

    Returns
    -------
    pandas.DataFrame
        Columns of ``cohort_readmission.parquet`` (module docstring), ordered by course_id.
    """
    con = _connect_cohort(persons, courses, {"care": care, "interventions": interventions})
    try:
        return _db.fetch_df(con, readmission_query(), READMISSION_COHORT_SCHEMA)
    finally:
        con.close()


def falls_cohort(
    persons: _db.TableLike,
    courses: _db.TableLike,
    *,
    period: Period | tuple,
    rollout: _db.TableLike | None = None,
    interventions: _db.TableLike | None = None,
    falls: _db.TableLike | None = None,
    care: _db.TableLike | None = None,
) -> pd.DataFrame:
    """Participants of the falls programme and comparable non-participants.

    Parameters
    ----------
    persons : pandas.DataFrame or path
        Person table (raw layout).
    courses : pandas.DataFrame or path
        Flagged courses (:func:`nsv_eval.clean.flag_courses`).
    period : Period or (start, end)
        Study period (follow-up is censored at its end).
    rollout, interventions, falls, care : pandas.DataFrame or path, optional
        Kommune roll-out dates, person-level interventions, registered falls, municipal
        care; absent tables count as empty (no rollout → an empty cohort).

    Returns
    -------
    pandas.DataFrame
        Columns of ``cohort_falls.parquet`` (module docstring).
    """
    period = Period.coerce(period)
    con = _connect_cohort(
        persons,
        courses,
        {"care": care, "interventions": interventions, "falls": falls, "rollout": rollout},
    )
    try:
        return _db.fetch_df(con, falls_query(period), FALLS_COHORT_SCHEMA)
    finally:
        con.close()
