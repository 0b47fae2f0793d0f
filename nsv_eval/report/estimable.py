"""What cannot be estimated, and why: the Danish sentences every study uses.

A small kommune (Læsø, Fanø, Samsø and Ærø have 1,800–6,000 residents), a short period or a
small extract leaves some indicators, periods or designs with no events, no denominator, no
intervention or no survey respondents. The reports then still render and say, for the
affected rows, *that* the value cannot be estimated and *why*. The wording lives here, in
one place, so every study says it the same way; the thresholds are the reports' disclosure
and precision rules (:mod:`nsv_eval.report.disclosure`, PHE/Fingertips conventions).

Examples
--------
>>> not_estimable_da("Raten", "too_few_events", events="faldulykker", periode="2022–2024")
'Raten kan ikke beregnes: under 10 faldulykker i 2022–2024 er for få til en stabil rate.'
"""

from __future__ import annotations

from collections.abc import Mapping

from nsv_eval.analyses import profile
from nsv_eval.report.narrative._fmt import fmt

MIN_EVENTS_RATE = 10
"""Fewest events behind a published rate or standardised rate (PHE: below 10 the rate is
too unstable; the disclosure layer flags such rates with ``*``)."""

MIN_RESPONDENTS = profile.MIN_RESPONDENTS
"""Fewest survey respondents behind a published survey estimate (the analysis applies it:
:data:`nsv_eval.analyses.profile.MIN_RESPONDENTS`)."""

MIN_PERSON_YEARS_LE = 5000
"""Fewest person-years per sex behind a life expectancy (PHE's rule for Chiang II)."""

REASONS_DA: Mapping[str, str] = {
    "no_denominator": "ingen {denominator} i {periode}",
    "no_population": "ingen borgere i {group} i {periode}",
    "no_events": "ingen {events} i {periode}",
    "too_few_events": (
        "under " + str(MIN_EVENTS_RATE) + " {events} i {periode} er for få til en stabil rate"
    ),
    "too_few_person_years": (
        "befolkningen er for lille (under "
        + fmt(MIN_PERSON_YEARS_LE, "da", 0)
        + " personår pr. køn i {periode}, jf. PHE's regel)"
    ),
    "no_respondents": "ingen svarpersoner fra {area} i Sundhedsprofilen {aar}",
    "too_few_respondents": (
        "under " + str(MIN_RESPONDENTS) + " svarpersoner fra {area} i Sundhedsprofilen {aar}"
    ),
    "no_intervention": "kommunen har ikke startet {intervention} i perioden",
    "no_comparison": "ingen {group} at sammenligne med i {periode}",
    "too_uncertain": "usikkerheden er for stor ({detail})",
}
"""Reason code → Danish reason (a clause, no capital, no full stop); ``{fields}`` are
filled by :func:`reason_da`."""


def reason_da(reason: str, **fields: object) -> str:
    """The Danish clause for ``reason`` with its fields filled in.

    Parameters
    ----------
    reason : str
        A key of :data:`REASONS_DA`.
    **fields
        The placeholders of that reason (``periode``, ``events``, ``denominator``, ``area``,
        ``aar``, ``group``, ``intervention``, ``detail``).

    Returns
    -------
    str
        E.g. ``"ingen udskrivelser i 2024"``.

    Raises
    ------
    KeyError
        For an unknown reason code or a missing field (names both).
    """
    if reason not in REASONS_DA:
        raise KeyError(f"unknown reason {reason!r}; known: {', '.join(REASONS_DA)}")
    try:
        return REASONS_DA[reason].format(**fields)
    except KeyError as exc:
        raise KeyError(f"reason {reason!r} needs the field {exc.args[0]!r}") from None


def not_estimable_da(what: str, reason: str, **fields: object) -> str:
    """A full Danish sentence: ``"<what> kan ikke beregnes: <reason>."``.

    Parameters
    ----------
    what : str
        What cannot be estimated, capitalised (``"Raten"``, ``"Middellevetiden for mænd"``).
    reason, **fields
        See :func:`reason_da`.

    Returns
    -------
    str
        The sentence, ending with a full stop.
    """
    return f"{what} kan ikke beregnes: {reason_da(reason, **fields)}."
