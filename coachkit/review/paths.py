"""Paths given to the review notebook, made absolute (:func:`resolve_path`)."""

from __future__ import annotations

from pathlib import Path


def resolve_path(path: str | Path) -> Path:
    """A dataset or playbook path given to the review notebook, made absolute.

    An absolute path is kept. A relative one is tried against the current directory (the batch
    and ``papermill`` run from wherever they are started), then against the repository's
    ``notebooks/`` folder (where Jupyter and ``pytest --nbval`` run the notebook), so that the
    default ``../data/sample`` works from both. The first that exists wins; else the path as given
    relative to the current directory (and loading it reports that it is missing).
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    for base in (Path.cwd(), Path(__file__).resolve().parents[2] / "notebooks"):
        if (base / p).exists():
            return (base / p).resolve()
    return (Path.cwd() / p).resolve()
