"""Business case arithmetic and its uncertainty.

Checked against closed-form results: with a point effect (a vanishing CI) and a fixed unit
cost, avoided = observed × (1/RR − 1) exactly, and the simulated interval reduces to the
Poisson variation of the observed count (its normal approximation ± z·√observed scaled by
1/RR − 1).
"""

from __future__ import annotations

import numpy as np
import pytest

from nsv_eval.analyses.business_case import business_case


def test_point_estimates_closed_form() -> None:
    b = business_case(200, 0.8, 0.7, 0.9, unit_cost=40_000, programme_cost=1_000_000)
    t = b.table().set_index("quantity")
    assert t.at["avoided", "estimate"] == pytest.approx(200 * (1 / 0.8 - 1))
    assert t.at["gross_saving", "estimate"] == pytest.approx(50 * 40_000)
    assert t.at["net_saving", "estimate"] == pytest.approx(50 * 40_000 - 1_000_000)
    assert t.at["cost_per_avoided", "estimate"] == pytest.approx(1_000_000 / 50)
    for q in t.index:
        assert t.at[q, "lower"] <= t.at[q, "estimate"] <= t.at[q, "upper"]


def test_degenerate_effect_leaves_poisson_noise_only() -> None:
    obs, rr = 10_000, 0.5
    b = business_case(
        obs, rr, rr * (1 - 1e-9), rr * (1 + 1e-9), unit_cost=1.0, programme_cost=0, n_sim=40_000
    )
    t = b.table().set_index("quantity")
    half = 1.959964 * np.sqrt(obs) * (1 / rr - 1)
    assert t.at["avoided", "lower"] == pytest.approx(obs - half, rel=0.01)
    assert t.at["avoided", "upper"] == pytest.approx(obs + half, rel=0.01)


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
    assert 0 < a.p_saves_money < 1
    assert "mio. kr." in a.summary("da") and "95 %-KI" in a.summary("da")
    assert "DKK" in a.summary("en")


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
