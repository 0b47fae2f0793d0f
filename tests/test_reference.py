"""Reference tables: 98 kommuner in 5 regions, ESP2013 totals, ICD-10 lists.

Checked against: the official kommune/region classification (98 kommuner: 11 in Nordjylland,
19 in Midtjylland, 22 in Syddanmark, 29 in Hovedstaden, 17 in Sjælland) and Eurostat's
ESP2013 (total 100,000; 95+ = 200).
"""

from __future__ import annotations

import pandas as pd
import pytest

from nsv_eval import reference as ref
from nsv_eval.definitions import codelists


def test_98_kommuner_in_5_regions() -> None:
    k = ref.kommuner()
    assert len(k) == 98
    assert k["kommune_code"].is_unique
    counts = k.groupby("region_code").size().to_dict()
    assert counts == {1081: 11, 1082: 19, 1083: 22, 1084: 29, 1085: 17}
    assert set(k["region_name"]) == set(ref.REGIONS.values())
    assert ref.kommune_name(326) == "Kalundborg"
    assert ref.region_of(326) == 1085
    assert "Ærø" in set(k["kommune_name"])  # names keep æ/ø/å
    assert 5_500_000 < k["population"].sum() < 6_200_000


def test_unknown_kommune_is_clear() -> None:
    with pytest.raises(KeyError, match="999"):
        ref.kommune_name(999)


def test_esp2013() -> None:
    esp = ref.esp2013()
    assert esp["population"].sum() == 100_000
    assert list(esp["age_band"]) == ref.AGE_BANDS
    assert esp.set_index("age_band").at["95+", "population"] == 200
    assert esp.set_index("age_band").at["0-4", "population"] == 5000


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0-4"),
        (4, "0-4"),
        (5, "5-9"),
        (64, "60-64"),
        (65, "65-69"),
        (94, "90-94"),
        (95, "95+"),
        (107, "95+"),
    ],
)
def test_age_band(age: int, band: str) -> None:
    assert ref.age_band(age) == band


def test_icd10_lists() -> None:
    codes = pd.Series(
        [
            "DJ189",
            "DN390",
            "DE86",
            "DW010",
            "DS720",
            "DS723",
            "DJ441",
            "DE119",
            "DI500",
            "DZ38",
            "junk",
        ]
    )
    assert codelists.ICD10["preventable"].matches(codes).tolist() == [
        True,
        True,
        True,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert codelists.ICD10["fall_injury"].matches(codes).tolist() == [
        False,
        False,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert codelists.ICD10["copd"].matches(codes).sum() == 1
    assert codelists.ICD10["diabetes"].matches(codes).sum() == 1
    assert codelists.ICD10["heart_failure"].matches(codes).sum() == 1
    assert ref.is_valid_icd10(codes).tolist()[-1] is False
    for cl in codelists.ICD10.values():
        assert cl.source, f"{cl.name} must name its source"
