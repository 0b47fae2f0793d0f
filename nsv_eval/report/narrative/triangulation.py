"""Words for the comparison of designs
(:class:`nsv_eval.stats.designs.triangulate.TriangulationResult`)."""

from __future__ import annotations

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import register
from nsv_eval.stats.designs.triangulate import (
    NOTE_MIXED_CONF,
    NOTE_MIXED_RATIOS,
    TriangulationResult,
)

DESIGN_NAMES: dict[str, dict[str, str]] = {
    "da": {
        "its": "Afbrudt tidsserie",
        "did": "Difference-in-differences",
        "twfe": "To-vejs fixed effects",
        "synthetic_control": "Syntetisk kontrol",
        "cohort": "Matchet kohorte",
        "cox": "Cox-regression",
    },
    "en": {
        "its": "Interrupted time series",
        "did": "Difference-in-differences",
        "twfe": "Two-way fixed effects",
        "synthetic_control": "Synthetic control",
        "cohort": "Matched cohort",
        "cox": "Cox regression",
    },
}
"""Reader names of the designs (by ``result.design``)."""

NOTES: dict[str, dict[str, str]] = {
    NOTE_MIXED_RATIOS: {
        "da": "Forskellige typer ratioer (rate-, risiko-, hazardratio) er sammenlignet på "
        "log-skala; det er kun en god tilnærmelse, når udfaldet er sjældent.",
        "en": "Ratios of different kinds (rate/risk/hazard) are compared on the log scale; "
        "this is a good approximation only when the outcome is rare.",
    },
    NOTE_MIXED_CONF: {
        "da": "Designene brugte forskellige konfidensniveauer; overlaptjekket bruger hvert "
        "designs eget.",
        "en": "The designs used different confidence levels; the overlap check uses each "
        "one's own.",
    },
}

VERDICT_WORDS = {
    "da": {"agree": "enige", "disagree": "uenige", "inconclusive": "ikke entydigt enige"},
    "en": {"agree": "agree", "disagree": "disagree", "inconclusive": "inconclusive"},
}


def names(r: TriangulationResult, lang: str = "da") -> list[str]:
    """The designs' display names: as given, or the reader names of the design codes."""
    if r.auto_names:
        return [DESIGN_NAMES[lang].get(d, d) for d in r.designs["design"]]
    return list(r.designs["name"])


@register(TriangulationResult)
def summary(r: TriangulationResult, lang: str = "da") -> str:
    """Whether the designs agree: intervals, Cochran's Q, I², direction, the notes."""
    k = len(r.designs)
    pct = int(round(r.conf * 100))
    nm = ", ".join(names(r, lang))
    notes = "".join(f" {NOTES.get(n, {}).get(lang, n)}" for n in r.notes)
    if lang == "da":
        head = {
            "agree": f"De {k} designs ({nm}) peger i samme retning og er statistisk forenelige",
            "disagree": f"De {k} designs ({nm}) giver forskellige svar",
            "inconclusive": f"De {k} designs ({nm}) er ikke entydigt enige",
        }[r.verdict]
        s = (
            f"{head}: {pct} %-konfidensintervallerne "
            + ("overlapper" if r.overlap else "overlapper ikke")
            + f", og testen for forskel (Cochrans Q) giver p = {fmt(r.q_p_value, lang, 3)} "
            f"(I² = {fmt(100 * r.i2, lang, 0)} %)."
        )
        if not r.same_direction:
            s += " Estimaterne peger i hver sin retning."
        if r.verdict == "disagree":
            s += " Resultatet afhænger af designvalget; se på forudsætningerne for hvert design."
        s += (
            " Bemærk: designs på samme data er ikke uafhængige, så testen er forsigtig "
            "(den overser snarere end overdriver uenighed)."
        )
        return s + notes
    head = {
        "agree": f"The {k} designs ({nm}) point the same way and are statistically compatible",
        "disagree": f"The {k} designs ({nm}) give different answers",
        "inconclusive": f"The {k} designs ({nm}) do not clearly agree",
    }[r.verdict]
    s = (
        f"{head}: the {pct}% confidence intervals "
        + ("overlap" if r.overlap else "do not overlap")
        + f", and the heterogeneity test (Cochran's Q) gives p = {fmt(r.q_p_value, lang, 3)} "
        f"(I² = {fmt(100 * r.i2, lang, 0)}%)."
    )
    if not r.same_direction:
        s += " The estimates point in opposite directions."
    if r.verdict == "disagree":
        s += " The answer depends on the design; revisit each design's assumptions."
    s += " Note: designs on the same data are not independent, so the test is conservative."
    return s + notes


def plot_labels(r: TriangulationResult, lang: str = "da") -> dict[str, str]:
    """Texts of :meth:`TriangulationResult.plot` in ``lang`` (the title names the verdict)."""
    word = VERDICT_WORDS[lang][r.verdict]
    return {
        "xlabel": "Estimeret effekt" if lang == "da" else "Estimated effect",
        "title": ("Designs: " if lang == "en" else "Designs er ") + word,
    }
