"""Safe, unique, stable file names for rep ids.

A rep id comes from a CRM and may hold anything: slashes, ``..``, spaces, unicode,
a leading dot, or differ from another id only by case (``Ann`` and ``ann`` are one
file on macOS and Windows). :func:`safe_name` maps each id to a file stem that

* is safe: only ASCII letters, digits, ``_`` and ``-``, starts with a letter or digit,
  at most 64 characters, never a Windows device name nor a name the review folder
  uses (``index``, ``manifest``), in any case;
* is stable: the same id always gives the same stem, whatever else is in the run;
* is unique, even on a case-insensitive disk: an id made only of ``A-Z 0-9 _ -``
  (``R001``, ``SDR-7``, ``12345``: the common CRM shapes) is kept as it is; any other id
  becomes a lowercase slug plus ``-`` and 10 hex digits of the SHA-256 of the raw id
  (``ann`` -> ``ann-…``, ``../evil`` -> ``evil-…``). Kept ids have no lowercase letter and
  never end in ``-`` + 10 hex digits, so no two stems differ only by case.
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

_KEEP = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,63}$")
_HASHED = re.compile(r"-[0-9a-f]{10}$", re.I)
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")
HASH_LEN = 10
SLUG_LEN = 40


def safe_name(rep_id: str) -> str:
    """The file stem for ``rep_id`` (see the module docstring)."""
    raw = str(rep_id)
    if _KEEP.match(raw) and raw.lower() not in RESERVED and not _HASHED.search(raw):
        return raw
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-_")[:SLUG_LEN].strip("-_") or "rep"
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:HASH_LEN]
    return f"{slug}-{digest}"
