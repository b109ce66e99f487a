"""coachkit.memory: pyarrow's allocator chosen at import, and the batch's freed memory handed back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest

from coachkit import memory


def _fresh(code: str, **env: str) -> dict:
    """Run ``code`` in a new interpreter (pyarrow not yet imported) and return the JSON it prints last."""
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environ)
    return json.loads(out.stdout.strip().splitlines()[-1])


REPORT = (
    "import json, os, pyarrow as pa; print(json.dumps({'env': os.environ.get('ARROW_DEFAULT_MEMORY_POOL'),"
    " 'backend': pa.default_memory_pool().backend_name}))"
)


def test_importing_coachkit_first_gives_pyarrow_the_system_allocator():
    got = _fresh("import coachkit\n" + REPORT)
    assert got == {"env": "system", "backend": "system"}


def test_a_pool_the_user_chose_is_kept():
    got = _fresh("import coachkit\n" + REPORT, ARROW_DEFAULT_MEMORY_POOL="mimalloc")
    assert got == {"env": "mimalloc", "backend": "mimalloc"}


def test_pyarrow_imported_first_is_left_alone():
    got = _fresh(
        "import json, os, pyarrow, coachkit\n"
        "from coachkit.memory import prefer_system_allocator\n"
        "print(json.dumps({'again': prefer_system_allocator(), 'env': os.environ.get('ARROW_DEFAULT_MEMORY_POOL'),"
        " 'backend': pyarrow.default_memory_pool().backend_name}))"
    )
    # nothing set that pyarrow, already loaded, would never read; its own default stays
    assert got == {"again": False, "env": None, "backend": _fresh(REPORT)["backend"]}


def test_the_batch_block_switches_pyarrow_to_the_system_pool_and_restores_it():
    before = pa.default_memory_pool()
    with memory.returning_freed_memory():
        assert pa.default_memory_pool().backend_name == "system"
        kept = pa.array(range(100_000))  # allocated from the system pool inside the block
    assert pa.default_memory_pool().backend_name == before.backend_name
    assert kept.sum().as_py() == sum(range(100_000))  # still valid after the pool is switched back
    del kept


def test_the_previous_pool_comes_back_after_an_error():
    before = pa.default_memory_pool().backend_name
    with pytest.raises(RuntimeError, match="boom"), memory.returning_freed_memory():
        raise RuntimeError("boom")
    assert pa.default_memory_pool().backend_name == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_the_mmap_threshold_is_fixed_on_glibc():
    import platform

    libc, _ = platform.libc_ver()
    assert memory._fix_mmap_threshold() is (libc == "glibc")
