"""The real population that sizes the synthetic Denmark.

``nsv_eval/data/population_2014_kommune_sex_age.csv``: Danmarks Statistik's FOLK1A on
1 January 2014 by kommune, sex and single year of age 0–110 (as redistributed in the CRAN
package ``dagirlite``; attribution in ``nsv_eval/data/README.md``). It replaces the
approximate kommune populations of ``kommuner.csv``: each kommune gets
``round(population × scale)`` residents on the first day of the period.

The age pyramid stays the generator's model (``people._sample_ages``). Drawing ages from each
kommune's real 2014 pyramid (:func:`sample_age_sex`) was tried: with it the planted-truth
test of the falls programme's staggered DiD missed its truth at the test seed (interval
-25.4 to -5.3 per 1,000 vs the realised -4.6; kommune-specific ageing is not part of the
planted model, so crude 65+ rates then trend differently between kommuner) and survey raking
met its fine margins in fewer kommuner. Using it needs the outcome models to adjust for
age within the 65+ first; until then it is available but not wired in.

``--full-scale SELECTION`` generates the chosen kommuner (``region:1085``, ``326``,
``326,330``) at scale 1.0 while the rest keeps the given scale, so one kommune's reports
show real-sized numbers.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import numpy as np
import pandas as pd

from nsv_eval import reference

MAX_AGE = 110


@lru_cache(maxsize=1)
def population_2014() -> pd.DataFrame:
    """The real 2014 population: ``kommune_code``, ``sex`` (F/M), ``age``, ``population``."""
    path = files("nsv_eval").joinpath("data/population_2014_kommune_sex_age.csv")
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh)
    return df.astype({"kommune_code": "int64", "age": "int64", "population": "int64"})


def kommune_totals() -> pd.Series:
    """Residents per kommune on 1 January 2014 (index ``kommune_code``)."""
    return population_2014().groupby("kommune_code")["population"].sum()


def age_sex_counts(code: int) -> np.ndarray:
    """Counts of kommune ``code`` as an array ``[sex (0 = M, 1 = F), age 0..110]``."""
    df = population_2014()
    sub = df[df["kommune_code"] == int(code)]
    out = np.zeros((2, MAX_AGE + 1), dtype=np.int64)
    fem = (sub["sex"] == "F").to_numpy().astype(int)
    out[fem, sub["age"].to_numpy()] = sub["population"].to_numpy()
    return out


def sample_age_sex(
    counts: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ages (years) and ``female`` for ``n`` residents drawn from a real pyramid."""
    p = counts.ravel().astype("float64")
    cell = rng.choice(p.size, size=n, p=p / p.sum())
    female = cell // (MAX_AGE + 1) == 1
    age = (cell % (MAX_AGE + 1)) + rng.random(n)
    return age, female


def full_scale_codes(selection: str | None) -> set[int]:
    """Kommune codes of a ``--full-scale`` selection (``region:1085``, ``326,330``, ``all``).

    Raises
    ------
    ValueError
        An unknown region or kommune code.
    """
    if not selection:
        return set()
    k = reference.kommuner()
    out: set[int] = set()
    for part in str(selection).split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part == "all":
            out |= set(k["kommune_code"].astype(int))
        elif part.startswith("region:"):
            reg = int(part.split(":", 1)[1])
            sel = k.loc[k["region_code"] == reg, "kommune_code"]
            if sel.empty:
                raise ValueError(f"--full-scale: unknown region {reg} (1081-1085)")
            out |= set(sel.astype(int))
        else:
            code = int(part)
            if code not in set(k["kommune_code"]):
                raise ValueError(f"--full-scale: {code} is not one of the 98 kommune codes")
            out.add(code)
    return out


def sizes(scale: float, full_scale: set[int], minimum: int) -> pd.Series:
    """Residents per kommune on day 1: real 2014 count × scale (× 1 for ``full_scale``)."""
    tot = kommune_totals()
    f = pd.Series(scale, index=tot.index, dtype="float64")
    f[f.index.isin(list(full_scale))] = 1.0
    return np.maximum(minimum, np.round(tot * f)).astype(int)
