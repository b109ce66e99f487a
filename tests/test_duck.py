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
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a query works, on an instance of its own
        signal.alarm(60)  # a child stuck on the parent's instance (its threads did not survive) dies: b""
        try:
            ok = _query("SELECT 2") == [(2,)] and duck._state["con"] is not parent
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    got = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert got == b"1"
    assert duck._state["con"] is parent and _query("SELECT 3") == [(3,)]
