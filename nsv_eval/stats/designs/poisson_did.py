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
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.errors import InputError
from nsv_eval.stats.designs._text import _num, did_conclusion
from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.small_sample import ClusterRobust, cluster_robust

__all__ = ["PoissonDiDResult", "poisson_did"]

ASSUMPTIONS: dict[str, list[str]] = {
    "da": [
        "Parallelle tendenser på log-skala: uden indsatsen ville raten i de berørte enheder "
        "have ændret sig med samme faktor som i sammenligningsenhederne (endnu ikke eller "
        "aldrig berørte).",
        "Ingen foregrebet effekt: raten ændrer sig ikke før indsatsens start.",
        "Indsatsen fortsætter, når den først er startet (forskudt, varig udrulning).",
        "Ingen smitteeffekter mellem enheder.",
        "Antallet af hændelser følger personårene (offset); overspredning er tilladt, fordi "
        "standardfejlene er klyngerobuste på enhedsniveau.",
    ],
    "en": [
        "Parallel trends on the log scale: without the intervention the treated units' rate "
        "would have changed by the same factor as the comparison units' (not-yet or never "
        "treated).",
        "No anticipation: the rate does not change before the start.",
        "Treatment is absorbing once started (staggered adoption).",
        "No spill-overs between units.",
        "Counts are proportional to person-time (offset); over-dispersion is allowed because "
        "standard errors are cluster-robust by unit.",
    ],
}

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
    t_df = df is not None and np.isfinite(df) and df > 0
    z = float(stats.t.ppf(0.5 + conf / 2, df) if t_df else stats.norm.ppf(0.5 + conf / 2))
    if k <= 1:
        return z
    corr = vcov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    rng = np.random.default_rng(seed)
    # eigen-decomposition tolerates a singular correlation matrix
    w, v = np.linalg.eigh(corr)
    root = v * np.sqrt(np.clip(w, 0, None))
    draws = rng.standard_normal((n_sim, k)) @ root.T
    if t_df:
        draws /= np.sqrt(rng.chisquare(df, n_sim) / df)[:, None]
    return max(z, float(np.quantile(np.max(np.abs(draws), axis=1), conf)))


@dataclass
class PoissonDiDResult(EffectResult):
    """Result of :func:`poisson_did`: cell effects, aggregations, pre-test and event study."""

    def cells(self) -> pd.DataFrame:
        """Cohort x period effects: ``group``, ``time``, ``event_time``, ``log_rr``, ``se``,
        ``df`` (t degrees of freedom; infinite with CR1), ``rate_ratio``, ``lower``,
        ``upper`` (pointwise), ``p_value``, ``n_units``, ``events`` (observed events of the
        cell), ``post``, ``anticipation``."""
        return self.details["cells"].copy()

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
        return _aggregate(self.details["_state"], kind, weighting)

    def pretest(self) -> dict[str, float]:
        """Joint test that the pre-period effects (leads against g - 1, aggregated by event
        time) are zero; F test with the cluster small-sample correction (``_lead_test``)."""
        return dict(self.details["pretest"])

    def _summary_text(self, lang: str) -> str:
        row = self.main_effect()
        est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
        pct = int(round(self.conf * 100))
        d = self.details
        excl = lo > 1 or hi < 1
        pre = d["pretest"]
        if lang == "da":
            ctrl = (
                "endnu ikke eller aldrig berørte" if d["control"] == "notyet" else "aldrig berørte"
            )
            s = (
                f"Poisson difference-in-differences (udvidet to-vejs fixed effects, Wooldridge) "
                f"med {d['n_treated']} berørte af {d['n_units']} enheder i {d['n_cohorts']} "
                f"startkohorte(r), sammenlignet med {ctrl} enheder"
                + (" med personår som offset. " if d["exposure"] else ". ")
                + f"Efter start var raten {_num(est, lang, 2)} gange det forventede uden indsatsen "
                f"(rateratio, {pct} %-KI: {_num(lo, lang, 2)} til {_num(hi, lang, 2)}). "
            )
            return s + did_conclusion(excl, pre.get("p_value", np.nan), lang)
        ctrl = "not-yet or never treated" if d["control"] == "notyet" else "never-treated"
        s = (
            f"Poisson difference-in-differences (extended two-way fixed effects, Wooldridge) with "
            f"{d['n_treated']} treated of {d['n_units']} units in {d['n_cohorts']} cohort(s), "
            f"compared with {ctrl} units"
            + (" with person-time as offset. " if d["exposure"] else ". ")
            + f"After the start the rate "
            f"was {_num(est, lang, 2)} times the expected rate without the intervention (rate "
            f"ratio, {pct}% CI {_num(lo, lang, 2)} to {_num(hi, lang, 2)}). "
        )
        return s + did_conclusion(excl, pre.get("p_value", np.nan), lang)

    def plot(self, ax=None, *, lang: str = "da", band: Literal["uniform", "pointwise"] = "uniform"):
        """Event study: rate ratio by period relative to the start with a uniform band."""
        import matplotlib.pyplot as plt

        es = self.aggregate("dynamic").iloc[1:]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        lo_col, hi_col = (
            ("rr_band_lower", "rr_band_upper") if band == "uniform" else ("rr_lower", "rr_upper")
        )
        pre = es["value"] < 0
        for mask, colour, lab in (
            (pre, "#E69F00", "Før start" if lang == "da" else "Pre-treatment"),
            (~pre, "#0072B2", "Efter start" if lang == "da" else "Post-treatment"),
        ):
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
                label=lab,
            )
        ax.set_yscale("log")
        ax.axhline(1, color="black", lw=0.8)
        ax.axvline(-0.5, color="grey", ls="--", lw=0.8)
        if lang == "da":
            ax.set_xlabel("Perioder i forhold til indsatsens start")
            ax.set_ylabel("Rateratio")
            ax.set_title("Effekt over tid (event study)")
        else:
            ax.set_xlabel("Periods relative to the start")
            ax.set_ylabel("Rate ratio")
            ax.set_title("Event study")
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
    if vcov not in ("CR2", "CR3", "CR1"):
        raise ValueError(f"vcov must be 'CR2', 'CR3' or 'CR1', not {vcov!r}")
    if weighting not in ("auto", "events", "units"):
        raise ValueError(f"weighting must be 'auto', 'events' or 'units', not {weighting!r}")
    if weighting == "auto":
        weighting = "events" if family == "poisson" else "units"
    if weighting == "events" and family != "poisson":
        raise ValueError("weighting='events' needs family='poisson' (counts)")
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    cov = list(covariates or [])
    if cov and fe == "unit":
        raise ValueError("time-invariant covariates need fe='cohort' (unit effects absorb them)")
    cl = cluster or unit
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
    periods = np.sort(tnum.unique())
    notes: list[str] = []
    g = g.where(g <= periods[-1], 0)  # treated after the window: never treated here
    first_ok = periods[min(anticipation, len(periods) - 1)]
    early = (g > 0) & (g <= first_ok)
    if early.any():
        n_early = df.loc[early, unit].nunique()
        warnings.warn(
            f"poisson_did: dropped {n_early} unit(s) treated (or anticipating) already in the "
            f"first period(s) (up to {first_ok!r}); they have no pre-treatment base period",
            stacklevel=2,
        )
        notes.append(f"{n_early} units treated in the first period dropped")
        df, g, tnum = df[~early], g[~early], tnum[~early]
    df["_g"] = g.to_numpy()
    df["_t"] = tnum.to_numpy()
    cohorts = sorted(int(x) if float(x).is_integer() else x for x in df["_g"].unique() if x > 0)
    if not cohorts:
        raise InputError(f"column {first_treated!r}: no treated units")
    has_never = bool((df["_g"] == 0).any())
    if not has_never:
        if control == "never":
            raise InputError(
                f"column {first_treated!r}: there are no never-treated units; use control='notyet'"
            )
        # as R etwfe/did: the last cohort is the comparison; periods from its start are dropped
        last = cohorts[-1]
        df = df[df["_t"] < last].copy()
        df.loc[df["_g"] == last, "_g"] = 0
        cohorts = cohorts[:-1]
        notes.append("no never-treated units: last cohort used as comparison only")
        if not cohorts:
            raise InputError("not enough cohorts for a not-yet-treated comparison")
    periods = np.sort(df["_t"].unique())
    n_units = df[unit].nunique()
    unit_g = df.groupby(unit)["_g"].first()
    size = unit_g.value_counts()
    single = [g_ for g_ in cohorts if size.get(g_, 0) == 1 and cl == unit]
    if single:
        # a cell identified by one cluster fits that cluster's data exactly: its residuals
        # carry no information on the cell's variance, so any cluster-robust SE understates it
        notes.append(f"{len(single)} start cohort(s) with a single unit: {single}")
        warnings.warn(
            f"poisson_did: start cohort(s) {single} have a single unit; the cluster-robust "
            "standard errors of their cells are not estimable (understated), so their share "
            "of an aggregated effect is uncertain beyond the interval shown",
            stacklevel=2,
        )

    def cell_list(leads: bool) -> tuple[list, list]:
        # "post" holds the treated cells and the anticipation cells (own effects, never
        # aggregated, kept out of the counterfactual); "pre" the leads against the base
        # period, which is ``anticipation`` periods before g - 1
        post, pre = [], []
        for gg in cohorts:
            pg = int(np.searchsorted(periods, gg))
            base = periods[pg - anticipation - 1] if pg - anticipation - 1 >= 0 else None
            for t in periods:
                pt = int(np.searchsorted(periods, t))
                if pt >= pg - anticipation:
                    post.append((gg, t))
                elif (leads or control == "never") and t != base:
                    pre.append((gg, t))
        return post, pre

    fe_terms = f"{unit} + _t" if fe == "unit" else "_g + _t"
    off = None
    if exposure:
        df["_log_exposure"] = np.log(df[exposure].to_numpy())
        off = "_log_exposure"
    extra: list[str] = []
    if cov:
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

    empty_cells: list[tuple[Any, Any]] = []

    def fit(cells_post, cells_pre):
        data_fit = df
        if family == "poisson":
            # a cohort x period cell without any event has no finite maximum-likelihood effect
            # (its log rate ratio runs off to minus infinity); its observations are left out of
            # the fit, as fixest does with observations separated by the regressors
            tot = df.groupby(["_g", "_t"])[outcome].sum()
            empty = [c for c in cells_post + cells_pre if tot.get(c, 0.0) <= 0]
            if empty:
                gt = pd.MultiIndex.from_frame(df[["_g", "_t"]])
                data_fit = df[~gt.isin(empty)]
                for c in empty:
                    if c not in empty_cells:
                        empty_cells.append(c)
                cells_post = [c for c in cells_post if c not in empty]
                cells_pre = [c for c in cells_pre if c not in empty]
        allc = cells_post + cells_pre
        d2, names = _design(data_fit, "_g", "_t", allc)
        inter = []
        for c in cov:
            for nm in names:
                n = f"{nm}_{c}"
                d2[n] = d2[nm] * d2[f"_{c}_dm"]
                inter.append(n)
        m, beta, vc = _fit(d2, outcome, names + extra + inter, fe_terms, cl, off, weights, family)
        cr = None
        if vcov in ("CR2", "CR3"):
            cr = _cr2(m, fe_cols, cl, vcov)
            vc = pd.DataFrame(cr.vcov, index=beta.index, columns=beta.index)
        return m, beta, vc, names, cells_post, cells_pre, len(data_fit), cr

    fe_cols = [unit, "_t"] if fe == "unit" else ["_g", "_t"]
    post_cells, pre_cells = cell_list(leads=False)
    m, beta, vc, names, post_cells, pre_cells, n_fit, cr = fit(post_cells, pre_cells)
    if not any(t >= g for g, t in post_cells):
        raise InputError("poisson_did: no post-treatment cohort x period cell has any event")
    if empty_cells:
        txt = ", ".join(f"{g!r}/{t!r}" for g, t in empty_cells[:6])
        notes.append(f"{len(empty_cells)} cohort x period cell(s) without events left out")
        warnings.warn(
            f"poisson_did: {len(empty_cells)} cohort x period cell(s) without any event have no "
            f"finite effect and were left out of the fit (cohort/period: {txt})",
            stacklevel=2,
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
            stacklevel=2,
        )
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
    coef_index = list(beta.index)
    cell_tab["df"] = [
        _t_df(cr, _full(np.eye(len(names))[i], names, coef_index)) for i in range(len(names))
    ]
    crit = _crit(conf, cell_tab["df"].to_numpy())
    cell_tab["lower_log"] = cell_tab["log_rr"] - crit * cell_tab["se"]
    cell_tab["upper_log"] = cell_tab["log_rr"] + crit * cell_tab["se"]
    cell_tab["p_value"] = _p_value(cell_tab["log_rr"] / cell_tab["se"], cell_tab["df"])
    # observed events per cell in the fitted rows (= fitted events at the Poisson maximum)
    used = m._data
    uw = used[weights].to_numpy(float) if weights else 1.0
    cell_tab["events"] = [
        float((used[nm].to_numpy() * used[outcome].to_numpy() * uw).sum()) for nm in names
    ]
    link = np.exp if family == "poisson" else (lambda v: v)
    cell_tab["rate_ratio"] = link(cell_tab["log_rr"])
    cell_tab["lower"] = link(cell_tab["lower_log"])
    cell_tab["upper"] = link(cell_tab["upper_log"])
    # pre-test: leads against g - 1 (the main fit already has them with control="never")
    lead_cr = None
    if control == "never":
        lead_names = names[len(post_cells) :]
        lead_cells = pre_cells
        lead_beta, lead_vc = beta, vc
    elif not pretest:
        lead_names = []
    else:
        post2, lead_cells = cell_list(leads=True)
        if lead_cells:
            _, lead_beta, lead_vc, names2, post2, lead_cells, _, lead_cr = fit(post2, lead_cells)
            lead_names = names2[len(post2) :]
        else:
            lead_names = []
    if control == "never":
        lead_cr = cr
    n_clusters = int(df.loc[:, cl].nunique())
    pretest = (
        _lead_test(lead_beta, lead_vc, lead_names, lead_cells, periods, size, n_clusters)
        if lead_names
        else {"statistic": float("nan"), "df": 0, "p_value": float("nan")}
    )
    lead_tab = None
    if lead_names:
        lead_tab = pd.DataFrame(
            {
                "group": [c[0] for c in lead_cells],
                "event_time": [
                    int(np.searchsorted(periods, c[1]) - np.searchsorted(periods, c[0]))
                    for c in lead_cells
                ],
                "name": lead_names,
            }
        )
    state = dict(
        cells=cell_tab,
        names=names,
        beta=beta,
        vcov=vc,
        leads=lead_tab,
        lead_beta=lead_beta if lead_names else None,
        lead_vcov=lead_vc if lead_names else None,
        lead_cr=lead_cr if lead_names else None,
        size=size,
        conf=conf,
        n_sim=n_sim,
        seed=seed,
        link=family,
        weighting=weighting,
        cr=cr,
        coef_index=coef_index,
    )
    rows = []
    kinds = [(k, weighting) for k in _AGG_KINDS]
    if weighting == "events":
        kinds.append(("simple", "units"))
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
    effects = pd.DataFrame(rows)
    n_treated = int((unit_g > 0).sum())
    return PoissonDiDResult(
        design="poisson_did",
        effects=effects,
        main_term="rate_ratio",
        scale="rate_ratio" if family == "poisson" else "difference",
        conf=conf,
        assumptions=ASSUMPTIONS,
        details=dict(
            cells=cell_tab,
            pretest=pretest,
            control=control,
            fe=fe,
            family=family,
            exposure=exposure,
            weights=weights,
            covariates=cov,
            n_units=int(n_units),
            n_treated=n_treated,
            n_cohorts=len(cohorts),
            n_obs=n_used,
            periods=list(periods),
            vcov=vcov,
            weighting=weighting,
            notes=notes,
            model=m,
            _state=state,
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
                vcov=vcov,
                weighting=weighting,
            ),
        ),
    )


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
) -> dict[str, float]:
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


def _crit(conf: float, df) -> np.ndarray:
    """Two-sided critical value: t with ``df`` (normal where ``df`` is infinite or missing)."""
    df = np.asarray(df, dtype=float)
    z = stats.norm.ppf(0.5 + conf / 2)
    ok = np.isfinite(df) & (df > 0)
    return np.where(ok, stats.t.ppf(0.5 + conf / 2, np.where(ok, df, 1.0)), z)


def _p_value(tstat, df) -> np.ndarray:
    """Two-sided p-value of a t (or, with infinite ``df``, normal) statistic."""
    t = np.abs(np.asarray(tstat, dtype=float))
    df = np.asarray(df, dtype=float)
    ok = np.isfinite(df) & (df > 0)
    with np.errstate(invalid="ignore"):
        return np.where(ok, 2 * stats.t.sf(t, np.where(ok, df, 1.0)), 2 * stats.norm.sf(t))


def _aggregate(state: dict[str, Any], kind: str, weighting: str | None = None) -> pd.DataFrame:
    """Aggregate the post-treatment cell effects (rows: overall, then by ``kind``).

    ``weighting="units"``: each row is the cohort-size weighted mean of its cells' log rate
    ratios (``did::aggte``/``etwfe::emfx``), linear in the coefficients. ``"events"``: each
    row is observed / counterfactual events over its cells, ``log(v @ exp(b))`` with
    ``v`` the cells' counterfactual-event shares; delta-method gradient ``v exp(b) / (v @
    exp(b))`` (the observed-event shares) with ``v`` held fixed. The overall row of
    ``dynamic``/``calendar`` is the mean of the rows (as ``aggte``); of ``group`` with events
    weighting the ratio over all post cells (cohorts weighted by their counterfactual events).
    """
    if kind not in _AGG_KINDS:
        raise ValueError(f"kind must be one of {_AGG_KINDS}, not {kind!r}")
    weighting = weighting or state.get("weighting", "units")
    cells: pd.DataFrame = state["cells"]
    names = state["names"]
    V = state["vcov"].loc[names, names].to_numpy()
    b = state["beta"][names].to_numpy()
    post = cells["post"].to_numpy()
    events = weighting == "events"
    if events:
        # counterfactual events of each cell: observed events / its rate ratio
        w_all = cells["events"].to_numpy(dtype=float) * np.exp(-b) * post
    else:
        w_all = cells["n_units"].to_numpy(dtype=float) * post
    labels: list[Any] = []
    vecs: list[np.ndarray] = []
    if kind == "simple" or (kind == "group" and events):
        overall = w_all / w_all.sum()
    if kind == "group":
        for gg in sorted(cells.loc[post, "group"].unique()):
            m = (cells["group"] == gg).to_numpy() & post
            labels.append(gg)
            vecs.append(w_all * m / (w_all * m).sum() if events else m / m.sum())
        if not events:
            sz = np.array(
                [cells.loc[(cells["group"] == gg), "n_units"].iloc[0] for gg in labels], float
            )
            overall = np.sum([s * v for s, v in zip(sz / sz.sum(), vecs, strict=True)], axis=0)
    elif kind == "dynamic":
        for e in sorted(cells.loc[post, "event_time"].unique()):
            m = (cells["event_time"] == e).to_numpy() & post
            labels.append(int(e))
            vecs.append(w_all * m / (w_all * m).sum())
    elif kind == "calendar":
        for t in sorted(cells.loc[post, "time"].unique()):
            m = (cells["time"] == t).to_numpy() & post
            labels.append(t)
            vecs.append(w_all * m / (w_all * m).sum())

    def row(v: np.ndarray) -> tuple[float, np.ndarray]:
        if not events:
            return float(v @ b), v
        r = v * np.exp(b)
        return float(np.log(r.sum())), r / r.sum()

    rows = [row(v) for v in vecs]
    if kind in ("dynamic", "calendar"):
        est0 = float(np.mean([r[0] for r in rows]))
        grad0 = np.mean([r[1] for r in rows], axis=0)
    else:
        est0, grad0 = row(overall)
    est = np.r_[est0, [r[0] for r in rows]]
    A = np.vstack([grad0, *[r[1] for r in rows]])
    cov = A @ V @ A.T
    cr, cidx = state.get("cr"), state.get("coef_index")
    dfs = [_t_df(cr, _full(a, names, cidx)) for a in A]
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
        lcr = state.get("lead_cr")
        lidx = list(state["lead_beta"].index)
        ldfs = [_t_df(lcr, _full(v, ln, lidx)) for v in L]
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
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    conf = state["conf"]
    dfs = np.asarray(dfs, dtype=float)
    crit_pt = _crit(conf, dfs)
    band_df = float(np.min(dfs[1:])) if len(dfs) > 1 else float("inf")
    crit = (
        _sup_t_crit(
            cov[1:, 1:],
            conf,
            state["n_sim"],
            state["seed"],
            df=band_df if np.isfinite(band_df) else None,
        )
        if len(est) > 1
        else float(crit_pt[0])
    )
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
