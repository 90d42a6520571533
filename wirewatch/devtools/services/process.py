"""Background processes with PID files: start detached, check, stop only what we started.

A process counts as ours only when everything recorded in its PID file still holds, so a
reused PID, a stale file, a file without a marker, or a file copied from another checkout's
state folder never gets a process signalled nor claimed by ``status``. The PID file (written
owner-only) holds three lines::

    <pid>
    <marker>        a string in the process's command line (required)
    <create time>   when the process started, Unix time (psutil's ``create_time``: the boot
                    time plus field 22 of /proc/<pid>/stat); with the PID it names one process

and the process must also belong to **this state folder**: its working directory (which
:func:`start_detached` sets to the PID file's folder, and which Redis changes to its ``--dir``,
the same folder) is the PID file's folder, or the marker names that folder (the OpenSearch
node's ``-Dwirewatch.node=<dir>``). Ports are never used to decide ownership. A PID file of
the older two-line format (no start time) is accepted only with that folder check and when the
process started at most :data:`LEGACY_START_SLACK_S` before the file was written and not after
it (a reused PID belongs to a process started later), so services started before this rule can
still be stopped. Command line, start time and working directory are read with psutil.

State files can hold secrets (Redis' append-only file, node data, logs): :func:`private_dir`
makes folders owner-only (0700) and children start with umask 077, so what they create is
owner-only too (0600 files, 0700 folders).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

#: umask of every child process (files 0600, folders 0700).
CHILD_UMASK = 0o077
#: For an old PID file without a start time: how long before the file's modification time the
#: process may have started (start_detached writes the file right after starting it), seconds.
LEGACY_START_SLACK_S = 60.0
#: Two readings of one process's create time differ by less than this, seconds (both derive
#: from the same clock-tick count; the float rounding is far below it).
CREATE_TIME_TOLERANCE_S = 0.05


def _cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def create_time(pid: int) -> float | None:
    """When process ``pid`` started (Unix time, from psutil), or None when it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _cwd(pid: int) -> Path | None:
    try:
        return Path(psutil.Process(pid).cwd())
    except psutil.Error:
        return None


def private_dir(path: Path, *, root: Path | None = None) -> Path:
    """Create ``path`` (and its parents) and make it, and every folder from ``root`` down to it,
    owner-only (0700). Returns ``path``. Raises OSError when it cannot be created."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    chain = [path]
    if root is not None:
        top = Path(root).resolve()
        p = path.resolve()
        while p != top and top in p.parents:
            p = p.parent
            chain.append(p)
    for d in chain:
        try:
            os.chmod(d, 0o700)
        except OSError:
            pass
    return path


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def open_private_append(path: Path):
    """``path`` opened for appending bytes, created (or made) owner-only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, "ab")


def read_pid(pidfile: Path) -> int | None:
    """Return the PID recorded in ``pidfile`` if that process is alive and still ours (every
    rule of the module docstring holds), else None."""
    try:
        lines = pidfile.read_text().split("\n")
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    marker = lines[1].strip() if len(lines) > 1 else ""
    cmd = _cmdline(pid)
    if not cmd or not marker or marker not in cmd:
        return None
    began = create_time(pid)
    if began is None:
        return None
    recorded = lines[2].strip() if len(lines) > 2 else ""
    if recorded:
        try:
            if abs(float(recorded) - began) > CREATE_TIME_TOLERANCE_S:
                return None  # the PID was reused by a later process
        except ValueError:
            return None
    else:  # an old PID file: the process must have started just before it was written
        try:
            written = pidfile.stat().st_mtime
        except OSError:
            return None
        if not (written - LEGACY_START_SLACK_S <= began <= written + 1.0):
            return None
    folder = pidfile.parent.resolve()
    cwd = _cwd(pid)
    if (cwd is None or cwd.resolve() != folder) and str(folder) not in marker:
        return None  # another state folder's process (or one we cannot inspect)
    return pid


def start_detached(argv: list[str], *, pidfile: Path, logfile: Path, marker: str, env: dict[str, str] | None = None,
                   cwd: Path | None = None) -> int:
    """Start ``argv`` in its own session with output appended to ``logfile``; write ``pidfile``.

    ``marker`` is a non-empty string that appears in the command line (used by :func:`read_pid`).
    The child runs in ``cwd`` (default: the PID file's folder; :func:`read_pid` checks it) with
    umask :data:`CHILD_UMASK`; the log and PID files are owner-only. Returns the PID. Raises
    ``ValueError`` for an empty marker, ``OSError`` when the program cannot be executed.
    """
    if not marker.strip():
        raise ValueError("a PID file needs a marker that appears in the command line")
    private_dir(logfile.parent)
    private_dir(pidfile.parent)
    with open_private_append(logfile) as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})}, cwd=cwd or pidfile.parent,
            umask=CHILD_UMASK,
        )
    began = create_time(proc.pid)
    _write_private(pidfile, f"{proc.pid}\n{marker}\n{'' if began is None else repr(began)}\n")
    return proc.pid


def stop(pidfile: Path, *, timeout_s: float = 30.0) -> bool:
    """SIGTERM the process in ``pidfile`` (if ours), wait up to ``timeout_s``, then SIGKILL.

    Returns True when a process was stopped, False when none of ours was running.
    The PID file is removed in both cases.
    """
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _cmdline(pid):
        _reap(pid)
        time.sleep(0.2)
    if _cmdline(pid) and read_pid(pidfile) == pid:  # still the same process: kill it
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        _reap(pid)
    pidfile.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_until(check, *, timeout_s: float, interval_s: float = 0.5, alive=None) -> bool:
    """Call ``check()`` until it returns True or ``timeout_s`` passes; stop early when
    ``alive()`` (optional) returns False. Returns the last result of ``check``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline or (alive is not None and not alive()):
            return bool(check())
        time.sleep(interval_s)
