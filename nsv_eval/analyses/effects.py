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
    att: float, lower: float, upper: float, baseline: float
) -> tuple[float, float, float]:
    """Express an additive ATT on a rate as a ratio to the counterfactual rate.

    ``baseline`` is the treated units' mean post-period rate minus the ATT (their
    counterfactual). The CI limits are mapped the same way (the counterfactual is treated as
    known, which slightly understates uncertainty; said in the notebooks).
    """
    cf = baseline - att
    if cf <= 0 or not np.isfinite(cf):
        return (np.nan, np.nan, np.nan)
    return ((cf + att) / cf, (cf + lower) / cf, (cf + upper) / cf)
