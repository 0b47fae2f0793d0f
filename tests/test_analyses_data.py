"""Prepared-data access: cached national summaries and the memo for repeated fits.

Checked against direct computation: the summary equals a pandas aggregation of the cube;
the memo returns the stored result for identical input and recomputes for changed input.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nsv_eval.analyses.data import Area, load_prepared
from nsv_eval.errors import NsvError


def test_summary_equals_cube_aggregation(prepared_dir: Path, tmp_path: Path) -> None:
    prep = load_prepared(prepared_dir, tmp_path / "shared")
    s = prep.summary("year_age_sex")
    cube = pd.read_parquet(prepared_dir / "cube.parquet")
    direct = cube.groupby(["kommune_code", "year", "age_band", "sex"], observed=True)[
        "preventable"
    ].sum()
    got = s.set_index(["kommune_code", "year", "age_band", "sex"])["preventable"]
    pd.testing.assert_series_equal(
        got.sort_index(), direct.sort_index().astype("int64"), check_names=False
    )
    assert len(list((tmp_path / "shared").glob("year_age_sex-*.parquet"))) == 1


def test_memo_reuses_and_invalidates(prepared_dir: Path, tmp_path: Path) -> None:
    prep = load_prepared(prepared_dir, tmp_path / "shared")
    calls = []

    def fit(df: pd.DataFrame):
        def run() -> float:
            calls.append(1)
            return float(df["x"].sum())

        return run

    a = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    assert prep.memo("sum", fit(a), data=a, conf=0.95) == 6.0
    assert prep.memo("sum", fit(a.copy()), data=a.copy(), conf=0.95) == 6.0
    assert len(calls) == 1  # identical content and key: reused
    b = pd.DataFrame({"x": [1.0, 2.0, 4.0]})
    assert prep.memo("sum", fit(b), data=b, conf=0.95) == 7.0  # other data: recomputed
    assert prep.memo("sum", fit(a), data=a, conf=0.99) == 6.0  # other key: recomputed
    assert len(calls) == 3
    other = load_prepared(prepared_dir, tmp_path / "shared")  # another notebook, same cache
    assert other.memo("sum", fit(a), data=a, conf=0.95) == 6.0
    assert len(calls) == 3


def test_memo_is_keyed_by_the_code_version(
    prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pickle made by another version of stats/analyses is never read back."""
    from nsv_eval.analyses import data as data_mod

    prep = load_prepared(prepared_dir, tmp_path / "shared")
    calls = []

    def run() -> str:
        calls.append(1)
        return f"result {len(calls)}"

    assert prep.memo("fit", run) == "result 1"
    assert prep.memo("fit", run) == "result 1"  # same code: reused
    monkeypatch.setattr(data_mod, "code_fingerprint", lambda: "another-version")
    assert prep.memo("fit", run) == "result 2"  # other code: recomputed, not unpickled
    assert len(list((tmp_path / "shared" / "memo").glob("fit-*.pkl"))) == 2


def test_missing_prepared_data_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(NsvError, match="make demo"):
        load_prepared(tmp_path)


def test_area_masks() -> None:
    df = pd.DataFrame({"kommune_code": [326, 101, 851]})
    assert Area.of("kommune", 326).mask(df).tolist() == [True, False, False]
    assert Area.of("region", 326).mask(df).tolist() == [True, False, False]
    assert Area.of("land", 326).mask(df).all()
    assert Area.of("region", 326).name == "Region Sjælland"
    with pytest.raises(ValueError, match="comparison level"):
        Area.of("sogn", 326)
