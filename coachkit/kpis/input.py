"""What a KPI function receives: :class:`KpiInput` (the activities, deals and reps with their periods, and the
rep x period grid), and the grid itself."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..dataset import performed_activities
from ..playbook import Playbook
from .periods import _as_naive_local, _check_freq, _days_to_ns, _next_start, _period_code, _start_days
from .registry import KpiDef, registry

__all__ = ["KpiInput"]


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
        from ..timezones import rep_local, rep_zones

        pb: Playbook = data.playbook
        if hasattr(data, "performed"):
            data = data.performed()  # to-dos not done (``done`` false) are not effort
        held = data.activity_file() if hasattr(data, "activity_file") else None
        arrow = data.arrow_activities() if hasattr(data, "arrow_activities") else None
        zones = rep_zones(data.reps, pb)
        if held is not None and len(zones):
            arrow = held.to_arrow()  # local times of reps in their own timezones are computed in memory
        if held is not None and arrow is None:
            # The activities are still the clean Parquet file they were loaded from: the SQL KPIs scan it in place.
            lo, hi = held.time_bounds()

            def activities() -> pd.DataFrame:
                acts = held.to_pandas()
                days = _start_days(acts["occurred_at"].to_numpy(dtype="datetime64[ns]"), freq)
                return acts.assign(period_start=_days_to_ns(days))

            acts_value: Any = activities
            cache: dict[str, Any] = {"sql_source": held}
        elif arrow is not None:
            # Activities in Arrow form: the SQL KPIs scan them as they are, with the reps' local times when some
            # rep has a timezone of their own.
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

            acts_value = activities
            cache = {"sql_source": arrow}
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
    def sql_source(self) -> Any:
        """What the SQL KPIs scan: the clean Parquet file the activities were loaded from
        (:class:`~coachkit.parquet_activities.ParquetActivities`), or an Arrow table of the activities with local
        times (built once from the pandas frame when that is what there is)."""
        if "sql_source" not in self._cache:
            a = self.activities.drop(columns=["period_start"], errors="ignore")
            self._cache["sql_source"] = pa.Table.from_pandas(a, preserve_index=False)
        return self._cache["sql_source"]

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
        from .. import kpi_sql

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
            got = kpi_sql.aggregate(self.sql_source(), self.freq, *scope, outputs, self._grid_reps())
            cells = self._cells(got["rep"], got["period_day"].astype("datetime64[D]"))
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
