"""The rendered report in a real browser (headless Chromium, Debian's ``chromium`` package).

Checks that the end-to-end Datakvalitet report loads, that its figures are base64 PNGs
that actually decode (``naturalWidth > 0``), that no script error or console message
occurs, and saves a screenshot to ``reports/screenshot-datakvalitet.png`` for a person to
look at.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from _report_tiny import e2e_report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PROBE = """<script>
window.__nsvErrors = [];
window.addEventListener("error", function (e) { window.__nsvErrors.push(String(e.message)); });
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var d = document.createElement("div");
  d.id = "nsv-browser-check";
  d.setAttribute("data-images", String(imgs.length));
  d.setAttribute("data-widths", imgs.map(function (i) { return i.naturalWidth; }).join(","));
  d.setAttribute("data-base64", String(imgs.filter(function (i) {
    return i.src.indexOf("data:image/png;base64,") === 0; }).length));
  d.setAttribute("data-errors", String(window.__nsvErrors.length));
  document.body.appendChild(d);
});
</script>"""


def _chromium(args: list[str], user_dir: Path) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_dir}",
    ]
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def report(prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        pytest.skip(
            "headless Chromium not found (/usr/bin/chromium): install Debian's 'chromium' "
            "package (`apt-get install -y chromium`; `make test` tries this)"
        )
    return e2e_report(prepared_dir, tmp_path_factory)[0]


def test_report_loads_with_figures(report: Path, tmp_path: Path) -> None:
    probed = tmp_path / "probed.html"
    html = report.read_text(encoding="utf-8")
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    res = _chromium(
        [
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probed.as_uri(),
        ],
        tmp_path / "profile",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<div id="nsv-browser-check"([^>]*)>', res.stdout)
    assert m, "the page did not finish loading (no probe marker in the DOM)"
    attrs = dict(re.findall(r'data-([a-z0-9]+)="([^"]*)"', m.group(1)))
    n_img = int(attrs["images"])
    assert n_img >= 1
    assert int(attrs["base64"]) == n_img  # every figure embedded
    widths = [int(w) for w in attrs["widths"].split(",")]
    assert all(w > 0 for w in widths), f"an image did not decode: naturalWidth {widths}"
    assert attrs["errors"] == "0"
    console = [ln for ln in res.stderr.splitlines() if "CONSOLE" in ln]
    assert console == [], console
    assert "Hovedresultater" in res.stdout and "Kalundborg Kommune" in res.stdout


def test_screenshot(report: Path, tmp_path: Path) -> None:
    shot = ROOT / "reports" / "screenshot-datakvalitet.png"
    shot.parent.mkdir(exist_ok=True)
    shot.unlink(missing_ok=True)
    res = _chromium(
        [f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri()],
        tmp_path / "profile",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # a page with text and a figure, not a blank one


# -- PDF ---------------------------------------------------------------------------------

PDFTOPPM = shutil.which("pdftoppm")
PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture(scope="module")
def pdf_report(prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found: install Debian's 'chromium' package")
    if PDFTOPPM is None or PDFTOTEXT is None:
        pytest.skip(
            "pdftoppm/pdftotext not found: install Debian's 'poppler-utils' package "
            "(`apt-get install -y poppler-utils`; `make test` tries this)"
        )
    import contextlib
    import io

    from nsv_eval.cli import main

    out = tmp_path_factory.mktemp("pdf-reports")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(
            [
                "run",
                "--kommune",
                "326",
                "--study",
                "datakvalitet",
                "--data",
                str(prepared_dir),
                "--out",
                str(out),
                "--pdf",
            ]
        )
    assert rc == 0, buf.getvalue()
    return {"dir": out / "326", "stdout": buf.getvalue()}


def _text(pdf: Path, *pages: int) -> str:
    args = [PDFTOTEXT, "-enc", "UTF-8"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    res = subprocess.run([*args, str(pdf), "-"], capture_output=True, timeout=60, check=True)
    return res.stdout.decode("utf-8")


def test_pdf_first_page_is_not_blank(pdf_report: dict, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    pdf = pdf_report["dir"] / "01_datakvalitet.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert str(pdf) in pdf_report["stdout"]  # `run --pdf` says where the PDF is
    subprocess.run(
        [PDFTOPPM, "-r", "60", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    png = next(tmp_path.glob("page*.png"))
    img = Image.open(png).convert("L")
    w, h = img.size
    assert abs(h / w - 297 / 210) < 0.01  # A4 portrait
    ink = sum(img.histogram()[:200]) / (w * h)
    assert 0.01 < ink < 0.6, f"share of dark pixels on page 1: {ink:.3f}"
    assert ImageStat.Stat(img).stddev[0] > 20  # text and figures, not a flat page
    # keep it for a person to look at, next to the screenshot
    shot = ROOT / "reports" / "pdf-page1-datakvalitet.png"
    shot.parent.mkdir(exist_ok=True)
    shot.write_bytes(png.read_bytes())


def test_pdf_text_has_title_findings_and_footer(pdf_report: dict) -> None:
    from nsv_eval.report.disclosure import scan_pdf

    pdf = pdf_report["dir"] / "01_datakvalitet.pdf"
    data = json.loads((pdf_report["dir"] / "01_datakvalitet.json").read_text(encoding="utf-8"))
    first = " ".join(_text(pdf, 1, 1).split())
    assert first.startswith("Datakvalitet Kalundborg Kommune")
    assert "Hovedresultater" in first  # the box is on page 1
    whole = " ".join(_text(pdf).split())
    for item in data["findings"]:  # every key finding, word for word
        assert " ".join(item["text"].split()) in whole, item["text"]
    pages = _text(pdf).count("\f")
    assert pages >= 2
    from nsv_eval.report.format import fmt_date

    footer = f"Kalundborg Kommune · Datakvalitet · {fmt_date(data['stamp']['report_date'])}"
    assert footer in first and f"Side 1 af {pages}" in first
    assert f"Side {pages} af {pages}" in whole
    assert scan_pdf(pdf) == []
