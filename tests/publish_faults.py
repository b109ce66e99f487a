"""Helpers for the publishing fault tests: quick fake reviews, a fault at the n-th rename or write, a coherence check.

Used by tests/test_publish_faults.py, in the test process and in the subprocesses it kills
(``python tests/publish_faults.py ...``).
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_notebook

from coachkit import batch, export, publish

#: A "no file is ever half-published" marker: each fake review file ends with it.
END = "<!-- end -->"


def fake_run_all(
    tasks: list[dict[str, Any]], n_workers: int, show: bool, tag: str, *_: Any, **__: Any
) -> Iterator[tuple[dict, dict]]:
    """What batch._run_all yields, without kernels: each rep's notebook and HTML, stamped with the run's tag."""
    for task in tasks:
        staging, stem = Path(task["staging"]), task["stem"]
        nb = new_notebook()
        nb.metadata["run"] = tag
        with open(staging / f"{stem}.ipynb", "w", encoding="utf-8") as f:
            f.write(nbformat.writes(nb))
        with open(staging / f"{stem}.html", "w", encoding="utf-8") as f:
            f.write(f"<p>{task['rep_id']} run {tag}</p>{END}")
        summary = {"rep_id": task["rep_id"], "name": task["rep_id"], "headline": []}
        record = {"stem": stem, "status": "ok", "error": None, "summary": summary, "seconds": 0.0}
        yield task, record | {"files": {"ipynb": f"{stem}.ipynb", "html": f"{stem}.html"}}


class Fault(OSError):
    """The injected failure (an OSError, as a failed rename or write is)."""


@contextlib.contextmanager
def fault_at(n: int, kill: bool = False) -> Iterator[list[str]]:
    """Make the ``n``-th rename, exchange or write (counted from 1) fail: raise, or ``kill`` this process (exit 137).

    Yields the list of calls seen so far (``"rename"``, ``"replace"``, ``"exchange"``, ``"write"``).
    """
    calls: list[str] = []
    real = {
        "rename": os.rename,
        "replace": os.replace,
        "exchange": publish._exchange,
        "write": pathlib.Path.write_text,
    }

    def wrap(name: str, fn: Any) -> Any:
        def faulty(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            if len(calls) == n:
                if kill:
                    os._exit(137)
                raise Fault(5, f"injected fault at {name} #{n}")  # EIO
            return fn(*args, **kwargs)

        return faulty

    os.rename, os.replace = wrap("rename", real["rename"]), wrap("replace", real["replace"])
    publish._exchange = wrap("exchange", real["exchange"])
    pathlib.Path.write_text = wrap("write", real["write"])  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        os.rename, os.replace = real["rename"], real["replace"]
        publish._exchange = real["exchange"]
        pathlib.Path.write_text = real["write"]  # type: ignore[method-assign]


def run(data: Path, out: Path, as_of: str, reps: list[str]) -> Any:
    """A run of the batch with fake reviews (the real selection, manifest, index and publication)."""
    batch._run_all = fake_run_all  # type: ignore[assignment]
    return batch.run_reviews(data, out, reps=reps, as_of=as_of, weeks=2, workers=1, quiet=True)


_LINK = re.compile(r'href="([0-9]{4}-W[0-9]{2})/index.html"')


def check_week(folder: Path, user_files: tuple[str, ...] = ()) -> str:
    """Assert that the week folder is one coherent run; return its run tag.

    Every file the manifest lists exists and is complete; every other file is the
    manifest, the week index or one of ``user_files``; the week index is the manifest's;
    every review belongs to the manifest's run.
    """
    manifest = json.loads((folder / "manifest.json").read_text())
    tag = manifest["run"]["tag"]
    listed = publish.coachkit_files(manifest)
    present = {p.name for p in folder.iterdir()}
    assert listed <= present, f"{folder.name}: listed but missing {sorted(listed - present)}"
    assert present - listed <= set(user_files), f"{folder.name}: not listed {sorted(present - listed)}"
    assert (folder / "index.html").read_text() == export.render_index(manifest), f"{folder.name}: index != manifest"
    for record in manifest["reps"].values():
        for name in record["files"].values():
            if name.endswith(".html"):
                text = (folder / name).read_text()
                assert text.endswith(END) and f"run {tag}" in text, f"{folder.name}/{name} is not of run {tag}"
            else:
                assert nbformat.read(folder / name, as_version=4).metadata["run"] == tag
    return tag


def check_out(out: Path, user_files: tuple[str, ...] = (), unlisted: tuple[str, ...] = ()) -> dict[str, str]:
    """Assert that ``out`` is coherent: every week listed by the top index exists and is one run; return week -> tag.

    A week on disk may be missing from the top index only if it is in ``unlisted`` (a run
    stopped between its switch and the top index's rewrite).
    """
    listed = set(_LINK.findall((out / "index.html").read_text())) if (out / "index.html").exists() else set()
    on_disk = {w.key for w in publish.weeks(out)}
    assert listed <= on_disk, f"the top index links missing weeks {sorted(listed - on_disk)}"
    assert on_disk - listed <= set(unlisted), f"weeks not in the top index: {sorted(on_disk - listed)}"
    return {key: check_week(out / key, user_files) for key in sorted(on_disk)}


def leftovers(out: Path) -> list[str]:
    """What a finished (not killed) run must not leave: staging or set-aside folders, temporary files."""
    found = []
    for path in out.rglob("*"):
        if path.name.startswith((".coachkit-staging-", ".coachkit-old-", ".coachkit-run-")) or path.name.endswith(
            ".tmp"
        ):
            found.append(str(path.relative_to(out)))
    return sorted(found)


if __name__ == "__main__":  # python publish_faults.py DATA OUT AS_OF N REP...: a run killed at the N-th step
    data, out, as_of, n, *reps = sys.argv[1:]
    if sys.argv[-1] == "--no-exchange":
        reps = reps[:-1]
        publish._exchange = lambda a, b: False  # type: ignore[assignment]
    with fault_at(int(n), kill=True) as seen:
        run(Path(data), Path(out), as_of, reps)
    print(len(seen))
