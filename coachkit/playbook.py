"""The playbook: a team's sales process written down as configuration.

A playbook is read from TOML. Any subset of keys may be given; missing keys take
the defaults of ``default_playbook.toml`` shipped inside this package (print it
with ``coachkit playbook``). Unknown keys and bad values raise
:class:`PlaybookError` with a message naming the key and what would be right.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import FileReadError, read_text
from .schema import DEFAULT_OUTCOMES

__all__ = ["Playbook", "PlaybookError", "Stage", "Theme", "DEFAULT_PLAYBOOK_TEXT", "normalize_label"]

DEFAULT_PLAYBOOK_TEXT: str = resources.files("coachkit").joinpath("default_playbook.toml").read_text(encoding="utf-8")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: The shape of a playbook: key -> type, or a nested dict of the same. ``None`` = free-form table.
_SCHEMA: dict[str, Any] = {
    "timezone": str,
    "calendar": {"working_days": list, "holidays": list, "working_hours": str},
    "activities": {"types": list},
    "outcomes": {"extra": dict, "labels": dict},
    "stages": list,
    "targets": None,
    "ramp": {"factors": list},
    "score": {"weights": dict},
    "themes": None,
    "coaching": {
        "min_n": int,
        "max_focus": int,
        "min_gap": float,
        "fdr": float,
        "follow_up_hours": float,
        "lag_weeks": int,
        "benchmarks": dict,
        "actions": dict,
    },
    "currency": {"base": str, "rates": dict},
    "review": {"scorecard": dict},
    "kpis": {"modules": list, "paths": list},
}


class PlaybookError(ValueError):
    """A playbook has an unknown key or a bad value, or cannot be read. The message says which, where and
    what is right; ``line`` is the 1-based line of the file when it is known (TOML syntax, bad bytes)."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def normalize_label(label: object) -> str:
    """Canonical form of a raw label: lower case, runs of spaces, ``-`` and ``_`` become one ``_``."""
    return re.sub(r"[\s_\-]+", "_", str(label).strip().lower())


@dataclass(frozen=True)
class Stage:
    """One pipeline stage, in order."""

    name: str
    is_closed: bool = False
    is_won: bool = False


@dataclass(frozen=True)
class Theme:
    """A feedback theme: notes matching any keyword (whole words, any case) carry it."""

    name: str
    kind: str  # "objection" or "signal"
    keywords: tuple[str, ...]

    @property
    def pattern(self) -> str:
        """A case-insensitive regular expression matching any keyword as whole words."""
        words = sorted(self.keywords, key=len, reverse=True)
        alts = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
        return rf"(?i)(?<!\w)(?:{alts})(?!\w)"


@dataclass(frozen=True)
class Playbook:
    """A validated playbook. Build one with :meth:`default`, :meth:`from_toml` or :meth:`from_dict`."""

    timezone: str = "UTC"
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: tuple[dt.date, ...] = ()
    activity_types: tuple[str, ...] = ()
    outcomes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    stages: tuple[Stage, ...] = ()
    targets: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    ramp_factors: tuple[float, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    themes: tuple[Theme, ...] = ()
    min_n: int = 8
    max_focus: int = 3
    min_gap: float = 0.1
    #: False discovery rate of the coaching focus across a run ([coaching] fdr).
    fdr: float = 0.05
    #: Working hours a conversation's follow-up may take ([coaching] follow_up_hours).
    follow_up_hours: float = 24.0
    #: The one pre-specified lag, in weeks, of effort -> feedback/outcome associations ([coaching] lag_weeks).
    lag_weeks: int = 1
    #: Working hours of a working day as (start, end) seconds after midnight ([calendar] working_hours).
    working_hours: tuple[int, int] = (0, 86_400)
    #: Base currency and rates (amount in currency x rate = amount in base) from [currency]; None without it.
    currency_base: str | None = None
    currency_rates: dict[str, float] = field(default_factory=dict)
    benchmarks: dict[str, float] = field(default_factory=dict)
    #: The next steps: "kpi" -> the KPI's default action, "kpi.cause" -> the action for that cause
    #: ([coaching.actions.<kpi>] tables; see coachkit.review.actions).
    actions: dict[str, str] = field(default_factory=dict)
    #: [review] scorecard: role -> the KPIs of the review's scorecard, in order (empty: chosen from the targets).
    scorecard: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kpi_modules: tuple[str, ...] = ()
    #: ``[kpis] paths``, made absolute: relative paths are taken from the playbook file's folder.
    kpi_paths: tuple[str, ...] = ()
    source: str = "<default>"
    #: The TOML text the playbook was read from (None when built from a dict).
    text: str | None = field(default=None, repr=False, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def default(cls) -> Playbook:
        """The documented default playbook shipped with coachkit."""
        return cls.from_text(DEFAULT_PLAYBOOK_TEXT, source="<default>")

    @classmethod
    def from_toml(cls, path: str | Path) -> Playbook:
        """Read and validate a playbook file; missing keys take the defaults."""
        path = Path(path)
        try:
            text = read_text(path)
        except FileReadError as exc:
            where = f"{path}" + (f", line {exc.line}" if exc.line is not None else "")
            raise PlaybookError(f"{where}: {exc.reason}", line=exc.line) from exc
        return cls.from_text(text, source=str(path))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<string>") -> Playbook:
        """Parse and validate playbook TOML text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"at line (\d+)", str(exc))
            raise PlaybookError(f"{source}: not valid TOML: {exc}", line=int(m.group(1)) if m else None) from exc
        pb = cls.from_dict(data, source=source)
        return dataclasses.replace(pb, text=text)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<dict>") -> Playbook:
        """Validate a playbook given as a dict (the parsed TOML); missing keys take the defaults."""
        _check_keys(data, _SCHEMA, source, "")
        base = tomllib.loads(DEFAULT_PLAYBOOK_TEXT)
        merged = _merge(base, _actions_as_tables(data, base))
        return _build(merged, data, source)

    # ---- queries --------------------------------------------------------------------------
    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The playbook timezone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def outcomes_for(self, activity_type: str) -> tuple[str, ...]:
        """Canonical outcomes allowed for ``activity_type`` (including those for any type)."""
        return self.outcomes.get(activity_type, ()) + self.outcomes.get("*", ())

    @property
    def all_outcomes(self) -> tuple[str, ...]:
        """Every canonical outcome of the taxonomy, in order, without repeats."""
        seen: dict[str, None] = {}
        for outs in self.outcomes.values():
            seen.update(dict.fromkeys(outs))
        return tuple(seen)

    def map_outcome(self, label: object) -> str | None:
        """Map a raw outcome label to a canonical outcome, or None when it is not known.

        Matching ignores case and spacing. Canonical names map to themselves.
        """
        if label is None or (isinstance(label, float) and np.isnan(label)):
            return None
        key = normalize_label(label)
        if key in self.labels:
            return self.labels[key]
        return key if key in self.all_outcomes else None

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Pipeline stage names in order."""
        return tuple(s.name for s in self.stages)

    def targets_for(self, role: object) -> dict[str, tuple[str, float]]:
        """KPI -> (``"day"`` or ``"week"``, target) for ``role``; empty for a role without targets."""
        if role is None or (isinstance(role, float) and np.isnan(role)):
            return {}
        t = self.targets.get(str(role), {})
        out: dict[str, tuple[str, float]] = {}
        for per in ("day", "week"):
            for k, v in t.get(per, {}).items():
                out[k] = (per, float(v))
        return out

    def ramp_factor(self, tenure_week: int) -> float:
        """Expected share of target in tenure week ``tenure_week`` (1 = the first week)."""
        if tenure_week < 1:
            tenure_week = 1
        if tenure_week <= len(self.ramp_factors):
            return float(self.ramp_factors[tenure_week - 1])
        return 1.0

    def working_days_mask(self) -> str:
        """The working days as a numpy busday weekmask (``"1111100"``)."""
        return "".join("1" if i in self.working_days else "0" for i in range(7))

    def working_days_between(self, start: Any, end: Any) -> np.ndarray:
        """Number of working days in ``[start, end)`` (vectorised over arrays of dates)."""
        s = pd.to_datetime(start).values.astype("datetime64[D]")
        e = pd.to_datetime(end).values.astype("datetime64[D]")
        hol = np.array(self.holidays, dtype="datetime64[D]")
        return np.busday_count(s, e, weekmask=self.working_days_mask(), holidays=hol)

    def working_time(self, ns: Any) -> np.ndarray:
        """Working time of local timestamps (int64 nanoseconds since 1970, tz-naive local): a clock that only
        runs during the working hours of working days (holidays excluded). int64 nanoseconds; the difference of
        two values is the working time between them (never negative for ordered instants)."""
        t = np.asarray(ns, dtype=np.int64)
        if t.size == 0:
            return t.copy()
        day_ns = np.int64(86_400 * 10**9)
        days = np.floor_divide(t, day_ns)
        into = t - days * day_ns
        h0, h1 = (np.int64(h * 10**9) for h in self.working_hours)
        span = h1 - h0
        hol = np.array(self.holidays, dtype="datetime64[D]")
        mask = self.working_days_mask()
        d = days.astype("datetime64[D]")
        before = np.busday_count(np.datetime64(0, "D"), d, weekmask=mask, holidays=hol).astype(np.int64)
        today = np.is_busday(d, weekmask=mask, holidays=hol)
        return before * span + np.where(today, np.clip(into - h0, 0, span), 0)

    def action_for(self, kpi: str) -> str:
        """The suggested coaching action for ``kpi`` (a generic one when none is written)."""
        return self.actions.get(kpi, f"Review {kpi.replace('_', ' ')} together and agree one change to try next week.")

    def theme(self, name: str) -> Theme:
        """The theme called ``name``."""
        for t in self.themes:
            if t.name == name:
                return t
        raise KeyError(name)


# ---- validation helpers ---------------------------------------------------------------------


def _check_keys(data: Any, schema: Any, source: str, prefix: str) -> None:
    if not isinstance(data, dict):
        raise PlaybookError(f"{source}: `{prefix.rstrip('.') or 'playbook'}` must be a table, got {data!r}")
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise PlaybookError(f"{source}: unknown key `{path}`; allowed here: {allowed}")
        expected = schema[key]
        if isinstance(expected, dict):
            _check_keys(value, expected, source, path + ".")
        elif expected is None:
            if not isinstance(value, dict):
                raise PlaybookError(f"{source}: `{path}` must be a table, got {value!r}")
        elif expected is int:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise PlaybookError(f"{source}: `{path}` must be a non-negative integer, got {value!r}")
        elif expected is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise PlaybookError(f"{source}: `{path}` must be a number >= 0, got {value!r}")
        elif not isinstance(value, expected):
            kind = {str: "a string", list: "a list", dict: "a table"}[expected]
            raise PlaybookError(f"{source}: `{path}` must be {kind}, got {value!r}")


def _actions_as_tables(data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each ``[coaching] actions`` KPI given as one string turned into ``{"default": string}`` where the
    default playbook has a table of causes for that KPI, so that the string sets the KPI's default action and the
    cause-specific actions stay."""
    actions = (data.get("coaching") or {}).get("actions")
    defaults = base["coaching"]["actions"]
    if not isinstance(actions, dict) or not any(
        isinstance(v, str) and isinstance(defaults.get(k), dict) for k, v in actions.items()
    ):
        return data
    fixed = {
        k: ({"default": v} if isinstance(v, str) and isinstance(defaults.get(k), dict) else v)
        for k, v in actions.items()
    }
    return {**data, "coaching": {**data["coaching"], "actions": fixed}}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``. Lists and free-form tables are replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key == "targets" and isinstance(value, dict) and value:
            # a role's table replaces that role's default targets; other roles keep theirs
            out[key] = {**out.get(key, {}), **copy.deepcopy(value)}
        elif key == "benchmarks" and isinstance(value, dict) and value:
            out[key] = {**out.get(key, {}), **copy.deepcopy(value)}
        elif key in ("targets", "themes", "stages", "benchmarks"):
            # an empty table replaces the default: `targets = {}` = no targets at all, `benchmarks = {}` = none
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("labels", "extra"):
            out[key] = _merge(out[key], value)
        elif key in ("labels", "extra") and isinstance(value, dict):
            merged = dict(out.get(key, {}))
            merged.update(value)
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def _number(value: Any, source: str, path: str, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low:
        raise PlaybookError(f"{source}: `{path}` must be a number >= {low:g}, got {value!r}")
    return float(value)


def _working_hours(text: Any, source: str) -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` -> (start, end) seconds after midnight; end may be 24:00."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(text))
    if m:
        h0, m0, h1, m1 = (int(x) for x in m.groups())
        start, end = h0 * 3600 + m0 * 60, h1 * 3600 + m1 * 60
        if m0 < 60 and m1 < 60 and 0 <= start < end <= 86_400:
            return start, end
    raise PlaybookError(
        f"{source}: `calendar.working_hours` = {text!r}; use start-end times of a working day such as "
        "'09:00-17:30' (or '00:00-24:00' for whole working days)"
    )


def _build(d: dict[str, Any], given: dict[str, Any], source: str) -> Playbook:
    tz = d["timezone"]
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise PlaybookError(f"{source}: `timezone` = {tz!r} is not an IANA timezone such as 'Europe/Berlin'") from exc

    cal = d["calendar"]
    days = []
    for day in cal["working_days"]:
        if day not in _WEEKDAYS:
            raise PlaybookError(f"{source}: `calendar.working_days` has {day!r}; use day names {', '.join(_WEEKDAYS)}")
        days.append(_WEEKDAYS.index(day))
    holidays = []
    for h in cal["holidays"]:
        try:
            holidays.append(h if isinstance(h, dt.date) else dt.date.fromisoformat(str(h)))
        except ValueError as exc:
            raise PlaybookError(f"{source}: `calendar.holidays` has {h!r}; use dates like 2026-12-25") from exc

    types = d["activities"]["types"]
    for t in types:
        if not isinstance(t, str) or not _NAME.match(t):
            raise PlaybookError(f"{source}: `activities.types` has {t!r}; use lower-case names like 'call'")

    outcomes = {k: tuple(v) for k, v in DEFAULT_OUTCOMES.items()}
    for t, extra in d["outcomes"]["extra"].items():
        if t != "*" and t not in types:
            raise PlaybookError(
                f"{source}: `outcomes.extra.{t}` names an unknown activity type; known: {', '.join(types)} or *"
            )
        if not isinstance(extra, list) or not all(isinstance(x, str) and _NAME.match(x) for x in extra):
            raise PlaybookError(f"{source}: `outcomes.extra.{t}` must be a list of lower-case names, got {extra!r}")
        outcomes[t] = tuple(dict.fromkeys(outcomes.get(t, ()) + tuple(extra)))
    known = {o for v in outcomes.values() for o in v}
    labels = {}
    for raw, canon in d["outcomes"]["labels"].items():
        if canon not in known:
            raise PlaybookError(
                f"{source}: `outcomes.labels.{raw!r}` maps to {canon!r}, which is not a canonical outcome; "
                f"known: {', '.join(sorted(known))} (add new ones under `outcomes.extra`)"
            )
        labels[normalize_label(raw)] = canon

    stages = []
    seen: dict[str, int] = {}
    for i, s in enumerate(d["stages"]):
        if not isinstance(s, dict) or "name" not in s or set(s) - {"name", "is_closed", "is_won"}:
            raise PlaybookError(
                f"{source}: `stages[{i}]` must be a table with `name` and optional `is_closed`, `is_won`; got {s!r}"
            )
        name = s["name"]
        if not isinstance(name, str) or not name.strip():
            raise PlaybookError(
                f"{source}: `stages[{i}].name` must be a non-empty text such as 'proposal'; got {name!r}"
            )
        key = normalize_label(name)
        if key in seen:
            first = d["stages"][seen[key]]["name"]
            same = (
                "is used twice"
                if first == name
                else f"matches stages[{seen[key]}] ({first!r}) ignoring case and spacing"
            )
            raise PlaybookError(
                f"{source}: `stages[{i}]`: the stage name {name!r} {same} (also `stages[{seen[key]}]`), so the stage "
                "order and a deal's stage are ambiguous; give each stage its own name"
            )
        seen[key] = i
        stages.append(Stage(name.strip(), bool(s.get("is_closed", False)), bool(s.get("is_won", False))))
        if stages[-1].is_won and not stages[-1].is_closed:
            raise PlaybookError(f"{source}: `stages[{i}]` ({s['name']}) is won but not closed; set is_closed = true")

    targets: dict[str, dict[str, dict[str, float]]] = {}
    for role, per in d["targets"].items():
        if per is False:  # `AE = false`: no targets for this role
            per = {}
        if not isinstance(per, dict) or set(per) - {"per_day", "per_week"}:
            raise PlaybookError(f"{source}: `targets.{role}` must hold tables `per_day` and/or `per_week`; got {per!r}")
        targets[role] = {}
        for key, unit in (("per_day", "day"), ("per_week", "week")):
            entries = per.get(key, {})
            if not isinstance(entries, dict):
                raise PlaybookError(f"{source}: `targets.{role}.{key}` must be a table of KPI = number")
            targets[role][unit] = {k: _number(v, source, f"targets.{role}.{key}.{k}") for k, v in entries.items()}

    ramp = tuple(_number(f, source, "ramp.factors[]") for f in d["ramp"]["factors"])
    weights = {k: _number(v, source, f"score.weights.{k}") for k, v in d["score"]["weights"].items()}

    themes = []
    for name, th in d["themes"].items():
        if not isinstance(th, dict) or set(th) - {"kind", "keywords"} or "keywords" not in th:
            raise PlaybookError(f"{source}: `themes.{name}` must be a table with `keywords` and optional `kind`")
        kind = th.get("kind", "objection")
        if kind not in ("objection", "signal"):
            raise PlaybookError(f"{source}: `themes.{name}.kind` is {kind!r}; use 'objection' or 'signal'")
        kws = th["keywords"]
        if not isinstance(kws, list) or not kws or not all(isinstance(k, str) and k.strip() for k in kws):
            raise PlaybookError(f"{source}: `themes.{name}.keywords` must be a non-empty list of words")
        themes.append(Theme(name, kind, tuple(k.strip() for k in kws)))

    co = d["coaching"]
    # `kpi = false`: no benchmark for that KPI (removes a default one)
    benchmarks = {
        k: _number(v, source, f"coaching.benchmarks.{k}") for k, v in co["benchmarks"].items() if v is not False
    }
    hours = _working_hours(d["calendar"].get("working_hours", "00:00-24:00"), source)
    fdr = _number(co.get("fdr", 0.05), source, "coaching.fdr")
    if not 0 < fdr < 1:
        raise PlaybookError(f"{source}: `coaching.fdr` must be a share between 0 and 1 such as 0.05, got {fdr!r}")
    follow_up_hours = _number(co.get("follow_up_hours", 24), source, "coaching.follow_up_hours")
    if follow_up_hours <= 0:
        raise PlaybookError(f"{source}: `coaching.follow_up_hours` must be > 0 such as 24, got {follow_up_hours!r}")
    cur = d.get("currency", {})
    base = cur.get("base")
    rates = {str(k).upper(): _number(v, source, f"currency.rates.{k}") for k, v in cur.get("rates", {}).items()}
    if rates and not base:
        raise PlaybookError(f"{source}: `currency.rates` needs `currency.base`, the currency amounts are converted to")
    if base:
        rates.setdefault(str(base).upper(), 1.0)
    actions = {}
    causes = {
        k: set(v) for k, v in tomllib.loads(DEFAULT_PLAYBOOK_TEXT)["coaching"]["actions"].items() if isinstance(v, dict)
    }
    for k, v in co["actions"].items():
        if isinstance(v, str):
            actions[k] = v
            continue
        if not isinstance(v, dict):
            raise PlaybookError(
                f"{source}: `coaching.actions.{k}` must be a string or a table of cause = string, got {v!r}"
            )
        allowed = causes.get(k, set()) | {"default"}
        for cause, text in v.items():
            if cause not in allowed:
                raise PlaybookError(
                    f"{source}: unknown cause `coaching.actions.{k}.{cause}`; the causes of {k} are "
                    f"{', '.join(sorted(allowed))}"
                )
            if not isinstance(text, str):
                raise PlaybookError(f"{source}: `coaching.actions.{k}.{cause}` must be a string, got {text!r}")
            actions[k if cause == "default" else f"{k}.{cause}"] = text
    scorecard = {}
    for role, kpis in (d.get("review") or {}).get("scorecard", {}).items():
        if not isinstance(kpis, list) or not all(isinstance(x, str) and x for x in kpis):
            raise PlaybookError(
                f"{source}: `review.scorecard.{role}` must be a list of KPI names like ['calls', 'connect_rate']"
            )
        scorecard[str(role)] = tuple(kpis)
    modules = d["kpis"]["modules"]
    if not all(isinstance(m, str) and m for m in modules):
        raise PlaybookError(f"{source}: `kpis.modules` must be a list of import paths like 'mypkg.kpis'")
    kpi_paths = d["kpis"].get("paths", [])
    if not all(isinstance(x, str) and x.strip() for x in kpi_paths):
        raise PlaybookError(f"{source}: `kpis.paths` must be a list of paths like 'kpis/' or 'kpis/my_kpis.py'")
    here = Path.cwd() if source.startswith("<") else Path(source).expanduser().resolve().parent
    kpi_paths = [str((here / Path(x).expanduser()).resolve()) for x in kpi_paths]

    return Playbook(
        timezone=tz,
        working_days=tuple(sorted(days)),
        holidays=tuple(holidays),
        activity_types=tuple(types),
        outcomes=outcomes,
        labels=labels,
        stages=tuple(stages),
        targets=targets,
        ramp_factors=ramp,
        weights=weights,
        themes=tuple(themes),
        min_n=int(co["min_n"]),
        min_gap=_number(co["min_gap"], source, "coaching.min_gap"),
        fdr=fdr,
        follow_up_hours=follow_up_hours,
        lag_weeks=int(co.get("lag_weeks", 1)),
        working_hours=hours,
        currency_base=str(base).upper() if base else None,
        currency_rates=rates,
        max_focus=int(co["max_focus"]),
        benchmarks=benchmarks,
        actions=actions,
        scorecard=scorecard,
        kpi_modules=tuple(modules),
        kpi_paths=tuple(kpi_paths),
        source=source,
        raw=d,
    )
