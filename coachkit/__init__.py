"""coachkit: measure a sales team's selling activities and link effort to feedback.

The public API is re-exported here; see ``__all__``.
"""

from __future__ import annotations

from . import (
    memory,  # noqa: F401  (first, before pyarrow is imported: its allocator; coachkit.memory)
    stats,
)
from .coaching import coaching_focus
from .dataset import SalesData
from .feedback import effort_feedback, feedback_themes
from .importers import (
    ExportError,
    ImportReport,
    ImportResult,
    import_csv,
    import_hubspot,
    import_pipedrive,
    import_salesforce,
)
from .kpis import KpiInput, kpi, kpi_table, list_kpis, registry
from .load import DataError, Issue, ValidationReport, load, load_reps, validate
from .notebook import install_display as _install_display
from .playbook import Playbook, PlaybookError
from .sample import sample, sample_personas

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "ExportError",
    "ImportReport",
    "ImportResult",
    "Issue",
    "KpiInput",
    "Playbook",
    "PlaybookError",
    "SalesData",
    "ValidationReport",
    "__version__",
    "coaching_focus",
    "effort_feedback",
    "feedback_themes",
    "import_csv",
    "import_hubspot",
    "import_pipedrive",
    "import_salesforce",
    "kpi",
    "kpi_table",
    "list_kpis",
    "load",
    "load_reps",
    "registry",
    "sample",
    "sample_personas",
    "stats",
    "validate",
]

# In a Jupyter kernel, charts display offline from the first one on (nothing happens elsewhere).
_install_display()
