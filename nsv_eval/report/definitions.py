"""The "Definitioner og datagrundlag" appendix of every report, and definition stamps.

Rendered once, in the report layer: :func:`nsv_eval.report.render.run_study` appends
:func:`appendix_html` of the study's definitions (``Study.definitions`` in
:mod:`nsv_eval.report.studies`) to the page and records, with :func:`annotate_findings`,
the id, variant and version of the definition behind each key result in the JSON.

Which *variant* of each definition a report uses is decided by the prepared data: the
manifest records the variants the cleaning computed (``definitions.indicators``). The
parameters (``definitions:`` in ``params/defaults.yaml``) must agree with it —
:func:`resolve_selection` raises when they do not, so variants are never mixed silently.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from nsv_eval import definitions as D
from nsv_eval.errors import NsvError

TITLE_DA = "Definitioner og datagrundlag"

KEY_DEFINITIONS: dict[str, str | None] = {
    # indicator catalogue
    "preventable_65": "preventable",
    "readmission_65": "readmission",
    "short_stay_65": "short_stay",
    "fall_injury_65": "fall_injury",
    "hip_fracture_65": "hip_fracture",
    "copd_acute": "copd_acute",
    "diabetes_acute": "diabetes_acute",
    "heart_failure_acute": "heart_failure_acute",
    # study 4
    "readmission_share": "readmission",
    "readmission_isr": "readmission",
    "followup_effect": "readmission",
    "followup_rr": "readmission",
    "followup_naive_rr": "readmission",
    "followup_e_value": "readmission",
    "followup_triangulation": "readmission",
    "cif_vs_km": "readmission",
    # study 5
    "sc_avg_gap": "preventable",
    # study 7 (prefix of <intervention>_business_case / _net_saving)
    "acute_team": "preventable",
    "followup_visit": "readmission",
    "falls_programme": "fall_injury",
    # numbers that rest on no indicator definition
    "data_period": None,
    "rows_read": None,
    "reconciled": None,
    "rejected_share": None,
    "top_reject_reason": None,
    "contact_rate_ratio": None,
    "coverage_gaps": None,
    "unmatched_contacts": None,
    "persons_last_year": None,
    "daily_smoker": None,
    "life_expectancy": None,
    "sii_deaths_last": None,
    "smoking_gap": None,
}
"""Key result (or its prefix before ``_``-suffixes) → definition id; None = no definition.
Keys not listed take the study's first definition (e.g. ``dsr_pooled`` in study 3)."""


def definition_for(key: str, study_definitions: Iterable[str] = ()) -> str | None:
    """The definition id behind key result ``key`` (see :data:`KEY_DEFINITIONS`)."""
    if key in KEY_DEFINITIONS:
        return KEY_DEFINITIONS[key]
    for prefix, id in KEY_DEFINITIONS.items():
        if key.startswith(prefix + "_"):
            return id
    first = next(iter(study_definitions), None)
    return first


def resolve_selection(
    manifest: Mapping[str, Any] | None, params: Mapping[str, Any] | None
) -> dict[str, str]:
    """Indicator id → variant used by a run: the prepared data's, checked against params.

    Raises :class:`~nsv_eval.errors.NsvError` when the parameters ask for another variant
    than the data were prepared with (a manifest without ``definitions.indicators`` comes
    from the course-based cleaning: :data:`nsv_eval.definitions.COURSE_VARIANTS`).
    """
    wanted = dict((params or {}).get("definitions") or {})
    # data prepared before the manifest recorded its definitions were built by the
    # course-based cleaning, i.e. with its variants
    built = ((manifest or {}).get("definitions") or {}).get("indicators") or D.COURSE_VARIANTS
    used = {k: v["variant"] if isinstance(v, Mapping) else str(v) for k, v in built.items()}
    for id, variant in wanted.items():
        if id in used and used[id] != variant:
            raise NsvError(
                f"params 'definitions.{id}' asks for variant {variant!r}, but the prepared "
                f"data were built with {used[id]!r} (manifest.json). Prepare the data again "
                f"with that variant, or set definitions.{id}: {used[id]} in the parameters."
            )
    sel = {**wanted, **used}
    D.selected(sel)  # unknown ids/variants raise here
    return sel


def stamps(ids: Iterable[str], selection: Mapping[str, str] | None = None) -> dict[str, dict]:
    """``{id: {"id", "variant", "version"}}`` of the given definitions under ``selection``."""
    sel = dict(selection or {})
    return {id: D.get(id, sel.get(id)).stamp() for id in ids}


def annotate_findings(
    findings: list[dict[str, Any]],
    study_definitions: Iterable[str],
    selection: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Add ``definition`` (id, variant, version, or None) to every key result."""
    sel = dict(selection or {})
    study_definitions = tuple(study_definitions)
    out = []
    for item in findings:
        item = dict(item)
        given = item.get("definition")
        id = given.get("id") if isinstance(given, Mapping) else given
        id = id or definition_for(str(item.get("key", "")), study_definitions)
        item["definition"] = D.get(id, sel.get(id)).stamp() if id else None
        out.append(item)
    return out


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def definition_html(d: D.Definition, lang: str = "da") -> str:
    """One definition as an HTML block (no tables: nothing for the count scanner)."""
    src = d.source
    da = lang == "da"
    label = {
        "population": "Population" if da else "Population",
        "numerator": "Tæller" if da else "Numerator",
        "denominator": "Nævner" if da else "Denominator",
        "unit": "Enhed" if da else "Unit",
        "std": "Standardisering" if da else "Standardisation",
        "excl": "Udeladt" if da else "Exclusions",
        "source": "Kilde" if da else "Source",
        "version": "Definition" if da else "Definition",
    }
    parts = [f'<section class="nsv-definition" data-definition="{_e(d.id)}">']
    parts.append(f"<h3>{_e(d.text('name', lang))}</h3>")
    if not d.official:
        parts.append(
            '<p class="nsv-definition-variant"><strong>'
            + (
                "Tidligere/lokal definition — ikke den officielle. Tallene kan derfor ikke "
                "sammenlignes direkte med eSundhed, KØS eller Nationale mål."
                if da
                else "Earlier/local definition — not the official one; not directly comparable."
            )
            + "</strong></p>"
        )
    parts.append("<dl>")
    for key in ("population", "numerator", "denominator", "unit"):
        parts.append(f"<dt>{label[key]}</dt><dd>{_e(d.text(key, lang))}</dd>")
    if d.exclusions:
        items = "".join(f"<li>{_e(e[lang])}</li>" for e in d.exclusions)
        parts.append(f"<dt>{label['excl']}</dt><dd><ul>{items}</ul></dd>")
    parts.append(f"<dt>{label['std']}</dt><dd>{_e(d.standardisation[lang])}</dd>")
    url = _e(src["url"])
    cite = (
        f"{_e(src['issuer'])}: <em>{_e(src['title'])}</em> "
        f"({_e(src['version'])}, {_e(src['date'])})"
    )
    cite = f'{cite}. <a href="{url}">{url}</a>'
    if not da:
        # the source is a Danish document: its citation (and address) is quoted as
        # published, marked as Danish (lang="da") inside the English page
        cite = f'<span lang="da">{cite}</span> (in Danish)'
    parts.append(f'<dt>{label["source"]}</dt><dd>{cite}</dd>')
    if d.unconfirmed:
        items = "".join(f"<li>{_e(u[lang])}</li>" for u in d.unconfirmed)
        head = "Forbehold (ikke bekræftet)" if da else "Not confirmed"
        parts.append(f"<dt>{head}</dt><dd><ul>{items}</ul></dd>")
    note = f" Hele definitionen: <code>nsv-eval definitions {_e(d.ref)}</code>." if da else ""
    parts.append(
        f"<dt>{label['version']}</dt><dd><code>{_e(d.id)}</code>, variant "
        f"<code>{_e(d.variant)}</code>, version {_e(d.version)} ({_e(d.date)}).{note}</dd>"
    )
    parts.append("</dl></section>")
    return "".join(parts)


def appendix_html(
    ids: Iterable[str],
    selection: Mapping[str, str] | None = None,
    *,
    lang: str = "da",
    data_note: str | None = None,
) -> str:
    """The "Definitioner og datagrundlag" appendix for definitions ``ids``.

    Parameters
    ----------
    ids : iterable of str
        Definition ids (``Study.definitions``).
    selection : mapping, optional
        Id → variant (default: the official variant, or the only one).
    lang : str
        ``"da"`` (reports) or ``"en"``.
    data_note : str, optional
        A sentence on the data the report rests on (plain text; escaped).
    """
    sel = dict(selection or {})
    title = TITLE_DA if lang == "da" else "Definitions and data"
    intro = (
        "Indikatorerne i rapporten er opgjort efter definitionerne nedenfor. De er gemt som "
        "data i nsv-eval (nsv_eval/definitions) med kilde og version."
        if lang == "da"
        else "The indicators of this report follow the definitions below (kept as data)."
    )
    blocks = [definition_html(D.get(id, sel.get(id)), lang) for id in dict.fromkeys(ids)]
    data = f"<p>{_e(data_note)}</p>" if data_note else ""
    return (
        '<section class="nsv-appendix nsv-definitions">'
        f"<h2>{_e(title)}</h2><p>{_e(intro)}</p>{data}{''.join(blocks)}</section>"
    )


KIND_NAMES_EN: dict[str, str] = {
    "persons": "persons",
    "admissions": "hospital contacts (LPR)",
    "stays": "hospital stays",
    "care": "home care and home nursing",
    "falls": "registered falls",
    "interventions": "interventions",
    "rollout": "roll-out of interventions",
    "population": "population",
    "survey": "health survey",
}

KIND_NAMES_DA: dict[str, str] = {
    "persons": "personer",
    "admissions": "sygehuskontakter (LPR)",
    "stays": "sygehusophold",
    "care": "hjemmepleje og sygepleje",
    "falls": "registrerede fald",
    "interventions": "indsatser",
    "rollout": "udrulning af indsatser",
    "population": "befolkning",
    "survey": "sundhedsprofil",
}


def data_note_da(manifest: Mapping[str, Any] | None) -> str | None:
    """A Danish sentence on the prepared data (period and kinds of data) from the manifest."""
    return data_note(manifest, "da")


def data_note(manifest: Mapping[str, Any] | None, lang: str = "da") -> str | None:
    """A sentence on the prepared data (period and kinds of data) from the manifest."""
    if not manifest:
        return None
    import datetime as dt

    from nsv_eval.report.format import fmt_date

    period = manifest.get("period") or {}
    inputs = manifest.get("inputs") or []
    kinds = sorted({str(i.get("kind")) for i in inputs if isinstance(i, Mapping)})
    da = lang == "da"
    text = (
        "Datagrundlag: udtræk klargjort med nsv-eval prepare"
        if da
        else "Data: extracts prepared with nsv-eval prepare"
    )
    try:
        start = dt.date.fromisoformat(str(period["start"]))
        end = dt.date.fromisoformat(str(period["end"]))
        if da:
            text += f" for perioden {fmt_date(start)} til {fmt_date(end)}"
        else:
            text += f" for {start.isoformat()} to {end.isoformat()}"
    except (KeyError, ValueError):
        pass
    names = KIND_NAMES_DA if da else KIND_NAMES_EN
    if kinds:
        text += f" ({', '.join(names.get(k, k) for k in kinds)})"
    text += "."
    missing = [str(k) for k in manifest.get("missing_kinds") or []]
    if missing:
        listed = ", ".join(names.get(k, k) for k in missing)
        text += (
            f" Udtrækket indeholder ikke {listed}; tal, der bygger på dem, kan ikke vises."
            if da
            else f" The extract has no {listed}; figures that rest on them cannot be shown."
        )
    # how hospital stays were formed (official definitions; manifest.definitions)
    defs = manifest.get("definitions") or {}
    formed = defs.get("stays_formed_da" if da else "stays_formed")
    if isinstance(formed, str) and formed:
        text += " " + formed
    return text
