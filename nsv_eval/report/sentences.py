"""Danish paragraphs on effect results shared by several study sections.

Interrupted time series, difference-in-differences (Callaway & Sant'Anna and Poisson),
negative control, triangulation, the synthetic-control direction check and the RD verdict:
each function reads the numbers of a result from :mod:`nsv_eval.stats` /
:mod:`nsv_eval.analyses` and writes the sentence a reader sees. Moved whole from the study
modules in ``nsv_eval.analyses`` (issue #12: words live in ``report``).
"""

from __future__ import annotations

import numpy as np

from nsv_eval import stats
from nsv_eval.analyses.effects import Triangulation
from nsv_eval.report.format import fmt_date, fmt_number, fmt_p
from nsv_eval.report.narrative import ci_label
from nsv_eval.report.narrative.poisson_did import EXPECTED_EXPOSURE
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.rd import RDResult


def its_sentence(res, what: str) -> str:
    """Plain Danish paragraph on an ITS result of :func:`kommune_its`."""

    m = res.main_effect()
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    change = (est - 1) * 100
    s = (
        f"Modellen bygger på {res.n_pre} måneder før og {res.n_post} måneder efter starten "
        f"({fmt_date(res.start_date)}). Efter starten lå {what} {fmt_number(abs(change), 0)} % "
        f"{'under' if change < 0 else 'over'} det forventede niveau uden indsats (rateratio "
        f"{fmt_number(est, 2)}; {ci_label(res.conf)}: {fmt_number(lo, 2)}–{fmt_number(hi, 2)}). "
    )
    if hi < 1:
        s += "Faldet er større, end tilfældigheder kan forklare."
    elif lo > 1:
        s += "Stigningen er større, end tilfældigheder kan forklare."
    else:
        s += "Data kan ikke udelukke, at indsatsen ingen effekt har haft."
    if res.autocorrelation_flag:
        s += (
            " Der er tegn på sammenhæng mellem nabomåneder (autokorrelation), så intervallet "
            "kan være lidt for smalt."
        )
    return s


def _did_verdict_da(lo: float, hi: float, null: float, res) -> str:
    """Whether a DiD interval excludes ``null``, and its pre-trend test, in Danish (shared
    by :func:`did_sentence` and :func:`poisson_did_sentence`)."""

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

    m = res.main_effect()
    r = ratio.main_effect()
    n_units, n_treated = res.n_units, res.n_treated
    ctrl = {"never": "aldrig", "notyet": "endnu ikke eller aldrig"}[res.control]
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    s = (
        f"{n_treated} af {n_units} kommuner startede i perioden; hver startårgang er sammenlignet "
        f"med kommuner, der {ctrl} havde startet. Efter start ændrede {what} sig i gennemsnit "
        f"med {fmt_number(est, 1)} {unit} ({ci_label(res.conf)}: {fmt_number(lo, 1)} til {fmt_number(hi, 1)}), "
        f"svarende til en rateratio på ca. {fmt_number(r['estimate'], 2)}. "
    )
    return s + _did_verdict_da(lo, hi, 0, res)


def poisson_did_sentence(res, what: str) -> str:
    """Plain Danish paragraph on the national Poisson DiD (:func:`national_poisson_did`)."""

    m = res.main_effect()
    ctrl = {"never": "aldrig", "notyet": "endnu ikke eller aldrig"}[res.control]
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    weight = (
        "antallet er målt mod det forventede antal ud fra kommunens alders- og kønsfordeling "
        "(landets rater pr. år), og hver forventet hændelse tæller lige meget"
        if res.exposure == EXPECTED_EXPOSURE
        else "hvert personår tæller lige meget"
    )
    s = (
        f"{res.n_treated} af {res.n_units} kommuner startede i perioden; hver startårgang er "
        f"sammenlignet med kommuner, der {ctrl} havde startet, og {weight}. "
        f"Efter start var {what} {fmt_number(est, 2)} gange det forventede niveau uden "
        f"indsatsen (rateratio, {ci_label(res.conf)}: {fmt_number(lo, 2)} til {fmt_number(hi, 2)}), dvs. "
        f"{'et fald' if est < 1 else 'en stigning'} på ca. {fmt_number(abs(1 - est) * 100, 0)} %. "
    )
    return s + _did_verdict_da(lo, hi, 1, res)


def negative_control_sentence(nc_res) -> str:
    """Danish paragraph on the negative-control result, whichever direction it goes."""

    m = nc_res.main_effect()
    est, lo, hi = float(m["estimate"]), float(m["lower"]), float(m["upper"])
    s = (
        "**Negativ kontrol.** Faldforebyggelse kan ikke forhindre andre akutte indlæggelser end "
        "faldulykker. Samme justerede sammenligning af disse indlæggelser giver en risikoratio "
        f"på {fmt_number(est, 2)} ({ci_label(nc_res.conf)}: {fmt_number(lo, 2)} til {fmt_number(hi, 2)}). "
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


VERDICT_DA = {
    "agree": "peger i samme retning og er forenelige",
    "disagree": "giver forskellige svar",
    "inconclusive": "er ikke entydigt enige",
}


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


def direction_sentence(its_res, sc_ratio: EffectResult | None) -> str:
    """Qualitative ITS vs synthetic control comparison when no formal test is possible.

    Says whether the two point estimates (rate ratios) point the same way and whether the
    synthetic control's ratio lies inside the ITS confidence interval.
    """

    if its_res is None or sc_ratio is None:
        return ""
    a = its_res.main_effect()
    b = float(sc_ratio.main_effect()["estimate"])
    if not np.isfinite(b):
        return ""
    same = (float(a["estimate"]) - 1) * (b - 1) > 0
    inside = float(a["lower"]) <= b <= float(a["upper"])
    return (
        f"Den syntetiske kontrol giver ikke et brugbart konfidensinterval til en formel "
        "sammenligning, men dens "
        f"rateratio på ca. {fmt_number(b, 2)} peger {'samme vej som' if same else 'modsat'} "
        f"tidsseriens {fmt_number(a['estimate'], 2)} og ligger "
        f"{'inden for' if inside else 'uden for'} tidsseriens konfidensinterval."
    )


def verdict_da(
    rd_res: RDResult, iptw: stats.EffectResult | None, negative: stats.EffectResult | None
) -> tuple[str, str]:
    """The triangulated verdict on the visits' effect on acute admissions, in Danish.

    The RD is the credible design (it compares citizens who differ only by a few weeks of
    age) but imprecise; the accepted-vs-declined comparison is precise but can be confounded,
    which the negative control (planned admissions) shows. Returns (code, sentence); codes:
    ``rd_benefit``, ``rd_harm``, ``rd_inconclusive``.
    """
    t = rd_res.main_effect()
    mde_ = rd_res.mde
    if t["upper"] < 0:
        code = "rd_benefit"
        s = (
            "Aldersgrænsen viser, at besøgene nedbringer de akutte indlæggelser blandt dem, der "
            "tager imod tilbuddet."
        )
    elif t["lower"] > 0:
        code = "rd_harm"
        s = "Aldersgrænsen viser flere akutte indlæggelser blandt dem, der tager imod besøget."
    else:
        code = "rd_inconclusive"
        s = (
            "Aldersgrænsen kan hverken påvise eller udelukke en effekt på de akutte "
            f"indlæggelser: med dette datagrundlag kan kun en ændring på omkring "
            f"{fmt_number(mde_, 0)} pr. 1.000 personår eller mere påvises sikkert."
        )
    if negative is not None:
        nc = negative.main_effect()
        if nc["upper"] < 1 or nc["lower"] > 1:
            s += (
                " Sammenligningen af dem, der tog imod, med dem, der sagde nej, kan ikke stå "
                "alene: de, der tog imod, havde også færre planlagte indlæggelser, som et "
                "forebyggende besøg ikke kan påvirke (negativ kontrol). De to grupper adskiller "
                "sig altså på mere end de målte kendetegn, og en stor del af forskellen i akutte "
                "indlæggelser skyldes sandsynligvis, hvem der siger ja."
            )
        elif iptw is not None:
            s += (
                " Den negative kontrol (planlagte indlæggelser) viser ingen forskel mellem dem, "
                "der tog imod, og dem, der sagde nej, så sammenligningen af de to grupper er "
                "ikke tydeligt skævvredet."
            )
    return code, s
