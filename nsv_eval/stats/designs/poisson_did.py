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
Standard errors are cluster-robust by unit (kommune): CR3 with t intervals on Bell–McCaffrey
degrees of freedom by default (:mod:`~nsv_eval.stats.designs.small_sample`). The cell
effects are aggregated like Callaway & Sant'Anna (2021) — an overall effect over all
post-treatment cells, and by event time, cohort and calendar period — weighted by their
counterfactual events (observed / counterfactual events) or by cohort size; event studies
get a uniform (simultaneous, sup-t) band.

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
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.errors import InputError
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.did import EVENT_STUDY_COLORS, EVENT_STUDY_LABELS
from nsv_eval.stats.designs.small_sample import ClusterRobust, cluster_robust

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


def _sup_t_crit(
    vcov: np.ndarray, conf: float, n_sim: int, seed: int, df: float | None = None
) -> float:
    """Critical value of a uniform (sup-t) band for estimates with covariance ``vcov``.

    Simulated (Montiel Olea & Plagborg-Møller 2019): the ``conf`` quantile of
    ``max_k |Z_k| / sd_k`` for ``Z ~ N(0, vcov)``, or for a multivariate t with ``df``
    degrees of freedom (``Z / sqrt(chi2_df / df)``) when the pointwise intervals are t-based
    (small-sample CR2/CR3). With one estimate it is the normal (t) quantile. Written here
    because no maintained package exposes the sup-t quantile for an arbitrary covariance.
    """
    sd = np.sqrt(np.clip(np.diag(vcov), 0, None))
    ok = sd > 0
    k = int(ok.sum())
    t_df = df if df is not None and np.isfinite(df) and df > 0 else None
    z = float(
        stats.t.ppf(0.5 + conf / 2, t_df) if t_df is not None else stats.norm.ppf(0.5 + conf / 2)
    )
    if k <= 1:
        return z
    corr = vcov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    rng = np.random.default_rng(seed)
    # eigen-decomposition tolerates a singular correlation matrix
    w, v = np.linalg.eigh(corr)
    root = v * np.sqrt(np.clip(w, 0, None))
    draws = rng.standard_normal((n_sim, k)) @ root.T
    if t_df is not None:
        draws /= np.sqrt(rng.chisquare(t_df, n_sim) / t_df)[:, None]
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
    vcov : str
        The cluster-robust covariance used: ``"CR3"``, ``"CR2"`` or ``"CR1"``.
    weighting : str
        How post-treatment cells are aggregated: ``"events"`` or ``"units"``.
    single_unit_cohorts : list
        Start cohorts with a single unit (clustered by unit): their cells' standard errors
        are not estimable and understated (a warning says so).
    notes : list of str
        What the estimator left out and why.
    model : pyfixest model
        The main fit.
    call : dict
        Keyword arguments of the call.
    fit_state : dict
        Coefficients, covariances (and the small-sample covariance object), cohort sizes and
        events :meth:`aggregate` works on.
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
    vcov: str
    weighting: str
    single_unit_cohorts: list[Any]
    notes: list[str]
    model: Any = field(repr=False)
    call: dict[str, Any]
    fit_state: dict[str, Any] = field(repr=False)

    def cells(self) -> pd.DataFrame:
        """Cohort x period effects: ``group``, ``time``, ``event_time``, ``log_rr``, ``se``,
        ``df`` (t degrees of freedom; infinite with CR1), ``rate_ratio``, ``lower``,
        ``upper`` (pointwise), ``p_value``, ``n_units``, ``events`` (observed events of the
        cell), ``post``, ``anticipation``."""
        return self.cell_frame.copy()

    def aggregate(
        self,
        kind: Literal["simple", "group", "dynamic", "calendar"] = "dynamic",
        weighting: Literal["events", "units"] | None = None,
    ) -> pd.DataFrame:
        """Aggregate the cell effects like ``did::aggte`` (and R ``etwfe::emfx`` on the link scale).

        Post-treatment cells are weighted by their counterfactual events or by the number
        of units of their cohort (``weighting``); the estimates are log rate ratios
        (``estimate``, ``se``, pointwise ``lower``/``upper``) and their exponentials
        (``rate_ratio``, ``rr_lower``, ``rr_upper``). Rows other than the overall one also
        get a uniform band (``band_lower``/``band_upper`` on the log scale,
        ``rr_band_lower``/``rr_band_upper`` as ratios). With ``kind="dynamic"`` the pre-period
        cells of the pre-test fit (:meth:`pretest`) are added as negative event times
        (``source="pretest"``), so the event study shows the leads as well.

        ``weighting`` (default: the fit's, see :func:`poisson_did`): ``"events"`` weights the
        cells by their counterfactual events (each row is observed / counterfactual events
        over its cells), ``"units"`` by cohort size. ``df`` holds the t degrees of freedom
        of each row (infinite with CR1: normal intervals).
        """
        return _aggregate(self.fit_state, kind, weighting)

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


def _cr2(m, fe_cols: list[str], cluster: str, kind: str = "CR2") -> ClusterRobust:
    """CR2 or CR3 covariance (Bell & McCaffrey 2002) of a pyfixest fit, in its last IRLS metric.

    pyfixest keeps the rows it used (``_data``), the weighted regressors with the fixed
    effects partialled out (``_X``), the working residuals (``_u_hat``) and the working
    weights (``_weights``: IRLS weights x user weights for ``fepois``, user weights for
    ``feols``); :func:`~nsv_eval.stats.designs.small_sample.cluster_robust` does the rest.
    """
    d = m._data
    w = np.asarray(m._weights, dtype=float).ravel()
    return cluster_robust(
        np.asarray(m._X, dtype=float),
        np.asarray(m._u_hat, dtype=float),
        d[cluster].to_numpy(),
        fixed_effects=d[fe_cols],
        sqrt_weights=np.sqrt(w),
        kind=kind,
    )


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
    vcov: Literal["CR3", "CR2", "CR1"] = "CR3",
    weighting: Literal["auto", "events", "units"] = "auto",
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
    vcov : {"CR3", "CR2", "CR1"}
        Cluster-robust covariance. ``"CR3"`` (default): Bell & McCaffrey's jackknife-like
        small-sample covariance with t intervals on Bell–McCaffrey (Satterthwaite) degrees of
        freedom per estimate (:mod:`~nsv_eval.stats.designs.small_sample`; Pustejovsky &
        Tipton 2018; MacKinnon, Nielsen & Webb 2023 recommend CR3 when clusters are very
        unequal, as kommuner are). ``"CR2"``: the bias-reduced linearisation with the same
        degrees of freedom (less conservative). ``"CR1"``: fixest's/pyfixest's CR1 with
        normal intervals, as R ``etwfe`` (the reference tests use it).
    weighting : {"auto", "events", "units"}
        How post-treatment cells are aggregated. ``"events"`` (``"auto"`` for Poisson): by
        their estimated counterfactual events, so the overall rate ratio is *observed events
        / counterfactual events* over all treated post-treatment kommune-years — how many
        events the intervention prevented, in proportion. ``"units"`` (``"auto"`` for the
        gaussian family): by cohort size, each post period of a cohort equal, as
        Callaway & Sant'Anna's ``aggte`` and R ``etwfe::emfx``.

    Returns
    -------
    PoissonDiDResult
        ``.table()`` rows ``rate_ratio`` (main: the overall rate ratio over post-treatment
        cells, weighted as ``weighting``), ``rate_ratio_group``, ``rate_ratio_dynamic``,
        ``rate_ratio_calendar``, and with events weighting ``rate_ratio_units`` (the
        cohort-size weighted overall effect, a sensitivity line), with extra columns
        ``log_estimate``, ``se``, ``df`` (t degrees of freedom; infinite = normal); scale
        ``rate_ratio`` (``difference`` for the gaussian family, then the estimates are not
        exponentiated). ``.cells()``, ``.aggregate(kind)``, ``.pretest()``, ``.plot()``.

    Notes
    -----
    *Events weighting.* At the Poisson maximum of the likelihood each cell's fitted events
    equal its observed events ``o_gt``, so its counterfactual is ``c_gt = o_gt exp(-tau_gt)``
    and the overall rate ratio ``sum o_gt / sum c_gt = sum_gt v_gt exp(tau_gt)`` with
    ``v_gt = c_gt / sum c``: the counterfactual-weighted mean of the cell rate ratios — the
    estimand of a "how many events did it prevent?" question, and the realised ratio that
    the synthetic data plant (expected events with / without the programme over treated
    kommune-months). Its standard error is the delta method on the log scale with the
    weights ``v`` held fixed (gradient: the observed-event shares ``o_gt / sum o``), as
    ``etwfe::emfx`` holds cohort sizes fixed. Wooldridge (2023) averages the cell effects
    over the treated observations on the response scale; this is that average of events
    with and without the intervention, expressed as their ratio. Cohort-size weights
    average log ratios of cells with very different numbers of events; with small counts
    that adds Jensen bias (log of a small Poisson count) and throws information away.

    *Inference.* With CR3 (or CR2) each estimate gets its own Bell–McCaffrey degrees of
    freedom; in a panel of 98 kommuner where a few large or never-treated kommuner identify
    the late periods these are near 12 at the synthetic data's scale, and normal intervals
    from CR1 under-cover (50 synthetic worlds: 88 % for a nominal 95 %, with the spread of
    the estimates 1.2 times the mean CR1 standard error; ``bench/coverage.py``). Uniform
    event-study bands use a multivariate t on the smallest of the rows' degrees of freedom.
    The pre-test refits the model with lead cells (every pre-period but g - 1) and tests
    their event-time aggregates jointly (cluster-robust Wald on the chosen covariance with
    the F small-sample correction). A cohort x period cell without any event has no finite
    effect; its observations are left out of the fit with a warning.
    """
    wt = _check_args(data, control, fe, family, conf, anticipation, covariates, vcov, weighting)
    cov = list(covariates or [])
    cl = cluster or unit
    df, notes = _validate(
        data, outcome, unit, time, first_treated, exposure, weights, cov, cl, family
    )
    df, cohorts, periods, notes = _cohorts(df, unit, first_treated, control, anticipation, notes)
    n_units = df[unit].nunique()
    unit_g = df.groupby(unit)["_g"].first()
    size = unit_g.value_counts()
    single = _single_unit_cohorts(cohorts, size, cl == unit, notes)
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
        fe_cols=[unit, "_t"] if fe == "unit" else ["_g", "_t"],
        cluster=cl,
        offset=_offset(df, exposure),
        weights=weights,
        vcov=vcov,
    )
    post_cells, pre_cells = _cell_list(spec, leads=False)
    fit = _fit_cells(spec, post_cells, pre_cells)
    m, beta, vc, names, post_cells, pre_cells, n_fit, cr = fit
    if not any(t >= g for g, t in post_cells):
        raise InputError("poisson_did: no post-treatment cohort x period cell has any event")
    n_used = _check_fit(spec, m, beta, names, n_fit, notes)
    cell_tab = _cell_table(beta, vc, names, post_cells, pre_cells, periods, size)
    _cell_inference(cell_tab, spec, m, cr, names, list(beta.index), conf)
    leads = _pretest(spec, pretest, fit, size, int(df.loc[:, cl].nunique()))
    state = _fit_state(cell_tab, fit, leads, size, conf, n_sim, seed, family, wt)
    call: dict[str, Any] = dict(outcome=outcome, unit=unit, time=time, first_treated=first_treated)
    call.update(exposure=exposure, weights=weights, covariates=covariates, control=control, fe=fe)
    call.update(cluster=cluster, family=family, conf=conf, anticipation=anticipation)
    call.update(vcov=vcov, weighting=wt)
    return PoissonDiDResult(
        design="poisson_did",
        effects=_overall_effects(state),
        main_term="rate_ratio",
        scale="rate_ratio" if family == "poisson" else "difference",
        conf=conf,
        cell_frame=cell_tab,
        pretest_result=leads.result,
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
        vcov=vcov,
        weighting=wt,
        single_unit_cohorts=single,
        notes=notes,
        model=m,
        fit_state=state,
        call=call,
    )


def _single_unit_cohorts(
    cohorts: list, size: pd.Series, by_unit: bool, notes: list[str]
) -> list[Any]:
    """Start cohorts with a single unit when clustering by unit (warned and noted).

    A cell identified by one cluster fits that cluster's data exactly: its residuals carry
    no information on the cell's variance, so any cluster-robust SE understates it.
    """
    single = [g for g in cohorts if size.get(g, 0) == 1] if by_unit else []
    if single:
        notes.append(f"{len(single)} start cohort(s) with a single unit: {single}")
        warnings.warn(
            f"poisson_did: start cohort(s) {single} have a single unit; the cluster-robust "
            "standard errors of their cells are not estimable (understated), so their share "
            "of an aggregated effect is uncertain beyond the interval shown",
            stacklevel=3,
        )
    return single


def _fit_state(
    cell_tab: pd.DataFrame,
    fit: _Fit,
    leads: _Leads,
    size: pd.Series,
    conf: float,
    n_sim: int,
    seed: int,
    family: str,
    weighting: str,
) -> dict[str, Any]:
    """What :func:`_aggregate` works on."""
    return dict(
        cells=cell_tab,
        names=fit.names,
        beta=fit.beta,
        vcov=fit.vcov,
        cr=fit.cr,
        coef_index=list(fit.beta.index),
        leads=leads.table,
        lead_beta=leads.beta,
        lead_vcov=leads.vcov,
        lead_cr=leads.cr,
        size=size,
        conf=conf,
        n_sim=n_sim,
        seed=seed,
        link=family,
        weighting=weighting,
    )


@dataclass
class _Leads:
    """The pre-test and the lead cells of the event study (None without leads)."""

    result: dict[str, float]
    table: pd.DataFrame | None = None
    beta: pd.Series | None = None
    vcov: pd.DataFrame | None = None
    cr: ClusterRobust | None = None


def _pretest(spec: _Spec, pretest: bool, fit: _Fit, size: pd.Series, n_clusters: int) -> _Leads:
    """Lead test and the lead cells for the event study: the leads against g - 1 come from
    the main fit with ``control="never"``, else from a refit with lead cells."""
    # pre-test: leads against g - 1 (the main fit already has them with control="never")
    lead_names: list[str] = []
    lead_cells: list = []
    lead = fit
    if spec.control == "never":
        lead_names = fit.names[len(fit.post_cells) :]
        lead_cells = fit.pre_cells
    elif pretest:
        post2, lead_cells = _cell_list(spec, leads=True)
        if lead_cells:
            lead = _fit_cells(spec, post2, lead_cells)
            lead_cells = lead.pre_cells
            lead_names = lead.names[len(lead.post_cells) :]
    if not lead_names:
        return _Leads({"statistic": float("nan"), "df": 0, "p_value": float("nan")})
    res = _lead_test(lead.beta, lead.vcov, lead_names, lead_cells, spec.periods, size, n_clusters)
    table = pd.DataFrame(
        {
            "group": [c[0] for c in lead_cells],
            "event_time": [
                int(np.searchsorted(spec.periods, c[1]) - np.searchsorted(spec.periods, c[0]))
                for c in lead_cells
            ],
            "name": lead_names,
        }
    )
    return _Leads(res, table, lead.beta, lead.vcov, lead.cr)


def _check_args(
    data: Any,
    control: str,
    fe: str,
    family: str,
    conf: float,
    anticipation: int,
    covariates: list[str] | None,
    vcov: str,
    weighting: str,
) -> str:
    """Check the arguments; the weighting to use (``"auto"`` resolved by ``family``)."""
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
    if vcov not in ("CR2", "CR3", "CR1"):
        raise ValueError(f"vcov must be 'CR2', 'CR3' or 'CR1', not {vcov!r}")
    if weighting not in ("auto", "events", "units"):
        raise ValueError(f"weighting must be 'auto', 'events' or 'units', not {weighting!r}")
    if weighting == "auto":
        weighting = "events" if family == "poisson" else "units"
    if weighting == "events" and family != "poisson":
        raise ValueError("weighting='events' needs family='poisson' (counts)")
    return weighting


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
    fe_cols: list[str]
    cluster: str
    offset: str | None
    weights: str | None
    vcov: str
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


class _Fit(NamedTuple):
    """One fit of the cell model (:func:`_fit_cells`)."""

    model: Any
    beta: pd.Series
    vcov: pd.DataFrame
    names: list[str]
    post_cells: list
    pre_cells: list
    n_fit: int
    cr: ClusterRobust | None


def _fit_cells(spec: _Spec, cells_post: list, cells_pre: list) -> _Fit:
    """Fit the model with one effect per cell; cells without events are left out. With
    ``vcov`` CR2/CR3 the covariance is the small-sample one (:func:`_cr2`), else pyfixest's
    CR1."""
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
    cr = None
    if spec.vcov in ("CR2", "CR3"):
        cr = _cr2(m, spec.fe_cols, spec.cluster, spec.vcov)
        vc = pd.DataFrame(cr.vcov, index=beta.index, columns=beta.index)
    return _Fit(m, beta, vc, names, cells_post, cells_pre, len(data_fit), cr)


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
) -> pd.DataFrame:
    """The cell effects and their standard errors (inference: :func:`_cell_inference`)."""
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
    return cell_tab


def _cell_inference(
    cell_tab: pd.DataFrame,
    spec: _Spec,
    m: Any,
    cr: ClusterRobust | None,
    names: list[str],
    coef_index: list[str],
    conf: float,
) -> None:
    """Add each cell's degrees of freedom, pointwise interval, p-value and observed events
    to ``cell_tab`` (in place)."""
    eye = np.eye(len(names))
    cell_tab["df"] = [_t_df(cr, _full(eye[i], names, coef_index)) for i in range(len(names))]
    crit = _crit(conf, cell_tab["df"].to_numpy())
    cell_tab["lower_log"] = cell_tab["log_rr"] - crit * cell_tab["se"]
    cell_tab["upper_log"] = cell_tab["log_rr"] + crit * cell_tab["se"]
    cell_tab["p_value"] = _p_value(cell_tab["log_rr"] / cell_tab["se"], cell_tab["df"])
    # observed events per cell in the fitted rows (= fitted events at the Poisson maximum)
    used = m._data
    uw = used[spec.weights].to_numpy(float) if spec.weights else 1.0
    y = used[spec.outcome].to_numpy()
    cell_tab["events"] = [float((used[nm].to_numpy() * y * uw).sum()) for nm in names]
    link = np.exp if spec.family == "poisson" else (lambda v: v)
    cell_tab["rate_ratio"] = link(cell_tab["log_rr"])
    cell_tab["lower"] = link(cell_tab["lower_log"])
    cell_tab["upper"] = link(cell_tab["upper_log"])


def _overall_effects(state: dict[str, Any]) -> pd.DataFrame:
    """The overall row of every aggregation: the ``.table()`` of the result; with events
    weighting also the cohort-size weighted overall effect (``rate_ratio_units``)."""
    weighting = state["weighting"]
    kinds = [(k, weighting) for k in _AGG_KINDS]
    if weighting == "events":
        kinds.append(("simple", "units"))
    rows = []
    for kind, wt in kinds:
        r = _aggregate(state, kind, weighting=wt).iloc[0]
        term = "rate_ratio" if kind == "simple" else f"rate_ratio_{kind}"
        rows.append(
            dict(
                term=term if wt == weighting else f"{term}_units",
                estimate=r["rate_ratio"],
                lower=r["rr_lower"],
                upper=r["rr_upper"],
                p_value=r["p_value"],
                log_estimate=r["estimate"],
                se=r["se"],
                df=r["df"],
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


def _full(vec: np.ndarray, names: list[str], coef_index: list[str]) -> np.ndarray:
    """A contrast over the cell effects ``names`` as a vector over all coefficients."""
    out = np.zeros(len(coef_index))
    pos = [coef_index.index(n) for n in names]
    out[pos] = vec
    return out


def _t_df(cr: ClusterRobust | None, contrast: np.ndarray) -> float:
    """Bell–McCaffrey degrees of freedom of a contrast (infinite = normal, for CR1)."""
    if cr is None:
        return float("inf")
    return float(cr.df(contrast))


def _crit(conf: float, df: Any) -> np.ndarray:
    """Two-sided critical value: t with ``df`` (normal where ``df`` is infinite or missing)."""
    df = np.asarray(df, dtype=float)
    z = stats.norm.ppf(0.5 + conf / 2)
    ok = np.isfinite(df) & (df > 0)
    return np.where(ok, stats.t.ppf(0.5 + conf / 2, np.where(ok, df, 1.0)), z)


def _p_value(tstat: Any, df: Any) -> np.ndarray:
    """Two-sided p-value of a t (or, with infinite ``df``, normal) statistic."""
    t = np.abs(np.asarray(tstat, dtype=float))
    df = np.asarray(df, dtype=float)
    ok = np.isfinite(df) & (df > 0)
    with np.errstate(invalid="ignore"):
        return np.where(ok, 2 * stats.t.sf(t, np.where(ok, df, 1.0)), 2 * stats.norm.sf(t))


def _cell_weights(
    cells: pd.DataFrame, b: np.ndarray, kind: str, events: bool
) -> tuple[list[Any], list[np.ndarray], np.ndarray | None]:
    """Row labels, the cell weights of each row and of the overall row (None for
    ``dynamic``/``calendar``, whose overall row is the mean of the rows, as ``aggte``).

    Events weighting: the cells' counterfactual events (observed / rate ratio); the overall
    row of ``group`` is then the ratio over all post cells. Units: cohort sizes (``aggte``).
    """
    post = cells["post"].to_numpy()
    if events:
        w_all = cells["events"].to_numpy(dtype=float) * np.exp(-b) * post
    else:
        w_all = cells["n_units"].to_numpy(dtype=float) * post
    col = {"group": "group", "dynamic": "event_time", "calendar": "time"}.get(kind)
    labels: list[Any] = []
    vecs: list[np.ndarray] = []
    if col is not None:
        for v in sorted(cells.loc[post, col].unique()):
            m = (cells[col] == v).to_numpy() & post
            labels.append(int(v) if kind == "dynamic" else v)
            # cohort rows without events weighting: each post period of the cohort equal
            vecs.append(
                m / m.sum() if kind == "group" and not events else w_all * m / (w_all * m).sum()
            )
    overall: np.ndarray | None = None
    if kind == "simple" or (kind == "group" and events):
        overall = w_all / w_all.sum()
    elif kind == "group":
        sz = np.array([cells.loc[cells["group"] == g, "n_units"].iloc[0] for g in labels], float)
        overall = np.sum([s * v for s, v in zip(sz / sz.sum(), vecs, strict=True)], axis=0)
    return labels, vecs, overall


def _combine(
    b: np.ndarray, vecs: list[np.ndarray], overall: np.ndarray | None, events: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Estimates (overall first) and their gradients with respect to the cell effects.

    Units: ``v @ b``, linear. Events: ``log(v @ exp(b))`` (observed / counterfactual events
    over the row's cells) with delta-method gradient ``v exp(b) / (v @ exp(b))``, the
    observed-event shares, ``v`` held fixed.
    """

    def row(v: np.ndarray) -> tuple[float, np.ndarray]:
        if not events:
            return float(v @ b), v
        r = v * np.exp(b)
        return float(np.log(r.sum())), r / r.sum()

    rows = [row(v) for v in vecs]
    if overall is None:
        est0 = float(np.mean([r[0] for r in rows]))
        grad0 = np.mean([r[1] for r in rows], axis=0)
    else:
        est0, grad0 = row(overall)
    return np.r_[est0, [r[0] for r in rows]], np.vstack([grad0, *[r[1] for r in rows]])


def _lead_rows(state: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, list[int], list[float]]:
    """The pre-test fit's leads aggregated by event time (cohort-size weights): estimates,
    covariance, event times and degrees of freedom."""
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
    lidx = list(state["lead_beta"].index)
    ldfs = [_t_df(state.get("lead_cr"), _full(v, ln, lidx)) for v in L]
    return L @ lb, L @ lV @ L.T, llabels, ldfs


def _aggregate(state: dict[str, Any], kind: str, weighting: str | None = None) -> pd.DataFrame:
    """Aggregate the post-treatment cell effects (rows: overall, then by ``kind``).

    ``weighting="units"``: each row is the cohort-size weighted mean of its cells' log rate
    ratios (``did::aggte``/``etwfe::emfx``), linear in the coefficients. ``"events"``: each
    row is observed / counterfactual events over its cells (:func:`_combine`). The overall
    row of ``dynamic``/``calendar`` is the mean of the rows (as ``aggte``); of ``group`` with
    events weighting the ratio over all post cells (cohorts weighted by their counterfactual
    events). With ``dynamic`` the leads of the pre-test fit come first (:func:`_lead_rows`).
    """
    if kind not in _AGG_KINDS:
        raise ValueError(f"kind must be one of {_AGG_KINDS}, not {kind!r}")
    events = (weighting or state.get("weighting", "units")) == "events"
    cells: pd.DataFrame = state["cells"]
    names = state["names"]
    V = state["vcov"].loc[names, names].to_numpy()
    b = state["beta"][names].to_numpy()
    labels, vecs, overall = _cell_weights(cells, b, kind, events)
    est, A = _combine(b, vecs, overall, events)
    cov = A @ V @ A.T
    dfs = [_t_df(state.get("cr"), _full(a, names, state["coef_index"])) for a in A]
    src = ["fit"] * len(est)
    if kind == "dynamic" and state.get("leads") is not None:
        lest, lcov, llabels, ldfs = _lead_rows(state)
        est = np.r_[est[:1], lest, est[1:]]
        k_post = cov.shape[0] - 1
        big = np.zeros((1 + len(lest) + k_post,) * 2)
        big[0, 0] = cov[0, 0]
        big[1 : 1 + len(lest), 1 : 1 + len(lest)] = lcov  # different fits: no cross-covariance
        big[1 + len(lest) :, 1 + len(lest) :] = cov[1:, 1:]
        cov = big
        labels = llabels + labels
        dfs = dfs[:1] + ldfs + dfs[1:]
        src = ["fit"] + ["pretest"] * len(lest) + ["fit"] * k_post
    return _aggregate_frame(state, kind, labels, est, cov, np.asarray(dfs, dtype=float), src)


def _aggregate_frame(
    state: dict[str, Any],
    kind: str,
    labels: list[Any],
    est: np.ndarray,
    cov: np.ndarray,
    dfs: np.ndarray,
    src: list[str],
) -> pd.DataFrame:
    """The aggregation as a table: pointwise t (or normal) intervals, a uniform sup-t band
    on the smallest degrees of freedom of the rows, p-values, and the ratio scale."""
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    conf = state["conf"]
    crit_pt = _crit(conf, dfs)
    crit = float(crit_pt[0])
    if len(est) > 1:
        band_df = float(np.min(dfs[1:]))
        df_band = band_df if np.isfinite(band_df) else None
        crit = _sup_t_crit(cov[1:, 1:], conf, state["n_sim"], state["seed"], df=df_band)
    out = pd.DataFrame(
        {
            "kind": kind,
            "term": ["overall"] + [f"{kind}={v}" for v in labels],
            "value": [np.nan, *labels],
            "estimate": est,
            "se": se,
            "df": dfs,
            "source": src,
        }
    )
    out["lower"] = out["estimate"] - crit_pt * out["se"]
    out["upper"] = out["estimate"] + crit_pt * out["se"]
    band = np.r_[crit_pt[0], np.full(len(labels), crit)]
    out["band_lower"] = out["estimate"] - band * out["se"]
    out["band_upper"] = out["estimate"] + band * out["se"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p_value"] = _p_value(out["estimate"] / out["se"], dfs)
    link = np.exp if state["link"] == "poisson" else (lambda v: v)
    out["rate_ratio"] = link(out["estimate"])
    out["rr_lower"] = link(out["lower"])
    out["rr_upper"] = link(out["upper"])
    out["rr_band_lower"] = link(out["band_lower"])
    out["rr_band_upper"] = link(out["band_upper"])
    return out
