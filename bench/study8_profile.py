"""Study 8's national work, step by step: wall time and peak memory of every step and of
every RD fit, and the results for an equality check between two versions of the code.

Usage (never point ``--shared`` into the prepared folder; use a fresh folder per run)::

    PYTHONPATH=. python bench/study8_profile.py --data PREPARED --shared /tmp/x \\
        --out results.pkl [--json timings.json]
    python bench/study8_profile.py --compare before.pkl after.pkl

The peak of a step is the kernel's high-water mark of the resident set size (``VmHWM``,
reset before each step through ``/proc/self/clear_refs``; where that is not allowed, the
highest RSS a thread sampled every 20 ms); the peak of the whole run is printed at the
end (the high-water mark of every interval between two resets; with the resets,
``ru_maxrss`` and GNU time's maximum RSS no longer show the whole run's peak). The steps nest (each RD fit inside its study step), so a step's peak covers only the
time since the last inner step began.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import pickle
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _hwm_mb() -> float | None:
    """The process's peak RSS (``VmHWM``) since the last :func:`_reset_hwm`."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _reset_hwm() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0: ``5`` into ``clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Sampler:
    """Peak RSS since the last :meth:`reset`: the kernel's high-water mark when it can be
    reset (exact), else the highest of samples every 20 ms by a background thread."""

    def __init__(self) -> None:
        self.exact = _reset_hwm()
        self.sampled = _rss_mb()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while True:
            self.sampled = max(self.sampled, _rss_mb())
            time.sleep(0.02)

    @property
    def peak(self) -> float:
        hwm = _hwm_mb() if self.exact else None
        return hwm if hwm is not None else self.sampled

    def reset(self) -> float:
        """Start a new step; the peak since the last reset is kept in :attr:`overall`."""
        self.overall = max(getattr(self, "overall", 0.0), self.peak)
        now = _rss_mb()
        self.sampled = now
        if self.exact:
            _reset_hwm()
        return now


def run(data: str, shared: str) -> tuple[dict, list[dict]]:
    from nsv_eval.analyses import preventive as pv
    from nsv_eval.analyses.data import Prepared

    rdm = importlib.import_module("nsv_eval.stats.designs.rd")  # the module, not the function

    prep = Prepared(data, shared_dir=shared)
    sampler = Sampler()
    log: list[dict] = []

    def step(name, fn):
        before = sampler.reset()
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        log.append(
            {
                "step": name,
                "seconds": round(dt, 2),
                "rss_before_mb": round(before, 1),
                "peak_mb": round(max(sampler.peak, _rss_mb()), 1),
                "rss_after_mb": round(_rss_mb(), 1),
            }
        )
        print(json.dumps(log[-1]), flush=True)
        return out

    # every RD fit timed on its own (the wrapper is installed on the module attribute that
    # ``rd`` calls)
    orig_fit = rdm.rd_fit
    counter = {"n": 0}

    def timed_fit(y, x, *a, **kw):
        counter["n"] += 1
        kind = "fuzzy" if kw.get("fuzzy") is not None else "sharp"
        kind += "+h" if kw.get("h") is not None else ""
        return step(f"  rd_fit #{counter['n']} {kind} n={len(y)}", lambda: orig_fit(y, x, *a, **kw))

    rdm.rd_fit = timed_fit
    try:
        t0 = time.perf_counter()
        step("rd_panel (age 75, national)", lambda: pv.rd_panel(prep) is None)
        step("uptake_all (offer cohort + uptake)", lambda: pv.uptake_all(prep))
        step("rd_for_scope", lambda: pv.rd_for_scope(prep, None))
        step("bins_for_scope", lambda: pv.bins_for_scope(prep, None, "acute"))
        step("density_for_scope", lambda: pv.density_for_scope(prep, None))
        step("placebos_for_scope", lambda: pv.placebos_for_scope(prep, None))
        for o in ("acute_12m", "planned_12m"):
            step(f"avd {o}", lambda o=o: pv.accepted_vs_declined_for_scope(prep, None, o))
        pv._PANELS.pop(prep, None)
        total = time.perf_counter() - t0
    finally:
        rdm.rd_fit = orig_fit
    sampler.reset()  # the whole run's peak: every interval between two resets counted
    peak = sampler.overall
    log.append({"step": "TOTAL", "seconds": round(total, 2), "peak_mb": round(peak, 1)})
    print(json.dumps(log[-1]), flush=True)
    # the results, read back from the memo (what every report reads)
    results = {
        "uptake": pv.uptake_all(prep),
        "rd": pv.rd_for_scope(prep, None),
        "bins": pv.bins_for_scope(prep, None, "acute"),
        "density": pv.density_for_scope(prep, None),
        "placebo": pv.placebos_for_scope(prep, None),
        "avd_acute": pv.accepted_vs_declined_for_scope(prep, None, "acute_12m"),
        "avd_planned": pv.accepted_vs_declined_for_scope(prep, None, "planned_12m"),
        "offer_cohort": pv.national_offer_cohort(prep),
    }
    return results, log


def _flatten(obj, path: str, out: dict) -> None:
    if isinstance(obj, pd.DataFrame):
        for c in obj.columns:
            _flatten(obj[c], f"{path}[{c}]", out)
        out[f"{path}.shape"] = obj.shape
    elif isinstance(obj, pd.Series):
        out[path] = obj.to_numpy()
    elif hasattr(obj, "params") and hasattr(obj, "bse"):  # a statsmodels fit
        _flatten(pd.Series(obj.params), f"{path}.params", out)
        _flatten(pd.Series(obj.bse), f"{path}.bse", out)
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            _flatten(getattr(obj, f.name), f"{path}.{f.name}", out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{path}/{k}", out)
    else:
        out[path] = obj


def compare(a: dict, b: dict, rtol: float = 1e-9) -> float:
    """Largest relative difference over every number of two result sets (printed per item
    above ``rtol``); exact equality for everything else."""
    fa: dict = {}
    fb: dict = {}
    _flatten(a, "", fa)
    _flatten(b, "", fb)
    if fa.keys() != fb.keys():
        print("different items:", sorted(set(fa) ^ set(fb)))
    worst = 0.0
    for k in sorted(set(fa) & set(fb)):
        x, y = fa[k], fb[k]
        if isinstance(x, np.ndarray) and x.dtype.kind in "fiub" and np.shape(x) == np.shape(y):
            xf, yf = x.astype(float), np.asarray(y).astype(float)
            both_nan = np.isnan(xf) & np.isnan(yf)
            den = np.maximum(np.abs(xf), np.abs(yf))
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.where(both_nan | (xf == yf), 0.0, np.abs(xf - yf) / den)
            m = float(np.nanmax(rel)) if rel.size else 0.0
            if np.isnan(rel).any():
                m = math.inf
        elif isinstance(x, float | int | np.floating) and isinstance(y, float | int | np.floating):
            if (math.isnan(x) and math.isnan(y)) or x == y:
                m = 0.0
            else:
                m = abs(x - y) / max(abs(x), abs(y))
        else:
            try:
                same = bool(np.all(np.asarray(x) == np.asarray(y)))
            except Exception:  # noqa: BLE001
                same = repr(x) == repr(y)
            m = 0.0 if same else math.inf
        worst = max(worst, m)
        if m > rtol:
            print(f"{k}: rel {m:.3g}")
        elif m > 0:
            print(f"{k}: rel {m:.3g} (within {rtol:g})")
    print(f"largest relative difference {worst:.3g} over {len(fa)} items")
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data")
    ap.add_argument("--shared")
    ap.add_argument("--out")
    ap.add_argument("--json")
    ap.add_argument("--compare", nargs=2)
    a = ap.parse_args()
    if a.compare:
        with open(a.compare[0], "rb") as f1, open(a.compare[1], "rb") as f2:
            worst = compare(pickle.load(f1), pickle.load(f2))
        sys.exit(0 if worst <= 1e-9 else 1)
    if Path(a.shared).resolve().is_relative_to(Path(a.data).resolve()):
        sys.exit("--shared must not lie inside the prepared folder")
    results, log = run(a.data, a.shared)
    if a.out:
        with open(a.out, "wb") as fh:
            pickle.dump(results, fh, protocol=pickle.HIGHEST_PROTOCOL)
    if a.json:
        Path(a.json).write_text(json.dumps(log, indent=1))


if __name__ == "__main__":
    main()
