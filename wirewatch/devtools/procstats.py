"""Process figures for benchmarks and drills, from psutil: the process tree, resident memory
and CPU time. One definition each; a process that is gone counts as 0 (or has no children).
Memory is in MiB (2**20 bytes) everywhere."""
from __future__ import annotations

import psutil

MIB = 1024 * 1024


def children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (empty when ``pid`` is gone)."""
    try:
        return [c.pid for c in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, parents first (only ``[pid]`` when it is gone)."""
    try:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB; 0.0 when it is gone."""
    try:
        return psutil.Process(pid).memory_info().rss / MIB
    except psutil.Error:
        return 0.0


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (Linux ``VmHWM``) of ``pid`` in MiB; 0.0 when it is gone or the
    platform does not report it."""
    try:
        with open(f"/proc/{pid}/status") as fh:   # psutil does not expose VmHWM
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MIB
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (its own, not its children's); 0.0 when it is gone."""
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0
