"""Weighted survey estimates (Sundhedsprofilen-style data with post-stratification weights).

Hand-written because statsmodels has no design-based survey estimators. The estimators
follow R's ``survey`` package for a design with weights only (no strata or clusters in the
extract; ``svydesign(ids=~1, weights=~w)``):

* a weighted proportion/mean is the ratio estimator ``Σ w·y / Σ w``;
* its variance is the Taylor-linearised (with-replacement) variance
  ``n/(n−1) · Σ w²(y − ŷ)² / (Σ w)²``;
* the interval of a proportion is computed on the logit scale (``svyciprop(method="logit")``),
  so it stays inside (0, 1); the interval of a mean is symmetric (normal).

Post-stratification reduces the true variance somewhat; ignoring that is conservative.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit


def _check(data: pd.DataFrame, cols: Sequence[str]) -> None:
    for c in cols:
        if c not in data.columns:
            raise ValueError(f"column {c!r} not found; available: {list(data.columns)}")
        if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])):
            raise ValueError(f"column {c!r} must be numeric or boolean, got {data[c].dtype}")


def _one(y: np.ndarray, w: np.ndarray) -> tuple[float, float, int]:
    ok = ~(np.isnan(y) | np.isnan(w))
    y, w = y[ok], w[ok]
    n = len(y)
    if n == 0 or w.sum() <= 0:
        return np.nan, np.nan, n
    est = float(np.sum(w * y) / np.sum(w))
    if n < 2:
        return est, np.nan, n
    var = n / (n - 1) * np.sum(w**2 * (y - est) ** 2) / np.sum(w) ** 2
    return est, float(np.sqrt(var)), n


def weighted_prevalence(
    data: pd.DataFrame,
    outcome: str,
    weight: str,
    *,
    by: Sequence[str] | None = None,
    conf: float = 0.95,
    kind: str = "proportion",
    multiplier: float = 100,
) -> pd.DataFrame:
    """Weighted proportion (or mean) with a design-based confidence interval.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    outcome : str
        Column with 0/1 (or boolean) outcome, or a numeric score when ``kind="mean"``.
    weight : str
        Column with survey weights (> 0).
    by : list of str, optional
        Grouping columns.
    conf : float
        Confidence level.
    kind : {"proportion", "mean"}
        Logit-scale interval for proportions, normal interval for means.
    multiplier : float
        Scale of proportions (100 gives percentages); ignored for means.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``respondents``, ``weighted_n``, ``estimate``, ``lower``, ``upper``,
        ``se``, ``conf``, ``method``.
    """
    _check(data, [outcome, weight])
    if kind not in ("proportion", "mean"):
        raise ValueError(f"kind must be 'proportion' or 'mean', got {kind!r}")
    if (data[weight] < 0).any():
        row = data.index[(data[weight] < 0).to_numpy()][0]
        raise ValueError(f"column {weight!r} has a negative weight in row {row!r}")
    y_all = data[outcome].astype(float)
    if kind == "proportion" and not y_all.dropna().isin([0.0, 1.0]).all():
        row = y_all.index[~y_all.isin([0.0, 1.0]) & y_all.notna()][0]
        raise ValueError(f"column {outcome!r} must be 0/1 for a proportion; row {row!r} is not")
    z = stats.norm.ppf(0.5 + conf / 2)
    groups = [((), data)] if not by else data.groupby(list(by), observed=True, sort=True)
    rows = []
    for key, g in groups:
        y = g[outcome].astype(float).to_numpy()
        w = g[weight].astype(float).to_numpy()
        est, se, n = _one(y, w)
        if kind == "proportion":
            if np.isnan(se) or est in (0.0, 1.0):
                lo = hi = np.nan
            else:
                half = z * se / (est * (1 - est))
                lo, hi = expit(logit(est) - half), expit(logit(est) + half)
            m = multiplier
            est_s, lo_s, hi_s, se_s = est * m, lo * m, hi * m, se * m
            method = "weighted proportion, linearised variance, logit CI"
        else:
            est_s, lo_s, hi_s, se_s = est, est - z * se, est + z * se, se
            method = "weighted mean, linearised variance"
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by or [], key, strict=False))
        row.update(
            respondents=n,
            weighted_n=float(np.nansum(w)),
            estimate=est_s,
            lower=lo_s,
            upper=hi_s,
            se=se_s,
            conf=conf,
            method=method,
        )
        rows.append(row)
    return pd.DataFrame(rows)
