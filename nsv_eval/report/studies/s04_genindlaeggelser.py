"""Study 4 (*Genindlæggelser*): the sections of ``04_genindlaeggelser.ipynb``.

The numbers come from :mod:`nsv_eval.analyses.readmissions` (pooled shares, the readmission
cohort, the follow-up-visit IPTW/matching/landmark designs, balance, overlap, competing-risk
curves) and :mod:`nsv_eval.analyses.profile` (indirect standardisation); this module decides
what to say about them (comparison words, the verdict of the designs, the Kaplan-Meier gap)
and lays out tables and figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from nsv_eval import stats
from nsv_eval.analyses import profile
from nsv_eval.analyses import readmissions as rm
from nsv_eval.analyses.data import Area, Prepared
from nsv_eval.report import figures, narrative
from nsv_eval.report.disclosure import THRESHOLD, fmt_count
from nsv_eval.report.format import fmt_ci, fmt_number
from nsv_eval.report.labels import covariate_label, readmission_measure_label, visit_label
from nsv_eval.report.narrative import ci_label
from nsv_eval.report.sections import Section, key_result
from nsv_eval.stats import power

KEY = "readmission_65"
"""The indicator of the study (:data:`nsv_eval.analyses.catalogue.INDICATORS`)."""

ISR_WORDS_DA = {
    "lavere": "færre genindlæggelser end forventet",
    "som": "det antal genindlæggelser, der kunne forventes",
    "højere": "flere genindlæggelser end forventet",
}

TRIANGULATION_DA = {
    "agree": "giver samme svar",
    "disagree": "giver forskellige svar; resultatet afhænger af metoden",
    "inconclusive": "er ikke entydigt enige",
}


def _periode(years: Sequence[int]) -> str:
    return f"{years[0]}–{years[-1]}"


def trend(prep: Prepared, kommune: int, period_start: int, period_end: int) -> list[Section]:
    """The share readmitted over time: kommune, region, country."""
    years = range(period_start, period_end + 1)
    return [Section(figure=figures.trend_plot(prep, KEY, kommune, years=years))]


def share(
    prep: Prepared, kommune: int, years: Sequence[int], *, conf: float = 0.95
) -> list[Section]:
    """The share readmitted in the pooled years: key result and table (kommune, region,
    country); a kommune with 1-4 readmissions gets "for få" instead of a share."""
    periode = _periode(years)
    st = rm.pooled_table(prep, kommune, years).set_index("level")
    benchmarks = {
        "periode": periode,
        "region": fmt_number(st.at["region", "estimate"], 1),
        "land": fmt_number(st.at["land", "estimate"], 1),
    }
    if "kommune" not in st.index or 0 < st.at["kommune", "numerator"] < THRESHOLD:
        key = key_result(
            "readmission_share",
            "for få",
            "Kommunen havde for få udskrivelser eller genindlæggelser i {periode} til at vise "
            "andelen (under 5 genindlæggelser); i regionen {region} %, i hele landet {land} %.",
            kind="text",
            texts=benchmarks,
        )
    else:
        k = st.loc["kommune"]
        vs_region = stats.compare(
            st.loc[["kommune"]].reset_index(),
            float(st.at["region", "estimate"]),
            polarity="low_is_good",
        )["comparison"].map(narrative.indicators.COMPARISON_DA).iloc[0]
        key = key_result(
            "readmission_share",
            k["estimate"],
            "I {periode} blev {value} % ({ci}) af kommunens somatiske indlæggelser af borgere "
            "på 65 år og derover fulgt af en akut genindlæggelse inden for 30 dage ({n} "
            "genindlæggelser); i regionen {region} %, i hele landet {land} %.",
            lower=k["lower"],
            upper=k["upper"],
            conf=conf,
            counts={"n": int(k["numerator"])},
            texts=benchmarks,
            vs_region=vs_region,
        )
    tab = st.reset_index()[["area", "numerator", "denominator", "estimate", "lower", "upper"]]
    return [
        Section(
            table=tab,
            table_options=dict(
                count_cols=["numerator", "denominator"],
                rate_cols={"estimate": "numerator"},
                derived_cols={"lower": "numerator", "upper": "numerator"},
                labels={
                    "area": "Område",
                    "numerator": "Genindlæggelser",
                    "denominator": "Udskrivelser",
                    "estimate": "Andel genindlagt (%)",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                caption=f"Akutte somatiske genindlæggelser inden for 30 dage, 65+, {periode}",
                notes=["Konfidensintervaller efter Wilsons metode."],
            ),
            findings=[key],
        )
    ]


def standardised(
    prep: Prepared, kommune: int, years: Sequence[int], *, conf: float = 0.95
) -> list[Section]:
    """Indirectly age- and sex-standardised ratio: key result, table and funnel plot."""
    periode = _periode(years)
    ir = profile.indirect(prep, KEY, years)
    own = ir[ir["kommune_code"] == kommune].iloc[0]
    cat = stats.compare(
        own.to_frame().T[["estimate", "lower", "upper"]].astype(float),
        100.0,
        polarity="low_is_good",
    )["comparison"].map(narrative.indicators.COMPARISON_DA).iloc[0]
    word = ISR_WORDS_DA.get(cat, "et antal, der ikke kan sammenlignes med landet")
    if 0 < own["observed"] < THRESHOLD or not own["expected"] > 0:
        key = key_result(
            "readmission_isr",
            "for få",
            "Kommunen havde under 5 genindlæggelser i {periode}; den standardiserede ratio "
            "vises ikke.",
            kind="text",
            texts={"periode": periode},
        )
    else:
        key = key_result(
            "readmission_isr",
            own["estimate"],
            "Korrigeret for alder og køn er kommunens standardiserede ratio {value} ({ci}; "
            "landet = 100) i {periode}: kommunen har {ord}.",
            lower=own["lower"],
            upper=own["upper"],
            conf=conf,
            texts={"periode": periode, "ord": word},
            category=cat,
        )
    cols = ["kommune_name", "observed", "expected", "estimate", "lower", "upper"]
    return [
        Section(
            table=own.to_frame().T[cols].assign(expected=lambda d: d["expected"].astype(float)),
            table_options=dict(
                count_cols="observed",
                derived_cols={
                    "expected": "observed",
                    "estimate": "observed",
                    "lower": "observed",
                    "upper": "observed",
                },
                labels={
                    "kommune_name": "Kommune",
                    "observed": "Observerede genindlæggelser",
                    "expected": "Forventede genindlæggelser",
                    "estimate": "Standardiseret ratio (landet = 100)",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                caption=f"Indirekte alders- og kønsstandardiseret ratio, {periode}",
            ),
            figure=figures.funnel(prep, KEY, kommune, years),
            findings=[key],
        )
    ]


@dataclass
class Followup:
    """The sections on the follow-up visit, one list per notebook cell (all empty but
    ``adequacy`` when the cohort cannot carry the analysis)."""

    adequacy: list[Section] = field(default_factory=list)
    effect: list[Section] = field(default_factory=list)
    balance: list[Section] = field(default_factory=list)
    robustness: list[Section] = field(default_factory=list)
    competing: list[Section] = field(default_factory=list)


def followup(
    prep: Prepared,
    kommune: int,
    *,
    scope: str,
    period_start: int,
    period_end: int,
    conf: float = 0.95,
) -> Followup:
    """Does the follow-up home visit reduce 30-day readmissions? (IPTW on ``scope``).

    The numbers are the same for every kommune of the area: they are computed once per data
    set and area (:func:`nsv_eval.analyses.readmissions.followup_analysis`)."""
    area = Area.of(scope, kommune)
    years = range(period_start, period_end + 1)
    fa = rm.followup_analysis(prep, kommune, scope=scope, years=years, conf=conf)
    problem = fa.problem
    if problem is not None:
        return Followup(
            adequacy=[
                Section(
                    text=f"**{problem}**",
                    findings=[key_result("followup_effect", problem, "{value}", kind="text")],
                )
            ]
        )
    res = fa.effect
    return Followup(
        effect=_effect(fa, res, area, period_start, period_end, conf),
        balance=_balance(res, fa.overlap_density),
        robustness=_robustness(fa, res, conf),
        competing=_competing(fa),
    )


def _effect(
    fa: rm.FollowupAnalysis, res, area: Area, period_start: int, period_end: int, conf: float
) -> list[Section]:
    if fa.groups is None:
        raise ValueError("followup_analysis has no group table (its cohort was refused)")
    gt = fa.groups.copy()
    gt["visit"] = gt["visit"].map(visit_label)
    groups = Section(
        table=gt,
        table_options=dict(
            count_cols=["n", "readmissions"],
            rate_cols={"risk": "readmissions"},
            derived_cols={"lower": "readmissions", "upper": "readmissions"},
            labels={
                "visit": "Gruppe",
                "n": "Udskrivelser",
                "readmissions": "Genindlæggelser inden for 30 dage",
                "risk": "Andel genindlagt (%)",
                "lower": f"Nedre {ci_label(conf)}",
                "upper": f"Øvre {ci_label(conf)}",
            },
            caption=f"Udskrivelser med og uden opfølgende hjemmebesøg, {area.name}, "
            f"{period_start}–{period_end} (ujusteret)",
        ),
    )
    et = rm.effect_table(res)
    et["measure"] = et["measure"].map(readmission_measure_label)
    dec = [1, 1, 1, 2]
    shown = et.assign(
        naive=[fmt_number(v, d) for v, d in zip(et["naive"], dec, strict=False)],
        naive_ci=[
            "" if i < 2 else fmt_ci(lo, hi, dec[i], conf=conf)
            for i, (lo, hi) in enumerate(zip(et["naive_lower"], et["naive_upper"], strict=False))
        ],
        adjusted=[fmt_number(v, d) for v, d in zip(et["adjusted"], dec, strict=False)],
        adjusted_ci=[
            fmt_ci(lo, hi, dec[i], conf=conf)
            for i, (lo, hi) in enumerate(
                zip(et["adjusted_lower"], et["adjusted_upper"], strict=False)
            )
        ],
    )[["measure", "naive", "naive_ci", "adjusted", "adjusted_ci"]]
    side_by_side = Section(
        table=shown,
        table_options=dict(
            labels={
                "measure": "Mål",
                "naive": "Ujusteret",
                "naive_ci": "Usikkerhed",
                "adjusted": "Justeret (IPTW)",
                "adjusted_ci": "Usikkerhed",
            },
            caption="Ujusteret og justeret sammenligning side om side",
            notes=[
                "Justeret: borgerne er vægtet, så grupperne med og uden besøg ligner hinanden på "
                "alder, køn, uddannelse, indkomst, bopælsforhold, hjemmehjælp, hjemmesygepleje, "
                "tidligere indlæggelser og indlæggelsens længde. Risiciene gælder, hvis alle "
                "henholdsvis ingen udskrevne havde fået besøg.",
            ],
        ),
    )
    return [groups, side_by_side, Section(findings=_effect_keys(res, area, conf))]


def _effect_keys(res, area: Area, conf: float) -> list:
    t = res.table().set_index("term")
    rr, nrr = t.loc["risk_ratio"], t.loc["naive_risk_ratio"]
    change = (1 - rr["estimate"]) * 100
    sikker = (
        "Intervallet udelukker, at besøget er uden effekt."
        if rr["upper"] < 1 or rr["lower"] > 1
        else "Data kan ikke udelukke, at besøget er uden effekt."
    )
    rr_mde = power.mde_from_ci(rr["lower"], rr["upper"], conf=conf, ratio=True)
    bal = res.balance.set_index("covariate")
    hc1, hc0 = bal.at["home_care", "mean_treated"], bal.at["home_care", "mean_control"]
    return [
        key_result(
            "followup_rr",
            rr["estimate"],
            "Opfølgende hjemmebesøg ({omraade}): efter justering for borgernes kendetegn er "
            "risikoratioen for genindlæggelse inden for 30 dage {value} ({ci}), dvs. omkring "
            "{aendring} % {retning} genindlæggelser med besøg. {sikker} {mde}",
            kind="effect",
            lower=rr["lower"],
            upper=rr["upper"],
            conf=conf,
            decimals=2,
            texts={
                "omraade": area.name,
                "aendring": fmt_number(abs(change), 0),
                "retning": "færre" if change > 0 else "flere",
                "sikker": sikker,
                "mde": narrative.power.mde_text(rr_mde).replace("en rateratio", "en risikoratio"),
            },
            design="cohort_iptw",
            p_value=rr["p_value"],
            **rr_mde.to_dict(),
        ),
        key_result(
            "followup_naive_rr",
            nrr["estimate"],
            "Den ujusterede sammenligning giver risikoratio {value} ({ci}): den {hvordan}, fordi "
            "besøget oftere gives til skrøbelige borgere ({hc1} % af de besøgte havde "
            "hjemmehjælp mod {hc0} % af de øvrige).",
            kind="effect",
            lower=nrr["lower"],
            upper=nrr["upper"],
            conf=conf,
            decimals=2,
            texts={
                "hvordan": "ser besøget for dårligt"
                if nrr["estimate"] > rr["estimate"]
                else "ser besøget for godt",
                "hc1": fmt_number(100 * hc1, 0),
                "hc0": fmt_number(100 * hc0, 0),
            },
        ),
    ]


def _balance(res, density=None) -> list[Section]:
    bt = rm.balance_table(res)
    bt["covariate"] = bt["covariate"].map(covariate_label)
    ot = rm.overlap_table(res)
    ot["visit"] = ot["visit"].map(visit_label)
    return [
        Section(figure=figures.love_plot(res)),
        Section(
            table=bt.drop(columns="binary"),
            table_options=dict(
                labels={
                    "covariate": "Kendetegn",
                    "mean_treated": "Med besøg",
                    "mean_control": "Uden besøg",
                    "smd_before": "Standardiseret forskel før",
                    "smd_after": "Standardiseret forskel efter",
                },
                decimals={"mean_treated": 1, "mean_control": 1, "smd_before": 2, "smd_after": 2},
                caption=(
                    "Balance: gennemsnit (andele i %) og standardiserede forskelle før og efter "
                    "vægtning"
                ),
                notes=[
                    "Andele, der svarer til 1–4 personer, vises ikke (–).",
                    "Referencegrupper: kvinder, grundskole, ingen akutte indlæggelser det "
                    "seneste år.",
                ],
            ),
        ),
        Section(figure=figures.overlap_plot(res, density=density)),
        Section(
            table=ot,
            table_options=dict(
                count_cols="n",
                derived_cols={
                    c: "n" for c in ["ps_p01", "ps_median", "ps_p99", "weight_max", "ess"]
                },
                labels={
                    "visit": "Gruppe",
                    "n": "Udskrivelser",
                    "ps_p01": "Propensity score, 1 %-fraktil",
                    "ps_median": "Median",
                    "ps_p99": "99 %-fraktil",
                    "weight_max": "Største vægt",
                    "ess": "Effektiv stikprøvestørrelse",
                },
                decimals={"ps_p01": 2, "ps_median": 2, "ps_p99": 2, "weight_max": 1, "ess": 0},
                caption="Overlap og vægte",
            ),
        ),
    ]


def _robustness(fa: rm.FollowupAnalysis, res, conf: float) -> list[Section]:
    rr = res.table().set_index("term").loc["risk_ratio"]
    e_pt, e_ci = float(rr["e_value"]), float(rr["e_value_ci"])
    keys = [
        key_result(
            "followup_e_value",
            e_pt,
            "E-værdi {value}: en ikke-målt faktor skulle hænge sammen med både besøg og "
            "genindlæggelse med en risikoratio på mindst {value} for at forklare effekten væk "
            "(mindst {eci} for at gøre den usikker).",
            decimals=2,
            texts={"eci": fmt_number(e_ci, 2)},
        )
    ]
    att, match = fa.effect_att, fa.matched
    if att is None or match is None:
        raise ValueError("followup_analysis has no ATT or matching result (cohort refused)")
    designs = [res, att, match]
    names = [
        "Vægtning (IPTW), alle udskrevne",
        "Vægtning (IPTW), de besøgte",
        "Matchning 1:1, de besøgte",
    ]
    if fa.landmark_effect is not None:
        designs.append(fa.landmark_effect)
        names.append("Vægtning (IPTW), fra dag 8")
    tri = stats.triangulate(*designs, names=names)
    keys.append(
        key_result(
            "followup_triangulation",
            tri.verdict,
            "De {k} beregninger af besøgets effekt {verdict} (risikoratio fra {lo} til {hi}).",
            kind="text",
            texts={
                "k": str(len(designs)),
                "verdict": TRIANGULATION_DA[tri.verdict],
                "lo": fmt_number(tri.designs["estimate"].min(), 2),
                "hi": fmt_number(tri.designs["estimate"].max(), 2),
            },
        )
    )
    return [
        Section(
            table=tri.designs[["name", "estimate", "lower", "upper"]],
            table_options=dict(
                labels={
                    "name": "Metode",
                    "estimate": "Risikoratio",
                    "lower": f"Nedre {ci_label(conf)}",
                    "upper": f"Øvre {ci_label(conf)}",
                },
                decimals=2,
                caption="Samme spørgsmål, fire beregninger",
                notes=[
                    f"Matchning: {fmt_count(match.n_matched)} besøgte fandt en "
                    f"sammenlignelig ubesøgt borger; {fmt_count(match.n_unmatched)} "
                    "gjorde ikke og indgår ikke (de besøgte med den højeste sandsynlighed for "
                    "besøg har få sammenlignelige ubesøgte).",
                    f"Fra dag 8: {fmt_count(fa.landmark_counts['readmitted_before'])} udskrivelser med "
                    f"genindlæggelse og {fmt_count(fa.landmark_counts['died_before'])} med dødsfald før "
                    f"dag 8 er udeladt, og {fmt_count(fa.landmark_counts['after_previous'])} udskrivelser "
                    "inden for 7 dage efter en tidligere udskrivelse (et besøg kan ikke "
                    "henføres til den ene af dem).",
                ],
            ),
            findings=keys,
        )
    ]


def _competing(fa: rm.FollowupAnalysis) -> list[Section]:
    pts = fa.cif_points
    if pts is None:
        raise ValueError("followup_analysis has no competing-risk curves (cohort refused)")
    sections = [Section(figure=figures.cif_plot(pts))]
    end = pts[pts["time"] == pts["time"].max()].dropna(subset=["cif"])
    if end.empty:
        return sections
    gaps = {r["visit"]: (100 * r["cif"], 100 * r["one_minus_km"]) for _, r in end.iterrows()}
    first = next(iter(gaps))
    deaths = fa.deaths[first]
    key = key_result(
        "cif_vs_km",
        gaps[first][0],
        "Med død som konkurrerende hændelse er {value} % af udskrivelserne {gruppe} "
        "genindlagt på dag 30; Kaplan-Meier, der ser bort fra døden, giver {km} %. Forskellen "
        "er {stoerrelse}, fordi {doede} i gruppen døde inden for 30 dage uden at være "
        "genindlagt.",
        decimals=2,
        texts={
            "gruppe": visit_label(first).lower(),
            "km": fmt_number(gaps[first][1], 2),
            "stoerrelse": "lille" if gaps[first][1] < 1.05 * gaps[first][0] else "tydelig",
        },
        counts={"doede": deaths},
    )
    sections.append(
        Section(
            table=end[["visit", "cif", "one_minus_km"]].assign(
                visit=lambda d: d["visit"].map(visit_label),
                cif=lambda d: 100 * d["cif"],
                one_minus_km=lambda d: 100 * d["one_minus_km"],
            ),
            table_options=dict(
                labels={
                    "visit": "Gruppe",
                    "cif": "Genindlagt dag 30, død som konkurrerende hændelse (%)",
                    "one_minus_km": "1 − Kaplan-Meier (%)",
                },
                decimals=2,
                caption="Kumuleret andel genindlagte på dag 30 (ujusteret)",
            ),
            findings=[key],
        )
    )
    return sections
