"""National-scale benchmark of nsv-eval, side by side with a pandas baseline and a DuckDB floor.

``make bench`` runs ``.venv/bin/python bench/run.py``; see ``bench/README.md``.

1. **Preparation** (raw extracts → ``cube.parquet``): (a) ours = ``nsv_eval.clean.prepare``
   (ingest with validation/quarantine/pseudonymisation, chaining, flags, both cubes,
   cohorts, manifest), (b) ``bench/baseline_pandas.py``, (c) ``bench/floor_duckdb.py``
   (the cube only), (d) ``bench/floor_all.py`` (``floor_all``: the same six outputs as ours
   with the legacy definitions — courses, stays, both cubes, both cohorts).
   Each variant runs in its own subprocess; wall time and the peak resident memory of that
   process (``os.wait4`` → ``ru_maxrss``) are recorded. The cubes are compared cell by
   cell (same cells, equal counts, ``person_years`` within 1e-9) on a small scale before the
   big run, and on the big run for every variant that ran at the big scale; ours and
   ``floor_all`` are compared on all six outputs (:func:`compare_outputs`).
2. **One study notebook** (``run_study("kommuneprofil", 326)``) against the floor of starting
   a kernel and importing the notebook's packages (papermill on a notebook of only its
   imports), each in a fresh subprocess: cold (a kernel of its own, as before warm
   execution) and **warm** — the way ``run`` and ``batch`` execute now: one
   :class:`~nsv_eval.report.warm.WarmKernel` whose first report pays kernel start and
   imports, then the same report again in that kernel (the median of the repeats is the
   warm time; its overhead beyond its own cells = wall − the cells' papermill durations).
3. **One kommune, every study** (``nsv-eval run --kommune 326 --study all``) from an empty
   shared folder (cold: every national and regional piece of work computed for this one
   kommune, study 8's in worker processes beside the report kernel) and again with the
   folder filled (cached): wall, CPU and the summed memory of the process tree.
4. **The batch** of all 98 kommuner × all studies (``nsv-eval batch --jobs N``; warm
   workers, the parent publishing while the workers execute).

``--scale`` chooses the size: 1.0 (the default, all of Denmark, ``make bench``) is the
full-scale run; smaller scales are for a shared machine. The load average is recorded
before and after every measurement (``load_before``/``load_after``), as it decides how
much a timing on a shared machine means.

Results go to ``bench/results/bench-<scale>-<timestamp>.json`` and a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / "cache"
RESULTS = BENCH / "results"
PY = sys.executable
KEYS = ["kommune_code", "year", "month", "age_band", "sex", "education"]
VARIANTS = ("ours", "floor", "floor_all", "baseline")


# ----------------------------------------------------------------------------------------
# cube comparison
# ----------------------------------------------------------------------------------------


OFFICIAL_ONLY = (
    "readmit_index_psych",
    "readmit_30d_psych",
    "copd_population",
    "diabetes_population",
)
"""Cube measures of the official definitions only (zero when prepared with the legacy ones)."""


def compare_cubes(a: pd.DataFrame, b: pd.DataFrame, *, tol: float = 1e-9) -> list[str]:
    """Differences between two monthly cubes (empty list = identical).

    Identical means: the same columns, the same set of cells (key columns), equal integer
    measures in every cell and ``person_years`` equal to within ``tol`` (absolute).
    """
    problems: list[str] = []
    # measures only the official-definition cube has (psychiatric readmission, disease
    # cohorts) are zero in a legacy cube; the floor and the baseline do not compute them
    extra = [c for c in a.columns if c not in b.columns and c in OFFICIAL_ONLY]
    if extra and (a[extra] == 0).all().all():
        a = a.drop(columns=extra)
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} vs {list(b.columns)}"]
    if a.duplicated(KEYS).any() or b.duplicated(KEYS).any():
        problems.append("duplicated cells")
    m = a.merge(b, on=KEYS, how="outer", indicator=True, suffixes=("_a", "_b"))
    only = m["_merge"].value_counts()
    if only.get("left_only", 0) or only.get("right_only", 0):
        problems.append(
            f"cells only in first: {only.get('left_only', 0)}, "
            f"only in second: {only.get('right_only', 0)}"
        )
        m = m[m["_merge"] == "both"]
    for col in a.columns:
        if col in KEYS:
            continue
        x, y = m[f"{col}_a"].to_numpy(), m[f"{col}_b"].to_numpy()
        bad = np.abs(x - y) > tol if col == "person_years" else x != y
        if bad.any():
            i = int(np.argmax(bad))
            cell = m.iloc[i][KEYS].to_dict()
            problems.append(
                f"{col}: {int(bad.sum())} cell(s) differ, e.g. {cell}: {x[i]} vs {y[i]}"
            )
    return problems


OUTPUT_KEYS: dict[str, tuple[str, ...]] = {
    "courses.parquet": ("person_id", "admit_time"),
    "stays.parquet": ("person_id", "start"),
    "cube.parquet": tuple(KEYS),
    "cube_income.parquet": ("kommune_code", "year", "age_band", "sex", "income_quintile"),
    "cohort_readmission.parquet": ("person_id", "discharge_time"),
    "cohort_falls.parquet": ("person_id", "participant"),
}
"""The outputs ``floor_all`` makes, each with its stable natural key (the ids ``course_id``
and ``stay_id`` are compared as values: both number by person, then time)."""


def compare_outputs(
    a_dir: str | Path,
    b_dir: str | Path,
    *,
    outputs: dict[str, tuple[str, ...]] | None = None,
    tol: float = 1e-9,
    memory_limit: str = "3GB",
) -> dict[str, list[str]]:
    """Differences between the prepared outputs in ``a_dir`` and ``b_dir`` (``{}`` = equal).

    For every output of ``outputs`` (default :data:`OUTPUT_KEYS`): the same column names in
    the same order, no duplicated key, the same rows (a full outer join on the key, nulls
    matching nulls), and in every row every other column equal — floating-point columns to
    within ``tol`` (absolute), all others exactly (lists element by element, nulls equal only
    to nulls). Compared in DuckDB within ``memory_limit`` (its joins spill to a temporary
    folder in ``b_dir``), so national-scale outputs need no pandas copies. Person
    ids are compared as they are: ``prepare`` keeps a ``person_id`` column of the raw extract
    (only a ``cpr`` column is pseudonymised), so ours and the floor share them.

    Returns
    -------
    dict
        Output file name → list of problems, only for outputs that differ.
    """
    import shutil

    import duckdb

    out: dict[str, list[str]] = {}
    tmp = Path(b_dir) / ".compare-tmp"
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{tmp}'")
    con.execute("SET enable_progress_bar = false")
    try:
        for name, keys in (outputs or OUTPUT_KEYS).items():
            pa_, pb = Path(a_dir) / name, Path(b_dir) / name
            missing = [str(p) for p in (pa_, pb) if not p.exists()]
            if missing:
                out[name] = [f"missing: {', '.join(missing)}"]
                continue
            problems = _compare_one(con, pa_, pb, keys, tol)
            if problems:
                out[name] = problems
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _compare_one(con, pa_: Path, pb: Path, keys: tuple[str, ...], tol: float) -> list[str]:
    con.execute(f"CREATE OR REPLACE TEMP VIEW a AS SELECT * FROM read_parquet('{pa_}')")
    con.execute(f"CREATE OR REPLACE TEMP VIEW b AS SELECT * FROM read_parquet('{pb}')")
    ta = con.execute("DESCRIBE a").fetchall()
    tb = con.execute("DESCRIBE b").fetchall()
    if [r[0] for r in ta] != [r[0] for r in tb]:
        return [f"columns differ: {[r[0] for r in ta]} vs {[r[0] for r in tb]}"]
    problems: list[str] = []
    na, nb = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("a", "b"))
    if na != nb:
        problems.append(f"rows: {na} vs {nb}")
    k = ", ".join(f'"{c}"' for c in keys)
    for t in ("a", "b"):
        dup = con.execute(f"SELECT count(*) FROM (SELECT {k} FROM {t} GROUP BY ALL "
                          "HAVING count(*) > 1)").fetchone()[0]  # fmt: skip
        if dup:
            problems.append(f"{'first' if t == 'a' else 'second'}: {dup} duplicated key(s) {keys}")
    on = " AND ".join(f'a."{c}" IS NOT DISTINCT FROM b."{c}"' for c in keys)
    kc = keys[0]
    others = [(r[0], r[1]) for r in ta if r[0] not in keys]
    diff = {
        c: (
            f'(a."{c}" IS NULL) <> (b."{c}" IS NULL) OR abs(a."{c}" - b."{c}") > {tol!r}'
            if t in ("DOUBLE", "FLOAT")
            else f'a."{c}" IS DISTINCT FROM b."{c}"'
        )
        for c, t in others
    }
    both = f'a."{kc}" IS NOT NULL AND b."{kc}" IS NOT NULL'
    counts = [
        f'count(*) FILTER (WHERE b."{kc}" IS NULL AND a."{kc}" IS NOT NULL)',
        f'count(*) FILTER (WHERE a."{kc}" IS NULL AND b."{kc}" IS NOT NULL)',
        *(f"count(*) FILTER (WHERE {both} AND ({d}))" for d in diff.values()),
    ]
    res = con.execute(f"SELECT {', '.join(counts)} FROM a FULL OUTER JOIN b ON {on}").fetchone()
    if res[0] or res[1]:
        problems.append(f"rows only in first: {res[0]}, only in second: {res[1]}")
    key_cols = ", ".join(f'a."{c}"' for c in keys)
    for (c, _), n, d in zip(others, res[2:], diff.values(), strict=True):
        if n:
            ex = con.execute(
                f'SELECT {key_cols}, a."{c}", b."{c}" FROM a JOIN b ON {on} WHERE {d} LIMIT 1'
            ).fetchone()
            problems.append(
                f"{c}: {n} row(s) differ, e.g. key {ex[: len(keys)]}: {ex[-2]!r} vs {ex[-1]!r}"
            )
    return problems


# ----------------------------------------------------------------------------------------
# child processes (one per measurement, so that ru_maxrss is that variant's own peak)
# ----------------------------------------------------------------------------------------


def _child(variant: str, raw: str, out: str) -> int:
    """Run one variant in this process and print a JSON line with its own timings."""
    t0 = time.perf_counter()
    info: dict = {}
    if variant == "ours":
        from nsv_eval.clean import prepare

        # the floor and the baseline implement the course pipeline (legacy definitions)
        manifest = prepare(raw, out, log=None, definitions_choice="legacy")
        info["stages"] = manifest["timings_seconds"]
        info["stages_cpu"] = manifest.get("cpu_seconds", {})
    elif variant == "official":
        from nsv_eval.clean import prepare

        # the default (official definitions, admission stays): what the studies read
        manifest = prepare(raw, out, log=None)
        info["stages"] = manifest["timings_seconds"]
        info["stages_cpu"] = manifest.get("cpu_seconds", {})
    elif variant == "floor":
        sys.path.insert(0, str(BENCH))
        from floor_duckdb import floor_cube

        info = floor_cube(raw, out)
    elif variant == "floor_all":
        sys.path.insert(0, str(BENCH))
        from floor_all import floor_all

        info = floor_all(raw, out)
    elif variant == "baseline":
        sys.path.insert(0, str(BENCH))
        from baseline_pandas import baseline_cube

        info = baseline_cube(raw, out)
    elif variant == "notebook":
        from nsv_eval.report.render import run_study

        data_dir, out_dir = raw.split("::")
        r = run_study("kommuneprofil", 326, data_dir=data_dir, out_dir=out_dir)
        info = {"status": r.status, "error": r.error}
    elif variant == "notebook_warm_kernel":
        info = warm_notebook(raw, out)
    elif variant == "notebook_floor":
        from nsv_eval.report.render import execute_notebook

        execute_notebook(raw, out, {})
    else:
        raise SystemExit(f"unknown variant {variant}")
    info["wall_inside"] = time.perf_counter() - t0
    print("BENCH-RESULT " + json.dumps(info, default=str), flush=True)
    return 0


def cell_seconds(executed: str | Path) -> float:
    """Sum of the code cells' execution times recorded by papermill in ``executed``."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return sum(
        float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
        for c in nb.cells
        if c.cell_type == "code"
    )


def warm_notebook(spec: str, repeats: str) -> dict:
    """One report in a warm kernel: first run (kernel start, imports, national cache), then
    the same report ``repeats`` times in the same kernel. Runs in a child process."""
    from nsv_eval.report.render import run_study
    from nsv_eval.report.warm import WarmKernel

    data_dir, out_dir = spec.split("::")
    kernel = WarmKernel()
    runs = []
    try:
        t0 = time.perf_counter()
        kernel.start()
        start_s = time.perf_counter() - t0
        for i in range(1 + int(repeats)):
            t = time.perf_counter()
            r = run_study("kommuneprofil", 326, data_dir=data_dir, out_dir=out_dir, kernel=kernel)
            wall = time.perf_counter() - t
            cells = cell_seconds(r.executed) if r.executed and Path(r.executed).exists() else None
            runs.append(
                {
                    "run": i,
                    "status": r.status,
                    "error": r.error,
                    "wall_s": round(wall, 3),
                    "cells_s": None if cells is None else round(cells, 3),
                    "overhead_s": None if cells is None else round(wall - cells, 3),
                }
            )
    finally:
        kernel.shutdown()
    warm = [x for x in runs[1:] if x["status"] == "ok"]
    med = lambda k: float(np.median([x[k] for x in warm])) if warm else None  # noqa: E731
    return {
        "kernel_start_and_imports_s": round(start_s, 3),
        "runs": runs,
        "status": "ok" if warm and len(warm) == len(runs) - 1 else "failed",
        "warm_wall_median_s": med("wall_s"),
        "warm_cells_median_s": med("cells_s"),
        "warm_overhead_median_s": med("overhead_s"),
    }


def load_avg() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


class TreeRss:
    """Peak of the summed resident memory of a process and all its descendants, sampled
    every 0.5 s on a thread (GNU time's %M is the largest single process; a batch is a
    parent and its workers, whose memory adds up)."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        import threading

        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                procs = []
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 1024**2, 1)


def measure(
    args: list[str],
    *,
    timeout: float | None = None,
    env: dict | None = None,
    keep_output: bool = False,
) -> dict:
    """Run ``args`` as a subprocess; return wall seconds, peak RSS (MB), exit code, output
    (``output``: all of it, with ``keep_output``)."""
    # Peak RSS comes from GNU time's %M (the measured process is forked from the small
    # ``time`` process). Reading ru_maxrss of a child forked from this script directly would
    # be wrong on Linux: a process's maxrss includes its pre-exec parent's RSS at fork time.
    timer = Path("/usr/bin/time")
    if timer.exists():
        args = [str(timer), "-f", "BENCH-MAXRSS-KB %M", *args]
    load_before = load_avg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    tree = TreeRss(proc.pid)
    out_lines: list[str] = []
    timed_out = False
    deadline = None if timeout is None else t0 + timeout
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    while True:
        if deadline is not None and time.perf_counter() > deadline:
            proc.kill()
            timed_out = True
            break
        if sel.select(timeout=1.0):
            line = proc.stdout.readline()
            if not line:
                break
            out_lines.append(line)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    tree.stop()
    result = {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # fallback; Linux: KiB
        "peak_tree_rss_mb": tree.peak_mb,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "exit": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "load_before": load_before,
        "load_after": load_avg(),
    }
    for line in out_lines:
        if line.startswith("BENCH-MAXRSS-KB "):
            result["peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
        if line.startswith("BENCH-RESULT "):
            result["info"] = json.loads(line[len("BENCH-RESULT ") :])
    if result["exit"] != 0:
        result["tail"] = "".join(out_lines[-15:])
    if keep_output:
        result["output"] = "".join(out_lines)
    return result


def run_variant(variant: str, raw: Path, out: Path, *, timeout: float | None = None) -> dict:
    """Measure one preparation variant in a fresh subprocess."""
    env = {**os.environ, "NSV_PSEUDO_KEY": os.environ.get("NSV_PSEUDO_KEY", "nsv-eval-bench")}
    return measure(
        [PY, str(Path(__file__)), "--child", variant, str(raw), str(out)], timeout=timeout, env=env
    )


def cube_path(variant: str, out: Path) -> Path:
    """Where a variant's monthly cube lands."""
    return out / "cube.parquet" if variant in ("ours", "floor_all") else out


def ensure_synth(scale: float, seed: int = 1) -> tuple[Path, float | None]:
    """The synthetic Denmark at ``scale`` in ``bench/cache`` (generated once)."""
    d = CACHE / f"synth-{scale:g}"
    if (d / "truth.json").exists() and (d / "contacts.parquet").exists():
        return d, None
    print(f"[bench] generating synthetic Denmark at scale {scale:g} into {d} ...", flush=True)
    t = time.perf_counter()
    code = (
        "from nsv_eval.synth import generate; "
        f"generate({str(d)!r}, scale={scale!r}, seed={seed}, progress=True)"
    )
    subprocess.run([PY, "-c", code], cwd=ROOT, check=True)
    return d, time.perf_counter() - t


def prep_all(scale: float, variants: list[str], tag: str, timeout: float | None) -> dict:
    """Run the preparation variants at ``scale``; compare their cubes; return the record."""
    raw, gen_s = ensure_synth(scale)
    rec: dict = {"scale": scale, "raw": str(raw), "generate_s": gen_s, "variants": {}}
    rows = {}
    if (raw / "persons.parquet").exists():
        import pyarrow.parquet as pq

        for k in ("persons", "contacts"):
            rows[k] = pq.ParquetFile(raw / f"{k}.parquet").metadata.num_rows
    rec["input_rows"] = rows
    paths = {}
    for v in variants:
        out = CACHE / (
            f"prep-{tag}"
            if v == "ours"
            else f"prep-official-{tag}"
            if v == "official"
            else f"floor_all-{tag}"
            if v == "floor_all"
            else f"{v}-{tag}.parquet"
        )
        print(f"[bench] {tag}: {v} on {raw} ...", flush=True)
        r = run_variant(v, raw, out, timeout=timeout if v == "baseline" else None)
        print(
            f"[bench] {tag}: {v}: {r['wall_s']:.1f} s wall, {r['peak_rss_mb']:.0f} MB peak, "
            f"exit {r['exit']}{' (timed out)' if r['timed_out'] else ''}",
            flush=True,
        )
        if r["exit"] != 0 and not r["timed_out"]:
            print(r.get("tail", ""), flush=True)
        rec["variants"][v] = r
        if r["exit"] == 0 and v != "official":  # other definitions: not comparable
            paths[v] = cube_path(v, out)
    ours_cube = cube_path("ours", CACHE / f"prep-{tag}")
    if "ours" not in variants and ours_cube.exists():  # compare with an earlier run of ours
        paths = {"ours": ours_cube, **paths}
    if "ours" in paths and len(paths) > 1:
        ref = pd.read_parquet(paths["ours"])
        rec["cube_rows"] = len(ref)
        for v, p in paths.items():
            if v == "ours":
                continue
            problems = compare_cubes(ref, pd.read_parquet(p))
            rec.setdefault("equivalence", {})[f"ours=={v}"] = problems or "identical"
            print(f"[bench] {tag}: cube ours vs {v}: {problems or 'identical'}", flush=True)
            if problems:
                raise SystemExit(f"cubes differ at scale {scale}: {problems}")
    if "ours" in paths and "floor_all" in paths:
        # every output floor_all makes, not only the cube (compare_outputs)
        problems = compare_outputs(paths["ours"].parent, paths["floor_all"].parent)
        rec.setdefault("equivalence", {})["ours==floor_all (all outputs)"] = problems or "identical"
        print(
            f"[bench] {tag}: all outputs ours vs floor_all: {problems or 'identical'}", flush=True
        )
        if problems:
            raise SystemExit(f"outputs of ours and floor_all differ at scale {scale}: {problems}")
    return rec


def comparable_seconds(stages: dict) -> float:
    """Seconds of ours' stages that the baseline/floor also do (persons, contacts, care and
    falls read/validated, chaining, flags, the monthly cube); excludes ingest of population,
    survey, interventions, rollout, the income cube, the cohorts and fingerprinting."""
    keep = (
        "ingest persons",
        "ingest admissions",
        "ingest care",
        "ingest falls",
        "validate",
        "chain",
        "flag",
        "cube",
    )
    return sum(
        s
        for name, s in stages.items()
        if name.startswith(keep) and not name.startswith("cube by income")
    )


# ----------------------------------------------------------------------------------------
# notebook and batch
# ----------------------------------------------------------------------------------------


def imports_notebook(src: Path, dst: Path) -> Path:
    """A notebook holding only the import lines of ``src`` (the kernel-and-import floor)."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                if line.startswith(("import ", "from ")) and line not in lines:
                    lines.append(line)
    out = nbformat.v4.new_notebook()
    out.metadata = nb.metadata
    out.cells = [nbformat.v4.new_code_cell("\n".join(lines))]
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(out, dst)
    return dst


def notebook_bench(prepared: Path, tag: str) -> dict:
    """Time one kommuneprofil run (cold and warm national cache) and the import floor."""
    out_dir = CACHE / f"reports-nb-{tag}"
    import shutil

    shutil.rmtree(out_dir, ignore_errors=True)
    rec: dict = {}
    floor_nb = imports_notebook(
        ROOT / "notebooks" / "02_kommuneprofil.ipynb", CACHE / "imports_only.ipynb"
    )
    for name, args in [
        ("notebook_floor", [str(floor_nb), str(CACHE / "imports_only.out.ipynb")]),
        ("notebook_cold", [f"{prepared}::{out_dir}", "-"]),
        ("notebook_warm", [f"{prepared}::{out_dir}", "-"]),
        ("notebook_warm_kernel", [f"{prepared}::{out_dir}", "3"]),
        ("notebook_floor_2", [str(floor_nb), str(CACHE / "imports_only.out.ipynb")]),
    ]:
        variant = (
            "notebook_floor"
            if name.startswith("notebook_floor")
            else name
            if name == "notebook_warm_kernel"
            else "notebook"
        )
        # a kernel per report (the cold path), as before warm execution
        env = {**os.environ, "NSV_COLD_KERNEL": "1"} if variant == "notebook" else None
        r = measure([PY, str(Path(__file__)), "--child", variant, *args], env=env)
        print(f"[bench] {name}: {r['wall_s']:.1f} s, {r['peak_rss_mb']:.0f} MB", flush=True)
        if r["exit"] != 0 or r.get("info", {}).get("status", "ok") != "ok":
            print(r.get("tail", r.get("info")), flush=True)
        rec[name] = r
    return rec


RUN_LINE = re.compile(r"^\s+(ok|FAILED|REFUSED)\s+(\S+)\s+([0-9.]+) s")


def run_bench(prepared: Path, tag: str, kommune: int = 326) -> dict:
    """Time ``nsv-eval run --kommune K --study all`` from an empty shared folder (cold),
    then again with it filled (cached); each study's seconds from ``run``'s own lines."""
    import shutil

    out_dir = CACHE / f"reports-run-{tag}"
    shared = CACHE / f"shared-run-{tag}"
    nsv = Path(PY).with_name("nsv-eval")
    args = [str(nsv), "run", "--kommune", str(kommune), "--study", "all"]
    args += ["--data", str(prepared), "--out", str(out_dir), "--shared", str(shared)]
    rec: dict = {"command": " ".join(args)}
    for name in ("cold", "cached"):
        if name == "cold":
            shutil.rmtree(shared, ignore_errors=True)
            shutil.rmtree(out_dir, ignore_errors=True)
        r = measure(args, keep_output=True)
        studies = {}
        for line in (r.pop("output", None) or "").splitlines():
            m = RUN_LINE.match(line)
            if m:
                studies[m.group(2)] = {"status": m.group(1), "seconds": float(m.group(3))}
        r["studies"] = studies
        print(
            f"[bench] run --study all ({name}): {r['wall_s']:.1f} s, CPU {r['cpu_s']:.0f} s, "
            f"exit {r['exit']}",
            flush=True,
        )
        if r["exit"] != 0:
            print(r.get("tail", ""), flush=True)
        rec[name] = r
    return rec


def batch_bench(prepared: Path, jobs: int, kommuner: str, tag: str, studies: str = "all") -> dict:
    """Time ``nsv-eval batch --study STUDIES --kommuner KOMMUNER --jobs JOBS`` (fresh out dir)."""
    import shutil

    out_dir = CACHE / f"reports-batch-{tag}"
    shutil.rmtree(out_dir, ignore_errors=True)
    nsv = Path(PY).with_name("nsv-eval")
    args = [str(nsv), "batch", "--study", studies, "--kommuner", kommuner, "--jobs", str(jobs)]
    args += ["--data", str(prepared), "--out", str(out_dir), "--no-progress"]
    print(f"[bench] batch: {' '.join(args)}", flush=True)
    r = measure(args)
    r["command"] = " ".join(args)
    print(f"[bench] batch: {r['wall_s']:.0f} s, exit {r['exit']}", flush=True)
    if r["exit"] != 0:
        print(r.get("tail", ""), flush=True)
    r["reports"] = batch_reports(out_dir)
    return r


def batch_reports(out_dir: Path) -> dict:
    """Per-report numbers of a finished batch: status counts, wall time per report (worker
    execution + parent publishing, from the state file), the worker's execution overhead
    beyond the report's own cells (execution wall − the cells' papermill durations of the
    executed notebook), the parent's publishing time (from the batch log), per study."""
    import re

    state = json.loads((out_dir / "batch-state.json").read_text(encoding="utf-8"))
    publish: dict[str, float] = {}
    for log in sorted(out_dir.glob("batch-*.log")):
        for line in log.read_text(encoding="utf-8").splitlines():
            m = re.search(r"END\s+(\S+): \w+, [\d.]+ s \(of which ([\d.]+) s published", line)
            if m:
                publish[m.group(1)] = float(m.group(2))
    rows = []
    for key, task in state["tasks"].items():
        secs = task.get("seconds")
        pub = publish.get(key)
        executed = task.get("executed")
        cells = None
        if executed and (out_dir / executed).exists():
            cells = cell_seconds(out_dir / executed)
        exec_s = None if secs is None else secs - (pub or 0.0)
        rows.append(
            {
                "key": key,
                "study": task.get("study"),
                "status": task.get("status"),
                "seconds": secs,
                "publish_s": pub,
                "cells_s": cells,
                "overhead_s": None if exec_s is None or cells is None else exec_s - cells,
            }
        )
    df = pd.DataFrame(rows)

    def q(col: str, p: float, sub: pd.DataFrame = df) -> float | None:
        x = sub[col].dropna() if col in sub else pd.Series(dtype=float)
        return round(float(x.quantile(p)), 3) if len(x) else None

    return {
        "n": len(df),
        "status": df["status"].value_counts().to_dict() if len(df) else {},
        "seconds_median": q("seconds", 0.5),
        "seconds_p90": q("seconds", 0.9),
        "seconds_max": q("seconds", 1.0),
        "overhead_median_s": q("overhead_s", 0.5),
        "overhead_p90_s": q("overhead_s", 0.9),
        "publish_median_s": q("publish_s", 0.5),
        "by_study": {
            s: {"median_s": q("seconds", 0.5, g), "max_s": q("seconds", 1.0, g), "n": len(g)}
            for s, g in df.groupby("study")
        }
        if len(df)
        else {},
    }


def report_integrity(out_dir: Path) -> dict:
    """Every report file the state lists: HTML complete (ends with ``</html>``) and JSON
    parseable; temporary files left behind; the reports' modification times."""
    state = json.loads((out_dir / "batch-state.json").read_text(encoding="utf-8"))
    bad, mtimes = [], {}
    for task in state["tasks"].values():
        for kind in ("html", "json"):
            rel = task.get(kind)
            if not rel:
                continue
            path = out_dir / rel
            try:
                body = path.read_bytes()
                if kind == "json":
                    json.loads(body)
                elif not body.rstrip().endswith(b"</html>"):
                    raise ValueError("HTML does not end with </html>")
                mtimes[str(rel)] = path.stat().st_mtime_ns
            except (OSError, ValueError) as exc:
                bad.append(f"{rel}: {exc}")
    for path in out_dir.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json"):
            try:
                body = path.read_bytes()
                if path.suffix == ".json":
                    json.loads(body)
                elif body and not body.rstrip().endswith(b"</html>"):
                    bad.append(f"{path.relative_to(out_dir)}: HTML does not end with </html>")
            except (OSError, ValueError) as exc:
                bad.append(f"{path.relative_to(out_dir)}: {exc}")
    temps = [str(p.relative_to(out_dir)) for p in out_dir.rglob("*.tmp*") if p.is_file()]
    ok = [k for k, t in state["tasks"].items() if t.get("status") == "ok"]
    return {"bad": sorted(set(bad)), "temp_files": temps, "ok": ok, "mtimes": mtimes}


def kill_resume_bench(
    prepared: Path, jobs: int, kommuner: str, tag: str, seed: int, studies: str = "all"
) -> dict:
    """Kill the whole batch with SIGKILL at a random point, start it again with
    ``--resume``, and check the result: every report once, none redone, no truncated file.

    The kill point: after a random number of finished reports (a quarter to three quarters
    of the batch) plus a random 0–3 s, so that it lands at an arbitrary moment of a worker's
    execution or the parent's publishing.
    """
    import random
    import shutil
    import signal

    rng = random.Random(seed)
    out_dir = CACHE / f"reports-killresume-{tag}"
    shutil.rmtree(out_dir, ignore_errors=True)
    nsv = Path(PY).with_name("nsv-eval")
    args = [str(nsv), "batch", "--study", studies, "--kommuner", kommuner, "--jobs", str(jobs)]
    args += ["--data", str(prepared), "--out", str(out_dir), "--no-progress"]
    state_file = out_dir / "batch-state.json"
    print(f"[bench] kill-and-resume: {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    import re

    total = target = None
    while proc.poll() is None:
        time.sleep(0.5)
        if total is None:  # the batch log's first line: "N kommune(r) x M stud(y/ies)"
            for log in out_dir.glob("batch-*.log"):
                m = re.search(r"(\d+) kommune\(r\) x (\d+) stud", log.read_text(encoding="utf-8"))
                if m:
                    total = int(m.group(1)) * int(m.group(2))
                    target = rng.randint(max(1, total // 4), max(1, 3 * total // 4))
            continue
        try:
            tasks = json.loads(state_file.read_text(encoding="utf-8"))["tasks"]
        except (OSError, ValueError, KeyError):
            continue
        done = sum(1 for x in tasks.values() if x.get("status") in ("ok", "failed"))
        if target is not None and done >= target:
            time.sleep(rng.uniform(0, 3))
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    killed_after = time.perf_counter() - t0
    if proc.returncode != -signal.SIGKILL:
        return {"status": "batch ended before the kill", "exit": proc.returncode}
    before = report_integrity(out_dir)
    old_logs = set(out_dir.glob("batch-*.log"))
    print(
        f"[bench] killed after {killed_after:.0f} s with {len(before['ok'])} reports done; "
        "resuming ...",
        flush=True,
    )
    r = measure([*args, "--resume"])
    after = report_integrity(out_dir)
    state = json.loads(state_file.read_text(encoding="utf-8"))["tasks"]
    submitted = set()
    for log in set(out_dir.glob("batch-*.log")) - old_logs:
        for line in log.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if "SUBMIT" in parts:
                submitted.add(parts[parts.index("SUBMIT") + 1])
    redone = sorted(k for k in before["ok"] if k in submitted)
    mine = {state[k].get(x) for k in before["ok"] for x in ("html", "json")} - {None}
    touched = sorted(
        rel for rel, m in before["mtimes"].items() if rel in mine and after["mtimes"].get(rel) != m
    )
    return {
        "kommuner": kommuner,
        "tasks": total,
        "kill_target_reports": target,
        "killed_after_s": round(killed_after, 1),
        "done_before_kill": len(before["ok"]),
        "files_bad_after_kill": before["bad"],
        "resume": r,
        "ok_after_resume": len(after["ok"]),
        "files_bad_after_resume": after["bad"],
        "temp_files_after_resume": after["temp_files"],
        "resumed_tasks": len(submitted),
        "finished_reports_redone": redone,
        "finished_report_files_rewritten": touched,
        "verdict": "ok"
        if len(after["ok"]) == total
        and not (after["bad"] or redone or touched or after["temp_files"])
        else "FAILED",
    }


# ----------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------


def machine() -> dict:
    """Machine description for the results file."""
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "mem_gb": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_at_start": load,
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "nsv_eval"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def markdown(res: dict) -> str:
    """The Markdown table of the results."""
    rows = res["big"].get("input_rows", {})
    lines = [
        f"Scale {res['scale']:g} ({rows.get('persons', 0):,} persons, "
        f"{rows.get('contacts', 0):,} contacts); "
        f"{res['machine']['cpus']} cores, {res['machine']['mem_gb']} GB; commit "
        f"`{(res.get('git_commit') or '?')[:12]}`.",
        "",
        f"Load average (1 min) at the start {(res['machine'].get('load_avg_at_start') or [0])[0]:.1f}"
        f"; per measurement before → after: {load_summary(res)}.",
        "",
        "| measurement | wall time | peak memory | ratio | target |",
        "|---|---:|---:|---|---|",
    ]
    v = res["big"]["variants"]
    r = res.get("ratios", {})

    def row(name, m, ratio="", target=""):
        if m is None:
            return
        lines.append(
            f"| {name} | {m['wall_s']:.0f} s | {m['peak_rss_mb'] / 1024:.2f} GB | {ratio} | {target} |"
        )

    if "ours" in v:
        row(
            "prepare, ours (all outputs)",
            v["ours"],
            f"ours/floor {r.get('ours_over_floor', '–')}",
            "≤ 1.5",
        )
        if "ours_comparable_s" in res:
            lines.append(
                f"| prepare, ours (only the stages the others do) | {res['ours_comparable_s']:.0f} s | | "
                f"ours/floor {r.get('ours_comparable_over_floor', '–')} | ≤ 1.5 |"
            )
    row("prepare, DuckDB floor (SQL only)", v.get("floor"))
    row(
        "prepare, DuckDB floor of all six outputs (floor_all, SQL only)",
        v.get("floor_all"),
        f"ours/floor_all {r.get('ours_over_floor_all', '–')}",
        "≤ 1.5",
    )
    if "official" in v:
        row("prepare, ours, official definitions (the data the reports read)", v["official"])
    fb = v.get("baseline")
    if fb and fb.get("exit") != 0:
        lines.append(
            f"| prepare, pandas baseline at scale {res['scale']:g} | did not finish: "
            f"{baseline_failure(fb)} | {fb['peak_rss_mb'] / 1024:.2f} GB | | ≥ 5 |"
        )
    b = res.get("baseline")
    if b:
        label = "prepare, pandas baseline"
        if b.get("extrapolated"):
            label += f" (measured at scale {b['scale']:g}, extrapolated ×{b['factor']:g})"
        lines.append(
            f"| {label} | {b['wall_s']:.0f} s | {b['peak_rss_mb'] / 1024:.2f} GB"
            f"{' (at measured scale)' if b.get('extrapolated') else ''} | baseline/ours "
            f"{r.get('baseline_over_ours', '–')}"
            + (
                f" (at scale {b['scale']:g}: {r['baseline_over_ours_same_scale']})"
                if r.get("baseline_over_ours_same_scale")
                else ""
            )
            + " | ≥ 5 |"
        )
    nb = res.get("notebook")
    if nb:
        for key, name in [
            ("notebook_floor", "kernel + imports (floor)"),
            ("notebook_cold", "kommuneprofil 326, own kernel, cold national cache"),
            ("notebook_warm", "kommuneprofil 326, own kernel, warm national cache"),
        ]:
            ratio = ""
            if key != "notebook_floor":
                ratio = f"run/floor {r.get(key + '_over_floor', '–')}"
            row(name, nb.get(key), ratio, "")
        wk = (nb.get("notebook_warm_kernel") or {}).get("info")
        if wk and wk.get("warm_wall_median_s") is not None:
            lines.append(
                f"| kommuneprofil 326 in a warm kernel (median of {len(wk['runs']) - 1}; "
                f"its cells {wk['warm_cells_median_s']:.1f} s) | {wk['warm_wall_median_s']:.1f} s "
                f"| | warm/floor {r.get('notebook_warm_kernel_over_floor', '–')}; overhead "
                f"beyond its cells {wk['warm_overhead_median_s']:.2f} s | overhead < 1.5 s |"
            )
    ra = res.get("run_all")
    for key in ("cold", "cached"):
        m = (ra or {}).get(key)
        if not m:
            continue
        ok = sum(1 for st in m.get("studies", {}).values() if st["status"] == "ok")
        what = "empty shared folder" if key == "cold" else "shared folder filled"
        lines.append(
            f"| `nsv-eval run --kommune 326 --study all`, {what} ({ok}/"
            f"{len(m.get('studies', {}))} ok; CPU {m['cpu_s']:.0f} s) | {m['wall_s']:.1f} s | "
            f"{(m.get('peak_tree_rss_mb') or m['peak_rss_mb']) / 1024:.2f} GB (summed) | | "
            f"{'< 60 s' if key == 'cold' else ''} |"
        )
    bt = res.get("batch")
    if bt:
        what = bt.get("studies", "all")
        n_st = "all studies" if what == "all" else f"{len(what.split(','))} studies"
        label = f"batch, {n_st} × " + bt.get("kommuner_label", "98 kommuner")
        if bt.get("extrapolated"):
            label += f" (extrapolated ×{bt['factor']:.1f})"
        lines.append(
            f"| {label}, --jobs {bt.get('jobs')} | {bt['wall_s'] / 60:.1f} min | "
            f"{bt['peak_rss_mb'] / 1024:.2f} GB | | < 20 min |"
        )
    if bt and bt.get("peak_tree_rss_mb"):
        lines.append(
            f"| batch: parent + workers together (peak of the summed memory) | | "
            f"{bt['peak_tree_rss_mb'] / 1024:.2f} GB | | < 6 GB |"
        )
    rep = (bt or {}).get("reports")
    if rep:
        lines.append(
            f"| batch: one report (median / p90 / max of {rep['n']}; {rep['status']}) | "
            f"{rep['seconds_median']} / {rep['seconds_p90']} / {rep['seconds_max']} s | | "
            f"overhead beyond its cells: median {rep['overhead_median_s']} s, p90 "
            f"{rep['overhead_p90_s']} s; publishing in the parent median "
            f"{rep['publish_median_s']} s | overhead < 1.5 s |"
        )
    kr = res.get("kill_resume")
    if kr and "resume" in kr:
        lines.append(
            f"| kill-and-resume ({kr['kommuner']}, {kr['tasks']} reports): SIGKILL after "
            f"{kr['killed_after_s']:.0f} s ({kr['done_before_kill']} done), resume "
            f"{kr['resume']['wall_s']:.0f} s ({kr['resumed_tasks']} run) | | | "
            f"{kr['ok_after_resume']}/{kr['tasks']} ok, redone {len(kr['finished_reports_redone'])}, "
            f"bad files {len(kr['files_bad_after_resume'])}: {kr['verdict']} | all ok, none redone |"
        )
    if res.get("notes"):
        lines += ["", *[f"- {n}" for n in res["notes"]]]
    return "\n".join(lines)


def load_summary(res: dict) -> str:
    """``name a→b`` (1-minute load averages) of every measurement in ``res``."""
    out = []
    found = [("prepare " + k, v) for k, v in res.get("big", {}).get("variants", {}).items()]
    found += list((res.get("notebook") or {}).items())
    for key in ("cold", "cached"):
        if (res.get("run_all") or {}).get(key):
            found.append((f"run --study all ({key})", res["run_all"][key]))
    if res.get("batch"):
        found.append(("batch", res["batch"]))
    if (res.get("kill_resume") or {}).get("resume"):
        found.append(("kill-and-resume (resume)", res["kill_resume"]["resume"]))
    if (res.get("baseline") or {}).get("extrapolated"):
        found.append(("baseline (small scale)", res["baseline"]))
    for name, m in found:
        lb, la = (m or {}).get("load_before"), (m or {}).get("load_after")
        if lb and la:
            out.append(f"{name} {lb[0]:.1f}→{la[0]:.1f}")
    return ", ".join(out) or "not recorded"


def baseline_failure(base: dict | None) -> str:
    """Why the pandas baseline has no full-scale measurement, in one phrase."""
    if not base:
        return "not run at full scale"
    if base.get("timed_out"):
        return f"timed out at full scale after {base['wall_s']:.0f} s"
    if base.get("exit") in (137, -9):
        return (
            f"killed at full scale after {base['wall_s']:.0f} s with "
            f"{base['peak_rss_mb'] / 1024:.1f} GB resident (out of memory, SIGKILL)"
        )
    return f"failed at full scale (exit {base.get('exit')})"


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring)."""
    ap = argparse.ArgumentParser(description="nsv-eval national-scale benchmark")
    ap.add_argument("--scale", type=float, default=1.0, help="big run (1.0 = all of Denmark)")
    ap.add_argument("--small-scale", type=float, default=0.005, help="equivalence pre-check")
    ap.add_argument(
        "--baseline-scale",
        type=float,
        default=None,
        help="run the pandas baseline at this scale and extrapolate linearly (default: "
        "scale/10 above scale 0.2, where it runs out of memory; give the big scale to try)",
    )
    ap.add_argument("--baseline-timeout", type=float, default=1800.0, help="seconds")
    ap.add_argument("--skip-small", action="store_true")
    ap.add_argument("--skip-prepare", action="store_true", help="reuse bench/cache/prep-<scale>")
    ap.add_argument("--skip-notebook", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument(
        "--skip-run", action="store_true", help="skip `nsv-eval run --study all` (cold/cached)"
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--variants",
        default="ours,official,floor,floor_all,baseline",
        help="preparation variants of the big run (comma-separated)",
    )
    ap.add_argument(
        "--previous",
        default=None,
        metavar="RESULTS.json",
        help="take the big-run measurements of variants not run now from this results file",
    )
    ap.add_argument("--batch-kommuner", default="all", help="e.g. 'all' or '326,101,851'")
    ap.add_argument(
        "--batch-studies",
        default="all",
        help="studies of the batch and the kill-and-resume run ('all' or comma-separated)",
    )
    ap.add_argument(
        "--kill-resume",
        default="region:1081",
        metavar="KOMMUNER",
        help="kommuner of the kill-and-resume run (SIGKILL at a random point, then --resume); "
        "'none' to skip",
    )
    ap.add_argument("--seed", type=int, default=None, help="seed of the kill point (default: time)")
    ap.add_argument("--child", nargs=3, metavar=("VARIANT", "IN", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return _child(*a.child)

    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    res: dict = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "machine": machine(),
        "scale": a.scale,
        "notes": [],
    }
    tag = f"{a.scale:g}"
    if not a.skip_small:
        res["small"] = prep_all(a.small_scale, list(VARIANTS), f"{a.small_scale:g}", None)

    if a.baseline_scale is None and a.scale > 0.2:
        # Measured: at scale 1.0 the pandas baseline is OOM-killed at ~22 GB on a 24 GB
        # machine (bench/README.md); attempt the full scale only when asked (--baseline-scale).
        a.baseline_scale = a.scale / 10
    chosen = [x for x in a.variants.split(",") if x]
    big_variants = [x for x in ("ours", "official", "floor", "floor_all") if x in chosen]
    if "baseline" in chosen and (a.baseline_scale is None or a.baseline_scale == a.scale):
        big_variants.append("baseline")
    if a.skip_prepare:
        res["big"] = {"scale": a.scale, "variants": {}, "input_rows": {}}
    else:
        res["big"] = prep_all(a.scale, big_variants, tag, a.baseline_timeout)
    if a.previous:
        prev = json.loads(Path(a.previous).read_text(encoding="utf-8"))
        res["previous"] = a.previous
        for name, rec in prev["big"]["variants"].items():
            if name not in res["big"]["variants"]:
                res["big"]["variants"][name] = {**rec, "from": a.previous}
        res["big"].setdefault("input_rows", prev["big"].get("input_rows", {}))
        if "run_all" in prev and a.skip_run:
            res["run_all"] = prev["run_all"]
        for key in ("notebook", "batch"):
            if key in prev and (a.skip_notebook if key == "notebook" else a.skip_batch):
                res[key] = prev[key]
                for rk, rv in prev.get("ratios", {}).items():
                    if rk.startswith(key):
                        res.setdefault("prev_ratios", {})[rk] = rv
        res["notes"] += [n for n in prev.get("notes", []) if "baseline" not in n]
    v = res["big"]["variants"]
    ours = v.get("ours")
    if ours and ours["exit"] == 0:
        res["ours_comparable_s"] = round(comparable_seconds(ours["info"]["stages"]), 2)
    floor_s = v.get("floor", {}).get("wall_s")
    ours_s = ours["wall_s"] if ours else None
    res["ratios"] = {
        "ours_over_floor": _ratio(ours_s, floor_s),
        "ours_comparable_over_floor": _ratio(res.get("ours_comparable_s"), floor_s),
        # like for like: the same six outputs (floor_all.py)
        "ours_over_floor_all": _ratio(ours_s, v.get("floor_all", {}).get("wall_s")),
    }
    base = v.get("baseline")
    if base and base["exit"] == 0:
        res["baseline"] = {**base, "scale": a.scale, "extrapolated": False}
    elif "baseline" in chosen:
        bscale = a.baseline_scale or max(a.scale / 10, a.small_scale)
        why = baseline_failure(base)
        small = prep_all(bscale, ["ours", "baseline"], f"{bscale:g}", a.baseline_timeout)
        bm = small["variants"]["baseline"]
        factor = a.scale / bscale
        res["baseline"] = {
            **bm,
            "wall_s": round(bm["wall_s"] * factor, 1),
            "measured_wall_s": bm["wall_s"],
            "scale": bscale,
            "factor": factor,
            "extrapolated": True,
            "ours_at_same_scale_s": small["variants"]["ours"]["wall_s"],
        }
        res["ratios"]["baseline_over_ours_same_scale"] = _ratio(
            bm["wall_s"], small["variants"]["ours"]["wall_s"]
        )
        res["baseline_run"] = small
        res["notes"].append(
            f"pandas baseline {why}; measured at scale {bscale:g} ({bm['wall_s']:.0f} s, "
            f"ours {small['variants']['ours']['wall_s']:.0f} s at that scale) and extrapolated "
            f"linearly ×{factor:g} (EXTRAPOLATION, not a measurement)"
        )
    if "baseline" in res:
        res["ratios"]["baseline_over_ours"] = _ratio(res["baseline"]["wall_s"], ours_s)
    res["ratios"].update(res.pop("prev_ratios", {}))

    # the studies read the official definitions (the default); the legacy folder only
    # when the official one was not prepared
    prepared = CACHE / f"prep-official-{tag}"
    if not (prepared / "manifest.json").exists():
        prepared = CACHE / f"prep-{tag}"
    res["reports_data"] = str(prepared.relative_to(ROOT))
    if not a.skip_notebook and (prepared / "manifest.json").exists():
        nb = notebook_bench(prepared, tag)
        res["notebook"] = nb
        fl = min(nb["notebook_floor"]["wall_s"], nb["notebook_floor_2"]["wall_s"])
        res["ratios"]["notebook_cold_over_floor"] = _ratio(nb["notebook_cold"]["wall_s"], fl)
        res["ratios"]["notebook_warm_over_floor"] = _ratio(nb["notebook_warm"]["wall_s"], fl)
        wk = nb.get("notebook_warm_kernel", {}).get("info", {})
        res["ratios"]["notebook_warm_kernel_over_floor"] = _ratio(wk.get("warm_wall_median_s"), fl)
    if not a.skip_run and (prepared / "manifest.json").exists():
        res["run_all"] = run_bench(prepared, tag)
    if not a.skip_batch and (prepared / "manifest.json").exists():
        bt = batch_bench(prepared, a.jobs, a.batch_kommuner, tag, a.batch_studies)
        bt["jobs"] = a.jobs
        bt["studies"] = a.batch_studies
        if a.batch_kommuner != "all":
            n = len(a.batch_kommuner.split(","))
            bt["factor"] = 98 / n
            bt["measured_wall_s"] = bt["wall_s"]
            bt["wall_s"] = round(bt["wall_s"] * 98 / n, 1)
            bt["extrapolated"] = True
            bt["kommuner_label"] = "98 kommuner"
            res["notes"].append(
                f"batch measured for {n} kommuner ({bt['measured_wall_s']:.0f} s) and "
                f"extrapolated ×{98 / n:.1f} to 98 (EXTRAPOLATION)"
            )
        res["batch"] = bt
    if a.kill_resume != "none" and (prepared / "manifest.json").exists():
        seed = a.seed if a.seed is not None else int(time.time())
        kr = kill_resume_bench(prepared, a.jobs, a.kill_resume, tag, seed, a.batch_studies)
        kr["seed"] = seed
        res["kill_resume"] = kr
        print(f"[bench] kill-and-resume: {kr.get('verdict', kr.get('status'))}", flush=True)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{tag}-{stamp}.json"
    path.write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    md = markdown(res)
    res["markdown"] = md
    path.write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    print(f"\n[bench] results: {path}\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
