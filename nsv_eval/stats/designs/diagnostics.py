"""Falsification checks for interrupted time series and difference-in-differences.

* :func:`placebo_in_time` — for an :class:`~nsv_eval.stats.designs.its.ITSResult`, refits the
  same model on the pre-intervention data only, with fake start dates inside the
  pre-period: there was no intervention then, so the estimated "effects" should be null (about
  ``1 - conf`` of the placebo intervals may exclude the null by chance). For a
  :class:`~nsv_eval.stats.designs.did.DiDResult`, the placebo periods are the pre-treatment
  ATT(g, t) (the left half of the event study), tested jointly with a Wald test that all are
  zero (the parallel-trends pre-test of the R package ``did``).
* :func:`leave_one_out` — for a DiD result, re-estimates the overall ATT leaving out one
  treatment cohort at a time: a result driven by one cohort shows up as a large shift.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.did import DiDResult, did
from nsv_eval.stats.designs.its import ITSResult, _scalar_time, its, time_index

__all__ = ["PlaceboResult", "leave_one_out", "placebo_in_time"]


@dataclass
class PlaceboResult:
    """Placebo (falsification) estimates and their joint assessment.

    Attributes
    ----------
    design : str
        ``"its"`` or ``"did"``.
    placebos : pandas.DataFrame
        One row per placebo: ``placebo`` (fake start or pre-period cell), ``estimate``,
        ``lower``, ``upper``, ``p_value``, ``excludes_null``.
    test : dict
        ITS: ``share_excluding_null``, ``expected_share``, ``rank_p_value`` (share of placebo
        effects at least as large as the real one). DiD: Wald ``statistic``, ``df``,
        ``p_value``.
    null_value, conf, real_estimate : float
        "No effect", the confidence level and the real (full-data) estimate.
    event_study_pre : pandas.DataFrame, optional
        (DiD) the pre-period rows of the event study.
    """

    design: str
    placebos: pd.DataFrame
    test: dict[str, float]
    null_value: float
    conf: float
    real_estimate: float
    event_study_pre: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        """The placebo estimates."""
        return self.placebos.copy()

    @property
    def passed(self) -> bool:
        """True when the placebo check gives no sign of a spurious effect."""
        if self.design == "did":
            p = self.test.get("p_value", np.nan)
            return bool(np.isnan(p) or p >= 0.05)
        # ITS: no more placebo intervals excluding the null than chance allows
        k = len(self.placebos)
        if k == 0:
            return True
        hits = int(self.placebos["excludes_null"].sum())
        limit = stats.binom.ppf(0.95, k, 1 - self.conf)
        return bool(hits <= max(limit, 1))

    def summary(self) -> str:
        """Compact numeric table: the joint test and the placebo estimates (no prose)."""
        head = " | ".join(
            [f"placebo ({self.design})", f"conf: {self.conf:g}"]
            + [f"{k}: {v:.4g}" for k, v in self.test.items()]
        )
        body = self.placebos.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return head + "\n" + body

    def plot(
        self,
        ax=None,
        *,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
    ):
        """Placebo estimates with intervals, and the real estimate (ITS) for comparison.

        ``labels`` (keys ``placebo``, ``real``, ``ylabel``, ``title``;
        :func:`nsv_eval.report.narrative.diagnostics.plot_labels`) and ``colors``
        (``placebo``, ``null``, ``real``) override the defaults.
        """
        import matplotlib.pyplot as plt

        lab = {"placebo": "placebo", "real": "estimate", "ylabel": "estimate", "title": "placebo"}
        lab.update(labels or {})
        col = {"placebo": "C1", "null": "C6", "real": "C0", **(colors or {})}
        t = self.placebos
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        x = np.arange(len(t))
        ax.errorbar(
            x,
            t["estimate"],
            yerr=[t["estimate"] - t["lower"], t["upper"] - t["estimate"]],
            fmt="o",
            color=col["placebo"],
            capsize=2,
            label=lab["placebo"],
        )
        ax.axhline(self.null_value, color=col["null"], lw=0.8)
        if self.design == "its" and np.isfinite(self.real_estimate):
            ax.axhline(self.real_estimate, color=col["real"], ls="--", label=lab["real"])
        ax.set_xticks(x, [str(v) for v in t["placebo"]], rotation=90)
        ax.set_ylabel(lab["ylabel"])
        ax.set_title(lab["title"])
        ax.legend(frameon=False)
        return ax.figure


def placebo_in_time(
    result: EffectResult,
    *,
    fake_starts: list[Any] | None = None,
    min_segment: int = 6,
) -> PlaceboResult:
    """Placebo-in-time check for an ITS or DiD result.

    Parameters
    ----------
    result : ITSResult or DiDResult
        A fitted result (it keeps its data and settings).
    fake_starts : list, optional
        (ITS) fake start values of the time column, all before the real start. Default:
        every pre-period time leaving at least ``min_segment`` periods on each side.
    min_segment : int
        (ITS) minimum number of pre-period points before and after a fake start.

    Returns
    -------
    PlaceboResult
    """
    if isinstance(result, DiDResult):
        return _did_placebos(result)
    if not isinstance(result, ITSResult):
        raise TypeError(
            f"placebo_in_time supports ITS and DiD results, not {type(result).__name__}"
        )
    return _its_placebos(result, fake_starts, min_segment)


def _did_placebos(result: DiDResult) -> PlaceboResult:
    """Pre-treatment ATT(g, t) as placebos, with the Wald pre-test."""
    gt = result.group_time()
    pre = gt[(~gt["post"]) & (~gt["reference"])]
    placebos = pd.DataFrame(
        {
            "placebo": [f"g={g}, t={t}" for g, t in zip(pre["group"], pre["time"], strict=True)],
            "event_time": pre["event_time"].to_numpy(),
            "estimate": pre["att"].to_numpy(),
            "lower": pre["lower"].to_numpy(),
            "upper": pre["upper"].to_numpy(),
            "p_value": pre["p_value"].to_numpy(),
        }
    )
    placebos["excludes_null"] = (placebos["lower"] > 0) | (placebos["upper"] < 0)
    return PlaceboResult(
        design="did",
        placebos=placebos.reset_index(drop=True),
        test=result.pretest(),
        null_value=0.0,
        conf=result.conf,
        real_estimate=float(result.main_effect()["estimate"]),
        event_study_pre=result.aggregate("dynamic").query("value < 0"),
    )


def _its_placebos(
    result: ITSResult, fake_starts: list[Any] | None, min_segment: int
) -> PlaceboResult:
    """The ITS refitted on the pre-period with fake starts."""
    call = dict(result.call)
    data: pd.DataFrame = result.data
    post = result.post
    cf = result.counterfactual()
    times = cf["time"]
    pre_times = times[~post].to_numpy()
    # rows of the original data that belong to the pre-period
    tnum = time_index(data[call["time"]])
    start_num = _scalar_time(result.intervention_start, data[call["time"]])
    pre_data = data[tnum < start_num]
    if fake_starts is None:
        n_pre = len(pre_times)
        fake_starts = list(pre_times[min_segment : n_pre - min_segment + 1])
    if not fake_starts:
        raise ValueError(
            f"placebo_in_time: the pre-period ({len(pre_times)} points) is too short for "
            f"min_segment={min_segment}"
        )
    real = float(result.main_effect()["estimate"])
    null = result.null_value
    rows = []
    for fs in fake_starts:
        if _scalar_time(fs, data[call["time"]]) >= start_num:
            raise ValueError(f"placebo_in_time: fake start {fs!r} is not before the real start")
        r = its(
            pre_data,
            call["outcome"],
            call["time"],
            fs,
            **{k: v for k, v in call.items() if k not in ("outcome", "time")},
        )
        m = r.main_effect()
        rows.append(
            dict(
                placebo=fs,
                estimate=float(m["estimate"]),
                lower=float(m["lower"]),
                upper=float(m["upper"]),
                p_value=float(m["p_value"]),
            )
        )
    placebos = pd.DataFrame(rows)
    placebos["excludes_null"] = (placebos["lower"] > null) | (placebos["upper"] < null)
    tr = np.log if result.scale.endswith("ratio") else (lambda v: v)
    size = np.abs(tr(placebos["estimate"].to_numpy()) - tr(null))
    rank_p = float((1 + np.sum(size >= abs(tr(real) - tr(null)))) / (1 + len(size)))
    return PlaceboResult(
        design="its",
        placebos=placebos,
        test=dict(
            share_excluding_null=float(placebos["excludes_null"].mean()),
            expected_share=1 - result.conf,
            rank_p_value=rank_p,
        ),
        null_value=null,
        conf=result.conf,
        real_estimate=real,
    )


def leave_one_out(result: EffectResult) -> pd.DataFrame:
    """Re-estimate a DiD overall ATT leaving out one treatment cohort at a time.

    Parameters
    ----------
    result : DiDResult

    Returns
    -------
    pandas.DataFrame
        ``left_out`` (cohort; missing for the full data), ``estimate``, ``lower``, ``upper``,
        ``p_value``, ``shift`` (change from the full-data estimate).
    """
    if not isinstance(result, DiDResult):
        raise TypeError("leave_one_out applies to difference-in-differences results (did())")
    call = dict(result.call)
    data: pd.DataFrame = result.data
    gcol = call["first_treated"]
    full = result.main_effect()
    cohorts = sorted(result.group_time()["group"].unique())
    if len(cohorts) < 2:
        raise ValueError("leave_one_out needs at least two treatment cohorts")
    rows = [
        dict(
            left_out=None,
            estimate=float(full["estimate"]),
            lower=float(full["lower"]),
            upper=float(full["upper"]),
            p_value=float(full["p_value"]),
        )
    ]
    kwargs = {
        k: v for k, v in call.items() if k not in ("outcome", "unit", "time", "first_treated")
    }
    for g in cohorts:
        sub = data[data[gcol] != g]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = did(sub, call["outcome"], call["unit"], call["time"], gcol, **kwargs)
        m = r.main_effect()
        rows.append(
            dict(
                left_out=g,
                estimate=float(m["estimate"]),
                lower=float(m["lower"]),
                upper=float(m["upper"]),
                p_value=float(m["p_value"]),
            )
        )
    out = pd.DataFrame(rows)
    out["shift"] = out["estimate"] - float(full["estimate"])
    return out
