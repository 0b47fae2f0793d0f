"""Disclosure control: suppression, rendering markers and the report scanner.

References: Danish practice for register statistics (counts 1–4 not shown, "<5"); the
secondary-suppression requirement is checked by an independent linear audit (the reader
solves the published totals for the hidden cells; a primary cell must not be determined),
which does catch primary-only suppression (``test_attack_breaks_primary_only``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.report.disclosure import (
    PRIMARY,
    SECONDARY,
    check_disclosure,
    find_cpr,
    fmt_count,
    hide_small,
    scan_html,
    suppress,
    table_html,
)

# -- primary suppression ---------------------------------------------------------------


def test_primary_suppression_and_zero() -> None:
    df = pd.DataFrame({"group": list("abcdefg"), "n": [0, 1, 2, 3, 4, 5, 1234]})
    out = suppress(df, "n")
    assert out["n"].tolist() == ["0", "<5", "<5", "<5", "<5", "5", "1.234"]
    assert out["group"].tolist() == list("abcdefg")  # other columns untouched
    assert out.attrs["nsv_hidden"] == 4
    assert any("1–4" in f for f in out.attrs["nsv_footnotes"])


def test_fmt_count() -> None:
    assert [fmt_count(v) for v in (0, 1, 4, 5, 12345)] == ["0", "<5", "<5", "5", "12.345"]
    with pytest.raises(ValueError):
        fmt_count(-1)


def test_bad_counts_name_the_column_and_row() -> None:
    df = pd.DataFrame({"n": [3, 2.5]})
    with pytest.raises(ValueError, match=r"column 'n' row 1"):
        suppress(df, "n")
    with pytest.raises(ValueError, match="not in the table"):
        suppress(df, "m")


# -- secondary suppression ---------------------------------------------------------------


def _primary_cells_ambiguous(
    true: np.ndarray, hidden: np.ndarray, row_totals: bool, col_totals: bool
) -> bool:
    """Linear audit: can a reader solve for any primary-suppressed cell exactly?

    The reader knows every visible cell and the published totals, so the hidden cells
    satisfy A·x = b (one equation per published row/column total, over the hidden cells).
    A hidden cell is exactly determined iff its unit vector lies in the row space of A,
    i.e. rank(A) == rank([A; e]). Independent of the suppression code.
    """
    idx = list(zip(*np.nonzero(hidden), strict=True))
    pos = {c: k for k, c in enumerate(idx)}
    rows = []
    if row_totals:
        for i in range(true.shape[0]):
            rows.append([1.0 if c[0] == i else 0.0 for c in idx])
    if col_totals:
        for j in range(true.shape[1]):
            rows.append([1.0 if c[1] == j else 0.0 for c in idx])
    a = np.array([r for r in rows if any(r)] or [[0.0] * len(idx)])
    rank = np.linalg.matrix_rank(a)
    for i, j in zip(*np.nonzero((true >= 1) & (true <= 4)), strict=True):
        e = np.zeros(len(idx))
        e[pos[(i, j)]] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            return False
    return True


TRUE = np.array([[3, 12], [10, 15], [20, 7]])


def _hidden_mask(out: pd.DataFrame, cols: list[str], nrows: int) -> np.ndarray:
    return np.isin(out[cols].to_numpy()[:nrows], [PRIMARY, SECONDARY])


def test_attack_breaks_primary_only() -> None:
    """The audit does recover a primary-only suppressed cell (test can fail)."""
    primary_only = (TRUE >= 1) & (TRUE <= 4)
    assert not _primary_cells_ambiguous(TRUE, primary_only, True, True)


def test_secondary_suppression_with_row_and_column_totals() -> None:
    df = pd.DataFrame(
        {"kommune": ["A", "B", "C"], "m": TRUE[:, 0], "k": TRUE[:, 1], "i_alt": TRUE.sum(1)}
    )
    out = suppress(df, ["m", "k"], total_cols="i_alt", total_row="I alt")
    assert out["kommune"].tolist() == ["A", "B", "C", "I alt"]
    # published totals are right and visible
    assert out["i_alt"].tolist() == ["15", "25", "27", "67"]
    assert out.loc[3, ["m", "k"]].tolist() == ["33", "34"]
    hidden = _hidden_mask(out, ["m", "k"], 3)
    assert out.loc[0, "m"] == PRIMARY
    assert hidden.sum() >= 2
    # no published line (row with total, column with total) has exactly one hidden cell
    assert all(h != 1 for h in hidden.sum(axis=1))
    assert all(h != 1 for h in hidden.sum(axis=0))
    assert _primary_cells_ambiguous(TRUE, hidden, True, True)


def test_secondary_prefers_smallest_nonzero_cell() -> None:
    df = pd.DataFrame({"a": [3], "b": [0], "c": [9], "d": [40], "tot": [52]})
    out = suppress(df, ["a", "b", "c", "d"], total_cols="tot")
    assert out.iloc[0].tolist() == [PRIMARY, "0", SECONDARY, "40", "52"]


def test_by_groups_are_published_lines() -> None:
    df = pd.DataFrame(
        {"kind": ["x", "x", "x", "y", "y"], "reason": list("pqrst"), "n": [2, 30, 8, 50, 60]}
    )
    out = suppress(df, "n", by="kind")
    assert out["n"].tolist() == [PRIMARY, "30", SECONDARY, "50", "60"]
    # without published group totals nothing else is hidden
    assert suppress(df, "n")["n"].tolist() == [PRIMARY, "30", "8", "50", "60"]


def test_rates_flagged_and_hidden() -> None:
    df = pd.DataFrame(
        {
            "year": [2020, 2021, 2022, 2023],
            "events": [3, 7, 25, 0],
            "rate": [0.3, 0.7, 2.5, 0.0],
            "lower": [0.1, 0.3, 1.6, 0.0],
        }
    )
    out = suppress(df, "events", rate_cols={"rate": "events"}, derived_cols={"lower": "events"})
    assert out["events"].tolist() == [PRIMARY, "7", "25", "0"]
    assert out["rate"].tolist() == [SECONDARY, "0,7*", "2,5", "0,0*"]
    assert out.loc[0, "lower"] == SECONDARY and out.loc[2, "lower"] == 1.6
    notes = " ".join(out.attrs["nsv_footnotes"])
    assert "færre end 10 hændelser" in notes


def test_hide_small_for_figures() -> None:
    df = pd.DataFrame({"n": [0, 3, 12], "rate": [0.0, 3.0, 12.0]})
    out = hide_small(df, "rate", "n")
    assert out["rate"].isna().tolist() == [False, True, False]


# -- rendering markers ------------------------------------------------------------------


def test_table_html_marks_counts_and_formats() -> None:
    df = pd.DataFrame(
        {"year": [2020, 2021], "sex": ["M", "F"], "n": [3, 1200], "share": [0.123, 0.5]}
    )
    html = table_html(df, "n", caption="Tabel")
    assert '<table class="nsv-table">' in html
    assert '<td class="nsv-count">&lt;5</td>' in html
    assert '<td class="nsv-count">1.200</td>' in html
    assert ">2020<" in html and "2.020" not in html  # years without a thousands point
    assert ">Mænd<" in html and ">Kvinder<" in html
    assert ">0,1<" in html  # decimal comma
    heads = ['head">År<', 'head">Køn<', 'head">Antal<', 'head">Andel<']  # Danish headings
    assert all(h in html for h in heads)
    assert scan_html(html) == []


# -- the scanner -------------------------------------------------------------------------


def test_find_cpr_dates() -> None:
    assert [m[0] for m in find_cpr("a 010203-1234 b 0102031234 c")] == [
        "010203-1234",
        "0102031234",
    ]
    assert find_cpr("3102031234") == []  # 31 February is no date
    assert find_cpr("2902011234") == []  # 2001 is no leap year
    assert len(find_cpr("2902001234")) == 1  # 2000 was
    assert find_cpr("12345678901") == []  # 11 digits: not a CPR number
    assert find_cpr("2010-2024 1.234.567") == []


CLEAN = (
    "<html><body><h1>Rapport</h1><p>Der var "
    '<span class="nsv-count">1.234</span> personer.</p>'
    + table_html(pd.DataFrame({"kommune": ["A", "B"], "n": [12, 0]}), "n")
    + '<p>Fingeraftryk <code class="nsv-hash">0102031234abcdef</code></p>'
    + '<img src="data:image/png;base64,AAAA0102031234BBBB"></body></html>'
)


def test_clean_report_passes(tmp_path: Path) -> None:
    f = tmp_path / "ok.html"
    f.write_text(CLEAN, encoding="utf-8")
    assert check_disclosure(f) == []


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        ("<p>Borger 010203-1234 blev indlagt.</p>", "cpr"),
        ("<p>id 0102031234</p>", "cpr"),
        (
            '<table class="nsv-table"><tr><th>Id</th></tr><tr><td>0102031234</td></tr></table>',
            "cpr",
        ),
        ('<div title="010203-1234">x</div>', "cpr"),
        ('<p>Der var <span class="nsv-count">3</span> fald.</p>', "small_count"),
        (
            '<table class="nsv-table"><tr><th>Kommune</th><th>Antal</th></tr>'
            '<tr><td>A</td><td class="nsv-count">2</td></tr></table>',
            "small_count",
        ),
        (  # a marked table whose count-like column was not declared as counts
            '<table class="nsv-table"><tr><th>Kommune</th><th>Personer</th></tr>'
            '<tr><td>A</td><td class="nsv-num">4</td></tr></table>',
            "small_count",
        ),
        (
            pd.DataFrame({"kommune": ["A"], "antal": [12]}).to_html(index=False),
            "unmarked_table",
        ),
    ],
)
def test_planted_problems_are_caught(tmp_path: Path, planted: str, kind: str) -> None:
    f = tmp_path / "bad.html"
    f.write_text(CLEAN.replace("</body>", planted + "</body>"), encoding="utf-8")
    found = check_disclosure(f)
    assert kind in {x.kind for x in found}, found
    for x in found:
        assert x.path == f
        assert "1234" not in x.context or "XXXX" in x.context  # CPR masked in messages


def test_raw_pandas_table_with_small_counts(tmp_path: Path) -> None:
    raw = pd.DataFrame({"kommune": ["A", "B"], "Antal": [3, 40]}).to_html()
    found = scan_html(raw, tmp_path / "x.html")
    kinds = sorted({f.kind for f in found})
    assert kinds == ["small_count", "unmarked_table"]
    assert any("'3'" in f.context for f in found)


def test_cli_check_disclosure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nsv_eval.cli import main

    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "a.html").write_text(CLEAN, encoding="utf-8")
    (bad / "sub").mkdir()
    (bad / "sub" / "b.html").write_text(
        CLEAN.replace("</body>", "<p>0102031234</p></body>"), encoding="utf-8"
    )
    assert main(["check-disclosure", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["check-disclosure", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "b.html" in out and "cpr" in out
    assert "0102031234" not in out  # never echo the number itself


# -- issue 19: decimal fractions are not CPR numbers; CPR numbers in attributes still are ---


def test_find_cpr_ignores_decimal_fractions() -> None:
    """A float with a 10-digit fraction whose first six digits form a date (16-03-30,
    06-11-35, 03-10-19) is a number, not a CPR; the same ten digits on their own are."""
    for number in ("-144237.1603301234", "177634.0611351234", "0,0310190123", "2.0101901234"):
        assert find_cpr(number) == [], number
        assert find_cpr(f'<td data-sort="{number}">') == [], number
    assert [m[0] for m in find_cpr("1603301234")] == ["1603301234"]
    assert [m[0] for m in find_cpr("nr. 0101901234")] == ["0101901234"]  # no digit before "."
    assert [m[0] for m in find_cpr("0101901234.5")] == ["0101901234"]  # integer part


def test_scan_html_float_sort_key_passes_cpr_attribute_fails(tmp_path: Path) -> None:
    """The overview's failure (issue 19): a long float in a sort key must not withhold the
    page; a CPR number inside an attribute (title, data-sort) is still found and masked."""
    table = (
        '<div class="nsv-table-wrap"><table class="nsv-table"><tr><th>Kode</th></tr>'
        '<tr><td data-sort="{v}" title="{t}">x</td></tr></table></div>'
    )
    ok = table.format(v="-144237.16033012345", t="Rate 177634,0611351234")
    assert scan_html(f"<html><body>{ok}</body></html>") == []
    for attr in ('data-sort="0101901234"', 'title="borger 010190-1234"'):
        bad = f"<html><body><p {attr}>x</p></body></html>"
        found = scan_html(bad)
        assert [f.kind for f in found] == ["cpr"], attr
        assert "1234" not in found[0].context  # masked in the message
