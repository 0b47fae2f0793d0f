"""Words for the count difference-in-differences
(:class:`nsv_eval.stats.designs.poisson_did.PoissonDiDResult`)."""

from __future__ import annotations

import numpy as np

from nsv_eval.report.narrative import did as _did
from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import did_conclusion, register
from nsv_eval.stats.designs.poisson_did import PoissonDiDResult

ASSUMPTIONS: dict[str, list[str]] = {
    "da": [
        "Parallelle tendenser på log-skala: uden indsatsen ville raten i de berørte enheder "
        "have ændret sig med samme faktor som i sammenligningsenhederne (endnu ikke eller "
        "aldrig berørte).",
        "Ingen foregrebet effekt: raten ændrer sig ikke før indsatsens start.",
        "Indsatsen fortsætter, når den først er startet (forskudt, varig udrulning).",
        "Ingen smitteeffekter mellem enheder.",
        "Antallet af hændelser følger offset (personårene eller det forventede antal ud fra "
        "alder og køn); overspredning er tilladt, fordi standardfejlene er klyngerobuste på "
        "enhedsniveau.",
    ],
    "en": [
        "Parallel trends on the log scale: without the intervention the treated units' rate "
        "would have changed by the same factor as the comparison units' (not-yet or never "
        "treated).",
        "No anticipation: the rate does not change before the start.",
        "Treatment is absorbing once started (staggered adoption).",
        "No spill-overs between units.",
        "Counts are proportional to the offset (person-time or the count expected from age and "
        "sex); over-dispersion is allowed because standard errors are cluster-robust by unit.",
    ],
}


EXPECTED_EXPOSURE = "expected"
"""The exposure column of an indirectly standardised panel
(:func:`nsv_eval.analyses.effects.annual_panel` with ``standardise=True``): events at the
year's national age-band × sex rates."""


def _offset_words(r: PoissonDiDResult, lang: str) -> str:
    """What the offset of the fit is, as the end of a sentence (". " without one)."""
    if not r.exposure:
        return ". "
    if r.exposure == EXPECTED_EXPOSURE:
        return (
            " med det forventede antal ud fra landets alders- og kønsspecifikke rater pr. år som "
            "offset (alders- og kønsstandardiseret; indirekte standardisering). "
            if lang == "da"
            else " with the count expected at the national age- and sex-specific rates of each "
            "year as offset (age- and sex-standardised; indirect standardisation). "
        )
    return " med personår som offset. " if lang == "da" else " with person-time as offset. "


@register(PoissonDiDResult, "poisson_did", ASSUMPTIONS)
def summary(r: PoissonDiDResult, lang: str = "da") -> str:
    """The paragraph on a Poisson DiD: units, cohorts, comparison, offset, rate ratio."""
    row = r.main_effect()
    est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
    pct = int(round(r.conf * 100))
    excl = lo > 1 or hi < 1
    p = r.pretest_result.get("p_value", np.nan)
    if lang == "da":
        ctrl = "endnu ikke eller aldrig berørte" if r.control == "notyet" else "aldrig berørte"
        s = (
            f"Poisson difference-in-differences (udvidet to-vejs fixed effects, Wooldridge) "
            f"med {r.n_treated} berørte af {r.n_units} enheder i {r.n_cohorts} "
            f"startkohorte(r), sammenlignet med {ctrl} enheder"
            + _offset_words(r, lang)
            + f"Efter start var raten {fmt(est, lang, 2)} gange det forventede uden indsatsen "
            f"(rateratio, {pct} %-KI: {fmt(lo, lang, 2)} til {fmt(hi, lang, 2)}). "
        )
        return s + did_conclusion(excl, p, lang) + single_unit_note(r, lang)
    ctrl = "not-yet or never treated" if r.control == "notyet" else "never-treated"
    s = (
        f"Poisson difference-in-differences (extended two-way fixed effects, Wooldridge) with "
        f"{r.n_treated} treated of {r.n_units} units in {r.n_cohorts} cohort(s), "
        f"compared with {ctrl} units" + _offset_words(r, lang) + f"After the start the rate "
        f"was {fmt(est, lang, 2)} times the expected rate without the intervention (rate "
        f"ratio, {pct}% CI {fmt(lo, lang, 2)} to {fmt(hi, lang, 2)}). "
    )
    return s + did_conclusion(excl, p, lang) + single_unit_note(r, lang)


def single_unit_note(r: PoissonDiDResult, lang: str = "da") -> str:
    """A sentence on start cohorts of a single unit (empty when there are none): their
    cluster-robust standard errors are understated, so the interval is too narrow."""
    single = r.single_unit_cohorts
    if not single:
        return ""
    which = ", ".join(str(g) for g in single)
    if lang == "da":
        return (
            f" Bemærk: {len(single)} startkohorte(r) ({which}) består af én enhed; deres "
            "standardfejl kan ikke estimeres (de er undervurderede), så den samlede effekt er "
            "mere usikker, end intervallet viser."
        )
    return (
        f" Note: {len(single)} start cohort(s) ({which}) consist of a single unit; their "
        "standard errors cannot be estimated (they are understated), so the overall effect is "
        "more uncertain than its interval shows."
    )


def plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of the event-study plot (:meth:`PoissonDiDResult.plot`) in ``lang``."""
    return {**_did.plot_labels(lang), "ylabel": "Rateratio" if lang == "da" else "Rate ratio"}
