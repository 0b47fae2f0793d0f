"""The warm kernel (nsv_eval.report.warm): many notebooks in one kernel, nothing leaking.

Checked against the behaviour of a fresh kernel (the planted state of one report must not
be visible to the next): a variable, a monkey-patched function of ours and of pandas,
matplotlib rcParams and open figures, the global random seeds, the warnings filters,
pandas options, environment variables and the working directory. Both notebooks must run
in the same kernel process (otherwise the test would pass trivially).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from nsv_eval.report.warm import WarmKernel

POLLUTE = """
import os, warnings
import numpy as np
import pandas as pd
import matplotlib as mpl
import matplotlib.pyplot as plt
import nsv_eval.report.format as fmt

leak = 1
fmt.fmt_number = lambda *a, **k: "PATCHED"
pd.read_csv = lambda *a, **k: "PATCHED"
np.mean = lambda *a, **k: "PATCHED"
mpl.rcParams["lines.linewidth"] = 9.5
plt.figure()
np.random.seed(123)
import random
random.seed(123)
warnings.simplefilter("error")
os.environ["NSV_LEAK"] = "1"
pd.set_option("display.max_rows", 3)
os.chdir("/")
json.dump({"pid": os.getpid()}, open(out, "w"))
"""

OBSERVE = """
import os, random, warnings
import numpy as np
import pandas as pd
import matplotlib as mpl
import matplotlib.pyplot as plt
from nsv_eval.report.format import fmt_number

seeded = np.random.RandomState(123).random_sample()
rnd = random.Random(123).random()
json.dump({
    "pid": os.getpid(),
    "leak": "leak" in globals(),
    "fmt": fmt_number(1.5, 1),
    "read_csv_patched": getattr(pd.read_csv, "__name__", "") != "read_csv",
    "mean": float(np.mean([1.0, 3.0])),
    "linewidth": mpl.rcParams["lines.linewidth"],
    "figures": len(plt.get_fignums()),
    "np_random_is_seed_123": np.random.random_sample() == seeded,
    "random_is_seed_123": random.random() == rnd,
    "first_filter": warnings.filters[0][0] if warnings.filters else None,
    "env": os.environ.get("NSV_LEAK"),
    "max_rows": pd.get_option("display.max_rows"),
    "cwd": os.getcwd(),
}, open(out, "w"))
"""


def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('out = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import json\n" + body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def kernel():
    with WarmKernel() as k:
        yield k


def test_state_of_one_report_is_not_visible_to_the_next(kernel: WarmKernel, tmp_path: Path):
    a = _notebook(tmp_path / "a.ipynb", POLLUTE)
    b = _notebook(tmp_path / "b.ipynb", OBSERVE)
    work_b = tmp_path / "work-b"
    work_b.mkdir()
    kernel.execute(a, tmp_path / "a.out.ipynb", {"out": str(tmp_path / "a.json")}, cwd=tmp_path)
    kernel.execute(b, tmp_path / "b.out.ipynb", {"out": str(tmp_path / "b.json")}, cwd=work_b)
    ra = json.loads((tmp_path / "a.json").read_text())
    rb = json.loads((tmp_path / "b.json").read_text())
    assert ra["pid"] == rb["pid"], "both reports must run in the same (warm) kernel"
    import matplotlib as mpl

    default_lw = mpl.rcParamsDefault["lines.linewidth"]
    assert rb == {
        "pid": ra["pid"],
        "leak": False,
        "fmt": "1,5",
        "read_csv_patched": False,
        "mean": 2.0,
        "linewidth": default_lw,
        "figures": 0,
        "np_random_is_seed_123": False,
        "random_is_seed_123": False,
        "first_filter": rb["first_filter"],
        "env": None,
        "max_rows": 60,
        "cwd": str(work_b.resolve()),
    }
    assert rb["first_filter"] != "error"
    # the executed notebook keeps papermill's contract: injected parameters cell
    out = nbformat.read(tmp_path / "b.out.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in out.cells)
    # execution counts restart per report (new session): parameters, injected, body
    assert [c.execution_count for c in out.cells] == [1, 2, 3]


def test_failing_report_restarts_the_kernel_and_the_next_one_runs(
    kernel: WarmKernel, tmp_path: Path
):
    import papermill as pm

    bad = _notebook(tmp_path / "bad.ipynb", "leak = 2\nraise ValueError('boom')")
    good = _notebook(tmp_path / "good.ipynb", OBSERVE)
    starts = kernel.starts
    with pytest.raises(pm.PapermillExecutionError, match="boom"):
        kernel.execute(bad, tmp_path / "bad.out.ipynb", {"out": ""}, cwd=tmp_path)
    assert (tmp_path / "bad.out.ipynb").exists()  # written with the error, for debugging
    kernel.execute(good, tmp_path / "g.out.ipynb", {"out": str(tmp_path / "g.json")}, cwd=tmp_path)
    assert kernel.starts == starts + 1
    assert json.loads((tmp_path / "g.json").read_text())["leak"] is False


def test_dead_kernel_is_replaced(kernel: WarmKernel, tmp_path: Path):
    good = _notebook(tmp_path / "good.ipynb", OBSERVE)
    kernel.start()
    assert kernel.km is not None
    import signal
    import time

    kernel.km.signal_kernel(signal.SIGKILL)  # the kernel process dies (as under OOM)
    for _ in range(50):
        if not kernel.alive:
            break
        time.sleep(0.1)
    assert not kernel.alive
    kernel.execute(good, tmp_path / "g.out.ipynb", {"out": str(tmp_path / "g.json")}, cwd=tmp_path)
    assert json.loads((tmp_path / "g.json").read_text())["leak"] is False
