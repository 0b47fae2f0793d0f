"""Study 3 (*Fald blandt ældre*): fall injuries among residents 65+ and the falls programme.

The numbers of study 3 (the sections, words and figures are in
:mod:`nsv_eval.report.studies.s03_fald`, :mod:`nsv_eval.report.figures` and
:mod:`nsv_eval.report.sentences`):

* :func:`resolve_start` — the kommune's roll-out date of an intervention, from the data
  (``rollout``) or from the ``intervention_dates`` parameter (also used by study 5);
* :func:`its_check` — can the kommune's interrupted time series be analysed? (the series,
  :func:`~nsv_eval.analyses.effects.kommune_its` and its placebo are generic effect helpers
  in :mod:`nsv_eval.analyses.effects`, also used by study 5 and the business case);
* :func:`did_check` (can the national DiD be estimated on this period?), :func:`national_did`,
  :func:`twfe_contrast` (the ratio form: :func:`nsv_eval.analyses.effects.did_rate_ratio`) — staggered
  difference-in-differences over all 98 kommuner (Callaway & Sant'Anna 2021) on the annual
  fall-injury rate per 1,000 person-years 65+, its conversion to a rate ratio, and the
  two-way fixed-effects estimate shown only as a contrast;
* :func:`shared_work` — the national fits above computed once per data set (a batch calls it
  before the reports);
* :func:`national_poisson_did`, :func:`effect_mde` — the main DiD estimate, a person-year
  weighted count DiD (extended two-way fixed effects Poisson), and the minimum detectable
  effect shown next to every estimate;
* :func:`participant_cohort`, :func:`cohort_iptw`, :func:`balance_table` — participants vs
  comparable non-participants (person-level ``cohort_falls``), inverse probability of
  treatment weighting, balance;
* triangulation (:func:`nsv_eval.analyses.effects.triangulation`) — do the designs that
  estimate the same kind of quantity agree?

Which quantity each design estimates
------------------------------------
ITS and DiD estimate a *population* effect: the change in the fall-injury rate of all
residents 65+ in kommuner that run the programme (participants and non-participants alike).
The cohort estimates the effect *on participants*. The two are not the same number: with a
share ``p`` of the 65+ taking part, a participant rate ratio ``RR`` corresponds to a
population ratio of roughly ``1 - p (1 - RR)``. Only ITS and DiD are therefore triangulated.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses import effects
from nsv_eval.analyses.data import Prepared
from nsv_eval.errors import InputError
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


# --------------------------------------------------------------------------------------
# interrupted time series (shared with study 5)
# --------------------------------------------------------------------------------------


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
    s = effects.kommune_series(prep, kommune, measure, years)
    first = effects.first_post_month(start)
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


# --------------------------------------------------------------------------------------
# staggered difference-in-differences across all kommuner
# --------------------------------------------------------------------------------------
def national_panel(
    prep: Prepared,
    *,
    measure: str = MEASURE,
    intervention: str = INTERVENTION,
    years: Sequence[int] | None = None,
    standardise: bool = True,
) -> pd.DataFrame:
    """Kommune × year panel of the 65+ rate per 1,000 person-years (:func:`effects.annual_panel`).

    ``first_treated`` is the first full calendar year of the programme (0 = never).
    ``standardise`` (default): ``rate`` is the indirectly age- and sex-standardised rate and
    ``expected`` the events at the year's national age-band × sex rates, the exposure of
    :func:`national_poisson_did`; with real age pyramids crude 65+ rates drift apart without
    any intervention (issue #13), which breaks parallel trends.
    """
    p = effects.annual_panel(prep, measure, intervention, standardise=standardise)
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
    panel: pd.DataFrame,
    *,
    control: Literal["never", "notyet"] = "notyet",
    conf: float = 0.95,
    cache: Prepared | None = None,
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
    cache : Prepared, optional
        With the prepared data, the fit is computed once per data set and panel and kept in
        its shared directory (:meth:`Prepared.memo`): the panel is national, the same for
        every kommune's report.

    Returns
    -------
    (DiDResult, list of str)
        The result (main effect: the simple ATT per 1,000 person-years 65+) and any warnings
        the estimator gave (e.g. kommuner dropped for starting in the first year).
    """

    def fit() -> tuple[Any, list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.did(
                panel, "rate", "kommune_code", "year", "first_treated", control=control, conf=conf
            )
        return res, [str(w.message) for w in caught]

    if cache is None:
        return fit()
    return cache.memo("falls_national_did", fit, data=panel, control=control, conf=conf)


def twfe_contrast(
    panel: pd.DataFrame, *, conf: float = 0.95, cache: Prepared | None = None
) -> tuple[Any, str | None]:
    """Two-way fixed-effects estimate on the same panel, with the warning it gives.

    Shown only as a contrast: with a staggered roll-out it uses already-treated kommuner as
    controls (Goodman-Bacon 2021). With ``cache`` computed once per data set and panel
    (:meth:`Prepared.memo`).
    """

    def fit() -> tuple[Any, str | None]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.twfe(
                panel, "rate", "kommune_code", "year", first_treated="first_treated", conf=conf
            )
        msgs = [str(w.message) for w in caught if "twfe" in str(w.message)]
        return res, (msgs[0] if msgs else None)

    if cache is None:
        return fit()
    return cache.memo("falls_twfe", fit, data=panel, conf=conf)


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
    control: Literal["never", "notyet"] = "notyet",
    conf: float = 0.95,
    count: str = "count",
    exposure: str | None = None,
    anticipation: int = 0,
    cache: Prepared | None = None,
) -> tuple[Any, list[str]]:
    """Poisson DiD of the annual counts on the national panel (the main DiD estimate).

    ``anticipation=1`` for roll-outs on any day of the year (the acute team): the panel's
    ``first_treated`` is the first *full* year, so the start year is partly treated and gets
    its own effect instead of serving as a pre-period.

    Extended two-way fixed effects Poisson (:func:`nsv_eval.stats.poisson_did`, Wooldridge
    2023): kommune and year effects, one effect per start cohort and year, kommune-clustered
    standard errors. The offset is ``log(exposure)``; by default (``exposure=None``) the
    panel's ``expected`` events at the year's national age-band × sex rates when it has them
    (the age- and sex-adjusted Poisson model: the kommune's count against what its own age
    and sex mix would give; :func:`national_panel` with ``standardise=True``), else
    person-years 65+. Every (expected) event counts equally,
    so a kommune weighs with its size; the Callaway & Sant'Anna estimate on kommune rates
    (:func:`national_did`, every kommune equal) is kept as the robustness check.

    With ``cache`` (the :class:`Prepared` data) the fit is computed once per data set and
    panel and kept in its shared directory (:meth:`Prepared.memo`): the panel is national,
    so every kommune's report asks for the same fit. The kept result has no pyfixest
    ``model`` (None; it cannot be pickled).

    Returns
    -------
    (PoissonDiDResult, list of str)
        The result (main effect: rate ratio after the start) and any warnings it gave.
    """
    exposure = exposure or ("expected" if "expected" in panel.columns else "person_years")

    def fit() -> tuple[Any, list[str]]:
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

    if cache is None:
        return fit()

    def fit_kept() -> tuple[Any, list[str]]:
        res, msgs = fit()
        # the pyfixest model object cannot be pickled (it holds a local function); every
        # number of the result (cells, aggregations, pre-test) is in its frames and
        # ``fit_state``, so the kept result has ``model=None``
        return dataclasses.replace(res, model=None), msgs

    return cache.memo(
        "falls_national_poisson_did",
        fit_kept,
        data=panel,
        control=control,
        conf=conf,
        count=count,
        exposure=exposure,
        anticipation=anticipation,
    )


def effect_mde(result: EffectResult, *, power: float = 0.8, alpha: float = 0.05):
    """Minimum detectable effect of a design's headline estimate (:mod:`nsv_eval.stats.power`).

    Ratio scales: from the log-scale SE when the result has one (``se`` of a
    :func:`~nsv_eval.stats.poisson_did` row, with t quantiles on its ``df``), else recovered
    from the Wald interval on the log scale; additive scales: from ``se`` or the interval.
    Returns an :class:`~nsv_eval.stats.power.MDE` (``.to_dict()``; its sentence:
    ``report.narrative.power.mde_text``).
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


def shared_work(
    prep: Prepared,
    years: Sequence[int] | None = None,
    *,
    control: Literal["never", "notyet"] = "notyet",
    conf: float = 0.95,
) -> None:
    """Compute study 3's national fits once, into the shared directory of ``prep``.

    The national panel (:func:`national_panel` on ``years``, default the data's period)
    and its Poisson DiD, both Callaway & Sant'Anna control groups and the TWFE contrast,
    memoised (:meth:`Prepared.memo`) under the keys the reports use, so a batch's reports
    read them instead of each fitting them. The participant cohorts are per area and are
    memoised by the first report of each area.
    """
    if years is None:
        y0, y1 = prep.period
        years = range(y0, y1 + 1)
    panel = national_panel(prep, years=years)
    if did_check(panel):
        return
    national_poisson_did(panel, control=control, conf=conf, cache=prep)
    for c in ("notyet", "never"):
        national_did(panel, control=c, conf=conf, cache=prep)
    twfe_contrast(panel, conf=conf, cache=prep)


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


def balance_table(res, *, max_rows: int | None = None) -> pd.DataFrame:
    """Balance (absolute SMD before/after) by design-matrix column; kommune dummies summarised.

    Kommune indicators (present when the cohort spans several kommuner) are summarised in
    one row ``covariate = "kommune"`` holding the largest absolute SMD among them. The
    reader's names of the columns are in :mod:`nsv_eval.report.labels`.
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
                            covariate="kommune",
                            smd_before=float(k["smd_before"].abs().max()),
                            smd_after=float(k["smd_after"].abs().max()),
                        )
                    ]
                ),
            ],
            ignore_index=True,
        )
    rows["smd_before"] = rows["smd_before"].abs()
    rows["smd_after"] = rows["smd_after"].abs()
    out = rows[["covariate", "smd_before", "smd_after"]].reset_index(drop=True)
    return out.head(max_rows) if max_rows else out


def cohort_effect_table(res) -> pd.DataFrame:
    """Naive and adjusted risk ratio side by side, with risks and E-values (column
    ``analysis``: ``"naive"``, ``"adjusted"``)."""
    t = res.table().set_index("term")
    pdat = res.data
    naive = pdat.groupby("treated")["outcome"].mean()
    rows = []
    for label, term, rterm in (
        ("naive", "naive_risk_ratio", None),
        ("adjusted", "risk_ratio", "risk_treated"),
    ):
        r = t.loc[term]
        rows.append(
            dict(
                analysis=label,
                participants=res.n_treated,
                non_participants=res.n_control,
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
