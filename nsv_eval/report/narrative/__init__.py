"""All prose about statistical results: one module per design/topic, Danish and English.

``nsv_eval.stats`` returns numbers only; this package turns them into the words a report
shows. Entry points:

* :func:`summarise` — the plain-language paragraph of a result (dispatch on its type)
  followed by the design's assumptions;
* :func:`assumptions` — the design's assumptions as a list of sentences;
* :func:`fmt` — THE number formatter (``lang``, ``digits``), :func:`ci_label` — "95 %-KI" /
  "95% CI".
"""

from __future__ import annotations

from typing import Any

from nsv_eval.report.narrative import (  # noqa: F401  (register narratives)
    cohort,
    diagnostics,
    did,
    funnel,
    indicators,
    its,
    poisson_did,
    power,
    rd,
    survival,
    synthetic_control,
    triangulation,
)
from nsv_eval.report.narrative._fmt import ci_label, fmt
from nsv_eval.report.narrative.common import (
    ASSUMPTIONS,
    SCALE_WORDS,
    assumptions_block,
    did_conclusion,
    headline,
    summary_paragraph,
)
from nsv_eval.stats.designs.base import EffectResult

__all__ = [
    "SCALE_WORDS",
    "assumptions",
    "ci_label",
    "did_conclusion",
    "fmt",
    "headline",
    "summarise",
]


def assumptions(result: Any, lang: str = "da") -> list[str]:
    """The assumptions of an effect result's design (``result.design``) in ``lang``.

    Results that are not effect estimates (curves, ...) have assumptions only when their
    type is registered; placebo checks have none.
    """
    if isinstance(result, EffectResult):
        entry = ASSUMPTIONS.get(result.design, {})
    else:  # other results register their assumptions by type
        entry = next((ASSUMPTIONS[c] for c in type(result).__mro__ if c in ASSUMPTIONS), {})
    if callable(entry):
        entry = entry(result)
    return list(entry.get(lang) or [])


def summarise(result: Any, lang: str = "da", **kw: Any) -> str:
    """Plain-language summary of ``result`` followed by its design's assumptions.

    Parameters
    ----------
    result : EffectResult or another stats result
        Dispatch on the type (most specific registered class first).
    lang : {"da", "en"}
    **kw
        Passed to the design's narrative (e.g. ``time=`` for survival curves).
    """
    text = summary_paragraph(result, lang, **kw)
    return text + assumptions_block(assumptions(result, lang), lang)
