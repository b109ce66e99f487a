#!/usr/bin/env bash
# Regenerate the stored outputs of the notebooks (the ONLY way they are produced; never by hand).
#
#   scripts/notebooks.sh                       # every notebooks/*.ipynb
#   scripts/notebooks.sh notebooks/explore.ipynb ...
#
# Each notebook is executed by papermill in the `python3` kernel with the working directory notebooks/ (as nbval
# runs it), on its default parameters (data/sample, an explicit as_of) plus, if present, the parameters in its
# metadata `coachkit.test_parameters` (e.g. rep_review's rep_id). The result replaces the notebook atomically and
# only on success; volatile metadata (papermill timestamps and durations, widget state) is stripped so that a
# re-run produces the same file. Then `pytest --nbval-lax notebooks/` checks them (see notebooks/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
exec "$PY" - "$@" <<'PYTHON'
import os
import sys
import time
from pathlib import Path

import nbformat
import papermill

root = Path.cwd()
paths = [Path(p) for p in sys.argv[1:]] or sorted((root / "notebooks").glob("*.ipynb"))
failed = []
for path in paths:
    path = path.resolve()
    nb = nbformat.read(path, as_version=4)
    params = nb.metadata.get("coachkit", {}).get("test_parameters", {})
    tmp = path.with_name(f".{path.stem}.running.ipynb")
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path), str(tmp), parameters=params, cwd=str(path.parent), kernel_name="python3",
            progress_bar=False, execution_timeout=300, extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except Exception as exc:  # keep the stored notebook; show what failed
        failed.append(path.name)
        print(f"FAILED {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        continue
    out = nbformat.read(tmp, as_version=4)
    out.metadata.pop("widgets", None)
    out.metadata.setdefault("papermill", {})
    out.metadata["papermill"] = {"parameters": out.metadata["papermill"].get("parameters", {})}
    for cell in out.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(out, tmp)
    os.replace(tmp, path)
    print(f"{path.relative_to(root)}: {time.perf_counter() - t0:.1f} s")
sys.exit(1 if failed else 0)
PYTHON
