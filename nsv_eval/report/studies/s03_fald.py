"""Study 3 (*Fald blandt ældre*): the sections of ``03_fald.ipynb``.

The numbers come from :mod:`nsv_eval.analyses.falls` (national panel, DiD, Poisson DiD,
participant cohort with IPTW, negative control) and :mod:`nsv_eval.analyses.effects` (the
kommune's interrupted time series, its placebo, DiD rate ratio, triangulation); this module
decides what to say (which design applies, the verdict) and lays out tables and figures.

The study is one :class:`FallsStudy`; each method returns the sections of one notebook cell
and keeps the results later cells need (the ITS, the DiD, the cohort), as the notebook's
cells did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pandas as pd

from nsv_eval.analyses import effects, falls, profile
from nsv_eval.analyses.data import Area
from nsv_eval.report import figures, i18n, narrative, sentences, theme
from nsv_eval.report.disclosure import THRESHOLD
from nsv_eval.report.format import fmt_date, fmt_number
from nsv_eval.report.i18n import tr
from nsv_eval.report.labels import falls_analysis_label, kommune_display_name
from nsv_eval.report.narrative import ci_label
from nsv_eval.report.sections import Section, key_effect, key_record, key_result
from nsv_eval.report.studies._intervention import (
    ITS_CRUDE_NOTE_DA,
    STANDARDISED_DA,
    STANDARDISED_NOTE_DA,
    InterventionStudy,
)

CONTROL_DA = {"notyet": "endnu ikke eller aldrig startede", "never": "aldrig startede"}


def interval(lo: float, hi: float, d: int = 1) -> str:
    """Konfidensinterval i løbende tekst (tåler negative tal)."""
    return f"{fmt_number(lo, d)} til {fmt_number(hi, d)}"


@dataclass
class FallsStudy(InterventionStudy):
    """Study 3 for one kommune and parameter set (the notebook's parameters)."""

    INDICATOR: ClassVar[str] = falls.INDICATOR
    INTERVENTION: ClassVar[str] = falls.INTERVENTION

    cohort_scope: str = "region"
    did_control: Literal["never", "notyet"] = "notyet"
    # results kept between cells
    its_res: Any = field(default=None, init=False)
    pdid: Any = field(default=None, init=False)
    prr: Any = field(default=None, init=False)
    coh_res: Any = field(default=None, init=False)
    nc_res: Any = field(default=None, init=False)

    def intro(self) -> list[Section]:
        """When the kommune started the programme (or that it did not)."""
        if self.start is None:
            return [
                Section(
                    text=f"**{self.navn} har ifølge data ikke startet et faldforebyggelsesprogram "
                    "i perioden.** Rapporten viser derfor kommunens udvikling og niveau samt den "
                    "landsdækkende analyse af programmets effekt i de kommuner, der har det; en "
                    "effekt i kommunen selv kan ikke vurderes."
                )
            ]
        kilde = (
            "fra datagrundlagets udrulningstabel"
            if self.intervention_dates == "data"
            else "angivet i parametrene"
        )
        return [
            Section(
                text=f"{self.navn} startede faldforebyggelsen **{fmt_date(self.start)}** ({kilde})."
            )
        ]

    def trend(self) -> list[Section]:
        """Trend figure (with the start marked) and the change from the first to the last years."""
        fig = figures.trend_plot(self.prep, self.ind, self.kommune, years=self.years)
        if self.start is not None:
            colour = theme.ROLE_COLOURS["intervention"]
            fig.axes[0].axvline(self.start.year - 0.5, color=colour, ls=":", lw=1.2)
            fig.axes[0].annotate(
                i18n._("Faldforebyggelse starter"),
                (self.start.year - 0.4, 0.04),
                xycoords=("data", "axes fraction"),
                fontsize=8,
                color=colour,
            )
        foerste = list(range(self.period_start, self.period_start + self.pooled_years))
        tr = pd.concat(
            [
                profile.trend(self.prep, self.ind, self.kommune, levels=["kommune"], years=yrs)
                .assign(span=label)
                .groupby("span", as_index=False)[["numerator", "denominator"]]
                .sum()
                for label, yrs in (("first", foerste), ("last", self.seneste))
            ]
        ).set_index("span")
        tr["rate"] = tr["numerator"] / tr["denominator"] * 1000
        keys = []
        if (tr["numerator"] >= THRESHOLD).all():
            keys.append(
                key_result(
                    "rate_change",
                    tr.at["last", "rate"],
                    "Kommunen havde {value} faldulykker pr. 1.000 borgere 65+ om året i {periode} "
                    "mod {foer} i {periode0} (ikke aldersstandardiseret).",
                    texts={
                        "periode": self.periode,
                        "periode0": f"{foerste[0]}–{foerste[-1]}",
                        "foer": fmt_number(tr.at["first", "rate"], 1),
                    },
                    rate_first=float(tr.at["first", "rate"]),
                )
            )
        return [Section(figure=fig, findings=keys)]

    def standardised(self) -> list[Section]:
        """Age-standardised rate of the last years: kommune, region, country."""
        st = profile.standardised(self.prep, self.ind, self.kommune, self.seneste)
        kst = st.set_index("level").loc["kommune"]
        land = st.set_index("level").loc["land"]
        sammen = (
            "lavere end"
            if kst["upper"] < land["estimate"]
            else "højere end"
            if kst["lower"] > land["estimate"]
            else "på niveau med"
        )
        keys, text = [], None
        if kst["numerator"] >= THRESHOLD:
            keys.append(
                key_result(
                    "dsr_pooled",
                    kst["estimate"],
                    "Aldersstandardiseret var raten {value_ci} pr. 1.000 borgere 65+ i {periode}, "
                    "{sammen} landets {land}.",
                    lower=kst["lower"],
                    upper=kst["upper"],
                    conf=self.conf,
                    texts={
                        "periode": self.periode,
                        "sammen": sammen,
                        "land": fmt_number(land["estimate"], 1),
                    },
                )
            )
        else:
            text = f"Der var under 5 faldulykker i kommunen i {self.periode}; raten vises ikke."
        ci = ci_label(self.conf)
        return [
            Section(
                text=text,
                table=st[["area", "numerator", "denominator", "estimate", "lower", "upper"]],
                table_options=dict(
                    count_cols="numerator",
                    rate_cols={"estimate": "numerator"},
                    derived_cols={"lower": "numerator", "upper": "numerator"},
                    labels={
                        "area": "Område",
                        "numerator": "Faldulykker",
                        "denominator": "Personår 65+",
                        "estimate": "Rate pr. 1.000 (standardiseret)",
                        "lower": f"Nedre {ci}",
                        "upper": f"Øvre {ci}",
                    },
                    decimals={"denominator": 0},
                    caption=(
                        f"Faldulykker blandt borgere 65+, {self.periode}, aldersstandardiseret "
                        "(ESP2013)"
                    ),
                ),
                findings=keys,
            )
        ]

    def its(self) -> list[Section]:
        """The kommune's own interrupted time series (when it started and has enough events)."""
        if self.start is None:
            return [Section(text="Ikke relevant: kommunen har ikke startet faldforebyggelsen.")]
        why = falls.its_check(self.prep, self.kommune, falls.MEASURE, self.start, years=self.years)
        if why:
            return [Section(text=f"Tidsserien for kommunen vises ikke: {why}")]
        self.its_res = res = effects.kommune_its(
            self.prep, self.kommune, falls.MEASURE, self.start, years=self.years, conf=self.conf
        )
        its_mde = falls.effect_mde(res)
        key = key_effect(
            "its_rate_ratio",
            res,
            "Kommunens tidsserie: efter starten var faldulykkerne {value_ci} gange det forventede "
            "niveau uden indsats (rateratio; afbrudt tidsserie). {mde}",
            texts={"mde": narrative.power.mde_text(its_mde)},
            **its_mde.to_dict(),
        )
        fig = figures.its_figure(
            res,
            title=i18n._("Faldulykker blandt borgere 65+ i {navn}").format(
                navn=kommune_display_name(self.kommune)
            ),
        )
        return [
            Section(
                figure=fig,
                after="*Punkter er kommunens rå årsrater; år med 1–4 faldulykker er udeladt af "
                "hensyn til diskretion. Linjerne er modellens månedlige værdier (med "
                f"sæsonudsving). {ITS_CRUDE_NOTE_DA}*",
                findings=[key],
            ),
            Section(text=sentences.its_sentence(res, "faldulykkerne") + " " + narrative.power.mde_text(its_mde)),
        ]

    def its_placebo(self) -> list[Section]:
        """Placebo in time of the kommune's ITS."""
        if self.its_res is None:
            return []
        plac = effects.its_placebo(self.its_res)
        if plac is None:
            return [Section(text="For kort periode før starten til en placebotest.")]
        return [
            Section(
                text=narrative.summarise(plac, self.lang),
                findings=[key_record("its_placebo_passed", bool(plac.passed), kind="text")],
            )
        ]

    def did(self) -> list[Section]:
        """All kommuner: Poisson DiD on counts (main estimate) and its event study."""
        self.panel = panel = falls.national_panel(self.prep, years=self.years)
        did_why = falls.did_check(panel)
        if did_why:
            return [
                Section(
                    text="**Difference-in-differences på tværs af kommuner kan ikke beregnes:** "
                    + did_why
                    + "."
                )
            ]
        self.pdid, _ = falls.national_poisson_did(
            panel, control=self.did_control, conf=self.conf, cache=self.prep
        )
        pdid = self.pdid
        self.prr = pdid.main_effect()
        pdid_mde = falls.effect_mde(pdid)
        pre = pdid.pretest()
        self.n_treated = int((panel.groupby("kommune_code")["first_treated"].first() > 0).sum())
        key = key_effect(
            "did_poisson_rate_ratio",
            pdid,
            "Alle kommuner (difference-in-differences på antal faldulykker mod det forventede "
            "antal ud fra alder og køn): efter start var faldulykkerne {value_ci} gange det "
            "forventede niveau uden faldforebyggelse (rateratio). {mde}",
            texts={"mde": narrative.power.mde_text(pdid_mde)},
            control=self.did_control,
            pretest_p=pre.get("p_value"),
            **pdid_mde.to_dict(),
        )
        fig = pdid.plot(labels=narrative.poisson_did.plot_labels(self.lang))
        theme.finish(fig, title="Faldulykker før og efter start, alle kommuner (event study)")
        fig.axes[0].set_xlabel(tr("År i forhold til første hele år med faldforebyggelse"))
        fig.axes[0].set_ylabel(tr("Rateratio (log-skala)"))
        fig.axes[0].set_title("")
        return [
            Section(
                text=sentences.poisson_did_sentence(pdid, "faldulykkerne")
                + " "
                + narrative.power.mde_text(pdid_mde),
                figure=fig,
                after="*Orange punkter (før start) bør ligge omkring 1, hvis kommunerne fulgte "
                "samme tendens før start; blå punkter er rateratioen 0, 1, 2, … år efter start. "
                "Lodrette streger er samtidige 95 %-konfidensbånd: de dækker alle år på én gang, "
                "så et enkelt punkt uden for 1 ikke er et tilfældigt fund blandt mange. "
                f"{STANDARDISED_NOTE_DA}*",
                findings=[key],
            )
        ]

    def did_robustness(self) -> list[Section]:
        """Callaway & Sant'Anna on the kommuner's rates (every kommune counts equally)."""
        if self.pdid is None:
            return []
        panel = self.panel
        self.did_res, _ = falls.national_did(
            panel, control=self.did_control, conf=self.conf, cache=self.prep
        )
        other: Literal["never", "notyet"] = "never" if self.did_control == "notyet" else "notyet"
        self.did_alt, _ = falls.national_did(panel, control=other, conf=self.conf, cache=self.prep)
        did_res = self.did_res
        att = did_res.main_effect()
        did_ratio = effects.did_rate_ratio(did_res, panel)
        rr = did_ratio.main_effect()
        cs_mde = falls.effect_mde(did_res)
        unit = "faldulykker pr. 1.000 borgere 65+ pr. år (standardiseret)"
        keys = [
            key_effect(
                "did_att",
                did_res,
                "Robusthedstjek (kommunernes alders- og kønsstandardiserede rater, hver kommune "
                "lige meget): raten ændrede sig med {value} faldulykker pr. 1.000 borgere 65+ "
                "pr. år ("
                + ci_label(self.conf)
                + ": {lo} til {hi}), "
                "svarende til en rateratio på ca. {rr}.",
                decimals=1,
                texts={
                    "lo": fmt_number(att["lower"], 1),
                    "hi": fmt_number(att["upper"], 1),
                    "rr": fmt_number(rr["estimate"], 2),
                },
                control=self.did_control,
                pretest_p=did_res.pretest().get("p_value"),
                **cs_mde.to_dict(),
            ),
            key_record(
                "did_rate_ratio",
                float(rr["estimate"]),
                kind="effect",
                lower=float(rr["lower"]),
                upper=float(rr["upper"]),
            ),
        ]
        text = (
            f"**Robusthedstjek (Callaway & Sant'Anna på {STANDARDISED_DA}).** "
            + sentences.did_sentence(did_res, did_ratio, "raten", unit)
            + " "
            + narrative.power.mde_text(cs_mde, unit)
        )
        return [Section(text=text, findings=keys)]

    def own_cohort(self) -> list[Section]:
        """The rate ratio of the kommune's own start cohort in the Poisson DiD."""
        if self.start is None or self.pdid is None:
            return []
        panel = self.panel
        own = int(panel.loc[panel["kommune_code"] == self.kommune, "first_treated"].iloc[0])
        grp = self.pdid.aggregate("group").iloc[1:]
        g = grp[grp["value"] == own]
        if g.empty:
            return []
        g = g.iloc[0]
        return [
            Section(
                text=f"Kommunens egen startårgang ({own}): rateratio "
                f"{fmt_number(g['rate_ratio'], 2)} ({ci_label(self.conf)}: "
                f"{interval(g['rr_lower'], g['rr_upper'], 2)})."
            )
        ]

    def contrast(self) -> list[Section]:
        """Main estimate, both CS control groups and TWFE side by side."""
        if self.pdid is None:
            return []
        twfe_res, twfe_warn = falls.twfe_contrast(self.panel, conf=self.conf, cache=self.prep)
        prr = self.prr
        rows = [
            dict(
                analysis="Poisson DiD på antal mod forventet antal ud fra alder og køn "
                "(hovedanalyse)",
                measure="Rateratio",
                estimate=prr["estimate"],
                lower=prr["lower"],
                upper=prr["upper"],
                p_value=prr["p_value"],
            )
        ]
        other = "never" if self.did_control == "notyet" else "notyet"
        for label, r in (
            (
                f"Callaway & Sant'Anna, sammenlignet med {CONTROL_DA[self.did_control]}",
                self.did_res,
            ),
            (f"Callaway & Sant'Anna, sammenlignet med {CONTROL_DA[other]}", self.did_alt),
            ("TWFE (kun som kontrast)", twfe_res),
        ):
            m = r.main_effect()
            rows.append(
                dict(
                    analysis=label,
                    measure="Ændring i standardiseret rate pr. 1.000 65+ pr. år",
                    estimate=m["estimate"],
                    lower=m["lower"],
                    upper=m["upper"],
                    p_value=m["p_value"],
                )
            )
        ci = ci_label(self.conf)
        return [
            Section(
                table=pd.DataFrame(rows),
                table_options=dict(
                    labels={
                        "analysis": "Analyse",
                        "measure": "Mål",
                        "estimate": "Estimat",
                        "lower": f"Nedre {ci}",
                        "upper": f"Øvre {ci}",
                        "p_value": "p-værdi",
                    },
                    decimals={"estimate": 2, "lower": 2, "upper": 2, "p_value": 3},
                    caption="Faldforebyggelsens effekt på tværs af kommuner "
                    f"({self.n_treated} kommuner med programmet)",
                    notes=[STANDARDISED_NOTE_DA],
                ),
                after="*TWFE-modellen advarer selv: programmet startede på flere tidspunkter, så "
                "estimatet kan være skævt, når effekten varierer over tid. Det vises kun til "
                "sammenligning.*"
                if twfe_warn
                else None,
            )
        ]

    def cohort(self) -> list[Section]:
        """Participants vs comparable non-participants (IPTW, ATT) on ``cohort_scope``."""
        scope_name = Area.of(self.cohort_scope, self.kommune).name
        if self.start is None:
            return [Section(text="Ikke relevant: kommunen har ikke startet faldforebyggelsen.")]
        self.coh = coh = falls.participant_cohort(self.prep, self.kommune, self.cohort_scope)
        chk = falls.cohort_check(coh)
        if not chk.ok:
            return [
                Section(text=f"Sammenligningen for {scope_name} er ikke mulig: {chk.reason_da}")
            ]
        self.coh_res = res = falls.cohort_iptw(coh, conf=self.conf, cache=self.prep)
        tab = falls.cohort_effect_table(res)
        tab["analysis"] = tab["analysis"].map(falls_analysis_label)
        t = res.table().set_index("term")
        coh_mde = falls.effect_mde(res)
        mde_text = narrative.power.mde_text(coh_mde).replace("en rateratio", "en risikoratio")
        key = key_effect(
            "cohort_risk_ratio",
            res,
            "Deltagere mod sammenlignelige ikke-deltagere ({omraade}): risikoratio for faldulykke "
            "inden for et år {value_ci} efter justering (ujusteret {naiv}); E-værdi {e}. {mde}",
            texts={
                "omraade": scope_name,
                "naiv": fmt_number(t.at["naive_risk_ratio", "estimate"], 2),
                "e": fmt_number(t.at["risk_ratio", "e_value"], 2),
                "mde": mde_text,
            },
            scope=self.cohort_scope,
            naive_risk_ratio=float(t.at["naive_risk_ratio", "estimate"]),
            e_value=float(t.at["risk_ratio", "e_value"]),
            **coh_mde.to_dict(),
        )
        ci = ci_label(self.conf)
        table = Section(
            table=tab,
            table_options=dict(
                count_cols=["participants", "non_participants"],
                labels={
                    "analysis": "Sammenligning",
                    "participants": "Deltagere",
                    "non_participants": "Ikke-deltagere",
                    "risk_participants": "Risiko, deltagere (%)",
                    "risk_non_participants": "Risiko, ikke-deltagere (%)",
                    "estimate": "Risikoratio",
                    "lower": f"Nedre {ci}",
                    "upper": f"Øvre {ci}",
                    "e_value": "E-værdi",
                },
                decimals={
                    "estimate": 2,
                    "lower": 2,
                    "upper": 2,
                    "e_value": 2,
                    "risk_participants": 2,
                    "risk_non_participants": 2,
                },
                caption=f"Faldulykke inden for et år: deltagere mod ikke-deltagere, {scope_name}",
                notes=[
                    "Justeret: ikke-deltagerne er vægtet, så de ligner deltagerne (effekten "
                    "blandt deltagerne, ATT).",
                    "E-værdien: hvor stærkt en umålt faktor skulle hænge sammen med både "
                    "deltagelse og faldulykker (som risikoratio) for at forklare resultatet væk.",
                ],
            ),
            findings=[key],
        )
        return [
            table,
            Section(
                text=mde_text,
                figure=figures.falls_love_plot(res),
                after="*Standardiserede forskelle mellem deltagere og ikke-deltagere før (åbne "
                "cirkler) og efter vægtning (ruder). Under 0,1 (stiplet linje) regnes grupperne "
                "for sammenlignelige på den pågældende faktor. Kun målte faktorer kan udlignes.*",
            ),
        ]

    def negative_control(self) -> list[Section]:
        """Negative-control outcome of the participant comparison."""
        if self.coh_res is None:
            return []
        self.nc_res = nc_res = falls.negative_control(self.coh, conf=self.conf, cache=self.prep)
        if nc_res is None:
            return [
                Section(
                    text="*Negativ kontrol: datagrundlaget er forberedt med en ældre version uden "
                    "kontroludfaldet; kør `nsv-eval prepare` igen.*"
                )
            ]
        ncm = nc_res.main_effect()
        self.nc_flag = bool(ncm["upper"] < 1 or ncm["lower"] > 1)
        tolkning = (
            "deltagerne har flere af disse indlæggelser, så sammenligningen er skæv mod "
            "»ingen effekt« eller »skade«"
            if ncm["lower"] > 1
            else "deltagerne har færre af disse indlæggelser, så sammenligningen er skæv "
            "mod en for gunstig effekt"
            if ncm["upper"] < 1
            else "ingen tegn på skævhed i denne test"
        )
        key = key_result(
            "cohort_negative_control_rr",
            float(ncm["estimate"]),
            "Negativ kontrol for deltagersammenligningen (akutte indlæggelser uden faldskade, som "
            "programmet ikke kan påvirke): risikoratio {value_ci}; {tolkning}.",
            kind="effect",
            lower=float(ncm["lower"]),
            upper=float(ncm["upper"]),
            conf=self.conf,
            decimals=2,
            texts={"tolkning": tolkning},
            outcome=falls.NEGATIVE_CONTROL,
            bias_flagged=self.nc_flag,
            label_da="Negativ kontrol: risikoratio",
        )
        return [Section(text=sentences.negative_control_sentence(nc_res), findings=[key])]

    def verdict(self) -> list[Section]:
        """The overall verdict: ITS and DiD triangulated, the cohort and its negative control."""
        figure = None
        if self.its_res is not None:
            tri = effects.triangulation(
                [self.its_res, self.pdid],
                ["Tidsserie (kommunen)", "Difference-in-differences (alle kommuner)"],
            )
            verdict = sentences.verdict_sentence(tri, "faldforebyggelsens effekt")
            if tri.result is not None:
                figure = figures.forest_plot(
                    tri, title="Faldulykker efter start: rateratio i to designs"
                )
        else:
            tri = None
            verdict = self._verdict_without_its()
        if self.coh_res is not None:
            crr = self.coh_res.main_effect()
            verdict += (
                " Blandt deltagerne var risikoen for en faldulykke "
                f"{fmt_number(crr['estimate'], 2)} gange risikoen hos sammenlignelige "
                f"ikke-deltagere ({ci_label(self.conf)}: {interval(crr['lower'], crr['upper'], 2)})"
                + (
                    "; dette kan dog være påvirket af, at deltagerne er skrøbeligere på måder, "
                    "data ikke viser."
                    if crr["upper"] >= 1
                    else "."
                )
            )
            if self.nc_res is not None and self.nc_flag:
                verdict += (
                    " Den negative kontrol viser, at deltagersammenligningen er skæv; den bør "
                    "ikke bruges alene."
                )
        key = key_result(
            "verdict", verdict, "{value}", kind="text", verdict=None if tri is None else tri.verdict
        )
        return [Section(findings=[key], figure=figure), Section(text=verdict)]

    def _verdict_without_its(self) -> str:
        grund = (
            "Kommunen har ikke startet faldforebyggelse"
            if self.start is None
            else "Kommunens egen tidsserie er for lille til en analyse"
        )
        if self.prr is None:
            return (
                f"{grund}, og den landsdækkende analyse kan ikke beregnes for denne periode; "
                "effekten kan derfor ikke vurderes."
            )
        return f"{grund}; vurderingen bygger derfor på den landsdækkende analyse." + (
            " Den finder et sikkert fald i kommuner med programmet."
            if self.prr["upper"] < 1
            else " Den kan ikke udelukke, at programmet ingen effekt har haft."
        )
