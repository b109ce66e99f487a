"""The coachkit-warm papermill engine: kernel reuse, a clean namespace per notebook, crashed kernels replaced.

Probe notebooks print the kernel's state; nothing is preloaded (fast kernel starts).
The review notebook's order independence is tested in test_batch.py.
"""

from __future__ import annotations

import os
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
