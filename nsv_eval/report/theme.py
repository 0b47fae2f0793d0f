"""Figure theme for reports: Okabe–Ito colours, Danish labels and decimal-comma ticks.

* :func:`apply_theme` sets matplotlib ``rcParams`` for figures that read well on screen and
  on paper (white background, grid lines, larger fonts, colour cycle from the Okabe–Ito
  palette, which stays distinguishable for the common forms of colour blindness — Okabe &
  Ito 2008, "Color Universal Design", https://jfly.uni-koeln.de/color/).
* Tick labels with a decimal comma: ``rcParams["axes.formatter.use_locale"]`` depends on
  the machine's locale (often ``C.UTF-8`` on servers), so instead :func:`danish_formatter`
  returns a ``FuncFormatter`` and :func:`danish_axes` installs it on every numeric axis of a
  figure. Call :func:`finish` (or :func:`danish_axes`) after plotting.
* :data:`LABELS_DA` / :func:`label` translate column names and codes to Danish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, ScalarFormatter

from nsv_eval.reference import EDUCATION_LABELS_DA

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe–Ito palette (Okabe & Ito 2008), hex codes."""

PALETTE: list[str] = [
    OKABE_ITO[k]
    for k in (
        "blue",
        "orange",
        "bluish_green",
        "vermillion",
        "reddish_purple",
        "sky_blue",
        "black",
        "yellow",  # last: faint on white paper
    )
]
"""Colour cycle order: strong colours first, yellow last (weak on white paper)."""

CYCLE: list[str] = [*PALETTE, "#808080", "#555555"]
"""The rcParams colour cycle: :data:`PALETTE` as ``"C0"``-``"C7"``, then two greys, ``"C8"``
(matplotlib's ``"grey"``: reference lines) and ``"C9"`` (dark grey: observed points). The
figures of :mod:`nsv_eval.stats` draw with ``"C0"``-``"C9"`` only, so these are their colours:
C0 blue (fitted, post), C1 orange (pre, placebo), C3 vermillion (counterfactual), C6 black."""

ROLE_COLOURS: dict[str, str] = {
    "kommune": OKABE_ITO["blue"],
    "region": OKABE_ITO["orange"],
    "land": OKABE_ITO["black"],
    "intervention": OKABE_ITO["vermillion"],
    "counterfactual": OKABE_ITO["sky_blue"],
    "limits": "#7F7F7F",
}
"""Fixed colours for recurring roles, so a kommune is the same blue in every report."""

FUNNEL_COLORS: dict[str, str] = {
    "limit_inner": OKABE_ITO["blue"],
    "limit_outer": OKABE_ITO["sky_blue"],
    "limit_other": "#999999",
    "target": OKABE_ITO["black"],
    "unit": "#999999",
    "edge": OKABE_ITO["black"],
    "highlight": OKABE_ITO["vermillion"],
}
"""Colours of :func:`nsv_eval.stats.indicators.funnel_plot` in reports (``colors=``)."""

LABELS_DA: dict[str, str] = {
    # geography and time
    "kommune": "Kommune",
    "kommune_code": "Kommunekode",
    "kommune_name": "Kommune",
    "region": "Region",
    "region_code": "Regionskode",
    "region_name": "Region",
    "land": "Hele landet",
    "year": "År",
    "month": "Måned",
    "date": "Dato",
    "period": "Periode",
    # person characteristics
    "sex": "Køn",
    "M": "Mænd",
    "F": "Kvinder",
    "age": "Alder",
    "age_band": "Aldersgruppe",
    "education": "Uddannelse",
    "income_quintile": "Indkomstkvintil",
    "living_alone": "Bor alene",
    # measures
    "population": "Befolkning",
    "person_years": "Personår",
    "persons": "Personer",
    "contacts": "Hospitalskontakter",
    "courses": "Indlæggelsesforløb",
    "events": "Hændelser",
    "count": "Antal",
    "n": "Antal",
    "rate": "Rate",
    "estimate": "Estimat",
    "lower": "Nedre grænse",
    "upper": "Øvre grænse",
    "p_value": "p-værdi",
    "share": "Andel",
    # data kinds of the raw/prepared layout
    "admissions": "Hospitalskontakter",
    "care": "Kommunal pleje",
    "falls": "Registrerede fald",
    "interventions": "Indsatser",
    "rollout": "Udrulning",
    "survey": "Sundhedsprofil",
    # reconciliation
    "kind": "Datatype",
    "file": "Fil",
    "read": "Indlæst",
    "kept": "Godkendt",
    "rejected": "Afvist",
    "merged": "Sammenlagte dubletter",
    "reason": "Årsag",
    "column": "Kolonne",
    **EDUCATION_LABELS_DA,
}
"""Danish labels for column names and codes used in reports."""


def label(key: object, labels: Mapping[str, str] | None = None) -> str:
    """Danish label of ``key`` (``labels`` first, then :data:`LABELS_DA`, else ``key``).

    In an English report the label is translated (:func:`nsv_eval.report.i18n.tr`).
    """
    from nsv_eval.report.i18n import tr

    k = str(key)
    if labels and k in labels:
        return tr(labels[k])
    return tr(LABELS_DA[k]) if k in LABELS_DA else k


def apply_theme(*, font_size: float = 11.0) -> None:
    """Set matplotlib ``rcParams`` for report figures.

    White background, light grid behind the data, no top/right spines, the Okabe–Ito
    colour cycle, and 150 dpi PNGs (sharp on paper, still small as embedded base64).

    Parameters
    ----------
    font_size : float
        Base font size in points; titles are 1.2× larger.
    """
    mpl.rcParams.update(
        {
            "figure.figsize": (8.0, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "savefig.bbox": "tight",
            "font.size": font_size,
            "axes.titlesize": font_size * 1.2,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.labelsize": font_size,
            "xtick.labelsize": font_size * 0.9,
            "ytick.labelsize": font_size * 0.9,
            "legend.fontsize": font_size * 0.9,
            "legend.frameon": False,
            "axes.prop_cycle": cycler(color=CYCLE),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.axisbelow": True,
            "grid.color": "#D9D9D9",
            "grid.linewidth": 0.6,
            "lines.linewidth": 2.0,
            "lines.markersize": 6,
            "axes.formatter.use_locale": False,
            "axes.unicode_minus": True,
            "figure.autolayout": False,
            "figure.constrained_layout.use": True,
        }
    )
    # Jupyter's inline backend: embed PNG (not SVG), so reports carry <img> data URIs.
    try:  # pragma: no cover - only inside IPython
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover
        pass


def _auto_decimals(locs: Iterable[float]) -> int:
    """Fewest decimals (0–4) that write every tick location exactly (2.5 → 1, 0.25 → 2)."""
    arr = np.asarray([v for v in locs if np.isfinite(v)], dtype=float)
    if arr.size == 0:
        return 0
    scale = max(1.0, float(np.abs(arr).max()))
    for d in range(5):
        scaled = arr * 10**d
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6 * scale * 10**d):
            return d
    return 4


def _looks_like_years(locs: np.ndarray) -> bool:
    """Whole numbers between 1800 and 2200: calendar years, written without a point."""
    arr = locs[np.isfinite(locs)]
    return bool(
        arr.size and np.allclose(arr, np.round(arr)) and (arr >= 1800).all() and (arr <= 2200).all()
    )


def danish_formatter(
    decimals: int | None = None, *, percent: bool = False, fraction: bool = True
) -> FuncFormatter:
    """A tick formatter with decimal comma and thousands point.

    Parameters
    ----------
    decimals : int, optional
        Fixed number of decimals; by default the fewest that write every tick exactly
        (ticks 0, 0.5, 1 → ``0,0``, ``0,5``, ``1,0``; ticks 0, 5000, 10000 → ``5.000``).
        Ticks that are all whole numbers between 1800 and 2200 are taken as calendar years
        and written without the thousands point (``2020``, not ``2.020``).
    percent : bool
        Append `` %`` to each label.
    fraction : bool
        With ``percent``: the data are proportions (0–1) and are multiplied by 100.

    Returns
    -------
    matplotlib.ticker.FuncFormatter
    """
    from nsv_eval.report.format import fmt_number

    def _fmt(x: float, pos: int | None = None) -> str:
        if percent and fraction:
            x = x * 100
        if decimals is not None:
            d = decimals
        else:
            locs = np.asarray(formatter.tick_values, dtype=float)
            if percent and fraction:
                locs = locs * 100
            d = _auto_decimals(locs) if locs.size else (0 if float(x).is_integer() else 1)
            if not percent and _looks_like_years(locs) and float(x).is_integer():
                return str(int(x))
        text = fmt_number(float(x), d)
        return f"{text} %" if percent else text

    formatter = _LocsFormatter(_fmt)
    return formatter


class _LocsFormatter(FuncFormatter):
    """A FuncFormatter that remembers the tick locations of the current draw.

    The decimals of a tick label depend on the *other* ticks (0,0 / 2,5 / 5,0), so the
    locations are kept here (``Formatter.locs`` is deprecated in matplotlib 3.11).
    """

    def __init__(self, func: Any) -> None:
        super().__init__(func)
        self.tick_values: list[float] = []

    def set_locs(self, locs: Any) -> None:
        self.tick_values = [float(v) for v in locs]


def danish_axes(target: Figure | Axes | Iterable[Axes], *, x: bool = True, y: bool = True) -> None:
    """Install :func:`danish_formatter` on the numeric axes of a figure or axes.

    Only axes that still use matplotlib's default ``ScalarFormatter`` are changed, so date,
    categorical and percent axes set up by the plotting code are left alone.
    """
    if isinstance(target, Figure):
        axes: Iterable[Axes] = target.axes
    elif isinstance(target, Axes):
        axes = [target]
    else:
        axes = target
    for ax in axes:
        pairs = ([ax.xaxis] if x else []) + ([ax.yaxis] if y else [])
        for axis in pairs:
            if type(axis.get_major_formatter()) is ScalarFormatter:
                axis.set_major_formatter(danish_formatter())


def finish(
    fig: Figure,
    *,
    title: str | None = None,
    source: str | None = None,
    **kwargs: Any,
) -> Figure:
    """Final touches before a figure is shown: Danish ticks, title, source note.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    title : str, optional
        Figure title (Danish).
    source : str, optional
        Source note written in small print at the bottom left (``"Kilde: ..."``).
    **kwargs
        Passed to :func:`danish_axes` (``x=``, ``y=``).

    Returns
    -------
    matplotlib.figure.Figure
        The same figure, for chaining.
    """
    from nsv_eval.report.i18n import get_lang, tr

    danish_axes(fig, **kwargs)
    if get_lang() != "da":
        translate_figure(fig)
    if title:
        fig.suptitle(tr(title), x=0.01, ha="left", fontweight="bold")
    if source:
        fig.text(0.01, 0.0, tr(source), ha="left", va="top", fontsize="small", color="#555555")
    return fig


def translate_figure(fig: Figure) -> Figure:
    """Put every title, axis label, legend entry and text of ``fig`` in the report language.

    Danish texts are looked up in the catalogue (:mod:`nsv_eval.report.i18n`); a Danish
    text without an English entry raises ``MissingTranslation``, so an English report never
    carries a Danish figure. Tick labels are numbers formatted for the language already.
    """
    from nsv_eval.report.i18n import tr_figure_text

    texts = list(fig.texts)
    if getattr(fig, "_suptitle", None) is not None:
        texts.append(fig._suptitle)
    for ax in fig.axes:
        # matplotlib keeps the left/right titles in private attributes (no public getter)
        texts += [
            getattr(ax, a) for a in ("title", "_left_title", "_right_title") if hasattr(ax, a)
        ]
        texts += [ax.xaxis.label, ax.yaxis.label]
        texts += list(ax.texts)
        leg = ax.get_legend()
        if leg is not None:
            texts += list(leg.get_texts())
            if leg.get_title() is not None:
                texts.append(leg.get_title())
    for t in texts:
        s = t.get_text()
        if s:
            t.set_text(tr_figure_text(s))
    return fig
