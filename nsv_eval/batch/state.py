"""Batch bookkeeping: the state file (for ``--resume``), task fingerprints, the log, the lock.

The state file ``<out>/batch-state.json`` maps ``"<kommune>/<study>"`` to the task's last
outcome: status, fingerprint, times, error, and the report files relative to ``<out>``. It
accumulates over batches into the same output directory (a batch for one region, then for
another) and is rewritten atomically after every finished task, so an interrupted batch
loses nothing that was done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nsv_eval import __version__
from nsv_eval.errors import NsvError
from nsv_eval.report.findings import atomic_write_text

STATE_FILE = "batch-state.json"
LOCK_FILE = ".batch.lock"
STATE_SCHEMA = 1

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_DISCLOSURE = "disclosure"


def now() -> str:
    """Local time with offset, to the second (ISO 8601)."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def jsonable(v: Any) -> Any:
    """``v`` with dates as ISO strings and paths as strings (recursively)."""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    return v


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def task_key(kommune: int, study: str) -> str:
    """Key of a task in the state file: ``"<kommune>/<study>"``."""
    return f"{int(kommune)}/{study}"


def task_fingerprint(
    data_fingerprint: str, params_hash: str, notebook_sha256: str, version: str = __version__
) -> str:
    """Fingerprint of one task's inputs; a change in any of them makes a done task stale.

    SHA-256 over the data fingerprint (the inputs listed in ``manifest.json``), the
    parameter hash (:func:`nsv_eval.params.params_hash` of the merged parameters), the
    SHA-256 of the notebook file and the nsv-eval version.
    """
    blob = json.dumps(
        {
            "data": data_fingerprint,
            "params": params_hash,
            "notebook": notebook_sha256,
            "version": version,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_state(out_dir: str | Path, *, strict: bool = False) -> dict[str, Any]:
    """Read ``<out>/batch-state.json`` (an empty state if there is none).

    Parameters
    ----------
    out_dir : str or Path
        The batch's output directory.
    strict : bool
        If True an unreadable file raises :class:`~nsv_eval.errors.NsvError` (``--resume``
        must not silently forget what was done); otherwise it counts as empty.

    Returns
    -------
    dict
        ``{"schema": 1, "tasks": {key: entry}, ...}``.
    """
    path = Path(out_dir) / STATE_FILE
    empty: dict[str, Any] = {"schema": STATE_SCHEMA, "tasks": {}}
    if not path.exists():
        return empty
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or not isinstance(state.get("tasks"), dict):
            raise ValueError("it has no 'tasks' mapping")
    except (OSError, ValueError) as exc:
        if strict:
            raise NsvError(
                f"{path}: the batch state file cannot be read ({exc}); delete it and run the "
                "batch without --resume"
            ) from None
        return empty
    return state


def save_state(out_dir: str | Path, state: Mapping[str, Any]) -> None:
    """Write the state file atomically (temporary file + rename)."""
    body = dict(state) | {"schema": STATE_SCHEMA, "updated": now()}
    atomic_write_text(
        Path(out_dir) / STATE_FILE,
        json.dumps(jsonable(body), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
    )


def is_up_to_date(entry: Mapping[str, Any] | None, fingerprint: str, out_dir: Path) -> bool:
    """Whether a task recorded in the state needs no re-run under ``--resume``.

    True only if it finished ``ok`` with the same fingerprint and both its report and its
    key-results JSON still exist.
    """
    if not entry or entry.get("status") != STATUS_OK or entry.get("fingerprint") != fingerprint:
        return False
    return all(entry.get(k) and (Path(out_dir) / entry[k]).exists() for k in ("html", "json"))


class BatchLog:
    """Append-only batch log: one line per event (``time EVENT text``), flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")

    @classmethod
    def new(cls, out_dir: Path) -> BatchLog:
        """A new log ``<out>/batch-<YYYYmmdd-HHMMSS>.log`` (suffixed if the name is taken)."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = out_dir / f"batch-{stamp}.log"
        n = 2
        while path.exists():
            path = out_dir / f"batch-{stamp}-{n}.log"
            n += 1
        return cls(path)

    def write(self, event: str, text: str = "") -> None:
        """Append one line."""
        self._fh.write(f"{now()} {event:<7} {text}".rstrip() + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


class BatchLock:
    """``<out>/.batch.lock``: one batch at a time per output directory.

    A lock left by a process that no longer runs (same host) is taken over; a live one
    raises :class:`~nsv_eval.errors.NsvError` naming its pid, host and start time.
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / LOCK_FILE

    def __enter__(self) -> BatchLock:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": now()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    other = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    other = {}
                pid = int(other.get("pid", 0) or 0)
                if other.get("host") == me["host"] and not _pid_alive(pid):
                    self.path.unlink(missing_ok=True)  # stale: its batch died
                    continue
                raise NsvError(
                    f"Another batch (pid {other.get('pid', '?')} on {other.get('host', '?')}, "
                    f"started {other.get('started', '?')}) is writing to {self.path.parent}. "
                    f"Wait for it to finish, or delete {self.path} if it no longer runs."
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(me, fh)
            return self
        raise NsvError(f"Could not take the batch lock {self.path}")  # pragma: no cover

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)
