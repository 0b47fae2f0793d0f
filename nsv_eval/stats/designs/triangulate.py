"""Triangulation: do several designs answering the same question agree?

Each design's headline effect (``EffectResult.main_effect()``) is put on a common scale —
the log scale for ratios (rate, risk and hazard ratios are treated as comparable, which holds
approximately when the outcome is rare), the natural scale for differences (ATT, absolute
differences) — and its standard error is recovered from the confidence interval
(``(upper - lower) / (2 z)``). Agreement is judged by

* the overlap of the confidence intervals (is there a value inside all of them?), and
* Cochran's Q heterogeneity test with I² (Higgins & Thompson 2002, *Stat Med* 21:1539),
  computed with statsmodels' ``combine_effects``.

Designs fitted to the same data are positively correlated, so Q (which assumes independent
estimates) is conservative: it flags disagreement less often than it should. The pooled
inverse-variance estimate is therefore shown for orientation only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.stats.designs.base import EffectResult

__all__ = ["TriangulationResult", "triangulate"]

RATIO_SCALES = ("rate_ratio", "risk_ratio", "hazard_ratio", "odds_ratio", "ratio")
DIFFERENCE_SCALES = ("att", "difference", "risk_difference", "rate_difference", "mean_difference")

NOTE_MIXED_RATIOS = "mixed_ratio_kinds"
"""Note code: ratios of different kinds (rate/risk/hazard) compared on the log scale."""
NOTE_MIXED_CONF = "mixed_conf"
"""Note code: the designs used different confidence levels."""


def _family(scale: str) -> str:
    if scale.endswith("ratio"):
        return "ratio"
    if scale in DIFFERENCE_SCALES or scale.endswith("difference"):
        return "difference"
    raise ValueError(f"triangulate: unknown effect scale {scale!r}")


@dataclass
class TriangulationResult:
    """Comparison of the headline effects of several designs.

    Attributes
    ----------
    designs : pandas.DataFrame
        One row per design: ``name``, ``design``, ``scale``, ``estimate``, ``lower``,
        ``upper``, ``p_value``, ``excludes_null``, ``se_common`` (SE on the common scale).
    verdict : str
        ``"agree"``, ``"disagree"`` or ``"inconclusive"``.
    q, q_df, q_p_value, i2 : float
        Cochran's Q, its degrees of freedom and p-value, and I² (0-1).
    overlap : bool
        True when one value lies inside every confidence interval.
    pooled : dict
        Inverse-variance pooled estimate on the original scale (orientation only).
    notes : list of str
        Codes :data:`NOTE_MIXED_RATIOS`, :data:`NOTE_MIXED_CONF` (the words are in
        :mod:`nsv_eval.report.narrative.triangulation`).
    auto_names : bool
        True when no names were given (``name`` is then the design code).
    """

    designs: pd.DataFrame
    scale_family: str
    verdict: str
    q: float
    q_df: int
    q_p_value: float
    i2: float
    overlap: bool
    same_direction: bool
    pooled: dict[str, float]
    conf: float
    notes: list[str] = field(default_factory=list)
    auto_names: bool = False

    def table(self) -> pd.DataFrame:
        """One row per design plus the agreement statistics as columns of a last ``pooled`` row."""
        t = self.designs.copy()
        pooled = pd.DataFrame(
            [
                dict(
                    name="pooled",
                    design="pooled",
                    scale=t["scale"].iloc[0],
                    estimate=self.pooled["estimate"],
                    lower=self.pooled["lower"],
                    upper=self.pooled["upper"],
                    p_value=np.nan,
                )
            ]
        )
        t = pd.concat([t, pooled], ignore_index=True)
        t["verdict"] = self.verdict
        t["q_p_value"] = self.q_p_value
        t["i2"] = self.i2
        return t

    def summary(self) -> str:
        """Compact numeric table: the designs, Q, I² and the verdict (a label)."""
        head = (
            f"triangulation | verdict: {self.verdict} | Q: {self.q:.4g} (df {self.q_df}, "
            f"p {self.q_p_value:.4g}) | I2: {self.i2:.4g} | conf: {self.conf:g}"
        )
        cols = ["name", "estimate", "lower", "upper", "p_value"]
        body = self.designs[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return head + "\n" + body

    def plot(
        self,
        ax=None,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Forest plot of the designs' estimates and intervals.

        ``labels`` (keys ``xlabel``, ``title``;
        :func:`nsv_eval.report.narrative.triangulation.plot_labels`) and ``colors``
        (``estimate``, ``null``) override the defaults.
        """
        import matplotlib.pyplot as plt

        lab = {"xlabel": "estimate", "title": self.verdict, **(labels or {})}
        col = {"estimate": "C0", "null": "C6", **(colors or {})}
        t = self.designs
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.6 * len(t) + 1.5))
        ypos = np.arange(len(t))[::-1]
        ax.errorbar(
            t["estimate"],
            ypos,
            xerr=[t["estimate"] - t["lower"], t["upper"] - t["estimate"]],
            fmt="s",
            color=col["estimate"],
            capsize=3,
        )
        null = 1.0 if self.scale_family == "ratio" else 0.0
        ax.axvline(null, color=col["null"], lw=0.8)
        if self.scale_family == "ratio":
            ax.set_xscale("log")
        ax.set_yticks(ypos, t["name"])
        ax.set_xlabel(lab["xlabel"])
        ax.set_title(lab["title"])
        return ax.figure


def triangulate(
    *results: EffectResult,
    names: list[str] | None = None,
    alpha: float = 0.05,
) -> TriangulationResult:
    """Compare the headline effects of two or more designs answering the same question.

    Parameters
    ----------
    *results : EffectResult
        Two or more results (e.g. from ``its``, ``did``, ``synthetic_control``). Ratios
        (rate/risk/hazard ratio) are compared on the log scale; differences (ATT, absolute
        differences) on their own scale. Ratios and differences cannot be mixed.
    names : list of str, optional
        Display names; default the design codes (``auto_names``; reports name them via
        :mod:`nsv_eval.report.narrative.triangulation`).
    alpha : float
        Significance level of the heterogeneity test.

    Returns
    -------
    TriangulationResult
        ``verdict`` is ``"agree"`` when the intervals share a common value and Cochran's Q is
        not significant at ``2 * alpha`` (a lenient threshold, since Q has little power with
        few designs), ``"disagree"`` when Q is significant at ``alpha`` or the intervals do
        not overlap, and ``"inconclusive"`` otherwise.
    """
    from statsmodels.stats.meta_analysis import combine_effects

    if len(results) < 2:
        raise ValueError("triangulate needs at least two results")
    for r in results:
        if not isinstance(r, EffectResult):
            raise TypeError(f"triangulate expects EffectResult objects, got {type(r).__name__}")
    if names is not None and len(names) != len(results):
        raise ValueError("names must have one entry per result")
    fams = {_family(r.scale) for r in results}
    if len(fams) > 1:
        raise ValueError(
            "triangulate: cannot compare ratios with differences "
            f"(scales {[r.scale for r in results]}); re-estimate on a common scale"
        )
    fam = fams.pop()
    notes: list[str] = []
    if fam == "ratio" and len({r.scale for r in results}) > 1:
        notes.append(NOTE_MIXED_RATIOS)
    confs = {round(r.conf, 6) for r in results}
    rows = [_design_row(i, r, fam, names) for i, r in enumerate(results)]
    t = pd.DataFrame(rows)
    conf = results[0].conf if len(confs) == 1 else 0.95
    if len(confs) > 1:
        notes.append(NOTE_MIXED_CONF)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # only the fixed-effect part and Q are used; the random-effects parts may warn
        warnings.simplefilter("ignore", RuntimeWarning)
        ce = combine_effects(
            t["theta"].to_numpy(), t["se_common"].to_numpy() ** 2, method_re="chi2"
        )
    q = float(ce.q)
    dfq = len(t) - 1
    p = float(stats.chi2.sf(q, dfq))
    i2 = float(max(0.0, (q - dfq) / q)) if q > 0 else 0.0
    overlap, same_dir, verdict = _verdict(t, p, alpha)
    zc = stats.norm.ppf(0.5 + conf / 2)
    pe, pse = float(ce.mean_effect_fe), float(ce.sd_eff_w_fe)
    back = np.exp if fam == "ratio" else (lambda v: v)
    pooled = dict(
        estimate=float(back(pe)),
        lower=float(back(pe - zc * pse)),
        upper=float(back(pe + zc * pse)),
    )
    out = t.drop(columns=["theta"])
    return TriangulationResult(
        designs=out,
        scale_family=fam,
        verdict=verdict,
        q=q,
        q_df=dfq,
        q_p_value=p,
        i2=i2,
        overlap=overlap,
        same_direction=same_dir,
        pooled=pooled,
        conf=conf,
        notes=notes,
        auto_names=names is None,
    )


def _design_row(i: int, r: EffectResult, fam: str, names: list[str] | None) -> dict:
    """One design's headline estimate with its SE on the common (log or raw) scale."""
    row = r.main_effect()
    est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
    if not (np.isfinite(est) and np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise ValueError(f"triangulate: result {i + 1} ({r.design}) has no usable interval")
    z = stats.norm.ppf(0.5 + r.conf / 2)
    if fam == "ratio":
        if lo <= 0:
            raise ValueError(f"triangulate: result {i + 1} has a non-positive ratio limit")
        theta, se = np.log(est), (np.log(hi) - np.log(lo)) / (2 * z)
    else:
        theta, se = est, (hi - lo) / (2 * z)
    null = r.null_value
    return dict(
        name=names[i] if names else r.design,
        design=r.design,
        scale=r.scale,
        estimate=est,
        lower=lo,
        upper=hi,
        p_value=float(row.get("p_value", np.nan)),
        excludes_null=bool(lo > null or hi < null),
        theta=theta,
        se_common=se,
    )


def _verdict(t: pd.DataFrame, p: float, alpha: float) -> tuple[bool, bool, str]:
    """Overlap of the intervals, same direction, and the verdict (see :func:`triangulate`)."""
    overlap = bool(t["lower"].max() <= t["upper"].min())
    signs = np.sign(t["theta"].to_numpy())
    same_dir = bool(np.all(signs >= 0) or np.all(signs <= 0))
    if p < alpha or not overlap:
        verdict = "disagree"
    elif p >= 2 * alpha and overlap and same_dir:
        verdict = "agree"
    else:
        verdict = "inconclusive"
    return overlap, same_dir, verdict
