"""The vectorised cluster-robust (CR1) meat that :func:`nsv_eval.stats.designs.rd.rd_fit`
puts in place of rdrobust's per-cluster loop (``_cr1_meat``) against the library's own
``rdrobust_vce`` and a whole ``rdrobust`` fit with the library untouched.

Reference: rdrobust 2.1 itself (``rdrobust.funs.rdrobust_vce``, the standard CR1 branch) on
a planted clustered data set — persons with several rows, as in study 8. The meat must agree
to floating-point precision (only the order of additions differs); a whole fit, whose
bandwidth selection amplifies those last digits, to 1e-8 relative.
"""

from __future__ import annotations

import contextlib
import importlib

import numpy as np
import pytest

rdm = importlib.import_module("nsv_eval.stats.designs.rd")
funs = pytest.importorskip("rdrobust.funs")


def _data(seed: int = 3, persons: int = 3000):
    rng = np.random.default_rng(seed)
    months = rng.integers(5, 25, persons)
    pid = np.repeat(np.arange(persons), months)
    start = np.repeat(rng.integers(-12, 0, persons), months)
    k = start + np.concatenate([np.arange(m) for m in months])
    frailty = np.repeat(rng.gamma(2.0, 0.5, persons), months)
    treated = (k >= 1) & (rng.random(len(k)) < 0.6)
    y = rng.poisson(0.08 * frailty * np.where(treated, 0.8, 1.0)) / (30 / 365.25) * 1000
    w = rng.uniform(28, 31, len(k)) / 365.25
    # cluster ids in random order, not sorted
    labels = rng.permutation(persons)[pid]
    return y, k.astype(float), treated.astype(float), labels, w


@pytest.mark.parametrize("d", [0, 1])
def test_meat_equals_library(d: int) -> None:
    rng = np.random.default_rng(11)
    n, g = 5000, 700
    C = rng.integers(0, g, n).reshape(-1, 1)
    RX = rng.normal(size=(n, 3))
    res = rng.normal(size=(n, 1 + d))
    s = np.array([1.0, -0.4])[: 1 + d]
    for k_override in (None, 3):
        want = funs.rdrobust_vce(d, s, RX, res, C, k_override=k_override)
        got = rdm._cr1_meat(d, s, RX, res, C, k_override=k_override)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    # the branches it does not vectorise are the library's (no cluster)
    rdm._LIBRARY_VCE[:] = [funs.rdrobust_vce]
    np.testing.assert_array_equal(
        rdm._cr1_meat(d, s, RX, res, None), funs.rdrobust_vce(d, s, RX, res, None)
    )


@pytest.mark.parametrize("fuzzy", [True, False])
def test_fit_equals_library_fit(fuzzy: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    y, x, t, cl, w = _data()
    kw = dict(cluster=cl, weights=w, fuzzy=t if fuzzy else None)
    fast = rdm.rd_fit(y, x, 0.5, engine="library", **kw)
    # the library untouched: rd_fit without the replacement
    monkeypatch.setattr(rdm, "_fast_cluster_vce", contextlib.nullcontext)
    lib = rdm.rd_fit(y, x, 0.5, engine="library", **kw)
    for f in ("estimate", "se", "lower", "upper", "p_value", "se_robust", "h", "b"):
        assert getattr(fast, f) == pytest.approx(getattr(lib, f), rel=1e-8), f
    assert (fast.n_left, fast.n_right) == (lib.n_left, lib.n_right)
    # and the library is restored after the fit
    for m in ("funs", "rdbwselect", "rdrobust"):
        assert importlib.import_module(f"rdrobust.{m}").rdrobust_vce is funs.rdrobust_vce
