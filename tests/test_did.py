"""Tests for nsv_eval.stats.designs.did (Callaway & Sant'Anna staggered DiD, TWFE).

References used (each test says which):

* [README] R package ``did``, README.md of github.com/bcallaway11/did (commit 0c4287f, devel
  2.5.0): ``att_gt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
  xformla=~1, data=mpdta, est_method="reg")`` — group-time ATTs (4 decimals), the pre-test
  p-value 0.16812, ``aggte(type="dynamic")`` and ``aggte(type="group")``. Its standard errors
  are multiplier-bootstrap SEs (1000 draws), so SEs are compared loosely.
* [VIGNETTE] ``did`` vignette "Getting Started with the did Package" (did-basics): the same
  ATT(g,t) and ``aggte(mw.attgt, type="dynamic", balance_e=1)``: e=-2 0.0065, e=-1 -0.0028,
  e=0 -0.0066, e=1 -0.0510, overall -0.0288.
* [TWFEW] README of github.com/bcallaway11/twfeweights: ``did::att_gt(...,
  control_group="nevertreated", base_period="universal")`` on mpdta with 9-decimal ATTs, and
  ``fixest::feols(lemp ~ post | countyreal + year, cluster="countyreal")``: -0.036549
  (SE 0.013265, p 0.006079).
* [CSDID] F. Rios-Avila, "CSDID Version 1.0", github.com/friosavila/playingwithstata
  drdid/csdid_stata.md: Stata ``csdid lemp lpop, ivar(countyreal) time(year)
  gvar(first_treat) method(dripw)`` — replicates R ``did`` (doubly robust with covariate lpop)
  with *analytic* standard errors (as ``att_gt(bstrap=FALSE)``), including simple, group,
  calendar and event aggregations and the pre-trend Wald test (chi2(5) = 6.84, p = 0.2327).
* Independent computations (means of changes; closed-form variance) and planted-truth
  simulations, described in each test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.errors import InputError
from nsv_eval.report import narrative
from nsv_eval.stats.designs.did import did, twfe

MPDTA = Path(__file__).parent / "data" / "reference" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    # shipped in the repository (tests/data/reference/README.md); a missing file fails
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def fit_never(mpdta):
    return did(mpdta, "lemp", "countyreal", "year", "first.treat")


# ATT(g,t) and bootstrap SEs printed in the did README [README]
README_ATT = {
    (2004, 2004): (-0.0105, 0.0241),
    (2004, 2005): (-0.0704, 0.0313),
    (2004, 2006): (-0.1373, 0.0380),
    (2004, 2007): (-0.1008, 0.0337),
    (2006, 2004): (0.0065, 0.0223),
    (2006, 2005): (-0.0028, 0.0196),
    (2006, 2006): (-0.0046, 0.0188),
    (2006, 2007): (-0.0412, 0.0202),
    (2007, 2004): (0.0305, 0.0154),
    (2007, 2005): (-0.0027, 0.0168),
    (2007, 2006): (-0.0311, 0.0190),
    (2007, 2007): (-0.0261, 0.0182),
}


def test_mpdta_group_time_atts_match_did_readme(fit_never):
    """[README] All 12 ATT(g,t) to the 4 printed decimals; bootstrap SEs within 12 %."""
    gt = fit_never.group_time().set_index(["group", "time"])
    assert len(gt) == 12
    for (g, t), (att, se_boot) in README_ATT.items():
        assert gt.loc[(g, t), "att"] == pytest.approx(att, abs=5e-5), (g, t)
        # README SEs are bootstrap (IQR-based, 1000 draws): analytic SEs agree within noise
        assert gt.loc[(g, t), "se"] == pytest.approx(se_boot, rel=0.12), (g, t)
    # the issue quotes the analytic SE of ATT(2004,2004) as about 0.0233
    assert gt.loc[(2004, 2004), "se"] == pytest.approx(0.0233, abs=1e-4)


def test_mpdta_analytic_se_equals_closed_form(mpdta, fit_never):
    """Independent computation: without covariates the influence-function SE of a 2x2 DiD is
    sqrt(var_T/n_T + var_C/n_C) with population variances of the changes."""
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first()
    gt = fit_never.group_time().set_index(["group", "time"])
    for grp, t, base in [(2004, 2006, 2003), (2006, 2007, 2005), (2007, 2005, 2004)]:
        dy = wide[t] - wide[base]
        a, c = dy[g == grp], dy[g == 0]
        att = a.mean() - c.mean()
        se = np.sqrt(a.var(ddof=0) / len(a) + c.var(ddof=0) / len(c))
        assert gt.loc[(grp, t), "att"] == pytest.approx(att, abs=1e-12)
        assert gt.loc[(grp, t), "se"] == pytest.approx(se, rel=1e-10)


def test_mpdta_pretest_and_aggregations_match_readme(mpdta, fit_never):
    """[README] pre-test p = 0.16812; dynamic (event study) and group aggregations."""
    assert fit_never.pretest()["p_value"] == pytest.approx(0.16812, abs=5e-6)
    assert fit_never.pretest()["df"] == 5
    dyn = fit_never.aggregate("dynamic").set_index("term")
    expected = {
        -3: 0.0305,
        -2: -0.0006,
        -1: -0.0245,
        0: -0.0199,
        1: -0.0510,
        2: -0.1373,
        3: -0.1008,
    }
    for e, v in expected.items():
        assert dyn.loc[f"dynamic={e}", "estimate"] == pytest.approx(v, abs=5e-5)
    assert dyn.loc["overall", "estimate"] == pytest.approx(-0.0772, abs=5e-5)
    assert dyn.loc["overall", "se"] == pytest.approx(0.0196, rel=0.12)  # README bootstrap SE
    grp = fit_never.aggregate("group").set_index("term")
    for g, v in {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}.items():
        assert grp.loc[f"group={g}", "estimate"] == pytest.approx(v, abs=5e-5)
    assert grp.loc["overall", "estimate"] == pytest.approx(-0.031, abs=5e-4)
    assert grp.loc["overall", "se"] == pytest.approx(0.0123, rel=0.12)  # README bootstrap SE
    # table(): simple ATT is the main term
    tab = fit_never.table().set_index("term")
    assert fit_never.main_term == "att_simple"
    assert tab.loc["att_group", "estimate"] == pytest.approx(grp.loc["overall", "estimate"])


def test_mpdta_simple_att_is_cohort_weighted_average(mpdta, fit_never):
    """Simple ATT (issue: about -0.0400, SE about 0.0118): checked independently as the
    post-treatment README ATT(g,t) averaged with cohort-size weights (did::aggte 'simple')."""
    size = mpdta.groupby("countyreal")["first.treat"].first().value_counts()
    num = den = 0.0
    for (g, t), (att, _) in README_ATT.items():
        if t >= g:
            num += size[g] * att
            den += size[g]
    simple = fit_never.main_effect()
    assert simple["estimate"] == pytest.approx(num / den, abs=2e-4)
    assert simple["estimate"] == pytest.approx(-0.0400, abs=5e-5)
    assert simple["se"] == pytest.approx(0.0118, rel=0.05)


def test_mpdta_balanced_event_study_matches_vignette(fit_never):
    """[VIGNETTE] aggte(type='dynamic', balance_e=1)."""
    es = fit_never.aggregate("dynamic", balance_e=1).set_index("term")
    expected = {-2: 0.0065, -1: -0.0028, 0: -0.0066, 1: -0.0510}
    assert list(es.index[1:]) == [f"dynamic={e}" for e in expected]
    for e, v in expected.items():
        assert es.loc[f"dynamic={e}", "estimate"] == pytest.approx(v, abs=5e-5)
    assert es.loc["overall", "estimate"] == pytest.approx(-0.0288, abs=5e-5)


def test_mpdta_universal_base_period_matches_twfeweights(mpdta):
    """[TWFEW] base_period='universal': pre-period ATTs relative to g-1, reference cells = 0."""
    r = did(mpdta, "lemp", "countyreal", "year", "first.treat", base_period="universal")
    gt = r.group_time().set_index(["group", "time"])
    expected = {
        (2004, 2004): -0.010503246,
        (2004, 2007): -0.100811363,
        (2006, 2003): -0.003769294,
        (2006, 2004): 0.002750819,
        (2006, 2006): -0.004594607,
        (2007, 2003): 0.003306357,
        (2007, 2004): 0.033813012,
        (2007, 2005): 0.031087119,
        (2007, 2007): -0.026054411,
    }
    for k, v in expected.items():
        assert gt.loc[k, "att"] == pytest.approx(v, abs=1e-8), k
    for ref in [(2004, 2003), (2006, 2005), (2007, 2006)]:
        assert gt.loc[ref, "att"] == 0.0 and gt.loc[ref, "reference"]
        assert np.isnan(gt.loc[ref, "se"])


def test_mpdta_with_covariate_doubly_robust_matches_csdid(mpdta):
    """[CSDID] DR with covariate lpop: ATT(g,t), analytic SEs, aggregations, pre-trend test."""
    r = did(mpdta, "lemp", "countyreal", "year", "first.treat", covariates=["lpop"])
    gt = r.group_time().set_index(["group", "time"])
    expected = {
        (2004, 2004): (-0.0145297, 0.0221292),
        (2004, 2005): (-0.0764219, 0.0286713),
        (2004, 2006): (-0.1404483, 0.0353782),
        (2004, 2007): (-0.1069039, 0.0328865),
        (2006, 2004): (-0.0004721, 0.0222234),
        (2006, 2005): (-0.0062025, 0.0184957),
        (2006, 2006): (0.0009606, 0.0194002),
        (2006, 2007): (-0.0412939, 0.0197211),
        (2007, 2004): (0.0267278, 0.0140657),
        (2007, 2005): (-0.0045766, 0.0157178),
        (2007, 2006): (-0.0284475, 0.0181809),
        (2007, 2007): (-0.0287814, 0.016239),
    }
    for k, (att, se) in expected.items():
        assert gt.loc[k, "att"] == pytest.approx(att, abs=1e-6), k
        assert gt.loc[k, "se"] == pytest.approx(se, rel=2e-4), k
    simple = r.main_effect()
    assert simple["estimate"] == pytest.approx(-0.0417518, abs=1e-6)
    assert simple["se"] == pytest.approx(0.0115028, rel=2e-4)
    grp = r.aggregate("group").set_index("term")
    assert grp.loc["group=2004", "estimate"] == pytest.approx(-0.0845759, abs=1e-6)
    assert grp.loc["group=2004", "se"] == pytest.approx(0.0245649, rel=2e-4)
    assert grp.loc["group=2006", "se"] == pytest.approx(0.0174696, rel=2e-4)
    cal = r.aggregate("calendar").set_index("term")
    assert cal.loc["calendar=2006", "estimate"] == pytest.approx(-0.0461757, abs=1e-6)
    assert cal.loc["calendar=2006", "se"] == pytest.approx(0.0212107, rel=2e-4)
    assert cal.loc["calendar=2007", "se"] == pytest.approx(0.0129299, rel=2e-4)
    dyn = r.aggregate("dynamic").set_index("term")
    for e, (v, se) in {
        -2: (-0.0036165, 0.0129283),
        -1: (-0.023244, 0.0144851),
        0: (-0.0210604, 0.0114942),
        1: (-0.0530032, 0.0163465),
    }.items():
        assert dyn.loc[f"dynamic={e}", "estimate"] == pytest.approx(v, abs=1e-6)
        assert dyn.loc[f"dynamic={e}", "se"] == pytest.approx(se, rel=2e-4)
    assert r.pretest()["statistic"] == pytest.approx(6.84, abs=5e-3)
    assert r.pretest()["p_value"] == pytest.approx(0.2327, abs=5e-5)


def test_mpdta_outcome_regression_with_covariate_by_direct_ols(mpdta):
    """Outcome regression with covariates (DRDID::reg_did_panel), checked independently:
    ATT = mean change of the treated minus the mean of their predicted change from an OLS of
    the change on (1, lpop) among the never treated (lpop from the base period)."""
    r = did(
        mpdta, "lemp", "countyreal", "year", "first.treat", covariates=["lpop"], est_method="reg"
    )
    gt = r.group_time().set_index(["group", "time"])
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    lpop = mpdta.pivot(index="countyreal", columns="year", values="lpop")
    g = mpdta.groupby("countyreal")["first.treat"].first()
    for grp, t, base in [(2004, 2006, 2003), (2007, 2007, 2006)]:
        dy = wide[t] - wide[base]
        xc = np.column_stack([np.ones((g == 0).sum()), lpop.loc[g == 0, base]])
        beta = np.linalg.lstsq(xc, dy[g == 0], rcond=None)[0]
        xt = np.column_stack([np.ones((g == grp).sum()), lpop.loc[g == grp, base]])
        att = dy[g == grp].mean() - (xt @ beta).mean()
        assert gt.loc[(grp, t), "att"] == pytest.approx(att, abs=1e-12)


def test_mpdta_not_yet_treated_by_independent_means(mpdta):
    """Not-yet-treated comparison (no published mpdta table found): ATT(g,t) equal the
    difference of mean changes against units never treated or first treated after
    max(t, base) (did's rule), computed here directly with pandas."""
    r = did(mpdta, "lemp", "countyreal", "year", "first.treat", control="notyet")
    gt = r.group_time().set_index(["group", "time"])
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first()
    for grp, t, base in [
        (2004, 2004, 2003),
        (2004, 2005, 2003),
        (2006, 2005, 2004),
        (2004, 2006, 2003),
    ]:
        dy = wide[t] - wide[base]
        ctrl = (g == 0) | ((g > max(t, base)) & (g != grp))
        att = dy[g == grp].mean() - dy[ctrl].mean()
        assert gt.loc[(grp, t), "att"] == pytest.approx(att, abs=1e-12)
        assert gt.loc[(grp, t), "n_control"] == int(ctrl.sum())
    # the last cohort has no not-yet-treated units left: same as never-treated comparison
    never = did(mpdta, "lemp", "countyreal", "year", "first.treat").group_time()
    assert gt.loc[(2007, 2007), "att"] == pytest.approx(
        never.set_index(["group", "time"]).loc[(2007, 2007), "att"], abs=1e-12
    )


def test_twfe_mpdta_matches_fixest_and_warns(mpdta):
    """[TWFEW] fixest TWFE on mpdta; staggered roll-out (3 cohorts) must warn."""
    with pytest.warns(UserWarning, match="staggered"):
        r = twfe(mpdta, "lemp", "countyreal", "year", first_treated="first.treat")
    row = r.main_effect()
    assert row["estimate"] == pytest.approx(-0.036549, abs=5e-7)
    assert row["se"] == pytest.approx(0.013265, abs=5e-7)
    assert row["p_value"] == pytest.approx(0.006079, abs=5e-6)
    da = narrative.summarise(r, "da")
    assert "did()" in da and "forskudt" in da


def _panel(rng, n=200, periods=5, cohorts=(3, 4), shares=(0.3, 0.3), att=0.5, dyn=0.0):
    """Staggered panel: unit and time effects, planted ATT (+ dyn per period since start)."""
    g = rng.choice([*cohorts, 0], size=n, p=[*shares, 1 - sum(shares)])
    unit_fe = rng.normal(0, 1, n) + 0.3 * (g > 0)
    t = np.arange(1, periods + 1)
    time_fe = 0.2 * t + rng.normal(0, 0.1, periods)
    y = unit_fe[:, None] + time_fe[None, :] + rng.normal(0, 1, (n, periods))
    treated = (g[:, None] > 0) & (t[None, :] >= g[:, None])
    effect = att + dyn * (t[None, :] - g[:, None])
    y = y + np.where(treated, effect, 0.0)
    return pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), periods),
            "t": np.tile(t, n),
            "g": np.repeat(g, periods),
            "y": y.ravel(),
            "d": treated.ravel().astype(int),
        }
    )


def test_twfe_equals_did_without_staggering():
    """Single cohort, one pre-period: TWFE and the Callaway-Sant'Anna simple ATT are the same
    estimator (mean post change minus pre level, treated vs never treated) — exact identity;
    no staggering warning."""
    rng = np.random.default_rng(5)
    df = _panel(rng, n=150, periods=4, cohorts=(2,), shares=(0.4,), att=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no staggering warning allowed
        tw = twfe(df, "y", "id", "t", treated_col="d")
    cs = did(df, "y", "id", "t", "g")
    assert tw.main_effect()["estimate"] == pytest.approx(cs.main_effect()["estimate"], abs=1e-10)
    assert not tw.staggered


def test_did_coverage_planted_truth():
    """Planted truth: 200 staggered panels with a constant ATT of 0.5 (never-treated and
    not-yet-treated comparisons); the 95 % CI of the simple ATT covers 0.5 at about the
    nominal rate (binomial 99 % band for 200 draws: 0.91-0.99)."""
    rng = np.random.default_rng(2024)
    cover = {"never": 0, "notyet": 0}
    reps = 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            df = _panel(rng, n=120, periods=5, cohorts=(3, 4, 5), shares=(0.2, 0.2, 0.2))
            for ctrl in cover:
                m = did(df, "y", "id", "t", "g", control=ctrl).main_effect()
                cover[ctrl] += m["lower"] <= 0.5 <= m["upper"]
    for ctrl, c in cover.items():
        assert 0.91 <= c / reps <= 0.99, (ctrl, c / reps)


def test_dynamic_effects_recovered():
    """Planted truth: effect 0.5 + 0.5 * (t - g); event-study estimates near 0.5, 1.0, 1.5 and
    pre-period estimates near 0 (large sample)."""
    rng = np.random.default_rng(11)
    df = _panel(rng, n=3000, periods=6, cohorts=(3, 4), shares=(0.3, 0.3), att=0.5, dyn=0.5)
    r = did(df, "y", "id", "t", "g")
    es = r.aggregate("dynamic").set_index("value")
    for e, truth in {0: 0.5, 1: 1.0, 2: 1.5, -1: 0.0, -2: 0.0}.items():
        row = es.loc[e]
        assert abs(row["estimate"] - truth) < 4 * row["se"], e


def test_bootstrap_uniform_bands(mpdta, fit_never):
    """Multiplier bootstrap: SEs near the analytic ones, uniform band wider than pointwise,
    reproducible with the seed; Mammen weights also work."""
    b1 = did(mpdta, "lemp", "countyreal", "year", "first.treat", boot=True, n_boot=999, seed=3)
    b2 = did(mpdta, "lemp", "countyreal", "year", "first.treat", boot=True, n_boot=999, seed=3)
    g1, ga = b1.group_time(), fit_never.group_time()
    pd.testing.assert_frame_equal(g1, b2.group_time())
    assert np.allclose(g1["se"], ga["se"], rtol=0.15)
    assert (g1["band_upper"] - g1["band_lower"] > g1["upper"] - g1["lower"]).all()
    bm = did(mpdta, "lemp", "countyreal", "year", "first.treat", boot=True, boot_weights="mammen")
    assert np.allclose(bm.group_time()["se"], ga["se"], rtol=0.15)


def test_cluster_option():
    """Clustering on the unit itself reproduces the default; with treatment assigned by
    cluster and a shock shared within clusters, cluster-robust SEs (sums of influence
    functions within clusters, as did's analytic clustered SE) are clearly larger."""
    rng = np.random.default_rng(8)
    n_cl, per_cl, periods = 40, 10, 4
    cl = np.repeat(np.arange(n_cl), per_cl)
    g = rng.choice([3, 0], size=n_cl)[cl]
    t = np.arange(1, periods + 1)
    shock = rng.normal(0, 1.0, (n_cl, periods))[cl]
    y = rng.normal(0, 1, (len(cl), 1)) + 0.2 * t + shock + rng.normal(0, 1, (len(cl), periods))
    y = y + 0.5 * ((g[:, None] > 0) & (t[None, :] >= g[:, None]))
    df = pd.DataFrame(
        {
            "id": np.repeat(np.arange(len(cl)), periods),
            "t": np.tile(t, len(cl)),
            "g": np.repeat(g, periods),
            "cl": np.repeat(cl, periods),
            "y": y.ravel(),
        }
    )
    base = did(df, "y", "id", "t", "g")
    same = did(df, "y", "id", "t", "g", cluster="id")
    coarse = did(df, "y", "id", "t", "g", cluster="cl")
    assert same.main_effect()["se"] == pytest.approx(base.main_effect()["se"], rel=1e-12)
    assert coarse.main_effect()["se"] > 1.5 * base.main_effect()["se"]
    bad = df.copy()
    bad.loc[0, "cl"] = 99
    with pytest.raises(InputError, match="nest in clusters"):
        did(bad, "y", "id", "t", "g", cluster="cl")


def test_input_errors(mpdta):
    with pytest.raises(InputError, match="lemp2"):
        did(mpdta, "lemp2", "countyreal", "year", "first.treat")
    bad = mpdta.copy()
    bad.loc[0, "first.treat"] = 2005.0
    with pytest.raises(InputError, match="varies within"):
        did(bad, "lemp", "countyreal", "year", "first.treat")
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(InputError, match="never-treated"):
        did(treated_only, "lemp", "countyreal", "year", "first.treat")
    dup = pd.concat([mpdta, mpdta.iloc[[0]]])
    with pytest.raises(InputError, match="more than one row"):
        did(dup, "lemp", "countyreal", "year", "first.treat")
    with pytest.raises(ValueError, match="control"):
        did(mpdta, "lemp", "countyreal", "year", "first.treat", control="sometimes")
    with pytest.raises(ValueError, match="exactly one"):
        twfe(mpdta, "lemp", "countyreal", "year")


def test_unbalanced_units_dropped_with_warning(mpdta):
    df = mpdta.drop(index=[0])
    with pytest.warns(UserWarning, match="not observed in all"):
        r = did(df, "lemp", "countyreal", "year", "first.treat")
    assert r.n_units == 499


def test_summary_plot_and_diagnostics(fit_never):
    """Danish/English prose from the numbers; event-study figure; pre-trend placebo test
    ([README] p = 0.16812) and leave-one-cohort-out."""
    import matplotlib

    matplotlib.use("Agg")
    from nsv_eval.stats.designs.diagnostics import leave_one_out, placebo_in_time

    da = narrative.summarise(fit_never, "da")
    assert "-0,040" in da and "0,168" in da and "Forudsætninger" in da
    assert "-0.040" in narrative.summarise(fit_never, "en")
    assert "att_simple" in fit_never.summary() and "Forudsætninger" not in fit_never.summary()
    fig = fit_never.plot(labels=narrative.did.plot_labels("da"))
    assert fig.axes[0].get_xlabel().startswith("Perioder")
    pl = placebo_in_time(fit_never)
    assert len(pl.table()) == 5 and pl.passed
    assert pl.test["p_value"] == pytest.approx(0.16812, abs=5e-6)
    assert "0,168" in narrative.summarise(pl, "da")
    loo = leave_one_out(fit_never)
    assert len(loo) == 4
    # dropping the 2004 cohort (largest effects) moves the estimate towards zero
    assert loo.set_index("left_out").loc[2004.0, "shift"] > 0


# --------------------------------------------------------------------------------------
# unit weights (R did's weightsname): checked against an independent computation, the
# same panel with weight-2 units duplicated (frequency weights give the same estimates)
# --------------------------------------------------------------------------------------
def _weighted_mpdta(mpdta: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = mpdta.copy()
    units = np.sort(d["countyreal"].unique())
    heavy = set(units[::3])
    d["w"] = np.where(d["countyreal"].isin(heavy), 2.0, 1.0)
    dup = d[d["countyreal"].isin(heavy)].copy()
    dup["countyreal"] = dup["countyreal"] + 100_000
    return d, pd.concat([d, dup], ignore_index=True)


@pytest.mark.parametrize(("covs", "method"), [(None, "reg"), (["lpop"], "reg"), (["lpop"], "dr")])
def test_weights_equal_duplicated_units(mpdta, covs, method):
    d, doubled = _weighted_mpdta(mpdta)
    kw = dict(covariates=covs, est_method=method) if covs else {}
    w = did(d, "lemp", "countyreal", "year", "first.treat", weights="w", **kw)
    dup = did(doubled, "lemp", "countyreal", "year", "first.treat", **kw)
    np.testing.assert_allclose(w.group_time()["att"], dup.group_time()["att"], rtol=1e-8)
    for kind in ("simple", "group", "dynamic", "calendar"):
        np.testing.assert_allclose(
            w.aggregate(kind)["estimate"], dup.aggregate(kind)["estimate"], rtol=1e-8
        )
    # and the weights matter: the weighted estimate differs from the unweighted one
    u = did(d, "lemp", "countyreal", "year", "first.treat", **kw)
    assert abs(u.main_effect()["estimate"] - w.main_effect()["estimate"]) > 1e-4


def test_equal_weights_change_nothing(mpdta):
    d = mpdta.assign(w=3.0)
    a = did(d, "lemp", "countyreal", "year", "first.treat")
    b = did(d, "lemp", "countyreal", "year", "first.treat", weights="w")
    pd.testing.assert_frame_equal(a.table(), b.table())
    np.testing.assert_allclose(a.aggregate("dynamic")["se"], b.aggregate("dynamic")["se"])


def test_weights_must_be_constant_within_unit(mpdta):
    d = mpdta.assign(w=np.arange(len(mpdta), dtype=float))
    with pytest.raises(InputError, match="varies within"):
        did(d, "lemp", "countyreal", "year", "first.treat", weights="w")


def test_event_study_plot_uses_uniform_bands_by_default(mpdta):
    """R did's default: simultaneous bands (wider than pointwise) in the event study."""
    r = did(mpdta, "lemp", "countyreal", "year", "first.treat")
    uni = r.aggregate("dynamic", uniform=True).iloc[1:]
    pw = r.aggregate("dynamic").iloc[1:]
    assert (uni["band_upper"] - uni["band_lower"] > pw["upper"] - pw["lower"]).all()
    fig = r.plot()
    bars = [c for c in fig.axes[0].containers]
    assert bars
