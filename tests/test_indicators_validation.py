"""Input validation messages of the indicator functions, and the funnel plot."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from conftest import title_of

from nsv_eval.errors import InputError
from nsv_eval.reference import AGE_BANDS
from nsv_eval.report import narrative, theme
from nsv_eval.stats.indicators import (
    compare,
    dsr,
    funnel_limits,
    funnel_plot,
    isr,
    life_expectancy,
    proportion,
    rate,
    sii,
)


@pytest.fixture
def units() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kommune": ["Aarhus", "Viborg", "Skive", "Lemvig"],
            "x": [120, 40, 35, 9],
            "n": [1000, 300, 250, 60],
        },
        index=[10, 11, 12, 13],
    )


def test_negative_count_names_column_and_row(units):
    bad = units.assign(x=[120, -4, 35, 9])
    with pytest.raises(InputError, match=r"'x'.*negative.*11.*kommune='Viborg'"):
        proportion(bad, "x", "n", by="kommune")
    with pytest.raises(ValueError, match=r"'x'.*negative.*row\(s\) 11"):
        rate(bad, "x", "n")


def test_numerator_above_denominator(units):
    bad = units.assign(x=[120, 400, 35, 9])
    with pytest.raises(InputError, match=r"Numerator 'x' exceeds denominator 'n'.*11"):
        proportion(bad, "x", "n")
    with pytest.raises(InputError, match="exceeds denominator"):
        funnel_limits(bad, "x", "n")


def test_nan_and_non_numeric_columns(units):
    with pytest.raises(InputError, match=r"'n' has missing values.*12"):
        rate(units.assign(n=[1000, 300, np.nan, 60]), "x", "n")
    with pytest.raises(InputError, match=r"'x' must be numeric.*str|'x' must be numeric"):
        rate(units.assign(x=["120", "40", "35", "9"]), "x", "n")
    with pytest.raises(InputError, match=r"Column\(s\) 'pop' not found"):
        rate(units, "x", "pop")
    with pytest.raises(InputError, match="conf"):
        rate(units, "x", "n", conf=1.5)


def test_dsr_missing_standard_population_bands_named():
    df = pd.DataFrame({"age_band": AGE_BANDS, "deaths": 5, "pop": 1000, "k": 101})
    short = pd.concat([df, df.assign(k=147).iloc[:-2]])
    with pytest.raises(InputError, match=r"k=147.*\['90-94', '95\+'\]"):
        dsr(short, "deaths", "pop", by="k")
    with pytest.raises(InputError, match=r"not ESP2013 bands: \['100\+'\]"):
        dsr(df.assign(age_band=AGE_BANDS[:-1] + ["100+"]), "deaths", "pop")
    with pytest.raises(InputError, match="'stdpop' not found"):
        dsr(df, "deaths", "pop", "stdpop")


def test_dsr_small_count_note():
    df = pd.DataFrame({"age_band": AGE_BANDS, "deaths": 0, "pop": 1000})
    df.loc[3, "deaths"] = 9
    out = dsr(df, "deaths", "pop").iloc[0]
    assert np.isnan(out["estimate"]) and np.isnan(out["lower"]) and "9 < 10" in out["note"]


def test_isr_reference_errors():
    df = pd.DataFrame({"age_band": ["0-4", "5-9"], "x": [1, 2], "n": [100, 100]})
    with pytest.raises(InputError, match=r"no value for strata \['5-9'\]"):
        isr(df, "x", "n", pd.Series([1.0], index=["0-4"]), pd.Series([10.0, 10], ["0-4", "5-9"]))
    with pytest.raises(InputError, match="one value per row of each group"):
        isr(df, "x", "n", [1.0, 2.0, 3.0], [10.0, 10.0, 10.0])


def test_life_expectancy_negative_deaths_error():
    df = pd.DataFrame({"age_band": AGE_BANDS, "deaths": 5.0, "pop": 1000.0})
    df.loc[4, "deaths"] = -1
    with pytest.raises(InputError, match=r"'deaths' has negative values in row\(s\) 4"):
        life_expectancy(df, "deaths", "pop")


def test_sii_and_compare_argument_errors(units):
    with pytest.raises(InputError, match="se= or both lower= and upper="):
        sii(units, "kommune", "n", value="x")
    with pytest.raises(InputError, match="more than one row"):
        sii(pd.concat([units, units]), "kommune", "n", numerator="x", value_type="rate")
    with pytest.raises(InputError, match="benchmark_lower and benchmark_upper"):
        compare(
            pd.DataFrame({"estimate": [1.0], "lower": [0.5], "upper": [2.0]}),
            1.0,
            benchmark_lower=0.9,
        )


def test_funnel_plot_draws_and_highlights(units):
    fig = funnel_plot(
        units,
        "x",
        "n",
        label="kommune",
        highlight="Skive",
        title="Genindlæggelser, andel",
        xlabel="Udskrivelser",
        ylabel="Andel",
        labels=narrative.funnel.plot_labels("da"),
        colors=theme.FUNNEL_COLORS,
    )
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["Skive"]
    assert title_of(ax) == "Genindlæggelser, andel"
    labels = ax.get_legend_handles_labels()[1]
    assert "95 % kontrolgrænse" in labels and "99,8 % kontrolgrænse" in labels
    # two scatter layers: the others and the highlighted unit in Okabe-Ito vermillion
    colls = ax.collections
    assert len(colls) == 2
    assert matplotlib.colors.to_hex(colls[1].get_facecolor()[0]) == "#d55e00"
    np.testing.assert_allclose(colls[1].get_offsets()[0], [250, 35 / 250])
    with pytest.raises(InputError, match="not found in column 'kommune'"):
        funnel_plot(units, "x", "n", label="kommune", highlight="Odense")
    matplotlib.pyplot.close("all")


def test_funnel_plot_ratio_with_overdispersion(units):
    df = units.assign(expected=[100.0, 30, 40, 12])
    fig = funnel_plot(
        df,
        "x",
        "expected",
        statistic="ratio",
        label="kommune",
        highlight=["Aarhus", "Lemvig"],
        overdispersion="additive",
    )
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["Aarhus", "Lemvig"]
    matplotlib.pyplot.close("all")
