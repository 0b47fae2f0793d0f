"""30-day readmissions among older medical patients and the follow-up home visit.

What study 04 (*Genindlæggelser*) computes, kept out of the notebook:

* the indicator (``readmission_65``: ``readmit_30d`` / ``readmit_index`` of the cube) by
  year and area and the indirectly standardised ratio come from
  :mod:`nsv_eval.analyses.profile` (figures: :mod:`nsv_eval.report.figures`);
* the effect of the follow-up home visit (*opfølgende hjemmebesøg*) on readmission is
  estimated here, on ``cohort_readmission`` (:mod:`nsv_eval.clean.cohorts`).

Design
------
The main analysis follows the national indicator: every index discharge, exposure = a visit
dated 0-7 days after the discharge date (:data:`nsv_eval.clean.cohorts.FOLLOWUP_VISIT_DAYS`),
outcome = acute readmission within 30 days of the discharge. Visited and non-visited
discharges are compared after inverse probability of treatment weighting on the measured
confounders (:func:`nsv_eval.stats.cohort_effect`).

A robustness check uses a *landmark* at day :data:`LANDMARK_DAY` (Dafni 2011, Circ.
Cardiovasc. Qual. Outcomes 4:363). In real data the 30-day comparison can suffer from
*immortal time* (Suissa 2008, Am. J. Epidemiol. 167:492): a patient readmitted or dead on day
2 has little chance of a visit on day 5, which flatters the visit. The landmark analysis
includes index discharges whose patient is alive and not readmitted at day 8, classifies them
by a visit in days 0-7, and counts readmissions from day 8 to day 30; index discharges within
7 days of the same person's previous index discharge are left out (the previous stay's visit
could fall in their window). If the two analyses agree, immortal time does not drive the
result.

Synthetic data: the planted risk ratio (0.75) acts on the whole 30-day risk and the visit is
decided at discharge, so the main analysis targets it directly (scale 0.02, seed 1, whole
country: IPTW 0.73, 95 % CI 0.70-0.77; naive 1.01). The landmark ratio implied by the
generator's model is about 0.73 (conditioning on no readmission by day 8 shifts it; computed
from the model's coefficients on the data's covariates); measured 0.69 (0.64-0.74).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses.data import Area, Prepared
from nsv_eval.clean.cohorts import FOLLOWUP_VISIT_DAYS
from nsv_eval.errors import InputError
from nsv_eval.reference import DISCLOSURE_THRESHOLD as THRESHOLD
from nsv_eval.stats.designs.cohort import CohortEffectResult
from nsv_eval.stats.designs.survival import CumulativeIncidenceResult

__all__ = [
    "DEFAULT_COVARIATES",
    "FollowupAnalysis",
    "LANDMARK_DAY",
    "ReadmissionCohort",
    "VISIT_GROUPS",
    "adequacy",
    "balance_table",
    "cif_by_visit",
    "cif_points",
    "effect_table",
    "followup_analysis",
    "followup_effect",
    "group_table",
    "readmission_cohort",
    "overlap_density",
    "overlap_table",
    "pooled_table",
]

LANDMARK_DAY: int = FOLLOWUP_VISIT_DAYS + 1
"""Landmark (days after the discharge date): the day after the last day a visit counts."""

WINDOW_DAYS: int = 30
"""Readmission window (days after discharge)."""

PRIOR_LEVELS: tuple[str, ...] = ("0", "1", "2", "3+")
"""Categories of acute admissions in the previous 365 days (covariate ``prior_admissions``)."""

DEFAULT_COVARIATES: tuple[str, ...] = (
    "age",
    "sex",
    "education",
    "income_quintile",
    "living_alone",
    "home_care",
    "home_nursing",
    "prior_admissions",
    "los_days",
)
"""Confounders of the propensity model: what the kommune knows at discharge and what is
likely to affect both who gets a visit and the risk of readmission."""

MIN_GROUP: int = 50
"""Fewest index discharges per group (with / without visit) for an effect estimate."""
MIN_EVENTS: int = 10
"""Fewest readmissions per group for an effect estimate."""

VISIT_GROUPS: dict[bool, str] = {True: "with_visit", False: "without_visit"}
"""The code of each follow-up-visit group (column ``visit`` of the cohort and its tables;
the reader's words are in :mod:`nsv_eval.report.labels`). Codes sort like the Danish labels
did ("Med besøg" before "Uden besøg"), so tables and curves keep their order."""


# --------------------------------------------------------------------------------------
# the cohort
# --------------------------------------------------------------------------------------
@dataclass
class ReadmissionCohort:
    """Index discharges in the analysis, with the counts of who was left out.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per index discharge in the analysis (no person identifiers): the columns
        of ``cohort_readmission`` plus ``prior_admissions`` (categories
        :data:`PRIOR_LEVELS`) and ``visit`` (group code, :data:`VISIT_GROUPS`).
    area : Area
        The scope (kommune, region or country).
    years : tuple of int
        First and last discharge year.
    counts : dict
        ``index`` (index discharges in scope and years) and ``analysed``; with a landmark
        also ``after_previous`` (within 7 days of the person's previous index discharge),
        ``readmitted_before`` and ``died_before`` (before the landmark).
    landmark_day : int or None
        None for the main analysis (30 days from discharge).
    """

    data: pd.DataFrame
    area: Area
    years: tuple[int, int]
    counts: dict[str, int] = field(default_factory=dict)
    landmark_day: int | None = None


def readmission_cohort(
    prep: Prepared | pd.DataFrame,
    kommune: int,
    *,
    scope: str = "region",
    years: Sequence[int] | None = None,
    landmark_day: int | None = None,
) -> ReadmissionCohort:
    """Index discharges of ``scope``: all of them, or those alive and readmission-free at a
    landmark.

    Parameters
    ----------
    prep : Prepared or pandas.DataFrame
        Prepared data (reads ``cohort_readmission.parquet``), or that table itself.
    kommune : int
        The kommune; with ``scope`` it selects the area.
    scope : str
        ``"kommune"``, ``"region"`` (default) or ``"land"``.
    years : sequence of int, optional
        Discharge years to include (default: all).
    landmark_day : int, optional
        None (default): every index discharge, outcome within 30 days of the discharge.
        A day after the 7-day visit window (e.g. :data:`LANDMARK_DAY`): the landmark
        analysis (module notes).

    Returns
    -------
    ReadmissionCohort
    """
    if landmark_day is not None and not FOLLOWUP_VISIT_DAYS < landmark_day < WINDOW_DAYS:
        raise ValueError(
            f"landmark_day must lie after the visit window ({FOLLOWUP_VISIT_DAYS} days) and "
            f"before day {WINDOW_DAYS}, got {landmark_day}"
        )
    area = Area.of(scope, kommune)
    # from prepared data, read only the area's rows (file order kept, so the result is the
    # same as masking the national table)
    raw = prep.table("cohort_readmission", area=area) if isinstance(prep, Prepared) else prep
    need = [
        "person_id",
        "kommune_code",
        "discharge_time",
        "year",
        "followup_visit",
        "readmit_30d",
        "event",
        "time",
        "prior_admissions_365d",
    ]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise InputError(f"cohort_readmission lacks column(s) {missing}")
    # Persons never move (data contract), so restricting to the area keeps all index
    # discharges of each person; the person id is needed only for the previous-index rule
    # and is dropped before anything leaves this function.
    df = raw[area.mask(raw)].sort_values(["person_id", "discharge_time"]).copy()
    ddate = df["discharge_time"].dt.normalize()
    prev = ddate.groupby(df["person_id"]).shift()
    after_prev = ((ddate - prev).dt.days <= FOLLOWUP_VISIT_DAYS).fillna(False).to_numpy(bool)
    if years is not None:
        yrs = sorted(int(y) for y in years)
        in_years = df["year"].between(yrs[0], yrs[-1]).to_numpy()
    else:
        yrs = [int(df["year"].min()), int(df["year"].max())] if len(df) else [0, 0]
        in_years = np.ones(len(df), dtype=bool)
    counts = {"index": int(in_years.sum())}
    keep = in_years.copy()
    if landmark_day is not None:
        landmark = ddate + pd.Timedelta(days=landmark_day)
        event_at = df["discharge_time"] + pd.to_timedelta(df["time"], unit="D")
        readm_before = ((df["event"] == 1) & (event_at < landmark)).to_numpy()
        # death time is whole days from the discharge date: alive at the landmark = day >= L
        died_before = ((df["event"] == 2) & (df["time"] < landmark_day)).to_numpy()
        counts["after_previous"] = int((in_years & after_prev).sum())
        counts["readmitted_before"] = int((in_years & ~after_prev & readm_before).sum())
        counts["died_before"] = int((in_years & ~after_prev & ~readm_before & died_before).sum())
        keep = in_years & ~after_prev & ~readm_before & ~died_before
    counts["analysed"] = int(keep.sum())
    out = df[keep].drop(columns=[c for c in ("person_id", "course_id") if c in df.columns])
    prior = np.minimum(out["prior_admissions_365d"].to_numpy(int), 3)
    out["prior_admissions"] = pd.Categorical(
        np.array(PRIOR_LEVELS)[prior], categories=list(PRIOR_LEVELS)
    )
    out["visit"] = out["followup_visit"].map(VISIT_GROUPS)
    return ReadmissionCohort(
        data=out.reset_index(drop=True),
        area=area,
        years=(yrs[0], yrs[-1]),
        counts=counts,
        landmark_day=landmark_day,
    )


def adequacy(cohort: ReadmissionCohort) -> str | None:
    """Danish explanation when the cohort is too small for an effect estimate, else None."""
    d = cohort.data
    parts = []
    for flag in (True, False):
        g = d[d["followup_visit"] == flag]
        if len(g) < MIN_GROUP or int(g["readmit_30d"].sum()) < MIN_EVENTS:
            parts.append("med besøg" if flag else "uden besøg")
    if not parts:
        return None
    return (
        f"Der er for få udskrivelser eller genindlæggelser i gruppen {' og '.join(parts)} i "
        f"{cohort.area.name} til et pålideligt effektestimat (mindst {MIN_GROUP} udskrivelser "
        f"og {MIN_EVENTS} genindlæggelser i hver gruppe). Kør analysen for regionen eller "
        "hele landet (parameteren scope)."
    )


# --------------------------------------------------------------------------------------
# effect
# --------------------------------------------------------------------------------------
def followup_effect(
    cohort: ReadmissionCohort | pd.DataFrame,
    *,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    method: str = "iptw",
    estimand: str | None = None,
    conf: float = 0.95,
    seed: int = 0,
    cache: Prepared | None = None,
) -> CohortEffectResult:
    """Effect of the follow-up visit on readmission, adjusted by propensity score.

    With ``cache`` (the :class:`Prepared` data) the fit is kept in its shared directory and
    reused by every report that asks for the same cohort (all kommuner of a region).

    Thin wrapper of :func:`nsv_eval.stats.cohort_effect` with treatment ``followup_visit``
    and outcome ``readmit_30d`` (both naive and adjusted estimates are in ``.table()``).

    Parameters
    ----------
    cohort : ReadmissionCohort or pandas.DataFrame
        From :func:`readmission_cohort` (or its ``data``).
    covariates : sequence of str
        Confounders (default :data:`DEFAULT_COVARIATES`); constant ones are dropped (a
        small area may have, e.g., no home nursing).
    method : {"iptw", "match"}
    estimand : {"ATE", "ATT"}, optional
        Default ATE for IPTW, ATT for matching.
    conf : float
    seed : int
        Seed of the matching order.

    Returns
    -------
    CohortEffectResult
    """
    d = cohort.data if isinstance(cohort, ReadmissionCohort) else cohort
    covs = [c for c in covariates if c in d.columns and d[c].nunique(dropna=False) > 1]
    if not covs:
        raise InputError("followup_effect: none of the covariates varies in the cohort")

    def fit() -> CohortEffectResult:
        return stats.cohort_effect(
            d,
            "followup_visit",
            "readmit_30d",
            covs,
            method=method,
            estimand=estimand,
            conf=conf,
            seed=seed,
        )

    if cache is None:
        return fit()
    return cache.memo(
        "followup_effect",
        fit,
        data=d,
        covariates=covs,
        method=method,
        estimand=estimand,
        conf=conf,
        seed=seed,
    )


def group_table(cohort: ReadmissionCohort, conf: float = 0.95) -> pd.DataFrame:
    """Index discharges and readmissions with and without a visit (crude risk, Wilson CI).

    Returns
    -------
    pandas.DataFrame
        ``visit``, ``n``, ``readmissions``, ``risk`` (%), ``lower``, ``upper``.
    """
    d = cohort.data
    agg = (
        d.groupby("followup_visit", as_index=False)
        .agg(n=("readmit_30d", "size"), readmissions=("readmit_30d", "sum"))
        .sort_values("followup_visit", ascending=False)
    )
    agg["readmissions"] = agg["readmissions"].astype(int)
    p = stats.proportion(agg, "readmissions", "n", by=["followup_visit"], multiplier=100, conf=conf)
    out = agg.merge(p[["followup_visit", "estimate", "lower", "upper"]], on="followup_visit")
    out.insert(0, "visit", out["followup_visit"].map(VISIT_GROUPS))
    out = out.rename(columns={"estimate": "risk"}).drop(columns="followup_visit")
    return out.reset_index(drop=True)


def effect_table(result: CohortEffectResult) -> pd.DataFrame:
    """Naive and adjusted estimates side by side (risks in %, differences in points).

    Returns
    -------
    pandas.DataFrame
        ``measure`` (code: ``risk_treated``, ``risk_control``, ``risk_difference``,
        ``risk_ratio``), ``naive``, ``naive_lower``, ``naive_upper``, ``adjusted``,
        ``adjusted_lower``, ``adjusted_upper``.
    """
    t = result.table().set_index("term")
    d = result.data
    y, tr = d["outcome"].to_numpy(float), d["treated"].to_numpy(bool)
    q1, q0 = y[tr].mean(), y[~tr].mean()
    rows = [
        ("risk_treated", 100 * q1, np.nan, np.nan, "risk_treated", 100),
        ("risk_control", 100 * q0, np.nan, np.nan, "risk_control", 100),
        ("risk_difference", *_lim(t, "naive_risk_difference", 100), "risk_difference", 100),
        ("risk_ratio", *_lim(t, "naive_risk_ratio", 1), "risk_ratio", 1),
    ]
    out = []
    for label, n_est, n_lo, n_hi, adj, k in rows:
        a = _lim(t, adj, k)
        out.append(
            {
                "measure": label,
                "naive": n_est,
                "naive_lower": n_lo,
                "naive_upper": n_hi,
                "adjusted": a[0],
                "adjusted_lower": a[1],
                "adjusted_upper": a[2],
            }
        )
    return pd.DataFrame(out)


def _lim(t: pd.DataFrame, term: str, k: float) -> tuple[float, float, float]:
    r = t.loc[term]
    return float(r["estimate"]) * k, float(r["lower"]) * k, float(r["upper"]) * k


# --------------------------------------------------------------------------------------
# balance and overlap
# --------------------------------------------------------------------------------------
def balance_table(result: CohortEffectResult, threshold: int = THRESHOLD) -> pd.DataFrame:
    """Covariate balance before and after weighting/matching, by design-matrix column (``covariate``: ``age``, ``education[kort]``, …).

    Shares of 0/1 covariates are shown in percent. An unweighted share that corresponds to
    1-4 persons (or all but 1-4) of its group is hidden (NaN): share × group size would
    give the small count back.

    Returns
    -------
    pandas.DataFrame
        ``covariate``, ``mean_treated``, ``mean_control`` (unweighted), ``smd_before``,
        ``smd_after``, ``binary``.
    """
    b = result.balance
    d = result.data
    n1, n0 = int(d["treated"].sum()), int((~d["treated"]).sum())
    xdf = _design_columns(result)
    rows = []
    for _, r in b.iterrows():
        col = r["covariate"]
        binary = bool(np.isin(xdf[col].to_numpy(float), (0.0, 1.0)).all())
        m1, m0 = float(r["mean_treated"]), float(r["mean_control"])
        if binary:
            m1, m0 = _safe_share(m1, n1, threshold), _safe_share(m0, n0, threshold)
        rows.append(
            {
                "covariate": col,
                "mean_treated": m1,
                "mean_control": m0,
                "smd_before": float(r["smd_before"]),
                "smd_after": float(r["smd_after"]),
                "binary": binary,
            }
        )
    return pd.DataFrame(rows)


def _design_columns(result: CohortEffectResult) -> pd.DataFrame:
    """The propensity model's design matrix (without intercept) as a DataFrame."""
    fit = result.ps_model
    x = np.asarray(fit.model.exog)[:, 1:]
    return pd.DataFrame(x, columns=list(result.balance["covariate"]))


def _safe_share(m: float, n: int, threshold: int) -> float:
    k = int(round(m * n))
    if 0 < k < threshold or 0 < n - k < threshold:
        return float("nan")
    return 100.0 * m


def overlap_table(result: CohortEffectResult) -> pd.DataFrame:
    """Propensity-score and weight diagnostics by group (no single-person extremes).

    Returns
    -------
    pandas.DataFrame
        ``visit``, ``n``, ``ps_p01``, ``ps_median``, ``ps_p99``, ``weight_max``, ``ess``.
    """
    o = result.overlap
    o = o.assign(
        visit=o["group"].map({"treated": VISIT_GROUPS[True], "control": VISIT_GROUPS[False]})
    )
    return o[["visit", "n", "ps_p01", "ps_median", "ps_p99", "weight_max", "ess"]].reset_index(
        drop=True
    )


def overlap_density(result: CohortEffectResult, points: int = 201) -> pd.DataFrame:
    """Kernel density of the propensity score by group on ``points`` values from 0 to 1.

    scipy's ``gaussian_kde`` (Scott's bandwidth) per group; a group with fewer than two
    persons or one distinct score has no curve (no rows). The density, not a histogram, so
    no bar shows the count of a handful of persons (figure: ``report.figures.overlap_plot``).

    Returns
    -------
    pandas.DataFrame
        ``treated`` (bool), ``ps`` (grid value), ``density``.
    """
    from scipy.stats import gaussian_kde

    d = result.data
    grid = np.linspace(0, 1, points)
    parts = []
    for flag in (True, False):
        ps = d.loc[d["treated"] == flag, "ps"].to_numpy(float)
        if len(ps) < 2 or np.ptp(ps) == 0:
            continue
        parts.append(pd.DataFrame({"treated": flag, "ps": grid, "density": gaussian_kde(ps)(grid)}))
    if not parts:
        return pd.DataFrame({"treated": pd.Series(dtype=bool), "ps": [], "density": []})
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------
# cumulative incidence with death as a competing risk
# --------------------------------------------------------------------------------------
def cif_by_visit(cohort: ReadmissionCohort, conf: float = 0.95) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence of readmission (death competing) by visit.

    Time is days since discharge (``time`` of the cohort). In a landmark cohort nobody
    has an event before the landmark, so its curves start there.
    """
    return stats.cumulative_incidence(
        cohort.data, "time", "event", event_of_interest=1, competing=(2,), by="visit", conf=conf
    )


def cif_points(
    cif: CumulativeIncidenceResult,
    start: float = 0.0,
    end: float = WINDOW_DAYS,
    threshold: int = THRESHOLD,
) -> pd.DataFrame:
    """The CIF and 1 - KM on a coarse day grid that never shows 1-4 readmissions.

    A step curve jumps at every event, so a plotted curve would show single readmissions.
    Here each group's curve is evaluated at whole days from ``start`` to ``end``, and
    consecutive days are merged until every interval between two plotted points holds 0 or
    at least ``threshold`` readmissions. If even the whole range holds 1-4, the group's end
    point is left out (NaN). Deaths move the curves only through the risk set and are not
    shown. Hand-written: disclosure-safe coarsening of a curve is not in a library.

    Returns
    -------
    pandas.DataFrame
        ``visit``, ``time``, ``cif``, ``lower``, ``upper``, ``one_minus_km``.
    """
    days = np.arange(np.floor(start), end + 1)
    out = []
    for key, g in cif.frame.groupby(cif.by, sort=False):
        pos = np.searchsorted(days, g["time"].to_numpy(float), side="left")  # day bin
        ev = np.bincount(pos, weights=g["events"].to_numpy(float), minlength=len(days) + 1)
        keep = _safe_grid(ev[1 : len(days)], threshold)  # events in (day[i-1], day[i]]
        at = {float(t): cif.at(float(t)).set_index(cif.by).loc[key] for t in days[keep]}
        rows = []
        for t, r in at.items():
            rows.append(
                {
                    "visit": key,
                    "time": t,
                    "cif": float(r["cif"]),
                    "lower": float(r["lower"]),
                    "upper": float(r["upper"]),
                    "one_minus_km": float(r["one_minus_km"]),
                }
            )
        frame = pd.DataFrame(rows)
        if keep[-1] != len(days) - 1:  # even the whole range is small: no end point
            frame = pd.concat(
                [frame, pd.DataFrame([{"visit": key, "time": float(days[-1])}])],
                ignore_index=True,
            )
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def _safe_grid(ev: np.ndarray, threshold: int) -> list[int]:
    """Indices of the day grid (0 = start) whose intervals hold 0 or >= threshold events."""

    def ok(e: float) -> bool:
        return e == 0 or e >= threshold

    keep = [0]
    acc = 0.0
    for i in range(len(ev)):
        acc += ev[i]
        if ok(acc):
            keep.append(i + 1)
            acc = 0.0
    # a small remainder after the last kept day: merge it into the preceding interval(s)
    while acc and len(keep) > 1:
        last = keep.pop()
        acc += ev[keep[-1] : last].sum()
        if ok(acc):
            keep.append(len(ev))
            acc = 0.0
    if not acc and keep[-1] != len(ev):
        keep.append(len(ev))
    return keep


def pooled_table(
    prep: Prepared, kommune: int, years: Sequence[int], indicator: str = "readmission_65"
) -> pd.DataFrame:
    """Share readmitted over ``years`` pooled for the kommune, its region and the country.

    Levels without any index discharge in the years are left out. Columns as
    :func:`nsv_eval.analyses.profile.trend` without ``year``.
    """
    from nsv_eval.analyses import profile
    from nsv_eval.analyses.catalogue import for_manifest
    from nsv_eval.analyses.data import filter_ages

    ind = for_manifest(prep.manifest)[indicator]
    base = filter_ages(prep.summary("year_age_sex"), ind.min_age)
    base = base[base["year"].isin(list(years))]
    rows = []
    for level in profile.LEVELS:
        area = Area.of(level, kommune)
        part = base[area.mask(base)]
        num, den = int(part[ind.numerator].sum()), int(part[ind.denominator].sum())
        if den > 0:
            rows.append({"level": level, "area": area.name, "numerator": num, "denominator": den})
    agg = pd.DataFrame(rows)
    out = stats.proportion(
        agg, "numerator", "denominator", by=["level", "area"], multiplier=ind.multiplier
    )
    out[["numerator", "denominator"]] = out[["numerator", "denominator"]].astype("int64")
    order = {lv: i for i, lv in enumerate(profile.LEVELS)}
    return out.sort_values("level", key=lambda s: s.map(order)).reset_index(drop=True)


# --------------------------------------------------------------------------------------
# everything study 4 computes for one area, once per data set
# --------------------------------------------------------------------------------------
@dataclass
class FollowupAnalysis:
    """The numbers of study 4's follow-up-visit sections for one area (:func:`followup_analysis`).

    With ``scope="region"`` they are the same for every kommune of the region, so a batch
    computes them once per region and data set. No person-level cohort is kept here (the
    design results keep their own analysis data, as :func:`followup_effect` returns them).

    Attributes
    ----------
    area : Area
        The scope.
    years : tuple of int
        First and last discharge year.
    counts : dict
        The main cohort's counts (:attr:`ReadmissionCohort.counts`).
    problem : str or None
        :func:`adequacy` of the main cohort; when set, nothing else is estimated.
    groups : pandas.DataFrame or None
        :func:`group_table` of the main cohort.
    effect : CohortEffectResult or None
        IPTW (ATE) on the main cohort, complete (person-level frame and propensity model:
        the report's balance table, effect table and love plot read them).
    effect_att, matched : CohortEffectResult or None
        IPTW (ATT) and 1:1 matching on the main cohort, kept without their person-level
        frame, propensity model and matched sets (:func:`_estimates_only`): the report reads
        only their estimates and match counts, and the area's persons need not be read back
        by every report.
    overlap_density : pandas.DataFrame or None
        :func:`overlap_density` of ``effect``.
    landmark_counts : dict
        The landmark cohort's counts (:data:`LANDMARK_DAY`).
    landmark_effect : CohortEffectResult or None
        IPTW on the landmark cohort (None when :func:`adequacy` refuses it), estimates only
        like ``effect_att``.
    cif_points : pandas.DataFrame or None
        :func:`cif_points` of :func:`cif_by_visit` on the main cohort.
    deaths : dict
        Deaths within 30 days without readmission (``event == 2``) per visit group code.
    """

    area: Area
    years: tuple[int, int]
    counts: dict[str, int]
    problem: str | None
    groups: pd.DataFrame | None = None
    effect: CohortEffectResult | None = None
    effect_att: CohortEffectResult | None = None
    matched: CohortEffectResult | None = None
    overlap_density: pd.DataFrame | None = None
    landmark_counts: dict[str, int] = field(default_factory=dict)
    landmark_effect: CohortEffectResult | None = None
    cif_points: pd.DataFrame | None = None
    deaths: dict[str, int] = field(default_factory=dict)


def _estimates_only(res: CohortEffectResult) -> CohortEffectResult:
    """``res`` without its person-level frame (no rows, same columns), propensity model and
    matched sets; estimates, balance, overlap and counts unchanged."""
    return replace(res, ps_model=None, person_frame=res.person_frame.iloc[:0], matched_sets=None)


def followup_analysis(
    prep: Prepared,
    kommune: int,
    *,
    scope: str = "region",
    years: Sequence[int],
    conf: float = 0.95,
) -> FollowupAnalysis:
    """Study 4's follow-up-visit numbers for the ``scope`` area of ``kommune``, memoised.

    The cohort (:func:`readmission_cohort`), its :func:`adequacy`, the crude
    :func:`group_table`, the IPTW (ATE and ATT), matching and landmark designs
    (:func:`followup_effect`) and the competing-risk curve points (:func:`cif_by_visit`,
    :func:`cif_points`). They depend only on the data, the area, the years and ``conf``;
    :meth:`Prepared.memo` keeps them once per data set and key in the shared directory,
    so the reports of the other kommuner of the area read the small result instead of
    the person-level cohort.
    """
    area = Area.of(scope, kommune)
    yrs = sorted(int(y) for y in years)

    def compute() -> FollowupAnalysis:
        # the area's rows read once for both cohorts (the landmark cohort below)
        raw = prep.table("cohort_readmission", area=area)
        rc = readmission_cohort(raw, kommune, scope=scope, years=yrs)
        problem = adequacy(rc)
        out = FollowupAnalysis(area=area, years=rc.years, counts=rc.counts, problem=problem)
        if problem is not None:
            return out
        out.groups = group_table(rc, conf=conf)
        out.effect = followup_effect(rc, conf=conf, cache=prep)
        out.overlap_density = overlap_density(out.effect)
        out.effect_att = _estimates_only(followup_effect(rc, estimand="ATT", conf=conf, cache=prep))
        out.matched = _estimates_only(followup_effect(rc, method="match", conf=conf, cache=prep))
        lc = readmission_cohort(raw, kommune, scope=scope, years=yrs, landmark_day=LANDMARK_DAY)
        out.landmark_counts = lc.counts
        if adequacy(lc) is None:
            out.landmark_effect = _estimates_only(followup_effect(lc, conf=conf, cache=prep))
        out.cif_points = cif_points(cif_by_visit(rc, conf=conf))
        d = rc.data
        out.deaths = {
            str(v): int(d.loc[d["visit"] == v, "event"].eq(2).sum()) for v in VISIT_GROUPS.values()
        }
        return out

    return prep.memo(
        "followup_analysis",
        compute,
        level=area.level,
        area=area.code,
        years=[yrs[0], yrs[-1]],
        conf=conf,
        landmark_day=LANDMARK_DAY,
        covariates=list(DEFAULT_COVARIATES),
    )
