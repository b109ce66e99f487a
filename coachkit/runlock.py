"""One review run at a time per output folder: the lock file ``OUT/.coachkit-lock``.

:func:`acquire` takes an exclusive ``flock`` on ``OUT/.coachkit-lock`` without waiting
and writes into it who holds it (pid, host, start time, command). A second run into the
same folder fails at once with :class:`RunLockedError` naming the holder. The operating
system releases a ``flock`` when its process dies, however it dies, so a lock is never
left held by a dead process; the file stays, and the next run that takes the lock while
the file names a process that is gone reports that it took over a stale lock
(:attr:`RunLock.took_over`). The file is never removed (removing it would let a third run
lock a new file while a second still holds the old one).

Where ``fcntl`` is missing (Windows), the lock is the file's exclusive creation instead,
and a file naming a process that is no longer running is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .procs import pid_alive

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "RunLock", "RunLockedError", "acquire"]

#: The lock file's name inside the output folder.
LOCK_NAME = ".coachkit-lock"


class RunLockedError(RuntimeError):
    """Another review run holds the output folder's lock; the message names it (pid, host, start time)."""


@dataclass
class RunLock:
    """A held lock (release with :meth:`release` or as a context manager)."""

    path: Path
    fd: int | None
    holder: dict[str, Any]
    #: The previous holder's record when this run took over a stale lock (its process is gone), else None.
    took_over: dict[str, Any] | None = None

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        if fcntl is None:  # pragma: no cover - Windows
            os.close(fd)
            self.path.unlink(missing_ok=True)
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def describe(holder: dict[str, Any]) -> str:
    """``pid 1234 on host, started 2026-11-23 07:41:02 UTC`` from a lock record."""
    where = f" on {holder['host']}" if holder.get("host") and holder.get("host") != socket.gethostname() else ""
    started = str(holder.get("started_at") or "at an unknown time")
    return f"pid {holder.get('pid', '?')}{where}, started {started}"


def _read(fd_or_path: int | Path) -> dict[str, Any]:
    try:
        if isinstance(fd_or_path, int):
            os.lseek(fd_or_path, 0, os.SEEK_SET)
            raw = b""
            while chunk := os.read(fd_or_path, 65536):
                raw += chunk
        else:
            raw = fd_or_path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _record(command: str) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": command,
    }


def acquire(out: Path, command: str = "") -> RunLock:
    """Lock the output folder ``out`` (which must exist) for this run, or raise :class:`RunLockedError`.

    ``command`` is recorded for the message another run would give. Errors opening the
    file (read-only folder, permission denied) propagate as ``OSError``.
    """
    path = Path(out) / LOCK_NAME
    record = _record(command or " ".join(sys.argv))
    if fcntl is None:  # pragma: no cover - Windows
        return _acquire_exclusive(path, record)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read(fd)
        os.close(fd)
        raise RunLockedError(
            f"another coachkit review is writing to {out} ({describe(holder)}); "
            "wait for it to finish, or stop it, then run again"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    previous = _read(fd)
    took_over = previous if previous.get("pid") and previous.get("pid") != os.getpid() else None
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
    except OSError:
        os.close(fd)
        raise
    return RunLock(path, fd, record, took_over)


def _acquire_exclusive(path: Path, record: dict[str, Any]) -> RunLock:  # pragma: no cover - Windows
    took_over = None
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _read(path)
            if holder.get("pid") and pid_alive(int(holder["pid"])):
                raise RunLockedError(
                    f"another coachkit review is writing to {path.parent} ({describe(holder)}); "
                    "wait for it to finish, or stop it, then run again"
                ) from None
            took_over = holder
            path.unlink(missing_ok=True)
            continue
        os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
        return RunLock(path, fd, record, took_over)
    raise RunLockedError(f"could not take the lock {path}; remove it if no coachkit review is running")
