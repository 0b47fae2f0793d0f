"""The indicator catalogue: the seeds' indicators defined on the analysis cube.

Each :class:`Indicator` says which cube measure is the numerator, what the denominator is,
which ages it covers, its unit and whether lower is better. The indicators follow
the seeds (Kalundborg's health strategy 2016-2021 indicator set; KL's "Det nære
sundhedsvæsen"; KKR Midtjylland's shared goals); kind, multiplier and youngest age are read
from the indicator definition files (``nsv_eval/definitions``, the variants the cube is
built with).
"""

from __future__ import annotations

from dataclasses import dataclass

from nsv_eval import definitions
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
    definition : str
        Id of the indicator definition (``nsv_eval/definitions``); its variant is the one
        the cube is built with (:data:`nsv_eval.definitions.COURSE_VARIANTS`).
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
    definition: str = ""

    @property
    def age_bands(self) -> list[str]:
        """ESP2013 age bands covered by the indicator."""
        first = min(self.min_age // 5, len(AGE_BANDS) - 1)
        return AGE_BANDS[first:]


def _indicator(
    key: str, label_da: str, numerator: str, denominator: str, unit_da: str, id: str
) -> Indicator:
    """An :class:`Indicator` whose kind, multiplier and youngest age come from definition ``id``."""
    d = definitions.get(id, definitions.COURSE_VARIANTS[id])
    return Indicator(
        key,
        label_da,
        numerator,
        denominator,
        d.kind,
        d.multiplier,
        int(d.threshold("min_age")),
        unit_da,
        definition=id,
    )


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        _indicator(
            "preventable_65",
            "Forebyggelige indlæggelser blandt ældre (65+)",
            "preventable",
            "person_years",
            "pr. 1.000 borgere 65+ pr. år",
            "preventable",
        ),
        _indicator(
            "readmission_65",
            "Akutte genindlæggelser inden for 30 dage, medicinske patienter 65+",
            "readmit_30d",
            "readmit_index",
            "% af udskrivelser",
            "readmission",
        ),
        _indicator(
            "short_stay_65",
            "Korttidsindlæggelser (under 24 timer) blandt ældre (65+)",
            "admissions_short",
            "person_years",
            "pr. 1.000 borgere 65+ pr. år",
            "short_stay",
        ),
        _indicator(
            "fall_injury_65",
            "Faldulykker med indlæggelse blandt ældre (65+)",
            "fall_injury",
            "person_years",
            "pr. 1.000 borgere 65+ pr. år",
            "fall_injury",
        ),
        _indicator(
            "copd_acute",
            "Akutte indlæggelser for KOL",
            "copd_acute",
            "person_years",
            "pr. 100.000 borgere pr. år",
            "copd_acute",
        ),
        _indicator(
            "diabetes_acute",
            "Akutte indlæggelser for diabetes",
            "diabetes_acute",
            "person_years",
            "pr. 100.000 borgere pr. år",
            "diabetes_acute",
        ),
        _indicator(
            "heart_failure_acute",
            "Akutte indlæggelser for hjertesvigt",
            "heart_failure_acute",
            "person_years",
            "pr. 100.000 borgere pr. år",
            "heart_failure_acute",
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
