"""KPIs: exact definitions, one long table, and an ``@kpi`` registry analysts can extend.

Every KPI is a function registered with :func:`kpi`. Its docstring is its exact
definition (``coachkit kpis`` prints it). :func:`kpi_table` computes KPIs per rep
and calendar period on a grid of every rep x every period they were employed in,
and adds 95% Wilson intervals to rates.

A KPI function receives a :class:`KpiInput` and returns a DataFrame indexed by
(``rep_id``, ``period_start``) with either a ``value`` column or ``numerator`` and
``denominator`` columns (then value = numerator / denominator, NaN when the
denominator is 0). Rows missing from the result are filled on the grid: 0 for
count and sum KPIs, numerator = denominator = 0 (value NaN) for ratios, NaN otherwise.

Example of an analyst's KPI module (named in the playbook's ``[kpis] modules``)::

    import coachkit

    @coachkit.kpi("voicemails", label="Voicemails", unit="calls", kind="count")
    def voicemails(inp):
        \"\"\"calls with outcome voicemail\"\"\"
        a = inp.activities
        hit = a[(a.activity_type == "call") & (a.outcome == "voicemail")]
        return hit.groupby(["rep_id", "period_start"]).size().to_frame("value")
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import schema
from .dataset import performed_activities
from .kpi_sql import HAS_TEXT
from .playbook import Playbook
from .stats import wilson

__all__ = [
    "KINDS",
    "FREQS",
    "KpiDef",
    "KpiInput",
    "registry",
    "kpi",
    "kpi_table",
    "list_kpis",
    "period_start",
    "import_kpi_modules",
    "kpi_columns",
]

#: The kinds of KPI. ``count``: whole events (a Poisson-type count; missing = 0); ``rate``: whole successes /
#: whole trials (the only kind with a Wilson interval in the table); ``sum``: an amount or a duration summed
#: over events (missing = 0; never a Poisson interval: see :func:`coachkit.stats.sum_interval`); ``mean`` and
#: ``score``: averages.
KINDS: tuple[str, ...] = ("count", "rate", "sum", "mean", "score")
#: Period frequencies: day, week (starting Monday), calendar month.
FREQS: tuple[str, ...] = ("D", "W", "M")

#: Columns of the long table returned by :func:`kpi_table`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "rep_id",
    "period_start",
    "kpi",
    "value",
    "numerator",
    "denominator",
    "ci_low",
    "ci_high",
)

_DAY_NS = np.int64(86_400 * 10**9)


# ---- registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiDef:
    """A registered KPI: its name, how to show it, its exact definition and the function computing it."""

    name: str
    label: str
    unit: str
    kind: str
    higher_is_better: bool
    description: str
    definition: str
    func: Callable[[KpiInput], pd.DataFrame | pd.Series]
    #: table -> the columns the KPI reads (rep_id, occurred_at and the tables' required columns aside); None: it
    #: may read any column. :func:`kpi_columns` collects them for ``load(columns=...)``.
    columns: dict[str, tuple[str, ...]] | None = None
    #: For KPIs defined in SQL (:mod:`coachkit.kpi_sql`): output (``value``, or ``numerator`` and
    #: ``denominator``) -> aggregate expression over the activities view, per rep and period.
    sql: dict[str, str] | None = None


#: KPI name -> :class:`KpiDef`, in registration order (built-ins first).
registry: dict[str, KpiDef] = {}


def kpi(
    name: str,
    *,
    label: str,
    unit: str,
    kind: str,
    higher_is_better: bool = True,
    description: str = "",
    columns: dict[str, Iterable[str]] | Iterable[str] | None = None,
    sql: dict[str, str] | None = None,
) -> Callable[[Callable[[KpiInput], Any]], Callable[[KpiInput], Any]]:
    """Register the decorated function as the KPI ``name``.

    ``kind`` is one of count, rate, sum, mean or score (see :data:`KINDS`). The function's docstring is
    the KPI's exact definition and is required. Registering a name again replaces
    the earlier KPI (so re-running a notebook cell, or an analyst's module
    overriding a built-in, just works). The function is returned unchanged.

    ``columns`` declares what the KPI reads: activities columns (a list), or table -> columns; None (the
    default) means any column, so ``load(columns=kpi_columns([...]))`` then reads everything. ``sql`` defines
    the KPI by SQL aggregate expressions over the activities (see :mod:`coachkit.kpi_sql`): ``{"value": ...}``
    or ``{"numerator": ..., "denominator": ...}``; the function then returns ``inp.sql_result(name)``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"KPI name must be a Python-identifier-like string such as 'calls', got {name!r}")
    if kind not in KINDS:
        raise ValueError(f"KPI {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")

    def register(func: Callable[[KpiInput], Any]) -> Callable[[KpiInput], Any]:
        doc = inspect.getdoc(func)
        if not doc or not doc.strip():
            raise ValueError(f"KPI {name!r}: the function needs a docstring stating the KPI's exact definition")
        definition = " ".join(doc.split())
        cols = None
        if columns is not None:
            asked = dict(columns) if isinstance(columns, dict) else {"activities": columns}
            cols = {t: (c,) if isinstance(c, str) else tuple(c) for t, c in asked.items()}
        registry[name] = KpiDef(
            name, label, unit, kind, bool(higher_is_better), description, definition, func, cols, sql
        )
        return func

    return register


def kpi_columns(kpis: Iterable[str] | str | None = None) -> dict[str, tuple[str, ...]] | None:
    """What :func:`coachkit.load` must read for ``kpis`` (default: every registered KPI): table -> columns, for
    ``load(source, columns=kpi_columns([...]))``; None when one of them may read any column (load everything).

    The activities' rep_id and occurred_at (periods) are always included.
    """
    names = list(registry) if kpis is None else [kpis] if isinstance(kpis, str) else list(kpis)
    out: dict[str, list[str]] = {"activities": ["rep_id", "occurred_at"]}
    for name in names:
        if name not in registry:
            raise KeyError(f"unknown KPI {name!r}; known: {', '.join(registry)}")
        cols = registry[name].columns
        if cols is None:
            return None
        for table, names_ in cols.items():
            out.setdefault(table, []).extend(names_)
    return {t: tuple(dict.fromkeys(c)) for t, c in out.items()}


def _check_columns(data: Any, names: Sequence[str]) -> None:
    """A clear error when ``data`` was loaded without a column one of the KPIs ``names`` reads."""
    read = getattr(data, "columns_read", None)
    if read is None:
        return
    for name in names:
        cols = registry[name].columns
        if cols is None:
            raise ValueError(
                f"KPI {name!r} may read any column, but the data was loaded with only some columns (load(columns=...)); "
                "load it without columns=, or give the KPI's columns in @kpi(columns=...)"
            )
        for table, needed in cols.items():
            missing = [c for c in needed if c not in read.get(table, ())]
            if missing:
                raise ValueError(
                    f"KPI {name!r} reads {table} column(s) {', '.join(missing)}, which were not loaded; "
                    f"load with columns=coachkit.kpis.kpi_columns([...]) naming this KPI, or without columns="
                )


def list_kpis() -> pd.DataFrame:
    """The registered KPIs: name, label, unit, kind, higher_is_better and definition (one row each)."""
    rows = [(d.name, d.label, d.unit, d.kind, d.higher_is_better, d.definition) for d in registry.values()]
    out = pd.DataFrame(rows, columns=["name", "label", "unit", "kind", "higher_is_better", "definition"])
    for col in ("name", "label", "unit", "kind", "definition"):
        out[col] = out[col].astype(schema.STRING)
    return out.astype({"higher_is_better": bool})


def import_kpi_modules(playbook: Playbook) -> None:
    """Import the playbook's ``[kpis] modules`` and ``paths`` so that their ``@kpi`` functions register."""
    from .kpi_files import import_kpi_files

    import_kpi_files(getattr(playbook, "kpi_paths", ()), source=playbook.source)
    for module in playbook.kpi_modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ImportError(
                f"{playbook.source}: `kpis.modules` names {module!r}, which cannot be imported: "
                f"{type(exc).__name__}: {exc}. Check the module name and that its folder is on sys.path."
            ) from exc


# ---- periods --------------------------------------------------------------------------------


def _check_freq(freq: str) -> str:
    if freq not in FREQS:
        raise ValueError(f"freq must be one of 'D' (day), 'W' (week from Monday) or 'M' (month), got {freq!r}")
    return freq


_NS_PER_DAY = 86_400 * 10**9


def _start_days(values: np.ndarray, freq: str) -> np.ndarray:
    """Period start, as datetime64[D], of datetime64 ``values`` (NaT stays NaT)."""
    if values.dtype == "datetime64[ns]":  # integer floor division: much faster than astype on millions
        nat = np.isnat(values)
        days = (values.view(np.int64) // _NS_PER_DAY).astype("datetime64[D]")
        days[nat] = np.datetime64("NaT")
    else:
        days = values.astype("datetime64[D]")
    if freq == "D":
        return days
    if freq == "M":
        return days.astype("datetime64[M]").astype("datetime64[D]")
    n = days.astype(np.int64)
    # 1970-01-01 was a Thursday: (n + 3) % 7 is 0 on Mondays.
    monday = (n - (n + 3) % 7).astype("datetime64[D]")
    monday[np.isnat(days)] = np.datetime64("NaT")
    return monday


def _days_to_ns(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> datetime64[ns] by integer arithmetic (much faster than astype on millions)."""
    nat = np.isnat(days)
    ns = np.where(nat, 0, days.view(np.int64)) * _DAY_NS
    ns[nat] = np.iinfo(np.int64).min  # NaT
    return ns.view("datetime64[ns]")


def _next_start(starts: np.ndarray, freq: str) -> np.ndarray:
    """Start of the following period, for datetime64[D] period starts."""
    if freq == "D":
        return starts + np.timedelta64(1, "D")
    if freq == "W":
        return starts + np.timedelta64(7, "D")
    return (starts.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[D]")


def period_start(values: Any, freq: str = "W") -> pd.Series | np.ndarray:
    """The first day (midnight) of the calendar period containing each local timestamp.

    ``freq`` is ``"D"`` (the day), ``"W"`` (the Monday) or ``"M"`` (the 1st).
    A Series gives a Series with the same index; anything else a datetime64[ns] array.
    """
    _check_freq(freq)
    if isinstance(values, pd.Series):
        arr = values.to_numpy(dtype="datetime64[ns]")
        return pd.Series(_start_days(arr, freq).astype("datetime64[ns]"), index=values.index, name="period_start")
    arr = np.asarray(pd.to_datetime(values), dtype="datetime64[ns]")
    return _start_days(arr, freq).astype("datetime64[ns]")


def _period_code(days: np.ndarray, first: np.datetime64, freq: str) -> np.ndarray:
    """Index of datetime64[D] period starts counted from the window's first period."""
    if freq == "M":
        return (days.astype("datetime64[M]") - first.astype("datetime64[M]")).astype(np.int64)
    step = 7 if freq == "W" else 1
    return (days - first).astype(np.int64) // step


def _as_naive_local(ts: pd.Series, playbook: Playbook) -> pd.Series:
    # Canonical frames are already tz-naive local time; tolerate tz-aware input built by hand.
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        return ts.dt.tz_convert(playbook.zone).dt.tz_localize(None)
    return ts


def _arrow(s: pd.Series) -> pa.ChunkedArray:
    """The values of a text column as a pyarrow string array (zero-copy for pandas' pyarrow strings)."""
    arr = s.array
    out = arr.__arrow_array__() if hasattr(arr, "__arrow_array__") else None
    if out is None:
        out = pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.large_string(), from_pandas=True)
    if isinstance(out, pa.Array):
        out = pa.chunked_array([out])
    if not pa.types.is_large_string(out.type):
        out = out.cast(pa.large_string())
    return out


def _codes(s: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Integer codes of a text column (-1 where missing) and value -> code."""
    enc = _arrow(s).dictionary_encode()
    if enc.num_chunks == 0:
        return np.full(len(s), -1, dtype=np.int32), {}
    codes = np.concatenate([pc.fill_null(ch.indices, -1).to_numpy() for ch in enc.chunks]).astype(np.int32)
    return codes, {v: i for i, v in enumerate(enc.chunk(0).dictionary.to_pylist())}


def _index_in(s: pd.Series, values: Sequence[str] | pa.Array) -> np.ndarray:
    """Position of each value of a text column in ``values``; -1 when absent or missing."""
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.large_string())
    found = pc.index_in(_arrow(s), value_set=values)
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


# ---- the input of a KPI ---------------------------------------------------------------------


class _Lazy:
    """A field whose value may be given as a function, called the first time the field is read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, f"_{name}_value"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            raise AttributeError(self.name)  # no default: the field is required
        value = obj.__dict__[self.slot]
        if callable(value) and not isinstance(value, pd.DataFrame):
            value = value()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


@dataclass(frozen=True)
class KpiInput:
    """What a KPI function receives.

    - ``activities``: the canonical performed activities plus ``period_start`` (all of
      them, also those outside the grid; results are reindexed to the grid). Activities
      whose ``done`` is false (to-dos not done) are left out: no KPI counts them.
    - ``deals``: the canonical deals plus ``created_period`` and ``closed_period``.
    - ``reps``: the canonical reps table; ``playbook``; ``freq`` ("D", "W" or "M").
    - ``grid``: one row per rep x period to report, indexed by (``rep_id``,
      ``period_start``), with ``period_end`` (exclusive: the next period's start),
      ``role``, ``hired_at`` and ``left_at``.

    The helper methods (:meth:`count`, :meth:`total`, :meth:`value`, ...) work on
    arrays aligned to ``grid`` and are what the built-ins use to stay fast. KPIs defined in SQL
    (:meth:`sql_result`) are computed by DuckDB from the Arrow form of the activities; the pandas
    ``activities`` frame is built only when a KPI reads it.
    """

    activities: pd.DataFrame = _Lazy()  # type: ignore[assignment]
    deals: pd.DataFrame
    reps: pd.DataFrame
    playbook: Playbook
    freq: str
    grid: pd.DataFrame
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- construction --
    @classmethod
    def from_data(
        cls,
        data: Any,
        *,
        freq: str = "W",
        start: Any = None,
        end: Any = None,
        reps: Iterable[str] | str | None = None,
    ) -> KpiInput:
        """Prepare a :class:`coachkit.SalesData` for KPIs: periods, and the rep x period grid.

        The window runs from the period of the earliest activity to the period of
        the latest; ``start`` / ``end`` (dates) replace either end with the period
        containing them. ``reps`` limits the grid to those rep ids.
        """
        _check_freq(freq)
        from .timezones import rep_local, rep_zones

        pb: Playbook = data.playbook
        if hasattr(data, "performed"):
            data = data.performed()  # to-dos not done (``done`` false) are not effort
        arrow = data.arrow_activities() if hasattr(data, "arrow_activities") else None
        zones = rep_zones(data.reps, pb)
        if arrow is not None:
            # Activities still in Arrow form (a clean Parquet load): the SQL KPIs scan them as they are, with
            # the reps' local times when some rep has a timezone of their own.
            if len(zones):
                rep_ids = arrow.column("rep_id").to_pandas()
                utc = pd.Series(arrow.column("occurred_at").to_numpy(), dtype="datetime64[ns]")
                local = rep_local(utc, rep_ids, data.reps, pb).to_numpy(dtype="datetime64[ns]")
                i = arrow.column_names.index("occurred_at")
                arrow = arrow.set_column(i, "occurred_at", pa.array(local, type=pa.timestamp("ns")))
            times = arrow.column("occurred_at")
            bounds = pc.min_max(times).as_py() if len(times) else {"min": None, "max": None}
            lo = None if bounds["min"] is None else np.datetime64(pd.Timestamp(bounds["min"]).as_unit("ns"))
            hi = None if bounds["max"] is None else np.datetime64(pd.Timestamp(bounds["max"]).as_unit("ns"))
            source = arrow

            def activities() -> pd.DataFrame:
                acts = schema.from_arrow(source, "activities")
                days = _start_days(acts["occurred_at"].to_numpy(dtype="datetime64[ns]"), freq)
                return acts.assign(period_start=_days_to_ns(days))

            acts_value: Any = activities
            cache: dict[str, Any] = {"arrow": arrow}
        else:
            acts = performed_activities(data.activities)  # to-dos not done (``done`` false) are not effort
            # a rep with a timezone of their own: their days, weeks and hours in their local time
            occurred = rep_local(_as_naive_local(acts["occurred_at"], pb), acts["rep_id"], data.reps, pb)
            a_days = _start_days(occurred.to_numpy(dtype="datetime64[ns]"), freq)
            acts_value = acts.assign(occurred_at=occurred, period_start=_days_to_ns(a_days))
            valid = occurred.to_numpy(dtype="datetime64[ns]")
            valid = valid[~np.isnat(valid)]
            lo, hi = (valid.min(), valid.max()) if len(valid) else (None, None)
            cache = {"act_days": a_days}

        deals = data.deals
        created = rep_local(_as_naive_local(deals["created_at"], pb), deals["rep_id"], data.reps, pb)
        closed = rep_local(_as_naive_local(deals["closed_at"], pb), deals["rep_id"], data.reps, pb)
        deals = deals.assign(
            created_at=created,
            closed_at=closed,
            created_period=_start_days(created.to_numpy(dtype="datetime64[ns]"), freq).astype("datetime64[ns]"),
            closed_period=_start_days(closed.to_numpy(dtype="datetime64[ns]"), freq).astype("datetime64[ns]"),
        )

        # Window, as datetime64[D] period starts.
        first = None if lo is None else _start_days(np.array([lo], dtype="datetime64[ns]"), freq)[0]
        last = None if hi is None else _start_days(np.array([hi], dtype="datetime64[ns]"), freq)[0]
        if start is not None:
            first = _start_days(np.array([pd.Timestamp(start).to_datetime64()]), freq)[0]
        if end is not None:
            last = _start_days(np.array([pd.Timestamp(end).to_datetime64()]), freq)[0]

        grid = _grid(data.reps, reps, first, last, freq)
        cache.update(first=first, last=last, reps_asked=reps)
        return cls(acts_value, deals, data.reps, pb, freq, grid, cache)

    # -- SQL KPIs --
    def arrow(self) -> pa.Table:
        """The activities as an Arrow table with local times, for the SQL KPIs (built once from pandas if needed)."""
        if "arrow" not in self._cache:
            a = self.activities.drop(columns=["period_start"], errors="ignore")
            self._cache["arrow"] = pa.Table.from_pandas(a, preserve_index=False)
        return self._cache["arrow"]

    def _sql_scope(self) -> tuple[np.datetime64, np.datetime64, list[str] | None] | None:
        """(first day, end day exclusive, reps or None for all) of the grid, or None for an empty grid."""
        if len(self.grid) == 0:
            return None
        starts = self.grid.index.get_level_values(1).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        first = starts.min()
        end = _next_start(np.array([starts.max()]), self.freq)[0]
        reps = None
        if self._cache.get("reps_asked") is not None:
            reps = [str(r) for r in self._grid_reps()]
        return first, end, reps

    def sql_result(self, name: str) -> pd.DataFrame:
        """The KPI ``name``, defined in SQL (``registry[name].sql``), on the grid.

        Every SQL KPI :func:`kpi_table` was asked for is computed in the same query (one scan of the
        activities) the first time one of them is needed.
        """
        key = f"sql={name}"
        if key not in self._cache:
            wanted = [n for n in self._cache.get("sql_wanted", ()) if f"sql={n}" not in self._cache]
            if name not in wanted:
                wanted.append(name)
            self._run_sql(wanted)
        return self._cache[key]

    def _run_sql(self, names: Sequence[str]) -> None:
        from . import kpi_sql

        outputs = {}
        for name in names:
            d = registry[name]
            if not d.sql:
                raise ValueError(f"KPI {name!r} has no SQL definition")
            for out, expr in d.sql.items():
                outputs[f"{name}.{out}"] = expr
        scope = self._sql_scope()
        n = len(self.grid)
        cols = {k: np.zeros(n) for k in outputs}
        if scope is not None:
            got = kpi_sql.aggregate(self.arrow(), self.freq, *scope, outputs)
            cells = self._cells(self._grid_reps().get_indexer(got["rep_id"]), got["period_day"].astype("datetime64[D]"))
            on = cells >= 0
            for k in outputs:
                cols[k][cells[on]] = got[k][on]
        for name in names:
            sql = registry[name].sql or {}
            if "value" in sql:
                self._cache[f"sql={name}"] = self.frame(cols[f"{name}.value"])
            else:
                self._cache[f"sql={name}"] = self.frame(
                    numerator=cols[f"{name}.numerator"], denominator=cols[f"{name}.denominator"]
                )

    # -- grid helpers --
    @property
    def index(self) -> pd.MultiIndex:
        """The grid's (rep_id, period_start) index; built-in results use it."""
        return self.grid.index

    def frame(
        self,
        value: np.ndarray | None = None,
        *,
        numerator: np.ndarray | None = None,
        denominator: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """A KPI result on the grid from arrays aligned to ``grid`` rows."""
        if value is not None:
            return pd.DataFrame({"value": np.asarray(value, dtype="float64")}, index=self.index)
        return pd.DataFrame(
            {
                "numerator": np.asarray(numerator, dtype="float64"),
                "denominator": np.asarray(denominator, dtype="float64"),
            },
            index=self.index,
        )

    def _grid_reps(self) -> pd.Index:
        """The grid's reps; also builds the (rep, period) -> grid row lookup used by :meth:`_cells`."""
        if "grid_reps" not in self._cache:
            if self._cache.get("first") is None and len(self.grid):
                first = self.grid.index.get_level_values(1).min().to_datetime64().astype("datetime64[D]")
                self._cache["first"] = first
            g_rep = self.grid.index.get_level_values(0)
            reps = pd.Index(g_rep.unique())
            n_periods, cube = 0, np.array([], dtype=np.int64)
            if len(self.grid):
                g_days = self.grid.index.get_level_values(1).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
                g_code = _period_code(g_days, self._cache["first"], self.freq)
                n_periods = int(g_code.max()) + 1
                cube = np.full(len(reps) * n_periods, -1, dtype=np.int64)
                cube[reps.get_indexer(g_rep) * n_periods + g_code] = np.arange(len(self.grid))
            self._cache.update(grid_reps=reps, n_periods=n_periods, cube=cube)
        return self._cache["grid_reps"]

    def _cells(self, rep_code: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Grid row of each (rep code, period start as datetime64[D]) pair, or -1 when not on the grid."""
        self._grid_reps()
        if len(self.grid) == 0:
            return np.full(len(days), -1, dtype=np.int64)
        first, n_periods, cube = self._cache["first"], self._cache["n_periods"], self._cache["cube"]
        ok = ~np.isnat(days)
        p_code = np.full(len(days), -1, dtype=np.int64)
        p_code[ok] = _period_code(days[ok], first, self.freq)
        ok &= (rep_code >= 0) & (p_code >= 0) & (p_code < n_periods)
        cells = np.full(len(days), -1, dtype=np.int64)
        cells[ok] = cube[rep_code[ok] * n_periods + p_code[ok]]
        return cells

    def activity_cells(self) -> np.ndarray:
        """Grid row of each activity (-1 when its rep or period is not on the grid)."""
        if "act_cells" not in self._cache:
            self._cache["act_cells"] = self._cells(self.activity_rep_codes(), self._activity_period_days())
        return self._cache["act_cells"]

    def _activity_period_days(self) -> np.ndarray:
        """Each activity's period start as datetime64[D] (kept from :meth:`from_data` when built there)."""
        if "act_days" not in self._cache:
            ps = self.activities["period_start"].to_numpy(dtype="datetime64[ns]")
            self._cache["act_days"] = ps.astype("datetime64[D]")
        return self._cache["act_days"]

    def activity_rep_codes(self) -> np.ndarray:
        """Position of each activity's rep among the grid's reps (-1 when not on the grid)."""
        if "act_reps" not in self._cache:
            self._cache["act_reps"] = _index_in(self.activities["rep_id"], self._grid_reps())
        return self._cache["act_reps"]

    def codes(self, column: str) -> tuple[np.ndarray, dict[str, int]]:
        """Integer codes of a text column of ``activities`` (-1 where missing) and value -> code (computed once)."""
        key = f"codes={column}"
        if key not in self._cache:
            self._cache[key] = _codes(self.activities[column])
        return self._cache[key]

    def deal_cells(self, by: str) -> np.ndarray:
        """Grid row of each deal by ``created_period`` or ``closed_period`` (-1 when not on the grid)."""
        key = f"deal_cells_{by}"
        if key not in self._cache:
            days = self.deals[by].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
            self._cache[key] = self._cells(_index_in(self.deals["rep_id"], self._grid_reps()), days)
        return self._cache[key]

    @staticmethod
    def _bin(cells: np.ndarray, n: int, mask: Any = None, weights: Any = None) -> np.ndarray:
        if mask is not None:
            keep = np.asarray(mask, dtype=bool)
            cells = cells[keep]
            if weights is not None:
                weights = np.asarray(weights, dtype="float64")[keep]
        on = cells >= 0  # -1: off the grid
        w = None if weights is None else np.nan_to_num(np.asarray(weights, dtype="float64")[on], nan=0.0)
        return np.bincount(cells[on], weights=w, minlength=n).astype("float64")

    def count(self, mask: Any = None) -> np.ndarray:
        """Number of activities (where ``mask``) per grid row."""
        return self._bin(self.activity_cells(), len(self.grid), mask)

    def total(self, weights: Any, mask: Any = None) -> np.ndarray:
        """Σ ``weights`` over activities (where ``mask``) per grid row; missing weights count as 0."""
        return self._bin(self.activity_cells(), len(self.grid), mask, weights)

    def deal_count(self, by: str, mask: Any = None, weights: Any = None) -> np.ndarray:
        """Number (or Σ ``weights``) of deals (where ``mask``) per grid row, by ``created_period`` or ``closed_period``."""
        return self._bin(self.deal_cells(by), len(self.grid), mask, weights)

    def is_type(self, activity_type: str) -> np.ndarray:
        """Boolean array: activities of ``activity_type``."""
        codes, lookup = self.codes("activity_type")
        return codes == lookup.get(activity_type, -2)

    def has_outcome(self, outcome: str | None = None) -> np.ndarray:
        """Boolean array: activities whose outcome is ``outcome`` (None: that have any outcome)."""
        codes, lookup = self.codes("outcome")
        return codes >= 0 if outcome is None else codes == lookup.get(outcome, -2)

    def is_conversation(self) -> np.ndarray:
        """Boolean array: calls with outcome connected and meetings with outcome held."""
        if "conversation" not in self._cache:
            self._cache["conversation"] = (self.is_type("call") & self.has_outcome("connected")) | (
                self.is_type("meeting") & self.has_outcome("held")
            )
        return self._cache["conversation"]

    def result(self, name: str) -> pd.DataFrame:
        """KPI ``name`` on the grid: ``value``, ``numerator``, ``denominator`` (computed once, then cached)."""
        key = f"kpi={name}"
        cached = self._cache.get(key)
        if cached is _COMPUTING:
            raise ValueError(f"KPI {name!r} depends on itself (directly or through another KPI)")
        if cached is not None:
            return cached
        if name not in registry:
            raise KeyError(f"unknown KPI {name!r}; known: {', '.join(registry)}")
        self._cache[key] = _COMPUTING
        try:
            out = _on_grid(registry[name], registry[name].func(self), self.index)
        except BaseException:
            del self._cache[key]
            raise
        self._cache[key] = out
        return out

    def value(self, name: str) -> np.ndarray:
        """Values of KPI ``name`` aligned to ``grid`` rows (for KPIs built on other KPIs)."""
        return self.result(name)["value"].to_numpy()


_COMPUTING = object()


def _grid(reps: pd.DataFrame, only: Iterable[str] | str | None, first: Any, last: Any, freq: str) -> pd.DataFrame:
    """Every rep x every period in [first, last], limited to the rep's employment."""
    r = reps.drop_duplicates("rep_id").dropna(subset=["rep_id"])
    if only is not None:
        wanted = [only] if isinstance(only, str) else list(only)
        unknown = sorted(set(wanted) - set(r["rep_id"]))
        if unknown:
            raise ValueError(f"reps not in the reps table: {', '.join(map(str, unknown))}")
        r = r[r["rep_id"].isin(wanted)]
    r = r.sort_values("rep_id", kind="stable")
    cols = ["role", "hired_at", "left_at"]
    if first is None or last is None or last < first or len(r) == 0:
        starts = np.array([], dtype="datetime64[D]")
    else:
        n = int(_period_code(np.array([last]), first, freq)[0]) + 1
        if freq == "M":
            starts = (first.astype("datetime64[M]") + np.arange(n)).astype("datetime64[D]")
        else:
            starts = first + np.arange(n) * (7 if freq == "W" else 1)
    ends = _next_start(starts, freq)
    n_r, n_p = len(r), len(starts)
    g = pd.DataFrame(
        {
            "rep_id": np.repeat(r["rep_id"].to_numpy(), n_p),
            "period_start": np.tile(starts, n_r).astype("datetime64[ns]"),
            "period_end": np.tile(ends, n_r).astype("datetime64[ns]"),
        }
    )
    for c in cols:
        col = r[c] if c in r.columns else pd.Series(np.nan if c == "role" else pd.NaT, index=r.index)
        g[c] = np.repeat(col.to_numpy(), n_p)
    keep = (g["hired_at"].isna() | (g["period_end"] > g["hired_at"])) & (
        g["left_at"].isna() | (g["period_start"] <= g["left_at"])
    )
    g = g[keep.to_numpy(dtype=bool)]
    g = g.astype({"rep_id": schema.STRING, "role": schema.STRING})
    return g.set_index(["rep_id", "period_start"])


def _on_grid(d: KpiDef, res: Any, index: pd.MultiIndex) -> pd.DataFrame:
    """A KPI function's result as ``value``, ``numerator``, ``denominator`` aligned to the grid."""
    if isinstance(res, pd.Series):
        res = res.to_frame("value")
    if not isinstance(res, pd.DataFrame):
        raise TypeError(f"KPI {d.name!r} returned {type(res).__name__}; it must return a DataFrame")
    if res.index.nlevels != 2:
        raise TypeError(
            f"KPI {d.name!r} must return a frame indexed by (rep_id, period_start); got index {list(res.index.names)}"
        )
    absent = np.zeros(len(index), dtype=bool)
    if not res.index.equals(index):
        if res.index.has_duplicates:
            raise ValueError(f"KPI {d.name!r} returned more than one row for some (rep_id, period_start)")
        res = res.set_axis(res.index.set_names(["rep_id", "period_start"]))
        absent = ~index.isin(res.index)
        res = res.reindex(index)
    n = len(index)
    if "numerator" in res.columns and "denominator" in res.columns:
        num = res["numerator"].to_numpy(dtype="float64", na_value=np.nan)
        den = res["denominator"].to_numpy(dtype="float64", na_value=np.nan)
        num = np.where(np.isnan(num) & np.isnan(den), 0.0, num)
        den = np.where(np.isnan(den), 0.0, den)
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    elif "value" in res.columns:
        val = res["value"].to_numpy(dtype="float64", na_value=np.nan)
        if d.kind == "count":
            val = np.where(np.isnan(val), 0.0, val)
        elif d.kind == "sum":  # rows the KPI did not return are 0; a NaN it returned stays (e.g. mixed currencies)
            val = np.where(absent & np.isnan(val), 0.0, val)
        num = den = np.full(n, np.nan)
    else:
        raise ValueError(
            f"KPI {d.name!r} must return a `value` column or `numerator` and `denominator` columns; "
            f"got {list(res.columns)}"
        )
    return pd.DataFrame({"value": val, "numerator": num, "denominator": den}, index=index)


# ---- the table ------------------------------------------------------------------------------


def _rate_interval(name: str, num: np.ndarray, den: np.ndarray, idx: pd.MultiIndex) -> tuple[np.ndarray, np.ndarray]:
    """Wilson intervals of a rate KPI's rows; a clear error naming the row when they are not whole counts."""
    try:
        return wilson(num, den)
    except ValueError as exc:
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(num) & ((num < 0) | (num != np.floor(num)) | (den != np.floor(den)) | (num > den))
        i = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        rep, start = idx[i] if len(idx) else ("?", "?")
        raise ValueError(
            f"KPI {name!r} (kind rate) has numerator {num[i]:g} and denominator {den[i]:g} for rep {rep} in the "
            f"period starting {pd.Timestamp(start):%Y-%m-%d}: {exc}. A rate counts whole events out of whole events; "
            "register a ratio of amounts with kind='mean'."
        ) from None


def kpi_table(
    data: Any,
    *,
    freq: str = "W",
    start: Any = None,
    end: Any = None,
    kpis: Iterable[str] | str | None = None,
    reps: Iterable[str] | str | None = None,
) -> pd.DataFrame:
    """KPIs per rep and calendar period as one long table.

    One row per rep x period x KPI with columns ``rep_id``, ``period_start``
    (the day for ``freq="D"``, the Monday for ``"W"``, the 1st for ``"M"``),
    ``kpi``, ``value``, ``numerator`` and ``denominator`` (NaN for KPIs that are
    not ratios), and ``ci_low`` / ``ci_high``: the 95% Wilson score interval for
    rate KPIs (NaN for other kinds and when the denominator is 0).

    Periods are calendar periods of the local timestamps: the playbook's timezone, or the rep's own
    when the reps table gives one (``timezone``; :func:`coachkit.timezones.rep_local`).
    The grid holds every rep of the reps table x every period of the window,
    limited to periods that end on or after the rep's ``hired_at`` and start on or
    before their ``left_at``. The window runs from the period of the earliest
    activity to the period of the latest; ``start`` / ``end`` replace either end
    with the period containing that date. ``kpis`` selects KPIs by name (default:
    all registered, after importing the playbook's ``[kpis] modules``); ``reps``
    limits the reps. Rows are ordered by KPI (as asked), rep_id, period_start.

    The built-in KPIs defined in SQL (:mod:`coachkit.kpi_sql`) are computed by DuckDB in one scan of the
    activities, on every core; when ``data`` was loaded with ``columns=``, a KPI needing a column that was not
    read is an error.
    """
    import_kpi_modules(data.playbook)
    if kpis is None:
        names = list(registry)
    else:
        names = [kpis] if isinstance(kpis, str) else list(dict.fromkeys(kpis))
        unknown = [k for k in names if k not in registry]
        if unknown:
            raise KeyError(f"unknown KPI(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    _check_columns(data, names)
    inp = KpiInput.from_data(data, freq=freq, start=start, end=end, reps=reps)
    # KPIs defined in SQL: all of those asked for (and those activity_score needs) in one DuckDB query.
    wanted = set(names)
    if "activity_score" in wanted:
        for role in inp.grid["role"].dropna().unique():
            wanted.update(inp.playbook.targets_for(role))
    inp._cache["sql_wanted"] = [n for n in registry if n in wanted and registry[n].sql]
    idx = inp.index
    n = len(idx)
    values, nums, dens, lows, highs = [], [], [], [], []
    for name in names:
        res = inp.result(name)
        num = res["numerator"].to_numpy()
        den = res["denominator"].to_numpy()
        values.append(res["value"].to_numpy())
        nums.append(num)
        dens.append(den)
        if registry[name].kind == "rate":
            lo, hi = _rate_interval(name, num, den, idx)
        else:
            lo = hi = np.full(n, np.nan)
        lows.append(lo)
        highs.append(hi)
    k = len(names)

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.array([], dtype="float64")

    out = pd.DataFrame(
        {
            "rep_id": pd.array(np.tile(idx.get_level_values(0).to_numpy(), k), dtype=schema.STRING),
            "period_start": np.tile(idx.get_level_values(1).to_numpy(dtype="datetime64[ns]"), k),
            "kpi": pd.array(np.repeat(np.array(names, dtype=object), n), dtype=schema.STRING),
            "value": cat(values),
            "numerator": cat(nums),
            "denominator": cat(dens),
            "ci_low": cat(lows),
            "ci_high": cat(highs),
        }
    )
    return out


# ---- built-in KPIs --------------------------------------------------------------------------


def _sql_kpi(
    name: str,
    definition: str,
    *,
    label: str,
    unit: str,
    kind: str,
    columns: Iterable[str],
    higher_is_better: bool = True,
    **sql: str,
) -> None:
    """Register a built-in KPI defined in SQL: its docstring (``definition``), its columns and its SQL, together."""

    def func(inp: KpiInput) -> pd.DataFrame:
        return inp.sql_result(name)

    func.__doc__ = definition
    func.__name__ = func.__qualname__ = name
    kpi(name, label=label, unit=unit, kind=kind, higher_is_better=higher_is_better, columns=columns, sql=sql)(func)


_CALL = "activity_type = 'call'"
_MEETING = "activity_type = 'meeting'"

_sql_kpi(
    "activities",
    "Number of activities of any type.",
    label="Activities",
    unit="activities",
    kind="count",
    columns=(),
    value="count(*)",
)
for _name, _type, _label in (
    ("calls", "call", "Calls"),
    ("meetings", "meeting", "Meetings"),
    ("emails", "email", "Emails"),
    ("follow_ups", "follow_up", "Follow-ups"),
):
    _sql_kpi(
        _name,
        f"Number of activities of type {_type}.",
        label=_label,
        unit=_name,
        kind="count",
        columns=("activity_type",),
        value=f"count(*) FILTER (WHERE activity_type = '{_type}')",
    )

_sql_kpi(
    "active_days",
    "Number of distinct calendar dates with at least one activity.",
    label="Active days",
    unit="days",
    kind="count",
    columns=(),
    value="count(DISTINCT day)",
)

_sql_kpi(
    "talk_time_h",
    "Σ duration_s / 3600 over calls with outcome connected and meetings with outcome held; a missing duration "
    "counts as 0.",
    label="Talk time",
    unit="h",
    kind="sum",
    columns=("activity_type", "outcome", "duration_s"),
    value="coalesce(fsum(duration_s) FILTER (WHERE conv), 0) / 3600",
)
_sql_kpi(
    "conversations",
    "Number of calls with outcome connected plus meetings with outcome held.",
    label="Conversations",
    unit="conversations",
    kind="count",
    columns=("activity_type", "outcome"),
    value="count(*) FILTER (WHERE conv)",
)
_sql_kpi(
    "outcome_logged_rate",
    "Calls that have an outcome / calls.",
    label="Outcome logged",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=f"count(*) FILTER (WHERE {_CALL} AND outcome IS NOT NULL)",
    denominator=f"count(*) FILTER (WHERE {_CALL})",
)
_sql_kpi(
    "connect_rate",
    """Calls with outcome connected / all calls (dials), with or without a logged outcome. This is the field's
    definition: live conversations ÷ total dials (e.g. Gangly's sales glossary, "Connect rate": "(live
    conversations ÷ total dials) × 100"; predictive-dialer usage: calls connected to an agent ÷ calls dialed).
    A call without an outcome counts as not connected; see connect_rate_logged for the rate among calls with an
    outcome.""",
    label="Connect rate",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=f"count(*) FILTER (WHERE {_CALL} AND outcome = 'connected')",
    denominator=f"count(*) FILTER (WHERE {_CALL})",
)
_sql_kpi(
    "connect_rate_logged",
    """Calls with outcome connected / calls that have an outcome (calls without a logged outcome are left out of
    both; compare with connect_rate, whose denominator is every call).""",
    label="Connect rate (logged calls)",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=f"count(*) FILTER (WHERE {_CALL} AND outcome = 'connected')",
    denominator=f"count(*) FILTER (WHERE {_CALL} AND outcome IS NOT NULL)",
)
_sql_kpi(
    "meeting_show_rate",
    """Meetings with outcome held / meetings with outcome held or no_show. The denominator is the meetings the
    buyer was expected at and either came to or did not; rescheduled, canceled, still-scheduled meetings and
    meetings without an outcome are in neither (no-show rate = 1 − show rate, as the field uses it: the share
    of booked meetings the prospect does not attend). See meeting_held_rate for held / booked.""",
    label="Meeting show rate",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=f"count(*) FILTER (WHERE {_MEETING} AND outcome = 'held')",
    denominator=f"count(*) FILTER (WHERE {_MEETING} AND outcome IN ('held', 'no_show'))",
)
_sql_kpi(
    "meeting_held_rate",
    """Meetings with outcome held / meetings booked. Booked: meeting activities whose fate is logged, i.e. with
    outcome held, no_show, rescheduled or canceled (a meeting still 'scheduled' or without an outcome is not yet
    known and is left out of both). Counted in the period of the meeting's occurred_at (its scheduled time).
    This is the field's "hold rate" / "occurrence rate": the share of scheduled meetings that actually take
    place (ExecVision, "Fight meeting fall-off"), where a booked meeting is a confirmed calendar appointment.""",
    label="Meetings held of booked",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome"),
    numerator=f"count(*) FILTER (WHERE {_MEETING} AND outcome = 'held')",
    denominator=f"count(*) FILTER (WHERE {_MEETING} AND outcome IN ('held', 'no_show', 'rescheduled', 'canceled'))",
)


@kpi(
    "follow_up_24h_rate",
    label="Follow-up within 24 h",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome", "account_id"),
)
def follow_up_24h_rate(inp: KpiInput) -> pd.DataFrame:
    """Denominator: conversations (calls with outcome connected, meetings with outcome held) that have an
    account_id and whose follow-up window closed before the data's end, i.e. t + 24 working hours <= the latest
    occurred_at in the dataset, where t is the conversation's occurred_at (a conversation whose 24 working hours
    have not yet passed cannot be judged, so it is in neither count). Numerator: those after which the same rep
    logged a call, meeting, email or follow_up (any outcome) on the same account_id with occurred_at in
    (t, t + 24 working hours]. Working hours are the playbook's [calendar] working_hours on its working days,
    holidays excluded; by default whole working days, so the clock stops over weekends and holidays (Friday
    17:00 → Monday 10:00 is 17 working hours). The 24 is the playbook's [coaching] follow_up_hours. Counted in
    the conversation's period."""
    from . import kpi_sql

    pb = inp.playbook
    n = len(inp.grid)
    scope = inp._sql_scope()
    if scope is None:
        return inp.frame(numerator=np.zeros(n), denominator=np.zeros(n))
    # Each conversation's next touch (the first one strictly after it): found by DuckDB (an ASOF join).
    got = kpi_sql.next_touches(inp.arrow(), inp.freq, *scope, ("call", "meeting", "email", "follow_up"))
    cells = inp._cells(inp._grid_reps().get_indexer(got["rep_id"]), got["period_day"].astype("datetime64[D]"))
    on = cells >= 0
    cells, t, t_next = cells[on], got["t"][on], got["t_next"][on]
    # The working-time clock never runs backwards, so the first touch after is the one to check.
    window = int(round(pb.follow_up_hours * 3600 * 10**9))
    w_conv = pb.working_time(t)
    end = got["t_end"][0]
    end_w = pb.working_time(np.array([end]))[0] if end != np.iinfo(np.int64).min else np.iinfo(np.int64).min
    closed = w_conv + window <= end_w
    has = t_next != -1
    followed = np.zeros(len(t), dtype=bool)
    followed[has] = pb.working_time(t_next[has]) - w_conv[has] <= window
    num = np.bincount(cells[closed & followed], minlength=n).astype("float64")
    den = np.bincount(cells[closed], minlength=n).astype("float64")
    return inp.frame(numerator=num, denominator=den)


_sql_kpi(
    "notes_coverage",
    "Conversations whose notes contain at least one non-whitespace character / conversations.",
    label="Notes coverage",
    unit="%",
    kind="rate",
    columns=("activity_type", "outcome", "notes"),
    # whitespace: the characters of Python's str.isspace and Arrow's utf8_is_space (kpi_sql.WHITESPACE)
    numerator=f"count(*) FILTER (WHERE conv AND {HAS_TEXT})",
    denominator="count(*) FILTER (WHERE conv)",
)
_sql_kpi(
    "feedback_score",
    """Mean feedback_score of the period's activities that have one (numerator = Σ feedback_score,
    denominator = number of activities with a feedback_score).""",
    label="Feedback score",
    unit="score 1–5",
    kind="mean",
    columns=("feedback_score",),
    numerator="coalesce(fsum(feedback_score), 0)",
    denominator="count(feedback_score)",
)


@kpi("deals_created", label="Deals created", unit="deals", kind="count", columns={"deals": ()})
def deals_created(inp: KpiInput) -> pd.DataFrame:
    """Number of deals whose created_at falls in the period, attributed to the deal's rep_id."""
    return inp.frame(inp.deal_count("created_period"))


@kpi("pipeline_created", label="Pipeline created", unit="amount", kind="sum", columns={"deals": ("amount", "currency")})
def pipeline_created(inp: KpiInput) -> pd.DataFrame:
    """Σ amount of the deals whose created_at falls in the period, attributed to the deal's rep_id; a missing
    amount counts as 0. Currencies (deals' optional currency column): with the playbook's [currency] block each
    amount is converted to its base currency (amount × rate; a deal without a currency is in the base); a
    currency without a rate makes the rep-period's value missing. Without the block, amounts in different
    currencies are never added up: a rep-period whose deals mix currencies is missing (NaN), with a warning."""
    import warnings

    pb = inp.playbook
    d = inp.deals
    amount = d["amount"].to_numpy(dtype="float64", na_value=np.nan)
    cur = d["currency"].str.strip().str.upper() if "currency" in d.columns else None
    if cur is None or not cur.notna().any():
        return inp.frame(inp.deal_count("created_period", weights=amount))
    cells = inp.deal_cells("created_period")
    n = len(inp.grid)
    if pb.currency_base:
        rate = cur.map(pb.currency_rates).to_numpy(dtype="float64", na_value=np.nan)
        rate = np.where(cur.isna().to_numpy(), 1.0, rate)
        unknown = np.isnan(rate) & (cells >= 0)
        value = inp.deal_count("created_period", weights=amount * np.nan_to_num(rate, nan=0.0))
        if unknown.any():
            names = sorted(set(cur[unknown].dropna()))
            warnings.warn(
                f"pipeline_created: no [currency] rate for {', '.join(names)} (base {pb.currency_base}); "
                "those rep-periods are left empty. Add the rates to the playbook's [currency] rates.",
                stacklevel=2,
            )
            value[np.unique(cells[unknown])] = np.nan
        return inp.frame(value)
    codes, _ = pd.factorize(cur)
    on = (codes >= 0) & (cells >= 0)
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, -1)
    np.minimum.at(lo, cells[on], codes[on])
    np.maximum.at(hi, cells[on], codes[on])
    mixed = (hi >= 0) & (lo != hi)
    value = inp.deal_count("created_period", weights=amount)
    if mixed.any():
        warnings.warn(
            f"pipeline_created: {int(mixed.sum())} rep-period(s) have deals in more than one currency "
            f"({', '.join(sorted(set(cur.dropna())))}) and are left empty: amounts in different currencies are "
            "never added up. Add a [currency] block (base and rates) to the playbook to convert them.",
            stacklevel=2,
        )
        value[mixed] = np.nan
    return inp.frame(value)


def _closed(inp: KpiInput) -> tuple[np.ndarray, np.ndarray]:
    """(won, decided): deals with a closed_at, is_closed not false, and is_won true / is_won set."""
    d = inp.deals
    is_won = d["is_won"]
    closed = d["closed_at"].notna().to_numpy(dtype=bool) & d["is_closed"].ne(False).to_numpy(dtype=bool, na_value=True)
    decided = closed & is_won.notna().to_numpy(dtype=bool)
    won = decided & is_won.to_numpy(dtype=bool, na_value=False)
    return won, decided


@kpi("win_rate", label="Win rate", unit="%", kind="rate", columns={"deals": ("closed_at", "is_won", "is_closed")})
def win_rate(inp: KpiInput) -> pd.DataFrame:
    """Deals closed won in the period / deals closed won or lost in the period, by closed_at, attributed to the
    deal's rep_id. A deal is closed when it has a closed_at and is_closed is not false; won or lost is is_won."""
    won, decided = _closed(inp)
    return inp.frame(
        numerator=inp.deal_count("closed_period", won), denominator=inp.deal_count("closed_period", decided)
    )


@kpi(
    "cycle_days",
    label="Sales cycle",
    unit="days",
    kind="mean",
    higher_is_better=False,
    columns={"deals": ("closed_at", "is_won", "is_closed")},
)
def cycle_days(inp: KpiInput) -> pd.DataFrame:
    """Mean of (closed_at − created_at) in days (fractional) over the deals won in the period, by closed_at
    (numerator = Σ days, denominator = number of deals won)."""
    won, _ = _closed(inp)
    d = inp.deals
    days = (d["closed_at"] - d["created_at"]).to_numpy(dtype="timedelta64[ns]").astype(np.int64) / _DAY_NS
    won = won & d["created_at"].notna().to_numpy(dtype=bool)
    return inp.frame(
        numerator=inp.deal_count("closed_period", won, np.where(won, days, 0.0)),
        denominator=inp.deal_count("closed_period", won),
    )


@kpi("activity_score", label="Activity score", unit="score 0–100", kind="score")
def activity_score(inp: KpiInput) -> pd.DataFrame:
    """For each target k of the rep's role in the playbook, with weight w_k (default 1): expected_k = per-day
    target × working days in the period, or per-week target × working days / 5, then × the ramp factor for
    the rep's tenure week at the period start (floor((period_start − hired_at) / 7 days) + 1; factor 1 without
    hired_at). a_k = actual_k / expected_k. score = 100 × Σ w_k · min(a_k, 1) / Σ w_k, so 100 means every target met:
    running over one target (150% of the calls) cannot make up for missing another (see
    coachkit.coaching.activity_score_parts for each target's uncapped attainment). Targets whose expected_k is 0
    (no working days) or whose actual_k is undefined are left out; NaN when the role has no targets or none
    remain."""
    pb = inp.playbook
    g = inp.grid
    n = len(g)
    score = np.full(n, np.nan)
    if n == 0:
        return inp.frame(score)
    starts = g.index.get_level_values(1)
    work = pb.working_days_between(starts, g["period_end"]).astype("float64")
    tenure_days = (starts.to_numpy(dtype="datetime64[ns]") - g["hired_at"].to_numpy(dtype="datetime64[ns]")).astype(
        "timedelta64[D]"
    )
    hired = ~np.isnat(tenure_days)
    week = np.where(hired, np.floor_divide(tenure_days.astype(np.int64), 7) + 1, 0)
    factors = {int(w): pb.ramp_factor(int(w)) for w in np.unique(week[hired])}
    ramp = np.where(hired, pd.Series(week).map(factors).to_numpy(dtype="float64", na_value=1.0), 1.0)
    roles = g["role"].to_numpy(dtype=object, na_value=None)
    for role in pd.unique(roles[pd.notna(roles)]):
        targets = pb.targets_for(role)
        if not targets:
            continue
        rows = np.flatnonzero(roles == role)
        num = np.zeros(len(rows))
        den = np.zeros(len(rows))
        for name, (per, target) in targets.items():
            if name not in registry:
                raise ValueError(
                    f"{pb.source}: `targets.{role}.per_{per}.{name}` names an unknown KPI; known: {', '.join(registry)}"
                )
            actual = inp.value(name)[rows]
            expected = target * work[rows] * (1.0 if per == "day" else 1 / 5) * ramp[rows]
            use = (expected > 0) & ~np.isnan(actual)
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.minimum(np.where(use, actual / np.where(use, expected, 1.0), 0.0), 1.0)
            w = float(pb.weights.get(name, 1))
            num += np.where(use, w * a, 0.0)
            den += np.where(use, w, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            score[rows] = np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1.0), np.nan)
    return inp.frame(score)
