"""The "Definitioner og datagrundlag" appendix and the definition stamps of key results.

Checked against the definition files themselves (the appendix shows their population,
numerator, denominator, source and version) and against a tiny rendered report (the page
carries the appendix, passes the disclosure scanner, and its JSON records the id, variant
and version behind each number).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from _report_tiny import make_prepared

from nsv_eval import definitions as D
from nsv_eval.errors import NsvError
from nsv_eval.params import load_params
from nsv_eval.report import definitions as R
from nsv_eval.report.disclosure import scan_html
from nsv_eval.report.render import run_study
from nsv_eval.report.studies import STUDIES, Study

ROOT = Path(__file__).resolve().parents[1]


def test_appendix_shows_population_numerator_denominator_source_version():
    page = R.appendix_html(["readmission", "copd_acute"])
    d = D.get("readmission")
    assert "<h2>Definitioner og datagrundlag</h2>" in page
    for text in (d.text("population"), d.text("numerator"), d.text("denominator")):
        assert R._e(text) in page
    assert d.source["url"] in page and R._e(d.source["title"]) in page
    assert "variant <code>official</code>, version 1.0" in page
    assert "ikke den officielle" not in page
    assert "nsv-eval definitions readmission" in page  # points at the whole definition
    assert "Forbehold (ikke bekræftet)" in page  # and says what could not be confirmed
    for u in d.unconfirmed:
        assert R._e(u["da"]) in page
    assert scan_html(page) == []  # no tables, no CPR-like numbers


def test_appendix_marks_a_legacy_variant():
    page = R.appendix_html(["readmission"], {"readmission": "legacy_medical"})
    assert "Tidligere/lokal definition — ikke den officielle" in page
    assert "variant <code>legacy_medical</code>, version 0.9" in page


def test_every_study_names_known_definitions():
    for st in STUDIES.values():
        assert st.definitions, st.name
        for id in st.definitions:
            D.get(id)  # raises if unknown
    assert STUDIES["genindlaeggelser"].definitions == ("readmission",)
    assert STUDIES["fald"].definitions[0] == "fall_injury"


def test_key_results_map_to_definitions():
    fald = STUDIES["fald"].definitions
    assert R.definition_for("readmission_share") == "readmission"
    assert R.definition_for("dsr_pooled", fald) == "fall_injury"  # the study's main one
    assert R.definition_for("rows_read", fald) is None  # rests on no definition
    assert R.definition_for("life_expectancy_M") is None
    assert R.definition_for("acute_team_net_saving") == "preventable"
    items = R.annotate_findings(
        [{"key": "dsr_pooled"}, {"key": "x", "definition": "hip_fracture"}, {"key": "rows_read"}],
        fald,
        {"fall_injury": "legacy"},
    )
    assert items[0]["definition"] == {"id": "fall_injury", "variant": "legacy", "version": "0.9"}
    assert items[1]["definition"] == {"id": "hip_fracture", "variant": "official", "version": "1.0"}
    assert items[2]["definition"] is None


def test_selection_follows_the_data_and_refuses_a_mix():
    params = {"definitions": {"readmission": "legacy_medical", "preventable": "legacy"}}
    assert R.resolve_selection({}, params)["readmission"] == "legacy_medical"
    built = {"definitions": {"indicators": {"readmission": {"variant": "official"}}}}
    with pytest.raises(NsvError, match="definitions.readmission.*'legacy_medical'.*'official'"):
        R.resolve_selection(built, params)
    ok = R.resolve_selection(built, {"definitions": {"readmission": "official"}})
    assert ok["readmission"] == "official"
    # data prepared before definitions were recorded: the course pipeline's variants
    with pytest.raises(NsvError, match="definitions.readmission"):
        R.resolve_selection({"period": {}}, {"definitions": {"readmission": "official"}})


NB_SETUP = """
from nsv_eval.report.findings import Findings
findings = Findings(results_path, study="defstudy", kommune=kommune)
findings.box()
findings.add("readmission_share", 0.125, "Andel {value}.", kind="pct")
findings.add("dsr_pooled", 3.5, "Rate {value}.", kind="rate")
findings.add("rows_read", 1234, "Rækker {value}.", kind="count")
findings.add("hip", 2.0, "Hofte {value}.", definition="hip_fracture")
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("defs")
    nbdir = base / "notebooks"
    nbdir.mkdir()
    st = Study("defstudy", 95, "Definitionstest", "", definitions=("readmission", "fall_injury"))
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'kommune: int = 326\nperiod_start: int = 2010\nperiod_end: int = 2024\ndata_dir: str = ""\n'
        'results_path: str = ""'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(NB_SETUP.strip())]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, nbdir / st.notebook)
    data = make_prepared(base / "prepared")
    # data prepared before the manifest recorded its definitions (the course pipeline)
    man = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    del man["definitions"]
    (data / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    p = load_params(326, ROOT / "params")
    # the tiny layout's manifest records no definitions: data prepared by the course
    # pipeline, i.e. the legacy variants, which a user selects by name
    default_run = run_study(
        st, 326, data_dir=data, out_dir=base / "r0", params=p, notebook_dir=nbdir
    )
    p = {**p, "definitions": dict(D.COURSE_VARIANTS)}
    out = base / "reports"
    run = run_study(st, 326, data_dir=data, out_dir=out, params=p, notebook_dir=nbdir)
    return {
        "run": run,
        "study": st,
        "data": data,
        "params": p,
        "nbdir": nbdir,
        "base": base,
        "default_run": default_run,
    }


def test_report_carries_the_appendix_and_json_the_stamps(rendered: dict):
    run = rendered["run"]
    assert run.ok, run.error
    page = run.html.read_text(encoding="utf-8")
    assert page.index("Definitioner og datagrundlag") > page.index("Hovedresultater")
    assert page.index("Definitioner og datagrundlag") < page.index('<footer class="nsv-footer">')
    assert 'data-definition="readmission"' in page and 'data-definition="fall_injury"' in page
    assert "Datagrundlag: udtræk klargjort med nsv-eval prepare for perioden 1. januar 2020" in page
    # the legacy variants selected by name are marked in the appendix
    assert "Tidligere/lokal definition" in page
    payload = json.loads(run.json.read_text(encoding="utf-8"))
    assert payload["definitions"]["readmission"] == {
        "id": "readmission",
        "variant": "legacy_medical",
        "version": "0.9",
    }
    by_key = {f["key"]: f["definition"] for f in payload["findings"]}
    assert by_key["readmission_share"]["variant"] == "legacy_medical"
    assert by_key["dsr_pooled"]["id"] == "readmission"  # the study's main definition
    assert by_key["rows_read"] is None
    assert by_key["hip"] == {"id": "hip_fracture", "variant": "legacy", "version": "0.9"}


def test_default_parameters_refuse_data_prepared_with_legacy_definitions(rendered: dict):
    run = rendered["default_run"]  # params official (the default), data legacy
    assert run.status == "failed"
    assert "definitions.readmission" in run.error and "legacy_medical" in run.error


def test_report_refuses_data_prepared_with_another_variant(rendered: dict, tmp_path: Path):
    data = tmp_path / "prepared"
    shutil.copytree(rendered["data"], data)
    man = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    man["definitions"] = {"indicators": {"readmission": D.get("readmission").stamp()}}
    (data / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    run = run_study(
        rendered["study"],
        326,
        data_dir=data,
        out_dir=tmp_path / "r",
        params=rendered["params"],
        notebook_dir=rendered["nbdir"],
    )
    assert run.status == "failed"
    assert "definitions.readmission" in run.error and "manifest.json" in run.error


def test_data_note_says_how_stays_were_formed_and_what_is_missing():
    from nsv_eval.clean.official import stay_note

    man = {
        "period": {"start": "2010-01-01", "end": "2024-12-31"},
        "inputs": [{"kind": "persons"}, {"kind": "admissions"}],
        "missing_kinds": ["care", "falls"],
        "definitions": {
            "stays_formed_da": stay_note("nsv"),
            "stays_formed": stay_note("nsv", "en"),
        },
    }
    da = R.data_note(man, "da")
    assert "Udtrækket indeholder ikke hjemmepleje og sygepleje, registrerede fald" in da
    assert "forløb som ophold" in da and "mindst 12 timer er indlæggelser" in da
    en = R.data_note(man, "en")
    assert "courses as stays" in en and "The extract has no" in en
    assert "LPR3-format" in stay_note("lpr3")
