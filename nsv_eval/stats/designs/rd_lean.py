"""A lean local-polynomial RD fit with person-clustered (CR1) variance that reproduces
``rdrobust`` (its defaults: ``bwselect="mserd"``, ``masspoints="adjust"``, ``stdvars``,
``bwrestrict``, ``scaleregul=1``, ``deriv=0``, ``q=p+1``, no covariates) for
:func:`nsv_eval.stats.designs.rd.rd_fit`.

Why written by hand: rdrobust 2.1 builds many float64 copies of the design matrices of
every pilot and final fit (about 330 bytes per row for a fuzzy fit), which made the RD fits
of study 8 (≈ 18 million person-months at national scale) the peak of a whole batch
(7.6 GB) and most of its time. Every matrix of a local-polynomial fit is a function of the
running variable ``x`` only, times the row's weight; this module therefore works on

* per value of ``x``: the number of rows, the sums of the weights, of weight × outcome and
  of weight × treatment — from which every Gram matrix, coefficient, bias constant and
  bandwidth of rdrobust follows exactly (a few dozen values for a discrete running
  variable such as months from a birthday);
* per cluster × value of ``x`` ("cells"): the same three sums, from which the
  cluster-robust meat ``Σ_g u_g u_gᵀ`` (``u_g`` = Σ over the cluster's rows of design row
  × residual) of each fit follows with one small matrix product per block of clusters.

The steps, their order, the kernels, the degrees-of-freedom factor ``(n−1)/(n−k)·g/(g−1)``
(rows and clusters with a positive weight inside the fit's bandwidth), the mass-point
check, the pilot bandwidths and every guard are those of ``rdrobust.rdrobust`` /
``rdrobust.rdbwselect._rdbwselect_compute`` / ``rdrobust.funs.rdrobust_bw`` (version 2.1);
only the order of the floating-point additions differs (bandwidths, estimates and
intervals agree with the library to ≤ 1e-8 relative, ``tests/test_rd_lean.py`` on several
data sets). Anything outside that path — no cluster, other bandwidth selectors, missing
values, degenerate pilots, a singular Gram matrix — returns ``None`` and the caller runs
the library itself.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve
from scipy.stats import norm

_EPS_PAD = 1 + np.sqrt(np.finfo(float).eps)
_KERNEL_CC = {"tri": 2.576, "epa": 2.34, "uni": 1.843}
CHUNK_CLUSTERS = 1 << 17
"""Clusters per block while a meat is summed (bounds the temporaries to a few MB a value)."""
DENSE_CELLS_PER_ROW = 2.0
"""The cluster × value grid is used when it has at most this many cells per row (a panel of
persons × months); otherwise the meat is summed row by row (a continuous running
variable)."""


class _Unsupported(Exception):
    """The case is outside the reproduced path: the caller runs ``rdrobust`` itself."""


@dataclass
class LeanFit:
    """The numbers of one local-polynomial RD fit (conventional estimate and SE, robust
    interval, p-value and SE, bandwidths, rows per side); :class:`~nsv_eval.stats.designs.rd.RDFit`
    is this with its table row."""

    estimate: float
    se: float
    lower: float
    upper: float
    p_value: float
    se_robust: float
    h: float
    b: float
    n_left: int
    n_right: int


def _kweight(x: np.ndarray, c: float, h: float, kernel: str) -> np.ndarray:
    # rdrobust.funs.rdrobust_kweight, the same operations (so the same zero weights)
    u = (x - c) / h
    if kernel == "epa":
        return (0.75 * (1 - u**2) * (abs(u) <= 1)) / h
    if kernel == "uni":
        return (0.5 * (abs(u) <= 1)) / h
    return ((1 - abs(u)) * (abs(u) <= 1)) / h


def _vander(u: np.ndarray, p: int) -> np.ndarray:
    out = np.empty((u.size, p + 1))
    out[:, 0] = 1.0
    for j in range(1, p + 1):
        out[:, j] = out[:, j - 1] * u
    return out


def _inv_chol(a: np.ndarray) -> np.ndarray:
    c, low = cho_factor(a, lower=True)
    return cho_solve((c, low), np.eye(a.shape[0]))


def _inv_chol_or_pinv(a: np.ndarray) -> np.ndarray:
    try:
        return _inv_chol(a)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a)


def _contiguous(mask: np.ndarray) -> slice:
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return slice(0, 0)
    if idx[-1] - idx[0] + 1 != idx.size:  # a kernel's support is an interval around c
        raise _Unsupported("non-contiguous kernel support")
    return slice(int(idx[0]), int(idx[-1]) + 1)


def _cluster_codes(cluster, n: int) -> tuple[np.ndarray, int]:
    """Cluster ids as codes ``0 … G-1`` (non-negative integer ids below ``2 n`` are used as
    they are: no copy of a panel's person numbers; unused numbers are empty clusters)."""
    c = np.asarray(cluster).reshape(-1)
    if len(c) != n:
        raise _Unsupported("cluster length")
    if c.dtype.kind in "iu" and n and c.min() >= 0 and c.max() < 2 * n:
        return c.astype(np.int64, copy=False), int(c.max()) + 1
    codes, uniques = pd.factorize(c)
    if (codes < 0).any():
        raise _Unsupported("cluster")  # missing cluster ids
    return codes, len(uniques)


def _std(y: np.ndarray, block: int = 1 << 20) -> float:
    """``np.std(y, ddof=1)`` without an n-row temporary (the deviations summed in blocks)."""
    mean = float(np.mean(y))
    ss = 0.0
    for a in range(0, len(y), block):
        dev = y[a : a + block] - mean
        ss += float(dev @ dev)
    return math.sqrt(ss / (len(y) - 1))


ROW_BLOCK = 1 << 20
"""Rows per block while the sums are formed (bounds the temporaries to a few MB)."""
INTEGER_SPAN = 1 << 16
"""A running variable whose values are integers spanning at most this many numbers is
coded as ``x − min`` (no hash factorisation of the rows)."""


class _Codes:
    """Each row's value number (the rank of its ``x`` among the distinct values), block by
    block of :data:`ROW_BLOCK` rows (``for a, b, codes in ...``) or all at once
    (:meth:`full`)."""

    def __init__(self, n: int, block, full: np.ndarray | None = None):
        self.n = n
        self._block = block
        self._full = full

    def __call__(self):
        for a in range(0, self.n, ROW_BLOCK):
            b = min(a + ROW_BLOCK, self.n)
            yield a, b, self._full[a:b] if self._full is not None else self._block(a, b)

    def full(self) -> np.ndarray:
        return self._full if self._full is not None else self._block(0, self.n)


def _integer_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, _Codes] | None:
    """:func:`_value_codes` for integer values in a span of at most :data:`INTEGER_SPAN`
    (a month or day number): code = ``x − min`` renumbered over the values present,
    computed block by block; None for any other ``x``."""
    n = len(x)
    lo, hi = float(x.min()), float(x.max())
    if not (lo.is_integer() and hi - lo < INTEGER_SPAN and max(-lo, hi) < 2.0**52):
        return None
    ilo, span = int(lo), int(hi - lo) + 1
    counts = np.zeros(span, dtype=np.int64)
    zero = None  # the first zero of x, as pandas.factorize keeps it (0.0 or -0.0)
    for a in range(0, n, ROW_BLOCK):
        xb = x[a : a + ROW_BLOCK]
        cb = xb.astype(np.int64)
        if not np.array_equal(cb, xb):
            return None  # a value that is not an integer
        if zero is None and lo <= 0.0 <= hi:
            z = np.flatnonzero(cb == 0)
            if z.size:
                zero = float(xb[z[0]])
        cb -= ilo
        counts += np.bincount(cb, minlength=span)
    present = counts > 0
    vals = (np.flatnonzero(present) + ilo).astype(float)
    if zero is not None:
        vals[vals == 0.0] = zero
    if present.all():

        def block(a: int, b: int) -> np.ndarray:
            cb = x[a:b].astype(np.int64)
            cb -= ilo
            return cb

    else:
        rank = np.cumsum(present) - 1

        def block(a: int, b: int) -> np.ndarray:
            return rank[x[a:b].astype(np.int64) - ilo]

    return vals, counts[present], _Codes(n, block)


def _value_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, _Codes]:
    """The distinct values of ``x`` in ascending order, their row counts and each row's
    value number (``x`` finite)."""
    fast = _integer_codes(x)
    if fast is not None:
        return fast
    codes, uniq = pd.factorize(x)
    order = np.argsort(uniq)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    vals = np.asarray(uniq, dtype=float)[order]
    xi = rank[codes]
    del codes
    return vals, np.bincount(xi, minlength=len(vals)), _Codes(len(x), None, xi)


class _Data:
    """The sufficient statistics of one RD data set (see the module docstring)."""

    def __init__(self, y, x, fuzzy, cluster, weights):
        n = len(x)
        if n < 20 or len(y) != n:
            raise _Unsupported("lengths")  # (the library's own path below 20 rows)
        x = np.asarray(x, dtype=float).reshape(-1)
        y = np.asarray(y, dtype=float).reshape(-1)
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise _Unsupported("missing values")  # the library drops them
        t = None
        if fuzzy is not None:
            t = np.asarray(fuzzy, dtype=float).reshape(-1)
            if len(t) != n or not np.isfinite(t).all():
                raise _Unsupported("fuzzy")
        fw = None
        if weights is not None:
            fw = np.asarray(weights, dtype=float).reshape(-1)
            if len(fw) != n or not np.isfinite(fw).all() or (fw < 0).any() or fw.sum() <= 0:
                raise _Unsupported("weights")
        cl_codes, G = _cluster_codes(cluster, n)
        self.G = G
        self.vals, cnt, codes = _value_codes(x)
        self.nv = nv = len(self.vals)
        self.n = n
        self.cnt = cnt.astype(float)
        pos = None if fw is None or (fw > 0).all() else fw > 0
        if pos is None:
            self.cntpos = self.cnt
        else:  # counts (sums of ones: exact in any order)
            self.cntpos = np.zeros(nv)
            for a, b, ci in codes():
                self.cntpos += np.bincount(ci[pos[a:b]], minlength=nv)
        self.x_sd = self._x_sd()
        self.y_sd = _std(y)
        self.t_sd = None if t is None else _std(t)
        self.y = self.t = None
        self.t_var_zero: tuple[bool, bool] = (False, False)
        self.dense = G * nv <= DENSE_CELLS_PER_ROW * n + 1000
        if self.dense:
            # cells = value × cluster (value-major: each value's clusters are one contiguous
            # row of the grids), summed block by block of rows with ``np.add.at``: the same
            # additions in the same (row) order as one ``np.bincount`` of all rows — equal
            # sums — without its n-row temporaries (cell numbers, weight × outcome), whose
            # fresh pages cost more system time than the sums themselves
            size = nv * G
            self.SYg = np.zeros(size)
            self.STg = None if t is None else np.zeros(size)
            self.SFg = np.zeros(size)
            posg = None if pos is None else np.zeros(size, dtype=bool)
            for a, b, ci in codes():
                cell = ci * np.int64(G)
                cell += cl_codes[a:b]
                fwb = None if fw is None else fw[a:b]
                np.add.at(self.SYg, cell, y[a:b] if fwb is None else fwb * y[a:b])
                if t is not None:
                    np.add.at(self.STg, cell, t[a:b] if fwb is None else fwb * t[a:b])
                np.add.at(self.SFg, cell, 1.0 if fwb is None else fwb)
                if posg is not None:
                    posg[cell[pos[a:b]]] = True
            self.SYg = self.SYg.reshape(nv, G)
            self.STg = None if self.STg is None else self.STg.reshape(nv, G)
            self.SFg = self.SFg.reshape(nv, G)
            # every weight positive: a cell has rows iff its weight sum > 0
            self.POSg = self.SFg > 0 if posg is None else posg.reshape(nv, G)
            self.SY = self.SYg.sum(axis=1)
            self.ST = None if self.STg is None else self.STg.sum(axis=1)
            self.SF = self.SFg.sum(axis=1)
        else:
            xi = codes.full()
            self.xi, self.cl, self.y, self.t, self.fw, self.pos = xi, cl_codes, y, t, fw, pos
            fy = y if fw is None else fw * y
            self.SY = np.bincount(xi, weights=fy, minlength=nv)
            del fy
            ft = None if t is None else (t if fw is None else fw * t)
            self.ST = None if ft is None else np.bincount(xi, weights=ft, minlength=nv)
            self.SF = self.cnt if fw is None else np.bincount(xi, weights=fw, minlength=nv)

    def outcome_view(self, treatment: bool) -> _Data:
        """The sums of a sharp fit on the same rows (same ``x``, clusters and weights): of
        the treatment as the outcome (``treatment``: a fuzzy design's first stage) or of
        the outcome (its reduced form) — the very arrays a ``_Data`` of those columns
        would hold (the same additions), shared instead of summed again."""
        if self.ST is None:
            raise ValueError("outcome_view: these sums have no treatment")
        v = copy.copy(self)
        if treatment:
            v.SY, v.y_sd = self.ST, self.t_sd
            if self.dense:
                v.SYg = self.STg
            else:
                v.y = self.t
        v.ST = v.t = v.t_sd = None
        if self.dense:
            v.STg = None
        v.t_var_zero = (False, False)
        return v

    def _x_sd(self) -> float:
        mean = float(self.cnt @ self.vals) / self.n
        return math.sqrt(float(self.cnt @ (self.vals - mean) ** 2) / (self.n - 1))

    def quantile2(self, probs) -> list[float]:
        # Hyndman-Fan type 2 of the sorted x, from the value counts (rdrobust's quantile_type2)
        cum = np.cumsum(self.cnt)
        out = []
        for prob in probs:
            h = self.n * prob
            j = int(np.floor(h))

            def at(i: int) -> float:
                return float(self.vals[np.searchsorted(cum, i, side="right")])

            out.append(0.5 * (at(j - 1) + at(j)) if h == j else at(j))
        return out

    def meat(self, sl: slice, F: np.ndarray, sy: float, st: float, bvec: np.ndarray, k_df: int):
        """CR1 meat ``w Σ_g u_g u_gᵀ`` of the rows whose value lies in ``sl`` (rows with a
        zero weight contribute nothing and are not counted, as in the library), where row
        ``i`` has design row ``fw_i F[v_i]`` and residual ``sy·y_i + st·t_i − bvec[v_i]``."""
        k = F.shape[1]
        M = np.zeros((k, k))
        n = float(self.cntpos[sl].sum())
        if self.dense:
            g = 0
            for a in range(0, self.G, CHUNK_CLUSTERS):
                b = min(a + CHUNK_CLUSTERS, self.G)
                Z = self.SYg[sl, a:b] * sy
                if st != 0.0 and self.STg is not None:
                    Z += self.STg[sl, a:b] * st
                Z -= bvec[:, None] * self.SFg[sl, a:b]
                U = F.T @ Z
                M += U @ U.T
                g += int(np.count_nonzero(self.POSg[sl, a:b].any(axis=0)))
        else:
            lo, hi = sl.start, sl.stop
            inside = (self.xi >= lo) & (self.xi < hi)
            Fa = np.zeros((self.nv, k))
            Fa[sl] = F
            ba = np.zeros(self.nv)
            ba[sl] = bvec
            r = self.y * sy
            if st != 0.0 and self.t is not None:
                r = r + self.t * st
            r = r - ba[self.xi]
            if self.fw is not None:
                r = r * self.fw
            r[~inside] = 0.0
            U = np.column_stack(
                [
                    np.bincount(self.cl, weights=Fa[self.xi, j] * r, minlength=self.G)
                    for j in range(k)
                ]
            )
            M = U.T @ U
            keep = inside if self.pos is None else inside & self.pos
            g = int(np.count_nonzero(np.bincount(self.cl[keep], minlength=self.G)))
        w = ((n - 1) / (n - k_df)) * (g / (g - 1)) if g > 1 else np.nan
        return w * M


def _side_var_zero(t: np.ndarray, left: np.ndarray) -> tuple[bool, bool]:
    """``np.var(T_side) == 0`` of the library, for each side — decided exactly only when the
    side is constant at 0 or 1 (then the library's variance is exactly 0) or not constant
    (then it is positive); another constant depends on the order of the additions."""
    out = []
    for side in (left, ~left):  # min and max in place (no copy of a side's rows)
        lo = float(np.min(t, where=side, initial=np.inf))
        hi = float(np.max(t, where=side, initial=-np.inf))
        if lo != hi:
            out.append(False)
        elif lo in (0.0, 1.0):
            out.append(True)
        else:
            raise _Unsupported("constant treatment on a side")
    return out[0], out[1]


class _Fit:
    def __init__(self, data: _Data, c: float, p: int, kernel: str, fuzzy: bool):
        self.d = data
        self.c = c
        self.p = p
        self.q = p + 1
        self.kernel = kernel
        self.fuzzy = fuzzy
        vals = data.vals
        self.split = int(np.searchsorted(vals, c, side="left"))  # first value >= c
        self.sides = (slice(0, self.split), slice(self.split, data.nv))

    # ------------------------------------------------------------------ bandwidth
    def _bw_side(self, side, o, nu, o_B, h_V, h_B, scale, use_t, cache):
        d = self.d
        vals = d.vals[side]
        X = vals / d.x_sd
        c = self.c / d.x_sd
        SF, SY = d.SF[side], d.SY[side] / d.y_sd
        ST = d.ST[side] if use_t else None
        cntpos = d.cntpos[side]
        nan_out = (np.nan, np.nan, np.nan, 1 / (2 * o + 3))

        def fit(h, order):
            K = _kweight(X, c, h, self.kernel)
            m = K > 0
            if np.count_nonzero(m & (cntpos > 0)) < order + 1:
                return None
            sl = _contiguous(m)
            Xs, Ks, SFs = X[sl], K[sl], SF[sl]
            R = _vander(Xs - c, order)
            a = Ks * SFs
            G = R.T @ (a[:, None] * R)
            SD = SY[sl][:, None] if ST is None else np.column_stack([SY[sl], ST[sl]])
            return sl, Xs, Ks, a, R, G, SD

        key = (o, nu)
        if key in cache:
            V_V, BConst, s = cache[key]
        else:
            f = fit(h_V, o)
            if f is None:
                raise _Unsupported("pilot not identified")  # the library returns NaN
            sl, Xs, Ks, a, R, G, SD = f
            invG = _inv_chol_or_pinv(G)
            beta = invG @ (R.T @ (Ks[:, None] * SD))
            if ST is None:
                s = np.array([1.0])
            else:
                tau_Y = math.factorial(nu) * beta[nu, 0]
                tau_T = math.factorial(nu) * beta[nu, 1]
                s = np.array([1 / tau_T, -(tau_Y / tau_T**2)])
            bvec = (R @ beta) @ s
            aux = self._meat(side, sl, R * Ks[:, None], s, bvec, o + 1)
            V_V = (invG @ aux @ invG)[nu, nu]
            v = R.T @ (a * ((Xs - c) / h_V) ** (o + 1))
            Hp = np.array([h_V**j for j in range(o + 1)])
            BConst = (Hp * (invG @ v))[nu]
            cache[key] = (V_V, BConst, s)
        if not np.isfinite(V_V):
            return nan_out
        if not (np.isfinite(h_B) and h_B > 0):
            return nan_out
        f = fit(h_B, o_B)
        if f is None:
            return nan_out
        sl, Xs, Ks, a, R, G, SD = f
        invG = _inv_chol_or_pinv(G)
        beta = invG @ (R.T @ (Ks[:, None] * SD))
        BWreg = 0
        if scale > 0:
            bvec = (R @ beta) @ s
            aux = self._meat(side, sl, R * Ks[:, None], s, bvec, o_B + 1)
            V_B = (invG @ aux @ invG)[-1, -1]
            BWreg = 3 * BConst**2 * V_B
        B = np.sqrt(2 * (o + 1 - nu)) * BConst * np.dot(s, beta[-1, :])
        V = (2 * nu + 1) * h_V ** (2 * nu + 1) * V_V
        R_ = scale * (2 * (o + 1 - nu)) * BWreg
        return V, B, R_, 1 / (2 * o + 3)

    def _meat(self, side, sl, F, s, bvec, k_df, y_scale=True):
        """Meat of side-local value range ``sl``; ``s`` weighs the (y, t) residual columns
        (y standardised in the bandwidth step)."""
        d = self.d
        start = side.start + sl.start
        gsl = slice(start, start + (sl.stop - sl.start))
        sy = s[0] / d.y_sd if y_scale else s[0]
        st = s[1] if len(s) > 1 else 0.0
        return d.meat(gsl, F, sy, st, bvec, k_df)

    def bandwidths(self) -> tuple[float, float]:
        d = self.d
        c = self.c
        p, q = self.p, self.q
        left, right = self.sides
        vals = d.vals
        N_l, N_r = float(d.cnt[left].sum()), float(d.cnt[right].sum())
        M_l, M_r = self.split, d.nv - self.split
        x_min, x_max = float(vals[0]), float(vals[-1])
        q25, q75 = d.quantile2([0.25, 0.75])
        x_iq = q75 - q25
        x_sd = d.x_sd
        c_bw = c / x_sd
        x_min_bw, x_max_bw = x_min / x_sd, x_max / x_sd
        range_l = float(np.abs(c - vals[0])) / x_sd
        range_r = float(np.abs(c - vals[-1])) / x_sd
        BWp = min(1.0, (x_iq / x_sd) / 1.349)
        bwcheck = None
        if 1 - M_l / N_l >= 0.2 or 1 - M_r / N_r >= 0.2:
            bwcheck = 10
        use_t = False
        if self.fuzzy:
            z_l, z_r = d.t_var_zero
            use_t = not (z_l or z_r)
        M = M_l + M_r
        C_c = _KERNEL_CC[self.kernel]
        cbw = C_c * BWp * M ** (-1 / 5)
        bw_max_l = abs(c_bw - x_min_bw)
        bw_max_r = abs(c_bw - x_max_bw)
        bw_max = max(bw_max_l, bw_max_r)
        cbw = min(cbw, bw_max)
        bw_min_l = bw_min_r = None
        if bwcheck is not None:
            uniq_l = vals[left][::-1] / x_sd
            uniq_r = vals[right] / x_sd
            bw_min_l = np.abs(uniq_l - c_bw)[min(bwcheck, M_l) - 1] * _EPS_PAD
            bw_min_r = np.abs(uniq_r - c_bw)[min(bwcheck, M_r) - 1] * _EPS_PAD
            cbw = max(cbw, bw_min_l, bw_min_r)
        cache_l: dict = {}
        cache_r: dict = {}

        def both(o, nu, o_B, h_B_l, h_B_r, scale):
            return (
                self._bw_side(left, o, nu, o_B, cbw, h_B_l, scale, use_t, cache_l),
                self._bw_side(right, o, nu, o_B, cbw, h_B_r, scale, use_t, cache_r),
            )

        C_d_l, C_d_r = both(q + 1, q + 1, q + 2, range_l * _EPS_PAD, range_r * _EPS_PAD, 0)
        d_bw = ((C_d_l[0] + C_d_r[0]) / (C_d_r[1] - C_d_l[1]) ** 2) ** C_d_l[3]
        d_bw = min(d_bw, bw_max)
        if bwcheck is not None:
            d_bw = max(d_bw, bw_min_l, bw_min_r)
        C_b_l, C_b_r = both(q, p + 1, q + 1, d_bw, d_bw, 1)
        b_bw = (
            (C_b_l[0] + C_b_r[0]) / ((C_b_r[1] - C_b_l[1]) ** 2 + 1 * (C_b_r[2] + C_b_l[2]))
        ) ** C_b_l[3]
        b_bw = min(b_bw, bw_max)
        C_h_l, C_h_r = both(p, 0, q, b_bw, b_bw, 1)
        h_bw = (
            (C_h_l[0] + C_h_r[0]) / ((C_h_r[1] - C_h_l[1]) ** 2 + 1 * (C_h_r[2] + C_h_l[2]))
        ) ** C_h_l[3]
        h_bw = min(h_bw, bw_max)
        h, b = x_sd * h_bw, x_sd * b_bw
        if not (np.isfinite(h) and np.isfinite(b) and h > 0 and b > 0):
            raise _Unsupported("bandwidth not identified")  # the library's bw_guard raises
        return h, b

    # ------------------------------------------------------------------ estimate
    def _side(self, side, h: float, b: float) -> dict:
        """One side's local-polynomial fits at bandwidths ``h`` (estimate) and ``b`` (bias)."""
        d = self.d
        c, p, q = self.c, self.p, self.q
        vals = d.vals[side]
        Kh = _kweight(vals, c, h, self.kernel)
        Kb = _kweight(vals, c, b, self.kernel)
        cntpos = d.cntpos[side]
        mh, mb = Kh > 0, Kb > 0
        if (
            np.count_nonzero(mh & (cntpos > 0)) < p + 1
            or np.count_nonzero(mb & (cntpos > 0)) < q + 1
        ):
            raise _Unsupported("too few values in the bandwidth")  # the library raises
        N_h = int(cntpos[mh].sum())
        ind = mh if h > b else mb
        sl = _contiguous(ind)
        v, Khs, Kbs, SF = vals[sl], Kh[sl], Kb[sl], d.SF[side][sl]
        SD = (
            d.SY[side][sl][:, None]
            if not self.fuzzy
            else np.column_stack([d.SY[side][sl], d.ST[side][sl]])
        )
        u = (v - c) / h
        R_q = _vander(v - c, q)
        R_p = R_q[:, : p + 1]
        ah, ab = Khs * SF, Kbs * SF
        L = R_p.T @ (ah * u ** (p + 1))
        invG_q = _inv_chol(R_q.T @ (ab[:, None] * R_q))
        invG_p = _inv_chol(R_p.T @ (ah[:, None] * R_p))
        mv = (R_q @ invG_q[p + 1, :]) * Kbs
        Fq = R_p * Khs[:, None] - h ** (p + 1) * mv[:, None] * L[None, :]
        beta_p = invG_p @ (R_p.T @ (Khs[:, None] * SD))
        beta_q = invG_q @ (R_q.T @ (Kbs[:, None] * SD))
        beta_bc = invG_p @ (Fq.T @ SD)
        return dict(
            sl=sl, side=side, R_p=R_p, R_q=R_q, Khs=Khs, Fq=Fq, invG_p=invG_p,
            invG_q=invG_q, beta_p=beta_p, beta_q=beta_q, beta_bc=beta_bc, N_h=N_h,
        )  # fmt: skip

    def estimate(self, h: float, b: float, level: float) -> LeanFit:
        p, q = self.p, self.q
        L_, R_ = (self._side(side, h, b) for side in self.sides)
        beta_p = R_["beta_p"] - L_["beta_p"]
        beta_bc = R_["beta_bc"] - L_["beta_bc"]
        tau_cl = 1 * 1 * beta_p[0, 0]
        tau_bc = 1 * 1 * beta_bc[0, 0]
        s_Y = np.array([1.0])
        if self.fuzzy:
            tau_Y_cl, tau_Y_bc = tau_cl, tau_bc
            tau_T_cl = 1 * beta_p[0, 1]
            tau_T_bc = 1 * beta_bc[0, 1]
            tau_cl = tau_Y_cl / tau_T_cl
            s_Y = np.array([1 / tau_T_cl, -(tau_Y_cl / tau_T_cl**2)])
            B_F = np.array([tau_Y_cl - tau_Y_bc, tau_T_cl - tau_T_bc])
            tau_bc = tau_cl - np.matmul(s_Y.T, B_F)
        hb_match = h == b
        V_cl = 0.0
        V_rb = 0.0
        for f in (L_, R_):
            side, sl = f["side"], f["sl"]
            b_h = (f["R_p"] @ f["beta_p"]) @ s_Y
            b_b = (f["R_q"] @ f["beta_q"]) @ s_Y
            M = self._meat(side, sl, f["R_p"] * f["Khs"][:, None], s_Y, b_h, p + 1, False)
            V_cl += (f["invG_p"] @ M @ f["invG_p"])[0, 0]
            if hb_match:
                M = self._meat(side, sl, f["R_q"] * f["Khs"][:, None], s_Y, b_b, q + 1, False)
                V_rb += (f["invG_q"] @ M @ f["invG_q"])[0, 0]
            else:
                M = self._meat(side, sl, f["Fq"], s_Y, b_b, q + 1, False)
                V_rb += (f["invG_p"] @ M @ f["invG_p"])[0, 0]
        se_cl, se_rb = float(np.sqrt(V_cl)), float(np.sqrt(V_rb))
        quant = -norm.ppf(q=np.abs((1 - (level / 100)) / 2))
        z_rb = tau_bc / se_rb
        return LeanFit(
            estimate=float(tau_cl),
            se=se_cl,
            lower=float(tau_bc - quant * se_rb),
            upper=float(tau_bc + quant * se_rb),
            p_value=float(2 * norm.cdf(-np.abs(z_rb))),
            se_robust=se_rb,
            h=float(h),
            b=float(b),
            n_left=L_["N_h"],
            n_right=R_["N_h"],
        )


def _reproduced(cluster, kernel: str, p, h, bwselect: str) -> bool:
    """The options of the reproduced path (else the caller runs the library)."""
    if cluster is None or kernel not in _KERNEL_CC or not (isinstance(p, int) and p >= 1):
        return False
    return not (h is None and bwselect != "mserd")


def _sums(y, x, c: float, cluster, fuzzy, weights) -> _Data | None:
    """The sufficient statistics of a fit, or None when the library decides."""
    try:
        t_var_zero = (False, False)
        if fuzzy is not None:  # before the sums: no side copies next to them
            xs = np.asarray(x, dtype=float).reshape(-1)
            t = np.asarray(fuzzy, dtype=float).reshape(-1)
            if len(t) != len(xs) or not np.isfinite(t).all():
                return None
            t_var_zero = _side_var_zero(t, xs < c)
            del xs, t
            if all(t_var_zero):
                return None  # no variation on either side: the library decides (raises)
        data = _Data(y, x, fuzzy, cluster, weights)
        data.t_var_zero = t_var_zero
        return data
    except (_Unsupported, np.linalg.LinAlgError, ZeroDivisionError):
        return None


def _fit(
    data: _Data, c: float, p: int, kernel: str, fuzzy: bool, h: float | None, level: float
) -> LeanFit | None:
    """One fit on ``data`` (``fuzzy``: with its treatment), or None (the library decides)."""
    try:
        if data.nv < 2 or not (data.vals[0] < c < data.vals[-1]):
            return None  # the library raises: c outside the range of x
        split = int(np.searchsorted(data.vals, c, side="left"))
        if min(split, data.nv - split) < p + 2:
            return None  # the library raises: too few distinct values for order q
        fit = _Fit(data, float(c), p, kernel, fuzzy)
        if h is None:
            if data.n < 20:
                return None
            h_, b_ = fit.bandwidths()
        else:
            h_ = b_ = float(h)
            if not (np.isfinite(h_) and h_ > 0):
                return None
        return fit.estimate(h_, b_, level)
    except (_Unsupported, np.linalg.LinAlgError, ZeroDivisionError):
        return None  # the library then fits, or raises its own error


def lean_fit(
    y,
    x,
    c: float,
    *,
    cluster,
    fuzzy=None,
    weights=None,
    h: float | None = None,
    p: int = 1,
    kernel: str = "tri",
    bwselect: str = "mserd",
    level: float = 95.0,
) -> LeanFit | None:
    """rdrobust's fit (see the module docstring) from sufficient statistics, or ``None`` when
    the case is outside the reproduced path (then the caller runs the library).

    Parameters
    ----------
    y, x : array_like
        Outcome and running variable.
    c : float
        Cutoff.
    cluster : array_like
        Cluster ids (CR1 variance, as rdrobust's ``vce="cr1"``).
    fuzzy, weights : array_like, optional
        Treatment received (fuzzy RD) and observation weights.
    h : float, optional
        Bandwidth (``b = h``); default rdrobust's ``mserd`` choice.
    p : int
        Order of the local polynomial (the bias correction uses ``p + 1``).
    kernel : {"tri", "epa", "uni"}
    bwselect : str
        Only ``"mserd"`` is reproduced.
    level : float
        Confidence level in percent.

    Returns
    -------
    LeanFit or None
    """
    if not _reproduced(cluster, kernel, p, h, bwselect):
        return None
    data = _sums(y, x, c, cluster, fuzzy, weights)
    if data is None:
        return None
    return _fit(data, c, p, kernel, fuzzy is not None, h, level)


def lean_fuzzy_fits(
    y,
    x,
    c: float,
    *,
    fuzzy,
    cluster,
    weights=None,
    h: float | None = None,
    p: int = 1,
    kernel: str = "tri",
    bwselect: str = "mserd",
    level: float = 95.0,
) -> tuple[LeanFit, LeanFit | None, LeanFit | None] | None:
    """A fuzzy fit with its first stage and reduced form from one set of sums.

    The same three fits as ``lean_fit(y, x, c, fuzzy=fuzzy, h=h)``, then
    ``lean_fit(fuzzy, x, c, h=main.h)`` (first stage: the treatment as the outcome) and
    ``lean_fit(y, x, c, h=main.h)`` (reduced form), with the same ``cluster``, ``weights``
    and options — the same numbers, since the sharp fits' sums are the fuzzy fit's (the
    same running variable, clusters and weights; :meth:`_Data.outcome_view`), summed once
    instead of three times.

    Parameters
    ----------
    y, x, c, fuzzy, cluster, weights, h, p, kernel, bwselect, level
        As for :func:`lean_fit` (``fuzzy`` required).

    Returns
    -------
    tuple of LeanFit or None
        ``(main, first_stage, reduced_form)``; None when the fuzzy fit is outside the
        reproduced path, a None entry where that sharp fit is (then the caller runs the
        library for it).
    """
    if fuzzy is None:
        raise ValueError("lean_fuzzy_fits: fuzzy (the treatment) is required")
    if not _reproduced(cluster, kernel, p, h, bwselect):
        return None
    data = _sums(y, x, c, cluster, fuzzy, weights)
    if data is None:
        return None
    main = _fit(data, c, p, kernel, True, h, level)
    if main is None:
        return None
    first = _fit(data.outcome_view(treatment=True), c, p, kernel, False, main.h, level)
    reduced = _fit(data.outcome_view(treatment=False), c, p, kernel, False, main.h, level)
    return main, first, reduced
