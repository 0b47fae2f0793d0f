"""DuckDB plumbing shared by the cleaning steps (not public API).

Everything register-scale runs inside one embedded DuckDB connection: inputs are registered
as views (a pandas DataFrame, a Parquet file or an existing table), intermediate results are
DuckDB tables or Parquet files, and outputs are streamed to Parquet in record batches with an
explicit Arrow schema so that the data contract's types (``int16`` kommune codes,
``date32`` dates, ``timestamp[s]`` times, ...) hold exactly.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TypeAlias, overload

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nsv_eval import reference
from nsv_eval.errors import InputError
from nsv_eval.ingest.core import SORTED_BATCH_ROWS

TableLike: TypeAlias = pd.DataFrame | str | Path
"""A table given to a cleaning function: a DataFrame or the path of a Parquet file."""

DEFAULT_MEMORY_LIMIT = "4GB"
DEFAULT_THREADS = 2


def connect(
    *, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int = DEFAULT_THREADS, temp_dir=None
) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection with bounded memory and threads.

    ``memory_limit`` caps DuckDB's buffer pool (operators spill to ``temp_dir`` beyond it),
    which keeps the whole preparation under about 6 GB at national scale together with the
    Python process. Insertion order is not preserved (faster); every output is written with
    an explicit ORDER BY instead.
    """
    con = duckdb.connect(database=":memory:")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{_sql_path(temp_dir)}'")
    _install_reference(con)
    return con


def _sql_path(path: str | Path) -> str:
    return str(Path(path)).replace("'", "''")


def sql_date(d: date) -> str:
    """A DuckDB date literal."""
    return f"DATE '{d.isoformat()}'"


def register(con: duckdb.DuckDBPyConnection, name: str, obj: TableLike) -> None:
    """Make ``obj`` (DataFrame or Parquet path) available in ``con`` as view ``name``."""
    if isinstance(obj, pd.DataFrame):
        # Through Arrow: robust to pandas views (negative strides), object columns of
        # datetime.date and the pandas 3 string dtype.
        con.register(f"_{name}_df", pa.Table.from_pandas(obj, preserve_index=False))
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM _{name}_df")
    elif isinstance(obj, str | Path):
        path = Path(obj)
        if not path.exists():
            raise InputError(f"{path}: file not found")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {parquet_scan(path)}")
    else:  # pragma: no cover - guarded by type hints
        raise TypeError(f"{name}: expected a DataFrame or a Parquet path, got {type(obj)!r}")


def parquet_scan(path: str | Path) -> str:
    """``SELECT * FROM read_parquet(path)``: the query of :func:`register`'s view."""
    return f"SELECT * FROM read_parquet('{_sql_path(path)}')"


def columns_of(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """Column names of table/view ``name``."""
    return [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]


def require_columns(
    con: duckdb.DuckDBPyConnection, name: str, required: Sequence[str], *, what: str
) -> None:
    """Raise :class:`InputError` naming the missing columns of ``what``."""
    have = set(columns_of(con, name))
    missing = [c for c in required if c not in have]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(missing)} "
            f"(has: {', '.join(sorted(have))}); see ARCHITECTURE.md 'Raw layout'"
        )


def require_not_null(
    con: duckdb.DuckDBPyConnection, name: str, cols: Sequence[str], *, what: str
) -> None:
    """Raise :class:`InputError` if any of ``cols`` holds nulls (naming column and count)."""
    exprs = ", ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in cols)
    counts = con.execute(f"SELECT {exprs} FROM {name}").fetchall()[0]
    for col, n in zip(cols, counts, strict=True):
        if n:
            raise InputError(f"{what}: column {col} has {n} missing value(s)")


def write_parquet(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    path: str | Path,
    schema: pa.Schema,
    *,
    batch_size: int = 500_000,
) -> int:
    """Stream the result of ``sql`` to ``path`` with exactly ``schema``; return the row count.

    The query's columns must be named as in ``schema`` (order is taken from the schema).
    A schema without timestamps is written by DuckDB's ``COPY … TO`` with every column cast
    in SQL (:func:`_copy_parquet`; parallel, no round trip through Python). Otherwise
    batches are cast with :meth:`pyarrow.RecordBatch.cast`, so e.g. DuckDB ``TIMESTAMP``
    becomes ``timestamp[s]`` and ``INTEGER`` becomes ``int16``. Either way a value that
    does not fit raises instead of wrapping.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if _copy_types(schema) is not None:
        n = _copy_parquet(con, sql, tmp, schema)
        if n is not None:
            os.replace(tmp, path)
            return n
    cols = ", ".join(f'"{f.name}"' for f in schema)
    reader = con.sql(f"SELECT {cols} FROM ({sql})").to_arrow_reader(batch_size)
    n = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(_cast_batch(batch, schema))
            n += batch.num_rows
    os.replace(tmp, path)
    return n


def sorted_table(con: duckdb.DuckDBPyConnection, name: str, sql: str, order_by: str | None) -> None:
    """Create temp table ``name`` from ``sql`` with its rows stored in ``order_by`` order.

    Insertion order is preserved for the ``CREATE … AS … ORDER BY`` (the connection
    default does not keep it), so the table's scan order and ``rowid`` follow ``order_by``
    and its row groups' min/max statistics let a range filter skip the other rows. With
    ``order_by`` None, ``sql`` (a filtered scan of such a table) is copied in its own order.
    """
    old = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    order = f" ORDER BY {order_by}" if order_by is not None else ""
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}{order}")
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if old else 'false'}")


def person_parts(
    con: duckdb.DuckDBPyConnection, src: str, id_col: str, part_rows: int
) -> list[str]:
    """SQL predicates on ``person_id`` cutting table ``src`` into parts of whole persons of
    about ``part_rows`` rows each, in the order of ``id_col``.

    For tables numbered by ``person_id`` then time (``course_id``, ``stay_id``): each part's
    rows are a run of consecutive ids, so the parts written one after the other
    (:func:`write_parquet_parts`) are the whole table in id order. The cut persons are those
    of ids ``k * part_rows + 1``.
    """
    rows = con.execute(
        f"SELECT DISTINCT person_id FROM {src} WHERE {id_col} > 1 "
        f"AND {id_col} % {int(part_rows)} = 1 ORDER BY person_id"
    ).fetchall()
    cuts = [r[0].replace("'", "''") for r in rows]
    if not cuts:
        return ["TRUE"]
    parts = [f"person_id < '{cuts[0]}'"]
    parts += [f"person_id >= '{a}' AND person_id < '{b}'" for a, b in pairwise(cuts)]
    parts.append(f"person_id >= '{cuts[-1]}'")
    return parts


ROW_GROUP_ROWS = SORTED_BATCH_ROWS
"""Rows per Parquet row group of the parted writer: the size of the record batches DuckDB's
Arrow reader hands :func:`write_parquet` (one constant with ingest's, which re-cuts a
scan the same way), so a table written in parts has the same row groups — and bytes — as
the same table written by one query."""


def write_parquet_parts(
    con: duckdb.DuckDBPyConnection,
    sqls: Sequence[str],
    path: str | Path,
    schema: pa.Schema,
    *,
    row_group: int = ROW_GROUP_ROWS,
) -> int:
    """Write the results of ``sqls``, one after the other, to ``path`` with ``schema``.

    For tables the Arrow writer must write (timestamps, lists; see :func:`write_parquet`)
    that are too large to sort in one piece cheaply: each query is one ordered part (e.g.
    the courses of a range of persons, ``ORDER BY course_id``), and the next part is
    computed by DuckDB on a background thread while this one is encoded and written, so the
    single-threaded Arrow writer and DuckDB's sort run at the same time instead of one after
    the other. The connection is used by that thread only until it has finished. Row groups
    have ``row_group`` rows whatever the parts' sizes. Returns the row count.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    cols = ", ".join(f'"{f.name}"' for f in schema)
    parts: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for sql in sqls:
                if stop.is_set():
                    return
                table = con.sql(f"SELECT {cols} FROM ({sql})").to_arrow_table()
                while not stop.is_set():
                    try:
                        parts.put(table, timeout=0.2)
                        break
                    except queue.Full:
                        continue
            parts.put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
            parts.put(exc)

    # each part's ORDER BY must survive into the fetched table (as in _copy_parquet)
    old_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    worker = threading.Thread(target=produce, name="nsv-parquet-parts", daemon=True)
    worker.start()
    n = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            carry: pa.Table | None = None
            while True:
                item = parts.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    break
                table = item if carry is None else pa.concat_tables([carry, item])
                full = (table.num_rows // row_group) * row_group
                for off in range(0, full, row_group):
                    batch = table.slice(off, row_group).combine_chunks().to_batches()[0]
                    writer.write_batch(_cast_batch(batch, schema))
                carry = table.slice(full)
                n += full
            if carry is not None and carry.num_rows:
                for batch in carry.combine_chunks().to_batches():
                    writer.write_batch(_cast_batch(batch, schema))
                n += carry.num_rows
    except BaseException:
        stop.set()
        while worker.is_alive():  # let the thread finish its query before anyone reuses con
            try:
                parts.get(timeout=0.2)
            except queue.Empty:
                pass
        tmp.unlink(missing_ok=True)
        raise
    finally:
        worker.join()  # done already (None or an error was its last word, or it was drained)
        con.execute(f"SET preserve_insertion_order = {'true' if old_order else 'false'}")
    os.replace(tmp, path)
    return n


_DUCK_TYPES: dict[pa.DataType, str] = {
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
}
"""Arrow types that DuckDB's Parquet writer stores so that pyarrow reads them back as the
same Arrow type. Timestamps are not among them: DuckDB writes ``TIMESTAMP_S`` as
microseconds (read back as ``timestamp[us]``, not the contract's ``timestamp[s]``), so
tables with times keep the Arrow writer."""


def _copy_types(schema: pa.Schema) -> list[str] | None:
    """DuckDB type of every field of ``schema``, or None if one has no exact counterpart."""
    types = [_DUCK_TYPES.get(f.type) for f in schema]
    return None if any(t is None for t in types) else [str(t) for t in types]


def _copy_parquet(
    con: duckdb.DuckDBPyConnection, sql: str, tmp: Path, schema: pa.Schema
) -> int | None:
    """Write ``sql`` with DuckDB's own ``COPY … TO`` (parallel, no Python batch casts).

    Every column is cast to the DuckDB type of its contract type (a value that does not fit
    raises, as the Arrow cast does); insertion order is preserved for the ``COPY`` so the
    query's ORDER BY is the file's row order. The written file's Arrow schema is checked
    against ``schema`` (names, types, nullability); on any difference the file is removed
    and None returned, and the caller writes through Arrow instead (the values are the
    same either way; the bytes of the file differ: row groups and encodings are DuckDB's).
    """
    types = _copy_types(schema)
    assert types is not None
    # DuckDB marks a column "required" when its statistics show no NULL (data-dependent);
    # the CASE keeps every column optional, as the Arrow writer and the contract have them
    sel = ", ".join(
        f'CASE WHEN "{f.name}" IS NULL THEN NULL ELSE CAST("{f.name}" AS {t}) END AS "{f.name}"'
        for f, t in zip(schema, types, strict=True)
    )
    old = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    try:
        n = con.execute(
            f"COPY (SELECT {sel} FROM ({sql})) TO '{_sql_path(tmp)}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        ).fetchall()[0][0]
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if old else 'false'}")
    written = pq.read_schema(tmp).remove_metadata()
    if not written.equals(schema.remove_metadata()):
        tmp.unlink(missing_ok=True)
        return None
    return int(n)


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for field, arr in zip(schema, batch.columns, strict=True):
        if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(arr.type):
            # Sub-second parts are not part of the contract; truncate explicitly.
            arr = arr.cast(field.type, safe=False)
        else:
            arr = arr.cast(field.type)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def fetch_df(con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema) -> pd.DataFrame:
    """Run ``sql`` and return a DataFrame with the dtypes ``schema`` implies."""
    cols = ", ".join(f'"{f.name}"' for f in schema)
    table = con.sql(f"SELECT {cols} FROM ({sql})").to_arrow_table()
    table = pa.Table.from_batches(
        [_cast_batch(b, schema) for b in table.to_batches()], schema=schema
    )
    return table.to_pandas()


# --------------------------------------------------------------------------------------
# Reference data and SQL macros
# --------------------------------------------------------------------------------------


def band_table() -> pd.DataFrame:
    """The ESP2013 age bands of :mod:`nsv_eval.reference` with lower/upper ages.

    ``age_upper`` is the first age *not* in the band (null for the open last band). The
    bounds are parsed from ``reference.AGE_BANDS`` and checked against
    ``reference.age_band`` so the two can never disagree.
    """
    lowers = [int(label.split("-")[0].rstrip("+")) for label in reference.AGE_BANDS]
    uppers: list[int | None] = [*lowers[1:], None]
    for lo, label in zip(lowers, reference.AGE_BANDS, strict=True):
        if reference.age_band(lo) != label:  # pragma: no cover - consistency guard
            raise RuntimeError(f"age band {label!r} does not start at age {lo}")
    return pd.DataFrame(
        {
            "band_idx": range(len(lowers)),
            "age_band": reference.AGE_BANDS,
            "age_lower": lowers,
            "age_upper": pd.array(uppers, dtype="Int64"),
        }
    )


def _band_case(age_expr: str) -> str:
    """SQL CASE mapping an age in whole years to its band label (from ``band_table``)."""
    bands = band_table()
    whens = " ".join(
        f"WHEN {age_expr} >= {int(lo)} THEN '{label}'"
        for lo, label in zip(bands["age_lower"][::-1], bands["age_band"][::-1], strict=True)
    )
    return f"(CASE {whens} ELSE NULL END)"


def _install_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Register age-band table and the date macros used by every step.

    * ``age_at(b, t)``: age in whole years at date ``t`` of a person born ``b``; the age
      increases on the birthday (a person born 29 February gets one year older on 1 March
      in common years).
    * ``birthday(b, a)``: the date on which a person born ``b`` turns ``a`` (same rule).
    * ``age_band_of(a)``: ESP2013 band label of age ``a`` (``reference.AGE_BANDS``).
    """
    bands = band_table()
    con.register("_bands_df", bands)
    con.execute("CREATE OR REPLACE TEMP TABLE bands AS SELECT * FROM _bands_df")
    con.unregister("_bands_df")
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO age_at(b, t) AS
            year(t) - year(b)
            - CASE WHEN month(t) < month(b) OR (month(t) = month(b) AND day(t) < day(b))
                   THEN 1 ELSE 0 END
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO birthday(b, a) AS
            CASE WHEN month(b) = 2 AND day(b) = 29
                      AND NOT ((year(b) + a) % 4 = 0
                               AND ((year(b) + a) % 100 <> 0 OR (year(b) + a) % 400 = 0))
                 THEN make_date(CAST(year(b) + a AS BIGINT), 3, 1)
                 ELSE make_date(CAST(year(b) + a AS BIGINT), month(b), day(b)) END
        """
    )
    con.execute(f"CREATE OR REPLACE TEMP MACRO age_band_of(a) AS {_band_case('a')}")


# --------------------------------------------------------------------------------------
# Study period
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The study period: whole calendar months from ``start`` to ``end`` (both inclusive).

    Parameters
    ----------
    start : datetime.date
        First day of the period; must be the first day of a month.
    end : datetime.date
        Last day of the period; must be the last day of a month.
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start.day != 1:
            raise ValueError(f"period start {self.start} must be the first day of a month")
        if (self.end + timedelta(days=1)).day != 1:
            raise ValueError(f"period end {self.end} must be the last day of a month")
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before its start {self.start}")

    @property
    def end_exclusive(self) -> date:
        """The day after the last day."""
        return self.end + timedelta(days=1)

    @property
    def n_months(self) -> int:
        """Number of calendar months in the period."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def as_dict(self) -> dict[str, str]:
        """``{"start": ISO date, "end": ISO date}``."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @overload
    @classmethod
    def coerce(cls, value: Period | tuple) -> Period: ...
    @overload
    @classmethod
    def coerce(cls, value: Period | tuple | None) -> Period | None: ...
    @classmethod
    def coerce(cls, value: Period | tuple | None) -> Period | None:
        """Accept a :class:`Period`, a ``(start, end)`` pair of dates/ISO strings or None."""
        if value is None or isinstance(value, Period):
            return value
        start, end = value
        return cls(pd.Timestamp(start).date(), pd.Timestamp(end).date())


def install_period(con: duckdb.DuckDBPyConnection, period: Period) -> None:
    """Create the ``months`` table (``k``, ``ms``, ``me1``, ``year``, ``month``, ``ndays``)
    and the ``midx(d)`` macro (month index of date ``d``; 0 = first month of the period)."""
    s = period.start
    con.execute(
        f"""
        CREATE OR REPLACE TEMP MACRO midx(d) AS
            (year(d) - {s.year}) * 12 + month(d) - {s.month}
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE months AS
        SELECT CAST(k AS INTEGER) AS k,
               CAST({sql_date(s)} + to_months(k) AS DATE) AS ms,
               CAST({sql_date(s)} + to_months(k + 1) AS DATE) AS me1,
               year(CAST({sql_date(s)} + to_months(k) AS DATE)) AS year,
               month(CAST({sql_date(s)} + to_months(k) AS DATE)) AS month,
               date_diff('day', CAST({sql_date(s)} + to_months(k) AS DATE),
                         CAST({sql_date(s)} + to_months(k + 1) AS DATE)) AS ndays
        FROM range({period.n_months}) t(k)
        """
    )


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------


class Stages:
    """Print one line per stage with its wall time (when ``log`` is not None).

    ``timings`` holds each stage's wall seconds, ``cpu_timings`` its CPU seconds summed over
    the process's threads (DuckDB's and the Arrow writer's included): CPU well below
    ``threads`` × wall marks a stage that leaves cores idle.
    """

    def __init__(self, log: Callable[[str], object] | None) -> None:
        self.log = log
        self.timings: dict[str, float] = {}
        self.cpu_timings: dict[str, float] = {}
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as stage ``name``."""
        t, c = time.perf_counter(), os.times()
        if self.log is not None:
            self.log(f"[prepare] {name} ...")
        yield
        dt, c1 = time.perf_counter() - t, os.times()
        dsys = c1.system - c.system
        dc = c1.user - c.user + dsys
        self.timings[name] = round(dt, 3)
        self.cpu_timings[name] = round(dc, 3)
        if self.log is not None:
            self.log(f"[prepare] {name}: {dt:.1f} s (CPU {dc:.1f} s, of it system {dsys:.1f} s)")

    @property
    def total(self) -> float:
        """Seconds since creation."""
        return time.perf_counter() - self._t0
