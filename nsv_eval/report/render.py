"""Execute study notebooks with papermill and render self-contained Danish HTML reports.

``run_study`` does, for one study and one kommune:

1. load and validate the parameters (:func:`nsv_eval.params.load_params`);
2. execute the notebook with papermill into ``<out>/<kommune>/.work/<NN_study>.ipynb``;
3. render HTML without code, prompts, stdout/stderr or plain-text reprs (management reads
   figures, tables, the "Hovedresultater" box and the narrative), images embedded as
   base64, a header with the reproducibility stamp and printable CSS;
4. scan the HTML with :func:`nsv_eval.report.disclosure.scan_html` — on any finding the
   study fails and the HTML is *not* published;
5. write ``<NN_study>.html`` and ``<NN_study>.json`` (key results + stamp) atomically,
   beside them ``<NN_study>.xlsx`` with every table the report shows
   (:mod:`nsv_eval.report.workbook`) and, with ``pdf=True``, ``<NN_study>.pdf`` printed by
   headless Chromium (:mod:`nsv_eval.report.pdf`); the workbook's cells and the PDF's text
   are scanned too, and all files are staged in ``.work/`` until every scan has passed.

The report language is the ``lang`` parameter (or ``lang=``): English only for studies
translated into it (:func:`nsv_eval.report.studies.check_language`; words in
:mod:`nsv_eval.report.i18n`).

The kernel: papermill runs the kernel named ``python3``, but the kernel *process* is always
started with the interpreter running nsv-eval (``sys.executable``), whichever ``python3``
kernelspec Jupyter would find first (a user-level spec could point at another Python
without nsv-eval). :class:`CurrentPythonKernelManager` builds ipykernel's spec from the
running interpreter (``ipykernel.kernelspec.get_kernel_dict``) and is passed to nbclient as
``kernel_manager_class``. Nothing is installed or registered globally.

Everything here is free of global state and process-safe: a batch may call
:func:`run_study` in parallel processes (distinct kommuner or studies write distinct files;
all writes are temp file + rename).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from nsv_eval import __version__
from nsv_eval.analyses import shared as shared_work
from nsv_eval.analyses.data import Prepared, pinned_code_fingerprint
from nsv_eval.analyses.shared import blas_env
from nsv_eval.errors import NsvError
from nsv_eval.params import check_kommune, load_params, notebook_parameters, params_hash
from nsv_eval.reference import kommune_name
from nsv_eval.report import definitions as report_definitions
from nsv_eval.report.disclosure import HASH_CLASS, Finding, scan_html, scan_pdf, scan_xlsx
from nsv_eval.report.findings import atomic_write_text
from nsv_eval.report.format import fmt_date, fmt_period
from nsv_eval.report.studies import (
    Study,
    check_language,
    default_notebook_dir,
    get_study,
    resolve_studies,
)
from nsv_eval.report.warm import WarmKernel, warm_disabled
from nsv_eval.report.workbook import tables_from_notebook, write_tables_xlsx

KERNEL_NAME = "python3"

KERNEL_NICE = 10
"""How much nicer than ``run`` its warm kernel starts while worker processes compute the
national work beside it (:func:`run_studies`)."""


def current_python_kernel_spec() -> Any:
    """ipykernel's kernel spec for the running interpreter (``sys.executable``)."""
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec

    spec = get_kernel_dict()
    # The kernel's own log (ipykernel 7 warns about its loopback TCP transport on every
    # start and logs the interrupt at shutdown) would clutter `run`/`batch` output; errors
    # in cells still reach the notebook, and a kernel that fails to start still prints its
    # traceback.
    spec["argv"] = [*spec["argv"], "--IPKernelApp.log_level=CRITICAL"]
    # one BLAS thread per kernel, as in the shared-work processes beside it (see
    # nsv_eval.analyses.shared.BLAS_ENV: processes use the cores; numbers do not depend on
    # which process computed them); a value set by the user is kept
    spec["env"] = {**spec.get("env", {}), **blas_env()}
    return KernelSpec(resource_dir=RESOURCES, **spec)


class CurrentPythonKernelManager(AsyncKernelManager):
    """Kernel manager that starts ipykernel with the current interpreter (``sys.executable``)."""

    @property
    def kernel_spec(self):
        if getattr(self, "_nsv_spec", None) is None:
            self._nsv_spec = current_python_kernel_spec()
        return self._nsv_spec


# ----------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------


@dataclass
class StudyRun:
    """Outcome of :func:`run_study`.

    Attributes
    ----------
    study : str
        Study name.
    kommune : int
        Kommune code.
    status : str
        ``"ok"``, ``"failed"`` (the notebook or rendering failed) or ``"disclosure"`` (the
        disclosure check found problems; nothing was published).
    html, json : Path or None
        The published report and key results (None unless ``status == "ok"``).
    xlsx : Path or None
        The report's tables as an Excel workbook (None if the report shows no table).
    pdf : Path or None
        The report printed to PDF (only when asked for).
    executed : Path or None
        The executed notebook in ``.work/`` (kept for debugging, not for management).
    error : str or None
        What went wrong, in one paragraph.
    findings : list of Finding
        Disclosure findings (``status == "disclosure"``).
    seconds : float
        Wall time.
    """

    study: str
    kommune: int
    status: str
    html: Path | None = None
    json: Path | None = None
    executed: Path | None = None
    xlsx: Path | None = None
    pdf: Path | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the report was published."""
        return self.status == "ok"


# ----------------------------------------------------------------------------------------
# stamp
# ----------------------------------------------------------------------------------------


def check_prepared(data_dir: str | Path) -> Path:
    """Return ``data_dir`` if it holds prepared data, else raise NsvError naming the command."""
    d = Path(data_dir)
    if not (d / "manifest.json").exists():
        raise NsvError(
            f"No prepared data in {d} (manifest.json is missing). Make it with `make demo` "
            f"(synthetic data; or `make data` to prepare only), or for your own extracts with "
            f"`nsv-eval prepare --raw DIR --out {d}`."
        )
    return d


def data_fingerprint(data_dir: str | Path) -> str:
    """Fingerprint of the prepared data: the one that keys the analysis caches.

    It is :attr:`nsv_eval.analyses.data.Prepared.fingerprint` (SHA-256 of the input
    fingerprints listed in ``manifest.json``), so a report can be matched to its caches.
    """
    return Prepared(check_prepared(data_dir)).fingerprint


def _manifest(data_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def git_commit(path: str | Path | None = None) -> str | None:
    """Commit of the source tree nsv-eval runs from (``+`` if modified), or None."""
    where = Path(path) if path else Path(__file__).resolve().parents[2]
    if not shutil.which("git") or not (where / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+" if dirty else "")


def build_stamp(
    study: Study,
    kommune: int,
    params: Mapping[str, Any],
    data_dir: str | Path,
    *,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The reproducibility stamp of a report (also stored in its JSON)."""
    d = Path(data_dir)
    man = _manifest(d)
    return {
        "study": study.name,
        "slug": study.slug,
        "title": study.title(params.get("lang", "da")),
        "lang": params.get("lang", "da"),
        "kommune": int(kommune),
        "kommune_name": kommune_name(kommune),
        "period": [int(params["period"]["start"]), int(params["period"]["end"])],
        "data_period": man.get("period"),
        "report_date": (today or dt.date.today()).isoformat(),
        "nsv_eval_version": __version__,
        "python": sys.version.split()[0],
        "params_hash": params_hash(params),
        "params_files": list(params.get("sources", [])),
        "data_fingerprint": data_fingerprint(d),
        "data_dir": str(d.resolve()),
        "git_commit": git_commit(),
    }


# ----------------------------------------------------------------------------------------
# execution
# ----------------------------------------------------------------------------------------


def execute_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any],
    *,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    kernel: WarmKernel | None = None,
) -> Path:
    """Execute ``notebook`` with papermill, injecting ``parameters``; write ``output``.

    The kernel runs in the current interpreter (see :class:`CurrentPythonKernelManager`).
    With ``kernel`` (a :class:`~nsv_eval.report.warm.WarmKernel`) the notebook runs in that
    already warm kernel, reset to its warm-up state first; without it a kernel is started
    for this notebook alone. Raises ``papermill.PapermillExecutionError`` when a cell fails
    (the output notebook is still written, with the error).
    """
    if kernel is not None:
        return kernel.execute(notebook, output, parameters, cwd=cwd, timeout=timeout)
    import papermill as pm

    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(notebook),
        str(out),
        parameters=dict(parameters),
        kernel_name=KERNEL_NAME,
        language="python",
        cwd=str(cwd) if cwd else None,
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        execution_timeout=timeout,
        kernel_manager_class=CurrentPythonKernelManager,
    )
    return out


# ----------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------

KEEP_MIMETYPES = ("text/html", "image/png", "image/jpeg", "image/svg+xml", "text/markdown")
"""Output types that reach a management report; text/plain-only outputs and streams don't."""

REMOVE_CELL_TAGS = ("remove-cell", "remove_cell", "hide")
REMOVE_OUTPUT_TAGS = ("remove-output", "remove_output", "hide-output")


def _management_outputs(nb: Any) -> Any:
    """Drop what management must not see: stdout/stderr, errors, plain-text reprs."""
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "code":
            if tags & set(REMOVE_OUTPUT_TAGS) or "parameters" in tags:
                cell.outputs = []
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if o.get("output_type") in ("display_data", "execute_result")
                and any(m in o.get("data", {}) for m in KEEP_MIMETYPES)
            ]
            for o in cell.outputs:  # never let the text/plain fallback through
                o["data"] = {k: v for k, v in o["data"].items() if k in KEEP_MIMETYPES}
    nb.cells = [
        c
        for c in nb.cells
        if not (set(c.get("metadata", {}).get("tags", [])) & set(REMOVE_CELL_TAGS))
        and not (c.cell_type == "code" and not c.get("outputs"))
        and c.cell_type != "raw"
    ]
    return nb


def notebook_body_html(nb: Any) -> str:
    """Body HTML of an executed notebook: no code, no prompts, images as data URIs."""
    import copy

    from nbconvert import HTMLExporter

    from nsv_eval.report.i18n import tr_markdown

    nb = _management_outputs(copy.deepcopy(nb))
    for cell in nb.cells:  # English reports: the catalogue's text of each markdown cell
        if cell.cell_type == "markdown":
            cell.source = tr_markdown(cell.source)
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


REPORT_CSS = """
:root { --blue: #0072B2; --grey: #555; }
* { box-sizing: border-box; }
body { font-family: "Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, sans-serif;
  font-size: 11.5pt; line-height: 1.45; color: #111; background: #fff; margin: 0; }
main { max-width: 920px; margin: 0 auto; padding: 1.5em 2em 3em 2em; }
header.nsv-header { border-bottom: 3px solid var(--blue); margin-bottom: 1.2em; padding-bottom: .6em; }
header.nsv-header h1 { font-size: 1.9em; margin: .1em 0 .2em 0; color: var(--blue); }
header.nsv-header .nsv-kommune { font-size: 1.25em; font-weight: 600; margin: 0; }
header.nsv-header dl { display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em;
  font-size: .85em; color: var(--grey); margin: .6em 0 0 0; }
header.nsv-header dt { font-weight: 600; } header.nsv-header dd { margin: 0; }
code.nsv-hash { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: .95em; }
h1, h2, h3 { line-height: 1.2; } h2 { color: var(--blue); margin-top: 1.4em; }
a.anchor-link { display: none; }
img { max-width: 100%; height: auto; display: block; margin: .6em 0; }
.nsv-findings { border: 2px solid var(--blue); border-radius: 6px; background: #F2F8FC;
  padding: .6em 1.2em; margin: .5em 0 1.2em 0; }
.nsv-findings li { margin: .25em 0; }
.nsv-table-wrap { margin: .8em 0 1.2em 0; overflow-x: auto; }
table.nsv-table { border-collapse: collapse; font-size: .92em; min-width: 40%; }
table.nsv-table caption { text-align: left; font-weight: 600; padding-bottom: .3em; }
table.nsv-table th { border-bottom: 2px solid #333; text-align: left; padding: .25em .6em;
  vertical-align: bottom; }
table.nsv-table td { border-bottom: 1px solid #ddd; padding: .2em .6em; }
table.nsv-table td.nsv-count, table.nsv-table td.nsv-rate, table.nsv-table td.nsv-num,
table.nsv-table th.nsv-count-head, table.nsv-table th.nsv-rate-head { text-align: right;
  font-variant-numeric: tabular-nums; }
table.nsv-table tr:last-child td { border-bottom: 2px solid #333; }
.nsv-footnote { font-size: .82em; color: var(--grey); margin: .15em 0; }
footer.nsv-footer { margin-top: 2.5em; border-top: 1px solid #ccc; padding-top: .5em;
  font-size: .8em; color: var(--grey); }
@media print {
  @page { size: A4; margin: 16mm 14mm 18mm 14mm; }
  body { font-size: 10.5pt; } main { max-width: none; padding: 0; }
  img, table.nsv-table, .nsv-table-wrap, tr, .nsv-findings li, .jp-RenderedImage
    { break-inside: avoid; page-break-inside: avoid; }
  /* the Hovedresultater box comes right after the header and may continue on page 2
     rather than leave page 1 (a long box kept whole would be pushed off page 1) */
  .nsv-findings { break-inside: auto; margin-top: .2em; }
  header.nsv-header { margin-bottom: .6em; } header.nsv-header h1 { font-size: 1.6em; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  .nsv-footer { break-inside: avoid; }
  .nsv-table-wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"""

PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nsv-eval {{ stamp.nsv_eval_version }}">
<title>{{ stamp.title }} – {{ kommune }}</title>
<style>{{ css }}</style>
</head>
<body>
<main>
<header class="nsv-header">
<h1>{{ stamp.title }}</h1>
<p class="nsv-kommune">{{ kommune }}</p>
<dl>
<dt>{{ w.period }}</dt><dd>{{ period }}</dd>
<dt>{{ w.report_date }}</dt><dd>{{ report_date }}</dd>
<dt>Version</dt><dd>nsv-eval {{ stamp.nsv_eval_version }}</dd>
<dt>{{ w.reproducibility }}</dt><dd>{{ w.params }} <code class="nsv-hash">{{ stamp.params_hash[:12] }}</code>,
data <code class="nsv-hash">{{ stamp.data_fingerprint }}</code>,
{{ w.code }} <code class="nsv-hash">{{ commit }}</code>{{ dirty }}</dd>
</dl>
</header>
{{ body }}
{{ appendix }}
<footer class="nsv-footer">
{{ w.made_with }} nsv-eval {{ stamp.nsv_eval_version }} {{ w.on }} {{ report_date }}.
{{ w.small_counts }} {{ w.parameters }}: {{ params_files }}.
{{ w.fingerprint }} {{ stamp.data_fingerprint }} {{ w.identifies }}
</footer>
</main>
</body>
</html>
"""


PAGE_WORDS: dict[str, dict[str, str]] = {
    "da": {
        "kommune": "{name} Kommune",
        "period": "Periode",
        "report_date": "Rapportdato",
        "reproducibility": "Reproducerbarhed",
        "params": "parametre",
        "code": "kode",
        "dirty": " (med lokale ændringer)",
        "unknown": "ukendt",
        "made_with": "Rapporten er lavet med",
        "on": "den",
        "small_counts": "Alle antal under 5 er skjult af hensyn til diskretion.",
        "parameters": "Parametre",
        "fingerprint": "Dataaftryk (fingerprint)",
        "identifies": "identificerer datagrundlaget.",
    },
    "en": {
        "kommune": "{name} Municipality",
        "period": "Period",
        "report_date": "Report date",
        "reproducibility": "Reproducibility",
        "params": "parameters",
        "code": "code",
        "dirty": " (with local changes)",
        "unknown": "unknown",
        "made_with": "This report was made with",
        "on": "on",
        "small_counts": "All counts below 5 are hidden to protect confidentiality.",
        "parameters": "Parameters",
        "fingerprint": "The data fingerprint",
        "identifies": "identifies the data.",
    },
}
"""The words of the page around the notebook (header, footer), per report language."""


def kommune_title(stamp: Mapping[str, Any], lang: str = "da") -> str:
    """``Kalundborg Kommune`` / ``Kalundborg Municipality``."""
    return PAGE_WORDS[lang]["kommune"].format(name=stamp["kommune_name"])


def pdf_footer(stamp: Mapping[str, Any]) -> str:
    """Footer text of every PDF page: kommune · study · report date."""
    lang = stamp.get("lang", "da")
    from nsv_eval.report.i18n import use_lang

    with use_lang(lang):
        return f"{kommune_title(stamp, lang)} · {stamp['title']} · {fmt_date(stamp['report_date'])}"


def render_report(
    nb: Any, stamp: Mapping[str, Any], appendix: str = "", lang: str | None = None
) -> str:
    """The complete HTML page of a report: header with stamp, notebook body, ``appendix``
    (the "Definitioner og datagrundlag" section, :mod:`nsv_eval.report.definitions`), footer.

    ``lang`` (default ``stamp["lang"]``, else Danish) sets the words of the page and, in
    English, translates the notebook's markdown cells (:func:`nsv_eval.report.i18n.tr_markdown`).
    """
    from nsv_eval.report.i18n import use_lang

    lang = lang or stamp.get("lang", "da")
    with use_lang(lang):
        return _render_report(nb, stamp, lang, appendix)


def _render_report(nb: Any, stamp: Mapping[str, Any], lang: str, appendix: str = "") -> str:
    import jinja2

    commit = stamp.get("git_commit")
    if commit:
        commit = commit.rstrip("+")[:12] + ("+" if commit.endswith("+") else "")
    page = jinja2.Environment(autoescape=False).from_string(PAGE_TEMPLATE)
    esc = {k: html.escape(str(v)) if isinstance(v, str) else v for k, v in stamp.items()}
    w = PAGE_WORDS[lang]
    return page.render(
        stamp=esc,
        lang=lang,
        w=w,
        kommune=html.escape(kommune_title(stamp, lang)),
        css=REPORT_CSS,
        period=fmt_period(*stamp["period"]),
        report_date=fmt_date(stamp["report_date"]),
        commit=html.escape((commit or w["unknown"]).rstrip("+")),
        params_files=html.escape(", ".join(Path(p).name for p in stamp.get("params_files", []))),
        dirty=w["dirty"] if commit and commit.endswith("+") else "",
        body=notebook_body_html(nb),
        appendix=appendix,
    )


# ----------------------------------------------------------------------------------------
# run
# ----------------------------------------------------------------------------------------


def _load(params: Mapping[str, Any] | str | Path | None, kommune: int, params_dir: Any) -> dict:
    from nsv_eval.params import default_params_dir

    pdir = Path(params_dir) if params_dir else default_params_dir()
    if params is None:
        return load_params(kommune, pdir)
    if isinstance(params, str | Path):
        return load_params(kommune, pdir, extra=params)
    p = dict(params)
    if int(p.get("kommune", kommune)) != int(kommune):
        raise NsvError(f"params are for kommune {p['kommune']}, the run is for {kommune}")
    p["kommune"] = int(kommune)
    return p


def _error_text(exc: BaseException) -> str:
    try:
        from papermill.exceptions import PapermillExecutionError
    except ImportError:  # pragma: no cover
        PapermillExecutionError = ()  # noqa: N806
    if isinstance(exc, PapermillExecutionError):
        return f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    if isinstance(exc, NsvError | ValueError | KeyError | FileNotFoundError):
        return f"{type(exc).__name__}: {exc}"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def run_study(
    study: str | Study,
    kommune: int,
    *,
    data_dir: str | Path = "data/prepared",
    out_dir: str | Path = "reports",
    params: Mapping[str, Any] | str | Path | None = None,
    params_dir: str | Path | None = None,
    shared_dir: str | Path | None = None,
    notebook_dir: str | Path | None = None,
    timeout: float | None = None,
    today: dt.date | None = None,
    kernel: WarmKernel | None = None,
    pdf: bool = False,
    lang: str | None = None,
) -> StudyRun:
    """Execute, render, check and publish one study for one kommune.

    Parameters
    ----------
    study : str or Study
        Study name (see :data:`nsv_eval.report.studies.STUDIES`).
    kommune : int
        Kommune code.
    data_dir : str or Path
        Prepared data (``nsv-eval prepare``).
    out_dir : str or Path
        Reports root; the report goes to ``<out_dir>/<kommune>/<NN_study>.html``.
    params : mapping, str/Path or None
        Parameters already loaded with :func:`nsv_eval.params.load_params`, or an extra
        YAML file merged over the defaults, or None (defaults + kommune override).
    params_dir : str or Path, optional
        Directory of ``defaults.yaml`` (default: ``params/`` of the working directory or of
        the source tree).
    shared_dir : str or Path, optional
        Directory of precomputed national preparations shared by a batch; passed to the
        notebook (``shared_dir`` parameter) and on to ``load_prepared``.
    notebook_dir : str or Path, optional
        Where the study notebooks are (default ``notebooks/`` of the source tree).
    timeout : float, optional
        Per-cell time limit in seconds.
    today : datetime.date, optional
        Report date (default today).
    kernel : WarmKernel, optional
        Execute in this warm kernel (:mod:`nsv_eval.report.warm`) instead of a new one.
    pdf : bool
        Also print the report to ``<NN_study>.pdf`` with headless Chromium
        (:mod:`nsv_eval.report.pdf`).
    lang : {"da", "en"}, optional
        Report language, overriding the ``lang`` parameter. A study that is not translated
        (:attr:`Study.languages`) refuses English with a message naming it.

    Every table the report shows is also written to ``<NN_study>.xlsx`` (numbers as
    numbers, already disclosure-controlled; :mod:`nsv_eval.report.workbook`). The HTML,
    the PDF's text and the workbook's cells are all scanned before anything is published.

    Returns
    -------
    StudyRun
        Never raises for a failing notebook: the error is in ``.error`` and ``.status``.
    """
    run, pending = execute_study(
        study,
        kommune,
        data_dir=data_dir,
        out_dir=out_dir,
        params=params,
        params_dir=params_dir,
        shared_dir=shared_dir,
        notebook_dir=notebook_dir,
        timeout=timeout,
        today=today,
        kernel=kernel,
        pdf=pdf,
        lang=lang,
    )
    if pending is None:
        return run
    return publish_study(pending, run)


def execute_study(
    study: str | Study,
    kommune: int,
    *,
    data_dir: str | Path = "data/prepared",
    out_dir: str | Path = "reports",
    params: Mapping[str, Any] | str | Path | None = None,
    params_dir: str | Path | None = None,
    shared_dir: str | Path | None = None,
    notebook_dir: str | Path | None = None,
    timeout: float | None = None,
    today: dt.date | None = None,
    kernel: WarmKernel | None = None,
    pdf: bool = False,
    lang: str | None = None,
) -> tuple[StudyRun, dict[str, Any] | None]:
    """The first half of :func:`run_study`: execute the notebook, check its key results.

    Nothing is published: the previous report's files are removed and the executed
    notebook and key results are left in ``<out_dir>/<kommune>/.work/``.
    :func:`publish_study` renders, checks and publishes them — possibly in another process
    (a batch's parent publishes one report while its worker executes the next).

    Returns
    -------
    tuple
        The :class:`StudyRun` so far and the picklable *pending report* (a dict) to pass
        to :func:`publish_study`; None instead of the dict when execution failed (the run
        then says why).
    """
    t0 = time.monotonic()
    name = study.name if isinstance(study, Study) else str(study)
    try:
        kommune = check_kommune(kommune)
    except NsvError as exc:
        return StudyRun(name, -1, "failed", error=str(exc)), None
    run = StudyRun(name, kommune, "failed")
    pending: dict[str, Any] | None = None
    out = Path(out_dir) / str(kommune)
    work = out / ".work"
    try:
        st = study if isinstance(study, Study) else get_study(study)
        run.study = st.name
        nb_path = Path(notebook_dir or default_notebook_dir()) / st.notebook
        if not nb_path.exists():
            raise NsvError(f"The notebook of study '{st.name}' ({nb_path}) does not exist yet.")
        data = check_prepared(data_dir).resolve()
        p = _load(params, kommune, params_dir)
        manifest = _manifest(data)
        selection = report_definitions.resolve_selection(manifest, p)
        if lang is not None:
            p = {**p, "lang": lang}
        check_language(st, p.get("lang", "da"))
        if pdf:
            from nsv_eval.report.pdf import require_chromium

            require_chromium()
        html_path, json_path = out / f"{st.slug}.html", out / f"{st.slug}.json"
        xlsx_path, pdf_path = out / f"{st.slug}.xlsx", out / f"{st.slug}.pdf"
        results = (work / f"{st.slug}.results.json").resolve()
        executed = work / f"{st.slug}.ipynb"
        work.mkdir(parents=True, exist_ok=True)
        # a failed run must not leave an older report looking current
        for f in (html_path, json_path, results, xlsx_path, pdf_path):
            f.unlink(missing_ok=True)
        nb_params = notebook_parameters(p, st.name) | {
            "data_dir": str(data),
            "results_path": str(results),
            "shared_dir": str(Path(shared_dir).resolve()) if shared_dir else None,
        }
        stamp = build_stamp(st, kommune, p, data, today=today)
        run.executed = executed
        execute_notebook(nb_path, executed, nb_params, cwd=work, timeout=timeout, kernel=kernel)
        if not results.exists():
            raise NsvError(
                f"The notebook wrote no key results ({results.name}): it must create "
                "Findings(results_path) and add at least one result."
            )
        key_results = json.loads(results.read_text(encoding="utf-8"))
        if not key_results.get("findings"):
            raise NsvError("The notebook added no key results to the Hovedresultater box.")
        pending = {
            "study": st,
            "kommune": kommune,
            "params": p,
            "manifest": manifest,
            "selection": selection,
            "stamp": stamp,
            "nb_params": nb_params,
            "key_results": key_results,
            "pdf": pdf,
            "out": str(out),
            "executed": str(executed),
        }
    except Exception as exc:  # noqa: BLE001 - a batch must survive one failing study
        run.status = "failed"
        run.error = _error_text(exc)
        pending = None
    finally:
        run.seconds = time.monotonic() - t0
    return run, pending


def publish_study(pending: Mapping[str, Any], run: StudyRun | None = None) -> StudyRun:
    """The second half of :func:`run_study`: render, check and publish an executed report.

    Renders the HTML (with the definitions appendix), runs the disclosure check on the
    page, the workbook and (``pdf``) the PDF, then publishes the key-results JSON, the
    workbook, the PDF and the HTML by atomic renames; nothing is published when a check
    fails. Never raises: an error is in the returned run's ``.error`` and ``.status``.

    Parameters
    ----------
    pending : mapping
        What :func:`execute_study` returned.
    run : StudyRun, optional
        The run so far (its ``seconds`` are added to); a new one when omitted.
    """
    t0 = time.monotonic()
    st: Study = pending["study"]
    kommune = int(pending["kommune"])
    if run is None:
        run = StudyRun(st.name, kommune, "failed", executed=Path(pending["executed"]))
    run.status = "failed"
    p = pending["params"]
    manifest, selection = pending["manifest"], pending["selection"]
    stamp, nb_params, key_results = pending["stamp"], pending["nb_params"], pending["key_results"]
    pdf = bool(pending["pdf"])
    out = Path(pending["out"])
    work = out / ".work"
    executed = Path(pending["executed"])
    html_path, json_path = out / f"{st.slug}.html", out / f"{st.slug}.json"
    xlsx_path, pdf_path = out / f"{st.slug}.xlsx", out / f"{st.slug}.pdf"
    try:
        import nbformat

        nb = nbformat.read(executed, as_version=4)
        appendix = (
            report_definitions.appendix_html(
                st.definitions,
                selection,
                data_note=report_definitions.data_note(manifest, p.get("lang", "da")),
                lang=p.get("lang", "da"),
            )
            if st.definitions
            else ""  # a study without indicator definitions describes its data itself
        )
        page = render_report(nb, stamp, appendix, lang=p.get("lang", "da"))
        problems = scan_html(page, html_path)
        rejected = work / f"{st.slug}.rejected-html"  # for inspection; not .html
        # the other files are made in .work/ and checked before anything is published
        staged: list[tuple[Path, Path]] = []
        if not problems:
            tables = tables_from_notebook(nb)
            if tables:
                from nsv_eval.report.i18n import tr, use_lang

                x_tmp = work / f"{st.slug}.staged.xlsx"
                with use_lang(p.get("lang", "da")):
                    write_tables_xlsx(
                        tables,
                        x_tmp,
                        title=f"{stamp['title']} – {kommune_title(stamp, p.get('lang', 'da'))}",
                        source=tr("nsv-eval {version}, rapportdato {date}, data {fp}").format(
                            version=stamp["nsv_eval_version"],
                            date=stamp["report_date"],
                            fp=stamp["data_fingerprint"],
                        ),
                    )
                problems += [replace(f, path=xlsx_path) for f in scan_xlsx(x_tmp)]
                staged.append((x_tmp, xlsx_path))
        if not problems and pdf:
            from nsv_eval.report.pdf import html_to_pdf

            h_tmp = work / f"{st.slug}.print.html"
            p_tmp = work / f"{st.slug}.staged.pdf"
            atomic_write_text(h_tmp, page)
            html_to_pdf(h_tmp, p_tmp, footer=pdf_footer(stamp), lang=p.get("lang", "da"))
            h_tmp.unlink(missing_ok=True)
            problems += [replace(f, path=pdf_path) for f in scan_pdf(p_tmp)]
            staged.append((p_tmp, pdf_path))
        if problems:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            run.status = "disclosure"
            run.findings = problems
            atomic_write_text(rejected, page)
            listing = "\n".join(f"  {f}" for f in problems[:20])
            more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
            run.error = (
                f"Disclosure check failed ({len(problems)} problem(s)); the report was NOT "
                f"published. The page is kept for inspection in {rejected}.\n{listing}{more}"
            )
            return run
        payload = {
            "status": "ok",
            "stamp": stamp,
            "parameters": nb_params | {"data_dir": stamp["data_dir"], "results_path": None},
            "findings": report_definitions.annotate_findings(
                key_results.get("findings", []), st.definitions, selection
            ),
            "values": key_results.get("values", {}),
            "definitions": report_definitions.stamps(st.definitions, selection),
        }
        atomic_write_text(
            json_path, json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n"
        )
        for tmp, final in staged:
            os.replace(tmp, final)
            if final.suffix == ".xlsx":
                run.xlsx = final
            else:
                run.pdf = final
        atomic_write_text(html_path, page)
        run.status, run.html, run.json = "ok", html_path, json_path
    except Exception as exc:  # noqa: BLE001 - a batch must survive one failing study
        run.status = "failed"
        run.error = _error_text(exc)
    finally:
        run.seconds += time.monotonic() - t0
    return run


def run_studies(
    studies: str | Sequence[str] = "all",
    kommune: int = 326,
    *,
    data_dir: str | Path = "data/prepared",
    out_dir: str | Path = "reports",
    params: Mapping[str, Any] | str | Path | None = None,
    params_dir: str | Path | None = None,
    shared_dir: str | Path | None = None,
    notebook_dir: str | Path | None = None,
    timeout: float | None = None,
    progress: Any = None,
    kernel: WarmKernel | None = None,
    pdf: bool = False,
    lang: str | None = None,
    jobs: int = 2,
) -> list[StudyRun]:
    """Run several studies for one kommune, in report order (sequentially).

    Validates the study names, the kommune, the parameters and the prepared data *before*
    executing anything (raising :class:`~nsv_eval.errors.NsvError`); then calls
    :func:`run_study` for each. ``progress`` (optional callable) receives each StudyRun.
    All studies run in one warm kernel (``kernel``, or one started here and shut down at
    the end; ``NSV_COLD_KERNEL=1`` gives every study its own kernel instead).
    ``pdf`` and ``lang`` are passed on to :func:`run_study` (with ``pdf`` Chromium must be
    found before anything runs).

    The slow national work of the chosen studies (:func:`nsv_eval.analyses.shared.pieces`
    with this kommune's parameters, of the studies in
    :data:`~nsv_eval.analyses.shared.BESIDE_KERNEL`: the pieces a batch computes in
    ``prepare_shared``) is computed by ``jobs`` worker processes (0: none; the notebooks then compute it
    themselves) while the kernel executes the reports that do not need it; a study's
    notebook starts when its pieces are in the shared directory (``shared_dir``, default
    ``<data_dir>/cache`` as for the notebooks). A piece that fails is left to the notebook,
    which computes it itself and reports its error.
    """
    kommune = check_kommune(kommune)
    spec = list(studies) if not isinstance(studies, str) else studies
    chosen = resolve_studies(spec, notebook_dir)
    check_prepared(data_dir)
    loaded = _load(params, kommune, params_dir)
    if lang is not None and lang not in ("da", "en"):
        raise NsvError(f"--lang must be 'da' or 'en', got {lang!r}")
    if pdf:
        from nsv_eval.report.pdf import require_chromium

        require_chromium()
    todo = (
        [
            p
            for p in shared_work.pieces([st.name for st in chosen], loaded)
            if p.study in shared_work.BESIDE_KERNEL
        ]
        if jobs > 0
        else []
    )
    own = kernel is None and not warm_disabled()
    if own:
        # beside the workers the kernel gets a lower priority: its reports (studies 1-7)
        # fit in the time the workers' serialised panel pieces take, which are the critical
        # path of the whole run
        kernel = WarmKernel(nice=KERNEL_NICE if todo else 0)
    # one code fingerprint (memo key) for all studies of the run, computed here and
    # inherited by the kernel(s) started below (nsv_eval.analyses.data.code_fingerprint)
    background: shared_work.SharedWork | None = None
    try:
        with pinned_code_fingerprint():
            if todo:
                background = shared_work.start(
                    Path(data_dir).resolve(),
                    Path(shared_dir).resolve() if shared_dir else None,
                    todo,
                    jobs=jobs,
                )
            return _run_all(
                chosen,
                kommune,
                data_dir,
                out_dir,
                loaded,
                shared_dir,
                notebook_dir,
                timeout,
                progress,
                kernel,
                pdf,
                lang,
                background,
            )
    finally:
        if background is not None:
            background.close()
            for label, text in background.errors.items():
                # the notebook computed it itself (and reported a real error in the report)
                warnings.warn(
                    f"the shared national work {label} failed in its worker process: "
                    f"{text.strip().splitlines()[-1]}",
                    RuntimeWarning,
                    stacklevel=2,
                )
        if own and kernel is not None:
            kernel.shutdown()


def _run_all(
    chosen: list[Study],
    kommune: int,
    data_dir: str | Path,
    out_dir: str | Path,
    loaded: dict,
    shared_dir: str | Path | None,
    notebook_dir: str | Path | None,
    timeout: float | None,
    progress: Any,
    kernel: WarmKernel | None,
    pdf: bool,
    lang: str | None,
    background: shared_work.SharedWork | None = None,
) -> list[StudyRun]:
    runs = []
    for st in chosen:
        if background is not None:
            background.wait(st.name)  # its national work, computed beside the kernel
        r = run_study(
            st,
            kommune,
            data_dir=data_dir,
            out_dir=out_dir,
            params=loaded,
            shared_dir=shared_dir,
            notebook_dir=notebook_dir,
            timeout=timeout,
            kernel=kernel,
            pdf=pdf,
            lang=lang,
        )
        if progress is not None:
            progress(r)
        runs.append(r)
    return runs


__all__ = [
    "HASH_CLASS",
    "KERNEL_NAME",
    "CurrentPythonKernelManager",
    "StudyRun",
    "build_stamp",
    "current_python_kernel_spec",
    "check_prepared",
    "data_fingerprint",
    "execute_notebook",
    "execute_study",
    "git_commit",
    "notebook_body_html",
    "publish_study",
    "render_report",
    "run_studies",
    "run_study",
]
