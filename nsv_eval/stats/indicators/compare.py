"""Benchmark comparison as Fingertips reports it ("compared with England/region")."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from nsv_eval.errors import InputError

from ._validate import check_columns, check_frame, numeric_column

LOWER, SIMILAR, HIGHER, NOT_COMPARED = "lower", "similar", "higher", "not_compared"


def compare(
    data: pd.DataFrame,
    benchmark: float | str,
    *,
    estimate: str = "estimate",
    lower: str = "lower",
    upper: str = "upper",
    benchmark_lower: float | str | None = None,
    benchmark_upper: float | str | None = None,
    polarity: Literal["high_is_good", "low_is_good"] | None = None,
) -> pd.DataFrame:
    """Classify each unit as significantly lower, similar or higher than a benchmark.

    The rule is Fingertips' "compared with benchmark" method: a unit is **higher** when its
    confidence interval lies wholly above the benchmark value (``lower > benchmark``),
    **lower** when it lies wholly below (``upper < benchmark``), otherwise **similar**.
    When the benchmark has its own interval (``benchmark_lower``/``benchmark_upper``, e.g.
    comparing a kommune with its region) the two intervals must not overlap: higher when
    ``lower > benchmark_upper``, lower when ``upper < benchmark_lower``. Units without an
    interval (e.g. a DSR suppressed for < 10 events) are ``not_compared``.

    The level is the one at which the intervals were computed (column ``conf`` of the
    indicator output). For Fingertips' two-level comparison compute the indicator at 0.95
    and at 0.998 and stack the results, e.g.
    ``compare(pd.concat([rate(d, ..., conf=0.95), rate(d, ..., conf=0.998)]), 512.3)``.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of an indicator function (or any frame with estimate and limits).
    benchmark : float or str
        Benchmark value, or the name of a column holding it per row (e.g. the region's
        value merged onto each kommune).
    estimate, lower, upper : str
        Column names of the unit's value and limits.
    benchmark_lower, benchmark_upper : float or str, optional
        The benchmark's own limits (value or column name); both or neither.
    polarity : {"high_is_good", "low_is_good"}, optional
        Adds ``rag`` (``"better"``/``"similar"``/``"worse"``).

    Returns
    -------
    pandas.DataFrame
        ``data`` with ``benchmark`` and ``comparison`` (``"lower"``, ``"similar"``,
        ``"higher"``, ``"not_compared"``), plus ``rag`` with a polarity. Reader labels:
        :mod:`nsv_eval.report.narrative.indicators`.

    References
    ----------
    Public Health England, Fingertips technical guidance: "Comparing with a benchmark"
    (significance against the benchmark value using the indicator's confidence interval).
    """
    data = check_frame(data)
    check_columns(data, [estimate, lower, upper])
    if (benchmark_lower is None) != (benchmark_upper is None):
        raise InputError("Give both benchmark_lower and benchmark_upper, or neither.")
    if polarity not in (None, "high_is_good", "low_is_good"):
        raise InputError(
            f"polarity must be 'high_is_good', 'low_is_good' or None, not {polarity!r}."
        )

    def resolve(v: float | str | None, name: str) -> np.ndarray | None:
        if v is None:
            return None
        if isinstance(v, str):
            check_columns(data, [v])
            return numeric_column(data, v, [], allow_nan=True, nonnegative=False)
        if not np.isfinite(float(v)):
            raise InputError(f"{name} must be a finite number, not {v!r}.")
        return np.full(len(data), float(v))

    b = resolve(benchmark, "benchmark")
    if b is None:
        raise InputError("benchmark must be a number or a column name, not None.")
    b_lo = resolve(benchmark_lower, "benchmark_lower")
    b_hi = resolve(benchmark_upper, "benchmark_upper")
    lo = numeric_column(data, lower, [], allow_nan=True, nonnegative=False)
    hi = numeric_column(data, upper, [], allow_nan=True, nonnegative=False)
    ref_lo = b if b_lo is None else b_lo
    ref_hi = b if b_hi is None else b_hi
    valid = ~(np.isnan(lo) | np.isnan(hi) | np.isnan(ref_lo) | np.isnan(ref_hi))
    code = np.full(len(data), SIMILAR, dtype=object)
    code[valid & (lo > ref_hi)] = HIGHER
    code[valid & (hi < ref_lo)] = LOWER
    code[~valid] = NOT_COMPARED
    out = data.copy()
    out["benchmark"] = b
    if b_lo is not None:
        out["benchmark_lower"] = b_lo
        out["benchmark_upper"] = b_hi
    out["comparison"] = pd.Series(code, index=data.index, dtype="str")
    if polarity is not None:
        good = HIGHER if polarity == "high_is_good" else LOWER
        bad = LOWER if polarity == "high_is_good" else HIGHER
        rag = out["comparison"].map(
            {good: "better", bad: "worse", SIMILAR: "similar", NOT_COMPARED: NOT_COMPARED}
        )
        out["rag"] = rag
    return out


__all__ = ["HIGHER", "LOWER", "NOT_COMPARED", "SIMILAR", "compare"]
