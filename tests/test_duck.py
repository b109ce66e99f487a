"""The process's DuckDB instance (:mod:`coachkit.duck`): one per process, a cursor per query, a fresh one after fork."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from coachkit import duck


def _query(sql: str):
    cur = duck.cursor()
    try:
        return cur.sql(sql).fetchall()
    finally:
        cur.close()


def test_cursors_share_one_instance_with_its_memory_limit():
    a = duck.cursor()
    first = duck._state["con"]
    b = duck.cursor()
    try:
        assert duck._state["con"] is first  # no new connection for the second cursor
        limit = b.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert duck.MEMORY_LIMIT == "3GB" and limit.replace(" ", "") in ("2.7GiB", "2.8GiB", "3.0GB", "3GB")
    finally:
        a.close()
        b.close()


def test_literal_quotes_single_quotes():
    assert duck.literal("it's") == "'it''s'"
    assert _query(f"SELECT {duck.literal(chr(39) + 'x' + chr(39))}") == [("'x'",)]


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="fork: Linux only")
def test_a_forked_child_opens_its_own_instance():
    assert _query("SELECT 1") == [(1,)]  # the parent's instance exists before the fork
    parent = duck._state["con"]
    # the child: a query works, on an instance of its own
    assert _in_forked_child(lambda: _query("SELECT 2") == [(2,)] and duck._state["con"] is not parent)
    assert duck._state["con"] is parent and _query("SELECT 3") == [(3,)]


def _in_forked_child(check) -> bool:
    """``check()`` in a forked child; False when it fails or the child is stuck (killed after 60 s)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)  # a child stuck (e.g. on the parent's instance, whose threads did not survive) dies: b""
        try:
            os.write(write, b"1" if check() else b"0")
        finally:
            os._exit(0)
    os.close(write)
    got = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    return got == b"1"


@pytest.mark.parametrize(("env", "expected"), [("1", 1), ("2", 2), ("", None), ("zero", None)])
def test_the_instance_runs_the_threads_the_environment_asks_for(env: str, expected: int | None) -> None:
    import subprocess

    code = "from coachkit import duck; c = duck.cursor(); print(c.sql(\"SELECT current_setting('threads')\").fetchall()[0][0])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ, **{duck.THREADS_ENV: env}), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    default = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb; print(duckdb.connect().sql(\"SELECT current_setting('threads')\").fetchall()[0][0])",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert int(out.stdout) == (expected if expected is not None else int(default))


def test_the_batch_gives_each_kernel_its_share_of_the_cores(monkeypatch) -> None:
    from coachkit import batch

    monkeypatch.delenv(duck.THREADS_ENV, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert batch._kernel_env(2) == {duck.THREADS_ENV: "4"}
    assert batch._kernel_env(3) == {duck.THREADS_ENV: "2"}
    assert batch._kernel_env(16) == {duck.THREADS_ENV: "1"}  # never 0
    monkeypatch.setenv(duck.THREADS_ENV, "6")
    assert batch._kernel_env(2) == {}  # the user's own setting is kept (inherited as it is)


def test_open_soon_opens_the_instance_once_in_the_background() -> None:
    import subprocess

    code = (
        "import threading, time\n"
        "from coachkit import duck\n"
        "opened = []\n"
        "real = duck._open\n"
        "duck._open = lambda: opened.append(threading.current_thread().name) or (time.sleep(0.2), real())[1]\n"
        "duck.open_soon(); duck.open_soon()\n"  # the second call starts nothing
        "c = duck.cursor()\n"  # waits for the opening under way
        "print(c.sql('SELECT 41 + 1').fetchall()[0][0], opened)\n"
        "duck.open_soon()\n"  # already open: nothing
        "print(len(opened))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["42 ['coachkit-duckdb-open']", "1"]


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="fork: Linux only")
def test_a_child_forked_while_another_thread_holds_the_lock_can_query():
    with duck._lock:  # as if a background opening held it at the fork: a child stuck on it fails
        assert _in_forked_child(lambda: _query("SELECT 1") == [(1,)])
