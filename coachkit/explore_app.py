"""The explorer as an app: :class:`Explorer` (the views of :mod:`coachkit.explore`, cached by selection) and
:class:`ExplorerApp` (the ipywidgets that call it), shown in JupyterLab and served by ``coachkit explore``.

**One rebuild per change.** Every control calls :meth:`ExplorerApp.refresh` once (a team change also
resets the rep choices without a second refresh). Each view has a key, the part of the selection it
depends on; ``refresh`` recomputes and redraws only the views whose key changed. So a notes search
touches only the notes table, a change of activity types only the activity views and the drill-down,
and a KPI change only the trend. Computed views are kept in an LRU cache keyed the same way, so going
back to an earlier selection costs nothing.

**Charts** are ``altair.JupyterChart`` widgets with their JavaScript loaded offline
(:func:`coachkit.charts.offline_jupyter_charts`): tooltips and hover in JupyterLab and in Voilà without
any network request. Clicking a point of the trend picks that rep-period for the drill-down, as the
drill-down's own Rep and Period controls do.

**No crash.** Views never raise for a selection a coach can make (:func:`coachkit.explore.selection_problem`
and the parts' messages); should anything else fail, the status line says so in one line and the
previous views stay.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from . import explore as ex
from .kpis import kpi_table, registry

__all__ = ["Explorer", "ExplorerApp", "app", "PAGE_ROWS"]

log = logging.getLogger(__name__)

#: Rows per page of the drill-down and of the notes found.
PAGE_ROWS = 100
_DAY = pd.Timedelta(days=1)


class Explorer:
    """The explorer's views over one dataset, cached by the part of the selection each depends on.

    Every method takes a :class:`coachkit.explore.Selection` and returns what :mod:`coachkit.explore`
    computes; ``cache_size`` bounds the number of computed views kept (least recently used dropped).
    """

    def __init__(self, data: Any, *, cache_size: int = 64) -> None:
        self.data = data
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = cache_size
        self._index: tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]]] | None = None
        self.hits = 0
        self.misses = 0
        reps = data.reps.drop_duplicates("rep_id")
        self.teams = [ex.ALL_TEAMS, *sorted(reps["team"].dropna().astype(str).unique())]

    # -- cache --
    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept under ``key`` (LRU)."""
        if key in self._cache:
            self._cache.move_to_end(key)
            self.hits += 1
            return self._cache[key]
        self.misses += 1
        value = compute()
        self._cache[key] = value
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return value

    # -- selection helpers --
    def span(self, sel: ex.Selection) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        return ex._span(self.data, sel)

    def chosen(self, sel: ex.Selection) -> tuple[str, ...]:
        """The reps the activity views cover: the picked reps, else the team's."""
        return self.cached(
            ("chosen", sel.team, sel.reps), lambda: tuple(ex._chosen_reps(self.data, sel.team, sel.reps))
        )

    def rep_options(self, team: str) -> list[tuple[str, str]]:
        """(label, rep id) of the reps of ``team``, by name; the label says who left."""
        ids = ex.team_reps(self.data, team)
        info = self.data.reps.drop_duplicates("rep_id").set_index("rep_id")
        out = []
        for rep, name in zip(ids, ex.rep_names(self.data, ids), strict=True):
            left = info.at[rep, "left_at"] if "left_at" in info.columns else pd.NaT
            out.append((f"{name} (left {left:%d %b %Y})" if pd.notna(left) else name, rep))
        return sorted(out, key=lambda o: (o[0].lower(), o[1]))

    def kpi_options(self) -> list[tuple[str, str]]:
        """(label, name) of every KPI, by label."""
        return sorted(((d.label, d.name) for d in registry.values()), key=lambda o: o[0].lower())

    # -- views --
    def problem(self, sel: ex.Selection) -> str | None:
        return self.cached(("problem", sel), lambda: ex.selection_problem(self.data, sel))

    def _rep_index(self) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]]]:
        """Activity row positions ordered by (rep, time), their times (int64 ns) and each rep's slice of them."""
        if self._index is None:
            a = self.data.activities
            codes, reps = pd.factorize(a["rep_id"].astype("object"), use_na_sentinel=True)
            t = a["occurred_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
            order = np.lexsort((t, codes))
            starts = np.searchsorted(codes[order], np.arange(len(reps) + 1), side="left")
            slices = {str(r): (int(starts[i]), int(starts[i + 1])) for i, r in enumerate(reps)}
            self._index = (order, t[order], slices)
        return self._index

    def subset(self, reps: tuple[str, ...], start: pd.Timestamp, end: pd.Timestamp) -> Any:
        """The dataset cut to ``reps``' activities from ``start`` to the end of day ``end`` (as ``between``) and
        their deals created or closed then: found by binary search in each rep's time-ordered rows, so that a
        few reps' weeks are read without scanning millions of rows."""
        order, times, slices = self._rep_index()
        lo = pd.Timestamp(start).to_datetime64().astype("datetime64[ns]").view(np.int64)
        hi = (pd.Timestamp(end) + _DAY).to_datetime64().astype("datetime64[ns]").view(np.int64)
        parts = []
        for rep in reps:
            a, b = slices.get(rep, (0, 0))
            i, j = np.searchsorted(times[a:b], [lo, hi], side="left")
            parts.append(order[a + i : a + j])
        rows = np.sort(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)
        d = self.data.deals
        d = d[d["rep_id"].isin(list(reps))]
        lo_ts, hi_ts = pd.Timestamp(start), pd.Timestamp(end) + _DAY

        def inside(col: pd.Series) -> pd.Series:
            return col.notna() & (col >= lo_ts) & (col < hi_ts)

        d = d[inside(d["created_at"]) | inside(d["closed_at"])]
        acts = self.data.activities.take(rows).reset_index(drop=True)
        return dataclasses.replace(self.data, activities=acts, deals=d.reset_index(drop=True))

    def window(self, sel: ex.Selection, reps: tuple[str, ...]) -> Any:
        start, end = self.span(sel)
        return self.cached(("window", reps, start, end), lambda: self.subset(reps, start, end))

    def _pool(self, sel: ex.Selection) -> tuple[str, ...]:
        chosen = self.chosen(sel)
        pool = ex.peers_of(self.data, chosen) if sel.reps else list(chosen)
        return tuple(sorted(set(pool) | set(chosen)))

    def trend_key(self, sel: ex.Selection) -> tuple:
        return ("trend", sel.team, sel.reps, *self.span(sel), sel.freq, sel.kpi)

    def trend(self, sel: ex.Selection) -> ex.Part:
        start, end = self.span(sel)
        pool = self._pool(sel)

        def table() -> pd.DataFrame:
            return self.cached(
                ("kpi_table", sel.kpi, sel.freq, start, end, pool),
                lambda: kpi_table(
                    self.window(sel, pool), freq=sel.freq, start=start, end=end, kpis=[sel.kpi], reps=pool
                ),
            )

        return self.cached(self.trend_key(sel), lambda: ex.trend_part(self.data, sel, table=table(), select=True))

    def rep_vs_team_key(self, sel: ex.Selection) -> tuple:
        return ("rep_vs_team", sel.team, sel.reps, *self.span(sel))

    def rep_vs_team(self, sel: ex.Selection) -> ex.Part:
        start, end = self.span(sel)
        pool = tuple(sorted(set(self._pool(sel)) | set(ex.team_reps(self.data, sel.team) if not sel.reps else ())))

        def table() -> pd.DataFrame:
            return kpi_table(
                self.window(sel, pool), freq="M", start=start, end=end, kpis=list(ex.REP_VS_TEAM_KPIS), reps=pool
            )

        return self.cached(self.rep_vs_team_key(sel), lambda: ex.rep_vs_team_part(self.data, sel, table=table()))

    def activities_key(self, sel: ex.Selection) -> tuple:
        return ("activities", self.chosen(sel), *self.span(sel), sel.types)

    def activities(self, sel: ex.Selection) -> pd.DataFrame:
        """The selected activities (reps, range, types) with name and team: what the activity views read."""
        start, end = self.span(sel)
        return self.cached(
            self.activities_key(sel),
            lambda: ex.activities_view(self.window(sel, self.chosen(sel)), reps=self.chosen(sel), types=sel.types),
        )

    def activity_parts(self, sel: ex.Selection) -> dict[str, ex.Part]:
        key = ("parts", *self.activities_key(sel)[1:])
        return self.cached(key, lambda: ex.activity_parts(self.activities(sel), sel))

    def notes_key(self, sel: ex.Selection) -> tuple:
        return ("notes", *self.activities_key(sel)[1:], sel.keyword.strip().lower())

    def notes(self, sel: ex.Selection) -> tuple[pd.DataFrame, int]:
        """(the notes containing the keyword, every one, newest first; notes searched)."""

        def compute() -> tuple[pd.DataFrame, int]:
            acts = self.activities(sel)
            notes = acts[ex._has_note(acts)]
            return ex.search_notes(notes, sel.keyword), len(notes)

        return self.cached(self.notes_key(sel), compute)

    def periods(self, sel: ex.Selection) -> pd.DataFrame:
        return self.cached(("periods", *self.span(sel), sel.freq), lambda: ex.window_periods(self.data, sel))

    def drill(self, rep: str, period: Any, freq: str, types: tuple[str, ...]) -> pd.DataFrame:
        """Every activity of ``rep`` in the period containing ``period`` (see :func:`coachkit.explore.drill_down`)."""
        p = pd.Timestamp(ex.period_start(pd.Series([pd.Timestamp(period)]), freq).iloc[0])
        stop = pd.Timestamp(ex._next_start(pd.Series([p]), freq).iloc[0]) - _DAY

        def compute() -> pd.DataFrame:
            return ex.drill_down(self.subset((rep,), p, stop), rep, p, freq=freq, types=types)

        return self.cached(("drill", rep, p, freq, types), compute)

    def latest_period(self, rep: str, sel: ex.Selection) -> pd.Timestamp | None:
        """The latest period of the range in which ``rep`` has an activity (of the chosen types)."""
        acts = self.activities(sel)
        t = acts.loc[acts["rep_id"] == rep, "occurred_at"]
        if not len(t):
            return None
        return pd.Timestamp(ex.period_start(pd.Series([t.max()]), sel.freq).iloc[0])


class _Pager:
    """Pages of a long table: Previous / Next buttons and "rows 1–100 of 492"."""

    def __init__(self, on_page: Callable[[], None]) -> None:
        import ipywidgets as w

        self.start, self.total = 0, 0
        self.prev = w.Button(description="◀ Previous", layout=w.Layout(width="110px"))
        self.next = w.Button(description="Next ▶", layout=w.Layout(width="110px"))
        self.label = w.HTML()
        self.prev.on_click(lambda _: self.move(-PAGE_ROWS, on_page))
        self.next.on_click(lambda _: self.move(PAGE_ROWS, on_page))
        self.box = w.HBox([self.prev, self.next, self.label])

    def reset(self, total: int) -> None:
        self.start, self.total = 0, total
        self._sync()

    def move(self, step: int, on_page: Callable[[], None]) -> None:
        self.start = max(0, min(self.start + step, max(self.total - 1, 0) // PAGE_ROWS * PAGE_ROWS))
        self._sync()
        on_page()

    def _sync(self) -> None:
        stop = min(self.total, self.start + PAGE_ROWS)
        self.prev.disabled = self.start == 0
        self.next.disabled = stop >= self.total
        self.label.value = f"rows {self.start + 1:,}–{stop:,} of {self.total:,}" if self.total else ""
        self.box.layout.display = "" if self.total > PAGE_ROWS else "none"

    def page(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.iloc[self.start : self.start + PAGE_ROWS]


def _app_box(children: list[Any]) -> Any:
    import ipywidgets as w

    class ExplorerBox(w.VBox):
        """The explorer; its text form says what to do where widgets cannot be drawn."""

        def __repr__(self) -> str:
            return (
                "coachkit explorer: its controls appear when this cell runs in a live kernel "
                "(JupyterLab, or `coachkit explore SOURCE` in a browser)."
            )

    return ExplorerBox(children)


class ExplorerApp:
    """The explorer's widgets: controls, a status line, four charts, the notes search and the drill-down.

    ``widget`` is the box to display. ``controls`` (team, reps, start, end, freq, kpi, types, keyword),
    ``drill_rep``, ``drill_period`` and the output widgets are attributes, so that tests and the
    benchmark drive the app by setting control values, exactly as a click does. ``refreshes`` counts
    rebuilds; ``last_update`` names the views the last one redrew.
    """

    VIEWS = ("trend", "rep_vs_team", "heatmap", "outcomes")

    def __init__(self, data: Any, sel: ex.Selection | None = None, *, explorer: Explorer | None = None) -> None:
        import ipywidgets as w

        from .charts import offline_jupyter_charts

        offline_jupyter_charts()
        self.explorer = explorer or Explorer(data)
        self.data = data
        sel = sel or self.default_selection()
        self.refreshes = 0
        self.last_update: tuple[str, ...] = ()
        self._keys: dict[str, Any] = {}
        self._quiet = False
        e = self.explorer

        team = sel.team if sel.team in e.teams else ex.ALL_TEAMS
        reps_options = e.rep_options(team)
        known = {r for _, r in reps_options}
        types = list(data.playbook.activity_types or ex.schema.ACTIVITY_TYPES)
        c = {
            "team": w.Dropdown(options=e.teams, value=team, description="Team"),
            "reps": w.SelectMultiple(
                options=reps_options, value=tuple(r for r in sel.reps if r in known), description="Reps", rows=6
            ),
            "kpi": w.Dropdown(
                options=e.kpi_options(), value=sel.kpi if sel.kpi in registry else "activities", description="KPI"
            ),
            "freq": w.ToggleButtons(options=[("day", "D"), ("week", "W"), ("month", "M")], value=sel.freq),
            "start": w.DatePicker(value=_date(sel.start), description="From"),
            "end": w.DatePicker(value=_date(sel.end), description="To"),
            "types": w.SelectMultiple(
                options=types, value=tuple(t for t in sel.types if t in types), description="Types", rows=6
            ),
            "keyword": w.Text(
                value=sel.keyword,
                description="Notes",
                placeholder="search the notes (press Enter)",
                continuous_update=False,
            ),
        }
        self.controls = c
        for key, control in c.items():
            control.add_class(f"ck-{key}")
        c["freq"].style.button_width = "70px"
        self.status = w.HTML().add_class("ck-status")
        self.charts: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        for key in self.VIEWS:
            self.charts[key] = None
            self.messages[key] = w.HTML().add_class(f"ck-{key}-message")
        self._chart_boxes = {key: w.Box().add_class(f"ck-{key}") for key in self.VIEWS}
        self.notes = w.HTML().add_class("ck-notes")
        self.notes_pager = _Pager(self._draw_notes)
        self.drill_rep = w.Dropdown(description="Rep", options=[]).add_class("ck-drill-rep")
        self.drill_period = w.Dropdown(description="Period", options=[], layout=w.Layout(width="420px"))
        self.drill_period.add_class("ck-drill-period")
        self.drill_title = w.HTML().add_class("ck-drill-title")
        self.drill_table = w.HTML().add_class("ck-drill-table")
        self.drill_csv = w.HTML().add_class("ck-drill-csv")
        self.drill_pager = _Pager(self._draw_drill)

        for key in ("team", "reps", "kpi", "freq", "start", "end", "types", "keyword"):
            c[key].observe(self._on_control, names="value")
        self.drill_rep.observe(self._on_drill, names="value")
        self.drill_period.observe(self._on_drill, names="value")

        help_line = w.HTML(
            "<small>Click a point of the trend to list that rep's activities of that period below; "
            "double-click to clear.</small>"
        )
        self.widget = _app_box(
            [
                w.HBox([c["team"], c["reps"], c["types"]]),
                w.HBox([c["kpi"], c["freq"]]),
                w.HBox([c["start"], c["end"], c["keyword"]]),
                self.status,
                help_line,
                self.messages["trend"],
                self._chart_boxes["trend"],
                self.messages["rep_vs_team"],
                self._chart_boxes["rep_vs_team"],
                self.messages["heatmap"],
                self._chart_boxes["heatmap"],
                self.messages["outcomes"],
                self._chart_boxes["outcomes"],
                w.HTML("<h4>Notes</h4>"),
                self.notes_pager.box,
                self.notes,
                w.HTML("<h4>Drill-down: the activities behind a rep and period</h4>"),
                w.HBox([self.drill_rep, self.drill_period]),
                self.drill_title,
                self.drill_pager.box,
                self.drill_table,
                self.drill_csv,
            ]
        )
        self.widget.add_class("ck-explorer")
        self.refresh()

    # -- selection --
    def default_selection(self) -> ex.Selection:
        """The first team, its first rep, the data's last 8 calendar weeks (from a Monday), activities per week."""
        first, last = ex._data_days(self.data)
        team = self.explorer.teams[1] if len(self.explorer.teams) > 1 else ex.ALL_TEAMS
        reps = self.explorer.rep_options(team)
        start = None
        if last is not None:
            monday = pd.Timestamp(ex.period_start(pd.Series([last]), "W").iloc[0])
            start = max(first, monday - pd.Timedelta(weeks=7))
        return ex.Selection(team=team, reps=(reps[0][1],) if reps else (), start=start, end=last)

    def selection(self) -> ex.Selection:
        """The selection the controls show now."""
        c = self.controls
        return ex.Selection.of(
            team=c["team"].value,
            reps=c["reps"].value,
            start=c["start"].value,
            end=c["end"].value,
            freq=c["freq"].value,
            kpi=c["kpi"].value,
            types=c["types"].value,
            keyword=c["keyword"].value,
        )

    # -- callbacks --
    def _on_control(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["owner"] is self.controls["team"]:
            self._quiet = True  # the rep choices follow the team: no refresh for that
            try:
                reps = self.controls["reps"]
                reps.value = ()
                reps.options = self.explorer.rep_options(change["new"])
            finally:
                self._quiet = False
        self.refresh()

    def _on_drill(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._safely(self._update_drill)

    def _on_pick(self, change: Any) -> None:
        """A click on a trend point: that rep and period in the drill-down."""
        value = getattr(change.get("new"), "value", None) if isinstance(change, dict) else None
        if not value:
            return
        picked = value[0] if isinstance(value, list) else value
        rep, period = picked.get("rep_id"), picked.get("period")
        if not rep or not period:
            return
        self._safely(lambda: self.pick(rep, period))

    def pick(self, rep: str, period: Any) -> None:
        """Show ``rep``'s activities in the period containing ``period`` (what a click on the trend does)."""
        self._quiet = True
        try:
            if rep in [r for _, r in self.drill_rep.options]:
                self.drill_rep.value = rep
            start = pd.Timestamp(ex.period_start(pd.Series([pd.Timestamp(period)]), self.selection().freq).iloc[0])
            if start in [p for _, p in self.drill_period.options]:
                self.drill_period.value = start
        finally:
            self._quiet = False
        self._update_drill()

    def _safely(self, update: Callable[[], None]) -> None:
        try:
            update()
        except Exception as exc:  # a one-line message, never a traceback in the app
            log.exception("explorer update failed")
            self.status.value = (
                f"<p style='color:#b00020'>Could not update: {html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc).splitlines()[0] if str(exc) else '')}</p>"
            )

    # -- drawing --
    def refresh(self) -> None:
        """Redraw the views whose part of the selection changed (one rebuild per control change)."""
        self._safely(self._refresh)

    def _refresh(self) -> None:
        self.refreshes += 1
        sel = self.selection()
        e = self.explorer
        problem = e.problem(sel)
        updated: list[str] = []
        if problem:
            self.status.value = f"<p style='color:#b00020'><b>{html.escape(problem)}</b></p>"
            for key in self.VIEWS:
                self._show_part(key, ex.Part(message=""))
            self.notes.value = ""
            self.notes_pager.reset(0)
            self._keys.clear()
            self._set_drill_options([], [])
            self._draw_drill_frame(None, "")
            self.last_update = ("status",)
            return
        start, end = e.span(sel)
        who = ex._who(self.data, sel.reps) if sel.reps else (sel.team if sel.team != ex.ALL_TEAMS else "every team")
        self.status.value = f"<p><b>{html.escape(who)}</b>, {html.escape(ex._range_text(start, end))}</p>"
        keys = {
            "trend": e.trend_key(sel),
            "rep_vs_team": e.rep_vs_team_key(sel),
            "activity": e.activities_key(sel),
            "notes": e.notes_key(sel),
            "drill": (e.activities_key(sel), sel.freq),
        }
        if keys["trend"] != self._keys.get("trend"):
            self._show_part("trend", e.trend(sel))
            updated.append("trend")
        if keys["rep_vs_team"] != self._keys.get("rep_vs_team"):
            self._show_part("rep_vs_team", e.rep_vs_team(sel))
            updated.append("rep_vs_team")
        if keys["activity"] != self._keys.get("activity"):
            parts = e.activity_parts(sel)
            self._show_part("heatmap", parts["heatmap"])
            self._show_part("outcomes", parts["outcomes"])
            updated += ["heatmap", "outcomes"]
        if keys["notes"] != self._keys.get("notes"):
            found, _ = e.notes(sel)
            self.notes_pager.reset(len(found))
            self._draw_notes()
            updated.append("notes")
        if keys["drill"] != self._keys.get("drill"):
            self._reset_drill(sel)
            updated.append("drill")
        self._keys = keys
        self.last_update = tuple(updated)

    def _show_part(self, key: str, part: ex.Part) -> None:
        import altair as alt

        box = self._chart_boxes[key]
        self.messages[key].value = f"<p><i>{html.escape(part.message)}</i></p>" if part.message else ""
        if not part.ok:
            box.layout.display = "none"
            return
        jc = self.charts[key]
        if jc is None:
            jc = alt.JupyterChart(part.chart)
            self.charts[key] = jc
            box.children = (jc,)
            if key == "trend":
                jc.selections.observe(self._on_pick, ["pick"])
        else:
            # The same view always has the same selections (the trend's click, nothing else), so only the spec
            # changes: send it without Altair's schema validation (~0.1 s a chart; the charts are tested).
            jc.spec = part.chart.to_dict(validate=False)
        box.layout.display = ""

    def _draw_notes(self) -> None:
        sel = self.selection()
        found, total = self.explorer.notes(sel)
        start = self.notes_pager.start
        self.notes.value = ex.notes_html(found, sel.keyword, total_notes=total, start=start, size=PAGE_ROWS)

    def _set_drill_options(self, reps: list[tuple[str, str]], periods: list[tuple[str, pd.Timestamp]]) -> None:
        self._quiet = True
        try:
            self.drill_rep.options = reps
            self.drill_period.options = periods
        finally:
            self._quiet = False

    def _reset_drill(self, sel: ex.Selection) -> None:
        """Drill-down choices for the selection; the first chosen rep's latest period with activity."""
        e = self.explorer
        chosen = list(e.chosen(sel))
        names = ex.rep_names(self.data, chosen)
        periods = e.periods(sel)
        p_opts = list(zip(periods["label"], periods["period_start"], strict=True))
        keep_rep = self.drill_rep.value if self.drill_rep.value in chosen else None
        self._set_drill_options(list(zip(names, chosen, strict=True)), p_opts)
        rep = keep_rep or (chosen[0] if chosen else None)
        period = e.latest_period(rep, sel) if rep else None
        self._quiet = True
        try:
            if rep is not None:
                self.drill_rep.value = rep
            if period is not None and period in set(periods["period_start"]):
                self.drill_period.value = period
            elif p_opts:
                self.drill_period.value = p_opts[0][1]
        finally:
            self._quiet = False
        self._update_drill()

    def _update_drill(self) -> None:
        sel = self.selection()
        rep, period = self.drill_rep.value, self.drill_period.value
        if rep is None or period is None:
            self._draw_drill_frame(None, "")
            return
        frame = self.explorer.drill(rep, period, sel.freq, sel.types)
        label = dict((v, k) for k, v in self.drill_period.options).get(period, "")
        name = ex.rep_names(self.data, [rep])[0]
        self._draw_drill_frame(frame, f"{name}, {label}", rep=rep, period=pd.Timestamp(period))

    def _draw_drill_frame(self, frame: pd.DataFrame | None, title: str, **meta: Any) -> None:
        self._drill_frame = frame
        if frame is None:
            self.drill_title.value = "<p><i>Pick a rep and a period.</i></p>"
            self.drill_pager.reset(0)
            self.drill_table.value = ""
            self.drill_csv.value = ""
            return
        n = len(frame)
        types = f" ({', '.join(self.selection().types)})" if self.selection().types else ""
        self.drill_title.value = f"<p><b>{html.escape(title)}</b>: {ex.activities_text(n)}{html.escape(types)}</p>"
        self.drill_pager.reset(n)
        self._draw_drill()
        if n:
            rep, period = meta.get("rep", "rep"), meta.get("period")
            stamp = f"{period:%Y-%m-%d}" if period is not None else ""
            name = _safe_name(f"{rep}_{self.selection().freq}_{stamp}.csv")
            payload = base64.b64encode(ex.drill_csv(frame).encode("utf-8")).decode("ascii")
            self.drill_csv.value = (
                f'<a download="{html.escape(name)}" href="data:text/csv;charset=utf-8;base64,{payload}">'
                f"⬇ Export {'this' if n == 1 else 'these'} {ex.activities_text(n)} to CSV ({html.escape(name)})</a>"
            )
        else:
            self.drill_csv.value = ""

    def _draw_drill(self) -> None:
        frame = self._drill_frame
        if frame is None:
            return
        if not len(frame):
            self.drill_table.value = "<p><i>No activity of this rep in this period.</i></p>"
            return
        self.drill_table.value = ex.table_html(ex.drill_display(self.drill_pager.page(frame)))


def _date(value: Any) -> Any:
    return None if value is None else pd.Timestamp(value).date()


def _safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)


def app(data: Any, sel: ex.Selection | None = None) -> Any:
    """The interactive explorer for ``data``, starting at ``sel`` (default: the first team's first rep over
    the last 8 weeks): an ipywidgets box to display (:class:`ExplorerApp`)."""
    return ExplorerApp(data, sel).widget
