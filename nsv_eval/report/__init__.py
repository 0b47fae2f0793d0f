"""Reports for management: Danish formatting, figure theme, disclosure control, rendering.

* :mod:`~nsv_eval.report.format` — Danish numbers, percentages, intervals and dates.
* :mod:`~nsv_eval.report.theme` — matplotlib theme (Okabe–Ito), decimal-comma ticks, labels.
* :mod:`~nsv_eval.report.disclosure` — the one suppression layer (``suppress``,
  ``display_table``) and the report scanner (``check_disclosure``).
* :mod:`~nsv_eval.report.findings` — the "Hovedresultater" box and key-results JSON.
* :mod:`~nsv_eval.report.render` — papermill execution, HTML rendering, ``run_study``.
* :mod:`~nsv_eval.report.studies` — the registry of study notebooks and one module per
  study (``sNN_<name>``) returning its :class:`~nsv_eval.report.sections.Section` list.
* :mod:`~nsv_eval.report.sections` — ``Section`` and ``show`` (what a notebook displays).
* :mod:`~nsv_eval.report.figures` — every figure; :mod:`~nsv_eval.report.sentences` —
  Danish paragraphs on effect results shared by several studies.
"""

from __future__ import annotations

from typing import Any

from nsv_eval.report.disclosure import (
    Finding,
    check_disclosure,
    display_table,
    fmt_count,
    hide_small,
    suppress,
    table_html,
)
from nsv_eval.report.findings import Findings
from nsv_eval.report.format import (
    fmt_ci,
    fmt_date,
    fmt_estimate_ci,
    fmt_int,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_period,
    fmt_rate,
)

__all__ = [
    "Finding",
    "Findings",
    "StudyRun",
    "check_disclosure",
    "display_table",
    "fmt_ci",
    "fmt_count",
    "fmt_date",
    "fmt_estimate_ci",
    "fmt_int",
    "fmt_number",
    "fmt_p",
    "fmt_pct",
    "fmt_period",
    "fmt_rate",
    "hide_small",
    "run_studies",
    "run_study",
    "suppress",
    "table_html",
]


def __getattr__(name: str) -> Any:
    # rendering pulls in papermill/jupyter_client: import it only when asked for
    if name in ("run_study", "run_studies", "StudyRun"):
        from nsv_eval.report import render

        return getattr(render, name)
    raise AttributeError(f"module 'nsv_eval.report' has no attribute {name!r}")
