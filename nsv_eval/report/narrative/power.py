"""Words for minimum detectable effects (:class:`nsv_eval.stats.power.MDE`)."""

from __future__ import annotations

import numpy as np

from nsv_eval.report.i18n import get_lang
from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.stats.power import MDE


def mde_text(m: MDE, unit: str = "", decimals: int = 1, *, lang: str = "da") -> str:
    """The sentence a report shows next to an estimate: the smallest effect the data could
    have shown (a rate ratio down and up on the log scale, else ± the MDE in ``unit``)."""
    if lang != "da":
        raise ValueError(f"mde_text: only Danish is written so far, not {lang!r}")
    pw = int(round(m.power * 100))
    head = f"Med disse data er den mindste effekt, vi kunne påvise med {pw} % styrke, "
    if not np.isfinite(m.mde):
        return "Med disse data kan den mindste påviselige effekt ikke beregnes."
    if m.scale == "log":
        return head + (
            f"en rateratio på {_n(m.ratio_decrease, 2)} (et fald på "
            f"{_n(m.pct_decrease, 0)} %) eller {_n(m.ratio_increase, 2)} "
            "(en stigning)."
        )
    u = f" {unit}" if unit else ""
    return head + f"en ændring på ±{_n(m.mde, decimals)}{u}."


def _n(x: float, digits: int) -> str:
    # as report.format.fmt_number: half-up rounding, typographic minus, the separators of
    # the report language
    sep = "en" if get_lang() == "en" else "da"
    return fmt(x, sep, digits, half_up=True, minus="\u2212")
