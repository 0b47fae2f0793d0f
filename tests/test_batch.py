"""Tests of ``nsv-eval batch`` / :func:`nsv_eval.batch.run_batch`.

What is checked against what:

* Selection: the official division of Denmark since the 2007 reform — 98 kommuner in 5
  regions: Nordjylland 11, Midtjylland 19, Syddanmark 22, Hovedstaden 29, Sjælland 17
  (Danmarks Statistik's classification of kommuner and regions).
* Batch behaviour on the small synthetic Denmark (``prepared_dir``) with *planted*
  failures: kommune 580 gets an override file with an unknown key (``perod``), and the
  study notebook gets an extra cell that raises for kommune 101 only. The truth is then
  known: 326 succeeds, 580 is never started and is reported with its file and key, 101
  fails in the planted cell and keeps its executed notebook; exit code 1. ``--resume``
  (on a dask LocalCluster) must skip 326 (report untouched) and re-run exactly 580 and 101.
* The shared national preparation: exactly one cache file per summary, computed by the
  first batch and never rewritten (mtimes) by any notebook or by the resumed batch, and
  every notebook received ``shared_dir`` (papermill records the injected parameters).
* index.html: every kommune × study with its status, key figures equal to the values in
  each report's JSON, and it passes ``check_disclosure``; a planted unsuppressed count in a
  report's JSON makes the overview refuse to publish.

Only study 1 is run (each notebook costs a kernel start): 4 notebook executions in all.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from nsv_eval.analyses.data import SUMMARIES, Prepared
from nsv_eval.batch import (
    BatchResult,
    is_up_to_date,
    load_state,
    parse_kommuner,
    run_batch,
    task_fingerprint,
    write_index,
)
from nsv_eval.batch.executors import is_kernel_failure
from nsv_eval.cli import main
from nsv_eval.errors import InputError, NsvError
from nsv_eval.params import load_params, params_hash
from nsv_eval.report.disclosure import check_disclosure
from nsv_eval.report.format import fmt_int, fmt_number
from nsv_eval.report.studies import default_notebook_dir, get_study

REPO = Path(__file__).resolve().parents[1]
STUDY = get_study("datakvalitet")
KOMMUNER = [326, 580, 101]  # Kalundborg (own override), Aabenraa, København
PLANTED = "planted failure for kommune 101"


# ----------------------------------------------------------------------------------------
# selection (no notebooks run)
# ----------------------------------------------------------------------------------------


def test_parse_kommuner_all_and_regions() -> None:
    """98 kommuner; regions 11/19/22/29/17 (the official 2007 division)."""
    every = parse_kommuner("all")
    assert len(every) == 98 and len(set(every)) == 98 and every == sorted(every)
    sizes = {r: len(parse_kommuner(f"region:{r}")) for r in (1081, 1082, 1083, 1084, 1085)}
    assert sizes == {1081: 11, 1082: 19, 1083: 22, 1084: 29, 1085: 17}
    sj = parse_kommuner("region:1085")
    assert 326 in sj  # Kalundborg is in Region Sjælland
    assert parse_kommuner("region:Sjælland") == sj == parse_kommuner("region:Region Sjælland")
    assert parse_kommuner("region:1085,326") == sj  # no duplicates
    assert parse_kommuner(" 326, 580,326") == [326, 580]
    assert parse_kommuner([101, "326"]) == [101, 326]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("326,999", "999"),
        ("326,abc", "'abc'"),
        ("region:1090", "region:1090"),
        ("region:Fyn", "region:Fyn"),
        ("", "no kommune selected"),
        (" , ", "no kommune selected"),
    ],
)
def test_parse_kommuner_errors(spec: str, needle: str) -> None:
    with pytest.raises(InputError, match="--kommuner") as err:
        parse_kommuner(spec)
    assert needle in str(err.value)


def test_parse_kommuner_rejects_bool() -> None:
    # a bool is an int to Python but no kommune code; it used to fail with a TypeError
    with pytest.raises(InputError, match="--kommuner: True"):
        parse_kommuner(True)


def test_cli_bad_code_fails_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["batch", "--kommuner", "326,998", "--data", str(tmp_path), "--out", str(out)])
    assert code == 1
    assert "998 is not one of the 98 Danish kommune codes" in err.getvalue()
    assert not out.exists()


# ----------------------------------------------------------------------------------------
# fingerprints and resume decisions (no notebooks run)
# ----------------------------------------------------------------------------------------


def test_fingerprint_invalidates_done_task(tmp_path: Path) -> None:
    """A done task stays done only while data, params, notebook and version are unchanged."""
    pdir = tmp_path / "params"
    shutil.copytree(REPO / "params", pdir)
    p1 = load_params(326, pdir)
    (pdir / "kommuner" / "326.yaml").write_text("comparison_level: land\n", encoding="utf-8")
    p2 = load_params(326, pdir)
    assert params_hash(p1) != params_hash(p2)

    fp = task_fingerprint("data-a", params_hash(p1), "nb-a", "1.0")
    (tmp_path / "326").mkdir()
    for f in ("326/x.html", "326/x.json"):
        (tmp_path / f).write_text("x", encoding="utf-8")
    done = {"status": "ok", "fingerprint": fp, "html": "326/x.html", "json": "326/x.json"}
    assert is_up_to_date(done, fp, tmp_path)
    for other in (
        task_fingerprint("data-b", params_hash(p1), "nb-a", "1.0"),  # data changed
        task_fingerprint("data-a", params_hash(p2), "nb-a", "1.0"),  # params changed
        task_fingerprint("data-a", params_hash(p1), "nb-b", "1.0"),  # notebook changed
        task_fingerprint("data-a", params_hash(p1), "nb-a", "1.1"),  # version changed
    ):
        assert other != fp and not is_up_to_date(done, other, tmp_path)
    assert not is_up_to_date(done | {"status": "failed"}, fp, tmp_path)
    assert not is_up_to_date(None, fp, tmp_path)
    (tmp_path / "326/x.html").unlink()  # report deleted -> must run again
    assert not is_up_to_date(done, fp, tmp_path)


def test_only_kernel_failures_are_retried() -> None:
    """Errors as run_study words them (jupyter_client / nbclient messages vs. cell errors)."""
    assert is_kernel_failure("RuntimeError: Kernel didn't respond in 60 seconds")
    assert is_kernel_failure("RuntimeError: Kernel died before replying to kernel_info")
    assert is_kernel_failure("DeadKernelError: Kernel died")
    assert not is_kernel_failure("cell 3: DeadKernelError: kernel planted")  # a cell's error
    assert not is_kernel_failure("InputError: params/kommuner/580.yaml: unknown key 'perod'")
    assert not is_kernel_failure(None)


def test_global_parameter_problem_aborts(prepared_dir: Path, tmp_path: Path) -> None:
    """An override file named after no kommune concerns every kommune: abort, run nothing."""
    pdir = tmp_path / "params"
    shutil.copytree(REPO / "params", pdir)
    (pdir / "kommuner" / "999.yaml").write_text("lang: da\n", encoding="utf-8")
    out = tmp_path / "reports"
    with pytest.raises(InputError, match="999.yaml"):
        run_batch("datakvalitet", "326", data_dir=prepared_dir, out_dir=out, params_dir=pdir)
    assert not out.exists()


def test_resume_refuses_unreadable_state(prepared_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "batch-state.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(NsvError, match="batch-state.json"):
        run_batch("datakvalitet", "326", data_dir=prepared_dir, out_dir=out, resume=True)
    assert not (out / ".batch.lock").exists()  # the lock is released


# ----------------------------------------------------------------------------------------
# index.html disclosure gate (no notebooks run)
# ----------------------------------------------------------------------------------------


def _fake_report(
    out: Path, kommune: int, count: int, suppressed: bool, ratio: float | None = None
) -> dict:
    (out / str(kommune)).mkdir(parents=True, exist_ok=True)
    items = [
        {
            "key": "persons",
            "kind": "count",
            "value": None if suppressed else count,
            "display": "<5" if suppressed else fmt_int(count),
            "suppressed": suppressed,
            "text": "Personer i data.",
            "label_da": "Personer",
        }
    ]
    if ratio is not None:
        items.append(
            {"key": "ratio", "kind": "number", "value": ratio, "display": fmt_number(ratio, 2)}
        )
    (out / str(kommune) / f"{STUDY.slug}.json").write_text(
        json.dumps({"findings": items}), encoding="utf-8"
    )
    (out / str(kommune) / f"{STUDY.slug}.html").write_text("<html></html>", encoding="utf-8")
    return {
        "kommune": kommune,
        "study": STUDY.name,
        "slug": STUDY.slug,
        "title": STUDY.title_da,
        "status": "ok",
        "ran": True,
        "finished": "2026-01-02T10:00:00+01:00",
        "html": f"{kommune}/{STUDY.slug}.html",
        "json": f"{kommune}/{STUDY.slug}.json",
    }


def test_index_refuses_unsuppressed_small_count(tmp_path: Path) -> None:
    """Planted: a report JSON with a count of 3 shown as '3' (not suppressed)."""
    stamp = {"data_fingerprint": "0123456789abcdef", "git_commit": None}
    good = {"tasks": {"326/datakvalitet": _fake_report(tmp_path, 326, 3, suppressed=True)}}
    assert write_index(tmp_path, good, stamp) == []
    html_text = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "&lt;5" in html_text and check_disclosure(tmp_path / "index.html") == []

    bad = {"tasks": {"326/datakvalitet": _fake_report(tmp_path, 326, 3, suppressed=False)}}
    found = write_index(tmp_path, bad, stamp)
    assert [f.kind for f in found] == ["small_count"]
    assert not (tmp_path / "index.html").exists()  # nothing stale or unsafe published
    assert (tmp_path / ".index.rejected-html").exists()


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs headless Chromium")
def test_index_sorts_in_a_browser(tmp_path: Path) -> None:
    """Click headings in headless Chromium: numbers sort numerically (12.000 > 950 > 7),
    names with Danish collation (Aabenraa = Åbenraa sorts after Ærø), empty cells last."""
    import subprocess

    tasks = {}
    for code, n, ratio in ((580, 950, 1.5), (492, 7, None), (326, 12_000, 0.25), (101, 30, 10.0)):
        tasks[f"{code}/datakvalitet"] = _fake_report(tmp_path, code, n, False, ratio)
    stamp = {"data_fingerprint": "0123456789abcdef"}
    assert write_index(tmp_path, {"tasks": tasks}, stamp) == []
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    clicks = (
        "<script>"
        'document.querySelectorAll("#overblik thead th")[1].click();'  # Kommune, ascending
        f'var k = document.querySelectorAll("#noegletal-{STUDY.slug} thead th");'
        "k[4].click(); k[4].click();"  # Personer, descending
        "</script></body>"
    )
    (tmp_path / "clicked.html").write_text(page.replace("</body>", clicks), encoding="utf-8")
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            (tmp_path / "clicked.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    soup = BeautifulSoup(dom, "html.parser")
    names = [r.find_all("td")[1].text for r in soup.select("#overblik tbody tr")]
    assert names == ["Kalundborg", "København", "Ærø", "Aabenraa"]
    key_rows = soup.select(f"#noegletal-{STUDY.slug} tbody tr")
    assert [r.find_all("td")[4].text for r in key_rows] == ["12.000", "950", "30", "7"]


# ----------------------------------------------------------------------------------------
# real batches on the synthetic data
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def setup(prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Params dir with a bad override for 580; notebook dir with a failure planted for 101."""
    root = tmp_path_factory.mktemp("batch")
    pdir = root / "params"
    (pdir / "kommuner").mkdir(parents=True)
    shutil.copy(REPO / "params" / "defaults.yaml", pdir / "defaults.yaml")
    shutil.copy(REPO / "params" / "kommuner" / "326.yaml", pdir / "kommuner" / "326.yaml")
    (pdir / "kommuner" / "580.yaml").write_text("perod:\n  start: 2012\n", encoding="utf-8")

    nbdir = root / "notebooks"
    nbdir.mkdir()
    nb = nbformat.read(default_notebook_dir() / STUDY.notebook, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(
        at + 1,
        nbformat.v4.new_code_cell(f'if kommune == 101:\n    raise RuntimeError("{PLANTED}")'),
    )
    nbformat.write(nb, nbdir / STUDY.notebook)
    return {"root": root, "params": pdir, "notebooks": nbdir, "data": prepared_dir}


@pytest.fixture(scope="module")
def first(setup: dict) -> dict:
    """Batch 1 through the CLI, local process pool, 3 kommuner × study 1, jobs 2."""
    out = setup["root"] / "reports"
    argv = ["batch", "--study", "datakvalitet", "--kommuner", ",".join(map(str, KOMMUNER))]
    argv += ["--jobs", "2", "--data", str(setup["data"]), "--out", str(out)]
    argv += ["--params", str(setup["params"]), "--notebooks", str(setup["notebooks"])]
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main(argv)
    state = json.loads((out / "batch-state.json").read_text(encoding="utf-8"))
    shared = out / ".shared"
    return {
        "code": code,
        "stdout": o.getvalue(),
        "stderr": e.getvalue(),
        "out": out,
        "state": state,
        "logs": sorted(out.glob("batch-*.log")),
        "shared_files": {p: p.stat().st_mtime_ns for p in shared.glob("*.parquet")},
        "html_mtime": (out / "326" / f"{STUDY.slug}.html").stat().st_mtime_ns,
    }


@pytest.fixture(scope="module")
def second(setup: dict, first: dict) -> BatchResult:
    """Batch 2: 580's override fixed, ``resume=True`` on a dask LocalCluster with 2 workers."""
    (setup["params"] / "kommuner" / "580.yaml").write_text(
        "comparison_level: land\n", encoding="utf-8"
    )
    return run_batch(
        "datakvalitet",
        KOMMUNER,
        data_dir=setup["data"],
        out_dir=first["out"],
        jobs=2,
        executor="dask",
        resume=True,
        params_dir=setup["params"],
        notebook_dir=setup["notebooks"],
        progress=False,
    )


def test_planted_failures_fail_only_their_runs(first: dict) -> None:
    assert first["code"] == 1
    tasks = first["state"]["tasks"]
    assert set(tasks) == {f"{k}/datakvalitet" for k in KOMMUNER}
    assert tasks["326/datakvalitet"]["status"] == "ok"
    assert (first["out"] / tasks["326/datakvalitet"]["html"]).exists()

    bad = tasks["580/datakvalitet"]
    assert bad["status"] == "failed" and bad["ran"] is False and bad["executed"] is None
    assert "580.yaml" in bad["error"] and "'perod'" in bad["error"]
    assert not (first["out"] / "580").exists()  # never started

    nb_fail = tasks["101/datakvalitet"]
    assert nb_fail["status"] == "failed" and nb_fail["ran"] is True
    assert PLANTED in nb_fail["error"], nb_fail["error"]
    assert nb_fail["attempts"] == 1  # a cell error is not retried
    assert not (first["out"] / "101" / f"{STUDY.slug}.html").exists()
    executed = nbformat.read(first["out"] / nb_fail["executed"], as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].evalue == PLANTED  # the failing cell is kept


def test_failure_table_and_log(first: dict) -> None:
    err = first["stderr"]
    assert "2 of 3 task(s) failed" in err
    lines = {ln.split()[0]: ln for ln in err.splitlines() if ln.startswith("  ") and ln.split()}
    assert "'perod'" in lines["580"] and "not run" in lines["580"]
    assert PLANTED in lines["101"] and ".work" in lines["101"], lines["101"]
    assert "326" not in lines
    assert "1 of 3 report(s) ok" in first["stdout"]

    (log,) = first["logs"]
    text = log.read_text(encoding="utf-8")
    assert '"data_fingerprint"' in text and '"git_commit"' in text  # the stamp
    assert text.count(" END ") == 2 and text.count(" SUBMIT ") == 2
    assert "326/datakvalitet: ok" in text and "101/datakvalitet: failed" in text
    # local workers only execute: the parent published the report that ran (the one whose
    # notebook raised was never published)
    end = {ln.split()[2].rstrip(":"): ln for ln in text.splitlines() if " END " in ln}
    assert "published by the parent" in end["326/datakvalitet"], end
    assert "published by the parent" not in end["101/datakvalitet"], end
    assert "FAILED  580/datakvalitet: not run: parameters:" in text


def test_shared_preparation_once(first: dict, setup: dict) -> None:
    out, state = first["out"], first["state"]
    fp = Prepared(setup["data"]).fingerprint
    names = sorted(p.name for p in first["shared_files"])
    assert names == sorted(f"{n}-{fp}.parquet" for n in SUMMARIES)  # one file per summary
    stamp = json.loads((out / "batch-stamp.json").read_text(encoding="utf-8"))
    assert all(info["computed"] for info in stamp["shared"].values())
    recorded = {Path(p): t for i in stamp["shared"].values() for p, t in i["mtime_ns"].items()}
    assert (
        recorded == first["shared_files"]
    )  # no notebook rewrote a summary after the batch made it
    executed = nbformat.read(out / state["tasks"]["326/datakvalitet"]["executed"], as_version=4)
    injected = executed.metadata["papermill"]["parameters"]
    assert injected["shared_dir"] == str(out / ".shared")
    assert stamp["data_fingerprint"] == fp
    assert stamp["params"]["326"]["hash"] == params_hash(load_params(326, setup["params"]))
    assert "580" not in stamp["params"] and "perod" in stamp["params_errors"]["580"]


def test_index_lists_every_task_and_passes_disclosure(first: dict) -> None:
    out = first["out"]
    index = out / "index.html"
    assert check_disclosure(index) == []
    # the command line says where the published overview is, and nothing about refusing it
    assert f"overview: {index}" in first["stdout"]
    assert "NOT published" not in first["stderr"]
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    rows = soup.select("#overblik tbody tr")
    status = {int(r.find_all("td")[0].text): r.find_all("td")[3].get_text(strip=True) for r in rows}
    assert status == {326: "Klar", 101: "Fejlet", 580: "Ikke kørt (parameterfejl)"}
    link = soup.select_one("#overblik a")["href"]
    assert link == f"326/{STUDY.slug}.html" and (out / link).exists()
    # key figures are the report's own (formatted, suppressed) values
    report = json.loads((out / "326" / f"{STUDY.slug}.json").read_text(encoding="utf-8"))
    shown = {f["key"]: f["display"] for f in report["findings"] if f["kind"] != "text"}
    table = soup.select_one(f"#noegletal-{STUDY.slug}")
    heads = [th.get("data-key") or th.get_text(strip=True) for th in table.select("thead th")]
    row326 = next(r for r in table.select("tbody tr") if r.td.text == "326")
    cells = dict(zip(heads, [td.get_text(strip=True) for td in row326.find_all("td")], strict=True))
    for key, display in shown.items():
        assert cells[key] == display


def test_resume_on_dask_reruns_only_failed(first: dict, second: BatchResult) -> None:
    t = second.tasks.set_index("kommune")
    assert t.loc[326, "action"] == "skipped" and t.loc[326, "status"] == "ok"
    assert t.loc[580, "action"] == "ran" and t.loc[580, "status"] == "ok"
    assert t.loc[101, "action"] == "ran" and t.loc[101, "status"] == "failed"
    assert t.loc[580, "worker"].startswith("dask tcp://")
    assert t.loc[101, "worker"].startswith("dask tcp://")
    assert second.exit_code == 1 and list(second.failed["kommune"]) == [101]
    out = first["out"]
    assert (out / "326" / f"{STUDY.slug}.html").stat().st_mtime_ns == first["html_mtime"]
    # the shared preparation was reused, not recomputed
    assert second.shared and not any(i["computed"] for i in second.shared.values())
    now = {p: p.stat().st_mtime_ns for p in (out / ".shared").glob("*.parquet")}
    assert now == first["shared_files"]
    text = second.log.read_text(encoding="utf-8")
    assert "SKIP    326/datakvalitet" in text and text.count(" END ") == 2
    # dask workers only execute too: the parent published the report that ran
    end = {ln.split()[2].rstrip(":"): ln for ln in text.splitlines() if " END " in ln}
    assert "published by the parent" in end["580/datakvalitet"], end
    assert "published by the parent" not in end["101/datakvalitet"], end
    state = load_state(out)
    assert state["tasks"]["580/datakvalitet"]["status"] == "ok"
    assert state["stamp"]["executor"] == "dask"
    # the overview now shows 580 as ready, and still passes the check
    assert second.index is not None and check_disclosure(second.index) == []
    soup = BeautifulSoup(second.index.read_text(encoding="utf-8"), "html.parser")
    status = {
        int(r.find_all("td")[0].text): r.find_all("td")[3].get_text(strip=True)
        for r in soup.select("#overblik tbody tr")
    }
    assert status == {326: "Klar", 101: "Fejlet", 580: "Klar"}


def test_key_results_workbook_of_the_batch(first: dict, second: BatchResult) -> None:
    """``nøgletal.xlsx``: one row per key result of every current report, numbers as numbers."""
    import pandas as pd

    from nsv_eval.report.disclosure import scan_xlsx

    assert "nøgletal.xlsx" in first["stdout"]
    book = second.key_results
    assert book == first["out"] / "nøgletal.xlsx" and book.exists()
    df = pd.read_excel(book, header=1)  # row 1: title, row 2: headings
    assert set(df["Kommunekode"]) == {326, 580}  # 101 failed in both batches: no report
    report = json.loads((first["out"] / "326" / f"{STUDY.slug}.json").read_text(encoding="utf-8"))
    rows = df[df["Kommunekode"] == 326].set_index("Nøgle")
    assert list(rows.index) == [f["key"] for f in report["findings"]]
    for f in report["findings"]:
        if f["kind"] in ("count", "number") and f["value"] is not None:
            assert rows.at[f["key"], "Estimat"] == pytest.approx(f["value"])
        assert rows.at[f["key"], "Periode"] == "2010–2024"
    assert scan_xlsx(book) == []
