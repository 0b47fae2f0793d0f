"""Synthetic control (Abadie, Diamond & Hainmueller 2010, JASA 105:493).

One treated unit (a kommune, a region) is compared with a *synthetic control*: a weighted
average of untreated donor units, with weights ``w >= 0``, ``sum(w) = 1``, chosen so that
the synthetic unit resembles the treated unit before the intervention. The effect is the
gap ``treated - synthetic`` after the intervention. Inference is by in-space placebos: the
method is re-run with every donor in turn playing the treated unit, and the treated unit's
ratio of post- to pre-intervention root mean squared prediction error (RMSPE) is ranked
among all units.

The optimisation is written by hand: there is no maintained Python implementation of the
synthetic control method in our stack (statsmodels and scipy do not have one; the small
third-party packages are unmaintained or pull in heavy dependencies). It follows the R/Stata
``Synth`` package: predictors are scaled by their standard deviation across units, the donor
weights ``W(V)`` minimise the V-weighted predictor discrepancy (an inner quadratic programme
on the simplex, solved with scipy's ``nnls`` on an augmented system), and the diagonal
predictor-importance matrix ``V`` is chosen by Nelder-Mead (several starts) to minimise the
pre-period mean squared prediction error of the outcome. The outcome never enters the inner
problem, so V cannot hand the choice of W to the outcome (see ``_fit_weights``); V is
reported in ``.table()`` (rows ``v[<predictor>]``) and a warning says when it is
concentrated on one predictor. With the predictors of ADH (2010) this reproduces their
Table 2 and California's rank 1 of 39 (``tests/test_synthetic_control.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from nsv_eval.errors import InputError
from nsv_eval.stats.designs.base import EffectResult

__all__ = ["SyntheticControlResult", "synthetic_control"]


# --------------------------------------------------------------------------------------
# numerical core
# --------------------------------------------------------------------------------------
def _simplex_weights(
    x0: np.ndarray, x1: np.ndarray, v: np.ndarray, ridge: np.ndarray | None = None
) -> np.ndarray:
    """Solve ``min_w sum_k v_k (x1_k - x0_k w)^2 + sum_j ridge_j w_j^2`` subject to
    ``w >= 0``, ``sum(w) = 1``.

    ``x0`` is predictors x donors, ``x1`` the treated unit's predictors, ``ridge`` an
    optional non-negative penalty per donor (default none). The equality constraint is
    imposed by an extra, heavily weighted row in a non-negative least squares problem
    (Lawson-Hanson ``nnls``), which is exact up to ~1e-10 and much faster than a
    general-purpose SQP solver; the result is renormalised to sum to one.
    """
    sv = np.sqrt(v)
    a = sv[:, None] * x0
    b = sv * x1
    if ridge is not None:
        a = np.vstack([a, np.diag(np.sqrt(ridge))])
        b = np.concatenate([b, np.zeros(x0.shape[1])])
    big = 1e3 * (1.0 + np.abs(a).max() + np.abs(b).max())
    a_aug = np.vstack([a, np.full((1, x0.shape[1]), big)])
    b_aug = np.append(b, big)
    w, _ = optimize.nnls(a_aug, b_aug, maxiter=50 * x0.shape[1])
    w = np.clip(w, 0.0, None)
    total = w.sum()
    if total <= 0:  # pragma: no cover - nnls with the constraint row never returns 0
        return np.full(x0.shape[1], 1.0 / x0.shape[1])
    return w / total


_TIE_BREAK = 1e-6  # weight of the predictor-distance tie-break in the inner problem
_V_CONCENTRATED = 0.9  # a V with this share on one predictor triggers a warning


def _v_from(theta: np.ndarray) -> np.ndarray:
    """Predictor weights from the free parameters as in ``Synth``: ``|theta| / sum|theta|``."""
    a = np.abs(theta)
    total = a.sum()
    return a / total if total > 0 else np.full(len(a), 1.0 / len(a))


def _regression_start(x0: np.ndarray, x1: np.ndarray, z0: np.ndarray, z1: np.ndarray):
    """``Synth``'s regression-based starting value for V: regress the pre-period outcomes
    of all units on the scaled predictors (with intercept); V ~ diag(B B')."""
    xall = np.column_stack([np.ones(x0.shape[1] + 1), np.column_stack([x1, x0]).T])
    zall = np.column_stack([z1, z0]).T
    beta = np.linalg.lstsq(xall, zall, rcond=None)[0][1:]
    sv = np.einsum("kt,kt->k", beta, beta)
    if not np.all(np.isfinite(sv)) or sv.sum() <= 0:
        return None
    return sv / sv.sum()


def _fit_weights(
    x0: np.ndarray,
    x1: np.ndarray,
    z0: np.ndarray,
    z1: np.ndarray,
    optimise_v: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Donor weights and predictor weights V for one treated unit.

    ``x0``/``x1``: scaled predictors (k x J, k); ``z0``/``z1``: pre-period outcomes used
    for choosing V (T0 x J, T0). When ``optimise_v`` is False, V is uniform.

    Nested optimisation as in ``Synth`` (Abadie, Diamond & Hainmueller 2011, J. Stat.
    Softw. 42:13): the inner problem ``W(V)`` sees the predictors only, the outer problem
    chooses V (on the simplex, ``|theta| / sum|theta|``) to minimise the pre-period outcome
    MSPE of ``W(V)``. The outcome must not enter the inner problem: with an outcome term
    there (even a tiny tie-break), any V that makes the predictor fit non-unique, e.g. all
    weight on one predictor, hands the choice of W to the outcome, so the outer search
    collapses V onto one predictor and every predictor set becomes the outcome-only fit.
    Here W depends on the outcome only through V. The outer search is Nelder-Mead from
    ``Synth``'s starts (uniform V, the regression-based V) and from V emphasising each
    predictor in turn (the outer surface is flat and multimodal), the best one polished by
    a restart.
    """
    k = x0.shape[0]
    if not optimise_v or k == 1:
        v = np.full(k, 1.0 / k)
        return _simplex_weights(x0, x1, v), v

    # Tie-break among exact predictor fits (the treated unit inside the donors' convex
    # hull, e.g. a few lags as predictors): a tiny penalty on each donor's squared weight
    # in proportion to its own V-weighted predictor distance from the treated unit, which
    # prefers donors that resemble the treated unit (the idea of Abadie & L'Hour 2021,
    # JASA 116:1817, in a quadratic form that nnls can solve). It uses the predictors only,
    # so it cannot hand the choice of W to the outcome. A well-determined fit hardly moves;
    # when V nearly ignores some predictors the fit is close to degenerate and the tie-break
    # matters more (ADH 2010's Proposition 99: donor weights move by up to 0.005).
    ridge = _TIE_BREAK * ((x1[:, None] - x0) ** 2).mean(axis=0)

    def inner(v: np.ndarray) -> np.ndarray:
        return _simplex_weights(x0, x1, v, ridge=ridge)

    def loss(theta: np.ndarray) -> float:
        r = z1 - z0 @ inner(_v_from(theta))
        return float(r @ r) / len(r)

    starts = [np.full(k, 1.0 / k)]
    reg = _regression_start(x0, x1, z0, z1)
    if reg is not None:
        starts.append(reg)
    for j in range(k):
        s = np.full(k, 0.5 / (k - 1))
        s[j] = 0.5
        starts.append(s)
    opts = {"xatol": 1e-5, "fatol": 1e-9, "maxiter": 150 * k}
    best_theta, best_loss = starts[0], np.inf
    for s in starts:
        res = optimize.minimize(loss, s, method="Nelder-Mead", options=opts)
        if res.fun < best_loss:
            best_theta, best_loss = _v_from(res.x), float(res.fun)
    res = optimize.minimize(loss, best_theta, method="Nelder-Mead", options=opts)
    if res.fun < best_loss:
        best_theta = _v_from(res.x)
    v = _v_from(best_theta)
    return inner(v), v


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------
PredictorSpec = tuple  # (column, periods) or (column, periods, agg)


def _predictor_label(col: str, periods: Any, agg: str) -> str:
    if periods is None:
        return f"{col} ({agg}, pre-period)"
    if np.isscalar(periods):
        return f"{col} ({periods!s})"
    p = list(periods)
    return f"{col} ({agg} {p[0]}-{p[-1]})" if len(p) > 1 else f"{col} ({p[0]})"


def _build_predictors(
    panel: dict[str, pd.DataFrame],
    predictors: Sequence[PredictorSpec],
    pre_times: list,
    all_times: list,
) -> tuple[pd.DataFrame, list[str]]:
    """Predictor matrix: rows = predictors, columns = units."""
    rows, labels = [], []
    for spec in predictors:
        if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
            raise InputError(
                f"synthetic_control: predictor {spec!r} must be (column, periods) or "
                "(column, periods, aggregation)"
            )
        col, periods = spec[0], spec[1]
        agg = spec[2] if len(spec) == 3 else "mean"
        if col not in panel:
            raise InputError(f"synthetic_control: predictor column {col!r} not in the data")
        wide = panel[col]
        if periods is None:
            use = pre_times
        elif np.isscalar(periods):
            use = [periods]
        else:
            use = list(periods)
        missing = [p for p in use if p not in all_times]
        if missing:
            raise InputError(
                f"synthetic_control: predictor {col!r} refers to periods {missing} "
                "that are not in the time column"
            )
        block = wide.loc[use]
        if block.isna().any().any():
            bad = block.columns[block.isna().any()].tolist()
            raise InputError(
                f"synthetic_control: predictor {col!r} is missing in periods {use} for units {bad}"
            )
        try:
            rows.append(block.agg(agg))
        except (AttributeError, TypeError, ValueError) as exc:
            raise InputError(
                f"synthetic_control: unknown aggregation {agg!r} for predictor {col!r}"
            ) from exc
        labels.append(_predictor_label(col, periods, agg))
    return pd.DataFrame(rows, index=labels), labels


@dataclass
class _Fit:
    weights: pd.Series  # donor -> weight
    v: pd.Series  # predictor -> importance
    path: pd.DataFrame  # time, treated, synthetic, gap
    pre_rmspe: float
    post_rmspe: float


def _fit_one(
    y: pd.DataFrame,
    xmat: pd.DataFrame | None,
    treated: Hashable,
    donors: list,
    pre_times: list,
    fit_times: list,
    post_times: list,
) -> _Fit:
    z0 = y.loc[fit_times, donors].to_numpy(float)
    z1 = y.loc[fit_times, treated].to_numpy(float)
    if xmat is None:
        x0, x1 = z0, z1
        labels = [f"outcome ({t})" for t in fit_times]
        optimise_v = False
    else:
        units = [treated, *donors]
        sd = np.array(xmat[units].std(axis=1, ddof=1), dtype=float)
        sd[~np.isfinite(sd) | (sd == 0)] = 1.0
        x0 = xmat[donors].to_numpy(float) / sd[:, None]
        x1 = xmat[treated].to_numpy(float) / sd
        labels = list(xmat.index)
        optimise_v = True
    w, v = _fit_weights(x0, x1, z0, z1, optimise_v)
    times = list(y.index)
    synth = y.loc[times, donors].to_numpy(float) @ w
    path = pd.DataFrame(
        {"time": times, "treated": y.loc[times, treated].to_numpy(float), "synthetic": synth}
    )
    path["gap"] = path["treated"] - path["synthetic"]
    gap = path.set_index("time")["gap"]
    pre = float(np.sqrt(np.mean(gap.loc[pre_times].to_numpy() ** 2)))
    post = float(np.sqrt(np.mean(gap.loc[post_times].to_numpy() ** 2)))
    return _Fit(pd.Series(w, index=donors), pd.Series(v, index=labels), path, pre, post)


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class SyntheticControlResult(EffectResult):
    """Result of :func:`synthetic_control`.

    Besides the :class:`EffectResult` contract it exposes the donor ``weights``, the
    ``path`` (treated, synthetic, gap over time), ``balance`` of the predictors,
    ``placebos`` (one row per unit: pre/post RMSPE, ratio, included in the p-value) and
    ``placebo_gaps`` (unit x time gaps of the placebo runs), and as attributes:

    Attributes
    ----------
    treated_unit, outcome, intervention_start
        The call.
    v : pandas.Series
        Predictor weights V; ``v_max`` the largest, ``v_concentrated`` True when V puts
        90 % or more on one predictor (a warning was issued).
    pre_rmspe, post_rmspe, ratio : float
        The treated unit's RMSPE before/after and their ratio; ``pre_outcome_sd`` the SD
        of its pre-period outcome.
    rank, n_permutation : int
        Rank of the treated ratio among the ``n_permutation`` units in the test.
    excluded : list
        Placebo units left out of the test; ``mspe_cutoff`` and ``exact_fit_tol`` the rules,
        ``n_exact_fit`` placebos left out as exact fits, ``treated_exact_fit`` the treated
        unit itself fitted exactly (no test).
    placebo_run : bool
        Whether the placebo test ran.
    pre_times, post_times : list
        Periods before and from the start.
    data : pandas.DataFrame
        The data as passed.
    """

    treated_unit: Any
    outcome: str
    intervention_start: Any
    weights_frame: pd.DataFrame = field(repr=False)
    v: pd.Series
    v_max: float
    v_concentrated: bool
    path_frame: pd.DataFrame = field(repr=False)
    balance_frame: pd.DataFrame = field(repr=False)
    placebo_frame: pd.DataFrame = field(repr=False)
    placebo_gap_frame: pd.DataFrame = field(repr=False)
    pre_rmspe: float
    post_rmspe: float
    ratio: float
    rank: int
    n_permutation: int
    excluded: list[Any]
    mspe_cutoff: float | None
    placebo_run: bool
    pre_outcome_sd: float
    exact_fit_tol: float | None
    treated_exact_fit: bool
    n_exact_fit: int
    pre_times: list[Any]
    post_times: list[Any]
    data: pd.DataFrame = field(repr=False)

    @property
    def weights(self) -> pd.DataFrame:
        """Donor weights, largest first (columns ``unit``, ``weight``)."""
        return self.weights_frame.copy()

    @property
    def path(self) -> pd.DataFrame:
        """Treated and synthetic outcome and their gap over time."""
        return self.path_frame.copy()

    @property
    def balance(self) -> pd.DataFrame:
        """Predictor values of the treated unit, the synthetic control and the donor mean."""
        return self.balance_frame.copy()

    @property
    def placebos(self) -> pd.DataFrame:
        """In-space placebo statistics, one row per unit (the treated unit first)."""
        return self.placebo_frame.copy()

    @property
    def placebo_gaps(self) -> pd.DataFrame:
        """Gap paths of the placebo runs (long: ``unit``, ``time``, ``gap``)."""
        return self.placebo_gap_frame.copy()

    @property
    def p_value(self) -> float:
        """Permutation p-value of the post/pre RMSPE ratio."""
        return float(self.main_effect()["p_value"])

    def plot(
        self,
        ax=None,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Treated vs synthetic path (left) and gap with placebo gaps (right).

        Parameters
        ----------
        ax : sequence of two matplotlib Axes, optional
            Where to draw; a new figure with two panels is made when omitted.
        labels : mapping, optional
            Texts (keys ``synthetic`` with ``{treated}``, ``time``, ``path_title``,
            ``placebos``, ``gap``, ``gap_title``;
            :func:`nsv_eval.report.narrative.synthetic_control.plot_labels`).
        colors : mapping, optional
            Colours (keys ``treated``, ``synthetic``, ``placebo``, ``gap``, ``reference``);
            default entries of the rcParams colour cycle.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        lab = {**SC_PLOT_LABELS, **(labels or {})}
        col = {**SC_PLOT_COLORS, **(colors or {})}
        if ax is None:
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        else:
            axes = list(ax)
            if len(axes) != 2:
                raise ValueError("synthetic_control plot needs two axes")
            fig = axes[0].figure
        path = self.path_frame
        start = self.intervention_start
        treated = str(self.treated_unit)
        a0, a1 = axes
        a0.plot(path["time"], path["treated"], color=col["treated"], lw=2, label=treated)
        a0.plot(
            path["time"],
            path["synthetic"],
            color=col["synthetic"],
            lw=2,
            ls="--",
            label=lab["synthetic"].format(treated=treated),
        )
        a0.axvline(start, color=col["reference"], ls=":", lw=1)
        a0.set_xlabel(lab["time"])
        a0.set_ylabel(self.outcome)
        a0.set_title(lab["path_title"])
        a0.legend(frameon=False)

        pg = self.placebo_gap_frame
        plc = self.placebo_frame
        incl = set(plc.loc[plc["included"], "unit"])
        first = True
        for unit, g in pg.groupby("unit", sort=False):
            if unit not in incl:
                continue
            a1.plot(
                g["time"],
                g["gap"],
                color=col["placebo"],
                lw=0.8,
                alpha=0.6,
                label=lab["placebos"] if first else None,
            )
            first = False
        a1.plot(path["time"], path["gap"], color=col["gap"], lw=2.2, label=treated)
        a1.axhline(0, color=col["reference"], lw=0.8)
        a1.axvline(start, color=col["reference"], ls=":", lw=1)
        a1.set_xlabel(lab["time"])
        a1.set_ylabel(lab["gap"])
        a1.set_title(lab["gap_title"])
        a1.legend(frameon=False)
        fig.tight_layout()
        return fig


SC_PLOT_LABELS: dict[str, str] = {
    "synthetic": "synthetic {treated}",
    "time": "time",
    "path_title": "path",
    "placebos": "placebos",
    "gap": "gap",
    "gap_title": "gap",
}
"""Default (label-only) texts of :meth:`SyntheticControlResult.plot`."""

SC_PLOT_COLORS: dict[str, str] = {
    "treated": "C6",
    "synthetic": "C0",
    "placebo": "C5",
    "gap": "C3",
    "reference": "C8",
}
"""Default colours of :meth:`SyntheticControlResult.plot`: rcParams colour-cycle entries."""


# --------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------
def synthetic_control(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Hashable,
    intervention_start: Any,
    *,
    predictors: Sequence[PredictorSpec] | None = None,
    donors: Sequence[Hashable] | None = None,
    pre_period: Sequence[Any] | None = None,
    placebo: bool = True,
    mspe_cutoff: float | None = None,
    exact_fit_tol: float | None = 1e-6,
    conf: float = 0.95,
) -> SyntheticControlResult:
    """Estimate the effect on one treated unit with the synthetic control method.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel: one row per unit and time.
    outcome, unit, time : str
        Column names. ``time`` must be orderable (years, dates, period numbers).
    treated_unit : hashable
        Value of ``unit`` that received the intervention.
    intervention_start : scalar
        First time period *affected* by the intervention (e.g. 1989 for Proposition 99).
    predictors : list of tuples, optional
        ``(column, periods)`` or ``(column, periods, aggregation)``. ``periods`` is a single
        time (value in that period), a list of times (aggregated, default mean) or None
        (aggregated over the pre-period). When omitted, every pre-period value of the
        outcome is a predictor with equal importance, i.e. the weights minimise the
        pre-period mean squared prediction error directly. When given, the predictor
        importance matrix V is chosen to minimise the pre-period outcome MSPE (nested
        optimisation as in the ``Synth`` package). A ``UserWarning`` is issued when V puts
        90 % or more on one predictor (``.v_concentrated``): the donor weights
        are then chosen to match essentially that predictor alone.
    donors : list, optional
        Units allowed in the synthetic control (default: every unit except the treated).
    pre_period : list, optional
        Periods whose outcome MSPE is minimised when choosing V and whose RMSPE is
        reported (default: every period before ``intervention_start``).
    placebo : bool
        Run the in-space placebo test (refit with each donor as the treated unit, the real
        treated unit left out of the donor pools). Needed for the p-value and interval.
    exact_fit_tol : float or None, default 1e-6
        Units reproduced *exactly* before the start (pre-period RMSPE at most
        ``exact_fit_tol`` times the treated unit's pre-period outcome SD) have an undefined
        post/pre RMSPE ratio (0/0). This happens when there are more donors than pre-periods
        and a unit lies inside the convex hull of the others. Such placebos are left out of
        the permutation test and the interval (in the spirit of ADH 2010, who leave out
        placebos whose fit is not comparable); when the treated unit itself is fitted
        exactly, p-value and interval are NaN (``.treated_exact_fit``) — the
        synthetic control has fitted noise and the test is not defined. None keeps every
        placebo.
    mspe_cutoff : float, optional
        Leave out of the test placebos whose pre-period MSPE exceeds ``mspe_cutoff`` times
        the treated unit's (Abadie et al. 2010 show cut-offs 20, 5 and 2).
    conf : float
        Confidence level of the interval for the average post-period gap.

    Returns
    -------
    SyntheticControlResult
        ``table()`` holds the average post-period gap (main term ``avg_post_gap``) with the
        permutation p-value and an interval from inverting the placebo test under a
        constant effect (Firpo & Possebom 2018, J. Causal Inference 6:2), one row per
        post period (``gap_<time>``, no interval) and one row per predictor with its
        weight in V (``v[<predictor>]``, no interval; uniform without ``predictors``).

    Raises
    ------
    InputError
        Missing columns, duplicated unit-time rows, missing outcome values, unknown units
        or periods, or too few pre-periods.
    """
    y, panel, donor_list, pre_times, post_times, fit_times = _validate(
        data,
        outcome,
        unit,
        time,
        treated_unit,
        intervention_start,
        predictors,
        donors,
        pre_period,
        conf,
    )
    xmat = _predictor_matrix(panel, predictors, treated_unit, donor_list, pre_times, y)
    main = _fit_one(y, xmat, treated_unit, donor_list, fit_times, fit_times, post_times)
    v_max, v_concentrated = _v_concentration(main, xmat)
    pre_sd = float(y.loc[pre_times, treated_unit].std(ddof=1))
    plc, gaps = _placebos(
        y,
        xmat,
        main,
        treated_unit,
        donor_list,
        fit_times,
        post_times,
        placebo,
        mspe_cutoff,
        exact_fit_tol,
        pre_sd,
    )
    treated_exact = bool(plc["exact_fit"].iloc[0])
    used = plc[plc["included"]]
    r_treated = float(plc["ratio"].iloc[0])
    n_perm = len(used)
    rank = int((used["ratio"] >= r_treated).sum())
    p_value = rank / n_perm if placebo and not treated_exact else float("nan")
    post_gap = main.path.set_index("time").loc[post_times, "gap"].to_numpy()
    est = float(post_gap.mean())
    lower, upper = _interval(used, main.pre_rmspe, post_gap, est, conf, placebo, treated_exact)
    return SyntheticControlResult(
        design="synthetic_control",
        effects=_effects_table(est, lower, upper, p_value, post_times, post_gap, main.v),
        main_term="avg_post_gap",
        scale="difference",
        conf=conf,
        treated_unit=treated_unit,
        outcome=outcome,
        intervention_start=intervention_start,
        weights_frame=_weights_frame(main),
        v=main.v,
        v_max=v_max,
        v_concentrated=v_concentrated,
        path_frame=main.path,
        balance_frame=_balance(y, xmat, main, outcome, treated_unit, donor_list, fit_times),
        placebo_frame=plc,
        placebo_gap_frame=pd.concat(gaps, ignore_index=True),
        pre_rmspe=main.pre_rmspe,
        post_rmspe=main.post_rmspe,
        ratio=r_treated,
        rank=rank,
        n_permutation=n_perm,
        excluded=plc.loc[~plc["included"], "unit"].tolist(),
        mspe_cutoff=mspe_cutoff,
        placebo_run=placebo,
        pre_outcome_sd=pre_sd,
        exact_fit_tol=exact_fit_tol,
        treated_exact_fit=treated_exact,
        n_exact_fit=int((plc["exact_fit"] & ~plc["treated"]).sum()),
        pre_times=pre_times,
        post_times=post_times,
        data=data,
    )


def _validate(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Hashable,
    intervention_start: Any,
    predictors: Sequence[PredictorSpec] | None,
    donors: Sequence[Hashable] | None,
    pre_period: Sequence[Any] | None,
    conf: float,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], list, list, list, list]:
    """Columns, units and periods checked; the outcome (time x unit, treated first), the
    wide panel of every used column, donors, pre/post periods and the fitted pre-period."""
    for col in (outcome, unit, time):
        if col not in data.columns:
            raise InputError(f"synthetic_control: column {col!r} not in the data")
    if not 0 < conf < 1:
        raise InputError(f"synthetic_control: conf must be between 0 and 1, got {conf}")
    dup = data.duplicated([unit, time])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"synthetic_control: duplicated {unit}/{time} in row {i} "
            f"({data[unit].iloc[i]!r}, {data[time].iloc[i]!r})"
        )
    cols = {outcome}
    for spec in predictors or []:
        if isinstance(spec, (tuple, list)) and spec:
            cols.add(spec[0])
    for c in cols:
        if c not in data.columns:
            raise InputError(f"synthetic_control: predictor column {c!r} not in the data")
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise InputError(f"synthetic_control: column {c!r} must be numeric")
    panel = {c: data.pivot(index=time, columns=unit, values=c).sort_index() for c in cols}
    y = panel[outcome]
    donor_list = _donors(list(y.columns), unit, treated_unit, donors)
    y = y[[treated_unit, *donor_list]]
    all_times = list(y.index)
    pre_times = [t for t in all_times if t < intervention_start]
    post_times = [t for t in all_times if t >= intervention_start]
    if len(pre_times) < 2 or not post_times:
        raise InputError(
            f"synthetic_control: need at least two periods before and one from "
            f"intervention_start={intervention_start!r} in column {time!r}"
        )
    fit_times = pre_times if pre_period is None else list(pre_period)
    bad = [t for t in fit_times if t not in pre_times]
    if bad:
        raise InputError(f"synthetic_control: pre_period has periods {bad} not before start")
    if y.isna().any().any():
        na = y.isna()
        t_bad = na.any(axis=1).idxmax()
        u_bad = na.loc[t_bad].idxmax()
        raise InputError(
            f"synthetic_control: {outcome!r} is missing for {unit}={u_bad!r} at {time}={t_bad}"
            " (the panel must be balanced)"
        )
    return y, panel, donor_list, pre_times, post_times, fit_times


def _predictor_matrix(
    panel: dict[str, pd.DataFrame],
    predictors: Sequence[PredictorSpec] | None,
    treated_unit: Hashable,
    donor_list: list,
    pre_times: list,
    y: pd.DataFrame,
) -> pd.DataFrame | None:
    """Predictors x units (None: the pre-period outcomes are the predictors)."""
    if predictors is None:
        return None
    if len(predictors) == 0:
        raise InputError("synthetic_control: predictors is empty")
    xmat, _ = _build_predictors(
        {c: p[[treated_unit, *donor_list]] for c, p in panel.items()},
        predictors,
        pre_times,
        list(y.index),
    )
    return xmat


def _v_concentration(main: _Fit, xmat: pd.DataFrame | None) -> tuple[float, bool]:
    """Largest predictor weight and whether V is concentrated (then warn)."""
    v_max = float(main.v.max())
    v_concentrated = xmat is not None and len(main.v) > 1 and v_max >= _V_CONCENTRATED
    if v_concentrated:
        warnings.warn(
            f"synthetic_control: the predictor weights V put {v_max:.0%} on "
            f"{main.v.idxmax()!r}, so the donor weights are chosen essentially to match that "
            "one predictor. The pre-period loss is often flat in V (V is weakly identified "
            "while W may still be stable): check the V rows of .table() and .balance, and "
            "compare with the outcome-only fit (predictors=None).",
            UserWarning,
            stacklevel=3,
        )
    return v_max, v_concentrated


def _weights_frame(main: _Fit) -> pd.DataFrame:
    """Donor weights, largest first."""
    return (
        main.weights.rename("weight")
        .rename_axis("unit")
        .reset_index()
        .sort_values("weight", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def _donors(
    units: list, unit: str, treated_unit: Hashable, donors: Sequence[Hashable] | None
) -> list:
    if treated_unit not in units:
        raise InputError(f"synthetic_control: treated unit {treated_unit!r} not in {unit!r}")
    if donors is None:
        donor_list = [u for u in units if u != treated_unit]
    else:
        donor_list = list(donors)
        unknown = [u for u in donor_list if u not in units]
        if unknown:
            raise InputError(f"synthetic_control: donors {unknown} not in column {unit!r}")
        if treated_unit in donor_list:
            raise InputError("synthetic_control: the treated unit cannot be a donor")
    if len(donor_list) < 2:
        raise InputError("synthetic_control: need at least two donor units")
    return donor_list


def _placebos(
    y: pd.DataFrame,
    xmat: pd.DataFrame | None,
    main: _Fit,
    treated_unit: Hashable,
    donor_list: list,
    fit_times: list,
    post_times: list,
    placebo: bool,
    mspe_cutoff: float | None,
    exact_fit_tol: float | None,
    pre_sd: float,
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """In-space placebos (each donor as the treated unit, the real one left out of the
    pools): RMSPE ratios and which placebos enter the test; the gap paths."""
    rows = [
        {
            "unit": treated_unit,
            "treated": True,
            "pre_rmspe": main.pre_rmspe,
            "post_rmspe": main.post_rmspe,
        }
    ]
    gaps = [main.path.assign(unit=treated_unit)[["unit", "time", "gap"]]]
    if placebo:
        for d in donor_list:
            others = [u for u in donor_list if u != d]
            f = _fit_one(y, xmat, d, others, fit_times, fit_times, post_times)
            rows.append(
                {"unit": d, "treated": False, "pre_rmspe": f.pre_rmspe, "post_rmspe": f.post_rmspe}
            )
            gaps.append(f.path.assign(unit=d)[["unit", "time", "gap"]])
    plc = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        plc["ratio"] = plc["post_rmspe"] / plc["pre_rmspe"]
    plc["pre_mspe_relative"] = plc["pre_rmspe"] ** 2 / main.pre_rmspe**2
    plc["included"] = True
    if mspe_cutoff is not None:
        plc["included"] = plc["treated"] | (plc["pre_mspe_relative"] <= mspe_cutoff)
    plc["exact_fit"] = False
    if exact_fit_tol is not None:
        plc["exact_fit"] = plc["pre_rmspe"] <= exact_fit_tol * pre_sd
        plc["included"] = plc["included"] & (plc["treated"] | ~plc["exact_fit"])
    return plc, gaps


def _interval(
    used: pd.DataFrame,
    pre_rmspe: float,
    post_gap: np.ndarray,
    est: float,
    conf: float,
    placebo: bool,
    treated_exact: bool,
) -> tuple[float, float]:
    """Invert the RMSPE-ratio test for a constant effect theta (Firpo & Possebom 2018).

    Under H0: effect = theta for every post period, the treated post-gaps minus theta are
    exchangeable with the placebo gaps. Accept theta when the permutation p-value of the
    treated ratio R(theta) = sqrt(mean((gap - theta)^2)) / pre_rmspe exceeds alpha. The
    placebo ratios do not depend on theta (the treated unit is not in their donor pools),
    so the accepted set is {theta : R(theta) <= c}, c = m-th largest placebo ratio,
    i.e. theta in mean(gap) +/- sqrt((c * pre_rmspe)^2 - var(gap)).
    """
    lower = upper = float("nan")
    alpha = 1.0 - conf
    plac_ratios = np.sort(used.loc[~used["treated"], "ratio"].to_numpy(float))[::-1]
    j = len(plac_ratios)
    if placebo and j and not treated_exact:
        # smallest m with (1 + m) / (j + 1) > alpha
        m = int(np.floor(alpha * (j + 1)))
        if (1 + m) / (j + 1) <= alpha:  # pragma: no cover - floating edge
            m += 1
        if 1 <= m <= j:
            c = plac_ratios[m - 1]
            half_sq = (c * pre_rmspe) ** 2 - float(np.var(post_gap))
            if half_sq >= 0:
                half = float(np.sqrt(half_sq))
                lower, upper = est - half, est + half
    return lower, upper


def _effects_table(
    est: float,
    lower: float,
    upper: float,
    p_value: float,
    post_times: list,
    post_gap: np.ndarray,
    v: pd.Series,
) -> pd.DataFrame:
    """Average post gap (main), one row per post period and one per predictor weight V
    (uniform when the outcome's pre-period values are the predictors; no intervals)."""
    nan = np.nan
    rows = [dict(term="avg_post_gap", estimate=est, lower=lower, upper=upper, p_value=p_value)]
    for t, g in zip(post_times, post_gap, strict=True):
        rows.append(dict(term=f"gap_{t}", estimate=float(g), lower=nan, upper=nan, p_value=nan))
    for label, vk in v.items():
        rows.append(dict(term=f"v[{label}]", estimate=float(vk), lower=nan, upper=nan, p_value=nan))
    return pd.DataFrame(rows)


def _balance(
    y: pd.DataFrame,
    xmat: pd.DataFrame | None,
    main: _Fit,
    outcome: str,
    treated_unit: Hashable,
    donor_list: list,
    fit_times: list,
) -> pd.DataFrame:
    """Predictor values of the treated unit, the synthetic control and the donor mean."""
    if xmat is not None:
        xm = xmat
    else:
        xm = y.loc[fit_times].set_axis([f"{outcome} ({t})" for t in fit_times])
    return pd.DataFrame(
        {
            "predictor": list(xm.index),
            "treated": xm[treated_unit].to_numpy(float),
            "synthetic": xm[donor_list].to_numpy(float) @ main.weights.to_numpy(),
            "donor_mean": xm[donor_list].mean(axis=1).to_numpy(float),
            "v_weight": main.v.to_numpy(),
        }
    )
