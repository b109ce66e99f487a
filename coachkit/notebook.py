"""What every coachkit notebook does first: find the dataset, load it, fix the window, set up display.

Notebooks run from two places: nbval starts the kernel in the notebook's folder
(``notebooks/``), papermill and JupyterLab wherever they are started. A relative
``data`` path is therefore tried from the working directory first and then from the
repository root (:data:`REPO_ROOT`), so the default ``"data/sample"`` works for both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "REPO_ROOT",
    "SAMPLE_DIR",
    "resolve_path",
    "open_data",
    "as_of_date",
    "setup",
    "install_display",
    "rounded",
]

#: The checkout holding the ``coachkit`` package (the editable install's repository).
REPO_ROOT: Path = Path(__file__).resolve().parents[1]
#: The committed sample dataset.
SAMPLE_DIR: Path = REPO_ROOT / "data" / "sample"


def resolve_path(path: str | Path, *, what: str = "data") -> Path:
    """``path`` if it exists; else, when relative, the same path under :data:`REPO_ROOT`.

    Raises ``FileNotFoundError`` naming both places tried.
    """
    p = Path(path).expanduser()
    if p.exists():
        return p
    if not p.is_absolute() and (REPO_ROOT / p).exists():
        return REPO_ROOT / p
    tried = f"{p.resolve()}" + ("" if p.is_absolute() else f" and {REPO_ROOT / p}")
    raise FileNotFoundError(f"{what}: {str(path)!r} not found (tried {tried})")


def open_data(data: str | Path, playbook: str | Path | None = None) -> Any:
    """The performed activities of the dataset at ``data`` (folder or ``.duckdb``), via :func:`coachkit.load.load`
    and :meth:`coachkit.SalesData.performed`, paths resolved as above.

    ``playbook`` (empty or None: the dataset's own) replaces the dataset's playbook. Activities whose ``done`` is
    false (to-dos an importer kept) are left out, so every view, chart and table of a notebook shows effort only.
    """
    from .load import load

    pb = resolve_path(playbook, what="playbook") if playbook else None
    return load(resolve_path(data), playbook=pb).performed()


def as_of_date(as_of: Any, activities: pd.DataFrame) -> pd.Timestamp:
    """``as_of`` as a midnight timestamp; empty means the date of the latest activity."""
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        latest = activities["occurred_at"].max() if len(activities) else pd.NaT
        if pd.isna(latest):
            raise ValueError("the dataset has no activities, so as_of cannot default to the latest activity date")
        return pd.Timestamp(latest).normalize()
    try:
        return pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"as_of must be a date like 2026-11-22, got {as_of!r}") from exc


def setup() -> None:
    """Offline, deterministic display: charts interactive in JupyterLab and stored as SVG, tables of bounded size.

    Charts use :func:`coachkit.charts.enable_interactive` (Altair's renderer ``"coachkit"``): JupyterLab
    draws them with its own Vega (tooltips, hover; no CDN), nbconvert and nbval use the SVG beside it.
    """
    from .charts import enable_interactive

    enable_interactive()
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)


#: Where Altair's chart classes live (their common base), for IPython's deferred type lookup.
_ALTAIR_CHART_TYPES = (("altair.vegalite.v6.api", "TopLevelMixin"), ("altair.vegalite.v5.api", "TopLevelMixin"))


def _chart_bundle(chart: Any) -> Any:
    """Display an Altair chart: with coachkit's offline renderer unless the user chose another one."""
    import altair as alt

    from .charts import enable_interactive

    if alt.renderers.active == "default":  # Altair's own needs a CDN or a frontend that knows Vega-Lite 6
        enable_interactive()
    return chart._repr_mimebundle_()


def install_display() -> bool:
    """In a Jupyter kernel, make Altair charts display offline without any call: done by ``import coachkit``.

    Registers a display hook for Altair's chart classes by name (Altair is not imported until a chart is
    shown): the first chart shown switches Altair's renderer to coachkit's (:func:`setup`'s), unless a
    renderer was chosen explicitly (e.g. ``alt.renderers.enable("svg")``), which is then kept. Returns
    whether a kernel was found (nothing is done outside Jupyter, e.g. in scripts and tests).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipykernel
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    formatter = shell.display_formatter.mimebundle_formatter
    for module, name in _ALTAIR_CHART_TYPES:
        formatter.for_type_by_name(module, name, _chart_bundle)
    return True


def rounded(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``frame`` with float columns rounded for display (stable text across runs and platforms)."""
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(digits) for c in floats})
