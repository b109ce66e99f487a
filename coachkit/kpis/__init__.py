"""KPIs: exact definitions, one long table, and an ``@kpi`` registry analysts can extend.

Every KPI is a function registered with :func:`kpi`. Its docstring is its exact
definition (``coachkit kpis`` prints it). :func:`kpi_table` computes KPIs per rep
and calendar period on a grid of every rep x every period they were employed in,
and adds 95% Wilson intervals to rates.

A KPI function receives a :class:`KpiInput` and returns a DataFrame indexed by
(``rep_id``, ``period_start``) with either a ``value`` column or ``numerator`` and
``denominator`` columns (then value = numerator / denominator, NaN when the
denominator is 0). Rows missing from the result are filled on the grid: 0 for
count and sum KPIs, numerator = denominator = 0 (value NaN) for ratios, NaN otherwise.

Example of an analyst's KPI module (named in the playbook's ``[kpis] modules``)::

    import coachkit

    @coachkit.kpi("voicemails", label="Voicemails", unit="calls", kind="count")
    def voicemails(inp):
        \"\"\"calls with outcome voicemail\"\"\"
        a = inp.activities
        hit = a[(a.activity_type == "call") & (a.outcome == "voicemail")]
        return hit.groupby(["rep_id", "period_start"]).size().to_frame("value")

The package holds one idea per module: :mod:`~coachkit.kpis.registry` (``@kpi``, the registry and what each KPI
reads), :mod:`~coachkit.kpis.periods` (calendar periods), :mod:`~coachkit.kpis.input` (:class:`KpiInput` and the
rep x period grid), :mod:`~coachkit.kpis.table` (:func:`kpi_table`), and the built-ins with their definitions:
:mod:`~coachkit.kpis.activity_kpis` (most defined in SQL, :mod:`coachkit.kpi_sql`),
:mod:`~coachkit.kpis.deal_kpis` and :mod:`~coachkit.kpis.score`. Everything public is importable from
``coachkit.kpis`` itself.
"""

from __future__ import annotations

from .input import KpiInput
from .periods import period_start
from .registry import FREQS, KINDS, KpiDef, import_kpi_modules, kpi, kpi_columns, list_kpis, registry
from .table import TABLE_COLUMNS, kpi_table

# The built-in KPIs register themselves, in this order (activities, deals, then the score built on them).
from . import activity_kpis, deal_kpis, score  # noqa: F401  isort: skip

__all__ = [
    "KINDS",
    "FREQS",
    "TABLE_COLUMNS",
    "KpiDef",
    "KpiInput",
    "registry",
    "kpi",
    "kpi_table",
    "list_kpis",
    "period_start",
    "import_kpi_modules",
    "kpi_columns",
]
