"""Interrupted time series: segmented regression with seasonality, overdispersion and HAC errors.

The model follows Lopez Bernal, Cummins & Gasparrini (2017), "Interrupted time series
regression for the evaluation of public health interventions: a tutorial", *Int J Epidemiol*
46(1):348-355 (doi:10.1093/ije/dyw098)::

    g(E[y_t]) = b0 + b1 * time + b2 * post_t [+ b3 * (time - start) * post_t]
                + Fourier(season) [+ log(offset_t)]

``post_t`` is 1 from the first period after the intervention. ``b2`` is the level change at
the start (a rate ratio ``exp(b2)`` for count families), ``b3`` the change in slope per time
unit. Seasonality enters as ``n_harmonics`` sine/cosine pairs of ``season_col`` with the given
``period`` (as ``tsModel::harmonic`` in the tutorial's R code). The regression is a statsmodels
GLM; quasi-Poisson scales the covariance by the Pearson chi2/df, negative binomial estimates
its dispersion by maximum likelihood first, and Newey–West (HAC) standard errors are available
for residual autocorrelation.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.errors import InputError
from nsv_eval.stats.designs.base import EffectResult

__all__ = ["ITSResult", "its", "time_index"]

COUNT_FAMILIES = ("poisson", "quasipoisson", "negbin")
FAMILIES = (*COUNT_FAMILIES, "gaussian")


# --------------------------------------------------------------------------------------
# time handling
# --------------------------------------------------------------------------------------
def _time_mode(s: pd.Series) -> str:
    if isinstance(s.dtype, pd.PeriodDtype):
        return "period"
    if pd.api.types.is_datetime64_any_dtype(s):
        if s.isna().any():
            raise InputError("time has missing dates")
        if s.dt.day.nunique() == 1 or (s + pd.offsets.Day(1)).dt.day.eq(1).all():
            return "month"
        return "day"
    return "number"


def _to_index(s: pd.Series, mode: str) -> np.ndarray:
    if mode == "period":
        return s.map(lambda p: p.ordinal).to_numpy(dtype=float)
    if mode == "month":
        return (s.dt.year * 12 + s.dt.month - 1).to_numpy(dtype=float)
    if mode == "day":
        return ((s - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    num = pd.to_numeric(s, errors="coerce")
    if num.isna().any():
        bad = s[num.isna()].index[0]
        raise InputError(f"time value {s[bad]!r} (row {bad}) is neither a number nor a date")
    return num.to_numpy(dtype=float)


def time_index(values: pd.Series | np.ndarray | list) -> np.ndarray:
    """Numeric time index for ITS: ints/floats as is; monthly dates as months since year 0.

    Datetimes that all fall on the same day of the month (e.g. month starts) or on month
    ends are counted in months (``year * 12 + month - 1``), other datetimes in days; pandas
    Periods use their ordinal (months for monthly periods).
    """
    s = pd.Series(values)
    return _to_index(s, _time_mode(s))


def _scalar_time(value: Any, like: pd.Series) -> float:
    """Convert ``intervention_start`` to the numeric scale of the time column ``like``."""
    mode = _time_mode(like)
    if mode == "period":
        return float(pd.Period(value, freq=like.dtype.freq).ordinal)
    if mode in ("month", "day"):
        return float(_to_index(pd.Series([pd.Timestamp(value)]), mode)[0])
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"intervention_start {value!r} is not on the scale of the time column (numbers)"
        ) from None


def fourier_terms(x: np.ndarray, n_harmonics: int, period: float) -> pd.DataFrame:
    """``n_harmonics`` pairs of sin/cos of ``2*pi*k*x/period`` (as ``tsModel::harmonic``)."""
    cols = {}
    for k in range(1, n_harmonics + 1):
        cols[f"sin{k}"] = np.sin(2 * np.pi * k * x / period)
        cols[f"cos{k}"] = np.cos(2 * np.pi * k * x / period)
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class ITSResult(EffectResult):
    """Result of :func:`its`: level (and slope) change, counterfactual and diagnostics.

    Attributes
    ----------
    model : statsmodels GLMResults
        The fitted segmented regression.
    family, outcome, intervention_start, n_pre, n_post
        The call and the number of periods before/after the start.
    interval : {"t", "z"}
        Reference distribution of the intervals; ``df_resid`` its degrees of freedom.
    dispersion : float
        Pearson chi2/df; ``negbin_alpha`` the NB2 dispersion (``negbin`` only).
    durbin_watson, acf1, ljung_box_lag, ljung_box_p, autocorrelation_flag
        Residual autocorrelation diagnostics (flag: Ljung-Box p < 0.05 or DW outside
        1.5-2.5).
    hac_lags, slope_change
        Newey-West lags (None: model-based SE) and whether a slope change was fitted.
    post : numpy.ndarray
        Boolean mask of the post-intervention periods, in time order.
    call : dict
        The keyword arguments of the call (to refit, e.g. placebo starts).
    data : pandas.DataFrame
        The data as passed.
    start_date : pandas.Timestamp, optional
        Calendar roll-out date when the caller knows it (``intervention_start`` is the
        first post period); not set by :func:`its`.
    """

    model: Any
    family: str
    outcome: str
    intervention_start: Any
    n_pre: int
    n_post: int
    interval: str
    df_resid: float
    dispersion: float
    negbin_alpha: float | None
    durbin_watson: float
    acf1: float
    ljung_box_lag: int
    ljung_box_p: float
    autocorrelation_flag: bool
    hac_lags: int | None
    slope_change: bool
    post: np.ndarray
    call: dict[str, Any]
    data: pd.DataFrame
    counterfactual_frame: pd.DataFrame = field(repr=False)
    start_date: pd.Timestamp | None = None

    def counterfactual(self) -> pd.DataFrame:
        """Observed, fitted and counterfactual series.

        Returns
        -------
        pandas.DataFrame
            ``time`` (original values), ``observed``, ``fitted`` and ``counterfactual`` (the
            model's mean with the intervention terms set to 0; seasonality and offset kept),
            with ``counterfactual_lower``/``_upper`` (pointwise confidence limits) and, when an
            offset was given, ``offset``. Count families are on the count scale.
        """
        return self.counterfactual_frame.copy()

    def plot(
        self,
        ax=None,
        *,
        per: float | None = 100_000,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Observed points, fitted line, dashed counterfactual and a line at the start.

        With an offset the series are drawn as rates per ``per`` (e.g. per 100,000).
        ``labels`` (keys ``observed``, ``fitted``, ``counterfactual``, ``time``, ``rate``,
        ``title``; :func:`nsv_eval.report.narrative.its.plot_labels` gives them in a report
        language) and ``colors`` (keys ``observed``, ``fitted``, ``counterfactual``,
        ``start``) override the defaults (colour-cycle entries ``"C0"``...).
        """
        import matplotlib.pyplot as plt

        lab = {**PLOT_LABELS, **(labels or {})}
        col = {**PLOT_COLORS, **(colors or {})}
        cf = self.counterfactual()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5))
        scale = np.ones(len(cf))
        if "offset" in cf.columns and per:
            scale = per / cf["offset"].to_numpy()
        xs = cf["time"]
        if isinstance(xs.dtype, pd.PeriodDtype):
            xs = xs.dt.to_timestamp()
        x = xs.to_numpy()
        post = self.post
        obs, fit = cf["observed"].to_numpy() * scale, cf["fitted"].to_numpy() * scale
        cfv = cf["counterfactual"].to_numpy() * scale
        cfl = cf["counterfactual_lower"].to_numpy() * scale
        cfu = cf["counterfactual_upper"].to_numpy() * scale
        ax.plot(x, obs, "o", ms=4, color=col["observed"], label=lab["observed"])
        ax.plot(x, fit, "-", color=col["fitted"], label=lab["fitted"])
        ax.plot(x[post], cfv[post], "--", color=col["counterfactual"], label=lab["counterfactual"])
        ax.fill_between(
            x[post], cfl[post], cfu[post], color=col["counterfactual"], alpha=0.15, lw=0
        )
        ax.axvline(x[post][0], color=col["start"], ls=":", lw=1)
        ylab = self.outcome
        if "offset" in cf.columns and per:
            ylab = lab["rate"].format(per=per)
        ax.set_ylabel(ylab)
        ax.set_xlabel(lab["time"])
        ax.set_title(lab["title"])
        ax.legend(frameon=False)
        return ax.figure


PLOT_LABELS: dict[str, str] = {
    "observed": "observed",
    "fitted": "fitted",
    "counterfactual": "counterfactual",
    "time": "time",
    "rate": "rate per {per:,.0f}",
    "title": "ITS",
}
"""Default (label-only) texts of :meth:`ITSResult.plot`; reports pass their own."""

PLOT_COLORS: dict[str, str] = {
    "observed": "C9",
    "fitted": "C0",
    "counterfactual": "C3",
    "start": "C6",
}
"""Default colours of :meth:`ITSResult.plot`: entries of the rcParams colour cycle."""


# --------------------------------------------------------------------------------------
# estimator
# --------------------------------------------------------------------------------------
def its(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    intervention_start: Any,
    *,
    offset: str | None = None,
    season_col: str | None = None,
    n_harmonics: int = 2,
    period: float = 12,
    family: Literal["poisson", "quasipoisson", "negbin", "gaussian"] = "quasipoisson",
    slope_change: bool = False,
    hac_lags: int | None = None,
    conf: float = 0.95,
    interval: Literal["auto", "t", "z"] = "auto",
) -> ITSResult:
    """Segmented regression for an interrupted time series (Lopez Bernal et al. 2017).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per period.
    outcome : str
        Count (count families) or continuous outcome (gaussian).
    time : str
        Period column: ints/floats, dates (monthly dates are counted in months) or Periods.
    intervention_start : scalar
        First value of ``time`` after the intervention (same type as ``time``).
    offset : str, optional
        Population/person-time column; its log is the offset (count families only).
    season_col : str, optional
        Column for Fourier seasonality, e.g. the month number 1-12; a date column uses its
        month.
    n_harmonics, period : int, float
        Number of sine/cosine pairs and their period (12 for months).
    family : {"poisson", "quasipoisson", "negbin", "gaussian"}
        Quasi-Poisson scales the variance by the Pearson chi2/df; ``negbin`` is NB2 with the
        dispersion estimated by maximum likelihood.
    slope_change : bool
        Add a change in slope, ``(time - start) * post``; the level term is then the change
        at the first post-intervention period.
    hac_lags : int, optional
        Newey-West (HAC) standard errors with this many lags.
    conf : float
        Confidence level of the Wald intervals.
    interval : {"auto", "t", "z"}
        Reference distribution of the Wald intervals and p-values. ``"auto"``: Student t
        with the residual degrees of freedom when the dispersion is estimated
        (``quasipoisson``, ``gaussian``) — as R's ``summary.glm`` does for quasi families,
        since the estimated scale adds uncertainty that matters in short series — and the
        normal for ``poisson`` and ``negbin`` (dispersion fixed or estimated jointly by
        maximum likelihood). ``"z"`` gives normal limits for every family (R's
        ``confint.default`` and ``Epi::ci.lin``, used in the tutorial of Lopez Bernal et al.
        2017), ``"t"`` t limits for every family.

    Returns
    -------
    ITSResult
        ``.table()`` rows ``level`` (main; rate ratio or absolute change), ``slope`` (when
        asked; ratio or change per time unit) and ``trend`` (pre-intervention trend per time
        unit); ``.counterfactual()``; ``.plot()``; typed attributes with the fitted model,
        dispersion, Durbin-Watson and Ljung-Box autocorrelation diagnostics.
    """
    _check_args(family, interval, conf, hac_lags)
    df, tnum, order, y = _validate(data, outcome, time, offset, season_col, family)
    t0 = _scalar_time(intervention_start, df[time])
    post = (tnum >= t0).astype(float)
    n_pre, n_post = int((post == 0).sum()), int(post.sum())
    if n_pre < 3 or n_post < 1:
        raise InputError(
            f"intervention_start {intervention_start!r}: need at least 3 periods before and 1 "
            f"after (have {n_pre} and {n_post})"
        )
    X, off = _design(
        df, order, tnum, t0, post, slope_change, season_col, n_harmonics, period, offset
    )
    res, alpha = _fit(y, X, off, family, hac_lags)
    use_t = family in ("gaussian", "quasipoisson") if interval == "auto" else interval == "t"
    crit = stats.t.ppf(0.5 + conf / 2, res.df_resid) if use_t else stats.norm.ppf(0.5 + conf / 2)
    ratio = family in COUNT_FAMILIES
    effects = _effects(res, slope_change, use_t, crit, ratio)
    cf = _counterfactual(res, X, off, slope_change, family, crit, df[time], y)
    if offset:
        cf["offset"] = df[offset].to_numpy(dtype=float)
    diag = _diagnostics(res, family)
    return ITSResult(
        design="its",
        effects=effects,
        main_term="level",
        scale="rate_ratio" if ratio else "difference",
        conf=conf,
        model=res,
        family=family,
        outcome=outcome,
        intervention_start=intervention_start,
        n_pre=n_pre,
        n_post=n_post,
        interval="t" if use_t else "z",
        df_resid=float(res.df_resid),
        dispersion=float(np.sum(res.resid_pearson**2) / res.df_resid),
        negbin_alpha=alpha,
        hac_lags=hac_lags,
        slope_change=slope_change,
        counterfactual_frame=cf,
        post=post.astype(bool),
        call=dict(
            outcome=outcome,
            time=time,
            offset=offset,
            season_col=season_col,
            n_harmonics=n_harmonics,
            period=period,
            family=family,
            slope_change=slope_change,
            hac_lags=hac_lags,
            conf=conf,
        ),
        data=data,
        **diag,
    )


def _check_args(family: str, interval: str, conf: float, hac_lags: int | None) -> None:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, not {family!r}")
    if interval not in ("auto", "t", "z"):
        raise ValueError(f"interval must be 'auto', 't' or 'z', not {interval!r}")
    if not 0 < conf < 1:
        raise ValueError(f"conf must be in (0, 1), not {conf!r}")
    if hac_lags is not None and hac_lags < 0:
        raise ValueError("hac_lags must be >= 0")


def _validate(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    offset: str | None,
    season_col: str | None,
    family: str,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Check columns and values; the data sorted by time, its numeric time, order and y."""
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    cols = [outcome, time] + [c for c in (offset, season_col) if c]
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise InputError(f"data lacks column(s) {missing}")
    if offset and family == "gaussian":
        raise ValueError(
            "offset applies to count families; for a gaussian model pass a rate as outcome"
        )
    df = data.reset_index(drop=True)
    tnum = time_index(df[time])
    order = np.argsort(tnum, kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    tnum = tnum[order]
    if len(np.unique(tnum)) != len(tnum):
        dup = pd.Series(tnum).duplicated()
        raise InputError(f"column {time!r}: duplicated period {df.loc[dup.idxmax(), time]!r}")
    yv = pd.to_numeric(df[outcome], errors="coerce")
    if yv.isna().any():
        row = int(order[int(np.flatnonzero(yv.isna().to_numpy())[0])])
        raise InputError(f"column {outcome!r} is missing or non-numeric (row {row})")
    y = yv.to_numpy(dtype=float)
    if family in COUNT_FAMILIES and ((y < 0).any() or not np.allclose(y, np.round(y))):
        row = int(order[int(np.flatnonzero((y < 0) | ~np.isclose(y, np.round(y)))[0])])
        raise InputError(f"column {outcome!r}: counts must be non-negative integers (row {row})")
    return df, tnum, order, y


def _design(
    df: pd.DataFrame,
    order: np.ndarray,
    tnum: np.ndarray,
    t0: float,
    post: np.ndarray,
    slope_change: bool,
    season_col: str | None,
    n_harmonics: int,
    period: float,
    offset: str | None,
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Design matrix (time counted from the first period, so the intercept is the starting
    level) and the log offset."""
    tt = tnum - tnum[0]
    X = pd.DataFrame({"const": 1.0, "trend": tt, "level": post})
    if slope_change:
        X["slope"] = (tnum - t0) * post
    if season_col:
        sv = df[season_col]
        if pd.api.types.is_datetime64_any_dtype(sv):
            sv = sv.dt.month
        sv = pd.to_numeric(sv, errors="coerce")
        if sv.isna().any():
            row = int(order[int(np.flatnonzero(sv.isna().to_numpy())[0])])
            raise InputError(f"column {season_col!r} is missing or non-numeric (row {row})")
        X = pd.concat([X, fourier_terms(sv.to_numpy(dtype=float), n_harmonics, period)], axis=1)
    off = None
    if offset:
        ov = pd.to_numeric(df[offset], errors="coerce")
        if ov.isna().any() or (ov <= 0).any():
            row = int(order[int(np.flatnonzero((ov.isna() | (ov <= 0)).to_numpy())[0])])
            raise InputError(f"column {offset!r} must be positive (row {row})")
        off = np.log(ov.to_numpy(dtype=float))
    return X, off


def _fit(
    y: np.ndarray, X: pd.DataFrame, off: np.ndarray | None, family: str, hac_lags: int | None
) -> tuple[Any, float | None]:
    """The GLM fit (NB2 dispersion by maximum likelihood first for ``negbin``)."""
    import statsmodels.api as sm

    alpha = None
    if family == "gaussian":
        fam = sm.families.Gaussian()
    elif family == "negbin":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = sm.NegativeBinomial(y, X, offset=off, loglike_method="nb2").fit(
                disp=0, maxiter=200
            )
        alpha = float(nb.params["alpha"])
        fam = sm.families.NegativeBinomial(alpha=alpha)
    else:
        fam = sm.families.Poisson()
    model = sm.GLM(y, X, family=fam, offset=off)
    fit_kw: dict[str, Any] = {}
    if family == "quasipoisson":
        fit_kw["scale"] = "X2"
    if hac_lags is not None:
        fit_kw.update(cov_type="HAC", cov_kwds={"maxlags": int(hac_lags)})
    if family == "gaussian":
        fit_kw["use_t"] = True
    return model.fit(**fit_kw), alpha


def _effects(res: Any, slope_change: bool, use_t: bool, crit: float, ratio: bool) -> pd.DataFrame:
    """Wald estimates, intervals and p-values of level (slope) and trend."""
    params, cov = res.params, res.cov_params()
    rows = []
    terms = ["level"] + (["slope"] if slope_change else []) + ["trend"]
    for term in terms:
        b, se = float(params[term]), float(np.sqrt(cov.loc[term, term]))
        zval = b / se
        p = float(2 * (stats.t.sf(abs(zval), res.df_resid) if use_t else stats.norm.sf(abs(zval))))
        lo, hi = b - crit * se, b + crit * se
        if ratio:
            b, lo, hi = np.exp(b), np.exp(lo), np.exp(hi)
        rows.append(dict(term=term, estimate=b, lower=lo, upper=hi, p_value=p, se=se))
    return pd.DataFrame(rows)


def _counterfactual(
    res: Any,
    X: pd.DataFrame,
    off: np.ndarray | None,
    slope_change: bool,
    family: str,
    crit: float,
    time_values: pd.Series,
    y: np.ndarray,
) -> pd.DataFrame:
    """Counterfactual: intervention terms set to zero, seasonality and offset kept."""
    params, cov = res.params, res.cov_params()
    X0 = X.copy()
    X0["level"] = 0.0
    if slope_change:
        X0["slope"] = 0.0
    eta0 = X0.to_numpy() @ params.to_numpy() + (off if off is not None else 0.0)
    var0 = np.einsum("ij,jk,ik->i", X0.to_numpy(), cov.to_numpy(), X0.to_numpy())
    zc = crit
    inv = np.exp if family != "gaussian" else (lambda v: v)
    return pd.DataFrame(
        {
            "time": time_values.to_numpy(),
            "observed": y,
            "fitted": res.fittedvalues.to_numpy(),
            "counterfactual": inv(eta0),
            "counterfactual_lower": inv(eta0 - zc * np.sqrt(var0)),
            "counterfactual_upper": inv(eta0 + zc * np.sqrt(var0)),
        }
    )


def _diagnostics(res: Any, family: str) -> dict[str, Any]:
    """Residual autocorrelation: Durbin-Watson, lag-1 ACF, Ljung-Box and the flag."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.stattools import durbin_watson

    resid = res.resid_deviance if family != "gaussian" else res.resid_response
    resid = np.asarray(resid)
    dw = float(durbin_watson(resid))
    nlag = max(1, min(12, len(resid) // 5))
    lb = acorr_ljungbox(resid, lags=[nlag])
    lb_p = float(lb["lb_pvalue"].iloc[0])
    return dict(
        durbin_watson=dw,
        acf1=float(np.corrcoef(resid[:-1], resid[1:])[0, 1]),
        ljung_box_lag=nlag,
        ljung_box_p=lb_p,
        autocorrelation_flag=bool(lb_p < 0.05 or dw < 1.5 or dw > 2.5),
    )
