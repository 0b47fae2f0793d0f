"""The numbers of the reports in Excel: every table a report shows, and the key results.

* :func:`table_record` turns a table as :func:`nsv_eval.report.disclosure.display_table`
  shows it into a JSON-able record: the *same* suppression (it calls
  :func:`~nsv_eval.report.disclosure.suppress` with the same arguments), the same
  headings, but numbers kept as numbers — a shown count is an integer, a hidden one stays
  the text ``"<5"`` or ``"x"``, a rate from fewer than 10 events is a number displayed with
  ``*`` (an Excel number format, so it still adds up). ``display_table`` attaches the
  record to its output (``metadata["nsv_table"]``), so the executed notebook carries every
  table exactly as shown and :func:`tables_from_notebook` collects them after the run.
* :func:`write_tables_xlsx` writes ``<NN_study>.xlsx`` beside the report: one sheet per
  table (caption in row 1, headings in row 2, data from row 3, footnotes below) and a last
  sheet ``Om tallene`` listing each sheet, its caption and its count columns (which
  :func:`nsv_eval.report.disclosure.scan_xlsx` uses to check the counts).
* :func:`write_key_results_xlsx` writes ``nøgletal.xlsx``: the key results of every
  kommune × study from the reports' JSON, one row each.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

INFO_SHEET = "Om tallene"
"""Name of the sheet describing the table sheets (and read by the disclosure scanner)."""
INFO_SHEETS = (INFO_SHEET, "About the numbers")
"""The info sheet's name in each report language."""
INFO_TEXT_DA = (
    "Tallene er de samme som i rapporten og har passeret diskretionskontrollen: antal på "
    "1–4 står som »<5«, tal skjult for at beskytte totaler som »x«; rater beregnet på "
    "færre end 10 hændelser er markeret med *."
)

CAPTION_ROW, HEADER_ROW, FIRST_DATA_ROW = 1, 2, 3
"""Layout of a table sheet (1-based rows)."""

KEY_RESULTS_FILE = "nøgletal.xlsx"

_DANISH_INT = re.compile(r"^−?\d{1,3}(?:\.\d{3})*$|^−?\d+$")
_ENGLISH_INT = re.compile(r"^−?\d{1,3}(?:,\d{3})+$")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _num_format(decimals: int, star: bool = False) -> str:
    fmt = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return fmt + ('"*"' if star else "")


def _json_value(v: Any) -> Any:
    """A JSON-safe cell: numpy → Python, NaN/NA → None, dates → ISO strings."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date().isoformat() if isinstance(v, pd.Timestamp) else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str | int | float):
        return v
    return str(v)  # anything else as the text the HTML table shows (str() there too)


def _parse_count(text: Any) -> Any:
    """A shown count back to a number ("1.234" → 1234); "<5", "x" stay text; "–" → None."""
    from nsv_eval.report.format import MISSING

    t = str(text).strip()
    if t in (MISSING, ""):
        return None
    if _DANISH_INT.match(t):
        return int(t.replace(".", "").replace("−", "-"))
    if _ENGLISH_INT.match(t):  # an English report (nsv_eval.report.i18n)
        return int(t.replace(",", "").replace("−", "-"))
    return t


def table_record(
    df: pd.DataFrame,
    count_cols: str | Sequence[str] = (),
    *,
    total_cols: str | Sequence[str] | None = None,
    rate_cols: Mapping[str, str] | Sequence[str] | str | None = None,
    derived_cols: Mapping[str, str] | None = None,
    by: str | Sequence[str] | None = None,
    column_totals: bool = False,
    total_row: str | None = None,
    labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    decimals: int | Mapping[str, int] = 1,
    caption: str | None = None,
    notes: Sequence[str] = (),
    hash_cols: Sequence[str] = (),
    year_cols: Sequence[str] = ("year",),
    threshold: int | None = None,
    min_events_for_rate: int | None = None,
    **_presentation: Any,
) -> dict[str, Any]:
    """The table shown by ``display_table`` as a JSON-able record with numbers as numbers.

    Takes the arguments of :func:`nsv_eval.report.disclosure.table_html` and applies the
    same suppression. Further keyword arguments of ``table_html`` (presentation only, such
    as a future ``table_html`` option) are accepted and do not change the record.

    Returns
    -------
    dict
        ``caption``, ``columns`` (headings as shown), ``rows`` (cells: int/float/str/bool or
        None), ``formats`` (Excel number format per column, None for text), ``starred``
        (``[row, col]`` of rates shown with ``*``), ``dates`` (indices of date columns),
        ``count_columns`` (headings of count columns), ``notes`` (footnotes).
    """
    from nsv_eval.report import disclosure as d
    from nsv_eval.report.i18n import tr
    from nsv_eval.report.theme import label

    thr = d.THRESHOLD if threshold is None else threshold
    mer = d.MIN_EVENTS_FOR_RATE if min_events_for_rate is None else min_events_for_rate
    counts = d._as_list(count_cols)
    src = df.reset_index(drop=True)
    if counts:
        shown = d.suppress(
            df,
            counts,
            total_cols=total_cols,
            rate_cols=rate_cols,
            derived_cols=derived_cols,
            by=by,
            column_totals=column_totals,
            total_row=total_row,
            threshold=thr,
            min_events_for_rate=mer,
            rate_decimals=decimals if isinstance(decimals, int) else 1,
        )
        marked = list(shown.attrs["nsv_count_cols"])
        rates = list(shown.attrs["nsv_rate_cols"])
        derived = list(shown.attrs.get("nsv_derived_cols", []))
        footnotes = list(shown.attrs["nsv_footnotes"])
    else:
        shown, marked, rates, derived, footnotes = src, [], [], [], []
    footnotes += list(notes)

    def dec(col: str) -> int:
        if isinstance(decimals, Mapping):
            return int(decimals.get(col, 1))
        return int(decimals)

    vl = {**d.DEFAULT_VALUE_LABELS, **(value_labels or {})}
    columns = [str(label(c, labels)) for c in shown.columns]
    formats: list[str | None] = [None] * len(columns)
    dates: list[int] = []
    starred: list[list[int]] = []
    rows: list[list[Any]] = []
    for i, row in enumerate(shown.itertuples(index=False, name=None)):
        out: list[Any] = []
        for j, (c, v) in enumerate(zip(shown.columns, row, strict=True)):
            if c in marked:
                cell = _parse_count(v)
                if isinstance(cell, int):
                    formats[j] = _num_format(0)
            elif c in rates:
                t = str(v).strip()
                raw = src[c].iloc[i] if i < len(src) else None
                raw = _json_value(raw)
                if t in (d.SECONDARY, d.PRIMARY):
                    cell = t
                elif raw is None or t == d.MISSING:
                    cell = None
                else:
                    cell = float(raw)
                    formats[j] = _num_format(dec(c))
                    if t.endswith(d.RATE_FLAG):
                        starred.append([i, j])
            elif c in derived and isinstance(v, str) and v.strip() == d.SECONDARY:
                cell = d.SECONDARY
            elif c in vl and v in vl[c]:
                cell = tr(vl[c][v])
            elif c in hash_cols:
                cell = None if v is None else str(v)
            else:
                cell = _json_value(v)
                if isinstance(cell, bool):
                    cell = tr("Ja" if cell else "Nej")
                elif isinstance(cell, int):
                    formats[j] = "0" if c in year_cols else _num_format(0)
                elif isinstance(cell, float):
                    formats[j] = formats[j] or _num_format(dec(c))
                elif isinstance(v, dt.date | pd.Timestamp) and cell is not None:
                    if j not in dates:
                        dates.append(j)
            out.append(cell)
        rows.append(out)
    return {
        "caption": tr(caption) if caption else caption,
        "columns": columns,
        "rows": rows,
        "formats": formats,
        "starred": starred,
        "dates": dates,
        "count_columns": [columns[list(shown.columns).index(c)] for c in marked],
        "notes": [tr(n) for n in footnotes],
    }


def tables_from_notebook(nb: Any) -> list[dict[str, Any]]:
    """Every table record (``metadata["nsv_table"]``) in an executed notebook, in order."""
    found = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            rec = (o.get("metadata") or {}).get("nsv_table")
            if rec:
                found.append(rec)
    return found


def _sheet_name(n: int, caption: str | None, taken: set[str]) -> str:
    from nsv_eval.report.i18n import tr

    base = _SHEET_BAD.sub(" ", f"{n} {caption}" if caption else f"{tr('Tabel')} {n}")
    name = " ".join(base.split())[:31].rstrip()
    k = 2
    while name.lower() in taken or name in INFO_SHEETS:
        suffix = f" ({k})"
        name = name[: 31 - len(suffix)] + suffix
        k += 1
    taken.add(name.lower())
    return name


def _atomic_save(wb: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _autowidth(ws: Any) -> None:
    from openpyxl.utils import get_column_letter

    for j, col in enumerate(ws.iter_cols(min_row=HEADER_ROW), start=1):
        width = max((len(str(c.value)) for c in col if c.value is not None), default=8)
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, width + 2))


def write_tables_xlsx(
    tables: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "",
    source: str = "",
) -> Path:
    """Write table records (see :func:`table_record`) to an ``.xlsx``, one sheet each.

    Parameters
    ----------
    tables : sequence of dict
        Records as attached by ``display_table``.
    path : str or Path
        The workbook (written to a temporary file, then renamed).
    title : str
        Report title, written on the info sheet.
    source : str
        Where the numbers come from (kommune, report date, data fingerprint), on the info
        sheet.

    The words of the workbook follow the report language (:mod:`nsv_eval.report.i18n`).

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from nsv_eval.report.i18n import tr

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    info_rows: list[list[Any]] = []
    bold = Font(bold=True)
    for n, t in enumerate(tables, start=1):
        name = _sheet_name(n, t.get("caption"), taken)
        ws = wb.create_sheet(name)
        ws.cell(CAPTION_ROW, 1, t.get("caption") or f"{tr('Tabel')} {n}").font = Font(
            bold=True, size=12
        )
        for j, h in enumerate(t["columns"], start=1):
            c = ws.cell(HEADER_ROW, j, h)
            c.font = bold
            c.alignment = Alignment(wrap_text=True, vertical="bottom")
        starred = {(int(i), int(j)) for i, j in t.get("starred", [])}
        dates = set(t.get("dates", []))
        formats = t.get("formats") or [None] * len(t["columns"])
        for i, row in enumerate(t["rows"]):
            for j, v in enumerate(row):
                if j in dates and isinstance(v, str):
                    try:
                        v = dt.date.fromisoformat(v[:10])
                    except ValueError:
                        pass
                c = ws.cell(FIRST_DATA_ROW + i, j + 1, v)
                if isinstance(v, dt.date):
                    c.number_format = "dd-mm-yyyy"
                elif isinstance(v, int | float) and not isinstance(v, bool) and formats[j]:
                    fmt = formats[j]
                    if (i, j) in starred:
                        fmt = fmt + '"*"'
                    c.number_format = fmt
                elif isinstance(v, str):
                    c.alignment = Alignment(horizontal="right") if len(v) <= 2 else Alignment()
        r = FIRST_DATA_ROW + len(t["rows"]) + 1
        for note in t.get("notes", []):
            ws.cell(r, 1, note).font = Font(italic=True, size=9)
            r += 1
        ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 1)
        _autowidth(ws)
        info_rows.append(
            [name, t.get("caption") or "", len(t["rows"]), "; ".join(t.get("count_columns", []))]
        )
    ws = wb.create_sheet(INFO_SHEETS[0] if tr(INFO_SHEET) == INFO_SHEET else tr(INFO_SHEET))
    ws.cell(1, 1, title or tr("Tabeller")).font = Font(bold=True, size=12)
    ws.cell(2, 1, source)
    ws.cell(3, 1, tr(INFO_TEXT_DA))
    for j, h in enumerate(("Ark", "Tabel", "Rækker", "Tællekolonner"), start=1):
        h = tr(h)
        ws.cell(5, j, h).font = bold
    for i, row in enumerate(info_rows, start=6):
        for j, v in enumerate(row, start=1):
            ws.cell(i, j, v)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["D"].width = 60
    return _atomic_save(wb, Path(path))


KEY_RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("kommune", "Kommunekode"),
    ("kommune_name", "Kommune"),
    ("study", "Studie"),
    ("study_title", "Rapport"),
    ("key", "Nøgle"),
    ("label", "Nøgletal"),
    ("definition_id", "Definition"),
    ("definition_version", "Definitionsversion"),
    ("period", "Periode"),
    ("estimate", "Estimat"),
    ("lower", "Nedre grænse"),
    ("upper", "Øvre grænse"),
    ("conf", "Konfidensniveau"),
    ("unit", "Enhed"),
    ("kind", "Type"),
    ("display", "Vist som"),
    ("text", "Sætning i rapporten"),
    ("report_date", "Rapportdato"),
    ("data_fingerprint", "Dataaftryk"),
)
"""Columns of ``nøgletal.xlsx``: (field, Danish heading)."""


def _definition(item: Mapping[str, Any]) -> tuple[Any, Any]:
    """(id, version) of the definition behind a key result, where the result names one."""
    d = item.get("definition")
    if isinstance(d, Mapping):
        return d.get("id"), d.get("version")
    return (
        item.get("definition_id", d if isinstance(d, str) else None),
        item.get("definition_version"),
    )


def key_results_frame(json_paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per key result of the given report JSON files (see :data:`KEY_RESULT_COLUMNS`).

    The period is the key result's own (``period``, where a notebook records it) or else
    the report's study period. A suppressed count keeps ``"<5"`` as its estimate.
    """
    from nsv_eval.report.format import fmt_period

    rows = []
    for p in json_paths:
        data = json.loads(Path(p).read_text(encoding="utf-8"))
        st = data.get("stamp", {})
        for it in data.get("findings", []):
            did, dver = _definition(it)
            period = it.get("period")
            if isinstance(period, list | tuple) and len(period) == 2:
                period = fmt_period(*period)
            elif period is None and st.get("period"):
                period = fmt_period(*st["period"])
            value = it.get("value")
            if it.get("suppressed"):
                value = "<5"
            elif isinstance(value, bool):
                value = "Ja" if value else "Nej"
            rows.append(
                {
                    "kommune": st.get("kommune"),
                    "kommune_name": st.get("kommune_name"),
                    "study": st.get("study"),
                    "study_title": st.get("title"),
                    "key": it.get("key"),
                    "label": it.get("label_da") or it.get("key"),
                    "definition_id": did,
                    "definition_version": dver,
                    "period": period,
                    "estimate": value,
                    "lower": it.get("lower"),
                    "upper": it.get("upper"),
                    "conf": it.get("conf"),
                    "unit": it.get("unit"),
                    "kind": it.get("kind"),
                    "display": it.get("display"),
                    "text": it.get("text"),
                    "report_date": st.get("report_date"),
                    "data_fingerprint": st.get("data_fingerprint"),
                }
            )
    return pd.DataFrame(rows, columns=[c for c, _ in KEY_RESULT_COLUMNS])


def write_key_results_xlsx(json_paths: Iterable[str | Path], path: str | Path) -> Path:
    """Write ``nøgletal.xlsx``: the key results of the given reports, numbers as numbers.

    Parameters
    ----------
    json_paths : iterable of str or Path
        The reports' ``<NN_study>.json`` files.
    path : str or Path
        The workbook.

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    df = key_results_frame(json_paths)
    wb = Workbook()
    ws = wb.active
    ws.title = "Nøgletal"
    ws.cell(CAPTION_ROW, 1, "Nøgletal fra rapporterne (kommune × studie)").font = Font(
        bold=True, size=12
    )
    for j, (_, h) in enumerate(KEY_RESULT_COLUMNS, start=1):
        ws.cell(HEADER_ROW, j, h).font = Font(bold=True)
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        for j, v in enumerate(row):
            v = _json_value(v)
            c = ws.cell(FIRST_DATA_ROW + i, j + 1, v)
            field = KEY_RESULT_COLUMNS[j][0]
            if field in ("estimate", "lower", "upper") and isinstance(v, float):
                c.number_format = "#,##0.000"
            elif field == "conf" and isinstance(v, float):
                c.number_format = "0%"
            elif field == "report_date" and isinstance(v, str):
                c.value = dt.date.fromisoformat(v)
                c.number_format = "dd-mm-yyyy"
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 1)
    ws.auto_filter.ref = (
        f"A{HEADER_ROW}:{get_column_letter(len(KEY_RESULT_COLUMNS))}{HEADER_ROW + max(1, len(df))}"
    )
    _autowidth(ws)
    ws.column_dimensions[get_column_letter(len(KEY_RESULT_COLUMNS) - 2)].width = 80
    return _atomic_save(wb, Path(path))
