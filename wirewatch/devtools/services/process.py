"""Background processes with PID files: start detached, check, stop only what we started.

A PID file holds ``<pid>\n<marker>``; a process counts as ours only while ``/proc/<pid>/cmdline``
still contains the marker (read with psutil), so a reused PID is never signalled.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil


def _cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def read_pid(pidfile: Path) -> int | None:
    """Return the PID recorded in ``pidfile`` if that process is alive and still ours, else None."""
    try:
        pid_s, _, marker = pidfile.read_text().partition("\n")
        pid = int(pid_s)
    except (OSError, ValueError):
        return None
    cmd = _cmdline(pid)
    if not cmd or (marker.strip() and marker.strip() not in cmd):
        return None
    return pid


def start_detached(argv: list[str], *, pidfile: Path, logfile: Path, marker: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start ``argv`` in its own session with output appended to ``logfile``; write ``pidfile``.

    ``marker`` is a string that appears in the command line (used by :func:`read_pid`).
    Returns the PID. Raises ``OSError`` when the program cannot be executed.
    """
    logfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})}, cwd=cwd,
        )
    pidfile.write_text(f"{proc.pid}\n{marker}\n")
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
    if _cmdline(pid):
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
