"""Regenerate the Aalen-Johansen reference values with lifelines (test-only reference).

Run from the repository root:  .venv/bin/python tests/data/designs_b/make_aj_reference.py

Writes ``aj_input.csv`` (simulated competing-risks data: exponential times for the event of
interest, rate 1/10, and for death, rate 1/15, uniform censoring on 0-25; continuous times,
so no ties — lifelines' AalenJohansenFitter would jitter tied times at random) and
``aj_lifelines_reference.csv`` (lifelines 0.30.3 ``AalenJohansenFitter``: the cumulative
incidence of event 1, its variance by the Marubini-Valsecchi delta method, and the
log(-log) 95 % limits). lifelines pins pandas < 3, so it is not a dependency of nsv-eval;
the stored values let the test run without it.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(20240501)
n = 300
t1 = rng.exponential(10, n)
t2 = rng.exponential(15, n)
cens = rng.uniform(0, 25, n)
time = np.minimum.reduce([t1, t2, cens])
event = np.where(time == t1, 1, np.where(time == t2, 2, 0))
group = rng.integers(0, 2, n)
data = pd.DataFrame({"time": time, "event": event, "group": group})
data.to_csv(HERE / "aj_input.csv", index=False, float_format="%.17g")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ajf = AalenJohansenFitter(calculate_variance=True)
    ajf.fit(data["time"], data["event"], event_of_interest=1)
ci = ajf.confidence_interval_
ref = pd.DataFrame(
    {
        "time": ajf.cumulative_density_.index.to_numpy(float),
        "cif": ajf.cumulative_density_.iloc[:, 0].to_numpy(float),
        "variance": ajf.variance_.to_numpy(float),
        # lifelines labels its two columns the other way round; store them ordered
        "lower": np.minimum(ci.iloc[:, 0], ci.iloc[:, 1]).to_numpy(float),
        "upper": np.maximum(ci.iloc[:, 0], ci.iloc[:, 1]).to_numpy(float),
    }
)
ref.to_csv(HERE / "aj_lifelines_reference.csv", index=False, float_format="%.17g")
print(f"wrote {len(data)} rows of input and {len(ref)} reference rows")
