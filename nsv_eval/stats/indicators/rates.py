"""Crude rates with Byar's / exact Poisson confidence intervals (PHE's ``phe_rate``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nsv_eval.errors import InputError

from ._intervals import method_label, poisson_limits
from ._validate import aggregate, as_by, check_columns, check_conf, check_frame, numeric_column
from .proportions import OUTPUT_COLUMNS


def rate(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    by: str | Sequence[str] | None = None,
    conf: float = 0.95,
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """Crude rate with a Poisson confidence interval, as Fingertips computes it.

    The interval for the count O is exact (chi-square) when O < 10 and Byar's approximation
    when O >= 10; both are divided by the denominator and scaled by ``multiplier``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit or stratum.
    numerator, denominator : str
        Columns with event counts and the population at risk (or person-years).
    by : str or sequence of str, optional
        Grouping columns; counts and denominators are summed within groups.
    conf : float, default 0.95
        Confidence level.
    multiplier : float, default 100000
        Rate per ``multiplier`` (1000 for "per 1,000 65+ residents").

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``numerator``, ``denominator``, ``estimate``, ``lower``, ``upper``,
        ``conf``, ``method`` (``"exact"`` or ``"Byar"``).

    References
    ----------
    Breslow NE, Day NE (1987) Statistical methods in cancer research II. IARC.
    PHE, Technical Guide: Confidence Intervals (2018), appendices 1-2.
    """
    data = check_frame(data)
    by_ = as_by(by)
    check_columns(data, [numerator, denominator, *by_])
    c = check_conf(conf)
    x = numeric_column(data, numerator, by_)
    n = numeric_column(data, denominator, by_)
    agg = aggregate(data, by_, {"numerator": x, "denominator": n})
    if (agg["denominator"] <= 0).any():
        bad = agg.loc[agg["denominator"] <= 0, by_].to_dict("records") if by_ else "all rows"
        raise InputError(f"Denominator {denominator!r} sums to 0 for {bad}; no rate exists.")
    o = agg["numerator"].to_numpy(float)
    d = agg["denominator"].to_numpy(float)
    lo, hi = poisson_limits(o, c)
    agg["estimate"] = o / d * multiplier
    agg["lower"] = lo / d * multiplier
    agg["upper"] = hi / d * multiplier
    agg["conf"] = c
    agg["method"] = method_label(o)
    return agg[[*by_, *OUTPUT_COLUMNS]].reset_index(drop=True)


__all__ = ["rate"]
