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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses.data import Area, Prepared
from nsv_eval.reference import AGE_BANDS
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.ratio import AdditiveRatioResult, ratio_from_additive


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


def _expected_events(prep: Prepared, measure: str, older: bool) -> pd.Series:
    """Events of ``measure`` per kommune × year at the year's national rates by age band and
    sex (indirect standardisation), 65+ only when ``older``."""
    a = prep.summary("year_age_sex")
    if older:
        a = a[a["age_band"].isin(AGE_BANDS[AGE_BANDS.index("65-69") :])]
    nat = a.groupby(["year", "age_band", "sex"])[[measure, "person_years"]].sum()
    rate = (nat[measure] / nat["person_years"]).fillna(0.0).rename("_rate")
    a = a.join(rate, on=["year", "age_band", "sex"])
    return (a["_rate"] * a["person_years"]).groupby([a["kommune_code"], a["year"]]).sum()


def annual_panel(
    prep: Prepared,
    measure: str,
    intervention: str,
    *,
    older: bool = True,
    per: int = 1000,
    standardise: bool = False,
) -> pd.DataFrame:
    """Kommune × year panel of an outcome rate with each kommune's treatment cohort.

    Parameters
    ----------
    standardise : bool, default False
        Replace ``rate`` by the indirectly age- and sex-standardised rate: observed /
        expected events (the year's national rates by age band and sex applied to the
        kommune's person-years) × the year's national crude rate. A DiD on crude rates
        assumes that the kommuner's age mix within the 65+ changes alike; with real age
        pyramids it does not (large 1945-50 cohorts turn 65 at different paces), which
        moves crude rates apart without any intervention (issue #13).

    Returns
    -------
    pandas.DataFrame
        ``kommune_code``, ``region_code``, ``year``, ``count``, ``person_years``, ``rate``
        (per ``per`` person-years), ``first_treated`` (see module notes), ``start_date``;
        with ``standardise`` also ``expected`` (events at the national age-sex rates).
    """
    m = prep.summary("month")
    if older:
        m = m[m["age65"]]
    p = m.groupby(["kommune_code", "region_code", "year"], as_index=False)[
        [measure, "person_years"]
    ].sum()
    p = p.rename(columns={measure: "count"})
    p["rate"] = p["count"] / p["person_years"] * per
    if standardise:
        p["expected"] = (
            _expected_events(prep, measure, older)
            .reindex(pd.MultiIndex.from_frame(p[["kommune_code", "year"]]))
            .to_numpy()
        )
        yr = p.groupby("year")[["count", "person_years"]].sum()
        crude = p["year"].map(yr["count"] / yr["person_years"] * per)
        p["rate"] = p["count"] / p["expected"] * crude
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
    area = Area.of(scope, kommune)
    df = prep.table(f"cohort_{name}", area=area)  # only the area's rows are read
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


def first_post_month(start: pd.Timestamp) -> pd.Timestamp:
    """First whole calendar month from ``start`` (the month itself when it starts on the 1st)."""
    start = pd.Timestamp(start)
    first = start.to_period("M").to_timestamp()
    return first if start.day == 1 else first + pd.offsets.MonthBegin(1)


def kommune_series(
    prep: Prepared, kommune: int, measure: str, years: Sequence[int] | None = None
) -> pd.DataFrame:
    """The kommune's monthly 65+ series of ``measure`` (see :func:`effects.monthly_series`)."""
    s = monthly_series(prep, kommune, measure)
    if years is not None:
        s = s[s["year"].isin(list(years))]
    return s.reset_index(drop=True)


def kommune_its(
    prep: Prepared,
    kommune: int,
    measure: str,
    start: pd.Timestamp,
    *,
    years: Sequence[int] | None = None,
    conf: float = 0.95,
    n_harmonics: int = 2,
):
    """Interrupted time series of the kommune's monthly 65+ counts around ``start``.

    Quasi-Poisson segmented regression (level change, no slope change) with log
    person-years as offset and ``n_harmonics`` Fourier pairs of the calendar month
    (:func:`nsv_eval.stats.its`). The first post-intervention month is the first whole month
    from ``start``.

    Parameters
    ----------
    prep : Prepared
    kommune : int
    measure : str
        Cube measure, e.g. ``"fall_injury"`` or ``"preventable"``.
    start : pandas.Timestamp
        Roll-out date.
    years : sequence of int, optional
        Calendar years of the series (default: all).
    conf : float
        Confidence level.
    n_harmonics : int
        Sine/cosine pairs for seasonality.

    Returns
    -------
    ITSResult
        The level-change rate ratio is the main effect; ``.data`` holds the monthly series,
        ``.start_date`` the roll-out date.

    Raises
    ------
    InputError
        Fewer than 3 months before or 1 after the start within ``years``.
    """
    s = kommune_series(prep, kommune, measure, years)
    first = first_post_month(start)
    res = stats.its(
        s,
        "count",
        "date",
        first,
        offset="person_years",
        season_col="month",
        n_harmonics=n_harmonics,
        family="quasipoisson",
        conf=conf,
    )
    res.start_date = pd.Timestamp(start)
    return res


def its_placebo(res, *, max_fits: int = 24, min_segment: int = 6):
    """Placebo-in-time check of an ITS: fake starts inside the pre-period.

    At most ``max_fits`` fake starts, evenly spread over the admissible pre-period months
    (every month leaving ``min_segment`` months on each side). Returns None when the
    pre-period is too short for any fake start.
    """
    cf = res.counterfactual()
    pre = cf.loc[~res.post, "time"].to_numpy()
    cand = pre[min_segment : len(pre) - min_segment + 1]
    if len(cand) == 0:
        return None
    if len(cand) > max_fits:
        cand = cand[np.unique(np.linspace(0, len(cand) - 1, max_fits).round().astype(int))]
    return stats.placebo_in_time(res, fake_starts=[pd.Timestamp(t) for t in cand])


def treated_post_mean(panel: pd.DataFrame, res) -> float:
    """Mean observed rate over the treated kommune-years after the start that the DiD uses.

    The simple ATT of :func:`nsv_eval.stats.did` weights every post-treatment ATT(g, t) by
    its cohort's size, i.e. it is the mean over treated kommune-years; its counterfactual is
    this mean minus the ATT.
    """
    periods = res.periods
    gt = res.group_time()
    cohorts = set(gt["group"].unique())
    p = panel[panel["year"].isin(periods) & panel["first_treated"].isin(cohorts)]
    post = p[p["year"] >= p["first_treated"]]
    return float(post["rate"].mean())


def did_rate_ratio(res, panel: pd.DataFrame) -> AdditiveRatioResult:
    """The DiD simple ATT expressed as a rate ratio to the treated kommuner's counterfactual.

    ``ratio = mean_post / (mean_post - ATT)`` with the observed mean held fixed, and the
    interval ``mean_post / (mean_post - L)`` to ``mean_post / (mean_post - U)``
    (:func:`nsv_eval.stats.designs.ratio_from_additive` via
    :func:`nsv_eval.analyses.effects.rate_ratio_from_att`): the observed mean is known, so
    the interval of the ATT maps exactly onto the ratio. A ratio of means is not the mean of
    kommune ratios.

    Returns
    -------
    AdditiveRatioResult
        ``design="did"``, ``scale="rate_ratio"``, term ``att_ratio``; attributes keep the
        baseline, the counterfactual and the ATT.
    """
    row = res.main_effect()
    base = treated_post_mean(panel, res)
    est, lo, hi = rate_ratio_from_att(
        float(row["estimate"]), float(row["lower"]), float(row["upper"]), base
    )
    tab = pd.DataFrame(
        [dict(term="att_ratio", estimate=est, lower=lo, upper=hi, p_value=row["p_value"])]
    )
    return AdditiveRatioResult(
        design="did",
        effects=tab,
        main_term="att_ratio",
        scale="rate_ratio",
        conf=res.conf,
        observed_mean=base,
        counterfactual_mean=base - float(row["estimate"]),
        additive=float(row["estimate"]),
        additive_lower=float(row["lower"]),
        additive_upper=float(row["upper"]),
    )


@dataclass
class Triangulation:
    """Result of :func:`triangulation`: the comparison (or why none was possible)."""

    result: Any | None
    names: list[str] = field(default_factory=list)
    reason_da: str = ""

    @property
    def verdict(self) -> str | None:
        """``"agree"``, ``"disagree"``, ``"inconclusive"`` or None (no comparison)."""
        return None if self.result is None else self.result.verdict


def triangulation(results: Sequence[EffectResult], names: Sequence[str]) -> Triangulation:
    """Compare the headline ratios of several designs (:func:`nsv_eval.stats.triangulate`).

    Results without a finite interval are left out; with fewer than two left, no comparison
    is made and ``reason_da`` says why.
    """
    keep, kept_names = [], []
    for r, n in zip(results, names, strict=True):
        if r is None:
            continue
        m = r.main_effect()
        vals = np.array([m["estimate"], m["lower"], m["upper"]], dtype=float)
        ok = np.isfinite(vals).all() and vals[2] > vals[1]
        if ok and r.scale.endswith("ratio"):
            ok = bool(vals[1] > 0)
        if ok:
            keep.append(r)
            kept_names.append(n)
    if len(keep) < 2:
        return Triangulation(
            None,
            kept_names,
            "Færre end to designs har et brugbart konfidensinterval; der kan ikke sammenlignes.",
        )
    return Triangulation(stats.triangulate(*keep, names=kept_names), kept_names)
