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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.stats.designs._text import _num
from nsv_eval.stats.designs.base import EffectResult

__all__ = ["TriangulationResult", "triangulate"]

RATIO_SCALES = ("rate_ratio", "risk_ratio", "hazard_ratio", "odds_ratio", "ratio")
DIFFERENCE_SCALES = ("att", "difference", "risk_difference", "rate_difference", "mean_difference")

DESIGN_NAMES_DA: dict[str, str] = {
    "its": "Afbrudt tidsserie",
    "did": "Difference-in-differences",
    "twfe": "To-vejs fixed effects",
    "synthetic_control": "Syntetisk kontrol",
    "cohort": "Matchet kohorte",
    "cox": "Cox-regression",
}

DESIGN_NAMES_EN: dict[str, str] = {
    "its": "Interrupted time series",
    "did": "Difference-in-differences",
    "twfe": "Two-way fixed effects",
    "synthetic_control": "Synthetic control",
    "cohort": "Matched cohort",
    "cox": "Cox regression",
}


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

    def _names(self, lang: str) -> str:
        if self.auto_names:
            table = DESIGN_NAMES_DA if lang == "da" else DESIGN_NAMES_EN
            return ", ".join(table.get(d, d) for d in self.designs["design"])
        return ", ".join(self.designs["name"])

    def table(self) -> pd.DataFrame:
        """One row per design plus the agreement statistics as columns of a last ``pooled`` row."""
        t = self.designs.copy()
        pooled = pd.DataFrame(
            [
                dict(
                    name="pooled (orientering)",
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

    def summary(self, lang: str = "da") -> str:
        """Plain-language sentence on whether the designs agree."""
        k = len(self.designs)
        pct = int(round(self.conf * 100))
        names = self._names(lang)
        if lang == "da":
            head = {
                "agree": f"De {k} designs ({names}) peger i samme retning og er statistisk forenelige",
                "disagree": f"De {k} designs ({names}) giver forskellige svar",
                "inconclusive": f"De {k} designs ({names}) er ikke entydigt enige",
            }[self.verdict]
            s = (
                f"{head}: {pct} %-konfidensintervallerne "
                + ("overlapper" if self.overlap else "overlapper ikke")
                + f", og testen for forskel (Cochrans Q) giver p = {_num(self.q_p_value, lang, 3)} "
                f"(I² = {_num(100 * self.i2, lang, 0)} %)."
            )
            if not self.same_direction:
                s += " Estimaterne peger i hver sin retning."
            if self.verdict == "disagree":
                s += (
                    " Resultatet afhænger af designvalget; se på forudsætningerne for hvert design."
                )
            s += (
                " Bemærk: designs på samme data er ikke uafhængige, så testen er forsigtig "
                "(den overser snarere end overdriver uenighed)."
            )
            return s + "".join(f" {n}" for n in self.notes_da())
        head = {
            "agree": f"The {k} designs ({names}) point the same way and are statistically compatible",
            "disagree": f"The {k} designs ({names}) give different answers",
            "inconclusive": f"The {k} designs ({names}) do not clearly agree",
        }[self.verdict]
        s = (
            f"{head}: the {pct}% confidence intervals "
            + ("overlap" if self.overlap else "do not overlap")
            + f", and the heterogeneity test (Cochran's Q) gives p = {_num(self.q_p_value, lang, 3)} "
            f"(I² = {_num(100 * self.i2, lang, 0)}%)."
        )
        if not self.same_direction:
            s += " The estimates point in opposite directions."
        if self.verdict == "disagree":
            s += " The answer depends on the design; revisit each design's assumptions."
        s += " Note: designs on the same data are not independent, so the test is conservative."
        return s + "".join(f" {n}" for n in self.notes)

    def notes_da(self) -> list[str]:
        """Danish versions of the notes (scale conversions)."""
        out = []
        for n in self.notes:
            if n.startswith("Ratios of different kinds"):
                out.append(
                    "Forskellige typer ratioer (rate-, risiko-, hazardratio) er sammenlignet på "
                    "log-skala; det er kun en god tilnærmelse, når udfaldet er sjældent."
                )
            else:
                out.append(n)
        return out

    def plot(self, ax=None, *, lang: str = "da"):
        """Forest plot of the designs' estimates and intervals."""
        import matplotlib.pyplot as plt

        t = self.designs
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.6 * len(t) + 1.5))
        ypos = np.arange(len(t))[::-1]
        ax.errorbar(
            t["estimate"],
            ypos,
            xerr=[t["estimate"] - t["lower"], t["upper"] - t["estimate"]],
            fmt="s",
            color="#0072B2",
            capsize=3,
        )
        null = 1.0 if self.scale_family == "ratio" else 0.0
        ax.axvline(null, color="black", lw=0.8)
        if self.scale_family == "ratio":
            ax.set_xscale("log")
        ax.set_yticks(ypos, t["name"])
        ax.set_xlabel("Estimeret effekt" if lang == "da" else "Estimated effect")
        verdict = {
            "da": {"agree": "enige", "disagree": "uenige", "inconclusive": "ikke entydigt enige"},
            "en": {"agree": "agree", "disagree": "disagree", "inconclusive": "inconclusive"},
        }[lang][self.verdict]
        ax.set_title(("Designs: " if lang == "en" else "Designs er ") + verdict)
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
        Display names; default the Danish design names.
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
        notes.append(
            "Ratios of different kinds (rate/risk/hazard) are compared on the log scale; this is "
            "a good approximation only when the outcome is rare."
        )
    confs = {round(r.conf, 6) for r in results}
    rows = []
    for i, r in enumerate(results):
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
        name = names[i] if names else DESIGN_NAMES_DA.get(r.design, r.design)
        null = r.null_value
        rows.append(
            dict(
                name=name,
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
        )
    t = pd.DataFrame(rows)
    conf = results[0].conf if len(confs) == 1 else 0.95
    if len(confs) > 1:
        notes.append(
            "The designs used different confidence levels; the overlap check uses each one's own."
        )
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
    overlap = bool(t["lower"].max() <= t["upper"].min())
    signs = np.sign(t["theta"].to_numpy())
    same_dir = bool(np.all(signs >= 0) or np.all(signs <= 0))
    if p < alpha or not overlap:
        verdict = "disagree"
    elif p >= 2 * alpha and overlap and same_dir:
        verdict = "agree"
    else:
        verdict = "inconclusive"
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
