"""Study 1 (*Datakvalitet*): the sections of ``01_datakvalitet.ipynb``.

The numbers come from :mod:`nsv_eval.analyses.dataquality` (reconciliation, reject reasons,
inputs, coverage); this module decides what to say (key results, the ±50 % coverage rule)
and how the tables look. Every word goes through :func:`nsv_eval.report.i18n._`, so the
study renders in Danish and English.
"""

from __future__ import annotations

from pathlib import Path

from nsv_eval.analyses import dataquality as dq
from nsv_eval.analyses import load_prepared
from nsv_eval.reference import kommune_name
from nsv_eval.report import figures, theme
from nsv_eval.report.format import fmt_date, fmt_int, fmt_number, fmt_pct
from nsv_eval.report.i18n import _
from nsv_eval.report.labels import REJECT_REASONS_DA
from nsv_eval.report.sections import Section, key_record, key_result

COVERAGE_BAND = 0.5
"""A year whose contact rate lies more than this fraction from the period's median is
flagged as a possible gap in the data (a rule of thumb, not a test)."""


def inputs(data_dir: str | Path, period_start: int, period_end: int) -> list[Section]:
    """The data period (key result), the number of input files and their fingerprints."""
    files = dq.inputs(data_dir)
    first, last = dq.data_period(data_dir)
    keys = []
    if first and last:
        keys.append(
            key_result(
                "data_period",
                f"{first}–{last}",
                "Data dækker perioden {fra} til {til}; analyserne bruger årene {aar}.",
                kind="text",
                texts={
                    "fra": fmt_date(first),
                    "til": fmt_date(last),
                    "aar": f"{period_start}–{period_end}",
                },
            )
        )
    text = _(
        "Datagrundlaget består af {n} inputfiler. Hver fil er identificeret ved sit "
        "SHA-256-fingeraftryk, så det altid kan eftervises, præcis hvilke data en rapport "
        "bygger på."
    ).format(n=fmt_int(len(files)))
    if not len(files):
        return [Section(text=text, findings=keys)]
    shown = files.assign(kind=files["kind"].map(theme.label), sha256=files["sha256"].str[:16])
    return [
        Section(
            text=text,
            table=shown,
            table_options=dict(
                count_cols="rows",
                labels={
                    "kind": "Datatype",
                    "file": "Fil",
                    "rows": "Rækker",
                    "sha256": "Fingeraftryk",
                },
                hash_cols=["sha256"],
                caption="Inputfiler",
            ),
            findings=keys,
        )
    ]


def reconciliation(data_dir: str | Path) -> list[Section]:
    """Rows read, kept, rejected and merged per file, and whether every file balances."""
    recon = dq.reconciliation(data_dir)
    n_read, n_rej = int(recon["read"].sum()), int(recon["rejected"].sum())
    n_merged = int(recon["merged"].sum())
    keys = [
        key_result(
            "rows_read",
            n_read,
            "Der blev indlæst {value} rækker i {files} filer; {rejected} rækker ({share}) blev "
            "afvist, og {merged} dubletter blev lagt sammen.",
            kind="count",
            counts={"rejected": n_rej, "merged": n_merged},
            texts={
                "files": fmt_int(len(recon)),
                "share": fmt_pct(n_rej / n_read if n_read else 0, 2),
            },
        )
    ]
    unbalanced = recon[~recon["balanced"]]
    if unbalanced.empty:
        keys.append(
            key_result(
                "reconciled",
                True,
                "Alle filer stemmer: indlæst = godkendt + afvist + sammenlagte dubletter.",
                kind="text",
            )
        )
    else:
        keys.append(
            key_result(
                "reconciled",
                False,
                "Advarsel: {n} filer stemmer ikke (indlæst ≠ godkendt + afvist + sammenlagte "
                "dubletter); se tabellen.",
                kind="text",
                texts={"n": fmt_int(len(unbalanced))},
            )
        )
    keys.append(key_record("rejected_share", n_rej / n_read if n_read else None))
    return [
        Section(
            table=recon.assign(kind=recon["kind"].map(theme.label)).drop(columns="balanced"),
            table_options=dict(
                count_cols=["kept", "rejected", "merged"],
                total_cols="read",
                labels={
                    "read": "Indlæst",
                    "kept": "Godkendt",
                    "rejected": "Afvist",
                    "merged": "Dubletter",
                },
                caption="Rækker pr. datatype og fil",
            ),
            findings=keys,
        )
    ]


def reject_reasons(data_dir: str | Path, top: int = 10) -> list[Section]:
    """The most frequent reject reasons (kind × reason × column), or that none were rejected."""
    reasons = dq.reject_reasons(data_dir)
    # the reason in words, after its code (the table shows kind, reason, column, n)
    words = reasons["reason"].map(lambda r: REJECT_REASONS_DA.get(str(r), str(r)))
    reasons.insert(2, "reason_da", words)
    if reasons.empty:
        return [Section(text=_("Ingen rækker blev afvist."))]
    first = reasons.iloc[0]
    key = key_result(
        "top_reject_reason",
        str(first["reason"]),
        "Den hyppigste afvisningsårsag var »{reason}« i kolonnen {column} ({kind}): {n} rækker.",
        kind="text",
        counts={"n": int(first["n"])},
        texts={
            "reason": _(first["reason_da"]).lower(),
            "column": first["column"] or "–",
            "kind": theme.label(first["kind"]).lower(),
        },
    )
    shown = reasons.head(top)
    text = _(
        "De {n} hyppigste af {m} kombinationer af datatype, årsag og kolonne. De "
        "afviste rækker ligger i karantænefilerne `rejects-<datatype>.csv` (CPR-numre "
        "maskeret) til opfølgning hos dataleverandøren."
    ).format(n=fmt_int(len(shown)), m=fmt_int(len(reasons)))
    return [
        Section(
            text=text,
            table=shown.assign(
                kind=shown["kind"].map(theme.label), reason_da=shown["reason_da"].map(_)
            ).drop(columns="reason"),
            table_options=dict(
                count_cols="n",
                by="kind",  # the number rejected per kind is published in the table above
                labels={"reason_da": "Årsag", "column": "Kolonne", "n": "Antal rækker"},
                caption="Afvisningsårsager",
            ),
            findings=[key],
        )
    ]


def coverage(
    data_dir: str | Path,
    kommune: int,
    period_start: int,
    period_end: int,
    shared_dir: str | Path | None = None,
) -> list[Section]:
    """Coverage per year (table and figure) and the key results on gaps and linkage.

    ``shared_dir``: the batch's cache of national work (the national counts are then
    computed once for all kommuner)."""
    navn = _("{navn} Kommune").format(navn=kommune_name(kommune))
    prep = load_prepared(data_dir, shared_dir)
    cov = dq.coverage(data_dir, kommune, period_start, period_end, prep=prep)
    kom = cov[cov["area"] == "kommune"].reset_index(drop=True)
    land = cov[cov["area"] == "land"].reset_index(drop=True)
    cols = ["year", "population", "persons", "contacts", "courses", "contacts_per_1000"]
    table = kom[[c for c in cols if c in kom]].assign(land_per_1000=land["contacts_per_1000"])
    table_section = Section(
        table=table,
        table_options=dict(
            count_cols=[c for c in ("population", "persons", "contacts", "courses") if c in table],
            rate_cols={"contacts_per_1000": "contacts"},
            labels={
                "year": "År",
                "population": "Befolkning 1. jan.",
                "persons": "Personer i data",
                "contacts": "Kontakter",
                "courses": "Indlæggelsesforløb",
                "contacts_per_1000": _("Kontakter pr. 1.000, {navn}").format(
                    navn=kommune_name(kommune)
                ),
                "land_per_1000": "Kontakter pr. 1.000, hele landet",
            },
            caption=_("Dækning pr. år, {navn}").format(navn=navn),
        ),
    )
    fig = figures.coverage_figure(kom, land, kommune, courses="courses_per_1000" in cov)
    den_k = "population" if "population" in kom else "persons"
    den_l = "population" if "population" in land else "persons"
    ratio = float(kom["contacts"].sum() / kom[den_k].sum())
    ratio_land = float(land["contacts"].sum() / land[den_l].sum())
    keys = [
        key_result(
            "contact_rate_ratio",
            ratio / ratio_land if ratio_land else None,
            "Over hele perioden havde {navn} {kom} hospitalskontakter pr. 1.000 indbyggere om "
            "året mod {land} i hele landet (forholdstal {value}).",
            kind="number",
            decimals=2,
            texts={
                "navn": navn,
                "kom": fmt_number(ratio * 1000, 1),
                "land": fmt_number(ratio_land * 1000, 1),
            },
        )
    ]
    med = kom["contacts_per_1000"].median()
    lo, hi = (1 - COVERAGE_BAND) * med, (1 + COVERAGE_BAND) * med
    odd = kom[(kom["contacts_per_1000"] < lo) | (kom["contacts_per_1000"] > hi)]
    if odd.empty:
        keys.append(
            key_result(
                "coverage_gaps",
                0,
                "Ingen år skiller sig ud: kommunens kontaktrate ligger hvert år inden for ±50 % "
                "af periodens median.",
                kind="number",
                decimals=0,
            )
        )
    else:
        keys.append(
            key_result(
                "coverage_gaps",
                len(odd),
                "Advarsel: i {value} år ({years}) afviger kommunens kontaktrate mere end 50 % "
                "fra periodens median — undersøg, om data mangler.",
                kind="number",
                decimals=0,
                texts={"years": ", ".join(str(int(y)) for y in odd["year"])},
            )
        )
    keys.append(
        key_result(
            "unmatched_contacts",
            int(land["unmatched_contacts"].sum()),
            "{value} hospitalskontakter i perioden kunne ikke kobles til en person i "
            "persontabellen.",
            kind="count",
        )
    )
    keys.append(key_record("persons_last_year", int(kom["persons"].iloc[-1]), kind="count"))
    return [table_section, Section(figure=fig, findings=keys)]
