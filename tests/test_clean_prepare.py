"""``prepare`` end to end (nsv_eval.clean.prepare).

References:
* a small hand-made raw directory: the Parquet outputs of ``prepare`` (DuckDB streaming to
  Parquet) must equal the in-memory API run on the same tables (chain_contacts,
  flag_courses, build_cube, readmission_cohort, falls_cohort), and the manifest's
  fingerprints must equal sha256 of the input files recomputed here with hashlib;
* the shared synthetic Denmark (``prepared_dir`` fixture, scale 0.005, seed 7): the planted
  truth in ``truth.json`` (levels the generator states) and internal reconciliation
  (cube totals = course counts, cohort rows = index courses).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nsv_eval import __version__
from nsv_eval.clean import (
    Period,
    build_cube,
    chain_contacts,
    discover_raw,
    falls_cohort,
    flag_courses,
    prepare,
    readmission_cohort,
)
from nsv_eval.errors import NsvError

# ---------------------------------------------------------------------------------------
# A hand-made raw directory
# ---------------------------------------------------------------------------------------


def _write(df: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def make_raw(out: Path, n: int = 400, seed: int = 11) -> Path:
    """Persons, contacts (with transfers and readmissions), care, falls, interventions and a
    roll-out CSV, 2015-2016; plus a truth.json that prepare must ignore."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    ids = [f"P{i:05d}" for i in range(n)]
    birth = pd.Timestamp("1915-01-01") + pd.to_timedelta(rng.integers(0, 365 * 95, n), "D")
    death = pd.Series(pd.NaT, index=range(n), dtype="datetime64[s]")
    dead = rng.random(n) < 0.2
    death[dead] = pd.Timestamp("2015-01-01") + pd.to_timedelta(
        rng.integers(0, 730, dead.sum()), "D"
    )
    death = death.where(death > pd.Series(birth))
    persons = pd.DataFrame(
        {
            "person_id": ids,
            "kommune_code": rng.choice([101, 147, 851], n),
            "birth_date": pd.Series(birth).dt.date,
            "sex": rng.choice(["M", "F"], n),
            "education": rng.choice(["grundskole", "kort", "mellemlang", "lang"], n),
            "income_quintile": rng.integers(1, 6, n),
            "living_alone": rng.random(n) < 0.3,
            "death_date": death.dt.date,
        }
    )
    _write(persons, out / "persons.parquet")
    rows, cid = [], 0
    for i in range(n):
        t = pd.Timestamp("2015-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        for _ in range(int(rng.integers(0, 6))):
            t = t + pd.Timedelta(hours=int(rng.choice([2, 4, 30, 24 * 20, 24 * 200])))
            los = pd.Timedelta(hours=int(rng.integers(3, 200)))
            if t > pd.Timestamp("2016-12-31"):
                break
            cid += 1
            dx = rng.choice(["DJ189", "DI500", "DS720", "DZ038", "DE119", "DJ441", "DW010"])
            rows.append((cid, ids[i], t, t + los, bool(rng.random() < 0.7), dx, "H1"))
            t = t + los
    contacts = pd.DataFrame(
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
    ).astype({"admit_time": "datetime64[s]", "discharge_time": "datetime64[s]"})
    _write(contacts, out / "contacts.parquet")
    care = pd.DataFrame(
        {
            "person_id": ids[::5],
            "service": np.where(np.arange(len(ids[::5])) % 2 == 0, "home_care", "home_nursing"),
            "start_date": pd.Timestamp("2015-03-15").date(),
            "end_date": pd.Series([pd.NaT] * len(ids[::5]), dtype="datetime64[s]"),
            "hours_per_week": 2.0,
        }
    )
    _write(care, out / "care.parquet")
    falls = pd.DataFrame({"person_id": ids[::7], "fall_date": pd.Timestamp("2015-05-05").date()})
    _write(falls, out / "falls.parquet")
    fu = contacts.groupby("person_id", as_index=False)["discharge_time"].first()
    interventions = pd.concat(
        [
            pd.DataFrame(
                {
                    "person_id": ids[::3],
                    "intervention": "falls_programme",
                    "date": pd.Timestamp("2015-10-01").date(),
                }
            ),
            pd.DataFrame(
                {
                    "person_id": fu["person_id"],
                    "intervention": "followup_visit",
                    "date": (fu["discharge_time"] + pd.Timedelta(days=3)).dt.date,
                }
            ),
        ]
    )
    _write(interventions, out / "interventions.parquet")
    (out / "rollout.csv").write_text(
        "kommune_code,intervention,start_date\n"
        "101,falls_programme,2015-06-01\n147,falls_programme,\n851,acute_team,2016-01-01\n",
        encoding="utf-8",
    )
    (out / "truth.json").write_text("{}", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    raw = make_raw(tmp_path_factory.mktemp("raw"))
    out = tmp_path_factory.mktemp("prepared")
    lines: list[str] = []
    manifest = prepare(raw, out, progress=True, log=lines.append, definitions_choice="legacy")
    assert any("chain contacts into courses" in line for line in lines)
    return raw, out, manifest


def test_discover_raw_finds_kinds_and_ignores_truth(small) -> None:
    raw, _, _ = small
    found = discover_raw(raw)
    assert list(found) == ["persons", "admissions", "care", "falls", "interventions", "rollout"]
    assert found["admissions"] == [raw / "contacts.parquet"]


def test_manifest_fingerprints_and_counts(small) -> None:
    raw, out, manifest = small
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert manifest["version"] == __version__
    for item in manifest["inputs"]:
        data = (raw / item["file"]).read_bytes()
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["size"] == len(data)
    rows = {i["file"]: i["rows"] for i in manifest["inputs"]}
    assert rows["persons.parquet"] == 400 and rows["rollout.csv"] == 3
    for name, info in manifest["outputs"].items():
        assert info["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert info["rows"] == pq.ParquetFile(out / name).metadata.num_rows
    c = manifest["counts"]
    assert c["contacts"] == rows["contacts.parquet"] == c["contacts_in_courses"]
    assert manifest["period"] == {
        "start": "2015-01-01",
        "end": "2016-12-31",
        "source": "inferred from course admissions",
        "months": 24,
    }
    assert manifest["definitions"]["chaining_gap_hours"] == 4
    assert manifest["definitions"]["readmission_window_days"] == 30
    assert "persons" in manifest["reconciliation"]


def read(path: Path) -> pd.DataFrame:
    """Read a prepared table; timestamps back at the contract's second resolution.

    Parquet has no second unit: pyarrow stores ``timestamp[s]`` as milliseconds (pyarrow 26
    reads it back as ``timestamp[ms]``), so the whole-second values are checked and cast.
    """
    df = pd.read_parquet(path)
    for col in df.columns:
        if str(df[col].dtype).startswith("datetime64"):
            assert (df[col].dropna().dt.microsecond == 0).all(), col
            df[col] = df[col].astype("datetime64[s]")
    return df


def test_parquet_outputs_equal_the_in_memory_api(small) -> None:
    """DuckDB → Parquet streaming in prepare and the DataFrame API give identical tables."""
    _, out, _ = small
    period = Period.coerce(("2015-01-01", "2016-12-31"))
    persons = pd.read_parquet(out / "persons.parquet")
    contacts = pd.read_parquet(out / "contacts.parquet")
    falls = pd.read_parquet(out / "falls.parquet")
    care = pd.read_parquet(out / "care.parquet")
    interventions = pd.read_parquet(out / "interventions.parquet")
    rollout = pd.read_parquet(out / "rollout.parquet")
    courses = flag_courses(chain_contacts(contacts), persons, period=period)
    pd.testing.assert_frame_equal(read(out / "courses.parquet"), courses)
    cube = build_cube(persons, courses, period=period, falls=falls, care=care)
    pd.testing.assert_frame_equal(read(out / "cube.parquet"), cube)
    cube_inc = build_cube(persons, courses, period=period, falls=falls, care=care, income=True)
    pd.testing.assert_frame_equal(read(out / "cube_income.parquet"), cube_inc)
    readm = readmission_cohort(persons, courses, care=care, interventions=interventions)
    pd.testing.assert_frame_equal(read(out / "cohort_readmission.parquet"), readm)
    fc = falls_cohort(
        persons,
        courses,
        period=period,
        rollout=rollout,
        interventions=interventions,
        falls=falls,
        care=care,
    )
    pd.testing.assert_frame_equal(read(out / "cohort_falls.parquet"), fc)
    assert len(readm) == courses["readmit_index"].sum() > 0
    assert readm["followup_visit"].any()
    assert fc["participant"].any() and (~fc["participant"]).any()
    assert set(fc["kommune_code"]) == {101}  # the only kommune with a started programme


def test_contract_types(small) -> None:
    _, out, _ = small
    courses = pq.read_schema(out / "courses.parquet")
    assert courses.field("admit_time").type in (pa.timestamp("s"), pa.timestamp("ms"))
    assert courses.field("kommune_code").type == pa.int16()
    cube = pq.read_schema(out / "cube.parquet")
    assert cube.field("year").type == pa.int16() and cube.field("month").type == pa.int8()
    assert cube.field("preventable").type == pa.int64()
    falls = pq.read_schema(out / "cohort_falls.parquet")
    assert falls.field("index_date").type == pa.date32()


def test_prepare_is_deterministic(small, tmp_path: Path) -> None:
    raw, out, manifest = small
    again = prepare(raw, tmp_path / "again", log=None, definitions_choice="legacy")
    assert again["outputs"] == manifest["outputs"]


def test_prepare_without_contacts_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "persons.csv").write_text("person_id\n", encoding="utf-8")
    with pytest.raises(NsvError, match="contacts"):
        prepare(tmp_path / "raw", tmp_path / "out", log=None)


# ---------------------------------------------------------------------------------------
# The shared synthetic Denmark
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synth_prepared(prepared_legacy_dir: Path, synth_dir: Path) -> dict:
    """The shared world prepared with the legacy definitions: truth.json counts its courses
    with the same (course) definitions."""
    prepared_dir = prepared_legacy_dir
    manifest = json.loads((prepared_dir / "manifest.json").read_text(encoding="utf-8"))
    truth_path = synth_dir / "truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else {}
    return {"manifest": manifest, "truth": truth, "dir": prepared_dir, "raw": synth_dir}


def test_synthetic_manifest_fingerprints(synth_prepared) -> None:
    m, raw = synth_prepared["manifest"], synth_prepared["raw"]
    kinds = {i["kind"] for i in m["inputs"]}
    assert {"persons", "admissions"} <= kinds
    for item in m["inputs"]:
        assert item["sha256"] == hashlib.sha256((raw / item["file"]).read_bytes()).hexdigest()
        assert item["rows"] is not None and item["rows"] > 0
    for name in (
        "courses.parquet",
        "cube.parquet",
        "cube_income.parquet",
        "cohort_readmission.parquet",
        "cohort_falls.parquet",
    ):
        assert (synth_prepared["dir"] / name).exists()


def test_synthetic_cube_reconciles_with_courses(synth_prepared) -> None:
    d, m = synth_prepared["dir"], synth_prepared["manifest"]
    courses = pd.read_parquet(d / "courses.parquet")
    cube = pd.read_parquet(d / "cube.parquet")
    start, end = (pd.Timestamp(m["period"][k]) for k in ("start", "end"))
    in_period = courses["admit_time"].between(start, end + pd.Timedelta(days=1), inclusive="left")
    assert cube["preventable"].sum() == courses.loc[in_period, "preventable"].sum()
    assert cube["admissions_acute"].sum() == courses.loc[in_period, "acute"].sum()
    assert cube["readmit_index"].sum() == courses["readmit_index"].sum()
    assert cube["readmit_30d"].sum() == courses["readmit_30d"].sum()
    cohort = pd.read_parquet(d / "cohort_readmission.parquet")
    assert len(cohort) == courses["readmit_index"].sum()
    persons = pd.read_parquet(d / "persons.parquet")
    deaths = persons["death_date"].between(start.date(), end.date())
    assert cube["deaths"].sum() == deaths.sum()
    income = pd.read_parquet(d / "cube_income.parquet")
    assert income["person_years"].sum() == pytest.approx(cube["person_years"].sum())


def test_synthetic_counts_match_planted_truth(synth_prepared) -> None:
    """truth.json counts what the generator planted with the same definitions (chaining at
    4 h, index discharge, 30-day acute readmission, in-hospital death): prepare must
    recover them exactly from the raw files (scale 0.005, seed 7: 70,483 courses, 15,183
    index discharges, 2,023 readmissions when this test was written)."""
    truth, c = synth_prepared["truth"]["counts"], synth_prepared["manifest"]["counts"]
    assert c["courses"] == truth["courses"]
    assert c["courses_acute"] == truth["acute_courses"]
    assert c["contacts"] == truth["contacts"]
    assert c["readmit_index"] == truth["index_discharges"]
    assert c["readmit_30d"] == truth["readmissions_30d"]
    assert c["died_in_hospital"] == truth["deaths_in_hospital"]
    assert c["cube_deaths"] == truth["deaths"]
    # the planted readmission level (risk among index discharges)
    level = synth_prepared["truth"]["levels"]["readmission_30d_risk_65plus_medical"]
    assert c["readmit_30d"] / c["readmit_index"] == pytest.approx(level, abs=5e-5)
    # falls programme: participants aged 65+ on their first participation date
    participants = truth["falls_programme_participants"]
    assert 0.99 * participants <= c["cohort_falls_participants"] <= participants


def test_synthetic_outcome_rates_match_planted_levels(synth_prepared) -> None:
    """Cube rates per 1,000 person-years 65+ against truth.json's 'realised' levels (the
    generator's count of the same courses over its own 65+ person-time)."""
    d, levels = synth_prepared["dir"], synth_prepared["truth"]["levels"]
    cube = pd.read_parquet(d / "cube.parquet")
    old = cube[cube["age_band"].isin(["65-69", "70-74", "75-79", "80-84", "85-89", "90-94", "95+"])]
    py = old["person_years"].sum()
    for measure, key in [
        # the legacy fall definition (W00-W19 or hip fracture) sees hip fractures only since
        # the generator codes falls as LPR does (issue #13)
        ("fall_injury", "hip_fracture"),
        ("hip_fracture", "hip_fracture"),
        ("copd_acute", "copd"),
        ("diabetes_acute", "diabetes"),
        ("heart_failure_acute", "heart_failure"),
        ("admissions_acute", "acute_all"),
    ]:
        rate = old[measure].sum() / py * 1000
        assert rate == pytest.approx(levels[key]["realised_per_1000_65plus_all_years"], abs=0.02)
    short = old["admissions_short"].sum() / old["admissions_acute"].sum()
    assert short == pytest.approx(levels["short_stay_share_acute_65plus"], abs=5e-4)
    # preventable: the preventable groups plus the fractures ('brud') among the other fall
    # injuries (issue #13), whose expected share of that group's courses is their code share;
    # the share is drawn, so a relative tolerance (thousands of courses: a few per cent)
    from nsv_eval.synth import model

    codes = model.GROUPS[model.GROUP_NAMES.index("fall_other")]["codes"]
    fractures = tuple(f"DS{n}2" for n in range(0, 9))
    frac = sum(w for k, w in codes.items() if k.startswith(fractures)) / sum(codes.values())
    by_group = levels["realised_by_group_per_1000_65plus_all_years"]
    rate = old["preventable"].sum() / py * 1000
    expected = levels["preventable"]["realised_per_1000_65plus_all_years"]
    assert rate == pytest.approx(expected + by_group["fall_other"] * frac, rel=0.05)


def test_cli_prepare(small, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nsv_eval.cli import main

    raw, _, manifest = small
    out = tmp_path / "cli"
    args = ["prepare", "--raw", str(raw), "--out", str(out), "--quiet"]
    assert main([*args, "--definitions", "legacy"]) == 0
    assert "courses" in capsys.readouterr().out
    again = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert again["outputs"] == manifest["outputs"]
    # a period that is not whole months is a user error (exit code 1, no traceback)
    code = main(
        ["prepare", "--raw", str(raw), "--out", str(out), "--period", "2015-01-02", "2016-12-31"]
    )
    assert code == 1
    assert "first day of a month" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# The official definitions (default): admission stays flagged by flag_stays
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_official(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    raw = make_raw(tmp_path_factory.mktemp("raw-official"))
    out = tmp_path_factory.mktemp("prepared-official")
    lines: list[str] = []
    manifest = prepare(raw, out, progress=True, log=lines.append)
    assert any("flag stays (official definitions)" in line for line in lines)
    assert not any("chain contacts into courses" in line for line in lines)
    return raw, out, manifest


def test_official_prepare_records_unit_and_variants(small_official) -> None:
    from nsv_eval import definitions as D

    _, _, manifest = small_official
    defs = manifest["definitions"]
    assert defs["unit"] == "stays"
    assert {k: v["variant"] for k, v in defs["indicators"].items()} == D.DEFAULT_VARIANTS
    # the tidy layout has no contact type: said, never silently
    assert "courses as stays" in defs["stays_formed"]
    assert "forløb som ophold" in defs["stays_formed_da"]
    assert manifest["period"]["source"] == "inferred from admission stays"


def test_official_courses_are_the_flagged_admission_stays(small_official) -> None:
    """courses.parquet = admission stays of build_stays flagged by flag_stays in memory (the
    rules' own hand-worked tests are in test_definition_flags.py); the cube and the cohort
    reconcile with it, and the disease-cohort denominators equal cohort_population."""
    from nsv_eval import definitions as D
    from nsv_eval.clean.stays import build_stays
    from nsv_eval.definitions.flags import cohort_population, flag_stays, prepare_stays

    _, out, manifest = small_official
    period = Period.coerce(("2015-01-01", "2016-12-31"))
    persons = pd.read_parquet(out / "persons.parquet")
    stays = build_stays(pd.read_parquet(out / "contacts.parquet"))
    f = flag_stays(stays, persons, period=(period.start, period.end), data_start=period.start)
    adm = f[f["admission"]].sort_values("stay_id").reset_index(drop=True)
    courses = read(out / "courses.parquet")
    assert courses["course_id"].tolist() == adm["stay_id"].tolist()
    assert (courses["los_hours"] >= 12).all()
    for col in ("preventable", "fall_injury", "hip_fracture", "short_stay"):
        assert courses[col].tolist() == adm[col].tolist(), col
    for col in ("copd_acute", "diabetes_acute"):
        assert courses[col].tolist() == adm[col].tolist(), col
    assert courses["readmit_index"].tolist() == adm["index_admission_somatic"].tolist()
    assert courses["readmit_30d"].tolist() == adm["readmitted_30d_somatic"].tolist()
    assert courses["readmit_index"].sum() > 0 and courses["readmit_30d"].sum() > 0
    assert courses["preventable"].sum() > 0 and courses["copd_acute"].sum() > 0
    cube = pd.read_parquet(out / "cube.parquet")
    assert cube["preventable"].sum() == courses["preventable"].sum()
    assert cube["readmit_index"].sum() == courses["readmit_index"].sum()
    assert cube["readmit_30d"].sum() == courses["readmit_30d"].sum()
    assert cube["readmit_index_psych"].sum() == 0  # no psychiatric contacts in the tidy data
    assert cube["age_band"].notna().all()  # no cell without an age band (e.g. a newborn)
    cohort = pd.read_parquet(out / "cohort_readmission.parquet")
    target = courses["readmit_index"] & (courses["age"] >= 65) & courses["acute"]
    assert len(cohort) == (target & courses["medical"]).sum() > 0
    s = prepare_stays(stays, persons)
    for id, col in (("copd_acute", "copd_population"), ("diabetes_acute", "diabetes_population")):
        pop = cohort_population(s, persons, D.get(id), [2015, 2016], data_start=period.start)
        want = pop.groupby("year").size()
        got = cube[cube[col] > 0].groupby("year")[col].sum()
        assert (cube.loc[cube["month"] != 1, col] == 0).all()
        assert got.reindex(want.index, fill_value=0).tolist() == want.tolist(), col
    assert manifest["counts"]["courses"] == len(adm)


def test_official_cli_definitions_option(small_official, tmp_path: Path, capsys) -> None:
    from nsv_eval.cli import main

    raw, _, _ = small_official
    out = tmp_path / "cli"
    args = ["prepare", "--raw", str(raw), "--out", str(out), "--quiet"]
    assert main([*args, "--definitions", "readmission=legacy_medical"]) == 0
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["definitions"]["indicators"]["readmission"]["variant"] == "legacy_medical"
    assert man["definitions"]["indicators"]["preventable"]["variant"] == "official"
    assert man["definitions"]["unit"] == "stays"
    assert main([*args, "--definitions", "readmission=nonsense"]) == 1
    assert "nonsense" in capsys.readouterr().err


def test_official_flags_in_person_partitions_equal_one_pass(
    synth_dir: Path, prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """National extracts are flagged in partitions of whole persons (memory); every rule looks
    at one person's stays, so the prepared files are byte-identical to one pass (checked on
    the shared synthetic world, flagged in one pass by the fixture and here in ≥ 5 parts)."""
    from nsv_eval.clean import official

    n_stays = len(pd.read_parquet(prepared_dir / "stays.parquet", columns=["stay_id"]))
    monkeypatch.setattr(official, "CHUNK_STAYS", n_stays // 5)
    lines: list[str] = []
    prepare(synth_dir, tmp_path, progress=True, log=lines.append)
    parts = [line for line in lines if "flagging stays, part" in line]
    assert len(parts) >= 5 and parts[-1].endswith(f"part {len(parts)}/{len(parts)}")
    for name in ("courses", "stays", "cube", "cube_income", "cohort_readmission", "cohort_falls"):
        a = (prepared_dir / f"{name}.parquet").read_bytes()
        b = (tmp_path / f"{name}.parquet").read_bytes()
        assert a == b, name
    m0 = json.loads((prepared_dir / "manifest.json").read_text(encoding="utf-8"))
    m1 = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert m1["counts"] == m0["counts"]
