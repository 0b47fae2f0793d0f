"""Typed Parquet validated in DuckDB (nsv_eval.ingest.typed) gives what the Python path gives.

The check is against the row-by-row Python validation itself (the fast path disabled): the
same clean table (byte for byte), the same quarantine file and the same reconciliation, on
files with a planted problem of every kind next to clean rows, and the fast path must have
kept the clean rows itself (otherwise the test would compare the Python path with itself).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import nsv_eval.ingest.core as core
from nsv_eval.ingest import ingest
from nsv_eval.ingest import typed as T

KEY = b"typed-test-key-0123456789abcdef!"
EXTRACT = dt.date(2024, 12, 31)


def _persons(path: Path) -> None:
    ids = [f"p{i:05d}x" for i in range(40)]
    ids[3] = "010150-1235"  # a CPR number: pseudonymised by the Python path
    ids[4] = " p00004x "  # padded: stripped
    ids[5] = "NA"  # a missing token
    ids[6] = "pt 0101501235"  # a CPR number inside an id
    ids[7] = "p00000x"  # key conflict with row 0 (other values differ below)
    ids[18] = "0101501235ab"  # a hex pseudonym with a CPR-shaped digit run: kept by both
    ids[19] = "0101501235AB"  # not a (lower-case) hex token: a CPR number inside an id
    kommune = [101] * 40
    kommune[8] = 999  # unknown kommune
    birth = [dt.date(1950, 1, 1) + dt.timedelta(days=97 * i) for i in range(40)]
    birth[9] = dt.date(1850, 1, 1)  # before the column's lower limit
    birth[10] = dt.date(2030, 1, 1)  # future date
    sex = ["M", "F"] * 20
    sex[11] = "m"  # parses to M: the Python path keeps it as M
    sex[12] = "x"  # unknown
    edu = ["grundskole", "kort", "mellemlang", "lang", None] * 8
    edu[13] = "Lang videregående uddannelse"  # a DST label: lang
    inc = [1, 2, 3, 4, 5, None, 2, 3] * 5
    inc[14] = 7  # out of range
    inc[15] = 123456789  # 9 digits: checked for a CPR number
    alone = [True, False, False, True] * 10
    death = [None] * 40
    death[16] = dt.date(1940, 1, 1)  # before birth
    death[17] = dt.date(2020, 5, 5)
    t = pa.table(
        {
            "person_id": pa.array(ids, pa.string()),
            "kommune_code": pa.array(kommune, pa.int64()),
            "birth_date": pa.array(birth, pa.date32()),
            "sex": pa.array(sex, pa.string()),
            "education": pa.array(edu, pa.string()),
            "income_quintile": pa.array(inc, pa.int64()),
            "living_alone": pa.array(alone, pa.bool_()),
            "death_date": pa.array(death, pa.date32()),
        }
    )
    t = pa.concat_tables([t, t.slice(20, 2)])  # two exact duplicates
    pq.write_table(t, path, row_group_size=16)


def _contacts(path: Path) -> None:
    n = 30
    base = dt.datetime(2015, 3, 1, 8, 0, 0)
    admit = [base + dt.timedelta(days=3 * i, hours=i) for i in range(n)]
    dis = [a + dt.timedelta(hours=30) for a in admit]
    dis[2] = admit[2] - dt.timedelta(hours=1)  # discharge before admission
    admit[3] = admit[3] + dt.timedelta(microseconds=500_000)  # sub-second part
    admit[4] = dt.datetime(2031, 1, 1)  # future
    dis[4] = dt.datetime(2031, 1, 2)
    diag = ["DJ189", "DI500", "DS720"] * 10
    diag[5] = "J18.9"  # parses to DJ189
    diag[6] = "XYZ"  # invalid
    hosp = ["4002", None, "Rigshospitalet (RH)"] * 10
    hosp[7] = "overflyttet pt 0101501235"  # CPR number in text
    hosp[8] = " 4002"  # padded
    hosp[12] = "deadbeef0101501235"  # one hex token: kept by both
    cause = ["ALCC01", "ALCC02", None] * 10
    cause[9] = "ulykke"  # parses to ALCC02
    ids = [f"p{i % 12:05d}x" for i in range(n)]
    cid = list(range(1, n + 1))
    cid[10] = None  # numbered by ingest
    cid[11] = 1  # key conflict with row 0
    t = pa.table(
        {
            "contact_id": pa.array(cid, pa.int64()),
            "person_id": pa.array(ids, pa.string()),
            "admit_time": pa.array(admit, pa.timestamp("us")),
            "discharge_time": pa.array(dis, pa.timestamp("ms")),
            "acute": pa.array([True, False, True] * 10, pa.bool_()),
            "diagnosis": pa.array(diag, pa.string()),
            "hospital": pa.array(hosp, pa.string()),
            "contact_cause": pa.array(cause, pa.string()),
        }
    )
    pq.write_table(t, path, row_group_size=8)


@pytest.mark.parametrize("batch_rows", [500_000, 7])
@pytest.mark.parametrize(("kind", "make"), [("persons", _persons), ("admissions", _contacts)])
def test_typed_fast_path_equals_python_path(
    tmp_path: Path, monkeypatch, typed_splits, kind, make, batch_rows
) -> None:
    src = tmp_path / f"{kind}.parquet"
    make(src)
    splits = typed_splits  # every split_typed result of this test
    opts = {"key": KEY, "log": None, "extract_date": EXTRACT, "batch_rows": batch_rows}
    fast = ingest(kind, src, tmp_path / "fast", **opts)
    assert splits and splits[0] is not None
    assert 0 < splits[0].n_clean < splits[0].n_rows  # both paths were used
    monkeypatch.setattr(core, "split_typed", lambda *a, **k: None)
    ingest(kind, src, tmp_path / "slow", **opts)

    assert fast.rejected > 0 and fast.kept > 0
    for name in (fast.table_path.name, fast.rejects_path.name):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "slow" / name).read_bytes()
    rf = json.loads((tmp_path / "fast" / "reconciliation.json").read_text())
    rs = json.loads((tmp_path / "slow" / "reconciliation.json").read_text())
    for r in (rf, rs):  # the file label is the path, which differs by folder only here
        for files in r.values():
            for rep in files.values():
                assert rep["read"] == rep["kept"] + rep["rejected"] + rep["merged_duplicates"]
    assert rf == rs


def test_hex_pseudonyms_are_not_suspect(tmp_path: Path, typed_splits) -> None:
    """Person ids that are lower-case hex tokens (pseudonyms) with a CPR-shaped run of
    digits are proved clean in DuckDB (about 0.8 % of 12-character pseudonyms have a run of
    10 digits; at national scale they were 131,000 rows validated in Python for nothing),
    and they are kept, as the Python path keeps them (find_cpr skips hex tokens)."""
    ids = ["0028000554f3", "0101501235ab", "a0101501235b", "0123456789abcdef", "p1x"]
    t = pa.table(
        {
            "person_id": pa.array(ids, pa.string()),
            "kommune_code": pa.array([101] * 5, pa.int64()),
            "birth_date": pa.array([dt.date(1950, 1, 1)] * 5, pa.date32()),
            "sex": pa.array(["M"] * 5, pa.string()),
        }
    )
    src = tmp_path / "persons.parquet"
    pq.write_table(t, src)
    res = ingest("persons", src, tmp_path / "out", key=KEY, log=None, extract_date=EXTRACT)
    assert typed_splits[0] is not None and len(typed_splits[0].suspect) == 0
    assert res.kept == 5 and res.rejected == 0
    kept = pq.read_table(res.table_path).column("person_id").to_pylist()
    assert sorted(kept) == sorted(ids)


@pytest.mark.parametrize("batch_rows", [500_000, 7_000])
def test_clean_typed_file_is_written_in_file_order_without_a_sort(
    tmp_path: Path, monkeypatch, typed_splits, batch_rows
) -> None:
    """A typed file proved clean as a whole is written in its scan order (no sort): on a
    file of many row groups, read by two DuckDB threads, the table is byte for byte the
    Python path's (which sorts by file row)."""
    n = 260_000  # more than two of DuckDB's sorted batches (122,880 rows)
    base = dt.datetime(2015, 3, 1, 8, 0, 0)
    admit = [base + dt.timedelta(minutes=17 * i) for i in range(n)]
    t = pa.table(
        {
            "contact_id": pa.array(range(n, 0, -1), pa.int64()),  # descending: not the order
            "person_id": pa.array([f"{(i * 7919) % 5003:012x}" for i in range(n)], pa.string()),
            "admit_time": pa.array(admit, pa.timestamp("s")),
            "discharge_time": pa.array(
                [a + dt.timedelta(hours=5) for a in admit], pa.timestamp("s")
            ),
            "acute": pa.array([i % 3 == 0 for i in range(n)], pa.bool_()),
            "diagnosis": pa.array([("DJ189", "DI500", "DS720")[i % 3] for i in range(n)]),
        }
    )
    src = tmp_path / "contacts.parquet"
    pq.write_table(t, src, row_group_size=9_999)
    opts = {"key": KEY, "log": None, "extract_date": EXTRACT, "batch_rows": batch_rows}
    fast = ingest("admissions", src, tmp_path / "fast", **opts)
    assert typed_splits[0] is not None and len(typed_splits[0].suspect) == 0
    monkeypatch.setattr(core, "split_typed", lambda *a, **k: None)
    slow = ingest("admissions", src, tmp_path / "slow", **opts)
    assert fast.kept == slow.kept == n
    a, b = pq.read_table(fast.table_path), pq.read_table(slow.table_path)
    assert a.equals(b)
    assert fast.table_path.read_bytes() == slow.table_path.read_bytes()
    ids = pq.read_table(fast.table_path).column("contact_id").to_pylist()
    assert ids == list(range(n, 0, -1))


def test_typed_declines_untyped_columns(tmp_path: Path) -> None:
    """Text dates are not typed: the whole file takes the Python path."""
    p = tmp_path / "falls.parquet"
    pq.write_table(pa.table({"person_id": ["a1", "b2"], "fall_date": ["01-02-2020", "x"]}), p)
    from nsv_eval.ingest.schemas import get_schema

    got = T.split_typed(
        get_schema("falls"),
        p,
        {"person_id": "person_id", "fall_date": "fall_date"},
        0,
        tmp_path,
        EXTRACT,
    )
    assert got is None
