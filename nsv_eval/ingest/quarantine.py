"""The quarantine file ``rejects-<kind>.csv``: every rejected row with file, row and reason.

Columns: ``file``, ``row`` (line number in a CSV file with the header on line 1, sheet row
in Excel, 0-based row index in Parquet), ``column``, ``reason`` (a code of
:data:`nsv_eval.ingest.schemas.REASONS`), ``value`` (the offending value; CPR numbers
masked as ``DDMMYY-XXXX``), ``detail`` (plain words), then the row's other non-identifying
values as read. UTF-8, comma-separated, one line per rejected row.

Every cell is neutralised against spreadsheet formula injection (OWASP "CSV injection"): a
cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe, so that a colleague opening the file in Excel sees text instead of running a
formula; plain numbers (``-5``, ``+3,5``) are left as they are.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from nsv_eval.ingest.cpr import mask_cpr
from nsv_eval.ingest.validate import REJECT_FIXED

_NEAR_CPR = re.compile(r"(?<![0-9])([0-9]{6})[- ]?[0-9A-Za-z]{3,5}")
_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?[0-9]+(?:[.,][0-9]+)?$"


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to text that a spreadsheet would run as a formula (see module docstring)."""
    s = values.astype("string")
    risky = s.str.contains(_FORMULA_START, regex=True).fillna(False) & ~s.str.contains(
        _PLAIN_NUMBER, regex=True
    ).fillna(False)
    if not risky.any():
        return values
    out = s.copy()
    out[risky] = "'" + s[risky]
    return out


def mask_line(
    text: str, delimiter: str | None = None, id_positions: tuple[int, ...] = (), limit: int = 300
) -> str:
    """Mask a raw line of a malformed row.

    A malformed line cannot be split into columns reliably, so three layers apply: the
    fields at the positions of identifier/CPR columns that look like a CPR number (8-13
    characters, at least 6 digits) keep only 6 characters; then
    :func:`mask_cpr`; then anything starting with six digits followed by 3-5 letters or
    digits (a CPR number with a typo) keeps only the six digits.
    """
    if delimiter and id_positions:
        fields = text.split(delimiter)
        for i in id_positions:
            f = fields[i].strip() if i < len(fields) else ""
            if 8 <= len(f) <= 13 and sum(ch.isdigit() for ch in f) >= 6:
                fields[i] = f[:6] + "-XXXX"
        text = delimiter.join(fields)
    t = mask_cpr(text)
    t = _NEAR_CPR.sub(r"\1-XXXX", t)
    return t if len(t) <= limit else t[:limit] + "…"


class RejectWriter:
    """Append-only writer of the rejects CSV (masked values only)."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = path
        self.columns = columns
        self.count = 0
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerow(columns)

    def append(self, frame: pd.DataFrame) -> None:
        """Append reject rows (columns in any order; missing ones left empty)."""
        if frame is None or len(frame) == 0:
            return
        frame = frame.reindex(columns=self.columns)
        frame = frame.apply(
            lambda col: neutralise_formulas(col) if not pd.api.types.is_numeric_dtype(col) else col
        )
        frame.to_csv(
            self.path, mode="a", header=False, index=False, encoding="utf-8", lineterminator="\n"
        )
        self.count += len(frame)

    def malformed(
        self,
        label: str,
        items: list[tuple[int | None, str, str]],
        delimiter: str | None = None,
        id_positions: tuple[int, ...] = (),
    ) -> int:
        """Write malformed lines (row number, raw text, why); returns how many."""
        if not items:
            return 0
        frame = pd.DataFrame(
            {
                "file": label,
                "row": [n if n is not None else "" for n, _, _ in items],
                "column": "",
                "reason": "malformed_row",
                "value": [mask_line(t, delimiter, id_positions) for _, t, _ in items],
                "detail": [w for _, _, w in items],
            },
            columns=REJECT_FIXED,
        )
        self.append(frame)
        return len(items)
