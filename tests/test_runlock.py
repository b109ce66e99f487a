"""The output folder's run lock: a second run refuses at once, a dead run's lock is taken over (no kernel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coachkit import runlock
from coachkit.runlock import RunLockedError

pytestmark = pytest.mark.skipif(runlock.fcntl is None, reason="flock needs fcntl (POSIX)")

HOLD = """
import sys, time
from pathlib import Path
from coachkit.runlock import acquire
lock = acquire(Path(sys.argv[1]), command="coachkit review data --out x")
print("locked", flush=True)
time.sleep(120)
"""


def _holder(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_refuses_at_once_naming_the_first(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        record = json.loads((tmp_path / ".coachkit-lock").read_text())
        assert record["pid"] == proc.pid and record["command"] == "coachkit review data --out x"
        t = time.perf_counter()
        with pytest.raises(RunLockedError) as info:
            runlock.acquire(tmp_path)
        assert time.perf_counter() - t < 1.0  # at once, no waiting
        assert str(info.value) == (
            f"another coachkit review is writing to {tmp_path} (pid {proc.pid}, started {record['started_at']}); "
            "wait for it to finish, or stop it, then run again"
        )
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_run_is_taken_over_and_says_so(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    record = json.loads((tmp_path / ".coachkit-lock").read_text())
    proc.kill()  # kill -9: no release; the OS drops the flock, the file still names the dead run
    proc.wait()
    lock = runlock.acquire(tmp_path)
    try:
        assert lock.took_over == record
        assert runlock.describe(lock.took_over) == f"pid {proc.pid}, started {record['started_at']}"
        assert json.loads((tmp_path / ".coachkit-lock").read_text())["pid"] == os.getpid()
    finally:
        lock.release()
    # a released lock names nobody: the next run takes it without a message
    assert (tmp_path / ".coachkit-lock").read_text() == ""
    with runlock.acquire(tmp_path) as again:
        assert again.took_over is None


def test_release_is_idempotent_and_the_file_stays(tmp_path: Path) -> None:
    lock = runlock.acquire(tmp_path)
    lock.release()
    lock.release()
    assert (tmp_path / ".coachkit-lock").exists()
    with runlock.acquire(tmp_path):
        pass
