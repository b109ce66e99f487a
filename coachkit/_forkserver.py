"""Imported by the review pool's forkserver (first in its preload, :data:`coachkit.batch.POOL_PRELOAD`): it dies with the batch.

The forkserver is started by multiprocessing with no hook of ours but its preload list, so
importing this module is the hook: when the environment names the batch process
(:data:`coachkit.procs.PARENT_ENV`) and that process is this one's parent, the forkserver
records its pid (:data:`SERVER_PID`, inherited by the workers it forks, which check it in
:func:`coachkit.procs.worker_init`), arms :func:`coachkit.procs.die_with_parent` and skips rfc3987_syntax
(:func:`coachkit.engine.skip_rfc3987_syntax`).
Imported anywhere else, it does nothing.
"""

from __future__ import annotations

import os

from .engine import skip_rfc3987_syntax
from .procs import PARENT_ENV, die_with_parent

#: This forkserver's pid, when this process is the review pool's forkserver; else None.
SERVER_PID: int | None = None

_parent = os.environ.get(PARENT_ENV, "")
if _parent.isdigit() and int(_parent) == os.getppid():
    SERVER_PID = os.getpid()
    die_with_parent(int(_parent))
    skip_rfc3987_syntax()  # before the rest of the preload (papermill, nbconvert): about 1.9 s less to start
