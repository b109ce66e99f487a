"""CRM importers: turn a Salesforce, HubSpot, Pipedrive or any CSV export into a canonical dataset.

Each importer reads an export folder and returns an :class:`ImportResult`
(``.data``: a :class:`coachkit.SalesData`; ``.report``: an :class:`ImportReport`).
Write the dataset with ``result.data.save(folder, format)``. Missing required
data raises :class:`ExportError` naming the file, row, column and value.
:func:`draft_mapping` profiles CSV files and writes a commented draft mapping.
The click group for ``coachkit import`` lives in :mod:`coachkit.importers.cli`.
"""

from __future__ import annotations

from .common import CrmMapping, ExportError, ImportOptions, ImportReport, ImportResult
from .hubspot import import_hubspot
from .mapping import import_csv, read_mapping
from .pipedrive import import_pipedrive
from .salesforce import import_salesforce

__all__ = [
    "CrmMapping",
    "ExportError",
    "ImportOptions",
    "ImportReport",
    "ImportResult",
    "import_csv",
    "import_hubspot",
    "import_pipedrive",
    "import_salesforce",
    "read_mapping",
]
