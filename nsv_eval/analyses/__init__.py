"""Study-level analyses: what the study notebooks compute, kept out of the notebooks.

* :mod:`nsv_eval.analyses.data` — loading the prepared layout and slicing it by area.
* :mod:`nsv_eval.analyses.catalogue` — the indicator catalogue (definitions from the seeds).
* :mod:`nsv_eval.analyses.national` — national reference tables computed once per data set
  (reference rates for indirect standardisation, per-kommune totals for funnel plots);
  cached on disk so a batch over 98 kommuner computes them once.
"""

from nsv_eval.analyses.catalogue import INDICATORS, Indicator
from nsv_eval.analyses.data import Area, Prepared, load_prepared

__all__ = ["INDICATORS", "Indicator", "Area", "Prepared", "load_prepared"]
