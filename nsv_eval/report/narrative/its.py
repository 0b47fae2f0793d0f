"""Words for interrupted time series (:class:`nsv_eval.stats.designs.its.ITSResult`)."""

from __future__ import annotations

from nsv_eval.report.narrative._fmt import fmt
from nsv_eval.report.narrative.common import register, verdict
from nsv_eval.stats.designs.its import ITSResult

ASSUMPTIONS_ITS: dict[str, list[str]] = {
    "da": [
        "Udviklingen før indsatsen (niveau, lineær tendens og sæsonmønster) ville være "
        "fortsat uændret uden indsatsen (den kontrafaktiske linje).",
        "Ingen andre begivenheder eller ændringer i registrering skete samtidig med indsatsen.",
        "Befolkningen/sammensætningen ændrer sig ikke brat ved starttidspunktet.",
        "Restvariationen er håndteret: overspredning (kvasi-Poisson/negativ binomial) og "
        "autokorrelation (se Durbin-Watson; brug evt. HAC-standardfejl).",
    ],
    "en": [
        "The pre-intervention level, linear trend and seasonal pattern would have continued "
        "unchanged without the intervention (the counterfactual line).",
        "No other event or change in recording coincided with the intervention.",
        "The population/case mix does not change abruptly at the start.",
        "Residual variation is handled: overdispersion (quasi-Poisson/negative binomial) and "
        "autocorrelation (see Durbin-Watson; use HAC standard errors if needed).",
    ],
}


@register(ITSResult, "its", ASSUMPTIONS_ITS)
def summary(r: ITSResult, lang: str = "da") -> str:
    """The paragraph on an ITS result: level change, interval, slope, dispersion, DW, HAC."""
    row = r.main_effect()
    est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
    pct = int(round(r.conf * 100))
    ratio = r.scale.endswith("ratio")
    start = r.intervention_start
    excl = (lo > 1 or hi < 1) if ratio else (lo > 0 or hi < 0)
    n_pre, n_post = r.n_pre, r.n_post
    da = lang == "da"
    if ratio:
        change = (est - 1) * 100
        if da:
            s = (
                f"Afbrudt tidsserie med {n_pre} perioder før og {n_post} efter start "
                f"({start}). Ved starten {'faldt' if change < 0 else 'steg'} niveauet med "
                f"{fmt(abs(change), lang, 1)} % i "
                f"forhold til den forventede udvikling uden indsats (rateratio "
                f"{fmt(est, lang, 3)}; {pct} %-KI: {fmt(lo, lang, 3)} til {fmt(hi, lang, 3)}). "
            )
        else:
            s = (
                f"Interrupted time series with {n_pre} periods before and {n_post} after the "
                f"start ({start}). At the start the level {'fell' if change < 0 else 'rose'} by "
                f"{fmt(abs(change), lang, 1)}% "
                f"relative to the expected course without the intervention (rate ratio "
                f"{fmt(est, lang, 3)}; {pct}% CI {fmt(lo, lang, 3)} to {fmt(hi, lang, 3)}). "
            )
    elif da:
        s = (
            f"Afbrudt tidsserie med {n_pre} perioder før og {n_post} efter start "
            f"({start}). Niveauændring ved start: {fmt(est, lang, 2)} ({pct} %-KI: "
            f"{fmt(lo, lang, 2)} til {fmt(hi, lang, 2)}). "
        )
    else:
        s = (
            f"Interrupted time series with {n_pre} periods before and {n_post} after the start "
            f"({start}). Level change at the start: {fmt(est, lang, 2)} ({pct}% CI "
            f"{fmt(lo, lang, 2)} to {fmt(hi, lang, 2)}). "
        )
    s += verdict(excl, lang)
    if "slope" in set(r.effects["term"]):
        sl = r.effects.set_index("term").loc["slope"]
        s += (
            f" {'Ændring i hældning pr. tidsenhed' if da else 'Change in slope per time unit'}: "
            f"{fmt(sl['estimate'], lang, 4)} "
            f"({fmt(sl['lower'], lang, 4)} {'til' if da else 'to'} {fmt(sl['upper'], lang, 4)})."
        )
    if r.dispersion is not None and r.family != "gaussian":
        s += (
            f" {'Overspredning (Pearson χ²/df)' if da else 'Overdispersion (Pearson chi2/df)'}: "
            f"{fmt(r.dispersion, lang, 2)}."
        )
    s += f" Durbin-Watson: {fmt(r.durbin_watson, lang, 2)}"
    if da:
        s += (
            " (tegn på autokorrelation i residualerne; overvej HAC-standardfejl)."
            if r.autocorrelation_flag
            else " (ingen tydelig autokorrelation)."
        )
        if r.hac_lags is not None:
            s += f" Standardfejl er Newey-West (HAC) med {r.hac_lags} lag."
    else:
        s += (
            " (residual autocorrelation; consider HAC standard errors)."
            if r.autocorrelation_flag
            else " (no clear autocorrelation)."
        )
        if r.hac_lags is not None:
            s += f" Standard errors are Newey-West (HAC) with {r.hac_lags} lags."
    return s


def plot_labels(lang: str = "da", per: float = 100_000) -> dict[str, str]:
    """Texts of :meth:`ITSResult.plot` in ``lang`` (rate label per ``per``)."""
    if lang == "da":
        return {
            "observed": "Observeret",
            "fitted": "Model",
            "counterfactual": "Uden indsats (forventet)",
            "time": "Tid",
            "rate": f"Rate pr. {fmt(per, 'da', 0)}",
            "title": "Afbrudt tidsserie: observeret, model og forløb uden indsats",
        }
    return {
        "observed": "Observed",
        "fitted": "Fitted",
        "counterfactual": "Counterfactual",
        "time": "Time",
        "rate": f"Rate per {fmt(per, 'en', 0)}",
        "title": "Interrupted time series: observed, model and counterfactual",
    }
