"""Study 1 (Datakvalitet): helpers against the planted truth of a hand-built prepared layout
(``_report_tiny``, counts listed in its docstring), the notebook run on it, and end to end
on the session's synthetic ``prepared_dir`` (numbers in the HTML = numbers in the JSON =
numbers recomputed here from ``reconciliation.json`` and the parquet files).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _report_tiny import (
    CONTACTS_101,
    CONTACTS_326,
    PERSONS_326,
    POP,
    UNMATCHED,
    e2e_report,
    make_prepared,
)
from bs4 import BeautifulSoup

from nsv_eval.analyses import dataquality as dq
from nsv_eval.errors import InputError
from nsv_eval.params import load_params
from nsv_eval.report.disclosure import check_disclosure
from nsv_eval.report.labels import REJECT_REASONS_DA
from nsv_eval.report.render import run_study

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_prepared(tmp_path_factory.mktemp("dq") / "prepared")


# -- helpers ---------------------------------------------------------------------------


def test_reconciliation(tiny_dir: Path) -> None:
    r = dq.reconciliation(tiny_dir)
    assert r[["kind", "file", "read", "kept", "rejected", "merged"]].values.tolist() == [
        ["admissions", "contacts.csv", 120, 117, 3, 0],
        ["persons", "persons.csv", 85, 82, 2, 1],
    ]
    assert r["balanced"].all()


def test_reconciliation_flags_imbalance(tmp_path: Path) -> None:
    (tmp_path / "reconciliation.json").write_text(
        json.dumps({"falls": {"f.csv": {"read": 10, "kept": 8, "rejected": 1}}}),
        encoding="utf-8",
    )
    r = dq.reconciliation(tmp_path)
    assert r.loc[0, "merged"] == 0 and not r.loc[0, "balanced"]


def test_reject_reasons(tiny_dir: Path) -> None:
    r = dq.reject_reasons(tiny_dir)
    assert r[["kind", "reason", "column", "n"]].values.tolist() == [
        ["admissions", "bad_date", "admit_time", 2],
        ["admissions", "invalid_icd10", "diagnosis", 1],
        ["persons", "invalid_cpr", "cpr", 1],
        ["persons", "unknown_kommune", "kommune_code", 1],
    ]
    assert "reason_da" not in r.columns  # codes; the words are in report.labels
    assert REJECT_REASONS_DA[r.loc[0, "reason"]] == "Ugyldig dato"
    assert "value" not in r.columns  # the (masked) values never enter the notebook


def test_coverage(tiny_dir: Path) -> None:
    c = dq.coverage(tiny_dir, 326, 2020, 2022)
    k = c[c["area"] == "kommune"].set_index("year")
    land = c[c["area"] == "land"].set_index("year")
    assert k["persons"].to_dict() == PERSONS_326
    assert k["contacts"].to_dict() == CONTACTS_326
    assert k["courses"].to_dict() == CONTACTS_326
    assert k["population"].tolist() == [POP[326]] * 3
    for y in (2020, 2021, 2022):
        assert land.loc[y, "contacts"] == CONTACTS_326[y] + CONTACTS_101[y]
        assert land.loc[y, "contacts_per_1000"] == pytest.approx(
            (CONTACTS_326[y] + CONTACTS_101[y]) / (POP[326] + POP[101]) * 1000
        )
    assert land["unmatched_contacts"].to_dict() == {2020: 0, 2021: UNMATCHED, 2022: 0}


def test_coverage_national_counts_once_per_data_set(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a Prepared (a batch's shared cache) the national counts are computed once and
    reused for the next kommune; the table equals the one computed directly (hand counts
    above)."""
    from nsv_eval.analyses import load_prepared

    prep = load_prepared(tiny_dir, tmp_path / "shared")
    a = dq.coverage(tiny_dir, 326, 2020, 2022, prep=prep)
    pd.testing.assert_frame_equal(a, dq.coverage(tiny_dir, 326, 2020, 2022))

    def no_recount(*args, **kwargs):
        raise AssertionError("national counts recomputed")

    monkeypatch.setattr(dq, "coverage_counts", no_recount)
    b = dq.coverage(tiny_dir, 101, 2020, 2022, prep=prep)
    assert (
        b[b["area"] == "land"]["contacts"].tolist() == a[a["area"] == "land"]["contacts"].tolist()
    )
    assert b[b["area"] == "kommune"].set_index("year")["contacts"].to_dict() == CONTACTS_101
    with pytest.raises(InputError, match="not"):
        dq.coverage(tmp_path, 101, 2020, 2022, prep=prep)


def test_inputs_and_period(tiny_dir: Path) -> None:
    i = dq.inputs(tiny_dir)
    assert i["file"].tolist() == ["persons.csv", "contacts.csv"]
    assert i["rows"].tolist() == [85, 120]
    assert dq.data_period(tiny_dir) == ("2020-01-01", "2022-12-31")


# -- the notebook on the tiny layout ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    params = load_params(326, ROOT / "params")
    params["period"] = {"start": 2020, "end": 2022}
    out = tmp_path_factory.mktemp("dq-reports")
    run = run_study("datakvalitet", 326, data_dir=tiny_dir, out_dir=out, params=params)
    assert run.ok, run.error
    return run


def test_notebook_numbers_from_planted_truth(tiny_run) -> None:
    data = json.loads(tiny_run.json.read_text(encoding="utf-8"))
    items = {i["key"]: i for i in data["findings"]}
    assert items["rows_read"]["value"] == 85 + 120
    assert items["rows_read"]["counts"] == {"rejected": 5, "merged": None}  # 1 merged: hidden
    assert items["reconciled"]["value"] is True
    assert items["top_reject_reason"]["value"] == "bad_date"
    # (35 contacts / 3,000 person-years) / (155 / 9,000) = 0.677...
    kom = sum(CONTACTS_326.values()) / (3 * POP[326])
    land = (sum(CONTACTS_326.values()) + sum(CONTACTS_101.values())) / (3 * sum(POP.values()))
    assert items["contact_rate_ratio"]["value"] == pytest.approx(kom / land)
    assert "forholdstal 0,68" in items["contact_rate_ratio"]["text"]
    # rates 12, 3, 20 per 1,000: median 12, so 2021 (3 < 6) and 2022 (20 > 18) stand out
    assert items["coverage_gaps"]["value"] == 2
    assert "2021, 2022" in items["coverage_gaps"]["text"]
    assert items["unmatched_contacts"]["value"] is None  # 2 → "<5"
    assert items["unmatched_contacts"]["text"].startswith("<5 hospitalskontakter")


def test_notebook_report_is_clean(tiny_run) -> None:
    html = tiny_run.html.read_text(encoding="utf-8")
    assert check_disclosure(tiny_run.html) == []
    assert "Metode og forbehold" in html
    assert "2.021" not in html  # years are not written as thousands


# -- end to end on the synthetic Denmark ----------------------------------------------------


@pytest.mark.slow
def test_run_end_to_end(prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    html_path, printed = e2e_report(prepared_dir, tmp_path_factory)
    assert str(html_path) in printed  # tells where the reports are
    json_path = html_path.with_suffix(".json")
    assert html_path.exists() and json_path.exists()
    assert check_disclosure(html_path) == []
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["status"] == "ok" and data["stamp"]["kommune"] == 326

    # every sentence of the JSON is in the box, and the box holds nothing else
    soup = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser")
    box = {li["data-key"]: li.get_text() for li in soup.select(".nsv-findings li")}
    assert box == {i["key"]: i["text"] for i in data["findings"]}

    # and the numbers are those of the prepared data, recomputed here
    recon = json.loads((prepared_dir / "reconciliation.json").read_text(encoding="utf-8"))
    read = sum(f["read"] for files in recon.values() for f in files.values())
    items = {i["key"]: i for i in data["findings"]}
    assert items["rows_read"]["value"] == read
    from nsv_eval.report.format import fmt_int

    assert fmt_int(read) in box["rows_read"]
    persons = pd.read_parquet(prepared_dir / "persons.parquet", columns=["kommune_code"])
    assert data["values"]["persons_last_year"]["value"] <= int((persons == 326).sum().iloc[0])


def test_notebook_conventions() -> None:
    """Committed without outputs, exactly one ``parameters`` cell, box near the top."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "01_datakvalitet.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "findings.box()" in code[1].source  # the cell right after the parameters
    assert any("## Metode og forbehold" in c.source for c in nb.cells)
