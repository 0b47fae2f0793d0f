"""Study 07 (business case): the wiring from the effect studies to the cost arithmetic.

What is checked, and against what
---------------------------------
* The arithmetic of :func:`nsv_eval.analyses.business_case.business_case` itself is tested in
  ``tests/test_business_case.py`` (closed forms). Here: that :mod:`nsv_eval.report.studies.s07_business_case`
  passes it the right inputs, i.e. for each intervention
  ``avoided = observed × (1/RR − 1)``, ``gross = avoided × unit cost`` (midpoint of a range),
  ``net = gross − programme cost``, where
* ``observed`` is recounted independently from ``cube.parquet`` (DuckDB, not through the
  cached summaries) and from the cohort files, and the programme cost from the roll-out date,
  the cohort files and ``params/defaults.yaml``;
* ``RR`` is the effect study's own estimate (study 5's ITS, study 4's IPTW, study 3's Poisson
  DiD; its Callaway & Sant'Anna DiD as the sensitivity line or ``design="did_cs"``).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from nsv_eval.analyses import effects, falls, load_prepared
from nsv_eval.analyses import readmissions as rm
from nsv_eval.errors import InputError
from nsv_eval.reference import AGE_BANDS
from nsv_eval.report import figures
from nsv_eval.report.studies import s07_business_case as business

YEARS = range(2010, 2025)


@pytest.fixture(scope="module")
def prep(prepared_dir: Path):
    return load_prepared(prepared_dir)


@pytest.fixture(scope="module")
def kommune(synth_dir: Path) -> int:
    """The largest kommune that ran both the acute team and the falls programme."""
    t = json.loads((synth_dir / "truth.json").read_text(encoding="utf-8"))
    both = [k for k in t["kommuner"] if k["acute_team_start"] and k["falls_programme_start"]]
    return int(max(both, key=lambda k: k["persons_first_day"])["kommune_code"])


@pytest.fixture(scope="module")
def defaults() -> dict:
    path = Path(__file__).resolve().parents[1] / "params" / "defaults.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["unit_costs_dkk"]


@pytest.fixture(scope="module")
def cases(prep, kommune, defaults):
    return {c.key: c for c in business.all_cases(prep, kommune, defaults, years=YEARS, n_sim=4000)}


def _cube_count(prepared_dir: Path, kommune: int, measure: str, first: pd.Timestamp) -> float:
    old = ", ".join(f"'{b}'" for b in AGE_BANDS[13:])
    sql = (
        f"SELECT sum({measure}) FROM read_parquet(?) WHERE kommune_code = ? AND "
        f"age_band IN ({old}) AND year * 12 + month >= ?"
    )
    (n,) = duckdb.execute(
        sql, [str(prepared_dir / "cube.parquet"), kommune, first.year * 12 + first.month]
    ).fetchone()
    return n or 0


def _point(c) -> float:
    return (c[0] + c[1]) / 2 if isinstance(c, list | tuple) else float(c)


def test_arithmetic_wiring(cases, defaults) -> None:
    """avoided = observed × (1/RR − 1); gross = avoided × unit cost; net = gross − cost."""
    assert cases["acute_team"].available and cases["falls_programme"].available
    for c in cases.values():
        if not c.available:
            continue
        t = c.result.table().set_index("quantity")
        avoided = c.observed * (1 / c.rate_ratio - 1)
        assert t.at["avoided", "estimate"] == pytest.approx(avoided, rel=1e-12)
        unit_key, _ = business.COST_KEYS[c.key]
        gross = avoided * _point(defaults[unit_key])
        assert t.at["gross_saving", "estimate"] == pytest.approx(gross, rel=1e-12)
        assert t.at["net_saving", "estimate"] == pytest.approx(gross - c.programme_cost)
        assert c.result.inputs["observed"] == c.observed
        assert (c.result.inputs["rate_ratio"], c.result.inputs["rr_lower"]) == (
            c.rate_ratio,
            c.rr_lower,
        )


def test_acute_team_inputs(prep, prepared_dir, kommune, cases, defaults) -> None:
    """Observed preventable admissions 65+ and years running, recounted from the cube and
    the roll-out table; the ratio is study 5's ITS level change."""
    c = cases["acute_team"]
    start = prep.start_date(kommune, "acute_team")
    first = effects.first_post_month(start)
    assert c.observed == _cube_count(prepared_dir, kommune, "preventable", first)
    months = (2024 - first.year) * 12 + 12 - first.month + 1
    assert c.details["months"] == months
    py = _cube_count(prepared_dir, kommune, "person_years", first)
    assert c.programme_cost == pytest.approx(
        defaults["acute_team_per_1000_65plus_per_year"] * py / 1000, rel=1e-9
    )
    its = effects.kommune_its(prep, kommune, "preventable", start, years=YEARS)
    assert c.rate_ratio == pytest.approx(float(its.main_effect()["estimate"]))
    assert c.period[0] == first


def test_falls_inputs(prep, prepared_dir, kommune, cases, defaults) -> None:
    """Observed fall injuries 65+ from the cube; participants from cohort_falls; the ratio is
    study 3's main estimate, the Poisson DiD (observed / counterfactual fall injuries in the
    kommuner with the programme), with study 3's Callaway & Sant'Anna ratio as the
    sensitivity line."""
    c = cases["falls_programme"]
    first = effects.first_post_month(prep.start_date(kommune, "falls_programme"))
    assert c.observed == _cube_count(prepared_dir, kommune, "fall_injury", first)
    cf = pd.read_parquet(prepared_dir / "cohort_falls.parquet")
    n_part = int((cf["participant"] & (cf["kommune_code"] == kommune)).sum())
    assert c.programme_cost == pytest.approx(n_part * defaults["falls_programme_per_participant"])
    panel = falls.national_panel(prep, years=YEARS)
    pd_res, _ = falls.national_poisson_did(panel)
    main = pd_res.main_effect()
    assert (c.rate_ratio, c.rr_lower, c.rr_upper) == pytest.approx(
        (main["estimate"], main["lower"], main["upper"])
    )
    assert "Poisson" in c.design_da and c.result.inputs.get("additive") is None
    did, _ = falls.national_did(panel)
    ratio = effects.did_rate_ratio(did, panel).main_effect()
    sens = c.sensitivity
    assert sens is not None
    assert (sens.rate_ratio, sens.rr_lower, sens.rr_upper) == pytest.approx(
        (float(ratio["estimate"]), float(ratio["lower"]), float(ratio["upper"]))
    )
    text = business.sensitivity_sentence(c)
    assert "Callaway & Sant'Anna" in text and "hovedberegningen" in text and "95 %-KI" in text
    # shown under the summary table (the section's text after it)
    (sec,) = business.results(cases.values(), navn="x", period_start=2010, period_end=2024)
    assert sec.after is not None and text in sec.after


def test_falls_callaway_santanna_option(prep, kommune, defaults) -> None:
    """``design="did_cs"``: study 3's Callaway & Sant'Anna ratio; the simulation runs on the
    ATT's scale with the observed treated mean held fixed, so the avoided events' limits are
    the image of the ATT's limits (4,000 draws)."""
    costs = business.resolve_unit_costs(defaults, kommune)
    c = business.falls_case(prep, kommune, costs, years=YEARS, design="did_cs", n_sim=4000)
    panel = falls.national_panel(prep, years=YEARS)
    did, _ = falls.national_did(panel)
    ratio = effects.did_rate_ratio(did, panel).main_effect()
    assert c.rate_ratio == pytest.approx(float(ratio["estimate"]))
    att = did.main_effect()
    base = effects.treated_post_mean(panel, did)
    assert c.result.inputs["additive"] == pytest.approx(
        (att["estimate"], att["lower"], att["upper"], base)
    )
    t = c.result.table().set_index("quantity")
    assert t.at["avoided", "lower"] == pytest.approx(-c.observed * att["upper"] / base, rel=0.05)
    assert t.at["avoided", "upper"] == pytest.approx(-c.observed * att["lower"] / base, rel=0.05)
    assert business.sensitivity_sentence(c) == ""


def test_followup_inputs(prep, prepared_dir, kommune, cases, defaults) -> None:
    """The ratio is study 4's IPTW effect among the visited (ATT) on the region; observed are
    the kommune's 30-day readmissions after visited discharges (recounted from
    cohort_readmission.parquet); every visit is costed."""
    c = cases["followup_visit"]
    cr = pd.read_parquet(prepared_dir / "cohort_readmission.parquet")
    own = cr[(cr["kommune_code"] == kommune) & cr["followup_visit"]]
    if not c.available:  # a small kommune at scale 0.005: say why, don't compute
        assert int(own["readmit_30d"].sum()) < 5 and "under 5" in c.reason_da
        return
    assert c.observed == int(own["readmit_30d"].sum())
    assert c.programme_cost == pytest.approx(len(own) * defaults["followup_visit"])
    rc = rm.readmission_cohort(prep, kommune, scope="region", years=YEARS)
    att = rm.followup_effect(rc, estimand="ATT")
    assert c.rate_ratio == pytest.approx(float(att.main_effect()["estimate"]))


def test_summary_sentences_and_figure(cases) -> None:
    tab = business.summary_table(list(cases.values()))
    assert len(tab) == sum(c.available for c in cases.values())
    assert (tab["share_net_positive"].between(0, 100)).all()
    for c in cases.values():
        s = business.case_sentence(c)
        assert s.startswith(c.label_da)
        # a confidence distribution, never called the probability that it saves money
        assert "Sandsynligheden for" not in s and "sandsynligvis" not in s
        if c.available:
            assert "konfidensfordeling" in s
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = figures.net_plot(list(cases.values()))
    assert len(fig.axes) == len(tab)
    plt.close(fig)


def test_never_started_and_date_override(prep, kommune, defaults) -> None:
    """A kommune without an acute team gets a reason, not an error; a date override moves the
    start; an override of None means 'never started'."""
    never = prep.rollout
    never = never[(never["intervention"] == "acute_team") & never["start_date"].isna()]
    k0 = int(never["kommune_code"].iloc[0])
    costs = business.resolve_unit_costs(defaults, k0)
    c = business.acute_team_case(prep, k0, costs, years=YEARS)
    assert not c.available and "akutteam" in c.reason_da
    assert business.summary_table([c]).empty
    assert business.case_sentence(c).startswith("Akutteam:")
    c2 = business.acute_team_case(
        prep, kommune, costs, years=YEARS, intervention_dates={"acute_team": "2018-01-01"}
    )
    assert c2.period[0] == pd.Timestamp("2018-01-01")
    c3 = business.acute_team_case(
        prep, kommune, costs, years=YEARS, intervention_dates={"acute_team": None}
    )
    assert not c3.available


def test_falls_its_option(prep, kommune, defaults) -> None:
    costs = business.resolve_unit_costs(defaults, kommune)
    c = business.falls_case(prep, kommune, costs, years=YEARS, design="its", n_sim=2000)
    start = prep.start_date(kommune, "falls_programme")
    its = effects.kommune_its(prep, kommune, "fall_injury", start, years=YEARS)
    assert c.rate_ratio == pytest.approx(float(its.main_effect()["estimate"]))
    with pytest.raises(ValueError, match="design"):
        business.falls_case(prep, kommune, costs, years=YEARS, design="rct")


def test_unit_costs(defaults) -> None:
    """Empty → params files (defaults.yaml + Kalundborg's override of the visit price)."""
    got = business.resolve_unit_costs({}, 326)
    assert got["followup_visit"] == 1800.0
    assert got["preventable_admission"] == tuple(
        float(x) for x in defaults["preventable_admission"]
    )
    with pytest.raises(InputError, match="readmission"):
        business.resolve_unit_costs({**defaults, "readmission": [50, 10]}, 101)
    with pytest.raises(InputError, match="lacks"):
        business.resolve_unit_costs({"readmission": 1.0}, 101)
    with pytest.raises(InputError, match="bed_day"):
        business.resolve_unit_costs({**defaults, "bed_day": -1}, 101)
    assert np.isfinite(business._point((1.0, 3.0)))


def test_methods_name_the_falls_design() -> None:
    """The methods section (moved from the notebook's markdown) names the falls design the
    case used: the Poisson DiD with the Callaway & Sant'Anna sensitivity line by default,
    the CS ratio, or the kommune's ITS; an unknown design is refused."""
    did = business.methods("did")[0].text
    cs = business.methods("did_cs")[0].text
    its = business.methods("its")[0].text
    assert did is not None and cs is not None and its is not None
    assert "Poisson difference-in-differences" in did and "følsomhedsberegning" in did
    assert "Poisson" not in cs and "Callaway & Sant'Anna difference-in-differences" in cs
    assert "afbrudte tidsserie" in its and "Poisson" not in its
    assert all(t.count("\n- **") == 7 for t in (did, cs, its))  # eight bullets each
    with pytest.raises(ValueError, match="falls_design"):
        business.methods("twfe")
