"""Words shared by the design narratives: scale names, the default headline, the DiD
conclusion, the assumptions block, and the registry that :func:`summarise` dispatches on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.stats.designs.base import EffectResult

SCALE_WORDS: dict[str, dict[str, str]] = {
    "rate_ratio": {"da": "rateratio", "en": "rate ratio"},
    "risk_ratio": {"da": "risikoratio", "en": "risk ratio"},
    "hazard_ratio": {"da": "hazardratio", "en": "hazard ratio"},
    "risk_difference": {"da": "risikoforskel", "en": "risk difference"},
    "att": {
        "da": "gennemsnitlig effekt blandt de berørte (ATT)",
        "en": "average effect on the treated (ATT)",
    },
    "difference": {"da": "forskel", "en": "difference"},
}

NO_EFFECT_EXCLUDED = {
    "da": "Intervallet udelukker 'ingen effekt'.",
    "en": "The interval excludes 'no effect'.",
}
NO_EFFECT_NOT_EXCLUDED = {
    "da": "Data kan ikke udelukke, at indsatsen ingen effekt har haft.",
    "en": "The data cannot rule out that the intervention had no effect.",
}

# result type → function(result, lang, **kw) writing the summary paragraph (no assumptions)
SUMMARIES: dict[type, Callable[..., str]] = {}
# design name (``result.design``), or a result type that is not an EffectResult
# → {"da": [...], "en": [...]}
ASSUMPTIONS: dict[str | type, dict[str, list[str]]] = {}


def register(cls: type, design: str | None = None, assumptions: dict | None = None):
    """Decorator: ``fn`` writes the summary of results of type ``cls``."""

    def deco(fn: Callable[..., str]) -> Callable[..., str]:
        SUMMARIES[cls] = fn
        if design is not None and assumptions is not None:
            ASSUMPTIONS[design] = assumptions
        return fn

    return deco


def verdict(excl: bool, lang: str) -> str:
    """Whether the interval excludes "no effect", as a sentence."""
    return (NO_EFFECT_EXCLUDED if excl else NO_EFFECT_NOT_EXCLUDED)[lang]


def headline(result: EffectResult, lang: str = "da") -> str:
    """One or two sentences describing the headline effect of ``result``."""
    row = result.main_effect()
    est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
    null = result.null_value
    word = SCALE_WORDS.get(result.scale, {"da": result.scale, "en": result.scale})[lang]
    pct = int(round(result.conf * 100))
    excl = lo > null or hi < null
    if lang == "da":
        ci = f"{pct} %-KI: {fmt(lo, lang)} til {fmt(hi, lang)}"
        return f"Estimeret {word}: {fmt(est, lang)} ({ci}). {verdict(excl, lang)}"
    ci = f"{pct}% CI {fmt(lo, lang)} to {fmt(hi, lang)}"
    return f"Estimated {word}: {fmt(est, lang)} ({ci}). {verdict(excl, lang)}"


def did_conclusion(excl: bool, pretest_p: float, lang: str = "da") -> str:
    """The closing sentences of a difference-in-differences summary: whether the interval
    excludes "no effect", and the pre-trend test (shared by ``did`` and ``poisson_did``)."""
    s = verdict(excl, lang)
    if lang == "da":
        if np.isfinite(pretest_p):
            s += f" Test for parallelle tendenser før start: p = {fmt(pretest_p, lang, 3)}" + (
                " (ingen tegn på brud)."
                if pretest_p >= 0.05
                else " — tendenserne før start var forskellige; fortolk med forsigtighed."
            )
        return s
    if np.isfinite(pretest_p):
        s += f" Pre-trend test: p = {fmt(pretest_p, lang, 3)}" + (
            " (no sign of diverging trends)."
            if pretest_p >= 0.05
            else " — trends differed before the start; interpret with caution."
        )
    return s


def assumptions_block(items: list[str], lang: str) -> str:
    """The "Forudsætninger:"/"Assumptions:" list appended to a summary ("" when empty)."""
    if not items:
        return ""
    head = "Forudsætninger:" if lang == "da" else "Assumptions:"
    return "\n\n" + head + "\n" + "\n".join(f"- {a}" for a in items)


def summary_paragraph(result: Any, lang: str, **kw: Any) -> str:
    """The design's paragraph (the most specific registered type of ``result``)."""
    for cls in type(result).__mro__:
        fn = SUMMARIES.get(cls)
        if fn is not None:
            return fn(result, lang, **kw)
    if isinstance(result, EffectResult):
        return headline(result, lang)
    raise TypeError(f"no narrative for {type(result).__name__}")
