"""Study 7 (*Business case*): admissions avoided, DKK saved and cost per avoided admission.

The wiring of the business cases (moved whole from ``analyses/business.py``, which was easy
to confuse with :mod:`nsv_eval.analyses.business_case`, the Monte Carlo model) and the
sections of ``07_business_case.ipynb`` (:func:`key_results`, :func:`results`,
:func:`net_figure`, :func:`assumptions`, :func:`methods`).

For each of the kommune's interventions the effect is estimated exactly as in its effect
study, by calling that study's functions, and passed with the kommune's observed events to
:func:`nsv_eval.analyses.business_case.business_case` (Monte Carlo over the effect's
approximate confidence distribution of the effect and the unit-cost range; the observed
count is held fixed, its noise being already in the effect's interval):

* **acute team** (*akutteam*) → preventable admissions 65+: interrupted time series of the
  kommune's monthly series (:func:`nsv_eval.analyses.effects.kommune_its`, as study 5);
  observed = the kommune's preventable admissions 65+ from the first whole month of the
  team to the end of the period; programme cost = cost per year × years running.
* **follow-up home visit** (*opfølgende hjemmebesøg*) → 30-day readmissions: IPTW risk
  ratio among the visited (ATT; study 4's
  :func:`nsv_eval.analyses.readmissions.followup_effect`) estimated on ``scope``; observed =
  30-day readmissions after the kommune's index discharges *with* a visit; programme cost =
  the number of those visits × unit cost.
* **falls programme** (*faldforebyggelse*) → fall-injury admissions 65+: the staggered
  Poisson difference-in-differences over all kommuner (default ``"did"``; study 3's main
  estimate, :func:`~nsv_eval.analyses.falls.national_poisson_did`: observed / counterfactual
  fall injuries in the kommuner with the programme), with the Callaway & Sant'Anna ratio
  (:func:`~nsv_eval.analyses.falls.national_did` and
  :func:`~nsv_eval.analyses.effects.did_rate_ratio`) as a sensitivity line, or that ratio
  itself (``"did_cs"``), or the kommune's own interrupted time series (``"its"``);
  observed = fall-injury admissions 65+ from the start to the end of the period; programme
  cost = participants × cost per participant.

With ``observed`` events after the start and a ratio ``RR``, the avoided events are
``observed × (1/RR − 1)`` (:mod:`nsv_eval.analyses.business_case`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nsv_eval.analyses import effects, falls, preventable, readmissions
from nsv_eval.analyses.business_case import BusinessCase, business_case
from nsv_eval.analyses.data import Area, Prepared
from nsv_eval.errors import InputError
from nsv_eval.report import figures
from nsv_eval.report.disclosure import THRESHOLD
from nsv_eval.report.format import fmt_date, fmt_number
from nsv_eval.report.narrative import ci_label, fmt
from nsv_eval.report.sections import Section, key_result
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.ratio import AdditiveRatioResult

__all__ = [
    "COST_KEYS",
    "COST_LABELS_DA",
    "InterventionCase",
    "Sensitivity",
    "acute_team_case",
    "all_cases",
    "case_sentence",
    "falls_case",
    "followup_case",
    "methods",
    "resolve_unit_costs",
    "sensitivity_sentence",
    "summary_table",
]

COST_KEYS: dict[str, tuple[str, str]] = {
    # intervention -> (unit cost of one avoided event, programme cost key)
    "acute_team": ("preventable_admission", "acute_team_per_1000_65plus_per_year"),
    "followup_visit": ("readmission", "followup_visit"),
    "falls_programme": ("fall_injury_admission", "falls_programme_per_participant"),
}
"""Keys of ``unit_costs_dkk`` each intervention needs."""

COST_LABELS_DA: dict[str, str] = {
    "preventable_admission": "Forebyggelig indlæggelse (pr. indlæggelse)",
    "readmission": "Genindlæggelse (pr. indlæggelse)",
    "fall_injury_admission": "Indlæggelse efter faldulykke (pr. indlæggelse)",
    "acute_team_per_1000_65plus_per_year": "Akutteam (pr. 1.000 borgere 65+ pr. år)",
    "followup_visit": "Opfølgende hjemmebesøg (pr. besøg)",
    "falls_programme_per_participant": "Faldforebyggelse (pr. deltager)",
}
"""Danish names of the unit costs the business case uses."""

LABELS_DA: dict[str, tuple[str, str]] = {
    "acute_team": ("Akutteam", "forebyggelige indlæggelser (65+)"),
    "followup_visit": (
        "Opfølgende hjemmebesøg",
        "genindlæggelser inden for 30 dage efter udskrivelser med besøg",
    ),
    "falls_programme": ("Faldforebyggelse", "indlæggelser efter faldulykker (65+)"),
}

Cost = float | tuple[float, float]


def resolve_unit_costs(unit_costs_dkk: Mapping[str, Any] | None, kommune: int) -> dict[str, Cost]:
    """The unit costs to use: the notebook parameter, or the kommune's parameter files.

    Parameters
    ----------
    unit_costs_dkk : mapping or None
        ``{key: number or [low, high]}`` (the ``unit_costs_dkk`` parameter). Empty or None
        reads ``params/defaults.yaml`` merged with ``params/kommuner/<kommune>.yaml``
        (:func:`nsv_eval.params.load_params`), the same values ``nsv-eval run`` passes.
    kommune : int

    Returns
    -------
    dict
        ``{key: float or (low, high)}``.

    Raises
    ------
    InputError
        A needed key is missing, or a value is not a non-negative number or a range.
    """
    if not unit_costs_dkk:
        from nsv_eval.params import load_params

        unit_costs_dkk = load_params(kommune)["unit_costs_dkk"]
    out: dict[str, Cost] = {}
    for key, v in unit_costs_dkk.items():
        if isinstance(v, list | tuple):
            if len(v) != 2 or not all(_num_ok(x) for x in v) or float(v[0]) > float(v[1]):
                raise InputError(
                    f"unit_costs_dkk[{key!r}] must be a number or [low, high] with "
                    f"0 <= low <= high, got {v!r}"
                )
            out[key] = (float(v[0]), float(v[1]))
        elif _num_ok(v):
            out[key] = float(v)
        else:
            raise InputError(f"unit_costs_dkk[{key!r}] must be a non-negative number, got {v!r}")
    need = sorted({k for pair in COST_KEYS.values() for k in pair} - set(out))
    if need:
        raise InputError(f"unit_costs_dkk lacks {need} (see params/defaults.yaml)")
    return out


def _num_ok(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x) and x >= 0


def _point(c: Cost) -> float:
    return (c[0] + c[1]) / 2 if isinstance(c, tuple) else float(c)


@dataclass
class Sensitivity:
    """A second estimate of a case's effect, shown next to the business case, not used in it.

    Attributes
    ----------
    design_da : str
        How it was estimated (Danish).
    rate_ratio, rr_lower, rr_upper : float
        The ratio and its confidence limits.
    conf : float
        Confidence level of the limits.
    """

    design_da: str
    rate_ratio: float
    rr_lower: float
    rr_upper: float
    conf: float = 0.95


@dataclass
class InterventionCase:
    """One intervention's business case (or why there is none).

    Attributes
    ----------
    key : str
        ``"acute_team"``, ``"followup_visit"`` or ``"falls_programme"``.
    available : bool
        False when the kommune never ran it or the effect cannot be estimated
        (``reason_da`` says why).
    design_da : str
        How the effect was estimated (Danish).
    effect : EffectResult or None
        The effect estimate as computed by the effect study.
    rate_ratio, rr_lower, rr_upper : float
        The ratio passed to the business case.
    observed : int
        Events observed in the kommune in ``period`` (the ratio is applied to these).
    period : (Timestamp, Timestamp) or None
        First and last day of the period the events and costs cover.
    unit_cost : float or (float, float)
        DKK per avoided event.
    programme_cost : float
        DKK spent on the intervention in the period.
    cost_basis_da : str
        How the programme cost was computed (Danish).
    result : BusinessCase or None
    sensitivity : Sensitivity or None
        A second estimate of the effect shown as a sensitivity line (the falls programme's
        Callaway & Sant'Anna ratio next to the Poisson DiD), not used in the calculation.
    """

    key: str
    available: bool
    reason_da: str = ""
    design_da: str = ""
    effect: EffectResult | None = None
    rate_ratio: float = float("nan")
    rr_lower: float = float("nan")
    rr_upper: float = float("nan")
    observed: int = 0
    period: tuple[pd.Timestamp, pd.Timestamp] | None = None
    unit_cost: Cost = 0.0
    programme_cost: float = 0.0
    cost_basis_da: str = ""
    result: BusinessCase | None = None
    sensitivity: Sensitivity | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def label_da(self) -> str:
        """Danish name of the intervention."""
        return LABELS_DA[self.key][0]

    @property
    def outcome_da(self) -> str:
        """Danish name of the events it should prevent."""
        return LABELS_DA[self.key][1]


def _finish(case: InterventionCase, conf: float, n_sim: int, seed: int) -> InterventionCase:
    """Run the Monte Carlo business case on the case's inputs (or record why not)."""
    vals = [case.rate_ratio, case.rr_lower, case.rr_upper]
    if not np.all(np.isfinite(vals)) or min(vals) <= 0:
        return _unavailable(
            case,
            "Effekten kunne ikke beregnes med et brugbart konfidensinterval (for få hændelser).",
        )
    if case.observed < THRESHOLD:
        # avoided = observed × (1/RR − 1) would give a count of 1-4 back, and a business
        # case on a handful of events says nothing
        return _unavailable(
            case,
            f"Der er {'ingen' if case.observed == 0 else 'under 5'} {case.outcome_da} i "
            "kommunen i perioden, så der er intet at regne en besparelse på.",
        )
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # simulations with no avoided events give an infinite cost per avoided event; the
        # quantiles then warn about inf - inf although the result (inf) is right
        warnings.simplefilter("ignore", RuntimeWarning)
        case.result = business_case(
            case.observed,
            case.rate_ratio,
            case.rr_lower,
            case.rr_upper,
            unit_cost=case.unit_cost,
            programme_cost=case.programme_cost,
            conf=conf,
            effect_conf=float(case.effect.conf) if case.effect is not None else conf,
            n_sim=n_sim,
            seed=seed,
            additive=case.details.get("additive"),
        )
    return case


def _ratio(res: EffectResult) -> tuple[float, float, float]:
    m = res.main_effect()
    return float(m["estimate"]), float(m["lower"]), float(m["upper"])


def _period_bounds(years: Sequence[int]) -> tuple[int, int]:
    ys = sorted(int(y) for y in years)
    return ys[0], ys[-1]


# --------------------------------------------------------------------------------------
# the three interventions
# --------------------------------------------------------------------------------------
def acute_team_case(
    prep: Prepared,
    kommune: int,
    costs: Mapping[str, Cost],
    *,
    years: Sequence[int],
    intervention_dates: Any = "data",
    conf: float = 0.95,
    n_sim: int = 20_000,
    seed: int = 1,
) -> InterventionCase:
    """Acute team → preventable admissions 65+ (ITS of the kommune, as study 5)."""
    case = InterventionCase("acute_team", available=True)
    start = falls.resolve_start(prep, kommune, "acute_team", intervention_dates)
    y0, y1 = _period_bounds(years)
    if start is None:
        return _unavailable(case, "Kommunen har ikke haft et akutteam i perioden.")
    first = effects.first_post_month(start)
    if first.year > y1:
        return _unavailable(case, f"Akutteamet startede {fmt_date(start)}, efter perioden.")
    try:
        res = effects.kommune_its(prep, kommune, preventable.MEASURE, start, years=years, conf=conf)
    except (InputError, ValueError) as exc:
        return _unavailable(case, f"Den afbrudte tidsserie kunne ikke beregnes ({exc}).")
    s = res.data
    post = s[s["date"] >= first]
    months = len(post)
    case.effect = res
    case.design_da = "Afbrudt tidsserie for kommunen (niveauskift, rateratio)"
    case.rate_ratio, case.rr_lower, case.rr_upper = _ratio(res)
    case.observed = int(post["count"].sum())
    case.period = (first, pd.Timestamp(y1, 12, 31))
    unit_key, prog_key = COST_KEYS["acute_team"]
    case.unit_cost = costs[unit_key]
    # The team's running cost scales with the population it serves: a cost per 1,000
    # residents 65+ per year times the 65+ person-years while it ran (also keeps the
    # business case meaningful on the scaled-down synthetic data).
    per_1000 = _point(costs[prog_key])
    person_years = float(post["person_years"].sum())
    case.programme_cost = per_1000 * person_years / 1000
    case.cost_basis_da = (
        f"{fmt_number(months / 12, 1)} år, {fmt_number(person_years, 0)} personår 65+ "
        f"à {fmt_number(per_1000, 0)} kr. pr. 1.000"
    )
    case.details.update(months=months, start=start, person_years_65=person_years)
    return _finish(case, conf, n_sim, seed)


def followup_case(
    prep: Prepared,
    kommune: int,
    costs: Mapping[str, Cost],
    *,
    years: Sequence[int],
    scope: str = "region",
    conf: float = 0.95,
    n_sim: int = 20_000,
    seed: int = 1,
) -> InterventionCase:
    """Follow-up home visit → readmissions (IPTW ATT of study 4 applied to the visited)."""
    case = InterventionCase("followup_visit", available=True)
    y0, y1 = _period_bounds(years)
    lc = readmissions.readmission_cohort(prep, kommune, scope=scope, years=range(y0, y1 + 1))
    problem = readmissions.adequacy(lc)
    if problem:
        return _unavailable(case, problem)
    own = lc.data[lc.data["kommune_code"] == int(kommune)]
    visited = own[own["followup_visit"].astype(bool)]
    n_visits = len(visited)
    if n_visits == 0:
        return _unavailable(case, "Kommunen har ingen registrerede opfølgende hjemmebesøg.")
    res = readmissions.followup_effect(lc, estimand="ATT", conf=conf, cache=prep)
    area = Area.of(scope, kommune)
    case.effect = res
    case.design_da = f"Kohorte med vægtning (IPTW, effekt blandt de besøgte), {area.name}"
    case.rate_ratio, case.rr_lower, case.rr_upper = _ratio(res)
    case.observed = int(visited["readmit_30d"].astype(bool).sum())
    case.period = (pd.Timestamp(y0, 1, 1), pd.Timestamp(y1, 12, 31))
    unit_key, prog_key = COST_KEYS["followup_visit"]
    case.unit_cost = costs[unit_key]
    per_visit = _point(costs[prog_key])
    case.programme_cost = per_visit * n_visits
    case.cost_basis_da = f"{fmt_number(n_visits, 0)} besøg à {fmt_number(per_visit, 0)} kr."
    case.details.update(visits=n_visits, scope=area.name)
    return _finish(case, conf, n_sim, seed)


def falls_case(
    prep: Prepared,
    kommune: int,
    costs: Mapping[str, Cost],
    *,
    years: Sequence[int],
    intervention_dates: Any = "data",
    design: str = "did",
    conf: float = 0.95,
    n_sim: int = 20_000,
    seed: int = 1,
) -> InterventionCase:
    """Falls programme → fall-injury admissions 65+ (Poisson DiD, CS DiD or the kommune's ITS).

    Parameters
    ----------
    design : {"did", "did_cs", "its"}
        ``"did"``: the Poisson DiD over all kommuner (study 3's main estimate: the rate
        ratio observed / counterfactual fall injuries in the kommuner with the programme,
        precise but not specific to this kommune), with the Callaway & Sant'Anna ratio in
        :attr:`InterventionCase.sensitivity`; ``"did_cs"``: that Callaway & Sant'Anna ratio as the
        effect (simulated on the ATT's scale); ``"its"``: the kommune's own interrupted time
        series.
    """
    if design not in ("did", "did_cs", "its"):
        raise ValueError(f"design must be 'did', 'did_cs' or 'its', got {design!r}")
    case = InterventionCase("falls_programme", available=True)
    start = falls.resolve_start(prep, kommune, "falls_programme", intervention_dates)
    y0, y1 = _period_bounds(years)
    if start is None:
        return _unavailable(case, "Kommunen har ikke haft et faldforebyggelsesprogram i perioden.")
    first = effects.first_post_month(start)
    if first.year > y1:
        return _unavailable(case, f"Programmet startede {fmt_date(start)}, efter perioden.")
    s = effects.kommune_series(prep, kommune, falls.MEASURE, years)
    post = s[s["date"] >= first]
    try:
        if design == "its":
            res = effects.kommune_its(prep, kommune, falls.MEASURE, start, years=years, conf=conf)
            case.design_da = "Afbrudt tidsserie for kommunen (niveauskift, rateratio)"
        else:
            panel = falls.national_panel(prep, years=years)
            cs = _falls_cs_ratio(panel, conf, prep)
            if design == "did":
                res, _ = falls.national_poisson_did(panel, conf=conf, cache=prep)
                case.design_da = (
                    "Poisson difference-in-differences over alle kommuner med forskudt start "
                    "(hovedestimatet i studie 3: observerede faldulykker i forhold til det "
                    "forventede uden programmet i kommunerne med programmet)"
                )
                if cs is not None:
                    rr, lo, hi = _ratio(cs)
                    case.sensitivity = Sensitivity(
                        design_da="Callaway & Sant'Anna (kommunernes alders- og "
                        "kønsstandardiserede rater, omregnet til ratio)",
                        rate_ratio=rr,
                        rr_lower=lo,
                        rr_upper=hi,
                        conf=float(cs.conf),
                    )
            else:
                if cs is None:
                    raise InputError("Callaway & Sant'Anna could not be estimated")
                res = cs
                # the ratio is the image of the ATT's interval: simulate on the ATT's scale
                case.details["additive"] = (
                    cs.additive,
                    cs.additive_lower,
                    cs.additive_upper,
                    cs.observed_mean,
                )
                case.design_da = (
                    "Difference-in-differences (Callaway & Sant'Anna) over alle kommuner med "
                    "forskudt start (gennemsnitlig effekt i kommuner med programmet, omregnet "
                    "til rateratio)"
                )
    except (InputError, ValueError) as exc:
        return _unavailable(case, f"Effekten kunne ikke beregnes ({exc}).")
    part = effects.cohort(prep, "falls", kommune=kommune, scope="kommune")
    part = part[part["participant"].astype(bool) & part["year"].between(y0, y1)]
    n_part = len(part)
    case.effect = res
    case.rate_ratio, case.rr_lower, case.rr_upper = _ratio(res)
    case.observed = int(post["count"].sum())
    case.period = (first, pd.Timestamp(y1, 12, 31))
    unit_key, prog_key = COST_KEYS["falls_programme"]
    case.unit_cost = costs[unit_key]
    per_part = _point(costs[prog_key])
    case.programme_cost = per_part * n_part
    case.cost_basis_da = f"{fmt_number(n_part, 0)} deltagere à {fmt_number(per_part, 0)} kr."
    case.details.update(participants=n_part, start=start, design=design)
    return _finish(case, conf, n_sim, seed)


def _falls_cs_ratio(
    panel: pd.DataFrame, conf: float, prep: Prepared | None = None
) -> AdditiveRatioResult | None:
    """Study 3's Callaway & Sant'Anna DiD as a rate ratio (None when it cannot be estimated)."""
    try:
        did, _ = falls.national_did(panel, conf=conf, cache=prep)
        return effects.did_rate_ratio(did, panel)
    except (InputError, ValueError):
        return None


def sensitivity_sentence(case: InterventionCase) -> str:
    """Danish sentence on a case's sensitivity estimate (empty when it has none)."""
    sens = case.sensitivity
    if not case.available or sens is None:
        return ""
    ci = (
        f"{fmt_number(sens.rr_lower, 2)}–{fmt_number(sens.rr_upper, 2)}"
        if np.isfinite([sens.rr_lower, sens.rr_upper]).all()
        else "kan ikke beregnes"
    )
    return (
        f"Følsomhedsberegning for {case.label_da.lower()}: med {sens.design_da} er ratioen "
        f"{fmt_number(sens.rate_ratio, 2)} ({ci_label(sens.conf)}: {ci}) mod "
        f"{fmt_number(case.rate_ratio, 2)} i hovedberegningen. Business casen er regnet med "
        "hovedberegningen."
    )


def _unavailable(case: InterventionCase, reason: str) -> InterventionCase:
    case.available = False
    case.reason_da = reason
    return case


def all_cases(
    prep: Prepared,
    kommune: int,
    unit_costs_dkk: Mapping[str, Any] | None,
    *,
    years: Sequence[int],
    intervention_dates: Any = "data",
    scope: str = "region",
    falls_design: str = "did",
    conf: float = 0.95,
    n_sim: int = 20_000,
    seed: int = 1,
) -> list[InterventionCase]:
    """The business cases of the acute team, the follow-up visit and the falls programme."""
    costs = resolve_unit_costs(unit_costs_dkk, kommune)
    common: dict[str, Any] = dict(years=years, conf=conf, n_sim=n_sim, seed=seed)
    return [
        acute_team_case(prep, kommune, costs, intervention_dates=intervention_dates, **common),
        followup_case(prep, kommune, costs, scope=scope, **common),
        falls_case(
            prep,
            kommune,
            costs,
            intervention_dates=intervention_dates,
            design=falls_design,
            **common,
        ),
    ]


# --------------------------------------------------------------------------------------
# presentation
# --------------------------------------------------------------------------------------
def summary_table(cases: Sequence[InterventionCase]) -> pd.DataFrame:
    """One row per intervention with a business case.

    Returns
    -------
    pandas.DataFrame
        ``intervention``, ``outcome``, ``observed``, ``rate_ratio``, ``rr_lower``,
        ``rr_upper``, ``avoided``, ``avoided_lower``, ``avoided_upper``, ``gross_saving``,
        ``programme_cost``, ``net_saving``, ``net_lower``, ``net_upper``,
        ``cost_per_avoided``, ``share_net_positive`` (%: share of the approximate confidence
        distribution of the net saving above zero). Money in DKK.
    """
    rows = []
    for c in cases:
        if not c.available or c.result is None:
            continue
        t = c.result.table().set_index("quantity")
        cpa = t.at["cost_per_avoided", "estimate"] if "cost_per_avoided" in t.index else np.nan
        rows.append(
            {
                "intervention": c.label_da,
                "outcome": c.outcome_da,
                "observed": c.observed,
                "rate_ratio": c.rate_ratio,
                "rr_lower": c.rr_lower,
                "rr_upper": c.rr_upper,
                "avoided": t.at["avoided", "estimate"],
                "avoided_lower": t.at["avoided", "lower"],
                "avoided_upper": t.at["avoided", "upper"],
                "gross_saving": t.at["gross_saving", "estimate"],
                "programme_cost": c.programme_cost,
                "net_saving": t.at["net_saving", "estimate"],
                "net_lower": t.at["net_saving", "lower"],
                "net_upper": t.at["net_saving", "upper"],
                "cost_per_avoided": cpa,
                "share_net_positive": 100 * c.result.share_net_positive,
            }
        )
    return pd.DataFrame(rows)


def case_sentence(case: InterventionCase) -> str:
    """A plain Danish sentence on one intervention's business case, written from the numbers."""
    if not case.available or case.result is None:
        return f"{case.label_da}: {case.reason_da}"
    t = case.result.table().set_index("quantity")
    av = t.loc["avoided"]
    net = t.loc["net_saving"]
    pct = int(round(case.result.conf * 100))
    p = 100 * case.result.share_net_positive

    def mio(x: float) -> str:
        return fmt_number(x / 1e6, 1)

    if av["estimate"] > 0:
        head = (
            f"{case.label_da}: skønnet {fmt_number(av['estimate'], 0)} færre "
            f"{case.outcome_da} ({pct} %-KI: {fmt_number(av['lower'], 0)} til "
            f"{fmt_number(av['upper'], 0)})"
        )
    else:
        head = (
            f"{case.label_da}: ingen forebyggede {case.outcome_da} ifølge punktestimatet "
            f"({fmt_number(av['estimate'], 0)}; {pct} %-KI: {fmt_number(av['lower'], 0)} til "
            f"{fmt_number(av['upper'], 0)})"
        )
    if p >= 90:
        verdict = "Data peger klart på et overskud"
    elif p >= 50:
        verdict = "Data peger svagt mod et overskud"
    elif p >= 10:
        verdict = "Data peger svagt mod et underskud"
    else:
        verdict = "Data peger klart på et underskud"
    return (
        f"{head}. Efter udgiften på {mio(case.programme_cost)} mio. kr. er nettoresultatet "
        f"{mio(net['estimate'])} mio. kr. ({pct} %-KI: {mio(net['lower'])} til "
        f"{mio(net['upper'])}). {fmt_number(p, 0)} % af den tilnærmede konfidensfordeling for "
        "nettoresultatet ligger over nul (et mål for, hvor sikkert data udelukker et "
        f"underskud, ikke en sandsynlighed for overskud). {verdict} målt på sygehusudgifter "
        "alene."
    )


# --------------------------------------------------------------------------------------
# sections of 07_business_case.ipynb
# --------------------------------------------------------------------------------------
def key_results(cases: Sequence[InterventionCase], *, conf: float = 0.95) -> list[Section]:
    """One key result per intervention: the net saving (or why there is no business case)."""
    keys = []
    for c in cases:
        if not c.available or c.result is None:
            keys.append(
                key_result(
                    f"{c.key}_business_case", c.reason_da, c.label_da + ": {value}", kind="text"
                )
            )
            continue
        t = c.result.table().set_index("quantity")
        net = t.loc["net_saving"]
        keys.append(
            key_result(
                f"{c.key}_net_saving",
                float(net["estimate"]),
                case_sentence(c).replace("{", "{{").replace("}", "}}"),
                lower=float(net["lower"]),
                upper=float(net["upper"]),
                conf=conf,
                decimals=0,
                unit="kr.",
                avoided=float(t.at["avoided", "estimate"]),
                avoided_lower=float(t.at["avoided", "lower"]),
                avoided_upper=float(t.at["avoided", "upper"]),
                gross_saving=float(t.at["gross_saving", "estimate"]),
                programme_cost=float(c.programme_cost),
                share_net_positive=float(c.result.share_net_positive),
                rate_ratio=c.rate_ratio,
            )
        )
    return [Section(findings=keys)]


def results(
    cases: Sequence[InterventionCase],
    *,
    navn: str,
    period_start: int,
    period_end: int,
    conf: float = 0.95,
) -> list[Section]:
    """The summary table of all business cases (thousand DKK), or that there is none; the
    sensitivity lines (:func:`sensitivity_sentence`) under it."""
    tab = summary_table(cases)
    if tab.empty:
        return [
            Section(
                text="**Kommunen har ingen indsatser med et beregneligt effektestimat i perioden.**"
            )
        ]
    k = 1000.0

    def ci(est: float, lo: float, hi: float, d: int, sep: str) -> str:
        return f"{fmt_number(est, d)} ({fmt_number(lo, d)}{sep}{fmt_number(hi, d)})"

    shown = tab.assign(
        effect=[ci(r.rate_ratio, r.rr_lower, r.rr_upper, 2, "–") for r in tab.itertuples()],
        avoided_ci=[
            ci(r.avoided, r.avoided_lower, r.avoided_upper, 0, " til ") for r in tab.itertuples()
        ],
        gross=tab["gross_saving"] / k,
        cost=tab["programme_cost"] / k,
        net=[
            ci(r.net_saving / k, r.net_lower / k, r.net_upper / k, 0, " til ")
            for r in tab.itertuples()
        ],
        cpa=tab["cost_per_avoided"] / k,
    )
    derived = ["effect", "avoided_ci", "gross", "cost", "net", "cpa", "share_net_positive"]
    sensitivity = [t for t in (sensitivity_sentence(c) for c in cases) if t]
    return [
        Section(
            after="\n\n".join(sensitivity) or None,
            table=shown[["intervention", "outcome", "observed", *derived]],
            table_options=dict(
                count_cols="observed",
                derived_cols={c: "observed" for c in derived},
                labels={
                    "intervention": "Indsats",
                    "outcome": "Hændelser, indsatsen skal forebygge",
                    "observed": "Observerede hændelser i perioden",
                    "effect": f"Effekt: ratio ({ci_label(conf)})",
                    "avoided_ci": f"Forebygget ({ci_label(conf)})",
                    "gross": "Bruttobesparelse (1.000 kr.)",
                    "cost": "Udgift til indsatsen (1.000 kr.)",
                    "net": f"Netto (1.000 kr.; {ci_label(conf)})",
                    "cpa": "Udgift pr. forebygget hændelse (1.000 kr.)",
                    "share_net_positive": "Andel af konfidensfordelingen over nul (%)",
                },
                decimals={"gross": 0, "cost": 0, "cpa": 0, "share_net_positive": 0},
                caption=f"Business case for {navn}, {period_start}–{period_end}",
                notes=[
                    "Ratio under 1 = færre hændelser med indsatsen. Forebygget = observerede × "
                    "(1/ratio − 1). Netto = bruttobesparelse − udgift; negativt = underskud.",
                    "Udgift pr. forebygget hændelse = udgiften til indsatsen / forebyggede "
                    "hændelser (vises kun, når punktestimatet er et forebyggende antal).",
                ],
            ),
        )
    ]


def net_figure(cases: Sequence[InterventionCase]) -> list[Section]:
    """The confidence distributions of the net saving (nothing when no case is available)."""
    if summary_table(cases).empty:
        return []
    return [Section(figure=figures.net_plot(cases))]


def _unit_text(u: Cost) -> str:
    return (
        f"{fmt_number(u[0], 0)}–{fmt_number(u[1], 0)} kr."
        if isinstance(u, tuple)
        else f"{fmt_number(u, 0)} kr."
    )


def _range_text(u: Cost) -> str:
    return (
        f"{fmt_number(u[0], 0)}–{fmt_number(u[1], 0)}" if isinstance(u, tuple) else fmt_number(u, 0)
    )


def assumptions(cases: Sequence[InterventionCase], costs: Mapping[str, Cost]) -> list[Section]:
    """What each business case rests on (design, period, unit price, cost basis) and the
    unit prices used."""
    rows = []
    for c in cases:
        if not c.available or c.period is None:
            rows.append(
                {
                    "intervention": c.label_da,
                    "design": "Ingen beregning",
                    "period": "",
                    "unit": "",
                    "basis": c.reason_da,
                }
            )
            continue
        rows.append(
            {
                "intervention": c.label_da,
                "design": c.design_da,
                "period": f"{fmt_date(c.period[0])} – {fmt_date(c.period[1])}",
                "unit": _unit_text(c.unit_cost),
                "basis": c.cost_basis_da,
            }
        )
    prices = pd.DataFrame(
        [
            {
                "key": label,
                "value": _range_text(costs[key]),
            }
            for key, label in COST_LABELS_DA.items()
        ]
    )
    return [
        Section(
            table=pd.DataFrame(rows),
            table_options=dict(
                labels={
                    "intervention": "Indsats",
                    "design": "Hvordan effekten er beregnet",
                    "period": "Periode",
                    "unit": "Pris pr. forebygget hændelse",
                    "basis": "Udgift til indsatsen",
                },
                caption="Forudsætninger for beregningen",
            ),
        ),
        Section(
            table=prices,
            table_options=dict(
                labels={"key": "Enhedspris", "value": "Kr."},
                caption="Enhedspriser brugt i beregningen (illustrative; erstat med kommunens egne)",
                notes=[
                    "Et interval betyder, at prisen er usikker og trækkes jævnt fordelt inden "
                    "for intervallet; udgiften til indsatsen regnes med midtpunktet.",
                ],
            ),
        ),
    ]


_FALLS_EFFECT_DA: dict[str, str] = {
    "did": (
        "faldforebyggelsen fra sammenligningen af kommuner før og efter deres start\n"
        "  (Poisson difference-in-differences på antallet af faldulykker med det forventede antal\n"
        "  ud fra landets alders- og kønsspecifikke rater pr. år som offset, hovedestimatet i\n"
        "  studie 3: observerede faldulykker i forhold til det forventede antal uden\n"
        "  programmet i kommunerne med programmet). Den ratio er et gennemsnit for kommunerne med\n"
        "  programmet, ikke et estimat for netop denne kommune. Callaway & Sant'Anna-estimatet fra\n"
        "  studie 3 (kommunernes alders- og kønsstandardiserede rater, hver kommune vægter lige)\n"
        "  vises som følsomhedsberegning\n"
        "  under tabellen."
    ),
    "did_cs": (
        "faldforebyggelsen fra sammenligningen af kommuner før og efter deres start\n"
        "  (Callaway & Sant'Anna difference-in-differences på kommunernes alders- og\n"
        "  kønsstandardiserede rater, hver kommune\n"
        "  vægter lige, omregnet til en ratio; følsomhedsberegningen i studie 3). Den ratio er et\n"
        "  gennemsnit for kommunerne med programmet, ikke et estimat for netop denne kommune."
    ),
    "its": "faldforebyggelsen fra kommunens egen afbrudte tidsserie.",
}
"""How the falls programme's effect was estimated, by ``falls_design`` (a methods bullet)."""


def methods(falls_design: str = "did") -> list[Section]:
    """The methods and caveats of the business case (a markdown list); the falls bullet
    names the chosen ``falls_design`` (``"did"``, ``"did_cs"`` or ``"its"``)."""
    if falls_design not in _FALLS_EFFECT_DA:
        raise ValueError(f"falls_design must be one of {sorted(_FALLS_EFFECT_DA)}")
    bullets = [
        "**Regnestykket.** Med et observeret antal hændelser efter indsatsens start og en effekt\n"
        "  udtrykt som en ratio (hændelser med indsatsen / hændelser uden) er antallet uden\n"
        "  indsatsen skønnet til observerede / ratio, og de forebyggede hændelser er forskellen,\n"
        "  observerede × (1/ratio − 1). Bruttobesparelsen er de forebyggede hændelser gange prisen\n"
        "  pr. hændelse; nettoresultatet er bruttobesparelsen minus udgiften til indsatsen.",
        "**Effekterne** kommer fra de samme beregninger som rapporterne om de enkelte indsatser:\n"
        "  akutteamet fra en afbrudt tidsserie for kommunens forebyggelige indlæggelser,\n"
        "  hjemmebesøget fra sammenligningen af udskrivelser med og uden besøg (vægtet for\n"
        "  borgernes kendetegn, i det valgte område, effekten blandt de besøgte fra dag 8 til 30),\n"
        "  " + _FALLS_EFFECT_DA[falls_design],
        "**Priserne er illustrative.** Standardværdierne i `params/defaults.yaml` er runde tal til\n"
        "  demonstration, ikke officielle takster. Brug kommunens egne tal, fx DRG-takster fra\n"
        "  Sundhedsdatastyrelsen for indlæggelserne og kommunens egne udgifter til indsatserne.",
        "**Besparelsen ligger på sygehuset.** En forebygget indlæggelse sparer regionen\n"
        "  sygehusudgifter; det er ikke nødvendigvis penge, der kommer tilbage i kommunens kasse.\n"
        "  Kommunen betaler dog den kommunale medfinansiering af indlæggelser, og færre\n"
        "  indlæggelser kan også spare kommunal pleje efter udskrivelsen — det er ikke regnet med.",
        "**Usikkerhed, der er regnet med:** effektens konfidensinterval (normalfordelt på\n"
        "  log-skala med den spredning, der genskaber intervallet; for Callaway & Sant'Anna\n"
        '  (`falls_design="did_cs"`) normalfordelt på den oprindelige skala og omregnet til ratio\n'
        "  med det observerede niveau holdt fast) og prisintervallet (jævnt fordelt), i et antal\n"
        "  simulationer (parameteren `n_sim`, standard 20.000). Det observerede antal hændelser\n"
        "  holdes fast: dets tilfældige variation er allerede med i effektens konfidensinterval og\n"
        "  må ikke tælles to gange. Resultatet er en tilnærmet konfidensfordeling; andelen over\n"
        "  nul er ikke en sandsynlighed for overskud.",
        "**Usikkerhed, der ikke er regnet med:** om designets forudsætninger holder (fx at\n"
        "  udviklingen før akutteamet ville være fortsat uden det), usikkerhed om udgiften til\n"
        "  indsatsen, at effekten fra regionen eller alle kommuner også gælder i kommunen,\n"
        "  gevinster ud over sygehuset (livskvalitet, pleje), og at effekter kan aftage eller\n"
        "  vokse over tid. Udgiften til akutteamet er regnet fra den første hele måned til\n"
        "  periodens slutning.",
        "**Læg ikke tallene sammen.** Hoftebrud er både en forebyggelig indlæggelse og en\n"
        "  faldulykke, og en genindlæggelse kan også være forebyggelig. En sum over indsatserne\n"
        "  kan derfor tælle de samme indlæggelser to gange.",
        "**Hjemmebesøget** er kun regnet på genindlæggelser fra dag 8 til 30; hvis besøget også\n"
        "  forebygger genindlæggelser i de første dage, er besparelsen undervurderet. Udgiften\n"
        "  omfatter alle besøg, også til borgere, der blev genindlagt eller døde før dag 8.",
    ]
    return [Section(text="\n".join(f"- {b}" for b in bullets))]


def business_case_summary(bc: BusinessCase, lang: str = "da") -> str:
    """Plain-language summary of a :class:`~nsv_eval.analyses.business_case.BusinessCase`
    written from its numbers (moved whole from ``BusinessCase.summary``: words live in
    ``report``)."""
    t = bc._table.set_index("quantity")
    pct = int(round(bc.conf * 100))
    av, sv, net = t.loc["avoided"], t.loc["gross_saving"], t.loc["net_saving"]
    p = bc.share_net_positive * 100
    if lang == "da":
        return (
            f"Indsatsen skønnes at have forebygget {fmt(av.estimate, lang, 0)} hændelser "
            f"({pct} %-KI: {fmt(av.lower, lang, 0)} til {fmt(av.upper, lang, 0)}), svarende til "
            f"en bruttobesparelse på {fmt(sv.estimate / 1e6, lang, 1)} mio. kr. "
            f"({fmt(sv.lower / 1e6, lang, 1)} til {fmt(sv.upper / 1e6, lang, 1)} mio. kr.). "
            f"Efter indsatsens udgift på {fmt(bc.inputs['programme_cost'] / 1e6, lang, 1)} mio. kr. "
            f"er nettoresultatet {fmt(net.estimate / 1e6, lang, 1)} mio. kr. "
            f"({fmt(net.lower / 1e6, lang, 1)} til {fmt(net.upper / 1e6, lang, 1)} mio. kr.). "
            f"{fmt(p, lang, 0)} % af den tilnærmede konfidensfordeling for nettoresultatet "
            "ligger over nul (et mål for, hvor sikkert data udelukker et underskud, ikke en "
            "sandsynlighed for, at indsatsen betaler sig)."
        )
    return (
        f"The intervention is estimated to have avoided {fmt(av.estimate, lang, 0)} events "
        f"({pct}% CI {fmt(av.lower, lang, 0)} to {fmt(av.upper, lang, 0)}), a gross saving of "
        f"DKK {fmt(sv.estimate / 1e6, lang, 1)} million. After the programme cost of DKK "
        f"{fmt(bc.inputs['programme_cost'] / 1e6, lang, 1)} million the net result is DKK "
        f"{fmt(net.estimate / 1e6, lang, 1)} million ({fmt(net.lower / 1e6, lang, 1)} to "
        f"{fmt(net.upper / 1e6, lang, 1)}). {fmt(p, lang, 0)}% of the approximate "
        "confidence distribution of the net result lies above zero (how firmly the data "
        "rule out a loss, not a probability that the programme pays off)."
    )
