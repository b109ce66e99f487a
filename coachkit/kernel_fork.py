"""Review kernels forked from the process that starts them, which has imported what a kernel needs (Linux).

A review kernel normally starts as a new Python (``python -c <code> -f <connection file>``, see
:func:`coachkit.engine.interpreter_kernel_spec`) that imports ipykernel, pandas, altair, statsmodels and coachkit
again: about 2 s of CPU per kernel, on a machine whose cores the reviews already keep busy. A review pool's
workers are forked from a server that has imported all of it once (:data:`coachkit.batch.POOL_PRELOAD`), so a
worker can fork its kernel instead: the kernel then starts with those modules already in memory, shared
copy-on-write.

:class:`ForkProvisioner` (the ``coachkit-fork`` kernel provisioner of jupyter_client, registered as an entry
point) forks when :func:`can_fork` says it is safe: on Linux, with ipykernel imported, from a process running a
single thread (a fork copies no other thread: one holding a lock would leave it held forever in the kernel, and a library
whose threads are gone would wait for them).
Otherwise it starts the kernel as before (jupyter_client's ``LocalProvisioner``). Set ``COACHKIT_FORK_KERNELS=0``
to never fork.

The forked kernel is what the started one would be, as far as the review can tell:

- its own session and process group (as jupyter_client's ``start_new_session``), so an interrupt or a kill
  reaches it and its children only;
- killed when the process that forked it dies (``prctl(PR_SET_PDEATHSIG)``, as :func:`coachkit.procs.die_with_parent`);
- the environment and working directory jupyter_client asks for, default signal handlers, no event loop;
- stdin from ``/dev/null``, stdout and stderr those of its parent; every other file descriptor it inherited is
  pointed at ``/dev/null`` (not closed: an object of the parent's that still holds the number may close it
  later, and a number reused meanwhile would be closed under the kernel), so it holds no pipe of the pool;
- named ``coachkit-kernel`` (``/proc/<pid>/comm``, what ``ps`` and ``top`` show; its command line is its
  parent's);
- it ends with ``os._exit``, without the parent's exit handlers.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FORK_ENV", "PROVISIONER_NAME", "ForkedKernel", "available", "can_fork", "fork_kernel"]

#: ``COACHKIT_FORK_KERNELS=0`` in the environment: never fork a kernel.
FORK_ENV = "COACHKIT_FORK_KERNELS"
#: The provisioner's entry point name (``jupyter_client.kernel_provisioners``).
PROVISIONER_NAME = "coachkit-fork"
#: What a forked kernel is called in ``/proc/<pid>/comm`` (15 bytes at most).
KERNEL_NAME = b"coachkit-kernel"


def available() -> bool:
    """Whether jupyter_client can find the provisioner (coachkit installed with its entry points)."""
    from importlib.metadata import entry_points

    return any(ep.name == PROVISIONER_NAME for ep in entry_points(group="jupyter_client.kernel_provisioners"))


def can_fork() -> bool:
    """Whether a kernel can be forked from this process now: Linux, not disabled, ipykernel imported, and the
    process runs one thread, native ones counted (``/proc/self/task``): no DuckDB, vl-convert, ZeroMQ or BLAS
    thread whose state the fork would copy without the thread. A pool worker, itself just forked, runs one; the
    batch process, which has run queries, does not, and starts its kernel as a new Python."""
    if not sys.platform.startswith("linux") or os.environ.get(FORK_ENV, "1") == "0":
        return False
    if "ipykernel.kernelapp" not in sys.modules:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


class ForkedKernel:
    """The forked kernel process, with the part of ``subprocess.Popen`` jupyter_client uses."""

    def __init__(self, pid: int, args: Sequence[str]) -> None:
        self.pid = pid
        self.args = list(args)
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None

    def _reap(self, flags: int) -> int | None:
        if self.returncode is not None:
            return self.returncode
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # reaped elsewhere: gone, its status unknown
            self.returncode = -1
            return self.returncode
        if pid == 0:
            return None
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        """The exit code when the kernel has ended (a signal: minus its number), else None."""
        return self._reap(os.WNOHANG)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to end; its exit code."""
        if timeout is None:
            code = self._reap(0)
            assert code is not None
            return code
        import time

        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() >= deadline:
                import subprocess

                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.01)
        return code

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the kernel (nothing once it has ended)."""
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def fork_kernel(argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None) -> ForkedKernel:
    """Fork this process into an ipykernel run with ``argv`` (``["-f", "<connection file>", ...]``, what follows
    ``-c <code>`` in the kernelspec's command), ``env`` and ``cwd``; the caller checked :func:`can_fork`."""
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the kernel: never returns
        code = 1
        try:
            code = _kernel(list(argv), dict(env), cwd, parent)
        except BaseException:  # as a started kernel would: the traceback on stderr, exit status 1
            try:
                import traceback

                traceback.print_exc()
                sys.stderr.flush()
            except BaseException:
                pass
        finally:
            os._exit(code)
    return ForkedKernel(pid, [sys.executable, *argv])


def _kernel(argv: list[str], env: dict[str, str], cwd: str | None, parent: int) -> int:
    from .procs import die_with_parent

    os.setsid()
    die_with_parent(parent)
    _name_process()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it at start
    signal.set_wakeup_fd(-1)
    _inherited_fds_to_devnull()
    _forget_parent_state()
    os.environ.clear()
    os.environ.update(env)
    if cwd:
        os.chdir(cwd)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    sys.argv = [sys.executable, *argv]
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance(argv=argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass
    return 0


def _name_process() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, KERNEL_NAME, 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _inherited_fds_to_devnull() -> None:
    """stdin from /dev/null; every inherited descriptor above 2 pointed at /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    fds = [int(fd) for fd in os.listdir("/proc/self/fd")]  # the listing's own descriptor is closed by now
    for fd in fds:
        if fd > 2 and fd != null:
            try:
                os.dup2(null, fd)
            except OSError:
                pass
    os.close(null)


def _forget_parent_state() -> None:
    """What the parent ran that the kernel must not touch: its event loop, its kernels, its multiprocessing
    identity (the kernel is a main process, as a started one; multiprocessing's resource tracker and forkserver
    of its own, started when a notebook needs them)."""
    import asyncio

    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop_policy(None)
    engine = sys.modules.get("coachkit.engine")
    if engine is not None:
        engine._KERNELS.clear()
        engine._LIVE.clear()
    try:  # multiprocessing's own state (private names; what its fork start method resets, and a new identity)
        import multiprocessing.process as mp_process
        from multiprocessing import forkserver, resource_tracker, util

        util._finalizer_registry.clear()
        mp_process._current_process = mp_process._MainProcess()
        mp_process._parent_process = None
        mp_process._children = set()
        resource_tracker._resource_tracker._fd = None
        resource_tracker._resource_tracker._pid = None
        server = forkserver._forkserver
        server._forkserver_address = server._forkserver_alive_fd = server._forkserver_pid = None
        server._inherited_fds = None
    except (AttributeError, ImportError):
        pass


def provisioner_class() -> type:
    """:class:`ForkProvisioner`, built on first use (jupyter_client is imported only then)."""
    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
        """jupyter_client's local provisioner, forking the kernel from this process when :func:`can_fork`."""

        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            cwd = kwargs.get("cwd")
            if not can_fork() or "-c" not in cmd[:4] or kwargs.get("env") is None or (cwd and not os.path.isdir(cwd)):
                # (a folder that is not there: the start fails now, as jupyter_client reports it)
                return await super().launch_kernel(cmd, **kwargs)
            # ipykernel read JPY_PARENT_PID when it was imported (here, before this kernel's environment): say it
            argv = [*cmd[cmd.index("-c") + 2 :], f"--IPKernelApp.parent_handle={os.getpid()}"]
            env = dict(kwargs["env"])
            env.setdefault("JPY_PARENT_PID", str(os.getpid()))
            self.process = fork_kernel(argv, env, kwargs.get("cwd"))
            self.pid = self.pgid = self.process.pid
            self.cwd = kwargs.get("cwd") or os.getcwd()
            return self.connection_info

    return ForkProvisioner


def __getattr__(name: str) -> Any:
    if name == "ForkProvisioner":
        cls = provisioner_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
