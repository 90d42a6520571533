"""Long retry delays kept out of the broker: a Redis sorted set of tasks due later.

Why: with Celery's Redis transport a message with a countdown (an ETA) is delivered to a
worker at once and held there, unacknowledged, until its time comes. When that wait exceeds
the transport's ``visibility_timeout`` Redis hands the message to another worker as well, and
the task runs twice (kombu documents the limit: "the visibility timeout must be greater than
the largest ETA/countdown you plan to use"). So the task layer sends a retry as an ETA
message only when its countdown is at most :func:`max_eta_countdown_s`; a longer one is
parked here and published again, with the same task id and retry count, once it is due
(:meth:`DelayedTasks.claim_due`, run on every beat tick).

Records: ``{"task": name, "id": task id, "args": [...], "kwargs": {...}, "retries": n}``
(JSON), scored by the epoch second they are due, under ``<redis_key_prefix>:delayed``. A
claimed record is re-scored ``lease_s`` ahead and removed only after it was published
(:meth:`DelayedTasks.ack`), so a releaser that dies in between loses nothing: the record comes
due again and is published a second time, which the per-task step markers
(:mod:`pipeline.once`) make harmless.
"""
from __future__ import annotations

import json
import time
from typing import Any

from pipeline.settings import Settings

#: Fraction of the broker's visibility timeout an ETA countdown may use. The rest covers the
#: task's own run time after the ETA, which also counts while the message is unacknowledged.
ETA_SHARE_OF_VISIBILITY = 0.5

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[3], m) end
return due
"""


def max_eta_countdown_s(visibility_timeout_s: float) -> float:
    """The longest countdown (seconds) the task layer may put in an ETA message for a broker
    whose visibility timeout is ``visibility_timeout_s``: ``ETA_SHARE_OF_VISIBILITY *
    visibility_timeout_s`` (1,800 s for the default 3,600 s, above the 300 s backoff cap, so by
    default no retry is parked). Raises ``ValueError`` for a timeout that is not positive."""
    if not visibility_timeout_s or visibility_timeout_s <= 0:
        raise ValueError(f"broker visibility timeout must be positive, got {visibility_timeout_s!r}")
    return ETA_SHARE_OF_VISIBILITY * float(visibility_timeout_s)


class DelayedTasks:
    """The parked retries of one deployment (``redis``: a ``redis.Redis``)."""

    def __init__(self, redis, settings: Settings):
        self.redis = redis
        self.key = f"{settings.redis_key_prefix}:delayed"
        self._claim = redis.register_script(_CLAIM)

    def add(self, record: dict[str, Any], due: float) -> None:
        """Park ``record`` (see the module docstring) until epoch second ``due``."""
        self.redis.zadd(self.key, {json.dumps(record, sort_keys=True): float(due)})

    def claim_due(self, now: float | None = None, limit: int = 500, lease_s: float = 60.0) -> list[tuple[str, dict]]:
        """Records due at ``now`` (default: the clock), at most ``limit``, each re-scored
        ``lease_s`` seconds ahead; returns ``[(member, record)]`` for :meth:`ack`."""
        now = time.time() if now is None else now
        raw = self._claim(keys=[self.key], args=[now, limit, now + lease_s])
        out = []
        for m in raw:
            member = m.decode() if isinstance(m, bytes) else m
            out.append((member, json.loads(member)))
        return out

    def ack(self, member: str) -> None:
        """Remove a record once it was published again."""
        self.redis.zrem(self.key, member)

    def count(self) -> int:
        """Records parked (due or not)."""
        return int(self.redis.zcard(self.key))


__all__ = ["DelayedTasks", "ETA_SHARE_OF_VISIBILITY", "max_eta_countdown_s"]
