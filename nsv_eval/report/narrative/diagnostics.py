"""Words for falsification checks (:class:`nsv_eval.stats.designs.diagnostics.PlaceboResult`)."""

from __future__ import annotations

import numpy as np

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import register
from nsv_eval.stats.designs.diagnostics import PlaceboResult


@register(PlaceboResult)
def summary(r: PlaceboResult, lang: str = "da") -> str:
    """Plain-language paragraph on a placebo check (DiD pre-period test or ITS fake starts)."""
    k = len(r.placebos)
    if r.design == "did":
        return _did(r, k, lang)
    hits = int(r.placebos["excludes_null"].sum())
    exp_pct = 100 * (1 - r.conf)
    rank = r.test.get("rank_p_value", np.nan)
    if lang == "da":
        s = (
            f"Placebotest i tid: modellen er refittet på perioden før indsatsen med {k} falske "
            f"starttidspunkter. {hits} af {k} placebo-intervaller udelukker 'ingen effekt' "
            f"(ved tilfældighed forventes ca. {fmt(exp_pct, lang, 0)} %). "
        )
        s += (
            "Ingen tegn på, at modellen finder effekter, hvor der ikke er nogen."
            if r.passed
            else "Modellen finder for ofte 'effekter' uden indsats — tolk hovedresultatet "
            "med forsigtighed (tendens eller sæson er måske ikke godt beskrevet)."
        )
        if np.isfinite(rank):
            s += (
                f" Andel placebo-effekter mindst lige så store som den fundne: "
                f"{fmt(100 * rank, lang, 0)} %."
            )
        return s
    s = (
        f"Placebo-in-time test: the model was refitted on the pre-intervention period with {k} "
        f"fake start dates. {hits} of {k} placebo intervals exclude 'no effect' (about "
        f"{fmt(exp_pct, lang, 0)}% expected by chance). "
    )
    s += (
        "No sign that the model finds effects where there are none."
        if r.passed
        else "The model finds 'effects' without an intervention too often — interpret the "
        "main result with caution (trend or seasonality may be misspecified)."
    )
    if np.isfinite(rank):
        s += (
            " Share of placebo effects at least as large as the real one: "
            f"{fmt(100 * rank, lang, 0)}%."
        )
    return s


def _did(r: PlaceboResult, k: int, lang: str) -> str:
    p = r.test.get("p_value", np.nan)
    if lang == "da":
        s = f"Placebotest før start: {k} estimater fra perioderne før indsatsen"
        if np.isfinite(p):
            s += f"; samlet Wald-test for, at de alle er 0: p = {fmt(p, lang, 3)}. " + (
                "Ingen tegn på forskellige tendenser før start."
                if p >= 0.05
                else "Tendenserne før start var forskellige — antagelsen om "
                "parallelle tendenser er tvivlsom."
            )
        else:
            s += "; ingen samlet test mulig."
        return s
    s = f"Pre-period placebo test: {k} estimates from periods before the start"
    if np.isfinite(p):
        s += f"; joint Wald test that all are 0: p = {fmt(p, lang, 3)}. " + (
            "No sign of diverging pre-trends."
            if p >= 0.05
            else "Pre-trends differed; the parallel-trends assumption is doubtful."
        )
    else:
        s += "; no joint test possible."
    return s


def plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of :meth:`PlaceboResult.plot` in ``lang``."""
    if lang == "da":
        return {
            "placebo": "Placebo",
            "real": "Fundet effekt",
            "ylabel": "Estimat",
            "title": "Placebotest",
        }
    return {
        "placebo": "Placebo",
        "real": "Estimated effect",
        "ylabel": "Estimate",
        "title": "Placebo test",
    }
