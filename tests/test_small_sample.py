"""Small-sample cluster-robust inference (CR2/CR3, Bell–McCaffrey degrees of freedom).

What each test checks against:

* CR3 equals the leave-one-cluster-out jackknife exactly for least squares (an algebraic
  identity, Bell & McCaffrey 2002: ``beta_(-g) - beta = -(X'X - X_g'X_g)^-1 X_g' e_g``);
  refits by ``numpy.linalg.lstsq`` are the reference.
* CR2 is unbiased under its working model (Bell & McCaffrey 2002; Pustejovsky & Tipton
  2018, Theorem 1): planted homoskedastic errors, very unequal clusters, absorbed unit and
  period effects; the mean CR2 variance over simulated data sets matches the known
  ``sigma^2 (X'X)^-1`` while CR1 falls short.
* With one observation per cluster and a binary regressor, CR2 is the Welch variance and the
  Bell–McCaffrey degrees of freedom under the homoskedastic working model are Welch's with
  equal variances, ``(1/n1 + 1/n0)^2 / (1/(n1^2 (n1-1)) + 1/(n0^2 (n0-1)))`` (Imbens &
  Kolesár 2016, section 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nsv_eval.stats.designs.small_sample import cluster_robust


def _residualise(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """x with the column space of the fixed-effect dummies f projected out."""
    coef, *_ = np.linalg.lstsq(f, x, rcond=None)
    return x - f @ coef


def test_cr3_equals_the_leave_one_cluster_out_jackknife():
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 12, size=15)
    cl = np.repeat(np.arange(15), sizes)
    n = len(cl)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n) * (cl % 3)])
    y = X @ [1.0, 0.5, -0.2] + rng.normal(size=n) * (1 + cl / 10)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    res = cluster_robust(X, y - X @ beta, cl, kind="CR3")
    jack = []
    for g in np.unique(cl):
        keep = cl != g
        jack.append(np.linalg.lstsq(X[keep], y[keep], rcond=None)[0] - beta)
    jack = np.array(jack)
    np.testing.assert_allclose(res.vcov, jack.T @ jack, rtol=1e-8, atol=1e-12)


def test_cr2_is_unbiased_under_the_working_model_with_absorbed_effects():
    rng = np.random.default_rng(5)
    n_units, n_t = 24, 6
    size_w = np.exp(rng.normal(0, 1.2, n_units))  # very unequal working weights by unit
    unit = np.repeat(np.arange(n_units), n_t)
    t = np.tile(np.arange(n_t), n_units)
    treated = (unit < 5) & (t >= 3)  # few treated clusters: CR1 is biased down
    sw = np.sqrt(size_w[unit])
    fe = pd.DataFrame({"unit": unit, "t": t})
    f = np.hstack([pd.get_dummies(fe[c], dtype=float).to_numpy() for c in fe]) * sw[:, None]
    X = _residualise(treated.astype(float)[:, None] * sw[:, None], f)
    bread = 1.0 / float((X.T @ X)[0, 0])  # true variance with unit-variance errors
    cr2, cr1 = [], []
    for _ in range(400):
        e = rng.normal(size=len(unit))
        u = _residualise(_residualise(e[:, None], f), X).ravel()  # OLS residuals
        r = cluster_robust(X, u, unit, fixed_effects=fe, sqrt_weights=sw, kind="CR2")
        cr2.append(r.vcov[0, 0])
        s = np.array([float(X[unit == g, 0] @ u[unit == g]) for g in range(n_units)])
        cr1.append(bread**2 * float(s @ s) * n_units / (n_units - 1))
    mc_se = np.std(cr2) / np.sqrt(len(cr2))
    assert abs(np.mean(cr2) - bread) < 3 * mc_se
    assert np.mean(cr1) < bread - 3 * np.std(cr1) / np.sqrt(len(cr1))


def test_bell_mccaffrey_df_is_welch_for_a_two_group_comparison():
    rng = np.random.default_rng(2)
    n1, n0 = 4, 11
    d = np.r_[np.ones(n1), np.zeros(n0)]
    X = np.column_stack([np.ones(n1 + n0), d])
    y = 1 + 0.3 * d + rng.normal(size=n1 + n0) * np.r_[np.full(n1, 2.0), np.ones(n0)]
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = cluster_robust(X, y - X @ beta, np.arange(n1 + n0), kind="CR2")
    s1, s0 = np.var(y[:n1], ddof=1), np.var(y[n1:], ddof=1)
    assert r.vcov[1, 1] == pytest.approx(s1 / n1 + s0 / n0, rel=1e-10)  # Welch variance
    welch = (1 / n1 + 1 / n0) ** 2 / (1 / (n1**2 * (n1 - 1)) + 1 / (n0**2 * (n0 - 1)))
    assert r.df(np.array([0.0, 1.0])) == pytest.approx(welch, rel=1e-8)
    assert welch < n1 + n0 - 2  # the few treated clusters cost degrees of freedom
