"""Batch runs: many kommuner × studies in parallel, resumable, with an overview page.

``nsv-eval batch --study all --kommuner region:1085 --jobs 4`` (or :func:`run_batch`) does:

1. **Selection.** ``--kommuner`` is ``all``, ``region:CODE`` (or ``region:NAME``) and/or
   kommune codes, comma-separated (:func:`parse_kommuner`); ``--study`` is ``all`` or study
   names (:func:`nsv_eval.report.studies.resolve_studies`). Unknown codes, regions or
   studies stop the batch before anything runs.
2. **Parameters first.** The parameters of every selected kommune are loaded and validated
   (:func:`nsv_eval.params.load_params`) before any notebook starts. A problem in a
   kommune's *own* override file (``params/kommuner/<code>.yaml``: unknown key, bad value)
   fails that kommune's tasks only — they are reported with the file and key and never
   started; the other kommuner run. A problem that concerns every kommune (``defaults.yaml``
   missing or invalid, an override file named after no kommune) aborts the batch.
3. **Shared preparation, once.** The national summaries
   (:data:`nsv_eval.analyses.data.SUMMARIES`) are computed once into the batch's shared
   directory (default ``<out>/.shared``; cached by data fingerprint, so a resumed batch
   reuses them) and ``shared_dir`` is passed to every notebook.
4. **Parallel execution.** Each task (one study for one kommune) is
   :func:`nsv_eval.report.render.run_study` in a worker: a local process pool
   (``concurrent.futures.ProcessPoolExecutor``, ``--jobs`` workers, default the number of
   cores) or a ``dask.distributed`` cluster (``--executor dask``; ``--scheduler ADDRESS``
   for an existing cluster — its workers must see the same file system paths — otherwise a
   ``LocalCluster`` with ``--jobs`` single-threaded worker processes). A failing notebook
   never stops the others; its executed notebook, with the failing cell, stays in
   ``<out>/<kommune>/.work/``.
5. **Bookkeeping.** A tqdm progress bar (done / failed / remaining, ETA); a log
   ``<out>/batch-<timestamp>.log`` with the reproducibility stamp and each task's start,
   end, duration and status; the state file ``<out>/batch-state.json`` (rewritten
   atomically after every task) with each task's status and *fingerprint* — data
   fingerprint, parameter hash, notebook hash and package version — so ``--resume`` re-runs
   only what is missing, failed or out of date; ``<out>/batch-stamp.json`` (parameters,
   data fingerprint, package version, git commit).
6. **Overview.** ``<out>/index.html``: a self-contained, sortable Danish overview of every
   kommune and study in the state file (status, link to each report, the key figures of
   each report's ``<study>.json``). It is scanned with the disclosure checker before it is
   published.

At the end a table of failures (with the error line) is printed; the exit code is 1 if any
task failed, else 0. Only the main process writes the state, log, stamp and index; the
reports themselves are written atomically by ``run_study``.

Modules: :mod:`~nsv_eval.batch.selection` (``--kommuner``), :mod:`~nsv_eval.batch.state`
(state file, fingerprints, log, lock), :mod:`~nsv_eval.batch.executors` (process pool,
dask), :mod:`~nsv_eval.batch.runner` (:func:`run_batch`), :mod:`~nsv_eval.batch.index`
(``index.html``), :mod:`~nsv_eval.batch.cli` (the ``batch`` subcommand).
"""

from __future__ import annotations

from nsv_eval.batch.cli import register
from nsv_eval.batch.executors import execute_task
from nsv_eval.batch.index import render_index, write_index
from nsv_eval.batch.runner import TASK_COLUMNS, BatchResult, prepare_shared, run_batch
from nsv_eval.batch.selection import parse_kommuner
from nsv_eval.batch.state import (
    is_up_to_date,
    load_state,
    save_state,
    task_fingerprint,
    task_key,
)

__all__ = [
    "TASK_COLUMNS",
    "BatchResult",
    "execute_task",
    "is_up_to_date",
    "load_state",
    "parse_kommuner",
    "prepare_shared",
    "register",
    "render_index",
    "run_batch",
    "save_state",
    "task_fingerprint",
    "task_key",
    "write_index",
]
