"""Words for difference-in-differences: Callaway & Sant'Anna (:class:`DiDResult`) and
two-way fixed effects (:class:`TWFEResult`)."""

from __future__ import annotations

import numpy as np

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import did_conclusion, headline, register
from nsv_eval.stats.designs.did import DiDResult, TWFEResult

ASSUMPTIONS_DID: dict[str, list[str]] = {
    "da": [
        "Parallelle tendenser: uden indsatsen ville de berørte enheder have udviklet sig som "
        "sammenligningsgruppen (aldrig eller endnu ikke berørte enheder).",
        "Ingen foregrebet effekt: udfaldet ændrer sig ikke før indsatsens start (ud over de "
        "angivne 'anticipation'-perioder).",
        "Indsatsen fortsætter, når den først er startet (forskudt, varig udrulning).",
        "Ingen smitteeffekter mellem enheder (én enheds indsats påvirker ikke andres udfald).",
    ],
    "en": [
        "Parallel trends: without the intervention, treated units would have evolved like the "
        "comparison group (never or not-yet treated units).",
        "No anticipation: outcomes do not change before the start (beyond the declared "
        "anticipation periods).",
        "Treatment is absorbing: once started, the intervention stays on (staggered adoption).",
        "No spill-overs between units.",
    ],
}

ASSUMPTIONS_TWFE: dict[str, list[str]] = {
    "da": [
        "Parallelle tendenser mellem berørte og ikke-berørte enheder.",
        "Effekten er den samme for alle enheder og over tid; ved forskudt udrulning og "
        "varierende effekter kan estimatet være skævt (brug did()).",
    ],
    "en": [
        "Parallel trends between treated and untreated units.",
        "Homogeneous effects across units and over time; with a staggered roll-out and "
        "heterogeneous effects the estimate can be biased (use did()).",
    ],
}


@register(DiDResult, "did", ASSUMPTIONS_DID)
def summary(r: DiDResult, lang: str = "da") -> str:
    """The paragraph on a staggered DiD: units, cohorts, comparison, ATT, pre-test."""
    row = r.main_effect()
    est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
    pct = int(round(r.conf * 100))
    n_units, n_treated, n_cohorts = r.n_units, r.n_treated, r.n_cohorts
    excl = lo > 0 or hi < 0
    p = r.pretest_result.get("p_value", np.nan)
    if lang == "da":
        ctrl_txt = "aldrig berørte" if r.control == "never" else "endnu ikke berørte"
        s = (
            f"Forskudt difference-in-differences (Callaway & Sant'Anna) med {n_treated} "
            f"berørte af {n_units} enheder i {n_cohorts} startkohorte(r), sammenlignet med "
            f"{ctrl_txt} enheder. Den gennemsnitlige effekt blandt de berørte efter start er "
            f"{fmt(est, lang, 3)} ({pct} %-KI: {fmt(lo, lang, 3)} til {fmt(hi, lang, 3)}). "
        )
        return s + did_conclusion(excl, p, lang)
    ctrl_txt = "never-treated" if r.control == "never" else "not-yet-treated"
    s = (
        f"Staggered difference-in-differences (Callaway & Sant'Anna) with {n_treated} treated "
        f"of {n_units} units in {n_cohorts} cohort(s), compared with {ctrl_txt} units. The "
        f"average effect on the treated after the start is {fmt(est, lang, 3)} ({pct}% CI "
        f"{fmt(lo, lang, 3)} to {fmt(hi, lang, 3)}). "
    )
    return s + did_conclusion(excl, p, lang)


@register(TWFEResult, "twfe", ASSUMPTIONS_TWFE)
def summary_twfe(r: TWFEResult, lang: str = "da") -> str:
    """The headline of a TWFE estimate, with a warning when the roll-out was staggered."""
    text = headline(r, lang)
    if r.staggered:
        if lang == "da":
            text += (
                f" Bemærk: indsatsen startede på {r.n_cohorts} forskellige "
                "tidspunkter. Ved forskudt start kan en almindelig to-vejs fixed effects-model "
                "give et skævt estimat, fordi allerede berørte enheder bruges som kontrol; "
                "brug did() (Callaway & Sant'Anna) som hovedanalyse."
            )
        else:
            text += (
                f" Note: the intervention started at {r.n_cohorts} different "
                "times. With a staggered roll-out two-way fixed effects can be biased because "
                "already-treated units serve as controls; use did() (Callaway & Sant'Anna)."
            )
    return text


def plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of the event-study plot (:meth:`DiDResult.plot`) in ``lang``."""
    if lang == "da":
        return {
            "pre": "Før start",
            "post": "Efter start",
            "xlabel": "Perioder i forhold til indsatsens start",
            "ylabel": "Estimeret effekt (ATT)",
            "title": "Effekt over tid (event study)",
        }
    return {
        "pre": "Pre-treatment",
        "post": "Post-treatment",
        "xlabel": "Periods relative to the start",
        "ylabel": "Estimated effect (ATT)",
        "title": "Event study",
    }


def twfe_plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of :meth:`TWFEResult.plot` in ``lang``."""
    return {"xlabel": "Estimeret effekt (TWFE)" if lang == "da" else "Estimated effect (TWFE)"}
