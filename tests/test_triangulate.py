"""Tests for nsv_eval.stats.designs.triangulate.

Reference: constructed results with known intervals; Cochran's Q and I² are recomputed by
hand from the definitions (Q = sum w_i (theta_i - theta_bar)^2 with w_i = 1/se_i^2 on the
log scale for ratios; I² = (Q - df)/Q, Higgins & Thompson 2002), and the mpdta DiD and TWFE
estimates from tests/test_did.py serve as a real agreement case.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import title_of
from scipy import stats

from nsv_eval.report import narrative
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.triangulate import triangulate

Z = stats.norm.ppf(0.975)


def _result(
    design: str, est: float, lo: float, hi: float, scale: str = "rate_ratio"
) -> EffectResult:
    eff = pd.DataFrame([dict(term="main", estimate=est, lower=lo, upper=hi, p_value=0.01)])
    return EffectResult(design=design, effects=eff, main_term="main", scale=scale)


def _q_by_hand(ests, los, his, log=True):
    f = np.log if log else (lambda v: np.asarray(v, float))
    th = f(np.asarray(ests, float))
    se = (f(np.asarray(his, float)) - f(np.asarray(los, float))) / (2 * Z)
    w = 1 / se**2
    bar = np.sum(w * th) / np.sum(w)
    q = float(np.sum(w * (th - bar) ** 2))
    return q, bar, np.sqrt(1 / np.sum(w))


def test_agreement_case_with_hand_computed_q():
    """Two rate ratios 0.88 (0.83-0.93) and 0.90 (0.80-1.01): overlapping, Q small -> agree."""
    a = _result("its", 0.88, 0.83, 0.93)
    b = _result("synthetic_control", 0.90, 0.80, 1.01)
    tr = triangulate(a, b)
    q, bar, se = _q_by_hand([0.88, 0.90], [0.83, 0.80], [0.93, 1.01])
    assert tr.q == pytest.approx(q, rel=1e-10)
    assert tr.q_p_value == pytest.approx(stats.chi2.sf(q, 1), rel=1e-10)
    assert tr.i2 == 0.0  # Q < df
    assert tr.pooled["estimate"] == pytest.approx(np.exp(bar), rel=1e-10)
    assert tr.pooled["lower"] == pytest.approx(np.exp(bar - Z * se), rel=1e-10)
    assert tr.overlap and tr.same_direction
    assert tr.verdict == "agree"
    t = tr.table()
    assert list(t["name"][:2]) == ["its", "synthetic_control"]  # codes; the words are narrative's
    assert narrative.triangulation.names(tr, "da") == ["Afbrudt tidsserie", "Syntetisk kontrol"]
    assert len(t) == 3 and t["verdict"].eq("agree").all()
    da, en = narrative.summarise(tr, "da"), narrative.summarise(tr, "en")
    assert "forenelige" in da and "Interrupted time series" in en
    assert "agree" in tr.summary() and "forenelige" not in tr.summary()


def test_disagreement_case():
    """0.80 (0.75-0.85) vs 1.10 (1.02-1.19): no overlap, Q large -> disagree; I² by hand."""
    tr = triangulate(
        _result("its", 0.80, 0.75, 0.85), _result("did", 1.10, 1.02, 1.19, "rate_ratio")
    )
    q, _, _ = _q_by_hand([0.80, 1.10], [0.75, 1.02], [0.85, 1.19])
    assert tr.q == pytest.approx(q, rel=1e-10)
    assert tr.i2 == pytest.approx((q - 1) / q, rel=1e-10)
    assert not tr.overlap and not tr.same_direction
    assert tr.verdict == "disagree"
    da = narrative.summarise(tr, "da")
    assert "forskellige svar" in da and "overlapper ikke" in da


def test_inconclusive_and_three_designs():
    """Overlapping intervals but Q p between 0.05 and 0.10 -> inconclusive (three designs,
    differences scale)."""
    # intervals chosen so that Q is about 4.7 on 2 df (p about 0.094) while all overlap
    r1 = _result("did", 0.00, -0.15, 0.15, "att")
    r2 = _result("twfe", 0.25, 0.07, 0.43, "att")
    r3 = _result("cohort", 0.05, -0.08, 0.18, "risk_difference")
    tr = triangulate(r1, r2, r3, names=["A", "B", "C"])
    q, _, _ = _q_by_hand([0.0, 0.25, 0.05], [-0.15, 0.07, -0.08], [0.15, 0.43, 0.18], log=False)
    assert tr.q == pytest.approx(q, rel=1e-10)
    assert tr.q_df == 2
    assert 0.05 <= tr.q_p_value < 0.10
    assert tr.overlap
    assert tr.verdict == "inconclusive"
    assert list(tr.table()["name"][:3]) == ["A", "B", "C"]


def test_scale_rules():
    """Ratios and differences cannot be mixed; mixed ratio kinds are allowed with a note."""
    with pytest.raises(ValueError, match="ratios with differences"):
        triangulate(_result("its", 0.9, 0.8, 1.0), _result("did", -0.1, -0.2, 0.0, "att"))
    tr = triangulate(_result("its", 0.9, 0.8, 1.0), _result("cox", 0.92, 0.85, 1.0, "hazard_ratio"))
    assert tr.notes == ["mixed_ratio_kinds"]
    assert "sjældent" in narrative.summarise(tr, "da")
    assert "rare" in narrative.summarise(tr, "en")
    with pytest.raises(ValueError, match="at least two"):
        triangulate(_result("its", 0.9, 0.8, 1.0))
    with pytest.raises(ValueError, match="no usable interval"):
        triangulate(_result("its", 0.9, 0.8, 1.0), _result("did", 0.9, np.nan, 1.0))


def test_real_designs_mpdta_did_and_twfe_agree():
    """mpdta: Callaway-Sant'Anna simple ATT -0.0400 and TWFE -0.0365 ([README]/[TWFEW] in
    tests/test_did.py) are compatible."""
    from nsv_eval.stats.designs.did import did, twfe

    m = pd.read_csv(Path(__file__).parent / "data" / "reference" / "mpdta.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r1 = did(m, "lemp", "countyreal", "year", "first.treat")
        r2 = twfe(m, "lemp", "countyreal", "year", first_treated="first.treat")
    tr = triangulate(r1, r2)
    assert tr.verdict == "agree"
    assert tr.scale_family == "difference"
    import matplotlib

    matplotlib.use("Agg")
    fig = tr.plot(labels=narrative.triangulation.plot_labels(tr, "da"))
    assert "enige" in title_of(fig.axes[0])
