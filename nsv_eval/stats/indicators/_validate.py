"""Input validation shared by the indicator functions.

Every check raises :class:`nsv_eval.errors.InputError` (a ``ValueError``) whose message names
the offending column and the first offending rows (index label and, when ``by`` is given, the
group), so a user can find the bad record in the source table.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.errors import InputError

_MAX_LISTED = 5


def as_by(by: str | Sequence[str] | None) -> list[str]:
    """Normalise a ``by`` argument to a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def check_conf(conf: float, name: str = "conf") -> float:
    """Return ``conf`` as a proportion in (0, 1); 95 and 99.8 are accepted as percentages."""
    if isinstance(conf, bool) or not isinstance(conf, (int, float, np.floating, np.integer)):
        raise InputError(f"{name} must be a number such as 0.95 or 0.998, not {conf!r}.")
    c = float(conf)
    if 1 < c < 100:
        c = c / 100
    if not 0.5 <= c < 1:
        raise InputError(
            f"{name} must lie in [0.5, 1) (or [50, 100) as a percentage), not {conf!r}."
        )
    return c


def z_value(conf: float) -> float:
    """Two-sided standard normal quantile for confidence level ``conf``."""
    return float(stats.norm.ppf(conf + (1 - conf) / 2))


def _where(data: pd.DataFrame, mask: pd.Series, by: list[str]) -> str:
    """Describe the first offending rows: index labels and (if grouped) their groups."""
    idx = list(data.index[mask.to_numpy()])
    parts = []
    for label in idx[:_MAX_LISTED]:
        if by:
            grp = ", ".join(f"{b}={data.at[label, b]!r}" for b in by)
            parts.append(f"{label!r} ({grp})")
        else:
            parts.append(repr(label))
    more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
    return f"row(s) {', '.join(parts)}{more}"


def check_frame(data: Any, what: str = "data") -> pd.DataFrame:
    """Require a pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, not {type(data).__name__}.")
    return data


def check_columns(data: pd.DataFrame, columns: Iterable[Hashable | None]) -> None:
    """Require that every named column exists."""
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise InputError(
            f"Column(s) {', '.join(map(repr, missing))} not found in data; "
            f"available columns: {', '.join(map(str, data.columns))}."
        )


def numeric_column(
    data: pd.DataFrame,
    column: str,
    by: list[str],
    *,
    allow_nan: bool = False,
    nonnegative: bool = True,
    positive: bool = False,
) -> np.ndarray:
    """Return ``data[column]`` as float, after checking type, missing values and sign.

    Raises
    ------
    InputError
        If the column is not numeric, has missing values (unless ``allow_nan``), or has
        negative (or, with ``positive``, non-positive) values; the message names the column
        and the offending rows.
    """
    s = data[column]
    if s.dtype == bool or not pd.api.types.is_numeric_dtype(s):
        bad = ~s.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
        bad = bad & s.notna()
        where = _where(data, bad, by) if bad.any() else "its dtype"
        raise InputError(
            f"Column {column!r} must be numeric but has dtype {s.dtype} ({where} not numeric)."
        )
    values = s.to_numpy(dtype=float, na_value=np.nan)
    if not allow_nan:
        nan = pd.Series(np.isnan(values), index=data.index)
        if nan.any():
            raise InputError(
                f"Column {column!r} has missing values (NaN) in {_where(data, nan, by)}; "
                "replace structural zeros by 0 and remove or impute the rest explicitly."
            )
    if np.isinf(values).any():
        raise InputError(
            f"Column {column!r} has infinite values in "
            f"{_where(data, pd.Series(np.isinf(values), index=data.index), by)}."
        )
    if positive:
        bad = pd.Series(values <= 0, index=data.index)
        if bad.any():
            raise InputError(f"Column {column!r} must be > 0; not so in {_where(data, bad, by)}.")
    elif nonnegative:
        bad = pd.Series(values < 0, index=data.index)
        if bad.any():
            raise InputError(
                f"Column {column!r} has negative values in {_where(data, bad, by)}; "
                "counts and populations cannot be negative."
            )
    return values


def check_not_above(
    data: pd.DataFrame,
    num: np.ndarray,
    den: np.ndarray,
    numerator: str,
    denominator: str,
    by: list[str],
) -> None:
    """Require ``num <= den`` row by row (proportions)."""
    bad = pd.Series(num > den, index=data.index)
    if bad.any():
        raise InputError(
            f"Numerator {numerator!r} exceeds denominator {denominator!r} in "
            f"{_where(data, bad, by)}; a proportion needs numerator <= denominator."
        )


def iter_groups(data: pd.DataFrame, by: list[str]):
    """Yield ``(key_dict, sub_frame)`` for each group (one group when ``by`` is empty)."""
    if not by:
        yield {}, data
        return
    for key, sub in data.groupby(by, sort=True, dropna=False, observed=True):
        if not isinstance(key, tuple):
            key = (key,)
        yield dict(zip(by, key, strict=True)), sub


def group_label(key: dict[str, Any]) -> str:
    """Human-readable label for a group key, for messages."""
    if not key:
        return "the data"
    return "group " + ", ".join(f"{k}={v!r}" for k, v in key.items())


def aggregate(data: pd.DataFrame, by: list[str], columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Sum the given value arrays within groups of ``by`` (all rows when ungrouped)."""
    frame = pd.DataFrame(columns, index=data.index)
    if not by:
        return frame.sum().to_frame().T
    for b in by:
        frame[b] = data[b]
    out = frame.groupby(by, sort=True, dropna=False, observed=True)[list(columns)].sum()
    return out.reset_index()
