"""The synthetic Denmark against published Danish national levels (official definitions).

Reference: the ``published_level`` of each official definition file (source, year, range),
copied into ``truth.json``: preventable admissions of the elderly about 60 per 1,000 65+ in
2023 (range 53-71; DI 2024 after eSundhed), the 30-day somatic readmission share of
residents 65+ between the GP deciles 11-22 % (Sundhedsdatastyrelsen 2020, 2018), people
with COPD 3.94 % (3.4-4.5) and with type 2 diabetes 4.96 % (4.3-5.6) of residents 18+ in
2015 (Sundhedsdatastyrelsen: 175,500 and 220,500), and fall injuries of residents 65+ about
16 admissions per 1,000 (range 13-22 for the official indicator; Statens Institut for
Folkesundhed: more than 13,000 admissions after falls of people over 65 in 2002, measured in
the synthetic years before any falls programme, 2010-2011).

A small world (scale 0.005, seed 7, LPR3, about 33,000 persons) is generated and prepared
exactly like the shipped data. Sampling noise at this size (95 % half-width, reported by
``national_levels`` as ``noise_95``): about ±6 per 1,000 for the preventable rate (about
340 admissions), ±1.7 points for the readmission share (about 1,650 index admissions),
±0.3 points for each prevalence (about 22,000 adults), ±3 per 1,000 for the fall-injury
rate (about 200 admissions in two years). The shipped scale (0.02) has half that noise.
The test checks that the measured level lies in the published range.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsv_eval import definitions as D
from nsv_eval.definitions.levels import national_levels


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from nsv_eval.clean import prepare
    from nsv_eval.synth import generate

    raw = tmp_path_factory.mktemp("calib-raw")
    generate(raw, scale=0.005, seed=7, layout="lpr3")
    out = tmp_path_factory.mktemp("calib-prepared")
    prepare(raw, out, layout="lpr3", pseudonymised_key="PNR", log=None)
    return raw, out


def test_truth_cites_the_published_levels(world) -> None:
    raw, _ = world
    truth = json.loads((raw / "truth.json").read_text(encoding="utf-8"))
    pub = truth["published_levels"]
    assert set(pub) == {"preventable", "readmission", "copd_acute", "diabetes_acute", "fall_injury"}
    for id, entry in pub.items():
        d = D.get(id).published_level
        assert (entry["low"], entry["high"], entry["year"]) == (d["low"], d["high"], d["year"])
        assert entry["source"]["url"].startswith("https://")
        assert entry["calibrated_by"], id


def test_national_levels_fall_in_the_published_ranges(world) -> None:
    _, out = world
    lv = national_levels(out).set_index("id")
    assert set(lv.index) == {
        "preventable",
        "readmission",
        "copd_acute",
        "diabetes_acute",
        "fall_injury",
    }
    assert (lv["variant"] == "official").all()
    for id, row in lv.iterrows():
        assert row["low"] <= row["value"] <= row["high"], (id, row.to_dict())
        # the world is large enough that the range is wider than its sampling noise
        assert row["noise_95"] < (row["high"] - row["low"]) / 2, id
    assert lv.loc["preventable", "year"] == 2023 and lv.loc["copd_acute", "year"] == 2015
    # the 2002 source is compared with the years before any kommune's falls programme
    assert lv.loc["fall_injury", "years"] == "2010-2011"
