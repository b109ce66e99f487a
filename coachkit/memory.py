"""Freed memory handed back to the system: pyarrow's allocator, and glibc's while a review batch runs.

The batch process reads the dataset a few peer groups at a time (the coverage profile, the focus
pre-pass): each read allocates a few hundred MB for a moment and frees it. Two allocators then keep the
freed pages instead of returning them, so the process's resident memory climbs to the sum of its largest
reads rather than staying near the largest one (measured on the 500-rep, 52-week sample: 658 MB peak RSS,
against 474-481 MB with this module; ``benchmarks/bench_cluster.py --part memory``):

- pyarrow's default memory pool (mimalloc, in the Linux wheels) keeps pages freed by its threads: importing
  coachkit before pyarrow sets ``ARROW_DEFAULT_MEMORY_POOL=system`` (:func:`prefer_system_allocator`;
  a value already set is kept), which pyarrow reads once, when it is first imported; child processes
  (kernels, workers) inherit it. The speed is the same (``bench_kpis.py``, four alternating runs: 3.45-3.67 s
  with either pool). When pyarrow was imported first (``import pandas`` imports it), the batch still switches
  pyarrow's Python-level default to the system pool for the run (:func:`pyarrow.set_memory_pool`, restored
  afterwards; a buffer remembers its pool), which catches most of it, not all (543-558 MB instead of 474-481);
- glibc's ``malloc`` raises its mmap threshold each time a large block is freed (up to 32 MB), after which
  large arrays come from the heap, where a few live blocks pin the freed ones: the batch fixes the
  threshold at its default, 128 kB (``mallopt(M_MMAP_THRESHOLD)``), so that large arrays are mapped on
  their own and unmapped when freed. This one is process-wide and stays set after the run (glibc has no
  way back to the adjusting threshold); it makes no difference on other C libraries, where nothing is
  changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

__all__ = ["prefer_system_allocator", "returning_freed_memory", "MMAP_THRESHOLD"]

#: glibc's ``M_MMAP_THRESHOLD`` (``malloc.h``).
_M_MMAP_THRESHOLD = -3
#: Blocks of at least this many bytes are mapped on their own (glibc's default starting threshold).
MMAP_THRESHOLD = 128 * 1024


def prefer_system_allocator() -> bool:
    """Set ``ARROW_DEFAULT_MEMORY_POOL=system`` unless it is set or pyarrow is already imported; True if set.

    Called when coachkit is imported (``coachkit/__init__.py`` imports this module first).
    """
    if "pyarrow" in sys.modules or "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return False
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    return True


prefer_system_allocator()


def _fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD`; False (nothing done) on another C library."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # glibc only
            return False
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


@contextlib.contextmanager
def returning_freed_memory() -> Iterator[None]:
    """Within the block, pyarrow allocates with the system allocator and large blocks are unmapped when freed.

    See the module's docstring for why and what it measured. The previous pyarrow pool is restored on exit,
    even on an error; the glibc threshold stays fixed.
    """
    import pyarrow as pa

    previous = pa.default_memory_pool()
    _fix_mmap_threshold()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
