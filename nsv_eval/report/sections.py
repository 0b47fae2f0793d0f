"""Report sections: what a study module returns and a notebook shows.

A study module (:mod:`nsv_eval.report.studies`, ``sNN_<name>.py``) computes its numbers
with :mod:`nsv_eval.analyses` / :mod:`nsv_eval.stats`, decides what to say and returns a
list of :class:`Section` objects; the notebook keeps its parameters and the narrative a
reader needs and calls :func:`show`. Every table goes through the disclosure-checked
display path (:func:`nsv_eval.report.disclosure.display_table`), every key result through
:class:`nsv_eval.report.findings.Findings`, so the HTML, the Excel workbook and the
key-results JSON are produced exactly as when the cells did it themselves.

Within a section the order is: key results (recorded, not displayed), ``title``, ``text``,
``table``, ``figure``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nsv_eval.report.disclosure import display_table
from nsv_eval.report.findings import Findings


@dataclass
class KeyResult:
    """One call on :class:`~nsv_eval.report.findings.Findings` (``add``, ``add_effect`` or
    ``record``), with its arguments, made by :func:`show` in order."""

    method: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, findings: Findings) -> None:
        """Make the call on ``findings``."""
        if self.method not in ("add", "add_effect", "record"):
            raise ValueError(f"KeyResult: unknown Findings method {self.method!r}")
        getattr(findings, self.method)(*self.args, **self.kwargs)


def key_result(*args: Any, **kwargs: Any) -> KeyResult:
    """A :meth:`Findings.add <nsv_eval.report.findings.Findings.add>` call, recorded."""
    return KeyResult("add", args, kwargs)


def key_effect(*args: Any, **kwargs: Any) -> KeyResult:
    """A :meth:`Findings.add_effect <nsv_eval.report.findings.Findings.add_effect>` call."""
    return KeyResult("add_effect", args, kwargs)


def key_record(*args: Any, **kwargs: Any) -> KeyResult:
    """A :meth:`Findings.record <nsv_eval.report.findings.Findings.record>` call."""
    return KeyResult("record", args, kwargs)


@dataclass
class Section:
    """A piece of a report.

    Attributes
    ----------
    title : str or None
        Heading (markdown ``###``), or None.
    text : str or None
        Markdown paragraph(s) shown before the table.
    table : pandas.DataFrame or None
        Shown with :func:`~nsv_eval.report.disclosure.display_table`.
    table_options : mapping
        Keyword arguments of ``display_table`` (``count_cols``, ``labels``, ``caption``,
        ``notes``, ``rate_cols``, ``derived_cols``, ``value_labels``, …).
    figure : matplotlib.figure.Figure or None
        Shown, then closed.
    findings : list of KeyResult
        Key results recorded (in order) before anything of the section is shown.
    after : str or None
        Markdown shown after the table and the figure.
    """

    title: str | None = None
    text: str | None = None
    table: pd.DataFrame | None = None
    table_options: Mapping[str, Any] = field(default_factory=dict)
    figure: Any = None
    findings: list[KeyResult] = field(default_factory=list)
    after: str | None = None


def show(sections: Section | Iterable[Section], findings: Findings | None = None) -> None:
    """Display ``sections`` in a notebook and record their key results in ``findings``.

    Raises
    ------
    ValueError
        A section has key results but no ``findings`` was passed.
    """
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    if isinstance(sections, Section):
        sections = [sections]
    for s in sections:
        if s.findings:
            if findings is None:
                raise ValueError("show: the sections carry key results; pass findings=")
            for k in s.findings:
                k.apply(findings)
        if s.title:
            display(Markdown(f"### {s.title}"))
        if s.text:
            display(Markdown(s.text))
        if s.table is not None:
            display_table(s.table, **dict(s.table_options))
        if s.figure is not None:
            display(s.figure)
            plt.close(s.figure)
        if s.after:
            display(Markdown(s.after))
