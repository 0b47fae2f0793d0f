"""Vectorised parsing and validation of one batch of rows (Danish conventions).

Every parser takes a pandas Series as read (text from CSV, typed values from Excel or
Parquet) and returns the parsed values plus an object array of reject reason codes
(``None`` = fine). Text is parsed on the *distinct* values of a batch (``pd.factorize``),
so dates, codes and categories cost in proportion to their number of distinct values, not
rows. No parser loops over rows in Python, except the CPR check, which loops over distinct
CPR numbers (see :mod:`nsv_eval.ingest.cpr`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nsv_eval.errors import InputError
from nsv_eval.ingest.cpr import (
    CPR_LETTER_SHAPE,
    CPR_LOST_ZERO_SHAPE,
    CPR_SHAPE,
    find_cpr_series,
    mask_cpr_series,
    mask_cpr_value,
    process_cpr,
    require_key,
)
from nsv_eval.ingest.schemas import REASONS, Column, Schema, normalise_token
from nsv_eval.reference import EDUCATION_LEVELS, kommuner, normalise_icd10

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", ".", "<na>", "nat"})

# "no reason" in np.where(bad, "reason_code", _NO_REASON): a 0-d object array, which numpy's
# type stubs accept where they do not accept a bare None (the result is the same object array)
_NO_REASON = np.array(None, dtype=object)

_TRUE = {"1", "ja", "j", "true", "t", "yes", "y", "sand", "x"}
_FALSE = {"0", "nej", "n", "false", "f", "no", "falsk"}
# LPR3 prioritet: ATA1 akut, ATA3 planlagt (see nsv_eval.ingest.layouts for the sources)
_ACUTE_TRUE = _TRUE | {"akut", "a", "ata1"}
_ACUTE_FALSE = _FALSE | {"2", "planlagt", "p", "elektiv", "ikke_akut", "ata3"}

_SEX = {
    "m": "M",
    "mand": "M",
    "maend": "M",
    "male": "M",
    "dreng": "M",
    "1": "M",
    "f": "F",
    "k": "F",
    "kvinde": "F",
    "kvinder": "F",
    "female": "F",
    "pige": "F",
    "2": "F",
}

# Only labels that map to exactly one level (reference.EDUCATION_LEVELS): note that DST's
# "korte videregående uddannelser" (KVU, ISCED 5) belong to *mellemlang*, while
# Sundhedsprofilen's "kort uddannelse" (upper secondary/vocational) is *kort*.
_EDUCATION = {
    **{lvl: lvl for lvl in EDUCATION_LEVELS},
    "grundskole": "grundskole",
    "grundskoleuddannelse": "grundskole",
    "folkeskole": "grundskole",
    "h10_grundskole": "grundskole",
    "isced_0_2": "grundskole",
    "kort_uddannelse": "kort",
    "gymnasial": "kort",
    "gymnasiale_uddannelser": "kort",
    "gymnasial_uddannelse": "kort",
    "erhvervsfaglig": "kort",
    "erhvervsfaglige_uddannelser": "kort",
    "erhvervsfaglig_uddannelse": "kort",
    "erhvervsuddannelse": "kort",
    "ungdomsuddannelse": "kort",
    "isced_3_4": "kort",
    "mellemlang_uddannelse": "mellemlang",
    "kort_videregaaende": "mellemlang",
    "kort_videregaaende_uddannelse": "mellemlang",
    "korte_videregaaende_uddannelser": "mellemlang",
    "mellemlang_videregaaende": "mellemlang",
    "mellemlang_videregaaende_uddannelse": "mellemlang",
    "mellemlange_videregaaende_uddannelser": "mellemlang",
    "kvu": "mellemlang",
    "mvu": "mellemlang",
    "bachelor": "mellemlang",
    "professionsbachelor": "mellemlang",
    "isced_5_6": "mellemlang",
    "lang_uddannelse": "lang",
    "lang_videregaaende": "lang",
    "lang_videregaaende_uddannelse": "lang",
    "lange_videregaaende_uddannelser": "lang",
    "lvu": "lang",
    "kandidat": "lang",
    "phd": "lang",
    "ph_d": "lang",
    "forskeruddannelse": "lang",
    "forskeruddannelser": "lang",
    "isced_7_8": "lang",
}

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan",),
            ("feb",),
            ("mar",),
            ("apr",),
            ("may", "maj"),
            ("jun",),
            ("jul",),
            ("aug",),
            ("sep",),
            ("oct", "okt"),
            ("nov",),
            ("dec",),
        ]
    )
    for m in names
}

# a time after the date: "T14:30", " 14:30", " kl. 14.30" (Danish "klokken")
_TIME = (
    r"(?:(?:T|\s+(?:kl\.?\s*)?)(?P<hour>\d{1,2})[:.](?P<minute>\d{2})"
    r"(?:[:.](?P<second>\d{2})(?:\.\d+)?)?)?$"
)
_RE_ISO = r"^(?P<year>\d{4})(?P<s1>[-/.])(?P<month>\d{1,2})(?P<s2>[-/.])(?P<day>\d{1,2})" + _TIME
_RE_DMY = r"^(?P<day>\d{1,2})(?P<s1>[-./])(?P<month>\d{1,2})(?P<s2>[-./])(?P<year>\d{4})" + _TIME
# yyyymmdd (SAS/registers' YYMMDDN8., e.g. 20200115), optionally with a time; the year must
# start 18, 19, 20 or 21, so it is never confused with a ddmmyyyy value
_RE_COMPACT = r"^(?P<year>(?:18|19|20|21)\d{2})(?P<month>\d{2})(?P<day>\d{2})" + _TIME
# Excel serial day numbers (days since 1899-12-30, fraction = time of day), as a CSV export
# or an unformatted cell shows them; only five-digit serials up to 73050 (1927-05-18 ...
# 2099-12-31) are read, so that a year (2020), a postal code (4400) or another small number
# is never taken for a date (earlier dates must be written as dates)
_RE_SERIAL = r"^(?P<serial>\d{5})(?:[.,](?P<frac>\d+))?$"
EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "s")
SERIAL_RANGE = (10000, 73050)
# SAS DATE9./DATETIME formats, common in register extracts: 15MAR2020, 15MAR2020:14:30:00
_RE_SAS = (
    r"^(?P<day>\d{1,2})(?P<mon>[A-Za-z]{3})(?P<year>\d{4})"
    r"(?::(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?$"
)


def _arrow_text(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Text Series as an Arrow string array (no copy for pandas' Arrow-backed strings)."""
    if s.dtype == object or not pd.api.types.is_string_dtype(s.dtype):
        # an object column may hold other things than text: a yes/no Parquet column with a
        # NULL reaches pandas as object True/False/None (is_string_dtype(object) is True)
        s = s.astype("string")
    return pa.array(s, type=pa.string(), from_pandas=True)


def fullmatch(s: pd.Series, pattern: str) -> np.ndarray:
    """Boolean array: does each (text) value match the anchored regex ``pattern``?

    Uses pyarrow's RE2 directly (pandas falls back to a Python loop for some patterns).
    """
    pat = pattern if pattern.startswith("^") else f"^(?:{pattern})$"
    m = pc.fill_null(pc.match_substring_regex(_arrow_text(s), pat), False)
    return np.asarray(m.to_numpy(zero_copy_only=False), dtype=bool)


_MISSING_SET = pa.array(sorted(MISSING_TOKENS))


def is_missing(s: pd.Series) -> np.ndarray:
    """Boolean array: value is missing (null, empty, or a token such as NA, NULL, '.')."""
    miss = np.array(s.isna(), dtype=bool)
    if _is_textual(s):
        t = pc.utf8_lower(pc.utf8_trim_whitespace(_arrow_text(s)))
        tok = pc.fill_null(pc.is_in(t, value_set=_MISSING_SET), True)
        miss |= np.asarray(tok.to_numpy(zero_copy_only=False), dtype=bool)
    return miss


def _is_textual(s: pd.Series) -> bool:
    return (
        pd.api.types.is_string_dtype(s.dtype)
        or s.dtype == object
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _to_text(s: pd.Series) -> pd.Series:
    """Any Series as stripped text; whole floats lose their '.0'."""
    if _is_numeric(s):
        f = pd.to_numeric(s, errors="coerce")
        if pd.api.types.is_float_dtype(f.dtype):
            whole = f.notna() & (f == np.floor(f))
            out = f.astype("string")
            out[whole] = f[whole].astype("int64").astype("string")
            return out
        return f.astype("string")
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Int64").astype("string")
    return s.astype("string").str.strip()


def _on_unique(
    text: pd.Series, fn: Callable[[pd.Series], tuple[pd.Series, np.ndarray]]
) -> tuple[pd.Series, np.ndarray]:
    """Apply ``fn`` to the distinct values of ``text`` and spread the result to all rows."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    u = pd.Series(uniques, dtype="string")
    vals, reasons = fn(u)
    vals = pd.Series(vals).reset_index(drop=True)
    take = np.where(codes < 0, 0, codes)
    if len(u) == 0:
        return pd.Series([pd.NA] * len(text), index=text.index, dtype="object"), np.full(
            len(text), None, dtype=object
        )
    out = vals.take(take).reset_index(drop=True)
    out.index = text.index
    if (codes < 0).any() and pd.api.types.is_bool_dtype(out.dtype):
        out = out.astype("object")  # a bool column cannot hold the missing values (pandas 3)
    out[codes < 0] = None
    r = np.asarray(reasons, dtype=object)[take]
    r[codes < 0] = None
    return out, r


# ----------------------------------------------------------------------------------------
# numbers
# ----------------------------------------------------------------------------------------


def _parse_number_text(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    t = u.str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    conv = pd.Series(pd.NA, index=t.index, dtype="string")
    dk_thousands = t.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?").fillna(False)
    dk = t.str.fullmatch(r"[+-]?\d+(?:,\d+)?").fillna(False)
    point = t.str.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?").fillna(False)
    conv[point] = t[point]
    conv[dk] = t[dk].str.replace(",", ".", regex=False)
    conv[dk_thousands] = (
        t[dk_thousands].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    )
    num = pd.to_numeric(conv, errors="coerce").astype("float64")
    reasons = np.where(num.isna().to_numpy(), "bad_number", _NO_REASON).astype(object)
    return num, reasons


def parse_number(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse numbers: typed numbers as they are; text in Danish or plain notation.

    Text rules: spaces are ignored; ``1.234,5`` (thousands '.' in groups of three and
    decimal comma), ``12,5`` (decimal comma), ``12.5`` and ``1e3`` (decimal point) are
    accepted; ``1.234`` is read the Danish way, as 1234. Anything else is ``bad_number``.

    Returns
    -------
    tuple
        float64 Series (NaN where missing or bad) and reason codes.
    """
    if _is_numeric(s) or pd.api.types.is_bool_dtype(s.dtype):
        v = pd.to_numeric(s, errors="coerce").astype("float64")
        return v, np.full(len(s), None, dtype=object)
    text = s.astype("string").str.strip()
    text = text.str.replace(r"^(\d+)\s*(?:år|aar)\b.*$", r"\1", regex=True)
    v, r = _on_unique(text, _parse_number_text)
    return pd.to_numeric(v, errors="coerce").astype("float64"), r


def _check_range(v: pd.Series, col: Column, reasons: np.ndarray) -> None:
    arr = v.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = pd.isna(reasons)
        if col.type == "count":
            reasons[ok & (arr < 0)] = "negative_count"
            ok = pd.isna(reasons)
        if col.lo is not None:
            below = (arr <= col.lo) if col.lo_exclusive else (arr < col.lo)
            reasons[ok & below] = "out_of_range"
        if col.hi is not None:
            reasons[ok & (arr > col.hi)] = "out_of_range"


def parse_int(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Whole numbers (``year`` also accepts DST's ``2021K1``), with the column's range.

    A number of 9-10 digits that is a CPR number (``0101501235`` as a number, leading zero
    lost) is ``cpr_in_text``.
    """
    if col.type == "year" and _is_textual(s):
        s = s.astype("string").str.strip().str.replace(r"^(\d{4})K1$", r"\1", regex=True)
    v, r = parse_number(s)
    frac = v.notna() & (v != np.floor(v))
    r = r.copy()
    r[frac.to_numpy() & pd.isna(r)] = "bad_number"
    _check_range(v, col, r)
    # a whole number of 9-10 digits that reads as a CPR number (a mis-mapped CPR column,
    # or one that lost its leading zero) is never kept: nsv-eval audit would flag it
    arr = v.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        big = (arr >= 1e8) & (arr < 1e10) & ~frac.to_numpy() & pd.isna(r)
    if big.any():
        txt = pd.Series(arr[big]).astype("int64").astype("string").str.zfill(10)
        hit = np.zeros(len(arr), dtype=bool)
        hit[big] = find_cpr_series(txt)
        r[hit] = "cpr_in_text"
    out = v.where(~frac).round().astype("Int64")
    return out, r


def parse_float(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Decimal numbers with the column's plausible range."""
    v, r = parse_number(s)
    r = r.copy()
    _check_range(v, col, r)
    return v, r


# ----------------------------------------------------------------------------------------
# dates
# ----------------------------------------------------------------------------------------


def _compose(p: dict[str, np.ndarray]) -> np.ndarray:
    """datetime64[s] from float arrays year, month, day[, hour, minute, second]; NaT if invalid.

    Pure numpy: month arithmetic on datetime64[M], then days; a day beyond the month's
    end (31-02) shows up as a change of month and is invalid.
    """
    y, mo, d = p["year"], p["month"], p["day"]
    h, mi, sec = (
        np.nan_to_num(p.get(k, np.zeros_like(y)), nan=0.0) for k in ("hour", "minute", "second")
    )
    with np.errstate(invalid="ignore"):
        bad = (
            np.isnan(y)
            | np.isnan(mo)
            | np.isnan(d)
            | (mo < 1)
            | (mo > 12)
            | (d < 1)
            | (d > 31)
            | (h > 23)
            | (mi > 59)
            | (sec > 59)
        )
    yy, mm, dd = (
        np.where(bad, fill, v).astype("int64") for v, fill in ((y, 2000), (mo, 1), (d, 1))
    )
    months = ((yy - 1970) * 12 + (mm - 1)).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + (dd - 1).astype("timedelta64[D]")
    bad |= days.astype("datetime64[M]") != months
    secs = (np.where(bad, 0, h) * 3600 + np.where(bad, 0, mi) * 60 + np.where(bad, 0, sec)).astype(
        "int64"
    )
    out = days.astype("datetime64[s]") + secs.astype("timedelta64[s]")
    out[bad] = np.datetime64("NaT")
    return out


def _extract(
    arr: pa.Array, pattern: str
) -> tuple[np.ndarray, dict[str, np.ndarray], pa.StructArray]:
    """Vectorised named-group regex extraction with pyarrow (RE2): matched mask, numbers."""
    st = pc.extract_regex(arr, pattern)
    matched = np.asarray(st.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    nums: dict[str, np.ndarray] = {}
    for f in st.type:
        if f.name in ("s1", "s2", "mon"):
            continue
        v = pc.struct_field(st, f.name)
        v = pc.if_else(pc.equal(v, ""), pa.scalar(None, pa.string()), v)
        nums[f.name] = pc.cast(v, pa.float64()).to_numpy(zero_copy_only=False)
    return matched, nums, st


def _parse_serial(arr: pa.Array) -> np.ndarray:
    """Excel serial day numbers → datetime64[s] (NaT where not a serial in range)."""
    st = pc.extract_regex(arr, _RE_SERIAL)
    matched = np.asarray(st.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    out = np.full(len(arr), np.datetime64("NaT"), dtype="datetime64[s]")
    if not matched.any():
        return out
    whole = pc.cast(
        pc.if_else(st.is_valid(), pc.struct_field(st, "serial"), pa.scalar("0")), pa.float64()
    ).to_numpy(zero_copy_only=False)
    frac_t = pc.struct_field(st, "frac")
    frac_t = pc.if_else(pc.equal(pc.fill_null(frac_t, ""), ""), pa.scalar("0"), frac_t)
    frac = pc.cast(pc.binary_join_element_wise("0.", frac_t, ""), pa.float64()).to_numpy(
        zero_copy_only=False
    )
    ok = matched & (whole >= SERIAL_RANGE[0]) & (whole <= SERIAL_RANGE[1])
    secs = np.round((whole + np.nan_to_num(frac)) * 86400.0)
    out[ok] = EXCEL_EPOCH + secs[ok].astype("int64").astype("timedelta64[s]")
    return out


def _parse_date_text(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    arr = _arrow_text(u)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    out = np.full(len(u), np.datetime64("NaT"), dtype="datetime64[s]")
    for pattern in (_RE_ISO, _RE_DMY, _RE_SAS, _RE_COMPACT):
        matched, nums, st = _extract(arr, pattern)
        if not matched.any():
            continue
        if pattern is _RE_SAS:
            mon = pd.Series(pc.struct_field(st, "mon").to_pandas()).str.lower().map(_MONTHS)
            nums["month"] = mon.to_numpy(dtype="float64", na_value=np.nan)
        elif pattern is not _RE_COMPACT:  # the two date separators must agree (15-03.2020)
            same = pc.equal(pc.struct_field(st, "s1"), pc.struct_field(st, "s2"))
            matched &= np.asarray(
                pc.fill_null(same, False).to_numpy(zero_copy_only=False), dtype=bool
            )
        comp = _compose(nums)
        take = matched & np.isnat(out)
        out[take] = comp[take]
    serial = _parse_serial(arr)
    take = np.isnat(out) & ~np.isnat(serial)
    out[take] = serial[take]
    res = pd.Series(out, index=u.index)
    reasons = np.where(np.isnat(out), "bad_date", _NO_REASON).astype(object)
    return res, reasons


def parse_datetime(
    s: pd.Series, col: Column, *, date_only: bool, not_after: dt.date | None = None
) -> tuple[pd.Series, np.ndarray]:
    """Parse dates or date-times, each value by its own format.

    Accepted text: ``dd-mm-yyyy``, ``dd.mm.yyyy``, ``dd/mm/yyyy``, ``yyyy-mm-dd`` (also with
    ``/`` or ``.``), ``yyyymmdd`` and SAS ``15MAR2020``, each optionally followed by a time
    ``HH:MM[:SS]`` or ``kl. HH:MM`` / ``kl. HH.MM``; and Excel serial day numbers
    (five digits up to 73050, i.e. 1927-05-18 to 2099-12-31, with a fraction for the time
    of day), as a CSV export or an unformatted Excel cell holds them. Two-digit years, impossible dates (31-02-2020)
    and anything else are ``bad_date``; years before the column's lower limit are
    ``out_of_range``; dates after ``not_after`` (the extract date, default today) are
    ``future_date`` unless the column is a planned date (``col.planned``). Typed timestamps
    with a time zone are converted to Danish local time.

    Returns
    -------
    tuple
        datetime64[s] Series (midnight for ``date_only``) and reason codes.
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        v = s
        if getattr(v.dt, "tz", None) is not None:
            v = v.dt.tz_convert("Europe/Copenhagen").dt.tz_localize(None)
        v = v.astype("datetime64[s]")
        r = np.full(len(s), None, dtype=object)
    else:
        text = _to_text(s) if not _is_textual(s) else s.astype("string").str.strip()
        v, r = _on_unique(text, _parse_date_text)
        v = pd.to_datetime(v, errors="coerce").astype("datetime64[s]")
    if date_only:
        v = v.dt.floor("D")
    r = r.copy()
    ok = pd.isna(r)
    year = v.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    lo = col.lo if col.lo is not None else 1850
    r[ok & ((year < lo) | (year > 2100))] = "out_of_range"
    if not col.planned:
        limit = not_after if not_after is not None else dt.date.today()
        first_after = np.datetime64(limit, "s") + np.timedelta64(1, "D")
        with np.errstate(invalid="ignore"):
            later = v.to_numpy(dtype="datetime64[s]") >= first_after
        r[pd.isna(r) & later] = "future_date"
    return v, r


# ----------------------------------------------------------------------------------------
# codes and categories
# ----------------------------------------------------------------------------------------


def _map_tokens(
    s: pd.Series, table: Mapping[str, object], reason: str
) -> tuple[pd.Series, np.ndarray]:
    text = _to_text(s)

    def fn(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
        keys = pd.Series([normalise_token(x) for x in u], index=u.index, dtype="object")
        vals = keys.map(table)
        return vals, np.where(vals.isna().to_numpy(), reason, _NO_REASON).astype(object)

    return _on_unique(text, fn)


def parse_bool(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Yes/no values; for ``acute`` also LPR's indlæggelsesmåde (1 akut, 2 planlagt)."""
    acute = col.name == "acute"
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.full(len(s), None, dtype=object)
    true, false = (_ACUTE_TRUE, _ACUTE_FALSE) if acute else (_TRUE, _FALSE)
    table = {**dict.fromkeys(true, True), **dict.fromkeys(false, False)}
    v, r = _map_tokens(s, table, "unknown_category")
    return v.astype("boolean"), r


def parse_sex(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Sex as ``M``/``F`` from M/K/F, 1/2, mand/kvinde, Mænd/Kvinder, male/female."""
    v, r = _map_tokens(s, _SEX, "unknown_category")
    return v.astype("str"), r


def parse_education(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Education level (one of ``EDUCATION_LEVELS``) from the level names or DST labels."""
    v, r = _map_tokens(s, _EDUCATION, "unknown_category")
    return v.astype("str"), r


def parse_category(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """A fixed category (``col.categories``: normalised token → canonical value)."""
    assert col.categories is not None
    v, r = _map_tokens(s, col.categories, "unknown_category")
    return v.astype("str"), r


def _kommune_table() -> dict[str, int]:
    k = kommuner()
    table: dict[str, int] = {}
    for code, name in zip(k["kommune_code"], k["kommune_name"], strict=True):
        n = normalise_token(name)
        for key in (str(int(code)), n, f"{n}_kommune", f"{n}s_kommune"):
            table[key] = int(code)
    return table


def parse_kommune(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Kommune code (int) from a code (``101``, ``0101``) or a kommune name."""
    table = _kommune_table()
    text = _to_text(s).str.replace(r"^0+(?=\d)", "", regex=True)
    v, r = _map_tokens(text, table, "unknown_kommune")
    return pd.to_numeric(v, errors="coerce").astype("Int64"), r


def parse_icd10(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """ICD-10 action diagnosis in SKS style (``DJ189``); invalid codes → ``invalid_icd10``."""
    text = _to_text(s)

    def fn(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
        norm = normalise_icd10(u)
        return ("D" + norm).astype("str"), np.where(
            norm.isna().to_numpy(), "invalid_icd10", _NO_REASON
        ).astype(object)

    v, r = _on_unique(text, fn)
    return v.astype("str"), r


def parse_text(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Free text/code columns; a CPR number in them, whole or inside the text, is rejected.

    A whole value shaped like a CPR number (``CPR_SHAPE``, whatever its date) and any value
    in which :func:`~nsv_eval.ingest.cpr.find_cpr` finds one ("Overflyttet, pt.
    DDMMYY-SSSS", "CPR DDMMYY SSSS") get ``cpr_in_text``; the value is never kept.
    """
    text = _to_text(s)
    cpr_like = fullmatch(text, CPR_SHAPE) | fullmatch(text, CPR_LETTER_SHAPE)
    cpr_like |= find_cpr_series(text)
    r = np.where(cpr_like, "cpr_in_text", _NO_REASON).astype(object)
    return text.astype("str").where(~cpr_like), r


# ----------------------------------------------------------------------------------------
# a whole batch
# ----------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """Validated batch: typed values of kept rows and the rejected rows."""

    kept: pd.DataFrame
    rejects: pd.DataFrame
    n_read: int
    pseudonymised: int
    replacement: int = 0


class _Reasons:
    """First reject reason per row (columns are checked in schema order; the first wins)."""

    def __init__(self, n: int):
        self.codes = np.full(n, None, dtype=object)
        self.cols = np.full(n, None, dtype=object)
        self.free = np.ones(n, dtype=bool)

    def add(self, new: np.ndarray, column: str) -> None:
        """Record reason codes from an object array (``None`` = no problem)."""
        m = self.free & pd.notna(new)
        if m.any():
            self.codes[m] = new[m]
            self.cols[m] = column
            self.free[m] = False

    def flag(self, mask: np.ndarray, code: str, column: str) -> None:
        """Record ``code`` where ``mask`` is true."""
        m = self.free & mask
        if m.any():
            self.codes[m] = code
            self.cols[m] = column
            self.free[m] = False


def validate_batch(
    schema: Schema,
    raw: pd.DataFrame,
    rows: np.ndarray,
    *,
    source: str,
    key_getter: Callable[[], bytes | None],
    not_after: dt.date | None = None,
    declared_pseudonym: bool = False,
) -> BatchResult:
    """Parse and validate one batch of rows already renamed to canonical columns.

    Parameters
    ----------
    schema : Schema
        The kind's schema.
    raw : pandas.DataFrame
        Canonical columns present in the file (plus ``cpr`` if the file has CPR numbers),
        values as read.
    rows : numpy.ndarray
        Source row numbers of the rows (for the rejects file).
    source : str
        File name, for messages.
    key_getter : callable
        Returns the pseudonymisation key (or None); called only when CPR numbers occur.
    not_after : datetime.date, optional
        The extract date: later dates are ``future_date`` (default today).
    declared_pseudonym : bool
        The id column is a declared pseudonym (``ingest(pseudonymised_key=...)``): kept as
        it is, never checked for CPR numbers.

    Returns
    -------
    BatchResult
    """
    n = len(raw)
    raw = raw.reset_index(drop=True)
    why = _Reasons(n)
    values: dict[str, pd.Series] = {}
    pseudonymised = 0

    # --- identifiers and CPR numbers -----------------------------------------------------
    derived: pd.DataFrame | None = None
    replacement = 0
    idc = schema.id_column
    if idc is not None:
        lost_zero = np.zeros(n, dtype=bool)
        if "cpr" in raw.columns:
            cpr_vals = raw["cpr"]
            miss = is_missing(cpr_vals)
            why.flag(miss, "missing_value", "cpr")
            is_cpr = ~miss
        else:
            ids = _to_text(raw[idc])
            miss = is_missing(raw[idc])
            why.flag(miss, "missing_value", idc)
            is_cpr = (
                (fullmatch(ids, CPR_SHAPE) | fullmatch(ids, CPR_LETTER_SHAPE))
                & ~miss
                & (not declared_pseudonym)
            )
            # a CPR number that lost its leading zero (Excel) in a person-id column: taken
            # for one when the restored number is a valid CPR number (a declared
            # pseudonym is kept as it is: ingest(pseudonymised_key=...))
            lost_zero = fullmatch(ids, CPR_LOST_ZERO_SHAPE) & ~miss & (not declared_pseudonym)
            cpr_vals = ids
            values[idc] = ids.astype("str").where(~miss)
        if lost_zero.any():
            # a 9-digit value that is no CPR number stays an ordinary identifier; validity
            # does not depend on the key, so a throw-away key serves for the check
            probe = process_cpr(cpr_vals[lost_zero], b"\0" * 32)["valid"].to_numpy()
            lz_valid = np.zeros(n, dtype=bool)
            lz_valid[lost_zero] = probe
            is_cpr = is_cpr | lz_valid
        if is_cpr.any():
            key = require_key(key_getter(), source)
            sub = cpr_vals[is_cpr]
            if not _is_numeric(sub):
                sub = _to_text(sub)
            d = process_cpr(sub, key)
            derived = d.reindex(range(n))
            bad = np.zeros(n, dtype=bool)
            bad[is_cpr] = ~d["valid"].to_numpy()
            why.flag(bad, "invalid_cpr", "cpr" if "cpr" in raw.columns else idc)
            pid = values.get(idc, pd.Series(pd.NA, index=range(n), dtype="str")).copy()
            pid[is_cpr] = derived.loc[is_cpr, "person_id"]
            values[idc] = pid
            pseudonymised = int(d["valid"].sum())
            replacement = int((d["valid"] & d["replacement"]).sum())
        if "cpr" not in raw.columns and not declared_pseudonym:
            # an identifier holding a CPR number inside it ("pt 010150-1235") is never kept
            # (a declared pseudonym is not checked value by value: ingest refuses a declared
            # column that mostly holds valid CPR numbers, see nsv_eval.ingest.layouts)
            rest = ~is_cpr & ~miss
            if rest.any():
                inside = np.zeros(n, dtype=bool)
                inside[rest] = find_cpr_series(_to_text(raw[idc])[rest])
                why.flag(inside, "cpr_in_text", idc)

    # --- every other column -----------------------------------------------------------------
    for col in schema.columns:
        if col.name == idc:
            continue
        if col.name not in raw.columns:
            if col.from_cpr and derived is not None:
                v = derived[col.name]
                values[col.name] = v.dt.floor("D") if col.type == "date" else v
                if not col.nullable:
                    # a replacement number with letters in the serial tells no birth date/sex
                    why.flag(v.isna().to_numpy(), "missing_value", col.name)
            else:
                values[col.name] = pd.Series([None] * n, dtype="object")
            continue
        s = raw[col.name]
        miss = is_missing(s)
        dv = None
        from_cpr = np.zeros(n, dtype=bool)
        if col.from_cpr and derived is not None:
            dv = derived[col.name]
            if col.type == "date":
                dv = dv.dt.floor("D")
            from_cpr = dv.notna().to_numpy()
        if not col.nullable:
            # a value derived from the CPR number stands in for a missing one
            why.flag(miss & ~from_cpr, "missing_value", col.name)
        v, r = _parse_column(s, col, not_after)
        r = np.array(r, dtype=object)
        r[miss] = None
        why.add(r, col.name)
        v = v.where(~miss)
        if dv is not None:
            has = from_cpr & ~miss & pd.isna(r)
            differ = has & (v.astype("object").to_numpy() != dv.astype("object").to_numpy())
            why.flag(differ, "cpr_mismatch", col.name)
            fill = from_cpr & miss
            if fill.any():
                v = v.copy()
                v[fill] = dv[fill]
        values[col.name] = v

    # --- row-level checks ------------------------------------------------------------------
    def _cmp(later: str, earlier: str, code: str) -> None:
        a = pd.to_datetime(pd.Series(values[later]), errors="coerce").to_numpy()
        b = pd.to_datetime(pd.Series(values[earlier]), errors="coerce").to_numpy()
        with np.errstate(invalid="ignore"):
            bad = ~pd.isna(a) & ~pd.isna(b) & (a < b)
        why.flag(bad, code, later)

    if "discharge_before_admission" in schema.checks:
        _cmp("discharge_time", "admit_time", "discharge_before_admission")
    if "end_before_start" in schema.checks:
        _cmp("end_date", "start_date", "end_before_start")
    if "death_before_birth" in schema.checks:
        _cmp("death_date", "birth_date", "death_before_birth")

    # --- split --------------------------------------------------------------------------------
    ok = why.free
    if ok.all():
        kept = pd.DataFrame({c: pd.Series(values[c]).reset_index(drop=True) for c in schema.names})
    else:
        kept = pd.DataFrame(
            {c: pd.Series(values[c]).reset_index(drop=True)[ok] for c in schema.names}
        )
    kept["_row"] = rows[ok]
    rejects = _reject_frame(schema, raw, rows, ~ok, why.codes, why.cols, source)
    return BatchResult(kept.reset_index(drop=True), rejects, n, pseudonymised, replacement)


def _parse_column(
    s: pd.Series, col: Column, not_after: dt.date | None = None
) -> tuple[pd.Series, np.ndarray]:
    t = col.type
    if t in ("int", "year", "count"):
        return parse_int(s, col)
    if t == "float":
        return parse_float(s, col)
    if t in ("date", "datetime"):
        return parse_datetime(s, col, date_only=t == "date", not_after=not_after)
    if t == "bool":
        return parse_bool(s, col)
    if t == "sex":
        return parse_sex(s)
    if t == "education":
        return parse_education(s)
    if t == "category":
        return parse_category(s, col)
    if t == "kommune":
        return parse_kommune(s)
    if t == "icd10":
        return parse_icd10(s)
    if t in ("text", "id"):
        return parse_text(s)
    raise AssertionError(f"unhandled column type {t}")  # pragma: no cover


REJECT_FIXED = ["file", "row", "column", "reason", "value", "detail"]


def reject_columns(schema: Schema) -> list[str]:
    """Columns of ``rejects-<kind>.csv``: fixed ones, then the non-identifying columns."""
    return REJECT_FIXED + [c for c in schema.names if c != schema.id_column]


def _reject_frame(
    schema: Schema,
    raw: pd.DataFrame,
    rows: np.ndarray,
    bad: np.ndarray,
    reasons: np.ndarray,
    rcols: np.ndarray,
    source: str,
) -> pd.DataFrame:
    cols = reject_columns(schema)
    if not bad.any():
        return pd.DataFrame(columns=cols)
    sub = raw.loc[bad]
    out = pd.DataFrame(
        {
            "file": source,
            "row": rows[bad],
            "column": rcols[bad],
            "reason": reasons[bad],
        }
    )
    value = pd.Series("", index=sub.index, dtype="string")
    for c in set(rcols[bad]):
        m = rcols[bad] == c
        if c in sub.columns:
            vals = (
                _to_text(sub[c])
                if not pd.api.types.is_datetime64_any_dtype(sub[c].dtype)
                else sub[c].astype("string")
            )
            vals = mask_cpr_value(vals) if c == "cpr" else mask_cpr_series(vals)
            value[m] = vals[m]
    out["value"] = value.to_numpy()
    out["detail"] = [REASONS.get(r, r) for r in reasons[bad]]
    for c in cols[len(REJECT_FIXED) :]:
        if c in sub.columns:
            out[c] = mask_cpr_series(
                sub[c].astype("string") if not _is_numeric(sub[c]) else _to_text(sub[c])
            ).to_numpy()
        else:
            out[c] = ""
    return out[cols]


def check_no_cpr_left(values: pd.Series, where: str) -> None:
    """Safety net: raise if an output identifier still looks like or holds a CPR number."""
    if fullmatch(values, CPR_SHAPE).any() or find_cpr_series(values).any():
        raise InputError(
            f"{where}: an identifier shaped like a CPR number was about to be written."
        )
