"""What the benchmarks share: the cache folder, a child process per measurement, peak RSS."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

#: Where generated samples are kept between runs: ``$COACHKIT_BENCH_CACHE``, else ``<tmp>/coachkit-bench``.
CACHE = Path(os.environ.get("COACHKIT_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "coachkit-bench")))


def peak_rss_bytes() -> int:
    """Peak resident set size of this process."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def child(script: str, args: list[str]) -> dict[str, float]:
    """Run ``script`` with ``args`` in a fresh Python process; the last line it prints, as JSON."""
    proc = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
