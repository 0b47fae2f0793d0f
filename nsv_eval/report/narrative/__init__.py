"""All prose about statistical results: one module per design/topic, Danish and English.

``nsv_eval.stats`` returns numbers only; this package turns them into the words a report
shows. Entry points:

* :func:`summarise` — the plain-language paragraph of a result (dispatch on its type)
  followed by the design's assumptions;
* :func:`assumptions` — the design's assumptions as a list of sentences;
* :func:`fmt` — THE number formatter (``lang``, ``digits``), :func:`ci_label` — "95 %-KI" /
  "95% CI".

The design modules (``its``, ``did``, …) import :mod:`nsv_eval.stats` (≈ 3 s: statsmodels,
scipy); they load on first use (PEP 562 module ``__getattr__``), so that importing
:mod:`nsv_eval.report` for its formatter stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from nsv_eval.report.narrative._fmt import ci_label, fmt

__all__ = [
    "SCALE_WORDS",
    "assumptions",
    "ci_label",
    "did_conclusion",
    "fmt",
    "headline",
    "summarise",
]

MODULES = (
    "cohort",
    "diagnostics",
    "did",
    "funnel",
    "indicators",
    "its",
    "poisson_did",
    "power",
    "rd",
    "survival",
    "synthetic_control",
    "triangulation",
)
"""The design/topic modules; importing one registers its narrative."""

_COMMON = ("SCALE_WORDS", "did_conclusion", "headline")


def _module(name: str) -> Any:
    return importlib.import_module(f"{__name__}.{name}")


def _load_all() -> Any:
    """Import every design module (registration) and return ``common``."""
    for name in MODULES:
        _module(name)
    return _module("common")


def __getattr__(name: str) -> Any:
    if name in MODULES or name == "common":
        return _module(name)
    if name in _COMMON:
        return getattr(_module("common"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def assumptions(result: Any, lang: str = "da") -> list[str]:
    """The assumptions of an effect result's design (``result.design``) in ``lang``.

    Results that are not effect estimates (curves, ...) have assumptions only when their
    type is registered; placebo checks have none.
    """
    common = _load_all()
    if isinstance(result, common.EffectResult):
        entry = common.ASSUMPTIONS.get(result.design, {})
    else:  # other results register their assumptions by type
        registry = common.ASSUMPTIONS
        entry = next((registry[c] for c in type(result).__mro__ if c in registry), {})
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
    common = _load_all()
    text = common.summary_paragraph(result, lang, **kw)
    return text + common.assumptions_block(assumptions(result, lang), lang)
