"""Regression discontinuity: sharp and fuzzy local-polynomial RD and the manipulation test.

The estimation is done by the maintained reference implementations of the method's authors:
``rdrobust`` (Calonico, Cattaneo & Titiunik 2014, Econometrica 82(6):2295-2326; Calonico,
Cattaneo, Farrell & Titiunik 2017, Stata Journal 17(2):372-404) for the local-polynomial
estimate with MSE-optimal bandwidth and robust bias-corrected confidence intervals, and
``rddensity`` (Cattaneo, Jansson & Ma 2020, JASA 115:1449-1455) for the density test. This
module wraps them into the shared :class:`~nsv_eval.stats.designs.base.EffectResult`, adds
the first stage and reduced form of a fuzzy design, placebo cutoffs and binned means for
the figure, and validates the input.

Reported like the package recommends: the point estimate is the conventional local-linear
estimate, the interval and p-value are the robust bias-corrected ones. Fits with clusters
(study 8's person × month panel) are computed by :mod:`~nsv_eval.stats.designs.rd_lean`,
which reproduces rdrobust's numbers from sufficient statistics in a fraction of its memory
and time (tested against the library in ``tests/test_rd_lean.py``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.rd_lean import LeanFit, lean_fit, lean_fuzzy_fits


def _check(data: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(f"rd: data lacks column(s) {missing}")
    for c in cols:
        kind = data[c].dtype.kind if isinstance(data[c].dtype, np.dtype) else ""
        if kind in "iub":
            continue  # numeric without missing values
        if kind == "f":  # numeric: only missing values to find (no converted copy)
            nan = np.isnan(data[c].to_numpy())
            if nan.any():
                raise ValueError(f"rd: column {c!r} has a missing value (row {nan.argmax()})")
            continue
        v = pd.to_numeric(data[c], errors="coerce")
        bad = v.isna() & data[c].notna()
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            raise ValueError(f"rd: column {c!r} is not numeric (row {i}: {data[c].iloc[i]!r})")
        if data[c].isna().any():
            i = data[c].isna().to_numpy().nonzero()[0][0]
            raise ValueError(f"rd: column {c!r} has a missing value (row {i})")


def _quiet(fn, *args, **kwargs):
    """Call an rd* function with its progress prints and warnings silenced."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


_LIBRARY_VCE: list = []
"""The library's ``rdrobust_vce`` while :func:`_fast_cluster_vce` replaces it."""


def _cr1_meat(
    d, s, RX, res, C, invG=None, sqrtRX=None, crv2=False, k_override=None, cluster_idx=None, G=None
):
    """``rdrobust.funs.rdrobust_vce`` with its standard cluster-robust (CR1) branch vectorised.

    Written by hand because rdrobust 2.1 sums the CR1 meat in a Python loop over clusters
    (one ``np.outer`` per cluster): with persons as clusters that loop is most of the time of
    a national fit (≈ 80 % at scale 0.02, 10⁵ clusters; linear in the number of persons).
    The same sums are formed here with one ``np.bincount`` per column: per cluster
    ``u_g = Σ_i RX_i (res_i · s)`` and ``M = w Σ_g u_g u_gᵀ`` with ``w = (n−1)/(n−k) ·
    g/(g−1)``, exactly the library's formula (only the order of the floating-point
    additions differs: relative differences ~1e-15, checked in ``tests/test_rd.py``). Every
    other branch (no cluster, CRV2/CRV3) is the library's own code.
    """
    if C is None or invG is not None:
        return _LIBRARY_VCE[0](
            d,
            s,
            RX,
            res,
            C,
            invG=invG,
            sqrtRX=sqrtRX,
            crv2=crv2,
            k_override=k_override,
            cluster_idx=cluster_idx,
            G=G,
        )
    C_flat = np.asarray(C).reshape(-1)
    n = len(C_flat)
    k = RX.shape[1] if RX.ndim > 1 else 1
    k_df = k if k_override is None else k_override
    _, inv = np.unique(C_flat, return_inverse=True)
    g = int(inv.max()) + 1 if n else 0
    w = ((n - 1) / (n - k_df)) * (g / (g - 1)) if g > 1 else np.nan
    res = np.asarray(res, dtype=float).reshape(n, -1)
    r = res[:, 0] if d == 0 else res @ np.asarray(s, dtype=float).reshape(-1)
    RX = np.asarray(RX, dtype=float).reshape(n, k)
    U = np.column_stack([np.bincount(inv, weights=RX[:, j] * r, minlength=g) for j in range(k)])
    return w * (U.T @ U)


@contextlib.contextmanager
def _fast_cluster_vce():
    """Use :func:`_cr1_meat` inside rdrobust for the duration of one fit (the three rdrobust
    modules bind ``rdrobust_vce`` by name); restored afterwards, also on error."""
    # by module path: the package re-exports the functions rdrobust and rdbwselect under the
    # names of their modules
    mods = [importlib.import_module(f"rdrobust.{m}") for m in ("funs", "rdbwselect", "rdrobust")]
    saved = [m.rdrobust_vce for m in mods]
    if any(f is _cr1_meat for f in saved):
        raise RuntimeError("rdrobust_vce is already replaced (nested fit?)")
    _LIBRARY_VCE[:] = [saved[0]]
    try:
        for m in mods:
            m.rdrobust_vce = _cr1_meat
        yield
    finally:
        for m, f in zip(mods, saved, strict=True):
            m.rdrobust_vce = f


@dataclass
class RDFit(LeanFit):
    """One ``rdrobust`` fit: conventional estimate, robust interval, bandwidths, counts
    (the fields of :class:`~nsv_eval.stats.designs.rd_lean.LeanFit`, declared once there:
    the lean path fills the same numbers)."""

    def row(self, term: str) -> dict:
        return {
            "term": term,
            "estimate": self.estimate,
            "lower": self.lower,
            "upper": self.upper,
            "p_value": self.p_value,
            "se": self.se,
            "se_robust": self.se_robust,
            "bandwidth": self.h,
            "n_left": self.n_left,
            "n_right": self.n_right,
        }


def rd_fit(
    y: np.ndarray,
    x: np.ndarray,
    cutoff: float = 0.0,
    *,
    fuzzy: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    h: float | None = None,
    p: int = 1,
    kernel: str = "triangular",
    bwselect: str = "mserd",
    conf: float = 0.95,
    engine: str = "auto",
) -> RDFit:
    """One local-polynomial RD fit with ``rdrobust`` (thin typed wrapper).

    With ``cluster`` (CR1 variance) and the default ``bwselect``, the fit is computed by
    :func:`~nsv_eval.stats.designs.rd_lean.lean_fit` — rdrobust's numbers from sufficient
    statistics, a fraction of the library's memory and time on a person × month panel —
    unless ``engine="library"``; every other case (and any case the lean path does not
    reproduce) is the library's own fit.

    Parameters
    ----------
    y, x : numpy.ndarray
        Outcome and running variable (units with ``x >= cutoff`` are on the right side).
    cutoff : float
        The cutoff.
    fuzzy : numpy.ndarray, optional
        Treatment received (fuzzy RD: the estimate is the jump in ``y`` over the jump in it).
    cluster : numpy.ndarray, optional
        Cluster ids (e.g. person, when persons contribute several rows).
    weights : numpy.ndarray, optional
        Observation weights (e.g. person-time, for a rate per person-time).
    h : float, optional
        Bandwidth; default the data-driven ``bwselect`` choice.
    p : int
        Order of the local polynomial (1 = local linear).
    kernel : {"triangular", "epanechnikov", "uniform"}
    bwselect : str
        ``rdrobust`` bandwidth selector (default ``"mserd"``: one MSE-optimal bandwidth).
    conf : float
        Confidence level.
    engine : {"auto", "library"}
        ``"library"`` always calls rdrobust (the reference the lean path is tested against).

    Returns
    -------
    RDFit
    """
    kern = {"triangular": "tri", "epanechnikov": "epa", "uniform": "uni"}.get(kernel)
    if kern is None:
        raise ValueError(f"rd: unknown kernel {kernel!r}")
    if engine not in ("auto", "library"):
        raise ValueError(f"rd: unknown engine {engine!r}")
    if cluster is not None and engine == "auto":
        lean = lean_fit(
            y, x, cutoff, cluster=cluster, fuzzy=fuzzy, weights=weights, h=h, p=p,
            kernel=kern, bwselect=bwselect, level=100 * conf,
        )  # fmt: skip
        if lean is not None:
            return RDFit(**vars(lean))
    from rdrobust import rdrobust  # here: a process with only lean fits never imports it

    kw: dict = dict(c=cutoff, p=p, kernel=kern, level=100 * conf)
    if h is not None:
        kw["h"] = float(h)
    else:
        kw["bwselect"] = bwselect
    if fuzzy is not None:
        kw["fuzzy"] = np.asarray(fuzzy, dtype=float)
    if cluster is not None:
        kw["cluster"] = np.asarray(cluster)
        kw["vce"] = "nn"
    if weights is not None:
        kw["weights"] = np.asarray(weights, dtype=float)
    with _fast_cluster_vce() if cluster is not None else contextlib.nullcontext():
        r = _quiet(rdrobust, np.asarray(y, dtype=float), np.asarray(x, dtype=float), **kw)
    coef = r.coef.iloc[:, 0].to_numpy()
    se = r.se.iloc[:, 0].to_numpy()
    ci = r.ci.to_numpy()
    pv = r.pv.iloc[:, 0].to_numpy()
    return RDFit(
        estimate=float(coef[0]),
        se=float(se[0]),
        lower=float(ci[2, 0]),
        upper=float(ci[2, 1]),
        p_value=float(pv[2]),
        se_robust=float(se[2]),
        h=float(r.bws.iloc[0, 0]),
        b=float(r.bws.iloc[1, 0]),
        n_left=int(r.N_h[0]),
        n_right=int(r.N_h[1]),
    )


@dataclass(kw_only=True)
class RDResult(EffectResult):
    """Result of :func:`rd`: ``effect`` (sharp) or ``late`` with ``first_stage`` and
    ``reduced_form`` (fuzzy).

    Attributes
    ----------
    cutoff : float
        The cutoff.
    bandwidth, bandwidth_bias : float
        Main and bias-correction bandwidths of the headline fit.
    mde : float
        Minimum detectable effect (2.8 x the robust SE of the headline).
    bins : pandas.DataFrame
        Binned means of the outcome (:func:`binned_means`); ``bins_treatment`` those of the
        treatment (fuzzy RD, else None).
    outcome : str
        The outcome column.
    fuzzy : bool
        Fuzzy (True) or sharp design.
    """

    cutoff: float
    bandwidth: float
    bandwidth_bias: float
    mde: float
    bins: pd.DataFrame = field(repr=False)
    bins_treatment: pd.DataFrame | None = field(default=None, repr=False)
    outcome: str
    fuzzy: bool

    def plot(
        self,
        ax=None,
        *,
        label_y: str | None = None,
        label_x: str | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Binned means with the local-linear fit on each side within the bandwidth.

        ``colors`` (keys ``left``, ``right``, ``cutoff``) override the defaults (entries of
        the rcParams colour cycle).
        """
        import matplotlib.pyplot as plt

        col = {"left": "C0", "right": "C3", "cutoff": "C9", **(colors or {})}
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        bins = self.bins
        c = self.cutoff
        h = self.bandwidth
        for side, colour in ((bins["x"] < c, col["left"]), (bins["x"] >= c, col["right"])):
            b = bins[side]
            ax.scatter(b["x"], b["mean"], s=18, color=colour, zorder=3)
            w = b[(b["x"] - c).abs() <= h]
            if len(w) >= 2:
                k = np.clip(1 - (w["x"] - c).abs() / h, 1e-9, None) * w["n"]
                coef = np.polyfit(w["x"], w["mean"], 1, w=np.sqrt(k))
                lo, hi = (w["x"].min(), c) if (w["x"] < c).all() else (c, w["x"].max())
                xs = np.linspace(lo, hi, 20)
                ax.plot(xs, np.polyval(coef, xs), color=colour, lw=2)
        ax.axvline(c, color=col["cutoff"], ls="--", lw=1)
        if label_y:
            ax.set_ylabel(label_y)
        if label_x:
            ax.set_xlabel(label_x)
        return ax.figure


def binned_means(
    data: pd.DataFrame,
    outcome: str,
    running: str,
    weights: str | None = None,
    n_bins: int = 40,
    cutoff: float | None = None,
) -> pd.DataFrame:
    """Mean of ``outcome`` per value of a discrete ``running`` variable, or per equal-width
    bin (``n_bins`` over the range) when it has more than ``2 * n_bins`` values (weighted).

    Returns
    -------
    pandas.DataFrame
        ``x``, ``n`` (rows), ``weight`` (sum of weights), ``mean``.
    """
    fast = _binned_sums(data, outcome, running, weights, n_bins, cutoff)
    if fast is not None:
        return fast
    w = data[weights] if weights else pd.Series(1.0, index=data.index)
    x = data[running]
    if x.nunique() > 2 * n_bins:  # a continuous running variable: equal-width bins per side
        mids, idx = _equal_width_bins(x.to_numpy(float), n_bins, cutoff)
        x = pd.Series(mids[idx], index=x.index)
    g = (
        pd.DataFrame({"x": x, "w": w, "yw": data[outcome] * w})
        .groupby("x", sort=True)
        .agg(n=("w", "size"), weight=("w", "sum"), yw=("yw", "sum"))
        .reset_index()
    )
    g["mean"] = g["yw"] / g["weight"]
    return g.drop(columns="yw")


def _equal_width_bins(x: np.ndarray, n_bins: int, cutoff: float | None):
    """Bin mid-points (``n_bins`` equal-width bins, half on each side of the cutoff; default
    the median) and each row's bin."""
    c = float(cutoff) if cutoff is not None else float(pd.Series(x).median())
    half = max(n_bins // 2, 1)
    e_left = np.linspace(min(float(x.min()), c), c, half + 1)
    e_right = np.linspace(c, max(float(x.max()), c), half + 1)
    edges = np.concatenate([e_left, e_right[1:]])
    mids = 0.5 * (edges[1:] + edges[:-1])
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(mids) - 1)
    return mids, idx


BIN_BLOCK = 1 << 16
"""Rows per partial sum in :func:`_block_sums` (the partials are added exactly)."""


def _block_sums(
    codes: np.ndarray, size: int, y: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code ``0 … size-1``: rows, sum of ``w`` (rows when None) and of ``y × w``.

    ``np.bincount`` over blocks of :data:`BIN_BLOCK` rows, the blocks' partial sums added
    with ``math.fsum`` (exactly rounded): as accurate as pandas' compensated (Kahan) group
    sums — one plain bincount over millions of rows differs from them by ~1e-11 relative.
    """
    nb = -(-len(codes) // BIN_BLOCK)
    cnt = np.zeros(size, dtype=np.int64)
    pw = np.empty((nb if w is not None else 0, size))
    pyw = np.empty((nb, size))
    for i, a in enumerate(range(0, len(codes), BIN_BLOCK)):
        cb = codes[a : a + BIN_BLOCK]
        cnt += np.bincount(cb, minlength=size)
        yb = y[a : a + BIN_BLOCK].astype(float, copy=False)
        if w is None:
            pyw[i] = np.bincount(cb, weights=yb, minlength=size)
        else:
            wb = w[a : a + BIN_BLOCK]
            pw[i] = np.bincount(cb, weights=wb, minlength=size)
            pyw[i] = np.bincount(cb, weights=yb * wb, minlength=size)

    def fsum(parts: np.ndarray) -> np.ndarray:
        return np.array([math.fsum(parts[:, j]) for j in range(size)])

    return cnt, (cnt.astype(float) if w is None else fsum(pw)), fsum(pyw)


def _binned_sums(
    data: pd.DataFrame,
    outcome: str,
    running: str,
    weights: str | None,
    n_bins: int,
    cutoff: float | None,
) -> pd.DataFrame | None:
    """:func:`binned_means` by ``np.bincount`` (written by hand because the pandas
    group-by of a national panel — ~18 million rows — builds a frame of three row-length
    columns and hashes every row: seconds; this is a few passes over the columns). The
    same table, its sums to ~1e-15 relative (:func:`_block_sums`); None where the pandas
    path decides: non-numeric or missing values, integer weights (integer sums), a few
    non-integer values of the running variable."""

    def numeric(col: str, kinds: str) -> np.ndarray | None:
        v = data[col]
        if not isinstance(v.dtype, np.dtype) or v.dtype.kind not in kinds:
            return None
        a = v.to_numpy()
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return None
        return a

    xa = numeric(running, "iuf")
    ya = numeric(outcome, "iufb")
    wa = numeric(weights, "f") if weights else None
    if xa is None or ya is None or (weights and wa is None) or len(xa) == 0:
        return None
    lo, hi = xa.min(), xa.max()
    span = float(hi) - float(lo)
    integer = span < 1 << 16 and (
        xa.dtype.kind in "iu"
        or all(
            np.array_equal(np.floor(b), b)
            for b in (xa[a : a + BIN_BLOCK] for a in range(0, len(xa), BIN_BLOCK))
        )
    )
    if integer:
        codes = np.empty(len(xa), dtype=np.int32)
        np.subtract(xa, lo, out=codes, casting="unsafe")
        cnt, weight, yw = _block_sums(codes, int(span) + 1, ya, wa)
        present = np.flatnonzero(cnt)
        if len(present) <= 2 * n_bins:  # a discrete running variable: a row per value
            xs = (present + lo).astype(xa.dtype)
            if xa.dtype.kind == "f" and lo <= 0 <= hi:
                zero = np.flatnonzero(xa == 0)
                if zero.size:  # the first zero, as pandas keeps it (0.0 or -0.0)
                    xs[xs == 0] = xa[zero[0]]
            return _bin_table(xs, cnt[present], weight[present], yw[present])
        del codes
    elif len(pd.unique(xa)) <= 2 * n_bins:
        return None  # a few non-integer values: the pandas path
    mids, idx = _equal_width_bins(xa.astype(float, copy=False), n_bins, cutoff)
    umids, inv = np.unique(mids, return_inverse=True)  # equal mid-points are one group
    cnt, weight, yw = _block_sums(inv[idx], len(umids), ya, wa)
    present = np.flatnonzero(cnt)
    return _bin_table(umids[present], cnt[present], weight[present], yw[present])


def _bin_table(xs, n, weight, yw) -> pd.DataFrame:
    g = pd.DataFrame({"x": xs, "n": n.astype(np.int64), "weight": weight})
    g["mean"] = yw / weight
    return g


def _constant(v: pd.Series) -> bool:
    """Fewer than two distinct values (``nunique() < 2``; a numeric column without missing
    values by its minimum and maximum, no hashing of the rows)."""
    if isinstance(v.dtype, np.dtype) and v.dtype.kind in "iufb":
        a = v.to_numpy()
        return len(a) == 0 or bool(a.min() == a.max())
    return v.nunique() < 2


def _fuzzy_fits(y, x, cutoff, d, h, common: dict) -> tuple[RDFit, RDFit, RDFit]:
    """The fuzzy fit, then its first stage and reduced form at its bandwidth (the sharp
    fits of ``d`` and of ``y``): with clusters from one set of sums
    (:func:`~nsv_eval.stats.designs.rd_lean.lean_fuzzy_fits`; the numbers of three
    :func:`rd_fit` calls), a fit off the lean path by :func:`rd_fit` as before."""
    lean = None
    if common["cluster"] is not None:
        kern = {"triangular": "tri", "epanechnikov": "epa", "uniform": "uni"}.get(common["kernel"])
        if kern is None:
            raise ValueError(f"rd: unknown kernel {common['kernel']!r}")
        lean = lean_fuzzy_fits(
            y, x, cutoff, fuzzy=d, cluster=common["cluster"], weights=common["weights"],
            h=h, p=common["p"], kernel=kern, bwselect=common["bwselect"],
            level=100 * common["conf"],
        )  # fmt: skip
    if lean is None:  # the library's fuzzy fit (the lean path has just declined it)
        engine = "library" if common["cluster"] is not None else "auto"
        main = rd_fit(y, x, cutoff, fuzzy=d, h=h, engine=engine, **common)
        first = rd_fit(d, x, cutoff, h=main.h, **common)
        reduced = rd_fit(y, x, cutoff, h=main.h, **common)
        return main, first, reduced
    lean_main, lean_first, lean_reduced = lean
    main = RDFit(**vars(lean_main))
    first = (
        RDFit(**vars(lean_first))
        if lean_first is not None
        else rd_fit(d, x, cutoff, h=main.h, engine="library", **common)
    )
    reduced = (
        RDFit(**vars(lean_reduced))
        if lean_reduced is not None
        else rd_fit(y, x, cutoff, h=main.h, engine="library", **common)
    )
    return main, first, reduced


def rd(
    data: pd.DataFrame,
    outcome: str,
    running: str,
    cutoff: float = 0.0,
    *,
    treatment: str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    h: float | None = None,
    p: int = 1,
    kernel: str = "triangular",
    bwselect: str = "mserd",
    conf: float = 0.95,
) -> RDResult:
    """Sharp or fuzzy regression discontinuity (local polynomial, robust bias-corrected CI).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (or unit-period, with ``cluster``).
    outcome, running : str
        Column names of the outcome and the running variable.
    cutoff : float
        Rows with ``running >= cutoff`` are on the treated side.
    treatment : str, optional
        Treatment actually received: a fuzzy RD. Then the headline ``late`` is the local
        average effect for compliers (reduced-form jump / first-stage jump), and the table
        also holds ``first_stage`` and ``reduced_form`` (same bandwidth as the LATE).
    cluster, weights : str, optional
        Columns of cluster ids and observation weights.
    h : float, optional
        Bandwidth (default: MSE-optimal by ``bwselect``).
    p, kernel, bwselect, conf
        See :func:`rd_fit`.

    Returns
    -------
    RDResult
        ``table()``: ``term``, ``estimate`` (conventional), ``lower``/``upper``/``p_value``
        (robust bias-corrected), ``se``, ``se_robust``, ``bandwidth``, ``n_left``,
        ``n_right``. Attributes ``bins``, ``cutoff``, ``bandwidth``, ``mde`` (2.8 x the
        robust SE of the headline: the true effect that a 5 % two-sided test detects with
        80 % power).

    Raises
    ------
    ValueError
        Missing or non-numeric columns, or no observations on one side of the cutoff.
    """
    cols = [outcome, running] + [c for c in (treatment, weights) if c]
    _check(data, cols)
    if cluster and cluster not in data.columns:
        raise ValueError(f"rd: data lacks cluster column {cluster!r}")
    x = data[running].to_numpy(float)
    left, right = int((x < cutoff).sum()), int((x >= cutoff).sum())
    if left < 5 or right < 5:
        raise ValueError(
            f"rd: need observations on both sides of the cutoff {cutoff} in column "
            f"{running!r} (left {left}, right {right})"
        )
    y = data[outcome].to_numpy(float)
    for col in [outcome] + ([treatment] if treatment else []):
        if _constant(data[col]):
            raise ValueError(f"rd: column {col!r} is constant; there is no jump to estimate")
    cl = data[cluster].to_numpy() if cluster else None
    wt = data[weights].to_numpy(float) if weights else None
    common: dict[str, Any] = dict(
        cluster=cl, weights=wt, p=p, kernel=kernel, bwselect=bwselect, conf=conf
    )
    rows = []
    if treatment is None:
        main = rd_fit(y, x, cutoff, h=h, **common)
        rows.append(main.row("effect"))
        term, scale = "effect", "difference"
    else:
        d = data[treatment].to_numpy(float)
        main, first, reduced = _fuzzy_fits(y, x, cutoff, d, h, common)
        if abs(first.estimate) < 1e-9:
            raise ValueError(f"rd: no jump in {treatment!r} at the cutoff (first stage 0)")
        rows += [main.row("late"), first.row("first_stage"), reduced.row("reduced_form")]
        term, scale = "late", "difference"
    return RDResult(
        design="rd_fuzzy" if treatment else "rd",
        effects=pd.DataFrame(rows),
        main_term=term,
        scale=scale,
        conf=conf,
        cutoff=cutoff,
        bandwidth=main.h,
        bandwidth_bias=main.b,
        mde=mde(main.se_robust, conf),
        bins=binned_means(data, outcome, running, weights, cutoff=cutoff),
        bins_treatment=(
            binned_means(data, treatment, running, cutoff=cutoff) if treatment else None
        ),
        outcome=outcome,
        fuzzy=treatment is not None,
    )


def rd_density(x: np.ndarray, cutoff: float = 0.0) -> pd.DataFrame:
    """Manipulation test: is the density of the running variable continuous at the cutoff?

    ``rddensity`` (Cattaneo, Jansson & Ma 2020) local-polynomial density estimates on each
    side with the jackknife robust test.

    Returns
    -------
    pandas.DataFrame
        One row: ``density_left``, ``density_right``, ``t_stat``, ``p_value``, ``h_left``,
        ``h_right``, ``n_left``, ``n_right``.
    """
    from rddensity import rddensity

    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).all():
        raise ValueError("rd_density: the running variable has missing or infinite values")
    if (x < cutoff).sum() < 10 or (x >= cutoff).sum() < 10:
        raise ValueError(f"rd_density: fewer than 10 observations on a side of {cutoff}")
    t = _quiet(rddensity, x, c=cutoff)
    return pd.DataFrame(
        [
            {
                "density_left": float(t.hat["left"]),
                "density_right": float(t.hat["right"]),
                "t_stat": float(t.test["t_jk"]),
                "p_value": float(t.test["p_jk"]),
                "h_left": float(t.h["left"]),
                "h_right": float(t.h["right"]),
                "n_left": int(t.n["eff_left"]),
                "n_right": int(t.n["eff_right"]),
            }
        ]
    )


def rd_placebo(
    data: pd.DataFrame,
    outcome: str,
    running: str,
    cutoffs: list[float],
    **kwargs,
) -> pd.DataFrame:
    """The same RD at placebo cutoffs where nothing happens (expect no jump).

    Each placebo uses only the rows on the side of the real cutoff where the placebo lies
    (``kwargs['true_cutoff']``, default 0), so the real jump cannot leak in.

    Returns
    -------
    pandas.DataFrame
        One row per placebo cutoff: ``cutoff`` and the columns of :meth:`RDResult.table`.
    """
    true_c = kwargs.pop("true_cutoff", 0.0)
    out = []
    for c in cutoffs:
        side = data[running] < true_c if c < true_c else data[running] >= true_c
        res = rd(data[side], outcome, running, c, **kwargs)
        row = res.main_effect().to_dict()
        row["cutoff"] = c
        out.append(row)
    cols = ["cutoff"] + [k for k in out[0] if k != "cutoff"] if out else ["cutoff"]
    return pd.DataFrame(out, columns=cols)


def mde(se: float, conf: float = 0.95, power: float = 0.8) -> float:
    """Minimum detectable effect from a standard error: (z_{1-a/2} + z_power) x SE
    (2.80 x SE for a 5 % two-sided test with 80 % power)."""
    from scipy.stats import norm

    if not (se > 0 and math.isfinite(se)):
        return math.nan
    return float((norm.ppf(0.5 + conf / 2) + norm.ppf(power)) * se)
