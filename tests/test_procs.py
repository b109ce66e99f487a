"""Child-process control: tagged children, death with the parent, clean stops, the worker pool (no kernel)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from coachkit import procs
from coachkit.procs import Interrupted

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes through /proc")

CHILD = """
import os, sys, time
sys.path[:0] = {path!r}
from coachkit.procs import die_with_parent
if {guard}:
    die_with_parent({expected})
print(os.getpid(), flush=True)
time.sleep(60)
"""

MIDDLE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(60)
"""


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if procs.pid_alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if procs.pid_alive(p)]


def _chain(guard: bool, tag: str) -> tuple[subprocess.Popen, int]:
    """A middle process with a child; the child arms die_with_parent when ``guard``. Returns (middle, child pid)."""
    code = CHILD.format(path=sys.path, guard=guard, expected="os.getppid()")
    env = dict(os.environ, **{procs.RUN_ENV: tag})
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, code], stdout=subprocess.PIPE, text=True, env=env)
    assert middle.stdout is not None
    return middle, int(middle.stdout.readline())


def test_a_child_dies_with_its_parent_and_an_unguarded_one_does_not() -> None:
    tag = procs.run_tag()
    guarded, g_child = _chain(True, tag + "-g")
    unguarded, u_child = _chain(False, tag + "-u")
    try:
        assert procs.tagged_processes(tag + "-g") == sorted([guarded.pid, g_child])
        for middle in (guarded, unguarded):
            middle.kill()  # kill -9: no cleanup of any kind in the parent
            middle.wait()
        assert _wait_gone([g_child], 5) == []
        assert procs.tagged_processes(tag + "-g") == []
        assert procs.pid_alive(u_child)  # the control: without the guard the child is orphaned
        assert procs.tagged_processes(tag + "-u") == [u_child]
    finally:
        for pid in (g_child, u_child):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_child_whose_parent_is_already_gone_exits_at_once() -> None:
    code = CHILD.format(path=sys.path, guard=True, expected="os.getppid() + 1")  # not its parent: it was adopted
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and res.stdout == ""


def test_the_kernel_launch_code_checks_its_parent_before_importing_ipykernel() -> None:
    wrong = subprocess.run(
        [sys.executable, "-c", procs.kernel_launch_code(os.getpid() + 1), "--version"], capture_output=True, timeout=60
    )
    assert wrong.returncode == 1 and wrong.stdout == b""
    right = subprocess.Popen(
        [sys.executable, "-c", procs.kernel_launch_code(os.getpid()), "--version"], stdout=subprocess.PIPE, text=True
    )
    out, _ = right.communicate(timeout=60)
    import IPython

    assert right.returncode == 0 and out.strip() == IPython.__version__  # the kernel app's --version


def test_signals_become_interrupted_and_a_held_step_finishes_first() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info:
        with procs.stop_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted well before
    assert (info.value.signum, info.value.exit_code, str(info.value)) == (signal.SIGTERM, 143, "interrupted by SIGTERM")
    assert signal.getsignal(signal.SIGTERM) is before  # restored

    steps = []
    with pytest.raises(Interrupted) as info:
        with procs.stop_signals() as signals:
            with signals.held():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
                steps.append("published")  # not cut half-way
            steps.append("after")  # never reached: the signal is raised when the held step ends
    assert steps == ["published"] and info.value.exit_code == 130 and isinstance(info.value, KeyboardInterrupt)


def _whoami(seconds: float) -> tuple[int, str | None]:
    time.sleep(seconds)
    return os.getpid(), os.environ.get(procs.RUN_ENV)


def test_the_pool_workers_carry_the_tag_and_are_gone_after_the_run() -> None:
    tag = procs.run_tag()
    with procs.tagged_environment(tag):
        results = list(procs.run_pool(_whoami, [0.0, 0.2, 0.0], 2, tag))
    assert sorted(t for t, _ in results) == [0.0, 0.0, 0.2]
    assert {env for _, (_, env) in results} == {tag}
    workers = {pid for _, (pid, _) in results}
    assert 1 <= len(workers) <= 2 and os.getpid() not in workers
    assert _wait_gone(list(workers), 10) == []
    assert os.environ.get(procs.RUN_ENV) != tag  # the environment is restored


def test_closing_the_pool_early_stops_its_workers_at_once() -> None:
    tag = procs.run_tag()
    with procs.tagged_environment(tag):
        results = procs.run_pool(_whoami, [0.0, 30.0, 30.0, 30.0], 2, tag)
        _, (first, _) = next(results)
        t = time.perf_counter()
        results.close()  # what an exception or Ctrl-C in the batch does
    assert time.perf_counter() - t < 10
    assert _wait_gone([first], 10) == []
    # all gone but multiprocessing's resource tracker, which serves this (long-lived) test process as a
    # whole and exits with it; in `coachkit review` it is the batch's, counted by the kill -9 test
    left = [Path(f"/proc/{p}/cmdline").read_bytes() for p in procs.tagged_processes(tag)]
    assert [c for c in left if b"resource_tracker" not in c] == []


def _mark_warm(folder: str) -> None:
    time.sleep(0.5)  # long enough that the other worker takes the other warm call
    Path(folder, str(os.getpid())).write_text("warm")


def _wait_files(folder: Path, n: int, seconds: float) -> int:
    """How many files ``folder`` holds once it holds ``n``, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while len(list(folder.iterdir())) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(list(folder.iterdir()))


def _warmed(folder: str) -> tuple[int, bool]:
    return os.getpid(), Path(folder, str(os.getpid())).is_file()


def test_a_warm_pool_warms_each_worker_and_runs_the_tasks_in_them(tmp_path: Path) -> None:
    tag = procs.run_tag()
    with procs.tagged_environment(tag), procs.warm_pool(2, tag, warm=partial(_mark_warm, str(tmp_path))) as pool:
        # the caller prepares the tasks meanwhile: both workers run warm() before any task is sent
        assert _wait_files(tmp_path, 2, 60) == 2
        results = list(procs.run_pool(_warmed, [str(tmp_path)] * 4, 2, tag, pool=pool))
    workers = {int(p.name) for p in tmp_path.iterdir()}
    assert {pid for _, (pid, _) in results} <= workers  # the tasks ran in the warmed workers
    assert all(warm for _, (_, warm) in results)
    assert _wait_gone(list(workers), 10) == []


def test_leaving_a_warm_pool_before_the_tasks_stops_its_workers(tmp_path: Path) -> None:
    tag = procs.run_tag()
    with pytest.raises(RuntimeError, match="before the reviews"):
        with procs.tagged_environment(tag), procs.warm_pool(2, tag, warm=partial(_mark_warm, str(tmp_path))):
            _wait_files(tmp_path, 2, 60)
            raise RuntimeError("an error before the reviews")
    workers = [int(p.name) for p in tmp_path.iterdir()]
    assert len(workers) == 2
    assert _wait_gone(workers, 10) == []
    left = [Path(f"/proc/{p}/cmdline").read_bytes() for p in procs.tagged_processes(tag)]
    assert [c for c in left if b"resource_tracker" not in c] == []


def _plan_order(tasks: list[tuple[str, int]], workers: int, turns: list[int]) -> list[tuple[int, tuple[str, int]]]:
    """What each worker of ``turns`` (in that order) is given by the pool's plan, until it gives nothing."""
    plan = procs._GroupPlan(tasks, lambda t: t[0])
    out = []
    for w in turns:
        task = plan.next_for(w)
        if task is not None:
            out.append((w, task))
    return out


def test_the_plan_keeps_a_group_on_one_worker_and_lets_a_free_worker_take_the_end_of_the_largest() -> None:
    tasks = [("A", 1), ("A", 2), ("A", 3), ("B", 1), ("B", 2), ("C", 1)]
    # each worker takes the largest group nobody has started (A, then B), runs it in order, then C is left
    assert _plan_order(tasks, 2, [0, 1, 0, 1, 0, 1, 0, 1]) == [
        (0, ("A", 1)),
        (1, ("B", 1)),
        (0, ("A", 2)),
        (1, ("B", 2)),
        (0, ("A", 3)),
        (1, ("C", 1)),
    ]
    # no group left to start: the free worker takes the last task of the group with most left, its owner keeps order
    tasks = [("A", 1), ("A", 2), ("A", 3), ("A", 4), ("B", 1)]
    assert _plan_order(tasks, 2, [0, 1, 1, 0, 1, 0, 1]) == [
        (0, ("A", 1)),
        (1, ("B", 1)),
        (1, ("A", 4)),
        (0, ("A", 2)),
        (1, ("A", 3)),
    ]
    # the largest group first, ties in the order given
    assert _plan_order([("A", 1), ("B", 1), ("B", 2), ("C", 1), ("C", 2)], 3, [0, 1, 2]) == [
        (0, ("B", 1)),
        (1, ("C", 1)),
        (2, ("A", 1)),
    ]
    # without groups every worker takes the next task in order
    plan = procs._GroupPlan([1, 2, 3], None)
    assert [plan.next_for(w) for w in (1, 0, 1, 0)] == [1, 2, 3, None]
    assert procs._GroupPlan([], None).next_for(0) is None


def _group_task(task: tuple[str, float, str]) -> int:
    group, seconds, what = task
    if what == "die":
        os._exit(3)  # the worker process dies (an out-of-memory kill, a crash)
    time.sleep(seconds)
    return os.getpid()


def _nothing() -> None:
    return None


def test_the_pool_runs_each_group_on_one_worker() -> None:
    tag = procs.run_tag()
    tasks = [(g, 0.4, "ok") for g in ("A", "A", "A", "B", "B", "B")]
    with procs.tagged_environment(tag), procs.warm_pool(2, tag, warm=_nothing) as pool:
        time.sleep(1.0)  # both workers up before the tasks, so that neither runs ahead
        results = list(procs.run_pool(_group_task, tasks, 2, tag, pool=pool, group=lambda t: t[0]))
    assert len(results) == 6
    by_group = {g: {pid for (tg, _, _), pid in results if tg == g} for g in ("A", "B")}
    assert all(len(pids) == 1 for pids in by_group.values()) and by_group["A"] != by_group["B"]


def test_a_worker_that_dies_takes_only_its_own_task_with_it() -> None:
    from concurrent.futures.process import BrokenProcessPool

    tag = procs.run_tag()
    tasks = [("A", 0.0, "die"), ("A", 0.0, "ok"), ("B", 0.3, "ok"), ("B", 0.3, "ok")]
    with procs.tagged_environment(tag):
        results = list(procs.run_pool(_group_task, tasks, 2, tag, group=lambda t: t[0]))
    got = dict((task, result) for task, result in results if task[2] == "die")
    assert isinstance(got[("A", 0.0, "die")], BrokenProcessPool)
    ok = [result for task, result in results if task[2] == "ok"]
    assert len(ok) == 3 and all(isinstance(pid, int) for pid in ok) and len(set(ok)) == 1  # the other worker ran them
    # every worker dead: the tasks not run get the error
    results = list(procs.run_pool(_group_task, [("A", 0.0, "die"), ("A", 0.0, "ok")], 1, tag, group=lambda t: t[0]))
    assert [type(r) for _, r in results] == [BrokenProcessPool, BrokenProcessPool]


def _slow_exit_marker(folder: str) -> None:
    time.sleep(0.3)  # a worker shutting its kernel down as it exits
    Path(folder, f"exited-{os.getpid()}").write_text("clean")


def _register_exit_marker(folder: str) -> int:
    from multiprocessing.util import Finalize

    if not getattr(_register_exit_marker, "done", False):
        Finalize(None, _slow_exit_marker, args=(folder,), exitpriority=10)
        _register_exit_marker.done = True  # type: ignore[attr-defined]
    return os.getpid()


def test_the_run_ends_once_every_worker_has_exited_cleanly(tmp_path: Path) -> None:
    tag = procs.run_tag()
    with procs.tagged_environment(tag):
        results = list(procs.run_pool(_register_exit_marker, [str(tmp_path)] * 4, 2, tag))
    workers = {pid for _, pid in results}
    # waited for: each worker ran its exit handlers before the pool was done (not killed with its forkserver)
    assert {p.name for p in tmp_path.iterdir()} == {f"exited-{pid}" for pid in workers}
