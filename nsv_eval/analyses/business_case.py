"""Business case: admissions avoided, DKK saved, cost per avoided admission.

The effect of an intervention enters as a rate ratio with its confidence interval (from any
design: ITS level change, difference-in-differences converted to a ratio, a cohort risk
ratio). With ``observed`` events in the period after the start, the counterfactual number
of events is ``observed / RR`` and the avoided events are ``observed × (1/RR − 1)``.

Uncertainty is carried through by Monte Carlo simulation (hand-written: the arithmetic is
three lines, and no maintained library packages a cost calculation on top of a ratio's
sampling distribution):

* log RR ~ Normal(log RR̂, se) with se recovered from the CI on the log scale; or, for an
  effect estimated on the additive scale (a DiD ATT, a synthetic-control gap), the additive
  effect ~ Normal(estimate, se) mapped to a ratio by
  :func:`nsv_eval.stats.designs.ratio_from_additive` with the observed mean held fixed;
* the unit cost, if given as a range, ~ Uniform(low, high) (the business-case convention of
  a plausible range rather than a point).

The observed count is *not* redrawn: it is what happened, and the random variation of the
events in the period is already in the effect's confidence interval (the ratio is
estimated from those same events). Redrawing it as Poisson on top would count that noise
twice.

The draws form an *approximate confidence distribution* of the avoided events and the
savings (a normal approximation to the effect's sampling distribution, pushed through the
arithmetic): its percentiles are confidence limits, and the share of draws with a positive
net saving (:attr:`BusinessCase.share_net_positive`) says how much of that distribution lies
above break-even — the one-sided confidence with which the data exclude a loss. It is not
the probability that the programme saves money (that would need a prior and a Bayesian
model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from nsv_eval.stats.designs.ratio import ratio_from_additive


@dataclass
class BusinessCase:
    """Result of :func:`business_case`: ``.table()``, ``.draws``, ``.share_net_positive`` (the
    words and the figure: :func:`nsv_eval.report.studies.s07_business_case.business_case_summary`,
    :func:`nsv_eval.report.figures.business_case_plot`)."""

    inputs: dict
    draws: pd.DataFrame
    conf: float
    _table: pd.DataFrame = field(repr=False)

    def table(self) -> pd.DataFrame:
        """Tidy table: ``quantity``, ``estimate``, ``lower``, ``upper``, ``unit`` (``"count"``
        or ``"DKK"``); the reader's words for the quantities are the report's."""
        return self._table.copy()

    @property
    def share_net_positive(self) -> float:
        """Share of the approximate confidence distribution with a positive net saving.

        The highest one-sided confidence level at which the data exclude a net loss (under
        the design's assumptions and the normal approximation); not a probability that the
        programme saves money.
        """
        return float((self.draws["net_saving"] > 0).mean())


def business_case(
    observed: float,
    rate_ratio: float,
    rr_lower: float,
    rr_upper: float,
    *,
    unit_cost: float | tuple[float, float],
    programme_cost: float,
    conf: float = 0.95,
    effect_conf: float = 0.95,
    n_sim: int = 20_000,
    seed: int = 1,
    additive: tuple[float, float, float, float] | None = None,
) -> BusinessCase:
    """Admissions avoided and money saved, with uncertainty carried through.

    Parameters
    ----------
    observed : float
        Events observed in the intervention period (e.g. preventable admissions).
    rate_ratio, rr_lower, rr_upper : float
        Effect estimate (intervention vs counterfactual) and its confidence limits.
    unit_cost : float or (float, float)
        Cost in DKK of one event (e.g. one admission), or a (low, high) range.
    programme_cost : float
        Cost in DKK of the intervention over the same period.
    conf : float
        Level of the reported intervals.
    effect_conf : float
        Level of the supplied effect interval (to recover its standard error).
    n_sim : int
        Monte Carlo draws.
    seed : int
        Seed of the random generator (results are reproducible).
    additive : (estimate, lower, upper, observed_mean), optional
        The effect on its original additive scale when the ratio was derived from one (a
        DiD ATT or a synthetic-control gap on a rate, its ``effect_conf`` limits and the
        treated units' observed mean rate). The simulation then draws the additive effect
        from a normal distribution and maps each draw with
        :func:`nsv_eval.stats.designs.ratio_from_additive`, instead of a log-normal ratio
        (the mapped interval is not symmetric on the log scale). ``rate_ratio`` and its
        limits must be that mapping's image.

    Returns
    -------
    BusinessCase
        Point estimates from the point inputs; intervals are percentiles of the approximate
        confidence distribution (the observed count is held fixed, see the module notes).
    """
    for name, v in {"rate_ratio": rate_ratio, "rr_lower": rr_lower, "rr_upper": rr_upper}.items():
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    if not rr_lower <= rate_ratio <= rr_upper:
        raise ValueError(
            f"rate_ratio {rate_ratio} must lie within its interval [{rr_lower}, {rr_upper}]"
        )
    if observed < 0:
        raise ValueError(f"observed must be ≥ 0, got {observed}")
    z = stats.norm.ppf(0.5 + effect_conf / 2)
    se = (np.log(rr_upper) - np.log(rr_lower)) / (2 * z)
    rng = np.random.default_rng(seed)
    if additive is None:
        inv_rr = np.exp(-rng.normal(np.log(rate_ratio), se, n_sim))
    else:
        a_est, a_lo, a_hi, a_obs = (float(x) for x in additive)
        mapped = ratio_from_additive(a_est, a_lo, a_hi, observed=a_obs)
        if not np.allclose(mapped, (rate_ratio, rr_lower, rr_upper), rtol=1e-6):
            raise ValueError(
                f"additive={additive} maps to the ratio {mapped}, not to the given "
                f"({rate_ratio}, {rr_lower}, {rr_upper})"
            )
        draws_add = rng.normal(a_est, (a_hi - a_lo) / (2 * z), n_sim)
        rr_draws = ratio_from_additive(draws_add, observed=a_obs)[0]
        # a draw whose counterfactual would be 0 or negative (NaN ratio) has no events
        # without the intervention: 1/RR = 0
        inv_rr = np.where(np.isnan(rr_draws), 0.0, 1.0 / rr_draws)
    obs = np.full(n_sim, float(observed))
    if isinstance(unit_cost, tuple):
        lo, hi = unit_cost
        if not 0 <= lo <= hi:
            raise ValueError(f"unit_cost range must satisfy 0 ≤ low ≤ high, got {unit_cost}")
        cost = rng.uniform(lo, hi, n_sim)
        unit_point = (lo + hi) / 2
    else:
        if unit_cost < 0:
            raise ValueError(f"unit_cost must be ≥ 0, got {unit_cost}")
        cost = np.full(n_sim, float(unit_cost))
        unit_point = float(unit_cost)
    avoided = obs * (inv_rr - 1.0)
    gross = avoided * cost
    net = gross - programme_cost
    draws = pd.DataFrame({"avoided": avoided, "gross_saving": gross, "net_saving": net})
    # point estimates from the point inputs; intervals from the simulation
    av_hat = observed * (1.0 / rate_ratio - 1.0)
    points = {
        "avoided": av_hat,
        "gross_saving": av_hat * unit_point,
        "net_saving": av_hat * unit_point - programme_cost,
    }
    q = [(1 - conf) / 2, 0.5 + conf / 2]
    rows = []
    units = {"avoided": "count", "gross_saving": "DKK", "net_saving": "DKK"}
    for k, unit in units.items():
        lo, hi = np.quantile(draws[k], q)
        rows.append(
            {
                "quantity": k,
                "estimate": points[k],
                "lower": lo,
                "upper": hi,
                "unit": unit,
            }
        )
    # cost per avoided event: only meaningful when events were avoided
    if av_hat > 0:
        cpa = programme_cost / av_hat
        # draws with nothing avoided have an infinite cost per avoided event; quantiles of a
        # sample with +inf are well defined as long as they fall below the infinite share
        pos = avoided > 0
        sim = np.full(n_sim, np.inf)
        sim[pos] = programme_cost / avoided[pos]
        sim.sort()
        lo, hi = (sim[min(int(np.floor(p * (n_sim - 1))), n_sim - 1)] for p in q)
        rows.append(
            {
                "quantity": "cost_per_avoided",
                "estimate": cpa,
                "lower": lo,
                "upper": hi,
                "unit": "DKK",
            }
        )
    inputs = {
        "observed": observed,
        "rate_ratio": rate_ratio,
        "rr_lower": rr_lower,
        "rr_upper": rr_upper,
        "unit_cost": unit_cost,
        "programme_cost": programme_cost,
        "n_sim": n_sim,
        "seed": seed,
        "additive": additive,
    }
    return BusinessCase(inputs=inputs, draws=draws, conf=conf, _table=pd.DataFrame(rows))
