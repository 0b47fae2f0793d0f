"""``ingest``: one kind of extract → clean, pseudonymised table + rejects + reconciliation.

Flow (bounded memory: every step works on batches):

1. Open every file, detect format/encoding/delimiter/header and map its columns; any file
   that cannot be read or lacks a required column stops ingest before anything is written,
   with one message naming every such file.
2. Per batch: parse and validate (:mod:`.validate`), pseudonymise CPR numbers, append kept
   rows to a temporary Parquet file and rejected rows to the rejects CSV. A typed Parquet
   file first gets one DuckDB pass (:mod:`.typed`): the rows it proves clean skip this
   step and are read from the file by step 3; only the others are validated here.
3. DuckDB pass over the kept rows: exact duplicates (identical in every output column)
   are merged (counted per file as ``merged_duplicates``); rows sharing a key with an
   earlier different row are rejected (``duplicate_key``); rows are written in a stable
   order (file order as given, then row order) with a fixed Arrow schema.
4. Counts are reconciled per file (read = kept + rejected + merged_duplicates, asserted)
   and merged into ``reconciliation.json``.
5. The key check value of the pseudonymisation key is recorded in ``pseudonym-key.json``;
   a later ingest into the folder with another key is refused (before anything is written).
6. With ``max_reject_share`` set, a file whose rejected share exceeds it raises
   :class:`TooManyRejects` *after* everything is written (the table keeps the good rows,
   the rejects file holds the rest), so nothing is lost silently and nothing is hidden.

Every text that leaves ingest (file and sheet names, column names, notes, messages, log
lines, the reconciliation) passes :func:`~nsv_eval.ingest.cpr.mask_cpr`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nsv_eval.errors import InputError, NsvError
from nsv_eval.ingest.cpr import (
    check_folder_key,
    mask_cpr,
    mask_deep,
    record_key,
    require_key,
    resolve_key,
)
from nsv_eval.ingest.layouts import LayoutSource
from nsv_eval.ingest.mapping import known_names, load_mapping, plan_columns
from nsv_eval.ingest.quarantine import RejectWriter
from nsv_eval.ingest.readers import Batch, ExcelReader, ParquetReader, Reader, open_reader
from nsv_eval.ingest.schemas import REASONS, Schema, get_schema, normalise_name
from nsv_eval.ingest.typed import kept_select, split_typed, suspect_batches
from nsv_eval.ingest.validate import check_no_cpr_left, reject_columns, validate_batch

DEFAULT_BATCH_ROWS = 500_000
DEFAULT_MAX_REJECT_SHARE = 0.05
"""Default reject threshold of the ``ingest`` and ``prepare`` commands (5 % of a file's rows)."""


@dataclass
class FileReport:
    """Reconciliation of one input file."""

    file: str
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header_row: int | None
    columns: dict[str, str]
    ignored_columns: list[str]
    notes: list[str] = field(default_factory=list)
    read: int = 0
    kept: int = 0
    rejected: int = 0
    merged_duplicates: int = 0
    blank_lines: int = 0
    pseudonymised: int = 0
    replacement_cpr: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    source: str = ""

    @property
    def reject_share(self) -> float:
        """Rejected rows / rows read (0 for a file without rows)."""
        return self.rejected / self.read if self.read else 0.0

    def reconciles(self) -> bool:
        """``read == kept + rejected + merged_duplicates``."""
        return self.read == self.kept + self.rejected + self.merged_duplicates

    def line(self) -> str:
        """One line for the console."""
        desc = [self.format]
        if self.encoding:
            desc.append(self.encoding)
        if self.delimiter:
            desc.append(
                {";": "';'", ",": "','", "\t": "tab", "|": "'|'"}.get(
                    self.delimiter, self.delimiter
                )
            )
        if self.sheet:
            desc.append(f"sheet {self.sheet!r}")
        if self.header_row and self.header_row > 1:
            desc.append(f"header row {self.header_row}")
        why = ", ".join(
            f"{k} {v:,}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1])
        )
        s = (
            f"{self.file} [{', '.join(desc)}]: read {self.read:,}, kept {self.kept:,}, "
            f"rejected {self.rejected:,}{f' ({why})' if why else ''}, "
            f"merged duplicates {self.merged_duplicates:,}"
        )
        if self.blank_lines:
            s += f", blank lines skipped {self.blank_lines:,}"
        if self.pseudonymised:
            s += f", CPR numbers pseudonymised {self.pseudonymised:,}"
        if self.replacement_cpr:
            s += f" (of which replacement numbers {self.replacement_cpr:,})"
        return s


@dataclass
class IngestResult:
    """What :func:`ingest` did.

    Attributes
    ----------
    kind : str
        Kind of extract.
    table_path, rejects_path, reconciliation_path : Path
        The clean table, the quarantine CSV and the reconciliation JSON.
    files : list of FileReport
        Per-file counts and detected format/encoding.
    seconds : float
        Wall time.
    """

    kind: str
    table_path: Path
    rejects_path: Path
    reconciliation_path: Path
    files: list[FileReport]
    seconds: float = 0.0

    @property
    def read(self) -> int:
        """Rows read over all files."""
        return sum(f.read for f in self.files)

    @property
    def kept(self) -> int:
        """Rows written to the table."""
        return sum(f.kept for f in self.files)

    @property
    def rejected(self) -> int:
        """Rows written to the rejects file."""
        return sum(f.rejected for f in self.files)

    @property
    def merged_duplicates(self) -> int:
        """Exact duplicate rows merged into an earlier identical row."""
        return sum(f.merged_duplicates for f in self.files)

    @property
    def reasons(self) -> dict[str, int]:
        """Reject counts by reason code over all files."""
        out: dict[str, int] = {}
        for f in self.files:
            for k, v in f.reasons.items():
                out[k] = out.get(k, 0) + v
        return out

    def over_threshold(self, max_share: float) -> list[FileReport]:
        """Files whose rejected share exceeds ``max_share``."""
        return [f for f in self.files if f.read and f.reject_share > max_share]

    def summary(self) -> str:
        """One line: rows read, kept, rejected (by reason), merged, where the table is."""
        why = ", ".join(
            f"{k} {v:,}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1])
        )
        return (
            f"{self.kind}: {len(self.files)} file(s), {self.read:,} rows read, {self.kept:,} kept, "
            f"{self.rejected:,} rejected{f' ({why})' if why else ''}, "
            f"{self.merged_duplicates:,} duplicates merged → {self.table_path}"
            + (f"; rejected rows in {self.rejects_path}" if self.rejected else "")
        )


class TooManyRejects(InputError):
    """Some file's rejected share exceeds the threshold; everything was still written.

    Attributes
    ----------
    results : list of IngestResult
        What was ingested (tables, rejects and reconciliation are on disk).
    offenders : list of FileReport
        The files over the threshold.
    """

    def __init__(self, message: str, results: list, offenders: list[FileReport]):
        super().__init__(message)
        self.results = results
        self.offenders = offenders


def reject_share_message(kind: str, offenders: list[FileReport], max_share: float) -> str:
    """Plain-words summary of the files over the reject threshold, with their top reasons."""
    lines = [
        f"{kind}: {len(offenders)} file(s) with more than {max_share:.1%} of the rows rejected "
        "(the good rows and the rejects were written; check the rejects file, fix the "
        "extract or its column mapping, or accept with --max-reject-share):"
    ]
    for f in offenders:
        top = sorted(f.reasons.items(), key=lambda kv: -kv[1])[:3]
        why = ", ".join(f"{k} {v:,} ({REASONS.get(k, k)})" for k, v in top)
        lines.append(
            f"  {f.file}: {f.rejected:,} of {f.read:,} rows rejected ({f.reject_share:.1%}); "
            f"top reasons: {why}"
        )
    return mask_cpr("\n".join(lines))


def _to_arrow(df: pd.DataFrame, schema: Schema) -> pa.Table:
    arrays = []
    for f in schema.arrow_schema():
        s = df[f.name]
        if pa.types.is_date32(f.type) or pa.types.is_timestamp(f.type):
            ts = pd.to_datetime(s, errors="coerce")
            if not isinstance(ts, pd.Series):
                ts = pd.Series(ts)
            arr = pa.array(ts.astype("datetime64[s]"), type=pa.timestamp("s"), from_pandas=True)
            arrays.append(arr.cast(f.type) if pa.types.is_date32(f.type) else arr)
        elif pa.types.is_integer(f.type):
            arrays.append(pa.array(pd.array(s, dtype="Int64"), type=f.type))
        elif pa.types.is_floating(f.type):
            arrays.append(
                pa.array(
                    pd.to_numeric(s, errors="coerce").astype("float64"),
                    type=f.type,
                    from_pandas=True,
                )
            )
        elif pa.types.is_boolean(f.type):
            arrays.append(pa.array(pd.array(s, dtype="boolean"), type=f.type))
        elif pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
            arrays.append(pa.array(s, type=f.type, from_pandas=True))
        else:
            arrays.append(
                pa.array(s.astype("object").where(pd.notna(s), None), type=f.type, from_pandas=True)
            )
    return pa.Table.from_arrays(arrays, schema=schema.arrow_schema())


def _merge_reconciliation(path: Path, kind: str, files: list[FileReport]) -> None:
    """Replace ``kind`` in ``reconciliation.json`` (keyed by kind, then file), under a lock."""
    lock_path = path.with_suffix(".lock")
    with lock_path.open("w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: no concurrent prepare there
            pass
        data = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                data = {}
        data[kind] = mask_deep({f.file: asdict(f) for f in files})
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )
        os.replace(tmp, path)
    lock_path.unlink(missing_ok=True)


def _as_list(files: Sequence[str | Path] | str | Path) -> list[str | Path]:
    if isinstance(files, (str, Path)):
        return [files]
    return list(files)


def ingest(
    kind: str,
    files: Sequence[str | Path] | str | Path,
    out: str | Path,
    *,
    mapping: dict | str | Path | None = None,
    key: bytes | None = None,
    log: Callable[[str], object] | None = print,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    extract_date: dt.date | str | None = None,
    max_reject_share: float | None = None,
    layout: str = "nsv",
    pseudonymised_key: str | None = None,
) -> IngestResult:
    """Ingest one kind of extract into a clean, pseudonymised table.

    Parameters
    ----------
    kind : str
        One of :data:`nsv_eval.ingest.KINDS` (``'contacts'`` is accepted for
        ``'admissions'``).
    files : path or list of paths
        CSV/TSV, Excel .xlsx or Parquet files of that kind; concatenated in the given order.
    out : path
        Output directory; gets ``<table>.parquet``, ``rejects-<kind>.csv`` and
        ``reconciliation.json`` (merged with other kinds already there).
    mapping : dict or path, optional
        Extra column names ``{kind: {their_name: canonical_name}}`` (YAML file or dict).
    key : bytes, optional
        Pseudonymisation key; default ``$NSV_PSEUDO_KEY`` or the file ``$NSV_PSEUDO_KEY_FILE``.
        Needed only if the data contain CPR numbers.
    log : callable, optional
        Receives progress and reconciliation lines (already CPR-masked); None for silence.
    batch_rows : int
        Rows per batch (memory bound).
    extract_date : date or ISO str, optional
        When the extract was made: later dates are rejected as ``future_date`` (except
        planned dates). Default today.
    max_reject_share : float, optional
        Reject threshold per file (0.05 = 5 %); a file above it raises
        :class:`TooManyRejects` after everything is written. Default: no threshold (the
        command line uses :data:`DEFAULT_MAX_REJECT_SHARE`).
    layout : {'nsv', 'lpr3', 'lpr2'}
        Register layout of the admissions files (:mod:`nsv_eval.ingest.layouts`): ``lpr3``
        kontakter + diagnoser, ``lpr2`` LPR_ADM + LPR_DIAG; ``nsv`` the tidy layout.
    pseudonymised_key : str, optional
        Name of a person column that already holds a pseudonym (e.g. ``PNR`` on Danmarks
        Statistik's research servers): it becomes ``person_id`` as it is, is never
        validated as a CPR number and never hashed again. A CPR column of another name is
        still validated and pseudonymised.

    Returns
    -------
    IngestResult

    Raises
    ------
    InputError
        A file cannot be read, is empty, lacks a required column, or contains CPR numbers
        while no key is set, or the folder holds tables made with another key. Messages
        never contain a CPR number.
    TooManyRejects
        A file's rejected share exceeds ``max_reject_share`` (outputs are written).
    """
    t0 = time.perf_counter()
    schema = get_schema(kind)
    say = (lambda m: log(mask_cpr(m))) if log is not None else (lambda m: None)
    out = Path(out)
    paths = _as_list(files)
    if not paths:
        raise InputError(f"ingest {schema.kind}: no input files given.")
    if isinstance(extract_date, str):
        try:
            extract_date = dt.date.fromisoformat(extract_date)
        except ValueError:
            raise InputError(
                f"extract date {extract_date!r} is not an ISO date (2024-12-31)."
            ) from None
    try:
        from nsv_eval.ingest import layouts

        paths = layouts.sources_for(schema.kind, paths, layout)
        result = _ingest(
            schema, paths, out, mapping, key, say, batch_rows, t0, extract_date, pseudonymised_key
        )
    except NsvError as exc:
        raise InputError(mask_cpr(exc)) from None
    except Exception as exc:
        # Keep the traceback frames, drop anything that could carry a CPR number.
        masked = RuntimeError(
            f"internal error in ingest {schema.kind}: {type(exc).__name__}: {mask_cpr(exc)}"
        )
        raise masked.with_traceback(exc.__traceback__) from None
    if max_reject_share is not None:
        offenders = result.over_threshold(max_reject_share)
        if offenders:
            raise TooManyRejects(
                reject_share_message(schema.kind, offenders, max_reject_share), [result], offenders
            )
    return result


def _ingest(
    schema: Schema,
    paths: list[str | Path],
    out: Path,
    mapping: dict | str | Path | None,
    key: bytes | None,
    say: Callable[[str], object],
    batch_rows: int,
    t0: float,
    extract_date: dt.date | None = None,
    pseudonymised_key: str | None = None,
) -> IngestResult:
    user = load_mapping(mapping).get(schema.kind, {})
    pseudo = None
    if pseudonymised_key and schema.id_column:
        # a declared pseudonym column is the person id as it is (layouts.py documents why)
        pseudo = normalise_name(pseudonymised_key)
        user = {**user, pseudo: schema.id_column}
    known = known_names(schema, user)

    # 1. open and plan every file first: all-or-nothing
    readers: list[Reader] = []
    plans, problems = [], []
    for p in paths:
        label = mask_cpr(str(p))  # a CPR number in a file name never reaches any output
        try:
            sheets: list[Reader]
            if isinstance(p, LayoutSource):
                sheets = [p.open(known, batch_rows)]
            else:
                r = open_reader(Path(p), label, known, batch_rows)
                sheets = [*r.sheet_readers()] if isinstance(r, ExcelReader) else [r]
            for r in sheets:
                plan = plan_columns(schema, r.info.header, user, r.info.label or label)
                if isinstance(r, ParquetReader):
                    r.columns = sorted(plan.by_position)
                r.info.source = label
                readers.append(r)
                plans.append(plan)
        except InputError as exc:
            problems.append(str(exc))
            continue
    if problems:
        raise InputError("\n".join(problems))

    key_cache: dict[str, bytes | None] = {}

    def key_getter() -> bytes | None:
        if "k" not in key_cache:
            k = resolve_key(key)
            if k is not None:  # refuse before anything is written
                check_folder_key(out, k, {f"{schema.table}.parquet"})
            key_cache["k"] = k
        return key_cache["k"]

    if any(p.has_cpr for p in plans):
        require_key(
            key_getter(),
            ", ".join(str(r.info.label) for r, p in zip(readers, plans, strict=True) if p.has_cpr),
        )

    out.mkdir(parents=True, exist_ok=True)
    table_path = out / f"{schema.table}.parquet"
    rejects_path = out / f"rejects-{schema.kind}.csv"
    recon_path = out / "reconciliation.json"
    work = Path(tempfile.mkdtemp(prefix=f".ingest-{schema.kind}-", dir=out))
    try:
        rejects = RejectWriter(work / "rejects.csv", reject_columns(schema))
        tmp_kept = work / "kept.parquet"
        kept_schema = (
            schema.arrow_schema()
            .append(pa.field("_src", pa.int32()))
            .append(pa.field("_row", pa.int64()))
        )
        writer = pq.ParquetWriter(tmp_kept, kept_schema, compression="none")
        reports: list[FileReport] = []
        prekept = [0] * len(readers)
        typed_kept: list[str] = []
        n_suspect = 0  # rows of typed files left to the Python path
        python_kept = 0  # rows the Python path kept
        try:
            for src, (reader, plan) in enumerate(zip(readers, plans, strict=True)):
                info = reader.info
                say(f"{schema.kind}: reading {info.label} ({info.describe()})")
                rep = FileReport(
                    file=info.label,
                    format=info.format,
                    encoding=info.encoding,
                    delimiter=info.delimiter,
                    sheet=mask_cpr(info.sheet) if info.sheet is not None else None,
                    header_row=info.header_row,
                    columns={
                        mask_cpr(info.header[i]): c for i, c in sorted(plan.by_position.items())
                    },
                    ignored_columns=[mask_cpr(c) for c in plan.ignored],
                    notes=[mask_cpr(n) for n in info.notes],
                    source=getattr(info, "source", info.label),
                )
                if plan.ignored:
                    say(f"  columns not used: {', '.join(plan.ignored)}")
                for note in info.notes:
                    say(f"  note: {note}")
                id_pos = tuple(
                    i for i, c in plan.by_position.items() if c in ("cpr", schema.id_column)
                )
                batches = reader.batches()
                split = None
                if isinstance(reader, ParquetReader) and not plan.has_cpr and pseudo is None:
                    # typed Parquet: DuckDB writes the rows it proves clean; only the
                    # others are validated row by row below (nsv_eval.ingest.typed)
                    split = split_typed(
                        schema,
                        Path(info.path),
                        {c: info.header[i] for i, c in plan.by_position.items()},
                        src,
                        work,
                        extract_date,
                    )
                if split is not None:
                    rep.read += split.n_clean
                    prekept[src] += split.n_clean
                    typed_kept.append(split.clean_sql)
                    n_suspect += len(split.suspect)
                    batches = (
                        Batch(frame, rows)
                        for frame, rows in suspect_batches(
                            Path(info.path),
                            sorted(plan.by_position),
                            info.header,
                            split.suspect,
                            batch_rows,
                        )
                    )
                for batch in batches:
                    rep.blank_lines += batch.blank
                    nm = rejects.malformed(info.label, batch.malformed, info.delimiter, id_pos)
                    rep.read += nm
                    rep.rejected += nm
                    if nm:
                        rep.reasons["malformed_row"] = rep.reasons.get("malformed_row", 0) + nm
                    if len(batch.frame) == 0:
                        continue
                    raw = pd.DataFrame(
                        {
                            c: batch.frame[i].reset_index(drop=True)
                            for i, c in plan.by_position.items()
                        }
                    )
                    is_pseudo = pseudo is not None and any(
                        normalise_name(info.header[i]) == pseudo
                        for i, c in plan.by_position.items()
                        if c == schema.id_column
                    )
                    if is_pseudo:  # guard against real CPR numbers declared by mistake
                        from nsv_eval.ingest.layouts import check_declared_pseudonym

                        check_declared_pseudonym(
                            raw[schema.id_column], info.label, str(pseudonymised_key)
                        )
                    res = validate_batch(
                        schema,
                        raw,
                        batch.rows,
                        source=info.label,
                        key_getter=key_getter,
                        not_after=extract_date,
                        declared_pseudonym=is_pseudo,
                    )
                    rep.read += res.n_read
                    rep.rejected += len(res.rejects)
                    rep.pseudonymised += res.pseudonymised
                    rep.replacement_cpr += res.replacement
                    for code, cnt in res.rejects["reason"].value_counts().items():
                        rep.reasons[str(code)] = rep.reasons.get(str(code), 0) + int(cnt)
                    rejects.append(res.rejects)
                    if schema.id_column and len(res.kept) and not is_pseudo:
                        # safety net: nothing CPR-shaped may reach the table
                        check_no_cpr_left(res.kept[schema.id_column], info.label)
                    prekept[src] += len(res.kept)
                    python_kept += len(res.kept)
                    if len(res.kept):
                        t = _to_arrow(res.kept, schema)
                        t = t.append_column("_src", pa.array(np.full(len(res.kept), src, np.int32)))
                        t = t.append_column("_row", pa.array(res.kept["_row"].to_numpy(np.int64)))
                        writer.write_table(t)
                if rep.read == 0:
                    say(f"  {info.label}: no data rows (header only)")
                reports.append(rep)
        finally:
            writer.close()

        # 3. duplicates, key conflicts, stable order, final schema
        tmp_table = work / "table.parquet"
        kept_counts, key_rejects, firsts = _finalise(
            schema,
            tmp_kept,
            tmp_table,
            work,
            batch_rows,
            [r.file for r in reports],
            rejects,
            typed_kept,
            # one typed file proved clean as a whole: its scan is already in file order
            presorted=len(typed_kept) == 1 and n_suspect == 0 and python_kept == 0,
        )
        for i, rep in enumerate(reports):
            rep.kept = kept_counts.get(i, 0)
            rep.merged_duplicates = prekept[i] - firsts.get(i, 0)
            kr = key_rejects.get(i, 0)
            rep.rejected += kr
            if kr:
                rep.reasons["duplicate_key"] = rep.reasons.get("duplicate_key", 0) + kr
            # 4. every row accounted for
            assert rep.reconciles(), (
                f"{rep.file}: read {rep.read} != kept {rep.kept} + rejected {rep.rejected} "
                f"+ merged {rep.merged_duplicates}"
            )
        os.replace(tmp_table, table_path)
        os.replace(rejects.path, rejects_path)
        if (used_key := key_cache.get("k")) is not None and any(r.pseudonymised for r in reports):
            record_key(out, used_key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _merge_reconciliation(recon_path, schema.kind, reports)
    result = IngestResult(
        schema.kind, table_path, rejects_path, recon_path, reports, time.perf_counter() - t0
    )
    for rep in reports:
        say("  " + rep.line())
        if rep.replacement_cpr:
            say(
                f"  note: {rep.file}: {rep.replacement_cpr:,} replacement CPR numbers "
                "(erstatningspersonnumre: day + 60 or letters in the serial) were "
                "pseudonymised; such persons are not in CPR-based registers"
            )
    say(result.summary())
    return result


def _finalise(
    schema: Schema,
    tmp_kept: Path,
    tmp_table: Path,
    work: Path,
    batch_rows: int,
    labels: list[str],
    rejects: RejectWriter,
    typed_kept: Sequence[str] = (),
    presorted: bool = False,
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Merge exact duplicates, reject key conflicts, order rows and write the final table.

    ``presorted``: the rows (one typed file's scan, nothing from the Python path) come in
    file order already; when every key is unique they are written in scan order (DuckDB
    keeps the order of a file scan) instead of being sorted again.

    Exact duplicates are found with a DuckDB ``GROUP BY`` over every output column (NULLs
    group together), keeping the first occurrence (file order, then row order); DuckDB
    spills to disk, so this stays within memory for national-scale tables.

    Returns per source file index: first occurrences kept, first occurrences rejected for
    a key conflict, and the number of distinct groups first seen in the file (the caller
    derives merged duplicates from it).
    """
    cols = schema.names
    q = ", ".join(f'"{c}"' for c in cols)
    gen = [c.name for c in schema.columns if c.generated]
    # the rows validated in Python and those DuckDB proved clean (nsv_eval.ingest.typed),
    # each cast to the same DuckDB types
    src = (
        "("
        + " UNION ALL ".join(
            [
                f"SELECT {kept_select(schema)}, CAST(_src AS INTEGER) AS _src, "
                f"CAST(_row AS BIGINT) AS _row FROM read_parquet('{tmp_kept.as_posix()}')",
                *typed_kept,
            ]
        )
        + ")"
    )
    if schema.key:
        kq = ", ".join(f'"{c}"' for c in schema.key)
        win = f"PARTITION BY {kq} ORDER BY _ord"
        cond = " AND ".join(f'"{g}" IS NOT NULL' for g in gen if g in schema.key) or "TRUE"
        keyed = (
            f"CASE WHEN {cond} THEN row_number() OVER ({win}) ELSE 1 END AS _krank, "
            f"first_value(_ord) OVER ({win}) AS _kfirst"
        )
    else:
        keyed = "1 AS _krank, NULL::BIGINT AS _kfirst"
    sql = f"""
        WITH g AS (
            SELECT {q}, min((_src::BIGINT << 40) + _row) AS _ord FROM {src} GROUP BY ALL
        )
        SELECT *, {keyed}, (_ord >> 40)::INTEGER AS _src FROM g ORDER BY _ord
    """
    con = duckdb.connect(
        config={
            "temp_directory": str(work / "duckdb.tmp"),
            "threads": max(1, min(4, os.cpu_count() or 1)),
        }
    )
    try:
        con.execute("SET enable_progress_bar = false").fetchall()
        con.execute("SET preserve_insertion_order = true").fetchall()  # scans in file order
        next_id = 1
        if gen:
            g = gen[0]
            mx = con.sql(f'SELECT max("{g}") FROM {src}').fetchall()[0][0]
            next_id = int(mx) + 1 if mx is not None else 1
        if schema.key:
            # Rows with pairwise different, non-null keys cannot be exact duplicates (those
            # share every value) nor key conflicts: then each row is its own group and the
            # GROUP BY over every column can be skipped (same rows, same order).
            nulls = " OR ".join(f'"{c}" IS NULL' for c in schema.key)
            n, n_null, n_keys = con.sql(
                f"SELECT count(*), count(*) FILTER (WHERE {nulls}), "
                f"(SELECT count(*) FROM (SELECT DISTINCT {kq} FROM {src})) FROM {src}"
            ).fetchall()[0]
            if n_null == 0 and n_keys == n:
                sql = f"""
                    SELECT {q}, (_src::BIGINT << 40) + _row AS _ord, 1 AS _krank,
                           NULL::BIGINT AS _kfirst, _src
                    FROM {src} {"" if presorted else "ORDER BY _ord"}
                """
        target = schema.arrow_schema()
        writer = pq.ParquetWriter(tmp_table, target, compression="zstd")
        kept: dict[int, int] = {}
        firsts: dict[int, int] = {}
        key_rej: dict[int, int] = {}
        try:
            reader = con.sql(sql).to_arrow_reader(batch_rows)
            if presorted:
                # a scan hands batches by the file's row groups, a sort blocks of DuckDB's
                # own size, each cut into batch_rows: re-cut the same way, so the written
                # row groups are the same
                reader = (
                    block.slice(i, batch_rows)
                    for block in _rechunk(reader, SORTED_BATCH_ROWS)
                    for i in range(0, block.num_rows, batch_rows)
                )
            last_ord = -1
            for rb in reader:
                if presorted:  # the scan's order is the file order: checked, not assumed
                    o = rb.column(rb.schema.get_field_index("_ord")).to_numpy()
                    if len(o) and (o[0] <= last_ord or (np.diff(o) <= 0).any()):
                        raise NsvError(f"internal error: {labels[0]} was not read in file order")
                    last_ord = int(o[-1]) if len(o) else last_ord
                s_arr = rb.column(rb.schema.get_field_index("_src")).to_numpy(zero_copy_only=False)
                krank = rb.column(rb.schema.get_field_index("_krank")).to_numpy(
                    zero_copy_only=False
                )
                is_keyrej = krank > 1
                for arr, store in (
                    (~is_keyrej, kept),
                    (is_keyrej, key_rej),
                    (np.ones_like(is_keyrej), firsts),
                ):
                    if arr.any():
                        u, c = np.unique(s_arr[arr], return_counts=True)
                        for si, ni in zip(u.tolist(), c.tolist(), strict=True):
                            store[si] = store.get(si, 0) + ni
                tbl = pa.Table.from_batches([rb])
                if is_keyrej.any():
                    rejects.append(
                        _key_reject_frame(schema, tbl.filter(pa.array(is_keyrej)), labels)
                    )
                    tbl = tbl.filter(pa.array(~is_keyrej))
                out_tbl = tbl.select(cols)
                if gen and out_tbl.num_rows:
                    g = gen[0]
                    ids = out_tbl.column(g).to_pandas().astype("Int64")
                    nulls = ids.isna().to_numpy()
                    if nulls.any():
                        ids[nulls] = np.arange(next_id, next_id + nulls.sum())
                        next_id += int(nulls.sum())
                        out_tbl = out_tbl.set_column(
                            cols.index(g), g, pa.array(ids, type=pa.int64())
                        )
                writer.write_table(out_tbl.cast(target))
        finally:
            writer.close()
    finally:
        con.close()
    return kept, key_rej, firsts


SORTED_BATCH_ROWS = 122_880
"""Rows per record batch DuckDB's Arrow reader hands out for a sorted result (60 vectors of
2,048): the row groups of an ingested table written after a sort."""


def _rechunk(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches`` in the same order, re-cut into batches of ``size`` rows (the
    last one shorter)."""
    buf: list[pa.RecordBatch] = []
    n = 0
    for rb in batches:
        if rb.num_rows == 0:
            continue
        buf.append(rb)
        n += rb.num_rows
        while n >= size:
            t = pa.Table.from_batches(buf).combine_chunks()
            yield t.slice(0, size).combine_chunks().to_batches()[0]
            rest = t.slice(size)
            buf, n = rest.to_batches(), rest.num_rows
    if n:
        yield pa.Table.from_batches(buf).combine_chunks().to_batches()[0]


def _key_reject_frame(schema: Schema, tbl: pa.Table, labels: list[str]) -> pd.DataFrame:
    df = tbl.to_pandas()
    keyname = "+".join(schema.key)
    mask40 = (1 << 40) - 1
    out = pd.DataFrame(
        {
            "file": [labels[int(i)] for i in df["_src"]],
            "row": (df["_ord"].astype("int64") & mask40).to_numpy(),
            "column": keyname,
            "reason": "duplicate_key",
            "value": df[list(schema.key)]
            .astype("string")
            .fillna("")
            .agg("|".join, axis=1)
            .map(mask_cpr),
            "detail": [
                f"{REASONS['duplicate_key']}: same {keyname} as row {int(k) & mask40} of "
                f"{labels[int(k) >> 40]}"
                for k in df["_kfirst"]
            ],
        }
    )
    for c in schema.names:
        if c != schema.id_column:
            out[c] = df[c].astype("string").fillna("").map(mask_cpr).to_numpy()
    return out
