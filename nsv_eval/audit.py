"""``nsv-eval audit``: scan a prepared folder or a reports folder for CPR numbers.

Every file under the given paths is read, and its name checked: Parquet (column names,
key-value metadata, the values of every text column, and whole numbers of 9-10 digits in
integer columns, which is how a CPR number looks after a spreadsheet or a numeric cast;
likewise a text value of exactly 9 digits), and every text file (CSV, JSON, HTML,
notebooks, logs, YAML ...) line by line; other binary files (pickled caches) are read byte
by byte as Latin-1 text, where a CPR number stored as text shows as digits. Zip archives
(.xlsx workbooks included) are opened and every member is read as text. Other compressed
files (gzip, zstd, PNG, JPEG), whose bytes do not show their content, are skipped and
listed.

A hit is what :func:`nsv_eval.ingest.cpr.find_cpr` calls a CPR number: ``DDMMYYSSSS``,
``DDMMYY-SSSS`` or ``DDMMYY SSSS`` not inside a longer digit run, whose birth date is a real
date under the century rule of the 7th digit, or a replacement number (day + 60, or letters
in the serial). The modulus-11 check is reported for each hit but not required (numbers
issued since 2007 need not satisfy it). Not hits: digit runs inside lower-case hexadecimal
tokens (sha256 fingerprints, hex identifiers), the decimals of a number (``0.0101501235``),
and runs inside base64 blobs (embedded images) of 100 or more characters. Masked numbers
(``DDMMYY-XXXX``) are not hits.

The command exits 1 when anything is found, printing only masked numbers.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nsv_eval.errors import InputError
from nsv_eval.ingest.cpr import find_cpr, mask_cpr

_DIGITS6 = re.compile(r"[0-9]{6}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{100,}={0,2}")
_TEXT_SAMPLE = 8192


@dataclass(frozen=True)
class AuditHit:
    """One CPR number found (the number itself is never kept: ``masked`` is DDMMYY-XXXX)."""

    path: Path
    where: str  # "line 12", "column person_id, row 3", "column name", "metadata"
    masked: str
    replacement: bool
    modulus11: bool | None

    def __str__(self) -> str:
        kind = "replacement CPR number" if self.replacement else "CPR number"
        mod = "" if self.modulus11 is None else f", modulus 11 {'ok' if self.modulus11 else 'no'}"
        return f"{mask_cpr(self.path)}: {self.where}: {kind} {self.masked}{mod}"


@dataclass
class AuditResult:
    """What :func:`audit` scanned and found."""

    files: int = 0
    hits: list[AuditHit] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No CPR number found."""
        return not self.hits

    def summary(self) -> str:
        """One line."""
        return f"audit: {self.files} file(s) scanned, {len(self.hits)} CPR number(s) found" + (
            f", {len(self.skipped)} compressed file(s) not readable: "
            + ", ".join(mask_cpr(p.name) for p in self.skipped[:5])
            + (" ..." if len(self.skipped) > 5 else "")
            if self.skipped
            else ""
        )


def _text_hits(text: str) -> list:
    if not _DIGITS6.search(text):
        return []
    return find_cpr(_BASE64.sub(lambda m: " " * len(m[0]), text))


def _iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"audit: {p} does not exist.")
        if p.is_file():
            yield p
            continue
        for f in sorted(p.rglob("*")):
            if f.is_file() and ".git" not in f.parts:
                yield f


def _scan_parquet(path: Path, hits: list[AuditHit], batch_rows: int = 200_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    for name in pf.schema_arrow.names:
        for h in _text_hits(name):
            hits.append(AuditHit(path, "column name", h.masked, h.replacement, h.modulus11))
    meta = pf.schema_arrow.metadata or {}
    for k, v in meta.items():
        text = k.decode("utf-8", "replace") + " " + v.decode("utf-8", "replace")
        for h in _text_hits(text):
            hits.append(AuditHit(path, "metadata", h.masked, h.replacement, h.modulus11))
    offset = 0
    for rb in pf.iter_batches(batch_size=batch_rows):
        for i, f in enumerate(rb.schema):
            col = rb.column(i)
            t = f.type
            if pa.types.is_dictionary(t):
                col, t = col.dictionary_decode(), t.value_type
            if pa.types.is_string(t) or pa.types.is_large_string(t):
                s = pd.Series(col.to_pandas(), dtype="string")
            elif pa.types.is_integer(t):
                v = pd.Series(col.to_pandas()).astype("Float64")
                big = (v >= 1e8) & (v < 1e10)
                if not big.fillna(False).any():
                    continue
                s = pd.Series(pd.NA, index=v.index, dtype="string")
                s[big.fillna(False)] = (
                    v[big.fillna(False)].astype("Int64").astype("string").str.zfill(10)
                )
            else:
                continue
            cand = s.str.contains(r"[0-9]{6}", regex=True).fillna(False).to_numpy(dtype=bool)
            if not cand.any():
                continue
            sub = s[cand]
            codes, uniques = pd.factorize(sub)
            # a whole value of 9 digits is checked as a CPR number that lost its leading zero
            found = [_text_hits("0" + u if len(u) == 9 and u.isdigit() else u) for u in uniques]
            for j in np.flatnonzero([bool(x) for x in found]):
                row = int(np.flatnonzero(cand)[int(np.argmax(codes == j))]) + offset
                for h in found[j]:
                    hits.append(
                        AuditHit(
                            path,
                            f"column {f.name}, row {row}",
                            h.masked,
                            h.replacement,
                            h.modulus11,
                        )
                    )
        offset += rb.num_rows


_COMPRESSED = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\x89PNG", b"\xff\xd8\xff")


def _is_binary(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(_TEXT_SAMPLE)
    return b"\x00" in head


def _scan_text(path: Path, hits: list[AuditHit]) -> None:
    enc = "latin-1" if _is_binary(path) else "utf-8"
    with path.open("r", encoding=enc, errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            for h in _text_hits(line):
                hits.append(AuditHit(path, f"line {n}", h.masked, h.replacement, h.modulus11))


def _scan_zip(path: Path, hits: list[AuditHit]) -> None:
    import zipfile

    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        _scan_text(path, hits)
        return
    with zf:
        for info in zf.infolist():
            if info.is_dir() or info.filename.lower().endswith((".png", ".jpeg", ".jpg", ".gif")):
                continue
            text = zf.read(info).decode("utf-8", errors="replace")
            for h in _text_hits(info.filename):
                hits.append(AuditHit(path, "member name", h.masked, h.replacement, h.modulus11))
            for n, line in enumerate(text.splitlines(), start=1):
                for h in _text_hits(line):
                    hits.append(
                        AuditHit(
                            path, f"{info.filename} line {n}", h.masked, h.replacement, h.modulus11
                        )
                    )


def audit(
    paths: Iterable[str | Path] | str | Path, *, log: Callable[[str], object] | None = None
) -> AuditResult:
    """Scan files and folders for CPR numbers.

    Parameters
    ----------
    paths : path or iterable of paths
        Files or folders (scanned recursively; ``.git`` is skipped).
    log : callable, optional
        Receives one line per hit (masked).

    Returns
    -------
    AuditResult

    Raises
    ------
    InputError
        If a path does not exist.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    res = AuditResult()
    for f in _iter_files(paths):
        before = len(res.hits)
        for h in _text_hits(f.name):
            res.hits.append(AuditHit(f, "file name", h.masked, h.replacement, h.modulus11))
        with f.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"PAR1":
            _scan_parquet(f, res.hits)
        elif magic == b"PK\x03\x04":
            _scan_zip(f, res.hits)
        elif magic.startswith(_COMPRESSED):
            res.skipped.append(f)
            continue
        else:
            _scan_text(f, res.hits)
        res.files += 1
        if log is not None:
            for h in res.hits[before:]:
                log(str(h))
    return res


def _run(args: argparse.Namespace) -> int:
    res = audit(args.paths, log=None if args.quiet else print)
    print(res.summary(), file=sys.stderr if res.hits else sys.stdout)
    return 0 if res.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``audit`` subcommand."""
    p = subparsers.add_parser(
        "audit",
        help="scan a prepared or reports folder for CPR numbers (exit 1 on a hit)",
        description=(
            "Scan every file under the given folders (Parquet values, column names and "
            "metadata; CSV, JSON, HTML, notebooks, logs) for CPR numbers: 10 digits "
            "(DDMMYYSSSS, DDMMYY-SSSS, DDMMYY SSSS) with a real birth date under the century "
            "rule, and replacement numbers (day + 60, letters in the serial). Prints each "
            "hit masked (DDMMYY-XXXX) with file and place, and exits 1 if there is any."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to scan")
    p.add_argument("--quiet", action="store_true", help="only the summary line")
    p.set_defaults(func=_run)
