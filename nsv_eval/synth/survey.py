"""Sundhedsprofilen-like survey: sampling, non-response, outcomes and calibration weights.

Respondents are drawn with replacement from the synthetic residents aged 16+ on 1 January of
the survey year (the synthetic residents act as a super-population, so a small kommune can
still have some 40 respondents at small scales). Response is less likely for low education,
young adults and men, so unweighted estimates are biased; the weights are calibrated
(raked) to the population of each kommune by sex × age group and by education, so weighted
totals match ``population.parquet`` on both margins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from nsv_eval.synth import model
from nsv_eval.synth.people import Persons


def outcome_probabilities(
    age: np.ndarray,
    female: np.ndarray,
    edu: np.ndarray,
    alone: np.ndarray,
    frailty: np.ndarray,
    z: float,
    year_offset: int,
) -> dict[str, np.ndarray]:
    """Planted probabilities of the binary outcomes (logistic models in :mod:`model`)."""
    m = model.SURVEY_MODELS
    s = m["srh_good"]
    srh = expit(
        s["intercept"]
        + np.asarray(s["edu"])[edu]
        + s["age"] * np.maximum(age - s["age_from"], 0)
        + s["log_frailty"] * np.log(frailty)
        + s["z"] * z
    )
    d = m["daily_smoker"]
    smk = expit(
        d["intercept"]
        + np.asarray(d["edu"])[edu]
        + d["age_quad"] * (age - d["age_peak"]) ** 2
        + d["z"] * z
        + d["trend"] * year_offset
    )
    lo = m["lonely"]
    lonely = expit(
        lo["intercept"]
        + np.asarray(lo["edu"])[edu]
        + lo["young"] * (age < 25)
        + lo["old"] * (age >= 85)
        + lo["living_alone"] * alone
        + lo["trend"] * year_offset
    )
    return dict(srh_good=srh, daily_smoker=smk, lonely=lonely)


def mcs_mean(age: np.ndarray, edu: np.ndarray, lonely: np.ndarray) -> np.ndarray:
    """Expected SF-12 mental component score given covariates and loneliness."""
    c = model.MCS
    lo, hi = c["age_cap"]
    return (
        c["intercept"]
        + np.asarray(c["edu"])[edu]
        + c["age"] * (np.clip(age, lo, hi) - 45)
        + c["lonely"] * lonely
    )


def sample_kommune(
    p: Persons,
    code: int,
    idx: np.ndarray,
    age: np.ndarray,
    year: int,
    year_offset: int,
    z: float,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Survey respondents of one kommune and year, plus planted population sums.

    Parameters
    ----------
    p : Persons
        Persons (of one or more kommuner).
    code : int
        The kommune code (``idx`` must all live there).
    idx, age : numpy.ndarray
        The sampling frame (persons 16+ alive on 1 January) and their age that day.
    """
    n_frame = len(idx)
    probs = outcome_probabilities(
        age, p.female[idx], p.edu[idx], p.alone[idx], p.frailty[idx], z, year_offset
    )
    # planted population prevalences: expected values over the whole frame, by education
    sums = {}
    for key, pr in probs.items():
        sums[key] = np.bincount(p.edu[idx], pr, minlength=4)
    sums["mental_wellbeing"] = np.bincount(
        p.edu[idx], mcs_mean(age, p.edu[idx], probs["lonely"]), minlength=4
    )
    sums["n"] = np.bincount(p.edu[idx], minlength=4).astype(float)
    n_inv = max(model.SURVEY_MIN_INVITED, int(round(model.SURVEY_FRACTION * n_frame)))
    if n_frame == 0:
        return pd.DataFrame(), sums
    pick = rng.integers(0, n_frame, n_inv)
    r = model.RESPONSE
    a = age[pick]
    pi = idx[pick]
    lp = (
        r["intercept"]
        + np.asarray(r["edu"])[p.edu[pi]]
        + r["female"] * p.female[pi]
        + np.interp(a, r["age_knots"], r["age_values"])
    )
    resp = rng.random(n_inv) < expit(lp)
    pick, a, pi = pick[resp], a[resp], pi[resp]
    k = len(pick)
    out = {key: rng.random(k) < pr[pick] for key, pr in probs.items()}
    mcs = mcs_mean(a, p.edu[pi], out["lonely"]) + model.MCS["sd"] * rng.normal(size=k)
    df = pd.DataFrame(
        {
            "year": np.full(k, year, dtype=np.int64),
            "kommune_code": np.full(k, code, dtype=np.int64),
            "female": p.female[pi],
            "age": a.astype(np.int64),
            "edu": p.edu[pi].astype(np.int64),
            "srh_good": out["srh_good"],
            "daily_smoker": out["daily_smoker"],
            "lonely": out["lonely"],
            "mental_wellbeing": np.round(np.clip(mcs, 0, 100), 1),
        }
    )
    return df, sums


def _collapse(resp_n: np.ndarray, pop_n: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Map each cell to a cell with respondents: an empty cell (no respondents) is merged
    into the nearest non-empty cell of its group (ordered cells), else of any group."""
    target = np.arange(len(resp_n))
    has = resp_n > 0
    for g in groups:
        ok = g[has[g]]
        for c in g[~has[g]]:
            if len(ok):
                target[c] = ok[np.argmin(np.abs(ok - c))]
            else:
                any_ok = np.flatnonzero(has)
                target[c] = any_ok[np.argmin(np.abs(any_ok - c))]
    return target


AGE_SCHEMES: tuple[tuple[int, ...], ...] = (
    tuple(model.SURVEY_AGE_GROUPS),
    (16, 35, 55, 75),
    (16, 65),
    (16,),
)
"""Age groupings tried in turn when raking a kommune-year: the finest one for which raking
converges is used (small samples can make fine margins infeasible)."""


def _ipf(
    sa: np.ndarray, e: np.ndarray, t_sa: np.ndarray, t_e: np.ndarray, iterations: int
) -> tuple[np.ndarray, bool]:
    """Iterative proportional fitting of unit weights to two margins."""
    w = np.full(len(sa), t_sa.sum() / len(sa))
    for _ in range(iterations):
        cur = np.bincount(sa, w, minlength=len(t_sa))
        w *= t_sa[sa] / cur[sa]
        cur = np.bincount(e, w, minlength=len(t_e))
        w *= t_e[e] / cur[e]
        err = np.abs(np.bincount(sa, w, minlength=len(t_sa))[sa] / t_sa[sa] - 1).max()
        if err < 1e-9:
            return w, True
    return w, False


def rake(resp: pd.DataFrame, population: pd.DataFrame, iterations: int = 200) -> np.ndarray:
    """Raking weights: respondents of each kommune and year are calibrated to the population
    (16+, 1 January) by sex × age group and by education.

    A full kommune × sex × age group × education cross-classification is too sparse for a
    survey of this size; raking to the two margins is what Sundhedsprofilen's calibration
    does in spirit. Margin cells without respondents are merged into the nearest cell
    (adjacent age group of the same sex; adjacent education level). If the margins cannot
    be met (raking does not converge), coarser age groups are used (:data:`AGE_SCHEMES`),
    and as a last resort post-stratification on education alone.
    """
    weights = np.zeros(len(resp))
    pop = population[population["age"] >= model.SURVEY_MIN_AGE]
    pop = pop.assign(
        f=(pop["sex"].to_numpy() == "F").astype(int),
        e=pop["education"].map(model.EDU_INDEX).to_numpy(),
    )
    # population by year x kommune x sex x single age, and by education
    pop_age = pop.groupby(["year", "kommune_code", "f", "age"])["population"].sum()
    pop_e = pop.groupby(["year", "kommune_code", "e"])["population"].sum()
    r_f = resp["female"].to_numpy().astype(int)
    r_age = resp["age"].to_numpy()
    r_e = resp["edu"].to_numpy()
    for (year, kom), rows in resp.groupby(["year", "kommune_code"], sort=True).indices.items():
        pa_ = pop_age.loc[(year, kom)]
        p_f = pa_.index.get_level_values("f").to_numpy()
        p_age = pa_.index.get_level_values("age").to_numpy()
        pe = pop_e.loc[(year, kom)].reindex(range(4), fill_value=0).to_numpy(float)
        e = r_e[rows]
        te = _collapse(np.bincount(e, minlength=4), pe, [np.arange(4)])
        pe_c = np.bincount(te, pe, minlength=4)
        for edges in AGE_SCHEMES:
            n_ag = len(edges)
            sa = r_f[rows] * n_ag + np.searchsorted(edges, r_age[rows], "right") - 1
            p_sa = p_f * n_ag + np.searchsorted(edges, p_age, "right") - 1
            psa = np.bincount(p_sa, pa_.to_numpy(float), minlength=2 * n_ag)
            groups = [np.arange(n_ag), np.arange(n_ag, 2 * n_ag)]
            tsa = _collapse(np.bincount(sa, minlength=2 * n_ag), psa, groups)
            psa_c = np.bincount(tsa, psa, minlength=2 * n_ag)
            w, ok = _ipf(sa, e, psa_c, pe_c, iterations)
            if ok:
                break
        if not ok:
            # Infeasible margins (tiny samples): IPF drives some weights towards zero. Fall
            # back to post-stratification on education alone, which always exists.
            w = pe_c[e] / np.bincount(e, minlength=4)[e]
        weights[rows] = w
    return weights
