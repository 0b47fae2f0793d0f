"""A NULL in a yes/no column of a typed Parquet file (issue #15, follow-up).

Every kind whose schema has a yes/no (``bool``) column — persons ``living_alone``,
admissions ``acute``, survey ``srh_good``/``daily_smoker``/``lonely`` — gets a file whose
yes/no columns hold NULLs, once as a BOOLEAN Parquet column and once as a string column
(``"ja"``/``"nej"``/``"1"``/``"0"``/NULL and one unknown word). Before the fix both crashed
ingest ("internal error ... ArrowTypeError: Expected bytes, got a 'bool' object" and
"TypeError: Invalid value 'nan' for dtype 'bool'"), on the DuckDB fast path and on the
row-by-row path alike.

Checked against the CSV path (the same data written as CSV and read row by row), the
reference: the same clean table and the same rejects (every quarantine column but the file
name). The planted truth is pinned too: a NULL in a nullable yes/no column is kept as
missing; a NULL in ``acute`` (required) sends exactly that row to quarantine as
``missing_value`` in column ``acute``; an unknown word as ``unknown_category``. The DuckDB
fast path must have kept rows of the Parquet file itself where its predicates can prove
them clean (BOOLEAN columns; NULLs in a nullable text column), otherwise the Parquet run
would compare the row-by-row path with itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nsv_eval.ingest import ingest

KEY = b"typed-test-key-0123456789abcdef!"
EXTRACT = dt.date(2024, 12, 31)
N = 12
YESNO_BOOL = [True, None, False, True, False, None, True, False, True, True, False, None]
YESNO_TEXT = ["ja", "nej", "1", "0", None, "ja", "nej", "1", "måske", "0", None, "ja"]
# what the text parses to: None stays missing, "måske" is not a yes/no word
TEXT_PARSED = [True, False, True, False, None, True, False, True, "reject", False, None, True]
# only yes/no words and NULLs (every distinct value parses to True/False: before the fix
# pandas could not put the NULLs back into the parsed bool column)
YESNO_WORDS = [x if x != "måske" else "nej" for x in YESNO_TEXT]
WORDS_PARSED = [x if x != "reject" else False for x in TEXT_PARSED]
VALUES = {"bool": YESNO_BOOL, "text": YESNO_TEXT, "words": YESNO_WORDS}
PARSED = {"bool": YESNO_BOOL, "text": TEXT_PARSED, "words": WORDS_PARSED}


def _persons() -> tuple[pd.DataFrame, dict[str, pa.DataType]]:
    df = pd.DataFrame(
        {
            "person_id": [f"p{i:05d}x" for i in range(N)],
            "kommune_code": [101, 326] * (N // 2),
            "birth_date": [dt.date(1940, 1, 1) + dt.timedelta(days=401 * i) for i in range(N)],
            "sex": ["M", "F"] * (N // 2),
            "education": ["grundskole", "kort", "mellemlang", "lang"] * (N // 4),
            "income_quintile": [1, 2, 3, 4, 5, 1] * (N // 6),
        }
    )
    return df, {"birth_date": pa.date32(), "kommune_code": pa.int64()}


def _admissions() -> tuple[pd.DataFrame, dict[str, pa.DataType]]:
    admit = [dt.datetime(2015, 3, 1, 8) + dt.timedelta(days=3 * i, hours=i) for i in range(N)]
    df = pd.DataFrame(
        {
            "contact_id": list(range(1, N + 1)),
            "person_id": [f"p{i % 5:05d}x" for i in range(N)],
            "admit_time": admit,
            "discharge_time": [a + dt.timedelta(hours=30) for a in admit],
            "diagnosis": ["DJ189", "DI500", "DS720"] * (N // 3),
            "hospital": ["4002", "1301"] * (N // 2),
        }
    )
    return df, {"admit_time": pa.timestamp("ms"), "discharge_time": pa.timestamp("ms")}


def _survey() -> tuple[pd.DataFrame, dict[str, pa.DataType]]:
    df = pd.DataFrame(
        {
            "respondent_id": [f"r{i:04d}" for i in range(N)],
            "year": [2013, 2017] * (N // 2),
            "kommune_code": [101, 326, 851] * (N // 3),
            "sex": ["M", "F"] * (N // 2),
            "age": [25 + 4 * i for i in range(N)],
            "education": ["grundskole", "kort", "mellemlang", "lang"] * (N // 4),
            # not whole: a CSV shows 3.0 as written, a Parquet double in quarantine as 3
            "weight": [0.3 + i for i in range(N)],
        }
    )
    return df, {"year": pa.int64(), "kommune_code": pa.int64(), "age": pa.int64()}


KINDS = {
    "persons": (_persons, ("living_alone",)),
    "admissions": (_admissions, ("acute",)),
    "survey": (_survey, ("srh_good", "daily_smoker", "lonely")),
}


def _frame(kind: str, variant: str) -> tuple[pd.DataFrame, pa.Table]:
    make, yesno = KINDS[kind]
    df, types = make()
    values = VALUES[variant]
    arrays = {}
    for c in df.columns:
        if c in types:
            arrays[c] = pa.array(list(df[c]), types[c])
        else:
            arrays[c] = pa.array(list(df[c]))
    for k, col in enumerate(yesno):  # each column its own rotation of the values
        rotated = values[k:] + values[:k]
        arrays[col] = pa.array(rotated, pa.bool_() if variant == "bool" else pa.string())
        df[col] = pd.Series(rotated, dtype=object)
    return df, pa.table(arrays)


def _rejects(path: Path | None, csv: bool = False) -> pd.DataFrame:
    """The quarantine file without its file name; ``row`` as the 0-based data row (a CSV's
    rows are its line numbers, the header on line 1; a Parquet file's its 0-based rows)."""
    if path is None or not path.exists():
        return pd.DataFrame()
    df = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns="file")
    df["row"] = df["row"].astype(int) - (2 if csv else 0)
    return df


@pytest.mark.parametrize("variant", sorted(VALUES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_yes_no_null_in_typed_parquet_equals_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed_splits: list, kind: str, variant: str
) -> None:
    df, table = _frame(kind, variant)
    pq_path = tmp_path / f"{kind}.parquet"
    pq.write_table(table, pq_path, row_group_size=5)
    csv_path = tmp_path / f"{kind}.csv"
    df.to_csv(csv_path, index=False)

    splits = typed_splits  # every split_typed result of this test
    opts = {"key": KEY, "log": None, "extract_date": EXTRACT}
    typed = ingest(kind, pq_path, tmp_path / "typed", **opts)
    assert splits and splits[0] is not None  # the file qualified for the DuckDB fast path
    if variant == "bool" or kind == "persons":
        assert splits[0].n_clean > 0  # ... which kept rows itself
    # (a yes/no word is clean for the fast path only when it parses to itself, so rows
    # with "ja"/"nej" take the row-by-row path: all rows of admissions and survey here)
    ref = ingest(kind, csv_path, tmp_path / "csv", **opts)

    got = pd.read_parquet(typed.table_path)
    want = pd.read_parquet(ref.table_path)
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(
        _rejects(typed.rejects_path), _rejects(ref.rejects_path, csv=True)
    )
    assert (typed.kept, typed.rejected) == (ref.kept, ref.rejected)

    # the planted truth
    _, yesno = KINDS[kind]
    source = PARSED[variant]
    expected_rejects: list[tuple[int, str, str]] = []
    for k, col in enumerate(yesno):
        rotated = source[k:] + source[:k]
        for i, v in enumerate(rotated):
            if v == "reject":
                expected_rejects.append((i, col, "unknown_category"))
            elif v is None and col == "acute":  # required: quarantined, row-precise
                expected_rejects.append((i, col, "missing_value"))
    rej = _rejects(typed.rejects_path)
    pinned = sorted((int(r), c, why) for r, c, why in rej[["row", "column", "reason"]].values)
    assert pinned == sorted(expected_rejects)
    bad_rows = {i for i, _, _ in expected_rejects}
    kept = [i for i in range(N) if i not in bad_rows]
    assert typed.kept == len(kept)
    for k, col in enumerate(yesno):
        rotated = source[k:] + source[:k]
        want_col = [rotated[i] for i in kept]
        assert [None if pd.isna(x) else bool(x) for x in got[col]] == want_col, col


def test_missing_acute_message(tmp_path: Path) -> None:
    """The quarantine row of a NULL ``acute`` in a BOOLEAN Parquet column: its row, the
    column and the reason code, and the schema's wording of the reason."""
    from nsv_eval.ingest.schemas import REASONS

    _, table = _frame("admissions", "bool")
    path = tmp_path / "admissions.parquet"
    pq.write_table(table, path)
    res = ingest("admissions", path, tmp_path / "out", key=KEY, log=None, extract_date=EXTRACT)
    rej = pd.read_csv(res.rejects_path, dtype=str, keep_default_na=False)
    first = rej.iloc[0]
    # a Parquet file's rows are numbered from 0: YESNO_BOOL has NULLs at 1, 5 and 11
    assert (Path(first["file"]).name, first["row"], first["column"], first["reason"]) == (
        "admissions.parquet",
        "1",
        "acute",
        "missing_value",
    )
    assert REASONS["missing_value"] == "a required value is empty"
    assert list(rej["row"]) == ["1", "5", "11"] and set(rej["reason"]) == {"missing_value"}
