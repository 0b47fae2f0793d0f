"""All reports of one batch use the batch parent's code fingerprint (issue #15).

``Prepared.memo`` keys its entries on the data fingerprint and the code fingerprint (a hash
of the source of ``nsv_eval.stats`` and ``nsv_eval.analyses``). The batch parent computes
the code fingerprint once, before ``prepare_shared``, and hands it to every worker and
every kernel (``NSV_CODE_FINGERPRINT``; for dask also a task field), so a worker that would
compute another one still reads the parent's memo entries.

What is checked against what (the small synthetic Denmark, study 3 whose national DiD fits
``prepare_shared`` memoises): the kernels import ``nsv_eval`` from a *copy* of the package
whose source differs from the parent's by an appended line — as when a source file is
edited while a batch runs (every report imports our package afresh). The appended line
records which file each kernel imported, so the test knows the kernels really ran the
changed source (whose own fingerprint is computed here and differs from the parent's).
Truth: the memo entries ``prepare_shared`` wrote are the only entries of their names after
the batch, and none was rewritten (mtimes) — no national fit was computed again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nsv_eval.analyses import data as data_mod
from nsv_eval.batch import run_batch

REPO = Path(__file__).resolve().parents[1]
STUDY = "fald"


def _changed_copy(root: Path, marker: Path) -> Path:
    """A copy of the package whose ``analyses`` source differs from the parent's by a line
    that appends the importing module's file to ``marker``."""
    src = root / "src"
    shutil.copytree(
        REPO / "nsv_eval", src / "nsv_eval", ignore=shutil.ignore_patterns("__pycache__")
    )
    with (src / "nsv_eval" / "analyses" / "__init__.py").open("a", encoding="utf-8") as fh:
        fh.write(
            "\n# edited while the batch runs\n"
            f"with open({str(marker)!r}, 'a', encoding='utf-8') as _fh:\n"
            "    _fh.write(__file__ + '\\n')\n"
        )
    return src


def _memo_by_name(memo: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for p in memo.glob("*.pkl"):
        out.setdefault(p.name.rsplit("-", 1)[0], {})[p.name] = p.stat().st_mtime_ns
    return out


def _only_the_parents_entries(shared: dict, memo: Path) -> None:
    """The memo entries ``prepare_shared`` wrote (``shared``) are the only entries of their
    names in ``memo`` (no worker wrote one under another key) and were not rewritten."""
    want: dict[str, dict[str, int]] = {}
    for f in shared["files"]:
        name = Path(f).name
        want.setdefault(name.rsplit("-", 1)[0], {})[name] = shared["mtime_ns"][f]
    after = _memo_by_name(memo)
    assert {k: after.get(k) for k in want} == want


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "dask"])
def test_workers_read_the_parents_memo_entries(
    executor: str, prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported-from.txt"
    src = _changed_copy(tmp_path, marker)
    parent_fp = data_mod.code_fingerprint()
    assert parent_fp == data_mod.source_fingerprint_of(REPO / "nsv_eval")  # the parent's own source
    assert data_mod.source_fingerprint_of(src / "nsv_eval") != parent_fp
    monkeypatch.delenv("NSV_CODE_FINGERPRINT", raising=False)

    # the kernels (started by the workers) import the changed copy
    monkeypatch.setenv("PYTHONPATH", f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    scheduler = None
    cluster = None
    if executor == "dask":
        distributed = pytest.importorskip("distributed")
        # a cluster started before the batch (as with --scheduler): its workers do not
        # inherit anything the batch sets in its own environment, only the tasks reach them
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        )
        scheduler = cluster.scheduler_address
    out = tmp_path / "reports"
    try:
        res = run_batch(
            STUDY,
            [326, 580],
            data_dir=prepared_dir,
            out_dir=out,
            jobs=1,
            executor=executor,
            scheduler=scheduler,
            progress=False,
        )
    finally:
        if cluster is not None:
            cluster.close()
    assert list(res.tasks["status"]) == ["ok", "ok"], res.failure_table()
    # the kernels ran the changed source, not the parent's
    imported = marker.read_text(encoding="utf-8").splitlines()
    assert len(imported) >= 2 and all(line.startswith(str(src)) for line in imported), imported

    shared = res.shared[STUDY]
    assert shared["computed"] and shared["files"]  # the parent fitted the national DiD
    _only_the_parents_entries(shared, out / ".shared" / "memo")
    assert res.stamp["code_fingerprint"] == parent_fp


@pytest.mark.slow
def test_run_studies_kernel_reads_the_parents_memo_entries(
    prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nsv-eval run`` (:func:`run_studies`) pins the fingerprint for its kernel too: a
    kernel running changed source reads the national fits this process memoised."""
    from nsv_eval.batch import prepare_shared
    from nsv_eval.report.render import run_studies

    monkeypatch.delenv("NSV_CODE_FINGERPRINT", raising=False)
    marker = tmp_path / "imported-from.txt"
    src = _changed_copy(tmp_path, marker)
    shared_dir = tmp_path / "shared"
    shared = prepare_shared(prepared_dir, shared_dir, [STUDY])[STUDY]
    assert shared["computed"] and shared["files"]
    monkeypatch.setenv("PYTHONPATH", f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    (run,) = run_studies(
        STUDY, 326, data_dir=prepared_dir, out_dir=tmp_path / "reports", shared_dir=shared_dir
    )
    assert run.status == "ok", run.error
    assert marker.read_text(encoding="utf-8").startswith(str(src))  # the changed source ran
    _only_the_parents_entries(shared, shared_dir / "memo")
    assert "NSV_CODE_FINGERPRINT" not in os.environ  # restored after the run


def test_code_fingerprint_honours_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pinned value is returned as it is; a malformed one is refused with the variable's
    name; the pin is undone on exit."""
    from nsv_eval.errors import NsvError

    monkeypatch.delenv("NSV_CODE_FINGERPRINT", raising=False)
    own = data_mod.code_fingerprint()
    assert own == data_mod.source_fingerprint_of(REPO / "nsv_eval")
    with data_mod.pinned_code_fingerprint("0123456789abcdef") as fp:
        assert fp == data_mod.code_fingerprint() == os.environ["NSV_CODE_FINGERPRINT"]
        with data_mod.pinned_code_fingerprint() as inner:  # nested: the outer pin is kept
            assert inner == "0123456789abcdef"
    assert "NSV_CODE_FINGERPRINT" not in os.environ and data_mod.code_fingerprint() == own
    monkeypatch.setenv("NSV_CODE_FINGERPRINT", "not-a-hash")
    with pytest.raises(NsvError, match="NSV_CODE_FINGERPRINT='not-a-hash'"):
        data_mod.code_fingerprint()


@pytest.mark.slow
def test_worker_kernel_follows_the_batch_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that outlives a batch (a dask worker of a long-running cluster): its warm
    kernel keeps the environment it started with, so a task of a batch with another code
    fingerprint restarts it; a task of the same batch keeps it. Checked by what
    ``code_fingerprint()`` returns inside the kernel (a notebook writes it to a file)."""
    import nbformat

    from nsv_eval.batch import executors
    from nsv_eval.report import warm

    monkeypatch.delenv("NSV_CODE_FINGERPRINT", raising=False)
    monkeypatch.setattr(executors, "_PINNED", [None])
    kernel = warm.WarmKernel()
    monkeypatch.setattr(warm, "_PROCESS_KERNEL", kernel)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('out = ""')
    params.metadata["tags"] = ["parameters"]
    body = (
        "import os\nfrom nsv_eval.analyses.data import code_fingerprint\n"
        "open(out, 'w').write(f'{os.getpid()} {code_fingerprint()}')"
    )
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "fp.ipynb"
    nbformat.write(nb, path)

    def report(task_fp: str, n: int) -> tuple[str, str]:
        executors.pin_code_fingerprint({"code_fingerprint": task_fp})
        out = tmp_path / f"out-{n}.txt"
        kernel.execute(path, tmp_path / f"out-{n}.ipynb", {"out": str(out)}, cwd=tmp_path)
        pid, fp = out.read_text().split()
        return pid, fp

    try:
        a = report("aaaaaaaaaaaaaaaa", 1)
        b = report("aaaaaaaaaaaaaaaa", 2)
        c = report("bbbbbbbbbbbbbbbb", 3)
    finally:
        kernel.shutdown()
    assert a == (b[0], "aaaaaaaaaaaaaaaa") and b[1] == "aaaaaaaaaaaaaaaa"  # same kernel
    assert c[1] == "bbbbbbbbbbbbbbbb" and c[0] != a[0]  # a fresh kernel for the new batch
