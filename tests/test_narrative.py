"""report.narrative: the one number formatter, interval labels, dispatch and the frozen texts.

The frozen paragraphs below are what ``result.summary(lang)`` returned before issue #12
moved the words out of ``nsv_eval.stats`` (commit 668f72c, the R ``did`` mpdta example of
``tests/test_did.py``): ``narrative.summarise`` must reproduce them byte for byte.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from nsv_eval.report import narrative
from nsv_eval.report.format import fmt_number
from nsv_eval.report.i18n import set_lang
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.diagnostics import placebo_in_time
from nsv_eval.stats.designs.did import did, twfe
from nsv_eval.stats.designs.ratio import AdditiveRatioResult

MPDTA = Path(__file__).parent / "data" / "reference" / "mpdta.csv"

DID_DA = (
    "Forskudt difference-in-differences (Callaway & Sant'Anna) med 191 berørte af 500 enheder "
    "i 3 startkohorte(r), sammenlignet med aldrig berørte enheder. Den gennemsnitlige effekt "
    "blandt de berørte efter start er -0,040 (95 %-KI: -0,064 til -0,016). Intervallet "
    "udelukker 'ingen effekt'. Test for parallelle tendenser før start: p = 0,168 (ingen tegn "
    "på brud).\n\nForudsætninger:\n- Parallelle tendenser: uden indsatsen ville de berørte "
    "enheder have udviklet sig som sammenligningsgruppen (aldrig eller endnu ikke berørte "
    "enheder).\n- Ingen foregrebet effekt: udfaldet ændrer sig ikke før indsatsens start (ud "
    "over de angivne 'anticipation'-perioder).\n- Indsatsen fortsætter, når den først er "
    "startet (forskudt, varig udrulning).\n- Ingen smitteeffekter mellem enheder (én enheds "
    "indsats påvirker ikke andres udfald)."
)
DID_EN = (
    "Staggered difference-in-differences (Callaway & Sant'Anna) with 191 treated of 500 units "
    "in 3 cohort(s), compared with never-treated units. The average effect on the treated "
    "after the start is -0.040 (95% CI -0.064 to -0.016). The interval excludes 'no effect'. "
    "Pre-trend test: p = 0.168 (no sign of diverging trends).\n\nAssumptions:\n- Parallel "
    "trends: without the intervention, treated units would have evolved like the comparison "
    "group (never or not-yet treated units).\n- No anticipation: outcomes do not change before "
    "the start (beyond the declared anticipation periods).\n- Treatment is absorbing: once "
    "started, the intervention stays on (staggered adoption).\n- No spill-overs between units."
)
TWFE_DA = (
    "Estimeret gennemsnitlig effekt blandt de berørte (ATT): -0,04 (95 %-KI: -0,06 til -0,01). "
    "Intervallet udelukker 'ingen effekt'. Bemærk: indsatsen startede på 3 forskellige "
    "tidspunkter. Ved forskudt start kan en almindelig to-vejs fixed effects-model give et "
    "skævt estimat, fordi allerede berørte enheder bruges som kontrol; brug did() (Callaway & "
    "Sant'Anna) som hovedanalyse.\n\nForudsætninger:\n- Parallelle tendenser mellem berørte og "
    "ikke-berørte enheder.\n- Effekten er den samme for alle enheder og over tid; ved forskudt "
    "udrulning og varierende effekter kan estimatet være skævt (brug did())."
)


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


def test_fmt_separators_rounding_and_minus():
    assert narrative.fmt(1234.567, "da") == "1.234,57"
    assert narrative.fmt(1234.567, "en") == "1,234.57"
    assert narrative.fmt(-0.0395, "da", 3) == "-0,040"  # float formatting, ASCII minus
    assert narrative.fmt(1234.5, "da", 0, thousands=False) == "1234"  # ties to even
    # half_up: the decimal the value stands for, rounded half away from zero
    assert narrative.fmt(0.125, "da", 2, half_up=True) == "0,13"
    assert narrative.fmt(0.125, "da", 2) == "0,12"  # binary 0.125 exactly: ties to even
    assert narrative.fmt(-0.004, "da", 2, half_up=True, minus="\u2212") == "0,00"
    assert narrative.fmt(Decimal("-2.5"), "en", 0, half_up=True, minus="\u2212") == "\u22123"
    with pytest.raises(ValueError, match="digits"):
        narrative.fmt(1.0, "da", -1)


def test_fmt_number_is_a_wrapper_of_fmt():
    """report.format.fmt_number = fmt(half_up, typographic minus, report language)."""
    try:
        for x in (1234.5678, -0.05, 0.0449, 1e6, -12345.25):
            assert fmt_number(x, 2) == narrative.fmt(x, "da", 2, half_up=True, minus="\u2212")
        set_lang("en")
        assert fmt_number(-12345.25, 1) == "\u221212,345.3"
    finally:
        set_lang("da")


def test_ci_label():
    assert narrative.ci_label(0.95, "da") == "95 %-KI"
    assert narrative.ci_label(0.95, "en") == "95% CI"
    assert narrative.ci_label(0.975, "da") == "97,5 %-KI"
    assert narrative.ci_label(0.999, "en") == "99.9% CI"


def test_frozen_did_and_twfe_paragraphs(mpdta):
    """Byte for byte the pre-#12 ``summary(lang)`` texts (see the module docstring)."""
    r = did(mpdta, "lemp", "countyreal", "year", "first.treat")
    assert narrative.summarise(r, "da") == DID_DA
    assert narrative.summarise(r, "en") == DID_EN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tw = twfe(mpdta, "lemp", "countyreal", "year", first_treated="first.treat")
    assert narrative.summarise(tw, "da") == TWFE_DA
    # stats keeps a numeric table only
    table = r.summary()
    assert "att_simple" in table and "Forudsætninger" not in table and "Parallel" not in table


def test_dispatch_and_assumptions(mpdta):
    r = did(mpdta, "lemp", "countyreal", "year", "first.treat")
    # a ratio form of the DiD (design "did") gets the headline and the DiD assumptions
    tab = pd.DataFrame([dict(term="att_ratio", estimate=0.9, lower=0.8, upper=1.05, p_value=0.2)])
    ratio = AdditiveRatioResult(
        design="did",
        effects=tab,
        main_term="att_ratio",
        scale="rate_ratio",
        observed_mean=10.0,
        counterfactual_mean=11.1,
        additive=-1.1,
    )
    text = narrative.summarise(ratio, "da")
    assert text.startswith("Estimeret rateratio: 0,90 (95 %-KI: 0,80 til 1,05).")
    assert narrative.assumptions(ratio, "da") == narrative.assumptions(r, "da")
    assert len(narrative.assumptions(r, "en")) == 4
    # placebo checks have no assumptions block; unknown objects are refused
    pl = placebo_in_time(r)
    assert "Forudsætninger" not in narrative.summarise(pl, "da")
    assert narrative.assumptions(pl, "da") == []
    with pytest.raises(TypeError, match="no narrative"):
        narrative.summarise(object(), "da")
    # an EffectResult of an unregistered design: headline, no assumptions
    plain = EffectResult(design="x", effects=tab, main_term="att_ratio", scale="rate_ratio")
    assert narrative.summarise(plain, "en") == (
        "Estimated rate ratio: 0.90 (95% CI 0.80 to 1.05). "
        "The data cannot rule out that the intervention had no effect."
    )


def test_plot_labels_reach_the_figure(mpdta):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = did(mpdta, "lemp", "countyreal", "year", "first.treat")
    fig = r.plot(labels=narrative.did.plot_labels("en"))
    assert fig.axes[0].get_title() == "Event study"
    plt.close(fig)
    # label-only defaults; colours are C0 (post) / C1 (pre) of the active cycle
    cycle = [f"#{i}{i}{i}{i}{i}{i}" for i in range(1, 10)] + ["#abcdef"]
    with matplotlib.rc_context({"axes.prop_cycle": matplotlib.cycler(color=cycle)}):
        fig = r.plot()
        hexes = {matplotlib.colors.to_hex(ln.get_color()) for ln in fig.axes[0].lines}
    assert fig.axes[0].get_xlabel() == "event time"
    assert {"#111111", "#222222"} <= hexes  # C0, C1
    plt.close(fig)
