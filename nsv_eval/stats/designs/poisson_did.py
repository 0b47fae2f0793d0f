"""Count difference-in-differences: extended two-way fixed effects Poisson (Wooldridge 2023).

:func:`poisson_did` estimates the effect of a staggered roll-out on an event *count* with a
person-time offset. Every treated cohort g (units first treated in period g) gets its own
effect in every period t >= g (the cohort x period interactions of Wooldridge's extended
two-way fixed effects, ETWFE), on top of unit and period fixed effects::

    E[y_it] = exposure_it * exp(a_i + l_t + sum_{g, s >= g} tau_gs * 1[G_i = g, t = s])

so ``exp(tau_gt)`` is the rate ratio of cohort g in period t, against the not-yet and
never-treated units (``control="notyet"``, the ETWFE default) or the never-treated only
(``control="never"``, with pre-period cells relative to g - 1). Large kommuner weigh more
because their counts carry more information (the Poisson likelihood weights by the
expected count), which is what a kommune-size-blind average of kommune rates throws away.
Standard errors are cluster-robust by unit (kommune). The cell effects are aggregated like
Callaway & Sant'Anna (2021): an overall effect over all post-treatment cells weighted by
cohort size, and by event time, cohort and calendar period; event studies get a uniform
(simultaneous, sup-t) band.

The fit is pyfixest's ``fepois`` (Poisson with high-dimensional fixed effects, offsets,
weights and clustered errors; the Python port of R ``fixest``); only the design matrix of
cell indicators and the linear aggregation are built here.

References
----------
Wooldridge, J. M. (2023). Simple approaches to nonlinear difference-in-differences with
panel data. *The Econometrics Journal* 26(3), C31-C66. doi:10.1093/ectj/utad016.
Wooldridge, J. M. (2021). Two-way fixed effects, the two-way Mundlak regression, and
difference-in-differences estimators. SSRN 3906345.
McDermott, G. (2023). etwfe: Extended Two-Way Fixed Effects. R package (the reference
implementation this module reproduces on ``mpdta``; ``tests/test_poisson_did.py``).
Montiel Olea, J. L. & Plagborg-Møller, M. (2019). Simultaneous confidence bands: theory,
implementation, and an application to SVARs. *J. Applied Econometrics* 34(1), 1-17.
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
from nsv_eval.stats.designs.did import EVENT_STUDY_COLORS, EVENT_STUDY_LABELS

__all__ = ["PoissonDiDResult", "poisson_did"]

_AGG_KINDS = ("simple", "group", "dynamic", "calendar")


def _pyfixest():
    try:
        import pyfixest
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("poisson_did needs pyfixest (pip install pyfixest)") from exc
    return pyfixest


def _check_numeric(df: pd.DataFrame, col: str, *, positive: bool = False, nonneg: bool = False):
    v = pd.to_numeric(df[col], errors="coerce")
    bad = v.isna() | ~np.isfinite(v.to_numpy(dtype=float, na_value=np.nan))
    if positive:
        bad |= v <= 0
    if nonneg:
        bad |= v < 0
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        need = "a positive number" if positive else "a non-negative number" if nonneg else "numeric"
        raise InputError(
            f"column {col!r} must be {need} without missing values; row {row} has "
            f"{df.at[row, col]!r}"
        )
    return v.astype(float)


def _sup_t_crit(vcov: np.ndarray, conf: float, n_sim: int, seed: int) -> float:
    """Critical value of a uniform (sup-t) band for estimates with covariance ``vcov``.

    Simulated (Montiel Olea & Plagborg-Møller 2019): the ``conf`` quantile of
    ``max_k |Z_k| / sd_k`` for ``Z ~ N(0, vcov)``. With one estimate it is the normal quantile.
    Written here because no maintained package exposes the sup-t quantile for an arbitrary
    covariance matrix.
    """
    sd = np.sqrt(np.clip(np.diag(vcov), 0, None))
    ok = sd > 0
    k = int(ok.sum())
    z = float(stats.norm.ppf(0.5 + conf / 2))
    if k <= 1:
        return z
    corr = vcov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    rng = np.random.default_rng(seed)
    # eigen-decomposition tolerates a singular correlation matrix
    w, v = np.linalg.eigh(corr)
    root = v * np.sqrt(np.clip(w, 0, None))
    draws = rng.standard_normal((n_sim, k)) @ root.T
    return max(z, float(np.quantile(np.max(np.abs(draws), axis=1), conf)))


@dataclass(kw_only=True)
class PoissonDiDResult(EffectResult):
    """Result of :func:`poisson_did`: cell effects, aggregations, pre-test and event study.

    Attributes
    ----------
    cell_frame : pandas.DataFrame
        Cohort x period effects (see :meth:`cells`).
    pretest_result : dict
        The lead test (see :meth:`pretest`).
    control, fe, family, exposure, weights, covariates
        The settings of the call.
    n_units, n_treated, n_cohorts, n_obs : int
        Units, treated units, cohorts with effects, observations used by the fit.
    periods : list
        Periods used.
    notes : list of str
        What the estimator left out and why.
    model : pyfixest model
        The main fit.
    call : dict
        Keyword arguments of the call.
    fit_state : dict
        Coefficients, covariances and cohort sizes :meth:`aggregate` works on.
    """

    cell_frame: pd.DataFrame
    pretest_result: dict[str, float]
    control: str
    fe: str
    family: str
    exposure: str | None
    weights: str | None
    covariates: list[str]
    n_units: int
    n_treated: int
    n_cohorts: int
    n_obs: int
    periods: list[Any]
    notes: list[str]
    model: Any = field(repr=False)
    call: dict[str, Any]
    fit_state: dict[str, Any] = field(repr=False)

    def cells(self) -> pd.DataFrame:
        """Cohort x period effects: ``group``, ``time``, ``event_time``, ``log_rr``, ``se``,
        ``rate_ratio``, ``lower``, ``upper`` (pointwise), ``p_value``, ``n_units``, ``post``."""
        return self.cell_frame.copy()

    def aggregate(
        self, kind: Literal["simple", "group", "dynamic", "calendar"] = "dynamic"
    ) -> pd.DataFrame:
        """Aggregate the cell effects like ``did::aggte`` (and R ``etwfe::emfx`` on the link scale).

        Post-treatment cells are weighted by the number of units of their cohort; the
        estimates are log rate ratios (``estimate``, ``se``, pointwise ``lower``/``upper``) and
        their exponentials (``rate_ratio``, ``rr_lower``, ``rr_upper``). Rows other than the
        overall one also get a uniform band (``band_lower``/``band_upper`` on the log scale,
        ``rr_band_lower``/``rr_band_upper`` as ratios). With ``kind="dynamic"`` the pre-period
        cells of the pre-test fit (:meth:`pretest`) are added as negative event times
        (``source="pretest"``), so the event study shows the leads as well.
        """
        return _aggregate(self.fit_state, kind)

    def pretest(self) -> dict[str, float]:
        """Joint test that the pre-period effects (leads against g - 1, aggregated by event
        time) are zero; F test with the cluster small-sample correction (``_lead_test``)."""
        return dict(self.pretest_result)

    def plot(
        self,
        ax=None,
        *,
        band: Literal["uniform", "pointwise"] = "uniform",
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Event study: rate ratio by period relative to the start with a uniform band.

        ``labels`` (keys ``pre``, ``post``, ``xlabel``, ``ylabel``, ``title``;
        :func:`nsv_eval.report.narrative.poisson_did.plot_labels`) and ``colors`` (``pre``,
        ``post``, ``zero``, ``start``) override the defaults.
        """
        import matplotlib.pyplot as plt

        lab = {**EVENT_STUDY_LABELS, "ylabel": "rate ratio", **(labels or {})}
        col = {**EVENT_STUDY_COLORS, **(colors or {})}
        es = self.aggregate("dynamic").iloc[1:]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        lo_col, hi_col = (
            ("rr_band_lower", "rr_band_upper") if band == "uniform" else ("rr_lower", "rr_upper")
        )
        pre = es["value"] < 0
        for mask, colour, name in ((pre, col["pre"], lab["pre"]), (~pre, col["post"], lab["post"])):
            sub = es[mask & es["se"].notna()]
            if sub.empty:
                continue
            ax.errorbar(
                sub["value"],
                sub["rate_ratio"],
                yerr=[sub["rate_ratio"] - sub[lo_col], sub[hi_col] - sub["rate_ratio"]],
                fmt="o",
                color=colour,
                capsize=3,
                label=name,
            )
        ax.set_yscale("log")
        ax.axhline(1, color=col["zero"], lw=0.8)
        ax.axvline(-0.5, color=col["start"], ls="--", lw=0.8)
        ax.set_xlabel(lab["xlabel"])
        ax.set_ylabel(lab["ylabel"])
        ax.set_title(lab["title"])
        ax.legend(frameon=False)
        return ax.figure


def _design(
    df: pd.DataFrame, gcol: str, tcol: str, cells: list[tuple[Any, Any]]
) -> tuple[pd.DataFrame, list[str]]:
    names = []
    cols = {}
    for i, (g, t) in enumerate(cells):
        name = f"_c{i}"
        cols[name] = ((df[gcol] == g) & (df[tcol] == t)).astype(float).to_numpy()
        names.append(name)
    return pd.concat([df, pd.DataFrame(cols, index=df.index)], axis=1), names


def _fit(
    df: pd.DataFrame,
    y: str,
    regressors: list[str],
    fe: str,
    cluster: str,
    offset: str | None,
    weights: str | None,
    family: str,
):
    pf = _pyfixest()
    fml = f"{y} ~ {' + '.join(regressors)} | {fe}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "poisson":
            m = pf.fepois(
                fml, df, vcov={"CRV1": cluster}, offset=offset, weights=weights, copy_data=False
            )
        else:
            if offset is not None:
                raise ValueError("an exposure offset needs family='poisson'")
            m = pf.feols(fml, df, vcov={"CRV1": cluster}, weights=weights, copy_data=False)
    names = [str(c) for c in m._coefnames]
    beta = pd.Series(np.asarray(m._beta_hat, dtype=float), index=names)
    vcov = pd.DataFrame(np.asarray(m._vcov, dtype=float), index=names, columns=names)
    return m, beta, vcov


def poisson_did(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    *,
    exposure: str | None = None,
    weights: str | None = None,
    covariates: list[str] | None = None,
    control: Literal["notyet", "never"] = "notyet",
    fe: Literal["unit", "cohort"] = "unit",
    cluster: str | None = None,
    family: Literal["poisson", "gaussian"] = "poisson",
    conf: float = 0.95,
    n_sim: int = 10_000,
    seed: int = 1,
    pretest: bool = True,
    anticipation: int = 0,
) -> PoissonDiDResult:
    """Staggered count difference-in-differences by extended two-way fixed effects Poisson.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period.
    outcome : str
        Event count (non-negative; Poisson quasi-likelihood also accepts non-integers).
    unit, time : str
        Unit (e.g. ``kommune_code``) and period (e.g. ``year``) columns.
    first_treated : str
        First treated period of each unit on the scale of ``time``; 0 or missing = never
        treated. Units first treated after the last period count as never treated; units
        treated in the first period have no pre-period and are dropped (as R ``did``).
    exposure : str, optional
        Person-time at risk (e.g. ``person_years``); enters as ``log(exposure)`` offset so
        the effects are rate ratios.
    weights : str, optional
        Observation weights passed to the fit (pyfixest ``aweights``).
    covariates : list of str, optional
        Time-invariant unit covariates as in R ``etwfe``: main effects and interactions with
        cohort and period, plus interactions of every effect cell with the covariate
        demeaned by cohort and period (so cell effects are at the cohort's mean covariate).
        Needs ``fe="cohort"`` (unit effects absorb time-invariant covariates).
    control : {"notyet", "never"}
        ``"notyet"`` (ETWFE default): cells only for treated periods; not-yet and never
        treated units identify the period effects. ``"never"``: cells for every period but
        g - 1 of each cohort, so only never-treated units are controls.
    fe : {"unit", "cohort"}
        Unit and period fixed effects (default), or cohort and period effects as R
        ``etwfe``. Without covariates and offset both give identical cell effects in a
        balanced panel (Wooldridge 2023); with a person-time offset use ``"unit"``.
    cluster : str, optional
        Cluster for the robust standard errors; default ``unit``.
    family : {"poisson", "gaussian"}
        Poisson (default, ``fepois``) or the linear ETWFE (``feols``); the latter is here for
        the reference test against R ``etwfe`` and for continuous outcomes.
    conf : float
        Confidence level.
    n_sim, seed
        Draws and seed for the simulated sup-t critical value of uniform bands.
    anticipation : int
        Periods before g in which units may already react (e.g. 1 when a roll-out on any
        day of year g - 1 makes g the first *full* year): those cohort x period cells get
        their own effects, are left out of the aggregations, and the base period of the
        leads moves back accordingly (as ``did``'s ``anticipation``).
    pretest : bool
        Refit with lead cells for the pre-trend test and the pre-period part of the event
        study (with ``control="notyet"``); False skips that second fit (for simulations).

    Returns
    -------
    PoissonDiDResult
        ``.table()`` rows ``rate_ratio`` (main: the overall rate ratio over post-treatment
        cells weighted by cohort size), ``rate_ratio_group``, ``rate_ratio_dynamic``,
        ``rate_ratio_calendar`` with extra columns ``log_estimate``, ``se``; scale
        ``rate_ratio`` (``difference`` for the gaussian family, then the estimates are not
        exponentiated). ``.cells()``, ``.aggregate(kind)``, ``.pretest()``, ``.plot()``.

    Notes
    -----
    The aggregated effects are linear combinations of the cell log rate ratios; their
    standard errors use the cluster-robust covariance of the fit and treat the cohort
    weights as fixed (as R ``etwfe::emfx``). The pre-test refits the model with lead cells
    (every pre-period but g - 1) and tests their event-time aggregates jointly (cluster-robust
    Wald with the F small-sample correction). A cohort x period cell without any event has no
    finite effect; its observations are left out of the fit with a warning.
    """
    _check_args(data, control, fe, family, conf, anticipation, covariates)
    cov = list(covariates or [])
    cl = cluster or unit
    df, notes = _validate(
        data, outcome, unit, time, first_treated, exposure, weights, cov, cl, family
    )
    df, cohorts, periods, notes = _cohorts(df, unit, first_treated, control, anticipation, notes)
    n_units = df[unit].nunique()
    unit_g = df.groupby(unit)["_g"].first()
    size = unit_g.value_counts()
    offset = _offset(df, exposure)
    spec = _Spec(
        df=df,
        outcome=outcome,
        cohorts=cohorts,
        periods=periods,
        anticipation=anticipation,
        control=control,
        family=family,
        cov=cov,
        extra=_covariate_terms(df, cov, cohorts, periods),
        fe_terms=f"{unit} + _t" if fe == "unit" else "_g + _t",
        cluster=cl,
        offset=offset,
        weights=weights,
    )
    post_cells, pre_cells = _cell_list(spec, leads=False)
    m, beta, vc, names, post_cells, pre_cells, n_fit = _fit_cells(spec, post_cells, pre_cells)
    if not any(t >= g for g, t in post_cells):
        raise InputError("poisson_did: no post-treatment cohort x period cell has any event")
    n_used = _check_fit(spec, m, beta, names, n_fit, notes)
    cell_tab = _cell_table(beta, vc, names, post_cells, pre_cells, periods, size, conf, family)
    pretest_res, lead_tab, lead_beta, lead_vc = _pretest(
        spec, pretest, names, beta, vc, post_cells, pre_cells, size, int(df.loc[:, cl].nunique())
    )
    state = _fit_state(
        cell_tab, names, beta, vc, lead_tab, lead_beta, lead_vc, size, conf, n_sim, seed, family
    )
    return PoissonDiDResult(
        design="poisson_did",
        effects=_overall_effects(state),
        main_term="rate_ratio",
        scale="rate_ratio" if family == "poisson" else "difference",
        conf=conf,
        cell_frame=cell_tab,
        pretest_result=pretest_res,
        control=control,
        fe=fe,
        family=family,
        exposure=exposure,
        weights=weights,
        covariates=cov,
        n_units=int(n_units),
        n_treated=int((unit_g > 0).sum()),
        n_cohorts=len(cohorts),
        n_obs=n_used,
        periods=list(periods),
        notes=notes,
        model=m,
        fit_state=state,
        call=dict(
            outcome=outcome,
            unit=unit,
            time=time,
            first_treated=first_treated,
            exposure=exposure,
            weights=weights,
            covariates=covariates,
            control=control,
            fe=fe,
            cluster=cluster,
            family=family,
            conf=conf,
            anticipation=anticipation,
        ),
    )


def _fit_state(
    cell_tab: pd.DataFrame,
    names: list[str],
    beta: pd.Series,
    vc: pd.DataFrame,
    lead_tab: pd.DataFrame | None,
    lead_beta: Any,
    lead_vc: Any,
    size: pd.Series,
    conf: float,
    n_sim: int,
    seed: int,
    family: str,
) -> dict[str, Any]:
    """What :func:`_aggregate` works on."""
    has_leads = lead_tab is not None
    return dict(
        cells=cell_tab,
        names=names,
        beta=beta,
        vcov=vc,
        leads=lead_tab,
        lead_beta=lead_beta if has_leads else None,
        lead_vcov=lead_vc if has_leads else None,
        size=size,
        conf=conf,
        n_sim=n_sim,
        seed=seed,
        link=family,
    )


def _pretest(
    spec: _Spec,
    pretest: bool,
    names: list[str],
    beta: pd.Series,
    vc: pd.DataFrame,
    post_cells: list,
    pre_cells: list,
    size: pd.Series,
    n_clusters: int,
) -> tuple[dict[str, float], pd.DataFrame | None, Any, Any]:
    """Lead test and the lead cells for the event study: the leads against g - 1 come from
    the main fit with ``control="never"``, else from a refit with lead cells."""
    # pre-test: leads against g - 1 (the main fit already has them with control="never")
    lead_names: list[str] = []
    lead_cells: list = []
    lead_beta = lead_vc = None
    if spec.control == "never":
        lead_names = names[len(post_cells) :]
        lead_cells = pre_cells
        lead_beta, lead_vc = beta, vc
    elif pretest:
        post2, lead_cells = _cell_list(spec, leads=True)
        if lead_cells:
            _, lead_beta, lead_vc, names2, post2, lead_cells, _ = _fit_cells(
                spec, post2, lead_cells
            )
            lead_names = names2[len(post2) :]
    pretest_res = (
        _lead_test(lead_beta, lead_vc, lead_names, lead_cells, spec.periods, size, n_clusters)
        if lead_names
        else {"statistic": float("nan"), "df": 0, "p_value": float("nan")}
    )
    lead_tab = None
    if lead_names:
        lead_tab = pd.DataFrame(
            {
                "group": [c[0] for c in lead_cells],
                "event_time": [
                    int(np.searchsorted(spec.periods, c[1]) - np.searchsorted(spec.periods, c[0]))
                    for c in lead_cells
                ],
                "name": lead_names,
            }
        )
    return pretest_res, lead_tab, lead_beta, lead_vc


def _check_args(
    data: Any,
    control: str,
    fe: str,
    family: str,
    conf: float,
    anticipation: int,
    covariates: list[str] | None,
) -> None:
    if control not in ("notyet", "never"):
        raise ValueError(f"control must be 'notyet' or 'never', not {control!r}")
    if fe not in ("unit", "cohort"):
        raise ValueError(f"fe must be 'unit' or 'cohort', not {fe!r}")
    if family not in ("poisson", "gaussian"):
        raise ValueError(f"family must be 'poisson' or 'gaussian', not {family!r}")
    if not 0 < conf < 1:
        raise ValueError(f"conf must be in (0, 1), not {conf!r}")
    if anticipation < 0:
        raise ValueError("anticipation must be >= 0")
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    if covariates and fe == "unit":
        raise ValueError("time-invariant covariates need fe='cohort' (unit effects absorb them)")


def _validate(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    exposure: str | None,
    weights: str | None,
    cov: list[str],
    cl: str,
    family: str,
) -> tuple[pd.DataFrame, list[str]]:
    """The used columns checked (numbers, one row per unit and period, constant cohort),
    with ``_g`` (cohort, 0 = never) and ``_t`` (numeric period)."""
    cols = [outcome, unit, time, first_treated, *cov]
    cols += [c for c in (exposure, weights, cl) if c]
    missing = [c for c in dict.fromkeys(cols) if c not in data.columns]
    if missing:
        raise InputError(f"data lacks column(s) {missing}")
    df = data[list(dict.fromkeys(cols))].copy()
    for c in (unit, time):
        if df[c].isna().any():
            row = df.index[df[c].isna().to_numpy()][0]
            raise InputError(f"column {c!r} has a missing value (row {row})")
    df[outcome] = _check_numeric(df, outcome, nonneg=family == "poisson")
    if exposure:
        df[exposure] = _check_numeric(df, exposure, positive=True)
    if weights:
        df[weights] = _check_numeric(df, weights, nonneg=True)
    for c in cov:
        df[c] = _check_numeric(df, c)
    dup = df.duplicated([unit, time])
    if dup.any():
        row = df.index[dup.to_numpy()][0]
        raise InputError(f"more than one row for the same {unit!r} and {time!r} (row {row})")
    g = pd.to_numeric(df[first_treated], errors="coerce")
    bad = df[first_treated].notna() & g.isna()
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        raise InputError(
            f"column {first_treated!r}: non-numeric value {df.at[row, first_treated]!r} (row {row})"
        )
    g = g.fillna(0)
    nun = g.groupby(df[unit]).nunique()
    if (nun > 1).any():
        u = nun.index[(nun > 1).to_numpy()][0]
        raise InputError(
            f"column {first_treated!r} varies within {unit} {u!r}; it must be constant"
        )
    tnum = pd.to_numeric(df[time], errors="coerce")
    if tnum.isna().any():
        row = df.index[tnum.isna().to_numpy()][0]
        raise InputError(f"column {time!r} must be numeric (row {row})")
    df["_g"] = g.to_numpy()
    df["_t"] = tnum.to_numpy()
    return df, []


def _cohorts(
    df: pd.DataFrame,
    unit: str,
    first_treated: str,
    control: str,
    anticipation: int,
    notes: list[str],
) -> tuple[pd.DataFrame, list, np.ndarray, list[str]]:
    """Cohorts with effects and the periods used: units treated after the window are never
    treated here, units treated in the first period(s) dropped, and without never-treated
    units the last cohort is the comparison (as R etwfe/did)."""
    periods = np.sort(df["_t"].unique())
    g = df["_g"].where(df["_g"] <= periods[-1], 0)  # treated after the window: never treated
    first_ok = periods[min(anticipation, len(periods) - 1)]
    early = (g > 0) & (g <= first_ok)
    if early.any():
        n_early = df.loc[early, unit].nunique()
        warnings.warn(
            f"poisson_did: dropped {n_early} unit(s) treated (or anticipating) already in the "
            f"first period(s) (up to {first_ok!r}); they have no pre-treatment base period",
            stacklevel=3,
        )
        notes.append(f"{n_early} units treated in the first period dropped")
    df = df.assign(_g=g.to_numpy())[~early.to_numpy()]
    cohorts = sorted(int(x) if float(x).is_integer() else x for x in df["_g"].unique() if x > 0)
    if not cohorts:
        raise InputError(f"column {first_treated!r}: no treated units")
    if not bool((df["_g"] == 0).any()):
        if control == "never":
            raise InputError(
                f"column {first_treated!r}: there are no never-treated units; use control='notyet'"
            )
        last = cohorts[-1]
        df = df[df["_t"] < last].copy()
        df.loc[df["_g"] == last, "_g"] = 0
        cohorts = cohorts[:-1]
        notes.append("no never-treated units: last cohort used as comparison only")
        if not cohorts:
            raise InputError("not enough cohorts for a not-yet-treated comparison")
    return df, cohorts, np.sort(df["_t"].unique()), notes


@dataclass
class _Spec:
    """What the cell fits share: the prepared data and the model settings."""

    df: pd.DataFrame
    outcome: str
    cohorts: list
    periods: np.ndarray
    anticipation: int
    control: str
    family: str
    cov: list[str]
    extra: list[str]
    fe_terms: str
    cluster: str
    offset: str | None
    weights: str | None
    empty_cells: list[tuple[Any, Any]] = field(default_factory=list)


def _offset(df: pd.DataFrame, exposure: str | None) -> str | None:
    if not exposure:
        return None
    df["_log_exposure"] = np.log(df[exposure].to_numpy())
    return "_log_exposure"


def _covariate_terms(
    df: pd.DataFrame, cov: list[str], cohorts: list, periods: np.ndarray
) -> list[str]:
    """Covariate main effects and cohort/period interactions (R etwfe), added to ``df``."""
    extra: list[str] = []
    for c in cov:
        extra.append(c)
        for gg in cohorts:
            n = f"_{c}_g{len(extra)}"
            df[n] = (df["_g"] == gg) * df[c]
            extra.append(n)
        for t in periods[1:]:
            n = f"_{c}_t{len(extra)}"
            df[n] = (df["_t"] == t) * df[c]
            extra.append(n)
        # R etwfe: demeaned by cohort and period (fixest::demean), i.e. two-way
        dm = df[c] - df.groupby("_g")[c].transform("mean")
        df[f"_{c}_dm"] = dm - dm.groupby(df["_t"]).transform("mean")
    return extra


def _cell_list(spec: _Spec, leads: bool) -> tuple[list, list]:
    """ "post" holds the treated cells and the anticipation cells (own effects, never
    aggregated, kept out of the counterfactual); "pre" the leads against the base period,
    which is ``anticipation`` periods before g - 1."""
    periods, anticipation = spec.periods, spec.anticipation
    post, pre = [], []
    for gg in spec.cohorts:
        pg = int(np.searchsorted(periods, gg))
        base = periods[pg - anticipation - 1] if pg - anticipation - 1 >= 0 else None
        for t in periods:
            pt = int(np.searchsorted(periods, t))
            if pt >= pg - anticipation:
                post.append((gg, t))
            elif (leads or spec.control == "never") and t != base:
                pre.append((gg, t))
    return post, pre


def _fit_cells(spec: _Spec, cells_post: list, cells_pre: list):
    """Fit the model with one effect per cell; cells without events are left out."""
    df = spec.df
    data_fit = df
    if spec.family == "poisson":
        # a cohort x period cell without any event has no finite maximum-likelihood effect
        # (its log rate ratio runs off to minus infinity); its observations are left out of
        # the fit, as fixest does with observations separated by the regressors
        tot = df.groupby(["_g", "_t"])[spec.outcome].sum()
        empty = [c for c in cells_post + cells_pre if tot.get(c, 0.0) <= 0]
        if empty:
            gt = pd.MultiIndex.from_frame(df[["_g", "_t"]])
            data_fit = df[~gt.isin(empty)]
            for c in empty:
                if c not in spec.empty_cells:
                    spec.empty_cells.append(c)
            cells_post = [c for c in cells_post if c not in empty]
            cells_pre = [c for c in cells_pre if c not in empty]
    allc = cells_post + cells_pre
    d2, names = _design(data_fit, "_g", "_t", allc)
    inter = []
    for c in spec.cov:
        for nm in names:
            n = f"{nm}_{c}"
            d2[n] = d2[nm] * d2[f"_{c}_dm"]
            inter.append(n)
    m, beta, vc = _fit(
        d2,
        spec.outcome,
        names + spec.extra + inter,
        spec.fe_terms,
        spec.cluster,
        spec.offset,
        spec.weights,
        spec.family,
    )
    return m, beta, vc, names, cells_post, cells_pre, len(data_fit)


def _check_fit(
    spec: _Spec, m: Any, beta: pd.Series, names: list[str], n_fit: int, notes: list[str]
) -> int:
    """Warnings and notes on cells and observations the fit left out; the observations used."""
    if spec.empty_cells:
        txt = ", ".join(f"{g!r}/{t!r}" for g, t in spec.empty_cells[:6])
        notes.append(f"{len(spec.empty_cells)} cohort x period cell(s) without events left out")
        warnings.warn(
            f"poisson_did: {len(spec.empty_cells)} cohort x period cell(s) without any event "
            f"have no finite effect and were left out of the fit (cohort/period: {txt})",
            stacklevel=3,
        )
    dropped = [nm for nm in names if nm not in beta.index]
    if dropped:
        raise InputError(
            f"poisson_did: {len(dropped)} cohort x period effect(s) could not be estimated "
            "(no events or collinear); too few events in a cohort"
        )
    n_used = int(m._N)
    if n_used < n_fit:
        notes.append(f"{n_fit - n_used} observations dropped by the fit (all-zero units)")
        warnings.warn(
            f"poisson_did: the fit dropped {n_fit - n_used} of {n_fit} observations "
            "(units without any events carry no information in a Poisson fixed-effects model)",
            stacklevel=3,
        )
    return n_used


def _cell_table(
    beta: pd.Series,
    vc: pd.DataFrame,
    names: list[str],
    post_cells: list,
    pre_cells: list,
    periods: np.ndarray,
    size: pd.Series,
    conf: float,
    family: str,
) -> pd.DataFrame:
    """Cell effects with pointwise intervals, on the log and the ratio scale."""
    allc = post_cells + pre_cells
    cell_tab = pd.DataFrame(
        {
            "group": [c[0] for c in allc],
            "time": [c[1] for c in allc],
            "event_time": [
                int(np.searchsorted(periods, c[1]) - np.searchsorted(periods, c[0])) for c in allc
            ],
            "log_rr": beta[names].to_numpy(),
            "se": np.sqrt(np.diag(vc.loc[names, names].to_numpy())),
            "n_units": [int(size.get(c[0], 0)) for c in allc],
            "post": [c[1] >= c[0] for c in allc],
            "anticipation": [c in post_cells and c[1] < c[0] for c in allc],
        }
    )
    z = float(stats.norm.ppf(0.5 + conf / 2))
    cell_tab["lower_log"] = cell_tab["log_rr"] - z * cell_tab["se"]
    cell_tab["upper_log"] = cell_tab["log_rr"] + z * cell_tab["se"]
    cell_tab["p_value"] = 2 * stats.norm.sf(np.abs(cell_tab["log_rr"] / cell_tab["se"]))
    link = np.exp if family == "poisson" else (lambda v: v)
    cell_tab["rate_ratio"] = link(cell_tab["log_rr"])
    cell_tab["lower"] = link(cell_tab["lower_log"])
    cell_tab["upper"] = link(cell_tab["upper_log"])
    return cell_tab


def _overall_effects(state: dict[str, Any]) -> pd.DataFrame:
    """The overall row of every aggregation: the ``.table()`` of the result."""
    rows = []
    for kind in _AGG_KINDS:
        r = _aggregate(state, kind).iloc[0]
        rows.append(
            dict(
                term="rate_ratio" if kind == "simple" else f"rate_ratio_{kind}",
                estimate=r["rate_ratio"],
                lower=r["rr_lower"],
                upper=r["rr_upper"],
                p_value=r["p_value"],
                log_estimate=r["estimate"],
                se=r["se"],
            )
        )
    return pd.DataFrame(rows)


def _prev(periods: np.ndarray, g: float) -> float:
    """The last period before ``g`` (the base period g - 1 on the period grid)."""
    before = periods[periods < g]
    return before[-1] if len(before) else np.nan


def _lead_test(
    beta: pd.Series,
    vcov: pd.DataFrame,
    names: list[str],
    cells: list[tuple[Any, Any]],
    periods: np.ndarray,
    size: pd.Series,
    n_clusters: int,
) -> dict[str, Any]:
    """Joint test that the leads, aggregated by event time (cohort-size weights), are zero.

    Testing every cohort x period lead separately would need a cluster-robust covariance of
    dozens of parameters from ~98 kommuner, which over-rejects badly; the event-time
    aggregates (as plotted) are few. The Wald statistic gets the small-sample F correction
    for a cluster-robust covariance, F = W/q (G - q)/(G - 1) on (q, G - q) degrees of
    freedom (Hotelling's T²), G = number of clusters.
    """
    et = np.array([np.searchsorted(periods, t) - np.searchsorted(periods, g) for g, t in cells])
    sz = np.array([size.get(g, 0) for g, _ in cells], float)
    rows = []
    for e in np.unique(et):
        m = et == e
        rows.append(sz * m / (sz * m).sum())
    L = np.vstack(rows)
    b = L @ beta[names].to_numpy()
    v = L @ vcov.loc[names, names].to_numpy() @ L.T
    q = len(b)
    try:
        w = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return {"statistic": float("nan"), "df": q, "p_value": float("nan")}
    if n_clusters > q + 1:
        f = w / q * (n_clusters - q) / (n_clusters - 1)
        return {
            "statistic": f,
            "df": q,
            "df_denominator": n_clusters - q,
            "p_value": float(stats.f.sf(f, q, n_clusters - q)),
            "test": "F",
        }
    return {"statistic": w, "df": q, "p_value": float(stats.chi2.sf(w, q)), "test": "chi2"}


def _aggregate(state: dict[str, Any], kind: str) -> pd.DataFrame:
    if kind not in _AGG_KINDS:
        raise ValueError(f"kind must be one of {_AGG_KINDS}, not {kind!r}")
    cells: pd.DataFrame = state["cells"]
    names = state["names"]
    V = state["vcov"].loc[names, names].to_numpy()
    b = state["beta"][names].to_numpy()
    post = cells["post"].to_numpy()
    w_all = cells["n_units"].to_numpy(dtype=float) * post
    labels: list[Any] = []
    vecs: list[np.ndarray] = []
    if kind == "simple":
        overall = w_all / w_all.sum()
    elif kind == "group":
        for gg in sorted(cells.loc[post, "group"].unique()):
            m = (cells["group"] == gg).to_numpy() & post
            labels.append(gg)
            vecs.append(m / m.sum())
        sz = np.array(
            [cells.loc[(cells["group"] == gg), "n_units"].iloc[0] for gg in labels], float
        )
        overall = np.sum([s * v for s, v in zip(sz / sz.sum(), vecs, strict=True)], axis=0)
    elif kind == "dynamic":
        for e in sorted(cells.loc[post, "event_time"].unique()):
            m = (cells["event_time"] == e).to_numpy() & post
            labels.append(int(e))
            vecs.append(w_all * m / (w_all * m).sum())
        overall = np.mean(vecs, axis=0)
    else:
        for t in sorted(cells.loc[post, "time"].unique()):
            m = (cells["time"] == t).to_numpy() & post
            labels.append(t)
            vecs.append(w_all * m / (w_all * m).sum())
        overall = np.mean(vecs, axis=0)
    A = np.vstack([overall, *vecs]) if vecs else overall[None, :]
    est = A @ b
    cov = A @ V @ A.T
    src = ["fit"] * len(est)
    # leads of the pre-test fit, as negative event times (dynamic only)
    if kind == "dynamic" and state.get("leads") is not None:
        lt: pd.DataFrame = state["leads"]
        ln = list(lt["name"])
        lb = state["lead_beta"][ln].to_numpy()
        lV = state["lead_vcov"].loc[ln, ln].to_numpy()
        sz = np.array([state["size"].get(gg, 0) for gg in lt["group"]], float)
        lvecs, llabels = [], []
        for e in sorted(lt["event_time"].unique()):
            m = (lt["event_time"] == e).to_numpy()
            lvecs.append(sz * m / (sz * m).sum())
            llabels.append(int(e))
        L = np.vstack(lvecs)
        lest = L @ lb
        lcov = L @ lV @ L.T
        est = np.r_[est[:1], lest, est[1:]]
        k_post = cov.shape[0] - 1
        big = np.zeros((1 + len(lest) + k_post,) * 2)
        big[0, 0] = cov[0, 0]
        big[1 : 1 + len(lest), 1 : 1 + len(lest)] = lcov  # different fits: no cross-covariance
        big[1 + len(lest) :, 1 + len(lest) :] = cov[1:, 1:]
        cov = big
        labels = llabels + labels
        src = ["fit"] + ["pretest"] * len(lest) + ["fit"] * k_post
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    conf = state["conf"]
    z = float(stats.norm.ppf(0.5 + conf / 2))
    crit = _sup_t_crit(cov[1:, 1:], conf, state["n_sim"], state["seed"]) if len(est) > 1 else z
    out = pd.DataFrame(
        {
            "kind": kind,
            "term": ["overall"] + [f"{kind}={v}" for v in labels],
            "value": [np.nan, *labels],
            "estimate": est,
            "se": se,
            "source": src,
        }
    )
    out["lower"] = out["estimate"] - z * out["se"]
    out["upper"] = out["estimate"] + z * out["se"]
    band = np.r_[z, np.full(len(labels), crit)]
    out["band_lower"] = out["estimate"] - band * out["se"]
    out["band_upper"] = out["estimate"] + band * out["se"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p_value"] = 2 * stats.norm.sf(np.abs(out["estimate"] / out["se"]))
    link = np.exp if state["link"] == "poisson" else (lambda v: v)
    out["rate_ratio"] = link(out["estimate"])
    out["rr_lower"] = link(out["lower"])
    out["rr_upper"] = link(out["upper"])
    out["rr_band_lower"] = link(out["band_lower"])
    out["rr_band_upper"] = link(out["band_upper"])
    return out
