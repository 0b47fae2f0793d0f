"""Disclosure control: the one layer every table in a report passes, and the report scanner.

Rules (Danish practice for register statistics, e.g. Danmarks Statistik's and
Sundhedsdatastyrelsen's rules for microdata output: no cell may describe fewer than 5
persons or events):

* **Primary suppression** — a count of 1–4 is shown as ``"<5"``. A count of **0 is shown
  as 0**: "nobody" discloses nothing about a person, and hiding zeros would make
  structural zeros (e.g. no births among the 90+) look like secrets.
* **Secondary suppression** — where a published total (a row total in ``total_cols``, a
  column total in a ``total_row``, or group totals known elsewhere, ``by``/
  ``column_totals``) would let a reader subtract their way back to a suppressed cell, the
  next-smallest cell of the same row/column is hidden too and shown as ``"x"``. The rule
  is applied to rows and columns alternately until no line with a published total holds
  exactly one hidden cell (the standard heuristic for 1- and 2-way tables; it does not
  solve general linked-table audits, which these reports do not publish).
* **Rates** computed from fewer than ``min_events_for_rate`` (10) events are flagged with
  ``"*"`` and a footnote; a rate (or any ``derived_cols`` value, such as a confidence
  limit) whose event count is hidden is hidden too, since rate × denominator would give
  the count back.

Hidden cells are ``"<5"`` (primary; the true value is 1–4) or ``"x"`` (secondary; any
value). The footnotes are attached to the returned frame as ``df.attrs["nsv_footnotes"]``.

:func:`table_html`/:func:`display_table` render a table through this layer. Every table
they produce carries machine-checkable markers — ``<table class="nsv-table">`` and
``<td class="nsv-count">`` for each count cell — so :func:`check_disclosure` can verify a
rendered report: each ``nsv-count`` cell must read 0, ``<5``, ``x`` or a number ≥ 5; any
table without the ``nsv-table`` marker is reported (it did not pass the layer); columns
whose heading looks like a count (``Antal``, ``Personer``, ``n``, ...) are checked in every
table; and the whole text is scanned for CPR-like numbers.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, SupportsInt

import numpy as np
import pandas as pd

from nsv_eval.reference import DISCLOSURE_THRESHOLD
from nsv_eval.report.format import MISSING, fmt_date, fmt_int, fmt_number
from nsv_eval.report.i18n import tr as _tr

THRESHOLD = DISCLOSURE_THRESHOLD
"""Counts below this (and above 0) are suppressed."""

MIN_EVENTS_FOR_RATE = 10
"""Rates computed from fewer events than this are flagged as uncertain."""

PRIMARY = "<5"
SECONDARY = "x"
RATE_FLAG = "*"

FOOTNOTE_PRIMARY = "<5: Antallet er 1–4 og vises ikke af hensyn til diskretion."
FOOTNOTE_SECONDARY = (
    "x: Skjult, så et lille antal ikke kan regnes tilbage ud fra totaler (sekundær diskretion)."
)
FOOTNOTE_RATE = "*: Beregnet på færre end {n} hændelser; tallet er usikkert."

TABLE_CLASS = "nsv-table"
COUNT_CLASS = "nsv-count"
RATE_CLASS = "nsv-rate"
HASH_CLASS = "nsv-hash"

DEFAULT_VALUE_LABELS: dict[str, dict[Any, str]] = {
    "sex": {"M": "Mænd", "F": "Kvinder"},
}
"""Value labels applied to every table unless overridden (``value_labels=``)."""


def fmt_count(n: SupportsInt | str | None, threshold: int = THRESHOLD) -> str:
    """A count for running text: 1–4 → ``"<5"``, otherwise Danish thousands (``"1.234"``)."""
    if n is None or (isinstance(n, float) and np.isnan(n)) or n is pd.NA:
        return MISSING
    v = int(n)
    if v < 0:
        raise ValueError(f"fmt_count: a count cannot be negative, got {n!r}")
    if 0 < v < threshold:
        return PRIMARY
    return fmt_int(v)


def count_html(n: SupportsInt | str | None, threshold: int = THRESHOLD) -> str:
    """A count for HTML text, marked for the scanner: ``<span class="nsv-count">…</span>``."""
    return f'<span class="{COUNT_CLASS}">{html.escape(fmt_count(n, threshold))}</span>'


def hide_small(
    df: pd.DataFrame,
    value_cols: str | Sequence[str],
    count_col: str,
    threshold: int = THRESHOLD,
) -> pd.DataFrame:
    """Copy of ``df`` with ``value_cols`` set to NaN where ``count_col`` is 1–4.

    For figures: a plotted rate (or share) whose numerator is small, next to a published
    denominator, gives the count back, and figures are not scanned. Plot the result of
    this function and say under the figure that such points are left out.
    """
    cols = _as_list(value_cols)
    n = pd.to_numeric(df[count_col], errors="coerce")
    small = (n >= 1) & (n < threshold)
    out = df.copy()
    for c in cols:
        out[c] = out[c].astype(float).where(~small)
    return out


# ----------------------------------------------------------------------------------------
# suppression
# ----------------------------------------------------------------------------------------


def _as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def _count_matrix(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    out = np.full((len(df), len(cols)), np.nan)
    for j, c in enumerate(cols):
        if c not in df.columns:
            raise ValueError(f"suppress: column {c!r} not in the table (has {list(df.columns)})")
        s = pd.to_numeric(df[c], errors="coerce")
        bad = s.isna() & df[c].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"suppress: column {c!r} row {row} holds {df[c].iloc[row]!r}, not a count"
            )
        v = s.to_numpy(dtype=float, na_value=np.nan)
        finite = v[~np.isnan(v)]
        if (finite < 0).any() or (finite != np.round(finite)).any():
            row = int(np.flatnonzero((v < 0) | (v != np.round(v)))[0])
            raise ValueError(
                f"suppress: column {c!r} row {row} holds {v[row]!r}; counts are whole numbers >= 0"
            )
        out[:, j] = v
    return out


def _pick_complement(values: np.ndarray, hidden: np.ndarray) -> int | None:
    """Index of the next-smallest visible cell of a line (non-zero first), or None."""
    cand = np.flatnonzero(~hidden & ~np.isnan(values))
    if cand.size == 0:
        return None
    nonzero = cand[values[cand] > 0]
    pool = nonzero if nonzero.size else cand
    return int(pool[np.argmin(values[pool])])


def _secondary(
    values: np.ndarray,
    hidden: np.ndarray,
    lines: list[tuple[np.ndarray, tuple[int, int] | None]],
) -> np.ndarray:
    """Hide complements until no published line holds exactly one hidden cell.

    ``lines`` lists (cells, margin) pairs: ``cells`` is an (k, 2) array of (row, col)
    positions that add up to the cell at ``margin`` (None when the margin is published
    outside the table, i.e. always visible).
    """
    secondary = np.zeros_like(hidden)
    for _ in range(100):  # each pass hides at least one cell; a table has finitely many
        changed = False
        for cells, margin in lines:
            if margin is not None and hidden[margin]:
                continue  # the total is itself hidden: nothing to subtract from
            r, c = cells[:, 0], cells[:, 1]
            h = hidden[r, c]
            if h.sum() != 1:
                continue
            k = _pick_complement(values[r, c], h)
            if k is None:
                continue
            hidden[r[k], c[k]] = True
            secondary[r[k], c[k]] = True
            changed = True
        if not changed:
            break
    return secondary


def suppress(
    df: pd.DataFrame,
    count_cols: str | Sequence[str],
    *,
    total_cols: str | Sequence[str] | None = None,
    rate_cols: Mapping[str, str] | Sequence[str] | str | None = None,
    derived_cols: Mapping[str, str] | None = None,
    by: str | Sequence[str] | None = None,
    column_totals: bool = False,
    total_row: str | None = None,
    threshold: int = THRESHOLD,
    min_events_for_rate: int = MIN_EVENTS_FOR_RATE,
    rate_decimals: int = 1,
) -> pd.DataFrame:
    """Apply primary and secondary suppression; return a display table of strings.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, one row per cell group; counts as integers (NaN allowed = not available).
    count_cols : str or list of str
        Columns holding counts of persons or events.
    total_cols : str or list of str, optional
        Columns holding the row total of ``count_cols`` (e.g. ``"I alt"`` beside men and
        women). They are counts too (suppressed if 1–4) and make the row a published line
        for secondary suppression.
    rate_cols : mapping or list, optional
        Rate columns, as ``{rate_col: events_col}``; a list is allowed when there is a
        single count column. Rates from fewer than ``min_events_for_rate`` events get
        ``"*"``; rates whose events are hidden are hidden.
    derived_cols : mapping, optional
        Other columns computed from a count (``{col: events_col}``, e.g. confidence
        limits, shares); hidden when their count is hidden, otherwise left as they are.
    by : str or list of str, optional
        Grouping columns whose group totals are published (in this or another table):
        within each group, each count column is a published line.
    column_totals : bool
        The column totals of the whole table are published (implied by ``total_row``).
    total_row : str, optional
        Append a total row with this label (e.g. ``"I alt"``), computed from the unrounded
        counts *before* suppression; its counts are suppressed like any other.
    threshold : int
        Counts in ``1 .. threshold-1`` are hidden (default 5).
    min_events_for_rate : int
        Rates from fewer events are flagged (default 10).
    rate_decimals : int
        Decimals of the formatted rates.

    Returns
    -------
    pandas.DataFrame
        The table with count, total and rate columns as Danish strings; other columns
        unchanged. ``attrs``: ``nsv_footnotes`` (list of Danish footnotes),
        ``nsv_count_cols``, ``nsv_rate_cols``, ``nsv_hidden`` (number of hidden cells).
    """
    counts = _as_list(count_cols)
    totals = _as_list(total_cols)
    if not counts:
        raise ValueError("suppress: name at least one count column")
    if isinstance(rate_cols, str):
        rate_cols = [rate_cols]
    if rate_cols is None:
        rates: dict[str, str] = {}
    elif isinstance(rate_cols, Mapping):
        rates = dict(rate_cols)
    else:
        if len(counts) != 1:
            raise ValueError(
                "suppress: with several count columns give rate_cols as {rate_col: events_col}"
            )
        rates = {r: counts[0] for r in rate_cols}
    derived = dict(derived_cols or {})
    for name, ev in {**rates, **derived}.items():
        if name not in df.columns:
            raise ValueError(f"suppress: column {name!r} not in the table")
        if ev not in counts + totals:
            raise ValueError(f"suppress: {name!r} refers to {ev!r}, which is not a count column")
    groups = _as_list(by)
    for g in groups:
        if g not in df.columns:
            raise ValueError(f"suppress: by-column {g!r} not in the table")

    work = df.reset_index(drop=True)
    allc = counts + totals
    values = _count_matrix(work, allc)
    n = len(work)
    if total_row is not None:
        label_col = next((c for c in work.columns if c not in allc and c not in rates), None)
        extra: dict[str, Any] = dict.fromkeys(work.columns, None)
        if label_col is not None:
            extra[label_col] = total_row
        for j, c in enumerate(allc):
            vals = values[:, j]
            extra[c] = float(np.nansum(vals)) if (~np.isnan(vals)).any() else np.nan
        work = pd.concat(
            [work.astype(object), pd.DataFrame([extra], dtype=object)], ignore_index=True
        )
        values = np.vstack([values, [extra[c] for c in allc]])
        column_totals = True

    hidden = (values >= 1) & (values < threshold)
    primary = hidden.copy()

    lines: list[tuple[np.ndarray, tuple[int, int] | None]] = []
    nc = len(counts)
    body_rows = np.arange(n)
    if totals:
        for i in range(values.shape[0]):
            cells = np.array([(i, j) for j in range(nc)])
            for t in range(len(totals)):
                lines.append((cells, (i, nc + t)))
    if total_row is not None:
        for j in range(len(allc)):
            cells = np.array([(i, j) for i in body_rows])
            lines.append((cells, (n, j)))
    elif column_totals or groups:
        keys = (
            work.loc[: n - 1, groups].astype(str).agg("\x1f".join, axis=1)
            if groups
            else pd.Series("", index=range(n))
        )
        for _, idx in keys.groupby(keys).groups.items():
            rows = np.asarray(list(idx), dtype=int)
            for j in range(len(allc)):
                lines.append((np.array([(i, j) for i in rows]), None))
    secondary = _secondary(values, hidden, lines)

    out = work.copy()
    for j, c in enumerate(allc):
        col: list[str] = []
        for i in range(values.shape[0]):
            v = values[i, j]
            if np.isnan(v):
                col.append(MISSING)
            elif primary[i, j]:
                col.append(PRIMARY)
            elif secondary[i, j]:
                col.append(SECONDARY)
            else:
                col.append(fmt_int(int(v)))
        out[c] = pd.Series(col, dtype=object)

    flagged = False
    for rc, ev in rates.items():
        j = allc.index(ev)
        col = []
        raw = pd.to_numeric(work[rc], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for i in range(values.shape[0]):
            if hidden[i, j]:
                col.append(SECONDARY)  # "<5" in a rate column would read as "rate below 5"
            elif np.isnan(raw[i]) or np.isnan(values[i, j]):
                col.append(MISSING)
            elif values[i, j] < min_events_for_rate:
                col.append(fmt_number(raw[i], rate_decimals) + RATE_FLAG)
                flagged = True
            else:
                col.append(fmt_number(raw[i], rate_decimals))
        out[rc] = pd.Series(col, dtype=object)
    for dc, ev in derived.items():
        j = allc.index(ev)
        mask = hidden[:, j]
        if mask.any():
            s = out[dc].astype(object)
            s[mask] = SECONDARY
            out[dc] = s

    notes: list[str] = []
    if primary.any():
        notes.append(FOOTNOTE_PRIMARY)
    if secondary.any() or any(
        hidden[:, allc.index(ev)].any() for ev in {**rates, **derived}.values()
    ):
        notes.append(FOOTNOTE_SECONDARY)
    if flagged:
        notes.append(FOOTNOTE_RATE.format(n=min_events_for_rate))
    out.attrs = {
        "nsv_footnotes": notes,
        "nsv_count_cols": allc,
        "nsv_rate_cols": list(rates),
        "nsv_derived_cols": list(derived),
        "nsv_hidden": int(hidden.sum()),
    }
    return out


# ----------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------


def _fmt_cell(v: Any, decimals: int) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return MISSING
    if isinstance(v, bool | np.bool_):
        return _tr("Ja" if v else "Nej")
    if isinstance(v, int | np.integer):
        return fmt_int(int(v))
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return MISSING
        return fmt_number(float(v), decimals)
    if isinstance(v, pd.Timestamp):
        return fmt_date(v)
    import datetime as _dt

    if isinstance(v, _dt.date):
        return fmt_date(v)
    return str(v)


def table_html(
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
    threshold: int = THRESHOLD,
    min_events_for_rate: int = MIN_EVENTS_FOR_RATE,
) -> str:
    """Suppress, format in Danish and render a table as marked HTML (no index).

    Parameters
    ----------
    df : pandas.DataFrame
        The table (the index is not shown; reset it first if it carries data).
    count_cols, total_cols, rate_cols, derived_cols, by, column_totals, total_row,
    threshold, min_events_for_rate
        See :func:`suppress`. A table without counts (``count_cols=()``) is formatted and
        marked but nothing is suppressed.
    labels : mapping, optional
        Column headings (Danish); defaults from :data:`nsv_eval.report.theme.LABELS_DA`.
    value_labels : mapping, optional
        ``{column: {value: label}}`` for coded values (e.g. ``{"sex": {"M": "Mænd"}}``).
    decimals : int or mapping
        Decimals of non-count numeric columns (one number, or per column; default 1).
    caption : str, optional
        Table caption.
    notes : list of str
        Extra footnotes (below the disclosure footnotes).
    hash_cols : list of str
        Columns of hexadecimal fingerprints (SHA-256), shown as ``<code class="nsv-hash">``
        so the CPR scan does not mistake their digits for a CPR number.
    year_cols : list of str
        Integer columns written without thousands point (default ``("year",)``).

    Returns
    -------
    str
        ``<div class="nsv-table-wrap"><table class="nsv-table">…</table>…</div>``.
    """
    from nsv_eval.report.theme import label

    counts = _as_list(count_cols)
    if counts:
        shown = suppress(
            df,
            counts,
            total_cols=total_cols,
            rate_cols=rate_cols,
            derived_cols=derived_cols,
            by=by,
            column_totals=column_totals,
            total_row=total_row,
            threshold=threshold,
            min_events_for_rate=min_events_for_rate,
            rate_decimals=decimals if isinstance(decimals, int) else 1,
        )
        marked = set(shown.attrs["nsv_count_cols"])
        rate_set = set(shown.attrs["nsv_rate_cols"])
        footnotes = list(shown.attrs["nsv_footnotes"])
    else:
        if total_cols or rate_cols or derived_cols or total_row:
            raise ValueError("table_html: totals and rates need count_cols")
        shown = df.reset_index(drop=True)
        marked, rate_set, footnotes = set(), set(), []
    footnotes += list(notes)

    def dec(col: str) -> int:
        if isinstance(decimals, Mapping):
            return int(decimals.get(col, 1))
        return int(decimals)

    parts = [f'<div class="nsv-table-wrap"><table class="{TABLE_CLASS}">']
    if caption:
        parts.append(f"<caption>{html.escape(_tr(caption))}</caption>")
    parts.append("<thead><tr>")
    for c in shown.columns:
        cls = COUNT_CLASS if c in marked else RATE_CLASS if c in rate_set else "nsv-text"
        parts.append(f'<th class="{cls}-head">{html.escape(label(c, labels))}</th>')
    parts.append("</tr></thead><tbody>")
    vl = {**DEFAULT_VALUE_LABELS, **(value_labels or {})}
    for row in shown.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(shown.columns, row, strict=True):
            if c in marked:
                cells.append(f'<td class="{COUNT_CLASS}">{html.escape(str(v))}</td>')
            elif c in rate_set:
                cells.append(f'<td class="{RATE_CLASS}">{html.escape(str(v))}</td>')
            else:
                if c in vl and v in vl[c]:
                    text = _tr(vl[c][v])
                elif c in year_cols and isinstance(v, int | np.integer):
                    text = str(int(v))
                else:
                    text = _fmt_cell(v, dec(c))
                if c in hash_cols:
                    cells.append(
                        f'<td class="nsv-text"><code class="{HASH_CLASS}">'
                        f"{html.escape(text)}</code></td>"
                    )
                    continue
                is_num = isinstance(v, int | float | np.number) and not isinstance(v, bool)
                cls = "nsv-num" if is_num else "nsv-text"
                cells.append(f'<td class="{cls}">{html.escape(text)}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    for note in footnotes:
        parts.append(f'<p class="nsv-footnote">{html.escape(_tr(note))}</p>')
    parts.append("</div>")
    return "".join(parts)


def display_table(df: pd.DataFrame, count_cols: str | Sequence[str] = (), **kwargs: Any) -> None:
    """Display a table in a notebook through the disclosure layer (see :func:`table_html`).

    The output also carries the table as the report shows it, with numbers as numbers
    (``metadata["nsv_table"]``, :func:`nsv_eval.report.workbook.table_record`), from which
    ``nsv-eval run`` writes the report's Excel workbook.
    """
    from IPython.display import HTML, display

    from nsv_eval.report.workbook import table_record

    display(
        HTML(table_html(df, count_cols, **kwargs)),
        metadata={"nsv_table": table_record(df, count_cols, **kwargs)},
    )


# ----------------------------------------------------------------------------------------
# the report scanner
# ----------------------------------------------------------------------------------------

# DDMMYY-SSSS or DDMMYYSSSS, not glued to other digits and not the fraction of a decimal
# number ("177634.0611351234" in a sort key is a float, not a CPR number)
_CPR_RE = re.compile(r"(?<!\d)(?<!\d[.,])(\d{2})(\d{2})(\d{2})[-\u2010\u2011]?(\d{4})(?!\d)")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_COUNT_HEAD_RE = re.compile(
    r"^(n|antal\b.*|.*\bantal|personer|borgere|hændelser|tilfælde|indlæggelser|"
    r"kontakter|forløb|dødsfald|afviste?|indlæst|godkendt|deltagere)$",
    re.IGNORECASE,
)
_DANISH_INT_RE = re.compile(r"^\d{1,3}(?:\.\d{3})*$|^\d+$")
_ALLOWED_COUNT_TEXT = {"0", PRIMARY, SECONDARY, MISSING, "-", ""}
_HEX_RE = re.compile(r"^[0-9a-f]{12,64}$")
_ENGLISH_INT_RE = re.compile(r"^\d{1,3}(?:,\d{3})+$")


def _valid_cpr_date(dd: str, mm: str, yy: str) -> bool:
    d, m, y = int(dd), int(mm), int(yy)
    if not 1 <= m <= 12 or d < 1:
        return False
    if m == 2 and d == 29:
        return y % 4 == 0  # 00 is valid (2000 was a leap year)
    return d <= _DAYS[m - 1]


def find_cpr(text: str) -> list[re.Match[str]]:
    """CPR-like numbers in ``text``: ``DDMMYY-SSSS`` or 10 digits whose first six are a date.

    Digits right after a decimal separator that follows a digit (``144237.1603301234``,
    ``0,0310190123``) are the fraction of a number and are not matched.
    """
    return [m for m in _CPR_RE.finditer(text) if _valid_cpr_date(m[1], m[2], m[3])]


@dataclass(frozen=True)
class Finding:
    """One disclosure problem found in a rendered report.

    Attributes
    ----------
    path : Path
        The report file.
    line : int or None
        Line in the HTML source.
    kind : str
        ``"cpr"``, ``"small_count"`` (a marked count cell or count-like column with 1–4 or
        an unreadable value) or ``"unmarked_table"`` (a table that did not pass
        :func:`table_html`).
    context : str
        The text around the problem (CPR numbers masked).
    """

    path: Path
    line: int | None
    kind: str
    context: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.kind}: {self.context}"


def _mask_cpr(text: str) -> str:
    """Replace the serial part of every CPR-shaped number by X (length preserved)."""
    return _CPR_RE.sub(lambda m: m[0][:-4] + "XXXX", text)


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    # mask first, then cut, so a cut never leaves a partial number unmasked
    masked = _mask_cpr(text)
    lo, hi = max(0, start - width), end + width
    while lo > 0 and masked[lo - 1].isdigit():
        lo -= 1
    while hi < len(masked) and masked[hi].isdigit():
        hi += 1
    return " ".join(masked[lo:hi].split())


def _count_text_ok(text: str, threshold: int) -> bool:
    t = text.strip().rstrip(RATE_FLAG).strip()
    if t in _ALLOWED_COUNT_TEXT:
        return True
    if _DANISH_INT_RE.match(t):
        return int(t.replace(".", "")) >= threshold
    if _ENGLISH_INT_RE.match(t):  # English reports (nsv_eval.report.i18n): 1,234
        return int(t.replace(",", "")) >= threshold
    return False


def _table_rows(table: Any) -> list[list[Any]]:
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table is checked on its own
        rows.append(tr.find_all(["td", "th"], recursive=False))
    return rows


def scan_html(text: str, path: Path | str = "<html>", threshold: int = THRESHOLD) -> list[Finding]:
    """Scan one HTML document; see :func:`check_disclosure`."""
    from bs4 import BeautifulSoup, Comment, NavigableString

    path = Path(path)
    soup = BeautifulSoup(text, "html.parser")
    found: list[Finding] = []

    # 1. CPR-like numbers in text nodes (tables included) and attribute values
    for node in soup.find_all(string=True):
        if not isinstance(node, NavigableString) or isinstance(node, Comment):
            continue
        parent = node.parent
        if parent is not None and parent.name == "style":
            continue
        s = str(node)
        if parent is not None and HASH_CLASS in (parent.get("class") or []):
            if _HEX_RE.match(s.strip()):
                continue
        for m in find_cpr(s):
            line = getattr(parent, "sourceline", None)
            found.append(Finding(path, line, "cpr", _context(s, m.start(), m.end())))
    for tag in soup.find_all(True):
        for attr, val in tag.attrs.items():
            vals = val if isinstance(val, list) else [val]
            for v in vals:
                v = str(v)
                if v.startswith("data:"):
                    continue  # embedded images: base64, not text
                for m in find_cpr(v):
                    found.append(
                        Finding(
                            path,
                            tag.sourceline,
                            "cpr",
                            f"<{tag.name} {attr}=…{_context(v, m.start(), m.end())}…>",
                        )
                    )

    # 2. marked count cells (tables and running text)
    for el in soup.find_all(class_=COUNT_CLASS):
        if el.name == "th":
            continue
        t = el.get_text(" ", strip=True)
        if not _count_text_ok(t, threshold):
            found.append(Finding(path, el.sourceline, "small_count", f"count cell shows {t!r}"))

    # 3. every table must come from the layer; count-like columns are checked anyway
    for table in soup.find_all("table"):
        classes: str | list[str] = table.get("class") or []
        if TABLE_CLASS not in classes:
            head = " | ".join(th.get_text(" ", strip=True) for th in table.find_all("th")[:6])
            found.append(
                Finding(
                    path,
                    table.sourceline,
                    "unmarked_table",
                    f"table not rendered through the disclosure layer (headings: {head!r})",
                )
            )
        rows = _table_rows(table)
        count_idx: dict[int, str] = {}
        for r in rows:
            if r and all(c.name == "th" for c in r):
                for i, c in enumerate(r):
                    h = c.get_text(" ", strip=True)
                    if _COUNT_HEAD_RE.match(h):
                        count_idx[i] = h
        for r in rows:
            for i, cell in enumerate(r):
                if i not in count_idx or cell.name != "td":
                    continue
                if COUNT_CLASS in (cell.get("class") or []):
                    continue  # checked above
                t = cell.get_text(" ", strip=True)
                if not _count_text_ok(t, threshold):
                    found.append(
                        Finding(
                            path,
                            cell.sourceline,
                            "small_count",
                            f"column {count_idx[i]!r} shows {t!r}",
                        )
                    )
    found.sort(key=lambda f: (f.line or 0, f.kind))
    return found


def check_disclosure(path: str | Path, threshold: int = THRESHOLD) -> list[Finding]:
    """Scan rendered reports (a file, or every HTML, PDF and xlsx file below a directory).

    Flags (a) CPR-like numbers — ``DDMMYY-SSSS`` or ten consecutive digits whose first six
    form a valid date — anywhere in the text, tables and attributes (embedded ``data:``
    images excepted); (b) count cells marked ``nsv-count`` that are not 0, ``<5``, ``x`` or
    a number ≥ ``threshold``; (c) cells of count-like columns (``Antal``, ``Personer``,
    ``n``, …) in *any* table showing 1–4; (d) tables that did not pass the disclosure
    layer (no ``nsv-table`` class). PDFs are scanned for (a) in their text
    (:func:`scan_pdf`), workbooks for (a) and (c) in their cells (:func:`scan_xlsx`).

    Parameters
    ----------
    path : str or Path
        A report file or a directory (searched recursively for ``*.html``, ``*.pdf`` and
        ``*.xlsx``; ``.work`` folders are skipped).
    threshold : int
        The smallest count that may be shown (default 5).

    Returns
    -------
    list of Finding
        Empty when the report is clean.
    """
    found: list[Finding] = []
    for f in report_files(path):
        found.extend(scan_file(f, threshold))
    return found


# ----------------------------------------------------------------------------------------
# other file types: PDF text and Excel cells (around the text scanner above)
# ----------------------------------------------------------------------------------------

SCANNED_SUFFIXES = (".html", ".pdf", ".xlsx")
"""File types :func:`check_disclosure` scans in a directory."""

_HEX_TOKEN_RE = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12,64}(?![0-9A-Za-z])")


def report_files(path: str | Path) -> list[Path]:
    """The files :func:`check_disclosure` scans: ``path`` itself, or every HTML, PDF and
    xlsx file below a directory (the ``.work`` folders of executed notebooks excepted)."""
    p = Path(path)
    if p.is_dir():
        return sorted(
            f
            for f in p.rglob("*")
            if f.suffix.lower() in SCANNED_SUFFIXES
            and f.is_file()
            and ".work" not in f.relative_to(p).parts
            and not f.name.startswith(".")
        )
    if p.exists():
        return [p]
    raise FileNotFoundError(f"check_disclosure: {p} does not exist")


def scan_text(text: str, path: Path | str = "<text>") -> list[Finding]:
    """CPR-like numbers (:func:`find_cpr`) in plain text; hexadecimal fingerprints skipped.

    ``line`` of each finding is the line of ``text``.
    """
    path = Path(path)
    found: list[Finding] = []
    for n, line in enumerate(text.splitlines(), start=1):
        clean = _HEX_TOKEN_RE.sub(lambda m: "#" * len(m[0]), line)
        for m in find_cpr(clean):
            found.append(Finding(path, n, "cpr", _context(line, m.start(), m.end())))
    return found


def scan_pdf(path: str | Path) -> list[Finding]:
    """CPR-like numbers in the text of a PDF (``pdftotext`` from poppler-utils).

    The PDF is printed from an HTML page that passed :func:`scan_html`; its text is scanned
    again so a PDF from elsewhere, or one edited afterwards, is checked too. Counts cannot
    be told apart from other numbers in plain text, so they are checked in the HTML and the
    workbooks.
    """
    from nsv_eval.report.pdf import pdf_text

    return scan_text(pdf_text(path), path)


def _cell_text(v: Any) -> str | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else None  # a fraction is no CPR number
    return str(v)


def scan_xlsx(path: str | Path, threshold: int = THRESHOLD) -> list[Finding]:
    """Scan every cell of a workbook: CPR-like numbers, and counts of 1–4.

    Count columns are those listed on the ``Om tallene`` sheet written by
    :func:`nsv_eval.report.workbook.write_tables_xlsx`, plus any column whose heading (row
    2, or row 1 in a workbook from elsewhere) looks like a count (``Antal``, ``Personer``,
    ...). A count cell must be 0, a number ≥ ``threshold``, ``<5``, ``x`` or empty.
    ``line`` of a finding is the row; the context names the sheet and cell.
    """
    from openpyxl import load_workbook

    from nsv_eval.report.workbook import HEADER_ROW, INFO_SHEETS

    path = Path(path)
    wb = load_workbook(path, read_only=True, data_only=True)
    found: list[Finding] = []
    declared: dict[str, set[str]] = {}
    try:
        for info in (s for s in INFO_SHEETS if s in wb.sheetnames):
            for row in wb[info].iter_rows(min_row=6, values_only=True):
                if row and row[0] and len(row) >= 4 and row[3]:
                    declared[str(row[0])] = {h.strip() for h in str(row[3]).split(";")}
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            for r, row in enumerate(rows, start=1):
                for c, v in enumerate(row, start=1):
                    t = _cell_text(v)
                    if not t:
                        continue
                    if _HEX_RE.match(t.strip()):
                        continue  # fingerprints (SHA-256 prefixes)
                    for m in find_cpr(t):
                        where = f"{ws.title}!R{r}C{c}"
                        found.append(
                            Finding(path, r, "cpr", f"{where}: {_context(t, m.start(), m.end())}")
                        )
            if ws.title in INFO_SHEETS:
                continue
            head_row = HEADER_ROW if len(rows) >= HEADER_ROW else 1
            heads = [
                str(h).strip() if h is not None else ""
                for h in (rows[head_row - 1] if rows else ())
            ]
            counts = declared.get(ws.title, set())
            idx = [i for i, h in enumerate(heads) if h and (h in counts or _COUNT_HEAD_RE.match(h))]
            for r, row in enumerate(rows[head_row:], start=head_row + 1):
                for i in idx:
                    if i >= len(row) or row[i] is None:
                        continue
                    v = row[i]
                    if isinstance(v, bool):
                        ok = False
                    elif isinstance(v, int | float):
                        ok = v == 0 or v >= threshold
                    else:
                        ok = _count_text_ok(str(v), threshold)
                    if not ok:
                        where = f"{ws.title}!R{r}C{i + 1}"
                        found.append(
                            Finding(
                                path, r, "small_count", f"{where}: column {heads[i]!r} shows {v!r}"
                            )
                        )
    finally:
        wb.close()
    return found


def scan_file(path: str | Path, threshold: int = THRESHOLD) -> list[Finding]:
    """Scan one report file by its type: HTML, PDF (text) or xlsx (cells)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".pdf":
        return scan_pdf(p)
    if suffix == ".xlsx":
        return scan_xlsx(p, threshold)
    return scan_html(p.read_text(encoding="utf-8", errors="replace"), p, threshold)
