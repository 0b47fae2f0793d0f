"""Label tables per report language: the words a reader sees for the codes that
:mod:`nsv_eval.analyses` returns (covariate terms of the cohort designs, the follow-up
visit flag, the rows of the cohort effect tables, education levels, region names).

The analyses layer holds no words (``ARCHITECTURE.md``, layer 4); it returns codes such as
``"prior_falls_365d"``, ``"education[kort]"`` or ``True`` (visit) and the study sections
and figures look the label up here in the report language (:func:`nsv_eval.report.i18n.
get_lang` unless ``lang`` is given). The Danish tables are the texts the reports have
always shown (moved from ``analyses/falls.py`` and ``analyses/readmissions.py``); English
reports get the English table. A code without a label is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from nsv_eval.analyses.data import Area
from nsv_eval.analyses.readmissions import VISIT_GROUPS
from nsv_eval.reference import EDUCATION_LABELS_DA, REGIONS, kommune_name
from nsv_eval.report.i18n import get_lang

EDUCATION_LABELS: dict[str, dict[str, str]] = {
    "da": dict(EDUCATION_LABELS_DA),
    "en": {
        "grundskole": "Primary school",
        "kort": "Short education",
        "mellemlang": "Medium-length education",
        "lang": "Long education",
        "ukendt": "Unknown",
    },
}
"""Education levels (``reference.EDUCATION_LEVELS`` + ``ukendt``)."""

REGION_NAMES_EN: dict[int, str] = {
    1081: "North Denmark Region",
    1082: "Central Denmark Region",
    1083: "Region of Southern Denmark",
    1084: "Capital Region of Denmark",
    1085: "Region Zealand",
}
"""The regions' own English names (as on regionh.dk, regionsjaelland.dk, rm.dk, rn.dk,
regionsyddanmark.dk)."""

VISIT_LABELS: dict[str, dict[str, str]] = {
    "da": {"with_visit": "Med besøg", "without_visit": "Uden besøg"},
    "en": {"with_visit": "With visit", "without_visit": "Without visit"},
}
"""The follow-up home visit groups of study 4 (codes of
:data:`nsv_eval.analyses.readmissions.VISIT_GROUPS`)."""

FALLS_COVARIATE_LABELS: dict[str, dict[str, str]] = {
    "da": {
        "age": "Alder",
        "sex[M]": "Mand",
        "living_alone": "Bor alene",
        "home_care": "Hjemmehjælp",
        "prior_falls_365d": "Registrerede fald sidste år",
        "prior_fall_injury_365d": "Faldulykker sidste år",
        "prior_admissions_365d": "Akutte indlæggelser sidste år",
        "index_year": "Kalenderår",
        "kommune": "Kommune (største forskel)",
        **{f"education[{k}]": v for k, v in EDUCATION_LABELS["da"].items()},
        **{f"income[{q}]": f"Indkomstkvintil {q}" for q in range(1, 6)},
    },
    "en": {
        "age": "Age",
        "sex[M]": "Male",
        "living_alone": "Lives alone",
        "home_care": "Home care",
        "prior_falls_365d": "Registered falls last year",
        "prior_fall_injury_365d": "Fall injuries last year",
        "prior_admissions_365d": "Acute admissions last year",
        "index_year": "Calendar year",
        "kommune": "Municipality (largest difference)",
        **{f"education[{k}]": v for k, v in EDUCATION_LABELS["en"].items()},
        **{f"income[{q}]": f"Income quintile {q}" for q in range(1, 6)},
    },
}
"""Design-matrix columns of the falls participant cohort (balance plot; ``kommune`` is the
row :func:`nsv_eval.analyses.falls.balance_table` makes of the kommune dummies)."""

FALLS_ANALYSIS_LABELS: dict[str, dict[str, str]] = {
    "da": {"naive": "Ujusteret (rå sammenligning)", "adjusted": "Justeret (IPTW)"},
    "en": {"naive": "Unadjusted (crude comparison)", "adjusted": "Adjusted (IPTW)"},
}
"""Rows of :func:`nsv_eval.analyses.falls.cohort_effect_table` (column ``analysis``)."""

READMISSION_COVARIATE_LABELS: dict[str, dict[str, str]] = {
    "da": {
        "age": "Alder (år)",
        "sex": "Køn",
        "sex[M]": "Mand",
        "education": "Uddannelse",
        "income_quintile": "Indkomstkvintil (1 = laveste)",
        "living_alone": "Bor alene",
        "home_care": "Hjemmehjælp ved udskrivelsen",
        "home_nursing": "Hjemmesygepleje ved udskrivelsen",
        "prior_admissions": "Akutte indlæggelser seneste år",
        "los_days": "Indlæggelsens længde (dage)",
    },
    "en": {
        "age": "Age (years)",
        "sex": "Sex",
        "sex[M]": "Male",
        "education": "Education",
        "income_quintile": "Income quintile (1 = lowest)",
        "living_alone": "Lives alone",
        "home_care": "Home care at discharge",
        "home_nursing": "Home nursing at discharge",
        "prior_admissions": "Acute admissions in the past year",
        "los_days": "Length of stay (days)",
    },
}
"""Covariates of the follow-up-visit propensity model (study 4)."""

READMISSION_MEASURE_LABELS: dict[str, dict[str, str]] = {
    "da": {
        "risk_treated": "Risiko med besøg (%)",
        "risk_control": "Risiko uden besøg (%)",
        "risk_difference": "Risikoforskel (procentpoint)",
        "risk_ratio": "Risikoratio",
    },
    "en": {
        "risk_treated": "Risk with visit (%)",
        "risk_control": "Risk without visit (%)",
        "risk_difference": "Risk difference (percentage points)",
        "risk_ratio": "Risk ratio",
    },
}
"""Rows of :func:`nsv_eval.analyses.readmissions.effect_table` (column ``measure``)."""


GRADIENT_OUTCOME_LABELS: dict[str, dict[str, str]] = {
    "da": {
        "deaths": "Dødelighed (pr. 1.000 personår, aldersstandardiseret)",
        "preventable": "Forebyggelige indlæggelser, 65+ (pr. 1.000)",
        "admissions_acute": "Akutte indlæggelser (pr. 1.000)",
        "fall_injury": "Faldulykker, 65+ (pr. 1.000)",
    },
    "en": {
        "deaths": "Mortality (per 1,000 person-years, age-standardised)",
        "preventable": "Preventable admissions, 65+ (per 1,000)",
        "admissions_acute": "Acute admissions (per 1,000)",
        "fall_injury": "Fall injuries, 65+ (per 1,000)",
    },
}
"""Outcomes of the social gradients (keys of :data:`nsv_eval.analyses.gradients.OUTCOMES`)."""

SURVEY_LABELS: dict[str, dict[str, str]] = {
    "da": {
        "srh_good": "Godt selvvurderet helbred (%)",
        "daily_smoker": "Ryger dagligt (%)",
        "lonely": "Ofte uønsket alene (%)",
    },
    "en": {
        "srh_good": "Good self-rated health (%)",
        "daily_smoker": "Smokes daily (%)",
        "lonely": "Often involuntarily alone (%)",
    },
}
"""Sundhedsprofil indicators (:data:`nsv_eval.analyses.gradients.SURVEY_INDICATORS`)."""


REJECT_REASONS_DA: dict[str, str] = {
    "malformed_row": "Linjen kunne ikke deles i kolonner",
    "missing_value": "Manglende værdi",
    "bad_date": "Ugyldig dato",
    "bad_number": "Ikke et tal",
    "negative_count": "Negativt antal",
    "out_of_range": "Uden for det mulige interval",
    "unknown_kommune": "Ukendt kommunekode",
    "invalid_icd10": "Ugyldig ICD-10-kode",
    "invalid_cpr": "Ugyldigt CPR-nummer",
    "cpr_mismatch": "Fødselsdato eller køn passer ikke med CPR-nummeret",
    "cpr_in_text": "CPR-nummer i en kolonne, der ikke må indeholde det",
    "future_date": "Dato efter udtrækkets dato",
    "unknown_category": "Ukendt kategori",
    "discharge_before_admission": "Udskrivning før indlæggelse",
    "end_before_start": "Slutdato før startdato",
    "death_before_birth": "Dødsdato før fødselsdato",
    "duplicate_key": "Dublet med afvigende værdier",
}
"""Danish wording of the reject reason codes of :mod:`nsv_eval.ingest` (study 1; moved from
``analyses/dataquality.py``). English reports look the Danish text up in the catalogue
(``REASONS`` of :mod:`nsv_eval.report.texts_en`), as study 1 always did."""


def _lang(lang: str | None) -> str:
    return lang or get_lang()


def _pick(table: Mapping[str, Mapping], lang: str | None) -> Mapping:
    lg = _lang(lang)
    if lg not in table:
        raise ValueError(f"no labels in language {lg!r} (have {', '.join(table)})")
    return table[lg]


def gradient_outcome_label(key: str, lang: str | None = None) -> str:
    """An outcome of the social gradients (``"deaths"``) in the report language."""
    return str(_pick(GRADIENT_OUTCOME_LABELS, lang).get(key, key))


def survey_label(indicator: str, lang: str | None = None) -> str:
    """A Sundhedsprofil indicator (``"daily_smoker"``) in the report language."""
    return str(_pick(SURVEY_LABELS, lang).get(indicator, indicator))


def education_label(level: str, lang: str | None = None) -> str:
    """An education level (``"kort"``) in the report language."""
    return str(_pick(EDUCATION_LABELS, lang).get(str(level), level))


def visit_label(group: str | bool, lang: str | None = None) -> str:
    """``"Med besøg"`` / ``"Uden besøg"`` (or English) for a follow-up visit group: its code
    (``"with_visit"``) or the visit flag (``True``)."""
    code = VISIT_GROUPS[bool(group)] if isinstance(group, bool) else str(group)
    return str(_pick(VISIT_LABELS, lang)[code])


def falls_covariate_label(term: str, lang: str | None = None) -> str:
    """A design-matrix column of the falls cohort (``"income[2]"``) in the report language."""
    return str(_pick(FALLS_COVARIATE_LABELS, lang).get(term, term))


def falls_analysis_label(code: str, lang: str | None = None) -> str:
    """A row of the falls cohort's effect table (``"naive"``, ``"adjusted"``)."""
    return str(_pick(FALLS_ANALYSIS_LABELS, lang).get(code, code))


def readmission_measure_label(code: str, lang: str | None = None) -> str:
    """A row of study 4's effect table (``"risk_ratio"``, …) in the report language."""
    return str(_pick(READMISSION_MEASURE_LABELS, lang).get(code, code))


def covariate_label(term: str, lang: str | None = None) -> str:
    """A design-matrix column of study 4's propensity model (``"education[kort]"`` →
    ``"Uddannelse: Kort uddannelse"``) in the report language."""
    lg = _lang(lang)
    table = _pick(READMISSION_COVARIATE_LABELS, lg)
    if term in table:
        return str(table[term])
    if "[" in term and term.endswith("]"):
        var, level = term[:-1].split("[", 1)
        if var == "education":
            return f"{table['education']}: {education_label(level, lg)}"
        return f"{table.get(var, var)}: {level}"
    return term


def area_name(area: Area, lang: str | None = None) -> str:
    """An area's display name: ``"Kalundborg Kommune"``, ``"Region Sjælland"``, ``"Hele
    landet"`` in Danish; ``"Kalundborg Municipality"``, ``"Region Zealand"``, ``"Denmark"``
    in English."""
    if _lang(lang) == "da":
        return area.name
    if area.level == "land" or area.code is None:
        return "Denmark"
    if area.level == "kommune":
        return f"{kommune_name(area.code)} Municipality"
    return REGION_NAMES_EN[int(area.code)]


def kommune_display_name(kommune: int, lang: str | None = None) -> str:
    """``"Kalundborg Kommune"`` / ``"Kalundborg Municipality"``."""
    return area_name(Area("kommune", int(kommune)), lang)


def area_label(name: str, lang: str | None = None) -> str:
    """A Danish area display name as the analyses return it (``Area.name``: ``"Kalundborg
    Kommune"``, ``"Region Sjælland"``, ``"Hele landet"``) in the report language."""
    lg = _lang(lang)
    if lg == "da":
        return name
    if name == "Hele landet":
        return "Denmark"
    for code, region in REGIONS.items():
        if name == region:
            return REGION_NAMES_EN[code]
    if name.endswith(" Kommune"):
        return f"{name.removesuffix(' Kommune')} Municipality"
    return name
