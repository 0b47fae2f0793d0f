"""Plain-language sentences for effect estimates, in Danish and English."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
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


def _num(x: float, lang: str, digits: int = 2) -> str:
    s = f"{x:,.{digits}f}"
    if lang == "da":
        s = s.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
    return s


def headline(result: EffectResult, lang: str = "da") -> str:
    """One or two sentences describing the headline effect of ``result``."""
    row = result.main_effect()
    est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
    null = result.null_value
    word = SCALE_WORDS.get(result.scale, {"da": result.scale, "en": result.scale})[lang]
    pct = int(round(result.conf * 100))
    if lang == "da":
        ci = f"{pct} %-KI: {_num(lo, lang)} til {_num(hi, lang)}"
        if lo > null or hi < null:
            verdict = "Intervallet udelukker 'ingen effekt'."
        else:
            verdict = "Data kan ikke udelukke, at indsatsen ingen effekt har haft."
        return f"Estimeret {word}: {_num(est, lang)} ({ci}). {verdict}"
    ci = f"{pct}% CI {_num(lo, lang)} to {_num(hi, lang)}"
    if lo > null or hi < null:
        verdict = "The interval excludes 'no effect'."
    else:
        verdict = "The data cannot rule out that the intervention had no effect."
    return f"Estimated {word}: {_num(est, lang)} ({ci}). {verdict}"


def did_conclusion(excl: bool, pretest_p: float, lang: str = "da") -> str:
    """The closing sentences of a difference-in-differences summary: whether the interval
    excludes "no effect", and the pre-trend test (shared by ``did`` and ``poisson_did``)."""
    import numpy as np

    if lang == "da":
        s = (
            "Intervallet udelukker 'ingen effekt'."
            if excl
            else "Data kan ikke udelukke, at indsatsen ingen effekt har haft."
        )
        if np.isfinite(pretest_p):
            s += f" Test for parallelle tendenser før start: p = {_num(pretest_p, lang, 3)}" + (
                " (ingen tegn på brud)."
                if pretest_p >= 0.05
                else " — tendenserne før start var forskellige; fortolk med forsigtighed."
            )
        return s
    s = (
        "The interval excludes 'no effect'."
        if excl
        else "The data cannot rule out that the intervention had no effect."
    )
    if np.isfinite(pretest_p):
        s += f" Pre-trend test: p = {_num(pretest_p, lang, 3)}" + (
            " (no sign of diverging trends)."
            if pretest_p >= 0.05
            else " — trends differed before the start; interpret with caution."
        )
    return s
