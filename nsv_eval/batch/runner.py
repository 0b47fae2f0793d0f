""":func:`run_batch`: validate, plan, prepare once, execute in parallel, record, summarise."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nsv_eval import __version__
from nsv_eval.batch.executors import run_dask, run_local
from nsv_eval.batch.index import INDEX_FILE, STAMP_FILE, write_index
from nsv_eval.batch.selection import parse_kommuner
from nsv_eval.batch.state import (
    STATE_FILE,
    STATUS_FAILED,
    STATUS_OK,
    BatchLock,
    BatchLog,
    atomic_write_text,
    is_up_to_date,
    jsonable,
    load_state,
    now,
    save_state,
    sha256_file,
    task_fingerprint,
    task_key,
)
from nsv_eval.errors import InputError, NsvError

SHARED_SUBDIR = ".shared"

TASK_COLUMNS: tuple[str, ...] = (
    "kommune",
    "kommune_name",
    "study",
    "slug",
    "status",
    "action",
    "seconds",
    "started",
    "finished",
    "error",
    "html",
    "json",
    "executed",
    "worker",
    "attempts",
)
"""Columns of :attr:`BatchResult.tasks`. ``status`` is ``ok``, ``failed`` or ``disclosure``
(the report failed the disclosure check and was not published); ``action`` is ``ran``,
``skipped`` (up to date under ``--resume``) or ``not_run`` (the kommune's parameters are
invalid); ``attempts`` is > 1 when a kernel failure was retried."""


def first_line(text: str | None, limit: int = 240) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    if not text:
        return ""
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


# ----------------------------------------------------------------------------------------
# shared preparation
# ----------------------------------------------------------------------------------------


def prepare_shared(
    data_dir: str | Path, shared_dir: str | Path, studies: Sequence[str] = (), jobs: int = 2
) -> dict[str, dict[str, Any]]:
    """Compute (or reuse) every national summary once, for all notebooks of a batch.

    Calls :meth:`nsv_eval.analyses.data.Prepared.summary` for each name in
    :data:`nsv_eval.analyses.data.SUMMARIES` with ``shared_dir`` as the cache; the notebooks
    get the same ``shared_dir`` and read the cache instead of aggregating the cube again.
    When ``studies`` holds ``"forebyggende"``, study 8's national work (person x month
    panels, RD fits, placebo ages, IPTW: :func:`nsv_eval.analyses.preventive.shared_work`,
    with the default parameters ``scope: land``, ``conf: 0.95``) is done here too, once,
    instead of by the first report of every worker at the same time. Likewise with
    ``"fald"``: study 3's national DiD fits (:func:`nsv_eval.analyses.falls.shared_work`).
    The work is cut into independent pieces computed by ``jobs`` worker processes
    (:mod:`nsv_eval.analyses.shared`, the same pieces ``nsv-eval run`` computes beside its
    kernel); a piece that fails raises :class:`~nsv_eval.errors.NsvError` with its traceback.

    Returns
    -------
    dict
        Per summary, and per study with national work: ``files`` (its cache files for this
        data fingerprint, for a study the memo entries this call wrote), ``computed`` (True
        if this call wrote any, False if all were reused), ``seconds`` (the workers' time on
        its pieces), and ``mtime_ns`` of each file right after preparation (a notebook that
        recomputed a summary would change it).
    """
    from nsv_eval.analyses import shared as sw
    from nsv_eval.analyses.data import SUMMARIES, Prepared

    shared = Path(shared_dir)
    prep = Prepared(data_dir, shared)
    memo = shared / "memo"

    def snapshot() -> dict[str, dict[Path, int]]:
        snap = {
            n: dict(_mtimes(shared.glob(f"{n}-{prep.fingerprint}*.parquet"))) for n in SUMMARIES
        }
        for st, prefix in sw.MEMO_PREFIX.items():
            snap[st] = dict(_mtimes(memo.glob(f"{prefix}*.pkl")))
        return snap

    todo = sw.pieces(list(studies))
    before = snapshot()
    work = sw.compute_all(data_dir, shared, todo, jobs=jobs)
    if work.errors:
        label, text = next(iter(work.errors.items()))
        raise NsvError(f"The shared national work {label} failed:\n{text}")
    after = snapshot()
    out: dict[str, dict[str, Any]] = {}
    for name in [*SUMMARIES, *(s for s in sw.MEMO_PREFIX if s in studies)]:
        was, now_ = before[name], after[name]
        made = sorted(p for p, t in now_.items() if was.get(p) != t)
        kept = sorted(now_) if name in SUMMARIES else made
        seconds = sum(
            v for k, v in work.seconds.items() if k == f"summary/{name}" or k.startswith(f"{name}/")
        )
        out[name] = {
            "files": [str(p) for p in kept],
            "computed": bool(made),
            "seconds": round(seconds, 3),
            "mtime_ns": {str(p): now_[p] for p in kept},
        }
    return out


def _mtimes(paths: Iterable[Path]) -> Iterable[tuple[Path, int]]:
    for p in paths:
        try:
            yield p, p.stat().st_mtime_ns
        except FileNotFoundError:  # a temporary file renamed meanwhile
            continue


# ----------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """Outcome of :func:`run_batch`.

    Attributes
    ----------
    tasks : pandas.DataFrame
        One row per selected task (kommune × study), columns :data:`TASK_COLUMNS`:
        status, action, wall time in seconds, start/end times, the full error message,
        absolute paths of the report, its JSON and the executed notebook, the worker.
    out_dir : Path
        The reports root.
    log, state, stamp_file : Path
        The batch log, the state file and ``batch-stamp.json``.
    index : Path or None
        ``index.html``; None if the disclosure check refused it (see ``index_findings``).
    stamp : dict
        The reproducibility stamp (also in ``stamp_file``, the log and the state file).
    shared : dict
        What :func:`prepare_shared` did (empty if nothing had to run).
    index_findings : list
        Disclosure problems found in the overview page (and in ``nøgletal.xlsx``).
    key_results : Path or None
        ``nøgletal.xlsx``: the key results of every current report (kommune × study).
    seconds : float
        Wall time of the batch.
    """

    tasks: pd.DataFrame
    out_dir: Path
    log: Path
    state: Path
    stamp_file: Path
    index: Path | None
    stamp: dict[str, Any]
    shared: dict[str, dict[str, Any]]
    index_findings: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    key_results: Path | None = None

    @property
    def failed(self) -> pd.DataFrame:
        """Tasks without a published report (status ``failed`` or ``disclosure``)."""
        return self.tasks[self.tasks["status"] != STATUS_OK]

    @property
    def succeeded(self) -> pd.DataFrame:
        """Tasks with a current report (run now, or skipped as up to date)."""
        return self.tasks[self.tasks["status"] == STATUS_OK]

    @property
    def ok(self) -> bool:
        """True when every task succeeded and the overview was published."""
        return self.failed.empty and not self.index_findings

    @property
    def exit_code(self) -> int:
        """0 if :attr:`ok`, else 1."""
        return 0 if self.ok else 1

    def failure_table(self) -> str:
        """Plain-text table of the failed tasks with their error line (``""`` if none)."""
        f = self.failed
        if f.empty:
            return ""
        rows = [("kommune", "name", "study", "status", "error")]
        for r in f.itertuples():
            err = first_line(r.error)
            if r.action == "ran" and r.executed:
                err += f"  [notebook: {r.executed}]"
            status = "not run" if r.action == "not_run" else str(r.status)
            rows.append((str(r.kommune), str(r.kommune_name), str(r.study), status, err))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  "
            + "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
            for row in rows
        ]
        return f"{len(f)} of {len(self.tasks)} task(s) failed:\n" + "\n".join(lines)


# ----------------------------------------------------------------------------------------
# the batch
# ----------------------------------------------------------------------------------------


class _Batch:
    """One batch run: everything :func:`run_batch` validated, and its bookkeeping."""

    def __init__(
        self,
        *,
        studies: list[Any],
        codes: list[int],
        params: dict[int, dict[str, Any]],
        param_errors: dict[int, str],
        nb_dir: Path,
        nb_hash: dict[str, str],
        data: Path,
        data_fp: str,
        params_dir: Path,
        out: Path,
        shared: Path,
        jobs: int,
        executor: str,
        scheduler: str | None,
        resume: bool,
        timeout: float | None,
        progress: bool,
        pdf: bool = False,
    ) -> None:
        self.pdf = pdf
        self.studies, self.codes = studies, codes
        self.params, self.param_errors = params, param_errors
        self.nb_dir, self.nb_hash = nb_dir, nb_hash
        self.data, self.data_fp, self.params_dir = data, data_fp, params_dir
        self.out, self.shared = out, shared
        self.jobs, self.executor, self.scheduler = jobs, executor, scheduler
        self.resume, self.timeout, self.progress = resume, timeout, progress
        self.rows: dict[str, dict[str, Any]] = {}
        self.to_run: list[dict[str, Any]] = []
        self.state: dict[str, Any] = {}
        self.stamp: dict[str, Any] = {}
        self.shared_info: dict[str, dict[str, Any]] = {}
        self.log: BatchLog | None = None
        self.code_fp = ""  # set by run(): the code fingerprint of the whole batch

    # -- stamp ------------------------------------------------------------------------
    def make_stamp(self) -> dict[str, Any]:
        from nsv_eval.params import params_hash
        from nsv_eval.report.render import git_commit

        manifest = json.loads((self.data / "manifest.json").read_text(encoding="utf-8"))
        return {
            "started": now(),
            "nsv_eval_version": __version__,
            "python": sys.version.split()[0],
            "git_commit": git_commit(),
            "data_dir": str(self.data),
            "data_fingerprint": self.data_fp,
            "code_fingerprint": self.code_fp,
            "data_period": manifest.get("period"),
            "params_dir": str(self.params_dir.resolve()),
            "studies": [s.name for s in self.studies],
            "notebooks": {
                s.name: {"file": str(self.nb_dir / s.notebook), "sha256": self.nb_hash[s.name]}
                for s in self.studies
            },
            "kommuner": self.codes,
            "executor": self.executor,
            "scheduler": self.scheduler,
            "jobs": self.jobs,
            "resume": self.resume,
            "pdf": self.pdf,
            "shared_dir": str(self.shared),
            "params": {
                str(c): {"hash": params_hash(p), "sources": p.get("sources", []), "values": p}
                for c, p in self.params.items()
            },
            "params_errors": {str(c): e for c, e in self.param_errors.items()},
        }

    def save(self) -> None:
        """Write the state (with a light stamp: the parameter values are in the stamp file)."""
        light = dict(self.stamp)
        light["params"] = {
            c: {k: v for k, v in p.items() if k != "values"}
            for c, p in self.stamp["params"].items()
        }
        save_state(self.out, self.state | {"stamp": light})

    def _rel(self, path: str | None) -> str | None:
        if not path:
            return None
        try:
            return str(Path(path).resolve().relative_to(self.out))
        except ValueError:
            return str(path)

    def record(self, key: str, study: Any, fingerprint: str | None, ph: str | None) -> None:
        row = self.rows[key]
        self.state["tasks"][key] = {
            "kommune": int(row["kommune"]),
            "study": study.name,
            "slug": study.slug,
            "title": study.title_da,
            "status": row["status"],
            "ran": row["action"] == "ran",
            "fingerprint": fingerprint,
            "params_hash": ph,
            "data_fingerprint": self.data_fp if fingerprint else None,
            "nsv_eval_version": __version__,
            "started": row["started"],
            "finished": row["finished"],
            "seconds": row["seconds"],
            "worker": row["worker"],
            "attempts": row["attempts"],
            "error": row["error"],
            "html": self._rel(row["html"]),
            "json": self._rel(row["json"]),
            "executed": self._rel(row["executed"]),
        }

    # -- plan -------------------------------------------------------------------------
    def plan(self) -> None:
        from nsv_eval.params import params_hash
        from nsv_eval.reference import kommune_name

        log = self.log
        assert log is not None
        for code in self.codes:
            for st in self.studies:
                key = task_key(code, st.name)
                row = dict.fromkeys(TASK_COLUMNS) | {
                    "kommune": code,
                    "kommune_name": kommune_name(code),
                    "study": st.name,
                    "slug": st.slug,
                }
                self.rows[key] = row
                if code in self.param_errors:
                    err = self.param_errors[code]
                    row |= {"status": STATUS_FAILED, "action": "not_run", "error": err}
                    row["finished"] = now()
                    self.record(key, st, None, None)
                    log.write("FAILED", f"{key}: not run: {first_line(err, 10_000)}")
                    continue
                ph = params_hash(self.params[code])
                fp = task_fingerprint(self.data_fp, ph, self.nb_hash[st.name])
                entry = self.state["tasks"].get(key)
                if (
                    self.resume
                    and is_up_to_date(entry, fp, self.out)
                    and (not self.pdf or (self.out / str(code) / f"{st.slug}.pdf").exists())
                ):
                    row |= {
                        "status": STATUS_OK,
                        "action": "skipped",
                        "seconds": entry.get("seconds"),
                        "started": entry.get("started"),
                        "finished": entry.get("finished"),
                        "worker": entry.get("worker"),
                    }
                    for k in ("html", "json", "executed"):
                        row[k] = str(self.out / entry[k]) if entry.get(k) else None
                    log.write("SKIP", f"{key}: up to date (fingerprint {fp[:12]})")
                    continue
                self.to_run.append(
                    {
                        "key": key,
                        "study": st.name,
                        "kommune": code,
                        "data_dir": str(self.data),
                        "out_dir": str(self.out),
                        "params": self.params[code],
                        "params_hash": ph,
                        "fingerprint": fp,
                        "shared_dir": str(self.shared),
                        "notebook_dir": str(self.nb_dir),
                        "timeout": self.timeout,
                        "pdf": self.pdf,
                        # the parent's memo key for every worker and kernel
                        "code_fingerprint": self.code_fp,
                        # workers (local or dask) only execute; the parent renders and
                        # publishes while the worker runs its next report (executors.py)
                        "publish_in_parent": True,
                    }
                )

    # -- execute ----------------------------------------------------------------------
    def execute(self) -> None:
        from tqdm.auto import tqdm

        log = self.log
        assert log is not None
        by_study = {s.name: s for s in self.studies}
        total = len(self.to_run)
        bar = tqdm(
            total=total,
            desc="batch",
            unit="task",
            disable=not self.progress or total == 0,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        n_ok = n_failed = 0

        def on_submit(t: dict[str, Any]) -> None:
            log.write("SUBMIT", f"{t['key']} (fingerprint {t['fingerprint'][:12]})")

        runner = (
            run_local(self.to_run, self.jobs, on_submit)
            if self.executor == "local"
            else run_dask(self.to_run, self.jobs, self.scheduler, on_submit)
        )
        try:
            for t, res in runner:
                key = t["key"]
                row = self.rows[key]
                row |= {k: res.get(k) for k in TASK_COLUMNS if k in res}
                row["action"] = "ran"
                self.record(key, by_study[t["study"]], t["fingerprint"], t["params_hash"])
                self.save()
                secs = f"{res['seconds']:.1f} s" if res.get("seconds") is not None else "? s"
                if res.get("publish_seconds") is not None:
                    secs += f" (of which {res['publish_seconds']:.1f} s published by the parent)"
                err = f": {first_line(row['error'], 10_000)}" if row["error"] else ""
                tries = res.get("attempts") or 1
                if tries > 1:
                    err = f" [{tries} attempts: the kernel failed]" + err
                log.write(
                    "END",
                    f"{key}: {row['status']}, {secs} (start {res.get('started')}, end "
                    f"{res.get('finished')}, {res.get('worker')}){err}",
                )
                if row["status"] == STATUS_OK:
                    n_ok += 1
                else:
                    n_failed += 1
                bar.set_postfix_str(
                    f"ok {n_ok}, failed {n_failed}, left {total - n_ok - n_failed}",
                    refresh=False,
                )
                bar.update(1)
        except BaseException as exc:
            log.write("ABORT", f"{type(exc).__name__}: {exc}".strip())
            raise
        finally:
            bar.close()
            self.stamp["finished"] = now()
            self.save()
            atomic_write_text(
                self.out / STAMP_FILE,
                json.dumps(jsonable(self.stamp), ensure_ascii=False, indent=1, sort_keys=True)
                + "\n",
            )

    # -- key results ------------------------------------------------------------------
    def key_results(self) -> tuple[Path | None, list[Any]]:
        """Write ``nøgletal.xlsx`` from every current report's JSON; scan it first.

        Returns the workbook (None if there is no report, or it failed the scan) and the
        disclosure findings.
        """
        from nsv_eval.report.disclosure import scan_xlsx
        from nsv_eval.report.workbook import KEY_RESULTS_FILE, write_key_results_xlsx

        final = self.out / KEY_RESULTS_FILE
        jsons = [
            self.out / t["json"]
            for _, t in sorted(self.state.get("tasks", {}).items())
            if t.get("status") == STATUS_OK and t.get("json") and (self.out / t["json"]).exists()
        ]
        if not jsons:
            final.unlink(missing_ok=True)
            return None, []
        staged = self.out / f".{KEY_RESULTS_FILE}.staged.xlsx"
        write_key_results_xlsx(jsons, staged)
        problems = scan_xlsx(staged)
        if problems:
            staged.unlink(missing_ok=True)
            final.unlink(missing_ok=True)  # an older workbook must not look current
            return None, problems
        os.replace(staged, final)
        return final, []

    # -- all --------------------------------------------------------------------------
    def run(self) -> BatchResult:
        from nsv_eval.analyses.data import pinned_code_fingerprint

        t0 = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        with BatchLock(self.out), pinned_code_fingerprint() as code_fp:
            self.state = load_state(self.out, strict=self.resume)
            self.log = log = BatchLog.new(self.out)
            # the code fingerprint (part of every Prepared.memo key) is computed once, here,
            # and pinned in the environment the workers and their kernels inherit (and sent
            # with every task, for dask workers started elsewhere): all reports of the batch
            # read the memo entries prepare_shared writes, even if a source file changes
            # while the batch runs
            self.code_fp = code_fp
            try:
                self.stamp = self.make_stamp()
                log.write(
                    "BATCH",
                    f"nsv-eval {__version__}: {len(self.codes)} kommune(r) x "
                    f"{len(self.studies)} stud(y/ies), executor {self.executor}"
                    + (f" ({self.scheduler})" if self.scheduler else "")
                    + f", jobs {self.jobs}, resume {self.resume}",
                )
                log.write("STAMP", json.dumps(jsonable(self.stamp), ensure_ascii=False))
                self.plan()
                self.save()
                if self.to_run:  # the national preparation, once, before any notebook
                    t1 = time.monotonic()
                    self.shared_info = prepare_shared(
                        self.data, self.shared, [s.name for s in self.studies], jobs=self.jobs
                    )
                    made = [n for n, i in self.shared_info.items() if i["computed"]]
                    reused = [n for n, i in self.shared_info.items() if not i["computed"]]
                    log.write(
                        "SHARED",
                        f"{self.shared} ({time.monotonic() - t1:.1f} s): computed "
                        f"{', '.join(made) or '-'}; reused {', '.join(reused) or '-'}",
                    )
                self.stamp["shared"] = self.shared_info
                n_skip = sum(r["action"] == "skipped" for r in self.rows.values())
                n_bad = sum(r["action"] == "not_run" for r in self.rows.values())
                if self.progress and n_skip:
                    print(f"nsv-eval batch: {n_skip} task(s) up to date, skipped", file=sys.stderr)
                if self.progress and n_bad:
                    print(
                        f"nsv-eval batch: {n_bad} task(s) not run: invalid parameters of "
                        f"{len(self.param_errors)} kommune(r) (listed at the end)",
                        file=sys.stderr,
                    )
                self.execute()
                findings = write_index(self.out, self.state, self.stamp)
                if findings:
                    log.write("INDEX", f"NOT published: {len(findings)} disclosure problem(s)")
                    for f in findings[:20]:
                        log.write("INDEX", str(f))
                else:
                    log.write("INDEX", str(self.out / INDEX_FILE))
                key_book, key_problems = self.key_results()
                if key_problems:
                    log.write("KEYS", f"NOT published: {len(key_problems)} disclosure problem(s)")
                    for f in key_problems[:20]:
                        log.write("KEYS", str(f))
                    findings = [*findings, *key_problems]
                elif key_book is not None:
                    log.write("KEYS", str(key_book))
                tasks = pd.DataFrame(list(self.rows.values()), columns=list(TASK_COLUMNS))
                res = BatchResult(
                    tasks=tasks,
                    out_dir=self.out,
                    log=log.path,
                    state=self.out / STATE_FILE,
                    stamp_file=self.out / STAMP_FILE,
                    index=None if findings else self.out / INDEX_FILE,
                    stamp=self.stamp,
                    shared=self.shared_info,
                    index_findings=findings,
                    seconds=time.monotonic() - t0,
                    key_results=key_book,
                )
                log.write(
                    "DONE",
                    f"{len(tasks)} task(s): {len(res.succeeded)} ok ({n_skip} skipped), "
                    f"{len(res.failed)} failed; {res.seconds:.1f} s",
                )
                return res
            finally:
                log.close()


def _load_all_params(codes: list[int], params_dir: Path) -> tuple[dict, dict]:
    """Parameters of every kommune; per-kommune problems separated from global ones.

    A problem in the kommune's own override file fails that kommune only; any other
    problem (defaults.yaml, a misnamed override file) concerns every kommune and is raised.
    """
    from nsv_eval.params import KOMMUNE_DIR, load_params

    params: dict[int, dict[str, Any]] = {}
    errors: dict[int, str] = {}
    for code in codes:
        own = params_dir / KOMMUNE_DIR / f"{code}.yaml"
        try:
            params[code] = load_params(code, params_dir)
        except InputError as exc:
            if not str(exc).startswith(f"{own}:"):
                raise
            errors[code] = f"parameters: {exc}"
    return params, errors


def run_batch(
    studies: str | Sequence[str] = "all",
    kommuner: str | int | Iterable[int | str] = "all",
    *,
    data_dir: str | Path = "data/prepared",
    out_dir: str | Path = "reports",
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    params_dir: str | Path | None = None,
    shared_dir: str | Path | None = None,
    notebook_dir: str | Path | None = None,
    timeout: float | None = None,
    progress: bool = True,
    pdf: bool = False,
    lang: str | None = None,
) -> BatchResult:
    """Run study notebooks for many kommuner in parallel (see :mod:`nsv_eval.batch`).

    Parameters
    ----------
    studies : str or sequence of str
        ``"all"`` (every study whose notebook exists), a name, comma-separated names or a
        list of names.
    kommuner : str, int or iterable
        Selection for :func:`~nsv_eval.batch.selection.parse_kommuner` (``"all"``,
        ``"region:1085"``, ``"326,580"``).
    data_dir : str or Path
        Prepared data (``nsv-eval prepare``).
    out_dir : str or Path
        Reports root: ``<out>/<kommune>/<NN_study>.html`` plus the batch files.
    jobs : int, optional
        Parallel workers (default: the number of cores).
    executor : {"local", "dask"}
        A local process pool, or a dask.distributed cluster.
    scheduler : str, optional
        Address of an existing dask scheduler (``tcp://host:8786``); without it
        ``executor="dask"`` starts a ``LocalCluster`` with ``jobs`` worker processes.
    resume : bool
        Skip tasks that finished ``ok`` with the same fingerprint (data, parameters,
        notebook, version) and whose report and JSON still exist.
    params_dir : str or Path, optional
        Directory with ``defaults.yaml`` and ``kommuner/`` (default:
        :func:`nsv_eval.params.default_params_dir`, i.e. ``./params`` if it exists).
    shared_dir : str or Path, optional
        Cache of the shared national preparation (default ``<out>/.shared``).
    notebook_dir : str or Path, optional
        Study notebooks (default ``notebooks/`` of the source tree).
    timeout : float, optional
        Per-cell time limit in seconds.
    progress : bool
        Show a progress bar on stderr.
    pdf : bool
        Also print every report to PDF (headless Chromium must be installed).
    lang : {"da", "en"}, optional
        Report language for every kommune (overrides the ``lang`` parameter). Every chosen
        study must be translated into it; otherwise nothing runs.

    Returns
    -------
    BatchResult
        Failing tasks do not raise: they are in :attr:`BatchResult.failed`.

    Raises
    ------
    nsv_eval.errors.NsvError
        Before anything runs, for a problem that concerns the whole batch: unknown kommune,
        region or study, a missing notebook, no prepared data, invalid ``defaults.yaml`` or
        a misnamed override file, another batch running on ``out_dir``, an unreadable state
        file with ``resume``.
    """
    from nsv_eval.params import default_params_dir
    from nsv_eval.report.render import check_prepared, data_fingerprint
    from nsv_eval.report.studies import default_notebook_dir, resolve_studies

    if executor not in ("local", "dask"):
        raise InputError(f"executor must be 'local' or 'dask', got {executor!r}")
    if scheduler and executor != "dask":
        raise InputError("a scheduler address needs executor='dask' (--executor dask)")
    n_jobs = int(jobs) if jobs is not None else (os.cpu_count() or 1)
    if n_jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")

    codes = parse_kommuner(kommuner)
    chosen = resolve_studies(studies if isinstance(studies, str) else list(studies), notebook_dir)
    nb_dir = Path(notebook_dir) if notebook_dir else default_notebook_dir()
    nb_hash: dict[str, str] = {}
    for st in chosen:
        nb = nb_dir / st.notebook
        if not nb.exists():
            raise NsvError(f"The notebook of study '{st.name}' ({nb}) does not exist yet.")
        nb_hash[st.name] = sha256_file(nb)
    data = check_prepared(data_dir).resolve()
    if lang is not None:
        from nsv_eval.report.studies import check_language

        if lang not in ("da", "en"):
            raise InputError(f"--lang must be 'da' or 'en', got {lang!r}")
        refused = []
        for st in chosen:
            try:
                check_language(st, lang)
            except NsvError as exc:
                refused.append(str(exc))
        if refused:
            raise NsvError("\n".join(refused))
    if pdf:
        from nsv_eval.report.pdf import require_chromium

        require_chromium()
    pdir = Path(params_dir) if params_dir is not None else default_params_dir()
    params, param_errors = _load_all_params(codes, pdir)
    if lang is not None:  # part of the parameters, so of the parameter hash and --resume
        params = {c: {**p, "lang": lang} for c, p in params.items()}
    out = Path(out_dir).resolve()
    batch = _Batch(
        studies=chosen,
        codes=codes,
        params=params,
        param_errors=param_errors,
        nb_dir=nb_dir.resolve(),
        nb_hash=nb_hash,
        data=data,
        data_fp=data_fingerprint(data),
        params_dir=pdir,
        out=out,
        shared=Path(shared_dir).resolve() if shared_dir else out / SHARED_SUBDIR,
        jobs=n_jobs,
        executor=executor,
        scheduler=scheduler,
        resume=resume,
        timeout=timeout,
        progress=progress,
        pdf=pdf,
    )
    return batch.run()
