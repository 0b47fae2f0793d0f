"""Small-sample cluster-robust inference: CR2/CR3 covariance, Bell–McCaffrey degrees of freedom.

With few clusters — or many clusters of which a few carry most of the information, as in a
panel of 98 kommuner where Copenhagen and a handful of never-treated kommuner identify the
late years of a staggered roll-out — the usual CR1 sandwich is biased downwards and its
normal (or t with G - 1 df) intervals under-cover. Bell & McCaffrey (2002) proposed the
bias-reduced linearisation (CR2): each cluster's residuals are multiplied by
``(I - H_gg)^(-1/2)``, where ``H_gg`` is the cluster's block of the hat matrix, so the
estimator is unbiased under a working model, and a Satterthwaite approximation gives the
degrees of freedom of a t reference distribution for each linear contrast. Imbens &
Kolesár (2016) and Pustejovsky & Tipton (2018) show these intervals hold their level where
CR1 fails; the degrees of freedom also say how many clusters effectively inform a contrast.
Their CR3 multiplies by ``(I - H_gg)^(-1)`` instead — the leave-one-cluster-out jackknife
to first order — and is more conservative; MacKinnon, Nielsen & Webb (2023) find it the
more reliable of the two when clusters are very unequal in size.

For a GLM (Poisson) everything is computed in the working-weight metric of the last IRLS
step (rows scaled by the square root of the working weight, as R ``clubSandwich``'s
``vcovCR`` for ``glm``), with absorbed fixed effects in the hat matrix; where a fixed effect
is nested in a cluster (unit effects clustered by unit), ``I - H_gg`` is singular along the
cluster's own dummy and the Moore–Penrose inverse square root is used (Pustejovsky &
Tipton 2018, section 3.2). Written here because pyfixest (0.60) offers CR1 and a
leave-one-cluster-out CR3 that drops an offset in its refits, and no package offers CR2 with
absorbed fixed effects for a Poisson fit.

References
----------
Bell, R. M. & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear
regression with multi-stage samples. *Survey Methodology* 28(2), 169-181.
Imbens, G. W. & Kolesár, M. (2016). Robust standard errors in small samples: some practical
advice. *Review of Economics and Statistics* 98(4), 701-712.
Pustejovsky, J. E. & Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. *Journal of Business & Economic
Statistics* 36(4), 672-683.
MacKinnon, J. G., Nielsen, M. Ø. & Webb, M. D. (2023). Cluster-robust inference: a guide to
empirical practice. *Journal of Econometrics* 232(2), 272-299.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ClusterRobust", "cluster_robust"]


def _inv_root_psd(a: np.ndarray, power: float, tol: float = 1e-6) -> np.ndarray:
    """Moore–Penrose ``a^(-power)`` of symmetric positive semi-definite matrices (stacked).

    Eigenvalues below ``tol`` (relative, at least absolute) count as zero: directions in
    which a cluster's own data determine the fit exactly (a cell or fixed effect of that
    cluster alone) carry no residual information.
    """
    w, v = np.linalg.eigh((a + np.swapaxes(a, -1, -2)) / 2)
    top = np.maximum(1.0, w.max(axis=-1, keepdims=True))
    keep = w > tol * top
    s = np.where(keep, np.where(keep, w, 1.0) ** -power, 0.0)
    return (v * s[..., None, :]) @ np.swapaxes(v, -1, -2)


@dataclass
class ClusterRobust:
    """Small-sample cluster-robust covariance of a fitted (G)LM; see :func:`cluster_robust`.

    Attributes
    ----------
    vcov : numpy.ndarray
        The CR2 (or CR3) covariance of all coefficients (k x k).
    n_clusters : int
        Number of clusters G.
    kind : str
        ``"CR2"`` or ``"CR3"``.
    """

    vcov: np.ndarray
    n_clusters: int
    kind: str
    _b: np.ndarray = field(repr=False)  # N x k: rows of cluster g = A_g X_g M^-1
    _z: np.ndarray = field(repr=False)  # N x m: hat matrix H = Z Z'
    _starts: np.ndarray = field(repr=False)  # first row of each cluster (rows sorted)
    _df_cache: dict = field(default_factory=dict, repr=False)

    def df(self, contrast: np.ndarray) -> float:
        """Bell–McCaffrey (Satterthwaite) degrees of freedom of ``contrast @ beta``.

        Under the working model (independent working residuals of unit variance) the
        variance estimate of the contrast is ``e' (I - H) P P' (I - H) e`` with column g of
        ``P`` holding ``A_g X_g M^-1 c`` on cluster g's rows; matching the first two moments
        to a scaled chi-square gives ``df = tr(W)^2 / tr(W^2)``, ``W = P' (I - H) P``
        (Bell & McCaffrey 2002; Imbens & Kolesár 2016, eq. 8; Pustejovsky & Tipton 2018,
        eq. 11). With ``H = Z Z'``: ``W = diag(sum_g p_g^2) - Y Y'``, ``Y = S (p * Z)``.
        """
        c = np.asarray(contrast, dtype=float)
        key = c.tobytes()
        if key not in self._df_cache:
            v = self._b @ c
            d = np.add.reduceat(v * v, self._starts)
            y = np.add.reduceat(v[:, None] * self._z, self._starts, axis=0)
            w = np.diag(d) - y @ y.T
            den = float(np.sum(w * w))
            self._df_cache[key] = float(np.trace(w) ** 2 / den) if den > 0 else float("nan")
        return self._df_cache[key]


def cluster_robust(
    X: np.ndarray,
    resid: np.ndarray,
    cluster: np.ndarray,
    *,
    fixed_effects: pd.DataFrame | None = None,
    sqrt_weights: np.ndarray | None = None,
    kind: str = "CR2",
) -> ClusterRobust:
    """CR2 (bias-reduced linearisation) or CR3 cluster-robust covariance of a fitted (G)LM.

    Parameters
    ----------
    X : numpy.ndarray
        N x k regressors in the weighted metric with the absorbed fixed effects partialled
        out (pyfixest's ``model._X``: ``sqrt(w) * demeaned X``; for Poisson ``w`` are the
        IRLS working weights).
    resid : numpy.ndarray
        Working residuals in the same metric (pyfixest's ``model._u_hat``), so that the
        score of cluster g is ``X_g' resid_g``.
    cluster : numpy.ndarray
        Cluster label of each row.
    fixed_effects : pandas.DataFrame, optional
        The absorbed fixed-effect factors of each row (e.g. unit and period); they enter the
        hat matrix. None when nothing was absorbed.
    sqrt_weights : numpy.ndarray, optional
        Square roots of the (working) weights of each row, to put the fixed-effect dummies in
        the weighted metric (default 1).
    kind : {"CR2", "CR3"}
        Adjustment of cluster g's residuals: ``(I - H_gg)^(-1/2)`` (CR2, default) or
        ``(I - H_gg)^(-1)`` (CR3, Bell & McCaffrey's jackknife-like variant; more
        conservative).

    Returns
    -------
    ClusterRobust
        ``.vcov`` (k x k) and ``.df(contrast)``, the Bell–McCaffrey degrees of freedom.
    """
    if kind not in ("CR2", "CR3"):
        raise ValueError(f"kind must be 'CR2' or 'CR3', not {kind!r}")
    X = np.asarray(X, dtype=float)
    u = np.asarray(resid, dtype=float).ravel()
    n = X.shape[0]
    sw = np.ones(n) if sqrt_weights is None else np.asarray(sqrt_weights, float).ravel()
    if len(u) != n or len(cluster) != n or len(sw) != n:
        raise ValueError("X, resid, cluster and weights must have the same number of rows")
    bread = np.linalg.pinv(X.T @ X)
    if fixed_effects is not None and fixed_effects.shape[1]:
        dums = [
            pd.get_dummies(fixed_effects[c].to_numpy(), dtype=float).to_numpy()
            for c in fixed_effects.columns
        ]
        f = np.hstack(dums) * sw[:, None]
        # orthonormal basis of the fixed-effect space; the dummies are collinear, so from the
        # eigen-decomposition of the (small) cross-product instead of a QR
        ev, evec = np.linalg.eigh(f.T @ f)
        keep = ev > 1e-10 * ev.max()
        q = f @ (evec[:, keep] / np.sqrt(ev[keep]))
    else:
        q = np.zeros((n, 0))
    # X is orthogonal to the fixed-effect space (partialled out): H = QQ' + X M^-1 X'
    ev, evec = np.linalg.eigh((bread + bread.T) / 2)
    root = evec * np.sqrt(np.clip(ev, 0, None))
    z = np.hstack([q, X @ root])
    # rows sorted by cluster, so that cluster sums are np.add.reduceat over contiguous runs
    labels, inv = np.unique(np.asarray(cluster), return_inverse=True)
    order = np.argsort(inv, kind="stable")
    X, u, z, inv = X[order], u[order], z[order], inv[order]
    g = len(labels)
    starts = np.flatnonzero(np.r_[True, inv[1:] != inv[:-1]])
    sizes = np.diff(np.r_[starts, n])
    power = 0.5 if kind == "CR2" else 1.0
    xb = X @ bread
    b = np.zeros_like(X)
    # the adjustment matrices of equally sized clusters in one batched eigen-decomposition
    for size in np.unique(sizes):
        js = np.flatnonzero(sizes == size)
        rows = starts[js][:, None] + np.arange(size)[None, :]  # clusters x size
        zg = z[rows]  # clusters x size x m
        a = _inv_root_psd(np.eye(size)[None] - zg @ zg.transpose(0, 2, 1), power)
        b[rows] = a @ xb[rows]
    # scores of the adjusted residuals: s_g = X_g' A_g u_g = (A_g X_g M^-1)' u_g M
    s_all = np.add.reduceat(b * u[:, None], starts, axis=0) @ (X.T @ X)
    vcov = bread @ (s_all.T @ s_all) @ bread
    return ClusterRobust(vcov=vcov, n_clusters=g, kind=kind, _b=b, _z=z, _starts=starts)
