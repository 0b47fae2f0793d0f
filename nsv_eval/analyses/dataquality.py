"""What study 1 (Datakvalitet) computes: reconciliation, reject reasons, coverage, inputs.

All functions read the prepared layout (ARCHITECTURE.md): ``reconciliation.json``,
``rejects-<kind>.csv``, ``manifest.json`` and the clean tables. They return aggregate
tables only (no person-level rows); :mod:`nsv_eval.report.studies.s01_datakvalitet` shows
them through the disclosure layer. (Moved from ``report/dataquality.py``: numbers live in
``analyses``.)
Reject files are read column-wise (``reason``, ``column``) so the masked values in them
never enter the notebook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from nsv_eval.analyses.data import Prepared
from nsv_eval.errors import InputError

RECON_COLUMNS = ["kind", "file", "read", "kept", "rejected", "merged"]

_COUNT_ALIASES: dict[str, tuple[str, ...]] = {
    "read": ("read", "n_read", "rows_read", "rows_in", "lines"),
    "kept": ("kept", "n_kept", "rows_kept", "rows_out", "written", "clean"),
    "rejected": ("rejected", "n_rejected", "rows_rejected", "rejects", "quarantined"),
    "merged": ("merged", "n_merged", "merged_duplicates", "duplicates", "duplicates_merged"),
}
_FILE_KEYS = ("file", "source", "path", "name")


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise InputError(f"{path} is missing from the prepared data; re-run `nsv-eval prepare`.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def _count(d: Mapping[str, Any], what: str) -> int | None:
    for alias in _COUNT_ALIASES[what]:
        if alias in d and d[alias] is not None:
            return int(d[alias])
    return None


def _recon_rows(obj: Any, kind: str | None, file: str | None) -> Iterator[dict[str, Any]]:
    """Walk the reconciliation JSON, whatever its nesting, yielding per-file count rows."""
    if isinstance(obj, list):
        for x in obj:
            yield from _recon_rows(x, kind, file)
        return
    if not isinstance(obj, Mapping):
        return
    kind = str(obj.get("kind", kind)) if obj.get("kind", kind) is not None else None
    f = next((obj[k] for k in _FILE_KEYS if isinstance(obj.get(k), str)), file)
    if _count(obj, "read") is not None:
        yield {
            "kind": kind,
            "file": Path(f).name if f else None,
            "read": _count(obj, "read"),
            "kept": _count(obj, "kept"),
            "rejected": _count(obj, "rejected"),
            "merged": _count(obj, "merged") or 0,
        }
        return
    for key in ("files", "sources", "inputs", "kinds"):
        if key in obj:
            yield from _recon_rows(obj[key], kind, f)
            return
    for k, v in obj.items():
        if isinstance(v, Mapping | list):
            if kind is None:
                yield from _recon_rows(v, str(k), f)
            else:
                yield from _recon_rows(v, kind, str(k))


def reconciliation(data_dir: str | Path) -> pd.DataFrame:
    """Per kind and file: rows read, kept, rejected and merged as duplicates.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``file``, ``read``, ``kept``, ``rejected``, ``merged`` (ints) and
        ``balanced`` (``read == kept + rejected + merged``), sorted by kind and file.
    """
    path = Path(data_dir) / "reconciliation.json"
    rows = list(_recon_rows(_read_json(path), None, None))
    if not rows:
        raise InputError(f"{path}: no per-file counts found (expected read/kept/rejected)")
    df = pd.DataFrame(rows, columns=RECON_COLUMNS)
    for c in ("read", "kept", "rejected", "merged"):
        if df[c].isna().any():
            bad = df.loc[df[c].isna(), "file"].iloc[0]
            raise InputError(f"{path}: file {bad!r} has no '{c}' count")
        df[c] = df[c].astype("int64")
    df["kind"] = df["kind"].fillna("ukendt").astype(str)
    df["file"] = df["file"].fillna("").astype(str)
    df["balanced"] = df["read"] == df["kept"] + df["rejected"] + df["merged"]
    return df.sort_values(["kind", "file"], kind="stable").reset_index(drop=True)


def reject_reasons(data_dir: str | Path) -> pd.DataFrame:
    """Number of rejected rows per kind, reason and column (from ``rejects-<kind>.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``reason`` (the ingest's reason code; its words are in
        :data:`nsv_eval.report.labels.REJECT_REASONS_DA`), ``column``, ``n``; largest first.
    """
    frames = []
    for f in sorted(Path(data_dir).glob("rejects-*.csv")):
        kind = f.stem.removeprefix("rejects-")
        try:
            df = pd.read_csv(f, usecols=["reason", "column"], dtype="string")
        except ValueError as exc:
            raise InputError(f"{f}: expected columns 'reason' and 'column' ({exc})") from None
        if df.empty:
            continue
        g = df.fillna("").groupby(["reason", "column"]).size().rename("n").reset_index()
        g.insert(0, "kind", kind)
        frames.append(g)
    if not frames:
        return pd.DataFrame({"kind": [], "reason": [], "column": [], "n": []}).astype(
            {"n": "int64"}
        )
    out = pd.concat(frames, ignore_index=True)
    out["n"] = out["n"].astype("int64")
    out = out[["kind", "reason", "column", "n"]]
    return out.sort_values(["n", "kind", "reason"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def inputs(data_dir: str | Path) -> pd.DataFrame:
    """The input files listed in ``manifest.json``: kind, file, rows, sha256.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``file``, ``rows`` (Int64, may be missing) and ``sha256``.
    """
    man = _read_json(Path(data_dir) / "manifest.json")
    raw = man.get("inputs", [])
    items: list[tuple[str | None, Mapping[str, Any]]] = []
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            if isinstance(v, Mapping):
                items.append((str(k), v))
            elif isinstance(v, list):
                items.extend((str(k), x) for x in v if isinstance(x, Mapping))
    elif isinstance(raw, list):
        items = [(None, x) for x in raw if isinstance(x, Mapping)]
    rows = []
    for key, d in items:
        f = next((d[k] for k in _FILE_KEYS if isinstance(d.get(k), str)), key)
        rows.append(
            {
                "kind": str(d.get("kind") or key or ""),
                "file": Path(str(f)).name if f else "",
                "rows": next(
                    (d[k] for k in ("rows", "n_rows", "row_count", "read") if k in d), None
                ),
                "sha256": str(d.get("sha256") or d.get("fingerprint") or ""),
            }
        )
    df = pd.DataFrame(rows, columns=["kind", "file", "rows", "sha256"])
    df["rows"] = pd.to_numeric(df["rows"], errors="coerce").astype("Int64")
    return df


def data_period(data_dir: str | Path) -> tuple[str | None, str | None]:
    """First and last date of the data as ISO strings, from ``manifest.json`` (``period``)."""
    man = _read_json(Path(data_dir) / "manifest.json")
    p = man.get("period")
    if isinstance(p, Mapping):
        lo = p.get("start") or p.get("first") or p.get("from")
        hi = p.get("end") or p.get("last") or p.get("to")
        return (str(lo) if lo else None, str(hi) if hi else None)
    if isinstance(p, list | tuple) and len(p) == 2:
        return (str(p[0]), str(p[1]))
    return (None, None)


def coverage_counts(data_dir: str | Path, start: int, end: int) -> dict[str, pd.DataFrame]:
    """The national counts behind :func:`coverage`: per year and kommune ``persons``,
    ``population``, ``contacts``, ``courses`` (one frame each) and ``unmatched_contacts``
    per year (contacts whose person is not in the person table).

    The same for every kommune: a batch computes it once (:func:`coverage` with ``prep``).
    """
    d = Path(data_dir)
    con = duckdb.connect()
    con.execute("SET threads TO 2")

    def have(name: str) -> str | None:
        p = d / f"{name}.parquet"
        return str(p) if p.exists() else None

    persons = have("persons")
    if persons is None:
        raise InputError(f"{d / 'persons.parquet'} is missing from the prepared data")
    con.execute(f"CREATE VIEW persons AS SELECT * FROM read_parquet('{persons}')")
    parts: dict[str, pd.DataFrame] = {}
    parts["persons"] = con.execute(
        """
        SELECT y.year, p.kommune_code, count(*) AS persons
        FROM persons p, range(?, ?) y(year)
        WHERE year(p.birth_date) <= y.year
          AND (p.death_date IS NULL OR year(p.death_date) >= y.year)
        GROUP BY 1, 2
        """,
        [int(start), int(end) + 1],
    ).df()
    if pop := have("population"):
        parts["population"] = con.execute(
            f"SELECT year, kommune_code, sum(population) AS population "
            f"FROM read_parquet('{pop}') WHERE year BETWEEN ? AND ? GROUP BY 1, 2",
            [int(start), int(end)],
        ).df()
    unmatched = pd.DataFrame(columns=["year", "unmatched_contacts"])
    for name, col in (("contacts", "contacts"), ("courses", "courses")):
        if src := have(name):
            q = con.execute(
                f"""
                SELECT year(c.admit_time) AS year, p.kommune_code, count(*) AS {col}
                FROM read_parquet('{src}') c LEFT JOIN persons p USING (person_id)
                WHERE year(c.admit_time) BETWEEN ? AND ?
                GROUP BY 1, 2
                """,
                [int(start), int(end)],
            ).df()
            if name == "contacts":
                unmatched = (
                    q[q["kommune_code"].isna()]
                    .rename(columns={col: "unmatched_contacts"})
                    .drop(columns="kommune_code")
                )
            parts[col] = q[q["kommune_code"].notna()]
    con.close()
    return {**parts, "unmatched": unmatched}


def coverage(
    data_dir: str | Path, kommune: int, start: int, end: int, *, prep: Prepared | None = None
) -> pd.DataFrame:
    """Coverage by year for the kommune and the whole country.

    Counts per calendar year ``start .. end``: ``population`` (1 January, from
    ``population.parquet``), ``persons`` (persons in the person table alive some time in
    the year), ``contacts`` (hospital contacts admitted in the year), ``courses``
    (admission courses starting in the year), and the rates per 1,000 inhabitants
    ``contacts_per_1000`` and ``courses_per_1000`` (population, or persons if there is no
    population table). Contacts and courses are placed by the person's kommune; those whose
    person is not in the person table are counted in ``unmatched_contacts`` (country only).
    With ``prep`` (the same data directory opened by
    :func:`~nsv_eval.analyses.data.load_prepared`) the national counts are computed once per
    data set and kept in its shared cache (:meth:`Prepared.memo`).

    Returns
    -------
    pandas.DataFrame
        One row per ``area`` (``"kommune"``/``"land"``) and ``year``.
    """
    k = int(kommune)
    years = pd.DataFrame({"year": range(int(start), int(end) + 1)})
    if prep is not None:
        if Path(prep.data_dir).resolve() != Path(data_dir).resolve():
            raise InputError(f"coverage: prep opens {prep.data_dir}, not {data_dir}")
        counts = prep.memo(
            "dq_coverage_counts",
            lambda: coverage_counts(data_dir, start, end),
            start=int(start),
            end=int(end),
        )
    else:
        counts = coverage_counts(data_dir, start, end)
    unmatched = counts["unmatched"]
    parts = {c: df for c, df in counts.items() if c != "unmatched"}

    out = []
    for area in ("kommune", "land"):
        frame = years.copy()
        for col, df in parts.items():
            sub = df[df["kommune_code"] == k] if area == "kommune" else df
            agg = sub.groupby("year", as_index=False)[col].sum()
            frame = frame.merge(agg, on="year", how="left")
            frame[col] = frame[col].fillna(0).astype("int64")
        if area == "land":
            frame = frame.merge(unmatched, on="year", how="left")
            frame["unmatched_contacts"] = (
                pd.to_numeric(frame["unmatched_contacts"]).fillna(0).astype("int64")
            )
        frame.insert(0, "area", area)
        out.append(frame)
    res = pd.concat(out, ignore_index=True)
    denom = res["population"] if "population" in res else res["persons"]
    for col in ("contacts", "courses"):
        if col in res:
            res[f"{col}_per_1000"] = (res[col] / denom.where(denom > 0)) * 1000
    return res
