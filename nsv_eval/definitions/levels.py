"""National levels of the indicators on a prepared layout, against their published levels.

Each official definition file may carry ``published_level``: the national level a published
source states (``measure``: ``rate`` per ``multiplier``, ``proportion`` in %, or the
``prevalence`` of a disease cohort in % of the population ``min_age``+), its ``year``, a
range ``low``–``high`` and the source. :func:`national_levels` measures the same quantity
on a prepared layout (the whole country, the published year or the nearest year the data
cover) and says whether it falls in the range — how the synthetic Denmark is checked against
real Denmark (``tests/test_synth_calibration.py``), and what a user with a national extract
can compare.

The measures, on ``cube.parquet`` (whole country, the published year, ages ``min_age``+;
a rate or proportion over the years ``measured_years`` when the file names them, e.g.
``fall_injury``: a 2002 source compared with the synthetic years before any falls
programme, 2010-2011):

``rate``
    numerator events / person-years × multiplier (``preventable``: per 1,000 65+);
``proportion``
    ``readmit_30d`` / ``readmit_index`` × 100 (index admissions by discharge month);
``prevalence``
    the disease cohort on 1 January (``copd_population`` / ``diabetes_population``) /
    persons alive and ``min_age``+ on 1 January (from ``persons.parquet``, exact ages) × 100.

``noise_95`` is the half-width of an approximate 95 % sampling interval of the measured
value (Poisson for a rate, binomial for a proportion or a prevalence): how far a world of
this size may land from its own expected level by chance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd

from nsv_eval import definitions as D
from nsv_eval.reference import AGE_BANDS

LEVEL_COLUMNS: dict[str, tuple[str, str]] = {
    "preventable": ("preventable", "person_years"),
    "readmission": ("readmit_30d", "readmit_index"),
    "fall_injury": ("fall_injury", "person_years"),
    "hip_fracture": ("hip_fracture", "person_years"),
    "short_stay": ("admissions_short", "person_years"),
    "copd_acute": ("copd_population", "population"),
    "diabetes_acute": ("diabetes_population", "population"),
}
"""Definition id → (numerator, denominator) cube columns of its published level."""


def _bands_from(age: int) -> list[str]:
    return AGE_BANDS[min(age // 5, len(AGE_BANDS) - 1) :]


def _adults(prepared: Path, year: int, min_age: int) -> int:
    """Persons alive and ``min_age``+ on 1 January ``year`` (exact ages, persons.parquet)."""
    jan1 = f"DATE '{year}-01-01'"
    path = str(prepared / "persons.parquet").replace("'", "''")
    con = duckdb.connect()
    try:
        return int(
            con.execute(
                f"""
                SELECT count(*) FROM read_parquet('{path}')
                WHERE CAST(birth_date AS DATE) <= {jan1} - INTERVAL {int(min_age)} YEAR
                  AND (death_date IS NULL OR CAST(death_date AS DATE) > {jan1})
                """
            ).fetchall()[0][0]
        )
    finally:
        con.close()


def national_levels(prepared: str | Path, choice: dict[str, str] | None = None) -> pd.DataFrame:
    """The national level of every indicator with a ``published_level``, measured on ``prepared``.

    Parameters
    ----------
    prepared : path
        A prepared layout (``cube.parquet``, ``persons.parquet``, ``manifest.json``).
    choice : dict, optional
        Definition variants (default: those recorded in the manifest).

    Returns
    -------
    pandas.DataFrame
        One row per indicator: ``id``, ``variant``, ``measure``, ``year`` (the first year
        measured), ``years`` (e.g. ``2010-2011`` with ``measured_years``), ``numerator``,
        ``denominator``, ``value``, ``noise_95``, ``low``, ``high``, ``within``, ``unit``,
        ``source``.
    """
    prepared = Path(prepared)
    if choice is None:
        man = json.loads((prepared / "manifest.json").read_text(encoding="utf-8"))
        rec = (man.get("definitions") or {}).get("indicators") or D.COURSE_VARIANTS
        choice = {k: (v["variant"] if isinstance(v, dict) else v) for k, v in rec.items()}
    cube = pd.read_parquet(prepared / "cube.parquet")
    rows = []
    for id, (num_col, den_col) in LEVEL_COLUMNS.items():
        if id not in choice:
            continue
        variant = choice[id]
        d = D.get(id, variant)
        pub = D.get(id).published_level  # the target is the official definition's
        if pub is None:
            continue
        year = int(pub["year"])
        years = sorted(int(y) for y in cube["year"].unique())
        if year not in years:  # the nearest year of the data (e.g. 2010 for a 2002 source)
            year = min(years, key=lambda y: (abs(y - year), -y))
        measure = pub["measure"]
        # a rate or proportion may be measured over several years the file names
        # (``measured_years``, e.g. the years before any programme for an older source)
        span = [year]
        if measure != "prevalence":
            span = [y for y in map(int, pub.get("measured_years") or []) if y in years] or span
        min_age = int(pub.get("min_age", d.thresholds.get("min_age", 0)))
        c = cube[cube["year"].isin(span)]
        if measure == "prevalence" and d.cohort is None:
            continue  # a legacy variant without a disease cohort has no prevalence
        if measure == "prevalence":
            num = float(c.loc[c["month"] == 1, num_col].sum())
            den = float(_adults(prepared, year, min_age))
            value = 100 * num / den if den else math.nan
            p = num / den if den else math.nan
            noise = 100 * 1.96 * math.sqrt(p * (1 - p) / den) if den else math.nan
        else:
            c = c[c["age_band"].isin(_bands_from(min_age))]
            num, den = float(c[num_col].sum()), float(c[den_col].sum())
            mult = 100 if measure == "proportion" else d.multiplier
            value = mult * num / den if den else math.nan
            if measure == "proportion":
                p = num / den if den else math.nan
                noise = mult * 1.96 * math.sqrt(p * (1 - p) / den) if den else math.nan
            else:
                noise = mult * 1.96 * math.sqrt(num) / den if den else math.nan
        rows.append(
            {
                "id": id,
                "variant": variant,
                "measure": measure,
                "year": span[0],
                "years": f"{span[0]}-{span[-1]}" if len(span) > 1 else str(span[0]),
                "numerator": num,
                "denominator": den,
                "value": value,
                "noise_95": noise,
                "low": float(pub["low"]),
                "high": float(pub["high"]),
                "within": bool(pub["low"] <= value <= pub["high"]),
                "unit": pub.get("unit", ""),
                "source": f"{pub['source']['issuer']}: {pub['source']['title']}",
            }
        )
    return pd.DataFrame(rows)


__all__ = ["LEVEL_COLUMNS", "national_levels"]
