"""Review kernels forked from the process that starts them (coachkit.kernel_fork): what runs in them, signals,
death with the parent, and when the fork is declined. Each case runs in a fresh single-threaded Python (the
test process has threads: it never forks a kernel)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coachkit import kernel_fork, procs

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks kernels on Linux only")

HELPER = r"""
import asyncio, json, os, sys, time
import ipykernel.kernelapp  # what a pool worker has imported: its forkserver's preload
from coachkit import engine, kernel_fork

mode, folder = sys.argv[1], sys.argv[2]
# a pool worker is forked from a server that imported everything: it runs one thread (imports start BLAS and
# jemalloc threads, which a fork leaves behind); so is this process's child
child = os.fork()
if child:
    _, status = os.waitpid(child, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
out = {"can_fork": kernel_fork.can_fork()}
if mode == "thread":
    import threading
    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
    out["can_fork_with_a_thread"] = kernel_fork.can_fork()
    print(json.dumps(out), flush=True)
    os._exit(0)


async def main():
    r, w = os.pipe()  # a pipe of this process: the kernel must not hold it
    km = engine.InterpreterKernelManager()
    await km.start_kernel(cwd=folder, env={**os.environ, "COACHKIT_TEST_VALUE": "été <x>"})
    out["forked"] = type(km.provisioner.process).__name__ == "ForkedKernel"
    out["kernel_pid"] = km.provisioner.process.pid
    out["pgid"] = km.provisioner.pgid
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    if mode == "orphan":
        print(json.dumps(out), flush=True)
        os._exit(0)  # the kernel's parent dies without shutting it down

    async def run(code):
        text = []
        hook = lambda m: text.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
        reply = await kc.execute_interactive(code, timeout=60, output_hook=hook)
        return reply["content"], "".join(text)

    code = (
        "import os, sys\n"
        "print(open('/proc/self/comm').read().strip())\n"
        "print(os.getcwd())\n"
        "print(os.environ['COACHKIT_TEST_VALUE'])\n"
        f"print(os.path.realpath('/proc/self/fd/{w}'), os.path.realpath('/proc/self/fd/{r}'))\n"
        "print(os.getpid() == os.getpgid(0), os.getppid())\n"
        "print('pandas' in sys.modules)\n"
        "import multiprocessing as mp\n"
        "print(mp.current_process().name, mp.parent_process())\n"
    )
    content, text = await run(code)
    out["status"], out["lines"] = content["status"], text.splitlines()
    out["parent"] = os.getpid()
    kc.execute("import time; time.sleep(30)")
    await asyncio.sleep(1.0)
    t = time.monotonic()
    await km.interrupt_kernel()
    reply = await kc.get_shell_msg(timeout=20)
    out["interrupt"] = [reply["content"]["status"], reply["content"].get("ename"), round(time.monotonic() - t, 1)]
    content, text = await run("print(6 * 7)")
    out["after_interrupt"] = text.strip()
    kc.stop_channels()
    await km.shutdown_kernel(now=False)
    out["alive_after"] = procs.pid_alive(out["kernel_pid"])


from coachkit import procs
asyncio.run(main())
print(json.dumps(out), flush=True)
os._exit(0)
"""


def _helper(mode: str, folder: Path, **env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", HELPER, mode, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_forked_kernel_runs_in_the_asked_folder_and_environment_holding_none_of_the_parents_pipes(
    tmp_path: Path,
) -> None:
    assert kernel_fork.available()  # the entry point is installed, so review kernels use the provisioner
    out = _helper("run", tmp_path)
    assert out["can_fork"] is True and out["forked"] is True
    comm, cwd, value, fds, session, preloaded, identity = out["lines"]
    assert out["status"] == "ok"
    assert comm == "coachkit-kernel"
    assert cwd == str(tmp_path)
    assert value == "été <x>"
    assert fds == "/dev/null /dev/null"  # the parent's pipe ends, pointed at /dev/null in the kernel
    assert session == f"True {out['parent']}"  # its own process group, a child of the process that forked it
    assert out["pgid"] == out["kernel_pid"]
    assert preloaded == "True"  # imported before the fork, not again
    assert identity == "MainProcess None"  # to multiprocessing, a main process (as a started kernel is)
    status, ename, seconds = out["interrupt"]
    assert (status, ename) == ("error", "KeyboardInterrupt") and seconds < 10
    assert out["after_interrupt"] == "42"  # the kernel goes on after an interrupt
    assert out["alive_after"] is False


def test_a_forked_kernel_dies_with_the_process_that_forked_it(tmp_path: Path) -> None:
    out = _helper("orphan", tmp_path)
    assert out["forked"] is True
    assert procs_gone(out["kernel_pid"], 10)


def procs_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not procs.pid_alive(pid):  # gone, or a zombie waiting for init
            return True
        time.sleep(0.1)
    return False


def test_no_fork_with_a_second_thread_or_when_disabled(tmp_path: Path) -> None:
    out = _helper("thread", tmp_path)
    assert out == {"can_fork": True, "can_fork_with_a_thread": False}
    out = _helper("thread", tmp_path, COACHKIT_FORK_KERNELS="0")
    assert out["can_fork"] is False
    out = _helper("run", tmp_path, COACHKIT_FORK_KERNELS="0")  # started as a new Python, as before
    assert out["forked"] is False and out["status"] == "ok" and out["lines"][0] == "python"
    assert out["lines"][2] == "été <x>" and out["after_interrupt"] == "42"


def test_forked_kernel_reports_the_exit_code_and_kills() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(0.3); sys.exit(3)"])
    kernel = kernel_fork.ForkedKernel(child.pid, ["x"])
    assert kernel.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        kernel.wait(timeout=0.05)
    assert kernel.wait(timeout=20) == 3 and kernel.poll() == 3
    kernel.kill()  # ended: nothing to signal
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    kernel = kernel_fork.ForkedKernel(child.pid, ["x"])
    kernel.send_signal(signal.SIGKILL)
    assert kernel.wait(timeout=20) == -signal.SIGKILL


def test_a_forked_kernel_that_cannot_start_says_why_on_stderr_and_exits_1(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    code = (
        "import os, sys\n"
        "from coachkit import kernel_fork\n"
        f"kernel = kernel_fork.fork_kernel(['-f', 'k.json'], dict(os.environ), cwd={str(not_a_folder)!r})\n"
        "print(kernel.wait(timeout=30))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "1"
    assert "NotADirectoryError" in proc.stderr and str(not_a_folder) in proc.stderr
