"""Confidence-interval primitives used by Fingertips (PHE/OHID "Technical Guide: Confidence
Intervals", 2018): Wilson score, Byar's approximation and the exact (chi-square) Poisson
interval.

Written by hand because they are closed formulas that must match PHE's published method
exactly (PHE's switch rule "exact below 10, Byar from 10" and its Byar variant are not what
statsmodels/scipy offer); the Wilson interval is cross-checked against statsmodels in tests.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._validate import z_value

#: Counts below this use the exact Poisson interval; from here on Byar's approximation.
BYAR_THRESHOLD = 10


def wilson(x: np.ndarray, n: np.ndarray, conf: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``x / n`` (Wilson 1927; Newcombe 1998).

    PHE form: ``(2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``.
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    z = z_value(conf)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
        lower = (2 * x + z**2 - root) / 2 / (n + z**2)
        upper = (2 * x + z**2 + root) / 2 / (n + z**2)
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def byar_lower(o: np.ndarray, conf: float) -> np.ndarray:
    """Byar's approximate lower limit for a Poisson count (Breslow & Day 1987)."""
    o = np.asarray(o, dtype=float)
    z = z_value(conf)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
    return np.where(o > 0, out, 0.0)


def byar_upper(o: np.ndarray, conf: float) -> np.ndarray:
    """Byar's approximate upper limit for a Poisson count (Breslow & Day 1987)."""
    o1 = np.asarray(o, dtype=float) + 1
    z = z_value(conf)
    return o1 * (1 - 1 / (9 * o1) + z / (3 * np.sqrt(o1))) ** 3


def exact_lower(o: np.ndarray, conf: float) -> np.ndarray:
    """Exact (chi-square) lower limit: ``chi2.ppf(α/2, 2O) / 2`` (0 when O = 0)."""
    o = np.asarray(o, dtype=float)
    alpha = 1 - conf
    with np.errstate(invalid="ignore"):
        out = stats.chi2.ppf(alpha / 2, 2 * o) / 2
    return np.where(o > 0, out, 0.0)


def exact_upper(o: np.ndarray, conf: float) -> np.ndarray:
    """Exact (chi-square) upper limit: ``chi2.ppf(1 − α/2, 2O + 2) / 2``."""
    o = np.asarray(o, dtype=float)
    alpha = 1 - conf
    return stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2


def poisson_limits(o: np.ndarray, conf: float) -> tuple[np.ndarray, np.ndarray]:
    """Limits for a Poisson count as PHE uses them: exact below 10 events, Byar's from 10."""
    o = np.asarray(o, dtype=float)
    small = o < BYAR_THRESHOLD
    lower = np.where(small, exact_lower(o, conf), byar_lower(o, conf))
    upper = np.where(small, exact_upper(o, conf), byar_upper(o, conf))
    return lower, upper


def method_label(o: np.ndarray | float) -> np.ndarray:
    """``"exact"`` or ``"Byar"`` per count, following :func:`poisson_limits`."""
    return np.where(np.asarray(o, dtype=float) < BYAR_THRESHOLD, "exact", "Byar")
