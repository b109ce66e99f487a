"""The KPI registry: :func:`kpi` registers a function as a KPI (its docstring is the exact definition), and the
helpers that read it (:func:`kpi_columns`, :func:`list_kpis`, :func:`import_kpi_modules`)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import schema
from ..playbook import Playbook

__all__ = ["KINDS", "FREQS", "KpiDef", "registry", "kpi", "kpi_columns", "list_kpis", "import_kpi_modules"]

#: ``score``: averages.
KINDS: tuple[str, ...] = ("count", "rate", "sum", "mean", "score")
#: Period frequencies: day, week (starting Monday), calendar month.
FREQS: tuple[str, ...] = ("D", "W", "M")

#: A KPI function: takes a :class:`coachkit.kpis.KpiInput` (not imported here: the input module imports this
#: registry) and returns a frame or series on its grid.
KpiFunc = Callable[[Any], pd.DataFrame | pd.Series]


@dataclass(frozen=True)
class KpiDef:
    """A registered KPI: its name, how to show it, its exact definition and the function computing it."""

    name: str
    label: str
    unit: str
    kind: str
    higher_is_better: bool
    description: str
    definition: str
    func: KpiFunc
    #: table -> the columns the KPI reads (rep_id, occurred_at and the tables' required columns aside); None: it
    #: may read any column. :func:`kpi_columns` collects them for ``load(columns=...)``.
    columns: dict[str, tuple[str, ...]] | None = None
    #: For KPIs defined in SQL (:mod:`coachkit.kpi_sql`): output (``value``, or ``numerator`` and
    #: ``denominator``) -> aggregate expression over the activities view, per rep and period.
    sql: dict[str, str] | None = None


#: KPI name -> :class:`KpiDef`, in registration order (built-ins first).
registry: dict[str, KpiDef] = {}


def kpi(
    name: str,
    *,
    label: str,
    unit: str,
    kind: str,
    higher_is_better: bool = True,
    description: str = "",
    columns: dict[str, Iterable[str]] | Iterable[str] | None = None,
    sql: dict[str, str] | None = None,
) -> Callable[[KpiFunc], KpiFunc]:
    """Register the decorated function as the KPI ``name``.

    ``kind`` is one of count, rate, sum, mean or score (see :data:`KINDS`). The function's docstring is
    the KPI's exact definition and is required. Registering a name again replaces
    the earlier KPI (so re-running a notebook cell, or an analyst's module
    overriding a built-in, just works). The function is returned unchanged.

    ``columns`` declares what the KPI reads: activities columns (a list), or table -> columns; None (the
    default) means any column, so ``load(columns=kpi_columns([...]))`` then reads everything. ``sql`` defines
    the KPI by SQL aggregate expressions over the activities (see :mod:`coachkit.kpi_sql`): ``{"value": ...}``
    or ``{"numerator": ..., "denominator": ...}``; the function then returns ``inp.sql_result(name)``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"KPI name must be a Python-identifier-like string such as 'calls', got {name!r}")
    if kind not in KINDS:
        raise ValueError(f"KPI {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")

    def register(func: KpiFunc) -> KpiFunc:
        doc = inspect.getdoc(func)
        if not doc or not doc.strip():
            raise ValueError(f"KPI {name!r}: the function needs a docstring stating the KPI's exact definition")
        definition = " ".join(doc.split())
        cols = None
        if columns is not None:
            asked = dict(columns) if isinstance(columns, dict) else {"activities": columns}
            cols = {t: (c,) if isinstance(c, str) else tuple(c) for t, c in asked.items()}
        registry[name] = KpiDef(
            name, label, unit, kind, bool(higher_is_better), description, definition, func, cols, sql
        )
        return func

    return register


def kpi_columns(kpis: Iterable[str] | str | None = None) -> dict[str, tuple[str, ...]] | None:
    """What :func:`coachkit.load` must read for ``kpis`` (default: every registered KPI): table -> columns, for
    ``load(source, columns=kpi_columns([...]))``; None when one of them may read any column (load everything).

    The activities' rep_id and occurred_at (periods) are always included.
    """
    names = list(registry) if kpis is None else [kpis] if isinstance(kpis, str) else list(kpis)
    out: dict[str, list[str]] = {"activities": ["rep_id", "occurred_at"]}
    for name in names:
        if name not in registry:
            raise KeyError(f"unknown KPI {name!r}; known: {', '.join(registry)}")
        cols = registry[name].columns
        if cols is None:
            return None
        for table, names_ in cols.items():
            out.setdefault(table, []).extend(names_)
    return {t: tuple(dict.fromkeys(c)) for t, c in out.items()}


def _check_columns(data: Any, names: Sequence[str]) -> None:
    """A clear error when ``data`` was loaded without a column one of the KPIs ``names`` reads."""
    read = getattr(data, "columns_read", None)
    if read is None:
        return
    for name in names:
        cols = registry[name].columns
        if cols is None:
            raise ValueError(
                f"KPI {name!r} may read any column, but the data was loaded with only some columns (load(columns=...)); "
                "load it without columns=, or give the KPI's columns in @kpi(columns=...)"
            )
        for table, needed in cols.items():
            missing = [c for c in needed if c not in read.get(table, ())]
            if missing:
                raise ValueError(
                    f"KPI {name!r} reads {table} column(s) {', '.join(missing)}, which were not loaded; "
                    f"load with columns=coachkit.kpis.kpi_columns([...]) naming this KPI, or without columns="
                )


def list_kpis() -> pd.DataFrame:
    """The registered KPIs: name, label, unit, kind, higher_is_better and definition (one row each)."""
    rows = [(d.name, d.label, d.unit, d.kind, d.higher_is_better, d.definition) for d in registry.values()]
    out = pd.DataFrame(rows, columns=["name", "label", "unit", "kind", "higher_is_better", "definition"])
    for col in ("name", "label", "unit", "kind", "definition"):
        out[col] = out[col].astype(schema.STRING)
    return out.astype({"higher_is_better": bool})


def import_kpi_modules(playbook: Playbook) -> None:
    """Import the playbook's ``[kpis] modules`` and ``paths`` so that their ``@kpi`` functions register."""
    from ..kpi_files import import_kpi_files

    import_kpi_files(getattr(playbook, "kpi_paths", ()), source=playbook.source)
    for module in playbook.kpi_modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ImportError(
                f"{playbook.source}: `kpis.modules` names {module!r}, which cannot be imported: "
                f"{type(exc).__name__}: {exc}. Check the module name and that its folder is on sys.path."
            ) from exc
