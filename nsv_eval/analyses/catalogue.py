"""The indicator catalogue: the seeds' indicators defined on the analysis cube.

Each :class:`Indicator` says which cube measure is the numerator, what the denominator is,
which ages it covers, its unit and whether lower is better. The definitions follow the
seeds (Kalundborg's health strategy 2016-2021 indicator set; KL's "Det nære
sundhedsvæsen"; KKR Midtjylland's shared goals) and the national definitions named in
:mod:`nsv_eval.reference`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsv_eval.reference import AGE_BANDS


@dataclass(frozen=True)
class Indicator:
    """Definition of one indicator on the analysis cube.

    Parameters
    ----------
    key : str
        Machine name.
    label_da : str
        Danish name shown in reports.
    numerator : str
        Cube measure counted in the numerator.
    denominator : str
        Cube measure in the denominator (``"person_years"`` for rates, a count such as
        ``"readmit_index"`` for proportions).
    kind : str
        ``"rate"`` or ``"proportion"``.
    multiplier : int
        Per how many (1,000 person-years; 100 for a percentage).
    min_age : int
        Youngest age included (age bands from this age up).
    unit_da : str
        Danish unit text for reports.
    lower_is_better : bool
        Polarity, used for colouring and wording.
    """

    key: str
    label_da: str
    numerator: str
    denominator: str
    kind: str
    multiplier: int
    min_age: int
    unit_da: str
    lower_is_better: bool = True

    @property
    def age_bands(self) -> list[str]:
        """ESP2013 age bands covered by the indicator."""
        first = min(self.min_age // 5, len(AGE_BANDS) - 1)
        return AGE_BANDS[first:]


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator(
            "preventable_65",
            "Forebyggelige indlæggelser blandt ældre (65+)",
            "preventable",
            "person_years",
            "rate",
            1000,
            65,
            "pr. 1.000 borgere 65+ pr. år",
        ),
        Indicator(
            "readmission_65",
            "Akutte genindlæggelser inden for 30 dage, medicinske patienter 65+",
            "readmit_30d",
            "readmit_index",
            "proportion",
            100,
            65,
            "% af udskrivelser",
        ),
        Indicator(
            "short_stay_65",
            "Korttidsindlæggelser (under 24 timer) blandt ældre (65+)",
            "admissions_short",
            "person_years",
            "rate",
            1000,
            65,
            "pr. 1.000 borgere 65+ pr. år",
        ),
        Indicator(
            "fall_injury_65",
            "Faldulykker med indlæggelse blandt ældre (65+)",
            "fall_injury",
            "person_years",
            "rate",
            1000,
            65,
            "pr. 1.000 borgere 65+ pr. år",
        ),
        Indicator(
            "copd_acute",
            "Akutte indlæggelser for KOL",
            "copd_acute",
            "person_years",
            "rate",
            100_000,
            0,
            "pr. 100.000 borgere pr. år",
        ),
        Indicator(
            "diabetes_acute",
            "Akutte indlæggelser for diabetes",
            "diabetes_acute",
            "person_years",
            "rate",
            100_000,
            0,
            "pr. 100.000 borgere pr. år",
        ),
        Indicator(
            "heart_failure_acute",
            "Akutte indlæggelser for hjertesvigt",
            "heart_failure_acute",
            "person_years",
            "rate",
            100_000,
            0,
            "pr. 100.000 borgere pr. år",
        ),
    ]
}
"""The kommune indicator profile, in report order."""

NOT_IN_DATA_DA: list[str] = [
    "Færdigbehandlingsdage (kræver udtræk fra regionen om færdigmeldte patienter)",
    "Antal praktiserende læger (kræver Lægeforeningens/regionens ydernummerregister)",
    "Utilsigtede hændelser (kræver udtræk fra Dansk Patientsikkerhedsdatabase)",
]
"""Indicators from Kalundborg's strategy that the shipped data model does not contain."""
