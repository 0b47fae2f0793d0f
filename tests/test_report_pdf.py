"""PDF printing without a browser at hand: the messages a user gets, and the footer template.

The printing itself (A4, footer, page 1 with the key findings) is checked in the browser
test (``tests/test_browser.py``), which needs Debian's ``chromium`` and ``poppler-utils``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nsv_eval.errors import NsvError
from nsv_eval.report import pdf


def test_missing_chromium_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("NSV_CHROMIUM", raising=False)
    assert pdf.find_chromium() is None
    with pytest.raises(NsvError, match="apt-get install -y chromium") as exc:
        pdf.require_chromium()
    assert "without --pdf" in str(exc.value)


def test_run_with_pdf_refuses_before_executing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from _report_tiny import make_prepared

    from nsv_eval.report.render import run_studies, run_study

    data = make_prepared(tmp_path / "prepared")
    monkeypatch.setenv("NSV_CHROMIUM", str(tmp_path / "no-such-browser"))
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NsvError, match="headless Chromium"):
        run_studies("datakvalitet", 326, data_dir=data, out_dir=tmp_path / "r", pdf=True)
    run = run_study("datakvalitet", 326, data_dir=data, out_dir=tmp_path / "r", pdf=True)
    assert run.status == "failed" and "headless Chromium" in run.error
    assert not (tmp_path / "r" / "326" / ".work" / "01_datakvalitet.ipynb").exists()


def test_footer_template() -> None:
    da = pdf.footer_html("Kalundborg Kommune · Fald <x> · 26. november 2026")
    assert "Fald &lt;x&gt;" in da  # escaped
    assert 'Side <span class="pageNumber"></span> af <span class="totalPages"></span>' in da
    en = pdf.footer_html("Kalundborg Municipality", lang="en")
    assert 'Page <span class="pageNumber"></span> of' in en
