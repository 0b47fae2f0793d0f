"""The public statistics API of nsv-eval, named after the statistics.

Indicators (PHE/OHID Fingertips methods): :func:`proportion`, :func:`rate`, :func:`dsr`,
:func:`isr`, :func:`funnel_limits`, :func:`funnel_plot`, :func:`compare`, :func:`sii`,
:func:`concentration_index`, :func:`life_expectancy`; survey estimates:
:func:`weighted_prevalence`. Effect-evaluation designs live in
:mod:`nsv_eval.stats.designs` and are re-exported here.
"""

from nsv_eval.stats.designs import (
    EffectResult,
    cohort_effect,
    cox,
    cumulative_incidence,
    did,
    e_value,
    its,
    kaplan_meier,
    leave_one_out,
    placebo_in_time,
    poisson_did,
    synthetic_control,
    triangulate,
    twfe,
)
from nsv_eval.stats.indicators import (
    FunnelResult,
    compare,
    concentration_index,
    dsr,
    funnel_limits,
    funnel_plot,
    isr,
    life_expectancy,
    proportion,
    rate,
    sii,
)
from nsv_eval.stats.survey import weighted_prevalence

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
    "leave_one_out",
    "placebo_in_time",
    "poisson_did",
    "triangulate",
    "twfe",
    "FunnelResult",
    "compare",
    "concentration_index",
    "dsr",
    "funnel_limits",
    "funnel_plot",
    "isr",
    "life_expectancy",
    "proportion",
    "rate",
    "sii",
    "weighted_prevalence",
]
