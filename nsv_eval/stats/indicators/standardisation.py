"""Direct and indirect age standardisation (PHE's ``phe_dsr``, ``phe_isr`` and ``phe_smr``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nsv_eval.errors import InputError

from ._intervals import byar_lower, byar_upper, method_label, poisson_limits
from ._validate import (
    as_by,
    check_columns,
    check_conf,
    check_frame,
    group_label,
    iter_groups,
    numeric_column,
)
from .proportions import OUTPUT_COLUMNS

#: PHE does not publish a DSR when the total count is below this.
DSR_MIN_COUNT = 10


def _esp2013_weights(data: pd.DataFrame, strata: str) -> np.ndarray:
    """Join ESP2013 weights on ``strata``; unknown band labels are an error."""
    from nsv_eval.reference import esp2013

    esp = esp2013()[["age_band", "population"]].rename(
        columns={"age_band": strata, "population": "_std_pop"}
    )
    labels = data[strata].astype(str)
    unknown = sorted(set(labels) - set(esp[strata]))
    if unknown:
        raise InputError(
            f"Column {strata!r} has age bands that are not ESP2013 bands: {unknown}; "
            f"expected {list(esp[strata])}."
        )
    return esp.set_index(strata)["_std_pop"].reindex(labels).to_numpy(float)


def dsr(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    std_pop: str = "esp2013",
    *,
    by: str | Sequence[str] | None = None,
    conf: float = 0.95,
    multiplier: float = 100_000,
    strata: str = "age_band",
) -> pd.DataFrame:
    """Directly standardised rate with Dobson's confidence interval, as Fingertips does it.

    ``DSR = Σ w_i x_i / n_i / Σ w_i × multiplier``; its interval rescales Byar's interval for
    the total count O (Dobson et al. 1991): ``DSR + sqrt(var/O) × (O_limit − O)`` with
    ``var = Σ w_i² x_i / n_i² / (Σ w_i)²``. Groups with a total count below 10 get NaN
    estimate and limits and a ``note`` (PHE suppresses them as unreliable).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per stratum (age band, or age band × sex) within each group.
    numerator, denominator : str
        Event counts and populations (or person-years) per stratum.
    std_pop : str, default "esp2013"
        Either the name of a column of ``data`` holding the standard population of each
        stratum, or ``"esp2013"``: the counts are first summed within group × ``strata`` and
        joined to :func:`nsv_eval.reference.esp2013` on ``strata`` (ESP2013 bands ``"0-4"`` …
        ``"95+"``). With ``"esp2013"`` every group must have all 20 bands (use explicit rows
        with 0 events); missing bands raise an error naming them.
    by : str or sequence of str, optional
        Grouping columns (kommune, year, sex ...); one row per group.
    conf : float, default 0.95
        Confidence level.
    multiplier : float, default 100000
        Rate per ``multiplier``.
    strata : str, default "age_band"
        Column with the standardisation strata (used with ``std_pop="esp2013"``).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``numerator`` (total count), ``denominator`` (total population),
        ``estimate``, ``lower``, ``upper``, ``conf``, ``method`` (``"Dobson"``), ``note``.

    References
    ----------
    Dobson AJ, Kuulasmaa K, Eberle E, Scherer J (1991) Confidence intervals for weighted sums
    of Poisson parameters. Stat Med 10:457-462. PHE, Technical Guide: Confidence Intervals
    (2018), appendix 4.
    """
    data = check_frame(data)
    by_ = as_by(by)
    c = check_conf(conf)
    use_esp = std_pop == "esp2013" and "esp2013" not in data.columns
    check_columns(data, [numerator, denominator, *by_, strata if use_esp else std_pop])
    x = numeric_column(data, numerator, by_)
    n = numeric_column(data, denominator, by_)
    if use_esp:
        frame = pd.DataFrame({"x": x, "n": n}, index=data.index)
        for b in by_:
            frame[b] = data[b]
        frame[strata] = data[strata].astype(str)
        frame = (
            frame.groupby([*by_, strata], sort=True, dropna=False, observed=True)[["x", "n"]]
            .sum()
            .reset_index()
        )
        all_bands = set(_esp_bands())
        frame["w"] = _esp2013_weights(frame, strata)
        for key, sub in iter_groups(frame, by_):
            missing = sorted(all_bands - set(sub[strata]), key=_esp_bands().index)
            if missing:
                raise InputError(
                    f"Standard-population bands missing for {group_label(key)}: {missing}. "
                    f"Add rows with 0 events for bands with no events (column {strata!r})."
                )
    else:
        w = numeric_column(data, std_pop, by_)
        frame = pd.DataFrame({"x": x, "n": n, "w": w}, index=data.index)
        for b in by_:
            frame[b] = data[b]
    bad = (frame["n"] <= 0) & (frame["x"] > 0)
    if bad.any():
        rows = (
            frame.loc[bad, [*by_]].head(5).to_dict("records") if by_ else list(frame.index[bad][:5])
        )
        raise InputError(
            f"Denominator {denominator!r} is 0 in strata with events ({rows}); a rate "
            "needs a population."
        )
    rows = []
    for key, sub in iter_groups(frame, by_):
        xs, ns, ws = (sub[k].to_numpy(float) for k in ("x", "n", "w"))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(ns > 0, xs / ns, 0.0)
            wsq = np.where(ns > 0, xs * (ws / ns) ** 2, 0.0)
        o = xs.sum()
        wsum = ws.sum()
        value = float((ws * r).sum() / wsum)
        var = float(wsq.sum() / wsum**2)
        if o < DSR_MIN_COUNT:
            est = lo = hi = np.nan
            note = f"total count {o:g} < {DSR_MIN_COUNT}: DSR not calculated (PHE rule)"
        else:
            scale = np.sqrt(var / o)
            est = value * multiplier
            lo = (value + scale * (float(byar_lower(o, c)) - o)) * multiplier
            hi = (value + scale * (float(byar_upper(o, c)) - o)) * multiplier
            note = ""
        rows.append(
            {
                **key,
                "numerator": o,
                "denominator": ns.sum(),
                "estimate": est,
                "lower": lo,
                "upper": hi,
                "conf": c,
                "method": "Dobson",
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=[*by_, *OUTPUT_COLUMNS, "note"])


def _esp_bands() -> list[str]:
    from nsv_eval.reference import AGE_BANDS

    return list(AGE_BANDS)


def _reference_values(
    data: pd.DataFrame,
    ref: str | pd.Series | Sequence[float] | np.ndarray,
    name: str,
    by: list[str],
    strata: str,
) -> np.ndarray:
    """Resolve a reference numerator/denominator given as column, labelled Series or vector."""
    if isinstance(ref, str):
        check_columns(data, [ref])
        return numeric_column(data, ref, by)
    if isinstance(ref, pd.Series) and not isinstance(ref.index, pd.RangeIndex):
        check_columns(data, [strata])
        labels = data[strata]
        missing = sorted(set(labels.astype(str)) - set(ref.index.astype(str)))
        if missing:
            raise InputError(f"{name} has no value for strata {missing} of column {strata!r}.")
        values = ref.copy()
        values.index = values.index.astype(str)
        out = values.reindex(labels.astype(str)).to_numpy(float)
    else:
        vec = np.asarray(ref, dtype=float)
        sizes = {len(sub) for _, sub in iter_groups(data, by)}
        if len(sizes) != 1 or vec.shape != (sizes.pop(),):
            raise InputError(
                f"{name} given as a vector must have one value per row of each group (PHE's "
                "ref_type='vector': matched by position), and every group the same number of "
                "rows; use a column name or a Series indexed by stratum instead."
            )
        out = np.empty(len(data))
        for _, sub in iter_groups(data, by):
            out[data.index.get_indexer(sub.index)] = vec
    if np.isnan(out).any() or (out < 0).any():
        raise InputError(f"{name} must be non-negative numbers without NaN.")
    return out


def isr(
    data: pd.DataFrame,
    numerator: str,
    denominator: str,
    ref_numerator: str | pd.Series | Sequence[float] | np.ndarray,
    ref_denominator: str | pd.Series | Sequence[float] | np.ndarray,
    *,
    by: str | Sequence[str] | None = None,
    conf: float = 0.95,
    multiplier: float | None = None,
    ratio: bool = False,
    strata: str = "age_band",
) -> pd.DataFrame:
    """Indirectly standardised rate or ratio (PHE's ``phe_isr`` / ``phe_smr``).

    Expected events ``E = Σ n_i × R_i / P_i`` from the reference stratum rates; the ratio is
    ``O / E``. With ``ratio=False`` the result is the indirectly standardised rate
    ``O / E × (ΣR / ΣP) × multiplier``; with ``ratio=True`` the standardised ratio
    ``O / E × multiplier`` (100 for an SMR, 1 for a plain ratio). Limits scale the exact
    (O < 10) or Byar (O >= 10) limits of O in the same way.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per stratum (age band ...) within each group.
    numerator, denominator : str
        Observed events and population per stratum.
    ref_numerator, ref_denominator
        Reference events and population per stratum (e.g. the whole country), given as
        a column name of ``data`` (PHE ``ref_type="field"``), a Series indexed by the labels
        of ``strata``, or a plain vector with one value per row of each group matched by
        position (PHE ``ref_type="vector"``).
    by : str or sequence of str, optional
        Grouping columns; one row per group.
    conf : float, default 0.95
        Confidence level.
    multiplier : float, optional
        Default 100000 for rates and 1 for ratios.
    ratio : bool, default False
        Return the standardised ratio instead of the standardised rate.
    strata : str, default "age_band"
        Stratum column, used when the reference is a labelled Series.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``numerator`` and ``observed`` (O), ``denominator`` (population),
        ``expected`` (E), ``estimate``, ``lower``, ``upper``, ``conf``, ``method``.

    References
    ----------
    Breslow NE, Day NE (1987) Statistical methods in cancer research II, ch. 2. PHE,
    Technical Guide: Confidence Intervals (2018).
    """
    data = check_frame(data)
    by_ = as_by(by)
    check_columns(data, [numerator, denominator, *by_])
    c = check_conf(conf)
    mult = float(multiplier) if multiplier is not None else (1.0 if ratio else 100_000.0)
    x = numeric_column(data, numerator, by_)
    n = numeric_column(data, denominator, by_)
    rx = _reference_values(data, ref_numerator, "ref_numerator", by_, strata)
    rn = _reference_values(data, ref_denominator, "ref_denominator", by_, strata)
    if ((rn <= 0) & (rx > 0)).any():
        raise InputError("ref_denominator is 0 in a stratum with reference events.")
    frame = pd.DataFrame({"x": x, "n": n, "rx": rx, "rn": rn}, index=data.index)
    for b in by_:
        frame[b] = data[b]
    rows = []
    for key, sub in iter_groups(frame, by_):
        with np.errstate(divide="ignore", invalid="ignore"):
            ref_rate = np.where(sub["rn"] > 0, sub["rx"] / sub["rn"], 0.0)
        e = float((sub["n"].to_numpy(float) * ref_rate).sum())
        o = float(sub["x"].sum())
        if e <= 0:
            raise InputError(
                f"Expected count is 0 for {group_label(key)}: no reference events in its strata."
            )
        scale = mult if ratio else float(sub["rx"].sum() / sub["rn"].sum()) * mult
        lo, hi = poisson_limits(np.array([o]), c)
        rows.append(
            {
                **key,
                "numerator": o,
                "denominator": float(sub["n"].sum()),
                "observed": o,
                "expected": e,
                "estimate": o / e * scale,
                "lower": lo[0] / e * scale,
                "upper": hi[0] / e * scale,
                "conf": c,
                "method": str(method_label(o)),
            }
        )
    cols = [*by_, "numerator", "denominator", "observed", "expected", *OUTPUT_COLUMNS[2:]]
    return pd.DataFrame(rows, columns=cols)


__all__ = ["dsr", "isr", "DSR_MIN_COUNT"]
