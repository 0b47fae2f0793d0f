"""Typed Parquet inputs validated inside DuckDB: rows already clean never enter Python.

A register extract delivered as Parquet usually has typed columns (dates as ``date32``,
times as timestamps, codes already canonical). For such a file, ingest does not need to
parse every row in pandas: one DuckDB pass over the whole file decides per row whether it
is *already clean*, i.e. whether :func:`nsv_eval.ingest.validate.validate_batch` would keep
it with exactly the values it has. Those rows go from the file straight into ingest's
final DuckDB pass (duplicates, keys, order; :func:`nsv_eval.ingest.core._finalise`); only
the other rows ("suspect" rows: anything the predicates below do
not prove clean, including every row that will be rejected) go through the row-by-row
Python path as before. So every reject reason, the quarantine file (file, row number,
column, reason, masked value), the reconciliation and the CPR guard are those of the
Python path, which stays the single definition of validation; this module only proves
cleanliness conservatively, and when in doubt sends a row (or the whole file) to Python.

What "clean" means, per column type (the predicates are SQL over the whole file):

* ``sex``, ``education``, ``category``, ``kommune``, ``icd10``, ``bool``: few distinct
  values; the distinct values are parsed once with the Python parser
  (:func:`~nsv_eval.ingest.validate._parse_column`) and a value is clean when it parses
  without a reason to itself (``M`` → ``M``, ``DJ189`` → ``DJ189``, ``101`` → ``101``).
* ``int``/``year``/``count`` (integer typed): inside the column's range, not negative for a
  count, exactly representable as float64 (the Python path converts through float64), and
  not 9-10 digits long (those are checked for CPR numbers by Python).
* ``float`` (``DOUBLE``): not NaN (Python reads NaN as missing), inside the range.
* ``date``/``datetime`` (``DATE``/``TIMESTAMP`` without a time zone): year between the
  column's lower limit and 2100, before the day after the extract date unless the column is
  a planned date, and whole seconds (the contract stores seconds).
* ``id``/``text`` (``VARCHAR``): starts and ends with a printable ASCII character (so
  stripping whitespace changes nothing), is no missing-value token (``NA``, ``NULL`` …),
  and matches none of the CPR patterns of :mod:`nsv_eval.ingest.cpr` (the whole-value
  shapes and the RE2 pre-filter that is a superset of :func:`~nsv_eval.ingest.cpr.find_cpr`),
  so it can neither be a CPR number to pseudonymise nor hold one.
* A missing value is clean only in a nullable column and only as a real NULL; the row
  checks (discharge before admission, end before start, death before birth) hold.

A file gets the fast path only when it is Parquet, has no CPR column and no declared
pseudonym column, and every mapped column has a DuckDB type listed above for its column
type; otherwise the whole file takes the Python path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nsv_eval.ingest.cpr import _PREFILTER as CPR_PREFILTER
from nsv_eval.ingest.cpr import CPR_LETTER_SHAPE, CPR_LOST_ZERO_SHAPE, CPR_SHAPE, HEX_TOKEN
from nsv_eval.ingest.schemas import Column, Schema
from nsv_eval.ingest.validate import MISSING_TOKENS, _parse_column, is_missing

DUCK_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "sex": "VARCHAR",
    "education": "VARCHAR",
    "category": "VARCHAR",
    "icd10": "VARCHAR",
    "int": "BIGINT",
    "year": "BIGINT",
    "count": "BIGINT",
    "kommune": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "bool": "BOOLEAN",
}
"""DuckDB type of each column type in the temporary kept file (:func:`kept_select`)."""

_BY_VALUE = ("sex", "education", "category", "kommune", "icd10", "bool")
_INTEGER_IN = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_TIME_IN = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
MAX_DISTINCT = 20_000
"""A by-value column with more distinct values than this sends the file to Python."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def kept_select(schema: Schema, alias: str = "") -> str:
    """SELECT list casting every canonical column of a kept file to its DuckDB type."""
    p = f"{alias}." if alias else ""
    return ", ".join(
        f"CAST({p}{_q(c.name)} AS {DUCK_TYPES[c.type]}) AS {_q(c.name)}" for c in schema.columns
    )


@dataclass
class TypedSplit:
    """Result of :func:`split_typed` for one file.

    ``clean_sql`` selects the clean rows straight from the file (canonical columns cast to
    :data:`DUCK_TYPES`, ``_src``, ``_row``): ingest's final DuckDB pass reads them from
    there, so they are never written to a temporary file.
    """

    n_rows: int
    n_clean: int
    suspect: np.ndarray  # sorted row numbers (0-based) for the Python path
    clean_sql: str


def _sql_value(x: object) -> str | None:
    """A SQL literal for a distinct value (None: not representable exactly)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, str):
        return _lit(x)
    return None


def _range_sql(v: str, col: Column) -> list[str]:
    conds = []
    if col.type == "count":
        conds.append(f"{v} >= 0")
    if col.lo is not None:
        conds.append(f"{v} {'>' if col.lo_exclusive else '>='} {col.lo!r}")
    if col.hi is not None:
        conds.append(f"{v} <= {col.hi!r}")
    return conds


def _value_sql(
    con: duckdb.DuckDBPyConnection,
    v: str,
    duck_type: str,
    col: Column,
    not_after: dt.date,
    path_sql: str,
    k: int,
) -> str | None:
    """SQL that is true when the non-null value ``v`` is clean (None: no fast path)."""
    t = col.type
    if t in _BY_VALUE:
        d = con.sql(
            f"SELECT DISTINCT {v} AS v FROM read_parquet({path_sql}) LIMIT {MAX_DISTINCT + 1}"
        ).to_arrow_table()
        if d.num_rows > MAX_DISTINCT:
            return None
        s = d.column("v").to_pandas()
        try:
            miss = is_missing(s)
            parsed, reasons = _parse_column(s.reset_index(drop=True), col, not_after)
        except Exception:  # noqa: BLE001 - the Python path reports what is wrong
            return None
        ok = np.zeros(len(s), dtype=bool)
        for i, (a, b) in enumerate(zip(s.tolist(), parsed.tolist(), strict=True)):
            if miss[i] or reasons[i] is not None or a is None or b is None or pd.isna(b):
                continue
            try:
                ok[i] = bool(a == b)  # parses to itself: kept exactly as it is
            except (TypeError, ValueError):  # pragma: no cover - incomparable values
                ok[i] = False
        good = [_sql_value(x) for x, keep in zip(s.tolist(), ok, strict=True) if keep]
        if any(g is None for g in good):
            return None
        # a literal list, so the predicate is plain SQL text that ingest's final DuckDB
        # pass can evaluate on the file directly
        return f"{v} IN ({', '.join(str(g) for g in good)})" if good else "false"
    conds: list[str]
    if t in ("int", "year", "count"):
        if duck_type not in _INTEGER_IN:
            return None
        # exact in float64 (Python parses through it) and not 9-10 digits (CPR check)
        conds = [
            *_range_sql(v, col),
            f"({v} BETWEEN -9007199254740992 AND 99999999 "
            f"OR {v} BETWEEN 10000000000 AND 9007199254740992)",
        ]
    elif t == "float":
        if duck_type != "DOUBLE":
            return None
        conds = [f"NOT isnan({v})", *_range_sql(v, col)]
    elif t in ("date", "datetime"):
        if t == "date" and duck_type != "DATE":
            return None
        if t == "datetime" and duck_type not in _TIME_IN:
            return None
        lo = int(col.lo if col.lo is not None else 1850)
        # the year range as constant comparisons (cheaper than year() on every row)
        conds = [f"{v} >= DATE '{lo:04d}-01-01'", f"{v} < DATE '2101-01-01'"]
        if t == "datetime" and duck_type != "TIMESTAMP_S":  # whole seconds only
            epoch = "epoch_ns" if duck_type == "TIMESTAMP_NS" else "epoch_us"
            unit = 1_000_000_000 if duck_type == "TIMESTAMP_NS" else 1_000_000
            conds.append(f"{epoch}({v}) % {unit} = 0")
        if not col.planned:
            first_after = not_after + dt.timedelta(days=1)
            conds.append(f"{v} < DATE '{first_after.isoformat()}'")
    elif t in ("id", "text"):
        if duck_type != "VARCHAR":
            return None
        tokens = ", ".join(_lit(x) for x in sorted(MISSING_TOKENS))
        # one RE2 pass: a non-printable/space first or last character, or any CPR shape
        bad = "|".join(
            f"(?:{p})"
            for p in ("^[^!-~]", "[^!-~]$", CPR_PREFILTER, CPR_SHAPE, CPR_LETTER_SHAPE,
                      CPR_LOST_ZERO_SHAPE)
        )  # fmt: skip
        # a value that is one lower-case hex token (a pseudonym such as 0028000554f3) holds
        # no CPR number for find_cpr, whatever digit runs it has, and no whole-value CPR
        # shape either (those are 9-11 characters with digits only or a separator)
        conds = [
            f"lower({v}) NOT IN ({tokens})",
            f"(regexp_full_match({v}, {_lit(HEX_TOKEN)}) OR NOT regexp_matches({v}, {_lit(bad)}))",
        ]
    else:  # pragma: no cover - every column type is handled above
        return None
    return "(" + " AND ".join(conds) + ")"


def split_typed(
    schema: Schema,
    path: Path,
    names: dict[str, str],
    src: int,
    work: Path,
    not_after: dt.date | None,
    threads: int = 2,
) -> TypedSplit | None:
    """Split a typed Parquet file into clean rows (written by DuckDB) and suspect rows.

    Parameters
    ----------
    schema : Schema
        The kind's schema.
    path : Path
        The Parquet file.
    names : dict
        Canonical column → the file's column name (every mapped column; no ``cpr``).
    src : int
        Index of the file in the ingest (the ``_src`` column of the kept file).
    work : Path
        Ingest's working directory (the kept file and DuckDB's spill files go there).
    not_after : date, optional
        The extract date (default today), as for the Python path.

    Returns
    -------
    TypedSplit or None
        None when the file does not qualify (the caller uses the Python path for it).
    """
    not_after = not_after if not_after is not None else dt.date.today()
    con = duckdb.connect(
        config={"temp_directory": str(work / "typed.tmp"), "threads": max(1, threads)}
    )
    try:
        con.execute("SET enable_progress_bar = false")
        path_sql = _lit(path.as_posix())
        types = {
            r[0]: str(r[1]).upper()
            for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({path_sql})").fetchall()
        }
        conds: list[str] = []
        for k, col in enumerate(schema.columns):
            if col.name not in names:
                if not col.nullable and not col.generated:
                    return None  # pragma: no cover - the column plan requires it
                continue
            v = _q(names[col.name])
            duck_type = types.get(names[col.name])
            if duck_type is None:
                return None
            clean = _value_sql(con, v, duck_type, col, not_after, path_sql, k)
            if clean is None:
                return None
            if col.nullable:
                conds.append(f"({v} IS NULL OR {clean})")
            else:
                conds.append(f"({v} IS NOT NULL AND {clean})")
        for check, later, earlier in (
            ("discharge_before_admission", "discharge_time", "admit_time"),
            ("end_before_start", "end_date", "start_date"),
            ("death_before_birth", "death_date", "birth_date"),
        ):
            if check in schema.checks and later in names and earlier in names:
                conds.append(f"coalesce(NOT ({_q(names[later])} < {_q(names[earlier])}), true)")
        clean_sql = " AND ".join(conds) if conds else "true"
        cols = []
        for c in schema.columns:
            expr = _q(names[c.name]) if c.name in names else "NULL"
            cols.append(f"CAST({expr} AS {DUCK_TYPES[c.type]}) AS {_q(c.name)}")
        clean_sql = f"coalesce({clean_sql}, false)"
        src_sql = f"read_parquet({path_sql}, file_row_number = true)"
        # the predicates run once: the suspect row numbers are kept in a small file, and
        # the clean rows are the file's rows without them
        suspect_path = work / f"suspect-{src}.parquet"
        con.execute(
            f"COPY (SELECT file_row_number AS r FROM {src_sql} WHERE NOT {clean_sql}) "
            f"TO {_lit(suspect_path.as_posix())} (FORMAT parquet)"
        )
        suspect = np.sort(
            con.execute(f"SELECT r FROM read_parquet({_lit(suspect_path.as_posix())})")
            .fetchnumpy()["r"]
            .astype(np.int64)
        )
        select = (
            f"SELECT {', '.join(cols)}, CAST({int(src)} AS INTEGER) AS _src, "
            f"CAST(t.file_row_number AS BIGINT) AS _row FROM {src_sql} t"
        )
        if len(suspect):
            select += (
                f" ANTI JOIN read_parquet({_lit(suspect_path.as_posix())}) s "
                "ON s.r = t.file_row_number"
            )
        # (without suspects the select is a plain scan: rows in file order)
        n_rows = pq.ParquetFile(path).metadata.num_rows
    finally:
        con.close()
    return TypedSplit(int(n_rows), int(n_rows) - len(suspect), suspect, select)


def suspect_batches(
    path: Path, columns: list[int], header: list[str], suspect: np.ndarray, batch_rows: int
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """The suspect rows in file order, as (frame by column position, row numbers).

    Read with pyarrow (the same Arrow → pandas conversion as
    :class:`~nsv_eval.ingest.readers.ParquetReader`), only the row groups that hold
    suspect rows, and grouped into the reader's batches (rows ``k * batch_rows`` up to
    ``(k + 1) * batch_rows``): the rejected rows of one batch are rendered together in the
    quarantine file (pandas formats a column of times by all its values), so the
    quarantine file is byte for byte the one the Python path writes.
    """
    if len(suspect) == 0:
        return
    names = [header[i] for i in columns]
    pf = pq.ParquetFile(path)
    window: int | None = None
    parts: list[pa.Table] = []
    part_rows: list[np.ndarray] = []

    def flush() -> tuple[pd.DataFrame, np.ndarray]:
        frame = pa.concat_tables(parts).to_pandas(date_as_object=False)
        frame.columns = columns
        return frame, np.concatenate(part_rows)

    offset = 0
    for g in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        lo, hi = np.searchsorted(suspect, [offset, offset + n])
        if hi > lo:
            table = pf.read_row_group(g, columns=names)
            rows_g = suspect[lo:hi]
            wins = rows_g // batch_rows
            for w in np.unique(wins):
                rows = rows_g[wins == w]
                if window is not None and w != window and parts:
                    yield flush()
                    parts, part_rows = [], []
                window = int(w)
                parts.append(table.take(pa.array(rows - offset)))
                part_rows.append(rows)
        offset += n
    if parts:
        yield flush()
