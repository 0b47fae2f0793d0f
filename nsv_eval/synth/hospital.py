"""Hospital courses and contacts for a slice of persons.

Each person's acute and planned courses form a point process whose intensity is piecewise
constant by calendar month (age, sex, education, frailty, kommune, season, trend and the
kommune/person-level interventions, all multiplicative). Courses are drawn one after the
other for all persons at once: the next course starts where the cumulative intensity from
the earliest allowed start reaches an Exp(1) draw (inverse-transform on a monthly grid).

Rules that make the downstream cleaning checkable:

* consecutive courses of a person are at least 5 h apart (never chained by the 4-h rule);
* a course may be recorded as 2-3 contacts (transfers) that overlap or follow within
  3.5 h;
* after an *index discharge* (acute course, medical action diagnosis, age 65+, discharged
  alive) the 30-day readmission is drawn from the readmission model (log-linear risk in the
  observed covariates, times the planted follow-up-visit risk ratio); without a readmission
  the next course starts at least 31 days after discharge. So the 30-day acute readmission
  seen in the data is exactly the simulated outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from scipy.special import expit

from nsv_eval import definitions
from nsv_eval.definitions import codelists
from nsv_eval.synth import model
from nsv_eval.synth.model import DAYS_PER_YEAR, N_AGE, UNBORN
from nsv_eval.synth.people import Period, exact_age, in_home_care
from nsv_eval.synth.world import HOSPITALS_PER_REGION

HOUR = 1.0 / 24.0
MIN_GAP = 5 * HOUR
MAX_TRANSFER_GAP = 3.5 * HOUR
MAX_OVERLAP = 2 * HOUR


@dataclass
class Slice:
    """The person-level inputs of one simulation slice (parallel arrays)."""

    birth: np.ndarray
    female: np.ndarray
    edu: np.ndarray
    alone: np.ndarray
    frailty: np.ndarray
    death: np.ndarray  # updated in place for deaths that happen in hospital
    kidx: np.ndarray  # index into the chunk's kommune arrays
    falls_effect_day: np.ndarray
    hc_start: np.ndarray
    hc_end: np.ndarray
    visit_effect: np.ndarray | None = None  # persons x months: a preventive visit acts
    complier75_month: np.ndarray | None = None  # month the 75-visit changes the status (inf)


@dataclass
class KommuneArrays:
    """Kommune-level inputs, indexed by ``Slice.kidx``."""

    code: np.ndarray
    acute_mult: np.ndarray
    preventable_mult: np.ndarray
    falls_mult: np.ndarray
    planned_mult: np.ndarray
    team_day: np.ndarray  # first day of the acute team (inf = never)
    falls_start_day: np.ndarray
    local_hospital: np.ndarray
    region: np.ndarray


class RateModel:
    """Monthly intensity of each diagnosis group for the persons of a slice."""

    def __init__(self, s: Slice, k: KommuneArrays, period: Period) -> None:
        self.s, self.k, self.period = s, k, period
        t = model.group_tables()
        self.rate = t["rate"].reshape(model.N_GROUPS, -1)  # groups x (2 * N_AGE)
        self.season = t["season"]
        self.edu = t["edu"]
        self.trend = t["trend"]
        ms = period.month_start
        self.ms = ms[:-1]
        self.me = ms[1:]
        self.mid = 0.5 * (self.ms + self.me)
        self.moy = np.arange(period.n_months) % 12
        self.year = np.arange(period.n_months) // 12
        kom_factor = np.ones((model.N_GROUPS, len(k.code)))
        for g in range(model.N_GROUPS):
            if g == model.PLANNED:
                kom_factor[g] = k.planned_mult
                continue
            kom_factor[g] = k.acute_mult
            if g in model.PREVENTABLE_GROUPS:
                kom_factor[g] *= k.preventable_mult
            if g in model.FALL_GROUPS:
                kom_factor[g] *= k.falls_mult
        self.kom_factor = kom_factor

    def age(self, i: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Age slot at the middle of month ``m`` (UNBORN if not born by the month's end)."""
        b = self.s.birth[i]
        a = np.floor(np.maximum(self.mid[m] - b, 0) / DAYS_PER_YEAR)
        a = np.minimum(a, N_AGE - 2).astype(np.int16)
        return np.where(self.me[m] <= b, UNBORN, a)

    def group_rate(
        self, g: int, i: np.ndarray, m: np.ndarray, age: np.ndarray, effects: bool = True
    ) -> np.ndarray:
        """Intensity (per year) of group ``g`` for persons ``i`` in months ``m``."""
        s = self.s
        sa = s.female[i].astype(np.int32) * N_AGE + age
        pf = s.frailty[i] ** model.FRAILTY_RATE_POWER * self.edu[g][s.edu[i]]
        pf = pf * self.kom_factor[g][s.kidx[i]]
        mf = self.season[g][self.moy[m]] * np.exp(self.trend[g] * self.year[m])
        r = self.rate[g][sa] * pf * mf
        if effects:
            r = r * self.effect(g, i, m, age)
        return r

    def effect(self, g: int, i: np.ndarray, m: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Multiplier of the planted interventions for group ``g`` (1 where none acts)."""
        team, part = self.effect_parts(g, i, m, age)
        visit: np.ndarray | float = 1.0
        if self.s.visit_effect is not None and g != model.PLANNED:
            rr = (
                model.PREVENTIVE_VISIT_FALL_RR
                if g in model.FALL_GROUPS
                else model.PREVENTIVE_VISIT_ADMISSION_RR
            )
            visit = np.where(self.s.visit_effect[i, m], rr, 1.0)
        return np.broadcast_to(
            np.asarray(team * part * visit, dtype=float),
            np.broadcast_shapes(np.shape(i), np.shape(m)),
        )

    def effect_parts(
        self, g: int, i: np.ndarray, m: np.ndarray, age: np.ndarray
    ) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(acute-team factor, falls-programme factor) for group ``g``."""
        team: np.ndarray | float = 1.0
        part: np.ndarray | float = 1.0
        if g in model.PREVENTABLE_GROUPS:
            on = (self.ms[m] >= self.k.team_day[self.s.kidx[i]]) & (age >= 65) & (age != UNBORN)
            team = np.where(on, model.ACUTE_TEAM_RR, 1.0)
        if g in model.FALL_GROUPS:
            on = self.ms[m] >= self.s.falls_effect_day[i]
            part = np.where(on, model.FALLS_PROGRAMME_RR, 1.0)
        return team, part

    def cell_factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Factorised intensity per unit frailty for cells (kommune x education x sex):
        ``base`` (groups x cells x ages: age-sex rate x education RR x kommune multiplier),
        ``month`` (groups x months: season x trend) and ``team`` (cells x ages x months:
        the acute-team factor, applied to the preventable groups). The falls-programme
        factor is person-specific and applied separately."""
        n_k = len(self.k.code)
        cells = np.arange(n_k * 8)
        kk, edu, sex = cells // 8, (cells // 2) % 4, cells % 2
        ages = np.arange(N_AGE)
        base = np.stack(
            [
                self.rate[g].reshape(2, N_AGE)[sex]
                * (self.edu[g][edu] * self.kom_factor[g][kk])[:, None]
                for g in range(model.N_GROUPS)
            ]
        )
        month = self.season[:, self.moy] * np.exp(self.trend[:, None] * self.year[None, :])
        team_on = (self.ms[None, None, :] >= self.k.team_day[kk][:, None, None]) & (
            (ages >= 65) & (ages != UNBORN)
        )[None, :, None]
        team = np.where(team_on, model.ACUTE_TEAM_RR, 1.0)
        return base, month, team

    def all_groups(self, i: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Intensities of every group at events (persons ``i``, months ``m``): events x groups."""
        age = self.age(i, m)
        return np.stack([self.group_rate(g, i, m, age) for g in range(model.N_GROUPS)], axis=1)


def official_fall_weight(g: int) -> float:
    """Expected share of group ``g``'s acute contacts of residents 65+ that the official
    fall-injury indicator counts.

    That is the share of the group's codes that are injury diagnoses (S/T, which the LPR
    layouts give contact cause ulykke) times the probability that the stay lasts at least
    12 hours: long stays always do, short stays (length uniform on 2-23.5 h, see
    :func:`simulate`) with probability (23.5 - 12) / 21.5. Stays merged with an emergency
    room contact are slightly longer, so this is a close lower bound, not exact.

    Parameters
    ----------
    g : int
        Index into :data:`nsv_eval.synth.model.GROUPS`.

    Returns
    -------
    float
        Between 0 and 1; 0 for groups without injury codes.
    """
    grp = model.GROUPS[g]
    if g == model.PLANNED:
        return 0.0
    injury = sum(w for c, w in grp["codes"].items() if c.startswith(("DS", "DT")))
    injury /= sum(grp["codes"].values())
    p_long = 1.0 - grp["short"] * (12.0 - 2.0) / (23.5 - 2.0)
    return float(injury * p_long)


@cache
def official_preventable_weight(g: int) -> float:
    """Expected share of group ``g``'s acute contacts of residents 65+ that the official
    preventable-admission indicator counts: the share of the group's codes on its code list
    (``nsv_eval/definitions/preventable.yaml``) times the probability that the stay lasts
    at least 12 hours (as :func:`official_fall_weight`; a close lower bound)."""
    grp = model.GROUPS[g]
    if g == model.PLANNED:
        return 0.0
    codes = list(grp["codes"])
    on = definitions.get("preventable").codeset("preventable").matches(codes).to_numpy()
    share = sum(w for c, w, o in zip(codes, grp["codes"].values(), on, strict=True) if o)
    share /= sum(grp["codes"].values())
    return float(share * (1.0 - grp["short"] * (12.0 - 2.0) / (23.5 - 2.0)))


def _official_fall_rates(
    idx: tuple[np.ndarray, ...],
    frailty_factor: np.ndarray,
    programme: np.ndarray,
    base: np.ndarray,
    month_f: np.ndarray,
    team: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Intensities (per person-year) of what the official fall-injury indicator counts, at
    the given (cell, age, month) index of each person: the fall groups (times the falls
    programme's factor ``programme``) and the other acute groups with injury codes (other
    accidents, which a preventive visit changes as acute admissions), each group weighted
    by :func:`official_fall_weight` and, when preventable, by the acute team's factor."""
    ic, ia, im = idx
    shape = (base.shape[1], base.shape[2], month_f.shape[1])
    tm = np.broadcast_to(np.asarray(team, dtype=float), shape)[ic, ia, im]
    fall = np.zeros(len(ic))
    other = np.zeros(len(ic))
    for g in range(model.N_GROUPS):
        wt = official_fall_weight(g)
        if wt == 0:
            continue
        r = wt * base[g][ic, ia] * month_f[g][im] * frailty_factor
        if g in model.PREVENTABLE_GROUPS:
            r = r * tm
        if g in model.FALL_GROUPS:
            fall += r * programme
        else:
            other += r
    return fall, other


def _exposure(s: Slice, rm: RateModel, t_end: float) -> np.ndarray:
    """Person-years alive in each month (persons x months)."""
    lo = np.maximum(rm.ms[None, :], s.birth[:, None])
    hi = np.minimum(np.minimum(rm.me[None, :], s.death[:, None]), t_end)
    return np.maximum(hi - lo, 0.0) / DAYS_PER_YEAR


def simulate(
    s: Slice, k: KommuneArrays, period: Period, rng: np.random.Generator
) -> dict[str, Any]:
    """Simulate courses, contacts, follow-up visits and the expected counts of one slice.

    Returns
    -------
    dict
        ``courses`` (per-course arrays), ``contacts`` (per-contact arrays), ``visits``
        (person, day), ``index`` (per index discharge: covariates, assignment, potential
        outcomes), ``expected`` (expected counts for truth.json).
    """
    n = len(s.birth)
    n_m = period.n_months
    t_end = period.end
    rm = RateModel(s, k, period)
    codes, code_group, group_codes, group_cum = model.code_table()
    medical = codelists.is_medical(np.array(codes, dtype=object)).to_numpy()
    tables = model.group_tables()

    # ---- monthly intensity matrix, cumulative hazard and expected counts for truth
    # The intensity factorises into cell tables (kommune x education x sex, age, month)
    # times the person's frailty (times the falls-programme factor for participants), so the
    # persons x months matrices are a few gathers; expected counts for truth.json are sums
    # of the cell tables weighted by frailty x person-time per cell.
    i_all = np.arange(n)[:, None]
    m_all = np.arange(n_m)[None, :]
    age = rm.age(i_all, m_all)
    expo = _exposure(s, rm, t_end)
    n_k = len(k.code)
    n_y = period.n_years
    n_cell = n_k * 8
    combo = (s.kidx.astype(np.int64) * 4 + s.edu) * 2 + s.female
    cell = (combo[:, None] * N_AGE + age) * n_m + m_all
    part = s.falls_effect_day[:, None] <= rm.ms[None, :]
    size = n_cell * N_AGE * n_m
    fx = s.frailty[:, None] ** model.FRAILTY_RATE_POWER * expo
    w_all = np.bincount(cell.ravel(), fx.ravel(), minlength=size).reshape(n_cell, N_AGE, n_m)
    w_part = np.bincount(cell[part], fx[part], minlength=size).reshape(n_cell, N_AGE, n_m)
    w_x = np.bincount(cell.ravel(), expo.ravel(), minlength=size).reshape(n_cell, N_AGE, n_m)
    del fx, expo
    w_eff = w_all - (1 - model.FALLS_PROGRAMME_RR) * w_part  # falls groups: participants x RR
    base, month_f, team = rm.cell_factors()  # groups x cells x ages, groups x months, team
    ages = np.arange(N_AGE)
    old_a = ((ages >= 65) & (ages != UNBORN)).astype(float)
    year_of_m = np.arange(n_m) // 12
    w_team = team * w_all
    w_eff_team = team * w_eff

    def sums(groups: list[int], x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For groups with cell weights ``x``: expected counts by group x month (all ages,
        65+) and by group x kommune x month (65+), via batched matrix products."""
        b = base[groups].transpose(1, 0, 2)  # cells x groups x ages
        r_all = np.matmul(b, x).sum(axis=0)  # groups x months
        r_old_c = np.matmul(b * old_a, x)  # cells x groups x months
        r_old = r_old_c.sum(axis=0)
        r_old_k = r_old_c.reshape(n_k, 8, len(groups), n_m).sum(axis=1).transpose(1, 0, 2)
        mf = month_f[groups]
        return r_all * mf, r_old * mf, r_old_k * mf[:, None, :]

    def by_year(x: np.ndarray) -> np.ndarray:
        return np.bincount(year_of_m, x, minlength=n_y)

    exp_group = np.zeros((model.N_GROUPS, n_y, 2))  # expected counts: group x year x 65+
    fall_with = np.zeros((n_k, n_m))
    fall_without = np.zeros((n_k, n_m))
    prev_with = np.zeros((n_k, n_m))
    prev_without = np.zeros((n_k, n_m))
    # the official fall-injury indicator (injury action diagnosis + contact cause ulykke,
    # admissions >= 12 h): expected counts with and without the programme, every group
    # weighted by its share of injury codes that are admissions (official_fall_weight)
    inj_with = np.zeros((n_k, n_m))
    inj_without = np.zeros((n_k, n_m))
    # the same for the official preventable indicator (official_preventable_weight): fall
    # fractures (fall_other) are on its list but the acute team does not act on them
    pof_with = np.zeros((n_k, n_m))
    pof_without = np.zeros((n_k, n_m))
    pof_unaffected = np.zeros((n_k, n_m))  # its part from groups the team does not act on
    for g in range(model.N_GROUPS):
        prev, fall = g in model.PREVENTABLE_GROUPS, g in model.FALL_GROUPS
        x = (w_eff_team if prev else w_eff) if fall else (w_team if prev else w_all)
        r_all, r_old, r_old_k = sums([g], x)
        exp_group[g, :, 0] = by_year(r_all[0] - r_old[0])
        exp_group[g, :, 1] = by_year(r_old[0])
        without_k = sums([g], w_team if prev else w_all)[2][0] if fall else r_old_k[0]
        if (wt := official_fall_weight(g)) > 0:
            inj_with += wt * r_old_k[0]
            inj_without += wt * without_k
        if fall:
            fall_with += r_old_k[0]
            fall_without += without_k
        p0_k = sums([g], w_eff if fall else w_all)[2][0] if prev else r_old_k[0]
        if prev:
            prev_with += r_old_k[0]
            prev_without += p0_k
        if (wp := official_preventable_weight(g)) > 0:
            pof_with += wp * r_old_k[0]
            pof_without += wp * p0_k
            if not prev:
                pof_unaffected += wp * p0_k
    ones = np.ones(n_m)
    py_all, py_old = (np.einsum("cam->m", w_x), np.einsum("cam,a->m", w_x, old_a))
    py = np.stack([by_year(py_all - py_old), by_year(py_old)], axis=1)
    py65_k = np.einsum("kcam,a->km", w_x.reshape(n_k, 8, N_AGE, n_m), old_a)
    del w_all, w_part, w_eff, w_x, w_team, w_eff_team, ones

    def table(groups: list[int]) -> np.ndarray:  # cells x ages x months
        if not groups:
            return np.zeros((n_cell, N_AGE, n_m))
        return np.tensordot(base[groups], month_f[groups], axes=([0], [0]))

    pf = [g for g in model.PREVENTABLE_GROUPS if g in model.FALL_GROUPS]
    p_only = [g for g in model.PREVENTABLE_GROUPS if g not in model.FALL_GROUPS]
    f_only = [g for g in model.FALL_GROUPS if g not in model.PREVENTABLE_GROUPS]
    plain = [
        g for g in range(model.N_GROUPS) if g not in model.PREVENTABLE_GROUPS + model.FALL_GROUPS
    ]
    acute_plain = [g for g in plain if g != model.PLANNED]
    t_nonfall = table(acute_plain) + team * table(p_only)
    t_fall = table(f_only) + team * table(pf)
    flat_cell = cell.ravel()
    fx = s.frailty[:, None] ** model.FRAILTY_RATE_POWER
    acute_nf = t_nonfall.ravel()[flat_cell].reshape(n, n_m) * fx
    fall = t_fall.ravel()[flat_cell].reshape(n, n_m) * np.where(part, model.FALLS_PROGRAMME_RR, 1.0)
    fall *= fx
    total = table([model.PLANNED]).ravel()[flat_cell].reshape(n, n_m) * fx
    # preventive home visits: acute admissions and fall injuries in the visit's effect months
    visit_compliers = np.zeros(7)
    if s.visit_effect is not None:
        on = s.visit_effect
        assert s.complier75_month is not None  # set together with visit_effect
        total += acute_nf * np.where(on, model.PREVENTIVE_VISIT_ADMISSION_RR, 1.0)
        total += fall * np.where(on, model.PREVENTIVE_VISIT_FALL_RR, 1.0)
        # truth of the regression discontinuity at 75: the compliers' rates without the visit
        # in the month the 75-visit's effect starts, and their change by the visit
        ci = np.flatnonzero(np.isfinite(s.complier75_month))
        if len(ci):
            cm = s.complier75_month[ci].astype(np.int64)
            a0, f0 = acute_nf[ci, cm], fall[ci, cm]
            fo, ao = _official_fall_rates(
                np.unravel_index(cell[ci, cm], (n_cell, N_AGE, n_m)),
                s.frailty[ci] ** model.FRAILTY_RATE_POWER,
                np.where(part[ci, cm], model.FALLS_PROGRAMME_RR, 1.0),
                base,
                month_f,
                team,
            )
            visit_compliers = np.array(
                [
                    len(ci),
                    (a0 + f0).sum(),
                    (a0 * (model.PREVENTIVE_VISIT_ADMISSION_RR - 1)).sum()
                    + (f0 * (model.PREVENTIVE_VISIT_FALL_RR - 1)).sum(),
                    f0.sum(),
                    (f0 * (model.PREVENTIVE_VISIT_FALL_RR - 1)).sum(),
                    (fo + ao).sum(),
                    (fo * (model.PREVENTIVE_VISIT_FALL_RR - 1)).sum()
                    + (ao * (model.PREVENTIVE_VISIT_ADMISSION_RR - 1)).sum(),
                ]
            )
    else:
        total += acute_nf + fall
    del cell, flat_cell, part, t_nonfall, t_fall, age, acute_nf, fall, fx

    mlen = (rm.me - rm.ms) / DAYS_PER_YEAR
    cum = np.zeros((n, n_m + 1))
    np.cumsum(total * mlen[None, :], axis=1, out=cum[:, 1:])
    offset = float(cum[:, -1].max()) + 1.0 if n else 1.0
    flat = (cum + offset * np.arange(n)[:, None]).ravel()

    def cumhaz_at(i: np.ndarray, t: np.ndarray) -> np.ndarray:
        m = np.clip(np.searchsorted(rm.ms, t, side="right") - 1, 0, n_m - 1)
        return cum[i, m] + total[i, m] * (np.clip(t, rm.ms[m], rm.me[m]) - rm.ms[m]) / DAYS_PER_YEAR

    def invert(i: np.ndarray, v: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(flat, v + offset * i, side="right") - 1
        m = pos - i * (n_m + 1)
        out = np.full(len(i), np.inf)
        ok = (m >= 0) & (m < n_m)
        mi, ii = m[ok], i[ok]
        out[ok] = rm.ms[mi] + (v[ok] - cum[ii, mi]) / total[ii, mi] * DAYS_PER_YEAR
        return out

    # ---- terminal admissions (deaths in hospital)
    t0 = np.maximum(s.birth, 0.0)
    terminal = np.full(n, np.inf)
    dies = np.flatnonzero((s.death < t_end) & (rng.random(n) < model.IN_HOSPITAL_DEATH_PROB))
    los_term = 2 * HOUR + np.exp(np.log(4.0) + 0.8 * rng.normal(size=len(dies)))
    ts = s.death[dies] - los_term
    ok = ts > t0[dies]
    terminal[dies[ok]] = ts[ok]

    # ---- sequential course simulation
    active = t0 < np.minimum(s.death, t_end)
    lb = t0.copy()
    mode = np.zeros(n, dtype=np.int8)  # 0 background, 1 readmission, 2 early return
    fixed = np.full(n, np.inf)
    hist = np.full((n, model.PRIOR_CAP), -np.inf)
    # Visits are recorded so that the exposure seen downstream ("a followup_visit dated 0-7
    # days after the discharge date") is exactly the simulated assignment: a visit already
    # scheduled after an earlier index that falls in this index's window counts as this
    # index's visit; a new visit is never dated inside the window of an earlier index that
    # had no visit (which would make that index look visited only because it was
    # readmitted). Both rules depend on history only, so assignment stays ignorable given
    # the covariates (the outcome draw is a fresh uniform).
    last_visit = np.full(n, -np.inf)
    block_until = np.full(n, -np.inf)
    rec: dict[str, list[np.ndarray]] = {
        k_: [] for k_ in ("person", "start", "discharge", "group", "code", "died", "index")
    }
    idx_rec: dict[str, list[np.ndarray]] = {
        k_: []
        for k_ in (
            "person",
            "discharge",
            "age",
            "male",
            "alone",
            "home_care",
            "prior",
            "edu",
            "q",
            "p0",
            "p1",
            "treated",
            "y0",
            "y1",
            "r0",
            "r1",
        )
    }
    visits_p, visits_d = [], []
    mix_groups = np.array([model.GROUP_NAMES.index(g) for g in model.READMISSION_MIX])
    mix_cum = np.cumsum(list(model.READMISSION_MIX.values()))
    acute_mask = np.ones(model.N_GROUPS, dtype=bool)
    acute_mask[model.PLANNED] = False
    fa, ra = model.FOLLOWUP_ASSIGN, model.READMIT_RISK

    while True:
        a = np.flatnonzero(active)
        if len(a) == 0:
            break
        md = mode[a]
        cand = fixed[a].copy()
        bg = md == 0
        if bg.any():
            ib = a[bg]
            v = cumhaz_at(ib, lb[ib]) + rng.exponential(1.0, len(ib))
            cand[bg] = invert(ib, v)
        term = terminal[a]
        use_term = (term >= lb[a]) & (term < cand)
        start = np.where(use_term, term, cand)
        go = start < np.minimum(s.death[a], t_end)
        active[a[~go]] = False
        a, start, use_term, md = a[go], start[go], use_term[go], md[go]
        if len(a) == 0:
            break
        terminal[a[use_term]] = np.inf
        month = np.clip(np.searchsorted(rm.ms, start, side="right") - 1, 0, n_m - 1)
        # diagnosis group
        group = np.empty(len(a), dtype=np.int64)
        readm = md == 1
        if readm.any():
            group[readm] = mix_groups[
                np.searchsorted(mix_cum, rng.random(readm.sum()) * mix_cum[-1])
            ]
        other = ~readm
        if other.any():
            rates = rm.all_groups(a[other], month[other])
            acute_only = use_term[other] | (md[other] == 2)
            rates[acute_only] *= acute_mask
            cw = np.cumsum(rates, axis=1)
            u = rng.random(other.sum()) * cw[:, -1]
            group[other] = np.minimum((cw < u[:, None]).sum(axis=1), model.N_GROUPS - 1)
        # diagnosis code within the group
        code = np.empty(len(a), dtype=np.int64)
        u = rng.random(len(a))
        for g in np.unique(group):
            sel = group == g
            code[sel] = group_codes[g][np.searchsorted(group_cum[g], u[sel] * group_cum[g][-1])]
        acute = group != model.PLANNED
        # length of stay
        age_start = (start - s.birth[a]) / DAYS_PER_YEAR
        p_short = tables["short"][group] + np.where(
            age_start < 65, model.SHORT_STAY_EXTRA_UNDER_65, 0
        )
        # readmissions are seldom short stays (calibration to the official definition, in
        # which a stay under 12 h is no admission)
        p_short = np.where(readm, p_short * model.READMISSION_SHORT_FACTOR, p_short)
        short = rng.random(len(a)) < p_short
        los = np.where(
            short,
            rng.uniform(2 * HOUR, 23.5 * HOUR, len(a)),
            np.maximum(
                1.0,
                np.exp(np.log(tables["los"][group]) + model.LOS_SDLOG * rng.normal(size=len(a))),
            ),
        )
        discharge = start + los
        death = s.death[a]
        died = use_term | (np.floor(death) <= np.floor(discharge))
        discharge = np.where(died, np.maximum(death, start + HOUR), discharge)
        s.death[a[died]] = discharge[died]
        age_adm = exact_age(s.birth[a], start, period.epoch)
        is_index = acute & medical[code] & (age_adm >= 65) & ~died & (discharge < t_end)

        # ---- index discharges: covariates, follow-up visit, potential outcomes
        ix = np.flatnonzero(is_index)
        nxt_fixed = np.full(len(a), np.inf)
        nxt_mode = np.zeros(len(a), dtype=np.int8)
        nxt_lb = discharge + MIN_GAP
        if len(ix):
            pi = a[ix]
            prior = (hist[pi] >= start[ix][:, None] - 365).sum(axis=1)
            prior = np.minimum(prior, model.PRIOR_CAP)
            hc = in_home_care(s.hc_start, s.hc_end, pi, discharge[ix])
            agec = age_adm[ix] - model.READMIT_AGE_CENTRE
            male = ~s.female[pi]
            lq = (
                fa["intercept"]
                + fa["age"] * agec
                + fa["living_alone"] * s.alone[pi]
                + fa["home_care"] * hc
                + fa["prior"] * prior
                + fa["male"] * male
                + np.asarray(fa["edu"])[s.edu[pi]]
            )
            lr = (
                ra["intercept"]
                + ra["age"] * agec
                + ra["living_alone"] * s.alone[pi]
                + ra["home_care"] * hc
                + ra["prior"] * prior
                + ra["male"] * male
                + np.asarray(ra["edu"])[s.edu[pi]]
            )
            q = expit(lq)
            p0 = np.minimum(np.exp(lr), model.RISK_CAP)
            p1 = np.minimum(np.exp(lr) * model.FOLLOWUP_VISIT_RR, model.RISK_CAP)
            dday = np.floor(discharge[ix])
            drawn = rng.random(len(ix)) < q
            carried = last_visit[pi] >= dday
            blocked = block_until[pi] >= dday + model.FOLLOWUP_MAX_DAYS
            treated = carried | (drawn & ~blocked)
            u = rng.random(len(ix))
            y0, y1 = u < p0, u < p1
            delay = MIN_GAP + (model.READMIT_WINDOW_DAYS - 1 - MIN_GAP) * rng.beta(
                0.7, 1.8, len(ix)
            )
            rt = discharge[ix] + delay
            horizon = np.minimum(s.death[pi], t_end)
            tm = terminal[pi]
            term_first = (tm >= discharge[ix] + MIN_GAP) & (tm < rt) & (tm < t_end)
            possible = (rt < horizon) | term_first
            yobs = np.where(treated, y1, y0)
            nxt_mode[ix] = np.where(yobs, 1, 0)
            nxt_fixed[ix] = np.where(yobs, rt, np.inf)
            nxt_lb[ix] = np.where(
                yobs, discharge[ix] + MIN_GAP, discharge[ix] + model.NO_READMIT_GAP_DAYS
            )
            for key, val in (
                ("person", pi),
                ("discharge", discharge[ix]),
                ("age", age_adm[ix]),
                ("male", male),
                ("alone", s.alone[pi]),
                ("home_care", hc),
                ("prior", prior),
                ("edu", s.edu[pi]),
                ("q", q),
                ("p0", p0),
                ("p1", p1),
                ("treated", treated),
                ("y0", y0),
                ("y1", y1),
                ("r0", y0 & possible),
                ("r1", y1 & possible),
            ):
                idx_rec[key].append(np.asarray(val))
            new = treated & ~carried
            tv = ix[new]
            vday = dday[new] + rng.integers(1, model.FOLLOWUP_MAX_DAYS + 1, len(tv))
            vday = np.maximum(vday, block_until[a[tv]] + 1)
            vday = np.minimum(vday, np.floor(s.death[a[tv]]))
            last_visit[a[tv]] = vday
            untreated = pi[~treated]
            block_until[untreated] = np.maximum(block_until[untreated], dday[~treated] + 7)
            keep = vday < t_end
            visits_p.append(a[tv][keep])
            visits_d.append(vday[keep])
        # ---- ordinary discharges: occasionally a separate new course 5-48 h later
        plain = ~is_index & ~died
        early = plain & (rng.random(len(a)) < model.EARLY_RETURN_PROB)
        nxt_mode[early] = 2
        nxt_fixed[early] = discharge[early] + rng.uniform(MIN_GAP, 48 * HOUR, early.sum())
        # ---- ordinary discharges of residents 65+ (planned, surgical, injury, ...): an
        # acute readmission within 30 days (calibration of the official readmission share)
        later = plain & ~early & (age_adm >= 65) & (rng.random(len(a)) < model.OTHER_READMIT_PROB)
        nxt_mode[later] = 1
        nxt_fixed[later] = (
            discharge[later]
            + MIN_GAP
            + (model.READMIT_WINDOW_DAYS - 1 - MIN_GAP) * rng.beta(0.7, 1.8, later.sum())
        )
        # ---- update state
        mode[a] = nxt_mode
        fixed[a] = nxt_fixed
        lb[a] = nxt_lb
        active[a[died]] = False
        ac = a[acute]
        hist[ac, :-1] = hist[ac, 1:]
        hist[ac, -1] = start[acute]
        for key, val in (
            ("person", a),
            ("start", start),
            ("discharge", discharge),
            ("group", group),
            ("code", code),
            ("died", died),
            ("index", is_index),
        ):
            rec[key].append(val)

    courses = {k_: np.concatenate(v) if v else np.zeros(0) for k_, v in rec.items()}
    order = np.lexsort((courses["start"], courses["person"]))
    courses = {k_: v[order] for k_, v in courses.items()}
    index = {k_: np.concatenate(v) if v else np.zeros(0) for k_, v in idx_rec.items()}
    contacts = _split_contacts(courses, s, k, rng)
    expected = dict(
        group=exp_group,
        person_years=py,
        fall_with=fall_with,
        fall_without=fall_without,
        injury_with=inj_with,
        injury_without=inj_without,
        prev_with=prev_with,
        prev_without=prev_without,
        prev_official_with=pof_with,
        prev_official_without=pof_without,
        prev_official_unaffected=pof_unaffected,
        py65_kommune=py65_k,
        visit_compliers=visit_compliers,
    )
    visits = dict(
        person=np.concatenate(visits_p) if visits_p else np.zeros(0, dtype=np.int64),
        day=np.concatenate(visits_d) if visits_d else np.zeros(0),
    )
    return dict(
        courses=courses,
        contacts=contacts,
        index=index,
        visits=visits,
        expected=expected,
        codes=codes,
        code_group=code_group,
    )


def _split_contacts(
    c: dict[str, np.ndarray], s: Slice, k: KommuneArrays, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Record each course as 1-3 contacts (transfers overlap or follow within 3.5 h)."""
    n_c = len(c["start"])
    los = c["discharge"] - c["start"]
    _, _, group_codes, group_cum = model.code_table()
    transfer = (los >= 1.0) & (rng.random(n_c) < model.TRANSFER_PROB)
    n_parts = np.where(transfer, np.where(rng.random(n_c) < 0.75, 2, 3), 1)
    course = np.repeat(np.arange(n_c), n_parts)
    first = np.concatenate([[0], np.cumsum(n_parts)[:-1]])
    part = np.arange(len(course)) - first[course]
    last = part == n_parts[course] - 1
    # cut points as fractions of the stay
    f1 = np.where(n_parts == 2, rng.uniform(0.3, 0.7, n_c), rng.uniform(0.2, 0.4, n_c))
    f2 = rng.uniform(0.6, 0.8, n_c)
    cut_frac = np.stack([f1, f2], axis=1)
    gaps = np.where(
        rng.random((n_c, 2)) < 0.5,
        -rng.uniform(0, MAX_OVERLAP, (n_c, 2)),
        rng.uniform(0, MAX_TRANSFER_GAP, (n_c, 2)),
    )
    st, los_c = c["start"][course], los[course]
    prev_cut = np.where(part > 0, cut_frac[course, np.maximum(part - 1, 0)], 0.0)
    admit = st + prev_cut * los_c + np.where(part > 0, gaps[course, np.maximum(part - 1, 0)], 0.0)
    this_cut = cut_frac[course, np.minimum(part, 1)]
    discharge = np.where(last, c["discharge"][course], st + this_cut * los_c)
    # hospitals: local hospital mostly; each transfer moves to another hospital of the region
    person = c["person"][course]
    kk = s.kidx[person]
    h0 = np.where(
        rng.random(n_c) < 0.85,
        k.local_hospital[s.kidx[c["person"]]],
        rng.integers(0, HOSPITALS_PER_REGION, n_c),
    )
    steps = rng.integers(1, HOSPITALS_PER_REGION, (n_c, 2))
    offset = np.stack([np.zeros(n_c, dtype=np.int64), steps[:, 0], steps.sum(axis=1)], axis=1)
    hosp = (h0[course] + offset[course, part]) % HOSPITALS_PER_REGION
    # acute flag and diagnosis of later contacts (the course is defined by its first contact)
    acute_course = c["group"] != model.PLANNED
    acute = np.where(
        part == 0,
        acute_course[course],
        np.where(
            rng.random(len(course)) < 0.7, acute_course[course], rng.random(len(course)) < 0.5
        ),
    )
    code = c["code"][course].copy()
    redraw = (part > 0) & (rng.random(len(course)) >= 0.8)
    u = rng.random(len(course))
    grp = c["group"][course]
    for g in np.unique(grp[redraw]):
        sel = redraw & (grp == g)
        code[sel] = group_codes[g][np.searchsorted(group_cum[g], u[sel] * group_cum[g][-1])]
    return dict(
        course=course,
        person=person,
        admit=admit,
        discharge=discharge,
        acute=acute,
        code=code,
        hospital_region=k.region[kk],
        hospital=hosp,
    )
