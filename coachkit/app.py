"""``coachkit explore SOURCE``: the coach's explorer as a web page for managers who never open Jupyter.

The explorer (:mod:`coachkit.explore_app`) is served by Voilà, the Jupyter ecosystem's way to turn an
ipywidgets notebook into an app: it runs a one-cell notebook in a kernel and shows only its outputs (no code
cells). Here:

- the notebook is written to a fresh temporary folder (nothing is written beside the data), with a kernelspec
  that runs *this* Python, whatever kernels the user has installed; the folder is removed on exit;
- the server listens on 127.0.0.1 only; its page loads nothing from the network (charts draw with the
  JavaScript bundled by :func:`coachkit.charts.offline_jupyter_charts`);
- a dataset that does not load shows its one-line reason in the page, not a traceback.

:func:`explorer_cell` is what the served notebook runs; :func:`serve` starts Voilà and waits.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["HOST", "KERNEL_NAME", "explorer_cell", "app_notebook", "prepare", "voila_command", "serve", "running"]

#: The only interface the server listens on.
HOST = "127.0.0.1"
#: The kernelspec written beside the served notebook (this interpreter).
KERNEL_NAME = "coachkit-explore"
#: The Voilà page template written beside it (:func:`_offline_template`).
TEMPLATE = "coachkit-offline"


def explorer_cell(source: str, playbook: str | None = None) -> Any:
    """The widget the served notebook displays: the explorer of ``source`` (default selection: the first team's
    first rep over the data's last 8 weeks), or a one-line HTML message when the data cannot be loaded."""
    import html

    import ipywidgets as w

    from .explore_app import app
    from .load import DataError, load
    from .playbook import PlaybookError

    try:
        data = load(source, playbook=playbook or None).performed()  # to-dos not done are not effort
    except DataError as exc:
        first = exc.report.errors[0] if exc.report.errors else None
        where = f"{first.file}: " if first is not None and first.file else ""
        what = first.message if first is not None else str(exc)
        more = len(exc.report.errors) - 1
        tail = f" (and {more} more problem{'s' if more != 1 else ''}; run coachkit validate)" if more > 0 else ""
        return w.HTML(f"<p><b>The data cannot be explored:</b> {html.escape(where + what + tail)}</p>")
    except (OSError, PlaybookError, ImportError) as exc:
        return w.HTML(f"<p><b>The data cannot be explored:</b> {html.escape(str(exc).splitlines()[0])}</p>")
    if data.activities.empty:
        return w.HTML(f"<p><b>The data cannot be explored:</b> {html.escape(source)} has no activities.</p>")
    return app(data)


def app_notebook(source: str | Path, playbook: str | Path | None = None) -> dict[str, Any]:
    """The one-cell notebook Voilà serves (as a JSON-ready dict), reading ``source`` (an absolute path)."""
    code = (
        "from coachkit.app import explorer_cell\n\n"
        f"explorer_cell({str(source)!r}, {str(playbook) if playbook else ''!r})"
    )
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "explorer",
                "metadata": {},
                "outputs": [],
                "source": code,
            }
        ],
        "metadata": {
            "kernelspec": {"name": KERNEL_NAME, "display_name": "coachkit explorer", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def prepare(folder: Path, source: str | Path, playbook: str | Path | None = None) -> Path:
    """Write the served notebook and this interpreter's kernelspec into ``folder``; return the notebook's path."""
    spec = folder / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "coachkit explorer",
        "language": "python",
    }
    (spec / "kernel.json").write_text(json.dumps(kernel, indent=1), encoding="utf-8")
    _offline_template(folder / "share" / "jupyter" / "voila" / "templates" / TEMPLATE)
    path = folder / "explore.ipynb"
    path.write_text(json.dumps(app_notebook(source, playbook), indent=1), encoding="utf-8")
    return path


def _offline_template(target: Path) -> None:
    """Voilà's ``lab`` page template without the lines that load icon fonts from a CDN (jsdelivr).

    The explorer uses no icon font; the page then requests nothing but the local server. The template is
    derived from the installed Voilà's own at start-up, so it follows Voilà's version.
    """
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("voila", "templates"):
        lab = Path(base) / "lab" / "index.html.j2"
        if lab.is_file():
            break
    else:  # pragma: no cover - voila installs its templates
        raise RuntimeError("Voilà's lab template was not found; reinstall voila")
    lines = lab.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if "://" not in line or "<link" not in line]
    target.mkdir(parents=True, exist_ok=True)
    (target / "index.html.j2").write_text("".join(kept), encoding="utf-8")
    (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")


def voila_command(notebook: Path, port: int, *, open_browser: bool = False) -> list[str]:
    """The Voilà command line: ``notebook`` on 127.0.0.1:``port``, sources stripped, no tracebacks shown."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--port={port}",
        f"--Voila.ip={HOST}",
        "--Voila.port_retries=0",
        f"--Voila.open_browser={open_browser}",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--theme=light",
        f"--template={TEMPLATE}",
        "--VoilaConfiguration.file_allowlist=[]",
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def _wait_listening(port: int, proc: subprocess.Popen[Any], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((HOST, port)) == 0:
                return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def running(
    source: str | Path,
    *,
    port: int = 0,
    playbook: str | Path | None = None,
    open_browser: bool = False,
    timeout: float = 60.0,
    log: Any = None,
) -> Iterator[str]:
    """Run the explorer's Voilà server for ``source`` while the block runs; yields its URL.

    ``port`` 0 picks a free port. Raises ``RuntimeError`` (one line) when the port is taken or the server
    does not start within ``timeout`` seconds. On exit the server and its kernels are stopped and the
    temporary folder is removed.
    """
    source = Path(source).expanduser().resolve()
    if not source.exists():
        raise RuntimeError(f"{source}: no such dataset folder or .duckdb file")
    port = port or free_port()
    if _port_taken(port):
        raise RuntimeError(f"port {port} on {HOST} is in use; pick another with --port")
    folder = Path(tempfile.mkdtemp(prefix="coachkit-explore-"))
    try:
        pb = Path(playbook).expanduser().resolve() if playbook else None
        notebook = prepare(folder, source, pb)
        env = dict(os.environ)
        env["JUPYTER_PATH"] = os.pathsep.join([str(folder / "share" / "jupyter"), env.get("JUPYTER_PATH", "")])
        env.setdefault("PYTHONUNBUFFERED", "1")
        out = log if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            voila_command(notebook, port, open_browser=open_browser),
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            if not _wait_listening(port, proc, timeout):
                code = proc.poll()
                why = f"exited with code {code}" if code is not None else f"did not answer within {timeout:.0f} s"
                raise RuntimeError(f"the explorer's server (Voilà) {why}; run with --verbose to see its log")
            yield f"http://{HOST}:{port}/"
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server gets SIGTERM (and stops its kernels) when the process that started it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(proc: subprocess.Popen[Any]) -> None:
    """Stop Voilà and the kernels it started (its process group)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def serve(
    source: str | Path,
    *,
    port: int = 8866,
    playbook: str | Path | None = None,
    open_browser: bool = True,
    verbose: bool = False,
    echo: Any = print,
) -> None:
    """Serve the explorer of ``source`` until Ctrl-C or SIGTERM (what ``coachkit explore`` runs); then the server,
    its kernels and its temporary folder are gone."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        _serve(source, port=port, playbook=playbook, open_browser=open_browser, verbose=verbose, echo=echo)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(
    source: str | Path, *, port: int, playbook: str | Path | None, open_browser: bool, verbose: bool, echo: Any
) -> None:
    with running(
        source, port=port, playbook=playbook, open_browser=open_browser, log=None if not verbose else sys.stderr
    ) as url:
        echo(f"The explorer of {source} is at {url} (this computer only). Press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            echo("stopped")
