"""Reference tables shipped with the package.

* The 98 kommuner (``kommuner()``): official 3-digit code, name, region code and name and an
  approximate population. Source: ``shared/reference/kommuner.csv`` of this project — the
  official kommune and region codes (Danmarks Statistik's classification) with populations
  rounded to thousands at roughly the mid-2020s level. The populations are good enough to
  size the synthetic Denmark; real analyses use Danmarks Statistik's FOLK1A tables.
* ICD-10 code lists (``ICD10``) for the outcomes in the seeds, read from the indicator
  definition files (``nsv_eval/definitions``, legacy variants), each with its source.
* The European Standard Population 2013 (``esp2013()``), 5-year bands to 95+
  (Eurostat, "Revision of the European Standard Population", 2013 edition, table 3.1).

Age bands used throughout nsv-eval are the ESP2013 bands: ``"0-4"``, ``"5-9"``, ...,
``"90-94"``, ``"95+"`` (see :func:`age_band`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

REGIONS: dict[int, str] = {
    1081: "Region Nordjylland",
    1082: "Region Midtjylland",
    1083: "Region Syddanmark",
    1084: "Region Hovedstaden",
    1085: "Region Sjælland",
}

DISCLOSURE_THRESHOLD = 5
"""Counts from 1 to ``DISCLOSURE_THRESHOLD - 1`` are never shown (the discretion rule of
Danmarks Statistik and Sundhedsdatastyrelsen). Read by analyses that build disclosure-safe
grids and by :mod:`nsv_eval.report.disclosure` (``THRESHOLD``), the only suppression layer."""

AGE_BANDS: list[str] = [f"{a}-{a + 4}" for a in range(0, 95, 5)] + ["95+"]
EDUCATION_LEVELS: list[str] = ["grundskole", "kort", "mellemlang", "lang"]
"""Highest completed education, ordered from lowest to highest (DST's ISCED-based grouping:
grundskole = ISCED 0-2, kort = upper secondary/vocational (ISCED 3-4, 'kort uddannelse'
as used in Sundhedsprofilen), mellemlang = short and medium-cycle tertiary (ISCED 5-6),
lang = long-cycle tertiary (ISCED 7-8))."""

EDUCATION_LABELS_DA: dict[str, str] = {
    "grundskole": "Grundskole",
    "kort": "Kort uddannelse",
    "mellemlang": "Mellemlang uddannelse",
    "lang": "Lang uddannelse",
    "ukendt": "Uoplyst",
}


@cache
def kommuner() -> pd.DataFrame:
    """Return the 98 kommuner.

    Returns
    -------
    pandas.DataFrame
        Columns ``kommune_code`` (int), ``kommune_name`` (str, with æ/ø/å), ``region_code``
        (int, 1081-1085), ``region_name`` (str) and ``population`` (int, approximate,
        rounded to thousands, mid-2020s; see module docstring for the source).
    """
    path = files("nsv_eval").joinpath("data/kommuner.csv")
    with path.open(encoding="utf-8") as fh:
        df = pd.read_csv(fh)
    df = df.rename(
        columns={
            "kommune_kode": "kommune_code",
            "kommune_navn": "kommune_name",
            "region_kode": "region_code",
            "region_navn": "region_name",
            "approx_population": "population",
        }
    )
    return df.astype({"kommune_code": "int64", "region_code": "int64", "population": "int64"})


def kommune_name(code: int) -> str:
    """Name of kommune ``code``; raises ``KeyError`` with a clear message if unknown."""
    k = kommuner().set_index("kommune_code")
    if int(code) not in k.index:
        raise KeyError(f"Unknown kommune code {code!r}: not one of the 98 Danish kommuner.")
    return str(k.at[int(code), "kommune_name"])


def region_of(code: int) -> int:
    """Region code (1081-1085) of kommune ``code``."""
    k = kommuner().set_index("kommune_code")
    if int(code) not in k.index:
        raise KeyError(f"Unknown kommune code {code!r}: not one of the 98 Danish kommuner.")
    return int(k.at[int(code), "region_code"])


@cache
def esp2013() -> pd.DataFrame:
    """European Standard Population 2013, 5-year age bands to 95+ (total 100,000).

    Source: Eurostat (2013), *Revision of the European Standard Population — Report of
    Eurostat's task force*, Methodologies and Working papers, table 3.1 (the 0 and 1-4
    bands merged into 0-4).

    Returns
    -------
    pandas.DataFrame
        Columns ``age_band``, ``age_lower``, ``age_upper``, ``population``.
    """
    path = files("nsv_eval").joinpath("data/esp2013.csv")
    with path.open(encoding="utf-8") as fh:
        return pd.read_csv(fh)


def age_band(age: np.ndarray | pd.Series | int | float) -> np.ndarray | str:
    """Map ages in whole years to ESP2013 band labels (``"0-4"`` ... ``"95+"``)."""
    scalar = np.isscalar(age)
    a = np.atleast_1d(np.asarray(age, dtype=float))
    idx = np.clip(np.floor(a / 5).astype(int), 0, len(AGE_BANDS) - 1)
    out = np.asarray(AGE_BANDS, dtype=object)[idx]
    return str(out[0]) if scalar else out


# ----------------------------------------------------------------------------------------
# ICD-10 code lists
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeList:
    """A named ICD-10 code list: prefixes matched against normalised codes.

    Codes are normalised to upper case without the Danish ``D`` prefix and without dots
    (``"DJ18.9"`` → ``"J189"``); a code matches when it starts with one of ``prefixes``.
    """

    name: str
    label_da: str
    prefixes: tuple[str, ...]
    source: str

    def matches(self, codes: pd.Series) -> pd.Series:
        """Boolean Series: which (raw or normalised) codes belong to this list."""
        norm = normalise_icd10(codes)
        return norm.str.startswith(self.prefixes).fillna(False).astype(bool)


_ICD_RE = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]{0,4}$")


def normalise_icd10(codes: pd.Series) -> pd.Series:
    """Normalise ICD-10 codes: upper case, strip spaces, dots and the Danish ``D`` prefix.

    ``"DJ18.9"``, ``"dj189"`` and ``"J18.9"`` all become ``"J189"``. Values that are not
    ICD-10-shaped after normalisation become ``<NA>`` (see :func:`is_valid_icd10`).
    """
    s = pd.Series(codes, dtype="string").str.upper().str.replace(r"[\s.]", "", regex=True)
    # Danish SKS codes carry a leading 'D' (diagnosis) before the ICD-10 letter.
    s = s.where(~s.str.match(r"^D[A-Z][0-9]"), s.str.slice(1))
    return s.where(s.str.match(_ICD_RE.pattern), pd.NA)


def is_valid_icd10(codes: pd.Series) -> pd.Series:
    """Boolean Series: does each code look like an ICD-10 code (letter, two digits, ...)?"""
    return normalise_icd10(codes).notna()


