"""Files at the edges: atomic output, and input that says in one line why it cannot be read.

Output is written to a temporary file beside the target, then renamed, so that a
crash never leaves a half-written report or dataset file behind.

Input: :func:`unreadable`, :func:`path_problem` and :func:`read_text` turn what the operating system says
(a missing file, a directory in a file's place, a symbolic-link loop, a denied
permission, bytes that are not UTF-8) into one line naming the cause and the fix,
instead of a traceback. Nothing here changes the files it reads.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "write_text",
    "write_bytes",
    "FileReadError",
    "unreadable",
    "PATH_KINDS",
    "path_problem",
    "os_reason",
    "read_text",
    "decode_error_line",
]


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; on success rename it onto ``target``.

    On an exception the temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; give the result the permissions a plain open() would (0666 & ~umask).
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


# ---- input ------------------------------------------------------------------------------------


class FileReadError(Exception):
    """A file cannot be read. ``reason`` is one line saying why and what to do (without the file's
    name); ``line`` is the 1-based line of an undecodable byte, else None."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {reason}")


def os_reason(exc: OSError, path: str | Path, *, what: str = "file") -> str:
    """What an :class:`OSError` raised for ``path`` means, with the fix, as one line without the path.

    ``what`` names what ``path`` should be (``file``, ``folder``, ...), for the message.
    """
    path = Path(path)
    code = exc.errno
    if code == errno.ENOENT and os.path.lexists(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"a symbolic link to {target!r}, which does not exist; point it at the {what} or put the {what} here"
    if code == errno.ENOENT:
        return f"no such {what}"
    if code == errno.ELOOP:
        return (
            f"cannot open the {what}: a symbolic-link loop (too many levels of symbolic links); "
            f"replace the link with the {what} itself or a link that reaches it"
        )
    if code in (errno.EACCES, errno.EPERM):
        fix = "chmod a+r" if what == "file" else "chmod a+rx"
        return (
            f"cannot read the {what}: permission denied; give your user read access ({fix} {path.name}) "
            f"or copy the {what} somewhere you can read"
        )
    if code == errno.EISDIR:
        return "is a directory, not a file; put the file itself here under this name"
    if code == errno.ENOTDIR:
        return "a part of the path is a file, not a folder; check the path"
    if code == errno.EIO:
        return f"cannot read the {what}: input/output error (a failing disk or network share); copy it and retry"
    return f"cannot read the {what}: {exc.strerror or exc}"


def unreadable(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a regular file (one line: cause and fix), or None when it can.

    Follows symbolic links. A directory, a FIFO, socket or device, a dangling link, a
    link loop and a denied permission each get their own reason. The file is opened and
    closed to check the permission; nothing is read or changed.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        return os_reason(exc, path)
    if stat.S_ISDIR(st.st_mode):
        return "is a directory, not a file; put the file itself here under this name"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file (a pipe, socket or device); put the file itself here under this name"
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return os_reason(exc, path)
    return None


#: What an input path must be -> the word used in messages.
PATH_KINDS = {"file": "file", "folder": "folder", "dataset": "dataset", "any": "file or folder"}


def path_problem(path: str | Path, kind: str) -> str | None:
    """Why ``path`` cannot be read as ``kind`` (one line: the cause and the fix), or None when it can.

    ``kind``: ``file`` (a readable regular file), ``folder`` (a folder whose entries can be listed and
    opened), ``dataset`` (a folder, or a file: a ``.duckdb`` file, which the loader checks further) or
    ``any`` (a file or a folder). Follows symbolic links; changes nothing.
    """
    what = PATH_KINDS[kind]
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.lexists(path):
            return f"no such {what}"
        return os_reason(exc, path, what=what)
    if stat.S_ISDIR(st.st_mode):
        if kind == "file":
            return "is a directory, not a file; give the file itself"
        try:
            with os.scandir(path) as entries:
                next(entries, None)
        except OSError as exc:
            return os_reason(exc, path, what="folder")
        if not os.access(path, os.X_OK):  # listed but not entered: its files cannot be opened
            return os_reason(PermissionError(errno.EACCES, "Permission denied"), path, what="folder")
        return None
    if kind == "folder":
        return "is a file, not a folder; give the folder that holds the files"
    return unreadable(path)


def decode_error_line(data: bytes, exc: UnicodeDecodeError) -> int:
    """The 1-based line of ``data`` holding the byte that ``exc`` could not decode."""
    return data.count(b"\n", 0, exc.start) + 1


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path`` (a leading byte-order mark is dropped).

    Raises :class:`FileReadError` when the file cannot be read (see :func:`unreadable`)
    or is not UTF-8; for the latter, ``.line`` is the line of the first bad byte.
    """
    path = Path(path)
    reason = unreadable(path)
    if reason is not None:
        raise FileReadError(path, reason)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileReadError(path, os_reason(exc, path)) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileReadError(path, "UTF-16 text, not UTF-8; save the file as UTF-8", line=1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileReadError(
            path,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}: {exc.reason}); save the file as UTF-8",
            line=decode_error_line(data, exc),
        ) from exc
