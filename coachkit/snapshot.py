"""One data snapshot per review run: a fingerprint of the dataset's files, taken at the start and checked per review.

A review run reads its dataset many times: the batch once to choose the reps and the
window, then every review its rep's team. If a file is replaced in the middle (a nightly
export landing while the reviews run), some reviews would show the old data and others
the new. :func:`fingerprint` identifies the files as they are; the batch takes one at the
start (and checks it did not change while it read the dataset), records it in the
manifest, and checks it again before and after each review (:func:`check`): a review whose
files changed fails with :class:`DataChangedError` naming the files, and the run says the
data changed. Never a silent mix.

What is fingerprinted: for a dataset folder, its non-hidden ``*.csv``, ``*.parquet`` and
``*.toml`` files (what :func:`coachkit.load` reads: the tables and ``playbook.toml``);
for a DuckDB file, that file; plus a ``--playbook`` file. Per file: the size, the
modification time (ns) and a SHA-256 of

* the whole file, when it is at most :data:`SMALL` bytes;
* a Parquet file's footer (its schema, row groups and column statistics), else;
* the first and last :data:`EDGE` bytes of any other large file.

A rewrite keeping the size, the mtime and those bytes is not detected; any ordinary
rewrite (an export, ``SalesData.save``, a copy) changes the mtime. Costs a ``stat`` and a
few kilobytes of reading per file: about a millisecond.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["EDGE", "REVIEW_NOT_MADE", "SMALL", "DataChangedError", "changes", "check", "fingerprint"]

#: Files up to this size (bytes) are hashed whole.
SMALL = 1 << 20
#: Bytes hashed at each end of a large file that is not Parquet.
EDGE = 1 << 16
_SUFFIXES = (".csv", ".parquet", ".toml")


class DataChangedError(RuntimeError):
    """The dataset's files changed since the run's snapshot; the message names them."""


def _files(source: str | Path, playbook: str | Path | None) -> list[Path]:
    src = Path(source).resolve()
    if src.is_dir():
        files = sorted(
            p for p in src.iterdir() if p.suffix.lower() in _SUFFIXES and not p.name.startswith(".") and p.is_file()
        )
    else:
        files = [src]
    if playbook:
        pb = Path(playbook).resolve()
        if pb not in files:
            files.append(pb)
    return files


def _digest(path: Path, size: int) -> tuple[str, str]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if size <= SMALL:
            h.update(f.read())
            return "file", h.hexdigest()
        if path.suffix.lower() == ".parquet":
            f.seek(size - 8)
            tail = f.read(8)
            footer = int.from_bytes(tail[:4], "little")
            if tail[4:] == b"PAR1" and 0 < footer <= size - 12:
                f.seek(size - 8 - footer)
                h.update(f.read(footer + 8))
                return "footer", h.hexdigest()
        f.seek(0)
        h.update(f.read(EDGE))
        f.seek(size - EDGE)
        h.update(f.read(EDGE))
        return "ends", h.hexdigest()


def fingerprint(source: str | Path, playbook: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The fingerprint of the dataset at ``source`` (folder or DuckDB file) and of ``playbook``.

    A dict: absolute file path -> ``{"size": bytes, "mtime_ns": int, "hash": "file"|"footer"|"ends",
    "sha256": hex}``; a file missing (or unreadable) is ``{"missing": True}``. JSON-ready (the
    manifest records it).
    """
    out: dict[str, dict[str, Any]] = {}
    for path in _files(source, playbook):
        try:
            st = path.stat()
            kind, digest = _digest(path, st.st_size)
            after = path.stat()
        except OSError:
            out[str(path)] = {"missing": True}
            continue
        if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):  # written while we read it
            out[str(path)] = {"size": after.st_size, "mtime_ns": after.st_mtime_ns, "hash": "changing", "sha256": ""}
            continue
        out[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "hash": kind, "sha256": digest}
    return out


def changes(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What differs between two fingerprints, one phrase per file (``activities.parquet modified``), in name order."""
    out = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        name = os.path.basename(path)
        if a == b:
            continue
        if a is None or a.get("missing"):
            out.append(f"{name} added")
        elif b is None or b.get("missing"):
            out.append(f"{name} removed")
        else:
            out.append(f"{name} modified")
    return out


#: What :func:`check` says by default: the consequence for one review.
REVIEW_NOT_MADE = "this review was not made, so that every review of the run shows the same data; run the reviews again"


def check(
    expected: Mapping[str, Mapping[str, Any]],
    source: str | Path,
    playbook: str | Path | None = None,
    consequence: str = REVIEW_NOT_MADE,
) -> None:
    """Raise :class:`DataChangedError` when the files of ``source`` no longer match the ``expected`` fingerprint.

    The message names the files that changed, then ``consequence``.
    """
    diff = changes(expected, fingerprint(source, playbook))
    if diff:
        raise DataChangedError(f"the dataset changed after the run started ({', '.join(diff)}); {consequence}")
