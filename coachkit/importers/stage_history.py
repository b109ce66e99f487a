"""Deal stage history (the optional ``deal_stages`` table) from a CRM's stage-change records.

Each CRM keeps stage history its own way (Salesforce's ``OpportunityHistory`` rows, a connector's record
versions, HubSpot's "date entered" properties); the importers turn theirs into three columns and hand them to
:func:`stage_history`, which applies the rules shared by all:

- the stage label becomes a playbook stage through the importer's stage map (then the playbook's own names,
  case- and spacing-insensitive); a label nobody knows is reported under "Unmapped values" and its rows are
  left out (extend the mapping's ``[stages]``);
- rows without a deal, a stage or a time are left out and counted;
- rows of deals that are not in the imported deals (deleted, or absent from the deals file) are left out
  and counted;
- per deal, in time order, a row whose stage is the deal's previous one is folded into it (another field
  changed: the amount, the close date): ``entered_at`` is when the deal *entered* the stage.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .. import schema
from ..playbook import Playbook
from .labels import normalise_stage
from .report import ImportReport

__all__ = ["stage_history"]


def stage_history(
    deal_ids: pd.Series,
    labels: pd.Series,
    times: pd.Series,
    *,
    stages: dict[str, str],
    playbook: Playbook,
    report: ImportReport,
    file: str,
    column: str,
    deals: Iterable[str] | None,
) -> pd.DataFrame:
    """The ``deal_stages`` rows (deal_id, stage, entered_at) of one file's stage records, by the module's rules.

    ``deal_ids``, ``labels`` (raw stage labels or ids) and ``times`` (parsed, tz-naive) are aligned Series;
    ``stages`` maps raw labels to playbook stages; ``deals`` are the ids of the imported deals (None: keep
    every deal). ``column`` names the stage column in the report.
    """
    deal = deal_ids.astype(schema.STRING).str.strip()
    stage, unknown = normalise_stage(labels.astype(schema.STRING).str.strip(), stages, playbook)
    report.unmapped_values(file, column, labels[unknown], applied="stage history rows left out")
    frame = pd.DataFrame({"deal_id": deal, "stage": stage, "entered_at": times}).reset_index(drop=True)
    unknown = unknown.reset_index(drop=True).to_numpy(dtype=bool)
    missing = frame["deal_id"].isna() | frame["entered_at"].isna()
    report.drop(file, "stage history without a deal or a time", int(missing.sum()))
    keep = ~missing & ~unknown
    if deals is not None:
        known = frame["deal_id"].isin(set(deals))
        report.drop(file, "stage history of deals not imported (deleted, or not in the deals file)",
                    int((keep & ~known).sum()))  # fmt: skip
        keep &= known
    frame = frame[keep.to_numpy(dtype=bool)]
    frame = frame.sort_values(["deal_id", "entered_at"], kind="stable").reset_index(drop=True)
    same_deal = frame["deal_id"].eq(frame["deal_id"].shift()).to_numpy(dtype=bool)
    again = same_deal & frame["stage"].eq(frame["stage"].shift()).to_numpy(dtype=bool, na_value=False)
    report.fold("deal_stages", file, "the deal's previous stage again (another field changed)", int(again.sum()))
    return frame[~again].reset_index(drop=True) if again.any() else frame
