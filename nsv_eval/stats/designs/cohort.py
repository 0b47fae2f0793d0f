"""Cohort effects with propensity scores: inverse probability weighting and matching.

``cohort_effect`` compares a binary outcome (e.g. readmission within 30 days) between
persons who received an intervention (e.g. a follow-up home visit) and those who did not,
adjusting for measured confounders through the propensity score (PS) estimated by logistic
regression (statsmodels ``Logit``):

* ``method="iptw"``: inverse probability of treatment weights, stabilised or not, for the
  average treatment effect (ATE) or the effect on the treated (ATT; weights 1 for the
  treated and e/(1-e) for controls).
* ``method="match"``: greedy nearest-neighbour 1:k matching on the logit of the PS within
  a caliper of ``caliper`` x SD(logit PS) (Austin 2011, Pharm. Stat. 10:150), with or
  without replacement; estimates the ATT (for the matched treated).

Reported: risk difference and risk ratio, with the naive (unadjusted) comparison next to
them; the balance table with standardised mean differences (SMD) before and after
adjustment (Austin & Stuart 2015, Stat. Med. 34:3661, weighted formulas); overlap
diagnostics; and the E-value for unmeasured confounding (VanderWeele & Ding 2017, Ann.
Intern. Med. 167:268).

Standard errors. For IPTW the variance is the M-estimation (stacked estimating equations)
sandwich that accounts for the estimation of the propensity score (Lunceford & Davidian
2004, Stat. Med. 23:2937; Williamson, Forbes & White 2014, Stat. Med. 33:721). The common
alternative, a weighted GLM with a robust (HC0) sandwich that treats the weights as known,
is conservative for the ATE and can be anti-conservative for the ATT; statsmodels has no
M-estimator for IPTW, so the stacked sandwich is written here (about 30 lines). The
fixed-weight GLM sandwich (statsmodels ``GLM(var_weights=w).fit(cov_type="HC0")``) is kept
in ``.glm_fixed_weight`` for comparison. For matching without replacement the
variance uses the matched-set differences (paired analysis, as recommended by Austin 2011,
Stat. Med. 30:1292); with replacement a sandwich conditional on the matched sets (control
weights = how often each control is used), which ignores the matching uncertainty and tends
to be conservative.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.spatial import cKDTree
from statsmodels.stats.proportion import confint_proportions_2indep

from nsv_eval.errors import InputError
from nsv_eval.stats.designs.base import EffectResult

__all__ = ["CohortEffectResult", "cohort_effect", "e_value", "smd"]


# --------------------------------------------------------------------------------------
# small public helpers
# --------------------------------------------------------------------------------------
def e_value(rr: float, lower: float | None = None, upper: float | None = None) -> tuple:
    """E-value for a risk ratio and for its confidence limit closest to 1.

    VanderWeele & Ding (2017), Ann. Intern. Med. 167:268, Table: for RR > 1,
    ``E = RR + sqrt(RR * (RR - 1))``; for RR < 1 the same formula on 1/RR. For the
    confidence interval the limit closest to 1 is used; if the interval includes 1 the
    E-value for the interval is 1.

    Parameters
    ----------
    rr : float
        Point estimate of the risk ratio (> 0).
    lower, upper : float, optional
        Confidence limits.

    Returns
    -------
    tuple of float
        ``(e_point, e_ci)``; ``e_ci`` is NaN when no limits are given.
    """

    def _e(x: float) -> float:
        if x < 1:
            x = 1.0 / x
        return float(x + np.sqrt(x * (x - 1.0)))

    if not np.isfinite(rr) or rr <= 0:
        raise ValueError(f"e_value: the risk ratio must be positive, got {rr}")
    e_point = _e(rr)
    e_ci = float("nan")
    if rr >= 1 and lower is not None:
        e_ci = 1.0 if lower <= 1 else _e(lower)
    elif rr < 1 and upper is not None:
        e_ci = 1.0 if upper >= 1 else _e(upper)
    return e_point, e_ci


def _is_binary(x: np.ndarray) -> bool:
    """Every value is 0 or 1 (``np.isin(x, (0, 1)).all()`` without its sort)."""
    return bool(((x == 0.0) | (x == 1.0)).all())


def smd(
    x: np.ndarray,
    treated: np.ndarray,
    weights: np.ndarray | None = None,
    binary: bool | None = None,
) -> float:
    """Standardised mean difference, optionally weighted (Austin & Stuart 2015).

    ``(m1 - m0) / sqrt((s1^2 + s0^2) / 2)`` with weighted means
    ``m = sum(w x) / sum(w)`` and, for continuous variables, the weighted variance
    ``s^2 = sum(w) / (sum(w)^2 - sum(w^2)) * sum(w (x - m)^2)``; for binary variables
    ``s^2 = m (1 - m)``.

    Parameters
    ----------
    x : array
        The covariate.
    treated : array of bool
        Group membership.
    weights : array, optional
        Weights (IPT weights, matching weights); all 1 when omitted.
    binary : bool, optional
        Treat ``x`` as a 0/1 variable (detected when omitted).

    Returns
    -------
    float
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(treated, dtype=bool)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if binary is None:
        binary = _is_binary(x)
    parts = []
    pos = w > 0
    for g in (t, ~t):
        keep = g & pos
        xg, wg = x[keep], w[keep]
        m = float(np.sum(wg * xg) / np.sum(wg))
        if binary:
            s2 = m * (1 - m)
        else:
            sw, sw2 = wg.sum(), np.sum(wg**2)
            s2 = float(sw / (sw**2 - sw2) * np.sum(wg * (xg - m) ** 2))
        parts.append((m, s2))
    (m1, v1), (m0, v0) = parts
    den = np.sqrt((v1 + v0) / 2.0)
    if den == 0:
        return 0.0 if m1 == m0 else float("inf")
    return float((m1 - m0) / den)


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric design matrix: numbers as they are, booleans as 0/1, other columns as dummies.

    Categorical / string columns are expanded to indicator columns named
    ``"column[level]"`` with the first level (sorted, or the category order) as reference.

    Raises
    ------
    InputError
        A covariate is missing from ``data``, has missing values, or is constant.
    """
    parts = []
    for c in covariates:
        if c not in data.columns:
            raise InputError(f"covariate column {c!r} not in the data")
        s = data[c]
        if s.isna().any():
            i = int(np.flatnonzero(s.isna().to_numpy())[0])
            raise InputError(f"covariate {c!r} is missing in row {i}")
        if pd.api.types.is_bool_dtype(s):
            parts.append(s.astype(float).rename(c))
        elif pd.api.types.is_numeric_dtype(s):
            parts.append(s.astype(float).rename(c))
        else:
            cat = s.astype("category")
            if len(cat.cat.categories) < 2:
                raise InputError(f"covariate {c!r} has only one level")
            levels = list(cat.cat.categories)
            for lev in levels[1:]:
                parts.append((cat == lev).astype(float).rename(f"{c}[{lev}]"))
            continue
        if parts[-1].nunique() < 2:
            raise InputError(f"covariate {c!r} is constant")
    return pd.concat(parts, axis=1).set_axis(data.index, axis=0)


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class CohortEffectResult(EffectResult):
    """Result of :func:`cohort_effect`: adjusted and naive risk ratio / difference.

    Extra attributes: ``balance`` (SMD before/after per covariate), ``overlap`` (PS
    distribution and weight diagnostics by group), ``data`` (per-person PS and weights).

    Attributes
    ----------
    method, estimand, outcome, treatment, covariates
        The call (``method`` ``"iptw"`` or ``"match"``).
    ps_model : statsmodels LogitResults
        The propensity model.
    n_treated, n_control : int
        Persons with and without the intervention.
    ratio : int
        Controls per treated person (matching).
    max_abs_smd_before, max_abs_smd_after : float
        Largest absolute standardised mean difference before and after adjustment.
    n_truncated : int, optional
        (IPTW with ``trim``) weights truncated.
    glm_fixed_weight : dict, optional
        (IPTW) the weighted GLM risk difference and its fixed-weight robust SE, for
        comparison with the M-estimation SE.
    n_matched, n_unmatched, n_controls_used : int, optional
        (matching) treated persons matched / without a control within the caliper, and
        distinct controls used.
    caliper_width : float, optional
        (matching) caliper on the logit PS scale.
    matched_sets : list, optional
        (matching) ``(treated index, [control indices])`` pairs.
    """

    method: str
    estimand: str
    outcome: str
    treatment: str
    covariates: list[str]
    ps_model: Any = field(repr=False)
    n_treated: int
    n_control: int
    ratio: int
    balance_frame: pd.DataFrame = field(repr=False)
    overlap_frame: pd.DataFrame = field(repr=False)
    person_frame: pd.DataFrame = field(repr=False)
    max_abs_smd_before: float
    max_abs_smd_after: float
    n_truncated: int | None = None
    glm_fixed_weight: dict[str, float] | None = None
    n_matched: int | None = None
    n_unmatched: int | None = None
    n_controls_used: int | None = None
    caliper_width: float | None = None
    matched_sets: list[Any] | None = field(default=None, repr=False)

    @property
    def balance(self) -> pd.DataFrame:
        """Covariate balance: means and SMD before and after adjustment."""
        return self.balance_frame.copy()

    @property
    def overlap(self) -> pd.DataFrame:
        """Propensity score and weight diagnostics by group."""
        return self.overlap_frame.copy()

    @property
    def data(self) -> pd.DataFrame:
        """Per-person treatment, outcome, propensity score and analysis weight."""
        return self.person_frame.copy()

    @property
    def treated_share(self) -> float:
        """Share of persons with the intervention."""
        return self.n_treated / (self.n_treated + self.n_control)

    def plot(
        self,
        ax=None,
        threshold: float = 0.1,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Love plot: absolute SMD per covariate before and after adjustment.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        threshold : float
            Reference line (0.1 is the usual rule of thumb).
        labels : mapping, optional
            Keys ``before``, ``after``, ``xlabel``, ``title``
            (:func:`nsv_eval.report.narrative.cohort.love_plot_labels`).
        colors : mapping, optional
            Keys ``before``, ``after``, ``threshold``; default rcParams cycle entries.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        lab = {"before": "before", "after": "after", "xlabel": "|SMD|", "title": "balance"}
        lab.update(labels or {})
        col = {"before": "C3", "after": "C0", "threshold": "C8", **(colors or {})}
        b = self.balance_frame.iloc[::-1]
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(b) + 1.6))
        else:
            fig = ax.figure
        y = np.arange(len(b))
        ax.scatter(
            b["smd_before"].abs(),
            y,
            facecolors="none",
            edgecolors=col["before"],
            s=45,
            label=lab["before"],
        )
        ax.scatter(
            b["smd_after"].abs(), y, color=col["after"], marker="D", s=35, label=lab["after"]
        )
        ax.axvline(threshold, color=col["threshold"], ls="--", lw=1)
        ax.set_yticks(y, b["covariate"])
        ax.set_xlabel(lab["xlabel"])
        ax.set_title(lab["title"])
        ax.legend(frameon=False, loc="lower right")
        fig.tight_layout()
        return fig

    def plot_overlap(
        self,
        ax=None,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Histograms of the propensity score by group (overlap / positivity check).

        ``labels`` (keys ``treated``, ``control``, ``ylabel``, ``title``;
        :func:`nsv_eval.report.narrative.cohort.overlap_plot_labels`) and ``colors``
        (``treated``, ``control``) override the defaults.
        """
        import matplotlib.pyplot as plt

        lab = {"treated": "treated", "control": "control", "ylabel": "density"}
        lab.update({"title": "overlap", **(labels or {})})
        col = {"treated": "C0", "control": "C1", **(colors or {})}
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 3.8))
        else:
            fig = ax.figure
        df = self.person_frame
        bins = np.linspace(0, 1, 41)
        for flag, key in ((True, "treated"), (False, "control")):
            ax.hist(
                df.loc[df["treated"] == flag, "ps"],
                bins=bins,
                density=True,
                alpha=0.55,
                color=col[key],
                label=lab[key],
            )
        ax.set_xlabel("Propensity score")
        ax.set_ylabel(lab["ylabel"])
        ax.set_title(lab["title"])
        ax.legend(frameon=False)
        fig.tight_layout()
        return fig


# --------------------------------------------------------------------------------------
# estimation helpers
# --------------------------------------------------------------------------------------
def _binary(s: pd.Series, name: str, what: str) -> np.ndarray:
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise InputError(f"cohort_effect: {what} column {name!r} is missing in row {i}")
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s):
        bad = ~s.isin([0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"cohort_effect: {what} column {name!r} must be 0/1 or boolean; "
                f"row {i} has {s.iloc[i]!r}"
            )
        return s.to_numpy(dtype=float) == 1
    raise InputError(f"cohort_effect: {what} column {name!r} must be 0/1 or boolean")


def _ratio_ci(est: float, se_log: float, z: float) -> tuple[float, float, float]:
    lo, hi = est * np.exp(-z * se_log), est * np.exp(z * se_log)
    p = 2 * stats.norm.sf(abs(np.log(est)) / se_log) if se_log > 0 else float("nan")
    return float(lo), float(hi), float(p)


def _diff_ci(est: float, se: float, z: float) -> tuple[float, float, float]:
    p = 2 * stats.norm.sf(abs(est) / se) if se > 0 else float("nan")
    return float(est - z * se), float(est + z * se), float(p)


def _iptw_msandwich(
    x: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    e: np.ndarray,
    w: np.ndarray,
    estimand: str,
    smooth: np.ndarray,
) -> tuple[float, float, np.ndarray]:
    """Hajek risks and their sandwich covariance with the PS estimation accounted for.

    Stacked estimating equations for theta = (beta, mu1, mu0):
    ``X (T - e)``, ``T w1 (Y - mu1)``, ``(1 - T) w0 (Y - mu0)`` with ``w1 = 1/e`` (ATE) or
    1 (ATT) and ``w0 = 1/(1-e)`` (ATE) or ``e/(1-e)`` (ATT). Constant stabilising factors
    cancel. ``smooth`` marks units whose weight was not truncated (the derivative of a
    truncated weight with respect to beta is zero).
    """
    n, k = x.shape
    tt = t.astype(float)
    a = tt * w
    b = (1 - tt) * w
    mu1 = float(np.sum(a * y) / np.sum(a))
    mu0 = float(np.sum(b * y) / np.sum(b))
    psi = np.column_stack([x * (tt - e)[:, None], a * (y - mu1), b * (y - mu0)])
    bmat = psi.T @ psi / n
    amat = np.zeros((k + 2, k + 2))
    amat[:k, :k] = (x * (e * (1 - e))[:, None]).T @ x / n
    # Derivative of each (possibly stabilised) weight w = c * w_raw(e) with respect to the
    # linear predictor eta = x'beta: ATE treated w_raw = 1/e -> -w (1 - e); ATE control
    # w_raw = 1/(1-e) -> w e; ATT treated w_raw = 1 -> 0; ATT control w_raw = e/(1-e) -> w.
    if estimand == "ATE":
        dw = np.where(t, -w * (1 - e), w * e)
    else:
        dw = np.where(t, 0.0, w)
    dw = np.where(smooth, dw, 0.0)
    # A = -E[d psi / d theta]
    amat[k, :k] = -(tt * dw * (y - mu1)) @ x / n
    amat[k + 1, :k] = -((1 - tt) * dw * (y - mu0)) @ x / n
    amat[k, k] = np.sum(a) / n
    amat[k + 1, k + 1] = np.sum(b) / n
    ainv = np.linalg.inv(amat)
    cov = ainv @ bmat @ ainv.T / n
    return mu1, mu0, cov[k:, k:]


def _match(
    lp: np.ndarray,
    t: np.ndarray,
    width: float,
    ratio: int,
    replace: bool,
    rng: np.random.Generator,
) -> list[tuple[int, list[int]]]:
    """Greedy nearest-neighbour matching on ``lp`` within ``width``.

    Returns ``[(treated_index, [control_indices]), ...]`` for treated units with at least
    one match. Without replacement, treated units are processed in random order and in
    ``ratio`` rounds (first every treated unit gets its first control, then its second,
    ...), as in Austin (2011).
    """
    ti = np.flatnonzero(t)
    ci = np.flatnonzero(~t)
    if replace:
        tree = cKDTree(lp[ci][:, None])
        dist, idx = tree.query(lp[ti][:, None], k=ratio, distance_upper_bound=width)
        dist = dist.reshape(len(ti), ratio)
        idx = idx.reshape(len(ti), ratio)
        out = []
        for r, i in enumerate(ti):
            ok = np.isfinite(dist[r]) & (dist[r] <= width)
            if ok.any():
                out.append((int(i), [int(ci[j]) for j in idx[r][ok]]))
        return out

    order = np.argsort(lp[ci], kind="stable")
    cs = lp[ci][order].tolist()
    nc = len(cs)
    # the loop below works on Python floats and ints (the same IEEE doubles, so the same
    # comparisons and matches): numpy scalars in it made it 2-3x slower
    lpl = lp.tolist()
    ctrl = ci[order].tolist()
    # Union-find "next available" pointers to the right (index nc = none) and to the left
    # (stored shifted by one: position 0 = none).
    right = list(range(nc + 1))
    left = list(range(nc + 1))

    def find(parent: list[int], i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    sets: dict[int, list[int]] = {}
    seq = rng.permutation(ti).tolist()
    for _round in range(ratio):
        for i in seq:
            if _round > 0 and i not in sets:
                continue
            q = lpl[i]
            pos = bisect.bisect_left(cs, q)
            r = find(right, pos) if pos <= nc else nc
            lft = find(left, pos) - 1  # largest available index < pos
            best, bd = -1, math.inf
            if r < nc and abs(cs[r] - q) < bd:
                best, bd = r, abs(cs[r] - q)
            if lft >= 0 and abs(q - cs[lft]) < bd:
                best, bd = lft, abs(q - cs[lft])
            if best < 0 or bd > width:
                continue
            right[best] = best + 1
            left[best + 1] = best
            sets.setdefault(i, []).append(ctrl[best])
    return [(i, sets[i]) for i in seq if i in sets]


# --------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------
def cohort_effect(
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates: Sequence[str],
    *,
    method: str = "iptw",
    estimand: str | None = None,
    stabilised: bool = True,
    trim: float | None = None,
    caliper: float | None = 0.2,
    ratio: int = 1,
    replace: bool = False,
    conf: float = 0.95,
    seed: int = 0,
) -> CohortEffectResult:
    """Effect of a binary intervention on a binary outcome, adjusted by propensity score.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    treatment, outcome : str
        0/1 or boolean columns.
    covariates : list of str
        Confounders for the propensity model; numeric columns enter linearly, booleans as
        0/1, strings/categoricals as indicator variables.
    method : {"iptw", "match"}
        Inverse probability of treatment weighting or nearest-neighbour matching.
    estimand : {"ATE", "ATT"}, optional
        Default "ATE" for IPTW and "ATT" for matching (matching estimates only the ATT).
    stabilised : bool
        Stabilised weights ``P(T=t) / P(T=t | X)`` (IPTW). The point estimate (a ratio of
        weighted means) is unchanged; the weights' mean is about 1, which makes the
        diagnostics easier to read.
    trim : float, optional
        Truncate IPT weights at the ``trim`` and ``1 - trim`` quantiles (e.g. 0.01;
        Cole & Hernán 2008). Changes the estimand slightly; reported as ``n_truncated``.
    caliper : float or None
        Matching caliper in SDs of the logit PS (0.2 after Austin 2011); None = no caliper.
    ratio : int
        Number of controls per treated person (matching).
    replace : bool
        Match with replacement.
    conf : float
        Confidence level.
    seed : int
        Seed for the random order of greedy matching.

    Returns
    -------
    CohortEffectResult
        ``table()`` rows ``risk_ratio`` (main), ``risk_difference``, ``risk_treated``,
        ``risk_control``, ``naive_risk_ratio``, ``naive_risk_difference``, with extra
        columns ``scale``, ``method``, ``e_value``, ``e_value_ci``.
    """
    estimand = _check_args(method, estimand, conf, ratio, trim)
    covariates = list(covariates)
    for c in (treatment, outcome, *covariates):
        if c not in data.columns:
            raise InputError(f"cohort_effect: column {c!r} not in the data")
    if not covariates:
        raise InputError("cohort_effect: give at least one covariate")
    t = _binary(data[treatment], treatment, "treatment")
    y = _binary(data[outcome], outcome, "outcome").astype(float)
    n1, n0 = int(t.sum()), int((~t).sum())
    if n1 < 2 or n0 < 2:
        raise InputError(f"cohort_effect: {treatment!r} needs at least two persons per group")
    xdf = design_matrix(data, covariates)
    x = np.column_stack([np.ones(len(xdf)), xdf.to_numpy(float)])
    z = float(stats.norm.ppf(0.5 + conf / 2))
    fit, lp, e = _propensity(x, t, covariates)
    naive = _naive(y, t, conf)
    if method == "iptw":
        w, mu1, mu0, se_rd, se_lrr, se_mu, extra = _iptw(x, t, y, e, estimand, stabilised, trim)
        label = f"IPTW ({estimand})"
    else:
        w, mu1, mu0, se_rd, se_lrr, se_mu, extra = _matching(
            lp, t, y, caliper, int(ratio), replace, seed
        )
        label = f"matching 1:{int(ratio)} (ATT)"
    if mu0 <= 0 or mu1 <= 0:
        raise InputError(
            "cohort_effect: no outcome events in one adjusted group; the risk ratio is undefined"
        )
    effects = _effects_table(mu1, mu0, se_rd, se_lrr, se_mu, z, label, naive)
    balance = _balance(xdf, t, w)
    return CohortEffectResult(
        design="cohort",
        effects=effects,
        main_term="risk_ratio",
        scale="risk_ratio",
        conf=conf,
        method=method,
        estimand=estimand,
        outcome=outcome,
        treatment=treatment,
        covariates=covariates,
        ps_model=fit,
        n_treated=n1,
        n_control=n0,
        ratio=int(ratio),
        balance_frame=balance,
        overlap_frame=_overlap(e, t, w),
        max_abs_smd_before=float(balance["smd_before"].abs().max()),
        max_abs_smd_after=float(balance["smd_after"].abs().max()),
        person_frame=pd.DataFrame(
            {"treated": t, "outcome": y, "ps": e, "logit_ps": lp, "weight": w}, index=data.index
        ),
        **extra,
    )


def _check_args(
    method: str, estimand: str | None, conf: float, ratio: int, trim: float | None
) -> str:
    """Check the settings; the estimand (default ATE for IPTW, ATT for matching)."""
    if method not in ("iptw", "match"):
        raise InputError(f"cohort_effect: method must be 'iptw' or 'match', got {method!r}")
    if estimand is None:
        estimand = "ATE" if method == "iptw" else "ATT"
    if estimand not in ("ATE", "ATT"):
        raise InputError(f"cohort_effect: estimand must be 'ATE' or 'ATT', got {estimand!r}")
    if method == "match" and estimand != "ATT":
        raise InputError(
            "cohort_effect: matching estimates the effect among the treated; use "
            "estimand='ATT' (or method='iptw' for the ATE)"
        )
    if not 0 < conf < 1:
        raise InputError(f"cohort_effect: conf must be between 0 and 1, got {conf}")
    if int(ratio) != ratio or ratio < 1:
        raise InputError(f"cohort_effect: ratio must be a positive integer, got {ratio}")
    if trim is not None and not 0 < trim < 0.5:
        raise InputError(f"cohort_effect: trim must be between 0 and 0.5, got {trim}")
    return estimand


def _propensity(
    x: np.ndarray, t: np.ndarray, covariates: list[str]
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Logistic propensity model: fit, linear predictor and score."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(t.astype(float), x).fit(disp=0, method="newton", maxiter=100)
        except np.linalg.LinAlgError as exc:
            raise InputError(
                "cohort_effect: the propensity model cannot be fitted (collinear covariates "
                f"among {covariates})"
            ) from exc
    beta = np.asarray(fit.params)
    lp = x @ beta
    e = 1.0 / (1.0 + np.exp(-lp))
    if not fit.mle_retvals.get("converged", True) or (e.min() < 1e-8 or e.max() > 1 - 1e-8):
        raise InputError(
            "cohort_effect: the propensity model does not converge or separates the groups "
            "perfectly (no overlap); check the covariates for ones that determine treatment"
        )
    return fit, lp, e


def _naive(y: np.ndarray, t: np.ndarray, conf: float) -> dict[str, float]:
    """Unadjusted risk ratio (log interval) and risk difference (Wald)."""
    n1, n0 = int(t.sum()), int((~t).sum())
    c1, c0 = int(y[t].sum()), int(y[~t].sum())
    q1, q0 = c1 / n1, c0 / n0
    nrd_lo, nrd_hi = confint_proportions_2indep(
        c1, n1, c0, n0, method="wald", compare="diff", alpha=1 - conf
    )
    nrd_se = np.sqrt(q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0)
    if c1 > 0 and c0 > 0:
        nrr_lo, nrr_hi = confint_proportions_2indep(
            c1, n1, c0, n0, method="log", compare="ratio", alpha=1 - conf
        )
        nrr_se = np.sqrt(1 / c1 - 1 / n1 + 1 / c0 - 1 / n0)
        nrr_p = float(2 * stats.norm.sf(abs(np.log(q1 / q0)) / nrr_se))
        nrr = q1 / q0
    else:
        nrr = nrr_lo = nrr_hi = nrr_p = float("nan")
    return dict(
        rr=nrr,
        rr_lo=nrr_lo,
        rr_hi=nrr_hi,
        rr_p=nrr_p,
        rd=q1 - q0,
        rd_lo=nrd_lo,
        rd_hi=nrd_hi,
        rd_p=float(2 * stats.norm.sf(abs(q1 - q0) / nrd_se)) if nrd_se > 0 else np.nan,
    )


def _iptw(
    x: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    e: np.ndarray,
    estimand: str,
    stabilised: bool,
    trim: float | None,
) -> tuple[np.ndarray, float, float, float, float, np.ndarray, dict[str, Any]]:
    """IPT weights, Hajek risks and their M-estimation standard errors."""
    extra: dict[str, Any] = {}
    p_t = t.mean()
    if estimand == "ATE":
        w = np.where(t, 1 / e, 1 / (1 - e))
        if stabilised:
            w = w * np.where(t, p_t, 1 - p_t)
    else:
        w = np.where(t, 1.0, e / (1 - e))
        if stabilised:
            w = w * np.where(t, 1.0, (1 - p_t) / p_t)
    smooth = np.ones(len(w), dtype=bool)
    if trim is not None:
        lo_q, hi_q = np.quantile(w, [trim, 1 - trim])
        smooth = (w >= lo_q) & (w <= hi_q)
        extra["n_truncated"] = int((~smooth).sum())
        w = np.clip(w, lo_q, hi_q)
    mu1, mu0, cov = _iptw_msandwich(x, t, y, e, w, estimand, smooth)
    se_rd = float(np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
    g = np.array([1 / mu1, -1 / mu0])
    se_lrr = float(np.sqrt(g @ cov @ g))
    se_mu = np.sqrt(np.diag(cov))
    # statsmodels weighted GLM with the fixed-weight robust sandwich, for comparison.
    glm = sm.GLM(
        y,
        np.column_stack([np.ones(len(y)), t.astype(float)]),
        family=sm.families.Gaussian(),
        var_weights=w,
    ).fit(cov_type="HC0")
    extra["glm_fixed_weight"] = {"risk_difference": float(glm.params[1]), "se": float(glm.bse[1])}
    return w, mu1, mu0, se_rd, se_lrr, se_mu, extra


def _matching(
    lp: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    caliper: float | None,
    ratio: int,
    replace: bool,
    seed: int,
) -> tuple[np.ndarray, float, float, float, float, np.ndarray, dict[str, Any]]:
    """Caliper matching on the logit PS: weights, matched-set risks and standard errors."""
    n1 = int(t.sum())
    sd_lp = float(np.std(lp, ddof=1))
    width = np.inf if caliper is None else caliper * sd_lp
    sets = _match(lp, t, width, ratio, replace, np.random.default_rng(seed))
    if len(sets) < 2:
        raise InputError(
            "cohort_effect: fewer than two treated persons found a control within the "
            "caliper; widen the caliper or check overlap"
        )
    m = len(sets)
    w = np.zeros(len(y))
    treated_i = np.fromiter((i for i, _ in sets), dtype=np.int64, count=m)
    sizes = np.fromiter((len(cs) for _, cs in sets), dtype=np.int64, count=m)
    controls = np.fromiter(
        (c for _, cs in sets for c in cs), dtype=np.int64, count=int(sizes.sum())
    )
    set_of = np.repeat(np.arange(m), sizes)
    # vectorised, with the same floating-point operations as one set at a time: a treated
    # person is never a control; np.add.at adds a control's shares in set order; the
    # matched-set mean is the sequential sum of its (at most ``ratio``) outcomes / its size
    w[treated_i] = 1.0
    np.add.at(w, controls, (1.0 / sizes)[set_of])
    a_i = y[treated_i]
    b_i = np.bincount(set_of, weights=y[controls], minlength=m) / sizes
    mu1, mu0 = float(a_i.mean()), float(b_i.mean())
    if not replace:
        se_rd = float(np.std(a_i - b_i, ddof=1) / np.sqrt(m))
        se_lrr = float(np.std(a_i / mu1 - b_i / mu0, ddof=1) / np.sqrt(m))
        se_mu = np.array([np.std(a_i, ddof=1), np.std(b_i, ddof=1)]) / np.sqrt(m)
    else:
        ctrl = (~t) & (w > 0)
        v1 = np.sum((a_i - mu1) ** 2) / m**2
        v0 = np.sum(w[ctrl] ** 2 * (y[ctrl] - mu0) ** 2) / m**2
        se_rd = float(np.sqrt(v1 + v0))
        se_lrr = float(np.sqrt(v1 / mu1**2 + v0 / mu0**2))
        se_mu = np.sqrt([v1, v0])
    extra = dict(
        n_matched=m,
        n_unmatched=n1 - m,
        n_controls_used=int(((~t) & (w > 0)).sum()),
        caliper_width=width,
        matched_sets=sets,
    )
    return w, mu1, mu0, se_rd, se_lrr, se_mu, extra


def _effects_table(
    mu1: float,
    mu0: float,
    se_rd: float,
    se_lrr: float,
    se_mu: np.ndarray,
    z: float,
    label: str,
    naive: dict[str, float],
) -> pd.DataFrame:
    """Adjusted and naive risk ratio / difference and the adjusted risks, with E-values."""
    rr, rd = mu1 / mu0, mu1 - mu0
    rr_lo, rr_hi, rr_p = _ratio_ci(rr, se_lrr, z)
    rd_lo, rd_hi, rd_p = _diff_ci(rd, se_rd, z)
    e_pt, e_ci = e_value(rr, rr_lo, rr_hi)
    nrr = naive["rr"]
    ne_pt, ne_ci = (
        e_value(nrr, naive["rr_lo"], naive["rr_hi"]) if np.isfinite(nrr) else (np.nan, np.nan)
    )
    nan = np.nan
    rows = [
        ("risk_ratio", rr, rr_lo, rr_hi, rr_p, "risk_ratio", label, e_pt, e_ci),
        ("risk_difference", rd, rd_lo, rd_hi, rd_p, "risk_difference", label, nan, nan),
        ("risk_treated", mu1, mu1 - z * se_mu[0], mu1 + z * se_mu[0], nan, "risk", label, nan, nan),
        ("risk_control", mu0, mu0 - z * se_mu[1], mu0 + z * se_mu[1], nan, "risk", label, nan, nan),
        (
            "naive_risk_ratio",
            nrr,
            naive["rr_lo"],
            naive["rr_hi"],
            naive["rr_p"],
            "risk_ratio",
            "naive",
            ne_pt,
            ne_ci,
        ),
        (
            "naive_risk_difference",
            naive["rd"],
            naive["rd_lo"],
            naive["rd_hi"],
            naive["rd_p"],
            "risk_difference",
            "naive",
            nan,
            nan,
        ),
    ]
    cols = [
        "term",
        "estimate",
        "lower",
        "upper",
        "p_value",
        "scale",
        "method",
        "e_value",
        "e_value_ci",
    ]
    return pd.DataFrame(rows, columns=cols)


def _balance(xdf: pd.DataFrame, t: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    """Covariate means and standardised differences before and after adjustment."""
    brow = []
    c = ~t
    w1, w0 = w[t], w[c]
    has_w1 = w1.sum() > 0
    for col in xdf.columns:
        xv = xdf[col].to_numpy(float)
        binary = _is_binary(xv)
        x1, x0 = xv[t], xv[c]
        brow.append(
            {
                "covariate": col,
                "mean_treated": float(x1.mean()),
                "mean_control": float(x0.mean()),
                "smd_before": smd(xv, t, None, binary),
                "mean_treated_adj": float(np.average(x1, weights=w1)) if has_w1 else np.nan,
                "mean_control_adj": float(np.average(x0, weights=w0)),
                "smd_after": smd(xv, t, w, binary),
            }
        )
    return pd.DataFrame(brow)


def _overlap(e: np.ndarray, t: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    """Propensity score distribution and weight diagnostics by group."""
    orow = []
    for flag, name in ((True, "treated"), (False, "control")):
        eg, wg = e[t == flag], w[t == flag]
        other = e[t != flag]
        orow.append(
            {
                "group": name,
                "n": int(len(eg)),
                "ps_min": float(eg.min()),
                "ps_p01": float(np.quantile(eg, 0.01)),
                "ps_median": float(np.median(eg)),
                "ps_p99": float(np.quantile(eg, 0.99)),
                "ps_max": float(eg.max()),
                "outside_other_range": int(((eg < other.min()) | (eg > other.max())).sum()),
                "weight_max": float(wg.max()),
                "weight_sum": float(wg.sum()),
                "ess": float(wg.sum() ** 2 / np.sum(wg**2)) if wg.sum() > 0 else 0.0,
            }
        )
    return pd.DataFrame(orow)
