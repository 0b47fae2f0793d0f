"""Study 8 (*Forebyggende hjemmebesøg*): the sections of
``08_forebyggende_hjemmebesoeg.ipynb``.

The numbers come from :mod:`nsv_eval.analyses.preventive` (person × month panel around the
75th birthday, fuzzy RD, placebo ages, density check, accepted-vs-declined IPTW with a
negative control, kommune uptake); this module decides what to say (including the verdict,
:func:`nsv_eval.report.sentences.verdict_da`) and lays out tables and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nsv_eval.analyses import preventive as pv
from nsv_eval.analyses.data import Prepared
from nsv_eval.reference import kommune_name
from nsv_eval.report import figures, sentences
from nsv_eval.report.disclosure import THRESHOLD
from nsv_eval.report.format import fmt_number, fmt_p
from nsv_eval.report.i18n import _, tr
from nsv_eval.report.labels import kommune_display_name
from nsv_eval.report.narrative import ci_label
from nsv_eval.report.sections import Section, key_effect, key_record, key_result


def navn_of(kommune: int) -> str:
    """``"<name> Kommune"``."""
    return f"{kommune_name(kommune)} Kommune"


def omraade_of(scope: str, kommune: int) -> str:
    """The area of the age-threshold analysis in words (``scope``)."""
    return {"land": "hele landet", "region": "regionen", "kommune": navn_of(kommune)}[scope]


@dataclass
class Uptake:
    """Uptake of the visit at 75 by kommune (``table``: one row per kommune, from
    :func:`nsv_eval.analyses.preventive.uptake_all`) and two groups of sections (funnel;
    admissions by uptake)."""

    table: pd.DataFrame
    funnel: list[Section] = field(default_factory=list)
    admissions: list[Section] = field(default_factory=list)


def uptake(prep: Prepared, kommune: int) -> Uptake:
    """How many accept the visit at 75, in the kommune and all kommuner."""
    navn = navn_of(kommune)
    up = pv.uptake_all(prep)
    egen = up[up["kommune_code"] == int(kommune)]
    funnel: list[Section] = []
    if egen.empty or int(egen["offered"].iloc[0]) == 0:
        funnel.append(
            Section(text=f"Ingen borgere i {navn} fyldte 75 i perioden med et helt års opfølgning.")
        )
    else:
        e = egen.iloc[0]
        lf = up["accepted"].sum() / up["offered"].sum()
        funnel.append(
            Section(
                findings=[
                    key_result(
                        "uptake_75",
                        e["share_accepted"],
                        "I {navn} fik {value} af borgerne et forebyggende hjemmebesøg ved 75-års "
                        "fødselsdagen ({modtog} af {tilbudt}); i hele landet {land} %.",
                        kind="pct",
                        decimals=0,
                        counts={"modtog": int(e["accepted"]), "tilbudt": int(e["offered"])},
                        texts={"navn": navn, "land": fmt_number(100 * lf, 0)},
                    )
                ]
            )
        )
    small = THRESHOLD - 1
    shown = up[
        ~up["accepted"].between(1, small) & ~(up["offered"] - up["accepted"]).between(1, small)
    ]
    n_hidden = len(up) - len(shown)
    funnel.append(
        Section(
            figure=figures.uptake_funnel(shown, kommune),
            after=(
                f"*{n_hidden} {'kommune' if n_hidden == 1 else 'kommuner'} med 1–4 borgere, der "
                "tog imod eller sagde nej, er udeladt af hensyn til diskretion.*"
                if n_hidden
                else None
            ),
        )
    )
    vis = up[
        ((up["admitted"] == 0) | (up["admitted"] >= THRESHOLD)) & ~up["accepted"].between(1, small)
    ]
    admissions = [
        Section(
            figure=figures.uptake_admission_figure(vis, kommune, navn),
            after=(
                "*Punktets størrelse viser antallet af 75-årige. Kommuner med 1–4 indlagte eller "
                "1–4, der tog imod, er udeladt af hensyn til diskretion.*"
            ),
        )
    ]
    if not egen.empty:
        e = egen.iloc[0]
        rows = [
            {
                "gruppe": navn,
                "tilbudt": int(e["offered"]),
                "modtog": int(e["accepted"]),
                "indlagt": int(e["admitted"]),
            },
            {
                "gruppe": "Hele landet",
                "tilbudt": int(up["offered"].sum()),
                "modtog": int(up["accepted"].sum()),
                "indlagt": int(up["admitted"].sum()),
            },
        ]
        admissions.append(
            Section(
                table=pd.DataFrame(rows),
                table_options=dict(
                    count_cols=["tilbudt", "modtog", "indlagt"],
                    labels={
                        "gruppe": "",
                        "tilbudt": "Fyldte 75 (antal)",
                        "modtog": "Tog imod (antal)",
                        "indlagt": "Akut indlagt året efter (antal)",
                    },
                    caption="Borgere, der fyldte 75 i perioden",
                ),
            )
        )
    return Uptake(table=up, funnel=funnel, admissions=admissions)


@dataclass
class AgeThreshold:
    """The fuzzy RD at 75: the acute-admission result (None when it cannot be estimated)."""

    acute: Any
    sections: list[Section]


def age_threshold(prep: Prepared, kommune: int, *, scope: str, conf: float = 0.95) -> AgeThreshold:
    """The age threshold at 75 as a natural experiment (fuzzy RD per outcome)."""
    omraade = omraade_of(scope, kommune)
    codes = pv.scope_codes(scope, kommune)
    try:
        res = pv.rd_for_scope(prep, codes, conf=conf)
    except Exception as exc:  # too few citizens around 75 in a small area
        text = (
            f"**Aldersgrænsen kan ikke analyseres for {omraade}:** for få borgere omkring 75 år "
            f"({type(exc).__name__}: {exc}). Vælg `scope: region` eller `scope: land`."
        )
        return AgeThreshold(None, [Section(text=text)])
    acute = res["acute"]
    summ = pv.rd_summary(res)
    t = acute.table().set_index("term")
    keys = [
        key_result(
            "rd_first_stage",
            100 * t.loc["first_stage", "estimate"],
            "Ved 75-årsdagen stiger andelen med et virksomt besøg med {value} procentpoint "
            "({omraade}).",
            kind="number",
            lower=100 * t.loc["first_stage", "lower"],
            upper=100 * t.loc["first_stage", "upper"],
            conf=conf,
            decimals=0,
            texts={"omraade": omraade},
        ),
        key_effect(
            "rd_late_acute",
            acute,
            "Blandt dem, der tager imod, fordi de får tilbuddet, ændrer besøget de akutte "
            "indlæggelser med {value_ci} pr. 1.000 personår (aldersgrænsen, fuzzy RD).",
            decimals=0,
        ),
        key_result(
            "rd_mde_acute",
            acute.mde,
            "Med dette datagrundlag kan aldersgrænsen påvise en effekt på {value} pr. 1.000 "
            "personår eller mere (80 % styrke, 5 % signifikansniveau).",
            decimals=0,
        ),
    ]
    cols = ["label", "first_stage", "reduced_form", "late", "lower", "upper", "p_value"]
    table = Section(
        table=summ.assign(first_stage=100 * summ["first_stage"])[[*cols, "bandwidth", "mde"]],
        table_options=dict(
            labels={
                "label": "Udfald",
                "first_stage": "Spring i andel med besøg (procentpoint)",
                "reduced_form": "Spring i rate pr. 1.000",
                "late": "Effekt pr. 1.000 personår (compliers)",
                "lower": "Nedre",
                "upper": "Øvre",
                "p_value": "p",
                "bandwidth": "Båndbredde (måneder)",
                "mde": "Mindste påviselige effekt",
            },
            decimals=1,
            caption=(
                f"Aldersgrænsen ved 75 år, {omraade}: effekt pr. 1.000 personår med robust "
                f"{ci_label(conf).removesuffix('KI')}konfidensinterval"
            ),
        ),
    )
    title = _("Akutte indlæggelser omkring 75-årsdagen, {omraade}").format(
        omraade=kommune_display_name(kommune) if scope == "kommune" else tr(omraade)
    )
    bins = pv.bins_for_scope(prep, codes, "acute")
    fig = figures.rd_figure(acute, None, "acute", title=title, bins=bins)
    return AgeThreshold(acute, [Section(figure=fig, findings=keys), table])


PLACEBO_COLUMNS = [
    "age",
    "jump_visited",
    "lower",
    "upper",
    "jump_rate",
    "rate_lower",
    "rate_upper",
    "rate_p",
]


def checks(prep: Prepared, kommune: int, *, scope: str, conf: float = 0.95) -> list[Section]:
    """Does the experiment hold? Density test at 75 and placebo thresholds."""
    codes = pv.scope_codes(scope, kommune)
    dens = pv.density_for_scope(prep, codes)
    try:
        plac = pv.placebos_for_scope(prep, codes, conf=conf)
    except Exception:  # too few citizens around the placebo ages in a small area
        plac = pd.DataFrame(columns=PLACEBO_COLUMNS)
    d0 = dens.iloc[0]
    ok_plac = bool(len(plac)) and bool(
        ((plac["rate_lower"] <= 0) & (plac["rate_upper"] >= 0)).all()
    )
    text = (
        f"**Tæthedstest:** {fmt_p(d0['p_value'])} "
        f"({'ingen tegn på' if d0['p_value'] >= 0.05 else 'tegn på'} et spring i antallet af "
        f"borgere ved 75 år). **Placebogrænser:** {'ingen' if ok_plac else 'mindst én'} af "
        f"aldrene {', '.join(str(a) for a in plac['age'])} viser et spring i indlæggelserne, "
        "som tilfældigheder ikke kan forklare."
    )
    return [
        Section(
            text=text,
            table=plac.assign(
                jump_visited=100 * plac["jump_visited"],
                lower=100 * plac["lower"],
                upper=100 * plac["upper"],
            ),
            table_options=dict(
                labels={
                    "age": "Alder",
                    "jump_visited": "Spring i andel med besøg (procentpoint)",
                    "lower": "Nedre",
                    "upper": "Øvre",
                    "jump_rate": "Spring i akutte indlæggelser pr. 1.000",
                    "rate_lower": "Nedre ",
                    "rate_upper": "Øvre ",
                    "rate_p": "p",
                },
                decimals=1,
                caption="Placebogrænser: spring ved aldre uden nyt tilbud",
            ),
            findings=[
                key_record("density_p", float(d0["p_value"]), kind="number"),
                key_record("placebo_passed", ok_plac, kind="text"),
            ],
        )
    ]


@dataclass
class AcceptedVsDeclined:
    """IPTW of acute admissions (``iptw``) and the negative control (``negative``), None when
    the propensity model cannot be fitted."""

    iptw: Any
    negative: Any
    sections: list[Section]


def accepted_vs_declined(
    prep: Prepared, kommune: int, *, scope: str, conf: float = 0.95
) -> AcceptedVsDeclined:
    """Those who accepted vs those who declined (IPTW) with planned admissions as a
    negative control (the offer cohort of the ``scope`` area)."""
    omraade = omraade_of(scope, kommune)
    codes = pv.scope_codes(scope, kommune)
    try:
        iptw = pv.accepted_vs_declined_for_scope(prep, codes, "acute_12m", conf=conf)
        neg = pv.accepted_vs_declined_for_scope(prep, codes, "planned_12m", conf=conf)
    except Exception as exc:  # too few citizens for the propensity model in a small area
        text = f"Sammenligningen kan ikke beregnes for {omraade}: {exc}"
        return AcceptedVsDeclined(None, None, [Section(text=text)])
    ti, tn = iptw.table().set_index("term"), neg.table().set_index("term")
    keys = [
        key_result(
            "iptw_rr",
            ti.loc["risk_ratio", "estimate"],
            "De, der tog imod, blev {retning} akut indlagt det følgende år end de, der sagde nej "
            "(justeret risikoratio {value_ci}; ujusteret {naiv}).",
            kind="effect",
            lower=ti.loc["risk_ratio", "lower"],
            upper=ti.loc["risk_ratio", "upper"],
            conf=conf,
            decimals=2,
            texts={
                "naiv": fmt_number(ti.loc["naive_risk_ratio", "estimate"], 2),
                "retning": "sjældnere"
                if ti.loc["risk_ratio", "estimate"] < 1
                else "lige så ofte eller oftere",
            },
        ),
        key_result(
            "negative_control_rr",
            tn.loc["risk_ratio", "estimate"],
            "Negativ kontrol: for planlagte indlæggelser, som besøget ikke kan påvirke, er den "
            "justerede risikoratio {value_ci}.",
            kind="effect",
            lower=tn.loc["risk_ratio", "lower"],
            upper=tn.loc["risk_ratio", "upper"],
            conf=conf,
            decimals=2,
        ),
    ]
    cols = ["estimate", "lower", "upper"]
    tab = pd.DataFrame(
        [
            {
                "udfald": "Akut indlæggelse (12 mdr.)",
                **ti.loc["risk_ratio", cols].to_dict(),
                "naiv": ti.loc["naive_risk_ratio", "estimate"],
            },
            {
                "udfald": "Planlagt indlæggelse (negativ kontrol)",
                **tn.loc["risk_ratio", cols].to_dict(),
                "naiv": tn.loc["naive_risk_ratio", "estimate"],
            },
        ]
    )
    section = Section(
        table=tab,
        table_options=dict(
            labels={
                "udfald": "Udfald",
                "estimate": "Justeret risikoratio",
                "lower": "Nedre",
                "upper": "Øvre",
                "naiv": "Ujusteret",
            },
            decimals=2,
            caption=f"Tog imod vs. sagde nej, {omraade}",
        ),
        findings=keys,
    )
    return AcceptedVsDeclined(iptw, neg, [section])


def verdict(
    rd: AgeThreshold, avd: AcceptedVsDeclined, kommune: int, *, scope: str
) -> list[Section]:
    """The overall verdict (key result ``verdict`` with its code)."""
    if rd.acute is not None:
        code_v, text = sentences.verdict_da(rd.acute, avd.iptw, avd.negative)
    else:
        code_v, text = (
            "rd_unavailable",
            (
                f"Aldersgrænsen kunne ikke analyseres for {omraade_of(scope, kommune)}; "
                "sammenligningen af dem, der tog imod, med dem, der sagde nej, kan ikke stå alene "
                "(se den negative kontrol)."
            ),
        )
    return [
        Section(
            text=text,
            findings=[key_result("verdict", text, "{value}", kind="text", verdict=code_v)],
        )
    ]
