"""Readers for CSV/TSV (Danish conventions), Excel (.xlsx) and Parquet, in batches.

Each reader finds the header row (the first row among the first 30 whose cells best match
known column names, so a title row above the header is skipped), reports what it detected
(format, encoding, delimiter, sheet, header row) and yields :class:`Batch` objects with
the source row number of every row:

* CSV: the physical line number in the file (header = the header's line, usually 1),
  assuming one record per line;
* Excel: the sheet row number;
* Parquet: the 0-based row index.

Lines or rows that cannot be split into the header's columns are returned as malformed
(never dropped); completely empty lines/rows are counted as blank and are not rows.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nsv_eval.errors import InputError
from nsv_eval.ingest.cpr import mask_cpr
from nsv_eval.ingest.schemas import normalise_name

DELIMITERS = (";", ",", "\t", "|")
HEADER_SEARCH_ROWS = 30
_DELIM_NAMES = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}


@dataclass
class Batch:
    """Rows read from a file: values by source column position, and what could not be read."""

    frame: pd.DataFrame  # columns = positions (int) of the header
    rows: np.ndarray  # source row numbers
    malformed: list[tuple[int | None, str, str]] = field(default_factory=list)  # row, text, why
    blank: int = 0


@dataclass
class SourceInfo:
    """What was detected about one input file."""

    path: Path
    label: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    header: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = ""  # the file's label (``label`` also names the sheet of a workbook)

    def describe(self) -> str:
        """One-line description: ``csv, cp1252, delimiter semicolon, header line 1``."""
        parts = [self.format]
        if self.encoding:
            parts.append(f"encoding {self.encoding}")
        if self.delimiter:
            parts.append(f"delimiter {_DELIM_NAMES.get(self.delimiter, repr(self.delimiter))}")
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.header_row and self.format != "parquet":
            parts.append(f"header {'line' if self.format == 'csv' else 'row'} {self.header_row}")
        return ", ".join(parts)


def _trailing_delimiter(data_lines: list[str], d: str, nhead: int) -> bool:
    """Do the data lines (not the header) end with one extra delimiter and an empty field?

    Some exports write ``a;b;c;`` on every data line under a header ``a;b;c``. Decided on
    up to 200 non-blank sampled lines: most must have exactly one field more than the
    header with the last one empty.
    """
    sample = [ln for ln in data_lines if ln.strip()][:200]
    if not sample:
        return False
    plus = 0
    for fields in csv.reader(sample, delimiter=d):
        if len(fields) == nhead + 1 and fields[-1].strip() == "":
            plus += 1
    return plus > len(sample) / 2


class Reader(Protocol):
    """What ingest uses of every reader (these, the SAS and the register-layout readers)."""

    info: SourceInfo

    def batches(self) -> Iterator[Batch]: ...


def _score(cells: Sequence[object], known: set[str]) -> int:
    return sum(1 for c in cells if c is not None and normalise_name(c) in known)


# ----------------------------------------------------------------------------------------
# encodings
# ----------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """Detect the text encoding of ``path``.

    A byte-order mark decides (UTF-8 BOM → ``utf-8-sig``, UTF-16 BOM → ``utf-16``);
    otherwise the whole file is decoded strictly as UTF-8, then as cp1252 (Windows
    Danish), else it is latin-1 (which decodes any byte). This deterministic order is
    used instead of charset-normalizer's statistical guess because for short Danish files
    the guess is unstable (cp1250, mac_roman ...), while the three real candidates can be
    told apart exactly.
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in ("utf-8", "cp1252"):
        dec = codecs.getincrementaldecoder(enc)(errors="strict")
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    dec.decode(chunk)
            dec.decode(b"", final=True)
            return enc
        except UnicodeDecodeError:
            continue
    return "latin-1"


# ----------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------


class CsvReader:
    """Delimited text in Danish conventions, read in blocks with pyarrow."""

    def __init__(self, path: Path, label: str, known: set[str], batch_bytes: int = 1 << 24):
        self.info = SourceInfo(path, label, "csv")
        self.batch_bytes = batch_bytes
        enc = detect_encoding(path)
        self.info.encoding = enc
        with path.open("rb") as fh:
            sample = fh.read(1 << 18)
        text = sample.decode(enc, errors="replace")
        if "\x00" in text:
            raise InputError(
                f"{label}: not a text file (it contains NUL bytes); expected CSV, Excel .xlsx or Parquet."
            )
        lines = text.splitlines()
        if len(sample) == 1 << 18 and lines:
            lines = lines[:-1]  # the last sampled line may be cut
        if not any(line.strip() for line in lines):
            raise InputError(f"{label}: the file has no header line (only blank lines).")
        best = (-1, 0, 0, ";")  # score, -line index, n fields, delimiter
        for d in DELIMITERS:
            for i, line in enumerate(lines[:HEADER_SEARCH_ROWS]):
                if not line.strip():
                    continue
                cells = next(csv.reader([line], delimiter=d))
                cand = (_score(cells, known), -i, len(cells), d)
                if cand[0] > best[0] or (
                    cand[0] == best[0] and cand[0] > 0 and cand[1:3] > best[1:3]
                ):
                    best = cand
        if best[0] <= 0:
            # nothing recognised: the first non-blank line, split by its most frequent delimiter
            i = next(i for i, line in enumerate(lines) if line.strip())
            d = max(DELIMITERS, key=lambda c: lines[i].count(c))
            best = (0, -i, 0, d)
        _, neg_i, _, d = best
        self.header_index = -neg_i  # 0-based physical line of the header
        self.info.delimiter = d
        self.info.header_row = self.header_index + 1
        header = next(csv.reader([lines[self.header_index]], delimiter=d))
        self.info.header = [h.replace("\ufeff", "").strip() for h in header]
        self.trailing = _trailing_delimiter(lines[self.header_index + 1 :], d, len(header))
        if self.trailing:
            self.info.notes.append(
                f"the data lines end with an extra {_DELIM_NAMES.get(d, d)} that the header "
                "line does not have: the empty last field is ignored (a line whose last "
                "field is not empty, or that lacks it, is rejected as malformed)"
            )

    def batches(self) -> Iterator[Batch]:
        """Yield the data rows in blocks; ragged lines come back as malformed."""
        nhead = len(self.info.header)
        ncol = nhead + (1 if self.trailing else 0)
        names = [f"c{i}" for i in range(ncol)]
        invalid: list[tuple[int | None, str, int]] = []

        def handler(row: pacsv.InvalidRow) -> str:
            invalid.append((row.number, row.text, row.actual_columns))
            return "skip"

        enc = self.info.encoding or "utf-8"
        enc = {"utf-8-sig": "utf8", "utf-8": "utf8"}.get(enc, enc)
        try:
            reader = pacsv.open_csv(
                self.info.path,
                read_options=pacsv.ReadOptions(
                    skip_rows=self.header_index + 1,
                    column_names=names,
                    encoding=enc,
                    block_size=self.batch_bytes,
                    use_threads=False,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.info.delimiter,
                    invalid_row_handler=handler,
                    ignore_empty_lines=False,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return
            raise InputError(f"{self.info.label}: cannot be read as CSV: {mask_cpr(exc)}") from None
        cursor = self.header_index + 2  # physical line number of the next data line
        seen_bad: set[int] = set()
        reported = 0
        delim = _DELIM_NAMES.get(self.info.delimiter or "", self.info.delimiter)

        def drain() -> list[tuple[int | None, str, str]]:
            nonlocal reported
            out = [
                (n, text, f"expected {ncol} fields separated by {delim}, found {actual}")
                for n, text, actual in invalid[reported:]
            ]
            reported = len(invalid)
            return out

        while True:
            try:
                rb = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise InputError(
                    f"{self.info.label}: cannot be read as CSV: {mask_cpr(exc)}"
                ) from None
            k = rb.num_rows
            seen_bad.update(n for n, _, _ in invalid if n is not None)
            ahead = np.fromiter((b for b in seen_bad if b >= cursor), dtype=np.int64)
            cand = np.arange(cursor, cursor + k + len(ahead), dtype=np.int64)
            rows = cand[~np.isin(cand, ahead)][:k]
            cursor = int(rows[-1]) + 1 if k else cursor
            frame = rb.to_pandas()
            frame.columns = range(ncol)
            blank = (frame == "").all(axis=1).to_numpy()
            mal = drain()
            take = ~blank
            if self.trailing:
                # the extra last field must be empty; a value there is not silently dropped
                extra = (frame[nhead] != "").to_numpy() & ~blank
                if extra.any():
                    d = self.info.delimiter or ";"
                    mal += [
                        (
                            int(n),
                            d.join(frame.iloc[i].tolist()),
                            f"a value after the {nhead} header columns",
                        )
                        for n, i in zip(rows[extra], np.flatnonzero(extra), strict=True)
                    ]
                    take = take & ~extra
                frame = frame.drop(columns=nhead)
            yield Batch(frame.loc[take], rows[take], mal, int(blank.sum()))
        if reported < len(invalid):
            yield Batch(pd.DataFrame(columns=range(nhead)), np.zeros(0, np.int64), drain(), 0)


# ----------------------------------------------------------------------------------------
# Excel
# ----------------------------------------------------------------------------------------


def _danish_number(x: float | int) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x).replace(".", ",") if isinstance(x, float) else str(x)


def excel_series(values: list[object]) -> pd.Series:
    """Turn one Excel column into a Series: typed if the column is uniform, else text.

    All numbers → float/int; all dates → datetime64; all booleans → bool; a mixed column
    becomes text in Danish notation (numbers with decimal comma, dates in ISO), so that
    the text parsers read every cell the same way.
    """
    present = [v for v in values if v is not None and not (isinstance(v, str) and v.strip() == "")]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series([v if isinstance(v, bool) else None for v in values], dtype="boolean")
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pd.Series(
            [v if isinstance(v, (int, float)) else np.nan for v in values], dtype="float64"
        )
    if present and all(isinstance(v, (dt.datetime, dt.date)) for v in present):
        return pd.to_datetime(
            pd.Series(
                [v if isinstance(v, (dt.datetime, dt.date)) else None for v in values],
                dtype="object",
            )
        )
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif isinstance(v, bool):
            out.append("1" if v else "0")
        elif isinstance(v, (int, float)):
            out.append(_danish_number(v))
        elif isinstance(v, dt.datetime):
            out.append(v.isoformat(sep=" ", timespec="seconds"))
        elif isinstance(v, (dt.date, dt.time)):
            out.append(v.isoformat())
        else:
            out.append(str(v))
    return pd.Series(out, dtype="string")


class ExcelReader:
    """Excel .xlsx/.xlsm with openpyxl (read-only), header row found by known names.

    Every sheet is looked at: the sheet whose header matches the most known column names is
    read, and so is every other sheet with the same header (:meth:`sheet_readers` gives one
    reader per sheet). A sheet with a *different* header of known names makes the workbook
    a refusal naming the sheets; a sheet without any known column name (notes, a title
    page) is reported in a note.
    """

    def __init__(
        self,
        path: Path,
        label: str,
        known: set[str],
        batch_rows: int = 100_000,
        *,
        sheet: str | None = None,
        header_row: int | None = None,
    ):
        import openpyxl

        self.info = SourceInfo(path, label, "excel")
        self.batch_rows = batch_rows
        self.known = known
        self.same_header_sheets: list[tuple[str, int]] = []
        try:
            self.wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
            raise InputError(
                f"{label}: cannot be read as an Excel .xlsx file ({type(exc).__name__}: {mask_cpr(exc)})."
            ) from None
        if sheet is not None and header_row is not None:
            self.sheet, self.header_row = sheet, header_row
        else:
            self._choose_sheets(label, known)
        ws = self.wb[self.sheet]
        header = next(
            ws.iter_rows(min_row=self.header_row, max_row=self.header_row, values_only=True)
        )
        while header and header[-1] in (None, ""):
            header = header[:-1]
        self.info.sheet = self.sheet
        self.info.header_row = self.header_row
        self.info.header = ["" if h is None else str(h).strip() for h in header]

    def _choose_sheets(self, label: str, known: set[str]) -> None:
        """Find the header of every sheet; pick the best; check the others agree."""
        found: list[tuple[str, int, int, tuple[str, ...]]] = []  # sheet, score, row, header
        first_nonempty: tuple[int, str] | None = None
        empty_sheets: set[str] = set()
        for ws in self.wb.worksheets:
            best: tuple[int, int, tuple[str, ...]] | None = None
            has_content = False
            for r, cells in enumerate(
                ws.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True), start=1
            ):
                if any(c not in (None, "") for c in cells):
                    has_content = True
                    if first_nonempty is None:
                        first_nonempty = (r, ws.title)
                sc = _score(list(cells), known)
                if sc > 0 and (best is None or sc > best[0]):
                    names = [normalise_name(c) for c in cells if c not in (None, "")]
                    best = (sc, r, tuple(names))
            if best is not None:
                found.append((ws.title, best[0], best[1], best[2]))
            elif has_content:
                empty_sheets.add(ws.title)
        if found:
            top = max(found, key=lambda f: f[1])  # first sheet among the best scores
            self.sheet, self.header_row = top[0], top[2]
            same = [f for f in found if f[3] == top[3] and f[0] != top[0]]
            differ = [f for f in found if f[3] != top[3]]
            if differ:
                self.wb.close()
                raise InputError(
                    f"{label}: the sheets {', '.join(repr(f[0]) for f in [top, *differ])} "
                    "hold tables with different columns ("
                    + "; ".join(f"{f[0]!r}: {', '.join(f[3])}" for f in [top, *differ])
                    + "). Every sheet of a workbook is read, so its sheets must share one "
                    "header: save each table as its own file, or give them the same columns."
                )
            self.same_header_sheets = [(f[0], f[2]) for f in same]
            if same:
                self.info.notes.append(
                    f"{len(same) + 1} sheets with the same columns are read: "
                    + ", ".join(repr(x) for x in [top[0], *(f[0] for f in same)])
                )
            if empty_sheets:
                self.info.notes.append(
                    "sheets without any known column name are not data of this kind and are "
                    f"not read: {', '.join(repr(t) for t in sorted(empty_sheets))}"
                )
        elif first_nonempty is not None:
            self.header_row, self.sheet = first_nonempty
        else:
            self.wb.close()
            raise InputError(f"{label}: the workbook is empty (no cells with values in any sheet).")

    def sheet_readers(self) -> list[ExcelReader]:
        """One reader per sheet to read: this one, then the other sheets with its header.

        With several sheets each reader's label names its sheet (``book.xlsx [Ark2]``), so
        rejects and counts say which sheet a row came from.
        """
        if not self.same_header_sheets:
            return [self]
        base = self.info.label
        self.info.label = f"{base} [{mask_cpr(self.sheet)}]"
        out = [self]
        for title, row in self.same_header_sheets:
            r = ExcelReader(
                self.info.path,
                f"{base} [{mask_cpr(title)}]",
                self.known,
                self.batch_rows,
                sheet=title,
                header_row=row,
            )
            r.info.notes = list(self.info.notes)
            out.append(r)
        return out

    def batches(self) -> Iterator[Batch]:
        """Yield sheet rows below the header in blocks of ``batch_rows``."""
        ncol = len(self.info.header)
        ws = self.wb[self.sheet]
        buf: list[tuple] = []
        nums: list[int] = []
        mal: list[tuple[int | None, str, str]] = []
        blank = 0

        def flush() -> Batch:
            cols = list(zip(*buf, strict=True)) if buf else [()] * ncol
            frame = pd.DataFrame({i: excel_series(list(cols[i])) for i in range(ncol)})
            return Batch(frame, np.asarray(nums, dtype=np.int64), list(mal), blank)

        try:
            for r, cells in enumerate(
                ws.iter_rows(min_row=self.header_row + 1, values_only=True),
                start=self.header_row + 1,
            ):
                cells = tuple(cells)
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    blank += 1
                    continue
                extra = [c for c in cells[ncol:] if c not in (None, "")]
                if extra:
                    mal.append(
                        (
                            r,
                            ";".join("" if c is None else str(c) for c in cells),
                            f"values beyond the {ncol} header columns",
                        )
                    )
                    continue
                row = cells[:ncol] + (None,) * (ncol - len(cells))
                buf.append(row)
                nums.append(r)
                if len(buf) >= self.batch_rows:
                    yield flush()
                    buf, nums, mal, blank = [], [], [], 0
            if buf or mal or blank:
                yield flush()
        finally:
            self.wb.close()


# ----------------------------------------------------------------------------------------
# Parquet
# ----------------------------------------------------------------------------------------


class ParquetReader:
    """Parquet read in record batches (bounded memory)."""

    def __init__(self, path: Path, label: str, known: set[str], batch_rows: int = 500_000):
        self.info = SourceInfo(path, label, "parquet")
        self.batch_rows = batch_rows
        try:
            self.pf = pq.ParquetFile(path)
        except Exception as exc:  # ArrowInvalid, OSError
            raise InputError(f"{label}: cannot be read as Parquet ({mask_cpr(exc)}).") from None
        self.info.header = list(self.pf.schema_arrow.names)
        self.info.header_row = None
        self.columns: list[int] | None = None

    def batches(self) -> Iterator[Batch]:
        """Yield record batches of the selected columns (``self.columns`` positions)."""
        cols = self.columns if self.columns is not None else list(range(len(self.info.header)))
        names = [self.info.header[i] for i in cols]
        offset = 0
        try:
            for rb in self.pf.iter_batches(batch_size=self.batch_rows, columns=names):
                frame = rb.to_pandas(date_as_object=False)
                frame.columns = cols
                rows = np.arange(offset, offset + rb.num_rows, dtype=np.int64)
                offset += rb.num_rows
                yield Batch(frame, rows)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(
                f"{self.info.label}: cannot be read as Parquet ({mask_cpr(exc)})."
            ) from None


def open_reader(
    path: Path, label: str, known: set[str], batch_rows: int
) -> Reader:
    """Open ``path`` with the reader its content calls for (not just its extension).

    Raises
    ------
    InputError
        If the file does not exist, is empty, is an old binary .xls, or is unreadable.
    """
    if not path.exists():
        raise InputError(f"{label}: file not found.")
    if path.is_dir():
        raise InputError(f"{label}: is a directory, not a file.")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{label}: the file is empty (0 bytes).")
    with path.open("rb") as fh:
        magic = fh.read(8)
    from nsv_eval.ingest import layouts

    if layouts.is_sas(path):
        return layouts.SasReader(path, label, known, batch_rows=min(batch_rows, 200_000))
    if magic.startswith(b"PAR1"):
        return ParquetReader(path, label, known, batch_rows)
    if magic.startswith(b"PK"):
        return ExcelReader(path, label, known, batch_rows=min(batch_rows, 100_000))
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"{label}: an old binary Excel (.xls) file; save it as .xlsx or CSV first."
        )
    return CsvReader(path, label, known, batch_bytes=max(1 << 16, min(1 << 26, batch_rows * 64)))
