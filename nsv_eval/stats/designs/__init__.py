"""Effect-evaluation designs, one per file, sharing :class:`~.base.EffectResult`.

* :func:`its` — interrupted time series (segmented regression).
* :func:`did`, :func:`twfe` — staggered difference-in-differences (Callaway & Sant'Anna) and
  the plain two-way fixed-effects estimate.
* :func:`poisson_did` — count DiD by extended two-way fixed effects Poisson (Wooldridge 2023).
* :func:`synthetic_control` — Abadie-Diamond-Hainmueller synthetic control.
* :func:`cohort_effect` — propensity-score weighting or matching for person-level cohorts.
* :func:`kaplan_meier`, :func:`cox`, :func:`cumulative_incidence` — time to event, with
  death as a competing risk.
* :func:`rd`, :func:`rd_density`, :func:`rd_placebo` — sharp/fuzzy regression discontinuity
  (``rdrobust``) and the manipulation test (``rddensity``).
* :func:`triangulate` — do two or more designs agree?
* :func:`ratio_from_additive` — an additive effect (DiD ATT, synthetic-control gap) as a
  ratio observed/counterfactual, with its interval.
* :mod:`.diagnostics` — placebo-in-time, leave-one-out.
"""

from nsv_eval.stats.designs.base import EffectResult
from nsv_eval.stats.designs.cohort import cohort_effect, e_value
from nsv_eval.stats.designs.diagnostics import leave_one_out, placebo_in_time
from nsv_eval.stats.designs.did import did, twfe
from nsv_eval.stats.designs.its import its
from nsv_eval.stats.designs.poisson_did import poisson_did
from nsv_eval.stats.designs.ratio import ratio_from_additive
from nsv_eval.stats.designs.rd import rd, rd_density, rd_placebo
from nsv_eval.stats.designs.survival import cox, cumulative_incidence, kaplan_meier
from nsv_eval.stats.designs.synthetic_control import synthetic_control
from nsv_eval.stats.designs.triangulate import triangulate

__all__ = [
    "EffectResult",
    "cohort_effect",
    "cox",
    "cumulative_incidence",
    "e_value",
    "kaplan_meier",
    "synthetic_control",
    "did",
    "its",
    "poisson_did",
    "leave_one_out",
    "placebo_in_time",
    "ratio_from_additive",
    "rd",
    "rd_density",
    "rd_placebo",
    "triangulate",
    "twfe",
]
