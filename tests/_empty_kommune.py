"""A synthetic kommune with no events at all, for the small-kommune tests.

:func:`empty_kommune_raw` copies a raw synthetic Denmark (the layout ``nsv-eval synth``
writes) and removes every event of one kommune's residents: hospital contacts, municipal
care, falls, person-level interventions, deaths and survey respondents; the kommune's
roll-out rows are set to "never started". Its residents and its population table stay, so
the kommune has person-years but nothing happens to anybody. Running ``prepare`` on the
copy gives a consistent prepared layout (courses, cube and cohorts built from the filtered
tables, not patched afterwards).

The truth is planted by construction: for the emptied kommune every event count in the
cube is 0, it has no index discharges, no cohort rows, no survey respondents and no
intervention.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

# kinds of person-level events removed for the emptied kommune
EVENT_FILES = ("contacts", "care", "falls", "interventions")


def empty_kommune_raw(raw_dir: Path, out_dir: Path, kommune: int) -> Path:
    """Copy ``raw_dir`` to ``out_dir`` with every event of ``kommune``'s residents removed.

    Parameters
    ----------
    raw_dir : Path
        A raw synthetic Denmark (``persons.parquet``, ``contacts.parquet``, …).
    out_dir : Path
        Where the filtered copy is written (created).
    kommune : int
        The kommune to empty.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in raw_dir.iterdir():
        if f.is_file():
            shutil.copy2(f, out_dir / f.name)
    persons = pd.read_parquet(raw_dir / "persons.parquet")
    own = persons["kommune_code"] == kommune
    if not own.any():
        raise ValueError(f"{raw_dir / 'persons.parquet'}: no residents of kommune {kommune}")
    ids = set(persons.loc[own, "person_id"])
    persons.loc[own, "death_date"] = None  # nobody dies either
    persons.to_parquet(out_dir / "persons.parquet", index=False)
    for kind in EVENT_FILES:
        df = pd.read_parquet(raw_dir / f"{kind}.parquet")
        df[~df["person_id"].isin(ids)].to_parquet(out_dir / f"{kind}.parquet", index=False)
    survey = pd.read_parquet(raw_dir / "survey.parquet")
    survey[survey["kommune_code"] != kommune].to_parquet(out_dir / "survey.parquet", index=False)
    rollout = pd.read_csv(raw_dir / "rollout.csv", dtype=str, keep_default_na=False)
    rollout.loc[rollout["kommune_code"] == str(kommune), "start_date"] = ""
    rollout.to_csv(out_dir / "rollout.csv", index=False)
    return out_dir
