"""The synthetic Denmark generator (``nsv_eval.synth``).

What these tests check against:

* the DATA CONTRACT of ARCHITECTURE.md ("Raw layout": file names, columns, Arrow types) and
  the official kommune/region classification (98 kommuner in 5 regions);
* the generator's own ``truth.json``: every count and planted effect it claims is
  recomputed here from the raw files with independent, deliberately simple pandas code
  (course chaining, index discharges, 30-day readmissions, head counts, survey calibration);
* published Danish levels that the world is calibrated to (DOMAIN.md and the seeds):
  readmission of elderly medical patients about 14 % (Sundhedsstyrelsen 2010: 14.1 %),
  preventable admissions 40-70 and fall injuries 20-35 per 1,000 residents 65+ per year,
  about a quarter of acute courses of 65+ shorter than 24 h (Viborg: 25 %), winter peak,
  social gradient in mortality and admissions, Rudersdal-Kalundborg life-expectancy gap
  3.5-5 years (Kalundborg's strategy: 3.5 years);
* planted effects: the follow-up visit (planted risk ratio 0.75) must look harmful or null in
  a naive comparison and be recovered by a regression adjusted for the confounders listed
  in truth.json (modified Poisson regression, Zou 2004, cluster-robust by person).

Tolerances are statistical: at the fixture's scale (0.005, about 35,000 persons) each
level is estimated from thousands of events, and every tolerance is at least 3 standard
errors wide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import statsmodels.api as sm

from nsv_eval import definitions as D
from nsv_eval import reference as ref
from nsv_eval.definitions import codelists
from nsv_eval.synth import SCHEMAS, generate, model

FILES = [
    "persons.parquet",
    "contacts.parquet",
    "care.parquet",
    "falls.parquet",
    "interventions.parquet",
    "population.parquet",
    "survey.parquet",
    "rollout.csv",
    "truth.json",
]
CHAIN_GAP = pd.Timedelta(hours=4)
END = pd.Timestamp("2024-12-31")


# ----------------------------------------------------------------------------------------
# independent helpers (simple pandas, no code shared with the generator)
# ----------------------------------------------------------------------------------------


def _age(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years on date ``on`` (birthday rule)."""
    b = pd.to_datetime(birth)
    d = pd.to_datetime(on)
    before = (d.dt.month < b.dt.month) | ((d.dt.month == b.dt.month) & (d.dt.day < b.dt.day))
    return d.dt.year - b.dt.year - before.astype(int)


def _chain(contacts: pd.DataFrame) -> pd.DataFrame:
    """Chain contacts into courses: overlap or a new contact <= 4 h after the running
    maximum discharge joins the course; the first contact defines acute and diagnosis."""
    c = contacts.sort_values(["person_id", "admit_time", "contact_id"]).reset_index(drop=True)
    run_max = c.groupby("person_id")["discharge_time"].cummax()
    prev_max = run_max.groupby(c["person_id"]).shift(1)
    new = prev_max.isna() | (c["admit_time"] > prev_max + CHAIN_GAP)
    c["course"] = new.cumsum()
    return c.groupby("course").agg(
        person_id=("person_id", "first"),
        admit_time=("admit_time", "min"),
        discharge_time=("discharge_time", "max"),
        acute=("acute", "first"),
        diagnosis=("diagnosis", "first"),
        n_contacts=("contact_id", "size"),
    )


@pytest.fixture(scope="module")
def raw(synth_dir: Path) -> dict:
    """The fixture's raw files, read once, plus chained courses with flags."""
    d = {f.split(".")[0]: pd.read_parquet(synth_dir / f) for f in FILES if f.endswith(".parquet")}
    d["rollout"] = pd.read_csv(synth_dir / "rollout.csv", dtype={"start_date": str})
    d["truth"] = json.loads((synth_dir / "truth.json").read_text(encoding="utf-8"))
    courses = _chain(d["contacts"]).merge(d["persons"], on="person_id", how="left")
    courses["age"] = _age(courses["birth_date"], courses["admit_time"].dt.normalize())
    dis_date = courses["discharge_time"].dt.normalize()
    death = pd.to_datetime(courses["death_date"])
    courses["died_in"] = (death <= dis_date).fillna(False).astype(bool)
    courses["medical"] = codelists.is_medical(courses["diagnosis"]).to_numpy()
    courses["preventable"] = codelists.ICD10["preventable"].matches(courses["diagnosis"]).to_numpy()
    # fall injuries as LPR codes them (issue #13): an injury action diagnosis (S/T), which
    # carries contact cause ulykke; the legacy W00-W19 list sees only hip fractures now
    courses["injury"] = courses["diagnosis"].str.startswith(("DS", "DT")).to_numpy()
    courses["index"] = (
        courses["acute"]
        & courses["medical"]
        & (courses["age"] >= 65)
        & ~courses["died_in"]
        & (dis_date <= END - pd.Timedelta(days=30))
    )
    d["courses"] = courses.sort_values(["person_id", "admit_time"]).reset_index(drop=True)
    return d


def _readmission_cohort(raw: dict) -> pd.DataFrame:
    """Index discharges with 30-day acute readmission, follow-up visit and confounders."""
    c = raw["courses"]
    acute = c.loc[c["acute"], ["person_id", "admit_time"]]
    idx = c.loc[c["index"]].copy()
    idx["key"] = np.arange(len(idx))
    # readmission: an acute course admitted in (discharge, discharge + 30 x 24 h]
    m = idx[["key", "person_id", "discharge_time"]].merge(acute, on="person_id")
    gap = m["admit_time"] - m["discharge_time"]
    hit = m.loc[(gap > pd.Timedelta(0)) & (gap <= pd.Timedelta(days=30)), "key"].unique()
    idx["readmit"] = idx["key"].isin(hit)
    # prior acute admissions in [admit - 365 d, admit)
    m = idx[["key", "person_id", "admit_time"]].merge(
        acute.rename(columns={"admit_time": "other"}), on="person_id"
    )
    prior = m[
        (m["other"] < m["admit_time"]) & (m["other"] >= m["admit_time"] - pd.Timedelta(days=365))
    ]
    idx["prior"] = idx["key"].map(prior.groupby("key").size()).fillna(0).astype(int)
    # home care active on the discharge date
    care = raw["care"][raw["care"]["service"] == "home_care"]
    m = idx[["key", "person_id", "discharge_time"]].merge(care, on="person_id")
    dd = m["discharge_time"].dt.normalize()
    on = (pd.to_datetime(m["start_date"]) <= dd) & (
        m["end_date"].isna() | (pd.to_datetime(m["end_date"]) >= dd)
    )
    idx["home_care"] = idx["key"].isin(m.loc[on, "key"])
    # follow-up visit dated 0-7 days after the discharge date
    v = raw["interventions"][raw["interventions"]["intervention"] == "followup_visit"]
    m = idx[["key", "person_id", "discharge_time"]].merge(v, on="person_id")
    days = (pd.to_datetime(m["date"]) - m["discharge_time"].dt.normalize()).dt.days
    idx["visit"] = idx["key"].isin(m.loc[(days >= 0) & (days <= 7), "key"])
    return idx


# ----------------------------------------------------------------------------------------
# layout, contract, determinism
# ----------------------------------------------------------------------------------------


def test_layout_columns_and_types(synth_dir: Path) -> None:
    """Files and Arrow types exactly as the raw layout in ARCHITECTURE.md. Parquet has no
    second-resolution timestamp, so timestamp[s] columns are stored as timestamp[ms]
    holding whole seconds."""
    for f in FILES:
        assert (synth_dir / f).is_file(), f
    for name, schema in SCHEMAS.items():
        got = pq.read_schema(synth_dir / f"{name}.parquet")
        want = pa.schema(
            [
                pa.field(fl.name, pa.timestamp("ms") if fl.type == pa.timestamp("s") else fl.type)
                for fl in schema
            ]
        )
        assert got.names == want.names, name
        assert [fl.type for fl in got] == [fl.type for fl in want], name
    ct = pd.read_parquet(synth_dir / "contacts.parquet")
    for col in ("admit_time", "discharge_time"):
        assert (ct[col].dt.microsecond == 0).all()
    assert list(pd.read_csv(synth_dir / "rollout.csv").columns) == [
        "kommune_code",
        "intervention",
        "start_date",
    ]


def test_values_are_in_the_contract(raw: dict) -> None:
    p = raw["persons"]
    assert p["person_id"].is_unique
    assert set(p["sex"]) == {"M", "F"}
    assert set(p["education"]) == set(ref.EDUCATION_LEVELS)
    assert set(p["income_quintile"]) == {1, 2, 3, 4, 5}
    death = pd.to_datetime(p["death_date"])
    assert (death.dropna() <= END).all() and (death.dropna() >= pd.Timestamp("2010-01-01")).all()
    assert (death.dropna() >= pd.to_datetime(p.loc[death.notna(), "birth_date"])).all()
    ct = raw["contacts"]
    assert ct["contact_id"].is_unique
    assert (ct["discharge_time"] > ct["admit_time"]).all()
    assert ref.is_valid_icd10(ct["diagnosis"]).all()
    assert ct["diagnosis"].str.startswith("D").all()
    assert set(ct["person_id"]) <= set(p["person_id"])
    assert not raw["falls"].duplicated().any()  # the falls register's key: person, date
    key = ["year", "kommune_code", "age", "sex", "education"]
    assert not raw["population"].duplicated(key).any()
    assert set(raw["care"]["service"]) == {"home_care", "home_nursing"}
    care = raw["care"]
    assert (
        pd.to_datetime(care["end_date"]).dropna() >= pd.to_datetime(care.dropna()["start_date"])
    ).all()
    assert set(raw["interventions"]["intervention"]) == {
        "followup_visit",
        "falls_programme",
        "preventive_visit",
    }
    s = raw["survey"]
    assert set(s["year"]) == set(model.SURVEY_YEARS)
    assert (s["age"] >= 16).all() and (s["weight"] > 0).all()
    assert s["respondent_id"].is_unique


def _digest(d: Path) -> dict[str, str]:
    return {f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in FILES}


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    """Byte-identical files for the same seed and scale; a different seed changes every
    file. A short period keeps the test fast (determinism does not depend on it)."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    short = dict(scale=0.001, start_year=2012, end_year=2013)
    generate(a, seed=3, **short)
    generate(b, seed=3, **short)
    generate(c, seed=4, **short)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    for f in FILES:
        assert da[f] != dc[f], f


def test_bad_arguments_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0)
    with pytest.raises(ValueError, match="period"):
        generate(tmp_path, start_year=2020, end_year=2019)


def test_98_kommuner_in_5_regions(raw: dict) -> None:
    k = ref.kommuner().set_index("kommune_code")
    codes = set(raw["persons"]["kommune_code"])
    assert codes == set(k.index)
    assert len({k.at[c, "region_code"] for c in codes}) == 5
    pop = raw["population"]
    assert pop.groupby("year")["kommune_code"].nunique().eq(98).all()
    assert sorted(pop["year"].unique()) == list(range(2010, 2025))
    assert set(raw["survey"]["kommune_code"]) == set(k.index)


def test_diagnosis_codes_are_classified_as_intended() -> None:
    """Each generator group's codes fall in exactly the intended reference code lists."""
    lists = {name: cl for name, cl in codelists.ICD10.items()}
    expect = {
        "prev_respiratory": {"preventable"},
        "prev_urinary": {"preventable"},
        "prev_other": {"preventable"},
        "prev_fracture": {"preventable"},
        "hip_fracture": {"preventable", "fall_injury", "hip_fracture"},
        # LPR codes a fall as an injury diagnosis (no W-code): the fractures among the
        # other fall injuries are 'brud' of the preventable list, the rest on no list
        "fall_other": {"preventable"},
        "copd": {"copd"},
        "diabetes": {"diabetes"},
        "heart_failure": {"heart_failure"},
        "other_medical": set(),
        "other_injury": set(),
        "planned": set(),
    }
    fracture = tuple(f"DS{n}2" for n in range(0, 9))  # S02, S12, ..., S82: fractures
    for g in model.GROUPS:
        for code in g["codes"]:
            want = expect[g["name"]]
            if g["name"] == "fall_other" and not code.startswith(fracture):
                want = set()
            for name, cl in lists.items():
                hit = bool(cl.matches(pd.Series([code])).iloc[0])
                assert hit == (name in want), (g["name"], code, name)
    # every fall group codes injuries only (S/T: contact cause ulykke in the LPR layouts),
    # which is what the official fall-injury indicator counts; fall_other has no hip fracture
    for gi in model.FALL_GROUPS:
        assert all(c.startswith(("DS", "DT")) for c in model.GROUPS[gi]["codes"])
    assert not any(lists["hip_fracture"].matches(pd.Series(list(model.GROUPS[5]["codes"]))))
    for name in model.READMISSION_MIX:
        g = model.GROUPS[model.GROUP_NAMES.index(name)]
        assert codelists.is_medical(pd.Series(list(g["codes"]))).all()
    assert not codelists.is_medical(pd.Series(list(model.GROUPS[10]["codes"]))).any()


# ----------------------------------------------------------------------------------------
# truth.json matches the data
# ----------------------------------------------------------------------------------------


def test_truth_counts_match_the_data(raw: dict) -> None:
    t = raw["truth"]["counts"]
    c = raw["courses"]
    assert t["persons"] == len(raw["persons"])
    assert t["deaths"] == raw["persons"]["death_date"].notna().sum()
    assert t["contacts"] == len(raw["contacts"])
    assert t["courses"] == len(c)
    assert t["courses_with_transfer"] == (c["n_contacts"] > 1).sum()
    assert t["contacts_in_transfers"] == c.loc[c["n_contacts"] > 1, "n_contacts"].sum()
    assert t["deaths_in_hospital"] == c["died_in"].sum()
    assert t["index_discharges"] == c["index"].sum()
    assert (
        t["falls_programme_participants"]
        == (raw["interventions"]["intervention"] == "falls_programme").sum()
    )
    # separate courses 5-48 h after the previous discharge exist and were not chained
    gap = c["admit_time"] - c.groupby("person_id")["discharge_time"].shift(1)
    assert gap.min() > CHAIN_GAP
    near = ((gap > CHAIN_GAP) & (gap <= pd.Timedelta(hours=48))).sum()
    assert near == t["separate_courses_5_48h"] > 0
    # about 10 % of courses are recorded as 2-3 contacts (transfers)
    assert 0.07 < t["courses_with_transfer"] / t["courses"] < 0.13


def test_readmissions_match_truth_and_level(raw: dict) -> None:
    """30-day acute readmission after index discharges: the count equals truth.json, and
    the risk is near the Danish 14 % (Sundhedsstyrelsen: 14.1 % in 2010). n is about 16,000,
    so the standard error is about 0.3 percentage points; tolerance +-2.5 points."""
    cohort = _readmission_cohort(raw)
    t = raw["truth"]
    assert cohort["readmit"].sum() == t["counts"]["readmissions_30d"]
    assert cohort["visit"].sum() == t["effects"]["followup_visit"]["visited"]
    risk = cohort["readmit"].mean()
    assert abs(risk - 0.14) < 0.025
    assert risk == pytest.approx(t["levels"]["readmission_30d_risk_65plus_medical"], abs=1e-4)


def test_followup_visit_naive_is_biased_adjusted_recovers_planted(raw: dict) -> None:
    """Planted risk ratio 0.75 (truth.json). The naive ratio must point the other way
    (confounding by frailty: visits go to frailer patients), and a modified Poisson
    regression (log link, cluster-robust SE by person; Zou 2004) adjusted for the listed
    confounders must contain 0.75 in its 95 % CI."""
    cohort = _readmission_cohort(raw)
    truth = raw["truth"]["effects"]["followup_visit"]
    planted = truth["planted_risk_ratio"]
    naive = (
        cohort.loc[cohort["visit"], "readmit"].mean()
        / cohort.loc[~cohort["visit"], "readmit"].mean()
    )
    assert naive == pytest.approx(truth["realised"]["naive_risk_ratio"], abs=1e-3)
    assert naive > planted + 0.15
    x = pd.DataFrame(
        {
            "visit": cohort["visit"].astype(float),
            "age": cohort["age"].astype(float),
            "male": (cohort["sex"] == "M").astype(float),
            "alone": cohort["living_alone"].astype(float),
            "home_care": cohort["home_care"].astype(float),
            "prior": np.minimum(cohort["prior"], 3).astype(float),
        }
    )
    for e in ref.EDUCATION_LEVELS[:3]:
        x[e] = (cohort["education"] == e).astype(float)
    x = sm.add_constant(x)
    groups = pd.factorize(cohort["person_id"])[0]
    fit = sm.GLM(cohort["readmit"].astype(float), x, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    lo, hi = np.exp(fit.conf_int().loc["visit"])
    assert lo < planted < hi, (np.exp(fit.params["visit"]), lo, hi)
    # and the realised potential-outcome ratios in truth.json are the planted one
    assert truth["realised"]["risk_ratio_all"] == pytest.approx(planted, abs=0.03)
    assert truth["realised"]["risk_ratio_treated"] == pytest.approx(planted, abs=0.03)


def test_rollout_matches_truth_and_design(raw: dict) -> None:
    r = raw["rollout"]
    t = {k["kommune_code"]: k for k in raw["truth"]["kommuner"]}
    assert len(r) == 2 * 98
    for row in r.itertuples():
        want = t[row.kommune_code][f"{row.intervention}_start"]
        got = row.start_date if isinstance(row.start_date, str) and row.start_date else None
        assert got == want, row
    kal = r[r["kommune_code"] == 326].set_index("intervention")["start_date"]
    assert kal["falls_programme"] == "2014-01-01" and kal["acute_team"] == "2017-03-01"
    k = ref.kommuner().set_index("kommune_code")
    falls = r[r["intervention"] == "falls_programme"].copy()
    falls["region"] = falls["kommune_code"].map(k["region_code"])
    falls["d"] = pd.to_datetime(falls["start_date"])
    assert (falls["d"].dropna().dt.strftime("%m-%d") == "01-01").all()
    mid = falls[falls["region"] == 1082]
    assert mid["d"].notna().all() and len(mid) == 19
    assert (mid["d"].dt.year <= 2013).sum() == 8 and (mid["d"].dt.year <= 2014).all()
    other = falls[falls["region"] != 1082]
    assert other["d"].dropna().dt.year.between(2012, 2015).all()
    assert 0.10 < other["d"].isna().mean() < 0.20
    team = pd.to_datetime(r.loc[r["intervention"] == "acute_team", "start_date"]).dropna()
    assert (team.dt.day == 1).all() and team.dt.year.between(2015, 2019).all()
    assert 25 <= len(team) <= 55


def test_falls_programme_participation(raw: dict) -> None:
    """Participants live in a treated kommune, are 65+ and join on/after its start."""
    iv = raw["interventions"]
    part = iv[iv["intervention"] == "falls_programme"].merge(raw["persons"], on="person_id")
    start = raw["rollout"][raw["rollout"]["intervention"] == "falls_programme"].set_index(
        "kommune_code"
    )["start_date"]
    s = pd.to_datetime(part["kommune_code"].map(start))
    assert s.notna().all()
    assert (pd.to_datetime(part["date"]) >= s).all()
    assert (_age(part["birth_date"], part["date"]) >= 65).all()
    eff = raw["truth"]["effects"]["falls_programme"]
    assert 0.25 < eff["participation_share_of_eligible"] < 0.45
    realised = eff["realised_kommune_level"]
    # diluted among all 65+ (only a third participate), but in the planted direction
    assert eff["planted_individual_rate_ratio"] < realised["rate_ratio"] < 0.95
    assert realised["att_per_1000_65plus_per_year"] < 0
    assert raw["truth"]["effects"]["acute_team"]["realised_kommune_level"]["rate_ratio"] == (
        pytest.approx(model.ACUTE_TEAM_RR, abs=1e-3)
    )


def test_population_is_head_count_of_persons(raw: dict) -> None:
    """population.parquet equals an independent head count of persons on 1 January."""
    p = raw["persons"]
    for year in (2010, 2017, 2024):
        day = pd.Timestamp(f"{year}-01-01")
        alive = (pd.to_datetime(p["birth_date"]) < day) & (
            p["death_date"].isna() | (pd.to_datetime(p["death_date"]) >= day)
        )
        q = p[alive].copy()
        q["age"] = _age(q["birth_date"], pd.Series(day, index=q.index))
        mine = q.groupby(["kommune_code", "sex", "education"]).size()
        pop = raw["population"]
        theirs = (
            pop[pop["year"] == year]
            .groupby(["kommune_code", "sex", "education"])["population"]
            .sum()
        )
        pd.testing.assert_series_equal(mine, theirs, check_names=False, check_dtype=False)
        a65 = q["age"] >= 65
        share = a65.mean()
        assert 0.14 < share < 0.25  # about 16 % in 2010 rising to about 22 % (no migration)


# ----------------------------------------------------------------------------------------
# plausible levels and gradients computed from the raw files
# ----------------------------------------------------------------------------------------


def _py65(raw: dict) -> float:
    pop = raw["population"]
    return float(pop.loc[pop["age"] >= 65, "population"].sum())


def test_preventable_and_fall_injury_levels(raw: dict) -> None:
    """Per 1,000 residents 65+ per year (denominator: 1 January head counts summed over
    the 15 years): preventable courses of any length 40-80 (eSundhed/KL level about 60 for
    admissions >= 12 h, which test_synth_calibration checks; since issue #13 the fractures of
    the other fall injuries, often short stays, count as 'brud' too), fall injuries as the
    official indicator counts them (injury diagnosis with contact cause ulykke, courses of at
    least 12 h) within the published range 13-22 (``fall_injury.yaml``: SIF, more than 13,000
    admissions after falls of people 65+ in 2002, about 16 per 1,000; was 20-35 before the
    generator was calibrated to it in issue #13).
    Several thousand events each, so sampling error is a few per cent.

    Against truth.json: the injury courses of every length are the fall groups plus the
    injury codes of ``other_injury`` (accidents the falls programme does not prevent), and the
    preventable courses are the preventable groups plus the fractures of ``fall_other``; the
    expected share of a group's courses with given codes is their code share."""
    c = raw["courses"]
    old = c["acute"] & (c["age"] >= 65)
    py = _py65(raw)
    prev = (old & c["preventable"]).sum() / py * 1000
    long = (c["discharge_time"] - c["admit_time"]) >= pd.Timedelta(hours=12)
    fall12 = (old & c["injury"] & long).sum() / py * 1000
    injury = (old & c["injury"]).sum() / py * 1000
    assert 40 < prev < 80
    pub = D.get("fall_injury").published_level
    assert pub["low"] < fall12 < pub["high"]
    levels = raw["truth"]["levels"]
    by_group = levels["realised_by_group_per_1000_65plus_all_years"]

    def share(group: str, prefixes: tuple[str, ...]) -> float:
        codes = model.GROUPS[model.GROUP_NAMES.index(group)]["codes"]
        return sum(w for k, w in codes.items() if k.startswith(prefixes)) / sum(codes.values())

    fractures = tuple(f"DS{n}2" for n in range(0, 9))  # 'brud' of the preventable list
    assert prev == pytest.approx(
        levels["preventable"]["realised_per_1000_65plus_all_years"]
        + by_group["fall_other"] * share("fall_other", fractures),
        rel=0.05,
    )
    assert injury == pytest.approx(
        levels["fall_injury"]["realised_per_1000_65plus_all_years"]
        + by_group["other_injury"] * share("other_injury", ("DS", "DT")),
        rel=0.05,
    )
    # about a quarter of acute courses of 65+ are shorter than 24 h
    los = (c["discharge_time"] - c["admit_time"])[old]
    assert 0.2 < (los < pd.Timedelta(hours=24)).mean() < 0.33


def test_winter_peak(raw: dict) -> None:
    """Acute admissions of 65+ per day in December-February exceed June-August (planted
    winter amplitude; about 15 % more)."""
    c = raw["courses"]
    a = c[c["acute"] & (c["age"] >= 65)]
    m = a["admit_time"].dt.month
    winter = m.isin([12, 1, 2]).sum() / (90.25 * 15)
    summer = m.isin([6, 7, 8]).sum() / (92 * 15)
    assert winter / summer > 1.07


def _mh_rate_ratio(events: pd.Series, py: pd.Series, level: str, ref_level: str) -> float:
    """Mantel-Haenszel rate ratio of ``level`` vs ``ref_level`` over strata (Rothman,
    Modern Epidemiology, ch. 15): sum(a * T0 / T) / sum(b * T1 / T)."""
    df = pd.DataFrame({"d": events, "t": py}).fillna(0)
    a = df.xs(level, level="education")
    b = df.xs(ref_level, level="education")
    j = a.add_suffix("1").join(b.add_suffix("0"), how="inner")
    t = j["t1"] + j["t0"]
    j = j[t > 0]
    t = t[t > 0]
    return float((j["d1"] * j["t0"] / t).sum() / (j["d0"] * j["t1"] / t).sum())


def test_education_gradient_mortality_and_admissions(raw: dict) -> None:
    """Mantel-Haenszel rate ratios (strata: sex x 5-year age band, ages 30+) of grundskole
    vs lang for deaths and acute admissions. Planted: mortality 1.7 (attenuated a little by
    frailty selection), acute admissions 1.5-1.8 by diagnosis group."""
    pop = raw["population"]
    pop = pop[pop["age"] >= 30].assign(band=lambda d: ref.age_band(d["age"]))
    py = pop.groupby(["sex", "band", "education"])["population"].sum()
    p = raw["persons"]
    dead = p[p["death_date"].notna()].copy()
    dead["age"] = _age(dead["birth_date"], dead["death_date"])
    dead = dead[dead["age"] >= 30].assign(band=lambda d: ref.age_band(d["age"]))
    deaths = dead.groupby(["sex", "band", "education"]).size().reindex(py.index, fill_value=0)
    rr_mort = _mh_rate_ratio(deaths, py, "grundskole", "lang")
    assert 1.35 < rr_mort < 2.1
    c = raw["courses"]
    a = c[c["acute"] & (c["age"] >= 30)].assign(band=lambda d: ref.age_band(d["age"]))
    adm = a.groupby(["sex", "band", "education"]).size().reindex(py.index, fill_value=0)
    rr_adm = _mh_rate_ratio(adm, py, "grundskole", "lang")
    assert 1.3 < rr_adm < 1.9
    prev = a[a["preventable"] & (a["age"] >= 65)].groupby(["sex", "band", "education"]).size()
    rr_prev = _mh_rate_ratio(prev.reindex(py.index, fill_value=0), py, "grundskole", "lang")
    assert rr_prev > 1.4


def test_kommune_mortality_differences(raw: dict) -> None:
    """Indirectly standardised mortality (SMR, national rates by sex x 5-year band) of the
    quarter of kommuner with the lowest planted life expectancy is clearly above that of
    the quarter with the highest; truth puts Rudersdal-Kalundborg at 3.5-5.5 years."""
    pop = raw["population"].assign(band=lambda d: ref.age_band(d["age"]))
    py = pop.groupby(["kommune_code", "sex", "band"])["population"].sum()
    p = raw["persons"]
    dead = p[p["death_date"].notna()].copy()
    dead["band"] = ref.age_band(_age(dead["birth_date"], dead["death_date"]))
    d = dead.groupby(["kommune_code", "sex", "band"]).size().reindex(py.index, fill_value=0)
    rate = d.groupby(["sex", "band"]).sum() / py.groupby(["sex", "band"]).sum()
    expected = (py * rate.reindex(py.index.droplevel(0)).to_numpy()).groupby("kommune_code").sum()
    observed = d.groupby("kommune_code").sum()
    truth = pd.DataFrame(raw["truth"]["kommuner"]).set_index("kommune_code")
    le = truth["life_expectancy_at_birth_mid_period"]
    low, high = le.nsmallest(25).index, le.nlargest(25).index
    smr_low = observed[low].sum() / expected[low].sum()
    smr_high = observed[high].sum() / expected[high].sum()
    assert smr_low / smr_high > 1.2
    gap = raw["truth"]["mortality"]["rudersdal_minus_kalundborg_years"]
    assert 3.5 <= gap <= 5.5


# ----------------------------------------------------------------------------------------
# survey
# ----------------------------------------------------------------------------------------


def test_survey_weights_calibrated_and_prevalences(raw: dict) -> None:
    """Weights sum to the kommune's population 16+ by sex x age group and by education
    (raking margins), and weighted national prevalences are within 3 standard errors
    of the planted population values in truth.json; smoking has the education gradient."""
    s = raw["survey"]
    pop = raw["population"]
    edges = model.SURVEY_AGE_GROUPS
    for year in (2010, 2021):
        sy = s[s["year"] == year]
        py = pop[(pop["year"] == year) & (pop["age"] >= 16)]
        tot_w = sy.groupby("kommune_code")["weight"].sum()
        tot_p = py.groupby("kommune_code")["population"].sum()
        np.testing.assert_allclose(tot_w, tot_p.loc[tot_w.index], rtol=1e-6)
        # education margin where every education cell of the kommune has respondents
        we = sy.groupby(["kommune_code", "education"])["weight"].sum()
        pe = py.groupby(["kommune_code", "education"])["population"].sum()
        full = we.groupby("kommune_code").size() == pe.groupby("kommune_code").size()
        ok = full[full].index
        np.testing.assert_allclose(we.loc[ok], pe.loc[we.loc[ok].index], rtol=1e-4)
        # sex margin always; sex x age group (16-24, ..., 75+) where every cell has
        # respondents (empty cells are merged into a neighbour, and raking falls back to
        # coarser age groups where a small sample makes the fine margins infeasible)
        ws = sy.groupby(["kommune_code", "sex"])["weight"].sum()
        ps = py.groupby(["kommune_code", "sex"])["population"].sum()
        np.testing.assert_allclose(ws, ps.loc[ws.index], rtol=1e-4)
        sy = sy.assign(ag=np.searchsorted(edges, sy["age"], "right"))
        py = py.assign(ag=np.searchsorted(edges, py["age"], "right"))
        wa = sy.groupby(["kommune_code", "sex", "ag"])["weight"].sum()
        pa_ = py.groupby(["kommune_code", "sex", "ag"])["population"].sum()
        full = wa.groupby("kommune_code").size() == pa_.groupby("kommune_code").size()
        full = full[full].index  # every sex x age cell has respondents
        rel = (wa / pa_.loc[wa.index] - 1).abs().groupby("kommune_code").max().loc[full]
        # sized on the real 2014 kommune populations (synth/population.py), 28 of 36 such
        # kommuner meet the fine margins at the test scale and seed (the bar was 0.8 with the
        # approximate populations); the rest fall back to coarser age groups by design
        # (survey.rake)
        assert len(full) >= 5 and (rel < 1e-4).mean() > 0.75
        truth = raw["truth"]["survey"]["population_values"][str(year)]
        for outcome in ("srh_good", "daily_smoker", "lonely"):
            y = sy[outcome].astype(float)
            w = sy["weight"]
            est = float((w * y).sum() / w.sum())
            # linearised SE of a ratio estimator with weights only
            se = float(np.sqrt(((w * (y - est)) ** 2).sum()) / w.sum())
            assert abs(est - truth[outcome]["all"]) < 3 * se + 0.005, (year, outcome, est)
    t10 = raw["truth"]["survey"]["population_values"]["2010"]["daily_smoker"]
    t21 = raw["truth"]["survey"]["population_values"]["2021"]["daily_smoker"]
    assert 0.15 < t10["all"] < 0.19 and 0.09 < t21["all"] < 0.13
    assert t10["grundskole"] > t10["kort"] > t10["mellemlang"] > t10["lang"]
    assert raw["truth"]["survey"]["min_respondents_per_kommune_year"] >= 25


# ----------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------


def test_cli_writes_files_and_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nsv_eval.cli import main

    out = tmp_path / "syn"
    args = ["synth", "--scale", "0.001", "--seed", "5", "--out", str(out), "--quiet"]
    assert main([*args, "--start-year", "2013", "--end-year", "2014"]) == 0
    printed = capsys.readouterr().out
    for f in FILES:
        assert (out / f).is_file()
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert f"{truth['counts']['persons']:,}" in printed
    assert f"{truth['counts']['contacts']:,}" in printed
    assert str(out) in printed
    assert main(["synth", "--scale", "-1", "--out", str(out), "--quiet"]) == 1
    assert "scale" in capsys.readouterr().err


def test_period_dates(raw: dict) -> None:
    """Everything happens inside 2010-2024 (contacts may be discharged after the end)."""
    c = raw["courses"]
    assert c["admit_time"].min() >= pd.Timestamp("2010-01-01")
    assert c["admit_time"].max() < pd.Timestamp("2025-01-01")
    for name, col in (("falls", "fall_date"), ("interventions", "date"), ("care", "start_date")):
        d = pd.to_datetime(raw[name][col])
        assert d.min() >= pd.Timestamp("2010-01-01") and d.max() <= END, name
    assert dt.date(2010, 1, 1) <= min(raw["persons"]["death_date"].dropna())
