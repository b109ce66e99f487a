"""The ``coachkit-warm`` papermill engine: one warm kernel per process, a clean namespace per notebook.

Papermill's default engine starts a new kernel for every notebook, and every review
then pays for the kernel start and for importing pandas, altair and coachkit again
(seconds per rep). :class:`WarmEngine` keeps one kernel per process (per kernel name)
and reuses it: the first notebook starts it and preloads :data:`PRELOAD`; before each
notebook the kernel is reset (:func:`reset_kernel`):

* the user namespace, ``In``/``Out`` and the output caches are cleared (IPython's
  ``%reset -f``) and execution counts start again at 1, so that the executed notebook
  is the same as with a fresh kernel;
* the working directory, ``sys.path``, ``os.environ``, the warnings filters and Altair's
  active renderer, data transformer and theme are restored to what they were when the
  kernel started.

What survives on purpose: imported modules (``sys.modules``), and with them any state
a module keeps (caches, options set through a module's API that is not listed above,
e.g. ``pandas.set_option``). A notebook that changes such global state can affect the
next notebook in the same kernel; the review notebook does not. One such cache is on
purpose: :func:`coachkit.batch.load_for_review` keeps the last team it read, checked
against the files' size and modification time and handed out as new copy-on-write
frames, so the next rep of the team gets the same data without reading it again. Use papermill's default
engine (``coachkit review --isolation fresh``) for one new kernel per notebook.

A kernel that dies, times out or is interrupted is shut down and forgotten: only that
notebook fails (papermill raises as usual), and the next notebook starts a new kernel.
Kernels are shut down when the process exits (:func:`shutdown_kernels`).

**Which Python.** Kernels are started with the interpreter running coachkit
(``sys.executable``), whatever kernelspecs the user has: a kernelspec named ``python3``
elsewhere on ``JUPYTER_PATH`` (another Python, another virtual environment) plays no part
(:class:`InterpreterKernelSpecManager`). A kernel that does not start raises
:class:`KernelStartError` naming the interpreter. A pool worker, which has imported all a kernel needs and runs
one thread, forks its kernel instead of starting a new Python (:mod:`coachkit.kernel_fork`, about 2 s of CPU
less per kernel); the same interpreter either way. The kernel's first statement ties it to
the process that started it (:func:`coachkit.procs.kernel_launch_code`): it is killed when
that process dies, so that no kernel outlives a killed review run.

:class:`FreshEngine` (``coachkit-fresh``) is the same kernel start with a new kernel per
notebook (``coachkit review --isolation fresh``). Both engines are registered with
papermill by :func:`register_engines`; ``coachkit-warm`` is also papermill's
``papermill.engine`` entry point::

    [project.entry-points."papermill.engine"]
    coachkit-warm = "coachkit.engine:WarmEngine"

so ``papermill in.ipynb out.ipynb --engine coachkit-warm`` works too (one kernel per
papermill call there, so no gain on the command line).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import warnings
from typing import Any

from .review import MODULES as REVIEW_MODULES

__all__ = [
    "ENGINE_NAME",
    "FRESH_ENGINE_NAME",
    "PRELOAD",
    "KernelStartError",
    "interpreter_kernel_spec",
    "ipc_prefix",
    "kill_kernels",
    "prepare_kernel",
    "register_engines",
    "reset_kernel",
    "shutdown_kernels",
    "skip_rfc3987_syntax",
]  # and WarmEngine, FreshEngine, InterpreterKernelSpecManager, InterpreterKernelManager (lazy)

#: The papermill engine names: one warm kernel per process, or a new kernel per notebook.
ENGINE_NAME = "coachkit-warm"
FRESH_ENGINE_NAME = "coachkit-fresh"

#: Modules imported in a new kernel before its first notebook: the review's (its package imports them on first use),
#: and the last ones the review imports on first use.
PRELOAD = (
    "pandas",
    "altair",
    "nbformat",
    "coachkit",
    "coachkit.review",
    *REVIEW_MODULES,
    "coachkit.export",
    "coachkit.batch",
    "duckdb",
    "vl_convert",
    "scipy.stats",
    "statsmodels.genmod.generalized_linear_model",
    "statsmodels.regression.linear_model",
)

# kernel key -> kernel manager, in this process
_KERNELS: dict[tuple[str, tuple[str, ...]], tuple[Any, Any]] = {}  # key -> (manager, client)
# every kernel started in this process and not shut down yet (kept or in use): id(manager) -> manager
_LIVE: dict[int, Any] = {}


# ---------------------------------------------------------------- inside the kernel

_STATE: dict[str, Any] = {}


def skip_rfc3987_syntax() -> None:
    """Keep jsonschema from building rfc3987_syntax's parsers in this process (about 1.9 s at import).

    jsonschema (through altair, nbformat and papermill) imports rfc3987_syntax, if installed, only to
    check the "iri"/"iri-reference" string formats. Neither the Vega-Lite nor the notebook schema uses
    those formats. A None entry in sys.modules makes that import fail (documented import-system
    behaviour), and jsonschema then skips those two format checkers. Called by review kernels, the
    batch and its pool's forkserver; does nothing once jsonschema is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def prepare_kernel(preload: tuple[str, ...] = PRELOAD) -> None:
    """Run once in a new kernel: preload modules, start DuckDB and vl-convert, and record the state
    :func:`reset_kernel` restores."""
    skip_rfc3987_syntax()
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:  # the notebook reports it if it needs the module
            pass
    _start_runtimes()
    _STATE.update(
        cwd=os.getcwd(),
        path=list(sys.path),
        environ=dict(os.environ),
        warnings=list(warnings.filters),
        altair=_altair_state(),
    )
    # What the kernel holds now (the preloaded modules: about 150,000 objects) lives as long as the kernel, so
    # the cycle collector need not look at it again: IPython's reset runs a full collection before every review,
    # which took 0.18-0.20 s over these objects and takes 0.02-0.03 s once they are frozen.
    gc.collect()
    gc.freeze()


#: A chart with axis labels: drawn once when a kernel starts, so that vl-convert's JavaScript runtime and fonts are
#: ready before the first review (0.3-0.4 s of its first chart otherwise).
_WARM_SPEC = {
    "data": {"values": [{"a": "x", "b": 1}]},
    "mark": "bar",
    "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}},
}


def _start_runtimes() -> None:
    """Start what a review's first use would start, while the kernel waits for its first notebook: the process's
    DuckDB instance (:func:`coachkit.duck.cursor`) and vl-convert's runtime. Threads: after the fork, never before
    (:mod:`coachkit.kernel_fork`). A failure here only leaves it to the first review, which reports it."""
    try:
        from . import duck

        duck.cursor().close()
    except Exception:
        pass
    try:
        import vl_convert

        vl_convert.vegalite_to_svg(_WARM_SPEC)
    except Exception:
        pass


# Altair's active renderer, data transformer and theme, and its debug mode, when it is imported.
_ALTAIR_DEFAULT = ("default", "default", "default", True)


def _altair_state() -> tuple[Any, ...]:
    alt = sys.modules.get("altair")
    if alt is None:
        return _ALTAIR_DEFAULT
    return (alt.renderers.active, alt.data_transformers.active, alt.theme.active, alt.utils.schemapi.DEBUG_MODE)


def reset_kernel(cwd: str | None = None) -> None:
    """Run in the kernel before each notebook: a clean namespace and the state of the kernel's start."""
    ip = sys.modules["IPython"].get_ipython()
    ip.reset(new_session=False)  # = %reset -f: user namespace, In/Out, output caches
    ip.execution_count = 1
    os.chdir(cwd or _STATE["cwd"])
    sys.path[:] = _STATE["path"]
    if dict(os.environ) != _STATE["environ"]:
        os.environ.clear()
        os.environ.update(_STATE["environ"])
    warnings.filters[:] = _STATE["warnings"]
    warnings._filters_mutated()  # type: ignore[attr-defined]  # invalidate the per-module caches
    if "altair" in sys.modules:
        alt = sys.modules["altair"]
        renderer, transformer, theme, debug = _STATE["altair"]
        alt.renderers.enable(renderer)
        alt.data_transformers.enable(transformer)
        alt.theme.enable(theme)
        alt.utils.schemapi.DEBUG_MODE = debug


# ---------------------------------------------------------------- in the process running papermill


class KernelStartError(RuntimeError):
    """A review kernel did not start; the message names the interpreter and the cause."""


def interpreter_kernel_spec(parent: int | None = None) -> Any:
    """The kernelspec of every review kernel: this interpreter (``sys.executable``) running ipykernel.

    ``argv`` is ``[sys.executable, "-Xfrozen_modules=off", "-c", <code>, "-f", "{connection_file}"]``
    where the code (:func:`coachkit.procs.kernel_launch_code`) makes the kernel die with
    ``parent`` (default: this process, which starts the kernel), then starts ipykernel.
    """
    from jupyter_client.kernelspec import KernelSpec

    from . import kernel_fork
    from .procs import kernel_launch_code

    code = kernel_launch_code(os.getpid() if parent is None else parent)
    metadata: dict[str, Any] = {"debugger": False}
    if kernel_fork.available():  # forked from this process where it can be (coachkit.kernel_fork), else started
        metadata["kernel_provisioner"] = {"provisioner_name": kernel_fork.PROVISIONER_NAME}
    return KernelSpec(
        argv=[sys.executable, "-Xfrozen_modules=off", "-c", code, "-f", "{connection_file}"],
        display_name=f"Python ({sys.executable})",
        language="python",
        interrupt_mode="signal",
        metadata=metadata,
    )


def _classes() -> dict[str, type]:
    # Built on first use, not at import: the kernel imports this module for prepare_kernel and
    # reset_kernel without papermill, and papermill itself imports it (entry point) while
    # papermill.engines is still initialising.
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import Engine
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args
    from traitlets import default

    class InterpreterKernelSpecManager(KernelSpecManager):
        """Every kernel name resolves to :func:`interpreter_kernel_spec`: the user's kernelspecs play no part."""

        def get_kernel_spec(self, kernel_name: str) -> Any:
            return interpreter_kernel_spec()

        def find_kernel_specs(self) -> dict[str, str]:
            return {"python3": ""}

    class InterpreterKernelManager(AsyncKernelManager):
        """nbclient's kernel manager, with kernels from :class:`InterpreterKernelSpecManager`, talking over Unix
        sockets where the system has them (:func:`ipc_prefix`)."""

        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> Any:
            return InterpreterKernelSpecManager(data_dir=self.data_dir)

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc" if ipc_prefix() is not None else "tcp"

        @default("ip")
        def _ip_default(self) -> str:
            return (ipc_prefix() or "kernel-ipc") if self.transport == "ipc" else super()._ip_default()

    class Client(PapermillNotebookClient):
        """Papermill's notebook client with the interpreter's kernels and a :class:`KernelStartError` on a failed start."""

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            try:
                await super().async_start_new_kernel(**kwargs)
            except Exception as exc:
                raise _start_error(exc) from exc
            finally:
                if self.km is not None:
                    _LIVE[id(self.km)] = self.km

        async def _async_cleanup_kernel(self) -> None:
            km = self.km
            try:
                await super()._async_cleanup_kernel()
            finally:
                if km is not None:
                    _LIVE.pop(id(km), None)

        async def async_start_new_kernel_client(self) -> Any:
            try:
                return await super().async_start_new_kernel_client()
            except Exception as exc:
                raise _start_error(exc) from exc

        # nbclient's synchronous wrappers are bound to its own coroutines: bind them to these
        start_new_kernel = run_sync(async_start_new_kernel)
        start_new_kernel_client = run_sync(async_start_new_kernel_client)
        _cleanup_kernel = run_sync(_async_cleanup_kernel)  # papermill's client uses nbclient's synchronous setup_kernel

    def client_kwargs(kernel_name: str, log_output: bool, stdout_file: Any, stderr_file: Any, start_timeout: float,
                      execution_timeout: float | None, kwargs: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        return merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            kernel_manager_class=InterpreterKernelManager,
        )

    class FreshEngine(Engine):
        """Papermill engine: a new kernel of this interpreter for each notebook (papermill's own engine otherwise)."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: float = 60,
            execution_timeout: float | None = None,
            **kwargs: Any,
        ) -> Any:
            """Execute ``nb_man``'s notebook in a new kernel (same arguments as papermill's engines)."""
            final_kwargs = client_kwargs(
                kernel_name, log_output, stdout_file, stderr_file, start_timeout, execution_timeout, kwargs
            )
            return Client(nb_man, **final_kwargs).execute()

    class WarmEngine(Engine):
        """Papermill engine executing each notebook in this process's warm kernel (see the module docstring)."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: float = 60,
            execution_timeout: float | None = None,
            **kwargs: Any,
        ) -> Any:
            """Execute ``nb_man``'s notebook in the warm kernel for ``kernel_name`` (same arguments as papermill's)."""
            final_kwargs = client_kwargs(
                kernel_name, log_output, stdout_file, stderr_file, start_timeout, execution_timeout, kwargs
            )
            key = (kernel_name, tuple(final_kwargs.get("extra_arguments") or ()))
            km, kc = _KERNELS.pop(key, (None, None))
            if km is not None and not _alive(km):
                _shutdown(km, kc)
                km = kc = None
            client = Client(nb_man, km=km, **final_kwargs)
            client.owns_km = False  # keep the kernel (and its client) after this notebook
            # papermill writes the whole output notebook before and after every cell (~0.2 s
            # per review); here it is written once, when the notebook ends or fails.
            nb_man.save = lambda **kwargs: None
            try:
                if km is None:
                    client.km = client.create_kernel_manager()
                    client.start_new_kernel(cwd=os.getcwd())
                    client.start_new_kernel_client()
                    try:
                        _run(client, f"__import__('coachkit.engine', fromlist=['_']).prepare_kernel({PRELOAD!r})")
                    except Exception as exc:
                        raise _start_error(exc) from exc
                else:
                    client.kc = kc
                _run(client, f"__import__('coachkit.engine', fromlist=['_']).reset_kernel({os.getcwd()!r})")
                nb = client.execute()
            except BaseException:
                # dead, timed out (still busy) or interrupted: never reuse it
                if client.km is not None:
                    _shutdown(client.km, client.kc)
                raise
            finally:
                del nb_man.save  # papermill's own save, for its final write
            _KERNELS[key] = (client.km, client.kc)
            _register_exit()
            return nb

    return {
        "WarmEngine": WarmEngine,
        "FreshEngine": FreshEngine,
        "InterpreterKernelSpecManager": InterpreterKernelSpecManager,
        "InterpreterKernelManager": InterpreterKernelManager,
    }


#: The longest path a Unix socket can have is 107 bytes on Linux (103 on macOS); a kernel's are this prefix + "-N".
_IPC_MAX = 100


def ipc_prefix() -> str | None:
    """A new path prefix for one kernel's five Unix sockets (``<prefix>-1`` ... ``-5``, in the system's temporary
    folder; jupyter_client removes them when the kernel shuts down), or None where there are no Unix sockets or the
    path would be too long: then the kernel listens on TCP ports of 127.0.0.1.

    With TCP, jupyter_client picks free ports and the kernel binds them a moment later: kernels starting at the same
    time in other processes (the pool's workers, other runs) can take a port in between, and the kernel then dies at
    start (``Address already in use``) while papermill waits 60 s for it. A socket path of its own cannot be taken.
    """
    import tempfile
    import uuid

    if os.name != "posix":
        return None
    prefix = os.path.join(tempfile.gettempdir(), f"coachkit-kernel-{uuid.uuid4().hex}")
    return prefix if len(os.fsencode(prefix)) + 3 <= _IPC_MAX else None


def _start_error(exc: BaseException) -> KernelStartError:
    if isinstance(exc, KernelStartError):
        return exc
    cause = " ".join(str(exc).split()) or type(exc).__name__
    return KernelStartError(
        f"the review kernel did not start with the Python running coachkit, {sys.executable} "
        f"(ipykernel): {type(exc).__name__}: {cause}; check that `{sys.executable} -m ipykernel --version` works"
    )


def __getattr__(name: str) -> Any:
    if name in ("WarmEngine", "FreshEngine", "InterpreterKernelSpecManager", "InterpreterKernelManager"):
        made = _classes()
        globals().update(made)
        return made[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_engines() -> None:
    """Register :data:`ENGINE_NAME` and :data:`FRESH_ENGINE_NAME` with papermill (idempotent)."""
    from papermill.engines import papermill_engines

    module = sys.modules[__name__]
    for name, cls in ((ENGINE_NAME, "WarmEngine"), (FRESH_ENGINE_NAME, "FreshEngine")):
        if name not in papermill_engines._engines:
            papermill_engines.register(name, getattr(module, cls))


def _run(client: Any, code: str) -> None:
    """Execute ``code`` silently in the client's kernel; raise if it fails."""
    msg_id = client.kc.execute(code, silent=True, store_history=False)
    reply = client.wait_for_reply(msg_id)
    content = (reply or {}).get("content", {})
    if content.get("status") != "ok":
        raise RuntimeError(
            f"preparing the warm kernel failed: {content.get('ename', '')}: {content.get('evalue', 'no reply')}"
        )


def _alive(km: Any) -> bool:
    from jupyter_core.utils import ensure_async, run_sync

    async def check() -> bool:
        return bool(await ensure_async(km.is_alive()))

    try:
        return run_sync(check)()
    except Exception:
        return False


def _shutdown(km: Any, kc: Any = None) -> None:
    from jupyter_core.utils import ensure_async, run_sync

    _LIVE.pop(id(km), None)

    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:
            pass

    async def stop() -> None:
        try:
            if await ensure_async(km.is_alive()):
                await ensure_async(km.shutdown_kernel(now=True))
        finally:
            await ensure_async(km.cleanup_resources())

    try:
        run_sync(stop)()
    except Exception:
        pass


def kill_kernels() -> None:
    """Kill every kernel this process started and remove their connection files, at once (for a signal handler).

    No Jupyter message and no event loop: the kernel's process group gets SIGKILL, which is what a
    shutdown with ``now=True`` does. Used when a worker is told to stop (:func:`coachkit.procs.worker_init`).
    """
    import signal

    for km in list(_LIVE.values()):
        provisioner = getattr(km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        pgid = getattr(provisioner, "pgid", None)
        try:
            if pgid and hasattr(os, "killpg"):
                os.killpg(pgid, signal.SIGKILL)
            elif pid:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            km.cleanup_connection_file()
        except Exception:
            pass
    _LIVE.clear()


def _register_term_hook() -> None:
    from . import procs

    if kill_kernels not in procs.TERM_HOOKS:
        procs.TERM_HOOKS.append(kill_kernels)


_register_term_hook()


def shutdown_kernels() -> None:
    """Shut down this process's warm kernels (also done when the process exits)."""
    while _KERNELS:
        _, (km, kc) = _KERNELS.popitem()
        _shutdown(km, kc)


_REGISTERED: set[int] = set()


def _register_exit() -> None:
    # Worker processes of a multiprocessing pool exit without running atexit handlers, but run
    # multiprocessing's finalizers (whose registry a forked child clears: register per process).
    if os.getpid() in _REGISTERED:
        return
    _REGISTERED.add(os.getpid())
    atexit.register(shutdown_kernels)
    from multiprocessing.util import Finalize

    Finalize(None, shutdown_kernels, exitpriority=10)
