"""Funnel plots for proportions, rates and indirectly standardised ratios.

Control limits follow PHE's ``phe_funnels`` / ``phe_funnel_significance`` (Fingertips
technical guidance), which implement the exact limits of Spiegelhalter (2005) "Funnel plots
for comparing institutional performance", Stat Med 24:1185-1202:

* proportions: the limits are the proportions whose Wilson score interval just reaches the
  target (PHE's closed form, ``_wilson_funnel``);
* ratios O/E and crude rates: exact Poisson limits, traced at integer event counts O as the
  expected count E at which O sits exactly on the tail probability
  (``E = Gamma⁻¹(p; O)`` above, ``Gamma⁻¹(1 − p; O + 1)`` below), as PHE does.

Optional over-dispersion adjustment (Spiegelhalter 2005, "Handling over-dispersion of
performance indicators", Qual Saf Health Care 14:347-351): Pearson z-scores against the
target, winsorised (10 % each tail by default) to estimate the dispersion φ; either a
multiplicative widening ``sqrt(φ)`` or an additive random-effects variance τ²
(DerSimonian-Laird moment estimator). Adjusted limits use the normal approximation.

Multiple comparisons: a funnel of 98 kommuner at 95 % flags about five kommuner by chance
alone. Every unit therefore also gets the two-sided p-value of its funnel test
(``p_value``), and ``fdr=q`` adds Benjamini & Hochberg's (1995, JRSS B 57:289)
false-discovery-rate control over the units (statsmodels ``multipletests``, ``fdr_bh``):
``q_value`` (BH-adjusted p-value) and ``outlier_fdr`` / ``flag_fdr`` for the units whose
q-value is at most ``q`` — among those, the expected share of false alarms is at most ``q``.
The PHE ``flag`` column is left as it is (per-unit limits, no multiplicity control).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import mstats

from nsv_eval.errors import InputError

from ._intervals import poisson_limits
from ._validate import (
    check_columns,
    check_conf,
    check_frame,
    check_not_above,
    numeric_column,
    z_value,
)

Statistic = Literal["proportion", "rate", "ratio"]
Overdispersion = Literal["multiplicative", "additive"] | None

#: PHE's labels for the funnel significance of a unit.
HIGH_998, HIGH_95 = "High (0.001)", "High (0.025)"
LOW_998, LOW_95 = "Low (0.001)", "Low (0.025)"
NOT_SIGNIFICANT = "Not significant"

#: Default colours of :func:`funnel_plot`: entries of the rcParams colour cycle (reports
#: pass ``report.theme.FUNNEL_COLORS``).
FUNNEL_COLORS: dict[str, str] = {
    "limit_inner": "C0",  # first level (95 %)
    "limit_outer": "C5",  # last level (99.8 %)
    "limit_other": "C8",
    "target": "C6",
    "unit": "C8",
    "edge": "C6",
    "highlight": "C3",
}

#: Default (label-only) texts of :func:`funnel_plot`; ``limit`` takes ``{level}`` (in per
#: cent) unless a key ``"limit:<level>"`` (e.g. ``"limit:0.998"``) gives that level's text.
FUNNEL_LABELS: dict[str, str] = {
    "target": "target",
    "limit": "{level}% limit",
    "fdr": "outlier ({tag})",
    "x_proportion": "denominator",
    "x_rate": "person-time",
    "x_ratio": "expected",
    "y_proportion": "proportion",
    "y_rate": "rate",
    "y_ratio": "observed / expected",
}

_DEFAULT_MULTIPLIER = {"proportion": 1.0, "rate": 100_000.0, "ratio": 1.0}


@dataclass
class FunnelResult:
    """Funnel control limits and the units placed on them.

    Attributes
    ----------
    statistic : str
        ``"proportion"``, ``"rate"`` or ``"ratio"``.
    target : float
        The target line (on the output scale, i.e. × ``multiplier``).
    multiplier : float
        Output scale.
    limits : pandas.DataFrame
        Long table of control limits: ``level`` (0.95, 0.998), ``side`` (``"lower"``,
        ``"upper"``), ``x`` (denominator, person-years or expected count), ``limit``.
    units : pandas.DataFrame
        The input rows with ``numerator``, ``denominator``, ``x``, ``estimate``, ``z``
        (Pearson z against the target), ``z_adjusted`` (after the over-dispersion
        adjustment; equals ``z`` without one) and ``flag`` (PHE labels ``"High (0.001)"``,
        ``"High (0.025)"``, ``"Low (0.001)"``, ``"Low (0.025)"``, ``"Not significant"``).
    overdispersion : str or None
        The adjustment applied.
    phi : float
        Winsorised dispersion estimate φ (always computed; 1 means pure Poisson/binomial).
    tau2 : float
        Additive between-unit variance τ² (0 unless ``overdispersion="additive"``).
    dispersion_p : float
        P-value of ``I·φ`` against χ²(I − 1): small values indicate over-dispersion.
    """

    statistic: str
    target: float
    multiplier: float
    limits: pd.DataFrame
    units: pd.DataFrame
    overdispersion: str | None = None
    phi: float = 1.0
    tau2: float = 0.0
    dispersion_p: float = float("nan")
    levels: tuple[float, ...] = field(default=(0.95, 0.998))

    def wide_limits(self) -> pd.DataFrame:
        """Limits as one row per ``x`` (only meaningful when all limits share the grid)."""
        w = self.limits.assign(col=lambda d: d["side"] + "_" + d["level"].map(_level_tag))
        return w.pivot_table(index="x", columns="col", values="limit").reset_index()


def _level_tag(level: float) -> str:
    return f"{level * 100:g}".replace(".", "")


def _signif_floor(x: float) -> float:
    """PHE's axis rounding down (``signif.floor``, 95 % of x to its leading digit)."""
    v = np.floor(x * 0.95)
    if x == 0:
        return 0.0
    n = len(str(int(v))) - 1
    return float(np.floor(x * 0.95 / 10**n) * 10**n)


def _signif_ceiling(x: float) -> float:
    """PHE's axis rounding up (``signif.ceiling``, 105 % of x to two leading digits)."""
    v = np.ceil(x * 1.05)
    if x == 0:
        return 0.0
    n = len(str(int(v))) - 2
    return float(np.ceil(x * 1.05 / 10.0**n) * 10.0**n)


def phe_axis(min_x: float, max_x: float) -> tuple[float, float]:
    """PHE's funnel axis range: from 0 (or the rounded minimum) to the rounded maximum."""
    lo = 0.0 if max_x > 2 * min_x else _signif_floor(min_x)
    return lo, _signif_ceiling(max_x)


def phe_grid(axis_min: float, axis_max: float, *, offset: int = 0) -> np.ndarray:
    """PHE's 100-point geometric grid of integers from ``max(1, axis_min)`` to ``axis_max``.

    ``offset=1`` reproduces the grid PHE uses for ratio funnels (indexing shifted by one).
    """
    grid = [max(1.0, axis_min)]
    for j in range(2, 101):
        prev = grid[-1]
        step = (axis_max / prev) ** (1 / (101 - (j - offset))) * prev
        grid.append(max(float(round(step)), prev + 1))
    return np.asarray(grid)


def _wilson_funnel(p: float, n: np.ndarray, theta: float, side: str) -> np.ndarray:
    """PHE's ``sigma_adjustment``: the observed proportion at n whose Wilson limit is theta.

    Closed form solving the Wilson score bound for the observed proportion; written out
    because it is PHE's published formula, not a library routine.
    """
    z2 = stats.norm.ppf(p) ** 2
    first = theta * (n / z2 + 1)
    adj = np.sqrt(
        (-8 * theta * (n / z2 + 1)) ** 2
        - 64 * (1 / z2 + 1 / n) * theta * (n * (theta * (n / z2 + 2) - 1) + z2 * (theta - 1))
    )
    last = 1 / z2 + 1 / n
    out = (first - adj / 8) / last if side == "lower" else (first + adj / 8) / last
    return out / n


def _poisson_expected(o: np.ndarray, tail: float, side: str) -> np.ndarray:
    """Expected count at which O events lie exactly on a one-sided tail ``tail``.

    ``side="upper"``: P(X >= O | E) = tail, i.e. E = Gamma⁻¹(tail; O) (upper control limit).
    ``side="lower"``: P(X <= O | E) = tail, i.e. E = Gamma⁻¹(1 − tail; O + 1).
    """
    o = np.asarray(o, dtype=float)
    if side == "upper":
        return stats.gamma.ppf(tail, o)
    return stats.gamma.ppf(1 - tail, o + 1)


def _unit_variance(statistic: str, theta: float, x: np.ndarray) -> np.ndarray:
    """Sampling variance of a unit's estimate under the target (unscaled)."""
    if statistic == "proportion":
        return theta * (1 - theta) / x
    if statistic == "rate":
        return theta / x
    return 1.0 / x  # ratio O/E with target 1


def funnel_limits(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    statistic: Statistic = "proportion",
    target: float | None = None,
    multiplier: float | None = None,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: Overdispersion = None,
    winsor: float = 0.1,
    grid: Sequence[float] | None = None,
    fdr: float | None = None,
) -> FunnelResult:
    """Funnel-plot control limits over a grid, plus each unit's z-score and flag.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (kommune, hospital ...).
    numerator, denominator : str
        Proportion: cases and sample size. Rate: events and person-years (or population).
        Ratio: observed and expected counts (e.g. from :func:`isr`).
    statistic : {"proportion", "rate", "ratio"}
        Kind of indicator.
    target : float, optional
        Target on the output scale. Default: the pooled value ``Σnum / Σden`` (× multiplier)
        for proportions and rates, and 1 (× multiplier) for ratios, as PHE does.
    multiplier : float, optional
        Output scale; default 1 for proportions and ratios, 100000 for rates. PHE's funnel
        tables use 100 (per cent) for proportions.
    levels : sequence of float, default (0.95, 0.998)
        Two-sided control levels; PHE's 95 % and 99.8 % ("2 and 3 sigma").
    overdispersion : {None, "multiplicative", "additive"}
        Spiegelhalter (2005, QSHC) adjustment; None gives PHE's exact limits.
    winsor : float, default 0.1
        Fraction winsorised in each tail when estimating φ.
    grid : sequence of float, optional
        Where to evaluate the limits. Proportions, and any statistic with an adjustment: x
        values (denominators, person-years or expected counts). Rates and ratios without
        adjustment: the integer event counts at which the exact limits are traced (PHE's
        method; each gives its own x). Default: PHE's 100-point grid.
    fdr : float, optional
        False-discovery rate (e.g. 0.05) for Benjamini-Hochberg control over the units'
        funnel p-values; adds ``q_value``, ``outlier_fdr`` (bool) and ``flag_fdr``
        (``"High (FDR 5 %)"``, ``"Low (FDR 5 %)"`` or ``"Not significant"``). Default: no
        multiplicity control (PHE's flags only).

    Returns
    -------
    FunnelResult
        ``limits`` (long table) and ``units`` (z-scores, flags and ``p_value``; with
        ``fdr`` also ``q_value``, ``outlier_fdr`` and ``flag_fdr``), with φ and τ².

    Notes
    -----
    Without adjustment a unit is flagged as PHE's ``phe_funnel_significance`` does:
    proportions against the Wilson-based funnel at the unit's own denominator; ratios and
    rates by whether the unit's exact (O < 10) / Byar (O >= 10) interval excludes the
    target. With an adjustment the flag uses the adjusted z-score against normal quantiles.

    The unit's ``p_value`` is the two-sided p-value of the same test: for proportions the
    score test ``2·Φ(−|z|)`` (the test the Wilson interval inverts); for rates and ratios
    without adjustment the exact Poisson test of O against the expected count under the
    target, ``min(1, 2·min(P(X ≤ O), P(X ≥ O)))`` (the test the exact interval inverts; PHE's
    Byar approximation for O ≥ 10 can differ from it at the margin); with an adjustment
    ``2·Φ(−|z_adjusted|)``.
    """
    data = check_frame(data)
    if statistic not in ("proportion", "rate", "ratio"):
        raise InputError(f"statistic must be 'proportion', 'rate' or 'ratio', not {statistic!r}.")
    if overdispersion not in (None, "multiplicative", "additive"):
        raise InputError(
            f"overdispersion must be None, 'multiplicative' or 'additive', not {overdispersion!r}."
        )
    if not 0 <= winsor < 0.5:
        raise InputError(f"winsor must be in [0, 0.5), not {winsor!r}.")
    if fdr is not None and not 0 < fdr < 1:
        raise InputError(f"fdr must be between 0 and 1 (e.g. 0.05), not {fdr!r}.")
    lv = tuple(sorted(check_conf(c, "levels") for c in levels))
    check_columns(data, [numerator, denominator])
    num = numeric_column(data, numerator, [])
    den = numeric_column(data, denominator, [], positive=True)
    if statistic == "proportion":
        check_not_above(data, num, den, numerator, denominator, [])
    mult = float(multiplier) if multiplier is not None else _DEFAULT_MULTIPLIER[statistic]

    if statistic == "ratio":
        theta = 1.0 if target is None else float(target) / mult
    else:
        theta = num.sum() / den.sum() if target is None else float(target) / mult
    if statistic == "proportion" and not 0 < theta < 1:
        raise InputError(f"The proportion target must lie strictly between 0 and 1, not {theta}.")
    if theta <= 0:
        raise InputError(f"The target must be positive, not {theta * mult}.")

    est = num / den
    var = _unit_variance(statistic, theta, den)
    z, z_adj, phi, disp_p, tau2, phi_used = _dispersion(est, theta, var, winsor, overdispersion)
    limits = _limit_table(statistic, overdispersion, lv, theta, mult, den, grid, phi_used, tau2)

    flags = _unit_flags(statistic, overdispersion, lv, theta, est, num, den, z_adj)
    units = data.copy()
    units["numerator"] = num
    units["denominator"] = den
    units["x"] = den
    units["estimate"] = est * mult
    units["z"] = z
    units["z_adjusted"] = z_adj
    units["flag"] = pd.Series(flags, index=data.index, dtype="str")

    _p_values(units, statistic, overdispersion, theta, est, num, den, z_adj, fdr)
    return FunnelResult(
        statistic=statistic,
        target=theta * mult,
        multiplier=mult,
        limits=limits,
        units=units,
        overdispersion=overdispersion,
        phi=phi,
        tau2=tau2,
        dispersion_p=disp_p,
        levels=lv,
    )


def _dispersion(
    est: np.ndarray, theta: float, var: np.ndarray, winsor: float, overdispersion: Any
) -> tuple[np.ndarray, np.ndarray, float, float, float, float]:
    """z-scores, adjusted z-scores, φ (winsorised), its test, τ² and the φ used."""
    z = (est - theta) / np.sqrt(var)
    n_units = len(z)
    zw = np.asarray(mstats.winsorize(z, limits=(winsor, winsor)), dtype=float)
    phi = float(np.mean(zw**2)) if n_units else float("nan")
    disp_p = float(stats.chi2.sf(n_units * phi, n_units - 1)) if n_units > 1 else float("nan")
    tau2 = 0.0
    if overdispersion == "additive":
        w = 1 / var
        denom_t = w.sum() - (w**2).sum() / w.sum()
        tau2 = max(0.0, (n_units * phi - (n_units - 1)) / denom_t) if denom_t > 0 else 0.0
    phi_used = max(phi, 1.0) if overdispersion == "multiplicative" else 1.0

    if overdispersion == "multiplicative":
        z_adj = z / np.sqrt(phi_used)
    elif overdispersion == "additive":
        z_adj = (est - theta) / np.sqrt(var + tau2)
    else:
        z_adj = z.copy()
    return z, z_adj, phi, disp_p, tau2, phi_used


def _limit_table(
    statistic: str,
    overdispersion: Any,
    lv: tuple[float, ...],
    theta: float,
    mult: float,
    den: np.ndarray,
    grid: Any,
    phi_used: float,
    tau2: float,
) -> pd.DataFrame:
    """Control limits on the PHE grid (exact) or a log grid (adjusted for dispersion)."""
    # --- control limits on the grid -------------------------------------------------
    axis_x = den  # denominators, person-years or expected counts
    a_min, a_max = phe_axis(float(axis_x.min()), float(axis_x.max()))
    rows: list[dict[str, Any]] = []
    if overdispersion is None:
        if statistic == "proportion":
            xs = np.asarray(grid, float) if grid is not None else phe_grid(a_min, a_max)
            for lev in lv:
                p = lev + (1 - lev) / 2
                lo = np.maximum(0.0, _wilson_funnel(p, xs, theta, "lower"))
                hi = np.minimum(1.0, _wilson_funnel(p, xs, theta, "upper"))
                rows += _limit_rows(lev, "lower", xs, lo * mult)
                rows += _limit_rows(lev, "upper", xs, hi * mult)
        else:
            # trace the exact Poisson limits at integer event counts (PHE's method)
            if grid is not None:
                counts = np.unique(np.maximum(1, np.round(np.asarray(grid, float))))
            elif statistic == "ratio":
                counts = phe_grid(max(1.0, a_min), a_max, offset=1)
            else:
                counts = phe_grid(max(1.0, np.floor(a_min * theta)), np.ceil(a_max * theta))
            for lev in lv:
                tail = (1 - lev) / 2
                for side in ("lower", "upper"):
                    e = _poisson_expected(counts, tail, side)
                    x = e if statistic == "ratio" else e / theta
                    lim = counts / e * (1.0 if statistic == "ratio" else theta) * mult
                    rows += _limit_rows(lev, side, x, lim)
    else:
        if grid is not None:
            xs = np.asarray(grid, float)
        else:
            xs = np.geomspace(max(a_min, float(axis_x.min()) * 0.5, 1e-9), a_max, 100)
        v = _unit_variance(statistic, theta, xs)
        sd = np.sqrt(phi_used * v + tau2)
        for lev in lv:
            zq = z_value(lev)
            lo, hi = theta - zq * sd, theta + zq * sd
            if statistic == "proportion":
                lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
            else:
                lo = np.maximum(lo, 0)
            rows += _limit_rows(lev, "lower", xs, lo * mult)
            rows += _limit_rows(lev, "upper", xs, hi * mult)
    return pd.DataFrame(rows, columns=["level", "side", "x", "limit"])


def _unit_flags(
    statistic: str,
    overdispersion: Any,
    lv: tuple[float, ...],
    theta: float,
    est: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    z_adj: np.ndarray,
) -> np.ndarray:
    """Each unit's flag against the innermost and outermost level."""
    # --- unit flags ------------------------------------------------------------------
    lo_lev, hi_lev = lv[0], lv[-1]
    if overdispersion is None:
        if statistic == "proportion":
            flags = _flags(
                est,
                [
                    _wilson_funnel(lev + (1 - lev) / 2, den, theta, s)
                    for lev in (lo_lev, hi_lev)
                    for s in ("lower", "upper")
                ],
            )
        else:
            ref = theta * den if statistic == "rate" else den  # expected count under target
            bounds = []
            for lev in (lo_lev, hi_lev):
                lo_o, hi_o = poisson_limits(num, lev)
                bounds.append((lo_o, hi_o))
            flags = np.full(len(num), NOT_SIGNIFICANT, dtype=object)
            (lo1, hi1), (lo3, hi3) = bounds
            flags[hi1 < ref] = LOW_95
            flags[hi3 < ref] = LOW_998
            flags[lo1 > ref] = HIGH_95
            flags[lo3 > ref] = HIGH_998
    else:
        z1, z3 = z_value(lo_lev), z_value(hi_lev)
        flags = np.full(len(num), NOT_SIGNIFICANT, dtype=object)
        flags[z_adj < -z1] = LOW_95
        flags[z_adj < -z3] = LOW_998
        flags[z_adj > z1] = HIGH_95
        flags[z_adj > z3] = HIGH_998

    return flags


def _p_values(
    units: pd.DataFrame,
    statistic: str,
    overdispersion: Any,
    theta: float,
    est: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    z_adj: np.ndarray,
    fdr: float | None,
) -> None:
    """Add each unit's two-sided p-value and, with ``fdr``, the Benjamini-Hochberg columns."""
    # --- p-values and false-discovery-rate control --------------------------------------
    if overdispersion is None and statistic != "proportion":
        expected = theta * den if statistic == "rate" else den
        p_lo = stats.poisson.cdf(num, expected)
        p_hi = stats.poisson.sf(num - 1, expected)
        pval = np.minimum(1.0, 2 * np.minimum(p_lo, p_hi))
    else:
        pval = 2 * stats.norm.sf(np.abs(z_adj))
    units["p_value"] = pval
    if fdr is not None:
        from statsmodels.stats.multitest import multipletests

        reject, qval, _, _ = multipletests(pval, alpha=fdr, method="fdr_bh")
        units["q_value"] = qval
        units["outlier_fdr"] = reject
        tag = f"FDR {fdr * 100:g} %".replace(".", ",")
        high = est > theta
        flag_fdr = np.where(
            reject & high, f"High ({tag})", np.where(reject, f"Low ({tag})", NOT_SIGNIFICANT)
        )
        units["flag_fdr"] = pd.Series(flag_fdr, index=units.index, dtype="str")


def _limit_rows(level: float, side: str, x: np.ndarray, lim: np.ndarray) -> list[dict]:
    return [
        {"level": level, "side": side, "x": float(a), "limit": float(b)}
        for a, b in zip(np.asarray(x, float), np.asarray(lim, float), strict=True)
    ]


def _flags(est: np.ndarray, bounds: list[np.ndarray]) -> np.ndarray:
    """PHE's case_when order for proportions: low 99.8, low 95, high 99.8, high 95."""
    lo1, hi1, lo3, hi3 = bounds
    out = np.full(len(est), NOT_SIGNIFICANT, dtype=object)
    out[est > hi1] = HIGH_95
    out[est > hi3] = HIGH_998
    out[est < lo1] = LOW_95
    out[est < lo3] = LOW_998
    return out


def _draw_limits(ax: Any, res: FunnelResult, lab: dict, colour: dict) -> None:
    """The control-limit lines, one style per level."""
    styles = {
        res.levels[0]: ("--", colour["limit_inner"]),
        res.levels[-1]: ("-", colour["limit_outer"]),
    }
    for lev in res.levels:
        ls, col = styles.get(lev, (":", colour["limit_other"]))
        text = lab.get(f"limit:{lev:g}") or lab["limit"].format(level=f"{lev * 100:g}")
        for i, side in enumerate(("lower", "upper")):
            part = res.limits[(res.limits["level"] == lev) & (res.limits["side"] == side)]
            part = part.sort_values("x")
            ax.plot(
                part["x"], part["limit"], ls=ls, color=col, lw=1.3, label=text if i == 0 else None
            )


def _frame(ax: Any, res: FunnelResult) -> None:
    """Axis limits around the units and the target."""
    units = res.units
    # Frame the units, not the limits: exact limits explode as x -> 0, which would squash
    # every point onto the target line.
    est = units["estimate"].to_numpy(float)
    est = est[np.isfinite(est)]
    if est.size:
        lo_y = min(est.min(), res.target)
        hi_y = max(est.max(), res.target)
        pad = 0.15 * (hi_y - lo_y or abs(res.target) or 1.0)
        ax.set_ylim(max(lo_y - pad, 0.0) if lo_y >= 0 else lo_y - pad, hi_y + pad)
        ax.set_xlim(0, float(units["x"].max()) * 1.05)


def funnel_plot(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    label: str | None = None,
    highlight: Any | Sequence[Any] | None = None,
    statistic: Statistic = "proportion",
    target: float | None = None,
    multiplier: float | None = None,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: Overdispersion = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    ax: Any = None,
    result: FunnelResult | None = None,
    fdr: float | None = None,
    labels: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
):
    """Draw a funnel plot: units, target line, control limits and a highlighted unit.

    Parameters
    ----------
    data, numerator, denominator, statistic, target, multiplier, levels, overdispersion
        As for :func:`funnel_limits` (ignored when ``result`` is given).
    label : str, optional
        Column naming each unit (used to find and annotate ``highlight``).
    highlight : scalar or sequence, optional
        Value(s) of ``label`` to highlight (e.g. the user's kommune); drawn in vermillion
        and annotated with the label text.
    title, xlabel, ylabel : str, optional
        Texts (any language; any Unicode). Default axis texts come from ``labels``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is created otherwise.
    result : FunnelResult, optional
        Precomputed limits.
    fdr : float, optional
        Ring the units that are outliers after Benjamini-Hochberg false-discovery-rate
        control at this rate (see :func:`funnel_limits`; also honoured for a ``result``
        computed with ``fdr``).
    labels : mapping, optional
        Legend and axis texts overriding :data:`FUNNEL_LABELS` (reports pass
        :func:`nsv_eval.report.narrative.funnel.plot_labels`).
    colors : mapping, optional
        Colours overriding :data:`FUNNEL_COLORS` (keys ``limit_inner``, ``limit_outer``,
        ``limit_other``, ``target``, ``unit``, ``edge``, ``highlight``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    res = result or funnel_limits(
        data,
        numerator,
        denominator,
        statistic=statistic,
        target=target,
        multiplier=multiplier,
        levels=levels,
        overdispersion=overdispersion,
        fdr=fdr,
    )
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 5))
    else:
        fig = ax.figure
    lab = {**FUNNEL_LABELS, **(labels or {})}
    colour = {**FUNNEL_COLORS, **(colors or {})}
    _draw_limits(ax, res, lab, colour)
    ax.axhline(res.target, color=colour["target"], lw=1.2, label=lab["target"])
    units = res.units
    is_hi = np.zeros(len(units), dtype=bool)
    if highlight is not None:
        if label is None:
            raise InputError("highlight needs label= naming the column that identifies units.")
        check_columns(units, [label])
        wanted = [highlight] if np.isscalar(highlight) else list(highlight)
        is_hi = units[label].isin(wanted).to_numpy()
        if not is_hi.any():
            raise InputError(f"highlight {highlight!r} not found in column {label!r}.")
    ax.scatter(
        units.loc[~is_hi, "x"],
        units.loc[~is_hi, "estimate"],
        s=22,
        color=colour["unit"],
        edgecolor=colour["edge"],
        linewidth=0.3,
        zorder=3,
    )
    if "outlier_fdr" in units and units["outlier_fdr"].any():
        out = units.loc[units["outlier_fdr"].astype(bool)]
        tag = units.loc[out.index[0], "flag_fdr"].split("(")[-1].rstrip(")")
        ax.scatter(
            out["x"],
            out["estimate"],
            s=110,
            facecolors="none",
            edgecolors=colour["edge"],
            linewidth=1.1,
            zorder=5,
            label=lab["fdr"].format(tag=tag),
        )
    if is_hi.any():
        hi_units = units.loc[is_hi]
        ax.scatter(
            hi_units["x"],
            hi_units["estimate"],
            s=70,
            color=colour["highlight"],
            edgecolor=colour["edge"],
            linewidth=0.6,
            zorder=4,
        )
        for _, row in hi_units.iterrows():
            ax.annotate(
                str(row[label]),
                (row["x"], row["estimate"]),
                xytext=(6, 6),
                textcoords="offset points",
                color=colour["highlight"],
                fontweight="bold",
            )
    ax.set_xlabel(xlabel or lab[f"x_{res.statistic}"])
    ax.set_ylabel(ylabel or lab[f"y_{res.statistic}"])
    if title:
        ax.set_title(title)
    _frame(ax, res)
    ax.legend(frameon=False, fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


__all__ = [
    "FUNNEL_COLORS",
    "FUNNEL_LABELS",
    "FunnelResult",
    "funnel_limits",
    "funnel_plot",
    "phe_axis",
    "phe_grid",
]
