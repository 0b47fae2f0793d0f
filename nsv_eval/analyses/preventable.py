"""Study 5 (*Forebyggelige indlæggelser blandt ældre*): level, comparison and the acute team.

What notebook ``05_forebyggelige`` computes, kept out of the notebook:

* :func:`comparison_table` — the kommune's age-standardised rate (DSR, ESP2013) against its
  region and the country, and its indirectly standardised ratio (ISR, age × sex, the
  country's rates = 100);
* the acute team's effect on the kommune's preventable admissions 65+: an interrupted time
  series (shared with study 3: :func:`nsv_eval.analyses.effects.kommune_its`) and a synthetic
  control (:func:`acute_team_sc`; Abadie, Diamond & Hainmueller 2010) on the annual rate
  per 1,000 person-years 65+, with kommuner that never had an acute team as donors;
* :func:`sc_rate_ratio` and :func:`nsv_eval.analyses.effects.triangulation` — the synthetic
  control's average post-period gap as a ratio to the synthetic path, compared with the ITS
  rate ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses import effects, profile
from nsv_eval.analyses.data import Prepared
from nsv_eval.reference import kommune_name
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.ratio import AdditiveRatioResult

MEASURE = "preventable"
"""Cube measure: acute admission courses with a preventable action diagnosis."""
INDICATOR = "preventable_65"
"""Key of the indicator in :data:`nsv_eval.analyses.catalogue.INDICATORS`."""
INTERVENTION = "acute_team"
"""Name of the intervention in ``rollout``."""
MIN_PRE_YEARS = 3
"""Fewest whole pre-intervention years for a synthetic control."""


def comparison_table(prep: Prepared, kommune: int, years: Sequence[int]) -> pd.DataFrame:
    """Age-standardised rate of the kommune, region and country, and the kommune's ISR.

    Returns
    -------
    pandas.DataFrame
        One row per level (``kommune``, ``region``, ``land``): ``level``, ``area``,
        ``numerator``, ``denominator``, ``estimate`` (DSR per 1,000 person-years 65+, ESP2013),
        ``lower``, ``upper``, and for the kommune row ``isr`` (×100), ``isr_lower``,
        ``isr_upper``, ``expected``.
    """
    st = profile.standardised(prep, INDICATOR, kommune, years)
    st = st[["level", "area", "numerator", "denominator", "estimate", "lower", "upper"]].copy()
    ir = profile.indirect(prep, INDICATOR, years).set_index("kommune_code").loc[int(kommune)]
    st["isr"] = np.where(st["level"] == "kommune", ir["estimate"], np.nan)
    st["isr_lower"] = np.where(st["level"] == "kommune", ir["lower"], np.nan)
    st["isr_upper"] = np.where(st["level"] == "kommune", ir["upper"], np.nan)
    st["expected"] = np.where(st["level"] == "kommune", ir["expected"], np.nan)
    return st.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# synthetic control
# --------------------------------------------------------------------------------------
@dataclass
class SCSetup:
    """The panel and settings of a synthetic control, or why none is possible."""

    panel: pd.DataFrame | None
    first_year: int | None
    dropped_year: int | None
    donors: list[int]
    reason_da: str = ""


def sc_setup(
    prep: Prepared,
    kommune: int,
    start: pd.Timestamp,
    *,
    years: Sequence[int],
    measure: str = MEASURE,
    intervention: str = INTERVENTION,
    min_events: int = 10,
) -> SCSetup:
    """Annual panel for a synthetic control of the kommune's 65+ rate around ``start``.

    Donors are the kommuner that never had the intervention (``first_treated == 0``). When
    the start falls inside a year, that year is partly exposed: it is left out of the panel
    (neither a clean pre- nor a clean post-year); the first post year is the first full year.
    Needs ``min_events`` events in the kommune both before and after (as the ITS).

    ``rate`` is the indirectly age- and sex-standardised rate (``annual_panel(standardise=
    True)``): the donors' 65+ age mix changes at other paces than the kommune's (real age
    pyramids, issue #13), which moves crude rates apart without any intervention.
    """
    p = effects.annual_panel(prep, measure, intervention, standardise=True)
    p = p[p["year"].isin(list(years))]
    donors = sorted(int(k) for k in p.loc[p["first_treated"] == 0, "kommune_code"].unique())
    donors = [d for d in donors if d != int(kommune)]
    first = effects.first_full_year(start)
    start = pd.Timestamp(start)
    dropped = start.year if first != start.year else None
    if dropped is not None:
        p = p[p["year"] != dropped]
    yrs = sorted(p["year"].unique())
    n_pre = sum(1 for y in yrs if y < first)
    n_post = sum(1 for y in yrs if y >= first)
    if n_pre < MIN_PRE_YEARS or n_post < 1:
        return SCSetup(
            None,
            first,
            dropped,
            donors,
            f"Syntetisk kontrol kræver mindst {MIN_PRE_YEARS} hele år før og ét helt år efter "
            f"starten; perioden giver {n_pre} før og {n_post} efter.",
        )
    own = p[p["kommune_code"] == int(kommune)]
    n_before = int(own.loc[own["year"] < first, "count"].sum())
    n_after = int(own.loc[own["year"] >= first, "count"].sum())
    if min(n_before, n_after) < min_events:
        return SCSetup(
            None,
            first,
            dropped,
            donors,
            f"For få hændelser i kommunen (under {min_events} før eller efter starten); "
            "forskellen til en syntetisk kontrol ville være styret af tilfældigheder.",
        )
    if len(donors) < 2:
        return SCSetup(None, first, dropped, donors, "For få kommuner uden akutteam som donorer.")
    p = p[p["kommune_code"].isin([int(kommune), *donors])]
    p = p[["kommune_code", "year", "count", "person_years", "rate"]].reset_index(drop=True)
    return SCSetup(p, first, dropped, donors)


def acute_team_sc(setup: SCSetup, kommune: int, *, conf: float = 0.95):
    """Synthetic control of the kommune's annual rate (:func:`nsv_eval.stats.synthetic_control`).

    Every pre-period year's rate is a predictor (the weights minimise the pre-period MSPE);
    in-space placebos over all donors give the RMSPE-ratio p-value and the interval for the
    average post-period gap (test inversion under a constant effect).
    """
    if setup.panel is None:
        raise ValueError(f"no synthetic control possible: {setup.reason_da}")
    res = stats.synthetic_control(
        setup.panel,
        "rate",
        "kommune_code",
        "year",
        int(kommune),
        setup.first_year,
        donors=setup.donors,
        conf=conf,
    )
    return res


def sc_inference(res) -> dict[str, float]:
    """The synthetic control's test and interval of the average post gap, as a dict.

    The exact-fit rule (placebos reproduced exactly before the start are left out; when the
    kommune itself is reproduced exactly, p-value and interval are undefined) lives in
    :func:`nsv_eval.stats.synthetic_control` (``exact_fit_tol``).

    Returns
    -------
    dict
        ``estimate`` (average post gap), ``lower``, ``upper`` (NaN when the test cannot
        reject any value at this level), ``p_value``, ``n_placebos`` (placebos used),
        ``n_exact_fit`` (left out), ``ratio`` (the kommune's RMSPE ratio) and
        ``treated_exact_fit``.
    """
    m = res.main_effect()
    plc = res.placebos
    return dict(
        estimate=float(m["estimate"]),
        lower=float(m["lower"]),
        upper=float(m["upper"]),
        p_value=float(m["p_value"]),
        n_placebos=int((plc["included"] & ~plc["treated"]).sum()),
        n_exact_fit=int(res.n_exact_fit),
        ratio=float(plc.loc[plc["treated"], "ratio"].iloc[0]),
        treated_exact_fit=bool(res.treated_exact_fit),
    )


def sc_rate_ratio(res, inference: dict[str, float] | None = None) -> EffectResult:
    """The synthetic control's average post gap as a ratio to the synthetic path.

    ``ratio = mean(treated) / mean(synthetic) = obs / (obs − avg_gap)`` over the post
    years, with the kommune's observed mean ``obs`` held fixed; the interval of the average
    gap (from :func:`sc_inference` unless given) maps to ``obs / (obs − L)`` …
    ``obs / (obs − U)`` (:func:`nsv_eval.stats.designs.ratio_from_additive`). A limit whose
    counterfactual would be 0 or below (an interval wider than the rate itself) is reported
    as NaN: the ratio is then unbounded and not informative.
    """
    inf = sc_inference(res) if inference is None else inference
    path = res.path.set_index("time")
    post = res.post_times
    obs = float(path.loc[post, "treated"].mean())
    syn = float(path.loc[post, "synthetic"].mean())
    est, lo, hi = effects.rate_ratio_from_att(
        float(inf["estimate"]), float(inf["lower"]), float(inf["upper"]), obs
    )
    tab = pd.DataFrame(
        [dict(term="gap_ratio", estimate=est, lower=lo, upper=hi, p_value=inf["p_value"])]
    )
    return AdditiveRatioResult(
        design="synthetic_control",
        effects=tab,
        main_term="gap_ratio",
        scale="rate_ratio",
        conf=res.conf,
        observed_mean=obs,
        counterfactual_mean=syn,
        additive=float(inf["estimate"]),
        additive_lower=float(inf["lower"]),
        additive_upper=float(inf["upper"]),
    )


def donor_weights(res, *, min_weight: float = 0.01) -> pd.DataFrame:
    """Donor kommuner with weight ≥ ``min_weight`` (name, weight in %)."""
    w = res.weights
    w = w[w["weight"] >= min_weight].copy()
    w["kommune_name"] = [kommune_name(int(u)) for u in w["unit"]]
    w["weight_pct"] = 100 * w["weight"]
    return w[["kommune_name", "weight_pct"]].reset_index(drop=True)


def placebo_summary(res) -> dict[str, float]:
    """Pre/post RMSPE of the kommune, its RMSPE ratio and :func:`sc_inference`'s results."""
    return dict(
        pre_rmspe=float(res.pre_rmspe),
        post_rmspe=float(res.post_rmspe),
        pre_outcome_sd=float(res.pre_outcome_sd),
        **sc_inference(res),
    )


