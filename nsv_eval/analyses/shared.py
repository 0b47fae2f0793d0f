"""The studies' national work as independent pieces, computed in parallel worker processes.

What every report of a study needs but no kommune owns — the national cube summaries
(:meth:`Prepared.summary`), study 3's national DiD fits (:func:`falls.shared_work`) and
study 8's national panel, RD fits, placebo ages, density test, uptake and IPTW
(:mod:`~nsv_eval.analyses.preventive`) — is cut into *pieces* that depend on nothing but the
data: each fills its own entries of the shared directory (``Prepared.summary`` files and
``Prepared.memo`` entries under the keys the reports use). A batch computes them before its
reports (``nsv_eval.batch.prepare_shared``); ``nsv-eval run`` computes them while its
kernel executes the reports that do not need them, and waits for a study's pieces only
before that study's notebook (:func:`start`, :meth:`SharedWork.wait`). Both go through
:func:`pieces` and :class:`SharedWork`, so they share one code path and one set of keys.

The workers are fresh interpreters (``spawn``) with one BLAS thread each
(:data:`BLAS_ENV`): a process pool already uses the cores, and a multi-threaded OpenBLAS
whose threads compete with another process for 2 cores spins instead of computing (the
accepted-vs-declined IPTW of study 8 at scale 1.0: 3 s with one thread, 21–90 s with two
beside a second busy process). Kernels get the same setting
(:func:`nsv_eval.report.render.current_python_kernel_spec`), so a number does not depend
on which process computed it or on the machine's core count.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nsv_eval.analyses.data import SUMMARIES, Prepared, pinned_code_fingerprint

BLAS_ENV: dict[str, str] = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Thread counts of the BLAS libraries for worker processes and kernels (a value the user
set in the environment is kept)."""


def blas_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of :data:`BLAS_ENV` that ``environ`` (default ``os.environ``) lacks."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in BLAS_ENV.items() if k not in env}


@contextmanager
def _environ(extra: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``extra`` while a child process is started (it inherits it)."""
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class Piece:
    """One independent piece of shared work.

    ``study`` is the study whose reports read it (``""`` for the cube summaries, which
    many studies read), ``name`` says what it computes, ``kwargs`` its parameters.
    """

    study: str
    name: str
    kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """``study/name`` (``summary/<name>`` for a cube summary)."""
        return f"{self.study or 'summary'}/{self.name}"


BESIDE_KERNEL = ("forebyggende",)
"""Studies whose pieces ``nsv-eval run`` computes in worker processes beside its kernel:
study 8's national work takes tens of seconds at scale 1.0 and its report comes last. The
rest (cube summaries ~1 s each, study 3's national DiD fits ~2 s) the notebooks compute
themselves when they need them, early in the report order, as before."""

HEAVY = frozenset({("forebyggende", "offer_age"), ("forebyggende", "placebo_ages")})
"""Pieces that hold a national person x month panel (2.5–3 GB each at scale 1.0): never two
panels at once (a lock shared by the workers, held while the panel is in memory), so the
workers and a kernel beside them stay within a few GB together; the other pieces, and the
offer-age piece's IPTW on its small offer cohort, run beside them."""

MEMO_PREFIX = {"fald": "falls_", "forebyggende": "preventive_"}
"""The ``Prepared.memo`` names of each study's shared entries start with this."""


def pieces(studies: Sequence[str], params: Mapping[str, Any] | None = None) -> list[Piece]:
    """The shared work of ``studies``, in the order the workers take them (the largest
    first, the second panel piece last: it waits for the first, see :data:`HEAVY`).

    Parameters
    ----------
    studies : sequence of str
        Study names; only ``fald`` and ``forebyggende`` have national work besides the cube
        summaries (computed for every selection).
    params : mapping, optional
        One kommune's parameters (:func:`nsv_eval.params.load_params`): study 8's ``scope``
        and ``conf`` (and its kommune, for a ``kommune`` or ``region`` scope) are taken from
        them, so the pieces compute exactly what that kommune's report reads. Without:
        the defaults a batch uses (``scope: land``, ``conf: 0.95``).
    """
    out: list[Piece] = []
    if "forebyggende" in studies:
        scope: list[int] | None = None
        conf = 0.95
        if params is not None:
            from nsv_eval.analyses.preventive import scope_codes

            own = (params.get("studies") or {}).get("forebyggende") or {}
            scope = scope_codes(str(own.get("scope", "land")), int(params["kommune"]))
            conf = float(params.get("conf", conf))
        kw = (("scope", tuple(scope) if scope is not None else None), ("conf", conf))
        out += [
            Piece("forebyggende", "offer_age", kw),
            Piece("forebyggende", "density", kw[:1]),
        ]
    if "fald" in studies:
        out.append(Piece("fald", "national_did"))
    out += [Piece("", name) for name in SUMMARIES]
    if "forebyggende" in studies:
        # last: it waits for offer_age (both HEAVY); the light pieces go to the other
        # worker meanwhile
        out.append(Piece("forebyggende", "placebo_ages", kw))
    return out


def compute(prep: Prepared, piece: Piece, heavy: AbstractContextManager | None = None) -> None:
    """Compute one piece into ``prep``'s shared directory (a no-op when it is there).

    ``heavy`` (a lock shared by the workers) is held while a piece of :data:`HEAVY` has a
    national panel in memory.
    """
    lock = heavy if heavy is not None else nullcontext()
    kw = dict(piece.kwargs)
    if piece.study == "":
        prep.summary(piece.name)
    elif piece.study == "fald" and piece.name == "national_did":
        from nsv_eval.analyses import falls

        falls.shared_work(prep)
    elif piece.study == "forebyggende":
        from nsv_eval.analyses import preventive as pv

        scope = list(kw["scope"]) if kw.get("scope") is not None else None
        if piece.name == "offer_age":
            pv.offer_age_work(prep, scope, conf=kw["conf"], panel_lock=lock)
        elif piece.name == "placebo_ages":
            with lock:
                pv.placebos_for_scope(prep, scope, conf=kw["conf"])
        elif piece.name == "density":
            pv.density_for_scope(prep, scope)
        else:
            raise ValueError(f"unknown piece {piece.label}")
    else:
        raise ValueError(f"unknown piece {piece.label}")


def _worker(data_dir: str, shared_dir: str | None, todo: Any, done: Any, heavy: Any) -> None:
    """A worker process: computes pieces from ``todo`` until it gets None (a piece of
    :data:`HEAVY` while holding the lock ``heavy``)."""
    prep = Prepared(data_dir, shared_dir)
    while True:
        item = todo.get()
        if item is None:
            return
        i, piece = item
        t0 = time.monotonic()
        try:
            compute(prep, piece, heavy)
            done.put((i, time.monotonic() - t0, None))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            done.put((i, time.monotonic() - t0, text))


@dataclass
class SharedWork:
    """Pieces being computed by worker processes (see :func:`start`).

    Attributes
    ----------
    pieces : list of Piece
    seconds : dict
        Wall time of each finished piece (by label), in the worker.
    errors : dict
        The traceback of each piece that failed (by label).
    """

    pieces: list[Piece]
    procs: list[Any] = field(default_factory=list)
    todo: Any = None
    done: Any = None
    heavy: Any = None
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    _finished: set[int] = field(default_factory=set)

    def _collect(self, block: bool) -> bool:
        """Take one finished piece's report; False when none came (or none can come)."""
        import queue

        while True:
            try:
                i, secs, err = self.done.get(timeout=0.2 if block else 0)
            except queue.Empty:
                if not block:
                    return False
                if not any(p.is_alive() for p in self.procs):
                    # every worker is gone: what did not report will never come
                    try:
                        i, secs, err = self.done.get(timeout=1)
                    except queue.Empty:
                        for j, pc in enumerate(self.pieces):
                            if j not in self._finished:
                                self._finished.add(j)
                                self.errors[pc.label] = "the worker process died"
                        return False
                else:
                    continue
            label = self.pieces[i].label
            self._finished.add(i)
            self.seconds[label] = round(secs, 3)
            if err:
                self.errors[label] = err
            return True

    def wait(self, study: str | None = None) -> None:
        """Block until the pieces of ``study`` (default: all) are finished or failed."""
        want = {i for i, p in enumerate(self.pieces) if study is None or p.study == study}
        while not want <= self._finished:
            if not self._collect(block=True) and not want - self._finished:
                break

    def close(self) -> None:
        """Wait for every piece, then stop the workers."""
        try:
            self.wait()
        finally:
            for p in self.procs:
                p.join(timeout=10)
                if p.is_alive():
                    p.kill()
                    p.join()

    def __enter__(self) -> SharedWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start(
    data_dir: str | Path,
    shared_dir: str | Path | None,
    todo: Sequence[Piece],
    jobs: int = 2,
) -> SharedWork:
    """Start ``jobs`` worker processes computing ``todo`` (in that order) and return at once.

    The workers inherit the pinned code fingerprint (so their memo keys are the parent's:
    :func:`nsv_eval.analyses.data.pinned_code_fingerprint`) and :data:`BLAS_ENV`.
    Use :meth:`SharedWork.wait` before reading a study's results and :meth:`SharedWork.close`
    at the end.
    """
    work = SharedWork(list(todo))
    if not work.pieces:
        return work
    ctx = multiprocessing.get_context("spawn")
    work.todo, work.done = ctx.Queue(), ctx.Queue()
    # kept on ``work``: a lock (a named semaphore) collected here would vanish before the
    # workers have unpickled it
    work.heavy = heavy = ctx.Lock()
    for i, p in enumerate(work.pieces):
        work.todo.put((i, p))
    n = max(1, min(int(jobs), len(work.pieces)))
    for _ in range(n):
        work.todo.put(None)
    shared = str(shared_dir) if shared_dir is not None else None
    with pinned_code_fingerprint(), _environ(blas_env()):
        for _ in range(n):
            proc = ctx.Process(
                target=_worker,
                args=(str(data_dir), shared, work.todo, work.done, heavy),
                daemon=True,
            )
            proc.start()
            work.procs.append(proc)
    return work


def compute_all(
    data_dir: str | Path, shared_dir: str | Path | None, todo: Sequence[Piece], jobs: int = 2
) -> SharedWork:
    """:func:`start` and wait for every piece (the workers are stopped on return)."""
    work = start(data_dir, shared_dir, todo, jobs)
    work.close()
    return work
