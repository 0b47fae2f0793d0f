"""Study 6 (*Ulighed i sundhed*): the sections of ``06_ulighed.ipynb``.

The numbers come from :mod:`nsv_eval.analyses.gradients` (rates by education and income,
SII/RII over time, the survey by education — renamed from ``analyses/inequality.py`` so it
is not confused with :mod:`nsv_eval.stats.indicators.inequality`, the SII estimator); this
module words the key results, lays out the tables and draws the figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nsv_eval.analyses import gradients
from nsv_eval.analyses.data import Area, Prepared
from nsv_eval.reference import EDUCATION_LABELS_DA
from nsv_eval.report import figures
from nsv_eval.report.format import fmt_number
from nsv_eval.report.i18n import translated
from nsv_eval.report.labels import area_label, gradient_outcome_label, survey_label
from nsv_eval.report.narrative import ci_label
from nsv_eval.report.sections import Section, key_result

OUTCOMES = ("deaths", "preventable", "fall_injury")
"""Outcomes by education (keys of :data:`nsv_eval.analyses.gradients.OUTCOMES`)."""


def rates_by_education(
    prep: Prepared,
    kommune: int,
    area: Area,
    years: Sequence[int],
    *,
    period_length: int,
    conf: float = 0.95,
) -> tuple[dict[str, pd.DataFrame], list[Section]]:
    """Rates by education per outcome (returned for :func:`sii`), a figure per outcome and
    the table of preventable admissions in the last period."""
    results: dict[str, pd.DataFrame] = {}
    sections = []
    for key in OUTCOMES:
        label = translated(gradient_outcome_label(key))
        r = gradients.rates_by_group(
            prep, key, kommune, level=area.level, years=years, period_length=period_length
        )
        results[key] = r
        sections.append(
            Section(
                figure=figures.group_rates_figure(r, label=label, area_name=area_label(area.name))
            )
        )
    last = sorted(results["deaths"]["period"].unique())[-1]
    tab = results["preventable"]
    sections.append(
        Section(
            text=(
                "Punkterne er aldersstandardiserede rater (Europas standardbefolkning 2013) med "
                f"{ci_label(conf).removesuffix('KI')}konfidensinterval. Rater beregnet på 1–4 hændelser er "
                "udeladt af hensyn til diskretion."
            ),
            table=tab[tab["period"] == last][
                ["education", "numerator", "person_years", "estimate", "lower", "upper"]
            ],
            table_options=dict(
                count_cols="numerator",
                rate_cols={"estimate": "numerator"},
                derived_cols={"lower": "numerator", "upper": "numerator"},
                value_labels={"education": dict(EDUCATION_LABELS_DA)},
                labels={
                    "education": "Uddannelse",
                    "numerator": "Antal indlæggelser",
                    "person_years": "Personår",
                    "estimate": "Rate pr. 1.000",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                decimals={"person_years": 0, "estimate": 1, "lower": 1, "upper": 1},
                caption=(
                    f"Forebyggelige indlæggelser blandt 65+ efter uddannelse, {area.name}, {last}"
                ),
            ),
        )
    )
    return results, sections


def _sii_change(first: pd.Series, last: pd.Series) -> str:
    """Whether the absolute inequality shrank or grew, and whether the intervals overlap."""
    change = "mindsket" if last["estimate"] < first["estimate"] else "øget"
    if last["lower"] <= first["upper"] and first["lower"] <= last["upper"]:
        change += ", men intervallerne overlapper, så ændringen er ikke statistisk sikker"
    return change


def sii(
    results: dict[str, pd.DataFrame], area: Area, *, reps: int, conf: float = 0.95
) -> list[Section]:
    """SII/RII per outcome and period: key result on mortality, figure and table."""
    sii_rows = []
    for key, r in results.items():
        s = gradients.sii_trend(r, reps=reps)
        s["outcome"] = gradient_outcome_label(key)
        s["key"] = key
        sii_rows.append(s)
    sii_all = pd.concat(sii_rows, ignore_index=True)
    d = sii_all[sii_all["key"] == "deaths"].dropna(subset=["estimate"]).sort_values("period")
    keys = []
    if len(d) >= 2:
        first, lastrow = d.iloc[0], d.iloc[-1]
        keys.append(
            key_result(
                "sii_deaths_last",
                lastrow["estimate"],
                "Uligheden i dødelighed efter uddannelse ({omraade}) svarer i {periode} til "
                "{value_ci} flere dødsfald pr. 1.000 personår i den kortest uddannede ende af "
                "befolkningen end i den længst uddannede; i {foerste} var forskellen "
                "{foerste_vaerdi}. Den absolutte ulighed er dermed {retning}.",
                lower=lastrow["lower"],
                upper=lastrow["upper"],
                texts={
                    "omraade": area.name,
                    "periode": lastrow["period"],
                    "foerste": first["period"],
                    "foerste_vaerdi": fmt_number(first["estimate"], 1),
                    "retning": _sii_change(first, lastrow),
                },
                rii=lastrow["rii"],
            )
        )
    cols = ["outcome", "period", "estimate", "lower", "upper", "rii", "rii_lower", "rii_upper"]
    return [
        Section(
            figure=figures.sii_figure(sii_all, area_name=area_label(area.name)), findings=keys
        ),
        Section(
            table=sii_all[cols],
            table_options=dict(
                labels={
                    "outcome": "Udfald",
                    "period": "Periode",
                    "estimate": "SII",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                    "rii": "RII",
                    "rii_lower": "RII nedre",
                    "rii_upper": "RII øvre",
                },
                decimals=2,
                caption="Hældnings- og relativt indeks for ulighed (uddannelse)",
            ),
        ),
    ]


def income(
    prep: Prepared,
    kommune: int,
    area: Area,
    years: Sequence[int],
    *,
    period_length: int,
    conf: float = 0.95,
) -> list[Section]:
    """Standardised mortality by income quintile in the last period."""
    inc = gradients.rates_by_group(
        prep,
        "deaths",
        kommune,
        level=area.level,
        group="income_quintile",
        years=years,
        period_length=period_length,
    )
    inc_last = inc[inc["period"] == inc["period"].max()]
    return [
        Section(
            table=inc_last[["income_quintile", "numerator", "estimate", "lower", "upper"]],
            table_options=dict(
                count_cols="numerator",
                rate_cols={"estimate": "numerator"},
                derived_cols={"lower": "numerator", "upper": "numerator"},
                labels={
                    "income_quintile": "Indkomstkvintil",
                    "numerator": "Antal dødsfald",
                    "estimate": "Dødelighed pr. 1.000",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                year_cols=("income_quintile",),
                caption=(
                    "Aldersstandardiseret dødelighed efter indkomst, "
                    f"{area.name}, {inc_last['period'].iloc[0]}"
                ),
            ),
        )
    ]


def survey(prep: Prepared, kommune: int, *, conf: float = 0.95) -> list[Section]:
    """Sundhedsprofil indicators by education (whole country): smoking gap, figure, table."""
    sv = gradients.survey_by_education(prep, kommune, level="land")
    sv["label"] = sv["indicator"].map(survey_label)
    latest = int(sv["year"].max())
    smk = sv[(sv["indicator"] == "daily_smoker") & (sv["year"] == latest)].set_index("education")
    keys = []
    if {"grundskole", "lang"} <= set(map(str, smk.index)):
        keys.append(
            key_result(
                "smoking_gap",
                smk.loc["grundskole", "estimate"] - smk.loc["lang", "estimate"],
                "I Sundhedsprofilen {aar} ryger {lav} % af voksne med grundskole som højeste "
                "uddannelse dagligt mod {hoej} % med en lang uddannelse (hele landet): en "
                "forskel på {value} procentpoint.",
                texts={
                    "aar": str(latest),
                    "lav": fmt_number(smk.loc["grundskole", "estimate"], 1),
                    "hoej": fmt_number(smk.loc["lang", "estimate"], 1),
                },
            )
        )
    cols = ["label", "education", "respondents", "estimate", "lower", "upper"]
    return [
        Section(figure=figures.survey_by_education_figure(sv), findings=keys),
        Section(
            table=sv[sv["year"] == latest][cols],
            table_options=dict(
                count_cols="respondents",
                derived_cols={
                    "estimate": "respondents",
                    "lower": "respondents",
                    "upper": "respondents",
                },
                value_labels={"education": dict(EDUCATION_LABELS_DA)},
                labels={
                    "label": "Indikator",
                    "education": "Uddannelse",
                    "respondents": "Antal svarpersoner",
                    "estimate": "Andel (%)",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                caption=f"Sundhedsprofilen {latest} efter uddannelse, hele landet",
            ),
        ),
    ]
