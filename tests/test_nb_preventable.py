"""Tests of nsv_eval.analyses.preventable (study notebook 05 Forebyggelige) on the fixture.

References:

* [TRUTH] ``truth.json`` of the ``synth_dir`` fixture (scale 0.005, seed 7):
  ``kommuner[].acute_team_start`` (the planted roll-out; donors must be exactly the kommuner
  without one) and ``effects.acute_team.planted_rate_ratio`` = 0.85.
* [LIB] :func:`nsv_eval.stats.synthetic_control` (itself checked against Abadie et al.'s
  Proposition 99 results in tests/test_synthetic_control.py): with no placebo left out,
  :func:`preventable.sc_inference` carries its p-value and interval.
* Independent computations from the panel/path, described in each test.

The acute team's effect in one kommune is not tested against the planted 0.85: a single
kommune has roughly 1-20 preventable admissions 65+ a year at this scale (scale 0.02, seed 1,
Kalundborg: ITS 0.47, 0.29-0.78, with a failing placebo-in-time check; synthetic control
ratio about 0.71, placebo p = 0.71), so no honest test of recovery is possible here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.analyses import effects, falls, load_prepared, preventable, profile
from nsv_eval.report import sentences


@pytest.fixture(scope="module")
def prep(prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return load_prepared(prepared_dir, tmp_path_factory.mktemp("cache-preventable"))


@pytest.fixture(scope="module")
def truth(synth_dir: Path) -> dict:
    return json.loads((synth_dir / "truth.json").read_text(encoding="utf-8"))


YEARS = list(range(2010, 2025))


@pytest.fixture(scope="module")
def treated(truth) -> int:
    """The largest kommune whose acute team started inside a year (not on 1 January)."""
    ks = [
        k
        for k in truth["kommuner"]
        if k["acute_team_start"] and not k["acute_team_start"].endswith("-01-01")
    ]
    return max(ks, key=lambda k: k["persons_first_day"])["kommune_code"]


@pytest.fixture(scope="module")
def sc(prep, treated):
    start = falls.resolve_start(prep, treated, "acute_team")
    setup = preventable.sc_setup(prep, treated, start, years=YEARS, min_events=1)
    assert setup.panel is not None, setup.reason_da
    return setup, preventable.acute_team_sc(setup, treated)


def test_sc_setup_donors_and_years(prep, truth, treated, sc):
    """[TRUTH] donors = exactly the kommuner without an acute team; the partly exposed start
    year is left out and the first post year is the first full year."""
    setup, _ = sc
    never = sorted(k["kommune_code"] for k in truth["kommuner"] if not k["acute_team_start"])
    assert setup.donors == never
    start = pd.Timestamp(
        next(k for k in truth["kommuner"] if k["kommune_code"] == treated)["acute_team_start"]
    )
    assert setup.dropped_year == start.year
    assert setup.first_year == start.year + 1
    assert start.year not in set(setup.panel["year"])
    assert set(setup.panel["kommune_code"]) == {treated, *never}


def test_sc_setup_refuses(prep, treated):
    too_late = preventable.sc_setup(prep, treated, pd.Timestamp("2024-06-01"), years=YEARS)
    assert too_late.panel is None and "mindst" in too_late.reason_da
    few = preventable.sc_setup(
        prep, treated, pd.Timestamp("2017-03-01"), years=YEARS, min_events=10**6
    )
    assert few.panel is None and "For få" in few.reason_da


def test_sc_inference_reads_the_library_result(sc):
    """[LIB] the dict carries the library's estimate, p-value and interval unchanged."""
    _, res = sc
    inf = preventable.sc_inference(res)
    m = res.main_effect()
    assert inf["estimate"] == pytest.approx(m["estimate"])
    assert inf["p_value"] == pytest.approx(m["p_value"], nan_ok=True)
    assert inf["n_exact_fit"] == res.n_exact_fit
    plc = res.placebos
    assert inf["n_placebos"] == int((plc["included"] & ~plc["treated"]).sum())


def test_sc_rate_ratio_is_ratio_of_post_means(sc):
    """Independent: mean(treated) / mean(synthetic) over the post years from the path."""
    _, res = sc
    path = res.path.set_index("time").loc[res.post_times]
    want = path["treated"].mean() / path["synthetic"].mean()
    inf = preventable.sc_inference(res)
    r = preventable.sc_rate_ratio(res, inf).main_effect()
    assert r["estimate"] == pytest.approx(want)
    if np.isfinite(r["lower"]):
        # the kommune's observed mean is held fixed: obs / (obs - L) ... obs / (obs - U)
        obs = path["treated"].mean()
        assert r["lower"] == pytest.approx(obs / (obs - inf["lower"]))
        assert r["upper"] == pytest.approx(obs / (obs - inf["upper"]))
        assert r["lower"] > 0
    # an interval wider than the rate itself is reported as unusable, not as a negative ratio
    wide = dict(inf, lower=-1e9, upper=1e9)
    rr = preventable.sc_rate_ratio(res, wide).main_effect()
    assert np.isnan(rr["lower"]) and np.isnan(rr["upper"])


def test_donor_weights_sum(sc):
    _, res = sc
    w = preventable.donor_weights(res, min_weight=0.0)
    assert w["weight_pct"].sum() == pytest.approx(100, abs=1e-6)
    assert (w["weight_pct"] >= 0).all()


def test_comparison_table_isr_is_observed_over_expected(prep, treated):
    """Independent: ISR = 100 x observed / expected with national age x sex rates."""
    years = [2022, 2023, 2024]
    t = preventable.comparison_table(prep, treated, years).set_index("level")
    st = profile.standardised(prep, "preventable_65", treated, years).set_index("level")
    assert t.loc["kommune", "estimate"] == pytest.approx(st.loc["kommune", "estimate"])
    df = prep.summary("year_age_sex")
    df = df[
        df["year"].isin(years) & df["age_band"].isin(profile.INDICATORS["preventable_65"].age_bands)
    ]
    ref = df.groupby(["age_band", "sex"])[["preventable", "person_years"]].sum()
    own = (
        df[df["kommune_code"] == treated]
        .groupby(["age_band", "sex"])[["preventable", "person_years"]]
        .sum()
    )
    rates = (ref["preventable"] / ref["person_years"]).reindex(own.index)
    expected = float((rates * own["person_years"]).sum())
    assert t.loc["kommune", "expected"] == pytest.approx(expected, rel=1e-9)
    assert t.loc["kommune", "isr"] == pytest.approx(100 * own["preventable"].sum() / expected)
    assert np.isnan(t.loc["region", "isr"])


def test_direction_sentence(prep, treated, sc):
    _, res = sc
    start = falls.resolve_start(prep, treated, "acute_team")
    its = effects.kommune_its(prep, treated, "preventable", start)
    s = sentences.direction_sentence(its, preventable.sc_rate_ratio(res))
    assert "peger" in s and "tidsseriens" in s
    assert sentences.direction_sentence(None, None) == ""
