"""CPR numbers: validation, masking and keyed pseudonymisation.

CPR numbers (DDMMYY-SSSS) are personal data. They exist only inside this package: every
CPR number read is validated with :mod:`stdnum.dk.cpr` (birth date and the century rule
from the 7th digit; the modulus-11 check is *not* applied, since numbers issued after 2007
need not satisfy it), its birth date and sex are derived, and it is replaced by a keyed
pseudonym

    ``person_id = HMAC-SHA256(key, "DDMMYYSSSS").hexdigest()[:20]`` spelled in letters

20 hexadecimal characters (80 bits) are kept, each written as one of 16 consonants
(``0-9a-f`` → ``bcdfghjklmnpqrst``), so a pseudonym holds no digit at all and can never be
mistaken for a CPR number by a grep audit (about 1.8 % of 20-hex strings hold a bare run of
10 digits). For 6 million persons for 6 million persons the chance that two
CPR numbers share a pseudonym is about n²/2⁸¹ ≈ 1.5·10⁻¹¹ (with the 16 characters of
the minimal design it would be about 10⁻⁶). The same key gives the same pseudonym in every
kind of extract, so tables can be joined; without the key the pseudonym cannot be reversed
even though the CPR space is small (a few hundred million numbers), which is why the key
must be secret and at least 16 bytes long.

Anything that might carry a CPR number into text (rejects, logs, messages, file and column
names, manifests) goes through :func:`mask_cpr`, which keeps only the birth-date part:
``DDMMYY-XXXX``. :func:`find_cpr` is the stricter detector used to *reject* cell values that
hold a CPR number inside free text and by ``nsv-eval audit``: a 10-digit run (optionally
``DDMMYY-SSSS`` or ``DDMMYY SSSS``) whose first six digits are a real date, or a replacement
number (*erstatningspersonnummer*: day + 60 as recommended by the CPR office, or letters in
the serial as some regions issue them).

A *key check value* (:func:`key_check`, an HMAC of a fixed label) is recorded in every
output folder (``pseudonym-key.json``, copied into ``manifest.json`` by prepare), so that
a later ingest with another key into the same folder is refused instead of producing
tables whose pseudonyms silently fail to link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError

from nsv_eval.errors import InputError

PSEUDONYM_LENGTH = 20
"""Hex characters kept of the HMAC-SHA256 digest (80 bits; see module docstring)."""

MIN_KEY_BYTES = 16

KEY_ENV = "NSV_PSEUDO_KEY"
KEY_FILE_ENV = "NSV_PSEUDO_KEY_FILE"

KEY_HELP = (
    "Data with CPR numbers can only be ingested with a pseudonymisation key. Make one once "
    "per project and keep it secret and outside the repository, e.g.\n"
    '    python -c "import secrets; print(secrets.token_hex(32))" > ~/.nsv_pseudo_key\n'
    "    export NSV_PSEUDO_KEY_FILE=~/.nsv_pseudo_key\n"
    "or export the hex string itself as NSV_PSEUDO_KEY. Use the same key for every extract "
    "of the project so that pseudonyms match across tables."
)

# A CPR number anywhere in free text: 6 digits, optional dash/space, 4 digits, not part of
# a longer digit run; or 6 digits, a dash and a 4-character serial mixing letters and digits
# (a replacement number).
_CPR_IN_TEXT = re.compile(
    r"(?<![0-9])([0-9]{6})(?:[- ]?[0-9]{4}(?![0-9])"
    r"|-(?=[0-9A-Za-z]{0,3}[A-Za-z])(?=[A-Za-z]{0,3}[0-9])[0-9A-Za-z]{4}(?![0-9A-Za-z]))"
)
# A whole value shaped like a CPR number.
CPR_SHAPE = r"^\s*[0-9]{6}[- ]?[0-9]{4}\s*$"
# A whole value shaped like a replacement number with letters in the serial (DDMMYY-A123).
CPR_LETTER_SHAPE = (
    r"^\s*[0-9]{6}[- ]?(?:[A-Za-z][0-9A-Za-z]{3}|[0-9][A-Za-z][0-9A-Za-z]{2}"
    r"|[0-9]{2}[A-Za-z][0-9A-Za-z]|[0-9]{3}[A-Za-z])\s*$"
)  # RE2 (pyarrow) has no lookahead: the serial's letter positions are spelled out
# A whole value of 9 digits: a CPR number that lost its leading zero in Excel (or not).
CPR_LOST_ZERO_SHAPE = r"^\s*[0-9]{9}\s*$"

# Candidate CPR numbers for find_cpr: day, month, year, separator, serial.
_CANDIDATE = re.compile(
    r"(?<![0-9])(?P<d>[0-9]{2})(?P<m>[0-9]{2})(?P<y>[0-9]{2})(?P<sep>[- ]?)"
    r"(?P<serial>[0-9]{4}(?![0-9])|(?<=[0-9]-)[0-9A-Za-z]{4}(?![0-9A-Za-z]))"
)
_PREFILTER = r"(?:^|[^0-9])[0-9]{6}(?:[- ]?[0-9]{4}|-[0-9A-Za-z]{4})(?:[^0-9]|$)"
# Lower-case hexadecimal tokens (hashes, fingerprints, synthetic ids): a digit run inside one
# is not a CPR number written by a person.
HEX_TOKEN = r"[0-9a-f]{12,}"
"""A lower-case hexadecimal token (hash, fingerprint, pseudonym): digit runs inside one are
not CPR numbers (:func:`find_cpr`)."""
_HEX_TOKEN = re.compile(HEX_TOKEN)


def mask_cpr(text: object) -> str:
    """Mask every CPR-shaped number in ``text`` as ``DDMMYY-XXXX``.

    Masks every run of 10 digits (optionally split 6-4 by a dash or space) and replacement
    numbers with letters in the serial (``DDMMYY-A12B``), whatever the date: text that
    leaves ingest must not carry anything a reader could take for a CPR number. A run of 9
    digits is masked when it is a CPR number without its leading zero.

    Parameters
    ----------
    text : object
        Any value; converted with ``str``.

    Returns
    -------
    str
        The text with the sequence-number part of each CPR number replaced by ``XXXX``.
    """
    t = _CPR_IN_TEXT.sub(r"\1-XXXX", str(text))
    if _NINE.search(t):
        t = _NINE.sub(_mask_nine, t)
    return t


# 9 digits alone: a CPR number that lost its leading zero (masked only when it is one)
_NINE = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")


def _mask_nine(m: re.Match) -> str:
    hits = find_cpr("0" + m[0])
    return hits[0].masked if hits else m[0]


def mask_deep(obj: object) -> object:
    """:func:`mask_cpr` applied to every string (and dict key) of a JSON-like structure."""
    if isinstance(obj, str):
        return mask_cpr(obj)
    if isinstance(obj, dict):
        return {mask_deep(k) if isinstance(k, str) else k: mask_deep(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [mask_deep(v) for v in obj]
    return obj


@dataclass(frozen=True)
class CprHit:
    """A CPR number found in text by :func:`find_cpr` (the number itself is not kept)."""

    start: int
    end: int
    masked: str  # DDMMYY-XXXX
    replacement: bool  # day + 60 or letters in the serial
    modulus11: bool | None  # None where the rule does not apply (letters)


def _real_date(d: int, m: int, y2: int, serial: str) -> bool:
    """Is DD-MM-YY a calendar date (century from the 7th digit where the serial is digits)?"""
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return False
    if serial.isdigit():
        s7 = int(serial[0])
        if s7 in (0, 1, 2, 3) or (s7 in (4, 9) and y2 >= 37) or (s7 in (5, 6, 7, 8) and y2 >= 58):
            century = 1900
        elif s7 in (4, 9) or (s7 in (5, 6, 7, 8) and y2 < 37):
            century = 2000
        else:
            century = 1800
        years = [century + y2]
    else:
        years = [2000]  # no century: allow 29 February
    for year in years:
        try:
            dt.date(year, m, d)
            return True
        except ValueError:
            return False
    return False  # pragma: no cover


def find_cpr(text: object) -> list[CprHit]:
    """Find CPR numbers (and replacement numbers) in free text.

    A hit is ``DDMMYYSSSS``, ``DDMMYY-SSSS`` or ``DDMMYY SSSS`` not inside a longer digit run,
    whose first six digits are a real date (century from the 7th digit, as in
    :mod:`stdnum.dk.cpr`), or the same with the day raised by 60 (the CPR office's advice
    for replacement numbers), or ``DDMMYY-`` followed by a 4-character serial mixing
    letters and digits. Digit runs inside lower-case hexadecimal tokens of 12 or more
    characters (hashes, fingerprints, hex identifiers) and the decimals of a number
    (``0.0101501235``) are not hits. The modulus-11 check is reported
    but not required: numbers issued since October 2007 need not satisfy it.

    Parameters
    ----------
    text : object
        Any value; converted with ``str``.

    Returns
    -------
    list of CprHit
    """
    t = str(text)
    if len(t) < 10:
        return []
    hex_spans = [(h.start(), h.end()) for h in _HEX_TOKEN.finditer(t)]
    hits = []
    for m in _CANDIDATE.finditer(t):
        serial = m.group("serial")
        if not serial.isdigit():
            if serial.isalpha():
                continue  # "010120-akut": a word, not a serial (serials mix letters, digits)
            serial_u = serial.upper()
        else:
            serial_u = serial
        if any(a <= m.start() and m.end() <= b for a, b in hex_spans):
            continue
        if m.start() >= 2 and t[m.start() - 1] in ".," and t[m.start() - 2].isdigit():
            continue  # the decimals of a number (0.0101501235)
        d, mo, y = int(m.group("d")), int(m.group("m")), int(m.group("y"))
        replacement = not serial_u.isdigit()
        if d > 60:
            d -= 60
            replacement = True
        if not _real_date(d, mo, y, serial_u):
            continue
        digits = m.group("d") + m.group("m") + m.group("y") + serial_u
        mod11 = (
            sum(int(c) * w for c, w in zip(digits, (4, 3, 2, 7, 6, 5, 4, 3, 2, 1), strict=True))
            % 11
            == 0
            if digits.isdigit()
            else None
        )
        hits.append(
            CprHit(m.start(), m.end(), t[m.start() : m.start() + 6] + "-XXXX", replacement, mod11)
        )
    return hits


def find_cpr_series(values: pd.Series) -> np.ndarray:
    """Boolean array: does each text value hold a CPR number (:func:`find_cpr`)?

    A vectorised pre-filter (a run of 6 digits) keeps the Python check to the few values
    that could hold one; distinct values are checked once.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    s = values.astype("string")
    arr = pa.array(s, type=pa.string(), from_pandas=True)
    # RE2 superset of find_cpr's shapes (no lookaround in RE2): 6 digits not preceded by a
    # digit, then 4 digits or a dash and 4 letters/digits, not followed by a digit
    m = pc.match_substring_regex(arr, _PREFILTER)
    cand = np.asarray(pc.fill_null(m, False).to_numpy(zero_copy_only=False), dtype=bool)
    out = np.zeros(len(s), dtype=bool)
    if cand.any():
        sub = s[cand]
        codes, uniques = pd.factorize(sub)
        hit = np.array([bool(find_cpr(u)) for u in uniques], dtype=bool)
        out[np.flatnonzero(cand)] = hit[codes]
    return out


def mask_cpr_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_cpr` for a Series (missing values become empty strings)."""
    s = values.astype("string").fillna("")
    s = s.str.replace(_CPR_IN_TEXT.pattern, r"\1-XXXX", regex=True)
    nine = s.str.contains(_NINE.pattern, regex=True).fillna(False)
    if nine.any():
        s = s.copy()
        s[nine] = s[nine].map(mask_cpr)
    return s


def mask_cpr_value(values: pd.Series) -> pd.Series:
    """Mask values of a CPR column, whatever they contain: first 6 characters + ``-XXXX``.

    Used for values that failed validation (letters, wrong length), which
    :func:`mask_cpr` would not recognise as CPR numbers.
    """
    s = values.astype("string").fillna("").str.strip()
    return s.str.slice(0, 6).where(s.str.len() == 0, s.str.slice(0, 6) + "-XXXX")


# ----------------------------------------------------------------------------------------
# keys
# ----------------------------------------------------------------------------------------


def _inside_git_work_tree(path: Path) -> Path | None:
    for parent in [path.parent, *path.parent.parents]:
        if (parent / ".git").exists():
            return parent
    return None


def _key_from_text(text: str, source: str) -> bytes:
    text = text.strip()
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text):
        key = bytes.fromhex(text)
    else:
        key = text.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise InputError(
            f"The pseudonymisation key from {source} is too short ({len(key)} bytes; at "
            f"least {MIN_KEY_BYTES} needed, 32 recommended).\n{KEY_HELP}"
        )
    return key


def resolve_key(key: bytes | str | None = None) -> bytes | None:
    """Find the pseudonymisation key.

    Order: the ``key`` argument; else environment variable ``NSV_PSEUDO_KEY`` (hex string
    or text); else the file named by ``NSV_PSEUDO_KEY_FILE``, which must lie outside any
    git work tree (a key committed by accident would undo the pseudonymisation).

    Parameters
    ----------
    key : bytes or str, optional
        Explicit key (bytes used as-is; str read as hex if it is hex, else as UTF-8).

    Returns
    -------
    bytes or None
        The key, or ``None`` if none is configured.

    Raises
    ------
    InputError
        If the key is shorter than 16 bytes, the key file is missing or lies inside a
        git work tree.
    """
    if key is not None:
        if isinstance(key, str):
            return _key_from_text(key, "the key argument")
        if len(key) < MIN_KEY_BYTES:
            raise InputError(
                f"The pseudonymisation key is too short ({len(key)} bytes; at least "
                f"{MIN_KEY_BYTES} needed)."
            )
        return bytes(key)
    env = os.environ.get(KEY_ENV)
    if env:
        return _key_from_text(env, f"${KEY_ENV}")
    kf = os.environ.get(KEY_FILE_ENV)
    if kf:
        path = Path(kf).expanduser().resolve()
        repo = _inside_git_work_tree(path)
        if repo is not None:
            raise InputError(
                f"Refusing the key file {path}: it lies inside the git work tree {repo}, "
                "where it could be committed. Move it outside the repository (e.g. to your "
                f"home directory) and point ${KEY_FILE_ENV} at it."
            )
        if not path.is_file():
            raise InputError(f"${KEY_FILE_ENV} points at {path}, which is not a file.")
        return _key_from_text(path.read_text(encoding="utf-8"), f"the key file {path}")
    return None


def require_key(key: bytes | None, where: str) -> bytes:
    """Return ``key`` or raise the explanatory :class:`InputError` if it is ``None``."""
    if key is None:
        raise InputError(
            f"{where} contains CPR numbers, but no pseudonymisation key is set.\n{KEY_HELP}"
        )
    return key


_LETTERS = str.maketrans("0123456789abcdef", "bcdfghjklmnpqrst")


def pseudonym(cpr10: str, key: bytes) -> str:
    """Keyed pseudonym of one normalised (10-character) CPR number, in letters only.

    ``HMAC-SHA256(key, cpr10)``, first 20 hex characters, each spelled as a consonant
    (``0-9a-f`` → ``bcdfghjklmnpqrst``): 80 bits, stable for the same key, no digits.
    """
    digest = hmac.new(key, cpr10.encode("ascii"), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_LENGTH].translate(_LETTERS)


KEY_CHECK_LABEL = b"nsv-eval pseudonymisation key check v1"
KEY_RECORD = "pseudonym-key.json"
"""File in every ingest output folder holding the key check value (never the key)."""


def key_check(key: bytes) -> str:
    """Key check value: ``HMAC-SHA256(key, fixed label)``, 16 hex characters in letters.

    Identifies the key (two keys give the same value with probability 2⁻⁶⁴) without
    revealing it or any pseudonym.
    """
    return hmac.new(key, KEY_CHECK_LABEL, hashlib.sha256).hexdigest()[:16].translate(_LETTERS)


def recorded_key_check(folder: Path) -> tuple[str, Path] | None:
    """The key check value recorded in ``folder`` (pseudonym-key.json or manifest.json)."""
    for name in (KEY_RECORD, "manifest.json"):
        path = Path(folder) / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        value = data.get("key_check") if isinstance(data, dict) else None
        if isinstance(value, str) and value:
            return value, path
    return None


def _check_recorded(folder: Path, key: bytes, rec: tuple[str, Path]) -> None:
    """Raise if the recorded key check value is not that of ``key``."""
    value, path = rec
    if value != key_check(key):
        raise InputError(
            f"{folder} holds tables pseudonymised with another key (key check value "
            f"{value!r} in {path.name}; the key in use gives {key_check(key)!r}). Persons "
            "would not link across tables. Use the project's key (check $NSV_PSEUDO_KEY / "
            "$NSV_PSEUDO_KEY_FILE), or write to a new folder; to start the folder over "
            f"with this key on purpose, delete {path.name} and the tables in it first."
        )


_LEGACY_ID = re.compile(r"[0-9a-f]{20}")


def legacy_pseudonym_tables(
    folder: Path, skip: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Tables in ``folder`` whose ``person_id`` looks like an earlier version's pseudonym.

    nsv-eval before the letter pseudonyms wrote 20 hexadecimal characters; those do not
    link with the pseudonyms written now, even under the same key. Looks at the first 200
    identifiers of every ``*.parquet`` file with a ``person_id`` column (except ``skip``).
    """
    import pyarrow.parquet as pq

    found = []
    for path in sorted(Path(folder).glob("*.parquet")):
        if path.name in skip:
            continue
        try:
            pf = pq.ParquetFile(path)
            if "person_id" not in pf.schema_arrow.names or pf.metadata.num_row_groups == 0:
                continue
            ids = pf.read_row_group(0, columns=["person_id"]).column(0).to_pylist()[:200]
        except Exception:  # noqa: BLE001 - an unreadable table is not ours to judge here
            continue
        ids = [i for i in ids if i]
        if ids and all(isinstance(i, str) and _LEGACY_ID.fullmatch(i) for i in ids):
            found.append(path.name)
    return found


def check_folder_key(
    folder: Path, key: bytes, skip: set[str] | frozenset[str] = frozenset(), *, legacy: bool = True
) -> None:
    """Refuse ``key`` if ``folder`` holds tables pseudonymised with another key (or scheme).

    ``skip``: table file names about to be replaced (not checked for old pseudonyms);
    ``legacy``: also refuse tables with an earlier version's pseudonyms (checked when the
    key is about to be used).

    Raises
    ------
    InputError
        Naming the folder and the record file (or the old tables), with what to do.
    """
    rec = recorded_key_check(folder)
    if rec is None:
        old = legacy_pseudonym_tables(folder, set(skip)) if legacy else []
        if old:
            raise InputError(
                f"{folder} holds tables pseudonymised by an earlier nsv-eval (20 hexadecimal "
                f"characters): {', '.join(old)}. The pseudonyms written now (letters only) "
                "would not link to them. Prepare every kind again into a new folder, or "
                "delete those tables first."
            )
        return
    _check_recorded(folder, key, rec)


def record_key(folder: Path, key: bytes) -> None:
    """Write the key check value of ``key`` to ``folder/pseudonym-key.json``."""
    path = Path(folder) / KEY_RECORD
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            {
                "key_check": key_check(key),
                "label": KEY_CHECK_LABEL.decode("ascii"),
                "method": "HMAC-SHA256(key, label), first 16 hex characters as letters "
                "0-9a-f -> bcdfghjklmnpqrst",
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------


_LETTER_SERIAL = re.compile(r"[0-9]{6}[0-9A-Z]{4}")


def _check_one(value: str) -> tuple[str, dt.date | None, bool, bool | None] | None:
    """Validate one CPR or replacement number.

    Returns (compact, birth date or None, replacement?, male? or None), or None if invalid.
    Ordinary numbers are validated by stdnum (real date, century rule, not in the future).
    Replacement numbers: day + 60 (validated by stdnum after subtracting 60) or a serial
    with letters (date checked without century: no birth date or sex is derived).
    """
    compact = re.sub(r"[\s-]", "", value).upper()
    if len(compact) != 10:
        return None
    if compact.isdigit():
        day = int(compact[:2])
        replacement = day > 60
        probe = f"{day - 60:02d}{compact[2:]}" if replacement else compact
        try:
            stdnum_cpr.validate(probe)
            born = stdnum_cpr.get_birth_date(probe)
        except (ValidationError, ValueError, IndexError):
            return None
        return compact, born, replacement, int(compact[-1]) % 2 == 1
    if _LETTER_SERIAL.fullmatch(compact) and not compact[6:].isdigit():
        d, m, y = int(compact[:2]), int(compact[2:4]), int(compact[4:6])
        if d > 60:
            d -= 60
        if not _real_date(d, m, y, compact[6:]):
            return None
        return compact, None, True, None
    return None


def process_cpr(values: pd.Series, key: bytes) -> pd.DataFrame:
    """Validate, derive and pseudonymise a Series of CPR numbers.

    Each distinct value is validated once with :func:`stdnum.dk.cpr.validate` (length,
    digits, a real birth date, century from the 7th digit, not born in the future; no
    modulus-11 check), so the cost is proportional to the number of distinct persons.
    Replacement numbers (*erstatningspersonnumre*: day + 60, or letters in the serial) are
    recognised, pseudonymised like CPR numbers and flagged in ``replacement``; for day + 60
    the birth date and sex are derived as for a CPR number, for letter serials not.

    Parameters
    ----------
    values : pandas.Series
        CPR numbers as text (``DDMMYY-SSSS``, ``DDMMYYSSSS``), or integers. A value stored
        as a number (or a bare 9-digit text, as Excel writes it) has lost its leading zero,
        which is restored.
    key : bytes
        Pseudonymisation key.

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``; columns ``valid`` (bool), ``person_id`` (str),
        ``birth_date`` (datetime64[s], midnight), ``sex`` (``"M"`` for an odd last
        digit, else ``"F"``) and ``replacement`` (bool). Invalid or missing values have
        ``valid`` False and nulls.
    """
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_float_dtype(values.dtype):
        num = pd.to_numeric(values, errors="coerce")
        whole = num.notna() & (num == np.floor(num)) & (num >= 0) & (num < 1e10)
        text = pd.Series(pd.NA, index=values.index, dtype="string")
        text[whole] = num[whole].astype("int64").astype("string").str.zfill(10)
    else:
        text = values.astype("string").str.strip()
        # Files that passed through Excel lose the leading zero of CPR numbers born on
        # days 01-09 (stored as numbers): a bare 9-digit value gets it back.
        text = text.str.replace(r"^([0-9]{9})$", r"0\1", regex=True)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    n_u = len(uniques)
    ok = np.zeros(n_u + 1, dtype=bool)  # last slot: missing
    pid = np.full(n_u + 1, None, dtype=object)
    bdate = np.full(n_u + 1, np.datetime64("NaT", "s"), dtype="datetime64[s]")
    sex_u = np.full(n_u + 1, None, dtype=object)
    repl = np.zeros(n_u + 1, dtype=bool)
    for i, u in enumerate(uniques):
        res = _check_one(str(u))
        if res is None:
            continue
        compact, born, replacement, male = res
        ok[i] = True
        pid[i] = pseudonym(compact, key)
        if born is not None:
            bdate[i] = np.datetime64(born, "s")
        if male is not None:
            sex_u[i] = "M" if male else "F"
        repl[i] = replacement
    idx = np.where(codes < 0, n_u, codes)
    return pd.DataFrame(
        {
            "valid": ok[idx],
            "person_id": pd.array(pid[idx], dtype="str"),
            "birth_date": bdate[idx],
            "sex": pd.array(sex_u[idx], dtype="str"),
            "replacement": repl[idx],
        },
        index=values.index,
    )
