"""The reviews on a Dask distributed cluster: ``coachkit review --scheduler ADDRESS``, ``run_reviews(..., client=...)``.

Imported only when a run asks for a cluster (the built-in process pool of
:mod:`coachkit.batch` stays the default and never imports Dask). Needs the ``dask`` extra:
``pip install "coachkit[dask]"`` (dask, distributed, and bokeh for the dashboard).

**What runs where.** The process running ``coachkit review`` (the client) chooses the reps and
the window, takes the data snapshot and holds the output folder's lock, as with the pool.
It submits one task per rep (:func:`review_task`), in the pool's order (the reps of one team one
after another, so that a warm kernel reads each team once), each carrying only the review's
parameters (the dataset's path or URL, never its data) and the snapshot; the notebook's source
and the run's small files (coverage profile, focus pre-pass) go to each worker once. A worker
runs the review in its warm kernel and sends back the executed
notebook, the HTML page and the manifest record; the client writes them into its staging
folder (atomically) and publishes the week exactly as the pool does. So the output folder
need not be on a filesystem the workers share; the dataset must be readable by every
worker at the same path (a shared folder) or URL (:mod:`coachkit.remote`).

**Warm kernels.** Each worker process runs its reviews one at a time in one thread of its
own (:func:`_reviewer`), which keeps the process's warm kernel (:mod:`coachkit.engine`)
across the reps it runs, whatever thread Dask runs the task in. The kernel is started by
that long-lived thread because a kernel dies with the thread that started it (Linux's
parent-death signal is bound to the thread), and so it also dies with its worker process.

**Failures** are the pool's: a cell error, a timeout, a dead kernel, a kernel that does not
start and an unknown rep are failed reviews recorded by the worker (:func:`coachkit.batch._review_one`
never raises). A worker process that dies (killed, out of memory, its machine lost) loses
only the reviews it was running: the scheduler runs each of them again on another worker,
up to its ``allowed-failures`` (:data:`ALLOWED_FAILURES`, 1, for the cluster ``local:N`` starts;
set it on a scheduler of your own, see the README), then the rep fails with ``KilledWorker``
(kind ``worker died``). A finished review is gathered at once, so a later death cannot lose
it. Ctrl-C or SIGTERM cancels every review not finished, kills the kernels running this
run's reviews on the workers, closes a ``local:N`` cluster and removes the staging folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["ALLOWED_FAILURES", "ClusterError", "open_client", "review_task", "run_tasks", "write_result"]

#: Runs of a review whose worker died, before the rep fails (``distributed.scheduler.allowed-failures``
#: of the cluster ``local:N`` starts: one run again after a worker died).
ALLOWED_FAILURES = 1
#: Seconds to wait for the first worker of a scheduler given by address.
WAIT_FOR_WORKERS = 60
_LOCAL = re.compile(r"^local(?::(\d+))?$")


class ClusterError(RuntimeError):
    """The cluster cannot run the reviews (no scheduler at the address, no worker, coachkit missing on workers)."""


# ---------------------------------------------------------------- the client side


@contextlib.contextmanager
def open_client(address: str, *, quiet: bool = True) -> Iterator[Any]:
    """A ``distributed.Client`` for ``address``, closed at the end (and the cluster, for ``local:N``).

    ``local:N`` (``local``: the number of cores) starts a ``distributed.LocalCluster`` of N
    worker processes with one thread each; any other address (``tcp://host:8786``, a
    scheduler file's address, ...) connects to a running scheduler and waits up to
    :data:`WAIT_FOR_WORKERS` s for a worker. Raises :class:`ClusterError` in one line when
    Dask is not installed, nothing answers at the address, or no worker comes.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ClusterError(
            f"--scheduler needs Dask: pip install 'coachkit[dask]' (dask, distributed, bokeh); {exc}"
        ) from None
    local = _LOCAL.match(address.strip())
    if local:
        n = int(local.group(1) or os.cpu_count() or 1)
        if n < 1:
            raise ClusterError(f"--scheduler {address}: local:N needs N >= 1 worker processes")
        config = {
            "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
            "distributed.scheduler.worker-saturation": 1.0,  # one review per worker at a time: none queued there
        }
        # the nanny's one-thread settings are for a worker computing in threads, not for a review kernel (see
        # _kernel_environment): not set at all here; and this process's environment is given back at the end
        config |= {f"distributed.nanny.pre-spawn-environ.{name}": None for name in _ONE_THREAD}
        saved = dict(os.environ)
        with dask.config.set(config):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                silence_logs=50,
            )
        try:
            # not `with Client(...)`: that makes it the context's current client, which only the thread that
            # opened it could undo (an Opening opens it in a thread of its own and closes it from the batch's)
            client = Client(cluster, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
            for name in set(os.environ) - set(saved):  # the nanny sets its variables here before each spawn
                del os.environ[name]
            os.environ.update({k: v for k, v in saved.items() if os.environ.get(k) != v})
        return
    try:
        client = Client(address.strip(), timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"--scheduler {address}: no Dask scheduler answered ({' '.join(str(exc).split())}); "
            "start one with `dask scheduler` and give its address, e.g. tcp://HOST:8786"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
        except TimeoutError:
            raise ClusterError(
                f"--scheduler {address}: no Dask worker connected to the scheduler within {WAIT_FOR_WORKERS} s; "
                f"start workers with `dask worker {address} --nthreads 1`"
            ) from None
        yield client
    finally:
        client.close()


class Opening:
    """A cluster being opened in the background: :func:`open_client` and :func:`check_workers` run in a thread
    while the batch does its own work first (reading the data, the focus pre-pass), so that starting the workers
    and their first imports overlap with it. ``warm``: a callable each worker runs in its review thread once
    connected (:func:`warm_up`), which starts its warm kernel ahead of its first review. :meth:`client` waits
    for the client (raising what opening it raised); :meth:`close` waits for the thread and closes what it
    opened (the cluster too, for ``local:N``).
    """

    def __init__(self, address: str, warm: Any = None) -> None:
        self.address = address
        self.warm = warm
        self._stack = contextlib.ExitStack()
        self._client: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._open, name="coachkit-cluster", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        try:
            self._client = self._stack.enter_context(open_client(self.address))
            check_workers(self._client)
            if self.warm is not None:  # each worker's kernel starts now, alongside the batch's own work
                self._client.run(warm_up, self.warm, on_error="ignore")
        except BaseException as exc:  # raised again by client() in the batch's thread
            self._error = exc

    def client(self) -> Any:
        """The ``distributed.Client``, once open and its workers checked; raises what opening it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._client

    def close(self) -> None:
        """Close the client (and the ``local:N`` cluster), after the opening thread has finished."""
        self._thread.join()
        self._stack.close()


def describe(client: Any) -> dict[str, Any]:
    """The cluster as the manifest records it: scheduler address, dashboard link, workers, review slots, allowed failures."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    try:  # a lambda travels by value: the scheduler needs no coachkit
        allowed = client.run_on_scheduler(lambda dask_scheduler: getattr(dask_scheduler, "allowed_failures", None))
    except Exception:
        allowed = None
    return {
        "scheduler": client.scheduler.address,
        "dashboard": client.dashboard_link or "",
        "workers": len(workers),
        "threads": sum(int(w.get("nthreads") or 1) for w in workers.values()),
        "allowed_failures": allowed,
    }


def check_workers(client: Any) -> None:
    """Raise :class:`ClusterError` naming the workers that cannot run a review (coachkit or papermill missing)."""
    from importlib.metadata import version

    mine = version("coachkit")
    answers = client.run(_worker_versions, on_error="return")
    bad = []
    for worker, got in sorted(answers.items()):
        if isinstance(got, BaseException):
            bad.append(f"{worker} ({type(got).__name__}: {got})")
        elif got.get("coachkit") != mine:
            bad.append(f"{worker} (coachkit {got.get('coachkit')}, this one is {mine})")
    if bad:
        raise ClusterError(
            f"these Dask workers cannot run the reviews: {', '.join(bad[:5])}; install the same "
            f"coachkit ({mine}) with its dask extra on every worker: pip install 'coachkit[dask]'"
        )


def _worker_versions() -> dict[str, str]:
    from importlib.metadata import version

    import papermill  # noqa: F401  (a worker runs notebooks)

    return {"coachkit": version("coachkit"), "python": sys.version.split()[0]}


def run_tasks(
    client: Any, tasks: list[dict[str, Any]], tag: str, worker_fn: Any, shared: dict[str, Any] | None = None
) -> Iterator[tuple[dict, Any]]:
    """Submit a review per task (``worker_fn``: the worker-side review of :mod:`coachkit.batch`), in order;
    yield ``(task, result)`` as each finishes.

    ``shared``: the keys every task has in common (the notebook's source, the run's files), scattered to
    the workers once (``Client.scatter(broadcast=True)``) and added to each task on its worker, rather than
    pickled into every task: 499 copies of a 500-rep run's focus file took 450 MB in the client.

    ``result`` is the worker's answer (:func:`review_task`), or the exception when the task
    itself failed (``KilledWorker`` after worker deaths). Each finished review is gathered and
    released at once. Closing the generator before the end (an exception, Ctrl-C) cancels the
    reviews not finished and kills the kernels running this run's reviews on the workers.
    """
    from distributed import as_completed

    futures: dict[Any, dict[str, Any]] = {}
    common = client.scatter([shared or {}], broadcast=True, hash=False)[0] if tasks else None
    for i, task in enumerate(tasks):
        key = f"coachkit-review-{task['stem']}-{tag}"
        fut = client.submit(review_task, task, worker_fn, common, key=key, pure=False, priority=len(tasks) - i)
        futures[fut] = task
    done = False
    try:
        for fut in as_completed(list(futures), loop=client.loop):  # this client, even when not the default
            task = futures.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:
                result = exc
            fut.release()  # the worker forgets the result: a later worker death does not rerun it
            yield task, result
        done = True
    finally:
        if not done and futures:
            with contextlib.suppress(Exception):
                client.cancel(list(futures), force=True)
            with contextlib.suppress(Exception):
                client.run(stop_reviews, tag, on_error="ignore")


def write_result(staging: Path, task: dict[str, Any], result: Any, classify: Any) -> dict[str, Any]:
    """The manifest record of a review from the worker's answer; its files written atomically into ``staging``.

    An exception (the worker died, the task could not run) is a failed review
    (``classify``: :func:`coachkit.batch._classify`; ``KilledWorker`` is kind ``worker died``). A file that
    cannot be written (a full disk) fails the review and leaves none of its files.
    """
    from .files import write_bytes

    if isinstance(result, BaseException):
        error = classify(result)
        if type(result).__name__ == "KilledWorker":
            error = {
                "type": "KilledWorker",
                "kind": "worker died",
                "message": "the Dask worker process running this review died each time it ran it "
                "(killed, out of memory or its machine lost); the other reviews were not affected",
            }
        return {"stem": task["stem"], "status": "failed", "error": error, "files": {}, "summary": None, "seconds": 0.0}
    record = {k: v for k, v in result.items() if k != "blobs"}
    written = []
    try:
        for name, data in result["blobs"].items():
            if Path(name).name != name or not name.startswith(task["stem"] + "."):
                raise ValueError(f"a worker returned an unexpected file name {name!r}")
            written.append(write_bytes(staging / name, data))
    except Exception as exc:
        for path in written:
            path.unlink(missing_ok=True)
        record |= {"status": "failed", "error": classify(exc), "files": {}}
    return record


# ---------------------------------------------------------------- the worker side

#: The review thread of this worker process and the run whose review it runs now.
_REVIEWER: dict[str, Any] = {}
_LOCK = threading.Lock()


def _reviewer() -> ThreadPoolExecutor:
    """This process's review thread: one, for the life of the process (it owns the warm kernel)."""
    with _LOCK:
        pool = _REVIEWER.get("pool")
        if pool is None:
            _kernel_environment()
            pool = _REVIEWER["pool"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coachkit-review")
        return pool


def _kernel_environment() -> None:
    """Let the review kernels this worker starts run as the pool's do: without the variables Dask's nanny sets
    for the worker process itself (``distributed.nanny.pre-spawn-environ``: ``OMP_NUM_THREADS=1`` and the like).

    A kernel inheriting one thread for OpenMP/MKL/OpenBLAS (and Arrow's pool, which follows OMP_NUM_THREADS) ran a
    review 16-45% slower (median per review, 40-rep sample, 2 workers, 2 runs). Only a value equal to the nanny's is
    removed, so a value the user set differently stays.
    """
    try:
        import dask

        preset = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    except Exception:
        return
    for name in _ONE_THREAD:
        if preset.get(name) is not None and os.environ.get(name) == str(preset[name]):
            del os.environ[name]


#: What Dask's nanny sets to one thread for its workers by default (``distributed.nanny.pre-spawn-environ``).
_ONE_THREAD = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def warm_up(start: Any) -> bool:
    """On a worker: run ``start`` (the batch's :func:`coachkit.batch.warm_kernel`) in this process's review thread,
    which then owns the kernel it starts, as a review's would; True if it ran without an error.

    An error is not reported here: the worker's first review starts its kernel again and reports it then.
    """
    try:
        _reviewer().submit(start).result()
    except Exception:
        return False
    return True


def review_task(task: dict[str, Any], worker_fn: Any, shared: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one rep's review on this worker; return its manifest record plus ``blobs``: file name -> bytes.

    ``shared``: keys common to every task of the run (:func:`run_tasks`), under the task's own.

    The notebook (``task["notebook_source"]``) and, when the client's previous review is not
    readable here, a notebook holding only its summary are written to a temporary folder; the
    review runs there (``worker_fn``, :func:`coachkit.batch._review_one` or
    :func:`coachkit.remote`'s), its files are read back and the folder removed. The executed
    notebook records the client's paths (notebook, output, previous review, dataset URL), as a
    review by the pool does.
    """
    return _reviewer().submit(_review_here, (shared or {}) | task, worker_fn).result()


def _review_here(task: dict[str, Any], worker_fn: Any) -> dict[str, Any]:
    _REVIEWER["tag"] = task.get("tag")
    try:
        with tempfile.TemporaryDirectory(prefix="coachkit-review-") as tmp:
            here = Path(tmp)
            nb_path = here / "notebook.ipynb"
            nb_path.write_text(task["notebook_source"], encoding="utf-8")
            params = dict(task["parameters"])
            swap: dict[str, str] = {}
            prev = params.get("previous") or ""
            if prev and not Path(prev).is_file() and task.get("previous_summary") is not None:
                local_prev = here / "previous.ipynb"
                local_prev.write_text(_summary_notebook(task["previous_summary"]), encoding="utf-8")
                params["previous"], swap[str(local_prev)] = str(local_prev), prev
            for name, data in (task.get("run_files") or {}).items():  # the run's inputs, when not readable here
                if params.get(name) and not Path(params[name]).is_file():
                    copy = here / f"{name}{Path(params[name]).suffix}"
                    copy.write_bytes(data)
                    params[name], swap[str(copy)] = str(copy), params[name]
            staging = here / "out"
            staging.mkdir()
            local = dict(task, staging=str(staging), notebook=str(nb_path), parameters=params)
            record = worker_fn(local)
            blobs = {name: (staging / name).read_bytes() for name in record.get("files", {}).values()}
            ipynb = record.get("files", {}).get("ipynb")
            if ipynb:
                blobs[ipynb] = _as_client_wrote(blobs[ipynb], task, local, swap)
    finally:
        _REVIEWER["tag"] = None
    return record | {"blobs": blobs}


def _summary_notebook(summary: dict[str, Any]) -> str:
    """A notebook holding only ``summary`` as a published summary: what a review reads of the previous one."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from .export import SUMMARY_MIME

    cell = new_code_cell("", outputs=[new_output("display_data", data={SUMMARY_MIME: summary, "text/plain": ""})])
    return nbformat.writes(new_notebook(cells=[cell]))


def _as_client_wrote(data: bytes, task: dict[str, Any], local: dict[str, Any], swap: dict[str, str]) -> bytes:
    """The executed notebook with the client's paths where the worker's temporary ones were."""
    return client_paths(
        data.decode("utf-8"), swap, task["notebook"], str(Path(task["staging"]) / f"{task['stem']}.ipynb")
    ).encode("utf-8")


def client_paths(text: str, swap: dict[str, str], input_path: str | None = None, output_path: str | None = None) -> str:
    """An executed notebook (``text``) with each parameter value ``swap`` maps replaced, in papermill's
    metadata and in the injected-parameters cell, and papermill's input and output paths set when given:
    the notebook a review run where the client is would have written."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    meta = nb.metadata.get("papermill")
    if meta is None:
        return text
    if input_path is not None:
        meta["input_path"] = input_path
    if output_path is not None:
        meta["output_path"] = output_path
    params = meta.get("parameters") or {}
    for name, value in list(params.items()):
        if isinstance(value, str) and value in swap:
            params[name] = swap[value]
    for cell in nb.cells:
        if swap and "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            for mine, theirs in swap.items():
                cell.source = cell.source.replace(_literal(mine), _literal(theirs))
    return nbformat.writes(nb)


def _literal(text: str) -> str:
    """``text`` as papermill writes a string parameter into the injected-parameters cell."""
    from papermill.translators import PythonTranslator

    return PythonTranslator.translate_str(text)


def stop_reviews(tag: str) -> bool:
    """On a worker: kill the kernel running a review of the run ``tag`` (the review then ends at once); True if one was."""
    if _REVIEWER.get("tag") != tag:
        return False
    from .engine import kill_kernels

    kill_kernels()
    return True
