"""Regression discontinuity (:mod:`nsv_eval.stats.designs.rd`) against published results.

Reference: the U.S. Senate incumbency example of the ``rdrobust`` package (data of
Cattaneo, Frandsen & Titiunik 2015, J. Causal Inference 3(1):1-24; copied unchanged from
github.com/rdpackages/rdrobust, ``Python/rdrobust_senate.csv`` at commit 34aac07, GPL-3.0,
to ``tests/data/rd/rdrobust_senate.csv``). Published output of ``rdrobust vote margin``
with the defaults (local linear, triangular kernel, one MSE-optimal bandwidth, NN variance)
in Calonico, Cattaneo, Farrell & Titiunik (2017), "rdrobust: Software for
regression-discontinuity designs", Stata Journal 17(2):372-404, and the R/Python package
illustrations: h = 17.754, b = 28.028, effective observations 360 left / 323 right,
conventional estimate 7.414 (SE 1.459, 95 % CI 4.555 to 10.273), robust bias-corrected
95 % CI 4.094 to 10.919 (printed to three decimals; pinned here to that precision).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

rdmod = importlib.import_module("nsv_eval.stats.designs.rd")  # the module, not the function

DATA = Path(__file__).parent / "data" / "rd" / "rdrobust_senate.csv"


@pytest.fixture(scope="module")
def senate() -> pd.DataFrame:
    return pd.read_csv(DATA).dropna(subset=["vote", "margin"]).reset_index(drop=True)


def test_senate_sharp_rd_reproduces_published_output(senate) -> None:
    res = rdmod.rd(senate, "vote", "margin", 0.0)
    row = res.main_effect()
    assert row["estimate"] == pytest.approx(7.414, abs=5e-4)
    assert row["se"] == pytest.approx(1.459, abs=5e-4)
    assert row["lower"] == pytest.approx(4.094, abs=5e-4)
    assert row["upper"] == pytest.approx(10.919, abs=5e-4)
    assert res.bandwidth == pytest.approx(17.754, abs=5e-4)
    assert res.bandwidth_bias == pytest.approx(28.028, abs=5e-4)
    assert (row["n_left"], row["n_right"]) == (360, 323)
    assert row["p_value"] < 1e-4
    # minimum detectable effect: (1.960 + 0.842) x robust SE
    assert res.mde == pytest.approx(2.8016 * row["se_robust"], rel=1e-3)


def test_fuzzy_rd_with_full_compliance_equals_sharp(senate) -> None:
    """A fuzzy RD whose treatment is exactly the side of the cutoff is the sharp RD
    (first stage 1, LATE = reduced form) — an identity, independent of the data."""
    df = senate.assign(d=(senate["margin"] >= 0).astype(float))
    sharp = rdmod.rd(df, "vote", "margin").main_effect()
    fuzzy = rdmod.rd(df, "vote", "margin", treatment="d").table().set_index("term")
    assert fuzzy.loc["first_stage", "estimate"] == pytest.approx(1.0, abs=1e-9)
    assert fuzzy.loc["late", "estimate"] == pytest.approx(sharp["estimate"], rel=1e-6)
    assert fuzzy.loc["reduced_form", "estimate"] == pytest.approx(sharp["estimate"], rel=1e-6)


def test_fuzzy_rd_recovers_planted_late() -> None:
    """Planted truth: a simulated fuzzy design (first stage 0.1 -> 0.6, constant effect
    2.0) — the robust interval contains 2.0 and excludes 0."""
    rng = np.random.default_rng(3)
    n = 20000
    x = rng.uniform(-1, 1, n)
    d = (rng.random(n) < np.where(x >= 0, 0.6, 0.1)).astype(float)
    y = 1 + 0.8 * x + 2.0 * d + rng.normal(0, 1, n)
    res = rdmod.rd(pd.DataFrame({"y": y, "x": x, "d": d}), "y", "x", treatment="d")
    t = res.table().set_index("term")
    assert t.loc["late", "lower"] < 2.0 < t.loc["late", "upper"]
    assert t.loc["late", "lower"] > 0
    assert t.loc["first_stage", "estimate"] == pytest.approx(0.5, abs=0.05)


def test_density_test_detects_planted_sorting() -> None:
    """Planted truth for rddensity: a smooth density passes (no sorting); moving half of
    the units just left of the cutoff to just right of it is detected."""
    rng = np.random.default_rng(11)
    x = rng.normal(0, 1, 8000)
    assert rdmod.rd_density(x).loc[0, "p_value"] > 0.05
    moved = x.copy()
    near = np.flatnonzero((x > -0.3) & (x < 0) & (rng.random(len(x)) < 0.5))
    moved[near] = -moved[near]
    out = rdmod.rd_density(moved)
    assert out.loc[0, "p_value"] < 0.01
    assert out.loc[0, "density_right"] > out.loc[0, "density_left"]


def test_placebo_cutoffs_and_errors(senate) -> None:
    pl = rdmod.rd_placebo(senate, "vote", "margin", [-20.0, 20.0])
    assert list(pl["cutoff"]) == [-20.0, 20.0]
    assert pl["p_value"].notna().all()
    with pytest.raises(ValueError, match="lacks column"):
        rdmod.rd(senate, "nope", "margin")
    with pytest.raises(ValueError, match="both sides"):
        rdmod.rd(senate[senate["margin"] < 0], "vote", "margin")
    with pytest.raises(ValueError, match="constant"):
        rdmod.rd(senate.assign(vote=1.0), "vote", "margin")
    bad = senate.assign(vote=senate["vote"].astype(object))
    bad.loc[3, "vote"] = "x"
    with pytest.raises(ValueError, match="row 3"):
        rdmod.rd(bad, "vote", "margin")


def test_binned_means_and_plot(senate) -> None:
    """Bins of a continuous running variable never straddle the cutoff and hold every row;
    the figure draws both sides."""
    import matplotlib

    matplotlib.use("Agg")
    res = rdmod.rd(senate, "vote", "margin")
    b = res.bins
    assert int(b["n"].sum()) == len(senate)
    assert ((b["x"] < 0) | (b["x"] > 0)).all()
    left = senate.loc[senate["margin"] < 0, "vote"]
    assert np.average(b.loc[b["x"] < 0, "mean"], weights=b.loc[b["x"] < 0, "weight"]) == (
        pytest.approx(left.mean())
    )
    fig = res.plot()
    assert len(fig.axes[0].lines) >= 3  # two fits and the cutoff line


def _groupby_bins(monkeypatch, *args, **kwargs) -> pd.DataFrame:
    """binned_means by its pandas group-by (the fast path switched off)."""
    with monkeypatch.context() as m:
        m.setattr(rdmod, "_binned_sums", lambda *a, **k: None)
        return rdmod.binned_means(*args, **kwargs)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("running", ["month", "month_float", "zero_first", "gaps", "margin"])
def test_binned_means_by_bincount_equal_the_groupby(senate, monkeypatch, running, weighted):
    """The bincount path (discrete months as integers or integer-valued floats, a -0.0 seen
    first, values missing in the range, a continuous running variable in equal-width bins)
    gives the pandas group-by's table: same values of x, rows and dtypes, sums to 1e-12
    relative (the group-by adds with compensated summation, the bincount in blocks added
    exactly); 200,000 rows so that the blocks matter."""
    rng = np.random.default_rng(3)
    n = 200_000
    month = rng.integers(-12, 13, n)
    d = pd.DataFrame(
        {
            "month": month,
            "month_float": month.astype(float),
            "zero_first": month.astype(float),
            "gaps": np.where(month == 3, 5, month),
            "margin": rng.normal(0, 30, n),
            "y": rng.poisson(0.2, n) / rng.uniform(0.05, 0.09, n),
            "flag": rng.random(n) < 0.3,
            "w": rng.uniform(0.05, 0.09, n),
        }
    )
    d.loc[np.flatnonzero(month == 0)[0], "zero_first"] = -0.0
    w = "w" if weighted else None
    for outcome in ("y", "flag"):
        got = rdmod.binned_means(d, outcome, running, w, cutoff=0.5)
        want = _groupby_bins(monkeypatch, d, outcome, running, w, cutoff=0.5)
        assert list(got.columns) == list(want.columns)
        assert list(got.dtypes) == list(want.dtypes)
        assert np.array_equal(got["x"], want["x"]) and np.array_equal(got["n"], want["n"])
        assert np.array_equal(np.signbit(got["x"].to_numpy(float)), np.signbit(want["x"]))
        if running == "zero_first":
            assert np.signbit(want.loc[want["x"] == 0, "x"]).all()  # -0.0 (seen first)
        for c in ("weight", "mean"):
            np.testing.assert_allclose(got[c], want[c], rtol=1e-12, atol=0)
    # the Senate data (continuous margin, missing-free): the same table as well
    got = rdmod.binned_means(senate, "vote", "margin", cutoff=0.0)
    want = _groupby_bins(monkeypatch, senate, "vote", "margin", cutoff=0.0)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0)


def test_binned_means_leaves_the_other_cases_to_the_groupby(monkeypatch) -> None:
    """Missing values, integer weights and a few non-integer values go the pandas way."""
    d = pd.DataFrame({"x": [0.5, 1.5, 0.5, 1.5] * 5, "y": [1.0, 2.0, np.nan, 4.0] * 5})
    d["wi"] = 2
    assert rdmod._binned_sums(d, "y", "x", None, 40, None) is None  # missing outcome
    d["y"] = d["y"].fillna(3.0)
    assert rdmod._binned_sums(d, "y", "x", None, 40, None) is None  # few non-integer x
    d["k"] = [0, 1, 2, 3] * 5
    assert rdmod._binned_sums(d, "y", "k", "wi", 40, None) is None  # integer weights
    assert rdmod._binned_sums(d, "y", "k", None, 40, None) is not None
    got = rdmod.binned_means(d, "y", "k", "wi")
    assert got["weight"].dtype == np.int64  # the group-by's integer sums
