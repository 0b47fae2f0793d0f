"""The indicator catalogue: the seeds' indicators defined on the analysis cube.

Each :class:`Indicator` says which cube measure is the numerator, what the denominator is,
which ages it covers, its unit and whether lower is better. The indicators follow
the seeds (Kalundborg's health strategy 2016-2021 indicator set; KL's "Det nære
sundhedsvæsen"; KKR Midtjylland's shared goals); kind, multiplier and youngest age are read
from the indicator definition files (``nsv_eval/definitions``, the variants the cube is
built with: official by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

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
        the cube is built with (default :data:`nsv_eval.definitions.DEFAULT_VARIANTS`).
    standardise : bool
        Whether a rate is age-standardised when areas are compared (False when the
        definition's ``standardisation.method`` is ``none``: the disease cohorts' crude
        rate per 1,000 people with the disease).
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
    standardise: bool = True

    @property
    def age_bands(self) -> list[str]:
        """ESP2013 age bands covered by the indicator."""
        first = min(self.min_age // 5, len(AGE_BANDS) - 1)
        return AGE_BANDS[first:]


def _indicator(
    key: str,
    label_da: str,
    numerator: str,
    denominator: str,
    unit_da: str,
    id: str,
    variant: str,
    min_age: int | None = None,
) -> Indicator:
    """An :class:`Indicator` whose kind, multiplier and youngest age come from definition
    ``id`` in ``variant`` (``min_age`` narrows the definition's ages, e.g. 65+ of all)."""
    d = definitions.get(id, variant)
    age = int(d.threshold("min_age"))
    return Indicator(
        key,
        label_da,
        numerator,
        denominator,
        d.kind,
        d.multiplier,
        max(age, min_age) if min_age is not None else age,
        unit_da,
        definition=id,
        standardise=d.standardisation.get("method") != "none",
    )


def indicators(choice: dict[str, str] | None = None) -> dict[str, Indicator]:
    """The kommune indicator profile under the definition variants ``choice`` (id → variant;
    default :data:`nsv_eval.definitions.DEFAULT_VARIANTS`, the official ones), in report
    order. Official variants count admission stays (12 h); the disease indicators are per
    1,000 people with the disease (cube denominators ``copd_population`` /
    ``diabetes_population``); hip fracture is its own indicator."""
    v = {**definitions.DEFAULT_VARIANTS, **(choice or {})}
    off = {k: v[k] == definitions.OFFICIAL for k in v}
    out = [
        _indicator(
            "preventable_65",
            "Forebyggelige indlæggelser blandt ældre (65+)",
            "preventable",
            "person_years",
            "pr. 1.000 borgere 65+ pr. år",
            "preventable",
            v["preventable"],
        ),
        _indicator(
            "readmission_65",
            "Akutte somatiske genindlæggelser inden for 30 dage, 65+"
            if off["readmission"]
            else "Akutte genindlæggelser inden for 30 dage, medicinske patienter 65+",
            "readmit_30d",
            "readmit_index",
            "% af indlæggelser" if off["readmission"] else "% af udskrivelser",
            "readmission",
            v["readmission"],
            min_age=65,
        ),
        _indicator(
            "short_stay_65",
            "Korttidsindlæggelser (12–24 timer) blandt ældre (65+)"
            if off["short_stay"]
            else "Korttidsindlæggelser (under 24 timer) blandt ældre (65+)",
            "admissions_short",
            "person_years",
            "pr. 1.000 borgere 65+ pr. år",
            "short_stay",
            v["short_stay"],
        ),
        _indicator(
            "fall_injury_65",
            "Faldulykker med indlæggelse blandt ældre (65+)",
            "fall_injury",
            "person_years",
            "pr. 1.000 borgere 65+ pr. år",
            "fall_injury",
            v["fall_injury"],
            min_age=65,
        ),
    ]
    if off["hip_fracture"]:
        out.append(
            _indicator(
                "hip_fracture_65",
                "Hoftebrud med indlæggelse blandt ældre (65+)",
                "hip_fracture",
                "person_years",
                "pr. 1.000 borgere 65+ pr. år",
                "hip_fracture",
                v["hip_fracture"],
                min_age=65,
            )
        )
    for key, disease, label in (
        ("copd_acute", "copd", "KOL"),
        ("diabetes_acute", "diabetes", "type 2-diabetes"),
    ):
        if off[key]:
            out.append(
                _indicator(
                    key,
                    f"Akutte indlæggelser blandt borgere med {label} (18+)",
                    key,
                    f"{disease}_population",
                    f"pr. 1.000 borgere med {label} pr. år",
                    key,
                    v[key],
                )
            )
        else:
            out.append(
                _indicator(
                    key,
                    "Akutte indlæggelser for KOL"
                    if key == "copd_acute"
                    else "Akutte indlæggelser for diabetes",
                    key,
                    "person_years",
                    "pr. 100.000 borgere pr. år",
                    key,
                    v[key],
                )
            )
    out.append(
        _indicator(
            "heart_failure_acute",
            "Akutte indlæggelser for hjertesvigt",
            "heart_failure_acute",
            "person_years",
            "pr. 100.000 borgere pr. år",
            "heart_failure_acute",
            v["heart_failure_acute"],
        )
    )
    return {i.key: i for i in out}


def for_manifest(manifest: dict | None) -> dict[str, Indicator]:
    """The catalogue under the variants a prepared layout was built with (its manifest's
    ``definitions.indicators``; a manifest without them comes from the course pipeline,
    i.e. the legacy variants, as in :func:`nsv_eval.report.definitions.resolve_selection`)."""
    rec = ((manifest or {}).get("definitions") or {}).get("indicators")
    if not rec:
        return _cached(tuple(sorted(definitions.COURSE_VARIANTS.items())))
    choice = {k: (v["variant"] if isinstance(v, dict) else str(v)) for k, v in rec.items()}
    return _cached(tuple(sorted(choice.items())))


@cache
def _cached(choice: tuple[tuple[str, str], ...]) -> dict[str, Indicator]:
    return indicators(dict(choice))


INDICATORS: dict[str, Indicator] = indicators()
"""The kommune indicator profile, in report order, under the default (official) definitions;
:func:`indicators` gives it for other variants (``params`` ``definitions:``)."""

NOT_IN_DATA_DA: list[str] = [
    "Færdigbehandlingsdage (kræver udtræk fra regionen om færdigmeldte patienter)",
    "Antal praktiserende læger (kræver Lægeforeningens/regionens ydernummerregister)",
    "Utilsigtede hændelser (kræver udtræk fra Dansk Patientsikkerhedsdatabase)",
]
"""Indicators from Kalundborg's strategy that the shipped data model does not contain."""
