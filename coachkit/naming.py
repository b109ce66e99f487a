"""Safe, unique, stable file names for rep ids.

A rep id comes from a CRM and may hold anything: slashes, ``..``, spaces, unicode,
a leading dot, or differ from another id only by case (``Ann`` and ``ann`` are one
file on macOS and Windows). :func:`safe_name` maps each id to a file stem that

* is safe: only ``a-z 0-9 _ -``, starts with a letter or digit, at most 64 characters,
  never a Windows device name nor a name the review folder uses (``index``, ``manifest``);
* is stable: the same id always gives the same stem, whatever else is in the run;
* is unique: an id that is already such a stem is kept as it is; any other id becomes
  a readable slug plus ``-`` and 10 hex digits of the SHA-256 of the raw id. A kept id
  never ends in ``-`` + 10 hex digits, so kept and hashed stems cannot meet.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["RESERVED", "safe_name"]

#: Stems that a review folder or Windows reserves.
RESERVED = frozenset(
    {"index", "manifest", "con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)

_KEEP = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HASHED = re.compile(r"-[0-9a-f]{10}$")
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")
HASH_LEN = 10
SLUG_LEN = 40


def safe_name(rep_id: str) -> str:
    """The file stem for ``rep_id`` (see the module docstring)."""
    raw = str(rep_id)
    if _KEEP.match(raw) and raw not in RESERVED and not _HASHED.search(raw):
        return raw
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-_")[:SLUG_LEN].strip("-_") or "rep"
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:HASH_LEN]
    return f"{slug}-{digest}"
