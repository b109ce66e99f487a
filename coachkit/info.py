"""A dataset at a glance: rows, reps, teams, date range and activity mix (for ``coachkit info``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .dataset import SalesData

__all__ = ["summary", "summary_text"]


def summary(data: SalesData) -> dict[str, Any]:
    """Counts of rows per table, reps and teams, the activity date range, and the activity mix.

    The mix is each activity type's count and share of all activities, in playbook order.
    """
    a, r, d = data.activities, data.reps, data.deals
    counts = a["activity_type"].value_counts()
    order = [t for t in data.playbook.activity_types if t in counts.index]
    order += [t for t in counts.index if t not in order]
    total = int(len(a))
    mix = [
        {"activity_type": t, "count": int(counts[t]), "share": float(counts[t]) / total if total else float("nan")}
        for t in order
    ]
    teams = r["team"].dropna()
    return {
        "source": data.source,
        "timezone": data.playbook.timezone,
        "rows": {"activities": total, "reps": int(len(r)), "deals": int(len(d))},
        "reps": int(r["rep_id"].nunique()),
        "reps_with_activity": int(a["rep_id"].nunique()),
        "teams": sorted(teams.unique().tolist()),
        "first_activity": a["occurred_at"].min() if total else None,
        "last_activity": a["occurred_at"].max() if total else None,
        "mix": mix,
        "warnings": len(data.warnings),
    }


def summary_text(info: dict[str, Any]) -> str:
    """The summary as readable text."""

    def ts(v: Any) -> str:
        return "-" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")

    rows = info["rows"]
    lines = [
        f"source:     {info['source']}",
        f"timezone:   {info['timezone']}",
        f"rows:       {rows['activities']:,} activities, {rows['reps']:,} reps, {rows['deals']:,} deals",
        f"reps:       {info['reps']:,} ({info['reps_with_activity']:,} with activity)",
        f"teams:      {len(info['teams'])}: {', '.join(map(str, info['teams'])) or '-'}",
        f"date range: {ts(info['first_activity'])} .. {ts(info['last_activity'])}",
        "activity mix:",
    ]
    for m in info["mix"]:
        lines.append(f"  {m['activity_type']:<12} {m['count']:>10,}  {m['share']:6.1%}")
    if info["warnings"]:
        lines.append(f"warnings:   {info['warnings']} (run `coachkit validate` for details)")
    return "\n".join(lines)
