"""Legend and axis texts of funnel plots (:func:`nsv_eval.stats.indicators.funnel_plot`)."""

from __future__ import annotations

from collections.abc import Sequence

from nsv_eval.report.narrative._fmt import fmt


def plot_labels(lang: str = "da", levels: Sequence[float] = (0.95, 0.998)) -> dict[str, str]:
    """Texts of a funnel plot in ``lang``: target, one control-limit label per level
    (``"limit:<level>"``, the level in per cent with the reader's decimal separator), the
    FDR ring and the default axis texts per statistic."""
    da = lang == "da"
    out = {
        "target": "Gennemsnit" if da else "Average",
        "limit": "{level} % kontrolgrænse" if da else "{level}% control limit",
        "fdr": "Afviger ({tag})" if da else "Outlier ({tag})",
        "x_proportion": "Antal (nævner)" if da else "Number (denominator)",
        "x_rate": "Personår" if da else "Person-years",
        "x_ratio": "Forventet antal" if da else "Expected number",
        "y_proportion": "Andel" if da else "Proportion",
        "y_rate": "Rate",
        "y_ratio": "Observeret / forventet" if da else "Observed / expected",
    }
    for lev in levels:
        pct = f"{lev * 100:g}"
        digits = len(pct.split(".")[1]) if "." in pct else 0
        num = fmt(lev * 100, lang, digits, thousands=False)
        out[f"limit:{lev:g}"] = f"{num} % kontrolgrænse" if da else f"{num}% control limit"
    return out
