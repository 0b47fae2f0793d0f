"""Tests of nsv_eval.stats.designs.ratio (an additive effect as a ratio observed/counterfactual).

Checked against
* the numbers of issue 17 on the shipped data: the falls DiD's ATT of -1.23 (-8.67 to 6.21)
  falls injuries per 1,000 person-years was reported as ratio 0.949 (0.639-1.258) by the old
  map ``1 + limit / counterfactual``. Those old limits pin the counterfactual mean at
  8.67 / (1 - 0.639) = 6.21 / (1.258 - 1) = 24.06, so the observed treated mean is
  24.06 - 1.23 = 22.83; the correct image of the interval with it held fixed is
  0.725-1.374 (the issue's figures);
* a planted truth: a treated mean with a known counterfactual, an interval for the additive
  effect that covers it in a known share of simulated samples, and the ratio interval
  covering the planted ratio exactly as often (the map is monotone and the observed mean
  is fixed).
"""

from __future__ import annotations

import numpy as np
import pytest

from nsv_eval.analyses.effects import rate_ratio_from_att
from nsv_eval.stats.designs import ratio_from_additive

OBS = 24.06 - 1.23  # observed treated mean implied by the issue's old numbers (see docstring)


def test_issue_numbers() -> None:
    """ATT -1.23 (-8.67 to 6.21) with observed mean 22.83 -> 0.949 (0.725 to 1.374)."""
    est, lo, hi = ratio_from_additive(-1.23, -8.67, 6.21, observed=OBS)
    assert est == pytest.approx(0.949, abs=5e-4)
    assert lo == pytest.approx(0.725, abs=5e-4)
    assert hi == pytest.approx(1.374, abs=5e-4)
    # the old map 1 + limit / counterfactual, kept here only to show what was reported
    cf = OBS + 1.23
    assert 1 + (-8.67) / cf == pytest.approx(0.639, abs=1e-3)
    assert 1 + 6.21 / cf == pytest.approx(1.258, abs=1e-3)
    # the analyses' wrapper gives the same numbers
    assert rate_ratio_from_att(-1.23, -8.67, 6.21, OBS) == pytest.approx((est, lo, hi))


def test_definition_and_edges() -> None:
    """ratio = obs / (obs - effect); monotone; zero effect -> 1; unbounded limits -> inf in
    the stats function and NaN limits in the analyses' wrapper; bad observed -> NaN."""
    assert ratio_from_additive(0.0, -1.0, 1.0, observed=10.0) == pytest.approx(
        (1.0, 10 / 11, 10 / 9)
    )
    # synthetic control: mean(treated) / mean(synthetic) with gap = treated - synthetic
    treated, synthetic = 8.0, 10.0
    assert ratio_from_additive(treated - synthetic, observed=treated)[0] == pytest.approx(0.8)
    est, lo, hi = ratio_from_additive(-1.0, -3.0, 12.0, observed=10.0)
    assert np.isfinite(lo) and hi == np.inf
    assert rate_ratio_from_att(-1.0, -3.0, 12.0, 10.0)[1:] == pytest.approx(
        (np.nan,) * 2, nan_ok=True
    )
    assert np.isnan(ratio_from_additive(11.0, 10.5, 12.0, observed=10.0)[0])
    assert all(np.isnan(ratio_from_additive(-1.0, -2.0, 0.0, observed=0.0)))
    with pytest.raises(ValueError, match="within its interval"):
        ratio_from_additive(1.0, 2.0, 3.0, observed=10.0)
    draws = np.linspace(-5, 5, 11)
    r = ratio_from_additive(draws, observed=20.0)[0]
    assert r.shape == (11,) and np.all(np.diff(r) > 0)


def test_planted_coverage_carries_over() -> None:
    """Planted truth: the treated mean's counterfactual is 20 and the effect -3 (ratio 17/20
    = 0.85). Over 4,000 simulated samples with a normal estimate of the effect (SE 2) the
    95 % interval of the effect covers -3 in ~95 % of samples, and the mapped ratio interval
    covers 0.85 in exactly the same samples; the old map (counterfactual held at its point
    estimate) is not the image of the interval and misses the nominal level (it over-covers
    here, 97.9 %, while its upper limits are too low when the effect is large)."""
    rng = np.random.default_rng(17)
    cf_true, effect, se = 20.0, -3.0, 2.0
    obs = cf_true + effect
    true_ratio = obs / cf_true
    est = rng.normal(effect, se, 4000)
    lo, hi = est - 1.959964 * se, est + 1.959964 * se
    cover_add = (lo <= effect) & (effect <= hi)
    r, rlo, rhi = ratio_from_additive(est, lo, hi, observed=obs)
    cover_ratio = (rlo <= true_ratio) & (true_ratio <= rhi)
    assert np.array_equal(cover_add, cover_ratio)
    assert cover_ratio.mean() == pytest.approx(0.95, abs=0.01)
    # the old map's limits 1 + limit / (obs - est)
    cf_hat = obs - est
    old_cover = (1 + lo / cf_hat <= true_ratio) & (true_ratio <= 1 + hi / cf_hat)
    assert abs(old_cover.mean() - 0.95) > 0.015
