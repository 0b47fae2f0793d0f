"""Every figure of the reports: indicator trends and funnel plots, interrupted time series,
forest plots of triangulated designs, synthetic control, regression discontinuity, balance
(love) and overlap plots, cumulative incidence curves and business-case distributions.

The numbers come from :mod:`nsv_eval.analyses` and :mod:`nsv_eval.stats`; this module only
draws them (colours from :mod:`nsv_eval.report.theme`, Danish labels). Every figure hides values computed from 1-4 events (:func:`nsv_eval.report.disclosure.hide_small`):
a plotted rate next to a published denominator would give the count back, and figures are
not scanned by the disclosure check. The notebooks say so under the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses.catalogue import Indicator, for_manifest
from nsv_eval.analyses.data import Prepared
from nsv_eval.analyses.effects import Triangulation
from nsv_eval.analyses.falls import balance_table
from nsv_eval.analyses.preventive import CUTOFF, OUTCOMES, bins_table
from nsv_eval.analyses.profile import funnel_points, trend
from nsv_eval.analyses.readmissions import overlap_density
from nsv_eval.reference import kommune_name
from nsv_eval.report import labels as report_labels
from nsv_eval.report import theme
from nsv_eval.report.disclosure import hide_small
from nsv_eval.report.format import fmt_number
from nsv_eval.report.i18n import _, get_lang, tr, translated
from nsv_eval.report.narrative import fmt
from nsv_eval.report.narrative import funnel as narrative_funnel
from nsv_eval.stats.designs.cohort import CohortEffectResult
from nsv_eval.stats.designs.rd import RDResult

if TYPE_CHECKING:
    from nsv_eval.analyses.business_case import BusinessCase
    from nsv_eval.report.studies.s07_business_case import InterventionCase

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
            label=translated(report_labels.area_label(str(part["area"].iloc[0]))),
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
    overdispersion: Literal["multiplicative", "additive"] | None = None,
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
        title=_("{indikator}: standardiseret ratio, {fra}–{til}").format(
            indikator=tr(ind.label_da), fra=years[0], til=years[-1]
        ),
        xlabel=tr("Forventet antal (ud fra landets alders- og kønsspecifikke rater)"),
        ylabel=tr("Observeret / forventet × 100"),
        labels={
            **narrative_funnel.plot_labels(get_lang()),
            "target": tr("Landsgennemsnit (100)"),
        },
        colors=theme.FUNNEL_COLORS,
        ax=ax,
    )
    return fig


def series_with_ci(df: pd.DataFrame, x: str, ax, *, colour: str, label: str) -> None:
    """Plot ``estimate`` with a shaded ``lower``–``upper`` band."""
    ax.plot(df[x], df["estimate"], marker="o", ms=3.5, color=colour, label=label)
    ax.fill_between(df[x], df["lower"], df["upper"], color=colour, alpha=0.15, lw=0)


def its_figure(res, *, title: str, per: int = 1000, ylabel: str | None = None):
    """Observed yearly rate, the monthly model and the counterfactual (per ``per`` person-years).

    Observed values are shown per calendar year (sum of events over sum of person-years),
    because a small kommune's monthly or quarterly counts are mostly 1-4 and would have to be
    hidden; years with 1-4 events are left out (disclosure). Model and counterfactual lines
    are the model's monthly values; the counterfactual's 95 % band is clipped at twice the
    highest plotted value so the series stays readable.
    """
    import matplotlib.pyplot as plt

    cf = res.counterfactual()
    post = np.asarray(res.post)
    off = cf["offset"].to_numpy(float)
    scale = per / off
    x = pd.to_datetime(cf["time"])
    yr = pd.DataFrame({"year": x.dt.year, "n": cf["observed"], "py": off})
    yr = yr.groupby("year", as_index=False)[["n", "py"]].sum()
    yr["rate"] = yr["n"] / yr["py"] * per
    yr = hide_small(yr, "rate", "n")
    yx = pd.to_datetime({"year": yr["year"], "month": 7, "day": 1})
    fitted = cf["fitted"].to_numpy() * scale
    cfv = cf["counterfactual"].to_numpy() * scale
    cfl = cf["counterfactual_lower"].to_numpy() * scale
    cfu = cf["counterfactual_upper"].to_numpy() * scale
    xs = x.to_numpy()
    top = 2 * np.nanmax(np.r_[fitted, cfv, yr["rate"].to_numpy(float)])
    fig, ax = plt.subplots(figsize=(9, 4.2))
    colours = theme.ROLE_COLOURS
    ax.plot(yx, yr["rate"], "o", ms=6, color="#333333", label="Observeret (pr. år)")
    ax.plot(xs, fitted, "-", color=colours["kommune"], lw=1.4, label="Model (pr. måned)")
    ax.plot(
        xs[post],
        cfv[post],
        "--",
        color=colours["intervention"],
        lw=1.6,
        label="Forventet uden indsats",
    )
    ax.fill_between(
        xs[post],
        cfl[post],
        np.minimum(cfu[post], top),
        color=colours["intervention"],
        alpha=0.15,
        lw=0,
        label="95 %-konfidensinterval",
    )
    ax.axvline(xs[post][0], color="black", ls=":", lw=1)
    ax.set_ylabel(
        ylabel or _("Hændelser pr. {per} personår 65+").format(per=fmt(per, get_lang(), 0))
    )
    ax.set_xlabel("")
    ax.set_ylim(0, top)
    ax.legend(frameon=False, fontsize=9, ncols=2, loc="upper left")
    theme.finish(fig, title=title)
    return fig


def forest_plot(tri: Triangulation, *, title: str):
    """Forest plot of the triangulated rate ratios (log axis, Danish tick labels)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    if tri.result is None:
        raise ValueError("forest_plot: the triangulation has no estimable design")
    t = tri.result.designs
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(t) + 1.6))
    y = np.arange(len(t))[::-1]
    ax.errorbar(
        t["estimate"],
        y,
        xerr=[t["estimate"] - t["lower"], t["upper"] - t["estimate"]],
        fmt="s",
        color=theme.ROLE_COLOURS["kommune"],
        capsize=4,
        ms=7,
    )
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xscale("log")
    lo = min(float(t["lower"].min()), 0.9)
    hi = max(float(t["upper"].max()), 1.1)
    ticks = [v for v in (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2, 3, 5) if lo <= v <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([fmt_number(v, 2).rstrip("0").rstrip(",") for v in ticks])
    ax.set_xlim(lo / 1.1, hi * 1.1)
    ax.set_yticks(y, [tr(str(n)) for n in t["name"]])
    ax.set_ylim(-0.7, len(t) - 0.3)
    ax.set_xlabel("Rateratio (under 1 = færre end forventet uden indsats)")
    theme.finish(fig, title=title, x=False)
    return fig


def falls_love_plot(res, *, title: str = "Balance før og efter vægtning", threshold: float = 0.1):
    """Love plot (absolute SMD before/after weighting) with Danish covariate names."""
    import matplotlib.pyplot as plt

    b = balance_table(res).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.33 * len(b) + 1.6))
    y = np.arange(len(b))
    ax.scatter(
        b["smd_before"],
        y,
        facecolors="none",
        edgecolors=theme.ROLE_COLOURS["intervention"],
        s=45,
        label="Før vægtning",
    )
    ax.scatter(
        b["smd_after"], y, color=theme.ROLE_COLOURS["kommune"], marker="D", s=32, label="Efter"
    )
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_yticks(y, [report_labels.falls_covariate_label(c) for c in b["covariate"]])
    ax.set_xlabel("Absolut standardiseret forskel mellem deltagere og ikke-deltagere")
    ax.legend(frameon=False, loc="lower right")
    theme.finish(fig, title=title)
    return fig


def sc_figure(res, *, title: str, per: int = 1000, ylabel: str | None = None):
    """Actual vs synthetic rate (left) and the gap with the placebo gaps (right).

    ``ylabel`` names the rate shown (default: per ``per`` person-years 65+); study 5 says
    that its rates are age- and sex-standardised.

    The kommune's yearly values from 1-4 events are left out (disclosure); placebo lines are
    the donors' gaps (unnamed).
    """
    import matplotlib.pyplot as plt

    panel = res.data
    k = res.treated_unit
    own = panel[panel["kommune_code"] == k].set_index("year")
    path = res.path.set_index("time")
    path = path.reindex(range(int(path.index.min()), int(path.index.max()) + 1))  # dropped year
    path["count"] = own["count"].reindex(path.index)
    shown = hide_small(path.reset_index(), ["treated", "gap"], "count").set_index("time")
    start = res.intervention_start
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4.2))
    c = theme.ROLE_COLOURS
    a0.plot(shown.index, shown["treated"], "o-", color=c["kommune"], lw=2, ms=4, label="Kommunen")
    a0.plot(
        path.index,
        path["synthetic"],
        "--",
        color=c["intervention"],
        lw=2,
        label="Syntetisk kontrol (vægtet kombination af kommuner uden akutteam)",
    )
    a0.axvline(start - 0.5, color="grey", ls=":", lw=1)
    a0.set_ylabel(ylabel or _("Pr. {per} personår 65+").format(per=fmt(per, get_lang(), 0)))
    a0.set_ylim(bottom=0)
    a0.set_title("Faktisk og syntetisk forløb", fontsize="medium")
    a0.legend(frameon=False, fontsize=8)
    plc = res.placebos
    incl = set(plc.loc[plc["included"], "unit"])
    first = True
    for unit, g in res.placebo_gaps.groupby("unit", sort=False):
        if unit == k or unit not in incl:
            continue
        a1.plot(
            g["time"],
            g["gap"],
            color=c["counterfactual"],
            lw=0.7,
            alpha=0.5,
            label="Placebo (kommuner uden akutteam)" if first else None,
        )
        first = False
    a1.plot(shown.index, shown["gap"], "o-", color=c["kommune"], lw=2.2, ms=4, label="Kommunen")
    a1.axhline(0, color="black", lw=0.8)
    a1.axvline(start - 0.5, color="grey", ls=":", lw=1)
    a1.set_ylabel("Forskel: faktisk − syntetisk")
    a1.set_title("Forskel og placebotest", fontsize="medium")
    a1.legend(frameon=False, fontsize=8)
    theme.finish(fig, title=title)
    return fig


def rd_figure(
    res: RDResult,
    panel: pd.DataFrame | None,
    outcome: str,
    *,
    title: str,
    bins: pd.DataFrame | None = None,
):
    """Share with an active visit and the outcome rate by month around the 75th birthday,
    with the local-linear fits within the bandwidth; months with 1–4 events left out.
    ``bins`` (the :func:`~nsv_eval.analyses.preventive.bins_table` of the panel, e.g. cached)
    replaces ``panel``."""
    import matplotlib.pyplot as plt

    from nsv_eval.report import theme

    b = bins if bins is not None else bins_table(panel, outcome)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True)
    left = b["k"] < CUTOFF
    for side, colour in (
        (left, theme.ROLE_COLOURS["kommune"]),
        (~left, theme.ROLE_COLOURS["intervention"]),
    ):
        ax1.plot(b.loc[side, "k"], 100 * b.loc[side, "visited"], "o-", color=colour, ms=4)
    ax1.set_ylabel(tr("Besøg virker i måneden (%)"))
    ax1.axvline(CUTOFF, color="0.4", ls="--", lw=1)
    shown = b[(b["events"] == 0) | (b["events"] >= 5)]
    h = res.bandwidth
    for side, colour in (
        (shown["k"] < CUTOFF, theme.ROLE_COLOURS["kommune"]),
        (shown["k"] >= CUTOFF, theme.ROLE_COLOURS["intervention"]),
    ):
        s = shown[side]
        ax2.scatter(s["k"], s["rate"], s=18, color=colour, zorder=3)
        w = s[(s["k"] - CUTOFF).abs() <= h]
        if len(w) >= 2:
            wt = np.clip(1 - (w["k"] - CUTOFF).abs() / h, 1e-9, None) * w["person_years"]
            coef = np.polyfit(w["k"], w["rate"], 1, w=np.sqrt(wt))
            xs = (
                np.array([w["k"].min(), CUTOFF])
                if (w["k"] < CUTOFF).all()
                else np.array([CUTOFF, w["k"].max()])
            )
            ax2.plot(xs, np.polyval(coef, xs), color=colour, lw=2)
    ax2.axvline(CUTOFF, color="0.4", ls="--", lw=1)
    ax2.set_ylabel(
        _("{udfald}\npr. 1.000 personår").format(udfald=tr(OUTCOMES.get(outcome, outcome)))
    )
    ax2.set_xlabel(tr("Måned i forhold til 75-årsfødselsdagens måned"))
    fig.suptitle(tr(title))
    return fig


def love_plot(result: CohortEffectResult, ax=None, title: str | None = None):
    """Love plot: absolute standardised mean differences before and after adjustment."""
    import matplotlib.pyplot as plt

    from nsv_eval.report import theme

    b = result.balance.assign(
        label=lambda x: x["covariate"].map(lambda c: report_labels.covariate_label(c))
    )
    b = b.iloc[np.argsort(b["smd_before"].abs().to_numpy())]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(b) + 1.6))
    else:
        fig = ax.figure
    y = np.arange(len(b))
    ax.scatter(
        b["smd_before"].abs(),
        y,
        color=theme.OKABE_ITO["vermillion"],
        label="Før justering",
        zorder=3,
    )
    ax.scatter(
        b["smd_after"].abs(),
        y,
        color=theme.OKABE_ITO["blue"],
        marker="D",
        label="Efter justering",
        zorder=3,
    )
    ax.axvline(0.1, color="#7F7F7F", ls="--", lw=1)
    ax.set_yticks(y, b["label"])
    ax.set_xlabel("Absolut standardiseret forskel (grænse 0,1)")
    ax.set_xlim(left=0)
    ax.legend(frameon=False, loc="lower right")
    theme.finish(fig, title=title or "Balance mellem grupperne før og efter justering")
    return fig


def overlap_plot(
    result: CohortEffectResult,
    ax=None,
    title: str | None = None,
    density: pd.DataFrame | None = None,
):
    """Smoothed distribution of the propensity score with and without a visit.

    Drawn as kernel density estimates (scipy ``gaussian_kde``) rather than a histogram, so
    no bar shows the count of a handful of persons. ``density`` is
    :func:`nsv_eval.analyses.readmissions.overlap_density` of ``result`` when already
    computed (study 4 keeps it once per area); by default it is computed here.
    """
    import matplotlib.pyplot as plt

    from nsv_eval.report import theme

    if density is None:
        density = overlap_density(result)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
    else:
        fig = ax.figure
    for flag, colour in ((True, theme.OKABE_ITO["vermillion"]), (False, theme.OKABE_ITO["blue"])):
        curve = density[density["treated"] == flag]
        if curve.empty:
            continue
        grid, dens = curve["ps"].to_numpy(float), curve["density"].to_numpy(float)
        ax.plot(grid, dens, color=colour, lw=2, label=translated(report_labels.visit_label(flag)))
        ax.fill_between(grid, dens, color=colour, alpha=0.15, lw=0)
    ax.set_xlabel("Sandsynlighed for besøg ud fra borgerens kendetegn (propensity score)")
    ax.set_ylabel("Tæthed")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    theme.finish(fig, title=title or "Overlap: borgere med og uden besøg")
    return fig


def cif_plot(points: pd.DataFrame, *, title: str | None = None, ax=None):
    """Cumulative incidence of readmission (solid) and 1 - Kaplan-Meier (dashed) by visit."""
    import matplotlib.pyplot as plt

    from nsv_eval.report import theme

    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.2))
    else:
        fig = ax.figure
    colours = {
        report_labels.visit_label(True): theme.OKABE_ITO["vermillion"],
        report_labels.visit_label(False): theme.OKABE_ITO["blue"],
    }
    for group, g in points.groupby("visit", sort=False):
        g = g.dropna(subset=["cif"])
        key = report_labels.visit_label(group)
        col = colours.get(key, "#000000")
        ax.plot(
            g["time"],
            100 * g["cif"],
            color=col,
            lw=2,
            marker="o",
            ms=3,
            label=_("{gruppe}: kumuleret incidens").format(gruppe=key),
        )
        ax.fill_between(g["time"], 100 * g["lower"], 100 * g["upper"], color=col, alpha=0.15, lw=0)
        ax.plot(
            g["time"],
            100 * g["one_minus_km"],
            color=col,
            lw=1.2,
            ls="--",
            label=_("{gruppe}: 1 − Kaplan-Meier (døde regnes som censurerede)").format(gruppe=key),
        )
    ax.set_xlabel("Dage efter udskrivelsen")
    ax.set_ylabel("Genindlagt (%)")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8.5, loc="upper left")
    theme.finish(
        fig,
        title=title or "Genindlæggelse efter udskrivelsen, med død som konkurrerende hændelse",
    )
    return fig


def net_plot(cases: Sequence[InterventionCase], *, title: str | None = None):
    """Simulated distributions of the net saving (million DKK), one panel per intervention."""
    import matplotlib.pyplot as plt

    from nsv_eval.report import theme

    shown = [c for c in cases if c.available and c.result is not None]
    if not shown:
        raise ValueError("net_plot: no intervention has a business case")
    fig, axes = plt.subplots(len(shown), 1, figsize=(8, 2.3 * len(shown) + 0.8), squeeze=False)
    for ax, c in zip(axes[:, 0], shown, strict=True):
        res = c.result
        assert res is not None  # kept by the filter above
        net = res.draws["net_saving"].to_numpy() / 1e6
        lo, hi = np.quantile(net, [0.001, 0.999])
        x = net[(net >= lo) & (net <= hi)]
        width = (hi - lo) / 60 if hi > lo else 1.0
        # bin edges on a grid through 0, so no bar straddles the break-even line
        bins = width * np.arange(np.floor(lo / width), np.ceil(hi / width) + 1)
        ax.hist(
            x[x < 0], bins=bins, color=theme.OKABE_ITO["vermillion"], alpha=0.85, label="Underskud"
        )
        ax.hist(
            x[x >= 0],
            bins=bins,
            color=theme.OKABE_ITO["bluish_green"],
            alpha=0.85,
            label="Overskud",
        )
        ax.axvline(0, color="black", lw=1)
        ax.set_yticks([])
        ax.set_title(
            _("{indsats}: {andel} af konfidensfordelingen over nul").format(
                indsats=tr(c.label_da),
                andel=fmt_number(100 * res.share_net_positive, 0)
                + (" %" if get_lang() == "da" else "%"),
            ),
            fontsize="medium",
            loc="left",
        )
    axes[-1, 0].set_xlabel("Nettobesparelse i perioden (mio. kr.; besparelse minus udgift)")
    axes[0, 0].legend(frameon=False, fontsize=9)
    first = shown[0].result
    assert first is not None
    n = len(first.draws)
    theme.finish(
        fig,
        title=title
        or _("Tilnærmet konfidensfordeling for nettobesparelsen ({n} simulationer)").format(
            n=fmt_number(n, 0)
        ),
    )
    return fig


def coverage_figure(kom: pd.DataFrame, land: pd.DataFrame, kommune: int, *, courses: bool):
    """Contacts (and admission courses) per 1,000 residents by year, kommune vs country
    (study 1); the kommune's points from 1-4 events are left out (disclosure)."""
    # a rate next to a published population gives its count back: leave out points from 1-4 events
    kom_fig = hide_small(kom, "contacts_per_1000", "contacts")
    if "courses" in kom_fig:
        kom_fig = hide_small(kom_fig, "courses_per_1000", "courses")
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(
        kom_fig["year"],
        kom_fig["contacts_per_1000"],
        marker="o",
        color=theme.ROLE_COLOURS["kommune"],
        label=_("Kontakter, {navn}").format(navn=kommune_name(kommune)),
    )
    ax.plot(
        land["year"],
        land["contacts_per_1000"],
        marker="o",
        color=theme.ROLE_COLOURS["land"],
        label=_("Kontakter, hele landet"),
    )
    if courses:
        ax.plot(
            kom_fig["year"],
            kom_fig["courses_per_1000"],
            ls="--",
            color=theme.ROLE_COLOURS["kommune"],
            label=_("Indlæggelsesforløb, {navn}").format(navn=kommune_name(kommune)),
        )
        ax.plot(
            land["year"],
            land["courses_per_1000"],
            ls="--",
            color=theme.ROLE_COLOURS["land"],
            label=_("Indlæggelsesforløb, hele landet"),
        )
    ax.set_xlabel("År")
    ax.set_ylabel("Antal pr. 1.000 indbyggere")
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(loc="lower left", ncol=2)
    theme.finish(
        fig,
        title="Hospitalskontakter og indlæggelsesforløb pr. 1.000 indbyggere",
        source="Punkter beregnet på 1–4 hændelser er udeladt af hensyn til diskretion.",
    )
    return fig


def group_rates_figure(r: pd.DataFrame, *, label: str, area_name: str):
    """Standardised rates by education group and period with intervals (study 6); rates
    from 1-4 events left out (disclosure)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    colours = list(theme.OKABE_ITO.values())
    shown = hide_small(r, ["estimate", "lower", "upper"], "numerator")
    for i, (edu, part) in enumerate(shown.groupby("education", observed=True)):
        ax.errorbar(
            np.arange(part["period"].nunique()) + (i - 1.5) * 0.08,
            part["estimate"],
            yerr=[part["estimate"] - part["lower"], part["upper"] - part["estimate"]],
            marker="o",
            ms=4,
            capsize=2,
            color=colours[(i + 1) % len(colours)],
            label=translated(report_labels.education_label(str(edu))),
        )
    ax.set_xticks(range(shown["period"].nunique()), sorted(shown["period"].unique()))
    ax.set_ylabel(label)
    ax.set_xlabel("Periode")
    ax.legend(frameon=False, fontsize=9)
    theme.finish(
        fig, title=_("{maal} efter uddannelse, {omraade}").format(maal=tr(label), omraade=area_name)
    )
    return fig


def sii_figure(sii_all: pd.DataFrame, *, area_name: str):
    """Slope index of inequality by outcome and period with intervals (study 6)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    periods = sorted(sii_all["period"].unique())
    for i, (_key, part) in enumerate(sii_all.groupby("key", sort=False)):
        part = part.sort_values("period")
        ax.errorbar(
            [periods.index(p) for p in part["period"]],
            part["estimate"],
            yerr=[part["estimate"] - part["lower"], part["upper"] - part["estimate"]],
            marker="o",
            capsize=2,
            color=list(theme.OKABE_ITO.values())[i + 1],
            label=translated(str(part["outcome"].iloc[0])),
        )
    ax.set_xticks(range(sii_all["period"].nunique()), periods)
    ax.axhline(0, color="#7F7F7F", lw=0.8)
    ax.set_ylabel("SII (forskel pr. 1.000)")
    ax.set_xlabel("Periode")
    ax.legend(frameon=False, fontsize=8)
    theme.finish(
        fig,
        title=_("Hældningsindeks for ulighed efter uddannelse, {omraade}").format(
            omraade=area_name
        ),
    )
    return fig


def survey_by_education_figure(sv: pd.DataFrame):
    """Sundhedsprofil indicators by education over the survey years, whole country (study 6)."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=False)
    for ax, (_ind, part) in zip(axes, sv.groupby("indicator", sort=False), strict=False):
        for i, (edu, p) in enumerate(part.groupby("education", observed=True)):
            ax.plot(
                p["year"],
                p["estimate"],
                marker="o",
                ms=3.5,
                color=list(theme.OKABE_ITO.values())[i + 1],
                label=translated(report_labels.education_label(str(edu))),
            )
        ax.set_title(translated(str(part["label"].iloc[0])), fontsize=10)
        ax.set_xlabel("År")
    axes[0].legend(frameon=False, fontsize=8)
    theme.finish(fig, title="Sundhedsprofilen efter uddannelse, hele landet (vægtede andele)")
    return fig


def uptake_funnel(shown: pd.DataFrame, kommune: int):
    """Funnel plot of the share accepting the preventive visit at 75 by kommune (study 8);
    the kommune is highlighted when it is shown."""
    return stats.funnel_plot(
        shown,
        "accepted",
        "offered",
        label="kommune_name",
        highlight=kommune_name(kommune) if (shown["kommune_code"] == int(kommune)).any() else None,
        statistic="proportion",
        multiplier=100,
        title=tr("Andel, der tog imod besøget ved 75 år"),
        xlabel=tr("Borgere, der fyldte 75"),
        ylabel=tr("Tog imod (%)"),
        labels=narrative_funnel.plot_labels(get_lang()),
        colors=theme.FUNNEL_COLORS,
    )


def uptake_admission_figure(vis: pd.DataFrame, kommune: int, navn: str):
    """Share accepting the visit vs share acutely admitted the following year, one point per
    kommune sized by the number turning 75 (study 8)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(
        100 * vis["share_accepted"],
        100 * vis["share_admitted"],
        s=vis["offered"] / vis["offered"].max() * 200 + 10,
        color=theme.ROLE_COLOURS["region"],
        alpha=0.6,
        label=tr("Kommuner"),
    )
    own = vis[vis["kommune_code"] == int(kommune)]
    if not own.empty:
        ax.scatter(
            100 * own["share_accepted"],
            100 * own["share_admitted"],
            s=80,
            color=theme.ROLE_COLOURS["intervention"],
            zorder=3,
            label=translated(report_labels.area_label(navn)),
        )
    ax.set_xlabel(tr("Tog imod besøget ved 75 år (%)"))
    ax.set_ylabel(tr("Akut indlagt det følgende år (%)"))
    ax.legend(frameon=False)
    return fig


def business_case_plot(bc: BusinessCase, ax=None, lang: str = "da"):
    """Histogram of the simulated net saving (million DKK) of one
    :class:`~nsv_eval.analyses.business_case.BusinessCase` (moved whole from
    ``BusinessCase.plot``)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    else:
        fig = ax.figure
    net = bc.draws["net_saving"] / 1e6
    ax.hist(net, bins=60, color="#0072B2", alpha=0.8)
    ax.axvline(0, color="#D55E00", lw=1.5)
    if lang == "da":
        ax.set_xlabel("Nettobesparelse (mio. kr.)")
        ax.set_ylabel("Antal simulationer")
        ax.set_title("Tilnærmet konfidensfordeling for nettobesparelsen")
    else:
        ax.set_xlabel("Net saving (DKK million)")
        ax.set_ylabel("Simulations")
        ax.set_title("Approximate confidence distribution of the net saving")
    return fig
