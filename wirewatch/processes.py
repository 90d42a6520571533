"""Start and stop the worker and beat processes that ``demo``, ``run`` and the benchmarks use.

Each is a ``wirewatch worker`` / ``wirewatch beat`` child process (the same commands a
deployment runs), so what the demo exercises is what production runs.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from wirewatch.devtools.services.process import CHILD_UMASK, private_dir
from pipeline.settings import Settings

#: The default process layout on one machine: I/O-bound stages share a thread pool; index has
#: its own (its tasks mostly wait ``index_linger_s`` for documents to gather, which must not
#: hold the fetch threads); enrich (CPU-bound spaCy) gets a prefork pool with one child per core.
DEFAULT_LAYOUT = (
    {"name": "io", "queues": "poll,fetch,alerts", "pool": "threads", "concurrency": 8},
    {"name": "index", "queues": "index", "pool": "threads", "concurrency": 4},
    {"name": "enrich", "queues": "enrich", "pool": "prefork", "concurrency": max(1, os.cpu_count() or 1)},
)


@dataclass
class ProcessGroup:
    """Child processes started together; :meth:`stop` ends them all (SIGTERM, then SIGKILL)."""

    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    log_dir: Path | None = None
    #: name -> (argv, env, log path): what :meth:`restart_exited` needs to start a child again.
    specs: dict[str, tuple[list[str], dict[str, str], Path]] = field(default_factory=dict)
    restarts: int = 0

    def alive(self) -> dict[str, bool]:
        """``{name: still running}``."""
        return {n: p.poll() is None for n, p in self.procs.items()}

    def spawn(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        """Start child ``name`` (its own session, output appended to ``log_path``)."""
        self.specs[name] = (argv, env, log_path)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # owner-only (may hold secrets)
        with os.fdopen(fd, "ab") as log:
            self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                env=env, start_new_session=True, umask=CHILD_UMASK)

    def restart_exited(self) -> list[str]:
        """Start again every child that exited (a supervisor's job: a Celery worker can exit
        on a broker restart; its unacknowledged messages are redelivered to the new one).
        Returns the names restarted."""
        restarted = [n for n, p in self.procs.items() if p.poll() is not None]
        for name in restarted:
            self.spawn(name, *self.specs[name])
            self.restarts += 1
        return restarted

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask every process to stop (warm shutdown), wait, then kill what is left."""
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout_s
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()


def settings_env(settings: Settings) -> dict[str, str]:
    """``WIREWATCH_*`` variables that reproduce ``settings`` in a child process exactly
    (lists and dicts as JSON, secrets revealed: they only travel to our own children)."""
    out: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, (list, dict)):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[f"WIREWATCH_{name.upper()}"] = str(value)
    return out


def _wirewatch_argv() -> list[str]:
    return [sys.executable, "-m", "wirewatch.cli"]


def start_processes(settings: Settings, *, env: dict[str, str] | None = None, layout=DEFAULT_LAYOUT,
                    beat: bool = True, log_dir: Path | None = None, tag: str = "") -> ProcessGroup:
    """Start one ``wirewatch worker`` per entry of ``layout`` and (optionally) ``wirewatch beat``.

    The children get ``settings`` through the environment (:func:`settings_env`); ``env`` adds
    ``WIREWATCH_*`` overrides on top. Output goes to
    ``<log_dir>/<name>.log`` (default ``<state_dir>/logs``). Returns the group; the caller
    must :meth:`ProcessGroup.stop` it.
    """
    log_dir = log_dir or Path(settings.state_dir).resolve() / "logs"
    private_dir(log_dir)  # worker logs can hold secrets: owner-only
    child_env = {**os.environ, **settings_env(settings), **(env or {}), "WIREWATCH_LOG_FORMAT": "json"}
    group = ProcessGroup(log_dir=log_dir)
    specs = [(w["name"], [*_wirewatch_argv(), "worker", "--queues", w["queues"], "--pool", w["pool"],
                          "--concurrency", str(w["concurrency"]), "--name", f"{w['name']}{tag}@%h"]) for w in layout]
    if beat:
        specs.append(("beat", [*_wirewatch_argv(), "beat"]))
    for name, argv in specs:
        group.spawn(name, argv, child_env, log_dir / f"{name}{tag}.log")
    return group
