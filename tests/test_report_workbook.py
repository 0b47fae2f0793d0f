"""The numbers in Excel: report tables (``<study>.xlsx``), key results (``nøgletal.xlsx``) and
the disclosure scan of workbooks and PDFs.

Checked against tables whose suppression is known by hand (counts 3 → ``<5``, 0 stays 0,
a rate from 7 events is flagged ``*``, a total row adds up) and against planted problems
(a count of 3 in a count column, a CPR-like number in a cell) that the scanner must find.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook

from nsv_eval.report.disclosure import check_disclosure, scan_text, scan_xlsx, table_html
from nsv_eval.report.workbook import (
    FIRST_DATA_ROW,
    HEADER_ROW,
    INFO_SHEET,
    KEY_RESULT_COLUMNS,
    table_record,
    write_key_results_xlsx,
    write_tables_xlsx,
)

TABLE = pd.DataFrame(
    {
        "kommune": ["A", "B", "C"],
        "n": [3, 250, 0],
        "rate": [1.234, 25.0, 0.0],
        "share": [0.5, 0.25, 0.0],
    }
)
ARGS = dict(
    rate_cols={"rate": "n"},
    labels={"n": "Antal", "rate": "Rate pr. 1.000", "share": "Andel"},
    caption="Testtabel: antal og rate",
    total_row="I alt",
)


def test_record_keeps_suppression_and_numbers() -> None:
    rec = table_record(TABLE, "n", **ARGS)
    assert rec["columns"] == ["Kommune", "Antal", "Rate pr. 1.000", "Andel"]
    rows = rec["rows"]
    # count 3 hidden as "<5"; the smallest other non-zero count (250) hidden as "x" because
    # the total row would give it back; 0 stays 0; the total 253 is shown as a number
    assert [r[1] for r in rows] == ["<5", "x", 0, 253]
    # a rate whose count is hidden is hidden; shown rates stay numbers (0.0 from 0 events: "*")
    assert rows[0][2] == "x" and rows[2][2] == 0.0
    assert [2, 2] in rec["starred"]
    assert rows[0][3] == 0.5  # a derived-free share stays a number
    assert rec["count_columns"] == ["Antal"]
    assert any(n.startswith("<5:") for n in rec["notes"])
    # the HTML shows exactly the same cells
    html = table_html(TABLE, "n", **ARGS)
    for cell in ("&lt;5", ">x<", ">253<"):
        assert cell in html


def test_tables_workbook_numbers_as_numbers(tmp_path: Path) -> None:
    recs = [table_record(TABLE, "n", **ARGS), table_record(TABLE.drop(columns="rate"), "n")]
    path = write_tables_xlsx(recs, tmp_path / "t.xlsx", title="Test", source="kilde")
    wb = load_workbook(path)
    assert wb.sheetnames == ["1 Testtabel antal og rate", "Tabel 2", INFO_SHEET]
    ws = wb["1 Testtabel antal og rate"]
    assert ws.cell(1, 1).value == "Testtabel: antal og rate"
    assert [c.value for c in ws[HEADER_ROW]] == ["Kommune", "Antal", "Rate pr. 1.000", "Andel"]
    data = [[c.value for c in row] for row in ws.iter_rows(min_row=FIRST_DATA_ROW, max_row=6)]
    assert data[0][:2] == ["A", "<5"] and data[3][:2] == ["I alt", 253]
    assert isinstance(data[3][1], int) and isinstance(data[1][3], float)
    assert ws.cell(FIRST_DATA_ROW + 2, 3).number_format == '#,##0.0"*"'  # flagged rate
    assert ws.cell(FIRST_DATA_ROW + 3, 2).number_format == "#,##0"
    info = [[c.value for c in row] for row in wb[INFO_SHEET].iter_rows(min_row=6)]
    assert info[0][0] == "1 Testtabel antal og rate" and info[0][3] == "Antal"
    assert scan_xlsx(path) == []


def test_scan_xlsx_finds_small_counts_and_cpr(tmp_path: Path) -> None:
    rec = table_record(TABLE, "n", **ARGS)
    rec["rows"][2][1] = 3  # a count of 3 slipped past suppression
    rec["rows"][0][0] = "ring 010203-1234"  # a CPR-like number (1 Feb 2003)
    path = write_tables_xlsx([rec], tmp_path / "bad.xlsx")
    kinds = sorted(f.kind for f in scan_xlsx(path))
    assert kinds == ["cpr", "small_count"]
    # a foreign workbook: the count column is found by its heading
    wb = Workbook()
    ws = wb.active
    ws.append(["Titel"])
    ws.append(["Område", "Antal personer"])
    ws.append(["X", 2])
    ws.append(["Y", 12])
    wb.save(tmp_path / "foreign.xlsx")
    found = scan_xlsx(tmp_path / "foreign.xlsx")
    assert [(f.kind, f.line) for f in found] == [("small_count", 3)]
    # check_disclosure picks both up in a directory, next to HTML
    assert len(check_disclosure(tmp_path)) == 3


def test_scan_text_skips_fingerprints() -> None:
    assert scan_text("data 3112991234abcdef0123456789abcdef") == []  # hex fingerprint
    found = scan_text("linje 1\nCPR 311299-1234 her")
    assert [(f.kind, f.line) for f in found] == [("cpr", 2)]
    assert "1234" not in found[0].context  # masked


def _report_json(path: Path, kommune: int, study: str, findings: list[dict]) -> Path:
    payload = {
        "status": "ok",
        "stamp": {
            "study": study,
            "title": study.capitalize(),
            "kommune": kommune,
            "kommune_name": "Kalundborg",
            "period": [2010, 2024],
            "report_date": "2026-11-26",
            "data_fingerprint": "20bc8bc289379549",
        },
        "findings": findings,
    }
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def test_key_results_workbook(tmp_path: Path) -> None:
    a = _report_json(
        tmp_path / "a.json",
        326,
        "fald",
        [
            {
                "key": "did_att",
                "kind": "effect",
                "value": -1.25,
                "lower": -2.5,
                "upper": 0.1,
                "conf": 0.95,
                "unit": "pr. 1.000",
                "label_da": "DiD: ændring pr. 1.000",
                "definition": {"id": "fall_injury_65", "version": 2},
                "display": "−1,25",
                "text": "Ændringen var −1,25.",
            },
            {
                "key": "unmatched",
                "kind": "count",
                "value": None,
                "suppressed": True,
                "display": "<5",
                "text": "<5 kontakter.",
            },
        ],
    )
    b = _report_json(
        tmp_path / "b.json",
        101,
        "datakvalitet",
        [{"key": "rows_read", "kind": "count", "value": 1280004, "period": [2020, 2022]}],
    )
    path = write_key_results_xlsx([a, b], tmp_path / "nøgletal.xlsx")
    ws = load_workbook(path).active
    heads = [c.value for c in ws[HEADER_ROW]]
    assert heads == [h for _, h in KEY_RESULT_COLUMNS]
    rows = [
        dict(zip(heads, (c.value for c in row), strict=True))
        for row in ws.iter_rows(min_row=FIRST_DATA_ROW)
    ]
    assert len(rows) == 3
    r = rows[0]
    assert (r["Kommunekode"], r["Studie"], r["Nøgle"]) == (326, "fald", "did_att")
    assert (r["Definition"], r["Definitionsversion"]) == ("fall_injury_65", 2)
    assert (r["Estimat"], r["Nedre grænse"], r["Øvre grænse"]) == (-1.25, -2.5, 0.1)
    assert r["Periode"] == "2010–2024" and r["Enhed"] == "pr. 1.000"
    assert rows[1]["Estimat"] == "<5"  # a suppressed count stays text
    assert rows[2]["Estimat"] == 1280004 and rows[2]["Periode"] == "2020–2022"
    assert scan_xlsx(path) == []
