"""Section 6, feedback: notes coverage, the feedback score, themes against the team and notable notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...coverage import Coverage
from ...feedback import feedback_themes
from ...stats import wilson
from ...window import Window
from ..compare import against, change, t_interval
from ..fmt import N_NOUNS, clip, is_missing, num, pct, plural, rate_text
from ..page import Heading, Section, Table, Text
from ..rows import feedback_scores, is_conversation, window_activities
from ..targets import rate_target
from ..team import Team, team_for, team_median, window_total


def _theme_matrix(notes: pd.Series, themes: Sequence[Any]) -> pd.DataFrame:
    s = notes.astype("str") if len(notes) else notes
    return pd.DataFrame(
        {t.name: s.str.contains(t.pattern, regex=True).fillna(False).astype(bool).to_numpy() for t in themes},
        index=notes.index,
    )


def notable_notes(activities: pd.DataFrame, themes: Sequence[Any], *, recent: int = 3) -> pd.DataFrame:
    """A few notable notes from conversations (one rep's, already cut to the window), to quote.

    The most recent note for each theme, keeping the ``recent`` most recent of those (one
    note per theme, newest first); then the lowest- and the highest-scored note (when scores
    exist and differ). A note is listed once. Columns: ``occurred_at``, ``activity_type``,
    ``account_id``, ``feedback_score``, ``themes`` (comma-separated), ``why``, ``note``
    (whitespace collapsed, clipped to 280 characters). Text is returned raw: escape it when
    showing it as HTML.
    """
    cols = ["occurred_at", "activity_type", "account_id", "feedback_score", "themes", "why", "note"]
    a = activities[is_conversation(activities).to_numpy()]
    a = a[a["notes"].fillna("").astype(str).str.contains(r"\S", regex=True).to_numpy(dtype=bool)]
    if a.empty:
        return pd.DataFrame(columns=cols)
    a = a.sort_values("occurred_at", ascending=False, kind="stable")
    hits = _theme_matrix(a["notes"], themes)
    names = [t.name for t in themes]
    kinds = {t.name: t.kind for t in themes}
    picked: dict[Any, str] = {}
    per_theme = []
    for name in names:
        rows = hits.index[hits[name].to_numpy()]
        if len(rows):
            per_theme.append((a.at[rows[0], "occurred_at"], rows[0], name))
    per_theme.sort(key=lambda x: x[0], reverse=True)
    for _, idx, name in per_theme:
        if len(picked) >= recent:
            break
        label = "objection" if kinds[name] == "objection" else "buying signal"
        if idx not in picked:
            picked[idx] = f"latest {name.replace('_', ' ')} {label}"
    scored = a[a["feedback_score"].notna()]
    if len(scored):
        low = scored["feedback_score"].idxmin()
        high = scored["feedback_score"].idxmax()
        if scored.at[low, "feedback_score"] != scored.at[high, "feedback_score"]:
            for idx, why in ((low, "lowest score"), (high, "highest score")):
                picked[idx] = picked[idx] + "; " + why if idx in picked else why
    idx = list(picked)
    sel = a.loc[idx]
    theme_text = [", ".join(n.replace("_", " ") for n in names if hits.at[i, n]) for i in idx]
    return pd.DataFrame(
        {
            "occurred_at": sel["occurred_at"].to_numpy(),
            "activity_type": sel["activity_type"].to_numpy(),
            "account_id": sel["account_id"].to_numpy(),
            "feedback_score": sel["feedback_score"].to_numpy(dtype="float64"),
            "themes": theme_text,
            "why": [picked[i] for i in idx],
            "note": sel["notes"].map(clip).to_numpy(),
        },
        columns=cols,
    )


def feedback(
    data: Any, rep_id: str, window: Window, *, team: Team | None = None, profile: Coverage | None = None
) -> Section:
    """Notes coverage, the feedback score, themes in the notes against the peers (a table with n and 95%
    intervals), and notable notes. With a ``profile`` (:class:`coachkit.coverage.Coverage`), what the data cannot
    support is one "not in this data" line."""
    team = team_for(data, rep_id, window, team)
    pb = data.playbook
    sec = Section("feedback", "Feedback")
    no_notes = profile.supports("notes_coverage") if profile is not None else ""
    no_scores = profile.supports("feedback_score") if profile is not None else ""
    if no_notes:
        sec.add(Text(f"Notes coverage and themes: not in this data ({no_notes}).", "note"))
    if no_scores:
        sec.add(Text(f"Feedback score: not in this data ({no_scores}).", "note"))
    if no_notes and no_scores:
        sec.frames["notes"] = notable_notes(data.activities.iloc[:0], pb.themes)
        return sec
    if no_notes:
        _score(sec, data, rep_id, window, team)
        return sec
    # notes coverage
    this, prior = window_total(team, "notes_coverage"), window_total(team, "notes_coverage", "prior")
    target, tk = rate_target(data, rep_id, "notes_coverage")
    lo, hi = (float(v) for v in wilson(this["numerator"], this["denominator"]))
    row = {
        "kpi": "notes_coverage",
        "kind": "rate",
        "value": this["value"],
        "target": target,
        "target_kind": tk,
        "ci_low": lo,
        "ci_high": hi,
        "prior": prior["value"],
        "change": change(
            "rate",
            float(this["numerator"]),
            float(this["denominator"]),
            float(prior["numerator"]),
            float(prior["denominator"]),
        ),
    }
    # the judgement and the change are the scorecard's and the focus's: here, the plain comparison
    bits = [b for b in (against(row),) if b] + [f"peers' median {pct(team_median(team, 'notes_coverage'))}"]
    sec.add(
        f"Notes written after {rate_text(this['numerator'], this['denominator'], noun=N_NOUNS['notes_coverage'])}; "
        + "; ".join(bits)
        + "."
    )
    if not no_scores:
        _score(sec, data, rep_id, window, team)
    # themes against the team
    th = feedback_themes(data.between(window.start, window.end), start=window.start, end=window.end, reps=team.peers)
    if len(th) and len(pb.themes):
        agg = th.groupby(["rep_id", "theme", "kind"], observed=True, sort=False).agg(
            count=("count", "sum"), with_notes=("with_notes", "sum")
        )
        agg = agg.reset_index()
        # with_notes repeats per theme; it is per rep-week, so summing over weeks per theme is right
        rows = []
        for who, mask in (
            ("this rep", agg["rep_id"] == rep_id),
            (f"team: other {team.group}", agg["rep_id"] != rep_id),
        ):
            g = agg[mask].groupby(["theme", "kind"], observed=True, sort=False)[["count", "with_notes"]].sum()
            for (theme, kind), r in g.iterrows():
                lo_t, hi_t = (float(v) for v in wilson(r["count"], r["with_notes"]))
                rows.append(
                    {
                        "kind": "objections" if kind == "objection" else "buying signals",
                        "theme": str(theme).replace("_", " "),
                        "who": who,
                        "value": r["count"] / r["with_notes"] if r["with_notes"] > 0 else np.nan,
                        "ci_low": lo_t,
                        "ci_high": hi_t,
                        "n": float(r["with_notes"]),
                        "count": float(r["count"]),
                    }
                )
        themes_frame = pd.DataFrame(rows)
        sec.frames["themes"] = themes_frame
        mine_t = themes_frame[themes_frame["who"] == "this rep"]
        n_notes = float(mine_t["n"].iloc[0]) if len(mine_t) else 0.0
        if 0 < n_notes < pb.min_n:
            sec.add(
                f"Only {plural(n_notes, 'conversation')} with notes in the window: too few to compare themes "
                f"with the team (the playbook asks for at least {pb.min_n})."
            )
        elif n_notes > 0:
            top = mine_t.sort_values("count", ascending=False).head(3)
            top = top[top["count"] > 0]
            if len(top):
                listed = ", ".join(
                    f"{t['theme']} {pct(t['value'])} ({num(t['count'])}/{num(t['n'])})" for t in top.to_dict("records")
                )
                sec.add(f"Most frequent themes in this rep's notes: {listed}.")
            sec.add(
                Table(
                    _theme_table(themes_frame, team.group),
                    "Themes: share of conversations with notes that mention each",
                )
            )
        else:
            sec.add("No notes on conversations in the window, so no themes to compare.")
    # notable notes
    acts = window_activities(data, rep_id, window.start, window.end)
    notes = notable_notes(acts, pb.themes)
    sec.frames["notes"] = notes
    if len(notes):
        sec.add(Heading("Notable notes"))
        sec.add(
            Table(
                pd.DataFrame(
                    {
                        "When": pd.to_datetime(notes["occurred_at"]).dt.strftime("%a %d %b %H:%M"),
                        "Account": notes["account_id"],
                        "Why quoted": notes["why"],
                        "Score": notes["feedback_score"].map(lambda x: "–" if is_missing(x) else f"{x:.0f}"),
                        "Note": notes["note"].map(lambda s: f"“{s}”"),
                    }
                )
            )
        )
    return sec


def _score(sec: Section, data: Any, rep_id: str, window: Window, team: Team) -> None:
    s1 = feedback_scores(data, rep_id, window.start, window.end)
    if len(s1):
        lo_s, hi_s = t_interval(s1)
        ci_text = f", 95% CI {lo_s:.1f}–{hi_s:.1f}" if not is_missing(lo_s) else ""
        sec.add(
            f"Feedback score {np.mean(s1):.1f} out of 5 over {plural(len(s1), 'scored activity', 'scored activities')}"
            f"{ci_text}; peers' median {num(team_median(team, 'feedback_score'), 1)}."
        )
    else:
        sec.add("No scored activities in the window.")


def _theme_table(themes: pd.DataFrame, group: str) -> pd.DataFrame:
    """Theme shares, the rep against the other peers pooled, each with k/n and its 95% interval."""
    mine = themes[themes["who"] == "this rep"].set_index(["kind", "theme"])
    rest = themes[themes["who"] != "this rep"].set_index(["kind", "theme"])
    keys = list(dict.fromkeys([*mine.index, *rest.index]))

    def cell(frame: pd.DataFrame, key: Any) -> str:
        if key not in frame.index:
            return "–"
        r = frame.loc[key]
        return rate_text(r["count"], r["n"])

    return pd.DataFrame(
        {
            "Kind": [k[0] for k in keys],
            "Theme": [k[1] for k in keys],
            "This rep": [cell(mine, k) for k in keys],
            f"Other {group} (pooled)": [cell(rest, k) for k in keys],
        }
    )
