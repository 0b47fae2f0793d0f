"""Properties of the indicator methods (hypothesis) and checks against planted truths."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsv_eval.reference import AGE_BANDS, esp2013
from nsv_eval.report import narrative
from nsv_eval.stats.indicators import (
    compare,
    concentration_index,
    dsr,
    funnel_limits,
    isr,
    life_expectancy,
    proportion,
    rate,
    sii,
)

FAST = settings(max_examples=40, deadline=None)

counts = st.integers(min_value=0, max_value=5000)


@FAST
@given(x=counts, extra=st.integers(min_value=1, max_value=5000))
def test_proportion_limits_contain_estimate_and_widen_with_confidence(x, extra):
    df = pd.DataFrame({"x": [x], "n": [x + extra]})
    p95 = proportion(df, "x", "n", conf=0.95).iloc[0]
    p998 = proportion(df, "x", "n", conf=0.998).iloc[0]
    assert p95["lower"] <= p95["estimate"] <= p95["upper"]
    assert p998["lower"] <= p95["lower"] + 1e-15
    assert p998["upper"] >= p95["upper"] - 1e-15
    assert 0 <= p998["lower"] and p998["upper"] <= 1


@FAST
@given(p=st.floats(min_value=0.01, max_value=0.99), n=st.integers(min_value=10, max_value=2000))
def test_proportion_interval_narrows_with_n(p, n):
    small = pd.DataFrame({"x": [p * n], "n": [n]})
    big = pd.DataFrame({"x": [p * n * 4], "n": [n * 4]})
    w_small = proportion(small, "x", "n").eval("upper - lower").iloc[0]
    w_big = proportion(big, "x", "n").eval("upper - lower").iloc[0]
    assert w_big < w_small


@FAST
@given(o=counts, pop=st.floats(min_value=1, max_value=1e6))
def test_rate_limits_contain_estimate_and_widen(o, pop):
    df = pd.DataFrame({"o": [o], "pop": [pop]})
    r95 = rate(df, "o", "pop").iloc[0]
    r998 = rate(df, "o", "pop", conf=0.998).iloc[0]
    assert r95["lower"] <= r95["estimate"] <= r95["upper"]
    assert r998["lower"] <= r95["lower"] and r998["upper"] >= r95["upper"]
    assert r95["method"] == ("exact" if o < 10 else "Byar")


@FAST
@given(o=st.integers(min_value=10, max_value=3000))
def test_rate_interval_narrows_relative_to_rate_with_more_events(o):
    df = pd.DataFrame({"o": [o, 4 * o], "pop": [1000.0, 4000.0], "g": [1, 2]})
    out = rate(df, "o", "pop", by="g")
    rel = (out["upper"] - out["lower"]) / out["estimate"]
    assert rel.iloc[1] < rel.iloc[0]


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), counts, st.integers(1, 5000)), min_size=1, max_size=12
    )
)
def test_grouped_and_ungrouped_agree(rows):
    df = pd.DataFrame(rows, columns=["g", "x", "extra"]).assign(n=lambda d: d.x + d.extra)
    grouped = proportion(df, "x", "n", by="g").set_index("g")
    grouped_rate = rate(df, "x", "n", by="g").set_index("g")
    for g, sub in df.groupby("g"):
        alone = proportion(sub, "x", "n").iloc[0]
        assert grouped.loc[g, "estimate"] == pytest.approx(alone["estimate"])
        assert grouped.loc[g, "lower"] == pytest.approx(alone["lower"])
        alone_r = rate(sub, "x", "n").iloc[0]
        assert grouped_rate.loc[g, "upper"] == pytest.approx(alone_r["upper"])


def _esp_frame(deaths: np.ndarray, pops: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"age_band": AGE_BANDS, "deaths": deaths, "pop": pops})


@FAST
@given(
    scale=st.floats(min_value=0.5, max_value=50),
    rates=st.lists(st.floats(min_value=0.0, max_value=0.05), min_size=20, max_size=20),
)
def test_dsr_of_standard_shaped_population_equals_crude_rate(scale, rates):
    """A population shaped exactly like ESP2013 standardises to its crude rate."""
    pops = esp2013()["population"].to_numpy(float) * scale
    deaths = np.round(pops * np.asarray(rates))
    df = _esp_frame(deaths, pops)
    out = dsr(df, "deaths", "pop").iloc[0]
    if deaths.sum() < 10:
        assert np.isnan(out["estimate"]) and "< 10" in out["note"]
    else:
        crude = deaths.sum() / pops.sum() * 1e5
        assert out["estimate"] == pytest.approx(crude, rel=1e-10)
        assert out["lower"] < out["estimate"] < out["upper"]


def test_dsr_constant_rate_is_that_rate_and_groups_agree():
    """Planted truth: a constant age-specific rate of 1% gives DSR = 1000 per 100,000 in
    any age structure; grouped results equal separate calls."""
    rng = np.random.default_rng(4)
    frames = []
    for k in (101, 147):
        pops = rng.integers(2000, 20000, size=20).astype(float)
        frames.append(_esp_frame(pops * 0.01, pops).assign(kommune_code=k))
    df = pd.concat(frames, ignore_index=True)
    out = dsr(df, "deaths", "pop", by="kommune_code")
    np.testing.assert_allclose(out["estimate"], 1000.0, rtol=1e-12)
    one = dsr(df[df.kommune_code == 147], "deaths", "pop").iloc[0]
    assert out.iloc[1]["upper"] == pytest.approx(one["upper"])


def test_dsr_esp2013_sums_sex_rows_within_band():
    """With std_pop='esp2013', rows of the same band (M and F) are summed before weighting."""
    pops = esp2013()["population"].to_numpy(float)
    df = pd.concat([_esp_frame(np.full(20, 3.0), pops / 2).assign(sex=s) for s in "MF"])
    out = dsr(df, "deaths", "pop").iloc[0]
    assert out["estimate"] == pytest.approx(120 / 100_000 * 1e5)


def test_isr_planted_reference_rates_give_ratio_one():
    """When the local stratum rates equal the reference rates, O = E, the ratio is 1 and
    the ISR equals the reference crude rate."""
    ref_rate = np.array([0.001, 0.004, 0.02, 0.08])
    pops = np.array([40_000, 30_000, 20_000, 10_000.0])
    df = pd.DataFrame(
        {
            "age_band": ["0-4", "45-49", "70-74", "85-89"],
            "n": pops,
            "x": pops * ref_rate,
            "rx": ref_rate * 1e6,
            "rn": 1e6,
        }
    )
    out = isr(df, "x", "n", "rx", "rn", ratio=True).iloc[0]
    assert out["observed"] == pytest.approx(out["expected"])
    assert out["estimate"] == pytest.approx(1.0)
    assert out["lower"] < 1 < out["upper"]
    by_label = isr(
        df,
        "x",
        "n",
        pd.Series(ref_rate * 1e6, index=df.age_band),
        pd.Series(1e6, index=df.age_band),
    ).iloc[0]
    vector = isr(df, "x", "n", list(ref_rate * 1e6), [1e6] * 4).iloc[0]
    crude_ref = (ref_rate * 1e6).sum() / 4e6 * 1e5
    assert by_label["estimate"] == pytest.approx(crude_ref)
    assert vector["estimate"] == pytest.approx(crude_ref)


def test_funnel_rate_limits_are_ratio_limits_scaled():
    """Rate funnels are ratio funnels with E = person-years x target rate."""
    df = pd.DataFrame({"o": [30, 55, 80, 120, 12], "py": [1e4, 2e4, 2.5e4, 4e4, 5e3]})
    theta = df.o.sum() / df.py.sum()
    counts = np.arange(1, 200, 3)
    r = funnel_limits(df, "o", "py", statistic="rate", multiplier=1000, grid=counts).limits
    e_df = df.assign(e=df.py * theta)
    q = funnel_limits(e_df, "o", "e", statistic="ratio", grid=counts).limits
    for lev in (0.95, 0.998):
        a = r[(r.level == lev) & (r.side == "upper")]
        b = q[(q.level == lev) & (q.side == "upper")]
        np.testing.assert_allclose(a["x"].to_numpy() * theta, b["x"].to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(
            a["limit"].to_numpy(), b["limit"].to_numpy() * theta * 1000, rtol=1e-9
        )


def test_funnel_overdispersion_planted():
    """Planted over-dispersion: unit proportions drawn around 0.3 with between-unit SD 0.04
    (far more than binomial noise at n = 2000). φ must be clearly > 1; without winsorising
    the additive τ² (DerSimonian-Laird moment estimate) must recover 0.04²; with the default
    10% winsorising φ shrinks by the known factor for normal z-scores (0.679: E[z_w²] of a
    10%-winsorised N(0, 1)); adjusted limits flag far fewer units."""
    rng = np.random.default_rng(11)
    n = np.full(200, 2000)
    p = rng.normal(0.3, 0.04, size=200).clip(0.05, 0.95)
    df = pd.DataFrame({"x": rng.binomial(n, p), "n": n})
    plain = funnel_limits(df, "x", "n")
    mult = funnel_limits(df, "x", "n", overdispersion="multiplicative")
    add = funnel_limits(df, "x", "n", overdispersion="additive")
    assert plain.phi > 5 and plain.dispersion_p < 1e-6
    unwinsorised = funnel_limits(df, "x", "n", overdispersion="additive", winsor=0)
    assert unwinsorised.tau2 == pytest.approx(0.04**2, rel=0.25)
    assert plain.phi == pytest.approx(0.679 * unwinsorised.phi, rel=0.25)
    flagged = (plain.units.flag != "Not significant").sum()
    assert (mult.units.flag != "Not significant").sum() < flagged / 3
    assert (add.units.flag != "Not significant").sum() < flagged / 3
    # no over-dispersion: binomial data give φ near 0.679 (winsorised) or 1 (not), τ² = 0
    rng0 = np.random.default_rng(12)
    df0 = pd.DataFrame({"x": rng0.binomial(n, 0.3), "n": n})
    calm = funnel_limits(df0, "x", "n", overdispersion="additive")
    assert 0.679 - 0.2 < calm.phi < 0.679 + 0.2 and calm.tau2 == 0
    raw = funnel_limits(df0, "x", "n", overdispersion="additive", winsor=0)
    assert 0.75 < raw.phi < 1.25 and raw.dispersion_p > 0.01


def test_compare_rule_and_danish_labels():
    """Fingertips benchmark rule: higher if lower limit > benchmark, lower if upper < it."""
    res = pd.DataFrame(
        {
            "estimate": [10.0, 5.0, 2.0, np.nan],
            "lower": [8.0, 3.0, 1.0, np.nan],
            "upper": [12.0, 7.0, 3.5, np.nan],
        }
    )
    out = compare(res, 4.0, polarity="low_is_good")
    assert list(out.comparison) == ["higher", "similar", "lower", "not_compared"]
    labels = out.comparison.map(narrative.indicators.COMPARISON_DA)
    assert list(labels) == ["højere", "som", "lavere", "ikke sammenlignet"]
    assert list(out.rag) == ["worse", "similar", "better", "not_compared"]
    assert list(out.rag.map(narrative.indicators.RAG_DA))[:3] == ["dårligere", "som", "bedre"]
    with_ci = compare(res, 4.0, benchmark_lower=3.6, benchmark_upper=7.5)
    assert list(with_ci.comparison) == ["higher", "similar", "lower", "not_compared"]


def test_compare_two_levels_from_stacked_results():
    df = pd.DataFrame({"x": [128, 100], "n": [1000, 1000], "k": [1, 2]})
    both = pd.concat([proportion(df, "x", "n", by="k", conf=c) for c in (0.95, 0.998)])
    out = compare(both, 0.1)
    k1 = out[out.k == 1].set_index("conf")["comparison"]
    assert k1[0.95] == "higher"  # 0.128, Wilson 95% (0.1087, 0.1501) excludes 0.10
    assert k1[0.998] == "similar"  # 99.8% (0.0988, 0.1642) includes it
    assert (out[out.k == 2]["comparison"] == "similar").all()


def test_sii_planted_linear_gradient_exact():
    """Values exactly linear in the rank midpoint give SII = slope and RII = (a + b) / a."""
    pops = np.array([12_000, 9_000, 15_000, 8_000, 11_000.0])
    a, ranks = pops / pops.sum(), np.cumsum(pops / pops.sum()) - pops / pops.sum() / 2
    assert a.sum() == pytest.approx(1)
    value = 80 - 12 * ranks
    df = pd.DataFrame({"q": [1, 2, 3, 4, 5], "pop": pops, "v": value, "se": 0.5})
    out = sii(df, "q", "pop", value="v", se="se", reps=2000, seed=1).iloc[0]
    assert out["estimate"] == pytest.approx(-12, abs=1e-10)
    assert out["intercept"] == pytest.approx(80, abs=1e-10)
    assert out["rii"] == pytest.approx(68 / 80, abs=1e-12)
    assert out["lower"] < -12 < out["upper"]
    again = sii(df, "q", "pop", value="v", se="se", reps=2000, seed=1).iloc[0]
    assert again["lower"] == out["lower"] and again["rii_upper"] == out["rii_upper"]
    flipped = sii(df, "q", "pop", value="v", se="se", reps=2000, seed=1, multiplier=-1).iloc[0]
    assert flipped["estimate"] == pytest.approx(12) and flipped["rii"] == pytest.approx(80 / 68)


def test_sii_matches_phe_example_regression_and_simulation_width():
    """PHE phe_sii roxygen example (Area1, 10 deciles, value and SE). The point SII is the
    weighted regression slope (checked against numpy least squares on PHE's √a design); the
    simulated 95% limits agree with the analytic normal limits of a linear estimator
    (Σ c_i y_i, variance Σ c_i² se_i²) to within Monte Carlo error."""
    df = pd.DataFrame(
        {
            "decile": range(1, 11),
            "population": [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534],
            "value": [75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3],
            "se": [1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57],
        }
    )
    out = sii(df, "decile", "population", value="value", se="se", reps=20_000, seed=3).iloc[0]
    pop = df.population.to_numpy(float)
    a = pop / pop.sum()
    b = np.cumsum(a) - a / 2
    x = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    coef, *_ = np.linalg.lstsq(x, df.value * np.sqrt(a), rcond=None)
    assert out["estimate"] == pytest.approx(coef[1], rel=1e-10)
    c = np.linalg.solve(x.T @ x, x.T)[1] * np.sqrt(a)  # SII = Σ c_i y_i
    half = 1.959964 * np.sqrt((c**2 * df.se**2).sum())
    assert out["lower"] == pytest.approx(coef[1] - half, abs=0.15)
    assert out["upper"] == pytest.approx(coef[1] + half, abs=0.15)


def test_sii_from_counts_education_order():
    """Education levels are ordered grundskole -> lang; four groups warn (PHE wants >= 5)."""
    df = pd.DataFrame(
        {
            "education": ["lang", "kort", "grundskole", "mellemlang"],
            "py": [20_000, 30_000, 25_000, 25_000.0],
            "events": [100, 240, 300, 180],
        }
    )
    with pytest.warns(UserWarning, match="4 groups"):
        out = sii(
            df, "education", "py", numerator="events", value_type="rate", reps=1000, multiplier=1000
        ).iloc[0]
    assert out["estimate"] < 0  # events fall with education
    assert out["rii"] < 1 and out["lower"] < out["estimate"] < out["upper"]


def test_concentration_index_geometry_and_sampling_se():
    """C = 1 - 2 x area under the concentration curve (trapezoids, independent formula);
    Kakwani's SE matches the spread of C over 300 simulated samples (planted truth)."""
    pop = np.array([300.0, 250, 200, 150, 100])
    x = np.array([90.0, 62, 40, 22, 12])
    df = pd.DataFrame({"q": range(1, 6), "pop": pop, "x": x})
    out = concentration_index(df, "q", "pop", numerator="x").iloc[0]
    cum_p = np.concatenate([[0], np.cumsum(pop) / pop.sum()])
    cum_h = np.concatenate([[0], np.cumsum(x) / x.sum()])
    area = np.sum((cum_h[1:] + cum_h[:-1]) / 2 * np.diff(cum_p))
    assert out["estimate"] == pytest.approx(1 - 2 * area, abs=1e-12)
    assert out["estimate"] < 0
    flat = concentration_index(df.assign(x=pop * 0.2), "q", "pop", numerator="x").iloc[0]
    assert flat["estimate"] == pytest.approx(0, abs=1e-12)

    rng = np.random.default_rng(1)
    shares, p, n = pop / pop.sum(), x / pop, 2000
    cs, ses = [], []
    for _ in range(300):
        g = rng.choice(5, size=n, p=shares)
        y = rng.random(n) < p[g]
        d = pd.DataFrame(
            {
                "q": range(1, 6),
                "pop": np.bincount(g, minlength=5),
                "x": np.bincount(g, weights=y, minlength=5),
            }
        )
        r = concentration_index(d, "q", "pop", numerator="x").iloc[0]
        cs.append(r["estimate"])
        ses.append(r["se"])
    assert 0.85 < np.mean(ses) / np.std(cs) < 1.15


def test_life_expectancy_esp_bands_planted_constant_hazard():
    """Planted truth: a constant mortality rate m in every ESP2013 band (0-4 ... 95+) gives
    life expectancy near 1/m (exactly 1/m in the open band); a small population warns,
    gets NaN and a note."""
    m = 0.02
    pops = np.full(20, 50_000.0)
    df = pd.DataFrame({"age_band": AGE_BANDS, "pop": pops, "deaths": pops * m})
    out = life_expectancy(df, "deaths", "pop")
    assert out.iloc[-1]["estimate"] == pytest.approx(1 / m)
    assert out.iloc[0]["estimate"] == pytest.approx(1 / m, rel=0.01)
    assert (out["lower"] < out["estimate"]).all() and (out["estimate"] < out["upper"]).all()
    small = df.assign(pop=200.0, deaths=4.0, kommune_code=999)
    both = pd.concat([df.assign(kommune_code=101), small])
    with pytest.warns(UserWarning, match="total population"):
        res = life_expectancy(both, "deaths", "pop", by="kommune_code")
    k999 = res[res.kommune_code == 999]
    assert k999["estimate"].isna().all() and k999["note"].str.contains("5000").all()
    assert res[res.kommune_code == 101]["estimate"].notna().all()


def test_life_expectancy_deaths_above_population_and_missing_band_warn():
    m = 0.01
    pops = np.full(20, 50_000.0)
    df = pd.DataFrame({"age_band": AGE_BANDS, "pop": pops, "deaths": pops * m})
    bad = df.copy()
    bad.loc[5, "deaths"] = 60_000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = life_expectancy(
            pd.concat([df.assign(k=1), bad.assign(k=2), df.iloc[:-1].assign(k=3)]),
            "deaths",
            "pop",
            by="k",
        )
    assert caught and "more deaths than population" in str(caught[0].message)
    notes = out.groupby("k")["note"].first()
    assert notes[1] == "" and "more deaths" in notes[2] and "missing age band" in notes[3]
