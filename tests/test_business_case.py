"""Business case arithmetic and its uncertainty.

Checked against closed-form results: with a point effect (a vanishing CI) and a fixed unit
cost, avoided = observed × (1/RR − 1) exactly and the simulated interval collapses onto it
(the observed count is not redrawn: its noise is already in the effect's interval); with a
ratio interval the avoided events' limits are the closed-form image of the ratio's limits,
observed × (1/upper − 1) … observed × (1/lower − 1); with an additive effect (DiD ATT) the
limits are −observed × U / mean … −observed × L / mean.
"""

from __future__ import annotations

import pytest

from nsv_eval.analyses.business_case import business_case
from nsv_eval.report.studies.s07_business_case import business_case_summary


def test_point_estimates_closed_form() -> None:
    b = business_case(200, 0.8, 0.7, 0.9, unit_cost=40_000, programme_cost=1_000_000)
    t = b.table().set_index("quantity")
    assert t.at["avoided", "estimate"] == pytest.approx(200 * (1 / 0.8 - 1))
    assert t.at["gross_saving", "estimate"] == pytest.approx(50 * 40_000)
    assert t.at["net_saving", "estimate"] == pytest.approx(50 * 40_000 - 1_000_000)
    assert t.at["cost_per_avoided", "estimate"] == pytest.approx(1_000_000 / 50)
    for q in t.index:
        assert t.at[q, "lower"] <= t.at[q, "estimate"] <= t.at[q, "upper"]


def test_degenerate_effect_has_no_count_noise() -> None:
    """A point effect leaves nothing to simulate: no Poisson noise is added on top."""
    obs, rr = 10_000, 0.5
    b = business_case(
        obs, rr, rr * (1 - 1e-9), rr * (1 + 1e-9), unit_cost=1.0, programme_cost=0, n_sim=40_000
    )
    t = b.table().set_index("quantity")
    assert t.at["avoided", "lower"] == pytest.approx(obs, rel=1e-6)
    assert t.at["avoided", "upper"] == pytest.approx(obs, rel=1e-6)


def test_interval_is_the_image_of_the_effect_interval() -> None:
    """No double counting: the avoided events' 95 % limits are observed × (1/RR − 1) at the
    ratio's limits (log-normal ratio), within Monte Carlo error (40,000 draws)."""
    obs = 300
    b = business_case(obs, 0.8, 0.64, 1.0, unit_cost=1.0, programme_cost=0, n_sim=40_000)
    t = b.table().set_index("quantity")
    assert t.at["avoided", "lower"] == pytest.approx(obs * (1 / 1.0 - 1), abs=1.0)
    assert t.at["avoided", "upper"] == pytest.approx(obs * (1 / 0.64 - 1), rel=0.01)


def test_additive_effect_is_simulated_on_its_scale() -> None:
    """An ATT of -1.23 (-8.67 to 6.21) on a treated mean of 22.83 (issue 17's numbers):
    avoided = -observed × ATT / mean, so its limits are -observed × U / mean and
    -observed × L / mean; the ratio given must be the image of the ATT's interval."""
    from nsv_eval.stats.designs import ratio_from_additive

    add = (-1.23, -8.67, 6.21, 22.83)
    rr = ratio_from_additive(*add[:3], observed=add[3])
    obs = 400
    b = business_case(obs, *rr, unit_cost=1.0, programme_cost=0, n_sim=40_000, additive=add)
    t = b.table().set_index("quantity")
    assert t.at["avoided", "estimate"] == pytest.approx(-obs * add[0] / add[3])
    assert t.at["avoided", "lower"] == pytest.approx(-obs * add[2] / add[3], rel=0.02)
    assert t.at["avoided", "upper"] == pytest.approx(-obs * add[1] / add[3], rel=0.02)
    with pytest.raises(ValueError, match="maps to the ratio"):
        business_case(obs, 0.9, 0.7, 1.3, unit_cost=1.0, programme_cost=0, additive=add)


def test_no_effect_is_centred_on_zero_and_wider_ci_is_wider() -> None:
    b0 = business_case(500, 1.0, 0.8, 1.25, unit_cost=10, programme_cost=0)
    t0 = b0.table().set_index("quantity")
    assert t0.at["avoided", "estimate"] == 0
    assert t0.at["avoided", "lower"] < 0 < t0.at["avoided", "upper"]
    assert "cost_per_avoided" not in t0.index  # undefined when nothing is avoided
    b1 = business_case(500, 1.0, 0.6, 1.6, unit_cost=10, programme_cost=0)
    t1 = b1.table().set_index("quantity")
    assert (t1.at["avoided", "upper"] - t1.at["avoided", "lower"]) > (
        t0.at["avoided", "upper"] - t0.at["avoided", "lower"]
    )


def test_reproducible_and_summaries() -> None:
    a = business_case(120, 0.85, 0.75, 0.96, unit_cost=(30_000, 40_000), programme_cost=300_000)
    b = business_case(120, 0.85, 0.75, 0.96, unit_cost=(30_000, 40_000), programme_cost=300_000)
    assert a.table().equals(b.table())
    assert 0 < a.share_net_positive < 1
    da, en = business_case_summary(a, "da"), business_case_summary(a, "en")
    assert "mio. kr." in da and "95 %-KI" in da and "konfidensfordeling" in da
    assert "Sandsynligheden for" not in da
    assert "DKK" in en and "not a probability" in en


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"rate_ratio": 0.8, "rr_lower": 0.9, "rr_upper": 1.1}, "within its interval"),
        ({"rate_ratio": -1, "rr_lower": 0.9, "rr_upper": 1.1}, "positive"),
    ],
)
def test_bad_input(kwargs: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        business_case(100, unit_cost=1, programme_cost=0, **kwargs)
