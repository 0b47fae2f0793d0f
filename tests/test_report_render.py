"""Executing and rendering notebooks: a tiny notebook run through ``run_study``.

Checks the rendered page against what the notebook was built to contain (a figure, a
Findings box, stdout that must not leak, code that must not show) and the stamp against
the parameters and the data's manifest. Notebook executions are module-scoped: each costs
a kernel start.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from _report_tiny import make_prepared

from nsv_eval.params import load_params, params_hash
from nsv_eval.report.disclosure import check_disclosure
from nsv_eval.report.render import (
    CurrentPythonKernelManager,
    StudyRun,
    data_fingerprint,
    run_study,
)
from nsv_eval.report.studies import Study, get_study, resolve_studies

ROOT = Path(__file__).resolve().parents[1]

PARAMS_CELL = """
kommune: int = 326
period_start: int = 2010
period_end: int = 2024
data_dir: str = ""
results_path: str = ""
"""

SETUP = """
import sys
import matplotlib.pyplot as plt
import pandas as pd
from nsv_eval.report import theme
from nsv_eval.report.disclosure import display_table
from nsv_eval.report.findings import Findings
theme.apply_theme()
findings = Findings(results_path, study="tiny", kommune=kommune)
findings.box()
"""

BODY = """
print("SECRET-STDOUT-TEXT")
print("SECRET-STDERR-TEXT", file=sys.stderr)
fig, ax = plt.subplots()
ax.plot([2020, 2021, 2022], [1.5, 2.25, 2.0])
ax.set_title("Testfigur")
theme.finish(fig)
plt.show()
display_table(pd.DataFrame({"year": [2020, 2021], "n": [3, 250]}), "n")
findings.add("kernel", sys.executable, "Kernen kørte med {value}.", kind="text")
findings.add("answer", 41.95, "Svaret er {value}.", kind="number")
"SECRET-REPR-TEXT"
"""


def _notebook(path: Path, body: str, *, with_findings: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS_CELL.strip())
    params.metadata["tags"] = ["parameters"]
    hidden = nbformat.v4.new_markdown_cell("HIDDEN-CELL-TEXT")
    hidden.metadata["tags"] = ["remove-cell"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Afsnit\n\nLidt tekst."),
        params,
        hidden,
        nbformat.v4.new_code_cell(SETUP.strip() if with_findings else "x = 1"),
        nbformat.v4.new_code_cell(body.strip()),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


TINY = Study("tiny", 98, "Testrapport", "")
LEAKY = Study("leaky", 97, "Lækker rapport", "")
BROKEN = Study("broken", 96, "Fejlende rapport", "")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("render")
    nbdir = base / "notebooks"
    nbdir.mkdir()
    _notebook(nbdir / TINY.notebook, BODY)
    _notebook(
        nbdir / LEAKY.notebook,
        'from IPython.display import HTML, display\nfindings.add("a", 1.0, "A.")\n'
        'display(HTML(pd.DataFrame({"kommune": ["A"], "Antal": [3]}).to_html()))',
    )
    _notebook(nbdir / BROKEN.notebook, 'raise ValueError("planted failure in kolonne x")')
    data = make_prepared(base / "prepared")
    params = load_params(326, ROOT / "params")
    out = base / "reports"
    runs = {
        s.name: run_study(s, 326, data_dir=data, out_dir=out, params=params, notebook_dir=nbdir)
        for s in (TINY, LEAKY, BROKEN)
    }
    return {"runs": runs, "out": out, "data": data, "params": params}


@pytest.fixture(scope="module")
def tiny(setup: dict) -> StudyRun:
    run = setup["runs"]["tiny"]
    assert run.ok, run.error
    return run


def test_report_written_where_expected(tiny: StudyRun, setup: dict) -> None:
    assert tiny.html == setup["out"] / "326" / "98_tiny.html"
    assert tiny.json == setup["out"] / "326" / "98_tiny.json"
    assert tiny.executed == setup["out"] / "326" / ".work" / "98_tiny.ipynb"
    # executed notebook with outputs kept for debugging; no temporary files left behind
    assert tiny.executed.exists()
    assert not [p for p in (setup["out"] / "326").iterdir() if p.name.endswith(".tmp")]


def test_no_code_no_prompts_no_stdout(tiny: StudyRun) -> None:
    html = tiny.html.read_text(encoding="utf-8")
    for absent in (
        "SECRET-STDOUT-TEXT",
        "SECRET-STDERR-TEXT",
        "SECRET-REPR-TEXT",
        "HIDDEN-CELL-TEXT",
        "plt.subplots",  # code
        "findings.box",
        "input_area",
        "In&nbsp;[",
        "In [",
        "Out[",
        "<Figure size",
    ):
        assert absent not in html, absent
    assert "Lidt tekst." in html  # narrative kept


def test_images_embedded_and_self_contained(tiny: StudyRun) -> None:
    html = tiny.html.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html
    assert "<script src=" not in html and '<link rel="stylesheet" href=' not in html
    assert "@media print" in html


def test_header_stamp(tiny: StudyRun, setup: dict) -> None:
    html = tiny.html.read_text(encoding="utf-8")
    stamp = json.loads(tiny.json.read_text(encoding="utf-8"))["stamp"]
    assert "<h1>Testrapport</h1>" in html
    assert "Kalundborg Kommune" in html
    assert "2010–2024" in html  # period from params/defaults.yaml
    assert "Rapportdato" in html and "Reproducerbarhed" in html
    assert stamp["params_hash"] == params_hash(setup["params"])
    assert stamp["params_hash"][:12] in html
    assert stamp["data_fingerprint"] == data_fingerprint(setup["data"])
    assert stamp["data_fingerprint"] in html
    from nsv_eval import __version__

    assert f"nsv-eval {__version__}" in html
    if stamp["git_commit"]:
        assert stamp["git_commit"].rstrip("+")[:12] in html


def test_box_on_top_filled_and_matches_json(tiny: StudyRun) -> None:
    html = tiny.html.read_text(encoding="utf-8")
    data = json.loads(tiny.json.read_text(encoding="utf-8"))
    items = {i["key"]: i for i in data["findings"]}
    # the box is displayed before the figure although filled after it
    assert html.index("Hovedresultater") < html.index("data:image/png")
    assert "vises, når analysen er kørt" not in html
    assert items["answer"]["value"] == 41.95 and "Svaret er 42,0." in html
    # the kernel ran in this interpreter (CurrentPythonKernelManager)
    assert items["kernel"]["value"] == sys.executable
    assert data["parameters"]["kommune"] == 326


def test_table_suppressed_and_report_passes_check(tiny: StudyRun) -> None:
    html = tiny.html.read_text(encoding="utf-8")
    assert '<td class="nsv-count">&lt;5</td>' in html
    assert check_disclosure(tiny.html) == []


def test_tables_in_excel_beside_the_report(tiny: StudyRun) -> None:
    from openpyxl import load_workbook

    from nsv_eval.report.disclosure import scan_xlsx

    assert tiny.xlsx == tiny.html.with_suffix(".xlsx") and tiny.pdf is None
    wb = load_workbook(tiny.xlsx)
    ws = wb.worksheets[0]
    # the table the notebook displayed: year 2020 with n=3 (hidden), 2021 with n=250
    assert [c.value for c in ws[2]] == ["År", "Antal"]
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=3)][:2] == [
        [2020, "<5"],
        [2021, 250],
    ]
    assert scan_xlsx(tiny.xlsx) == []
    assert not list(tiny.html.parent.glob(".*.tmp")) and not list(
        (tiny.html.parent / ".work").glob("*.staged.*")
    )


def test_disclosure_failure_is_not_published(setup: dict) -> None:
    run = setup["runs"]["leaky"]
    assert run.status == "disclosure"
    assert not (setup["out"] / "326" / "97_leaky.html").exists()
    assert not (setup["out"] / "326" / "97_leaky.json").exists()
    kinds = {f.kind for f in run.findings}
    assert kinds == {"unmarked_table", "small_count"}
    assert "NOT published" in run.error


def test_failing_notebook(setup: dict) -> None:
    run = setup["runs"]["broken"]
    assert run.status == "failed"
    assert "ValueError" in run.error and "planted failure" in run.error
    assert not (setup["out"] / "326" / "96_broken.html").exists()


def test_missing_data_and_unknown_study(tmp_path: Path) -> None:
    run = run_study("datakvalitet", 326, data_dir=tmp_path, out_dir=tmp_path / "r")
    assert run.status == "failed"
    assert "make demo" in run.error and "nsv-eval prepare" in run.error
    with pytest.raises(Exception, match="did you mean|Did you mean"):
        get_study("datakvalite")
    assert [s.name for s in resolve_studies("all", ROOT / "notebooks")][0] == "datakvalitet"


def test_kernel_manager_uses_current_interpreter() -> None:
    spec = CurrentPythonKernelManager(kernel_name="python3").kernel_spec
    assert spec.argv[0] == sys.executable
    assert spec.argv[1:3] == ["-m", "ipykernel_launcher"]
