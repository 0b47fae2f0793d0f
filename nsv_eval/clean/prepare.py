"""``prepare``: raw extracts → the prepared layout the study notebooks read.

1. Every kind of extract found in the raw directory is ingested with
   :func:`nsv_eval.ingest.ingest` (validation, quarantine, pseudonymisation, reconciliation).
2. Contacts are chained into courses and flagged (:mod:`~nsv_eval.clean.courses`,
   :mod:`~nsv_eval.clean.flags`) → ``courses.parquet``.
3. The monthly cube and the yearly income cube (:mod:`~nsv_eval.clean.cube`).
4. The readmission and falls cohorts (:mod:`~nsv_eval.clean.cohorts`).
5. ``manifest.json``: inputs with sizes, sha256 fingerprints and row counts, the ingest
   reconciliation, counts, the study period, package version, creation time, outputs and
   the definitions used.

All register-scale work happens in one DuckDB connection with a memory limit (spilling to a
temporary directory inside ``out_dir``) reading and writing Parquet directly; outputs are
written in a fixed order so that the same input gives the same files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from nsv_eval import __version__
from nsv_eval.clean import _db, cohorts, courses, cube, flags, official, stays
from nsv_eval.clean._db import Period
from nsv_eval.errors import NsvError

RAW_KINDS: dict[str, tuple[str, ...]] = {
    "persons": ("persons",),
    "admissions": ("contacts", "admissions", "lpr"),
    "care": ("care",),
    "falls": ("falls",),
    "interventions": ("interventions",),
    "rollout": ("rollout",),
    "population": ("population",),
    "survey": ("survey",),
}
"""Ingest kind → accepted file-name stems in the raw directory. A file belongs to a kind when
its stem is one of these or starts with one followed by ``_``, ``-`` or ``.`` (e.g.
``contacts_2010-2014.csv``); several files of one kind are ingested together."""

RAW_SUFFIXES: tuple[str, ...] = (
    ".parquet", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".sas7bdat",
)  # fmt: skip

REQUIRED_KINDS: tuple[str, ...] = ("persons", "admissions")


def discover_raw(raw_dir: str | Path, layout: str = "nsv") -> dict[str, list[Path]]:
    """Find the extract files of each kind in ``raw_dir`` (not recursive).

    With an LPR ``layout`` the register tables (``kontakter``/``diagnoser``,
    ``lpr_adm``/``lpr_diag`` …, :data:`nsv_eval.ingest.layouts.FILE_STEMS`) are the
    admissions files.

    Returns
    -------
    dict
        Kind → sorted list of files, only for kinds that have files.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise NsvError(f"raw directory {raw_dir} does not exist or is not a directory")
    found: dict[str, list[Path]] = {}
    for path in sorted(raw_dir.iterdir()):
        if not path.is_file() or path.suffix.lower() not in RAW_SUFFIXES:
            continue
        stem = path.stem.lower()
        for kind, stems in RAW_KINDS.items():
            if any(stem == s or re.match(rf"{re.escape(s)}[_.\-]", stem) for s in stems):
                found.setdefault(kind, []).append(path)
                break
    from nsv_eval.ingest import layouts

    lpr = [p for p in layouts.discover(raw_dir, layout) if p not in found.get("admissions", [])]
    if lpr:
        found["admissions"] = found.get("admissions", []) + lpr
    order = list(RAW_KINDS)
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[0])))


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _parquet_rows(path: Path) -> int | None:
    if path.suffix.lower() != ".parquet":
        return None
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # noqa: BLE001 - an unreadable file is reported by ingest instead
        return None


def _rows_from_reconciliation(recon: object, path: Path) -> int | None:
    """Rows read from ``path`` according to ingest's reconciliation, if it says so."""
    found: list[int] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            name = node.get("file") or node.get("source") or node.get("path")
            if name is not None and Path(str(name)).name == path.name:
                for key in ("read", "rows_read", "rows"):
                    if isinstance(node.get(key), int):
                        found.append(int(node[key]))
                        return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(recon)
    return found[0] if found else None


def _summary(result: object) -> object:
    summary = getattr(result, "summary", None)
    if callable(summary):
        try:
            value = summary()
        except TypeError:
            value = None
        if isinstance(value, dict | list | str | int | float):
            return value
    return None


def prepare(
    raw_dir: str | Path,
    out_dir: str | Path,
    *,
    key: bytes | None = None,
    mapping=None,
    progress: bool = False,
    log: Callable[[str], object] | None = print,
    period: Period | tuple | None = None,
    memory_limit: str = _db.DEFAULT_MEMORY_LIMIT,
    threads: int = _db.DEFAULT_THREADS,
    max_reject_share: float | None = 0.05,
    extract_date=None,
    layout: str = "nsv",
    pseudonymised_key: str | None = None,
    definitions_choice=None,
) -> dict:
    """Ingest every extract in ``raw_dir`` and write the prepared layout to ``out_dir``.

    Parameters
    ----------
    raw_dir : path
        Directory with the raw extracts (ARCHITECTURE.md, raw layout); files are matched to
        ingest kinds by name (:data:`RAW_KINDS`). ``persons`` and ``contacts`` are required.
    out_dir : path
        Output directory (created). Existing prepared files in it are replaced.
    key : bytes, optional
        Pseudonymisation key passed to ingest (default: ingest's own resolution, e.g.
        ``NSV_PSEUDO_KEY``).
    mapping : optional
        Column mapping passed to ingest.
    progress : bool, default False
        Log one line per stage with its wall time (and pass ``log`` on to ingest).
    log : callable, optional
        Where progress lines go (default ``print``).
    period : Period or (start, end), optional
        Study period in whole months. Default: from the first day of the month of the
        earliest course admission to the last day of the month of the latest one (course,
        not contact: a transfer after the last day does not stretch the period).
    memory_limit, threads
        DuckDB settings; the defaults keep national-scale preparation under about 6 GB.
    max_reject_share : float or None, default 0.05
        Reject threshold per input file. Files above it do not stop preparation: every
        output and the manifest (``over_reject_threshold``) are written, then
        :class:`~nsv_eval.ingest.core.TooManyRejects` is raised. ``None``: no threshold.
    extract_date : date or ISO str, optional
        When the extracts were made; later dates are rejected as ``future_date``
        (default today).
    layout : {'nsv', 'lpr3', 'lpr2'}
        Layout of the hospital contacts (:mod:`nsv_eval.ingest.layouts`).
    pseudonymised_key : str, optional
        A person column that already holds a pseudonym (e.g. ``PNR``), passed to ingest.
    definitions_choice : mapping or str, optional
        Indicator definition variants (id → variant; ``"legacy"`` for nsv-eval's earlier
        definitions on chained courses; default: official,
        :data:`nsv_eval.definitions.DEFAULT_VARIANTS`). With any official variant the
        hospital events are admission stays (:mod:`nsv_eval.clean.official`).

    Returns
    -------
    dict
        The manifest (also written to ``out_dir/manifest.json``).

    Raises
    ------
    NsvError
        The raw directory is missing, lacks persons/contacts, or equals ``out_dir``, or
        ``out_dir`` holds tables pseudonymised with another key.
    TooManyRejects
        After writing everything, if an input file's rejected share exceeds
        ``max_reject_share``.
    """
    from nsv_eval import definitions as D
    from nsv_eval.ingest import ingest
    from nsv_eval.ingest.core import TooManyRejects, reject_share_message
    from nsv_eval.ingest.cpr import check_folder_key, mask_cpr, mask_deep, recorded_key_check
    from nsv_eval.ingest.cpr import resolve_key as _resolve_key

    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    period = Period.coerce(period)  # a bad period fails before any work is done
    choice = D.resolve_choice(definitions_choice)  # a bad variant too
    stage_log = log if progress else None
    ingest_log = log if (progress and log is not None) else (lambda *_a, **_k: None)
    found = discover_raw(raw_dir, layout)
    missing = [k for k in REQUIRED_KINDS if k not in found]
    if missing:
        want = ", ".join(f"{RAW_KINDS[k][0]}.parquet/.csv" for k in missing)
        raise NsvError(f"{raw_dir}: no {want} found (needed by prepare)")
    out_dir.mkdir(parents=True, exist_ok=True)
    if out_dir.resolve() == raw_dir.resolve():
        raise NsvError("the output directory must differ from the raw directory")
    # prepare rebuilds the whole layout: stale quarantine/reconciliation files would be
    # merged into by ingest, so remove what an earlier prepare wrote.
    # The tables of the kinds found are rebuilt too (so that tables of an earlier version,
    # with pseudonyms that would not link, do not stop ingest of the first kind).
    from nsv_eval.ingest.schemas import get_schema

    tables_now = [out_dir / f"{get_schema(k).table}.parquet" for k in found]
    try:
        resolved = _resolve_key(key)
    except NsvError:  # an unusable key matters only if CPR numbers come; ingest says so then
        resolved = None
    if resolved is not None:  # another key: refuse before anything changes
        check_folder_key(out_dir, resolved, legacy=False)
    for stale in [out_dir / "reconciliation.json", *out_dir.glob("rejects-*.csv"), *tables_now]:
        stale.unlink(missing_ok=True)

    stages = _db.Stages(stage_log)
    manifest: dict = {
        "package": "nsv-eval",
        "version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "raw_dir": mask_cpr(str(raw_dir)),
        "layout": layout,
        "pseudonymised_key": pseudonymised_key,
        "missing_kinds": [k for k in RAW_KINDS if k not in found],
    }

    with stages.stage("fingerprint inputs"):
        inputs: list[dict[str, Any]] = []
        for kind, files in found.items():
            for f in files:
                inputs.append(
                    {
                        "kind": kind,
                        "file": mask_cpr(f.name),
                        "size": f.stat().st_size,
                        "sha256": sha256_file(f),
                        "rows": _parquet_rows(f),
                    }
                )

    tables: dict[str, Path] = {}
    summaries: dict[str, object] = {}
    rows_read: dict[tuple[str, str], int] = {}
    over: list[tuple[str, list]] = []
    for kind, files in found.items():
        with stages.stage(f"ingest {kind} ({len(files)} file(s))"):
            try:
                result = ingest(
                    kind,
                    files,
                    out_dir,
                    mapping=mapping,
                    key=key,
                    log=ingest_log,
                    extract_date=extract_date,
                    max_reject_share=max_reject_share,
                    layout=layout,
                    pseudonymised_key=pseudonymised_key,
                )
            except TooManyRejects as exc:  # written; reported after the whole preparation
                result = exc.results[0]
                over.append((kind, exc.offenders))
                if log is not None:
                    log(str(exc))
            tables[kind] = Path(result.table_path)
            summaries[kind] = _summary(result)
            for report in getattr(result, "files", []):
                name = Path(str(getattr(report, "source", "") or report.file)).name
                rows_read[(kind, name)] = rows_read.get((kind, name), 0) + int(report.read)

    recon_path = out_dir / "reconciliation.json"
    recon = json.loads(recon_path.read_text(encoding="utf-8")) if recon_path.exists() else None
    for item in inputs:
        read = rows_read.get((item["kind"], item["file"]))
        if read is None:
            read = _rows_from_reconciliation(recon, Path(item["file"]))
        if read is not None:
            item["rows"] = read
    manifest["inputs"] = inputs
    # texts naming files and folders: no CPR number in the manifest (the sha256
    # fingerprints are left alone; the reconciliation was masked by ingest)
    manifest["ingest"] = mask_deep(summaries)
    manifest["reconciliation"] = recon

    tmp = out_dir / ".prepare-tmp"
    con = _db.connect(memory_limit=memory_limit, threads=threads, temp_dir=tmp)
    try:
        manifest["linkage"] = _linkage(con, tables)
        for kind, info in manifest["linkage"].items():
            if info["persons"] and info["share_in_persons"] < LINKAGE_WARN_SHARE and log:
                log(
                    f"warning: only {info['share_in_persons']:.1%} of the persons in {kind} "
                    "are in the persons table. Were the extracts pseudonymised with different "
                    "keys, or do they cover different populations?"
                )
        counts, outputs, period_info, stay_info = _clean(
            con, tables, out_dir, period, stages, choice
        )
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)

    manifest["period"] = period_info
    manifest["counts"] = counts
    manifest["outputs"] = outputs
    manifest["definitions"] = definitions(choice, layout, stay_info)
    manifest["timings_seconds"] = {**stages.timings, "total": round(stages.total, 3)}
    manifest["cpu_seconds"] = dict(stages.cpu_timings)
    rec = recorded_key_check(out_dir)
    manifest["key_check"] = rec[0] if rec is not None else None
    manifest["extract_date"] = str(extract_date) if extract_date is not None else None
    manifest["max_reject_share"] = max_reject_share
    manifest["over_reject_threshold"] = {
        kind: {f.file: round(f.reject_share, 6) for f in offenders} for kind, offenders in over
    }
    path = out_dir / "manifest.json"
    tmp_manifest = path.with_name("manifest.json.tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp_manifest, path)
    if stage_log is not None:
        stage_log(
            f"[prepare] done in {stages.total:.1f} s: {counts['courses']} courses, "
            f"{counts['readmit_index']} index discharges, {counts['cube_rows']} cube rows"
        )
    if over:
        raise TooManyRejects(
            "\n".join(
                reject_share_message(kind, offenders, max_reject_share or 0.0)
                for kind, offenders in over
            )
            + f"\nprepare wrote everything to {mask_cpr(str(out_dir))} (manifest: "
            "over_reject_threshold); the rejected rows are in its rejects-<kind>.csv files.",
            [],
            [f for _, offenders in over for f in offenders],
        )
    return manifest


PART_ROWS = 1_000_000
"""Rows per part when ``courses.parquet`` and ``stays.parquet`` are written
(:func:`nsv_eval.clean._db.person_parts`, :func:`nsv_eval.clean._db.write_parquet_parts`)."""

LINKAGE_WARN_SHARE = 0.5
"""Below this share of a kind's persons found in the persons table, prepare warns."""


def _linkage(con, tables: dict[str, Path]) -> dict[str, dict]:
    """Share of each person-level kind's distinct persons that are in the persons table.

    Tables pseudonymised with different keys (or extracts of different populations) link
    poorly; the shares go into the manifest and a low one is logged as a warning.
    """
    if "persons" not in tables:
        return {}
    persons = _db._sql_path(tables["persons"])
    out: dict[str, dict] = {}
    for kind in ("admissions", "care", "falls", "interventions"):
        if kind not in tables:
            continue
        n, found = con.execute(
            f"""
            WITH k AS (SELECT DISTINCT person_id FROM read_parquet('{_db._sql_path(tables[kind])}')
                       WHERE person_id IS NOT NULL)
            SELECT count(*), count(*) FILTER (WHERE person_id IN
                (SELECT person_id FROM read_parquet('{persons}')))
            FROM k
            """
        ).fetchall()[0]
        out[kind] = {
            "persons": int(n),
            "in_persons_table": int(found),
            "share_in_persons": round(found / n, 6) if n else None,
        }
    return out


def definitions(
    choice: dict[str, str] | None = None, layout: str = "nsv", stay_info: dict | None = None
) -> dict:
    """The definitions a prepared layout was built with (recorded in the manifest).

    ``indicators`` holds the id, variant and version of each indicator; ``unit`` says
    whether hospital events are admission stays (official definitions) or chained courses
    (legacy), and ``stays_formed`` how the stays were formed from the extract's layout.
    """
    from nsv_eval import definitions as D

    choice = D.resolve_choice(choice if choice is not None else "legacy")
    if official.uses_stays(choice):
        extra = {
            "unit": "stays",
            "unit_rule": "hospital events are admission stays (sygehusophold of at least "
            f"{stays.ADMISSION_MIN_HOURS:g} h); courses.parquet holds one row per admission "
            "stay (course_id = stay_id) flagged by nsv_eval.definitions.flags.flag_stays; "
            "readmit_index/readmit_30d are the somatic readmission, *_psych the psychiatric",
            "stays_formed": official.stay_note(layout, "en"),
            "stays_formed_da": official.stay_note(layout, "da"),
            "notes": (stay_info or {}).get("notes", []),
            "indicators": {id: D.get(id, v).stamp() for id, v in choice.items()},
        }
    else:
        extra = {"unit": "courses", "indicators": flags.course_definitions()}
    return {
        "chaining_gap_hours": courses.CHAIN_GAP_HOURS,
        "chaining_rule": "admit_time <= running max discharge_time of the course + gap "
        "(inclusive); course acute/diagnosis/hospital from its first contact",
        "stays": "physical attendances chained when overlapping or at most "
        f"{stays.STAY_GAP_HOURS:g} h apart; admission = stay of at least "
        f"{stays.ADMISSION_MIN_HOURS:g} h; action diagnosis = first attendance's that is not "
        f"an observation code ({', '.join(stays.OBSERVATION_PREFIXES)})",
        "readmission_window_days": flags.READMISSION_WINDOW_DAYS,
        "readmission_index": "acute, medical action diagnosis, age >= "
        f"{flags.INDEX_MIN_AGE} at admission, alive at discharge (death date after the "
        "discharge date), discharge date in [period start, period end - "
        f"{flags.READMISSION_WINDOW_DAYS} days]",
        "readmission": "any acute course admitted after the index discharge and within "
        f"{flags.READMISSION_WINDOW_DAYS} x 24 h",
        "preventable_min_age": flags.PREVENTABLE_MIN_AGE,
        "short_stay_hours": flags.SHORT_STAY_HOURS,
        "death_window_days": flags.DEATH_WINDOW_DAYS,
        "followup_visit_days": cohorts.FOLLOWUP_VISIT_DAYS,
        "prior_window_days": cohorts.PRIOR_WINDOW_DAYS,
        "falls_followup_days": cohorts.FALLS_FOLLOWUP_DAYS,
        "falls_min_age": cohorts.FALLS_MIN_AGE,
        "falls_nonparticipant_index": "a participant index date of the same kommune chosen "
        "by md5(person_id + ':falls') modulo the number of participants",
        "population": "alive on the 1st of the month (birth_date <= 1st < death_date)",
        "person_years": "days in [birth_date, death_date) within the month / 365.25",
        "age": "whole years; the age increases on the birthday (29 February: 1 March)",
        **extra,
    }


def _clean(
    con,
    tables: dict[str, Path],
    out_dir: Path,
    period: Period | tuple | None,
    stages: _db.Stages,
    choice: dict[str, str] | None = None,
) -> tuple[dict, dict, dict, dict]:
    """Courses, cube and cohorts from the ingested tables (DuckDB connection ``con``).

    With an official definition in ``choice`` the hospital events are admission stays
    (:func:`_stays_as_courses`), otherwise chained courses (legacy).
    """
    from nsv_eval import definitions as D

    choice = D.resolve_choice(choice if choice is not None else "legacy")
    by_stays = official.uses_stays(choice)
    for kind, path in tables.items():
        _db.register(con, f"{kind}_in", path)
    with stages.stage("validate persons and contacts"):
        # Every later step reads the person table (each part of the flagged courses, the
        # cube, the cohorts): decoded from Parquet once into a table in person_id order, so
        # that a part's range of persons is read from its own row groups only.
        _db.sorted_table(con, "_persons_sorted", "SELECT * FROM persons_in", "person_id")
        con.execute("CREATE OR REPLACE TEMP VIEW persons_in AS SELECT * FROM _persons_sorted")
        flags.stage_persons(con, "persons_in", what=str(tables["persons"]))
        courses.stage_contacts(con, "admissions_in", what=str(tables["admissions"]))
        present = {k: f"{k}_in" if k in tables else None for k in RAW_KINDS}
        cube.stage_optional(con, present)
        cohorts.stage_interventions(con, present)
        cohorts._install_regions(con)
        n_contacts = con.execute("SELECT count(*) FROM contacts_n").fetchall()[0][0]
        if n_contacts == 0:
            raise NsvError(f"{tables['admissions']}: the contacts table has no rows")
    if by_stays:
        # official definitions: the hospital events are admission stays; no courses chained
        with stages.stage("stays"):
            stays.stays_sql(con, "admissions_in")
    else:
        with stages.stage("chain contacts into courses and stays"):
            # one window pass over the contacts builds both tables when the gaps agree
            one_pass = courses.chain_with_stays_sql(con)
            if not one_pass:
                courses.chain_sql(con)
    given = Period.coerce(period)
    if given is None:
        # The months spanned by *course* admissions: a transfer contact that continues a
        # course begun on the last day of the extract does not stretch the period.
        # (Official definitions: the months spanned by admission stays.)
        sql = (
            "SELECT min(start), max(start) FROM stays WHERE admission"
            if by_stays
            else "SELECT min(admit_time), max(admit_time) FROM course_base"
        )
        lo, hi = con.execute(sql).fetchall()[0]
        period_obj = Period(lo.date().replace(day=1), _month_end(hi.date()))
    else:
        period_obj = given
    _db.install_period(con, period_obj)
    period_info = {
        **period_obj.as_dict(),
        "source": "given"
        if given is not None
        else ("inferred from admission stays" if by_stays else "inferred from course admissions"),
        "months": period_obj.n_months,
    }

    outputs: dict[str, dict] = {}

    def out(name: str, sql: str | list[str], schema) -> int:
        path = out_dir / name
        if isinstance(sql, list):  # ordered parts, written while the next one is computed
            n = _db.write_parquet_parts(con, sql, path, schema)
        else:
            n = _db.write_parquet(con, sql, path, schema)
        outputs[name] = {"rows": n, "sha256": sha256_file(path)}
        return n

    stay_info: dict = {}
    if by_stays:
        fcounts, stay_info, n_stays = _stays_as_courses(
            con, out, out_dir, period_obj, stages, choice
        )
    else:
        with stages.stage("flag courses"):
            fcounts = flags.flag_sql(con, period_obj, materialize=False)
            # in parts of whole persons (consecutive course ids): DuckDB flags and sorts
            # the next part while the Arrow writer encodes this one
            parts = [
                flags.flag_query(
                    period_obj,
                    src=f"(SELECT * FROM course_base WHERE {where})",
                    persons=f"(SELECT * FROM persons_n WHERE {where})",
                )
                + " ORDER BY course_id"
                for where in _db.person_parts(con, "course_base", "course_id", PART_ROWS)
            ]
            out("courses.parquet", parts, flags.COURSE_SCHEMA)
            con.execute("DROP VIEW courses")
            courses.drop_chained(con, "course_base")
            con.execute(
                "CREATE OR REPLACE TEMP VIEW courses AS SELECT * FROM "
                f"read_parquet('{_db._sql_path(out_dir / 'courses.parquet')}')"
            )
        with stages.stage("stays"):
            # the one-pass chaining built the stays table already
            if not one_pass:
                stays.stays_sql(con, "admissions_in")
            out("stays.parquet", _ordered_parts(con, "stays", "stay_id"), stays.STAY_SCHEMA)
            n_stays = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE admission) FROM stays"
            ).fetchall()[0]
            courses.drop_chained(con, "stays")
    # the person table goes back to a view on its Parquet file: the cube's group-bys need
    # DuckDB's memory (the table took ~0.4 GB of the 4 GB at scale 1.0), and they and the
    # cohorts read each person once
    con.execute(f"CREATE OR REPLACE TEMP VIEW persons_in AS {_db.parquet_scan(tables['persons'])}")
    con.execute("DROP TABLE _persons_sorted")
    with stages.stage("cube"):
        cube.cube_sql(con, period_obj, disease_pop="disease_pop" if by_stays else None)
        out("cube.parquet", cube.cube_query(period_obj), cube.CUBE_SCHEMA)
    with stages.stage("cube by income"):
        out(
            "cube_income.parquet", cube.cube_query(period_obj, income=True), cube.CUBE_INCOME_SCHEMA
        )
    with stages.stage("readmission cohort"):
        out(
            "cohort_readmission.parquet",
            cohorts.readmission_query(),
            cohorts.READMISSION_COHORT_SCHEMA,
        )
    with stages.stage("falls cohort"):
        out("cohort_falls.parquet", cohorts.falls_query(period_obj), cohorts.FALLS_COHORT_SCHEMA)

    c = con.execute(
        """
        SELECT count(*), sum(n_contacts), count(*) FILTER (WHERE acute),
               count(*) FILTER (WHERE readmit_index), count(*) FILTER (WHERE readmit_30d),
               count(*) FILTER (WHERE preventable), count(*) FILTER (WHERE died_in_hospital)
        FROM courses
        """
    ).fetchall()[0]
    n_persons = con.execute("SELECT count(*) FROM persons_n").fetchall()[0][0]
    totals = con.execute(
        f"SELECT sum(person_years), sum(deaths) FROM read_parquet("
        f"'{_db._sql_path(out_dir / 'cube.parquet')}')"
    ).fetchall()[0]
    falls_n = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE participant) FROM read_parquet("
        f"'{_db._sql_path(out_dir / 'cohort_falls.parquet')}')"
    ).fetchall()[0]
    counts = {
        "persons": int(n_persons),
        "contacts": int(n_contacts),
        **fcounts,
        "courses": int(c[0]),
        "stays": int(n_stays[0]),
        "stays_admissions": int(n_stays[1]),
        "contacts_in_courses": int(c[1] or 0),
        "courses_acute": int(c[2]),
        "readmit_index": int(c[3]),
        "readmit_30d": int(c[4]),
        "readmission_rate": round(c[4] / c[3], 6) if c[3] else None,
        "preventable": int(c[5]),
        "died_in_hospital": int(c[6]),
        "cube_rows": outputs["cube.parquet"]["rows"],
        "cube_income_rows": outputs["cube_income.parquet"]["rows"],
        "cube_person_years": round(float(totals[0] or 0.0), 3),
        "cube_deaths": int(totals[1] or 0),
        "cohort_readmission_rows": outputs["cohort_readmission.parquet"]["rows"],
        "cohort_falls_rows": int(falls_n[0]),
        "cohort_falls_participants": int(falls_n[1]),
    }
    return counts, outputs, period_info, stay_info


def _stays_as_courses(con, out, out_dir: Path, period_obj: Period, stages, choice):
    """Official definitions: flag the ``stays`` table and write it, and the admission stays
    as ``courses.parquet`` (:mod:`nsv_eval.clean.official`); leaves views ``courses`` and
    table ``disease_pop`` for the cube and the cohorts."""
    with stages.stage("write stays"):
        out("stays.parquet", _ordered_parts(con, "stays", "stay_id"), stays.STAY_SCHEMA)
        n_stays = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE admission) FROM stays"
        ).fetchall()[0]
    with stages.stage("flag stays (official definitions)"):
        log = stages.log
        info = official.flag_sql(
            con,
            period_obj,
            choice,
            log=None if log is None else (lambda m: log(f"[prepare]   {m}")),
        )
        out(
            "courses.parquet",
            _ordered_parts(con, "courses", "course_id"),
            official.STAY_COURSE_SCHEMA,
        )
        con.execute("DROP TABLE courses")
        courses.drop_chained(con, "stays")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW courses AS SELECT * FROM "
            f"read_parquet('{_db._sql_path(out_dir / 'courses.parquet')}')"
        )
    n_after_death = con.execute(
        "SELECT count(*) FROM courses c JOIN persons_n p USING (person_id) "
        "WHERE CAST(c.admit_time AS DATE) > p.death_date"
    ).fetchall()[0][0]
    fcounts = {
        "courses_chained": int(n_stays[1]),
        "courses_unknown_person": int(info["counts"]["stays_unknown_person"]),
        "courses_admitted_after_death": int(n_after_death),
        **info["counts"],
    }
    return fcounts, info, n_stays


def _ordered_parts(con, table: str, id_col: str) -> list[str]:
    """Queries of ``table`` in parts of whole persons, each ordered by ``id_col``: together
    the table in ``id_col`` order (ids numbered by person then time), for
    :func:`nsv_eval.clean._db.write_parquet_parts`."""
    return [
        f"SELECT * FROM {table} WHERE {where} ORDER BY {id_col}"
        for where in _db.person_parts(con, table, id_col, PART_ROWS)
    ]


def _month_end(d: date) -> date:
    """Last day of the month of ``d``."""
    first_next = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return first_next - timedelta(days=1)
