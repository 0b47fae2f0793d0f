"""The count DiD (main DiD estimate of studies 3 and 5) and the MDE shown beside estimates.

The national panels are age- and sex-standardised (``falls.national_panel`` default) and the
Poisson DiD's offset is the expected count at the year's national age-band x sex rates.

References:

* [TRUTH] ``truth.json`` of the ``synth_dir`` fixture (scale 0.005, seed 7):
  ``effects.falls_programme.realised_kommune_level.rate_ratio`` (0.823 for this seed) and
  ``effects.acute_team.planted_rate_ratio`` (0.85).
* Independent computation: the MDE of a ratio estimate from its Wald interval,
  ``(z_.975 + z_.8) * (log U - log L) / (2 z_.975)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nsv_eval.analyses import effects, falls, load_prepared, preventable
from nsv_eval.report import narrative, sentences


@pytest.fixture(scope="module")
def prep(prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return load_prepared(prepared_dir, tmp_path_factory.mktemp("cache-count-did"))


@pytest.fixture(scope="module")
def truth(synth_dir: Path) -> dict:
    return json.loads((synth_dir / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def falls_panel(prep) -> pd.DataFrame:
    return falls.national_panel(prep)


@pytest.fixture(scope="module")
def falls_pdid(falls_panel):
    return falls.national_poisson_did(falls_panel)[0]


def test_falls_poisson_did_covers_realised_rate_ratio(falls_pdid, truth):
    """[TRUTH] the 95 % CI of the Poisson DiD rate ratio contains the realised ratio."""
    rr = truth["effects"]["falls_programme"]["realised_kommune_level"]["rate_ratio"]
    m = falls_pdid.main_effect()
    assert m["lower"] <= rr <= m["upper"], (m["lower"], m["upper"], rr)
    assert falls_pdid.scale == "rate_ratio"
    assert falls_pdid.exposure == "expected"  # age-sex-adjusted: national rates × person-years
    assert falls_pdid.n_units == 98


def test_falls_panel_is_standardised_with_expected_counts(falls_panel, prep):
    """Indirect standardisation identities (independent: the panel's own counts).

    The expected events of every kommune at the year's national age-band x sex rates add up
    to the national count of that year (the national rates applied to the whole country
    reproduce it), so the expected-weighted mean of the standardised rates is the national
    crude rate of the year; the crude panel (``standardise=False``) has the same counts, no
    ``expected``, and its Poisson DiD falls back to person-years as exposure.
    """
    assert (falls_panel["expected"] > 0).all()
    g = falls_panel.assign(w=falls_panel["rate"] * falls_panel["expected"]).groupby("year")
    tot = g[["count", "expected", "person_years", "w"]].sum()
    assert np.allclose(tot["expected"], tot["count"], rtol=1e-9)
    national = tot["count"] / tot["person_years"] * 1000
    assert np.allclose(tot["w"] / tot["expected"], national, rtol=1e-9)
    crude = falls.national_panel(prep, standardise=False)
    assert "expected" not in crude.columns
    pd.testing.assert_series_equal(crude["count"], falls_panel["count"])
    # real age pyramids: the standardised rates differ from the crude ones
    assert not np.allclose(crude["rate"], falls_panel["rate"])
    assert falls.national_poisson_did(crude)[0].exposure == "person_years"


def test_poisson_did_narrower_than_unweighted_cs(falls_panel, falls_pdid):
    """Weighting by person-years: a narrower interval (log scale) than CS on kommune rates.

    Independent: CS's additive interval mapped to the log scale around the treated
    kommune-years' mean rate (a generous mapping for CS).
    """
    cs, _ = falls.national_did(falls_panel)
    m = cs.main_effect()
    post = falls_panel[
        (falls_panel["first_treated"] > 0) & (falls_panel["year"] >= falls_panel["first_treated"])
    ]
    base = post["rate"].mean()
    cs_width = (m["upper"] - m["lower"]) / base
    pm = falls_pdid.main_effect()
    assert np.log(pm["upper"]) - np.log(pm["lower"]) < cs_width


def test_acute_team_poisson_did_covers_planted_ratio(prep, truth):
    """[TRUTH] the acute team's Poisson DiD interval contains the planted 0.85."""
    panel = falls.national_panel(
        prep, measure=preventable.MEASURE, intervention=preventable.INTERVENTION
    )
    res, _ = falls.national_poisson_did(panel)
    m = res.main_effect()
    planted = truth["effects"]["acute_team"]["planted_rate_ratio"]
    assert m["lower"] <= planted <= m["upper"], (m["lower"], m["upper"])


def test_effect_mde_from_se_and_from_interval(falls_pdid, falls_panel):
    mde = falls.effect_mde(falls_pdid)
    se, df = falls_pdid.main_effect()[["se", "df"]]
    # t quantiles on the estimate's Bell–McCaffrey degrees of freedom (CR3 default)
    assert 1 < df < 98
    assert mde.mde == pytest.approx((sps.t.ppf(0.975, df) + sps.t.ppf(0.8, df)) * se)
    assert mde.to_dict()["mde_ratio"] == pytest.approx(np.exp(-mde.mde))
    # a ratio result without a log-scale SE: recovered from its Wald interval
    cs, _ = falls.national_did(falls_panel)
    ratio = effects.did_rate_ratio(cs, falls_panel)
    r = ratio.main_effect()
    if r["lower"] > 0:
        want = (sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) * (
            (np.log(r["upper"]) - np.log(r["lower"])) / (2 * sps.norm.ppf(0.975))
        )
        assert falls.effect_mde(ratio).mde == pytest.approx(want)
    add = falls.effect_mde(cs)
    assert add.scale == "additive"
    assert add.mde == pytest.approx(
        (sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) * cs.main_effect()["se"]
    )
    assert "80 % styrke" in narrative.power.mde_text(add, "pr. 1.000")


# --------------------------------------------------------------------------------------
# falls cohort as a sequential target trial, with its negative-control outcome
# --------------------------------------------------------------------------------------
def test_negative_control_flags_the_frailty_bias(prep, truth):
    """[TRUTH] participation depends on an unrecorded frailty that also raises admissions
    (``truth.json`` falls_programme description), so the IPTW comparison of participants and
    not-yet participants on acute admissions *without* a fall injury — which the programme
    cannot affect — must show participants at higher risk. Measured (whole country, seed 7):
    1.37 (1.21-1.56)."""
    df = falls.participant_cohort(prep, kommune=101, scope="land")
    assert {"nc_admission_365d", "censored_join"} <= set(df.columns)
    # sequential trial: some controls are later participants and are censored when joining
    assert df.loc[~df["participant"], "censored_join"].any()
    assert not df.loc[df["participant"], "censored_join"].any()
    nc = falls.negative_control(df)
    m = nc.main_effect()
    assert m["lower"] > 1, (m["lower"], m["upper"])
    assert "flere" in sentences.negative_control_sentence(nc)
    # without the column (data prepared by an older version) there is no negative control
    assert falls.negative_control(df.drop(columns="nc_admission_365d")) is None


@pytest.mark.parametrize(
    ("lo", "hi", "word"), [(0.6, 0.9, "færre"), (1.1, 1.5, "flere"), (0.8, 1.2, "ingen skævhed")]
)
def test_negative_control_sentence_says_which_direction(lo, hi, word):
    from nsv_eval.stats.designs.base import EffectResult

    res = EffectResult(
        design="cohort",
        effects=pd.DataFrame(
            [dict(term="risk_ratio", estimate=(lo + hi) / 2, lower=lo, upper=hi, p_value=0.01)]
        ),
        main_term="risk_ratio",
        scale="risk_ratio",
    )
    assert word in sentences.negative_control_sentence(res)
