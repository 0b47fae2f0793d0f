"""The kommune's indicator profile: trend, standardised comparison, funnel position.

Everything here is computed from the cached national summary ``year_age_sex`` of
:class:`~nsv_eval.analyses.data.Prepared` (kommune × year × age band × sex), so the 98-kommune
comparison costs one small table, not a pass over the cube.

Methods (PHE/OHID Fingertips conventions, implemented in :mod:`nsv_eval.stats`):

* crude rates (Byar/exact Poisson CI) and proportions (Wilson CI) per year and area;
* age-standardised rates (ESP2013, restricted to the indicator's age bands; Dobson CI);
* indirectly standardised ratios (age × sex, national reference rates of the same period;
  ×100, so 100 = as expected from the country's rates) for all 98 kommuner, which place
  the kommune in a funnel plot of ratio against expected count;
* significance categories against the region and the country (benchmark outside the
  kommune's 95 % CI).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses.catalogue import INDICATORS, Indicator, for_manifest
from nsv_eval.analyses.data import Area, Prepared, filter_ages
from nsv_eval.reference import esp2013, kommuner

LEVELS: tuple[str, ...] = ("kommune", "region", "land")


def _indicator(ind: Indicator | str, prep: Prepared | None = None) -> Indicator:
    """The indicator ``ind`` (a key: under the variants ``prep`` was prepared with)."""
    if not isinstance(ind, str):
        return ind
    return (for_manifest(prep.manifest) if prep is not None else INDICATORS)[ind]


def _base(prep: Prepared, ind: Indicator, years: Sequence[int] | None) -> pd.DataFrame:
    df = filter_ages(prep.summary("year_age_sex"), ind.min_age)
    if years is not None:
        df = df[df["year"].isin(list(years))]
    return df


def _estimate(df: pd.DataFrame, ind: Indicator, by: list[str]) -> pd.DataFrame:
    agg = df.groupby(by, as_index=False, observed=True)[[ind.numerator, ind.denominator]].sum()
    # a year without any denominator (e.g. no index discharges in a tiny kommune) has no value
    agg = agg[agg[ind.denominator] > 0]
    fn = stats.proportion if ind.kind == "proportion" else stats.rate
    return fn(agg, ind.numerator, ind.denominator, by=by, multiplier=ind.multiplier)


def trend(
    prep: Prepared,
    indicator: Indicator | str,
    kommune: int,
    *,
    levels: Sequence[str] = LEVELS,
    years: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Yearly crude value with CI for the kommune, its region and the country.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``area``, ``year``, ``numerator``, ``denominator``, ``estimate``,
        ``lower``, ``upper``, ``conf``, ``method``.
    """
    ind = _indicator(indicator, prep)
    base = _base(prep, ind, years)
    out = []
    for level in levels:
        area = Area.of(level, kommune)
        part = base[area.mask(base)].assign(level=level, area=area.name)
        out.append(_estimate(part, ind, ["level", "area", "year"]))
    return pd.concat(out, ignore_index=True)


def standardised(
    prep: Prepared, indicator: Indicator | str, kommune: int, years: Sequence[int]
) -> pd.DataFrame:
    """Value for the kommune, region and country over ``years`` pooled.

    Rates are age-standardised to ESP2013 (the indicator's age bands, Dobson CI) unless
    their definition is crude (``Indicator.standardise``); proportions are crude (Wilson CI). Columns as in :func:`trend`, one row per level.
    """
    ind = _indicator(indicator, prep)
    base = _base(prep, ind, years)
    out = []
    for level in LEVELS:
        area = Area.of(level, kommune)
        part = base[area.mask(base)].assign(level=level, area=area.name)
        if ind.kind == "proportion" or not ind.standardise:
            # proportions, and rates whose definition is crude (disease cohorts)
            out.append(_estimate(part, ind, ["level", "area"]))
        else:
            strata = part.groupby(["level", "area", "age_band"], as_index=False, observed=True)[
                [ind.numerator, ind.denominator]
            ].sum()
            strata = strata.merge(esp2013()[["age_band", "population"]], on="age_band").rename(
                columns={"population": "std_pop"}
            )
            out.append(
                stats.dsr(
                    strata,
                    ind.numerator,
                    ind.denominator,
                    "std_pop",
                    by=["level", "area"],
                    multiplier=ind.multiplier,
                )
            )
    return pd.concat(out, ignore_index=True)


def indirect(prep: Prepared, indicator: Indicator | str, years: Sequence[int]) -> pd.DataFrame:
    """Indirectly standardised ratio (age × sex, national reference) for all 98 kommuner.

    Returns
    -------
    pandas.DataFrame
        ``kommune_code``, ``kommune_name``, ``region_code``, ``observed``, ``expected``,
        ``estimate`` (ratio × 100), ``lower``, ``upper``, ...
    """
    ind = _indicator(indicator, prep)
    base = _base(prep, ind, years)
    cells = base.groupby(["kommune_code", "age_band", "sex"], as_index=False, observed=True)[
        [ind.numerator, ind.denominator]
    ].sum()
    ref = cells.groupby(["age_band", "sex"], as_index=False)[[ind.numerator, ind.denominator]].sum()
    ref = ref.rename(columns={ind.numerator: "ref_num", ind.denominator: "ref_den"})
    cells = cells.merge(ref, on=["age_band", "sex"])
    cells = cells[cells["ref_den"] > 0]
    # a kommune with no expected events (tiny population, or no index discharges for a
    # proportion) has no ratio: leave it NaN rather than fail the whole comparison
    expected = (
        (cells[ind.denominator] * cells["ref_num"] / cells["ref_den"])
        .groupby(cells["kommune_code"])
        .sum()
    )
    cells = cells[cells["kommune_code"].isin(expected[expected > 0].index)]
    res = stats.isr(
        cells,
        ind.numerator,
        ind.denominator,
        "ref_num",
        "ref_den",
        by=["kommune_code"],
        ratio=True,
        multiplier=100,
    )
    k = kommuner()[["kommune_code", "kommune_name", "region_code"]]
    return k.merge(res, on="kommune_code", how="left")


def profile_table(
    prep: Prepared,
    kommune: int,
    years: Sequence[int],
    indicators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per indicator: the kommune's value and CI, region and country values,
    the indirectly standardised ratio and the significance categories.

    Returns
    -------
    pandas.DataFrame
        ``indicator``, ``label``, ``unit``, ``numerator``, ``estimate``, ``lower``, ``upper``,
        ``region``, ``land``, ``vs_region``, ``vs_land``, ``isr``, ``isr_lower``,
        ``isr_upper``, ``isr_category`` (comparison codes of :func:`nsv_eval.stats.compare`),
        ``note_reason`` (why the kommune's value cannot be
        estimated — no denominator, no or too few events — as :func:`_why` data; ``""``
        when it can; the report layer words it).
    """
    rows = []
    catalogue = for_manifest(prep.manifest)
    for key in indicators or list(catalogue):
        ind = catalogue[key]
        st = standardised(prep, ind, kommune, years).set_index("level")
        if "kommune" not in st.index:
            # no denominator at all in the kommune (e.g. no index discharges): no value
            st.loc["kommune"] = {"numerator": 0, "denominator": 0, "estimate": np.nan}
        k = st.loc[["kommune"]].reset_index()
        polarity: Literal["high_is_good", "low_is_good"] = (
            "low_is_good" if ind.lower_is_better else "high_is_good"
        )
        # benchmarks as columns: a region without a value (< 10 events in a short period)
        # gives "ikke sammenlignet" instead of an error
        k = k.assign(
            _region=float(st.at["region", "estimate"]), _land=float(st.at["land", "estimate"])
        )
        vs_region = stats.compare(k, "_region", polarity=polarity)
        vs_land = stats.compare(k, "_land", polarity=polarity)
        ir = indirect(prep, ind, years).set_index("kommune_code").loc[int(kommune)]
        ir_cat = stats.compare(
            pd.DataFrame(
                [{"estimate": ir["estimate"], "lower": ir["lower"], "upper": ir["upper"]}]
            ),
            100.0,
            polarity=polarity,
        )
        rows.append(
            {
                "indicator": key,
                "label": ind.label_da,
                "unit": ind.unit_da,
                "numerator": int(st.at["kommune", "numerator"]),
                "estimate": st.at["kommune", "estimate"],
                "lower": st.at["kommune", "lower"],
                "upper": st.at["kommune", "upper"],
                "region": st.at["region", "estimate"],
                "land": st.at["land", "estimate"],
                "vs_region": vs_region["comparison"].iloc[0],
                "vs_land": vs_land["comparison"].iloc[0],
                "isr": ir["estimate"],
                "isr_lower": ir["lower"],
                "isr_upper": ir["upper"],
                "isr_category": ir_cat["comparison"].iloc[0],
                "note_reason": _profile_note(ind, st.loc["kommune"], years),
            }
        )
    return pd.DataFrame(rows)


MIN_RESPONDENTS = 20
"""Fewest survey respondents behind a published survey estimate."""


def _why(what: str, reason: str, **fields: object) -> dict[str, object]:
    """Why a value cannot be estimated, as data: the subject, a reason code of
    :data:`nsv_eval.report.estimable.REASONS_DA` and its fields. The report layer turns it
    into the sentence (:func:`nsv_eval.report.studies.s02_kommuneprofil.with_notes`)."""
    return {"what": what, "reason": reason, **fields}


# what the denominator of an indicator counts, for the "cannot be estimated" sentence
_DENOMINATOR_DA = {
    "person_years": "personår",
    # official definition: somatic admissions (stays >= 12 h) of residents 65+
    "readmit_index": "indlæggelser af borgere 65+",
    "copd_population": "borgere med KOL",
    "diabetes_population": "borgere med type 2-diabetes",
}


def _periode(years: Sequence[int]) -> str:
    ys = sorted(int(y) for y in years)
    return str(ys[0]) if ys[0] == ys[-1] else f"{ys[0]}–{ys[-1]}"


def _profile_note(ind: Indicator, row: pd.Series, years: Sequence[int]) -> dict | str:
    """Why the kommune's value is missing (:func:`_why`), or ``""`` when it has one."""
    if pd.notna(row["estimate"]):
        return ""
    periode = _periode(years)
    if not row["denominator"] > 0:
        return _why(
            ind.label_da,
            "no_denominator",
            denominator=_DENOMINATOR_DA.get(ind.denominator, ind.denominator),
            periode=periode,
        )
    if row["numerator"] == 0:
        return _why(ind.label_da, "no_events", events="hændelser", periode=periode)
    return _why(ind.label_da, "too_few_events", events="hændelser", periode=periode)


def life_expectancy_table(prep: Prepared, kommune: int, years: Sequence[int]) -> pd.DataFrame:
    """Life expectancy at birth by sex: the kommune, its region, the country and the best
    and worst kommune (years pooled; Chiang II abridged life table).

    Returns
    -------
    pandas.DataFrame
        ``sex``, ``area``, ``level``, ``estimate``, ``lower``, ``upper`` (years), ``note_reason``.
        The kommune always has a row per sex; when its value cannot be estimated (too few
        person-years, an empty age band, no deaths at the oldest ages, too wide an interval)
        ``estimate`` is NaN and ``note_reason`` says why (:func:`_why`). The best and worst kommune are
        left out when no kommune has a value.
    """
    df = prep.summary("year_age_sex")
    df = df[df["year"].isin(list(years))]
    cells = df.groupby(["kommune_code", "region_code", "sex", "age_band"], as_index=False)[
        ["deaths", "person_years"]
    ].sum()
    lower = cells["age_band"].str.extract(r"^(\d+)")[0].astype(int)
    cells = cells.assign(age_lower=lower)

    def le(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
        agg = frame.groupby([*by, "age_lower"], as_index=False)[["deaths", "person_years"]].sum()
        res = stats.life_expectancy(agg, "deaths", "person_years", "age_lower", by=by)
        return res[res["age_start"] == 0].reset_index(drop=True)  # at birth

    per_k = le(cells, ["kommune_code", "sex"])
    out = []
    names = kommuner().set_index("kommune_code")["kommune_name"]
    periode = _periode(years)
    for sex, all_k in per_k.groupby("sex"):
        grp = all_k.dropna(subset=["estimate"])
        own = all_k[all_k["kommune_code"] == int(kommune)]
        # the kommune's row is always there; without a value it says why (Danish note)
        has = not own.empty and pd.notna(own["estimate"].iloc[0])
        cols = ("estimate", "lower", "upper")
        out.append(
            {
                "sex": sex,
                "level": "kommune",
                "area": Area("kommune", int(kommune)).name,
                **({c: own[c].iloc[0] for c in cols} if has else dict.fromkeys(cols, np.nan)),
                "note_reason": ""
                if has
                else _life_expectancy_note(
                    own["note"].iloc[0] if not own.empty else "missing", sex, periode
                ),
            }
        )
        reg = Area.of("region", kommune)
        r = le(cells[(cells["region_code"] == reg.code) & (cells["sex"] == sex)], ["sex"])
        out.append(
            {
                "sex": sex,
                "level": "region",
                "area": reg.name,
                **r.iloc[0][["estimate", "lower", "upper"]].to_dict(),
            }
        )
        n = le(cells[cells["sex"] == sex], ["sex"])
        out.append(
            {
                "sex": sex,
                "level": "land",
                "area": "Hele landet",
                **n.iloc[0][["estimate", "lower", "upper"]].to_dict(),
            }
        )
        if grp.empty:
            continue  # no kommune has a life expectancy: no best or worst
        best = grp.loc[grp["estimate"].idxmax()]
        worst = grp.loc[grp["estimate"].idxmin()]
        for lvl, row in (("bedste", best), ("laveste", worst)):
            out.append(
                {
                    "sex": sex,
                    "level": lvl,
                    "area": f"{names[int(row['kommune_code'])]} Kommune",
                    "estimate": row["estimate"],
                    "lower": row["lower"],
                    "upper": row["upper"],
                }
            )
    return pd.DataFrame(out).assign(note_reason=lambda d: d["note_reason"].fillna(""))


def _life_expectancy_note(note: str, sex: str, periode: str) -> dict:
    """Reason (:func:`_why`) for a life expectancy that :func:`stats.life_expectancy` left out."""
    what = f"Middellevetiden for {'mænd' if sex == 'M' else 'kvinder'} i kommunen"
    note = str(note)
    if note.startswith("total population"):
        return _why(what, "too_few_person_years", periode=periode)
    if note.startswith("missing age band") or "zero population" in note or note == "missing":
        return _why(
            what, "no_population", group="en eller flere aldersgrupper", periode=periode
        )
    if "no deaths in the open age band" in note:
        return _why(
            what,
            "no_events",
            events="dødsfald blandt borgere på 95 år og derover",
            periode=periode,
        )
    if "CI wider" in note:
        return _why(
            what, "too_uncertain", detail="konfidensintervallet er bredere end 20 år"
        )
    return _why(
        what, "too_uncertain", detail="flere dødsfald end borgere i en aldersgruppe"
    )


def survey_table(prep: Prepared, kommune: int, year: int | None = None) -> pd.DataFrame:
    """Sundhedsprofil indicators (weighted) for the kommune, region and country.

    Returns
    -------
    pandas.DataFrame
        ``indicator``, ``label``, ``level``, ``area``, ``respondents``, ``estimate``,
        ``lower``, ``upper`` (percent; mean score for mental well-being), ``note_reason`` (why an
        estimate is missing — no respondents from the area — as :func:`_why` data; ``""``
        otherwise).
    """
    sv = prep.table("survey")
    if year is None:
        year = int(sv["year"].max())
    sv = sv[sv["year"] == year]
    defs = {
        "srh_good": ("Godt eller virkelig godt selvvurderet helbred", "proportion"),
        "daily_smoker": ("Ryger dagligt", "proportion"),
        "lonely": ("Ofte uønsket alene", "proportion"),
        "mental_wellbeing": ("Mentalt helbred (gennemsnitlig score)", "mean"),
    }
    out = []
    for level in LEVELS:
        area = Area.of(level, kommune)
        part = sv[area.mask(sv)]
        for col, (label, kind) in defs.items():
            r = stats.weighted_prevalence(part, col, "weight", kind=kind)
            row = r.iloc[0][["respondents", "estimate", "lower", "upper"]].to_dict()
            note: dict | str = ""
            if pd.isna(row["estimate"]):
                n = row["respondents"]
                if not n > 0:
                    note = _why(label, "no_respondents", area=area.name, aar=year)
                elif n < MIN_RESPONDENTS:
                    note = _why(label, "too_few_respondents", area=area.name, aar=year)
                else:
                    note = _why(label, "too_uncertain", detail="ingen brugbare vægte")
            out.append(
                {
                    "indicator": col,
                    "label": label,
                    "level": level,
                    "area": area.name,
                    "year": year,
                    **row,
                    "note_reason": note,
                }
            )
    return pd.DataFrame(out)


def funnel_points(prep: Prepared, indicator: Indicator | str, years: Sequence[int]) -> pd.DataFrame:
    """Observed and expected counts per kommune for a funnel plot of the standardised ratio."""
    ir = indirect(prep, indicator, years)
    ir = ir[np.isfinite(ir["expected"]) & (ir["expected"] > 0)]
    return ir
