"""The benchmark's equivalence claim: three preparation pipelines give the same cube.

``bench/run.py`` times ``nsv_eval.clean.prepare`` (ours) against a pandas baseline
(``bench/baseline_pandas.py``) and a hand-written DuckDB SQL floor (``bench/floor_duckdb.py``).
The comparison is only meaningful if the three compute the same thing. They are independent
implementations of the definitions in the docstrings of ``nsv_eval.clean.courses``,
``flags`` and ``cube`` (ours: difference arrays over age-band segments; floor: a range join of
segments to months; baseline: person-month expansion with birthday splits, ``merge_asof``
readmissions). Checked here:

* on a small synthetic Denmark (every kommune populated) the three cubes have the same
  cells, equal counts and ``person_years`` within 1e-9;
* on a hand-made extract with the boundary cases of the definitions (29 February birthday,
  a birthday crossing an age band mid-month, death on the 1st, a 4-hour chaining gap
  exactly and 1 second over, a readmission exactly 30 × 24 h after discharge and one second
  later, a planned course that never counts, an open home-care episode, a fall) the three
  cubes agree, and a few cells are checked against hand-computed values;
* the comparison itself detects a changed count, a missing cell and a 1e-6 person-year
  difference (so the equivalence assertions can fail).

``bench/floor_all.py`` (``floor_all``) is the floor of *all* of ours' legacy outputs:
courses, stays, the monthly and the income cube, the readmission and the falls cohort.
On both extracts above, and on the tiny one cut to March 2010 – August 2024 (partial
first and last years), every one of the six files equals ours (:func:`run.compare_outputs`:
the same columns, the same rows on a natural key — person and time for courses, stays and
the readmission cohort, person and arm for the falls cohort, the cells for the cubes —
every other column equal, floats within 1e-9, lists element by element, nulls only to
nulls). Person ids are compared as they are: ``prepare`` keeps the raw extract's
``person_id`` (only a ``cpr`` column is pseudonymised), which the tests check first. The
edge-case extract has a falls programme, a participant, a control who joins 92 days into
follow-up and follow-up visits on day 7 and day 8 after an index discharge, checked
against hand-computed values; ``compare_outputs`` is shown to detect a changed list, a
missing row, a 1e-6 float difference, a null for a value and a reordered column.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from baseline_pandas import baseline_cube  # noqa: E402
from floor_all import OUTPUTS, floor_all  # noqa: E402
from floor_duckdb import floor_cube  # noqa: E402
from run import OUTPUT_KEYS, compare_cubes, compare_outputs  # noqa: E402


def _three(raw: Path, tmp: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from nsv_eval.clean import prepare

    # the floor and the baseline implement the course pipeline: the legacy definitions
    prepare(raw, tmp / "ours", log=None, key=b"test-bench-key", definitions_choice="legacy")
    floor_cube(raw, tmp / "floor.parquet", threads=1)
    baseline_cube(raw, tmp / "base.parquet", chunk=2_000)
    return (
        pd.read_parquet(tmp / "ours" / "cube.parquet"),
        pd.read_parquet(tmp / "floor.parquet"),
        pd.read_parquet(tmp / "base.parquet"),
    )


@pytest.fixture(scope="module")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest synthetic Denmark (at least 50 residents in each of the 98 kommuner)."""
    from nsv_eval.synth import generate

    out = tmp_path_factory.mktemp("bench-synth")
    generate(out, scale=0.0005, seed=3)
    return out


def test_three_pipelines_same_cube_on_synthetic(tiny_synth: Path, tmp_path: Path) -> None:
    ours, floor, base = _three(tiny_synth, tmp_path)
    assert len(ours) > 10_000  # a real cube, all kommuner
    assert ours["kommune_code"].nunique() == 98
    assert ours[["readmit_30d", "home_care", "falls_registered", "deaths"]].sum().min() > 0
    assert compare_cubes(ours, floor) == []
    assert compare_cubes(ours, base) == []


def _same_ids(raw: Path, ours: Path) -> None:
    """Ours kept the raw person ids (nothing to map before comparing person-level rows)."""
    raw_ids = set(pd.read_parquet(raw / "persons.parquet")["person_id"])
    assert set(pd.read_parquet(ours / "persons.parquet")["person_id"]) == raw_ids


def test_floor_all_same_outputs_on_synthetic(tiny_synth: Path, tmp_path: Path) -> None:
    from nsv_eval.clean import prepare

    prepare(tiny_synth, tmp_path / "ours", log=None, key=b"test-bench-key",
            definitions_choice="legacy")  # fmt: skip
    info = floor_all(tiny_synth, tmp_path / "floor_all", threads=1)
    _same_ids(tiny_synth, tmp_path / "ours")
    assert set(OUTPUTS) == set(OUTPUT_KEYS)
    assert compare_outputs(tmp_path / "ours", tmp_path / "floor_all") == {}
    # not vacuous: every output has rows, and the parts of each definition are exercised
    assert min(info["rows"].values()) > 1_000
    read = lambda name: pd.read_parquet(tmp_path / "floor_all" / name)  # noqa: E731
    courses, stays = read("courses.parquet"), read("stays.parquet")
    assert (courses["n_contacts"] > 1).sum() > 100 and courses["readmit_30d"].sum() > 100
    assert courses["death_30d"].sum() > 10 and stays["kontaktaarsag"].nunique() == 2
    ra = read("cohort_readmission.parquet")
    assert set(ra["event"]) == {0, 1, 2} and ra["followup_visit"].sum() > 100
    assert ra["home_care"].sum() > 100 and ra["prior_admissions_365d"].sum() > 100
    fc = read("cohort_falls.parquet")
    assert fc["participant"].sum() > 100 and (~fc["participant"]).sum() > 100
    assert fc["censored_join"].sum() > 10 and set(fc["event"]) == {0, 1, 2}
    assert fc["prior_falls_365d"].sum() > 10 and fc["home_care"].sum() > 10
    assert read("cube_income.parquet")["income_quintile"].nunique() == 5
    # and the cube of floor_all is the cube floor's cube
    assert (
        compare_cubes(read("cube.parquet"), pd.read_parquet(tmp_path / "ours" / "cube.parquet"))
        == []
    )


def test_floor_all_same_outputs_with_partial_years(tiny_synth: Path, tmp_path: Path) -> None:
    """A period from March 2010 to August 2024 (contacts outside cut off): the income cube's
    first and last years are partial, 2010 without a 1 January population."""
    import shutil

    from nsv_eval.clean import prepare

    raw = tmp_path / "raw"
    shutil.copytree(tiny_synth, raw)
    c = pd.read_parquet(raw / "contacts.parquet")
    keep = (c.admit_time >= "2010-03-15") & (c.admit_time < "2024-08-20")
    c[keep].to_parquet(raw / "contacts.parquet", index=False)
    m = prepare(raw, tmp_path / "ours", log=None, key=b"k", definitions_choice="legacy")
    assert (m["period"]["start"], m["period"]["end"]) == ("2010-03-01", "2024-08-31")
    floor_all(raw, tmp_path / "floor_all", threads=1)
    assert compare_outputs(tmp_path / "ours", tmp_path / "floor_all") == {}
    inc = pd.read_parquet(tmp_path / "floor_all" / "cube_income.parquet")
    by_year = inc.groupby("year")[["population", "person_years"]].sum()
    assert by_year.loc[2010, "population"] == 0 and by_year.loc[2010, "person_years"] > 0
    assert by_year.loc[2024, "population"] > 0


def _edge_case_extract(raw: Path) -> None:
    """Hand-made raw extract with the boundary cases of the definitions."""
    raw.mkdir(parents=True, exist_ok=True)
    persons = pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3", "p4"],
            "kommune_code": [101, 101, 326, 326],
            # p1 born 29 Feb 1944: turns 80 on 1 Mar 2024? No, 2024 is a leap year: 29 Feb.
            # p2 turns 70 on 15 Jun 2012 (band 65-69 → 70-74 mid-month).
            "birth_date": [
                date(1944, 2, 29),
                date(1942, 6, 15),
                date(1930, 1, 10),
                date(1990, 7, 1),
            ],
            "sex": ["F", "M", "F", "M"],
            "education": ["kort", None, "lang", "grundskole"],
            "income_quintile": [1, 2, 3, 4],
            "living_alone": [True, False, True, False],
            # p3 dies on the 1st of a month (no person-time or population in that month)
            "death_date": [None, None, date(2015, 3, 1), None],
        }
    )
    t = datetime
    contacts = pd.DataFrame(
        {
            "contact_id": range(1, 11),
            "person_id": ["p1", "p1", "p1", "p1", "p2", "p2", "p2", "p3", "p4", "p4"],
            "admit_time": [
                t(2010, 1, 5, 8),  # p1 course 1 (acute, pneumonia: medical, preventable)
                t(2010, 1, 10, 16),  # exactly 4 h after the discharge below → same course
                t(2010, 2, 9, 16),  # exactly 30 × 24 h after course 1's discharge → readmission
                t(2010, 6, 1, 0),  # planned course, never a readmission
                t(2012, 6, 1, 10),  # p2 acute heart failure
                t(2012, 7, 1, 10, 0, 1),  # 30 days + 1 s after discharge → not a readmission
                t(2012, 7, 1, 18, 0, 2),  # 4 h + 1 s after the previous → a new course
                t(2014, 12, 30, 9),  # p3 acute hip fracture (S72)
                t(2019, 3, 3, 12),  # p4 acute, short stay
                t(2024, 12, 20, 8),  # p4 last course in December 2024 (period end)
            ],
            "discharge_time": [
                t(2010, 1, 10, 12),
                t(2010, 1, 10, 16),
                t(2010, 2, 12, 9),
                t(2010, 6, 3, 0),
                t(2012, 6, 1, 10),
                t(2012, 7, 1, 14, 0, 1),
                t(2012, 7, 2, 9),
                t(2015, 1, 20, 9),
                t(2019, 3, 3, 20),
                t(2024, 12, 22, 8),
            ],
            "acute": [True, False, True, False, True, True, True, True, True, False],
            "diagnosis": [
                "DJ189",
                "DJ189",
                "DN390",
                "DZ038",
                "DI500",
                "DE119",
                "DJ441",
                "DS720",
                "DR074",
                "DK802",
            ],
            "hospital": ["1"] * 10,
        }
    )
    care = pd.DataFrame(
        {
            "person_id": ["p1", "p3", "p2"],
            "service": ["home_care", "home_care", "home_nursing"],
            "start_date": [date(2013, 5, 1), date(2014, 1, 2), date(2012, 1, 1)],
            "end_date": [None, date(2014, 3, 1), None],
            "hours_per_week": [2.0, 5.0, 1.0],
        }
    )
    falls = pd.DataFrame(
        {"person_id": ["p1", "p2"], "fall_date": [date(2016, 2, 29), date(2012, 6, 15)]}
    )
    # falls programme in kommune 101 from 2012: p1 joins on 1 June 2013, p2 on 1 September
    # 2013; p2, drawn onto p1's date, is also a control censored on joining (day 92). Follow-up visits
    # after p1's index discharge of 10 Jan 2010 on day 7 (counts) and after p2's of
    # 1 Jun 2012 on day 8 (does not).
    interventions = pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p1", "p2"],
            "intervention": ["falls_programme", "falls_programme", "followup_visit",
                             "followup_visit"],
            "date": [date(2013, 6, 1), date(2013, 9, 1), date(2010, 1, 17), date(2012, 6, 9)],
        }
    )  # fmt: skip
    persons.to_parquet(raw / "persons.parquet")
    contacts.astype({"contact_id": "int64"}).to_parquet(raw / "contacts.parquet")
    care.to_parquet(raw / "care.parquet")
    falls.to_parquet(raw / "falls.parquet")
    interventions.to_parquet(raw / "interventions.parquet")
    (raw / "rollout.csv").write_text(
        "kommune_code,intervention,start_date\n101,falls_programme,2012-01-01\n"
        "326,falls_programme,\n",
        encoding="utf-8",
    )


def test_three_pipelines_same_cube_on_edge_cases(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _edge_case_extract(raw)
    ours, floor, base = _three(raw, tmp_path)
    assert compare_cubes(ours, floor) == []
    assert compare_cubes(ours, base) == []

    def cell(k, y, m, band, col, sex=None):
        sel = ours[
            (ours.kommune_code == k)
            & (ours.year == y)
            & (ours.month == m)
            & (ours.age_band == band)
        ]
        if sex is not None:
            sel = sel[sel.sex == sex]
        return sel[col].sum()

    # Hand-computed. p1 (born 29 Feb 1944) course 1 = contacts 1+2 (gap exactly 4 h),
    # admitted Jan 2010 at 65 → acute, preventable, index (discharged 10 Jan 2010 16:00);
    # contact 3 admitted exactly 30 × 24 h later → readmission counted in January.
    assert cell(101, 2010, 1, "65-69", "readmit_index") == 1
    assert cell(101, 2010, 1, "65-69", "readmit_30d") == 1
    assert cell(101, 2010, 1, "65-69", "preventable") == 1
    # p2 turns 70 on 15 June 2012: June person-time is 14 days at 65-69, 16 days at 70-74,
    # and the population on 1 June is in 65-69; the fall on 15 June is counted at 70-74.
    # (p2 is the only man in kommune 101.)
    py = 14 / 365.25
    assert cell(101, 2012, 6, "65-69", "person_years", "M") == pytest.approx(py, abs=1e-12)
    py = 16 / 365.25
    assert cell(101, 2012, 6, "70-74", "person_years", "M") == pytest.approx(py, abs=1e-12)
    assert cell(101, 2012, 6, "65-69", "population", "M") == 1
    assert cell(101, 2012, 6, "70-74", "population", "M") == 0
    assert cell(101, 2012, 6, "70-74", "falls_registered", "M") == 1
    # p2's June index is readmitted 30 days + 1 s later: not within the window.
    assert cell(101, 2012, 6, "65-69", "readmit_index", "M") == 1
    assert cell(101, 2012, 6, "65-69", "readmit_30d", "M") == 0
    assert cell(101, 2012, 6, "65-69", "heart_failure_acute", "M") == 1
    # p3 (the only woman in 326) dies on 1 March 2015: a death at 85-89 in March, no
    # population or person-time in March; February has 28 days of person-time.
    assert cell(326, 2015, 3, "85-89", "deaths", "F") == 1
    assert cell(326, 2015, 3, "85-89", "population", "F") == 0
    assert cell(326, 2015, 3, "85-89", "person_years", "F") == 0
    assert cell(326, 2015, 2, "85-89", "person_years", "F") == pytest.approx(28 / 365.25)
    # p3's home care from 2 Jan 2014 to 1 Mar 2014 counts on 1 Feb and 1 Mar only.
    hc = ours[(ours.kommune_code == 326) & (ours.year == 2014)]
    hc = hc.groupby("month")["home_care"].sum()
    assert hc.to_dict() == {m: int(m in (2, 3)) for m in range(1, 13)}


def test_floor_all_same_outputs_on_edge_cases(tmp_path: Path) -> None:
    from nsv_eval.clean import prepare

    raw = tmp_path / "raw"
    _edge_case_extract(raw)
    prepare(raw, tmp_path / "ours", log=None, key=b"test-bench-key", definitions_choice="legacy")
    floor_all(raw, tmp_path / "floor_all", threads=1)
    _same_ids(raw, tmp_path / "ours")
    assert compare_outputs(tmp_path / "ours", tmp_path / "floor_all") == {}

    read = lambda name: pd.read_parquet(tmp_path / "floor_all" / name)  # noqa: E731
    c = read("courses.parquet").set_index("course_id")
    # contacts 1+2 (gap exactly 4 h) are course 1; contact 3, 30 × 24 h later, readmits it
    assert list(c.loc[1, "contact_ids"]) == [1, 2] and c.loc[1, "readmit_30d"]
    assert c.loc[1, "days_to_readmission"] == pytest.approx(30.0, abs=1e-12)
    # p2: 30 days + 1 s after the first course is not a readmission; 4 h + 1 s after the
    # second starts a new course, which readmits the second
    p2 = c[c.person_id == "p2"]
    assert list(p2["n_contacts"]) == [1, 1, 1]
    assert p2["readmit_30d"].tolist() == [False, True, False]
    assert p2["days_to_readmission"].iloc[1] == pytest.approx((4 * 3600 + 1) / 86400, abs=1e-12)
    assert len(read("stays.parquet")) == len(c) == 9  # 10 contacts, contacts 1+2 one chain
    ra = read("cohort_readmission.parquet")
    jan = ra[(ra.person_id == "p1") & (ra.discharge_time == pd.Timestamp("2010-01-10 16:00"))]
    assert jan["followup_visit"].tolist() == [True] and jan["followup_days"].tolist() == [7]
    june = ra[(ra.person_id == "p2") & (ra.discharge_time == pd.Timestamp("2012-06-01 10:00"))]
    assert june["followup_visit"].tolist() == [False]  # the visit on day 8 does not count
    fc = read("cohort_falls.parquet").set_index(["person_id", "participant"])
    # kommune 101's participants: p1 (1 Jun 2013) and p2 (1 Sep 2013), the pool of trial
    # dates in that order; a resident's date is pool[md5(id + ":falls")[:15] mod 2]
    draw = {
        p: int(hashlib.md5(f"{p}:falls".encode()).hexdigest()[:15], 16) % 2 for p in ("p1", "p2")
    }
    assert draw["p2"] == 0  # p2 draws p1's date, before p2 joins: a control
    # p1 draws either her own date or a later one: never a control
    assert sorted(fc.index) == [("p1", True), ("p2", False), ("p2", True)]
    p1, p2c = fc.loc[("p1", True)], fc.loc[("p2", False)]
    assert str(p1["index_date"])[:10] == str(p2c["index_date"])[:10] == "2013-06-01"
    assert str(fc.loc[("p2", True), "index_date"])[:10] == "2013-09-01"
    assert p1["age"] == 69 and p1["event"] == 0 and p1["time"] == 365
    assert p2c["censored_join"] and p2c["time"] == 92 and p2c["event"] == 0
    assert p2c["prior_falls_365d"] == 1  # 15 Jun 2012 is within [1 Jun 2012, 1 Jun 2013)


def _write(d: Path, name: str, df: pd.DataFrame) -> None:
    d.mkdir(parents=True, exist_ok=True)
    df.to_parquet(d / name, index=False)


def test_compare_outputs_detects_differences(tmp_path: Path) -> None:
    courses = pd.DataFrame(
        {
            "course_id": [1, 2, 3],
            "person_id": ["a", "a", "b"],
            "admit_time": pd.to_datetime(["2010-01-01", "2010-02-01", "2010-01-05"]),
            "contact_ids": [[1, 2], [3], [4]],
            "los_hours": [12.0, 30.5, 2.0],
            "days_to_death": pd.array([None, 3, None], dtype="Int16"),
        }
    )
    only = {"courses.parquet": OUTPUT_KEYS["courses.parquet"]}
    _write(tmp_path / "a", "courses.parquet", courses)
    _write(tmp_path / "same", "courses.parquet", courses.iloc[::-1])  # row order is free
    assert compare_outputs(tmp_path / "a", tmp_path / "same", outputs=only) == {}

    def problems(change) -> list[str]:
        b = change(courses.copy())
        _write(tmp_path / "b", "courses.parquet", b)
        return compare_outputs(tmp_path / "a", tmp_path / "b", outputs=only).get(
            "courses.parquet", []
        )

    def lists(b):
        b.at[0, "contact_ids"] = [2, 1]
        return b

    assert any("contact_ids" in p for p in problems(lists))
    assert any("only in first: 1" in p for p in problems(lambda b: b.iloc[:2]))
    assert any("los_hours" in p for p in problems(lambda b: b.assign(los_hours=b.los_hours + 1e-6)))
    assert any("days_to_death" in p for p in problems(lambda b: b.assign(days_to_death=3)))
    assert any("columns differ" in p for p in problems(lambda b: b[b.columns[::-1]]))
    assert (
        "missing"
        in compare_outputs(tmp_path / "a", tmp_path / "none", outputs=only)["courses.parquet"][0]
    )


def test_compare_detects_differences() -> None:
    keys = {"kommune_code": [101, 101], "year": [2010, 2010], "month": [1, 2]}
    a = pd.DataFrame(
        {
            **keys,
            "age_band": ["0-4"] * 2,
            "sex": ["F"] * 2,
            "education": ["kort"] * 2,
            "population": [3, 4],
            "person_years": [0.25, 0.5],
            "deaths": [0, 1],
        }
    )
    assert compare_cubes(a, a.copy()) == []
    b = a.copy()
    b.loc[1, "deaths"] = 2
    assert any("deaths" in p for p in compare_cubes(a, b))
    c = a.copy()
    c.loc[0, "person_years"] += 1e-6
    assert any("person_years" in p for p in compare_cubes(a, c))
    assert compare_cubes(a, a.iloc[:1]) != []
