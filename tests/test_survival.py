"""Tests of nsv_eval.stats.designs.survival against published results and lifelines.

References
----------
* Freireich et al. (1963) 6-MP leukaemia remission data (``tests/data/designs_b/gehan.csv``).
  Kaplan-Meier values for the 6-MP group as printed in Kleinbaum & Klein, *Survival
  Analysis* (ch. 2) and by R ``survfit``; Stata ``sts list`` log(-log) limits for the
  placebo group and the Cox hazard ratios (R ``coxph`` Efron, Stata ``stcox`` Breslow)
  from G. Rodríguez's Princeton survival notes (https://grodri.github.io/survival/).
* Aalen-Johansen cumulative incidence: lifelines 0.30.3 ``AalenJohansenFitter`` values
  stored in ``tests/data/designs_b/aj_lifelines_reference.csv`` (see the generating script).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import title_of  # noqa: E402

from nsv_eval.errors import InputError  # noqa: E402
from nsv_eval.report import narrative  # noqa: E402
from nsv_eval.stats.designs.survival import (  # noqa: E402
    CoxResult,
    cox,
    cumulative_incidence,
    kaplan_meier,
    plot_kaplan_meier,
)

DATA = Path(__file__).parent / "data" / "designs_b"


@pytest.fixture(scope="module")
def gehan() -> pd.DataFrame:
    d = pd.read_csv(DATA / "gehan.csv")
    d["treated"] = (d["group"] == "6-MP").astype(int)
    return d


@pytest.fixture(scope="module")
def aj_input() -> pd.DataFrame:
    return pd.read_csv(DATA / "aj_input.csv")


# --------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------
def test_km_6mp_matches_published_values(gehan: pd.DataFrame) -> None:
    """6-MP arm: published product-limit estimates and Greenwood SEs (Kleinbaum & Klein
    ch. 2; R survfit): t = 6, 7, 10, 13, 16, 22, 23 -> S = 0.857, 0.807, 0.753, 0.690,
    0.627, 0.538, 0.448; SE = 0.0764, 0.0869, 0.0963, 0.1068, 0.1141, 0.1282, 0.1346;
    at risk 21, 17, 15, 12, 11, 7, 6."""
    km = kaplan_meier(gehan, "weeks", "relapse", by="group")
    mp = km[km["group"] == "6-MP"].reset_index(drop=True)
    assert mp.loc[0, ["time", "at_risk", "survival"]].tolist() == [0, 21, 1.0]
    mp = mp.iloc[1:].reset_index(drop=True)
    assert mp["time"].tolist() == [6, 7, 10, 13, 16, 22, 23]
    assert mp["at_risk"].tolist() == [21, 17, 15, 12, 11, 7, 6]
    assert mp["events"].tolist() == [3, 1, 1, 1, 1, 1, 1]
    np.testing.assert_allclose(
        mp["survival"], [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448], atol=5e-4
    )
    np.testing.assert_allclose(
        mp["se"], [0.0764, 0.0869, 0.0963, 0.1068, 0.1141, 0.1282, 0.1346], atol=5e-5
    )


def test_km_loglog_limits_match_stata(gehan: pd.DataFrame) -> None:
    """Placebo arm, Stata ``sts list`` (Rodríguez, Princeton notes): t=1 S 0.9048 SE 0.0641
    CI 0.6700-0.9753; t=2 S 0.8095 SE 0.0857 CI 0.5689-0.9239; all relapse by week 23."""
    km = kaplan_meier(gehan, "weeks", "relapse", by="group")
    pl = km[km["group"] == "placebo"].set_index("time")
    np.testing.assert_allclose(pl.loc[1.0, ["survival", "se"]], [0.9048, 0.0641], atol=5e-5)
    np.testing.assert_allclose(pl.loc[1.0, ["lower", "upper"]], [0.6700, 0.9753], atol=5e-5)
    np.testing.assert_allclose(pl.loc[2.0, ["survival", "se"]], [0.8095, 0.0857], atol=5e-5)
    np.testing.assert_allclose(pl.loc[2.0, ["lower", "upper"]], [0.5689, 0.9239], atol=5e-5)
    assert pl.loc[23.0, "survival"] == 0.0


def test_km_without_groups_and_plot(gehan: pd.DataFrame) -> None:
    km = kaplan_meier(gehan, "weeks", "relapse")
    assert "group" not in km.columns
    assert km["at_risk"].iloc[0] == 42 and km["time"].iloc[0] == 0
    assert (np.diff(km["survival"]) <= 0).all()
    fig = plot_kaplan_meier(
        kaplan_meier(gehan, "weeks", "relapse", by="group"),
        by="group",
        labels=narrative.survival.km_plot_labels("da"),
    )
    assert fig.axes[0].get_ylabel() == "Andel uden hændelse"
    plt.close(fig)


# --------------------------------------------------------------------------------------
# Cox
# --------------------------------------------------------------------------------------
def test_cox_efron_matches_r_coxph(gehan: pd.DataFrame) -> None:
    """R coxph (Efron ties) on the Gehan data: coef -1.5721, exp(coef) 0.2076,
    se 0.4124, z -3.812, p 0.000138."""
    res = cox(gehan, "weeks", "relapse", ["treated"])
    assert isinstance(res, CoxResult)
    row = res.main_effect()
    assert row["log_hr"] == pytest.approx(-1.5721, abs=5e-5)
    assert row["estimate"] == pytest.approx(0.2076, abs=5e-5)
    assert row["se"] == pytest.approx(0.4124, abs=5e-5)
    assert row["p_value"] == pytest.approx(0.000138, abs=5e-6)
    assert res.null_value == 1.0


def test_cox_breslow_matches_stata(gehan: pd.DataFrame) -> None:
    """Stata stcox (Breslow ties): HR 0.2210887, 95 % CI 0.0990706-0.4933877."""
    res = cox(gehan, "weeks", "relapse", ["treated"], ties="breslow")
    row = res.main_effect()
    assert row["estimate"] == pytest.approx(0.2210887, abs=1e-6)
    assert row["lower"] == pytest.approx(0.0990706, abs=1e-6)
    assert row["upper"] == pytest.approx(0.4933877, abs=1e-6)


def test_cox_categorical_strata_summary_and_plot(gehan: pd.DataFrame) -> None:
    """A string covariate becomes an indicator; the text is written from the numbers."""
    d = gehan.assign(arm=gehan["group"].map({"6-MP": "b_6mp", "placebo": "a_placebo"}))
    res = cox(d, "weeks", "relapse", ["arm"])
    assert res.table()["term"].tolist() == ["arm[b_6mp]"]
    assert res.main_effect()["estimate"] == pytest.approx(0.2076, abs=5e-5)
    da = narrative.summarise(res, "da")
    assert "0,21" in da and "79 % lavere" in da and "Forudsætninger" in da
    assert "79% lower" in narrative.summarise(res, "en")
    # stratifying on a variable unrelated to the data still gives a valid fit
    strat = cox(d.assign(s=np.arange(len(d)) % 2), "weeks", "relapse", ["arm"], strata="s")
    assert 0.05 < strat.main_effect()["estimate"] < 0.5
    fig = res.plot()
    assert fig.axes[0].get_xscale() == "log"
    plt.close(fig)


# --------------------------------------------------------------------------------------
# Cumulative incidence (Aalen-Johansen)
# --------------------------------------------------------------------------------------
def test_cif_matches_lifelines_reference(aj_input: pd.DataFrame) -> None:
    """CIF, variance and log(-log) limits equal lifelines' AalenJohansenFitter to 1e-8 at
    every event time (stored reference; independent implementation)."""
    ref = pd.read_csv(DATA / "aj_lifelines_reference.csv").set_index("time")
    res = cumulative_incidence(aj_input, "time", "event")
    f = res.table().set_index("time")
    common = f.index.intersection(ref.index)
    assert len(common) == len(f) > 150  # lifelines also starts with a row at time 0
    np.testing.assert_allclose(f.loc[common, "cif"], ref.loc[common, "cif"], atol=1e-8)
    np.testing.assert_allclose(f.loc[common, "se"] ** 2, ref.loc[common, "variance"], atol=1e-8)
    pos = f.loc[common, "cif"] > 0
    np.testing.assert_allclose(
        f.loc[common][pos][["lower", "upper"]], ref.loc[common][pos][["lower", "upper"]], atol=1e-8
    )
    # at censoring-only times the CIF carries forward (at() uses the last event time)
    for t in ref.index[::37]:
        assert res.at(t)["cif"].iloc[0] == pytest.approx(ref.loc[t, "cif"], abs=1e-8)


def test_cif_matches_lifelines_live(aj_input: pd.DataFrame) -> None:
    """Same comparison against an installed lifelines (skipped when it is absent)."""
    lifelines = pytest.importorskip("lifelines")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ajf = lifelines.AalenJohansenFitter(calculate_variance=True)
        ajf.fit(aj_input["time"], aj_input["event"], event_of_interest=2)
    res = cumulative_incidence(aj_input, "time", "event", event_of_interest=2, competing=[1])
    f = res.table().set_index("time")
    ref = ajf.cumulative_density_.iloc[:, 0]
    np.testing.assert_allclose(f["cif"], ref.loc[f.index], atol=1e-8)
    np.testing.assert_allclose(f["se"] ** 2, ajf.variance_.loc[f.index], atol=1e-8)


def test_cif_hand_example_with_ties() -> None:
    """Hand computation (tied times, all still at risk fail at the end).

    Times/events: 1:A, 1:D, 2:censored, 3:A, 4:D, 5:A (A = event of interest, D = death).
    All-cause KM just before t = 1, 3, 4, 5: 1, 4/6, 4/9, 2/9 (risk sets 6, 3, 2, 1).
    The CIF jumps by S(t-) * dA / n: t=1: 1/6; t=3: (4/6)(1/3) = 2/9; t=5: (2/9)(1/1)
    -> 1/6, 1/6 + 2/9, 1/6 + 2/9, 1/6 + 4/9. 1 - KM for A (deaths censored):
    1/6, 1 - (5/6)(2/3), same, 1 - 0 = 1.
    """
    d = pd.DataFrame({"t": [1, 1, 2, 3, 4, 5], "e": [1, 2, 0, 1, 2, 1]})
    res = cumulative_incidence(d, "t", "e")
    f = res.table()
    assert f.loc[0, ["time", "cif"]].tolist() == [0, 0]
    f = f.iloc[1:].reset_index(drop=True)
    assert f["time"].tolist() == [1, 3, 4, 5]
    assert f["at_risk"].tolist() == [6, 3, 2, 1]
    np.testing.assert_allclose(f["cif"], [1 / 6, 1 / 6 + 2 / 9, 1 / 6 + 2 / 9, 1 / 6 + 4 / 9])
    np.testing.assert_allclose(f["one_minus_km"], [1 / 6, 1 - 5 / 6 * 2 / 3, 1 - 5 / 6 * 2 / 3, 1])
    # the last time has n = d (statsmodels' expanded formula gives NaN); ours is finite
    assert np.isfinite(f["se"]).all()
    # variance at the last time by the Marubini-Valsecchi formula, written out by hand
    n = np.array([6, 3, 2, 1.0])
    dall = np.array([2, 1, 1, 1.0])
    d1 = np.array([1, 1, 0, 1.0])
    s_prev = np.array([1, 4 / 6, 4 / 9, 2 / 9])
    cif = f["cif"].to_numpy()
    dfv = cif[-1] - cif
    t1 = sum(dfv[j] ** 2 * dall[j] / (n[j] * (n[j] - dall[j])) for j in range(3))
    t2 = np.sum(s_prev**2 * d1 * (n - d1) / n**3)
    t3 = np.sum(dfv * s_prev * d1 / n**2)
    assert f["se"].iloc[-1] ** 2 == pytest.approx(t1 + t2 - 2 * t3, abs=1e-12)


def test_cif_without_competing_equals_one_minus_km(gehan: pd.DataFrame) -> None:
    """With no competing events Aalen-Johansen reduces to 1 - KM (statsmodels SurvfuncRight),
    including the standard error (Greenwood)."""
    res = cumulative_incidence(gehan, "weeks", "relapse", by="group")
    km = kaplan_meier(gehan, "weeks", "relapse", by="group")
    m = res.table().merge(km, on=["group", "time"])
    assert len(m) == len(km)
    np.testing.assert_allclose(m["cif"], 1 - m["survival"], atol=1e-12)
    np.testing.assert_allclose(m["one_minus_km"], 1 - m["survival"], atol=1e-12)
    ok = m["survival"] > 0
    np.testing.assert_allclose(m.loc[ok, "se_x"], m.loc[ok, "se_y"], atol=1e-12)


def test_groups_without_events_and_events_at_time_zero() -> None:
    """Nothing is silently dropped: a group without events keeps a time-0 row (S = 1,
    CIF = 0), and an event at time 0 is counted (S(0) = 2/3)."""
    d = pd.DataFrame({"t": [0, 2, 3, 4, 5, 6], "e": [1, 0, 1, 0, 0, 0], "g": list("aaabbb")})
    km = kaplan_meier(d, "t", "e", by="g")
    assert km.loc[km["g"] == "b", "survival"].tolist() == [1.0]
    a = km[km["g"] == "a"]
    assert a["time"].tolist() == [0, 3] and a["survival"].iloc[0] == pytest.approx(2 / 3)
    ci = cumulative_incidence(d, "t", "e", by="g")
    assert ci.at(1.0).set_index("g")["cif"].to_dict() == pytest.approx({"a": 1 / 3, "b": 0})


def test_one_minus_km_overestimates_with_competing_death() -> None:
    """Planted truth: constant hazards 0.05 (event) and 0.10 (death), no censoring before
    t = 10. True CIF(10) = 0.05/0.15 * (1 - exp(-1.5)) = 0.2590; 1 - KM estimates
    1 - exp(-0.5) = 0.3935 (the event risk in a world without death)."""
    rng = np.random.default_rng(11)
    n = 4000
    t1, t2 = rng.exponential(20, n), rng.exponential(10, n)
    cens = np.full(n, 30.0)
    t = np.minimum.reduce([t1, t2, cens])
    e = np.where(t == t1, 1, np.where(t == t2, 2, 0))
    res = cumulative_incidence(pd.DataFrame({"t": t, "e": e}), "t", "e")
    at10 = res.at(10.0).iloc[0]
    true = 0.05 / 0.15 * (1 - np.exp(-1.5))
    assert at10["lower"] < true < at10["upper"]
    assert abs(at10["one_minus_km"] - (1 - np.exp(-0.5))) < 0.03
    assert at10["one_minus_km"] > at10["upper"]
    txt = narrative.summarise(res, "da", time=10)
    assert "Kaplan-Meier" in txt and "konkurrerende" in txt


def test_cif_groups_difference_and_plot(aj_input: pd.DataFrame) -> None:
    res = cumulative_incidence(aj_input, "time", "event", by="group")
    a = res.at(10.0)
    assert a["group"].tolist() == [0, 1]
    diff = res.difference(10.0, 1, 0)
    expected = a.loc[1, "cif"] - a.loc[0, "cif"]
    assert diff["estimate"] == pytest.approx(expected)
    assert diff["se"] == pytest.approx(np.hypot(a.loc[0, "se"], a.loc[1, "se"]))
    assert diff["lower"] < diff["estimate"] < diff["upper"]
    fig = res.plot(labels=narrative.survival.cif_plot_labels("da"))
    assert "Kumuleret incidens" in title_of(fig.axes[0])
    plt.close(fig)
    fig = res.plot(show_km=False, labels=narrative.survival.cif_plot_labels("en"))
    assert fig.axes[0].get_xlabel() == "Time"
    plt.close(fig)


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
def test_bad_input_names_the_column(gehan: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="'wks'"):
        kaplan_meier(gehan, "wks", "relapse")
    bad = gehan.copy()
    bad.loc[3, "weeks"] = -1
    with pytest.raises(InputError, match="'weeks' is negative in row 3"):
        kaplan_meier(bad, "weeks", "relapse")
    bad = gehan.assign(relapse=gehan["relapse"].astype(float))
    bad.loc[5, "relapse"] = np.nan
    with pytest.raises(InputError, match="'relapse' is missing in row 5"):
        cox(bad, "weeks", "relapse", ["treated"])
    with pytest.raises(InputError, match="has 7 in row 0"):
        cumulative_incidence(pd.DataFrame({"t": [1, 2], "e": [7, 1]}), "t", "e")
    with pytest.raises(InputError, match="ties"):
        cox(gehan, "weeks", "relapse", ["treated"], ties="exact")
    with pytest.raises(InputError, match="'nope'"):
        cox(gehan, "weeks", "relapse", ["nope"])
