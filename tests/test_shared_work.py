"""The shared national work in parallel worker processes (:mod:`nsv_eval.analyses.shared`).

Checked against the old path on the test session's small synthetic Denmark: study 8's and
study 3's national work done in one process, sequentially (the old ``prepare_shared``:
``preventive.shared_work`` and ``falls.shared_work``), must write the same memo entries
(same keys) with equal contents as the pieces computed by two workers in parallel; and the
reports of ``nsv-eval run`` with study 8's pieces computed beside the kernel must carry the
same key results as the reports whose notebooks computed everything themselves
(``jobs=0``, the old ``run``). Both sides run with one BLAS thread (a spawned process, the
kernels), as the new path does, and read the same cube summaries, so "equal" means equal,
not "close".
"""

from __future__ import annotations

import json
import multiprocessing
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.analyses import shared as sw


def _sequential(data_dir: str, shared_dir: str) -> None:
    """The old path, in a process of its own: everything one after the other."""
    from nsv_eval.analyses import falls
    from nsv_eval.analyses import preventive as pv
    from nsv_eval.analyses.data import SUMMARIES, Prepared

    prep = Prepared(data_dir, shared_dir)
    for name in SUMMARIES:
        prep.summary(name)
    falls.shared_work(prep)
    # the order of the old preventive.shared_work
    pv.uptake_all(prep)
    pv.rd_for_scope(prep, None)
    pv.bins_for_scope(prep, None, "acute")
    pv.density_for_scope(prep, None)
    pv.placebos_for_scope(prep, None)
    for outcome in ("acute_12m", "planned_12m"):
        pv.accepted_vs_declined_for_scope(prep, None, outcome)


def _flat(obj: object, path: str, out: dict) -> None:
    """Every number, string and array of a memoised result, by path."""
    import dataclasses

    if isinstance(obj, pd.DataFrame):
        out[f"{path}.columns"] = list(obj.columns)
        for c in obj.columns:
            _flat(obj[c], f"{path}[{c}]", out)
    elif isinstance(obj, pd.Series):
        out[path] = (str(obj.dtype), obj.to_numpy())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _flat(getattr(obj, f.name), f"{path}.{f.name}", out)
    elif isinstance(obj, dict) and path.endswith("._df_cache"):
        pass  # a lazily filled private cache (keyed by contrast bytes), not a result
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flat(v, f"{path}/{k}", out)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _flat(v, f"{path}/{i}", out)
    elif hasattr(obj, "params") and hasattr(obj, "bse"):  # a statsmodels fit
        _flat(pd.Series(obj.params), f"{path}.params", out)
        _flat(pd.Series(obj.bse), f"{path}.bse", out)
    else:
        out[path] = obj


def _equal(a: object, b: object, rtol: float = 0.0) -> bool:
    """Exact equality (floats within ``rtol`` when it is > 0); missing values (NaN, NaT,
    None) equal where both have them."""
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[1], np.ndarray):
        return a[0] == b[0] and _equal(a[1], b[1], rtol)  # type: ignore[index]
    if isinstance(a, np.ndarray):
        if not (isinstance(b, np.ndarray) and a.shape == b.shape):
            return False
        if rtol and a.dtype.kind == "f" and b.dtype.kind == "f":
            return bool(np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True))
        return pd.Series(a.ravel()).equals(pd.Series(b.ravel()))
    if rtol and isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=rtol, atol=0.0, equal_nan=True))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return repr(a) == repr(b)


def _memo(shared: Path) -> dict[str, dict]:
    out = {}
    for p in sorted((shared / "memo").glob("*.pkl")):
        flat: dict = {}
        with p.open("rb") as fh:
            _flat(pickle.load(fh), "", flat)
        out[p.name] = flat
    return out


def test_pieces_in_parallel_workers_equal_the_sequential_work(
    prepared_dir: Path, tmp_path: Path
) -> None:
    """Two workers computing the pieces write exactly the entries of the old sequential path."""
    old, new = tmp_path / "sequential", tmp_path / "pieces"
    ctx = multiprocessing.get_context("spawn")
    with sw._environ(sw.blas_env()):
        proc = ctx.Process(target=_sequential, args=(str(prepared_dir), str(old)))
        proc.start()
    proc.join()
    assert proc.exitcode == 0
    # the same cube summaries on both sides: DuckDB's multi-threaded sums of person-years
    # may differ in the last bit between two aggregations of the cube (the national panel
    # of study 3 and its memo key then differ too), which is not what this test is about
    new.mkdir()
    for f in old.glob("*.parquet"):
        shutil.copy2(f, new / f.name)
    work = sw.compute_all(prepared_dir, new, sw.pieces(["fald", "forebyggende"]), jobs=2)
    assert not work.errors, work.errors
    assert set(work.seconds) == {p.label for p in work.pieces}
    a, b = _memo(old), _memo(new)
    assert sorted(a) == sorted(b) and len(a) >= 12  # 4 fald + 8 study 8 entries
    assert any(k.startswith("preventive_placebo") for k in a)
    for name in a:
        assert a[name].keys() == b[name].keys(), name
        if name.startswith("falls_national_poisson_did"):
            # pyfixest's Poisson fit is not reproducible to the last digits between two
            # runs of the same code on this small data (its cluster-robust covariance moved
            # by up to ~5e-7 relative in repeated runs of this test, its headline estimate
            # by ~1e-14): only the headline, to 1e-9; every other entry exactly
            for key in ("/0.effects[estimate]",):
                assert _equal(a[name][key], b[name][key], 1e-9), (name, key)
            continue
        for key in a[name]:
            assert _equal(a[name][key], b[name][key]), (name, key)
    for p in sorted(old.glob("*.parquet")):  # the cube summaries
        pd.testing.assert_frame_equal(pd.read_parquet(p), pd.read_parquet(new / p.name))


def test_pieces_follow_the_kommunes_parameters() -> None:
    """A kommune whose study 8 covers its region gets pieces for the region, at its conf."""
    from nsv_eval.analyses.preventive import scope_codes

    params = {"kommune": 580, "conf": 0.9, "studies": {"forebyggende": {"scope": "region"}}}
    todo = sw.pieces(["forebyggende"], params)
    assert [p.name for p in todo if p.study] == ["offer_age", "density", "placebo_ages"]
    kw = dict(todo[0].kwargs)
    assert list(kw["scope"]) == scope_codes("region", 580) and kw["conf"] == 0.9
    assert [p.study for p in sw.pieces(["kommuneprofil"])] == [""] * 3  # summaries only


def test_a_failing_piece_is_reported_not_raised(prepared_dir: Path, tmp_path: Path) -> None:
    bad = sw.Piece("forebyggende", "no_such_piece")
    work = sw.compute_all(prepared_dir, tmp_path, [bad, sw.Piece("", "month")], jobs=1)
    assert "unknown piece forebyggende/no_such_piece" in work.errors[bad.label]
    assert "summary/month" in work.seconds and "summary/month" not in work.errors


def _key_results(out: Path) -> dict[str, dict]:
    got = {}
    for p in sorted((out / "326").glob("[0-9][0-9]_*.json")):
        d = json.loads(p.read_text(encoding="utf-8"))
        got[p.name] = {"findings": d["findings"], "values": d["values"]}
    return got


@pytest.mark.slow
def test_run_with_work_beside_the_kernel_equals_the_notebooks_own(
    prepared_dir: Path, tmp_path: Path
) -> None:
    """``run_studies`` with study 8's pieces in worker processes (the new default) writes the
    key results of the old path, where the notebook computed its national work itself."""
    from nsv_eval.analyses.data import SUMMARIES, Prepared
    from nsv_eval.report.render import run_studies

    # the same cube summaries on both sides (see above)
    prep = Prepared(prepared_dir, tmp_path / "old-shared")
    for name in SUMMARIES:
        prep.summary(name)
    shutil.copytree(tmp_path / "old-shared", tmp_path / "new-shared")
    # study 8 only: its work moved to the workers (study 3's notebook computes its own
    # national fits in both paths, and pyfixest's Poisson fit flips late digits between
    # two runs of the same code, ~1e-14)
    studies = ["kommuneprofil", "forebyggende"]
    old = run_studies(
        studies,
        326,
        data_dir=prepared_dir,
        out_dir=tmp_path / "old",
        shared_dir=tmp_path / "old-shared",
        jobs=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = run_studies(
            studies,
            326,
            data_dir=prepared_dir,
            out_dir=tmp_path / "new",
            shared_dir=tmp_path / "new-shared",
        )
    # every piece was computed by the workers (a failed one is warned about and left to
    # the notebook, which would make this comparison moot)
    assert not [w for w in caught if "shared national work" in str(w.message)]
    assert [r.status for r in old] == [r.status for r in new] == ["ok", "ok"], [
        r.error for r in old + new
    ]
    a, b = _key_results(tmp_path / "old"), _key_results(tmp_path / "new")
    assert len(a) == 2 and a == b
    # the new path's study 8 entries were written by the workers, not by the notebook:
    # the same set of entries as the old path's
    assert sorted(p.name for p in (tmp_path / "old-shared" / "memo").glob("preventive_*")) == (
        sorted(p.name for p in (tmp_path / "new-shared" / "memo").glob("preventive_*"))
    )
