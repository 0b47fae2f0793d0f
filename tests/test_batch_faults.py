"""A batch survives being killed (issue: national scale, fault tolerance).

What is checked, on the small synthetic Denmark (``prepared_dir``), study 1 only:

* **A worker killed mid-report** (SIGKILL of the worker process, planted in the notebook
  for kommune 101: the kernel kills its parent, the batch worker) fails only that task —
  after one re-run in a fresh worker, as the task kills that one too — while the other
  kommuner's reports are written. The batch exits 1 and the state names the dead worker.
* **The whole batch killed** with SIGKILL (its process group: parent and workers) at a
  random moment, several rounds, and started again with ``--resume``: it finishes with
  every report ok, does not redo reports that were finished before the kill (mtimes), and
  no report or key-results file in the output is truncated or half-written (every HTML
  ends with ``</html>`` and every JSON parses).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nsv_eval.batch import run_batch
from nsv_eval.report.studies import default_notebook_dir, get_study

STUDY = get_study("datakvalitet")
REPO = Path(__file__).resolve().parents[1]


def _notebooks(root: Path, planted: str | None) -> Path:
    nbdir = root / "notebooks"
    nbdir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(default_notebook_dir() / STUDY.notebook, as_version=4)
    if planted:
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(planted))
    nbformat.write(nb, nbdir / STUDY.notebook)
    return nbdir


def test_killed_worker_fails_only_its_own_task(prepared_dir: Path, tmp_path: Path) -> None:
    # the kernel's parent process is the batch worker: kill it, as the OOM killer would
    planted = "import os, signal\nif kommune == 101:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    nbdir = _notebooks(tmp_path, planted)
    out = tmp_path / "reports"
    res = run_batch(
        "datakvalitet",
        [326, 101, 580],
        data_dir=prepared_dir,
        out_dir=out,
        jobs=2,
        notebook_dir=nbdir,
        progress=False,
    )
    state = json.loads((out / "batch-state.json").read_text(encoding="utf-8"))["tasks"]
    by_kommune = {int(v["kommune"]): v for v in state.values()}
    assert by_kommune[326]["status"] == "ok"
    assert by_kommune[580]["status"] == "ok"
    assert by_kommune[101]["status"] == "failed"
    assert "worker" in by_kommune[101]["error"] and "died" in by_kommune[101]["error"]
    assert (out / "326" / f"{STUDY.slug}.html").exists()
    assert not (out / "101" / f"{STUDY.slug}.html").exists()
    assert res.exit_code == 1


@pytest.mark.slow
def test_dask_worker_killed_once_is_replaced_and_its_task_published(
    prepared_dir: Path, tmp_path: Path
) -> None:
    """On dask the worker only executes and the parent publishes (as with local workers):
    a dask worker killed mid-report (once, for kommune 101) is replaced by its nanny, the
    scheduler reruns its task, and the parent publishes the rerun's report."""
    pytest.importorskip("distributed")
    marker = tmp_path / "killed-once"
    planted = (
        "import os, pathlib, signal\n"
        f"_m = pathlib.Path({str(marker)!r})\n"
        "if kommune == 101 and not _m.exists():\n"
        "    _m.write_text('killed')\n"
        "    os.kill(os.getppid(), signal.SIGKILL)\n"
    )
    nbdir = _notebooks(tmp_path, planted)
    out = tmp_path / "reports"
    res = run_batch(
        "datakvalitet",
        [326, 101],
        data_dir=prepared_dir,
        out_dir=out,
        jobs=2,
        executor="dask",
        notebook_dir=nbdir,
        progress=False,
    )
    assert marker.exists()  # the worker running 101 was killed
    assert res.exit_code == 0, res.failure_table()
    for k in (326, 101):
        assert (out / str(k) / f"{STUDY.slug}.html").exists()
    _complete_outputs(out)
    end = [ln for ln in res.log.read_text(encoding="utf-8").splitlines() if " END " in ln]
    assert len(end) == 2 and all("published by the parent" in ln for ln in end), end


def _n_ok(state_file: Path) -> int:
    try:
        tasks = json.loads(state_file.read_text(encoding="utf-8"))["tasks"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(v.get("status") == "ok" for v in tasks.values())


def _complete_outputs(out: Path) -> None:
    """No truncated or half-written report or key-results file anywhere in ``out``."""
    for html in out.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>"), f"truncated: {html}"
    for js in out.rglob("*.json"):
        json.loads(js.read_text(encoding="utf-8"))  # raises on a half-written file


@pytest.mark.slow
def test_batch_killed_at_random_points_resumes(prepared_dir: Path, tmp_path: Path) -> None:
    nbdir = _notebooks(tmp_path, None)
    kommuner = "326,580,101,825"
    rng = random.Random(20261126)
    env = os.environ | {"PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    base = [sys.executable, "-m", "nsv_eval.cli", "batch", "--study", "datakvalitet"]
    base += ["--kommuner", kommuner, "--jobs", "2", "--data", str(prepared_dir)]
    base += ["--notebooks", str(nbdir)]
    for round_ in range(2):
        out = tmp_path / f"reports-{round_}"
        argv = [*base, "--out", str(out)]
        proc = subprocess.Popen(
            argv,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        state_file = out / "batch-state.json"
        if round_ == 0:  # a random moment: starting workers, executing, or writing
            time.sleep(rng.uniform(4.0, 18.0))
        else:  # mid-batch: right after the first report is recorded as finished
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                if _n_ok(state_file):
                    break
                time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        time.sleep(0.5)  # orphaned kernels notice their dead parent and exit
        if out.exists():
            _complete_outputs(out)
        before = {}
        if state_file.exists():
            tasks = json.loads(state_file.read_text(encoding="utf-8"))["tasks"]
            before = {
                out / v["html"]: (out / v["html"]).stat().st_mtime_ns
                for v in tasks.values()
                if v.get("status") == "ok" and v.get("html")
            }
        done = subprocess.run(
            [*argv, "--resume"], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        tasks = json.loads(state_file.read_text(encoding="utf-8"))["tasks"]
        assert len(tasks) == 4 and all(v["status"] == "ok" for v in tasks.values())
        if round_ == 1:
            assert before, "the mid-batch kill came before any report was finished"
        for html, mtime in before.items():
            assert html.stat().st_mtime_ns == mtime, f"redone after resume: {html}"
        _complete_outputs(out)
        assert (out / "index.html").exists()
        shutil.rmtree(out / ".shared", ignore_errors=True)
