"""``nsv-eval definitions``: list the indicator definitions, or print one in full."""

from __future__ import annotations

import argparse
import textwrap

from nsv_eval import definitions as D

HEAD = {
    "da": {
        "variant": "Variant",
        "version": "Version",
        "population": "Population",
        "numerator": "Tæller",
        "denominator": "Nævner",
        "unit": "Enhed",
        "thresholds": "Grænser",
        "codes": "Kodelister",
        "kontaktaarsag": "Kontaktårsager",
        "exclusions": "Udeladt",
        "cohort": "Sygdomsgruppe",
        "standardisation": "Standardisering",
        "reported_by": "Opgøres særskilt for",
        "source": "Kilde",
        "published_range": "Offentliggjort niveau",
        "unconfirmed": "Ikke bekræftet",
        "other": "Andre varianter",
        "none": "ingen",
        "list_title": "Indikatordefinitioner (nsv-eval definitions ID for en i fuld længde)",
    },
    "en": {
        "variant": "Variant",
        "version": "Version",
        "population": "Population",
        "numerator": "Numerator",
        "denominator": "Denominator",
        "unit": "Unit",
        "thresholds": "Thresholds",
        "codes": "Code lists",
        "kontaktaarsag": "Contact causes",
        "exclusions": "Exclusions",
        "cohort": "Disease cohort",
        "standardisation": "Standardisation",
        "reported_by": "Reported apart by",
        "source": "Source",
        "published_range": "Published level",
        "unconfirmed": "Not confirmed",
        "other": "Other variants",
        "none": "none",
        "list_title": "Indicator definitions (nsv-eval definitions ID prints one in full)",
    },
}


SECTOR_NAMES = {
    "da": {"somatic": "somatik", "psychiatric": "psykiatri"},
    "en": {"somatic": "somatic", "psychiatric": "psychiatric"},
}


def source_text(d: D.Definition) -> str:
    """``issuer: title (version, date). address`` of a definition's source."""
    s = d.source
    return f"{s['issuer']}: {s['title']} ({s['version']}, {s['date']}). {s['url']}"


def list_text(lang: str = "da") -> str:
    """One block per indicator: id, variants with version, name, source."""
    h = HEAD[lang]
    lines = [h["list_title"], ""]
    for id in D.ids():
        vs = D.variants(id)
        main = D.get(id)
        lines.append(f"{id}  —  {main.text('name', lang)}")
        lines.append(
            "    "
            + ", ".join(f"{v} {D.get(id, v).version}" for v in vs)
            + f"  [{h['variant']} {h['version']}]"
        )
        lines.append(
            textwrap.fill(source_text(main), 96, initial_indent="    ", subsequent_indent="    ")
        )
    return "\n".join(lines)


def _para(label: str, text: str) -> list[str]:
    return [f"{label}:", textwrap.fill(text, 96, initial_indent="  ", subsequent_indent="  ")]


def full_text(d: D.Definition, lang: str = "da") -> str:
    """The whole definition as text in ``lang``."""
    h = HEAD[lang]
    out = [
        d.text("name", lang),
        "=" * min(96, len(d.text("name", lang))),
        f"id {d.id}  ·  {h['variant']} {d.variant}  ·  {h['version']} {d.version} ({d.date})",
        "",
    ]
    for key in ("population", "numerator", "denominator", "unit"):
        out += _para(h[key], d.text(key, lang))
    out.append(f"{h['thresholds']}:")
    out += [f"  {k} = {v}" for k, v in d.thresholds.items()] or [f"  {h['none']}"]
    out.append(f"{h['codes']}:")
    out += [
        textwrap.fill(
            f"{cs.key} ({getattr(cs, lang)}): {', '.join(cs.prefixes)}",
            96,
            initial_indent="  ",
            subsequent_indent="    ",
        )
        for cs in d.codes.values()
    ] or [f"  {h['none']}"]
    if d.kontaktaarsag:
        out.append(f"{h['kontaktaarsag']}:")
        out += [f"  {k} ({v[lang]}): {', '.join(v['codes'])}" for k, v in d.kontaktaarsag.items()]
    if d.cohort:
        out.append(f"{h['cohort']}:")
        out += [f"  {k}: {v}" for k, v in d.cohort.items()]
    out.append(f"{h['exclusions']}:")
    out += [
        textwrap.fill(f"- {e[lang]}", 96, initial_indent="  ", subsequent_indent="    ")
        for e in d.exclusions
    ] or [f"  {h['none']}"]
    out += _para(h["standardisation"], d.standardisation[lang])
    if d.reported_by:
        names = SECTOR_NAMES[lang]
        out.append(f"{h['reported_by']}: {', '.join(names.get(r, r) for r in d.reported_by)}")
    out += _para(h["source"], source_text(d))
    for extra in d.source.get("also", []) or []:
        out.append(
            textwrap.fill(
                f"+ {extra.get('issuer', '')}: {extra.get('title', '')} ({extra.get('date', '')}). "
                f"{extra.get('url', '')}",
                96,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        )
    if d.published_range:
        out += _para(h["published_range"], str(d.published_range.get(lang, "")))
    out.append(f"{h['unconfirmed']}:")
    out += [
        textwrap.fill(f"- {u[lang]}", 96, initial_indent="  ", subsequent_indent="    ")
        for u in d.unconfirmed
    ] or [f"  {h['none']}"]
    others = [v for v in D.variants(d.id) if v != d.variant]
    if others:
        out.append(f"{h['other']}: {', '.join(others)} (--variant)")
    return "\n".join(out)


def _cmd(args: argparse.Namespace) -> int:
    if args.id:
        print(full_text(D.get(args.id, args.variant), args.lang))
    else:
        print(list_text(args.lang))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``definitions`` subcommand."""
    p = sub.add_parser(
        "definitions",
        help="list the indicator definitions, or print one in full",
        description="Indicator definitions (nsv_eval/definitions/*.yaml): without ID a list "
        "with version and source; with ID the whole definition (Danish unless --lang en).",
    )
    p.add_argument("id", nargs="?", help="indicator id, e.g. readmission (or id:variant)")
    p.add_argument("--variant", help="variant (default: official)")
    p.add_argument("--lang", choices=("da", "en"), default="da")
    p.set_defaults(func=_cmd)
