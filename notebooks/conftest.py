"""nbval setup for the notebooks: `pytest notebooks/` runs every notebook and compares the cells marked
`# NBVAL_CHECK_OUTPUT` (KPI tables and figures) against their stored outputs.

Without options this defaults to `--nbval-lax --nbval-sanitize-with notebooks/nbval_sanitize.cfg`, so the
command is the same in CI and locally; explicit `--nbval` / `--nbval-lax` / `--nbval-sanitize-with` win.
Stored outputs come only from `scripts/notebooks.sh`. A notebook joins the test set by living in this folder:
its default parameters must run on data/sample with an explicit as_of (or it declares
`metadata.coachkit.test_parameters`, which scripts/notebooks.sh passes to papermill).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if not getattr(opt, "nbval", False) and not getattr(opt, "nbval_lax", False):
        opt.nbval_lax = True
    if getattr(opt, "nbval_sanitize_with", None) is None:
        opt.nbval_sanitize_with = str(HERE / "nbval_sanitize.cfg")
