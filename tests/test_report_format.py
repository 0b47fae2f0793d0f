"""Danish number/date formatting and the figure theme.

Expected strings follow Danish conventions (Retskrivningsordbogen §§ on numbers; Danmarks
Statistik's house style): decimal comma, thousands point, a space before %, "95 %-KI",
en dash between interval limits, "23. november 2026". Rounding is half away from zero on
the decimal the user wrote (as in published Danish statistics), hence 2.675 → "2,68"
where Python's own format gives "2.67".
"""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nsv_eval.report.format import (
    fmt_ci,
    fmt_date,
    fmt_estimate_ci,
    fmt_int,
    fmt_month,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_period,
    fmt_rate,
)
from nsv_eval.report.theme import (
    OKABE_ITO,
    PALETTE,
    apply_theme,
    danish_axes,
    danish_formatter,
    label,
)


@pytest.mark.parametrize(
    ("x", "decimals", "expected"),
    [
        (1234.56, 1, "1.234,6"),
        (1234567.891, 2, "1.234.567,89"),
        (0.5, 0, "1"),  # half away from zero, not banker's rounding
        (2.5, 0, "3"),
        (2.675, 2, "2,68"),  # the decimal written, not the binary 2.67499999...
        (14.25, 1, "14,3"),
        (-1.5, 1, "\u22121,5"),  # typographic minus
        (-0.04, 1, "0,0"),  # no "-0,0"
        (0, 2, "0,00"),
        (np.float64(12.345), 1, "12,3"),
        (np.int64(1000), 0, "1.000"),
        (None, 1, "–"),
        (float("nan"), 1, "–"),
    ],
)
def test_fmt_number(x: object, decimals: int, expected: str) -> None:
    assert fmt_number(x, decimals) == expected


def test_fmt_int_and_pct_and_rate() -> None:
    assert fmt_int(12345) == "12.345"
    assert fmt_int(999) == "999"
    assert fmt_int(1_000_000) == "1.000.000"
    assert fmt_pct(0.142) == "14,2 %"
    assert fmt_pct(0.14249, 2) == "14,25 %"
    assert fmt_pct(14.2, fraction=False) == "14,2 %"
    assert fmt_pct(1) == "100,0 %"
    assert fmt_rate(0.01234) == "12,3 pr. 1.000"
    assert fmt_rate(0.0004567, per=100_000) == "45,7 pr. 100.000"
    assert fmt_rate(12.34, scaled=True) == "12,3 pr. 1.000"


def test_fmt_ci_and_estimate() -> None:
    assert fmt_ci(12.34, 14.46) == "95 %-KI: 12,3–14,5"
    assert fmt_ci(0.812, 0.954, 2, conf=0.90) == "90 %-KI: 0,81–0,95"
    assert fmt_ci(1, 2, 1, conf=0.975) == "97,5 %-KI: 1,0–2,0"
    assert fmt_estimate_ci(13.4, 12.34, 14.46) == "13,4 (95 %-KI: 12,3–14,5)"
    assert fmt_estimate_ci(-1.25, -2.1, -0.4, 2) == ("\u22121,25 (95 %-KI: \u22122,10–\u22120,40)")
    assert fmt_estimate_ci(14.2, 12.0, 16.0, unit="%") == "14,2 % (95 %-KI: 12,0–16,0)"


def test_fmt_p() -> None:
    assert fmt_p(0.0312) == "p = 0,031"
    assert fmt_p(0.0004) == "p < 0,001"
    assert fmt_p(0.45) == "p = 0,45"
    with pytest.raises(ValueError, match="p-value"):
        fmt_p(1.5)


def test_dates() -> None:
    assert fmt_date(dt.date(2026, 11, 23)) == "23. november 2026"
    assert fmt_date("2024-03-01") == "1. marts 2024"
    assert fmt_date(pd.Timestamp("2010-05-17 13:45")) == "17. maj 2010"
    assert fmt_date(np.datetime64("2019-12-31")) == "31. december 2019"
    assert fmt_date(None) == "–"
    assert fmt_month("2024-06-15") == "juni 2024"
    assert fmt_period(2010, 2024) == "2010–2024"
    assert fmt_period("2010-01-01", "2024-12-31") == "1. januar 2010–31. december 2024"
    with pytest.raises(ValueError, match="not an ISO date"):
        fmt_date("23/11/2026")


def test_bad_input_is_an_error() -> None:
    with pytest.raises(ValueError, match="expected a number"):
        fmt_number("12")
    with pytest.raises(ValueError, match="infinite"):
        fmt_number(float("inf"))


# -- theme ---------------------------------------------------------------------------


def test_palette_is_okabe_ito() -> None:
    # Okabe & Ito (2008), "Color Universal Design": the eight colours
    assert set(PALETTE) == set(OKABE_ITO.values())
    assert OKABE_ITO["vermillion"] == "#D55E00" and OKABE_ITO["blue"] == "#0072B2"
    assert PALETTE[-1] == OKABE_ITO["yellow"]  # faint on paper: used last


def test_danish_formatter_ticks() -> None:
    f = danish_formatter()
    assert f.format_ticks([0, 2.5, 5, 7.5]) == ["0,0", "2,5", "5,0", "7,5"]
    assert f.format_ticks([0, 5000, 10000]) == ["0", "5.000", "10.000"]
    assert f.format_ticks([0.1, 0.15, 0.2]) == ["0,10", "0,15", "0,20"]
    assert f.format_ticks([2010, 2015, 2020]) == ["2010", "2015", "2020"]  # years
    pct = danish_formatter(percent=True)
    assert pct.format_ticks([0, 0.1, 0.2]) == ["0 %", "10 %", "20 %"]


def test_danish_axes_leaves_categorical_axes_alone() -> None:
    apply_theme()
    fig, ax = plt.subplots()
    ax.bar(["Mænd", "Kvinder"], [1234.5, 2345.5])
    danish_axes(fig)
    fig.canvas.draw()
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    xlabels = [t.get_text() for t in ax.get_xticklabels()]
    assert "2.000" in ylabels
    assert xlabels == ["Mænd", "Kvinder"]
    plt.close(fig)


def test_labels() -> None:
    assert label("year") == "År"
    assert label("F") == "Kvinder"
    assert label("lang") == "Lang uddannelse"
    assert label("unknown_col") == "unknown_col"
    assert label("year", {"year": "Kalenderår"}) == "Kalenderår"
