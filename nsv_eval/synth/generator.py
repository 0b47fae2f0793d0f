"""``generate``: write a synthetic Denmark in the raw layout, with ``truth.json``.

Kommuner are processed in groups (consecutive kommune codes, about 40,000 residents per
group) and the persons of a group in slices of at most 40,000 for the hospital simulation,
so memory stays bounded at any scale: every table except ``population`` and ``survey`` is
appended to its Parquet file one row group per group. Random streams are derived from
(seed, stage, kommune code or group) with :class:`numpy.random.Generator`, so the same seed
and scale give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import gamma as gamma_dist

from nsv_eval import reference
from nsv_eval.synth import hospital, layouts, model, people, population, survey, world
from nsv_eval.synth.model import DAYS_PER_YEAR

GROUP_PERSONS = 40_000
GROUP_MAX_KOMMUNER = 25
SLICE_PERSONS = 40_000
MIN_PERSONS_PER_KOMMUNE = 50
MAX_AGE_SLOT = 131
PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, version="2.6")

SCHEMAS: dict[str, pa.Schema] = {
    "persons": pa.schema(
        [
            ("person_id", pa.string()),
            ("kommune_code", pa.int64()),
            ("birth_date", pa.date32()),
            ("sex", pa.string()),
            ("education", pa.string()),
            ("income_quintile", pa.int64()),
            ("living_alone", pa.bool_()),
            ("death_date", pa.date32()),
        ]
    ),
    "contacts": pa.schema(
        [
            ("contact_id", pa.int64()),
            ("person_id", pa.string()),
            ("admit_time", pa.timestamp("s")),
            ("discharge_time", pa.timestamp("s")),
            ("acute", pa.bool_()),
            ("diagnosis", pa.string()),
            ("hospital", pa.string()),
            ("contact_cause", pa.string()),
        ]
    ),
    "care": pa.schema(
        [
            ("person_id", pa.string()),
            ("service", pa.string()),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),
            ("hours_per_week", pa.float64()),
        ]
    ),
    "falls": pa.schema([("person_id", pa.string()), ("fall_date", pa.date32())]),
    "interventions": pa.schema(
        [("person_id", pa.string()), ("intervention", pa.string()), ("date", pa.date32())]
    ),
    "population": pa.schema(
        [
            ("year", pa.int64()),
            ("kommune_code", pa.int64()),
            ("age", pa.int64()),
            ("sex", pa.string()),
            ("education", pa.string()),
            ("population", pa.int64()),
        ]
    ),
    "survey": pa.schema(
        [
            ("respondent_id", pa.string()),
            ("year", pa.int64()),
            ("kommune_code", pa.int64()),
            ("sex", pa.string()),
            ("age", pa.int64()),
            ("education", pa.string()),
            ("weight", pa.float64()),
            ("srh_good", pa.bool_()),
            ("daily_smoker", pa.bool_()),
            ("lonely", pa.bool_()),
            ("mental_wellbeing", pa.float64()),
        ]
    ),
}
"""Arrow schemas of the raw layout (ARCHITECTURE.md, 'Raw layout')."""

INTERVENTION_NAMES = {0: "followup_visit", 1: "falls_programme", 2: "preventive_visit"}
SERVICE_NAMES = np.array(["home_care", "home_nursing"])
EDU_NAMES = np.array(reference.EDUCATION_LEVELS)
SEX_NAMES = np.array(["M", "F"])


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------


def person_ids(gid: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pseudonymous ids: an affine bijection of the global index modulo 2^48, as 12 hex
    characters. Returns (sort key, id strings); sorting by the key sorts the strings."""
    mask = np.uint64((1 << 48) - 1)
    a = np.uint64((0x9E3779B97F4A7C15 & ((1 << 48) - 1)) | 1)
    b = np.uint64((seed * 0x2545F4914F6CDD1D + 0x632BE59BD9B4E019) & ((1 << 48) - 1))
    x = (gid.astype(np.uint64) * a + b) & mask
    shifts = np.arange(44, -1, -4, dtype=np.uint64)
    nib = ((x[:, None] >> shifts[None, :]) & np.uint64(0xF)).astype(np.intp)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nib]
    ids = np.ascontiguousarray(chars).view("S12").ravel().astype("U12")
    return x, ids


class Dates:
    """Conversion of day numbers to Arrow dates and timestamps."""

    def __init__(self, period: people.Period) -> None:
        self.epoch_days = int(period.epoch.astype("datetime64[D]").astype(np.int64))

    def date(self, day: np.ndarray) -> pa.Array:
        day = np.asarray(day, dtype=float)
        null = ~np.isfinite(day)
        v = np.where(null, 0, np.floor(np.where(null, 0, day))).astype(np.int64) + self.epoch_days
        return pa.array(v.astype(np.int32), type=pa.date32(), mask=null)

    def timestamp(self, day: np.ndarray) -> pa.Array:
        sec = np.round(np.asarray(day, dtype=float) * 86400).astype(np.int64)
        return pa.array(sec + self.epoch_days * 86400, type=pa.timestamp("s"))


def _merge(parts: list[people.Persons]) -> people.Persons:
    """Concatenate the persons of several kommuner (long tables re-indexed)."""
    offs = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    cat = np.concatenate

    def long(name: str, keys: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for key in keys:
            vals = []
            for o, p in zip(offs, parts, strict=False):
                v = getattr(p, name)[key]
                if isinstance(v, list):
                    v = cat(v) if v else np.zeros(0)
                vals.append(v + o if key == "person" else v)
            out[key] = cat(vals)
        return out

    return people.Persons(
        gid=cat([p.gid for p in parts]),
        kommune=cat([p.kommune for p in parts]),
        birth=cat([p.birth for p in parts]),
        female=cat([p.female for p in parts]),
        edu=cat([p.edu for p in parts]),
        income_q=cat([p.income_q for p in parts]),
        alone=cat([p.alone for p in parts]),
        frailty=cat([p.frailty for p in parts]),
        death=cat([p.death for p in parts]),
        falls_effect_day=cat([p.falls_effect_day for p in parts]),
        care=long("care", ["person", "service", "start", "end", "hours"]),
        falls=long("falls", ["person", "day"]),
        interventions=long("interventions", ["person", "kind", "day"]),
        **{
            name: cat([getattr(p, name) for p in parts])
            for name in people.PREVENTIVE_FIELDS
            if all(getattr(p, name) is not None for p in parts)
        },
    )


def _groups(sizes: pd.Series) -> list[list[int]]:
    """Consecutive kommune codes grouped to about GROUP_PERSONS residents."""
    groups: list[list[int]] = []
    cur: list[int] = []
    tot = 0
    for code, n in sizes.items():
        if cur and (tot + n > GROUP_PERSONS or len(cur) >= GROUP_MAX_KOMMUNER):
            groups.append(cur)
            cur, tot = [], 0
        cur.append(int(code))
        tot += int(n)
    if cur:
        groups.append(cur)
    return groups


def _day(period: people.Period, d: dt.date | None) -> float:
    return np.inf if d is None else period.day_of(np.datetime64(d.isoformat()))


class _Writers:
    def __init__(self, out: Path, contacts: bool = True) -> None:
        self.out = out
        names: tuple[str, ...] = ("persons", "contacts", "care", "falls", "interventions")
        if not contacts:  # an LPR layout writes the register's tables instead
            names = tuple(n for n in names if n != "contacts")
        else:
            for stale in ("kontakter", "diagnoser", "lpr_adm", "lpr_diag"):
                (out / f"{stale}.parquet").unlink(missing_ok=True)
        self.w = {
            name: pq.ParquetWriter(out / f"{name}.parquet", SCHEMAS[name], **PARQUET_OPTIONS)
            for name in names
        }

    def write(self, name: str, cols: dict[str, Any]) -> None:
        self.w[name].write_table(pa.table(cols, schema=SCHEMAS[name]))

    def close(self) -> None:
        for w in self.w.values():
            w.close()


# ----------------------------------------------------------------------------------------
# truth helpers
# ----------------------------------------------------------------------------------------


def life_expectancy(
    female: bool,
    edu: int,
    kommune_mult: float | np.ndarray,
    year_offset: int,
    max_age: float = 115.0,
) -> float | np.ndarray:
    """Period life expectancy at birth implied by the mortality model (frailty integrated
    out numerically over 100 quantiles of its gamma distribution; 0.2-year age steps).
    ``kommune_mult`` may be an array (one life expectancy per multiplier)."""
    step = 0.2
    ages = np.arange(0, max_age, step) + step / 2
    fq = gamma_dist.ppf(
        (np.arange(100) + 0.5) / 100, model.FRAILTY_SHAPE, scale=1 / model.FRAILTY_SHAPE
    )
    km = np.atleast_1d(np.asarray(kommune_mult, dtype=float))
    h = model.mortality_hazard(
        ages[None, None, :],
        np.full((1, 1, len(ages)), female),
        np.full((1, 1, len(ages)), edu),
        km[:, None, None],
        year_offset,
        fq[None, :, None],
    )
    surv = np.exp(-np.cumsum(h * step, axis=2)).mean(axis=1)
    le = surv.sum(axis=1) * step
    return float(le[0]) if np.ndim(kommune_mult) == 0 else le


# ----------------------------------------------------------------------------------------
# generate
# ----------------------------------------------------------------------------------------


def generate(
    out: str | Path,
    *,
    scale: float = 0.02,
    seed: int = 1,
    start_year: int = 2010,
    end_year: int = 2024,
    progress: bool = False,
    layout: str = "nsv",
    full_scale: str | None = None,
) -> dict:
    """Write a synthetic Denmark in the raw layout to ``out`` and return its truth.

    Parameters
    ----------
    out : str or Path
        Output directory (created if missing; existing files of the layout are replaced).
    scale : float, default 0.02
        Persons per real resident (0.02 ≈ 119,000 residents on the first day, 1.0 ≈ the
        whole of Denmark); every kommune gets at least 50 residents.
    seed : int, default 1
        Seed of all random streams; the same seed and scale give byte-identical files.
    start_year, end_year : int, default 2010, 2024
        Study period (1 January of ``start_year`` to 31 December of ``end_year``).
    progress : bool, default False
        Print one line per stage (to stdout).
    layout : {'nsv', 'lpr3', 'lpr2'}, default 'nsv'
        Layout of the hospital contacts: the tidy ``contacts.parquet``, or the register's
        own tables (``kontakter``/``diagnoser`` or ``lpr_adm``/``lpr_diag``, with emergency
        and out-patient contacts; :mod:`nsv_eval.synth.layouts`).
    full_scale : str, optional
        Kommuner generated at scale 1.0 whatever ``scale`` says (``region:1085``, ``326``).

    Returns
    -------
    dict
        The truth written to ``out/truth.json``: counts, planted levels and effects, the
        kommune multipliers and roll-out dates (see ``data/README.md``).

    Raises
    ------
    ValueError
        ``scale`` not positive, or an invalid period.
    """
    if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if scale > 2:
        raise ValueError(f"scale must be at most 2 (1.0 = all of Denmark), got {scale!r}")
    if not (1990 <= start_year <= end_year <= 2100):
        raise ValueError(
            f"invalid period: start_year={start_year!r}, end_year={end_year!r} "
            "(need 1990 <= start_year <= end_year <= 2100)"
        )
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    period = people.Period(start_year, end_year)
    dates = Dates(period)
    if layout not in layouts.LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(layouts.LAYOUTS)}, got {layout!r}")
    full = population.full_scale_codes(full_scale)
    w = world.build_world(seed)
    kt = w.table
    # sized on the real population (FOLK1A 2014, synth/population.py)
    kt["population"] = population.kommune_totals().reindex(kt.index).to_numpy()
    sizes = population.sizes(scale, full, MIN_PERSONS_PER_KOMMUNE).reindex(kt.index)
    groups = _groups(sizes)
    rank = {int(c): i for i, c in enumerate(kt.index)}

    acc = _Accumulator(period, kt)
    writers = _Writers(out, contacts=layout == "nsv")
    lpr_writer = layouts.writer(layout, out, seed) if layout != "nsv" else None
    pop_frames: list[pd.DataFrame] = []
    survey_frames: list[pd.DataFrame] = []
    next_contact_id = 1
    log = _Log(progress, len(groups))
    log.line(f"{len(kt)} kommuner in {len(groups)} groups, {int(sizes.sum()):,} residents on day 1")
    try:
        for gi, group in enumerate(groups):
            ctx = _GroupContext(w, period, dates, seed, sizes, group, [rank[c] for c in group])
            ctx.lpr_writer = lpr_writer
            next_contact_id = ctx.run(writers, acc, next_contact_id)
            pop_frames.append(ctx.population)
            survey_frames.extend(ctx.survey_frames)
            log.step(gi, ctx.n_persons)
    finally:
        writers.close()
        if lpr_writer is not None:
            lpr_writer.close()
    log.line("population, survey weights (raking), rollout.csv and truth.json ...")

    pop_table = pd.concat(pop_frames, ignore_index=True)
    pop_table = pop_table.sort_values(["year", "kommune_code", "age", "sex", "education"])
    pq.write_table(
        pa.Table.from_pandas(pop_table, schema=SCHEMAS["population"], preserve_index=False),
        out / "population.parquet",
        **PARQUET_OPTIONS,
    )
    sv = _write_survey(out, survey_frames, pop_table)
    rollout = world.rollout_frame(w)
    rollout.to_csv(out / "rollout.csv", index=False, lineterminator="\n")
    truth = acc.truth(
        w, seed=seed, scale=scale, sizes=sizes, n_contacts=next_contact_id - 1, survey=sv
    )
    truth["layout"] = layouts.describe(layout, lpr_writer)
    truth["population_source"] = (
        "Danmarks Statistik, FOLK1A 2014K1 by kommune, sex and single year of age (via CRAN "
        "dagirlite 0.1.0, MIT; nsv_eval/data/population_2014_kommune_sex_age.csv); residents "
        "on day 1 = max(50, round(population x scale)), scale 1 for the kommuner at full "
        f"scale: {sorted(full) if full else 'none'}; their ages and sexes drawn from the "
        "kommune's real 2014 pyramid, used as the pyramid of 1 January of the first year"
    )
    truth["full_scale"] = sorted(int(c) for c in full)
    with open(out / "truth.json", "w", encoding="utf-8") as fh:
        json.dump(truth, fh, ensure_ascii=False, indent=2, allow_nan=False)
        fh.write("\n")
    log.done(time.perf_counter() - t_start, out)
    return truth


class _GroupContext:
    """Simulate one group of kommuner: persons, hospital slices, survey samples."""

    def __init__(
        self,
        w: world.World,
        period: people.Period,
        dates: Dates,
        seed: int,
        sizes: pd.Series,
        group: list[int],
        ranks: list[int],
    ) -> None:
        self.w, self.period, self.dates, self.seed = w, period, dates, seed
        self.sizes, self.group, self.ranks = sizes, group, ranks
        self.population = pd.DataFrame()
        self.survey_frames: list[pd.DataFrame] = []
        self.n_persons = 0
        self.lpr_writer: layouts.LprWriter | None = None

    def run(self, writers: _Writers, acc: _Accumulator, next_contact_id: int) -> int:
        """Simulate and write the group; returns the next free contact id."""
        w, period, group = self.w, self.period, self.group
        kt = w.table
        parts = [
            people.make_persons(
                kt.loc[code].to_dict(),
                int(self.sizes[code]),
                period,
                _day(period, w.falls_start[code]),
                self.seed,
                rank,
            )
            for code, rank in zip(group, self.ranks, strict=True)
        ]
        p = _merge(parts)
        self.n_persons = len(p)
        hc_s, hc_e = people.home_care_matrix(p)
        kidx = np.searchsorted(np.asarray(group), p.kommune)  # group codes are ascending
        ka = hospital.KommuneArrays(
            code=np.array(group),
            acute_mult=kt.loc[group, "acute_mult"].to_numpy(),
            preventable_mult=kt.loc[group, "preventable_mult"].to_numpy(),
            falls_mult=kt.loc[group, "falls_mult"].to_numpy(),
            planned_mult=kt.loc[group, "planned_mult"].to_numpy(),
            team_day=np.array([_day(period, w.acute_team_start[c]) for c in group]),
            falls_start_day=np.array([_day(period, w.falls_start[c]) for c in group]),
            local_hospital=kt.loc[group, "local_hospital"].to_numpy(),
            region=kt.loc[group, "region_code"].to_numpy(),
        )
        id_key, ids = person_ids(p.gid, self.seed)
        codes = np.array(model.code_table()[0])
        visits_p, visits_d = [], []
        for s0 in range(0, len(p), SLICE_PERSONS):
            sl = np.arange(s0, min(s0 + SLICE_PERSONS, len(p)))
            s = hospital.Slice(
                birth=p.birth[sl],
                female=p.female[sl],
                edu=p.edu[sl],
                alone=p.alone[sl],
                frailty=p.frailty[sl],
                death=p.death[sl].copy(),
                kidx=kidx[sl],
                falls_effect_day=p.falls_effect_day[sl],
                hc_start=hc_s[sl],
                hc_end=hc_e[sl],
                visit_effect=None if p.visit_effect is None else p.visit_effect[sl],
                complier75_month=None if p.complier75_month is None else p.complier75_month[sl],
            )
            rng = np.random.default_rng([self.seed, 2, group[0], s0])
            res = hospital.simulate(s, ka, period, rng)
            p.death[sl] = s.death  # deaths in hospital end with the stay
            ct = res["contacts"]
            ct_person = sl[ct["person"].astype(np.int64)]
            order = np.lexsort((ct["admit"], id_key[ct_person]))
            n_ct = len(order)
            hosp = np.char.add(
                (ct["hospital_region"][order] - 1080).astype(str),
                np.char.zfill((ct["hospital"][order] + 1).astype(str), 3),
            )
            tidy = {
                "contact_id": np.arange(next_contact_id, next_contact_id + n_ct),
                "person_id": ids[ct_person[order]],
                "admit_time": self.dates.timestamp(ct["admit"][order]),
                "discharge_time": self.dates.timestamp(ct["discharge"][order]),
                "acute": ct["acute"][order].astype(bool),
                "diagnosis": codes[ct["code"][order].astype(np.int64)],
                "hospital": hosp,
            }
            if self.lpr_writer is None:
                # the contact cause, as in LPR3: ulykke for injuries (the official fall
                # injury needs it), sygdom otherwise
                dx = tidy["diagnosis"].astype(str)
                injury = np.char.startswith(dx, "DS") | np.char.startswith(dx, "DT")
                writers.write(
                    "contacts", {**tidy, "contact_cause": np.where(injury, "ALCC02", "ALCC01")}
                )
            else:  # the same contacts in the register's layout (synth/layouts.py)
                self.lpr_writer.write(
                    tidy, ct["admit"][order], ct["discharge"][order], self.dates, rng_key=s0,
                    group=group[0],
                    persons={"person_id": ids[sl], "birth": p.birth[sl],
                             "death": p.death[sl], "edu": p.edu[sl]},
                    end_day=period.end,
                )  # fmt: skip
            next_contact_id += n_ct
            visits_p.append(sl[res["visits"]["person"].astype(np.int64)])
            visits_d.append(res["visits"]["day"])
            acc.add_slice(res, sl[res["courses"]["person"].astype(np.int64)], p, ka, ct)
        _write_group(writers, p, ids, id_key, visits_p, visits_d, self.dates, period.end)
        acc.add_group(p, group, kidx, ka.falls_start_day)
        self.population = _population(p, period, group, kidx)
        self._survey(p, acc)
        return next_contact_id

    def _survey(self, p: people.Persons, acc: _Accumulator) -> None:
        period = self.period
        for code in self.group:
            sel = np.flatnonzero(p.kommune == code)
            for year in model.SURVEY_YEARS:
                if not (period.start_year <= year <= period.end_year):
                    continue
                y0 = period.year_start[year - period.start_year]
                alive = (np.floor(p.birth[sel]) < y0) & (np.floor(p.death[sel]) >= y0)
                idx = sel[alive]
                age = people.exact_age(p.birth[idx], np.full(len(idx), y0), period.epoch)
                keep = age >= model.SURVEY_MIN_AGE
                idx, age = idx[keep], age[keep]
                rng = np.random.default_rng([self.seed, 3, code, year])
                df, sums = survey.sample_kommune(
                    p,
                    code,
                    idx,
                    age,
                    year,
                    year - period.start_year,
                    float(self.w.table.loc[code, "z"]),
                    rng,
                )
                self.survey_frames.append(df)
                acc.add_survey(year, sums)


def _write_group(
    writers: _Writers,
    p: people.Persons,
    ids: np.ndarray,
    id_key: np.ndarray,
    visits_p: list[np.ndarray],
    visits_d: list[np.ndarray],
    dates: Dates,
    t_end: float,
) -> None:
    """Append the group's persons, care, falls and interventions (sorted by person id)."""
    order = np.argsort(id_key, kind="stable")
    death = np.where(p.death < t_end, p.death, np.inf)
    writers.write(
        "persons",
        {
            "person_id": ids[order],
            "kommune_code": p.kommune[order].astype(np.int64),
            "birth_date": dates.date(p.birth[order]),
            "sex": SEX_NAMES[p.female[order].astype(int)],
            "education": EDU_NAMES[p.edu[order]],
            "income_quintile": p.income_q[order].astype(np.int64),
            "living_alone": p.alone[order],
            "death_date": dates.date(death[order]),
        },
    )
    c = p.care
    o = np.lexsort((c["service"], c["start"], id_key[c["person"]]))
    writers.write(
        "care",
        {
            "person_id": ids[c["person"][o]],
            "service": SERVICE_NAMES[c["service"][o].astype(int)],
            "start_date": dates.date(c["start"][o]),
            "end_date": dates.date(c["end"][o]),
            "hours_per_week": c["hours"][o].astype(float),
        },
    )
    f = p.falls
    o = np.lexsort((f["day"], id_key[f["person"]]))
    writers.write("falls", {"person_id": ids[f["person"][o]], "fall_date": dates.date(f["day"][o])})
    iv = p.interventions
    person = np.concatenate([iv["person"], *visits_p]).astype(np.int64)
    kind = np.concatenate([iv["kind"], *[np.zeros(len(v), dtype=np.int8) for v in visits_p]])
    day = np.concatenate([iv["day"], *visits_d])
    o = np.lexsort((kind, day, id_key[person]))
    names = np.array([INTERVENTION_NAMES[i] for i in range(3)])
    writers.write(
        "interventions",
        {
            "person_id": ids[person[o]],
            "intervention": names[kind[o].astype(int)],
            "date": dates.date(day[o]),
        },
    )


def _population(
    p: people.Persons, period: people.Period, group: list[int], kidx: np.ndarray
) -> pd.DataFrame:
    """Head counts on 1 January by year x kommune x single age x sex x education."""
    frames = []
    dims = (len(group), MAX_AGE_SLOT, 2, 4)
    for y in range(period.n_years):
        y0 = period.year_start[y]
        alive = np.flatnonzero((np.floor(p.birth) < y0) & (np.floor(p.death) >= y0))
        age = people.exact_age(p.birth[alive], np.full(len(alive), y0), period.epoch)
        flat = np.ravel_multi_index(
            (
                kidx[alive],
                np.minimum(age, MAX_AGE_SLOT - 1),
                p.female[alive].astype(int),
                p.edu[alive],
            ),
            dims,
        )
        cnt = np.bincount(flat, minlength=int(np.prod(dims)))
        nz = np.flatnonzero(cnt)
        k, a, sx, e = np.unravel_index(nz, dims)
        frames.append(
            pd.DataFrame(
                {
                    "year": np.full(len(nz), period.start_year + y, dtype=np.int64),
                    "kommune_code": np.array(group, dtype=np.int64)[k],
                    "age": a.astype(np.int64),
                    "sex": SEX_NAMES[sx],
                    "education": EDU_NAMES[e],
                    "population": cnt[nz].astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _write_survey(out: Path, frames: list[pd.DataFrame], population: pd.DataFrame) -> dict:
    frames = [f for f in frames if len(f)]
    if not frames:
        pq.write_table(SCHEMAS["survey"].empty_table(), out / "survey.parquet", **PARQUET_OPTIONS)
        return {"respondents": 0}
    resp = pd.concat(frames, ignore_index=True)
    resp["weight"] = survey.rake(resp, population)
    n = len(resp)
    table = pd.DataFrame(
        {
            "respondent_id": "R" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(8),
            "year": resp["year"].astype(np.int64),
            "kommune_code": resp["kommune_code"].astype(np.int64),
            "sex": SEX_NAMES[resp["female"].astype(int).to_numpy()],
            "age": resp["age"].astype(np.int64),
            "education": EDU_NAMES[resp["edu"].to_numpy()],
            "weight": resp["weight"].astype(float),
            "srh_good": resp["srh_good"].astype(bool),
            "daily_smoker": resp["daily_smoker"].astype(bool),
            "lonely": resp["lonely"].astype(bool),
            "mental_wellbeing": resp["mental_wellbeing"].astype(float),
        }
    )
    pq.write_table(
        pa.Table.from_pandas(table, schema=SCHEMAS["survey"], preserve_index=False),
        out / "survey.parquet",
        **PARQUET_OPTIONS,
    )
    per = resp.groupby(["year", "kommune_code"]).size()
    return {"respondents": int(n), "min_respondents_per_kommune_year": int(per.min())}


class _Log:
    def __init__(self, on: bool, n_groups: int) -> None:
        self.on, self.n, self.t0, self.persons = on, n_groups, time.perf_counter(), 0

    def step(self, gi: int, n_persons: int) -> None:
        self.persons += n_persons
        if self.on:
            el = time.perf_counter() - self.t0
            print(
                f"  kommune group {gi + 1}/{self.n}: {self.persons:,} persons so far ({el:.1f} s)",
                flush=True,
            )

    def line(self, text: str) -> None:
        if self.on:
            print(f"  {text}", flush=True)

    def done(self, seconds: float, out: Path) -> None:
        if self.on:
            print(f"  wrote {out} in {seconds:.1f} s", flush=True)


class _Accumulator:
    """Collects counts and expected values across groups for truth.json."""

    def __init__(self, period: people.Period, kt: pd.DataFrame) -> None:
        self.period = period
        self.kt = kt
        n_y, n_k, n_m = period.n_years, len(kt), period.n_months
        self.kpos = {int(c): i for i, c in enumerate(kt.index)}
        self.exp_group = np.zeros((model.N_GROUPS, n_y, 2))
        self.py = np.zeros((n_y, 2))
        self.fall_with = np.zeros((n_k, n_m))
        self.fall_without = np.zeros((n_k, n_m))
        self.injury_with = np.zeros((n_k, n_m))  # official fall-injury indicator (truth.py)
        self.injury_without = np.zeros((n_k, n_m))
        self.prev_with = np.zeros((n_k, n_m))
        self.prev_without = np.zeros((n_k, n_m))
        self.prev_official_with = np.zeros((n_k, n_m))  # official preventable indicator
        self.prev_official_without = np.zeros((n_k, n_m))
        self.prev_official_unaffected = np.zeros((n_k, n_m))
        self.py65_k = np.zeros((n_k, n_m))
        self.obs = np.zeros((model.N_GROUPS, n_y, 2))  # realised acute courses (age at admission)
        self.short65 = np.zeros(2)  # short stays, acute courses 65+
        self.los65: list[np.ndarray] = []
        self.counts: dict[str, int] = dict.fromkeys(
            [
                "persons",
                "residents_first_day",
                "births",
                "deaths",
                "deaths_in_hospital",
                "courses",
                "acute_courses",
                "planned_courses",
                "courses_with_transfer",
                "contacts_in_transfers",
                "separate_courses_5_48h",
                "care_episodes",
                "home_care_episodes",
                "home_nursing_episodes",
                "registered_falls",
                "falls_programme_participants",
                "preventive_visits",
                "followup_visits",
            ],
            0,
        )
        keys = [
            "n",
            "treated",
            "r0",
            "r1",
            "p0",
            "p1",
            "r0_t",
            "r1_t",
            "p0_t",
            "p1_t",
            "robs_t",
            "robs_c",
            "capped",
        ]
        self.ix = dict.fromkeys(keys, 0.0)
        self.deaths_by = np.zeros((4, 2, 2))  # edu x sex x (deaths, person-years) 30-84
        self.part = np.zeros((n_k, 2))  # participants, eligible 65+ after start
        self.kommune_edu = np.zeros((n_k, 4))  # residents aged 30-79 on the first day
        self.visit_compliers = np.zeros(7)  # preventive visit, see hospital.simulate
        self.visit75 = np.zeros((n_k, 2))  # offered at 75, accepted
        self.visit_hc = np.zeros(2)  # compliers' home-care onset hazard, its change
        self.survey_sums: dict[int, dict[str, np.ndarray]] = {}

    def add_slice(
        self,
        res: dict,
        c_person: np.ndarray,
        p: people.Persons,
        ka: hospital.KommuneArrays,
        ct: dict,
    ) -> None:
        per = self.period
        c = res["courses"]
        e = res["expected"]
        self.exp_group += e["group"]
        self.py += e["person_years"]
        rows = [self.kpos[int(x)] for x in ka.code]
        self.fall_with[rows] += e["fall_with"]
        self.fall_without[rows] += e["fall_without"]
        self.injury_with[rows] += e["injury_with"]
        self.injury_without[rows] += e["injury_without"]
        self.prev_with[rows] += e["prev_with"]
        self.prev_without[rows] += e["prev_without"]
        self.prev_official_with[rows] += e["prev_official_with"]
        self.prev_official_without[rows] += e["prev_official_without"]
        self.prev_official_unaffected[rows] += e["prev_official_unaffected"]
        self.py65_k[rows] += e["py65_kommune"]
        self.visit_compliers += e.get("visit_compliers", 0.0)
        cnt = self.counts
        n_c = len(c["start"])
        grp = c["group"].astype(int)
        acute = grp != model.PLANNED
        cnt["courses"] += n_c
        cnt["acute_courses"] += int(acute.sum())
        cnt["planned_courses"] += int((~acute).sum())
        cnt["deaths_in_hospital"] += int(c["died"].sum())
        n_parts = np.bincount(ct["course"].astype(np.int64), minlength=n_c)
        cnt["courses_with_transfer"] += int((n_parts > 1).sum())
        cnt["contacts_in_transfers"] += int(n_parts[n_parts > 1].sum())
        same = c["person"][1:] == c["person"][:-1]
        gap = c["start"][1:] - c["discharge"][:-1]
        cnt["separate_courses_5_48h"] += int((same & (gap > 4 / 24) & (gap <= 2.0)).sum())
        age = people.exact_age(p.birth[c_person], c["start"], per.epoch)
        yi = np.clip(
            np.searchsorted(per.year_start, c["start"], side="right") - 1, 0, per.n_years - 1
        )
        old = (age >= 65).astype(int)
        np.add.at(self.obs, (grp[acute], yi[acute], old[acute]), 1)
        a65 = acute & (age >= 65)
        los = c["discharge"][a65] - c["start"][a65]
        self.short65 += [float((los < 1.0).sum()), float(a65.sum())]
        ix = res["index"]
        if len(ix["discharge"]):
            full = np.floor(ix["discharge"]) <= per.end - 1 - model.READMIT_WINDOW_DAYS
            t = ix["treated"].astype(bool)[full]
            r0, r1 = ix["r0"].astype(bool)[full], ix["r1"].astype(bool)[full]
            p0, p1 = ix["p0"][full], ix["p1"][full]
            robs = np.where(t, r1, r0)
            d = self.ix
            d["n"] += full.sum()
            d["treated"] += t.sum()
            d["r0"] += r0.sum()
            d["r1"] += r1.sum()
            d["p0"] += p0.sum()
            d["p1"] += p1.sum()
            d["r0_t"] += r0[t].sum()
            d["r1_t"] += r1[t].sum()
            d["p0_t"] += p0[t].sum()
            d["p1_t"] += p1[t].sum()
            d["robs_t"] += robs[t].sum()
            d["robs_c"] += robs[~t].sum()
            d["capped"] += (p0 >= model.RISK_CAP).sum()
        cnt["followup_visits"] += len(res["visits"]["day"])

    def add_group(
        self, p: people.Persons, group: list[int], kidx: np.ndarray, falls_start_day: np.ndarray
    ) -> None:
        per = self.period
        cnt = self.counts
        t_end = per.end
        cnt["persons"] += len(p)
        cnt["residents_first_day"] += int((p.birth < 0).sum())
        cnt["births"] += int((p.birth >= 0).sum())
        dead = p.death < t_end
        cnt["deaths"] += int(dead.sum())
        cnt["care_episodes"] += len(p.care["person"])
        cnt["home_care_episodes"] += int((p.care["service"] == 0).sum())
        cnt["home_nursing_episodes"] += int((p.care["service"] == 1).sum())
        cnt["registered_falls"] += len(p.falls["person"])
        kinds = (
            np.concatenate(p.interventions["kind"])
            if isinstance(p.interventions["kind"], list)
            else p.interventions["kind"]
        )
        cnt["falls_programme_participants"] += int((kinds == 1).sum())
        cnt["preventive_visits"] += int((kinds == 2).sum())
        # crude mortality 30-84 by education and sex (person-years approximated by years)
        lo = np.maximum(p.birth + 30 * DAYS_PER_YEAR, 0)
        hi = np.minimum.reduce([p.birth + 85 * DAYS_PER_YEAR, p.death, np.full(len(p), t_end)])
        pyrs = np.maximum(hi - lo, 0) / DAYS_PER_YEAR
        died = dead & (p.death >= lo) & (p.death < p.birth + 85 * DAYS_PER_YEAR)
        for e in range(4):
            for sx in range(2):
                m = (p.edu == e) & (p.female == bool(sx))
                self.deaths_by[e, sx] += [died[m].sum(), pyrs[m].sum()]
        rows = np.array([self.kpos[c] for c in group])
        adult = (p.birth <= -30 * DAYS_PER_YEAR) & (p.birth > -80 * DAYS_PER_YEAR)
        for e in range(4):
            self.kommune_edu[rows, e] += np.bincount(
                kidx, adult & (p.edu == e), minlength=len(group)
            )
        # falls programme participation among eligible persons (65+ alive after the start)
        start = np.asarray(falls_start_day)[kidx]
        elig = np.maximum(start, people.birthday(p.birth, 65, per.epoch)) < np.minimum(
            p.death, t_end
        )
        part = np.isfinite(p.falls_effect_day)
        self.part[rows, 0] += np.bincount(kidx, part, minlength=len(group))
        self.part[rows, 1] += np.bincount(kidx, elig, minlength=len(group))
        if p.offer75 is not None:
            self.visit75[rows, 0] += np.bincount(kidx, p.offer75, minlength=len(group))
            self.visit75[rows, 1] += np.bincount(kidx, p.accept75, minlength=len(group))
            h = p.complier75_hc_hazard
            assert h is not None  # set with offer75 (people._complier_home_care_hazard)
            self.visit_hc += [h.sum(), h.sum() * (model.PREVENTIVE_VISIT_HOME_CARE_RR - 1)]

    def add_survey(self, year: int, sums: dict[str, np.ndarray]) -> None:
        cur = self.survey_sums.setdefault(year, {k: np.zeros(4) for k in sums})
        for k, v in sums.items():
            cur[k] += v

    def truth(
        self,
        w: world.World,
        *,
        seed: int,
        scale: float,
        sizes: pd.Series,
        n_contacts: int,
        survey: dict,
    ) -> dict:
        return build_truth(
            self, w, seed=seed, scale=scale, sizes=sizes, n_contacts=n_contacts, survey_info=survey
        )


def build_truth(
    acc: _Accumulator,
    w: world.World,
    *,
    seed: int,
    scale: float,
    sizes: pd.Series,
    n_contacts: int,
    survey_info: dict,
) -> dict:
    """Assemble truth.json from the accumulated counts and expected values."""
    from nsv_eval.synth.truth import assemble

    return assemble(
        acc, w, seed=seed, scale=scale, sizes=sizes, n_contacts=n_contacts, survey_info=survey_info
    )
