"""The benchmark's report of ``nsv-eval run --study all`` (``bench/run.py``): the per-study
lines of ``run`` are parsed, and the results table shows the cold and cached runs with the
summed memory and the target."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import run as bench_run  # noqa: E402


def test_run_lines_parsed() -> None:
    # the formats of nsv_eval.report.cli._cmd_run's progress lines
    ok = f"  ok      {'datakvalitet':<26} {9.6:5.1f} s  /tmp/x/326/01_datakvalitet.html"
    failed = f"  {'FAILED':<7} {'forebyggende':<26} {123.4:5.1f} s"
    refused = f"  {'REFUSED':<7} {'ulighed':<26} {2.0:5.1f} s"
    got = [bench_run.RUN_LINE.match(x).groups() for x in (ok, failed, refused)]
    assert got == [
        ("ok", "datakvalitet", "9.6"),
        ("FAILED", "forebyggende", "123.4"),
        ("REFUSED", "ulighed", "2.0"),
    ]
    assert bench_run.RUN_LINE.match("8 of 8 report(s) written to /tmp/x/326/") is None


def test_markdown_shows_run_all() -> None:
    def m(wall: float, cpu: float, tree_mb: float) -> dict:
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": 900.0,
            "peak_tree_rss_mb": tree_mb,
            "exit": 0,
            "load_before": [1.0, 1.0, 1.0],
            "load_after": [2.0, 1.0, 1.0],
            "studies": {"fald": {"status": "ok", "seconds": 4.1},
                        "forebyggende": {"status": "FAILED", "seconds": 1.0}},
        }  # fmt: skip

    res = {
        "scale": 1.0,
        "machine": {"cpus": 2, "mem_gb": 24, "load_avg_at_start": [1.0, 1.0, 1.0]},
        "big": {"variants": {}, "input_rows": {}},
        "run_all": {"cold": m(58.2, 101.0, 4812.0), "cached": m(21.6, 30.0, 1500.0)},
    }
    md = bench_run.markdown(res)
    cold = next(x for x in md.splitlines() if "empty shared folder" in x)
    assert "1/2 ok; CPU 101 s" in cold and "58.2 s" in cold and "4.70 GB" in cold
    assert cold.rstrip().endswith("< 60 s |")
    cached = next(x for x in md.splitlines() if "shared folder filled" in x)
    assert "21.6 s" in cached and "1.46 GB" in cached
    assert "run --study all (cold) 1.0→2.0" in md
