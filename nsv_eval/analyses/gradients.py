"""Social inequality in health: rates by education and income, SII/RII over time.

Rates by social group are age-standardised (ESP2013, the outcome's age bands) so that groups
with different age structures compare fairly; the slope and relative index of inequality
(PHE's method, :func:`nsv_eval.stats.sii`) summarise the gradient across the ordered groups
(education: grundskole → lang; income: quintile 1 → 5) in each period. A shrinking SII over
time means the absolute gap is closing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses.data import Area, Prepared, filter_ages
from nsv_eval.reference import EDUCATION_LEVELS, esp2013

OUTCOMES: dict[str, tuple[str, int, int]] = {
    # key: (cube measure, min age, per); the reader's names in nsv_eval.report.labels
    "deaths": ("deaths", 0, 1000),
    "preventable": ("preventable", 65, 1000),
    "admissions_acute": ("admissions_acute", 0, 1000),
    "fall_injury": ("fall_injury", 65, 1000),
}


def periods(start: int, end: int, length: int = 3) -> dict[int, str]:
    """Map each year to a period label of ``length`` years, counted back from ``end``."""
    out = {}
    for y in range(start, end + 1):
        k = (end - y) // length
        lo, hi = max(start, end - (k + 1) * length + 1), end - k * length
        out[y] = f"{lo}–{hi}"
    return out


def _dsr_by(df: pd.DataFrame, measure: str, per: int, by: list[str]) -> pd.DataFrame:
    strata = df.groupby([*by, "age_band"], as_index=False, observed=True)[
        [measure, "person_years"]
    ].sum()
    strata = strata.merge(esp2013()[["age_band", "population"]], on="age_band").rename(
        columns={"population": "std_pop"}
    )
    res = stats.dsr(strata, measure, "person_years", "std_pop", by=by, multiplier=per)
    py = strata.groupby(by, as_index=False)["person_years"].sum()
    return res.merge(py, on=by)


def rates_by_group(
    prep: Prepared,
    outcome: str,
    kommune: int,
    *,
    level: str = "kommune",
    group: str = "education",
    years: Sequence[int],
    period_length: int = 3,
) -> pd.DataFrame:
    """Age-standardised rate per social group and period for an area.

    Parameters
    ----------
    outcome : str
        Key of :data:`OUTCOMES`.
    group : {"education", "income_quintile"}
    years : sequence of int
        Calendar years included, grouped into periods of ``period_length`` years.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``<group>``, ``numerator``, ``denominator``, ``estimate``, ``lower``,
        ``upper``, ``person_years``, ...
    """
    measure, min_age, per = OUTCOMES[outcome]
    if group == "education":
        df = prep.summary("year_education")
    elif group == "income_quintile":
        df = prep.table(
            "cube_income",
            columns=[
                "kommune_code",
                "year",
                "age_band",
                "income_quintile",
                measure,
                "person_years",
            ],
        )
    else:
        raise ValueError(f"group must be 'education' or 'income_quintile', got {group!r}")
    df = filter_ages(df, min_age)
    df = df[df["year"].isin(list(years))]
    area = Area.of(level, kommune)
    df = df[area.mask(df)]
    pmap = periods(min(years), max(years), period_length)
    df = df.assign(period=df["year"].map(pmap))
    res = _dsr_by(df, measure, per, ["period", group])
    if group == "education":
        res[group] = pd.Categorical(res[group], categories=EDUCATION_LEVELS, ordered=True)
    return res.sort_values(["period", group]).reset_index(drop=True)


def sii_trend(
    rates: pd.DataFrame,
    group: str = "education",
    *,
    reps: int = 2000,
    seed: int = 1,
    min_groups: int = 3,
) -> pd.DataFrame:
    """SII and RII per period from :func:`rates_by_group` output (PHE simulation CIs).

    Groups are ordered from the most to the least advantaged (education: lang → grundskole;
    income: quintile 5 → 1), so a positive SII is the excess rate at the disadvantaged end
    of the scale and RII > 1 the relative excess. Periods where fewer than ``min_groups``
    groups have a rate (too few events) get NaN rather than a line through two points, and
    so do periods in which a group has no events at all (a zero rate has no standard error
    on the log scale).
    """
    r = rates.dropna(subset=["estimate", "lower", "upper"]).copy()
    if group == "education":
        r[group] = r[group].astype(str)
        order: list[str] | list[int] = list(reversed(EDUCATION_LEVELS))
    else:
        r[group] = r[group].astype(int)
        order = [5, 4, 3, 2, 1]
    counts = r.groupby("period")[group].nunique()
    # a group without events has rate 0 and no standard error on the log scale; leaving it
    # out would bias the slope, so such a period gets NaN as well
    zero = set(r.loc[~((r["estimate"] > 0) & (r["lower"] > 0)), "period"])
    ok = [p for p in counts[counts >= min_groups].index if p not in zero]
    periods_all = sorted(rates["period"].unique())
    if len(ok):
        res = stats.sii(
            r[r["period"].isin(ok)],
            group,
            "person_years",
            value="estimate",
            lower="lower",
            upper="upper",
            value_type="rate",
            order=order,
            by=["period"],
            reps=reps,
            seed=seed,
        )
    else:
        cols = ["estimate", "lower", "upper", "rii", "rii_lower", "rii_upper"]
        res = pd.DataFrame(
            {"period": pd.Series([], dtype=object), **{c: pd.Series([], dtype=float) for c in cols}}
        )
    res = pd.DataFrame({"period": periods_all}).merge(res, on="period", how="left")
    res["n_groups"] = res["period"].map(counts).fillna(0).astype(int)
    return res


SURVEY_INDICATORS: tuple[str, ...] = ("srh_good", "daily_smoker", "lonely")
"""Sundhedsprofil indicators by education (column ``indicator``; the reader's names in
:mod:`nsv_eval.report.labels`)."""


def survey_by_education(prep: Prepared, kommune: int, *, level: str = "land") -> pd.DataFrame:
    """Weighted Sundhedsprofil indicators by education and survey year for an area."""
    sv = prep.table("survey")
    area = Area.of(level, kommune)
    sv = sv[area.mask(sv)]
    out = []
    for col in SURVEY_INDICATORS:
        r = stats.weighted_prevalence(sv, col, "weight", by=["year", "education"])
        out.append(r.assign(indicator=col))
    res = pd.concat(out, ignore_index=True)
    res["education"] = pd.Categorical(res["education"], categories=EDUCATION_LEVELS, ordered=True)
    return res.sort_values(["indicator", "year", "education"]).reset_index(drop=True)
