"""The rules of the synthetic Denmark: every level, gradient and planted effect.

All parameters of the generator live here so that ``truth.json`` can quote them and a reader
can see the whole world on one page. Rates are per person-year for a *reference person*
(education ``lang``, frailty 1, kommune multiplier 1, calendar year = first study year,
season-averaged); the other factors multiply them (log-linear models throughout, so a rate
ratio planted conditionally is also the marginal rate ratio).

Levels are set so that the simulated national figures land near published Danish figures
(quoted next to each target in :data:`TARGETS`); the calibration was done by simulation at
scale 0.02 and the realised values are written to ``truth.json`` of every run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nsv_eval.reference import EDUCATION_LEVELS

N_AGE = 112
"""Age slots 0..110 plus slot 111 = 'not yet born' (rate 0) in the lookup tables."""

UNBORN = N_AGE - 1
DAYS_PER_YEAR = 365.25

# ----------------------------------------------------------------------------------------
# Population structure
# ----------------------------------------------------------------------------------------

CRUDE_BIRTH_RATE = (0.0114, 0.0103)
"""Births per resident per year in the first and last study year (Denmark 2010: 11.4 per
1,000; mid-2020s about 10.3 per 1,000), interpolated linearly."""
MALE_SHARE_AT_BIRTH = 0.513

EDU_COHORT_YEARS = np.array([1920, 1938, 1953, 1968, 1983, 1998], dtype=float)
EDU_COHORT_SHARES = np.array(
    # grundskole, kort, mellemlang, lang by birth cohort (highest attained education,
    # approximating DST's HFUDD for 30-69-year-olds; older cohorts = more grundskole)
    [
        [0.55, 0.33, 0.09, 0.03],
        [0.42, 0.40, 0.13, 0.05],
        [0.28, 0.45, 0.19, 0.08],
        [0.20, 0.43, 0.24, 0.13],
        [0.16, 0.38, 0.28, 0.18],
        [0.14, 0.36, 0.29, 0.21],
    ]
)
EDU_KOMMUNE_SHIFT = 0.35
"""Shift of the latent education score per unit of the kommune's socio-economic score z."""

FRAILTY_SHAPE = 2.0
"""Latent frailty F ~ Gamma(shape 2, scale 1/2): mean 1, variance 0.5."""


def living_alone_logit(age: np.ndarray, female: np.ndarray, log_f: np.ndarray) -> np.ndarray:
    """Log-odds of living alone (Danish household statistics: ~25 % at 65-74, ~50 % at
    80+, higher for women at old age; children never)."""
    base = np.interp(
        age,
        [0, 17.9, 18, 25, 35, 50, 65, 75, 85, 95],
        [-9.0, -9.0, -1.3, -1.0, -1.6, -1.7, -1.1, -0.4, 0.4, 0.9],
    )
    sex = np.where(female & (age >= 70), 0.55, 0.0) - np.where(~female & (age >= 70), 0.35, 0.0)
    return base + sex + 0.3 * log_f


# ----------------------------------------------------------------------------------------
# Mortality (Gompertz-Makeham with frailty)
# ----------------------------------------------------------------------------------------

MORT_GOMPERTZ = {0: (-3.93, 0.094), 1: (-4.40, 0.101)}
"""Sex (0 = M, 1 = F) -> (log hazard at age 70 for the reference person, slope per year)."""
MORT_EDU_RR = np.array([1.7, 1.35, 1.15, 1.0])
"""Mortality rate ratios grundskole, kort, mellemlang, lang (Danish register studies find
roughly 1.5-2 for basic vs long higher education)."""
MORT_TREND = -0.018
"""Secular change of log mortality per calendar year (about 1.8 %/yr improvement)."""
MORT_FRAILTY_POWER = 0.5
MORT_KOMMUNE_SLOPE = -0.08
"""log kommune mortality multiplier = -0.08 * z + N(0, 0.04)."""


def background_mortality(age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Makeham-type age-specific background hazard (infancy, accidents in youth)."""
    infant = np.where(age < 1, 0.0032, 0.0)
    child = np.where((age >= 1) & (age < 15), 0.0001, 0.0)
    young = np.where((age >= 15) & (age < 30), np.where(female, 0.00015, 0.0004), 0.0)
    adult = np.where(age >= 30, 0.0002, 0.0)
    return infant + child + young + adult


def mortality_hazard(
    age: np.ndarray,
    female: np.ndarray,
    edu: np.ndarray,
    kommune_mult: np.ndarray | float,
    year_offset: np.ndarray | float,
    frailty: np.ndarray,
) -> np.ndarray:
    """Annual death hazard (Gompertz in age x education x kommune x trend x frailty^0.5)."""
    a_m, b_m = MORT_GOMPERTZ[0]
    a_f, b_f = MORT_GOMPERTZ[1]
    log_h = np.where(female, a_f + b_f * (age - 70), a_m + b_m * (age - 70))
    g = (
        np.exp(log_h + MORT_TREND * year_offset)
        * MORT_EDU_RR[edu]
        * kommune_mult
        * frailty**MORT_FRAILTY_POWER
    )
    return background_mortality(age, female) + g


# ----------------------------------------------------------------------------------------
# Hospital courses
# ----------------------------------------------------------------------------------------

AGE_KNOTS = np.array([0, 5, 15, 25, 45, 65, 75, 85, 95, 110], dtype=float)

GROUPS: list[dict] = [
    # name, rates per 1,000 person-years at AGE_KNOTS (reference person), female rate ratio,
    # education RRs (grundskole, kort, mellemlang, lang), winter amplitude (log scale, peak
    # in January), trend (log change per year), short-stay share among 65+, median LOS days
    # of non-short stays, diagnosis codes with probabilities.
    dict(
        name="prev_respiratory",
        rates=[18, 4.5, 1.5, 1.5, 2.2, 5, 12, 32, 65, 72],
        female_rr=0.9,
        edu_rr=[1.8, 1.4, 1.2, 1.0],
        winter=0.30,
        trend=0.0,
        short=0.15,
        los=5.0,
        codes={
            "DJ189": 0.45,
            "DJ159": 0.1,
            "DJ181": 0.1,
            "DJ209": 0.1,
            "DJ22": 0.15,
            "DJ129": 0.05,
            "DJ110": 0.05,
        },
    ),
    dict(
        name="prev_urinary",
        rates=[2.2, 0.7, 0.7, 0.7, 1.1, 1.8, 4.3, 13, 27, 29],
        female_rr=1.3,
        edu_rr=[1.8, 1.4, 1.2, 1.0],
        winter=0.08,
        trend=0.01,
        short=0.25,
        los=4.0,
        codes={"DN390": 0.6, "DN109": 0.25, "DN300": 0.15},
    ),
    dict(
        name="prev_other",
        rates=[7, 2.2, 1.1, 1.1, 1.5, 2.2, 5, 14, 32, 36],
        female_rr=1.1,
        edu_rr=[1.8, 1.4, 1.2, 1.0],
        winter=0.10,
        trend=0.01,
        short=0.30,
        los=4.0,
        codes={
            "DA099": 0.15,
            "DA084": 0.1,
            "DE869": 0.25,
            "DE871": 0.2,
            "DK590": 0.1,
            "DD509": 0.08,
            "DL892": 0.07,
            "DZ740": 0.05,
        },
    ),
    dict(
        name="prev_fracture",
        rates=[1.5, 2.2, 2.2, 1.5, 1.5, 1.8, 2.9, 5.8, 9.4, 9.4],
        female_rr=1.5,
        edu_rr=[1.3, 1.15, 1.05, 1.0],
        winter=0.08,
        trend=0.0,
        short=0.20,
        los=4.0,
        codes={"DS525": 0.35, "DS422": 0.2, "DS321": 0.15, "DS822": 0.15, "DS220": 0.15},
    ),
    dict(
        name="hip_fracture",
        rates=[0.05, 0.05, 0.1, 0.1, 0.2, 1.0, 3.2, 11, 24, 24],
        female_rr=1.5,
        edu_rr=[1.3, 1.15, 1.05, 1.0],
        winter=0.08,
        trend=-0.01,
        short=0.03,
        los=9.0,
        codes={"DS720": 0.55, "DS721": 0.38, "DS722": 0.07},
    ),
    dict(
        name="fall_other",
        rates=[3, 3, 3, 3, 3.8, 6, 12, 30, 54, 54],
        female_rr=1.3,
        edu_rr=[1.3, 1.15, 1.05, 1.0],
        winter=0.08,
        trend=0.01,
        short=0.45,
        los=3.0,
        # Non-hip fall injuries of the elderly as LPR codes them: an injury action
        # diagnosis (S-code, SKS form) with contact cause ulykke, never an external-cause
        # W-code (issue #13). Typical injuries of falls in old age: distal radius, proximal
        # humerus, head injuries (concussion, subdural haemorrhage, superficial injuries and
        # wounds of the head), ribs, pelvis/acetabulum, lumbar spine, ankle, contusion of
        # the lower back/pelvis. The shares are illustrative (no published Danish
        # distribution found); about 57 % are fractures (also 'brud' in the preventable list).
        codes={
            "DS525": 0.16,
            "DS422": 0.14,
            "DS060": 0.14,
            "DS009": 0.08,
            "DS019": 0.08,
            "DS065": 0.05,
            "DS223": 0.08,
            "DS324": 0.06,
            "DS320": 0.07,
            "DS826": 0.06,
            "DS300": 0.08,
        },
    ),
    dict(
        name="copd",
        rates=[0, 0, 0, 0, 0.3, 4, 8, 11, 9, 8],
        female_rr=0.9,
        edu_rr=[2.6, 1.7, 1.3, 1.0],
        winter=0.25,
        trend=-0.01,
        short=0.20,
        los=5.0,
        codes={"DJ441": 0.6, "DJ449": 0.4},
    ),
    dict(
        name="diabetes",
        rates=[0.3, 0.5, 1, 1, 1, 1.2, 1.6, 2.4, 2.4, 2.4],
        female_rr=0.8,
        edu_rr=[2.0, 1.5, 1.2, 1.0],
        winter=0.03,
        trend=-0.02,
        short=0.30,
        los=4.0,
        codes={"DE111": 0.2, "DE119": 0.4, "DE101": 0.25, "DE149": 0.15},
    ),
    dict(
        name="heart_failure",
        rates=[0, 0, 0, 0, 0.2, 1.6, 4, 11, 20, 20],
        female_rr=0.75,
        edu_rr=[1.7, 1.35, 1.15, 1.0],
        winter=0.15,
        trend=-0.01,
        short=0.15,
        los=6.0,
        codes={"DI500": 0.5, "DI509": 0.4, "DI501": 0.1},
    ),
    dict(
        name="other_medical",
        rates=[60, 15, 15, 25, 30, 50, 80, 135, 180, 180],
        female_rr=0.9,
        edu_rr=[1.5, 1.25, 1.1, 1.0],
        winter=0.10,
        trend=0.015,
        short=0.30,
        los=4.0,
        codes={
            "DI489": 0.12,
            "DI219": 0.08,
            "DI639": 0.08,
            "DR074": 0.14,
            "DK922": 0.05,
            "DN179": 0.05,
            "DR55": 0.07,
            "DF059": 0.05,
            "DA419": 0.06,
            "DC349": 0.04,
            "DI269": 0.04,
            "DR109": 0.1,
            "DK297": 0.04,
            "DR509": 0.08,
        },
    ),
    dict(
        name="other_injury",
        rates=[25, 15, 20, 15, 10, 9, 10, 15, 20, 20],
        female_rr=0.8,
        edu_rr=[1.3, 1.15, 1.05, 1.0],
        winter=0.0,
        trend=0.0,
        short=0.50,
        los=2.5,
        codes={
            "DS018": 0.2,
            "DS060": 0.2,
            "DS934": 0.15,
            "DT784": 0.1,
            "DS700": 0.15,
            "DZ038": 0.2,
        },
    ),
    dict(
        name="planned",
        rates=[20, 10, 15, 25, 50, 110, 130, 100, 50, 30],
        female_rr=1.0,
        edu_rr=[1.1, 1.05, 1.0, 1.0],
        winter=0.0,
        trend=0.005,
        short=0.30,
        los=2.5,
        codes={
            "DM171": 0.15,
            "DM161": 0.12,
            "DI251": 0.1,
            "DC189": 0.08,
            "DK802": 0.1,
            "DC509": 0.07,
            "DN401": 0.08,
            "DI839": 0.05,
            "DZ511": 0.1,
            "DK409": 0.1,
            "DM511": 0.05,
        },
    ),
]
PREVENTABLE_CALIBRATION = 1.5
"""Multiplier on the rates of the preventable groups other than hip fracture
(``prev_respiratory``, ``prev_urinary``, ``prev_other``, ``prev_fracture``), calibrated so
that the official preventable-admission indicator (admission stays >= 12 h, LPR3 layout)
lands at the published national level: about 60 per 1,000 residents 65+ in 2023 (72,000
admissions, DI 2024 after eSundhed's definition; ``published_level`` of
``nsv_eval/definitions/preventable.yaml``). Without it the synthetic level was 45. It was
1.52 until issue #13 recoded ``fall_other`` with injury diagnoses: its fractures are 'brud'
of the preventable list and add about 7 per 1,000 (scale 0.02, seed 1: 62.1 -> 69.4 at
1.52; 62.9 at 1.33), and the calibration test's world (scale 0.005) reached 75 > 71 at
1.52. 1.38 keeps that test inside the published range.
Hip fractures (a fall group; the falls programme's planted effect acts on it) are kept."""
for _g in GROUPS[:4]:
    _g["rates"] = [round(r * PREVENTABLE_CALIBRATION, 3) for r in _g["rates"]]
del _g
FALL_INJURY_CALIBRATION = 0.3
"""Multiplier on the rates of the non-hip fall groups (``prev_fracture``, ``fall_other``),
calibrated so that the official fall-injury indicator (admission stays >= 12 h with an
injury diagnosis and contact cause ulykke, residents 65+) lands in the published range:
Statens Institut for Folkesundhed counts more than 13,000 admissions after falls of people
over 65 in 2002, about 6,000 of them hip/femur fractures, i.e. about 16 per 1,000 65+
(``published_level`` of ``nsv_eval/definitions/fall_injury.yaml``; range 13-22 for the
indicator, which drops stays under 12 h and adds non-fall accidents). Without it the
synthetic level was 36 per 1,000 in 2010 (scale 0.02, seed 1, LPR3), of which the non-hip
falls were about 24 against the source's about 9 (7,000 of 795,000). Hip fractures
(6.2 per 1,000, the source about 7.5) and the other accidents are kept. Applied after
``PREVENTABLE_CALIBRATION`` (``prev_fracture`` is both)."""
for _g in GROUPS:
    if _g["name"] in ("prev_fracture", "fall_other"):
        _g["rates"] = [round(r * FALL_INJURY_CALIBRATION, 4) for r in _g["rates"]]
del _g

GROUP_NAMES = [g["name"] for g in GROUPS]
N_GROUPS = len(GROUPS)
PLANNED = GROUP_NAMES.index("planned")
PREVENTABLE_GROUPS = [0, 1, 2, 3, 4]
"""Groups whose codes are on the 'forebyggelige indlæggelser' list (hip fractures are both
preventable and fall injuries, as in the national definitions)."""
FALL_GROUPS = [3, 4, 5]
"""Groups whose codes are fall injuries: injury action diagnoses (S-codes) that LPR codes
with contact cause ulykke (ALCC02), i.e. what the official fall-injury indicator counts:
preventable fractures (``prev_fracture``: wrist, humerus, pelvis, ankle, ribs — fractures of
falls in old age), hip fractures and the other fall injuries (issue #13; before, the other
fall injuries were W00-W19 action diagnoses and ``prev_fracture`` was outside the falls
programme's effect, so the official indicator diluted the planted effect)."""
READMISSION_MIX = {"other_medical": 0.70, "copd": 0.10, "heart_failure": 0.12, "diabetes": 0.08}
"""Diagnosis groups of 30-day readmissions generated by the readmission model."""

FRAILTY_RATE_POWER = 1.0
LOS_SDLOG = 0.7
SHORT_STAY_EXTRA_UNDER_65 = 0.15
PLANNED_SHORT = 0.30
IN_HOSPITAL_DEATH_PROB = 0.40
"""Probability that a death is preceded by a terminal acute admission ending in death
(about 40-45 % of Danish deaths occur in hospital); some more happen by chance during an
ordinary stay."""
EARLY_RETURN_PROB = 0.03
"""After an ordinary (non-index) discharge: probability of a separate new course 5-48 h
later (a separate course, not a transfer)."""
TRANSFER_PROB = 0.16
"""Share of courses of at least one day that are recorded as 2-3 contacts (transfers);
about 10 % of all courses."""

KOMMUNE_ACUTE_SD = 0.12
KOMMUNE_ACUTE_SLOPE = -0.06
KOMMUNE_PREVENTABLE_SD = 0.10
KOMMUNE_FALLS_SD = 0.08
KOMMUNE_PLANNED_SD = 0.08

# Planted effects ---------------------------------------------------------------------------
ACUTE_TEAM_RR = 0.85
"""Rate ratio of the acute team on preventable admissions (65+, whole kommune, from start)."""
FALLS_PROGRAMME_RR = 0.60
"""Individual rate ratio of falls-programme participation on fall-injury admissions and on
registered falls, from the first day of the month after participation."""
FOLLOWUP_VISIT_RR = 0.75
"""Risk ratio of a follow-up home visit on 30-day acute readmission (log-linear risk)."""
PREVENTIVE_VISIT_ADMISSION_RR = 0.85
"""Rate ratio of a preventive home visit on every acute admission group (not planned ones)
for the 12 calendar months after the month of the visit."""
PREVENTIVE_VISIT_FALL_RR = 0.75
"""Rate ratio on fall-injury admissions (in place of the admission ratio) and on registered
falls, same window."""
PREVENTIVE_VISIT_HOME_CARE_RR = 0.80
"""Rate ratio on the onset hazard of home care (entry into home care), same window."""
PREVENTIVE_VISIT_EFFECT_MONTHS = 12

# Follow-up visit: assignment (logistic) and readmission risk (log-linear), both on the
# observed covariates only, so adjustment for them removes the confounding.
FOLLOWUP_ASSIGN: dict[str, Any] = dict(
    intercept=-1.75,
    age=0.04,
    living_alone=0.6,
    home_care=0.9,
    prior=0.4,
    male=0.0,
    edu=[0.3, 0.15, 0.05, 0.0],
)
READMIT_RISK: dict[str, Any] = dict(
    # -2.44 before the calibration to the official definition: readmissions of less than
    # 12 h are no admissions and planned/surgical indexes count, so the official 30-day
    # somatic readmission share of residents 65+ was 9.0 % against a published 11-22 %
    # (Sundhedsdatastyrelsen 2020, GP deciles, 2018). -2.29 keeps the legacy level (acute
    # medical index, 65+) near the 14.1 % of 2010 (about 16 %); READMISSION_SHORT_FACTOR
    # and OTHER_READMIT_PROB bring the official share to about 14 %
    intercept=-2.29,
    age=0.012,
    living_alone=0.25,
    home_care=0.35,
    prior=0.18,
    male=0.08,
    edu=[0.2, 0.12, 0.05, 0.0],
)
READMISSION_SHORT_FACTOR = 0.25
"""Multiplier on the short-stay share of readmission courses: a readmission is an
admission (>= 12 h) more often than other acute courses (calibration, see READMIT_RISK)."""
OTHER_READMIT_PROB = 0.07
"""Probability that an ordinary discharge (not a legacy index, not followed by an early
return) of a resident 65+ is followed by an acute readmission within 30 days (planned,
surgical and injury admissions are indexes in the official definition; calibration)."""
READMIT_AGE_CENTRE = 78
PRIOR_CAP = 3
RISK_CAP = 0.95
READMIT_WINDOW_DAYS = 30
NO_READMIT_GAP_DAYS = 31
"""Without a (simulated) readmission the next course starts at least 31 days after the
index discharge, so every 30-day definition (by time or by date) agrees."""
FOLLOWUP_MAX_DAYS = 7

# Chronic disease registrations (LPR layouts only) -----------------------------------------
CHRONIC: dict[str, dict] = {
    # A person gets the disease with probability ``lifetime`` x education RR (normalised to
    # mean 1 over the four levels) at an onset age ~ Normal(onset_mean, onset_sd); from
    # onset until death an out-patient control visit (LPR3 ALCA00, planned, 30-90 min, the
    # ``code`` as action diagnosis) comes at ``visits_per_year`` (Poisson), >= 2 days from
    # every other contact, so admissions do not change. Calibrated so that the official
    # disease cohorts (an A diagnosis on any stay in the 5 years before 1 January, 18+) reach
    # the published numbers of 2015 (``published_level`` of copd_acute.yaml and
    # diabetes_acute.yaml): 175,500 with COPD and 220,500 with type 2 diabetes, 3.94 % and
    # 4.96 % of the 4,449,743 residents 18+ (FOLK1A 2014). Before: 1.7 % and 0.5 % (from
    # acute admissions alone).
    "copd": dict(
        code="DJ449",
        lifetime=0.084,
        onset_mean=64.0,
        onset_sd=11.0,
        edu_rr=[2.0, 1.4, 1.1, 0.8],
        visits_per_year=0.9,
    ),
    "diabetes_type2": dict(
        code="DE119",
        lifetime=0.117,
        onset_mean=58.0,
        onset_sd=13.0,
        edu_rr=[1.6, 1.2, 1.0, 0.8],
        visits_per_year=0.9,
    ),
}

# Municipal care -----------------------------------------------------------------------------
HOME_CARE: dict[str, Any] = dict(
    rate70=0.0075,
    slope=0.10,
    frailty_power=1.5,
    alone_rr=1.5,
    long_share=0.7,
    short_weeks=(2, 26),
    hours_median=3.0,
    edu_rr=[1.3, 1.15, 1.05, 1.0],
)
HOME_NURSING: dict[str, Any] = dict(
    rate70=0.006,
    slope=0.09,
    frailty_power=1.2,
    alone_rr=1.2,
    long_share=0.4,
    short_weeks=(2, 12),
    hours_median=1.5,
    edu_rr=[1.2, 1.1, 1.05, 1.0],
)
CARE_MIN_AGE = 60
REGISTERED_FALL_RATE = 0.6
"""Registered falls per person-year in home care at age 80 (x exp(0.03 (age-80)) x F^0.8)."""

FALLS_PARTICIPATION = dict(
    intercept=-0.6,
    log_frailty=0.8,
    age=0.04,
    home_care=0.9,
    prior_fall=0.6,
    living_alone=0.3,
    delay_days=180.0,
)
PREVENTIVE_VISIT: dict[str, Any] = dict(
    # Offers by Serviceloven § 79 a as it stood in each period (dates = in force):
    #   until 2015-12-31: at least one yearly offer to everyone 75+ (§ 79 a, 2010 wording);
    #   2016-01-01: one offer in the year one turns 75, yearly from 80, need-based 65-79 for
    #     citizens at particular risk (L 47, FT 2015-16);
    #   2019-07-01: also in the year one turns 80, and at 70 for those living alone; yearly
    #     from 82; need-based 65-81 (lov nr. 508 af 1. maj 2019, L 148, FT 2018-19).
    # Simplification: the synthetic kommuner send the age offers in the month of the birthday
    # (the law says "i deres fyldte 75. år"; kommuner differ in when in that year they call).
    rule_2016="2016-01-01",
    rule_2019="2019-07-01",
    # acceptance of an offer (logistic): kommune intercept ~ N(intercept, kommune_sd), more
    # often when living alone and with longer education, less often when frail (frailty is
    # not in the data: the unmeasured confounder of accepted-vs-declined comparisons)
    intercept=0.5,
    kommune_sd=0.5,
    living_alone=0.4,
    edu=[-0.6, -0.3, 0.0, 0.15],
    log_frailty=-0.8,
    # need-based visits to citizens at particular risk (yearly probability, logistic)
    need_intercept=-3.6,
    need_log_frailty=1.0,
    need_living_alone=0.5,
)

# Survey -------------------------------------------------------------------------------------
SURVEY_YEARS = (2010, 2013, 2017, 2021)
SURVEY_MIN_AGE = 16
SURVEY_FRACTION = 0.05
SURVEY_MIN_INVITED = 100
SURVEY_AGE_GROUPS = [16, 25, 35, 45, 55, 65, 75]
RESPONSE: dict[str, Any] = dict(
    intercept=0.1,
    edu=[-0.6, -0.3, 0.0, 0.15],
    female=0.2,
    age_knots=[16, 25, 45, 65, 80, 100],
    age_values=[-0.6, -0.5, 0.0, 0.4, 0.1, -0.6],
)
SURVEY_MODELS: dict[str, dict[str, Any]] = dict(
    srh_good=dict(
        intercept=2.75,
        edu=[-1.2, -0.6, -0.25, 0.0],
        age=-0.028,
        age_from=40,
        log_frailty=-0.6,
        z=0.10,
        trend=0.0,
    ),
    daily_smoker=dict(
        intercept=-2.3,
        edu=[1.5, 1.0, 0.45, 0.0],
        age_quad=-0.0007,
        age_peak=50,
        z=-0.15,
        trend=-0.05,
    ),
    lonely=dict(
        intercept=-3.3, edu=[0.6, 0.3, 0.15, 0.0], young=0.7, old=0.6, living_alone=0.8, trend=0.035
    ),
)
MCS: dict[str, Any] = dict(
    intercept=51.5, edu=[-2.5, -1.2, -0.5, 0.0], age=0.05, age_cap=(20, 70), lonely=-7.0, sd=9.5
)

EDU_INDEX = {e: i for i, e in enumerate(EDUCATION_LEVELS)}


def age_rate_table(rates_per_1000: list[float], female_rr: float) -> np.ndarray:
    """Rates per person-year by (sex, age slot): log-linear between the knots."""
    r = np.maximum(np.asarray(rates_per_1000, dtype=float), 1e-3) / 1000.0
    ages = np.arange(N_AGE - 1, dtype=float)
    male = np.exp(np.interp(ages, AGE_KNOTS, np.log(r)))
    table = np.zeros((2, N_AGE))
    table[0, : N_AGE - 1] = male
    table[1, : N_AGE - 1] = male * female_rr
    return table


def season_factors(amplitude: float) -> np.ndarray:
    """Multipliers for months Jan..Dec: exp(A cos(2 pi (month-1)/12)), normalised to mean 1."""
    m = np.arange(12)
    f = np.exp(amplitude * np.cos(2 * np.pi * m / 12))
    return f / f.mean()


PLANNED_SEASON = np.array([1.05, 1.1, 1.1, 1.05, 1.05, 1.0, 0.6, 0.95, 1.1, 1.1, 1.05, 0.85])
PLANNED_SEASON = PLANNED_SEASON / PLANNED_SEASON.mean()


def group_tables() -> dict[str, np.ndarray]:
    """Lookup tables shared by all chunks (rates, seasons, education RRs, code lists)."""
    rate = np.stack([age_rate_table(g["rates"], g["female_rr"]) for g in GROUPS])
    season = np.stack(
        [PLANNED_SEASON if g["name"] == "planned" else season_factors(g["winter"]) for g in GROUPS]
    )
    edu = np.array([g["edu_rr"] for g in GROUPS], dtype=float)
    trend = np.array([g["trend"] for g in GROUPS], dtype=float)
    short = np.array([g["short"] for g in GROUPS], dtype=float)
    los = np.array([g["los"] for g in GROUPS], dtype=float)
    return dict(rate=rate, season=season, edu=edu, trend=trend, short=short, los=los)


def code_table() -> tuple[list[str], np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """All diagnosis codes, each code's group, and per group the code indices and weights."""
    codes: list[str] = []
    group_of: list[int] = []
    idx: list[np.ndarray] = []
    prob: list[np.ndarray] = []
    for gi, g in enumerate(GROUPS):
        start = len(codes)
        codes.extend(g["codes"].keys())
        group_of.extend([gi] * len(g["codes"]))
        w = np.array(list(g["codes"].values()), dtype=float)
        idx.append(np.arange(start, len(codes)))
        prob.append(np.cumsum(w / w.sum()))
    return codes, np.array(group_of), idx, prob
