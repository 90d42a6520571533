"""Pipeline counters in Redis, shared by every worker process: items per stage and errors by
reason. ``wirewatch status``, ``run``'s live line and the demo read them; Prometheus metrics
(per process) are separate and live in :mod:`workers.metrics`.

Keys: ``<prefix>:stats`` (a hash). Counter names are ``<stage>`` (``polled``, ``fetched``,
``enriched``, ``indexed``, ``duplicates``, ``alerts``, ``dead_lettered``) and
``error:<stage>:<reason>``.
"""
from __future__ import annotations

from pipeline.settings import Settings


class Counters:
    """Increment and read the shared counters. ``redis`` is a ``redis.Redis``."""

    def __init__(self, redis, settings: Settings):
        self.redis = redis
        self.key = f"{settings.redis_key_prefix}:stats"

    def incr(self, name: str, n: int = 1) -> None:
        """Add ``n`` to counter ``name``."""
        if n:
            self.redis.hincrby(self.key, name, n)

    def error(self, stage: str, reason: str) -> None:
        """Count one failure of ``stage`` under ``reason``."""
        self.redis.hincrby(self.key, f"error:{stage}:{reason}", 1)

    def all(self) -> dict[str, int]:
        """Every counter as ``{name: value}``."""
        return {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in self.redis.hgetall(self.key).items()}

    def reset(self) -> None:
        """Delete all counters (the demo starts from zero)."""
        self.redis.delete(self.key)
