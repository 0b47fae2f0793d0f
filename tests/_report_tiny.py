"""A tiny hand-built prepared layout for the report tests (planted, hand-countable truth).

Kommune 326 (Kalundborg) and 101 (København), years 2020–2022:

* persons: 326 has 30 persons born 1950 (alive throughout) + 2 born 1940 who die
  2021-06-30 (alive in 2020 and 2021, not 2022) → persons alive: 2020: 32, 2021: 32,
  2022: 30. 101 has 50 persons born 1960, alive throughout.
* population (1 January): 326: 1000 each year; 101: 2000 each year.
* contacts: 326: 2020: 12, 2021: 3, 2022: 20; 101: 40 each year; plus 2 contacts in 2021
  whose person is not in the person table (unmatched).
* courses: one per contact of a known person (same admit times).
* reconciliation: persons.csv read 85 = kept 82 + rejected 2 + merged 1;
  contacts.csv (kind admissions) read 120 = kept 117 + rejected 3 + merged 0.
* rejects: contacts 3 rows (2 × bad_date in admit_time, 1 × invalid_icd10 in diagnosis),
  persons 2 rows (1 × invalid_cpr in cpr, 1 × unknown_kommune in kommune_code).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

CONTACTS_326 = {2020: 12, 2021: 3, 2022: 20}
CONTACTS_101 = {2020: 40, 2021: 40, 2022: 40}
UNMATCHED = 2
POP = {326: 1000, 101: 2000}
PERSONS_326 = {2020: 32, 2021: 32, 2022: 30}


def make_prepared(out: Path) -> Path:
    """Write the tiny prepared layout into ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    persons = []
    for i in range(30):
        persons.append((f"k326-{i:02d}", 326, date(1950, 1, 1), None))
    for i in range(2):
        persons.append((f"k326-old{i}", 326, date(1940, 5, 5), date(2021, 6, 30)))
    for i in range(50):
        persons.append((f"k101-{i:02d}", 101, date(1960, 1, 1), None))
    pdf = pd.DataFrame(persons, columns=["person_id", "kommune_code", "birth_date", "death_date"])
    pdf["sex"] = ["M", "F"] * (len(pdf) // 2)
    pdf["education"] = "kort"
    pdf["income_quintile"] = 3
    pdf["living_alone"] = False
    pdf.to_parquet(out / "persons.parquet", index=False)

    rows = []
    cid = 0
    for kommune, per_year in ((326, CONTACTS_326), (101, CONTACTS_101)):
        ids = pdf.loc[pdf["kommune_code"] == kommune, "person_id"].tolist()
        for year, n in per_year.items():
            for j in range(n):
                cid += 1
                t = datetime(year, 3, 1 + j % 28, 10)
                rows.append((cid, ids[j % 30], t, t.replace(hour=18), True, "DJ189", "H1"))
    for j in range(UNMATCHED):
        cid += 1
        t = datetime(2021, 5, 1 + j, 9)
        rows.append((cid, f"ghost-{j}", t, t.replace(hour=20), True, "DI500", "H1"))
    cdf = pd.DataFrame(
        rows,
        columns=[
            "contact_id",
            "person_id",
            "admit_time",
            "discharge_time",
            "acute",
            "diagnosis",
            "hospital",
        ],
    )
    cdf.to_parquet(out / "contacts.parquet", index=False)
    courses = cdf[~cdf["person_id"].str.startswith("ghost")].rename(
        columns={"contact_id": "course_id"}
    )
    courses.to_parquet(out / "courses.parquet", index=False)

    pop = pd.DataFrame(
        [(y, k, 70, "M", "kort", n) for y in (2020, 2021, 2022) for k, n in POP.items()],
        columns=["year", "kommune_code", "age", "sex", "education", "population"],
    )
    pop.to_parquet(out / "population.parquet", index=False)

    # the layout nsv_eval.ingest writes: kind -> file -> FileReport fields
    recon = {
        "persons": {
            "raw/persons.csv": {
                "file": "raw/persons.csv",
                "format": "csv",
                "read": 85,
                "kept": 82,
                "rejected": 2,
                "merged_duplicates": 1,
                "columns": {"cpr": "cpr"},
                "reasons": {"invalid_cpr": 1},
            },
        },
        "admissions": {
            "raw/contacts.csv": {
                "file": "raw/contacts.csv",
                "format": "csv",
                "read": 120,
                "kept": 117,
                "rejected": 3,
                "merged_duplicates": 0,
                "columns": {},
                "reasons": {"bad_date": 2},
            },
        },
    }
    (out / "reconciliation.json").write_text(json.dumps(recon), encoding="utf-8")
    pd.DataFrame(
        {
            "file": ["contacts.csv"] * 3,
            "row": [5, 9, 14],
            "column": ["admit_time", "admit_time", "diagnosis"],
            "reason": ["bad_date", "bad_date", "invalid_icd10"],
            "value": ["31-02-2021", "xx", "Q"],
            "detail": ["", "", ""],
        }
    ).to_csv(out / "rejects-admissions.csv", index=False)
    pd.DataFrame(
        {
            "file": ["persons.csv"] * 2,
            "row": [3, 7],
            "column": ["cpr", "kommune_code"],
            "reason": ["invalid_cpr", "unknown_kommune"],
            "value": ["010203-XXXX", "999"],
            "detail": ["", ""],
        }
    ).to_csv(out / "rejects-persons.csv", index=False)
    from nsv_eval import definitions as D

    manifest = {
        "package_version": "test",
        # prepared with the default (official) definitions, as `nsv-eval prepare` does
        "definitions": {
            "unit": "stays",
            "indicators": {k: D.get(k, v).stamp() for k, v in D.DEFAULT_VARIANTS.items()},
        },
        "period": {"start": "2020-01-01", "end": "2022-12-31"},
        "inputs": [
            {"kind": "persons", "file": "persons.csv", "rows": 85, "sha256": "ab" * 32},
            {"kind": "admissions", "file": "contacts.csv", "rows": 120, "sha256": "cd" * 32},
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


_CACHE: dict[str, object] = {}


def once(key: str, make):  # noqa: ANN001, ANN201 - tiny test helper
    """Compute ``make()`` once per test session (shared across test modules)."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def e2e_report(prepared_dir: Path, tmp_path_factory: Any) -> tuple[Path, str]:
    """``nsv-eval run --study datakvalitet`` on ``prepared_dir`` (once per session).

    Returns the report path and what the command printed.
    """
    import contextlib
    import io

    from nsv_eval.cli import main

    def make() -> tuple[Path, str]:
        out = tmp_path_factory.mktemp("e2e-reports")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main(
                [
                    "run",
                    "--kommune",
                    "326",
                    "--study",
                    "datakvalitet",
                    "--data",
                    str(prepared_dir),
                    "--out",
                    str(out),
                ]
            )
        assert rc == 0, buf.getvalue()
        return out / "326" / "01_datakvalitet.html", buf.getvalue()

    return once("e2e-datakvalitet", make)  # type: ignore[return-value]
