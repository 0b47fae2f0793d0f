"""What each kind of extract must contain: canonical columns, types, aliases, meaning.

The canonical columns are those of the raw layout in ARCHITECTURE.md. Column names in a
user's file are matched after normalisation (:func:`normalise_name`: lower case, æ/ø/å
spelled ae/oe/aa, any other non-alphanumeric character as ``_``) against the canonical
name and its aliases; a YAML mapping file can add more (see ``params/mapping.example.yaml``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pyarrow as pa

from nsv_eval.reference import EDUCATION_LEVELS

ARROW_TYPES: dict[str, pa.DataType] = {
    "id": pa.string(),
    "int": pa.int64(),
    "year": pa.int64(),
    "count": pa.int64(),
    "float": pa.float64(),
    "kommune": pa.int64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("s"),
    "bool": pa.bool_(),
    "sex": pa.string(),
    "education": pa.string(),
    "category": pa.string(),
    "icd10": pa.string(),
    "text": pa.string(),
}

TYPE_WORDS: dict[str, str] = {
    "id": "text (pseudonymous identifier; CPR numbers are pseudonymised)",
    "int": "whole number",
    "year": "year (e.g. 2021; '2021K1' is read as 2021)",
    "count": "whole number >= 0",
    "float": "number (decimal comma or point; '.' as thousands separator)",
    "kommune": "kommune code (101-860) or kommune name",
    "date": "date (dd-mm-yyyy, dd.mm.yyyy, dd/mm/yyyy, yyyy-mm-dd, yyyymmdd, SAS 15MAR2020 "
    "or an Excel serial day number)",
    "datetime": "date and time (a date format above, optionally followed by [kl.] HH:MM[:SS])",
    "bool": "yes/no (1/0, ja/nej, J/N, true/false)",
    "sex": "sex (M/K/F, 1/2, mand/kvinde; stored as M/F)",
    "education": "education level (" + "/".join(EDUCATION_LEVELS) + " or a DST label)",
    "category": "one of a fixed set of values",
    "icd10": "ICD-10 action diagnosis (SKS style DJ189, J18.9 or J189; stored as DJ189)",
    "text": "text",
}

REASONS: dict[str, str] = {
    "malformed_row": "the line could not be split into the header's columns (ragged, "
    "truncated or a different delimiter)",
    "missing_value": "a required value is empty",
    "bad_date": "not a valid date/time in an accepted format (day-month-year with - . or /, "
    "or ISO year-month-day); two-digit years are ambiguous",
    "bad_number": "not a number",
    "negative_count": "a count below zero",
    "out_of_range": "a number or date outside the plausible range of the column",
    "unknown_kommune": "not one of the 98 Danish kommuner",
    "invalid_icd10": "not an ICD-10 code",
    "invalid_cpr": "not a valid CPR number (DDMMYY-SSSS with a real birth date)",
    "cpr_mismatch": "the birth date or sex given disagrees with the CPR number",
    "cpr_in_text": "a CPR number in a column that must not hold one (whole or inside the "
    "text; the value is masked here and never kept)",
    "future_date": "a date after the extract date (default: today); only planned dates "
    "(a care grant's end, a planned roll-out start) may lie ahead",
    "unknown_category": "a value outside the accepted categories",
    "discharge_before_admission": "discharge time before admission time",
    "end_before_start": "end date before start date",
    "death_before_birth": "death date before birth date",
    "duplicate_key": "another row has the same key but different values (the first is kept)",
}
"""Reject reason codes and their meaning in plain words."""


def normalise_name(name: object) -> str:
    """Normalise a column name for matching: ``'Indlæggelses-dato '`` → ``'indlaeggelses_dato'``."""
    s = str(name).replace("\ufeff", "").strip().lower()
    s = s.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]+", "_", s).strip("_")


def normalise_token(value: str) -> str:
    """Normalise a category value the same way as column names (``'Mænd'`` → ``'maend'``)."""
    return normalise_name(value)


@dataclass(frozen=True)
class Column:
    """One canonical column of a kind.

    Attributes
    ----------
    name : str
        Canonical name (the output column).
    type : str
        One of :data:`ARROW_TYPES`.
    required : bool
        Whether the input must have the column.
    nullable : bool
        Whether an empty value is allowed (else it is rejected as ``missing_value``).
    meaning : str
        Plain-words description.
    aliases : tuple of str
        Accepted other names (normalised form).
    categories : dict, optional
        For ``category``: normalised token → canonical value.
    lo, hi : float, optional
        Plausible range (``out_of_range`` outside).
    lo_exclusive : bool
        The value must be strictly greater than ``lo``.
    from_cpr : bool
        Derived from a CPR number when the file has one and not this column.
    generated : bool
        Numbered by ingest when the column is absent.
    planned : bool
        A date that may lie after the extract date (a planned end or start); every other
        date after the extract date is rejected as ``future_date``.
    """

    name: str
    type: str
    required: bool
    nullable: bool
    meaning: str
    aliases: tuple[str, ...] = ()
    categories: dict[str, str] | None = None
    lo: float | None = None
    hi: float | None = None
    lo_exclusive: bool = False
    from_cpr: bool = False
    generated: bool = False
    planned: bool = False


@dataclass(frozen=True)
class Schema:
    """The expected content of one kind of extract."""

    kind: str
    table: str
    meaning: str
    columns: tuple[Column, ...]
    id_column: str | None = None
    key: tuple[str, ...] = ()
    checks: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """Canonical column names in output order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow_schema(self) -> pa.Schema:
        """The fixed Parquet schema of the output table."""
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in self.columns])


CPR_ALIASES: tuple[str, ...] = (
    "cpr",
    "pnr",
    "cprnr",
    "cpr_nr",
    "cpr_nummer",
    "cprnummer",
    "personnummer",
    "personnr",
    "v_pnr",
    "v_cpr",
    "c_pnr",
)
"""Names of a column holding CPR numbers (in any kind with a person identifier)."""

_PERSON_ID = Column(
    "person_id",
    "id",
    True,
    False,
    "pseudonymous person identifier; a file may instead have a CPR column (cpr, PNR, "
    "CPR-nummer ...), which is validated and replaced by a keyed pseudonym",
    ("pid", "personid", "person", "lbnr", "loebenr", "pseudo_id", "pseudonym", "cpr_encrypted"),
    from_cpr=True,
)
_KOMMUNE = Column(
    "kommune_code",
    "kommune",
    True,
    False,
    "the kommune (3-digit code 101-860, or its name)",
    (
        "komkode",
        "kom",
        "kommune",
        "kommunekode",
        "kommune_kode",
        "kommunenr",
        "kom_kode",
        "c_kom",
        "bopaelskommune",
        "bopael_kommune",
        "omraade",
        "omrade",
    ),
)
_SEX = Column(
    "sex",
    "sex",
    True,
    False,
    "sex: M (man) or F (woman); K/kvinde and 2 mean woman, 1/mand mean man",
    ("koen", "kon", "kn", "c_kon", "c_koen", "gender", "sex_code"),
)
_EDU = Column(
    "education",
    "education",
    False,
    True,
    "highest completed education: grundskole, kort (upper secondary/vocational), "
    "mellemlang (short/medium tertiary), lang (long tertiary); empty = unknown",
    ("uddannelse", "udd", "uddannelsesniveau", "udd_niveau", "hoejeste_uddannelse"),
)

_INTERVENTION_TOKENS = {
    "followup_visit": "followup_visit",
    "opfoelgende_hjemmebesoeg": "followup_visit",
    "opfolgende_hjemmebesog": "followup_visit",
    "opfoelgende_besoeg": "followup_visit",
    "opfoelgningsbesoeg": "followup_visit",
    "falls_programme": "falls_programme",
    "falls_program": "falls_programme",
    "faldforebyggelse": "falls_programme",
    "faldprogram": "falls_programme",
    "faldforebyggelsesprogram": "falls_programme",
    "preventive_visit": "preventive_visit",
    "forebyggende_hjemmebesoeg": "preventive_visit",
    "forebyggende_hjemmebesog": "preventive_visit",
    "forebyggende_besoeg": "preventive_visit",
}

CONTACT_TYPE_TOKENS: dict[str, str] = {
    "inpatient": "inpatient",
    "indlagt": "inpatient",
    "indlaeggelse": "inpatient",
    "outpatient": "outpatient",
    "ambulant": "outpatient",
    "emergency": "emergency",
    "skadestue": "emergency",
    "akutmodtagelse": "emergency",
    "physical": "physical",
    "alca00": "physical",
    "fysisk_fremmoede": "physical",
    "fysisk_fremmode": "physical",
    "virtual": "virtual",
    "alca03": "virtual",
    "virtuel": "virtual",
    "virtuel_kontakt": "virtual",
    "other": "other",
    "andet": "other",
}
"""Accepted contact types (normalised token → canonical value); LPR2 C_PATTYPE codes are
translated by :mod:`nsv_eval.ingest.layouts`, where the register is known."""

CONTACT_CAUSE_TOKENS: dict[str, str] = {
    "alcc01": "ALCC01",
    "sygdom": "ALCC01",
    "alcc02": "ALCC02",
    "ulykke": "ALCC02",
    "alcc03": "ALCC03",
    "vold": "ALCC03",
    "voldshandling": "ALCC03",
    "alcc04": "ALCC04",
    "selvmordsforsoeg": "ALCC04",
    "selvskade": "ALCC04",
    "other": "other",
    "andet": "other",
}
"""Accepted contact causes (kontaktårsag) → the LPR3 code; LPR2 C_KONTAARS codes are
translated by :mod:`nsv_eval.ingest.layouts`."""

SCHEMAS: dict[str, Schema] = {
    "persons": Schema(
        "persons",
        "persons",
        "one row per person: residence kommune, birth date, sex, socio-economic position",
        (
            _PERSON_ID,
            _KOMMUNE,
            Column(
                "birth_date",
                "date",
                True,
                False,
                "date of birth (derived from the CPR number when the file has one)",
                (
                    "foedselsdato",
                    "fodselsdato",
                    "fdato",
                    "d_foddato",
                    "foed_dato",
                    "birthdate",
                    "dob",
                ),
                lo=1880,
                from_cpr=True,
            ),
            Column(
                "sex",
                _SEX.type,
                True,
                False,
                _SEX.meaning + " (derived from the CPR number when the file has one)",
                _SEX.aliases,
                from_cpr=True,
            ),
            _EDU,
            Column(
                "income_quintile",
                "int",
                False,
                True,
                "income quintile, 1 = lowest ... 5 = highest",
                ("indkomstkvintil", "indkomst_kvintil", "kvintil", "quintile"),
                lo=1,
                hi=5,
            ),
            Column(
                "living_alone",
                "bool",
                False,
                True,
                "lives alone (yes/no)",
                ("bor_alene", "enlig", "alene"),
            ),
            Column(
                "death_date",
                "date",
                False,
                True,
                "date of death; empty if alive at the end of the period",
                ("doedsdato", "dodsdato", "d_doddato", "d_dodsdato", "doed_dato", "dod_dato"),
                lo=1880,
            ),
        ),
        id_column="person_id",
        key=("person_id",),
        checks=("death_before_birth",),
    ),
    "admissions": Schema(
        "admissions",
        "contacts",
        "hospital contacts from the patient register (LPR): one row per contact",
        (
            Column(
                "contact_id",
                "int",
                False,
                False,
                "contact number; if the file has none, contacts are numbered after the "
                "largest number present",
                ("kontakt_id", "kontaktid", "recnum", "v_recnum", "k_recnum", "dw_ek_kontakt"),
                generated=True,
            ),
            _PERSON_ID,
            Column(
                "admit_time",
                "datetime",
                True,
                False,
                "admission date and time",
                (
                    "inddto",
                    "d_inddto",
                    "inddato",
                    "d_inddato",
                    "indlaeggelsesdato",
                    "indlaeggelsestidspunkt",
                    "indldato",
                    "starttid",
                    "admission_time",
                    "admit_date",
                ),
                lo=1977,
            ),
            Column(
                "discharge_time",
                "datetime",
                True,
                False,
                "discharge date and time",
                (
                    "uddto",
                    "d_uddto",
                    "uddato",
                    "d_uddato",
                    "udskrivningsdato",
                    "udskrivningstidspunkt",
                    "sluttid",
                    "discharge_date",
                ),
                lo=1977,
            ),
            Column(
                "acute",
                "bool",
                True,
                False,
                "acute admission (yes/no); LPR indlæggelsesmåde 1 = akut, 2 = planlagt, or "
                "the words akut/planlagt",
                ("akut", "c_indm", "indm", "indlaeggelsesmaade", "indlaeggelsesmade", "prioritet"),
            ),
            Column(
                "diagnosis",
                "icd10",
                True,
                False,
                "action diagnosis (aktionsdiagnose), ICD-10",
                (
                    "adiag",
                    "c_adiag",
                    "aktionsdiagnose",
                    "aktionsdiag",
                    "diag",
                    "diagnose",
                    "hoveddiagnose",
                ),
            ),
            Column(
                "hospital",
                "text",
                False,
                True,
                "hospital (SHAK code or name)",
                ("sygehus", "c_sgh", "sgh", "shak", "sygehuskode", "hospital_code", "sorenhed_ans"),
            ),
            # The four columns below come from LPR-shaped extracts (nsv_eval.ingest.layouts);
            # a tidy extract without them is read as before (every contact an admission).
            Column(
                "contact_type",
                "category",
                False,
                True,
                "kind of contact: inpatient (indlagt), outpatient (ambulant, an LPR2 "
                "out-patient contact spanning several visits), emergency (skadestue), physical "
                "(LPR3 ALCA00 fysisk fremmøde), virtual (LPR3 ALCA03 virtuel kontakt) or other; "
                "empty = an admission (the tidy layout)",
                ("kontakttype", "patienttype", "pattype", "c_pattype"),
                categories=CONTACT_TYPE_TOKENS,
            ),
            Column(
                "contact_cause",
                "category",
                False,
                True,
                "contact cause (kontaktårsag) as the LPR3 code: ALCC01 sygdom, ALCC02 ulykke, "
                "ALCC03 voldshandling, ALCC04 selvmordsforsøg/selvskade, other",
                ("kontaktaarsag", "kontakt_aarsag", "c_kontaars"),
                categories=CONTACT_CAUSE_TOKENS,
            ),
            Column(
                "specialty",
                "text",
                False,
                True,
                "specialty of the responsible unit (LPR3 hovedspeciale_ans, LPR2 C_SPEC)",
                ("hovedspeciale_ans", "hovedspeciale", "speciale", "c_spec"),
            ),
            Column(
                "episode_id",
                "text",
                False,
                True,
                "the LPR3 forløb the contact belongs to (DW_EK_FORLOEB)",
                ("dw_ek_forloeb", "forloeb_id", "forloebsid"),
            ),
        ),
        id_column="person_id",
        key=("contact_id",),
        checks=("discharge_before_admission",),
    ),
    "care": Schema(
        "care",
        "care",
        "municipal care (omsorgsdata): one row per period of home care or home nursing",
        (
            _PERSON_ID,
            Column(
                "service",
                "category",
                True,
                False,
                "home_care (hjemmepleje, praktisk hjælp, personlig pleje) or home_nursing "
                "(hjemmesygepleje)",
                ("ydelse", "ydelsestype", "ydelse_type", "indsats", "ydelsesgruppe"),
                categories={
                    "home_care": "home_care",
                    "hjemmepleje": "home_care",
                    "hjemmehjaelp": "home_care",
                    "praktisk_hjaelp": "home_care",
                    "personlig_pleje": "home_care",
                    "personlig_og_praktisk_hjaelp": "home_care",
                    "home_nursing": "home_nursing",
                    "hjemmesygepleje": "home_nursing",
                    "sygepleje": "home_nursing",
                },
            ),
            Column(
                "start_date",
                "date",
                True,
                False,
                "first day of the service",
                ("startdato", "start", "fra_dato", "fradato", "dato_fra", "bevilget_fra"),
                lo=1970,
            ),
            Column(
                "end_date",
                "date",
                False,
                True,
                "last day of the service; empty = ongoing (may lie after the extract date: "
                "the planned end of a grant)",
                ("slutdato", "slut", "til_dato", "tildato", "dato_til", "bevilget_til"),
                lo=1970,
                planned=True,
            ),
            Column(
                "hours_per_week",
                "float",
                False,
                True,
                "granted hours per week",
                ("timer_pr_uge", "timer_per_uge", "timer_uge", "ugentlige_timer", "timer"),
                lo=0,
                hi=168,
            ),
        ),
        id_column="person_id",
        checks=("end_before_start",),
    ),
    "falls": Schema(
        "falls",
        "falls",
        "falls registered by municipal care: one row per fall",
        (
            _PERSON_ID,
            Column(
                "fall_date",
                "date",
                True,
                False,
                "date of the fall",
                ("faldsdato", "fald_dato", "falddato", "dato"),
                lo=1970,
            ),
        ),
        id_column="person_id",
    ),
    "interventions": Schema(
        "interventions",
        "interventions",
        "person-level interventions: one row per person and intervention",
        (
            _PERSON_ID,
            Column(
                "intervention",
                "category",
                True,
                False,
                "followup_visit (opfølgende hjemmebesøg), falls_programme (faldforebyggelse) "
                "or preventive_visit (forebyggende hjemmebesøg)",
                ("indsats", "ydelse", "tiltag", "type", "indsatstype"),
                categories=_INTERVENTION_TOKENS,
            ),
            Column(
                "date",
                "date",
                True,
                False,
                "date the intervention was given or started",
                ("dato", "indsatsdato", "besoegsdato", "startdato"),
                lo=1970,
            ),
        ),
        id_column="person_id",
    ),
    "rollout": Schema(
        "rollout",
        "rollout",
        "kommune-level roll-out: when each kommune started an intervention",
        (
            _KOMMUNE,
            Column(
                "intervention",
                "category",
                True,
                False,
                "falls_programme (faldforebyggelse) or acute_team (akutteam)",
                ("indsats", "tiltag", "type"),
                categories={
                    "falls_programme": "falls_programme",
                    "falls_program": "falls_programme",
                    "faldforebyggelse": "falls_programme",
                    "faldprogram": "falls_programme",
                    "acute_team": "acute_team",
                    "akutteam": "acute_team",
                    "akut_team": "acute_team",
                    "akutfunktion": "acute_team",
                },
            ),
            Column(
                "start_date",
                "date",
                True,
                True,
                "start date; empty = never started (may lie after the extract date: a "
                "planned start)",
                ("startdato", "start", "opstart", "opstartsdato", "igangsat"),
                lo=1970,
                planned=True,
            ),
        ),
        key=("kommune_code", "intervention"),
    ),
    "population": Schema(
        "population",
        "population",
        "head counts on 1 January by kommune, age, sex and education (FOLK1A-like)",
        (
            Column(
                "year",
                "year",
                True,
                False,
                "year (counts on 1 January)",
                ("aar", "tid", "aarstal"),
                lo=1900,
                hi=2100,
            ),
            _KOMMUNE,
            Column(
                "age",
                "int",
                True,
                False,
                "age in whole years ('85 år' accepted)",
                ("alder",),
                lo=0,
                hi=125,
            ),
            _SEX,
            _EDU,
            Column(
                "population",
                "count",
                True,
                False,
                "number of persons",
                ("antal", "befolkning", "folketal", "indhold", "personer", "n"),
            ),
        ),
        key=("year", "kommune_code", "age", "sex", "education"),
    ),
    "survey": Schema(
        "survey",
        "survey",
        "health survey (Sundhedsprofilen-like): one row per respondent and survey year",
        (
            Column(
                "respondent_id",
                "id",
                True,
                False,
                "respondent identifier (a CPR column is pseudonymised into it)",
                ("respondent", "resp_id", "respondentid", "id_nr", "lbnr"),
                from_cpr=True,
            ),
            Column(
                "year",
                "year",
                True,
                False,
                "survey year",
                ("aar", "aarstal", "undersoegelsesaar"),
                lo=1990,
                hi=2100,
            ),
            _KOMMUNE,
            _SEX,
            Column("age", "int", True, False, "age in whole years", ("alder",), lo=0, hi=125),
            _EDU,
            Column(
                "weight",
                "float",
                True,
                False,
                "survey weight (> 0)",
                ("vaegt", "vaegtning", "vaegt_kommune", "weight_kommune"),
                lo=0,
                lo_exclusive=True,
            ),
            Column(
                "srh_good",
                "bool",
                False,
                True,
                "self-rated health good or very good",
                ("selvvurderet_helbred_godt", "helbred_godt", "godt_helbred"),
            ),
            Column(
                "daily_smoker",
                "bool",
                False,
                True,
                "smokes daily",
                ("dagligryger", "daglig_ryger", "ryger_dagligt"),
            ),
            Column("lonely", "bool", False, True, "often feels lonely", ("ensom", "ensomhed")),
            Column(
                "mental_wellbeing",
                "float",
                False,
                True,
                "mental well-being score (0-100)",
                ("mentalt_helbred", "mental_trivsel", "sf12_mcs", "mcs"),
                lo=0,
                hi=100,
            ),
        ),
        id_column="respondent_id",
        key=("respondent_id", "year"),
    ),
}

KINDS: tuple[str, ...] = tuple(SCHEMAS)
"""Kinds of extract that ingest understands."""

KIND_ALIASES: dict[str, str] = {"contacts": "admissions", "lpr": "admissions"}


def get_schema(kind: str) -> Schema:
    """The schema of ``kind`` (``'contacts'`` is accepted for ``'admissions'``)."""
    k = KIND_ALIASES.get(kind, kind)
    if k not in SCHEMAS:
        raise ValueError(f"Unknown kind {kind!r}; choose one of: {', '.join(KINDS)}.")
    return SCHEMAS[k]


def schema_text(kind: str) -> str:
    """Plain-words description of what an extract of ``kind`` must contain.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.

    Returns
    -------
    str
        Multi-line text: output table, then per column its type, whether required,
        accepted names and meaning; then the reject reason codes.
    """
    s = get_schema(kind)
    lines = [
        f"{s.kind}: {s.meaning}",
        f"output table: {s.table}.parquet (rejected rows: rejects-{s.kind}.csv)",
        "",
    ]
    for c in s.columns:
        if c.generated:
            req = "optional (numbered by ingest if absent)"
        elif c.from_cpr:
            req = "required unless the file has a CPR column"
        else:
            req = "required" if c.required else "optional"
        empty = "may be empty" if c.nullable else "must not be empty"
        lines.append(f"{c.name}  [{ARROW_TYPES[c.type]}]  {req}, {empty}")
        lines.append(f"    {TYPE_WORDS[c.type]}")
        lines.append(f"    meaning: {c.meaning}")
        if c.type in ("date", "datetime"):
            lines.append(f"    plausible years: {int(c.lo) if c.lo is not None else 1850}-2100")
        elif c.lo is not None or c.hi is not None:
            lo = "" if c.lo is None else f"{c.lo:g}"
            hi = "" if c.hi is None else f"{c.hi:g}"
            rel = "> " if c.lo_exclusive else ""
            lines.append(f"    plausible range: {rel}{lo} .. {hi}")
        if c.categories:
            vals = sorted(set(c.categories.values()))
            lines.append(
                f"    values: {', '.join(vals)} (also: {', '.join(sorted(k for k in c.categories if k not in vals))})"
            )
        if c.aliases:
            lines.append(f"    also accepted as: {', '.join(c.aliases)}")
    if s.id_column:
        lines.append(
            f"cpr  (instead of {s.id_column})  CPR number DDMMYY-SSSS, with or without dash"
        )
        lines.append(f"    also accepted as: {', '.join(CPR_ALIASES)}")
        lines.append(
            "    validated (real birth date, century rule), birth date and sex derived and "
            "checked, then replaced by a keyed pseudonym; needs NSV_PSEUDO_KEY"
        )
    if s.key:
        lines.append(
            f"\nkey: {', '.join(s.key)} (rows with the same key but other values are rejected)"
        )
    lines.append("\nreject reasons:")
    lines += [f"    {code}: {text}" for code, text in REASONS.items()]
    return "\n".join(lines)
