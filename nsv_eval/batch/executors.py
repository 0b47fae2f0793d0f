"""Where a batch's tasks run: a local process pool or a dask.distributed cluster.

A *task* is a plain, picklable dict (study, kommune, data/out/shared directories, the
already validated parameters, ...). :func:`execute_task` runs it in a worker with
:func:`nsv_eval.report.render.run_study` and returns a plain dict. Both executors are
generators yielding ``(task, result)`` as tasks complete, so the main process records each
outcome at once; a worker that dies fails only its own task.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection as mp_connection
import os
import queue
import re
import socket
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
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


STATUS_EXECUTED = "executed"
"""A worker's outcome when the task asked to be published by the parent
(``task["publish_in_parent"]``): the notebook ran and its key results are there; the
result carries the pending report (:func:`nsv_eval.report.render.execute_study`)."""


_PINNED: list[str | None] = [None]
"""The code fingerprint this worker process last pinned (see :func:`pin_code_fingerprint`)."""


def pin_code_fingerprint(task: Mapping[str, Any]) -> None:
    """Make the batch parent's code fingerprint (``task["code_fingerprint"]``) this worker's.

    Sets ``NSV_CODE_FINGERPRINT`` (:data:`nsv_eval.analyses.data.CODE_FINGERPRINT_ENV`) in
    the worker's environment, which the kernels it starts inherit. A warm kernel keeps the
    environment it started with (it is reset to it between reports), so when a worker that
    outlives one batch (a dask worker of a long-running cluster) gets a task of a batch with
    another fingerprint, its warm kernel is shut down and the next report starts a fresh one.
    A task without the field (an older parent) changes nothing.
    """
    from nsv_eval.analyses.data import CODE_FINGERPRINT_ENV
    from nsv_eval.report.warm import process_kernel, warm_disabled

    fp = task.get("code_fingerprint")
    if not fp or (_PINNED[0] == fp and os.environ.get(CODE_FINGERPRINT_ENV) == fp):
        return
    os.environ[CODE_FINGERPRINT_ENV] = str(fp)
    if not warm_disabled() and process_kernel().alive:
        process_kernel().shutdown()  # started under another (or no) pinned fingerprint
    _PINNED[0] = str(fp)


def _run_once(task: Mapping[str, Any]) -> dict[str, Any]:
    try:
        from nsv_eval.report.render import execute_study, run_study
        from nsv_eval.report.warm import process_kernel, warm_disabled

        pin_code_fingerprint(task)  # before the worker's kernel starts
        # every task of this worker process runs in the worker's one warm kernel
        kernel = None if warm_disabled() else process_kernel()
        if task.get("publish_in_parent"):
            run, pending = execute_study(
                task["study"],
                int(task["kommune"]),
                data_dir=task["data_dir"],
                out_dir=task["out_dir"],
                params=task["params"],
                shared_dir=task["shared_dir"],
                notebook_dir=task.get("notebook_dir"),
                timeout=task.get("timeout"),
                kernel=kernel,
                pdf=bool(task.get("pdf", False)),
            )
            return {
                "status": STATUS_EXECUTED if pending is not None else run.status,
                "error": run.error,
                "html": None,
                "json": None,
                "executed": str(run.executed) if run.executed else None,
                "pending": pending,
            }
        run = run_study(
            task["study"],
            int(task["kommune"]),
            data_dir=task["data_dir"],
            out_dir=task["out_dir"],
            params=task["params"],
            shared_dir=task["shared_dir"],
            notebook_dir=task.get("notebook_dir"),
            timeout=task.get("timeout"),
            kernel=kernel,
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


def publish_result(res: Mapping[str, Any]) -> dict[str, Any]:
    """Publish a task the worker only executed (status :data:`STATUS_EXECUTED`).

    Runs :func:`nsv_eval.report.render.publish_study` (HTML, disclosure checks, workbook,
    PDF, atomic writes) on the pending report and returns the task's final outcome (the
    worker's fields with ``status``, ``error``, ``html``, ``json`` replaced, ``seconds``
    = execution + publishing, ``publish_seconds``). Never raises.
    """
    t0 = time.monotonic()
    base = {k: v for k, v in res.items() if k != "pending"}
    try:
        from nsv_eval.report.render import publish_study

        run = publish_study(res["pending"])
        out = {
            "status": run.status,
            "error": run.error,
            "html": str(run.html) if run.html else None,
            "json": str(run.json) if run.json else None,
        }
    except Exception as exc:  # noqa: BLE001 - one task's failure must stay its own
        out = {
            "status": STATUS_FAILED,
            "error": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
            "html": None,
            "json": None,
        }
    secs = time.monotonic() - t0
    total = round((base.get("seconds") or 0.0) + secs, 3)
    return base | out | {"finished": now(), "seconds": total, "publish_seconds": round(secs, 3)}


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


WORKER_DEATH_RETRIES = 1
"""How often a task is run again after the worker process running it died (SIGKILL, out
of memory): once, in a fresh worker; a task that kills its worker twice fails alone."""


def _worker_main(conn: Any) -> None:
    """A local batch worker: runs the tasks the parent sends, one at a time, until told to stop.

    Every task of the worker shares the worker's warm kernel (see
    :func:`nsv_eval.report.warm.process_kernel`), shut down when the worker exits.
    """
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if msg is None:
            return
        index, task = msg
        conn.send((index, execute_task(task)))


@dataclass
class _Worker:
    process: Any
    conn: Any
    index: int | None = None  # the task it runs now


def run_local(tasks: list[dict[str, Any]], jobs: int, on_submit: OnSubmit) -> Completed:
    """Run ``tasks`` on ``jobs`` local worker processes.

    Workers are started with ``spawn`` (a clean interpreter, no threads or event loops
    inherited from the parent; the same on Linux, macOS and Windows). The parent hands each
    worker one task at a time over its own pipe, so it always knows which task a worker
    runs: a worker that dies (killed, out of memory) fails — or, the first time, re-runs in
    a fresh worker — only its own task (:data:`WORKER_DEATH_RETRIES`), and is replaced. A
    ``concurrent.futures`` process pool cannot do this: one dead worker breaks the pool and
    fails every pending task, which is why the pool is written here.

    A task with ``publish_in_parent`` is only executed by its worker; the parent publishes
    it (:func:`publish_result`: HTML, checks, workbook, PDF) on a thread of its own while
    the worker already executes its next task. A task is yielded — and so recorded as
    done — only after it is published; a batch killed in between redoes it on
    ``--resume`` (every file is written atomically).
    """
    ctx = multiprocessing.get_context("spawn")
    pending: deque[int] = deque(range(len(tasks)))
    deaths: Counter[int] = Counter()
    submitted: set[int] = set()
    workers: list[_Worker] = []
    publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nsv-publish")
    publishing: dict[Future, int] = {}
    wake_r, wake_w = socket.socketpair()  # a finished publish wakes the wait below
    wake_r.setblocking(False)

    def publish(index: int, res: dict[str, Any]) -> None:
        fut = publisher.submit(publish_result, res)
        publishing[fut] = index
        fut.add_done_callback(lambda _f: wake_w.send(b"."))

    def start_worker() -> _Worker:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child,), name="nsv-batch-worker")
        proc.start()
        child.close()
        return _Worker(proc, parent)

    remaining = len(tasks)
    try:
        workers.extend(start_worker() for _ in range(max(1, min(jobs, len(tasks)))))
        while remaining:
            for w in workers:
                if w.index is None and pending:
                    w.index = pending.popleft()
                    w.conn.send((w.index, tasks[w.index]))
                    if w.index not in submitted:
                        submitted.add(w.index)
                        on_submit(tasks[w.index])
            busy = [w for w in workers if w.index is not None]
            ready = mp_connection.wait(
                [w.conn for w in busy]
                + [w.process.sentinel for w in busy]
                + ([wake_r] if publishing else [])
            )
            if wake_r in ready:
                try:
                    while wake_r.recv(4096):
                        pass
                except BlockingIOError:
                    pass
            for fut in [f for f in publishing if f.done()]:
                index = publishing.pop(fut)
                remaining -= 1
                yield tasks[index], fut.result()
            for w in busy:
                if w.conn in ready or w.process.sentinel in ready:
                    got = None
                    try:
                        if w.conn.poll():
                            got = w.conn.recv()
                    except (EOFError, OSError):
                        got = None
                    if got is not None:
                        index, res = got
                        w.index = None
                        if res.get("status") == STATUS_EXECUTED:
                            publish(index, res)  # the worker gets its next task meanwhile
                            continue
                        remaining -= 1
                        yield tasks[index], res
                        continue
                    if w.process.is_alive():
                        continue  # woken by the other worker; nothing from this one
                    # the worker died while running its task
                    assert w.index is not None
                    index = w.index
                    w.process.join()
                    code = w.process.exitcode
                    workers.remove(w)
                    w.conn.close()
                    workers.append(start_worker())
                    deaths[index] += 1
                    if deaths[index] <= WORKER_DEATH_RETRIES:
                        pending.appendleft(index)
                    else:
                        remaining -= 1
                        yield (
                            tasks[index],
                            crash_result(RuntimeError(f"worker process exited with code {code}")),
                        )
    finally:
        # a publish under way finishes (its files are written atomically either way)
        publisher.shutdown(wait=True, cancel_futures=True)
        wake_r.close()
        wake_w.close()
        for w in workers:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        for w in workers:
            w.process.join(timeout=20 if w.index is None else 0.1)
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
            w.conn.close()


def _put_published(done: queue.SimpleQueue, task: dict[str, Any], fut: Future) -> None:
    done.put(("published", fut, task))


def run_dask(
    tasks: list[dict[str, Any]], jobs: int, scheduler: str | None, on_submit: OnSubmit
) -> Completed:
    """Run ``tasks`` on a dask.distributed cluster.

    With ``scheduler`` (``tcp://host:8786``) the existing cluster is used — its workers
    must have nsv-eval installed and see the data, output and notebook directories at the
    same paths. Without it a ``LocalCluster(n_workers=jobs, threads_per_worker=1,
    processes=True)`` is started for the batch and closed afterwards.

    As with :func:`run_local`, a task with ``publish_in_parent`` is only executed by its
    dask worker; its result carries the pending report back and the parent publishes it
    (:func:`publish_result`) on a thread of its own while the workers execute the next
    tasks. A task is yielded — and so recorded as done — only after it is published. A
    worker that dies is replaced by its nanny and the scheduler reruns its task (up to
    dask's ``distributed.scheduler.allowed-failures``; then the task fails alone with
    ``KilledWorker``); every file is written atomically, so a batch killed while the parent
    publishes leaves no half-written report and redoes the task on ``--resume``.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a declared dependency
        raise NsvError("--executor dask needs the 'distributed' package") from exc

    cluster = None
    publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nsv-publish")
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
            # every finished dask future and every finished publication lands in one queue
            # (callbacks run on other threads), so the loop below sleeps until either
            done: queue.SimpleQueue[tuple[str, Any, Any]] = queue.SimpleQueue()
            futures: dict[Any, dict[str, Any]] = {}
            for t in tasks:
                key = f"nsv-{t['kommune']}-{t['study']}-{os.urandom(4).hex()}"
                fut = client.submit(execute_task, t, key=key, pure=False)
                futures[fut] = t
                on_submit(t)
            for fut in futures:
                fut.add_done_callback(lambda f: done.put(("executed", f, None)))
            try:
                remaining = len(futures)
                while remaining:
                    what, fut, task = done.get()
                    if what == "published":
                        remaining -= 1
                        yield task, fut.result()
                        continue
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
                        res = crash_result(exc)
                    t = futures[fut]
                    if res.get("status") == STATUS_EXECUTED:
                        pub = publisher.submit(publish_result, res)
                        pub.add_done_callback(partial(_put_published, done, t))
                        continue
                    remaining -= 1
                    yield t, res
            except BaseException:
                client.cancel(list(futures))
                raise
    finally:
        # a publish under way finishes (its files are written atomically either way)
        publisher.shutdown(wait=True, cancel_futures=True)
        if cluster is not None:
            cluster.close()
