"""The course-based cleaning reads the legacy definition files and keeps today's numbers.

Checked against the values that were hard-coded in ``reference.py``, ``clean/flags.py`` and
``analyses/catalogue.py`` before the definitions became data (kept here as data): the same
code lists, thresholds and catalogue entries mean the cube and every study give the same
numbers as before.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from nsv_eval import definitions as D
from nsv_eval.analyses.catalogue import INDICATORS, indicators
from nsv_eval.clean import flags
from nsv_eval.definitions import codelists

prepare = importlib.import_module("nsv_eval.clean.prepare")  # the module, not the function

EARLIER_CODE_LISTS = {
    "preventable": "J100 J110 J12 J13 J14 J15 J16 J17 J18 J20 J21 J22 N10 N300 N308 N309 N390 "
    "A04 A08 A09 E86 E87 K590 D50 D51 D52 D53 L89 S02 S12 S22 S32 S42 S52 S62 S72 S82 T08 T10 "
    "T12 Z74 Z75",
    "fall_injury": " ".join(f"W{i:02d}" for i in range(20)) + " S720 S721 S722",
    "hip_fracture": "S720 S721 S722",
    "copd": "J44",
    "diabetes": "E10 E11 E12 E13 E14",
    "heart_failure": "I50",
}
EARLIER_CATALOGUE = {  # key: (kind, multiplier, min_age)
    "preventable_65": ("rate", 1000, 65),
    "readmission_65": ("proportion", 100, 65),
    "short_stay_65": ("rate", 1000, 65),
    "fall_injury_65": ("rate", 1000, 65),
    "copd_acute": ("rate", 100_000, 0),
    "diabetes_acute": ("rate", 100_000, 0),
    "heart_failure_acute": ("rate", 100_000, 0),
}


def test_code_lists_are_the_earlier_ones():
    for name, prefixes in EARLIER_CODE_LISTS.items():
        assert codelists.ICD10[name].prefixes == tuple(prefixes.split()), name
        assert "legacy" in codelists.ICD10[name].source
    assert codelists.MEDICAL_CHAPTERS == tuple("ABCDEFGHIJKLMNOQR")


def test_thresholds_are_the_earlier_ones():
    assert flags.READMISSION_WINDOW_DAYS == 30
    assert flags.INDEX_MIN_AGE == 65
    assert flags.PREVENTABLE_MIN_AGE == 65
    assert flags.SHORT_STAY_HOURS == 24.0
    assert flags.DEATH_WINDOW_DAYS == 30
    from nsv_eval.clean import CHAIN_GAP_HOURS

    assert CHAIN_GAP_HOURS == 4.0


def test_legacy_catalogue_is_the_earlier_one_and_names_its_definitions():
    legacy = indicators(D.COURSE_VARIANTS)
    assert list(legacy) == list(EARLIER_CATALOGUE)
    for key, (kind, mult, age) in EARLIER_CATALOGUE.items():
        ind = legacy[key]
        assert (ind.kind, ind.multiplier, ind.min_age) == (kind, mult, age), key
        assert ind.denominator in ("person_years", "readmit_index"), key
        assert D.get(ind.definition, D.COURSE_VARIANTS[ind.definition])


OFFICIAL_CATALOGUE = {  # key: (kind, multiplier, min_age, denominator), official definitions
    "preventable_65": ("rate", 1000, 65, "person_years"),
    "readmission_65": ("proportion", 100, 65, "readmit_index"),
    "short_stay_65": ("rate", 1000, 65, "person_years"),
    "fall_injury_65": ("rate", 1000, 65, "person_years"),
    "hip_fracture_65": ("rate", 1000, 65, "person_years"),
    "copd_acute": ("rate", 1000, 18, "copd_population"),
    "diabetes_acute": ("rate", 1000, 18, "diabetes_population"),
    "heart_failure_acute": ("rate", 100_000, 0, "person_years"),
}


def test_default_catalogue_is_the_official_one():
    assert list(INDICATORS) == list(OFFICIAL_CATALOGUE)
    for key, (kind, mult, age, den) in OFFICIAL_CATALOGUE.items():
        ind = INDICATORS[key]
        assert (ind.kind, ind.multiplier, ind.min_age, ind.denominator) == (kind, mult, age, den)
    assert "med KOL" in INDICATORS["copd_acute"].unit_da
    # the disease cohorts' definitions are crude rates; the others are standardised
    assert not INDICATORS["copd_acute"].standardise and not INDICATORS["diabetes_acute"].standardise
    assert INDICATORS["preventable_65"].standardise


def test_profile_compares_a_crude_definition_crudely(prepared_dir, tmp_path):
    """copd_acute (standardisation: none): the compared value is the crude rate per 1,000
    people with COPD, computed here by hand from the cube."""
    import pandas as pd

    from nsv_eval.analyses import load_prepared, profile

    prep = load_prepared(prepared_dir, shared_dir=tmp_path)
    st = profile.standardised(prep, "copd_acute", 326, [2022, 2023, 2024]).set_index("level")
    cube = pd.read_parquet(prepared_dir / "cube.parquet")
    c = cube[
        cube["year"].isin([2022, 2023, 2024]) & ~cube["age_band"].isin(["0-4", "5-9", "10-14"])
    ]
    want = 1000 * c["copd_acute"].sum() / c["copd_population"].sum()
    assert st.at["land", "estimate"] == pytest.approx(want)
    assert c["copd_population"].sum() > 0


def test_default_parameters_select_what_prepare_computes():
    root = Path(__file__).resolve().parents[1]
    defaults = yaml.safe_load((root / "params" / "defaults.yaml").read_text(encoding="utf-8"))
    assert defaults["definitions"] == D.DEFAULT_VARIANTS
    assert {k for k, v in D.DEFAULT_VARIANTS.items() if v != D.OFFICIAL} == {
        "heart_failure_acute"  # no official definition exists
    }
    recorded = prepare.definitions(D.DEFAULT_VARIANTS)["indicators"]
    assert {k: v["variant"] for k, v in recorded.items()} == D.DEFAULT_VARIANTS
    legacy = prepare.definitions("legacy")["indicators"]
    assert {k: v["variant"] for k, v in legacy.items()} == D.COURSE_VARIANTS
    assert legacy["readmission"]["version"] == D.get("readmission", "legacy_medical").version


def test_legacy_variants_on_stays_reproduce_the_course_pipeline(prepared_legacy_dir):
    """Independent computation: the pandas stay flags with the legacy variants give the same
    flags as the DuckDB course cleaning (courses stand in for stays: all somatic)."""
    import json

    import pandas as pd

    from nsv_eval.definitions import flags as F

    prepared_dir = prepared_legacy_dir
    c = pd.read_parquet(prepared_dir / "courses.parquet")
    persons = pd.read_parquet(prepared_dir / "persons.parquet")
    period = json.loads((prepared_dir / "manifest.json").read_text(encoding="utf-8"))["period"]
    stays = pd.DataFrame(
        {
            "stay_id": c["course_id"],
            "person_id": c["person_id"],
            "start": c["admit_time"],
            "end": c["discharge_time"],
            "hours": c["los_hours"],
            "acute": c["acute"],
            "somatic": True,
            "action_diagnosis": c["diagnosis"],
        }
    )
    f = F.flag_stays(
        stays, persons, period=(period["start"], period["end"]), choice=D.COURSE_VARIANTS
    )
    f = f.set_index("stay_id").loc[c["course_id"]]
    c = c.set_index("course_id")
    assert c["readmit_index"].sum() > 100 and c["readmit_30d"].sum() > 10
    same = {
        "readmit_index": "index_admission",
        "readmit_30d": "readmitted_30d",
        "preventable": "preventable",
        "hip_fracture": "hip_fracture",
        "copd_acute": "copd_acute",
        "diabetes_acute": "diabetes_acute",
    }
    for course_col, stay_col in same.items():
        assert (c[course_col].to_numpy() == f[stay_col].to_numpy()).all(), course_col
    # fall injuries and short stays: the course flags carry no age limit; the catalogue
    # takes 65+ (the definition's min_age) from the cube's age bands
    old = c["age"].to_numpy() >= 65
    for col in ("fall_injury", "short_stay"):
        assert (c[col].to_numpy() & old == f[col].to_numpy()).all(), col
    days = c["days_to_readmission"].to_numpy() - f["days_to_readmission"].to_numpy()
    assert abs(pd.Series(days).fillna(0)).max() < 1e-9


def test_studies_use_the_catalogue_of_the_prepared_variants(prepared_legacy_dir, tmp_path):
    """Legacy variants selected by name: the profile shows the legacy catalogue (no hip
    fracture row, the disease indicators per 100,000 of everyone); official data: the
    official one."""
    import warnings

    from nsv_eval.analyses import load_prepared, profile
    from nsv_eval.analyses.catalogue import for_manifest

    prep = load_prepared(prepared_legacy_dir, shared_dir=tmp_path)
    cat = for_manifest(prep.manifest)
    assert list(cat) == list(EARLIER_CATALOGUE)
    assert cat["copd_acute"].denominator == "person_years"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = profile.profile_table(prep, 326, [2022, 2023, 2024]).set_index("indicator")
    assert list(tab.index) == list(EARLIER_CATALOGUE)
    assert for_manifest({}) == cat  # no recorded definitions: the course pipeline's
    official = for_manifest({"definitions": {"indicators": D.DEFAULT_VARIANTS}})
    assert list(official) == list(OFFICIAL_CATALOGUE)
