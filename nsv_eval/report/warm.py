"""A warm kernel: one Jupyter kernel that executes many study notebooks in turn.

Starting a kernel and importing the scientific stack costs about 4 s, which a batch of 686
reports would pay 686 times. :class:`WarmKernel` starts one kernel, imports the stack once
(:data:`WARM_IMPORTS`) and then executes notebook after notebook in it with papermill — the
execution contract is unchanged: the notebook's ``parameters`` cell, papermill's injected
parameters cell, the executed notebook saved for debugging, ``PapermillExecutionError`` on
a failing cell.

Isolation between reports. Before each notebook the kernel is brought back to the state it
had right after the warm-up (:data:`RESET_CODE`):

* the IPython user namespace is cleared (``InteractiveShell.reset(new_session=True)``: no
  variable, function or import of one report is visible to the next; execution counts
  restart at 1);
* every module first imported *after* the warm-up (among them all of ``nsv_eval``, which
  is never part of the warm-up) is removed from ``sys.modules``, so the next report imports
  it afresh — a function of ours monkey-patched by one report is gone for the next;
* module-level attributes of the warm-up modules that a report rebound (``pandas.read_csv
  = ...``, ``numpy.mean = ...``) are restored, and attributes it added are removed;
* matplotlib: all figures closed, ``rcParams`` restored (the report theme is applied by each
  notebook itself); pandas options reset; the ``warnings`` filters, ``os.environ``,
  ``sys.path`` and the working directory restored / set to the report's folder; the global
  random generators of ``random`` and NumPy re-seeded from fresh entropy, as in a new kernel.

What is *not* reset: attributes set on classes of already imported third-party packages
(``pandas.DataFrame.foo = ...``) and C-level state of extension modules. No notebook of
ours does either; a report that fails restarts the kernel (:meth:`WarmKernel.execute`), so
the next report never inherits the state of a half-run notebook.

Why this module rather than a library: papermill and nbclient can reuse a kernel manager
passed as ``km`` but do not reset state between notebooks, and leave the per-notebook
kernel client's channels open; nothing maintained does the reset, so it is written here.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

WARM_IMPORTS = (
    "numpy",
    "pandas",
    "scipy.stats",
    "scipy.optimize",
    "statsmodels.api",
    "statsmodels.formula.api",
    "matplotlib",
    "matplotlib.pyplot",
    "seaborn",
    "duckdb",
    "pyarrow.parquet",
    "IPython.display",
)
"""Modules imported once per kernel (the scientific stack the study notebooks use)."""

PROJECT_PACKAGES = ("nsv_eval",)
"""Our own packages: never part of the warm-up, imported afresh by every report."""

RESTORED_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "duckdb",
    "pyarrow",
    "os",
    "random",
    "math",
    "json",
    "warnings",
    "datetime",
    "pathlib",
    "time",
)
"""Packages whose module attributes are put back after each report when a report rebinds
them (monkey-patching). Kernel machinery (ipykernel, IPython, zmq, asyncio, ...) is left
alone: it rebinds its own globals while it works."""

WARMUP_CODE = """
def __nsv_warmup(names, project, restored):
    import importlib, os, sys, sysconfig, types, warnings
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # our package is imported once only to pull in the third-party modules it uses, then
    # dropped: every report imports it afresh
    for name in [k for k in sys.modules if k.split(".")[0] in project]:
        del sys.modules[name]
    import matplotlib
    import matplotlib.pyplot as plt
    plt.close("all")
    state = types.ModuleType("__nsv_warm_state__")
    state.project = tuple(project)
    state.known = set(sys.modules)
    state.modules = {
        k: (m, dict(vars(m))) for k, m in list(sys.modules.items())
        if isinstance(m, types.ModuleType) and k.split(".")[0] in restored
    }
    paths = sysconfig.get_paths()
    state.library_dirs = tuple(
        os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib")
    )
    state.rc = dict(matplotlib.rcParams)
    state.warnings = list(warnings.filters)
    state.environ = dict(os.environ)
    state.path = list(sys.path)
    sys.modules["__nsv_warm_state__"] = state
    # The warmed-up stack (hundreds of thousands of objects) lives as long as the kernel:
    # freezing it keeps the garbage collector from scanning it again in every collection
    # (IPython's reset() collects between reports: 0.4 s per report without the freeze).
    import gc
    gc.collect()
    gc.freeze()
__nsv_warmup(@ARGS@)
del __nsv_warmup
"""

RESET_CODE = """
def __nsv_reset(cwd):
    import os, random, sys, types, warnings
    state = sys.modules["__nsv_warm_state__"]
    get_ipython().reset(new_session=True)

    def _ours(name, mod):
        # our package, or a module of the user's (not from the standard library or an
        # installed package): imported afresh by the next report. Installed third-party
        # modules stay loaded (extension modules cannot be imported twice).
        if name.split(".")[0] in state.project:
            return True
        f = getattr(mod, "__file__", None)
        if not f:
            return False
        f = os.path.realpath(f)
        return not any(f.startswith(d + os.sep) for d in state.library_dirs)

    for name in [k for k, m in list(sys.modules.items()) if k not in state.known]:
        if _ours(name, sys.modules[name]):
            del sys.modules[name]
    # module attributes a report rebound are put back; attributes it added are removed
    # (except submodules, which the import system does not re-attach)
    for name, (mod, saved) in state.modules.items():
        if sys.modules.get(name) is not mod:
            sys.modules[name] = mod
        current = vars(mod)
        for key in [k for k, v in current.items() if k not in saved]:
            if not isinstance(current[key], types.ModuleType):
                del current[key]
        for key, value in saved.items():
            if current.get(key, state) is not value:
                current[key] = value
    warnings.filters[:] = state.warnings
    getattr(warnings, "_filters_mutated", lambda: None)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import matplotlib, matplotlib.pyplot as plt
        plt.close("all")
        matplotlib.rcParams.update(state.rc)
        import pandas
        pandas.reset_option("all")
    os.environ.clear()
    os.environ.update(state.environ)
    sys.path[:] = state.path
    os.chdir(cwd)
    random.seed()
    import numpy
    numpy.random.seed()
__nsv_reset(@ARGS@)
"""

WARM_PROJECT_IMPORTS = (
    "nsv_eval.analyses",
    "nsv_eval.report.findings",
    "nsv_eval.report.disclosure",
    "nsv_eval.report.theme",
    "nsv_eval.stats",
)
"""Our modules imported during the warm-up only for the third-party modules they pull in."""


class CurrentPythonKernelManagerSync(KernelManager):
    """Blocking kernel manager that starts ipykernel with the current interpreter.

    The synchronous twin of :class:`nsv_eval.report.render.CurrentPythonKernelManager`
    (same kernel spec), so the warm kernel can be driven from plain code between notebooks.
    """

    @property
    def kernel_spec(self):
        from nsv_eval.report.render import current_python_kernel_spec

        if getattr(self, "_nsv_spec", None) is None:
            self._nsv_spec = current_python_kernel_spec()
        return self._nsv_spec


class WarmKernelError(RuntimeError):
    """The warm kernel did not start, did not answer or died (not a notebook's error)."""


class WarmKernel:
    """One kernel that executes many notebooks, reset between them.

    Parameters
    ----------
    imports : sequence of str
        Modules imported once at start (default :data:`WARM_IMPORTS`).
    startup_timeout : float
        Seconds to wait for the kernel to start and finish the warm-up.
    nice : int
        Started this much nicer (lower CPU priority) than this process (default 0).

    Examples
    --------
    >>> with WarmKernel() as k:                                   # doctest: +SKIP
    ...     k.execute("notebooks/02_kommuneprofil.ipynb", "out.ipynb", {"kommune": 326})
    ...     k.execute("notebooks/03_fald.ipynb", "out3.ipynb", {"kommune": 326})
    """

    def __init__(
        self,
        imports: tuple[str, ...] = WARM_IMPORTS,
        startup_timeout: float = 120,
        nice: int = 0,
    ):
        self.imports = tuple(imports)
        self.startup_timeout = startup_timeout
        self.nice = int(nice)
        self.km: CurrentPythonKernelManagerSync | None = None
        self.starts = 0
        self.executed = 0
        self.warmup_seconds = 0.0
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the kernel and import the stack (no-op when it is alive)."""
        if self.km is not None and self.km.is_alive():
            return
        self.shutdown()
        t0 = time.monotonic()
        km = CurrentPythonKernelManagerSync()
        km.start_kernel()
        self.km = km
        if self.nice > 0:
            # a lower scheduling priority (e.g. beside worker processes whose work is the
            # critical path, see nsv_eval.report.render.run_studies); best effort
            try:
                pid = int(km.provisioner.pid)  # type: ignore[union-attr]
                os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + self.nice)
            except (AttributeError, TypeError, OSError):
                pass
        try:
            args = (self.imports + WARM_PROJECT_IMPORTS, PROJECT_PACKAGES, RESTORED_PACKAGES)
            code = WARMUP_CODE.replace("@ARGS@", ", ".join(map(repr, args)))
            self._run(code, self.startup_timeout)
        except Exception:
            self.shutdown()
            raise
        self.starts += 1
        self.warmup_seconds = time.monotonic() - t0

    def shutdown(self) -> None:
        """Stop the kernel (idempotent)."""
        km, self.km = self.km, None
        if km is not None:
            try:
                km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - a dead kernel is already shut down
                pass

    def restart(self) -> None:
        """Replace the kernel by a freshly warmed one."""
        self.shutdown()
        self.start()

    def __enter__(self) -> WarmKernel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def alive(self) -> bool:
        """Whether the kernel process is running."""
        return self.km is not None and self.km.is_alive()

    # -- execution ---------------------------------------------------------------------

    def _run(self, code: str, timeout: float) -> None:
        """Run ``code`` in the kernel (outside any notebook); raise on an error."""
        assert self.km is not None
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=timeout)
            reply = kc.execute_interactive(
                code, silent=True, store_history=False, timeout=timeout, output_hook=_quiet
            )
        except TimeoutError as exc:
            raise WarmKernelError(f"RuntimeError: the warm kernel did not answer: {exc}") from exc
        finally:
            kc.stop_channels()
        content = reply["content"]
        if content.get("status") != "ok":
            raise WarmKernelError(
                "RuntimeError: the warm kernel failed to reset: "
                f"{content.get('ename')}: {content.get('evalue')}"
            )

    def reset(self, cwd: str | Path) -> None:
        """Bring the kernel back to its warm-up state, working directory ``cwd``."""
        code = RESET_CODE.replace("@ARGS@", repr(str(Path(cwd).resolve())))
        self._run(code, self.startup_timeout)

    def execute(
        self,
        notebook: str | Path,
        output: str | Path,
        parameters: Mapping[str, Any],
        *,
        cwd: str | Path | None = None,
        timeout: float | None = None,
    ) -> Path:
        """Execute one notebook with papermill in the warm kernel; write ``output``.

        Raises ``papermill.PapermillExecutionError`` when a cell fails (the output notebook
        is written with the error, as with a cold kernel). After any failure the kernel is
        restarted, so no state of a half-run notebook reaches the next one.
        """
        import papermill as pm

        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        workdir = Path(cwd) if cwd else out.parent
        with self._lock:
            self.start()
            ok = False
            try:
                self.reset(workdir)
                pm.execute_notebook(
                    str(notebook),
                    str(out),
                    parameters=dict(parameters),
                    engine_name=ENGINE_NAME,
                    kernel_name="python3",
                    language="python",
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    execution_timeout=timeout,
                    km=self.km,
                )
                ok = True
            finally:
                self.executed += 1
                if not ok:
                    self.shutdown()  # the next execute() starts a fresh, warm kernel
        return out


def _quiet(msg: dict) -> None:  # the warm-up and reset print nothing worth showing
    return None


# ----------------------------------------------------------------------------------------
# papermill engine: nbclient on a kernel we keep, with the per-notebook client closed
# ----------------------------------------------------------------------------------------

ENGINE_NAME = "nsv-warm"


def _register_engine() -> None:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    class WarmEngine(NBClientEngine):
        """papermill's nbclient engine on a given, running kernel manager (``km``).

        nbclient keeps a kernel it does not own alive, but leaves the kernel client it
        opened for the notebook connected; this engine closes that client's channels
        afterwards so a long batch does not accumulate sockets.
        """

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=NBClientEngine.__dict__.get("log", None) or _logger(),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, **final_kwargs)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(ENGINE_NAME, WarmEngine)


def _logger():
    from papermill.log import logger

    return logger


_register_engine()

# ----------------------------------------------------------------------------------------
# one warm kernel per process (batch workers)
# ----------------------------------------------------------------------------------------

_PROCESS_KERNEL: WarmKernel | None = None


def process_kernel() -> WarmKernel:
    """The warm kernel of this process, started on first use and shut down at exit.

    A batch worker process calls this for every task, so all reports it executes share one
    kernel.
    """
    global _PROCESS_KERNEL
    if _PROCESS_KERNEL is None:
        _PROCESS_KERNEL = WarmKernel()
        atexit.register(_PROCESS_KERNEL.shutdown)
    return _PROCESS_KERNEL


def warm_disabled() -> bool:
    """``NSV_COLD_KERNEL=1`` makes every report start its own kernel (the old path)."""
    return os.environ.get("NSV_COLD_KERNEL", "") not in ("", "0", "false", "no")


__all__ = [
    "ENGINE_NAME",
    "RESET_CODE",
    "WARM_IMPORTS",
    "WarmKernel",
    "WarmKernelError",
    "process_kernel",
    "warm_disabled",
]
