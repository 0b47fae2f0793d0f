"""Indicator flags on stays (nsv_eval.definitions.flags), checked against hand-worked cases.

Every case is small enough to work out by hand from the definition files: the 12-hour rule,
the 30-day window (a readmission exactly 30 × 24 h after the discharge counts, one second
later does not), each exclusion of the readmission indicator, the sector split, the
emergency department's observation code followed by a ward diagnosis (the stay's action
diagnosis decides), the contact cause of fall injuries, and the entry and look-back of the
disease cohorts. The 4-hour rule that joins attendances into one stay is applied when the
stays are built (``clean.stays``, issue 13); here a readmission starting 4 h 1 min after a
discharge is a separate stay and counts.
"""

from __future__ import annotations

import pandas as pd
import pytest

from nsv_eval import definitions as D
from nsv_eval.definitions import flags as F
from nsv_eval.errors import InputError

T0 = pd.Timestamp("2020-03-01 08:00")


def person(pid: str, birth: str = "1940-06-15", death: str | None = None) -> dict:
    return {
        "person_id": pid,
        "birth_date": birth,
        "death_date": death,
        "kommune_code": 326,
        "sex": "F",
    }


def stay(
    sid: int,
    pid: str,
    start: pd.Timestamp | str,
    hours: float,
    dx: str = "DJ189",
    *,
    acute: bool = True,
    somatic: bool = True,
    cause: str | None = "ALCC01",
    diagnoses: list[str] | None = None,
) -> dict:
    start = pd.Timestamp(start)
    return {
        "stay_id": sid,
        "person_id": pid,
        "start": start,
        "end": start + pd.Timedelta(hours=hours),
        "hours": float(hours),
        "admission": hours >= 12,
        "acute": acute,
        "somatic": somatic,
        "action_diagnosis": dx,
        "kontaktaarsag": cause,
        "diagnoses": diagnoses if diagnoses is not None else [dx],
    }


def run(stays: list[dict], persons: list[dict], **kw) -> pd.DataFrame:
    out = F.flag_stays(pd.DataFrame(stays), pd.DataFrame(persons), **kw)
    return out.set_index("stay_id").sort_index()


def after(h: float = 0, d: float = 0, s: float = 0) -> pd.Timestamp:
    """A time ``d`` days + ``h`` hours + ``s`` seconds after the end of a 48-h index from T0."""
    return T0 + pd.Timedelta(hours=48) + pd.Timedelta(days=d, hours=h, seconds=s)


# -- readmission ---------------------------------------------------------------------------


def test_twelve_hour_rule_for_index_and_readmission():
    f = run(
        [
            stay(1, "a", T0, 11.99),  # not an admission: not an index
            stay(2, "a", T0 + pd.Timedelta(days=3), 12.0),  # an admission: index
            stay(3, "a", T0 + pd.Timedelta(days=5), 11.99),  # too short to be a readmission
            stay(4, "b", T0, 12.0),
            stay(5, "b", T0 + pd.Timedelta(days=2), 12.0),  # readmission of 4
        ],
        [person("a"), person("b")],
    )
    assert f["admission"].tolist() == [False, True, False, True, True]
    assert not f.loc[1, "index_admission"]
    assert f.loc[2, "index_admission"] and not f.loc[2, "readmitted_30d"]
    assert f.loc[4, "readmitted_30d"]
    assert f.loc[4, "days_to_readmission"] == pytest.approx(1.5)  # 48 h - 12 h = 36 h


def test_thirty_day_boundary_is_inclusive_to_the_second():
    f = run(
        [
            stay(1, "a", T0, 48),
            stay(2, "a", after(d=30), 20),  # exactly 30 x 24 h after the discharge: counts
            stay(3, "b", T0, 48),
            stay(4, "b", after(d=30, s=1), 20),  # one second later: does not
            stay(5, "c", T0, 48),
            stay(6, "c", after(h=4, s=60), 20),  # 4 h 1 min later: a separate stay, counts
        ],
        [person("a"), person("b"), person("c")],
    )
    assert f.loc[1, "readmitted_30d"] and f.loc[1, "days_to_readmission"] == pytest.approx(30)
    assert not f.loc[3, "readmitted_30d"] and pd.isna(f.loc[3, "days_to_readmission"])
    assert f.loc[5, "readmitted_30d"]
    assert f.loc[5, "days_to_readmission"] == pytest.approx((4 * 3600 + 60) / 86400)


def test_planned_index_counts_planned_readmission_does_not():
    f = run(
        [
            stay(1, "a", T0, 48, acute=False),  # planned index: in the denominator
            stay(2, "a", after(d=3), 24, acute=False),  # planned: not a readmission
            stay(3, "a", after(d=10), 24),  # acute: the readmission of 1 (and of 2)
        ],
        [person("a")],
    )
    assert f.loc[1, "index_admission"] and f.loc[1, "readmitted_30d"]
    assert f.loc[1, "days_to_readmission"] == pytest.approx(10)
    assert f.loc[2, "readmitted_30d"]


@pytest.mark.parametrize(
    ("readmission", "counts"),
    [
        ({"dx": "DJ189"}, True),
        ({"dx": "DC349"}, False),  # cancer-related (action diagnosis)
        ({"dx": "DJ189", "diagnoses": ["DJ189", "DC509"]}, False),  # cancer as B diagnosis
        ({"dx": "DO800"}, False),  # birth
        ({"dx": "DZ380"}, False),  # liveborn infant
        ({"dx": "DS720", "cause": "ALCC02"}, False),  # accident
        ({"dx": "DS099", "cause": "ALCC03"}, False),  # violence
        ({"dx": "DT424", "cause": "ALCC04"}, False),  # suicide attempt / self-harm
        ({"dx": "DS720", "cause": None}, True),  # unknown cause: not excluded
        ({"dx": "DJ189", "somatic": False}, False),  # psychiatric after somatic
    ],
)
def test_each_readmission_exclusion(readmission, counts):
    kw = {k: v for k, v in readmission.items() if k != "dx"}
    f = run(
        [stay(1, "a", T0, 48), stay(2, "a", after(d=5), 24, readmission["dx"], **kw)], [person("a")]
    )
    assert bool(f.loc[1, "readmitted_30d"]) is counts


def test_excluded_readmission_does_not_hide_a_later_one():
    f = run(
        [
            stay(1, "a", T0, 48),
            stay(2, "a", after(d=2), 24, "DS720", cause="ALCC02"),
            stay(3, "a", after(d=20), 24),
        ],
        [person("a")],
    )
    assert f.loc[1, "readmitted_30d"] and f.loc[1, "days_to_readmission"] == pytest.approx(20)
    assert f.loc[2, "index_admission"] and f.loc[2, "readmitted_30d"]  # 17 days later


def test_index_exclusions_cancer_hospice_and_death():
    stays = [
        stay(1, "a", T0, 48, "DC180"),  # cancer: not an index
        stay(2, "b", T0, 48, "DJ441", diagnoses=["DJ441", "DC340"]),  # cancer B-diagnosis
        stay(3, "c", T0, 48),  # hospice (column below)
        stay(4, "d", T0, 48),  # dies on the discharge date: not an index
        stay(5, "e", T0, 48),  # dies the day after: an index
    ]
    df = pd.DataFrame(stays).assign(hospice=[False, False, True, False, False])
    persons = [
        person("a"),
        person("b"),
        person("c"),
        person("d", death="2020-03-03"),
        person("e", death="2020-03-04"),
    ]
    f = F.flag_stays(df, pd.DataFrame(persons)).set_index("stay_id")
    assert f["index_admission"].tolist() == [False, False, False, False, True]
    # without the hospice column nothing is excluded by it, and the notes say so
    g = F.flag_stays(df.drop(columns="hospice"), pd.DataFrame(persons))
    assert g.set_index("stay_id").loc[3, "index_admission"]
    assert any("hospice" in n for n in g.attrs["notes"])


def test_sectors_are_apart():
    f = run(
        [
            stay(1, "a", T0, 48, "DF200", somatic=False),
            stay(2, "a", after(d=1), 24, "DJ189"),  # somatic: not a psychiatric readmission
            stay(3, "a", after(d=6), 24, "DF200", somatic=False),  # psychiatric readmission
        ],
        [person("a")],
    )
    assert f.loc[1, "readmitted_30d_psychiatric"] and not f.loc[1, "readmitted_30d_somatic"]
    assert f.loc[1, "days_to_readmission"] == pytest.approx(6)
    assert f.loc[2, "index_admission_somatic"] and not f.loc[2, "readmitted_30d"]


def test_period_needs_thirty_days_of_follow_up_and_other_persons_do_not_count():
    f = run(
        [
            stay(1, "a", "2024-11-29 08:00", 24),  # ends 30 Nov: 30 days to 30 Dec -> index
            stay(2, "a", "2024-12-01 08:00", 24),  # ends 2 Dec: too late
            stay(3, "b", "2024-11-01 08:00", 24),
            stay(4, "c", "2024-11-03 08:00", 24),  # another person's admission
        ],
        [person("a"), person("b"), person("c")],
        period=("2024-01-01", "2024-12-31"),
    )
    assert f.loc[1, "index_admission"] and not f.loc[2, "index_admission"]
    assert f.loc[1, "readmitted_30d"]  # stay 2 is still a readmission of stay 1
    assert not f.loc[3, "readmitted_30d"]


def test_legacy_medical_variant_is_selectable_and_differs():
    stays = [
        stay(1, "a", T0, 6, "DJ189"),
        stay(2, "a", T0 + pd.Timedelta(days=2), 6, "DS720", cause="ALCC02"),
    ]
    off = run(stays, [person("a")])
    old = run(stays, [person("a")], choice={"readmission": "legacy_medical"})
    assert not off.loc[1, "index_admission"]  # 6 h is no admission
    assert (
        old.loc[1, "index_admission"] and old.loc[1, "readmitted_30d"]
    )  # no 12-h rule, injuries count
    assert old.attrs["definitions"]["readmission"]["variant"] == "legacy_medical"
    planned = run(
        [stay(1, "a", T0, 30, acute=False)], [person("a")], choice={"readmission": "legacy_medical"}
    )
    assert not planned.loc[1, "index_admission"]  # the legacy index is acute only
    surgical = run(
        [stay(1, "a", T0, 30, "DS720")], [person("a")], choice={"readmission": "legacy_medical"}
    )
    assert not surgical.loc[1, "index_admission"]  # and medical only


# -- rate indicators -----------------------------------------------------------------------


def test_preventable_uses_the_stay_diagnosis_not_the_er_observation_code():
    f = run(
        [
            # ER observation code DZ038 followed by a ward diagnosis: stays' action_diagnosis
            stay(1, "a", T0, 30, "DJ189", diagnoses=["DZ038", "DJ189"]),
            stay(2, "a", T0 + pd.Timedelta(days=40), 13, "DZ038"),  # observation only
            stay(3, "a", T0 + pd.Timedelta(days=80), 11.5, "DN390"),  # under 12 h
            stay(4, "a", T0 + pd.Timedelta(days=120), 20, "DN390", acute=False),  # planned
            stay(5, "a", T0 + pd.Timedelta(days=160), 20, "DE86", somatic=False),  # psychiatric
            stay(6, "b", "2005-06-15 08:00", 20, "DE86"),  # 65th birthday: counts
            stay(7, "b", "2005-06-14 08:00", 20, "DE86"),  # the day before: 64
        ],
        [person("a"), person("b")],
    )
    assert f["preventable"].tolist() == [True, False, False, False, False, True, False]
    legacy = run([stay(1, "a", T0, 3, "DN390")], [person("a")], choice={"preventable": "legacy"})
    assert legacy.loc[1, "preventable"]  # the legacy variant counts a 3-hour stay


def test_fall_injury_needs_accident_and_injury_code_hip_fracture_is_apart():
    f = run(
        [
            stay(1, "a", T0, 30, "DS525", cause="ALCC02"),  # accident + injury
            stay(2, "a", T0 + pd.Timedelta(days=10), 30, "DS525", cause="ALCC01"),  # illness
            stay(3, "a", T0 + pd.Timedelta(days=20), 30, "DJ189", cause="ALCC02"),  # no injury
            stay(4, "a", T0 + pd.Timedelta(days=30), 30, "DS525", cause=None),  # unknown cause
            stay(5, "a", T0 + pd.Timedelta(days=40), 30, "DS721", cause="ALCC01"),  # hip fracture
            stay(6, "a", T0 + pd.Timedelta(days=50), 30, "DS720", cause="ALCC02"),  # both
            stay(7, "a", T0 + pd.Timedelta(days=60), 30, "DT141", cause="ALCC02"),  # T14
            stay(8, "a", T0 + pd.Timedelta(days=70), 30, "DT424", cause="ALCC02"),  # poisoning: no
        ],
        [person("a")],
    )
    assert f["fall_injury"].tolist() == [True, False, False, False, False, True, True, False]
    assert f["hip_fracture"].tolist() == [False, False, False, False, True, True, False, False]
    assert any("fall_injury" in n and "1 stay" in n for n in f.attrs["notes"])


def test_short_stay_is_twelve_to_twenty_four_hours():
    f = run(
        [
            stay(i, "a", T0 + pd.Timedelta(days=3 * i), h)
            for i, h in enumerate([11.99, 12, 23.99, 24], 1)
        ],
        [person("a")],
    )
    assert f["short_stay"].tolist() == [False, True, True, False]
    g = run([stay(1, "a", T0, 2.0)], [person("a")], choice={"short_stay": "legacy"})
    assert g.loc[1, "short_stay"]


# -- disease cohorts -----------------------------------------------------------------------


def test_copd_cohort_entry_and_lookback():
    d = D.get("copd_acute")
    assert d.threshold("lookback_years") == 5
    stays = pd.DataFrame(
        [
            # J44 as B diagnosis of an outpatient visit: entry 2015-06-01
            stay(1, "a", "2015-06-01 10:00", 1, "DR060", diagnoses=["DR060", "DJ449"]),
            stay(2, "a", "2017-02-01 10:00", 1, "DJ441"),
            stay(3, "b", "2015-01-01 00:00", 1, "DJ440"),  # exactly 5 years before 2020
            stay(4, "c", "2020-01-01 09:00", 1, "DJ440"),  # on 1 January: counts from 2021
            stay(5, "d", "2018-05-05 10:00", 1, "DJ440"),  # 18 on 2019-01-01? no: born 2001-01-02
            stay(6, "e", "2018-05-05 10:00", 1, "DJ440"),  # dies 2020-01-01: out of 2020
            stay(7, "f", "2018-05-05 10:00", 1, "DJ189"),  # no COPD
        ]
    )
    persons = pd.DataFrame(
        [
            person("a"),
            person("b"),
            person("c"),
            person("d", birth="2001-01-02"),
            person("e", death="2020-01-01"),
            person("f"),
        ]
    )
    s = F.prepare_stays(stays, persons)
    coh = F.disease_cohort(s, d).set_index("person_id")
    assert coh.loc["a", "entry_date"] == pd.Timestamp("2015-06-01")
    assert len(coh.loc["a", "registrations"]) == 2
    assert "f" not in coh.index
    pop = F.cohort_population(s, persons, d, range(2015, 2024), data_start="2010-01-01")
    years = pop.groupby("person_id")["year"].apply(list).to_dict()
    assert years["a"] == [2016, 2017, 2018, 2019, 2020, 2021, 2022]  # last J44 2017 + 5 y
    assert years["b"] == [2016, 2017, 2018, 2019, 2020]  # 2015-01-01 is inside 2020's window
    assert years["c"] == [2021, 2022, 2023]
    assert years["d"] == [2020, 2021, 2022, 2023]  # 18 on 2020-01-01, not on 2019-01-01
    assert years["e"] == [2019]
    assert pop.set_index(["person_id", "year"]).loc[("a", 2016), "lookback_complete"]
    early = F.cohort_population(s, persons, d, [2014], data_start="2010-01-01")
    assert early.empty  # nothing registered before 2014
    pop15 = F.cohort_population(s, persons, d, [2016], data_start="2012-01-01")
    assert not pop15["lookback_complete"].any()  # window starts 2011, before the data


def test_copd_and_diabetes_admissions_among_people_with_the_disease():
    stays = [
        stay(1, "a", "2016-03-01 10:00", 2, "DJ441"),  # registration (outpatient)
        stay(2, "a", "2017-05-01 10:00", 30, "DI500"),  # acute somatic admission, any dx
        stay(3, "a", "2017-07-01 10:00", 30, "DI500", acute=False),  # planned: no
        stay(4, "a", "2017-09-01 10:00", 6, "DI500"),  # under 12 h: no
        stay(5, "b", "2017-05-01 10:00", 30, "DJ441"),  # first registration in 2017: not yet
        stay(6, "c", "2016-03-01 10:00", 2, "DE109"),  # type 1 diabetes
        stay(7, "c", "2017-05-01 10:00", 30, "DJ189"),
        stay(8, "d", "2016-03-01 10:00", 2, "DE119"),  # type 2 diabetes
        stay(9, "d", "2017-05-01 10:00", 30, "DJ189"),
    ]
    f = run(stays, [person(p) for p in "abcd"])
    assert f["copd_acute"][f["copd_acute"]].index.tolist() == [2]
    assert f["diabetes_acute"][f["diabetes_acute"]].index.tolist() == [9]
    legacy = run(stays, [person(p) for p in "abcd"], choice={"copd_acute": "legacy"})
    assert legacy["copd_acute"][legacy["copd_acute"]].index.tolist() == [1, 5]


# -- input errors --------------------------------------------------------------------------


def test_bad_input_names_column_and_row():
    good = [stay(1, "a", T0, 20)]
    with pytest.raises(InputError, match="stays: column.*somatic"):
        F.flag_stays(pd.DataFrame(good).drop(columns="somatic"), pd.DataFrame([person("a")]))
    with pytest.raises(InputError, match="column person_id: 'zz'.*stay_id 1"):
        F.flag_stays(pd.DataFrame([stay(1, "zz", T0, 20)]), pd.DataFrame([person("a")]))
    mixed = pd.DataFrame([stay(1, "a", T0, 11.0)]).assign(admission=True)
    with pytest.raises(InputError, match="column admission: stay_id 1.*admission_min_hours is 12"):
        F.flag_stays(mixed, pd.DataFrame([person("a")]))
    bad = pd.DataFrame(good)
    bad.loc[0, "end"] = T0 - pd.Timedelta(hours=1)
    with pytest.raises(InputError, match="stay_id 1 ends before it starts"):
        F.flag_stays(bad, pd.DataFrame([person("a")]))
