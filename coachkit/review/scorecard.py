"""The scorecard at the top of a review: the 5-7 KPIs that matter for the rep's role, one row each.

Each row: this window's value (with its n), the target, the peer median with the peer group's size, the change
from the prior window in words (only when the test says it is real), and a sparkline of the weekly series over
the prior and this window. A KPI the data cannot support (:mod:`coachkit.coverage`) is not a row: it is named
in one "not in this data" line under the table.

Which KPIs (:func:`scorecard_kpis`): the playbook's ``[review] scorecard`` list for the role when it has one,
else the first :data:`SCORECARD_MAX` of :data:`SCORECARD_PRIORITY` that the role has a target for or the
playbook a benchmark for.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..kpis import registry
from ..window import Window
from .fmt import fmt_interval, fmt_n, fmt_value, is_missing, num, plural
from .sparkline import sparkline_svg
from .team import Team

__all__ = ["SCORECARD_MAX", "SCORECARD_PRIORITY", "Scorecard", "change_words", "scorecard_kpis", "score_rows"]

#: The scorecard's KPIs in priority order: effort, then what it produced, then discipline.
SCORECARD_PRIORITY: tuple[str, ...] = (
    "calls",
    "conversations",
    "connect_rate",
    "meetings",
    "meeting_show_rate",
    "follow_up_24h_rate",
    "emails",
    "follow_ups",
    "notes_coverage",
)

#: At most this many KPIs on the scorecard.
SCORECARD_MAX = 7


def scorecard_kpis(playbook: Any, role: Any, *, chosen: Sequence[str] | None = None) -> list[str]:
    """The scorecard KPIs of ``role`` before the data's coverage is applied (see the module docstring).

    ``chosen``: an explicit list (the playbook's ``[review] scorecard`` for the role), kept in its order and cut
    at :data:`SCORECARD_MAX`; unknown KPI names are left out.
    """
    if chosen:
        return [k for k in dict.fromkeys(chosen) if k in registry][:SCORECARD_MAX]
    targets = playbook.targets_for(role)
    have = [k for k in SCORECARD_PRIORITY if k in targets or k in playbook.benchmarks]
    return have[:SCORECARD_MAX]


def change_words(row: dict[str, Any], weeks: int) -> str:
    """The change from the prior window in words: "up from 900", "down from 6%", "no clear change", or
    "no earlier data"; '' when the row has no value."""
    if is_missing(row.get("value")):
        return ""
    prior = fmt_value(row["kind"], row["kpi"], row.get("prior"))
    ch = row.get("change")
    if ch == "up":
        return f"up from {prior}"
    if ch == "down":
        return f"down from {prior}"
    if ch == "same":
        return "no clear change"
    return "no earlier data" if is_missing(row.get("prior")) else ""


def _series(team: Team, kpi: str, window: Window) -> tuple[list[float], int]:
    """The rep's weekly values of ``kpi`` over the prior and this window (one per Monday, NaN where the rep has
    none) and the index of the window's first week."""
    weeks = pd.date_range(window.prior_start, window.end, freq="7D")
    mine = pd.concat([team.rep_rows(kpi, "prior"), team.rep_rows(kpi, "this")])
    by_week = mine.drop_duplicates("period_start").set_index("period_start")["value"]
    values = [float(by_week.get(w, np.nan)) for w in weeks]
    return values, int(window.weeks)


def score_rows(summary_frame: pd.DataFrame, team: Team, window: Window, playbook: Any) -> pd.DataFrame:
    """The scorecard's rows from the summary frame of its KPIs (:func:`coachkit.review.summary`, one row per KPI):
    that frame plus ``peers_n`` (reps of the peer group: the candidates' when the row has it, else the reps of the
    team employed in the window; the rep included), ``series``
    (the weekly values, prior window first), ``window_from`` (index of the window's first week), ``last_partial``
    (the window's last week has fewer working days in the window than a full week), ``change_text`` and
    ``per_day`` (counts: the window value per working day of the window)."""
    t = team.totals
    team_n = int(t.loc[(t["window"] == "this"), "rep_id"].nunique()) if len(t) else 1
    last_monday = window.end - pd.Timedelta(days=window.end.weekday())
    in_window = playbook.working_days_between([last_monday], [window.end_exclusive])[0]
    work = window.working_days(playbook)
    full = playbook.working_days_between([last_monday], [last_monday + pd.Timedelta(days=7)])[0]
    rows = []
    for r in summary_frame.to_dict("records"):
        series, start = _series(team, r["kpi"], window)
        r |= {
            "peers_n": int(r["peers_n"]) if not is_missing(r.get("peers_n")) else team_n,
            "series": series,
            "window_from": start,
            "last_partial": bool(in_window < full),
            "change_text": change_words(r, window.weeks),
            "per_day": r["value"] / work if r["kind"] == "count" and work else np.nan,
        }
        rows.append(r)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Scorecard:
    """The scorecard part of the review's first screen (renders its own escaped HTML, see :meth:`html`).

    ``rows``: :func:`score_rows`; ``peers``: the peer group in words ("SMB SDRs"); ``missing``: KPI label ->
    why the data cannot support it (one "not in this data" line); ``weeks``: the window's weeks.
    """

    rows: pd.DataFrame
    peers: str
    weeks: int
    missing: dict[str, str] = field(default_factory=dict)

    def html(self) -> str:
        esc = _html.escape
        n = int(self.rows["peers_n"].max()) if len(self.rows) else 0
        head = (
            '<tr><th scope="col">KPI</th><th scope="col" class="ck-num">This window</th>'
            '<th scope="col" class="ck-num">Target</th><th scope="col" class="ck-num">Peers</th>'
            f'<th scope="col">vs prior {esc(plural(self.weeks, "week"))}</th>'
            f'<th scope="col">{2 * self.weeks} weeks</th></tr>'
        )
        body = []
        for r in self.rows.to_dict("records"):
            kind, kpi = r["kind"], r["kpi"]
            value = esc(fmt_value(kind, kpi, r["value"]))
            sub = _value_note(r)
            target = "–" if is_missing(r.get("target")) else esc(fmt_value(kind, kpi, r["target"]))
            tk = r.get("target_kind") or ""
            if target != "–" and r.get("team_finding") is True:
                target += '<span class="ck-sub ck-team" title="The whole peer group is below it: a team topic in the index">team below</span>'
            elif target != "–" and tk and tk not in ("role target", "on target"):
                target += f' <span class="ck-sub">{esc(tk.replace("playbook ", ""))}</span>'
            med = esc(fmt_value(kind, kpi, r.get("team_median")))
            ch = r.get("change_text") or ""
            cls = {"up": "ck-up", "down": "ck-down"}.get(r.get("change") or "", "ck-flat")
            arrow = {"up": "▲ ", "down": "▼ "}.get(r.get("change") or "", "")
            spark = sparkline_svg(
                r["series"],
                window_from=int(r["window_from"]),
                target=None if kind == "count" else r.get("target"),
                last_partial=bool(r["last_partial"]),
                zero_based=kind in ("count", "rate"),
                label=f"{r['label']} by week: " + ", ".join(fmt_value(kind, kpi, v) for v in r["series"]),
            )
            body.append(
                f'<tr><th scope="row">{esc(str(r["label"]))}</th>'
                f'<td class="ck-num"><b>{value}</b>{sub}</td><td class="ck-num">{target}</td>'
                f'<td class="ck-num">{med}</td><td class="{cls}">{esc(arrow + ch)}</td><td>{spark}</td></tr>'
            )
        who = f"the {esc(plural(n, 'rep'))} of the {esc(self.peers)}" if self.peers else esc(plural(n, "peer"))
        caption = (
            f"<caption>{esc(plural(self.weeks, 'week'))} against the role's targets and the median of {who}</caption>"
        )
        out = f'<table class="ck-scorecard">{caption}<thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
        if self.missing:
            listed = "; ".join(f"{k} ({why})" for k, why in self.missing.items())
            out += f'<p class="ck-note">Not in this data: {esc(listed)}.</p>'
        return out


def _value_note(r: dict[str, Any]) -> str:
    """The small text under a value: a rate's n ("of 1,134 calls"), a count's daily rate; with the interval as a
    tooltip."""
    esc = _html.escape
    kind, kpi = r["kind"], r["kpi"]
    ci = fmt_interval(kind, kpi, r.get("ci_low"), r.get("ci_high"))
    tip = f' title="95% interval {esc(ci, quote=True)}"' if ci != "–" else ""
    if kind == "rate":
        n = fmt_n(kpi, kind, r.get("n"))
        return f'<span class="ck-sub"{tip}> of {esc(n)}</span>' if n != "–" else ""
    if kind == "count" and not is_missing(r.get("per_day")):
        return f'<span class="ck-sub"{tip}> {esc(num(r["per_day"], 1))}/day</span>'
    return f'<span class="ck-sub"{tip}></span>' if tip else ""


def not_in_data(kpis: Iterable[str], reasons: dict[str, str]) -> dict[str, str]:
    """KPI label -> reason for the ``kpis`` that ``reasons`` (KPI -> why, from :meth:`Coverage.unsupported`) rules out."""
    return {registry[k].label if k in registry else k: reasons[k] for k in kpis if reasons.get(k)}
