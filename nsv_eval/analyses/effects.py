"""Shaping the prepared data for the effect-evaluation designs.

The designs in :mod:`nsv_eval.stats.designs` take plain tidy frames; these helpers build
them from the cached national summaries and the cohorts, so every study notebook prepares
its series, panels and cohorts the same way.

Conventions
-----------
* Monthly series use a running month index ``t`` (0 = January of the first year) and keep
  ``year``, ``month`` and ``date`` (first of the month).
* Annual panels for staggered difference-in-differences use ``first_treated`` = the first
  calendar year fully exposed: the start year when the roll-out date is 1 January, else the
  following year (a part-year of exposure would blur the comparison); 0 = never treated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nsv_eval.analyses.data import Area, Prepared
from nsv_eval.stats.designs.ratio import ratio_from_additive


def monthly_series(
    prep: Prepared, kommune: int | None, measure: str, *, older: bool = True, level: str = "kommune"
) -> pd.DataFrame:
    """Monthly event counts and person-years (65+ when ``older``) for an area.

    Parameters
    ----------
    prep : Prepared
    kommune : int or None
        The kommune (also used to find its region); None with ``level="land"``.
    measure : str
        Cube measure (e.g. ``"fall_injury"``).
    older : bool
        Restrict to ages 65+ (True) or all ages (False).
    level : str
        ``"kommune"``, ``"region"`` or ``"land"``.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``year``, ``month``, ``t``, ``count``, ``person_years``, ``rate_1000``.
    """
    m = prep.summary("month")
    if older:
        m = m[m["age65"]]
    area = Area.of(level, kommune if kommune is not None else 101)
    m = m[area.mask(m)]
    s = m.groupby(["year", "month"], as_index=False)[[measure, "person_years"]].sum()
    s = s.rename(columns={measure: "count"})
    y0 = int(s["year"].min())
    s["t"] = (s["year"] - y0) * 12 + s["month"] - 1
    s["date"] = pd.to_datetime({"year": s["year"], "month": s["month"], "day": 1})
    s["rate_1000"] = s["count"] / s["person_years"] * 1000
    return s[["date", "year", "month", "t", "count", "person_years", "rate_1000"]]


def month_index(series: pd.DataFrame, date: pd.Timestamp) -> int:
    """The ``t`` of the month containing ``date`` in a :func:`monthly_series` frame."""
    y0 = int(series["year"].min())
    return (date.year - y0) * 12 + date.month - 1


def first_full_year(start: pd.Timestamp | None) -> int:
    """First calendar year fully exposed to an intervention starting at ``start`` (0 = never)."""
    if start is None or pd.isna(start):
        return 0
    start = pd.Timestamp(start)
    return start.year if (start.month, start.day) == (1, 1) else start.year + 1


def annual_panel(
    prep: Prepared, measure: str, intervention: str, *, older: bool = True, per: int = 1000
) -> pd.DataFrame:
    """Kommune × year panel of an outcome rate with each kommune's treatment cohort.

    Returns
    -------
    pandas.DataFrame
        ``kommune_code``, ``region_code``, ``year``, ``count``, ``person_years``, ``rate``
        (per ``per`` person-years), ``first_treated`` (see module notes), ``start_date``.
    """
    m = prep.summary("month")
    if older:
        m = m[m["age65"]]
    p = m.groupby(["kommune_code", "region_code", "year"], as_index=False)[
        [measure, "person_years"]
    ].sum()
    p = p.rename(columns={measure: "count"})
    p["rate"] = p["count"] / p["person_years"] * per
    ro = prep.rollout
    ro = ro[ro["intervention"] == intervention][["kommune_code", "start_date"]]
    p = p.merge(ro, on="kommune_code", how="left")
    p["first_treated"] = [first_full_year(d) for d in p["start_date"]]
    return p.sort_values(["kommune_code", "year"]).reset_index(drop=True)


def cohort(prep: Prepared, name: str, *, kommune: int, scope: str) -> pd.DataFrame:
    """Person-level cohort (``"readmission"`` or ``"falls"``) restricted to ``scope``.

    ``scope`` is ``"kommune"``, ``"region"`` or ``"land"``; person identifiers are dropped
    (analyses never need them and nothing person-level may reach a report).
    """
    df = prep.table(f"cohort_{name}")
    area = Area.of(scope, kommune)
    df = df[area.mask(df)].drop(columns=[c for c in ("person_id", "course_id") if c in df.columns])
    return df.reset_index(drop=True)


def post_period_events(series: pd.DataFrame, start_t: int) -> float:
    """Events observed from ``start_t`` on in a monthly series."""
    return float(series.loc[series["t"] >= start_t, "count"].sum())


def rate_ratio_from_att(
    att: float, lower: float, upper: float, observed: float
) -> tuple[float, float, float]:
    """Express an additive ATT on a rate as a ratio to the counterfactual rate.

    ``observed`` is the treated units' observed mean post-period rate (held fixed); the
    ratio is ``observed / (observed − ATT)`` and the interval ``observed / (observed − L)``
    to ``observed / (observed − U)`` (:func:`nsv_eval.stats.designs.ratio_from_additive`,
    the one mapping every design uses). When a limit's counterfactual would be 0 or
    negative the ratio is unbounded above, which a report cannot show as a number: both
    limits are then NaN (no usable interval), the estimate is kept.
    """
    est, lo, hi = ratio_from_additive(att, lower, upper, observed=observed)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo = hi = np.nan
    return float(est), float(lo), float(hi)
