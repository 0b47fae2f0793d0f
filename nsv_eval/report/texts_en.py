"""English texts of the reports: (Danish, English) pairs, looked up by :mod:`nsv_eval.report.i18n`.

The Danish text is the key (whitespace-normalised, so line breaks do not matter); ``{name}``
placeholders must be the same in both. Grouped by where the text comes from. A study is
translated (``Study.languages`` in :mod:`nsv_eval.report.studies`) when every text its
report shows is here; ``tests/test_report_english.py`` renders it and fails on any Danish
word.
"""

from __future__ import annotations

from nsv_eval.report.texts_en_figures import FIGURES

# -- package: labels of columns and codes (nsv_eval.report.theme.LABELS_DA) -----------------
LABELS: list[tuple[str, str]] = [
    ("Kommune", "Municipality"),
    ("Kommunekode", "Municipality code"),
    ("Region", "Region"),
    ("Regionskode", "Region code"),
    ("Hele landet", "Denmark"),
    ("År", "Year"),
    ("Måned", "Month"),
    ("Dato", "Date"),
    ("Periode", "Period"),
    ("Køn", "Sex"),
    ("Mænd", "Men"),
    ("Kvinder", "Women"),
    ("Alder", "Age"),
    ("Aldersgruppe", "Age group"),
    ("Uddannelse", "Education"),
    ("Indkomstkvintil", "Income quintile"),
    ("Bor alene", "Lives alone"),
    ("Befolkning", "Population"),
    ("Personår", "Person-years"),
    ("Personer", "Persons"),
    ("Hospitalskontakter", "Hospital contacts"),
    ("Indlæggelsesforløb", "Admission episodes"),
    ("Hændelser", "Events"),
    ("Antal", "Number"),
    ("Rate", "Rate"),
    ("Estimat", "Estimate"),
    ("Nedre grænse", "Lower limit"),
    ("Øvre grænse", "Upper limit"),
    ("p-værdi", "p-value"),
    ("Andel", "Share"),
    ("Kommunal pleje", "Municipal care"),
    ("Registrerede fald", "Registered falls"),
    ("Indsatser", "Interventions"),
    ("Udrulning", "Roll-out"),
    ("Sundhedsprofil", "Health profile survey"),
    ("Datatype", "Data type"),
    ("Fil", "File"),
    ("Indlæst", "Read"),
    ("Godkendt", "Accepted"),
    ("Afvist", "Rejected"),
    ("Sammenlagte dubletter", "Merged duplicates"),
    ("Årsag", "Reason"),
    ("Kolonne", "Column"),
    ("Grundskole", "Primary school"),
    ("Kort uddannelse", "Short education"),
    ("Mellemlang uddannelse", "Medium-length education"),
    ("Lang uddannelse", "Long education"),
    ("Uoplyst", "Unknown"),
    ("Ja", "Yes"),
    ("Nej", "No"),
]

# -- package: disclosure footnotes and the Hovedresultater box ------------------------------
PACKAGE: list[tuple[str, str]] = [
    (
        "<5: Antallet er 1–4 og vises ikke af hensyn til diskretion.",
        "<5: The number is 1–4 and is not shown, to protect confidentiality.",
    ),
    (
        "x: Skjult, så et lille antal ikke kan regnes tilbage ud fra totaler (sekundær "
        "diskretion).",
        "x: Hidden so that a small number cannot be worked out from the totals (secondary "
        "suppression).",
    ),
    (
        "*: Beregnet på færre end 10 hændelser; tallet er usikkert.",
        "*: Based on fewer than 10 events; the figure is uncertain.",
    ),
    ("Hovedresultater", "Key findings"),
    (
        "Hovedresultaterne vises, når analysen er kørt.",
        "The key findings appear when the analysis has run.",
    ),
    ("{navn} Kommune", "{navn} Municipality"),
    # the Excel workbook of a report's tables (nsv_eval.report.workbook)
    ("Om tallene", "About the numbers"),
    ("Tabel", "Table"),
    ("Tabeller", "Tables"),
    ("Ark", "Sheet"),
    ("Tællekolonner", "Count columns"),
    (
        "nsv-eval {version}, rapportdato {date}, data {fp}",
        "nsv-eval {version}, report date {date}, data {fp}",
    ),
    (
        "Tallene er de samme som i rapporten og har passeret diskretionskontrollen: antal på "
        "1–4 står som »<5«, tal skjult for at beskytte totaler som »x«; rater beregnet på "
        "færre end 10 hændelser er markeret med *.",
        "The numbers are the same as in the report and have passed the confidentiality "
        "check: counts of 1–4 are shown as “<5”, numbers hidden to protect totals as “x”; "
        "rates based on fewer than 10 events are marked with *.",
    ),
]

# -- package: reject reasons of the ingest (nsv_eval.report.labels.REJECT_REASONS_DA) ------
REASONS: list[tuple[str, str]] = [
    ("Linjen kunne ikke deles i kolonner", "The line could not be split into columns"),
    ("Manglende værdi", "Missing value"),
    ("Ugyldig dato", "Invalid date"),
    ("Ikke et tal", "Not a number"),
    ("Negativt antal", "Negative count"),
    ("Uden for det mulige interval", "Outside the possible range"),
    ("Ukendt kommunekode", "Unknown municipality code"),
    ("Ugyldig ICD-10-kode", "Invalid ICD-10 code"),
    ("Ugyldigt CPR-nummer", "Invalid CPR number"),
    (
        "Fødselsdato eller køn passer ikke med CPR-nummeret",
        "Date of birth or sex does not match the CPR number",
    ),
    (
        "CPR-nummer i en kolonne, der ikke må indeholde det",
        "CPR number in a column that must not contain one",
    ),
    ("Ukendt kategori", "Unknown category"),
    ("Udskrivning før indlæggelse", "Discharge before admission"),
    ("Slutdato før startdato", "End date before start date"),
    ("Dødsdato før fødselsdato", "Date of death before date of birth"),
    ("Dublet med afvigende værdier", "Duplicate with different values"),
]

# -- study 1: Datakvalitet (notebooks/01_datakvalitet.ipynb) ---------------------------------
DATAKVALITET: list[tuple[str, str]] = [
    # markdown cells
    (
        "Denne rapport beskriver det datagrundlag, som alle øvrige rapporter bygger på: hvilke "
        "filer der blev indlæst, hvor mange rækker der blev afvist og hvorfor, og om data dækker "
        "kommunen og hele landet jævnt år for år. Huller eller brud i data slår igennem i alle "
        "indikatorer, så rapporten bør læses først.",
        "This report describes the data that all other reports are built on: which files were "
        "read, how many rows were rejected and why, and whether the data cover the municipality "
        "and the whole country evenly year by year. Gaps or breaks in the data show up in every "
        "indicator, so this report should be read first.",
    ),
    ("## Datagrundlag", "## The data"),
    (
        "## Indlæst, afvist og sammenlagt\n\nHver række i hver fil bliver enten godkendt, afvist "
        "(lagt i karantæne med en årsag) eller lagt sammen med en identisk dublet. Der må ikke "
        "forsvinde rækker undervejs: *indlæst = godkendt + afvist + sammenlagte dubletter* for "
        "hver fil.",
        "## Read, rejected and merged\n\nEvery row of every file is either accepted, rejected "
        "(quarantined with a reason) or merged with an identical duplicate. No row may get lost "
        "on the way: *read = accepted + rejected + merged duplicates* for every file.",
    ),
    ("## Afvisningsårsager", "## Reasons for rejection"),
    (
        "## Dækning pr. år\n\nHvis data mangler for en periode, et sygehus eller en kommune, viser "
        "det sig som et fald i antallet af kontakter pr. indbygger. Tabellen viser kommunens tal "
        "år for år; figuren sammenligner kontakt- og forløbsrater med hele landet.",
        "## Coverage by year\n\nIf data are missing for a period, a hospital or a municipality, "
        "it shows as a drop in the number of contacts per resident. The table shows the "
        "municipality's numbers year by year; the figure compares the rates of contacts and "
        "admission episodes with the whole country.",
    ),
    (
        "## Metode og forbehold\n\n"
        "- **Kilder.** Tabellerne bygger på det klargjorte datagrundlag (`nsv-eval prepare`): "
        "afstemningen af hver inputfil (`reconciliation.json`), karantænefilerne med afviste "
        "rækker (`rejects-<datatype>.csv`) og manifestet med filernes SHA-256-fingeraftryk "
        "(`manifest.json`).\n"
        "- **Afstemning.** For hver fil gælder: indlæst = godkendt + afvist + sammenlagte "
        "dubletter. En række afvises med den første fejl, der findes (kolonnerne kontrolleres i "
        "fast rækkefølge), så en række med flere fejl tælles én gang.\n"
        "- **Dækning.** *Personer i data* er personer i persontabellen, der var i live på et "
        "tidspunkt i året. *Kontakter* og *indlæggelsesforløb* er placeret i det år, "
        "indlæggelsen begyndte, og i personens bopælskommune. Raterne er pr. 1.000 indbyggere pr. "
        "1. januar. Et år, hvor kommunens kontaktrate afviger mere end 50 % fra periodens median, "
        "markeres som et muligt hul i data — en grov tommelfingerregel, ikke en statistisk "
        "test.\n"
        "- **Diskretion.** Alle antal på 1–4 vises som »<5«; 0 vises som 0. Hvor en total ellers "
        "ville afsløre et skjult tal, skjules også det næstmindste tal (»x«). Rater beregnet på "
        "færre end 10 hændelser er markeret med *.\n"
        "- **Forbehold.** Rapporten kan kun vise det, der er kommet med i udtrækket: rækker, som "
        "aldrig blev leveret, ses kun indirekte som et fald i dækningen.",
        "## Method and caveats\n\n"
        "- **Sources.** The tables are based on the prepared data (`nsv-eval prepare`): the "
        "reconciliation of every input file (`reconciliation.json`), the quarantine files with "
        "rejected rows (`rejects-<data type>.csv`) and the manifest with the files' SHA-256 "
        "fingerprints (`manifest.json`).\n"
        "- **Reconciliation.** For every file: read = accepted + rejected + merged duplicates. "
        "A row is rejected for the first error found (the columns are checked in a fixed "
        "order), so a row with several errors is counted once.\n"
        "- **Coverage.** *Persons in the data* are persons in the person table who were alive "
        "at some time in the year. *Contacts* and *admission episodes* are placed in the year "
        "the admission began and in the person's municipality of residence. Rates are per 1,000 "
        "residents on 1 January. A year in which the municipality's contact rate differs by "
        "more than 50% from the median of the period is marked as a possible gap in the data "
        "— a rough rule of thumb, not a statistical test.\n"
        "- **Confidentiality.** All counts of 1–4 are shown as “<5”; 0 is shown as 0. Where a "
        "total would otherwise reveal a hidden number, the next-smallest number is hidden too "
        "(“x”). Rates based on fewer than 10 events are marked with *.\n"
        "- **Caveats.** The report can only show what was included in the extract: rows that "
        "were never delivered show only indirectly, as a drop in coverage.",
    ),
    # texts composed in the notebook (_())
    (
        "Datagrundlaget består af {n} inputfiler. Hver fil er identificeret ved sit "
        "SHA-256-fingeraftryk, så det altid kan eftervises, præcis hvilke data en rapport "
        "bygger på.",
        "The data consist of {n} input files. Every file is identified by its SHA-256 "
        "fingerprint, so it can always be shown exactly which data a report is based on.",
    ),
    ("Ingen rækker blev afvist.", "No rows were rejected."),
    (
        "De {n} hyppigste af {m} kombinationer af datatype, årsag og kolonne. De afviste rækker "
        "ligger i karantænefilerne `rejects-<datatype>.csv` (CPR-numre maskeret) til opfølgning "
        "hos dataleverandøren.",
        "The {n} most frequent of {m} combinations of data type, reason and column. The "
        "rejected rows are in the quarantine files `rejects-<data type>.csv` (CPR numbers "
        "masked) for follow-up with the data supplier.",
    ),
    ("Kontakter pr. 1.000, {navn}", "Contacts per 1,000, {navn}"),
    ("Dækning pr. år, {navn}", "Coverage by year, {navn}"),
    ("Kontakter, {navn}", "Contacts, {navn}"),
    ("Indlæggelsesforløb, {navn}", "Admission episodes, {navn}"),
    # Findings sentences
    (
        "Data dækker perioden {fra} til {til}; analyserne bruger årene {aar}.",
        "The data cover the period {fra} to {til}; the analyses use the years {aar}.",
    ),
    (
        "Der blev indlæst {value} rækker i {files} filer; {rejected} rækker ({share}) blev "
        "afvist, og {merged} dubletter blev lagt sammen.",
        "{value} rows were read from {files} files; {rejected} rows ({share}) were rejected, "
        "and {merged} duplicates were merged.",
    ),
    (
        "Alle filer stemmer: indlæst = godkendt + afvist + sammenlagte dubletter.",
        "All files reconcile: read = accepted + rejected + merged duplicates.",
    ),
    (
        "Advarsel: {n} filer stemmer ikke (indlæst ≠ godkendt + afvist + sammenlagte "
        "dubletter); se tabellen.",
        "Warning: {n} files do not reconcile (read ≠ accepted + rejected + merged "
        "duplicates); see the table.",
    ),
    (
        "Den hyppigste afvisningsårsag var »{reason}« i kolonnen {column} ({kind}): {n} rækker.",
        "The most frequent reason for rejection was “{reason}” in the column {column} ({kind}): "
        "{n} rows.",
    ),
    (
        "Over hele perioden havde {navn} {kom} hospitalskontakter pr. 1.000 indbyggere om året "
        "mod {land} i hele landet (forholdstal {value}).",
        "Over the whole period, {navn} had {kom} hospital contacts per 1,000 residents a year "
        "against {land} in the whole country (ratio {value}).",
    ),
    (
        "Ingen år skiller sig ud: kommunens kontaktrate ligger hvert år inden for ±50 % af "
        "periodens median.",
        "No year stands out: the municipality's contact rate is within ±50% of the median of "
        "the period every year.",
    ),
    (
        "Advarsel: i {value} år ({years}) afviger kommunens kontaktrate mere end 50 % fra "
        "periodens median — undersøg, om data mangler.",
        "Warning: in {value} years ({years}) the municipality's contact rate differs by more "
        "than 50% from the median of the period — check whether data are missing.",
    ),
    (
        "{value} hospitalskontakter i perioden kunne ikke kobles til en person i persontabellen.",
        "{value} hospital contacts in the period could not be linked to a person in the person "
        "table.",
    ),
    # table headings and captions
    ("Rækker", "Rows"),
    ("Fingeraftryk", "Fingerprint"),
    ("Inputfiler", "Input files"),
    ("Dubletter", "Duplicates"),
    ("Rækker pr. datatype og fil", "Rows by data type and file"),
    ("Antal rækker", "Number of rows"),
    ("Afvisningsårsager", "Reasons for rejection"),
    ("Befolkning 1. jan.", "Population 1 Jan."),
    ("Personer i data", "Persons in the data"),
    ("Kontakter", "Contacts"),
    ("Kontakter pr. 1.000, hele landet", "Contacts per 1,000, whole country"),
    # figure
    ("Kontakter, hele landet", "Contacts, whole country"),
    ("Indlæggelsesforløb, hele landet", "Admission episodes, whole country"),
    ("Antal pr. 1.000 indbyggere", "Number per 1,000 residents"),
    (
        "Hospitalskontakter og indlæggelsesforløb pr. 1.000 indbyggere",
        "Hospital contacts and admission episodes per 1,000 residents",
    ),
    (
        "Punkter beregnet på 1–4 hændelser er udeladt af hensyn til diskretion.",
        "Points based on 1–4 events are left out to protect confidentiality.",
    ),
]

# -- studies 3 and 5: which rates the national comparisons use ----------------------------
# (nsv_eval.report.studies._intervention; the studies are not translated yet, the words on
# standardisation are, so a translation of the studies starts from them)
STANDARDISED: list[tuple[str, str]] = [
    (
        "alders- og kønsstandardiserede rater (indirekte standardisering på landets rater pr. år)",
        "age- and sex-standardised rates (indirect standardisation on the country's rates of "
        "each year)",
    ),
    (
        "Raterne i sammenligningen med andre kommuner er alders- og kønsstandardiserede "
        "(indirekte standardisering på landets rater pr. år): kommunens antal divideret med det "
        "antal, dens borgere 65+ ville have haft med landets rater for deres alder og køn samme "
        "år, ganget med landets rate. Kommunernes aldersfordeling inden for 65+ ændrer sig i "
        "forskelligt tempo (de store årgange fra 1945–50 fylder 65 på forskellige tidspunkter), "
        "så rå rater ville glide fra hinanden uden nogen indsats.",
        "The rates compared with other municipalities are age- and sex-standardised (indirect "
        "standardisation on the country's rates of each year): the municipality's count divided "
        "by the count its residents 65+ would have had at the country's rates for their age and "
        "sex in the same year, times the country's rate. The age mix within the 65+ changes at "
        "different paces in different municipalities (the large cohorts born 1945–50 turn 65 at "
        "different times), so crude rates would drift apart without any intervention.",
    ),
    (
        "Tidsserien bruger kommunens rå rater (personår som nævner): den sammenligner kommunen "
        "med sig selv, og modellens tendens opfanger den langsomme ændring i aldersfordelingen.",
        "The time series uses the municipality's crude rates (person-years as denominator): it "
        "compares the municipality with itself, and the model's trend absorbs the slow change "
        "in its age mix.",
    ),
]

TEXTS_EN: list[tuple[str, str]] = LABELS + PACKAGE + REASONS + DATAKVALITET + FIGURES + STANDARDISED
"""Every (Danish, English) pair."""
