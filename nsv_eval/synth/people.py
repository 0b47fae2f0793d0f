"""Persons of one kommune: demography, mortality, municipal care, registered falls and the
person-level interventions that do not depend on hospital contacts.

Time is measured in days (float) since 1 January of the first study year, 00:00.
Everything is vectorised over persons; loops run over calendar years only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from nsv_eval.synth import model, population
from nsv_eval.synth.model import DAYS_PER_YEAR


@dataclass
class Period:
    """The study period as a day grid (day 0 = 1 January of ``start_year``)."""

    start_year: int
    end_year: int
    year_start: np.ndarray = field(init=False)  # days of 1 January of each year (+ end)
    month_start: np.ndarray = field(init=False)  # days of the 1st of each month (+ end)

    def __post_init__(self) -> None:
        epoch = np.datetime64(f"{self.start_year}-01-01", "D")
        years = np.datetime64(str(self.start_year), "Y") + np.arange(self.n_years + 1)
        self.year_start = (years.astype("datetime64[D]") - epoch).astype(float)
        months = np.arange(
            np.datetime64(f"{self.start_year}-01", "M"),
            np.datetime64(f"{self.end_year + 1}-02", "M"),
        )
        self.month_start = (months.astype("datetime64[D]") - epoch).astype(float)

    @property
    def epoch(self) -> np.datetime64:
        return np.datetime64(f"{self.start_year}-01-01", "D")

    @property
    def n_years(self) -> int:
        return self.end_year - self.start_year + 1

    @property
    def n_months(self) -> int:
        return 12 * self.n_years

    @property
    def end(self) -> float:
        """Day 0 of the year after the period (exclusive end)."""
        return float(self.year_start[-1])

    def day_of(self, date: np.datetime64 | str) -> float:
        """Day number of a calendar date."""
        d = np.datetime64(date, "D") if isinstance(date, str) else date.astype("datetime64[D]")
        return float((d - self.epoch).astype(float))


PREVENTIVE_FIELDS = (
    "visit_effect",
    "offer75",
    "accept75",
    "complier75_month",
    "complier75_hc_hazard",
)
"""Per-person arrays of the preventive-visit mechanism (concatenated when merging)."""


@dataclass
class Persons:
    """Attributes of the persons of one or more kommuner (parallel arrays)."""

    gid: np.ndarray  # global integer id (unique)
    kommune: np.ndarray  # kommune code
    birth: np.ndarray  # day (float)
    female: np.ndarray  # bool
    edu: np.ndarray  # 0 = grundskole ... 3 = lang
    income_q: np.ndarray  # 1..5
    alone: np.ndarray  # bool
    frailty: np.ndarray  # latent F
    death: np.ndarray  # day (float), inf = alive at end of period
    falls_effect_day: np.ndarray  # day from which falls-programme participation acts (inf)
    # long tables (person index into these arrays)
    care: dict[str, np.ndarray]
    falls: dict[str, np.ndarray]
    interventions: dict[str, np.ndarray]
    # preventive home visits (see _preventive_visits); None in worlds built without them
    visit_effect: np.ndarray | None = None  # persons x months: a visit acts in the month
    offer75: np.ndarray | None = None  # bool: offered a visit at the 75th birthday
    accept75: np.ndarray | None = None  # bool: accepted that offer (visited)
    complier75_month: np.ndarray | None = None  # month the 75-visit's effect starts, if it
    # changes the person's status there (no other visit acts then); inf otherwise
    complier75_hc_hazard: np.ndarray | None = None  # compliers: home-care onset hazard
    # (per year, without the visit) in that month when not in home care; 0 otherwise

    def __len__(self) -> int:
        return len(self.gid)


def _education(
    birth_year: np.ndarray, shift: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered-probit education by birth cohort; returns (level 0-3, latent score)."""
    cum = np.cumsum(model.EDU_COHORT_SHARES, axis=1)[:, :3]
    cuts = norm.ppf(cum)  # cohorts x 3
    by = np.clip(birth_year, model.EDU_COHORT_YEARS[0], model.EDU_COHORT_YEARS[-1])
    c = np.stack([np.interp(by, model.EDU_COHORT_YEARS, cuts[:, j]) for j in range(3)], axis=1)
    latent = rng.normal(shift, 1.0, len(birth_year))
    edu = (latent[:, None] > c).sum(axis=1).astype(np.int8)
    return edu, latent


def _care_hazard(spec: dict, age: np.ndarray, p: Persons, idx: np.ndarray) -> np.ndarray:
    h = (
        spec["rate70"]
        * np.exp(spec["slope"] * (age - 70))
        * p.frailty[idx] ** spec["frailty_power"]
        * np.where(p.alone[idx], spec["alone_rr"], 1.0)
        * np.asarray(spec["edu_rr"])[p.edu[idx]]
    )
    return np.where(age >= model.CARE_MIN_AGE, h, 0.0)


def make_persons(
    kom: dict,
    n_stock: int,
    period: Period,
    falls_start_day: float,
    seed: int,
    kommune_rank: int,
) -> Persons:
    """Generate the persons of one kommune.

    Parameters
    ----------
    kom : dict
        The kommune's row of the world table.
    n_stock : int
        Residents on the first day of the period.
    period : Period
        Study period.
    falls_start_day : float
        Day the kommune's falls programme starts (inf = never).
    seed : int
        Base seed; the stream is derived from (seed, stage, kommune code).
    kommune_rank : int
        Position of the kommune in code order (makes global ids unique).
    """
    code = int(kom["kommune_code"])
    rng = np.random.default_rng([seed, 1, code])
    t_end = period.end
    # --- residents on day 0 (the kommune's real FOLK1A 2014 pyramid by sex and single year
    # of age, synth/population.py) and births during the period
    age0, female0 = population.sample_age_sex(population.age_sex_counts(code), n_stock, rng)
    birth0 = -age0 * DAYS_PER_YEAR
    births = []
    for y in range(period.n_years):
        frac = y / max(period.n_years - 1, 1)
        cbr = model.CRUDE_BIRTH_RATE[0] + frac * (
            model.CRUDE_BIRTH_RATE[1] - model.CRUDE_BIRTH_RATE[0]
        )
        nb = rng.poisson(n_stock * cbr * float(kom["fertility_mult"]))
        ys, ye = period.year_start[y], period.year_start[y + 1]
        births.append(ys + rng.random(nb) * (ye - ys))
    birth1 = np.concatenate(births) if births else np.zeros(0)
    female1 = rng.random(len(birth1)) >= model.MALE_SHARE_AT_BIRTH
    birth = np.concatenate([birth0, birth1])
    female = np.concatenate([female0, female1])
    n = len(birth)
    frailty = rng.gamma(model.FRAILTY_SHAPE, 1.0 / model.FRAILTY_SHAPE, n)
    birth_year = period.start_year + birth / DAYS_PER_YEAR
    edu, latent = _education(birth_year, model.EDU_KOMMUNE_SHIFT * float(kom["z"]), rng)
    mid_day = 0.5 * t_end

    # --- mortality: yearly loop with piecewise-constant hazard
    death = np.full(n, np.inf)
    for y in range(period.n_years):
        ys, ye = period.year_start[y], period.year_start[y + 1]
        at_risk = np.flatnonzero((birth < ye) & ~np.isfinite(death))
        s = np.maximum(ys, birth[at_risk])
        age_mid = (0.5 * (s + ye) - birth[at_risk]) / DAYS_PER_YEAR
        h = model.mortality_hazard(
            age_mid,
            female[at_risk],
            edu[at_risk],
            float(kom["mortality_mult"]),
            y,
            frailty[at_risk],
        )
        t = s + rng.exponential(1.0, len(at_risk)) / h * DAYS_PER_YEAR
        dies = t < ye
        death[at_risk[dies]] = t[dies]

    # --- living alone (status around the middle of the period or at death)
    ref_day = np.minimum(mid_day, death)
    ref_age = (ref_day - birth) / DAYS_PER_YEAR
    alone = rng.random(n) < expit(model.living_alone_logit(ref_age, female, np.log(frailty)))
    # --- income quintile: correlated with education, lower among pensioners
    u = 0.55 * latent + 0.8 * rng.normal(size=n) - 0.35 * (ref_age >= 67)
    q_cuts = np.hypot(0.55, 0.8) * norm.ppf([0.2, 0.4, 0.6, 0.8])
    income_q = (1 + (u[:, None] > q_cuts).sum(axis=1)).astype(np.int8)

    gid = np.int64(kommune_rank) * (1 << 24) + np.arange(n, dtype=np.int64)
    p = Persons(
        gid=gid,
        kommune=np.full(n, code, dtype=np.int32),
        birth=birth,
        female=female,
        edu=edu,
        income_q=income_q,
        alone=alone,
        frailty=frailty,
        death=death,
        falls_effect_day=np.full(n, np.inf),
        care={},
        falls={},
        interventions={},
    )
    # preventive visits first (own random stream): home care and falls depend on them
    visits = _preventive_visits(p, period, seed, code)
    _municipal_care(p, period, rng)
    _falls_and_programme(p, period, falls_start_day, rng)
    iv = p.interventions  # the falls programme's participants, then the preventive visits
    p.interventions = dict(
        person=np.concatenate([iv["person"], visits[0]]),
        kind=np.concatenate([iv["kind"], np.full(len(visits[0]), 2, dtype=np.int8)]),  # preventive
        day=np.concatenate([iv["day"], visits[1]]),
    )
    _complier_home_care_hazard(p, period)
    return p


def _municipal_care(p: Persons, period: Period, rng: np.random.Generator) -> None:
    """Home care and home nursing episodes (yearly onset hazard; long or short episodes)."""
    n = len(p)
    t_end = period.end
    out_person, out_service, out_start, out_end, out_hours = [], [], [], [], []
    for s_i, (_service, spec) in enumerate(
        (("home_care", model.HOME_CARE), ("home_nursing", model.HOME_NURSING))
    ):
        in_long = np.zeros(n, dtype=bool)
        busy_until = np.full(n, -np.inf)
        # prevalent long episodes on day 0 (left-truncated: start_date = first day)
        alive0 = np.flatnonzero((p.birth < 0) & (p.death > 0))
        age0 = -p.birth[alive0] / DAYS_PER_YEAR
        h0 = _care_hazard(spec, age0, p, alive0)
        prev = rng.random(len(alive0)) < 1 - np.exp(-h0 * 6.0 * spec["long_share"])
        idx = alive0[prev]
        in_long[idx] = True
        out_person.append(idx)
        out_service.append(np.full(len(idx), s_i, dtype=np.int8))
        out_start.append(np.zeros(len(idx)))
        out_end.append(p.death[idx].copy())
        out_hours.append(care_hours(spec, age0[prev], rng))
        for y in range(period.n_years):
            ys, ye = period.year_start[y], period.year_start[y + 1]
            cand = np.flatnonzero((p.birth < ye) & (p.death > ys) & ~in_long & (busy_until < ye))
            s = np.maximum.reduce([np.full(len(cand), ys), p.birth[cand], busy_until[cand]])
            age = (0.5 * (s + ye) - p.birth[cand]) / DAYS_PER_YEAR
            h = _care_hazard(spec, age, p, cand)
            t = s + rng.exponential(1.0, len(cand)) / np.maximum(h, 1e-12) * DAYS_PER_YEAR
            if s_i == 0 and p.visit_effect is not None:
                t = _thin_by_visits(p, period, cand, t, h, ye, rng)
            ok = (t < ye) & (t < p.death[cand]) & (h > 0)
            idx, t = cand[ok], t[ok]
            long = rng.random(len(idx)) < spec["long_share"]
            lo, hi = spec["short_weeks"]
            dur = rng.uniform(lo, hi, len(idx)) * 7
            end = np.where(long, p.death[idx], np.minimum(t + dur, p.death[idx]))
            in_long[idx[long]] = True
            busy_until[idx] = np.where(long, np.inf, end + 1)
            out_person.append(idx)
            out_service.append(np.full(len(idx), s_i, dtype=np.int8))
            out_start.append(t)
            out_end.append(end)
            out_hours.append(care_hours(spec, (t - p.birth[idx]) / DAYS_PER_YEAR, rng))
    person = np.concatenate(out_person)
    start = np.floor(np.concatenate(out_start))
    end = np.floor(np.concatenate(out_end))
    end[end >= t_end] = np.inf  # ongoing at the end of the period -> null
    p.care = dict(
        person=person,
        service=np.concatenate(out_service),
        start=start,
        end=end,
        hours=np.concatenate(out_hours),
    )


def care_hours(spec: dict, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Visited hours per week: log-normal around the service's median, rising with age."""
    med = spec["hours_median"] * np.exp(0.02 * (age - 80))
    h = np.exp(np.log(med) + 0.7 * rng.normal(size=len(age)))
    return np.round(np.clip(h, 0.25, 40.0) * 4) / 4


def home_care_matrix(p: Persons) -> tuple[np.ndarray, np.ndarray]:
    """Home-care episodes as padded (persons x episodes) arrays of start and end days
    (end = inf when ongoing; padding: start = inf)."""
    c = p.care
    sel = c["service"] == 0
    person, start, end = c["person"][sel], c["start"][sel], c["end"][sel]
    order = np.lexsort((start, person))
    person, start, end = person[order], start[order], end[order]
    n = len(p)
    counts = np.bincount(person, minlength=n)
    width = max(int(counts.max()) if len(counts) else 0, 1)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(person)) - first[person]
    s = np.full((n, width), np.inf)
    e = np.full((n, width), np.inf)
    s[person, slot] = start
    e[person, slot] = end
    return s, e


def exact_age(birth_day: np.ndarray, day: np.ndarray, epoch: np.datetime64) -> np.ndarray:
    """Whole years of age on the date of ``day`` (the age increases on the birthday; a person
    born 29 February gets one year older on 1 March in common years), as in
    :mod:`nsv_eval.clean.flags`."""
    b = epoch + np.floor(birth_day).astype("timedelta64[D]")
    d = epoch + np.floor(day).astype("timedelta64[D]")

    def ymd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = x.astype("datetime64[Y]")
        m = x.astype("datetime64[M]")
        return (
            y.astype(np.int64),
            (m - y.astype("datetime64[M]")).astype(np.int64),
            (x - m.astype("datetime64[D]")).astype(np.int64),
        )

    by, bm, bd = ymd(b)
    dy, dm, dd = ymd(d)
    before = (dm < bm) | ((dm == bm) & (dd < bd))
    return dy - by - before.astype(np.int64)


def birthday(birth_day: np.ndarray, years: int, epoch: np.datetime64) -> np.ndarray:
    """Day number of the date a person turns ``years`` (birthday rule of :func:`exact_age`:
    29 February birthdays fall on 1 March in common years)."""
    b = epoch + np.floor(birth_day).astype("timedelta64[D]")
    month = b.astype("datetime64[M]")
    dom = (b - month.astype("datetime64[D]")).astype(np.int64)
    target = (month + np.timedelta64(12 * years, "M")).astype("datetime64[D]") + dom
    return (target - epoch).astype(np.int64).astype(float)


def in_home_care(
    hc_start: np.ndarray, hc_end: np.ndarray, idx: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Is person ``idx`` in an active home-care episode on (integer) day ``day``?"""
    d = np.floor(day)[:, None]
    return ((hc_start[idx] <= d) & (d <= hc_end[idx])).any(axis=1)


def _falls_and_programme(
    p: Persons, period: Period, falls_start_day: float, rng: np.random.Generator
) -> None:
    """Registered falls in home care, falls-programme participation and its effect."""
    t_end = period.end
    hc_s, hc_e = home_care_matrix(p)
    c = p.care
    sel = c["service"] == 0
    person, start = c["person"][sel], c["start"][sel]
    stop = np.minimum.reduce(
        [
            np.where(np.isinf(c["end"][sel]), t_end, c["end"][sel] + 1),
            p.death[person],
            np.full(len(person), t_end),
        ]
    )
    dur = np.maximum(stop - start, 0) / DAYS_PER_YEAR
    age = (start - p.birth[person]) / DAYS_PER_YEAR
    lam = model.REGISTERED_FALL_RATE * np.exp(0.03 * (age - 80)) * p.frailty[person] ** 0.8
    k = rng.poisson(lam * dur)
    fall_person = np.repeat(person, k)
    fall_day = np.repeat(start, k) + rng.random(k.sum()) * np.repeat(stop - start, k)

    # --- participation in the falls programme (treated kommune, 65+, after the start)
    n = len(p)
    part_day = np.full(n, np.inf)
    if np.isfinite(falls_start_day):
        elig = np.maximum(falls_start_day, birthday(p.birth, 65, period.epoch))
        cand = np.flatnonzero(elig < np.minimum(p.death, t_end))
        e = elig[cand]
        age_e = (e - p.birth[cand]) / DAYS_PER_YEAR
        hc = in_home_care(hc_s, hc_e, cand, e)
        # any registered fall in the year before eligibility
        prior = np.zeros(n, dtype=bool)
        recent = (fall_day < elig[fall_person]) & (fall_day >= elig[fall_person] - 365)
        prior[fall_person[recent]] = True
        sp = model.FALLS_PARTICIPATION
        lp = (
            sp["intercept"]
            + sp["log_frailty"] * np.log(p.frailty[cand])
            + sp["age"] * (age_e - 75)
            + sp["home_care"] * hc
            + sp["prior_fall"] * prior[cand]
            + sp["living_alone"] * p.alone[cand]
        )
        takes = rng.random(len(cand)) < expit(lp)
        d = e + rng.exponential(sp["delay_days"], len(cand))
        ok = takes & (d < np.minimum(p.death[cand], t_end))
        part_day[cand[ok]] = np.floor(d[ok])
    # the effect starts on the first day of the month after participation
    eff = np.full(n, np.inf)
    has = np.isfinite(part_day)
    if has.any():
        m = np.searchsorted(period.month_start, part_day[has], side="right")
        eff[has] = period.month_start[m]
    p.falls_effect_day = eff
    # registered falls after the effect start are thinned by the programme's rate ratio
    keep = ~(fall_day >= eff[fall_person]) | (rng.random(len(fall_day)) < model.FALLS_PROGRAMME_RR)
    keep &= fall_day < t_end
    if p.visit_effect is not None and len(fall_day):
        on = p.visit_effect[fall_person, _month_index(period, fall_day)]
        keep &= ~on | (rng.random(len(fall_day)) < model.PREVENTIVE_VISIT_FALL_RR)
    # one registered fall per person and day (the falls register's key)
    pd_ = np.unique(np.stack([fall_person[keep], np.floor(fall_day[keep])], axis=1), axis=0)
    p.falls = dict(person=pd_[:, 0].astype(np.int64), day=pd_[:, 1])
    pi = np.flatnonzero(np.isfinite(part_day))
    p.interventions = dict(
        person=pi,
        kind=np.full(len(pi), 1, dtype=np.int8),  # 1 = falls_programme
        day=part_day[pi],
    )


def _month_index(period: Period, day: np.ndarray) -> np.ndarray:
    """Calendar-month index (0 = first month of the period) of day numbers, clipped."""
    m = np.searchsorted(period.month_start, np.asarray(day, dtype=float), side="right") - 1
    return np.clip(m, 0, period.n_months - 1)


def preventive_kommune_intercept(seed: int, code: int) -> float:
    """The kommune's log-odds of accepting a preventive-visit offer (reference person):
    ``intercept + kommune_sd * N(0, 1)`` from its own stream, so truth.json can quote it."""
    sp = model.PREVENTIVE_VISIT
    z = np.random.default_rng([seed, 5, int(code)]).normal()
    return float(sp["intercept"] + sp["kommune_sd"] * z)


def _thin_by_visits(
    p: Persons,
    period: Period,
    cand: np.ndarray,
    t: np.ndarray,
    h: np.ndarray,
    ye: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Home-care onset times with the visit's rate ratio in its effect months (exact
    thinning of a constant hazard: a candidate onset inside an effect month is kept with
    probability RR, otherwise the next candidate is drawn from there)."""
    rr = model.PREVENTIVE_VISIT_HOME_CARE_RR
    assert p.visit_effect is not None  # the caller thins only worlds with preventive visits
    t = t.copy()
    live = np.flatnonzero((t < ye) & (h > 0))
    while len(live):
        on = p.visit_effect[cand[live], _month_index(period, t[live])]
        rej = live[on & (rng.random(len(live)) >= rr)]
        if not len(rej):
            break
        t[rej] = t[rej] + rng.exponential(1.0, len(rej)) / h[rej] * DAYS_PER_YEAR
        live = rej[t[rej] < ye]
    return t


def _offers(p: Persons, period: Period) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Offers by age under the rule in force on the birthday (see model.PREVENTIVE_VISIT):
    per age, the persons offered and the offer day (the birthday)."""
    sp = model.PREVENTIVE_VISIT
    r16, r19 = period.day_of(sp["rule_2016"]), period.day_of(sp["rule_2019"])
    persons, days, ages = [], [], []
    for age in range(70, 111):
        bd = birthday(p.birth, age, period.epoch)
        alive = (bd >= 0) & (bd < period.end) & (bd < p.death)
        old_rule = (bd < r16) & (age >= 75)
        mid_rule = (bd >= r16) & (bd < r19) & ((age == 75) | (age >= 80))
        new_rule = (bd >= r19) & ((age == 75) | (age == 80) | (age >= 82) | ((age == 70) & p.alone))
        idx = np.flatnonzero(alive & (old_rule | mid_rule | new_rule))
        persons.append(idx)
        days.append(bd[idx])
        ages.append(age)
    return persons, days, ages


def _preventive_visits(
    p: Persons, period: Period, seed: int, code: int
) -> tuple[np.ndarray, np.ndarray]:
    """Preventive home visits by Serviceloven § 79 a (offers at fixed ages, accepted with a
    kommune-specific probability; need-based visits at 65-79/81) and their effect window.

    A visit acts in the 12 calendar months after the month of the visit: on acute
    admissions and fall injuries (hospital simulation), registered falls and the onset of
    home care. Sets ``visit_effect``, ``offer75``, ``accept75`` and ``complier75_month`` on
    ``p``; returns the visits as (person index, day).
    """
    sp = model.PREVENTIVE_VISIT
    rng = np.random.default_rng([seed, 4, int(code)])
    n, n_m = len(p), period.n_months
    k_int = preventive_kommune_intercept(seed, code)
    lp_person = (
        k_int
        + sp["living_alone"] * p.alone
        + np.asarray(sp["edu"])[p.edu]
        + sp["log_frailty"] * np.log(p.frailty)
    )
    v_person, v_day, v_is75 = [], [], []
    offer75 = np.zeros(n, dtype=bool)
    accept75 = np.zeros(n, dtype=bool)
    for idx, bd, age in zip(*_offers(p, period), strict=True):
        acc = rng.random(len(idx)) < expit(lp_person[idx])
        m = _month_index(period, bd)
        month_end = period.month_start[m + 1]
        day = np.floor(bd + rng.random(len(idx)) * (month_end - bd))  # in the birthday month
        ok = acc & (day < p.death[idx])
        v_person.append(idx[ok])
        v_day.append(day[ok])
        v_is75.append(np.full(int(ok.sum()), age == 75))
        if age == 75:
            offer75[idx] = True
            accept75[idx[ok]] = True
    # need-based visits to citizens at particular risk (65-79, from 1 July 2019 65-81)
    r19 = period.day_of(sp["rule_2019"])
    for y in range(period.n_years):
        ys, ye = period.year_start[y], period.year_start[y + 1]
        day = np.floor(ys + rng.random(n) * (ye - ys))
        age = (day - p.birth) / DAYS_PER_YEAR
        upper = np.where(day >= r19, 82, 80)
        prob = expit(
            sp["need_intercept"]
            + sp["need_log_frailty"] * np.log(p.frailty)
            + sp["need_living_alone"] * p.alone
        )
        ok = (age >= 65) & (age < upper) & (day < p.death) & (rng.random(n) < prob)
        idx = np.flatnonzero(ok)
        v_person.append(idx)
        v_day.append(day[idx])
        v_is75.append(np.zeros(len(idx), dtype=bool))
    person = np.concatenate(v_person)
    vday = np.concatenate(v_day)
    is75 = np.concatenate(v_is75)
    vm = _month_index(period, vday)

    def effect(sel: np.ndarray) -> np.ndarray:
        on = np.zeros((n, n_m + model.PREVENTIVE_VISIT_EFFECT_MONTHS + 1), dtype=bool)
        for k in range(1, model.PREVENTIVE_VISIT_EFFECT_MONTHS + 1):
            on[person[sel], vm[sel] + k] = True
        return on[:, :n_m]

    p.visit_effect = effect(np.ones(len(person), dtype=bool))
    other = effect(~is75)
    m1 = np.full(n, np.inf)
    first = vm[is75] + 1
    inside = first < n_m
    pi = person[is75][inside]
    changes = ~other[pi, first[inside]]
    m1[pi[changes]] = first[inside][changes]
    p.offer75, p.accept75, p.complier75_month = offer75, accept75, m1
    return person, vday


def _complier_home_care_hazard(p: Persons, period: Period) -> None:
    """Home-care onset hazard (per year, without the visit) of each 75-visit complier in the
    month its effect starts, when not in home care at the start of that month (truth.json)."""
    out = np.zeros(len(p))
    assert p.complier75_month is not None  # set by _preventive_visits
    idx = np.flatnonzero(np.isfinite(p.complier75_month))
    if len(idx):
        m = p.complier75_month[idx].astype(np.int64)
        start = period.month_start[m]
        age = (0.5 * (start + period.month_start[m + 1]) - p.birth[idx]) / DAYS_PER_YEAR
        hc_s, hc_e = home_care_matrix(p)
        free = ~in_home_care(hc_s, hc_e, idx, start)
        out[idx] = _care_hazard(model.HOME_CARE, age, p, idx) * free
    p.complier75_hc_hazard = out
