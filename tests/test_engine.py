"""The coachkit-warm papermill engine: kernel reuse, a clean namespace per notebook, crashed kernels replaced.

Probe notebooks print the kernel's state; nothing is preloaded (fast kernel starts).
The review notebook's order independence is tested in test_batch.py.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

from coachkit import engine
from coachkit.batch import execute_notebook

pytestmark = pytest.mark.slow

STATE = (
    "import os, sys, warnings\n"
    "print(os.getpid(), 'leak' in globals(), os.environ.get('CK_LEAK'), '/ck-leak' in sys.path, os.getcwd(),"
    " len(warnings.filters), 'altair' in sys.modules and sys.modules['altair'].renderers.active,"
    " 'altair' in sys.modules and sys.modules['altair'].utils.schemapi.DEBUG_MODE)"
)
DIRTY = (
    'if step == "dirty":\n'
    "    import altair as alt\n"
    "    leak = 1\n"
    "    os.environ['CK_LEAK'] = '1'\n"
    "    sys.path.append('/ck-leak')\n"
    "    os.chdir('/')\n"
    "    warnings.simplefilter('error')\n"
    "    alt.renderers.enable('json')\n"
    "    alt.utils.schemapi.disable_debug_mode()\n"
    'if step == "crash":\n'
    "    os._exit(1)\n"
    'if step == "slow":\n'
    "    import time; time.sleep(60)\n"
)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    nb = new_notebook(
        cells=[
            new_code_cell('step: str = "clean"', metadata={"tags": ["parameters"]}),
            new_code_cell("import altair  # imported before the state is printed, as the review does"),
            new_code_cell(STATE),
            new_code_cell(DIRTY),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path_factory.mktemp("nb") / "probe.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def warm(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine, "PRELOAD", ())
    engine.shutdown_kernels()
    yield
    engine.shutdown_kernels()


def _run(probe: Path, tmp_path: Path, step: str, timeout: float = 60) -> tuple[str, list]:
    nb = execute_notebook(probe, tmp_path / f"{step}.ipynb", {"step": step}, timeout=timeout, isolation="warm")
    state = nb.cells[3].outputs[0]["text"].strip()  # cell 0 is papermill's injected parameters
    return state, [c.get("execution_count") for c in nb.cells]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_notebook_gets_a_clean_namespace_in_the_same_kernel(probe: Path, tmp_path: Path, warm) -> None:
    first, counts = _run(probe, tmp_path, "clean")
    dirty, dirty_counts = _run(probe, tmp_path, "dirty")
    after, after_counts = _run(probe, tmp_path, "clean")
    pid = int(first.split()[0])
    assert first.split()[1:4] == ["False", "None", "False"]
    assert first.split()[-2:] == ["default", "True"]
    # same kernel, and what "dirty" did (a variable, env, sys.path, cwd, warnings, altair renderer and debug mode) is gone
    assert dirty == first and after == first
    assert counts == dirty_counts == after_counts == [1, 2, 3, 4, 5]  # execution counts restart at 1
    assert _alive(pid)
    engine.shutdown_kernels()
    time.sleep(0.5)
    assert not _alive(pid)


def test_a_crashed_kernel_fails_only_its_notebook(probe: Path, tmp_path: Path, warm) -> None:
    before, _ = _run(probe, tmp_path, "clean")
    with pytest.raises(DeadKernelError):
        _run(probe, tmp_path, "crash")
    after, _ = _run(probe, tmp_path, "clean")
    assert after.split()[1:] == before.split()[1:]
    assert after.split()[0] != before.split()[0]  # a new kernel replaced the dead one


def test_a_timed_out_kernel_is_replaced(probe: Path, tmp_path: Path, warm) -> None:
    before, _ = _run(probe, tmp_path, "clean")
    with pytest.raises(CellTimeoutError):
        _run(probe, tmp_path, "slow", timeout=3)
    old = int(before.split()[0])
    after, _ = _run(probe, tmp_path, "clean")
    assert int(after.split()[0]) != old and after.split()[1:] == before.split()[1:]
    time.sleep(0.5)
    assert not _alive(old)  # the busy kernel was shut down, not left running


# ---------------------------------------------------------------- which Python the kernels run


@pytest.fixture(scope="module")
def which(tmp_path_factory: pytest.TempPathFactory) -> Path:
    nb = new_notebook(cells=[new_code_cell("import sys\nprint(sys.executable)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path_factory.mktemp("nb") / "which.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("isolation", ["warm", "fresh"])
def test_kernels_run_this_interpreter_whatever_python3_kernelspec_the_user_has(
    which: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolation: str
) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = ["/nonexistent/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Other", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    # the shadow is real: Jupyter itself would start /nonexistent/python3 for this notebook
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == "/nonexistent/python3"
    engine.shutdown_kernels()
    try:
        nb = execute_notebook(which, tmp_path / "out.ipynb", {}, timeout=60, isolation=isolation)
    finally:
        engine.shutdown_kernels()
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.executable


@pytest.mark.parametrize("isolation", ["warm", "fresh"])
def test_a_kernel_that_does_not_start_is_an_error_naming_the_interpreter(
    which: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolation: str
) -> None:
    broken = tmp_path / "site" / "ipykernel"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('a broken ipykernel')")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))  # the kernel's Python imports this ipykernel
    engine.shutdown_kernels()
    try:
        with pytest.raises(engine.KernelStartError) as info:
            execute_notebook(which, tmp_path / "out.ipynb", {}, timeout=60, isolation=isolation)
    finally:
        engine.shutdown_kernels()
    message = str(info.value)
    assert message.startswith(f"the review kernel did not start with the Python running coachkit, {sys.executable} ")
    assert message.endswith(f"check that `{sys.executable} -m ipykernel --version` works")
    assert "\n" not in message and engine._LIVE == {}


def test_a_kernel_start_failure_is_the_reps_error_in_the_run(
    which: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from coachkit import SalesData, batch

    data = tmp_path / "data"
    reps = pd.DataFrame({"rep_id": ["R1"]})
    acts = pd.DataFrame({"activity_id": ["a"], "rep_id": ["R1"], "activity_type": "call"})
    SalesData.from_frames(acts.assign(occurred_at=pd.Timestamp("2024-06-20")), reps).save(data, "parquet")
    broken = tmp_path / "site" / "ipykernel"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('a broken ipykernel')")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    result = batch.run_reviews(data, tmp_path / "out", workers=1, quiet=True, notebook=which, isolation="fresh")
    err = result.failed["R1"]
    assert (err["type"], err["kind"]) == ("KernelStartError", "kernel start") and sys.executable in err["message"]
    assert (
        f"FAILED 'R1': KernelStartError: the review kernel did not start with the Python running coachkit, {sys.executable}"
        in result.summary()
    )


def test_the_kernel_freezes_what_it_started_with_and_still_collects_each_notebook_s_garbage(
    tmp_path: Path, warm
) -> None:
    # prepare_kernel freezes the objects the kernel holds after its imports, so that IPython's reset (a full
    # collection before each notebook) skips them; a reference cycle a notebook leaves is still collected.
    code = (
        "import gc, sys, weakref\n"
        "class Node: pass\n"
        "if step == 'make':\n"
        "    a = Node(); a.me = a; sys._ck_probe = weakref.ref(a)\n"
        "gc.collect()\n"
        "print(gc.get_freeze_count() > 1000, getattr(sys, '_ck_probe', lambda: 'none')() is None)"
    )
    nb = new_notebook(
        cells=[new_code_cell('step: str = "make"', metadata={"tags": ["parameters"]}), new_code_cell(code)]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "cycle.ipynb"
    nbformat.write(nb, path)
    outs = []
    for step in ("make", "check"):
        got = execute_notebook(path, tmp_path / f"{step}.ipynb", {"step": step}, timeout=60, isolation="warm")
        outs.append(got.cells[2].outputs[0]["text"].split())
    assert outs[0] == ["True", "False"]  # frozen at the start; the cycle is alive while its notebook holds it
    assert outs[1] == ["True", "True"]  # the next notebook: the cycle was collected


def test_kernels_talk_over_unix_sockets_of_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # TCP ports picked by jupyter_client can be taken by another process's kernel before this one binds them
    # (the kernel then dies at start); each kernel gets socket paths of its own instead, removed at shutdown.
    import tempfile

    short = Path(tempfile.mkdtemp(prefix="ck", dir="/tmp"))  # pytest's tmp_path is too long for a socket path
    monkeypatch.setattr(tempfile, "tempdir", str(short))
    manager = engine._classes()["InterpreterKernelManager"]
    a, b = manager(), manager()
    assert a.transport == b.transport == "ipc"
    assert a.ip.startswith(str(short / "coachkit-kernel-")) and a.ip != b.ip
    short.rmdir()
    long = tmp_path / ("d" * 90)
    monkeypatch.setattr(tempfile, "tempdir", str(long))
    assert engine.ipc_prefix() is None and manager().transport == "tcp"  # a socket path that long cannot be bound
    assert manager(transport="tcp").ip == "127.0.0.1"


def test_a_kernel_s_sockets_are_gone_after_its_notebook(probe: Path, tmp_path: Path, monkeypatch, warm) -> None:
    import tempfile

    sockets = Path(tempfile.mkdtemp(prefix="ck", dir="/tmp"))  # pytest's tmp_path is too long for a socket path
    monkeypatch.setattr(tempfile, "tempdir", str(sockets))
    state, _ = _run(probe, tmp_path, "clean")
    made = sorted(p.name for p in sockets.iterdir() if p.name.startswith("coachkit-kernel-"))
    assert [n.rsplit("-", 1)[1] for n in made] == ["1", "2", "3", "4", "5"]  # the warm kernel's, in use
    engine.shutdown_kernels()
    assert not any(sockets.iterdir())
    sockets.rmdir()


def test_a_new_kernel_starts_duckdb_and_vl_convert_before_its_first_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    import vl_convert

    from coachkit import duck

    drawn = []
    real = vl_convert.vegalite_to_svg
    monkeypatch.setattr(vl_convert, "vegalite_to_svg", lambda spec, *a, **k: drawn.append(real(spec, *a, **k)))
    monkeypatch.setitem(duck._state, "pid", None)  # as in a kernel just forked or started
    engine._start_runtimes()
    assert duck._state["pid"] == os.getpid() and duck._state["con"] is not None
    assert len(drawn) == 1 and drawn[0].startswith("<svg") and ">x</text>" in drawn[0]  # an axis label: fonts loaded

    def broken(*args, **kwargs):
        raise RuntimeError("no runtime")

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", broken)
    engine._start_runtimes()  # left to the first review, which reports it
