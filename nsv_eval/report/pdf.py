"""Print a rendered report to PDF with headless Chromium (Debian's ``chromium`` package).

The PDF is what management files in the case system (ESDH): A4, the report's own print
stylesheet (``@media print`` in :data:`nsv_eval.report.render.REPORT_CSS`: no figure or
table split across pages, the Hovedresultater box on page 1), and a footer on every page
with the kommune, the study, the report date and "Side n af N".

Why the DevTools protocol and not ``chromium --print-to-pdf``: the command-line switch can
only print Chromium's own header/footer (file URL and date) or none at all
(``--print-to-pdf-no-header``), and Chromium does not support CSS ``@page`` margin boxes
(``@bottom-center { content: counter(page) }``), so page numbers need
``Page.printToPDF`` with a ``footerTemplate``. We talk to the browser over
``--remote-debugging-pipe`` (file descriptors 3 and 4, JSON messages separated by NUL):
no TCP port to race for on a shared machine, and no client library: the few commands we
send (open a tab, navigate, wait for ``load``, print, close) fit in the small synchronous
client below, where the Python DevTools clients on PyPI need a TCP endpoint with an
asyncio websocket stack (pycdp, pychrome) or bring their own browser build (playwright,
a download of ~150 MB beside Debian's chromium).
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nsv_eval.errors import NsvError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-pipe",
)

MM_PER_INCH = 25.4
A4_MM = (210.0, 297.0)
MARGINS_MM = {"top": 14.0, "bottom": 18.0, "left": 14.0, "right": 14.0}
"""Page margins; the bottom margin holds the footer."""

FOOTER_TEMPLATE = (
    '<div style="font-family: Arial, Helvetica, sans-serif; font-size: 8px; color: #555; '
    'width: 100%; margin: 0 14mm; display: flex; justify-content: space-between;">'
    "<span>{left}</span>"
    '<span>{page} <span class="pageNumber"></span> {of} <span class="totalPages"></span></span>'
    "</div>"
)
"""Chromium footer template: ``pageNumber``/``totalPages`` are filled in by the browser."""


_TRAMPOLINE = (
    "import os, sys\n"
    "r, w = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))\n"
    "os.dup2(r, 3)\n"
    "os.dup2(w, 4)\n"
    "os.set_inheritable(3, True)\n"  # dup2 onto itself keeps close-on-exec
    "os.set_inheritable(4, True)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)
"""Run as ``python -c``: pipe ends to descriptors 3 and 4 (inheritable), then exec Chromium."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``NSV_CHROMIUM`` first), or None."""
    env = os.environ.get("NSV_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """Path of Chromium, or an :class:`NsvError` that says how to install it."""
    found = find_chromium()
    if found is None:
        raise NsvError(
            "PDF needs headless Chromium, which was not found (looked for "
            + ", ".join(CHROMIUM_NAMES)
            + " and $NSV_CHROMIUM). On Debian/Ubuntu: `sudo apt-get install -y chromium` "
            "(`make test` installs it the same way); or run without --pdf."
        )
    return found


class _Pipe:
    """Minimal synchronous DevTools client over ``--remote-debugging-pipe``."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int) -> None:
        self.proc = proc
        self.out = to_browser
        self.inp = from_browser
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None):
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.out, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.inp], [], [], min(left, 1.0))
            if not ready:
                if self.proc.poll() is not None:
                    raise NsvError(f"Chromium exited (status {self.proc.returncode})")
                continue
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise NsvError("Chromium closed the DevTools pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        mid = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_message(deadline)
            if msg.get("id") == mid:
                if "error" in msg:
                    raise NsvError(f"Chromium: {method} failed: {msg['error'].get('message')}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method: str, session: str | None, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    del self.events[i]
                    return
            msg = self._read_message(deadline)
            if "method" in msg:
                self.events.append(msg)


def footer_html(left: str, *, lang: str = "da") -> str:
    """The footer template: ``left`` (escaped) and "Side n af N" / "Page n of N"."""
    page, of = ("Page", "of") if lang == "en" else ("Side", "af")
    return FOOTER_TEMPLATE.format(left=html.escape(left), page=page, of=of)


def html_to_pdf(
    html_path: str | Path,
    pdf_path: str | Path,
    *,
    footer: str = "",
    lang: str = "da",
    timeout: float = 120.0,
    chromium: str | None = None,
) -> Path:
    """Print an HTML file to an A4 PDF with a footer, via headless Chromium.

    Parameters
    ----------
    html_path : str or Path
        The (self-contained) report page.
    pdf_path : str or Path
        Where to write the PDF (written to a temporary file first, then renamed).
    footer : str
        Text at the left of every page's footer (kommune, study, date).
    lang : {"da", "en"}
        Language of "Side n af N".
    timeout : float
        Seconds allowed for the whole print.
    chromium : str, optional
        Browser executable (default :func:`require_chromium`).

    Returns
    -------
    Path
        ``pdf_path``.
    """
    exe = chromium or require_chromium()
    src = Path(html_path).resolve()
    dst = Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="nsv-chromium-") as profile:
        # the browser reads commands on fd 3 and writes answers on fd 4
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()

        # A tiny single-threaded trampoline (a fresh interpreter) puts the pipe ends on
        # descriptors 3 and 4 and execs the browser: no preexec_fn, which is unsafe in
        # threaded processes such as dask workers, and no shell (dash only takes
        # single-digit descriptors). Copied first, as a pipe end may itself be 3 or 4.
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(cmd_r), str(res_w), exe]
            + [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(cmd_r, res_w),
        )
        os.close(cmd_r)
        os.close(res_w)
        pipe = _Pipe(proc, cmd_w, res_r)
        try:
            t_end = time.monotonic() + timeout
            target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)
            sess = pipe.call(
                "Target.attachToTarget",
                {"targetId": target["targetId"], "flatten": True},
                timeout=timeout,
            )["sessionId"]
            pipe.call("Page.enable", session=sess)
            pipe.call("Page.navigate", {"url": src.as_uri()}, session=sess)
            pipe.wait_event("Page.loadEventFired", sess, timeout=max(1.0, t_end - time.monotonic()))
            result = pipe.call(
                "Page.printToPDF",
                {
                    "paperWidth": A4_MM[0] / MM_PER_INCH,
                    "paperHeight": A4_MM[1] / MM_PER_INCH,
                    "marginTop": MARGINS_MM["top"] / MM_PER_INCH,
                    "marginBottom": MARGINS_MM["bottom"] / MM_PER_INCH,
                    "marginLeft": MARGINS_MM["left"] / MM_PER_INCH,
                    "marginRight": MARGINS_MM["right"] / MM_PER_INCH,
                    "printBackground": True,
                    "displayHeaderFooter": True,
                    "headerTemplate": "<span></span>",
                    "footerTemplate": footer_html(footer, lang=lang),
                    "preferCSSPageSize": False,
                },
                session=sess,
                timeout=max(1.0, t_end - time.monotonic()),
            )
            data = base64.b64decode(result["data"])
            try:
                pipe.call("Browser.close", timeout=10)
            except (NsvError, TimeoutError, OSError):
                pass
        finally:
            for fd in (cmd_w, res_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    if not data.startswith(b"%PDF"):
        raise NsvError(f"Chromium did not return a PDF for {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, dst)
    return dst


def pdf_text(path: str | Path, *, first: int | None = None, last: int | None = None) -> str:
    """Text of a PDF by ``pdftotext`` (poppler-utils), pages ``first``–``last`` (1-based)."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise NsvError(
            "Reading PDF text needs `pdftotext` from poppler-utils: "
            "`sudo apt-get install -y poppler-utils` (`make test` installs it)."
        )
    args = [exe, "-enc", "UTF-8", "-layout"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    res = subprocess.run([*args, str(path), "-"], capture_output=True, timeout=120, check=False)
    if res.returncode != 0:
        raise NsvError(f"pdftotext could not read {path}: {res.stderr.decode(errors='replace')}")
    return res.stdout.decode("utf-8", errors="replace")
