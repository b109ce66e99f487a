"""KPI modules named by file path (the playbook's ``[kpis] paths``): imported without ``sys.path`` or PYTHONPATH.

A path is a ``.py`` file, or a folder whose ``*.py`` files (not starting with ``_``) are all imported, in name
order. Each file is imported under its own name (``my_kpis.py`` -> ``my_kpis``) unless another module already
has that name, then under a name made unique by the file's path; its folder is added to the end of
``sys.path`` so that it can import its sibling helper modules. A file already imported is not imported again
(its ``@coachkit.kpi`` functions are registered once).
"""

from __future__ import annotations

import importlib.util
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

__all__ = ["kpi_files", "import_kpi_files"]


def kpi_files(paths: Iterable[str | Path], *, source: str = "the playbook") -> list[Path]:
    """The ``.py`` files ``paths`` name (files, or folders of them), in order; ``ImportError`` naming ``source``,
    the path and the fix when one is missing or not Python."""
    out: list[Path] = []
    for entry in paths:
        p = Path(entry)
        if p.is_dir():
            out += sorted(f for f in p.glob("*.py") if not f.name.startswith("_"))
        elif p.is_file() and p.suffix == ".py":
            out.append(p)
        elif p.exists():
            raise ImportError(f"{source}: `kpis.paths` names {str(p)!r}, which is not a .py file or a folder of them")
        else:
            raise ImportError(
                f"{source}: `kpis.paths` names {str(p)!r}, which does not exist; paths are relative to the "
                "playbook's folder"
            )
    return list(dict.fromkeys(f.resolve() for f in out))


def _loaded(path: Path) -> ModuleType | None:
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == path:
            return module
    return None


def import_kpi_files(paths: Iterable[str | Path], *, source: str = "the playbook") -> list[ModuleType]:
    """Import the KPI modules of ``paths`` (see the module docstring); return them. Errors raised while a module
    runs become ``ImportError`` naming ``source`` and the file."""
    modules = []
    for path in kpi_files(paths, source=source):
        module = _loaded(path)
        if module is None:
            name = path.stem
            if name in sys.modules or not name.isidentifier():
                name = f"coachkit_kpis_{zlib.crc32(str(path).encode()):08x}_{path.stem}".replace("-", "_")
            folder = str(path.parent)
            if folder not in sys.path:
                sys.path.append(folder)
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:  # pragma: no cover - .py files always have a loader
                raise ImportError(f"{source}: cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise ImportError(
                    f"{source}: `kpis.paths` file {path} failed to import: {type(exc).__name__}: {exc}"
                ) from exc
        modules.append(module)
    return modules
