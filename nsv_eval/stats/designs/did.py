"""Staggered difference-in-differences (Callaway & Sant'Anna 2021) and plain two-way fixed effects.

:func:`did` estimates group-time average treatment effects ATT(g, t) — the effect in period t
for the cohort first treated in period g — each as a 2 x 2 difference-in-differences against a
clean comparison group (never treated, or not yet treated), and aggregates them into an overall
ATT, an event study, group effects and calendar-time effects. Inference uses the influence
functions of the estimators (analytic standard errors, optionally clustered) or a multiplier
bootstrap with uniform confidence bands, exactly as in the R package ``did``.

Reference: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200-230. doi:10.1016/j.jeconom.2020.12.001.
Implementation follows the R packages ``did`` (``att_gt``, ``aggte``, ``mboot``) and ``DRDID``
(``reg_did_panel``, ``drdid_panel``). No maintained Python library implements this estimator
with the ``did`` package's influence-function aggregation, so it is written here with numpy;
the regressions inside (OLS, logit) use numpy least squares and statsmodels.

:func:`twfe` is the conventional two-way fixed-effects regression with cluster-robust standard
errors. With a staggered roll-out it compares later-treated units with already-treated ones and
can be badly biased when effects vary over time (Goodman-Bacon 2021); it warns and points to
:func:`did`.
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

__all__ = ["DiDResult", "TWFEResult", "did", "twfe"]

_AGG_KINDS = ("simple", "group", "dynamic", "calendar")


# --------------------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------------------
@dataclass
class _Panel:
    """Balanced panel in wide form, with time periods mapped to positions 0..T-1."""

    units: np.ndarray  # (n,) unit ids
    periods: np.ndarray  # (T,) sorted original period values
    y: np.ndarray  # (n, T) outcomes
    gpos: np.ndarray  # (n,) position of first treated period; inf = never treated
    gval: np.ndarray  # (n,) original first_treated value (0 for never treated), object
    x: np.ndarray | None  # (n, T, k) covariates or None
    cluster: np.ndarray  # (n,) integer cluster codes
    notes: list[str] = field(default_factory=list)
    w: np.ndarray | None = None  # (n,) unit weights normalised to mean 1, None = unweighted


def _require_columns(data: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise InputError(f"data lacks column(s) {missing}")


def _as_position(values: pd.Series, periods: np.ndarray, name: str) -> np.ndarray:
    """Map first-treatment values to the position of the first period >= value."""
    out = np.full(len(values), np.inf)
    v = values.to_numpy()
    treated = ~pd.isna(v)
    if pd.api.types.is_datetime64_any_dtype(values) or isinstance(values.dtype, pd.PeriodDtype):
        pass
    else:
        num = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & num.isna()
        if bad.any():
            row = values.index[bad.to_numpy()][0]
            raise InputError(f"column {name!r}: non-numeric value {values[row]!r} (row {row})")
        treated = num.notna().to_numpy() & (num.to_numpy() != 0)
        v = num.to_numpy()
    pos = np.searchsorted(periods, v[treated], side="left")
    out[treated] = pos.astype(float)
    out[treated & (out >= len(periods))] = np.inf  # treated after the window = never treated
    return out


def _check_panel_columns(
    df: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    cov: list[str],
    cluster: str | None,
    weights: str | None,
) -> pd.DataFrame:
    """Numbers where numbers belong, one row per unit and period, cohort, cluster and
    weight constant within unit."""
    for c in (unit, time):
        if df[c].isna().any():
            row = df.index[df[c].isna().to_numpy()][0]
            raise InputError(f"column {c!r} has a missing value (row {row})")
    y = pd.to_numeric(df[outcome], errors="coerce")
    bad = df[outcome].notna() & y.isna()
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        raise InputError(
            f"column {outcome!r}: non-numeric value {df.loc[row, outcome]!r} (row {row})"
        )
    df[outcome] = y
    for c in cov:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    dup = df.duplicated([unit, time])
    if dup.any():
        row = df.index[dup.to_numpy()][0]
        raise InputError(f"more than one row for the same {unit!r} and {time!r} (row {row})")
    # first_treated must be constant within unit
    nun = df.groupby(unit, sort=False)[first_treated].nunique(dropna=False)
    if (nun > 1).any():
        u = nun.index[(nun > 1).to_numpy()][0]
        raise InputError(
            f"column {first_treated!r} varies within {unit} {u!r}; it must be constant"
        )
    if cluster:
        ncl = df.groupby(unit, sort=False)[cluster].nunique(dropna=False)
        if (ncl > 1).any():
            u = ncl.index[(ncl > 1).to_numpy()][0]
            raise InputError(
                f"column {cluster!r} varies within {unit} {u!r}; units must nest in clusters"
            )
    if weights:
        wv = pd.to_numeric(df[weights], errors="coerce")
        bad = wv.isna() | (wv < 0)
        if bad.any():
            row = df.index[bad.to_numpy()][0]
            raise InputError(
                f"column {weights!r} must be a non-negative number; row {row} has "
                f"{df.at[row, weights]!r}"
            )
        df[weights] = wv
        nw = df.groupby(unit, sort=False)[weights].nunique()
        if (nw > 1).any():
            u = nw.index[(nw > 1).to_numpy()][0]
            raise InputError(
                f"column {weights!r} varies within {unit} {u!r}; unit weights must be constant "
                "over time (as R did's weightsname; use the person-time of a base period)"
            )
    return df


def _drop_incomplete(
    df: pd.DataFrame, outcome: str, unit: str, time: str, cov: list[str], notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop units with missing outcome/covariates, then units not observed in every period
    (a balanced panel is required); the periods."""
    # drop units with missing outcome/covariates, then units not observed in every period
    miss = df[[outcome, *cov]].isna().any(axis=1)
    if miss.any():
        bad_units = df.loc[miss, unit].unique()
        warnings.warn(
            f"did: dropped {len(bad_units)} unit(s) with missing {outcome!r}/covariates "
            "(a balanced panel is required)",
            stacklevel=4,
        )
        notes.append(f"{len(bad_units)} units dropped for missing values")
        df = df[~df[unit].isin(bad_units)]
    periods = np.sort(df[time].unique())
    counts = df.groupby(unit, sort=False)[time].nunique()
    unbalanced = counts.index[(counts < len(periods)).to_numpy()]
    if len(unbalanced):
        warnings.warn(
            f"did: dropped {len(unbalanced)} unit(s) not observed in all {len(periods)} periods "
            "(a balanced panel is required)",
            stacklevel=4,
        )
        notes.append(f"{len(unbalanced)} units dropped for an unbalanced panel")
        df = df[~df[unit].isin(unbalanced)]
    if df.empty:
        raise InputError("no complete units left after removing missing values")
    return df, periods


def _prepare_panel(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    covariates: list[str] | None,
    cluster: str | None,
    weights: str | None = None,
) -> _Panel:
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    cov = list(covariates or [])
    cols = [outcome, unit, time, first_treated, *cov] + ([cluster] if cluster else [])
    cols += [weights] if weights else []
    _require_columns(data, cols)
    df = data[list(dict.fromkeys(cols))].copy()
    notes: list[str] = []
    df = _check_panel_columns(df, outcome, unit, time, first_treated, cov, cluster, weights)
    df, periods = _drop_incomplete(df, outcome, unit, time, cov, notes)
    df = df.sort_values([unit, time])
    units = df[unit].drop_duplicates().to_numpy()
    n, T = len(units), len(periods)
    ywide = df[outcome].to_numpy(dtype=float).reshape(n, T)
    first = df.groupby(unit, sort=False)[first_treated].first()
    gpos = _as_position(first, periods, first_treated)
    gval = first.to_numpy(dtype=object)
    gval = np.where(np.isinf(gpos), 0, gval)
    # units treated in (or before) the first period have no pre-period: drop them (as `did`)
    early = gpos == 0
    x = None
    if cov:
        x = df[cov].to_numpy(dtype=float).reshape(n, T, len(cov))
    wunit = None
    if weights:
        wunit = df.groupby(unit, sort=False)[weights].first().to_numpy(dtype=float)
    if cluster:
        codes = pd.factorize(df.groupby(unit, sort=False)[cluster].first())[0]
    else:
        codes = np.arange(n)
    if early.any():
        warnings.warn(
            f"did: dropped {int(early.sum())} unit(s) already treated in the first period "
            f"({periods[0]!r}); they have no pre-treatment period",
            stacklevel=3,
        )
        notes.append(f"{int(early.sum())} units treated in the first period dropped")
        keep = ~early
        units, ywide, gpos, gval, codes = (
            units[keep],
            ywide[keep],
            gpos[keep],
            gval[keep],
            codes[keep],
        )
        if x is not None:
            x = x[keep]
        if wunit is not None:
            wunit = wunit[keep]
        codes = pd.factorize(codes)[0]
    if T < 2:
        raise InputError(f"column {time!r}: at least two periods are needed")
    if wunit is not None:
        if wunit.sum() <= 0:
            raise InputError(f"column {weights!r}: all weights are zero")
        wunit = wunit / wunit.mean()  # as DRDID: i.weights / mean(i.weights)
    return _Panel(units, periods, ywide, gpos, gval, x, codes, notes, wunit)


# --------------------------------------------------------------------------------------
# 2 x 2 estimators with influence functions (DRDID::reg_did_panel / drdid_panel)
# --------------------------------------------------------------------------------------
def _reg_did(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Outcome-regression DiD (Heckman, Ichimura & Todd 1997; DRDID::reg_did_panel).

    ``x`` includes the intercept; ``iw`` are unit weights (``i.weights``; None = 1). Returns
    the ATT and its influence function on this sample. With an intercept only this is the
    (weighted) difference of mean changes.
    """
    n = len(dy)
    iw = np.ones(n) if iw is None else iw
    c = d == 0
    sw = np.sqrt(iw[c])
    beta, *_ = np.linalg.lstsq(x[c] * sw[:, None], dy[c] * sw, rcond=None)
    out = x @ beta
    w_t = iw * d.astype(float)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_t * out) / np.mean(w_t)
    att = eta_t - eta_c
    wols = (iw * (1.0 - d))[:, None] * x
    xpx_inv = np.linalg.inv(wols.T @ x / n)
    lin_ols = (iw * (1.0 - d) * (dy - out))[:, None] * x @ xpx_inv
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m1 = np.mean(w_t[:, None] * x, axis=0)
    inf_c = (w_t * out - w_t * eta_c + lin_ols @ m1) / np.mean(w_t)
    return float(att), inf_t - inf_c


def _dr_did(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Doubly robust DiD (Sant'Anna & Zhao 2020; DRDID::drdid_panel, logit propensity score).

    ``iw`` are unit weights (``i.weights``; None = 1).
    """
    import statsmodels.api as sm

    n = len(dy)
    iw = np.ones(n) if iw is None else iw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(d, x, family=sm.families.Binomial(), freq_weights=iw).fit()
    ps = np.minimum(fit.fittedvalues, 1 - 1e-6)
    trim = np.ones(n, dtype=bool)
    trim[d == 0] = ps[d == 0] < 0.995
    c = d == 0
    sw = np.sqrt(iw[c])
    beta, *_ = np.linalg.lstsq(x[c] * sw[:, None], dy[c] * sw, rcond=None)
    out = x @ beta
    w_t = iw * trim * d.astype(float)
    w_c = iw * trim * ps * (1 - d) / (1 - ps)
    res = dy - out
    eta_t = np.mean(w_t * res) / np.mean(w_t)
    eta_c = np.mean(w_c * res) / np.mean(w_c)
    att = eta_t - eta_c
    wols = (iw * (1.0 - d))[:, None] * x
    xpx_inv = np.linalg.inv(wols.T @ x / n)
    lin_ols = (iw * (1.0 - d) * res)[:, None] * x @ xpx_inv
    score_ps = (iw * (d - ps))[:, None] * x
    hess_inv = np.linalg.inv((x * (iw * ps * (1 - ps))[:, None]).T @ x / n)
    lin_ps = score_ps @ hess_inv
    inf_t = (w_t * res - w_t * eta_t - lin_ols @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    m2 = np.mean((w_c * (res - eta_c))[:, None] * x, axis=0)
    m3 = np.mean(w_c[:, None] * x, axis=0)
    inf_c = (w_c * res - w_c * eta_c + lin_ps @ m2 - lin_ols @ m3) / np.mean(w_c)
    return float(att), inf_t - inf_c


# --------------------------------------------------------------------------------------
# inference helpers
# --------------------------------------------------------------------------------------
def _cluster_sums(inf: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Sum influence functions within clusters (rows = clusters)."""
    k = int(cluster.max()) + 1
    out = np.zeros((k,) + inf.shape[1:])
    np.add.at(out, cluster, inf)
    return out


def _analytic_se(inf: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """SE = sqrt(sum over clusters of (sum of IF)^2) / n; clusters = units gives sqrt(mean IF^2 / n)."""
    n = inf.shape[0]
    s = _cluster_sums(inf, cluster)
    return np.sqrt(np.sum(s**2, axis=0)) / n


def _multiplier_bootstrap(
    inf: np.ndarray, cluster: np.ndarray, n_boot: int, seed: int, conf: float, weights: str
) -> tuple[np.ndarray, float]:
    """Multiplier bootstrap as ``did::mboot``: IQR-based SEs and the sup-t critical value.

    Draws one multiplier per cluster (Rademacher or Mammen two-point weights), forms
    ``sum_c V_c S_c / n`` for the cluster sums ``S_c`` of the influence functions, and returns
    the robust (interquartile-range) standard errors and the ``conf`` quantile of the maximum
    absolute t-statistic across columns, which gives uniform (simultaneous) confidence bands.
    """
    n = inf.shape[0]
    s = _cluster_sums(inf, cluster)
    rng = np.random.default_rng(seed)
    nc = s.shape[0]
    if weights == "rademacher":
        v = rng.choice(np.array([-1.0, 1.0]), size=(n_boot, nc))
    elif weights == "mammen":
        sq5 = np.sqrt(5.0)
        a, b = -(sq5 - 1) / 2, (sq5 + 1) / 2
        p = (sq5 + 1) / (2 * sq5)
        v = np.where(rng.random((n_boot, nc)) < p, a, b)
    else:
        raise ValueError(f"boot_weights must be 'rademacher' or 'mammen', not {weights!r}")
    bres = v @ s / n  # (n_boot, k)
    q75, q25 = np.quantile(bres, [0.75, 0.25], axis=0)
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    ok = se > np.sqrt(np.finfo(float).eps) * 10
    if ok.any():
        tmax = np.max(np.abs(bres[:, ok] / se[ok]), axis=1)
        crit = float(np.quantile(tmax, conf))
    else:
        crit = float("nan")
    se = np.where(ok, se, np.nan)
    return se, crit


# --------------------------------------------------------------------------------------
# result class
# --------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class DiDResult(EffectResult):
    """Result of :func:`did`: group-time ATTs, aggregations and event-study plot.

    Attributes
    ----------
    group_time_frame : pandas.DataFrame
        ATT(g, t) (see :meth:`group_time`).
    pretest_result : dict
        Wald pre-test of parallel trends (see :meth:`pretest`).
    control, base_period, anticipation, est_method, covariates
        The settings used (``est_method`` is ``"reg"`` without covariates).
    n_units : int
        Units in the panel; :attr:`n_treated`, :attr:`n_cohorts` treated units and cohorts.
    periods : list
        The sorted distinct periods.
    notes, skipped : list of str
        What the estimator changed (e.g. last cohort used as comparison) and the ATT(g, t)
        that could not be estimated.
    call : dict
        Keyword arguments of the call (for refits: placebo, leave-one-out).
    data : pandas.DataFrame
        The data as passed.
    fit_state : dict
        The cells, influence functions and bootstrap settings :meth:`aggregate` works on.
    """

    group_time_frame: pd.DataFrame
    pretest_result: dict[str, float]
    control: str
    base_period: str
    anticipation: int
    est_method: str
    covariates: list[str]
    n_units: int
    periods: list[Any]
    notes: list[str]
    skipped: list[str]
    call: dict[str, Any]
    data: pd.DataFrame
    fit_state: dict[str, Any] = field(repr=False)

    @property
    def n_treated(self) -> int:
        """Units ever treated in the panel."""
        return int(np.isfinite(self.fit_state["panel"].gpos).sum())

    @property
    def n_cohorts(self) -> int:
        """Treatment cohorts with estimated effects."""
        return len(self.fit_state["glist"])

    def group_time(self) -> pd.DataFrame:
        """Tidy table of ATT(g, t): ``group``, ``time``, ``event_time``, ``att``, ``se``,
        ``lower``/``upper`` (pointwise), ``band_lower``/``band_upper`` (uniform band when
        bootstrapped, else pointwise), ``p_value``, ``post``, ``n_treated``, ``n_control``."""
        return self.group_time_frame.copy()

    def aggregate(
        self,
        kind: Literal["simple", "group", "dynamic", "calendar"] = "dynamic",
        *,
        min_e: float | None = None,
        max_e: float | None = None,
        balance_e: int | None = None,
        uniform: bool | None = None,
    ) -> pd.DataFrame:
        """Aggregate ATT(g, t) as in ``did::aggte``.

        Parameters
        ----------
        kind : {"simple", "group", "dynamic", "calendar"}
            ``simple``: post-treatment ATT(g, t) weighted by cohort size; ``group``: average
            effect per cohort, then across cohorts; ``dynamic``: event study by
            ``e = t - g``; ``calendar``: per calendar period.
        min_e, max_e : float, optional
            (dynamic) keep event times in this range.
        balance_e : int, optional
            (dynamic) keep only cohorts observed for at least ``balance_e`` periods after
            treatment, so the composition does not change across event times.
        uniform : bool, optional
            Uniform (simultaneous) bands by the multiplier bootstrap (``did::aggte``'s default
            ``cband = TRUE``; SEs are then the bootstrap ones). None: as fitted (``boot``).

        Returns
        -------
        pandas.DataFrame
            Columns ``kind``, ``term``, ``value`` (event time, cohort or period; NaN for the
            overall row), ``estimate``, ``se``, ``lower``, ``upper``, ``band_lower``,
            ``band_upper``, ``p_value``. The first row is the overall summary.
        """
        state = self.fit_state
        if uniform is not None and uniform != state["boot"]:
            state = {**state, "boot": bool(uniform)}
        return _aggregate(state, kind, min_e=min_e, max_e=max_e, balance_e=balance_e)

    def pretest(self) -> dict[str, float]:
        """Wald pre-test of parallel trends: all pre-treatment ATT(g, t) = 0 jointly."""
        return dict(self.pretest_result)

    def plot(
        self,
        ax=None,
        *,
        balance_e: int | None = None,
        band: Literal["uniform", "pointwise"] = "uniform",
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Event-study plot: ATT by time relative to the start, with confidence bands.

        ``band="uniform"`` (default, as R ``did``): simultaneous bands from the multiplier
        bootstrap, which cover all event times together with the stated confidence;
        ``"pointwise"``: one interval per event time. ``labels`` (keys ``pre``, ``post``,
        ``xlabel``, ``ylabel``, ``title``; :func:`nsv_eval.report.narrative.did.plot_labels`)
        and ``colors`` (``pre``, ``post``, ``zero``, ``start``) override the defaults.
        """
        import matplotlib.pyplot as plt

        lab = {**EVENT_STUDY_LABELS, **(labels or {})}
        col = {**EVENT_STUDY_COLORS, **(colors or {})}
        es = self.aggregate("dynamic", balance_e=balance_e, uniform=band == "uniform").iloc[1:]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        pre = es["value"] < 0
        for mask, colour, name in ((pre, col["pre"], lab["pre"]), (~pre, col["post"], lab["post"])):
            sub = es[mask]
            if sub.empty:
                continue
            ax.errorbar(
                sub["value"],
                sub["estimate"],
                yerr=[sub["estimate"] - sub["band_lower"], sub["band_upper"] - sub["estimate"]],
                fmt="o",
                color=colour,
                capsize=3,
                label=name,
            )
        ax.axhline(0, color=col["zero"], lw=0.8)
        ax.axvline(-0.5, color=col["start"], ls="--", lw=0.8)
        ax.set_xlabel(lab["xlabel"])
        ax.set_ylabel(lab["ylabel"])
        ax.set_title(lab["title"])
        ax.legend(frameon=False)
        return ax.figure


EVENT_STUDY_LABELS: dict[str, str] = {
    "pre": "pre",
    "post": "post",
    "xlabel": "event time",
    "ylabel": "ATT",
    "title": "event study",
}
"""Default (label-only) texts of the event-study plots (did, poisson_did)."""

EVENT_STUDY_COLORS: dict[str, str] = {"pre": "C1", "post": "C0", "zero": "C6", "start": "C8"}
"""Default colours of the event-study plots: entries of the rcParams colour cycle."""


# --------------------------------------------------------------------------------------
# main estimator
# --------------------------------------------------------------------------------------
def did(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    *,
    control: Literal["never", "notyet"] = "never",
    covariates: list[str] | None = None,
    est_method: Literal["dr", "reg"] = "dr",
    anticipation: int = 0,
    base_period: Literal["varying", "universal"] = "varying",
    boot: bool = False,
    n_boot: int = 999,
    boot_weights: Literal["rademacher", "mammen"] = "rademacher",
    seed: int = 1,
    conf: float = 0.95,
    cluster: str | None = None,
    weights: str | None = None,
) -> DiDResult:
    """Staggered difference-in-differences after Callaway & Sant'Anna (2021).

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period.
    outcome, unit, time : str
        Column names. ``time`` must be sortable (years, ints, dates); effects are indexed by
        the position of a period among the sorted distinct periods.
    first_treated : str
        Column with the first treated period of each unit (same scale as ``time``); 0 or
        missing means never treated. Units treated after the last period count as never
        treated; units treated in the first period are dropped (no pre-period), as in ``did``.
    control : {"never", "notyet"}
        Comparison group: never-treated units, or never-treated plus not-yet-treated units.
    covariates : list of str, optional
        Covariates for conditional parallel trends (values of the earlier of the two periods
        of each 2 x 2 comparison). Without covariates every method is the unconditional
        difference of mean changes.
    est_method : {"dr", "reg"}
        With covariates: doubly robust (``DRDID::drdid_panel``) or outcome regression.
    anticipation : int
        Number of periods before the start in which units may already react.
    base_period : {"varying", "universal"}
        Pre-period comparisons against the previous period (``varying``, the ``did`` default)
        or against the fixed period g - 1 - anticipation (``universal``).
    boot : bool
        Multiplier bootstrap (clustered on unit or ``cluster``) with uniform confidence bands.
    n_boot, boot_weights, seed
        Bootstrap draws, multiplier weights and random seed.
    conf : float
        Confidence level.
    cluster : str, optional
        Column with a cluster (units must nest in clusters); analytic SEs are then
        cluster-robust (sums of influence functions within clusters).
    weights : str, optional
        Column with unit weights, constant within unit (R ``did``'s ``weightsname``), e.g.
        each kommune's person-years in a base year, so large kommuner count more. They
        weight the 2 x 2 comparisons (``DRDID`` ``i.weights``) and the cohort shares of the
        aggregations.

    Returns
    -------
    DiDResult
        ``.table()`` rows ``att_simple`` (main), ``att_group``, ``att_dynamic``,
        ``att_calendar``; ``.group_time()``, ``.aggregate(kind)``, ``.pretest()``, ``.plot()``.

    Notes
    -----
    Analytic standard errors follow ``did::att_gt(bstrap=FALSE)``; aggregated standard errors
    include the term for estimating the cohort weights (``did:::wif``).
    """
    _check_did_args(control, base_period, est_method, conf, anticipation)
    panel = _prepare_panel(data, outcome, unit, time, first_treated, covariates, cluster, weights)
    n = panel.y.shape[0]
    gpos, glist, T_use = _comparison_design(panel, first_treated, control, anticipation)
    method = est_method if covariates else "reg"
    cells, infs, skipped = _group_time_cells(
        panel, gpos, glist, T_use, control, base_period, anticipation, method
    )
    if skipped:
        warnings.warn(
            "did: some ATT(g,t) could not be estimated: " + "; ".join(skipped[:5]), stacklevel=2
        )
    if not cells:
        raise InputError("no group-time effect could be estimated")
    inf_mat = np.column_stack(infs)
    att = np.array([c["att"] for c in cells])
    gt, se = _group_time_inference(
        panel, cells, att, inf_mat, conf, boot, n_boot, seed, boot_weights
    )
    # Wald pre-test (did::att_gt): pre-treatment cells with non-zero variance
    pre = np.array([(c["g"] > c["t"]) and not c["reference"] for c in cells]) & (se > 0)
    pretest = _wald(att[pre], inf_mat[:, pre], n)
    state = dict(
        panel=panel,
        gpos=gpos,
        glist=glist,
        cells=cells,
        att=att,
        inf=inf_mat,
        conf=conf,
        boot=boot,
        n_boot=n_boot,
        seed=seed,
        boot_weights=boot_weights,
    )
    return DiDResult(
        design="did",
        effects=_overall_effects(state),
        main_term="att_simple",
        scale="att",
        conf=conf,
        group_time_frame=gt,
        pretest_result=pretest,
        control=control,
        base_period=base_period,
        anticipation=anticipation,
        est_method=method,
        covariates=list(covariates or []),
        n_units=n,
        periods=list(panel.periods),
        notes=panel.notes,
        skipped=skipped,
        fit_state=state,
        call=dict(
            outcome=outcome,
            unit=unit,
            time=time,
            first_treated=first_treated,
            control=control,
            covariates=covariates,
            est_method=est_method,
            anticipation=anticipation,
            base_period=base_period,
            boot=boot,
            n_boot=n_boot,
            boot_weights=boot_weights,
            seed=seed,
            conf=conf,
            cluster=cluster,
            weights=weights,
        ),
        data=data,
    )


def _check_did_args(
    control: str, base_period: str, est_method: str, conf: float, anticipation: int
) -> None:
    if control not in ("never", "notyet"):
        raise ValueError(f"control must be 'never' or 'notyet', not {control!r}")
    if base_period not in ("varying", "universal"):
        raise ValueError(f"base_period must be 'varying' or 'universal', not {base_period!r}")
    if est_method not in ("dr", "reg"):
        raise ValueError(f"est_method must be 'dr' or 'reg', not {est_method!r}")
    if not 0 < conf < 1:
        raise ValueError(f"conf must be in (0, 1), not {conf!r}")
    if anticipation < 0:
        raise ValueError("anticipation must be >= 0")


def _comparison_design(
    panel: _Panel, first_treated: str, control: str, anticipation: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Cohort positions, the cohorts with effects and the periods used. Without
    never-treated units the last cohort serves as comparison only (as ``did``)."""
    T = panel.y.shape[1]
    gpos = panel.gpos.copy()
    glist = np.unique(gpos[np.isfinite(gpos)]).astype(int)
    if len(glist) == 0:
        raise InputError(f"column {first_treated!r}: no treated units")
    never = np.isinf(gpos)
    T_use = T
    if not never.any():
        if control == "never":
            raise InputError(
                f"column {first_treated!r}: there are no never-treated units; use control='notyet'"
            )
        # as `did`: the last cohort serves as comparison only, periods from its start are dropped
        last = glist.max()
        T_use = int(last - anticipation)
        gpos[gpos == last] = np.inf
        glist = glist[glist != last]
        panel.notes.append("no never-treated units: last cohort used as comparison only")
        if len(glist) == 0 or T_use < 2:
            raise InputError("not enough cohorts/periods for a not-yet-treated comparison")
    return gpos, glist, T_use


def _group_time_cells(
    panel: _Panel,
    gpos: np.ndarray,
    glist: np.ndarray,
    T_use: int,
    control: str,
    base_period: str,
    anticipation: int,
    method: str,
) -> tuple[list[dict[str, Any]], list[np.ndarray], list[str]]:
    """Every ATT(g, t) 2 x 2 comparison: estimate and influence function (or why skipped)."""
    n = panel.y.shape[0]
    tfac = 1 if base_period == "varying" else 0
    cells: list[dict[str, Any]] = []
    infs: list[np.ndarray] = []
    skipped: list[str] = []
    for g in glist:
        base_post = g - anticipation - 1
        for c in range(tfac, T_use):
            is_post = g <= c
            if base_period == "universal":
                base = base_post
            else:
                base = base_post if is_post else c - 1
            if base < 0:
                skipped.append(f"g={panel.periods[g]!r}, t={panel.periods[c]!r}: no base period")
                continue
            if base_period == "universal" and base == c:
                cells.append(
                    dict(g=g, t=c, att=0.0, post=False, reference=True, n_treated=0, n_control=0)
                )
                infs.append(np.zeros(n))
                continue
            treat = gpos == g
            if control == "never":
                ctrl = np.isinf(gpos)
            else:
                ctrl = (gpos > max(c, base) + anticipation) & (gpos != g)
            if not treat.any() or not ctrl.any():
                skipped.append(
                    f"g={panel.periods[g]!r}, t={panel.periods[c]!r}: no comparison units"
                )
                continue
            att, inf = _cell_att(panel, treat, ctrl, c, base, method)
            cells.append(
                dict(
                    g=g,
                    t=c,
                    att=att,
                    post=bool(is_post),
                    reference=False,
                    n_treated=int(treat.sum()),
                    n_control=int(ctrl.sum()),
                )
            )
            infs.append(inf)
    return cells, infs, skipped


def _cell_att(
    panel: _Panel, treat: np.ndarray, ctrl: np.ndarray, c: int, base: int, method: str
) -> tuple[float, np.ndarray]:
    """One 2 x 2 comparison: ATT and its influence function on all units."""
    n = panel.y.shape[0]
    idx = treat | ctrl
    dy = panel.y[idx, c] - panel.y[idx, base]
    d = treat[idx].astype(float)
    xmat = np.ones((idx.sum(), 1))
    if panel.x is not None:
        xmat = np.column_stack([xmat, panel.x[idx, min(c, base), :]])
    iw = None if panel.w is None else panel.w[idx]
    if method == "dr":
        att, inf_sub = _dr_did(dy, d, xmat, iw)
    else:
        att, inf_sub = _reg_did(dy, d, xmat, iw)
    inf = np.zeros(n)
    inf[idx] = inf_sub * (n / idx.sum())
    return att, inf


def _group_time_inference(
    panel: _Panel,
    cells: list[dict[str, Any]],
    att: np.ndarray,
    inf_mat: np.ndarray,
    conf: float,
    boot: bool,
    n_boot: int,
    seed: int,
    boot_weights: str,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Standard errors (analytic or bootstrap), pointwise intervals and uniform bands."""
    se = _analytic_se(inf_mat, panel.cluster)
    ref = np.array([c["reference"] for c in cells])
    se[ref] = np.nan
    z = stats.norm.ppf(0.5 + conf / 2)
    crit = z
    if boot:
        bse, bcrit = _multiplier_bootstrap(
            inf_mat[:, ~ref], panel.cluster, n_boot, seed, conf, boot_weights
        )
        se[~ref] = bse
        crit = bcrit if np.isfinite(bcrit) else z
    gt = pd.DataFrame(
        {
            "group": [panel.periods[c["g"]] for c in cells],
            "time": [panel.periods[c["t"]] for c in cells],
            "event_time": [c["t"] - c["g"] for c in cells],
            "att": att,
            "se": se,
        }
    )
    gt["lower"] = att - z * se
    gt["upper"] = att + z * se
    gt["band_lower"] = att - crit * se
    gt["band_upper"] = att + crit * se
    gt["p_value"] = 2 * stats.norm.sf(np.abs(att / se))
    gt["post"] = [c["post"] for c in cells]
    gt["reference"] = ref
    gt["n_treated"] = [c["n_treated"] for c in cells]
    gt["n_control"] = [c["n_control"] for c in cells]
    return gt, se


def _overall_effects(state: dict[str, Any]) -> pd.DataFrame:
    """The overall row of every aggregation: the ``.table()`` of a DiD result."""
    rows = []
    for kind in _AGG_KINDS:
        r = _aggregate(state, kind).iloc[0]
        rows.append(
            dict(
                term=f"att_{kind}",
                estimate=r["estimate"],
                se=r["se"],
                lower=r["lower"],
                upper=r["upper"],
                p_value=r["p_value"],
            )
        )
    return pd.DataFrame(rows)


def _wald(att_pre: np.ndarray, inf_pre: np.ndarray, n: int) -> dict[str, float]:
    """Joint Wald test that the pre-treatment ATT(g,t) are all zero (did::att_gt pre-test)."""
    q = len(att_pre)
    if q == 0:
        return {"statistic": float("nan"), "df": 0, "p_value": float("nan")}
    v = inf_pre.T @ inf_pre / n
    if np.linalg.cond(v) > 1 / np.finfo(float).eps:
        return {"statistic": float("nan"), "df": q, "p_value": float("nan")}
    w = float(n * att_pre @ np.linalg.solve(v, att_pre))
    return {"statistic": w, "df": q, "p_value": float(stats.chi2.sf(w, q))}


# --------------------------------------------------------------------------------------
# aggregation (did::aggte / compute.aggte)
# --------------------------------------------------------------------------------------
def _wif(
    keep: np.ndarray,
    pg: np.ndarray,
    unit_group: np.ndarray,
    cell_group: np.ndarray,
    w: np.ndarray | None = None,
) -> np.ndarray:
    """Influence function of the estimated cohort-size weights (did:::wif).

    ``keep`` indexes the aggregated cells, ``pg`` is each cell's cohort share, ``unit_group``
    each unit's cohort, ``cell_group`` each cell's cohort and ``w`` the unit weights.
    """
    pk = pg[keep]
    s = pk.sum()
    ind = (unit_group[:, None] == cell_group[keep][None, :]).astype(float)
    if w is not None:
        ind = ind * w[:, None]
    ind = ind - pk[None, :]
    if1 = ind / s
    if2 = ind.sum(axis=1)[:, None] * (pk / s**2)[None, :]
    return if1 - if2


def _combine(
    att: np.ndarray, inf: np.ndarray, keep: np.ndarray, w: np.ndarray, wif: np.ndarray | None
):
    est = float(np.sum(att[keep] * w))
    f = inf[:, keep] @ w
    if wif is not None:
        f = f + wif @ att[keep]
    return est, f


def _aggregate_table(
    state: dict[str, Any],
    kind: str,
    labels: list[Any],
    overall: tuple[float, np.ndarray],
    ests: list[float],
    ifs: list[np.ndarray],
) -> pd.DataFrame:
    """Standard errors (analytic or bootstrap), pointwise intervals and uniform bands of the
    overall and the disaggregated estimates of one aggregation."""
    panel: _Panel = state["panel"]
    conf = state["conf"]
    all_est = np.array([overall[0], *ests])
    all_if = np.column_stack([overall[1], *ifs]) if ifs else overall[1][:, None]
    se = _analytic_se(all_if, panel.cluster)
    z = stats.norm.ppf(0.5 + conf / 2)
    crit = z
    if state["boot"]:
        bse, bcrit = _multiplier_bootstrap(
            all_if, panel.cluster, state["n_boot"], state["seed"], conf, state["boot_weights"]
        )
        se = bse
        if len(ests) > 0:
            # uniform band over the disaggregated rows (not the overall one)
            _, bcrit2 = _multiplier_bootstrap(
                all_if[:, 1:],
                panel.cluster,
                state["n_boot"],
                state["seed"],
                conf,
                state["boot_weights"],
            )
            crit = bcrit2 if np.isfinite(bcrit2) else z
    tiny = se <= np.sqrt(np.finfo(float).eps) * 10
    se = np.where(tiny, np.nan, se)
    out = pd.DataFrame(
        {
            "kind": kind,
            "term": ["overall"] + [f"{kind}={v}" for v in labels],
            "value": [np.nan, *labels] if labels else [np.nan],
            "estimate": all_est,
            "se": se,
        }
    )
    out["lower"] = out["estimate"] - z * out["se"]
    out["upper"] = out["estimate"] + z * out["se"]
    band = np.r_[z, np.full(len(labels), crit)]
    out["band_lower"] = out["estimate"] - band * out["se"]
    out["band_upper"] = out["estimate"] + band * out["se"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["estimate"] / out["se"]))
    return out


def _agg_group(
    att: np.ndarray,
    inf: np.ndarray,
    cg: np.ndarray,
    post: np.ndarray,
    glist: np.ndarray,
    pgg: np.ndarray,
    unit_g: np.ndarray,
    uw: np.ndarray | None,
    panel: _Panel,
    labels: list[Any],
    ests: list[float],
    ifs: list[np.ndarray],
) -> tuple[float, np.ndarray]:
    """Group aggregation: the effect per cohort (appended to ``labels``/``ests``/``ifs``),
    then their cohort-size weighted average with the weights' influence function."""
    gkept: list[int] = []
    for g in glist:
        keep = np.flatnonzero((cg == g) & post)
        if len(keep) == 0:
            continue
        e, f = _combine(att, inf, keep, np.full(len(keep), 1 / len(keep)), None)
        labels.append(panel.periods[g])
        gkept.append(int(g))
        ests.append(e)
        ifs.append(f)
    gi_keep = np.array(gkept)
    pk = pgg[np.searchsorted(glist, gi_keep)]
    w = pk / pk.sum()
    a = np.array(ests)
    fm = np.column_stack(ifs)
    # weights' influence function: indicator of each unit's cohort vs each aggregated cohort
    wif = _wif(np.arange(len(gi_keep)), pk, unit_g, gi_keep, uw)
    return (float(np.sum(a * w)), fm @ w + wif @ a)


def _aggregate(
    state: dict[str, Any],
    kind: str,
    *,
    min_e: float | None = None,
    max_e: float | None = None,
    balance_e: int | None = None,
) -> pd.DataFrame:
    if kind not in _AGG_KINDS:
        raise ValueError(f"kind must be one of {_AGG_KINDS}, not {kind!r}")
    panel: _Panel = state["panel"]
    cells = state["cells"]
    att, inf = state["att"], state["inf"]
    n = inf.shape[0]
    cg = np.array([c["g"] for c in cells])
    ct = np.array([c["t"] for c in cells])
    ce = ct - cg
    unit_g = np.where(np.isfinite(state["gpos"]), state["gpos"], -1).astype(int)
    glist = state["glist"]
    uw = panel.w
    pgg = np.array([np.mean((unit_g == g) * (1.0 if uw is None else uw)) for g in glist])
    pg = pgg[np.searchsorted(glist, cg)]
    post = cg <= ct
    labels: list[Any] = []
    ests: list[float] = []
    ifs: list[np.ndarray] = []
    overall: tuple[float, np.ndarray]
    if kind == "simple":
        keep = np.flatnonzero(post)
        w = pg[keep] / pg[keep].sum()
        overall = _combine(att, inf, keep, w, _wif(keep, pg, unit_g, cg, uw))
    elif kind == "group":
        overall = _agg_group(att, inf, cg, post, glist, pgg, unit_g, uw, panel, labels, ests, ifs)
    elif kind == "dynamic":
        include = np.ones(len(cells), dtype=bool)
        eseq = np.unique(ce)
        if balance_e is not None:
            tmax = max(ct.max(), 0)
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tmax)]
            include = (tmax - cg) >= balance_e
        if min_e is not None:
            eseq = eseq[eseq >= min_e]
        if max_e is not None:
            eseq = eseq[eseq <= max_e]
        for e in eseq:
            keep = np.flatnonzero((ce == e) & include)
            if len(keep) == 0:
                continue
            w = pg[keep] / pg[keep].sum()
            est, f = _combine(att, inf, keep, w, _wif(keep, pg, unit_g, cg, uw))
            labels.append(int(e))
            ests.append(est)
            ifs.append(f)
        lab = np.array(labels)
        epos = lab >= 0
        if not epos.any():
            overall = (float("nan"), np.zeros(n))
        else:
            a = np.array(ests)[epos]
            fm = np.column_stack(ifs)[:, epos]
            overall = (float(a.mean()), fm.mean(axis=1))
    else:  # calendar
        for t in np.unique(ct):
            if t < glist.min():
                continue
            keep = np.flatnonzero((ct == t) & post)
            if len(keep) == 0:
                continue
            w = pg[keep] / pg[keep].sum()
            est, f = _combine(att, inf, keep, w, _wif(keep, pg, unit_g, cg, uw))
            labels.append(panel.periods[t])
            ests.append(est)
            ifs.append(f)
        a = np.array(ests)
        fm = np.column_stack(ifs)
        overall = (float(a.mean()), fm.mean(axis=1))
    return _aggregate_table(state, kind, labels, overall, ests, ifs)


# --------------------------------------------------------------------------------------
# two-way fixed effects
# --------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class TWFEResult(EffectResult):
    """Result of :func:`twfe`.

    Attributes
    ----------
    staggered : bool
        Treatment starts at more than one time (the estimate may be biased).
    n_cohorts, n_obs, n_clusters : int
        Distinct start times, observations and clusters.
    z : float
        Normal critical value at ``conf``; intervals use t with ``n_clusters - 1`` df.
    df_correction : float
        The CR1 small-sample factor.
    """

    staggered: bool
    n_cohorts: int
    n_obs: int
    n_clusters: int
    z: float
    df_correction: float

    def plot(
        self,
        ax=None,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Point estimate with its confidence interval (``labels``: ``xlabel``)."""
        import matplotlib.pyplot as plt

        lab = {"xlabel": "TWFE", **(labels or {})}
        col = {"estimate": "C0", "zero": "C6", **(colors or {})}
        row = self.main_effect()
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 2.5))
        ax.errorbar(
            [row["estimate"]],
            [0],
            xerr=[[row["estimate"] - row["lower"]], [row["upper"] - row["estimate"]]],
            fmt="o",
            color=col["estimate"],
            capsize=4,
        )
        ax.axvline(0, color=col["zero"], lw=0.8)
        ax.set_yticks([])
        ax.set_xlabel(lab["xlabel"])
        return ax.figure


def _demean_twoway(v: np.ndarray, ui: np.ndarray, ti: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Remove unit and time means by alternating projections (exact in one pass if balanced)."""
    out = v.astype(float).copy()
    nu, nt = ui.max() + 1, ti.max() + 1
    cu, ct = np.bincount(ui, minlength=nu), np.bincount(ti, minlength=nt)
    for _ in range(10_000):
        out -= (np.bincount(ui, out, nu) / cu)[ui]
        tm = np.bincount(ti, out, nt) / ct
        out -= tm[ti]
        if np.max(np.abs(tm)) < tol * (1 + np.max(np.abs(out))):
            break
    return out


def twfe(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated_col: str | None = None,
    *,
    first_treated: str | None = None,
    cluster: str | None = None,
    conf: float = 0.95,
) -> TWFEResult:
    """Two-way fixed-effects DiD: ``y_it = a_i + l_t + b * D_it + e_it``.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel.
    outcome, unit, time : str
        Column names.
    treated_col : str, optional
        0/1 column: treated in this period. Give this or ``first_treated``.
    first_treated : str, optional
        First treated period (0 or missing = never); ``D_it = 1`` from that period on.
    cluster : str, optional
        Cluster for the standard error; default ``unit``.
    conf : float
        Confidence level.

    Returns
    -------
    TWFEResult
        Term ``twfe``. Standard errors are cluster-robust (CR1) with the small-sample factor
        ``G/(G-1) * (N-1)/(N-K)``, where K counts the treatment coefficient and the time
        effects but not the unit effects nested in the clusters (as R's ``fixest``).

    Warns
    -----
    UserWarning
        When units start treatment at more than one time (staggered roll-out).

    Notes
    -----
    The fixed effects are absorbed by two-way demeaning (statsmodels has no absorbing OLS and
    a dummy-variable fit would count the absorbed unit effects in the degrees-of-freedom
    correction), so the estimate and cluster-robust variance are computed here with numpy.
    """
    if (treated_col is None) == (first_treated is None):
        raise ValueError("give exactly one of treated_col or first_treated")
    cl = cluster or unit
    df, y, d, n_cohorts = _twfe_data(data, outcome, unit, time, treated_col, first_treated, cl)
    ui = pd.factorize(df[unit])[0]
    ti = pd.factorize(df[time])[0]
    yd = _demean_twoway(y, ui, ti)
    dd = _demean_twoway(d, ui, ti)
    sxx = float(dd @ dd)
    if sxx < 1e-12:
        raise InputError(
            "the treatment indicator has no variation after removing unit and time effects"
        )
    b = float(dd @ yd) / sxx
    resid = yd - b * dd
    ci = pd.factorize(df[cl])[0]
    score = np.bincount(ci, dd * resid)
    n_obs, n_cl = len(yd), ci.max() + 1
    k = 1 + (ti.max() + 1)  # treatment + time effects; unit effects nested in clusters (fixest)
    adj = n_cl / (n_cl - 1) * (n_obs - 1) / (n_obs - k)
    se = float(np.sqrt(adj * np.sum(score**2)) / sxx)
    tdist = stats.t(df=n_cl - 1)
    crit = tdist.ppf(0.5 + conf / 2)
    p = float(2 * tdist.sf(abs(b / se)))
    staggered = n_cohorts > 1
    if staggered:
        warnings.warn(
            f"twfe: treatment starts at {n_cohorts} different times (staggered roll-out); the "
            "two-way fixed-effects estimate can be biased when effects vary over time or across "
            "cohorts. Use did() (Callaway & Sant'Anna) instead.",
            UserWarning,
            stacklevel=2,
        )
    effects = pd.DataFrame(
        [dict(term="twfe", estimate=b, se=se, lower=b - crit * se, upper=b + crit * se, p_value=p)]
    )
    return TWFEResult(
        design="twfe",
        effects=effects,
        main_term="twfe",
        scale="att",
        conf=conf,
        staggered=staggered,
        n_cohorts=int(n_cohorts),
        n_obs=n_obs,
        n_clusters=int(n_cl),
        z=float(stats.norm.ppf(0.5 + conf / 2)),
        df_correction=adj,
    )


def _twfe_data(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated_col: str | None,
    first_treated: str | None,
    cl: str,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """Validated columns, outcome, treatment indicator and the number of start times."""
    cols = [outcome, unit, time, str(treated_col or first_treated)]
    cols += [cl] if cl != unit else []
    _require_columns(data, cols)
    df = data[list(dict.fromkeys(cols))].copy()
    y = pd.to_numeric(df[outcome], errors="coerce")
    if y.isna().any():
        row = df.index[y.isna().to_numpy()][0]
        raise InputError(f"column {outcome!r} is missing or non-numeric (row {row})")
    if treated_col is not None:
        dcol = pd.to_numeric(df[treated_col], errors="coerce")
        if dcol.isna().any() or not dcol.isin([0, 1]).all():
            bad = dcol.isna() | ~dcol.isin([0, 1])
            row = df.index[bad.to_numpy()][0]
            raise InputError(f"column {treated_col!r} must be 0/1 (row {row})")
        d = dcol.to_numpy(dtype=float)
        starts = df.loc[dcol == 1].groupby(unit)[time].min()
        n_cohorts = starts.nunique()
    else:
        g = pd.to_numeric(df[first_treated], errors="coerce").fillna(0)
        tnum = pd.to_numeric(df[time], errors="coerce")
        d = ((g > 0) & (tnum >= g)).to_numpy(dtype=float)
        n_cohorts = g[g > 0].nunique()
    return df, y.to_numpy(dtype=float), d, int(n_cohorts)
