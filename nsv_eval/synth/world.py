"""Kommune-level features of the synthetic Denmark: socio-economic score, multipliers,
hospitals and the roll-out of the kommune-level interventions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nsv_eval import reference
from nsv_eval.synth import model

KALUNDBORG = 326
KALUNDBORG_FALLS_START = dt.date(2014, 1, 1)
KALUNDBORG_ACUTE_TEAM_START = dt.date(2017, 3, 1)

SOCIO_ECONOMIC_ANCHORS: dict[int, float] = {
    # Kommuner whose position is well known (life expectancy, education, income: Danmarks
    # Statistik / Sundhedsstyrelsen). Positive = affluent and healthy. The rest are drawn.
    230: 1.6,  # Rudersdal
    157: 1.5,  # Gentofte
    173: 1.3,  # Lyngby-Taarbæk
    223: 1.3,  # Hørsholm
    201: 1.0,  # Allerød
    190: 1.0,  # Furesø
    147: 0.8,  # Frederiksberg
    240: 0.7,  # Egedal
    746: 0.7,  # Skanderborg
    751: 0.4,  # Aarhus
    360: -1.6,  # Lolland
    482: -1.3,  # Langeland
    326: -1.2,  # Kalundborg
    376: -1.2,  # Guldborgsund
    306: -1.0,  # Odsherred
    773: -1.0,  # Morsø
    825: -1.0,  # Læsø
    400: -0.9,  # Bornholm
    183: -0.8,  # Ishøj
    153: -0.8,  # Brøndby
    165: -0.7,  # Albertslund
    550: -0.7,  # Tønder
    390: -0.7,  # Vordingborg
    330: -0.6,  # Slagelse
}
URBAN_YOUNG = {101: -0.45, 147: -0.4, 751: -0.35, 461: -0.25, 851: -0.25}
"""Age-structure tilt of the big university cities (younger populations)."""

HOSPITALS_PER_REGION = 4


@dataclass
class World:
    """Kommune-level parameters (one row per kommune, ordered by kommune code)."""

    table: pd.DataFrame
    falls_start: dict[int, dt.date | None]
    acute_team_start: dict[int, dt.date | None]

    def row(self, code: int) -> pd.Series:
        """The parameters of kommune ``code``."""
        return self.table.loc[code]


def _allocate(n: int, shares: list[float], rng: np.random.Generator) -> np.ndarray:
    """Exactly rounded allocation of ``n`` units to categories, randomly ordered."""
    raw = np.asarray(shares) * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    labels = np.repeat(np.arange(len(shares)), counts)
    return rng.permutation(labels)


def build_world(seed: int) -> World:
    """Draw the kommune-level world for ``seed`` (independent of scale)."""
    rng = np.random.default_rng([seed, 101])
    k = reference.kommuner().sort_values("kommune_code").reset_index(drop=True)
    n = len(k)
    z = rng.normal(0.0, 0.5, n)
    for i, code in enumerate(k["kommune_code"]):
        if code in SOCIO_ECONOMIC_ANCHORS:
            z[i] = SOCIO_ECONOMIC_ANCHORS[code]
    tilt = rng.normal(0.05, 0.1, n)
    for i, code in enumerate(k["kommune_code"]):
        if code in URBAN_YOUNG:
            tilt[i] = URBAN_YOUNG[code]
    mort = np.exp(model.MORT_KOMMUNE_SLOPE * z + rng.normal(0, 0.04, n))
    acute = np.exp(model.KOMMUNE_ACUTE_SLOPE * z + rng.normal(0, model.KOMMUNE_ACUTE_SD, n))
    prev = np.exp(rng.normal(0, model.KOMMUNE_PREVENTABLE_SD, n))
    falls = np.exp(rng.normal(0, model.KOMMUNE_FALLS_SD, n))
    planned = np.exp(rng.normal(0, model.KOMMUNE_PLANNED_SD, n))
    fertility = np.exp(-1.0 * tilt + rng.normal(0, 0.05, n))
    # each kommune uses one of the region's hospitals as its local hospital
    hospital = np.empty(n, dtype=object)
    local = np.empty(n, dtype=int)
    for reg in sorted(k["region_code"].unique()):
        idx = np.flatnonzero(k["region_code"].to_numpy() == reg)
        local[idx] = rng.integers(0, HOSPITALS_PER_REGION, len(idx))
        for j in idx:
            hospital[j] = f"{reg - 1080}{local[j] + 1:03d}"
    table = pd.DataFrame(
        {
            "kommune_code": k["kommune_code"],
            "kommune_name": k["kommune_name"],
            "region_code": k["region_code"],
            "population": k["population"],
            "z": z,
            "age_tilt": tilt,
            "mortality_mult": mort,
            "acute_mult": acute,
            "preventable_mult": prev,
            "falls_mult": falls,
            "planned_mult": planned,
            "fertility_mult": fertility,
            "local_hospital": local,
        }
    ).set_index("kommune_code", drop=False)

    falls_start, team_start = _rollout(table, rng)
    return World(table=table, falls_start=falls_start, acute_team_start=team_start)


def _rollout(
    table: pd.DataFrame, rng: np.random.Generator
) -> tuple[dict[int, dt.date | None], dict[int, dt.date | None]]:
    """Staggered start dates of the falls programme and of the acute teams."""
    falls: dict[int, dt.date | None] = {}
    for reg in sorted(table["region_code"].unique()):
        codes = table.index[table["region_code"] == reg].to_list()
        if reg == 1082:
            # KKR Midtjylland 2013: 8 of 19 kommuner had a programme; all ran one in 2014.
            labels = _allocate(len(codes), [4 / 19, 4 / 19, 11 / 19], rng)
            years: list[int | None] = [2012, 2013, 2014]
        else:
            labels = _allocate(len(codes), [0.25, 0.25, 0.2, 0.15, 0.15], rng)
            years = [2012, 2013, 2014, 2015, None]
        for code, lab in zip(codes, labels, strict=True):
            y = years[lab]
            falls[int(code)] = dt.date(y, 1, 1) if y is not None else None
    if falls.get(KALUNDBORG) != KALUNDBORG_FALLS_START:
        # Kalundborg must start on 2014-01-01: swap with a Sjælland kommune that has that date
        donor = [
            c
            for c in table.index[table["region_code"] == 1085]
            if c != KALUNDBORG and falls[int(c)] == KALUNDBORG_FALLS_START
        ]
        if donor:
            falls[int(donor[0])] = falls[KALUNDBORG]
        falls[KALUNDBORG] = KALUNDBORG_FALLS_START

    team: dict[int, dt.date | None] = {}
    codes = [int(c) for c in table.index]
    has_team = rng.random(len(codes)) < 0.4
    months = rng.integers(0, 60, len(codes))  # 2015-01 ... 2019-12
    for code, h, m in zip(codes, has_team, months, strict=True):
        team[code] = dt.date(2015 + int(m) // 12, int(m) % 12 + 1, 1) if h else None
    team[KALUNDBORG] = KALUNDBORG_ACUTE_TEAM_START
    return falls, team


def rollout_frame(world: World) -> pd.DataFrame:
    """rollout.csv: kommune_code, intervention, start_date (ISO; empty = never)."""
    rows = []
    for name, starts in (
        ("falls_programme", world.falls_start),
        ("acute_team", world.acute_team_start),
    ):
        for code in sorted(starts):
            d = starts[code]
            rows.append((code, name, d.isoformat() if d else ""))
    return pd.DataFrame(rows, columns=["kommune_code", "intervention", "start_date"])
