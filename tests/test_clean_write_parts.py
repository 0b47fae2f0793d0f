"""``_db.write_parquet_parts``: a table written in ordered parts (the next part computed on a
background thread while this one is written) is the same file as the table written by one
query, and a failing part leaves no file and a usable connection."""

from __future__ import annotations

import pyarrow as pa
import pytest

from nsv_eval.clean import _db

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("t", pa.timestamp("s")),
        ("ids", pa.list_(pa.int64())),
        ("label", pa.string()),
    ]
)


def _con():
    con = _db.connect()
    con.execute(
        """
        CREATE TEMP TABLE src AS
        SELECT CAST(i AS BIGINT) AS id,
               TIMESTAMP '2020-01-01' + to_seconds(i * 3607) AS t,
               [CAST(i AS BIGINT), CAST(i + 1 AS BIGINT)] AS ids,
               'x' || (i % 13) AS label
        FROM range(1, 1001) r(i)
        """
    )
    return con


@pytest.mark.parametrize("row_group", [7, 128, 5000])
def test_parts_equal_one_query_byte_for_byte(tmp_path, row_group: int) -> None:
    con = _con()
    try:
        # uneven parts, each in order, together the whole table in id order
        cuts = [0, 1, 150, 151, 600, 999, 1000]
        sqls = [
            f"SELECT * FROM src WHERE id > {a} AND id <= {b} ORDER BY id"
            for a, b in zip(cuts, cuts[1:], strict=False)
        ]
        one, parts = tmp_path / "one.parquet", tmp_path / "parts.parquet"
        # the reference: one query, streamed in batches of row_group rows
        n_one = _db.write_parquet(
            con, "SELECT * FROM src ORDER BY id", one, SCHEMA, batch_size=row_group
        )
        n_parts = _db.write_parquet_parts(con, sqls, parts, SCHEMA, row_group=row_group)
        assert n_one == n_parts == 1000
        import pyarrow.parquet as pq

        a, b = pq.read_table(one), pq.read_table(parts)
        assert a.equals(b)
        assert one.read_bytes() == parts.read_bytes()
        meta = pq.ParquetFile(parts).metadata
        rg = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert rg[0] == min(row_group, 1000) and sum(rg) == 1000
        # the connection's setting is restored
        assert not con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][
            0
        ]
    finally:
        con.close()


def test_failing_part_leaves_no_file_and_a_usable_connection(tmp_path) -> None:
    con = _con()
    try:
        sqls = [
            "SELECT * FROM src WHERE id <= 500 ORDER BY id",
            "SELECT * FROM no_such_table",
            "SELECT * FROM src WHERE id > 500 ORDER BY id",
        ]
        out = tmp_path / "x.parquet"
        with pytest.raises(Exception, match="no_such_table"):
            _db.write_parquet_parts(con, sqls, out, SCHEMA, row_group=64)
        assert not out.exists() and not out.with_name("x.parquet.tmp").exists()
        assert con.execute("SELECT count(*) FROM src").fetchall()[0][0] == 1000
        assert not con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][
            0
        ]
    finally:
        con.close()


@pytest.mark.parametrize(
    ("definitions", "fixture"), [("legacy", "prepared_legacy_dir"), (None, "prepared_dir")]
)
def test_prepare_in_many_parts_writes_the_same_files(
    synth_dir, tmp_path, monkeypatch, request, definitions, fixture
) -> None:
    """``prepare`` writes courses and stays in parts of whole persons
    (``prepare.PART_ROWS``); with parts of 2,000 rows (dozens of parts on the test world)
    every output is byte-identical to the session's preparation, written in one part."""
    import importlib

    prep_mod = importlib.import_module("nsv_eval.clean.prepare")
    one = request.getfixturevalue(fixture)
    monkeypatch.setattr(prep_mod, "PART_ROWS", 2_000)
    out = tmp_path / "parts"
    prep_mod.prepare(synth_dir, out, log=None, definitions_choice=definitions)
    import pyarrow.parquet as pq

    n_courses = pq.ParquetFile(out / "courses.parquet").metadata.num_rows
    assert n_courses > 10 * 2_000  # many parts
    for name in ("courses.parquet", "stays.parquet", "cube.parquet", "cohort_readmission.parquet"):
        assert (out / name).read_bytes() == (one / name).read_bytes(), name
