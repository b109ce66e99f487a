"""Section 2, the summary: the headline KPIs against the prior window, the team and the target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...window import Window
from ..compare import since, versus
from ..fmt import N_NOUNS, fmt_interval, fmt_n, fmt_value, is_missing, num, plural, rate_text
from ..kpi_rows import kpi_rows
from ..page import Section, Table
from ..team import Team, team_for
from .focus import next_week_sentence

#: The headline KPIs of the summary and the team index, in reading order: effort, outcomes, feedback.
HEADLINE_KPIS: tuple[str, ...] = (
    "activity_score",
    "conversations",
    "connect_rate",
    "follow_up_24h_rate",
    "notes_coverage",
    "feedback_score",
)


def summary(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    team: Team | None = None,
    kpis: Sequence[str] = HEADLINE_KPIS,
    sentences: bool = True,
    focus_frame: pd.DataFrame | None = None,
    weekly: pd.DataFrame | None = None,
) -> Section:
    """The headline KPIs: this window, the prior window, the team median, the target, n and the interval.

    Frame ``summary`` has one row per KPI with ``kpi``, ``label``, ``kind``, ``value``, ``prior``,
    ``team_median``, ``target`` (role target, else playbook benchmark; activity score: 100),
    ``target_kind``, ``numerator``, ``n`` (rates: the denominator; counts: the count; feedback
    score: scored activities; activity score: weeks), ``ci_low``/``ci_high`` (Wilson, Poisson or t),
    ``prior_n``, ``change`` (``up``/``down``/``same`` at the 5% level, '' without data).
    With ``sentences``, :func:`summary_sentences` come first, then the longer trend of ``weekly``
    (:func:`history`) when given, and last next week's focus (``focus_frame``'s top area).
    """
    team = team_for(data, rep_id, window, team)
    frame = kpi_rows(data, rep_id, window, team, kpis)
    sec = Section("summary", "Summary")
    sec.frames["summary"] = frame
    if sentences:
        text = summary_sentences(frame, window, team_group=team.group)
        if weekly is not None and len(weekly):
            from .effort import trend_text

            trend = trend_text(data, rep_id, window, team=team)
            if trend:
                text.append(trend)
        if focus_frame is not None:
            text.append(next_week_sentence(focus_frame))
        sec.add(*text)
    sec.add(Table(_summary_display(frame, window), f"{window.label}, against the prior window {window.prior_label}"))
    sec.values["team_group"] = team.group
    return sec


def _summary_display(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "KPI": frame["label"],
            "This window": [
                fmt_value(k, kp, v) for k, kp, v in zip(frame["kind"], frame["kpi"], frame["value"], strict=True)
            ],
            "95% interval": [
                fmt_interval(k, kp, lo, hi)
                for k, kp, lo, hi in zip(frame["kind"], frame["kpi"], frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "n": [fmt_n(kp, k, n) for kp, k, n in zip(frame["kpi"], frame["kind"], frame["n"], strict=True)],
            "Prior window": [
                fmt_value(k, kp, v) for k, kp, v in zip(frame["kind"], frame["kpi"], frame["prior"], strict=True)
            ],
            "Team median": [
                fmt_value(k, kp, v) for k, kp, v in zip(frame["kind"], frame["kpi"], frame["team_median"], strict=True)
            ],
            "Target": [
                fmt_value(k, kp, v) + (f" ({t})" if t and t != "on target" and not is_missing(v) else "")
                for k, kp, v, t in zip(frame["kind"], frame["kpi"], frame["target"], frame["target_kind"], strict=True)
            ],
        }
    )
    return out


def summary_sentences(
    frame: pd.DataFrame, window: Window, *, focus_frame: pd.DataFrame | None = None, team_group: str = "team"
) -> list[str]:
    """Plain-language sentences for the summary frame: effort, outcomes, feedback; then next week's focus."""
    rows = {r["kpi"]: r for r in frame.to_dict("records")}
    out: list[str] = []

    def tail(r: Mapping[str, Any]) -> str:
        bits = [b for b in (versus(r), since(r, window)) if b]
        med = r.get("team_median")
        if not is_missing(med):
            bits.append(f"{team_group} median {fmt_value(r['kind'], r['kpi'], med)}")
        return "; ".join(bits)

    if "activity_score" in rows:
        r = rows["activity_score"]
        if is_missing(r["value"]):
            out.append("Effort: no activity score (no targets for this role, or no working days in the window).")
        else:
            out.append(
                f"Effort: activity score {r['value']:.0f}/100 against the role's targets "
                f"(100 = every target met, averaged over {plural(r['n'], 'week')}); {tail(r)}."
            )
    if "conversations" in rows:
        r = rows["conversations"]
        ci = fmt_interval("count", "conversations", r["ci_low"], r["ci_high"])
        out.append(f"Conversations: {num(r['value'])} in the window (95% CI {ci}); {tail(r)}.")
    for k in ("connect_rate", "follow_up_24h_rate", "notes_coverage", "meeting_show_rate", "outcome_logged_rate"):
        if k in rows:
            r = rows[k]
            text = rate_text(r["numerator"], r["n"], noun=N_NOUNS.get(k, ""))
            out.append(f"{r['label']} {text}; {tail(r)}.")
    if "feedback_score" in rows:
        r = rows["feedback_score"]
        if r["n"] > 0:
            ci = fmt_interval("mean", "feedback_score", r["ci_low"], r["ci_high"])
            ci_text = f", 95% CI {ci}" if ci != "–" else ""
            out.append(
                f"Feedback score {r['value']:.1f} out of 5 ({plural(r['n'], 'scored activity', 'scored activities')}"
                f"{ci_text}); {tail(r)}."
            )
        else:
            out.append("Feedback score: no scored activities in the window.")
    for k, r in rows.items():
        if k not in HEADLINE_KPIS and k not in ("meeting_show_rate", "outcome_logged_rate"):
            out.append(f"{r['label']} {fmt_value(r['kind'], k, r['value'])}; {tail(r)}.")
    if focus_frame is not None:
        out.append(next_week_sentence(focus_frame))
    return out
