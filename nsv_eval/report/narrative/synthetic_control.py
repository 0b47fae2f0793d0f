"""Words for the synthetic control method
(:class:`nsv_eval.stats.designs.synthetic_control.SyntheticControlResult`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import register
from nsv_eval.stats.designs.synthetic_control import SyntheticControlResult

ASSUMPTIONS: dict[str, list[str]] = {
    "da": [
        "Uden indsatsen ville den behandlede enhed have fulgt den syntetiske kontrol: "
        "den vægtede kombination af kontrolenheder, der lignede den bedst før indsatsen.",
        "Kontrolenhederne (donorerne) er ikke selv ramt af indsatsen eller af lignende "
        "tiltag i perioden, og indsatsen smitter ikke af på dem.",
        "Den syntetiske kontrol passer godt før indsatsen (lav RMSPE); en dårlig tilpasning "
        "før betyder, at forskellen efter ikke kan tolkes som en effekt.",
        "Ingen andre store hændelser ramte kun den behandlede enhed samtidig med indsatsen.",
        "Placebotesten forudsætter, at den behandlede enhed kunne have været en hvilken "
        "som helst af enhederne; p-værdien kan ikke blive mindre end 1 delt med antallet "
        "af enheder.",
    ],
    "en": [
        "Without the intervention the treated unit would have followed the synthetic "
        "control: the weighted combination of control units that resembled it best before "
        "the intervention.",
        "The control (donor) units were not affected by the intervention or by similar "
        "measures in the period, and the intervention did not spill over to them.",
        "The synthetic control fits well before the intervention (low RMSPE); a poor "
        "pre-period fit means the post-period gap cannot be read as an effect.",
        "No other major event hit only the treated unit at the time of the intervention.",
        "The placebo test assumes the treated unit could have been any of the units; the "
        "p-value cannot be smaller than 1 divided by the number of units.",
    ],
}


def fmt_time(t: Any) -> str:
    """A period for prose: 2000 rather than 2000.0, dates as ISO dates."""
    if isinstance(t, (int, np.integer)):
        return str(int(t))
    if isinstance(t, (float, np.floating)) and float(t).is_integer():
        return str(int(t))
    if isinstance(t, pd.Timestamp):
        return t.date().isoformat()
    return str(t)


@register(SyntheticControlResult, "synthetic_control", ASSUMPTIONS)
def summary(r: SyntheticControlResult, lang: str = "da") -> str:
    """Donors, pre-period fit, post-period gap, V concentration, placebo test, interval."""
    row = r.main_effect()
    est, lo, hi, p = (float(row[c]) for c in ("estimate", "lower", "upper", "p_value"))
    w = r.weights_frame
    top = w[w["weight"] >= 0.01]
    donors = ", ".join(
        f"{u} ({fmt(x, lang)})" for u, x in zip(top["unit"], top["weight"], strict=True)
    )
    treated = r.treated_unit
    unit_word = r.outcome
    last_t, last_gap = r.path_frame.iloc[-1][["time", "gap"]]
    pct = int(round(r.conf * 100))
    n_units, rank = r.n_permutation, r.rank
    pre, sd_pre = r.pre_rmspe, r.pre_outcome_sd
    if lang == "da":
        direction = "under" if est < 0 else "over"
        txt = (
            f"Syntetisk kontrol for {treated} ({unit_word}) er bygget af {len(top)} "
            f"kontrolenheder: {donors}. Før indsatsen var den gennemsnitlige afvigelse "
            f"(RMSPE) {fmt(pre, lang)} mod en spredning i {treated}s udfald på "
            f"{fmt(sd_pre, lang)}. Efter indsatsen lå {treated} i gennemsnit "
            f"{fmt(abs(est), lang)} {direction} den syntetiske kontrol; i den sidste "
            f"periode ({fmt_time(last_t)}) var forskellen {fmt(last_gap, lang)}. "
        )
        if r.v_concentrated:
            txt += (
                f"Prediktorvægtene (V) lægger {fmt(100 * r.v_max, lang, 0)} % på én "
                f"prediktor ({r.v.idxmax()}), så donorerne er valgt næsten kun efter "
                "den. "
            )
        if not r.placebo_run:
            return txt + (
                "Placebotesten er ikke kørt, så der er hverken p-værdi eller konfidensinterval."
            )
        txt += (
            f"Placebotest: {treated}s forhold mellem RMSPE efter og før er nr. {rank} af "
            f"{n_units} enheder, dvs. p = {fmt(p, lang, 3)} (mindst mulige p er "
            f"{fmt(1 / n_units, lang, 3)})."
        )
        if np.isfinite(lo) and np.isfinite(hi):
            txt += (
                f" Et {pct} %-konfidensinterval for den gennemsnitlige forskel, fundet "
                "ved at invertere placebotesten under antagelse af en konstant effekt "
                f"(Firpo & Possebom 2018), går fra {fmt(lo, lang)} til {fmt(hi, lang)}."
            )
        else:
            txt += (
                f" Der kan ikke angives et {pct} %-konfidensinterval: med {n_units} "
                "enheder er placebofordelingen for grov, eller ingen konstant effekt "
                "er forenelig med data."
            )
        if r.excluded and r.mspe_cutoff is not None:
            txt += (
                f" {len(r.excluded)} placeboenheder med en før-tilpasning mere end "
                f"{fmt(r.mspe_cutoff, lang, 0)} gange dårligere (MSPE) end "
                f"{treated}s er udeladt af testen."
            )
        return txt
    direction = "below" if est < 0 else "above"
    txt = (
        f"The synthetic control for {treated} ({unit_word}) is built from {len(top)} "
        f"control units: {donors}. Before the intervention the root mean squared "
        f"prediction error (RMSPE) was {fmt(pre, lang)}, against a standard deviation "
        f"of {fmt(sd_pre, lang)} in {treated}'s outcome. After the intervention "
        f"{treated} was on average {fmt(abs(est), lang)} {direction} its synthetic "
        f"control; in the last period ({fmt_time(last_t)}) the gap was "
        f"{fmt(last_gap, lang)}. "
    )
    if r.v_concentrated:
        txt += (
            f"The predictor weights (V) put {fmt(100 * r.v_max, lang, 0)}% on one "
            f"predictor ({r.v.idxmax()}), so the donors are chosen almost by it alone. "
        )
    if not r.placebo_run:
        return txt + "The placebo test was not run, so there is no p-value or interval."
    txt += (
        f"Placebo test: {treated}'s ratio of post- to pre-intervention RMSPE ranks "
        f"{rank} of {n_units} units, p = {fmt(p, lang, 3)} (the smallest possible p is "
        f"{fmt(1 / n_units, lang, 3)})."
    )
    if np.isfinite(lo) and np.isfinite(hi):
        txt += (
            f" A {pct}% confidence interval for the average gap, obtained by inverting "
            "the placebo test under a constant effect (Firpo & Possebom 2018), runs "
            f"from {fmt(lo, lang)} to {fmt(hi, lang)}."
        )
    else:
        txt += (
            f" No {pct}% confidence interval can be given: with {n_units} units the "
            "placebo distribution is too coarse, or no constant effect is compatible "
            "with the data."
        )
    if r.excluded and r.mspe_cutoff is not None:
        txt += (
            f" {len(r.excluded)} placebo units whose pre-period fit (MSPE) was more "
            f"than {fmt(r.mspe_cutoff, lang, 0)} times worse than {treated}'s are "
            "left out of the test."
        )
    return txt


def plot_labels(lang: str = "da") -> dict[str, str]:
    """Texts of :meth:`SyntheticControlResult.plot` in ``lang``."""
    if lang == "da":
        return {
            "synthetic": "Syntetisk {treated}",
            "time": "Tid",
            "path_title": "Faktisk og syntetisk forløb",
            "placebos": "Placebo (donorer)",
            "gap": "Forskel (faktisk − syntetisk)",
            "gap_title": "Forskel og placebotest",
        }
    return {
        "synthetic": "Synthetic {treated}",
        "time": "Time",
        "path_title": "Actual and synthetic path",
        "placebos": "Placebos (donors)",
        "gap": "Gap (actual − synthetic)",
        "gap_title": "Gap and placebo test",
    }
