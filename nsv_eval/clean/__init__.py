"""Cleaning for the studies: courses, outcome flags, the analysis cube, cohorts, ``prepare``.

* :func:`chain_contacts` — hospital contacts → admission courses (:mod:`.courses`).
* :func:`flag_courses` — person attributes, outcome flags and the 30-day readmission
  indicator (:mod:`.flags`, where every definition lives).
* :func:`build_cube` — population, person-time and event counts by kommune × month × strata
  (:mod:`.cube`).
* :func:`readmission_cohort`, :func:`falls_cohort` — person-level cohorts (:mod:`.cohorts`).
* :func:`prepare` — all of the above on ingested extracts, writing the prepared layout.
"""

from nsv_eval.clean._db import Period
from nsv_eval.clean.cohorts import falls_cohort, readmission_cohort
from nsv_eval.clean.courses import CHAIN_GAP_HOURS, chain_contacts
from nsv_eval.clean.cube import build_cube
from nsv_eval.clean.flags import INDEX_MIN_AGE, READMISSION_WINDOW_DAYS, flag_courses
from nsv_eval.clean.prepare import discover_raw, prepare

__all__ = [
    "CHAIN_GAP_HOURS",
    "INDEX_MIN_AGE",
    "READMISSION_WINDOW_DAYS",
    "Period",
    "build_cube",
    "chain_contacts",
    "discover_raw",
    "falls_cohort",
    "flag_courses",
    "prepare",
    "readmission_cohort",
]
