"""Reps in other timezones: a rep's days, weeks and hours in the rep's own local time.

Timestamps are stored as tz-naive wall time in the playbook's timezone (:mod:`coachkit.schema`). A rep
with a ``timezone`` in the reps table (an IANA name such as ``America/New_York``) works in another local
time: a call at 08:30 in New York is 13:30 in London, and a call late on a Sunday evening in New York is
already Monday, the next week, in London. :func:`rep_local` gives each row's time in its rep's own
timezone (the playbook's when the rep has none), which :func:`coachkit.kpi_table` uses for periods,
active days and the follow-up clock, and charts of hours (a weekday × hour heatmap) should use too.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["rep_local", "rep_zones", "bad_timezones"]


def bad_timezones(values: pd.Series) -> np.ndarray:
    """Boolean mask of the non-missing values that are not IANA timezone names."""
    text = values.astype("object")
    out = np.zeros(len(values), dtype=bool)
    for v in pd.unique(text[text.notna()]):
        try:
            zoneinfo.ZoneInfo(str(v).strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            out |= (text == v).to_numpy(dtype=bool, na_value=False)
    return out


def rep_zones(reps: pd.DataFrame, playbook: Any) -> pd.Series:
    """rep_id -> the rep's timezone for the reps whose timezone differs from the playbook's (others absent)."""
    if "timezone" not in reps.columns:
        return pd.Series(dtype="object")
    r = reps.drop_duplicates("rep_id")
    tz = r["timezone"].astype("object").str.strip()
    keep = tz.notna() & (tz != "") & (tz != playbook.timezone)
    return pd.Series(tz[keep].to_numpy(), index=r.loc[keep.to_numpy(dtype=bool), "rep_id"].astype(str).to_numpy())


def rep_local(times: pd.Series, rep_ids: pd.Series, reps: pd.DataFrame, playbook: Any) -> pd.Series:
    """``times`` (tz-naive wall time in the playbook's timezone) as wall time in each row's rep's timezone.

    Rows of reps without a timezone (or with the playbook's) are unchanged. A playbook wall time that
    does not exist (the spring-forward gap) is moved forward to the first valid instant; one that occurs
    twice (the autumn fold) is read as the later, standard-time one. Returns a tz-naive Series with
    ``times``' index.
    """
    zones = rep_zones(reps, playbook)
    if zones.empty:
        return times
    out = times.copy()
    per_row = rep_ids.astype("object").map(zones)
    for tz in pd.unique(per_row.dropna()):
        m = (per_row == tz).to_numpy(dtype=bool)
        s = times[m]
        aware = s.dt.tz_localize(playbook.timezone, ambiguous=np.zeros(len(s), dtype=bool), nonexistent="shift_forward")
        out[m] = aware.dt.tz_convert(str(tz)).dt.tz_localize(None).astype(times.dtype)
    return out
