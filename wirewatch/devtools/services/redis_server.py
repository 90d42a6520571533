"""A local Redis from Debian's ``redis-server`` package, on 127.0.0.1 with append-only persistence
in ``<state_dir>/redis``."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import redis as redis_lib

from pipeline.errors import ServiceError
from wirewatch.devtools.services.process import private_dir, read_pid, start_detached, stop, wait_until
from pipeline.settings import Settings

INSTALL_HINT = "install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu), or point WIREWATCH_REDIS_URL at a Redis you run"


def redis_binary() -> str | None:
    """Path of ``redis-server`` on PATH or in /usr/bin, or None."""
    return shutil.which("redis-server") or (str(Path("/usr/bin/redis-server")) if Path("/usr/bin/redis-server").exists() else None)


def install(*, quiet: bool = True) -> str:
    """Install ``redis-server`` with apt-get (as root, or through passwordless sudo).

    Returns the binary's path. Raises ServiceError with what to do when apt is unavailable
    or the install fails.
    """
    if redis_binary():
        return redis_binary()  # type: ignore[return-value]
    apt = shutil.which("apt-get")
    if not apt:
        raise ServiceError(f"redis-server is missing and apt-get is not available: {INSTALL_HINT}")
    prefix: list[str] = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else [])
    if os.geteuid() != 0 and not prefix:
        raise ServiceError(f"redis-server is missing and installing needs root: {INSTALL_HINT}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    out = subprocess.DEVNULL if quiet else None
    rc = subprocess.call([*prefix, apt, "install", "-y", "-q", "redis-server"], env=env, stdout=out, stderr=out)
    if rc != 0:
        subprocess.call([*prefix, apt, "update", "-q"], env=env, stdout=out, stderr=out)
        rc = subprocess.call([*prefix, apt, "install", "-y", "-q", "redis-server"], env=env, stdout=out, stderr=out)
    if rc != 0 or not redis_binary():
        raise ServiceError(f"apt-get install redis-server failed (exit {rc}): {INSTALL_HINT}")
    return redis_binary()  # type: ignore[return-value]


class LocalRedis:
    """The Redis that ``wirewatch services`` manages. Paths live under ``settings.state_dir``."""

    name = "redis"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = Path(settings.state_dir).resolve() / "redis"
        self.pidfile = self.dir / "redis.pid"
        self.logfile = self.dir / "redis.log"
        self.url = f"redis://127.0.0.1:{settings.redis_port}/0"

    def answers(self) -> bool:
        """True when a Redis answers PING on the configured port."""
        try:
            return bool(redis_lib.Redis(host="127.0.0.1", port=self.settings.redis_port, socket_connect_timeout=1, socket_timeout=2).ping())
        except redis_lib.RedisError:
            return False

    def pid(self) -> int | None:
        """PID of the Redis we started, or None."""
        return read_pid(self.pidfile)

    def up(self, *, timeout_s: float = 20.0) -> str:
        """Start Redis unless one already answers; return "started", "running" or "external".

        Raises ServiceError when redis-server is missing and cannot be installed, or when it
        exits during start-up or does not answer within ``timeout_s`` (the log's tail is in the message).
        """
        if self.answers():
            return "running" if self.pid() else "external"
        binary = redis_binary() or install()
        private_dir(self.dir)  # the append-only file holds every key
        marker = f"127.0.0.1:{self.settings.redis_port}"
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.settings.redis_port), "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no", "--save", "", "--protected-mode", "yes"]
        # The marker must appear in /proc/<pid>/cmdline: redis rewrites its title to "redis-server 127.0.0.1:<port>".
        start_detached(argv, pidfile=self.pidfile, logfile=self.logfile, marker=marker)
        if not wait_until(self.answers, timeout_s=timeout_s, interval_s=0.2, alive=lambda: self.pid() is not None):
            tail = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            what = "exited during start-up" if self.pid() is None else f"did not answer on 127.0.0.1:{self.settings.redis_port} within {timeout_s:.0f}s"
            raise ServiceError(f"Redis {what}; log {self.logfile}:\n{tail}")
        return "started"

    def down(self) -> bool:
        """Stop the Redis we started (never one we did not). True when one was stopped."""
        return stop(self.pidfile, timeout_s=20)
