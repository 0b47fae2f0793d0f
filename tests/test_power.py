"""Minimum detectable effects and power (nsv_eval.stats.power).

Checked against planted truth: for each route (closed-form ITS, closed-form cohort,
simulated DiD panel) an effect of exactly the computed MDE is planted in simulated data,
the real estimator is run, and the share of simulations in which it rejects "no effect" at
5 % must be about the promised 80 % (tolerance from the binomial error of the number of
simulations, 3 to 4 binomial standard errors; the simulations are seeded, so the tests are
deterministic).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nsv_eval.report import narrative
from nsv_eval.stats import its
from nsv_eval.stats import power as pw


def test_mde_from_se_gives_the_promised_power():
    m = pw.mde_from_se(0.1)
    assert m.mde == pytest.approx((1.959964 + 0.841621) * 0.1, rel=1e-5)
    assert pw.power_from_se(m.mde, 0.1) == pytest.approx(0.8, abs=0.001)
    assert m.ratio_decrease == pytest.approx(np.exp(-m.mde))
    txt = narrative.power.mde_text(m)
    assert "80 % styrke" in txt and "rateratio på 0,76" in txt
    add = pw.mde_from_se(2.0, scale="additive")
    assert "±5,6 pr. 1.000" in narrative.power.mde_text(add, "pr. 1.000")
    assert np.isnan(pw.mde_from_se(float("nan")).mde)
    d = m.to_dict()
    assert d["mde_ratio"] == pytest.approx(m.ratio_decrease) and d["mde_power"] == 0.8


def _its_series(n_pre, n_post, level, amp, rr, rng, dispersion=1.0):
    t = np.arange(n_pre + n_post)
    mu = level * (1 + amp * np.cos(2 * np.pi * t / 12)) * np.where(t >= n_pre, rr, 1.0)
    lam = rng.gamma(mu / (dispersion - 1), dispersion - 1) if dispersion > 1 else mu
    return pd.DataFrame({"t": t, "month": t % 12 + 1, "count": rng.poisson(lam), "py": 1000.0})


@pytest.mark.parametrize("dispersion", [1.0, 2.0])
def test_its_mde_detected_80_percent(dispersion):
    n_pre, n_post, level, amp = 48, 24, 6.0, 0.15
    m = pw.its_mde(n_pre, n_post, level, season_amplitude=amp, dispersion=dispersion)
    rr = m.ratio_decrease
    rng = np.random.default_rng(11)
    n_sim = 300
    hits = 0
    for _ in range(n_sim):
        s = _its_series(n_pre, n_post, level, amp, rr, rng, dispersion)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = its(s, "count", "t", n_pre, offset="py", season_col="month")
        hits += r.main_effect()["upper"] < 1
    share = hits / n_sim
    assert share == pytest.approx(0.8, abs=0.08), share


def test_cohort_mde_detected_80_percent():
    # ~140 expected events among the treated; with very few events (< ~50) the delta-method
    # MDE is conservative (e.g. 800 vs 3000 at 6 %: 85 % detected)
    n1, n0, p0 = 3000, 10000, 0.06
    m = pw.cohort_mde(n1, n0, p0)
    p1 = p0 * m.ratio_decrease
    rng = np.random.default_rng(2)
    n_sim = 3000
    a = rng.binomial(n1, p1, n_sim)
    c = rng.binomial(n0, p0, n_sim)
    ok = (a > 0) & (c > 0)
    lrr = np.log((a / n1) / (c / n0))
    se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    share = np.mean(ok & (np.abs(lrr / se) > sps.norm.ppf(0.975)))
    assert share == pytest.approx(0.8, abs=0.03), share
    # a design effect of 2 needs a larger effect
    assert pw.cohort_mde(n1, n0, p0, design_effect=2).mde > m.mde


def _template(n=30, years=range(2012, 2020), seed=3):
    rng = np.random.default_rng(seed)
    starts = rng.choice([0, 0, 2015, 2017], size=n)
    size = rng.lognormal(9, 0.8, size=n)  # unequal kommuner
    t = pd.DataFrame(
        [
            dict(kommune_code=i, year=y, first_treated=starts[i], person_years=size[i])
            for i in range(n)
            for y in years
        ]
    )
    unit_level = np.exp(rng.normal(0, 0.2, n))
    mu0 = (
        t["person_years"] * 0.02 * unit_level[t["kommune_code"]] * np.exp(0.02 * (t["year"] - 2012))
    )
    return t, mu0


def test_did_panel_mde_detected_80_percent():
    """Simulated MDE of the Poisson DiD; planting it gives ~80 % detection."""
    t, mu0 = _template()
    m = pw.did_panel_mde(t, n_sim=60, seed=5, mu0=mu0, dispersion=1.5)
    assert m.method == "simulation" and 0 < m.mde < 1
    r = pw.did_panel_power(t, m.ratio_decrease, n_sim=100, seed=6, mu0=mu0, dispersion=1.5)
    assert r["power"] == pytest.approx(0.8, abs=0.13), r
    assert r["coverage"] >= 0.85, r


def test_simulated_panel_keeps_structure_and_dispersion():
    t, mu0 = _template(n=40)
    rng = np.random.default_rng(1)
    sims = np.array(
        [pw.simulate_panel(t, mu0, 1.0, rng, dispersion=3.0)["count"] for _ in range(400)]
    )
    ratio = sims.var(axis=0) / sims.mean(axis=0)
    assert np.median(ratio) == pytest.approx(3.0, rel=0.15)
    base, phi = pw.panel_baseline(pw.simulate_panel(t, mu0, 1.0, rng, dispersion=3.0))
    assert phi == pytest.approx(3.0, rel=0.35)
    assert len(base) == len(t)
