"""The lean RD fit (:mod:`nsv_eval.stats.designs.rd_lean`) against ``rdrobust`` itself.

Reference: rdrobust 2.1 (Calonico, Cattaneo, Farrell & Titiunik), the library untouched
(``rdrobust.rdrobust`` with ``vce="cr1"`` through :func:`rd_fit` with ``engine="library"``
and the vectorised meat switched off) on several planted data sets: a person × month panel
as in study 8 (discrete running variable with mass points, exposure weights, sharp and
fuzzy, manual and data-driven bandwidths, cutoffs inside a month and between months), a
continuous running variable with small clusters (no mass points, so no ``bwcheck``), the
three kernels, ``p = 2``, zero weights, string cluster ids and unsorted rows. Bandwidths,
estimates, robust intervals, p-values and standard errors must agree to 1e-8 relative
(the library's own results move by ~1e-9 when the same rows come in another order; see
the module docstring of ``rd_lean``), the effective numbers of rows exactly.
"""

from __future__ import annotations

import contextlib
import importlib

import numpy as np
import pytest

pytest.importorskip("rdrobust")
rdm = importlib.import_module("nsv_eval.stats.designs.rd")
lean = importlib.import_module("nsv_eval.stats.designs.rd_lean")

FIELDS = ("estimate", "se", "lower", "upper", "p_value", "se_robust", "h", "b")


def _panel(seed: int, persons: int = 2500):
    rng = np.random.default_rng(seed)
    months = rng.integers(3, 26, persons)
    pid = np.repeat(np.arange(persons), months)
    k = np.repeat(rng.integers(-12, 0, persons), months) + np.concatenate(
        [np.arange(m) for m in months]
    )
    frailty = np.repeat(rng.gamma(2.0, 0.5, persons), months)
    treated = ((k >= 1) & (rng.random(len(k)) < 0.55)) | (rng.random(len(k)) < 0.05)
    exposure = rng.uniform(20, 31, len(k)) / 365.25
    y = rng.poisson(0.1 * frailty * np.where(treated, 0.8, 1.0)) / exposure * 1000
    labels = np.array([f"p{i}" for i in rng.permutation(persons)])[pid]
    return y, k.astype(float), treated.astype(float), labels, exposure


def _continuous(seed: int, n: int = 4000):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    d = (rng.random(n) < np.where(x >= 0, 0.7, 0.2)).astype(float)
    y = 1 + 0.5 * x - 0.3 * x**2 + 1.5 * d + rng.normal(0, 1, n)
    cl = rng.integers(0, n // 3, n)
    w = rng.uniform(0.5, 2.0, n)
    w[rng.random(n) < 0.02] = 0.0
    return y, x, d, cl, w


def _library(y, x, c, **kw):
    """The untouched library (no vectorised meat either)."""
    orig = rdm._fast_cluster_vce
    rdm._fast_cluster_vce = contextlib.nullcontext
    try:
        return rdm.rd_fit(y, x, c, engine="library", **kw)
    finally:
        rdm._fast_cluster_vce = orig


def _assert_same(got, want, rel=1e-8):
    for f in FIELDS:
        assert getattr(got, f) == pytest.approx(getattr(want, f), rel=rel), f
    assert (got.n_left, got.n_right) == (want.n_left, want.n_right)


CASES = [
    # (data, cutoff, options)
    ("panel", 0.5, dict(fuzzy=True, weights=True)),
    ("panel", 0.5, dict(fuzzy=False, weights=True)),
    ("panel", 0.5, dict(fuzzy=True, weights=True, h=3.0)),
    ("panel", 0.5, dict(fuzzy=False, weights=False, h=5.5)),
    ("panel", 3.5, dict(fuzzy=True, weights=True)),
    ("panel", 0.5, dict(fuzzy=True, weights=True, kernel="epanechnikov")),
    ("panel", 0.5, dict(fuzzy=False, weights=True, kernel="uniform")),
    ("panel", 0.5, dict(fuzzy=True, weights=True, p=2)),
    ("continuous", 0.0, dict(fuzzy=True, weights=True)),
    ("continuous", 0.0, dict(fuzzy=False, weights=False)),
    ("continuous", 0.2, dict(fuzzy=False, weights=True, kernel="epanechnikov")),
    ("continuous", 0.0, dict(fuzzy=True, weights=False, kernel="uniform", h=0.4)),
]


@pytest.mark.parametrize("seed", [3, 8])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_lean_fit_equals_rdrobust(case: int, seed: int) -> None:
    data, c, opt = CASES[case]
    y, x, d, cl, w = _panel(seed) if data == "panel" else _continuous(seed)
    kw = dict(
        cluster=cl,
        fuzzy=d if opt["fuzzy"] else None,
        weights=w if opt["weights"] else None,
        h=opt.get("h"),
        p=opt.get("p", 1),
        kernel=opt.get("kernel", "triangular"),
    )
    want = _library(y, x, c, **kw)
    got = rdm.rd_fit(y, x, c, **kw)  # engine="auto": the lean path
    kern = {"triangular": "tri", "epanechnikov": "epa", "uniform": "uni"}[kw.pop("kernel")]
    direct = lean.lean_fit(y, x, c, kernel=kern, **kw)
    assert direct is not None  # the case is on the reproduced path
    assert got == rdm.RDFit(**vars(direct))
    _assert_same(got, want)


def test_both_meat_paths_agree() -> None:
    """The cluster × value grid (a panel) and the row-by-row sums (forced here) give the
    library's numbers on the same data."""
    y, x, d, cl, w = _panel(5)
    want = _library(y, x, 0.5, cluster=cl, fuzzy=d, weights=w)
    dense = lean.lean_fit(y, x, 0.5, cluster=cl, fuzzy=d, weights=w)
    old = lean.DENSE_CELLS_PER_ROW
    lean.DENSE_CELLS_PER_ROW = 0.0
    try:
        rows = lean.lean_fit(y, x, 0.5, cluster=cl, fuzzy=d, weights=w)
    finally:
        lean.DENSE_CELLS_PER_ROW = old
    for got in (dense, rows):
        _assert_same(got, want)


def test_integer_cluster_ids_are_used_as_they_are() -> None:
    """Integer ids (study 8 passes person numbers) with gaps: the unused numbers are empty
    clusters, which neither count as clusters nor add to the meat."""
    y, x, d, cl, w = _panel(7)
    ids = np.unique(cl, return_inverse=True)[1] * 3 + 1
    want = _library(y, x, 0.5, cluster=ids, fuzzy=d, weights=w)
    _assert_same(lean.lean_fit(y, x, 0.5, cluster=ids, fuzzy=d, weights=w), want)
    _assert_same(lean.lean_fit(y, x, 0.5, cluster=cl, fuzzy=d, weights=w), want, rel=1e-12)


def test_rows_in_any_order_give_the_same_fit() -> None:
    y, x, d, cl, w = _panel(4)
    a = lean.lean_fit(y, x, 0.5, cluster=cl, fuzzy=d, weights=w)
    idx = np.random.default_rng(1).permutation(len(y))
    b = lean.lean_fit(y[idx], x[idx], 0.5, cluster=cl[idx], fuzzy=d[idx], weights=w[idx])
    _assert_same(a, b, rel=1e-10)


def test_cases_off_the_reproduced_path_go_to_the_library() -> None:
    y, x, d, cl, w = _panel(6)
    # not reproduced: no cluster, another selector, missing values, negative weights, a
    # treatment constant at a value other than 0/1 on a side, cutoff outside the data
    assert lean.lean_fit(y, x, 0.5, cluster=None) is None
    assert lean.lean_fit(y, x, 0.5, cluster=cl, bwselect="msetwo") is None
    y_nan = y.copy()
    y_nan[3] = np.nan
    assert lean.lean_fit(y_nan, x, 0.5, cluster=cl) is None
    w_neg = w.copy()
    w_neg[0] = -1.0
    assert lean.lean_fit(y, x, 0.5, cluster=cl, weights=w_neg) is None
    d_const = np.where(x >= 0.5, d, 0.3)
    assert lean.lean_fit(y, x, 0.5, cluster=cl, fuzzy=d_const) is None
    assert lean.lean_fit(y, x, 40.0, cluster=cl) is None
    # ... and rd_fit then returns the library's fit (or its error)
    got = rdm.rd_fit(y, x, 0.5, cluster=cl, bwselect="msetwo")
    assert got == rdm.rd_fit(y, x, 0.5, cluster=cl, bwselect="msetwo", engine="library")
    with pytest.raises(Exception, match="range of x"):
        rdm.rd_fit(y, x, 40.0, cluster=cl)
    with pytest.raises(ValueError, match="engine"):
        rdm.rd_fit(y, x, 0.5, cluster=cl, engine="fast")


# --------------------------------------------------------------------------------------
# the sums: the integer-coded running variable, the blockwise grids and the shared sums
# of a fuzzy fit's three fits must be the very numbers of the general path (exact)
# --------------------------------------------------------------------------------------
_SUMS = ("vals", "cnt", "cntpos", "SY", "ST", "SF", "SYg", "STg", "SFg", "POSg")


def _data(y, x, d, cl, w, *, factorize: bool, dense: bool | None = None):
    """``_Data`` with the factorisation forced (``factorize``) and the grids (``dense``
    True) or the row sums (False) forced."""
    old_span, old_dense = lean.INTEGER_SPAN, lean.DENSE_CELLS_PER_ROW
    lean.INTEGER_SPAN = 0 if factorize else old_span
    if dense is not None:
        lean.DENSE_CELLS_PER_ROW = 1e9 if dense else 0.0
    try:
        return lean._Data(y, x, d, cl, w)
    finally:
        lean.INTEGER_SPAN, lean.DENSE_CELLS_PER_ROW = old_span, old_dense


def _same_sums(a, b) -> None:
    for name in _SUMS + ("xi",):
        u, v = getattr(a, name, None), getattr(b, name, None)
        assert (u is None) == (v is None), name
        if u is not None:
            assert u.dtype == v.dtype and np.array_equal(u, v), name
            if u.dtype.kind == "f":
                assert np.array_equal(np.signbit(u), np.signbit(v)), name
    assert (a.x_sd, a.y_sd, a.t_sd, a.nv, a.n, a.G) == (b.x_sd, b.y_sd, b.t_sd, b.nv, b.n, b.G)


@pytest.mark.parametrize("dense", [True, False])
def test_integer_coded_running_variable_equals_the_factorised_one(dense) -> None:
    """x − min (integer months, with a gap in the values and zero weights) gives the
    factorisation's values, counts and sums exactly, on both meat paths."""
    y, x, d, cl, w = _panel(11)
    x = np.where(x == -3.0, -4.0, x)  # a value missing inside the range: the renumbering
    w = np.where(np.arange(len(w)) % 17 == 0, 0.0, w)
    ids = np.unique(cl, return_inverse=True)[1]
    assert lean._integer_codes(x) is not None
    fast = _data(y, x, d, ids, w, factorize=False, dense=dense)
    slow = _data(y, x, d, ids, w, factorize=True, dense=dense)
    assert fast.dense == dense
    _same_sums(fast, slow)
    # the fits from them, exactly
    kw = dict(cluster=ids, fuzzy=d, weights=w)
    old = lean.INTEGER_SPAN, lean.DENSE_CELLS_PER_ROW
    lean.DENSE_CELLS_PER_ROW = 1e9 if dense else 0.0
    try:
        got = lean.lean_fit(y, x, 0.5, **kw)
        lean.INTEGER_SPAN = 0
        want = lean.lean_fit(y, x, 0.5, **kw)
    finally:
        lean.INTEGER_SPAN, lean.DENSE_CELLS_PER_ROW = old
    assert got is not None and got == want


def test_negative_zero_and_non_integer_running_variables() -> None:
    """A -0.0 seen before 0.0 is the value pandas keeps; non-integer values and a wide
    span leave the integer coding (then the factorisation decides)."""
    y, x, d, cl, w = _panel(12)
    ids = np.unique(cl, return_inverse=True)[1]
    xz = x.copy()
    first = int(np.flatnonzero(xz == 0)[0])
    xz[first] = -0.0
    fast = _data(y, xz, d, ids, w, factorize=False)
    slow = _data(y, xz, d, ids, w, factorize=True)
    assert np.signbit(fast.vals[fast.vals == 0]).all()
    _same_sums(fast, slow)
    assert lean._integer_codes(x + 0.5) is None
    assert lean._integer_codes(x * 1e6) is None  # a span beyond INTEGER_SPAN
    yc, xc, dc, clc, wc = _continuous(4)
    assert lean._integer_codes(xc) is None
    a = _data(yc, xc, dc, clc, wc, factorize=False)
    b = _data(yc, xc, dc, clc, wc, factorize=True)
    _same_sums(a, b)


def test_blockwise_grids_equal_one_bincount(monkeypatch) -> None:
    """The cluster × value grids summed block by block (``np.add.at``, small blocks here)
    equal one ``np.bincount`` of all rows — the same additions in the same order."""
    y, x, d, cl, w = _panel(13)
    ids = np.unique(cl, return_inverse=True)[1]
    monkeypatch.setattr(lean, "ROW_BLOCK", 1000)
    got = _data(y, x, d, ids, w, factorize=False, dense=True)
    vals, xi = np.unique(x, return_inverse=True)
    G = int(ids.max()) + 1
    cell = xi * G + ids
    size = len(vals) * G
    for name, weights in (("SYg", w * y), ("STg", w * d), ("SFg", w)):
        want = np.bincount(cell, weights=weights, minlength=size).reshape(len(vals), G)
        assert np.array_equal(getattr(got, name), want), name
    assert np.array_equal(got.POSg, (np.bincount(cell, weights=(w > 0) * 1.0, minlength=size)
                                     > 0).reshape(len(vals), G))  # fmt: skip
    assert np.array_equal(got.vals, vals)


@pytest.mark.parametrize("data", ["panel", "continuous"])
@pytest.mark.parametrize("weighted", [True, False])
def test_fuzzy_fits_from_shared_sums_equal_three_fits(data, weighted) -> None:
    """lean_fuzzy_fits = lean_fit(fuzzy), lean_fit(treatment, h) and lean_fit(outcome, h),
    exactly (dense grids for the panel, row sums for the continuous variable)."""
    y, x, d, cl, w = _panel(14) if data == "panel" else _continuous(14)
    if data == "panel":
        cl = np.unique(cl, return_inverse=True)[1]
    c = 0.5 if data == "panel" else 0.0
    kw = dict(cluster=cl, weights=w if weighted else None)
    main, first, reduced = lean.lean_fuzzy_fits(y, x, c, fuzzy=d, **kw)
    want_main = lean.lean_fit(y, x, c, fuzzy=d, **kw)
    assert main == want_main
    assert first == lean.lean_fit(d, x, c, h=main.h, **kw)
    assert reduced == lean.lean_fit(y, x, c, h=main.h, **kw)
    assert first is not None and reduced is not None
    # ... and equal to the library's fits (the shared path is on the tested path)
    _assert_same(first, _library(d, x, c, h=main.h, **kw))
    # rd() uses them: its table equals three rd_fit calls
    import pandas as pd

    frame = pd.DataFrame({"y": y, "x": x, "d": d, "cl": cl, "w": w})
    res = rdm.rd(frame, "y", "x", c, treatment="d", cluster="cl",
                 weights="w" if weighted else None)  # fmt: skip
    rows = res.table().set_index("term")
    fk = dict(cluster=cl, weights=w if weighted else None)
    m = rdm.rd_fit(y, x, c, fuzzy=d, **fk)
    for term, fit in (
        ("late", m),
        ("first_stage", rdm.rd_fit(d, x, c, h=m.h, **fk)),
        ("reduced_form", rdm.rd_fit(y, x, c, h=m.h, **fk)),
    ):
        assert rows.loc[term].to_dict() == {k: v for k, v in fit.row(term).items() if k != "term"}


def test_fuzzy_fits_off_the_path() -> None:
    y, x, d, cl, w = _panel(15)
    assert lean.lean_fuzzy_fits(y, x, 0.5, fuzzy=d, cluster=None) is None
    assert lean.lean_fuzzy_fits(y, x, 0.5, fuzzy=d, cluster=cl, bwselect="msetwo") is None
    assert lean.lean_fuzzy_fits(y, x, 40.0, fuzzy=d, cluster=cl) is None
    with pytest.raises(ValueError, match="fuzzy"):
        lean.lean_fuzzy_fits(y, x, 0.5, fuzzy=None, cluster=cl)
    # rd() then gives the library's fits
    import pandas as pd

    frame = pd.DataFrame({"y": y, "x": x, "d": d, "cl": cl})
    res = rdm.rd(frame, "y", "x", 0.5, treatment="d", cluster="cl", bwselect="msetwo")
    m = rdm.rd_fit(y, x, 0.5, fuzzy=d, cluster=cl, bwselect="msetwo", engine="library")
    assert res.table().set_index("term").loc["late", "estimate"] == m.estimate
