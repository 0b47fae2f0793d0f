"""The indicator definition files (nsv_eval/definitions/*.yaml) and their loader.

Checked against the files themselves (every definition loads, names its source and what
could not be confirmed) and against hand-made broken files (errors name file and key).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nsv_eval import definitions as D

OFFICIAL_IDS = {
    "readmission",
    "preventable",
    "copd_acute",
    "diabetes_acute",
    "fall_injury",
    "hip_fracture",
    "short_stay",
}


def test_every_shipped_definition_loads_with_source_and_both_languages():
    defs = D.load_all()
    assert OFFICIAL_IDS <= {i for i, v in defs if v == D.OFFICIAL}
    for d in defs.values():
        for key in ("name", "population", "numerator", "denominator", "unit"):
            assert d.text(key, "da") and d.text(key, "en")
        for key in D.SOURCE_REQUIRED:
            assert d.source[key], (d.path, key)
        assert d.source["url"].startswith("https://")
    # earlier behaviour kept by name
    assert D.variants("readmission") == ["official", "legacy_medical"]
    for i in OFFICIAL_IDS - {"readmission"}:
        assert "legacy" in D.variants(i)


def test_official_readmission_carries_the_esundhed_thresholds():
    d = D.get("readmission")
    assert d.threshold("stay_gap_hours") == 4
    assert d.threshold("admission_min_hours") == 12
    assert d.threshold("window_days") == 30
    assert d.reported_by == ("somatic", "psychiatric")
    assert {e["id"] for e in d.exclusions} == {
        "cancer_related",
        "hospice",
        "birth",
        "accident_violence_selfharm",
    }
    assert d.contact_causes("accident_violence_selfharm") == ("ALCC02", "ALCC03", "ALCC04")
    assert d.unconfirmed  # what could not be confirmed is said in the file, in both languages
    assert all(u["da"] and u["en"] for u in d.unconfirmed)


def test_code_sets_match_sks_and_icd10_spellings():
    cs = D.get("hip_fracture").codeset("hip_fracture")
    assert cs.matches(["DS720", "S72.1", "ds7221", "DS723", "DS72", None]).tolist() == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    t2d = D.get("diabetes_acute").codeset("diabetes_type2")
    assert t2d.matches(["DE11", "DE119", "DE10", "DE14"]).tolist() == [True, True, False, False]


def test_get_by_ref_and_clear_errors_for_unknown_names():
    assert D.get("readmission:legacy_medical").variant == "legacy_medical"
    assert D.get("heart_failure_acute").variant == "legacy"  # the only variant there is
    with pytest.raises(D.DefinitionError, match="Did you mean 'readmission'"):
        D.get("readmision")
    with pytest.raises(D.DefinitionError, match="no variant 'legacy'.*official, legacy_medical"):
        D.get("readmission", "legacy")
    with pytest.raises(
        D.DefinitionError, match="readmission.yaml: key .thresholds.nope. is missing"
    ):
        D.get("readmission").threshold("nope")
    with pytest.raises(D.DefinitionError, match="codes.nope"):
        D.get("readmission").codeset("nope")
    with pytest.raises(D.DefinitionError, match="Unknown indicator"):
        D.selected({"nope": "official"})
    sel = D.selected({"readmission": "legacy_medical"})
    assert sel["readmission"].variant == "legacy_medical" and sel["preventable"].official


def _copy(tmp_path: Path, name: str = "hip_fracture.yaml") -> Path:
    dst = tmp_path / name
    shutil.copy(D.definitions_dir() / "hip_fracture.yaml", dst)
    return dst


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kind: rate", "kind: ratio", r"hip_fracture.yaml: key 'kind': must be one of"),
        ("multiplier: 1000", "multiplier: -3", r"key 'multiplier'"),
        ("  min_age: 65", "  min_age: old", r"key 'thresholds.min_age'"),
        (
            "prefixes: [S720, S721, S722]",
            "prefixes: [DS72.0]",
            r"key 'codes.hip_fracture.prefixes'",
        ),
        ("  url: https://icd.who.int/browse10/2019/en", "  url: ''", r"key 'source.url'"),
        ("method: direct", "method: magic", r"key 'standardisation.method'"),
        ("variant: official", "variant: legacy", r"must be called hip_fracture.legacy.yaml"),
        (
            "exclusions: []",
            "exclusions: [{id: x, applies_to: both, rule: {codes: nope}, da: x, en: x}]",
            r"key 'exclusions\[0\].rule.codes'",
        ),
        ("exclusions: []", "exclusions: []\nextra: 1", r"key 'extra': unknown key"),
        (
            '  - da: "Ophold med hoftebrud kun som bidiagnose tælles ikke."\n'
            '    en: "A stay with hip fracture as secondary diagnosis only is not counted."',
            "  - only one language",
            r"key 'unconfirmed\[0\]': must be a mapping",
        ),
    ],
)
def test_malformed_file_errors_name_file_and_key(tmp_path, old, new, message):
    path = _copy(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(D.DefinitionError, match=message):
        D.load_file(path)


def test_missing_key_and_bad_yaml(tmp_path):
    path = _copy(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("denominator:", "denominatr:", 1), encoding="utf-8")
    with pytest.raises(D.DefinitionError, match="hip_fracture.yaml: key 'denominator': is missing"):
        D.load_file(path)
    path.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(D.DefinitionError, match="hip_fracture.yaml: not valid YAML"):
        D.load_file(path)


def test_definition_files_ship_as_package_data():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert "definitions/*.yaml" in data["tool"]["setuptools"]["package-data"]["nsv_eval"]


def test_cli_lists_definitions_with_version_and_source(capsys):
    from nsv_eval.cli import main

    assert main(["definitions"]) == 0
    out = capsys.readouterr().out
    for id in OFFICIAL_IDS:
        assert f"\n{id}  —  " in out
    assert "official 1.0, legacy_medical 0.9" in out
    assert "Genindlæggelser i somatik og psykiatri" in out  # the source's title

    assert main(["definitions", "readmission"]) == 0
    out = capsys.readouterr().out
    assert "Tæller:" in out and "admission_min_hours = 12" in out
    assert "Opgøres særskilt for: somatik, psykiatri" in out
    assert "Andre varianter: legacy_medical" in out

    assert main(["definitions", "readmission", "--lang", "en", "--variant", "legacy_medical"]) == 0
    out = capsys.readouterr().out
    assert "Numerator:" in out and "Variant legacy_medical" in out

    assert main(["definitions", "readmision"]) == 1
    assert "Did you mean 'readmission'" in capsys.readouterr().err


def test_stays_read_their_thresholds_from_the_official_definition() -> None:
    """The 4-hour chaining and 12-hour admission rules of ``clean/stays.py`` are the official
    readmission definition's thresholds (eSundhed), not numbers written twice."""
    from nsv_eval import definitions
    from nsv_eval.clean import stays

    d = definitions.get("readmission", definitions.OFFICIAL)
    assert stays.STAY_GAP_HOURS == float(d.threshold("stay_gap_hours")) == 4.0
    assert stays.ADMISSION_MIN_HOURS == float(d.threshold("admission_min_hours")) == 12.0
