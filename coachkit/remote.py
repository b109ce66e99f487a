"""Datasets at a URL: an object store (``s3://``, ``gs://``, ``abfs://``, ...) read through fsspec.

``coachkit review s3://bucket/crm/ --out DIR --scheduler tcp://...`` reviews a dataset folder
(or ``.duckdb`` file) that the machines of a cluster read from an object store instead of a
shared folder. The protocol's fsspec package must be installed where the URL is read (on
the machine running ``coachkit review`` and on every worker): ``s3fs`` for ``s3://``,
``gcsfs`` for ``gs://``, ``adlfs`` for ``abfs://``; credentials come from that package's
usual places (environment variables, the instance's role, ``~/.aws``, ...).

* The batch reads the reps file and the playbook (small) and two columns of the activities
  through ranged reads (:func:`coachkit.active_days.rep_days` with :func:`filesystem`).
* Each worker process copies the dataset's files once into a local cache folder
  (:func:`materialise`; ``<tmp>/coachkit-datasets/<hash of the URL and its fingerprint>``, reused
  by its next reviews and by the other workers of the machine) and its reviews read that copy as
  they read a local dataset.
* The run's snapshot (:mod:`coachkit.snapshot`) is the files' size and the store's version
  stamp (ETag, generation, MD5 or modification time, whichever the store gives;
  :func:`fingerprint`), checked before each copy and after each review: a file replaced
  during the run fails the reviews that would have read it (:class:`coachkit.snapshot.DataChangedError`).

``file://`` URLs work the same way (fsspec's local filesystem), which is how the tests run it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["CACHE_ENV", "cache_root", "fetch_files", "filesystem", "fingerprint", "is_url", "materialise"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SUFFIXES = (".csv", ".parquet", ".toml")
#: Environment variable naming the folder of the local copies (default ``<tmp>/coachkit-datasets``).
CACHE_ENV = "COACHKIT_DATASET_CACHE"
#: The keys of fsspec's ``info()`` that identify a version of a file, by store (the first present is used).
_VERSION_KEYS = ("ETag", "etag", "md5Hash", "generation", "version_id", "VersionId", "mtime", "LastModified",
                 "last_modified", "updated", "created")  # fmt: skip


def is_url(source: Any) -> bool:
    """Whether ``source`` is a URL (``scheme://...``) rather than a local path."""
    return isinstance(source, str) and bool(_URL.match(source))


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path on it) for ``url``; a ``ValueError`` naming the package to install when missing."""
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - fsspec comes with dask
        raise ValueError(f"{url}: reading a dataset at a URL needs fsspec (pip install 'coachkit[dask]')") from exc
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ValueError(f"{url}: {' '.join(str(exc).split())}") from exc
    return fs, path.rstrip("/") or path


def _dataset_files(fs: Any, path: str, tables: Sequence[str] | None = None) -> list[str]:
    """The files coachkit reads at ``path``: a folder's ``*.csv``, ``*.parquet`` and ``*.toml`` (of ``tables``
    and ``playbook.toml`` only, when given), or the file itself."""
    if not fs.exists(path):
        raise FileNotFoundError(f"{fs.unstrip_protocol(path)}: no such folder or file")
    if not fs.isdir(path):
        return [path]
    out = []
    for name in sorted(fs.ls(path, detail=False)):
        base = PurePosixPath(name).name
        stem, suffix = os.path.splitext(base)
        if base.startswith(".") or suffix.lower() not in _SUFFIXES or fs.isdir(name):
            continue
        if tables is not None and stem not in tables and base != "playbook.toml":
            continue
        out.append(name)
    return out


def fingerprint(url: str, playbook: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The snapshot of the dataset at ``url``: file URL -> ``{"size": bytes, "version": the store's stamp}``,
    plus a local ``playbook`` file's (:func:`coachkit.snapshot.fingerprint`).

    JSON-ready, and compared by :func:`coachkit.snapshot.changes` as the local fingerprint is;
    a file that disappeared is ``{"missing": True}``.
    """
    from . import snapshot

    fs, path = filesystem(url)
    out: dict[str, dict[str, Any]] = {}
    for name in _dataset_files(fs, path):
        try:
            info = fs.info(name)
        except FileNotFoundError:
            out[fs.unstrip_protocol(name)] = {"missing": True}
            continue
        version = next((str(info[k]) for k in _VERSION_KEYS if info.get(k) not in (None, "")), "")
        out[fs.unstrip_protocol(name)] = {"size": int(info.get("size") or 0), "version": version}
    if playbook:
        out |= snapshot.fingerprint(playbook)
    return out


def check(
    expected: Mapping[str, Mapping[str, Any]],
    url: str,
    consequence: str | None = None,
    playbook: str | Path | None = None,
) -> None:
    """Raise :class:`coachkit.snapshot.DataChangedError` when the files at ``url`` (and ``playbook``) differ
    from ``expected``; the message names them, then ``consequence``."""
    from .snapshot import REVIEW_NOT_MADE, DataChangedError, changes

    diff = changes(expected, fingerprint(url, playbook))
    if diff:
        raise DataChangedError(
            f"the dataset changed after the run started ({', '.join(diff)}); {consequence or REVIEW_NOT_MADE}"
        )


def fetch_files(fs: Any, path: str, dest: Path, tables: Sequence[str] | None = None) -> Path:
    """Copy the dataset at ``path`` on ``fs`` (only ``tables`` and the playbook of a folder, when given) into
    the folder ``dest``; return the local dataset (``dest`` itself, or the ``.duckdb`` file in it)."""
    names = _dataset_files(fs, path, tables)
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        fs.get_file(name, str(dest / PurePosixPath(name).name))
    if not fs.isdir(path):
        return dest / PurePosixPath(path).name
    return dest


def cache_root() -> Path:
    """Where the local copies of datasets at URLs are kept: ``$COACHKIT_DATASET_CACHE``, else ``<tmp>/coachkit-datasets``."""
    return Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / "coachkit-datasets")


def materialise(url: str, expected: Mapping[str, Mapping[str, Any]]) -> Path:
    """A local copy of the dataset at ``url`` as it is in the snapshot ``expected``; its path.

    The copy is made once per machine (a new folder, renamed into place: two processes copying
    at once both end with a complete copy) and reused while the snapshot is the same. Raises
    :class:`coachkit.snapshot.DataChangedError` when the files at ``url`` no longer match ``expected``.
    """
    check(expected, url, playbook=_playbook_in(expected, url))
    key = hashlib.sha256(json.dumps([url, expected], sort_keys=True).encode()).hexdigest()[:20]
    root = cache_root()
    final = root / key
    fs, path = filesystem(url)
    local = final if fs.isdir(path) else final / PurePosixPath(path).name
    if (final / ".complete").is_file():
        return local
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        fetch_files(fs, path, tmp)
        check(expected, url, playbook=_playbook_in(expected, url))  # not replaced while it was copied
        (tmp / ".complete").write_text(url + "\n", encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:  # another process made it first
            if not (final / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return local


def _playbook_in(expected: Mapping[str, Any], url: str) -> str | None:
    """The local playbook file recorded in a snapshot of ``url`` (the one entry that is not a URL), if any."""
    return next((k for k in expected if not is_url(k)), None)


def review_one(task: dict[str, Any], *, review: Any, classify: Any) -> dict[str, Any]:
    """One rep's review of the dataset at the URL ``task["parameters"]["data"]``: on this machine's copy of it.

    The copy is checked against the run's snapshot when it is made or reused (:func:`materialise`),
    and the URL's files again after the review: a review whose files changed fails with
    ``DataChangedError`` and keeps no file. The executed notebook records the URL, not the copy.
    ``review`` runs the review on the local copy and ``classify`` describes an error
    (:func:`coachkit.batch._review_one` and ``_classify``, passed in: this module does not import the batch).
    Never raises.
    """
    import time

    from .cluster import client_paths
    from .files import write_text

    started = time.perf_counter()
    params = task["parameters"]
    url, expected = params["data"], task["fingerprint"]
    failed = {"stem": task["stem"], "status": "failed", "files": {}, "summary": None}
    try:
        local = materialise(url, expected)
    except Exception as exc:
        return failed | {"error": classify(exc), "seconds": round(time.perf_counter() - started, 3)}
    record = review(dict(task, parameters=dict(params, data=str(local)), fingerprint=None))
    staging = Path(task["staging"])
    try:
        check(expected, url, playbook=params.get("playbook") or None)
    except Exception as exc:
        for name in record.get("files", {}).values():
            (staging / name).unlink(missing_ok=True)
        return failed | {"error": classify(exc), "seconds": round(time.perf_counter() - started, 3)}
    ipynb = record.get("files", {}).get("ipynb")
    if ipynb:
        nb = staging / ipynb
        write_text(nb, client_paths(nb.read_text(encoding="utf-8"), {str(local): url}))
    return record
