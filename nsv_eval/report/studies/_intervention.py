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
