"""Proportions with Wilson score confidence intervals (PHE's ``phe_proportion``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nsv_eval.errors import InputError

from ._intervals import wilson
from ._validate import (
    aggregate,
    as_by,
    check_columns,
    check_conf,
    check_frame,
    check_not_above,
    numeric_column,
)

OUTPUT_COLUMNS = ("numerator", "denominator", "estimate", "lower", "upper", "conf", "method")


def proportion(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    by: str | Sequence[str] | None = None,
    conf: float = 0.95,
    multiplier: float = 1,
) -> pd.DataFrame:
    """Proportion with a Wilson score confidence interval, as Fingertips computes it.

    Numerators and denominators are summed within each group of ``by`` (over all rows when
    ``by`` is None) before the proportion is formed, so the result has one row per group.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit or stratum.
    numerator, denominator : str
        Columns with the number of cases meeting the condition and the number of cases.
    by : str or sequence of str, optional
        Grouping columns; one output row per group.
    conf : float, default 0.95
        Confidence level (0.95, 0.998 ...; 95 and 99.8 are read as percentages).
    multiplier : float, default 1
        Scale of the output (100 for percentages).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``numerator``, ``denominator``, ``estimate``, ``lower``, ``upper``,
        ``conf``, ``method`` (``"Wilson"``).

    Raises
    ------
    InputError
        Missing or non-numeric columns, NaNs, negative values, a zero denominator or a
        numerator above its denominator (the message names column and rows).

    References
    ----------
    Wilson EB (1927) J Am Stat Assoc 22:209-212. Newcombe RG (1998) Stat Med 17:857-872.
    PHE, Technical Guide: Confidence Intervals (2018), appendix 3.
    """
    data = check_frame(data)
    by_ = as_by(by)
    check_columns(data, [numerator, denominator, *by_])
    c = check_conf(conf)
    x = numeric_column(data, numerator, by_)
    n = numeric_column(data, denominator, by_)
    check_not_above(data, x, n, numerator, denominator, by_)
    agg = aggregate(data, by_, {"numerator": x, "denominator": n})
    if (agg["denominator"] <= 0).any():
        bad = agg.loc[agg["denominator"] <= 0, by_].to_dict("records") if by_ else "all rows"
        raise InputError(
            f"Denominator {denominator!r} sums to 0 for {bad}; a proportion needs cases."
        )
    xs = agg["numerator"].to_numpy(float)
    ns = agg["denominator"].to_numpy(float)
    lo, hi = wilson(xs, ns, c)
    agg["estimate"] = xs / ns * multiplier
    agg["lower"] = lo * multiplier
    agg["upper"] = hi * multiplier
    agg["conf"] = c
    agg["method"] = "Wilson"
    return agg[[*by_, *OUTPUT_COLUMNS]].reset_index(drop=True)


__all__ = ["proportion"]
