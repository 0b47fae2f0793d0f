"""Danish number and date formatting for everything management reads.

Conventions (Retskrivningsordbogen / Danmarks Statistik's house style):

* decimal comma and thousands point: ``1.234,5``;
* a space before the percent sign: ``14,2 %``;
* confidence intervals as ``95 %-KI: 12,3–14,5`` (en dash between the limits);
* negative numbers with the typographic minus sign U+2212 (``−1,5``), so a range such as
  ``−2,1–−0,5`` stays readable;
* dates as ``23. november 2026`` (lower-case month names);
* missing values (None, NaN) as an en dash ``–``.

In an English report (:mod:`nsv_eval.report.i18n`, ``lang: en``) the same functions write
``1,234.5``, ``14.2%``, ``95% CI: 12.3–14.5``, ``12.3 per 1,000`` and ``23 November 2026``.

Rounding is *half away from zero* on the shortest decimal representation of the float
(``2.675`` → ``2,68``, ``14.25`` → ``14,3``), the convention of published Danish
statistics; Python's own ``format`` rounds the binary value half-to-even and would print
``2,67`` and ``14,2``.
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal
from numbers import Real

import numpy as np
import pandas as pd

from nsv_eval.report.narrative._fmt import ci_label, fmt

MISSING = "–"
"""Shown for a missing value (None, NaN, NaT)."""

MINUS = "\u2212"
"""Typographic minus sign used for negative numbers."""

MONTHS_DA: tuple[str, ...] = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)


MONTHS_EN: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _en() -> bool:
    """True when the report language is English (:func:`nsv_eval.report.i18n.get_lang`)."""
    from nsv_eval.report.i18n import get_lang

    return get_lang() == "en"


def _is_missing(x: object) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _to_decimal(x: object, what: str) -> Decimal:
    if isinstance(x, bool) or not isinstance(x, Real | np.number | Decimal):
        raise ValueError(f"{what}: expected a number, got {x!r}")
    if isinstance(x, Decimal):
        return x
    f = float(x)
    if math.isinf(f):
        raise ValueError(f"{what}: cannot format an infinite value")
    if isinstance(x, int | np.integer):
        return Decimal(int(x))
    # repr gives the shortest string that round-trips, i.e. the decimal the user meant.
    return Decimal(repr(f))


def fmt_number(x: object, decimals: int = 1, *, thousands: bool = True) -> str:
    """Format a number the Danish way: ``1234.56`` → ``"1.234,6"``.

    Parameters
    ----------
    x : number or None
        The value; None/NaN give :data:`MISSING`.
    decimals : int
        Digits after the decimal comma (rounded half away from zero).
    thousands : bool
        Group thousands with ``.`` (default True).

    Returns
    -------
    str
    """
    if _is_missing(x):
        return MISSING
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    d = _to_decimal(x, "fmt_number")
    # one implementation of number formatting: nsv_eval.report.narrative.fmt
    return fmt(d, "en" if _en() else "da", decimals, thousands=thousands, half_up=True, minus=MINUS)


def fmt_int(x: object) -> str:
    """Format a whole number with thousands points: ``12345`` → ``"12.345"``."""
    return fmt_number(x, 0)


def fmt_pct(x: object, decimals: int = 1, *, fraction: bool = True) -> str:
    """Format a percentage with a space before the sign: ``0.142`` → ``"14,2 %"``.

    Parameters
    ----------
    x : number or None
        A proportion (0–1) when ``fraction`` is True (default), else already in percent.
    decimals : int
        Digits after the decimal comma.
    fraction : bool
        Whether ``x`` is a proportion to be multiplied by 100.
    """
    if _is_missing(x):
        return MISSING
    d = _to_decimal(x, "fmt_pct")
    if fraction:
        d = d * 100
    return f"{fmt_number(d, decimals)}%" if _en() else f"{fmt_number(d, decimals)} %"


def fmt_rate(x: object, per: int = 1000, decimals: int = 1, *, scaled: bool = False) -> str:
    """Format a rate "per ``per``": ``0.01234`` → ``"12,3 pr. 1.000"``.

    Parameters
    ----------
    x : number or None
        Events per unit (e.g. per person-year), multiplied by ``per`` — unless ``scaled``
        is True, in which case ``x`` is already per ``per``.
    per : int
        The multiplier shown in the text (1.000, 100.000, ...).
    decimals : int
        Digits after the decimal comma.
    scaled : bool
        ``x`` is already expressed per ``per``.
    """
    if _is_missing(x):
        return MISSING
    d = _to_decimal(x, "fmt_rate")
    if not scaled:
        d = d * per
    return f"{fmt_number(d, decimals)} {'per' if _en() else 'pr.'} {fmt_int(per)}"


def _conf_label(conf: float) -> str:
    return ci_label(conf, "en" if _en() else "da")


def fmt_ci(lower: object, upper: object, decimals: int = 1, *, conf: float = 0.95) -> str:
    """Format a confidence interval: ``(12.34, 14.46)`` → ``"95 %-KI: 12,3–14,5"``."""
    return f"{_conf_label(conf)}: {fmt_number(lower, decimals)}–{fmt_number(upper, decimals)}"


def fmt_estimate_ci(
    est: object,
    lower: object,
    upper: object,
    decimals: int = 1,
    *,
    conf: float = 0.95,
    unit: str = "",
) -> str:
    """Format an estimate with its interval: ``"13,4 (95 %-KI: 12,3–14,5)"``.

    Parameters
    ----------
    est, lower, upper : number
        Estimate and confidence limits.
    decimals : int
        Digits after the decimal comma (same for all three numbers).
    conf : float
        Confidence level shown in the label.
    unit : str
        Optional unit written after the estimate (``"%"`` → ``"14,2 % (95 %-KI: ...)"``).
    """
    head = fmt_number(est, decimals)
    if unit:
        head = f"{head}{unit}" if unit == "%" and _en() else f"{head} {unit}"
    return f"{head} ({fmt_ci(lower, upper, decimals, conf=conf)})"


def fmt_p(p: object) -> str:
    """Format a p-value: ``0.0312`` → ``"p = 0,031"``; below 0.001 → ``"p < 0,001"``."""
    if _is_missing(p):
        return MISSING
    v = float(p)  # type: ignore[arg-type]
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"fmt_p: a p-value lies in [0, 1], got {p!r}")
    if v < 0.001:
        return "p < 0.001" if _en() else "p < 0,001"
    return f"p = {fmt_number(v, 3 if v < 0.1 else 2)}"


def _to_date(d: object) -> _dt.date:
    if isinstance(d, pd.Timestamp):
        return d.date()
    if isinstance(d, _dt.datetime):
        return d.date()
    if isinstance(d, _dt.date):
        return d
    if isinstance(d, np.datetime64):
        return pd.Timestamp(d).date()
    if isinstance(d, str):
        try:
            return _dt.date.fromisoformat(d.strip()[:10])
        except ValueError as exc:
            raise ValueError(f"fmt_date: {d!r} is not an ISO date (YYYY-MM-DD)") from exc
    raise ValueError(f"fmt_date: expected a date, got {d!r}")


def fmt_date(d: object) -> str:
    """Format a date the Danish way: ``2026-11-23`` → ``"23. november 2026"``.

    Accepts ``datetime.date``/``datetime``, pandas ``Timestamp``, ``numpy.datetime64`` and
    ISO strings; None/NaT give :data:`MISSING`.
    """
    if _is_missing(d):
        return MISSING
    day = _to_date(d)
    if _en():
        return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.day}. {MONTHS_DA[day.month - 1]} {day.year}"


def fmt_month(d: object) -> str:
    """Format a month: ``2024-03-01`` → ``"marts 2024"``."""
    if _is_missing(d):
        return MISSING
    day = _to_date(d)
    return f"{(MONTHS_EN if _en() else MONTHS_DA)[day.month - 1]} {day.year}"


def fmt_period(start: object, end: object) -> str:
    """Format a period of years or dates: ``(2010, 2024)`` → ``"2010–2024"``.

    Integers are taken as years; dates are written in full (``"1. januar 2010–31. december
    2024"``).
    """
    if isinstance(start, int | np.integer) and isinstance(end, int | np.integer):
        return f"{int(start)}–{int(end)}"
    return f"{fmt_date(start)}–{fmt_date(end)}"
