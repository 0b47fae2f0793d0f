"""Assemble ``truth.json``: what the generator planted and what it realised."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nsv_eval import __version__, reference
from nsv_eval.synth import model, world

OUTCOME_GROUPS: dict[str, list[int]] = {
    "preventable": model.PREVENTABLE_GROUPS,
    "fall_injury": model.FALL_GROUPS,
    "hip_fracture": [model.GROUP_NAMES.index("hip_fracture")],
    "copd": [model.GROUP_NAMES.index("copd")],
    "diabetes": [model.GROUP_NAMES.index("diabetes")],
    "heart_failure": [model.GROUP_NAMES.index("heart_failure")],
    "acute_all": [g for g in range(model.N_GROUPS) if g != model.PLANNED],
}


def _r(x: float | None, nd: int = 4) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def _ratio(a: float, b: float) -> float | None:
    return None if b <= 0 else float(a) / float(b)


def assemble(
    acc,
    w: world.World,
    *,
    seed: int,
    scale: float,
    sizes: pd.Series,
    n_contacts: int,
    survey_info: dict,
) -> dict:
    """Build the truth dictionary (JSON-serialisable, deterministic)."""
    from nsv_eval.synth.generator import life_expectancy

    per = acc.period
    years = list(range(per.start_year, per.end_year + 1))
    kt = w.table
    counts = dict(acc.counts)
    counts["contacts"] = int(n_contacts)
    ix = acc.ix
    counts["index_discharges"] = int(ix["n"])
    counts["readmissions_30d"] = int(ix["robs_t"] + ix["robs_c"])
    counts["index_discharges_with_followup_visit"] = int(ix["treated"])
    counts["survey_respondents"] = int(survey_info.get("respondents", 0))
    counts = {k: int(v) for k, v in counts.items()}

    py65 = acc.py[:, 1]
    levels: dict[str, object] = {
        "description": (
            "Rates per 1,000 residents aged 65+ per year. 'expected' = the generator's "
            "intensity integrated over person-time (background process, i.e. without the "
            "courses drawn by the readmission model and terminal admissions); 'realised' = "
            "acute courses in the data with age >= 65 at admission divided by person-years "
            "65+ (what a correct analysis of the raw files should find)."
        ),
        "share_65plus_person_time": {
            str(y): _r(acc.py[i, 1] / acc.py[i].sum()) for i, y in enumerate(years)
        },
    }
    for name, groups in OUTCOME_GROUPS.items():
        e = acc.exp_group[groups, :, 1].sum(axis=0)
        o = acc.obs[groups, :, 1].sum(axis=0)
        levels[name] = {
            "expected_per_1000_65plus": {
                str(y): _r(e[i] / py65[i] * 1000, 2) for i, y in enumerate(years)
            },
            "realised_per_1000_65plus": {
                str(y): _r(o[i] / py65[i] * 1000, 2) for i, y in enumerate(years)
            },
            "realised_per_1000_65plus_all_years": _r(o.sum() / py65.sum() * 1000, 2),
        }
    # every group's realised level: a code-based indicator can mix groups (the official fall
    # injury also counts other_injury's S/T codes; 'brud' of the preventable list also
    # counts fall_other's fractures)
    levels["realised_by_group_per_1000_65plus_all_years"] = {
        name: _r(acc.obs[g, :, 1].sum() / py65.sum() * 1000, 2)
        for g, name in enumerate(model.GROUP_NAMES)
    }
    levels["short_stay_share_acute_65plus"] = _r(_ratio(acc.short65[0], acc.short65[1]))
    levels["readmission_30d_risk_65plus_medical"] = _r(_ratio(ix["robs_t"] + ix["robs_c"], ix["n"]))
    levels["deaths_in_hospital_share"] = _r(_ratio(counts["deaths_in_hospital"], counts["deaths"]))
    # mortality by education (crude, ages 30-84) realised
    d = acc.deaths_by
    levels["mortality_30_84_per_1000_by_education"] = {
        e: {
            s: _r(float(d[i, j, 0]) / float(d[i, j, 1]) * 1000 if d[i, j, 1] > 0 else None, 2)
            for j, s in enumerate(("M", "F"))
        }
        for i, e in enumerate(reference.EDUCATION_LEVELS)
    }
    le = {}
    for yoff, y in ((0, per.start_year), (per.n_years - 1, per.end_year)):
        le[str(y)] = {
            s: {
                e: _r(float(life_expectancy(bool(j), i, 1.0, yoff)), 2)
                for i, e in enumerate(reference.EDUCATION_LEVELS)
            }
            for j, s in enumerate(("M", "F"))
        }
    mid = per.n_years // 2
    kommuner = []
    edu_share = acc.kommune_edu / np.maximum(acc.kommune_edu.sum(axis=1, keepdims=True), 1)
    mult = kt["mortality_mult"].to_numpy(float)
    le_mat = np.zeros(len(kt))
    for e in range(4):
        for j in (0, 1):
            le_mat += 0.5 * edu_share[:, e] * life_expectancy(bool(j), e, mult, mid)
    le_k = {int(c): float(le_mat[i]) for i, c in enumerate(kt.index)}
    for i, code in enumerate(kt.index):
        row = kt.loc[code]
        fs, ts = w.falls_start[int(code)], w.acute_team_start[int(code)]
        kommuner.append(
            {
                "kommune_code": int(code),
                "kommune_name": str(row["kommune_name"]),
                "region_code": int(row["region_code"]),
                "persons_first_day": int(sizes[code]),
                "socio_economic_score": _r(row["z"]),
                "mortality_multiplier": _r(row["mortality_mult"]),
                "acute_admission_multiplier": _r(row["acute_mult"]),
                "preventable_multiplier": _r(row["preventable_mult"]),
                "fall_injury_multiplier": _r(row["falls_mult"]),
                "planned_admission_multiplier": _r(row["planned_mult"]),
                "life_expectancy_at_birth_mid_period": _r(le_k[int(code)], 2),
                "falls_programme_start": fs.isoformat() if fs else None,
                "acute_team_start": ts.isoformat() if ts else None,
                "falls_programme_participants": int(acc.part[i, 0]),
                "falls_programme_eligible_65plus": int(acc.part[i, 1]),
            }
        )
    best = max(le_k, key=le_k.__getitem__)
    worst = min(le_k, key=le_k.__getitem__)
    mortality = {
        "description": (
            "Annual hazard = Makeham background + exp(a_sex + b_sex (age - 70)) x education RR "
            "x kommune multiplier x exp(trend x (year - first year)) x frailty^0.5, frailty "
            "~ Gamma(mean 1, variance 0.5) shared with admissions and care. Life expectancies "
            "are period life expectancies at birth implied by the model (frailty integrated "
            "out); the kommune values mix the four education levels by the kommune's education "
            "distribution (both sexes averaged, middle year of the period)."
        ),
        "gompertz": {
            ("M" if k == 0 else "F"): {"log_hazard_at_70_reference": v[0], "slope_per_year": v[1]}
            for k, v in model.MORT_GOMPERTZ.items()
        },
        "education_rate_ratio": dict(
            zip(reference.EDUCATION_LEVELS, model.MORT_EDU_RR.tolist(), strict=True)
        ),
        "annual_change_log_hazard": model.MORT_TREND,
        "life_expectancy_at_birth_by_sex_education": le,
        "kommune_life_expectancy_best": {
            "kommune_code": best,
            "kommune_name": reference.kommune_name(best),
            "years": _r(le_k[best], 2),
        },
        "kommune_life_expectancy_worst": {
            "kommune_code": worst,
            "kommune_name": reference.kommune_name(worst),
            "years": _r(le_k[worst], 2),
        },
        "kommune_life_expectancy_gap_years": _r(le_k[best] - le_k[worst], 2),
        "rudersdal_minus_kalundborg_years": _r(le_k[230] - le_k[326], 2),
    }

    effects = _effects(acc, w, years)
    effects["preventive_visit"] = _preventive_truth(acc, w, int(seed))
    effects["education_gradient"] = effects.pop("education_gradient")  # keep the key order
    survey = _survey_truth(acc, survey_info)
    return {
        "generator": "nsv_eval.synth",
        "version": __version__,
        "seed": int(seed),
        "scale": float(scale),
        "period": {"start": f"{per.start_year}-01-01", "end": f"{per.end_year}-12-31"},
        "simplifications": [
            "No migration: every person lives in one kommune from birth or the first day "
            "of the period until death or the end of the period.",
            "Education, income quintile and living alone are fixed per person (education "
            "= highest level attained, for children the level they will attain).",
            "Care episodes ongoing on the first day start on the first day (left-truncated).",
        ],
        "counts": counts,
        "levels": levels,
        "mortality": mortality,
        "effects": effects,
        "survey": survey,
        "definitions": _definitions(),
        "published_levels": published_levels(),
        "kommuner": kommuner,
    }


def _effects(acc, w: world.World, years: list[int]) -> dict:
    per = acc.period
    kt = w.table
    ms = per.month_start[:-1]
    # ---- falls programme: treated kommune-months (on/after the start)
    start = np.array([_day(per, w.falls_start[int(c)]) for c in kt.index])
    treated = ms[None, :] >= start[:, None]
    fw, f0 = acc.fall_with[treated].sum(), acc.fall_without[treated].sum()
    iw, i0 = acc.injury_with[treated].sum(), acc.injury_without[treated].sum()
    py = acc.py65_k[treated].sum()
    by_cohort = {}
    for y in sorted({d.year for d in w.falls_start.values() if d}):
        rows = np.array(
            [(fs := w.falls_start[int(c)]) is not None and fs.year == y for c in kt.index]
        )
        m = treated & rows[:, None]
        a, b, p_ = acc.fall_with[m].sum(), acc.fall_without[m].sum(), acc.py65_k[m].sum()
        by_cohort[str(y)] = {
            "kommuner": int(rows.sum()),
            "realised_rate_ratio": _r(_ratio(a, b)),
            "att_per_1000_65plus_per_year": _r((a - b) / p_ * 1000 if p_ else None, 3),
        }
    part = acc.part
    falls = {
        "description": (
            "Kommune-level roll-out (rollout.csv) on 1 January 2012-2015. From the start, "
            "residents 65+ may participate (interventions.parquet 'falls_programme', dated on "
            "participation); participation is more likely with higher frailty, age, home "
            "care, a registered fall in the previous year and living alone. A participant's "
            "intensity of fall-injury admissions (injury S-codes with contact cause ulykke: "
            "groups prev_fracture, hip_fracture, fall_other) and of registered "
            "falls is multiplied by the planted rate ratio from the first day of the month "
            "after participation (log-linear, so the ratio is collapsible). The realised "
            "kommune-level effect among all residents 65+ compares expected fall-injury "
            "counts in treated kommune-months with and without the programme (acute-team "
            "effects on hip fractures kept as they were)."
        ),
        "planted_individual_rate_ratio": model.FALLS_PROGRAMME_RR,
        "outcome": (
            "acute admissions with an injury action diagnosis and contact cause ulykke (the "
            "official fall_injury definition; the planted ratio holds on every length of stay, "
            "so also on admissions >= 12 h) and registered falls"
        ),
        "participants": int(part[:, 0].sum()),
        "eligible_65plus_in_treated_kommuner": int(part[:, 1].sum()),
        "participation_share_of_eligible": _r(_ratio(part[:, 0].sum(), part[:, 1].sum())),
        "realised_kommune_level": {
            "expected_fall_injuries_with_programme": _r(fw, 2),
            "expected_fall_injuries_without_programme": _r(f0, 2),
            "person_years_65plus": _r(py, 2),
            "rate_ratio": _r(_ratio(fw, f0)),
            "att_per_1000_65plus_per_year": _r((fw - f0) / py * 1000 if py else None, 3),
            "by_start_cohort": by_cohort,
        },
        "realised_official_indicator": {
            "description": (
                "The same comparison on what the official fall_injury definition counts: "
                "admissions >= 12 h with an injury action diagnosis and contact cause ulykke "
                "of residents 65+, i.e. the fall groups plus the accident injuries the "
                "programme does not prevent (other_injury), each group weighted by its share "
                "of injury codes that last >= 12 h (hospital.official_fall_weight; an "
                "approximation: stays merged with an emergency-room contact are a little "
                "longer). This is what a DiD on the official indicator should recover."
            ),
            "expected_with_programme": _r(iw, 2),
            "expected_without_programme": _r(i0, 2),
            "rate_ratio": _r(_ratio(iw, i0)),
            "att_per_1000_65plus_per_year": _r((iw - i0) / py * 1000 if py else None, 3),
        },
    }
    # ---- acute team
    tstart = np.array([_day(per, w.acute_team_start[int(c)]) for c in kt.index])
    tt = ms[None, :] >= tstart[:, None]
    pw, p0 = acc.prev_with[tt].sum(), acc.prev_without[tt].sum()
    ow, o0 = acc.prev_official_with[tt].sum(), acc.prev_official_without[tt].sum()
    pyt = acc.py65_k[tt].sum()
    team = {
        "description": (
            "Kommune-level start on the 1st of a month 2015-2019 in about 40 % of kommuner "
            "(rollout.csv; Kalundborg 2017-03-01). From the start month the intensity of "
            "preventable admissions (ICD10['preventable'], including hip fractures) of every "
            "resident 65+ is multiplied by the planted rate ratio. Courses drawn by the "
            "readmission model (medical diagnoses: other medical, COPD, heart failure, "
            "diabetes) and terminal admissions are not affected, so the realised ratio in the "
            "data can be slightly closer to 1 than the expected one reported here."
        ),
        "planted_rate_ratio": model.ACUTE_TEAM_RR,
        "outcome": "acute preventable admissions, residents 65+",
        "kommuner_with_team": sum(1 for v in w.acute_team_start.values() if v),
        "realised_kommune_level": {
            "expected_preventable_with_team": _r(pw, 2),
            "expected_preventable_without_team": _r(p0, 2),
            "person_years_65plus": _r(pyt, 2),
            "rate_ratio": _r(_ratio(pw, p0)),
            "att_per_1000_65plus_per_year": _r((pw - p0) / pyt * 1000 if pyt else None, 3),
        },
        "realised_official_indicator": {
            "description": (
                "The same comparison on what the official preventable definition counts: "
                "admissions >= 12 h of residents 65+ with an action diagnosis on its list, "
                "each group weighted by its share of listed codes that last >= 12 h "
                "(hospital.official_preventable_weight). Fall fractures (group fall_other: "
                "wrist, humerus, pelvis, spine, ribs, ankle — 'brud' on the list) count there "
                "but the acute team does not act on them, so the team's effect on the official "
                "indicator is diluted: diluted_share is their share of the expected counts "
                "without the team in treated kommune-months, and rate_ratio is the ratio a "
                "design on the official indicator should recover (closer to 1 than the "
                "planted ratio)."
            ),
            "expected_with_team": _r(ow, 2),
            "expected_without_team": _r(o0, 2),
            "rate_ratio": _r(_ratio(ow, o0)),
            "att_per_1000_65plus_per_year": _r((ow - o0) / pyt * 1000 if pyt else None, 3),
            "diluted_share": _r(_ratio(acc.prev_official_unaffected[tt].sum(), o0)),
        },
    }
    # ---- follow-up visit
    ix = acc.ix
    n, nt = ix["n"], ix["treated"]
    fa, ra = model.FOLLOWUP_ASSIGN, model.READMIT_RISK
    follow = {
        "description": (
            "At each index discharge (acute course, medical action diagnosis, age >= 65 at "
            "admission, discharged alive; truth counts those with discharge date <= period "
            "end - 30 days) a follow-up home visit is assigned with logistic probability in "
            "the observed covariates, dated 1-7 days after the discharge date "
            "(interventions.parquet 'followup_visit'). The 30-day acute readmission risk is "
            "log-linear in the same covariates times the planted risk ratio for visited "
            "patients (capped at 0.95). Both potential outcomes are simulated with a common "
            "uniform draw; a readmission only happens if the patient is alive and the period "
            "has not ended. Because the visit goes to frailer patients, the naive comparison "
            "is biased towards harm; adjusting for the confounders (e.g. log-binomial or "
            "Poisson regression, IPW or standardisation) recovers the planted ratio."
        ),
        "planted_risk_ratio": model.FOLLOWUP_VISIT_RR,
        "confounders": [
            "age (whole years at admission)",
            "sex",
            "education",
            "living_alone",
            "home_care (home-care episode active on the discharge date)",
            "prior_admissions_365d (acute courses admitted in [admit - 365 d, admit), capped at 3)",
        ],
        "assignment_model_logit": {
            **{k: v for k, v in fa.items() if k != "edu"},
            "edu": dict(zip(reference.EDUCATION_LEVELS, fa["edu"], strict=True)),
            "age_centre": model.READMIT_AGE_CENTRE,
        },
        "risk_model_log": {
            **{k: v for k, v in ra.items() if k != "edu"},
            "edu": dict(zip(reference.EDUCATION_LEVELS, ra["edu"], strict=True)),
            "age_centre": model.READMIT_AGE_CENTRE,
            "prior_cap": model.PRIOR_CAP,
        },
        "index_discharges": int(n),
        "visited": int(nt),
        "visited_share": _r(_ratio(nt, n)),
        "risk_capped_discharges": int(ix["capped"]),
        "realised": {
            "risk_with_visit_all": _r(_ratio(ix["r1"], n)),
            "risk_without_visit_all": _r(_ratio(ix["r0"], n)),
            "risk_ratio_all": _r(_ratio(ix["r1"], ix["r0"])),
            "risk_with_visit_treated": _r(_ratio(ix["r1_t"], nt)),
            "risk_without_visit_treated": _r(_ratio(ix["r0_t"], nt)),
            "risk_ratio_treated": _r(_ratio(ix["r1_t"], ix["r0_t"])),
            "expected_risk_ratio_all": _r(_ratio(ix["p1"], ix["p0"])),
            "expected_risk_ratio_treated": _r(_ratio(ix["p1_t"], ix["p0_t"])),
            "observed_risk_visited": _r(_ratio(ix["robs_t"], nt)),
            "observed_risk_not_visited": _r(_ratio(ix["robs_c"], n - nt)),
            "naive_risk_ratio": _r(
                _ratio(_ratio(ix["robs_t"], nt) or 0, _ratio(ix["robs_c"], n - nt) or 0)
            ),
        },
    }
    edu = {
        "description": (
            "Planted rate ratios by education (reference: lang) on the intensity of each "
            "diagnosis group and on mortality; log-linear, so they are the conditional and "
            "marginal (age/sex-adjusted) ratios. Groups map to the code lists: preventable = "
            "prev_*, hip_fracture; fall_injury = prev_fracture, hip_fracture, fall_other."
        ),
        "mortality": dict(zip(reference.EDUCATION_LEVELS, model.MORT_EDU_RR.tolist(), strict=True)),
        "admission_groups": {
            g["name"]: dict(zip(reference.EDUCATION_LEVELS, g["edu_rr"], strict=True))
            for g in model.GROUPS
        },
        "home_care_onset": dict(
            zip(reference.EDUCATION_LEVELS, model.HOME_CARE["edu_rr"], strict=True)
        ),
    }
    return {
        "falls_programme": falls,
        "acute_team": team,
        "followup_visit": follow,
        "education_gradient": edu,
    }


def _preventive_truth(acc, w: world.World, seed: int) -> dict:
    """The preventive home visit: rules, acceptance, planted ratios and the RD's estimand."""
    from nsv_eval.synth.people import preventive_kommune_intercept

    sp = model.PREVENTIVE_VISIT
    vc = acc.visit_compliers
    n_c = float(vc[0])
    per_1000 = (lambda x: _r(x / n_c * 1000, 3)) if n_c else (lambda x: None)
    kt = w.table
    by_kommune = []
    for i, code in enumerate(kt.index):
        off, acc_ = acc.visit75[i]
        row = {
            "kommune_code": int(code),
            "offered_at_75": int(off),
            "accepted_at_75": int(acc_),
            "acceptance_share_at_75": _r(_ratio(acc_, off)),
        }
        row["acceptance_log_odds_reference"] = _r(preventive_kommune_intercept(seed, code))
        by_kommune.append(row)
    return {
        "description": (
            "Offers by Serviceloven § 79 a as in force on the birthday: until 2015-12-31 "
            "yearly from 75; from 2016-01-01 at 75 and yearly from 80 (L 47, FT 2015-16); "
            "from 2019-07-01 at 75 and 80, at 70 when living alone, yearly from 82 (lov nr. "
            "508 af 1. maj 2019). Offers are made in the month of the birthday; an accepted "
            "offer is a visit later in that month (interventions.parquet 'preventive_visit'). "
            "Need-based visits to citizens at particular risk aged 65-79 (65-81 from "
            "2019-07-01) happen at random times, more often when frail or living alone. "
            "Acceptance is logistic in a kommune intercept, living alone, education and "
            "frailty (frailer citizens decline more often; frailty is not in the data). A "
            "visit multiplies, in the 12 calendar months after the month of the visit, the "
            "intensity of acute admissions (planted admission ratio; fall injuries: the fall "
            "ratio), registered falls (fall ratio) and the onset hazard of home care (home-care "
            "ratio); overlapping windows do not compound. 30-day readmissions drawn by the "
            "readmission model and terminal admissions are not affected, and the 'expected' "
            "levels above leave the visits out (they lower the acute rates 75+ by a few per "
            "cent)."
        ),
        "planted_rate_ratio": {
            "acute_admissions": model.PREVENTIVE_VISIT_ADMISSION_RR,
            "fall_injuries_and_registered_falls": model.PREVENTIVE_VISIT_FALL_RR,
            "home_care_onset": model.PREVENTIVE_VISIT_HOME_CARE_RR,
        },
        "effect_months_after_visit_month": model.PREVENTIVE_VISIT_EFFECT_MONTHS,
        "rules": {"2016": sp["rule_2016"], "2019": sp["rule_2019"]},
        "acceptance_model_logit": {
            "intercept_mean": sp["intercept"],
            "kommune_sd": sp["kommune_sd"],
            "living_alone": sp["living_alone"],
            "edu": dict(zip(reference.EDUCATION_LEVELS, sp["edu"], strict=True)),
            "log_frailty": sp["log_frailty"],
        },
        "visits": int(acc.counts["preventive_visits"]),
        "offered_at_75": int(acc.visit75[:, 0].sum()),
        "accepted_at_75": int(acc.visit75[:, 1].sum()),
        "rd_at_75": {
            "description": (
                "The fuzzy regression discontinuity at the 75th birthday (running variable: "
                "calendar month relative to the birthday month; treated = a visit acts in the "
                "month) estimates the local average effect for compliers: persons who accept "
                "the offer at 75 and are not already under the effect of another visit in "
                "the month the 75-visit's effect starts. Values: their expected rates per "
                "1,000 person-years in that month without the visit, and the change the visit "
                "makes (rate x (ratio - 1)), averaged over the compliers."
            ),
            "compliers": int(n_c),
            "acute_admissions_rate_without_visit_per_1000": per_1000(vc[1]),
            "acute_admissions_late_per_1000": per_1000(vc[2]),
            "fall_injuries_rate_without_visit_per_1000": per_1000(vc[3]),
            "fall_injuries_late_per_1000": per_1000(vc[4]),
            "fall_injuries_official_rate_without_visit_per_1000": per_1000(vc[5]),
            "fall_injuries_official_late_per_1000": per_1000(vc[6]),
            "fall_injuries_official_note": (
                "The same on what the official fall_injury definition counts (admissions "
                ">= 12 h with an injury action diagnosis and contact cause ulykke): every "
                "group weighted by its share of injury codes that last >= 12 h "
                "(hospital.official_fall_weight), the fall groups changed by the visit's "
                "fall-injury ratio and the other accidents (other_injury) by its acute-"
                "admission ratio. The fall_injuries_* values above count the fall groups at "
                "every length of stay (the generator's own outcome); the legacy fall_injury "
                "definition sees hip fractures only since issue #13."
            ),
            "home_care_onset_rate_without_visit_per_1000": per_1000(acc.visit_hc[0]),
            "home_care_onset_late_per_1000": per_1000(acc.visit_hc[1]),
        },
        "by_kommune": by_kommune,
    }


def _survey_truth(acc, info: dict) -> dict:
    prev = {}
    for year, sums in sorted(acc.survey_sums.items()):
        n = sums["n"]
        prev[str(year)] = {
            key: {
                **{
                    e: _r(sums[key][i] / n[i]) if n[i] else None
                    for i, e in enumerate(reference.EDUCATION_LEVELS)
                },
                "all": _r(sums[key].sum() / n.sum()) if n.sum() else None,
            }
            for key in ("srh_good", "daily_smoker", "lonely", "mental_wellbeing")
        }
    return {
        "description": (
            "Planted population values among residents 16+ on 1 January of the survey year: "
            "the mean of each person's model probability (binary outcomes) or expected score "
            "(mental_wellbeing), by education and overall. Respondents are drawn with "
            "replacement from those residents, respond less often with low education, young "
            "age and male sex, and carry raking weights calibrated to the kommune's "
            "population by sex x age group (16-24, 25-34, ..., 65-74, 75+) and by "
            "education; weighted estimates should recover these values."
        ),
        "years": list(model.SURVEY_YEARS),
        "sampling_fraction": model.SURVEY_FRACTION,
        "min_invited_per_kommune": model.SURVEY_MIN_INVITED,
        "respondents": int(info.get("respondents", 0)),
        "min_respondents_per_kommune_year": info.get("min_respondents_per_kommune_year"),
        "population_values": prev,
    }


def published_levels() -> dict:
    """The published national levels the generator is calibrated to, with their sources.

    Copied from the official definition files (``published_level``); the generator's
    calibration parameters beside them (``model.PREVENTABLE_CALIBRATION``,
    ``model.READMIT_RISK["intercept"]``, ``model.CHRONIC``, ``model.FALL_INJURY_CALIBRATION``). Measured on a prepared world by
    :func:`nsv_eval.definitions.levels.national_levels` (LPR3 layout, official definitions).
    """
    from nsv_eval import definitions as D

    calibrated_by = {
        "preventable": {"PREVENTABLE_CALIBRATION": model.PREVENTABLE_CALIBRATION},
        "readmission": {"READMIT_RISK.intercept": model.READMIT_RISK["intercept"]},
        "copd_acute": {"CHRONIC.copd": dict(model.CHRONIC["copd"])},
        "diabetes_acute": {"CHRONIC.diabetes_type2": dict(model.CHRONIC["diabetes_type2"])},
        "fall_injury": {"FALL_INJURY_CALIBRATION": model.FALL_INJURY_CALIBRATION},
    }
    out = {}
    for id in D.ids():
        if D.OFFICIAL not in D.variants(id):
            continue
        pub = D.get(id).published_level
        if pub is None:
            continue
        out[id] = {
            "measure": pub["measure"],
            "value": pub.get("value"),
            "low": pub["low"],
            "high": pub["high"],
            "year": pub["year"],
            "min_age": pub.get("min_age"),
            "measured_years": pub.get("measured_years"),
            "unit": pub.get("unit"),
            "basis": pub["basis"]["en"],
            "source": {k: str(v) for k, v in pub["source"].items()},
            "calibrated_by": calibrated_by.get(id, {}),
            "layout": "lpr3 (stays from physical attendances; the chronic-disease control "
            "visits exist only in the LPR layouts)",
        }
    return out


def _definitions() -> dict:
    return {
        "course_chaining": (
            "Contacts of a person that overlap or where the next starts at most 4 h after "
            "the latest discharge so far form one course; the course is acute if its first "
            "contact is. The generator records 'courses_with_transfer' courses as 2-3 "
            "contacts (gaps <= 3.5 h, overlaps <= 2 h) and keeps separate courses at least "
            "5 h apart ('separate_courses_5_48h' pairs start 5-48 h after the previous "
            "discharge and must not be chained)."
        ),
        "index_discharge": (
            "Acute course with a medical action diagnosis (reference.is_medical), age >= 65 "
            "at admission, death date after the discharge date, discharge date <= period end "
            "- 30 days."
        ),
        "readmission": "Acute course admitted within 30 x 24 h after the index discharge.",
        "groups_to_codes": {g["name"]: sorted(g["codes"]) for g in model.GROUPS},
    }


def _day(per, d) -> float:
    return np.inf if d is None else per.day_of(np.datetime64(d.isoformat()))
