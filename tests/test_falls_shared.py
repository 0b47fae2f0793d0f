"""Studies 3 and 4 share their kommune-independent work (issue #15).

What is the same for every kommune — study 3's national DiD fits (Poisson DiD, both
Callaway & Sant'Anna control groups, TWFE) and study 4's follow-up-visit analysis of a
region — is computed once per data set (and area) through ``Prepared.memo``; a batch's
``prepare_shared`` does study 3's national part before the reports.

Checked against an independent computation kept in the test: the same estimators called
directly, without any cache, on the same data. A second report must read the shared
results (the estimators are replaced by functions that fail) and get the same numbers.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nsv_eval import stats  # noqa: E402
from nsv_eval.analyses import falls  # noqa: E402
from nsv_eval.analyses import readmissions as rm  # noqa: E402
from nsv_eval.analyses.data import Area, Prepared  # noqa: E402
from nsv_eval.reference import kommuner  # noqa: E402
from nsv_eval.report import figures  # noqa: E402
from nsv_eval.report.findings import Findings  # noqa: E402
from nsv_eval.report.studies import s04_genindlaeggelser as s04  # noqa: E402
from nsv_eval.report.studies.s03_fald import FallsStudy  # noqa: E402

YEARS = range(2010, 2025)


def _same_region(kommune: int) -> int:
    """Another kommune of ``kommune``'s region."""
    k = kommuner()
    reg = int(k.loc[k["kommune_code"] == kommune, "region_code"].iloc[0])
    return int(k.loc[(k["region_code"] == reg) & (k["kommune_code"] != kommune)].iloc[0, 0])


def _fail(*args, **kwargs):
    raise AssertionError("a shared result was computed again")


def test_table_area_reads_only_the_area_rows(prepared_dir: Path) -> None:
    """``Prepared.table(area=)`` (a Parquet row filter) equals masking the national table,
    row order included, for a kommune and a region."""
    prep = Prepared(prepared_dir)
    full = prep.table("cohort_readmission")
    for level in ("kommune", "region"):
        area = Area.of(level, 326)
        want = full[area.mask(full)].reset_index(drop=True)
        got = prep.table("cohort_readmission", area=area)
        assert 0 < len(got) < len(full)
        pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(prep.table("cohort_readmission", area=Area("land")), full)


def test_prepare_shared_fits_study3_national_did_once(
    prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prepare_shared(..., ["fald"])`` writes the national fits; a report afterwards fits
    none of them and gets the estimates of the direct, uncached fits."""
    from nsv_eval.batch import prepare_shared

    first = prepare_shared(prepared_dir, tmp_path, ["fald"])
    assert first["fald"]["computed"] and len(first["fald"]["files"]) == 4
    assert not prepare_shared(prepared_dir, tmp_path, ["fald"])["fald"]["computed"]

    # independent: the estimators called directly on the same panel, no cache
    prep = Prepared(prepared_dir, tmp_path)
    panel = falls.national_panel(prep, years=YEARS)
    pdid, _ = falls.national_poisson_did(panel)
    cs, _ = falls.national_did(panel)
    cs_never, _ = falls.national_did(panel, control="never")
    twfe, _ = falls.twfe_contrast(panel)

    for name in ("poisson_did", "did", "twfe"):
        monkeypatch.setattr(stats, name, _fail)
    study = FallsStudy(Prepared(prepared_dir, tmp_path), 326, 2010, 2024)
    study.did()
    study.did_robustness()
    study.contrast()
    # pyfixest's Poisson DiD is not reproducible to the last digits between processes (the
    # shared work is fitted in a worker process with one BLAS thread, the reference here in
    # the test process: its small-sample df moved by 1.6e-7 relative), so 1e-6 for it; the
    # Callaway & Sant'Anna fits and the TWFE contrast agree to 1e-8
    for got, want, rtol in (
        (study.pdid, pdid, 1e-6),
        (study.did_res, cs, 1e-8),
        (study.did_alt, cs_never, 1e-8),
    ):
        pd.testing.assert_frame_equal(got.table(), want.table(), rtol=rtol)
    # the pyfixest model object is not kept (not picklable); the aggregations are
    assert study.pdid.model is None
    pd.testing.assert_frame_equal(study.pdid.aggregate("group"), pdid.aggregate("group"), rtol=1e-6)
    got_twfe, _ = falls.twfe_contrast(panel, cache=prep)
    pd.testing.assert_frame_equal(got_twfe.table(), twfe.table(), rtol=1e-8)


def test_followup_analysis_once_per_region(
    prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Study 4's follow-up analysis equals the direct computation on the region's cohort,
    and the report of a second kommune of the region reads it without estimating."""
    prep = Prepared(prepared_dir, tmp_path)
    fa = rm.followup_analysis(prep, 326, scope="region", years=YEARS)
    assert fa.problem is None

    # independent: the region's rows of the national cohort, the estimators without cache
    full = pd.read_parquet(prepared_dir / "cohort_readmission.parquet")
    rc = rm.readmission_cohort(full, 326, scope="region", years=YEARS)
    assert fa.counts == rc.counts
    pd.testing.assert_frame_equal(fa.groups, rm.group_table(rc))
    for got, kw in (
        (fa.effect, {}),
        (fa.effect_att, {"estimand": "ATT"}),
        (fa.matched, {"method": "match"}),
    ):
        pd.testing.assert_frame_equal(got.table(), rm.followup_effect(rc, **kw).table())
    lc = rm.readmission_cohort(full, 326, scope="region", years=YEARS, landmark_day=8)
    assert fa.landmark_counts == lc.counts
    if fa.landmark_effect is not None:
        pd.testing.assert_frame_equal(fa.landmark_effect.table(), rm.followup_effect(lc).table())
    pd.testing.assert_frame_equal(fa.cif_points, rm.cif_points(rm.cif_by_visit(rc)))
    for flag, code in rm.VISIT_GROUPS.items():
        want = int(((rc.data["followup_visit"] == flag) & (rc.data["event"] == 2)).sum())
        assert fa.deaths[code] == want

    # a second kommune of the region: nothing is estimated again, same key results
    other = _same_region(326)
    direct = s04.followup(prep, other, scope="region", period_start=2010, period_end=2024)
    monkeypatch.setattr(stats, "cohort_effect", _fail)
    monkeypatch.setattr(stats, "cumulative_incidence", _fail)
    again = s04.followup(prep, other, scope="region", period_start=2010, period_end=2024)
    got, want = _key_results(again), _key_results(direct)
    assert got["findings"] and got == want


def _key_results(fu: s04.Followup) -> dict:
    """The key results of study 4's follow-up sections, as the report's JSON holds them."""
    f = Findings(None, study="genindlaeggelser", kommune=0)
    for part in ("adequacy", "effect", "robustness", "competing"):
        for section in getattr(fu, part):
            for key in section.findings:
                key.apply(f)
    return f.to_dict()


def test_overlap_density_is_the_plotted_kde(prepared_dir: Path) -> None:
    """The overlap figure from a precomputed density draws the same curves as the figure
    computing its own kernel density (scipy ``gaussian_kde`` on each group's scores)."""
    from scipy.stats import gaussian_kde

    prep = Prepared(prepared_dir)
    rc = rm.readmission_cohort(prep, 326, scope="region")
    res = rm.followup_effect(rc)
    dens = rm.overlap_density(res)
    d = res.data
    for flag in (True, False):
        ps = d.loc[d["treated"] == flag, "ps"].to_numpy(float)
        want = gaussian_kde(ps)(np.linspace(0, 1, 201))
        np.testing.assert_allclose(dens.loc[dens["treated"] == flag, "density"], want)
    a = figures.overlap_plot(res)
    b = figures.overlap_plot(res, density=dens)
    for la, lb in zip(a.axes[0].get_lines(), b.axes[0].get_lines(), strict=True):
        np.testing.assert_array_equal(la.get_ydata(), lb.get_ydata())
    plt.close("all")
