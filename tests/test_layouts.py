"""LPR3 / LPR2 / SAS extracts through ``prepare --format``: stays and flags worked out by hand.

Every rule of :mod:`nsv_eval.clean.stays` and :mod:`nsv_eval.ingest.layouts` has its own
person in the hand-made extracts below, and the expected stays are written out literally
(computed by hand from the contact times, not by the code under test).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.clean.prepare import discover_raw, prepare
from nsv_eval.clean.stays import build_stays
from nsv_eval.errors import InputError, NsvError
from nsv_eval.ingest import ingest
from nsv_eval.ingest.cpr import pseudonym
from nsv_eval.ingest.layouts import combine_datetime, layout_text

KEY = bytes(range(32))
DATA = Path(__file__).parent / "data" / "lpr"

# one person per rule; all born 1940 (aged 82-83 in 2023), kommune 326
CPR = {
    "er_ward": "0101401001",  # ER observation contact, ward contact 2 h later
    "gap_359": "0202401002",  # two contacts 3 h 59 m apart: one stay
    "gap_401": "0303401003",  # two contacts 4 h 01 m apart: two stays
    "h1159": "0404401004",  # a stay of 11 h 59 m: not an admission
    "h1200": "0505401005",  # a stay of 12 h 00 m: an admission
    "planned": "0606401006",  # ATA3 planlagt
    "transfer": "0707401007",  # back-to-back contacts at two hospitals
    "accident": "0808401008",  # ALCC02 ulykke on the ER contact, hip fracture
    "death": "0909401009",  # dies on the discharge day
    "bad": "1010401010",  # prioritet ATA9: quarantined
}


def pid(name: str) -> str:
    return pseudonym(CPR[name], KEY)


def _persons(raw: Path, col: str = "CPR") -> None:
    rows = []
    for name, cpr in CPR.items():
        death = "05-06-2023" if name == "death" else ""
        rows.append(f"{cpr};326;{death}")
    (raw / "persons.csv").write_text(
        f"{col};kommune_code;death_date\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )


# DW_EK_KONTAKT;CPR;dato_start;tidspunkt_start;dato_slut;tidspunkt_slut;kontakttype;
# prioritet;aktionsdiagnose;kontaktaarsag;SORENHED_ANS;hovedspeciale_ans;DW_EK_FORLOEB
KONTAKTER = [
    # ER observation (4 h) then the ward 2 h later: one stay, diagnosis from the ward
    ("101", "er_ward", "2023-03-01", "10:00", "2023-03-01", "14:00", "ALCA00", "ATA1",
     "DZ039", "ALCC01", "S1", "akut medicin", "F1"),
    ("102", "er_ward", "01MAR2023", "16:00:00", "04MAR2023", "11:00:00", "ALCA00", "ATA1",
     "DJ189", "ALCC01", "S1", "intern medicin", "F1"),
    # a virtual contact is no physical attendance
    ("103", "er_ward", "20230310", "09:00", "20230310", "09:15", "ALCA03", "ATA3",
     "DJ189", "ALCC01", "S1", "intern medicin", "F1"),
    ("201", "gap_359", "01-04-2023", "08:00", "01-04-2023", "10:00", "ALCA00", "ATA3",
     "DM179", "ALCC01", "S2", "ortopaedisk kirurgi", "F2"),
    ("202", "gap_359", "01-04-2023", "13:59", "01-04-2023", "17:00", "ALCA00", "ATA3",
     "DM179", "ALCC01", "S2", "ortopaedisk kirurgi", "F2"),
    ("301", "gap_401", "2023-04-01", "08:00", "2023-04-01", "10:00", "ALCA00", "ATA1",
     "DR074", "ALCC01", "S2", "intern medicin", "F3"),
    ("302", "gap_401", "2023-04-01", "14:01", "2023-04-01", "23:00", "ALCA00", "ATA1",
     "DR074", "ALCC01", "S2", "intern medicin", "F3"),
    ("401", "h1159", "2023-05-01", "08:00", "2023-05-01", "19:59", "ALCA00", "ATA1",
     "DI219", "ALCC01", "S1", "intern medicin", "F4"),
    ("501", "h1200", "2023-05-01", "08:00", "2023-05-01", "20:00", "ALCA00", "ATA1",
     "DN390", "ALCC01", "S1", "intern medicin", "F5"),
    ("601", "planned", "2023-06-01", "09:00", "2023-06-03", "12:00", "ALCA00", "ATA3",
     "DK802", "ALCC01", "S3", "kirurgi", "F6"),
    ("701", "transfer", "2023-07-01", "10:00", "2023-07-05", "12:00", "ALCA00", "ATA1",
     "DI214", "ALCC01", "S1", "kardiologi", "F7"),
    ("702", "transfer", "2023-07-05", "12:00", "2023-07-10", "10:00", "ALCA00", "ATA1",
     "DI214", "ALCC01", "S4", "kardiologi", "F7"),
    ("801", "accident", "2023-06-20", "18:00", "2023-06-20", "21:00", "ALCA00", "ATA1",
     "DS720", "ALCC02", "S1", "akut medicin", "F8"),
    ("802", "accident", "2023-06-20", "21:30", "2023-06-25", "10:00", "ALCA00", "ATA1",
     "DS720", "ALCC01", "S1", "ortopaedisk kirurgi", "F8"),
    ("901", "death", "2023-06-01", "10:00", "2023-06-05", "14:00", "ALCA00", "ATA1",
     "DJ189", "ALCC01", "S1", "intern medicin", "F9"),
    ("1001", "bad", "2023-06-01", "10:00", "2023-06-05", "14:00", "ALCA00", "ATA9",
     "DJ189", "ALCC01", "S1", "intern medicin", "F10"),
    # its only action diagnosis was later disproved: quarantined, not silently kept
    ("1002", "bad", "2023-08-01", "10:00", "2023-08-05", "14:00", "ALCA00", "ATA1",
     "DC509", "ALCC01", "S1", "onkologi", "F11"),
]  # fmt: skip

# DW_EK_KONTAKT;diagnosekode;diagnosetype;senere_afkraeftet
DIAGNOSER = [
    ("101", "DZ039", "A", "Nej"),
    ("102", "DJ189", "A", "Nej"),
    ("102", "DE119", "B", "Nej"),
    ("103", "DJ189", "A", "Nej"),
    ("201", "DM179", "A", "Nej"),
    ("202", "DM179", "A", "Nej"),
    ("301", "DR074", "A", "Nej"),
    ("302", "DR074", "A", "Nej"),
    # a later disproved action diagnosis is left out, the confirmed one is used
    ("401", "DI219", "A", "Ja"),
    ("401", "DR074", "A", "Nej"),
    ("501", "DN390", "A", "Nej"),
    ("601", "DK802", "A", "Nej"),
    ("701", "DI214", "A", "Nej"),
    ("702", "DI214", "A", "Nej"),
    ("801", "DS720", "A", "Nej"),
    ("802", "DS720", "A", "Nej"),
    ("901", "DJ189", "A", "Nej"),
    ("1001", "DJ189", "A", "Nej"),
    ("1002", "DC509", "A", "Ja"),
]


def _lpr3(raw: Path, person_col: str = "CPR", persons: dict[str, str] | None = None) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    persons = persons or CPR
    head = (
        f"DW_EK_KONTAKT;{person_col};dato_start;tidspunkt_start;dato_slut;tidspunkt_slut;"
        "kontakttype;prioritet;aktionsdiagnose;kontaktaarsag;SORENHED_ANS;hovedspeciale_ans;"
        "DW_EK_FORLOEB"
    )
    lines = [head] + [";".join([r[0], persons[r[1]], *r[2:]]) for r in KONTAKTER]
    (raw / "kontakter.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    d = ["DW_EK_KONTAKT;diagnosekode;diagnosetype;senere_afkraeftet"]
    d += [";".join(r) for r in DIAGNOSER]
    (raw / "diagnoser.csv").write_text("\n".join(d) + "\n", encoding="utf-8")


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


# the stays worked out by hand from KONTAKTER
EXPECTED_LPR3 = pd.DataFrame(
    [
        # person, start, end, hours, admission, acute, diagnosis, cause, n, hospital
        ("er_ward", "2023-03-01 10:00", "2023-03-04 11:00", 73.0, True, True, "DJ189",
         "ALCC01", 2, "S1"),
        ("gap_359", "2023-04-01 08:00", "2023-04-01 17:00", 9.0, False, False, "DM179",
         "ALCC01", 2, "S2"),
        ("gap_401", "2023-04-01 08:00", "2023-04-01 10:00", 2.0, False, True, "DR074",
         "ALCC01", 1, "S2"),
        ("gap_401", "2023-04-01 14:01", "2023-04-01 23:00", 8 + 59 / 60, False, True,
         "DR074", "ALCC01", 1, "S2"),
        ("h1159", "2023-05-01 08:00", "2023-05-01 19:59", 11 + 59 / 60, False, True, "DR074",
         "ALCC01", 1, "S1"),
        ("h1200", "2023-05-01 08:00", "2023-05-01 20:00", 12.0, True, True, "DN390", "ALCC01",
         1, "S1"),
        ("planned", "2023-06-01 09:00", "2023-06-03 12:00", 51.0, True, False, "DK802",
         "ALCC01", 1, "S3"),
        ("transfer", "2023-07-01 10:00", "2023-07-10 10:00", 216.0, True, True, "DI214",
         "ALCC01", 2, "S1"),
        ("accident", "2023-06-20 18:00", "2023-06-25 10:00", 112.0, True, True, "DS720",
         "ALCC02", 2, "S1"),
        ("death", "2023-06-01 10:00", "2023-06-05 14:00", 100.0, True, True, "DJ189",
         "ALCC01", 1, "S1"),
    ],
    columns=["who", "start", "end", "hours", "admission", "acute", "action_diagnosis",
             "kontaktaarsag", "n_contacts", "hospital"],
)  # fmt: skip


def _check_stays(stays: pd.DataFrame, expected: pd.DataFrame, ids: dict[str, str]) -> None:
    exp = expected.assign(person_id=expected["who"].map(ids)).drop(columns="who")
    exp["start"] = pd.to_datetime(exp["start"])
    exp["end"] = pd.to_datetime(exp["end"])
    got = stays[list(exp.columns)].copy()
    key = ["person_id", "start"]
    got = got.sort_values(key).reset_index(drop=True)
    exp = exp.sort_values(key).reset_index(drop=True)
    assert got["person_id"].tolist() == exp["person_id"].tolist()
    for c in exp.columns:
        if c == "hours":
            np.testing.assert_allclose(got[c].to_numpy(float), exp[c].to_numpy(float))
        elif c in ("start", "end"):
            assert (got[c].to_numpy("datetime64[s]") == exp[c].to_numpy("datetime64[s]")).all(), c
        else:
            assert got[c].tolist() == exp[c].tolist(), c


def test_combine_datetime_variants() -> None:
    d = pd.Series(["2023-03-01", "01MAR2023", "20230301", "01-03-2023", "1.3.2023", None, "x"])
    t = pd.Series(["14:05", "14:05:09", "1405", 50700.0, "14.05", "10:00", "10:00"])
    out = combine_datetime(d, t).tolist()
    assert out[:4] == [
        "2023-03-01 14:05:00", "2023-03-01 14:05:09", "2023-03-01 14:05:00",
        "2023-03-01 14:05:00",
    ]  # fmt: skip
    assert out[4] == "2023-03-01 14:05:00"
    assert out[5] is None and out[6] == "x"  # missing stays missing, junk stays visible
    # LPR2: hour + minute columns; a SAS date value without its format (days since 1960)
    d2 = pd.Series([23070.0, 23070.0])
    out2 = combine_datetime(
        d2, pd.Series([14.0, np.nan]), pd.Series([30.0, np.nan]), numeric_unit="hours"
    )
    # all readable: typed timestamps (validation takes them as they are)
    assert out2.tolist() == [ts("2023-03-01 14:30:00"), ts("2023-03-01 00:00:00")]
    typed = combine_datetime(pd.Series(["01MAR2023", None]), pd.Series(["14:05", None]))
    assert typed.iloc[0] == ts("2023-03-01 14:05") and pd.isna(typed.iloc[1])
    bad = combine_datetime(pd.Series(["2023-03-01"]), pd.Series(["25:00"]))
    assert bad.tolist() == ["2023-03-01 25:00"]  # rejected by validation, value visible


def test_lpr3_extract_prepares_into_hand_made_stays(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _lpr3(raw)
    _persons(raw)
    assert [p.name for p in discover_raw(raw, "lpr3")["admissions"]] == [
        "kontakter.csv", "diagnoser.csv",
    ]  # fmt: skip
    out = tmp_path / "prepared"
    # two of its 17 rows are bad on purpose (an ATA9 priority, a disproved action diagnosis):
    # above the default 5 % reject threshold, which is not what this test is about
    m = prepare(
        raw,
        out,
        key=KEY,
        layout="lpr3",
        log=None,
        period=("2023-01-01", "2023-12-31"),
        max_reject_share=None,
    )
    assert m["layout"] == "lpr3"
    assert "care" in m["missing_kinds"] and "admissions" not in m["missing_kinds"]
    ids = {k: pid(k) for k in CPR}
    stays = pd.read_parquet(out / "stays.parquet")
    _check_stays(stays, EXPECTED_LPR3, ids)
    assert stays["somatic"].all()
    assert stays["stay_id"].tolist() == list(range(1, len(stays) + 1))

    # the ATA9 contact is quarantined with the kontakter file's line number (header = 1)
    rej = pd.read_csv(out / "rejects-admissions.csv", sep=None, engine="python")
    rej = rej.sort_values("row").reset_index(drop=True)
    assert rej["reason"].tolist() == ["unknown_category", "missing_value"]
    assert rej["column"].tolist() == ["acute", "diagnosis"]
    line = {k: 1 + [r[0] for r in KONTAKTER].index(k) + 1 for k in ("1001", "1002")}
    assert rej["row"].astype(int).tolist() == [line["1001"], line["1002"]]
    assert rej["file"].astype(str).str.endswith("kontakter.csv").all()
    recon = json.loads((out / "reconciliation.json").read_text())["admissions"]
    (rep,) = recon.values()
    assert (rep["read"], rep["kept"], rep["rejected"]) == (len(KONTAKTER), len(KONTAKTER) - 2, 2)

    contacts = pd.read_parquet(out / "contacts.parquet").set_index("contact_id")
    # diagnoser wins; the disproved DI219 of contact 401 is left out
    assert contacts.loc[401, "diagnosis"] == "DR074"
    assert contacts.loc[103, "contact_type"] == "virtual"
    assert contacts.loc[801, "contact_cause"] == "ALCC02"
    assert contacts.loc[101, "episode_id"] == "F1"

    # courses under the official definitions: the admission stays (>= 12 h)
    courses = pd.read_parquet(out / "courses.parquet").set_index("person_id")
    assert set(courses.index) == {
        ids[k] for k in ("er_ward", "h1200", "planned", "transfer", "accident", "death")
    }
    assert courses.loc[ids["er_ward"], "diagnosis"] == "DJ189"  # not the ER's DZ039
    # index discharge: acute medical 65+ alive; the death on the discharge day is not one
    assert bool(courses.loc[ids["er_ward"], "readmit_index"])
    assert bool(courses.loc[ids["transfer"], "readmit_index"])
    assert not bool(courses.loc[ids["death"], "readmit_index"])
    assert bool(courses.loc[ids["death"], "died_in_hospital"])
    # official readmission (the default): a planned admission may be an index (legacy: not)
    assert bool(courses.loc[ids["planned"], "readmit_index"])
    assert m["definitions"]["unit"] == "stays"
    assert int(courses.loc[ids["transfer"], "n_contacts"]) == 2


def test_pseudonymised_key_kept_as_is(tmp_path: Path) -> None:
    """Research-server PNR: kept, never validated as CPR, never hashed again."""
    raw = tmp_path / "raw"
    # pseudonyms shaped like CPR numbers but with impossible dates (as on DST's servers)
    pseudo = {k: f"99{i:02d}99{i:04d}" for i, k in enumerate(CPR)}
    _lpr3(raw, person_col="PNR", persons=pseudo)
    rows = "\n".join(f"{p};326;1940-01-01;M" for p in pseudo.values())
    (raw / "persons.csv").write_text(f"PNR;kommune_code;birth_date;sex\n{rows}\n")
    out = tmp_path / "prepared"
    # without the declaration the PNR column is read as CPR numbers and rejected
    with pytest.raises(NsvError, match="no rows"):
        prepare(raw, out, key=KEY, layout="lpr3", log=None, max_reject_share=None)
    rej = pd.read_csv(out / "rejects-admissions.csv", sep=None, engine="python")
    assert set(rej["reason"]) == {"invalid_cpr"} and len(rej) == len(KONTAKTER)
    prepare(
        raw, out, key=KEY, layout="lpr3", pseudonymised_key="PNR", log=None, max_reject_share=None
    )
    stays = pd.read_parquet(out / "stays.parquet")
    _check_stays(stays, EXPECTED_LPR3, pseudo)
    persons = pd.read_parquet(out / "persons.parquet")
    assert sorted(persons["person_id"]) == sorted(pseudo.values())

    # a real CPR column next to the declaration is still validated and pseudonymised
    (raw / "persons.csv").write_text(
        "CPR;kommune_code\n" + "\n".join(f"{c};326" for c in CPR.values()) + "\n"
    )
    res = ingest("persons", [raw / "persons.csv"], tmp_path / "p2", key=KEY,
                 pseudonymised_key="PNR", log=None)  # fmt: skip
    got = pd.read_parquet(res.table_path)
    assert sorted(got["person_id"]) == sorted(pid(k) for k in CPR)
    assert res.files[0].pseudonymised == len(CPR)


# --- LPR2 ----------------------------------------------------------------------------------

# RECNUM;PNR;D_INDDTO;V_INDTIME;V_INDMINUT;D_UDDTO;V_UDTIME;C_PATTYPE;C_INDM;C_ADIAG;
# C_KONTAARS;C_SPEC;C_SGH
LPR_ADM = [
    # ER (skadestue) 2 h, then in-patient 2 h later: one stay, diagnosis from the ward
    ("1", "er_ward", "01MAR2012", "10", "15", "01MAR2012", "12", "2", "1", "DZ034", "1",
     "01", "1301"),
    ("2", "er_ward", "01MAR2012", "14", "15", "05MAR2012", "9", "0", "1", "", "1", "08",
     "1301"),
    # out-patient course Jan-Jun: not an attendance, not in any stay
    ("3", "er_ward", "10JAN2012", "", "", "20JUN2012", "", "1", "2", "DE119", "1", "08",
     "1301"),
    # in-patient for 6 h: an LPR2 admission (course) but a stay shorter than 12 h
    ("4", "h1159", "02APR2012", "8", "0", "02APR2012", "14", "0", "1", "DN390", "1", "08",
     "1301"),
    # accident in the ER, discharged the same day without a time (= the admission time)
    ("5", "accident", "03MAY2012", "22", "30", "03MAY2012", "", "2", "1", "DS525", "2",
     "01", "1301"),
]  # fmt: skip
LPR_DIAG = [
    ("1", "DZ034", "A"),
    ("2", "DJ189", "A"),
    ("2", "DI109", "B"),
    ("3", "DE119", "A"),
    ("4", "DN390", "A"),
    ("5", "DS525", "A"),
]
EXPECTED_LPR2 = pd.DataFrame(
    [
        ("er_ward", "2012-03-01 10:15", "2012-03-05 09:00", 94.75, True, True, "DJ189",
         "ALCC01", 2, "1301"),
        ("h1159", "2012-04-02 08:00", "2012-04-02 14:00", 6.0, False, True, "DN390", "ALCC01",
         1, "1301"),
        ("accident", "2012-05-03 22:30", "2012-05-03 22:30", 0.0, False, True, "DS525",
         "ALCC02", 1, "1301"),
    ],
    columns=EXPECTED_LPR3.columns,
)  # fmt: skip


def _lpr2_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = ["RECNUM", "PNR", "D_INDDTO", "V_INDTIME", "V_INDMINUT", "D_UDDTO", "V_UDTIME",
            "C_PATTYPE", "C_INDM", "C_ADIAG", "C_KONTAARS", "C_SPEC", "C_SGH"]  # fmt: skip
    adm = pd.DataFrame([(r[0], CPR[r[1]], *r[2:]) for r in LPR_ADM], columns=cols)
    diag = pd.DataFrame(LPR_DIAG, columns=["RECNUM", "C_DIAG", "C_DIAGTYPE"])
    return adm, diag


def _check_lpr2(out: Path) -> None:
    ids = {k: pid(k) for k in CPR}
    stays = pd.read_parquet(out / "stays.parquet")
    _check_stays(stays, EXPECTED_LPR2, ids)
    contacts = pd.read_parquet(out / "contacts.parquet").set_index("contact_id")
    assert contacts.loc[2, "diagnosis"] == "DJ189"  # from LPR_DIAG (C_ADIAG empty)
    assert contacts.loc[3, "contact_type"] == "outpatient"
    assert contacts.loc[5, "contact_cause"] == "ALCC02"
    courses = pd.read_parquet(out / "courses.parquet")
    # LPR2 admissions: courses with an in-patient contact (the ER-only accident is none)
    assert sorted(courses["person_id"]) == sorted([ids["er_ward"], ids["h1159"]])


def test_lpr2_extract_prepares_into_hand_made_stays(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    adm, diag = _lpr2_frames()
    adm.to_csv(raw / "lpr_adm.csv", sep=";", index=False)
    diag.to_csv(raw / "lpr_diag.csv", sep=";", index=False)
    _persons(raw)
    prepare(
        raw, tmp_path / "prepared", key=KEY, layout="lpr2", log=None, definitions_choice="legacy"
    )
    _check_lpr2(tmp_path / "prepared")


def test_lpr2_sas_datasets(tmp_path: Path) -> None:
    """The same LPR2 extract as SAS datasets (``tests/data/lpr``, made by ``make_sas.py``)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for f in ("lpr_adm.sas7bdat", "lpr_diag.sas7bdat"):
        shutil.copy(DATA / f, raw / f)
    _persons(raw)
    sas = pd.read_sas(raw / "lpr_adm.sas7bdat", encoding="infer")
    assert "D_INDDTO" in sas.columns and "V_INDTIME" in sas.columns
    prepare(
        raw, tmp_path / "prepared", key=KEY, layout="lpr2", log=None, definitions_choice="legacy"
    )
    _check_lpr2(tmp_path / "prepared")


@pytest.mark.skipif(shutil.which("readstat") is None, reason="ReadStat's CLI not installed")
def test_shipped_sas_files_are_reproducible(tmp_path: Path) -> None:
    """``make_sas.py`` rebuilds the shipped SAS datasets with the same content."""
    subprocess.run(
        [sys.executable, str(DATA / "make_sas.py"), str(tmp_path)], check=True, capture_output=True
    )
    for f in ("lpr_adm.sas7bdat", "lpr_diag.sas7bdat"):
        a = pd.read_sas(DATA / f, encoding="infer")
        b = pd.read_sas(tmp_path / f, encoding="infer")
        pd.testing.assert_frame_equal(a, b)


def test_stays_of_tidy_contacts_and_layout_errors(tmp_path: Path) -> None:
    # a tidy extract (no contact_type): every contact is an attendance
    c = pd.DataFrame(
        {
            "contact_id": [1, 2, 3],
            "person_id": ["a", "a", "b"],
            "admit_time": pd.to_datetime(
                ["2020-01-01 08:00", "2020-01-01 12:00", "2020-01-01 08:00"]
            ),  # fmt: skip
            "discharge_time": pd.to_datetime(
                ["2020-01-01 08:00", "2020-01-02 08:00", "2020-01-01 09:00"]
            ),  # fmt: skip
            "acute": [True, False, True],
            "diagnosis": ["DZ038", "DJ440", "DF329"],
            "specialty": [None, None, "psykiatri"],
        }
    )
    s = build_stays(c)
    assert s["n_contacts"].tolist() == [2, 1]  # a gap of exactly 4 h chains
    assert s["action_diagnosis"].tolist() == ["DJ440", "DF329"]
    assert s["somatic"].tolist() == [True, False]
    assert s["acute"].tolist() == [True, True]
    raw = tmp_path / "r"
    raw.mkdir()
    (raw / "kontakter.csv").write_text("a;b\n1;2\n")
    with pytest.raises(InputError, match="not a lpr3 contacts table"):
        ingest("admissions", [raw / "kontakter.csv"], tmp_path / "o", layout="lpr3", log=None)
    assert "ATA1 akut" in layout_text("lpr3") and "C_PATTYPE" in layout_text("lpr2")


def test_tidy_layout_accepts_lpr3_priority(tmp_path: Path) -> None:
    """ATA1/ATA3 in a tidy extract's ``prioritet`` column were rejected row by row."""
    f = tmp_path / "contacts.csv"
    f.write_text(
        "contact_id;person_id;admit_time;discharge_time;prioritet;diagnosis\n"
        "1;p1;01-03-2023 10:00;02-03-2023 10:00;ATA1;DJ189\n"
        "2;p1;01-05-2023 10:00;02-05-2023 10:00;ATA3;DK802\n",
        encoding="utf-8",
    )
    res = ingest("admissions", [f], tmp_path / "out", log=None)
    assert res.rejected == 0
    assert pd.read_parquet(res.table_path)["acute"].tolist() == [True, False]


def test_cli_format_options(tmp_path: Path, monkeypatch, capsys) -> None:
    from nsv_eval.cli import main

    monkeypatch.setenv("NSV_PSEUDO_KEY", KEY.hex())
    raw = tmp_path / "raw"
    _lpr3(raw)
    _persons(raw)
    out = tmp_path / "ingested"
    args = ["ingest", "admissions", str(raw / "kontakter.csv"), str(raw / "diagnoser.csv")]
    # 2 of 17 rows are bad on purpose: over the default 5 % threshold (exit 1, all written)
    assert main([*args, "--out", str(out), "--format", "lpr3"]) == 1
    assert len(pd.read_parquet(out / "contacts.parquet")) == len(KONTAKTER) - 2
    out2 = tmp_path / "ingested2"
    assert main([*args, "--out", str(out2), "--format", "lpr3", "--max-reject-share", "0.2"]) == 0
    prep = tmp_path / "prepared"
    code = main(
        ["prepare", "--raw", str(raw), "--out", str(prep), "--format", "lpr3", "--quiet"]
        + ["--max-reject-share", "0.2"]
    )
    assert code == 0 and (prep / "stays.parquet").exists()
    assert main(["schema", "--format", "lpr2"]) == 0
    assert "C_PATTYPE" in capsys.readouterr().out


def test_sas_dataset_written_by_sas(tmp_path: Path) -> None:
    """A SAS-written dataset with DATE/DATETIME/TIME formats (pyreadstat's test file,
    ``tests/data/sas/README.md``) is read by the layout reader and its date and time columns
    combine to the values of the same data exported as text by its authors."""
    from nsv_eval.ingest.readers import open_reader

    sas = Path(__file__).parent / "data" / "sas"
    r = open_reader(sas / "sample.sas7bdat", "sample.sas7bdat", set(), 1000)
    assert r.info.header == ["mychar", "mynum", "mydate", "dtime", "mylabl", "myord", "mytime"]
    (batch,) = list(r.batches())
    combined = combine_datetime(batch.frame[2], batch.frame[6])
    text = pd.read_csv(sas / "sample.csv", encoding="utf-8-sig", keep_default_na=False)
    expected = [
        f"{d} {t.split('.')[0].zfill(8)}" if d else None
        for d, t in zip(text["mydate"], text["mytime"], strict=True)
    ]
    got = [None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S")
           for v in combined]  # fmt: skip
    assert got == expected
    assert batch.rows.tolist() == [0, 1, 2, 3, 4]


def test_declared_pseudonym_holding_real_cpr_numbers_is_refused(tmp_path: Path) -> None:
    """``--pseudonymised-key CPR`` on real CPR numbers would write them unhashed: refused."""
    raw = tmp_path / "raw"
    _lpr3(raw)
    with pytest.raises(InputError, match="declared already pseudonymised") as ei:
        ingest("admissions", [raw / "kontakter.csv", raw / "diagnoser.csv"], tmp_path / "o",
               layout="lpr3", key=KEY, pseudonymised_key="CPR", log=None)  # fmt: skip
    assert not any(c in str(ei.value) for c in CPR.values())
    assert not (tmp_path / "o" / "contacts.parquet").exists()
