"""Funnel-plot p-values and Benjamini-Hochberg false-discovery-rate control.

Checked against
* PHE's own flags (PHEindicatormethods testdata, tests/data/indicators/): a unit's p-value
  is below 5 % exactly when PHE flags it at the 95 % limits — proportions (score test, which
  the Wilson funnel inverts, all 303 areas) and ratios with fewer than 10 observed events
  (exact Poisson test, which the exact limits invert);
* an independent computation of the BH step-up q-values (sorted p-values × n / rank,
  cumulative minimum from the top);
* a planted truth: 98 kommuner with no real differences (observed ~ Poisson(expected)),
  where unadjusted 95 % limits flag at least one kommune in nearly every data set while BH at
  q = 5 % does so in about 5 % of data sets (under the global null BH's FDR equals the
  family-wise error rate); and with 6 planted outliers (ratio 1.6), the share of false
  alarms among BH's flags averages at most q.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.errors import InputError
from nsv_eval.report import narrative
from nsv_eval.stats.indicators import funnel_limits

DATA = Path(__file__).parent / "data" / "indicators"


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#")


def test_p_values_agree_with_phe_flags_proportion() -> None:
    inputs = read("phe_funnel_prop_inputs.csv")
    res = funnel_limits(inputs, "numerator", "denominator", multiplier=100)
    flagged = inputs["significance"].to_numpy() != "Not significant"
    assert ((res.units["p_value"] < 0.05).to_numpy() == flagged).all()
    assert "q_value" not in res.units  # no multiplicity control unless asked for


def test_p_values_agree_with_phe_flags_ratio_small_counts() -> None:
    inputs = read("phe_funnel_ratio_inputs.csv")
    res = funnel_limits(inputs, "obs", "expected", statistic="ratio")
    u = res.units[res.units["numerator"] < 10]
    assert len(u) > 0
    flagged = u["flag"].to_numpy() != "Not significant"
    assert ((u["p_value"] < 0.05).to_numpy() == flagged).all()


def test_bh_q_values_independent_computation() -> None:
    inputs = read("phe_funnel_prop_inputs.csv")
    res = funnel_limits(inputs, "numerator", "denominator", multiplier=100, fdr=0.05)
    p = res.units["p_value"].to_numpy()
    n = len(p)
    order = np.argsort(p)
    q_sorted = np.minimum.accumulate((p[order] * n / np.arange(1, n + 1))[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(q_sorted, 1.0)
    np.testing.assert_allclose(res.units["q_value"], q, rtol=1e-12)
    out = res.units["outlier_fdr"].to_numpy()
    np.testing.assert_array_equal(out, q <= 0.05)
    # fewer (never more) units than the unadjusted 95 % flags, labelled by direction
    assert out.sum() <= (p < 0.05).sum()
    flags = res.units.loc[out, "flag_fdr"]
    assert flags.str.match(r"^(High|Low) \(FDR 5 %\)$").all()
    assert (res.units.loc[~out, "flag_fdr"] == "Not significant").all()
    with pytest.raises(InputError, match="fdr"):
        funnel_limits(inputs, "numerator", "denominator", fdr=5)


def _kommuner(rng: np.random.Generator, outliers: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    expected = np.exp(rng.uniform(np.log(5), np.log(500), 98))
    truth = np.ones(98)
    truth[:outliers] = 1.6
    expected[:outliers] = 200
    obs = rng.poisson(expected * truth)
    return pd.DataFrame({"obs": obs, "expected": expected}), truth != 1


def test_planted_null_fdr_controls_false_alarms() -> None:
    """400 data sets of 98 kommuner without real differences: the unadjusted 95 % limits
    flag someone in > 95 % of them; BH at q = 5 % in 2-9 % (expected 5 %)."""
    rng = np.random.default_rng(98)
    any_raw = any_fdr = 0
    for _ in range(400):
        d, _ = _kommuner(rng)
        u = funnel_limits(d, "obs", "expected", statistic="ratio", fdr=0.05).units
        any_raw += bool((u["flag"] != "Not significant").any())
        any_fdr += bool(u["outlier_fdr"].any())
    assert any_raw / 400 > 0.95
    assert 0.02 <= any_fdr / 400 <= 0.09


def test_planted_outliers_false_discovery_proportion() -> None:
    """Six kommuner with ratio 1.6 at 200 expected events: BH at q = 5 % finds most of them
    (mean power > 0.9) and the false-discovery proportion averages at most 5 % (+ MC error)."""
    rng = np.random.default_rng(6)
    fdp, power = [], []
    for _ in range(200):
        d, real = _kommuner(rng, outliers=6)
        u = funnel_limits(d, "obs", "expected", statistic="ratio", fdr=0.05).units
        hit = u["outlier_fdr"].to_numpy()
        fdp.append((hit & ~real).sum() / max(hit.sum(), 1))
        power.append((hit & real).sum() / real.sum())
    assert np.mean(fdp) <= 0.065
    assert np.mean(power) > 0.9


def test_funnel_plot_rings_fdr_outliers() -> None:
    """The plot rings exactly the BH outliers (one extra scatter layer with their count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nsv_eval.stats.indicators import funnel_plot

    d, _ = _kommuner(np.random.default_rng(6), outliers=6)
    res = funnel_limits(d, "obs", "expected", statistic="ratio", fdr=0.05)
    fig = funnel_plot(
        d, "obs", "expected", statistic="ratio", fdr=0.05, labels=narrative.funnel.plot_labels()
    )
    rings = [c for c in fig.axes[0].collections if str(c.get_label()).startswith("Afviger")]
    assert len(rings) == 1 and rings[0].get_label() == "Afviger (FDR 5 %)"
    assert len(rings[0].get_offsets()) == int(res.units["outlier_fdr"].sum()) > 0
    plt.close(fig)
