"""Command-line paths checked with coachkit's own reasons, instead of click's ``Path(exists=True)``.

click says "does not exist" (exit 2) for a symbolic-link loop and lets a denied permission surface later
as a traceback. :class:`InputPath` checks an input path when the command line is parsed and stops with
one line (exit 1) that says why it cannot be read and what to do, with the reasons of
:mod:`coachkit.files` (``coachkit validate`` gives the same ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .files import PATH_KINDS, path_problem

__all__ = ["InputPath"]


class InputPath(click.ParamType):
    """A click parameter type for an input path of ``kind`` (:func:`coachkit.files.path_problem`), as a Path.

    A path that cannot be read stops the command with ``Error: PATH: reason`` (exit 1).
    """

    name = "path"

    def __init__(self, kind: str) -> None:
        if kind not in PATH_KINDS:
            raise ValueError(f"kind must be one of {', '.join(PATH_KINDS)}, got {kind!r}")
        self.kind = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        problem = path_problem(path, self.kind)
        if problem is not None:
            raise click.ClickException(f"{path}: {problem}")
        return path
