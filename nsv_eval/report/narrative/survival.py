"""Words for survival analysis: Cox regression (:class:`CoxResult`), cumulative incidence
with competing risks (:class:`CumulativeIncidenceResult`) and Kaplan-Meier plots."""

from __future__ import annotations

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import ASSUMPTIONS, register
from nsv_eval.stats.designs.survival import CoxResult, CumulativeIncidenceResult

COX_ASSUMPTIONS = {
    "da": [
        "Proportionale hazards: forholdet mellem grupperne i den øjeblikkelige risiko er "
        "det samme gennem hele opfølgningen.",
        "Censurering (fx flytning eller afslutning af opfølgning) er uafhængig af risikoen "
        "for hændelsen, givet de variable i modellen.",
        "Kontinuerte variable virker lineært på log-hazard; der er justeret for de "
        "vigtige confoundere.",
    ],
    "en": [
        "Proportional hazards: the ratio of the instantaneous risks between groups is the "
        "same throughout follow-up.",
        "Censoring (e.g. moving away, end of follow-up) is independent of the risk of the "
        "event, given the variables in the model.",
        "Continuous variables act linearly on the log hazard; the important confounders "
        "are adjusted for.",
    ],
}

CIF_ASSUMPTIONS = {
    "da": [
        "Censurering (fx afsluttet opfølgning) er uafhængig af risikoen for hændelserne.",
        "Død og andre konkurrerende hændelser behandles som det, de er: efter dem kan "
        "hændelsen ikke længere ske. Derfor bruges den kumulerede incidens og ikke 1 minus "
        "Kaplan-Meier, som ville overvurdere risikoen.",
    ],
    "en": [
        "Censoring (e.g. end of follow-up) is independent of the risk of the events.",
        "Death and other competing events are treated as what they are: after them the "
        "event can no longer happen. Hence the cumulative incidence, not 1 minus "
        "Kaplan-Meier, which would overestimate the risk.",
    ],
}
# not an effect result: its assumptions are registered by type
ASSUMPTIONS[CumulativeIncidenceResult] = CIF_ASSUMPTIONS


@register(CoxResult, "cox", COX_ASSUMPTIONS)
def summary_cox(r: CoxResult, lang: str = "da") -> str:
    """Persons, events, adjustment, hazard ratio of the main term and its interval."""
    row = r.main_effect()
    hr, lo, hi, p = (float(row[c]) for c in ("estimate", "lower", "upper", "p_value"))
    pct = int(round(r.conf * 100))
    others = [c for c in r.columns if c != r.main_term]
    if lang == "da":
        adj = f", justeret for {', '.join(others)}" if others else ""
        change = (
            f"{fmt(100 * (1 - hr), lang, 0)} % lavere"
            if hr < 1
            else f"{fmt(100 * (hr - 1), lang, 0)} % højere"
        )
        txt = (
            f"Cox-regression med {r.n} personer og {r.n_events} hændelser"
            f"{adj}: hazardratio for {r.main_term} {fmt(hr, lang)} ({pct} %-KI: "
            f"{fmt(lo, lang)} til {fmt(hi, lang)}, p = {fmt(p, lang, 3)}), dvs. en "
            f"{change} øjeblikkelig risiko for hændelsen."
        )
        if lo > 1 or hi < 1:
            return txt + " Intervallet udelukker 'ingen forskel'."
        return txt + " Data kan ikke udelukke, at der ingen forskel er."
    adj = f", adjusted for {', '.join(others)}" if others else ""
    change = (
        f"{fmt(100 * (1 - hr), lang, 0)}% lower"
        if hr < 1
        else f"{fmt(100 * (hr - 1), lang, 0)}% higher"
    )
    txt = (
        f"Cox regression with {r.n} persons and {r.n_events} events{adj}: hazard "
        f"ratio for {r.main_term} {fmt(hr, lang)} ({pct}% CI {fmt(lo, lang)} to "
        f"{fmt(hi, lang)}, p = {fmt(p, lang, 3)}), i.e. a {change} instantaneous risk "
        "of the event."
    )
    if lo > 1 or hi < 1:
        return txt + " The interval excludes 'no difference'."
    return txt + " The data cannot rule out no difference."


@register(CumulativeIncidenceResult)
def summary_cif(r: CumulativeIncidenceResult, lang: str = "da", time: float | None = None) -> str:
    """The CIF at ``time`` (default: the last time) per group, against 1 - Kaplan-Meier."""
    t = float(r.frame["time"].max()) if time is None else time
    pct = int(round(r.conf * 100))
    lines = []
    for row in r.at(t).to_dict("records"):
        grp = "" if r.by is None else f"{r.by} = {row[r.by]}: "
        cif, lo, hi = (fmt(100 * row[k], lang, 1) for k in ("cif", "lower", "upper"))
        km = fmt(100 * row["one_minus_km"], lang, 1)
        if lang == "da":
            lines.append(
                f"{grp}efter {fmt(t, lang, 0)} tidsenheder har {cif} % "
                f"haft hændelsen ({pct} %-KI: {lo} til {hi} %); 1 minus Kaplan-Meier, der "
                "behandler de konkurrerende hændelser som censurering, ville give "
                f"{km} %."
            )
        else:
            lines.append(
                f"{grp}after {fmt(t, lang, 0)} time units {cif}% "
                f"had the event ({pct}% CI {lo} to {hi}%); 1 minus Kaplan-Meier, which treats "
                f"competing events as censoring, would give {km}%."
            )
    return "\n".join(lines)


def km_plot_labels(lang: str = "da") -> dict[str, str]:
    """Axis texts of :func:`nsv_eval.stats.designs.survival.plot_kaplan_meier`."""
    if lang == "da":
        return {"xlabel": "Tid", "ylabel": "Andel uden hændelse"}
    return {"xlabel": "Time", "ylabel": "Proportion event-free"}


def cox_plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of :meth:`CoxResult.plot` in ``lang``."""
    if lang == "da":
        return {"xlabel": "Hazardratio (log-skala)", "title": "Cox-regression"}
    return {"xlabel": "Hazard ratio (log scale)", "title": "Cox regression"}


def cif_plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of :meth:`CumulativeIncidenceResult.plot` in ``lang``."""
    if lang == "da":
        return {
            "cif": "Kumuleret incidens",
            "km": "1 − Kaplan-Meier (overvurderer)",
            "xlabel": "Tid",
            "ylabel": "Andel med hændelsen",
            "title": "Kumuleret incidens med konkurrerende risici",
        }
    return {
        "cif": "Cumulative incidence",
        "km": "1 − KM (biased)",
        "xlabel": "Time",
        "ylabel": "Proportion with the event",
        "title": "Cumulative incidence with competing risks",
    }
