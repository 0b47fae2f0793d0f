"""`make demo` works: the README's first command, run through make itself.

The test runs the real Makefile target with the data and report folders pointed at a
temporary directory and a small scale (the default-scale run is what `make demo` does on a
fresh machine; the steps and the code are the same). It checks that every study that exists
is rendered, that the run prints where the reports are, and that the reports pass the
disclosure check.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nsv_eval.report.disclosure import check_disclosure
from nsv_eval.report.studies import available_studies

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo(tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    if not (venv / "bin" / "nsv-eval").exists():
        pytest.skip("nsv-eval is not installed in this interpreter's environment")
    cmd = [
        "make",
        "-C",
        str(ROOT),
        "demo",
        f"VENV={venv}",
        f"SYNTH={tmp_path / 'synthetic'}",
        f"PREPARED={tmp_path / 'prepared'}",
        f"REPORTS={tmp_path / 'reports'}",
        "SCALE=0.004",
        "SEED=3",
    ]
    # the stamp makes make skip the bootstrap for an environment that is already installed
    (venv / ".installed").touch(exist_ok=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = tmp_path / "reports" / "326"
    expected = {s.slug for s in available_studies()}
    written = {p.stem for p in reports.glob("*.html")}
    assert expected and expected <= written, f"missing reports: {sorted(expected - written)}"
    assert str(reports.parent) in proc.stdout or "reports" in proc.stdout
    # the numbers in Excel: a workbook per report with tables, and the key results
    key_book = reports / "nøgletal.xlsx"
    assert key_book.exists() and str(key_book) in proc.stdout
    assert any(str(p) in proc.stdout for p in reports.glob("*.xlsx") if p != key_book)
    from openpyxl import load_workbook

    for html in reports.glob("*.html"):  # every table the report shows is in its workbook
        shown = html.read_text(encoding="utf-8").count('<table class="nsv-table">')
        book = html.with_suffix(".xlsx")
        sheets = len(load_workbook(book, read_only=True).sheetnames) - 1 if book.exists() else 0
        assert sheets == shown, f"{html.name}: {shown} tables, {sheets} sheets"
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        pdfs = {p.stem for p in reports.glob("*.pdf")}
        assert expected <= pdfs, f"missing PDFs: {sorted(expected - pdfs)}"
        assert "PDF(s):" in proc.stdout and all(
            str(reports / f"{s}.pdf") in proc.stdout for s in pdfs
        )
    assert check_disclosure(reports) == []  # HTML, PDF text and xlsx cells
    # `make audit` (run by CI after `make demo`): no CPR number in the prepared data or the
    # rendered reports, .work notebooks included
    audit_cmd = [c if c != "demo" else "audit" for c in cmd]
    proc = subprocess.run(audit_cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("0 CPR number(s) found") == 2, proc.stdout[-2000:]
