"""Study 2 (*Kommuneprofil*): the sections of ``02_kommuneprofil.ipynb``.

The numbers come from :mod:`nsv_eval.analyses.profile`; this module words the notes on
values that cannot be estimated (:func:`with_notes`), the key results and the tables, and
draws the figures (:mod:`nsv_eval.report.figures`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nsv_eval.analyses import profile
from nsv_eval.analyses.catalogue import NOT_IN_DATA_DA, for_manifest
from nsv_eval.analyses.data import Prepared
from nsv_eval.report import figures
from nsv_eval.report.estimable import not_estimable_da
from nsv_eval.report.format import fmt_number
from nsv_eval.report.narrative import ci_label
from nsv_eval.report.narrative.indicators import COMPARISON_DA
from nsv_eval.report.sections import Section, key_result

FUNNEL_INDICATORS = ("preventable_65", "readmission_65", "fall_injury_65")
SEX_DA = {"M": "mænd", "F": "kvinder"}


def _note(reason: object) -> str:
    if not isinstance(reason, dict):
        return ""
    fields = dict(reason)
    return not_estimable_da(str(fields.pop("what")), str(fields.pop("reason")), **fields)


def with_notes(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its ``note_reason`` column (from :mod:`nsv_eval.analyses.profile`) replaced,
    in place, by ``note``: the Danish sentence on why a value cannot be estimated, ``""``
    when it can (:func:`nsv_eval.report.estimable.not_estimable_da`)."""
    out = df.copy()
    loc = out.columns.get_loc("note_reason")
    note = out.pop("note_reason").map(_note)
    out.insert(loc, "note", note)
    return out


def profile_table(prep: Prepared, kommune: int, years: Sequence[int]) -> pd.DataFrame:
    """:func:`nsv_eval.analyses.profile.profile_table` with the ``note`` and the comparison
    categories worded (``vs_region``, ``vs_land``, ``isr_category``: lavere/som/højere)."""
    tab = with_notes(profile.profile_table(prep, kommune, years))
    for col in ("vs_region", "vs_land", "isr_category"):
        tab[col] = tab[col].map(COMPARISON_DA)
    return tab


def life_expectancy_table(prep: Prepared, kommune: int, years: Sequence[int]) -> pd.DataFrame:
    """:func:`nsv_eval.analyses.profile.life_expectancy_table` with the ``note`` worded."""
    return with_notes(profile.life_expectancy_table(prep, kommune, years))


def survey_table(prep: Prepared, kommune: int, year: int | None = None) -> pd.DataFrame:
    """:func:`nsv_eval.analyses.profile.survey_table` with the ``note`` worded."""
    return with_notes(profile.survey_table(prep, kommune, year))


def periode_text(years: Sequence[int]) -> str:
    """``"2022–2024"`` (or one year)."""
    return f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])


def overview(
    prep: Prepared, kommune: int, years: Sequence[int], *, navn: str, conf: float = 0.95
) -> list[Section]:
    """Key result per indicator and the overview table."""
    periode = periode_text(years)
    tab = profile_table(prep, kommune, years)
    keys = []
    for _, r in tab.iterrows():
        if pd.isna(r["estimate"]):  # `note` says why (no denominator, no or too few events)
            keys.append(
                key_result(r["indicator"], None, "{note}", kind="text", texts={"note": r["note"]})
            )
            continue
        keys.append(
            key_result(
                r["indicator"],
                r["estimate"],
                "{label}: {value_ci} {unit} i {periode}; regionen {region}, landet {land}. "
                "Alders- og kønsstandardiseret ligger kommunen {kategori} landsgennemsnittet.",
                lower=r["lower"],
                upper=r["upper"],
                conf=conf,
                texts={
                    "label": r["label"],
                    "unit": r["unit"],
                    "periode": periode,
                    "region": fmt_number(r["region"], 1),
                    "land": fmt_number(r["land"], 1),
                    "kategori": {"lavere": "under", "som": "på niveau med", "højere": "over"}.get(
                        r["isr_category"], "uden sammenligning med"
                    ),
                },
                isr=r["isr"],
                isr_lower=r["isr_lower"],
                isr_upper=r["isr_upper"],
            )
        )
    cols = ["label", "numerator", "estimate", "lower", "upper", "region", "land", "vs_region"]
    return [
        Section(
            table=tab[[*cols, "isr", "isr_category"]],
            table_options=dict(
                count_cols="numerator",
                rate_cols={"estimate": "numerator"},
                derived_cols={"lower": "numerator", "upper": "numerator", "isr": "numerator"},
                labels={
                    "label": "Indikator",
                    "numerator": "Antal hændelser",
                    "estimate": "Kommunen",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                    "region": "Regionen",
                    "land": "Landet",
                    "vs_region": "Mod regionen",
                    "isr": "Standardiseret ratio (landet = 100)",
                    "isr_category": "Mod landet",
                },
                caption=(
                    f"Indikatorer for {navn}, {periode} (rater aldersstandardiseret til ESP2013)"
                ),
                notes=[
                    "Enheder: forebyggelige indlæggelser, korttidsindlæggelser, faldulykker og "
                    "hoftebrud pr. 1.000 borgere 65+ pr. år; genindlæggelser i % af "
                    "indlæggelser; akutte indlæggelser blandt borgere med KOL eller type "
                    "2-diabetes pr. 1.000 borgere med sygdommen pr. år (rå rate, som i "
                    "definitionen); hjertesvigt pr. 100.000 borgere pr. år.",
                ],
            ),
            findings=keys,
        )
    ]


def trends(prep: Prepared, kommune: int, period_start: int, period_end: int) -> list[Section]:
    """One trend figure per indicator (kommune, region, country), under the definition
    variants the data were prepared with (:func:`nsv_eval.analyses.catalogue.for_manifest`)."""
    years = range(period_start, period_end + 1)
    return [
        Section(figure=figures.trend_plot(prep, key, kommune, years=years))
        for key in for_manifest(prep.manifest)
    ]


def funnels(prep: Prepared, kommune: int, years: Sequence[int]) -> list[Section]:
    """Funnel plots of the standardised ratio for the three headline indicators."""
    return [Section(figure=figures.funnel(prep, key, kommune, years)) for key in FUNNEL_INDICATORS]


def life_expectancy(
    prep: Prepared, kommune: int, period_end: int, *, conf: float = 0.95
) -> list[Section]:
    """Key results, notes and table of life expectancy over the last five years."""
    le_years = list(range(period_end - 4, period_end + 1))
    periode = f"{le_years[0]}–{le_years[-1]}"
    le = life_expectancy_table(prep, kommune, le_years)
    own = le[le["level"] == "kommune"].dropna(subset=["estimate"])
    landet = le[le["level"] == "land"].set_index("sex")
    bedste = le[le["level"] == "bedste"].set_index("sex")
    keys = [
        key_result(
            f"life_expectancy_{r['sex']}",
            r["estimate"],
            "Middellevetiden for {kon} i kommunen er {value_ci} år ({periode}), mod {land} år i "
            "hele landet og {bedste} år i {bedste_navn}.",
            lower=r["lower"],
            upper=r["upper"],
            texts={
                "kon": SEX_DA[r["sex"]],
                "periode": periode,
                "land": fmt_number(landet.at[r["sex"], "estimate"], 1),
                "bedste": fmt_number(bedste.at[r["sex"], "estimate"], 1),
                "bedste_navn": bedste.at[r["sex"], "area"],
            },
        )
        for _, r in own.iterrows()
    ]
    mangler = le.loc[le["note"] != "", "note"]  # why a value cannot be estimated
    return [
        Section(
            text=" ".join(mangler) or None,
            table=le.drop(columns="note").assign(sex=le["sex"].map({"M": "Mænd", "F": "Kvinder"})),
            table_options=dict(
                labels={
                    "sex": "Køn",
                    "level": "Niveau",
                    "area": "Område",
                    "estimate": "Middellevetid (år)",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                value_labels={
                    "level": {
                        "kommune": "Kommunen",
                        "region": "Regionen",
                        "land": "Landet",
                        "bedste": "Højeste kommune",
                        "laveste": "Laveste kommune",
                    }
                },
                caption=f"Middellevetid ved fødslen, {periode} (Chiang II-dødelighedstavle)",
            ),
            findings=keys,
        )
    ]


def survey(prep: Prepared, kommune: int, *, conf: float = 0.95) -> list[Section]:
    """Key result (daily smokers), notes and table of the Sundhedsprofil indicators."""
    sv = survey_table(prep, kommune)
    k = sv[sv["level"] == "kommune"].set_index("indicator")
    keys = []
    if "daily_smoker" in k.index and k.at["daily_smoker", "respondents"] >= profile.MIN_RESPONDENTS:
        keys.append(
            key_result(
                "daily_smoker",
                k.at["daily_smoker", "estimate"],
                "I Sundhedsprofilen {aar} ryger {value_ci} % af kommunens voksne dagligt.",
                lower=k.at["daily_smoker", "lower"],
                upper=k.at["daily_smoker", "upper"],
                texts={"aar": str(int(k.at["daily_smoker", "year"]))},
            )
        )
    mangler = sv.loc[(sv["level"] == "kommune") & (sv["note"] != ""), "note"]
    return [
        Section(
            text=" ".join(mangler) or None,
            table=sv[["label", "area", "respondents", "estimate", "lower", "upper"]],
            table_options=dict(
                count_cols="respondents",
                derived_cols={
                    "estimate": "respondents",
                    "lower": "respondents",
                    "upper": "respondents",
                },
                labels={
                    "label": "Indikator",
                    "area": "Område",
                    "respondents": "Antal svarpersoner",
                    "estimate": "Andel (%) / score",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                caption=f"Sundhedsprofilen {int(sv['year'].iloc[0])}, vægtede andele",
            ),
            findings=keys,
        )
    ]


def not_in_data() -> list[Section]:
    """The indicators of the strategy that need other extracts."""
    return [Section(text="\n".join(f"- {t}" for t in NOT_IN_DATA_DA))]
