"""Study 3 (*Fald blandt ældre*): fall injuries among residents 65+ and the falls programme.

What notebook ``03_fald`` computes, kept out of the notebook:

* :func:`resolve_start` — the kommune's roll-out date of an intervention, from the data
  (``rollout``) or from the ``intervention_dates`` parameter (also used by study 5);
* :func:`kommune_its`, :func:`its_placebo`, :func:`its_figure` — interrupted time series of
  the kommune's monthly 65+ series (person-years as offset, Fourier seasonality by month,
  quasi-Poisson; Lopez Bernal et al. 2017) with its placebo-in-time check (also used by
  study 5);
* :func:`did_check` (can the national DiD be estimated on this period?), :func:`national_did`, :func:`did_rate_ratio`, :func:`twfe_contrast` — staggered
  difference-in-differences over all 98 kommuner (Callaway & Sant'Anna 2021) on the annual
  fall-injury rate per 1,000 person-years 65+, its conversion to a rate ratio, and the
  two-way fixed-effects estimate shown only as a contrast;
* :func:`national_poisson_did`, :func:`effect_mde` — the main DiD estimate, a person-year
  weighted count DiD (extended two-way fixed effects Poisson), and the minimum detectable
  effect shown next to every estimate;
* :func:`participant_cohort`, :func:`cohort_iptw`, :func:`love_plot` — participants vs
  comparable non-participants (person-level ``cohort_falls``), inverse probability of
  treatment weighting, balance;
* :func:`triangulation` — do the designs that estimate the same kind of quantity agree?

Which quantity each design estimates
------------------------------------
ITS and DiD estimate a *population* effect: the change in the fall-injury rate of all
residents 65+ in kommuner that run the programme (participants and non-participants alike).
The cohort estimates the effect *on participants*. The two are not the same number: with a
share ``p`` of the 65+ taking part, a participant rate ratio ``RR`` corresponds to a
population ratio of roughly ``1 - p (1 - RR)``. Only ITS and DiD are therefore triangulated.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses import effects
from nsv_eval.analyses.data import Prepared
from nsv_eval.errors import InputError
from nsv_eval.reference import EDUCATION_LABELS_DA
from nsv_eval.report import theme
from nsv_eval.report.disclosure import hide_small
from nsv_eval.stats.designs.base import EffectResult

MEASURE = "fall_injury"
"""Cube measure: acute admission courses with a fall-injury action diagnosis."""
INDICATOR = "fall_injury_65"
"""Key of the indicator in :data:`nsv_eval.analyses.catalogue.INDICATORS`."""
INTERVENTION = "falls_programme"
"""Name of the intervention in ``rollout`` and ``interventions``."""

COHORT_COVARIATES: tuple[str, ...] = (
    "age",
    "sex",
    "education",
    "income",
    "living_alone",
    "home_care",
    "prior_falls_365d",
    "prior_fall_injury_365d",
    "prior_admissions_365d",
    "index_year",
)
"""Confounders of the participant cohort (``income`` = income quintile as categories,
``index_year`` = calendar year of the index date), as measured on the index date."""

COVARIATE_LABELS_DA: dict[str, str] = {
    "age": "Alder",
    "sex[M]": "Mand",
    "living_alone": "Bor alene",
    "home_care": "Hjemmehjælp",
    "prior_falls_365d": "Registrerede fald sidste år",
    "prior_fall_injury_365d": "Faldulykker sidste år",
    "prior_admissions_365d": "Akutte indlæggelser sidste år",
    "index_year": "Kalenderår",
    **{f"education[{k}]": v for k, v in EDUCATION_LABELS_DA.items()},
    **{f"income[{q}]": f"Indkomstkvintil {q}" for q in range(1, 6)},
}
"""Danish names of the design-matrix columns of the cohort (for the balance plot/table)."""

MIN_COHORT_EVENTS = 10
"""Fewest fall injuries (in each group) for a cohort analysis to be shown."""
MIN_ITS_EVENTS = 10
"""Fewest events before and after the start for a kommune's time series to be shown."""


# --------------------------------------------------------------------------------------
# start dates
# --------------------------------------------------------------------------------------
def resolve_start(
    prep: Prepared,
    kommune: int,
    intervention: str,
    intervention_dates: Any = "data",
) -> pd.Timestamp | None:
    """Start date of ``intervention`` in ``kommune`` (None when it never started).

    Parameters
    ----------
    prep : Prepared
        The prepared data (its ``rollout`` table is used with ``"data"``).
    kommune : int
        Kommune code.
    intervention : str
        ``"falls_programme"`` or ``"acute_team"``.
    intervention_dates : "data" or mapping
        The notebooks' parameter: ``"data"`` = the roll-out table; a mapping
        ``{intervention: date}`` overrides it (an empty value or None = never started).
        An intervention missing from the mapping falls back to the data.

    Returns
    -------
    pandas.Timestamp or None
    """
    if isinstance(intervention_dates, Mapping):
        if intervention in intervention_dates:
            v = intervention_dates[intervention]
            if v is None or (isinstance(v, str) and not v.strip()):
                return None
            try:
                return pd.Timestamp(v)
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"intervention_dates[{intervention!r}] = {v!r} is not a date (YYYY-MM-DD)"
                ) from exc
    elif intervention_dates not in (None, "data"):
        raise InputError(
            "intervention_dates must be 'data' or a mapping {intervention: date}, "
            f"got {intervention_dates!r}"
        )
    return prep.start_date(kommune, intervention)


def first_post_month(start: pd.Timestamp) -> pd.Timestamp:
    """First whole calendar month from ``start`` (the month itself when it starts on the 1st)."""
    start = pd.Timestamp(start)
    first = start.to_period("M").to_timestamp()
    return first if start.day == 1 else first + pd.offsets.MonthBegin(1)


# --------------------------------------------------------------------------------------
# interrupted time series (shared with study 5)
# --------------------------------------------------------------------------------------
def kommune_series(
    prep: Prepared, kommune: int, measure: str, years: Sequence[int] | None = None
) -> pd.DataFrame:
    """The kommune's monthly 65+ series of ``measure`` (see :func:`effects.monthly_series`)."""
    s = effects.monthly_series(prep, kommune, measure)
    if years is not None:
        s = s[s["year"].isin(list(years))]
    return s.reset_index(drop=True)


def its_check(
    prep: Prepared,
    kommune: int,
    measure: str,
    start: pd.Timestamp,
    *,
    years: Sequence[int] | None = None,
    min_events: int = MIN_ITS_EVENTS,
) -> str:
    """Why the kommune's time series cannot be analysed ("" when it can).

    Needs at least 3 months before and 1 after the first post month within ``years``, and
    ``min_events`` events both before and after: with fewer, a rate ratio and its placebo
    test are dominated by chance (a handful of events decides the result).
    """
    s = kommune_series(prep, kommune, measure, years)
    first = first_post_month(start)
    pre, post = s[s["date"] < first], s[s["date"] >= first]
    if len(pre) < 3 or len(post) < 1:
        return (
            f"Starten ({first:%Y-%m}) ligger for tæt på periodens begyndelse eller slutning "
            "til en tidsserieanalyse."
        )
    if pre["count"].sum() < min_events or post["count"].sum() < min_events:
        return (
            f"For få hændelser i kommunen til en tidsserieanalyse (under {min_events} før "
            "eller efter starten); resultatet ville være styret af tilfældigheder."
        )
    return ""


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
        The level-change rate ratio is the main effect; ``details["series"]`` holds the
        monthly series.

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
    res.details["series"] = s
    res.details["start_date"] = pd.Timestamp(start)
    return res


def its_placebo(res, *, max_fits: int = 24, min_segment: int = 6):
    """Placebo-in-time check of an ITS: fake starts inside the pre-period.

    At most ``max_fits`` fake starts, evenly spread over the admissible pre-period months
    (every month leaving ``min_segment`` months on each side). Returns None when the
    pre-period is too short for any fake start.
    """
    cf = res.counterfactual()
    pre = cf.loc[~res.details["_post"], "time"].to_numpy()
    cand = pre[min_segment : len(pre) - min_segment + 1]
    if len(cand) == 0:
        return None
    if len(cand) > max_fits:
        cand = cand[np.unique(np.linspace(0, len(cand) - 1, max_fits).round().astype(int))]
    return stats.placebo_in_time(res, fake_starts=[pd.Timestamp(t) for t in cand])


def its_figure(res, *, title: str, per: int = 1000, ylabel: str | None = None):
    """Observed yearly rate, the monthly model and the counterfactual (per ``per`` person-years).

    Observed values are shown per calendar year (sum of events over sum of person-years),
    because a small kommune's monthly or quarterly counts are mostly 1-4 and would have to be
    hidden; years with 1-4 events are left out (disclosure). Model and counterfactual lines
    are the model's monthly values; the counterfactual's 95 % band is clipped at twice the
    highest plotted value so the series stays readable.
    """
    import matplotlib.pyplot as plt

    cf = res.counterfactual()
    post = np.asarray(res.details["_post"])
    off = cf["offset"].to_numpy(float)
    scale = per / off
    x = pd.to_datetime(cf["time"])
    yr = pd.DataFrame({"year": x.dt.year, "n": cf["observed"], "py": off})
    yr = yr.groupby("year", as_index=False)[["n", "py"]].sum()
    yr["rate"] = yr["n"] / yr["py"] * per
    yr = hide_small(yr, "rate", "n")
    yx = pd.to_datetime({"year": yr["year"], "month": 7, "day": 1})
    fitted = cf["fitted"].to_numpy() * scale
    cfv = cf["counterfactual"].to_numpy() * scale
    cfl = cf["counterfactual_lower"].to_numpy() * scale
    cfu = cf["counterfactual_upper"].to_numpy() * scale
    xs = x.to_numpy()
    top = 2 * np.nanmax(np.r_[fitted, cfv, yr["rate"].to_numpy(float)])
    fig, ax = plt.subplots(figsize=(9, 4.2))
    colours = theme.ROLE_COLOURS
    ax.plot(yx, yr["rate"], "o", ms=6, color="#333333", label="Observeret (pr. år)")
    ax.plot(xs, fitted, "-", color=colours["kommune"], lw=1.4, label="Model (pr. måned)")
    ax.plot(
        xs[post],
        cfv[post],
        "--",
        color=colours["intervention"],
        lw=1.6,
        label="Forventet uden indsats",
    )
    ax.fill_between(
        xs[post],
        cfl[post],
        np.minimum(cfu[post], top),
        color=colours["intervention"],
        alpha=0.15,
        lw=0,
        label="95 %-konfidensinterval",
    )
    ax.axvline(xs[post][0], color="black", ls=":", lw=1)
    ax.set_ylabel(ylabel or f"Hændelser pr. {per:,} personår 65+".replace(",", "."))
    ax.set_xlabel("")
    ax.set_ylim(0, top)
    ax.legend(frameon=False, fontsize=9, ncols=2, loc="upper left")
    theme.finish(fig, title=title)
    return fig


def its_sentence(res, what: str) -> str:
    """Plain Danish paragraph on an ITS result of :func:`kommune_its`."""
    from nsv_eval.report.format import fmt_date, fmt_number

    m = res.main_effect()
    d = res.details
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    change = (est - 1) * 100
    s = (
        f"Modellen bygger på {d['n_pre']} måneder før og {d['n_post']} måneder efter starten "
        f"({fmt_date(d['start_date'])}). Efter starten lå {what} {fmt_number(abs(change), 0)} % "
        f"{'under' if change < 0 else 'over'} det forventede niveau uden indsats (rateratio "
        f"{fmt_number(est, 2)}; 95 %-KI: {fmt_number(lo, 2)}–{fmt_number(hi, 2)}). "
    )
    if hi < 1:
        s += "Faldet er større, end tilfældigheder kan forklare."
    elif lo > 1:
        s += "Stigningen er større, end tilfældigheder kan forklare."
    else:
        s += "Data kan ikke udelukke, at indsatsen ingen effekt har haft."
    if d["autocorrelation_flag"]:
        s += (
            " Der er tegn på sammenhæng mellem nabomåneder (autokorrelation), så intervallet "
            "kan være lidt for smalt."
        )
    return s


def forest_plot(tri: Triangulation, *, title: str):
    """Forest plot of the triangulated rate ratios (log axis, Danish tick labels)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    from nsv_eval.report.format import fmt_number

    t = tri.result.designs
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(t) + 1.6))
    y = np.arange(len(t))[::-1]
    ax.errorbar(
        t["estimate"],
        y,
        xerr=[t["estimate"] - t["lower"], t["upper"] - t["estimate"]],
        fmt="s",
        color=theme.ROLE_COLOURS["kommune"],
        capsize=4,
        ms=7,
    )
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xscale("log")
    lo = min(float(t["lower"].min()), 0.9)
    hi = max(float(t["upper"].max()), 1.1)
    ticks = [v for v in (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2, 3, 5) if lo <= v <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([fmt_number(v, 2).rstrip("0").rstrip(",") for v in ticks])
    ax.set_xlim(lo / 1.1, hi * 1.1)
    ax.set_yticks(y, t["name"])
    ax.set_ylim(-0.7, len(t) - 0.3)
    ax.set_xlabel("Rateratio (under 1 = færre end forventet uden indsats)")
    theme.finish(fig, title=title, x=False)
    return fig


# --------------------------------------------------------------------------------------
# staggered difference-in-differences across all kommuner
# --------------------------------------------------------------------------------------
def national_panel(
    prep: Prepared,
    *,
    measure: str = MEASURE,
    intervention: str = INTERVENTION,
    years: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Kommune × year panel of the 65+ rate per 1,000 person-years (:func:`effects.annual_panel`).

    ``first_treated`` is the first full calendar year of the programme (0 = never).
    """
    p = effects.annual_panel(prep, measure, intervention)
    if years is not None:
        p = p[p["year"].isin(list(years))]
    return p.reset_index(drop=True)


def did_check(panel: pd.DataFrame, *, anticipation: int = 0) -> str | None:
    """Why a difference-in-differences across kommuner cannot be estimated on ``panel``.

    Returns a Danish reason (for the report) or None when the panel has what the designs
    need: at least two years, and at least one kommune that starts after the panel's first
    year (after ``anticipation`` years) and within it — otherwise no kommune has both a
    before and an after (e.g. a short study period, or a programme nobody has started yet).
    """
    years = sorted(int(y) for y in pd.unique(panel["year"]))
    if len(years) < 2:
        return (
            f"perioden har kun ét år ({years[0] if years else 'intet'}), så der er intet før "
            "og efter at sammenligne"
        )
    g = panel.groupby("kommune_code")["first_treated"].first()
    first_ok = years[min(anticipation, len(years) - 1)]
    usable = g[(g > first_ok) & (g <= years[-1])]
    if usable.empty:
        return (
            f"ingen kommune startede indsatsen i perioden {years[0]}–{years[-1]} efter "
            "periodens første år, så ingen kommune har både et før og et efter i perioden"
        )
    if not (g == 0).any() and usable.nunique() < 2:
        return (
            "alle kommuner har indsatsen, og de startede samme år, så der er ingen "
            "kommuner at sammenligne med"
        )
    return None


def national_did(
    panel: pd.DataFrame, *, control: str = "notyet", conf: float = 0.95
) -> tuple[Any, list[str]]:
    """Callaway & Sant'Anna DiD of the annual rate on the national panel.

    Parameters
    ----------
    panel : pandas.DataFrame
        From :func:`national_panel`.
    control : {"notyet", "never"}
        Comparison group: not-yet-treated and never-treated kommuner, or never-treated only.
    conf : float
        Confidence level.

    Returns
    -------
    (DiDResult, list of str)
        The result (main effect: the simple ATT per 1,000 person-years 65+) and any warnings
        the estimator gave (e.g. kommuner dropped for starting in the first year).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.did(
            panel, "rate", "kommune_code", "year", "first_treated", control=control, conf=conf
        )
    return res, [str(w.message) for w in caught]


def treated_post_mean(panel: pd.DataFrame, res) -> float:
    """Mean observed rate over the treated kommune-years after the start that the DiD uses.

    The simple ATT of :func:`nsv_eval.stats.did` weights every post-treatment ATT(g, t) by
    its cohort's size, i.e. it is the mean over treated kommune-years; its counterfactual is
    this mean minus the ATT.
    """
    periods = res.details["periods"]
    gt = res.group_time()
    cohorts = set(gt["group"].unique())
    p = panel[panel["year"].isin(periods) & panel["first_treated"].isin(cohorts)]
    post = p[p["year"] >= p["first_treated"]]
    return float(post["rate"].mean())


def did_rate_ratio(res, panel: pd.DataFrame) -> EffectResult:
    """The DiD simple ATT expressed as a rate ratio to the treated kommuner's counterfactual.

    ``ratio = mean_post / (mean_post - ATT)`` with the observed mean held fixed, and the
    interval ``mean_post / (mean_post - L)`` to ``mean_post / (mean_post - U)``
    (:func:`nsv_eval.stats.designs.ratio_from_additive` via
    :func:`nsv_eval.analyses.effects.rate_ratio_from_att`): the observed mean is known, so
    the interval of the ATT maps exactly onto the ratio. A ratio of means is not the mean of
    kommune ratios.

    Returns
    -------
    EffectResult
        ``design="did"``, ``scale="rate_ratio"``, term ``att_ratio``; ``details`` keep the
        baseline, the counterfactual and the ATT.
    """
    row = res.main_effect()
    base = treated_post_mean(panel, res)
    est, lo, hi = effects.rate_ratio_from_att(
        float(row["estimate"]), float(row["lower"]), float(row["upper"]), base
    )
    tab = pd.DataFrame(
        [dict(term="att_ratio", estimate=est, lower=lo, upper=hi, p_value=row["p_value"])]
    )
    return EffectResult(
        design="did",
        effects=tab,
        main_term="att_ratio",
        scale="rate_ratio",
        conf=res.conf,
        assumptions=res.assumptions,
        details=dict(
            treated_post_mean=base,
            counterfactual_mean=base - float(row["estimate"]),
            att=float(row["estimate"]),
            att_lower=float(row["lower"]),
            att_upper=float(row["upper"]),
        ),
    )


def twfe_contrast(panel: pd.DataFrame, *, conf: float = 0.95) -> tuple[Any, str | None]:
    """Two-way fixed-effects estimate on the same panel, with the warning it gives.

    Shown only as a contrast: with a staggered roll-out it uses already-treated kommuner as
    controls (Goodman-Bacon 2021).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.twfe(
            panel, "rate", "kommune_code", "year", first_treated="first_treated", conf=conf
        )
    msgs = [str(w.message) for w in caught if "twfe" in str(w.message)]
    return res, (msgs[0] if msgs else None)


def _did_verdict_da(lo: float, hi: float, null: float, res) -> str:
    """Whether a DiD interval excludes ``null``, and its pre-trend test, in Danish (shared
    by :func:`did_sentence` and :func:`poisson_did_sentence`)."""
    from nsv_eval.report.format import fmt_p

    if hi < null:
        s = "Faldet er større, end tilfældigheder kan forklare."
    elif lo > null:
        s = "Stigningen er større, end tilfældigheder kan forklare."
    else:
        s = "Data kan ikke udelukke, at indsatsen ingen effekt har haft."
    p = res.pretest().get("p_value", np.nan)
    if np.isfinite(p):
        s += f" Test for ens tendenser før start: {fmt_p(p)}" + (
            " (ingen tegn på forskelle)."
            if p >= 0.05
            else " — kommunerne fulgte forskellige tendenser før start; fortolk med forsigtighed."
        )
    return s


def did_sentence(res, ratio: EffectResult, what: str, unit: str) -> str:
    """Plain Danish paragraph on the national DiD (:func:`national_did`) and its ratio."""
    from nsv_eval.report.format import fmt_number

    m = res.main_effect()
    r = ratio.main_effect()
    st = res.details["_state"]
    n_units = len(st["panel"].units)
    n_treated = int(np.isfinite(st["panel"].gpos).sum())
    ctrl = {"never": "aldrig", "notyet": "endnu ikke eller aldrig"}[res.details["control"]]
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    s = (
        f"{n_treated} af {n_units} kommuner startede i perioden; hver startårgang er sammenlignet "
        f"med kommuner, der {ctrl} havde startet. Efter start ændrede {what} sig i gennemsnit "
        f"med {fmt_number(est, 1)} {unit} (95 %-KI: {fmt_number(lo, 1)} til {fmt_number(hi, 1)}), "
        f"svarende til en rateratio på ca. {fmt_number(r['estimate'], 2)}. "
    )
    return s + _did_verdict_da(lo, hi, 0, res)


def event_study_table(res) -> pd.DataFrame:
    """Event-study estimates (years relative to the start) of a DiD result."""
    es = res.aggregate("dynamic").iloc[1:].copy()
    es["event_time"] = es["value"].astype(int)
    return es[["event_time", "estimate", "lower", "upper", "p_value"]].reset_index(drop=True)


def cohort_group_effect(res, first_treated: int) -> pd.Series | None:
    """The average ATT of one start cohort (``did`` group aggregation), or None if absent."""
    g = res.aggregate("group").iloc[1:]
    hit = g[g["value"] == first_treated]
    return None if hit.empty else hit.iloc[0]


# --------------------------------------------------------------------------------------
# count difference-in-differences (main estimate) and minimum detectable effects
# --------------------------------------------------------------------------------------
def national_poisson_did(
    panel: pd.DataFrame,
    *,
    control: str = "notyet",
    conf: float = 0.95,
    count: str = "count",
    exposure: str = "person_years",
    anticipation: int = 0,
) -> tuple[Any, list[str]]:
    """Poisson DiD of the annual counts on the national panel (the main DiD estimate).

    ``anticipation=1`` for roll-outs on any day of the year (the acute team): the panel's
    ``first_treated`` is the first *full* year, so the start year is partly treated and gets
    its own effect instead of serving as a pre-period.

    Extended two-way fixed effects Poisson (:func:`nsv_eval.stats.poisson_did`, Wooldridge
    2023): kommune and year effects, person-years 65+ as offset, one effect per start
    cohort and year, kommune-clustered standard errors. Every person-year counts equally,
    so a kommune weighs with its size; the Callaway & Sant'Anna estimate on kommune rates
    (:func:`national_did`, every kommune equal) is kept as the robustness check.

    Returns
    -------
    (PoissonDiDResult, list of str)
        The result (main effect: rate ratio after the start) and any warnings it gave.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.poisson_did(
            panel,
            count,
            "kommune_code",
            "year",
            "first_treated",
            exposure=exposure,
            control=control,
            conf=conf,
            anticipation=anticipation,
        )
    return res, [str(w.message) for w in caught if "poisson_did" in str(w.message)]


def poisson_did_sentence(res, what: str) -> str:
    """Plain Danish paragraph on the national Poisson DiD (:func:`national_poisson_did`)."""
    from nsv_eval.report.format import fmt_number

    m = res.main_effect()
    d = res.details
    ctrl = {"never": "aldrig", "notyet": "endnu ikke eller aldrig"}[d["control"]]
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    s = (
        f"{d['n_treated']} af {d['n_units']} kommuner startede i perioden; hver startårgang er "
        f"sammenlignet med kommuner, der {ctrl} havde startet, og hvert personår tæller lige "
        f"meget. Efter start var {what} {fmt_number(est, 2)} gange det forventede niveau uden "
        f"indsatsen (rateratio, 95 %-KI: {fmt_number(lo, 2)} til {fmt_number(hi, 2)}), dvs. "
        f"{'et fald' if est < 1 else 'en stigning'} på ca. {fmt_number(abs(1 - est) * 100, 0)} %. "
    )
    return s + _did_verdict_da(lo, hi, 1, res)


def effect_mde(result: EffectResult, *, power: float = 0.8, alpha: float = 0.05):
    """Minimum detectable effect of a design's headline estimate (:mod:`nsv_eval.stats.power`).

    Ratio scales: from the log-scale SE when the result has one (``se`` of a
    :func:`~nsv_eval.stats.poisson_did` row, with t quantiles on its ``df``), else recovered
    from the Wald interval on the log scale; additive scales: from ``se`` or the interval.
    Returns an
    :class:`~nsv_eval.stats.power.MDE` (``.text_da()``, ``.to_dict()``).
    """
    from nsv_eval.stats import power as pw

    row = result.main_effect()
    ratio = result.scale.endswith("ratio")
    if ratio and "se" in row.index and "log_estimate" in row.index and pd.notna(row["se"]):
        # t quantiles on the estimate's own (Bell–McCaffrey) degrees of freedom when it has them
        df = float(row["df"]) if "df" in row.index and np.isfinite(row["df"]) else None
        return pw.mde_from_se(float(row["se"]), scale="log", alpha=alpha, power=power, df=df)
    if not ratio and "se" in row.index and pd.notna(row["se"]):
        return pw.mde_from_se(float(row["se"]), scale="additive", alpha=alpha, power=power)
    return pw.mde_from_ci(
        float(row["lower"]),
        float(row["upper"]),
        conf=result.conf,
        ratio=ratio,
        alpha=alpha,
        power=power,
    )


# --------------------------------------------------------------------------------------
# participants vs comparable non-participants
# --------------------------------------------------------------------------------------
def participant_cohort(prep: Prepared, kommune: int, scope: str = "region") -> pd.DataFrame:
    """Persons 65+ offered the programme: participants and comparable non-participants.

    ``scope`` is ``"kommune"``, ``"region"`` or ``"land"`` (kommuner with the programme in
    that area; :func:`nsv_eval.analyses.effects.cohort`). Adds the analysis columns
    ``income`` (quintile as a category) and ``index_year``.
    """
    df = effects.cohort(prep, "falls", kommune=kommune, scope=scope)
    df["income"] = df["income_quintile"].astype(int).astype(str)
    df["index_year"] = df["year"].astype(int)
    df["participant"] = df["participant"].astype(bool)
    df["fall_injury_365d"] = df["fall_injury_365d"].astype(bool)
    return df


@dataclass
class CohortCheck:
    """Whether a cohort is large enough for a propensity-score analysis."""

    ok: bool
    participants: int
    non_participants: int
    events_participants: int
    events_non_participants: int
    reason_da: str = ""


def cohort_check(df: pd.DataFrame, min_events: int = MIN_COHORT_EVENTS) -> CohortCheck:
    """Counts of the cohort and whether each group has at least ``min_events`` fall injuries."""
    t = df["participant"].astype(bool)
    y = df["fall_injury_365d"].astype(bool)
    n1, n0 = int(t.sum()), int((~t).sum())
    e1, e0 = int((y & t).sum()), int((y & ~t).sum())
    ok = e1 >= min_events and e0 >= min_events
    reason = (
        ""
        if ok
        else (
            f"For få faldulykker til en pålidelig sammenligning (under {min_events} i mindst "
            "én af grupperne)."
        )
    )
    return CohortCheck(ok, n1, n0, e1, e0, reason)


def cohort_iptw(
    df: pd.DataFrame,
    *,
    covariates: Sequence[str] = COHORT_COVARIATES,
    estimand: str = "ATT",
    conf: float = 0.95,
    cache: Prepared | None = None,
    outcome: str = "fall_injury_365d",
):
    """Participants vs non-participants: risk of a fall injury within 365 days, IPTW-adjusted.

    ``outcome`` can name another binary column, e.g. the negative-control outcome
    ``nc_admission_365d`` (:func:`negative_control`).

    With ``cache`` (the :class:`Prepared` data) the fit is kept in its shared directory and
    reused by every report that asks for the same cohort (all kommuner of a region).

    Logistic propensity model on ``covariates``; weights for the effect among participants
    (``estimand="ATT"``: participants 1, non-participants e/(1-e)), stabilised; variance by
    the M-estimation sandwich (:func:`nsv_eval.stats.cohort_effect`). The table carries the
    naive comparison and the E-value. Covariates that are constant in ``df`` (e.g. one
    calendar year in a small kommune) are left out.
    """
    use = [c for c in covariates if df[c].nunique() > 1]
    if len(df) and df["kommune_code"].nunique() > 1:
        df = df.assign(kommune=df["kommune_code"].astype(int).astype(str))
        use.append("kommune")

    def fit():
        res = stats.cohort_effect(
            df, "participant", outcome, use, method="iptw", estimand=estimand, conf=conf
        )
        res.details["participant_share"] = float(df["participant"].mean())
        return res

    if cache is None:
        return fit()
    extra = {} if outcome == "fall_injury_365d" else {"outcome": outcome}
    return cache.memo(
        "falls_cohort_iptw", fit, data=df, covariates=use, estimand=estimand, conf=conf, **extra
    )


NEGATIVE_CONTROL = "nc_admission_365d"
"""Negative-control outcome of the falls cohort: acute admissions without a fall injury."""


def negative_control(
    df: pd.DataFrame,
    *,
    conf: float = 0.95,
    cache: Prepared | None = None,
    covariates: Sequence[str] = COHORT_COVARIATES,
):
    """The cohort's IPTW "effect" on the negative-control outcome, or None without the column.

    The programme targets falls; it cannot prevent other acute admissions. The same
    adjusted comparison on ``nc_admission_365d`` therefore estimates the bias of the
    comparison itself (e.g. confounding by frailty the registers do not record): a ratio
    away from 1 means the participants differ from the controls in ways the weights do not
    remove. Older prepared data without the column give None.
    """
    if NEGATIVE_CONTROL not in df.columns:
        return None
    return cohort_iptw(df, covariates=covariates, conf=conf, cache=cache, outcome=NEGATIVE_CONTROL)


def negative_control_sentence(nc_res) -> str:
    """Danish paragraph on the negative-control result, whichever direction it goes."""
    from nsv_eval.report.format import fmt_number

    m = nc_res.main_effect()
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    s = (
        "**Negativ kontrol.** Faldforebyggelse kan ikke forhindre andre akutte indlæggelser end "
        "faldulykker. Samme justerede sammenligning af disse indlæggelser giver en risikoratio "
        f"på {fmt_number(est, 2)} (95 %-KI: {fmt_number(lo, 2)} til {fmt_number(hi, 2)}). "
    )
    if hi < 1:
        s += (
            "Deltagerne ser altså ud til at have *færre* indlæggelser, som programmet ikke kan "
            "påvirke. Det er et tegn på, at sammenligningen er skæv i retning af en gunstig "
            "effekt (fx sundere eller mere aktive deltagere), og at også faldeffekten kan være "
            "overvurderet."
        )
    elif lo > 1:
        s += (
            "Deltagerne har altså *flere* indlæggelser, som programmet ikke kan påvirke. Det er "
            "et tegn på, at deltagerne er skrøbeligere på måder, registrene ikke viser, og at "
            "faldeffekten kan være undervurderet (skævhed mod »ingen effekt« eller »skade«)."
        )
    else:
        s += (
            "Den er forenelig med 1, så testen finder ingen skævhed; den kan dog kun afsløre "
            "skævhed, der også påvirker andre indlæggelser, og et bredt interval udelukker ikke "
            "en betydelig skævhed."
        )
    return s


def balance_table(res, *, max_rows: int | None = None) -> pd.DataFrame:
    """Balance (SMD before/after) with Danish covariate names; kommune dummies summarised.

    Kommune indicators (present when the cohort spans several kommuner) are summarised in
    one row holding the largest absolute SMD among them.
    """
    b = res.balance.copy()
    is_k = b["covariate"].str.startswith("kommune[")
    rows = b[~is_k].copy()
    if is_k.any():
        k = b[is_k]
        rows = pd.concat(
            [
                rows,
                pd.DataFrame(
                    [
                        dict(
                            covariate="Kommune (største forskel)",
                            smd_before=float(k["smd_before"].abs().max()),
                            smd_after=float(k["smd_after"].abs().max()),
                        )
                    ]
                ),
            ],
            ignore_index=True,
        )
    rows["covariate"] = rows["covariate"].map(lambda c: COVARIATE_LABELS_DA.get(c, c))
    rows["smd_before"] = rows["smd_before"].abs()
    rows["smd_after"] = rows["smd_after"].abs()
    out = rows[["covariate", "smd_before", "smd_after"]].reset_index(drop=True)
    return out.head(max_rows) if max_rows else out


def love_plot(res, *, title: str = "Balance før og efter vægtning", threshold: float = 0.1):
    """Love plot (absolute SMD before/after weighting) with Danish covariate names."""
    import matplotlib.pyplot as plt

    b = balance_table(res).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.33 * len(b) + 1.6))
    y = np.arange(len(b))
    ax.scatter(
        b["smd_before"],
        y,
        facecolors="none",
        edgecolors=theme.ROLE_COLOURS["intervention"],
        s=45,
        label="Før vægtning",
    )
    ax.scatter(
        b["smd_after"], y, color=theme.ROLE_COLOURS["kommune"], marker="D", s=32, label="Efter"
    )
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_yticks(y, b["covariate"])
    ax.set_xlabel("Absolut standardiseret forskel mellem deltagere og ikke-deltagere")
    ax.legend(frameon=False, loc="lower right")
    theme.finish(fig, title=title)
    return fig


def cohort_effect_table(res) -> pd.DataFrame:
    """Naive and adjusted risk ratio side by side, with risks and E-values."""
    t = res.table().set_index("term")
    d = res.details
    pdat = d["data"]
    naive = pdat.groupby("treated")["outcome"].mean()
    rows = []
    for label, term, rterm in (
        ("Ujusteret (rå sammenligning)", "naive_risk_ratio", None),
        ("Justeret (IPTW)", "risk_ratio", "risk_treated"),
    ):
        r = t.loc[term]
        rows.append(
            dict(
                analysis=label,
                participants=d["n_treated"],
                non_participants=d["n_control"],
                risk_participants=100
                * float(t.loc[rterm, "estimate"] if rterm else naive.loc[True]),
                risk_non_participants=100
                * float(t.loc["risk_control", "estimate"] if rterm else naive.loc[False]),
                estimate=r["estimate"],
                lower=r["lower"],
                upper=r["upper"],
                e_value=r["e_value"],
            )
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# triangulation
# --------------------------------------------------------------------------------------
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


VERDICT_DA = {
    "agree": "peger i samme retning og er forenelige",
    "disagree": "giver forskellige svar",
    "inconclusive": "er ikke entydigt enige",
}


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


def verdict_sentence(tri: Triangulation, what: str) -> str:
    """A plain Danish sentence on whether the designs agree about ``what``."""
    if tri.result is None:
        return tri.reason_da
    r = tri.result
    t = r.designs
    all_below = bool((t["upper"] < 1).all())
    any_below = bool((t["upper"] < 1).any())
    s = f"Designene ({', '.join(tri.names)}) {VERDICT_DA[r.verdict]} om {what}."
    if r.verdict == "agree" and all_below:
        s += " Alle finder et fald, der ikke kan forklares med tilfældigheder."
    elif r.verdict == "agree" and any_below:
        s += " Mindst ét design finder et sikkert fald; de øvrige er forenelige med det."
    elif r.verdict == "agree":
        s += " Ingen af dem kan dog udelukke, at indsatsen ingen effekt har haft."
    elif r.verdict == "disagree":
        s += " Resultatet afhænger af designet, og konklusionen er derfor usikker."
    else:
        s += " Resultaterne er for usikre til en fælles konklusion."
    return s
