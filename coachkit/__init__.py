"""coachkit: measure a sales team's selling activities and link effort to feedback.

The public API is re-exported here; see ``__all__``.
"""

from __future__ import annotations

from .dataset import SalesData
from .playbook import Playbook, PlaybookError

__version__ = "0.1.0"

__all__ = [
    "Playbook",
    "PlaybookError",
    "SalesData",
    "__version__",
]
