"""Parameter files: merging and validation (the shipped params/ and planted mistakes)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from nsv_eval.errors import InputError
from nsv_eval.params import load_params, notebook_parameters, params_hash

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pdir(tmp_path: Path) -> Path:
    """A copy of the shipped params/ directory to plant mistakes in."""
    d = tmp_path / "params"
    shutil.copytree(ROOT / "params", d)
    return d


def test_shipped_defaults_and_326_override() -> None:
    p = load_params(326, ROOT / "params")
    assert p["kommune"] == 326
    assert p["period"] == {"start": 2010, "end": 2024}
    assert p["comparison_level"] == "region"
    assert p["intervention_dates"] == "data"
    assert p["unit_costs_dkk"]["followup_visit"] == 1800  # overridden in kommuner/326.yaml
    assert p["unit_costs_dkk"]["bed_day"] == 4000  # from defaults
    assert p["sources"][-1].endswith("kommuner/326.yaml")
    other = load_params(101, ROOT / "params")  # no override file: defaults only
    assert other["unit_costs_dkk"]["followup_visit"] == 1500
    nbp = notebook_parameters(p, "datakvalitet")
    assert nbp["period_start"] == 2010 and nbp["top_reject_reasons"] == 10
    assert params_hash(p) != params_hash(other)


def test_unknown_key_names_file_and_suggestion(pdir: Path) -> None:
    (pdir / "kommuner" / "326.yaml").write_text("comparision_level: land\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_params(326, pdir)
    msg = str(err.value)
    assert "326.yaml" in msg and "'comparision_level'" in msg
    assert "did you mean 'comparison_level'" in msg


def test_unknown_nested_key(pdir: Path) -> None:
    (pdir / "kommuner" / "326.yaml").write_text(
        "unit_costs_dkk:\n  folowup_visit: 1000\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"did you mean 'unit_costs_dkk\.followup_visit'"):
        load_params(326, pdir)


def test_bad_date(pdir: Path) -> None:
    (pdir / "kommuner" / "326.yaml").write_text(
        "intervention_dates:\n  falls_programme: 2014-13-01\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"intervention_dates\.falls_programme.*YYYY-MM-DD"):
        load_params(326, pdir)


def test_good_dates_are_kept(pdir: Path) -> None:
    (pdir / "kommuner" / "326.yaml").write_text(
        "intervention_dates:\n  falls_programme: 2014-01-01\n  acute_team:\n", encoding="utf-8"
    )
    p = load_params(326, pdir)
    assert p["intervention_dates"] == {"falls_programme": dt.date(2014, 1, 1), "acute_team": None}
    assert notebook_parameters(p, "datakvalitet")["intervention_dates"] == {
        "falls_programme": "2014-01-01",
        "acute_team": None,
    }


def test_wrong_types_and_values(pdir: Path, tmp_path: Path) -> None:
    extra = tmp_path / "run.yaml"
    cases = {
        "period:\n  start: '2010'\n": "period.start' must be a year",
        "period:\n  start: 2020\n  end: 2015\n": "is after period.end",
        "comparison_level: kommune\n": "'region' or 'land'",
        "unit_costs_dkk:\n  bed_day: -5\n": "amount in DKK",
        "unit_costs_dkk:\n  bed_day: [5000, 100]\n": "range",
        "studies:\n  datakvalitet:\n    top_reject_reasons: ten\n": "must be a whole number",
        "studies:\n  fald:\n    did_control: sometimes\n": "'notyet', 'never'",
    }
    for text, message in cases.items():
        extra.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=message) as err:
            load_params(326, pdir, extra=extra)
        assert "run.yaml" in str(err.value)


def test_unknown_kommune(pdir: Path) -> None:
    with pytest.raises(InputError, match="999 is not one of the 98"):
        load_params(999, pdir)
    with pytest.raises(InputError, match="not a kommune code"):
        load_params("Kalundborg", pdir)  # type: ignore[arg-type]
    (pdir / "kommuner" / "998.yaml").write_text("lang: da\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"998\.yaml \(file name\).*not one of the 98"):
        load_params(326, pdir)


def test_kommune_key_must_match_file(pdir: Path) -> None:
    (pdir / "kommuner" / "326.yaml").write_text("kommune: 101\n", encoding="utf-8")
    with pytest.raises(InputError, match="kommune is 101, but the run is for kommune 326"):
        load_params(326, pdir)
