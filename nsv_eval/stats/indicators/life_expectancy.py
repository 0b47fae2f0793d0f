"""Abridged life tables (Chiang II) with Silcocks' variance (PHE's ``phe_life_expectancy``)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nsv_eval.errors import InputError

from ._validate import (
    as_by,
    check_columns,
    check_conf,
    check_frame,
    group_label,
    iter_groups,
    numeric_column,
    z_value,
)

#: PHE does not calculate life expectancy for a total population at or below this.
MIN_POPULATION = 5000
#: PHE suppresses a value whose 95 % confidence interval is wider than this (years).
MAX_CI_WIDTH = 20.0


def _band_start(values: pd.Series, column: str) -> np.ndarray:
    """Start age of each band: ints as they are, labels such as "0-4", "95+", "90 +" parsed."""
    if pd.api.types.is_numeric_dtype(values) and values.dtype != bool:
        out = values.to_numpy(dtype=float, na_value=np.nan)
    else:

        def parse(v: object) -> float:
            m = re.match(r"\D*(\d+)", str(v))
            return float(m.group(1)) if m else np.nan

        out = values.map(parse).to_numpy(dtype=float)
    if np.isnan(out).any():
        bad = list(values[np.isnan(out)].head(5))
        raise InputError(f"Column {column!r} has values that are not age bands: {bad}.")
    return out


def life_expectancy(
    data: pd.DataFrame,
    deaths: str,
    population: str,
    age: str = "age_band",
    *,
    by: str | Sequence[str] | None = None,
    conf: float = 0.95,
    a0: float = 0.1,
    min_population: float = MIN_POPULATION,
) -> pd.DataFrame:
    """Life expectancy at the start of each age band, with confidence limits.

    Abridged life table by Chiang's method as used by ONS and PHE: band widths n_i from the
    band starts, fraction of the last year lived by those dying ``a_i = 0.5`` (``a0`` for
    the band starting at age 0), ``q_i = n M / (1 + n M (1 − a))``, ``l_0 = 100000``, the
    last (open) band lived ``l/M`` years. Variance: Chiang's sum over bands with Silcocks et
    al.'s term for the open band, ``4 / (D M²)`` (as PHE).

    Works with PHE's bands (0, 1-4, 5-9, …, 90+) and with the ESP2013 bands of the cube
    (0-4, …, 95+): ``age`` may hold band starts or labels such as ``"0-4"``/``"95+"``.

    Groups are not calculated (NaN, a ``note`` and a warning) when, as in PHE: the total
    population is at most ``min_population``; a band has zero population; a band has more
    deaths than population; the open band has no deaths; or a band present in other groups
    is missing. Values whose 95 % interval is wider than 20 years are suppressed (limits
    kept). Negative deaths or populations raise an error.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per age band within each group.
    deaths, population : str
        Deaths and mid-year population (person-years) per band.
    age : str, default "age_band"
        Band start ages or band labels.
    by : str or sequence of str, optional
        Grouping columns (kommune, sex, period ...).
    conf : float, default 0.95
        Confidence level.
    a0 : float, default 0.1
        Fraction of the first band lived by those who die in it.
    min_population : float, default 5000
        PHE's minimum total population.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``age_start``, ``numerator`` (deaths at ages >= age_start),
        ``denominator`` (population at ages >= age_start), ``estimate`` (life expectancy
        in years), ``lower``, ``upper``, ``se``, ``conf``, ``method``, ``note``.

    References
    ----------
    Chiang CL (1968) Introduction to stochastic processes in biostatistics, ch. 9. Wiley.
    Silcocks PBS, Jenner DA, Reza R (2001) Life expectancy as a summary of mortality in a
    population. J Epidemiol Community Health 55:38-43. Eayres DP, Williams ES (2004)
    J Epidemiol Community Health 58:243-249.
    """
    data = check_frame(data)
    by_ = as_by(by)
    c = check_conf(conf)
    check_columns(data, [deaths, population, age, *by_])
    if not 0 <= a0 <= 1:
        raise InputError(f"a0 must lie in [0, 1], not {a0!r}.")
    d_all = numeric_column(data, deaths, by_)
    p_all = numeric_column(data, population, by_)
    frame = pd.DataFrame(
        {"start": _band_start(data[age], age), "d": d_all, "p": p_all}, index=data.index
    )
    for b in by_:
        frame[b] = data[b]
    bands = np.sort(frame["start"].unique())
    if bands[0] != 0:
        raise InputError(f"Column {age!r}: the first age band must start at 0, not {bands[0]:g}.")
    z = z_value(c)
    z95 = z_value(0.95)
    out = []
    notes_warned: list[str] = []
    for key, sub in iter_groups(frame, by_):
        if sub["start"].duplicated().any():
            raise InputError(f"{group_label(key)} has more than one row per age band in {age!r}.")
        sub = sub.sort_values("start")
        starts = sub["start"].to_numpy(float)
        dx = sub["d"].to_numpy(float)
        px = sub["p"].to_numpy(float)
        note = _group_note(starts, bands, px, dx, min_population)
        res = pd.DataFrame({"age_start": starts})
        for k, v in key.items():
            res[k] = v
        res["numerator"] = dx[::-1].cumsum()[::-1]
        res["denominator"] = px[::-1].cumsum()[::-1]
        if note:
            notes_warned.append(f"{group_label(key)}: {note}")
            res["estimate"] = res["lower"] = res["upper"] = res["se"] = np.nan
            res["note"] = note
        else:
            e, se = _chiang(starts, dx, px, a0)
            res["estimate"] = e
            res["lower"] = e - z * se
            res["upper"] = e + z * se
            res["se"] = se
            wide = z95 * se * 2 > MAX_CI_WIDTH
            res["note"] = np.where(wide, "95 % CI wider than 20 years: value suppressed", "")
            res.loc[wide, "estimate"] = np.nan
            if wide.any():
                notes_warned.append(f"{group_label(key)}: CI wider than 20 years at some ages")
        out.append(res)
    if notes_warned:
        warnings.warn(
            "Life expectancy not (fully) calculated (PHE rules): "
            + "; ".join(notes_warned[:10])
            + (f" and {len(notes_warned) - 10} more" if len(notes_warned) > 10 else ""),
            stacklevel=2,
        )
    result = pd.concat(out, ignore_index=True)
    result["conf"] = c
    result["method"] = "Chiang II, Silcocks variance"
    cols = [
        *by_,
        "age_start",
        "numerator",
        "denominator",
        "estimate",
        "lower",
        "upper",
        "se",
        "conf",
        "method",
        "note",
    ]
    return result[cols]


def _chiang(starts: np.ndarray, dx: np.ndarray, px: np.ndarray, a0: float):
    """Life expectancy and its standard error at each band start (PHE's algorithm)."""
    k = len(starts)
    m = dx / px
    n = np.empty(k)
    n[:-1] = np.diff(starts)
    n[-1] = 2 / m[-1]
    a = np.where(starts == 0, a0, 0.5)
    q = np.where(dx <= px / n / a, m * n / (1 + m * n * (1 - a)), 1.0)
    q[-1] = 1.0
    p = 1 - q
    lx = np.empty(k)
    lx[0] = 100_000.0
    lx[1:] = lx[0] * np.cumprod(p[:-1])
    d = lx - np.append(lx[1:], 0.0)
    big_l = np.empty(k)
    big_l[:-1] = n[:-1] * (lx[1:] + a[:-1] * d[:-1])
    big_l[-1] = lx[-1] / m[-1]
    t = big_l[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(lx > 0, t / lx, 0.0)
        spi = np.where(d == 0, 0.0, q**2 * (1 - q) / dx)
    spi[-1] = 4 / (dx[-1] * m[-1] ** 2)
    w = np.empty(k)
    w[:-1] = spi[:-1] * lx[:-1] ** 2 * ((1 - a[:-1]) * n[:-1] + e[1:]) ** 2
    w[-1] = (lx[-1] / 2) ** 2 * spi[-1]
    st = w[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(st / lx**2)
    return e, se


__all__ = ["life_expectancy", "MIN_POPULATION"]


def _group_note(
    starts: np.ndarray, bands: np.ndarray, px: np.ndarray, dx: np.ndarray, min_population: float
) -> str:
    """Why a group's life expectancy is not calculated (PHE rules); "" when it is."""
    note = ""
    if len(starts) != len(bands):
        missing = sorted(set(bands) - set(starts))
        note = f"missing age band(s) {[f'{m:g}' for m in missing]}"
    elif px.sum() <= min_population:
        note = f"total population {px.sum():g} <= {min_population:g}"
    elif (px <= 0).any():
        note = "an age band has zero population"
    elif (dx > px).any():
        note = "an age band has more deaths than population"
    elif dx[-1] <= 0:
        note = "no deaths in the open age band"
    return note
