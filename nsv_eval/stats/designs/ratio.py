"""An additive effect on a rate expressed as a ratio to the counterfactual rate.

Difference-in-differences and the synthetic control estimate an *additive* effect
``delta`` on the treated units' mean rate after the start (the ATT, the average post-period
gap), with a confidence interval ``[L, U]``. What is known without model uncertainty is the
treated units' *observed* mean ``obs``; the counterfactual mean is ``obs − delta``. The
ratio observed / counterfactual is therefore

    ``ratio(delta) = obs / (obs − delta)``,

and since this is increasing in ``delta`` (for ``delta < obs``) the image of the interval
is ``[obs / (obs − L), obs / (obs − U)]``, with ``obs`` held fixed. This is the one mapping
used by every design that reports an additive effect as a ratio (study 3's DiD, study 5's
synthetic control, the business case). It replaces the earlier ``1 + L / counterfactual``
with the counterfactual held at its point estimate, which is not the image of the interval:
on the shipped data an ATT of −1.23 (−8.67 to 6.21) per 1,000 gave 0.949 (0.639–1.258)
instead of 0.725–1.374.

Written by hand: a three-line monotone transformation that no statistics library packages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nsv_eval.stats.designs.base import EffectResult

__all__ = ["AdditiveRatioResult", "ratio_from_additive"]


@dataclass(kw_only=True)
class AdditiveRatioResult(EffectResult):
    """An additive effect (DiD ATT, synthetic-control average gap) shown as the ratio
    observed / counterfactual (:func:`ratio_from_additive`); ``design`` names the design
    that estimated the additive effect.

    Attributes
    ----------
    observed_mean : float
        The treated units' observed mean over the post period (held fixed).
    counterfactual_mean : float
        ``observed_mean - additive``.
    additive, additive_lower, additive_upper : float
        The additive effect and its confidence limits (NaN when unknown).
    """

    observed_mean: float
    counterfactual_mean: float
    additive: float
    additive_lower: float = float("nan")
    additive_upper: float = float("nan")


def ratio_from_additive(
    estimate: float | np.ndarray,
    lower: float | np.ndarray = np.nan,
    upper: float | np.ndarray = np.nan,
    *,
    observed: float,
) -> tuple:
    """Map an additive effect and its confidence limits to the ratio observed/counterfactual.

    Parameters
    ----------
    estimate : float or array
        Additive effect on the treated units' mean (e.g. a DiD ATT, a synthetic control's
        average post-period gap); an array (e.g. Monte Carlo draws) is mapped elementwise.
    lower, upper : float or array, optional
        Its confidence limits (NaN when not given).
    observed : float
        The treated units' observed mean over the same units and periods as the effect
        (held fixed: it is observed, not estimated).

    Returns
    -------
    tuple of (float or array)
        ``(ratio, ratio_lower, ratio_upper)`` with ``ratio = observed / (observed − effect)``.
        A limit whose counterfactual ``observed − limit`` is 0 or negative (the interval
        admits no positive counterfactual rate) maps to ``+inf`` — the ratio is then
        unbounded above; the point estimate is NaN in that case. Everything is NaN when
        ``observed`` is not a positive finite number.

    Raises
    ------
    ValueError
        If ``lower > estimate`` or ``estimate > upper`` for finite scalar values.

    Examples
    --------
    >>> r = ratio_from_additive(-1.23, -8.67, 6.21, observed=22.9)
    >>> [round(float(x), 3) for x in r]
    [0.949, 0.725, 1.372]
    """
    est = np.asarray(estimate, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    if est.ndim == 0 and lo.ndim == 0 and hi.ndim == 0:
        if (np.isfinite(lo) and np.isfinite(est) and lo > est) or (
            np.isfinite(hi) and np.isfinite(est) and est > hi
        ):
            raise ValueError(
                f"ratio_from_additive: the estimate {float(est)} must lie within its interval "
                f"[{float(lo)}, {float(hi)}]"
            )
    obs = float(observed)
    if not np.isfinite(obs) or obs <= 0:
        nan = np.full(np.broadcast(est, lo, hi).shape, np.nan)
        out = (nan.copy(), nan.copy(), nan.copy())
    else:

        def image(x: np.ndarray, at_or_below_zero: float) -> np.ndarray:
            cf = obs - x
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(cf > 0, obs / np.where(cf > 0, cf, 1.0), at_or_below_zero)
            return np.where(np.isfinite(x), r, np.nan)

        out = (image(est, np.nan), image(lo, np.inf), image(hi, np.inf))
    if est.ndim == 0 and lo.ndim == 0 and hi.ndim == 0:
        return tuple(float(v) for v in out)
    return out
