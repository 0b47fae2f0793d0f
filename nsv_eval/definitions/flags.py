"""Indicator flags on hospital stays (*sygehusophold*), computed from the definition files.

Input is the stays table of :mod:`nsv_eval.clean.stays` (one row per stay: ``stay_id``,
``person_id``, ``start``, ``end``, ``hours``, ``acute``, ``somatic``, ``action_diagnosis``;
optionally ``kontaktaarsag`` (LPR3 ``ALCC01``-``ALCC04``, null when unknown), ``diagnoses``
(list of all A/B diagnoses of the stay) and ``hospice`` (bool)) and the person table
(``person_id``, ``birth_date``, ``death_date``; ``kommune_code`` and ``sex`` are kept).

Every number a rule uses — hours, days, ages, code lists, contact causes, exclusions —
comes from a :class:`~nsv_eval.definitions.Definition` (official by default, a named
variant when asked). The rules:

``admission``
    ``hours >= thresholds.admission_min_hours`` (12 h in the official definitions).
``index_admission`` / ``readmitted_30d`` (definition ``readmission``)
    An *index* is an admission (acute or planned unless ``index_acute_only``) of a person
    aged ``min_age``+ at its start, alive at discharge (death date after the end date), not
    excluded (exclusions ``applies_to: index|both``: cancer-related, hospice) and, when a
    period is given, ending in ``[period start, period end - window_days]``. It is
    *readmitted* when an acute admission of the same person **in the same sector**
    (somatic/psychiatric, ``same_sector``) that is not excluded (``readmission|both``:
    cancer-related, hospice, birth, contact cause accident/violence/self-harm) starts after
    its end and no later than ``window_days`` × 24 h after it. A readmission may itself be an
    index. ``days_to_readmission`` is fractional days to the first one. The columns
    ``index_admission_somatic`` etc. split both by sector.
``preventable``, ``fall_injury``, ``hip_fracture``, ``short_stay``
    An admission (``short_stay``: ``admission_min_hours <= hours < max_hours``), acute if
    ``acute_only``, somatic if ``somatic_only``, of a person aged ``min_age``+ at the start,
    whose **stay** action diagnosis is in the definition's code list (the ward's diagnosis;
    the emergency department's observation code is replaced by it in ``clean.stays``) and,
    for ``fall_injury``, whose contact cause is in ``kontaktaarsag.accident``. A stay with an
    unknown contact cause is not a fall injury; :func:`flag_stays` counts them in
    ``DataFrame.attrs["notes"]``.
Disease cohorts (``copd_acute``, ``diabetes_acute``)
    See :func:`disease_cohort` and :func:`cohort_population`: a person belongs to the
    population of year Y when alive and ``min_age``+ on 1 January Y and a qualifying A or B
    diagnosis is registered on a stay that starts in the ``lookback_years`` years before
    1 January Y. ``copd_acute`` on a stay: an acute somatic admission of a person in the
    population of the stay's start year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from nsv_eval import definitions as D
from nsv_eval.errors import InputError

STAY_REQUIRED: tuple[str, ...] = (
    "stay_id",
    "person_id",
    "start",
    "end",
    "hours",
    "acute",
    "somatic",
    "action_diagnosis",
)
PERSON_REQUIRED: tuple[str, ...] = ("person_id", "birth_date", "death_date")
COHORT_IDS: tuple[str, ...] = ("copd_acute", "diabetes_acute")
RATE_IDS: tuple[str, ...] = ("preventable", "fall_injury", "hip_fracture", "short_stay")


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{what}: column(s) {', '.join(missing)} missing (have {', '.join(map(str, df.columns))})"
        )


def _period(period: Any) -> tuple[dt.date, dt.date] | None:
    if period is None:
        return None
    if hasattr(period, "start") and hasattr(period, "end"):
        return pd.Timestamp(period.start).date(), pd.Timestamp(period.end).date()
    a, b = period
    return pd.Timestamp(a).date(), pd.Timestamp(b).date()


def age_at(birth: pd.Series, when: pd.Series) -> pd.Series:
    """Whole years at ``when``; the age increases on the birthday (29 February: 1 March)."""
    b = pd.to_datetime(birth)
    w = pd.to_datetime(when)
    before = (w.dt.month < b.dt.month) | ((w.dt.month == b.dt.month) & (w.dt.day < b.dt.day))
    return (w.dt.year - b.dt.year - before.astype(int)).astype("Int64")


def prepare_stays(stays: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """Validate and join stays to persons: adds ``age`` (at start), ``death_date`` etc.

    Raises :class:`~nsv_eval.errors.InputError` naming the column for missing columns,
    a null ``hours``/``start``/``end``, an end before the start or a stay of an unknown
    person (nothing is dropped silently).
    """
    _require(stays, STAY_REQUIRED, "stays")
    _require(persons, PERSON_REQUIRED, "persons")
    s = stays.copy()
    # one resolution for every time column (merge_asof needs equal key types)
    s["start"] = pd.to_datetime(s["start"]).astype("datetime64[us]")
    s["end"] = pd.to_datetime(s["end"]).astype("datetime64[us]")
    for col in ("start", "end", "hours", "acute", "somatic"):
        bad = s[col].isna()
        if bad.any():
            raise InputError(
                f"stays: column {col}: null in stay_id {s.loc[bad, 'stay_id'].tolist()[0]!r}"
            )
    bad = s["end"] < s["start"]
    if bad.any():
        raise InputError(
            f"stays: columns start, end: stay_id {s.loc[bad, 'stay_id'].tolist()[0]!r} ends before it starts"
        )
    keep = [
        c for c in ("person_id", "birth_date", "death_date", "kommune_code", "sex") if c in persons
    ]
    p = persons[keep].copy()
    p["birth_date"] = pd.to_datetime(p["birth_date"]).astype("datetime64[us]")
    p["death_date"] = pd.to_datetime(p["death_date"]).astype("datetime64[us]")
    drop = [c for c in keep if c != "person_id" and c in s.columns]
    s = s.drop(columns=drop).merge(p, on="person_id", how="left", validate="many_to_one")
    unknown = s["birth_date"].isna()
    if unknown.any():
        raise InputError(
            f"stays: column person_id: {s.loc[unknown, 'person_id'].tolist()[0]!r} "
            f"(stay_id {s.loc[unknown, 'stay_id'].tolist()[0]!r}) is not in persons"
        )
    s["acute"] = s["acute"].astype(bool)
    s["somatic"] = s["somatic"].astype(bool)
    s["age"] = age_at(s["birth_date"], s["start"])
    if "kontaktaarsag" not in s.columns:
        s["kontaktaarsag"] = pd.Series(pd.NA, index=s.index, dtype="string")
    return s.sort_values(["person_id", "start", "stay_id"], kind="stable").reset_index(drop=True)


def _match_distinct(codes: pd.Series, cs: D.CodeSet):
    """``cs.matches`` evaluated once per distinct code (a register has few distinct codes)."""
    idx, uniq = pd.factorize(codes, use_na_sentinel=True)
    hit = cs.matches(pd.Series(uniq, dtype="object")).to_numpy(bool)
    out = hit[idx]
    out[idx < 0] = False
    return out


def _codes_match(s: pd.DataFrame, cs: D.CodeSet, diagnoses: str) -> pd.Series:
    """Action diagnosis (``diagnoses="action"``) or any A/B diagnosis (``"all"``) in ``cs``."""
    hit = _match_distinct(s["action_diagnosis"], cs)
    if diagnoses == "all" and "diagnoses" in s.columns:
        ex = s["diagnoses"].explode()
        ex = ex[ex.notna()]
        if len(ex):
            any_hit = pd.Series(_match_distinct(ex.astype(str), cs), index=ex.index)
            any_hit = any_hit.groupby(level=0).any()
            hit = hit | any_hit.reindex(s.index, fill_value=False).to_numpy(bool)
    return pd.Series(hit, index=s.index)


def excluded(
    s: pd.DataFrame, d: D.Definition, role: str, notes: list[str] | None = None
) -> pd.Series:
    """Stays excluded by ``d``'s exclusions that apply to ``role`` (``index``/``readmission``).

    A rule on a column the stays table does not have (e.g. ``hospice``) excludes nothing and
    adds a line to ``notes``.
    """
    out = pd.Series(False, index=s.index)
    for ex in d.exclusions:
        if ex["applies_to"] not in (role, "both"):
            continue
        rule = ex["rule"]
        if "codes" in rule:
            hit = _codes_match(s, d.codeset(rule["codes"]), rule.get("diagnoses", "action"))
        elif "kontaktaarsag" in rule:
            hit = s["kontaktaarsag"].isin(d.contact_causes(rule["kontaktaarsag"])).fillna(False)
        else:
            col = rule["column"]
            if col not in s.columns:
                if notes is not None:
                    notes.append(
                        f"{d.ref}: exclusion {ex['id']!r} needs column {col!r}, which the "
                        "stays table does not have; nothing excluded by it"
                    )
                continue
            hit = s[col].fillna(False).astype(bool)
        if rule.get("negate"):
            hit = ~hit
        out |= hit.astype(bool)
    return out


def _admission(s: pd.DataFrame, d: D.Definition) -> pd.Series:
    return s["hours"] >= float(d.threshold("admission_min_hours"))


def _base(s: pd.DataFrame, d: D.Definition) -> pd.Series:
    """Admission, acute/somatic as the definition asks, age >= min_age."""
    ok = _admission(s, d) & (s["age"] >= int(d.threshold("min_age"))).fillna(False)
    if d.thresholds.get("acute_only", False):
        ok &= s["acute"]
    if d.thresholds.get("somatic_only", False):
        ok &= s["somatic"]
    return ok.astype(bool)


def flag_readmission(
    s: pd.DataFrame,
    d: D.Definition | None = None,
    *,
    period: Any = None,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """``index_admission``, ``readmitted_30d``, ``days_to_readmission`` (module docstring).

    ``s`` is the output of :func:`prepare_stays`. Returns a frame on ``s.index``.
    """
    d = d or D.get("readmission")
    window = pd.Timedelta(days=int(d.threshold("window_days")))
    adm = _admission(s, d)
    alive = s["death_date"].isna() | (s["death_date"] > s["end"].dt.normalize())
    index = adm & (s["age"] >= int(d.threshold("min_age"))).fillna(False)
    if d.thresholds.get("index_alive_at_discharge", True):
        index &= alive
    if d.thresholds.get("index_acute_only", False):
        index &= s["acute"]
    index &= ~excluded(s, d, "index", notes)
    p = _period(period)
    if p is not None:
        end_date = s["end"].dt.normalize()
        index &= (end_date >= pd.Timestamp(p[0])) & (end_date <= pd.Timestamp(p[1]) - window)
    cand = adm & ~excluded(s, d, "readmission", notes)
    if d.thresholds.get("readmission_acute_only", True):
        cand &= s["acute"]
    by = ["person_id", "somatic"] if d.thresholds.get("same_sector", False) else ["person_id"]
    left = s.loc[index, [*by, "end"]].assign(_row=s.index[index]).sort_values("end")
    right = (
        s.loc[cand, [*by, "start"]]
        .rename(columns={"start": "next_start"})
        .assign(_key=lambda x: x["next_start"])
        .sort_values("_key")
    )
    # first qualifying admission strictly after the index end (merge_asof, forward)
    m = pd.merge_asof(
        left,
        right,
        left_on="end",
        right_on="_key",
        by=by,
        direction="forward",
        allow_exact_matches=False,
    ).set_index("_row")
    gap = m["next_start"] - m["end"]
    readm = gap.notna() & (gap <= window)
    out = pd.DataFrame(index=s.index)
    out["index_admission"] = index.astype(bool)
    out["readmitted_30d"] = False
    out.loc[readm[readm].index, "readmitted_30d"] = True
    days = (gap / pd.Timedelta(days=1)).where(readm)
    out["days_to_readmission"] = days.reindex(s.index).astype(float)
    for sector, is_somatic in (("somatic", True), ("psychiatric", False)):
        in_sector = s["somatic"] == is_somatic
        out[f"index_admission_{sector}"] = out["index_admission"] & in_sector
        out[f"readmitted_30d_{sector}"] = out["readmitted_30d"] & in_sector
    return out


def flag_rate(s: pd.DataFrame, d: D.Definition, notes: list[str] | None = None) -> pd.Series:
    """The numerator flag of a rate indicator (``preventable``, ``fall_injury``, ...)."""
    ok = _base(s, d)
    if "max_hours" in d.thresholds:
        ok &= s["hours"] < float(d.threshold("max_hours"))
    for cs in d.codes.values():
        ok &= _codes_match(s, cs, "action")
    for key in d.kontaktaarsag:
        known = s["kontaktaarsag"].notna()
        if notes is not None:
            n_unknown = int((ok & ~known).sum())
            if n_unknown:
                notes.append(
                    f"{d.ref}: {n_unknown} stay(s) otherwise counted have no contact cause "
                    "(kontaktaarsag) and are not counted"
                )
        ok &= s["kontaktaarsag"].isin(d.contact_causes(key)).fillna(False)
    ok &= ~excluded(s, d, "numerator", notes)
    return ok.astype(bool)


def disease_cohort(s: pd.DataFrame, d: D.Definition) -> pd.DataFrame:
    """Registrations and cohort entry of a disease cohort (``copd_acute``, ``diabetes_acute``).

    Returns one row per person with a qualifying A or B diagnosis: ``person_id``,
    ``entry_date`` (date of the first stay with one) and ``registrations`` (list of the
    dates of every stay with one, ascending).
    """
    if d.cohort is None:
        raise D.DefinitionError(f"{d.path}: key 'cohort' is missing (definition {d.ref})")
    cs = d.codeset(d.cohort["codes"])
    hit = _codes_match(s, cs, d.cohort.get("diagnoses", "all"))
    reg = s.loc[hit, ["person_id", "start"]].assign(date=lambda x: x["start"].dt.normalize())
    reg = reg.sort_values(["person_id", "date"])
    g = reg.groupby("person_id", sort=True)["date"]
    return pd.DataFrame(
        {"entry_date": g.min(), "registrations": g.agg(lambda x: sorted(set(x)))}
    ).reset_index()


def cohort_population(
    s: pd.DataFrame,
    persons: pd.DataFrame,
    d: D.Definition,
    years: Sequence[int],
    *,
    data_start: Any = None,
) -> pd.DataFrame:
    """The disease population of each year (one row per person and year in it).

    A person is in year Y's population when alive on 1 January Y (``death_date`` after it),
    aged ``min_age``+ on that day and with a qualifying registration on a stay starting in
    ``[1 January (Y - lookback_years), 1 January Y)``. Columns: ``person_id``, ``year``,
    ``age``, ``entry_date``, ``lookback_complete`` (the look-back window starts on or after
    ``data_start``, default the first stay start in ``s``).
    """
    lookback = int(d.threshold("lookback_years"))
    min_age = int(d.threshold("min_age"))
    coh = disease_cohort(s, d)
    if data_start is None:
        data_start = s["start"].min() if len(s) else pd.Timestamp("1900-01-01")
    data_start = pd.Timestamp(data_start).normalize()
    p = persons[["person_id", "birth_date", "death_date"]].copy()
    p["birth_date"] = pd.to_datetime(p["birth_date"])
    p["death_date"] = pd.to_datetime(p["death_date"])
    reg = coh[["person_id", "entry_date", "registrations"]].explode("registrations")
    reg = reg.rename(columns={"registrations": "reg_date"})
    reg["reg_date"] = pd.to_datetime(reg["reg_date"])
    reg = reg.merge(p, on="person_id", how="left")
    rows = []
    for year in years:
        jan1 = pd.Timestamp(year=int(year), month=1, day=1)
        lo = pd.Timestamp(year=int(year) - lookback, month=1, day=1)
        r = reg[(reg["reg_date"] >= lo) & (reg["reg_date"] < jan1)]
        r = r[r["death_date"].isna() | (r["death_date"] > jan1)]
        r = r.drop_duplicates("person_id")
        age = age_at(r["birth_date"], pd.Series(jan1, index=r.index))
        r = r.assign(year=int(year), age=age)[age >= min_age]
        r["lookback_complete"] = lo >= data_start
        rows.append(r[["person_id", "year", "age", "entry_date", "lookback_complete"]])
    if not rows:
        return pd.DataFrame(columns=["person_id", "year", "age", "entry_date", "lookback_complete"])
    return pd.concat(rows, ignore_index=True)


def flag_cohort_admissions(
    s: pd.DataFrame, persons: pd.DataFrame, d: D.Definition, *, data_start: Any = None
) -> pd.Series:
    """Numerator flag: an acute (somatic) admission of a person in the year's population."""
    years = sorted(s["start"].dt.year.unique().tolist()) if len(s) else []
    pop = cohort_population(s, persons, d, years, data_start=data_start)
    key = pd.MultiIndex.from_frame(pop[["person_id", "year"]])
    mine = pd.MultiIndex.from_arrays([s["person_id"], s["start"].dt.year])
    ok = _admission(s, d)
    if d.thresholds.get("acute_only", False):
        ok &= s["acute"]
    if d.thresholds.get("somatic_only", False):
        ok &= s["somatic"]
    return (ok & pd.Series(mine.isin(key), index=s.index)).astype(bool)


def flag_stays(
    stays: pd.DataFrame,
    persons: pd.DataFrame,
    *,
    period: Any = None,
    choice: Mapping[str, str] | None = None,
    data_start: Any = None,
) -> pd.DataFrame:
    """All indicator flags on stays, from the selected definitions.

    Parameters
    ----------
    stays, persons : pandas.DataFrame
        See the module docstring.
    period : Period or (start, end), optional
        Study period; index admissions need ``window_days`` of follow-up before its end.
    choice : mapping, optional
        Indicator id → variant (e.g. ``{"readmission": "official"}``); default official.
    data_start : date, optional
        First day of the data, for the disease cohorts' ``lookback_complete``.

    Returns
    -------
    pandas.DataFrame
        The stays with ``age`` and the columns ``admission``, ``index_admission``,
        ``readmitted_30d``, ``days_to_readmission`` (and their ``_somatic`` /
        ``_psychiatric`` splits), ``preventable``, ``fall_injury``, ``hip_fracture``,
        ``short_stay``, ``copd_acute``, ``diabetes_acute``. ``attrs["definitions"]`` holds
        the id, variant and version of each definition used, ``attrs["notes"]`` what could
        not be applied.
    """
    defs = D.selected(choice)
    s = prepare_stays(stays, persons)
    notes: list[str] = []
    official = D.get("readmission")
    if "admission" in s.columns:
        # the stays table's own 12-hour flag (clean.stays) must agree with the official rule
        differ = s["admission"].astype(bool) != _admission(s, official)
        if differ.any():
            row = s.loc[differ].iloc[0].to_dict()
            row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            raise InputError(
                f"stays: column admission: stay_id {row['stay_id']!r} ({row['hours']} h) is "
                f"{'an' if row['admission'] else 'no'} admission in the stays table but "
                f"admission_min_hours is {official.threshold('admission_min_hours')} "
                f"in {official.path}"
            )
    s["admission"] = _admission(s, defs["readmission"])
    r = flag_readmission(s, defs["readmission"], period=period, notes=notes)
    s = pd.concat([s, r], axis=1)
    for key in RATE_IDS:
        s[key] = flag_rate(s, defs[key], notes)
    for key in COHORT_IDS:
        d = defs[key]
        if d.cohort is None:  # a legacy variant: action diagnosis of the stay
            s[key] = flag_rate(s, d, notes)
        else:
            s[key] = flag_cohort_admissions(s, persons, d, data_start=data_start)
    used = ("readmission", *RATE_IDS, *COHORT_IDS)
    s.attrs["definitions"] = {k: defs[k].stamp() for k in used}
    s.attrs["notes"] = list(dict.fromkeys(notes))
    return s


__all__ = [
    "age_at",
    "cohort_population",
    "disease_cohort",
    "excluded",
    "flag_cohort_admissions",
    "flag_rate",
    "flag_readmission",
    "flag_stays",
    "prepare_stays",
]
