"""Background processes with PID files: start detached, check, stop only what we started.

A process counts as ours only when everything recorded in its PID file still holds, so a
reused PID, a stale file, a file without a marker, or a file copied from another checkout's
state folder never gets a process signalled nor claimed by ``status``. The PID file (written
owner-only) holds four lines::

    <pid>
    <marker>          a string in the process's command line (required)
    <start ticks>     field 22 of /proc/<pid>/stat: when the process started, in clock ticks
                      since boot (proc(5)); with the PID it identifies one process instance
    <boot id>         /proc/sys/kernel/random/boot_id, so ticks from another boot never match

and the process must also belong to **this state folder**: its working directory
(``/proc/<pid>/cwd``, which :func:`start_detached` sets to the PID file's folder, and which
Redis changes to its ``--dir``, the same folder) is the PID file's folder, or the marker names
that folder (the OpenSearch node's ``-Dwirewatch.node=<dir>``). Ports are never used to
decide ownership. A PID file of the older two-line format (no start time) is accepted only
with that folder check and when the process started at most :data:`LEGACY_START_SLACK_S`
before the file was written and not after it (a reused PID belongs to a process started
later), so services started before this rule can still be stopped.

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

#: umask of every child process (files 0600, folders 0700).
CHILD_UMASK = 0o077
#: For an old PID file without a start time: how long before the file's modification time the
#: process may have started (start_detached writes the file right after starting it).
LEGACY_START_SLACK_S = 60.0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (field 22 of ``/proc/<pid>/stat``), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ")": split after the last ")".
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def started_at(pid: int) -> float | None:
    """When process ``pid`` started, as a Unix time (boot time from ``/proc/stat`` ``btime`` plus
    :func:`start_ticks` / ``SC_CLK_TCK``), or None."""
    ticks = start_ticks(pid)
    try:
        btime = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                     if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    if ticks is None:
        return None
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def boot_id() -> str:
    """This boot's id (``/proc/sys/kernel/random/boot_id``), or ``""`` where there is none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def private_dir(path: Path, *, root: Path | None = None) -> Path:
    """Create ``path`` (and its parents) and make it, and every folder from ``root`` down to it,
    owner-only (0700). Returns ``path``. Raises OSError when it cannot be created."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    chain = [path]
    if root is not None:
        root = Path(root).resolve()
        p = path.resolve()
        while p != root and root in p.parents:
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


def _open_private_append(path: Path):
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
    recorded_ticks = lines[2].strip() if len(lines) > 2 else ""
    recorded_boot = lines[3].strip() if len(lines) > 3 else ""
    if recorded_ticks and str(start_ticks(pid)) != recorded_ticks:
        return None  # the PID was reused by a later process
    if not recorded_ticks:  # an old PID file: the process must have started just before it was written
        began = started_at(pid)
        try:
            written = pidfile.stat().st_mtime
        except OSError:
            return None
        if began is None or not (written - LEGACY_START_SLACK_S <= began <= written + 1.0):
            return None
    if recorded_boot and recorded_boot != boot_id():
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
    with _open_private_append(logfile) as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})}, cwd=cwd or pidfile.parent,
            umask=CHILD_UMASK,
        )
    _write_private(pidfile, f"{proc.pid}\n{marker}\n{start_ticks(proc.pid) or ''}\n{boot_id()}\n")
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
