"""English texts of the figures of every study: (Danish, English) pairs, part of
:data:`nsv_eval.report.texts_en.TEXTS_EN`.

Every figure the studies draw is translated when the report language is English
(``tests/test_figure_text.py`` draws them all in English and reads every text in them),
also for the studies whose prose is not translated yet. Grouped by figure.
"""

from __future__ import annotations

FIGURES: list[tuple[str, str]] = [
    # shared: trends, interval bands, indicator names and units (analyses.catalogue)
    ("95 %-konfidensinterval", "95% confidence interval"),
    (
        "Forebyggelige indlæggelser blandt ældre (65+)",
        "Preventable admissions among older people (65+)",
    ),
    (
        "Akutte somatiske genindlæggelser inden for 30 dage, 65+",
        "Acute somatic readmissions within 30 days, 65+",
    ),
    (
        "Akutte genindlæggelser inden for 30 dage, medicinske patienter 65+",
        "Acute readmissions within 30 days, medical patients 65+",
    ),
    (
        "Korttidsindlæggelser (12–24 timer) blandt ældre (65+)",
        "Short admissions (12–24 hours) among older people (65+)",
    ),
    (
        "Korttidsindlæggelser (under 24 timer) blandt ældre (65+)",
        "Short admissions (under 24 hours) among older people (65+)",
    ),
    (
        "Faldulykker med indlæggelse blandt ældre (65+)",
        "Fall injuries with admission among older people (65+)",
    ),
    (
        "Hoftebrud med indlæggelse blandt ældre (65+)",
        "Hip fractures with admission among older people (65+)",
    ),
    (
        "Akutte indlæggelser blandt borgere med KOL (18+)",
        "Acute admissions among residents with COPD (18+)",
    ),
    (
        "Akutte indlæggelser blandt borgere med type 2-diabetes (18+)",
        "Acute admissions among residents with type 2 diabetes (18+)",
    ),
    ("Akutte indlæggelser for KOL", "Acute admissions for COPD"),
    ("Akutte indlæggelser for diabetes", "Acute admissions for diabetes"),
    ("Akutte indlæggelser for hjertesvigt", "Acute admissions for heart failure"),
    ("pr. 1.000 borgere 65+ pr. år", "per 1,000 residents 65+ per year"),
    ("pr. 1.000 borgere med KOL pr. år", "per 1,000 residents with COPD per year"),
    (
        "pr. 1.000 borgere med type 2-diabetes pr. år",
        "per 1,000 residents with type 2 diabetes per year",
    ),
    ("pr. 100.000 borgere pr. år", "per 100,000 residents per year"),
    ("% af indlæggelser", "% of admissions"),
    ("% af udskrivelser", "% of discharges"),
    # area names (nsv_eval.report.labels.REGION_NAMES_EN has the regions' own English names)
    ("Region Nordjylland", "North Denmark Region"),
    ("Region Midtjylland", "Central Denmark Region"),
    ("Region Syddanmark", "Region of Southern Denmark"),
    ("Region Hovedstaden", "Capital Region of Denmark"),
    ("Region Sjælland", "Region Zealand"),
    ("hele landet", "the whole country"),
    ("regionen", "the region"),
    # funnel plots
    (
        "{indikator}: standardiseret ratio, {fra}–{til}",
        "{indikator}: standardised ratio, {fra}–{til}",
    ),
    (
        "Forventet antal (ud fra landets alders- og kønsspecifikke rater)",
        "Expected number (from the national age- and sex-specific rates)",
    ),
    ("Observeret / forventet × 100", "Observed / expected × 100"),
    ("Landsgennemsnit (100)", "National average (100)"),
    # interrupted time series
    ("Observeret (pr. år)", "Observed (per year)"),
    ("Model (pr. måned)", "Model (per month)"),
    ("Forventet uden indsats", "Expected without the intervention"),
    ("Hændelser pr. {per} personår 65+", "Events per {per} person-years 65+"),
    ("Faldulykker blandt borgere 65+ i {navn}", "Fall injuries among residents 65+ in {navn}"),
    (
        "Forebyggelige indlæggelser blandt borgere 65+ i {navn}",
        "Preventable admissions among residents 65+ in {navn}",
    ),
    ("Faldforebyggelse starter", "Falls programme starts"),
    ("Akutteam starter", "Acute team starts"),
    # event studies (Poisson DiD; narrative.did / narrative.poisson_did plot labels)
    ("Før start", "Pre-treatment"),
    ("Efter start", "Post-treatment"),
    ("Perioder i forhold til indsatsens start", "Periods relative to the start"),
    ("Estimeret effekt (ATT)", "Estimated effect (ATT)"),
    ("Effekt over tid (event study)", "Event study"),
    ("Rateratio", "Rate ratio"),
    ("Rateratio (log-skala)", "Rate ratio (log scale)"),
    (
        "Faldulykker før og efter start, alle kommuner (event study)",
        "Fall injuries before and after the start, all municipalities (event study)",
    ),
    (
        "Forebyggelige indlæggelser før og efter start, alle kommuner (event study)",
        "Preventable admissions before and after the start, all municipalities (event study)",
    ),
    (
        "År i forhold til første hele år med faldforebyggelse",
        "Years relative to the first full year with the falls programme",
    ),
    (
        "År i forhold til første hele år med akutteam",
        "Years relative to the first full year with the acute team",
    ),
    # forest plots (triangulation)
    (
        "Rateratio (under 1 = færre end forventet uden indsats)",
        "Rate ratio (below 1 = fewer than expected without the intervention)",
    ),
    ("Tidsserie (kommunen)", "Time series (the municipality)"),
    ("Difference-in-differences (alle kommuner)", "Difference-in-differences (all municipalities)"),
    ("Syntetisk kontrol", "Synthetic control"),
    (
        "Faldulykker efter start: rateratio i to designs",
        "Fall injuries after the start: rate ratio in two designs",
    ),
    (
        "Forebyggelige indlæggelser efter start: rateratio i tre designs",
        "Preventable admissions after the start: rate ratio in three designs",
    ),
    # falls participant cohort: love plot
    ("Balance før og efter vægtning", "Balance before and after weighting"),
    ("Før vægtning", "Before weighting"),
    ("Efter", "After"),
    (
        "Absolut standardiseret forskel mellem deltagere og ikke-deltagere",
        "Absolute standardised difference between participants and non-participants",
    ),
    # synthetic control
    ("Kommunen", "The municipality"),
    (
        "Syntetisk kontrol (vægtet kombination af kommuner uden akutteam)",
        "Synthetic control (weighted combination of municipalities without an acute team)",
    ),
    ("Pr. {per} personår 65+", "Per {per} person-years 65+"),
    (
        "Alders- og kønsstandardiseret rate\npr. 1.000 personår 65+",
        "Age- and sex-standardised rate\nper 1,000 person-years 65+",
    ),
    ("Faktisk og syntetisk forløb", "Actual and synthetic course"),
    ("Placebo (kommuner uden akutteam)", "Placebo (municipalities without an acute team)"),
    ("Forskel: faktisk − syntetisk", "Difference: actual − synthetic"),
    ("Forskel og placebotest", "Difference and placebo test"),
    ("{navn} og dens syntetiske kontrol", "{navn} and its synthetic control"),
    # study 4: follow-up visit
    ("Før justering", "Before adjustment"),
    ("Efter justering", "After adjustment"),
    (
        "Absolut standardiseret forskel (grænse 0,1)",
        "Absolute standardised difference (threshold 0.1)",
    ),
    (
        "Balance mellem grupperne før og efter justering",
        "Balance between the groups before and after adjustment",
    ),
    (
        "Sandsynlighed for besøg ud fra borgerens kendetegn (propensity score)",
        "Probability of a visit given the resident's characteristics (propensity score)",
    ),
    ("Tæthed", "Density"),
    ("Overlap: borgere med og uden besøg", "Overlap: residents with and without a visit"),
    ("{gruppe}: kumuleret incidens", "{gruppe}: cumulative incidence"),
    (
        "{gruppe}: 1 − Kaplan-Meier (døde regnes som censurerede)",
        "{gruppe}: 1 − Kaplan-Meier (deaths treated as censored)",
    ),
    ("Dage efter udskrivelsen", "Days after discharge"),
    ("Genindlagt (%)", "Readmitted (%)"),
    (
        "Genindlæggelse efter udskrivelsen, med død som konkurrerende hændelse",
        "Readmission after discharge, with death as a competing event",
    ),
    # study 6: social gradients (outcome and survey names: report.labels)
    ("{maal} efter uddannelse, {omraade}", "{maal} by education, {omraade}"),
    ("SII (forskel pr. 1.000)", "SII (difference per 1,000)"),
    (
        "Hældningsindeks for ulighed efter uddannelse, {omraade}",
        "Slope index of inequality by education, {omraade}",
    ),
    (
        "Sundhedsprofilen efter uddannelse, hele landet (vægtede andele)",
        "The National Health Profile by education, whole country (weighted shares)",
    ),
    # study 7: business case
    ("Underskud", "Deficit"),
    ("Overskud", "Surplus"),
    ("Akutteam", "Acute team"),
    ("Faldforebyggelse", "Falls programme"),
    ("Opfølgende hjemmebesøg", "Follow-up home visit"),
    (
        "{indsats}: {andel} af konfidensfordelingen over nul",
        "{indsats}: {andel} of the confidence distribution above zero",
    ),
    (
        "Nettobesparelse i perioden (mio. kr.; besparelse minus udgift)",
        "Net saving in the period (DKK million; saving minus cost)",
    ),
    (
        "Tilnærmet konfidensfordeling for nettobesparelsen ({n} simulationer)",
        "Approximate confidence distribution of the net saving ({n} simulations)",
    ),
    # study 8: preventive home visits at 75
    ("Andel, der tog imod besøget ved 75 år", "Share who accepted the visit at 75"),
    ("Borgere, der fyldte 75", "Residents turning 75"),
    ("Tog imod (%)", "Accepted (%)"),
    ("Kommuner", "Municipalities"),
    ("Tog imod besøget ved 75 år (%)", "Accepted the visit at 75 (%)"),
    ("Akut indlagt det følgende år (%)", "Acutely admitted the following year (%)"),
    ("Besøg virker i måneden (%)", "Visit in effect in the month (%)"),
    ("Akutte indlæggelser", "Acute admissions"),
    ("Faldulykker (indlæggelser)", "Fall injuries (admissions)"),
    ("Start af hjemmehjælp", "Start of home care"),
    ("{udfald}\npr. 1.000 personår", "{udfald}\nper 1,000 person-years"),
    (
        "Måned i forhold til 75-årsfødselsdagens måned",
        "Month relative to the month of the 75th birthday",
    ),
    (
        "Akutte indlæggelser omkring 75-årsdagen, {omraade}",
        "Acute admissions around the 75th birthday, {omraade}",
    ),
]
