"""Planted-truth coverage of the effect designs on the synthetic Denmark.

For each of K seeds: generate a synthetic Denmark (:func:`nsv_eval.synth.generate`), prepare
it (:func:`nsv_eval.clean.prepare`) in a temporary directory, run the effect designs that the
study notebooks use, and compare each 95 % confidence interval with the effect the generator
planted (``truth.json``). The report gives, per design, the coverage (share of seeds whose
interval contains the truth, with its Monte-Carlo standard error), the mean bias, the mean
interval width and the share of seeds that reject "no effect".

Run (not part of CI)::

    .venv/bin/python bench/coverage.py --seeds 50 --scale 0.005 --jobs 2

writes ``bench/results/coverage.json`` (every seed's estimates and the summary) and
``bench/results/coverage.md`` (the table). The estimators live here, in
:func:`estimate_world`, and ``tests/test_planted_truth.py`` runs the very same functions on
the test session's synthetic Denmark (scale 0.005, seed 7).

Which planted quantity each design should recover
--------------------------------------------------
``falls_did_att``
    Callaway & Sant'Anna staggered DiD across the 98 kommuner (never and not-yet treated
    controls; :func:`nsv_eval.analyses.falls.national_did`) of the annual rate of acute
    fall-injury courses per 1,000 person-years 65+; simple ATT. Truth: the *realised
    kommune-level ATT per 1,000 person-years 65+*
    (``effects.falls_programme.realised_kommune_level.att_per_1000_65plus_per_year``), i.e.
    the generator's expected fall injuries with minus without the programme over all treated
    kommune-months, per person-year. Estimand caveat: the simple ATT weights every treated
    kommune-year equally, the truth weights by person-years; the effect per 1,000 is roughly
    proportional to each kommune's baseline rate, so the two differ by the covariance of
    kommune size and baseline rate (small next to the interval width at any scale tested).
``falls_did_ratio``
    The same ATT as a ratio to the treated kommuners' counterfactual mean rate
    (:func:`nsv_eval.analyses.effects.did_rate_ratio`: observed mean held fixed, ATT limits mapped).
    Truth: ``realised_kommune_level.rate_ratio`` (about 0.82 = 1 - participation x (1 - 0.6)),
    *not* the planted individual rate ratio 0.6, which only participants experience.
``followup_iptw``
    Index discharges in ``cohort_readmission``; IPTW (ATE, stabilised weights, M-estimation
    sandwich; :func:`nsv_eval.stats.cohort_effect`) on exactly the generator's confounders
    (age, sex, education, living alone, home care, acute admissions in the previous year
    capped at 3); 30-day readmission risk ratio. Truth: the planted risk ratio (0.75). The
    risk model is log-linear and uncapped at these covariates, so the ratio is collapsible:
    the marginal (ATE) ratio equals the planted conditional one (truth.json's
    ``expected_risk_ratio_all`` is 0.75 as well).
``followup_naive``
    The unadjusted risk ratio (visited vs not visited) against the same planted 0.75. The
    visit goes to frailer patients, so this is biased towards harm; its coverage should be
    poor — that is the point of adjusting.
``acute_team_its``
    Pooled interrupted time series over the kommuner that started an acute team: one Poisson
    segmented regression of the monthly count of acute preventable admissions 65+ (offset
    log person-years 65+) with a fixed level per kommune, a common linear trend, Fourier
    seasonality (two harmonics, as :func:`nsv_eval.stats.its`) and a level change from each
    kommune's own start month; standard errors clustered by kommune (robust to
    over-dispersion and serial correlation within a kommune). The generator multiplies the
    preventable intensity by a constant factor from the start month, which is exactly this
    model's level change. Truth: the planted rate ratio (0.85; truth's expected kommune-level
    ratio equals it). ``stats.its`` fits one series at a time, hence the pooled GLM is
    written here with statsmodels. Two things pull the estimate towards 1: about 7 % of the
    preventable courses in the data come from the readmission model or are terminal
    admissions, which the team does not affect (truth.json: realised ratio "slightly closer
    to 1", about 0.86), and the national trend of the synthetic rate is not linear (it falls
    until about 2020 and then rises), which a single linear trend extrapolates badly.
``acute_team_its_year``
    The same pooled ITS with a fixed effect per calendar year instead of the linear trend
    (identified because the kommuner start in different years, i.e. the not-yet-started
    kommuner carry the calendar effects). Same truth.
``acute_team_did_ratio``
    The national Callaway & Sant'Anna DiD for the acute team on the annual 65+ rate of
    preventable admissions (:func:`nsv_eval.analyses.effects.annual_panel`), with
    ``anticipation=1``: teams start on the 1st of any month, the annual panel's
    ``first_treated`` is the first *full* year, so the start year itself is partly treated and
    must not serve as the base period. Expressed as a ratio to the counterfactual
    (:func:`~nsv_eval.analyses.effects.did_rate_ratio`). Truth: ``acute_team.realised_kommune_level.rate_ratio``.
``falls_cohort_iptw`` (informative)
    Participants vs comparable non-participants (``cohort_falls``; IPTW for the ATT,
    :func:`nsv_eval.analyses.falls.cohort_iptw`), risk of a fall injury within 365 days,
    against the planted *individual* rate ratio 0.6. Participation also depends on frailty,
    which the data do not contain, so this design is expected to be biased towards harm;
    it is reported to show by how much, not as a coverage target.
``falls_poisson_did``
    The main DiD of study 3: extended two-way fixed effects Poisson of the annual fall-injury
    *counts* with the log of the expected counts as offset (the kommune's person-years 65+ by
    age band and sex at the year's national rates: the age- and sex-adjusted model, the
    default of the standardised panel since the issue #13 follow-up; ``coverage.md`` was
    measured with log person-years 65+), kommune and year effects, cohort x year
    effects aggregated by their counterfactual events (the overall ratio is observed /
    counterfactual fall injuries over the treated kommune-years after the start), CR3
    kommune-clustered SE with Bell–McCaffrey t intervals
    (:func:`nsv_eval.analyses.falls.national_poisson_did`). That is the truth's estimand:
    expected fall injuries with / without the programme over the treated kommune-months.
    Truth: ``realised_kommune_level.rate_ratio``. Its *rejects null* is the power to compare
    with ``falls_did_ratio`` (Callaway & Sant'Anna on kommune rates, every kommune equal).
``falls_poisson_did_cr1_units`` (informative)
    The same fit aggregated as before issue 17's fix: cohort-size weights (each post year of
    a cohort equal, as ``etwfe::emfx``) and CR1 standard errors with normal intervals. On 50
    worlds it covered 88 %: its standard error was too small (estimates spread 1.2 x the
    mean CR1 SE; about 12 effective clusters, Bell–McCaffrey df) and small-count cells
    pulled the log-average up.
``acute_team_poisson_did``
    The same count DiD for the acute team on preventable admissions 65+, with
    ``anticipation=1`` (the partly treated start year gets its own effect, as for CS above).
    Truth: ``acute_team.realised_kommune_level.rate_ratio``.
``acute_team_poisson_did_cr1_units`` (informative)
    The acute-team count DiD aggregated the old way (cohort-size weights, CR1, normal).
``falls_cohort_negative_control`` (informative)
    The falls cohort (sequential target trial) with the negative-control outcome, acute
    admissions without a fall injury, which the programme cannot affect: truth 1. Its
    *rejects null* is the share of seeds in which the negative control flags the cohort's
    bias (unmeasured frailty).
``preventive_rd_acute``, ``preventive_rd_fall_injury``, ``preventive_rd_home_care``
    Fuzzy regression discontinuity at the 75th birthday over the whole country
    (:func:`nsv_eval.analyses.preventive.rd_estimates`: person × calendar month −12 … 12
    around the birthday month, treated = a preventive visit in the 12 previous months,
    rate per 1,000 person-years weighted by person-time, ``rdrobust`` local linear with
    MSE-optimal bandwidth, robust bias-corrected interval clustered by person). Truth:
    ``preventive_visit.rd_at_75.*_late_per_1000`` — the compliers' expected change in the
    rate in the first month the 75-visit acts (the generator's intensity without and with
    the visit). Readmission-model courses and terminal admissions are not affected by the
    visit, which pulls the acute estimate slightly towards 0.
``preventive_rd_acute_h12``, ``…_fall_injury_h12``, ``…_home_care_h12`` (informative)
    The same RD with the bandwidth fixed at the whole 12-month window instead of the
    MSE-optimal choice (which keeps only 3-5 monthly mass points per side at small scales).
``preventive_rd_first_stage`` (informative)
    The jump in the share with an active visit at the cutoff, against the compliers' share
    of the citizens offered at 75 (``rd_at_75.compliers / offered_at_75``; offers in the
    last month of the period have no month after them, so the truth is a hair low).
``preventive_iptw_acute`` (informative)
    Accepted vs declined among the offered (IPTW on sex, education, living alone, home care,
    prior acute admissions, year), risk ratio of an acute admission within 12 months,
    against the planted rate ratio on acute admissions. Acceptance depends on frailty,
    which the data do not contain, so this is expected to be biased towards benefit.
``preventive_negative_control`` (informative)
    The same comparison for planned admissions, which the visit does not affect (truth 1):
    how far the residual confounding goes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CONF = 0.95
RESULTS_DIR = Path(__file__).resolve().parent / "results"

FOLLOWUP_CONFOUNDERS: tuple[str, ...] = (
    "age",
    "sex",
    "education",
    "living_alone",
    "home_care",
    "prior_admissions_capped",
)
"""The generator's confounders of the follow-up visit (truth.json ``confounders``)."""
PRIOR_CAP = 3
"""The generator caps prior acute admissions at 3 in both the visit and the risk model."""


@dataclass
class Estimate:
    """One design's estimate on one synthetic world, with the truth it should recover."""

    design: str
    estimand: str
    scale: str  # "difference" (null 0) or "ratio" (null 1)
    truth: float
    estimate: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    seed: int | None = None
    target: bool = True  # counts towards the coverage claim (False: informative only)
    skipped: str | None = None  # reason when the design could not run

    @property
    def covers(self) -> bool:
        """Whether the confidence interval contains the truth."""
        return bool(self.lower <= self.truth <= self.upper)

    @property
    def rejects_null(self) -> bool:
        """Whether the interval excludes "no effect" (0 or 1 by ``scale``)."""
        null = 1.0 if self.scale == "ratio" else 0.0
        return bool(self.upper < null or self.lower > null)

    def as_dict(self) -> dict:
        """Plain dictionary, with ``covers`` and ``rejects_null`` (None when skipped)."""
        d = asdict(self)
        ok = self.skipped is None and np.isfinite([self.estimate, self.lower, self.upper]).all()
        d["covers"] = self.covers if ok else None
        d["rejects_null"] = self.rejects_null if ok else None
        return d


def _row(result, term: str | None = None) -> tuple[float, float, float]:
    t = result.table()
    r = t.iloc[0] if term is None else t.set_index("term").loc[term]
    return float(r["estimate"]), float(r["lower"]), float(r["upper"])


# --------------------------------------------------------------------------------------
# the designs
# --------------------------------------------------------------------------------------
def falls_did(prep, truth: dict) -> list[Estimate]:
    """Staggered DiD of the annual fall-injury rate 65+ (ATT per 1,000 and as a ratio)."""
    from nsv_eval.analyses import effects, falls

    # the official fall-injury indicator (prepared with the default definitions) also counts
    # accident injuries the programme cannot prevent and only admissions >= 12 h: its truth
    # is truth.json's realised ratio on that indicator (issue #13)
    real = truth["falls_programme"]["realised_official_indicator"]
    # age- and sex-standardised kommune rates: with the real age pyramids (issue #13) the
    # crude 65+ rates of the kommuner drift apart as their age mix changes at different paces
    panel = effects.annual_panel(prep, falls.MEASURE, falls.INTERVENTION, standardise=True)
    res, _ = falls.national_did(panel, control="notyet", conf=CONF)
    ratio = effects.did_rate_ratio(res, panel)
    return [
        Estimate(
            "falls_did_att",
            "realised kommune-level ATT per 1,000 person-years 65+ (official indicator)",
            "difference",
            float(real["att_per_1000_65plus_per_year"]),
            *_row(res, "att_simple"),
        ),
        Estimate(
            "falls_did_ratio",
            "realised kommune-level rate ratio on the official indicator (not the individual 0.6)",
            "ratio",
            float(real["rate_ratio"]),
            *_row(ratio, "att_ratio"),
        ),
        Estimate(
            "falls_poisson_did",
            "realised kommune-level rate ratio on the official indicator (not the individual 0.6)",
            "ratio",
            float(real["rate_ratio"]),
            *_row(falls.national_poisson_did(panel, control="notyet", conf=CONF)[0], "rate_ratio"),
        ),
        Estimate(
            "falls_poisson_did_cr1_units",
            "as falls_poisson_did, cohort-size weights and CR1 normal intervals (the old way)",
            "ratio",
            float(real["rate_ratio"]),
            *_row(_poisson_did_cr1_units(panel), "rate_ratio"),
            target=False,
        ),
    ]


def _poisson_did_cr1_units(panel: pd.DataFrame, anticipation: int = 0):
    """The count DiD as it was before issue 17's fix: cohort-size weights, CR1, normal."""
    from nsv_eval import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stats.poisson_did(
            panel,
            "count",
            "kommune_code",
            "year",
            "first_treated",
            exposure="person_years",
            conf=CONF,
            anticipation=anticipation,
            pretest=False,
            vcov="CR1",
            weighting="units",
        )


def followup_cohort(prep) -> pd.DataFrame:
    """``cohort_readmission`` with prior admissions capped as in the generator."""
    df = prep.table("cohort_readmission")
    df["prior_admissions_capped"] = df["prior_admissions_365d"].clip(upper=PRIOR_CAP)
    return df


def followup_visit(prep, truth: dict) -> list[Estimate]:
    """IPTW (ATE) and naive 30-day readmission risk ratio of the follow-up visit."""
    from nsv_eval import stats

    planted = float(truth["followup_visit"]["planted_risk_ratio"])
    res = stats.cohort_effect(
        followup_cohort(prep),
        "followup_visit",
        "readmit_30d",
        list(FOLLOWUP_CONFOUNDERS),
        method="iptw",
        estimand="ATE",
        conf=CONF,
    )
    return [
        Estimate(
            "followup_iptw",
            "planted risk ratio (marginal = conditional, log-linear risk)",
            "ratio",
            planted,
            *_row(res, "risk_ratio"),
        ),
        Estimate(
            "followup_naive",
            "planted risk ratio (the naive comparison is confounded by frailty)",
            "ratio",
            planted,
            *_row(res, "naive_risk_ratio"),
            target=False,
        ),
    ]


def acute_team_panel(prep) -> pd.DataFrame:
    """Kommune × month panel (65+) of preventable admissions with the acute-team start."""
    m = prep.summary("month")
    m = m[m["age65"]]
    ro = prep.rollout
    ro = ro[ro["intervention"] == "acute_team"][["kommune_code", "start_date"]]
    d = m.merge(ro, on="kommune_code", how="left")
    d = d[d["person_years"] > 0].copy()
    d["date"] = pd.to_datetime({"year": d["year"], "month": d["month"], "day": 1})
    d["post"] = (d["date"] >= d["start_date"]).astype(float)  # NaT (never) compares False
    d["t"] = (d["year"] - d["year"].min()) * 12 + d["month"] - 1
    return d.sort_values(["kommune_code", "t"]).reset_index(drop=True)


def pooled_its(
    panel: pd.DataFrame,
    outcome: str = "preventable",
    *,
    n_harmonics: int = 2,
    trend: str = "linear",
    conf: float = CONF,
) -> tuple[float, float, float]:
    """Pooled segmented Poisson regression over the treated kommuner; level change as a ratio.

    ``log E[y_kt] = log(person_years_kt) + a_k + b t + Fourier(month) + d post_kt`` over the
    kommuner with a start date; ``exp(d)`` with a Wald interval from kommune-clustered
    standard errors. Written here because :func:`nsv_eval.stats.its` fits one series; this
    is the same model with a level per kommune (statsmodels GLM does the fitting).

    Parameters
    ----------
    panel : pandas.DataFrame
        From :func:`acute_team_panel` (``kommune_code``, ``t``, ``month``, ``year``,
        ``person_years``, ``post``, ``start_date``, the outcome).
    outcome : str
        Count column.
    n_harmonics : int
        Fourier pairs for the season (period 12 months).
    trend : {"linear", "year"}
        The secular trend: one common linear trend (classic ITS), or a fixed effect per
        calendar year (identified because the kommuner start in different years; robust to
        a non-linear national trend).
    conf : float
        Confidence level.

    Returns
    -------
    (float, float, float)
        Rate ratio of the level change and its confidence limits.
    """
    if trend not in ("linear", "year"):
        raise ValueError(f"pooled_its: trend must be 'linear' or 'year', not {trend!r}")
    import statsmodels.api as sm

    from nsv_eval.stats.designs.its import fourier_terms

    d = panel[panel["start_date"].notna()].reset_index(drop=True)
    if d.empty:
        raise ValueError("pooled_its: no kommune with a start date in column 'start_date'")
    fe = pd.get_dummies(d["kommune_code"], prefix="k", dtype=float)
    x = pd.concat(
        [
            fe,
            (
                (d["t"] / 12.0).rename("trend").to_frame()
                if trend == "linear"
                else pd.get_dummies(d["year"], prefix="y", dtype=float, drop_first=True)
            ),
            fourier_terms(d["month"].to_numpy(float), n_harmonics, 12),
            d["post"].rename("level"),
        ],
        axis=1,
    )
    fit = sm.GLM(
        d[outcome].to_numpy(float),
        x,
        family=sm.families.Poisson(),
        offset=np.log(d["person_years"].to_numpy(float)),
    ).fit(cov_type="cluster", cov_kwds={"groups": d["kommune_code"].to_numpy()})
    b, se = float(fit.params["level"]), float(fit.bse["level"])
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + conf / 2))
    return math.exp(b), math.exp(b - z * se), math.exp(b + z * se)


def acute_team(prep, truth: dict) -> list[Estimate]:
    """Pooled ITS and national DiD for the acute team on preventable admissions 65+."""
    from nsv_eval import stats
    from nsv_eval.analyses import effects, falls

    team = truth["acute_team"]
    monthly = acute_team_panel(prep)
    out = [
        Estimate(
            "acute_team_its",
            "planted rate ratio (constant level change from the start month)",
            "ratio",
            float(team["planted_rate_ratio"]),
            *pooled_its(monthly, trend="linear"),
        ),
        Estimate(
            "acute_team_its_year",
            "planted rate ratio (constant level change from the start month)",
            "ratio",
            float(team["planted_rate_ratio"]),
            *pooled_its(monthly, trend="year"),
        ),
    ]
    # age- and sex-standardised kommune rates (see falls_did; issue #13)
    panel = effects.annual_panel(prep, "preventable", "acute_team", standardise=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.did(
            panel,
            "rate",
            "kommune_code",
            "year",
            "first_treated",
            control="notyet",
            anticipation=1,
            conf=CONF,
        )
    out.append(
        Estimate(
            "acute_team_did_ratio",
            "realised kommune-level rate ratio",
            "ratio",
            float(team["realised_kommune_level"]["rate_ratio"]),
            *_row(effects.did_rate_ratio(res, panel), "att_ratio"),
        )
    )
    out.append(
        Estimate(
            "acute_team_poisson_did",
            "realised kommune-level rate ratio",
            "ratio",
            float(team["realised_kommune_level"]["rate_ratio"]),
            *_row(falls.national_poisson_did(panel, conf=CONF, anticipation=1)[0], "rate_ratio"),
        )
    )
    out.append(
        Estimate(
            "acute_team_poisson_did_cr1_units",
            "as acute_team_poisson_did, cohort-size weights and CR1 normal intervals",
            "ratio",
            float(team["realised_kommune_level"]["rate_ratio"]),
            *_row(_poisson_did_cr1_units(panel, anticipation=1), "rate_ratio"),
            target=False,
        )
    )
    return out


def falls_cohort(prep, truth: dict) -> list[Estimate]:
    """Participants vs non-participants of the falls programme (informative only)."""
    from nsv_eval.analyses import falls

    df = falls.participant_cohort(prep, kommune=101, scope="land")
    res = falls.cohort_iptw(df, conf=CONF)
    out = [
        Estimate(
            "falls_cohort_iptw",
            "planted individual rate ratio (unmeasured frailty confounds participation)",
            "ratio",
            float(truth["falls_programme"]["planted_individual_rate_ratio"]),
            *_row(res, "risk_ratio"),
            target=False,
        )
    ]
    nc = falls.negative_control(df, conf=CONF)
    if nc is not None:
        out.append(
            Estimate(
                "falls_cohort_negative_control",
                "no effect (1): the programme cannot prevent non-fall admissions; "
                "'rejects null' = share of seeds in which the negative control flags bias",
                "ratio",
                1.0,
                *_row(nc, "risk_ratio"),
                target=False,
            )
        )
    return out


def preventive_visit(prep, truth: dict) -> list[Estimate]:
    """Fuzzy RD at the 75th birthday per outcome, and accepted vs declined (informative).

    Fall injuries are not here: on the legacy flags they are hip fractures only since the
    falls were coded as LPR codes them (issue #13); :func:`preventive_fall_injury` checks
    them on the official indicator.
    """
    from nsv_eval.analyses import preventive as pv

    t = truth["preventive_visit"]
    tr = t["rd_at_75"]
    panel = pv.rd_panel(prep)
    res = pv.rd_estimates(panel, conf=CONF)
    out = []
    for key, name, truth_key in (
        ("acute", "preventive_rd_acute", "acute_admissions_late_per_1000"),
        ("home_care_onset", "preventive_rd_home_care", "home_care_onset_late_per_1000"),
    ):
        out.append(
            Estimate(
                name,
                "compliers' change in the rate per 1,000 person-years at the cutoff",
                "difference",
                float(tr[truth_key]),
                *_row(res[key], "late"),
            )
        )
    # the same RD with the whole 12-month window as bandwidth (informative: fewer than five
    # mass points per side at the MSE-optimal bandwidth can make the robust interval too short)
    wide = pv.rd_estimates(panel, conf=CONF, h=float(pv.WINDOW))
    for key, name, truth_key in (
        ("acute", "preventive_rd_acute_h12", "acute_admissions_late_per_1000"),
        ("home_care_onset", "preventive_rd_home_care_h12", "home_care_onset_late_per_1000"),
    ):
        out.append(
            Estimate(
                name,
                "as above, bandwidth fixed at 12 months",
                "difference",
                float(tr[truth_key]),
                *_row(wide[key], "late"),
                target=False,
            )
        )
    out.append(
        Estimate(
            "preventive_rd_first_stage",
            "share of compliers among those offered at 75",
            "difference",
            float(tr["compliers"]) / float(t["offered_at_75"]),
            *_row(res["acute"], "first_stage"),
            target=False,
        )
    )
    cohort = pv.offer_cohort(panel)
    iptw = pv.accepted_vs_declined(cohort, "acute_12m", conf=CONF)
    neg = pv.accepted_vs_declined(cohort, "planned_12m", conf=CONF)
    out += [
        Estimate(
            "preventive_iptw_acute",
            "planted rate ratio on acute admissions (acceptance confounded by frailty)",
            "ratio",
            float(t["planted_rate_ratio"]["acute_admissions"]),
            *_row(iptw, "risk_ratio"),
            target=False,
        ),
        Estimate(
            "preventive_negative_control",
            "planned admissions: no effect (ratio 1)",
            "ratio",
            1.0,
            *_row(neg, "risk_ratio"),
            target=False,
        ),
    ]
    return out


def preventive_fall_injury(prep, truth: dict) -> list[Estimate]:
    """Fuzzy RD at the 75th birthday on the OFFICIAL fall-injury indicator (admissions
    >= 12 h, injury diagnosis, contact cause ulykke), against truth.json's
    ``fall_injuries_official_late_per_1000`` (the compliers' change on what that indicator
    counts: the fall groups and the other accidents, each weighted by its share of stays
    >= 12 h)."""
    from nsv_eval.analyses import preventive as pv

    truth_value = float(
        truth["preventive_visit"]["rd_at_75"]["fall_injuries_official_late_per_1000"]
    )
    panel = pv.rd_panel(prep)
    out = []
    for h, name, what, target in (
        (
            None,
            "preventive_rd_fall_injury",
            "compliers' change in the official fall-injury rate per 1,000 person-years at the cutoff",
            True,
        ),
        (
            float(pv.WINDOW),
            "preventive_rd_fall_injury_h12",
            "as above, bandwidth fixed at 12 months",
            False,
        ),
    ):
        res = pv.rd_estimates(panel, conf=CONF, h=h)
        out.append(
            Estimate(
                name,
                what,
                "difference",
                truth_value,
                *_row(res["fall_injury"], "late"),
                target=target,
            )
        )
    return out


OFFICIAL_DESIGNS = {"falls_did", "preventive_fall_injury"}
"""Designs estimated on the world prepared with the official (default) definitions: the
falls DiD, whose truth is the realised ratio on the official fall-injury indicator, and the
preventive visit's RD on fall injuries (truth on the same indicator). The
others keep the legacy course flags on which their planted effects are stated exactly
(index discharges and courses of any length). Before issue #13 the falls DiD used the legacy
flags too, because the generator coded non-hip falls as W00-W19 action diagnoses, which
the official definition (contact cause + injury diagnosis) does not see."""

DESIGNS: dict[str, Callable] = {
    "falls_did": falls_did,
    "followup_visit": followup_visit,
    "acute_team": acute_team,
    "falls_cohort": falls_cohort,
    "preventive_visit": preventive_visit,
    "preventive_fall_injury": preventive_fall_injury,
}
"""Estimator groups run on every world, in order."""


def estimate_world(
    synth_dir: str | Path,
    prepared_dir: str | Path,
    *,
    designs: Iterable[str] | None = None,
    cache_dir: str | Path | None = None,
    official_dir: str | Path | None = None,
) -> list[Estimate]:
    """Run the designs on one prepared synthetic world and pair them with its truth.

    Parameters
    ----------
    synth_dir : path
        The raw synthetic directory (its ``truth.json`` is read).
    prepared_dir : path
        The prepared layout made from ``synth_dir`` with the legacy definitions.
    official_dir : path, optional
        The same world prepared with the official (default) definitions, for the designs in
        :data:`OFFICIAL_DESIGNS` (required when one of them is run).
    designs : iterable of str, optional
        Keys of :data:`DESIGNS` (default all).
    cache_dir : path, optional
        Where :meth:`~nsv_eval.analyses.data.Prepared.summary` caches (default
        ``<prepared_dir>/cache``).

    Returns
    -------
    list of Estimate
        A failing design gives a skipped estimate with the exception as the reason.
    """
    from nsv_eval.analyses.data import load_prepared

    truth_all = json.loads((Path(synth_dir) / "truth.json").read_text(encoding="utf-8"))
    truth = truth_all["effects"]
    prep = load_prepared(prepared_dir, shared_dir=cache_dir)
    prep_official = None
    if official_dir is not None:
        official_cache = None if cache_dir is None else Path(cache_dir) / "official"
        prep_official = load_prepared(official_dir, shared_dir=official_cache)
    out: list[Estimate] = []
    for key in designs or DESIGNS:
        try:
            if key in OFFICIAL_DESIGNS and prep_official is None:
                raise ValueError(
                    f"design {key!r} needs the world prepared with the official definitions (official_dir)"
                )
            ests = DESIGNS[key](prep_official if key in OFFICIAL_DESIGNS else prep, truth)
        except Exception as exc:  # a failed fit is a result too, recorded with its reason
            ests = [
                Estimate(
                    key,
                    "",
                    "ratio",
                    math.nan,
                    skipped=f"{type(exc).__name__}: {exc}"[:500],
                )
            ]
        for e in ests:
            e.seed = int(truth_all["seed"])
        out.extend(ests)
    return out


# --------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------
def run_seed(
    seed: int, scale: float, tmp_root: str | None = None, designs: list[str] | None = None
) -> dict:
    """Generate, prepare and estimate one world in a temporary directory (deleted after)."""
    from nsv_eval.clean import prepare
    from nsv_eval.synth import generate

    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"nsv-coverage-{seed}-", dir=tmp_root))
    try:
        raw, prepared, official = work / "raw", work / "prepared", work / "official"
        keys = list(designs or DESIGNS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            generate(raw, scale=scale, seed=seed)
            # the planted effects of most designs are stated on the generator's outcome
            # definitions, i.e. the legacy course flags; the falls DiD's truth is stated on
            # the official fall-injury indicator (OFFICIAL_DESIGNS)
            if any(k not in OFFICIAL_DESIGNS for k in keys):
                prepare(raw, prepared, log=None, threads=1, definitions_choice="legacy")
            if any(k in OFFICIAL_DESIGNS for k in keys):
                prepare(raw, official, log=None, threads=1)
            else:
                official = None
            t1 = time.perf_counter()
            ests = estimate_world(raw, prepared, designs=keys, official_dir=official)
        return {
            "seed": seed,
            "estimates": [e.as_dict() for e in ests],
            "seconds_data": round(t1 - t0, 1),
            "seconds_estimate": round(time.perf_counter() - t1, 1),
        }
    except Exception:
        return {"seed": seed, "error": traceback.format_exc()[-2000:]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarise(records: list[dict]) -> pd.DataFrame:
    """Coverage, bias, interval width and rejection share per design.

    Parameters
    ----------
    records : list of dict
        Estimates as from :meth:`Estimate.as_dict`.

    Returns
    -------
    pandas.DataFrame
        One row per design: ``n`` (seeds with an estimate), ``skipped``, ``coverage``,
        ``coverage_mcse`` (binomial Monte-Carlo SE), ``mean_truth``, ``mean_estimate``,
        ``mean_bias`` (estimate - truth), ``mean_bias_log`` (ratios: mean log(est/truth)),
        ``rmse``, ``mean_ci_width``, ``reject_null`` (share whose CI excludes no effect),
        ``target``.
    """
    df = pd.DataFrame(records)
    rows = []
    for design, g in df.groupby("design", sort=False):
        ok = g[g["skipped"].isna() & g["covers"].notna()]
        n = len(ok)
        cov = float(ok["covers"].astype(bool).mean()) if n else math.nan
        bias = ok["estimate"] - ok["truth"]
        ratio = g["scale"].iloc[0] == "ratio"
        rows.append(
            {
                "design": design,
                "scale": g["scale"].iloc[0],
                "estimand": g["estimand"].iloc[0],
                "target": bool(g["target"].iloc[0]),
                "n": n,
                "skipped": int(len(g) - n),
                # an estimate without an interval (e.g. a DiD ratio whose ATT limits pass
                # below minus the counterfactual mean) is counted as skipped too
                "skip_reason": (
                    (list(g["skipped"].dropna()) or ["estimate without an interval"])[0]
                    if len(g) > n
                    else None
                ),
                "coverage": cov,
                "coverage_mcse": math.sqrt(cov * (1 - cov) / n) if n else math.nan,
                "mean_truth": float(ok["truth"].mean()) if n else math.nan,
                "mean_estimate": float(ok["estimate"].mean()) if n else math.nan,
                "mean_bias": float(bias.mean()) if n else math.nan,
                "mean_bias_log": (
                    float(np.log(ok["estimate"] / ok["truth"]).mean()) if n and ratio else math.nan
                ),
                "rmse": float(np.sqrt((bias**2).mean())) if n else math.nan,
                "mean_ci_width": float((ok["upper"] - ok["lower"]).mean()) if n else math.nan,
                "reject_null": float(ok["rejects_null"].astype(bool).mean()) if n else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _fmt(x: float, nd: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def markdown(summary: pd.DataFrame, meta: dict) -> str:
    """The summary as a Markdown table with a short header."""
    lines = [
        "# Planted-truth coverage of the effect designs",
        "",
        f"Synthetic Denmark at scale {meta['scale']}, {meta['n_seeds_ok']} seeds "
        f"({meta['seeds']}); nominal {int(CONF * 100)} % intervals. "
        f"Made by `bench/coverage.py` on {meta['finished']} ({_fmt(meta['minutes'], 0)} min, "
        f"{meta['jobs']} jobs). Estimands: see the module docstring.",
        "",
        "| design | truth (mean) | n | coverage (± MC SE) | mean estimate | mean bias | "
        "mean log bias | mean CI width | rejects null |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        name = r.design + ("" if r.target else " *(informative)*")
        if r.n == 0:
            lines.append(f"| {name} | – | 0 | skipped: {r.skip_reason} | | | | | |")
            continue
        lines.append(
            f"| {name} | {_fmt(r.mean_truth)} | {r.n} | {r.coverage:.2f} ± "
            f"{r.coverage_mcse:.2f} | {_fmt(r.mean_estimate)} | {_fmt(r.mean_bias)} | "
            f"{_fmt(r.mean_bias_log)} | {_fmt(r.mean_ci_width)} | {r.reject_null:.2f} |"
        )
    if meta.get("failed_seeds"):
        lines += ["", f"Seeds that failed to generate/prepare: {meta['failed_seeds']}."]
    lines += [
        "",
        "Coverage = share of seeds whose 95 % interval contains the planted truth (MC SE = "
        "binomial Monte-Carlo standard error). Bias = estimate − truth on the design's scale "
        "(log bias = mean log(estimate / truth) for ratios). *Rejects null* = share of seeds "
        "whose interval excludes no effect (power, or for the naive comparison: how often it "
        "would mislead).",
        "",
    ]
    return "\n".join(lines)


def _finite(x):
    """JSON-safe copy: non-finite floats become None (strict JSON has no NaN)."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def read_seeds(path: Path) -> list[dict]:
    """Per-seed records from a ``coverage.json`` or a ``*.partial.jsonl`` of an earlier run."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)["seeds"]


def write_results(done: list[dict], meta: dict, out: Path, name: str) -> tuple[pd.DataFrame, dict]:
    """Summarise the per-seed records and write ``<name>.json`` and ``<name>.md``.

    Returns
    -------
    (pandas.DataFrame, dict)
        The summary (:func:`summarise`) and the run's metadata with the seed counts.
    """
    done = sorted(done, key=lambda r: r["seed"])
    records = [e for r in done if "estimates" in r for e in r["estimates"]]
    failed = [r["seed"] for r in done if "error" in r]
    seeds = [r["seed"] for r in done]
    meta = {
        **meta,
        "seeds": f"{min(seeds)}–{max(seeds)}",
        "n_seeds": len(seeds),
        "n_seeds_ok": len(seeds) - len(failed),
        "failed_seeds": failed,
        "conf": CONF,
    }
    summary = summarise(records)
    payload = {
        "meta": meta,
        "summary": json.loads(summary.to_json(orient="records")),
        "seeds": done,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(
        json.dumps(_finite(payload), indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    (out / f"{name}.md").write_text(markdown(summary, meta), encoding="utf-8")
    return summary, meta


def main(argv: list[str] | None = None) -> int:
    """Command line: run the seeds in a process pool and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=50, help="number of seeds (default 50)")
    ap.add_argument("--first-seed", type=int, default=1, help="first seed (default 1)")
    ap.add_argument("--scale", type=float, default=0.005, help="synthetic scale (default 0.005)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    ap.add_argument("--name", default="coverage", help="file stem of the results")
    ap.add_argument("--tmp", default=None, help="root of the temporary worlds")
    ap.add_argument(
        "--designs",
        default=None,
        help=f"comma-separated subset of {', '.join(DESIGNS)} (default all)",
    )
    ap.add_argument(
        "--resummarise",
        type=Path,
        default=None,
        metavar="FILE",
        help="do not run: re-summarise the seeds of an earlier coverage.json or .partial.jsonl",
    )
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1 or args.scale <= 0:
        ap.error("--seeds and --jobs must be >= 1 and --scale > 0")
    meta = {
        "scale": args.scale,
        "jobs": args.jobs,
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
    }
    if args.resummarise is not None:
        old = args.resummarise
        done = read_seeds(old)
        if old.suffix == ".json":
            meta = {**json.loads(old.read_text(encoding="utf-8"))["meta"], "resummarised": True}
        else:
            meta.update(minutes=math.nan, finished=time.strftime("%Y-%m-%d %H:%M"))
        print(markdown(*write_results(done, meta, args.out, args.name)))
        return 0
    designs = args.designs.split(",") if args.designs else None
    unknown = sorted(set(designs or []) - set(DESIGNS))
    if unknown:
        ap.error(f"unknown design(s) {unknown}; choose from {', '.join(DESIGNS)}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / f"{args.name}.partial.jsonl"
    t0 = time.time()
    done: list[dict] = []
    with (
        ProcessPoolExecutor(max_workers=args.jobs) as pool,
        partial.open("w", encoding="utf-8") as log,
    ):
        futs = {pool.submit(run_seed, s, args.scale, args.tmp, designs): s for s in seeds}
        for fut in as_completed(futs):
            rec = fut.result()
            done.append(rec)
            log.write(json.dumps(_finite(rec)) + "\n")
            log.flush()
            status = (
                "error" if "error" in rec else f"{rec['seconds_data']}+{rec['seconds_estimate']} s"
            )
            print(
                f"[{len(done)}/{len(seeds)}] seed {rec['seed']}: {status} "
                f"({(time.time() - t0) / 60:.1f} min)",
                flush=True,
            )
    meta.update(minutes=(time.time() - t0) / 60, finished=time.strftime("%Y-%m-%d %H:%M"))
    summary, meta = write_results(done, meta, args.out, args.name)
    partial.unlink(missing_ok=True)
    print(markdown(summary, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
