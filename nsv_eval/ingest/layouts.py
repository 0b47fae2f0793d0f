"""Register layouts: LPR3 and LPR2 extracts as they come, read into the admissions kind.

``nsv-eval prepare --raw DIR --format lpr3|lpr2|nsv`` (and ``ingest --format``) reads the
patient register in the layout evaluators actually receive and turns it into the tidy
``admissions`` rows that the rest of ingest validates, quarantines and pseudonymises.
Nothing here writes a file: a :class:`LayoutSource` is a reader that yields the rows of the
contacts table with canonical column names (and the source file's own row numbers), so a
rejected row is reported against the contacts file and row it came from, and a CPR number
never leaves ingest.

Layouts (column names are matched case-insensitively after :func:`normalise_name`):

``lpr3`` — Landspatientregistret 3 (2019–), the tables ``kontakter`` and ``diagnoser``
    (Sundhedsdatastyrelsen's research extracts ``LPR_F_KONTAKTER``/``LPR_F_DIAGNOSER``,
    Danmarks Statistik's ``LPR3_KONTAKTER``/``LPR3_DIAGNOSER`` …). Contacts:
    ``DW_EK_KONTAKT`` (key), ``DW_EK_FORLOEB``, ``CPR``/``PNR``/``cpr_encrypted``,
    ``dato_start`` + ``tidspunkt_start``, ``dato_slut`` + ``tidspunkt_slut``,
    ``kontakttype`` (ALCA00 fysisk fremmøde, ALCA03 virtuel kontakt), ``prioritet``
    (ATA1 akut, ATA3 planlagt), ``aktionsdiagnose``, ``kontaktaarsag`` (ALCC01 sygdom,
    ALCC02 ulykke, ALCC03 voldshandling, ALCC04 selvmordsforsøg/selvskade),
    ``SORENHED_ANS``, ``hovedspeciale_ans``. Diagnoses: ``DW_EK_KONTAKT``,
    ``diagnosekode``, ``diagnosetype`` (A aktionsdiagnose, B bidiagnose …),
    ``senere_afkraeftet`` (Ja/Nej).
``lpr2`` — Landspatientregistret 2 (1977–2018), ``LPR_ADM``/``T_ADM`` and
    ``LPR_DIAG``/``T_DIAG`` joined by ``RECNUM``: ``PNR``/``V_CPR``, ``C_ADIAG``,
    ``C_INDM`` (1 akut, 2 planlagt), ``C_PATTYPE`` (0 indlagt, 1 ambulant, 2 skadestue),
    ``C_KONTAARS`` (1 sygdom, 2 ulykke, 3 voldshandling, 4 selvmordsforsøg, 5 senfølge,
    8 andet, 9 ukendt), ``D_INDDTO`` + ``V_INDTIME`` [+ ``V_INDMINUT``], ``D_UDDTO`` +
    ``V_UDTIME``, ``C_SPEC``, ``C_SGH``; diagnoses ``RECNUM``, ``C_DIAG``,
    ``C_DIAGTYPE``.
``nsv`` — the tidy layout of ARCHITECTURE.md (nothing to translate).

Sources the names and codes were checked against (searched 2026-11):

* the LPR3 research-extract column list of ``LPR_F_KONTAKTER`` (aktionsdiagnose,
  cpr_encrypted, dato_start, dato_slut, dw_ek_forloeb, dw_ek_kontakt, hovedspeciale_ans,
  kontaktaarsag, kontakttype, prioritet, sorenhed_ans, tidspunkt_start, tidspunkt_slut …)
  and ``LPR_F_DIAGNOSER`` (dw_ek_kontakt, diagnosekode, diagnosetype, senere_afkraeftet)
  as used in a public SAS import macro for Sundhedsdatastyrelsen's research machine; the
  same names in the CRAN package ``osdc`` (Steno Diabetes Center Aarhus, vignette "Data
  sources": ``lpr_adm``, ``lpr_diag``, ``lpr3f_kontakter``, ``lpr3f_diagnoser``; its tests
  use ``senere_afkraeftet`` ``"Ja"``/``"Nej"`` and ``dato_start`` ``"20230101"``);
* SKS (Sundhedsvæsenets Klassifikations System, OID 1.2.208.176.2.4) as published in the
  Danish FHIR implementation guides: ``ALCA00`` fysisk fremmøde, ``ALCA03`` virtuel kontakt,
  and ``ALCC01`` Sygdom in a MedCom CDA example; public research code keeps only
  ``kontakttype == "ALCA00"`` for hospital stays and treats ``hovedspeciale_ans`` in
  ("psykiatri", "børne- og ungdomspsykiatri") as psychiatric;
* Danmarks Statistik's LPR variable list (``c_adiag`` kontaktens aktionsdiagnose,
  ``c_afd``, ``c_henm`` …) and research code on LPR2 (``C_PATTYPE`` 0–3, ``C_DIAGTYPE``
  A/B/C/G/H/+).

Not confirmed from an official page within this work, taken from the issue and the domain
notes: the ALCC02–ALCC04 labels, the C_KONTAARS and C_INDM code lists. Values outside the
lists are kept as ``other`` (cause) or rejected by validation (priority), never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from nsv_eval.errors import InputError
from nsv_eval.ingest.readers import Batch, SourceInfo
from nsv_eval.ingest.schemas import CPR_ALIASES, normalise_name

FORMATS: tuple[str, ...] = ("nsv", "lpr3", "lpr2")
"""Accepted ``--format`` values."""

# ----------------------------------------------------------------------------------------
# which file is which table
# ----------------------------------------------------------------------------------------

FILE_STEMS: dict[str, dict[str, tuple[str, ...]]] = {
    "lpr3": {
        "contacts": (
            "kontakter",
            "kontakt",
            "lpr_f_kontakter",
            "lpr3_kontakter",
            "lpr3f_kontakter",
            "lpr_a_kontakt",
            "lpr3a_kontakt",
            "lpr3_kontakt",
        ),
        "diagnoses": (
            "diagnoser",
            "diagnose",
            "lpr_f_diagnoser",
            "lpr3_diagnoser",
            "lpr3f_diagnoser",
            "lpr_a_diagnose",
            "lpr3a_diagnose",
            "lpr3_diagnose",
        ),
    },
    "lpr2": {
        "contacts": ("lpr_adm", "t_adm", "adm"),
        "diagnoses": ("lpr_diag", "t_diag", "diag"),
    },
}
"""Register table names recognised in a raw folder (file stem equal to one of these or
starting with it followed by ``_``, ``-``, ``.`` or digits, e.g. ``lpr_adm2015.sas7bdat``)."""

SAS_SUFFIXES = (".sas7bdat",)


def table_of(path: Path, fmt: str) -> str | None:
    """``'contacts'``/``'diagnoses'`` if the file name is a table of layout ``fmt``."""
    if fmt not in FILE_STEMS:
        return None
    stem = normalise_name(path.name.split(".")[0])
    for role, stems in FILE_STEMS[fmt].items():
        for s in stems:
            if stem == s or re.match(rf"{re.escape(s)}(_|\d)", stem):
                return role
    return None


def discover(raw_dir: Path, fmt: str) -> list[Path]:
    """The LPR table files of layout ``fmt`` in ``raw_dir`` (contacts first, then diagnoses)."""
    if fmt not in FILE_STEMS:
        return []
    found: dict[str, list[Path]] = {"contacts": [], "diagnoses": []}
    for p in sorted(raw_dir.iterdir()):
        if not p.is_file() or p.name.startswith("."):
            continue
        if p.suffix.lower() not in (
            ".csv",
            ".tsv",
            ".txt",
            ".xlsx",
            ".xlsm",
            ".parquet",
            *SAS_SUFFIXES,
        ):
            continue
        role = table_of(p, fmt)
        if role:
            found[role].append(p)
    return found["contacts"] + found["diagnoses"]


# ----------------------------------------------------------------------------------------
# SAS datasets
# ----------------------------------------------------------------------------------------


class SasReader:
    """SAS ``.sas7bdat`` datasets (what research-server projects hold), in chunks.

    Read with :func:`pandas.read_sas` (pandas' maintained SAS7BDAT reader): numeric
    columns with a SAS date or datetime format arrive as timestamps, character columns as
    text (encoding taken from the file), other numerics as floats. Row numbers are 0-based
    observation numbers.
    """

    def __init__(self, path: Path, label: str, known: set[str], batch_rows: int = 200_000):
        self.info = SourceInfo(path, label, "sas7bdat")
        self.batch_rows = batch_rows
        self.path = path
        try:
            with pd.read_sas(path, format="sas7bdat", encoding="infer", chunksize=1) as rdr:
                self.info.header = [str(c) for c in rdr.column_names]
                enc = getattr(rdr, "inferred_encoding", None) or getattr(rdr, "encoding", None)
                self.info.encoding = str(enc) if enc else None
        except Exception as exc:  # noqa: BLE001 - any parse failure is a user-facing error
            raise InputError(f"{label}: cannot be read as a SAS dataset ({exc}).") from None
        self.columns: list[int] | None = None

    def batches(self) -> Iterator[Batch]:
        """Yield chunks of ``batch_rows`` observations (columns by position)."""
        offset = 0
        try:
            with pd.read_sas(
                self.path, format="sas7bdat", encoding="infer", chunksize=self.batch_rows
            ) as rdr:
                for chunk in rdr:
                    frame = chunk.reset_index(drop=True)
                    frame.columns = list(range(frame.shape[1]))
                    rows = np.arange(offset, offset + len(frame), dtype=np.int64)
                    offset += len(frame)
                    yield Batch(frame, rows)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise InputError(
                f"{self.info.label}: cannot be read as a SAS dataset ({exc})."
            ) from None


def is_sas(path: Path) -> bool:
    """Whether ``path`` is a SAS dataset (by extension; the format has no fixed magic)."""
    return path.suffix.lower() in SAS_SUFFIXES


# ----------------------------------------------------------------------------------------
# dates and times in separate columns
# ----------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "maj": 5, "jun": 6, "jul": 7,
    "aug": 8, "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_RE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_RE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]00:00(?::00)?(?:\.0+)?)?$")
_RE_DMY = re.compile(r"^(\d{1,2})([-./])(\d{1,2})\2(\d{4})$")
_RE_SAS = re.compile(r"^(\d{1,2})([A-Za-z]{3})(\d{4})$")
_RE_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:\.\d+)?)?$")
_RE_HHMM = re.compile(r"^(\d{2})(\d{2})(\d{2})?$")


def _date_text(v: object) -> str | None:
    """ISO date text of one date value, None if missing, the raw text if unreadable."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        ts = pd.Timestamp(v)
        return None if pd.isna(ts) else ts.strftime("%Y-%m-%d")
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        x = float(v)
        if np.isnan(x):
            return None
        if x.is_integer() and 1e7 <= x < 1e8:  # a compact 20230301 stored as a number
            v = str(int(x))
        elif x.is_integer() and -3653 <= x <= 51500:
            # A SAS date value without its DATE format: days since 1960-01-01 (how SAS
            # stores every date; years 1950-2100 fall in this range)
            return (dt.date(1960, 1, 1) + dt.timedelta(days=int(x))).isoformat()
    s = str(v).strip()
    if s == "" or s.lower() in ("nan", "nat", "none", "null", "."):
        return None
    if m := _RE_COMPACT.match(s):
        y, mo, d = m.groups()
    elif m := _RE_ISO.match(s):
        y, mo, d = m.groups()
    elif m := _RE_DMY.match(s):
        d, _, mo, y = m.groups()
    elif (m := _RE_SAS.match(s)) and m.group(2).lower() in _MONTHS:
        d, mon, y = m.groups()
        mo = str(_MONTHS[mon.lower()])
    else:
        return s  # validation rejects it as bad_date, with the value shown
    return f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"


def _time_seconds(v: object, numeric_unit: str) -> float | None:
    """Seconds after midnight of one time value; None if missing; NaN if unreadable.

    ``numeric_unit`` says what a bare number means: ``'seconds'`` (a SAS TIME value, LPR3
    tidspunkt) or ``'hours'`` (LPR2 V_INDTIME/V_UDTIME).
    """
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, (float, int, np.integer, np.floating)) and not isinstance(v, bool):
        if np.isnan(float(v)):
            return None
        x = float(v)
        return x * 3600.0 if numeric_unit == "hours" else x
    if isinstance(v, dt.time):
        return v.hour * 3600.0 + v.minute * 60.0 + v.second
    if isinstance(v, (pd.Timedelta, dt.timedelta, np.timedelta64)):
        return pd.Timedelta(v).total_seconds()
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.hour * 3600.0 + v.minute * 60.0 + v.second
    s = str(v).strip()
    if s == "" or s.lower() in ("nan", "nat", "none", "null", "."):
        return None
    if m := _RE_TIME.match(s):
        h, mi, se = m.groups()
        return int(h) * 3600.0 + int(mi) * 60.0 + int(se or 0)
    if numeric_unit == "hours" and s.isdigit() and len(s) <= 2:
        return int(s) * 3600.0
    if m := _RE_HHMM.match(s):
        h, mi, se = m.groups()
        return int(h) * 3600.0 + int(mi) * 60.0 + int(se or 0)
    try:
        x = float(s.replace(",", "."))
    except ValueError:
        return float("nan")
    return x * 3600.0 if numeric_unit == "hours" else x


def combine_datetime(
    date: pd.Series,
    time: pd.Series | None = None,
    minute: pd.Series | None = None,
    *,
    numeric_unit: str = "seconds",
) -> pd.Series:
    """Date and time columns → ``'YYYY-MM-DD HH:MM:SS'`` text for validation.

    Parameters
    ----------
    date : pandas.Series
        Dates: timestamps, ISO ``2023-03-01``, compact ``20230301``, Danish ``01-03-2023``
        or SAS ``01MAR2023``.
    time : pandas.Series, optional
        Times: ``14:05``, ``14:05:00``, ``1405``, :class:`datetime.time`, a timedelta, or a
        number (seconds after midnight, or hours when ``numeric_unit='hours'``). Missing
        means midnight (LPR2 has no time on many contacts).
    minute : pandas.Series, optional
        Minutes added to ``time`` (LPR2 ``V_INDMINUT``).

    Returns
    -------
    pandas.Series
        Object series: the combined text, None where the date is missing, or the
        unreadable raw value (so validation rejects it as ``bad_date`` and shows it).
    """
    n = len(date)
    # every conversion runs on the distinct values only (a register has few distinct dates
    # and times), then is spread back with the factorize codes
    dates = _by_unique(date, _date_text)
    secs = np.zeros(n)
    bad_time = np.zeros(n, dtype=bool)
    raw_time = pd.Series([None] * n, dtype="object")
    if time is not None:
        t = _fast_times(time, numeric_unit)
        tv = pd.to_numeric(t, errors="coerce").to_numpy(dtype="float64")
        given = t.notna().to_numpy()
        bad = given & (np.isnan(tv) | (tv < 0) | (tv >= 86400))
        bad_time |= bad
        raw_time = time.reset_index(drop=True).astype("object").where(bad, None)
        secs = np.where(given & ~bad, np.nan_to_num(tv), 0.0)
    if minute is not None:
        ml = pd.to_numeric(minute, errors="coerce").to_numpy(dtype="float64")
        bad_min = ~np.isnan(ml) & ((ml < 0) | (ml > 59))
        bad_time |= bad_min
        secs = secs + np.nan_to_num(ml, nan=0.0) * 60.0
    # fast path: every date readable and every time valid → typed timestamps, which
    # validation takes as they are (no second text parse)
    if not bad_time.any():
        day = _by_unique(date, lambda v: _iso_day(_date_text(v)))
        dv = day.to_numpy(dtype=object)
        has = day.notna().to_numpy()
        readable = np.array([x is not None and x is not _BAD for x in dv])
        if bool((readable | ~has).all()):
            days = np.array([x if x is not None else 0 for x in dv], dtype="int64")
            ts = (days * 86400 + np.round(secs).astype(np.int64)).astype("datetime64[s]")
            ts[~has] = np.datetime64("NaT")
            return pd.Series(ts, index=date.index)
    d = pd.Series(dates.to_numpy(dtype=object), dtype="string")
    iso = d.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(dtype=bool)
    si = np.round(secs).astype(np.int64)
    hms = pd.Series(si // 3600 * 10000 + si % 3600 // 60 * 100 + si % 60).astype("string")
    hms = hms.str.zfill(6)
    good = d + " " + hms.str.slice(0, 2) + ":" + hms.str.slice(2, 4) + ":" + hms.str.slice(4, 6)
    if bad_time.any() or not iso.all():
        junk = (d + " " + raw_time.fillna("").astype("string")).str.strip()
        good = good.where(iso & ~bad_time, junk)
    out = good.to_numpy(dtype=object, na_value=None)
    return pd.Series(out, index=date.index, dtype="object")


_BAD = object()
_EPOCH = dt.date(1970, 1, 1)


def _iso_day(text: str | None) -> object:
    """Days since 1970-01-01 of an ISO date text; None if missing; ``_BAD`` if unreadable."""
    if text is None:
        return None
    try:
        return (dt.date.fromisoformat(text) - _EPOCH).days
    except ValueError:
        return _BAD


def _fast_times(time: pd.Series, numeric_unit: str) -> pd.Series:
    """Seconds after midnight of a time column: vectorised for ``HH:MM[:SS]`` text and
    numbers, per distinct value (:func:`_time_seconds`) for anything else."""
    time = time.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(time.dtype) and not pd.api.types.is_bool_dtype(time.dtype):
        v = pd.to_numeric(time, errors="coerce").astype("float64")
        return (
            (v * 3600.0 if numeric_unit == "hours" else v).astype("object").where(v.notna(), None)
        )
    txt = (
        time.astype("string").str.strip()
        if time.dtype != object or all(isinstance(x, str) for x in time.head(50).dropna())
        else None
    )
    if txt is None:
        return _by_unique(time, lambda v: _time_seconds(v, numeric_unit))
    import pyarrow.compute as pc

    arr = pa.array(txt.to_numpy(dtype=object, na_value=None), pa.string())
    st = pc.extract_regex(arr, r"^(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?$")

    def part(name: str) -> np.ndarray:
        v = pc.struct_field(st, name)
        v = pc.if_else(pc.equal(v, ""), pa.scalar(None, pa.string()), v)
        return pc.cast(v, pa.float64()).to_numpy(zero_copy_only=False)

    h, mi, se = part("h"), part("m"), part("s")
    sec = pd.Series(h * 3600 + mi * 60 + np.nan_to_num(se), dtype="float64")
    out = sec.astype("object").where(sec.notna(), None)
    rest = sec.isna() & txt.notna() & (txt != "")
    if rest.any():
        out[rest] = _by_unique(time[rest], lambda v: _time_seconds(v, numeric_unit)).to_numpy()
    return out


def _by_unique(s: pd.Series, fn) -> pd.Series:
    """``fn`` applied to each distinct value of ``s`` (missing values stay None)."""
    codes, uniques = pd.factorize(s.reset_index(drop=True), use_na_sentinel=True)
    vals = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(vals[np.where(codes < 0, len(uniques), codes)], dtype="object")


# ----------------------------------------------------------------------------------------
# code translations
# ----------------------------------------------------------------------------------------

LPR2_PATTYPE = {"0": "inpatient", "1": "outpatient", "2": "emergency", "3": "inpatient"}
"""LPR2 C_PATTYPE: 0 indlagt, 1 ambulant, 2 skadestue, 3 deldøgnspatient (until 2013; a
day-patient counted with in-patients here)."""

LPR2_KONTAARS = {"1": "ALCC01", "2": "ALCC02", "3": "ALCC03", "4": "ALCC04"}
"""LPR2 C_KONTAARS → the LPR3 code: 1 sygdom, 2 ulykke, 3 voldshandling, 4 selvmordsforsøg
(5 senfølge, 8 andet, 9 ukendt → ``other``)."""

DISPROVED_TOKENS = frozenset({"ja", "j", "1", "true", "y", "yes", "sand"})
"""``senere_afkraeftet`` values meaning the diagnosis was later disproved."""


def _code_text(s: pd.Series) -> pd.Series:
    """Codes as stripped text; numbers read as floats (1.0) become ``'1'``."""

    def one(v: object) -> object:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, bytes):
            v = v.decode("latin-1")
        t = str(v).strip()
        return t if t else None

    if pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
        v = pd.to_numeric(s, errors="coerce")
        whole = v.isna() | (v == np.floor(v))
        if bool(whole.all()):
            out = v.astype("Int64").astype("string").astype("object")
            return out.where(v.notna(), None)
    elif s.dtype != object or all(isinstance(x, str) for x in s.head(50).dropna()):
        try:
            t = s.astype("string").str.strip()
        except (TypeError, ValueError):
            t = None
        if t is not None:
            return t.where(t != "", None).astype("object").where(t.notna() & (t != ""), None)
    out = _by_unique(s, one)
    out.index = s.index
    return out


def _on_distinct(s: pd.Series, fn) -> pd.Series:
    """The element-wise Series function ``fn`` applied to the distinct non-missing values of
    ``s`` only and spread back (missing stays None): a code column of millions of rows has
    a handful of distinct values, so the string operations in ``fn`` cost nothing."""
    s = s.reset_index(drop=True)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object), dtype="object")
    none = np.array([None], dtype=object)
    vals = np.concatenate([fn(u).to_numpy(dtype=object), none]) if len(u) else none
    return pd.Series(vals[np.where(codes < 0, len(uniques), codes)], dtype="object")


def _lpr3_type(s: pd.Series) -> pd.Series:
    return _on_distinct(s, _lpr3_type_rows)


def _lpr3_type_rows(s: pd.Series) -> pd.Series:
    t = _code_text(s).str.upper()
    out = t.map({"ALCA00": "physical", "ALCA03": "virtual"})
    # another ALCA code (not a physical attendance) or a word the schema accepts
    other = t.notna() & out.isna()
    out[other & t.str.startswith("ALCA")] = "other"
    keep = other & ~t.str.startswith("ALCA")
    out[keep] = _code_text(s)[keep]
    return out


def _cause(s: pd.Series, lpr2: bool) -> pd.Series:
    return _on_distinct(s, lambda u: _cause_rows(u, lpr2))


def _cause_rows(s: pd.Series, lpr2: bool) -> pd.Series:
    t = _code_text(s)
    if lpr2:
        return t.map(lambda v: None if v is None else LPR2_KONTAARS.get(v, "other"))
    up = t.str.upper()
    known = up.isin(["ALCC01", "ALCC02", "ALCC03", "ALCC04"])
    return up.where(known, t.where(t.isna() | ~up.str.startswith("ALCC"), "other"))


# ----------------------------------------------------------------------------------------
# the layouts
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Column variants (normalised) of one register layout."""

    name: str
    contact_key: tuple[str, ...]
    start_date: tuple[str, ...]
    start_time: tuple[str, ...]
    start_minute: tuple[str, ...]
    end_date: tuple[str, ...]
    end_time: tuple[str, ...]
    end_minute: tuple[str, ...]
    time_unit: str
    copy: dict[str, tuple[str, ...]]  # canonical column -> variants copied as they are
    diag_key: tuple[str, ...]
    diag_code: tuple[str, ...]
    diag_type: tuple[str, ...]
    diag_disproved: tuple[str, ...] = ()
    person: tuple[str, ...] = field(default=CPR_ALIASES + ("person_id", "cpr_encrypted"))


LAYOUTS: dict[str, Layout] = {
    "lpr3": Layout(
        "lpr3",
        contact_key=("dw_ek_kontakt",),
        start_date=("dato_start",),
        start_time=("tidspunkt_start",),
        start_minute=(),
        end_date=("dato_slut",),
        end_time=("tidspunkt_slut",),
        end_minute=(),
        time_unit="seconds",
        copy={
            "acute": ("prioritet",),
            "diagnosis": ("aktionsdiagnose",),
            "hospital": ("sorenhed_ans",),
            "contact_type": ("kontakttype",),
            "contact_cause": ("kontaktaarsag",),
            "specialty": ("hovedspeciale_ans",),
            "episode_id": ("dw_ek_forloeb",),
        },
        diag_key=("dw_ek_kontakt",),
        diag_code=("diagnosekode",),
        diag_type=("diagnosetype",),
        diag_disproved=("senere_afkraeftet",),
    ),
    "lpr2": Layout(
        "lpr2",
        contact_key=("recnum", "k_recnum", "v_recnum"),
        start_date=("d_inddto",),
        start_time=("v_indtime",),
        start_minute=("v_indminut",),
        end_date=("d_uddto",),
        end_time=("v_udtime",),
        end_minute=("v_udminut",),
        time_unit="hours",
        copy={
            "acute": ("c_indm",),
            "diagnosis": ("c_adiag",),
            "hospital": ("c_sgh",),
            "contact_type": ("c_pattype",),
            "contact_cause": ("c_kontaars",),
            "specialty": ("c_spec",),
        },
        diag_key=("recnum", "k_recnum", "v_recnum"),
        diag_code=("c_diag",),
        diag_type=("c_diagtype",),
    ),
}

REQUIRED = ("contact_key", "start_date", "end_date")


def _find(header: list[str], variants: tuple[str, ...]) -> int | None:
    norm = [normalise_name(h) for h in header]
    for v in variants:
        if v in norm:
            return norm.index(v)
    return None


def _open_any(path: Path, label: str, known: set[str], batch_rows: int):
    from nsv_eval.ingest.readers import open_reader

    return open_reader(path, label, known, batch_rows)


def _layout_names(lay: Layout) -> set[str]:
    names: set[str] = set(lay.person)
    for f in ("contact_key", "start_date", "start_time", "start_minute", "end_date", "end_time",
              "end_minute", "diag_key", "diag_code", "diag_type", "diag_disproved"):  # fmt: skip
        names |= set(getattr(lay, f))
    for v in lay.copy.values():
        names |= set(v)
    return names


class ActionDiagnoses:
    """Action diagnoses (type A, not later disproved) by contact key, held in DuckDB.

    A national ``diagnoser`` table has tens of millions of rows; it is loaded batch by batch
    into a DuckDB database in a temporary folder (which spills to disk), not into a Python
    mapping, and each batch of contacts is joined against it (:meth:`lookup`). The first
    action diagnosis of a contact in file order wins; a later *different* code of the same
    contact is counted as a duplicate (a repeat of the same code is not).

    Attributes
    ----------
    counts : dict
        ``rows``, ``action`` (contacts with an action diagnosis), ``disproved``,
        ``duplicates`` for the ingest notes.
    """

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="nsv-diagnoser-")
        self.con = duckdb.connect(str(Path(self._dir) / "diagnoser.duckdb"))
        self.con.execute(f"SET temp_directory = '{self._dir}'")
        self.con.execute("CREATE TABLE raw_a (seq BIGINT, key VARCHAR, code VARCHAR)")
        self.con.execute("CREATE TABLE raw_d (key VARCHAR)")
        self._seq = 0
        self.counts = {"rows": 0, "action": 0, "disproved": 0, "duplicates": 0}
        self._finalizer = weakref.finalize(self, _drop_database, self.con, self._dir)

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("_batch", frame)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _batch")
        finally:
            self.con.unregister("_batch")

    def add(self, key: pd.Series, code: pd.Series, disproved_key: pd.Series) -> None:
        """Append a batch's action diagnoses (key, code) and its disproved keys."""
        n = len(key)
        self._insert(
            "raw_a",
            pd.DataFrame(
                {
                    "seq": np.arange(self._seq, self._seq + n, dtype=np.int64),
                    "key": _as_text(key),
                    "code": _as_text(code),
                }
            ),
        )
        self._seq += n
        if len(disproved_key):
            self._insert("raw_d", pd.DataFrame({"key": _as_text(disproved_key)}))

    def finish(self) -> ActionDiagnoses:
        """Keep the first code per contact, count duplicates; disproved = disproved keys
        without a kept action diagnosis."""
        c = self.con
        c.execute(
            "CREATE TABLE diag AS SELECT key, arg_min(code, seq) AS code FROM raw_a GROUP BY key"
        )
        dup = c.execute(
            "SELECT count(*) FROM raw_a r JOIN diag d ON r.key = d.key WHERE r.code <> d.code"
        ).fetchall()[0][0]
        c.execute(
            "CREATE TABLE disproved AS SELECT DISTINCT key FROM raw_d "
            "WHERE key NOT IN (SELECT key FROM diag)"
        )
        c.execute("DROP TABLE raw_a")
        c.execute("DROP TABLE raw_d")
        n = c.execute("SELECT count(*) FROM diag").fetchall()[0][0]
        self.counts["duplicates"] = int(dup)
        self.counts["action"] = int(n)
        return self

    def __len__(self) -> int:
        return self.counts["action"]

    def lookup(self, key: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Action diagnosis (object, None when there is none) and "disproved without a kept
        action diagnosis" (bool) for each contact key, in the order of ``key``."""
        n = len(key)
        b = pd.DataFrame({"i": np.arange(n, dtype=np.int64), "key": _as_text(key)})
        self.con.register("_keys", b)
        try:
            r = self.con.execute(
                "SELECT b.i, d.code, x.key IS NOT NULL AS dis FROM _keys b "
                "LEFT JOIN diag d ON b.key = d.key LEFT JOIN disproved x ON b.key = x.key "
                "ORDER BY b.i"
            ).fetch_df()
        finally:
            self.con.unregister("_keys")
        code = r["code"].astype("object").where(r["code"].notna(), None)
        return code.reset_index(drop=True), r["dis"].astype(bool).reset_index(drop=True)

    def close(self) -> None:
        """Close the database and remove its folder (also done when garbage-collected)."""
        self._finalizer()


def _drop_database(con: duckdb.DuckDBPyConnection, folder: str) -> None:
    con.close()
    shutil.rmtree(folder, ignore_errors=True)


def _as_text(s: pd.Series) -> pd.Series:
    """Values as Python strings (None for missing), for DuckDB's VARCHAR."""
    s = pd.Series(s, copy=False).reset_index(drop=True)
    return s.astype("object").where(s.notna(), None)


def read_action_diagnoses(
    paths: list[Path], lay: Layout, batch_rows: int = 500_000
) -> ActionDiagnoses:
    """Action diagnosis (type A, not later disproved) by contact key from diagnosis tables.

    The action-diagnosis rows of every batch go into DuckDB (:class:`ActionDiagnoses`), so
    a national ``diagnoser`` table is never held as a Python mapping; the contacts are
    joined against it batch by batch.

    Returns
    -------
    ActionDiagnoses
        The table to join against, with its counts (``rows``, ``action``, ``disproved``,
        ``duplicates``) for the ingest notes. A contact with two different action
        diagnoses keeps the first in file order (counted as ``duplicates``).

    Raises
    ------
    InputError
        A diagnosis file lacks its key, code or type column, or has lines that cannot be
        read (named with file and line: a diagnosis table is not quarantined row by row).
    """
    known = _layout_names(lay)
    out = ActionDiagnoses()
    counts = out.counts
    for p in paths:
        label = str(p)
        r = _open_any(Path(p), label, known, batch_rows)
        h = r.info.header
        ik, ic, it = _find(h, lay.diag_key), _find(h, lay.diag_code), _find(h, lay.diag_type)
        idp = _find(h, lay.diag_disproved) if lay.diag_disproved else None
        missing = [
            n for n, i in (("contact key", ik), ("diagnosis code", ic), ("diagnosis type", it))
            if i is None
        ]  # fmt: skip
        if missing:
            out.close()
            want = {
                "contact key": lay.diag_key, "diagnosis code": lay.diag_code,
                "diagnosis type": lay.diag_type,
            }  # fmt: skip
            raise InputError(
                f"{label}: not a {lay.name} diagnosis table: no "
                + "; ".join(f"{m} column ({'/'.join(want[m])})" for m in missing)
                + f". The file's columns are: {', '.join(h)}."
            )
        for batch in r.batches():
            if batch.malformed:
                out.close()
                row, _text, why = batch.malformed[0]
                raise InputError(
                    f"{label}: {len(batch.malformed)} line(s) cannot be read, e.g. line {row} "
                    f"({why}); a diagnosis table must be complete."
                )
            f = batch.frame
            counts["rows"] += len(f)
            key = _code_text(f[ik])
            typ = _code_text(f[it]).str.upper()
            code = _code_text(f[ic])
            a = (typ == "A").to_numpy() & key.notna().to_numpy() & code.notna().to_numpy()
            dis_key = key[:0]
            if idp is not None:
                dis = _code_text(f[idp]).str.lower().isin(DISPROVED_TOKENS).to_numpy()
                counts["disproved"] += int((a & dis).sum())
                dis_key = key[a & dis]
                a &= ~dis
            out.add(key[a], code[a], dis_key)
    return out.finish()


def _day_text(s: pd.Series) -> pd.Series:
    """The date part of combined date-times (typed or text) as text, for comparisons."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.dt.strftime("%Y-%m-%d").astype("object")
    return s.astype("string").str.slice(0, 10).astype("object")


class LayoutSource:
    """One contacts table of an LPR layout, readable by ingest like a file.

    ``open(known, batch_rows)`` returns a reader whose header is the canonical admissions
    columns (plus the file's own person column, e.g. ``PNR``, so that the mapping and the
    pseudonymised-key option decide whether it is a CPR number or a pseudonym) and whose
    batches carry the contacts file's row numbers.
    """

    def __init__(self, path: Path, layout: str, diagnoses: list[Path]):
        self.path = Path(path)
        self.layout = LAYOUTS[layout]
        self.diagnoses = [Path(d) for d in diagnoses]

    def __str__(self) -> str:
        return str(self.path)

    def open(self, known: set[str], batch_rows: int) -> _LayoutReader:
        """Open the contacts table and read the diagnosis tables."""
        return _LayoutReader(self, known, batch_rows)


class _LayoutReader:
    def __init__(self, src: LayoutSource, known: set[str], batch_rows: int):
        lay = src.layout
        label = str(src.path)
        self.inner = _open_any(src.path, label, known | _layout_names(lay), batch_rows)
        self.lay = lay
        h = self.inner.info.header
        self.pos = {
            f: _find(h, getattr(lay, f))
            for f in (
                "contact_key",
                "start_date",
                "start_time",
                "start_minute",
                "end_date",
                "end_time",
                "end_minute",
            )  # fmt: skip
        }
        missing = [f for f in REQUIRED if self.pos[f] is None]
        if missing:
            raise InputError(
                f"{label}: not a {lay.name} contacts table: no "
                + ", ".join(f"{'/'.join(getattr(lay, f)).upper()}" for f in missing)
                + f" column. The file's columns are: {', '.join(h)}. "
                "(--format nsv reads the tidy layout; see nsv-eval schema admissions)"
            )
        self.copy = {c: _find(h, v) for c, v in lay.copy.items()}
        self.copy = {c: i for c, i in self.copy.items() if i is not None}
        self.person = _find(h, lay.person)
        if self.person is None:
            raise InputError(
                f"{label}: no person column ({', '.join(x.upper() for x in lay.person[:4])} "
                f"…). The file's columns are: {', '.join(h)}."
            )
        self.diag = read_action_diagnoses(src.diagnoses, lay) if src.diagnoses else None
        self.diag_counts = self.diag.counts if self.diag is not None else {}
        used = {self.person, *self.copy.values(), *(i for i in self.pos.values() if i is not None)}
        inner = self.inner.info
        self.info = SourceInfo(
            inner.path,
            inner.label,
            f"{inner.format}, {lay.name} layout",
            inner.encoding,
            inner.delimiter,
            inner.sheet,
            inner.header_row,
            list(h),
            list(inner.notes),
        )
        ign = [x for i, x in enumerate(h) if i not in used and x != ""]
        if ign:
            self.info.notes.append(f"{lay.name} columns not used: {', '.join(ign)}")
        if src.diagnoses:
            c = self.diag_counts
            self.info.notes.append(
                f"action diagnoses from {', '.join(p.name for p in src.diagnoses)}: "
                f"{c['rows']} diagnosis rows, {c['action']} contacts with an action diagnosis, "
                f"{c['disproved']} later disproved (senere_afkraeftet) left out, "
                f"{c['duplicates']} second action diagnoses of a contact ignored"
            )
        self.person_name = h[self.person]
        self.out_header = [
            "contact_id", self.person_name, "admit_time", "discharge_time", "acute",
            "diagnosis", "hospital", "contact_type", "contact_cause", "specialty", "episode_id",
        ]  # fmt: skip
        self.info.header = self.out_header  # what the ingest planner maps
        self.matched_diag = 0

    def batches(self) -> Iterator[Batch]:
        lay = self.lay
        p = self.pos
        for batch in self.inner.batches():
            f = batch.frame
            n = len(f)

            def col(i: int | None, f: pd.DataFrame = f) -> pd.Series | None:
                return None if i is None else f[i].reset_index(drop=True)

            key = _code_text(col(p["contact_key"]))
            # an all-digit key (LPR3 DW_EK_KONTAKT, LPR2 RECNUM) goes on as a number
            ks = key.astype("string")
            digits = ks.str.fullmatch(r"\d{1,18}").fillna(False).astype(bool)
            key_out = key
            if bool(digits.all()):
                arr = pa.array(ks.to_numpy(dtype=object, na_value=None), pa.string())
                key_out = pd.Series(arr.cast(pa.int64()).to_pandas(), dtype="Int64")
            start = combine_datetime(
                col(p["start_date"]), col(p["start_time"]), col(p["start_minute"]),
                numeric_unit=lay.time_unit,
            )  # fmt: skip
            end = combine_datetime(
                col(p["end_date"]), col(p["end_time"]), col(p["end_minute"]),
                numeric_unit=lay.time_unit,
            )  # fmt: skip
            if lay.name == "lpr2" and p["end_time"] is not None:
                # LPR2: a discharge without a time on the admission day means "same day";
                # midnight would put it before the admission, so it is the admission time.
                et = col(p["end_time"])
                no_time = _code_text(et).isna().to_numpy()
                same = (_day_text(start) == _day_text(end)).to_numpy(dtype=bool)
                fix = no_time & same & end.notna().to_numpy() & start.notna().to_numpy()
                end = end.where(~fix, start)
            out = pd.DataFrame(index=range(n))
            out[0] = key_out
            out[1] = col(self.person)
            out[2] = start
            out[3] = end
            out[4] = col(self.copy.get("acute"))
            diag = col(self.copy.get("diagnosis"))
            diag = _code_text(diag) if diag is not None else pd.Series([None] * n, dtype="object")
            if self.diag is not None and len(self.diag):
                joined, disproved = self.diag.lookup(key)
                self.matched_diag += int(joined.notna().sum())
                if lay.name == "lpr3":
                    # diagnoser is the register's own record of the action diagnosis and
                    # carries senere_afkraeftet: it wins over kontakter.aktionsdiagnose
                    dis = diag.notna() & joined.isna() & disproved
                    diag = joined.where(joined.notna(), diag.where(~dis))
                else:
                    diag = diag.where(diag.notna(), joined)
            out[5] = diag
            out[6] = col(self.copy.get("hospital"))
            ct = col(self.copy.get("contact_type"))
            if ct is None:
                out[7] = None
            elif lay.name == "lpr2":
                t = _code_text(ct)
                out[7] = t.map(lambda v: None if v is None else LPR2_PATTYPE.get(v, v))
            else:
                out[7] = _lpr3_type(ct)
            cc = col(self.copy.get("contact_cause"))
            out[8] = None if cc is None else _cause(cc, lay.name == "lpr2")
            sp = col(self.copy.get("specialty"))
            out[9] = None if sp is None else _code_text(sp)
            ep = col(self.copy.get("episode_id"))
            out[10] = None if ep is None else _code_text(ep)
            yield Batch(out, batch.rows, batch.malformed, batch.blank)


def sources_for(kind: str, paths: list, fmt: str) -> list:
    """Turn the admissions files of an LPR layout into :class:`LayoutSource` objects.

    Contacts and diagnosis tables are told apart by their register name
    (:data:`FILE_STEMS`) or, failing that, by their columns (a table with a diagnosis code
    column and no start date is a diagnosis table). Every contacts table is joined with all
    diagnosis tables given. Other kinds and the ``nsv`` layout pass through unchanged.

    Raises
    ------
    InputError
        Unknown format, or an LPR layout with diagnosis tables but no contacts table.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if fmt == "nsv" or kind not in ("admissions", "contacts"):
        return list(paths)
    lay = LAYOUTS[fmt]
    contacts: list[Path] = []
    diags: list[Path] = []
    for p in paths:
        if isinstance(p, LayoutSource):
            return list(paths)
        path = Path(p)
        role = table_of(path, fmt)
        if role is None:
            try:
                r = _open_any(path, str(path), _layout_names(lay), 1000)
                h = r.info.header
                role = (
                    "diagnoses"
                    if _find(h, lay.diag_code) is not None and _find(h, lay.start_date) is None
                    else "contacts"
                )
            except InputError:
                role = "contacts"  # ingest reports the unreadable file itself
        (diags if role == "diagnoses" else contacts).append(path)
    if not contacts:
        raise InputError(
            f"{fmt}: diagnosis table(s) {', '.join(map(str, diags))} given without a contacts "
            f"table ({'/'.join(FILE_STEMS[fmt]['contacts'][:3])} …)."
        )
    out = []
    for c in contacts:
        s = LayoutSource(c, fmt, diags)
        out.append(s)
    return out


def layout_text(fmt: str) -> str:
    """Plain-words data dictionary of an LPR layout (``nsv-eval schema --format lpr3``)."""
    if fmt not in LAYOUTS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(LAYOUTS)}.")
    lay = LAYOUTS[fmt]
    stems = FILE_STEMS[fmt]

    def v(names: tuple[str, ...]) -> str:
        return "/".join(x.upper() for x in names) if names else "-"

    lines = [
        f"Layout {fmt}: hospital contacts as the patient register delivers them.",
        "",
        f"Contacts table (file named {', '.join(stems['contacts'][:4])} …; .csv, .xlsx, "
        ".parquet or .sas7bdat):",
        f"  {v(lay.contact_key):<28} contact key (joins the diagnosis table)  [required]",
        f"  {'CPR/PNR/V_CPR/CPR_ENCRYPTED':<28} person: a CPR number (pseudonymised at the door) "
        "or, with --pseudonymised-key PNR, a pseudonym kept as it is  [required]",
        f"  {v(lay.start_date):<28} start date (2023-03-01, 20230301, 01-03-2023, 01MAR2023)  "
        "[required]",
        f"  {v(lay.start_time + lay.start_minute):<28} start time (14:05, 14:05:00, "
        + ("hour + minute" if fmt == "lpr2" else "SAS time in seconds")
        + "; empty = 00:00)",
        f"  {v(lay.end_date):<28} end date  [required]",
        f"  {v(lay.end_time + lay.end_minute):<28} end time",
        f"  {v(lay.copy['acute']):<28} priority: "
        + ("1 akut, 2 planlagt" if fmt == "lpr2" else "ATA1 akut, ATA3 planlagt")
        + "  [required]",
        f"  {v(lay.copy['diagnosis']):<28} action diagnosis (ICD-10, SKS style DJ189)",
        f"  {v(lay.copy['contact_type']):<28} "
        + (
            "patient type: 0 indlagt, 1 ambulant, 2 skadestue, 3 deldøgn"
            if fmt == "lpr2"
            else "contact type: ALCA00 fysisk fremmøde, ALCA03 virtuel kontakt"
        ),
        f"  {v(lay.copy['contact_cause']):<28} contact cause: "
        + (
            "1 sygdom, 2 ulykke, 3 vold, 4 selvmordsforsøg (others: other)"
            if fmt == "lpr2"
            else "ALCC01 sygdom, ALCC02 ulykke, ALCC03 vold, ALCC04 selvmordsforsøg/selvskade"
        ),
        f"  {v(lay.copy['specialty']):<28} specialty of the responsible unit (psychiatry → "
        "not somatic)",
        f"  {v(lay.copy['hospital']):<28} hospital / unit",
        "",
        f"Diagnosis table (file named {', '.join(stems['diagnoses'][:4])} …):",
        f"  {v(lay.diag_key):<28} contact key",
        f"  {v(lay.diag_code):<28} diagnosis code",
        f"  {v(lay.diag_type):<28} diagnosis type: A = action diagnosis (used), B, H, … ignored",
    ]
    if lay.diag_disproved:
        lines.append(
            f"  {v(lay.diag_disproved):<28} Ja = later disproved (left out; a contact whose "
            "only action diagnosis was disproved is quarantined as missing_value)"
        )
    lines += [
        "",
        "The action diagnosis comes from the diagnosis table (type A) and otherwise from the "
        "contacts table. Every contact is validated like the tidy admissions kind "
        "(nsv-eval schema admissions); rejected rows go to rejects-admissions.csv with the "
        "contacts file's row number.",
    ]
    return "\n".join(lines)


DECLARED_PSEUDONYM_MAX_CPR_SHARE = 0.5
"""Largest share of distinct values of a column declared pseudonymised
(``--pseudonymised-key``) that may be valid CPR numbers. Random 10-digit pseudonyms are
valid CPR numbers by chance only a few per cent of the time (day 01-31, month 01-12, a
birth date in the past); a column where most are is real CPR numbers declared by mistake,
and is refused rather than written unhashed."""


def check_declared_pseudonym(values: pd.Series, where: str, column: str) -> None:
    """Refuse a declared pseudonym column that holds real CPR numbers.

    Raises
    ------
    InputError
        More than :data:`DECLARED_PSEUDONYM_MAX_CPR_SHARE` of the distinct values are valid
        CPR numbers (the message shows no value).
    """
    from stdnum.dk import cpr as stdnum_cpr

    u = pd.unique(values.dropna().astype(str).str.strip())
    if len(u) == 0:
        return
    sample = u[:5000]
    valid = sum(1 for v in sample if stdnum_cpr.is_valid(v))
    if valid / len(sample) > DECLARED_PSEUDONYM_MAX_CPR_SHARE:
        raise InputError(
            f"{where}: column {column!r} was declared already pseudonymised "
            f"(--pseudonymised-key), but {valid} of {len(sample)} distinct values are valid CPR "
            "numbers. Real CPR numbers must be pseudonymised at the door: drop "
            "--pseudonymised-key for this extract."
        )
