"""Child-process control for a review run: a tag on every process of the run, no orphans, clean stops.

A review run (:func:`coachkit.batch.run_reviews`) starts processes: the worker pool's
forkserver and its workers, multiprocessing's resource tracker, and one or more Jupyter
kernels per worker. This module makes sure none of them outlives the run:

* **A tag.** The run sets :data:`RUN_ENV` (``COACHKIT_RUN=<tag>``) in its environment
  before it starts any child, and each worker sets it again (a forkserver started by an
  earlier run in the same process carries that run's environment); kernels inherit it.
  :func:`tagged_processes` lists the live processes carrying a tag (Linux ``/proc``,
  else psutil when installed): the tests count the run's processes with it.
* **Death with the parent.** :func:`die_with_parent` asks the kernel to SIGKILL the
  calling process when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), and exits at
  once if the parent is already gone (the race between fork and the ``prctl`` call).
  On other POSIX systems a daemon thread polls ``getppid()`` twice a second instead.
  The chain: the batch dies -> its forkserver -> the workers -> their kernels
  (:func:`kernel_launch_code` does it first thing in a kernel, before ipykernel is even
  imported). The resource tracker exits by itself when the last process holding its
  pipe is gone.
* **Clean stops.** :func:`stop_signals` turns SIGINT and SIGTERM in the batch into
  :class:`Interrupted` (exit codes 130 and 143) so that ``finally`` blocks run: the pool is
  stopped (:func:`stop_pool`), kernels are shut down, the staging folder is removed.
  Pool workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group; the
  batch alone decides); on SIGTERM (from :func:`stop_pool`) a worker kills its kernels,
  removes their connection files and exits at once (:func:`worker_init`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "PARENT_ENV",
    "RUN_ENV",
    "Interrupted",
    "Workers",
    "die_with_parent",
    "kernel_launch_code",
    "pid_alive",
    "run_pool",
    "run_tag",
    "stop_pool",
    "stop_signals",
    "tagged_environment",
    "tagged_processes",
    "worker_init",
]

#: Environment variable tagging every process of a run: ``COACHKIT_RUN=<tag>``.
RUN_ENV = "COACHKIT_RUN"
#: Environment variable naming the batch process's pid, for the pool's forkserver (:mod:`coachkit._forkserver`).
PARENT_ENV = "COACHKIT_BATCH_PID"

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.5


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT: Ctrl-C, or SIGTERM); ``exit_code`` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM: what a shell reports for a process killed by that signal."""
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        """``SIGINT`` or ``SIGTERM``."""
        return signal.Signals(self.signum).name

    def __str__(self) -> str:
        return f"interrupted by {self.signal_name}"


def run_tag() -> str:
    """A tag unique to this run on this machine: ``<pid>-<start time in ns>``."""
    return f"{os.getpid()}-{time.time_ns()}"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (on POSIX; a zombie counts as gone)."""
    if pid <= 0:
        return False
    if sys.platform.startswith("linux"):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prctl_pdeathsig(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(expected_parent: int | None = None) -> None:
    """End this process (SIGKILL) when its parent dies; exit now if the parent is not ``expected_parent``.

    ``expected_parent`` is the pid the parent had when it started this process; when
    ``os.getppid()`` differs, the parent died before this call and the process was
    adopted: it exits with status 1. On Linux this uses ``prctl(PR_SET_PDEATHSIG,
    SIGKILL)``; elsewhere a daemon thread polls ``getppid()`` every 0.5 s.
    """
    parent = os.getppid() if expected_parent is None else int(expected_parent)
    armed = _prctl_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), name="coachkit-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


@contextlib.contextmanager
def tagged_environment(tag: str) -> Iterator[None]:
    """Within the block, this process's environment carries the run's tag (:data:`RUN_ENV`) and pid (:data:`PARENT_ENV`).

    Every child started in the block inherits them; the previous values are restored after.
    """
    saved = {k: os.environ.get(k) for k in (RUN_ENV, PARENT_ENV)}
    os.environ[RUN_ENV], os.environ[PARENT_ENV] = tag, str(os.getpid())
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def kernel_launch_code(parent: int) -> str:
    """Python source that a review kernel runs first (``python -c``), then starts ipykernel.

    It dies with ``parent`` (the process starting the kernel) as :func:`die_with_parent`
    does, without importing coachkit, then runs ipykernel as ``python -m
    ipykernel_launcher`` would (the current directory removed from ``sys.path``).
    """
    return (
        "import os, signal, sys\n"
        f"parent = {int(parent)}\n"
        "if sys.platform.startswith('linux'):\n"
        "    import ctypes\n"
        "    try:\n"
        f"        ctypes.CDLL(None, use_errno=True).prctl({_PR_SET_PDEATHSIG}, int(signal.SIGKILL), 0, 0, 0)\n"
        "    except (OSError, AttributeError):\n"
        "        pass\n"
        "else:\n"
        "    import threading, time\n"
        "    def watch():\n"
        "        while os.getppid() == parent:\n"
        f"            time.sleep({_POLL_SECONDS})\n"
        "        os._exit(1)\n"
        "    threading.Thread(target=watch, daemon=True).start()\n"
        "if os.getppid() != parent:\n"
        "    os._exit(1)\n"
        "if sys.path and sys.path[0] in ('', os.getcwd()):\n"
        "    del sys.path[0]\n"
        "del os, signal, sys, parent\n"
        "from ipykernel import kernelapp\n"
        "kernelapp.launch_new_instance()\n"
    )


def worker_init(tag: str, batch_pid: int, forkserver: bool, env: Mapping[str, str] | None = None) -> None:
    """Initializer of a pool worker: the run's tag, death with its parent, SIGINT ignored, SIGTERM: kernels killed, exit.

    The worker's parent is the forkserver (``forkserver``: its pid is recorded by
    :mod:`coachkit._forkserver`) or, with the ``spawn`` start method, the batch process ``batch_pid``.
    ``env``: set in the worker's environment (its kernels inherit it).
    """
    os.environ[RUN_ENV] = tag
    os.environ.update(env or {})
    if forkserver:
        # coachkit._forkserver was imported by the forkserver (its preload) and is inherited by the fork
        server = sys.modules.get("coachkit._forkserver")
        die_with_parent(getattr(server, "SERVER_PID", None))  # None (not recorded): the current parent
    else:
        die_with_parent(batch_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)


#: Called, in order, when a pool worker is told to stop (SIGTERM) just before it exits; the kernel engine
#: registers its ``kill_kernels`` here (so this module does not import the engine).
TERM_HOOKS: list[Callable[[], None]] = []


def _exit_on_term(signum: int, frame: Any) -> None:
    # Exit now, without unwinding through nbclient's event loop: kill this worker's kernels
    # (their connection files removed) and go. The batch records the rep as not done.
    for hook in TERM_HOOKS:
        try:
            hook()
        except Exception:
            pass
    os._exit(128 + signum)


class _Signals:
    """What :func:`stop_signals` yields: :meth:`held` defers a signal until a critical step is done."""

    def __init__(self) -> None:
        self.fired: list[int] = []
        self.holding = 0
        self.pending: int | None = None

    def handler(self, signum: int, frame: Any) -> None:
        if self.fired:  # a second signal while the first is handled: let the cleanup finish
            return
        if self.holding:
            self.pending = signum
            return
        self.fired.append(signum)
        raise Interrupted(signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Within the block a signal is recorded, not raised; it is raised when the block ends."""
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1
        if not self.holding and self.pending is not None and not self.fired:
            signum, self.pending = self.pending, None
            self.fired.append(signum)
            raise Interrupted(signum)


@contextlib.contextmanager
def stop_signals() -> Iterator[_Signals]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (main thread only; elsewhere they are left alone).

    Yields an object whose ``held()`` context defers a signal to the end of a step that must
    not be cut half-way (publishing). A second signal while the first is handled is ignored.
    """
    state = _Signals()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {s: signal.signal(s, state.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def stop_pool(pool: Any, grace: float = 10.0) -> None:
    """Stop a ``ProcessPoolExecutor`` now: cancel what has not started, SIGTERM the workers, SIGKILL the late ones.

    On SIGTERM a worker kills its kernels and exits (:func:`worker_init`); a kernel whose
    worker is killed dies with it anyway (its parent-death signal).
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())  # None once shut down
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + grace
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
    for p in processes:
        with contextlib.suppress(Exception):
            if p.is_alive():
                p.kill()
                p.join(1.0)


def tagged_processes(tag: str) -> list[int]:
    """Pids of the live processes whose environment holds ``COACHKIT_RUN=<tag>`` (not this process)."""
    needle = f"{RUN_ENV}={tag}".encode()
    me = os.getpid()
    found: list[int] = []
    if sys.platform.startswith("linux"):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                env = Path(entry.path, "environ").read_bytes()
            except OSError:
                continue
            if needle in env.split(b"\0") and pid_alive(int(entry.name)):
                found.append(int(entry.name))
        return sorted(found)
    try:
        import psutil
    except ImportError:  # pragma: no cover - non-Linux without psutil
        return []
    for proc in psutil.process_iter():  # pragma: no cover - non-Linux
        with contextlib.suppress(psutil.Error):
            if proc.pid != me and proc.environ().get(RUN_ENV) == tag:
                found.append(proc.pid)
    return sorted(found)


def _start_method() -> str:
    """The pool's start method: ``forkserver`` where the system has it, else ``spawn`` (never ``fork``)."""
    import multiprocessing as mp

    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


class Workers:
    """A pool of worker processes, each its own one-process ``ProcessPoolExecutor``, so that a task can be sent to
    the worker of one's choice (:func:`run_pool` keeps each peer group on one worker) and a worker that dies takes
    only its own task with it.

    ``executors``: one per worker. ``shutdown`` and ``_processes`` are those of a ``ProcessPoolExecutor``, over all
    of them (for :func:`stop_pool`).
    """

    def __init__(self, executors: Sequence[Any]) -> None:
        self.executors = list(executors)

    @property
    def _processes(self) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for ex in self.executors:
            out |= getattr(ex, "_processes", None) or {}
        return out

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut every worker down (``ProcessPoolExecutor.shutdown``): all told at once, then (``wait``) waited for
        until they have exited (each shuts its kernel down first)."""
        # what shutdown(wait=True) joins; shutdown(wait=False) forgets it
        managers = [getattr(ex, "_executor_manager_thread", None) for ex in self.executors]
        for ex in self.executors:
            ex.shutdown(wait=False, cancel_futures=cancel_futures)
        if wait:
            for manager in managers:
                if manager is not None:
                    manager.join()


def new_pool(n_workers: int, tag: str, preload: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Workers:
    """A :class:`Workers` pool of ``n_workers`` processes carrying ``tag`` (and ``env`` in their environment) and
    dying with this process (:func:`worker_init`); with the ``forkserver`` start method (where available) the server
    imports ``preload`` once and dies with this process too (:mod:`coachkit._forkserver`). Its processes start with
    the first tasks."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = _start_method()
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["coachkit._forkserver", *preload])
    init = (tag, os.getpid(), method == "forkserver", dict(env or {}))
    return Workers(
        ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=worker_init, initargs=init)
        for _ in range(n_workers)
    )


@contextlib.contextmanager
def warm_pool(
    n_workers: int,
    tag: str,
    preload: Sequence[str] = (),
    warm: Callable[[], Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """A pool (:func:`new_pool`) started now, for :func:`run_pool` to run the tasks prepared meanwhile: each of its
    ``n_workers`` processes is sent ``warm()`` at once (e.g. a kernel start), so that it runs while the caller
    prepares the tasks. With the ``forkserver`` start method the workers are started from a thread (the server's
    imports take about a second), so the caller goes on at once. What ``warm`` raises is ignored (the first task
    meets the same error and reports it). Leaving the block stops the pool and its forkserver; when :func:`run_pool`
    has already shut them down, there is nothing left to stop."""
    pool = new_pool(n_workers, tag, preload, env)

    def start() -> None:
        if warm is None:
            return
        with contextlib.suppress(Exception):
            for worker in pool.executors:
                worker.submit(warm)

    starting = threading.Thread(target=start, name="coachkit-pool-start", daemon=True)
    if _start_method() == "forkserver":
        # The server is started here, in this thread: a process started from a thread gets its parent-death signal
        # when that thread ends (prctl), and the server must live as long as the batch. The workers are the
        # server's children, so the thread may start them.
        from multiprocessing import forkserver

        forkserver.ensure_running()
        starting.start()
    else:  # spawn: the workers are this process's own children, started from this thread
        start()
    try:
        yield pool
    finally:
        if starting.is_alive():
            starting.join()
        stop_pool(pool)
        _stop_forkserver()


def run_pool(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    n_workers: int,
    tag: str,
    preload: Sequence[str] = (),
    pool: Workers | None = None,
    group: Callable[[Any], Any] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Run ``fn(task)`` for each task in a pool of ``n_workers`` processes; yield ``(task, result)`` as each finishes.

    ``result`` is the exception ``fn`` raised, or the ``BrokenProcessPool`` error when the worker process itself
    died: that worker is dropped and the other workers go on with the rest (when none is left, every task not run
    gets that error). The pool is ``pool`` (e.g. from :func:`warm_pool`) or a new one (:func:`new_pool`: its
    workers carry ``tag`` and die with this process, and with the ``forkserver`` start method the server imports
    ``preload`` once and dies with this process too).

    **Peer groups stay on one worker.** ``group(task)`` (default: one group) names the task's group, e.g. the
    rep's peer group: a worker runs the tasks of one group, in their order, before it takes another, so that what
    a warm kernel keeps for a group (:func:`coachkit.review.team_tables`, :func:`coachkit.batch.load_for_review`)
    is computed once per group, not once per worker. A free worker takes the largest group nobody has started;
    when there is none, it takes the last task of the group with the most tasks left, so that no worker idles
    while tasks wait. Each worker has one task at a time.

    Closing the generator before the end (an exception, :class:`Interrupted`) stops the pool at once
    (:func:`stop_pool`); at the end the pool is shut down normally (workers shut their kernels down as they exit).
    Either way the forkserver is stopped too: no process of the pool outlives it.
    """
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    if pool is None:
        pool = new_pool(n_workers, tag, preload)
    plan = _GroupPlan(tasks, group)
    finished = False
    try:
        running: dict[Any, tuple[int, Any]] = {}  # future -> (worker, task)

        def give(w: int) -> None:  # the worker's next task, if any is left
            task = plan.next_for(w)
            if task is not None:
                running[pool.executors[w].submit(fn, task)] = (w, task)

        for w in range(len(pool.executors)):
            give(w)
        broken: BaseException | None = None
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                w, task = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:  # the worker died: it gets no other task
                    result = broken = exc
                except Exception as exc:
                    result = exc
                if not isinstance(result, BrokenProcessPool):
                    give(w)  # before the caller handles this result: the worker does not wait for it
                yield task, result
        for task in plan.rest():  # only when every worker died
            yield task, broken
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            stop_pool(pool)
        _stop_forkserver()


class _GroupPlan:
    """Which task each worker runs next (see :func:`run_pool`): the groups' tasks in order, a group per worker."""

    def __init__(self, tasks: Sequence[Any], group: Callable[[Any], Any] | None) -> None:
        from collections import deque

        self.groups: dict[Any, deque[Any]] = {}
        for task in tasks:
            self.groups.setdefault(None if group is None else group(task), deque()).append(task)
        self.current: dict[int, Any] = {}  # worker -> its group
        self.started: set[Any] = set()
        self.one_queue = group is None

    def next_for(self, worker: int) -> Any:
        """The next task for ``worker``, or None when no task is left."""
        if self.one_queue:  # no groups: every worker takes the next task in order
            queue = self.groups.get(None)
            return queue.popleft() if queue else None
        mine = self.current.get(worker)
        if mine is not None and self.groups[mine]:
            return self.groups[mine].popleft()
        fresh = [g for g, q in self.groups.items() if q and g not in self.started]
        if fresh:
            g = max(fresh, key=lambda g: len(self.groups[g]))  # the first of the largest
            self.current[worker] = g
            self.started.add(g)
            return self.groups[g].popleft()
        left = [g for g, q in self.groups.items() if q]
        if not left:
            return None
        g = max(left, key=lambda g: len(self.groups[g]))
        return self.groups[g].pop()  # from the end: the group's own worker keeps its order

    def rest(self) -> list[Any]:
        """Every task not handed out yet (and none left after)."""
        out = [t for q in self.groups.values() for t in q]
        for q in self.groups.values():
            q.clear()
        return out


def _stop_forkserver() -> None:
    """Stop multiprocessing's forkserver, started for this run's pool (the next pool starts a new one).

    Otherwise it would outlive the run in a long-lived process (a notebook, a test session),
    still carrying the run's tag. Uses the method CPython's own tests use; skipped where absent.
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is not None:
        # Killed first: stopped by closing its pipe, the server would exit through the interpreter's full
        # finalization, some 0.7 s with the modules it preloads, while the batch waits. Its workers are gone
        # by now, and it holds nothing to clean up (``_stop`` removes its socket file).
        pid = getattr(server, "_forkserver_pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            stop()
