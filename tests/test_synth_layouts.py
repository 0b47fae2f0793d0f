"""Synthetic Denmark on the real population and in the register's own layouts.

Checked against: the shipped FOLK1A 2014 table (totals quoted in
``nsv_eval/data/README.md``: 5,627,145 residents, Kalundborg 48,358 of whom 10,331 aged
65+), and the generator itself — the same seed written in the tidy layout and in the LPR3
layout must give the same hospital admissions once the LPR3 extract has gone through
``prepare --format lpr3`` (ER splits, out-patient and virtual visits must not change them).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nsv_eval.clean.prepare import prepare
from nsv_eval.clean.stays import build_stays
from nsv_eval.synth import generate
from nsv_eval.synth.population import (
    age_sex_counts,
    full_scale_codes,
    kommune_totals,
    population_2014,
    sizes,
)


def test_real_population_table() -> None:
    df = population_2014()
    assert int(df["population"].sum()) == 5_627_145
    assert df["kommune_code"].nunique() == 98
    k = df[df["kommune_code"] == 326]
    assert int(k["population"].sum()) == 48_358
    assert int(k.loc[k["age"] >= 65, "population"].sum()) == 10_331
    c = age_sex_counts(326)
    assert c.shape == (2, 111) and int(c.sum()) == 48_358


def test_sizes_and_full_scale_selection() -> None:
    sel = full_scale_codes("region:1085")
    assert 326 in sel and len(sel) == 17  # Region Sjælland's 17 kommuner
    assert full_scale_codes("326, 330") == {326, 330}
    with pytest.raises(ValueError, match="not one of the 98"):
        full_scale_codes("999")
    s = sizes(0.01, {326}, 50)
    assert s[326] == 48_358
    assert s[101] == round(kommune_totals()[101] * 0.01)
    assert s.min() >= 50


def test_lpr3_layout_gives_the_same_admissions(tmp_path: Path) -> None:
    tidy, lpr3 = tmp_path / "tidy", tmp_path / "lpr3"
    generate(tidy, scale=0.0015, seed=3, start_year=2019, end_year=2020)
    truth = generate(lpr3, scale=0.0015, seed=3, start_year=2019, end_year=2020, layout="lpr3")
    assert (lpr3 / "kontakter.parquet").exists() and not (lpr3 / "contacts.parquet").exists()
    k = pd.read_parquet(lpr3 / "kontakter.parquet")
    assert set(k["prioritet"]) == {"ATA1", "ATA3"}
    assert set(k["kontakttype"]) == {"ALCA00", "ALCA03"}
    counts = truth["layout"]["counts"]
    assert counts["er_contacts"] > 0 and counts["outpatient"] > 0 and counts["virtual"] > 0
    assert {"DZ039"} <= set(k["aktionsdiagnose"])
    assert "ALCC02" in set(k["kontaktaarsag"])

    out = tmp_path / "prepared"
    prepare(lpr3, out, layout="lpr3", pseudonymised_key="PNR", log=None)
    got = pd.read_parquet(out / "stays.parquet")
    expected = build_stays(tidy / "contacts.parquet")
    cols = ["person_id", "start", "end", "acute", "action_diagnosis"]
    a = got.loc[got["admission"], cols].sort_values(cols[:3]).reset_index(drop=True)
    b = expected.loc[expected["admission"], cols].sort_values(cols[:3]).reset_index(drop=True)
    assert len(a) > 100
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # every added contact is outside an admission: stays < 12 h only
    assert len(got) > len(expected)


def test_vectorised_helpers_agree_with_brute_force() -> None:
    """The searchsorted/accumulate helpers of synth/layouts.py against plain loops."""
    import numpy as np

    from nsv_eval.synth import layouts as lay

    rng = np.random.default_rng(0)
    person = np.sort(rng.integers(0, 50, 400)).astype(object)
    a = np.zeros(400, np.int64)
    d = np.zeros(400, np.int64)
    for p in np.unique(person):
        m = person == p
        st = np.sort(rng.integers(0, 10**7, m.sum()))
        a[m], d[m] = st, st + rng.integers(0, 10**6, m.sum())
    same = np.r_[False, person[1:] == person[:-1]]
    loop = d.copy()
    for i in range(1, len(d)):
        if same[i]:
            loop[i] = max(loop[i - 1], d[i])
    assert (lay._running_max_by_person(d, same) == loop).all()
    src = rng.integers(0, 400, 3000)
    vs = a[src] + rng.integers(-3 * 10**6, 3 * 10**6, 3000)
    ve = vs + 3600
    m = 2 * 86400
    brute = np.array(
        [not np.any((person == person[s]) & (a - m < ve[j]) & (d + m > vs[j]))
         for j, s in enumerate(src)]
    )  # fmt: skip
    got = lay._far_from_contacts(person, a, d, src, vs, ve)
    assert (got == brute).all() and 0.2 < got.mean() < 0.8


def test_full_scale_kommune_has_its_real_size(tmp_path: Path) -> None:
    """``--full-scale 825``: Læsø at its real 2014 size, the rest at the given scale."""
    truth = generate(tmp_path, scale=0.001, seed=2, start_year=2023, end_year=2024,
                     full_scale="825")  # fmt: skip
    first = {k["kommune_code"]: k["persons_first_day"] for k in truth["kommuner"]}
    real = kommune_totals()
    assert first[825] == real[825]
    assert first[101] == round(real[101] * 0.001)
    assert truth["full_scale"] == [825]
    assert sum(first.values()) == truth["counts"]["residents_first_day"]


def test_lpr2_layout_gives_the_planted_courses(tmp_path: Path) -> None:
    """LPR2 has a patient type: every internal course has an in-patient contact, so the
    prepared admission courses are exactly the planted ones (``truth.counts.courses``)."""
    raw = tmp_path / "raw"
    truth = generate(raw, scale=0.002, seed=2, start_year=2015, end_year=2018, layout="lpr2")
    adm = pd.read_parquet(raw / "lpr_adm.parquet")
    assert set(adm["C_PATTYPE"]) == {"0", "1", "2"}
    # legacy definitions: the planted courses (LPR2 counts a course with an in-patient contact)
    m = prepare(
        raw,
        tmp_path / "prepared",
        layout="lpr2",
        pseudonymised_key="PNR",
        log=None,
        definitions_choice="legacy",
    )
    assert m["counts"]["courses"] == truth["counts"]["courses"]
    assert m["counts"]["stays"] == truth["counts"]["courses"]  # out-patient contacts left out
