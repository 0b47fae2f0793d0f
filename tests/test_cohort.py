"""Tests of nsv_eval.stats.designs.cohort (IPTW, propensity-score matching, E-value).

What each test checks against:
* E-value: the worked examples of VanderWeele & Ding (2017), Ann. Intern. Med. 167:268
  (RR 3.9 -> 7.26; lower limit 1.8 -> 3.0) and of the R package EValue's vignette
  (RR 10.73, 95 % CI 8.02-14.36 -> 20.95 and 15.52).
* Point estimates and SMDs: independent hand computations (statsmodels formula Logit for
  the propensity score, numpy weighted means, the Austin & Stuart 2015 SMD formulas).
* Planted truth: simulated cohorts with confounding by measured covariates and a known
  marginal risk ratio of 0.70 from a log-linear (collapsible) risk model, so the ATE and
  ATT risk ratios are both 0.70; coverage of the confidence intervals over repeated samples.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

from nsv_eval.errors import InputError  # noqa: E402
from nsv_eval.report import narrative  # noqa: E402
from nsv_eval.stats.designs.cohort import (  # noqa: E402
    CohortEffectResult,
    cohort_effect,
    e_value,
    smd,
)

TRUE_RR = 0.70
BASE = 0.12
COVS = ["x1", "x2", "x3"]


def simulate(n: int, rng: np.random.Generator, rr: float = TRUE_RR) -> pd.DataFrame:
    """Confounded cohort: x1 ~ U(-1, 1), x2 ~ Bernoulli(0.4), x3 in {a, b, c}.

    Treatment: logit P(T=1) = -0.6 + 1.0 x1 + 0.8 x2 + 0.5 [x3=b] - 0.4 [x3=c].
    Outcome: P(Y=1) = 0.12 * rr^T * exp(0.6 x1 + 0.5 x2 + 0.3 [x3=c]) (at most 0.47).
    The treated have higher x1 and x2, hence a higher baseline risk: the naive risk ratio
    is biased towards 1.
    """
    x1 = rng.uniform(-1, 1, n)
    x2 = rng.binomial(1, 0.4, n)
    x3 = rng.choice(np.array(["a", "b", "c"]), n)
    b, c = (x3 == "b").astype(float), (x3 == "c").astype(float)
    lp = -0.6 + 1.0 * x1 + 0.8 * x2 + 0.5 * b - 0.4 * c
    t = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    p = BASE * rr**t * np.exp(0.6 * x1 + 0.5 * x2 + 0.3 * c)
    y = rng.binomial(1, p)
    return pd.DataFrame({"t": t, "y": y, "x1": x1, "x2": x2, "x3": x3})


def true_ate_rd(rr: float = TRUE_RR) -> float:
    """(rr - 1) * E[p0(X)], with E[p0(X)] in closed form (independent covariates)."""
    e_x1 = np.sinh(0.6) / 0.6
    e_x2 = 0.6 + 0.4 * np.exp(0.5)
    e_x3 = 2 / 3 + np.exp(0.3) / 3
    return (rr - 1) * BASE * e_x1 * e_x2 * e_x3


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate(4000, np.random.default_rng(2024))


# --------------------------------------------------------------------------------------
# E-value
# --------------------------------------------------------------------------------------
def test_e_value_published_examples() -> None:
    """VanderWeele & Ding (2017): RR 3.9 (95 % CI 1.8-8.7) -> E-values 7.26 and 3.0.
    EValue vignette (Hammond & Horn smoking/lung cancer): RR 10.73 (8.02-14.36) ->
    20.95 and 15.52."""
    ep, eci = e_value(3.9, 1.8, 8.7)
    assert ep == pytest.approx(7.26, abs=0.005)
    assert eci == pytest.approx(3.0, abs=1e-12)
    ep, eci = e_value(10.73, 8.02, 14.36)
    assert ep == pytest.approx(20.94777, abs=1e-5)
    assert eci == pytest.approx(15.52336, abs=1e-5)


def test_e_value_protective_and_null() -> None:
    """RR < 1 uses 1/RR and the upper limit; an interval covering 1 gives E-value 1."""
    ep, eci = e_value(0.25, 0.1, 0.5)
    assert ep == pytest.approx(4 + np.sqrt(12))
    assert eci == pytest.approx(2 + np.sqrt(2))
    assert e_value(0.8, 0.5, 1.2)[1] == 1.0
    assert e_value(1.3, 0.9, 1.8)[1] == 1.0
    assert np.isnan(e_value(2.0)[1])
    with pytest.raises(ValueError):
        e_value(0.0)


# --------------------------------------------------------------------------------------
# independent computations
# --------------------------------------------------------------------------------------
def test_iptw_point_estimate_equals_hand_weighted_means(cohort: pd.DataFrame) -> None:
    """IPTW (ATE, stabilised) = ratio/difference of Hajek weighted means, with the PS from
    an independent statsmodels formula Logit; ATT weights 1 and e/(1-e)."""
    ps = smf.logit("t ~ x1 + x2 + C(x3)", data=cohort).fit(disp=0).predict(cohort).to_numpy()
    t = cohort["t"].to_numpy() == 1
    y = cohort["y"].to_numpy(float)
    w = np.where(t, t.mean() / ps, (1 - t.mean()) / (1 - ps))
    m1 = np.sum(w[t] * y[t]) / np.sum(w[t])
    m0 = np.sum(w[~t] * y[~t]) / np.sum(w[~t])
    res = cohort_effect(cohort, "t", "y", COVS)
    tab = res.table().set_index("term")
    assert tab.loc["risk_ratio", "estimate"] == pytest.approx(m1 / m0, rel=1e-9)
    assert tab.loc["risk_difference", "estimate"] == pytest.approx(m1 - m0, abs=1e-10)
    assert tab.loc["risk_treated", "estimate"] == pytest.approx(m1, abs=1e-10)
    np.testing.assert_allclose(res.data["ps"], ps, atol=1e-9)
    # statsmodels weighted GLM gives the same difference
    assert res.glm_fixed_weight["risk_difference"] == pytest.approx(m1 - m0)

    w_att = np.where(t, 1.0, ps / (1 - ps))
    a1 = y[t].mean()
    a0 = np.sum(w_att[~t] * y[~t]) / np.sum(w_att[~t])
    att = cohort_effect(cohort, "t", "y", COVS, estimand="ATT").table().set_index("term")
    assert att.loc["risk_ratio", "estimate"] == pytest.approx(a1 / a0, rel=1e-9)


def test_balance_smd_equals_direct_formula(cohort: pd.DataFrame) -> None:
    """Austin & Stuart (2015) SMDs: continuous d = (m1 - m0) / sqrt((s1^2 + s0^2) / 2) with
    weighted variance sum(w)/(sum(w)^2 - sum(w^2)) * sum(w (x - m)^2); binary with p(1-p)."""
    res = cohort_effect(cohort, "t", "y", COVS)
    bal = res.balance.set_index("covariate")
    assert list(bal.index) == ["x1", "x2", "x3[b]", "x3[c]"]
    t = cohort["t"].to_numpy() == 1
    w = res.data["weight"].to_numpy()

    def wvar(x: np.ndarray, ww: np.ndarray) -> tuple[float, float]:
        m = np.sum(ww * x) / np.sum(ww)
        return m, np.sum(ww) / (np.sum(ww) ** 2 - np.sum(ww**2)) * np.sum(ww * (x - m) ** 2)

    x1 = cohort["x1"].to_numpy()
    (m1, v1), (m0, v0) = wvar(x1[t], w[t]), wvar(x1[~t], w[~t])
    assert bal.loc["x1", "smd_after"] == pytest.approx((m1 - m0) / np.sqrt((v1 + v0) / 2))
    s1, s0 = x1[t].std(ddof=1), x1[~t].std(ddof=1)
    assert bal.loc["x1", "smd_before"] == pytest.approx(
        (x1[t].mean() - x1[~t].mean()) / np.sqrt((s1**2 + s0**2) / 2)
    )
    x2 = cohort["x2"].to_numpy(float)
    p1, p0 = np.average(x2[t], weights=w[t]), np.average(x2[~t], weights=w[~t])
    assert bal.loc["x2", "smd_after"] == pytest.approx(
        (p1 - p0) / np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    )
    # before weighting the groups differ (confounding), after weighting they do not
    assert bal["smd_before"].abs().max() > 0.2
    assert bal["smd_after"].abs().max() < 0.05
    assert smd(x2, t) == pytest.approx(bal.loc["x2", "smd_before"])


# --------------------------------------------------------------------------------------
# planted truth
# --------------------------------------------------------------------------------------
def test_naive_biased_adjusted_recover_truth(cohort: pd.DataFrame) -> None:
    """Planted RR 0.70: the naive RR is visibly biased (its CI excludes 0.70), while IPTW
    (ATE and ATT) and 1:1 caliper matching include it; the IPTW ATE risk difference
    includes the closed-form true RD."""
    iptw = cohort_effect(cohort, "t", "y", COVS).table().set_index("term")
    naive = iptw.loc["naive_risk_ratio"]
    assert naive["estimate"] > 0.85 and naive["lower"] > TRUE_RR
    for res in (
        iptw,
        cohort_effect(cohort, "t", "y", COVS, estimand="ATT").table().set_index("term"),
        cohort_effect(cohort, "t", "y", COVS, method="match").table().set_index("term"),
    ):
        assert res.loc["risk_ratio", "lower"] < TRUE_RR < res.loc["risk_ratio", "upper"]
    rd = iptw.loc["risk_difference"]
    assert rd["lower"] < true_ate_rd() < rd["upper"]


def test_coverage_iptw_and_matching() -> None:
    """Coverage over 200 simulated cohorts (n = 1500) of the 95 % intervals for the planted
    RR 0.70 (IPTW ATE and 1:1 matching) and the true ATE risk difference (IPTW). With 200
    replications a correct 95 % interval covers 190 +/- 6 times; we accept 0.90-0.99. The
    naive interval covers the truth far less often (confounding bias)."""
    rng = np.random.default_rng(7)
    hits = {"iptw_rr": 0, "iptw_rd": 0, "match_rr": 0, "naive_rr": 0}
    reps = 200
    rd_true = true_ate_rd()
    for _ in range(reps):
        d = simulate(1500, rng)
        a = cohort_effect(d, "t", "y", COVS).table().set_index("term")
        m = cohort_effect(d, "t", "y", COVS, method="match").table().set_index("term")
        hits["iptw_rr"] += a.loc["risk_ratio", "lower"] < TRUE_RR < a.loc["risk_ratio", "upper"]
        hits["iptw_rd"] += (
            a.loc["risk_difference", "lower"] < rd_true < a.loc["risk_difference", "upper"]
        )
        hits["match_rr"] += m.loc["risk_ratio", "lower"] < TRUE_RR < m.loc["risk_ratio", "upper"]
        n = a.loc["naive_risk_ratio"]
        hits["naive_rr"] += n["lower"] < TRUE_RR < n["upper"]
    cov = {k: v / reps for k, v in hits.items()}
    for k in ("iptw_rr", "iptw_rd", "match_rr"):
        assert 0.90 <= cov[k] <= 0.99, cov
    assert cov["naive_rr"] < 0.75, cov


# --------------------------------------------------------------------------------------
# matching mechanics
# --------------------------------------------------------------------------------------
def test_matching_respects_caliper_ratio_and_replacement(cohort: pd.DataFrame) -> None:
    """Every matched pair lies within 0.2 SD of the logit PS; without replacement no control
    is used twice; 1:2 gives up to two controls per treated; with replacement controls are
    reused and the estimate still covers the truth."""
    res = cohort_effect(cohort, "t", "y", COVS, method="match", ratio=2)
    lp = res.data["logit_ps"].to_numpy()
    width = res.caliper_width
    assert width == pytest.approx(0.2 * np.std(lp, ddof=1))
    sets = res.matched_sets
    used = [c for _, cs in sets for c in cs]
    assert len(used) == len(set(used))
    assert all(1 <= len(cs) <= 2 for _, cs in sets)
    assert max(abs(lp[i] - lp[c]) for i, cs in sets for c in cs) <= width
    assert res.n_matched + res.n_unmatched == res.n_treated
    # matched-sample risk difference equals the mean of within-set differences
    y = cohort["y"].to_numpy(float)
    diffs = [y[i] - y[cs].mean() for i, cs in sets]
    rd = res.table().set_index("term").loc["risk_difference", "estimate"]
    assert rd == pytest.approx(np.mean(diffs))

    rep = cohort_effect(cohort, "t", "y", COVS, method="match", replace=True)
    used = [c for _, cs in rep.matched_sets for c in cs]
    assert len(used) > len(set(used))
    assert rep.n_unmatched <= res.n_unmatched
    row = rep.main_effect()
    assert row["lower"] < TRUE_RR < row["upper"]
    assert rep.max_abs_smd_after < 0.1


def test_trim_truncates_weights(cohort: pd.DataFrame) -> None:
    res = cohort_effect(cohort, "t", "y", COVS, trim=0.05)
    w = res.data["weight"]
    assert res.n_truncated > 0
    assert w.max() == pytest.approx(np.quantile(w, 1.0))
    untrimmed = cohort_effect(cohort, "t", "y", COVS).data["weight"]
    assert w.max() < untrimmed.max() and w.min() > untrimmed.min()


# --------------------------------------------------------------------------------------
# result object: text, plots, contract
# --------------------------------------------------------------------------------------
def test_summary_plots_and_table_contract(cohort: pd.DataFrame) -> None:
    res = cohort_effect(cohort, "t", "y", COVS)
    assert isinstance(res, CohortEffectResult)
    tab = res.table()
    assert {"term", "estimate", "lower", "upper", "p_value", "e_value"} <= set(tab.columns)
    assert res.main_effect()["term"] == "risk_ratio" and res.null_value == 1.0
    rr = res.main_effect()
    assert rr["e_value"] == pytest.approx(e_value(rr["estimate"], rr["lower"], rr["upper"])[0])
    da = narrative.summarise(res, "da")
    rr_txt = f"{rr['estimate']:.2f}".replace(".", ",")
    assert rr_txt in da and "E-værdi" in da and "Forudsætninger" in da
    assert "E-value" in narrative.summarise(res, "en")
    ov = res.overlap.set_index("group")
    assert ov.loc["treated", "n"] + ov.loc["control", "n"] == len(cohort)
    assert 0 < ov.loc["treated", "ess"] <= ov.loc["treated", "n"]
    fig = res.plot(labels=narrative.cohort.love_plot_labels("da"))
    assert "standardiseret" in fig.axes[0].get_xlabel()
    plt.close(fig)
    fig = res.plot_overlap(labels=narrative.cohort.overlap_plot_labels("en"))
    assert fig.axes[0].get_xlabel() == "Propensity score"
    plt.close(fig)


def test_bad_input(cohort: pd.DataFrame) -> None:
    bad = cohort.assign(t=cohort["t"].replace({1: 2}))
    with pytest.raises(InputError, match="'t' must be 0/1"):
        cohort_effect(bad, "t", "y", COVS)
    bad = cohort.copy()
    bad.loc[7, "x1"] = np.nan
    with pytest.raises(InputError, match="'x1' is missing in row 7"):
        cohort_effect(bad, "t", "y", COVS)
    with pytest.raises(InputError, match="'nope'"):
        cohort_effect(cohort, "t", "y", ["nope"])
    with pytest.raises(InputError, match="ATT"):
        cohort_effect(cohort, "t", "y", COVS, method="match", estimand="ATE")
    sep = cohort.assign(x4=cohort["t"].astype(float))
    with pytest.raises(InputError, match="separates"):
        cohort_effect(sep, "t", "y", [*COVS, "x4"])
    with pytest.raises(InputError, match="method"):
        cohort_effect(cohort, "t", "y", COVS, method="ipw")
