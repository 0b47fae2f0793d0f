"""Social inequality in health: slope and relative index of inequality, concentration index."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from nsv_eval.errors import InputError

from ._intervals import poisson_limits, wilson
from ._validate import (
    as_by,
    check_columns,
    check_conf,
    check_frame,
    group_label,
    iter_groups,
    numeric_column,
    z_value,
)

ValueType = Literal["other", "rate", "proportion"]
_Z95 = z_value(0.95)


def _order(data: pd.DataFrame, group: str, order: Sequence | None) -> list:
    """Order of the social groups, from most disadvantaged to most advantaged."""
    present = list(pd.unique(data[group]))
    if order is not None:
        order = list(order)
        unknown = [g for g in present if g not in order]
        if unknown:
            raise InputError(
                f"Column {group!r} has groups {unknown} that are not in order={order}."
            )
        return order
    col = data[group]
    if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered:
        return list(col.cat.categories)
    from nsv_eval.reference import EDUCATION_LEVELS

    if set(present) <= set(EDUCATION_LEVELS):
        return list(EDUCATION_LEVELS)
    return sorted(present)


def _ranks(pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population shares and cumulative rank midpoints (PHE's ``FindXValues``)."""
    a = pop / pop.sum()
    cum = np.cumsum(a)
    return a, cum - a / 2


def _transform(v: np.ndarray, value_type: str) -> np.ndarray:
    if value_type == "rate":
        return np.log(v)
    if value_type == "proportion":
        return np.log(v / (1 - v))
    return v


def _back(v: np.ndarray, value_type: str) -> np.ndarray:
    if value_type == "rate":
        return np.exp(v)
    if value_type == "proportion":
        return 1 / (1 + np.exp(-v))
    return v


def _check_sii_args(
    value_type: str,
    value: str | None,
    numerator: str | None,
    se: str | None,
    lower: str | None,
    upper: str | None,
    reps: int,
) -> None:
    if value_type not in ("other", "rate", "proportion"):
        raise InputError(f"value_type must be 'other', 'rate' or 'proportion', not {value_type!r}.")
    if value is None and numerator is None:
        raise InputError("sii needs value= (with se= or lower=/upper=) or numerator=.")
    if value is None and value_type == "other":
        raise InputError("numerator= needs value_type='rate' or 'proportion'.")
    if value is not None and se is None and (lower is None or upper is None) and numerator is None:
        raise InputError("sii needs se= or both lower= and upper= to simulate the limits.")
    if int(reps) < 100:
        raise InputError(f"reps must be at least 100, not {reps!r}.")


def _group_se(sub: pd.DataFrame, pop: np.ndarray, value_type: str, key: dict) -> np.ndarray:
    """Standard errors of the groups' values on the transformed scale: given, or from the
    limits (given, exact Poisson for rates, Wilson for proportions)."""
    if "se" in sub:
        s = sub["se"].to_numpy(float)
    else:
        if "lo" in sub:
            lo, hi = sub["lo"].to_numpy(float), sub["hi"].to_numpy(float)
        elif value_type == "rate":
            lo, hi = (lim / pop for lim in poisson_limits(sub["x"].to_numpy(float), 0.95))
        else:
            lo, hi = wilson(sub["x"].to_numpy(float), pop, 0.95)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (_transform(hi, value_type) - _transform(lo, value_type)) / _Z95 / 2
    if not np.isfinite(s).all() or (s < 0).any():
        raise InputError(f"{group_label(key)}: standard errors could not be formed (check limits).")
    return s


def _sii_simulation(
    v: np.ndarray,
    s: np.ndarray,
    pop: np.ndarray,
    reps: int,
    rng: np.random.Generator,
    value_type: str,
    multiplier: float,
    c: float,
) -> dict[str, float]:
    """SII by weighted least squares on the ridit ranks, RII, and their simulated limits."""
    k = len(v)
    a, rank = _ranks(pop)
    # point estimate: weighted least squares of y on (1, rank), weights = shares
    fit = sm.WLS(v, np.column_stack([np.ones(k), rank]), weights=a).fit()
    intercept, slope = (float(p) for p in fit.params)
    # simulation (PHE's SimulationFunc): y·√a = α√a + β·b√a, solved for all draws at once
    sqa = np.sqrt(a)
    m = np.vstack([sqa, rank * sqa])
    solve = np.linalg.solve(m @ m.T, m)
    draws = rng.normal(_transform(v, value_type)[:, None], s[:, None], size=(k, reps))
    params = solve @ (_back(draws, value_type) * sqa[:, None])
    sims_sii = np.sort(params[1] * multiplier)
    sims_rii = (params[1] + params[0]) / params[0]
    if multiplier < 0:
        sims_rii = 1 / sims_rii
    sims_rii = np.sort(sims_rii)
    cv = c + (1 - c) / 2
    pos_lo, pos_hi = round(reps * (1 - cv)) - 1, round(reps * cv) - 1
    rii_val = (intercept + slope) / intercept
    return {
        "estimate": slope * multiplier,
        "lower": float(sims_sii[pos_lo]),
        "upper": float(sims_sii[pos_hi]),
        "rii": 1 / rii_val if multiplier < 0 else rii_val,
        "rii_lower": float(sims_rii[pos_lo]),
        "rii_upper": float(sims_rii[pos_hi]),
        "intercept": intercept * multiplier,
    }


def sii(
    data: pd.DataFrame,
    group: str,
    population: str,
    *,
    value: str | None = None,
    numerator: str | None = None,
    se: str | None = None,
    lower: str | None = None,
    upper: str | None = None,
    value_type: ValueType = "other",
    order: Sequence | None = None,
    by: str | Sequence[str] | None = None,
    conf: float = 0.95,
    reps: int = 10_000,
    seed: int | None = 2024,
    multiplier: float = 1.0,
) -> pd.DataFrame:
    """Slope and relative index of inequality over ordered social groups (PHE's ``phe_sii``).

    Each group gets the midpoint of its range in the cumulative population distribution
    (ordered from most disadvantaged to most advantaged); the indicator is regressed on this
    rank with weights equal to the population shares (PHE fits ``y·√a ~ √a + b·√a``). The SII
    is the slope (fitted value at rank 1 minus rank 0); the RII is
    ``(intercept + SII) / intercept``. Confidence limits are simulated as PHE does: each
    group's value is drawn ``reps`` times from a normal distribution with its standard error
    (on the log scale for rates, logit scale for proportions), back-transformed, the
    regression refitted, and the percentiles of the SIIs (RIIs) taken.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per social group (within each ``by`` group).
    group : str
        Social group column (education level, income quintile ...).
    population : str
        Population of each group (> 0).
    value : str, optional
        Indicator value per group. Alternatively give ``numerator`` with
        ``value_type="rate"`` (value = numerator / population) or ``"proportion"``.
    numerator : str, optional
        Event or case counts; then the standard error comes from the exact/Byar (rate) or
        Wilson (proportion) 95 % interval, transformed as above.
    se : str, optional
        Standard error of the (transformed: log for rates, logit for proportions) value.
    lower, upper : str, optional
        95 % limits of the value, used when ``se`` is not given:
        ``se = (t(upper) − t(lower)) / (2 × 1.96)`` with t the transformation.
    value_type : {"other", "rate", "proportion"}
        Scale for the simulation (normal; log-normal; logit-normal).
    order : sequence, optional
        Group labels from most disadvantaged to most advantaged. Default: an ordered
        categorical's order, the education order of :data:`nsv_eval.reference.EDUCATION_LEVELS`
        (grundskole → lang), else sorted values (income quintile 1 = lowest first).
    by : str or sequence of str, optional
        One SII per group of these columns (kommune, year, sex ...).
    conf : float, default 0.95
        Confidence level of the simulated limits.
    reps : int, default 10000
        Simulation repetitions (PHE uses 100,000; fewer are fine for exploration).
    seed : int, optional
        Seed of the random generator, for reproducible limits.
    multiplier : float, default 1
        Scales SII and its limits (e.g. 100 for percentage points); a negative value flips
        polarity and inverts the RII, as in PHE.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``numerator`` (total, NaN without counts), ``denominator`` (total
        population), ``estimate`` (SII), ``lower``, ``upper``, ``rii``, ``rii_lower``,
        ``rii_upper``, ``intercept``, ``n_groups``, ``conf``, ``method``.

    Notes
    -----
    PHE requires 5-100 groups; fewer are allowed here (education has four levels) with a
    warning, since the regression then rests on few points.

    References
    ----------
    Low A, Low A (2004) Measuring the gap: quantifying and comparing local health
    inequalities. J Public Health 26:388-395. PHE, Technical Guide: Confidence Intervals
    (2018), appendix 7; PHEindicatormethods::phe_sii.
    """
    data = check_frame(data)
    by_ = as_by(by)
    c = check_conf(conf)
    _check_sii_args(value_type, value, numerator, se, lower, upper, reps)
    reps = int(reps)
    check_columns(data, [group, population, value, numerator, se, lower, upper, *by_])
    grp_order = _order(data, group, order)
    pop_all = numeric_column(data, population, by_, positive=True)
    cols = {"pop": pop_all}
    if numerator is not None:
        cols["x"] = numeric_column(data, numerator, by_)
    if value is not None:
        cols["v"] = numeric_column(data, value, by_, nonnegative=False)
    if se is not None:
        cols["se"] = numeric_column(data, se, by_)
    if lower is not None and upper is not None and se is None:
        cols["lo"] = numeric_column(data, lower, by_, nonnegative=False)
        cols["hi"] = numeric_column(data, upper, by_, nonnegative=False)
    frame = pd.DataFrame(cols, index=data.index)
    frame["_g"] = data[group].map({g: i for i, g in enumerate(grp_order)})
    for b in by_:
        frame[b] = data[b]
    rng = np.random.default_rng(seed)
    rows = []
    for key, sub in iter_groups(frame, by_):
        if sub["_g"].duplicated().any():
            raise InputError(f"{group_label(key)} has more than one row per {group!r} value.")
        sub = sub.sort_values("_g")
        k = len(sub)
        if k < 2:
            raise InputError(f"{group_label(key)} has fewer than 2 social groups; no SII.")
        if k < 5:
            warnings.warn(
                f"SII for {group_label(key)} rests on {k} groups (PHE requires at least 5).",
                stacklevel=2,
            )
        pop = sub["pop"].to_numpy(float)
        if "v" in sub:
            v = sub["v"].to_numpy(float)
        else:
            v = sub["x"].to_numpy(float) / pop
        if value_type == "rate" and (v <= 0).any():
            raise InputError(f"{group_label(key)}: rates must be > 0 for the log scale.")
        if value_type == "proportion" and ((v <= 0) | (v >= 1)).any():
            raise InputError(f"{group_label(key)}: proportions must lie strictly in (0, 1).")
        s = _group_se(sub, pop, value_type, key)
        est = _sii_simulation(v, s, pop, reps, rng, value_type, multiplier, c)
        rows.append(
            {
                **key,
                "numerator": float(sub["x"].sum()) if "x" in sub else np.nan,
                "denominator": float(pop.sum()),
                **est,
                "n_groups": k,
                "conf": c,
                "method": f"SII (PHE), simulated CI, {reps} reps",
            }
        )
    cols_out = [
        *by_,
        "numerator",
        "denominator",
        "estimate",
        "lower",
        "upper",
        "rii",
        "rii_lower",
        "rii_upper",
        "intercept",
        "n_groups",
        "conf",
        "method",
    ]
    return pd.DataFrame(rows, columns=cols_out)


def concentration_index(
    data: pd.DataFrame,
    group: str,
    population: str,
    *,
    numerator: str | None = None,
    value: str | None = None,
    variance: str | None = None,
    value_type: ValueType = "proportion",
    order: Sequence | None = None,
    by: str | Sequence[str] | None = None,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Concentration index over ordered social groups, with Kakwani's standard error.

    ``C = (2/μ) Σ f_t μ_t R_t − 1`` where ``f_t`` is the population share of group t,
    ``μ_t`` its mean, ``μ = Σ f_t μ_t`` and ``R_t`` its cumulative rank midpoint (groups
    ordered from most disadvantaged to most advantaged). C < 0: the outcome is concentrated
    among the disadvantaged. The variance is the grouped-data formula of Kakwani, Wagstaff &
    van Doorslaer (1997)::

        var(C) = [Σ f_t a_t² − (1 + C)²] / n + Σ f_t σ_t² (2R_t − 1 − C)² / (n μ²)
        a_t = μ_t/μ (2R_t − 1 − C) + 2 − q_{t−1} − q_t,  q_t = Σ_{s<=t} f_s μ_s / μ

    with n the total population and σ_t² the within-group variance of the person-level
    outcome.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per social group (within each ``by`` group).
    group, population : str
        Social group and its population (individuals or person-years).
    numerator : str, optional
        Cases (``value_type="proportion"``, σ² = μ(1 − μ)) or events (``"rate"``: events
        per person-year, Poisson σ² = μ).
    value, variance : str, optional
        Instead of ``numerator``: the group mean of a person-level outcome and its
        within-group variance (``value_type="other"``).
    value_type : {"proportion", "rate", "other"}
        See above.
    order, by, conf
        As for :func:`sii`.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``numerator``, ``denominator``, ``estimate`` (C), ``se``, ``lower``,
        ``upper``, ``n_groups``, ``conf``, ``method``.

    References
    ----------
    Kakwani N, Wagstaff A, van Doorslaer E (1997) Socioeconomic inequalities in health:
    measurement, computation, and statistical inference. J Econometrics 77:87-103.
    O'Donnell O et al. (2008) Analyzing health equity using household survey data, ch. 8.
    World Bank.
    """
    data = check_frame(data)
    by_ = as_by(by)
    c = check_conf(conf)
    if value_type not in ("other", "rate", "proportion"):
        raise InputError(f"value_type must be 'other', 'rate' or 'proportion', not {value_type!r}.")
    if value_type == "other":
        if value is None or variance is None:
            raise InputError("value_type='other' needs value= and variance= columns.")
    elif numerator is None:
        raise InputError(f"value_type={value_type!r} needs numerator=.")
    check_columns(data, [group, population, numerator, value, variance, *by_])
    grp_order = _order(data, group, order)
    cols = {"pop": numeric_column(data, population, by_, positive=True)}
    if numerator is not None:
        cols["x"] = numeric_column(data, numerator, by_)
    if value is not None:
        cols["v"] = numeric_column(data, value, by_, nonnegative=False)
    if variance is not None:
        cols["var"] = numeric_column(data, variance, by_)
    frame = pd.DataFrame(cols, index=data.index)
    frame["_g"] = data[group].map({g: i for i, g in enumerate(grp_order)})
    for b in by_:
        frame[b] = data[b]
    z = z_value(c)
    rows = []
    for key, sub in iter_groups(frame, by_):
        if sub["_g"].duplicated().any():
            raise InputError(f"{group_label(key)} has more than one row per {group!r} value.")
        sub = sub.sort_values("_g")
        pop = sub["pop"].to_numpy(float)
        n = pop.sum()
        f, r = _ranks(pop)
        if value_type == "other":
            mu_t = sub["v"].to_numpy(float)
            sig2 = sub["var"].to_numpy(float)
        else:
            mu_t = sub["x"].to_numpy(float) / pop
            if value_type == "proportion" and (mu_t > 1).any():
                raise InputError(f"{group_label(key)}: numerator exceeds population.")
            sig2 = mu_t * (1 - mu_t) if value_type == "proportion" else mu_t
        mu = float((f * mu_t).sum())
        if mu == 0:
            raise InputError(f"{group_label(key)}: the outcome is 0 everywhere; C undefined.")
        ci = float(2 / mu * (f * mu_t * r).sum() - 1)
        q = np.cumsum(f * mu_t) / mu
        q_prev = np.concatenate([[0.0], q[:-1]])
        a_t = mu_t / mu * (2 * r - 1 - ci) + 2 - q_prev - q
        var = ((f * a_t**2).sum() - (1 + ci) ** 2) / n + (
            f * sig2 * (2 * r - 1 - ci) ** 2
        ).sum() / (n * mu**2)
        se_c = float(np.sqrt(max(var, 0.0)))
        rows.append(
            {
                **key,
                "numerator": float(sub["x"].sum()) if "x" in sub else np.nan,
                "denominator": float(n),
                "estimate": ci,
                "se": se_c,
                "lower": ci - z * se_c,
                "upper": ci + z * se_c,
                "n_groups": len(sub),
                "conf": c,
                "method": "concentration index, Kakwani et al. (1997) SE",
            }
        )
    cols_out = [
        *by_,
        "numerator",
        "denominator",
        "estimate",
        "se",
        "lower",
        "upper",
        "n_groups",
        "conf",
        "method",
    ]
    return pd.DataFrame(rows, columns=cols_out)


__all__ = ["sii", "concentration_index"]
