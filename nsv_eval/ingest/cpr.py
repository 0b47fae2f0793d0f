"""CPR numbers: validation, masking and keyed pseudonymisation.

CPR numbers (DDMMYY-SSSS) are personal data. They exist only inside this package: every
CPR number read is validated with :mod:`stdnum.dk.cpr` (birth date and the century rule
from the 7th digit; the modulus-11 check is *not* applied, since numbers issued after 2007
need not satisfy it), its birth date and sex are derived, and it is replaced by a keyed
pseudonym

    ``person_id = HMAC-SHA256(key, "DDMMYYSSSS").hexdigest()[:20]``

20 hexadecimal characters (80 bits) are kept: for 6 million persons the chance that two
CPR numbers share a pseudonym is about n²/2⁸¹ ≈ 1.5·10⁻¹¹ (with the 16 characters of
the minimal design it would be about 10⁻⁶). The same key gives the same pseudonym in every
kind of extract, so tables can be joined; without the key the pseudonym cannot be reversed
even though the CPR space is small (a few hundred million numbers), which is why the key
must be secret and at least 16 bytes long.

Anything that might carry a CPR number into text (rejects, logs, messages) goes through
:func:`mask_cpr`, which keeps only the birth-date part: ``DDMMYY-XXXX``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
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
# a longer digit run.
_CPR_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6})[- ]?[0-9]{4}(?![0-9])")
# A whole value shaped like a CPR number.
CPR_SHAPE = r"^\s*[0-9]{6}[- ]?[0-9]{4}\s*$"


def mask_cpr(text: object) -> str:
    """Mask every CPR-shaped number in ``text`` as ``DDMMYY-XXXX``.

    Parameters
    ----------
    text : object
        Any value; converted with ``str``.

    Returns
    -------
    str
        The text with the sequence-number part of each CPR number replaced by ``XXXX``.
    """
    return _CPR_IN_TEXT.sub(r"\1-XXXX", str(text))


def mask_cpr_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_cpr` for a Series (missing values become empty strings)."""
    s = values.astype("string").fillna("")
    return s.str.replace(_CPR_IN_TEXT.pattern, r"\1-XXXX", regex=True)


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


def pseudonym(cpr10: str, key: bytes) -> str:
    """Keyed pseudonym of one normalised (10-digit) CPR number."""
    return hmac.new(key, cpr10.encode("ascii"), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------


def _check_one(value: str) -> tuple[str, object] | None:
    """Validate one CPR number with stdnum; return (compact, birth date) or None."""
    try:
        compact = stdnum_cpr.validate(value)
        return compact, stdnum_cpr.get_birth_date(compact)
    except (ValidationError, ValueError, IndexError):
        return None


def process_cpr(values: pd.Series, key: bytes) -> pd.DataFrame:
    """Validate, derive and pseudonymise a Series of CPR numbers.

    Each distinct value is validated once with :func:`stdnum.dk.cpr.validate` (length,
    digits, a real birth date, century from the 7th digit, not born in the future; no
    modulus-11 check), so the cost is proportional to the number of distinct persons.

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
        ``birth_date`` (datetime64[s], midnight) and ``sex`` (``"M"`` for an odd last
        digit, else ``"F"``). Invalid or missing values have ``valid`` False and nulls.
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
    male = np.zeros(n_u + 1, dtype=bool)
    for i, u in enumerate(uniques):
        res = _check_one(str(u))
        if res is None:
            continue
        compact, born = res
        ok[i] = True
        pid[i] = pseudonym(compact, key)
        bdate[i] = np.datetime64(born, "s")
        male[i] = int(compact[-1]) % 2 == 1
    idx = np.where(codes < 0, n_u, codes)
    valid = ok[idx]
    sex = np.where(valid, np.where(male[idx], "M", "F"), None)
    return pd.DataFrame(
        {
            "valid": valid,
            "person_id": pd.array(pid[idx], dtype="str"),
            "birth_date": bdate[idx],
            "sex": pd.array(sex, dtype="str"),
        },
        index=values.index,
    )
