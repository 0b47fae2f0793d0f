"""Study 8 analyses (:mod:`nsv_eval.analyses.preventive`) on the test session's synthetic
Denmark (scale 0.005, seed 7).

Checked against: an independent pandas recount of the prepared ``courses`` and
``interventions`` tables (the DuckDB panel must agree with it exactly), and the planted
truth in ``truth.json`` (the acceptance share at 75). The RD itself is checked against the
planted effect in ``tests/test_planted_truth.py`` and against published results in
``tests/test_rd.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsv_eval.analyses import preventive as pv


@pytest.fixture(scope="module")
def prep(prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from nsv_eval.analyses.data import load_prepared

    return load_prepared(prepared_dir, shared_dir=tmp_path_factory.mktemp("cache-prev"))


@pytest.fixture(scope="module")
def panel(prep) -> pd.DataFrame:
    return pv.rd_panel(prep)


def _month(s: pd.Series) -> pd.Series:
    d = pd.to_datetime(s)
    return d.dt.year * 12 + d.dt.month - 1


def test_panel_counts_match_an_independent_recount(prep, panel) -> None:
    assert panel["k"].between(-pv.WINDOW, pv.WINDOW).all()
    assert (panel["exposure"] > 0).all() and (panel["exposure"] <= 31 / 365.25 + 1e-12).all()
    assert not panel.duplicated(["person_id", "m"]).any()
    c = prep.table("courses", ["person_id", "admit_time", "acute", "fall_injury"])
    c = c[c["acute"]].assign(m=_month(c["admit_time"]))
    keys = panel[["person_id", "m"]]
    got = keys.merge(c, on=["person_id", "m"])
    assert int(panel["acute"].sum()) == len(got)
    assert int(panel["fall_injury"].sum()) == int(got["fall_injury"].sum())
    v = prep.table("interventions")
    v = v[v["intervention"] == "preventive_visit"].assign(vm=_month(v["date"]))
    sample = panel.sample(3000, random_state=1)
    vv = sample[["person_id", "m"]].merge(v[["person_id", "vm"]], on="person_id", how="left")
    vv["hit"] = (vv["vm"] >= vv["m"] - 12) & (vv["vm"] <= vv["m"] - 1)
    expect = vv.groupby(["person_id", "m"])["hit"].any()
    got_v = sample.set_index(["person_id", "m"])["visit_active"]
    assert (expect.loc[got_v.index].to_numpy() == got_v.to_numpy()).all()


def test_panel_is_lean_and_in_person_id_order(panel) -> None:
    """Integer person numbers in DuckDB keep the row order of ``ORDER BY person_id, m`` (the
    order the RD fits and the cluster numbers depend on), and the panel stays narrow
    (categorical ids, small integers: < 60 bytes a person-month, ~130 with string ids)."""
    ids = panel["person_id"].astype("str").to_numpy()
    m = panel["m"].to_numpy()
    order = np.lexsort((m, ids))
    assert (order == np.arange(len(panel))).all()
    assert panel["person_id"].cat.codes.is_monotonic_increasing
    assert panel.memory_usage(deep=True).sum() / len(panel) < 60


def test_panel_built_in_blocks_of_persons_is_the_same(
    prep, panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The panel is built in blocks of consecutive person numbers (bounded DuckDB memory at
    national scale); small blocks give the identical frame, rows in the same order."""
    monkeypatch.setattr(pv, "PANEL_PERSONS_PER_QUERY", 97)
    pd.testing.assert_frame_equal(pv._build_panel(prep, pv.OFFER_AGE, pv.WINDOW), panel)


def test_first_stage_jumps_at_the_birthday(panel) -> None:
    share = panel.groupby("k")["visit_active"].mean()
    assert share.loc[-12:0].max() < 0.15  # need-based visits only
    assert share.loc[1:11].min() > 0.4  # the 75-visit acts from the month after
    assert (panel.loc[panel["k"] != 0, "visit_in_month"].mean()) < 0.05


def test_offer_cohort_acceptance_matches_truth(panel, synth_dir: Path) -> None:
    truth = json.loads((synth_dir / "truth.json").read_text(encoding="utf-8"))
    t = truth["effects"]["preventive_visit"]
    planted = t["accepted_at_75"] / t["offered_at_75"]
    co = pv.offer_cohort(panel)
    assert co["person_id"].is_unique
    assert co["accepted"].mean() == pytest.approx(planted, abs=0.03)
    assert co.loc[co["in_home_care"], "home_care_12m"].isna().all()
    up = pv.kommune_uptake(co)
    assert int(up["offered"].sum()) == len(co)
    assert np.isclose(up["share_accepted"], up["accepted"] / up["offered"]).all()


def test_scope_and_errors() -> None:
    assert pv.scope_codes("land", 580) is None
    assert pv.scope_codes("kommune", 580) == [580]
    reg = pv.scope_codes("region", 580)
    assert 580 in reg and 10 < len(reg) < 30
    with pytest.raises(ValueError, match="scope"):
        pv.scope_codes("amt", 580)


def test_area_panel_equals_the_national_panel_sliced(prep, panel) -> None:
    """An area's panel built for its persons only is the national panel's rows of the area."""
    from nsv_eval.analyses.data import load_prepared

    codes = pv.scope_codes("region", 580)
    fresh = load_prepared(prep.data_dir, shared_dir=prep.shared_dir)  # no national panel yet
    own = pv.rd_panel(fresh, codes)
    want = panel[panel["kommune_code"].isin(codes)].reset_index(drop=True)
    assert len(own) > 0
    # ids, sex and education are categoricals whose categories are the values present (an
    # area's panel has fewer persons): the values must agree
    assert isinstance(own["person_id"].dtype, pd.CategoricalDtype)
    cats = [c for c in own.columns if isinstance(own[c].dtype, pd.CategoricalDtype)]
    pd.testing.assert_frame_equal(
        own.astype(dict.fromkeys(cats, "str")), want.astype(dict.fromkeys(cats, "str"))
    )


def test_shared_results_equal_direct_ones_and_skip_the_panel(
    prep, panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memoised results (computed once per data set and area) are what the functions give
    on the panel; a second report reads them without building any panel."""
    from nsv_eval.analyses.data import load_prepared

    pv.shared_work(prep)
    direct_cohort = pv.offer_cohort(panel)
    pd.testing.assert_frame_equal(pv.uptake_all(prep), pv.kommune_uptake(direct_cohort))
    pd.testing.assert_frame_equal(pv.bins_for_scope(prep, None), pv.bins_table(panel, "acute"))
    direct = pv.accepted_vs_declined(direct_cohort, "acute_12m")
    pd.testing.assert_frame_equal(
        pv.accepted_vs_declined_for_scope(prep, None, "acute_12m").table(), direct.table()
    )

    def no_panel(*args, **kwargs):
        raise AssertionError("a report built a panel although the shared results exist")

    monkeypatch.setattr(pv, "_build_panel", no_panel)
    other = load_prepared(prep.data_dir, shared_dir=prep.shared_dir)  # the next report
    assert (
        pv.rd_for_scope(other, None)["acute"]
        .table()
        .equals(pv.rd_for_scope(prep, None)["acute"].table())
    )
    pv.shared_work(other)  # every result is read, none recomputed


def test_batch_preparation_does_study_8s_national_work_once(
    prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch with study 8 computes its national work in ``prepare_shared`` (once, before
    any report); a resumed batch on the same data reuses it without building a panel."""
    from nsv_eval.batch import prepare_shared

    first = prepare_shared(prepared_dir, tmp_path, ["forebyggende"])
    assert first["forebyggende"]["computed"] and first["forebyggende"]["files"]
    assert "forebyggende" not in prepare_shared(prepared_dir, tmp_path, ["fald"])

    def no_panel(*args, **kwargs):
        raise AssertionError("the national work was done again")

    monkeypatch.setattr(pv, "_build_panel", no_panel)
    again = prepare_shared(prepared_dir, tmp_path, ["forebyggende"])
    assert not again["forebyggende"]["computed"]


@pytest.mark.parametrize("age", [*pv.PLACEBO_AGES, pv.OFFER_AGE])
@pytest.mark.parametrize("outcome", ["acute", "fall_injury"])
def test_lean_panel_gives_the_rows_of_the_full_panel(prep, age, outcome, monkeypatch) -> None:
    """The placebo fits read a lean panel (no home-care or planned-admission joins, no
    person-level columns): what they read from it (``_rates``) is the full panel's, value
    for value and row for row — nationally, for a region and built in small blocks."""
    monkeypatch.setattr(pv, "PANEL_PERSONS_PER_QUERY", 113)
    for codes in (None, pv.scope_codes("region", 580)):
        full = pv._build_panel(prep, age, pv.WINDOW, codes)
        lean = pv._build_panel(prep, age, pv.WINDOW, codes, lean=True)
        assert len(lean) == len(full) > 0
        assert list(lean.columns) == [
            "person_id",
            "k",
            "exposure",
            "acute",
            "fall_injury",
            "visit_active",
        ]
        pd.testing.assert_frame_equal(pv._rates(lean, outcome), pv._rates(full, outcome))


def test_lean_panels_of_several_ages_share_their_joins_and_equal_single_ones(
    prep, monkeypatch
) -> None:
    """The placebo ages' lean panels built together (one persons table, one join of courses
    and visits; person numbers ranked over both ages) give each age's rows as its full panel
    does, as read by the fits — nationally and for a region, in small blocks."""
    monkeypatch.setattr(pv, "PANEL_PERSONS_PER_QUERY", 89)
    for codes in (None, pv.scope_codes("region", 580)):
        together = list(pv._panels(prep, pv.PLACEBO_AGES, pv.WINDOW, codes, lean=True))
        assert len(together) == len(pv.PLACEBO_AGES)
        for age, lean in zip(pv.PLACEBO_AGES, together, strict=True):
            full = pv._build_panel(prep, age, pv.WINDOW, codes)
            for outcome in ("acute", "fall_injury"):
                pd.testing.assert_frame_equal(pv._rates(lean, outcome), pv._rates(full, outcome))
    with pytest.raises(ValueError, match="several ages only for lean"):
        next(pv._panels(prep, pv.PLACEBO_AGES, pv.WINDOW))


def test_placebos_from_lean_panels_equal_those_from_full_panels(prep) -> None:
    """``rd_placebos`` (lean panels) gives exactly the table of the fits on full panels."""
    from nsv_eval.analyses.data import load_prepared

    fresh = load_prepared(prep.data_dir, shared_dir=prep.shared_dir)
    got = pv.rd_placebos(fresh, None)
    want = []
    for a in pv.PLACEBO_AGES:
        d = pv._rates(pv._build_panel(fresh, a, pv.WINDOW), "acute")
        fs = pv.rd(d, "treated", "k", pv.CUTOFF, cluster="cluster").main_effect()
        rf = pv.rd(d, "rate", "k", pv.CUTOFF, cluster="cluster", weights="exposure").main_effect()
        want.append(
            {
                "age": a,
                "jump_visited": fs["estimate"],
                "lower": fs["lower"],
                "upper": fs["upper"],
                "jump_rate": rf["estimate"],
                "rate_lower": rf["lower"],
                "rate_upper": rf["upper"],
                "rate_p": rf["p_value"],
            }
        )
    pd.testing.assert_frame_equal(got, pd.DataFrame(want), check_exact=True)


def test_person_codes_of_ordered_ids_equal_factorize() -> None:
    """The run numbering of ids in person order (the panels) is pandas.factorize's
    numbering; unordered or string ids go through factorize itself."""
    rng = np.random.default_rng(2)
    ids = np.sort(rng.integers(0, 5000, 40_000)).astype(np.int32)
    for series in (
        pd.Series(ids),
        pd.Series(pd.Categorical.from_codes(ids - ids.min(), [f"p{i}" for i in range(5000)])),
        pd.Series(rng.permutation(ids)),
        pd.Series([f"p{i}" for i in ids]),
    ):
        got = pv._person_codes(series)
        want = pd.factorize(series)[0]
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_density_check_takes_the_exact_ages_of_the_pandas_formula(prep, monkeypatch) -> None:
    """The running variable handed to rddensity: exact age in days around 75 on 1 January
    of each year, recomputed here with pandas datetimes for all persons (the same rows in
    the same order, the same floats)."""
    seen = {}

    def capture(x, cutoff):
        seen["x"] = np.asarray(x)
        return pd.DataFrame()

    monkeypatch.setattr(pv, "rd_density", capture)
    pv.density_check(prep, None)
    p = prep.table("persons", ["kommune_code", "birth_date", "death_date"])
    birth, death = pd.to_datetime(p["birth_date"]), pd.to_datetime(p["death_date"])
    xs = []
    lo, hi = prep.period
    for y in range(lo, hi + 1):
        ref = pd.Timestamp(year=y, month=1, day=1)
        alive = (birth < ref) & (death.isna() | (death > ref))
        x = (ref - birth[alive]).dt.days / 365.25 - pv.OFFER_AGE
        xs.append(x[(x > -2) & (x < 2)].to_numpy())
    want = np.concatenate(xs) * 365.25
    assert len(want) > 100 and np.array_equal(seen["x"], want)


def test_panel_connection_draws_no_progress_bar(tmp_path: Path) -> None:
    """Outside a Jupyter kernel the panel's DuckDB connection has its progress bar off
    (the worker processes of ``analyses.shared`` drew bars into ``nsv-eval run``'s
    terminal)."""
    with pv._panel_connection(str(tmp_path)) as con:
        row = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
    assert row is not None and row[0] is False


KERNEL_CELL = """
import json, duckdb
from nsv_eval.analyses import preventive as pv
from nsv_eval.analyses.data import Prepared
try:
    duckdb.connect().execute("SET enable_progress_bar = false")
    refused = False
except duckdb.InvalidInputException:
    refused = True
panel = pv._build_panel(Prepared(data, shared), 73, pv.WINDOW, lean=True)
json.dump({"refused": refused, "rows": len(panel), "acute": int(panel["acute"].sum())},
          open(out, "w"))
"""


def test_panel_is_built_inside_a_jupyter_kernel(prep, prepared_dir: Path, tmp_path: Path):
    """Inside a Jupyter kernel (where DuckDB may refuse to change the progress-bar setting:
    without ipywidgets it does) the panel is built, with the rows built here."""
    import nbformat

    from nsv_eval.report.warm import WarmKernel

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('data = shared = out = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(KERNEL_CELL)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "panel.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "out.json"
    params_ = {"data": str(prepared_dir), "shared": str(tmp_path / "shared"), "out": str(out)}
    with WarmKernel() as kernel:
        kernel.execute(path, tmp_path / "panel.out.ipynb", params_, cwd=tmp_path)
    got = json.loads(out.read_text())
    want = pv._build_panel(prep, 73, pv.WINDOW, lean=True)
    assert got["rows"] == len(want) > 0 and got["acute"] == int(want["acute"].sum())
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        assert got["refused"]  # the case the panel code must survive
