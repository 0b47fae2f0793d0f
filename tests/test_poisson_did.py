"""Count difference-in-differences (extended two-way fixed effects, Wooldridge 2023).

Reference: the R package ``etwfe`` (McDermott, version on GitHub grantmcdermott/etwfe,
``inst/tinytest/test_etwfe.R`` and ``test_emfx.R``), whose tests store the coefficient tables
of ``fixest`` and the marginal effects of ``emfx`` on the ``mpdta`` panel of R ``did``
(``tests/data/reference/mpdta.csv``). Values below are copied from those files (printed to
15+ digits there); we check them to a relative 1e-5 (coefficients) and 1e-4 (clustered
standard errors: same CR1 small-sample correction as fixest, hence ``vcov="CR1"``, and
cohort-size weights, hence ``weighting="units"`` where the Poisson aggregates are compared).
``emp = exp(lemp)`` is the count-like outcome of their Poisson examples.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.errors import InputError
from nsv_eval.report import narrative
from nsv_eval.stats.designs.poisson_did import poisson_did

MPDTA = Path(__file__).parent / "data" / "reference" / "mpdta.csv"

# etwfe test_etwfe.R, m1_known: etwfe(lemp ~ 0, tvar=year, gvar=first.treat, vcov=~countyreal)
M1 = {
    (2004, 2004): (-0.0193723636759116, 0.0223952764912568),
    (2004, 2005): (-0.0783190990620529, 0.030506236091693),
    (2004, 2006): (-0.136078114440309, 0.0354768817979489),
    (2004, 2007): (-0.104707471576594, 0.0338947465597152),
    (2006, 2006): (0.00251386194191313, 0.0199448451562706),
    (2006, 2007): (-0.0391927355917248, 0.0240232361043774),
    (2007, 2007): (-0.0431060328087001, 0.0184422693090335),
}
# m2_known: the same with cgroup = "never" (pre-period cells against g - 1)
M2 = {
    (2004, 2004): (-0.0105032462209509, 0.0233633078987137),
    (2004, 2007): (-0.100811363085397, 0.0345251351219756),
    (2006, 2003): (-0.00376929367371485, 0.0314933678411734),
    (2006, 2007): (-0.041224471546218, 0.0203268606975245),
    (2007, 2005): (0.0310871193896906, 0.0179638358765074),
    (2007, 2007): (-0.0260544107191967, 0.0167358589135634),
}
# m3p_known: etwfe(emp ~ lpop, ..., family = "poisson"): the cohort x year effects
M3P = {
    (2004, 2004): (-0.0309556552918575, 0.0176207591941838),
    (2004, 2005): (-0.0662240386949426, 0.0255833352827062),
    (2004, 2006): (-0.132971344933512, 0.0237253169390011),
    (2004, 2007): (-0.117022779216096, 0.022500568035011),
    (2006, 2006): (-0.00904940559832479, 0.0244213099833293),
    (2006, 2007): (-0.0681486377022154, 0.025111336200421),
    (2007, 2007): (-0.0399915656289664, 0.0168249306911585),
}
# test_emfx.R, event_pois_link_known: emfx(m3p, type = "event", predict = "link")
EVENT_POIS_LINK = {
    0: (-0.0325653634930092, 0.0128503810792558),
    1: (-0.0675071046997911, 0.0183966910997271),
    2: (-0.132971344933511, 0.0237253182969748),
    3: (-0.117022779216096, 0.0225005664705109),
}
# test_emfx.R, simple/group/calendar of the linear m3 (lemp ~ lpop)
SIMPLE_M3 = (-0.0506270331228907, 0.0124972546529842)
GROUP_M3 = {
    2004: (-0.0876269608795944, 0.0230474099815232),
    2006: (-0.0212783329358987, 0.0185912208081438),
    2007: (-0.0459545277368072, 0.0179714452432232),
}
CALENDAR_M3 = {
    2004: (-0.0212480022225509, 0.0217240109737018),
    2005: (-0.0818499992698648, 0.0273693827216135),
    2006: (-0.0442655912990223, 0.0173733625406716),
    2007: (-0.0524323095862384, 0.015015825012757),
}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    d = pd.read_csv(MPDTA)
    d["emp"] = np.exp(d["lemp"])
    return d


def _cells(res) -> dict:
    c = res.cells()
    return {
        (int(g), int(t)): (b, s)
        for g, t, b, s in zip(c["group"], c["time"], c["log_rr"], c["se"], strict=True)
    }


def _check(got: dict, known: dict, rel_b=1e-5, rel_se=1e-4):
    for key, (b, se) in known.items():
        assert key in got, key
        assert got[key][0] == pytest.approx(b, rel=rel_b, abs=1e-9), key
        assert got[key][1] == pytest.approx(se, rel=rel_se), key


def test_linear_etwfe_reproduces_r_etwfe(mpdta):
    r = poisson_did(
        mpdta,
        "lemp",
        "countyreal",
        "year",
        "first.treat",
        family="gaussian",
        fe="cohort",
        vcov="CR1",
    )
    got = _cells(r)
    assert set(got) == set(M1)
    _check(got, M1)


def test_linear_etwfe_unit_effects_same_cells(mpdta):
    """Unit instead of cohort fixed effects: identical cell effects in a balanced panel."""
    r = poisson_did(
        mpdta, "lemp", "countyreal", "year", "first.treat", family="gaussian", vcov="CR1"
    )
    _check(_cells(r), M1, rel_se=2e-3)  # SE: fixest counts the nested unit effects differently


def test_never_treated_control_reproduces_r_etwfe(mpdta):
    r = poisson_did(
        mpdta,
        "lemp",
        "countyreal",
        "year",
        "first.treat",
        family="gaussian",
        fe="cohort",
        control="never",
        vcov="CR1",
    )
    got = _cells(r)
    assert len(got) == 12
    _check(got, M2)
    assert np.isfinite(r.pretest()["p_value"])


def test_poisson_etwfe_with_covariate_reproduces_r_etwfe(mpdta):
    r = poisson_did(
        mpdta,
        "emp",
        "countyreal",
        "year",
        "first.treat",
        covariates=["lpop"],
        fe="cohort",
        vcov="CR1",
        weighting="units",
    )
    _check(_cells(r), M3P)
    es = r.aggregate("dynamic")
    post = es[es["source"].eq("fit") & es["value"].notna()].set_index("value")
    for e, (b, se) in EVENT_POIS_LINK.items():
        assert post.at[e, "estimate"] == pytest.approx(b, rel=1e-5)
        assert post.at[e, "se"] == pytest.approx(se, rel=1e-4)
        assert post.at[e, "rate_ratio"] == pytest.approx(np.exp(b), rel=1e-5)
    # uniform band is wider than the pointwise interval
    assert (post["band_upper"] - post["band_lower"] > post["upper"] - post["lower"]).all()
    # leads from the pre-test fit appear as negative event times
    assert (es["value"] < 0).any()


def test_aggregations_reproduce_emfx(mpdta):
    r = poisson_did(
        mpdta,
        "lemp",
        "countyreal",
        "year",
        "first.treat",
        family="gaussian",
        fe="cohort",
        covariates=["lpop"],
        vcov="CR1",
    )
    m = r.main_effect()
    assert m["estimate"] == pytest.approx(SIMPLE_M3[0], rel=1e-5)
    assert m["se"] == pytest.approx(SIMPLE_M3[1], rel=1e-4)
    g = r.aggregate("group").set_index("value")
    for k, (b, se) in GROUP_M3.items():
        assert g.at[k, "estimate"] == pytest.approx(b, rel=1e-5)
        assert g.at[k, "se"] == pytest.approx(se, rel=1e-4)
    c = r.aggregate("calendar").set_index("value")
    for k, (b, se) in CALENDAR_M3.items():
        assert c.at[k, "estimate"] == pytest.approx(b, rel=1e-5)
        assert c.at[k, "se"] == pytest.approx(se, rel=1e-4)


def test_poisson_unit_and_cohort_effects_agree_without_offset(mpdta):
    """Wooldridge (2023): pooled Poisson with cohort dummies = Poisson with unit effects."""
    a = poisson_did(mpdta, "emp", "countyreal", "year", "first.treat", fe="cohort")
    b = poisson_did(mpdta, "emp", "countyreal", "year", "first.treat", fe="unit")
    np.testing.assert_allclose(a.cells()["log_rr"], b.cells()["log_rr"], rtol=1e-6)


def _planted_panel(
    seed: int, rr: float, n_units: int = 60, years=range(2010, 2020)
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    starts = rng.choice([0, 0, 2013, 2015, 2017], size=n_units)
    size = rng.lognormal(8, 0.8, size=n_units)  # person-years: very unequal kommuner
    base = rng.lognormal(np.log(0.01), 0.2, size=n_units)
    for i in range(n_units):
        for y in years:
            py = size[i] * (1 + 0.01 * (y - 2010))
            mu = (
                py
                * base[i]
                * np.exp(0.02 * (y - 2010))
                * (rr if starts[i] and y >= starts[i] else 1.0)
            )
            rows.append(
                dict(unit=i, year=y, first=starts[i], person_years=py, count=rng.poisson(mu))
            )
    return pd.DataFrame(rows)


def test_planted_rate_ratio_recovered():
    """Planted truth: a rate ratio of 0.8 in a simulated staggered panel with an offset."""
    d = _planted_panel(5, 0.8, n_units=80)
    r = poisson_did(d, "count", "unit", "year", "first", exposure="person_years")
    m = r.main_effect()
    assert m["lower"] < 0.8 < m["upper"]
    assert m["estimate"] == pytest.approx(0.8, abs=0.05)
    assert r.table()["term"].tolist()[0] == "rate_ratio"
    assert "personår" in narrative.summarise(r, "da")
    fig = r.plot(labels=narrative.poisson_did.plot_labels("da"))
    assert fig.axes[0].get_ylabel() == "Rateratio"


def test_bad_input_names_row_and_column():
    d = _planted_panel(1, 1.0, n_units=10)
    bad = d.copy()
    bad.loc[7, "person_years"] = 0
    with pytest.raises(InputError, match="person_years.*row 7"):
        poisson_did(bad, "count", "unit", "year", "first", exposure="person_years")
    bad = d.copy()
    bad.loc[3, "count"] = -1
    with pytest.raises(InputError, match="count.*row 3"):
        poisson_did(bad, "count", "unit", "year", "first")
    with pytest.raises(InputError, match="lacks"):
        poisson_did(d, "nope", "unit", "year", "first")


def test_cell_without_events_is_left_out_with_a_warning():
    """A cohort x year cell with no events has no finite effect: left out, named, warned."""
    d = _planted_panel(2, 0.8, n_units=40)
    first = d.loc[d["first"] > 0, "first"].min()
    d.loc[(d["first"] == first) & (d["year"] == first), "count"] = 0
    with pytest.warns(UserWarning, match="without any event"):
        r = poisson_did(d, "count", "unit", "year", "first", exposure="person_years")
    c = r.cells()
    assert not ((c["group"] == first) & (c["time"] == first)).any()
    assert np.isfinite(c["log_rr"]).all() and (c["log_rr"] > -5).all()
    assert any("without events" in n for n in r.notes)


def test_anticipation_keeps_a_partly_treated_year_out_of_the_comparison():
    """Planted truth: the year before first_treated is half treated (a mid-year start). With
    ``anticipation=1`` that year gets its own effect and the rate ratio is recovered; without,
    it serves as a pre-period and the estimate is pulled towards 1."""
    d = _planted_panel(8, 0.7, n_units=120)
    rng = np.random.default_rng(9)
    part = (d["first"] > 0) & (d["year"] == d["first"] - 1)
    mu = d.loc[part, "count"].to_numpy()
    d.loc[part, "count"] = rng.binomial(mu, 0.85)  # thin: about half a year at ratio 0.7
    with_a = poisson_did(
        d, "count", "unit", "year", "first", exposure="person_years", anticipation=1
    )
    without = poisson_did(d, "count", "unit", "year", "first", exposure="person_years")
    a, b = with_a.main_effect(), without.main_effect()
    assert a["lower"] < 0.7 < a["upper"]
    assert abs(np.log(a["estimate"] / 0.7)) < abs(np.log(b["estimate"] / 0.7))
    c = with_a.cells()
    assert c["anticipation"].any() and not c.loc[c["anticipation"], "post"].any()


def test_events_weighting_recovers_the_realised_ratio_of_a_growing_effect():
    """Planted truth: with the expected counts themselves as outcome (no noise; exact
    multiplicative parallel trends), an effect that grows with time since the start and is
    stronger in large units, the overall rate ratio with events weighting is exactly the
    realised ratio sum(mu with) / sum(mu without) over treated post-start unit-years — the
    quantity truth.json plants — while the cohort-size weighted log average is not."""
    rng = np.random.default_rng(11)
    n, years = 60, np.arange(2010, 2021)
    size = rng.lognormal(7, 1.2, n)
    big = size > np.median(size)
    # the large units start late: few post years, but most of the events
    start = np.where(big, rng.choice([0, 2017], n), rng.choice([0, 2013, 2015], n))
    base = rng.lognormal(np.log(0.02), 0.3, n)
    rows, mu1, mu0 = [], 0.0, 0.0
    for i in range(n):
        for y in years:
            m0 = size[i] * base[i] * np.exp(0.03 * (y - 2010) + 0.1 * np.sin(y))
            on = start[i] and y >= start[i]
            k = y - start[i] + 1 if on else 0
            rr = 1 - (0.05 + 0.4 * big[i]) * (1 - np.exp(-k / 2))
            m = m0 * (rr if on else 1.0)
            if on:
                mu1, mu0 = mu1 + m, mu0 + m0
            rows.append(dict(unit=i, year=y, first=start[i], person_years=size[i], count=m))
    d = pd.DataFrame(rows)
    r = poisson_did(d, "count", "unit", "year", "first", exposure="person_years", pretest=False)
    t = r.table().set_index("term")
    assert t.at["rate_ratio", "estimate"] == pytest.approx(mu1 / mu0, rel=1e-6)
    assert abs(t.at["rate_ratio_units", "estimate"] - mu1 / mu0) > 0.02
    assert r.weighting == "events" and r.vcov == "CR3"
    assert (t["df"] > 1).all() and np.isfinite(t["df"]).all()


def test_small_sample_intervals_are_t_based_and_wider_than_cr1():
    """CR3 with Bell–McCaffrey degrees of freedom: the interval uses t(df), df well below the
    number of clusters when a few units carry the comparison, and it is wider than CR1's
    normal interval on the same fit (the bench's falls panel: CR1 covered 88 %)."""
    d = _planted_panel(4, 0.8, n_units=40)
    a = poisson_did(d, "count", "unit", "year", "first", exposure="person_years", pretest=False)
    b = poisson_did(
        d, "count", "unit", "year", "first", exposure="person_years", pretest=False, vcov="CR1"
    )
    ma, mb = a.main_effect(), b.main_effect()
    assert ma["estimate"] == pytest.approx(mb["estimate"], rel=1e-10)  # same fit, same weights
    assert 1 < ma["df"] < 39 and np.isinf(mb["df"])
    crit = (np.log(ma["upper"]) - np.log(ma["estimate"])) / ma["se"]
    from scipy import stats as st

    assert crit == pytest.approx(st.t.ppf(0.975, ma["df"]), rel=1e-8)
    assert np.log(ma["upper"] / ma["lower"]) > np.log(mb["upper"] / mb["lower"])
    with pytest.raises(ValueError, match="vcov"):
        poisson_did(d, "count", "unit", "year", "first", vcov="HC1")
    with pytest.raises(ValueError, match="events"):
        poisson_did(d, "count", "unit", "year", "first", family="gaussian", weighting="events")


def test_single_unit_cohort_is_warned_and_worded():
    """A start cohort of one unit (clustered by unit): its cells fit that unit's data exactly,
    so their cluster-robust SE is understated. Planted: unit 0 alone starts in 2014 (no other
    unit of ``_planted_panel`` does); the estimator warns, lists the cohort on the result,
    and the narrative says so in both languages. Clustered by a coarser variable the warning
    does not apply (the cohort then shares its cluster's residual information)."""
    d = _planted_panel(4, 0.8, n_units=40)
    d.loc[d["unit"] == 0, "first"] = 2014
    with pytest.warns(UserWarning, match="single unit"):
        r = poisson_did(d, "count", "unit", "year", "first", exposure="person_years", pretest=False)
    assert r.single_unit_cohorts == [2014]
    assert any("single unit" in n for n in r.notes)
    assert "én enhed" in narrative.summarise(r, "da")
    assert "single unit" in narrative.summarise(r, "en")
    d["region"] = d["unit"] % 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        r2 = poisson_did(
            d,
            "count",
            "unit",
            "year",
            "first",
            exposure="person_years",
            pretest=False,
            cluster="region",
        )
    assert r2.single_unit_cohorts == []
    assert "én enhed" not in narrative.summarise(r2, "da")
