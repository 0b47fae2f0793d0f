"""The real population that sizes the synthetic Denmark.

``nsv_eval/data/population_2014_kommune_sex_age.csv``: Danmarks Statistik's FOLK1A on
1 January 2014 by kommune, sex and single year of age 0–110 (as redistributed in the CRAN
package ``dagirlite``; attribution in ``nsv_eval/data/README.md``). It replaces the
approximate kommune populations of ``kommuner.csv``: each kommune gets
``round(population × scale)`` residents on the first day of the period.

Each kommune's residents on the first day of the period are drawn from its real pyramid by
sex and single year of age (:func:`sample_age_sex`, used by ``people.make_persons``); the
2014 pyramid stands in for 1 January 2010 (four years earlier; the generator has no
migration, so the later years age this population forward by births and deaths).

Last round the real pyramids were tried and left unused because the falls programme's
staggered DiD missed its planted truth at the test seed (-15.4, interval -25.4 to -5.3 per
1,000, vs the realised -4.6). Taken apart on that world (issue #13; the generator's
expected counts without noise): the DiD on the expected counts *without* the programme gives
-1.8 (the crude 65+ rates of the kommuner drift apart as their small populations age and
die — a random, not a systematic, departure from parallel trends: over seeds 1-5 of the
generator it is -0.5 on average with a standard deviation of 1.1 with the real pyramids, and
0.0 ± 2.1 with the model pyramid it replaced); CS's kommune-weighted ATT differs from the
truth's person-year-weighted one by -0.3 (-4.9 vs -4.6); the remaining -8.7 is the Poisson
noise of a few hundred events per kommune (1.7 standard errors). So that miss was one world's
draw at the 95 % level, not a wrong truth or an effect that depends on the age mix; with the
falls coded as LPR codes them and the check on the official indicator (issue #13) the test
world covers its truth with the real pyramids.

The real pyramids do widen that drift for the preventable admissions of the acute team
(DiD on expected counts without the team, seeds 7, 1, 2, 3: -4.7, 0.1, 2.6, -1.1 per 1,000,
standard deviation 3.0, against -2.1, -0.8, -0.4, 1.0, standard deviation 1.3, with the model
pyramid): crude 65+ rates move apart as the large 1945-50 cohorts turn 65 at a different pace
in each kommune. At the test seed the acute team's national DiD on crude rates then missed its
truth (0.67, 0.56-0.84, vs 0.85). An analyst comparing kommuner with real age pyramids has
to adjust for that, so the national DiDs of the planted-truth checks now run on indirectly
age- and sex-standardised kommune rates (``analyses.effects.annual_panel(standardise=True)``):
0.715 (0.611-0.862) at the test seed.

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
