"""Words for regression discontinuity (:class:`nsv_eval.stats.designs.rd.RDResult`).

The summary is the default headline (:func:`nsv_eval.report.narrative.common.headline`);
this module holds the design's assumptions (sharp and fuzzy).
"""

from __future__ import annotations

from nsv_eval.report.narrative.common import ASSUMPTIONS as _REGISTRY

ASSUMPTIONS = {
    "da": [
        "Intet andet end indsatsen ændrer sig brat ved skæringspunktet (fx en aldersgrænse); "
        "udfaldet ville uden indsatsen have fortsat jævnt hen over grænsen.",
        "Ingen kan flytte sig over grænsen (fx kan fødselsdatoen ikke manipuleres); tjekkes "
        "med tæthedstesten.",
        "Ved en fuzzy RD: at krydse grænsen virker kun gennem indsatsen, og ingen bliver "
        "mindre tilbøjelig til indsatsen af at krydse den (monotoni). Effekten gælder dem, der "
        "får indsatsen, fordi de krydser grænsen (compliers), lige ved grænsen.",
    ],
    "en": [
        "Nothing but the intervention changes abruptly at the cutoff (e.g. an age limit); "
        "without it the outcome would continue smoothly across the cutoff.",
        "Nobody can sort across the cutoff (e.g. birth dates cannot be manipulated); checked "
        "by the density test.",
        "Fuzzy RD: crossing the cutoff works only through the intervention, and nobody is put "
        "off it by crossing (monotonicity). The effect is that of compliers at the cutoff.",
    ],
}

_REGISTRY["rd"] = ASSUMPTIONS
_REGISTRY["rd_fuzzy"] = ASSUMPTIONS
