"""Where a batch's tasks run: a local process pool or a dask.distributed cluster.

A *task* is a plain, picklable dict (study, kommune, data/out/shared directories, the
already validated parameters, ...). :func:`execute_task` runs it in a worker with
:func:`nsv_eval.report.render.run_study` and returns a plain dict. Both executors are
generators yielding ``(task, result)`` as tasks complete, so the main process records each
outcome at once; a worker that dies fails only its own task.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import re
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from nsv_eval.batch.state import STATUS_FAILED, now
from nsv_eval.errors import NsvError

Completed = Iterator[tuple[dict[str, Any], dict[str, Any]]]
OnSubmit = Callable[[dict[str, Any]], None]


def _worker_name() -> str:
    try:  # on a dask worker, name it: the log then shows where each task ran
        from distributed import get_worker

        return f"dask {get_worker().address} pid {os.getpid()}"
    except (ImportError, ValueError):
        return f"{socket.gethostname()} pid {os.getpid()}"


KERNEL_RETRIES = 1
"""How often a task is re-tried when its *kernel* failed (did not start, did not answer,
died) rather than a cell: under heavy load a kernel start can time out or lose a port
race with a sibling process; that says nothing about the notebook."""

_KERNEL_FAILURE = re.compile(
    r"^(DeadKernelError|RuntimeError|TimeoutError)\b.*\bkernel\b", re.IGNORECASE
)


def is_kernel_failure(error: str | None) -> bool:
    """Whether a ``run_study`` error is the kernel's (start/answer/death), not a cell's."""
    return bool(error) and bool(_KERNEL_FAILURE.match(str(error).strip()))


def _run_once(task: Mapping[str, Any]) -> dict[str, Any]:
    try:
        from nsv_eval.report.render import run_study

        run = run_study(
            task["study"],
            int(task["kommune"]),
            data_dir=task["data_dir"],
            out_dir=task["out_dir"],
            params=task["params"],
            shared_dir=task["shared_dir"],
            notebook_dir=task.get("notebook_dir"),
            timeout=task.get("timeout"),
            pdf=bool(task.get("pdf", False)),
        )
        return {
            "status": run.status,
            "error": run.error,
            "html": str(run.html) if run.html else None,
            "json": str(run.json) if run.json else None,
            "executed": str(run.executed) if run.executed else None,
        }
    except Exception as exc:  # noqa: BLE001 - one task's failure must stay its own
        return {
            "status": STATUS_FAILED,
            "error": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
            "html": None,
            "json": None,
            "executed": None,
        }


def execute_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one task in a worker process and return its outcome as a plain dict.

    Parameters
    ----------
    task : mapping
        ``study``, ``kommune``, ``data_dir``, ``out_dir``, ``params`` (validated, from
        :func:`nsv_eval.params.load_params`), ``shared_dir``, ``notebook_dir``, ``timeout``.

    Returns
    -------
    dict
        ``status`` (``ok``/``failed``/``disclosure``), ``error``, ``html``, ``json``,
        ``executed`` (paths as str or None), ``started``, ``finished``, ``seconds``,
        ``worker`` and ``attempts`` (> 1 when a kernel failure was retried, see
        :data:`KERNEL_RETRIES`). Never raises: an unexpected error becomes
        ``status="failed"``.
    """
    started = now()
    t0 = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        res = _run_once(task)
        if not (res["status"] == STATUS_FAILED and is_kernel_failure(res["error"])):
            break
        if attempts > KERNEL_RETRIES:
            break
    return res | {
        "started": started,
        "finished": now(),
        "seconds": round(time.monotonic() - t0, 3),
        "worker": _worker_name(),
        "attempts": attempts,
    }


def crash_result(exc: BaseException) -> dict[str, Any]:
    """The outcome recorded for a task whose worker died (or could not return a result)."""
    return {
        "status": STATUS_FAILED,
        "error": f"the worker running this task died: {type(exc).__name__}: {exc}",
        "html": None,
        "json": None,
        "executed": None,
        "started": None,
        "finished": now(),
        "seconds": None,
        "worker": None,
    }


def run_local(tasks: list[dict[str, Any]], jobs: int, on_submit: OnSubmit) -> Completed:
    """Run ``tasks`` on a local ``ProcessPoolExecutor`` with ``jobs`` workers.

    Workers are started with ``spawn`` (a clean interpreter, no threads or event loops
    inherited from the parent; the same on Linux, macOS and Windows).
    """
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures: dict[cf.Future, dict[str, Any]] = {}
        for t in tasks:
            futures[pool.submit(execute_task, t)] = t
            on_submit(t)
        try:
            for fut in cf.as_completed(futures):
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. BrokenProcessPool
                    res = crash_result(exc)
                yield futures[fut], res
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def run_dask(
    tasks: list[dict[str, Any]], jobs: int, scheduler: str | None, on_submit: OnSubmit
) -> Completed:
    """Run ``tasks`` on a dask.distributed cluster.

    With ``scheduler`` (``tcp://host:8786``) the existing cluster is used — its workers
    must have nsv-eval installed and see the data, output and notebook directories at the
    same paths. Without it a ``LocalCluster(n_workers=jobs, threads_per_worker=1,
    processes=True)`` is started for the batch and closed afterwards.
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - distributed is a declared dependency
        raise NsvError("--executor dask needs the 'distributed' package") from exc

    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise NsvError(f"Cannot reach the dask scheduler at {scheduler!r}: {exc}") from None
        else:
            cluster = LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,  # task failures are reported per task
            )
            client = Client(cluster)
        with client:
            futures: dict[Any, dict[str, Any]] = {}
            for t in tasks:
                key = f"nsv-{t['kommune']}-{t['study']}-{os.urandom(4).hex()}"
                futures[client.submit(execute_task, t, key=key, pure=False)] = t
                on_submit(t)
            try:
                for fut in as_completed(list(futures)):
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
                        res = crash_result(exc)
                    yield futures[fut], res
            except BaseException:
                client.cancel(list(futures))
                raise
    finally:
        if cluster is not None:
            cluster.close()
