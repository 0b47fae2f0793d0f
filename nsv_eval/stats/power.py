"""Minimum detectable effect (MDE) and power of the effect designs.

"Can this evaluation answer anything at all?" A null result from a kommune of 48,000 people
means little unless the report also says how large an effect the data could have shown.
This module answers it three ways:

* **From an estimate's standard error** (:func:`mde_from_se`, :func:`power_from_se`): the
  smallest true effect that a two-sided test at level ``alpha`` detects with probability
  ``power`` is ``(z_{1-alpha/2} + z_{power}) * SE`` (Bloom 1995), on the scale the design
  estimates on (log rate ratio, additive ATT). This is what every effect section of a report
  shows next to its estimate.
* **Closed form before data exist**, where one is honest: an interrupted time series of a
  quasi-Poisson count (:func:`its_mde`, from the Fisher information of the segmented model
  with trend and Fourier seasonality, scaled by the dispersion); a cohort comparison of two
  risks (:func:`cohort_mde`, log risk ratio with a design effect for weighting).
* **By simulation** where no closed form is honest: a staggered panel of kommuner with
  unequal sizes, over-dispersed counts and clustered errors (:func:`did_panel_power`,
  :func:`did_panel_mde`), for the Poisson DiD (:func:`nsv_eval.stats.poisson_did`) and
  Callaway & Sant'Anna (:func:`nsv_eval.stats.did`).

``tests/test_power.py`` checks by simulation that an effect of the MDE's size is detected
about 80 % of the time, for each of the three routes.

Reference: Bloom, H. S. (1995). Minimum detectable effects: a simple way to report the
statistical power of experimental designs. *Evaluation Review* 19(5), 547-556.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.stats.designs.did import did
from nsv_eval.stats.designs.poisson_did import poisson_did

__all__ = [
    "MDE",
    "cohort_mde",
    "did_panel_mde",
    "did_panel_power",
    "its_mde",
    "mde_from_se",
    "mde_from_ci",
    "panel_baseline",
    "power_from_se",
    "series_inputs",
    "simulate_panel",
    "years_needed",
]


def _multiplier(alpha: float, power: float, df: float | None = None) -> float:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha!r}, {power!r}")
    if df is None or not np.isfinite(df):
        return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return float(stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df))


@dataclass(frozen=True)
class MDE:
    """A minimum detectable effect.

    Attributes
    ----------
    mde : float
        Size on the estimation scale (log ratio for ``scale="log"``, else additive units).
    se : float
        Standard error it is based on.
    alpha, power : float
        Two-sided test level and power.
    scale : {"log", "additive"}
        ``"log"``: a ratio design (rate/risk ratio); ``"additive"``: a difference.
    method : str
        How it was obtained (``"se"``, ``"closed form"``, ``"simulation"``).
    """

    mde: float
    se: float
    alpha: float = 0.05
    power: float = 0.8
    scale: Literal["log", "additive"] = "log"
    method: str = "se"

    @property
    def ratio_decrease(self) -> float:
        """Smallest detectable reduction as a ratio (log scale only): ``exp(-mde)``."""
        return float(np.exp(-self.mde)) if self.scale == "log" else float("nan")

    @property
    def ratio_increase(self) -> float:
        """Smallest detectable increase as a ratio (log scale only): ``exp(mde)``."""
        return float(np.exp(self.mde)) if self.scale == "log" else float("nan")

    @property
    def pct_decrease(self) -> float:
        """The detectable reduction in per cent (log scale only)."""
        return 100 * (1 - self.ratio_decrease)

    def to_dict(self) -> dict[str, float | str]:
        """Flat, JSON-ready fields (``mde``, ``mde_ratio``, ``mde_pct``, ``mde_power``, ...)."""
        out: dict[str, float | str] = {
            "mde": float(self.mde),
            "mde_se": float(self.se),
            "mde_alpha": self.alpha,
            "mde_power": self.power,
            "mde_scale": self.scale,
            "mde_method": self.method,
        }
        if self.scale == "log":
            out["mde_ratio"] = self.ratio_decrease
            out["mde_pct_decrease"] = self.pct_decrease
        return out


def mde_from_se(
    se: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    scale: Literal["log", "additive"] = "log",
    df: float | None = None,
) -> MDE:
    """Minimum detectable effect from a standard error (Bloom 1995).

    Parameters
    ----------
    se : float
        Standard error of the estimate on its estimation scale (log ratio or additive).
    alpha : float
        Two-sided significance level.
    power : float
        Wanted power.
    scale : {"log", "additive"}
        The estimation scale.
    df : float, optional
        Degrees of freedom for t quantiles (e.g. clusters - 1); None = normal.

    Returns
    -------
    MDE
    """
    se = float(se)
    if not np.isfinite(se) or se <= 0:
        return MDE(float("nan"), se, alpha, power, scale, "se")
    return MDE(_multiplier(alpha, power, df) * se, se, alpha, power, scale, "se")


def mde_from_ci(
    lower: float, upper: float, *, conf: float = 0.95, ratio: bool = True, **kwargs
) -> MDE:
    """:func:`mde_from_se` with the SE recovered from a Wald interval (log scale if ``ratio``)."""
    z = stats.norm.ppf(0.5 + conf / 2)
    if ratio:
        if not (lower > 0 and upper > 0):
            return MDE(float("nan"), float("nan"), scale="log")
        se = (np.log(upper) - np.log(lower)) / (2 * z)
        return mde_from_se(se, scale="log", **kwargs)
    return mde_from_se((upper - lower) / (2 * z), scale="additive", **kwargs)


def power_from_se(effect: float, se: float, *, alpha: float = 0.05) -> float:
    """Power of a two-sided Wald test at level ``alpha`` to detect ``effect`` given ``se``."""
    z = stats.norm.ppf(1 - alpha / 2)
    d = abs(effect) / se
    return float(stats.norm.sf(z - d) + stats.norm.cdf(-z - d))


# --------------------------------------------------------------------------------------
# interrupted time series: closed form from the Fisher information
# --------------------------------------------------------------------------------------
def its_design(
    n_pre: int, n_post: int, *, n_harmonics: int = 2, period: float = 12, slope_change: bool = False
) -> np.ndarray:
    """The design matrix of :func:`nsv_eval.stats.its`: intercept, trend, Fourier, step.

    Columns: intercept, time, ``n_harmonics`` sine/cosine pairs, level change (last, or
    second last before the slope change when ``slope_change``).
    """
    n = n_pre + n_post
    t = np.arange(n, dtype=float)
    cols = [np.ones(n), t]
    for k in range(1, n_harmonics + 1):
        cols += [np.sin(2 * np.pi * k * t / period), np.cos(2 * np.pi * k * t / period)]
    post = (t >= n_pre).astype(float)
    cols.append(post)
    if slope_change:
        cols.append((t - n_pre) * post)
    return np.column_stack(cols)


def its_mde(
    n_pre: int,
    n_post: int,
    events_per_period: float,
    *,
    trend: float = 0.0,
    season_amplitude: float = 0.0,
    dispersion: float = 1.0,
    n_harmonics: int = 2,
    period: float = 12,
    alpha: float = 0.05,
    power: float = 0.8,
) -> MDE:
    """Minimum detectable level change (rate ratio) of a quasi-Poisson interrupted time series.

    Closed form: the variance of the level-change coefficient is ``dispersion`` times the
    corresponding element of the inverse Fisher information ``(X' W X)^{-1}`` of the
    segmented Poisson model (``W`` = expected counts), with ``X`` as in
    :func:`nsv_eval.stats.its` (trend, Fourier seasonality, level change). t quantiles with
    the residual degrees of freedom (quasi-likelihood); the information is evaluated under
    the alternative (a reduction, ``ratio_decrease``). Ignores autocorrelation beyond
    seasonality (check the ITS diagnostics).

    Parameters
    ----------
    n_pre, n_post : int
        Periods (months) before and after the start.
    events_per_period : float
        Expected events per period at the start of the series (e.g. fall injuries a month).
    trend : float
        Log-linear trend per period of the expected count (e.g. growth of the 65+ population).
    season_amplitude : float
        Relative amplitude of an annual cycle of the expected count (0.1 = ±10 %).
    dispersion : float
        Quasi-Poisson dispersion (variance / mean; 1 = Poisson).
    n_harmonics, period
        Fourier terms of the model, as in :func:`nsv_eval.stats.its`.
    alpha, power : float
        Two-sided level and wanted power.

    Returns
    -------
    MDE
        On the log scale (``ratio_decrease`` is the detectable rate ratio below 1).
    """
    if n_pre < 2 * n_harmonics + 3 or n_post < 1:
        raise ValueError(
            f"its_mde: need at least {2 * n_harmonics + 3} periods before and 1 after the start"
        )
    if events_per_period <= 0:
        raise ValueError("events_per_period must be positive")
    x = its_design(n_pre, n_post, n_harmonics=n_harmonics, period=period)
    t = np.arange(n_pre + n_post)
    mu0 = (
        events_per_period
        * np.exp(trend * t)
        * (1 + season_amplitude * np.cos(2 * np.pi * t / period))
    )
    df = len(t) - x.shape[1]
    mult = _multiplier(alpha, power, df)
    # the information is evaluated under the alternative (post-period counts reduced by the
    # MDE itself), so iterate to the fixed point
    m = 0.0
    for _ in range(200):
        mu = mu0 * np.where(t >= n_pre, np.exp(-m), 1.0)
        info = x.T @ (x * mu[:, None])
        try:
            var = float(np.linalg.inv(info)[-1, -1]) * max(dispersion, 1e-12)
        except np.linalg.LinAlgError:
            var = float("inf")
        new = mult * np.sqrt(var)
        if not np.isfinite(new) or new > 10:
            # no fixed point: even removing (almost) every event would not be detected
            return MDE(float("inf"), float("inf"), alpha, power, "log", "closed form")
        if abs(new - m) < 1e-10:
            break
        m = new
    return MDE(float(m), float(np.sqrt(var)), alpha, power, "log", "closed form")


# --------------------------------------------------------------------------------------
# cohort comparison: closed form for a log risk ratio
# --------------------------------------------------------------------------------------
def cohort_mde(
    n_treated: float,
    n_control: float,
    risk_control: float,
    *,
    design_effect: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    direction: Literal["decrease", "increase"] = "decrease",
) -> MDE:
    """Minimum detectable risk ratio of a two-group cohort comparison.

    Var(log RR) = (1 - p1)/(n1 p1) + (1 - p0)/(n0 p0) (delta method) with ``p1 = RR p0``,
    solved for the RR whose Wald test has the wanted power (fixed-point iteration: the
    variance depends on the unknown p1). ``design_effect`` inflates the variance for
    weighting or matching (Kish: 1 + CV² of the weights; 1 = simple random comparison).
    With few expected events among the treated (below about 50) the delta method is
    conservative: the true power at the MDE is somewhat above the nominal one.

    Parameters
    ----------
    n_treated, n_control : float
        Persons in each group (e.g. participants and comparable non-participants).
    risk_control : float
        Outcome risk in the comparison group over follow-up (e.g. 0.05 for 5 %).
    design_effect : float
        Variance inflation for weights.
    alpha, power : float
    direction : {"decrease", "increase"}
        Which side's MDE is returned (the variance differs slightly with p1).

    Returns
    -------
    MDE
        On the log scale (``mde`` = |log RR|).
    """
    if n_treated <= 0 or n_control <= 0 or not 0 < risk_control < 1:
        raise ValueError("cohort_mde: group sizes must be positive and risk_control in (0, 1)")
    mult = _multiplier(alpha, power)
    p0 = risk_control
    sign = -1.0 if direction == "decrease" else 1.0
    m = 0.0
    for _ in range(200):
        p1 = min(p0 * np.exp(sign * m), 1 - 1e-9)
        var = ((1 - p1) / (n_treated * p1) + (1 - p0) / (n_control * p0)) * design_effect
        new = mult * np.sqrt(var)
        if not np.isfinite(new) or new > 10:
            # no fixed point: even preventing (almost) every event would not be detected
            return MDE(float("inf"), float("inf"), alpha, power, "log", "closed form")
        if abs(new - m) < 1e-12:
            break
        m = new
    return MDE(float(m), float(np.sqrt(var)), alpha, power, "log", "closed form")


# --------------------------------------------------------------------------------------
# staggered DiD panels: simulation
# --------------------------------------------------------------------------------------
def panel_baseline(
    panel: pd.DataFrame,
    *,
    count: str = "count",
    exposure: str = "person_years",
    unit: str = "kommune_code",
    time: str = "year",
) -> tuple[pd.Series, float]:
    """Expected counts without any effect, and the extra-Poisson dispersion, of a real panel.

    Fits the two-way Poisson model ``count ~ unit + year`` with log exposure offset (no
    treatment terms; statsmodels GLM with dummies, a small model) and returns its fitted means and the Pearson
    dispersion ``sum((y - mu)² / mu) / (n - k)``: the template for :func:`simulate_panel`.
    """
    import statsmodels.api as sm

    d = panel[[count, exposure, unit, time]].reset_index(drop=True)
    x = pd.get_dummies(d[[unit, time]].astype(str), drop_first=True, dtype=float)
    x.insert(0, "const", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sm.GLM(
            d[count].to_numpy(dtype=float),
            x.to_numpy(),
            family=sm.families.Poisson(),
            offset=np.log(d[exposure].to_numpy(dtype=float)),
        ).fit()
    mu = pd.Series(np.asarray(m.fittedvalues, dtype=float), index=panel.index)
    y = d[count].to_numpy(dtype=float)
    phi = float(np.sum((y - mu.to_numpy()) ** 2 / mu.to_numpy()) / max(len(y) - x.shape[1], 1))
    return mu, phi


def simulate_panel(
    template: pd.DataFrame,
    mu0: np.ndarray | pd.Series,
    rate_ratio: float,
    rng: np.random.Generator,
    *,
    dispersion: float = 1.0,
    unit: str = "kommune_code",
    time: str = "year",
    first_treated: str = "first_treated",
    exposure: str = "person_years",
    per: float = 1000,
) -> pd.DataFrame:
    """One simulated panel: the template's units, periods, cohorts and person-time, with counts.

    ``count ~ Gamma-Poisson(mu0 * RR^{treated})`` with variance ``dispersion * mean`` (pure
    Poisson when ``dispersion <= 1``); ``rate`` per ``per`` person-years is recomputed.
    """
    d = template[[unit, time, first_treated, exposure]].copy()
    mu = np.asarray(mu0, dtype=float).copy()
    g = d[first_treated].to_numpy()
    treated = (g > 0) & (d[time].to_numpy() >= g)
    mu[treated] *= rate_ratio
    if dispersion > 1.0 + 1e-9:
        shape = mu / (dispersion - 1.0)
        lam = rng.gamma(shape, (dispersion - 1.0))
    else:
        lam = mu
    d["count"] = rng.poisson(lam)
    d["rate"] = d["count"] / d[exposure] * per
    return d


def _fit_design(
    d: pd.DataFrame,
    design: str,
    unit: str,
    time: str,
    first_treated: str,
    exposure: str,
    control: Literal["never", "notyet"],
) -> tuple[float, float, float, float]:

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design == "poisson":
            r = poisson_did(
                d,
                "count",
                unit,
                time,
                first_treated,
                exposure=exposure,
                control=control,
                pretest=False,
                n_sim=200,
            )
            m = r.main_effect()
            df = float(m["df"]) if "df" in m.index else float("inf")
            return float(m["log_estimate"]), float(m["se"]), float(m["p_value"]), df
        cs = did(d, "rate", unit, time, first_treated, control=control)
        m = cs.main_effect()
        return float(m["estimate"]), float(m["se"]), float(m["p_value"]), float("inf")


def did_panel_power(
    template: pd.DataFrame,
    rate_ratio: float,
    *,
    design: Literal["poisson", "cs"] = "poisson",
    n_sim: int = 100,
    seed: int = 1,
    alpha: float = 0.05,
    dispersion: float | None = None,
    mu0: pd.Series | None = None,
    unit: str = "kommune_code",
    time: str = "year",
    first_treated: str = "first_treated",
    exposure: str = "person_years",
    control: Literal["never", "notyet"] = "notyet",
) -> dict[str, float]:
    """Power of a staggered DiD to detect a planted rate ratio, by simulation.

    Each draw keeps the template's kommuner, periods, cohorts and person-years, draws counts
    from the template's two-way baseline (:func:`panel_baseline`) times ``rate_ratio`` in
    treated kommune-years, with the template's extra-Poisson dispersion, and fits the design
    (``"poisson"``: :func:`~nsv_eval.stats.poisson_did`; ``"cs"``: Callaway & Sant'Anna on
    the rate per 1,000). Power is the share of draws whose two-sided test rejects "no
    effect" at ``alpha``.

    Returns
    -------
    dict
        ``power``, ``n_sim``, ``mean_estimate``, ``sd_estimate``, ``mean_se``,
        ``median_df`` (the test's t degrees of freedom; infinite = normal), ``coverage``
        (share of intervals covering the planted effect: log RR for Poisson; for CS the
        planted additive effect is not defined, so NaN), ``dispersion``.
    """
    if mu0 is None or dispersion is None:
        mu_fit, phi = panel_baseline(template, unit=unit, time=time, exposure=exposure)
        mu0 = mu_fit if mu0 is None else mu0
        dispersion = phi if dispersion is None else dispersion
    rng = np.random.default_rng(seed)
    z = stats.norm.ppf(1 - alpha / 2)
    est, ses, rej, cov, dfs = [], [], [], [], []
    for _ in range(n_sim):
        d = simulate_panel(
            template,
            mu0,
            rate_ratio,
            rng,
            dispersion=dispersion,
            unit=unit,
            time=time,
            first_treated=first_treated,
            exposure=exposure,
        )
        try:
            e, s, p, df = _fit_design(d, design, unit, time, first_treated, exposure, control)
        except Exception:  # a degenerate draw (e.g. a cohort without events) counts as a miss
            e, s, p, df = np.nan, np.nan, 1.0, np.nan
        est.append(e)
        ses.append(s)
        dfs.append(df)
        rej.append(p < alpha)
        if design == "poisson" and np.isfinite(e):
            # the design's own interval: t on its degrees of freedom (normal when infinite)
            crit = stats.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else z
            cov.append(abs(e - np.log(rate_ratio)) <= crit * s)
    est_a = np.array(est, float)
    return dict(
        power=float(np.mean(rej)),
        n_sim=n_sim,
        mean_estimate=float(np.nanmean(est_a)),
        sd_estimate=float(np.nanstd(est_a, ddof=1)),
        mean_se=float(np.nanmean(ses)),
        median_df=float(np.nanmedian(dfs)) if np.isfinite(dfs).any() else float("inf"),
        coverage=float(np.mean(cov)) if cov else float("nan"),
        dispersion=float(dispersion),
    )


def did_panel_mde(
    template: pd.DataFrame,
    *,
    n_sim: int = 100,
    seed: int = 1,
    alpha: float = 0.05,
    power: float = 0.8,
    **kwargs,
) -> MDE:
    """Minimum detectable rate ratio of the Poisson DiD on a panel like ``template``, by simulation.

    Simulates ``n_sim`` panels without effect (:func:`did_panel_power` with rate ratio 1)
    and takes the standard deviation of the estimated log rate ratios as the true sampling
    SD (it includes the kommune-level over-dispersion and the unequal kommune sizes, which
    a closed form would have to assume away). The test rejects when the estimate exceeds
    its critical value times its *estimated* SE (small-sample CR3 with t on Bell–McCaffrey
    degrees of freedom, :func:`~nsv_eval.stats.poisson_did`), so
    MDE = t_{1-alpha/2, df} x mean SE + z_power x SD (Bloom 1995's formula with the test's
    own critical value and standard error; equal to (z + z_power) x SD for a normal test
    with an unbiased SE).
    """
    r = did_panel_power(
        template, 1.0, design="poisson", n_sim=n_sim, seed=seed, alpha=alpha, **kwargs
    )
    sd, se, df = r["sd_estimate"], r["mean_se"], r["median_df"]
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha!r}, {power!r}")
    crit = stats.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else stats.norm.ppf(1 - alpha / 2)
    mde = float(crit * se + stats.norm.ppf(power) * sd)
    return MDE(mde, sd, alpha, power, "log", "simulation")


def years_needed(mde_fn, target_ratio: float, candidates: Sequence[int]) -> int | None:
    """The first of ``candidates`` (e.g. years of follow-up) whose MDE ratio reaches ``target_ratio``.

    ``mde_fn(c)`` returns an :class:`MDE`; a reduction to ``target_ratio`` (< 1) is
    detectable when ``MDE.ratio_decrease >= target_ratio``. None if none of them reaches it.
    """
    for c in candidates:
        if mde_fn(c).ratio_decrease >= target_ratio:
            return c
    return None


def series_inputs(
    series: pd.DataFrame,
    *,
    count: str = "count",
    exposure: str | None = "person_years",
    month: str = "month",
    last_months: int = 36,
) -> dict[str, float]:
    """The inputs of :func:`its_mde` read off an observed monthly series.

    Fits a quasi-Poisson model with a linear trend and one annual sine/cosine pair
    (statsmodels GLM; log exposure offset when given) to the whole series and returns the
    mean events per month over the last ``last_months`` months (``events_per_period``), the
    trend per month of the expected count, the relative seasonal amplitude and the Pearson
    dispersion (at least 1).
    """
    import statsmodels.api as sm

    s = series.reset_index(drop=True)
    if len(s) < 24:
        raise ValueError("series_inputs: at least 24 months are needed")
    t = np.arange(len(s), dtype=float)
    m = s[month].to_numpy(dtype=float)
    x = np.column_stack(
        [np.ones(len(s)), t, np.sin(2 * np.pi * m / 12), np.cos(2 * np.pi * m / 12)]
    )
    off = np.log(s[exposure].to_numpy(dtype=float)) if exposure else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(
            s[count].to_numpy(dtype=float), x, family=sm.families.Poisson(), offset=off
        ).fit(scale="X2")
    b = np.asarray(fit.params)
    growth = 0.0
    if exposure:
        e = s[exposure].to_numpy(dtype=float)
        growth = float(np.polyfit(t, np.log(e), 1)[0])
    return dict(
        events_per_period=float(s[count].tail(last_months).mean()),
        trend=float(b[1] + growth),
        season_amplitude=float(np.hypot(b[2], b[3])),
        dispersion=float(max(fit.scale, 1.0)),
    )
