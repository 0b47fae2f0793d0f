"""Words for propensity-score cohort comparisons
(:class:`nsv_eval.stats.designs.cohort.CohortEffectResult`)."""

from __future__ import annotations

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import register
from nsv_eval.stats.designs.cohort import CohortEffectResult

ASSUMPTIONS = {
    "da": [
        "Ingen umålt confounding: de variable, der er justeret for, fanger alt det, der "
        "både påvirker, hvem der får indsatsen, og risikoen for udfaldet.",
        "Overlap (positivitet): personer med samme kendetegn kunne både have fået og ikke "
        "have fået indsatsen; se fordelingen af propensity scores og de største vægte.",
        "Propensity-modellen (logistisk regression) er rigtigt specificeret; god balance "
        "efter justering (standardiserede forskelle under 0,1) er tegn på det.",
        "Indsatsen er veldefineret og den samme for alle, og én persons indsats påvirker "
        "ikke andres udfald.",
        "E-værdien viser, hvor stærk en umålt confounder skulle være for at forklare "
        "sammenhængen væk; den beviser ikke, at der ingen er.",
    ],
    "en": [
        "No unmeasured confounding: the adjusted variables capture everything that affects "
        "both who receives the intervention and the risk of the outcome.",
        "Overlap (positivity): persons with the same characteristics could both have "
        "received and not received the intervention; see the propensity score "
        "distributions and the largest weights.",
        "The propensity model (logistic regression) is correctly specified; good balance "
        "after adjustment (standardised differences below 0.1) is a sign of this.",
        "The intervention is well defined and the same for everyone, and one person's "
        "intervention does not affect others' outcomes.",
        "The E-value shows how strong an unmeasured confounder would have to be to explain "
        "the association away; it does not prove there is none.",
    ],
}


@register(CohortEffectResult, "cohort", ASSUMPTIONS)
def summary(r: CohortEffectResult, lang: str = "da") -> str:
    """Groups, adjustment, adjusted and naive risks, balance, matching losses, E-value."""
    t = r.table().set_index("term")
    rr, rd = t.loc["risk_ratio"], t.loc["risk_difference"]
    nrr = t.loc["naive_risk_ratio"]
    p1, p0 = t.loc["risk_treated", "estimate"], t.loc["risk_control", "estimate"]
    pct = int(round(r.conf * 100))
    maxb, maxa = r.max_abs_smd_before, r.max_abs_smd_after
    ep, eci = rr["e_value"], rr["e_value_ci"]
    n1, n0 = r.n_treated, r.n_control
    est = r.estimand
    covs = ", ".join(r.covariates)

    def pc(x: float) -> str:
        return fmt(100 * x, lang, 1)

    if lang == "da":
        how = (
            "inverse sandsynlighedsvægte (IPTW)"
            if r.method == "iptw"
            else f"matchning 1:{r.ratio} på propensity score"
        )
        pop = "hele populationen (ATE)" if est == "ATE" else "dem, der fik indsatsen (ATT)"
        txt = (
            f"{n1} personer fik indsatsen og {n0} gjorde ikke. Efter justering for "
            f"{covs} med {how} er risikoen for {r.outcome} {pc(p1)} % med indsatsen "
            f"mod {pc(p0)} % uden, for {pop}: risikoratio {fmt(rr['estimate'], lang)} "
            f"({pct} %-KI: {fmt(rr['lower'], lang)} til {fmt(rr['upper'], lang)}) og "
            f"risikoforskel {pc(rd['estimate'])} procentpoint ({pc(rd['lower'])} til "
            f"{pc(rd['upper'])}). Den ujusterede sammenligning gav risikoratio "
            f"{fmt(nrr['estimate'], lang)}. Den største standardiserede forskel mellem "
            f"grupperne faldt fra {fmt(maxb, lang)} til {fmt(maxa, lang)} "
            f"(tommelfingerregel: under 0,1)."
        )
        if r.method == "match":
            txt += (
                f" {r.n_unmatched} personer med indsatsen fandt ingen kontrol inden "
                "for caliperen og indgår ikke."
            )
        if rr["lower"] > 1 or rr["upper"] < 1:
            txt += (
                f" E-værdi {fmt(ep, lang)}: en umålt confounder skulle hænge sammen med "
                f"både indsats og udfald med en risikoratio på mindst {fmt(ep, lang)} "
                f"for at forklare effekten væk, og mindst {fmt(eci, lang)} for at "
                "flytte konfidensintervallet til at omfatte 'ingen effekt'."
            )
        else:
            txt += (
                " Konfidensintervallet omfatter 'ingen effekt' (risikoratio 1); "
                f"E-værdien for punktestimatet er {fmt(ep, lang)}."
            )
        return txt
    how = (
        "inverse probability of treatment weighting (IPTW)"
        if r.method == "iptw"
        else f"1:{r.ratio} propensity score matching"
    )
    pop = "the whole population (ATE)" if est == "ATE" else "the treated (ATT)"
    txt = (
        f"{n1} persons received the intervention and {n0} did not. After adjusting for "
        f"{covs} with {how}, the risk of {r.outcome} is {pc(p1)}% with the "
        f"intervention against {pc(p0)}% without, for {pop}: risk ratio "
        f"{fmt(rr['estimate'], lang)} ({pct}% CI {fmt(rr['lower'], lang)} to "
        f"{fmt(rr['upper'], lang)}) and risk difference {pc(rd['estimate'])} percentage "
        f"points ({pc(rd['lower'])} to {pc(rd['upper'])}). The unadjusted comparison "
        f"gave a risk ratio of {fmt(nrr['estimate'], lang)}. The largest standardised "
        f"difference between the groups fell from {fmt(maxb, lang)} to "
        f"{fmt(maxa, lang)} (rule of thumb: below 0.1)."
    )
    if r.method == "match":
        txt += (
            f" {r.n_unmatched} treated persons found no control within the caliper "
            "and are left out."
        )
    if rr["lower"] > 1 or rr["upper"] < 1:
        txt += (
            f" E-value {fmt(ep, lang)}: an unmeasured confounder would need a risk "
            f"ratio of at least {fmt(ep, lang)} with both the intervention and the "
            f"outcome to explain the effect away, and at least {fmt(eci, lang)} to move "
            "the confidence interval to include 'no effect'."
        )
    else:
        txt += (
            " The confidence interval includes 'no effect' (risk ratio 1); the E-value "
            f"for the point estimate is {fmt(ep, lang)}."
        )
    return txt


def love_plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of the love plot (:meth:`CohortEffectResult.plot`) in ``lang``."""
    if lang == "da":
        return {
            "before": "Før justering",
            "after": "Efter justering",
            "xlabel": "Absolut standardiseret middelforskel",
            "title": "Balance mellem grupperne",
        }
    return {
        "before": "Before adjustment",
        "after": "After adjustment",
        "xlabel": "Absolute standardised mean difference",
        "title": "Covariate balance",
    }


def overlap_plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of :meth:`CohortEffectResult.plot_overlap` in ``lang``."""
    if lang == "da":
        return {
            "treated": "Med indsats",
            "control": "Uden indsats",
            "ylabel": "Tæthed",
            "title": "Overlap mellem grupperne",
        }
    return {
        "treated": "Treated",
        "control": "Control",
        "ylabel": "Density",
        "title": "Overlap between groups",
    }
