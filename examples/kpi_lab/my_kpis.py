"""An analyst's KPI experiment: calls per active day.

Promote it by naming this file in the playbook's ``[kpis] paths`` (see ``playbook.toml`` beside this file;
paths are relative to the playbook, no PYTHONPATH needed): from then on ``coachkit.kpi_table`` computes it,
and it appears in explore and in the rep reviews, without editing coachkit. Worked through in
``notebooks/kpi_lab.ipynb``.
"""

from __future__ import annotations

import numpy as np

import coachkit.kpis as kpis


@kpis.kpi("calls_per_active_day", label="Calls per active day", unit="calls/day", kind="mean")
def calls_per_active_day(inp: kpis.KpiInput):
    """Number of activities of type call / number of distinct calendar dates with at least one activity (of
    any type), per rep and period (numerator = calls, denominator = active days; NaN with no active day)."""
    calls = inp.count(inp.is_type("call"))
    days = inp.value("active_days")
    return inp.frame(numerator=calls, denominator=np.asarray(days, dtype="float64"))
