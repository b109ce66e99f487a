"""The reviews on a Dask cluster: a LocalCluster of 2 worker processes (one for the module), then a scheduler
and two workers started as separate commands.

Each test checks the output folder: every manifest entry's files exist, every file is listed,
nothing is left staged. Reps of the test notebook log each run of their review, so that a
review run again after its worker died can be told from one run once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytest.importorskip("distributed", reason="the dask extra (pip install 'coachkit[dask]') is not installed")

from fake_review import write_fake_review  # tests/fake_review.py

from coachkit import SalesData, cluster, export, procs, remote
from coachkit.batch import run_reviews
from coachkit.naming import safe_name

pytestmark = pytest.mark.slow

AS_OF = "2024-06-30"


def _activity(i: int, rep: str, when: str, kind: str = "call", outcome: str = "connected") -> dict:
    return {
        "activity_id": f"a{i}",
        "rep_id": rep,
        "activity_type": kind,
        "occurred_at": pd.Timestamp(when),
        "outcome": outcome,
        "account_id": f"acc{i}",
    }


def _save(folder: Path, reps: list[str], teams: list[str] | None = None) -> Path:
    table = pd.DataFrame({"rep_id": reps, "name": reps, "team": teams or ["T"] * len(reps), "role": "SDR"})
    acts = [_activity(2 * i + k, r, f"2024-06-{18 + k} 10:00") for i, r in enumerate(reps) for k in (0, 1)]
    SalesData.from_frames(pd.DataFrame(acts), table).save(folder, "parquet")
    return folder


#: The test notebook: each run appends its kernel's pid to ``$COACHKIT_TEST_RUNS/<rep>``; some reps fail on purpose.
_CODE = """import os, pathlib, signal, time
log = pathlib.Path(os.environ["COACHKIT_TEST_RUNS"]) / rep_id
with open(log, "a") as f:
    f.write(f"{os.getpid()}\\n")
log.with_suffix(".omp").write_text(str(os.environ.get("OMP_NUM_THREADS")))
runs = len(log.read_text().split())
if rep_id == "die_always" or (rep_id == "die_once" and runs == 1):
    os.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent: the Dask worker process
    time.sleep(60)
if rep_id == "crash":
    os._exit(1)
if rep_id == "slow":
    time.sleep(120)
if rep_id == "boom":
    raise ValueError("boom <b>bad</b>")
time.sleep(float(os.environ.get("COACHKIT_TEST_SLEEP", "0")) if rep_id.startswith("nap") else 0)
print("previous:", previous)"""


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_review(tmp_path_factory.mktemp("nb") / "test.ipynb", _CODE)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    """One LocalCluster of 2 worker processes for the module (as ``--scheduler local:2`` starts it)."""
    saved = {k: os.environ.get(k) for k in (remote.CACHE_ENV, "COACHKIT_TEST_SLEEP", "COACHKIT_TEST_RUNS")}
    os.environ[remote.CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))  # the workers inherit it
    os.environ["COACHKIT_TEST_RUNS"] = str(tmp_path_factory.mktemp("runs"))
    os.environ["COACHKIT_TEST_SLEEP"] = "4"
    try:
        with cluster.open_client("local:2") as c:
            yield c
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _kernels(reps: list[str]) -> dict[str, list[str]]:
    """Rep -> the pid of the kernel of each run of its review (from the test notebook's log), for the reps run."""
    folder = Path(os.environ["COACHKIT_TEST_RUNS"])
    return {r: (folder / r).read_text().split() for r in reps if (folder / r).is_file()}


def _runs(reps: list[str]) -> dict[str, int]:
    """Rep -> how many times its review ran."""
    return {r: len(pids) for r, pids in _kernels(reps).items()}


def _coherent(result) -> None:
    """The published week is one complete run: every file listed exists, every file is listed, nothing staged."""
    folder = result.folder
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["reps"] == result.manifest["reps"]
    listed = {f for rec in manifest["reps"].values() for f in rec["files"].values()}
    present = {p.name for p in folder.iterdir()} - {"index.html", "definitions.html", "manifest.json"}
    assert listed == present
    assert manifest["counts"] == {
        k: sum(r["status"] == k for r in manifest["reps"].values()) for k in ("ok", "failed", "skipped")
    }
    index = (folder / "index.html").read_text()
    for rep in manifest["reps"]:
        assert f">{rep}<" in index
    assert not [p for p in result.out.iterdir() if p.name.startswith(".coachkit-staging-")]
    for rec in manifest["reps"].values():
        if "ipynb" in rec["files"]:
            nbformat.read(folder / rec["files"]["ipynb"], as_version=4)  # whole, readable


def _outputs(nb) -> list:
    def canonical(text: str) -> str:
        names = list(dict.fromkeys(re.findall(r"gradient_[0-9]+", text)))
        return re.sub(r"gradient_[0-9]+", lambda m: f"gradient#{names.index(m.group(0))}", text)

    return [
        (c.source, canonical(json.dumps(c.get("outputs"), sort_keys=True)))
        for c in nb.cells
        if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]


# ---------------------------------------------------------------- the same reviews as the pool


def test_the_cluster_writes_the_reviews_the_pool_writes(
    client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    _save(data, ["R1", "R2", "R3", "R4"], ["East", "East", "West", "West"])
    submitted, scattered = [], []
    real_submit, real_scatter = client.submit, client.scatter

    def spy(fn, *args, **kwargs):
        submitted.append(args)
        return real_submit(fn, *args, **kwargs)

    def spy_scatter(data, **kwargs):
        scattered.append((data, kwargs))
        return real_scatter(data, **kwargs)

    monkeypatch.setattr(client, "submit", spy)
    monkeypatch.setattr(client, "scatter", spy_scatter)
    pool = run_reviews(data, tmp_path / "pool", as_of=AS_OF, weeks=2, workers=2, quiet=True)
    dask = run_reviews(data, tmp_path / "dask", as_of=AS_OF, weeks=2, quiet=True, client=client)
    assert pool.ok == dask.ok == ["R1", "R2", "R3", "R4"]
    for rep in pool.ok:
        a = nbformat.read(pool.folder / f"{rep}.ipynb", as_version=4)
        b = nbformat.read(dask.folder / f"{rep}.ipynb", as_version=4)
        assert _outputs(a) == _outputs(b)
        assert export.read_summary(a) == export.read_summary(b)
        # the same parameters, but for where each run staged its own run files (removed before publishing)
        run_own = ("coverage", "focus_run")
        pa, pb = ({k: v for k, v in nb.metadata.papermill.parameters.items() if k not in run_own} for nb in (a, b))
        assert pa == pb
        assert b.metadata.papermill.input_path == str(Path(pool.manifest["parameters"]["notebook"]))
        assert (
            (dask.folder / f"{rep}.html").read_text().count("<svg")
            == (pool.folder / f"{rep}.html").read_text().count("<svg")
            > 0
        )
    strip = lambda recs: {r: {k: v for k, v in rec.items() if k != "seconds"} for r, rec in recs.items()}  # noqa: E731
    assert strip(dask.manifest["reps"]) == strip(pool.manifest["reps"])
    assert dask.manifest["parameters"]["scheduler"] == client.scheduler.address
    assert dask.manifest["parameters"]["workers"] == 2
    _coherent(dask)
    # what went to the workers: each task's parameters, plain text, never the data; the notebook's source and the
    # run's small input files (coverage profile, focus pre-pass, for workers that cannot read them) once per run
    assert len(submitted) == 4
    for task, worker_fn, common in submitted:
        assert worker_fn.__name__ == "_review_one"
        assert common.key == submitted[0][2].key  # the one scattered payload
        text = json.dumps(task)  # JSON values: no DataFrame, no bytes
        assert len(text) < 16_000 and "notebook_source" not in task and "run_files" not in task
        assert task["parameters"]["data"] == str(data.resolve())
    [([shared], how)] = scattered
    assert how["broadcast"] is True
    assert shared["notebook_source"].startswith("{") and '"parameters"' in shared["notebook_source"]
    assert set(shared["run_files"]) <= {"coverage", "focus_run"} and "coverage" in shared["run_files"]
    assert sum(len(b) for b in shared["run_files"].values()) < 256_000


# ---------------------------------------------------------------- failures stay with their rep


def test_cell_error_timeout_dead_kernel_and_unknown_rep_are_isolated(client, notebook: Path, tmp_path: Path) -> None:
    data = _save(tmp_path / "data", ["good", "boom", "slow", "crash"])
    result = run_reviews(
        data, tmp_path / "out", reps=["good", "boom", "slow", "crash", "nope"], timeout=8, quiet=True,
        notebook=notebook, client=client,
    )  # fmt: skip
    assert result.ok == ["good"]
    failed = result.failed
    assert {r: (e["type"], e["kind"]) for r, e in failed.items()} == {
        "boom": ("ValueError", "cell error"),
        "slow": ("CellTimeoutError", "timeout"),
        "crash": ("DeadKernelError", "dead kernel"),
        "nope": ("UnknownRepError", "unknown rep"),
    }
    assert failed["boom"]["message"] == "boom <b>bad</b> (cell 2)"
    for rep in ("boom", "slow", "crash"):  # failed notebooks are kept and say so, as with the pool
        kept = nbformat.read(result.folder / f"{safe_name(rep)}.ipynb", as_version=4)
        assert kept.metadata["coachkit"]["error"]["type"] == failed[rep]["type"]
    assert _runs(["good", "boom", "slow", "crash", "nope"]) == {
        "good": 1,
        "boom": 1,
        "slow": 1,
        "crash": 1,
    }  # once each
    assert "boom &lt;b&gt;bad&lt;/b&gt; (cell 2)" in (result.folder / "index.html").read_text()
    _coherent(result)


def test_a_killed_worker_reruns_only_its_review_once(client, notebook: Path, tmp_path: Path) -> None:
    reps = ["nap1", "nap2", "die_once", "nap3", "nap4", "die_always", "nap5", "nap6"]
    data = _save(tmp_path / "data", reps)
    result = run_reviews(data, tmp_path / "out", reps=reps, quiet=True, notebook=notebook, client=client)
    runs = _runs(reps)
    # the rep whose worker died ran again once and was written; the one whose worker died twice failed
    assert runs["die_once"] == 2 and "die_once" in result.ok
    assert runs["die_always"] == 2
    assert result.failed == {
        "die_always": {
            "type": "KilledWorker",
            "kind": "worker died",
            "message": "the Dask worker process running this review died each time it ran it (killed, out of memory or "
            "its machine lost); the other reviews were not affected",
        }
    }
    # every other review ran exactly once: those finished before a death were not lost, those in flight
    # on the other worker were not rerun
    assert {r: n for r, n in runs.items() if r.startswith("nap")} == {f"nap{i}": 1 for i in range(1, 7)}
    assert sorted(result.ok) == sorted(r for r in reps if r != "die_always")
    _coherent(result)
    assert len(client.scheduler_info()["workers"]) == 2  # the nanny restarted the worker


def test_a_dataset_at_a_url_is_read_by_the_workers(client, notebook: Path, tmp_path: Path) -> None:
    data = _save(tmp_path / "data", ["u1", "u2", "u3", "u4"])
    url = "file://" + str(data.resolve())
    reps = ["u1", "u2", "u3", "u4"]
    result = run_reviews(url, tmp_path / "out", reps=reps, quiet=True, notebook=notebook, client=client)
    assert result.ok == reps
    # each worker process kept its warm kernel across the reps it ran: 4 reviews, 2 kernels
    assert len({pid for pids in _kernels(reps).values() for pid in pids}) == 2
    # the kernels do not inherit the nanny's one-thread settings for the worker (OMP_NUM_THREADS=1)
    omp = {(Path(os.environ["COACHKIT_TEST_RUNS"]) / f"{r}.omp").read_text() for r in reps}
    if os.environ.get("OMP_NUM_THREADS") != "1":  # (a client with 1 cannot tell)
        assert omp == {str(os.environ.get("OMP_NUM_THREADS"))}
    nb = nbformat.read(result.folder / f"{safe_name('u1')}.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["data"] == url  # the URL, not the worker's copy
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'data = "{url}"' in injected.source
    fingerprint = result.manifest["data"]["fingerprint"]
    assert sorted(fingerprint) == sorted(f"{url}/{p.name}" for p in data.iterdir())  # the tables and playbook.toml
    assert all(set(v) == {"size", "version"} for v in fingerprint.values())
    assert result.manifest["parameters"]["source"] == url
    copies = [p for p in Path(os.environ[remote.CACHE_ENV]).iterdir() if (p / ".complete").is_file()]
    assert len(copies) == 1  # one copy per machine, made once, complete
    _coherent(result)
    # a file replaced after the run's snapshot: the review fails, named, rather than using other data
    snap = remote.fingerprint(url)
    (data / "reps.parquet").write_bytes((data / "reps.parquet").read_bytes() + b"")
    os.utime(data / "reps.parquet", ns=(1, 1))
    from coachkit.snapshot import DataChangedError

    with pytest.raises(DataChangedError, match=r"reps.parquet modified"):
        remote.materialise(url, snap)


def test_ctrl_c_cancels_the_reviews_and_publishes_nothing(client, notebook: Path, tmp_path: Path) -> None:
    reps = [f"nap_c{i}" for i in range(1, 9)]
    data = _save(tmp_path / "data", reps)
    out = tmp_path / "out"
    timer = threading.Timer(7.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(procs.Interrupted):
            run_reviews(data, out, reps=reps, quiet=True, notebook=notebook, client=client)
    finally:
        timer.cancel()
    assert not [p for p in out.iterdir() if p.name not in (".coachkit-lock",)]  # no week, no staging, no file
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(client.processing().values()):
        time.sleep(0.5)
    assert not any(client.processing().values())  # nothing of the run still runs on the cluster
    ran = sum(_runs(reps).values())
    time.sleep(5)
    assert sum(_runs(reps).values()) == ran < len(reps)  # and nothing more starts


# ---------------------------------------------------------------- a scheduler and workers started as commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_review_through_a_separately_started_scheduler_and_workers(tmp_path: Path) -> None:
    data = _save(tmp_path / "data", ["R1", "R2", "R3"], ["East", "East", "West"])
    dask = Path(sys.executable).parent / "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    tag = f"test-cluster-{os.getpid()}-{time.time_ns()}"
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1", **{procs.RUN_ENV: tag})
    logs = tmp_path / "logs"
    logs.mkdir()
    commands = [
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", "127.0.0.1:0"],
        *[[dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--name", f"w{i}"] for i in (1, 2)],
    ]  # fmt: skip
    started = []
    try:
        for i, cmd in enumerate(commands):
            log = open(logs / f"{i}.log", "wb")
            started.append((subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log, stderr=log), log))
        from distributed import Client

        with Client(address, timeout="30s") as probe:
            probe.wait_for_workers(2, timeout=60)
        out = tmp_path / "out"
        res = subprocess.run(
            [Path(sys.executable).parent / "coachkit", "review", str(data), "--out", str(out), "--as-of", AS_OF,
             "--weeks", "2", "--scheduler", address, "--rep", "R1", "--rep", "R3", "--rep", "nope"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert res.returncode == 1, res.stderr  # the unknown rep fails, alone
        assert "FAILED 'nope': UnknownRepError" in res.stderr
        assert "Dask worker(s); dashboard: http://127.0.0.1:" in res.stderr
        manifest = json.loads((out / "2024-W26" / "manifest.json").read_text())
        assert {r: v["status"] for r, v in manifest["reps"].items()} == {"R1": "ok", "R3": "ok", "nope": "failed"}
        assert manifest["parameters"]["scheduler"] == address and manifest["parameters"]["workers"] == 2
        assert sorted(p.name for p in (out / "2024-W26").iterdir()) == sorted(
            ["definitions.html", "index.html", "manifest.json", "R1.html", "R1.ipynb", "R3.html", "R3.ipynb"]
        )
        assert len(procs.tagged_processes(tag)) >= 5  # scheduler, 2 nannies, 2 workers (+ their kernels)
    finally:
        for proc, _ in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc, log in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            log.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and procs.tagged_processes(tag):
        time.sleep(0.5)
    assert procs.tagged_processes(tag) == []  # no scheduler, worker or kernel left


def test_bad_scheduler_addresses_are_one_line(tmp_path: Path) -> None:
    data = _save(tmp_path / "data", ["R1"])
    with pytest.raises(cluster.ClusterError, match=r"no Dask scheduler answered .*start one with `dask scheduler`"):
        with cluster.open_client(f"tcp://127.0.0.1:{_free_port()}"):
            pass
    with pytest.raises(cluster.ClusterError, match="local:N needs N >= 1"):
        with cluster.open_client("local:0"):
            pass
    from click.testing import CliRunner

    from coachkit.review_cli import review_command

    res = CliRunner().invoke(
        review_command, [str(data), "--out", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{_free_port()}"]
    )
    assert res.exit_code == 1
    assert res.output.startswith("Error: --scheduler tcp://127.0.0.1:") and res.output.count("\n") == 1
    assert not list((tmp_path / "out").glob("20*"))


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_local_cluster_run_leaves_no_process_and_the_next_run_is_clean(tmp_path: Path) -> None:
    reps = [f"R{i}" for i in range(1, 7)]
    data = _save(tmp_path / "data", reps)
    out = tmp_path / "out"
    coachkit = Path(sys.executable).parent / "coachkit"
    cmd = [coachkit, "review", str(data), "--out", str(out), "--as-of", AS_OF, "--weeks", "2", "--quiet"]
    run = subprocess.Popen([*cmd, "--scheduler", "local:2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tag, deadline = None, time.monotonic() + 120
    try:
        while time.monotonic() < deadline and (tag is None or len(procs.tagged_processes(tag)) < 4):
            for child in _children(run.pid):  # the run's tag, from a worker process's environment
                with contextlib.suppress(OSError):
                    env = dict(
                        v.split("=", 1) for v in Path(f"/proc/{child}/environ").read_text().split("\0") if "=" in v
                    )
                    tag = env.get(procs.RUN_ENV) or tag
            time.sleep(0.3)
        assert tag is not None and len(procs.tagged_processes(tag)) >= 4  # 2 workers and their kernels at least
        run.kill()  # kill -9 of coachkit review, mid-run
        run.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and procs.tagged_processes(tag):
            time.sleep(0.5)
        assert procs.tagged_processes(tag) == []  # within 10 s, no worker, kernel or tracker of the run is left
    finally:
        run.kill()
    assert not list(out.glob("20*"))  # nothing published
    again = subprocess.run([*cmd, "--scheduler", "local:2"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "removed" in again.stderr  # the stale staging folder, said
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".coachkit-staging")) == []
    assert json.loads((out / "2024-W26" / "manifest.json").read_text())["counts"]["ok"] == 6


# ---------------------------------------------------------------- a worker's kernel started ahead of its first review


def test_warm_up_runs_in_the_review_thread_and_never_raises() -> None:
    names = []
    assert cluster.warm_up(lambda: names.append(threading.current_thread().name)) is True
    assert names and names[0].startswith("coachkit-review")  # the thread that then owns the kernel

    def broken() -> None:
        raise OSError("no kernel today")

    assert cluster.warm_up(broken) is False  # the first review starts the kernel again and reports its error


def test_warm_kernel_starts_the_kernel_the_next_review_uses(tmp_path: Path) -> None:
    from coachkit import engine
    from coachkit.batch import execute_notebook, warm_kernel

    engine.shutdown_kernels()
    try:
        warm_kernel()
        [(km, _)] = engine._KERNELS.values()
        pid = km.provisioner.pid
        nb = new_notebook(cells=[new_code_cell("import os\nprint(os.getpid(), os.getcwd())")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / "in.ipynb")
        out = execute_notebook(
            tmp_path / "in.ipynb", tmp_path / "out.ipynb", {}, timeout=60, isolation="warm", cwd=tmp_path
        )
        kernel_pid, cwd = out.cells[0].outputs[0]["text"].split()
        assert int(kernel_pid) == pid  # the warm kernel, not a new one
        assert Path(cwd) == tmp_path  # and it runs where the review asks
    finally:
        engine.shutdown_kernels()
