"""``<out>/index.html``: the sortable Danish overview of a batch for management.

Built from the state file (every kommune × study ever run into the output directory) and
each published report's ``<NN_study>.json``. Self-contained: inline CSS, a few lines of
inline JavaScript for sorting, relative links to the reports. Before it is published the
page passes :func:`nsv_eval.report.disclosure.scan_html`; its tables carry the disclosure
layer's markers (``nsv-table``; counts as ``nsv-count``) so the scanner checks every count,
and the key figures are the values *as the reports show them* (counts 1–4 already ``<5``,
and their raw value is not in the JSON either).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nsv_eval import __version__
from nsv_eval.batch.state import (
    STATUS_DISCLOSURE,
    STATUS_FAILED,
    STATUS_OK,
    atomic_write_text,
)
from nsv_eval.reference import kommuner

INDEX_FILE = "index.html"
STAMP_FILE = "batch-stamp.json"
REJECTED_INDEX = ".index.rejected-html"

STATUS_DA: dict[str, str] = {
    STATUS_OK: "Klar",
    STATUS_FAILED: "Fejlet",
    STATUS_DISCLOSURE: "Afvist (diskretion)",
}
NOT_RUN_DA = "Ikke kørt (parameterfejl)"
NUMERIC_KINDS = ("count", "number", "pct", "rate", "effect")

INDEX_CSS = """
:root { --blue: #0072B2; --grey: #555; }
body { font-family: "Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, sans-serif;
  font-size: 11pt; line-height: 1.4; color: #111; background: #fff; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 1.5em 2em 3em 2em; }
header { border-bottom: 3px solid var(--blue); margin-bottom: 1em; padding-bottom: .5em; }
h1 { color: var(--blue); font-size: 1.8em; margin: .1em 0 .3em 0; }
h2 { color: var(--blue); margin-top: 1.6em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em; font-size: .85em;
  color: var(--grey); margin: .4em 0 0 0; } dt { font-weight: 600; } dd { margin: 0; }
code.nsv-hash { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: .95em; }
.nsv-table-wrap { overflow-x: auto; margin: .6em 0 1.2em 0; }
table.nsv-table { border-collapse: collapse; font-size: .9em; }
table.nsv-table th { border-bottom: 2px solid #333; text-align: left; padding: .3em .6em;
  vertical-align: bottom; cursor: pointer; user-select: none; white-space: nowrap; }
table.nsv-table th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: .75em; }
table.nsv-table th[aria-sort="descending"]::after { content: " \\25BC"; font-size: .75em; }
table.nsv-table td { border-bottom: 1px solid #ddd; padding: .2em .6em; }
table.nsv-table td.nsv-num, table.nsv-table td.nsv-count { text-align: right;
  font-variant-numeric: tabular-nums; }
.st-ok { color: #006d2c; } .st-failed, .st-disclosure, .st-not_run { color: #b2182b;
  font-weight: 600; }
.nsv-note { font-size: .85em; color: var(--grey); }
@media print { th { cursor: auto; } a { color: inherit; text-decoration: none; } }
"""

# A few lines of inline JavaScript: click a column heading to sort by it (numbers by their
# data-sort value, text with Danish collation); empty cells always last.
INDEX_JS = """
document.querySelectorAll("table.nsv-sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.title = "Klik for at sortere";
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(r) {
        var c = r.cells[col], v = c.getAttribute("data-sort");
        return (v === null ? c.textContent : v).trim();
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === "" || y === "") { return (x === "") - (y === ""); }
        var nx = Number(x), ny = Number(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, "da");
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _status_of(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(css class, Danish label) of a state entry."""
    if entry.get("status") == STATUS_FAILED and not entry.get("ran", True):
        return "not_run", NOT_RUN_DA
    st = str(entry.get("status"))
    return st, STATUS_DA.get(st, st)


SORT_DIGITS = 8
"""Significant digits of a numeric sort key: enough to order values that the reports show
with 1–3 decimals, and never a run of ten digits (a CPR-shaped number) in the attribute."""


def _sortable_number(item: Mapping[str, Any]) -> str:
    """Machine-readable sort key of a key figure: bounded precision (``%.8g``), not ``repr``."""
    v = item.get("value")
    if item.get("suppressed") or isinstance(v, bool) or not isinstance(v, int | float):
        return ""
    f = float(v)
    if not math.isfinite(f):
        return ""
    return format(f, f".{SORT_DIGITS}g")


def render_index(out_dir: str | Path, state: Mapping[str, Any], stamp: Mapping[str, Any]) -> str:
    """The overview page of every task in ``state`` (self-contained Danish HTML).

    Two kinds of table, both sortable by clicking a heading: *Overblik* (one row per
    kommune, one column per study with its status and a link to the report) and, per study,
    *Nøgletal* (one row per kommune, one column per numeric key result of the report's
    ``<study>.json``: the value as the report shows it — counts already suppressed — with
    the sentence as tooltip). Tables carry the disclosure layer's markers (``nsv-table``,
    ``nsv-count``) so :func:`nsv_eval.report.disclosure.check_disclosure` can verify them.
    """
    from nsv_eval.reference import kommune_name
    from nsv_eval.report.disclosure import COUNT_CLASS, HASH_CLASS, TABLE_CLASS
    from nsv_eval.report.format import fmt_date, fmt_int
    from nsv_eval.report.studies import STUDIES

    out = Path(out_dir)
    entries = [e for e in state.get("tasks", {}).values() if isinstance(e, Mapping)]
    ktab = kommuner().set_index("kommune_code")
    order = {s.name: s.number for s in STUDIES.values()}
    study_names = sorted({e["study"] for e in entries}, key=lambda s: (order.get(s, 99), s))
    titles = {
        e["study"]: (e.get("slug", e["study"]), e.get("title") or e["study"]) for e in entries
    }
    codes = sorted({int(e["kommune"]) for e in entries})
    grid = {(int(e["kommune"]), e["study"]): e for e in entries}

    def region(code: int) -> str:
        return str(ktab.at[code, "region_name"]) if code in ktab.index else ""

    def kname(code: int) -> str:
        try:
            return kommune_name(code)
        except KeyError:
            return str(code)

    def date_of(entry: Mapping[str, Any]) -> str:
        ts = entry.get("finished")
        if not ts:
            return ""
        try:
            return fmt_date(dt.datetime.fromisoformat(str(ts)).date())
        except ValueError:
            return ""

    n_ok = sum(e.get("status") == STATUS_OK for e in entries)
    n_bad = len(entries) - n_ok
    parts: list[str] = []
    # -- overview table --------------------------------------------------------------
    head = "".join(f"<th>{_e(titles[s][1])}</th>" for s in study_names)
    body = []
    for code in codes:
        cells = [
            f'<td data-sort="{code}">{code}</td>',
            f"<td>{_e(kname(code))}</td>",
            f"<td>{_e(region(code))}</td>",
        ]
        for s in study_names:
            e = grid.get((code, s))
            if e is None:
                cells.append('<td data-sort="">–</td>')
                continue
            css, label = _status_of(e)
            if css == STATUS_OK and e.get("html"):
                txt = f'<a href="{_e(e["html"])}">{_e(label)}</a>'
            else:
                txt = _e(label)
            when = date_of(e)
            title = f' title="Kørt {_e(when)}"' if when else ""
            cells.append(f'<td class="st-{css}" data-sort="{_e(label)}"{title}>{txt}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts.append(
        "<h2>Overblik</h2>"
        '<p class="nsv-note">Status for hver kommune og hver rapport. Klik på »Klar« for at '
        "åbne rapporten; klik på en kolonneoverskrift for at sortere.</p>"
        f'<div class="nsv-table-wrap"><table class="{TABLE_CLASS} nsv-sortable" id="overblik">'
        f"<thead><tr><th>Kode</th><th>Kommune</th><th>Region</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    # -- key figures per study -----------------------------------------------------------
    for s in study_names:
        results: dict[int, dict[str, Any]] = {}
        keys: list[str] = []
        labels: dict[str, str] = {}
        for code in codes:
            e = grid.get((code, s))
            if not e or e.get("status") != STATUS_OK or not e.get("json"):
                continue
            payload = _read_json(out / e["json"]) or {}
            items = {}
            for it in payload.get("findings", []):
                if it.get("kind") not in NUMERIC_KINDS or "key" not in it:
                    continue
                items[it["key"]] = it
                if it["key"] not in keys:
                    keys.append(it["key"])
                label = it.get("label_da") or it.get("label")
                if label and it["key"] not in labels:
                    labels[it["key"]] = str(label)
            results[code] = items
        head = "".join(f'<th data-key="{_e(k)}">{_e(labels.get(k, k))}</th>' for k in keys)
        body = []
        for code in codes:
            e = grid.get((code, s))
            if e is None:
                continue
            css, label = _status_of(e)
            cells = [
                f'<td data-sort="{code}">{code}</td>',
                f"<td>{_e(kname(code))}</td>",
                f"<td>{_e(region(code))}</td>",
                f'<td class="st-{css}">{_e(label)}</td>',
            ]
            items = results.get(code, {})
            for k in keys:
                it = items.get(k)
                if it is None:
                    cells.append('<td class="nsv-num" data-sort="">–</td>')
                    continue
                cls = COUNT_CLASS if it.get("kind") == "count" else "nsv-num"
                tip = f' title="{_e(it.get("text"))}"' if it.get("text") else ""
                cells.append(
                    f'<td class="{cls}" data-sort="{_sortable_number(it)}"{tip}>'
                    f"{_e(it.get('display', '–'))}</td>"
                )
            body.append("<tr>" + "".join(cells) + "</tr>")
        slug, title = titles[s]
        note = (
            "Hovedresultaterne fra hver kommunes rapport; hold musen over et tal for at se "
            "sætningen fra rapporten."
            if keys
            else "Ingen rapporter med nøgletal endnu."
        )
        parts.append(
            f'<h2>Nøgletal: {_e(title)}</h2><p class="nsv-note">{note}</p>'
            f'<div class="nsv-table-wrap"><table class="{TABLE_CLASS} nsv-sortable" '
            f'id="noegletal-{_e(slug)}"><thead><tr><th>Kode</th><th>Kommune</th>'
            f"<th>Region</th><th>Status</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    commit = stamp.get("git_commit") or ""
    commit_html = (
        f'<code class="{HASH_CLASS}">{_e(commit.rstrip("+")[:12])}</code>'
        + (" (med lokale ændringer)" if commit.endswith("+") else "")
        if commit
        else "ukendt"
    )
    updated = fmt_date(dt.date.today())
    n_rep, n_kom = len(entries), len(codes)
    summary = (
        f"{fmt_int(n_rep)} {'rapport' if n_rep == 1 else 'rapporter'} for {fmt_int(n_kom)} "
        f"{'kommune' if n_kom == 1 else 'kommuner'}: {fmt_int(n_ok)} klar, "
        f"{fmt_int(n_bad)} ikke klar."
    )
    return f"""<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nsv-eval {_e(stamp.get("nsv_eval_version", __version__))}">
<title>Oversigt over rapporter – nsv-eval</title>
<style>{INDEX_CSS}</style>
</head>
<body>
<main>
<header>
<h1>Oversigt over rapporter</h1>
<p>{_e(summary)}</p>
<dl>
<dt>Opdateret</dt><dd>{_e(updated)}</dd>
<dt>Version</dt><dd>nsv-eval {_e(stamp.get("nsv_eval_version", __version__))}</dd>
<dt>Reproducerbarhed</dt><dd>data <code class="{HASH_CLASS}">{_e(stamp.get("data_fingerprint"))}</code>,
kode {commit_html}; parametre og detaljer i {STAMP_FILE}</dd>
</dl>
</header>
{"".join(parts)}
<p class="nsv-note">Alle antal under 5 er skjult af hensyn til diskretion (vist som »&lt;5«).</p>
</main>
<script>{INDEX_JS}</script>
</body>
</html>
"""


def write_index(
    out_dir: str | Path, state: Mapping[str, Any], stamp: Mapping[str, Any]
) -> list[Any]:
    """Render the overview, scan it for disclosure problems and publish it atomically.

    Returns the disclosure findings; if there are any, ``index.html`` is *not* published
    (an older one is removed, so nothing stale looks current) and the page is kept as
    ``<out>/.index.rejected-html`` for inspection.
    """
    from nsv_eval.report.disclosure import scan_html

    out = Path(out_dir)
    page = render_index(out, state, stamp)
    path = out / INDEX_FILE
    problems = scan_html(page, path)
    if problems:
        atomic_write_text(out / REJECTED_INDEX, page)
        path.unlink(missing_ok=True)  # an older overview must not look current
        return problems
    atomic_write_text(path, page)
    return []
