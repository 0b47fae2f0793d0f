"""Figures the study notebooks share: indicator trends and funnel plots.

Every figure hides values computed from 1-4 events (:func:`nsv_eval.report.disclosure.hide_small`):
a plotted rate next to a published denominator would give the count back, and figures are
not scanned by the disclosure check. The notebooks say so under the figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses.catalogue import Indicator, for_manifest
from nsv_eval.analyses.data import Prepared
from nsv_eval.analyses.profile import funnel_points, trend
from nsv_eval.report import theme
from nsv_eval.report.disclosure import hide_small

LEVEL_LABELS = {"kommune": None, "region": None, "land": "Hele landet"}


def trend_figure(tr: pd.DataFrame, *, title: str, unit: str, ax=None):
    """Draw a :func:`~nsv_eval.analyses.profile.trend` frame: the kommune with its 95 % CI
    band, the region and the country. Values from 1-4 events are left out."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
    else:
        fig = ax.figure
    for level in ("land", "region", "kommune"):
        part = tr[tr["level"] == level]
        if part.empty:
            continue
        part = hide_small(part, ["estimate", "lower", "upper"], "numerator")
        colour = theme.ROLE_COLOURS[level]
        ax.plot(
            part["year"],
            part["estimate"],
            marker="o",
            ms=3.5,
            color=colour,
            label=part["area"].iloc[0],
            lw=2 if level == "kommune" else 1.4,
        )
        if level == "kommune":
            ax.fill_between(
                part["year"],
                part["lower"],
                part["upper"],
                color=colour,
                alpha=0.15,
                lw=0,
                label="95 %-konfidensinterval",
            )
    ax.set_ylabel(unit)
    ax.set_xlabel("År")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=9)
    theme.finish(fig, title=title)
    return fig


def trend_plot(
    prep: Prepared,
    indicator: Indicator | str,
    kommune: int,
    *,
    years: Sequence[int] | None = None,
    ax=None,
    title: str | None = None,
):
    """Yearly value of an indicator: the kommune with its 95 % CI, the region and the country."""
    # a key: the indicator under the variants the data were prepared with
    ind = for_manifest(prep.manifest)[indicator] if isinstance(indicator, str) else indicator
    tr = trend(prep, ind, kommune, years=years)
    return trend_figure(tr, title=title or ind.label_da, unit=ind.unit_da, ax=ax)


def funnel(
    prep: Prepared,
    indicator: Indicator | str,
    kommune: int,
    years: Sequence[int],
    *,
    ax=None,
    overdispersion: str | None = None,
    fdr: float | None = None,
):
    """Funnel plot of the age- and sex-standardised ratio (×100) of all kommuner.

    Kommuner with 1-4 observed events are left out of the figure (disclosure). ``fdr``
    (e.g. 0.05) rings the kommuner that stay outliers under Benjamini-Hochberg
    false-discovery-rate control (:func:`nsv_eval.stats.funnel_limits`).
    """
    # a key: the indicator under the variants the data were prepared with
    ind = for_manifest(prep.manifest)[indicator] if isinstance(indicator, str) else indicator
    pts = funnel_points(prep, ind, years)
    pts = pts[~pts["observed"].between(1, 4)]
    name = pts.loc[pts["kommune_code"] == int(kommune), "kommune_name"]
    fig = stats.funnel_plot(
        pts,
        "observed",
        "expected",
        label="kommune_name",
        highlight=name.iloc[0] if len(name) else None,
        statistic="ratio",
        multiplier=100,
        overdispersion=overdispersion,
        fdr=fdr,
        title=f"{ind.label_da}: standardiseret ratio, {years[0]}–{years[-1]}",
        xlabel="Forventet antal (ud fra landets alders- og kønsspecifikke rater)",
        ylabel="Observeret / forventet × 100",
        target_label="Landsgennemsnit (100)",
        ax=ax,
    )
    return fig


def series_with_ci(df: pd.DataFrame, x: str, ax, *, colour: str, label: str) -> None:
    """Plot ``estimate`` with a shaded ``lower``–``upper`` band."""
    ax.plot(df[x], df["estimate"], marker="o", ms=3.5, color=colour, label=label)
    ax.fill_between(df[x], df["lower"], df["upper"], color=colour, alpha=0.15, lw=0)
