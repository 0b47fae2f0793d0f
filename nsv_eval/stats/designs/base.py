"""Shared base class for effect-evaluation designs.

Every design (interrupted time series, difference-in-differences, synthetic control,
cohort, ...) returns a subclass of :class:`EffectResult`. The contract:

* ``.table()`` — tidy DataFrame, one row per estimate, columns ``term``, ``estimate``,
  ``lower``, ``upper``, ``p_value`` (plus design-specific extras such as ``scale``).
* ``.summary()`` — a compact statsmodels-style numeric table as text (no prose; the words
  are written by :mod:`nsv_eval.report.narrative`).
* ``.plot(ax=None)`` — a matplotlib figure of the design's main picture.
* ``.main_effect()`` — the row of ``.table()`` that answers "did it work?", used by
  :func:`nsv_eval.stats.triangulate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

TABLE_COLUMNS: tuple[str, ...] = ("term", "estimate", "lower", "upper", "p_value")


def summary_table(design: str, scale: str, conf: float, table: pd.DataFrame) -> str:
    """Fixed-width text of ``table`` under a one-line header (no prose, just labels)."""
    head = f"{design} | scale: {scale} | conf: {conf:g}"
    cols = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c]) or c == "term"]
    body = table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    rule = "=" * max(len(head), max((len(x) for x in body.splitlines()), default=0))
    return "\n".join([rule, head, rule.replace("=", "-"), body, rule])


@dataclass
class EffectResult:
    """Result of an effect-evaluation design.

    Parameters
    ----------
    design : str
        Short machine name of the design (``"its"``, ``"did"``, ...).
    effects : pandas.DataFrame
        The estimates; must contain :data:`TABLE_COLUMNS`.
    main_term : str
        The ``term`` of the headline effect.
    scale : str
        What the headline estimate measures, e.g. ``"rate_ratio"``, ``"risk_difference"``,
        ``"att"``; used to decide what "no effect" means (1 for ratios, 0 otherwise).
    conf : float
        Confidence level of the intervals.
    """

    design: str
    effects: pd.DataFrame
    main_term: str
    scale: str
    conf: float = 0.95

    def __post_init__(self) -> None:
        missing = [c for c in TABLE_COLUMNS if c not in self.effects.columns]
        if missing:
            raise ValueError(f"{self.design}: effects table lacks columns {missing}")

    # -- contract -------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """Tidy table of estimates (``term``, ``estimate``, ``lower``, ``upper``, ``p_value``)."""
        return self.effects.reset_index(drop=True).copy()

    def main_effect(self) -> pd.Series:
        """The headline row of :meth:`table`."""
        t = self.table()
        hit = t[t["term"] == self.main_term]
        if hit.empty:
            raise KeyError(f"{self.design}: no term {self.main_term!r} in the results table")
        return hit.iloc[0]

    @property
    def null_value(self) -> float:
        """The value of the headline estimate meaning 'no effect' (1 for ratios, else 0)."""
        return 1.0 if self.scale.endswith("ratio") else 0.0

    def summary(self) -> str:
        """Compact numeric table (statsmodels style): design, scale, conf and the estimates.

        The plain-language summary is :func:`nsv_eval.report.narrative.summarise`.
        """
        return summary_table(self.design, self.scale, self.conf, self.table())

    def plot(self, ax=None):  # pragma: no cover - overridden by designs
        """Main figure of the design (overridden by each design)."""
        raise NotImplementedError(f"{self.design} has no plot")

    def _repr_html_(self) -> str:  # nicer display in JupyterLab
        return f"<p><b>{self.design}</b></p>" + self.table().to_html(index=False)
