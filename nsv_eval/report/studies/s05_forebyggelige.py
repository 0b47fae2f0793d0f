"""Study 5 (*Forebyggelige indlæggelser*): the sections of ``05_forebyggelige.ipynb``.

The numbers come from :mod:`nsv_eval.analyses.preventable` (comparison table, synthetic
control with placebo inference, SC gap as a ratio), :mod:`nsv_eval.analyses.falls` (national
panel and DiD, shared with study 3) and :mod:`nsv_eval.analyses.effects` (the kommune's
ITS, triangulation); this module decides what to say and lays out tables and figures.

The study is one :class:`PreventableStudy`; each method returns the sections of one notebook
cell and keeps the results later cells need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from nsv_eval.analyses import effects, falls, preventable
from nsv_eval.report import figures, i18n, narrative, sentences, theme
from nsv_eval.report.disclosure import THRESHOLD
from nsv_eval.report.format import fmt_date, fmt_number, fmt_p
from nsv_eval.report.i18n import tr
from nsv_eval.report.labels import kommune_display_name
from nsv_eval.report.narrative import ci_label
from nsv_eval.report.sections import Section, key_effect, key_record, key_result
from nsv_eval.report.studies._intervention import (
    ITS_CRUDE_NOTE_DA,
    STANDARDISED_DA,
    STANDARDISED_NOTE_DA,
    InterventionStudy,
)

NOT_RELEVANT = "Ikke relevant: kommunen har ikke haft et akutteam."


@dataclass
class PreventableStudy(InterventionStudy):
    """Study 5 for one kommune and parameter set (the notebook's parameters)."""

    INDICATOR: ClassVar[str] = preventable.INDICATOR
    INTERVENTION: ClassVar[str] = preventable.INTERVENTION

    # results kept between cells
    its_res: Any = field(default=None, init=False)
    sc_res: Any = field(default=None, init=False)
    sc_ratio: Any = field(default=None, init=False)
    pdid: Any = field(default=None, init=False)

    def intro(self) -> list[Section]:
        """When the kommune's acute team started (or that it has none)."""
        if self.start is None:
            return [
                Section(
                    text=f"**{self.navn} har ifølge data ikke haft et akutteam i perioden.** "
                    "Rapporten viser derfor kun udviklingen og sammenligningen med andre "
                    "kommuner; en effekt af et akutteam kan ikke vurderes."
                )
            ]
        kilde = (
            "fra datagrundlagets udrulningstabel"
            if self.intervention_dates == "data"
            else "angivet i parametrene"
        )
        return [
            Section(text=f"{self.navn}s akutteam startede **{fmt_date(self.start)}** ({kilde}).")
        ]

    def trend(self) -> list[Section]:
        """Trend figure with the team's start marked."""
        fig = figures.trend_plot(self.prep, self.ind, self.kommune, years=self.years)
        if self.start is not None:
            colour = theme.ROLE_COLOURS["intervention"]
            x0 = self.start.year + (self.start.day_of_year - 1) / 365 - 0.5
            fig.axes[0].axvline(x0, color=colour, ls=":", lw=1.2)
            fig.axes[0].annotate(
                i18n._("Akutteam starter"),
                (x0 + 0.1, 0.04),
                xycoords=("data", "axes fraction"),
                fontsize=8,
                color=colour,
            )
        return [Section(figure=fig)]

    def comparison(self) -> list[Section]:
        """Standardised rate and ratio of the last years: kommune, region, country."""
        cmp = preventable.comparison_table(self.prep, self.kommune, self.seneste)
        k = cmp.set_index("level").loc["kommune"]
        land = cmp.set_index("level").loc["land"]
        keys, text = [], None
        if k["numerator"] >= THRESHOLD:
            kategori = (
                "færre indlæggelser end"
                if k["isr_upper"] < 100
                else "flere indlæggelser end"
                if k["isr_lower"] > 100
                else "lige så mange indlæggelser som"
            )
            keys = [
                key_result(
                    "dsr_pooled",
                    k["estimate"],
                    "I {periode} havde kommunen {value_ci} forebyggelige indlæggelser pr. 1.000 "
                    "borgere 65+ om året (aldersstandardiseret), mod {land} i hele landet.",
                    lower=k["lower"],
                    upper=k["upper"],
                    conf=self.conf,
                    texts={"periode": self.periode, "land": fmt_number(land["estimate"], 1)},
                ),
                key_result(
                    "isr",
                    k["isr"],
                    "Når der tages højde for alder og køn, havde kommunen {kategori} forventet ud "
                    "fra landets rater (standardiseret ratio {value_ci}; landet = 100).",
                    lower=k["isr_lower"],
                    upper=k["isr_upper"],
                    conf=self.conf,
                    decimals=0,
                    texts={"kategori": kategori},
                ),
            ]
        else:
            text = f"Der var under 5 forebyggelige indlæggelser i kommunen i {self.periode}."
        ci = ci_label(self.conf)
        cols = ["area", "numerator", "denominator", "estimate", "lower", "upper"]
        return [
            Section(
                text=text,
                table=cmp[[*cols, "isr", "isr_lower", "isr_upper"]],
                table_options=dict(
                    count_cols="numerator",
                    rate_cols={"estimate": "numerator"},
                    derived_cols={
                        c: "numerator" for c in ("lower", "upper", "isr", "isr_lower", "isr_upper")
                    },
                    labels={
                        "area": "Område",
                        "numerator": "Indlæggelser",
                        "denominator": "Personår 65+",
                        "estimate": "Rate pr. 1.000 (standardiseret)",
                        "lower": f"Nedre {ci}",
                        "upper": f"Øvre {ci}",
                        "isr": "Standardiseret ratio (landet = 100)",
                        "isr_lower": f"Ratio, nedre {ci}",
                        "isr_upper": f"Ratio, øvre {ci}",
                    },
                    decimals={"denominator": 0, "isr": 0, "isr_lower": 0, "isr_upper": 0},
                    caption=f"Forebyggelige indlæggelser blandt borgere 65+, {self.periode}",
                ),
                findings=keys,
            )
        ]

    def funnel(self) -> list[Section]:
        """Funnel plot of the standardised ratio, all kommuner."""
        return [Section(figure=figures.funnel(self.prep, self.ind, self.kommune, self.seneste))]

    def its(self) -> list[Section]:
        """The kommune's own interrupted time series and its placebo in time."""
        if self.start is None:
            return [Section(text=NOT_RELEVANT)]
        why = falls.its_check(
            self.prep, self.kommune, preventable.MEASURE, self.start, years=self.years
        )
        if why:
            return [Section(text=f"Tidsserien for kommunen vises ikke: {why}")]
        self.its_res = res = effects.kommune_its(
            self.prep,
            self.kommune,
            preventable.MEASURE,
            self.start,
            years=self.years,
            conf=self.conf,
        )
        fig = figures.its_figure(
            res,
            title=i18n._("Forebyggelige indlæggelser blandt borgere 65+ i {navn}").format(
                navn=kommune_display_name(self.kommune)
            ),
        )
        its_mde = falls.effect_mde(res)
        key = key_effect(
            "its_rate_ratio",
            res,
            "Kommunens tidsserie: efter akutteamets start var de forebyggelige indlæggelser "
            "{value_ci} gange det forventede niveau uden akutteam (rateratio; afbrudt "
            "tidsserie). {mde}",
            texts={"mde": narrative.power.mde_text(its_mde)},
            **its_mde.to_dict(),
        )
        out = [
            Section(
                figure=fig,
                after="*Punkter er kommunens rå årsrater; år med 1–4 indlæggelser er udeladt af "
                "hensyn til diskretion. Linjerne er modellens månedlige værdier (med "
                f"sæsonudsving). {ITS_CRUDE_NOTE_DA}*",
                findings=[key],
            ),
            Section(
                text=sentences.its_sentence(res, "de forebyggelige indlæggelser")
                + " "
                + narrative.power.mde_text(its_mde)
            ),
        ]
        plac = effects.its_placebo(res)
        if plac is not None:
            out.append(
                Section(
                    text="**Placebotest i tid.** " + narrative.summarise(plac, self.lang),
                    findings=[key_record("its_placebo_passed", bool(plac.passed), kind="text")],
                )
            )
        return out

    def synthetic_control(self) -> list[Section]:
        """Synthetic control of the kommune from kommuner without an acute team."""
        if self.start is None:
            return [Section(text=NOT_RELEVANT)]
        setup = preventable.sc_setup(self.prep, self.kommune, self.start, years=self.years)
        if setup.panel is None:
            return [Section(text=f"Syntetisk kontrol er ikke mulig: {setup.reason_da}")]
        self.sc_res = sc_res = preventable.acute_team_sc(setup, self.kommune, conf=self.conf)
        inf = preventable.placebo_summary(sc_res)
        self.sc_ratio = preventable.sc_rate_ratio(sc_res, inf)
        fig = figures.sc_figure(
            sc_res,
            title=i18n._("{navn} og dens syntetiske kontrol").format(
                navn=kommune_display_name(self.kommune)
            ),
            ylabel=i18n._("Alders- og kønsstandardiseret rate\npr. 1.000 personår 65+"),
        )
        note = (
            f"*Kommunens og den syntetiske kontrols {STANDARDISED_DA} pr. 1.000 personår 65+. "
            "År med 1–4 indlæggelser i kommunen er udeladt."
        )
        if setup.dropped_year:
            note += (
                f" Startåret {setup.dropped_year} er udeladt, fordi akutteamet kun virkede en del "
                f"af året; første år efter start er {setup.first_year}."
            )
        r = self.sc_ratio.main_effect()
        tekst, p_txt = self._sc_text(inf, r, sc_res.post_times)
        key = key_result(
            "sc_avg_gap",
            inf["estimate"],
            "Syntetisk kontrol: efter starten lå kommunen {value} forebyggelige indlæggelser pr. "
            "1.000 borgere 65+ fra sin syntetiske kontrol (alders- og kønsstandardiseret rate; "
            "rateratio ca. {rr}; placebotest {p}).",
            lower=inf["lower"] if pd.notna(inf["lower"]) else None,
            upper=inf["upper"] if pd.notna(inf["upper"]) else None,
            conf=self.conf,
            kind="effect",
            texts={"rr": fmt_number(r["estimate"], 2), "p": p_txt},
            design="synthetic_control",
            scale="difference",
            p_value=inf["p_value"],
            exact_fit=inf["treated_exact_fit"],
            rate_ratio=r["estimate"],
            rate_ratio_lower=r["lower"],
            rate_ratio_upper=r["upper"],
        )
        return [
            Section(figure=fig, after=note + "*"),
            Section(
                text=tekst,
                table=preventable.donor_weights(sc_res),
                table_options=dict(
                    labels={
                        "kommune_name": "Kommune uden akutteam",
                        "weight_pct": "Vægt i syntetisk kontrol (%)",
                    },
                    decimals={"weight_pct": 1},
                    caption="Den syntetiske kontrols sammensætning (kommuner med mindst 1 % vægt)",
                ),
                findings=[key],
            ),
        ]

    @staticmethod
    def _sc_text(inf: dict, r: pd.Series, post: Any) -> tuple[str, str]:
        tekst = (
            "Før starten ramte den syntetiske kontrol kommunens alders- og kønsstandardiserede "
            "rate med en gennemsnitlig "
            f"afvigelse (RMSPE) på {fmt_number(inf['pre_rmspe'], 1)} pr. 1.000 (kommunens "
            f"år-til-år-udsving: {fmt_number(inf['pre_outcome_sd'], 1)}). I {post[0]}–{post[-1]} "
            f"lå kommunen i gennemsnit {fmt_number(abs(inf['estimate']), 1)} pr. 1.000 "
            f"{'under' if inf['estimate'] < 0 else 'over'} den syntetiske kontrol, svarende til "
            f"en rateratio på ca. {fmt_number(r['estimate'], 2)}. "
        )
        if inf["treated_exact_fit"]:
            tekst += (
                "**Den syntetiske kontrol gengiver kommunens rate helt præcist før starten.** Det "
                "sker, når der er mange donorkommuner og få år: blandingen tilpasser sig også "
                "tilfældige udsving. Placebotesten er derfor ikke defineret, og forskellen efter "
                "starten bør tolkes med stor forsigtighed."
            )
            p_txt = "ikke defineret"
        else:
            p_txt = fmt_p(inf["p_value"])
            tekst += (
                f"Placebotest: kommunens forhold mellem afvigelsen efter og før starten er "
                f"{fmt_number(inf['ratio'], 2)}; {p_txt} blandt {inf['n_placebos'] + 1} kommuner."
            )
            if inf["n_exact_fit"]:
                tekst += (
                    f" ({inf['n_exact_fit']} kommuner, som de øvrige gengav helt præcist før "
                    "start, indgår ikke i placebotesten.)"
                )
            if inf["p_value"] >= 0.1:
                tekst += " Forskellen er ikke usædvanlig i forhold til kommuner uden akutteam."
        tekst += (
            " Den syntetiske kontrol har ingen standardfejl (placebotesten er en rangtest), så "
            "her kan ingen mindste påviselig effekt beregnes; tidsseriens og "
            "difference-in-differences' mindste påviselige effekter står ved deres estimater."
        )
        return tekst, p_txt

    def did(self) -> list[Section]:
        """All kommuner: Poisson DiD on counts and the Callaway & Sant'Anna robustness check."""
        panel = falls.national_panel(
            self.prep,
            measure=preventable.MEASURE,
            intervention=preventable.INTERVENTION,
            years=self.years,
        )
        did_why = falls.did_check(panel, anticipation=1)
        if did_why:
            return [
                Section(
                    text="**Difference-in-differences på tværs af kommuner kan ikke beregnes:** "
                    + did_why
                    + "."
                )
            ]
        self.pdid, _ = falls.national_poisson_did(
            panel, conf=self.conf, anticipation=1, cache=self.prep
        )
        pdid = self.pdid
        pdid_mde = falls.effect_mde(pdid)
        key = key_effect(
            "did_poisson_rate_ratio",
            pdid,
            "Alle kommuner (difference-in-differences på antal mod det forventede antal ud fra "
            "alder og køn): efter akutteamets start var de forebyggelige indlæggelser {value_ci} gange det forventede "
            "niveau uden akutteam (rateratio). {mde}",
            texts={"mde": narrative.power.mde_text(pdid_mde)},
            pretest_p=pdid.pretest().get("p_value"),
            **pdid_mde.to_dict(),
        )
        fig = pdid.plot(labels=narrative.poisson_did.plot_labels(self.lang))
        theme.finish(
            fig, title="Forebyggelige indlæggelser før og efter start, alle kommuner (event study)"
        )
        fig.axes[0].set_xlabel(tr("År i forhold til første hele år med akutteam"))
        fig.axes[0].set_ylabel(tr("Rateratio (log-skala)"))
        fig.axes[0].set_title("")
        cs_res, _ = falls.national_did(panel, conf=self.conf, cache=self.prep)
        cs = cs_res.main_effect()
        cs_mde = falls.effect_mde(cs_res)
        cs_key = key_effect(
            "did_att",
            cs_res,
            "Robusthedstjek (kommunernes alders- og kønsstandardiserede rater, hver kommune lige "
            "meget): raten ændrede sig med {value} forebyggelige indlæggelser pr. 1.000 borgere 65+ pr. år ("
            + ci_label(self.conf)
            + ": {lo} til "
            "{hi}).",
            decimals=1,
            texts={"lo": fmt_number(cs["lower"], 1), "hi": fmt_number(cs["upper"], 1)},
            **cs_mde.to_dict(),
        )
        return [
            Section(
                text=sentences.poisson_did_sentence(pdid, "de forebyggelige indlæggelser")
                + " "
                + narrative.power.mde_text(pdid_mde),
                figure=fig,
                after="*Orange punkter (før start) bør ligge omkring 1; blå punkter er "
                "rateratioen 0, 1, 2, … år efter start. Lodrette streger er samtidige "
                f"95 %-konfidensbånd (de dækker alle år på én gang). {STANDARDISED_NOTE_DA}*",
                findings=[key],
            ),
            Section(
                text=f"**Robusthedstjek (Callaway & Sant'Anna på kommunernes {STANDARDISED_DA}).** "
                "Ændring "
                f"{fmt_number(cs['estimate'], 1)} pr. 1.000 borgere 65+ pr. år ({ci_label(self.conf)}: "
                f"{fmt_number(cs['lower'], 1)} til {fmt_number(cs['upper'], 1)}). "
                + narrative.power.mde_text(cs_mde, "pr. 1.000 borgere 65+ pr. år"),
                findings=[cs_key],
            ),
        ]

    def verdict(self) -> list[Section]:
        """The three designs triangulated (or why there is no verdict)."""
        figure = None
        if self.start is None:
            verdict = (
                "Kommunen har ikke haft et akutteam, så dets effekt kan ikke vurderes her; se "
                "udviklingen og sammenligningen ovenfor."
            )
            tri = None
        else:
            tri = effects.triangulation(
                [self.its_res, self.sc_ratio, self.pdid],
                [
                    "Tidsserie (kommunen)",
                    "Syntetisk kontrol",
                    "Difference-in-differences (alle kommuner)",
                ],
            )
            verdict = sentences.verdict_sentence(
                tri, "akutteamets effekt på forebyggelige indlæggelser"
            )
            if self.its_res is None and self.sc_res is None:
                verdict = (
                    "Kommunen har for få forebyggelige indlæggelser til, at akutteamets effekt "
                    "kan vurderes med tidsserie eller syntetisk kontrol; se udviklingen og "
                    "sammenligningen ovenfor."
                )
            if tri.result is not None:
                figure = figures.forest_plot(
                    tri, title="Forebyggelige indlæggelser efter start: rateratio i tre designs"
                )
            else:
                extra = sentences.direction_sentence(self.its_res, self.sc_ratio)
                if extra:
                    verdict = extra
                if self.its_res is not None and self.its_res.main_effect()["upper"] < 1:
                    verdict += (
                        " Tidsserien alene finder et fald, der er større, end tilfældigheder kan "
                        "forklare."
                    )
        key = key_result(
            "verdict", verdict, "{value}", kind="text", verdict=None if tri is None else tri.verdict
        )
        return [Section(findings=[key], figure=figure), Section(text=verdict)]
