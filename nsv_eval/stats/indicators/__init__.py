"""Indicator statistics and benchmarking, following PHE/OHID Fingertips methods.

Every function takes a DataFrame and column names, accepts ``by=[...]`` for grouped results
and returns a tidy DataFrame (``by`` columns, ``numerator``, ``denominator``, ``estimate``,
``lower``, ``upper``, ``conf``, ``method`` and function-specific extras). The reference is
the R package PHEindicatormethods and PHE's "Technical Guide: Confidence Intervals" (2018).
"""

from .compare import compare
from .funnel import FunnelResult, funnel_limits, funnel_plot
from .inequality import concentration_index, sii
from .life_expectancy import life_expectancy
from .proportions import proportion
from .rates import rate
from .standardisation import dsr, isr

__all__ = [
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
]
