"""THE number formatter of the reports (Danish and English) and the interval label.

Every number a reader sees goes through :func:`fmt`: ``nsv_eval.report.format.fmt_number``
is a thin wrapper (missing values, half-up rounding, the typographic minus, language from
:mod:`nsv_eval.report.i18n`), and the design narratives call it directly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["ci_label", "fmt"]


def _swap(text: str, lang: str) -> str:
    """English separators (``1,234.5``) → Danish ones (``1.234,5``) when ``lang == "da"``."""
    if lang == "da":
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def fmt(
    x: float | int | Decimal,
    lang: str = "da",
    digits: int = 2,
    *,
    thousands: bool = True,
    half_up: bool = False,
    minus: str = "-",
) -> str:
    """Format a number for a reader: ``1234.567`` → ``"1.234,57"`` (da) / ``"1,234.57"`` (en).

    Parameters
    ----------
    x : number
        The value (a float, int or :class:`decimal.Decimal`).
    lang : {"da", "en"}
        Danish (decimal comma, thousands point) or English separators.
    digits : int
        Digits after the decimal separator.
    thousands : bool
        Group thousands (default True).
    half_up : bool
        Round the decimal the value stands for half away from zero (``Decimal``; 0.125 →
        0.13) instead of Python's float formatting (binary value, ties to even). With
        ``half_up`` a negative zero after rounding is shown as 0.
    minus : str
        The minus sign (``"-"``; reports use the typographic ``"\\u2212"``).

    Returns
    -------
    str
    """
    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    if not half_up:
        text = f"{x:,.{digits}f}" if thousands else f"{x:.{digits}f}"
        if minus != "-" and text.startswith("-"):
            text = minus + text[1:]
        return _swap(text, lang)
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, int):
        d = Decimal(x)
    else:  # repr: the shortest string that round-trips, i.e. the decimal the user meant
        d = Decimal(repr(float(x)))
    try:
        q = d.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:  # pragma: no cover - absurdly large numbers
        raise ValueError(f"fmt: cannot format {x!r}") from exc
    negative = q < 0 and q != 0  # -0.0 after rounding is shown as 0
    q = abs(q)
    text = f"{q:,.{digits}f}" if thousands else f"{q:.{digits}f}"
    text = _swap(text, lang)
    return (minus + text) if negative else text


def ci_label(conf: float, lang: str = "da") -> str:
    """Interval label: ``0.95`` → ``"95 %-KI"`` (da) / ``"95% CI"`` (en); ``0.975`` → ``"97,5 %-KI"``."""
    pct = Decimal(repr(float(conf))) * 100
    if pct != pct.to_integral_value():
        num = fmt(pct, lang, 1, half_up=True)
    else:
        num = str(int(pct))
    return f"{num}% CI" if lang == "en" else f"{num} %-KI"
