"""What the two intervention studies (3: falls programme, 5: acute team) share: their
parameters, the kommune's name, the indicator as the data were prepared, the periods and
the kommune's start date. Each study subclasses :class:`InterventionStudy` and names its
indicator and intervention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from nsv_eval.analyses import falls
from nsv_eval.analyses.catalogue import for_manifest
from nsv_eval.analyses.data import Prepared
from nsv_eval.reference import kommune_name

STANDARDISED_DA = (
    "alders- og kønsstandardiserede rater (indirekte standardisering på landets rater pr. år)"
)
"""How the national comparisons of studies 3 and 5 (DiD, synthetic control) name their
rates: :func:`nsv_eval.analyses.effects.annual_panel` with ``standardise=True``."""

STANDARDISED_NOTE_DA = (
    "Raterne i sammenligningen med andre kommuner er alders- og kønsstandardiserede "
    "(indirekte standardisering på landets rater pr. år): kommunens antal divideret med det "
    "antal, dens borgere 65+ ville have haft med landets rater for deres alder og køn samme "
    "år, ganget med landets rate. Kommunernes aldersfordeling inden for 65+ ændrer sig i "
    "forskelligt tempo (de store årgange fra 1945–50 fylder 65 på forskellige tidspunkter), "
    "så rå rater ville glide fra hinanden uden nogen indsats."
)
"""The note under the tables and figures that compare kommuner on standardised rates."""

ITS_CRUDE_NOTE_DA = (
    "Tidsserien bruger kommunens rå rater (personår som nævner): den sammenligner kommunen "
    "med sig selv, og modellens tendens opfanger den langsomme ændring i aldersfordelingen."
)
"""Why the kommune's own interrupted time series is not standardised."""


@dataclass
class InterventionStudy:
    """A study of one intervention for one kommune and parameter set (the notebook's
    parameters).

    Attributes set on construction: ``navn`` (the kommune's Danish name), ``ind`` (the
    indicator of the definition variant the data were prepared with), ``years`` (the study
    period), ``seneste`` and ``periode`` (the last ``pooled_years`` years and their label),
    ``start`` (the kommune's start date of the intervention, or None).
    """

    INDICATOR: ClassVar[str]
    INTERVENTION: ClassVar[str]

    prep: Prepared
    kommune: int
    period_start: int
    period_end: int
    pooled_years: int = 3
    intervention_dates: Any = "data"
    conf: float = 0.95
    lang: str = "da"

    def __post_init__(self) -> None:
        self.navn = f"{kommune_name(self.kommune)} Kommune"
        # the indicator as the data were prepared (definition variants in the manifest)
        self.ind = for_manifest(self.prep.manifest)[self.INDICATOR]
        self.years = list(range(self.period_start, self.period_end + 1))
        self.seneste = list(range(self.period_end - self.pooled_years + 1, self.period_end + 1))
        self.periode = f"{self.seneste[0]}–{self.seneste[-1]}"
        self.start = falls.resolve_start(
            self.prep, self.kommune, self.INTERVENTION, self.intervention_dates
        )
