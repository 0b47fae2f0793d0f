"""Issue 19: every study renders for the smallest kommuner and for a kommune with no events.

What is checked against what:

* The five smallest kommuner by population (``approx_population`` in
  ``nsv_eval/data/kommuner.csv``, Danmarks Statistik): Læsø 825, Fanø 563, Samsø 741, Ærø 492
  and Langeland 482. At the test scale (0.005) Læsø has about ten residents, so several
  indicators have no events or no denominator at kommune level — the situation in which
  the kommuneprofil used to crash (``KeyError: ... ['kommune'] ... not in the index``,
  ``attempt to get argmax of an empty sequence``).
* A planted truth by construction (``empty_kommune_prepared``, ``tests/_empty_kommune.py``):
  Svendborg (479) keeps its residents but loses every event, death, intervention and survey
  respondent. Its profile must therefore show 0 events for every indicator, no value, and
  say in Danish why (no events / no index discharges / no respondents); its life expectancy
  cannot be estimated either.
* The overview page: a key figure whose float ``repr`` has a 10-digit fraction starting
  with a date (the issue's ``…177634.061135XXXX…``) must not withhold ``index.html``.
* A CI-sized batch over the six kommuner × all seven studies on the emptied data: every
  report and its JSON written with status ok, ``index.html`` published, and
  ``check_disclosure`` passes on the whole output.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from conftest import EMPTY_KOMMUNE

from nsv_eval.analyses import INDICATORS, load_prepared
from nsv_eval.batch import run_batch, write_index
from nsv_eval.reference import kommuner
from nsv_eval.report.disclosure import check_disclosure
from nsv_eval.report.estimable import REASONS_DA, not_estimable_da, reason_da
from nsv_eval.report.studies import STUDIES
from nsv_eval.report.studies import s02_kommuneprofil as s02

SMALLEST = [825, 563, 741, 492, 482]
YEARS = [2022, 2023, 2024]


def test_the_five_smallest_kommuner() -> None:
    k = kommuner().sort_values("population", kind="stable")
    assert k["kommune_code"].head(5).tolist() == SMALLEST
    assert EMPTY_KOMMUNE not in SMALLEST


# ----------------------------------------------------------------------------------------
# the shared wording
# ----------------------------------------------------------------------------------------


def test_not_estimable_sentence() -> None:
    s = not_estimable_da("Raten", "too_few_events", events="faldulykker", periode="2024")
    assert s == "Raten kan ikke beregnes: under 10 faldulykker i 2024 er for få til en stabil rate."
    assert reason_da("no_denominator", denominator="udskrivelser", periode="2024") == (
        "ingen udskrivelser i 2024"
    )
    with pytest.raises(KeyError, match="unknown reason 'nope'"):
        reason_da("nope")
    with pytest.raises(KeyError, match="needs the field 'periode'"):
        reason_da("no_events", events="x")
    assert all(v == v.strip() and not v.endswith(".") for v in REASONS_DA.values())


# ----------------------------------------------------------------------------------------
# the profile on a kommune with no events (no notebooks run)
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_prep(empty_kommune_prepared: Path, tmp_path_factory: pytest.TempPathFactory):
    return load_prepared(empty_kommune_prepared, tmp_path_factory.mktemp("shared-empty"))


def test_profile_table_says_why_nothing_can_be_estimated(empty_prep) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = s02.profile_table(empty_prep, EMPTY_KOMMUNE, YEARS).set_index("indicator")
    assert list(tab.index) == list(INDICATORS)
    assert (tab["numerator"] == 0).all()
    assert tab["estimate"].isna().all()
    assert (tab["vs_region"] == "ikke sammenlignet").all()
    for key, r in tab.iterrows():
        assert r["note"].startswith(f"{INDICATORS[key].label_da} kan ikke beregnes: "), key
        assert r["note"].endswith("i 2022–2024."), key
    # a proportion without a denominator vs rates without events
    assert "ingen indlæggelser af borgere 65+" in tab.at["readmission_65", "note"]
    assert "ingen hændelser" in tab.at["preventable_65", "note"]
    # the region and the country still have their values
    assert tab["region"].notna().all() and tab["land"].notna().all()


def test_life_expectancy_and_survey_say_why(empty_prep) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        le = s02.life_expectancy_table(empty_prep, EMPTY_KOMMUNE, range(2020, 2025))
    own = le[le["level"] == "kommune"]
    assert sorted(own["sex"]) == ["F", "M"]  # the kommune's rows are kept
    assert own["estimate"].isna().all()
    assert own["note"].str.contains("i kommunen kan ikke beregnes: ").all()
    assert (le.loc[le["level"] != "kommune", "note"] == "").all()
    assert le.loc[le["level"] == "land", "estimate"].notna().all()

    sv = s02.survey_table(empty_prep, EMPTY_KOMMUNE)
    k = sv[sv["level"] == "kommune"]
    assert (k["respondents"] == 0).all() and k["estimate"].isna().all()
    assert k["note"].str.contains("ingen svarpersoner fra Svendborg Kommune").all()
    assert (sv.loc[sv["level"] != "kommune", "note"] == "").all()


def test_smallest_kommune_profile_without_denominator(prepared_dir: Path, tmp_path: Path) -> None:
    """Læsø at the test scale in a one-year period: the profile table is complete (one row
    per indicator) and every missing value has its Danish reason."""
    prep = load_prepared(prepared_dir, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = s02.profile_table(prep, 825, [2024])
    assert list(tab["indicator"]) == list(INDICATORS)
    missing = tab["estimate"].isna()
    assert missing.any()  # at this size something cannot be estimated
    assert tab.loc[missing, "note"].str.contains(" kan ikke beregnes: ").all()
    assert (tab.loc[~missing, "note"] == "").all()


# ----------------------------------------------------------------------------------------
# the overview's sort keys
# ----------------------------------------------------------------------------------------


def test_index_sort_keys_bounded_and_page_published(tmp_path: Path) -> None:
    """The issue's key figure (a float whose repr has a 10-digit fraction that starts with
    a date) no longer withholds index.html; the sort keys keep the numeric order."""
    values = {825: -144237.16033012345, 563: 177634.06113512345, 741: 0.0310190123, 492: 7}
    tasks = {}
    for code, v in values.items():
        (tmp_path / str(code)).mkdir()
        item = {"key": "gap", "kind": "number", "value": v, "display": str(v), "label_da": "Gab"}
        (tmp_path / str(code) / "01_datakvalitet.json").write_text(
            json.dumps({"findings": [item]}), encoding="utf-8"
        )
        tasks[f"{code}/datakvalitet"] = {
            "kommune": code,
            "study": "datakvalitet",
            "slug": "01_datakvalitet",
            "status": "ok",
            "json": f"{code}/01_datakvalitet.json",
        }
    assert repr(values[825]).split(".")[1][:10] == "1603301234"  # CPR-shaped fraction
    assert write_index(tmp_path, {"tasks": tasks}, {"data_fingerprint": "ab12"}) == []
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert check_disclosure(tmp_path / "index.html") == []
    soup = BeautifulSoup(page, "html.parser")
    keys = {}
    for tr in soup.select("#noegletal-01_datakvalitet tbody tr"):
        cells = tr.find_all("td")
        keys[int(cells[0].get_text())] = cells[-1]["data-sort"]
    for code, key in keys.items():
        digits = key.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
        assert len(digits) <= 8, key
        assert math.isclose(float(key), values[code], rel_tol=1e-7)
    order = sorted(keys, key=lambda c: float(keys[c]))
    assert order == sorted(values, key=values.get)


# ----------------------------------------------------------------------------------------
# a CI-sized batch: the five smallest kommuner and the emptied one, every study
# ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_batch_smallest_and_empty_kommune_every_study(
    empty_kommune_prepared: Path, tmp_path: Path
) -> None:
    codes = [*SMALLEST, EMPTY_KOMMUNE]
    res = run_batch(
        "all",
        codes,
        data_dir=empty_kommune_prepared,
        out_dir=tmp_path / "reports",
        jobs=2,
        progress=False,
    )
    t = res.tasks
    failed = t[t["status"] != "ok"]
    assert failed.empty, failed[["kommune", "study", "status", "error"]].to_string()
    assert len(t) == len(codes) * len(STUDIES)
    for _, r in t.iterrows():
        assert Path(r["html"]).is_file() and Path(r["json"]).is_file(), (r["kommune"], r["study"])
    assert res.index is not None and res.index.is_file(), res.index_findings
    assert check_disclosure(res.out_dir) == []

    # the emptied kommune's profile says, in Danish, what cannot be estimated and why
    slug = STUDIES["kommuneprofil"].slug
    own = res.out_dir / str(EMPTY_KOMMUNE)
    text = BeautifulSoup((own / f"{slug}.html").read_text(encoding="utf-8"), "html.parser")
    text = " ".join(text.get_text(" ").split())
    for ind in INDICATORS.values():
        assert f"{ind.label_da} kan ikke beregnes: " in text, ind.key
    assert "ingen svarpersoner fra Svendborg Kommune i Sundhedsprofilen" in text
    assert "Middellevetiden for kvinder i kommunen kan ikke beregnes" in text
    findings = json.loads((own / f"{slug}.json").read_text(encoding="utf-8"))["findings"]
    notes = {f["key"]: f for f in findings if f["key"] in INDICATORS}
    assert set(notes) == set(INDICATORS)
    assert all(f["kind"] == "text" and "kan ikke beregnes" in f["text"] for f in notes.values())


# ----------------------------------------------------------------------------------------
# a short study period: no kommune starts a programme inside it
# ----------------------------------------------------------------------------------------


def test_did_check_reasons() -> None:
    """Planted panels: the reasons a national DiD cannot be estimated, and a usable panel."""
    from nsv_eval.analyses import falls

    def panel(first: dict[int, int], years: range) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"kommune_code": k, "year": y, "first_treated": g}
                for k, g in first.items()
                for y in years
            ]
        )

    ok = panel({101: 0, 147: 2020, 151: 2022}, range(2015, 2025))
    assert falls.did_check(ok) is None
    # every start before or in the first year of a short period: no before-and-after
    short = panel({101: 0, 147: 2016, 151: 2019}, range(2022, 2025))
    assert "ingen kommune startede indsatsen i perioden 2022–2024" in falls.did_check(short)
    # the start year only counts after the anticipation years
    assert falls.did_check(panel({101: 0, 147: 2016}, range(2016, 2025))) is not None
    assert falls.did_check(panel({101: 0, 147: 2017}, range(2016, 2025))) is None
    assert falls.did_check(panel({101: 0, 147: 2017}, range(2016, 2025)), anticipation=1)
    assert "ét år" in falls.did_check(panel({101: 0, 147: 2020}, range(2024, 2025)))
    same = panel({147: 2020, 151: 2020}, range(2015, 2025))
    assert "ingen kommuner at sammenligne med" in falls.did_check(same)


@pytest.mark.slow
def test_short_period_effect_studies_render(prepared_dir: Path, tmp_path: Path) -> None:
    """Studies 3 and 5 with a three-year period (2022–2024) in which no kommune of the test
    data starts a programme: the reports render and say in Danish why the national DiD cannot
    be estimated (before the fix: ``InputError: no treated units`` in both notebooks)."""
    from nsv_eval.report.render import run_studies

    params = tmp_path / "short.yaml"
    params.write_text("period:\n  start: 2022\n  end: 2024\n", encoding="utf-8")
    runs = run_studies(
        ["fald", "forebyggelige"],
        825,
        data_dir=prepared_dir,
        out_dir=tmp_path / "r",
        params=params,
    )
    assert [r.status for r in runs] == ["ok", "ok"], [r.error for r in runs]
    for r in runs:
        text = r.html.read_text(encoding="utf-8")
        assert "Difference-in-differences på tværs af kommuner kan ikke beregnes" in text
