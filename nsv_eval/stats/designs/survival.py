"""Time-to-event analysis: Kaplan-Meier, Cox regression, cumulative incidence.

* :func:`kaplan_meier` — the product-limit estimator with Greenwood standard errors
  (statsmodels ``SurvfuncRight``) and pointwise log(-log) confidence limits (as Stata's
  ``sts list`` and SAS ``PROC LIFETEST``; R's ``survfit`` uses a log transform by default).
* :func:`cox` — proportional hazards regression (statsmodels ``PHReg``; Efron or Breslow
  ties, optional strata), returned as an :class:`EffectResult` of hazard ratios.
* :func:`cumulative_incidence` — the Aalen-Johansen estimator of the cumulative incidence
  function (CIF) of one event type when other events (typically death) compete, with the
  delta-method (Greenwood-type) variance of Marubini & Valsecchi (1995, ch. 10) as given in
  Collett (2015, Modelling Survival Data, 3rd ed., §12.2). Estimates and standard errors come
  from statsmodels ``CumIncidenceRight``; this module adds the risk-set counts, log(-log)
  confidence limits, groups, the naive ``1 - KM`` for comparison and the plot.

Why the CIF and not ``1 - KM``: if death is treated as censoring, Kaplan-Meier estimates the
risk in a world where nobody dies, and so overestimates the proportion who actually have
the event (e.g. are readmitted) when deaths are common (Putter, Fiocco & Geskus 2007,
Stat. Med. 26:2389).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight

from nsv_eval.errors import InputError
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.cohort import design_matrix

__all__ = [
    "CoxResult",
    "CumulativeIncidenceResult",
    "cox",
    "cumulative_incidence",
    "kaplan_meier",
    "plot_kaplan_meier",
]

_CYCLE = [f"C{i}" for i in range(7)]  # rcParams colour cycle (report.theme sets the palette)


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------
def _check_time_event(data: pd.DataFrame, duration: str, event: str, fn: str) -> None:
    for c in (duration, event):
        if c not in data.columns:
            raise InputError(f"{fn}: column {c!r} not in the data")
    for c in (duration, event):
        s = data[c]
        if s.isna().any():
            i = int(np.flatnonzero(s.isna().to_numpy())[0])
            raise InputError(f"{fn}: column {c!r} is missing in row {i}")
    if not pd.api.types.is_numeric_dtype(data[duration]):
        raise InputError(f"{fn}: duration column {duration!r} must be numeric")
    neg = data[duration].to_numpy(float) < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise InputError(f"{fn}: duration column {duration!r} is negative in row {i}")


def _groups(data: pd.DataFrame, by: str | None, fn: str):
    if by is None:
        return [(None, data)]
    if by not in data.columns:
        raise InputError(f"{fn}: column {by!r} not in the data")
    if data[by].isna().any():
        i = int(np.flatnonzero(data[by].isna().to_numpy())[0])
        raise InputError(f"{fn}: grouping column {by!r} is missing in row {i}")
    return list(data.groupby(by, sort=True, observed=True))


def _loglog_limits(p: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits for a probability p on the log(-log p) scale.

    ``se`` is the standard error of p; by the delta method the SE of log(-log p) is
    ``se / (p |log p|)``. Returns limits in (0, 1), ordered (lower, upper).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.log(-np.log(p))
        s = se / (p * np.abs(np.log(p)))
        a = np.exp(-np.exp(lp + z * s))
        b = np.exp(-np.exp(lp - z * s))
    return np.minimum(a, b), np.maximum(a, b)


# --------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------
def kaplan_meier(
    data: pd.DataFrame,
    duration: str,
    event: str,
    *,
    by: str | None = None,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Kaplan-Meier survival curve(s) as a tidy frame.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    duration : str
        Follow-up time (numeric, >= 0).
    event : str
        1/True = event, 0/False = censored.
    by : str, optional
        Grouping column: one curve per value.
    conf : float
        Level of the pointwise confidence limits (log(-log) transform).

    Returns
    -------
    pandas.DataFrame
        Columns ``[by,] time, at_risk, events, survival, se, lower, upper, conf``: a row at
        time 0 (survival 1) and one at each distinct event time (statsmodels
        ``SurvfuncRight``; ``se`` by Greenwood's formula; limits undefined where S = 0).
    """
    _check_time_event(data, duration, event, "kaplan_meier")
    ev = data[event]
    if not (pd.api.types.is_bool_dtype(ev) or ev.isin([0, 1]).all()):
        raise InputError(f"kaplan_meier: event column {event!r} must be 0/1 or boolean")
    z = float(stats.norm.ppf(0.5 + conf / 2))
    out = []
    for key, g in _groups(data, by, "kaplan_meier"):
        sf = SurvfuncRight(g[duration].to_numpy(float), g[event].to_numpy(float))
        p = np.asarray(sf.surv_prob, dtype=float)
        se = np.asarray(sf.surv_prob_se, dtype=float)
        lo, hi = _loglog_limits(p, se, z)
        f = pd.DataFrame(
            {
                "time": np.asarray(sf.surv_times, dtype=float),
                "at_risk": np.asarray(sf.n_risk, dtype=int),
                "events": np.asarray(sf.n_events, dtype=int),
                "survival": p,
                "se": se,
                "lower": lo,
                "upper": hi,
                "conf": conf,
            }
        )
        start = pd.DataFrame(
            {
                "time": [0.0],
                "at_risk": [len(g)],
                "events": [0],
                "survival": [1.0],
                "se": [0.0],
                "lower": [1.0],
                "upper": [1.0],
                "conf": [conf],
            }
        )
        # a row at time 0 for every group, so a group without events still shows up
        # (unless events happen at time 0, then statsmodels' first row is that row)
        if not len(f) or f["time"].iloc[0] > 0:
            f = pd.concat([start, f], ignore_index=True) if len(f) else start
        if by is not None:
            f.insert(0, by, key[0] if isinstance(key, tuple) else key)
        out.append(f)
    return pd.concat(out, ignore_index=True)


def plot_kaplan_meier(
    km: pd.DataFrame,
    by: str | None = None,
    ax=None,
    *,
    labels: Mapping[str, str] | None = None,
    colors: Sequence[str] | None = None,
):
    """Step plot of a :func:`kaplan_meier` frame, with confidence bands.

    ``labels`` (keys ``xlabel``, ``ylabel``;
    :func:`nsv_eval.report.narrative.survival.km_plot_labels`) and ``colors`` (one per
    group, default ``"C0"``-``"C6"``) override the defaults.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
    else:
        fig = ax.figure
    lab = {"xlabel": "time", "ylabel": "survival", **(labels or {})}
    cyc = list(colors or _CYCLE)
    groups = [(None, km)] if by is None else list(km.groupby(by, sort=True))
    for i, (key, g) in enumerate(groups):
        col = cyc[i % len(cyc)]
        t = g["time"].to_numpy()
        s = g["survival"].to_numpy()
        ax.step(t, s, where="post", color=col, lw=2, label=None if key is None else str(key))
        ax.fill_between(
            t,
            g["lower"].fillna(g["survival"]).to_numpy(),
            g["upper"].fillna(g["survival"]).to_numpy(),
            step="post",
            color=col,
            alpha=0.15,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(lab["xlabel"])
    ax.set_ylabel(lab["ylabel"])
    ax.set_title("Kaplan-Meier")
    if by is not None:
        ax.legend(frameon=False, title=by)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# Cox regression
# --------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class CoxResult(EffectResult):
    """Hazard ratios from :func:`cox`.

    Attributes
    ----------
    model : statsmodels PHRegResults
        The fit.
    columns : list of str
        Design columns (one row of ``.table()`` each).
    n, n_events : int
        Persons and events.
    ties : str
        Tie handling; ``strata`` the strata column (or None).
    """

    model: Any = field(repr=False)
    columns: list[str]
    n: int
    n_events: int
    ties: str
    strata: str | None = None

    def plot(
        self,
        ax=None,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Forest plot of the hazard ratios (log scale); ``labels``: ``xlabel``, ``title``."""
        import matplotlib.pyplot as plt

        lab = {"xlabel": "hazard ratio (log)", "title": "Cox", **(labels or {})}
        col = {"estimate": "C0", "null": "C8", **(colors or {})}
        t = self.table().iloc[::-1]
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(t) + 1.4))
        else:
            fig = ax.figure
        y = np.arange(len(t))
        ax.errorbar(
            t["estimate"],
            y,
            xerr=[t["estimate"] - t["lower"], t["upper"] - t["estimate"]],
            fmt="o",
            color=col["estimate"],
            ecolor=col["estimate"],
            capsize=3,
        )
        ax.axvline(1, color=col["null"], ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yticks(y, t["term"])
        ax.set_xlabel(lab["xlabel"])
        ax.set_title(lab["title"])
        fig.tight_layout()
        return fig


def cox(
    data: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    strata: str | None = None,
    ties: str = "efron",
    main: str | None = None,
    conf: float = 0.95,
) -> CoxResult:
    """Cox proportional hazards regression (statsmodels ``PHReg``).

    Parameters
    ----------
    data : pandas.DataFrame
    duration, event : str
        Follow-up time and event indicator (0/1).
    covariates : list of str
        Numeric columns enter linearly, booleans as 0/1, strings/categoricals as indicators
        (first level = reference, named ``"column[level]"``).
    strata : str, optional
        Column defining strata with separate baseline hazards.
    ties : {"efron", "breslow"}
        Handling of tied event times.
    main : str, optional
        Term reported as the headline (default: the first design column).
    conf : float
        Confidence level.

    Returns
    -------
    CoxResult
        ``table()``: one row per design column with the hazard ratio (``estimate``),
        limits, Wald p-value, ``log_hr`` and ``se``.
    """
    _check_time_event(data, duration, event, "cox")
    if ties not in ("efron", "breslow"):
        raise InputError(f"cox: ties must be 'efron' or 'breslow', got {ties!r}")
    ev = data[event]
    if not (pd.api.types.is_bool_dtype(ev) or ev.isin([0, 1]).all()):
        raise InputError(f"cox: event column {event!r} must be 0/1 or boolean")
    x = design_matrix(data, list(covariates))
    strata_arr = None
    if strata is not None:
        if strata not in data.columns:
            raise InputError(f"cox: strata column {strata!r} not in the data")
        strata_arr = pd.factorize(data[strata])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PHReg(
            data[duration].to_numpy(float),
            x.to_numpy(float),
            status=data[event].to_numpy(float),
            strata=strata_arr,
            ties=ties,
        )
        fit = model.fit()
    z = float(stats.norm.ppf(0.5 + conf / 2))
    b = np.asarray(fit.params)
    se = np.asarray(fit.bse)
    effects = pd.DataFrame(
        {
            "term": list(x.columns),
            "estimate": np.exp(b),
            "lower": np.exp(b - z * se),
            "upper": np.exp(b + z * se),
            "p_value": 2 * stats.norm.sf(np.abs(b / se)),
            "log_hr": b,
            "se": se,
        }
    )
    main_term = main if main is not None else str(x.columns[0])
    if main_term not in set(effects["term"]):
        raise InputError(f"cox: main term {main_term!r} is not among {list(x.columns)}")
    return CoxResult(
        design="cox",
        effects=effects,
        main_term=main_term,
        scale="hazard_ratio",
        conf=conf,
        model=fit,
        columns=list(x.columns),
        n=int(len(data)),
        n_events=int(data[event].astype(float).sum()),
        ties=ties,
        strata=strata,
    )


# --------------------------------------------------------------------------------------
# Cumulative incidence (Aalen-Johansen)
# --------------------------------------------------------------------------------------
def _last_variance(
    n: np.ndarray, d_all: np.ndarray, d1: np.ndarray, s_prev: np.ndarray, f: np.ndarray
) -> float:
    """Delta-method variance of the CIF at the last time, written in the factored form.

    statsmodels uses the algebraically expanded form, which gives inf - inf when everyone
    still at risk has an event (n = d) at the last time; in the factored form that term is
    (F(t) - F(t_j))^2 * d/(n(n-d)) = 0 * inf, whose limit is 0.
    """
    df = f[-1] - f
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(df == 0, 0.0, df**2 * d_all / (n * (n - d_all)))
    t2 = s_prev**2 * d1 * (n - d1) / n**3
    t3 = df * s_prev * d1 / n**2
    return float(np.sum(t1) + np.sum(t2) - 2 * np.sum(t3))


@dataclass
class CumulativeIncidenceResult:
    """Result of :func:`cumulative_incidence`.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``[by,] time, at_risk, events, competing_events, cif, se, lower, upper,
        one_minus_km, conf``: a row at time 0 (CIF 0) and one at each distinct time with
        an event of any type. Limits are undefined where the CIF is 1.
    by : str or None
    conf : float
    event_of_interest : object
        The event code whose incidence is estimated.
    competing : list
        Codes of the competing events.
    """

    frame: pd.DataFrame
    by: str | None
    conf: float
    event_of_interest: Any = 1
    competing: list[Any] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """The tidy estimate frame."""
        return self.frame.copy()

    def at(self, time: float) -> pd.DataFrame:
        """CIF (and 1 - KM) at ``time`` for each group: the last row at or before it."""
        rows: list[dict[str, Any]] = []
        groups = [(None, self.frame)] if self.by is None else self.frame.groupby(self.by)
        for key, g in groups:
            h = g[g["time"] <= time]
            r: dict[str, Any]
            if h.empty:
                r = {"cif": 0.0, "se": 0.0, "lower": 0.0, "upper": 0.0, "one_minus_km": 0.0}
            else:
                r = h.iloc[-1][["cif", "se", "lower", "upper", "one_minus_km"]].to_dict()
            r["time"] = time
            if self.by is not None:
                r[self.by] = key
            rows.append(r)
        cols = ([self.by] if self.by else []) + [
            "time",
            "cif",
            "se",
            "lower",
            "upper",
            "one_minus_km",
        ]
        return pd.DataFrame(rows)[cols]

    def difference(self, time: float, group1: Any, group0: Any) -> pd.Series:
        """Difference in CIF at ``time`` between two groups (independent samples).

        Returns a Series with ``estimate``, ``se``, ``lower``, ``upper``, ``p_value``
        (Wald test on the difference of two independent Aalen-Johansen estimates).
        """
        if self.by is None:
            raise ValueError("difference needs a result computed with by=")
        a = self.at(time).set_index(self.by)
        for gname in (group1, group0):
            if gname not in a.index:
                raise ValueError(f"no group {gname!r} in column {self.by!r}")
        est = float(a.loc[group1, "cif"] - a.loc[group0, "cif"])
        se = float(np.hypot(a.loc[group1, "se"], a.loc[group0, "se"]))
        z = float(stats.norm.ppf(0.5 + self.conf / 2))
        p = float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else float("nan")
        return pd.Series(
            {"estimate": est, "se": se, "lower": est - z * se, "upper": est + z * se, "p_value": p}
        )

    def summary(self) -> str:
        """Compact numeric table: the CIF, its interval and 1 - KM at the last time."""
        t = float(self.frame["time"].max())
        head = f"cumulative incidence | conf: {self.conf:g} | time: {t:g}"
        body = self.at(t).to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return head + "\n" + body

    def plot(
        self,
        ax=None,
        show_km: bool = True,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Sequence[str] | None = None,
    ):
        """Step plot of the CIF with confidence bands, and 1 - KM dashed for comparison.

        ``labels`` (keys ``cif``, ``km``, ``xlabel``, ``ylabel``, ``title``;
        :func:`nsv_eval.report.narrative.survival.cif_plot_labels`) and ``colors`` (one per
        group, default ``"C0"``-``"C6"``) override the defaults.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        lab = {"cif": "CIF", "km": "1 - KM", "xlabel": "time", "ylabel": "CIF", "title": "CIF"}
        lab.update(labels or {})
        cyc = list(colors or _CYCLE)
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 4))
        else:
            fig = ax.figure
        groups = [(None, self.frame)] if self.by is None else list(self.frame.groupby(self.by))
        for i, (key, g) in enumerate(groups):
            col = cyc[i % len(cyc)]
            t = g["time"].to_numpy()
            prefix = "" if key is None else f"{key}: "
            ax.step(
                t, g["cif"].to_numpy(), where="post", color=col, lw=2, label=prefix + lab["cif"]
            )
            ax.fill_between(
                t,
                g["lower"].fillna(g["cif"]).to_numpy(),
                g["upper"].fillna(g["cif"]).to_numpy(),
                step="post",
                color=col,
                alpha=0.15,
            )
            if show_km:
                ax.step(
                    t,
                    g["one_minus_km"].to_numpy(),
                    where="post",
                    color=col,
                    lw=1.2,
                    ls="--",
                    label=prefix + lab["km"],
                )
        ax.set_xlabel(lab["xlabel"])
        ax.set_ylabel(lab["ylabel"])
        ax.set_title(lab["title"])
        ax.legend(frameon=False)
        fig.tight_layout()
        return fig


def cumulative_incidence(
    data: pd.DataFrame,
    duration: str,
    event: str,
    *,
    event_of_interest: Any = 1,
    competing: Sequence[Any] = (2,),
    by: str | None = None,
    conf: float = 0.95,
) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence of one event type with competing risks.

    Parameters
    ----------
    data : pandas.DataFrame
    duration : str
        Time to the first event or censoring.
    event : str
        Event type: ``event_of_interest``, one of ``competing``, or anything else = censored
        (0 by convention). Values not in the event sets must be 0/False, to catch typos.
    event_of_interest : scalar
        Code of the event whose cumulative incidence is wanted (e.g. 1 = readmission).
    competing : sequence
        Codes of competing events (e.g. 2 = death).
    by : str, optional
        Grouping column.
    conf : float
        Level of the pointwise log(-log) confidence limits.

    Returns
    -------
    CumulativeIncidenceResult
    """
    _check_time_event(data, duration, event, "cumulative_incidence")
    competing = list(competing)
    if event_of_interest in competing:
        raise InputError("cumulative_incidence: event_of_interest is also listed as competing")
    ev = data[event]
    is1 = (ev == event_of_interest).to_numpy()
    is2 = ev.isin(competing).to_numpy()
    is0 = (ev == 0).to_numpy() | (ev.astype(str) == "False").to_numpy()
    bad = ~(is1 | is2 | is0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"cumulative_incidence: event column {event!r} has {ev.iloc[i]} in row {i}; "
            f"expected {event_of_interest!r} (event), {competing} (competing) or 0 (censored)"
        )
    code = np.where(is1, 1, np.where(is2, 2, 0))
    z = float(stats.norm.ppf(0.5 + conf / 2))
    work = pd.DataFrame({"_t": data[duration].to_numpy(float), "_c": code}, index=data.index)
    if by is not None:
        work[by] = data[by]
    out = []
    for key, g in _groups(work, by, "cumulative_incidence"):
        fr = _aalen_johansen(g["_t"].to_numpy(float), g["_c"].to_numpy(int), z, conf)
        if by is not None:
            fr.insert(0, by, key[0] if isinstance(key, tuple) else key)
        out.append(fr)
    if not (code > 0).any():
        raise InputError(f"cumulative_incidence: no events in column {event!r}")
    frame = pd.concat(out, ignore_index=True)
    return CumulativeIncidenceResult(
        frame=frame,
        by=by,
        conf=conf,
        event_of_interest=event_of_interest,
        competing=list(competing),
    )


def _aalen_johansen(t: np.ndarray, c: np.ndarray, z: float, conf: float) -> pd.DataFrame:
    """One group's CIF (code 1; code 2 competing, 0 censored) with log(-log) limits and
    1 - KM, at time 0 and at each distinct time with an event of any type."""
    start = pd.DataFrame(
        {
            "time": [0.0],
            "at_risk": [len(t)],
            "events": [0],
            "competing_events": [0],
            "cif": [0.0],
            "se": [0.0],
            "lower": [0.0],
            "upper": [0.0],
            "one_minus_km": [0.0],
            "conf": [conf],
        }
    )
    if (c == 0).all():  # no events in this group: the CIF stays 0
        return start
    # statsmodels wants the status codes 1..K to be present up to K = max(status)
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = CumIncidenceRight(t, c)
    times = np.asarray(ci.times, dtype=float)
    f = np.asarray(ci.cinc[0], dtype=float)
    se = np.asarray(ci.cinc_se[0], dtype=float)
    # risk sets and counts at each distinct time (same grid as statsmodels)
    ts = np.sort(t)
    n = (len(t) - np.searchsorted(ts, times, side="left")).astype(float)
    pos = np.searchsorted(times, t)
    d1 = np.bincount(pos[c == 1], minlength=len(times)).astype(float)
    d2 = np.bincount(pos[c == 2], minlength=len(times)).astype(float)
    keep = (d1 + d2) > 0
    # 1 - KM for the event of interest, competing events treated as censoring
    km = 1.0 - np.cumprod(1.0 - d1 / n)
    s_all = np.cumprod(1.0 - (d1 + d2) / n)
    s_prev = np.r_[1.0, s_all[:-1]]
    if len(se) and not np.isfinite(se[-1]):
        se = se.copy()
        se[-1] = np.sqrt(max(_last_variance(n, d1 + d2, d1, s_prev, f), 0.0))
    lo, hi = _loglog_limits(f, se, z)
    zero = f == 0
    lo[zero] = 0.0
    hi[zero] = 0.0
    fr = pd.DataFrame(
        {
            "time": times,
            "at_risk": n.astype(int),
            "events": d1.astype(int),
            "competing_events": d2.astype(int),
            "cif": f,
            "se": se,
            "lower": lo,
            "upper": hi,
            "one_minus_km": km,
            "conf": conf,
        }
    )[keep]
    if not len(fr) or fr["time"].iloc[0] > 0:  # events at time 0 make their own row
        fr = pd.concat([start, fr], ignore_index=True)
    return fr
