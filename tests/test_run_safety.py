"""A review run under faults, end to end with real kernels: kill -9, Ctrl-C and SIGTERM, a second run,
the data replaced mid-run, a read-only output folder, a full disk.

The notebook is a small one of our own (no pandas in the kernel: quick kernel starts) whose
behaviour the rep id chooses: ``sleep-N-...`` sleeps N seconds, ``mutate`` changes the
dataset's playbook while it runs, ``big`` prints 1.5 MB. Kernels are fresh (no preload).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from fake_review import write_fake_review  # tests/fake_review.py

from coachkit import SalesData, batch, kernel_fork, procs, publish
from coachkit.naming import safe_name
from coachkit.review_cli import review_command
from coachkit.runlock import RunLockedError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the run's processes through /proc"),
]

AS_OF = "2024-06-30"  # window 2024-06-17 .. 06-30 with weeks=2: the week 2024-W26
WEEK = "2024-W26"
REPS = ["quick", "quick2", "mutate", "big", "sleep-60-a", "sleep-60-b", "sleep-60-c", "sleep-60-d"]


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    code = (
        "import pathlib, time\n"
        'if rep_id.startswith("sleep-"):\n    time.sleep(float(rep_id.split("-")[1]))\n'
        'if rep_id == "mutate":\n'
        '    pb = pathlib.Path(data) / "playbook.toml"\n'
        '    pb.write_text(pb.read_text() + "\\n# edited while the reviews ran\\n")\n'
        'if rep_id == "big":\n    print("x" * 1_500_000)'
    )
    return write_fake_review(tmp_path_factory.mktemp("nb") / "probe.ipynb", code, headline=False)


def _data(folder: Path) -> Path:
    reps = pd.DataFrame({"rep_id": REPS, "team": "T"})
    acts = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(len(REPS))],
            "rep_id": REPS,
            "activity_type": "call",
            "occurred_at": pd.Timestamp("2024-06-20 10:00"),
        }
    )
    SalesData.from_frames(acts, reps).save(folder, "parquet")
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return _data(tmp_path / "data")


def _run(data: Path, out: Path, notebook: Path, reps: list[str], **kw):
    kw = {"workers": 1, "isolation": "fresh", "timeout": 120, "quiet": True} | kw
    return batch.run_reviews(data, out, reps=reps, as_of=AS_OF, weeks=2, notebook=notebook, **kw)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("*") if p.name.startswith(".coachkit-staging-") or p.name.endswith(".tmp"))


def _tag_of(pid: int, seconds: float = 60) -> str:
    """The run tag of the batch process ``pid``, read from a child's environment once it has one."""
    prefix = f"{procs.RUN_ENV}={pid}-".encode()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    for item in (entry / "environ").read_bytes().split(b"\0"):
                        if item.startswith(prefix):
                            return item.split(b"=", 1)[1].decode()
        time.sleep(0.2)
    raise AssertionError(f"no child of {pid} carries a run tag")


def _is_kernel(pid: int) -> bool:
    """A review kernel: forked (named coachkit-kernel) or started (its command line launches ipykernel; the pool's
    forkserver names ``ipykernel.kernelapp`` too, among the modules it imports)."""
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/comm").read_bytes().strip() == kernel_fork.KERNEL_NAME:
            return True
        return b"kernelapp.launch_new_instance()" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def _kernels(tag: str) -> list[int]:
    return [p for p in procs.tagged_processes(tag) if _is_kernel(p)]


def _wait(predicate, seconds: float) -> float:
    t = time.monotonic()
    while not predicate():
        if time.monotonic() - t > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.1)
    return time.monotonic() - t


BATCH = """
import sys
from coachkit.batch import run_reviews
data, out, nb, *reps = sys.argv[1:]
run_reviews(data, out, reps=reps, as_of="2024-06-30", weeks=2, workers=2, isolation="fresh", notebook=nb, quiet=True)
"""

CLI = """
import sys
from coachkit import batch
from coachkit.cli import main
batch.run_reviews.__kwdefaults__["notebook"] = sys.argv[1]
sys.argv = ["coachkit", *sys.argv[2:]]
main()
"""


def _start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_kill_9_of_the_batch_leaves_no_process_and_the_previous_run(data: Path, tmp_path: Path, notebook: Path) -> None:
    out = tmp_path / "out"
    previous = _run(data, out, notebook, ["quick"])
    before = _files(out / WEEK)
    proc = _start(BATCH, str(data), str(out), str(notebook), "sleep-60-a", "sleep-60-b", "sleep-60-c", "sleep-60-d")
    try:
        tag = _tag_of(proc.pid)
        _wait(lambda: len(_kernels(tag)) == 2, 60)  # two workers, each in its kernel's 60 s sleep
        children = procs.tagged_processes(tag)
        assert len(children) >= 6  # forkserver, resource tracker, 2 workers, 2 kernels

        # two runs into one OUT: the second refuses at once, naming the first
        with pytest.raises(RunLockedError, match=rf"another coachkit review is writing to {out} \(pid {proc.pid}, "):
            _run(data, out, notebook, ["quick"])

        # the pipe the batch's output goes to: a kernel or worker left holding it would hang `out=$(coachkit ...)`
        drained = threading.Event()
        threading.Thread(target=lambda: (proc.stdout.read(), proc.stderr.read(), drained.set()), daemon=True).start()
        proc.kill()
        proc.wait()
        waited = _wait(lambda: procs.tagged_processes(tag) == [], 10)
        assert drained.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    print(f"all {len(children)} processes of the run gone {waited:.1f} s after kill -9")
    assert _files(out / WEEK) == before  # OUT holds the previous run
    stale = [p.name for p in out.iterdir() if p.name.startswith(".coachkit-staging-")]
    assert len(stale) == 1 and f"-{proc.pid}-" in stale[0]

    again = _run(data, out, notebook, ["quick", "quick2"])  # the rerun is clean and removes the stale staging
    assert again.ok == ["quick", "quick2"] and _leftovers(out) == []
    assert again.notices[0].startswith(f"took over the lock of a run that is no longer running (pid {proc.pid}, ")
    assert (
        again.notices[1]
        == f"removed the staging folder {stale[0]} of an earlier run (pid {proc.pid}, no longer running)"
    )
    assert previous.manifest["run"]["tag"] != again.manifest["run"]["tag"]


@pytest.mark.parametrize(
    ("sig", "code", "workers"), [(signal.SIGTERM, 143, 2), (signal.SIGINT, 130, 2), (signal.SIGTERM, 143, 1)]
)
def test_sigterm_and_ctrl_c_stop_cleanly(
    data: Path, tmp_path: Path, notebook: Path, sig: int, code: int, workers: int
) -> None:
    out = tmp_path / "out"
    _run(data, out, notebook, ["quick"])
    before = _files(out / WEEK)
    args = [str(notebook), "review", str(data), "--out", str(out), "--as-of", AS_OF, "--weeks", "2", "--quiet"]
    # one worker: quick first, then the batch's own kernel sleeps in the second review
    args += ["--workers", str(workers), "--isolation", "fresh", "--rep", "quick", "--rep", "sleep-60-a"]
    args += ["--rep", "sleep-60-b"]
    proc = _start(CLI, *args)
    tag = _tag_of(proc.pid)
    _wait(lambda: len(_kernels(tag)) == workers, 60)
    if workers == 1:
        _wait(
            lambda: any(p.name.startswith(".coachkit-staging-") and any(p.glob("quick*.html")) for p in out.iterdir()),
            60,
        )
    t = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    stopped = time.monotonic() - t
    name = signal.Signals(sig).name
    assert proc.returncode == code, stderr
    assert stderr == f"coachkit review: stopped by {name}; nothing of this run was published.\n"
    assert stopped < 10 and procs.tagged_processes(tag) == []
    assert _files(out / WEEK) == before and _leftovers(out) == []


def test_the_data_replaced_mid_run_fails_the_reviews_that_may_have_read_it(
    data: Path, tmp_path: Path, notebook: Path
) -> None:
    out = tmp_path / "out"
    result = _run(data, out, notebook, ["quick", "mutate", "quick2"])  # one worker: in this order
    assert result.ok == ["quick"] and result.exit_code == 1
    for rep in ("mutate", "quick2"):  # mutate changed the data while it ran; quick2 would read the new data
        err = result.failed[rep]
        assert (err["type"], err["kind"]) == ("DataChangedError", "data changed")
        assert err["message"].startswith("the dataset changed after the run started (playbook.toml modified); ")
        assert result.manifest["reps"][rep]["files"] == {}  # nothing of a review on other data is kept
    assert result.manifest["data"]["changed"] is True
    assert result.manifest["data"]["changes"] == ["playbook.toml modified"]
    quick = safe_name("quick")
    assert sorted(p.name for p in result.folder.iterdir()) == sorted(
        ["definitions.html", "index.html", "manifest.json", f"{quick}.html", f"{quick}.ipynb"]
    )
    assert "The dataset changed during the run (playbook.toml modified)" in result.summary()


def test_a_dataset_changing_while_the_batch_reads_it_stops_the_run_before_any_review(
    data: Path, tmp_path: Path, notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = batch.rep_days  # what the batch reads to choose the reps and the window

    def load_then_change(*a, **k):
        loaded = real(*a, **k)
        (data / "reps.parquet").write_bytes((data / "reps.parquet").read_bytes())  # rewritten: a new mtime
        os.utime(data / "reps.parquet", ns=(0, 0))
        return loaded

    monkeypatch.setattr(batch, "rep_days", load_then_change)
    res = CliRunner().invoke(review_command, [str(data), "--out", str(tmp_path / "out"), "--rep", "quick", "--quiet"])
    assert res.exit_code == 1
    assert res.output == (
        "Error: the dataset changed after the run started (reps.parquet modified); "
        "it changed while coachkit read it: run it again\n"
    )
    assert not list((tmp_path / "out").glob("20*"))


# ---------------------------------------------------------------- an output folder that cannot be written


@contextlib.contextmanager
def _mounted(tmp_path: Path, options: str) -> Path:
    """A tmpfs mounted with ``options`` (root only); skip when it cannot be mounted."""
    point = tmp_path / "mnt"
    point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _readonly(tmp_path: Path):
    """A read-only folder holding a published week: a read-only tmpfs as root, else a folder without write permission."""
    if os.geteuid() == 0:
        return _mounted_readonly(tmp_path)
    return _chmod_readonly(tmp_path)


@contextlib.contextmanager
def _mounted_readonly(tmp_path: Path):
    with _mounted(tmp_path, "size=4m") as point:
        (point / WEEK).mkdir()
        (point / WEEK / "manifest.json").write_text('{"reps": {}}')
        subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
        yield point, "the file system is read-only"


@contextlib.contextmanager
def _chmod_readonly(tmp_path: Path):
    point = tmp_path / "ro"
    (point / WEEK).mkdir(parents=True)
    (point / WEEK / "manifest.json").write_text('{"reps": {}}')
    point.chmod(0o555)
    try:
        yield point, "permission denied"
    finally:
        point.chmod(0o755)


def test_a_read_only_out_is_one_line_before_any_review(data: Path, tmp_path: Path, monkeypatch) -> None:
    ran = []
    monkeypatch.setattr(batch, "_run_all", lambda *a, **k: ran.append(a) or iter(()))
    with _readonly(tmp_path) as (point, cause):
        for out in (point, point / "reviews"):  # the folder itself, or a folder to create in it
            res = CliRunner().invoke(review_command, [str(data), "--out", str(out), "--rep", "quick"])
            assert res.exit_code == 1
            lines = res.output.splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"Error: cannot write {out}: {cause}")
            assert lines[0].endswith("choose another --out") or lines[0].endswith("you can write to with --out")
            assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
        assert sorted(p.name for p in point.iterdir()) == [WEEK]
    assert ran == []


def test_permission_denied_is_one_line(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "out" / ".coachkit-probe-1"))

    monkeypatch.setattr(publish.tempfile, "mkstemp", denied)
    res = CliRunner().invoke(review_command, [str(data), "--out", str(tmp_path / "out"), "--rep", "quick"])
    assert res.exit_code == 1
    assert res.output == (
        f"Error: cannot write {tmp_path / 'out'}: permission denied ({tmp_path / 'out' / '.coachkit-probe-1'}); "
        "choose a folder you can write to with --out\n"
    )


def test_a_full_disk_publishes_nothing_truncated_and_keeps_the_previous_run(
    data: Path, tmp_path: Path, notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with contextlib.ExitStack() as stack:
        if os.geteuid() == 0 and shutil.which("mount"):
            try:
                out = stack.enter_context(_mounted(tmp_path, "size=5m")) / "out"
            except pytest.skip.Exception:
                out = None
        else:
            out = None
        if out is None:  # no tmpfs: the HTML write of 'big' fails as on a full disk
            out = tmp_path / "out"
            real = batch.write_text

            def full(path, text):
                if "big" in Path(path).name:
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                return real(path, text)

            monkeypatch.setattr(batch, "write_text", full)
        first = _run(data, out, notebook, ["quick"])
        before = _files(first.folder)
        filler = out / "filler"
        free = shutil.disk_usage(out).free
        if free < 50_000_000:  # the tmpfs: leave what the space check asks for 2 reviews, not what 'big' needs
            need = int(1.2 * batch._bytes_per_review(publish.weeks(out)) * 2) + 1_000_000
            filler.write_bytes(b"\0" * (free - need - 100_000))
        with pytest.raises(publish.OutputError) as info:
            _run(data, out, notebook, ["quick", "big"])
        message = str(info.value)
        assert message.startswith(
            f"cannot write the reviews to {out.resolve()}: no space left on the disk (1 review(s)"
        )
        assert f"the previous run of {WEEK} in {out.resolve() / WEEK} is unchanged" in message
        assert "\n" not in message
        assert _files(out / WEEK) == before  # no truncated file published, the previous run intact
        assert _leftovers(out) == []
        if filler.exists():  # and a run that cannot fit is refused before any review runs
            filler.unlink()
            (out / "filler2").write_bytes(b"\0" * (shutil.disk_usage(out).free - 200_000))
            t = time.perf_counter()
            with pytest.raises(publish.OutputError, match=r"MB free on the disk of .*, about .* MB needed"):
                _run(data, out, notebook, ["quick", "quick2"])
            assert time.perf_counter() - t < 5 and _files(out / WEEK) == before


# ---------------------------------------------------------------- reps with no activity in the window


def test_inactive_reps_are_skipped_with_the_reason(tmp_path: Path, notebook: Path) -> None:
    reps = pd.DataFrame(
        {
            "rep_id": ["active", "gone", "new", "away"],
            "team": "T",
            "hired_at": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-07-15", "2023-01-01"]),
            "left_at": pd.to_datetime([None, "2024-05-31", None, None]),
        }
    )
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3"],
            "rep_id": ["active", "gone", "away"],
            "activity_type": "call",
            "occurred_at": pd.to_datetime(["2024-06-20", "2024-05-20", "2024-05-02"]),
        }
    )
    data = tmp_path / "data"
    SalesData.from_frames(acts, reps).save(data, "parquet")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        review_command, [str(data), "--out", str(out), "--rep", "gone", "--as-of", AS_OF, "--weeks", "2", "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert res.output == "skipped 'gone': left on 2024-05-31; no activity in the window 2024-06-17 to 2024-06-30\n"
    manifest = json.loads((out / WEEK / "manifest.json").read_text())
    assert manifest["reps"] == {
        "gone": {
            "stem": safe_name("gone"),
            "status": "skipped",
            "reason": {
                "kind": "left",
                "message": "left on 2024-05-31; no activity in the window 2024-06-17 to 2024-06-30",
            },
            "error": None,
            "files": {"html": f"{safe_name('gone')}.html"},  # asked for by name: a short page says why
            "summary": None,
            "seconds": 0.0,
        }
    }
    assert "left on Fri 31 May 2024" in (out / WEEK / f"{safe_name('gone')}.html").read_text(encoding="utf-8")
    everyone = _run(data, out, notebook, [])  # every rep: the active one is reviewed, the others recorded
    assert everyone.ok == ["active"] and everyone.exit_code == 0
    assert {r: v["kind"] for r, v in everyone.skipped.items()} == {
        "away": "no activity",
        "gone": "left",
        "new": "not yet hired",
    }
    assert everyone.skipped["new"]["message"] == "starts on 2024-07-15, after the window 2024-06-17 to 2024-06-30"
    assert everyone.manifest["counts"] == {"ok": 1, "failed": 0, "skipped": 3}
    page = (everyone.folder / "index.html").read_text()
    assert "1 reviewed · 3 not reviewed (listed below)." in page
    assert "<td>no activity in the window Mon 17 Jun 2024 to Sun 30 Jun 2024</td>" in page
