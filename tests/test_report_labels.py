"""The label tables of :mod:`nsv_eval.report.labels`: the words for the codes the analyses
return, per report language.

Checked against the texts the Danish reports showed before the tables moved out of
``nsv_eval.analyses`` (kept here as data), and against the codes the analyses return.
"""

from __future__ import annotations

import pytest

from nsv_eval.analyses.data import Area
from nsv_eval.analyses.falls import COHORT_COVARIATES
from nsv_eval.analyses.readmissions import DEFAULT_COVARIATES, VISIT_GROUPS
from nsv_eval.reference import EDUCATION_LEVELS, REGIONS
from nsv_eval.report import i18n, labels


def test_danish_labels_are_the_texts_the_reports_showed() -> None:
    # the Danish texts of analyses/falls.py and analyses/readmissions.py before the move
    assert labels.visit_label(True, "da") == "Med besøg"
    assert labels.visit_label("without_visit", "da") == "Uden besøg"
    assert labels.falls_covariate_label("prior_falls_365d", "da") == "Registrerede fald sidste år"
    assert labels.falls_covariate_label("income[3]", "da") == "Indkomstkvintil 3"
    assert labels.falls_covariate_label("education[kort]", "da") == "Kort uddannelse"
    assert labels.falls_covariate_label("kommune", "da") == "Kommune (største forskel)"
    assert labels.falls_analysis_label("naive", "da") == "Ujusteret (rå sammenligning)"
    assert labels.covariate_label("education[mellemlang]", "da") == (
        "Uddannelse: Mellemlang uddannelse"
    )
    assert labels.covariate_label("prior_admissions[3+]", "da") == (
        "Akutte indlæggelser seneste år: 3+"
    )
    assert labels.covariate_label("los_days", "da") == "Indlæggelsens længde (dage)"
    assert labels.readmission_measure_label("risk_difference", "da") == (
        "Risikoforskel (procentpoint)"
    )
    assert labels.area_name(Area("region", 1085), "da") == "Region Sjælland"


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_code_the_analyses_return_has_a_label(lang: str) -> None:
    for flag, code in VISIT_GROUPS.items():
        assert labels.visit_label(flag, lang) == labels.visit_label(code, lang)
    # falls cohort: the design-matrix columns of COHORT_COVARIATES (categoricals expanded)
    terms = ["age", "sex[M]", "living_alone", "home_care", "prior_falls_365d"]
    terms += ["prior_fall_injury_365d", "prior_admissions_365d", "index_year", "kommune"]
    terms += [f"education[{e}]" for e in EDUCATION_LEVELS] + [f"income[{q}]" for q in range(1, 6)]
    assert {t.split("[")[0] for t in terms} >= set(COHORT_COVARIATES)
    for t in terms:
        assert labels.falls_covariate_label(t, lang) != t, t
    for v in DEFAULT_COVARIATES:
        assert labels.covariate_label(v, lang) != v, v
    for code in ("naive", "adjusted"):
        assert labels.falls_analysis_label(code, lang) != code
    for code in ("risk_treated", "risk_control", "risk_difference", "risk_ratio"):
        assert labels.readmission_measure_label(code, lang) != code


def test_english_labels_follow_the_report_language() -> None:
    with i18n.use_lang("en"):
        assert labels.visit_label(True) == "With visit"
        assert labels.covariate_label("education[kort]") == "Education: Short education"
        assert labels.kommune_display_name(326) == "Kalundborg Municipality"
        assert labels.area_label("Region Sjælland") == "Region Zealand"
        assert labels.area_label("Hele landet") == "Denmark"
        assert labels.area_label("Kalundborg Kommune") == "Kalundborg Municipality"
    assert labels.visit_label(True) == "Med besøg"  # Danish outside
    assert set(labels.REGION_NAMES_EN) == set(REGIONS)
    with pytest.raises(ValueError, match="no labels in language 'fr'"):
        labels.visit_label(True, "fr")
