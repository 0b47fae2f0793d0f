"""Tests of ``nsv_eval.ingest``.

References used:

* the malformed-file corpus ``tests/corpus`` with hand-written expectations
  (``tests/corpus/expected.yaml``): counts, reason codes and source row numbers read off
  each file's content;
* python-stdnum's ``stdnum.dk.cpr`` for CPR validity and birth dates, and the standard
  library's ``hmac``/``hashlib`` for the pseudonym (independent recomputation);
* pandas ``drop_duplicates`` as an independent computation of exact-duplicate merging.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from stdnum.dk import cpr as stdnum_cpr

from nsv_eval.cli import main as cli_main
from nsv_eval.errors import InputError
from nsv_eval.ingest import KINDS, get_schema, ingest, schema_text
from nsv_eval.ingest.core import TooManyRejects
from nsv_eval.ingest.cpr import PSEUDONYM_LENGTH, mask_cpr, process_cpr, resolve_key
from nsv_eval.ingest.schemas import SCHEMAS
from nsv_eval.ingest.validate import parse_datetime, parse_number

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
KEY = bytes(range(32))  # in-test key; never a key file inside the repository
OTHER_KEY = bytes(range(1, 33))

# invented CPR numbers (valid dates and century digits), as in make_corpus.py
CPRS = ["010150-1235", "150372-2468", "240885-3071", "051210-4122", "311299-1118", "010101-4001"]


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not pick up a developer's real key from the environment."""
    monkeypatch.delenv("NSV_PSEUDO_KEY", raising=False)
    monkeypatch.delenv("NSV_PSEUDO_KEY_FILE", raising=False)


def _as_str(v: object) -> object:
    """Table values as written in expected.yaml: dates ISO, timestamps 'YYYY-MM-DD HH:MM:SS'."""
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return str(pd.Timestamp(v))
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


# ----------------------------------------------------------------------------------------
# the corpus
# ----------------------------------------------------------------------------------------


def test_corpus_is_complete() -> None:
    """Every corpus file has an expectation, and there are at least 40 extracts."""
    files = {p.name for p in CORPUS.iterdir() if p.suffix not in (".py", ".yaml")}
    assert files == set(EXPECTED), files ^ set(EXPECTED)
    assert len(files) >= 40


def _expected_value(v: object) -> object:
    """``pseudonym:DDMMYY-SSSS`` → the pseudonym recomputed independently with KEY."""
    if isinstance(v, str) and v.startswith("pseudonym:"):
        return _hmac_id(v.removeprefix("pseudonym:"), KEY)
    return v


def _ingest_corpus(name: str, out: Path, lines: list[str]) -> tuple[object, Exception | None]:
    """Ingest one corpus file as expected.yaml says; return the result and any exception."""
    exp = EXPECTED[name]
    kwargs: dict = {"key": KEY} if exp.get("key") else {}
    if "extract_date" in exp:
        kwargs["extract_date"] = exp["extract_date"]
    if "too_many_rejects" in exp:
        kwargs["max_reject_share"] = exp["too_many_rejects"]
    try:
        return ingest(exp["kind"], CORPUS / name, out, log=lines.append, **kwargs), None
    except TooManyRejects as exc:
        return exc.results[0], exc
    except InputError as exc:
        return None, exc


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str, tmp_path: Path) -> None:
    """Each corpus file gives its clear message, or its counts, reasons, rows and values."""
    exp = EXPECTED[name]
    lines: list[str] = []
    res, exc = _ingest_corpus(name, tmp_path, lines)
    if "error" in exp:
        assert isinstance(exc, InputError) and res is None
        assert exp["error"] in str(exc)
        assert mask_cpr(name) in str(exc)  # the message names the file
        assert not (tmp_path / "reconciliation.json").exists()  # nothing half-written
        return
    if "too_many_rejects" in exp:
        # over the threshold: an error naming the file and its top reason, after writing
        assert isinstance(exc, TooManyRejects), exc
        assert name in str(exc) and next(iter(exp["reasons"])) in str(exc)
    else:
        assert exc is None, exc
    assert len(res.files) == exp.get("reports", 1)
    c = exp["counts"]
    got = tuple(
        sum(getattr(r, a) for r in res.files)
        for a in ("read", "kept", "rejected", "merged_duplicates")
    )
    assert got == (c["read"], c["kept"], c["rejected"], c["merged"])
    assert all(r.read == r.kept + r.rejected + r.merged_duplicates for r in res.files)
    assert res.reasons == exp.get("reasons", {})
    (rep, *_) = res.files
    for attr in ("encoding", "delimiter", "header_row", "sheet", "ignored_columns"):
        if attr in exp:
            assert getattr(rep, attr) == exp[attr], attr
    for attr in ("pseudonymised", "replacement_cpr"):
        if attr in exp:
            assert sum(getattr(r, attr) for r in res.files) == exp[attr], attr
    # quarantine: one line per rejected row, with the expected row numbers
    rej = pd.read_csv(res.rejects_path, dtype=str, keep_default_na=False)
    assert len(rej) == res.rejected
    for code, rows in exp.get("rows", {}).items():
        assert sorted(int(r) for r in rej.loc[rej["reason"] == code, "row"]) == rows, code
    label = mask_cpr(str(CORPUS / name))
    assert set(rej["file"]) <= {r.file for r in res.files}
    assert all(r.file == label or r.file.startswith(label + " [") for r in res.files)
    # no cell a spreadsheet would run as a formula
    for col in rej.columns:
        risky = rej[col].str.match(r"^[=+\-@\t\r]") & ~rej[col].str.fullmatch(
            r"[+-]?[0-9]+(?:[.,][0-9]+)?"
        )
        assert not risky.any(), (col, rej.loc[risky, col].tolist())
    # the table: fixed schema, expected values
    table = pq.read_table(res.table_path)
    assert table.num_rows == res.kept
    want = get_schema(exp["kind"]).arrow_schema()
    assert table.schema.names == want.names
    for f in want:
        got_t = table.schema.field(f.name).type
        # Parquet has no seconds unit: timestamp[s] is stored (and read back) as [ms]
        assert got_t == f.type or (pa.types.is_timestamp(f.type) and pa.types.is_timestamp(got_t))
    df = table.to_pandas()
    for col, vals in exp.get("values", {}).items():
        assert [_as_str(v) for v in df[col].tolist()] == [_expected_value(v) for v in vals], col
    # reconciliation.json agrees
    recon = json.loads((tmp_path / "reconciliation.json").read_text(encoding="utf-8"))
    for rep in res.files:
        r = recon[get_schema(exp["kind"]).kind][rep.file]
        assert (r["read"], r["kept"], r["rejected"], r["merged_duplicates"]) == (
            rep.read,
            rep.kept,
            rep.rejected,
            rep.merged_duplicates,
        )
    assert any("rows read" in m for m in lines)  # the summary line was logged


def test_several_files_concatenate_and_errors_name_every_bad_file(tmp_path: Path) -> None:
    """Files of one kind are concatenated in order; bad files are all named, nothing written."""
    files = [CORPUS / "utf8_bom_falls.csv", CORPUS / "duplicate_rows_falls.csv"]
    res = ingest("falls", files, tmp_path, log=None)
    # p001 2021-01-03 appears in both files: the second file's copies are merged
    assert [f.merged_duplicates for f in res.files] == [0, 3]
    df = pd.read_parquet(res.table_path)
    assert df["person_id"].tolist() == ["p001", "p002", "p003", "p002"]
    assert res.read == res.kept + res.rejected + res.merged_duplicates == 7
    with pytest.raises(InputError) as ei:
        ingest(
            "falls",
            [CORPUS / "empty.csv", files[0], CORPUS / "not_a_table.csv"],
            tmp_path / "x",
            log=None,
        )
    assert "empty.csv" in str(ei.value) and "not_a_table.csv" in str(ei.value)
    assert not (tmp_path / "x").exists()


# ----------------------------------------------------------------------------------------
# CPR numbers never leave ingest
# ----------------------------------------------------------------------------------------

_CPR_PATTERNS = [re.compile(r"\b\d{10}\b"), re.compile(r"\b\d{6}-\d{4}\b")]


def _leaks(text: str) -> list[str]:
    found = [m.group(0) for p in _CPR_PATTERNS for m in p.finditer(text)]
    for c in CPRS:
        for form in (c, c.replace("-", "")):
            if form in text:
                found.append(form)
    return found


def _file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        t = pq.read_table(path)
        meta = str(pq.read_metadata(path).metadata)
        return t.to_pandas().astype(str).to_csv() + meta
    return path.read_text(encoding="utf-8", errors="replace")


def test_no_cpr_number_in_any_output_log_or_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After ingesting files full of CPR numbers, none appears in outputs, logs or errors."""
    src = tmp_path / "src"
    src.mkdir()
    good = CPRS
    persons = ["cpr;kommune;fødselsdato;køn"] + [f"{c};326;;" for c in good]
    persons += [
        "31025O-1235;326;;",  # letters
        "310250-1235;326;;",  # 31 Feb
        f"{good[0]};326;02-01-1950;M",  # mismatching birth date
        f"{good[1]};999;;",  # unknown kommune
        f"{good[2]};326;;;extra",  # ragged
        f"{good[3]}",  # truncated
    ]
    (src / "persons.csv").write_text("\n".join(persons) + "\n", encoding="cp1252")
    adm = ["PNR,inddto,uddto,akut,adiag,sygehus"]
    adm += [
        f"{c.replace('-', '')},01-03-2020,05-03-2020,1,DJ189,{c}" for c in good[:2]
    ]  # CPR in hospital
    adm += [f"{c},01-03-2020,05-03-2020,1,XX,1301" for c in good[2:4]]
    adm += [f"{good[4]},05-03-2020,01-03-2020,1,DJ189,1301", f"{good[5]},01-03-2020"]
    (src / "lpr.csv").write_text("\n".join(adm) + "\n", encoding="utf-8")
    # CPR numbers in a person_id column (not declared as CPR) are pseudonymised too
    falls = ["person_id;fall_date"] + [f"{c};01-01-2021" for c in good] + [f"{good[0]};bad"]
    (src / "falls.csv").write_text("\n".join(falls) + "\n", encoding="utf-8")
    # a header-less file: its first data line becomes the 'header' of the error message
    (src / "noheader.csv").write_text(
        f"{good[0]};01-01-2021\n{good[1]};02-01-2021\n", encoding="utf-8"
    )

    out = tmp_path / "out"
    logged: list[str] = []
    ingest("persons", src / "persons.csv", out, key=KEY, log=logged.append)
    ingest("admissions", src / "lpr.csv", out, key=KEY, log=logged.append)
    ingest("falls", src / "falls.csv", out, key=KEY, log=logged.append)
    with pytest.raises(InputError) as ei:
        ingest("falls", src / "noheader.csv", out, key=KEY, log=logged.append)
    messages = [str(ei.value)]
    with pytest.raises(InputError) as ei2:  # no key: refusal names the file, not the numbers
        ingest("falls", src / "falls.csv", tmp_path / "nokey", log=logged.append)
    messages.append(str(ei2.value))
    import os

    os.environ["NSV_PSEUDO_KEY"] = KEY.hex()
    try:
        rc = cli_main(  # a file full of bad rows: accept any reject share here
            [
                "ingest",
                "admissions",
                str(src / "lpr.csv"),
                "--out",
                str(tmp_path / "cli"),
                "--max-reject-share",
                "1",
            ]
        )
        rc_bad = cli_main(
            ["ingest", "falls", str(src / "noheader.csv"), "--out", str(tmp_path / "cli")]
        )
    finally:
        del os.environ["NSV_PSEUDO_KEY"]
    assert (rc, rc_bad) == (0, 1)
    captured = capsys.readouterr()

    outputs = [p for p in (out, tmp_path / "cli") for p in p.rglob("*") if p.is_file()]
    assert {p.suffix for p in outputs} >= {".parquet", ".csv", ".json"}
    for p in outputs:
        assert _leaks(_file_text(p)) == [], p.name
    for text in [*logged, *messages, captured.out, captured.err]:
        assert _leaks(text) == [], text
    # and the checks did see the data: rejects exist and masked values are there
    rej = pd.read_csv(out / "rejects-persons.csv", dtype=str, keep_default_na=False)
    assert {"invalid_cpr", "cpr_mismatch", "unknown_kommune", "malformed_row"} <= set(rej["reason"])
    assert "31025O-XXXX" in set(rej["value"]) and "310250-XXXX" in set(rej["value"])
    rej_adm = pd.read_csv(out / "rejects-admissions.csv", dtype=str, keep_default_na=False)
    assert "cpr_in_text" in set(rej_adm["reason"])


def test_mask_cpr() -> None:
    """Masking keeps the birth-date part only, with or without dash, not inside longer runs."""
    assert mask_cpr("x 010150-1235 y 0101501235.") == "x 010150-XXXX y 010150-XXXX."
    assert mask_cpr("12345678901") == "12345678901"  # 11 digits: not a CPR number


# ----------------------------------------------------------------------------------------
# pseudonyms and keys
# ----------------------------------------------------------------------------------------


def _hmac_id(cpr: str, key: bytes) -> str:
    """Independent recomputation: HMAC-SHA256 hex, 20 characters, spelled in consonants."""
    hexid = hmac.new(key, cpr.replace("-", "").encode(), hashlib.sha256).hexdigest()
    return "".join("bcdfghjklmnpqrst"[int(ch, 16)] for ch in hexid[:PSEUDONYM_LENGTH])


def test_pseudonyms_deterministic_across_kinds_and_key_dependent(tmp_path: Path) -> None:
    """Same key → same person_id in every kind (= HMAC-SHA256 recomputed); other key → other ids."""
    (tmp_path / "p.csv").write_text(
        "cpr;kommune\n" + "".join(f"{c};326\n" for c in CPRS[:3]), encoding="utf-8"
    )
    (tmp_path / "f.csv").write_text(
        "pnr;faldsdato\n" + "".join(f"{c.replace('-', '')};01-01-2021\n" for c in CPRS[:3]),
        encoding="utf-8",
    )
    a = ingest("persons", tmp_path / "p.csv", tmp_path / "a", key=KEY, log=None)
    b = ingest("falls", tmp_path / "f.csv", tmp_path / "a", key=KEY, log=None)
    c = ingest("persons", tmp_path / "p.csv", tmp_path / "c", key=OTHER_KEY, log=None)
    ids_a = pd.read_parquet(a.table_path)["person_id"].tolist()
    ids_b = pd.read_parquet(b.table_path)["person_id"].tolist()
    ids_c = pd.read_parquet(c.table_path)["person_id"].tolist()
    assert ids_a == ids_b == [_hmac_id(x, KEY) for x in CPRS[:3]]
    assert set(ids_a).isdisjoint(ids_c)
    assert ids_c == [_hmac_id(x, OTHER_KEY) for x in CPRS[:3]]


def test_refuses_without_key_and_says_how(tmp_path: Path) -> None:
    """CPR data without a key: a refusal explaining how to make one; pseudonymous data runs."""
    (tmp_path / "p.csv").write_text(f"cpr;kommune\n{CPRS[0]};326\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        ingest("persons", tmp_path / "p.csv", tmp_path / "out", log=None)
    assert "secrets.token_hex" in str(ei.value) and "NSV_PSEUDO_KEY" in str(ei.value)
    assert not (tmp_path / "out" / "persons.parquet").exists()
    res = ingest("falls", CORPUS / "utf8_bom_falls.csv", tmp_path / "out", log=None)
    assert res.kept == 3


def test_key_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Key from env (hex or text), from a key file outside a git work tree; refused inside."""
    monkeypatch.setenv("NSV_PSEUDO_KEY", KEY.hex())
    assert resolve_key() == KEY
    monkeypatch.setenv("NSV_PSEUDO_KEY", "a long enough secret passphrase")
    assert resolve_key() == b"a long enough secret passphrase"
    monkeypatch.setenv("NSV_PSEUDO_KEY", "short")
    with pytest.raises(InputError, match="too short"):
        resolve_key()
    monkeypatch.delenv("NSV_PSEUDO_KEY")
    outside = tmp_path / "keys" / "nsv.key"
    outside.parent.mkdir()
    outside.write_text(OTHER_KEY.hex() + "\n", encoding="utf-8")
    monkeypatch.setenv("NSV_PSEUDO_KEY_FILE", str(outside))
    assert resolve_key() == OTHER_KEY
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    inside = repo / "secrets" / "nsv.key"
    inside.parent.mkdir()
    inside.write_text(KEY.hex(), encoding="utf-8")
    monkeypatch.setenv("NSV_PSEUDO_KEY_FILE", str(inside))
    with pytest.raises(InputError, match="inside the git work tree"):
        resolve_key()
    assert resolve_key(KEY) == KEY  # the explicit argument wins


def test_cpr_validation_agrees_with_stdnum() -> None:
    """Validity, birth date (century rule) and sex as stdnum.dk.cpr; no modulus-11 check."""
    cases = {
        "010150-1235": ("1950-01-01", "M"),
        "051210-4122": ("2010-12-05", "F"),  # digit 4, year 10 -> 2000s
        "010199-4000": ("1999-01-01", "F"),  # digit 4, year 99 -> 1900s
        "010160-5001": ("1860-01-01", "M"),  # digit 5, year 60 -> 1800s
        "0101501234": ("1950-01-01", "F"),  # fails modulus 11, still valid
        "101501235": ("1950-01-01", "M"),  # Excel lost the leading zero
    }
    bad = ["310250-1235", "010136-4000", "01O150-1235", "0101501", "", "01015012345"]
    s = pd.Series(list(cases) + bad, dtype="string")
    d = process_cpr(s, KEY)
    for i, (c, (born, sex)) in enumerate(cases.items()):
        assert d["valid"].iloc[i], c
        assert str(d["birth_date"].iloc[i].date()) == born
        assert d["sex"].iloc[i] == sex
        assert str(stdnum_cpr.get_birth_date(c.zfill(10) if "-" not in c else c)) == born
    assert stdnum_cpr.checksum("0101501234") != 0
    assert not d["valid"].iloc[len(cases) :].any()
    assert d["person_id"].iloc[len(cases) :].isna().all()


# ----------------------------------------------------------------------------------------
# parsing details
# ----------------------------------------------------------------------------------------


def test_number_parsing_danish_conventions() -> None:
    """Decimal comma, '.' thousands in groups of three, decimal point; anything else bad."""
    s = pd.Series(
        ["1.234,5", "12,5", "7.5", "1.234", "1 234", "-3", "1e3", "1,2,3", "abc", "1.23.4"]
    )
    v, r = parse_number(s)
    assert v.iloc[:7].tolist() == [1234.5, 12.5, 7.5, 1234.0, 1234.0, -3.0, 1000.0]
    assert list(r[7:]) == ["bad_number"] * 3 and all(x is None for x in r[:7])


def test_date_parsing_each_value_by_its_own_format() -> None:
    """dd-mm-yyyy, dd.mm.yyyy, dd/mm/yyyy, ISO and SAS DATE9 in one column; times kept."""
    col = SCHEMAS["admissions"].column("admit_time")
    s = pd.Series(
        [
            "15-03-2020",
            "15.03.2020 14:05",
            "15/03/2020 14:05:09",
            "2020-03-15T14:05",
            "15MAR2020:14:05:09",
            "31-02-2020",
            "15-03-20",
            "2020-13-01",
            "15-03-2020 25:00",
        ]
    )
    v, r = parse_datetime(s, col, date_only=False)
    assert [str(x) for x in v.iloc[:5]] == [
        "2020-03-15 00:00:00",
        "2020-03-15 14:05:00",
        "2020-03-15 14:05:09",
        "2020-03-15 14:05:00",
        "2020-03-15 14:05:09",
    ]
    assert list(r) == [None] * 5 + ["bad_date"] * 4


# ----------------------------------------------------------------------------------------
# scale path: Parquet in batches, duplicates across batches and files
# ----------------------------------------------------------------------------------------


def _contacts(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    admit = pd.Timestamp("2015-01-01") + pd.to_timedelta(
        rng.integers(0, 5 * 365 * 86400, n), unit="s"
    )
    return pd.DataFrame(
        {
            "contact_id": np.arange(1, n + 1) + seed * 10**6,
            "person_id": [f"{x:016x}" for x in rng.integers(0, 2**60, n)],
            "admit_time": admit.astype("datetime64[s]"),
            "discharge_time": (
                admit + pd.to_timedelta(rng.integers(0, 10 * 86400, n), unit="s")
            ).astype("datetime64[s]"),
            "acute": rng.random(n) < 0.7,
            "diagnosis": rng.choice(["DJ189", "DN390", "DI500", "DE119"], n),
            "hospital": rng.choice(["1301", "4202"], n),
        }
    )


def test_parquet_batches_duplicates_and_key_conflicts(tmp_path: Path) -> None:
    """Small batches give the same result as pandas' drop_duplicates on the whole input."""
    a, b = _contacts(5000, 1), _contacts(3000, 2)
    dups_a = a.iloc[[10, 20, 4000]]  # exact copies inside file a (across batches)
    dups_b = a.iloc[[30, 31]]  # copies of a's rows in file b
    conflict = a.iloc[[50]].assign(hospital="9999")  # same contact_id, other values
    a2 = pd.concat([a, dups_a], ignore_index=True)
    b2 = pd.concat([b.iloc[:1000], dups_b, conflict, b.iloc[1000:]], ignore_index=True)
    a2.to_parquet(tmp_path / "a.parquet", index=False)
    b2.to_parquet(tmp_path / "b.parquet", index=False)
    res = ingest(
        "admissions",
        [tmp_path / "a.parquet", tmp_path / "b.parquet"],
        tmp_path / "out",
        log=None,
        batch_rows=700,
    )
    ra, rb = res.files
    assert (ra.read, ra.kept, ra.rejected, ra.merged_duplicates) == (5003, 5000, 0, 3)
    assert (rb.read, rb.kept, rb.rejected, rb.merged_duplicates) == (3003, 3000, 1, 2)
    assert rb.reasons == {"duplicate_key": 1}
    out = pd.read_parquet(res.table_path)
    # the optional LPR columns (contact_type ... episode_id) stay empty for a tidy extract
    lpr_cols = [c for c in out.columns if c not in a2.columns]
    assert out[lpr_cols].isna().all().all()
    out = out[list(a2.columns)]
    both = pd.concat([a2, b2], ignore_index=True).drop_duplicates()
    expected = both[~both.index.isin([len(a2) + 1000 + 2])].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        out.astype({"admit_time": "datetime64[s]", "discharge_time": "datetime64[s]"}),
        expected.astype({"hospital": "str", "diagnosis": "str", "person_id": "str"}),
        check_dtype=False,
    )
    rej = pd.read_csv(res.rejects_path, dtype=str)
    assert rej["row"].tolist() == [str(1000 + 2)] and rej["reason"].tolist() == ["duplicate_key"]


# ----------------------------------------------------------------------------------------
# mapping, schema text, CLI
# ----------------------------------------------------------------------------------------


def test_mapping_file_and_bad_mapping(tmp_path: Path) -> None:
    """A YAML mapping adds names; mapping to a non-column is a clear error; ignore works."""
    (tmp_path / "f.csv").write_text(
        "borger;haendelsesdato;note\np1;01-01-2021;x\n", encoding="utf-8"
    )
    m = tmp_path / "m.yaml"
    m.write_text(
        "falls:\n  borger: person_id\n  haendelsesdato: fall_date\n  note: ignore\n",
        encoding="utf-8",
    )
    res = ingest("falls", tmp_path / "f.csv", tmp_path / "out", mapping=m, log=None)
    assert res.kept == 1 and res.files[0].ignored_columns == ["note"]
    with pytest.raises(InputError, match="not a column of falls"):
        ingest(
            "falls",
            tmp_path / "f.csv",
            tmp_path / "out",
            mapping={"falls": {"borger": "pid"}},
            log=None,
        )
    example = Path(__file__).parents[1] / "params" / "mapping.example.yaml"
    from nsv_eval.ingest.mapping import load_mapping

    assert set(load_mapping(example)) <= set(KINDS)


def test_schema_text_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`nsv-eval schema` lists columns, aliases and meaning; `ingest` exit codes 0 / 1."""
    for kind in KINDS:
        text = schema_text(kind)
        for c in SCHEMAS[kind].columns:
            assert c.name in text
    assert cli_main(["schema", "admissions"]) == 0
    out = capsys.readouterr().out
    assert "admit_time" in out and "inddto" in out and "required" in out
    f = str(CORPUS / "missing_value_falls.csv")
    rc = cli_main(["ingest", "falls", f, "--out", str(tmp_path)])
    out = capsys.readouterr()
    # 3 of 4 rows rejected: over the default 5 % threshold, so exit 1 (everything written)
    assert rc == 1 and "3 rejected" in out.out and "missing_value 3" in out.err
    rc = cli_main(["ingest", "falls", f, "--out", str(tmp_path), "--max-reject-share", "80%"])
    out = capsys.readouterr()
    assert rc == 0 and "3 rejected" in out.out
    rc = cli_main(
        [
            "ingest",
            "admissions",
            str(CORPUS / "missing_required_near_miss_admissions.csv"),
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "admit_time" in err and "Traceback" not in err


def test_reconciliation_json_keyed_by_kind_then_file(tmp_path: Path) -> None:
    """Several kinds merge into one reconciliation.json; re-ingesting a kind replaces it."""
    ingest("falls", CORPUS / "utf8_bom_falls.csv", tmp_path, log=None)
    ingest("population", CORPUS / "negative_population.csv", tmp_path, log=None)
    ingest("falls", CORPUS / "duplicate_rows_falls.csv", tmp_path, log=None)
    recon = json.loads((tmp_path / "reconciliation.json").read_text(encoding="utf-8"))
    assert set(recon) == {"falls", "population"}
    assert list(recon["falls"]) == [str(CORPUS / "duplicate_rows_falls.csv")]
    assert recon["population"][str(CORPUS / "negative_population.csv")]["reasons"] == {
        "negative_count": 1
    }


def test_weight_must_be_strictly_positive() -> None:
    """Survey weights: 0 and negatives are out of range; tiny positive weights are kept."""
    from nsv_eval.ingest.validate import parse_float

    col = SCHEMAS["survey"].column("weight")
    _, r = parse_float(pd.Series([0.0, 1e-51, -1.0, 2.5]), col)
    assert list(r) == ["out_of_range", None, "out_of_range", None]


def test_synthetic_raw_layout_passes_unchanged(synth_dir: Path, tmp_path: Path) -> None:
    """The synthetic Denmark (already clean, pseudonymous) passes ingest without rejects.

    Reference: the raw layout of ARCHITECTURE.md as written by ``nsv_eval.synth``; persons
    and contacts must come out identical to what went in (same rows, same order).
    """
    names = {"contacts": "admissions"}
    for f in sorted(synth_dir.iterdir()):
        if f.suffix not in (".parquet", ".csv"):
            continue
        kind = names.get(f.stem, f.stem)
        res = ingest(kind, f, tmp_path, log=None)
        assert res.rejected == 0, (kind, res.reasons)
        assert res.read == res.kept + res.merged_duplicates
        assert pq.read_schema(res.table_path).names == get_schema(kind).arrow_schema().names
        if kind in ("persons", "admissions"):
            a = pd.read_parquet(f)
            b = pd.read_parquet(res.table_path)
            assert res.merged_duplicates == 0
            pd.testing.assert_frame_equal(a, b[a.columns], check_dtype=False)
